/* wk_digestinfo.c: each prefix is the DER DigestInfo OpenSSL itself writes;
 * MGF1 gives the published examples (RFC 8017 B.2.1) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "wk_digestinfo.h"

/* the DigestInfo of a zero digest, encoded by OpenSSL (X509_SIG) */
static int
openssl_digest_info(int nid, size_t hlen, uint8_t **der)
{
	X509_SIG *sig = X509_SIG_new();
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *digest;
	uint8_t zero[64] = { 0 };
	int n;

	assert_non_null(sig);
	X509_SIG_getm(sig, &alg, &digest);
	assert_int_equal(X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_NULL,
	    NULL), 1);
	assert_int_equal(ASN1_OCTET_STRING_set(digest, zero, (int)hlen), 1);
	*der = NULL;
	n = i2d_X509_SIG(sig, der);
	X509_SIG_free(sig);
	return n;
}

static void
test_prefixes(void **state)
{
	static const struct {
		int nid;
		size_t hlen;
	} cases[] = {
		{ NID_sha1, 20 }, { NID_sha224, 28 }, { NID_sha256, 32 },
		{ NID_sha384, 48 }, { NID_sha512, 64 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *der;
		size_t len = 0;
		const uint8_t *p = wk_digest_info(cases[i].nid, &len);
		int n = openssl_digest_info(cases[i].nid, cases[i].hlen, &der);

		assert_non_null(p);
		assert_true(n > 0);
		/* the prefix is the encoding without the digest's bytes */
		assert_int_equal(len + cases[i].hlen, (size_t)n);
		assert_memory_equal(p, der, len);
		OPENSSL_free(der);
	}
}

static void
test_unknown(void **state)
{
	size_t len = 99;

	(void)state;
	assert_null(wk_digest_info(NID_md5, &len));
	assert_int_equal(len, 0);
	len = 99;
	assert_null(wk_digest_info(NID_sha3_256, &len));
	assert_int_equal(len, 0);
}

/* MGF1 into a zero mask is MGF1 itself; the outputs as Python's hashlib
 * computes them from B.2.1 (seed || 4-byte counter, hashed, concatenated) */
static void
test_mgf1(void **state)
{
	static const struct {
		const char *md, *seed, *hex;
	} v[] = {
		{ "SHA1", "foo", "1ac907" },
		{ "SHA1", "foo", "1ac9075cd4" },
		{ "SHA1", "bar", "bc0c655e01" },
		{ "SHA256", "bar", "382576a7841021cc28fc4c0948753fb8312090cea942ea4c"
		    "4e735d10dc724b155f9f6069f289d61daca0cb814502ef04eae1" },
	};
	uint8_t mask[64], want[64], x[5] = { 0xff, 0x00, 0xff, 0x00, 0xff };

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].hex) / 2;

		for (size_t k = 0; k < n; k++)
			sscanf(v[i].hex + 2 * k, "%2hhx", &want[k]);
		memset(mask, 0, sizeof(mask));
		assert_int_equal(wk_mgf1_xor(EVP_get_digestbyname(v[i].md),
		    (const uint8_t *)v[i].seed, 3, mask, n), 0);
		assert_memory_equal(mask, want, n);
	}
	/* it XORs into what is there */
	assert_int_equal(wk_mgf1_xor(EVP_sha1(), (const uint8_t *)"foo", 3, x, 5),
	    0);
	assert_int_equal(x[0], 0x1a ^ 0xff);
	assert_int_equal(x[1], 0xc9);
	assert_int_equal(x[4], 0xd4 ^ 0xff);
	/* no digest: an error, the mask untouched */
	memset(mask, 0, sizeof(mask));
	assert_int_equal(wk_mgf1_xor(NULL, (const uint8_t *)"foo", 3, mask, 5),
	    -1);
	assert_int_equal(mask[0], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_mgf1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
