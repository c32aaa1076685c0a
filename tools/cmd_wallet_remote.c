/*
 * walletkey wallet load --issuer URL, wallet recover: the remote load of
 * docs/remote-load.md. The load in flight is kept on disk (wallet_state.h)
 * before every step that can change money, so a crash anywhere leaves a
 * file that `wallet recover` (or the next wallet command) settles with the
 * card's own proof.
 */
#include "cli.h"
#include "wallet_state.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	long confirm_timeout;
	bool yes;
	bool quiet_auto;	/* the recovery run before another command */
	wk_purse_kind kind;
} ropts;

static const char remote_usage[] =
    "usage: walletkey wallet load --issuer URL --amount YUAN [--yes]\n"
    "                 [--confirm-timeout S] [--pin-file FILE] [--state-dir DIR]\n"
    "       walletkey wallet recover [--state-dir DIR]\n";

/* test hook (docs/remote-load.md): WALLETKEY_FAULT_AT=STEP kills this
 * process with SIGKILL at STEP; WALLETKEY_FAULT_CMD runs a command there
 * first (the fault tests kill the card or the issuer with it) */
static void
fault_point(const char *step)
{
	const char *at = getenv("WALLETKEY_FAULT_AT");
	const char *cmd = getenv("WALLETKEY_FAULT_CMD");

	if (at == NULL || strcmp(at, step) != 0)
		return;
	if (cmd != NULL && cmd[0] != '\0') {
		fflush(NULL);
		if (system(cmd) != 0)
			fprintf(stderr, "walletkey: fault command failed\n");
		return;
	}
	fflush(NULL);
	raise(SIGKILL);
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
open_card(wk_cli *cli, wk_card **card, uint8_t id[8])
{
	wk_card_info info;
	int rc;

	if ((rc = wk_cli_card(cli, card)) != WK_OK ||
	    (rc = wk_card_get_info(*card, &info)) != WK_OK)
		return wk_cli_fail(cli, "read the card id", rc);
	memcpy(id, info.serial, 8);
	if ((rc = wk_purse_select(*card, NULL, 0, NULL)) != WK_OK)
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
static int
settle(wk_cli *cli, wk_card *card, const char *path, json_t *st)
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
		rc = wk_wallet_recover(card, (wk_purse_kind)kind, lid, (uint16_t)seq,
		    ans, &ans_len, &credited);
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
    bool *had)
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
	status = settle(cli, card, path, st);
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
	if ((status = open_card(cli, &card, id)) != WK_CLI_OK)
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
	if ((status = recover_card(cli, card, dir, id, &had)) != WK_CLI_OK)
		goto out;
	status = WK_CLI_FAILED;
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
	if ((rc = wk_purse_verify_pin(card, pin, pin_len, &tries)) != WK_OK) {
		sodium_memzero(pin, sizeof(pin));
		if (rc == WK_ERR_WRONG_PIN)
			fprintf(stderr, "walletkey: wrong PIN, %d tries left\n", tries);
		status = wk_cli_fail(cli, "verify the PIN", rc);
		goto out;
	}
	sodium_memzero(pin, sizeof(pin));
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
	say(cli, "2. the card signed the load request");
	fault_point("requested");
	/* 3: the issuer debits the account and grants */
	if ((rc = wk_issuer_load_start(is, req, req_len, ld)) != WK_OK) {
		if (rc == WK_ERR_ISSUER) {
			/* refused: nothing was debited */
			(void)wallet_state_remove(path);
		}
		status = issuer_fail(cli, is, "request the load", rc);
		goto out;
	}
	json_object_set_new(st, "load_id", json_string(ld->load_id));
	json_object_set_new(st, "seq", json_integer(ld->seq));
	if (save(path, st) != 0)
		goto out;
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
	say(cli, "5. the issuer marked load %s %s", ld->load_id, ld->status);
	if (refused) {
		fprintf(stderr, "walletkey: the load was refused by the card and "
		    "reversed by the issuer\n");
		goto out;
	}
	(void)wk_purse_balance(card, o->kind, &bal);
	wk_purse_amount_format(bal, amt, sizeof(amt));
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:s, s:s, s:I, s:I}", "load_id",
		    ld->load_id, "status", ld->status, "amount", (json_int_t)amount,
		    "balance", (json_int_t)bal));
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
	if ((status = open_card(cli, &card, id)) != WK_CLI_OK)
		return status;
	if ((status = recover_card(cli, card, dir, id, &had)) != WK_CLI_OK)
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
	if (strcmp(argv[1], "recover") == 0 || strcmp(argv[1], "transfer") == 0)
		return true;
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
	const char *sd = NULL;

	for (int i = 2; i + 1 < argc; i++)
		if (strcmp(argv[i], "--state-dir") == 0)
			sd = argv[i + 1];
	if (argc < 2 || strcmp(argv[1], "sam-init") == 0 ||
	    wallet_state_dir(sd, dir, sizeof(dir)) != WK_CLI_OK ||
	    wk_cli_card(cli, &card) != WK_OK ||
	    wk_card_get_info(card, &info) != WK_OK)
		return;
	memcpy(id, info.serial, 8);
	wallet_state_path(dir, "load", id, path, sizeof(path));
	if (access(path, F_OK) != 0)
		return;
	if (wk_purse_select(card, NULL, 0, NULL) == WK_OK)
		(void)recover_card(cli, card, dir, id, &had);
}

int
wk_cmd_wallet_remote(wk_cli *cli, int argc, char **argv)
{
	ropts o;
	int status;

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
		return cmd_recover(cli, &o);
	return wk_cli_usage(cli, "wallet transfer is not available yet");
}
