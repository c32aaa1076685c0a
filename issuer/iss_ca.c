/*
 * the issuer's CA: its own certificate (made with its key, iss_keys.c
 * seals both), the card certificate it issues at enrolment and the check
 * of one a card shows (chain to this CA, valid now)
 */
#include "iss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>
#include <sodium.h>

#include "wk_hex.h"

/* one X.509v3 extension of x (OpenSSL's configuration syntax); -1 when
 * OpenSSL refuses it */
static int
add_ext(X509V3_CTX *ctx, X509 *x, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	if (ext == NULL)
		return -1;
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return 0;
}

X509 *
iss_ca_self_signed(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX ctx;
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	bool ok = false;

	if (x == NULL)
		return NULL;
	randombytes_buf(serial, sizeof(serial));
	serial[0] &= 0x7F;
	if (X509_set_version(x, 2) != 1 ||
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 20L * 365 * 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    (name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"walletkey issuer", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto out;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (add_ext(&ctx, x, NID_basic_constraints,
	    "critical,CA:TRUE,pathlen:0") != 0)
		goto out;
	if (add_ext(&ctx, x, NID_key_usage,
	    "critical,keyCertSign,cRLSign,digitalSignature") != 0)
		goto out;
	if (add_ext(&ctx, x, NID_subject_key_identifier, "hash") != 0)
		goto out;
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		goto out;
	ok = true;
out:
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

int
iss_ca_issue(const iss_keys *k, EVP_PKEY *pub,
    const uint8_t card_id[WK_MSG_CARD_ID_LEN], int64_t not_before,
    int64_t not_after, X509 **out)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX ctx;
	uint8_t serial[16];
	char cn[2 * WK_MSG_CARD_ID_LEN + 1];
	BIGNUM *bn = NULL;
	int rc = -1;

	*out = NULL;
	if (x == NULL)
		return -1;
	wk_hex_encode(card_id, WK_MSG_CARD_ID_LEN, cn);
	randombytes_buf(serial, sizeof(serial));
	serial[0] = (uint8_t)((serial[0] & 0x7F) | 0x01);
	if (X509_set_version(x, 2) != 1 ||
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after) == NULL ||
	    X509_set_pubkey(x, pub) != 1 ||
	    (name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"walletkey card", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(k->ca_cert)) != 1)
		goto out;
	X509V3_set_ctx(&ctx, k->ca_cert, x, NULL, NULL, 0);
	if (add_ext(&ctx, x, NID_basic_constraints, "critical,CA:FALSE") != 0)
		goto out;
	if (add_ext(&ctx, x, NID_key_usage,
	    "critical,digitalSignature,keyAgreement") != 0)
		goto out;
	if (add_ext(&ctx, x, NID_authority_key_identifier,
	    "keyid:always") != 0)
		goto out;
	if (X509_sign(x, k->ca_key, EVP_sha256()) <= 0)
		goto out;
	*out = x;
	x = NULL;
	rc = 0;
out:
	BN_free(bn);
	X509_free(x);
	return rc;
}

int
iss_ca_check(const iss_keys *k, X509 *cert, iss_err *e)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc = -1, err;

	if (ctx == NULL || k->trust == NULL ||
	    X509_STORE_CTX_init(ctx, k->trust, cert, NULL) != 1) {
		iss_fail(e, 500, "internal", "certificate check failed to run");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		if (err == X509_V_ERR_CERT_HAS_EXPIRED)
			iss_fail(e, 403, "cert_expired", "the card certificate has expired");
		else if (err == X509_V_ERR_CERT_NOT_YET_VALID)
			iss_fail(e, 403, "cert_not_yet_valid",
			    "the card certificate is not valid yet");
		else
			iss_fail(e, 403, "cert_untrusted",
			    "the card certificate was not issued by this issuer: %s",
			    X509_verify_cert_error_string(err));
		goto out;
	}
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	return rc;
}
