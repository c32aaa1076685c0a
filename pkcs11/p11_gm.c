/*
 * the GM applet's keys at work (docs/gm.md, docs/pkcs11.md): signing and
 * verifying with walletkey's vendor-defined SM2/SM3 mechanisms (PKCS#11
 * 3.x defines none); the objects are made in p11_gm_objects.c. The private
 * keys are CKA_ALWAYS_AUTHENTICATE: the context-specific login takes the
 * application's user PIN, which the card checks again inside the
 * transaction of each signature and forgets after it.
 */
#include "p11_internal.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

/* the container a GM key object names in its CKA_ID */
static bool
gm_container(const p11_object *obj, char name[WK_GM_NAME_MAX + 1])
{
	const CK_ATTRIBUTE *a = p11_attr_find(obj, CKA_ID);
	size_t pl = strlen(P11_GM_ID_PREFIX);

	if (a == NULL || a->ulValueLen <= pl ||
	    a->ulValueLen > pl + WK_GM_NAME_MAX ||
	    memcmp(a->pValue, P11_GM_ID_PREFIX, pl) != 0)
		return false;
	memcpy(name, (const uint8_t *)a->pValue + pl, a->ulValueLen - pl);
	name[a->ulValueLen - pl] = '\0';
	return true;
}

CK_RV
p11_gm_op_key(p11_op *op, const p11_object *obj)
{
	return gm_container(obj, op->gm_cont) ? CKR_OK : CKR_KEY_HANDLE_INVALID;
}

/* the user PIN of the application, checked by the card and kept for the
 * signature (which checks it again in its own transaction) */
CK_RV
p11_gm_login(p11_slot *slot, p11_op *op, const uint8_t *pin, size_t len)
{
	wk_gm *gm = NULL;
	unsigned tries = 0;
	uint8_t app;
	int wk;
	CK_RV rv;

	if (pin == NULL || len < WK_GM_PIN_MIN || len > WK_GM_PIN_MAX)
		return CKR_PIN_INCORRECT;	/* no try spent */
	if ((rv = p11_card_begin(slot)) != CKR_OK)
		return rv;
	if ((wk = wk_gm_open(slot->card, &gm)) == WK_OK &&
	    (wk = wk_gm_app_open(gm, P11_GM_APP, &app)) == WK_OK &&
	    (wk = wk_gm_verify_pin(gm, app, WK_GM_PIN_USER, pin, len, &tries)) ==
	    WK_OK)
		(void)wk_gm_logout(gm, app);
	wk_gm_free(&gm);
	slot->piv_selected = false;
	p11_card_end(slot);
	if (wk == WK_ERR_WRONG_PIN)
		return CKR_PIN_INCORRECT;
	if (wk == WK_ERR_PIN_BLOCKED)
		return CKR_PIN_LOCKED;
	if (wk != WK_OK)
		return p11_token_check(slot, wk);
	memcpy(op->gm_pin, pin, len);
	op->gm_pin_len = len;
	return CKR_OK;
}

/* verify the PIN, sign, forget the PIN: one card transaction */
CK_RV
p11_gm_sign(p11_slot *slot, p11_op *op, const uint8_t *in, size_t len,
    uint8_t sig[64])
{
	wk_gm *gm = NULL;
	uint8_t app;
	int wk;
	CK_RV rv;

	if (op->mech == CKM_WK_SM2 && len != 32)
		return CKR_DATA_LEN_RANGE;
	if (op->mech == CKM_WK_SM2_SM3 && len > WK_GM_DATA_MAX)
		return CKR_DATA_LEN_RANGE;
	if (op->gm_pin_len == 0)
		return CKR_USER_NOT_LOGGED_IN;
	if ((rv = p11_card_begin(slot)) != CKR_OK)
		return rv;
	if ((wk = wk_gm_open(slot->card, &gm)) == WK_OK &&
	    (wk = wk_gm_app_open(gm, P11_GM_APP, &app)) == WK_OK &&
	    (wk = wk_gm_verify_pin(gm, app, WK_GM_PIN_USER, op->gm_pin,
	    op->gm_pin_len, NULL)) == WK_OK) {
		wk = op->mech == CKM_WK_SM2 ?
		    wk_gm_sign(gm, app, op->gm_cont, in, sig) :
		    wk_gm_sign_message(gm, app, op->gm_cont, in, len,
		    op->gm_id_len > 0 ? op->gm_id : NULL, op->gm_id_len, sig);
		(void)wk_gm_logout(gm, app);
	}
	wk_gm_free(&gm);
	slot->piv_selected = false;
	p11_card_end(slot);
	if (wk == WK_ERR_WRONG_PIN || wk == WK_ERR_PIN_BLOCKED)
		return CKR_PIN_INCORRECT;
	return wk == WK_OK ? CKR_OK : p11_token_check(slot, wk);
}

/* on the host, with the public key: e (CKM_WK_SM2) or SM3(Z || M) */
CK_RV
p11_gm_verify(const p11_op *op, const uint8_t *in, size_t len,
    const uint8_t *sig, size_t sig_len)
{
	const unsigned char *p = op->spki;
	uint8_t der[80];
	size_t dn = sizeof(der);
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *pc = NULL;
	EVP_MD_CTX *md = NULL;
	CK_RV rv = CKR_SIGNATURE_INVALID;

	if (sig_len != 64)
		return CKR_SIGNATURE_LEN_RANGE;
	if (op->mech == CKM_WK_SM2 && len != 32)
		return CKR_DATA_LEN_RANGE;
	if (wk_gm_sig_to_der(sig, der, &dn) != WK_OK ||
	    (k = d2i_PUBKEY_ex(NULL, &p, (long)op->spki_len, p11_libctx(),
	    NULL)) == NULL ||
	    (pc = EVP_PKEY_CTX_new_from_pkey(p11_libctx(), k, NULL)) == NULL) {
		rv = CKR_FUNCTION_FAILED;
		goto out;
	}
	if (op->mech == CKM_WK_SM2) {
		if (EVP_PKEY_verify_init(pc) == 1 &&
		    EVP_PKEY_verify(pc, der, dn, in, len) == 1)
			rv = CKR_OK;
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_PKEY_CTX_set1_id(pc, op->gm_id_len > 0 ? op->gm_id :
	    (const uint8_t *)"1234567812345678", op->gm_id_len > 0 ?
	    (int)op->gm_id_len : 16) != 1) {
		rv = CKR_FUNCTION_FAILED;
		goto out;
	}
	EVP_MD_CTX_set_pkey_ctx(md, pc);
	if (EVP_DigestVerifyInit_ex(md, NULL, "SM3", p11_libctx(), NULL, k,
	    NULL) == 1 && EVP_DigestVerify(md, der, dn, in, len) == 1)
		rv = CKR_OK;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(k);
	return rv;
}
