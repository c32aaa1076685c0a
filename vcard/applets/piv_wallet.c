/* the wallet key in PIV slot 82, signing for the card's own applets (piv_wallet.h) */
#include "piv_wallet.h"

#include <openssl/evp.h>

#include "piv_int.h"

int
piv_wallet_sign(vc_card *card, const uint8_t *msg, size_t n, uint8_t *sig,
    size_t cap, size_t *siglen)
{
	EVP_MD_CTX *md = NULL;
	piv_key k;
	size_t len = cap;
	int rc;

	if (card == NULL || msg == NULL || sig == NULL || siglen == NULL ||
	    cap < PIV_WALLET_SIG_MAX)
		return PIV_WALLET_ERROR;
	rc = piv_key_load(card, PIV_WALLET_SLOT, &k);
	if (rc == VC_STORE_NOT_FOUND)
		return PIV_WALLET_NO_KEY;
	if (rc != VC_STORE_OK)
		return PIV_WALLET_ERROR;
	rc = PIV_WALLET_NO_KEY;
	if (k.alg != PIV_ALG_ECCP256)
		goto out;
	rc = PIV_WALLET_ERROR;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, k.pkey,
	    NULL) != 1 ||
	    EVP_DigestSign(md, sig, &len, msg, n) != 1)
		goto out;
	*siglen = len;
	rc = PIV_WALLET_OK;
out:
	EVP_MD_CTX_free(md);
	piv_key_free(&k);
	return rc;
}
