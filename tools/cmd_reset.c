/* walletkey reset: back to the factory state (Yubico RESET, piv.md 4) */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd_piv.h"
#include "piv_cli.h"

static const char usage[] =
    "usage: walletkey reset [--yes]\n"
    "Deletes every key and certificate and restores PIN 123456, PUK 12345678\n"
    "and the factory management key. The PIN and PUK are blocked first.\n";

/* eight random digits: a wrong value with overwhelming probability */
static void
random_pin(uint8_t pin[8])
{
	for (size_t i = 0; i < 8; i++)
		pin[i] = (uint8_t)('0' + randombytes_uniform(10));
}

/* RESET needs both blocked: spend their tries (bounded: 15 at most each) */
static int
block(wk_piv *piv, bool puk)
{
	uint8_t a[8];
	unsigned tries = 1;
	int rc = WK_ERR_INTERNAL;

	for (int i = 0; i < 32; i++) {
		random_pin(a);
		rc = puk ? wk_piv_change_reference(piv, WK_PIV_REF_PUK, a, 8, a,
		    8, &tries) : wk_piv_verify_pin(piv, a, 8, &tries);
		if (rc == WK_ERR_PIN_BLOCKED || (rc == WK_ERR_WRONG_PIN &&
		    tries == 0)) {
			rc = WK_OK;
			break;
		}
		if (rc != WK_OK && rc != WK_ERR_WRONG_PIN)
			break;
		rc = WK_ERR_INTERNAL;
	}
	sodium_memzero(a, sizeof(a));
	return rc;
}

static bool
confirmed(void)
{
	char line[16];
	FILE *tty;
	bool yes = false;

	if ((tty = fopen("/dev/tty", "r+")) == NULL)
		return false;
	fputs("This deletes every PIV key and certificate on the card. "
	    "Type 'yes' to go on: ", tty);
	fflush(tty);
	if (fgets(line, sizeof(line), tty) != NULL)
		yes = strcmp(line, "yes\n") == 0;
	fclose(tty);
	return yes;
}

int
cmd_reset(wk_cli *cli, int argc, char **argv)
{
	wk_piv *piv = NULL;
	bool yes = false;
	int rc, st;

	if (wk_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return PIV_EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--yes") == 0) {
			yes = true;
		} else if (strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return PIV_EXIT_OK;
		} else {
			fputs(usage, stderr);
			return PIV_EXIT_USAGE;
		}
	}
	if (!yes && !confirmed())
		return piv_cli_usage("reset not confirmed (use --yes in "
		    "scripts)");
	if ((st = piv_cli_open(cli, &piv)) != PIV_EXIT_OK)
		return st;
	if ((st = piv_cli_begin(cli, piv, NULL)) != PIV_EXIT_OK)
		goto out;
	rc = wk_piv_reset(piv);
	if (rc == WK_ERR_CONDITIONS) {
		if ((rc = block(piv, false)) == WK_OK &&
		    (rc = block(piv, true)) == WK_OK)
			rc = wk_piv_reset(piv);
	}
	piv_cli_end(piv);
	if (rc != WK_OK) {
		st = wk_cli_fail(cli, "reset", rc);
		goto out;
	}
	if (cli->json)
		piv_cli_json(json_pack("{s:b}", "reset", 1));
	else
		puts("PIV application reset: PIN 123456, PUK 12345678, factory "
		    "management key");
	st = PIV_EXIT_OK;
out:
	wk_piv_free(&piv);
	return st;
}
