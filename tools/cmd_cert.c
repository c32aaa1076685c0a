/* walletkey cert import|export|delete|request|selfsign */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cmd_piv.h"
#include "piv_cli.h"

static const char usage[] =
    "usage: walletkey cert import --slot S --in CERT [--mgmt-key-file FILE]\n"
    "       walletkey cert export --slot S [--out FILE] [--der]\n"
    "       walletkey cert delete --slot S [--mgmt-key-file FILE]\n"
    "       walletkey cert request --slot S --subject /CN=... [--out CSR.pem]\n"
    "                 [--hash sha256|sha384|sha512] [--pin-file FILE]\n"
    "       walletkey cert selfsign --slot S --subject /CN=... [--days N]\n"
    "                 [--out CERT.pem] [--import] [--hash H] [--pin-file FILE]\n"
    "                 [--mgmt-key-file FILE]\n";

typedef struct cert_opts {
	piv_cli_common c;
	const char *subject;
	long days;
	bool der, import;
	uint8_t slot;
} cert_opts;

#define CO(f) offsetof(cert_opts, f)

static int
parse(int argc, char **argv, cert_opts *o)
{
	static const piv_cli_opt opts[] = {
		PIV_OPT("subject", PIV_OPT_STR, CO(subject)),
		{ .name = "days", .kind = PIV_OPT_NUM, .off = CO(days),
		    .bad = "--days: 1 to 36500", .min = 1, .max = 36500 },
		PIV_OPT("der", PIV_OPT_FLAG, CO(der)),
		PIV_OPT("import", PIV_OPT_FLAG, CO(import)),
		PIV_OPTS_END,
	};
	int st;

	memset(o, 0, sizeof(*o));
	o->days = 365;
	if ((st = piv_cli_parse(argc, argv, usage, PIV_C_SLOT | PIV_C_IN |
	    PIV_C_OUT | PIV_C_HASH | PIV_C_PIN | PIV_C_MGMT, &o->c, opts,
	    o)) != PIV_EXIT_OK)
		return st;
	if (o->c.slot_s == NULL)
		return piv_cli_usage("--slot is required");
	if (wk_piv_slot_from_name(o->c.slot_s, &o->slot) != WK_OK)
		return piv_cli_usage("--slot: 9a, 9c, 9d, 9e, 82..95 or f9");
	return PIV_EXIT_OK;
}

static int
with_mgmt(wk_cli *cli, wk_piv *piv, const cert_opts *o, const uint8_t *der,
    size_t len)
{
	const piv_cli_auth auth = { .mgmt = true, .mgmt_file = o->c.mgmt_file };
	int rc, st;

	if ((st = piv_cli_begin(cli, piv, &auth)) != PIV_EXIT_OK)
		return st;
	rc = der != NULL ? wk_piv_write_cert(piv, o->slot, der, len) :
	    wk_piv_delete_cert(piv, o->slot);
	if (rc != WK_OK)
		st = wk_cli_fail(cli, der != NULL ? "write the certificate" :
		    "delete the certificate", rc);
	piv_cli_end(piv);
	return st;
}

static int
do_import(wk_cli *cli, wk_piv *piv, const cert_opts *o, const uint8_t *der,
    size_t len)
{
	int st;

	if ((st = with_mgmt(cli, piv, o, der, len)) != 0)
		return st;
	if (cli->json)
		piv_cli_json(json_pack("{s:s,s:i}", "slot", o->c.slot_s, "bytes",
		    (int)len));
	else
		printf("certificate written to slot %s\n", o->c.slot_s);
	return PIV_EXIT_OK;
}

/* PEM (or DER with --der) to --out or stdout; JSON carries the PEM */
static int
emit(wk_cli *cli, const cert_opts *o, const char *key, X509 *x,
    X509_REQ *req)
{
	unsigned char *der = NULL;
	char *pem = NULL, *copy = NULL;
	BIO *mem = NULL;
	long n;
	int dlen, st = PIV_EXIT_FAIL;

	if (o->der) {
		dlen = x != NULL ? i2d_X509(x, &der) : i2d_X509_REQ(req, &der);
		if (dlen <= 0)
			goto out;
		if (o->c.out == NULL && !cli->json) {
			st = piv_cli_write_file("-", der, (size_t)dlen);
			goto out;
		}
		if (o->c.out != NULL && (st = piv_cli_write_file(o->c.out, der,
		    (size_t)dlen)) != 0)
			goto out;
	}
	if ((mem = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if ((x != NULL ? PEM_write_bio_X509(mem, x) :
	    PEM_write_bio_X509_REQ(mem, req)) != 1)
		goto out;
	if ((n = BIO_get_mem_data(mem, &pem)) <= 0 ||
	    (copy = strndup(pem, (size_t)n)) == NULL)
		goto out;
	if (!o->der && o->c.out != NULL &&
	    (st = piv_cli_write_file(o->c.out, copy, (size_t)n)) != 0)
		goto out;
	if (cli->json)
		piv_cli_json(json_pack("{s:s,s:s}", "slot", o->c.slot_s, key,
		    copy));
	else if (o->c.out == NULL)
		fputs(copy, stdout);
	st = PIV_EXIT_OK;
out:
	free(copy);
	BIO_free(mem);
	OPENSSL_free(der);
	return st;
}

static int
do_export(wk_cli *cli, wk_piv *piv, const cert_opts *o)
{
	const unsigned char *p;
	uint8_t *der = NULL;
	size_t len = WK_PIV_OBJ_MAX;
	X509 *x = NULL;
	int rc, st = PIV_EXIT_FAIL;

	if ((der = malloc(len)) == NULL)
		goto out;
	if ((rc = wk_piv_read_cert(piv, o->slot, der, &len)) != WK_OK) {
		st = wk_cli_fail(cli, "read the certificate", rc);
		goto out;
	}
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		st = wk_cli_fail(cli, "parse the certificate",
		    WK_ERR_CARD_MALFORMED);
		goto out;
	}
	st = emit(cli, o, "certificate", x, NULL);
out:
	X509_free(x);
	free(der);
	return st;
}

static int
do_delete(wk_cli *cli, wk_piv *piv, const cert_opts *o)
{
	int st;

	if ((st = with_mgmt(cli, piv, o, NULL, 0)) != 0)
		return st;
	if (cli->json)
		piv_cli_json(json_pack("{s:s,s:b}", "slot", o->c.slot_s,
		    "deleted", 1));
	else
		printf("certificate deleted from slot %s\n", o->c.slot_s);
	return PIV_EXIT_OK;
}

static int
digest_of(const cert_opts *o, uint8_t alg, const EVP_MD **md)
{
	*md = piv_cli_default_md(alg);
	if (o->c.hash == NULL)
		return PIV_EXIT_OK;
	if (alg == WK_PIV_ALG_ED25519)
		return piv_cli_usage("ed25519 signs without a separate hash; "
		    "drop --hash");
	if (strcmp(o->c.hash, "sha256") == 0)
		*md = EVP_sha256();
	else if (strcmp(o->c.hash, "sha384") == 0)
		*md = EVP_sha384();
	else if (strcmp(o->c.hash, "sha512") == 0)
		*md = EVP_sha512();
	else
		return piv_cli_usage("--hash: sha256, sha384 or sha512");
	return PIV_EXIT_OK;
}

static int
sign_new(wk_cli *cli, wk_piv *piv, const cert_opts *o, bool self)
{
	const piv_secret_src pin = { o->c.pin_file, o->c.pin, "WALLETKEY_PIN",
	    "PIN", "--pin", false };
	const piv_cli_auth auth = { .pin = &pin, .pin_slot = true,
	    .slot = o->slot };
	unsigned char *der = NULL;
	X509_NAME *name = NULL;
	EVP_PKEY *pkey = NULL;
	const EVP_MD *md;
	X509_REQ *req = NULL;
	X509 *x = NULL;
	BIGNUM *serial = NULL;
	uint8_t alg = 0;
	int rc, n, st = PIV_EXIT_USAGE;
	bool began = false;

	if (o->subject == NULL || (name = piv_cli_parse_subject(o->subject)) ==
	    NULL) {
		piv_cli_usage("--subject: like /CN=alice/O=Example");
		goto out;
	}
	if ((rc = piv_cli_pubkey(piv, o->slot, &pkey, &alg)) != WK_OK) {
		st = wk_cli_fail(cli, "read the slot's public key", rc);
		goto out;
	}
	if (alg == WK_PIV_ALG_X25519) {
		piv_cli_usage("slot %s holds an x25519 key, which cannot sign",
		    o->c.slot_s);
		goto out;
	}
	if ((st = digest_of(o, alg, &md)) != 0)
		goto out;
	st = PIV_EXIT_FAIL;
	if (self) {
		if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
		    (serial = BN_new()) == NULL ||
		    BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) !=
		    1 || BN_to_ASN1_INTEGER(serial,
		    X509_get_serialNumber(x)) == NULL ||
		    X509_set_subject_name(x, name) != 1 ||
		    X509_set_issuer_name(x, name) != 1 ||
		    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
		    X509_time_adj_ex(X509_getm_notAfter(x), (int)o->days, 0,
		    NULL) == NULL)
			goto out;
	} else {
		if ((req = X509_REQ_new()) == NULL ||
		    X509_REQ_set_version(req, 0) != 1 ||
		    X509_REQ_set_subject_name(req, name) != 1)
			goto out;
	}
	if ((st = piv_cli_begin(cli, piv, &auth)) != PIV_EXIT_OK)
		goto out;
	began = true;
	rc = self ? piv_cli_sign_x509(piv, o->slot, alg, md, pkey, &x) :
	    piv_cli_sign_req(piv, o->slot, alg, md, pkey, &req);
	if (rc != WK_OK) {
		st = wk_cli_fail(cli, "sign on the card", rc);
		goto out;
	}
	if (self && o->import) {
		st = PIV_EXIT_FAIL;
		if ((n = i2d_X509(x, &der)) <= 0)
			goto out;
		if ((st = with_mgmt(cli, piv, o, der, (size_t)n)) != 0)
			goto out;
	}
	st = emit(cli, o, self ? "certificate" : "request", x, req);
out:
	if (began)
		piv_cli_end(piv);
	OPENSSL_free(der);
	BN_free(serial);
	X509_free(x);
	X509_REQ_free(req);
	EVP_PKEY_free(pkey);
	X509_NAME_free(name);
	return st;
}

int
cmd_cert(wk_cli *cli, int argc, char **argv)
{
	static const char *const subs[] = { "import", "export", "delete",
		"request", "selfsign", NULL };
	wk_piv *piv = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	cert_opts o;
	int i, st;

	if ((st = piv_cli_group(argc, argv, usage, subs, &i)) != -1)
		return st;
	if (i < 0)
		return piv_cli_bad_sub(usage);
	if ((st = parse(argc - 1, argv + 1, &o)) != PIV_EXIT_OK)
		return st;
	if (i == 0) {
		if (o.c.in == NULL)
			return piv_cli_usage("--in CERT is required");
		/* the file is checked before the card is touched */
		if ((st = piv_cli_load_cert(o.c.in, &der, &len)) != 0)
			return st;
	}
	if ((st = piv_cli_open(cli, &piv)) != PIV_EXIT_OK)
		goto out;
	switch (i) {
	case 0: st = do_import(cli, piv, &o, der, len); break;
	case 1: st = do_export(cli, piv, &o); break;
	case 2: st = do_delete(cli, piv, &o); break;
	default: st = sign_new(cli, piv, &o, i == 4); break;
	}
out:
	OPENSSL_free(der);
	wk_piv_free(&piv);
	return st;
}
