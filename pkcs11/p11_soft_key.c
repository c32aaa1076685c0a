/*
 * software keys, from templates to OpenSSL and back: RSA and EC keys built
 * from a template's attributes (p11_soft_rsa, p11_soft_ec), the key
 * attributes of an OpenSSL key (p11_soft_key_attrs), in the module's own
 * library context
 */

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "p11_soft.h"


#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- building OpenSSL keys ---- */

EVP_PKEY *
p11_soft_fromdata(const char *type, OSSL_PARAM_BLD *bld, int selection)
{
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(p11_libctx(), type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

const CK_ATTRIBUTE *
p11_tmpl_want(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	const CK_ATTRIBUTE *a = p11_tmpl_find(t, n, type);

	return a != NULL && a->pValue != NULL && a->ulValueLen > 0 ? a : NULL;
}

static int
push_bn(OSSL_PARAM_BLD *bld, const char *name, const CK_ATTRIBUTE *a,
    BIGNUM **keep)
{
	BIGNUM *bn = BN_bin2bn(a->pValue, (int)a->ulValueLen, NULL);

	*keep = bn;
	return bn != NULL && OSSL_PARAM_BLD_push_BN(bld, name, bn) == 1 ? 0 : -1;
}

CK_RV
p11_soft_rsa(const CK_ATTRIBUTE *t, CK_ULONG n, bool priv,
    EVP_PKEY **out)
{
	static const CK_ATTRIBUTE_TYPE crt[5] = { CKA_PRIME_1, CKA_PRIME_2,
	    CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT };
	static const char *const crt_names[5] = { OSSL_PKEY_PARAM_RSA_FACTOR1,
	    OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
	    OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1 };
	const CK_ATTRIBUTE *mod = p11_tmpl_want(t, n, CKA_MODULUS);
	const CK_ATTRIBUTE *e = p11_tmpl_want(t, n, CKA_PUBLIC_EXPONENT);
	const CK_ATTRIBUTE *d = p11_tmpl_want(t, n, CKA_PRIVATE_EXPONENT);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn[8] = { NULL };
	size_t have = 0;
	int err = 0;
	CK_RV rv = CKR_TEMPLATE_INCOMPLETE;

	if (mod == NULL || e == NULL || (priv && d == NULL))
		goto out;
	rv = CKR_ATTRIBUTE_VALUE_INVALID;
	if (mod->ulValueLen < 64 || mod->ulValueLen > 1024 || e->ulValueLen > 8)
		goto out;
	rv = CKR_HOST_MEMORY;
	if (bld == NULL)
		goto out;
	err |= push_bn(bld, OSSL_PKEY_PARAM_RSA_N, mod, &bn[0]);
	err |= push_bn(bld, OSSL_PKEY_PARAM_RSA_E, e, &bn[1]);
	if (priv) {
		err |= push_bn(bld, OSSL_PKEY_PARAM_RSA_D, d, &bn[2]);
		for (size_t i = 0; i < 5; i++)
			have += p11_tmpl_want(t, n, crt[i]) != NULL;
		rv = CKR_TEMPLATE_INCONSISTENT;
		if (have != 0 && have != 5)
			goto out;
		for (size_t i = 0; i < have; i++)
			err |= push_bn(bld, crt_names[i], p11_tmpl_want(t, n, crt[i]),
			    &bn[3 + i]);
	}
	rv = CKR_HOST_MEMORY;
	if (err)
		goto out;
	*out = p11_soft_fromdata("RSA", bld, priv ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY);
	rv = *out != NULL ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
out:
	for (size_t i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_BLD_free(bld);
	return rv;
}

/* the curve of CKA_EC_PARAMS: OID or PrintableString name (3.0 2.3.3) */
uint8_t
p11_soft_curve(const CK_ATTRIBUTE *a, CK_KEY_TYPE kt)
{
	static const struct {
		const uint8_t *oid;
		size_t len;
		const char *name, *alias;
		uint8_t alg;
		CK_KEY_TYPE kt;
	} c[] = {
		{ p11_oid_p256, sizeof(p11_oid_p256), "prime256v1", "secp256r1", P11_ALG_P256, CKK_EC },
		{ p11_oid_p384, sizeof(p11_oid_p384), "secp384r1", "secp384r1", P11_ALG_P384, CKK_EC },
		{ p11_oid_ed25519, sizeof(p11_oid_ed25519), "edwards25519", "Ed25519", P11_ALG_ED25519, CKK_EC_EDWARDS },
		{ p11_oid_x25519, sizeof(p11_oid_x25519), "curve25519", "X25519", P11_ALG_X25519, CKK_EC_MONTGOMERY },
	};
	const uint8_t *v;

	if (a == NULL)
		return kt == CKK_EC_EDWARDS ? P11_ALG_ED25519 :
		    kt == CKK_EC_MONTGOMERY ? P11_ALG_X25519 : P11_ALG_NONE;
	v = a->pValue;
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		size_t l1 = strlen(c[i].name), l2 = strlen(c[i].alias);
		if (c[i].kt != kt)
			continue;
		if ((a->ulValueLen == c[i].len && memcmp(v, c[i].oid, c[i].len) == 0) ||
		    (a->ulValueLen == l1 + 2 && v[0] == 0x13 && v[1] == l1 &&
		    memcmp(v + 2, c[i].name, l1) == 0) ||
		    (a->ulValueLen == l2 + 2 && v[0] == 0x13 && v[1] == l2 &&
		    memcmp(v + 2, c[i].alias, l2) == 0))
			return c[i].alg;
	}
	return P11_ALG_NONE;
}

const char *
p11_soft_group(uint8_t alg)
{
	return alg == P11_ALG_P256 ? "prime256v1" : "secp384r1";
}

/* a point raw or as the DER OCTET STRING of CKA_EC_POINT */
static bool
unwrap_point(const uint8_t *p, size_t len, size_t want_len,
    const uint8_t **pt)
{
	if (len == want_len && (want_len == 32 || p[0] == 0x04)) {
		*pt = p;
		return true;
	}
	if (len >= 2 && p[0] == 0x04) {
		size_t hdr = p[1] == 0x81 ? 3 : 2;
		if (len > hdr && len - hdr == want_len &&
		    (hdr == 2 ? p[1] : p[2]) == want_len) {
			*pt = p + hdr;
			return true;
		}
	}
	return false;
}

/* the public point of an EC private scalar (no EVP_PKEY needed) */
static CK_RV
ec_public_point(uint8_t alg, const BIGNUM *d, uint8_t *pt, size_t *len)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name_ex(p11_libctx(), NULL,
	    alg == P11_ALG_P256 ? NID_X9_62_prime256v1 : NID_secp384r1);
	EC_POINT *p = NULL;
	size_t n;
	CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;

	if (g == NULL || (p = EC_POINT_new(g)) == NULL ||
	    BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0 ||
	    EC_POINT_mul(g, p, d, NULL, NULL, NULL) != 1)
		goto out;
	n = EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, pt, *len,
	    NULL);
	if (n == 0)
		goto out;
	*len = n;
	rv = CKR_OK;
out:
	EC_POINT_free(p);
	EC_GROUP_free(g);
	return rv;
}

CK_RV
p11_soft_ec(const CK_ATTRIBUTE *t, CK_ULONG n, CK_KEY_TYPE kt,
    bool priv, EVP_PKEY **out, uint8_t *alg)
{
	const CK_ATTRIBUTE *params = p11_tmpl_want(t, n, CKA_EC_PARAMS);
	const CK_ATTRIBUTE *a = p11_tmpl_want(t, n, priv ? CKA_VALUE : CKA_EC_POINT);
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *d = NULL;
	uint8_t pt[133];
	const uint8_t *p;
	size_t pt_len = sizeof(pt), field;
	CK_RV rv = CKR_TEMPLATE_INCOMPLETE;

	if (a == NULL || (kt == CKK_EC && params == NULL))
		goto out;
	rv = CKR_CURVE_NOT_SUPPORTED;
	if ((*alg = p11_soft_curve(params, kt)) == P11_ALG_NONE)
		goto out;
	rv = CKR_ATTRIBUTE_VALUE_INVALID;
	if (kt != CKK_EC) {
		const char *name = kt == CKK_EC_EDWARDS ? "ED25519" : "X25519";
		if (priv) {
			if (a->ulValueLen != 32)
				goto out;
			*out = EVP_PKEY_new_raw_private_key_ex(p11_libctx(), name,
			    NULL, a->pValue, 32);
		} else {
			if (!unwrap_point(a->pValue, a->ulValueLen, 32, &p))
				goto out;
			*out = EVP_PKEY_new_raw_public_key_ex(p11_libctx(), name,
			    NULL, p, 32);
		}
		rv = *out != NULL ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
		goto out;
	}
	field = (p11_alg_bits(*alg) + 7) / 8;
	rv = CKR_HOST_MEMORY;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    p11_soft_group(*alg), 0) != 1)
		goto out;
	rv = CKR_ATTRIBUTE_VALUE_INVALID;
	if (priv) {
		if (a->ulValueLen > field ||
		    (d = BN_bin2bn(a->pValue, (int)a->ulValueLen, NULL)) == NULL)
			goto out;
		if ((rv = ec_public_point(*alg, d, pt, &pt_len)) != CKR_OK)
			goto out;
		rv = CKR_HOST_MEMORY;
		if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1)
			goto out;
		p = pt;
	} else {
		if (!unwrap_point(a->pValue, a->ulValueLen, 2 * field + 1, &p))
			goto out;
		pt_len = 2 * field + 1;
	}
	rv = CKR_HOST_MEMORY;
	if (OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, p,
	    pt_len) != 1)
		goto out;
	*out = p11_soft_fromdata("EC", bld, priv ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY);
	rv = *out != NULL ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
	if (rv == CKR_OK && !priv) {
		/* a point off the curve is no key */
		EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(p11_libctx(),
		    *out, NULL);
		if (chk == NULL || EVP_PKEY_public_check(chk) != 1) {
			EVP_PKEY_free(*out);
			*out = NULL;
			rv = CKR_ATTRIBUTE_VALUE_INVALID;
		}
		EVP_PKEY_CTX_free(chk);
	}
out:
	BN_clear_free(d);
	OSSL_PARAM_BLD_free(bld);
	return rv;
}

static int
bn_attr(p11_object *o, EVP_PKEY *pk, const char *name, CK_ATTRIBUTE_TYPE t,
    size_t *bits)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	int len, r = -1;

	if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
		return 0;	/* absent (a key without CRT parts) */
	len = BN_num_bytes(bn);
	if (len > 0 && (size_t)len <= sizeof(buf) && BN_bn2bin(bn, buf) == len)
		r = p11_attr_set(o, t, buf, (size_t)len);
	if (bits != NULL)
		*bits = (size_t)BN_num_bits(bn);
	sodium_memzero(buf, sizeof(buf));
	BN_clear_free(bn);
	return r;
}

/* the attributes of a key from its EVP_PKEY: material, SPKI, curve */
CK_RV
p11_soft_key_attrs(p11_object *o, EVP_PKEY *pk, uint8_t alg)
{
	uint8_t *der = NULL, buf[133];
	size_t len = 0, bits = 0;
	int n, err = 0;
	bool priv = o->cls == CKO_PRIVATE_KEY;
	CK_RV rv;

	n = i2d_PUBKEY(pk, &der);
	if (n <= 0)
		return CKR_FUNCTION_FAILED;
	/* the card objects' code reads the public parts of the SPKI */
	rv = p11_spki_attrs(o, der, (size_t)n, &(uint8_t){ 0 });
	OPENSSL_free(der);
	if (rv != CKR_OK && !p11_alg_is_rsa(alg))
		return rv;
	if (p11_alg_is_rsa(alg)) {
		err |= bn_attr(o, pk, OSSL_PKEY_PARAM_RSA_N, CKA_MODULUS, &bits);
		err |= bn_attr(o, pk, OSSL_PKEY_PARAM_RSA_E, CKA_PUBLIC_EXPONENT,
		    NULL);
		err |= p11_attr_ulong(o, CKA_MODULUS_BITS, (CK_ULONG)bits);
		err |= p11_attr_ulong(o, CKA_KEY_TYPE, CKK_RSA);
		if (rv != CKR_OK) {
			/* a size the card has not: the SPKI from OpenSSL */
			der = NULL;
			n = i2d_PUBKEY(pk, &der);
			err |= n <= 0 || p11_attr_set(o, CKA_PUBLIC_KEY_INFO, der,
			    (size_t)n);
			OPENSSL_free(der);
		}
		if (priv) {
			err |= bn_attr(o, pk, OSSL_PKEY_PARAM_RSA_D,
			    CKA_PRIVATE_EXPONENT, NULL);
			err |= bn_attr(o, pk, OSSL_PKEY_PARAM_RSA_FACTOR1,
			    CKA_PRIME_1, NULL);
			err |= bn_attr(o, pk, OSSL_PKEY_PARAM_RSA_FACTOR2,
			    CKA_PRIME_2, NULL);
			err |= bn_attr(o, pk, OSSL_PKEY_PARAM_RSA_EXPONENT1,
			    CKA_EXPONENT_1, NULL);
			err |= bn_attr(o, pk, OSSL_PKEY_PARAM_RSA_EXPONENT2,
			    CKA_EXPONENT_2, NULL);
			err |= bn_attr(o, pk, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
			    CKA_COEFFICIENT, NULL);
		}
	} else if (priv && p11_alg_is_ec(alg)) {
		BIGNUM *d = NULL;
		size_t field = (p11_alg_bits(alg) + 7) / 8;
		if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
		    BN_bn2binpad(d, buf, (int)field) != (int)field)
			err = 1;
		else
			err |= p11_attr_set(o, CKA_VALUE, buf, field);
		BN_clear_free(d);
	} else if (priv) {
		len = 32;
		if (EVP_PKEY_get_raw_private_key(pk, buf, &len) != 1 || len != 32)
			err = 1;
		else
			err |= p11_attr_set(o, CKA_VALUE, buf, 32);
	}
	sodium_memzero(buf, sizeof(buf));
	o->alg = alg;
	return err ? CKR_HOST_MEMORY : CKR_OK;
}

