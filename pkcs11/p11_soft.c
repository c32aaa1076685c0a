/*
 * software keys: session objects (CKA_TOKEN false) kept in host memory and
 * used with OpenSSL 3 in the module's own library context, as a software
 * token does. The card's keys never come here; these keys never go to the
 * card. Here: creating, generating and using them; their attribute rules
 * are in p11_attr.c, the OpenSSL keys built from templates in
 * p11_soft_key.c.
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

#include "p11_soft.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

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

/* a session X.509 certificate: the caller's attributes, the rest parsed */
static CK_RV
session_cert(p11_session *s, p11_slot *slot, const CK_ATTRIBUTE *t,
    CK_ULONG n, CK_OBJECT_HANDLE *out)
{
	const CK_ATTRIBUTE *v = p11_tmpl_want(t, n, CKA_VALUE);
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
	err |= p11_attr_default_bool(o, CKA_PRIVATE, false);
	err |= p11_attr_default_bool(o, CKA_MODIFIABLE, true);
	err |= p11_attr_default_bool(o, CKA_COPYABLE, true);
	err |= p11_attr_default_bool(o, CKA_DESTROYABLE, true);
	err |= p11_attr_default_empty(o, CKA_LABEL);
	err |= p11_attr_default_empty(o, CKA_ID);
	err |= p11_attr_ulong(o, CKA_CERTIFICATE_TYPE, CKC_X_509);
	err |= p11_attr_default_bool(o, CKA_TRUSTED, false);
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
	if ((rv = p11_tmpl_valid(cls, t, n, false, slot->login == CKU_SO)) != CKR_OK)
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
	if ((rv = p11_soft_defaults(o, t, n, false, 0)) != CKR_OK)
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
		rv = p11_soft_rsa(t, n, cls == CKO_PRIVATE_KEY, &pk);
		if (rv == CKR_OK)
			alg = rsa_alg((size_t)EVP_PKEY_get_bits(pk));
	} else if (kt == CKK_EC || kt == CKK_EC_EDWARDS ||
	    kt == CKK_EC_MONTGOMERY)
		rv = p11_soft_ec(t, n, kt, cls == CKO_PRIVATE_KEY, &pk, &alg);
	else
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
	if (rv != CKR_OK)
		goto out;
	if ((rv = p11_soft_key_attrs(o, pk, alg)) != CKR_OK)
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
		a = p11_tmpl_want(pub_t, pub_n, CKA_PUBLIC_EXPONENT);
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
		a = p11_tmpl_want(pub_t, pub_n, CKA_EC_PARAMS);
		if (a == NULL)
			return CKR_TEMPLATE_INCOMPLETE;
		*alg = p11_soft_curve(a, CKK_EC);
		return *alg != P11_ALG_NONE ? CKR_OK : CKR_CURVE_NOT_SUPPORTED;
	case CKM_EC_EDWARDS_KEY_PAIR_GEN:
		*alg = p11_soft_curve(p11_tmpl_want(pub_t, pub_n, CKA_EC_PARAMS), CKK_EC_EDWARDS);
		return *alg != P11_ALG_NONE ? CKR_OK : CKR_CURVE_NOT_SUPPORTED;
	case CKM_EC_MONTGOMERY_KEY_PAIR_GEN:
		*alg = p11_soft_curve(p11_tmpl_want(pub_t, pub_n, CKA_EC_PARAMS),
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
		ok = EVP_PKEY_CTX_set_group_name(ctx, p11_soft_group(alg)) == 1;
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
		if ((r = p11_tmpl_valid(cls, t, n, true, slot->login == CKU_SO)) != CKR_OK ||
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
	if ((rv = p11_soft_defaults(pub, pub_t, pub_n, true, m->mechanism)) != CKR_OK ||
	    (rv = p11_soft_defaults(priv, priv_t, priv_n, true, m->mechanism)) != CKR_OK ||
	    (rv = p11_soft_key_attrs(pub, pk, alg)) != CKR_OK ||
	    (rv = p11_soft_key_attrs(priv, pk, alg)) != CKR_OK)
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
	if ((rv = p11_soft_defaults(o, t, n, local, gen)) != CKR_OK)
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
	case CKM_WK_SM4_KEY_GEN:
		kt = CKK_WK_SM4;
		len = 16;
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
	if ((rv = p11_tmpl_valid(CKO_SECRET_KEY, t, n, true,
	    slot->login == CKU_SO)) != CKR_OK ||
	    (rv = may_create(slot, t, n, CKO_SECRET_KEY)) != CKR_OK)
		return rv;
	if ((rv = p11_tmpl_ulong(t, n, CKA_VALUE_LEN, &v, &found)) != CKR_OK)
		return rv;
	if (found)
		len = kt == CKK_DES3 && v != 24 ? 0 : v;
	else if (kt != CKK_DES3 && kt != CKK_WK_SM4)
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
	if ((rv = p11_tmpl_valid(CKO_SECRET_KEY, t, n, true,
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
	    p11_soft_group(alg), 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, peer,
	    peer_len) == 1)
		pp = p11_soft_fromdata("EC", bld, EVP_PKEY_PUBLIC_KEY);
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

