/*
 * walletkey gm ...: the GM applet (SM2/SM3/SM4, the SKF object model,
 * docs/gm.md) through libwalletkey's GM client. Signatures and
 * ciphertexts are written in the DER forms of GM/T 0009, so OpenSSL reads
 * them (openssl pkeyutl -rawin -digest sm3 -pkeyopt distid:ID).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_hex.h"
#include "wk_opt.h"

int wk_cmd_gm(wk_cli *cli, int argc, char **argv);

#define GM_FILE_MAX 65536

static const char usage[] =
    "usage: walletkey gm info\n"
    "       walletkey gm apps\n"
    "       walletkey gm app-create NAME [--admin-tries N] [--user-tries N]\n"
    "                 [--rights user|admin|anyone] [--admin-pin-file F] [--pin-file F]\n"
    "                 [--dev-key-file F]\n"
    "       walletkey gm app-delete NAME [--dev-key-file F]\n"
    "       walletkey gm pin verify|change|unblock|info [--admin] [--pin-file F]\n"
    "                 [--new-pin-file F]\n"
    "       walletkey gm containers\n"
    "       walletkey gm container-create|container-delete NAME [--pin-file F]\n"
    "       walletkey gm keygen --container C [--enc] [--pin-file F] [--out PUB.pem]\n"
    "       walletkey gm pubkey --container C [--enc] [--out PUB.pem]\n"
    "       walletkey gm cert-import --container C [--enc] --in CERT [--pin-file F]\n"
    "       walletkey gm cert-export --container C [--enc] [--out CERT.pem]\n"
    "       walletkey gm sign --container C --in FILE [--id ID] [--out SIG] [--pin-file F]\n"
    "       walletkey gm verify --container C --in FILE --sig SIG [--id ID]\n"
    "       walletkey gm encrypt --container C --in FILE [--out FILE]\n"
    "       walletkey gm decrypt --container C --in FILE [--out FILE] [--pin-file F]\n"
    "Every command takes --app NAME (default walletkey). PINs come from the\n"
    "file, else $WALLETKEY_GM_PIN (new: $WALLETKEY_GM_NEW_PIN, admin:\n"
    "$WALLETKEY_GM_ADMIN_PIN), else the terminal. The device key (16 bytes, as\n"
    "16 characters or 32 hex digits) comes from --dev-key-file or\n"
    "$WALLETKEY_GM_DEV_KEY. Signatures and ciphertexts are DER (GM/T 0009);\n"
    "the default SM2 id is 1234567812345678. See walletkey(1), docs/gm.md.\n";

typedef struct gm_opts {
	const char *app, *container, *in, *out, *sig, *id;
	const char *pin_file, *new_pin_file, *admin_pin_file, *dev_key_file;
	const char *rights;
	long admin_tries, user_tries;
	bool enc, admin;
} gm_opts;

static int
parse(wk_cli *cli, int argc, char **argv, gm_opts *o, int *first)
{
	static const struct option longs[] = {
		WK_OPT_ARG("app", 'a'),
		WK_OPT_ARG("container", 'c'),
		WK_OPT_ARG("in", 'i'),
		WK_OPT_ARG("out", 'o'),
		WK_OPT_ARG("sig", 's'),
		WK_OPT_ARG("id", 'I'),
		WK_OPT_ARG("pin-file", 'p'),
		WK_OPT_ARG("new-pin-file", 'n'),
		WK_OPT_ARG("admin-pin-file", 'P'),
		WK_OPT_ARG("dev-key-file", 'k'),
		WK_OPT_ARG("rights", 'r'),
		WK_OPT_ARG("admin-tries", 't'),
		WK_OPT_ARG("user-tries", 'T'),
		WK_OPT_FLAG("enc", 'e'),
		WK_OPT_FLAG("admin", 'A'),
		WK_OPT_END,
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->app = "walletkey";
	o->admin_tries = o->user_tries = 10;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'a': o->app = optarg; break;
		case 'c': o->container = optarg; break;
		case 'i': o->in = optarg; break;
		case 'o': o->out = optarg; break;
		case 's': o->sig = optarg; break;
		case 'I': o->id = optarg; break;
		case 'p': o->pin_file = optarg; break;
		case 'n': o->new_pin_file = optarg; break;
		case 'P': o->admin_pin_file = optarg; break;
		case 'k': o->dev_key_file = optarg; break;
		case 'r': o->rights = optarg; break;
		case 'e': o->enc = true; break;
		case 'A': o->admin = true; break;
		case 't':
		case 'T':
			errno = 0;
			*(c == 't' ? &o->admin_tries : &o->user_tries) =
			    strtol(optarg, &end, 10);
			if (*end != '\0' || errno != 0)
				return wk_cli_usage(cli, "--%s: not a number",
				    c == 't' ? "admin-tries" : "user-tries");
			break;
		default:
			fputs(usage, stderr);
			return WK_CLI_USAGE;
		}
	}
	*first = optind;
	return WK_CLI_OK;
}

/* a whole file, at most GM_FILE_MAX bytes; the caller frees */
static int
read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	uint8_t *p;
	size_t n;

	if (f == NULL || (p = malloc(GM_FILE_MAX + 1)) == NULL) {
		if (f != NULL && f != stdin)
			fclose(f);
		return WK_ERR_IO;
	}
	n = fread(p, 1, GM_FILE_MAX + 1, f);
	if (f != stdin)
		fclose(f);
	if (n > GM_FILE_MAX) {
		free(p);
		return WK_ERR_ARG;
	}
	*out = p;
	*len = n;
	return WK_OK;
}

static int
write_out(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = path == NULL || strcmp(path, "-") == 0 ? stdout :
	    fopen(path, "wb");
	int rc = WK_OK;

	if (f == NULL)
		return WK_ERR_IO;
	if (fwrite(p, 1, n, f) != n)
		rc = WK_ERR_IO;
	if (f != stdout && fclose(f) != 0)
		rc = WK_ERR_IO;
	return rc;
}

/* a PIN from a file (first line), the environment or the terminal */
static int
read_pin(const char *file, const char *env, const char *prompt, uint8_t *buf,
    size_t *len)
{
	char line[WK_GM_PIN_MAX + 2];
	const char *v;
	size_t n = 0;
	int rc = WK_OK;

	if (file != NULL) {
		FILE *f = fopen(file, "r");

		if (f == NULL || fgets(line, sizeof(line), f) == NULL)
			rc = WK_ERR_IO;
		if (f != NULL)
			fclose(f);
		n = rc == WK_OK ? strcspn(line, "\r\n") : 0;
	} else if ((v = getenv(env)) != NULL) {
		n = strlen(v);
		if (n >= sizeof(line))
			rc = WK_ERR_ARG;
		else
			memcpy(line, v, n);
	} else {
		rc = wk_cli_read_tty(prompt, line, sizeof(line), &n);
	}
	if (rc == WK_OK && (n < WK_GM_PIN_MIN || n > WK_GM_PIN_MAX))
		rc = WK_ERR_ARG;
	if (rc == WK_OK) {
		memcpy(buf, line, n);
		*len = n;
	}
	sodium_memzero(line, sizeof(line));
	return rc;
}

static int
read_dev_key(const gm_opts *o, uint8_t key[16])
{
	char s[80];
	const char *v = NULL;
	size_t n;
	int rc = WK_ERR_ARG;

	if (o->dev_key_file != NULL) {
		FILE *f = fopen(o->dev_key_file, "r");

		if (f == NULL || fgets(s, sizeof(s), f) == NULL) {
			if (f != NULL)
				fclose(f);
			return WK_ERR_IO;
		}
		fclose(f);
		s[strcspn(s, "\r\n")] = '\0';
		v = s;
	} else if ((v = getenv("WALLETKEY_GM_DEV_KEY")) == NULL) {
		return WK_ERR_ARG;
	}
	n = strlen(v);
	if (n == 16) {
		memcpy(key, v, 16);
		rc = WK_OK;
	} else if (n == 32 && wk_hex_decode(v, key, 16) == 16) {
		rc = WK_OK;
	}
	sodium_memzero(s, sizeof(s));
	return rc;
}

static int
fail(wk_cli *cli, wk_gm *gm, const char *what, int rc)
{
	uint16_t sw = wk_gm_last_sw(gm);

	if (rc == WK_ERR_SW && sw == 0x6A89)
		fprintf(stderr, "walletkey: %s: the name exists already\n", what);
	else if (rc == WK_ERR_NOT_FOUND && sw == 0x6A83)
		fprintf(stderr, "walletkey: %s: the container holds no such key "
		    "or certificate\n", what);
	return wk_cli_fail(cli, what, rc);
}

static int
pin_fail(wk_cli *cli, wk_gm *gm, const char *what, int rc, unsigned tries)
{
	if (rc == WK_ERR_WRONG_PIN)
		fprintf(stderr, "walletkey: %s: wrong PIN, %u tries left\n", what,
		    tries);
	return fail(cli, gm, what, rc);
}

static int
login(wk_cli *cli, wk_gm *gm, uint8_t app, const gm_opts *o, bool admin)
{
	uint8_t pin[WK_GM_PIN_MAX];
	size_t n = 0;
	unsigned tries = 0;
	int rc;

	if ((rc = read_pin(admin ? o->admin_pin_file : o->pin_file,
	    admin ? "WALLETKEY_GM_ADMIN_PIN" : "WALLETKEY_GM_PIN",
	    admin ? "admin PIN" : "PIN", pin, &n)) != WK_OK)
		return fail(cli, gm, "reading the PIN (6 to 16 characters)", rc);
	rc = wk_gm_verify_pin(gm, app, admin ? WK_GM_PIN_ADMIN : WK_GM_PIN_USER,
	    pin, n, &tries);
	sodium_memzero(pin, sizeof(pin));
	if (rc != WK_OK)
		return pin_fail(cli, gm, "verify PIN", rc, tries);
	return WK_CLI_OK;
}

static int
dev_auth(wk_cli *cli, wk_gm *gm, const gm_opts *o)
{
	uint8_t key[16];
	unsigned tries = 0;
	int rc;

	if ((rc = read_dev_key(o, key)) != WK_OK)
		return wk_cli_usage(cli, "the device key: --dev-key-file or "
		    "$WALLETKEY_GM_DEV_KEY (16 characters or 32 hex digits)");
	rc = wk_gm_dev_auth(gm, key, sizeof(key), &tries);
	sodium_memzero(key, sizeof(key));
	if (rc != WK_OK) {
		if (rc == WK_ERR_WRONG_PIN)
			fprintf(stderr, "walletkey: wrong device key, %u tries "
			    "left\n", tries);
		return fail(cli, gm, "device authentication", rc);
	}
	return WK_CLI_OK;
}

static int
print_pem_pub(wk_cli *cli, const uint8_t pub[64], const char *out)
{
	uint8_t der[256];
	size_t n = sizeof(der);
	const unsigned char *p = der;
	EVP_PKEY *k = NULL;
	FILE *f;
	int st = WK_CLI_FAILED;

	if (wk_gm_pub_to_spki(pub, der, &n) != WK_OK ||
	    (k = d2i_PUBKEY(NULL, &p, (long)n)) == NULL)
		return wk_cli_fail(cli, "public key", WK_ERR_CRYPTO);
	if (cli->json) {
		st = wk_cli_json_print(json_pack("{s:o,s:o}", "public_key",
		    wk_cli_json_hex(pub, 64), "spki", wk_cli_json_hex(der, n)));
		if (out == NULL)
			goto done;
	}
	f = out == NULL ? stdout : fopen(out, "w");
	if (f == NULL || PEM_write_PUBKEY(f, k) != 1)
		st = wk_cli_fail(cli, out != NULL ? out : "stdout", WK_ERR_IO);
	else
		st = WK_CLI_OK;
	if (f != NULL && f != stdout)
		fclose(f);
done:
	EVP_PKEY_free(k);
	return st;
}

static int
cmd_info(wk_cli *cli, wk_gm *gm)
{
	wk_gm_info i;
	int rc;

	if ((rc = wk_gm_get_info(gm, &i)) != WK_OK)
		return fail(cli, gm, "info", rc);
	if (cli->json)
		return wk_cli_json_print(json_pack("{s:s,s:o,s:s,s:i,s:i,s:i,s:i,"
		    "s:i,s:i,s:b}", "label", i.label, "serial",
		    wk_cli_json_hex(i.serial, 8), "version", "1.0",
		    "sym_cap", (int)i.sym_cap, "asym_cap", (int)i.asym_cap,
		    "hash_cap", (int)i.hash_cap, "total_space",
		    (int)i.total_space, "free_space", (int)i.free_space,
		    "dev_tries_left", (int)i.dev_tries_left, "dev_key_default",
		    i.dev_key_default));
	printf("label:        %s\nserial:       ", i.label);
	wk_cli_print_hex(stdout, i.serial, 8);
	printf("\nalgorithms:   SM2 (sign, agreement, encryption), SM3, "
	    "SHA-1, SHA-256, SM4 (ECB, CBC, CFB, OFB, MAC)\n"
	    "space:        %u of %u bytes free\ndevice key:   %s, %u tries "
	    "left\n", i.free_space, i.total_space,
	    i.dev_key_default ? "factory default (change it)" : "set",
	    i.dev_tries_left);
	return WK_CLI_OK;
}

static int
cmd_list(wk_cli *cli, wk_gm *gm, uint8_t app, int what)
{
	static const char *const hdr_app[] = { "APPLICATION" };
	static const char *const hdr_cont[] = { "CONTAINER", "TYPE", "SIGN KEY",
		"ENC KEY", "SIGN CERT", "ENC CERT" };
	wk_gm_name names[WK_GM_MAX_CONTAINERS + WK_GM_MAX_APPS];
	wk_cli_table *t;
	json_t *arr;
	size_t n = 0;
	int rc;

	rc = what == 0 ? wk_gm_app_list(gm, names, WK_GM_MAX_APPS, &n) :
	    wk_gm_cont_list(gm, app, names, WK_GM_MAX_CONTAINERS, &n);
	if (rc != WK_OK)
		return fail(cli, gm, "list", rc);
	arr = json_array();
	t = wk_cli_table_new(what == 0 ? 1 : 6, what == 0 ? hdr_app : hdr_cont);
	for (size_t i = 0; i < n && arr != NULL && t != NULL; i++) {
		unsigned fl = 0;
		int type = 0;
		const char *cells[6];

		if (what == 0) {
			json_array_append_new(arr, json_string(names[i].name));
			cells[0] = names[i].name;
			wk_cli_table_add(t, cells);
			continue;
		}
		if ((rc = wk_gm_cont_info(gm, app, names[i].name, &type, &fl)) !=
		    WK_OK)
			break;
		json_array_append_new(arr, json_pack("{s:s,s:s,s:b,s:b,s:b,s:b}",
		    "name", names[i].name, "type", type == 2 ? "sm2" : "empty",
		    "sign_key", (fl & WK_GM_CONT_SIGN_KEY) != 0, "enc_key",
		    (fl & WK_GM_CONT_ENC_KEY) != 0, "sign_cert",
		    (fl & WK_GM_CONT_SIGN_CERT) != 0, "enc_cert",
		    (fl & WK_GM_CONT_ENC_CERT) != 0));
		cells[0] = names[i].name;
		cells[1] = type == 2 ? "SM2" : "empty";
		cells[2] = fl & WK_GM_CONT_SIGN_KEY ? "yes" : "no";
		cells[3] = fl & WK_GM_CONT_ENC_KEY ? "yes" : "no";
		cells[4] = fl & WK_GM_CONT_SIGN_CERT ? "yes" : "no";
		cells[5] = fl & WK_GM_CONT_ENC_CERT ? "yes" : "no";
		wk_cli_table_add(t, cells);
	}
	if (rc != WK_OK) {
		json_decref(arr);
		wk_cli_table_free(&t);
		return fail(cli, gm, "list", rc);
	}
	if (cli->json) {
		wk_cli_table_free(&t);
		return wk_cli_json_print(json_pack("{s:o}", what == 0 ?
		    "applications" : "containers", arr));
	}
	json_decref(arr);
	wk_cli_table_print(t, stdout);
	wk_cli_table_free(&t);
	return WK_CLI_OK;
}

static uint32_t
rights_of(const char *s)
{
	if (s == NULL || strcmp(s, "user") == 0)
		return WK_GM_RIGHT_USER;
	if (strcmp(s, "admin") == 0)
		return WK_GM_RIGHT_ADMIN;
	if (strcmp(s, "anyone") == 0)
		return WK_GM_RIGHT_ANYONE;
	return 0x100;
}

static int
cmd_app_create(wk_cli *cli, wk_gm *gm, const gm_opts *o, const char *name)
{
	uint8_t apin[WK_GM_PIN_MAX], upin[WK_GM_PIN_MAX], app = 0;
	size_t an = 0, un = 0;
	uint32_t rights = rights_of(o->rights);
	int rc, st;

	if (rights > 0xFF || o->admin_tries < 1 || o->admin_tries > 15 ||
	    o->user_tries < 1 || o->user_tries > 15)
		return wk_cli_usage(cli, "--rights user|admin|anyone, tries 1 to 15");
	if ((st = dev_auth(cli, gm, o)) != WK_CLI_OK)
		return st;
	if ((rc = read_pin(o->admin_pin_file, "WALLETKEY_GM_ADMIN_PIN",
	    "new admin PIN", apin, &an)) != WK_OK ||
	    (rc = read_pin(o->pin_file, "WALLETKEY_GM_PIN", "new user PIN", upin,
	    &un)) != WK_OK) {
		st = fail(cli, gm, "reading the PINs (6 to 16 characters)", rc);
		goto out;
	}
	rc = wk_gm_app_create(gm, name, apin, an, (unsigned)o->admin_tries, upin,
	    un, (unsigned)o->user_tries, rights, &app);
	if (rc != WK_OK) {
		st = fail(cli, gm, "app-create", rc);
		goto out;
	}
	st = cli->json ? wk_cli_json_print(json_pack("{s:s,s:b}", "application",
	    name, "created", 1)) : (printf("application %s created\n", name),
	    WK_CLI_OK);
out:
	(void)wk_gm_dev_logout(gm);
	sodium_memzero(apin, sizeof(apin));
	sodium_memzero(upin, sizeof(upin));
	return st;
}

static int
cmd_pin(wk_cli *cli, wk_gm *gm, uint8_t app, const gm_opts *o, const char *sub)
{
	uint8_t a[WK_GM_PIN_MAX], b[WK_GM_PIN_MAX];
	size_t an = 0, bn = 0;
	unsigned max = 0, left = 0, tries = 0;
	int type = o->admin ? WK_GM_PIN_ADMIN : WK_GM_PIN_USER;
	bool def = false;
	int rc, st = WK_CLI_FAILED;

	if (strcmp(sub, "info") == 0) {
		if ((rc = wk_gm_pin_info(gm, app, type, &max, &left, &def)) != WK_OK)
			return fail(cli, gm, "pin info", rc);
		if (cli->json)
			return wk_cli_json_print(json_pack("{s:s,s:i,s:i,s:b}",
			    "pin", o->admin ? "admin" : "user", "max", (int)max,
			    "tries_left", (int)left, "default", def));
		printf("%s PIN: %u of %u tries left%s\n", o->admin ? "admin" :
		    "user", left, max, def ? ", still the first PIN" : "");
		return WK_CLI_OK;
	}
	if (strcmp(sub, "verify") == 0) {
		if ((st = login(cli, gm, app, o, o->admin)) == WK_CLI_OK)
			st = cli->json ? wk_cli_json_print(json_pack("{s:b}",
			    "verified", 1)) : (puts("PIN verified"), WK_CLI_OK);
		return st;
	}
	if (strcmp(sub, "change") != 0 && strcmp(sub, "unblock") != 0)
		return wk_cli_usage(cli, "gm pin verify|change|unblock|info");
	if (strcmp(sub, "unblock") == 0) {
		type = WK_GM_PIN_ADMIN;
		rc = read_pin(o->admin_pin_file != NULL ? o->admin_pin_file :
		    o->pin_file, "WALLETKEY_GM_ADMIN_PIN", "admin PIN", a, &an);
	} else {
		rc = read_pin(o->pin_file, o->admin ? "WALLETKEY_GM_ADMIN_PIN" :
		    "WALLETKEY_GM_PIN", "current PIN", a, &an);
	}
	if (rc == WK_OK)
		rc = read_pin(o->new_pin_file, "WALLETKEY_GM_NEW_PIN", "new PIN", b,
		    &bn);
	if (rc != WK_OK) {
		st = fail(cli, gm, "reading the PINs (6 to 16 characters)", rc);
		goto out;
	}
	rc = strcmp(sub, "unblock") == 0 ?
	    wk_gm_unblock_pin(gm, app, a, an, b, bn, &tries) :
	    wk_gm_change_pin(gm, app, type, a, an, b, bn, &tries);
	if (rc != WK_OK) {
		st = pin_fail(cli, gm, sub, rc, tries);
		goto out;
	}
	st = cli->json ? wk_cli_json_print(json_pack("{s:b}", "changed", 1)) :
	    (puts(strcmp(sub, "unblock") == 0 ? "user PIN unblocked" :
	    "PIN changed"), WK_CLI_OK);
out:
	sodium_memzero(a, sizeof(a));
	sodium_memzero(b, sizeof(b));
	return st;
}

static int
need(wk_cli *cli, const char *v, const char *opt)
{
	if (v == NULL)
		return wk_cli_usage(cli, "%s is needed", opt);
	return WK_CLI_OK;
}

static int
cmd_cert(wk_cli *cli, wk_gm *gm, uint8_t app, const gm_opts *o, bool import)
{
	uint8_t *data = NULL, der[WK_GM_CERT_MAX];
	size_t n = 0, dn = sizeof(der);
	const unsigned char *p;
	X509 *x = NULL;
	BIO *bio = NULL;
	int rc, st = WK_CLI_FAILED;

	if (import) {
		unsigned char *q;
		int len;

		if ((st = need(cli, o->in, "--in")) != WK_CLI_OK ||
		    (st = login(cli, gm, app, o, false)) != WK_CLI_OK)
			return st;
		if ((rc = read_file(o->in, &data, &n)) != WK_OK)
			return wk_cli_fail(cli, o->in, rc);
		/* PEM or DER */
		p = data;
		if ((x = d2i_X509(NULL, &p, (long)n)) == NULL &&
		    (bio = BIO_new_mem_buf(data, (int)n)) != NULL)
			x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (x == NULL || (len = i2d_X509(x, NULL)) <= 0 ||
		    (size_t)len > sizeof(der)) {
			st = wk_cli_fail(cli, "not a certificate", WK_ERR_BAD_DATA);
			goto out;
		}
		q = der;
		i2d_X509(x, &q);
		if ((rc = wk_gm_cert_import(gm, app, o->container, !o->enc, der,
		    (size_t)len)) != WK_OK) {
			st = fail(cli, gm, "cert-import", rc);
			goto out;
		}
		st = cli->json ? wk_cli_json_print(json_pack("{s:b}", "imported",
		    1)) : (puts("certificate imported"), WK_CLI_OK);
		goto out;
	}
	if ((rc = wk_gm_cert_export(gm, app, o->container, !o->enc, der, &dn)) !=
	    WK_OK)
		return fail(cli, gm, "cert-export", rc);
	if (cli->json && o->out == NULL)
		return wk_cli_json_print(json_pack("{s:o}", "certificate",
		    wk_cli_json_hex(der, dn)));
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)dn)) == NULL)
		return wk_cli_fail(cli, "cert-export", WK_ERR_CARD_MALFORMED);
	{
		FILE *f = o->out == NULL ? stdout : fopen(o->out, "w");

		if (f == NULL || PEM_write_X509(f, x) != 1)
			st = wk_cli_fail(cli, "cert-export", WK_ERR_IO);
		else
			st = WK_CLI_OK;
		if (f != NULL && f != stdout)
			fclose(f);
	}
out:
	BIO_free(bio);
	X509_free(x);
	free(data);
	return st;
}

static int
cmd_crypto(wk_cli *cli, wk_gm *gm, uint8_t app, const gm_opts *o,
    const char *sub)
{
	uint8_t *in = NULL, *sig = NULL, *out = NULL, pub[64], rs[64], der[80];
	size_t n = 0, sn = 0, on = 0, dn = sizeof(der);
	const uint8_t *id = (const uint8_t *)o->id;
	size_t idn = o->id != NULL ? strlen(o->id) : 0;
	int rc, st;

	if ((st = need(cli, o->in, "--in")) != WK_CLI_OK)
		return st;
	if ((rc = read_file(o->in, &in, &n)) != WK_OK)
		return wk_cli_fail(cli, o->in, rc);
	st = WK_CLI_FAILED;
	if (strcmp(sub, "sign") == 0) {
		if ((st = login(cli, gm, app, o, false)) != WK_CLI_OK)
			goto out;
		if ((rc = wk_gm_sign_message(gm, app, o->container, in, n, id, idn,
		    rs)) != WK_OK || (rc = wk_gm_sig_to_der(rs, der, &dn)) != WK_OK) {
			st = fail(cli, gm, "sign", rc);
			goto out;
		}
		if (cli->json && o->out == NULL)
			st = wk_cli_json_print(json_pack("{s:o,s:o}", "signature",
			    wk_cli_json_hex(der, dn), "r_s", wk_cli_json_hex(rs, 64)));
		else
			st = (rc = write_out(o->out, der, dn)) == WK_OK ? WK_CLI_OK :
			    wk_cli_fail(cli, o->out, rc);
	} else if (strcmp(sub, "verify") == 0) {
		if ((st = need(cli, o->sig, "--sig")) != WK_CLI_OK)
			goto out;
		if ((rc = read_file(o->sig, &sig, &sn)) != WK_OK) {
			st = wk_cli_fail(cli, o->sig, rc);
			goto out;
		}
		if ((rc = wk_gm_sig_from_der(sig, sn, rs)) != WK_OK ||
		    (rc = wk_gm_public_key(gm, app, o->container, true, pub)) !=
		    WK_OK ||
		    (rc = wk_gm_verify_message(gm, pub, in, n, id, idn, rs)) != WK_OK) {
			st = fail(cli, gm, "verify", rc);
			goto out;
		}
		st = cli->json ? wk_cli_json_print(json_pack("{s:b}", "verified",
		    1)) : (puts("signature verified"), WK_CLI_OK);
	} else {
		bool enc = strcmp(sub, "encrypt") == 0;
		uint8_t raw[WK_GM_DATA_MAX + 96];
		size_t rn = sizeof(raw);

		if (!enc && (st = login(cli, gm, app, o, false)) != WK_CLI_OK)
			goto out;
		if ((out = malloc(WK_GM_DATA_MAX + 256)) == NULL)
			goto out;
		on = WK_GM_DATA_MAX + 256;
		if (enc)
			rc = (rc = wk_gm_public_key(gm, app, o->container, false,
			    pub)) != WK_OK ? rc : (rc = wk_gm_encrypt(gm, pub, in, n,
			    raw, &rn)) != WK_OK ? rc :
			    wk_gm_cipher_to_der(raw, rn, out, &on);
		else
			rc = (rc = wk_gm_cipher_from_der(in, n, raw, &rn)) != WK_OK ?
			    rc : wk_gm_decrypt(gm, app, o->container, raw, rn, out,
			    &on);
		sodium_memzero(raw, sizeof(raw));
		if (rc != WK_OK) {
			st = fail(cli, gm, sub, rc);
			goto out;
		}
		if (cli->json && o->out == NULL)
			st = wk_cli_json_print(json_pack("{s:o}", enc ? "ciphertext" :
			    "plaintext", wk_cli_json_hex(out, on)));
		else
			st = (rc = write_out(o->out, out, on)) == WK_OK ? WK_CLI_OK :
			    wk_cli_fail(cli, o->out, rc);
	}
out:
	if (out != NULL) {
		sodium_memzero(out, WK_GM_DATA_MAX + 256);
		free(out);
	}
	free(sig);
	free(in);
	return st;
}

int
wk_cmd_gm(wk_cli *cli, int argc, char **argv)
{
	gm_opts o;
	wk_card *card;
	wk_gm *gm = NULL;
	const char *sub;
	uint8_t app = 0, pub[64];
	int first = 0, rc, st;

	if ((st = wk_cli_group_usage(argc, argv, usage, true)) >= 0)
		return st;
	sub = argv[1];
	if ((st = parse(cli, argc - 1, argv + 1, &o, &first)) != WK_CLI_OK)
		return st;
	first++;	/* argv + 1 */
	if ((rc = wk_cli_card(cli, &card)) != WK_OK)
		return wk_cli_fail(cli, "gm", rc);
	if ((rc = wk_gm_open(card, &gm)) != WK_OK)
		return wk_cli_fail(cli, "the card has no GM applet", rc);
	st = WK_CLI_FAILED;
	if (strcmp(sub, "info") == 0) {
		st = cmd_info(cli, gm);
		goto out;
	}
	if (strcmp(sub, "apps") == 0) {
		st = cmd_list(cli, gm, 0, 0);
		goto out;
	}
	if (strcmp(sub, "app-create") == 0 || strcmp(sub, "app-delete") == 0) {
		if (first >= argc) {
			st = wk_cli_usage(cli, "gm %s NAME", sub);
			goto out;
		}
		if (sub[4] == 'c') {
			st = cmd_app_create(cli, gm, &o, argv[first]);
			goto out;
		}
		if ((st = dev_auth(cli, gm, &o)) != WK_CLI_OK)
			goto out;
		rc = wk_gm_app_delete(gm, argv[first]);
		(void)wk_gm_dev_logout(gm);
		st = rc != WK_OK ? fail(cli, gm, "app-delete", rc) : cli->json ?
		    wk_cli_json_print(json_pack("{s:b}", "deleted", 1)) :
		    (printf("application %s deleted\n", argv[first]), WK_CLI_OK);
		goto out;
	}
	if ((rc = wk_gm_app_open(gm, o.app, &app)) != WK_OK) {
		st = fail(cli, gm, o.app, rc);
		goto out;
	}
	if (strcmp(sub, "pin") == 0) {
		st = first < argc ? cmd_pin(cli, gm, app, &o, argv[first]) :
		    wk_cli_usage(cli, "gm pin verify|change|unblock|info");
		goto out;
	}
	if (strcmp(sub, "containers") == 0) {
		st = cmd_list(cli, gm, app, 1);
		goto out;
	}
	if (strcmp(sub, "container-create") == 0 ||
	    strcmp(sub, "container-delete") == 0) {
		if (first >= argc) {
			st = wk_cli_usage(cli, "gm %s NAME", sub);
			goto out;
		}
		if ((st = login(cli, gm, app, &o, false)) != WK_CLI_OK)
			goto out;
		rc = sub[10] == 'c' ? wk_gm_cont_create(gm, app, argv[first]) :
		    wk_gm_cont_delete(gm, app, argv[first]);
		st = rc != WK_OK ? fail(cli, gm, sub, rc) : cli->json ?
		    wk_cli_json_print(json_pack("{s:s,s:b}", "container",
		    argv[first], sub[10] == 'c' ? "created" : "deleted", 1)) :
		    (printf("container %s %s\n", argv[first], sub[10] == 'c' ?
		    "created" : "deleted"), WK_CLI_OK);
		goto out;
	}
	if ((st = need(cli, o.container, "--container")) != WK_CLI_OK)
		goto out;
	if (strcmp(sub, "keygen") == 0 || strcmp(sub, "pubkey") == 0) {
		if (sub[0] == 'k') {
			if ((st = login(cli, gm, app, &o, false)) != WK_CLI_OK)
				goto out;
			rc = wk_gm_generate(gm, app, o.container, !o.enc, pub);
		} else {
			rc = wk_gm_public_key(gm, app, o.container, !o.enc, pub);
		}
		st = rc != WK_OK ? fail(cli, gm, sub, rc) :
		    print_pem_pub(cli, pub, o.out);
		goto out;
	}
	if (strcmp(sub, "cert-import") == 0 || strcmp(sub, "cert-export") == 0) {
		st = cmd_cert(cli, gm, app, &o, sub[5] == 'i');
		goto out;
	}
	if (strcmp(sub, "sign") == 0 || strcmp(sub, "verify") == 0 ||
	    strcmp(sub, "encrypt") == 0 || strcmp(sub, "decrypt") == 0) {
		st = cmd_crypto(cli, gm, app, &o, sub);
		goto out;
	}
	st = wk_cli_usage(cli, "unknown gm command '%s'", sub);
out:
	wk_gm_free(&gm);
	return st;
}
