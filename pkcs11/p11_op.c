/*
 * operations: C_xxxInit (the mechanism, its parameters, the key, the
 * context login a PIN-always key needs) and the updates of multi-part
 * operations. Padding and hashing are done on the host, the private-key
 * operation on the card (piv.md 2.7 d, e): p11_sign.c, p11_crypt.c.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "p11_internal.h"

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
	    info->key_type != CKK_WK_SM4 && info->key_type != CKK_GENERIC_SECRET)
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
		    info->key_type == CKK_DES3 || info->key_type == CKK_WK_SM4 ||
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
		if (p11_alg_is_gm(obj->alg) &&
		    (rv = p11_gm_op_key(op, obj, mech->mechanism)) != CKR_OK) {
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
	if (p11_soft_is_mac(op)) {
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

