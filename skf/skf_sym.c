/*
 * GM/T 0016 7.6 cryptographic services with SM4 and SM3, computed by the
 * card: session keys the caller gives, block ciphers, digests, MACs, and
 * closing a session's handle. Keys SM2 wraps are skf_sm2.c's.
 */
#include "skf_int.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* ---- session keys ---- */

ULONG DEVAPI
SKF_SetSymmKey(DEVHANDLE hDev, BYTE *pbKey, ULONG ulAlgID, HANDLE *phKey)
{
	skf_obj *d, *k;
	uint32_t h;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pbKey == NULL || phKey == NULL)
		return SAR_INVALIDPARAMERR;
	if (!skf_sym_alg_ok(ulAlgID))
		return SAR_NOTSUPPORTYETERR;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) == NULL)
		goto out;
	if ((rc = wk_gm_key_set(d->gm, ulAlgID, pbKey, &h)) != WK_OK) {
		r = skf_sar(d, rc);
		goto out;
	}
	if ((k = skf_sess_new(d, SKF_KEY, h, ulAlgID)) == NULL) {
		r = SAR_MEMORYERR;
		goto out;
	}
	*phKey = k;
	r = SAR_OK;
out:
	skf_unlock();
	return r;
}

static bool
block_mode(uint32_t alg)
{
	return alg == SGD_SMS4_ECB || alg == SGD_SMS4_CBC;
}

static ULONG
cipher_init(HANDLE hKey, const BLOCKCIPHERPARAM *p, int op)
{
	skf_obj *k;
	ULONG r = SAR_INVALIDHANDLEERR;
	bool iv = false;
	int rc;

	skf_lock();
	if ((k = skf_get(hKey, SKF_KEY)) == NULL)
		goto out;
	r = SAR_INVALIDPARAMERR;
	if (k->alg == SGD_SMS4_MAC) {
		r = SAR_KEYUSAGEERR;
		goto out;
	}
	if (p->PaddingType > 1 || (p->PaddingType == 1 && !block_mode(k->alg)))
		goto out;
	if (k->alg != SGD_SMS4_ECB) {
		if (p->IVLen != 16)
			goto out;
		iv = true;
	}
	if (k->alg == SGD_SMS4_CFB && p->FeedBitLen != 0 && p->FeedBitLen != 128)
		goto out;
	rc = wk_gm_cipher_init(k->dev->gm, k->handle, op, iv ? p->IV : NULL,
	    iv ? 16 : 0, p->PaddingType == 1, NULL);
	if (rc == WK_OK) {
		k->op = op;
		k->padding = p->PaddingType == 1;
		k->held = 0;
	}
	r = skf_sess_sar(k->dev, rc);
out:
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_EncryptInit(HANDLE hKey, BLOCKCIPHERPARAM EncryptParam)
{
	return cipher_init(hKey, &EncryptParam, WK_GM_OP_ENCRYPT);
}

ULONG DEVAPI
SKF_DecryptInit(HANDLE hKey, BLOCKCIPHERPARAM DecryptParam)
{
	return cipher_init(hKey, &DecryptParam, WK_GM_OP_DECRYPT);
}

/* the most a step can return: what the caller's buffer must hold */
static size_t
cipher_bound(const skf_obj *k, int step, size_t len)
{
	size_t all = k->held + len;

	if (!block_mode(k->alg))
		return len;
	if (step == WK_GM_STEP_UPDATE)
		return all - all % 16;
	if (k->op == WK_GM_OP_ENCRYPT && k->padding)
		return all - all % 16 + 16;
	return all;
}

static ULONG
cipher_step(HANDLE hKey, int op, int step, BYTE *in, ULONG len, BYTE *out,
    ULONG *out_len)
{
	skf_obj *k;
	size_t bound, n;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if ((in == NULL && len > 0) || out_len == NULL)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((k = skf_get(hKey, SKF_KEY)) == NULL)
		goto out;
	if (k->op != op) {
		r = SAR_NOTINITIALIZEERR;
		goto out;
	}
	if (step == WK_GM_STEP_ONCE)
		k->held = 0;
	bound = cipher_bound(k, step, len);
	/* whole blocks without padding: refused here, the operation goes on */
	if (block_mode(k->alg) && !k->padding && step != WK_GM_STEP_UPDATE &&
	    (k->held + len) % 16 != 0) {
		r = SAR_INDATALENERR;
		goto out;
	}
	if (out == NULL || *out_len < bound) {
		r = out == NULL ? SAR_OK : SAR_BUFFER_TOO_SMALL;
		*out_len = (ULONG)bound;
		goto out;
	}
	n = *out_len;
	rc = wk_gm_process(k->dev->gm, k->handle, step, in, len, out, &n);
	if (rc == WK_OK) {
		*out_len = (ULONG)n;
		k->held = k->held + len - n;
		if (step != WK_GM_STEP_UPDATE)
			k->op = 0;
	} else {
		k->op = 0;
	}
	if (rc == WK_ERR_BAD_DATA)
		r = op == WK_GM_OP_DECRYPT && k->padding ? SAR_DECRYPTPADERR :
		    SAR_INDATALENERR;
	else
		r = skf_sess_sar(k->dev, rc);
out:
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_Encrypt(HANDLE hKey, BYTE *pbData, ULONG ulDataLen, BYTE *pbEncryptedData,
    ULONG *pulEncryptedLen)
{
	return cipher_step(hKey, WK_GM_OP_ENCRYPT, WK_GM_STEP_ONCE, pbData,
	    ulDataLen, pbEncryptedData, pulEncryptedLen);
}

ULONG DEVAPI
SKF_EncryptUpdate(HANDLE hKey, BYTE *pbData, ULONG ulDataLen,
    BYTE *pbEncryptedData, ULONG *pulEncryptedLen)
{
	return cipher_step(hKey, WK_GM_OP_ENCRYPT, WK_GM_STEP_UPDATE, pbData,
	    ulDataLen, pbEncryptedData, pulEncryptedLen);
}

ULONG DEVAPI
SKF_EncryptFinal(HANDLE hKey, BYTE *pbEncryptedData, ULONG *pulEncryptedDataLen)
{
	return cipher_step(hKey, WK_GM_OP_ENCRYPT, WK_GM_STEP_FINAL, NULL, 0,
	    pbEncryptedData, pulEncryptedDataLen);
}

ULONG DEVAPI
SKF_Decrypt(HANDLE hKey, BYTE *pbEncryptedData, ULONG ulEncryptedLen,
    BYTE *pbData, ULONG *pulDataLen)
{
	return cipher_step(hKey, WK_GM_OP_DECRYPT, WK_GM_STEP_ONCE,
	    pbEncryptedData, ulEncryptedLen, pbData, pulDataLen);
}

ULONG DEVAPI
SKF_DecryptUpdate(HANDLE hKey, BYTE *pbEncryptedData, ULONG ulEncryptedLen,
    BYTE *pbData, ULONG *pulDataLen)
{
	return cipher_step(hKey, WK_GM_OP_DECRYPT, WK_GM_STEP_UPDATE,
	    pbEncryptedData, ulEncryptedLen, pbData, pulDataLen);
}

ULONG DEVAPI
SKF_DecryptFinal(HANDLE hKey, BYTE *pbDecryptedData, ULONG *pulDecryptedDataLen)
{
	return cipher_step(hKey, WK_GM_OP_DECRYPT, WK_GM_STEP_FINAL, NULL, 0,
	    pbDecryptedData, pulDecryptedDataLen);
}

/* ---- digests ---- */

ULONG DEVAPI
SKF_DigestInit(DEVHANDLE hDev, ULONG ulAlgID, ECCPUBLICKEYBLOB *pPubKey,
    BYTE *pucID, ULONG ulIDLen, HANDLE *phHash)
{
	uint8_t pub[64];
	skf_obj *d, *o;
	uint32_t h;
	bool z = pPubKey != NULL;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (phHash == NULL)
		return SAR_INVALIDPARAMERR;
	if (ulAlgID != SGD_SM3 && ulAlgID != SGD_SHA1 && ulAlgID != SGD_SHA256)
		return SAR_NOTSUPPORTYETERR;
	/* with a public key (SM3 only) the Z value comes first; no id: the
	 * default one */
	if (z && (ulAlgID != SGD_SM3 || !skf_pub_in(pPubKey, pub) ||
	    ulIDLen > WK_GM_ID_MAX || (ulIDLen > 0 && pucID == NULL)))
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) == NULL)
		goto out;
	rc = wk_gm_digest_init(d->gm, ulAlgID, z ? pub : NULL,
	    z && ulIDLen > 0 ? pucID : NULL, ulIDLen, &h);
	if (rc != WK_OK) {
		r = skf_sar(d, rc);
		goto out;
	}
	if ((o = skf_sess_new(d, SKF_HASH, h, ulAlgID)) == NULL) {
		r = SAR_MEMORYERR;
		goto out;
	}
	o->hash_len = ulAlgID == SGD_SHA1 ? 20 : 32;
	o->op = 1;
	*phHash = o;
	r = SAR_OK;
out:
	skf_unlock();
	return r;
}

/*
 * a step of a hash or MAC session, whose last step gives a result of a
 * fixed length: the session initialised, the two-call convention for the
 * result, the card's step; the session ends after its last step or a
 * failure
 */
typedef struct result_kind {
	enum skf_kind kind;
	size_t cap;	/* the most the card may answer a step */
	size_t len;	/* the result's length; 0: the session's hash_len */
	size_t block;	/* a one-shot call's input is whole blocks of it */
	ULONG (*sar)(const skf_obj *o, int rc);
} result_kind;

static ULONG
result_call(const result_kind *rk, HANDLE h, int step, BYTE *in, ULONG len,
    BYTE *out, ULONG *out_len)
{
	uint8_t res[32];
	size_t n = rk->cap < sizeof(res) ? rk->cap : sizeof(res), want;
	skf_obj *o;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (in == NULL && len > 0)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((o = skf_get(h, rk->kind)) == NULL)
		goto out;
	if (o->op == 0) {
		r = SAR_NOTINITIALIZEERR;
		goto out;
	}
	if (step == WK_GM_STEP_ONCE && len % rk->block != 0) {
		r = SAR_INDATALENERR;
		goto out;
	}
	want = rk->len != 0 ? rk->len : o->hash_len;
	if (step != WK_GM_STEP_UPDATE) {
		if (out_len == NULL) {
			r = SAR_INVALIDPARAMERR;
			goto out;
		}
		if (out == NULL || *out_len < want) {
			r = out == NULL ? SAR_OK : SAR_BUFFER_TOO_SMALL;
			*out_len = (ULONG)want;
			goto out;
		}
	}
	rc = wk_gm_process(o->dev->gm, o->handle, step, in, len, res, &n);
	if (rc == WK_OK && step != WK_GM_STEP_UPDATE) {
		if (n != want)
			rc = WK_ERR_CARD_MALFORMED;
		else {
			memcpy(out, res, n);
			*out_len = (ULONG)n;
		}
	}
	if (rc != WK_OK || step != WK_GM_STEP_UPDATE)
		o->op = 0;
	r = rk->sar(o, rc);
out:
	sodium_memzero(res, sizeof(res));
	skf_unlock();
	return r;
}

static ULONG
digest_sar(const skf_obj *o, int rc)
{
	(void)o;
	return rc == WK_OK ? SAR_OK : rc == WK_ERR_CONDITIONS ?
	    SAR_NOTINITIALIZEERR : rc == WK_ERR_NOT_FOUND ? SAR_HASHOBJERR :
	    SAR_HASHERR;
}

static const result_kind digest_kind = {
	.kind = SKF_HASH,
	.cap = 32,
	.len = 0,
	.block = 1,
	.sar = digest_sar,
};

static ULONG
digest_step(HANDLE hHash, int step, BYTE *in, ULONG len, BYTE *out,
    ULONG *out_len)
{
	return result_call(&digest_kind, hHash, step, in, len, out, out_len);
}

ULONG DEVAPI
SKF_Digest(HANDLE hHash, BYTE *pbData, ULONG ulDataLen, BYTE *pbHashData,
    ULONG *pulHashLen)
{
	return digest_step(hHash, WK_GM_STEP_ONCE, pbData, ulDataLen, pbHashData,
	    pulHashLen);
}

ULONG DEVAPI
SKF_DigestUpdate(HANDLE hHash, BYTE *pbData, ULONG ulDataLen)
{
	return digest_step(hHash, WK_GM_STEP_UPDATE, pbData, ulDataLen, NULL,
	    NULL);
}

ULONG DEVAPI
SKF_DigestFinal(HANDLE hHash, BYTE *pHashData, ULONG *pulHashLen)
{
	return digest_step(hHash, WK_GM_STEP_FINAL, NULL, 0, pHashData,
	    pulHashLen);
}

/* ---- MACs: CBC-MAC over whole blocks, no padding inside (7.6.38) ---- */

ULONG DEVAPI
SKF_MacInit(HANDLE hKey, BLOCKCIPHERPARAM *pMacParam, HANDLE *phMac)
{
	skf_obj *k, *m;
	uint32_t h;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pMacParam == NULL || phMac == NULL)
		return SAR_INVALIDPARAMERR;
	if ((pMacParam->IVLen != 0 && pMacParam->IVLen != 16) ||
	    pMacParam->PaddingType != 0)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((k = skf_get(hKey, SKF_KEY)) == NULL)
		goto out;
	rc = wk_gm_cipher_init(k->dev->gm, k->handle, WK_GM_OP_MAC,
	    pMacParam->IVLen == 16 ? pMacParam->IV : NULL,
	    pMacParam->IVLen == 16 ? 16 : 0, false, &h);
	if (rc != WK_OK) {
		r = skf_sess_sar(k->dev, rc);
		goto out;
	}
	if ((m = skf_sess_new(k->dev, SKF_MAC, h, SGD_SMS4_MAC)) == NULL) {
		r = SAR_MEMORYERR;
		goto out;
	}
	m->op = WK_GM_OP_MAC;
	*phMac = m;
	r = SAR_OK;
out:
	skf_unlock();
	return r;
}

static ULONG
mac_sar(const skf_obj *m, int rc)
{
	return rc == WK_ERR_WRONG_LENGTH ? SAR_INDATALENERR :
	    skf_sess_sar(m->dev, rc);
}

/* a one-shot MAC takes whole blocks (7.6.38) */
static const result_kind mac_kind = {
	.kind = SKF_MAC,
	.cap = 16,
	.len = 16,
	.block = 16,
	.sar = mac_sar,
};

static ULONG
mac_step(HANDLE hMac, int step, BYTE *in, ULONG len, BYTE *out, ULONG *out_len)
{
	return result_call(&mac_kind, hMac, step, in, len, out, out_len);
}

ULONG DEVAPI
SKF_Mac(HANDLE hMac, BYTE *pbData, ULONG ulDataLen, BYTE *pbMacData,
    ULONG *pulMacLen)
{
	return mac_step(hMac, WK_GM_STEP_ONCE, pbData, ulDataLen, pbMacData,
	    pulMacLen);
}

ULONG DEVAPI
SKF_MacUpdate(HANDLE hMac, BYTE *pbData, ULONG ulDataLen)
{
	return mac_step(hMac, WK_GM_STEP_UPDATE, pbData, ulDataLen, NULL, NULL);
}

ULONG DEVAPI
SKF_MacFinal(HANDLE hMac, BYTE *pbMacData, ULONG *pulMacDataLen)
{
	return mac_step(hMac, WK_GM_STEP_FINAL, NULL, 0, pbMacData,
	    pulMacDataLen);
}

ULONG DEVAPI
SKF_CloseHandle(HANDLE hHandle)
{
	skf_obj *o;
	ULONG r = SAR_INVALIDHANDLEERR;

	skf_lock();
	if ((o = skf_get_session(hHandle)) != NULL) {
		/* the card may have dropped it already (reset): fine */
		(void)wk_gm_close(o->dev->gm, o->handle);
		skf_free(o);
		r = SAR_OK;
	}
	skf_unlock();
	return r;
}
