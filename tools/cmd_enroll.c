/*
 * walletkey enroll --issuer URL --account PAN: the card's wallet key in PIV
 * slot 82, its CSR, the issuer's certificate and trust anchor, and the
 * purse keys sealed to the card (docs/remote-load.md)
 */
#include "cli.h"
#include "piv_cli.h"
#include "wallet_state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <sodium.h>

#include "wk_hex.h"

static const char enroll_usage[] =
    "usage: walletkey enroll --issuer URL --account PAN [OPTIONS]\n"
    "  --password-file FILE   the account password (else WALLETKEY_ACCOUNT_PASSWORD,\n"
    "                         else asked without echo)\n"
    "  --mgmt-key-file FILE   the PIV management key (else WALLETKEY_MGMT_KEY,\n"
    "                         else the factory key, with a warning)\n"
    "  --state-dir DIR        where the wallet keeps its state\n"
    "  --force                replace the wallet key of an enrolled card\n";

typedef struct eopts {
	const char *issuer;
	const char *account;
	const char *password_file;
	const char *mgmt_key_file;
	const char *state_dir;
	bool force;
} eopts;

static void
step(wk_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
step(wk_cli *cli, const char *fmt, ...)
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

/* the CSR: CN = card id, signed in slot 82 */
static int
make_csr(wk_cli *cli, wk_piv *piv, EVP_PKEY *pub, const char *card_hex,
    uint8_t **der, int *der_len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n;
	int rc;

	*der = NULL;
	if (req == NULL || (n = X509_REQ_get_subject_name(req)) == NULL ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)card_hex, -1, -1, 0) != 1) {
		X509_REQ_free(req);
		return wk_cli_fail(cli, "build the certificate request", WK_ERR_CRYPTO);
	}
	if ((rc = piv_cli_sign_req(piv, WK_WALLET_SLOT, 0x11, EVP_sha256(), pub,
	    &req)) != WK_OK) {
		X509_REQ_free(req);
		return wk_cli_fail(cli, "sign the certificate request", rc);
	}
	*der_len = i2d_X509_REQ(req, der);
	X509_REQ_free(req);
	if (*der_len <= 0)
		return wk_cli_fail(cli, "encode the certificate request", WK_ERR_CRYPTO);
	return WK_CLI_OK;
}

/* the certificate must carry the key the card generated */
static bool
cert_has_key(const uint8_t *der, size_t len, EVP_PKEY *pub)
{
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	bool ok = x != NULL && EVP_PKEY_eq(X509_get0_pubkey(x), pub) == 1;

	X509_free(x);
	return ok;
}

static int
run(wk_cli *cli, const eopts *o)
{
	char password[256], card_hex[17], dir[1024], path[1100];
	uint8_t spki[WK_PIV_SPKI_MAX], point[WK_WALLET_POINT_LEN];
	uint8_t *csr = NULL;
	const uint8_t *p;
	size_t plen = 0, spki_len = sizeof(spki);
	wk_issuer_enrolment *en = NULL;
	wk_issuer *is = NULL;
	wk_card_info info;
	wk_card *card;
	wk_piv *piv = NULL;
	EVP_PKEY *pub = NULL;
	json_t *st;
	int status = WK_CLI_FAILED, rc, csr_len = 0;

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
	if ((en = calloc(1, sizeof(*en))) == NULL)
		goto out;
	if ((rc = wk_cli_card(cli, &card)) != WK_OK ||
	    (rc = wk_card_get_info(card, &info)) != WK_OK) {
		status = wk_cli_fail(cli, "read the card id", rc);
		goto out;
	}
	wk_hex_encode(info.serial, sizeof(info.serial), card_hex);
	step(cli, "card %s", card_hex);
	if ((rc = wk_piv_open(card, &piv)) != WK_OK) {
		status = wk_cli_fail(cli, "select PIV", rc);
		goto out;
	}
	if ((status = piv_cli_mgmt_auth(cli, piv, o->mgmt_key_file)) != WK_CLI_OK)
		goto out;
	status = WK_CLI_FAILED;
	/* an enrolled card keeps its wallet unless told otherwise: a new key
	 * cannot be enrolled again under the same card id */
	{
		uint8_t old[2048];
		size_t old_len = sizeof(old);

		rc = wk_piv_read_cert(piv, WK_WALLET_SLOT, old, &old_len);
		if (rc == WK_OK && !o->force) {
			fprintf(stderr, "walletkey: card %s is already enrolled (a"
			    " certificate is in slot 82); --force replaces its wallet"
			    " key\n", card_hex);
			goto out;
		}
	}
	/* a fresh wallet key: forget any old wallet first */
	if ((rc = wk_wallet_setup(piv, NULL, NULL)) != WK_OK ||
	    (rc = wk_piv_generate(piv, WK_WALLET_SLOT, 0x11, 1, 1, spki,
	    &spki_len)) != WK_OK) {
		status = wk_cli_fail(cli, "generate the wallet key (slot 82)", rc);
		goto out;
	}
	p = spki;
	if ((pub = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL) {
		status = wk_cli_fail(cli, "read the wallet key", WK_ERR_CARD_MALFORMED);
		goto out;
	}
	step(cli, "wallet key generated in PIV slot 82 (P-256)");
	if ((status = make_csr(cli, piv, pub, card_hex, &csr, &csr_len)) !=
	    WK_CLI_OK)
		goto out;
	status = WK_CLI_FAILED;
	step(cli, "certificate request signed by the card; sending it to %s",
	    o->issuer);
	rc = wk_issuer_enrol(is, o->account, password, card_hex, csr,
	    (size_t)csr_len, en);
	sodium_memzero(password, sizeof(password));
	if (rc != WK_OK) {
		fprintf(stderr, "walletkey: enrol: %s: %s\n",
		    wk_issuer_error_code(is), wk_issuer_error_message(is));
		status = wk_cli_fail(cli, "enrol with the issuer", rc);
		goto out;
	}
	if (!cert_has_key(en->cert, en->cert_len, pub) ||
	    (rc = wk_wallet_cert_point(en->ca, en->ca_len, point)) != WK_OK) {
		status = wk_cli_fail(cli, "check the issuer's certificate",
		    WK_ERR_AUTH_FAILED);
		goto out;
	}
	step(cli, "certificate issued%s", en->existing ? " (already enrolled)" : "");
	if ((rc = wk_piv_write_cert(piv, WK_WALLET_SLOT, en->cert,
	    en->cert_len)) != WK_OK ||
	    (rc = wk_wallet_setup(piv, point, o->account)) != WK_OK) {
		status = wk_cli_fail(cli, "store the certificate and trust anchor", rc);
		goto out;
	}
	step(cli, "certificate and the issuer's trust anchor stored on the card");
	if ((rc = wk_purse_select(card, NULL, 0, NULL)) != WK_OK ||
	    (rc = wk_wallet_personalise(card, en->perso, en->perso_len)) != WK_OK) {
		status = wk_cli_fail(cli, "install the purse keys", rc);
		goto out;
	}
	step(cli, "purse keys opened and installed inside the card");
	wallet_state_path(dir, "card", info.serial, path, sizeof(path));
	st = json_pack("{s:s, s:s, s:s}", "card_id", card_hex, "issuer", o->issuer,
	    "pan", o->account);
	if (st == NULL || wallet_state_write(path, st) != 0) {
		json_decref(st);
		goto out;
	}
	json_decref(st);
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:s, s:s, s:s, s:b}",
		    "card_id", card_hex, "issuer", o->issuer, "account", o->account,
		    "existing", en->existing));
	else
		status = WK_CLI_OK;
	if (!cli->json)
		printf("enrolled card %s with account %s at %s\n", card_hex,
		    o->account, o->issuer);
out:
	sodium_memzero(password, sizeof(password));
	OPENSSL_free(csr);
	EVP_PKEY_free(pub);
	wk_piv_free(&piv);
	free(en);
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
