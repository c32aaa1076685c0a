/*
 * common/wk_ocra.c against RFC 6287's published test vectors (appendix C:
 * one-way, mutual and signature), computed here, and the payment suite of
 * common/wk_payment.c against a DataInput built by hand
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "wk_hex.h"
#include "wk_ocra.h"
#include "wk_payment.h"

/* RFC 6287 appendix C: the keys are these ASCII digits */
static const char key20[] = "12345678901234567890";
static const char key32[] = "12345678901234567890123456789012";
static const char key64[] =
    "1234567890123456789012345678901234567890123456789012345678901234";

static const char *
key_of(size_t n)
{
	return n == 20 ? key20 : n == 32 ? key32 : key64;
}

typedef struct vec {
	const char *suite;
	size_t key;
	uint64_t counter;
	const char *q;
	bool pin;		/* PIN "1234", SHA-1 hashed */
	uint64_t t;
	const char *want;
} vec;

/* C.1 one-way, C.2 mutual (server and client), C.3 signature */
static const vec vectors[] = {
	{ "OCRA-1:HOTP-SHA1-6:QN08", 20, 0, "00000000", false, 0, "237653" },
	{ "OCRA-1:HOTP-SHA1-6:QN08", 20, 0, "11111111", false, 0, "243178" },
	{ "OCRA-1:HOTP-SHA1-6:QN08", 20, 0, "22222222", false, 0, "653583" },
	{ "OCRA-1:HOTP-SHA1-6:QN08", 20, 0, "33333333", false, 0, "740991" },
	{ "OCRA-1:HOTP-SHA1-6:QN08", 20, 0, "44444444", false, 0, "608993" },
	{ "OCRA-1:HOTP-SHA1-6:QN08", 20, 0, "55555555", false, 0, "388898" },
	{ "OCRA-1:HOTP-SHA1-6:QN08", 20, 0, "66666666", false, 0, "816933" },
	{ "OCRA-1:HOTP-SHA1-6:QN08", 20, 0, "77777777", false, 0, "224598" },
	{ "OCRA-1:HOTP-SHA1-6:QN08", 20, 0, "88888888", false, 0, "750600" },
	{ "OCRA-1:HOTP-SHA1-6:QN08", 20, 0, "99999999", false, 0, "294470" },
	{ "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", 32, 0, "12345678", true, 0, "65347737" },
	{ "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", 32, 1, "12345678", true, 0, "86775851" },
	{ "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", 32, 2, "12345678", true, 0, "78192410" },
	{ "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", 32, 3, "12345678", true, 0, "71565254" },
	{ "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", 32, 4, "12345678", true, 0, "10104329" },
	{ "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", 32, 5, "12345678", true, 0, "65983500" },
	{ "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", 32, 6, "12345678", true, 0, "70069104" },
	{ "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", 32, 7, "12345678", true, 0, "91771096" },
	{ "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", 32, 8, "12345678", true, 0, "75011558" },
	{ "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", 32, 9, "12345678", true, 0, "08522129" },
	{ "OCRA-1:HOTP-SHA256-8:QN08-PSHA1", 32, 0, "00000000", true, 0, "83238735" },
	{ "OCRA-1:HOTP-SHA256-8:QN08-PSHA1", 32, 0, "11111111", true, 0, "01501458" },
	{ "OCRA-1:HOTP-SHA256-8:QN08-PSHA1", 32, 0, "22222222", true, 0, "17957585" },
	{ "OCRA-1:HOTP-SHA256-8:QN08-PSHA1", 32, 0, "33333333", true, 0, "86776967" },
	{ "OCRA-1:HOTP-SHA256-8:QN08-PSHA1", 32, 0, "44444444", true, 0, "86807031" },
	{ "OCRA-1:HOTP-SHA512-8:C-QN08", 64, 0, "00000000", false, 0, "07016083" },
	{ "OCRA-1:HOTP-SHA512-8:C-QN08", 64, 1, "11111111", false, 0, "63947962" },
	{ "OCRA-1:HOTP-SHA512-8:C-QN08", 64, 2, "22222222", false, 0, "70123924" },
	{ "OCRA-1:HOTP-SHA512-8:C-QN08", 64, 3, "33333333", false, 0, "25341727" },
	{ "OCRA-1:HOTP-SHA512-8:C-QN08", 64, 4, "44444444", false, 0, "33203315" },
	{ "OCRA-1:HOTP-SHA512-8:C-QN08", 64, 5, "55555555", false, 0, "34205738" },
	{ "OCRA-1:HOTP-SHA512-8:C-QN08", 64, 6, "66666666", false, 0, "44343969" },
	{ "OCRA-1:HOTP-SHA512-8:C-QN08", 64, 7, "77777777", false, 0, "51946085" },
	{ "OCRA-1:HOTP-SHA512-8:C-QN08", 64, 8, "88888888", false, 0, "20403879" },
	{ "OCRA-1:HOTP-SHA512-8:C-QN08", 64, 9, "99999999", false, 0, "31409299" },
	{ "OCRA-1:HOTP-SHA512-8:QN08-T1M", 64, 0, "00000000", false, 0x132d0b6, "95209754" },
	{ "OCRA-1:HOTP-SHA512-8:QN08-T1M", 64, 0, "11111111", false, 0x132d0b6, "55907591" },
	{ "OCRA-1:HOTP-SHA512-8:QN08-T1M", 64, 0, "22222222", false, 0x132d0b6, "22048402" },
	{ "OCRA-1:HOTP-SHA512-8:QN08-T1M", 64, 0, "33333333", false, 0x132d0b6, "24218844" },
	{ "OCRA-1:HOTP-SHA512-8:QN08-T1M", 64, 0, "44444444", false, 0x132d0b6, "36209546" },
	/* C.2: server computation, then client computation */
	{ "OCRA-1:HOTP-SHA256-8:QA08", 32, 0, "CLI22220SRV11110", false, 0, "28247970" },
	{ "OCRA-1:HOTP-SHA256-8:QA08", 32, 0, "CLI22221SRV11111", false, 0, "01984843" },
	{ "OCRA-1:HOTP-SHA256-8:QA08", 32, 0, "CLI22222SRV11112", false, 0, "65387857" },
	/* C.3 */
	{ "OCRA-1:HOTP-SHA256-8:QA08", 32, 0, "SIG10000", false, 0, "53095496" },
	{ "OCRA-1:HOTP-SHA256-8:QA08", 32, 0, "SIG11000", false, 0, "04110475" },
	{ "OCRA-1:HOTP-SHA256-8:QA08", 32, 0, "SIG12000", false, 0, "31331128" },
	{ "OCRA-1:HOTP-SHA256-8:QA08", 32, 0, "SIG13000", false, 0, "76028668" },
	{ "OCRA-1:HOTP-SHA256-8:QA08", 32, 0, "SIG14000", false, 0, "46554205" },
	{ "OCRA-1:HOTP-SHA512-8:QA10-T1M", 64, 0, "SIG1000000", false, 0x132d0b6, "77537423" },
	{ "OCRA-1:HOTP-SHA512-8:QA10-T1M", 64, 0, "SIG1100000", false, 0x132d0b6, "31970405" },
	{ "OCRA-1:HOTP-SHA512-8:QA10-T1M", 64, 0, "SIG1200000", false, 0x132d0b6, "10235557" },
	{ "OCRA-1:HOTP-SHA512-8:QA10-T1M", 64, 0, "SIG1300000", false, 0x132d0b6, "95213541" },
	{ "OCRA-1:HOTP-SHA512-8:QA10-T1M", 64, 0, "SIG1400000", false, 0x132d0b6, "65360607" },
};

static void
test_rfc6287_vectors(void **state)
{
	uint8_t pin[SHA_DIGEST_LENGTH];

	(void)state;
	SHA1((const unsigned char *)"1234", 4, pin);
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const vec *v = &vectors[i];
		wk_ocra_suite s;
		wk_ocra_input in = { 0 };
		char out[16];

		/* the mutual vectors' questions are 16 characters: QA16 */
		if (strlen(v->q) == 16) {
			assert_int_equal(wk_ocra_suite_parse(
			    "OCRA-1:HOTP-SHA256-8:QA16", &s), WK_OCRA_OK);
			/* RFC 6287 C.2 names QA08, the computation takes all 16 */
			snprintf(s.text, sizeof(s.text), "%s", v->suite);
		} else {
			assert_int_equal(wk_ocra_suite_parse(v->suite, &s), WK_OCRA_OK);
		}
		in.counter = v->counter;
		in.question = v->q;
		in.pin_hash = v->pin ? pin : NULL;
		in.timestamp = v->t;
		assert_int_equal(wk_ocra_compute(&s, (const uint8_t *)key_of(v->key),
		    v->key, &in, out, sizeof(out)), WK_OCRA_OK);
		if (strcmp(out, v->want) != 0)
			fail_msg("%s %s: %s, want %s", v->suite, v->q, out, v->want);
	}
}

static void
test_suites(void **state)
{
	static const char *const good[] = {
		"OCRA-1:HOTP-SHA1-6:QH10-S128",
		"OCRA-1:HOTP-SHA512-8:C-QN08-PSHA1",
		"OCRA-1:HOTP-SHA256-6:QA10-T1M",
		"OCRA-1:HOTP-SHA256-8:QH64-T1M",
		"OCRA-1:HOTP-SHA1-4:QH08-S512",
		"OCRA-1:HOTP-SHA256-10:C-QA64-PSHA512-S064-T48H",
	};
	static const char *const bad[] = {
		"", "algo:crypto", "OCRA-2:HOTP-SHA1-6:QH10-S128",
		"OCRA-1:TOTP-SHA1-6:QH10", "OCRA-1:HOTP-SHA3-6:QH10",
		"OCRA-1:HOTP-SHA1-3:QH10", "OCRA-1:HOTP-SHA1-0:QH10",
		"OCRA-1:HOTP-SHA1-11:QH10", "OCRA-1:HOTPSHA13:QH10",
		"OCRA-1:HOTP-SHA512-8:X-QN08-PSHA1", "OCRA-1:HOTP-SHA512-8:CQX04",
		"OCRA-1:HOTP-SHA512-8:C-QX04", "OCRA-1:HOTP-SHA512-8:C-QN03",
		"OCRA-1:HOTP-SHA512-8:C-QN65", "OCRA-1:HOTP-SHA512-8:C-QNXX",
		"OCRA-1:HOTP-SHA512-8:C-QN04-XSHA1", "OCRA-1:HOTP-SHA512-8:C-QN04-PSHA3",
		"OCRA-1:HOTP-SHA512-8:C-QN04-S100", "OCRA-1:HOTP-SHA512-8:C-QN04-T10X",
		"OCRA-1:HOTP-SHA512-8:C-QN04-T100M", "OCRA-1:HOTP-SHA512-8:QN08-T1M-",
		"OCRA-1:HOTP-SHA512-8:QN8", "OCRA-1:HOTP-SHA512-8:QN08-S064-PSHA1",
		"OCRA-1:HOTP-SHA256-8:QH64-T1M " "and far too long for any suite....",
	};
	wk_ocra_suite s;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (wk_ocra_suite_parse(good[i], &s) != WK_OCRA_OK)
			fail_msg("refused %s", good[i]);
	assert_int_equal(wk_ocra_suite_parse(good[5], &s), WK_OCRA_OK);
	assert_int_equal(s.digits, 10);
	assert_true(s.counter);
	assert_int_equal(s.q_format, 'A');
	assert_int_equal(s.q_max, 64);
	assert_int_equal(s.pin_hash, 512);
	assert_int_equal(s.session_len, 64);
	assert_true(s.time_step == 48 * 3600);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (wk_ocra_suite_parse(bad[i], &s) != WK_OCRA_BAD_SUITE)
			fail_msg("took %s", bad[i]);
}

static void
test_bad_questions(void **state)
{
	wk_ocra_suite s;
	wk_ocra_input in = { 0 };
	char out[16];

	(void)state;
	assert_int_equal(wk_ocra_suite_parse("OCRA-1:HOTP-SHA1-6:QN08", &s),
	    WK_OCRA_OK);
	in.question = "123456789";	/* one digit too many */
	assert_int_equal(wk_ocra_compute(&s, (const uint8_t *)key20, 20, &in, out,
	    sizeof(out)), WK_OCRA_BAD_INPUT);
	in.question = "1234a678";
	assert_int_equal(wk_ocra_compute(&s, (const uint8_t *)key20, 20, &in, out,
	    sizeof(out)), WK_OCRA_BAD_INPUT);
	in.question = "";
	assert_int_equal(wk_ocra_compute(&s, (const uint8_t *)key20, 20, &in, out,
	    sizeof(out)), WK_OCRA_BAD_INPUT);
	in.question = "12345678";
	assert_int_equal(wk_ocra_compute(&s, (const uint8_t *)key20, 20, &in, out,
	    6), WK_OCRA_BAD_INPUT);
	assert_int_equal(wk_ocra_suite_parse("OCRA-1:HOTP-SHA1-6:QH08-PSHA1", &s),
	    WK_OCRA_OK);
	in.question = "0g";
	assert_int_equal(wk_ocra_compute(&s, (const uint8_t *)key20, 20, &in, out,
	    sizeof(out)), WK_OCRA_BAD_INPUT);
	in.question = "0f";		/* no PIN hash given */
	assert_int_equal(wk_ocra_compute(&s, (const uint8_t *)key20, 20, &in, out,
	    sizeof(out)), WK_OCRA_BAD_INPUT);
}

/* the payment suite, computed here from its definition (docs/payments.md) */
static void
test_payment_suite(void **state)
{
	static const char suite[] = WK_PAYMENT_OCRA_SUITE;
	uint8_t key[32], q[32], data[sizeof(suite) + 128 + 8], mac[32];
	unsigned int mlen = 0;
	char got[9], want[9];
	uint32_t bin;
	uint64_t t = 29000000;
	wk_msg m;
	size_t n = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	memcpy(key, key32, 32);
	memset(m.card_id, 0x11, 8);
	memset(m.load_id, 0x22, 16);
	strcpy(m.pan, "6222000000000001");
	memcpy(m.terminal_id, "\x00\x00\x00\x00\x00\x07", 6);
	m.amount = 12345;
	strcpy(m.currency, "CNY");
	m.expiry = 1800000000;
	strcpy(m.payee_name, "Shop");
	strcpy(m.order_id, "A-1");
	wk_payment_order_digest(&m, m.digest);
	assert_int_equal(wk_payment_ocra(key, &m, t, got), WK_OCRA_OK);
	assert_int_equal(strlen(got), 8);
	/* DataInput = suite | 00 | Q (the 32 bytes, then zeros) | T */
	wk_payment_question(&m, q);
	memcpy(data, suite, sizeof(suite));	/* with its NUL: the 00 */
	n = sizeof(suite);
	memset(data + n, 0, 128);
	memcpy(data + n, q, 32);
	n += 128;
	for (int i = 7; i >= 0; i--)
		data[n + (size_t)(7 - i)] = (uint8_t)(t >> (8 * i));
	n += 8;
	assert_non_null(HMAC(EVP_sha256(), key, 32, data, n, mac, &mlen));
	bin = ((uint32_t)(mac[mac[31] & 15] & 0x7F) << 24) |
	    ((uint32_t)mac[(mac[31] & 15) + 1] << 16) |
	    ((uint32_t)mac[(mac[31] & 15) + 2] << 8) | mac[(mac[31] & 15) + 3];
	snprintf(want, sizeof(want), "%08u", bin % 100000000u);
	assert_string_equal(got, want);
	/* every field counts */
	m.amount++;
	assert_int_equal(wk_payment_ocra(key, &m, t, want), WK_OCRA_OK);
	assert_string_not_equal(got, want);
	m.amount--;
	assert_int_equal(wk_payment_ocra(key, &m, t + 1, want), WK_OCRA_OK);
	assert_string_not_equal(got, want);
	m.terminal_id[5] ^= 1;
	assert_int_equal(wk_payment_ocra(key, &m, t, want), WK_OCRA_OK);
	assert_string_not_equal(got, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6287_vectors),
		cmocka_unit_test(test_suites),
		cmocka_unit_test(test_bad_questions),
		cmocka_unit_test(test_payment_suite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
