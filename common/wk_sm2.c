/* SM2/SM3 on OpenSSL 3: raw forms, Z, DER forms, key agreement (wk_sm2.h) */
#include "wk_sm2.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include "wk_tlv.h"

#define FIELD 32

static int
sm3(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	int r = WK_SM2_ERROR;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sm3(), NULL) != 1 ||
	    EVP_DigestUpdate(md, a, an) != 1 ||
	    (bn > 0 && EVP_DigestUpdate(md, b, bn) != 1) ||
	    EVP_DigestFinal_ex(md, out, &n) != 1 || n != 32)
		goto out;
	r = WK_SM2_OK;
out:
	EVP_MD_CTX_free(md);
	return r;
}

int
wk_sm2_z(const uint8_t pub[WK_SM2_PUB_LEN], const uint8_t *id, size_t id_len,
    uint8_t z[WK_SM2_HASH_LEN])
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
	BN_CTX *bc = BN_CTX_new();
	BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new(), *x = BN_new(),
	    *y = BN_new();
	uint8_t buf[2 + WK_SM2_ID_MAX + 4 * FIELD + WK_SM2_PUB_LEN];
	size_t n = 0;
	int r = WK_SM2_ERROR;

	if (id == NULL || id_len == 0 || id_len > WK_SM2_ID_MAX) {
		r = WK_SM2_BAD_INPUT;
		goto out;
	}
	if (g == NULL || bc == NULL || p == NULL || a == NULL || b == NULL ||
	    x == NULL || y == NULL ||
	    EC_GROUP_get_curve(g, p, a, b, bc) != 1 ||
	    EC_POINT_get_affine_coordinates(g, EC_GROUP_get0_generator(g), x,
	    y, bc) != 1)
		goto out;
	buf[n++] = (uint8_t)((id_len * 8) >> 8);
	buf[n++] = (uint8_t)(id_len * 8);
	memcpy(buf + n, id, id_len);
	n += id_len;
	if (BN_bn2binpad(a, buf + n, FIELD) != FIELD ||
	    BN_bn2binpad(b, buf + n + FIELD, FIELD) != FIELD ||
	    BN_bn2binpad(x, buf + n + 2 * FIELD, FIELD) != FIELD ||
	    BN_bn2binpad(y, buf + n + 3 * FIELD, FIELD) != FIELD)
		goto out;
	n += 4 * FIELD;
	memcpy(buf + n, pub, WK_SM2_PUB_LEN);
	n += WK_SM2_PUB_LEN;
	r = sm3(buf, n, NULL, 0, z);
out:
	BN_free(p);
	BN_free(a);
	BN_free(b);
	BN_free(x);
	BN_free(y);
	BN_CTX_free(bc);
	EC_GROUP_free(g);
	return r;
}

int
wk_sm2_e(const uint8_t pub[WK_SM2_PUB_LEN], const uint8_t *id, size_t id_len,
    const uint8_t *msg, size_t len, uint8_t e[WK_SM2_HASH_LEN])
{
	uint8_t z[WK_SM2_HASH_LEN];
	int r;

	if ((r = wk_sm2_z(pub, id, id_len, z)) != WK_SM2_OK)
		return r;
	return sm3(z, sizeof(z), msg, len, e);
}

/* 04 || x || y into an EVP_PKEY of type SM2, with d when not NULL */
static EVP_PKEY *
sm2_fromdata(const uint8_t pt[1 + WK_SM2_PUB_LEN], const BIGNUM *d)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;

	if (bld == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "SM2", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    1 + WK_SM2_PUB_LEN) != 1 ||
	    (d != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY,
	    d) != 1) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, d != NULL ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return k;
}

EVP_PKEY *
wk_sm2_key_pub(const uint8_t pub[WK_SM2_PUB_LEN])
{
	uint8_t pt[1 + WK_SM2_PUB_LEN];

	pt[0] = 0x04;
	memcpy(pt + 1, pub, WK_SM2_PUB_LEN);
	/* OpenSSL refuses a point that is not on the curve */
	return sm2_fromdata(pt, NULL);
}

EVP_PKEY *
wk_sm2_key_priv(const uint8_t d[WK_SM2_PRIV_LEN])
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
	BN_CTX *bc = BN_CTX_new();
	BIGNUM *bd = BN_secure_new(), *lim = BN_new();
	EC_POINT *q = NULL;
	uint8_t pt[1 + WK_SM2_PUB_LEN];
	EVP_PKEY *k = NULL;

	if (g == NULL || bc == NULL || bd == NULL || lim == NULL ||
	    BN_bin2bn(d, WK_SM2_PRIV_LEN, bd) == NULL ||
	    BN_copy(lim, EC_GROUP_get0_order(g)) == NULL ||
	    BN_sub_word(lim, 1) != 1)
		goto out;
	/* GM/T 0003.1 6.1: d in [1, n-2] */
	if (BN_is_zero(bd) || BN_cmp(bd, lim) >= 0)
		goto out;
	if ((q = EC_POINT_new(g)) == NULL ||
	    EC_POINT_mul(g, q, bd, NULL, NULL, bc) != 1 ||
	    EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pt,
	    sizeof(pt), bc) != sizeof(pt))
		goto out;
	k = sm2_fromdata(pt, bd);
out:
	EC_POINT_free(q);
	BN_clear_free(bd);
	BN_free(lim);
	BN_CTX_free(bc);
	EC_GROUP_free(g);
	return k;
}

EVP_PKEY *
wk_sm2_generate(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
	EVP_PKEY *k = NULL;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_generate(ctx, &k) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	return k;
}

int
wk_sm2_key_export(const EVP_PKEY *k, uint8_t pub[WK_SM2_PUB_LEN],
    uint8_t d[WK_SM2_PRIV_LEN])
{
	uint8_t pt[1 + WK_SM2_PUB_LEN + 1];
	size_t n = 0;
	BIGNUM *bd = NULL;
	int r = WK_SM2_ERROR;

	if (k == NULL)
		return WK_SM2_BAD_INPUT;
	if (pub != NULL) {
		if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY,
		    pt, sizeof(pt), &n) != 1 || n != 1 + WK_SM2_PUB_LEN ||
		    pt[0] != 0x04)
			goto out;
		memcpy(pub, pt + 1, WK_SM2_PUB_LEN);
	}
	if (d != NULL) {
		if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &bd) != 1 ||
		    BN_bn2binpad(bd, d, WK_SM2_PRIV_LEN) != WK_SM2_PRIV_LEN)
			goto out;
	}
	r = WK_SM2_OK;
out:
	BN_clear_free(bd);
	return r;
}

int
wk_sm2_sign(EVP_PKEY *k, const uint8_t e[WK_SM2_HASH_LEN],
    uint8_t sig[WK_SM2_SIG_LEN])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
	uint8_t der[80];
	size_t n = sizeof(der);
	int r = WK_SM2_ERROR;

	/* with no digest set, OpenSSL's SM2 signs the input as e */
	if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_sign(ctx, der, &n, e, WK_SM2_HASH_LEN) != 1)
		goto out;
	r = wk_sm2_sig_from_der(der, n, sig);
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int
wk_sm2_verify(EVP_PKEY *k, const uint8_t e[WK_SM2_HASH_LEN],
    const uint8_t sig[WK_SM2_SIG_LEN])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
	uint8_t st[80];
	wk_buf der;
	int r = WK_SM2_ERROR, v;

	wk_buf_init_fixed(&der, st, sizeof(st));
	if (ctx == NULL || wk_sm2_sig_to_der(sig, &der) != WK_SM2_OK ||
	    EVP_PKEY_verify_init(ctx) != 1)
		goto out;
	v = EVP_PKEY_verify(ctx, der.p, der.len, e, WK_SM2_HASH_LEN);
	r = v == 1 ? WK_SM2_OK : WK_SM2_BAD_SIG;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int
wk_sm2_encrypt(EVP_PKEY *k, const uint8_t *m, size_t n, wk_buf *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
	uint8_t *der = NULL;
	size_t dn = 0;
	int r = WK_SM2_ERROR;

	if (n == 0 || n > 65536) {
		r = WK_SM2_BAD_INPUT;
		goto out;
	}
	if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) != 1 ||
	    EVP_PKEY_encrypt(ctx, NULL, &dn, m, n) != 1 ||
	    (der = OPENSSL_malloc(dn)) == NULL ||
	    EVP_PKEY_encrypt(ctx, der, &dn, m, n) != 1)
		goto out;
	r = wk_sm2_cipher_from_der(der, dn, out);
out:
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int
wk_sm2_decrypt(EVP_PKEY *k, const uint8_t *c, size_t n, wk_buf *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
	wk_buf der, pt;
	size_t pn = 0;
	int r = WK_SM2_ERROR;

	wk_buf_init_heap(&der, n + 64);
	wk_buf_init_heap(&pt, n + 64);
	if (n <= WK_SM2_CIPHER_OVERHEAD) {
		r = WK_SM2_BAD_INPUT;
		goto out;
	}
	if ((r = wk_sm2_cipher_to_der(c, n, &der)) != WK_SM2_OK)
		goto out;
	r = WK_SM2_ERROR;
	if (ctx == NULL || EVP_PKEY_decrypt_init(ctx) != 1 ||
	    EVP_PKEY_decrypt(ctx, NULL, &pn, der.p, der.len) != 1 ||
	    wk_buf_reserve(&pt, pn) == NULL)
		goto out;
	if (EVP_PKEY_decrypt(ctx, pt.p, &pn, der.p, der.len) != 1 ||
	    pn != n - WK_SM2_CIPHER_OVERHEAD) {
		r = WK_SM2_DECRYPT;
		goto out;
	}
	wk_buf_add(out, pt.p, pn);
	r = wk_buf_failed(out) ? WK_SM2_ERROR : WK_SM2_OK;
out:
	wk_buf_clear(&pt);
	wk_buf_clear(&der);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* DER INTEGER of a 32-byte unsigned big-endian value */
static void
der_uint(wk_buf *b, const uint8_t v[FIELD])
{
	size_t i = 0;
	uint8_t tmp[FIELD + 1];

	while (i < FIELD - 1 && v[i] == 0)
		i++;
	if (v[i] & 0x80) {
		tmp[0] = 0;
		memcpy(tmp + 1, v + i, FIELD - i);
		wk_tlv_put(b, 0x02, tmp, FIELD - i + 1);
	} else {
		wk_tlv_put(b, 0x02, v + i, FIELD - i);
	}
}

/* a DER INTEGER that fits 32 unsigned bytes, minimal, non-negative */
static int
der_read_uint(wk_cur *c, uint8_t out[FIELD])
{
	wk_tlv t;
	const uint8_t *v;
	size_t n;

	if (wk_tlv_read(c, &t) != WK_TLV_OK || t.tag != 0x02 || t.len == 0 ||
	    t.len > FIELD + 1)
		return -1;
	v = t.value;
	n = t.len;
	if (v[0] & 0x80)
		return -1;
	if (n > 1 && v[0] == 0) {
		if ((v[1] & 0x80) == 0)
			return -1;	/* not minimal */
		v++;
		n--;
	}
	if (n > FIELD)
		return -1;
	memset(out, 0, FIELD - n);
	memcpy(out + FIELD - n, v, n);
	return 0;
}

int
wk_sm2_sig_to_der(const uint8_t sig[WK_SM2_SIG_LEN], wk_buf *der)
{
	size_t m = wk_tlv_begin(der, 0x30);

	der_uint(der, sig);
	der_uint(der, sig + FIELD);
	wk_tlv_end(der, m);
	return wk_buf_failed(der) ? WK_SM2_ERROR : WK_SM2_OK;
}

int
wk_sm2_sig_from_der(const uint8_t *der, size_t len, uint8_t sig[WK_SM2_SIG_LEN])
{
	wk_tlv seq;
	wk_cur c;

	if (wk_tlv_parse_one(der, len, 0x30, &seq) != WK_TLV_OK)
		return WK_SM2_BAD_INPUT;
	wk_cur_init(&c, seq.value, seq.len);
	if (der_read_uint(&c, sig) != 0 || der_read_uint(&c, sig + FIELD) != 0 ||
	    c.len != 0)
		return WK_SM2_BAD_INPUT;
	return WK_SM2_OK;
}

int
wk_sm2_cipher_to_der(const uint8_t *raw, size_t len, wk_buf *der)
{
	size_t m;

	if (len <= WK_SM2_CIPHER_OVERHEAD)
		return WK_SM2_BAD_INPUT;
	m = wk_tlv_begin(der, 0x30);
	der_uint(der, raw);
	der_uint(der, raw + FIELD);
	wk_tlv_put(der, 0x04, raw + 2 * FIELD, WK_SM2_HASH_LEN);
	wk_tlv_put(der, 0x04, raw + WK_SM2_CIPHER_OVERHEAD,
	    len - WK_SM2_CIPHER_OVERHEAD);
	wk_tlv_end(der, m);
	return wk_buf_failed(der) ? WK_SM2_BAD_INPUT : WK_SM2_OK;
}

int
wk_sm2_cipher_from_der(const uint8_t *der, size_t len, wk_buf *raw)
{
	wk_tlv seq, h, c2;
	wk_cur c;
	uint8_t xy[2 * FIELD];

	if (wk_tlv_parse_one(der, len, 0x30, &seq) != WK_TLV_OK)
		return WK_SM2_BAD_INPUT;
	wk_cur_init(&c, seq.value, seq.len);
	if (der_read_uint(&c, xy) != 0 || der_read_uint(&c, xy + FIELD) != 0 ||
	    wk_tlv_read(&c, &h) != WK_TLV_OK || h.tag != 0x04 ||
	    h.len != WK_SM2_HASH_LEN ||
	    wk_tlv_read(&c, &c2) != WK_TLV_OK || c2.tag != 0x04 ||
	    c2.len == 0 || c.len != 0)
		return WK_SM2_BAD_INPUT;
	wk_buf_add(raw, xy, sizeof(xy));
	wk_buf_add(raw, h.value, h.len);
	wk_buf_add(raw, c2.value, c2.len);
	return wk_buf_failed(raw) ? WK_SM2_ERROR : WK_SM2_OK;
}

/* x̄ = 2^w + (x & (2^w - 1)), w = 127 for a 256-bit order (GM/T 0003.3 6.1) */
static int
xbar(const EC_GROUP *g, const EC_POINT *p, BIGNUM *out, BN_CTX *bc)
{
	int w = (BN_num_bits(EC_GROUP_get0_order(g)) + 1) / 2 - 1;

	if (EC_POINT_get_affine_coordinates(g, p, out, NULL, bc) != 1)
		return -1;
	/* fails (harmlessly) when x is already shorter than w bits */
	(void)BN_mask_bits(out, w);
	return BN_set_bit(out, w) == 1 ? 0 : -1;
}

static EC_POINT *
point_of(const EC_GROUP *g, const uint8_t xy[WK_SM2_PUB_LEN], BN_CTX *bc)
{
	uint8_t pt[1 + WK_SM2_PUB_LEN];
	EC_POINT *p = EC_POINT_new(g);

	pt[0] = 0x04;
	memcpy(pt + 1, xy, WK_SM2_PUB_LEN);
	/* oct2point refuses points off the curve */
	if (p == NULL || EC_POINT_oct2point(g, p, pt, sizeof(pt), bc) != 1 ||
	    EC_POINT_is_at_infinity(g, p)) {
		EC_POINT_free(p);
		return NULL;
	}
	return p;
}

static int
kdf_sm3(const uint8_t *z, size_t zn, uint8_t *key, size_t klen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
	EVP_KDF_CTX *kc = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[3];
	int r = WK_SM2_ERROR;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SM3", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)z, zn);
	p[2] = OSSL_PARAM_construct_end();
	if (kc != NULL && EVP_KDF_derive(kc, key, klen, p) == 1)
		r = WK_SM2_OK;
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
	return r;
}

int
wk_sm2_kex(const uint8_t d[WK_SM2_PRIV_LEN], const uint8_t r[WK_SM2_PRIV_LEN],
    const uint8_t rpub[WK_SM2_PUB_LEN], const uint8_t ppub[WK_SM2_PUB_LEN],
    const uint8_t prpub[WK_SM2_PUB_LEN], const uint8_t za[WK_SM2_HASH_LEN],
    const uint8_t zb[WK_SM2_HASH_LEN], uint8_t *key, size_t klen)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
	BN_CTX *bc = BN_CTX_new();
	BIGNUM *bd = BN_secure_new(), *br = BN_secure_new(), *t = BN_secure_new(),
	    *x1 = BN_new(), *x2 = BN_new(), *ux = BN_new(), *uy = BN_new();
	EC_POINT *own = NULL, *pp = NULL, *pr = NULL, *u = NULL;
	uint8_t z[2 * FIELD + 2 * WK_SM2_HASH_LEN];
	int rc = WK_SM2_ERROR;

	if (klen == 0 || klen > 64)
		return WK_SM2_BAD_INPUT;
	if (g == NULL || bc == NULL || bd == NULL || br == NULL || t == NULL ||
	    x1 == NULL || x2 == NULL || ux == NULL || uy == NULL ||
	    (u = EC_POINT_new(g)) == NULL)
		goto out;
	if ((own = point_of(g, rpub, bc)) == NULL ||
	    (pp = point_of(g, ppub, bc)) == NULL ||
	    (pr = point_of(g, prpub, bc)) == NULL) {
		rc = WK_SM2_BAD_INPUT;
		goto out;
	}
	if (BN_bin2bn(d, WK_SM2_PRIV_LEN, bd) == NULL ||
	    BN_bin2bn(r, WK_SM2_PRIV_LEN, br) == NULL ||
	    xbar(g, own, x1, bc) != 0 || xbar(g, pr, x2, bc) != 0)
		goto out;
	/* t = (d + x̄1 r) mod n */
	if (BN_mod_mul(t, x1, br, EC_GROUP_get0_order(g), bc) != 1 ||
	    BN_mod_add(t, t, bd, EC_GROUP_get0_order(g), bc) != 1)
		goto out;
	/* U = [h t](P + [x̄2] R), h = 1 */
	if (EC_POINT_mul(g, u, NULL, pr, x2, bc) != 1 ||
	    EC_POINT_add(g, u, u, pp, bc) != 1 ||
	    EC_POINT_mul(g, u, NULL, u, t, bc) != 1)
		goto out;
	if (EC_POINT_is_at_infinity(g, u)) {
		rc = WK_SM2_BAD_INPUT;
		goto out;
	}
	if (EC_POINT_get_affine_coordinates(g, u, ux, uy, bc) != 1 ||
	    BN_bn2binpad(ux, z, FIELD) != FIELD ||
	    BN_bn2binpad(uy, z + FIELD, FIELD) != FIELD)
		goto out;
	memcpy(z + 2 * FIELD, za, WK_SM2_HASH_LEN);
	memcpy(z + 2 * FIELD + WK_SM2_HASH_LEN, zb, WK_SM2_HASH_LEN);
	rc = kdf_sm3(z, sizeof(z), key, klen);
out:
	sodium_memzero(z, sizeof(z));
	EC_POINT_clear_free(u);
	EC_POINT_free(own);
	EC_POINT_free(pp);
	EC_POINT_free(pr);
	BN_clear_free(bd);
	BN_clear_free(br);
	BN_clear_free(t);
	BN_free(x1);
	BN_free(x2);
	BN_clear_free(ux);
	BN_clear_free(uy);
	BN_CTX_free(bc);
	EC_GROUP_free(g);
	return rc;
}
