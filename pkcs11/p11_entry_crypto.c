/*
 * walletkey-pkcs11: the entry points of the cryptographic functions
 * (encrypt, decrypt, digest, sign, verify, the dual-function updates), of
 * key management (generate, wrap, unwrap, derive), random numbers, and the
 * 3.0 session cancel and message functions. Each is one P11_ENTRY line
 * (p11_entry.h: the lock and the session lookup); the work is in
 * p11_op.c, p11_sign.c, p11_crypt.c and p11_keys.c.
 */
#include <stdlib.h>
#include <string.h>

#include "p11_entry.h"

P11_ENTRY_FILE

/* C_xxxInit: the mechanism is required */
static CK_RV
op_init(p11_session *s, p11_slot *slot, enum p11_op_kind kind,
    CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
	if (mech == NULL)
		return CKR_ARGUMENTS_BAD;
	return p11_op_init(s, slot, kind, mech, key);
}

/* ---- encryption and decryption ---- */

P11_ENTRY(SESSION, C_EncryptInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k), op_init(c.s, c.slot, P11_OP_ENCRYPT, m, k))
P11_ENTRY(SESSION, C_Encrypt, (CK_SESSION_HANDLE h, CK_BYTE_PTR in,
    CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
    p11_op_encrypt(c.s, in, in_len, out, out_len))
P11_ENTRY(SESSION, C_EncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR in,
    CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
    p11_op_crypt_part(c.s, P11_OP_ENCRYPT, in, in_len, out, out_len, false))
P11_ENTRY(SESSION, C_EncryptFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR out,
    CK_ULONG_PTR out_len),
    p11_op_crypt_part(c.s, P11_OP_ENCRYPT, NULL, 0, out, out_len, true))
P11_ENTRY(SESSION, C_DecryptInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k), op_init(c.s, c.slot, P11_OP_DECRYPT, m, k))
P11_ENTRY(SESSION, C_Decrypt, (CK_SESSION_HANDLE h, CK_BYTE_PTR in,
    CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
    p11_op_decrypt(c.s, c.slot, in, in_len, out, out_len))
P11_ENTRY(SESSION, C_DecryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR in,
    CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
    p11_op_crypt_part(c.s, P11_OP_DECRYPT, in, in_len, out, out_len, false))
P11_ENTRY(SESSION, C_DecryptFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR out,
    CK_ULONG_PTR out_len),
    p11_op_crypt_part(c.s, P11_OP_DECRYPT, NULL, 0, out, out_len, true))

/* ---- message digests ---- */

static CK_RV
digest_key(p11_session *s, p11_slot *slot,
    CK_OBJECT_HANDLE key)
{
	p11_object *o;
	CK_RV rv;

	if (!s->op[P11_OP_DIGEST].active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if ((rv = p11_object_get(s, slot, key, &o)) != CKR_OK)
		return CKR_KEY_HANDLE_INVALID;
	/* keys on a PIV card never leave it */
	return CKR_KEY_INDIGESTIBLE;
}

P11_ENTRY(SESSION, C_DigestInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m),
    op_init(c.s, c.slot, P11_OP_DIGEST, m, CK_INVALID_HANDLE))
P11_ENTRY(SESSION, C_Digest, (CK_SESSION_HANDLE h, CK_BYTE_PTR in,
    CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
    p11_op_digest(c.s, in, in_len, out, out_len, false))
P11_ENTRY(SESSION, C_DigestUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR in,
    CK_ULONG in_len), p11_op_update(c.s, P11_OP_DIGEST, in, in_len))
P11_ENTRY(SESSION, C_DigestKey, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key),
    digest_key(c.s, c.slot, key))
P11_ENTRY(SESSION, C_DigestFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR out,
    CK_ULONG_PTR out_len), p11_op_digest(c.s, NULL, 0, out, out_len, true))

/* ---- signatures ---- */

/* no mechanism here recovers data from a signature */
static CK_RV
no_recover_init(CK_MECHANISM_PTR m)
{
	return m == NULL ? CKR_ARGUMENTS_BAD : CKR_MECHANISM_INVALID;
}

P11_ENTRY(SESSION, C_SignInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k), op_init(c.s, c.slot, P11_OP_SIGN, m, k))
P11_ENTRY(SESSION, C_Sign, (CK_SESSION_HANDLE h, CK_BYTE_PTR in,
    CK_ULONG in_len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len),
    p11_op_sign(c.s, c.slot, in, in_len, sig, sig_len, false))
P11_ENTRY(SESSION, C_SignUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR in,
    CK_ULONG in_len), p11_op_update(c.s, P11_OP_SIGN, in, in_len))
P11_ENTRY(SESSION, C_SignFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR sig,
    CK_ULONG_PTR sig_len),
    p11_op_sign(c.s, c.slot, NULL, 0, sig, sig_len, true))
P11_ENTRY(SESSION, C_SignRecoverInit, (CK_SESSION_HANDLE h,
    CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), no_recover_init(m))
P11_ENTRY(SESSION, C_SignRecover, (CK_SESSION_HANDLE h, CK_BYTE_PTR in,
    CK_ULONG in_len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len),
    CKR_OPERATION_NOT_INITIALIZED)
P11_ENTRY(SESSION, C_VerifyInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k), op_init(c.s, c.slot, P11_OP_VERIFY, m, k))
P11_ENTRY(SESSION, C_Verify, (CK_SESSION_HANDLE h, CK_BYTE_PTR in,
    CK_ULONG in_len, CK_BYTE_PTR sig, CK_ULONG sig_len),
    p11_op_verify(c.s, in, in_len, sig, sig_len, false))
P11_ENTRY(SESSION, C_VerifyUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR in,
    CK_ULONG in_len), p11_op_update(c.s, P11_OP_VERIFY, in, in_len))
P11_ENTRY(SESSION, C_VerifyFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR sig,
    CK_ULONG sig_len), p11_op_verify(c.s, NULL, 0, sig, sig_len, true))
P11_ENTRY(SESSION, C_VerifyRecoverInit, (CK_SESSION_HANDLE h,
    CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), no_recover_init(m))
P11_ENTRY(SESSION, C_VerifyRecover, (CK_SESSION_HANDLE h, CK_BYTE_PTR sig,
    CK_ULONG sig_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
    CKR_OPERATION_NOT_INITIALIZED)

/* ---- dual-function updates ---- */

/*
 * dual-function updates: the two multi-part operations in the order 3.0
 * base 5.13 gives; a size query (out NULL) feeds neither
 */
static CK_RV
dual(p11_session *s, enum p11_op_kind first, enum p11_op_kind crypt,
    CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	bool decrypting = crypt == P11_OP_DECRYPT;
	CK_RV rv;

	if (out_len == NULL || (in == NULL && in_len > 0))
		return CKR_ARGUMENTS_BAD;
	if (!s->op[first].active || !s->op[crypt].active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (!decrypting && out != NULL) {
		rv = p11_op_update(s, first, in, in_len);
		if (rv != CKR_OK)
			return rv;
	}
	rv = p11_op_crypt_part(s, crypt, in, in_len, out, out_len, false);
	if (rv == CKR_OK && decrypting && out != NULL)
		rv = p11_op_update(s, first, out, *out_len);
	return rv;
}

P11_ENTRY(SESSION, C_DigestEncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR a,
    CK_ULONG b, CK_BYTE_PTR d, CK_ULONG_PTR e),
    dual(c.s, P11_OP_DIGEST, P11_OP_ENCRYPT, a, b, d, e))
P11_ENTRY(SESSION, C_DecryptDigestUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR a,
    CK_ULONG b, CK_BYTE_PTR d, CK_ULONG_PTR e),
    dual(c.s, P11_OP_DIGEST, P11_OP_DECRYPT, a, b, d, e))
P11_ENTRY(SESSION, C_SignEncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR a,
    CK_ULONG b, CK_BYTE_PTR d, CK_ULONG_PTR e),
    dual(c.s, P11_OP_SIGN, P11_OP_ENCRYPT, a, b, d, e))
P11_ENTRY(SESSION, C_DecryptVerifyUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR a,
    CK_ULONG b, CK_BYTE_PTR d, CK_ULONG_PTR e),
    dual(c.s, P11_OP_VERIFY, P11_OP_DECRYPT, a, b, d, e))

/* ---- keys ---- */

/* secret keys are session keys: a PIV card holds none but 9B */
P11_ENTRY(SESSION, C_GenerateKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR out),
    m == NULL || out == NULL || (tmpl == NULL && count > 0) ?
    CKR_ARGUMENTS_BAD : p11_genkey(c.s, c.slot, m, tmpl, count, out))
P11_ENTRY(SESSION, C_GenerateKeyPair, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_ATTRIBUTE_PTR pub_t, CK_ULONG pub_n, CK_ATTRIBUTE_PTR priv_t,
    CK_ULONG priv_n, CK_OBJECT_HANDLE_PTR pub_h, CK_OBJECT_HANDLE_PTR priv_h),
    (pub_t == NULL && pub_n > 0) || (priv_t == NULL && priv_n > 0) ?
    CKR_ARGUMENTS_BAD : p11_keygen(c.s, c.slot, m, pub_t, pub_n, priv_t,
    priv_n, pub_h, priv_h))
P11_ENTRY(SESSION, C_WrapKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE wk, CK_OBJECT_HANDLE k, CK_BYTE_PTR out,
    CK_ULONG_PTR out_len), m == NULL || out_len == NULL ?
    CKR_ARGUMENTS_BAD : p11_wrap(c.s, c.slot, m, wk, k, out, out_len))
P11_ENTRY(SESSION, C_UnwrapKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE uk, CK_BYTE_PTR in, CK_ULONG in_len,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR out),
    m == NULL || in == NULL || out == NULL || (tmpl == NULL && count > 0) ?
    CKR_ARGUMENTS_BAD :
    p11_unwrap(c.s, c.slot, m, uk, in, in_len, tmpl, count, out))
P11_ENTRY(SESSION, C_DeriveKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE base, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
    CK_OBJECT_HANDLE_PTR out), tmpl == NULL && count > 0 ?
    CKR_ARGUMENTS_BAD : p11_derive(c.s, c.slot, m, base, tmpl, count, out))

/* ---- random numbers, function status ---- */

P11_ENTRY(SESSION, C_SeedRandom, (CK_SESSION_HANDLE h, CK_BYTE_PTR seed,
    CK_ULONG len), seed == NULL && len > 0 ? CKR_ARGUMENTS_BAD :
    CKR_RANDOM_SEED_NOT_SUPPORTED)

static CK_RV
generate_random(p11_session *s, p11_slot *slot,
    CK_BYTE_PTR out, CK_ULONG len)
{
	int wk;
	CK_RV rv;

	if (out == NULL && len > 0)
		return CKR_ARGUMENTS_BAD;
	if (len == 0)
		return CKR_OK;
	if ((rv = p11_card_begin(slot)) != CKR_OK)
		return rv;
	wk = wk_piv_get_challenge(slot->piv, out, len);
	p11_card_end(slot);
	return wk == WK_OK ? CKR_OK : p11_token_check(slot, wk);
}

P11_ENTRY(SESSION, C_GenerateRandom, (CK_SESSION_HANDLE h, CK_BYTE_PTR out,
    CK_ULONG len), generate_random(c.s, c.slot, out, len))
P11_ENTRY(SESSION, C_GetFunctionStatus, (CK_SESSION_HANDLE h),
    CKR_FUNCTION_NOT_PARALLEL)
P11_ENTRY(SESSION, C_CancelFunction, (CK_SESSION_HANDLE h),
    CKR_FUNCTION_NOT_PARALLEL)

/* ---- 3.0 ---- */

static CK_RV
session_cancel(p11_session *s, p11_slot *slot,
    CK_FLAGS flags)
{
	static const struct {
		CK_FLAGS flag;
		enum p11_op_kind kind;
	} map[] = {
		{ CKF_SIGN, P11_OP_SIGN },
		{ CKF_VERIFY, P11_OP_VERIFY },
		{ CKF_ENCRYPT, P11_OP_ENCRYPT },
		{ CKF_DECRYPT, P11_OP_DECRYPT },
		{ CKF_DIGEST, P11_OP_DIGEST },
		{ 0x40UL /* CKF_FIND_OBJECTS */, P11_OP_FIND },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (flags & map[i].flag)
			p11_op_end(&s->op[map[i].kind]);
	return CKR_OK;
}

P11_ENTRY(SESSION, C_SessionCancel, (CK_SESSION_HANDLE h, CK_FLAGS flags),
    session_cancel(c.s, c.slot, flags))

/* the message-based functions: nothing on a PIV card needs them */
P11_ENTRY(SESSION, C_MessageInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k), CKR_FUNCTION_NOT_SUPPORTED)
P11_ENTRY(SESSION, C_MessageCrypt, (CK_SESSION_HANDLE h, void *p, CK_ULONG pl,
    CK_BYTE_PTR a, CK_ULONG al, CK_BYTE_PTR in, CK_ULONG il, CK_BYTE_PTR out,
    CK_ULONG_PTR ol), CKR_FUNCTION_NOT_SUPPORTED)
P11_ENTRY(SESSION, C_MessageBegin, (CK_SESSION_HANDLE h, void *p, CK_ULONG pl,
    CK_BYTE_PTR a, CK_ULONG al), CKR_FUNCTION_NOT_SUPPORTED)
P11_ENTRY(SESSION, C_MessageNext, (CK_SESSION_HANDLE h, void *p, CK_ULONG pl,
    CK_BYTE_PTR in, CK_ULONG il, CK_BYTE_PTR out, CK_ULONG_PTR ol,
    CK_FLAGS f), CKR_FUNCTION_NOT_SUPPORTED)
P11_ENTRY(SESSION, C_MessageFinal, (CK_SESSION_HANDLE h),
    CKR_FUNCTION_NOT_SUPPORTED)
P11_ENTRY(SESSION, C_SignMessage, (CK_SESSION_HANDLE h, void *p, CK_ULONG pl,
    CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR sig, CK_ULONG_PTR sl),
    CKR_FUNCTION_NOT_SUPPORTED)
P11_ENTRY(SESSION, C_SignMessageBegin, (CK_SESSION_HANDLE h, void *p,
    CK_ULONG pl), CKR_FUNCTION_NOT_SUPPORTED)
P11_ENTRY(SESSION, C_VerifyMessage, (CK_SESSION_HANDLE h, void *p,
    CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR sig, CK_ULONG sl),
    CKR_FUNCTION_NOT_SUPPORTED)
