/* PIV answers from the card into host structures, and request encodings */
#include "wk_piv_internal.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_tlv.h"

/*
 * public keys become SPKI DER without an EVP_PKEY: in a process that made
 * an engine its default for RSA or EC (openssl -engine pkcs11, which loads
 * our own PKCS#11 module) every EVP_PKEY_CTX goes through that engine, and
 * EVP_PKEY_fromdata fails there. The point check uses EC_GROUP/EC_POINT,
 * which no engine replaces.
 */
static int
spki_out(int nid, int ptype, void *pval, const uint8_t *key, size_t key_len,
    uint8_t *spki, size_t *spki_len)
{
	X509_PUBKEY *pub = X509_PUBKEY_new();
	unsigned char *copy = NULL, *p = spki;
	int n, rc = WK_ERR_MEMORY;

	if (pub == NULL || key_len > INT32_MAX ||
	    (copy = OPENSSL_memdup(key, key_len)) == NULL)
		goto out;
	if (X509_PUBKEY_set0_param(pub, OBJ_nid2obj(nid), ptype, pval, copy,
	    (int)key_len) != 1)
		goto out;
	copy = NULL;
	pval = NULL;
	rc = WK_ERR_CRYPTO;
	if ((n = i2d_X509_PUBKEY(pub, NULL)) <= 0)
		goto out;
	if ((size_t)n > *spki_len) {
		*spki_len = (size_t)n;
		rc = WK_ERR_ARG;
		goto out;
	}
	if (i2d_X509_PUBKEY(pub, &p) != n)
		goto out;
	*spki_len = (size_t)n;
	rc = WK_OK;
out:
	OPENSSL_free(copy);
	if (pval != NULL && ptype == V_ASN1_NULL)
		pval = NULL;
	X509_PUBKEY_free(pub);
	return rc;
}

/* DER INTEGER of a big-endian magnitude into b */
static void
der_int(wk_buf *b, const uint8_t *v, size_t len)
{
	while (len > 1 && v[0] == 0) {
		v++;
		len--;
	}
	wk_buf_u8(b, 0x02);
	wk_tlv_put_len(b, len + (v[0] & 0x80 ? 1 : 0));
	if (v[0] & 0x80)
		wk_buf_u8(b, 0x00);
	wk_buf_add(b, v, len);
}

static int
rsa_spki(uint8_t alg, const uint8_t *p, size_t len, uint8_t *spki,
    size_t *spki_len)
{
	uint8_t body[1100], seq[1110];
	wk_buf bb, sb;
	wk_tlv tn, te;
	size_t bits;

	if (wk_tlv_check(p, len) != WK_TLV_OK ||
	    wk_tlv_find(p, len, 0x81, &tn) != WK_TLV_OK ||
	    wk_tlv_find(p, len, 0x82, &te) != WK_TLV_OK)
		return WK_ERR_CARD_MALFORMED;
	if (tn.len == 0 || tn.len > 520 || te.len == 0 || te.len > 8)
		return WK_ERR_CARD_MALFORMED;
	while (tn.len > 0 && tn.value[0] == 0) {
		tn.value++;
		tn.len--;
	}
	/* the modulus fits the algorithm; the exponent is odd and not 1 */
	bits = tn.len * 8;
	for (uint8_t top = tn.len > 0 ? tn.value[0] : 0; bits > 0 && !(top & 0x80);
	    top = (uint8_t)(top << 1))
		bits--;
	if (bits != wk_piv_alg_bits(alg) || !(te.value[te.len - 1] & 1) ||
	    (te.len == 1 && te.value[0] == 1))
		return WK_ERR_CARD_MALFORMED;
	wk_buf_init_fixed(&bb, body, sizeof(body));
	der_int(&bb, tn.value, tn.len);
	der_int(&bb, te.value, te.len);
	wk_buf_init_fixed(&sb, seq, sizeof(seq));
	wk_buf_u8(&sb, 0x30);
	wk_tlv_put_len(&sb, bb.len);
	wk_buf_add(&sb, body, bb.len);
	if (wk_buf_failed(&bb) || wk_buf_failed(&sb))
		return WK_ERR_CARD_MALFORMED;
	return spki_out(NID_rsaEncryption, V_ASN1_NULL, NULL, seq,
	    sb.len, spki, spki_len);
}

static int
ec_spki(uint8_t alg, const uint8_t *pt, size_t len, uint8_t *spki,
    size_t *spki_len)
{
	int nid = alg == WK_PIV_ALG_ECCP256 ? NID_X9_62_prime256v1 :
	    NID_secp384r1;
	EC_GROUP *g = NULL;
	EC_POINT *q = NULL;
	int rc = WK_ERR_CARD_MALFORMED;

	if (len != 1 + 2 * wk_piv_alg_bytes(alg) || pt[0] != 0x04)
		goto out;
	rc = WK_ERR_MEMORY;
	if ((g = EC_GROUP_new_by_curve_name_ex(NULL, NULL, nid)) == NULL ||
	    (q = EC_POINT_new(g)) == NULL)
		goto out;
	/* a point off the curve is a malformed answer, not a key */
	rc = WK_ERR_CARD_MALFORMED;
	if (EC_POINT_oct2point(g, q, pt, len, NULL) != 1 ||
	    EC_POINT_is_on_curve(g, q, NULL) != 1 ||
	    EC_POINT_is_at_infinity(g, q))
		goto out;
	rc = spki_out(NID_X9_62_id_ecPublicKey, V_ASN1_OBJECT, OBJ_nid2obj(nid),
	    pt, len, spki, spki_len);
out:
	EC_POINT_free(q);
	EC_GROUP_free(g);
	return rc;
}

int
wk_piv_pubkey_to_spki(uint8_t alg, const uint8_t *p, size_t len,
    uint8_t *spki, size_t *spki_len)
{
	wk_tlv t;

	if (spki == NULL || spki_len == NULL)
		return WK_ERR_ARG;
	if (wk_piv_alg_is_rsa(alg))
		return rsa_spki(alg, p, len, spki, spki_len);
	if (wk_tlv_check(p, len) != WK_TLV_OK ||
	    wk_tlv_find(p, len, 0x86, &t) != WK_TLV_OK)
		return WK_ERR_CARD_MALFORMED;
	if (wk_piv_alg_is_ec(alg))
		return ec_spki(alg, t.value, t.len, spki, spki_len);
	if (alg == WK_PIV_ALG_ED25519 || alg == WK_PIV_ALG_X25519) {
		if (t.len != 32)
			return WK_ERR_CARD_MALFORMED;
		return spki_out(alg == WK_PIV_ALG_ED25519 ? NID_ED25519 :
		    NID_X25519, V_ASN1_UNDEF, NULL, t.value, t.len, spki,
		    spki_len);
	}
	return WK_ERR_ARG;
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

/* one INTEGER of an ECDSA-Sig-Value (DER: non-negative, minimal): its
 * magnitude, at most field bytes */
static bool
der_uint(wk_cur *c, size_t field, const uint8_t **v, size_t *n)
{
	wk_tlv t;

	if (wk_tlv_read(c, &t) != WK_TLV_OK || t.tag != 0x02 || t.len == 0 ||
	    (t.value[0] & 0x80) != 0)
		return false;
	*v = t.value;
	*n = t.len;
	if ((*v)[0] == 0x00 && *n > 1) {
		if (((*v)[1] & 0x80) == 0)
			return false;	/* a leading zero it does not need */
		(*v)++;
		(*n)--;
	}
	return *n <= field;
}

/*
 * SEQUENCE { INTEGER r, INTEGER s } into r | s, field_len bytes each: read
 * with the TLV reader rather than OpenSSL's d2i_ECDSA_SIG and two BIGNUMs
 * (4.5k instructions a signature through the PKCS#11 module, issue 17);
 * as strict: nothing after the sequence or inside it after s, no negative
 * or padded integer
 */
int
wk_piv_ecdsa_der_to_raw(const uint8_t *der, size_t der_len,
    size_t field_len, uint8_t *out)
{
	const uint8_t *r, *s;
	size_t rl, sl;
	wk_tlv seq;
	wk_cur c;

	if (der == NULL || out == NULL || field_len == 0 || der_len > 256)
		return WK_ERR_ARG;
	if (wk_tlv_parse_one(der, der_len, 0x30, &seq) != WK_TLV_OK)
		return WK_ERR_CARD_MALFORMED;
	wk_cur_init(&c, seq.value, seq.len);
	if (!der_uint(&c, field_len, &r, &rl) ||
	    !der_uint(&c, field_len, &s, &sl) || c.len != 0)
		return WK_ERR_CARD_MALFORMED;
	memset(out, 0, field_len - rl);
	memcpy(out + field_len - rl, r, rl);
	memset(out + field_len, 0, field_len - sl);
	memcpy(out + 2 * field_len - sl, s, sl);
	return WK_OK;
}
