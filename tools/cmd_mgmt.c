/* walletkey mgmt-key set: change the card management key (9B) */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cmd_piv.h"
#include "piv_cli.h"
#include "wk_hex.h"

static const char usage[] =
    "usage: walletkey mgmt-key set [--alg 3des|aes128|aes192|aes256]\n"
    "                 (--new-key-file FILE | --generate [--out FILE])\n"
    "                 [--touch no|yes] [--mgmt-key-file CURRENT]\n"
    "Keys are hex; the new one may also come from $WALLETKEY_NEW_MGMT_KEY,\n"
    "the current one from $WALLETKEY_MGMT_KEY (else the factory key).\n";

typedef struct mgmt_opts {
	piv_cli_common c;
	const char *alg, *new_file, *touch;
	bool generate;
} mgmt_opts;

#define MO(f) offsetof(mgmt_opts, f)

static int
parse(int argc, char **argv, mgmt_opts *o)
{
	static const piv_cli_opt opts[] = {
		PIV_OPT("alg", PIV_OPT_STR, MO(alg)),
		PIV_OPT("new-key-file", PIV_OPT_STR, MO(new_file)),
		PIV_OPT("generate", PIV_OPT_FLAG, MO(generate)),
		PIV_OPT("touch", PIV_OPT_STR, MO(touch)),
		PIV_OPTS_END,
	};

	memset(o, 0, sizeof(*o));
	return piv_cli_parse(argc, argv, usage,
	    PIV_C_OUT | PIV_C_MGMT, &o->c, opts, o);
}

/* the new key in hex, to a file only its owner reads, or to stdout */
static int
emit_key(wk_cli *cli, const mgmt_opts *o, uint8_t alg, const uint8_t *key,
    size_t len)
{
	char hex[2 * WK_PIV_MGMT_KEY_MAX + 2];
	mode_t old;
	int st = PIV_EXIT_OK;

	wk_hex_encode(key, len, hex);
	if (o->generate && o->c.out != NULL) {
		old = umask(077);
		strcat(hex, "\n");
		st = piv_cli_write_file(o->c.out, hex, strlen(hex));
		umask(old);
		hex[2 * len] = '\0';
	}
	if (cli->json)
		piv_cli_json(json_pack("{s:s,s:s?}", "algorithm",
		    wk_piv_alg_name(alg), "key",
		    o->generate && o->c.out == NULL ? hex : NULL));
	else if (o->generate && o->c.out == NULL)
		printf("new management key (%s): %s\n", wk_piv_alg_name(alg),
		    hex);
	else
		printf("management key set (%s)\n", wk_piv_alg_name(alg));
	sodium_memzero(hex, sizeof(hex));
	return st;
}

static int
set_key(wk_cli *cli, const mgmt_opts *o)
{
	const piv_cli_auth auth = { .mgmt = true, .mgmt_file = o->c.mgmt_file };
	uint8_t key[WK_PIV_MGMT_KEY_MAX];
	uint8_t alg = WK_PIV_ALG_3DES;
	wk_piv *piv = NULL;
	bool touch = false;
	size_t len = 0;
	int rc, st = PIV_EXIT_USAGE;

	if (o->alg != NULL && (wk_piv_alg_from_name(o->alg, &alg) != WK_OK ||
	    wk_piv_mgmt_key_len(alg) == 0)) {
		piv_cli_usage("--alg: 3des, aes128, aes192 or aes256");
		goto out;
	}
	if (o->touch != NULL) {
		if (strcmp(o->touch, "yes") != 0 && strcmp(o->touch, "no") != 0) {
			piv_cli_usage("--touch: yes or no");
			goto out;
		}
		touch = strcmp(o->touch, "yes") == 0;
	}
	if (o->generate && o->new_file != NULL) {
		piv_cli_usage("--generate or --new-key-file, not both");
		goto out;
	}
	if (o->generate) {
		len = wk_piv_mgmt_key_len(alg);
		randombytes_buf(key, len);
	} else {
		st = piv_cli_read_mgmt_key(o->new_file,
		    "WALLETKEY_NEW_MGMT_KEY", false, key, &len);
		if (st != PIV_EXIT_OK)
			goto out;
		st = PIV_EXIT_USAGE;
		if (o->alg == NULL && len != 24)
			alg = len == 16 ? WK_PIV_ALG_AES128 : WK_PIV_ALG_AES256;
		if (len != wk_piv_mgmt_key_len(alg)) {
			piv_cli_usage("a %s key has %zu bytes, not %zu",
			    wk_piv_alg_name(alg), wk_piv_mgmt_key_len(alg), len);
			goto out;
		}
	}
	if ((st = piv_cli_open(cli, &piv)) != PIV_EXIT_OK)
		goto out;
	if ((st = piv_cli_begin(cli, piv, &auth)) == PIV_EXIT_OK) {
		rc = wk_piv_set_mgmt_key(piv, alg, key, len, touch);
		st = rc == WK_OK ? emit_key(cli, o, alg, key, len) :
		    wk_cli_fail(cli, "set the management key", rc);
		piv_cli_end(piv);
	}
out:
	sodium_memzero(key, sizeof(key));
	wk_piv_free(&piv);
	return st;
}

int
cmd_mgmt_key(wk_cli *cli, int argc, char **argv)
{
	static const char *const subs[] = { "set", NULL };
	mgmt_opts o;
	int sub, st;

	if ((st = piv_cli_group(argc, argv, usage, subs, &sub)) != -1)
		return st;
	if (sub < 0)
		return piv_cli_bad_sub(usage);
	if ((st = parse(argc - 1, argv + 1, &o)) != PIV_EXIT_OK)
		return st;
	return set_key(cli, &o);
}
