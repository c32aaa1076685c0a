/* p11_crypto.c: RSA encodings checked against OpenSSL, ECDSA forms, X.509 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "p11_internal.h"

static EVP_PKEY *rsa;
static uint8_t *rsa_spki;
static size_t rsa_spki_len;

static int
setup(void **state)
{
	uint8_t *der = NULL;
	int n;

	(void)state;
	rsa = EVP_RSA_gen(2048);
	if (rsa == NULL)
		return -1;
	n = i2d_PUBKEY(rsa, &der);
	if (n <= 0)
		return -1;
	rsa_spki = der;
	rsa_spki_len = (size_t)n;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	OPENSSL_free(rsa_spki);
	EVP_PKEY_free(rsa);
	return 0;
}

/* the card's raw private operation, done here with the test key */
static void
raw_private(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(rsa, NULL);

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING), 1);
	assert_int_equal(EVP_PKEY_decrypt(ctx, out, out_len, in, len), 1);
	EVP_PKEY_CTX_free(ctx);
}

static void
test_pkcs1_sign(void **state)
{
	uint8_t digest[32], em[256], sig[256];
	size_t dl = sizeof(digest), sl = sizeof(sig);

	(void)state;
	assert_int_equal(p11_digest(CKM_SHA256, (const uint8_t *)"abc", 3, digest,
	    &dl), CKR_OK);
	assert_int_equal(p11_pkcs1_sign_pad(CKM_SHA256, digest, dl, em,
	    sizeof(em)), CKR_OK);
	raw_private(em, sizeof(em), sig, &sl);
	assert_int_equal(p11_host_verify(rsa_spki, rsa_spki_len, CKM_RSA_PKCS,
	    CKM_SHA256, 0, 0, digest, dl, sig, sl), CKR_OK);
	digest[0] ^= 1;
	assert_int_equal(p11_host_verify(rsa_spki, rsa_spki_len, CKM_RSA_PKCS,
	    CKM_SHA256, 0, 0, digest, dl, sig, sl), CKR_SIGNATURE_INVALID);
	assert_int_equal(p11_host_verify(rsa_spki, rsa_spki_len, CKM_RSA_PKCS,
	    CKM_SHA256, 0, 0, digest, dl, sig, sl - 1), CKR_SIGNATURE_LEN_RANGE);
	/* a digest of the wrong size, and data too long for the modulus */
	assert_int_equal(p11_pkcs1_sign_pad(CKM_SHA256, digest, 20, em,
	    sizeof(em)), CKR_DATA_LEN_RANGE);
	assert_int_equal(p11_pkcs1_sign_pad(0, em, 246, em, sizeof(em)),
	    CKR_DATA_LEN_RANGE);
}

static void
test_pss(void **state)
{
	static const CK_MECHANISM_TYPE hashes[] = { CKM_SHA_1, CKM_SHA224,
	    CKM_SHA256, CKM_SHA384, CKM_SHA512 };
	uint8_t digest[64], em[256], sig[256];

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		size_t dl = sizeof(digest), sl = sizeof(sig);
		size_t hl = p11_hash_len(hashes[i]);

		assert_int_equal(p11_digest(hashes[i], (const uint8_t *)"m", 1,
		    digest, &dl), CKR_OK);
		assert_int_equal(dl, hl);
		assert_int_equal(p11_pss_pad(hashes[i], hashes[i], hl, digest, dl,
		    2048, em, sizeof(em)), CKR_OK);
		raw_private(em, sizeof(em), sig, &sl);
		assert_int_equal(p11_host_verify(rsa_spki, rsa_spki_len,
		    CKM_RSA_PKCS_PSS, hashes[i], hashes[i], hl, digest, dl, sig,
		    sl), CKR_OK);
		/* the salt length is part of the check */
		assert_int_equal(p11_host_verify(rsa_spki, rsa_spki_len,
		    CKM_RSA_PKCS_PSS, hashes[i], hashes[i], hl + 1, digest, dl,
		    sig, sl), CKR_SIGNATURE_INVALID);
	}
	/* salt too long for the key */
	assert_int_equal(p11_pss_pad(CKM_SHA512, CKM_SHA512, 191, digest, 64,
	    2048, em, sizeof(em)), CKR_KEY_SIZE_RANGE);
}

static void
test_oaep(void **state)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(rsa, NULL);
	uint8_t ct[256], em[256], pt[256];
	size_t cl = sizeof(ct), el = sizeof(em), pl = sizeof(pt);

	(void)state;
	assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_encrypt(ctx, ct, &cl, (const uint8_t *)"secret", 6), 1);
	EVP_PKEY_CTX_free(ctx);
	raw_private(ct, cl, em, &el);
	assert_int_equal(p11_oaep_unpad(CKM_SHA256, CKM_SHA256, NULL, 0, em, el,
	    pt, &pl), CKR_OK);
	assert_int_equal(pl, 6);
	assert_memory_equal(pt, "secret", 6);
	/* the two-call convention, then a buffer one byte short */
	pl = 0;
	assert_int_equal(p11_oaep_unpad(CKM_SHA256, CKM_SHA256, NULL, 0, em, el,
	    NULL, &pl), CKR_OK);
	assert_int_equal(pl, 6);
	pl = 5;
	assert_int_equal(p11_oaep_unpad(CKM_SHA256, CKM_SHA256, NULL, 0, em, el,
	    pt, &pl), CKR_BUFFER_TOO_SMALL);
	/* a different label or hash fails */
	pl = sizeof(pt);
	assert_int_equal(p11_oaep_unpad(CKM_SHA256, CKM_SHA256,
	    (const uint8_t *)"x", 1, em, el, pt, &pl), CKR_ENCRYPTED_DATA_INVALID);
	assert_int_equal(p11_oaep_unpad(CKM_SHA_1, CKM_SHA_1, NULL, 0, em, el,
	    pt, &pl), CKR_ENCRYPTED_DATA_INVALID);
	/* and the host-side encryption decrypts the same way */
	cl = sizeof(ct);
	assert_int_equal(p11_host_encrypt(rsa_spki, rsa_spki_len,
	    CKM_RSA_PKCS_OAEP, CKM_SHA_1, CKM_SHA_1, (const uint8_t *)"L", 1,
	    (const uint8_t *)"hi", 2, ct, &cl), CKR_OK);
	el = sizeof(em);
	raw_private(ct, cl, em, &el);
	pl = sizeof(pt);
	assert_int_equal(p11_oaep_unpad(CKM_SHA_1, CKM_SHA_1,
	    (const uint8_t *)"L", 1, em, el, pt, &pl), CKR_OK);
	assert_int_equal(pl, 2);
}

static void
test_pkcs1_decrypt(void **state)
{
	uint8_t ct[256], em[256], pt[256];
	size_t cl = sizeof(ct), el = sizeof(em), pl = sizeof(pt);

	(void)state;
	assert_int_equal(p11_host_encrypt(rsa_spki, rsa_spki_len, CKM_RSA_PKCS,
	    0, 0, NULL, 0, (const uint8_t *)"hello", 5, ct, &cl), CKR_OK);
	raw_private(ct, cl, em, &el);
	assert_int_equal(p11_pkcs1_unpad(em, el, pt, &pl), CKR_OK);
	assert_int_equal(pl, 5);
	assert_memory_equal(pt, "hello", 5);
	em[1] = 0x01;
	assert_int_equal(p11_pkcs1_unpad(em, el, pt, &pl),
	    CKR_ENCRYPTED_DATA_INVALID);
	/* too long for PKCS#1 v1.5 with a 2048-bit key */
	cl = sizeof(ct);
	assert_int_equal(p11_host_encrypt(rsa_spki, rsa_spki_len, CKM_RSA_PKCS,
	    0, 0, NULL, 0, pt, 246, ct, &cl), CKR_DATA_LEN_RANGE);
	cl = 10;
	assert_int_equal(p11_host_encrypt(rsa_spki, rsa_spki_len, CKM_RSA_PKCS,
	    0, 0, NULL, 0, pt, 5, ct, &cl), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(cl, 256);
}

static void
test_ecdsa_and_x509(void **state)
{
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *der = NULL, *spki = NULL, sig[80], raw[64], digest[32];
	size_t sl = sizeof(sig), dl = sizeof(digest), der_len;
	int n;
	p11_x509 px;
	p11_object *obj;
	uint8_t alg = 0;

	(void)state;
	assert_non_null(ec);
	/* a self-signed certificate, as a card would hold it */
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"unit test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, ec);
	assert_true(X509_sign(x, ec, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	assert_int_equal(p11_x509_parse(der, (size_t)n, &px), CKR_OK);
	assert_string_equal(px.label, "unit test");
	assert_int_equal(px.has_dates, 1);
	/* the SPKI gives the key attributes */
	obj = p11_object_new(CKO_PUBLIC_KEY);
	assert_int_equal(p11_spki_attrs(obj, px.spki, px.spki_len, &alg), CKR_OK);
	assert_int_equal(alg, P11_ALG_P256);
	assert_non_null(p11_attr_find(obj, CKA_EC_POINT));
	assert_int_equal(p11_attr_find(obj, CKA_EC_POINT)->ulValueLen, 67);
	p11_object_free(&obj);
	assert_null(obj);
	/* trailing bytes after the certificate are refused */
	p11_x509_clear(&px);
	assert_int_equal(p11_x509_parse(der, (size_t)n - 1, &px),
	    CKR_ATTRIBUTE_VALUE_INVALID);
	OPENSSL_free(der);
	der = NULL;
	/* an ECDSA signature in raw r||s form verifies on the host */
	assert_int_equal(p11_digest(CKM_SHA256, (const uint8_t *)"d", 1, digest,
	    &dl), CKR_OK);
	{
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(ec, NULL);
		assert_int_equal(EVP_PKEY_sign_init(c), 1);
		assert_int_equal(EVP_PKEY_sign(c, sig, &sl, digest, dl), 1);
		EVP_PKEY_CTX_free(c);
	}
	assert_int_equal(wk_piv_ecdsa_der_to_raw(sig, sl, 32, raw), WK_OK);
	n = i2d_PUBKEY(ec, &spki);
	assert_int_equal(p11_host_verify(spki, (size_t)n, CKM_ECDSA, 0, 0, 0,
	    digest, dl, raw, 64), CKR_OK);
	raw[5] ^= 1;
	assert_int_equal(p11_host_verify(spki, (size_t)n, CKM_ECDSA, 0, 0, 0,
	    digest, dl, raw, 64), CKR_SIGNATURE_INVALID);
	assert_int_equal(p11_host_verify(spki, (size_t)n, CKM_ECDSA, 0, 0, 0,
	    digest, dl, raw, 63), CKR_SIGNATURE_LEN_RANGE);
	assert_int_equal(p11_ecdsa_raw_to_der(raw, 64, &der, &der_len), CKR_OK);
	OPENSSL_free(der);
	OPENSSL_free(spki);
	p11_x509_clear(&px);
	EVP_MD_CTX_free(md);
	X509_free(x);
	EVP_PKEY_free(ec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkcs1_sign),
		cmocka_unit_test(test_pss),
		cmocka_unit_test(test_oaep),
		cmocka_unit_test(test_pkcs1_decrypt),
		cmocka_unit_test(test_ecdsa_and_x509),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
