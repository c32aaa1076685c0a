/* common/wk_apdu.c: every length form, truncations, Lc/Le mismatches */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wk_apdu.h"
#include "wk_hex.h"

typedef struct parse_case {
	const char *hex;
	int rc;
	uint8_t iso_case;
	bool extended;
	size_t lc;
	bool has_le;
	size_t le;
} parse_case;

static const parse_case parse_cases[] = {
	/* case 1 */
	{ "00 A4 04 00", WK_APDU_OK, 1, false, 0, false, 0 },
	/* case 2 short: Le 00 means 256 */
	{ "00 CA 00 01 08", WK_APDU_OK, 2, false, 0, true, 8 },
	{ "00 CA 00 01 00", WK_APDU_OK, 2, false, 0, true, 256 },
	/* case 2 extended: 00 00 00 means 65536 */
	{ "00 CA 00 01 00 01 00", WK_APDU_OK, 2, true, 0, true, 256 },
	{ "00 CA 00 01 00 00 00", WK_APDU_OK, 2, true, 0, true, 65536 },
	{ "00 CA 00 01 00 FF FF", WK_APDU_OK, 2, true, 0, true, 65535 },
	/* case 3 short */
	{ "00 A4 04 00 02 3F 00", WK_APDU_OK, 3, false, 2, false, 0 },
	/* case 4 short */
	{ "00 A4 04 00 02 3F 00 00", WK_APDU_OK, 4, false, 2, true, 256 },
	{ "00 A4 04 00 01 3F 10", WK_APDU_OK, 4, false, 1, true, 16 },
	/* case 3 extended */
	{ "00 EE 00 00 00 00 02 01 02", WK_APDU_OK, 3, true, 2, false, 0 },
	/* case 4 extended */
	{ "00 EE 00 00 00 00 02 01 02 00 00", WK_APDU_OK, 4, true, 2, true, 65536 },
	{ "00 EE 00 00 00 00 01 01 01 00", WK_APDU_OK, 4, true, 1, true, 256 },
	/* too short */
	{ "", WK_APDU_TOO_SHORT, 0, false, 0, false, 0 },
	{ "00", WK_APDU_TOO_SHORT, 0, false, 0, false, 0 },
	{ "00 A4 04", WK_APDU_TOO_SHORT, 0, false, 0, false, 0 },
	/* Lc larger than the data */
	{ "00 A4 04 00 03 3F 00", WK_APDU_BAD_LENGTH, 0, false, 0, false, 0 },
	/* two bytes more than Lc: no short form fits */
	{ "00 A4 04 00 01 3F 00 00", WK_APDU_BAD_LENGTH, 0, false, 0, false, 0 },
	/* 00 xx: an extended header cut short */
	{ "00 CA 00 01 00 01", WK_APDU_BAD_LENGTH, 0, false, 0, false, 0 },
	/* extended Lc 0 is not a length */
	{ "00 EE 00 00 00 00 00 01", WK_APDU_BAD_LENGTH, 0, false, 0, false, 0 },
	/* extended Lc and the data disagree, one Le byte only */
	{ "00 EE 00 00 00 00 03 01 02", WK_APDU_BAD_LENGTH, 0, false, 0, false, 0 },
	{ "00 EE 00 00 00 00 02 01 02 00", WK_APDU_BAD_LENGTH, 0, false, 0, false, 0 },
	{ "00 EE 00 00 00 00 02 01 02 00 00 00", WK_APDU_BAD_LENGTH, 0, false, 0, false, 0 },
};

static void
test_parse_table(void **unused)
{
	uint8_t buf[64];
	wk_apdu a;

	(void)unused;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const parse_case *c = &parse_cases[i];
		long n = wk_hex_decode(c->hex, buf, sizeof(buf));

		assert_true(n >= 0);
		print_message("%s\n", c->hex);
		assert_int_equal(wk_apdu_parse(&a, buf, (size_t)n), c->rc);
		if (c->rc != WK_APDU_OK)
			continue;
		assert_int_equal(a.iso_case, c->iso_case);
		assert_int_equal(a.extended, c->extended);
		assert_int_equal(a.lc, c->lc);
		assert_int_equal(a.has_le, c->has_le);
		assert_int_equal(a.le, c->le);
		if (a.lc > 0)
			assert_ptr_equal(a.data, buf + (a.extended ? 7 : 5));
		else
			assert_null(a.data);
	}
	assert_int_equal(wk_apdu_parse(&a, NULL, 4), WK_APDU_TOO_SHORT);
}

static void
test_big(void **unused)
{
	static uint8_t buf[7 + 65535 + 2];
	wk_apdu a;

	(void)unused;
	memset(buf, 0x5A, sizeof(buf));
	memcpy(buf, "\x00\xEE\x00\x00\x00\xFF\xFF", 7);
	assert_int_equal(wk_apdu_parse(&a, buf, 7 + 65535), WK_APDU_OK);
	assert_int_equal(a.lc, 65535);
	assert_int_equal(a.iso_case, 3);
	buf[7 + 65535] = 0;
	buf[7 + 65536] = 0;
	assert_int_equal(wk_apdu_parse(&a, buf, sizeof(buf)), WK_APDU_OK);
	assert_int_equal(a.le, 65536);
	/* a short Lc of 255 */
	memcpy(buf, "\x00\xEE\x00\x00\xFF", 5);
	assert_int_equal(wk_apdu_parse(&a, buf, 5 + 255), WK_APDU_OK);
	assert_int_equal(a.lc, 255);
	assert_false(a.extended);
}

static void
test_encode_round_trip(void **unused)
{
	uint8_t in[64], out[80];
	wk_apdu a, b;
	wk_buf w;

	(void)unused;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		long n = wk_hex_decode(parse_cases[i].hex, in, sizeof(in));

		if (parse_cases[i].rc != WK_APDU_OK)
			continue;
		assert_int_equal(wk_apdu_parse(&a, in, (size_t)n), WK_APDU_OK);
		wk_buf_init_fixed(&w, out, sizeof(out));
		assert_int_equal(wk_apdu_encode(&a, a.extended, &w), WK_APDU_OK);
		assert_int_equal(wk_apdu_parse(&b, out, w.len), WK_APDU_OK);
		assert_int_equal(b.lc, a.lc);
		assert_int_equal(b.le, a.le);
		assert_int_equal(b.has_le, a.has_le);
		assert_int_equal(b.iso_case, a.iso_case);
		/* in the same form, the same bytes */
		assert_int_equal(w.len, (size_t)n);
		assert_memory_equal(out, in, w.len);
	}
}

static void
test_encode_errors(void **unused)
{
	uint8_t out[8];
	wk_apdu a;
	wk_buf w;

	(void)unused;
	memset(&a, 0, sizeof(a));
	a.lc = 3;		/* data NULL */
	wk_buf_init_fixed(&w, out, sizeof(out));
	assert_int_equal(wk_apdu_encode(&a, false, &w), WK_APDU_BAD_LENGTH);
	a.lc = 0;
	a.has_le = true;
	a.le = 0;
	assert_int_equal(wk_apdu_encode(&a, false, &w), WK_APDU_BAD_LENGTH);
	a.le = 65537;
	assert_int_equal(wk_apdu_encode(&a, false, &w), WK_APDU_BAD_LENGTH);
	/* does not fit the buffer */
	a.le = 256;
	a.data = out;
	a.lc = 6;
	wk_buf_init_fixed(&w, out + 2, 6);
	assert_int_equal(wk_apdu_encode(&a, false, &w), WK_APDU_BAD_LENGTH);
	/* extended with Le and no data: 00 Le1 Le2 */
	memset(&a, 0, sizeof(a));
	a.has_le = true;
	a.le = 65536;
	wk_buf_init_fixed(&w, out, sizeof(out));
	assert_int_equal(wk_apdu_encode(&a, false, &w), WK_APDU_OK);
	assert_int_equal(w.len, 7);
	assert_memory_equal(out + 4, "\x00\x00\x00", 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_big),
		cmocka_unit_test(test_encode_round_trip),
		cmocka_unit_test(test_encode_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
