/*
 * walletkey psam init|install|info: provisioning a terminal's PSAM card
 * (docs/wallet.md "The PSAM"). The card in --reader makes its key pair;
 * the request (card id and public key) goes to the issuer's operator, whose
 * `walletkey-issuer psam-issue` answers with the purchase master key sealed
 * to that key; install hands that to the card. No key crosses the host in
 * clear.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wallet_state.h"
#include "wk_hex.h"

int wk_cmd_psam(wk_cli *cli, int argc, char **argv);

static const char psam_usage[] =
    "usage: walletkey [--reader PSAM_READER] psam SUBCOMMAND [OPTIONS]\n"
    "  info                              the PSAM's state, terminal id and counter\n"
    "  init (--issuer URL | --issuer-ca FILE) --out REQUEST.json\n"
    "                                    make the PSAM's key pair on the card and\n"
    "                                    write the request for the issuer's operator\n"
    "  install FILE                      the issuer's answer (walletkey-issuer\n"
    "                                    psam-issue): the sealed purchase key\n";

typedef struct popts {
	const char *issuer;
	const char *issuer_ca;
	const char *out;
	const char *file;
} popts;

static int
parse(wk_cli *cli, int argc, char **argv, popts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 2; i < argc; i++) {
		const char **slot = NULL;

		if (strcmp(argv[i], "--issuer") == 0)
			slot = &o->issuer;
		else if (strcmp(argv[i], "--issuer-ca") == 0)
			slot = &o->issuer_ca;
		else if (strcmp(argv[i], "--out") == 0)
			slot = &o->out;
		else if (argv[i][0] != '-' && o->file == NULL)
			o->file = argv[i];
		else
			return wk_cli_usage(cli, "psam %s: unexpected %s", argv[1],
			    argv[i]);
		if (slot != NULL) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0')
				return wk_cli_usage(cli, "%s needs a value", argv[i]);
			*slot = argv[++i];
		}
	}
	return WK_CLI_OK;
}

static int
open_psam(wk_cli *cli, wk_card **card, uint8_t id[8])
{
	wk_card_info info;
	int rc;

	if ((rc = wk_cli_card(cli, card)) != WK_OK ||
	    (rc = wk_card_get_info(*card, &info)) != WK_OK)
		return wk_cli_fail(cli, "open the PSAM card", rc);
	memcpy(id, info.serial, 8);
	if ((rc = wk_psam_select(*card)) != WK_OK) {
		if (rc == WK_ERR_NOT_FOUND)
			fprintf(stderr, "walletkey: the card in %s has no PSAM"
			    " applet\n", wk_card_reader(*card));
		return wk_cli_fail(cli, "select the PSAM", rc);
	}
	return WK_CLI_OK;
}

static const char *
state_name(int st)
{
	return st == WK_PSAM_INSTALLED ? "installed" : st == WK_PSAM_KEY ?
	    "key made, waiting for the issuer" : "empty";
}

/* the purchase masters a PSAM holds (docs/purse.md "SM4 keys") */
static json_t *
algs_json(uint8_t algs)
{
	json_t *a = json_array();

	if (a != NULL && (algs & WK_PSAM_ALG_3DES))
		json_array_append_new(a, json_string("3des"));
	if (a != NULL && (algs & WK_PSAM_ALG_SM4))
		json_array_append_new(a, json_string("sm4"));
	return a;
}

static const char *
algs_text(uint8_t algs)
{
	switch (algs & (WK_PSAM_ALG_3DES | WK_PSAM_ALG_SM4)) {
	case WK_PSAM_ALG_3DES | WK_PSAM_ALG_SM4:
		return "3DES and SM4 cards";
	case WK_PSAM_ALG_SM4:
		return "SM4 cards only";
	case WK_PSAM_ALG_3DES:
		return "3DES cards only";
	default:
		return "none";
	}
}

static int
cmd_info(wk_cli *cli)
{
	wk_card *card;
	wk_psam_info info;
	uint8_t id[8];
	char hid[17], term[13];
	int rc, st;

	if ((st = open_psam(cli, &card, id)) != WK_CLI_OK)
		return st;
	if ((rc = wk_psam_get_info(card, &info)) != WK_OK)
		return wk_cli_fail(cli, "psam info", rc);
	wk_hex_encode(id, 8, hid);
	wk_hex_encode(info.terminal, 6, term);
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:s}", "card_id", hid, "state",
		    info.state == WK_PSAM_INSTALLED ? "installed" :
		    info.state == WK_PSAM_KEY ? "key" : "empty");

		if (j != NULL && info.state == WK_PSAM_INSTALLED) {
			json_object_set_new(j, "terminal", json_string(term));
			json_object_set_new(j, "key_version",
			    json_integer(info.key_version));
			json_object_set_new(j, "algorithms",
			    algs_json(info.algorithms));
		}
		if (j != NULL)
			json_object_set_new(j, "counter", json_integer(info.counter));
		return wk_cli_json_print(j);
	}
	printf("PSAM card:   %s\nstate:       %s\n", hid, state_name(info.state));
	if (info.state == WK_PSAM_INSTALLED)
		printf("terminal:    %s\nkey version: %u\nserves:      %s\n", term,
		    info.key_version, algs_text(info.algorithms));
	printf("counter:     %u (the last terminal transaction number)\n",
	    info.counter);
	return WK_CLI_OK;
}

/* the CA certificate: from a file (PEM or DER) or GET /v1/ca */
static int
issuer_ca(wk_cli *cli, const popts *o, uint8_t point[WK_PSAM_POINT_LEN])
{
	uint8_t der[4096];
	size_t n = 0;
	int rc = WK_ERR_ARG;

	if (o->issuer_ca != NULL) {
		FILE *f = fopen(o->issuer_ca, "rb");
		X509 *x = NULL;
		unsigned char *d = NULL;
		int dl;

		if (f == NULL) {
			fprintf(stderr, "walletkey: cannot read %s: %s\n", o->issuer_ca,
			    strerror(errno));
			return WK_CLI_FAILED;
		}
		if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
			rewind(f);
			x = d2i_X509_fp(f, NULL);
		}
		fclose(f);
		if (x != NULL && (dl = i2d_X509(x, &d)) > 0 &&
		    (size_t)dl <= sizeof(der)) {
			memcpy(der, d, (size_t)dl);
			n = (size_t)dl;
			rc = WK_OK;
		}
		OPENSSL_free(d);
		X509_free(x);
		if (rc != WK_OK) {
			fprintf(stderr, "walletkey: %s is not an X.509 certificate"
			    " (PEM or DER)\n", o->issuer_ca);
			return WK_CLI_FAILED;
		}
	} else {
		wk_issuer *is = NULL;
		char *resp = NULL;
		json_t *j = NULL;
		const char *b64;

		if ((rc = wk_issuer_new(o->issuer, &is)) != WK_OK ||
		    (rc = wk_issuer_request(is, "/v1/ca", NULL, &resp)) != WK_OK) {
			wk_issuer_free(&is);
			return wk_cli_fail(cli, "ask the issuer for its CA", rc);
		}
		j = json_loads(resp, 0, NULL);
		b64 = json_string_value(json_object_get(j, "ca_certificate"));
		rc = b64 != NULL && sodium_base642bin(der, sizeof(der), b64,
		    strlen(b64), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) ==
		    0 ? WK_OK : WK_ERR_ISSUER;
		json_decref(j);
		free(resp);
		wk_issuer_free(&is);
		if (rc != WK_OK)
			return wk_cli_fail(cli, "read the issuer's CA", rc);
	}
	if ((rc = wk_wallet_cert_point(der, n, point)) != WK_OK)
		return wk_cli_fail(cli, "the issuer CA's key (P-256)", rc);
	return WK_CLI_OK;
}

/* the request: {"format":"walletkey-psam-request","version":1,
 * "card_id":HEX,"public_key":BASE64 DER SubjectPublicKeyInfo} */
static int
write_request(const char *path, const uint8_t id[8],
    const uint8_t point[WK_PSAM_POINT_LEN])
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM params[3];
	unsigned char *der = NULL;
	char hid[17], *b64 = NULL, *text = NULL;
	json_t *j = NULL;
	size_t cap;
	int dl = 0, fd = -1, rc = -1;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)"P-256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)point, WK_PSAM_POINT_LEN);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1 ||
	    (dl = i2d_PUBKEY(k, &der)) <= 0)
		goto out;
	cap = sodium_base64_ENCODED_LEN((size_t)dl, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(cap)) == NULL)
		goto out;
	sodium_bin2base64(b64, cap, der, (size_t)dl, sodium_base64_VARIANT_ORIGINAL);
	wk_hex_encode(id, 8, hid);
	if ((j = json_pack("{s:s, s:i, s:s, s:s}", "format",
	    "walletkey-psam-request", "version", 1, "card_id", hid, "public_key",
	    b64)) == NULL || (text = json_dumps(j, JSON_INDENT(2))) == NULL)
		goto out;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "walletkey: cannot create %s (it must not exist)\n",
		    path);
		goto out;
	}
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    write(fd, "\n", 1) != 1 || fsync(fd) != 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	json_decref(j);
	free(b64);
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(k);
	return rc;
}

static int
cmd_init(wk_cli *cli, const popts *o)
{
	uint8_t anchor[WK_PSAM_POINT_LEN], point[WK_PSAM_POINT_LEN], id[8];
	wk_card *card;
	char hid[17];
	int rc, st;

	if ((o->issuer == NULL) == (o->issuer_ca == NULL) || o->out == NULL)
		return wk_cli_usage(cli, "psam init needs --issuer URL or "
		    "--issuer-ca FILE, and --out REQUEST.json");
	if (access(o->out, F_OK) == 0)
		return wk_cli_usage(cli, "%s exists: a request is never overwritten",
		    o->out);
	if ((st = issuer_ca(cli, o, anchor)) != WK_CLI_OK ||
	    (st = open_psam(cli, &card, id)) != WK_CLI_OK)
		return st;
	if ((rc = wk_psam_generate(card, anchor, point)) != WK_OK) {
		if (rc == WK_ERR_CONDITIONS)
			fprintf(stderr, "walletkey: this PSAM holds a purchase key"
			    " already: its key is never replaced (its terminal"
			    " numbers must not start again)\n");
		return wk_cli_fail(cli, "make the PSAM's key", rc);
	}
	if (write_request(o->out, id, point) != 0) {
		fprintf(stderr, "walletkey: cannot write %s\n", o->out);
		return WK_CLI_FAILED;
	}
	wk_hex_encode(id, 8, hid);
	if (cli->json)
		return wk_cli_json_print(json_pack("{s:s, s:s}", "card_id", hid,
		    "request", o->out));
	printf("the PSAM (card %s) made its key; give %s to the issuer's"
	    " operator (walletkey-issuer psam-issue --request %s ...)\n", hid,
	    o->out, o->out);
	return WK_CLI_OK;
}

static int
cmd_install(wk_cli *cli, const popts *o)
{
	uint8_t msg[WK_WALLET_MSG_MAX], id[8];
	wk_psam_info info;
	wk_card *card;
	json_t *j;
	json_error_t jerr;
	const char *b64, *fmt;
	char term[13];
	size_t n = 0;
	int rc, st;

	if (o->file == NULL)
		return wk_cli_usage(cli, "psam install needs the FILE from"
		    " walletkey-issuer psam-issue");
	if ((j = json_load_file(o->file, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return wk_cli_usage(cli, "%s: %s", o->file, jerr.text);
	fmt = json_string_value(json_object_get(j, "format"));
	b64 = json_string_value(json_object_get(j, "message"));
	if (fmt == NULL || strcmp(fmt, "walletkey-psam-keys") != 0 ||
	    b64 == NULL || sodium_base642bin(msg, sizeof(msg), b64, strlen(b64),
	    NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || n == 0) {
		json_decref(j);
		return wk_cli_usage(cli, "%s is not a walletkey-psam-keys file",
		    o->file);
	}
	json_decref(j);
	if ((st = open_psam(cli, &card, id)) != WK_CLI_OK)
		return st;
	if ((rc = wk_psam_install(card, msg, n)) != WK_OK) {
		if (rc == WK_ERR_AUTH_REQUIRED)
			fprintf(stderr, "walletkey: the PSAM refused the file: not"
			    " signed by the issuer it was made for, not for this card,"
			    " or not sealed to its key\n");
		else if (rc == WK_ERR_CONDITIONS)
			fprintf(stderr, "walletkey: the PSAM has no key yet (psam"
			    " init), or serves another terminal\n");
		return wk_cli_fail(cli, "install the purchase key", rc);
	}
	if ((rc = wk_psam_get_info(card, &info)) != WK_OK)
		return wk_cli_fail(cli, "psam info", rc);
	wk_hex_encode(info.terminal, 6, term);
	if (cli->json)
		return wk_cli_json_print(json_pack("{s:s, s:i, s:o}", "terminal",
		    term, "key_version", info.key_version, "algorithms",
		    algs_json(info.algorithms)));
	printf("the PSAM serves terminal %s (purchase key version %u, %s)\n",
	    term, info.key_version, algs_text(info.algorithms));
	return WK_CLI_OK;
}

int
wk_cmd_psam(wk_cli *cli, int argc, char **argv)
{
	popts o;
	int st;

	if ((st = wk_cli_group_usage(argc, argv, psam_usage, false)) >= 0)
		return st;
	if ((st = parse(cli, argc, argv, &o)) != WK_CLI_OK)
		return st;
	if (strcmp(argv[1], "info") == 0)
		return cmd_info(cli);
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(cli, &o);
	if (strcmp(argv[1], "install") == 0)
		return cmd_install(cli, &o);
	return wk_cli_usage(cli, "unknown psam subcommand '%s' (info, init,"
	    " install)", argv[1]);
}
