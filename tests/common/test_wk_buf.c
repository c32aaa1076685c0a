/* common/wk_buf.c: cursors refuse to run past the end, builders fail sticky */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wk_buf.h"

static void
test_cursor(void **unused)
{
	static const uint8_t in[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	const uint8_t *p;
	uint8_t v8, dst[4];
	uint16_t v16;
	uint32_t v32;
	wk_cur c;

	(void)unused;
	wk_cur_init(&c, in, sizeof(in));
	assert_int_equal(wk_cur_u8(&c, &v8), 0);
	assert_int_equal(v8, 1);
	assert_int_equal(wk_cur_be16(&c, &v16), 0);
	assert_int_equal(v16, 0x0203);
	assert_int_equal(wk_cur_be24(&c, &v32), 0);
	assert_int_equal(v32, 0x040506);
	assert_int_equal(wk_cur_be32(&c, &v32), 0);
	assert_int_equal(v32, 0x0708090A);
	assert_int_equal(c.len, 0);
	/* every read at the end fails and leaves the cursor alone */
	assert_int_equal(wk_cur_u8(&c, &v8), -1);
	assert_int_equal(wk_cur_be16(&c, &v16), -1);
	assert_int_equal(wk_cur_take(&c, 1, &p), -1);
	assert_int_equal(wk_cur_take(&c, 0, &p), 0);
	assert_int_equal(c.len, 0);

	wk_cur_init(&c, in, 3);
	assert_int_equal(wk_cur_be32(&c, &v32), -1);
	assert_int_equal(wk_cur_copy(&c, dst, 4), -1);
	assert_int_equal(c.len, 3);
	assert_ptr_equal(c.p, in);
	assert_int_equal(wk_cur_take(&c, SIZE_MAX, &p), -1);
	assert_int_equal(wk_cur_copy(&c, dst, 3), 0);
	assert_memory_equal(dst, in, 3);
	/* a NULL buffer is empty whatever its length */
	wk_cur_init(&c, NULL, 5);
	assert_int_equal(c.len, 0);
	assert_int_equal(wk_cur_u8(&c, &v8), -1);
}

static void
test_fixed(void **unused)
{
	uint8_t s[6];
	wk_buf b;

	(void)unused;
	wk_buf_init_fixed(&b, s, sizeof(s));
	wk_buf_be16(&b, 0x0102);
	wk_buf_be24(&b, 0x030405);
	assert_false(wk_buf_failed(&b));
	wk_buf_be16(&b, 0x0607);	/* one byte short */
	assert_true(wk_buf_failed(&b));
	assert_int_equal(b.len, 5);
	wk_buf_u8(&b, 6);		/* sticky */
	assert_int_equal(b.len, 5);
	assert_null(wk_buf_reserve(&b, 0));
	wk_buf_reset(&b);
	assert_false(wk_buf_failed(&b));
	wk_buf_be32(&b, 0xA1A2A3A4);
	assert_memory_equal(s, "\xA1\xA2\xA3\xA4", 4);
	assert_null(wk_buf_reserve(&b, 3));
	wk_buf_clear(&b);
	assert_int_equal(b.len, 0);
	assert_memory_equal(s, "\0\0\0\0\0\0", 6);
	/* no storage at all */
	wk_buf_init_fixed(&b, NULL, 4);
	assert_true(wk_buf_failed(&b));
	wk_buf_init_fixed(&b, NULL, 0);
	wk_buf_add(&b, "", 0);
	assert_false(wk_buf_failed(&b));
	wk_buf_u8(&b, 1);
	assert_true(wk_buf_failed(&b));
}

static void
test_heap(void **unused)
{
	uint8_t chunk[100];
	wk_buf b;

	(void)unused;
	memset(chunk, 0x77, sizeof(chunk));
	wk_buf_init_heap(&b, 1000);
	for (int i = 0; i < 10; i++)
		wk_buf_add(&b, chunk, sizeof(chunk));
	assert_false(wk_buf_failed(&b));
	assert_int_equal(b.len, 1000);
	assert_true(b.cap <= 1000);
	wk_buf_u8(&b, 1);
	assert_true(wk_buf_failed(&b));
	assert_int_equal(b.len, 1000);
	wk_buf_clear(&b);
	assert_null(b.p);
	/* overflow of len + n */
	wk_buf_init_heap(&b, SIZE_MAX);
	wk_buf_u8(&b, 1);
	assert_null(wk_buf_reserve(&b, SIZE_MAX));
	assert_true(wk_buf_failed(&b));
	wk_buf_clear(&b);
	/* odd maximum: growth stops exactly there */
	wk_buf_init_heap(&b, 129);
	wk_buf_add(&b, chunk, 100);
	wk_buf_add(&b, chunk, 29);
	assert_false(wk_buf_failed(&b));
	assert_int_equal(b.cap, 129);
	wk_buf_clear(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_heap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
