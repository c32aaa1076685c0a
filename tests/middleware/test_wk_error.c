/* wk_error.c: every status word the card sends maps to the right wk_rc */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "walletkey.h"

static const struct {
	uint16_t sw;
	int rc;
} sw_table[] = {
	{ 0x9000, WK_OK },
	{ 0x6100, WK_OK },
	{ 0x6110, WK_OK },
	{ 0x63C0, WK_ERR_WRONG_PIN },
	{ 0x63C2, WK_ERR_WRONG_PIN },
	{ 0x63CF, WK_ERR_WRONG_PIN },
	{ 0x6581, WK_ERR_NO_SPACE },
	{ 0x6700, WK_ERR_WRONG_LENGTH },
	{ 0x6C10, WK_ERR_WRONG_LENGTH },
	{ 0x6881, WK_ERR_NOT_SUPPORTED },
	{ 0x6882, WK_ERR_NOT_SUPPORTED },
	{ 0x6883, WK_ERR_INVALID_STATE },
	{ 0x6884, WK_ERR_NOT_SUPPORTED },
	{ 0x6901, WK_ERR_INVALID_STATE },
	{ 0x6982, WK_ERR_AUTH_REQUIRED },
	{ 0x6983, WK_ERR_PIN_BLOCKED },
	{ 0x6984, WK_ERR_CONDITIONS },
	{ 0x6985, WK_ERR_CONDITIONS },
	{ 0x6986, WK_ERR_CONDITIONS },
	{ 0x6987, WK_ERR_BAD_DATA },
	{ 0x6988, WK_ERR_BAD_DATA },
	{ 0x6A80, WK_ERR_BAD_DATA },
	{ 0x6A81, WK_ERR_NOT_SUPPORTED },
	{ 0x6A82, WK_ERR_NOT_FOUND },
	{ 0x6A83, WK_ERR_NOT_FOUND },
	{ 0x6A84, WK_ERR_NO_SPACE },
	{ 0x6A86, WK_ERR_BAD_PARAMS },
	{ 0x6A87, WK_ERR_WRONG_LENGTH },
	{ 0x6A88, WK_ERR_NOT_FOUND },
	{ 0x6B00, WK_ERR_BAD_PARAMS },
	{ 0x6D00, WK_ERR_NOT_SUPPORTED },
	{ 0x6E00, WK_ERR_NOT_SUPPORTED },
	{ 0x6F00, WK_ERR_SW },
	{ 0x9302, WK_ERR_MAC },
	{ 0x9303, WK_ERR_CONDITIONS },
	{ 0x9401, WK_ERR_FUNDS },
	{ 0x9402, WK_ERR_LIMIT },
	{ 0x9403, WK_ERR_KEY_NOT_FOUND },
	{ 0x9406, WK_ERR_NOT_FOUND },
	{ 0x6281, WK_ERR_SW },
	{ 0x0000, WK_ERR_SW },
	{ 0xFFFF, WK_ERR_SW },
};

static void
test_sw_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sw_table) / sizeof(sw_table[0]); i++) {
		int rc = wk_rc_from_sw(sw_table[i].sw);

		if (rc != sw_table[i].rc)
			fail_msg("SW %04X: got %d, want %d", sw_table[i].sw, rc,
			    sw_table[i].rc);
	}
}

/* no status word outside 9000/61xx is ever taken for success */
static void
test_every_sw_maps(void **state)
{
	(void)state;
	for (uint32_t sw = 0; sw <= 0xFFFF; sw++) {
		int rc = wk_rc_from_sw((uint16_t)sw);

		if (sw == 0x9000 || (sw >> 8) == 0x61)
			assert_int_equal(rc, WK_OK);
		else
			assert_true(rc < 0 && rc >= WK_ERR_INTERNAL);
		assert_non_null(wk_strerror(rc));
	}
}

static void
test_strerror(void **state)
{
	(void)state;
	for (int rc = WK_OK; rc >= WK_ERR_LAST; rc--) {
		const char *m = wk_strerror(rc);

		assert_non_null(m);
		assert_true(strlen(m) > 4);
		assert_string_not_equal(m, "unknown error code");
	}
	assert_string_equal(wk_strerror(1), "unknown error code");
	assert_string_equal(wk_strerror(WK_ERR_LAST - 1), "unknown error code");
	assert_string_equal(wk_strerror(-1000), "unknown error code");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sw_table),
		cmocka_unit_test(test_every_sw_maps),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
