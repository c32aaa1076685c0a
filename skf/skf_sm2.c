/*
 * GM/T 0016 7.6 cryptographic services with SM2, computed by the card: key
 * pairs in containers, signatures, encryption with keys the caller gives,
 * key agreement, and the session keys SM2 wraps. RSA is not a GM
 * container's algorithm here (AlgAsymCap has no SGD_RSA; RSA keys live in
 * the PIV applet): those calls answer SAR_NOTSUPPORTYETERR. The symmetric
 * side (SM4 session keys, digests, MACs) is skf_sym.c.
 */
#include "skf_int.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define BLOB_HDR (64 + 64 + 32 + 4)	/* ECCCIPHERBLOB before Cipher */

/* ---- RSA: not here ---- */

/* RSA is not offered: SAR_NOTSUPPORTYETERR for a live handle of KIND */
static ULONG
rsa_unsupported(HANDLE h, enum skf_kind kind)
{
	ULONG r;

	skf_lock();
	r = skf_get(h, kind) != NULL ? SAR_NOTSUPPORTYETERR :
	    SAR_INVALIDHANDLEERR;
	skf_unlock();
	return r;
}

static ULONG
rsa_cont(HCONTAINER h)
{
	return rsa_unsupported(h, SKF_CONT);
}

static ULONG
rsa_dev(DEVHANDLE h)
{
	return rsa_unsupported(h, SKF_DEV);
}

ULONG DEVAPI
SKF_GenExtRSAKey(DEVHANDLE hDev, ULONG ulBitsLen, RSAPRIVATEKEYBLOB *pBlob)
{
	(void)ulBitsLen;
	(void)pBlob;
	return rsa_dev(hDev);
}

ULONG DEVAPI
SKF_GenRSAKeyPair(HCONTAINER hContainer, ULONG ulBitsLen,
    RSAPUBLICKEYBLOB *pBlob)
{
	(void)ulBitsLen;
	(void)pBlob;
	return rsa_cont(hContainer);
}

ULONG DEVAPI
SKF_ImportRSAKeyPair(HCONTAINER hContainer, ULONG ulSymAlgId,
    BYTE *pbWrappedKey, ULONG ulWrappedKeyLen, BYTE *pbEncryptedData,
    ULONG ulEncryptedDataLen)
{
	(void)ulSymAlgId;
	(void)pbWrappedKey;
	(void)ulWrappedKeyLen;
	(void)pbEncryptedData;
	(void)ulEncryptedDataLen;
	return rsa_cont(hContainer);
}

ULONG DEVAPI
SKF_RSASignData(HCONTAINER hContainer, BYTE *pbData, ULONG ulDataLen,
    BYTE *pbSignature, ULONG *pulSignLen)
{
	(void)pbData;
	(void)ulDataLen;
	(void)pbSignature;
	(void)pulSignLen;
	return rsa_cont(hContainer);
}

ULONG DEVAPI
SKF_RSAVerify(DEVHANDLE hDev, RSAPUBLICKEYBLOB *pRSAPubKeyBlob, BYTE *pbData,
    ULONG ulDataLen, BYTE *pbSignature, ULONG ulSignLen)
{
	(void)pRSAPubKeyBlob;
	(void)pbData;
	(void)ulDataLen;
	(void)pbSignature;
	(void)ulSignLen;
	return rsa_dev(hDev);
}

ULONG DEVAPI
SKF_RSAExportSessionKey(HCONTAINER hContainer, ULONG ulAlgId,
    RSAPUBLICKEYBLOB *pPubKey, BYTE *pbData, ULONG *pulDataLen,
    HANDLE *phSessionKey)
{
	(void)ulAlgId;
	(void)pPubKey;
	(void)pbData;
	(void)pulDataLen;
	(void)phSessionKey;
	return rsa_cont(hContainer);
}

ULONG DEVAPI
SKF_ExtRSAPubKeyOperation(DEVHANDLE hDev, RSAPUBLICKEYBLOB *pRSAPubKeyBlob,
    BYTE *pbInput, ULONG ulInputLen, BYTE *pbOutput, ULONG *pulOutputLen)
{
	(void)pRSAPubKeyBlob;
	(void)pbInput;
	(void)ulInputLen;
	(void)pbOutput;
	(void)pulOutputLen;
	return rsa_dev(hDev);
}

ULONG DEVAPI
SKF_ExtRSAPriKeyOperation(DEVHANDLE hDev, RSAPRIVATEKEYBLOB *pRSAPriKeyBlob,
    BYTE *pbInput, ULONG ulInputLen, BYTE *pbOutput, ULONG *pulOutputLen)
{
	(void)pRSAPriKeyBlob;
	(void)pbInput;
	(void)ulInputLen;
	(void)pbOutput;
	(void)pulOutputLen;
	return rsa_dev(hDev);
}

/* ---- SM2 in containers ---- */

ULONG DEVAPI
SKF_GenECCKeyPair(HCONTAINER hContainer, ULONG ulAlgId, ECCPUBLICKEYBLOB *pBlob)
{
	skf_obj *c;
	uint8_t pub[64];
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pBlob == NULL)
		return SAR_INVALIDPARAMERR;
	/* SGD_SM2_1 (GM/T 0016); GM/T 0006 numbers it 0x00020200 */
	if (ulAlgId != SGD_SM2_1 && ulAlgId != SGD_SM2_2)
		return SAR_NOTSUPPORTYETERR;
	skf_lock();
	if ((c = skf_get(hContainer, SKF_CONT)) != NULL) {
		rc = wk_gm_generate(c->dev->gm, c->app_id, c->obj_name, true, pub);
		if (rc == WK_OK)
			skf_pub_out(pub, pBlob);
		r = skf_sar(c->dev, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_ImportECCKeyPair(HCONTAINER hContainer, PENVELOPEDKEYBLOB pEnvelopedKeyBlob)
{
	const ENVELOPEDKEYBLOB *e = pEnvelopedKeyBlob;
	uint8_t pub[64], raw[96 + 16];
	skf_obj *c;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (e == NULL)
		return SAR_INVALIDPARAMERR;
	if (e->Version != 1 || e->ulBits != 256 || !skf_pub_in(&e->PubKey, pub) ||
	    !skf_field_in(e->ECCCipherBlob.XCoordinate, raw) ||
	    !skf_field_in(e->ECCCipherBlob.YCoordinate, raw + 32))
		return SAR_INVALIDPARAMERR;
	if (e->ulSymmAlgID != SGD_SMS4_ECB)
		return SAR_NOTSUPPORTYETERR;
	if (e->ECCCipherBlob.CipherLen != 16)
		return SAR_INDATALENERR;
	memcpy(raw + 64, e->ECCCipherBlob.HASH, 32);
	memcpy(raw + 96, e->ECCCipherBlob.Cipher, 16);
	skf_lock();
	if ((c = skf_get(hContainer, SKF_CONT)) != NULL) {
		/* the ciphertext of d is in the last 32 bytes */
		rc = wk_gm_import_enveloped(c->dev->gm, c->app_id, c->obj_name,
		    e->ulSymmAlgID, e->ulBits, e->cbEncryptedPriKey + 32, pub, raw,
		    sizeof(raw));
		r = skf_sar(c->dev, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_ECCSignData(HCONTAINER hContainer, BYTE *pbData, ULONG ulDataLen,
    PECCSIGNATUREBLOB pSignature)
{
	skf_obj *c;
	uint8_t sig[64];
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pbData == NULL || pSignature == NULL)
		return SAR_INVALIDPARAMERR;
	/* the input is e = SM3(Z || M) (GM/T 0016 7.6.13, GM/T 0009) */
	if (ulDataLen != 32)
		return SAR_INDATALENERR;
	skf_lock();
	if ((c = skf_get(hContainer, SKF_CONT)) != NULL) {
		rc = wk_gm_sign(c->dev->gm, c->app_id, c->obj_name, pbData, sig);
		if (rc == WK_OK) {
			memset(pSignature, 0, sizeof(*pSignature));
			skf_field_out(sig, pSignature->r);
			skf_field_out(sig + 32, pSignature->s);
		}
		r = skf_sar(c->dev, rc);
	}
	skf_unlock();
	return r;
}

static ULONG
verify(DEVHANDLE hDev, ECCPUBLICKEYBLOB *pub_blob, BYTE *data, ULONG len,
    PECCSIGNATUREBLOB sig_blob)
{
	uint8_t pub[64], sig[64];
	skf_obj *d;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pub_blob == NULL || data == NULL || sig_blob == NULL)
		return SAR_INVALIDPARAMERR;
	if (len != 32)
		return SAR_INDATALENERR;
	if (!skf_pub_in(pub_blob, pub) || !skf_field_in(sig_blob->r, sig) ||
	    !skf_field_in(sig_blob->s, sig + 32))
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) != NULL) {
		rc = wk_gm_verify(d->gm, pub, data, sig);
		/* a signature that does not verify: SAR_FAIL (docs/gm.md) */
		r = rc == WK_ERR_AUTH_FAILED ? SAR_FAIL : skf_sar(d, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_ECCVerify(DEVHANDLE hDev, ECCPUBLICKEYBLOB *pECCPubKeyBlob, BYTE *pbData,
    ULONG ulDataLen, PECCSIGNATUREBLOB pSignature)
{
	return verify(hDev, pECCPubKeyBlob, pbData, ulDataLen, pSignature);
}

ULONG DEVAPI
SKF_ExtECCVerify(DEVHANDLE hDev, ECCPUBLICKEYBLOB *pECCPubKeyBlob,
    BYTE *pbData, ULONG ulDataLen, PECCSIGNATUREBLOB pSignature)
{
	return verify(hDev, pECCPubKeyBlob, pbData, ulDataLen, pSignature);
}

static void
cipher_out(const uint8_t *raw, size_t n, PECCCIPHERBLOB out)
{
	skf_field_out(raw, out->XCoordinate);
	skf_field_out(raw + 32, out->YCoordinate);
	memcpy(out->HASH, raw + 64, 32);
	out->CipherLen = (ULONG)(n - 96);
	memcpy(out->Cipher, raw + 96, n - 96);
}

/* the raw form of a caller's ECCCIPHERBLOB; *raw is freed by the caller */
static ULONG
cipher_in(const ECCCIPHERBLOB *b, uint8_t **raw, size_t *n)
{
	if (b->CipherLen == 0 || b->CipherLen > WK_GM_DATA_MAX)
		return SAR_INDATALENERR;
	*n = 96 + b->CipherLen;
	if ((*raw = malloc(*n)) == NULL)
		return SAR_MEMORYERR;
	if (!skf_field_in(b->XCoordinate, *raw) ||
	    !skf_field_in(b->YCoordinate, *raw + 32)) {
		free(*raw);
		*raw = NULL;
		return SAR_INVALIDPARAMERR;
	}
	memcpy(*raw + 64, b->HASH, 32);
	memcpy(*raw + 96, b->Cipher, b->CipherLen);
	return SAR_OK;
}

ULONG DEVAPI
SKF_ECCExportSessionKey(HCONTAINER hContainer, ULONG ulAlgId,
    ECCPUBLICKEYBLOB *pPubKey, PECCCIPHERBLOB pData, HANDLE *phSessionKey)
{
	uint8_t pub[64], raw[112];
	skf_obj *c, *k;
	uint32_t h;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pPubKey == NULL || pData == NULL || phSessionKey == NULL)
		return SAR_INVALIDPARAMERR;
	if (!skf_sym_alg_ok(ulAlgId))
		return SAR_NOTSUPPORTYETERR;
	if (!skf_pub_in(pPubKey, pub))
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((c = skf_get(hContainer, SKF_CONT)) == NULL)
		goto out;
	if ((rc = wk_gm_key_wrap(c->dev->gm, c->app_id, c->obj_name, ulAlgId,
	    pub, raw, &h)) != WK_OK) {
		r = skf_sar(c->dev, rc);
		goto out;
	}
	if ((k = skf_sess_new(c->dev, SKF_KEY, h, ulAlgId)) == NULL) {
		r = SAR_MEMORYERR;
		goto out;
	}
	cipher_out(raw, sizeof(raw), pData);
	*phSessionKey = k;
	r = SAR_OK;
out:
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_ExtECCEncrypt(DEVHANDLE hDev, ECCPUBLICKEYBLOB *pECCPubKeyBlob,
    BYTE *pbPlainText, ULONG ulPlainTextLen, PECCCIPHERBLOB pCipherText)
{
	uint8_t pub[64], *raw = NULL;
	size_t n = 96 + (size_t)ulPlainTextLen;
	skf_obj *d;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pECCPubKeyBlob == NULL || pbPlainText == NULL || pCipherText == NULL)
		return SAR_INVALIDPARAMERR;
	if (ulPlainTextLen == 0 || ulPlainTextLen > WK_GM_DATA_MAX)
		return SAR_INDATALENERR;
	if (!skf_pub_in(pECCPubKeyBlob, pub))
		return SAR_INVALIDPARAMERR;
	if ((raw = malloc(n)) == NULL)
		return SAR_MEMORYERR;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) != NULL) {
		rc = wk_gm_encrypt(d->gm, pub, pbPlainText, ulPlainTextLen, raw, &n);
		if (rc == WK_OK && n == 96 + (size_t)ulPlainTextLen)
			cipher_out(raw, n, pCipherText);
		else if (rc == WK_OK)
			rc = WK_ERR_CARD_MALFORMED;
		r = rc == WK_ERR_BAD_DATA ? SAR_INVALIDPARAMERR : skf_sar(d, rc);
	}
	skf_unlock();
	free(raw);
	return r;
}

ULONG DEVAPI
SKF_ExtECCDecrypt(DEVHANDLE hDev, ECCPRIVATEKEYBLOB *pECCPriKeyBlob,
    PECCCIPHERBLOB pCipherText, BYTE *pbPlainText, ULONG *pulPlainTextLen)
{
	uint8_t d32[32], *raw = NULL;
	size_t n = 0, out;
	skf_obj *d;
	ULONG r;
	int rc;

	if (pECCPriKeyBlob == NULL || pCipherText == NULL ||
	    pulPlainTextLen == NULL)
		return SAR_INVALIDPARAMERR;
	if (pECCPriKeyBlob->BitLen != 256 ||
	    !skf_field_in(pECCPriKeyBlob->PrivateKey, d32))
		return SAR_INVALIDPARAMERR;
	if ((r = cipher_in(pCipherText, &raw, &n)) != SAR_OK)
		goto wipe;
	if (pbPlainText == NULL || *pulPlainTextLen < n - 96) {
		r = pbPlainText == NULL ? SAR_OK : SAR_BUFFER_TOO_SMALL;
		*pulPlainTextLen = (ULONG)(n - 96);
		goto wipe;
	}
	out = *pulPlainTextLen;
	skf_lock();
	r = SAR_INVALIDHANDLEERR;
	if ((d = skf_get(hDev, SKF_DEV)) != NULL) {
		rc = wk_gm_ext_decrypt(d->gm, d32, raw, n, pbPlainText, &out);
		if (rc == WK_OK)
			*pulPlainTextLen = (ULONG)out;
		r = rc == WK_ERR_BAD_DATA ? SAR_INDATAERR : skf_sar(d, rc);
	}
	skf_unlock();
wipe:
	free(raw);
	sodium_memzero(d32, sizeof(d32));
	return r;
}

ULONG DEVAPI
SKF_ExtECCSign(DEVHANDLE hDev, ECCPRIVATEKEYBLOB *pECCPriKeyBlob, BYTE *pbData,
    ULONG ulDataLen, PECCSIGNATUREBLOB pSignature)
{
	uint8_t d32[32], sig[64];
	skf_obj *d;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pECCPriKeyBlob == NULL || pbData == NULL || pSignature == NULL)
		return SAR_INVALIDPARAMERR;
	if (ulDataLen != 32)
		return SAR_INDATALENERR;
	if (pECCPriKeyBlob->BitLen != 256 ||
	    !skf_field_in(pECCPriKeyBlob->PrivateKey, d32))
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) != NULL) {
		rc = wk_gm_ext_sign(d->gm, d32, pbData, sig);
		if (rc == WK_OK) {
			memset(pSignature, 0, sizeof(*pSignature));
			skf_field_out(sig, pSignature->r);
			skf_field_out(sig + 32, pSignature->s);
		}
		r = rc == WK_ERR_BAD_DATA ? SAR_INVALIDPARAMERR : skf_sar(d, rc);
	}
	skf_unlock();
	sodium_memzero(d32, sizeof(d32));
	return r;
}

/* ---- SM2 key agreement ---- */

static bool
id_ok(const BYTE *id, ULONG len)
{
	return id != NULL && len > 0 && len <= WK_GM_ID_MAX;
}

ULONG DEVAPI
SKF_GenerateAgreementDataWithECC(HCONTAINER hContainer, ULONG ulAlgId,
    ECCPUBLICKEYBLOB *pTempECCPubKeyBlob, BYTE *pbID, ULONG ulIDLen,
    HANDLE *phAgreementHandle)
{
	uint8_t tmp[64];
	skf_obj *c, *o;
	uint32_t h;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pTempECCPubKeyBlob == NULL || phAgreementHandle == NULL ||
	    !id_ok(pbID, ulIDLen))
		return SAR_INVALIDPARAMERR;
	if (!skf_sym_alg_ok(ulAlgId))
		return SAR_NOTSUPPORTYETERR;
	skf_lock();
	if ((c = skf_get(hContainer, SKF_CONT)) == NULL)
		goto out;
	if ((rc = wk_gm_agree_start(c->dev->gm, c->app_id, c->obj_name, ulAlgId,
	    pbID, ulIDLen, &h, tmp)) != WK_OK) {
		r = skf_sar(c->dev, rc);
		goto out;
	}
	if ((o = skf_sess_new(c->dev, SKF_AGREE, h, ulAlgId)) == NULL) {
		r = SAR_MEMORYERR;
		goto out;
	}
	skf_pub_out(tmp, pTempECCPubKeyBlob);
	*phAgreementHandle = o;
	r = SAR_OK;
out:
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_GenerateAgreementDataAndKeyWithECC(HANDLE hContainer, ULONG ulAlgId,
    ECCPUBLICKEYBLOB *pSponsorECCPubKeyBlob,
    ECCPUBLICKEYBLOB *pSponsorTempECCPubKeyBlob,
    ECCPUBLICKEYBLOB *pTempECCPubKeyBlob, BYTE *pbID, ULONG ulIDLen,
    BYTE *pbSponsorID, ULONG ulSponsorIDLen, HANDLE *phKeyHandle)
{
	uint8_t sp[64], st[64], tmp[64];
	skf_obj *c, *k;
	uint32_t h;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pTempECCPubKeyBlob == NULL || phKeyHandle == NULL ||
	    !id_ok(pbID, ulIDLen) || !id_ok(pbSponsorID, ulSponsorIDLen) ||
	    !skf_pub_in(pSponsorECCPubKeyBlob, sp) ||
	    !skf_pub_in(pSponsorTempECCPubKeyBlob, st))
		return SAR_INVALIDPARAMERR;
	if (!skf_sym_alg_ok(ulAlgId))
		return SAR_NOTSUPPORTYETERR;
	skf_lock();
	if ((c = skf_get(hContainer, SKF_CONT)) == NULL)
		goto out;
	if ((rc = wk_gm_agree_respond(c->dev->gm, c->app_id, c->obj_name,
	    ulAlgId, sp, st, pbID, ulIDLen, pbSponsorID, ulSponsorIDLen, &h,
	    tmp)) != WK_OK) {
		r = rc == WK_ERR_BAD_DATA ? SAR_INVALIDPARAMERR : skf_sar(c->dev, rc);
		goto out;
	}
	if ((k = skf_sess_new(c->dev, SKF_KEY, h, ulAlgId)) == NULL) {
		r = SAR_MEMORYERR;
		goto out;
	}
	skf_pub_out(tmp, pTempECCPubKeyBlob);
	*phKeyHandle = k;
	r = SAR_OK;
out:
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_GenerateKeyWithECC(HANDLE hAgreementHandle,
    ECCPUBLICKEYBLOB *pECCPubKeyBlob, ECCPUBLICKEYBLOB *pTempECCPubKeyBlob,
    BYTE *pbID, ULONG ulIDLen, HANDLE *phKeyHandle)
{
	uint8_t pub[64], tmp[64];
	skf_obj *a, *k;
	uint32_t h;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (phKeyHandle == NULL || !id_ok(pbID, ulIDLen) ||
	    !skf_pub_in(pECCPubKeyBlob, pub) ||
	    !skf_pub_in(pTempECCPubKeyBlob, tmp))
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((a = skf_get(hAgreementHandle, SKF_AGREE)) == NULL)
		goto out;
	if ((rc = wk_gm_agree_finish(a->dev->gm, a->handle, pub, tmp, pbID,
	    ulIDLen, &h)) != WK_OK) {
		r = rc == WK_ERR_BAD_DATA ? SAR_INVALIDPARAMERR :
		    skf_sess_sar(a->dev, rc);
		goto out;
	}
	if ((k = skf_sess_new(a->dev, SKF_KEY, h, a->alg)) == NULL) {
		r = SAR_MEMORYERR;
		goto out;
	}
	*phKeyHandle = k;
	r = SAR_OK;
out:
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_ExportPublicKey(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbBlob,
    ULONG *pulBlobLen)
{
	ECCPUBLICKEYBLOB blob;
	uint8_t pub[64];
	skf_obj *c;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pulBlobLen == NULL)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((c = skf_get(hContainer, SKF_CONT)) == NULL)
		goto out;
	rc = wk_gm_public_key(c->dev->gm, c->app_id, c->obj_name,
	    bSignFlag != FALSE, pub);
	if (rc != WK_OK) {
		r = skf_sar(c->dev, rc);
		goto out;
	}
	memset(&blob, 0, sizeof(blob));
	skf_pub_out(pub, &blob);
	r = skf_size_out(pbBlob, pulBlobLen, (const uint8_t *)&blob, sizeof(blob));
out:
	skf_unlock();
	return r;
}

/* ---- session keys wrapped by SM2 ---- */

ULONG DEVAPI
SKF_ImportSessionKey(HCONTAINER hContainer, ULONG ulAlgId, BYTE *pbWrapedData,
    ULONG ulWrapedLen, HANDLE *phKey)
{
	ECCCIPHERBLOB hdr;
	uint8_t *raw = NULL;
	size_t n = 0;
	skf_obj *c, *k;
	uint32_t h;
	ULONG r;
	int rc;

	if (pbWrapedData == NULL || phKey == NULL)
		return SAR_INVALIDPARAMERR;
	if (!skf_sym_alg_ok(ulAlgId))
		return SAR_NOTSUPPORTYETERR;
	/* an ECCCIPHERBLOB laid out in memory, with its CipherLen bytes */
	if (ulWrapedLen < BLOB_HDR)
		return SAR_INDATALENERR;
	memcpy(&hdr, pbWrapedData, BLOB_HDR);
	if (hdr.CipherLen != 16 || ulWrapedLen < BLOB_HDR + hdr.CipherLen)
		return SAR_INDATALENERR;
	if ((raw = malloc(96 + 16)) == NULL)
		return SAR_MEMORYERR;
	if (!skf_field_in(hdr.XCoordinate, raw) ||
	    !skf_field_in(hdr.YCoordinate, raw + 32)) {
		free(raw);
		return SAR_INVALIDPARAMERR;
	}
	memcpy(raw + 64, hdr.HASH, 32);
	memcpy(raw + 96, pbWrapedData + BLOB_HDR, 16);
	n = 96 + 16;
	skf_lock();
	r = SAR_INVALIDHANDLEERR;
	if ((c = skf_get(hContainer, SKF_CONT)) == NULL)
		goto out;
	if ((rc = wk_gm_key_unwrap(c->dev->gm, c->app_id, c->obj_name, ulAlgId,
	    raw, n, &h)) != WK_OK) {
		r = rc == WK_ERR_BAD_DATA ? SAR_INDATAERR : skf_sar(c->dev, rc);
		goto out;
	}
	if ((k = skf_sess_new(c->dev, SKF_KEY, h, ulAlgId)) == NULL) {
		r = SAR_MEMORYERR;
		goto out;
	}
	*phKey = k;
	r = SAR_OK;
out:
	skf_unlock();
	free(raw);
	return r;
}
