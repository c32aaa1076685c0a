/*
 * the GM applet's keys at work (docs/gm.md, docs/pkcs11.md): signing and
 * verifying, encrypting and decrypting with walletkey's vendor-defined
 * SM2/SM3 mechanisms (PKCS#11 3.x defines none); the objects are made in
 * p11_gm_objects.c. The private keys are CKA_ALWAYS_AUTHENTICATE: the
 * context-specific login takes the application's user PIN, which the card
 * checks again inside the transaction of each signature or decryption and
 * forgets after it.
 */
#include "p11_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

/* the container a GM key object names in its CKA_ID (after the prefix of
 * its usage) */
static bool
gm_container(const p11_object *obj, char name[WK_GM_NAME_MAX + 1])
{
	const CK_ATTRIBUTE *a = p11_attr_find(obj, CKA_ID);
	const char *prefix = obj->alg == P11_ALG_GM_SM2 ? P11_GM_ID_PREFIX :
	    P11_GM_ENC_ID_PREFIX;
	size_t pl = strlen(prefix);

	if (a == NULL || a->ulValueLen <= pl ||
	    a->ulValueLen > pl + WK_GM_NAME_MAX ||
	    memcmp(a->pValue, prefix, pl) != 0)
		return false;
	memcpy(name, (const uint8_t *)a->pValue + pl, a->ulValueLen - pl);
	name[a->ulValueLen - pl] = '\0';
	return true;
}

/* each pair does its own job: the encryption pair only CKM_WK_SM2_ENC,
 * the signing pair only the signature mechanisms (also for the public
 * half a private key object carries) */
CK_RV
p11_gm_op_key(p11_op *op, const p11_object *obj, CK_MECHANISM_TYPE mech)
{
	if ((mech == CKM_WK_SM2_ENC) != (obj->alg == P11_ALG_GM_SM2_ENC))
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
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

/*
 * the ciphertext's C2 length (the plaintext's) from the DER of GM/T 0009
 * 7.2, and its raw form C1 || C3 || C2 for the card. Every malformed
 * input is the same CKR_ENCRYPTED_DATA_INVALID as a ciphertext the card
 * refuses: one error for every bad ciphertext (docs/security.md)
 */
static CK_RV
gm_cipher_raw(const uint8_t *in, size_t len, uint8_t **raw, size_t *raw_len)
{
	size_t n = len;

	*raw = NULL;
	if (len > 2 * WK_GM_DATA_MAX)
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	/* the raw form is longer by the zeros DER strips from x and y */
	n = len + 96;
	if ((*raw = malloc(n)) == NULL)
		return CKR_HOST_MEMORY;
	if (wk_gm_cipher_from_der(in, len, *raw, &n) != WK_OK || n <= 96) {
		free(*raw);
		*raw = NULL;
		return CKR_ENCRYPTED_DATA_INVALID;
	}
	if (n - 96 > WK_GM_DATA_MAX) {
		free(*raw);
		*raw = NULL;
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	}
	*raw_len = n;
	return CKR_OK;
}

/* verify the PIN, decrypt, forget the PIN: one card transaction. The
 * plaintext's length is C2's, known before the card is asked, so a size
 * query or a short buffer costs no card operation and keeps the operation */
CK_RV
p11_gm_decrypt(p11_slot *slot, p11_op *op, const uint8_t *in, size_t len,
    uint8_t *out, CK_ULONG *out_len)
{
	wk_gm *gm = NULL;
	uint8_t app, *raw = NULL, *pt = NULL;
	size_t raw_len = 0, pt_len = 0;
	int wk;
	CK_RV rv;

	if ((rv = gm_cipher_raw(in, len, &raw, &raw_len)) != CKR_OK)
		goto out;
	pt_len = raw_len - 96;
	if (out == NULL || *out_len < pt_len) {
		rv = out == NULL ? CKR_OK : CKR_BUFFER_TOO_SMALL;
		*out_len = (CK_ULONG)pt_len;
		free(raw);
		return rv;
	}
	if (op->gm_pin_len == 0 || (op->need_ctx_login && !op->ctx_login_done)) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	rv = CKR_HOST_MEMORY;
	if ((pt = sodium_malloc(pt_len)) == NULL)
		goto out;
	if ((rv = p11_card_begin(slot)) != CKR_OK)
		goto out;
	if ((wk = wk_gm_open(slot->card, &gm)) == WK_OK &&
	    (wk = wk_gm_app_open(gm, P11_GM_APP, &app)) == WK_OK &&
	    (wk = wk_gm_verify_pin(gm, app, WK_GM_PIN_USER, op->gm_pin,
	    op->gm_pin_len, NULL)) == WK_OK) {
		size_t n = pt_len;

		wk = wk_gm_decrypt(gm, app, op->gm_cont, raw, raw_len, pt, &n);
		if (wk == WK_OK && n != pt_len)
			wk = WK_ERR_CARD_MALFORMED;
		(void)wk_gm_logout(gm, app);
	}
	wk_gm_free(&gm);
	slot->piv_selected = false;
	p11_card_end(slot);
	if (wk == WK_ERR_WRONG_PIN || wk == WK_ERR_PIN_BLOCKED)
		rv = CKR_PIN_INCORRECT;
	else if (wk == WK_ERR_BAD_DATA)
		rv = CKR_ENCRYPTED_DATA_INVALID;
	else if (wk != WK_OK)
		rv = p11_token_check(slot, wk);
	else {
		memcpy(out, pt, pt_len);
		*out_len = (CK_ULONG)pt_len;
		rv = CKR_OK;
	}
out:
	sodium_free(pt);
	free(raw);
	p11_op_end(op);
	return rv;
}

/* on the host with the public key, OpenSSL's SM2 (GM/T 0003.4): the DER
 * form. A size query answers OpenSSL's bound (the DER integers of C1 may
 * be shorter); a buffer of the bound always takes the ciphertext */
CK_RV
p11_gm_encrypt(const p11_op *op, const uint8_t *in, size_t len, uint8_t *out,
    CK_ULONG *out_len)
{
	const unsigned char *p = op->spki;
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *pc = NULL;
	uint8_t *ct = NULL;
	size_t bound = 0, n;
	CK_RV rv = CKR_FUNCTION_FAILED;

	if (len == 0 || len > WK_GM_DATA_MAX)
		return CKR_DATA_LEN_RANGE;
	if ((k = d2i_PUBKEY_ex(NULL, &p, (long)op->spki_len, p11_libctx(),
	    NULL)) == NULL ||
	    (pc = EVP_PKEY_CTX_new_from_pkey(p11_libctx(), k, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(pc) != 1 ||
	    EVP_PKEY_encrypt(pc, NULL, &bound, in, len) != 1)
		goto out;
	if (out == NULL) {
		*out_len = (CK_ULONG)bound;
		rv = CKR_OK;
		goto out;
	}
	rv = CKR_HOST_MEMORY;
	if ((ct = malloc(bound)) == NULL)
		goto out;
	n = bound;
	rv = CKR_FUNCTION_FAILED;
	if (EVP_PKEY_encrypt(pc, ct, &n, in, len) != 1)
		goto out;
	if (*out_len < n) {
		*out_len = (CK_ULONG)bound;
		rv = CKR_BUFFER_TOO_SMALL;
		goto out;
	}
	memcpy(out, ct, n);
	*out_len = (CK_ULONG)n;
	rv = CKR_OK;
out:
	free(ct);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(k);
	return rv;
}
