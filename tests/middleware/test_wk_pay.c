/*
 * wk_pay_relay's state store (middleware/wk_pay.c) with a real enrolled
 * card, the real issuer and a merchant, run by wk_pay.sh inside the
 * sandbox: the card's answer is kept in the store before it is posted and
 * forgotten once the issuer has it; a store that cannot keep it stops the
 * relay before it posts (the card gives the same answer again next time);
 * a crash after the issuer paid, before the record went (posted again: the
 * issuer tells the outcome again, nothing is paid twice); records that
 * are not this relay's are left alone; and a pending answer in the file
 * format the relay always wrote (pay-<id>.json, compact JSON) is found and
 * posted first. The money and payment checks run after every step.
 *
 * Needs WALLETKEY_READER_0 (card 0 enrolled), WK_TEST_ISSUER, WALLETKEY_PIN,
 * WK_TEST_DIR and the bash functions wk_pay.sh exports.
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
#include <jansson.h>

#include "flow_fake.h"
#include "walletkey.h"

/* what a relay saw, in shared memory: it outlives a child killed in it */
typedef struct seen {
	wk_pay_step kill_at;	/* the process dies after this step's report */
	unsigned order;		/* reports so far */
	unsigned first[WK_PAY_STEP_STOPPED + 1];	/* 1-based, 0 never */
	unsigned reports[WK_PAY_STEP_STOPPED + 1];
	bool posted_from_store;	/* a POSTING with no request message */
	unsigned asked;
	char status[24];	/* the last ANSWERED's */
	char error[48];
} seen;

static seen *sh;

static void
sh_reset(void)
{
	memset(sh, 0, sizeof(*sh));
}

/* bash -c CMD (bash itself: the functions wk_pay.sh exports reach it);
 * its first line of output into line */
static void
bash_line(const char *cmd, char *line, size_t cap)
{
	int fd[2], st;
	FILE *f;
	pid_t p;

	assert_int_equal(pipe(fd), 0);
	if ((p = fork()) == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execlp("bash", "bash", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	assert_true(p > 0);
	close(fd[1]);
	assert_non_null(f = fdopen(fd[0], "r"));
	line[0] = '\0';
	if (fgets(line, (int)cap, f) != NULL)
		line[strcspn(line, "\n")] = '\0';
	fclose(f);
	assert_int_equal(waitpid(p, &st, 0), p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s: status %d", cmd, st);
}

/* a payment of fen from card 0's account: its id */
static void
pay_create(unsigned fen, char id[WK_PAY_ID_HEX])
{
	char cmd[64], line[128];

	snprintf(cmd, sizeof(cmd), "pay_create \"$PAN0\" %u", fen);
	bash_line(cmd, line, sizeof(line));
	assert_int_equal(strlen(line), WK_PAY_ID_HEX - 1);
	memcpy(id, line, WK_PAY_ID_HEX);
}

/* the merchant's view of payment id */
static void
pay_status(const char *id, char *st, size_t cap)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "pay_get %s", id);
	bash_line(cmd, st, cap);
}

static void
assert_status(const char *id, const char *want)
{
	char st[32];

	pay_status(id, st, sizeof(st));
	assert_string_equal(st, want);
}

static wk_pay_decision
on_confirm(void *arg, const wk_pay_request *req, char *pin, size_t cap,
    size_t *pin_len)
{
	const char *p = getenv("WALLETKEY_PIN");

	(void)arg;
	(void)req;
	sh->asked++;
	if (p == NULL || strlen(p) > cap)
		return WK_PAY_SKIP;
	memcpy(pin, p, strlen(p));
	*pin_len = strlen(p);
	return WK_PAY_ACCEPT;
}

static void
on_progress(void *arg, const wk_pay_event *ev)
{
	(void)arg;
	sh->order++;
	if (sh->first[ev->step] == 0)
		sh->first[ev->step] = sh->order;
	sh->reports[ev->step]++;
	if (ev->step == WK_PAY_STEP_POSTING && ev->req != NULL &&
	    ev->req->msg_len == 0)
		sh->posted_from_store = true;
	if (ev->step == WK_PAY_STEP_ANSWERED && ev->result != NULL) {
		snprintf(sh->status, sizeof(sh->status), "%s", ev->result->status);
		snprintf(sh->error, sizeof(sh->error), "%s", ev->result->error);
	}
	if (sh->kill_at != 0 && ev->step == sh->kill_at)
		raise(SIGKILL);	/* a crash right after this step */
}

/* one pass of the relay for card 0; crash: in a child, which must die */
static int
relay(const wk_state_store *store, const char *dir, bool crash)
{
	wk_pay_relay_opts o = { .reader = getenv("WALLETKEY_READER_0"),
	    .issuer_url = getenv("WK_TEST_ISSUER"), .state_dir = dir,
	    .store = store };
	wk_ctx *ctx;
	pid_t p = 0;
	int rc, st;

	if (crash && (p = fork()) < 0)
		fail_msg("fork");
	if (p > 0) {
		assert_int_equal(waitpid(p, &st, 0), p);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		return WK_ERR_INTERNAL;
	}
	assert_int_equal(wk_ctx_new(&ctx), WK_OK);
	rc = wk_pay_relay(ctx, &o, on_confirm, on_progress, NULL);
	wk_ctx_free(&ctx);
	if (crash)
		_exit(rc == WK_OK ? 0 : 2);
	return rc;
}

static void
test_pay(void **state)
{
	char id[WK_PAY_ID_HEX];

	(void)state;
	fake_reset();
	sh_reset();
	pay_create(101, id);
	assert_int_equal(relay(&fake_store, NULL, false), WK_OK);
	assert_int_equal(sh->asked, 1);
	/* kept before it was posted, forgotten once the issuer had it */
	assert_int_equal(fake_sh->saves, 1);
	assert_int_equal(fake_sh->removes, 1);
	assert_int_equal(fake_records("pay-"), 0);
	assert_true(sh->first[WK_PAY_STEP_SIGNED] <
	    sh->first[WK_PAY_STEP_POSTING]);
	assert_string_equal(sh->status, "paid");
	assert_status(id, "paid");
	money_check("a payment", true, 0, true);
}

static void
test_store_fails(void **state)
{
	char id[WK_PAY_ID_HEX];

	(void)state;
	fake_reset();
	sh_reset();
	pay_create(102, id);
	fake_sh->fail_save = 1;
	/* the card answered; the store could not keep it: not posted */
	assert_int_equal(relay(&fake_store, NULL, false), WK_ERR_IO);
	assert_int_equal(sh->reports[WK_PAY_STEP_SIGNED], 1);
	assert_int_equal(sh->reports[WK_PAY_STEP_POSTING], 0);
	assert_int_equal(sh->reports[WK_PAY_STEP_ANSWERED], 0);
	assert_int_equal(fake_records("pay-"), 0);
	assert_status(id, "pending");
	money_check("a store that failed", true, 0, true);
	/* the next pass: the card gives its answer again, unasked */
	fake_sh->fail_save = 0;
	sh_reset();
	assert_int_equal(relay(&fake_store, NULL, false), WK_OK);
	assert_int_equal(sh->asked, 0);
	assert_int_equal(sh->reports[WK_PAY_STEP_SIGNED], 0);
	assert_string_equal(sh->status, "paid");
	assert_int_equal(fake_records("pay-"), 0);
	assert_status(id, "paid");
	money_check("after a store that failed", true, 0, true);
}

static void
test_crash_before_forget(void **state)
{
	char id[WK_PAY_ID_HEX], name[64];

	(void)state;
	fake_reset();
	sh_reset();
	pay_create(103, id);
	/* the issuer paid; the relay dies removing the record */
	fake_sh->kill_in_remove = true;
	(void)relay(&fake_store, NULL, true);
	fake_sh->kill_in_remove = false;
	snprintf(name, sizeof(name), "pay-%s", id);
	assert_non_null(fake_find(name));
	assert_status(id, "paid");
	money_check("killed before the record went", true, 0, true);
	/* posted again first: the issuer tells the same confirmation its
	 * outcome again and moves nothing (paid once: money_check) */
	sh_reset();
	assert_int_equal(relay(&fake_store, NULL, false), WK_OK);
	assert_true(sh->posted_from_store);
	assert_true(sh->first[WK_PAY_STEP_POSTING] < sh->first[WK_PAY_STEP_LIST]);
	assert_string_equal(sh->status, "paid");
	assert_int_equal(sh->asked, 0);
	assert_null(fake_find(name));
	assert_status(id, "paid");
	money_check("the record posted twice", true, 0, true);
}

static void
test_not_its_records(void **state)
{
	static const char *const others[] = {
		/* another card's answer */
		"pay-00112233445566778899aabbccddeeff",
		/* not JSON */
		"pay-0123456789abcdef0123456789abcdef",
		/* a name that is not an answer's */
		"pay-x",
		/* another payment's id inside */
		"pay-ffeeddccbbaa99887766554433221100",
	};
	static const char *const data[] = {
		"{\"format\":\"walletkey-pay-answer/1\",\"card_id\":"
		    "\"0000000000000000\",\"payment_id\":"
		    "\"00112233445566778899aabbccddeeff\",\"confirmation\":\"AAAA\"}",
		"not json",
		"{}",
		NULL,	/* card 0's id, another payment id: made below */
	};
	char card[17], mismatch[256];

	(void)state;
	fake_reset();
	sh_reset();
	card_hex(0, card);
	snprintf(mismatch, sizeof(mismatch), "{\"format\":"
	    "\"walletkey-pay-answer/1\",\"card_id\":\"%s\",\"payment_id\":"
	    "\"00000000000000000000000000000001\",\"confirmation\":\"AAAA\"}",
	    card);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(fake_put(others[i], data[i] != NULL ? data[i] :
		    mismatch), 0);
	assert_int_equal(relay(&fake_store, NULL, false), WK_OK);
	assert_int_equal(sh->reports[WK_PAY_STEP_POSTING], 0);
	assert_int_equal(fake_records("pay-"), 4);
	assert_int_equal(fake_sh->removes, 0);
	money_check("records not the relay's", true, 0, true);
}

/* an answer pay-<id>.json as the relay wrote it before the store */
static void
test_old_file(void **state)
{
	char dir[512], path[800], card[17], id[WK_PAY_ID_HEX];
	char got[8192], expect[8192];
	const char *conf;
	json_t *j;
	size_t n;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/pold", getenv("WK_TEST_DIR"));
	card_hex(0, card);
	sh_reset();
	pay_create(104, id);
	/* the relay dies right after it kept the card's answer */
	sh->kill_at = WK_PAY_STEP_POSTING;
	(void)relay(NULL, dir, true);
	assert_status(id, "pending");
	snprintf(path, sizeof(path), "%s/pay-%s.json", dir, id);
	assert_non_null(f = fopen(path, "r"));
	n = fread(got, 1, sizeof(got) - 1, f);
	fclose(f);
	got[n] = '\0';
	assert_non_null(j = json_loads(got, 0, NULL));
	assert_non_null(conf = json_string_value(json_object_get(j,
	    "confirmation")));
	/* the old relay's json_pack, dumped with JSON_COMPACT */
	snprintf(expect, sizeof(expect), "{\"format\":\"walletkey-pay-answer/1\","
	    "\"card_id\":\"%s\",\"payment_id\":\"%s\",\"confirmation\":\"%s\"}",
	    card, id, conf);
	assert_string_equal(got, expect);
	json_decref(j);
	/* written as the old relay wrote it, then the relay again */
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(expect, 1, strlen(expect), f), strlen(expect));
	assert_int_equal(fclose(f), 0);
	sh_reset();
	assert_int_equal(relay(NULL, dir, false), WK_OK);
	/* posted from the file, before the issuer's list was asked */
	assert_true(sh->posted_from_store);
	assert_true(sh->first[WK_PAY_STEP_POSTING] < sh->first[WK_PAY_STEP_LIST]);
	assert_true(sh->first[WK_PAY_STEP_ANSWERED] < sh->first[WK_PAY_STEP_LIST]);
	assert_int_equal(sh->asked, 0);
	assert_string_equal(sh->status, "paid");
	assert_int_equal(access(path, F_OK), -1);
	assert_status(id, "paid");
	money_check("an old answer file posted", true, 0, true);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pay),
		cmocka_unit_test(test_store_fails),
		cmocka_unit_test(test_crash_before_forget),
		cmocka_unit_test(test_not_its_records),
		cmocka_unit_test(test_old_file),
	};
	int rc;

	if ((rc = fake_ready("WALLETKEY_READER_0",
	    "tests/middleware/wk_pay.sh")) != 0)
		return rc;
	if ((sh = fake_share(sizeof(*sh))) == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
