/* walletkey pin verify|change|unblock|retries|set-retries */
#include <limits.h>
#include <stddef.h>
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
	piv_cli_common c;
	const char *new_file, *new_arg, *puk_file, *puk;
	bool puk_mode;
	long pin_tries, puk_tries;
} pin_opts;

#define PO(f) offsetof(pin_opts, f)
#define PIN_TRIES(n, f) { .name = (n), .kind = PIV_OPT_NUM, .off = PO(f), \
	.bad = "--" n ": not a number", .min = LONG_MIN, .max = LONG_MAX }

static int
parse(int argc, char **argv, pin_opts *o)
{
	static const piv_cli_opt opts[] = {
		PIV_OPT("new-pin-file", PIV_OPT_STR, PO(new_file)),
		PIV_OPT("new-pin", PIV_OPT_STR, PO(new_arg)),
		PIV_OPT("new-puk-file", PIV_OPT_STR, PO(new_file)),
		PIV_OPT("new-puk", PIV_OPT_STR, PO(new_arg)),
		PIV_OPT("puk-file", PIV_OPT_STR, PO(puk_file)),
		{ .name = "puk", .kind = PIV_OPT_STR_OR_FLAG, .off = PO(puk),
		    .flag_off = PO(puk_mode) },
		PIN_TRIES("pin-tries", pin_tries),
		PIN_TRIES("puk-tries", puk_tries),
		PIV_OPTS_END,
	};

	memset(o, 0, sizeof(*o));
	return piv_cli_parse(argc, argv, usage,
	    PIV_C_PIN | PIV_C_MGMT, &o->c, opts, o);
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
	const piv_secret_src pin = { o->c.pin_file, o->c.pin, "WALLETKEY_PIN",
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
	piv_secret_src cur = { o->c.pin_file, o->c.pin, "WALLETKEY_PIN", "PIN",
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
	/* the secrets are read first: no transaction waits on a terminal */
	if ((st = piv_cli_begin(cli, piv, NULL)) != PIV_EXIT_OK)
		goto out;
	if (unblock)
		rc = wk_piv_unblock_pin(piv, a, alen, b, blen, &tries);
	else
		rc = wk_piv_change_reference(piv, o->puk_mode ?
		    WK_PIV_REF_PUK : WK_PIV_REF_PIN, a, alen, b, blen, &tries);
	piv_cli_end(piv);
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
	const piv_secret_src pin = { o->c.pin_file, o->c.pin, "WALLETKEY_PIN",
	    "PIN", "--pin", false };
	const piv_cli_auth auth = { .mgmt = true, .mgmt_file = o->c.mgmt_file,
	    .pin = &pin };
	int rc, st;

	if ((st = piv_cli_begin(cli, piv, &auth)) != PIV_EXIT_OK)
		return st;
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
	piv_cli_end(piv);
	return st;
}

int
cmd_pin(wk_cli *cli, int argc, char **argv)
{
	enum { VERIFY, CHANGE, UNBLOCK, RETRIES, SET_RETRIES };
	static const char *const subs[] = { "verify", "change", "unblock",
		"retries", "set-retries", NULL };
	wk_piv *piv = NULL;
	pin_opts o;
	int sub, st;

	if ((st = piv_cli_group(argc, argv, usage, subs, &sub)) != -1)
		return st;
	if ((st = parse(argc - 1, argv + 1, &o)) != PIV_EXIT_OK)
		return st;
	if (sub < 0)
		return piv_cli_bad_sub(usage);
	if (sub == SET_RETRIES && (o.pin_tries < 1 ||
	    o.pin_tries > 15 || o.puk_tries < 1 || o.puk_tries > 15))
		return piv_cli_usage("--pin-tries and --puk-tries take 1 to 15");
	if ((st = piv_cli_open(cli, &piv)) != PIV_EXIT_OK)
		return st;
	switch (sub) {
	/*
	 * each command inside a card transaction that selects PIV first
	 * (piv_cli_begin): another program may have selected another
	 * application since the card was opened
	 */
	case VERIFY:
	case RETRIES:
		if ((st = piv_cli_begin(cli, piv, NULL)) != PIV_EXIT_OK)
			break;
		st = sub == VERIFY ? do_verify(cli, piv, &o) :
		    do_retries(cli, piv);
		piv_cli_end(piv);
		break;
	case CHANGE: st = do_change(cli, piv, &o, false); break;
	case UNBLOCK: st = do_change(cli, piv, &o, true); break;
	default: st = do_set_retries(cli, piv, &o); break;
	}
	wk_piv_free(&piv);
	return st;
}
