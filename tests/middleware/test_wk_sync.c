/*
 * wk_audit_sync's recovery paths (middleware/wk_sync.c) between a real
 * enrolled card and the real issuer, run by wk_sync.sh inside the sandbox.
 * The sync keeps no store of its own: the issuer's newest stored record is
 * the cursor a sync resumes from, and the card drops nothing before it has
 * the acknowledgement. So: a crash after the issuer stored a page (the next
 * sync goes on from the issuer's cursor and uploads nothing twice); a crash
 * between the issuer's acknowledgement and the card's (the next sync
 * uploads nothing and the card takes the acknowledgement); the issuer
 * failing to store a page (its database locked: the sync stops at that
 * page, the card acknowledges nothing; the next one completes); a card that
 * answers a stale page (records the issuer has: the sync stops, nothing is
 * acknowledged, the issuer's records stay as they were). The money check
 * runs after every step.
 *
 * Needs WALLETKEY_READER_0 (card 0 enrolled), WK_TEST_ISSUER, WALLETKEY_PIN,
 * WK_TEST_DIR, WALLETKEY_SANDBOX and the bash functions wk_sync.sh exports.
 */
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

#include "flow_fake.h"
#include "walletkey.h"

#define PAGE 2	/* records per page: several pages a sync */

/* what a sync saw, in shared memory: it outlives a child killed in it */
typedef struct seen {
	wk_sync_step kill_at;	/* the process dies after this step's report */
	unsigned kill_after;	/* ... its n-th report (1-based; 0: the first) */
	wk_sync_step lock_at;	/* the issuer's database is locked here */
	unsigned reports[WK_SYNC_STEP_FAILED + 1];
	uint64_t last_seq[WK_SYNC_STEP_FAILED + 1];
	wk_sync_step failed;
	int failed_rc;
	bool failed_issuer;
	long failed_status;
} seen;

static seen *sh;
static pid_t lock_pid;
static FILE *lock_out;

static void
sh_reset(void)
{
	memset(sh, 0, sizeof(*sh));
}

/* bash -c CMD (bash itself: the functions wk_sync.sh exports reach it);
 * out: its stdout is a pipe to read, else the process is waited for and
 * must succeed */
static pid_t
bash(const char *cmd, FILE **out)
{
	int fd[2] = { -1, -1 }, st;
	pid_t p;

	if (out != NULL)
		assert_int_equal(pipe(fd), 0);
	if ((p = fork()) == 0) {
		if (out != NULL) {
			dup2(fd[1], 1);
			close(fd[0]);
			close(fd[1]);
		}
		execlp("bash", "bash", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	assert_true(p > 0);
	if (out != NULL) {
		close(fd[1]);
		assert_non_null(*out = fdopen(fd[0], "r"));
		return p;
	}
	assert_int_equal(waitpid(p, &st, 0), p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s: status %d", cmd, st);
	return p;
}

static void
more_records(int n)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "more_records %d", n);
	(void)bash(cmd, NULL);
}

/* the issuer's database locked for s seconds (lock_db of wk_sync.sh) */
static void
lock_start(int s)
{
	char cmd[64], line[32];

	snprintf(cmd, sizeof(cmd), "lock_db %d", s);
	lock_pid = bash(cmd, &lock_out);
	assert_non_null(fgets(line, sizeof(line), lock_out));
	assert_true(atol(line) == (long)lock_pid);
	assert_non_null(fgets(line, sizeof(line), lock_out));
	assert_string_equal(line, "locked\n");
}

static void
lock_stop(void)
{
	int st;

	if (lock_out == NULL)
		return;
	kill(lock_pid, SIGTERM);
	(void)waitpid(lock_pid, &st, 0);
	fclose(lock_out);
	lock_out = NULL;
}

static bool
on_pin(void *arg, char *pin, size_t cap, size_t *len)
{
	const char *p = getenv("WALLETKEY_PIN");

	(void)arg;
	if (p == NULL || strlen(p) > cap)
		return false;
	memcpy(pin, p, strlen(p));
	*len = strlen(p);
	return true;
}

static void
on_progress(void *arg, const wk_sync_event *ev)
{
	(void)arg;
	sh->reports[ev->step]++;
	sh->last_seq[ev->step] = ev->seq;
	if (ev->step == WK_SYNC_STEP_FAILED) {
		sh->failed = ev->failed;
		sh->failed_rc = ev->rc;
		sh->failed_issuer = ev->issuer;
		sh->failed_status = ev->http_status;
	}
	if (sh->lock_at != 0 && ev->step == sh->lock_at && lock_out == NULL)
		lock_start(120);	/* past the client's timeout */
	if (sh->kill_at != 0 && ev->step == sh->kill_at &&
	    sh->reports[ev->step] >= (sh->kill_after ? sh->kill_after : 1))
		raise(SIGKILL);	/* a crash right after this step */
}

/* one sync of card 0; crash: in a child, which must die in it */
static int
sync_once(bool crash, wk_sync_result *r)
{
	wk_sync_opts o = { .page_max = PAGE };
	wk_issuer *is = NULL;
	wk_ctx *ctx;
	wk_card *card;
	pid_t p = 0;
	int rc, st;

	if (crash && (p = fork()) < 0)
		fail_msg("fork");
	if (p > 0) {
		assert_int_equal(waitpid(p, &st, 0), p);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		return WK_ERR_INTERNAL;
	}
	assert_int_equal(wk_issuer_new(getenv("WK_TEST_ISSUER"), &is), WK_OK);
	card_open(0, &ctx, &card);
	rc = wk_audit_sync(&card, is, &o, on_pin, on_progress, NULL, r);
	lock_stop();
	wk_card_free(&card);
	wk_ctx_free(&ctx);
	wk_issuer_free(&is);
	if (crash)
		_exit(rc == WK_OK ? 0 : 2);
	return rc;
}

/* the card's log: head and acknowledged seq */
static void
card_log(uint64_t *head, uint64_t *acked)
{
	wk_audit_status st;
	wk_ctx *ctx;
	wk_card *card;

	card_open(0, &ctx, &card);
	assert_int_equal(wk_audit_select(card), WK_OK);
	assert_int_equal(wk_audit_get_status(card, &st), WK_OK);
	*head = st.head_seq;
	*acked = st.acked;
	wk_card_free(&card);
	wk_ctx_free(&ctx);
}

/* a whole sync: everything up, the card acknowledged to its head */
static void
sync_all(const char *what, wk_sync_result *r)
{
	uint64_t head, acked;

	sh_reset();
	assert_int_equal(sync_once(false, r), WK_OK);
	assert_int_equal(sh->reports[WK_SYNC_STEP_FAILED], 0);
	assert_int_equal(sh->reports[WK_SYNC_STEP_CARD_ACKED], 1);
	assert_int_equal(r->acked, r->head);
	card_log(&head, &acked);
	assert_int_equal(acked, r->head);
	money_check(what, true, 0, true);
}

/* the starting point of each case: everything synced, then n new records */
static uint64_t
synced_then(int n)
{
	wk_sync_result r;
	uint64_t head, acked;

	sync_all("synced before the case", &r);
	more_records(n);
	card_log(&head, &acked);
	assert_true(head > acked);
	return acked;
}

static void
test_sync(void **state)
{
	wk_sync_result r;

	(void)state;
	more_records(2);
	sync_all("a first sync", &r);
	assert_true(r.uploaded > 0);
	assert_true(sh->reports[WK_SYNC_STEP_PAGE] >= 1);
	/* once more: nothing to upload, the same acknowledgement */
	sync_all("a sync with nothing new", &r);
	assert_int_equal(r.uploaded, 0);
	assert_int_equal(r.missing, 0);
}

static void
test_crash_after_page(void **state)
{
	wk_sync_result r;
	uint64_t acked0 = synced_then(3), stored, head, acked;

	(void)state;
	/* killed right after the issuer stored the first page */
	sh_reset();
	sh->kill_at = WK_SYNC_STEP_PAGE;
	(void)sync_once(true, &r);
	stored = sh->last_seq[WK_SYNC_STEP_PAGE];
	assert_true(stored > acked0);
	card_log(&head, &acked);
	assert_int_equal(acked, acked0);	/* the card took nothing */
	assert_true(head > stored);
	money_check("killed after a page", true, 0, true);
	/* the next sync goes on from the issuer's cursor: nothing twice */
	sync_all("after the crash", &r);
	assert_int_equal(r.missing_first, stored + 1);
	assert_int_equal(r.uploaded, r.head - stored);
}

static void
test_crash_between_acks(void **state)
{
	wk_sync_result r;
	uint64_t acked0 = synced_then(2), issuer_acked, head, acked;

	(void)state;
	/* killed after the issuer acknowledged, before the card took it */
	sh_reset();
	sh->kill_at = WK_SYNC_STEP_ACKED;
	(void)sync_once(true, &r);
	issuer_acked = sh->last_seq[WK_SYNC_STEP_ACKED];
	assert_true(issuer_acked > acked0);
	assert_int_equal(sh->reports[WK_SYNC_STEP_CARD_ACKED], 0);
	card_log(&head, &acked);
	assert_int_equal(acked, acked0);
	money_check("killed between the acknowledgements", true, 0, true);
	/* the next sync has nothing of it to upload and the card takes the
	 * issuer's acknowledgement */
	sync_all("after the crash", &r);
	assert_int_equal(r.uploaded, r.head - issuer_acked);
	assert_true(r.acked >= issuer_acked);
}

static void
test_issuer_store_fails(void **state)
{
	wk_sync_result r;
	uint64_t acked0 = synced_then(3), head, acked;

	(void)state;
	/* the issuer's database locked once the card's head is read: the
	 * first page is not stored */
	sh_reset();
	sh->lock_at = WK_SYNC_STEP_HEAD;
	assert_int_not_equal(sync_once(false, &r), WK_OK);
	assert_int_equal(sh->failed, WK_SYNC_STEP_PAGE);
	assert_true(sh->failed_issuer);
	assert_int_equal(sh->reports[WK_SYNC_STEP_PAGE], 0);
	assert_int_equal(sh->reports[WK_SYNC_STEP_ACKED], 0);
	card_log(&head, &acked);
	assert_int_equal(acked, acked0);
	money_check("the issuer could not store", true, 0, true);
	sync_all("after the issuer came back", &r);
	/* from the issuer's cursor (the refused request may have been
	 * stored late, once the lock went, as the issuer retries it) */
	assert_true(r.missing_first > acked0);
	assert_int_equal(r.uploaded, r.head - r.missing_first + 1);
}

/* card 0 restarted with the card's fault hook fault ("": none) */
static void
card_restart(const char *fault)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "WALLETKEY_CARD_FAULT=%s "
	    "\"$WALLETKEY_SANDBOX/bin/card-restart\" 0 >/dev/null", fault);
	(void)bash(cmd, NULL);
}

static void
test_stale_page(void **state)
{
	wk_sync_result r;
	uint64_t acked0 = synced_then(3), head, acked;

	(void)state;
	/* the card answers the page before the one asked: records the
	 * issuer stored already */
	card_restart("audit-page-stale");
	sh_reset();
	assert_int_equal(sync_once(false, &r), WK_ERR_BAD_DATA);
	assert_int_equal(sh->failed, WK_SYNC_STEP_PAGE);
	assert_int_equal(sh->reports[WK_SYNC_STEP_PAGE], 0);
	assert_int_equal(sh->reports[WK_SYNC_STEP_ACKED], 0);
	card_restart("");
	card_log(&head, &acked);
	assert_int_equal(acked, acked0);
	money_check("a card answering a stale page", true, 0, true);
	/* the issuer's records are whole: the next sync goes on from them */
	sync_all("after the stale page", &r);
	assert_int_equal(r.missing_first, acked0 + 1);
	assert_int_equal(r.uploaded, r.head - acked0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync),
		cmocka_unit_test(test_crash_after_page),
		cmocka_unit_test(test_crash_between_acks),
		cmocka_unit_test(test_issuer_store_fails),
		cmocka_unit_test(test_stale_page),
	};
	int rc;

	if ((rc = fake_ready("WALLETKEY_READER_0",
	    "tests/middleware/wk_sync.sh")) != 0)
		return rc;
	if ((sh = fake_share(sizeof(*sh))) == NULL ||
	    getenv("WALLETKEY_SANDBOX") == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
