/*
 * walletkey wallet load --issuer URL, wallet recover (card to card:
 * cmd_wallet_xfer.c): the remote load of
 * docs/remote-load.md, which is libwalletkey's wk_wallet_load and
 * wk_wallet_load_recover (the load in flight kept in the state directory
 * before every step that can change money, so a crash anywhere leaves a
 * file that `wallet recover`, or the next wallet command, settles with the
 * card's own proof); here only what is asked and printed.
 */
#include "cmd_wallet_remote.h"
#include "wallet_reports.h"
#include "wallet_state.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_hex.h"

static const char remote_usage[] =
    "usage: walletkey wallet load --issuer URL --amount YUAN [--yes]\n"
    "                 [--confirm-timeout S] [--pin-file FILE] [--state-dir DIR]\n"
    "       walletkey wallet recover [--pin-file FILE] [--state-dir DIR]\n"
    "       walletkey wallet transfer --from READER --to READER --amount YUAN [--yes]\n"
    "                 [--from-pin-file FILE] [--to-pin-file FILE] [--pin-file FILE]\n"
    "       walletkey wallet recover --from READER --to READER   (a transfer)\n"
    "       walletkey wallet unblock --request-out FILE | --script FILE\n";

/* test hook (docs/remote-load.md): WALLETKEY_FAULT_AT=STEP kills this
 * process with SIGKILL at STEP, or runs WALLETKEY_FAULT_CMD there instead
 * (the fault tests kill the card or the issuer with it);
 * WALLETKEY_FAULT_KILL_AT=STEP kills it at a second step */
static void
fault_point(const char *step)
{
	wallet_fault_point(step);
}

void
remote_say(wk_cli *cli, const char *fmt, ...)
{
	va_list ap;

	if (cli->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* the card's id (wkinfo applet) and the purse selected afterwards */
static int
open_card(wk_cli *cli, wk_card **card, uint8_t id[8], bool blocked_ok)
{
	wk_card_info info;
	int rc;

	if ((rc = wk_cli_card(cli, card)) != WK_OK ||
	    (rc = wk_card_get_info(*card, &info)) != WK_OK)
		return wk_cli_fail(cli, "read the card id", rc);
	memcpy(id, info.serial, 8);
	rc = wk_purse_select(*card, NULL, 0, NULL);
	/* a blocked purse still settles a load in flight (LOAD RECOVER) */
	if (rc != WK_OK && !(blocked_ok && rc == WK_ERR_PURSE_BLOCKED))
		return wk_cli_fail(cli, "select the purse", rc);
	return WK_CLI_OK;
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* a load's context for its callbacks: what the CLI prints and reads */
typedef struct lctx {
	wk_cli *cli;
	const wopts *o;
	const char *dir;	/* the state directory, for messages */
	const char *pan;	/* the enrolment's account, for the question */
	int status;		/* the exit status when the holder's answer
				 * (or its PIN) stopped the flow */
} lctx;

static void
record_path(const lctx *c, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s.json", c->dir, name);
}

/* an issuer's step that failed: its answer, then the error */
static int
issuer_event_fail(wk_cli *cli, const wk_load_event *ev, const char *what)
{
	if (ev->http_status != 0)
		fprintf(stderr, "walletkey: %s: issuer answered %ld %s: %s\n", what,
		    ev->http_status, ev->error, ev->message);
	else if (ev->message[0] != '\0')
		fprintf(stderr, "walletkey: %s: %s\n", what, ev->message);
	return wk_cli_fail(cli, what, ev->rc);
}

/* the store could not keep or drop the record */
static void
store_fail(const lctx *c, const wk_load_event *ev, bool removing)
{
	char path[1200];
	int e = errno;

	record_path(c, ev->record, path, sizeof(path));
	fprintf(stderr, "walletkey: cannot %s %s: %s\n", removing ? "remove" :
	    "write", path, strerror(e));
}

static void
load_failed(lctx *c, const wk_load_event *ev)
{
	wk_cli *cli = c->cli;
	char path[1200];
	bool io = ev->rc == WK_ERR_IO;

	switch (ev->failed) {
	case WK_LOAD_STEP_PIN:
		if (ev->rc == WK_ERR_WRONG_PIN)
			fprintf(stderr, "walletkey: wrong PIN, %d tries left\n",
			    ev->tries_left);
		(void)wk_cli_fail(cli, "verify the PIN", ev->rc);
		break;
	case WK_LOAD_STEP_REQUEST:
		if (io)
			store_fail(c, ev, false);
		else
			(void)wk_cli_fail(cli, "INITIALIZE FOR LOAD and sign the "
			    "request", ev->rc);
		break;
	case WK_LOAD_STEP_GRANT:
		if (io)
			store_fail(c, ev, false);
		else
			(void)issuer_event_fail(cli, ev, "request the load");
		break;
	case WK_LOAD_STEP_CREDIT:
		(void)wk_cli_fail(cli, "the card's answer to the grant (run "
		    "walletkey wallet recover)", ev->rc);
		break;
	case WK_LOAD_STEP_ANSWER:
		store_fail(c, ev, false);
		break;
	case WK_LOAD_STEP_CLOSE:
		if (io)
			store_fail(c, ev, true);
		else
			(void)issuer_event_fail(cli, ev, "send the card's answer "
			    "(run walletkey wallet recover)");
		break;
	case WK_LOAD_STEP_RECOVER:
		record_path(c, ev->record, path, sizeof(path));
		if (ev->rc == WK_ERR_BAD_DATA)
			fprintf(stderr, "walletkey: %s is damaged; keep it and ask "
			    "the issuer\n", path);
		else if (io)
			fprintf(stderr, "walletkey: cannot read %s: %s\n", path,
			    strerror(errno));
		else
			(void)wk_cli_fail(cli, "recover: select the purse", ev->rc);
		break;
	case WK_LOAD_STEP_RECOVER_ASK:
		(void)issuer_event_fail(cli, ev, "recover: ask the issuer");
		break;
	case WK_LOAD_STEP_RECOVER_SESSION:
		/* a load's state is its card's: the card's session reads it */
		(void)issuer_event_fail(cli, ev, "recover: open the card's session");
		break;
	case WK_LOAD_STEP_RECOVER_READ:
		if (ev->rc == WK_ERR_BAD_DATA)
			(void)wk_cli_fail(cli, "recover: read the load", ev->rc);
		else
			(void)issuer_event_fail(cli, ev, "recover: read the load");
		break;
	case WK_LOAD_STEP_RECOVER_PROOF:
		if (ev->rc == WK_ERR_WRONG_PIN)
			fprintf(stderr, "walletkey: wrong PIN, %d tries left\n",
			    ev->tries_left);
		(void)wk_cli_fail(cli, "recover: ask the card for its proof",
		    ev->rc);
		break;
	case WK_LOAD_STEP_RECOVER_CLOSE:
		if (io)
			store_fail(c, ev, true);
		else
			(void)issuer_event_fail(cli, ev, "recover: settle with the "
			    "issuer");
		break;
	default:
		(void)wk_cli_fail(cli, "load", ev->rc);
		break;
	}
}

/* the steps as `wallet load` and `wallet recover` print them; the fault
 * points of docs/remote-load.md sit between them */
static void
load_progress(void *arg, const wk_load_event *ev)
{
	lctx *c = arg;
	wk_cli *cli = c->cli;

	switch (ev->step) {
	case WK_LOAD_STEP_PIN:
		remote_say(cli, "1. PIN verified");
		break;
	case WK_LOAD_STEP_REQUEST:
		remote_say(cli, "2. the card signed the load request");
		fault_point("requested");
		break;
	case WK_LOAD_STEP_GRANT:
		remote_say(cli, "3. the issuer granted load %s", ev->load_id);
		fault_point("granted");
		break;
	case WK_LOAD_STEP_CREDIT:
		fault_point("credited");
		break;
	case WK_LOAD_STEP_ANSWER:
		if (ev->refused)
			remote_say(cli, "4. the card refused the grant");
		else
			remote_say(cli, "4. the card verified the grant and credited its "
			    "purse");
		fault_point("answered");
		break;
	case WK_LOAD_STEP_CLOSE:
		remote_say(cli, "5. the issuer marked load %s %s", ev->load_id,
		    ev->status);
		break;
	case WK_LOAD_STEP_RECOVER:
		remote_say(cli, "recover: a load was left unfinished; settling it first");
		break;
	case WK_LOAD_STEP_RECOVER_NONE:
		remote_say(cli, "recover: the issuer never granted this request (%s);"
		    " nothing to settle", ev->error);
		break;
	case WK_LOAD_STEP_RECOVER_DONE:
		remote_say(cli, "recover: load %s is already %s", ev->load_id, ev->status);
		break;
	case WK_LOAD_STEP_RECOVER_SAVED:
		remote_say(cli, "recover: sending the card's saved %s for load %s",
		    ev->what, ev->load_id);
		break;
	case WK_LOAD_STEP_RECOVER_PIN:
		remote_say(cli, "recover: the card needs the purse PIN to state that "
		    "sequence number %u was never credited", (unsigned)ev->seq);
		break;
	case WK_LOAD_STEP_RECOVER_PROOF:
		remote_say(cli, "recover: the card %s sequence number %u",
		    ev->credited ? "proves it credited" :
		    "states it never credited", (unsigned)ev->seq);
		break;
	case WK_LOAD_STEP_RECOVER_CLOSE:
		remote_say(cli, "recover: load %s is %s", ev->load_id, ev->status);
		break;
	case WK_LOAD_STEP_ORPHAN:
		fprintf(stderr, "walletkey: a load left pending (%s) is now %s;"
		    " run the load again\n", ev->load_id, ev->status);
		break;
	case WK_LOAD_STEP_FAILED:
		load_failed(c, ev);
		break;
	default:
		break;
	}
}

/* the holder says yes within the timeout; anything else cancels */
bool
remote_confirm(long timeout)
{
	struct pollfd pfd;
	char line[16];
	FILE *tty;
	bool ok = false;

	if ((tty = fopen("/dev/tty", "r+")) == NULL)
		return false;
	fprintf(tty, "load? [y/N] (%ld s) ", timeout);
	fflush(tty);
	pfd.fd = fileno(tty);
	pfd.events = POLLIN;
	if (poll(&pfd, 1, (int)(timeout * 1000)) == 1 &&
	    fgets(line, sizeof(line), tty) != NULL)
		ok = line[0] == 'y' || line[0] == 'Y';
	else
		fputc('\n', tty);
	fclose(tty);
	return ok;
}

/*
 * what the load asks: the purse PIN (--pin-file, WALLETKEY_PIN or the
 * terminal), then the load shown and confirmed unless --yes; for the
 * recovery's statement that a sequence number was never credited, the
 * PIN alone
 */
static bool
load_confirm(void *arg, const wk_load_question *q, char *pin, size_t cap,
    size_t *pin_len)
{
	lctx *c = arg;
	wk_cli *cli = c->cli;
	const wopts *o = c->o;
	char amt[24];
	int st;

	if ((st = wallet_read_secret(o->pin_file, "WALLETKEY_PIN", "purse PIN",
	    pin, cap, pin_len)) != WK_CLI_OK) {
		c->status = st;
		return false;
	}
	if (q->ask != WK_LOAD_ASK_LOAD)
		return true;
	wk_purse_amount_format(q->amount, amt, sizeof(amt));
	if (!cli->json || !o->yes) {
		fprintf(cli->json ? stderr : stdout,
		    "load %s yuan from account %s at %s onto card %s\n", amt,
		    c->pan, o->issuer, q->card_id);
		fflush(stdout);
	}
	if (!o->yes && !remote_confirm(o->confirm_timeout)) {
		sodium_memzero(pin, cap);
		*pin_len = 0;
		fprintf(stderr, "walletkey: load cancelled; nothing was sent\n");
		c->status = WK_CLI_FAILED;
		return false;
	}
	return true;
}

static int
recover_card(wk_cli *cli, wk_card *card, const char *dir, const wopts *o,
    bool *had)
{
	wk_load_opts lo = { .state_dir = dir };
	lctx c = { .cli = cli, .o = o, .dir = dir, .status = WK_CLI_FAILED };

	if (wk_wallet_load_recover(card, &lo, load_confirm, load_progress, &c,
	    had) != WK_OK)
		return WK_CLI_FAILED;
	return WK_CLI_OK;
}

static int
cmd_load(wk_cli *cli, const wopts *o)
{
	char dir[1024], cpath[1100], amt[24], hex[17];
	uint8_t id[8];
	wk_load_opts lo = { .kind = o->kind, .issuer_url = o->issuer };
	wk_load_result res;
	wk_issuer *is = NULL;
	wk_card *card = NULL;
	json_t *cst = NULL;
	const char *pan;
	uint32_t amount;
	lctx c = { .cli = cli, .o = o, .dir = dir, .status = WK_CLI_FAILED };
	int status, rc;

	if (o->amount == NULL || wk_purse_amount_parse(o->amount, &amount) != WK_OK)
		return wk_cli_usage(cli, "wallet load --issuer needs --amount YUAN "
		    "(more than 0, at most 2 decimals)");
	if ((rc = wk_issuer_new(o->issuer, &is)) != WK_OK)
		return wk_cli_usage(cli, "--issuer takes an http:// or https:// URL");
	if ((status = wallet_state_dir(o->state_dir, dir, sizeof(dir))) != WK_CLI_OK)
		goto out;
	if ((status = open_card(cli, &card, id, false)) != WK_CLI_OK)
		goto out;
	status = WK_CLI_FAILED;
	wk_hex_encode(id, sizeof(id), hex);
	wallet_state_path(dir, "card", id, cpath, sizeof(cpath));
	if (wallet_state_read(cpath, &cst) != 0 || cst == NULL ||
	    (pan = jstr(cst, "pan")) == NULL) {
		fprintf(stderr, "walletkey: card %s is not enrolled here: run "
		    "walletkey enroll first\n", hex);
		goto out;
	}
	c.pan = pan;
	lo.amount = amount;
	lo.state_dir = dir;
	rc = wk_wallet_load(card, is, &lo, load_confirm, load_progress, &c, &res);
	if (rc == WK_ERR_PIN_BLOCKED) {
		/* a blocked purse PIN: no load, but this contact with the
		 * issuer delivers the PIN reload the bank ordered
		 * (docs/holder.md) */
		status = wallet_pin_blocked_contact(cli, card, is, hex,
		    "wallet load");
		goto out;
	}
	if (rc == WK_ERR_CANCELLED) {
		status = c.status;
		goto out;
	}
	if (res.refused && res.status[0] != '\0') {
		fprintf(stderr, "walletkey: the load was refused by the card and "
		    "reversed by the issuer\n");
		goto out;
	}
	if (rc != WK_OK)
		goto out;
	wk_purse_amount_format(res.balance, amt, sizeof(amt));
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:s, s:s, s:I, s:I, "
		    "s:{s:f, s:f, s:f, s:f, s:f}}", "load_id",
		    res.load_id, "status", res.status, "amount", (json_int_t)amount,
		    "balance", (json_int_t)res.balance, "steps_ms", "pin",
		    res.step_ms[0], "card_request", res.step_ms[1], "issuer_grant",
		    res.step_ms[2], "card_credit", res.step_ms[3], "issuer_close",
		    res.step_ms[4]));
	else {
		printf("balance: %s\n", amt);
		status = WK_CLI_OK;
	}
out:
	json_decref(cst);
	wk_issuer_free(&is);
	return status;
}


static int
cmd_recover(wk_cli *cli, const wopts *o)
{
	char dir[1024];
	uint8_t id[8];
	wk_card *card;
	bool had;
	int status;

	if ((status = wallet_state_dir(o->state_dir, dir, sizeof(dir))) != WK_CLI_OK)
		return status;
	if ((status = open_card(cli, &card, id, true)) != WK_CLI_OK)
		return status;
	if ((status = recover_card(cli, card, dir, o, &had)) != WK_CLI_OK)
		return status;
	if (cli->json)
		return wk_cli_json_print(json_pack("{s:b}", "settled", had));
	if (!had)
		printf("nothing to recover\n");
	return WK_CLI_OK;
}

bool
wk_cmd_wallet_remote_owns(int argc, char **argv)
{
	if (argc < 2)
		return false;
	if (strcmp(argv[1], "transfer") == 0 || strcmp(argv[1], "unblock") == 0 ||
	    strcmp(argv[1], "session") == 0)
		return true;
	if (strcmp(argv[1], "recover") == 0) {
		/* a terminal's purchase (--psam, --sam) is cmd_wallet.c's */
		for (int i = 2; i < argc; i++)
			if (strcmp(argv[i], "--psam") == 0 ||
			    strcmp(argv[i], "--sam") == 0)
				return false;
		return true;
	}
	if (strcmp(argv[1], "load") != 0)
		return false;
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--issuer") == 0)
			return true;
	return false;
}

void
wk_cmd_wallet_remote_auto(wk_cli *cli, int argc, char **argv)
{
	char dir[1024], path[1100];
	uint8_t id[8];
	wk_card_info info;
	wk_card *card;
	bool had;
	const char *sd = NULL, *pin_file = NULL;
	int rc;

	for (int i = 2; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--state-dir") == 0)
			sd = argv[i + 1];
		if (strcmp(argv[i], "--pin-file") == 0)
			pin_file = argv[i + 1];
	}
	if (argc < 2 || strcmp(argv[1], "sam-init") == 0 ||
	    wallet_state_dir(sd, dir, sizeof(dir)) != WK_CLI_OK ||
	    wk_cli_card(cli, &card) != WK_OK ||
	    wk_card_get_info(card, &info) != WK_OK)
		return;
	memcpy(id, info.serial, 8);
	wallet_state_path(dir, "load", id, path, sizeof(path));
	if (access(path, F_OK) != 0)
		return;
	rc = wk_purse_select(card, NULL, 0, NULL);
	if (rc == WK_OK || rc == WK_ERR_PURSE_BLOCKED) {
		wopts o = { .pin_file = pin_file, .quiet_auto = true };

		(void)recover_card(cli, card, dir, &o, &had);
	}
}

int
wk_cmd_wallet_remote(wk_cli *cli, int argc, char **argv)
{
	wopts o;
	int status;

	if (strcmp(argv[1], "unblock") == 0)
		return wk_cmd_wallet_unblock(cli, argc, argv);
	if (strcmp(argv[1], "session") == 0)
		return wk_cmd_wallet_session(cli, argc, argv);
	if (wk_cli_wants_help(argc, argv)) {
		fputs(remote_usage, stdout);
		return WK_CLI_OK;
	}
	if ((status = wallet_cli_parse(cli, argc, argv, &o, true)) != WK_CLI_OK)
		return status;
	if (strcmp(argv[1], "load") == 0) {
		if (o.issuer == NULL)
			return wk_cli_usage(cli, "wallet load --issuer needs a URL");
		return cmd_load(cli, &o);
	}
	if (strcmp(argv[1], "recover") == 0)
		return o.from != NULL || o.to != NULL ? remote_cmd_transfer(cli, &o, true) :
		    cmd_recover(cli, &o);
	return remote_cmd_transfer(cli, &o, false);
}
