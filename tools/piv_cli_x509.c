/* X.509 requests and certificates whose signature is made by the card */
#include "piv_cli.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <sodium.h>

#include "wk_tlv.h"

const EVP_MD *
piv_cli_default_md(uint8_t alg)
{
	if (alg == WK_PIV_ALG_ED25519)
		return NULL;
	if (alg == WK_PIV_ALG_ECCP384)
		return EVP_sha384();
	return EVP_sha256();
}

int
piv_cli_verify_for(wk_cli *cli, wk_piv *piv, uint8_t slot,
    const piv_secret_src *src)
{
	wk_piv_metadata md;

	if (wk_piv_get_metadata(piv, slot, &md) == WK_OK && md.has_policy &&
	    md.pin_policy == WK_PIV_PIN_POLICY_NEVER)
		return PIV_EXIT_OK;
	return piv_cli_verify(cli, piv, src);
}

/* a throwaway key of the slot's type: OpenSSL then writes the signature
 * AlgorithmIdentifier exactly as it would for the real key */
static EVP_PKEY *
dummy_key(uint8_t alg)
{
	switch (alg) {
	case WK_PIV_ALG_ECCP256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case WK_PIV_ALG_ECCP384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case WK_PIV_ALG_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	default:
		if (wk_piv_alg_is_rsa(alg))
			return EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
			    (size_t)1024);
		return NULL;
	}
}

/* SEQUENCE { tbs, algorithm, BIT STRING { 00 sig } } */
static int
assemble(const uint8_t *tbs, size_t tbs_len, const X509_ALGOR *algor,
    const uint8_t *sig, size_t sig_len, wk_buf *out)
{
	unsigned char *a = NULL;
	size_t mark;
	int n, rc = WK_ERR_CRYPTO;

	if ((n = i2d_X509_ALGOR(algor, &a)) <= 0)
		goto out;
	mark = wk_tlv_begin(out, 0x30);
	wk_buf_add(out, tbs, tbs_len);
	wk_buf_add(out, a, (size_t)n);
	wk_tlv_put_tag(out, 0x03);
	wk_tlv_put_len(out, sig_len + 1);
	wk_buf_u8(out, 0x00);
	wk_buf_add(out, sig, sig_len);
	wk_tlv_end(out, mark);
	rc = wk_buf_failed(out) ? WK_ERR_MEMORY : WK_OK;
out:
	OPENSSL_free(a);
	return rc;
}

static int
card_sig(wk_piv *piv, uint8_t slot, uint8_t alg, const EVP_MD *md,
    const uint8_t *tbs, size_t tbs_len, const X509_ALGOR *algor, wk_buf *out)
{
	uint8_t sig[WK_PIV_SIG_MAX];
	size_t sig_len = sizeof(sig);
	int rc;

	rc = piv_cli_sign(piv, slot, alg, md, false, tbs, tbs_len, sig,
	    &sig_len);
	if (rc == WK_OK)
		rc = assemble(tbs, tbs_len, algor, sig, sig_len, out);
	return rc;
}

/* *req or *x (the other NULL) signed by the card: its TBS part encoded by
 * OpenSSL with a dummy key of the slot's type, signed on the card, and the
 * result checked with pkey before it replaces the caller's */
static int
sign_tbs(wk_piv *piv, uint8_t slot, uint8_t alg, const EVP_MD *md,
    EVP_PKEY *pkey, X509_REQ **req, X509 **x)
{
	const X509_ALGOR *algor = NULL;
	const unsigned char *p;
	unsigned char *tbs = NULL;
	EVP_PKEY *dummy = NULL;
	X509_REQ *signed_req = NULL;
	X509 *signed_x = NULL;
	wk_buf out;
	int n, ok, rc = WK_ERR_CRYPTO;

	wk_buf_init_heap(&out, 65535);
	if ((dummy = dummy_key(alg)) == NULL) {
		rc = WK_ERR_ARG;
		goto out;
	}
	if (req != NULL) {
		ok = X509_REQ_set_pubkey(*req, pkey) == 1 &&
		    X509_REQ_sign(*req, dummy, md) > 0;
		if (ok)
			X509_REQ_get0_signature(*req, NULL, &algor);
		n = ok ? i2d_re_X509_REQ_tbs(*req, &tbs) : 0;
	} else {
		ok = X509_set_pubkey(*x, pkey) == 1 &&
		    X509_sign(*x, dummy, md) > 0;
		if (ok)
			X509_get0_signature(NULL, &algor, *x);
		n = ok ? i2d_re_X509_tbs(*x, &tbs) : 0;
	}
	if (n <= 0)
		goto out;
	if ((rc = card_sig(piv, slot, alg, md, tbs, (size_t)n, algor,
	    &out)) != WK_OK)
		goto out;
	rc = WK_ERR_CRYPTO;
	p = out.p;
	if (req != NULL)
		ok = (signed_req = d2i_X509_REQ(NULL, &p, (long)out.len)) !=
		    NULL;
	else
		ok = (signed_x = d2i_X509(NULL, &p, (long)out.len)) != NULL;
	if (!ok)
		goto out;
	/* the card's key must be the one in the request or certificate */
	if ((req != NULL ? X509_REQ_verify(signed_req, pkey) :
	    X509_verify(signed_x, pkey)) != 1) {
		rc = WK_ERR_AUTH_FAILED;
		goto out;
	}
	if (req != NULL) {
		X509_REQ_free(*req);
		*req = signed_req;
		signed_req = NULL;
	} else {
		X509_free(*x);
		*x = signed_x;
		signed_x = NULL;
	}
	rc = WK_OK;
out:
	X509_REQ_free(signed_req);
	X509_free(signed_x);
	OPENSSL_free(tbs);
	EVP_PKEY_free(dummy);
	wk_buf_clear(&out);
	return rc;
}

int
piv_cli_sign_req(wk_piv *piv, uint8_t slot, uint8_t alg, const EVP_MD *md,
    EVP_PKEY *pkey, X509_REQ **req)
{
	return sign_tbs(piv, slot, alg, md, pkey, req, NULL);
}

int
piv_cli_sign_x509(wk_piv *piv, uint8_t slot, uint8_t alg, const EVP_MD *md,
    EVP_PKEY *pkey, X509 **x)
{
	return sign_tbs(piv, slot, alg, md, pkey, NULL, x);
}
