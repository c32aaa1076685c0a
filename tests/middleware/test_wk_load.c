/*
 * wk_wallet_enrol (its record and the holder's no) and wk_wallet_load
 * with its recovery (middleware/wk_load.c) against the real
 * card and the real issuer, run by wk_load.sh inside the sandbox: a fake
 * state store (in shared memory, so that it outlives a process killed in
 * the middle of the flow, as a crash would), and crashes at each instant
 * that matters: after the request, after the card's credit before the
 * receipt is kept, after the receipt is kept, after the issuer closed the
 * load before the record is removed; a store that fails to save (the flow
 * must not go on to move money); the holder saying no (nothing changes);
 * a pending file in the old CLI's format. After every step the money
 * check of tests/e2e/remote_lib.sh runs ($WK_TEST_CONSERVED, and
 * $WK_TEST_SETTLED once nothing is pending).
 *
 * Needs WALLETKEY_READER_0 (card 0 enrolled), WK_TEST_ISSUER,
 * WALLETKEY_PIN, WK_TEST_DIR (a scratch directory).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "flow_fake.h"
#include "walletkey.h"

/* ---- the holder and the steps ---- */

typedef struct ctx {
	wk_load_step kill_at;	/* the process dies after this step's report */
	bool refuse;		/* the holder says no */
	unsigned asked, asked_pin;
	bool seen[WK_LOAD_STEP_FAILED + 1];
	wk_load_step failed;
	int failed_rc;
	bool credited;
	char status[16];
} ctx;

static bool
on_confirm(void *arg, const wk_load_question *q, char *pin, size_t cap,
    size_t *pin_len)
{
	ctx *c = arg;
	const char *p = getenv("WALLETKEY_PIN");

	if (q->ask == WK_LOAD_ASK_LOAD)
		c->asked++;
	else
		c->asked_pin++;
	if (c->refuse || p == NULL || strlen(p) > cap)
		return false;
	memcpy(pin, p, strlen(p));
	*pin_len = strlen(p);
	return true;
}

static void
on_progress(void *arg, const wk_load_event *ev)
{
	ctx *c = arg;

	c->seen[ev->step] = true;
	if (ev->step == WK_LOAD_STEP_FAILED) {
		c->failed = ev->failed;
		c->failed_rc = ev->rc;
	}
	if (ev->step == WK_LOAD_STEP_RECOVER_PROOF)
		c->credited = ev->credited;
	if (ev->status != NULL)
		snprintf(c->status, sizeof(c->status), "%s", ev->status);
	if (c->kill_at != 0 && ev->step == c->kill_at)
		raise(SIGKILL);	/* a crash right after this step */
}

/* ---- the card ---- */

static wk_ctx *pcsc;
static wk_card *card;

static void
open0(void)
{
	card_open(0, &pcsc, &card);
}

static void
card_close(void)
{
	wk_card_free(&card);
	wk_ctx_free(&pcsc);
}

static uint32_t
balance(void)
{
	return card_balance(0);
}

static void
money(const char *what, bool settled)
{
	money_check(what, settled, 0, true);
}

/* a credit the issuer still holds pending, counted twice until closed */
static void
money_credited(const char *what, bool settled, uint32_t credited)
{
	money_check(what, settled, -(long)credited, true);
}

/* one load; in a child when it is to die (kill_at or kill_in_remove) */
static int
load(ctx *c, uint32_t amount, const wk_state_store *store, const char *dir,
    wk_load_result *res, bool crash)
{
	wk_load_opts o = { .kind = WK_PURSE_EP, .amount = amount, .store = store,
	    .state_dir = dir };
	wk_issuer *is = NULL;
	pid_t p;
	int rc, st;

	if (crash) {
		if ((p = fork()) == 0) {
			open0();
			if (wk_issuer_new(getenv("WK_TEST_ISSUER"), &is) != WK_OK)
				_exit(3);
			rc = wk_wallet_load(card, is, &o, on_confirm, on_progress, c,
			    res);
			_exit(rc == WK_OK ? 0 : 2);
		}
		assert_true(p > 0);
		assert_int_equal(waitpid(p, &st, 0), p);
		/* it died where it was told to */
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		return WK_ERR_INTERNAL;
	}
	open0();
	assert_int_equal(wk_issuer_new(getenv("WK_TEST_ISSUER"), &is), WK_OK);
	rc = wk_wallet_load(card, is, &o, on_confirm, on_progress, c, res);
	wk_issuer_free(&is);
	card_close();
	return rc;
}

static int
recover(ctx *c, const wk_state_store *store, const char *dir, bool *settled)
{
	wk_load_opts o = { .store = store, .state_dir = dir };
	int rc;

	open0();
	rc = wk_wallet_load_recover(card, &o, on_confirm, on_progress, c, settled);
	card_close();
	return rc;
}

/* ---- the cases ---- */

static void
enrol_step(void *arg, wk_enrol_step step, const char *card_hex)
{
	bool *seen = arg;

	(void)card_hex;
	seen[step] = true;
}

static bool
enrol_yes(void *arg, const wk_enrol_question *q)
{
	(void)arg;
	(void)q;
	return true;
}

static bool
enrol_no(void *arg, const wk_enrol_question *q)
{
	(void)arg;
	assert_int_equal(q->ask, WK_ENROL_ASK_REPLACE);
	return false;
}

/* the enrolment keeps the card's record as the CLI wrote it; the holder
 * refusing to replace an enrolled card's wallet changes nothing */
static void
test_enrol(void **state)
{
	static const uint8_t mgmt[] = { WK_PIV_DEFAULT_MGMT_KEY };
	wk_enrol_opts o = { .mgmt_key = mgmt, .mgmt_key_len = sizeof(mgmt),
	    .pan = getenv("WK_TEST_PAN"),
	    .password = getenv("WALLETKEY_ACCOUNT_PASSWORD"),
	    .store = &fake_store };
	uint8_t c1[2048], c2[2048];
	size_t l1 = sizeof(c1), l2 = sizeof(c2);
	char name[32], expect[512];
	const fake_rec *r;
	wk_wallet_enrolment en;
	wk_issuer *is = NULL;
	wk_piv *piv = NULL;
	bool seen[WK_ENROL_STEP_RECORD + 1] = { false };

	(void)state;
	assert_non_null(o.pan);
	assert_non_null(o.password);
	fake_reset();
	assert_int_equal(wk_issuer_new(getenv("WK_TEST_ISSUER"), &is), WK_OK);
	open0();
	assert_int_equal(wk_wallet_enrol(card, is, &o, enrol_yes, enrol_step,
	    seen, &en), WK_OK);
	for (wk_enrol_step s = WK_ENROL_STEP_CARD; s <= WK_ENROL_STEP_RECORD;
	    s++)
		assert_true(seen[s]);
	snprintf(name, sizeof(name), "card-%s", en.card_id);
	assert_non_null(r = fake_find(name));
	snprintf(expect, sizeof(expect), "{\n \"card_id\": \"%s\",\n "
	    "\"issuer\": \"%s\",\n \"pan\": \"%s\"\n}", en.card_id,
	    getenv("WK_TEST_ISSUER"), o.pan);
	assert_int_equal(r->len, strlen(expect));
	assert_memory_equal(r->data, expect, r->len);
	money("an enrolment", true);
	/* again: the card has a wallet; the holder says no */
	assert_int_equal(wk_piv_open(card, &piv), WK_OK);
	assert_int_equal(wk_piv_read_cert(piv, WK_WALLET_SLOT, c1, &l1), WK_OK);
	wk_piv_free(&piv);
	memset(seen, 0, sizeof(seen));
	fake_reset();
	assert_int_equal(wk_wallet_enrol(card, is, &o, enrol_no, enrol_step,
	    seen, &en), WK_ERR_CONDITIONS);
	assert_false(seen[WK_ENROL_STEP_KEY]);
	assert_int_equal(fake_sh->saves, 0);
	assert_int_equal(wk_piv_open(card, &piv), WK_OK);
	assert_int_equal(wk_piv_read_cert(piv, WK_WALLET_SLOT, c2, &l2), WK_OK);
	wk_piv_free(&piv);
	assert_int_equal(l1, l2);
	assert_memory_equal(c1, c2, l1);
	/* without a confirmation: refused as well */
	assert_int_equal(wk_wallet_enrol(card, is, &o, NULL, NULL, NULL, &en),
	    WK_ERR_CONDITIONS);
	card_close();
	wk_issuer_free(&is);
	money("an enrolment refused", true);
}

static void
test_load(void **state)
{
	wk_load_result res;
	ctx c = { 0 };
	uint32_t b0;

	(void)state;
	fake_reset();
	b0 = balance();
	assert_int_equal(load(&c, 150, &fake_store, NULL, &res, false), WK_OK);
	assert_int_equal(c.asked, 1);
	assert_string_equal(res.status, "complete");
	assert_false(res.refused);
	assert_int_equal(res.balance, b0 + 150);
	assert_int_equal(balance(), b0 + 150);
	/* request, grant, answer kept; removed at the end */
	assert_int_equal(fake_sh->saves, 3);
	assert_int_equal(fake_sh->removes, 1);
	assert_int_equal(fake_records(""), 0);
	for (wk_load_step s = WK_LOAD_STEP_PIN; s <= WK_LOAD_STEP_CLOSE; s++)
		assert_true(c.seen[s]);
	assert_false(c.seen[WK_LOAD_STEP_FAILED]);
	money("a load", true);
}

static void
test_refused_by_holder(void **state)
{
	wk_load_result res;
	ctx c = { .refuse = true };
	uint32_t b0;

	(void)state;
	fake_reset();
	b0 = balance();
	assert_int_equal(load(&c, 200, &fake_store, NULL, &res, false),
	    WK_ERR_CANCELLED);
	assert_int_equal(c.asked, 1);
	/* nothing kept, nothing sent, nothing credited */
	assert_int_equal(fake_sh->saves, 0);
	assert_false(c.seen[WK_LOAD_STEP_PIN]);
	assert_false(c.seen[WK_LOAD_STEP_REQUEST]);
	assert_int_equal(balance(), b0);
	money("the holder said no", true);
}

/* the store fails the n-th save: the flow stops there */
static void
store_fails(unsigned n, wk_load_step at, uint32_t credit)
{
	wk_load_result res;
	ctx c = { 0 }, r = { 0 };
	uint32_t b0;
	bool settled = false;

	fake_reset();
	b0 = balance();
	fake_sh->fail_save = n;
	assert_int_equal(load(&c, 300, &fake_store, NULL, &res, false), WK_ERR_IO);
	assert_true(c.seen[WK_LOAD_STEP_FAILED]);
	assert_int_equal(c.failed, at);
	assert_int_equal(c.failed_rc, WK_ERR_IO);
	/* the step after the one the store failed never happened */
	if (at == WK_LOAD_STEP_REQUEST)
		assert_false(c.seen[WK_LOAD_STEP_GRANT]);
	if (at == WK_LOAD_STEP_GRANT)
		assert_false(c.seen[WK_LOAD_STEP_CREDIT]);
	if (at == WK_LOAD_STEP_ANSWER)
		assert_false(c.seen[WK_LOAD_STEP_CLOSE]);
	assert_int_equal(balance(), b0 + credit);
	money_credited("a store that failed", false, credit);
	/* what the store kept settles */
	fake_sh->fail_save = 0;
	assert_int_equal(recover(&r, &fake_store, NULL, &settled), WK_OK);
	assert_int_equal(fake_records(""), 0);
	assert_int_equal(balance(), b0 + credit);
	money("recovered after a store that failed", true);
}

static void
test_store_fails_request(void **state)
{
	(void)state;
	/* the request is never sent: nothing to settle */
	store_fails(1, WK_LOAD_STEP_REQUEST, 0);
}

static void
test_store_fails_grant(void **state)
{
	(void)state;
	/* the issuer granted, the card never saw the grant: reversed */
	store_fails(2, WK_LOAD_STEP_GRANT, 0);
}

static void
test_store_fails_answer(void **state)
{
	(void)state;
	/* the card credited; its proof completes the load */
	store_fails(3, WK_LOAD_STEP_ANSWER, 300);
}

/* a crash after step kill_at (or in the record's removal) */
static void
crash(wk_load_step kill_at, bool in_remove, uint32_t credit,
    wk_load_step recovered_by)
{
	wk_load_result res;
	ctx c = { .kill_at = kill_at }, r = { 0 };
	uint32_t b0;
	bool settled = false;

	fake_reset();
	b0 = balance();
	fake_sh->kill_in_remove = in_remove;
	(void)load(&c, 400, &fake_store, NULL, &res, true);
	fake_sh->kill_in_remove = false;
	assert_int_equal(fake_records(""), 1);
	assert_int_equal(balance(), b0 + credit);
	money_credited("after the crash", false, in_remove ? 0 : credit);
	assert_int_equal(recover(&r, &fake_store, NULL, &settled), WK_OK);
	assert_true(settled);
	assert_true(r.seen[WK_LOAD_STEP_RECOVER]);
	assert_true(r.seen[recovered_by]);
	assert_false(r.seen[WK_LOAD_STEP_FAILED]);
	assert_int_equal(fake_records(""), 0);
	assert_int_equal(balance(), b0 + credit);
	money("recovered after the crash", true);
	/* nothing left: a second recovery has nothing to do */
	memset(&r, 0, sizeof(r));
	assert_int_equal(recover(&r, &fake_store, NULL, &settled), WK_OK);
	assert_false(settled);
	assert_false(r.seen[WK_LOAD_STEP_RECOVER]);
	assert_int_equal(balance(), b0 + credit);
}

static void
test_crash_after_request(void **state)
{
	ctx r;

	(void)state;
	(void)r;
	/* the issuer may never have seen it: asked again, then the card
	 * states it never credited the sequence number (with the PIN) */
	crash(WK_LOAD_STEP_REQUEST, false, 0, WK_LOAD_STEP_RECOVER_PROOF);
}

static void
test_crash_after_grant(void **state)
{
	(void)state;
	crash(WK_LOAD_STEP_GRANT, false, 0, WK_LOAD_STEP_RECOVER_PROOF);
}

static void
test_crash_after_credit(void **state)
{
	(void)state;
	/* credited, the receipt not kept: the card proves the credit */
	crash(WK_LOAD_STEP_CREDIT, false, 400, WK_LOAD_STEP_RECOVER_PROOF);
}

static void
test_crash_after_answer(void **state)
{
	(void)state;
	/* the receipt kept, not sent: sent by the recovery */
	crash(WK_LOAD_STEP_ANSWER, false, 400, WK_LOAD_STEP_RECOVER_SAVED);
}

static void
test_crash_before_remove(void **state)
{
	(void)state;
	/* the issuer closed the load; the record stayed */
	crash(0, true, 400, WK_LOAD_STEP_RECOVER_DONE);
}

/* the pending file as the walletkey CLI wrote it before the flow moved
 * into the library: its layout, byte for byte, and its recovery */
static void
test_old_file(void **state)
{
	char dir[512], path[600], expect[4096], got[4096];
	const char *card_id, *issuer, *load_id, *request;
	json_t *j;
	wk_load_result res;
	ctx c = { .kill_at = WK_LOAD_STEP_GRANT }, r = { 0 };
	uint32_t b0;
	size_t n;
	bool settled = false;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/old", getenv("WK_TEST_DIR"));
	b0 = balance();
	(void)load(&c, 250, NULL, dir, &res, true);
	snprintf(path, sizeof(path), "%s/load-", dir);
	{
		wk_card_info info;

		open0();
		assert_int_equal(wk_card_get_info(card, &info), WK_OK);
		card_close();
		for (size_t i = 0; i < 8; i++)
			snprintf(path + strlen(path), 3, "%02x", info.serial[i]);
		strcat(path, ".json");
	}
	assert_non_null(f = fopen(path, "r"));
	n = fread(got, 1, sizeof(got) - 1, f);
	fclose(f);
	got[n] = '\0';
	assert_non_null(j = json_loads(got, 0, NULL));
	card_id = json_string_value(json_object_get(j, "card_id"));
	issuer = json_string_value(json_object_get(j, "issuer"));
	load_id = json_string_value(json_object_get(j, "load_id"));
	request = json_string_value(json_object_get(j, "request"));
	assert_non_null(card_id);
	assert_non_null(issuer);
	assert_non_null(load_id);
	assert_non_null(request);
	/* the old CLI's json_pack of these fields, dumped with
	 * JSON_INDENT(1) | JSON_SORT_KEYS */
	snprintf(expect, sizeof(expect), "{\n \"amount\": 250,\n \"card_id\": "
	    "\"%s\",\n \"issuer\": \"%s\",\n \"kind\": 2,\n \"load_id\": \"%s\",\n"
	    " \"request\": \"%s\",\n \"seq\": %lld\n}", card_id, issuer, load_id,
	    request, (long long)json_integer_value(json_object_get(j, "seq")));
	assert_string_equal(got, expect);
	/* the old file, written again as the old CLI wrote it, recovers */
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(expect, 1, strlen(expect), f), strlen(expect));
	assert_int_equal(fclose(f), 0);
	json_decref(j);
	money("an old pending file", false);
	assert_int_equal(recover(&r, NULL, dir, &settled), WK_OK);
	assert_true(settled);
	assert_true(r.seen[WK_LOAD_STEP_RECOVER_PROOF]);
	assert_false(r.credited);
	assert_string_equal(r.status, "reversed");
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(balance(), b0);
	money("an old pending file recovered", true);
}

/* a record that does not parse is kept, and said */
static void
test_damaged(void **state)
{
	ctx r = { 0 };
	wk_card_info info;
	char name[32];
	bool settled = true;

	(void)state;
	fake_reset();
	open0();
	assert_int_equal(wk_card_get_info(card, &info), WK_OK);
	card_close();
	strcpy(name, "load-");
	for (size_t i = 0; i < 8; i++)
		snprintf(name + strlen(name), 3, "%02x", info.serial[i]);
	assert_int_equal(fake_put(name, "{\"kind\": 2"), 0);
	assert_int_equal(recover(&r, &fake_store, NULL, &settled), WK_ERR_BAD_DATA);
	assert_false(settled);
	assert_int_equal(r.failed, WK_LOAD_STEP_RECOVER);
	assert_int_equal(fake_records(""), 1);
	fake_reset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enrol),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_refused_by_holder),
		cmocka_unit_test(test_store_fails_request),
		cmocka_unit_test(test_store_fails_grant),
		cmocka_unit_test(test_store_fails_answer),
		cmocka_unit_test(test_crash_after_request),
		cmocka_unit_test(test_crash_after_grant),
		cmocka_unit_test(test_crash_after_credit),
		cmocka_unit_test(test_crash_after_answer),
		cmocka_unit_test(test_crash_before_remove),
		cmocka_unit_test(test_old_file),
		cmocka_unit_test(test_damaged),
	};
	int rc;

	if ((rc = fake_ready("WALLETKEY_READER_0",
	    "tests/middleware/wk_load.sh")) != 0)
		return rc;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
