/*
 * mechanisms: the table C_GetMechanismList/Info report, and the workers
 * behind the cryptographic entry points. Padding and hashing are done on
 * the host, the private-key operation on the card (piv.md 2.7 d, e).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "p11_internal.h"

#define RSA_FLAGS (CKF_HW | CKF_SIGN | CKF_VERIFY)
#define EC_FLAGS (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define NOKEY CKK_VENDOR_DEFINED
#define SYM_FLAGS (CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP)

static const p11_mech mechs[] = {
	{ CKM_RSA_PKCS_KEY_PAIR_GEN, 1024, 4096, CKF_HW | CKF_GENERATE_KEY_PAIR, CKK_RSA, 0, false, false, false },
	{ CKM_RSA_PKCS, 1024, 4096, RSA_FLAGS | CKF_DECRYPT | CKF_ENCRYPT | CKF_WRAP | CKF_UNWRAP, CKK_RSA, 0, false, true, false },
	{ CKM_RSA_X_509, 1024, 4096, RSA_FLAGS | CKF_DECRYPT | CKF_ENCRYPT, CKK_RSA, 0, false, false, true },
	{ CKM_RSA_PKCS_OAEP, 1024, 4096, CKF_HW | CKF_DECRYPT | CKF_ENCRYPT | CKF_WRAP | CKF_UNWRAP, CKK_RSA, 0, false, false, false },
	{ CKM_RSA_PKCS_PSS, 1024, 4096, RSA_FLAGS, CKK_RSA, 0, true, false, false },
	{ CKM_SHA1_RSA_PKCS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA_1, false, true, false },
	{ CKM_SHA224_RSA_PKCS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA224, false, true, false },
	{ CKM_SHA256_RSA_PKCS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA256, false, true, false },
	{ CKM_SHA384_RSA_PKCS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA384, false, true, false },
	{ CKM_SHA512_RSA_PKCS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA512, false, true, false },
	{ CKM_SHA1_RSA_PKCS_PSS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA_1, true, false, false },
	{ CKM_SHA224_RSA_PKCS_PSS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA224, true, false, false },
	{ CKM_SHA256_RSA_PKCS_PSS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA256, true, false, false },
	{ CKM_SHA384_RSA_PKCS_PSS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA384, true, false, false },
	{ CKM_SHA512_RSA_PKCS_PSS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA512, true, false, false },
	{ CKM_EC_KEY_PAIR_GEN, 256, 384, CKF_HW | CKF_GENERATE_KEY_PAIR | EC_FLAGS, CKK_EC, 0, false, false, false },
	{ CKM_ECDSA, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, 0, false, false, false },
	{ CKM_ECDSA_SHA1, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, CKM_SHA_1, false, false, false },
	{ CKM_ECDSA_SHA224, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, CKM_SHA224, false, false, false },
	{ CKM_ECDSA_SHA256, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, CKM_SHA256, false, false, false },
	{ CKM_ECDSA_SHA384, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, CKM_SHA384, false, false, false },
	{ CKM_ECDSA_SHA512, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, CKM_SHA512, false, false, false },
	{ CKM_ECDH1_DERIVE, 255, 384, CKF_HW | CKF_DERIVE | EC_FLAGS, CKK_EC, 0, false, false, false },
	{ CKM_EC_EDWARDS_KEY_PAIR_GEN, 255, 255, CKF_HW | CKF_GENERATE_KEY_PAIR, CKK_EC_EDWARDS, 0, false, false, false },
	{ CKM_EDDSA, 255, 255, CKF_HW | CKF_SIGN | CKF_VERIFY, CKK_EC_EDWARDS, 0, false, false, false },
	{ CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 255, 255, CKF_HW | CKF_GENERATE_KEY_PAIR, CKK_EC_MONTGOMERY, 0, false, false, false },
	/* SM2/SM3 with the GM applet's keys (p11_gm.c) */
	{ CKM_WK_SM2, 256, 256, CKF_HW | CKF_SIGN | CKF_VERIFY, CKK_WK_SM2, 0, false, false, false },
	{ CKM_WK_SM2_SM3, 256, 256, CKF_HW | CKF_SIGN | CKF_VERIFY, CKK_WK_SM2, 0, false, false, false },
	{ CKM_WK_SM3, 0, 0, CKF_DIGEST, NOKEY, CKM_WK_SM3, false, false, false },
	{ CKM_MD5, 0, 0, CKF_DIGEST, NOKEY, CKM_MD5, false, false, false },
	{ CKM_SHA_1, 0, 0, CKF_DIGEST, NOKEY, CKM_SHA_1, false, false, false },
	{ CKM_SHA224, 0, 0, CKF_DIGEST, NOKEY, CKM_SHA224, false, false, false },
	{ CKM_SHA256, 0, 0, CKF_DIGEST, NOKEY, CKM_SHA256, false, false, false },
	{ CKM_SHA384, 0, 0, CKF_DIGEST, NOKEY, CKM_SHA384, false, false, false },
	{ CKM_SHA512, 0, 0, CKF_DIGEST, NOKEY, CKM_SHA512, false, false, false },
	/* secret keys: session objects only, in software (p11_soft.c) */
	{ CKM_AES_KEY_GEN, 16, 32, CKF_GENERATE, CKK_AES, 0, false, false, false },
	{ CKM_AES_ECB, 16, 32, SYM_FLAGS, CKK_AES, 0, false, false, false },
	{ CKM_AES_CBC, 16, 32, SYM_FLAGS, CKK_AES, 0, false, false, false },
	{ CKM_AES_CBC_PAD, 16, 32, SYM_FLAGS, CKK_AES, 0, false, false, false },
	{ CKM_AES_CTR, 16, 32, CKF_ENCRYPT | CKF_DECRYPT, CKK_AES, 0, false, false, false },
	{ CKM_AES_GCM, 16, 32, CKF_ENCRYPT | CKF_DECRYPT, CKK_AES, 0, false, false, false },
	{ CKM_AES_KEY_WRAP, 16, 32, SYM_FLAGS, CKK_AES, 0, false, false, false },
	{ CKM_AES_KEY_WRAP_PAD, 16, 32, SYM_FLAGS, CKK_AES, 0, false, false, false },
	{ CKM_DES3_KEY_GEN, 192, 192, CKF_GENERATE, CKK_DES3, 0, false, false, false },
	{ CKM_DES3_ECB, 192, 192, SYM_FLAGS, CKK_DES3, 0, false, false, false },
	{ CKM_DES3_CBC, 192, 192, SYM_FLAGS, CKK_DES3, 0, false, false, false },
	{ CKM_DES3_CBC_PAD, 192, 192, SYM_FLAGS, CKK_DES3, 0, false, false, false },
	{ CKM_GENERIC_SECRET_KEY_GEN, 8, 4096, CKF_GENERATE, CKK_GENERIC_SECRET, 0, false, false, false },
	{ CKM_MD5_HMAC, 8, 4096, CKF_SIGN | CKF_VERIFY, CKK_GENERIC_SECRET, 0, false, false, false },
	{ CKM_SHA_1_HMAC, 8, 4096, CKF_SIGN | CKF_VERIFY, CKK_GENERIC_SECRET, 0, false, false, false },
	{ CKM_SHA224_HMAC, 8, 4096, CKF_SIGN | CKF_VERIFY, CKK_GENERIC_SECRET, 0, false, false, false },
	{ CKM_SHA256_HMAC, 8, 4096, CKF_SIGN | CKF_VERIFY, CKK_GENERIC_SECRET, 0, false, false, false },
	{ CKM_SHA384_HMAC, 8, 4096, CKF_SIGN | CKF_VERIFY, CKK_GENERIC_SECRET, 0, false, false, false },
	{ CKM_SHA512_HMAC, 8, 4096, CKF_SIGN | CKF_VERIFY, CKK_GENERIC_SECRET, 0, false, false, false },
};

const p11_mech *
p11_mech_list(size_t *n)
{
	*n = sizeof(mechs) / sizeof(mechs[0]);
	return mechs;
}

const p11_mech *
p11_mech_find(CK_MECHANISM_TYPE type)
{
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (mechs[i].type == type)
			return &mechs[i];
	return NULL;
}

static CK_MECHANISM_TYPE
mgf_hash(CK_RSA_PKCS_MGF_TYPE mgf)
{
	switch (mgf) {
	case CKG_MGF1_SHA1:
		return CKM_SHA_1;
	case CKG_MGF1_SHA224:
		return CKM_SHA224;
	case CKG_MGF1_SHA256:
		return CKM_SHA256;
	case CKG_MGF1_SHA384:
		return CKM_SHA384;
	case CKG_MGF1_SHA512:
		return CKM_SHA512;
	default:
		return 0;
	}
}

static CK_FLAGS
kind_flag(enum p11_op_kind kind)
{
	switch (kind) {
	case P11_OP_SIGN:
		return CKF_SIGN;
	case P11_OP_VERIFY:
		return CKF_VERIFY;
	case P11_OP_ENCRYPT:
		return CKF_ENCRYPT;
	case P11_OP_DECRYPT:
		return CKF_DECRYPT;
	case P11_OP_DIGEST:
		return CKF_DIGEST;
	default:
		return 0;
	}
}

/* mechanism parameters (2.40 mechanisms 2.1.9, 2.1.8, 2.3.6) */
static CK_RV
op_params(p11_op *op, const CK_MECHANISM *m, const p11_mech *info)
{
	if (info->pss) {
		const CK_RSA_PKCS_PSS_PARAMS *pp = m->pParameter;

		if (pp == NULL || m->ulParameterLen != sizeof(*pp))
			return CKR_MECHANISM_PARAM_INVALID;
		if (p11_hash_md(pp->hashAlg) == NULL || mgf_hash(pp->mgf) == 0 ||
		    (info->hash != 0 && pp->hashAlg != info->hash) ||
		    pp->sLen > 1024)
			return CKR_MECHANISM_PARAM_INVALID;
		op->hash = pp->hashAlg;
		op->mgf_hash = mgf_hash(pp->mgf);
		op->salt_len = pp->sLen;
		return CKR_OK;
	}
	if (m->mechanism == CKM_RSA_PKCS_OAEP) {
		const CK_RSA_PKCS_OAEP_PARAMS *op_p = m->pParameter;

		if (op_p == NULL || m->ulParameterLen != sizeof(*op_p))
			return CKR_MECHANISM_PARAM_INVALID;
		if (p11_hash_md(op_p->hashAlg) == NULL || mgf_hash(op_p->mgf) == 0)
			return CKR_MECHANISM_PARAM_INVALID;
		if (op_p->source != 0 && op_p->source != CKZ_DATA_SPECIFIED)
			return CKR_MECHANISM_PARAM_INVALID;
		if ((op_p->pSourceData == NULL) != (op_p->ulSourceDataLen == 0) ||
		    op_p->ulSourceDataLen > 1024)
			return CKR_MECHANISM_PARAM_INVALID;
		op->hash = op_p->hashAlg;
		op->mgf_hash = mgf_hash(op_p->mgf);
		if (op_p->ulSourceDataLen > 0) {
			op->label = malloc(op_p->ulSourceDataLen);
			if (op->label == NULL)
				return CKR_HOST_MEMORY;
			memcpy(op->label, op_p->pSourceData, op_p->ulSourceDataLen);
			op->label_len = op_p->ulSourceDataLen;
		}
		return CKR_OK;
	}
	if (m->mechanism == CKM_EDDSA && m->ulParameterLen != 0) {
		const CK_EDDSA_PARAMS *ep = m->pParameter;

		/* Ed25519 only: no prehash, no context (RFC 8032 5.1) */
		if (ep == NULL || m->ulParameterLen != sizeof(*ep) ||
		    ep->phFlag != CK_FALSE || ep->ulContextDataLen != 0)
			return CKR_MECHANISM_PARAM_INVALID;
		return CKR_OK;
	}
	if (m->mechanism == CKM_WK_SM2_SM3 && m->ulParameterLen != 0) {
		/* the SM2 user id (GM/T 0009 5.4) */
		if (m->pParameter == NULL || m->ulParameterLen > WK_GM_ID_MAX)
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(op->gm_id, m->pParameter, m->ulParameterLen);
		op->gm_id_len = m->ulParameterLen;
		return CKR_OK;
	}
	if (m->ulParameterLen != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	op->hash = info->hash;
	return CKR_OK;
}

/* a secret-key cipher or an HMAC with a session key */
static CK_RV
secret_init(p11_op *op, const p11_object *obj, const CK_MECHANISM *mech,
    const p11_mech *info, enum p11_op_kind kind, CK_OBJECT_HANDLE key)
{
	CK_ATTRIBUTE_TYPE use;
	CK_RV rv;

	if (obj->cls != CKO_SECRET_KEY)
		return CKR_KEY_TYPE_INCONSISTENT;
	if (info->key_type != CKK_AES && info->key_type != CKK_DES3 &&
	    info->key_type != CKK_GENERIC_SECRET)
		return CKR_KEY_TYPE_INCONSISTENT;
	use = kind == P11_OP_SIGN ? CKA_SIGN : kind == P11_OP_DECRYPT ?
	    CKA_DECRYPT : kind == P11_OP_VERIFY ? CKA_VERIFY : CKA_ENCRYPT;
	if (!p11_attr_true(obj, use))
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	op->mech = mech->mechanism;
	if (kind == P11_OP_SIGN || kind == P11_OP_VERIFY) {
		if (mech->ulParameterLen != 0)
			return CKR_MECHANISM_PARAM_INVALID;
		rv = p11_soft_mac_init(op, obj, mech->mechanism);
	} else
		rv = p11_soft_cipher_init(op, obj, mech, kind == P11_OP_ENCRYPT);
	if (rv != CKR_OK) {
		p11_op_end(op);
		return rv;
	}
	op->key = key;
	op->info = info;
	op->active = true;
	return CKR_OK;
}

CK_RV
p11_op_init(p11_session *s, p11_slot *slot, enum p11_op_kind kind,
    const CK_MECHANISM *mech, CK_OBJECT_HANDLE key)
{
	p11_op *op = &s->op[kind];
	const p11_mech *info;
	p11_object *obj = NULL;
	const CK_ATTRIBUTE *a;
	CK_KEY_TYPE kt;
	CK_ATTRIBUTE_TYPE use;
	CK_RV rv;

	if (mech == NULL)
		return CKR_ARGUMENTS_BAD;
	if (op->active)
		return CKR_OPERATION_ACTIVE;
	info = p11_mech_find(mech->mechanism);
	if (info == NULL || !(info->flags & kind_flag(kind)))
		return CKR_MECHANISM_INVALID;
	p11_op_end(op);
	if (kind != P11_OP_DIGEST) {
		rv = p11_object_get(s, slot, key, &obj);
		if (rv != CKR_OK)
			return rv == CKR_OBJECT_HANDLE_INVALID ?
			    CKR_KEY_HANDLE_INVALID : rv;
		if (obj->cls == CKO_SECRET_KEY || info->key_type == CKK_AES ||
		    info->key_type == CKK_DES3 ||
		    info->key_type == CKK_GENERIC_SECRET)
			return secret_init(op, obj, mech, info, kind, key);
		if (kind == P11_OP_SIGN || kind == P11_OP_DECRYPT) {
			if (obj->cls != CKO_PRIVATE_KEY)
				return CKR_KEY_TYPE_INCONSISTENT;
		} else if (obj->cls != CKO_PUBLIC_KEY &&
		    obj->cls != CKO_PRIVATE_KEY)
			return CKR_KEY_TYPE_INCONSISTENT;
		a = p11_attr_find(obj, CKA_KEY_TYPE);
		if (a == NULL || a->ulValueLen != sizeof(kt))
			return CKR_KEY_TYPE_INCONSISTENT;
		memcpy(&kt, a->pValue, sizeof(kt));
		if (kt != info->key_type)
			return CKR_KEY_TYPE_INCONSISTENT;
		use = kind == P11_OP_SIGN ? CKA_SIGN : kind == P11_OP_DECRYPT ?
		    CKA_DECRYPT : kind == P11_OP_VERIFY ? CKA_VERIFY : CKA_ENCRYPT;
		if (obj->cls == CKO_PUBLIC_KEY && !p11_attr_true(obj, use))
			return CKR_KEY_FUNCTION_NOT_PERMITTED;
		if (obj->cls == CKO_PRIVATE_KEY && (kind == P11_OP_SIGN ||
		    kind == P11_OP_DECRYPT) && !p11_attr_true(obj, use))
			return CKR_KEY_FUNCTION_NOT_PERMITTED;
		a = p11_attr_find(obj, CKA_PUBLIC_KEY_INFO);
		if (a == NULL || a->ulValueLen == 0)
			return CKR_KEY_TYPE_INCONSISTENT;
		op->spki = malloc(a->ulValueLen);
		if (op->spki == NULL)
			return CKR_HOST_MEMORY;
		memcpy(op->spki, a->pValue, a->ulValueLen);
		op->spki_len = a->ulValueLen;
		op->key = key;
		op->key_ref = obj->key_ref;
		op->alg = obj->alg;
		op->mod_bits = p11_alg_bits(obj->alg);
		if (kt == CKK_RSA) {
			a = p11_attr_find(obj, CKA_MODULUS_BITS);
			if (a != NULL && a->ulValueLen == sizeof(CK_ULONG))
				op->mod_bits = *(const CK_ULONG *)a->pValue;
		}
		op->need_ctx_login = obj->always_auth &&
		    (kind == P11_OP_SIGN || kind == P11_OP_DECRYPT);
		if (obj->alg == P11_ALG_GM_SM2 &&
		    (rv = p11_gm_op_key(op, obj)) != CKR_OK) {
			p11_op_end(op);
			return rv;
		}
		if (obj->soft && obj->pkey != NULL) {
			if (EVP_PKEY_up_ref(obj->pkey) != 1)
				return CKR_HOST_MEMORY;
			op->pkey = obj->pkey;
			op->soft = true;
		}
	}
	rv = op_params(op, mech, info);
	if (rv != CKR_OK) {
		p11_op_end(op);
		return rv;
	}
	if (kind == P11_OP_DIGEST)
		op->hash = info->hash;
	if (op->hash != 0 && (kind == P11_OP_DIGEST || info->hash != 0)) {
		op->md = EVP_MD_CTX_new();
		if (op->md == NULL ||
		    EVP_DigestInit_ex(op->md, p11_digest_md(op->hash), NULL) != 1) {
			p11_op_end(op);
			return CKR_HOST_MEMORY;
		}
	}
	(void)slot;
	op->mech = mech->mechanism;
	op->info = info;
	op->active = true;
	return CKR_OK;
}

static CK_RV
buffer_add(p11_op *op, const uint8_t *data, size_t len)
{
	uint8_t *grown;

	if (len == 0)
		return CKR_OK;
	if (data == NULL)
		return CKR_ARGUMENTS_BAD;
	if (len > P11_MAX_INPUT || op->len > P11_MAX_INPUT - len)
		return CKR_DATA_LEN_RANGE;
	grown = realloc(op->buf, op->len + len);
	if (grown == NULL)
		return CKR_HOST_MEMORY;
	op->buf = grown;
	memcpy(op->buf + op->len, data, len);
	op->len += len;
	return CKR_OK;
}

CK_RV
p11_op_update(p11_session *s, enum p11_op_kind kind, const uint8_t *data,
    size_t len)
{
	p11_op *op = &s->op[kind];
	CK_RV rv;

	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (data == NULL && len > 0) {
		p11_op_end(op);
		return CKR_ARGUMENTS_BAD;
	}
	if (op->single) {
		p11_op_end(op);
		return CKR_OPERATION_ACTIVE;
	}
	op->multi = true;
	if (op->mac != NULL) {
		rv = p11_soft_mac_update(op, data, len);
		if (rv != CKR_OK)
			p11_op_end(op);
		return rv;
	}
	if (op->md != NULL && (kind == P11_OP_DIGEST || op->info->hash != 0)) {
		if (EVP_DigestUpdate(op->md, data, len) != 1) {
			p11_op_end(op);
			return CKR_FUNCTION_FAILED;
		}
		return CKR_OK;
	}
	/* single-part mechanisms: collect, bounded, for the final call */
	rv = buffer_add(op, data, len);
	if (rv != CKR_OK)
		p11_op_end(op);
	return rv;
}

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

/* the card's private-key commands, for p11_card_run */
typedef struct card_call {
	uint8_t key_ref, alg;
	const uint8_t *in;
	size_t in_len;
	uint8_t *out;
	size_t *out_len;
	size_t cap;	/* *out_len on entry: a second try starts from it */
} card_call;

static int
call_sign(p11_slot *slot, void *arg)
{
	card_call *c = arg;

	*c->out_len = c->cap;
	return wk_piv_sign(slot->piv, c->key_ref, c->alg, c->in, c->in_len,
	    c->out, c->out_len);
}

static int
call_decrypt(p11_slot *slot, void *arg)
{
	card_call *c = arg;

	*c->out_len = c->cap;
	return wk_piv_decrypt(slot->piv, c->key_ref, c->alg, c->in, c->in_len,
	    c->out, c->out_len);
}

static int
call_derive(p11_slot *slot, void *arg)
{
	card_call *c = arg;

	*c->out_len = c->cap;
	return wk_piv_derive(slot->piv, c->key_ref, c->alg, c->in, c->in_len,
	    c->out, c->out_len);
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
	if (sig == NULL || *sig_len_out < (op->mac != NULL ?
	    p11_soft_mac_len(op) : sig_len(op)))
		op->single = !final_only;
	if (op->mac != NULL)
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
		card_call c = { op->key_ref, op->alg, in, in_len, out, &out_len,
		    out_len };
		rv = p11_card_run(slot, call_sign, &c, &wk);
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
	if (op->mac != NULL)
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

CK_RV
p11_op_decrypt(p11_session *s, p11_slot *slot, const uint8_t *in, size_t len,
    uint8_t *out, CK_ULONG *out_len)
{
	p11_op *op = &s->op[P11_OP_DECRYPT];
	size_t mod = (op->mod_bits + 7) / 8, raw_len, n;
	uint8_t *raw = NULL;
	int wk;
	CK_RV rv;

	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (out_len == NULL || (in == NULL && len > 0)) {
		p11_op_end(op);
		return CKR_ARGUMENTS_BAD;
	}
	if (op->cctx != NULL)
		return cipher_one(op, in, len, out, out_len);
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
		card_call c = { op->key_ref, op->alg, in, len, raw, &raw_len,
		    raw_len };
		rv = p11_card_run(slot, call_decrypt, &c, &wk);
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

	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (out_len == NULL || (in == NULL && len > 0)) {
		p11_op_end(op);
		return CKR_ARGUMENTS_BAD;
	}
	if (op->cctx != NULL)
		return cipher_one(op, in, len, out, out_len);
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

/* ---- key pair generation ---- */

static const uint8_t oid_p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2B, 0x65, 0x70 };
static const uint8_t oid_x25519[] = { 0x06, 0x03, 0x2B, 0x65, 0x6E };

static bool
params_are(const CK_ATTRIBUTE *a, const uint8_t *oid, size_t oid_len,
    const char *name)
{
	size_t nl = strlen(name);
	const uint8_t *v = a->pValue;

	if (a->ulValueLen == oid_len && memcmp(v, oid, oid_len) == 0)
		return true;
	/* PKCS#11 3.0 2.3.10: a PrintableString curve name is allowed too */
	return a->ulValueLen == nl + 2 && v[0] == 0x13 && v[1] == nl &&
	    memcmp(v + 2, name, nl) == 0;
}

static CK_RV
keygen_alg(const CK_MECHANISM *mech, const CK_ATTRIBUTE *pub_t,
    CK_ULONG pub_n, uint8_t *alg)
{
	const CK_ATTRIBUTE *a;
	CK_ULONG bits;
	bool found;
	CK_RV rv;
	static const uint8_t f4[] = { 0x01, 0x00, 0x01 };

	switch (mech->mechanism) {
	case CKM_RSA_PKCS_KEY_PAIR_GEN:
		rv = p11_tmpl_ulong(pub_t, pub_n, CKA_MODULUS_BITS, &bits, &found);
		if (rv != CKR_OK)
			return rv;
		if (!found)
			return CKR_TEMPLATE_INCOMPLETE;
		*alg = bits == 1024 ? P11_ALG_RSA1024 : bits == 2048 ?
		    P11_ALG_RSA2048 : bits == 3072 ? P11_ALG_RSA3072 :
		    bits == 4096 ? P11_ALG_RSA4096 : P11_ALG_NONE;
		if (*alg == P11_ALG_NONE)
			return CKR_KEY_SIZE_RANGE;
		a = p11_tmpl_find(pub_t, pub_n, CKA_PUBLIC_EXPONENT);
		if (a != NULL) {
			/* the card's exponent is 65537; accept it with leading zeros */
			const uint8_t *v = a->pValue;
			size_t l = a->ulValueLen;
			while (l > 3 && v[0] == 0) {
				v++;
				l--;
			}
			if (l != 3 || memcmp(v, f4, 3) != 0)
				return CKR_ATTRIBUTE_VALUE_INVALID;
		}
		return CKR_OK;
	case CKM_EC_KEY_PAIR_GEN:
		a = p11_tmpl_find(pub_t, pub_n, CKA_EC_PARAMS);
		if (a == NULL)
			return CKR_TEMPLATE_INCOMPLETE;
		if (a->pValue == NULL)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		if (params_are(a, oid_p256, sizeof(oid_p256), "prime256v1") ||
		    params_are(a, oid_p256, sizeof(oid_p256), "secp256r1"))
			*alg = P11_ALG_P256;
		else if (params_are(a, oid_p384, sizeof(oid_p384), "secp384r1"))
			*alg = P11_ALG_P384;
		else
			return CKR_CURVE_NOT_SUPPORTED;
		return CKR_OK;
	case CKM_EC_EDWARDS_KEY_PAIR_GEN:
	case CKM_EC_MONTGOMERY_KEY_PAIR_GEN: {
		bool ed = mech->mechanism == CKM_EC_EDWARDS_KEY_PAIR_GEN;
		a = p11_tmpl_find(pub_t, pub_n, CKA_EC_PARAMS);
		*alg = ed ? P11_ALG_ED25519 : P11_ALG_X25519;
		if (a == NULL)
			return CKR_OK;
		if (a->pValue == NULL)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		if (ed ? params_are(a, oid_ed25519, sizeof(oid_ed25519),
		    "edwards25519") : params_are(a, oid_x25519,
		    sizeof(oid_x25519), "curve25519"))
			return CKR_OK;
		return CKR_CURVE_NOT_SUPPORTED;
	}
	default:
		return CKR_MECHANISM_INVALID;
	}
}

/* CKA_CLASS / CKA_KEY_TYPE / CKA_TOKEN in a template must agree with what we make */
static CK_RV
tmpl_consistent(const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_CLASS cls,
    CK_KEY_TYPE kt)
{
	CK_ULONG v;
	bool found, b;
	CK_RV rv;

	rv = p11_tmpl_ulong(t, n, CKA_CLASS, &v, &found);
	if (rv != CKR_OK || (found && v != cls))
		return rv != CKR_OK ? rv : CKR_TEMPLATE_INCONSISTENT;
	rv = p11_tmpl_ulong(t, n, CKA_KEY_TYPE, &v, &found);
	if (rv != CKR_OK || (found && v != kt))
		return rv != CKR_OK ? rv : CKR_TEMPLATE_INCONSISTENT;
	rv = p11_tmpl_bool(t, n, CKA_TOKEN, &b, &found);
	if (rv != CKR_OK || (found && !b))
		return rv != CKR_OK ? rv : CKR_TEMPLATE_INCONSISTENT;
	if (cls == CKO_PRIVATE_KEY) {
		rv = p11_tmpl_bool(t, n, CKA_EXTRACTABLE, &b, &found);
		if (rv != CKR_OK || (found && b))
			return rv != CKR_OK ? rv : CKR_TEMPLATE_INCONSISTENT;
		rv = p11_tmpl_bool(t, n, CKA_SENSITIVE, &b, &found);
		if (rv != CKR_OK || (found && !b))
			return rv != CKR_OK ? rv : CKR_TEMPLATE_INCONSISTENT;
	}
	return CKR_OK;
}

/* the PIV slot from CKA_ID (either template); else the first empty one */
static CK_RV
target_slot(p11_slot *slot, const CK_ATTRIBUTE *pub_t, CK_ULONG pub_n,
    const CK_ATTRIBUTE *priv_t, CK_ULONG priv_n, const p11_piv_slot **out)
{
	const CK_ATTRIBUTE *a = p11_tmpl_find(priv_t, priv_n, CKA_ID);
	const CK_ATTRIBUTE *b = p11_tmpl_find(pub_t, pub_n, CKA_ID);
	const p11_piv_slot *ps, *all;
	size_t n;

	if (a != NULL && b != NULL && (a->ulValueLen != b->ulValueLen ||
	    (a->ulValueLen > 0 && memcmp(a->pValue, b->pValue, a->ulValueLen) != 0)))
		return CKR_TEMPLATE_INCONSISTENT;
	if (a == NULL)
		a = b;
	if (a != NULL) {
		ps = p11_piv_slot_by_id(a->pValue, a->ulValueLen);
		if (ps == NULL)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		*out = ps;
		return CKR_OK;
	}
	all = p11_piv_slots(&n);
	for (size_t i = 0; i < n; i++) {
		bool used = false;
		for (p11_object *o = slot->objects; o != NULL; o = o->next)
			if (o->cls == CKO_PRIVATE_KEY && o->key_ref == all[i].key_ref)
				used = true;
		if (!used) {
			*out = &all[i];
			return CKR_OK;
		}
	}
	return CKR_TEMPLATE_INCOMPLETE;
}

static CK_KEY_TYPE
alg_key_type(uint8_t alg)
{
	if (p11_alg_is_rsa(alg))
		return CKK_RSA;
	if (p11_alg_is_ec(alg))
		return CKK_EC;
	return alg == P11_ALG_ED25519 ? CKK_EC_EDWARDS : CKK_EC_MONTGOMERY;
}

static p11_object *
find_key(p11_slot *slot, CK_OBJECT_CLASS cls, uint8_t key_ref)
{
	for (p11_object *o = slot->objects; o != NULL; o = o->next)
		if (o->cls == cls && o->key_ref == key_ref && o->session == 0)
			return o;
	return NULL;
}

CK_RV
p11_keygen(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    const CK_ATTRIBUTE *pub_t, CK_ULONG pub_n, const CK_ATTRIBUTE *priv_t,
    CK_ULONG priv_n, CK_OBJECT_HANDLE *pub_h, CK_OBJECT_HANDLE *priv_h)
{
	const p11_piv_slot *ps;
	uint8_t alg = P11_ALG_NONE, spki[WK_PIV_SPKI_MAX], pin_policy = 0;
	size_t spki_len = sizeof(spki);
	bool b, found;
	p11_object *pub, *priv;
	int wk;
	CK_RV rv;

	if (mech == NULL || pub_h == NULL || priv_h == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11_tmpl_check(pub_t, pub_n)) != CKR_OK ||
	    (rv = p11_tmpl_check(priv_t, priv_n)) != CKR_OK)
		return rv;
	if (p11_mech_find(mech->mechanism) == NULL ||
	    !(p11_mech_find(mech->mechanism)->flags & CKF_GENERATE_KEY_PAIR))
		return CKR_MECHANISM_INVALID;
	if (mech->ulParameterLen != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	/*
	 * CKA_TOKEN false (the default, 2.40 base 4.4) makes session keys in
	 * software; a token key pair is generated on the card
	 */
	{
		bool pub_tok = false, priv_tok = false, f1, f2;
		if ((rv = p11_tmpl_bool(pub_t, pub_n, CKA_TOKEN, &pub_tok, &f1)) !=
		    CKR_OK || (rv = p11_tmpl_bool(priv_t, priv_n, CKA_TOKEN,
		    &priv_tok, &f2)) != CKR_OK)
			return rv;
		if ((f1 && f2 && pub_tok != priv_tok) || (f1 && !pub_tok &&
		    priv_tok) || (f2 && !priv_tok && pub_tok))
			return CKR_TEMPLATE_INCONSISTENT;
		if (!pub_tok && !priv_tok)
			return p11_soft_keypair(s, slot, mech, pub_t, pub_n, priv_t,
			    priv_n, pub_h, priv_h);
	}
	if ((rv = keygen_alg(mech, pub_t, pub_n, &alg)) != CKR_OK)
		return rv;
	if ((rv = tmpl_consistent(pub_t, pub_n, CKO_PUBLIC_KEY,
	    alg_key_type(alg))) != CKR_OK ||
	    (rv = tmpl_consistent(priv_t, priv_n, CKO_PRIVATE_KEY,
	    alg_key_type(alg))) != CKR_OK)
		return rv;
	if (!p11_session_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (!p11_may_write(slot))
		return CKR_USER_NOT_LOGGED_IN;
	if ((rv = target_slot(slot, pub_t, pub_n, priv_t, priv_n, &ps)) != CKR_OK)
		return rv;
	rv = p11_tmpl_bool(priv_t, priv_n, CKA_ALWAYS_AUTHENTICATE, &b, &found);
	if (rv != CKR_OK)
		return rv;
	if (found)
		pin_policy = b ? WK_PIV_PIN_POLICY_ALWAYS :
		    ps->always_auth ? WK_PIV_PIN_POLICY_ONCE : 0;
	if ((rv = p11_write_begin(slot)) != CKR_OK)
		return rv;
	wk = wk_piv_generate(slot->piv, ps->key_ref, alg, pin_policy, 0, spki,
	    &spki_len);
	p11_card_end(slot);
	if (wk != WK_OK) {
		rv = p11_token_check(slot, wk);
		return rv == CKR_DATA_INVALID ? CKR_TEMPLATE_INCONSISTENT : rv;
	}
	rv = p11_token_reload_key(slot, ps);
	if (rv != CKR_OK)
		return rv;
	pub = find_key(slot, CKO_PUBLIC_KEY, ps->key_ref);
	priv = find_key(slot, CKO_PRIVATE_KEY, ps->key_ref);
	if (pub == NULL || priv == NULL)
		return CKR_DEVICE_ERROR;
	*pub_h = pub->handle;
	*priv_h = priv->handle;
	return CKR_OK;
}

/* C_GenerateKey: secret keys are session objects (the card has no place for them) */
CK_RV
p11_genkey(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
	bool token = false, found;
	CK_RV rv;

	if (mech == NULL || out == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11_tmpl_check(t, n)) != CKR_OK)
		return rv;
	if (p11_mech_find(mech->mechanism) == NULL ||
	    !(p11_mech_find(mech->mechanism)->flags & CKF_GENERATE))
		return CKR_MECHANISM_INVALID;
	if ((rv = p11_tmpl_bool(t, n, CKA_TOKEN, &token, &found)) != CKR_OK)
		return rv;
	if (token)
		return CKR_TEMPLATE_INCONSISTENT;
	return p11_soft_genkey(s, slot, mech, t, n, out);
}

/* ---- secret keys from ECDH and unwrapping: session objects ---- */

/* the secret-key template of C_DeriveKey and C_UnwrapKey */
static CK_RV
secret_template(const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_KEY_TYPE *kt,
    CK_ULONG *value_len, bool *sensitive_v, bool *extractable)
{
	CK_ULONG v;
	bool found, b;
	CK_RV rv;

	*kt = CKK_GENERIC_SECRET;
	*value_len = 0;
	*sensitive_v = false;
	*extractable = true;
	rv = p11_tmpl_ulong(tmpl, count, CKA_CLASS, &v, &found);
	if (rv != CKR_OK || (found && v != CKO_SECRET_KEY))
		return rv != CKR_OK ? rv : CKR_TEMPLATE_INCONSISTENT;
	if ((rv = p11_tmpl_ulong(tmpl, count, CKA_KEY_TYPE, kt, &found)) != CKR_OK)
		return rv;
	if ((rv = p11_tmpl_ulong(tmpl, count, CKA_VALUE_LEN, value_len,
	    &found)) != CKR_OK)
		return rv;
	if ((rv = p11_tmpl_bool(tmpl, count, CKA_TOKEN, &b, &found)) != CKR_OK)
		return rv;
	/* the card keeps no secret keys */
	if (found && b)
		return CKR_TEMPLATE_INCONSISTENT;
	if ((rv = p11_tmpl_bool(tmpl, count, CKA_SENSITIVE, &b, &found)) != CKR_OK)
		return rv;
	if (found)
		*sensitive_v = b;
	if ((rv = p11_tmpl_bool(tmpl, count, CKA_EXTRACTABLE, &b, &found)) != CKR_OK)
		return rv;
	if (found)
		*extractable = b;
	return CKR_OK;
}

/* RSA key transport: the 9D key management key's job (SP 800-78-4 3.1) */
CK_RV
p11_unwrap(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    CK_OBJECT_HANDLE key, const uint8_t *wrapped, size_t len,
    const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_OBJECT_HANDLE *out)
{
	uint8_t value[512];
	CK_ULONG n = sizeof(value);
	CK_KEY_TYPE kt;
	CK_ULONG value_len;
	bool sensitive_v, extractable;
	p11_object *obj;
	CK_RV rv;

	if (mech == NULL || wrapped == NULL || out == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11_tmpl_check(tmpl, count)) != CKR_OK)
		return rv;
	rv = p11_object_get(s, slot, key, &obj);
	if (rv != CKR_OK)
		return CKR_UNWRAPPING_KEY_HANDLE_INVALID;
	if ((rv = secret_template(tmpl, count, &kt, &value_len, &sensitive_v,
	    &extractable)) != CKR_OK)
		return rv;
	if (kt != CKK_GENERIC_SECRET && kt != CKK_AES && kt != CKK_DES3)
		return CKR_TEMPLATE_INCONSISTENT;
	if (obj->cls == CKO_SECRET_KEY) {
		/* a session secret key unwraps (3.0 base 5.18.3) */
		if (!p11_mech_secret(mech->mechanism) ||
		    !(p11_mech_find(mech->mechanism)->flags & CKF_UNWRAP))
			return CKR_MECHANISM_INVALID;
		if (!p11_attr_true(obj, CKA_UNWRAP))
			return CKR_KEY_FUNCTION_NOT_PERMITTED;
		rv = p11_soft_wrap(obj, mech, wrapped, len, value, &n, false);
		if (rv == CKR_ENCRYPTED_DATA_INVALID)
			rv = CKR_WRAPPED_KEY_INVALID;
		else if (rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
		    rv == CKR_BUFFER_TOO_SMALL)
			rv = CKR_WRAPPED_KEY_LEN_RANGE;
		if (rv == CKR_OK)
			rv = p11_soft_secret(s, slot, value, n, tmpl, count, false,
			    out);
		goto out;
	}
	if (mech->mechanism != CKM_RSA_PKCS &&
	    mech->mechanism != CKM_RSA_PKCS_OAEP)
		return CKR_MECHANISM_INVALID;
	if (obj->cls != CKO_PRIVATE_KEY || !p11_alg_is_rsa(obj->alg))
		return CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT;
	if (!p11_attr_true(obj, CKA_UNWRAP))
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	if (s->op[P11_OP_DECRYPT].active)
		return CKR_OPERATION_ACTIVE;
	if ((rv = p11_op_init(s, slot, P11_OP_DECRYPT, mech, key)) != CKR_OK)
		return rv;
	/* a PIN-always key cannot take a context login inside this call */
	if (s->op[P11_OP_DECRYPT].need_ctx_login) {
		p11_op_end(&s->op[P11_OP_DECRYPT]);
		return CKR_USER_NOT_LOGGED_IN;
	}
	rv = p11_op_decrypt(s, slot, wrapped, len, value, &n);
	p11_op_end(&s->op[P11_OP_DECRYPT]);
	if (rv == CKR_ENCRYPTED_DATA_INVALID)
		rv = CKR_WRAPPED_KEY_INVALID;
	else if (rv == CKR_ENCRYPTED_DATA_LEN_RANGE)
		rv = CKR_WRAPPED_KEY_LEN_RANGE;
	if (rv != CKR_OK)
		goto out;
	rv = CKR_TEMPLATE_INCONSISTENT;
	if (value_len != 0 && value_len != n)
		goto out;
	rv = p11_soft_secret(s, slot, value, n, tmpl, count, false, out);
out:
	sodium_memzero(value, sizeof(value));
	return rv;
}

/*
 * C_WrapKey of a session secret key, with a session secret key or an RSA
 * public key. Tookan (Bortolozzo et al., CCS 2010): a sensitive key, or one
 * marked CKA_WRAP_WITH_TRUSTED, leaves only under a CKA_TRUSTED key, which
 * only the SO can make: an application cannot wrap it with a key it can
 * also decrypt with.
 */
CK_RV
p11_wrap(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    CK_OBJECT_HANDLE wkey, CK_OBJECT_HANDLE key, uint8_t *out,
    CK_ULONG *out_len)
{
	const p11_mech *info;
	p11_object *w, *k;
	const CK_ATTRIBUTE *v;
	CK_RV rv;

	if (mech == NULL || out_len == NULL)
		return CKR_ARGUMENTS_BAD;
	if (p11_object_get(s, slot, wkey, &w) != CKR_OK)
		return CKR_WRAPPING_KEY_HANDLE_INVALID;
	if (p11_object_get(s, slot, key, &k) != CKR_OK)
		return CKR_KEY_HANDLE_INVALID;
	info = p11_mech_find(mech->mechanism);
	if (info == NULL || !(info->flags & CKF_WRAP))
		return CKR_MECHANISM_INVALID;
	if (!p11_attr_true(w, CKA_WRAP))
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	/* private keys are not exported in any form */
	if (k->cls != CKO_SECRET_KEY || (v = p11_attr_find(k, CKA_VALUE)) == NULL)
		return CKR_KEY_NOT_WRAPPABLE;
	if (!p11_attr_true(k, CKA_EXTRACTABLE))
		return CKR_KEY_UNEXTRACTABLE;
	if ((p11_attr_true(k, CKA_SENSITIVE) ||
	    p11_attr_true(k, CKA_WRAP_WITH_TRUSTED)) &&
	    !p11_attr_true(w, CKA_TRUSTED))
		return CKR_KEY_NOT_WRAPPABLE;
	if (w->cls == CKO_SECRET_KEY) {
		if (!p11_mech_secret(mech->mechanism))
			return CKR_WRAPPING_KEY_TYPE_INCONSISTENT;
		rv = p11_soft_wrap(w, mech, v->pValue, v->ulValueLen, out, out_len,
		    true);
		return rv == CKR_DATA_LEN_RANGE ? CKR_KEY_SIZE_RANGE : rv;
	}
	if (w->cls != CKO_PUBLIC_KEY || (mech->mechanism != CKM_RSA_PKCS &&
	    mech->mechanism != CKM_RSA_PKCS_OAEP))
		return CKR_WRAPPING_KEY_TYPE_INCONSISTENT;
	if (s->op[P11_OP_ENCRYPT].active)
		return CKR_OPERATION_ACTIVE;
	if ((rv = p11_op_init(s, slot, P11_OP_ENCRYPT, mech, wkey)) != CKR_OK)
		return rv == CKR_KEY_TYPE_INCONSISTENT ?
		    CKR_WRAPPING_KEY_TYPE_INCONSISTENT : rv;
	rv = p11_op_encrypt(s, v->pValue, v->ulValueLen, out, out_len);
	p11_op_end(&s->op[P11_OP_ENCRYPT]);
	return rv;
}

/* ---- ECDH ---- */

CK_RV
p11_derive(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    CK_OBJECT_HANDLE base, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
    CK_OBJECT_HANDLE *out)
{
	const CK_ECDH1_DERIVE_PARAMS *dp;
	p11_object *key;
	const uint8_t *peer;
	size_t peer_len, field, secret_len = 64;
	uint8_t secret[64];
	CK_ULONG value_len = 0, kt = CKK_GENERIC_SECRET;
	bool sensitive_v = false, extractable = true;
	int wk;
	CK_RV rv;

	if (mech == NULL || out == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11_tmpl_check(tmpl, count)) != CKR_OK)
		return rv;
	if (mech->mechanism != CKM_ECDH1_DERIVE)
		return CKR_MECHANISM_INVALID;
	dp = mech->pParameter;
	if (dp == NULL || mech->ulParameterLen != sizeof(*dp) ||
	    dp->kdf != CKD_NULL || dp->ulSharedDataLen != 0 ||
	    dp->pPublicData == NULL || dp->ulPublicDataLen == 0)
		return CKR_MECHANISM_PARAM_INVALID;
	rv = p11_object_get(s, slot, base, &key);
	if (rv != CKR_OK)
		return rv == CKR_OBJECT_HANDLE_INVALID ? CKR_KEY_HANDLE_INVALID : rv;
	if (key->cls != CKO_PRIVATE_KEY ||
	    (!p11_alg_is_ec(key->alg) && key->alg != P11_ALG_X25519))
		return CKR_KEY_TYPE_INCONSISTENT;
	if (!p11_attr_true(key, CKA_DERIVE))
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	if ((rv = secret_template(tmpl, count, &kt, &value_len, &sensitive_v,
	    &extractable)) != CKR_OK)
		return rv;
	/* the peer point raw, or DER OCTET STRING wrapped (CKA_EC_POINT form) */
	peer = dp->pPublicData;
	peer_len = dp->ulPublicDataLen;
	field = key->alg == P11_ALG_X25519 ? 32 : (p11_alg_bits(key->alg) + 7) / 8;
	if (peer_len >= 2 && peer[0] == 0x04 && peer_len != 2 * field + 1) {
		size_t hdr = peer[1] == 0x81 ? 3 : 2;
		if (peer_len > hdr && peer[hdr - 1] == peer_len - hdr) {
			peer += hdr;
			peer_len -= hdr;
		}
	}
	if (peer_len != (key->alg == P11_ALG_X25519 ? 32 : 2 * field + 1))
		return CKR_MECHANISM_PARAM_INVALID;
	if (value_len > field)
		return CKR_TEMPLATE_INCONSISTENT;
	if (key->soft) {
		rv = p11_soft_ecdh(key->pkey, key->alg, peer, peer_len, secret,
		    &secret_len);
		if (rv != CKR_OK)
			goto out;
		wk = WK_OK;
	} else {
		card_call c = { key->key_ref, key->alg, peer, peer_len, secret,
		    &secret_len, secret_len };
		rv = p11_card_run(slot, call_derive, &c, &wk);
		if (rv != CKR_OK)
			goto out;
	}
	if (wk != WK_OK) {
		rv = p11_token_check(slot, wk);
		goto out;
	}
	if (value_len == 0)
		value_len = secret_len;
	(void)kt;
	(void)sensitive_v;
	(void)extractable;
	rv = p11_soft_secret(s, slot, secret, value_len, tmpl, count, true, out);
out:
	sodium_memzero(secret, sizeof(secret));
	return rv;
}

/* ---- C_CreateObject / C_DestroyObject ---- */

static CK_RV
create_cert(p11_slot *slot, const CK_ATTRIBUTE *t, CK_ULONG n,
    CK_OBJECT_HANDLE *out)
{
	const CK_ATTRIBUTE *val = p11_tmpl_find(t, n, CKA_VALUE);
	const CK_ATTRIBUTE *id = p11_tmpl_find(t, n, CKA_ID);
	const p11_piv_slot *ps;
	CK_ULONG ct;
	bool found;
	p11_x509 x;
	int wk;
	CK_RV rv;

	rv = p11_tmpl_ulong(t, n, CKA_CERTIFICATE_TYPE, &ct, &found);
	if (rv != CKR_OK)
		return rv;
	if (found && ct != CKC_X_509)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (val == NULL || id == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	ps = p11_piv_slot_by_id(id->pValue, id->ulValueLen);
	if (ps == NULL)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	rv = p11_x509_parse(val->pValue, val->ulValueLen, &x);
	p11_x509_clear(&x);
	if (rv != CKR_OK)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (!p11_may_write(slot))
		return CKR_USER_NOT_LOGGED_IN;
	if ((rv = p11_write_begin(slot)) != CKR_OK)
		return rv;
	wk = wk_piv_write_cert(slot->piv, ps->key_ref, val->pValue,
	    val->ulValueLen);
	p11_card_end(slot);
	if (wk != WK_OK)
		return p11_token_check(slot, wk);
	rv = p11_token_reload_key(slot, ps);
	if (rv != CKR_OK)
		return rv;
	for (p11_object *o = slot->objects; o != NULL; o = o->next)
		if (o->cls == CKO_CERTIFICATE && o->key_ref == ps->key_ref) {
			*out = o->handle;
			return CKR_OK;
		}
	return CKR_DEVICE_ERROR;
}

static CK_RV
create_private(p11_slot *slot, const CK_ATTRIBUTE *t, CK_ULONG n,
    CK_OBJECT_HANDLE *out)
{
	static const CK_ATTRIBUTE_TYPE rsa_parts[5] = { CKA_PRIME_1, CKA_PRIME_2,
	    CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT };
	const CK_ATTRIBUTE *id = p11_tmpl_find(t, n, CKA_ID), *a;
	const p11_piv_slot *ps;
	wk_piv_key_parts parts;
	CK_ULONG kt;
	bool found;
	uint8_t alg = P11_ALG_NONE;
	p11_object *priv;
	int wk;
	CK_RV rv;

	memset(&parts, 0, sizeof(parts));
	rv = p11_tmpl_ulong(t, n, CKA_KEY_TYPE, &kt, &found);
	if (rv != CKR_OK)
		return rv;
	if (!found || id == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	ps = p11_piv_slot_by_id(id->pValue, id->ulValueLen);
	if (ps == NULL)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (kt == CKK_RSA) {
		a = p11_tmpl_find(t, n, CKA_MODULUS);
		if (a == NULL)
			return CKR_TEMPLATE_INCOMPLETE;
		alg = a->ulValueLen == 128 ? P11_ALG_RSA1024 : a->ulValueLen == 256 ?
		    P11_ALG_RSA2048 : a->ulValueLen == 384 ? P11_ALG_RSA3072 :
		    a->ulValueLen == 512 ? P11_ALG_RSA4096 : P11_ALG_NONE;
		if (alg == P11_ALG_NONE)
			return CKR_KEY_SIZE_RANGE;
		for (size_t i = 0; i < 5; i++) {
			a = p11_tmpl_find(t, n, rsa_parts[i]);
			if (a == NULL || a->ulValueLen == 0)
				return CKR_TEMPLATE_INCOMPLETE;
			parts.part[i] = a->pValue;
			parts.part_len[i] = a->ulValueLen;
		}
	} else if (kt == CKK_EC || kt == CKK_EC_EDWARDS || kt == CKK_EC_MONTGOMERY) {
		const CK_ATTRIBUTE *params = p11_tmpl_find(t, n, CKA_EC_PARAMS);
		a = p11_tmpl_find(t, n, CKA_VALUE);
		if (a == NULL || a->ulValueLen == 0)
			return CKR_TEMPLATE_INCOMPLETE;
		if (kt == CKK_EC) {
			if (params == NULL)
				return CKR_TEMPLATE_INCOMPLETE;
			if (params_are(params, oid_p256, sizeof(oid_p256), "prime256v1"))
				alg = P11_ALG_P256;
			else if (params_are(params, oid_p384, sizeof(oid_p384), "secp384r1"))
				alg = P11_ALG_P384;
			else
				return CKR_CURVE_NOT_SUPPORTED;
		} else
			alg = kt == CKK_EC_EDWARDS ? P11_ALG_ED25519 : P11_ALG_X25519;
		parts.part[0] = a->pValue;
		parts.part_len[0] = a->ulValueLen;
	} else
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (!p11_may_write(slot))
		return CKR_USER_NOT_LOGGED_IN;
	if ((rv = p11_write_begin(slot)) != CKR_OK)
		return rv;
	wk = wk_piv_import_parts(slot->piv, ps->key_ref, alg, &parts, 0, 0);
	p11_card_end(slot);
	if (wk != WK_OK) {
		rv = p11_token_check(slot, wk);
		return rv == CKR_DATA_INVALID ? CKR_ATTRIBUTE_VALUE_INVALID : rv;
	}
	rv = p11_token_reload_key(slot, ps);
	if (rv != CKR_OK)
		return rv;
	priv = find_key(slot, CKO_PRIVATE_KEY, ps->key_ref);
	if (priv == NULL)
		return CKR_DEVICE_ERROR;
	*out = priv->handle;
	return CKR_OK;
}

/* the PIV container a data-object template names, by CKA_OBJECT_ID or CKA_LABEL */
static CK_RV
data_container(const CK_ATTRIBUTE *t, CK_ULONG n, const p11_piv_container **out)
{
	const CK_ATTRIBUTE *oid = p11_tmpl_find(t, n, CKA_OBJECT_ID);
	const CK_ATTRIBUTE *label = p11_tmpl_find(t, n, CKA_LABEL);
	const p11_piv_container *pc;
	size_t count;

	if (oid == NULL && label == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	pc = p11_piv_containers(&count);
	for (size_t i = 0; i < count; i++) {
		uint8_t *der = NULL;
		size_t der_len = 0;
		bool match;

		if (oid != NULL) {
			if (p11_oid_der(pc[i].oid, &der, &der_len) != CKR_OK)
				return CKR_HOST_MEMORY;
			match = oid->ulValueLen == der_len &&
			    memcmp(oid->pValue, der, der_len) == 0;
			free(der);
		} else
			match = label->ulValueLen == strlen(pc[i].name) &&
			    memcmp(label->pValue, pc[i].name, label->ulValueLen) == 0;
		if (match) {
			*out = &pc[i];
			return CKR_OK;
		}
	}
	return CKR_ATTRIBUTE_VALUE_INVALID;
}

static void
drop_data(p11_slot *slot, uint32_t tag)
{
	p11_object **pp = &slot->objects, *o;

	while ((o = *pp) != NULL) {
		if (o->cls == CKO_DATA && o->tag == tag && o->session == 0) {
			*pp = o->next;
			p11_object_free(&o);
		} else
			pp = &o->next;
	}
}

/*
 * a data object of the application's own: one of walletkey's tags, written
 * with the PIN (the card checks VERIFY) or the management key
 */
static CK_RV
create_user_data(p11_slot *slot, const CK_ATTRIBUTE *t, CK_ULONG n,
    CK_OBJECT_HANDLE *out)
{
	bool priv = false, found, used;
	uint32_t tag, first, last;
	uint8_t *enc = NULL;
	size_t len = 0;
	p11_object *o;
	int wk;
	CK_RV rv;

	if (!slot->walletkey)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	for (CK_ULONG i = 0; i < n; i++)
		if (t[i].type != CKA_CLASS && t[i].type != CKA_TOKEN &&
		    t[i].type != CKA_PRIVATE && t[i].type != CKA_LABEL &&
		    t[i].type != CKA_APPLICATION && t[i].type != CKA_OBJECT_ID &&
		    t[i].type != CKA_VALUE)
			return p11_attr_known(CKO_DATA, t[i].type) ?
			    CKR_ATTRIBUTE_READ_ONLY : CKR_ATTRIBUTE_TYPE_INVALID;
	if ((rv = p11_tmpl_bool(t, n, CKA_PRIVATE, &priv, &found)) != CKR_OK)
		return rv;
	/* a private object is the user's: the SO could write it but not read it */
	if (priv ? slot->login != CKU_USER : slot->login == P11_NOBODY)
		return CKR_USER_NOT_LOGGED_IN;
	first = priv ? P11_DATA_PRIVATE : P11_DATA_FIRST;
	last = priv ? P11_DATA_LAST : P11_DATA_PRIVATE - 1;
	for (tag = first; tag <= last; tag++) {
		used = false;
		for (o = slot->objects; o != NULL; o = o->next)
			used |= o->cls == CKO_DATA && o->tag == tag && o->session == 0;
		if (!used)
			break;
	}
	if (tag > last)
		return CKR_DEVICE_MEMORY;
	if ((rv = p11_user_data_encode(t, n, &enc, &len)) != CKR_OK)
		return rv;
	if ((rv = slot->login == CKU_SO ? p11_write_begin(slot) :
	    p11_card_begin(slot)) != CKR_OK)
		goto out;
	wk = wk_piv_put_data(slot->piv, tag, enc, len);
	p11_card_end(slot);
	if (wk != WK_OK) {
		rv = p11_token_check(slot, wk);
		goto out;
	}
	if ((rv = p11_user_data_decode(tag, enc, len, &o)) != CKR_OK)
		goto out;
	p11_object_append(&slot->objects, o);
	*out = o->handle;
out:
	if (enc != NULL)
		sodium_memzero(enc, len);
	free(enc);
	return rv;
}

/* PUT DATA of a PIV container (SP 800-73-4 part 2, 3.3.2) */
static CK_RV
create_data(p11_slot *slot, const CK_ATTRIBUTE *t, CK_ULONG n,
    CK_OBJECT_HANDLE *out)
{
	const CK_ATTRIBUTE *val = p11_tmpl_find(t, n, CKA_VALUE);
	const CK_ATTRIBUTE *app = p11_tmpl_find(t, n, CKA_APPLICATION);
	const p11_piv_container *pc;
	p11_object *o;
	int wk;
	CK_RV rv;

	/* a PIV container is named by its OID or its name (CKA_APPLICATION "PIV") */
	rv = data_container(t, n, &pc);
	if (rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_TEMPLATE_INCOMPLETE ||
	    (app != NULL && !(app->ulValueLen == 3 &&
	    memcmp(app->pValue, "PIV", 3) == 0)))
		return create_user_data(slot, t, n, out);
	if (rv != CKR_OK)
		return rv;
	if (val == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	if (val->ulValueLen == 0 || val->ulValueLen > WK_PIV_OBJ_MAX)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (!p11_may_write(slot))
		return CKR_USER_NOT_LOGGED_IN;
	if ((rv = p11_write_begin(slot)) != CKR_OK)
		return rv;
	wk = wk_piv_put_data(slot->piv, pc->tag, val->pValue, val->ulValueLen);
	p11_card_end(slot);
	if (wk != WK_OK) {
		rv = p11_token_check(slot, wk);
		return rv == CKR_FUNCTION_NOT_SUPPORTED || rv == CKR_DATA_INVALID ?
		    CKR_ATTRIBUTE_READ_ONLY : rv;
	}
	drop_data(slot, pc->tag);
	if ((rv = p11_object_data(pc, val->pValue, val->ulValueLen, &o)) != CKR_OK)
		return rv;
	p11_object_append(&slot->objects, o);
	*out = o->handle;
	return CKR_OK;
}

CK_RV
p11_create(p11_session *s, p11_slot *slot, const CK_ATTRIBUTE *tmpl,
    CK_ULONG count, CK_OBJECT_HANDLE *out)
{
	CK_ULONG cls;
	bool found, token = false;
	CK_RV rv;

	if (out == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11_tmpl_check(tmpl, count)) != CKR_OK)
		return rv;
	rv = p11_tmpl_ulong(tmpl, count, CKA_CLASS, &cls, &found);
	if (rv != CKR_OK)
		return rv;
	if (!found)
		return CKR_TEMPLATE_INCOMPLETE;
	if ((rv = p11_tmpl_bool(tmpl, count, CKA_TOKEN, &token, &found)) != CKR_OK)
		return rv;
	/* CKA_TOKEN false, the default (2.40 base 4.4): a session object */
	if (!token)
		return p11_soft_create(s, slot, tmpl, count, out);
	if (cls != CKO_CERTIFICATE && cls != CKO_PRIVATE_KEY && cls != CKO_DATA)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (!p11_session_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (cls == CKO_CERTIFICATE)
		return create_cert(slot, tmpl, count, out);
	if (cls == CKO_DATA)
		return create_data(slot, tmpl, count, out);
	return create_private(slot, tmpl, count, out);
}

CK_RV
p11_destroy(p11_session *s, p11_slot *slot, CK_OBJECT_HANDLE h)
{
	p11_object *obj, **pp;
	const p11_piv_slot *ps;
	int wk;
	CK_RV rv;

	rv = p11_object_get(s, slot, h, &obj);
	if (rv != CKR_OK)
		return rv;
	if (!p11_attr_true(obj, CKA_DESTROYABLE) && obj->session != 0)
		return CKR_ACTION_PROHIBITED;
	if (obj->session != 0) {
		for (pp = &slot->objects; *pp != NULL; pp = &(*pp)->next)
			if (*pp == obj) {
				*pp = obj->next;
				p11_object_free(&obj);
				return CKR_OK;
			}
		return CKR_OBJECT_HANDLE_INVALID;
	}
	if (!p11_session_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (obj->cls != CKO_CERTIFICATE && obj->cls != CKO_DATA)
		return CKR_ACTION_PROHIBITED;
	if (obj->cls == CKO_DATA && obj->tag >= P11_DATA_FIRST &&
	    obj->tag <= P11_DATA_LAST) {
		uint32_t tag = obj->tag;
		if (slot->login == P11_NOBODY)
			return CKR_USER_NOT_LOGGED_IN;
		if ((rv = slot->login == CKU_SO ? p11_write_begin(slot) :
		    p11_card_begin(slot)) != CKR_OK)
			return rv;
		wk = wk_piv_put_data(slot->piv, tag, (const uint8_t *)"", 0);
		p11_card_end(slot);
		if (wk != WK_OK && wk != WK_ERR_NOT_FOUND)
			return p11_token_check(slot, wk);
		drop_data(slot, tag);
		return CKR_OK;
	}
	if (!p11_may_write(slot))
		return CKR_USER_NOT_LOGGED_IN;
	if (obj->cls == CKO_DATA) {
		uint32_t tag = obj->tag;

		if ((rv = p11_write_begin(slot)) != CKR_OK)
			return rv;
		wk = wk_piv_put_data(slot->piv, tag, (const uint8_t *)"", 0);
		p11_card_end(slot);
		if (wk != WK_OK && wk != WK_ERR_NOT_FOUND) {
			rv = p11_token_check(slot, wk);
			return rv == CKR_FUNCTION_NOT_SUPPORTED ||
			    rv == CKR_DATA_INVALID ? CKR_ACTION_PROHIBITED : rv;
		}
		drop_data(slot, tag);
		return CKR_OK;
	}
	ps = p11_piv_slot_by_ref(obj->key_ref);
	if (ps == NULL)
		return CKR_ACTION_PROHIBITED;
	if ((rv = p11_write_begin(slot)) != CKR_OK)
		return rv;
	wk = wk_piv_delete_cert(slot->piv, ps->key_ref);
	p11_card_end(slot);
	if (wk != WK_OK && wk != WK_ERR_NOT_FOUND)
		return p11_token_check(slot, wk);
	return p11_token_reload_key(slot, ps);
}
