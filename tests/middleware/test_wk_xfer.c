/*
 * wk_wallet_transfer and its recovery (middleware/wk_xfer.c) between two
 * real enrolled cards, run by wk_xfer.sh inside the sandbox, with the fake
 * store of flow_fake.c: a transfer; the holder saying no; the sending PIN
 * refused; crashes after the receiving card's challenge is kept, after the
 * debit before the token is kept, after the token is kept, after the token
 * is queued for the issuer before the record goes; a store failing to keep
 * the challenge, the token, the report; a record in the old CLI's file
 * format. The queued tokens are reported to the issuer by
 * wk_wallet_transfer_reports (as the CLI does), whose own recovery is
 * tested too: an issuer away, no issuer known, a crash after the issuer
 * took a token before its record went, a damaged record. The money check
 * runs after every step.
 *
 * Needs WALLETKEY_READER_0 and _1 (both enrolled, card 0 loaded),
 * WK_TEST_ISSUER, WALLETKEY_PIN, WK_TEST_DIR.
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "flow_fake.h"
#include "walletkey.h"

typedef struct ctx {
	wk_xfer_step kill_at;	/* the process dies after this step's report */
	bool refuse;		/* the holder says no to the transfer */
	bool refuse_sender_pin;
	bool seen[WK_XFER_STEP_FAILED + 1];
	wk_xfer_step failed;
	int failed_rc;
	bool already;
	uint32_t settled_amount;
} ctx;

static bool
on_confirm(void *arg, const wk_xfer_question *q, char *pin, size_t cap,
    size_t *pin_len)
{
	ctx *c = arg;
	const char *p = getenv("WALLETKEY_PIN");

	if (q->ask == WK_XFER_ASK_TRANSFER)
		return !c->refuse;
	if ((q->sender && c->refuse_sender_pin) || p == NULL || strlen(p) > cap)
		return false;
	memcpy(pin, p, strlen(p));
	*pin_len = strlen(p);
	return true;
}

static void
on_progress(void *arg, const wk_xfer_event *ev)
{
	ctx *c = arg;

	c->seen[ev->step] = true;
	if (ev->step == WK_XFER_STEP_FAILED) {
		c->failed = ev->failed;
		c->failed_rc = ev->rc;
	}
	if (ev->step == WK_XFER_STEP_SETTLED) {
		c->already = ev->already;
		c->settled_amount = ev->amount;
	}
	if (c->kill_at != 0 && ev->step == c->kill_at)
		raise(SIGKILL);	/* a crash right after this step */
}

static int
run(ctx *c, uint32_t amount, const wk_state_store *store, const char *dir,
    bool recover_only, bool crash, wk_xfer_result *res)
{
	wk_xfer_opts o = { .amount = amount, .store = store, .state_dir = dir };
	wk_ctx *c0, *c1;
	wk_card *from, *to;
	pid_t p = 0;
	int rc, st;

	if (crash && (p = fork()) < 0)
		fail_msg("fork");
	if (p > 0) {
		assert_int_equal(waitpid(p, &st, 0), p);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		return WK_ERR_INTERNAL;
	}
	card_open(0, &c0, &from);
	card_open(1, &c1, &to);
	if (recover_only)
		rc = wk_wallet_transfer_recover(from, to, &o, on_confirm,
		    on_progress, c, res);
	else
		rc = wk_wallet_transfer(from, to, &o, on_confirm, on_progress, c,
		    res);
	wk_card_free(&from);
	wk_card_free(&to);
	wk_ctx_free(&c0);
	wk_ctx_free(&c1);
	if (crash)
		_exit(rc == WK_OK ? 0 : 2);
	return rc;
}

/* what the reports said (shared: a child may die in them) */
typedef struct rseen {
	unsigned sending, reported, left, damaged;
	int left_rc;
	bool left_issuer;
} rseen;
static rseen *rs;

static void
on_report(void *arg, const wk_report_event *ev)
{
	(void)arg;
	switch (ev->step) {
	case WK_REPORT_STEP_SENDING:
		rs->sending++;
		assert_non_null(ev->token_id);
		break;
	case WK_REPORT_STEP_REPORTED:
		rs->reported++;
		break;
	case WK_REPORT_STEP_LEFT:
		rs->left++;
		rs->left_rc = ev->rc;
		rs->left_issuer = ev->issuer;
		break;
	case WK_REPORT_STEP_DAMAGED:
		rs->damaged++;
		break;
	}
}

/* the queued tokens go to the issuer (url; NULL: the one the cards were
 * enrolled with, from their records), as the CLI reports them */
static int
reports(const char *url, unsigned *done, unsigned *left)
{
	wk_report_opts o = { .issuer_url = url, .store = &fake_store };

	memset(rs, 0, sizeof(*rs));
	return wk_wallet_transfer_reports(&o, on_report, NULL, done, left);
}

static void
report(void)
{
	unsigned done = 0, left = 0;

	assert_int_equal(reports(getenv("WK_TEST_ISSUER"), &done, &left), WK_OK);
	assert_int_equal(left, 0);
	assert_int_equal(done, rs->reported);
	assert_int_equal(fake_records("report-"), 0);
}

static void
test_transfer(void **state)
{
	wk_xfer_result res;
	ctx c = { 0 };
	uint32_t a0 = card_balance(0), b0 = card_balance(1);

	(void)state;
	fake_reset();
	assert_int_equal(run(&c, 120, &fake_store, NULL, false, false, &res),
	    WK_OK);
	assert_int_equal(res.balance, b0 + 120);
	assert_int_equal(card_balance(0), a0 - 120);
	assert_int_equal(card_balance(1), b0 + 120);
	/* the challenge and the token kept, then the report; the record gone */
	assert_int_equal(fake_sh->saves, 3);
	assert_int_equal(fake_records("xfer-"), 0);
	assert_int_equal(fake_records("report-"), 1);
	assert_true(c.seen[WK_XFER_STEP_DONE]);
	assert_false(c.seen[WK_XFER_STEP_FAILED]);
	money_check("a transfer, not reported", false, 0, false);
	report();
	money_check("a transfer, reported", true, 0, true);
}

static void
test_holder_says_no(void **state)
{
	wk_xfer_result res;
	ctx c = { .refuse = true };
	uint32_t a0 = card_balance(0), b0 = card_balance(1);

	(void)state;
	fake_reset();
	assert_int_equal(run(&c, 100, &fake_store, NULL, false, false, &res),
	    WK_ERR_CANCELLED);
	assert_int_equal(fake_sh->saves, 0);
	assert_false(c.seen[WK_XFER_STEP_CHALLENGES]);
	assert_int_equal(card_balance(0), a0);
	assert_int_equal(card_balance(1), b0);
	money_check("the holder said no", true, 0, true);
}

static void
test_sender_pin_refused(void **state)
{
	wk_xfer_result res;
	ctx c = { .refuse_sender_pin = true };
	uint32_t a0 = card_balance(0), b0 = card_balance(1);

	(void)state;
	fake_reset();
	assert_int_equal(run(&c, 100, &fake_store, NULL, false, false, &res),
	    WK_ERR_CANCELLED);
	/* the receiver's challenge closed with a void token */
	assert_true(c.seen[WK_XFER_STEP_VOIDED]);
	assert_int_equal(c.settled_amount, 0);
	assert_int_equal(fake_records(""), 0);
	assert_int_equal(card_balance(0), a0);
	assert_int_equal(card_balance(1), b0);
	money_check("the sending PIN refused", true, 0, true);
}

/* a crash after step kill_at (or in the record's removal) */
static void
crash(wk_xfer_step kill_at, bool in_remove, uint32_t amount, bool moved,
    bool debited, wk_xfer_step recovered_by)
{
	wk_xfer_result res;
	ctx c = { .kill_at = kill_at }, r = { 0 };
	uint32_t a0 = card_balance(0), b0 = card_balance(1);
	uint32_t credited = moved && (in_remove || kill_at ==
	    WK_XFER_STEP_QUEUED) ? amount : 0;

	fake_reset();
	fake_sh->kill_in_remove = in_remove;
	(void)run(&c, amount, &fake_store, NULL, false, true, &res);
	fake_sh->kill_in_remove = false;
	assert_int_equal(fake_records("xfer-"), 1);
	assert_int_equal(card_balance(0), a0 - (debited ? amount : 0));
	assert_int_equal(card_balance(1), b0 + credited);
	money_check("after the crash", false, debited ? (long)(amount -
	    credited) : 0, false);
	assert_int_equal(run(&r, 0, &fake_store, NULL, true, false, &res), WK_OK);
	assert_int_equal(res.recovered, 1);
	assert_true(r.seen[WK_XFER_STEP_RECOVER]);
	assert_true(r.seen[recovered_by]);
	assert_false(r.seen[WK_XFER_STEP_FAILED]);
	assert_int_equal(fake_records("xfer-"), 0);
	assert_int_equal(card_balance(0), a0 - (moved ? amount : 0));
	assert_int_equal(card_balance(1), b0 + (moved ? amount : 0));
	assert_int_equal(fake_records("report-"), moved ? 1 : 0);
	report();
	money_check("recovered after the crash", true, 0, true);
	/* nothing left */
	memset(&r, 0, sizeof(r));
	assert_int_equal(run(&r, 0, &fake_store, NULL, true, false, &res), WK_OK);
	assert_int_equal(res.recovered, 0);
}

static void
test_crash_after_challenge(void **state)
{
	(void)state;
	/* never sent: a void token closes the challenge, nothing moves */
	crash(WK_XFER_STEP_CHALLENGE, false, 130, false, false,
	    WK_XFER_STEP_VOIDED);
}

static void
test_crash_after_debit(void **state)
{
	(void)state;
	/* debited, the token not kept: the sending card still holds it */
	crash(WK_XFER_STEP_SENT, false, 140, true, true, WK_XFER_STEP_HELD);
}

static void
test_crash_after_token(void **state)
{
	(void)state;
	crash(WK_XFER_STEP_TOKEN, false, 150, true, true, WK_XFER_STEP_REDEEM);
}

static void
test_crash_after_queued(void **state)
{
	(void)state;
	/* redeemed and queued; the record stayed: redeemed once */
	crash(WK_XFER_STEP_QUEUED, false, 160, true, true, WK_XFER_STEP_SETTLED);
}

static void
test_crash_before_remove(void **state)
{
	(void)state;
	crash(0, true, 170, true, true, WK_XFER_STEP_SETTLED);
}

/* the store fails the n-th save: the flow stops there */
static void
store_fails(unsigned n, wk_xfer_step at, uint32_t amount, bool debited,
    bool credited)
{
	wk_xfer_result res;
	ctx c = { 0 }, r = { 0 };
	uint32_t a0 = card_balance(0), b0 = card_balance(1);

	fake_reset();
	fake_sh->fail_save = n;
	assert_int_equal(run(&c, amount, &fake_store, NULL, false, false, &res),
	    WK_ERR_IO);
	assert_int_equal(c.failed, at);
	assert_int_equal(c.failed_rc, WK_ERR_IO);
	if (at == WK_XFER_STEP_CHALLENGE)
		assert_false(c.seen[WK_XFER_STEP_FROM_PIN]);
	if (at == WK_XFER_STEP_TOKEN)
		assert_false(c.seen[WK_XFER_STEP_REDEEM]);
	assert_int_equal(card_balance(0), a0 - (debited ? amount : 0));
	assert_int_equal(card_balance(1), b0 + (credited ? amount : 0));
	money_check("a store that failed", false, debited && !credited ?
	    (long)amount : 0, false);
	fake_sh->fail_save = 0;
	assert_int_equal(run(&r, 0, &fake_store, NULL, true, false, &res), WK_OK);
	assert_int_equal(fake_records("xfer-"), 0);
	assert_int_equal(card_balance(0), a0 - (debited ? amount : 0));
	assert_int_equal(card_balance(1), b0 + (debited ? amount : 0));
	report();
	money_check("recovered after a store that failed", true, 0, true);
}

static void
test_store_fails_challenge(void **state)
{
	(void)state;
	/* the challenge not kept: the sending card is never asked */
	store_fails(1, WK_XFER_STEP_CHALLENGE, 110, false, false);
}

static void
test_store_fails_token(void **state)
{
	(void)state;
	/* debited, the token not kept: not redeemed before it is */
	store_fails(2, WK_XFER_STEP_TOKEN, 115, true, false);
}

static void
test_store_fails_report(void **state)
{
	(void)state;
	/* redeemed, the report not kept: the record stays for it */
	store_fails(3, WK_XFER_STEP_QUEUED, 125, true, true);
}

/* the reports' recovery: an issuer that cannot be reached, a crash after
 * the issuer took a token before its record went, a damaged record, the
 * issuer found through the sending card's enrolment record */
static void
test_reports(void **state)
{
	wk_xfer_result res;
	ctx c = { 0 };
	char from[17], name[64], rec[256];
	unsigned done = 0, left = 0;
	int st;
	pid_t p;

	(void)state;
	fake_reset();
	assert_int_equal(run(&c, 105, &fake_store, NULL, false, false, &res),
	    WK_OK);
	assert_int_equal(fake_records("report-"), 1);
	/* nobody listens there: the token stays */
	assert_int_equal(reports("http://127.0.0.1:9", &done, &left), WK_OK);
	assert_int_equal(done, 0);
	assert_int_equal(left, 1);
	assert_int_equal(rs->left_rc, WK_ERR_NETWORK);
	assert_int_equal(fake_records("report-"), 1);
	money_check("a report that could not go", false, 0, false);
	/* no issuer given and none known for the cards: it stays */
	assert_int_equal(reports(NULL, &done, &left), WK_OK);
	assert_int_equal(left, 1);
	assert_int_equal(rs->left_rc, WK_ERR_ARG);
	assert_int_equal(rs->sending, 0);
	/* the issuer takes it; the process dies removing the record */
	fake_sh->kill_in_remove = true;
	if ((p = fork()) == 0) {
		(void)reports(getenv("WK_TEST_ISSUER"), NULL, NULL);
		_exit(0);
	}
	assert_true(p > 0);
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	fake_sh->kill_in_remove = false;
	assert_int_equal(rs->sending, 1);
	assert_int_equal(fake_records("report-"), 1);
	money_check("killed after the issuer took the token", true, 0, true);
	/* a damaged record beside it stays as it is */
	assert_int_equal(fake_put("report-00000000000000000000000000000000",
	    "{\"token\": \"AAAA\"}"), 0);
	/* the issuer the sending card was enrolled with: posted again, the
	 * issuer answers the same and moves nothing twice */
	card_hex(0, from);
	snprintf(name, sizeof(name), "card-%s", from);
	snprintf(rec, sizeof(rec), "{\"card_id\": \"%s\", \"issuer\": \"%s\"}",
	    from, getenv("WK_TEST_ISSUER"));
	assert_int_equal(fake_put(name, rec), 0);
	assert_int_equal(reports(NULL, &done, &left), WK_OK);
	assert_int_equal(done, 1);
	assert_int_equal(left, 0);
	assert_true(rs->damaged >= 1);	/* once a pass */
	assert_int_equal(fake_records("report-"), 1);
	assert_non_null(fake_find("report-00000000000000000000000000000000"));
	money_check("the token reported again", true, 0, true);
	fake_reset();
}

/* a record as the CLI wrote it before the flow moved into the library */
static void
test_old_file(void **state)
{
	char dir[512], path[800], from[17], to[17], got[4096], expect[4096];
	const char *chal;
	wk_xfer_result res;
	ctx c = { .kill_at = WK_XFER_STEP_CHALLENGE }, r = { 0 };
	uint32_t a0 = card_balance(0), b0 = card_balance(1);
	json_t *j;
	size_t n;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/xold", getenv("WK_TEST_DIR"));
	card_hex(0, from);
	card_hex(1, to);
	(void)run(&c, 135, NULL, dir, false, true, &res);
	/* the one record in dir */
	{
		char prefix[40];
		struct dirent *e;
		DIR *d;

		snprintf(prefix, sizeof(prefix), "xfer-%s-", from);
		path[0] = '\0';
		assert_non_null(d = opendir(dir));
		while ((e = readdir(d)) != NULL)
			if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
				snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		closedir(d);
		assert_true(path[0] != '\0');
	}
	assert_non_null(f = fopen(path, "r"));
	n = fread(got, 1, sizeof(got) - 1, f);
	fclose(f);
	got[n] = '\0';
	assert_non_null(j = json_loads(got, 0, NULL));
	assert_non_null(chal = json_string_value(json_object_get(j, "challenge")));
	/* the old CLI's json_pack, dumped with JSON_INDENT(1) | JSON_SORT_KEYS */
	snprintf(expect, sizeof(expect), "{\n \"amount\": 135,\n \"challenge\": "
	    "\"%s\",\n \"from\": \"%s\",\n \"to\": \"%s\"\n}", chal, from, to);
	assert_string_equal(got, expect);
	json_decref(j);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(expect, 1, strlen(expect), f), strlen(expect));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(run(&r, 0, NULL, dir, true, false, &res), WK_OK);
	assert_int_equal(res.recovered, 1);
	assert_true(r.seen[WK_XFER_STEP_VOIDED]);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(card_balance(0), a0);
	assert_int_equal(card_balance(1), b0);
	money_check("an old transfer file recovered", true, 0, true);
}

static bool
sync_pin(void *arg, char *pin, size_t cap, size_t *len)
{
	const char *p = getenv("WALLETKEY_PIN");

	if (arg != NULL || p == NULL || strlen(p) > cap)
		return false;	/* arg set: the holder gives no PIN */
	memcpy(pin, p, strlen(p));
	*len = strlen(p);
	return true;
}

static void
sync_seen(void *arg, const wk_sync_event *ev)
{
	(void)arg;
	assert_int_not_equal(ev->step, WK_SYNC_STEP_FAILED);
}

/* the audit sync of the sending card after the transfers: its records up,
 * the acknowledgement down; once more uploads nothing; without the PIN
 * nothing is sent */
static void
test_audit_sync(void **state)
{
	wk_sync_result r;
	wk_issuer *is = NULL;
	wk_ctx *pc;
	wk_card *card;
	int no = 1;

	(void)state;
	assert_int_equal(wk_issuer_new(getenv("WK_TEST_ISSUER"), &is), WK_OK);
	card_open(0, &pc, &card);
	assert_int_equal(wk_audit_sync(&card, is, NULL, sync_pin, NULL, &no, &r),
	    WK_ERR_CANCELLED);
	assert_int_equal(r.uploaded, 0);
	assert_int_equal(wk_audit_sync(&card, is, NULL, sync_pin, sync_seen,
	    NULL, &r), WK_OK);
	assert_false(r.empty);
	assert_true(r.uploaded > 0);
	assert_int_equal(r.acked, r.head);
	assert_int_equal(wk_audit_sync(&card, is, NULL, sync_pin, sync_seen,
	    NULL, &r), WK_OK);
	assert_int_equal(r.uploaded, 0);
	assert_int_equal(r.acked, r.head);
	wk_card_free(&card);
	wk_ctx_free(&pc);
	wk_issuer_free(&is);
	money_check("an audit sync", true, 0, true);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transfer),
		cmocka_unit_test(test_holder_says_no),
		cmocka_unit_test(test_sender_pin_refused),
		cmocka_unit_test(test_crash_after_challenge),
		cmocka_unit_test(test_crash_after_debit),
		cmocka_unit_test(test_crash_after_token),
		cmocka_unit_test(test_crash_after_queued),
		cmocka_unit_test(test_crash_before_remove),
		cmocka_unit_test(test_store_fails_challenge),
		cmocka_unit_test(test_store_fails_token),
		cmocka_unit_test(test_store_fails_report),
		cmocka_unit_test(test_reports),
		cmocka_unit_test(test_old_file),
		cmocka_unit_test(test_audit_sync),
	};
	int rc;

	if ((rc = fake_ready("WALLETKEY_READER_1",
	    "tests/middleware/wk_xfer.sh")) != 0)
		return rc;
	if ((rs = fake_share(sizeof(*rs))) == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
