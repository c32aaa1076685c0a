/*
 * the PIV client against a real card in the sandbox (pcscd + vpcd +
 * walletkey-card): the calls the CLI does not make, checked with OpenSSL
 * (challenge, logout, external auth, ECDH, X25519, RSA decrypt, raw import,
 * data objects, metadata, attestation). Needs WALLETKEY_READER_0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "walletkey.h"

static const uint8_t mgmt[] = { WK_PIV_DEFAULT_MGMT_KEY };

typedef struct fix {
	wk_ctx *ctx;
	wk_card *card;
	wk_piv *piv;
} fix;

static int
setup(void **state)
{
	static fix f;
	const char *reader = getenv("WALLETKEY_READER_0");

	memset(&f, 0, sizeof(f));
	if (reader == NULL || wk_ctx_new(&f.ctx) != WK_OK ||
	    wk_card_open(f.ctx, reader, &f.card) != WK_OK ||
	    wk_piv_open(f.card, &f.piv) != WK_OK)
		return -1;
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	fix *f = *state;

	wk_piv_free(&f->piv);
	wk_card_free(&f->card);
	wk_ctx_free(&f->ctx);
	return 0;
}

static EVP_PKEY *
pub_of(const uint8_t *spki, size_t len)
{
	const unsigned char *p = spki;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);

	assert_non_null(k);
	return k;
}

static void
test_identity(void **state)
{
	fix *f = *state;
	uint8_t v[3], a[32], b[32];
	uint32_t serial = 0;

	assert_int_equal(wk_piv_get_version(f->piv, v), WK_OK);
	assert_true(v[0] >= 5);
	assert_int_equal(wk_piv_get_serial(f->piv, &serial), WK_OK);
	assert_true(serial < 0x80000000u);
	assert_int_equal(wk_piv_get_challenge(f->piv, a, sizeof(a)), WK_OK);
	assert_int_equal(wk_piv_get_challenge(f->piv, b, sizeof(b)), WK_OK);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(wk_piv_select(f->piv), WK_OK);
	assert_int_equal(wk_piv_last_sw(f->piv), 0x9000);
}

static void
test_pin_state(void **state)
{
	fix *f = *state;
	bool verified = true;
	unsigned tries = 0;

	assert_int_equal(wk_piv_logout(f->piv), WK_OK);
	assert_int_equal(wk_piv_pin_status(f->piv, &verified, &tries), WK_OK);
	assert_false(verified);
	assert_int_equal(tries, 3);
	assert_int_equal(wk_piv_verify_pin(f->piv, (const uint8_t *)"000000",
	    6, &tries), WK_ERR_WRONG_PIN);
	assert_int_equal(tries, 2);
	assert_int_equal(wk_piv_verify_pin(f->piv, (const uint8_t *)"123456",
	    6, NULL), WK_OK);
	assert_int_equal(wk_piv_pin_status(f->piv, &verified, &tries), WK_OK);
	assert_true(verified);
	assert_int_equal(wk_piv_logout(f->piv), WK_OK);
	assert_int_equal(wk_piv_pin_status(f->piv, &verified, &tries), WK_OK);
	assert_false(verified);
	assert_int_equal(tries, 3);
	/* too long a PIN never reaches the card */
	assert_int_equal(wk_piv_verify_pin(f->piv,
	    (const uint8_t *)"123456789", 9, &tries), WK_ERR_ARG);
}

static void
test_mgmt_auth(void **state)
{
	fix *f = *state;
	uint8_t bad[24];

	assert_int_equal(wk_piv_authenticate(f->piv, WK_PIV_ALG_3DES, mgmt,
	    sizeof(mgmt), false), WK_OK);
	assert_int_equal(wk_piv_authenticate(f->piv, 0, mgmt, sizeof(mgmt),
	    true), WK_OK);
	memcpy(bad, mgmt, sizeof(bad));
	/* bit 0 of a DES key byte is parity: flip another */
	bad[23] ^= 0x02;
	assert_int_equal(wk_piv_authenticate(f->piv, 0, bad, sizeof(bad),
	    true), WK_ERR_AUTH_FAILED);
	assert_int_equal(wk_piv_authenticate(f->piv, 0, bad, sizeof(bad),
	    false), WK_ERR_AUTH_FAILED);
	assert_int_equal(wk_piv_authenticate(f->piv, WK_PIV_ALG_AES128, mgmt,
	    sizeof(mgmt), true), WK_ERR_ARG);
	/* a failed authentication leaves 9B unauthenticated */
	assert_int_equal(wk_piv_put_data(f->piv, 0x5FC10D, (const uint8_t *)"x",
	    1), WK_ERR_AUTH_REQUIRED);
}

static void
test_objects(void **state)
{
	fix *f = *state;
	uint8_t data[3000], back[3000];
	size_t len = sizeof(back);

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	assert_int_equal(wk_piv_authenticate(f->piv, 0, mgmt, sizeof(mgmt),
	    true), WK_OK);
	assert_int_equal(wk_piv_put_data(f->piv, 0x5FC10D, data, sizeof(data)),
	    WK_OK);
	assert_int_equal(wk_piv_get_data(f->piv, 0x5FC10D, back, &len), WK_OK);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(back, data, len);
	len = 10;
	assert_int_equal(wk_piv_get_data(f->piv, 0x5FC10D, back, &len),
	    WK_ERR_ARG);
	assert_int_equal(len, sizeof(data));
	assert_int_equal(wk_piv_put_data(f->piv, 0x5FC10D, NULL, 0), WK_OK);
	len = sizeof(back);
	assert_int_equal(wk_piv_get_data(f->piv, 0x5FC10D, back, &len),
	    WK_ERR_NOT_FOUND);
	len = sizeof(back);
	assert_int_equal(wk_piv_get_data(f->piv, WK_PIV_OBJ_DISCOVERY, back,
	    &len), WK_OK);
	assert_int_equal(back[0], 0x7E);
	len = sizeof(back);
	assert_int_equal(wk_piv_read_cert(f->piv, WK_PIV_SLOT_AUTH, back, &len),
	    WK_ERR_NOT_FOUND);
}

/* with the trace on, the bytes of a PIN-protected object show neither on
 * the way to the card (PUT DATA, chained or not) nor on the way back */
static void
test_trace_masks_pin_objects(void **state)
{
	fix *f = *state;
	uint8_t data[700], back[800];
	size_t len = sizeof(back), n;
	unsigned tries;
	char *log;
	FILE *cap;
	int saved;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0xA0 + i % 4);	/* A0 A1 A2 A3 ... */
	assert_int_equal(wk_piv_authenticate(f->piv, 0, mgmt, sizeof(mgmt),
	    true), WK_OK);
	assert_int_equal(wk_piv_verify_pin(f->piv, (const uint8_t *)"123456",
	    6, &tries), WK_OK);
	assert_non_null(cap = tmpfile());
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0 && dup2(fileno(cap), 2) == 2);
	wk_set_trace(WK_TRACE_APDU);
	assert_int_equal(wk_piv_put_data(f->piv, WK_PIV_OBJ_PRINTED, data,
	    sizeof(data)), WK_OK);
	assert_int_equal(wk_piv_get_data(f->piv, WK_PIV_OBJ_PRINTED, back, &len),
	    WK_OK);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(back, data, len);
	/* a private data object of the holder's (5FFF30..3F) likewise */
	for (size_t i = 0; i < 64; i++)
		data[i] = (uint8_t)(0xB0 + i % 4);	/* B0 B1 B2 B3 ... */
	assert_int_equal(wk_piv_put_data(f->piv, 0x5FFF30, data, 64), WK_OK);
	len = sizeof(back);
	assert_int_equal(wk_piv_get_data(f->piv, 0x5FFF30, back, &len), WK_OK);
	assert_int_equal(len, 64);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0xA0 + i % 4);
	/* the same bytes in an object anyone reads are traced */
	assert_int_equal(wk_piv_put_data(f->piv, 0x5FC10D, data, 16), WK_OK);
	wk_set_trace(0);
	fflush(stderr);
	assert_true(dup2(saved, 2) == 2);
	close(saved);
	n = (size_t)ftell(cap);
	rewind(cap);
	assert_non_null(log = calloc(1, n + 1));
	assert_int_equal(fread(log, 1, n, cap), n);
	fclose(cap);
	assert_non_null(strstr(log, "00 DB 3F FF"));
	assert_non_null(strstr(log, "00 CB 3F FF"));
	assert_non_null(strstr(log, "A0 A1 A2 A3"));	/* 5FC10D */
	*strstr(log, "5F C1 0D") = '\0';
	if (strstr(log, "A0 A1 A2 A3") != NULL || strstr(log, "A2 A3 A0 A1") !=
	    NULL || strstr(log, "B0 B1 B2 B3") != NULL)
		fail_msg("printed information in the trace:\n%s", log);
	free(log);
	assert_int_equal(wk_piv_put_data(f->piv, 0x5FC10D, NULL, 0), WK_OK);
	assert_int_equal(wk_piv_put_data(f->piv, 0x5FFF30, NULL, 0), WK_OK);
}

static void
test_ecdh(void **state)
{
	fix *f = *state;
	uint8_t spki[WK_PIV_SPKI_MAX], peer[100], mine[64], theirs[64];
	size_t slen = sizeof(spki), plen = sizeof(peer), mlen = sizeof(mine);
	size_t tlen = sizeof(theirs);
	EVP_PKEY *card, *host;
	EVP_PKEY_CTX *ctx;
	wk_piv_metadata md;

	assert_int_equal(wk_piv_authenticate(f->piv, 0, mgmt, sizeof(mgmt),
	    true), WK_OK);
	assert_int_equal(wk_piv_generate(f->piv, WK_PIV_SLOT_KEYMGMT,
	    WK_PIV_ALG_ECCP256, 0, 0, spki, &slen), WK_OK);
	assert_int_equal(wk_piv_get_metadata(f->piv, WK_PIV_SLOT_KEYMGMT, &md),
	    WK_OK);
	assert_int_equal(md.alg, WK_PIV_ALG_ECCP256);
	assert_int_equal(md.origin, WK_PIV_ORIGIN_GENERATED);
	assert_int_equal(md.spki_len, slen);
	assert_memory_equal(md.spki, spki, slen);

	card = pub_of(spki, slen);
	host = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_int_equal(EVP_PKEY_get_octet_string_param(host,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, peer, sizeof(peer), &plen), 1);
	assert_int_equal(wk_piv_verify_pin(f->piv, (const uint8_t *)"123456",
	    6, NULL), WK_OK);
	assert_int_equal(wk_piv_derive(f->piv, WK_PIV_SLOT_KEYMGMT,
	    WK_PIV_ALG_ECCP256, peer, plen, mine, &mlen), WK_OK);
	ctx = EVP_PKEY_CTX_new(host, NULL);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, card), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, theirs, &tlen), 1);
	assert_int_equal(mlen, 32);
	assert_int_equal(tlen, 32);
	assert_memory_equal(mine, theirs, 32);
	/* a compressed or short peer point is refused on the host */
	assert_int_equal(wk_piv_derive(f->piv, WK_PIV_SLOT_KEYMGMT,
	    WK_PIV_ALG_ECCP256, peer, 33, mine, &mlen), WK_ERR_ARG);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(card);
	EVP_PKEY_free(host);
}

static void
test_x25519(void **state)
{
	fix *f = *state;
	uint8_t spki[WK_PIV_SPKI_MAX], peer[32], mine[32], theirs[32];
	size_t slen = sizeof(spki), plen = sizeof(peer), mlen = sizeof(mine);
	size_t tlen = sizeof(theirs);
	EVP_PKEY *card, *host;
	EVP_PKEY_CTX *ctx;

	assert_int_equal(wk_piv_authenticate(f->piv, 0, mgmt, sizeof(mgmt),
	    true), WK_OK);
	assert_int_equal(wk_piv_generate(f->piv, 0x82, WK_PIV_ALG_X25519, 0, 0,
	    spki, &slen), WK_OK);
	card = pub_of(spki, slen);
	host = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	assert_int_equal(EVP_PKEY_get_raw_public_key(host, peer, &plen), 1);
	assert_int_equal(wk_piv_verify_pin(f->piv, (const uint8_t *)"123456",
	    6, NULL), WK_OK);
	assert_int_equal(wk_piv_derive(f->piv, 0x82, WK_PIV_ALG_X25519, peer,
	    plen, mine, &mlen), WK_OK);
	ctx = EVP_PKEY_CTX_new(host, NULL);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, card), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, theirs, &tlen), 1);
	assert_memory_equal(mine, theirs, 32);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(card);
	EVP_PKEY_free(host);
}

static void
test_rsa_decrypt(void **state)
{
	fix *f = *state;
	uint8_t spki[WK_PIV_SPKI_MAX], msg[256], ct[256], pt[256];
	size_t slen = sizeof(spki), clen = sizeof(ct), plen = sizeof(pt);
	EVP_PKEY *card;
	EVP_PKEY_CTX *ctx;

	assert_int_equal(wk_piv_authenticate(f->piv, 0, mgmt, sizeof(mgmt),
	    true), WK_OK);
	assert_int_equal(wk_piv_generate(f->piv, WK_PIV_SLOT_KEYMGMT,
	    WK_PIV_ALG_RSA2048, 0, 0, spki, &slen), WK_OK);
	card = pub_of(spki, slen);
	memset(msg, 0x42, sizeof(msg));
	msg[0] = 0x00;
	ctx = EVP_PKEY_CTX_new(card, NULL);
	assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING), 1);
	assert_int_equal(EVP_PKEY_encrypt(ctx, ct, &clen, msg, sizeof(msg)), 1);
	assert_int_equal(wk_piv_verify_pin(f->piv, (const uint8_t *)"123456",
	    6, NULL), WK_OK);
	assert_int_equal(wk_piv_decrypt(f->piv, WK_PIV_SLOT_KEYMGMT,
	    WK_PIV_ALG_RSA2048, ct, clen, pt, &plen), WK_OK);
	assert_int_equal(plen, 256);
	assert_memory_equal(pt, msg, 256);
	/* the wrong algorithm for the slot: the card refuses the data */
	plen = sizeof(pt);
	assert_int_equal(wk_piv_sign(f->piv, WK_PIV_SLOT_KEYMGMT,
	    WK_PIV_ALG_ECCP256, msg, 32, pt, &plen), WK_ERR_BAD_DATA);
	assert_int_equal(wk_piv_decrypt(f->piv, WK_PIV_SLOT_KEYMGMT,
	    WK_PIV_ALG_RSA2048, ct, 255, pt, &plen), WK_ERR_ARG);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(card);
}

static void
test_import_parts_and_attest(void **state)
{
	fix *f = *state;
	uint8_t d[32], hash[32], sig[WK_PIV_SIG_MAX], raw[64];
	uint8_t *cert = malloc(WK_PIV_OBJ_MAX);
	size_t dlen = sizeof(d), slen = sizeof(sig), clen = WK_PIV_OBJ_MAX;
	wk_piv_key_parts parts;
	wk_piv_metadata md;
	EVP_PKEY *host;
	EVP_PKEY_CTX *ctx;
	BIGNUM *bn = NULL;

	assert_non_null(cert);
	host = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_int_equal(EVP_PKEY_get_bn_param(host, OSSL_PKEY_PARAM_PRIV_KEY,
	    &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, d, (int)dlen), 32);
	memset(&parts, 0, sizeof(parts));
	parts.part[0] = d;
	parts.part_len[0] = 32;
	assert_int_equal(wk_piv_authenticate(f->piv, 0, mgmt, sizeof(mgmt),
	    true), WK_OK);
	assert_int_equal(wk_piv_import_parts(f->piv, WK_PIV_SLOT_CARDAUTH,
	    WK_PIV_ALG_ECCP256, &parts, WK_PIV_PIN_POLICY_NEVER,
	    WK_PIV_TOUCH_POLICY_NEVER), WK_OK);
	assert_int_equal(wk_piv_get_metadata(f->piv, WK_PIV_SLOT_CARDAUTH,
	    &md), WK_OK);
	assert_int_equal(md.origin, WK_PIV_ORIGIN_IMPORTED);
	assert_int_equal(md.pin_policy, WK_PIV_PIN_POLICY_NEVER);
	/* 9e with PIN policy never signs without VERIFY */
	assert_int_equal(wk_piv_logout(f->piv), WK_OK);
	memset(hash, 0x33, sizeof(hash));
	assert_int_equal(wk_piv_sign(f->piv, WK_PIV_SLOT_CARDAUTH,
	    WK_PIV_ALG_ECCP256, hash, sizeof(hash), sig, &slen), WK_OK);
	ctx = EVP_PKEY_CTX_new(host, NULL);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(EVP_PKEY_verify(ctx, sig, slen, hash, sizeof(hash)),
	    1);
	assert_int_equal(wk_piv_ecdsa_der_to_raw(sig, slen, 32, raw), WK_OK);
	/* imported keys are not attested (YubiKey behaviour), generated ones are */
	assert_int_not_equal(wk_piv_attest(f->piv, WK_PIV_SLOT_CARDAUTH, cert,
	    &clen), WK_OK);
	clen = WK_PIV_OBJ_MAX;
	assert_int_equal(wk_piv_attest(f->piv, WK_PIV_SLOT_KEYMGMT, cert,
	    &clen), WK_OK);
	assert_int_equal(cert[0], 0x30);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(host);
	BN_free(bn);
	free(cert);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_pin_state),
		cmocka_unit_test(test_mgmt_auth),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_trace_masks_pin_objects),
		cmocka_unit_test(test_ecdh),
		cmocka_unit_test(test_x25519),
		cmocka_unit_test(test_rsa_decrypt),
		cmocka_unit_test(test_import_parts_and_attest),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
