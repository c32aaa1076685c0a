/*
 * software keys: session objects (CKA_TOKEN false) kept in host memory and
 * used with OpenSSL 3 in the module's own library context, as a software
 * token does. The card's keys never come here; these keys never go to the
 * card. Attribute rules: PKCS#11 3.0 base 4.4-4.10.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "p11_internal.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const uint8_t oid_p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2B, 0x65, 0x70 };
static const uint8_t oid_x25519[] = { 0x06, 0x03, 0x2B, 0x65, 0x6E };

void
p11_soft_free(void *pkey)
{
	EVP_PKEY_free(pkey);
}

/* ---- which attributes each class has (3.0 base 4.4-4.10) ---- */

static const CK_ATTRIBUTE_TYPE a_common[] = { CKA_CLASS, CKA_TOKEN,
    CKA_PRIVATE, CKA_MODIFIABLE, CKA_LABEL, CKA_COPYABLE, CKA_DESTROYABLE };
static const CK_ATTRIBUTE_TYPE a_data[] = { CKA_APPLICATION, CKA_OBJECT_ID,
    CKA_VALUE };
static const CK_ATTRIBUTE_TYPE a_cert[] = { CKA_CERTIFICATE_TYPE,
    CKA_TRUSTED, CKA_CERTIFICATE_CATEGORY, CKA_CHECK_VALUE, CKA_START_DATE,
    CKA_END_DATE, CKA_PUBLIC_KEY_INFO, CKA_SUBJECT, CKA_ID, CKA_ISSUER,
    CKA_SERIAL_NUMBER, CKA_VALUE, CKA_URL, CKA_HASH_OF_SUBJECT_PUBLIC_KEY,
    CKA_HASH_OF_ISSUER_PUBLIC_KEY, CKA_JAVA_MIDP_SECURITY_DOMAIN,
    CKA_NAME_HASH_ALGORITHM };
static const CK_ATTRIBUTE_TYPE a_key[] = { CKA_KEY_TYPE, CKA_ID,
    CKA_START_DATE, CKA_END_DATE, CKA_DERIVE, CKA_LOCAL,
    CKA_KEY_GEN_MECHANISM, CKA_ALLOWED_MECHANISMS };
static const CK_ATTRIBUTE_TYPE a_pub[] = { CKA_SUBJECT, CKA_ENCRYPT,
    CKA_VERIFY, CKA_VERIFY_RECOVER, CKA_WRAP, CKA_TRUSTED,
    CKA_PUBLIC_KEY_INFO, CKA_MODULUS, CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT,
    CKA_EC_PARAMS, CKA_EC_POINT };
static const CK_ATTRIBUTE_TYPE a_priv[] = { CKA_SUBJECT, CKA_SENSITIVE,
    CKA_DECRYPT, CKA_SIGN, CKA_SIGN_RECOVER, CKA_UNWRAP, CKA_EXTRACTABLE,
    CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_WRAP_WITH_TRUSTED,
    CKA_ALWAYS_AUTHENTICATE, CKA_PUBLIC_KEY_INFO, CKA_MODULUS,
    CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT,
    CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2,
    CKA_COEFFICIENT, CKA_EC_PARAMS, CKA_EC_POINT, CKA_VALUE };
static const CK_ATTRIBUTE_TYPE a_secret[] = { CKA_SENSITIVE, CKA_ENCRYPT,
    CKA_DECRYPT, CKA_SIGN, CKA_VERIFY, CKA_WRAP, CKA_UNWRAP,
    CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE,
    CKA_CHECK_VALUE, CKA_WRAP_WITH_TRUSTED, CKA_TRUSTED, CKA_VALUE,
    CKA_VALUE_LEN };

static bool
in_list(const CK_ATTRIBUTE_TYPE *l, size_t n, CK_ATTRIBUTE_TYPE t)
{
	for (size_t i = 0; i < n; i++)
		if (l[i] == t)
			return true;
	return false;
}

bool
p11_attr_known(CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE t)
{
	if (in_list(a_common, ARRAY_LEN(a_common), t))
		return true;
	switch (cls) {
	case CKO_DATA:
		return in_list(a_data, ARRAY_LEN(a_data), t);
	case CKO_CERTIFICATE:
		return in_list(a_cert, ARRAY_LEN(a_cert), t);
	case CKO_PUBLIC_KEY:
		return in_list(a_key, ARRAY_LEN(a_key), t) ||
		    in_list(a_pub, ARRAY_LEN(a_pub), t);
	case CKO_PRIVATE_KEY:
		return in_list(a_key, ARRAY_LEN(a_key), t) ||
		    in_list(a_priv, ARRAY_LEN(a_priv), t);
	case CKO_SECRET_KEY:
		return in_list(a_key, ARRAY_LEN(a_key), t) ||
		    in_list(a_secret, ARRAY_LEN(a_secret), t);
	default:
		return false;
	}
}

static bool
is_bool_attr(CK_ATTRIBUTE_TYPE t)
{
	switch (t) {
	case CKA_TOKEN: case CKA_PRIVATE: case CKA_MODIFIABLE:
	case CKA_COPYABLE: case CKA_DESTROYABLE: case CKA_DERIVE:
	case CKA_LOCAL: case CKA_ENCRYPT: case CKA_VERIFY:
	case CKA_VERIFY_RECOVER: case CKA_WRAP: case CKA_TRUSTED:
	case CKA_SENSITIVE: case CKA_DECRYPT: case CKA_SIGN:
	case CKA_SIGN_RECOVER: case CKA_UNWRAP: case CKA_EXTRACTABLE:
	case CKA_ALWAYS_SENSITIVE: case CKA_NEVER_EXTRACTABLE:
	case CKA_WRAP_WITH_TRUSTED: case CKA_ALWAYS_AUTHENTICATE:
		return true;
	default:
		return false;
	}
}

/* set only by the module (3.0 base 4.4 table footnotes 4 and 6) */
static bool
module_only(CK_ATTRIBUTE_TYPE t)
{
	return t == CKA_LOCAL || t == CKA_ALWAYS_SENSITIVE ||
	    t == CKA_NEVER_EXTRACTABLE || t == CKA_KEY_GEN_MECHANISM ||
	    t == CKA_MODULUS_BITS || t == CKA_PUBLIC_KEY_INFO ||
	    t == CKA_CHECK_VALUE || t == CKA_ALLOWED_MECHANISMS;
}

static bool
is_material(CK_ATTRIBUTE_TYPE t)
{
	switch (t) {
	case CKA_MODULUS: case CKA_PUBLIC_EXPONENT: case CKA_PRIVATE_EXPONENT:
	case CKA_PRIME_1: case CKA_PRIME_2: case CKA_EXPONENT_1:
	case CKA_EXPONENT_2: case CKA_COEFFICIENT: case CKA_EC_PARAMS:
	case CKA_EC_POINT: case CKA_VALUE: case CKA_VALUE_LEN:
		return true;
	default:
		return false;
	}
}

/*
 * checks a template for an object of class cls: every attribute known,
 * booleans well formed, nothing only the module sets. keygen: the key
 * material comes from the module too (its parameters are the caller's)
 */
static CK_RV
tmpl_valid(CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *t, CK_ULONG n,
    bool keygen, bool so)
{
	for (CK_ULONG i = 0; i < n; i++) {
		if (!p11_attr_known(cls, t[i].type))
			return CKR_ATTRIBUTE_TYPE_INVALID;
		if (is_bool_attr(t[i].type) && (t[i].ulValueLen !=
		    sizeof(CK_BBOOL) || t[i].pValue == NULL ||
		    *(const CK_BBOOL *)t[i].pValue > 1))
			return CKR_ATTRIBUTE_VALUE_INVALID;
		if (module_only(t[i].type) && !(keygen &&
		    t[i].type == CKA_MODULUS_BITS))
			return CKR_ATTRIBUTE_READ_ONLY;
		if (keygen && is_material(t[i].type) &&
		    t[i].type != CKA_PUBLIC_EXPONENT &&
		    t[i].type != CKA_EC_PARAMS && t[i].type != CKA_VALUE_LEN)
			return CKR_ATTRIBUTE_READ_ONLY;
		/* only the SO makes a key trusted (3.0 base 4.8) */
		if (t[i].type == CKA_TRUSTED && !so &&
		    *(const CK_BBOOL *)t[i].pValue)
			return CKR_ATTRIBUTE_READ_ONLY;
	}
	return CKR_OK;
}

static int
set_default_bool(p11_object *o, CK_ATTRIBUTE_TYPE t, bool v)
{
	return p11_attr_find(o, t) != NULL ? 0 : p11_attr_bool(o, t, v);
}

static int
set_default_empty(p11_object *o, CK_ATTRIBUTE_TYPE t)
{
	return p11_attr_find(o, t) != NULL ? 0 : p11_attr_set(o, t, NULL, 0);
}

/* copies the template's attributes and the defaults of a session object */
static CK_RV
obj_from_template(p11_object *o, const CK_ATTRIBUTE *t, CK_ULONG n,
    bool local, CK_MECHANISM_TYPE gen_mech)
{
	int err = 0;
	bool sens, extr;

	for (CK_ULONG i = 0; i < n; i++) {
		if (t[i].type == CKA_CLASS || (is_material(t[i].type) &&
		    o->cls != CKO_DATA))
			continue;
		err |= p11_attr_set(o, t[i].type, t[i].pValue, t[i].ulValueLen);
	}
	err |= p11_attr_bool(o, CKA_TOKEN, false);
	err |= set_default_bool(o, CKA_PRIVATE, o->cls == CKO_PRIVATE_KEY ||
	    o->cls == CKO_SECRET_KEY);
	err |= set_default_bool(o, CKA_MODIFIABLE, true);
	err |= set_default_bool(o, CKA_COPYABLE, true);
	err |= set_default_bool(o, CKA_DESTROYABLE, true);
	err |= set_default_empty(o, CKA_LABEL);
	if (o->cls == CKO_DATA) {
		err |= set_default_empty(o, CKA_APPLICATION);
		err |= set_default_empty(o, CKA_OBJECT_ID);
		err |= set_default_empty(o, CKA_VALUE);
		goto out;
	}
	err |= set_default_empty(o, CKA_ID);
	err |= set_default_empty(o, CKA_START_DATE);
	err |= set_default_empty(o, CKA_END_DATE);
	err |= set_default_bool(o, CKA_DERIVE, false);
	err |= p11_attr_bool(o, CKA_LOCAL, local);
	err |= p11_attr_ulong(o, CKA_KEY_GEN_MECHANISM, local ? gen_mech :
	    CK_UNAVAILABLE_INFORMATION);
	if (o->cls == CKO_PUBLIC_KEY) {
		err |= set_default_empty(o, CKA_SUBJECT);
		err |= set_default_bool(o, CKA_ENCRYPT, true);
		err |= set_default_bool(o, CKA_VERIFY, true);
		err |= set_default_bool(o, CKA_VERIFY_RECOVER, true);
		err |= set_default_bool(o, CKA_WRAP, true);
		err |= set_default_bool(o, CKA_TRUSTED, false);
		goto out;
	}
	if (o->cls == CKO_PRIVATE_KEY) {
		err |= set_default_empty(o, CKA_SUBJECT);
		err |= set_default_bool(o, CKA_SIGN_RECOVER, true);
		err |= set_default_bool(o, CKA_ALWAYS_AUTHENTICATE, false);
	} else {
		err |= set_default_bool(o, CKA_ENCRYPT, true);
		err |= set_default_bool(o, CKA_VERIFY, true);
		err |= set_default_bool(o, CKA_WRAP, true);
		err |= set_default_bool(o, CKA_TRUSTED, false);
	}
	err |= set_default_bool(o, CKA_DECRYPT, true);
	err |= set_default_bool(o, CKA_SIGN, true);
	err |= set_default_bool(o, CKA_UNWRAP, true);
	/* sensitive unless the caller says otherwise: a value is read only on purpose */
	err |= set_default_bool(o, CKA_SENSITIVE, true);
	err |= set_default_bool(o, CKA_EXTRACTABLE, true);
	err |= set_default_bool(o, CKA_WRAP_WITH_TRUSTED, false);
	sens = p11_attr_true(o, CKA_SENSITIVE);
	extr = p11_attr_true(o, CKA_EXTRACTABLE);
	err |= p11_attr_bool(o, CKA_ALWAYS_SENSITIVE, local && sens);
	err |= p11_attr_bool(o, CKA_NEVER_EXTRACTABLE, local && !extr);
out:
	o->soft = true;
	o->private_obj = p11_attr_true(o, CKA_PRIVATE);
	return err ? CKR_HOST_MEMORY : CKR_OK;
}

/* ---- building OpenSSL keys ---- */

static EVP_PKEY *
pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, int selection)
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

static const CK_ATTRIBUTE *
want(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
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

static CK_RV
rsa_from_template(const CK_ATTRIBUTE *t, CK_ULONG n, bool priv,
    EVP_PKEY **out)
{
	static const CK_ATTRIBUTE_TYPE crt[5] = { CKA_PRIME_1, CKA_PRIME_2,
	    CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT };
	static const char *const crt_names[5] = { OSSL_PKEY_PARAM_RSA_FACTOR1,
	    OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
	    OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1 };
	const CK_ATTRIBUTE *mod = want(t, n, CKA_MODULUS);
	const CK_ATTRIBUTE *e = want(t, n, CKA_PUBLIC_EXPONENT);
	const CK_ATTRIBUTE *d = want(t, n, CKA_PRIVATE_EXPONENT);
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
			have += want(t, n, crt[i]) != NULL;
		rv = CKR_TEMPLATE_INCONSISTENT;
		if (have != 0 && have != 5)
			goto out;
		for (size_t i = 0; i < have; i++)
			err |= push_bn(bld, crt_names[i], want(t, n, crt[i]),
			    &bn[3 + i]);
	}
	rv = CKR_HOST_MEMORY;
	if (err)
		goto out;
	*out = pkey_fromdata("RSA", bld, priv ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY);
	rv = *out != NULL ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
out:
	for (size_t i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_BLD_free(bld);
	return rv;
}

/* the curve of CKA_EC_PARAMS: OID or PrintableString name (3.0 2.3.3) */
static uint8_t
curve_of(const CK_ATTRIBUTE *a, CK_KEY_TYPE kt)
{
	static const struct {
		const uint8_t *oid;
		size_t len;
		const char *name, *alias;
		uint8_t alg;
		CK_KEY_TYPE kt;
	} c[] = {
		{ oid_p256, sizeof(oid_p256), "prime256v1", "secp256r1", P11_ALG_P256, CKK_EC },
		{ oid_p384, sizeof(oid_p384), "secp384r1", "secp384r1", P11_ALG_P384, CKK_EC },
		{ oid_ed25519, sizeof(oid_ed25519), "edwards25519", "Ed25519", P11_ALG_ED25519, CKK_EC_EDWARDS },
		{ oid_x25519, sizeof(oid_x25519), "curve25519", "X25519", P11_ALG_X25519, CKK_EC_MONTGOMERY },
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

static const char *
group_name(uint8_t alg)
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

static CK_RV
ec_from_template(const CK_ATTRIBUTE *t, CK_ULONG n, CK_KEY_TYPE kt,
    bool priv, EVP_PKEY **out, uint8_t *alg)
{
	const CK_ATTRIBUTE *params = want(t, n, CKA_EC_PARAMS);
	const CK_ATTRIBUTE *a = want(t, n, priv ? CKA_VALUE : CKA_EC_POINT);
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *d = NULL;
	uint8_t pt[133];
	const uint8_t *p;
	size_t pt_len = sizeof(pt), field;
	CK_RV rv = CKR_TEMPLATE_INCOMPLETE;

	if (a == NULL || (kt == CKK_EC && params == NULL))
		goto out;
	rv = CKR_CURVE_NOT_SUPPORTED;
	if ((*alg = curve_of(params, kt)) == P11_ALG_NONE)
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
	    group_name(*alg), 0) != 1)
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
	*out = pkey_fromdata("EC", bld, priv ? EVP_PKEY_KEYPAIR :
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
static CK_RV
key_attrs_from_pkey(p11_object *o, EVP_PKEY *pk, uint8_t alg)
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

static uint8_t
rsa_alg(size_t bits)
{
	return bits == 1024 ? P11_ALG_RSA1024 : bits == 2048 ? P11_ALG_RSA2048 :
	    bits == 3072 ? P11_ALG_RSA3072 : bits == 4096 ? P11_ALG_RSA4096 :
	    P11_ALG_RSA_SOFT;
}

static CK_RV
add_object(p11_session *s, p11_slot *slot, p11_object *o,
    CK_OBJECT_HANDLE *out)
{
	o->session = s->handle;
	o->soft = true;
	p11_object_append(&slot->objects, o);
	if (out != NULL)
		*out = o->handle;
	return CKR_OK;
}

/* a private session object needs the user (3.0 base 5.6 table 8) */
static CK_RV
may_create(p11_slot *slot, const CK_ATTRIBUTE *t, CK_ULONG n,
    CK_OBJECT_CLASS cls)
{
	bool priv = cls == CKO_PRIVATE_KEY || cls == CKO_SECRET_KEY, found;
	CK_RV rv = p11_tmpl_bool(t, n, CKA_PRIVATE, &priv, &found);

	if (rv != CKR_OK)
		return rv;
	if (priv && slot->login != CKU_USER)
		return CKR_USER_NOT_LOGGED_IN;
	return CKR_OK;
}

bool
p11_secret_len_ok(CK_KEY_TYPE kt, size_t len)
{
	switch (kt) {
	case CKK_AES:
		return len == 16 || len == 24 || len == 32;
	case CKK_DES3:
		return len == 24;
	case CKK_GENERIC_SECRET:
		return len >= 1 && len <= 512;
	default:
		return false;
	}
}

/* a session X.509 certificate: the caller's attributes, the rest parsed */
static CK_RV
session_cert(p11_session *s, p11_slot *slot, const CK_ATTRIBUTE *t,
    CK_ULONG n, CK_OBJECT_HANDLE *out)
{
	const CK_ATTRIBUTE *v = want(t, n, CKA_VALUE);
	p11_object *o = NULL;
	p11_x509 x;
	CK_ULONG ct;
	bool found;
	int err = 0;
	CK_RV rv;

	memset(&x, 0, sizeof(x));
	if ((rv = p11_tmpl_ulong(t, n, CKA_CERTIFICATE_TYPE, &ct, &found)) != CKR_OK)
		return rv;
	if (found && ct != CKC_X_509)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (v == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	if ((rv = p11_x509_parse(v->pValue, v->ulValueLen, &x)) != CKR_OK)
		return rv;
	rv = CKR_HOST_MEMORY;
	if ((o = p11_object_new(CKO_CERTIFICATE)) == NULL)
		goto out;
	for (CK_ULONG i = 0; i < n; i++)
		if (t[i].type != CKA_CLASS)
			err |= p11_attr_set(o, t[i].type, t[i].pValue, t[i].ulValueLen);
	err |= p11_attr_bool(o, CKA_TOKEN, false);
	err |= set_default_bool(o, CKA_PRIVATE, false);
	err |= set_default_bool(o, CKA_MODIFIABLE, true);
	err |= set_default_bool(o, CKA_COPYABLE, true);
	err |= set_default_bool(o, CKA_DESTROYABLE, true);
	err |= set_default_empty(o, CKA_LABEL);
	err |= set_default_empty(o, CKA_ID);
	err |= p11_attr_ulong(o, CKA_CERTIFICATE_TYPE, CKC_X_509);
	err |= set_default_bool(o, CKA_TRUSTED, false);
	if (p11_attr_find(o, CKA_SUBJECT) == NULL)
		err |= p11_attr_set(o, CKA_SUBJECT, x.subject, x.subject_len);
	if (p11_attr_find(o, CKA_ISSUER) == NULL)
		err |= p11_attr_set(o, CKA_ISSUER, x.issuer, x.issuer_len);
	if (p11_attr_find(o, CKA_SERIAL_NUMBER) == NULL)
		err |= p11_attr_set(o, CKA_SERIAL_NUMBER, x.serial, x.serial_len);
	err |= p11_attr_set(o, CKA_PUBLIC_KEY_INFO, x.spki, x.spki_len);
	if (err)
		goto out;
	o->soft = true;
	o->private_obj = p11_attr_true(o, CKA_PRIVATE);
	rv = add_object(s, slot, o, out);
	o = NULL;
out:
	p11_x509_clear(&x);
	p11_object_free(&o);
	return rv;
}

CK_RV
p11_soft_create(p11_session *s, p11_slot *slot, const CK_ATTRIBUTE *t,
    CK_ULONG n, CK_OBJECT_HANDLE *out)
{
	CK_ULONG cls, kt = 0, vlen;
	bool found, vlen_found;
	p11_object *o = NULL;
	EVP_PKEY *pk = NULL;
	const CK_ATTRIBUTE *v;
	uint8_t alg = P11_ALG_NONE;
	CK_RV rv;

	if ((rv = p11_tmpl_ulong(t, n, CKA_CLASS, &cls, &found)) != CKR_OK)
		return rv;
	if (!found)
		return CKR_TEMPLATE_INCOMPLETE;
	if (cls != CKO_DATA && cls != CKO_PUBLIC_KEY && cls != CKO_PRIVATE_KEY &&
	    cls != CKO_SECRET_KEY && cls != CKO_CERTIFICATE)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((rv = tmpl_valid(cls, t, n, false, slot->login == CKU_SO)) != CKR_OK)
		return rv;
	if ((rv = may_create(slot, t, n, cls)) != CKR_OK)
		return rv;
	if (cls == CKO_CERTIFICATE)
		return session_cert(s, slot, t, n, out);
	if (cls != CKO_DATA) {
		if ((rv = p11_tmpl_ulong(t, n, CKA_KEY_TYPE, &kt, &found)) != CKR_OK)
			return rv;
		if (!found)
			return CKR_TEMPLATE_INCOMPLETE;
	}
	if ((o = p11_object_new(cls)) == NULL)
		return CKR_HOST_MEMORY;
	if ((rv = obj_from_template(o, t, n, false, 0)) != CKR_OK)
		goto out;
	if (cls == CKO_DATA)
		goto done;
	rv = CKR_ATTRIBUTE_VALUE_INVALID;
	if (cls == CKO_SECRET_KEY) {
		v = p11_tmpl_find(t, n, CKA_VALUE);
		if (v == NULL) {
			rv = CKR_TEMPLATE_INCOMPLETE;
			goto out;
		}
		if ((rv = p11_tmpl_ulong(t, n, CKA_VALUE_LEN, &vlen,
		    &vlen_found)) != CKR_OK)
			goto out;
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		if (v->pValue == NULL || !p11_secret_len_ok(kt, v->ulValueLen) ||
		    (vlen_found && vlen != v->ulValueLen))
			goto out;
		if (p11_attr_set(o, CKA_VALUE, v->pValue, v->ulValueLen) != 0 ||
		    p11_attr_ulong(o, CKA_VALUE_LEN, v->ulValueLen) != 0) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		goto done;
	}
	if (kt == CKK_RSA) {
		rv = rsa_from_template(t, n, cls == CKO_PRIVATE_KEY, &pk);
		if (rv == CKR_OK)
			alg = rsa_alg((size_t)EVP_PKEY_get_bits(pk));
	} else if (kt == CKK_EC || kt == CKK_EC_EDWARDS ||
	    kt == CKK_EC_MONTGOMERY)
		rv = ec_from_template(t, n, kt, cls == CKO_PRIVATE_KEY, &pk, &alg);
	else
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
	if (rv != CKR_OK)
		goto out;
	if ((rv = key_attrs_from_pkey(o, pk, alg)) != CKR_OK)
		goto out;
	o->pkey = pk;
	pk = NULL;
done:
	rv = add_object(s, slot, o, out);
	o = NULL;
out:
	EVP_PKEY_free(pk);
	p11_object_free(&o);
	return rv;
}

/* ---- generation ---- */

static CK_RV
keypair_params(const CK_MECHANISM *m, const CK_ATTRIBUTE *pub_t,
    CK_ULONG pub_n, uint8_t *alg, size_t *bits, BIGNUM **e)
{
	const CK_ATTRIBUTE *a;
	CK_ULONG b;
	bool found;
	CK_RV rv;

	switch (m->mechanism) {
	case CKM_RSA_PKCS_KEY_PAIR_GEN:
		rv = p11_tmpl_ulong(pub_t, pub_n, CKA_MODULUS_BITS, &b, &found);
		if (rv != CKR_OK)
			return rv;
		if (!found)
			return CKR_TEMPLATE_INCOMPLETE;
		if (b < 1024 || b > 4096 || b % 8 != 0)
			return CKR_KEY_SIZE_RANGE;
		*bits = b;
		*alg = rsa_alg(b);
		a = want(pub_t, pub_n, CKA_PUBLIC_EXPONENT);
		if (a != NULL) {
			if (a->ulValueLen > 8 ||
			    (*e = BN_bin2bn(a->pValue, (int)a->ulValueLen, NULL)) == NULL)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			/* an odd exponent of at least 3 (RFC 8017 3.1) */
			if (!BN_is_odd(*e) || BN_is_one(*e))
				return CKR_ATTRIBUTE_VALUE_INVALID;
		}
		return CKR_OK;
	case CKM_EC_KEY_PAIR_GEN:
		a = want(pub_t, pub_n, CKA_EC_PARAMS);
		if (a == NULL)
			return CKR_TEMPLATE_INCOMPLETE;
		*alg = curve_of(a, CKK_EC);
		return *alg != P11_ALG_NONE ? CKR_OK : CKR_CURVE_NOT_SUPPORTED;
	case CKM_EC_EDWARDS_KEY_PAIR_GEN:
		*alg = curve_of(want(pub_t, pub_n, CKA_EC_PARAMS), CKK_EC_EDWARDS);
		return *alg != P11_ALG_NONE ? CKR_OK : CKR_CURVE_NOT_SUPPORTED;
	case CKM_EC_MONTGOMERY_KEY_PAIR_GEN:
		*alg = curve_of(want(pub_t, pub_n, CKA_EC_PARAMS),
		    CKK_EC_MONTGOMERY);
		return *alg != P11_ALG_NONE ? CKR_OK : CKR_CURVE_NOT_SUPPORTED;
	default:
		return CKR_MECHANISM_INVALID;
	}
}

static EVP_PKEY *
generate(uint8_t alg, size_t bits, const BIGNUM *e)
{
	const char *name = p11_alg_is_rsa(alg) ? "RSA" : p11_alg_is_ec(alg) ?
	    "EC" : alg == P11_ALG_ED25519 ? "ED25519" : "X25519";
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(p11_libctx(), name, NULL);
	EVP_PKEY *pk = NULL;
	int ok;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1)
		goto out;
	ok = 1;
	if (p11_alg_is_rsa(alg)) {
		ok = EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) == 1;
		if (ok && e != NULL) {
			BIGNUM *copy = BN_dup(e);
			ok = copy != NULL &&
			    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, copy) == 1;
			BN_free(copy);
		}
	} else if (p11_alg_is_ec(alg))
		ok = EVP_PKEY_CTX_set_group_name(ctx, group_name(alg)) == 1;
	if (ok && EVP_PKEY_keygen(ctx, &pk) != 1)
		pk = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

CK_RV
p11_soft_keypair(p11_session *s, p11_slot *slot, const CK_MECHANISM *m,
    const CK_ATTRIBUTE *pub_t, CK_ULONG pub_n, const CK_ATTRIBUTE *priv_t,
    CK_ULONG priv_n, CK_OBJECT_HANDLE *pub_h, CK_OBJECT_HANDLE *priv_h)
{
	p11_object *pub = NULL, *priv = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *e = NULL;
	uint8_t alg = P11_ALG_NONE;
	size_t bits = 0;
	CK_ULONG v;
	bool found;
	CK_KEY_TYPE kt;
	CK_RV rv;

	if ((rv = keypair_params(m, pub_t, pub_n, &alg, &bits, &e)) != CKR_OK)
		goto out;
	kt = p11_alg_is_rsa(alg) ? CKK_RSA : p11_alg_is_ec(alg) ? CKK_EC :
	    alg == P11_ALG_ED25519 ? CKK_EC_EDWARDS : CKK_EC_MONTGOMERY;
	rv = CKR_TEMPLATE_INCONSISTENT;
	for (int i = 0; i < 2; i++) {
		const CK_ATTRIBUTE *t = i ? priv_t : pub_t;
		CK_ULONG n = i ? priv_n : pub_n;
		CK_OBJECT_CLASS cls = i ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY;
		CK_RV r;
		if ((r = p11_tmpl_ulong(t, n, CKA_CLASS, &v, &found)) != CKR_OK) {
			rv = r;
			goto out;
		}
		if (found && v != cls)
			goto out;
		if ((r = p11_tmpl_ulong(t, n, CKA_KEY_TYPE, &v, &found)) != CKR_OK) {
			rv = r;
			goto out;
		}
		if (found && v != kt)
			goto out;
		if ((r = tmpl_valid(cls, t, n, true, slot->login == CKU_SO)) != CKR_OK ||
		    (r = may_create(slot, t, n, cls)) != CKR_OK) {
			rv = r;
			goto out;
		}
	}
	rv = CKR_HOST_MEMORY;
	if ((pub = p11_object_new(CKO_PUBLIC_KEY)) == NULL ||
	    (priv = p11_object_new(CKO_PRIVATE_KEY)) == NULL)
		goto out;
	rv = CKR_FUNCTION_FAILED;
	if ((pk = generate(alg, bits, e)) == NULL)
		goto out;
	if ((rv = obj_from_template(pub, pub_t, pub_n, true, m->mechanism)) != CKR_OK ||
	    (rv = obj_from_template(priv, priv_t, priv_n, true, m->mechanism)) != CKR_OK ||
	    (rv = key_attrs_from_pkey(pub, pk, alg)) != CKR_OK ||
	    (rv = key_attrs_from_pkey(priv, pk, alg)) != CKR_OK)
		goto out;
	if (EVP_PKEY_up_ref(pk) != 1)
		goto out;
	pub->pkey = pk;
	priv->pkey = pk;
	pk = NULL;
	(void)add_object(s, slot, pub, pub_h);
	(void)add_object(s, slot, priv, priv_h);
	pub = priv = NULL;
	rv = CKR_OK;
out:
	BN_free(e);
	EVP_PKEY_free(pk);
	p11_object_free(&pub);
	p11_object_free(&priv);
	return rv;
}

static CK_RV
new_secret(p11_session *s, p11_slot *slot, const uint8_t *value, size_t len,
    CK_KEY_TYPE kt, const CK_ATTRIBUTE *t, CK_ULONG n, bool local,
    CK_MECHANISM_TYPE gen, CK_OBJECT_HANDLE *out)
{
	p11_object *o = p11_object_new(CKO_SECRET_KEY);
	CK_RV rv = CKR_HOST_MEMORY;

	if (o == NULL)
		return rv;
	if ((rv = obj_from_template(o, t, n, local, gen)) != CKR_OK)
		goto out;
	rv = CKR_HOST_MEMORY;
	if (p11_attr_ulong(o, CKA_KEY_TYPE, kt) != 0 ||
	    p11_attr_set(o, CKA_VALUE, value, len) != 0 ||
	    p11_attr_ulong(o, CKA_VALUE_LEN, (CK_ULONG)len) != 0)
		goto out;
	rv = add_object(s, slot, o, out);
	o = NULL;
out:
	p11_object_free(&o);
	return rv;
}

CK_RV
p11_soft_genkey(p11_session *s, p11_slot *slot, const CK_MECHANISM *m,
    const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
	uint8_t key[512];
	CK_ULONG len = 0, v;
	CK_KEY_TYPE kt;
	bool found;
	CK_RV rv;

	switch (m->mechanism) {
	case CKM_AES_KEY_GEN:
		kt = CKK_AES;
		break;
	case CKM_DES3_KEY_GEN:
		kt = CKK_DES3;
		len = 24;
		break;
	case CKM_GENERIC_SECRET_KEY_GEN:
		kt = CKK_GENERIC_SECRET;
		break;
	default:
		return CKR_MECHANISM_INVALID;
	}
	if (m->ulParameterLen != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	if ((rv = p11_tmpl_ulong(t, n, CKA_CLASS, &v, &found)) != CKR_OK)
		return rv;
	if (found && v != CKO_SECRET_KEY)
		return CKR_TEMPLATE_INCONSISTENT;
	if ((rv = p11_tmpl_ulong(t, n, CKA_KEY_TYPE, &v, &found)) != CKR_OK)
		return rv;
	if (found && v != kt)
		return CKR_TEMPLATE_INCONSISTENT;
	if ((rv = tmpl_valid(CKO_SECRET_KEY, t, n, true,
	    slot->login == CKU_SO)) != CKR_OK ||
	    (rv = may_create(slot, t, n, CKO_SECRET_KEY)) != CKR_OK)
		return rv;
	if ((rv = p11_tmpl_ulong(t, n, CKA_VALUE_LEN, &v, &found)) != CKR_OK)
		return rv;
	if (found)
		len = kt == CKK_DES3 && v != 24 ? 0 : v;
	else if (kt != CKK_DES3)
		return CKR_TEMPLATE_INCOMPLETE;
	if (!p11_secret_len_ok(kt, len))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	randombytes_buf(key, len);
	if (kt == CKK_DES3)
		for (size_t i = 0; i < len; i++) {
			/* odd parity, FIPS 46-3 */
			uint8_t b = key[i] & 0xFE, p = 1;
			for (int k = 1; k < 8; k++)
				p ^= (uint8_t)((b >> k) & 1);
			key[i] = b | p;
		}
	rv = new_secret(s, slot, key, len, kt, t, n, true, m->mechanism, out);
	sodium_memzero(key, sizeof(key));
	return rv;
}

CK_RV
p11_soft_secret(p11_session *s, p11_slot *slot, const uint8_t *value,
    size_t len, const CK_ATTRIBUTE *t, CK_ULONG n, bool local,
    CK_OBJECT_HANDLE *out)
{
	CK_ULONG v, kt = CKK_GENERIC_SECRET;
	bool found, sens = false, extr = true;
	CK_ATTRIBUTE *copy = NULL;
	CK_ULONG cn = 0;
	CK_RV rv;

	if ((rv = p11_tmpl_ulong(t, n, CKA_CLASS, &v, &found)) != CKR_OK)
		return rv;
	if (found && v != CKO_SECRET_KEY)
		return CKR_TEMPLATE_INCONSISTENT;
	if ((rv = p11_tmpl_ulong(t, n, CKA_KEY_TYPE, &kt, &found)) != CKR_OK)
		return rv;
	if ((rv = tmpl_valid(CKO_SECRET_KEY, t, n, true,
	    slot->login == CKU_SO)) != CKR_OK ||
	    (rv = may_create(slot, t, n, CKO_SECRET_KEY)) != CKR_OK)
		return rv;
	if ((rv = p11_tmpl_ulong(t, n, CKA_VALUE_LEN, &v, &found)) != CKR_OK)
		return rv;
	if (found) {
		if (v == 0 || v > len)
			return CKR_TEMPLATE_INCONSISTENT;
		len = v;
	}
	if (!p11_secret_len_ok(kt, len))
		return CKR_TEMPLATE_INCONSISTENT;
	/* unwrapped and derived keys: readable unless the template says not */
	(void)p11_tmpl_bool(t, n, CKA_SENSITIVE, &sens, &found);
	(void)p11_tmpl_bool(t, n, CKA_EXTRACTABLE, &extr, &found);
	copy = calloc(n + 2, sizeof(*copy));
	if (copy == NULL)
		return CKR_HOST_MEMORY;
	for (CK_ULONG i = 0; i < n; i++)
		if (t[i].type != CKA_SENSITIVE && t[i].type != CKA_EXTRACTABLE)
			copy[cn++] = t[i];
	copy[cn++] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &(CK_BBOOL){ sens ? CK_TRUE : CK_FALSE }, 1 };
	copy[cn++] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, &(CK_BBOOL){ extr ? CK_TRUE : CK_FALSE }, 1 };
	rv = new_secret(s, slot, value, len, kt, copy, cn, local,
	    CK_UNAVAILABLE_INFORMATION, out);
	free(copy);
	return rv;
}

/* ---- private-key operations ---- */

CK_RV
p11_soft_private(void *pkey, uint8_t alg, const uint8_t *in, size_t len,
    uint8_t *out, size_t *out_len)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *md = NULL;
	size_t n = *out_len;
	CK_RV rv = CKR_FUNCTION_FAILED;

	if (alg == P11_ALG_ED25519) {
		if ((md = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit_ex(md, NULL, NULL, p11_libctx(), NULL, pkey,
		    NULL) != 1 || EVP_DigestSign(md, out, &n, in, len) != 1)
			goto out;
		*out_len = n;
		rv = CKR_OK;
		goto out;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(p11_libctx(), pkey, NULL)) == NULL)
		goto out;
	if (p11_alg_is_rsa(alg)) {
		/* m^d mod n, as the card's GENERAL AUTHENTICATE (piv.md 2.7 d) */
		if (EVP_PKEY_decrypt_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) != 1)
			goto out;
		if (EVP_PKEY_decrypt(ctx, out, &n, in, len) != 1) {
			rv = CKR_DATA_INVALID;
			goto out;
		}
	} else {
		if (EVP_PKEY_sign_init(ctx) != 1 ||
		    EVP_PKEY_sign(ctx, out, &n, in, len) != 1)
			goto out;
	}
	*out_len = n;
	rv = CKR_OK;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(ctx);
	return rv;
}

CK_RV
p11_soft_ecdh(void *pkey, uint8_t alg, const uint8_t *peer, size_t peer_len,
    uint8_t *out, size_t *out_len)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pp = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	size_t n = *out_len;
	CK_RV rv = CKR_MECHANISM_PARAM_INVALID;

	if (alg == P11_ALG_X25519)
		pp = EVP_PKEY_new_raw_public_key_ex(p11_libctx(), "X25519", NULL,
		    peer, peer_len);
	else if ((bld = OSSL_PARAM_BLD_new()) != NULL &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group_name(alg), 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, peer,
	    peer_len) == 1)
		pp = pkey_fromdata("EC", bld, EVP_PKEY_PUBLIC_KEY);
	if (pp == NULL)
		goto out;
	rv = CKR_FUNCTION_FAILED;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(p11_libctx(), pkey, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1)
		goto out;
	rv = CKR_MECHANISM_PARAM_INVALID;
	if (EVP_PKEY_derive_set_peer_ex(ctx, pp, 1) != 1)
		goto out;
	rv = CKR_FUNCTION_FAILED;
	if (EVP_PKEY_derive(ctx, out, &n) != 1)
		goto out;
	*out_len = n;
	rv = CKR_OK;
out:
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_free(pp);
	EVP_PKEY_CTX_free(ctx);
	return rv;
}
