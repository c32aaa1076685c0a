/* walletkey sign: a signature by a key on the card */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rsa.h>

#include "cmd_piv.h"
#include "piv_cli.h"

static const char usage[] =
    "usage: walletkey sign --slot S --in FILE [--hash sha256|sha384|sha512|none]\n"
    "                 [--pss] [--out SIG] [--pin-file FILE]\n"
    "With --hash none the input is already a digest (ECDSA, RSA) or, for\n"
    "Ed25519, the message. ECDSA signatures are DER; RSA uses PKCS#1 v1.5\n"
    "unless --pss. Without --out the signature is printed in hex.\n";

#define SIGN_INPUT_MAX (64u << 20)
/* Ed25519 messages travel whole in one extended APDU */
#define EDDSA_INPUT_MAX 65000u

typedef struct sign_opts {
	piv_cli_common c;
	bool pss;
	uint8_t slot;
} sign_opts;

#define SO(f) offsetof(sign_opts, f)

static int
parse(int argc, char **argv, sign_opts *o)
{
	static const piv_cli_opt opts[] = {
		PIV_OPT("pss", PIV_OPT_FLAG, SO(pss)),
		PIV_OPTS_END,
	};
	int st;

	memset(o, 0, sizeof(*o));
	if ((st = piv_cli_parse(argc, argv, usage, PIV_C_SLOT | PIV_C_IN |
	    PIV_C_OUT | PIV_C_HASH | PIV_C_PIN, &o->c, opts, o)) != PIV_EXIT_OK)
		return st;
	if (o->c.slot_s == NULL || o->c.in == NULL)
		return piv_cli_usage("--slot and --in are required");
	if (wk_piv_slot_from_name(o->c.slot_s, &o->slot) != WK_OK ||
	    o->slot == WK_PIV_SLOT_ATTEST)
		return piv_cli_usage("--slot: 9a, 9c, 9d, 9e or 82..95");
	if (o->c.hash != NULL && strcmp(o->c.hash, "sha256") != 0 &&
	    strcmp(o->c.hash, "sha384") != 0 &&
	    strcmp(o->c.hash, "sha512") != 0 && strcmp(o->c.hash, "none") != 0)
		return piv_cli_usage("--hash: sha256, sha384, sha512 or none");
	return PIV_EXIT_OK;
}

/* the card's answer checked with the slot's public key before it is used */
static int
check(EVP_PKEY *pkey, uint8_t alg, const EVP_MD *md, bool pss,
    const uint8_t *in, size_t in_len, const uint8_t *sig, size_t sig_len)
{
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned int hlen = 0;
	const uint8_t *tbs = in;
	size_t tbs_len = in_len;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	int ok = 0;

	if (alg == WK_PIV_ALG_ED25519) {
		if ((mctx = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestVerifyInit_ex(mctx, NULL, NULL, NULL, NULL, pkey,
		    NULL) == 1)
			ok = EVP_DigestVerify(mctx, sig, sig_len, in, in_len);
		goto out;
	}
	if (md != NULL) {
		if (EVP_Digest(in, in_len, h, &hlen, md, NULL) != 1)
			goto out;
		tbs = h;
		tbs_len = hlen;
	} else if (pss) {
		md = tbs_len == 32 ? EVP_sha256() : tbs_len == 48 ?
		    EVP_sha384() : EVP_sha512();
	}
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_verify_init(ctx) != 1)
		goto out;
	if (wk_piv_alg_is_rsa(alg)) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, pss ?
		    RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) != 1)
			goto out;
		if (md != NULL && EVP_PKEY_CTX_set_signature_md(ctx, md) != 1)
			goto out;
		if (pss && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
		    RSA_PSS_SALTLEN_AUTO) != 1)
			goto out;
	}
	ok = EVP_PKEY_verify(ctx, sig, sig_len, tbs, tbs_len);
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_MD_CTX_free(mctx);
	return ok == 1 ? WK_OK : WK_ERR_CRYPTO;
}

static int
sign(wk_cli *cli, wk_piv *piv, const sign_opts *o, const uint8_t *in,
    size_t in_len)
{
	const piv_secret_src pin = { o->c.pin_file, o->c.pin, "WALLETKEY_PIN",
	    "PIN", "--pin", false };
	const piv_cli_auth auth = { .pin = &pin, .pin_slot = true,
	    .slot = o->slot };
	uint8_t sig[WK_PIV_SIG_MAX];
	size_t sig_len = sizeof(sig);
	EVP_PKEY *pkey = NULL;
	const EVP_MD *md;
	char *hex = NULL;
	uint8_t alg = 0;
	bool began = false;
	int rc, st = PIV_EXIT_FAIL;

	if ((rc = piv_cli_pubkey(piv, o->slot, &pkey, &alg)) != WK_OK) {
		st = wk_cli_fail(cli, "find the slot's key (no metadata or "
		    "certificate)", rc);
		goto out;
	}
	st = PIV_EXIT_USAGE;
	md = piv_cli_default_md(alg);
	if (o->c.hash != NULL && strcmp(o->c.hash, "none") == 0)
		md = NULL;
	else if (o->c.hash != NULL)
		md = EVP_get_digestbyname(o->c.hash);
	if (alg == WK_PIV_ALG_X25519) {
		piv_cli_usage("slot %s holds an x25519 key, which cannot sign",
		    o->c.slot_s);
		goto out;
	}
	if (alg == WK_PIV_ALG_ED25519 && (md != NULL || o->pss)) {
		piv_cli_usage("ed25519 signs the message itself: use --hash "
		    "none and no --pss");
		goto out;
	}
	if (alg == WK_PIV_ALG_ED25519 && in_len > EDDSA_INPUT_MAX) {
		piv_cli_usage("ed25519 messages are limited to %u bytes",
		    EDDSA_INPUT_MAX);
		goto out;
	}
	if (o->pss && !wk_piv_alg_is_rsa(alg)) {
		piv_cli_usage("--pss is for RSA keys");
		goto out;
	}
	if ((st = piv_cli_begin(cli, piv, &auth)) != PIV_EXIT_OK)
		goto out;
	began = true;
	rc = piv_cli_sign(piv, o->slot, alg, md, o->pss, in, in_len, sig,
	    &sig_len);
	if (rc == WK_ERR_ARG) {
		st = piv_cli_usage("the input does not fit a %s signature "
		    "with this hash", wk_piv_alg_name(alg));
		goto out;
	}
	if (rc == WK_OK)
		rc = check(pkey, alg, md, o->pss, in, in_len, sig, sig_len);
	if (rc != WK_OK) {
		st = wk_cli_fail(cli, "sign", rc);
		goto out;
	}
	st = PIV_EXIT_FAIL;
	if ((hex = piv_cli_hex(sig, sig_len)) == NULL)
		goto out;
	if (o->c.out != NULL && (st = piv_cli_write_file(o->c.out, sig,
	    sig_len)) != 0)
		goto out;
	if (cli->json)
		piv_cli_json(json_pack("{s:s,s:s,s:s,s:s}", "slot", o->c.slot_s,
		    "algorithm", wk_piv_alg_name(alg), "padding",
		    wk_piv_alg_is_rsa(alg) ? (o->pss ? "pss" : "pkcs1") : "none",
		    "signature", hex));
	else if (o->c.out == NULL)
		puts(hex);
	st = PIV_EXIT_OK;
out:
	if (began)
		piv_cli_end(piv);
	free(hex);
	EVP_PKEY_free(pkey);
	return st;
}

int
cmd_sign(wk_cli *cli, int argc, char **argv)
{
	wk_piv *piv = NULL;
	uint8_t *in = NULL;
	size_t len = 0;
	sign_opts o;
	int st;

	if (wk_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return PIV_EXIT_OK;
	}
	if ((st = parse(argc, argv, &o)) != PIV_EXIT_OK)
		return st;
	if ((st = piv_cli_read_file(o.c.in, SIGN_INPUT_MAX, &in, &len)) != 0)
		return st;
	if ((st = piv_cli_open(cli, &piv)) == PIV_EXIT_OK)
		st = sign(cli, piv, &o, in, len);
	wk_piv_free(&piv);
	free(in);
	return st;
}
