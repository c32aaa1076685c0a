/*
 * ECDSA with the nonce made ahead. Most of an ECDSA signature is the
 * nonce's work (k random, r = x(kG) mod n, k^-1 mod n), which does not
 * depend on the message; the card does it for a key that has signed
 * while it waits for the next command (the applet's idle hook, between
 * the answer and the next command), so a signature on the path is only
 * s = k^-1 (e + r d).
 *
 * The nonces of a key (up to PIV_ECDSA_NONCES, so that a burst of
 * commands that come faster than the card makes one still finds one ready;
 * one missing costs the whole nonce on the path, about 8 times the rest of
 * the signature) live beside its parsed key in the key cache
 * (piv_cache.c), in this process's memory only: they never leave the card
 * and are not stored, so a crash or restart loses them. A nonce is taken
 * out of the cache before it is used, whatever the command's outcome, and
 * wiped after (BN_clear_free): a nonce signs at most once, and never again
 * after a failed command. It goes with its key (piv_cache_forget: GENERATE,
 * IMPORT, MOVE, DELETE, RESET), and with the security state on a card
 * reset or another applet's selection (piv_ecdsa_drop_nonces).
 *
 * OpenSSL's EVP interface has no precomputed nonce; ECDSA_sign_setup and
 * ECDSA_do_sign_ex (deprecated in OpenSSL 3, kept) do. The nonce is
 * random (OpenSSL's private DRBG), as EVP's ECDSA signature's.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "piv_int.h"

/* the longest DER ECDSA-Sig-Value of P-256 and P-384: SEQUENCE of two
 * INTEGERs of at most 49 bytes (48 and a leading zero), 2 + 2 * (2 + 49) */
#define PIV_ECDSA_DER_MAX 104

static bool
piv_ecdsa_ready(piv_cached *c)
{
	if (c->ec == NULL)
		c->ec = EVP_PKEY_get1_EC_KEY(c->k.pkey);
	return c->ec != NULL;
}

void
piv_ecdsa_forget_nonce(piv_cached *c)
{
	for (size_t i = 0; i < c->n_nonces; i++) {
		BN_clear_free(c->kinv[i]);
		BN_clear_free(c->r[i]);
		c->kinv[i] = NULL;
		c->r[i] = NULL;
	}
	c->n_nonces = 0;
}

void
piv_ecdsa_clear(piv_cached *c)
{
	piv_ecdsa_forget_nonce(c);
	EC_KEY_free(c->ec);	/* clears the private key */
	c->ec = NULL;
	c->signs = false;
}

bool
piv_ecdsa_wants_nonce(const piv_cached *c)
{
	return c->signs && c->n_nonces < PIV_ECDSA_NONCES;
}

bool
piv_ecdsa_precompute(piv_cached *c)
{
	BIGNUM *kinv = NULL, *r = NULL;

	if (!piv_ecdsa_wants_nonce(c) || !piv_ecdsa_ready(c))
		return false;
	if (ECDSA_sign_setup(c->ec, NULL, &kinv, &r) != 1) {
		ERR_clear_error();
		BN_clear_free(kinv);
		BN_clear_free(r);
		return false;
	}
	c->kinv[c->n_nonces] = kinv;
	c->r[c->n_nonces] = r;
	c->n_nonces++;
	return true;
}

uint16_t
piv_ecdsa_sign(piv_cached *c, const uint8_t *in, size_t n, uint8_t *out,
    size_t cap, size_t *olen)
{
	BIGNUM *kinv = NULL, *r = NULL;
	ECDSA_SIG *sig = NULL;
	unsigned char *p = out;
	uint16_t sw = WK_SW_UNKNOWN;
	int len;

	if (n == 0 || n > 64)
		return WK_SW_WRONG_DATA;
	/* taken out first: used at most once, whatever happens below */
	if (c->n_nonces > 0) {
		c->n_nonces--;
		kinv = c->kinv[c->n_nonces];
		r = c->r[c->n_nonces];
		c->kinv[c->n_nonces] = NULL;
		c->r[c->n_nonces] = NULL;
	}
	c->signs = true;
	if (!piv_ecdsa_ready(c))
		goto out;
	sig = ECDSA_do_sign_ex(in, (int)n, kinv, r, c->ec);
	/* s = 0 with that nonce (probability about 2^-256): a fresh one */
	if (sig == NULL && kinv != NULL) {
		ERR_clear_error();
		sig = ECDSA_do_sign_ex(in, (int)n, NULL, NULL, c->ec);
	}
	/* one encoding straight into out when any signature of the curve
	 * fits (cap is PIV_OUT_MAX), else its length first */
	if (sig == NULL || (cap < PIV_ECDSA_DER_MAX &&
	    ((len = i2d_ECDSA_SIG(sig, NULL)) <= 0 || (size_t)len > cap)) ||
	    (len = i2d_ECDSA_SIG(sig, &p)) <= 0 || (size_t)len > cap) {
		ERR_clear_error();
		goto out;
	}
	*olen = (size_t)len;
	sw = WK_SW_OK;
out:
	BN_clear_free(kinv);
	BN_clear_free(r);
	ECDSA_SIG_free(sig);
	return sw;
}
