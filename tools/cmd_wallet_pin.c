/*
 * walletkey wallet pin: the purse PIN's life (docs/purse.md "PIN",
 * docs/holder.md). The holder changes it with the old one; when it is
 * forgotten or blocked the bank, having identified the holder, orders a
 * reload (walletkey-issuer pin-unblock) and the card's next signed unblock
 * request fetches the one-time script:
 *
 *   walletkey wallet pin status
 *   walletkey wallet pin change [--pin-file F] [--new-pin-file F]
 *   walletkey wallet pin unblock --issuer URL [--new-pin-file F | --keep-reset-pin]
 *   walletkey wallet pin unblock --script FILE    (offline, from the bank)
 */
#include "cli.h"
#include "piv_cli.h"
#include "wallet_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "wk_hex.h"

#define PIN_MAX 12
#define SCRIPT_FORMAT "walletkey-pin-script/1"

static const char pin_usage[] =
    "usage: walletkey wallet pin status\n"
    "       walletkey wallet pin change [--pin-file FILE] [--new-pin-file FILE]\n"
    "       walletkey wallet pin unblock --issuer URL [--new-pin-file FILE |\n"
    "                                    --keep-reset-pin]\n"
    "       walletkey wallet pin unblock --script FILE\n"
    "  The purse PIN (docs/holder.md). PINs come from the files, from\n"
    "  WALLETKEY_PIN and WALLETKEY_NEW_PIN, or are asked without echo.\n"
    "  unblock: after the bank ordered a PIN reload (it tells you a reset\n"
    "  PIN), the card fetches its one-time script; the PIN is then changed\n"
    "  to a new one you choose, or kept as the reset PIN with\n"
    "  --keep-reset-pin.\n";

typedef struct popts {
	const char *pin_file;
	const char *new_file;
	const char *issuer;
	const char *script;
	bool keep;
} popts;

static int
parse(wk_cli *cli, int argc, char **argv, popts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 3; i < argc; i++) {
		const char **slot = NULL;

		if (strcmp(argv[i], "--keep-reset-pin") == 0) {
			o->keep = true;
			continue;
		}
		if (strcmp(argv[i], "--pin-file") == 0)
			slot = &o->pin_file;
		else if (strcmp(argv[i], "--new-pin-file") == 0)
			slot = &o->new_file;
		else if (strcmp(argv[i], "--issuer") == 0)
			slot = &o->issuer;
		else if (strcmp(argv[i], "--script") == 0)
			slot = &o->script;
		else
			return wk_cli_usage(cli, "wallet pin: unknown option %s",
			    argv[i]);
		if (i + 1 >= argc || argv[i + 1][0] == '\0')
			return wk_cli_usage(cli, "%s needs a value", argv[i]);
		*slot = argv[++i];
	}
	return WK_CLI_OK;
}

/* a purse PIN (4-12 digits) from src; 0 or the exit status */
static int
read_pin(wk_cli *cli, const piv_secret_src *src, char *pin, size_t cap,
    size_t *len)
{
	int st;

	if ((st = piv_cli_read_secret(src, (uint8_t *)pin, cap - 1, len)) != 0)
		return st;
	pin[*len] = '\0';
	if (*len < 4 || *len > PIN_MAX || strspn(pin, "0123456789") != *len) {
		sodium_memzero(pin, cap);
		return wk_cli_usage(cli, "the %s must be 4 to 12 digits",
		    src->prompt);
	}
	return WK_CLI_OK;
}

static int
pin_failed(wk_cli *cli, const char *what, int rc, int tries)
{
	if (rc == WK_ERR_WRONG_PIN) {
		if (cli->json) {
			(void)wk_cli_json_print(json_pack("{s:s, s:s, s:i}", "error",
			    "wrong_pin", "message", "wrong purse PIN", "tries_left",
			    tries));
			return WK_CLI_FAILED;
		}
		fprintf(stderr, "walletkey: %s: wrong purse PIN, %d %s left%s\n",
		    what, tries, tries == 1 ? "try" : "tries", tries == 0 ?
		    " (the PIN is blocked: ask your bank for a PIN reload)" : "");
		return WK_CLI_FAILED;
	}
	if (rc == WK_ERR_PIN_BLOCKED) {
		if (cli->json) {
			(void)wk_cli_json_print(json_pack("{s:s, s:s, s:i}", "error",
			    "pin_blocked", "message", "the purse PIN is blocked",
			    "tries_left", 0));
			return WK_CLI_FAILED;
		}
		fprintf(stderr, "walletkey: %s: the purse PIN is blocked; ask your"
		    " bank for a PIN reload, then run 'walletkey wallet pin unblock"
		    " --issuer URL'\n", what);
		return WK_CLI_FAILED;
	}
	return wk_cli_fail(cli, what, rc);
}

/*
 * a contact with the issuer (audit sync, wallet load --issuer) found the
 * purse PIN blocked, so the card cannot do what the holder asked: the
 * contact delivers the PIN reload the bank ordered, if any (docs/holder.md
 * "A forgotten or blocked PIN"); the PIN is then the reset PIN the bank
 * told the holder. The purse is selected. Always WK_CLI_FAILED: what the
 * holder asked for is not done, nothing of it was sent.
 */
int
wallet_pin_blocked_contact(wk_cli *cli, wk_card *card, wk_issuer *is,
    const char *serial, const char *what)
{
	int rc = wk_purse_select(card, NULL, 0, NULL);
	bool none;

	if (rc != WK_OK && rc != WK_ERR_PURSE_BLOCKED)
		return wk_cli_fail(cli, "select the purse", rc);
	rc = wk_wallet_pin_unblock(card, is, NULL, 0, NULL, NULL);
	none = rc == WK_ERR_ISSUER && wk_issuer_error_code(is) != NULL &&
	    strcmp(wk_issuer_error_code(is), "no_pin_reload") == 0;
	if (rc != WK_OK && !none)
		return wk_cli_fail(cli, rc == WK_ERR_ISSUER || rc ==
		    WK_ERR_NETWORK ? "the purse PIN is blocked, and the bank's"
		    " PIN reload" : "the purse PIN is blocked, and the card"
		    " refused the bank's PIN reload", rc);
	if (cli->json)
		(void)wk_cli_json_print(json_pack("{s:s, s:s, s:s, s:b}",
		    "error", "pin_blocked", "message", rc == WK_OK ?
		    "the purse PIN was blocked; the bank's PIN reload is"
		    " delivered: the PIN is the reset PIN the bank told you" :
		    "the purse PIN is blocked; the bank has ordered no PIN"
		    " reload", "card_id", serial, "pin_reloaded", rc == WK_OK));
	if (rc == WK_OK)
		fprintf(stderr, "walletkey: %s: card %s's purse PIN was blocked;"
		    " your bank's PIN reload is delivered: the PIN is now the"
		    " reset PIN your bank told you. Change it (walletkey wallet"
		    " pin change), then try again\n", what, serial);
	else
		fprintf(stderr, "walletkey: %s: card %s's purse PIN is blocked:"
		    " ask your bank for a PIN reload; your next contact with it"
		    " delivers it\n", what, serial);
	return WK_CLI_FAILED;
}

static int
cmd_status(wk_cli *cli)
{
	wk_card *card;
	char hex[17];
	bool blocked, verified;
	int tries, rc, st;

	if ((st = wallet_open_purse(cli, &card, hex, &blocked)) != WK_CLI_OK)
		return st;
	if ((rc = wk_purse_pin_status(card, &tries, &verified)) != WK_OK)
		return wk_cli_fail(cli, "read the PIN status", rc);
	if (cli->json)
		return wk_cli_json_print(json_pack("{s:s, s:i, s:b, s:b, s:b}",
		    "card_id", hex, "tries_left", tries, "blocked", tries == 0,
		    "verified", verified, "purse_blocked", blocked));
	if (tries == 0)
		printf("card %s: the purse PIN is blocked (ask your bank for a PIN"
		    " reload)\n", hex);
	else if (verified)
		printf("card %s: the purse PIN is verified\n", hex);
	else
		printf("card %s: the purse PIN has %d %s left\n", hex, tries,
		    tries == 1 ? "try" : "tries");
	if (blocked)
		printf("the purse application is blocked too ('walletkey wallet"
		    " unblock')\n");
	return WK_CLI_OK;
}

static int
cmd_change(wk_cli *cli, const popts *o)
{
	const piv_secret_src cur = { o->pin_file, NULL, "WALLETKEY_PIN",
	    "purse PIN", "--pin", false };
	const piv_secret_src next = { o->new_file, NULL, "WALLETKEY_NEW_PIN",
	    "new purse PIN", "--new-pin", true };
	char pin[PIN_MAX + 2], npin[PIN_MAX + 2];
	size_t len = 0, nlen = 0;
	wk_card *card;
	char hex[17];
	bool blocked;
	int rc, st, tries = -1;

	if ((st = read_pin(cli, &cur, pin, sizeof(pin), &len)) != WK_CLI_OK)
		goto out;
	if ((st = read_pin(cli, &next, npin, sizeof(npin), &nlen)) != WK_CLI_OK)
		goto out;
	if ((st = wallet_open_purse(cli, &card, hex, &blocked)) != WK_CLI_OK)
		goto out;
	if (blocked) {
		st = wk_cli_fail(cli, "change the purse PIN", WK_ERR_PURSE_BLOCKED);
		goto out;
	}
	rc = wk_purse_change_pin(card, pin, len, npin, nlen, &tries);
	if (rc != WK_OK) {
		st = pin_failed(cli, "change the purse PIN", rc, tries);
		goto out;
	}
	if (cli->json)
		st = wk_cli_json_print(json_pack("{s:s, s:b}", "card_id", hex,
		    "changed", true));
	else {
		printf("card %s: the purse PIN is changed\n", hex);
		st = WK_CLI_OK;
	}
out:
	sodium_memzero(pin, sizeof(pin));
	sodium_memzero(npin, sizeof(npin));
	return st;
}

static void
on_step(void *arg, wk_pin_unblock_step step, const char *id)
{
	wk_cli *cli = arg;

	if (cli->json)
		return;
	switch (step) {
	case WK_PIN_UNBLOCK_STEP_REQUEST:
		fprintf(stderr, "card %s: asking the bank for its PIN reload\n", id);
		break;
	case WK_PIN_UNBLOCK_STEP_SCRIPT:
		fprintf(stderr, "card %s: the bank's one-time script received\n", id);
		break;
	case WK_PIN_UNBLOCK_STEP_RELOADED:
		fprintf(stderr, "card %s: the PIN is the bank's reset PIN\n", id);
		break;
	case WK_PIN_UNBLOCK_STEP_CHANGED:
		fprintf(stderr, "card %s: the PIN is changed to the new one\n", id);
		break;
	}
}

static int
unblock_online(wk_cli *cli, const popts *o)
{
	const piv_secret_src next = { o->new_file, NULL, "WALLETKEY_NEW_PIN",
	    "new purse PIN", "--new-pin", true };
	char npin[PIN_MAX + 2], hex[17];
	size_t nlen = 0;
	wk_issuer *is = NULL;
	wk_card *card;
	bool blocked;
	int rc, st;

	if (o->keep && o->new_file != NULL)
		return wk_cli_usage(cli, "--keep-reset-pin and --new-pin-file exclude"
		    " each other");
	if (!o->keep && (st = read_pin(cli, &next, npin, sizeof(npin),
	    &nlen)) != WK_CLI_OK)
		goto out;
	if ((st = wallet_open_purse(cli, &card, hex, &blocked)) != WK_CLI_OK)
		goto out;
	if ((rc = wk_issuer_new(o->issuer, &is)) != WK_OK) {
		st = wk_cli_fail(cli, "reach the issuer", rc);
		goto out;
	}
	rc = wk_wallet_pin_unblock(card, is, o->keep ? NULL : npin, nlen,
	    on_step, cli);
	if (rc == WK_ERR_ISSUER) {
		const char *code = wk_issuer_error_code(is);

		if (!cli->json && code != NULL && strcmp(code, "no_pin_reload") == 0)
			fprintf(stderr, "walletkey: your bank has not ordered a PIN"
			    " reload for card %s: ask it to (it identifies you and tells"
			    " you a reset PIN)\n", hex);
		else if (!cli->json)
			fprintf(stderr, "walletkey: the issuer refused: %s (%s)\n",
			    wk_issuer_error_message(is), code ? code : "-");
		if (cli->json)
			(void)wk_cli_json_print(json_pack("{s:s, s:s, s:s}", "error",
			    code != NULL && code[0] != '\0' ? code : "issuer",
			    "message", wk_issuer_error_message(is), "card_id", hex));
		st = WK_CLI_FAILED;
		goto out;
	}
	if (rc == WK_ERR_AUTH_FAILED && !cli->json)
		fprintf(stderr, "walletkey: the card refused the bank's script\n");
	if (rc != WK_OK) {
		st = wk_cli_fail(cli, "reload the purse PIN", rc);
		goto out;
	}
	if (cli->json)
		st = wk_cli_json_print(json_pack("{s:s, s:b, s:b}", "card_id", hex,
		    "reloaded", true, "changed", !o->keep));
	else {
		printf("card %s: the purse PIN is %s\n", hex, o->keep ?
		    "the reset PIN your bank told you" : "the new one you chose");
		st = WK_CLI_OK;
	}
out:
	sodium_memzero(npin, sizeof(npin));
	wk_issuer_free(&is);
	return st;
}

static int
hex_member(json_t *j, const char *name, uint8_t *out, size_t cap, size_t *n)
{
	const char *s = json_string_value(json_object_get(j, name));
	long r;

	if (s == NULL || strlen(s) % 2 != 0 || strlen(s) > 2 * cap ||
	    (r = wk_hex_decode(s, out, cap)) <= 0)
		return -1;
	*n = (size_t)r;
	return 0;
}

static int
unblock_script(wk_cli *cli, const popts *o)
{
	uint8_t script[WK_WALLET_PIN_SCRIPT_MAX], chal[4];
	size_t slen = 0, clen = 0;
	json_error_t jerr;
	json_t *j;
	const char *fmt, *id;
	wk_card *card;
	char hex[17];
	uint16_t sw = 0;
	bool blocked;
	int rc, st = WK_CLI_FAILED;

	if (o->new_file != NULL || o->keep)
		return wk_cli_usage(cli, "with --script the PIN becomes the reset PIN"
		    " your bank told you; change it afterwards with 'walletkey"
		    " wallet pin change'");
	if ((j = json_load_file(o->script, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		fprintf(stderr, "walletkey: %s: %s\n", o->script, jerr.text);
		return WK_CLI_USAGE;
	}
	fmt = json_string_value(json_object_get(j, "format"));
	id = json_string_value(json_object_get(j, "card_id"));
	if (fmt == NULL || strcmp(fmt, SCRIPT_FORMAT) != 0 || id == NULL ||
	    hex_member(j, "script", script, sizeof(script), &slen) != 0 ||
	    hex_member(j, "challenge", chal, sizeof(chal), &clen) != 0 ||
	    clen != 4 || slen < 10) {
		fprintf(stderr, "walletkey: %s is not a PIN reload script ("
		    SCRIPT_FORMAT ")\n", o->script);
		st = WK_CLI_USAGE;
		goto out;
	}
	if ((st = wallet_open_purse(cli, &card, hex, &blocked)) != WK_CLI_OK)
		goto out;
	st = WK_CLI_FAILED;
	if (strcasecmp(id, hex) != 0) {
		fprintf(stderr, "walletkey: the script is for card %s; this is card"
		    " %s\n", id, hex);
		goto out;
	}
	rc = wk_wallet_pin_reload(card, script, slen, &sw);
	if (rc == WK_ERR_AUTH_FAILED && !cli->json)
		fprintf(stderr, "walletkey: the card refused the script: it works"
		    " once, and only for the card's newest unblock request\n");
	if (rc == WK_ERR_INVALID_STATE && !cli->json)
		fprintf(stderr, "walletkey: the card has no unblock request pending"
		    " (the script was used): make a new one with 'walletkey wallet"
		    " unblock --request-out FILE'\n");
	if (rc != WK_OK) {
		st = wk_cli_fail(cli, "RELOAD PIN", rc);
		goto out;
	}
	if (cli->json)
		st = wk_cli_json_print(json_pack("{s:s, s:b}", "card_id", hex,
		    "reloaded", true));
	else {
		printf("card %s: the purse PIN is the reset PIN your bank told you;"
		    " change it with 'walletkey wallet pin change'\n", hex);
		st = WK_CLI_OK;
	}
out:
	sodium_memzero(script, sizeof(script));
	json_decref(j);
	return st;
}

int
wk_cmd_wallet_pin(wk_cli *cli, int argc, char **argv)
{
	popts o;
	const char *sub;
	int st;

	if (argc < 3 || wk_cli_wants_help(argc, argv)) {
		fputs(pin_usage, argc < 3 ? stderr : stdout);
		return argc < 3 ? WK_CLI_USAGE : WK_CLI_OK;
	}
	sub = argv[2];
	if ((st = parse(cli, argc, argv, &o)) != WK_CLI_OK)
		return st;
	if (strcmp(sub, "status") == 0) {
		if (o.pin_file || o.new_file || o.issuer || o.script || o.keep)
			return wk_cli_usage(cli, "wallet pin status takes no options");
		return cmd_status(cli);
	}
	if (strcmp(sub, "change") == 0) {
		if (o.issuer || o.script || o.keep)
			return wk_cli_usage(cli, "wallet pin change takes --pin-file and"
			    " --new-pin-file only");
		return cmd_change(cli, &o);
	}
	if (strcmp(sub, "unblock") == 0) {
		if ((o.issuer == NULL) == (o.script == NULL))
			return wk_cli_usage(cli, "wallet pin unblock needs --issuer URL"
			    " or --script FILE");
		if (o.pin_file != NULL)
			return wk_cli_usage(cli, "wallet pin unblock needs no PIN: the"
			    " bank's script sets it");
		return o.issuer != NULL ? unblock_online(cli, &o) :
		    unblock_script(cli, &o);
	}
	return wk_cli_usage(cli, "unknown wallet pin subcommand '%s' (status,"
	    " change, unblock)", sub);
}
