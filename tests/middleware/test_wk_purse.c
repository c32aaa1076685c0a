/* the purse client: parsing of card answers, PIN encoding, amounts */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "wk_hex.h"
#include "wk_purse_internal.h"

static size_t
hex(const char *h, uint8_t *out, size_t cap)
{
	long n = wk_hex_decode(h, out, cap);

	assert_true(n >= 0);
	return (size_t)n;
}

static void
test_app(void **state)
{
	uint8_t b[64];
	size_t n;
	wk_purse_app app;

	(void)state;
	n = hex("0102030405060708 02 01 00001234567890123456 20260101 20301231 "
	    "ABCD", b, sizeof(b));
	assert_int_equal(n, 30);
	assert_int_equal(wk_purse_parse_app(b, n, &app), WK_OK);
	assert_int_equal(app.issuer[7], 0x08);
	assert_int_equal(app.app_type, 2);
	assert_int_equal(app.app_version, 1);
	assert_int_equal(app.serial[0], 0x00);
	assert_int_equal(app.serial[9], 0x56);
	assert_int_equal(app.start[0], 0x20);
	assert_int_equal(app.expiry[3], 0x31);
	assert_int_equal(app.custom[1], 0xCD);
	/* anything but 30 bytes is a malformed answer */
	assert_int_equal(wk_purse_parse_app(b, 29, &app), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_purse_parse_app(b, 31, &app), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_purse_parse_app(b, 0, &app), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_purse_parse_app(NULL, 30, &app), WK_ERR_ARG);
}

static void
test_holder(void **state)
{
	uint8_t b[64];
	wk_purse_holder h;

	(void)state;
	memset(b, 0, sizeof(b));
	b[0] = 1;
	memcpy(b + 2, "ZHANG SAN   ", 12);
	memcpy(b + 22, "110101199001011234", 16);
	b[38] = 0;
	assert_int_equal(wk_purse_parse_holder(b, 39, &h), WK_OK);
	assert_string_equal(h.name, "ZHANG SAN");
	assert_string_equal(h.id_number, "1101011990010112");
	memset(b + 2, 0xFF, 20);
	b[2] = 0x01;	/* not printable: shown as '?' */
	assert_int_equal(wk_purse_parse_holder(b, 39, &h), WK_OK);
	assert_string_equal(h.name, "?");
	assert_int_equal(wk_purse_parse_holder(b, 55, &h), WK_OK);
	assert_int_equal(wk_purse_parse_holder(b, 40, &h), WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_purse_parse_holder(b, 0, &h), WK_ERR_CARD_MALFORMED);
}

static void
test_record(void **state)
{
	uint8_t b[32];
	wk_purse_record r;
	bool empty = false;
	size_t n;

	(void)state;
	/* the Huada log record of V1 */
	n = hex("0001 000000 00001C37 02 000001000050 20140825 103100", b,
	    sizeof(b));
	assert_int_equal(n, 23);
	assert_int_equal(wk_purse_parse_record(b, n, &r, &empty), WK_OK);
	assert_false(empty);
	assert_int_equal(r.seq, 1);
	assert_int_equal(r.overdraft, 0);
	assert_int_equal(r.amount, 0x1C37);
	assert_int_equal(r.type, 2);
	assert_int_equal(r.terminal[5], 0x50);
	assert_int_equal(r.date[1], 0x14);
	assert_int_equal(r.time[0], 0x10);
	memset(b, 0, sizeof(b));
	assert_int_equal(wk_purse_parse_record(b, 23, &r, &empty), WK_OK);
	assert_true(empty);
	assert_int_equal(wk_purse_parse_record(b, 22, &r, &empty),
	    WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_purse_parse_record(b, 24, &r, &empty),
	    WK_ERR_CARD_MALFORMED);
}

static void
test_init_answers(void **state)
{
	uint8_t b[32];
	wk_purse_txn t;
	size_t n;

	(void)state;
	/* V2 INITIALIZE FOR PURCHASE answer */
	memset(&t, 0, sizeof(t));
	n = hex("00000000 0000 000000 01 00 11223344", b, sizeof(b));
	assert_int_equal(wk_purse_parse_init_purchase(b, n, &t), WK_OK);
	assert_int_equal(t.old_balance, 0);
	assert_int_equal(t.card_seq, 0);
	assert_int_equal(t.key_version, 1);
	assert_int_equal(t.alg, 0);
	assert_int_equal(t.random[3], 0x44);
	assert_int_equal(wk_purse_parse_init_purchase(b, 14, &t),
	    WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_purse_parse_init_purchase(b, 16, &t),
	    WK_ERR_CARD_MALFORMED);

	/* V4 purchase answer with a balance and seq */
	n = hex("00001C37 0102 000000 01 00 9AC87503", b, sizeof(b));
	assert_int_equal(wk_purse_parse_init_purchase(b, n, &t), WK_OK);
	assert_int_equal(t.old_balance, 0x1C37);
	assert_int_equal(t.card_seq, 0x0102);

	/* V1 INITIALIZE FOR LOAD answer */
	memset(&t, 0, sizeof(t));
	n = hex("00000000 0000 01 00 CDEF4F20 06B1BEF5", b, sizeof(b));
	assert_int_equal(wk_purse_parse_init_load(b, n, &t), WK_OK);
	assert_int_equal(t.key_version, 1);
	assert_int_equal(t.random[0], 0xCD);
	assert_int_equal(t.mac1[3], 0xF5);
	assert_int_equal(wk_purse_parse_init_load(b, 15, &t),
	    WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_purse_parse_init_load(b, 17, &t),
	    WK_ERR_CARD_MALFORMED);
}

static void
test_pin(void **state)
{
	static const struct {
		const char *pin;
		int rc;
		const char *bcd;
	} cases[] = {
		{ "123456", WK_OK, "123456" },
		{ "1234", WK_OK, "1234" },
		{ "12345", WK_OK, "12345F" },
		{ "123456789012", WK_OK, "123456789012" },
		{ "123", WK_ERR_ARG, NULL },
		{ "1234567890123", WK_ERR_ARG, NULL },
		{ "12a456", WK_ERR_ARG, NULL },
		{ "12 456", WK_ERR_ARG, NULL },
	};
	uint8_t out[6], want[6];
	size_t n, wn;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 0;
		assert_int_equal(wk_purse_pin_bcd(cases[i].pin,
		    strlen(cases[i].pin), out, &n), cases[i].rc);
		if (cases[i].bcd == NULL)
			continue;
		wn = hex(cases[i].bcd, want, sizeof(want));
		assert_int_equal(n, wn);
		assert_memory_equal(out, want, wn);
	}
}

static void
test_amounts(void **state)
{
	static const struct {
		const char *s;
		int rc;
		uint32_t fen;
	} cases[] = {
		{ "12.30", WK_OK, 1230 },
		{ "12.3", WK_OK, 1230 },
		{ "100", WK_OK, 10000 },
		{ "0.01", WK_OK, 1 },
		{ "0.5", WK_OK, 50 },
		{ "42949672.95", WK_OK, 4294967295u },
		{ "007.00", WK_OK, 700 },
		{ "42949672.96", WK_ERR_ARG, 0 },
		{ "99999999999", WK_ERR_ARG, 0 },
		{ "12.345", WK_ERR_ARG, 0 },
		{ "-1", WK_ERR_ARG, 0 },
		{ "+1", WK_ERR_ARG, 0 },
		{ "0", WK_ERR_ARG, 0 },
		{ "0.00", WK_ERR_ARG, 0 },
		{ "", WK_ERR_ARG, 0 },
		{ ".5", WK_ERR_ARG, 0 },
		{ "5.", WK_ERR_ARG, 0 },
		{ "1.2.3", WK_ERR_ARG, 0 },
		{ "1e3", WK_ERR_ARG, 0 },
		{ " 1", WK_ERR_ARG, 0 },
		{ "1,5", WK_ERR_ARG, 0 },
		{ "00000000000000000000000000001", WK_ERR_ARG, 0 },
	};
	uint32_t fen;
	char out[24];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fen = 77;
		assert_int_equal(wk_purse_amount_parse(cases[i].s, &fen),
		    cases[i].rc);
		assert_int_equal(fen, cases[i].rc == WK_OK ? cases[i].fen : 77);
	}
	wk_purse_amount_format(1230, out, sizeof(out));
	assert_string_equal(out, "12.30");
	wk_purse_amount_format(5, out, sizeof(out));
	assert_string_equal(out, "0.05");
	wk_purse_amount_format(4294967295u, out, sizeof(out));
	assert_string_equal(out, "42949672.95");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app),
		cmocka_unit_test(test_holder),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_init_answers),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_amounts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
