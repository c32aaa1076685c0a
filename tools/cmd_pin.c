/* walletkey pin verify|change|unblock|retries|set-retries */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cmd_piv.h"
#include "piv_cli.h"

static const char usage[] =
    "usage: walletkey pin verify [--pin-file FILE]\n"
    "       walletkey pin change [--puk] [--pin-file FILE] [--new-pin-file FILE]\n"
    "       walletkey pin unblock [--puk-file FILE] [--new-pin-file FILE]\n"
    "       walletkey pin retries\n"
    "       walletkey pin set-retries --pin-tries N --puk-tries N\n"
    "                 [--pin-file FILE] [--mgmt-key-file FILE]\n"
    "PINs come from the file, else $WALLETKEY_PIN / $WALLETKEY_NEW_PIN /\n"
    "$WALLETKEY_PUK / $WALLETKEY_NEW_PUK, else the terminal (no echo).\n";

typedef struct pin_opts {
	const char *pin_file, *pin, *new_file, *new_arg, *puk_file, *puk;
	const char *mgmt_file;
	bool puk_mode;
	long pin_tries, puk_tries;
} pin_opts;

static int
parse(int argc, char **argv, pin_opts *o)
{
	static const struct option longs[] = {
		{ "pin-file", required_argument, NULL, 'f' },
		{ "pin", required_argument, NULL, 'p' },
		{ "new-pin-file", required_argument, NULL, 'F' },
		{ "new-pin", required_argument, NULL, 'n' },
		{ "new-puk-file", required_argument, NULL, 'F' },
		{ "new-puk", required_argument, NULL, 'n' },
		{ "puk-file", required_argument, NULL, 'u' },
		{ "puk", optional_argument, NULL, 'U' },
		{ "mgmt-key-file", required_argument, NULL, 'k' },
		{ "pin-tries", required_argument, NULL, 't' },
		{ "puk-tries", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'f': o->pin_file = optarg; break;
		case 'p': o->pin = optarg; break;
		case 'F': o->new_file = optarg; break;
		case 'n': o->new_arg = optarg; break;
		case 'u': o->puk_file = optarg; break;
		case 'U':
			if (optarg != NULL)
				o->puk = optarg;
			else
				o->puk_mode = true;
			break;
		case 'k': o->mgmt_file = optarg; break;
		case 't':
		case 'T':
			errno = 0;
			if (c == 't')
				o->pin_tries = strtol(optarg, &end, 10);
			else
				o->puk_tries = strtol(optarg, &end, 10);
			if (*end != '\0' || errno != 0)
				return piv_cli_usage("--%s: not a number",
				    c == 't' ? "pin-tries" : "puk-tries");
			break;
		default:
			fputs(usage, stderr);
			return PIV_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return piv_cli_usage("unexpected argument '%s'", argv[optind]);
	return PIV_EXIT_OK;
}

/* piv.md 2.4: 6 to 8 printable ASCII characters */
static int
check_new(const char *what, const uint8_t *v, size_t len)
{
	if (len < 6 || len > 8)
		return piv_cli_usage("the new %s must have 6 to 8 characters",
		    what);
	for (size_t i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] > 0x7E)
			return piv_cli_usage("the new %s must be printable "
			    "ASCII", what);
	return PIV_EXIT_OK;
}

static int
do_verify(wk_cli *cli, wk_piv *piv, const pin_opts *o)
{
	const piv_secret_src pin = { o->pin_file, o->pin, "WALLETKEY_PIN",
	    "PIN", "--pin", false };
	int st;

	if ((st = piv_cli_verify(cli, piv, &pin)) != PIV_EXIT_OK)
		return st;
	if (cli->json)
		piv_cli_json(json_pack("{s:b}", "verified", 1));
	else
		puts("PIN verified");
	return PIV_EXIT_OK;
}

static int
do_change(wk_cli *cli, wk_piv *piv, const pin_opts *o, bool unblock)
{
	const char *what = o->puk_mode ? "PUK" : "PIN";
	piv_secret_src cur = { o->pin_file, o->pin, "WALLETKEY_PIN", "PIN",
	    "--pin", false };
	piv_secret_src next = { o->new_file, o->new_arg, "WALLETKEY_NEW_PIN",
	    "new PIN", "--new-pin", true };
	uint8_t a[WK_PIV_PIN_MAX], b[WK_PIV_PIN_MAX];
	size_t alen = 0, blen = 0;
	unsigned tries = 0;
	int rc, st;

	if (o->puk_mode || unblock) {
		cur = (piv_secret_src){ o->puk_file, o->puk, "WALLETKEY_PUK",
		    "PUK", "--puk", false };
	}
	if (o->puk_mode)
		next = (piv_secret_src){ o->new_file, o->new_arg,
		    "WALLETKEY_NEW_PUK", "new PUK", "--new-puk", true };
	if ((st = piv_cli_read_secret(&cur, a, sizeof(a), &alen)) != 0)
		goto out;
	if ((st = piv_cli_read_secret(&next, b, sizeof(b), &blen)) != 0)
		goto out;
	if ((st = check_new(unblock ? "PIN" : what, b, blen)) != 0)
		goto out;
	if (unblock)
		rc = wk_piv_unblock_pin(piv, a, alen, b, blen, &tries);
	else
		rc = wk_piv_change_reference(piv, o->puk_mode ?
		    WK_PIV_REF_PUK : WK_PIV_REF_PIN, a, alen, b, blen, &tries);
	if (rc != WK_OK) {
		st = piv_cli_pin_fail(cli, unblock ? "unblock the PIN" :
		    o->puk_mode ? "change the PUK" : "change the PIN", rc,
		    tries);
		goto out;
	}
	if (cli->json)
		piv_cli_json(json_pack("{s:s}", unblock ? "unblocked" :
		    "changed", unblock ? "PIN" : what));
	else
		printf("%s %s\n", unblock ? "PIN" : what, unblock ?
		    "unblocked and set" : "changed");
	st = PIV_EXIT_OK;
out:
	sodium_memzero(a, sizeof(a));
	sodium_memzero(b, sizeof(b));
	return st;
}

static json_t *
tries_json(bool known, unsigned left, unsigned total)
{
	if (!known)
		return json_null();
	if (total == 0)
		return json_pack("{s:i}", "left", (int)left);
	return json_pack("{s:i,s:i}", "left", (int)left, "total", (int)total);
}

static int
do_retries(wk_cli *cli, wk_piv *piv)
{
	wk_piv_metadata pin, puk;
	bool pin_ok, puk_ok, verified = false;
	unsigned left = 0;
	int rc;

	pin_ok = wk_piv_get_metadata(piv, WK_PIV_REF_PIN, &pin) == WK_OK &&
	    pin.has_retries;
	puk_ok = wk_piv_get_metadata(piv, WK_PIV_REF_PUK, &puk) == WK_OK &&
	    puk.has_retries;
	if (!pin_ok) {
		/* cards without GET METADATA still answer the VERIFY query */
		if ((rc = wk_piv_pin_status(piv, &verified, &left)) != WK_OK)
			return wk_cli_fail(cli, "PIN status", rc);
		memset(&pin, 0, sizeof(pin));
		pin.retries_left = (uint8_t)left;
		pin_ok = !verified;
	}
	if (cli->json) {
		piv_cli_json(json_pack("{s:o,s:o}", "pin", tries_json(pin_ok,
		    pin.retries_left, pin.retries_total), "puk",
		    tries_json(puk_ok, puk.retries_left, puk.retries_total)));
		return PIV_EXIT_OK;
	}
	if (pin_ok && pin.retries_total > 0)
		printf("PIN tries left: %u of %u\n", pin.retries_left,
		    pin.retries_total);
	else if (pin_ok)
		printf("PIN tries left: %u\n", pin.retries_left);
	else
		puts("PIN tries left: unknown (PIN verified)");
	if (puk_ok)
		printf("PUK tries left: %u of %u\n", puk.retries_left,
		    puk.retries_total);
	else
		puts("PUK tries left: unknown");
	return PIV_EXIT_OK;
}

static int
do_set_retries(wk_cli *cli, wk_piv *piv, const pin_opts *o)
{
	const piv_secret_src pin = { o->pin_file, o->pin, "WALLETKEY_PIN",
	    "PIN", "--pin", false };
	int rc, st;

	if ((rc = wk_card_begin(wk_piv_card(piv))) != WK_OK)
		return wk_cli_fail(cli, "begin transaction", rc);
	if ((st = piv_cli_mgmt_auth(cli, piv, o->mgmt_file)) != 0)
		goto out;
	if ((st = piv_cli_verify(cli, piv, &pin)) != 0)
		goto out;
	rc = wk_piv_set_pin_retries(piv, (uint8_t)o->pin_tries,
	    (uint8_t)o->puk_tries);
	if (rc != WK_OK) {
		st = wk_cli_fail(cli, "set PIN retries", rc);
		goto out;
	}
	if (cli->json)
		piv_cli_json(json_pack("{s:i,s:i}", "pin_tries",
		    (int)o->pin_tries, "puk_tries", (int)o->puk_tries));
	else
		printf("PIN tries %ld, PUK tries %ld; PIN and PUK are back to "
		    "their defaults\n", o->pin_tries, o->puk_tries);
	st = PIV_EXIT_OK;
out:
	(void)wk_card_end(wk_piv_card(piv));
	return st;
}

int
cmd_pin(wk_cli *cli, int argc, char **argv)
{
	wk_piv *piv = NULL;
	const char *sub;
	pin_opts o;
	int st;

	if (wk_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return PIV_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? PIV_EXIT_USAGE : PIV_EXIT_OK;
	}
	sub = argv[1];
	if ((st = parse(argc - 1, argv + 1, &o)) != PIV_EXIT_OK)
		return st;
	if (strcmp(sub, "verify") != 0 && strcmp(sub, "change") != 0 &&
	    strcmp(sub, "unblock") != 0 && strcmp(sub, "retries") != 0 &&
	    strcmp(sub, "set-retries") != 0) {
		fputs(usage, stderr);
		return PIV_EXIT_USAGE;
	}
	if (strcmp(sub, "set-retries") == 0 && (o.pin_tries < 1 ||
	    o.pin_tries > 15 || o.puk_tries < 1 || o.puk_tries > 15))
		return piv_cli_usage("--pin-tries and --puk-tries take 1 to 15");
	if ((st = piv_cli_open(cli, &piv)) != PIV_EXIT_OK)
		return st;
	if (strcmp(sub, "verify") == 0)
		st = do_verify(cli, piv, &o);
	else if (strcmp(sub, "change") == 0)
		st = do_change(cli, piv, &o, false);
	else if (strcmp(sub, "unblock") == 0)
		st = do_change(cli, piv, &o, true);
	else if (strcmp(sub, "retries") == 0)
		st = do_retries(cli, piv);
	else
		st = do_set_retries(cli, piv, &o);
	wk_piv_free(&piv);
	return st;
}
