/* helpers shared by the PIV command groups: files, keys, names, JSON */
#include "piv_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_hex.h"

int
piv_cli_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("walletkey: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return PIV_EXIT_USAGE;
}

int
piv_cli_open(wk_cli *cli, wk_piv **out)
{
	wk_card *card = NULL;
	int rc;

	if ((rc = wk_cli_card(cli, &card)) != WK_OK)
		return wk_cli_fail(cli, "connect", rc);
	if ((rc = wk_piv_open(card, out)) != WK_OK)
		return wk_cli_fail(cli, "select PIV", rc);
	return PIV_EXIT_OK;
}

int
piv_cli_begin(wk_cli *cli, wk_piv *piv, const piv_cli_auth *auth)
{
	int rc, st = PIV_EXIT_OK;

	if ((rc = wk_card_begin(wk_piv_card(piv))) != WK_OK)
		return wk_cli_fail(cli, "begin transaction", rc);
	/*
	 * PIV was selected when the card was opened, outside this transaction:
	 * another program (the control panel's status poll, a PKCS#11 client)
	 * may have selected another application since, and a VERIFY would then
	 * reach it. Selected again inside the transaction, nobody can.
	 */
	if ((rc = wk_piv_select(piv)) != WK_OK) {
		piv_cli_end(piv);
		return wk_cli_fail(cli, "select PIV", rc);
	}
	if (auth == NULL)
		return PIV_EXIT_OK;
	if (auth->mgmt)
		st = piv_cli_mgmt_auth(cli, piv, auth->mgmt_file);
	if (st == PIV_EXIT_OK && auth->pin != NULL)
		st = auth->pin_slot ? piv_cli_verify_for(cli, piv, auth->slot,
		    auth->pin) : piv_cli_verify(cli, piv, auth->pin);
	if (st != PIV_EXIT_OK)
		piv_cli_end(piv);
	return st;
}

void
piv_cli_end(wk_piv *piv)
{
	(void)wk_card_end(wk_piv_card(piv));
}

int
piv_cli_group(int argc, char **argv, const char *usage,
    const char *const *subs, int *sub)
{
	*sub = -1;
	if (wk_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return PIV_EXIT_OK;
	}
	if (argc < 2)
		return piv_cli_bad_sub(usage);
	for (int i = 0; subs[i] != NULL; i++)
		if (strcmp(argv[1], subs[i]) == 0)
			*sub = i;
	return -1;
}

int
piv_cli_bad_sub(const char *usage)
{
	fputs(usage, stderr);
	return PIV_EXIT_USAGE;
}

#define CO(f) offsetof(piv_cli_common, f)
static const struct {
	unsigned bit;
	piv_cli_opt opt;
} common_opts[] = {
	{ PIV_C_SLOT, PIV_OPT("slot", PIV_OPT_STR, CO(slot_s)) },
	{ PIV_C_IN, PIV_OPT("in", PIV_OPT_STR, CO(in)) },
	{ PIV_C_OUT, PIV_OPT("out", PIV_OPT_STR, CO(out)) },
	{ PIV_C_HASH, PIV_OPT("hash", PIV_OPT_STR, CO(hash)) },
	{ PIV_C_PIN, PIV_OPT("pin-file", PIV_OPT_STR, CO(pin_file)) },
	{ PIV_C_PIN, PIV_OPT("pin", PIV_OPT_STR, CO(pin)) },
	{ PIV_C_MGMT, PIV_OPT("mgmt-key-file", PIV_OPT_STR, CO(mgmt_file)) },
};
#undef CO

int
piv_cli_parse(int argc, char **argv, const char *usage, unsigned common,
    piv_cli_common *shared, const piv_cli_opt *opts, void *out)
{
	struct option longs[PIV_CLI_OPTS_MAX + 1];
	const piv_cli_opt *rows[PIV_CLI_OPTS_MAX];
	char *bases[PIV_CLI_OPTS_MAX];
	const piv_cli_opt *opt;
	char *base, *end;
	long v;
	int c, n = 0;

	for (size_t k = 0; k < sizeof(common_opts) / sizeof(common_opts[0]);
	    k++)
		if ((common & common_opts[k].bit) != 0 && n < PIV_CLI_OPTS_MAX) {
			rows[n] = &common_opts[k].opt;
			bases[n++] = (char *)shared;
		}
	for (; opts[0].name != NULL && n < PIV_CLI_OPTS_MAX; opts++) {
		rows[n] = opts;
		bases[n++] = out;
	}
	for (int k = 0; k < n; k++)
		longs[k] = (struct option){ rows[k]->name,
		    rows[k]->kind == PIV_OPT_FLAG ? no_argument :
		    rows[k]->kind == PIV_OPT_STR_OR_FLAG ? optional_argument :
		    required_argument, NULL, 256 + k };
	longs[n] = (struct option){ NULL, 0, NULL, 0 };
	optind = 0;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (c < 256 || c >= 256 + n)
			return piv_cli_bad_sub(usage);
		opt = rows[c - 256];
		base = bases[c - 256];
		switch (opt->kind) {
		case PIV_OPT_STR:
			*(const char **)(void *)(base + opt->off) = optarg;
			break;
		case PIV_OPT_FLAG:
			*(bool *)(void *)(base + opt->off) = true;
			break;
		case PIV_OPT_STR_OR_FLAG:
			if (optarg != NULL)
				*(const char **)(void *)(base + opt->off) =
				    optarg;
			else
				*(bool *)(void *)(base + opt->flag_off) = true;
			break;
		case PIV_OPT_NUM:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (*end != '\0' || errno != 0 || v < opt->min ||
			    v > opt->max)
				return piv_cli_usage("%s", opt->bad);
			*(long *)(void *)(base + opt->off) = v;
			break;
		}
	}
	if (optind != argc)
		return piv_cli_usage("unexpected argument '%s'", argv[optind]);
	return PIV_EXIT_OK;
}

int
piv_cli_alg_of(const EVP_PKEY *pkey, uint8_t *alg)
{
	char group[32];
	int bits;

	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*alg = WK_PIV_ALG_ED25519;
		return WK_OK;
	}
	if (EVP_PKEY_is_a(pkey, "X25519")) {
		*alg = WK_PIV_ALG_X25519;
		return WK_OK;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pkey, "group", group,
		    sizeof(group), NULL) != 1)
			return WK_ERR_ARG;
		if (strcmp(group, "prime256v1") == 0)
			*alg = WK_PIV_ALG_ECCP256;
		else if (strcmp(group, "secp384r1") == 0)
			*alg = WK_PIV_ALG_ECCP384;
		else
			return WK_ERR_ARG;
		return WK_OK;
	}
	if (!EVP_PKEY_is_a(pkey, "RSA"))
		return WK_ERR_ARG;
	bits = EVP_PKEY_get_bits(pkey);
	if (bits == 1024)
		*alg = WK_PIV_ALG_RSA1024;
	else if (bits == 2048)
		*alg = WK_PIV_ALG_RSA2048;
	else if (bits == 3072)
		*alg = WK_PIV_ALG_RSA3072;
	else if (bits == 4096)
		*alg = WK_PIV_ALG_RSA4096;
	else
		return WK_ERR_ARG;
	return WK_OK;
}

int
piv_cli_pubkey(wk_piv *piv, uint8_t slot, EVP_PKEY **pkey, uint8_t *alg)
{
	wk_piv_metadata md;
	const unsigned char *p;
	uint8_t *der = NULL;
	size_t len = WK_PIV_OBJ_MAX;
	X509 *x = NULL;
	int rc;

	*pkey = NULL;
	if (wk_piv_get_metadata(piv, slot, &md) == WK_OK && md.spki_len > 0) {
		p = md.spki;
		if ((*pkey = d2i_PUBKEY(NULL, &p, (long)md.spki_len)) == NULL)
			return WK_ERR_CRYPTO;
		*alg = md.alg;
		return WK_OK;
	}
	if ((der = malloc(len)) == NULL)
		return WK_ERR_MEMORY;
	rc = wk_piv_read_cert(piv, slot, der, &len);
	if (rc == WK_OK) {
		p = der;
		rc = WK_ERR_CARD_MALFORMED;
		if ((x = d2i_X509(NULL, &p, (long)len)) != NULL &&
		    (*pkey = X509_get_pubkey(x)) != NULL)
			rc = piv_cli_alg_of(*pkey, alg);
	}
	if (rc != WK_OK) {
		EVP_PKEY_free(*pkey);
		*pkey = NULL;
	}
	X509_free(x);
	free(der);
	return rc;
}

int
piv_cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
	FILE *f = NULL;
	uint8_t *buf = NULL;
	size_t n = 0, got;
	int st = PIV_EXIT_FAIL;

	*data = NULL;
	*len = 0;
	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "walletkey: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if ((buf = malloc(max + 1)) == NULL)
		goto out;
	/* bounded by max: one byte more tells a file that is too big */
	while (n <= max && (got = fread(buf + n, 1, max + 1 - n, f)) > 0)
		n += got;
	if (ferror(f)) {
		fprintf(stderr, "walletkey: %s: read error\n", path);
		goto out;
	}
	if (n > max) {
		st = piv_cli_usage("%s: larger than %zu bytes", path, max);
		goto out;
	}
	*data = buf;
	*len = n;
	buf = NULL;
	st = PIV_EXIT_OK;
out:
	if (buf != NULL) {
		sodium_memzero(buf, max + 1);
		free(buf);
	}
	if (f != NULL && f != stdin)
		fclose(f);
	return st;
}

int
piv_cli_write_file(const char *path, const void *data, size_t len)
{
	FILE *f;
	int st = PIV_EXIT_OK;

	if (path == NULL || strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
			st = PIV_EXIT_FAIL;
		return st;
	}
	if ((f = fopen(path, "wb")) == NULL) {
		fprintf(stderr, "walletkey: %s: %s\n", path, strerror(errno));
		return PIV_EXIT_FAIL;
	}
	if (fwrite(data, 1, len, f) != len)
		st = PIV_EXIT_FAIL;
	if (fclose(f) != 0)
		st = PIV_EXIT_FAIL;
	if (st != PIV_EXIT_OK)
		fprintf(stderr, "walletkey: %s: write error\n", path);
	return st;
}

int
piv_cli_load_cert(const char *path, uint8_t **der, size_t *len)
{
	const unsigned char *p;
	unsigned char *out = NULL;
	uint8_t *raw = NULL;
	size_t rlen;
	X509 *x = NULL;
	BIO *bio = NULL;
	int n, st;

	*der = NULL;
	if ((st = piv_cli_read_file(path, WK_PIV_OBJ_MAX, &raw, &rlen)) != 0)
		goto out;
	st = PIV_EXIT_USAGE;
	p = raw;
	if ((x = d2i_X509(NULL, &p, (long)rlen)) == NULL || p != raw + rlen) {
		X509_free(x);
		x = NULL;
		if ((bio = BIO_new_mem_buf(raw, (int)rlen)) != NULL)
			x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	}
	if (x == NULL) {
		piv_cli_usage("%s: not an X.509 certificate (PEM or DER)",
		    path);
		goto out;
	}
	st = PIV_EXIT_FAIL;
	if ((n = i2d_X509(x, &out)) <= 0)
		goto out;
	*der = out;
	*len = (size_t)n;
	st = PIV_EXIT_OK;
out:
	BIO_free(bio);
	X509_free(x);
	free(raw);
	return st;
}

void
piv_cli_json(json_t *obj)
{
	if (obj != NULL)
		(void)wk_cli_json_print(obj);
}

char *
piv_cli_hex(const uint8_t *p, size_t len)
{
	char *s = malloc(2 * len + 1);

	if (s != NULL)
		wk_hex_encode(p, len, s);
	return s;
}

X509_NAME *
piv_cli_parse_subject(const char *s)
{
	X509_NAME *name = NULL;
	char *copy = NULL, *save = NULL, *part, *eq;
	X509_NAME *ret = NULL;

	if (s == NULL || s[0] != '/' || (copy = strdup(s + 1)) == NULL)
		goto out;
	if ((name = X509_NAME_new()) == NULL)
		goto out;
	for (part = strtok_r(copy, "/", &save); part != NULL;
	    part = strtok_r(NULL, "/", &save)) {
		if ((eq = strchr(part, '=')) == NULL || eq == part ||
		    eq[1] == '\0')
			goto out;
		*eq = '\0';
		if (X509_NAME_add_entry_by_txt(name, part, MBSTRING_UTF8,
		    (const unsigned char *)(eq + 1), -1, -1, 0) != 1)
			goto out;
	}
	if (X509_NAME_entry_count(name) == 0)
		goto out;
	ret = name;
	name = NULL;
out:
	X509_NAME_free(name);
	free(copy);
	return ret;
}
