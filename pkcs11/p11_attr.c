/*
 * the attribute rules of each object class (PKCS#11 3.0 base 4.4-4.10):
 * which attributes a class has, which a template may give, the defaults of
 * a session object, which a caller may change, and copying
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "p11_internal.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

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
CK_RV
p11_tmpl_valid(CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *t, CK_ULONG n,
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

/* copies the template's attributes and the defaults of a session object */
CK_RV
p11_soft_defaults(p11_object *o, const CK_ATTRIBUTE *t, CK_ULONG n,
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
	err |= p11_attr_default_bool(o, CKA_PRIVATE, o->cls == CKO_PRIVATE_KEY ||
	    o->cls == CKO_SECRET_KEY);
	err |= p11_attr_default_bool(o, CKA_MODIFIABLE, true);
	err |= p11_attr_default_bool(o, CKA_COPYABLE, true);
	err |= p11_attr_default_bool(o, CKA_DESTROYABLE, true);
	err |= p11_attr_default_empty(o, CKA_LABEL);
	if (o->cls == CKO_DATA) {
		err |= p11_attr_default_empty(o, CKA_APPLICATION);
		err |= p11_attr_default_empty(o, CKA_OBJECT_ID);
		err |= p11_attr_default_empty(o, CKA_VALUE);
		goto out;
	}
	err |= p11_attr_default_empty(o, CKA_ID);
	err |= p11_attr_default_empty(o, CKA_START_DATE);
	err |= p11_attr_default_empty(o, CKA_END_DATE);
	err |= p11_attr_default_bool(o, CKA_DERIVE, false);
	err |= p11_attr_bool(o, CKA_LOCAL, local);
	err |= p11_attr_ulong(o, CKA_KEY_GEN_MECHANISM, local ? gen_mech :
	    CK_UNAVAILABLE_INFORMATION);
	if (o->cls == CKO_PUBLIC_KEY) {
		err |= p11_attr_default_empty(o, CKA_SUBJECT);
		err |= p11_attr_default_bool(o, CKA_ENCRYPT, true);
		err |= p11_attr_default_bool(o, CKA_VERIFY, true);
		err |= p11_attr_default_bool(o, CKA_VERIFY_RECOVER, true);
		err |= p11_attr_default_bool(o, CKA_WRAP, true);
		err |= p11_attr_default_bool(o, CKA_TRUSTED, false);
		goto out;
	}
	if (o->cls == CKO_PRIVATE_KEY) {
		err |= p11_attr_default_empty(o, CKA_SUBJECT);
		err |= p11_attr_default_bool(o, CKA_SIGN_RECOVER, true);
		err |= p11_attr_default_bool(o, CKA_ALWAYS_AUTHENTICATE, false);
	} else {
		err |= p11_attr_default_bool(o, CKA_ENCRYPT, true);
		err |= p11_attr_default_bool(o, CKA_VERIFY, true);
		err |= p11_attr_default_bool(o, CKA_WRAP, true);
		err |= p11_attr_default_bool(o, CKA_TRUSTED, false);
	}
	err |= p11_attr_default_bool(o, CKA_DECRYPT, true);
	err |= p11_attr_default_bool(o, CKA_SIGN, true);
	err |= p11_attr_default_bool(o, CKA_UNWRAP, true);
	/* sensitive unless the caller says otherwise: a value is read only on purpose */
	err |= p11_attr_default_bool(o, CKA_SENSITIVE, true);
	err |= p11_attr_default_bool(o, CKA_EXTRACTABLE, true);
	err |= p11_attr_default_bool(o, CKA_WRAP_WITH_TRUSTED, false);
	sens = p11_attr_true(o, CKA_SENSITIVE);
	extr = p11_attr_true(o, CKA_EXTRACTABLE);
	err |= p11_attr_bool(o, CKA_ALWAYS_SENSITIVE, local && sens);
	err |= p11_attr_bool(o, CKA_NEVER_EXTRACTABLE, local && !extr);
out:
	o->soft = true;
	o->private_obj = p11_attr_true(o, CKA_PRIVATE);
	return err ? CKR_HOST_MEMORY : CKR_OK;
}

bool
p11_secret_len_ok(CK_KEY_TYPE kt, size_t len)
{
	switch (kt) {
	case CKK_AES:
		return len == 16 || len == 24 || len == 32;
	case CKK_DES3:
		return len == 24;
	case CKK_WK_SM4:
		return len == 16;
	case CKK_GENERIC_SECRET:
		return len >= 1 && len <= 512;
	default:
		return false;
	}
}

/* attributes a caller may change after creation (3.0 base 4.4-4.10) */
static bool
modifiable_attr(CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE t)
{
	switch (t) {
	case CKA_LABEL:
		return true;
	case CKA_APPLICATION:
	case CKA_OBJECT_ID:
		return cls == CKO_DATA;
	case CKA_VALUE:
		return cls == CKO_DATA;
	case CKA_ID:
	case CKA_START_DATE:
	case CKA_END_DATE:
	case CKA_DERIVE:
		return cls != CKO_DATA;
	case CKA_SUBJECT:
		return cls == CKO_PUBLIC_KEY || cls == CKO_PRIVATE_KEY;
	case CKA_ENCRYPT:
	case CKA_VERIFY:
	case CKA_WRAP:
		return cls == CKO_PUBLIC_KEY || cls == CKO_SECRET_KEY;
	case CKA_VERIFY_RECOVER:
		return cls == CKO_PUBLIC_KEY;
	case CKA_DECRYPT:
	case CKA_SIGN:
	case CKA_UNWRAP:
	case CKA_SENSITIVE:
	case CKA_EXTRACTABLE:
	case CKA_WRAP_WITH_TRUSTED:
		return cls == CKO_PRIVATE_KEY || cls == CKO_SECRET_KEY;
	case CKA_SIGN_RECOVER:
		return cls == CKO_PRIVATE_KEY;
	case CKA_TRUSTED:
		return cls == CKO_PUBLIC_KEY || cls == CKO_SECRET_KEY;
	default:
		return false;
	}
}

/*
 * C_SetAttributeValue and the template of C_CopyObject: all or nothing.
 * The latches are the Tookan defences: CKA_SENSITIVE only goes to true,
 * CKA_EXTRACTABLE only to false, CKA_WRAP_WITH_TRUSTED only to true, and
 * only the SO sets CKA_TRUSTED.
 */
CK_RV
p11_object_set_attrs(p11_object *obj, const CK_ATTRIBUTE *t, CK_ULONG n,
    bool so, bool copying)
{
	CK_RV rv;

	if ((rv = p11_tmpl_check(t, n)) != CKR_OK)
		return rv;
	if (!copying && !p11_attr_true(obj, CKA_MODIFIABLE))
		return CKR_ACTION_PROHIBITED;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_ATTRIBUTE_TYPE ty = t[i].type;
		bool b = false, cur;

		if (!p11_attr_known(obj->cls, ty))
			return CKR_ATTRIBUTE_TYPE_INVALID;
		switch (ty) {
		case CKA_TOKEN: case CKA_PRIVATE: case CKA_MODIFIABLE:
		case CKA_COPYABLE: case CKA_DESTROYABLE: case CKA_DERIVE:
		case CKA_ENCRYPT: case CKA_VERIFY: case CKA_VERIFY_RECOVER:
		case CKA_WRAP: case CKA_TRUSTED: case CKA_SENSITIVE:
		case CKA_DECRYPT: case CKA_SIGN: case CKA_SIGN_RECOVER:
		case CKA_UNWRAP: case CKA_EXTRACTABLE: case CKA_WRAP_WITH_TRUSTED:
			if (t[i].ulValueLen != sizeof(CK_BBOOL) || t[i].pValue == NULL ||
			    *(const CK_BBOOL *)t[i].pValue > 1)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			b = *(const CK_BBOOL *)t[i].pValue == CK_TRUE;
			break;
		default:
			break;
		}
		cur = p11_attr_true(obj, ty);
		if (copying) {
			/* a copy may also be made private, or less changeable */
			if (ty == CKA_TOKEN) {
				if (b)
					return CKR_TEMPLATE_INCONSISTENT;
				continue;
			}
			if (ty == CKA_PRIVATE)
				continue;
			if ((ty == CKA_MODIFIABLE || ty == CKA_COPYABLE ||
			    ty == CKA_DESTROYABLE) && !b)
				continue;
		}
		if (!modifiable_attr(obj->cls, ty))
			return CKR_ATTRIBUTE_READ_ONLY;
		if ((ty == CKA_SENSITIVE || ty == CKA_WRAP_WITH_TRUSTED) &&
		    cur && !b)
			return CKR_ATTRIBUTE_READ_ONLY;
		if (ty == CKA_EXTRACTABLE && !cur && b)
			return CKR_ATTRIBUTE_READ_ONLY;
		if (ty == CKA_TRUSTED && b && !so)
			return CKR_ATTRIBUTE_READ_ONLY;
	}
	for (CK_ULONG i = 0; i < n; i++)
		if (p11_attr_set(obj, t[i].type, t[i].pValue, t[i].ulValueLen) != 0)
			return CKR_HOST_MEMORY;
	obj->private_obj = p11_attr_true(obj, CKA_PRIVATE);
	return CKR_OK;
}

CK_RV
p11_object_copy(const p11_object *obj, p11_object **out)
{
	p11_object *o = p11_object_new(obj->cls);

	if (o == NULL)
		return CKR_HOST_MEMORY;
	for (size_t i = 0; i < obj->n_attrs; i++)
		if (p11_attr_set(o, obj->attrs[i].type, obj->attrs[i].pValue,
		    obj->attrs[i].ulValueLen) != 0) {
			p11_object_free(&o);
			return CKR_HOST_MEMORY;
		}
	o->key_ref = obj->key_ref;
	o->tag = obj->tag;
	o->alg = obj->alg;
	o->private_obj = obj->private_obj;
	o->always_auth = obj->always_auth;
	o->session = obj->session;
	o->soft = obj->soft;
	if (obj->pkey != NULL) {
		if (EVP_PKEY_up_ref(obj->pkey) != 1) {
			p11_object_free(&o);
			return CKR_HOST_MEMORY;
		}
		o->pkey = obj->pkey;
	}
	*out = o;
	return CKR_OK;
}

