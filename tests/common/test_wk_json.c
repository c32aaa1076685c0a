/* wk_json.c: the base64 and hex fields of the JSON messages */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "wk_json.h"

static void
test_b64_round_trip(void **state)
{
	static const uint8_t p[] = { 0x00, 0xff, 0x10, 0x80, 0x7f };
	uint8_t out[8];
	size_t len = 99;
	json_t *j;

	(void)state;
	assert_non_null(j = wk_b64_json(p, sizeof(p)));
	assert_string_equal(json_string_value(j), "AP8QgH8=");
	assert_int_equal(wk_b64_unjson(j, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(p));
	assert_memory_equal(out, p, sizeof(p));
	assert_int_equal(wk_b64_decode("AP8QgH8=", out, sizeof(out)),
	    (long)sizeof(p));
	json_decref(j);
	/* nothing is an empty string, and back */
	assert_non_null(j = wk_b64_json(p, 0));
	assert_string_equal(json_string_value(j), "");
	assert_int_equal(wk_b64_unjson(j, out, sizeof(out), &len), 0);
	assert_int_equal(len, 0);
	json_decref(j);
}

static void
test_b64_refused(void **state)
{
	uint8_t out[4];
	size_t len = 99;
	json_t *n = json_integer(1), *s;

	(void)state;
	/* not a string, not base64, URL alphabet, too long for cap */
	assert_int_equal(wk_b64_unjson(n, out, sizeof(out), &len), -1);
	assert_int_equal(len, 0);
	assert_int_equal(wk_b64_unjson(NULL, out, sizeof(out), &len), -1);
	assert_int_equal(wk_b64_decode(NULL, out, sizeof(out)), -1);
	assert_int_equal(wk_b64_decode("AP8*", out, sizeof(out)), -1);
	assert_int_equal(wk_b64_decode("AP8_", out, sizeof(out)), -1);
	assert_int_equal(wk_b64_decode("AAAAAAAA", out, sizeof(out)), -1);
	assert_non_null(s = json_string("AP8QgH8="));
	len = 99;
	assert_int_equal(wk_b64_unjson(s, out, sizeof(out), &len), -1);
	assert_int_equal(len, 0);
	json_decref(s);
	json_decref(n);
}

static void
test_hex(void **state)
{
	static const uint8_t p[] = { 0xde, 0xad, 0x00, 0x0f };
	uint8_t out[4];
	size_t len = 99;
	json_t *j, *bad;

	(void)state;
	assert_non_null(j = wk_hex_json(p, sizeof(p)));
	assert_string_equal(json_string_value(j), "dead000f");
	assert_int_equal(wk_hex_unjson(j, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(p));
	assert_memory_equal(out, p, sizeof(p));
	json_decref(j);
	/* odd length, not hex, longer than cap, not a string */
	len = 99;
	assert_non_null(bad = json_string("dea"));
	assert_int_equal(wk_hex_unjson(bad, out, sizeof(out), &len), -1);
	json_decref(bad);
	assert_non_null(bad = json_string("zz00"));
	assert_int_equal(wk_hex_unjson(bad, out, sizeof(out), &len), -1);
	json_decref(bad);
	assert_non_null(bad = json_string("0011223344"));
	assert_int_equal(wk_hex_unjson(bad, out, sizeof(out), &len), -1);
	json_decref(bad);
	assert_int_equal(wk_hex_unjson(NULL, out, sizeof(out), &len), -1);
	assert_int_equal(len, 99);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_round_trip),
		cmocka_unit_test(test_b64_refused),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
