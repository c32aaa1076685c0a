/*
 * walletkey wallet transfer --from READER --to READER, and wallet recover
 * --from --to: card to card (docs/remote-load.md), libwalletkey's
 * wk_wallet_transfer and wk_wallet_transfer_recover; here only what is
 * asked and printed.
 */
#include "cmd_wallet_remote.h"
#include "wallet_reports.h"
#include "wallet_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wk_hex.h"

typedef struct xctx {
	wk_cli *cli;
	const wopts *o;
	const char *dir;
	int status;		/* the exit status when an answer stopped it */
	bool recover_only;
	bool asked;		/* past the recovery: the transfer was asked */
} xctx;

/* a card's purse PIN: its own --from/--to-pin-file, else its own
 * WALLETKEY_FROM_PIN / WALLETKEY_TO_PIN, else --pin-file, else
 * WALLETKEY_PIN, else asked on the terminal */
static bool
xfer_confirm(void *arg, const wk_xfer_question *q, char *pin, size_t cap,
    size_t *pin_len)
{
	xctx *c = arg;
	const wopts *o = c->o;
	const char *side_file = q->sender ? o->from_pin_file : o->to_pin_file;
	const char *side_env = q->sender ? "WALLETKEY_FROM_PIN" :
	    "WALLETKEY_TO_PIN";
	const char *file = side_file, *env = side_env;
	char amt[24];
	int st;

	if (q->ask == WK_XFER_ASK_TRANSFER) {
		c->asked = true;
		wk_purse_amount_format(q->amount, amt, sizeof(amt));
		if (!c->cli->json)
			printf("transfer %s yuan from card %s to card %s\n", amt,
			    q->from, q->to);
		if (!o->yes && !remote_confirm(o->confirm_timeout)) {
			fprintf(stderr, "walletkey: transfer cancelled; nothing was "
			    "sent\n");
			c->status = WK_CLI_FAILED;
			return false;
		}
		return true;
	}
	if (side_file == NULL && getenv(side_env) == NULL) {
		file = o->pin_file;
		env = "WALLETKEY_PIN";
	}
	if ((st = wallet_read_secret(file, env, q->sender ?
	    "sending card's purse PIN" : "receiving card's purse PIN", pin, cap,
	    pin_len)) != WK_CLI_OK) {
		/* a PIN missing in the recovery before it is exit 1 */
		if (c->asked)
			c->status = st;
		return false;
	}
	return true;
}

static void
xfer_failed(xctx *c, const wk_xfer_event *ev)
{
	wk_cli *cli = c->cli;
	char path[1200];

	if (ev->rc == WK_ERR_IO && ev->record != NULL) {
		snprintf(path, sizeof(path), "%s/%s.json", c->dir, ev->record);
		fprintf(stderr, "walletkey: cannot %s %s: %s\n",
		    ev->failed == WK_XFER_STEP_SETTLED ? "remove" : "write", path,
		    strerror(errno));
		return;
	}
	switch (ev->failed) {
	case WK_XFER_STEP_CARDS:
		if (strcmp(ev->what, "card id") == 0) {
			fprintf(stderr, "walletkey: reader %s:\n", ev->sender ?
			    c->o->from : c->o->to);
			(void)wk_cli_fail(cli, "open the card", ev->rc);
		} else if (strcmp(ev->what, "certificate") == 0) {
			fprintf(stderr, "walletkey: card %s has no wallet "
			    "certificate: run walletkey enroll\n", ev->sender ?
			    ev->from : ev->to);
			(void)wk_cli_fail(cli, "read the wallet certificate", ev->rc);
		} else {
			(void)wk_cli_fail(cli, "select the purse", ev->rc);
		}
		break;
	case WK_XFER_STEP_RECOVER:
		if (ev->record != NULL) {
			snprintf(path, sizeof(path), "%s/%s.json", c->dir,
			    ev->record);
			fprintf(stderr, "walletkey: %s is damaged\n", path);
		} else {
			fprintf(stderr, "walletkey: cannot read %s: %s\n", c->dir,
			    strerror(errno));
		}
		break;
	case WK_XFER_STEP_VOIDED:
		(void)wk_cli_fail(cli, "void the transfer", ev->rc);
		break;
	case WK_XFER_STEP_HELD:
		(void)wk_cli_fail(cli, "ask the sending card for its token", ev->rc);
		break;
	case WK_XFER_STEP_TO_PIN:
	case WK_XFER_STEP_FROM_PIN:
		if (ev->rc == WK_ERR_WRONG_PIN)
			fprintf(stderr, "walletkey: wrong PIN, %d tries left\n",
			    ev->tries_left);
		(void)wk_cli_fail(cli, ev->sender ? "verify the sending card's PIN" :
		    "verify the receiving card's PIN", ev->rc);
		break;
	case WK_XFER_STEP_REDEEM:
		(void)wk_cli_fail(cli, "redeem the token on the receiving card",
		    ev->rc);
		break;
	case WK_XFER_STEP_CHALLENGES:
		(void)wk_cli_fail(cli, "exchange the cards' challenges", ev->rc);
		break;
	case WK_XFER_STEP_AUTH:
		(void)wk_cli_fail(cli, "authenticate the cards to each other",
		    ev->rc);
		break;
	case WK_XFER_STEP_CHALLENGE:
		(void)wk_cli_fail(cli, "the receiving card's challenge", ev->rc);
		break;
	case WK_XFER_STEP_SENT:
		(void)wk_cli_fail(cli, "debit the sending card", ev->rc);
		break;
	default:
		/* QUEUED with a token that does not parse: as before, no word */
		break;
	}
}

/* the steps as `wallet transfer` prints them, the fault points between */
static void
xfer_progress(void *arg, const wk_xfer_event *ev)
{
	xctx *c = arg;
	wk_cli *cli = c->cli;
	char amt[24];

	switch (ev->step) {
	case WK_XFER_STEP_RECOVER:
		remote_say(cli, "transfer: settling an unfinished transfer (%s.json)",
		    ev->record);
		break;
	case WK_XFER_STEP_VOIDED:
		remote_say(cli, "transfer: card %s never sent it; nothing moves", ev->from);
		break;
	case WK_XFER_STEP_HELD:
		remote_say(cli, "transfer: the sending card still holds the token");
		break;
	case WK_XFER_STEP_REDEEM:
		wallet_fault_point("xfer-saved");
		break;
	case WK_XFER_STEP_QUEUED:
		wallet_fault_point("xfer-queued");
		break;
	case WK_XFER_STEP_SETTLED:
		if (ev->already)
			remote_say(cli, "transfer: card %s had already redeemed the token",
			    ev->to);
		else if (ev->amount == 0)
			remote_say(cli, "transfer: void token redeemed; the challenge is "
			    "closed");
		else
			remote_say(cli, "transfer: card %s redeemed the token; its balance "
			    "is %u.%02u", ev->to, ev->balance / 100,
			    ev->balance % 100);
		break;
	case WK_XFER_STEP_AUTH:
		remote_say(cli, "1. the cards authenticated each other");
		break;
	case WK_XFER_STEP_TO_PIN:
		if (!ev->recovering)
			remote_say(cli, "2. the receiving card's PIN is verified");
		break;
	case WK_XFER_STEP_CHALLENGE:
		wallet_fault_point("xfer-challenged");
		break;
	case WK_XFER_STEP_FROM_PIN:
		remote_say(cli, "3. the sending card's PIN is verified");
		break;
	case WK_XFER_STEP_SENT:
		wallet_fault_point("xfer-sent");
		break;
	case WK_XFER_STEP_TOKEN:
		wk_purse_amount_format(ev->amount, amt, sizeof(amt));
		remote_say(cli, "4. card %s debited %s and signed the token", ev->from,
		    amt);
		break;
	case WK_XFER_STEP_DONE:
		remote_say(cli, "5. transfer complete");
		break;
	case WK_XFER_STEP_FAILED:
		xfer_failed(c, ev);
		break;
	default:
		break;
	}
}

/* reports the queued transfers between the two cards; says what stays */
static void
xfer_report(wk_cli *cli, const char *dir, const char *from, const char *to)
{
	unsigned done = 0, left = 0, d2 = 0, l2 = 0;

	if (wallet_reports_flush(cli, dir, from, NULL, &done, &left) != 0 ||
	    wallet_reports_flush(cli, dir, to, NULL, &d2, &l2) != 0)
		return;
	done += d2;
	left = l2 > left ? l2 : left;
	if (done > 0)
		remote_say(cli, "transfer: reported to the issuer (%u token%s)", done,
		    done == 1 ? "" : "s");
	if (left > 0)
		remote_say(cli, "transfer: %u token%s not reported yet: either card's next"
		    " 'walletkey audit sync' reports %s", left, left == 1 ? "" : "s",
		    left == 1 ? "it" : "them");
}

static int
xcard_open(wk_cli *cli, const char *reader, wk_card **card)
{
	wk_ctx *ctx;
	int rc;

	if ((rc = wk_cli_ctx(cli, &ctx)) != WK_OK ||
	    (rc = wk_card_open(ctx, reader, card)) != WK_OK) {
		fprintf(stderr, "walletkey: reader %s:\n", reader);
		return wk_cli_fail(cli, "open the card", rc);
	}
	return WK_CLI_OK;
}

int
remote_cmd_transfer(wk_cli *cli, const wopts *o, bool recover_only)
{
	char dir[1024];
	wk_card *from = NULL, *to = NULL;
	wk_xfer_opts xo = { .state_dir = dir };
	wk_xfer_result res;
	xctx c = { .cli = cli, .o = o, .dir = dir, .status = WK_CLI_FAILED,
	    .recover_only = recover_only };
	uint32_t amount = 0;
	int status = WK_CLI_FAILED, rc;

	if (o->from == NULL || o->to == NULL)
		return wk_cli_usage(cli, "wallet %s needs --from READER --to READER",
		    recover_only ? "recover" : "transfer");
	if (!recover_only && (o->amount == NULL ||
	    wk_purse_amount_parse(o->amount, &amount) != WK_OK))
		return wk_cli_usage(cli, "wallet transfer needs --amount YUAN (more "
		    "than 0, at most 2 decimals)");
	if (strcmp(o->from, o->to) == 0)
		return wk_cli_usage(cli, "--from and --to name the same reader");
	if ((status = wallet_state_dir(o->state_dir, dir, sizeof(dir))) != WK_CLI_OK)
		return status;
	if ((status = xcard_open(cli, o->from, &from)) != WK_CLI_OK ||
	    (status = xcard_open(cli, o->to, &to)) != WK_CLI_OK)
		goto out;
	status = WK_CLI_FAILED;
	xo.amount = amount;
	if (recover_only) {
		/* what the recovery stopped at is a failure (exit 1) */
		if (wk_wallet_transfer_recover(from, to, &xo, xfer_confirm,
		    xfer_progress, &c, &res) != WK_OK)
			goto out;
		if (res.recovered == 0)
			remote_say(cli, "nothing to recover");
		xfer_report(cli, dir, res.from, res.to);
		status = WK_CLI_OK;
		goto out;
	}
	rc = wk_wallet_transfer(from, to, &xo, xfer_confirm, xfer_progress, &c,
	    &res);
	if (rc != WK_OK) {
		status = c.status;
		goto out;
	}
	xfer_report(cli, dir, res.from, res.to);
	status = WK_CLI_OK;
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:s, s:s, s:I}", "from",
		    res.from, "to", res.to, "amount", (json_int_t)amount));
out:
	wk_card_free(&from);
	wk_card_free(&to);
	return status;
}
