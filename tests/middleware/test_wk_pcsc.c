/* wk_pcsc.c: which reader wk_card_open() picks (exact name, unique prefix,
 * walletkey card first), and the PC/SC return code translation */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <PCSC/pcsclite.h>

#include "wk_internal.h"

static void
add(wk_reader_info *r, const char *name, bool card, bool walletkey)
{
	memset(r, 0, sizeof(*r));
	strncpy(r->name, name, sizeof(r->name) - 1);
	r->card_present = card;
	r->walletkey = walletkey;
}

static void
test_choose(void **state)
{
	wk_reader_info r[4];
	size_t which = 99;

	(void)state;
	add(&r[0], "Other Reader 00 00", true, false);
	add(&r[1], "Virtual PCD 00 00", true, true);
	add(&r[2], "Virtual PCD 00 01", false, false);
	add(&r[3], "Virtual PCD #1 00 00", true, true);

	/* NULL: the first walletkey card, before any other card */
	assert_int_equal(wk_pcsc_choose(r, 4, NULL, &which), WK_OK);
	assert_int_equal(which, 1);
	/* exact name wins even when it is also a prefix of another */
	assert_int_equal(wk_pcsc_choose(r, 4, "Virtual PCD 00 00", &which), WK_OK);
	assert_int_equal(which, 1);
	/* unique prefix */
	assert_int_equal(wk_pcsc_choose(r, 4, "Other", &which), WK_OK);
	assert_int_equal(which, 0);
	assert_int_equal(wk_pcsc_choose(r, 4, "Virtual PCD #", &which), WK_OK);
	assert_int_equal(which, 3);
	/* ambiguous prefix */
	assert_int_equal(wk_pcsc_choose(r, 4, "Virtual PCD 00", &which), WK_ERR_ARG);
	/* no such reader; a reader without a card */
	assert_int_equal(wk_pcsc_choose(r, 4, "Nope", &which), WK_ERR_NO_READER);
	assert_int_equal(wk_pcsc_choose(r, 4, "Virtual PCD 00 01", &which), WK_ERR_NO_CARD);
	/* no walletkey card: the first card of any kind */
	r[1].walletkey = false;
	r[3].walletkey = false;
	assert_int_equal(wk_pcsc_choose(r, 4, NULL, &which), WK_OK);
	assert_int_equal(which, 0);
	/* no card at all, no reader at all */
	for (size_t i = 0; i < 4; i++)
		r[i].card_present = false;
	assert_int_equal(wk_pcsc_choose(r, 4, NULL, &which), WK_ERR_NO_CARD);
	assert_int_equal(wk_pcsc_choose(r, 0, NULL, &which), WK_ERR_NO_READER);
	assert_int_equal(wk_pcsc_choose(r, 0, "Virtual", &which), WK_ERR_NO_READER);
}

static void
test_pcsc_rc(void **state)
{
	static const struct {
		LONG rv;
		int rc;
	} table[] = {
		{ SCARD_S_SUCCESS, WK_OK },
		{ SCARD_E_NO_SERVICE, WK_ERR_PCSC },
		{ SCARD_E_NO_READERS_AVAILABLE, WK_ERR_NO_READER },
		{ SCARD_E_UNKNOWN_READER, WK_ERR_NO_READER },
		{ SCARD_E_NO_SMARTCARD, WK_ERR_CARD_REMOVED },
		{ SCARD_W_REMOVED_CARD, WK_ERR_CARD_REMOVED },
		{ SCARD_W_RESET_CARD, WK_ERR_CARD_REMOVED },
		{ SCARD_E_NOT_TRANSACTED, WK_ERR_TRANSPORT },
		{ SCARD_E_INSUFFICIENT_BUFFER, WK_ERR_ARG },
		{ SCARD_E_NO_MEMORY, WK_ERR_MEMORY },
		{ (LONG)0x80100099, WK_ERR_PCSC },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		assert_int_equal(wk_pcsc_rc(table[i].rv), table[i].rc);
}

static void
test_bad_args(void **state)
{
	wk_card *card = NULL;
	wk_reader_info *list = NULL;
	size_t n = 0, len = 4;
	uint8_t atr[4];

	(void)state;
	assert_int_equal(wk_ctx_new(NULL), WK_ERR_ARG);
	assert_int_equal(wk_card_open(NULL, NULL, &card), WK_ERR_ARG);
	assert_int_equal(wk_list_readers(NULL, &list, &n), WK_ERR_ARG);
	assert_int_equal(wk_card_begin(NULL), WK_ERR_ARG);
	assert_int_equal(wk_card_end(NULL), WK_ERR_ARG);
	assert_int_equal(wk_card_atr(NULL, atr, &len), WK_ERR_ARG);
	assert_int_equal(wk_card_transmit(NULL, atr, 4, atr, &len), WK_ERR_ARG);
	assert_int_equal(wk_card_apdu(NULL, 0, 0xA4, 0, 0, NULL, 0, 0, NULL,
	    &len, NULL), WK_ERR_ARG);
	assert_null(wk_card_reader(NULL));
	assert_false(wk_card_is_walletkey(NULL));
	wk_card_free(NULL);
	wk_card_free(&card);
	wk_ctx_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_pcsc_rc),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
