/* signatures made by the card: hashing and RSA padding on the host
 * (RFC 8017 9.2 EMSA-PKCS1-v1_5, 9.1.1 EMSA-PSS), raw operation on the card */
#include "piv_cli.h"

#include <string.h>

#include <sodium.h>

#include "wk_digestinfo.h"

static int
pkcs1_v15(const EVP_MD *md, const uint8_t *h, size_t hlen, uint8_t *em,
    size_t k)
{
	const uint8_t *prefix = NULL;
	size_t plen = 0, tlen;

	/* DER DigestInfo prefixes, RFC 8017 9.2 note 1 (common/) */
	if (md != NULL && (prefix = wk_digest_info(EVP_MD_get_type(md),
	    &plen)) == NULL)
		return WK_ERR_ARG;
	tlen = plen + hlen;
	if (k < tlen + 11)
		return WK_ERR_ARG;
	em[0] = 0x00;
	em[1] = 0x01;
	memset(em + 2, 0xFF, k - tlen - 3);
	em[k - tlen - 1] = 0x00;
	if (plen > 0)
		memcpy(em + k - tlen, prefix, plen);
	memcpy(em + k - hlen, h, hlen);
	return WK_OK;
}

/* EMSA-PSS with MGF1 of the same hash and a salt as long as the hash */
static int
pss(const EVP_MD *md, const uint8_t *h, size_t hlen, unsigned mod_bits,
    uint8_t *em, size_t k)
{
	uint8_t salt[EVP_MAX_MD_SIZE], hh[EVP_MAX_MD_SIZE];
	static const uint8_t zeros[8];
	EVP_MD_CTX *ctx = NULL;
	size_t em_bits = mod_bits - 1, em_len = (em_bits + 7) / 8, db_len;
	unsigned int n;
	uint8_t *out = em;
	int rc = WK_ERR_ARG;

	if ((size_t)EVP_MD_get_size(md) != hlen || em_len < 2 * hlen + 2)
		goto out;
	/* em_len is k - 1 only when the modulus is 8m + 1 bits */
	if (em_len < k) {
		em[0] = 0x00;
		out = em + 1;
	}
	randombytes_buf(salt, hlen);
	rc = WK_ERR_CRYPTO;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, zeros, sizeof(zeros)) != 1 ||
	    EVP_DigestUpdate(ctx, h, hlen) != 1 ||
	    EVP_DigestUpdate(ctx, salt, hlen) != 1 ||
	    EVP_DigestFinal_ex(ctx, hh, &n) != 1 || n != hlen)
		goto out;
	db_len = em_len - hlen - 1;
	memset(out, 0, db_len);
	out[db_len - hlen - 1] = 0x01;
	memcpy(out + db_len - hlen, salt, hlen);
	if ((rc = wk_mgf1_xor(md, hh, hlen, out, db_len) == 0 ? WK_OK :
	    WK_ERR_CRYPTO) != WK_OK)
		goto out;
	out[0] &= (uint8_t)(0xFF >> (8 * em_len - em_bits));
	memcpy(out + db_len, hh, hlen);
	out[em_len - 1] = 0xBC;
	rc = WK_OK;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
piv_cli_sign(wk_piv *piv, uint8_t slot, uint8_t alg, const EVP_MD *md,
    bool use_pss, const uint8_t *in, size_t in_len, uint8_t *sig,
    size_t *sig_len)
{
	uint8_t h[EVP_MAX_MD_SIZE], em[WK_PIV_SIG_MAX];
	const uint8_t *tbs = in;
	size_t tbs_len = in_len, k = wk_piv_alg_bits(alg) / 8;
	unsigned int hlen = 0;
	int rc = WK_ERR_ARG;

	if (alg == WK_PIV_ALG_ED25519) {
		if (md != NULL || use_pss)
			goto out;
	} else if (md != NULL) {
		if (EVP_Digest(in, in_len, h, &hlen, md, NULL) != 1) {
			rc = WK_ERR_CRYPTO;
			goto out;
		}
		tbs = h;
		tbs_len = hlen;
	}
	if (wk_piv_alg_is_rsa(alg)) {
		if (use_pss) {
			/* without --hash the input is a digest: find its hash */
			if (md == NULL)
				md = tbs_len == 32 ? EVP_sha256() :
				    tbs_len == 48 ? EVP_sha384() :
				    tbs_len == 64 ? EVP_sha512() : NULL;
			if (md == NULL)
				goto out;
			rc = pss(md, tbs, tbs_len, wk_piv_alg_bits(alg), em, k);
		} else {
			rc = pkcs1_v15(md, tbs, tbs_len, em, k);
		}
		if (rc != WK_OK)
			goto out;
		tbs = em;
		tbs_len = k;
	} else if (use_pss || !(wk_piv_alg_is_ec(alg) ||
	    alg == WK_PIV_ALG_ED25519)) {
		goto out;
	}
	rc = wk_piv_sign(piv, slot, alg, tbs, tbs_len, sig, sig_len);
out:
	sodium_memzero(em, sizeof(em));
	return rc;
}
