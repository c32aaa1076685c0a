/* common/wk_vpcd.c: frames split anywhere, empty frames, the largest frame */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wk_vpcd.h"

static wk_vpcd_reader rd;

/* feeds stream in pieces of step bytes; counts frames and checks payloads */
static int
feed_all(const uint8_t *s, size_t n, size_t step, const uint8_t *const *want,
    const size_t *want_len, size_t n_want)
{
	size_t at = 0, used, frames = 0;
	int r;

	wk_vpcd_reader_reset(&rd);
	while (at < n) {
		size_t piece = n - at < step ? n - at : step, off = 0;

		while (off < piece) {
			r = wk_vpcd_feed(&rd, s + at + off, piece - off, &used);
			assert_true(used > 0 || piece - off == 0);
			off += used;
			if (r == WK_VPCD_EMPTY)
				return -1;
			if (r == WK_VPCD_FRAME) {
				assert_true(frames < n_want);
				assert_int_equal(rd.want, want_len[frames]);
				assert_memory_equal(rd.payload, want[frames],
				    rd.want);
				frames++;
			}
		}
		at += piece;
	}
	return (int)frames;
}

static void
test_split_anywhere(void **unused)
{
	static const uint8_t stream[] = {
		0x00, 0x01, 0x04,			/* get ATR */
		0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00,	/* an APDU */
		0x00, 0x01, 0x00,			/* power off */
	};
	static const uint8_t f1[] = { 0x04 }, f3[] = { 0x00 };
	static const uint8_t f2[] = { 0x00, 0xA4, 0x04, 0x00, 0x00 };
	const uint8_t *want[] = { f1, f2, f3 };
	const size_t want_len[] = { 1, 5, 1 };

	(void)unused;
	for (size_t step = 1; step <= sizeof(stream); step++)
		assert_int_equal(feed_all(stream, sizeof(stream), step, want,
		    want_len, 3), 3);
}

static void
test_empty_frame(void **unused)
{
	static const uint8_t s[] = { 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x01 };
	size_t used;

	(void)unused;
	wk_vpcd_reader_reset(&rd);
	assert_int_equal(wk_vpcd_feed(&rd, s, sizeof(s), &used), WK_VPCD_FRAME);
	assert_int_equal(used, 3);
	assert_int_equal(wk_vpcd_feed(&rd, s + 3, sizeof(s) - 3, &used),
	    WK_VPCD_EMPTY);
	assert_int_equal(used, 2);
	/* after an empty frame the reader starts over */
	assert_int_equal(wk_vpcd_feed(&rd, s + 5, 2, &used), WK_VPCD_NEED_MORE);
	assert_int_equal(used, 2);
	assert_int_equal(wk_vpcd_feed(&rd, NULL, 0, &used), WK_VPCD_NEED_MORE);
	assert_int_equal(used, 0);
}

static void
test_largest(void **unused)
{
	uint8_t *s = malloc(2 + WK_VPCD_MAX_PAYLOAD), *out;
	size_t used, outlen;

	(void)unused;
	assert_non_null(s);
	out = malloc(2 + WK_VPCD_MAX_PAYLOAD);
	assert_non_null(out);
	for (size_t i = 0; i < WK_VPCD_MAX_PAYLOAD; i++)
		s[i] = (uint8_t)(i * 13);
	assert_int_equal(wk_vpcd_frame(s, WK_VPCD_MAX_PAYLOAD, out,
	    2 + WK_VPCD_MAX_PAYLOAD, &outlen), 0);
	assert_int_equal(outlen, 2 + WK_VPCD_MAX_PAYLOAD);
	assert_int_equal(out[0], 0xFF);
	assert_int_equal(out[1], 0xFF);
	wk_vpcd_reader_reset(&rd);
	assert_int_equal(wk_vpcd_feed(&rd, out, outlen - 1, &used),
	    WK_VPCD_NEED_MORE);
	assert_int_equal(wk_vpcd_feed(&rd, out + outlen - 1, 1, &used),
	    WK_VPCD_FRAME);
	assert_memory_equal(rd.payload, s, WK_VPCD_MAX_PAYLOAD);
	/* frame refuses: empty, too long, no room */
	assert_int_equal(wk_vpcd_frame(s, 0, out, 16, &outlen), -1);
	assert_int_equal(wk_vpcd_frame(s, WK_VPCD_MAX_PAYLOAD + 1, out,
	    SIZE_MAX, &outlen), -1);
	assert_int_equal(wk_vpcd_frame(s, 15, out, 16, &outlen), -1);
	assert_int_equal(wk_vpcd_frame(s, 14, out, 16, &outlen), 0);
	assert_int_equal(wk_vpcd_frame(s, 1, out, 1, &outlen), -1);
	free(out);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_anywhere),
		cmocka_unit_test(test_empty_frame),
		cmocka_unit_test(test_largest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
