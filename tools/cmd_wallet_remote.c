/*
 * walletkey wallet load --issuer URL, wallet recover: the remote load of
 * docs/remote-load.md. The load in flight is kept on disk (wallet_state.h)
 * before every step that can change money, so a crash anywhere leaves a
 * file that `wallet recover` (or the next wallet command) settles with the
 * card's own proof.
 */
#include "cli.h"
#include "wallet_reports.h"
#include "wallet_state.h"

#include <dirent.h>
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

#define CONFIRM_TIMEOUT_DEFAULT 60

static const uint8_t remote_terminal[6] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };

typedef struct ropts {
	const char *issuer;
	const char *amount;
	const char *pin_file;
	const char *state_dir;
	const char *from;
	const char *to;
	const char *from_pin_file;
	const char *to_pin_file;
	long confirm_timeout;
	bool yes;
	bool quiet_auto;	/* the recovery run before another command */
	wk_purse_kind kind;
} ropts;

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

static void
say(wk_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(wk_cli *cli, const char *fmt, ...)
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

/* milliseconds since t0 (CLOCK_MONOTONIC), for the per-step split of a load */
static double
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int
issuer_fail(wk_cli *cli, wk_issuer *is, const char *what, int rc)
{
	if (wk_issuer_http_status(is) != 0)
		fprintf(stderr, "walletkey: %s: issuer answered %ld %s: %s\n", what,
		    wk_issuer_http_status(is), wk_issuer_error_code(is),
		    wk_issuer_error_message(is));
	else if (wk_issuer_error_message(is)[0] != '\0')
		fprintf(stderr, "walletkey: %s: %s\n", what,
		    wk_issuer_error_message(is));
	return wk_cli_fail(cli, what, rc);
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

/* settles the load in the file at path; WK_CLI_OK when it is closed (the
 * file is then removed), else an exit status with the file kept */
/*
 * the card's statement that seq was never credited burns it, which needs
 * the purse PIN (docs/remote-load.md): asked only when the card says so,
 * from --pin-file, WALLETKEY_PIN or the terminal
 */
static int
recover_with_pin(wk_cli *cli, wk_card *card, const char *pin_file,
    wk_purse_kind kind, const uint8_t lid[16], uint16_t seq, uint8_t *ans,
    size_t *ans_len, bool *credited)
{
	char pin[16];
	size_t cap = *ans_len, n = 0;
	int rc, tries = -1, st;

	rc = wk_wallet_recover(card, kind, lid, seq, ans, ans_len, credited);
	if (rc != WK_ERR_AUTH_REQUIRED)
		return rc;
	say(cli, "recover: the card needs the purse PIN to state that sequence"
	    " number %u was never credited", (unsigned)seq);
	if ((st = wallet_read_secret(pin_file, "WALLETKEY_PIN", "purse PIN", pin,
	    sizeof(pin), &n)) != WK_CLI_OK)
		return WK_ERR_AUTH_REQUIRED;
	rc = wk_purse_verify_pin(card, pin, n, &tries);
	sodium_memzero(pin, sizeof(pin));
	if (rc != WK_OK) {
		if (rc == WK_ERR_WRONG_PIN)
			fprintf(stderr, "walletkey: wrong PIN, %d tries left\n", tries);
		return rc;
	}
	*ans_len = cap;
	return wk_wallet_recover(card, kind, lid, seq, ans, ans_len, credited);
}

static int
settle(wk_cli *cli, wk_card *card, const char *path, json_t *st,
    const char *pin_file)
{
	uint8_t req[WK_WALLET_MSG_MAX], ans[WK_WALLET_MSG_MAX], lid[16];
	size_t req_len = 0, ans_len = 0;
	wk_issuer_load *ld = NULL;
	wk_issuer *is = NULL;
	const char *load_id = jstr(st, "load_id");
	const char *what;
	json_int_t kind = json_integer_value(json_object_get(st, "kind"));
	json_int_t seq = json_integer_value(json_object_get(st, "seq"));
	bool credited;
	int status = WK_CLI_FAILED, rc;

	if ((ld = calloc(1, sizeof(*ld))) == NULL)
		return wk_cli_fail(cli, "recover", WK_ERR_MEMORY);
	if (jstr(st, "issuer") == NULL ||
	    (rc = wk_issuer_new(jstr(st, "issuer"), &is)) != WK_OK ||
	    wallet_unb64(json_object_get(st, "request"), req, sizeof(req),
	    &req_len) != 0 || (kind != WK_PURSE_ED && kind != WK_PURSE_EP)) {
		fprintf(stderr, "walletkey: %s is damaged; keep it and ask the issuer\n",
		    path);
		goto out;
	}
	if (load_id == NULL) {
		/* the request may or may not have reached the issuer: the same
		 * request again returns the same grant while it is pending */
		rc = wk_issuer_load_start(is, req, req_len, ld);
		if (rc == WK_ERR_ISSUER) {
			say(cli, "recover: the issuer never granted this request (%s);"
			    " nothing to settle", wk_issuer_error_code(is));
			goto closed;
		}
		if (rc != WK_OK) {
			status = issuer_fail(cli, is, "recover: ask the issuer", rc);
			goto out;
		}
		load_id = ld->load_id;
		seq = ld->seq;
	} else if ((rc = wk_issuer_session_open(card, is, NULL, 0, NULL,
	    NULL)) != WK_OK) {
		/* a load's state is its card's: the card's session reads it */
		status = issuer_fail(cli, is, "recover: open the card's session",
		    rc);
		goto out;
	} else if ((rc = wk_issuer_load_get(is, load_id, ld)) != WK_OK) {
		status = issuer_fail(cli, is, "recover: read the load", rc);
		goto out;
	}
	if (strcmp(ld->status, "pending") != 0) {
		say(cli, "recover: load %s is already %s", ld->load_id, ld->status);
		goto closed;
	}
	if (wk_hex_decode(ld->load_id, lid, sizeof(lid)) != sizeof(lid))
		goto out;
	/* the card's answer, when it was saved; else the card's proof */
	what = jstr(st, "answer_kind");
	if (what != NULL && wallet_unb64(json_object_get(st, "answer"), ans,
	    sizeof(ans), &ans_len) == 0) {
		say(cli, "recover: sending the card's saved %s for load %s", what,
		    ld->load_id);
	} else {
		ans_len = sizeof(ans);
		rc = recover_with_pin(cli, card, pin_file, (wk_purse_kind)kind, lid,
		    (uint16_t)seq, ans, &ans_len, &credited);
		if (rc != WK_OK) {
			status = wk_cli_fail(cli, "recover: ask the card for its proof",
			    rc);
			goto out;
		}
		what = "proof";
		say(cli, "recover: the card %s sequence number %u",
		    credited ? "proves it credited" : "states it never credited",
		    (unsigned)seq);
	}
	if ((rc = wk_issuer_load_close(is, ld->load_id, what, ans, ans_len,
	    ld)) != WK_OK) {
		status = issuer_fail(cli, is, "recover: settle with the issuer", rc);
		goto out;
	}
	say(cli, "recover: load %s is %s", ld->load_id, ld->status);
closed:
	if (wallet_state_remove(path) != 0)
		goto out;
	status = WK_CLI_OK;
out:
	free(ld);
	wk_issuer_free(&is);
	return status;
}

static int
recover_card(wk_cli *cli, wk_card *card, const char *dir, const uint8_t id[8],
    const char *pin_file, bool *had)
{
	char path[1100];
	json_t *st = NULL;
	int status;

	*had = false;
	wallet_state_path(dir, "load", id, path, sizeof(path));
	if (wallet_state_read(path, &st) != 0)
		return WK_CLI_FAILED;
	if (st == NULL)
		return WK_CLI_OK;
	*had = true;
	say(cli, "recover: a load was left unfinished; settling it first");
	status = settle(cli, card, path, st, pin_file);
	json_decref(st);
	if (status == WK_CLI_OK)
		(void)wk_purse_select(card, NULL, 0, NULL);
	return status;
}

/* the holder says yes within the timeout; anything else cancels */
static bool
confirm(long timeout)
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


/* the issuer already granted this seq in a load the state directory does
 * not know (its file was lost): settle it with the card's proof, named by
 * the issuer's seq_used message "... (load <id>)" */
static void
settle_orphan(wk_card *card, wk_issuer *is, wk_purse_kind kind,
    const uint8_t *req, size_t req_len)
{
	const char *m = strstr(wk_issuer_error_message(is), "(load ");
	uint8_t lid[16], ans[WK_WALLET_MSG_MAX];
	size_t alen = sizeof(ans);
	char id[33];
	wk_wallet_msg_info info;
	wk_issuer_load *ld;
	bool credited;

	if (m == NULL || strlen(m) < 6 + 32 || wk_wallet_msg_info_get(req, req_len,
	    &info) != WK_OK)
		return;
	memcpy(id, m + 6, 32);
	id[32] = '\0';
	if (wk_hex_decode(id, lid, sizeof(lid)) != sizeof(lid) ||
	    (ld = calloc(1, sizeof(*ld))) == NULL)
		return;
	if (wk_wallet_recover(card, kind, lid, info.seq, ans, &alen,
	    &credited) == WK_OK &&
	    wk_issuer_load_close(is, id, "proof", ans, alen, ld) == WK_OK)
		fprintf(stderr, "walletkey: a load left pending (%s) is now %s;"
		    " run the load again\n", id, ld->status);
	free(ld);
}

static int
save(const char *path, json_t *st)
{
	return wallet_state_write(path, st) == 0 ? 0 : -1;
}

static int
cmd_load(wk_cli *cli, const ropts *o)
{
	char dir[1024], path[1100], cpath[1100], pin[16], amt[24], hex[17];
	uint8_t id[8], req[WK_WALLET_MSG_MAX], ans[WK_WALLET_MSG_MAX];
	size_t pin_len = 0, req_len = sizeof(req), ans_len = sizeof(ans);
	wk_issuer_load *ld = NULL;
	wk_issuer *is = NULL;
	wk_card *card = NULL;
	json_t *st = NULL, *cst = NULL;
	const char *pan;
	uint32_t amount, bal = 0;
	bool had, refused;
	int status, rc, tries = -1;
	/* time of each protocol step, printed with --json (bench/remote.sh) */
	struct timespec t_step;
	double step_ms[5] = { 0 };

	if (o->amount == NULL || wk_purse_amount_parse(o->amount, &amount) != WK_OK)
		return wk_cli_usage(cli, "wallet load --issuer needs --amount YUAN "
		    "(more than 0, at most 2 decimals)");
	if ((rc = wk_issuer_new(o->issuer, &is)) != WK_OK)
		return wk_cli_usage(cli, "--issuer takes an http:// or https:// URL");
	if ((status = wallet_state_dir(o->state_dir, dir, sizeof(dir))) != WK_CLI_OK)
		goto out;
	status = WK_CLI_FAILED;
	if ((ld = calloc(1, sizeof(*ld))) == NULL)
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
	if ((status = recover_card(cli, card, dir, id, o->pin_file, &had)) !=
	    WK_CLI_OK)
		goto out;
	status = WK_CLI_FAILED;
	/* a blocked purse PIN: no load, but this contact with the issuer
	 * delivers the PIN reload the bank ordered (docs/holder.md) */
	{
		bool verified;

		if (wk_purse_pin_status(card, &tries, &verified) == WK_OK &&
		    !verified && tries == 0) {
			status = wallet_pin_blocked_contact(cli, card, is, hex,
			    "wallet load");
			goto out;
		}
		tries = -1;
	}
	/* 1: PIN, amount, confirmation; nothing is sent before */
	if ((status = wallet_read_secret(o->pin_file, "WALLETKEY_PIN", "purse PIN",
	    pin, sizeof(pin), &pin_len)) != WK_CLI_OK)
		goto out;
	status = WK_CLI_FAILED;
	wk_purse_amount_format(amount, amt, sizeof(amt));
	if (!cli->json || !o->yes) {
		fprintf(cli->json ? stderr : stdout,
		    "load %s yuan from account %s at %s onto card %s\n", amt, pan,
		    o->issuer, hex);
		fflush(stdout);
	}
	if (!o->yes && !confirm(o->confirm_timeout)) {
		fprintf(stderr, "walletkey: load cancelled; nothing was sent\n");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t_step);
	if ((rc = wk_purse_verify_pin(card, pin, pin_len, &tries)) != WK_OK) {
		sodium_memzero(pin, sizeof(pin));
		if (rc == WK_ERR_WRONG_PIN)
			fprintf(stderr, "walletkey: wrong PIN, %d tries left\n", tries);
		status = wk_cli_fail(cli, "verify the PIN", rc);
		goto out;
	}
	sodium_memzero(pin, sizeof(pin));
	step_ms[0] = ms_since(&t_step);
	clock_gettime(CLOCK_MONOTONIC, &t_step);
	say(cli, "1. PIN verified");
	/* 2: the card's signed request, on disk before it leaves */
	if ((rc = wk_wallet_load_request(card, o->kind, 1, amount, remote_terminal,
	    req, &req_len)) != WK_OK) {
		status = wk_cli_fail(cli, "INITIALIZE FOR LOAD and sign the request", rc);
		goto out;
	}
	wallet_state_path(dir, "load", id, path, sizeof(path));
	st = json_pack("{s:s, s:s, s:i, s:I, s:o}", "card_id", hex, "issuer",
	    o->issuer, "kind", (int)o->kind, "amount", (json_int_t)amount,
	    "request", wallet_b64(req, req_len));
	if (st == NULL || save(path, st) != 0)
		goto out;
	step_ms[1] = ms_since(&t_step);
	clock_gettime(CLOCK_MONOTONIC, &t_step);
	say(cli, "2. the card signed the load request");
	fault_point("requested");
	/* 3: the issuer debits the account and grants */
	if ((rc = wk_issuer_load_start(is, req, req_len, ld)) != WK_OK) {
		if (rc == WK_ERR_ISSUER) {
			/* refused: nothing was debited */
			(void)wallet_state_remove(path);
		}
		status = issuer_fail(cli, is, "request the load", rc);
		if (rc == WK_ERR_ISSUER &&
		    strcmp(wk_issuer_error_code(is), "seq_used") == 0)
			settle_orphan(card, is, o->kind, req, req_len);
		goto out;
	}
	json_object_set_new(st, "load_id", json_string(ld->load_id));
	json_object_set_new(st, "seq", json_integer(ld->seq));
	if (save(path, st) != 0)
		goto out;
	step_ms[2] = ms_since(&t_step);
	clock_gettime(CLOCK_MONOTONIC, &t_step);
	say(cli, "3. the issuer granted load %s", ld->load_id);
	fault_point("granted");
	/* 4: the card checks the grant and credits, or refuses */
	rc = wk_wallet_load_grant(card, ld->grant, ld->grant_len, ans, &ans_len,
	    &refused);
	if (rc != WK_OK) {
		status = wk_cli_fail(cli, "the card's answer to the grant (run "
		    "walletkey wallet recover)", rc);
		goto out;
	}
	fault_point("credited");
	json_object_set_new(st, "answer_kind", json_string(refused ? "refusal" :
	    "receipt"));
	json_object_set_new(st, "answer", wallet_b64(ans, ans_len));
	if (save(path, st) != 0)
		goto out;
	step_ms[3] = ms_since(&t_step);
	clock_gettime(CLOCK_MONOTONIC, &t_step);
	if (refused)
		say(cli, "4. the card refused the grant");
	else
		say(cli, "4. the card verified the grant and credited its purse");
	fault_point("answered");
	/* 5: the issuer closes the load */
	if ((rc = wk_issuer_load_close(is, ld->load_id, refused ? "refusal" :
	    "receipt", ans, ans_len, ld)) != WK_OK) {
		status = issuer_fail(cli, is, "send the card's answer (run walletkey"
		    " wallet recover)", rc);
		goto out;
	}
	if (wallet_state_remove(path) != 0)
		goto out;
	step_ms[4] = ms_since(&t_step);
	clock_gettime(CLOCK_MONOTONIC, &t_step);
	say(cli, "5. the issuer marked load %s %s", ld->load_id, ld->status);
	if (refused) {
		fprintf(stderr, "walletkey: the load was refused by the card and "
		    "reversed by the issuer\n");
		goto out;
	}
	(void)wk_purse_balance(card, o->kind, &bal);
	wk_purse_amount_format(bal, amt, sizeof(amt));
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:s, s:s, s:I, s:I, "
		    "s:{s:f, s:f, s:f, s:f, s:f}}", "load_id",
		    ld->load_id, "status", ld->status, "amount", (json_int_t)amount,
		    "balance", (json_int_t)bal, "steps_ms", "pin", step_ms[0],
		    "card_request", step_ms[1], "issuer_grant", step_ms[2],
		    "card_credit", step_ms[3], "issuer_close", step_ms[4]));
	else {
		printf("balance: %s\n", amt);
		status = WK_CLI_OK;
	}
out:
	sodium_memzero(pin, sizeof(pin));
	json_decref(st);
	json_decref(cst);
	free(ld);
	wk_issuer_free(&is);
	return status;
}


/* ---- card to card ---- */

typedef struct xcard {
	const char *reader;
	wk_card *card;
	uint8_t id[8];
	char hex[17];
	uint8_t cert[2048];
	size_t cert_len;
} xcard;

static int
xcard_open(wk_cli *cli, xcard *x)
{
	wk_card_info info;
	wk_piv *piv = NULL;
	wk_ctx *ctx;
	int rc;

	x->cert_len = sizeof(x->cert);
	if ((rc = wk_cli_ctx(cli, &ctx)) != WK_OK ||
	    (rc = wk_card_open(ctx, x->reader, &x->card)) != WK_OK ||
	    (rc = wk_card_get_info(x->card, &info)) != WK_OK) {
		fprintf(stderr, "walletkey: reader %s:\n", x->reader);
		return wk_cli_fail(cli, "open the card", rc);
	}
	memcpy(x->id, info.serial, 8);
	wk_hex_encode(x->id, 8, x->hex);
	if ((rc = wk_piv_open(x->card, &piv)) != WK_OK ||
	    (rc = wk_piv_read_cert(piv, WK_WALLET_SLOT, x->cert,
	    &x->cert_len)) != WK_OK) {
		wk_piv_free(&piv);
		fprintf(stderr, "walletkey: card %s has no wallet certificate: "
		    "run walletkey enroll\n", x->hex);
		return wk_cli_fail(cli, "read the wallet certificate", rc);
	}
	wk_piv_free(&piv);
	if ((rc = wk_purse_select(x->card, NULL, 0, NULL)) != WK_OK)
		return wk_cli_fail(cli, "select the purse", rc);
	return WK_CLI_OK;
}

static void
xfer_path(const char *dir, const xcard *from, const uint8_t chal[16],
    char *out, size_t cap)
{
	char ch[33];

	wk_hex_encode(chal, 16, ch);
	snprintf(out, cap, "%s/xfer-%s-%s.json", dir, from->hex, ch);
}

/* a card's purse PIN: its own --from/--to-pin-file, else its own
 * WALLETKEY_FROM_PIN / WALLETKEY_TO_PIN, else --pin-file, else
 * WALLETKEY_PIN, else asked on the terminal */
static int
xfer_verify(wk_cli *cli, const ropts *o, xcard *x, bool sender)
{
	const char *side_file = sender ? o->from_pin_file : o->to_pin_file;
	const char *side_env = sender ? "WALLETKEY_FROM_PIN" : "WALLETKEY_TO_PIN";
	const char *what = sender ? "sending card's purse PIN" :
	    "receiving card's purse PIN";
	const char *file = side_file, *env = side_env;
	char pin[16], msg[64];
	size_t n = 0;
	int rc, tries = -1, st;

	if (side_file == NULL && getenv(side_env) == NULL) {
		file = o->pin_file;
		env = "WALLETKEY_PIN";
	}
	if ((st = wallet_read_secret(file, env, what, pin, sizeof(pin), &n)) !=
	    WK_CLI_OK)
		return st;
	rc = wk_purse_verify_pin(x->card, pin, n, &tries);
	sodium_memzero(pin, sizeof(pin));
	if (rc != WK_OK) {
		if (rc == WK_ERR_WRONG_PIN)
			fprintf(stderr, "walletkey: wrong PIN, %d tries left\n", tries);
		snprintf(msg, sizeof(msg), "verify the %s card's PIN", sender ?
		    "sending" : "receiving");
		return wk_cli_fail(cli, msg, rc);
	}
	return WK_CLI_OK;
}

/* the receiving card's PIN, once per run */
static int
xfer_pin(wk_cli *cli, const ropts *o, xcard *to, bool *done)
{
	int st;

	if (*done)
		return WK_CLI_OK;
	if ((st = xfer_verify(cli, o, to, false)) != WK_CLI_OK)
		return st;
	*done = true;
	return WK_CLI_OK;
}

/* the directory of a state file (the transfer files live in the state dir) */
static const char *
dir_of(const char *path)
{
	static char dir[1100];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	return dir;
}

/* reports the queued transfers between the two cards; says what stays */
static void
xfer_report(wk_cli *cli, const char *dir, const xcard *from, const xcard *to)
{
	unsigned done = 0, left = 0, d2 = 0, l2 = 0;

	if (wallet_reports_flush(cli, dir, from->hex, NULL, &done, &left) != 0 ||
	    wallet_reports_flush(cli, dir, to->hex, NULL, &d2, &l2) != 0)
		return;
	done += d2;
	left = l2 > left ? l2 : left;
	if (done > 0)
		say(cli, "transfer: reported to the issuer (%u token%s)", done,
		    done == 1 ? "" : "s");
	if (left > 0)
		say(cli, "transfer: %u token%s not reported yet: either card's next"
		    " 'walletkey audit sync' reports %s", left, left == 1 ? "" : "s",
		    left == 1 ? "it" : "them");
}

/* redeems the token of one transfer file; removes the file when settled */
static int
xfer_settle(wk_cli *cli, const ropts *o, xcard *from, xcard *to,
    const char *path, json_t *st, bool *pin_done)
{
	uint8_t chal[16], tok[WK_WALLET_MSG_MAX];
	size_t n = 0, tlen = sizeof(tok);
	uint32_t bal = 0;
	wk_wallet_msg_info info;
	bool already = false;
	int rc, status;

	if (wallet_unb64(json_object_get(st, "challenge"), chal, sizeof(chal),
	    &n) != 0 || n != sizeof(chal)) {
		fprintf(stderr, "walletkey: %s is damaged\n", path);
		return WK_CLI_FAILED;
	}
	if (wallet_unb64(json_object_get(st, "token"), tok, sizeof(tok), &tlen) != 0) {
		/* the CLI stopped before it saved the token: the card keeps it */
		tlen = sizeof(tok);
		rc = wk_wallet_xfer_token(from->card, chal, tok, &tlen);
		if (rc == WK_ERR_NOT_FOUND) {
			/* never sent: a void token closes the challenge on
			 * both cards (no value moves) */
			tlen = sizeof(tok);
			rc = wk_wallet_xfer_send(from->card, to->id, chal, 0, tok,
			    &tlen);
			if (rc != WK_OK)
				return wk_cli_fail(cli, "void the transfer", rc);
			say(cli, "transfer: card %s never sent it; nothing moves",
			    from->hex);
		} else if (rc != WK_OK) {
			return wk_cli_fail(cli, "ask the sending card for its token", rc);
		} else {
			say(cli, "transfer: the sending card still holds the token");
		}
		json_object_set_new(st, "token", wallet_b64(tok, tlen));
		if (save(path, st) != 0)
			return WK_CLI_FAILED;
	}
	fault_point("xfer-saved");
	if ((status = xfer_pin(cli, o, to, pin_done)) != WK_CLI_OK)
		return status;
	rc = wk_wallet_xfer_redeem(to->card, from->cert, from->cert_len, tok, tlen,
	    &bal, &already);
	if (rc != WK_OK)
		return wk_cli_fail(cli, "redeem the token on the receiving card", rc);
	/* the issuer moves the sender's float to the receiver's when the token
	 * is reported: queued before this transfer's file goes, reported now
	 * or at either card's next sync (docs/remote-load.md) */
	if (wallet_report_queue(dir_of(path), tok, tlen) != 0)
		return WK_CLI_FAILED;
	fault_point("xfer-queued");
	if (wallet_state_remove(path) != 0)
		return WK_CLI_FAILED;
	if (already)
		say(cli, "transfer: card %s had already redeemed the token", to->hex);
	else if (wk_wallet_msg_info_get(tok, tlen, &info) == WK_OK &&
	    info.amount == 0)
		say(cli, "transfer: void token redeemed; the challenge is closed");
	else
		say(cli, "transfer: card %s redeemed the token; its balance is %u.%02u",
		    to->hex, bal / 100, bal % 100);
	return WK_CLI_OK;
}

/* every unfinished transfer from -> to */
static int
xfer_recover(wk_cli *cli, const ropts *o, const char *dir, xcard *from,
    xcard *to, bool *pin_done, unsigned *count)
{
	char prefix[64], path[1400];
	struct dirent *e;
	DIR *d;
	int status = WK_CLI_OK;

	*count = 0;
	snprintf(prefix, sizeof(prefix), "xfer-%s-", from->hex);
	if ((d = opendir(dir)) == NULL)
		return WK_CLI_FAILED;
	while ((e = readdir(d)) != NULL) {
		json_t *st = NULL;
		const char *tohex;
		size_t nl = strlen(e->d_name);

		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || nl < 5 ||
		    strcmp(e->d_name + nl - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (wallet_state_read(path, &st) != 0 || st == NULL)
			continue;
		tohex = jstr(st, "to");
		if (tohex != NULL && strcmp(tohex, to->hex) == 0) {
			(*count)++;
			say(cli, "transfer: settling an unfinished transfer (%s)",
			    e->d_name);
			if (xfer_settle(cli, o, from, to, path, st, pin_done) !=
			    WK_CLI_OK)
				status = WK_CLI_FAILED;
		}
		json_decref(st);
	}
	closedir(d);
	return status;
}

static int
cmd_transfer(wk_cli *cli, const ropts *o, bool recover_only)
{
	char dir[1024], path[1100], amt[24];
	uint8_t ca[16], cb[16], rchal[16], ma[WK_WALLET_MSG_MAX];
	uint8_t mb[WK_WALLET_MSG_MAX], tok[WK_WALLET_MSG_MAX];
	size_t la = sizeof(ma), lb = sizeof(mb), tlen = sizeof(tok);
	xcard *from = NULL, *to = NULL;
	json_t *st = NULL;
	uint32_t amount = 0;
	unsigned count = 0;
	bool pin_done = false;
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
	status = WK_CLI_FAILED;
	if ((from = calloc(1, sizeof(*from))) == NULL ||
	    (to = calloc(1, sizeof(*to))) == NULL)
		goto out;
	from->reader = o->from;
	to->reader = o->to;
	if ((status = xcard_open(cli, from)) != WK_CLI_OK ||
	    (status = xcard_open(cli, to)) != WK_CLI_OK)
		goto out;
	if ((status = xfer_recover(cli, o, dir, from, to, &pin_done, &count)) !=
	    WK_CLI_OK || recover_only) {
		if (status == WK_CLI_OK && count == 0)
			say(cli, "nothing to recover");
		if (status == WK_CLI_OK)
			xfer_report(cli, dir, from, to);
		goto out;
	}
	status = WK_CLI_FAILED;
	wk_purse_amount_format(amount, amt, sizeof(amt));
	if (!cli->json)
		printf("transfer %s yuan from card %s to card %s\n", amt, from->hex,
		    to->hex);
	if (!o->yes && !confirm(o->confirm_timeout)) {
		fprintf(stderr, "walletkey: transfer cancelled; nothing was sent\n");
		goto out;
	}
	/* 1: each card checks the other's certificate and signature */
	if ((rc = wk_wallet_xfer_challenge(from->card, false, ca)) != WK_OK ||
	    (rc = wk_wallet_xfer_challenge(to->card, false, cb)) != WK_OK ||
	    (rc = wk_wallet_xfer_auth_sign(to->card, ca, from->id, mb, &lb)) !=
	    WK_OK ||
	    (rc = wk_wallet_xfer_auth_sign(from->card, cb, to->id, ma, &la)) !=
	    WK_OK) {
		status = wk_cli_fail(cli, "exchange the cards' challenges", rc);
		goto out;
	}
	if ((rc = wk_wallet_xfer_auth_verify(from->card, to->cert, to->cert_len,
	    mb, lb)) != WK_OK ||
	    (rc = wk_wallet_xfer_auth_verify(to->card, from->cert, from->cert_len,
	    ma, la)) != WK_OK) {
		status = wk_cli_fail(cli, "authenticate the cards to each other", rc);
		goto out;
	}
	say(cli, "1. the cards authenticated each other");
	/* 2: the receiving card's PIN and its challenge */
	if ((status = xfer_pin(cli, o, to, &pin_done)) != WK_CLI_OK)
		goto out;
	status = WK_CLI_FAILED;
	say(cli, "2. the receiving card's PIN is verified");
	if ((rc = wk_wallet_xfer_challenge(to->card, true, rchal)) != WK_OK) {
		status = wk_cli_fail(cli, "the receiving card's challenge", rc);
		goto out;
	}
	xfer_path(dir, from, rchal, path, sizeof(path));
	st = json_pack("{s:s, s:s, s:I, s:o}", "from", from->hex, "to", to->hex,
	    "amount", (json_int_t)amount, "challenge", wallet_b64(rchal, 16));
	if (st == NULL || save(path, st) != 0)
		goto out;
	fault_point("xfer-challenged");
	/* 3: the sending card's PIN (value leaves a card only after its
	 * holder's PIN), then the debit and the token in one commit */
	if ((status = xfer_verify(cli, o, from, true)) != WK_CLI_OK) {
		/* close the receiver's challenge: nothing was sent */
		(void)xfer_settle(cli, o, from, to, path, st, &pin_done);
		goto out;
	}
	status = WK_CLI_FAILED;
	say(cli, "3. the sending card's PIN is verified");
	if ((rc = wk_wallet_xfer_send(from->card, to->id, rchal, amount, tok,
	    &tlen)) != WK_OK) {
		status = wk_cli_fail(cli, "debit the sending card", rc);
		/* refused (funds): close the receiver's challenge with a void token */
		if (rc != WK_ERR_TRANSPORT && rc != WK_ERR_CARD_REMOVED)
			(void)xfer_settle(cli, o, from, to, path, st, &pin_done);
		goto out;
	}
	fault_point("xfer-sent");
	json_object_set_new(st, "token", wallet_b64(tok, tlen));
	if (save(path, st) != 0)
		goto out;
	say(cli, "4. card %s debited %s and signed the token", from->hex, amt);
	/* 5: the credit, once */
	if ((status = xfer_settle(cli, o, from, to, path, st, &pin_done)) !=
	    WK_CLI_OK)
		goto out;
	say(cli, "5. transfer complete");
	xfer_report(cli, dir, from, to);
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:s, s:s, s:I}", "from",
		    from->hex, "to", to->hex, "amount", (json_int_t)amount));
out:
	json_decref(st);
	if (from != NULL)
		wk_card_free(&from->card);
	if (to != NULL)
		wk_card_free(&to->card);
	free(from);
	free(to);
	return status;
}

static int
cmd_recover(wk_cli *cli, const ropts *o)
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
	if ((status = recover_card(cli, card, dir, id, o->pin_file, &had)) !=
	    WK_CLI_OK)
		return status;
	if (cli->json)
		return wk_cli_json_print(json_pack("{s:b}", "settled", had));
	if (!had)
		printf("nothing to recover\n");
	return WK_CLI_OK;
}

static int
parse(wk_cli *cli, int argc, char **argv, ropts *o)
{
	char *end;

	memset(o, 0, sizeof(*o));
	o->kind = WK_PURSE_EP;
	o->confirm_timeout = CONFIRM_TIMEOUT_DEFAULT;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;

		if (strcmp(a, "--yes") == 0)
			o->yes = true;
		else if (strcmp(a, "--ep") == 0)
			o->kind = WK_PURSE_EP;
		else if (strcmp(a, "--ed") == 0)
			o->kind = WK_PURSE_ED;
		else if (strcmp(a, "--issuer") == 0)
			slot = &o->issuer;
		else if (strcmp(a, "--amount") == 0)
			slot = &o->amount;
		else if (strcmp(a, "--pin-file") == 0)
			slot = &o->pin_file;
		else if (strcmp(a, "--state-dir") == 0)
			slot = &o->state_dir;
		else if (strcmp(a, "--from") == 0)
			slot = &o->from;
		else if (strcmp(a, "--to") == 0)
			slot = &o->to;
		else if (strcmp(a, "--from-pin-file") == 0)
			slot = &o->from_pin_file;
		else if (strcmp(a, "--to-pin-file") == 0)
			slot = &o->to_pin_file;
		else if (strcmp(a, "--confirm-timeout") == 0) {
			if (i + 1 >= argc)
				return wk_cli_usage(cli, "--confirm-timeout needs seconds");
			errno = 0;
			o->confirm_timeout = strtol(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || o->confirm_timeout < 1 ||
			    o->confirm_timeout > 3600)
				return wk_cli_usage(cli, "--confirm-timeout takes 1 to "
				    "3600 seconds");
		} else
			return wk_cli_usage(cli, "wallet %s: unknown option %s",
			    argv[1], a);
		if (slot != NULL) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0')
				return wk_cli_usage(cli, "%s needs a value", a);
			*slot = argv[++i];
		}
	}
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
	if (rc == WK_OK || rc == WK_ERR_PURSE_BLOCKED)
		(void)recover_card(cli, card, dir, id, pin_file, &had);
}

int
wk_cmd_wallet_remote(wk_cli *cli, int argc, char **argv)
{
	ropts o;
	int status;

	if (strcmp(argv[1], "unblock") == 0)
		return wk_cmd_wallet_unblock(cli, argc, argv);
	if (strcmp(argv[1], "session") == 0)
		return wk_cmd_wallet_session(cli, argc, argv);
	if (wk_cli_wants_help(argc, argv)) {
		fputs(remote_usage, stdout);
		return WK_CLI_OK;
	}
	if ((status = parse(cli, argc, argv, &o)) != WK_CLI_OK)
		return status;
	if (strcmp(argv[1], "load") == 0) {
		if (o.issuer == NULL)
			return wk_cli_usage(cli, "wallet load --issuer needs a URL");
		return cmd_load(cli, &o);
	}
	if (strcmp(argv[1], "recover") == 0)
		return o.from != NULL || o.to != NULL ? cmd_transfer(cli, &o, true) :
		    cmd_recover(cli, &o);
	return cmd_transfer(cli, &o, false);
}
