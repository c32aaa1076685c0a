/* common/wk_tlv.c: strict BER-TLV, table-driven */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wk_hex.h"
#include "wk_tlv.h"

typedef struct read_case {
	const char *hex;
	int rc;
	uint32_t tag;
	size_t len;
	bool constructed;
	size_t rest;		/* bytes left after the TLV */
} read_case;

static const read_case read_cases[] = {
	{ "80 00", WK_TLV_OK, 0x80, 0, false, 0 },
	{ "80 01 AA", WK_TLV_OK, 0x80, 1, false, 0 },
	{ "7C 02 01 02 FF", WK_TLV_OK, 0x7C, 2, true, 1 },
	/* two- and three-byte tags */
	{ "5F 50 01 41", WK_TLV_OK, 0x5F50, 1, false, 0 },
	{ "9F 08 01 01", WK_TLV_OK, 0x9F08, 1, false, 0 },
	{ "5F C1 02 00", WK_TLV_OK, 0x5FC102, 0, false, 0 },
	{ "7F 49 00", WK_TLV_OK, 0x7F49, 0, true, 0 },
	/* four-byte tag: refused */
	{ "5F C1 82 01 00", WK_TLV_BAD_TAG, 0, 0, false, 0 },
	/* padding bytes are not tags */
	{ "00 01 00", WK_TLV_BAD_TAG, 0, 0, false, 0 },
	{ "FF 01 00", WK_TLV_BAD_TAG, 0, 0, false, 0 },
	/* truncated tag, length, value */
	{ "", WK_TLV_TRUNCATED, 0, 0, false, 0 },
	{ "5F", WK_TLV_TRUNCATED, 0, 0, false, 0 },
	{ "5F C1", WK_TLV_TRUNCATED, 0, 0, false, 0 },
	{ "80", WK_TLV_TRUNCATED, 0, 0, false, 0 },
	{ "80 02 AA", WK_TLV_TRUNCATED, 0, 0, false, 0 },
	{ "80 81", WK_TLV_TRUNCATED, 0, 0, false, 0 },
	{ "80 82 01", WK_TLV_TRUNCATED, 0, 0, false, 0 },
	{ "80 81 80", WK_TLV_TRUNCATED, 0, 0, false, 0 },
	/* length forms: 81 from 0x80, 82 from 0x100, nothing longer */
	{ "80 81 7F", WK_TLV_BAD_LENGTH, 0, 0, false, 0 },
	{ "80 82 00 FF", WK_TLV_BAD_LENGTH, 0, 0, false, 0 },
	{ "80 83 00 00 01 AA", WK_TLV_BAD_LENGTH, 0, 0, false, 0 },
	{ "80 80", WK_TLV_BAD_LENGTH, 0, 0, false, 0 },
	{ "80 84 00 00 00 01", WK_TLV_BAD_LENGTH, 0, 0, false, 0 },
};

static void
test_read_table(void **unused)
{
	uint8_t buf[32];
	wk_cur c;
	wk_tlv t;

	(void)unused;
	for (size_t i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]); i++) {
		const read_case *rc = &read_cases[i];
		long n = wk_hex_decode(rc->hex, buf, sizeof(buf));

		assert_true(n >= 0);
		print_message("%s\n", rc->hex);
		wk_cur_init(&c, buf, (size_t)n);
		assert_int_equal(wk_tlv_read(&c, &t), rc->rc);
		if (rc->rc != WK_TLV_OK) {
			/* the cursor is untouched on error */
			assert_ptr_equal(c.p, buf);
			assert_int_equal(c.len, (size_t)n);
			continue;
		}
		assert_int_equal(t.tag, rc->tag);
		assert_int_equal(t.len, rc->len);
		assert_int_equal(t.constructed, rc->constructed);
		assert_int_equal(c.len, rc->rest);
	}
}

static void
test_long_lengths(void **unused)
{
	static uint8_t buf[4 + 0x10000];
	wk_cur c;
	wk_tlv t;

	(void)unused;
	memset(buf, 0x33, sizeof(buf));
	memcpy(buf, "\x53\x81\x80", 3);
	wk_cur_init(&c, buf, 3 + 0x80);
	assert_int_equal(wk_tlv_read(&c, &t), WK_TLV_OK);
	assert_int_equal(t.len, 0x80);
	memcpy(buf, "\x53\x82\xFF\xFF", 4);
	wk_cur_init(&c, buf, 4 + 0xFFFF);
	assert_int_equal(wk_tlv_read(&c, &t), WK_TLV_OK);
	assert_int_equal(t.len, 0xFFFF);
	wk_cur_init(&c, buf, 4 + 0xFFFE);
	assert_int_equal(wk_tlv_read(&c, &t), WK_TLV_TRUNCATED);
}

static void
test_find_and_check(void **unused)
{
	uint8_t buf[32];
	wk_tlv t;
	long n;

	(void)unused;
	n = wk_hex_decode("4F 02 01 02 79 01 AA 80 00", buf, sizeof(buf));
	assert_int_equal(wk_tlv_find(buf, (size_t)n, 0x79, &t), WK_TLV_OK);
	assert_int_equal(t.len, 1);
	assert_int_equal(t.value[0], 0xAA);
	assert_int_equal(wk_tlv_find(buf, (size_t)n, 0x80, &t), WK_TLV_OK);
	assert_int_equal(t.len, 0);
	assert_int_equal(wk_tlv_find(buf, (size_t)n, 0x81, &t), WK_TLV_MISSING);
	assert_int_equal(wk_tlv_check(buf, (size_t)n), WK_TLV_OK);
	assert_int_equal(wk_tlv_check(buf, 0), WK_TLV_OK);
	/* duplicates */
	n = wk_hex_decode("80 01 01 81 00 80 01 02", buf, sizeof(buf));
	assert_int_equal(wk_tlv_find(buf, (size_t)n, 0x80, &t), WK_TLV_DUPLICATE);
	assert_int_equal(wk_tlv_find(buf, (size_t)n, 0x81, &t), WK_TLV_OK);
	/* a malformed level fails even past the tag looked for */
	n = wk_hex_decode("80 01 01 81 05 00", buf, sizeof(buf));
	assert_int_equal(wk_tlv_find(buf, (size_t)n, 0x80, &t), WK_TLV_TRUNCATED);
	assert_int_equal(wk_tlv_check(buf, (size_t)n), WK_TLV_TRUNCATED);
	/* parse_one: exactly one TLV of that tag */
	n = wk_hex_decode("53 02 01 02", buf, sizeof(buf));
	assert_int_equal(wk_tlv_parse_one(buf, (size_t)n, 0x53, &t), WK_TLV_OK);
	assert_int_equal(wk_tlv_parse_one(buf, (size_t)n, 0x54, &t),
	    WK_TLV_MISSING);
	assert_int_equal(wk_tlv_parse_one(buf, (size_t)n + 0, 0x53, &t), WK_TLV_OK);
	n = wk_hex_decode("53 02 01 02 00", buf, sizeof(buf));
	assert_int_equal(wk_tlv_parse_one(buf, (size_t)n, 0x53, &t),
	    WK_TLV_BAD_LENGTH);
	assert_int_equal(wk_tlv_parse_one(NULL, 0, 0x53, &t), WK_TLV_TRUNCATED);
}

typedef struct enc_case {
	uint32_t tag;
	size_t len;
	const char *header;
} enc_case;

static const enc_case enc_cases[] = {
	{ 0x80, 0, "80 00" },
	{ 0x80, 0x7F, "80 7F" },
	{ 0x80, 0x80, "80 81 80" },
	{ 0x5F50, 0xFF, "5F 50 81 FF" },
	{ 0x5FC102, 0x100, "5F C1 02 82 01 00" },
	{ 0x7F49, 0xFFFF, "7F 49 82 FF FF" },
};

static void
test_encode(void **unused)
{
	static uint8_t out[8 + 0x10000], value[0x10000];
	uint8_t want[8];
	wk_buf b;
	wk_cur c;
	wk_tlv t;

	(void)unused;
	for (size_t i = 0; i < sizeof(enc_cases) / sizeof(enc_cases[0]); i++) {
		const enc_case *e = &enc_cases[i];
		long n = wk_hex_decode(e->header, want, sizeof(want));

		wk_buf_init_fixed(&b, out, sizeof(out));
		wk_tlv_put(&b, e->tag, value, e->len);
		assert_false(wk_buf_failed(&b));
		assert_int_equal(b.len, (size_t)n + e->len);
		assert_memory_equal(out, want, (size_t)n);
		assert_int_equal(wk_tlv_header_size(e->tag, e->len), (size_t)n);
		wk_cur_init(&c, out, b.len);
		assert_int_equal(wk_tlv_read(&c, &t), WK_TLV_OK);
		assert_int_equal(t.tag, e->tag);
		assert_int_equal(t.len, e->len);
	}
	/* too long, too wide a tag */
	wk_buf_init_fixed(&b, out, sizeof(out));
	wk_tlv_put_len(&b, 0x10000);
	assert_true(wk_buf_failed(&b));
	wk_buf_init_fixed(&b, out, sizeof(out));
	wk_tlv_put_tag(&b, 0x1000000);
	assert_true(wk_buf_failed(&b));
}

static void
test_nested(void **unused)
{
	static uint8_t out[1024];
	uint8_t v[200];
	size_t outer, inner;
	wk_buf b;
	wk_tlv t, u;

	(void)unused;
	memset(v, 0x44, sizeof(v));
	wk_buf_init_fixed(&b, out, sizeof(out));
	outer = wk_tlv_begin(&b, 0x7C);
	inner = wk_tlv_begin(&b, 0x82);
	wk_buf_add(&b, v, sizeof(v));
	wk_tlv_end(&b, inner);
	wk_tlv_put(&b, 0x81, v, 3);
	wk_tlv_end(&b, outer);
	assert_false(wk_buf_failed(&b));
	assert_int_equal(wk_tlv_parse_one(out, b.len, 0x7C, &t), WK_TLV_OK);
	assert_int_equal(t.len, 3 + 200 + 2 + 3);
	assert_int_equal(wk_tlv_find(t.value, t.len, 0x82, &u), WK_TLV_OK);
	assert_int_equal(u.len, 200);
	assert_memory_equal(u.value, v, 200);
	/* a template that grows past 0xFFFF fails the buffer */
	{
		static uint8_t big[0x10010];
		static uint8_t fill[0x10000];
		wk_buf bb;

		wk_buf_init_fixed(&bb, big, sizeof(big));
		outer = wk_tlv_begin(&bb, 0x53);
		wk_buf_add(&bb, fill, sizeof(fill));
		wk_tlv_end(&bb, outer);
		assert_true(wk_buf_failed(&bb));
	}
	/* no room to widen the length */
	wk_buf_init_fixed(&b, out, 2 + 200);
	outer = wk_tlv_begin(&b, 0x53);
	wk_buf_add(&b, v, 200);
	wk_tlv_end(&b, outer);
	assert_true(wk_buf_failed(&b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_table),
		cmocka_unit_test(test_long_lengths),
		cmocka_unit_test(test_find_and_check),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_nested),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
