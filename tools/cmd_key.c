/* walletkey key generate|import|attest */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "cmd_piv.h"
#include "piv_cli.h"

static const char usage[] =
    "usage: walletkey key generate --slot S --alg ALG [--pin-policy P]\n"
    "                 [--touch-policy T] [--out FILE] [--mgmt-key-file FILE]\n"
    "       walletkey key import --slot S --in KEY.pem [--pin-policy P]\n"
    "                 [--touch-policy T] [--mgmt-key-file FILE]\n"
    "       walletkey key attest --slot S [--out FILE]\n"
    "ALG: eccp256 eccp384 rsa2048 rsa3072 rsa4096 ed25519 x25519\n"
    "P: default never once always; T: default never always cached\n";

typedef struct key_opts {
	piv_cli_common c;
	const char *alg_s, *pin_s, *touch_s;
	uint8_t slot, alg, pin_policy, touch_policy;
} key_opts;

static const char *const pin_names[] = { "default", "never", "once",
	"always" };
static const char *const touch_names[] = { "default", "never", "always",
	"cached" };

static int
policy(const char *s, const char *const *names, uint8_t *out)
{
	for (uint8_t i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

#define KO(f) offsetof(key_opts, f)

static int
parse(int argc, char **argv, key_opts *o)
{
	static const piv_cli_opt opts[] = {
		PIV_OPT("alg", PIV_OPT_STR, KO(alg_s)),
		PIV_OPT("pin-policy", PIV_OPT_STR, KO(pin_s)),
		PIV_OPT("touch-policy", PIV_OPT_STR, KO(touch_s)),
		PIV_OPTS_END,
	};
	int st;

	memset(o, 0, sizeof(*o));
	if ((st = piv_cli_parse(argc, argv, usage, PIV_C_SLOT | PIV_C_IN |
	    PIV_C_OUT | PIV_C_MGMT, &o->c, opts, o)) != PIV_EXIT_OK)
		return st;
	if (o->c.slot_s == NULL)
		return piv_cli_usage("--slot is required");
	if (wk_piv_slot_from_name(o->c.slot_s, &o->slot) != WK_OK ||
	    o->slot == WK_PIV_SLOT_ATTEST)
		return piv_cli_usage("--slot: 9a, 9c, 9d, 9e or 82..95");
	if (o->pin_s != NULL && policy(o->pin_s, pin_names,
	    &o->pin_policy) != 0)
		return piv_cli_usage("--pin-policy: default, never, once or "
		    "always");
	if (o->touch_s != NULL && policy(o->touch_s, touch_names,
	    &o->touch_policy) != 0)
		return piv_cli_usage("--touch-policy: default, never, always "
		    "or cached");
	return PIV_EXIT_OK;
}

static int
print_pem(wk_cli *cli, const char *out, const char *label,
    const uint8_t *der, size_t len, const key_opts *o)
{
	BIO *mem = NULL;
	char *pem = NULL, *copy = NULL;
	long n;
	int st = PIV_EXIT_FAIL;

	if ((mem = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio(mem, label, "", der, (long)len) <= 0)
		goto out;
	n = BIO_get_mem_data(mem, &pem);
	if (n <= 0 || (copy = strndup(pem, (size_t)n)) == NULL)
		goto out;
	if (out != NULL && (st = piv_cli_write_file(out, copy, (size_t)n)) !=
	    PIV_EXIT_OK)
		goto out;
	if (cli->json)
		piv_cli_json(json_pack("{s:s,s:s,s:s}", "slot", o->c.slot_s,
		    "algorithm", wk_piv_alg_name(o->alg),
		    strcmp(label, "CERTIFICATE") == 0 ? "certificate" :
		    "public_key", copy));
	else if (out == NULL)
		fputs(copy, stdout);
	st = PIV_EXIT_OK;
out:
	free(copy);
	BIO_free(mem);
	return st;
}

static int
do_generate(wk_cli *cli, wk_piv *piv, key_opts *o)
{
	const piv_cli_auth auth = { .mgmt = true, .mgmt_file = o->c.mgmt_file };
	uint8_t spki[WK_PIV_SPKI_MAX];
	size_t len = sizeof(spki);
	int rc, st;

	if ((st = piv_cli_begin(cli, piv, &auth)) != PIV_EXIT_OK)
		return st;
	if (!cli->json)
		fprintf(stderr, "generating a %s key in slot %s...\n",
		    wk_piv_alg_name(o->alg), o->c.slot_s);
	rc = wk_piv_generate(piv, o->slot, o->alg, o->pin_policy,
	    o->touch_policy, spki, &len);
	if (rc != WK_OK) {
		st = wk_cli_fail(cli, "generate", rc);
		goto out;
	}
	st = print_pem(cli, o->c.out, "PUBLIC KEY", spki, len, o);
out:
	piv_cli_end(piv);
	return st;
}

/* a private key file (PEM or DER, PKCS#8 or traditional) as DER */
static int
load_key(const char *path, uint8_t **der, size_t *der_len)
{
	uint8_t *raw = NULL;
	const unsigned char *p;
	unsigned char *out = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	size_t len = 0;
	int n, st;

	if ((st = piv_cli_read_file(path, 65536, &raw, &len)) != 0)
		goto out;
	p = raw;
	if ((pkey = d2i_AutoPrivateKey(NULL, &p, (long)len)) == NULL &&
	    (bio = BIO_new_mem_buf(raw, (int)len)) != NULL)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	st = PIV_EXIT_USAGE;
	if (pkey == NULL) {
		piv_cli_usage("%s: not a private key (PEM or DER)", path);
		goto out;
	}
	if ((n = i2d_PrivateKey(pkey, &out)) <= 0) {
		st = PIV_EXIT_FAIL;
		goto out;
	}
	*der = out;
	*der_len = (size_t)n;
	st = PIV_EXIT_OK;
out:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	if (raw != NULL) {
		sodium_memzero(raw, len);
		free(raw);
	}
	return st;
}

static int
do_import(wk_cli *cli, wk_piv *piv, key_opts *o)
{
	const piv_cli_auth auth = { .mgmt = true, .mgmt_file = o->c.mgmt_file };
	uint8_t *der = NULL;
	size_t len = 0;
	int rc, st;

	if ((st = load_key(o->c.in, &der, &len)) != 0)
		return st;
	if ((st = piv_cli_begin(cli, piv, &auth)) == PIV_EXIT_OK) {
		rc = wk_piv_import_key(piv, o->slot, der, len, o->pin_policy,
		    o->touch_policy, &o->alg);
		if (rc == WK_ERR_ARG)
			st = piv_cli_usage("%s: not a key a PIV slot holds "
			    "(RSA 1024-4096 with e=65537, P-256, P-384, "
			    "Ed25519, X25519)", o->c.in);
		else if (rc != WK_OK)
			st = wk_cli_fail(cli, "import", rc);
		else if (cli->json)
			piv_cli_json(json_pack("{s:s,s:s}", "slot", o->c.slot_s,
			    "algorithm", wk_piv_alg_name(o->alg)));
		else
			printf("imported a %s key into slot %s\n",
			    wk_piv_alg_name(o->alg), o->c.slot_s);
		piv_cli_end(piv);
	}
	OPENSSL_clear_free(der, len);
	return st;
}

static int
do_attest(wk_cli *cli, wk_piv *piv, key_opts *o)
{
	uint8_t *der = NULL;
	size_t len = WK_PIV_OBJ_MAX;
	wk_piv_metadata md;
	int rc, st = PIV_EXIT_FAIL;

	if ((der = malloc(len)) == NULL)
		goto out;
	if (wk_piv_get_metadata(piv, o->slot, &md) == WK_OK)
		o->alg = md.alg;
	if ((rc = wk_piv_attest(piv, o->slot, der, &len)) != WK_OK) {
		st = wk_cli_fail(cli, "attest", rc);
		goto out;
	}
	st = print_pem(cli, o->c.out, "CERTIFICATE", der, len, o);
out:
	free(der);
	return st;
}

int
cmd_key(wk_cli *cli, int argc, char **argv)
{
	static const char *const subs[] = { "generate", "import", "attest",
		NULL };
	static int (*const run[])(wk_cli *, wk_piv *, key_opts *) = {
		do_generate, do_import, do_attest };
	wk_piv *piv = NULL;
	key_opts o;
	int sub, st;

	if ((st = piv_cli_group(argc, argv, usage, subs, &sub)) != -1)
		return st;
	if (sub < 0)
		return piv_cli_bad_sub(usage);
	if ((st = parse(argc - 1, argv + 1, &o)) != PIV_EXIT_OK)
		return st;
	if (run[sub] == do_import && o.c.in == NULL)
		return piv_cli_usage("--in KEY.pem is required");
	if (run[sub] == do_generate) {
		if (o.alg_s == NULL)
			return piv_cli_usage("--alg is required");
		if (wk_piv_alg_from_name(o.alg_s, &o.alg) != WK_OK ||
		    wk_piv_alg_bits(o.alg) == 0)
			return piv_cli_usage("--alg: eccp256, eccp384, "
			    "rsa1024, rsa2048, rsa3072, rsa4096, ed25519 or "
			    "x25519");
	}
	if ((st = piv_cli_open(cli, &piv)) != PIV_EXIT_OK)
		return st;
	st = run[sub](cli, piv, &o);
	wk_piv_free(&piv);
	return st;
}
