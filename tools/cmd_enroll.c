/*
 * walletkey enroll --issuer URL --account PAN: wraps wk_wallet_enrol (the
 * wallet key in PIV slot 82, the card's attestation of it, its CSR, the
 * issuer's certificate and trust anchor, the purse keys sealed to the card,
 * the card's record card-<id>.json in the state directory;
 * docs/remote-load.md): only what is asked and printed here
 */
#include "cli.h"
#include "piv_cli.h"
#include "wallet_state.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>


static const char enroll_usage[] =
    "usage: walletkey enroll --issuer URL --account PAN [OPTIONS]\n"
    "  --password-file FILE   the account password (else WALLETKEY_ACCOUNT_PASSWORD,\n"
    "                         else asked without echo)\n"
    "  --mgmt-key-file FILE   the PIV management key (else WALLETKEY_MGMT_KEY,\n"
    "                         else the factory key, with a warning)\n"
    "  --state-dir DIR        where the wallet keeps its state\n"
    "  --force                replace the wallet key of an enrolled card\n";

typedef struct eopts {
	wk_cli *cli;
	const char *issuer;
	const char *account;
	const char *password_file;
	const char *mgmt_key_file;
	const char *state_dir;
	bool force;
} eopts;

static void
progress(void *arg, wk_enrol_step s, const char *card_hex)
{
	const eopts *o = arg;

	if (o->cli->json)
		return;
	switch (s) {
	case WK_ENROL_STEP_CARD:
		printf("card %s\n", card_hex);
		break;
	case WK_ENROL_STEP_KEY:
		printf("wallet key generated in PIV slot 82 (P-256)\n");
		break;
	case WK_ENROL_STEP_ATTESTED:
		printf("the card attests that it generated the key\n");
		break;
	case WK_ENROL_STEP_CSR:
		printf("certificate request signed by the card; sending it to %s\n",
		    o->issuer);
		break;
	case WK_ENROL_STEP_ISSUED:
		printf("certificate issued\n");
		break;
	case WK_ENROL_STEP_ANCHOR:
		printf("certificate and the issuer's trust anchor stored on the"
		    " card\n");
		break;
	case WK_ENROL_STEP_KEYS:
		printf("purse keys opened and installed inside the card\n");
		break;
	case WK_ENROL_STEP_RECORD:
		break;
	}
	fflush(stdout);
}

/* an enrolled card's wallet key is replaced only with --force */
static bool
replace(void *arg, const wk_enrol_question *q)
{
	const eopts *o = arg;

	(void)q;
	return o->force;
}

static int
run(wk_cli *cli, eopts *o)
{
	char password[256], dir[1024];
	uint8_t key[WK_PIV_MGMT_KEY_MAX];
	size_t plen = 0, klen = 0;
	wk_enrol_opts eo = { 0 };
	wk_wallet_enrolment en;
	wk_issuer *is = NULL;
	wk_card *card;
	int status = WK_CLI_FAILED, rc;

	o->cli = cli;
	if ((status = wallet_state_dir(o->state_dir, dir, sizeof(dir))) != WK_CLI_OK)
		return status;
	if ((status = wallet_read_secret(o->password_file,
	    "WALLETKEY_ACCOUNT_PASSWORD", "account password", password,
	    sizeof(password), &plen)) != WK_CLI_OK)
		return status;
	status = WK_CLI_FAILED;
	if ((rc = wk_issuer_new(o->issuer, &is)) != WK_OK) {
		status = wk_cli_usage(cli, "--issuer takes an http:// or https:// URL");
		goto out;
	}
	if ((rc = wk_cli_card(cli, &card)) != WK_OK) {
		status = wk_cli_fail(cli, "find the card", rc);
		goto out;
	}
	if ((status = piv_cli_read_mgmt_key(o->mgmt_key_file, "WALLETKEY_MGMT_KEY",
	    true, key, &klen)) != PIV_EXIT_OK)
		goto out;
	status = WK_CLI_FAILED;
	eo.mgmt_key = key;
	eo.mgmt_key_len = klen;
	eo.pan = o->account;
	eo.password = password;
	eo.issuer_url = o->issuer;
	eo.state_dir = dir;
	rc = wk_wallet_enrol(card, is, &eo, replace, progress, o, &en);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(password, sizeof(password));
	if (rc == WK_ERR_AUTH_FAILED && en.card_id[0] != '\0' &&
	    wk_issuer_http_status(is) == 0) {
		status = wk_cli_fail(cli, "authenticate with the management key", rc);
		goto out;
	}
	if (rc == WK_ERR_CONDITIONS) {
		fprintf(stderr, "walletkey: card %s is already enrolled (a"
		    " certificate is in slot 82); --force replaces its wallet key\n",
		    en.card_id);
		goto out;
	}
	if (rc == WK_ERR_INVALID_STATE) {
		fprintf(stderr, "walletkey: card %s: the purse holds value loaded"
		    " before enrolment, with other keys than the issuer's; spend or"
		    " unload it first\n", en.card_id);
		goto out;
	}
	if (rc == WK_ERR_ISSUER || rc == WK_ERR_NETWORK) {
		fprintf(stderr, "walletkey: enrol: %s: %s\n",
		    wk_issuer_error_code(is), wk_issuer_error_message(is));
		status = wk_cli_fail(cli, "enrol with the issuer", rc);
		goto out;
	}
	if (rc == WK_ERR_IO) {
		/* enrolled; the record of it could not be kept */
		fprintf(stderr, "walletkey: cannot write %s/card-%s.json: %s\n",
		    dir, en.card_id, strerror(errno));
		goto out;
	}
	if (rc != WK_OK) {
		status = wk_cli_fail(cli, "enrol", rc);
		goto out;
	}
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:s, s:s, s:s, s:b, s:s}",
		    "card_id", en.card_id, "issuer", o->issuer, "account",
		    o->account, "existing", en.existing, "key_algorithms",
		    en.key_algorithms));
	else
		status = WK_CLI_OK;
	if (!cli->json) {
		printf("enrolled card %s with account %s at %s%s\n", en.card_id,
		    o->account, o->issuer, en.existing ? " (already enrolled)" : "");
		if (en.key_algorithms[0] != '\0')
			printf("purse keys: %s\n", en.key_algorithms);
	}
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(password, sizeof(password));
	wk_issuer_free(&is);
	return status;
}

int
wk_cmd_enroll(wk_cli *cli, int argc, char **argv)
{
	eopts o;

	memset(&o, 0, sizeof(o));
	if (wk_cli_wants_help(argc, argv)) {
		fputs(enroll_usage, stdout);
		return WK_CLI_OK;
	}
	for (int i = 1; i < argc; i++) {
		const char **slot = NULL;

		if (strcmp(argv[i], "--force") == 0) {
			o.force = true;
			continue;
		}
		if (strcmp(argv[i], "--issuer") == 0)
			slot = &o.issuer;
		else if (strcmp(argv[i], "--account") == 0)
			slot = &o.account;
		else if (strcmp(argv[i], "--password-file") == 0)
			slot = &o.password_file;
		else if (strcmp(argv[i], "--mgmt-key-file") == 0)
			slot = &o.mgmt_key_file;
		else if (strcmp(argv[i], "--state-dir") == 0)
			slot = &o.state_dir;
		else
			return wk_cli_usage(cli, "enroll: unknown option %s", argv[i]);
		if (i + 1 >= argc || argv[i + 1][0] == '\0')
			return wk_cli_usage(cli, "%s needs a value", argv[i]);
		*slot = argv[++i];
	}
	if (o.issuer == NULL || o.account == NULL)
		return wk_cli_usage(cli, "enroll needs --issuer URL and --account PAN");
	if (strlen(o.account) > 19 || strspn(o.account, "0123456789") !=
	    strlen(o.account))
		return wk_cli_usage(cli, "--account is the account number: 1 to 19 digits");
	return run(cli, &o);
}
