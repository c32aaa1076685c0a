/*
 * encryption, decryption and digests: RSA decryption on the card (the
 * unpadding here), RSA encryption on the host, secret-key ciphers of
 * session keys (p11_cipher.c), message digests
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "p11_internal.h"
static CK_RV
cipher_one(p11_op *op, const uint8_t *in, size_t len, uint8_t *out,
    CK_ULONG *out_len)
{
	CK_RV rv;

	if (op->multi) {
		p11_op_end(op);
		return CKR_OPERATION_ACTIVE;
	}
	rv = p11_soft_cipher(op, in != NULL ? in : (const uint8_t *)"", len,
	    out, out_len, 0);
	if ((rv == CKR_OK && out == NULL) || rv == CKR_BUFFER_TOO_SMALL) {
		op->single = true;
		return rv;
	}
	p11_op_end(op);
	return rv;
}

CK_RV
p11_op_crypt_part(p11_session *s, enum p11_op_kind kind, const uint8_t *in,
    size_t len, uint8_t *out, CK_ULONG *out_len, bool final)
{
	p11_op *op = &s->op[kind];
	CK_RV rv;

	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (out_len == NULL || (!final && in == NULL && len > 0)) {
		p11_op_end(op);
		return CKR_ARGUMENTS_BAD;
	}
	/* RSA is one-part only (2.40 mechanisms 2.1) */
	if (op->cctx == NULL) {
		p11_op_end(op);
		return CKR_FUNCTION_NOT_SUPPORTED;
	}
	if (op->single) {
		p11_op_end(op);
		return CKR_OPERATION_ACTIVE;
	}
	op->multi = true;
	rv = p11_soft_cipher(op, in != NULL ? in : (const uint8_t *)"", len, out,
	    out_len, final ? 2 : 1);
	if (rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && (!final ||
	    out == NULL)))
		return rv;
	p11_op_end(op);
	return rv;
}

/* the first checks of C_Encrypt and C_Decrypt: a bad argument ends the operation */
static CK_RV
one_part_check(p11_op *op, const uint8_t *in, size_t len,
    const CK_ULONG *out_len)
{
	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (out_len == NULL || (in == NULL && len > 0)) {
		p11_op_end(op);
		return CKR_ARGUMENTS_BAD;
	}
	return CKR_OK;
}

CK_RV
p11_op_decrypt(p11_session *s, p11_slot *slot, const uint8_t *in, size_t len,
    uint8_t *out, CK_ULONG *out_len)
{
	p11_op *op = &s->op[P11_OP_DECRYPT];
	size_t mod = (op->mod_bits + 7) / 8, raw_len, n;
	uint8_t *raw = NULL;
	int wk;
	CK_RV rv;

	if ((rv = one_part_check(op, in, len, out_len)) != CKR_OK)
		return rv;
	if (op->cctx != NULL)
		return cipher_one(op, in, len, out, out_len);
	if (op->alg == P11_ALG_GM_SM2_ENC)
		return p11_gm_decrypt(slot, op, in, len, out, out_len);
	if (len != mod) {
		p11_op_end(op);
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	}
	/* the exact size is known only after unpadding: mod bytes is the bound */
	if (out == NULL) {
		*out_len = (CK_ULONG)mod;
		return CKR_OK;
	}
	if (op->need_ctx_login && !op->ctx_login_done) {
		p11_op_end(op);
		return CKR_USER_NOT_LOGGED_IN;
	}
	raw_len = mod;
	raw = malloc(mod);
	rv = CKR_HOST_MEMORY;
	if (raw == NULL)
		goto out;
	if (op->soft) {
		rv = p11_soft_private(op->pkey, op->alg, in, len, raw, &raw_len);
		if (rv == CKR_DATA_INVALID)
			rv = CKR_ENCRYPTED_DATA_INVALID;
		if (rv != CKR_OK)
			goto out;
		wk = WK_OK;
	} else {
		rv = p11_card_private(slot, wk_piv_decrypt, op->key_ref,
		    op->alg, in, len, raw, &raw_len, &wk);
		if (rv != CKR_OK)
			goto out;
	}
	if (wk != WK_OK) {
		rv = p11_token_check(slot, wk);
		if (rv == CKR_DATA_INVALID)
			rv = CKR_ENCRYPTED_DATA_INVALID;
		goto out;
	}
	rv = CKR_DEVICE_ERROR;
	if (raw_len != mod)
		goto out;
	n = *out_len;
	switch (op->mech) {
	case CKM_RSA_X_509:
		rv = p11_copy_out(raw, raw_len, out, out_len);
		break;
	case CKM_RSA_PKCS:
		rv = p11_pkcs1_unpad(raw, raw_len, out, &n);
		*out_len = (CK_ULONG)n;
		break;
	default:
		rv = p11_oaep_unpad(op->hash, op->mgf_hash, op->label,
		    op->label_len, raw, raw_len, out, &n);
		*out_len = (CK_ULONG)n;
		break;
	}
	if (rv == CKR_BUFFER_TOO_SMALL) {
		/* keep the operation: the caller retries with a larger buffer */
		sodium_memzero(raw, mod);
		free(raw);
		return rv;
	}
out:
	if (raw != NULL)
		sodium_memzero(raw, mod);
	free(raw);
	p11_op_end(op);
	return rv;
}

CK_RV
p11_op_encrypt(p11_session *s, const uint8_t *in, size_t len, uint8_t *out,
    CK_ULONG *out_len)
{
	p11_op *op = &s->op[P11_OP_ENCRYPT];
	size_t n;
	CK_RV rv;

	if ((rv = one_part_check(op, in, len, out_len)) != CKR_OK)
		return rv;
	if (op->cctx != NULL)
		return cipher_one(op, in, len, out, out_len);
	if (op->alg == P11_ALG_GM_SM2_ENC) {
		rv = p11_gm_encrypt(op, in, len, out, out_len);
		if ((out == NULL && rv == CKR_OK) || rv == CKR_BUFFER_TOO_SMALL)
			return rv;
		p11_op_end(op);
		return rv;
	}
	n = *out_len;
	rv = p11_host_encrypt(op->spki, op->spki_len, op->mech, op->hash,
	    op->mgf_hash, op->label, op->label_len, in, len, out, &n);
	*out_len = (CK_ULONG)n;
	if (out == NULL && rv == CKR_OK)
		return rv;
	if (rv == CKR_BUFFER_TOO_SMALL)
		return rv;
	p11_op_end(op);
	return rv;
}

CK_RV
p11_op_digest(p11_session *s, const uint8_t *in, size_t len, uint8_t *out,
    CK_ULONG *out_len, bool final_only)
{
	p11_op *op = &s->op[P11_OP_DIGEST];
	size_t need;
	unsigned n = 0;
	CK_RV rv = CKR_OK;

	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (out_len == NULL || (!final_only && in == NULL && len > 0)) {
		p11_op_end(op);
		return CKR_ARGUMENTS_BAD;
	}
	/* one-part and multi-part do not mix (2.40 base 5.2) */
	if ((!final_only && op->multi) || (final_only && op->single)) {
		p11_op_end(op);
		return CKR_OPERATION_ACTIVE;
	}
	need = p11_hash_len(op->hash);
	if (out == NULL) {
		/* a size query keeps the operation, for this same call */
		op->single = !final_only;
		*out_len = (CK_ULONG)need;
		return CKR_OK;
	}
	if (*out_len < need) {
		op->single = !final_only;
		*out_len = (CK_ULONG)need;
		return CKR_BUFFER_TOO_SMALL;
	}
	if ((!final_only && EVP_DigestUpdate(op->md, in, len) != 1) ||
	    EVP_DigestFinal_ex(op->md, out, &n) != 1)
		rv = CKR_FUNCTION_FAILED;
	else
		*out_len = n;
	p11_op_end(op);
	return rv;
}

