/* PIV answers from the card into host structures, and request encodings */
#include "wk_piv_internal.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_tlv.h"

/*
 * public keys are built in the library's own OpenSSL context: an
 * application's engine set as default (libengine-pkcs11-openssl) would
 * otherwise take EVP_PKEY_fromdata over and fail it
 */
static OSSL_LIB_CTX *piv_ctx;

static void
piv_libctx_init(void)
{
	piv_ctx = OSSL_LIB_CTX_new();
}

__attribute__((destructor)) static void
piv_libctx_fini(void)
{
	OSSL_LIB_CTX_free(piv_ctx);
}

static OSSL_LIB_CTX *
piv_libctx(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, piv_libctx_init);
	return piv_ctx;
}

static int
spki_out(EVP_PKEY *pkey, uint8_t *spki, size_t *spki_len)
{
	unsigned char *p = spki;
	int n;

	n = i2d_PUBKEY(pkey, NULL);
	if (n <= 0)
		return WK_ERR_CRYPTO;
	if ((size_t)n > *spki_len) {
		*spki_len = (size_t)n;
		return WK_ERR_ARG;
	}
	if (i2d_PUBKEY(pkey, &p) != n)
		return WK_ERR_CRYPTO;
	*spki_len = (size_t)n;
	return WK_OK;
}

static EVP_PKEY *
pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(piv_libctx(), type, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static int
rsa_pubkey(uint8_t alg, const uint8_t *p, size_t len, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	wk_tlv tn, te;
	int rc = WK_ERR_CARD_MALFORMED;

	if (wk_tlv_check(p, len) != WK_TLV_OK ||
	    wk_tlv_find(p, len, 0x81, &tn) != WK_TLV_OK ||
	    wk_tlv_find(p, len, 0x82, &te) != WK_TLV_OK)
		goto out;
	if (tn.len == 0 || te.len == 0 || te.len > 8)
		goto out;
	rc = WK_ERR_MEMORY;
	if ((n = BN_bin2bn(tn.value, (int)tn.len, NULL)) == NULL ||
	    (e = BN_bin2bn(te.value, (int)te.len, NULL)) == NULL)
		goto out;
	rc = WK_ERR_CARD_MALFORMED;
	if ((unsigned)BN_num_bits(n) != wk_piv_alg_bits(alg) ||
	    !BN_is_odd(e) || BN_is_one(e))
		goto out;
	rc = WK_ERR_CRYPTO;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
		goto out;
	if ((*out = pkey_from_params("RSA", bld)) == NULL)
		goto out;
	rc = WK_OK;
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return rc;
}

static int
ec_pubkey(uint8_t alg, const uint8_t *pt, size_t len, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY_CTX *chk = NULL;
	EVP_PKEY *pkey = NULL;
	const char *group = alg == WK_PIV_ALG_ECCP256 ? "prime256v1" :
	    "secp384r1";
	int rc = WK_ERR_CARD_MALFORMED;

	if (len != 1 + 2 * wk_piv_alg_bytes(alg) || pt[0] != 0x04)
		goto out;
	rc = WK_ERR_CRYPTO;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    len) != 1)
		goto out;
	rc = WK_ERR_CARD_MALFORMED;
	if ((pkey = pkey_from_params("EC", bld)) == NULL)
		goto out;
	/* a point off the curve is a malformed answer, not a key */
	if ((chk = EVP_PKEY_CTX_new_from_pkey(piv_libctx(), pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(chk) != 1)
		goto out;
	*out = pkey;
	pkey = NULL;
	rc = WK_OK;
out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_free(pkey);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

int
wk_piv_pubkey_to_spki(uint8_t alg, const uint8_t *p, size_t len,
    uint8_t *spki, size_t *spki_len)
{
	EVP_PKEY *pkey = NULL;
	wk_tlv t;
	int rc = WK_ERR_CARD_MALFORMED;

	if (spki == NULL || spki_len == NULL) {
		rc = WK_ERR_ARG;
		goto out;
	}
	if (wk_piv_alg_is_rsa(alg)) {
		if ((rc = rsa_pubkey(alg, p, len, &pkey)) != WK_OK)
			goto out;
	} else {
		if (wk_tlv_check(p, len) != WK_TLV_OK ||
		    wk_tlv_find(p, len, 0x86, &t) != WK_TLV_OK)
			goto out;
		if (wk_piv_alg_is_ec(alg)) {
			if ((rc = ec_pubkey(alg, t.value, t.len, &pkey)) !=
			    WK_OK)
				goto out;
		} else if (alg == WK_PIV_ALG_ED25519 ||
		    alg == WK_PIV_ALG_X25519) {
			if (t.len != 32)
				goto out;
			rc = WK_ERR_CRYPTO;
			pkey = EVP_PKEY_new_raw_public_key_ex(piv_libctx(),
			    alg == WK_PIV_ALG_ED25519 ? "ED25519" : "X25519",
			    NULL, t.value, t.len);
			if (pkey == NULL)
				goto out;
		} else {
			rc = WK_ERR_ARG;
			goto out;
		}
	}
	rc = spki_out(pkey, spki, spki_len);
out:
	EVP_PKEY_free(pkey);
	return rc;
}

int
wk_piv_parse_generate(uint8_t alg, const uint8_t *resp, size_t len,
    uint8_t *spki, size_t *spki_len)
{
	wk_tlv t;

	if (wk_tlv_parse_one(resp, len, 0x7F49, &t) != WK_TLV_OK)
		return WK_ERR_CARD_MALFORMED;
	return wk_piv_pubkey_to_spki(alg, t.value, t.len, spki, spki_len);
}

/* one element of a metadata level: absent is fine, twice is not */
static int
md_find(const uint8_t *p, size_t len, uint32_t tag, size_t want,
    wk_tlv *t, bool *found)
{
	int r = wk_tlv_find(p, len, tag, t);

	*found = false;
	if (r == WK_TLV_MISSING)
		return WK_OK;
	if (r != WK_TLV_OK || (want != 0 && t->len != want))
		return WK_ERR_CARD_MALFORMED;
	*found = true;
	return WK_OK;
}

int
wk_piv_parse_metadata(const uint8_t *resp, size_t len, wk_piv_metadata *md)
{
	wk_tlv t;
	bool found;
	int rc = WK_ERR_CARD_MALFORMED;

	memset(md, 0, sizeof(*md));
	if (wk_tlv_check(resp, len) != WK_TLV_OK)
		goto out;
	if (md_find(resp, len, 0x01, 1, &t, &found) != WK_OK || !found)
		goto out;
	md->alg = t.value[0];
	if (md_find(resp, len, 0x02, 2, &t, &found) != WK_OK)
		goto out;
	if (found) {
		md->has_policy = true;
		md->pin_policy = t.value[0];
		md->touch_policy = t.value[1];
	}
	if (md_find(resp, len, 0x03, 1, &t, &found) != WK_OK)
		goto out;
	if (found)
		md->origin = t.value[0];
	if (md_find(resp, len, 0x05, 1, &t, &found) != WK_OK)
		goto out;
	if (found) {
		md->has_default = true;
		md->is_default = t.value[0] != 0;
	}
	if (md_find(resp, len, 0x06, 2, &t, &found) != WK_OK)
		goto out;
	if (found) {
		if (t.value[1] > t.value[0])
			goto out;
		md->has_retries = true;
		md->retries_total = t.value[0];
		md->retries_left = t.value[1];
	}
	if (md_find(resp, len, 0x04, 0, &t, &found) != WK_OK)
		goto out;
	if (found) {
		md->spki_len = sizeof(md->spki);
		rc = wk_piv_pubkey_to_spki(md->alg, t.value, t.len, md->spki,
		    &md->spki_len);
		if (rc != WK_OK) {
			md->spki_len = 0;
			if (rc == WK_ERR_ARG)
				rc = WK_ERR_CARD_MALFORMED;
			goto out;
		}
	}
	rc = WK_OK;
out:
	return rc;
}

int
wk_piv_parse_auth(const uint8_t *resp, size_t len, uint32_t tag,
    const uint8_t **val, size_t *val_len)
{
	wk_tlv outer, inner;
	wk_cur c;

	if (wk_tlv_parse_one(resp, len, 0x7C, &outer) != WK_TLV_OK)
		return WK_ERR_CARD_MALFORMED;
	wk_cur_init(&c, outer.value, outer.len);
	if (wk_tlv_read(&c, &inner) != WK_TLV_OK || c.len != 0 ||
	    inner.tag != tag)
		return WK_ERR_CARD_MALFORMED;
	*val = inner.value;
	*val_len = inner.len;
	return WK_OK;
}

int
wk_piv_parse_object(uint32_t tag, const uint8_t *resp, size_t len,
    const uint8_t **val, size_t *val_len)
{
	wk_tlv t;

	if (tag == WK_PIV_OBJ_DISCOVERY) {
		/* discovery answers as its own template, returned whole */
		if (wk_tlv_parse_one(resp, len, 0x7E, &t) != WK_TLV_OK)
			return WK_ERR_CARD_MALFORMED;
		*val = resp;
		*val_len = len;
		return WK_OK;
	}
	if (wk_tlv_parse_one(resp, len, 0x53, &t) != WK_TLV_OK)
		return WK_ERR_CARD_MALFORMED;
	*val = t.value;
	*val_len = t.len;
	return WK_OK;
}

int
wk_piv_parse_cert_object(const uint8_t *obj, size_t len,
    const uint8_t **der, size_t *der_len)
{
	wk_tlv cert, info;
	int r;

	if (len == 0)
		return WK_ERR_NOT_FOUND;
	if (wk_tlv_check(obj, len) != WK_TLV_OK ||
	    wk_tlv_find(obj, len, 0x70, &cert) != WK_TLV_OK)
		return WK_ERR_CARD_MALFORMED;
	r = wk_tlv_find(obj, len, 0x71, &info);
	if (r == WK_TLV_OK) {
		if (info.len != 1)
			return WK_ERR_CARD_MALFORMED;
		if ((info.value[0] & 0x81) != 0)
			return WK_ERR_NOT_SUPPORTED;
	} else if (r != WK_TLV_MISSING) {
		return WK_ERR_CARD_MALFORMED;
	}
	if (cert.len == 0 || cert.value[0] != 0x30)
		return WK_ERR_CARD_MALFORMED;
	*der = cert.value;
	*der_len = cert.len;
	return WK_OK;
}

int
wk_piv_build_import(uint8_t alg, const wk_piv_key_parts *parts,
    uint8_t pin_policy, uint8_t touch_policy, wk_buf *out)
{
	size_t half, n;
	uint8_t *dst;
	int rc = WK_ERR_ARG;

	if (parts == NULL)
		goto out;
	if (wk_piv_alg_is_rsa(alg)) {
		half = wk_piv_alg_bytes(alg) / 2;
		for (uint8_t i = 0; i < 5; i++) {
			n = parts->part_len[i];
			if (parts->part[i] == NULL || n == 0 || n > half)
				goto out;
			wk_tlv_put_tag(out, (uint32_t)(0x01 + i));
			wk_tlv_put_len(out, half);
			/* left-padded to half the modulus, piv.md section 4 */
			if ((dst = wk_buf_reserve(out, half)) == NULL)
				goto out;
			memset(dst, 0, half - n);
			memcpy(dst + (half - n), parts->part[i], n);
		}
	} else if (wk_piv_alg_is_ec(alg)) {
		half = wk_piv_alg_bytes(alg);
		n = parts->part_len[0];
		if (parts->part[0] == NULL || n == 0 || n > half)
			goto out;
		wk_tlv_put_tag(out, 0x06);
		wk_tlv_put_len(out, half);
		if ((dst = wk_buf_reserve(out, half)) == NULL)
			goto out;
		memset(dst, 0, half - n);
		memcpy(dst + (half - n), parts->part[0], n);
	} else if (alg == WK_PIV_ALG_ED25519 || alg == WK_PIV_ALG_X25519) {
		if (parts->part[0] == NULL || parts->part_len[0] != 32)
			goto out;
		wk_tlv_put(out, alg == WK_PIV_ALG_ED25519 ? 0x07 : 0x08,
		    parts->part[0], 32);
	} else {
		goto out;
	}
	if (pin_policy > WK_PIV_PIN_POLICY_ALWAYS ||
	    touch_policy > WK_PIV_TOUCH_POLICY_CACHED)
		goto out;
	if (pin_policy != WK_PIV_PIN_POLICY_DEFAULT)
		wk_tlv_put(out, 0xAA, &pin_policy, 1);
	if (touch_policy != WK_PIV_TOUCH_POLICY_DEFAULT)
		wk_tlv_put(out, 0xAB, &touch_policy, 1);
	rc = wk_buf_failed(out) ? WK_ERR_MEMORY : WK_OK;
out:
	return rc;
}

int
wk_piv_ecdsa_der_to_raw(const uint8_t *der, size_t der_len,
    size_t field_len, uint8_t *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *s;
	int rc = WK_ERR_CARD_MALFORMED;

	if (der == NULL || out == NULL || field_len == 0 || der_len > 256) {
		rc = WK_ERR_ARG;
		goto out;
	}
	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL ||
	    p != der + der_len)
		goto out;
	ECDSA_SIG_get0(sig, &r, &s);
	if ((size_t)BN_num_bytes(r) > field_len ||
	    (size_t)BN_num_bytes(s) > field_len)
		goto out;
	if (BN_bn2binpad(r, out, (int)field_len) < 0 ||
	    BN_bn2binpad(s, out + field_len, (int)field_len) < 0)
		goto out;
	rc = WK_OK;
out:
	ECDSA_SIG_free(sig);
	return rc;
}
