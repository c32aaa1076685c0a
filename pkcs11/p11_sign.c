/*
 * signatures: C_Sign/C_SignFinal (padding and hashing here, the private-key
 * operation on the card or, for a session key, OpenSSL) and C_Verify (on
 * the host with the public key), HMAC both ways
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "p11_internal.h"
static size_t
sig_len(const p11_op *op)
{
	if (p11_alg_is_rsa(op->alg))
		return (op->mod_bits + 7) / 8;
	if (op->alg == P11_ALG_ED25519 || op->alg == P11_ALG_GM_SM2)
		return 64;
	return 2 * ((p11_alg_bits(op->alg) + 7) / 8);
}

/* the digest of the input for hashing mechanisms, else the input itself */
static CK_RV
op_input(p11_op *op, const uint8_t *data, size_t len, bool final_only,
    uint8_t *digest, const uint8_t **in, size_t *in_len)
{
	unsigned n = 0;

	if (op->info->hash != 0 || (op->md != NULL && op->mech != CKM_EDDSA)) {
		if (!final_only && EVP_DigestUpdate(op->md, data, len) != 1)
			return CKR_FUNCTION_FAILED;
		if (EVP_DigestFinal_ex(op->md, digest, &n) != 1)
			return CKR_FUNCTION_FAILED;
		*in = digest;
		*in_len = n;
		return CKR_OK;
	}
	if (final_only) {
		*in = op->buf != NULL ? op->buf : (const uint8_t *)"";
		*in_len = op->len;
		return CKR_OK;
	}
	*in = data != NULL ? data : (const uint8_t *)"";
	*in_len = len;
	return CKR_OK;
}

/* HMAC: the MAC of everything given (one-part or after updates) */
static CK_RV
mac_sign(p11_op *op, const uint8_t *data, size_t len, uint8_t *sig,
    CK_ULONG *sig_len_out, bool final_only)
{
	size_t need = p11_soft_mac_len(op), n = need;
	CK_RV rv;

	if (sig == NULL) {
		*sig_len_out = (CK_ULONG)need;
		return CKR_OK;
	}
	if (*sig_len_out < need) {
		*sig_len_out = (CK_ULONG)need;
		return CKR_BUFFER_TOO_SMALL;
	}
	rv = final_only ? CKR_OK : p11_soft_mac_update(op, data, len);
	if (rv == CKR_OK)
		rv = p11_soft_mac_final(op, sig, &n);
	if (rv == CKR_OK)
		*sig_len_out = (CK_ULONG)n;
	p11_op_end(op);
	return rv;
}

static CK_RV
mac_verify(p11_op *op, const uint8_t *data, size_t len, const uint8_t *sig,
    size_t sig_len_in, bool final_only)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t n = sizeof(mac);
	CK_RV rv;

	rv = final_only ? CKR_OK : p11_soft_mac_update(op, data, len);
	if (rv == CKR_OK)
		rv = p11_soft_mac_final(op, mac, &n);
	if (rv == CKR_OK && sig_len_in != n)
		rv = CKR_SIGNATURE_LEN_RANGE;
	else if (rv == CKR_OK && sodium_memcmp(mac, sig, n) != 0)
		rv = CKR_SIGNATURE_INVALID;
	sodium_memzero(mac, sizeof(mac));
	p11_op_end(op);
	return rv;
}

CK_RV
p11_op_sign(p11_session *s, p11_slot *slot, const uint8_t *data, size_t len,
    uint8_t *sig, CK_ULONG *sig_len_out, bool final_only)
{
	p11_op *op = &s->op[P11_OP_SIGN];
	uint8_t digest[EVP_MAX_MD_SIZE], *em = NULL, out[WK_PIV_SIG_MAX];
	const uint8_t *in;
	size_t in_len, need, em_len = 0, out_len = sizeof(out), field;
	int wk;
	CK_RV rv;

	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (sig_len_out == NULL || (!final_only && data == NULL && len > 0)) {
		p11_op_end(op);
		return CKR_ARGUMENTS_BAD;
	}
	if ((!final_only && op->multi) || (final_only && op->single)) {
		p11_op_end(op);
		return CKR_OPERATION_ACTIVE;
	}
	if (sig == NULL || *sig_len_out < (p11_soft_is_mac(op) ?
	    p11_soft_mac_len(op) : sig_len(op)))
		op->single = !final_only;
	if (p11_soft_is_mac(op))
		return mac_sign(op, data, len, sig, sig_len_out, final_only);
	need = sig_len(op);
	if (sig == NULL) {
		*sig_len_out = (CK_ULONG)need;
		return CKR_OK;
	}
	if (*sig_len_out < need) {
		*sig_len_out = (CK_ULONG)need;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (op->need_ctx_login && !op->ctx_login_done) {
		/* an error ends the operation (2.40 base 5.2) */
		p11_op_end(op);
		return CKR_USER_NOT_LOGGED_IN;
	}
	rv = op_input(op, data, len, final_only, digest, &in, &in_len);
	if (rv != CKR_OK)
		goto out;
	if (op->alg == P11_ALG_GM_SM2) {
		if ((rv = p11_gm_sign(slot, op, in, in_len, sig)) == CKR_OK)
			*sig_len_out = 64;
		goto out;
	}
	if (p11_alg_is_rsa(op->alg)) {
		em_len = need;
		em = calloc(1, em_len);
		rv = CKR_HOST_MEMORY;
		if (em == NULL)
			goto out;
		if (op->info->pss) {
			rv = p11_pss_pad(op->hash, op->mgf_hash, op->salt_len, in,
			    in_len, op->mod_bits, em, em_len);
			if (rv == CKR_MECHANISM_PARAM_INVALID && op->info->hash == 0)
				rv = CKR_DATA_LEN_RANGE;
		} else if (op->info->pkcs1)
			rv = p11_pkcs1_sign_pad(op->info->hash, in, in_len, em,
			    em_len);
		else {
			rv = CKR_DATA_LEN_RANGE;
			if (in_len <= em_len) {
				memcpy(em + em_len - in_len, in, in_len);
				rv = CKR_OK;
			}
		}
		if (rv != CKR_OK)
			goto out;
		in = em;
		in_len = em_len;
	} else if (p11_alg_is_ec(op->alg)) {
		/* FIPS 186-4 6.4: the leftmost field-size bytes of the digest */
		field = (p11_alg_bits(op->alg) + 7) / 8;
		if (in_len > field)
			in_len = field;
		rv = CKR_DATA_LEN_RANGE;
		if (in_len == 0)
			goto out;
	}
	if (op->soft) {
		rv = p11_soft_private(op->pkey, op->alg, in, in_len, out, &out_len);
		if (rv != CKR_OK)
			goto out;
		wk = WK_OK;
	} else {
		rv = p11_card_private(slot, wk_piv_sign, op->key_ref, op->alg,
		    in, in_len, out, &out_len, &wk);
		if (rv != CKR_OK)
			goto out;
	}
	if (wk != WK_OK) {
		rv = p11_token_check(slot, wk);
		if (rv == CKR_DATA_INVALID && p11_alg_is_rsa(op->alg))
			rv = CKR_DATA_INVALID;
		goto out;
	}
	if (p11_alg_is_ec(op->alg)) {
		field = (p11_alg_bits(op->alg) + 7) / 8;
		rv = CKR_DEVICE_ERROR;
		if (wk_piv_ecdsa_der_to_raw(out, out_len, field, sig) != WK_OK)
			goto out;
		out_len = 2 * field;
	} else {
		rv = CKR_DEVICE_ERROR;
		if (out_len != need)
			goto out;
		memcpy(sig, out, out_len);
	}
	*sig_len_out = (CK_ULONG)out_len;
	rv = CKR_OK;
out:
	if (em != NULL)
		sodium_memzero(em, em_len);
	free(em);
	sodium_memzero(digest, sizeof(digest));
	/* a PIN-always key needs a fresh context login for the next one */
	p11_op_end(op);
	return rv;
}

/* the verification mechanism OpenSSL needs for our mechanism */
static CK_MECHANISM_TYPE
base_mech(const p11_op *op)
{
	if (op->info->pss)
		return CKM_RSA_PKCS_PSS;
	if (op->info->pkcs1)
		return CKM_RSA_PKCS;
	if (op->mech == CKM_RSA_X_509)
		return CKM_RSA_X_509;
	if (op->mech == CKM_EDDSA)
		return CKM_EDDSA;
	return CKM_ECDSA;
}

CK_RV
p11_op_verify(p11_session *s, const uint8_t *data, size_t len,
    const uint8_t *sig, size_t sig_len_in, bool final_only)
{
	p11_op *op = &s->op[P11_OP_VERIFY];
	uint8_t digest[EVP_MAX_MD_SIZE];
	const uint8_t *in;
	size_t in_len;
	CK_MECHANISM_TYPE hash;
	CK_RV rv;

	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (sig == NULL || (!final_only && data == NULL && len > 0)) {
		p11_op_end(op);
		return CKR_ARGUMENTS_BAD;
	}
	if (!final_only && op->multi) {
		p11_op_end(op);
		return CKR_OPERATION_ACTIVE;
	}
	if (p11_soft_is_mac(op))
		return mac_verify(op, data, len, sig, sig_len_in, final_only);
	rv = op_input(op, data, len, final_only, digest, &in, &in_len);
	if (rv != CKR_OK)
		goto out;
	if (op->alg == P11_ALG_GM_SM2) {
		rv = p11_gm_verify(op, in, in_len, sig, sig_len_in);
		goto out;
	}
	/* PSS: mHash is the digest (hashing variant) or the caller's data */
	hash = op->info->pss ? op->hash : op->info->pkcs1 ? op->info->hash : 0;
	if (op->info->pss && op->info->hash == 0 &&
	    in_len != p11_hash_len(op->hash)) {
		rv = CKR_DATA_LEN_RANGE;
		goto out;
	}
	rv = p11_host_verify(op->spki, op->spki_len, base_mech(op), hash,
	    op->mgf_hash, op->salt_len, in, in_len, sig, sig_len_in);
out:
	p11_op_end(op);
	return rv;
}

/* one-part encryption or decryption with a secret key */
