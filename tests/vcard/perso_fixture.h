/* what the card tests that make their own profile or manufacturer CA share
 * (test_anon.c, test_audit.c, test_purse_pay.c, test_purse_wallet.c): the
 * card and its issuer, a public key from a point, WALLET SETUP's data, a
 * scratch folder.
 * Include after <cmocka.h>. */
#ifndef PERSO_FIXTURE_H
#define PERSO_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "vc_card.h"
#include "vc_perso.h"
#include "vc_store.h"
#include "wk_attest.h"

/* a card (o) on a new store at path, and its issuer: a CA key (P-256)
 * and random purse keys (keys_len bytes) */
static inline void
card_and_issuer_new(const char *path, const vc_card_opts *o, vc_store **st,
    vc_card **card, EVP_PKEY **ca, void *keys, size_t keys_len)
{
	assert_int_equal(vc_store_create(path, NULL, st), VC_STORE_OK);
	assert_int_equal(vc_card_new(*st, o, card), VC_CARD_OK);
	*ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(*ca);
	randombytes_buf(keys, keys_len);
}

/* what card_and_issuer_new made, and the card's public key */
static inline void
card_and_issuer_free(vc_store **st, vc_card **card, EVP_PKEY **card_pub,
    EVP_PKEY **ca)
{
	vc_card_free(card);
	vc_store_free(st);
	EVP_PKEY_free(*card_pub);
	*card_pub = NULL;
	EVP_PKEY_free(*ca);
	*ca = NULL;
}

/* a P-256 public key from its point (04 || X || Y) */
static inline EVP_PKEY *
pub_from_point(const uint8_t *pt)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string("group", (char *)"prime256v1", 0),
		OSSL_PARAM_octet_string("pub", (void *)pt, 65),
		OSSL_PARAM_END,
	};

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

/* WALLET SETUP's data after data[0..n): the trust anchor (01: the CA's
 * point) and the PAN (02); the new length */
static inline size_t
wallet_setup_data(EVP_PKEY *ca, const char *pan, uint8_t *data, size_t n)
{
	uint8_t ca_pt[65];
	size_t l = 0;

	assert_int_equal(EVP_PKEY_get_octet_string_param(ca, "encoded-pub-key",
	    ca_pt, sizeof(ca_pt), &l), 1);
	data[n++] = 0x01;
	data[n++] = 65;
	memcpy(data + n, ca_pt, 65);
	n += 65;
	data[n++] = 0x02;
	data[n++] = (uint8_t)strlen(pan);
	memcpy(data + n, pan, strlen(pan));
	return n + strlen(pan);
}

/* a scratch folder /tmp/<name>-XXXXXX (dir, 64 bytes) and the card
 * store's path in it (path, 128 bytes) */
static inline void
card_scratch_new(const char *name, char dir[64], char path[128])
{
	snprintf(dir, 64, "/tmp/%s-XXXXXX", name);
	assert_non_null(mkdtemp(dir));
	snprintf(path, 128, "%s/card.db", dir);
}

/* the demo profile (PIN 123456) with an audit log of audit_cap records,
 * written to path */
static inline void
write_demo_profile(const char *path, int audit_cap)
{
	const char *at = strstr(vc_perso_demo_json, "\"log_capacity\"");
	FILE *f;

	assert_non_null(at);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%.*s\"audit_capacity\": %d, %s",
	    (int)(at - vc_perso_demo_json), vc_perso_demo_json, audit_cap, at);
	assert_int_equal(fclose(f), 0);
}

/* a manufacturer CA key file as walletkey-mfg ca-init writes it; its
 * certificate */
static inline X509 *
write_mfg_ca(const char *path)
{
	uint8_t serial[WK_ATTEST_SERIAL_LEN];
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = NULL;
	FILE *f;

	assert_non_null(k);
	randombytes_buf(serial, sizeof(serial));
	assert_int_equal(wk_attest_ca_new(k, "test manufacturer", 3650, serial,
	    &x), WK_ATTEST_OK);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	assert_int_equal(PEM_write_X509(f, x), 1);
	assert_int_equal(fclose(f), 0);
	EVP_PKEY_free(k);
	return x;
}

#endif
