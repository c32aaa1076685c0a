/* unit tests of the PIV client's parsers and encoders (middleware/wk_piv_parse.c) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "wk_piv_internal.h"
#include "wk_tlv.h"

/* the card's view of a key: the content of 7F49 */
static size_t
pub_content(EVP_PKEY *pkey, uint8_t alg, uint8_t *out, size_t cap)
{
	uint8_t tmp[1100];
	size_t n = 0;
	wk_buf b;

	wk_buf_init_fixed(&b, out, cap);
	if (wk_piv_alg_is_rsa(alg)) {
		BIGNUM *bn = NULL;

		assert_int_equal(EVP_PKEY_get_bn_param(pkey,
		    OSSL_PKEY_PARAM_RSA_N, &bn), 1);
		n = (size_t)BN_bn2bin(bn, tmp);
		wk_tlv_put(&b, 0x81, tmp, n);
		BN_free(bn);
		bn = NULL;
		assert_int_equal(EVP_PKEY_get_bn_param(pkey,
		    OSSL_PKEY_PARAM_RSA_E, &bn), 1);
		n = (size_t)BN_bn2bin(bn, tmp);
		wk_tlv_put(&b, 0x82, tmp, n);
		BN_free(bn);
	} else if (wk_piv_alg_is_ec(alg)) {
		assert_int_equal(EVP_PKEY_get_octet_string_param(pkey,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, tmp, sizeof(tmp), &n),
		    1);
		wk_tlv_put(&b, 0x86, tmp, n);
	} else {
		n = sizeof(tmp);
		assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, tmp, &n), 1);
		wk_tlv_put(&b, 0x86, tmp, n);
	}
	assert_false(wk_buf_failed(&b));
	return b.len;
}

static EVP_PKEY *
keygen(uint8_t alg)
{
	EVP_PKEY *pkey = NULL;

	switch (alg) {
	case WK_PIV_ALG_ECCP256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case WK_PIV_ALG_ECCP384:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case WK_PIV_ALG_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case WK_PIV_ALG_X25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		break;
	case WK_PIV_ALG_RSA1024:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
		break;
	default:
		break;
	}
	assert_non_null(pkey);
	return pkey;
}

static void
check_generate(uint8_t alg)
{
	uint8_t content[1100], resp[1200], spki[WK_PIV_SPKI_MAX], *p;
	unsigned char *want = NULL;
	EVP_PKEY *pkey = keygen(alg);
	size_t clen, slen = sizeof(spki);
	int wlen;
	wk_buf b;

	clen = pub_content(pkey, alg, content, sizeof(content));
	wk_buf_init_fixed(&b, resp, sizeof(resp));
	wk_tlv_put(&b, 0x7F49, content, clen);
	assert_int_equal(wk_piv_parse_generate(alg, resp, b.len, spki, &slen),
	    WK_OK);
	wlen = i2d_PUBKEY(pkey, &want);
	assert_true(wlen > 0);
	assert_int_equal(slen, (size_t)wlen);
	assert_memory_equal(spki, want, slen);

	/* too small an output buffer says how much is needed */
	slen = 10;
	assert_int_equal(wk_piv_parse_generate(alg, resp, b.len, spki, &slen),
	    WK_ERR_ARG);
	assert_int_equal(slen, (size_t)wlen);

	/* the wrong algorithm for these bytes is malformed */
	slen = sizeof(spki);
	assert_int_equal(wk_piv_parse_generate(alg == WK_PIV_ALG_ECCP256 ?
	    WK_PIV_ALG_ECCP384 : WK_PIV_ALG_ECCP256, resp, b.len, spki, &slen),
	    WK_ERR_CARD_MALFORMED);

	/* one byte short, one byte extra */
	assert_int_equal(wk_piv_parse_generate(alg, resp, b.len - 1, spki,
	    &slen), WK_ERR_CARD_MALFORMED);
	p = resp;
	resp[b.len] = 0x00;
	assert_int_equal(wk_piv_parse_generate(alg, p, b.len + 1, spki, &slen),
	    WK_ERR_CARD_MALFORMED);
	OPENSSL_free(want);
	EVP_PKEY_free(pkey);
}

static void
test_generate_ok(void **state)
{
	(void)state;
	check_generate(WK_PIV_ALG_ECCP256);
	check_generate(WK_PIV_ALG_ECCP384);
	check_generate(WK_PIV_ALG_ED25519);
	check_generate(WK_PIV_ALG_X25519);
	check_generate(WK_PIV_ALG_RSA1024);
}

static int
gen(uint8_t alg, const uint8_t *resp, size_t len)
{
	uint8_t spki[WK_PIV_SPKI_MAX];
	size_t slen = sizeof(spki);

	return wk_piv_parse_generate(alg, resp, len, spki, &slen);
}

static void
test_generate_malformed(void **state)
{
	uint8_t r[200];
	size_t i;

	(void)state;
	memset(r, 0x11, sizeof(r));
	/* empty, and not 7F49 at all */
	assert_int_equal(gen(WK_PIV_ALG_ED25519, r, 0), WK_ERR_CARD_MALFORMED);
	static const uint8_t wrong_tag[] = { 0x7F, 0x48, 0x02, 0x86, 0x00 };
	assert_int_equal(gen(WK_PIV_ALG_ED25519, wrong_tag,
	    sizeof(wrong_tag)), WK_ERR_CARD_MALFORMED);
	/* 86 missing */
	static const uint8_t no86[] = { 0x7F, 0x49, 0x03, 0x87, 0x01, 0x00 };
	assert_int_equal(gen(WK_PIV_ALG_ED25519, no86, sizeof(no86)),
	    WK_ERR_CARD_MALFORMED);
	/* 25519 key of 31 bytes */
	memset(r, 0x11, sizeof(r));
	r[0] = 0x7F; r[1] = 0x49; r[2] = 33; r[3] = 0x86; r[4] = 31;
	assert_int_equal(gen(WK_PIV_ALG_ED25519, r, 35), WK_ERR_CARD_MALFORMED);
	/* 86 twice */
	r[2] = 68; r[4] = 32; r[37] = 0x86; r[38] = 32;
	assert_int_equal(gen(WK_PIV_ALG_X25519, r, 71), WK_ERR_CARD_MALFORMED);
	/* P-256 point: compressed prefix, and a point off the curve */
	r[2] = 67; r[4] = 65; r[5] = 0x03;
	assert_int_equal(gen(WK_PIV_ALG_ECCP256, r, 70), WK_ERR_CARD_MALFORMED);
	r[5] = 0x04;
	for (i = 6; i < 70; i++)
		r[i] = (uint8_t)i;
	assert_int_equal(gen(WK_PIV_ALG_ECCP256, r, 70), WK_ERR_CARD_MALFORMED);
	/* inner length running past the outer one */
	r[2] = 3; r[4] = 65;
	assert_int_equal(gen(WK_PIV_ALG_ECCP256, r, 6), WK_ERR_CARD_MALFORMED);
	/* RSA without exponent, with an even exponent, with a short modulus */
	static const uint8_t rsa_no_e[] = { 0x7F, 0x49, 0x04, 0x81, 0x02,
		0xC0, 0x01 };
	assert_int_equal(gen(WK_PIV_ALG_RSA2048, rsa_no_e, sizeof(rsa_no_e)),
	    WK_ERR_CARD_MALFORMED);
	static const uint8_t rsa_small[] = { 0x7F, 0x49, 0x09, 0x81, 0x02,
		0xC0, 0x01, 0x82, 0x03, 0x01, 0x00, 0x01 };
	assert_int_equal(gen(WK_PIV_ALG_RSA2048, rsa_small, sizeof(rsa_small)),
	    WK_ERR_CARD_MALFORMED);
	/* a symmetric algorithm is the caller's mistake */
	assert_int_equal(gen(WK_PIV_ALG_AES128, no86, sizeof(no86)),
	    WK_ERR_CARD_MALFORMED);
}

static void
test_metadata_pin(void **state)
{
	static const uint8_t pin[] = { 0x01, 0x01, 0xFF, 0x05, 0x01, 0x01,
		0x06, 0x02, 0x03, 0x02 };
	wk_piv_metadata md;

	(void)state;
	assert_int_equal(wk_piv_parse_metadata(pin, sizeof(pin), &md), WK_OK);
	assert_int_equal(md.alg, 0xFF);
	assert_true(md.has_default && md.is_default);
	assert_true(md.has_retries);
	assert_int_equal(md.retries_total, 3);
	assert_int_equal(md.retries_left, 2);
	assert_false(md.has_policy);
	assert_int_equal(md.spki_len, 0);
}

static void
test_metadata_key(void **state)
{
	uint8_t content[200], resp[300], *want = NULL;
	EVP_PKEY *pkey = keygen(WK_PIV_ALG_ECCP256);
	wk_piv_metadata md;
	size_t clen;
	int wlen;
	wk_buf b;

	(void)state;
	clen = pub_content(pkey, WK_PIV_ALG_ECCP256, content, sizeof(content));
	wk_buf_init_fixed(&b, resp, sizeof(resp));
	/* public key first: the parser must not depend on the order */
	wk_tlv_put(&b, 0x04, content, clen);
	wk_tlv_put(&b, 0x01, (const uint8_t[]){ 0x11 }, 1);
	wk_tlv_put(&b, 0x02, (const uint8_t[]){ 0x03, 0x01 }, 2);
	wk_tlv_put(&b, 0x03, (const uint8_t[]){ 0x01 }, 1);
	wk_tlv_put(&b, 0x7F, (const uint8_t[]){ 0x00 }, 1);	/* unknown: ignored */
	assert_int_equal(wk_piv_parse_metadata(resp, b.len, &md), WK_OK);
	assert_int_equal(md.alg, WK_PIV_ALG_ECCP256);
	assert_true(md.has_policy);
	assert_int_equal(md.pin_policy, WK_PIV_PIN_POLICY_ALWAYS);
	assert_int_equal(md.touch_policy, WK_PIV_TOUCH_POLICY_NEVER);
	assert_int_equal(md.origin, WK_PIV_ORIGIN_GENERATED);
	wlen = i2d_PUBKEY(pkey, &want);
	assert_int_equal(md.spki_len, (size_t)wlen);
	assert_memory_equal(md.spki, want, md.spki_len);
	OPENSSL_free(want);
	EVP_PKEY_free(pkey);
}

static const struct {
	const char *what;
	uint8_t bytes[16];
	size_t len;
} bad_md[] = {
	{ "empty", { 0 }, 0 },
	{ "no algorithm", { 0x05, 0x01, 0x01 }, 3 },
	{ "algorithm twice", { 0x01, 0x01, 0x11, 0x01, 0x01, 0x11 }, 6 },
	{ "algorithm of 2 bytes", { 0x01, 0x02, 0x11, 0x11 }, 4 },
	{ "policy of 1 byte", { 0x01, 0x01, 0x11, 0x02, 0x01, 0x01 }, 6 },
	{ "more retries left than total",
	  { 0x01, 0x01, 0xFF, 0x06, 0x02, 0x03, 0x04 }, 7 },
	{ "truncated", { 0x01, 0x01, 0x11, 0x03, 0x05, 0x01 }, 6 },
	{ "bad public key", { 0x01, 0x01, 0x11, 0x04, 0x03, 0x86, 0x01, 0x04 },
	  8 },
	{ "long length form", { 0x01, 0x81, 0x01, 0x11 }, 4 },
};

static void
test_metadata_malformed(void **state)
{
	wk_piv_metadata md;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_md) / sizeof(bad_md[0]); i++) {
		print_message("%s\n", bad_md[i].what);
		assert_int_equal(wk_piv_parse_metadata(bad_md[i].bytes,
		    bad_md[i].len, &md), WK_ERR_CARD_MALFORMED);
	}
}

static void
test_auth(void **state)
{
	static const uint8_t ok[] = { 0x7C, 0x0A, 0x80, 0x08, 1, 2, 3, 4, 5, 6,
		7, 8 };
	static const uint8_t two[] = { 0x7C, 0x06, 0x80, 0x01, 1, 0x81, 0x01,
		2 };
	static const uint8_t trail[] = { 0x7C, 0x03, 0x82, 0x01, 1, 0x00 };
	static const uint8_t outer[] = { 0x7D, 0x03, 0x82, 0x01, 1 };
	static const uint8_t over[] = { 0x7C, 0x03, 0x82, 0x05, 1 };
	static const uint8_t empty[] = { 0x7C, 0x00 };
	const uint8_t *v;
	size_t n;

	(void)state;
	assert_int_equal(wk_piv_parse_auth(ok, sizeof(ok), 0x80, &v, &n),
	    WK_OK);
	assert_int_equal(n, 8);
	assert_ptr_equal(v, ok + 4);
	assert_int_equal(wk_piv_parse_auth(ok, sizeof(ok), 0x82, &v, &n),
	    WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_piv_parse_auth(two, sizeof(two), 0x80, &v, &n),
	    WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_piv_parse_auth(trail, sizeof(trail), 0x82, &v,
	    &n), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_piv_parse_auth(outer, sizeof(outer), 0x82, &v,
	    &n), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_piv_parse_auth(over, sizeof(over), 0x82, &v, &n),
	    WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_piv_parse_auth(empty, sizeof(empty), 0x82, &v,
	    &n), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_piv_parse_auth(ok, 0, 0x80, &v, &n),
	    WK_ERR_CARD_MALFORMED);
}

static void
test_objects(void **state)
{
	static const uint8_t obj[] = { 0x53, 0x03, 0xF3, 0x01, 0x00 };
	static const uint8_t trail[] = { 0x53, 0x01, 0x00, 0x90 };
	static const uint8_t disc[] = { 0x7E, 0x02, 0x4F, 0x00 };
	static const uint8_t cert[] = { 0x70, 0x02, 0x30, 0x00, 0x71, 0x01,
		0x00, 0xFE, 0x00 };
	static const uint8_t gz[] = { 0x70, 0x02, 0x30, 0x00, 0x71, 0x01,
		0x01, 0xFE, 0x00 };
	static const uint8_t nocert[] = { 0x71, 0x01, 0x00, 0xFE, 0x00 };
	static const uint8_t notder[] = { 0x70, 0x01, 0x31 };
	static const uint8_t twice[] = { 0x70, 0x02, 0x30, 0x00, 0x70, 0x02,
		0x30, 0x00 };
	const uint8_t *v;
	size_t n;

	(void)state;
	assert_int_equal(wk_piv_parse_object(WK_PIV_OBJ_CHUID, obj,
	    sizeof(obj), &v, &n), WK_OK);
	assert_int_equal(n, 3);
	assert_int_equal(wk_piv_parse_object(WK_PIV_OBJ_CHUID, trail,
	    sizeof(trail), &v, &n), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_piv_parse_object(WK_PIV_OBJ_CHUID, disc,
	    sizeof(disc), &v, &n), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_piv_parse_object(WK_PIV_OBJ_DISCOVERY, disc,
	    sizeof(disc), &v, &n), WK_OK);
	assert_int_equal(n, sizeof(disc));

	assert_int_equal(wk_piv_parse_cert_object(cert, sizeof(cert), &v, &n),
	    WK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(wk_piv_parse_cert_object(gz, sizeof(gz), &v, &n),
	    WK_ERR_NOT_SUPPORTED);
	assert_int_equal(wk_piv_parse_cert_object(nocert, sizeof(nocert), &v,
	    &n), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_piv_parse_cert_object(notder, sizeof(notder), &v,
	    &n), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_piv_parse_cert_object(twice, sizeof(twice), &v,
	    &n), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_piv_parse_cert_object(cert, 0, &v, &n),
	    WK_ERR_NOT_FOUND);
}

static void
test_import_encoding(void **state)
{
	uint8_t out[1200], big[200];
	uint8_t one = 0x07;
	wk_piv_key_parts parts;
	wk_buf b;

	(void)state;
	memset(&parts, 0, sizeof(parts));
	memset(big, 0xAB, sizeof(big));
	for (int i = 0; i < 5; i++) {
		parts.part[i] = &one;
		parts.part_len[i] = 1;
	}
	wk_buf_init_fixed(&b, out, sizeof(out));
	assert_int_equal(wk_piv_build_import(WK_PIV_ALG_RSA1024, &parts,
	    WK_PIV_PIN_POLICY_ONCE, WK_PIV_TOUCH_POLICY_DEFAULT, &b), WK_OK);
	/* 5 x (01..05 40 <64>) then AA 01 02 */
	assert_int_equal(b.len, 5 * (2 + 64) + 3);
	assert_int_equal(out[0], 0x01);
	assert_int_equal(out[1], 64);
	assert_int_equal(out[2], 0x00);
	assert_int_equal(out[2 + 63], 0x07);
	assert_int_equal(out[66], 0x02);
	assert_int_equal(out[b.len - 3], 0xAA);
	assert_int_equal(out[b.len - 1], 0x02);

	/* a part longer than half the modulus is refused */
	parts.part[2] = big;
	parts.part_len[2] = 65;
	wk_buf_init_fixed(&b, out, sizeof(out));
	assert_int_equal(wk_piv_build_import(WK_PIV_ALG_RSA1024, &parts, 0, 0,
	    &b), WK_ERR_ARG);

	/* EC d left-padded to the field size */
	memset(&parts, 0, sizeof(parts));
	parts.part[0] = big;
	parts.part_len[0] = 31;
	wk_buf_init_fixed(&b, out, sizeof(out));
	assert_int_equal(wk_piv_build_import(WK_PIV_ALG_ECCP256, &parts, 0,
	    WK_PIV_TOUCH_POLICY_NEVER, &b), WK_OK);
	assert_int_equal(b.len, 2 + 32 + 3);
	assert_int_equal(out[0], 0x06);
	assert_int_equal(out[1], 32);
	assert_int_equal(out[2], 0x00);
	assert_int_equal(out[3], 0xAB);
	assert_int_equal(out[34], 0xAB);
	assert_int_equal(out[35], 0x01);
	parts.part_len[0] = 33;
	wk_buf_init_fixed(&b, out, sizeof(out));
	assert_int_equal(wk_piv_build_import(WK_PIV_ALG_ECCP256, &parts, 0, 0,
	    &b), WK_ERR_ARG);

	/* 25519 takes exactly 32 bytes; policies stay in range */
	parts.part_len[0] = 32;
	wk_buf_init_fixed(&b, out, sizeof(out));
	assert_int_equal(wk_piv_build_import(WK_PIV_ALG_ED25519, &parts, 0, 0,
	    &b), WK_OK);
	assert_int_equal(out[0], 0x07);
	wk_buf_init_fixed(&b, out, sizeof(out));
	assert_int_equal(wk_piv_build_import(WK_PIV_ALG_X25519, &parts, 4, 0,
	    &b), WK_ERR_ARG);
	parts.part_len[0] = 31;
	wk_buf_init_fixed(&b, out, sizeof(out));
	assert_int_equal(wk_piv_build_import(WK_PIV_ALG_X25519, &parts, 0, 0,
	    &b), WK_ERR_ARG);
	wk_buf_init_fixed(&b, out, sizeof(out));
	assert_int_equal(wk_piv_build_import(WK_PIV_ALG_3DES, &parts, 0, 0,
	    &b), WK_ERR_ARG);
}

static void
test_names(void **state)
{
	uint8_t v = 0;
	uint32_t tag = 0;

	(void)state;
	assert_int_equal(wk_piv_alg_from_name("eccp256", &v), WK_OK);
	assert_int_equal(v, WK_PIV_ALG_ECCP256);
	assert_int_equal(wk_piv_alg_from_name("RSA2048", &v), WK_OK);
	assert_int_equal(v, WK_PIV_ALG_RSA2048);
	assert_int_equal(wk_piv_alg_from_name("rsa2047", &v), WK_ERR_ARG);
	assert_int_equal(wk_piv_alg_from_name("", &v), WK_ERR_ARG);
	assert_string_equal(wk_piv_alg_name(WK_PIV_ALG_X25519), "x25519");
	assert_string_equal(wk_piv_alg_name(0x42), "unknown");
	assert_int_equal(wk_piv_alg_bits(WK_PIV_ALG_RSA3072), 3072);
	assert_int_equal(wk_piv_alg_bytes(WK_PIV_ALG_ECCP384), 48);
	assert_int_equal(wk_piv_alg_bytes(WK_PIV_ALG_AES256), 0);
	assert_int_equal(wk_piv_mgmt_key_len(WK_PIV_ALG_AES256), 32);
	assert_int_equal(wk_piv_mgmt_key_len(WK_PIV_ALG_RSA2048), 0);

	assert_int_equal(wk_piv_slot_from_name("9a", &v), WK_OK);
	assert_int_equal(v, 0x9A);
	assert_int_equal(wk_piv_slot_from_name("9E", &v), WK_OK);
	assert_int_equal(wk_piv_slot_from_name("95", &v), WK_OK);
	assert_int_equal(wk_piv_slot_from_name("96", &v), WK_ERR_ARG);
	assert_int_equal(wk_piv_slot_from_name("9b", &v), WK_ERR_ARG);
	assert_int_equal(wk_piv_slot_from_name("9a ", &v), WK_ERR_ARG);
	assert_int_equal(wk_piv_slot_from_name("x9", &v), WK_ERR_ARG);
	assert_int_equal(wk_piv_slot_from_name("-1", &v), WK_ERR_ARG);

	assert_int_equal(wk_piv_cert_object(0x9A, &tag), WK_OK);
	assert_int_equal(tag, 0x5FC105);
	assert_int_equal(wk_piv_cert_object(0x9E, &tag), WK_OK);
	assert_int_equal(tag, 0x5FC101);
	assert_int_equal(wk_piv_cert_object(0x95, &tag), WK_OK);
	assert_int_equal(tag, 0x5FC120);
	assert_int_equal(wk_piv_cert_object(0xF9, &tag), WK_OK);
	assert_int_equal(tag, 0x5FFF01);
	assert_int_equal(wk_piv_cert_object(0x9B, &tag), WK_ERR_ARG);
}

static void
test_pin_pad(void **state)
{
	uint8_t out[8];

	(void)state;
	assert_int_equal(wk_piv_pad_pin((const uint8_t *)"123456", 6, out),
	    WK_OK);
	assert_memory_equal(out, "123456\xFF\xFF", 8);
	assert_int_equal(wk_piv_pad_pin((const uint8_t *)"123456789", 9, out),
	    WK_ERR_ARG);
	assert_int_equal(wk_piv_pad_pin((const uint8_t *)"", 0, out),
	    WK_ERR_ARG);
}

static void
test_ecdsa_raw(void **state)
{
	/* SEQUENCE { INTEGER 1, INTEGER 0x80 (needs its 00) } */
	static const uint8_t der[] = { 0x30, 0x07, 0x02, 0x01, 0x01, 0x02,
		0x02, 0x00, 0x80 };
	static const uint8_t trail[] = { 0x30, 0x06, 0x02, 0x01, 0x01, 0x02,
		0x01, 0x01, 0x00 };
	static const uint8_t bad[][12] = {
		{ 0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01 },
		{ 0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01 },
		{ 0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01 },
		{ 0x30, 0x08, 0x02, 0x03, 0x01, 0x02, 0x03, 0x02, 0x01, 0x01 },
		{ 0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01,
		  0x01 },
		{ 0x30, 0x06, 0x04, 0x01, 0x01, 0x02, 0x01, 0x01 },
		{ 0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01 },
		{ 0x30, 0x03, 0x02, 0x01, 0x01 },
	};
	static const uint8_t fits[] = { 0x30, 0x08, 0x02, 0x03, 0x00, 0x80,
		0x01, 0x02, 0x01, 0x05 };
	uint8_t raw[64];

	(void)state;
	assert_int_equal(wk_piv_ecdsa_der_to_raw(der, sizeof(der), 32, raw),
	    WK_OK);
	assert_int_equal(raw[31], 0x01);
	assert_int_equal(raw[0], 0x00);
	assert_int_equal(raw[63], 0x80);
	assert_int_equal(wk_piv_ecdsa_der_to_raw(trail, sizeof(trail), 32,
	    raw), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_piv_ecdsa_der_to_raw(der, sizeof(der) - 1, 32,
	    raw), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_piv_ecdsa_der_to_raw(der, sizeof(der), 0, raw),
	    WK_ERR_ARG);
	/* DER only: no negative INTEGER, no padding it does not need, none
	 * empty or longer than the field, nothing after s, INTEGER tags */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(wk_piv_ecdsa_der_to_raw(bad[i], bad[i][1] + 2u,
		    2, raw), WK_ERR_CARD_MALFORMED);
	/* the longest that fits: 2-byte field, 00 kept out */
	assert_int_equal(wk_piv_ecdsa_der_to_raw(fits, sizeof(fits), 2, raw),
	    WK_OK);
	assert_memory_equal(raw, "\x80\x01\x00\x05", 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_ok),
		cmocka_unit_test(test_generate_malformed),
		cmocka_unit_test(test_metadata_pin),
		cmocka_unit_test(test_metadata_key),
		cmocka_unit_test(test_metadata_malformed),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_import_encoding),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_pin_pad),
		cmocka_unit_test(test_ecdsa_raw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
