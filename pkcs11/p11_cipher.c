/*
 * secret-key ciphers and MACs for session keys, with OpenSSL 3 in the
 * module's own library context: AES (ECB, CBC, CBC_PAD, CTR, GCM, key wrap
 * RFC 3394/5649), DES3, SM4 (ECB, CBC, CBC_PAD, CBC-MAC; vendor-defined),
 * HMAC, one-part and multi-part with PKCS#11's size rules (2.40 base 5.2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "p11_internal.h"

/* ---- secret-key ciphers ---- */

static const char *
cipher_name(CK_MECHANISM_TYPE m, size_t key_len, size_t *block, bool *iv,
    bool *pad, CK_KEY_TYPE *kt)
{
	static char name[32];
	const char *mode;

	*pad = false;
	*iv = true;
	*block = 16;
	*kt = CKK_AES;
	switch (m) {
	case CKM_AES_ECB:
		*iv = false;
		mode = "ECB";
		break;
	case CKM_AES_CBC_PAD:
		*pad = true;
		/* fall through */
	case CKM_AES_CBC:
		mode = "CBC";
		break;
	case CKM_AES_CTR:
		*block = 1;
		mode = "CTR";
		break;
	case CKM_AES_KEY_WRAP:
		*iv = false;
		*block = 8;
		mode = "WRAP";
		break;
	case CKM_AES_GCM:
		*iv = false;	/* in CK_GCM_PARAMS */
		*block = 1;
		mode = "GCM";
		break;
	case CKM_AES_KEY_WRAP_PAD:
		*iv = false;
		*block = 1;
		mode = "WRAP-PAD";
		break;
	case CKM_DES3_ECB:
		*kt = CKK_DES3;
		*block = 8;
		*iv = false;
		return "DES-EDE3-ECB";
	case CKM_DES3_CBC_PAD:
		*pad = true;
		/* fall through */
	case CKM_DES3_CBC:
		*kt = CKK_DES3;
		*block = 8;
		return "DES-EDE3-CBC";
	case CKM_WK_SM4_ECB:
		*kt = CKK_WK_SM4;
		*iv = false;
		return "SM4-ECB";
	case CKM_WK_SM4_CBC_PAD:
		*pad = true;
		/* fall through */
	case CKM_WK_SM4_CBC:
		*kt = CKK_WK_SM4;
		return "SM4-CBC";
	default:
		return NULL;
	}
	snprintf(name, sizeof(name), "AES-%zu-%s", key_len * 8, mode);
	return name;
}

bool
p11_mech_secret(CK_MECHANISM_TYPE m)
{
	size_t b;
	bool iv, pad;
	CK_KEY_TYPE kt;

	return cipher_name(m, 16, &b, &iv, &pad, &kt) != NULL;
}

CK_RV
p11_soft_cipher_init(p11_op *op, const p11_object *key, const CK_MECHANISM *m,
    bool enc)
{
	const CK_ATTRIBUTE *v = p11_attr_find(key, CKA_VALUE), *a;
	const uint8_t *ivp = NULL;
	EVP_CIPHER *c = NULL;
	const char *name;
	size_t block;
	bool iv, pad;
	CK_KEY_TYPE kt, have;
	CK_RV rv;

	if (key->cls != CKO_SECRET_KEY || v == NULL)
		return CKR_KEY_TYPE_INCONSISTENT;
	a = p11_attr_find(key, CKA_KEY_TYPE);
	if (a == NULL || a->ulValueLen != sizeof(have))
		return CKR_KEY_TYPE_INCONSISTENT;
	memcpy(&have, a->pValue, sizeof(have));
	if ((name = cipher_name(m->mechanism, v->ulValueLen, &block, &iv, &pad,
	    &kt)) == NULL)
		return CKR_MECHANISM_INVALID;
	if (have != kt || !p11_secret_len_ok(kt, v->ulValueLen))
		return CKR_KEY_TYPE_INCONSISTENT;
	if (m->mechanism == CKM_AES_GCM) {
		/* SP 800-38D: 1..256-byte IV, 32..128-bit tag in bytes */
		const CK_GCM_PARAMS *gp = m->pParameter;
		if (gp == NULL || m->ulParameterLen != sizeof(*gp) ||
		    gp->pIv == NULL || gp->ulIvLen == 0 || gp->ulIvLen > 256 ||
		    gp->ulTagBits < 32 || gp->ulTagBits > 128 ||
		    gp->ulTagBits % 8 != 0 || (gp->pAAD == NULL && gp->ulAADLen > 0) ||
		    gp->ulAADLen > P11_MAX_INPUT)
			return CKR_MECHANISM_PARAM_INVALID;
		ivp = gp->pIv;
		op->salt_len = gp->ulTagBits / 8;
		if (gp->ulAADLen > 0) {
			if ((op->label = malloc(gp->ulAADLen)) == NULL)
				return CKR_HOST_MEMORY;
			memcpy(op->label, gp->pAAD, gp->ulAADLen);
			op->label_len = gp->ulAADLen;
		}
	} else if (m->mechanism == CKM_AES_CTR) {
		const CK_AES_CTR_PARAMS *cp = m->pParameter;
		if (cp == NULL || m->ulParameterLen != sizeof(*cp) ||
		    cp->ulCounterBits == 0 || cp->ulCounterBits > 128)
			return CKR_MECHANISM_PARAM_INVALID;
		ivp = cp->cb;
	} else if (iv) {
		if (m->pParameter == NULL || m->ulParameterLen != block)
			return CKR_MECHANISM_PARAM_INVALID;
		ivp = m->pParameter;
	} else if (m->ulParameterLen != 0 && !(m->mechanism ==
	    CKM_AES_KEY_WRAP || m->mechanism == CKM_AES_KEY_WRAP_PAD))
		return CKR_MECHANISM_PARAM_INVALID;
	else if (m->ulParameterLen != 0) {
		/* RFC 3394 / 5649: only the default IV is offered */
		return CKR_MECHANISM_PARAM_INVALID;
	}
	rv = CKR_HOST_MEMORY;
	if ((c = EVP_CIPHER_fetch(p11_libctx(), name, NULL)) == NULL) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if ((op->cctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	rv = CKR_FUNCTION_FAILED;
	if (m->mechanism == CKM_AES_GCM) {
		const CK_GCM_PARAMS *gp = m->pParameter;
		size_t ivl = gp->ulIvLen;
		OSSL_PARAM prm[2] = { OSSL_PARAM_construct_size_t(
		    OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivl), OSSL_PARAM_construct_end() };
		if (EVP_CipherInit_ex2(op->cctx, c, NULL, NULL, enc ? 1 : 0,
		    prm) != 1 || EVP_CipherInit_ex2(op->cctx, NULL, v->pValue,
		    ivp, enc ? 1 : 0, NULL) != 1)
			goto out;
	} else if (EVP_CipherInit_ex2(op->cctx, c, v->pValue, ivp, enc ? 1 : 0,
	    NULL) != 1 || EVP_CIPHER_CTX_set_padding(op->cctx, pad) != 1)
		goto out;
	op->block = block;
	op->pad = pad;
	op->enc = enc;
	op->pending = 0;
	op->soft = true;
	rv = CKR_OK;
out:
	EVP_CIPHER_free(c);
	return rv;
}

static CK_RV cipher_steps(p11_op *op, const uint8_t *in, size_t len,
    uint8_t *out, CK_ULONG *out_len, int step);

static bool
is_wrap_mode(const p11_op *op)
{
	return op->mech == CKM_AES_KEY_WRAP || op->mech == CKM_AES_KEY_WRAP_PAD;
}

/* output of a one-part operation, exact except for padded decryption */
static CK_RV
one_part_len(const p11_op *op, size_t len, size_t *need)
{
	size_t bs = op->block;

	if (is_wrap_mode(op)) {
		if (op->mech == CKM_AES_KEY_WRAP && (len % 8 != 0 ||
		    len < (op->enc ? 16 : 24)))
			return op->enc ? CKR_DATA_LEN_RANGE :
			    CKR_ENCRYPTED_DATA_LEN_RANGE;
		if (!op->enc && (len < 16 || len % 8 != 0))
			return CKR_ENCRYPTED_DATA_LEN_RANGE;
		if (op->enc && len == 0)
			return CKR_DATA_LEN_RANGE;
		*need = op->enc ? ((len + 7) / 8) * 8 + 8 : len - 8;
		return CKR_OK;
	}
	if (op->pad && op->enc) {
		*need = (len / bs + 1) * bs;
		return CKR_OK;
	}
	if (len % bs != 0 || (op->pad && len == 0))
		return op->enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
	*need = len;
	return CKR_OK;
}

static size_t
update_len(const p11_op *op, size_t len)
{
	size_t total = op->pending + len, bs = op->block, out;

	out = (total / bs) * bs;
	if (op->pad && !op->enc && total % bs == 0 && out > 0)
		out -= bs;	/* the last block may be padding */
	return out;
}

static CK_RV
run(EVP_CIPHER_CTX *c, const uint8_t *in, size_t len, uint8_t *out,
    size_t *out_len, bool final, bool enc, bool pad)
{
	int n1 = 0, n2 = 0;

	if (len > INT32_MAX)
		return CKR_DATA_LEN_RANGE;
	if (len > 0 && EVP_CipherUpdate(c, out, &n1, in, (int)len) != 1)
		return enc ? CKR_FUNCTION_FAILED : CKR_ENCRYPTED_DATA_INVALID;
	if (final && EVP_CipherFinal_ex(c, out + n1, &n2) != 1)
		return enc ? CKR_DATA_LEN_RANGE : pad ?
		    CKR_ENCRYPTED_DATA_INVALID : CKR_ENCRYPTED_DATA_LEN_RANGE;
	*out_len = (size_t)n1 + (size_t)n2;
	return CKR_OK;
}

/* AES-GCM in one part: ciphertext and tag, or the plaintext of a checked tag */
static CK_RV
gcm_one(p11_op *op, const uint8_t *in, size_t len, uint8_t *out,
    CK_ULONG *out_len)
{
	size_t tag = op->salt_len, need;
	int n = 0, f = 0;

	if (!op->enc && len < tag)
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	if (len > P11_MAX_INPUT)
		return CKR_DATA_LEN_RANGE;
	need = op->enc ? len + tag : len - tag;
	if (out == NULL) {
		*out_len = (CK_ULONG)need;
		return CKR_OK;
	}
	if (*out_len < need) {
		*out_len = (CK_ULONG)need;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (op->label_len > 0 && EVP_CipherUpdate(op->cctx, NULL, &n, op->label,
	    (int)op->label_len) != 1)
		return CKR_FUNCTION_FAILED;
	if (!op->enc && EVP_CIPHER_CTX_ctrl(op->cctx, EVP_CTRL_AEAD_SET_TAG,
	    (int)tag, (void *)(in + len - tag)) != 1)
		return CKR_FUNCTION_FAILED;
	n = 0;
	if (need - (op->enc ? tag : 0) > 0 && EVP_CipherUpdate(op->cctx, out, &n,
	    in, (int)(op->enc ? len : len - tag)) != 1)
		return CKR_FUNCTION_FAILED;
	if (EVP_CipherFinal_ex(op->cctx, out + n, &f) != 1) {
		/* a wrong tag: nothing of the plaintext is given */
		sodium_memzero(out, need);
		return CKR_ENCRYPTED_DATA_INVALID;
	}
	if (op->enc && EVP_CIPHER_CTX_ctrl(op->cctx, EVP_CTRL_AEAD_GET_TAG,
	    (int)tag, out + n + f) != 1)
		return CKR_FUNCTION_FAILED;
	*out_len = (CK_ULONG)need;
	return CKR_OK;
}

CK_RV
p11_soft_cipher(p11_op *op, const uint8_t *in, size_t len, uint8_t *out,
    CK_ULONG *out_len, int step)
{
	if (op->mech == CKM_AES_GCM) {
		/* multi-part: the parts are kept and the whole done at the end,
		 * so no plaintext leaves before its tag is checked */
		if (step == 0)
			return gcm_one(op, in, len, out, out_len);
		if (step == 1) {
			uint8_t *grown;
			if (len > P11_MAX_INPUT || op->len > P11_MAX_INPUT - len)
				return CKR_DATA_LEN_RANGE;
			if (len > 0) {
				if ((grown = realloc(op->buf, op->len + len)) == NULL)
					return CKR_HOST_MEMORY;
				op->buf = grown;
				memcpy(op->buf + op->len, in, len);
				op->len += len;
			}
			*out_len = 0;
			return CKR_OK;
		}
		return gcm_one(op, op->buf != NULL ? op->buf : (const uint8_t *)"",
		    op->len, out, out_len);
	}
	return cipher_steps(op, in, len, out, out_len, step);
}

static CK_RV
cipher_steps(p11_op *op, const uint8_t *in, size_t len, uint8_t *out,
    CK_ULONG *out_len, int step)
{
	uint8_t *tmp = NULL;
	size_t need = 0, got = 0;
	EVP_CIPHER_CTX *dup = NULL;
	CK_RV rv;

	if (step == 0) {
		if ((rv = one_part_len(op, len, &need)) != CKR_OK)
			return rv;
		if (out == NULL) {
			*out_len = (CK_ULONG)need;
			return CKR_OK;
		}
		if (op->pad && !op->enc) {
			/* the exact size is known after decryption: on a copy */
			rv = CKR_HOST_MEMORY;
			if ((tmp = malloc(need + op->block)) == NULL ||
			    (dup = EVP_CIPHER_CTX_new()) == NULL ||
			    EVP_CIPHER_CTX_copy(dup, op->cctx) != 1)
				goto out;
			if ((rv = run(dup, in, len, tmp, &got, true, false,
			    true)) != CKR_OK)
				goto out;
			if (*out_len < got) {
				*out_len = (CK_ULONG)got;
				rv = CKR_BUFFER_TOO_SMALL;
				goto out;
			}
			memcpy(out, tmp, got);
			*out_len = (CK_ULONG)got;
			goto out;
		}
		if (*out_len < need) {
			*out_len = (CK_ULONG)need;
			return CKR_BUFFER_TOO_SMALL;
		}
		rv = run(op->cctx, in, len, out, &got, true, op->enc, op->pad);
		if (rv == CKR_OK)
			*out_len = (CK_ULONG)got;
		return rv;
	}
	if (is_wrap_mode(op))
		return CKR_FUNCTION_NOT_SUPPORTED;
	if (step == 1) {
		need = update_len(op, len);
		if (out == NULL) {
			*out_len = (CK_ULONG)need;
			return CKR_OK;
		}
		if (*out_len < need) {
			*out_len = (CK_ULONG)need;
			return CKR_BUFFER_TOO_SMALL;
		}
		rv = run(op->cctx, in, len, out, &got, false, op->enc, op->pad);
		if (rv == CKR_OK) {
			op->pending = op->pending + len - got;
			*out_len = (CK_ULONG)got;
		}
		return rv;
	}
	/* final */
	if (!op->pad && op->pending % op->block != 0)
		return op->enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
	if (op->pad && !op->enc && op->pending != op->block)
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	need = op->pad ? op->block : 0;
	if (out == NULL) {
		*out_len = (CK_ULONG)need;
		return CKR_OK;
	}
	if (op->pad && !op->enc) {
		uint8_t last[32];
		rv = CKR_HOST_MEMORY;
		if ((dup = EVP_CIPHER_CTX_new()) == NULL ||
		    EVP_CIPHER_CTX_copy(dup, op->cctx) != 1)
			goto out;
		if ((rv = run(dup, NULL, 0, last, &got, true, false, true)) != CKR_OK)
			goto out;
		if (*out_len < got) {
			*out_len = (CK_ULONG)got;
			rv = CKR_BUFFER_TOO_SMALL;
			goto out;
		}
		memcpy(out, last, got);
		sodium_memzero(last, sizeof(last));
		*out_len = (CK_ULONG)got;
		goto out;
	}
	if (*out_len < need) {
		*out_len = (CK_ULONG)need;
		return CKR_BUFFER_TOO_SMALL;
	}
	rv = run(op->cctx, NULL, 0, out, &got, true, op->enc, op->pad);
	if (rv == CKR_OK)
		*out_len = (CK_ULONG)got;
	return rv;
out:
	EVP_CIPHER_CTX_free(dup);
	if (tmp != NULL)
		sodium_memzero(tmp, need + op->block);
	free(tmp);
	return rv;
}

/* C_WrapKey / C_UnwrapKey: one-part encryption of a key value */
CK_RV
p11_soft_wrap(const p11_object *wkey, const CK_MECHANISM *m,
    const uint8_t *in, size_t len, uint8_t *out, CK_ULONG *out_len, bool wrap)
{
	p11_op op;
	CK_RV rv;

	memset(&op, 0, sizeof(op));
	op.mech = m->mechanism;
	if ((rv = p11_soft_cipher_init(&op, wkey, m, wrap)) != CKR_OK)
		goto out;
	rv = p11_soft_cipher(&op, in, len, out, out_len, 0);
out:
	p11_soft_op_free(&op);
	return rv;
}

/* ---- HMAC (RFC 2104) ---- */

static const char *
hmac_digest(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_MD5_HMAC:
		return "MD5";
	case CKM_SHA_1_HMAC:
		return "SHA1";
	case CKM_SHA224_HMAC:
		return "SHA224";
	case CKM_SHA256_HMAC:
		return "SHA256";
	case CKM_SHA384_HMAC:
		return "SHA384";
	case CKM_SHA512_HMAC:
		return "SHA512";
	default:
		return NULL;
	}
}

/* ---- SM4 CBC-MAC: SM4-CBC, zero IV, the last block (GM/T 0016 7.6.38) ---- */

bool
p11_soft_is_mac(const p11_op *op)
{
	return op->mac != NULL ||
	    (op->mech == CKM_WK_SM4_MAC && op->cctx != NULL);
}

static CK_RV
cbcmac_init(p11_op *op, const p11_object *key)
{
	static const uint8_t zero[16];
	const CK_ATTRIBUTE *v = p11_attr_find(key, CKA_VALUE), *a;
	EVP_CIPHER *c = NULL;
	CK_KEY_TYPE kt;
	CK_RV rv = CKR_KEY_TYPE_INCONSISTENT;

	a = p11_attr_find(key, CKA_KEY_TYPE);
	if (key->cls != CKO_SECRET_KEY || v == NULL || a == NULL ||
	    a->ulValueLen != sizeof(kt))
		return rv;
	memcpy(&kt, a->pValue, sizeof(kt));
	if (kt != CKK_WK_SM4 || !p11_secret_len_ok(kt, v->ulValueLen))
		return rv;
	rv = CKR_HOST_MEMORY;
	if ((c = EVP_CIPHER_fetch(p11_libctx(), "SM4-CBC", NULL)) == NULL ||
	    (op->cctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	rv = CKR_FUNCTION_FAILED;
	if (EVP_EncryptInit_ex2(op->cctx, c, v->pValue, zero, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(op->cctx, 0) != 1)
		goto out;
	op->mech = CKM_WK_SM4_MAC;
	op->mac_total = 0;
	op->soft = true;
	rv = CKR_OK;
out:
	EVP_CIPHER_free(c);
	return rv;
}

static CK_RV
cbcmac_update(p11_op *op, const uint8_t *in, size_t len)
{
	uint8_t *tmp;
	int n = 0;
	CK_RV rv = CKR_FUNCTION_FAILED;

	if (len == 0)
		return CKR_OK;
	if (len > INT32_MAX - 16)
		return CKR_DATA_LEN_RANGE;
	if ((tmp = malloc(len + 16)) == NULL)
		return CKR_HOST_MEMORY;
	if (EVP_EncryptUpdate(op->cctx, tmp, &n, in, (int)len) == 1) {
		/* the chain's newest block is the MAC so far */
		if (n >= 16)
			memcpy(op->cbc_last, tmp + n - 16, 16);
		op->mac_total += len;
		rv = CKR_OK;
	}
	sodium_memzero(tmp, len + 16);
	free(tmp);
	return rv;
}

/* zero bytes up to a whole block (none when whole); no data: no MAC */
static CK_RV
cbcmac_final(p11_op *op, uint8_t *out, size_t *out_len)
{
	static const uint8_t zero[16];
	size_t part = op->mac_total % 16;
	CK_RV rv;

	if (op->mac_total == 0)
		return CKR_DATA_LEN_RANGE;
	if (*out_len < 16)
		return CKR_BUFFER_TOO_SMALL;
	if (part != 0 && (rv = cbcmac_update(op, zero, 16 - part)) != CKR_OK)
		return rv;
	memcpy(out, op->cbc_last, 16);
	sodium_memzero(op->cbc_last, sizeof(op->cbc_last));
	*out_len = 16;
	return CKR_OK;
}

CK_RV
p11_soft_mac_init(p11_op *op, const p11_object *key, CK_MECHANISM_TYPE m)
{
	const CK_ATTRIBUTE *v = p11_attr_find(key, CKA_VALUE);
	const char *md = hmac_digest(m);
	EVP_MAC *mac = NULL;
	OSSL_PARAM params[2];
	CK_RV rv = CKR_KEY_TYPE_INCONSISTENT;

	if (m == CKM_WK_SM4_MAC)
		return cbcmac_init(op, key);
	if (md == NULL)
		return CKR_MECHANISM_INVALID;
	if (key->cls != CKO_SECRET_KEY || v == NULL || v->ulValueLen == 0)
		return rv;
	rv = CKR_HOST_MEMORY;
	if ((mac = EVP_MAC_fetch(p11_libctx(), "HMAC", NULL)) == NULL ||
	    (op->mac = EVP_MAC_CTX_new(mac)) == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	rv = CKR_FUNCTION_FAILED;
	if (EVP_MAC_init(op->mac, v->pValue, v->ulValueLen, params) != 1)
		goto out;
	op->soft = true;
	rv = CKR_OK;
out:
	EVP_MAC_free(mac);
	return rv;
}

CK_RV
p11_soft_mac_update(p11_op *op, const uint8_t *in, size_t len)
{
	if (op->mac == NULL)
		return cbcmac_update(op, in, len);
	return len == 0 || EVP_MAC_update(op->mac, in, len) == 1 ? CKR_OK :
	    CKR_FUNCTION_FAILED;
}

size_t
p11_soft_mac_len(const p11_op *op)
{
	if (op->mac == NULL)
		return 16;
	return EVP_MAC_CTX_get_mac_size(op->mac);
}

CK_RV
p11_soft_mac_final(p11_op *op, uint8_t *out, size_t *out_len)
{
	size_t n = *out_len;

	if (op->mac == NULL)
		return cbcmac_final(op, out, out_len);
	if (EVP_MAC_final(op->mac, out, &n, n) != 1)
		return CKR_FUNCTION_FAILED;
	*out_len = n;
	return CKR_OK;
}
