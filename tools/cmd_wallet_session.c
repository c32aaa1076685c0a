/*
 * walletkey wallet session --issuer URL [--holder]: an issuer session of
 * the card (docs/issuer.md "Sessions"), for scripts and for tools that
 * call the card's doors themselves (curl -H "Authorization: Bearer ...").
 * The token is a secret for the minutes it lives: printed alone on stdout.
 */
#include "cli.h"
#include "wallet_state.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

static const char session_usage[] =
    "usage: walletkey wallet session --issuer URL [--holder [--pin-file FILE]]\n"
    "  prints a bearer token of the card for the issuer's doors: the card's\n"
    "  scope (uploads, acknowledgements, a load's state), or with --holder\n"
    "  (the purse PIN) the holder's (also the history and loads)\n";

int
wk_cmd_wallet_session(wk_cli *cli, int argc, char **argv)
{
	const char *url = NULL, *pin_file = NULL;
	char pin[16];
	size_t pin_len = 0;
	bool holder = false;
	wk_issuer *is = NULL;
	wk_issuer_session s;
	wk_card *card = NULL;
	int rc, tries = -1, status = WK_CLI_FAILED;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(session_usage, stdout);
			return WK_CLI_OK;
		}
		if (strcmp(argv[i], "--holder") == 0) {
			holder = true;
			continue;
		}
		if (strcmp(argv[i], "--issuer") != 0 &&
		    strcmp(argv[i], "--pin-file") != 0)
			return wk_cli_usage(cli, "wallet session: unknown option %s",
			    argv[i]);
		if (i + 1 >= argc || argv[i + 1][0] == '\0')
			return wk_cli_usage(cli, "%s needs a value", argv[i]);
		if (strcmp(argv[i], "--issuer") == 0)
			url = argv[++i];
		else
			pin_file = argv[++i];
	}
	if (url == NULL)
		return wk_cli_usage(cli, "wallet session needs --issuer URL");
	if (pin_file != NULL && !holder)
		return wk_cli_usage(cli, "--pin-file goes with --holder");
	if (wk_issuer_new(url, &is) != WK_OK)
		return wk_cli_usage(cli, "--issuer: an http:// or https:// URL");
	memset(&s, 0, sizeof(s));
	if (holder && (status = wallet_read_secret(pin_file, "WALLETKEY_PIN",
	    "purse PIN", pin, sizeof(pin), &pin_len)) != WK_CLI_OK)
		goto out;
	status = WK_CLI_FAILED;
	if ((rc = wk_cli_card(cli, &card)) != WK_OK) {
		status = wk_cli_fail(cli, "wallet session", rc);
		goto out;
	}
	rc = wk_issuer_session_open(card, is, holder ? pin : NULL, pin_len,
	    &tries, &s);
	if (rc == WK_ERR_WRONG_PIN)
		fprintf(stderr, "walletkey: wrong PIN, %d tries left\n", tries);
	else if (rc == WK_ERR_CONDITIONS)
		fprintf(stderr, "walletkey: the card is not enrolled with an issuer"
		    " (walletkey enroll)\n");
	else if (rc != WK_OK && wk_issuer_http_status(is) != 0)
		fprintf(stderr, "walletkey: wallet session: the issuer answered %ld"
		    " %s: %s\n", wk_issuer_http_status(is), wk_issuer_error_code(is),
		    wk_issuer_error_message(is));
	if (rc != WK_OK) {
		status = wk_cli_fail(cli, "wallet session", rc);
		goto out;
	}
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:s, s:s, s:s, s:I}",
		    "token", s.token, "card_id", s.card_id, "scope",
		    s.scope == WK_ISSUER_SCOPE_HOLDER ? "holder" : "card",
		    "expires_in", (json_int_t)s.expires_in));
	else {
		printf("%s\n", s.token);
		status = WK_CLI_OK;
	}
out:
	sodium_memzero(pin, sizeof(pin));
	sodium_memzero(&s, sizeof(s));
	wk_issuer_free(&is);
	return status;
}
