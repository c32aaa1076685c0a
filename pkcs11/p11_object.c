/*
 * the object model: each object is a class plus a list of attributes built
 * once from what the card holds (certificate, SPKI, data container).
 * PKCS#11 2.40 base 5.7 (C_GetAttributeValue) semantics live here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "p11_internal.h"

p11_object *
p11_object_new(CK_OBJECT_CLASS cls)
{
	p11_object *obj = calloc(1, sizeof(*obj));

	if (obj == NULL)
		return NULL;
	obj->cls = cls;
	obj->handle = p11_handle_next();
	if (p11_attr_ulong(obj, CKA_CLASS, cls) != 0)
		p11_object_free(&obj);
	return obj;
}

void
p11_object_free(p11_object **objp)
{
	p11_object *obj;

	if (objp == NULL || (obj = *objp) == NULL)
		return;
	for (size_t i = 0; i < obj->n_attrs; i++) {
		if (obj->attrs[i].pValue != NULL)
			sodium_memzero(obj->attrs[i].pValue, obj->attrs[i].ulValueLen);
		free(obj->attrs[i].pValue);
	}
	free(obj->attrs);
	p11_soft_free(obj->pkey);
	free(obj);
	*objp = NULL;
}

void
p11_object_append(p11_object **list, p11_object *obj)
{
	if (obj == NULL)
		return;
	while (*list != NULL)
		list = &(*list)->next;
	obj->next = NULL;
	*list = obj;
}

void
p11_object_free_list(p11_object **list)
{
	p11_object *o, *next;

	for (o = *list; o != NULL; o = next) {
		next = o->next;
		p11_object_free(&o);
	}
	*list = NULL;
}

int
p11_attr_set(p11_object *obj, CK_ATTRIBUTE_TYPE type, const void *value,
    size_t len)
{
	CK_ATTRIBUTE *a = NULL, *grown;
	void *copy = NULL;

	if (obj == NULL)
		return -1;
	if (len > 0) {
		if ((copy = malloc(len)) == NULL)
			return -1;
		memcpy(copy, value, len);
	}
	for (size_t i = 0; i < obj->n_attrs; i++)
		if (obj->attrs[i].type == type)
			a = &obj->attrs[i];
	if (a == NULL) {
		grown = realloc(obj->attrs, (obj->n_attrs + 1) * sizeof(*grown));
		if (grown == NULL) {
			free(copy);
			return -1;
		}
		obj->attrs = grown;
		a = &obj->attrs[obj->n_attrs++];
	} else
		free(a->pValue);
	a->type = type;
	a->pValue = copy;
	a->ulValueLen = (CK_ULONG)len;
	return 0;
}

int
p11_attr_bool(p11_object *obj, CK_ATTRIBUTE_TYPE type, bool v)
{
	CK_BBOOL b = v ? CK_TRUE : CK_FALSE;

	return p11_attr_set(obj, type, &b, sizeof(b));
}

int
p11_attr_ulong(p11_object *obj, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
	return p11_attr_set(obj, type, &v, sizeof(v));
}

const CK_ATTRIBUTE *
p11_attr_find(const p11_object *obj, CK_ATTRIBUTE_TYPE type)
{
	for (size_t i = 0; i < obj->n_attrs; i++)
		if (obj->attrs[i].type == type)
			return &obj->attrs[i];
	return NULL;
}

bool
p11_attr_true(const p11_object *obj, CK_ATTRIBUTE_TYPE type)
{
	const CK_ATTRIBUTE *a = p11_attr_find(obj, type);

	return a != NULL && a->ulValueLen == sizeof(CK_BBOOL) &&
	    *(const CK_BBOOL *)a->pValue == CK_TRUE;
}

/* attributes a private key has but never reveals (2.40 base 4.9) */
static bool
sensitive(const p11_object *obj, CK_ATTRIBUTE_TYPE type)
{
	/* an ECDH or unwrapped secret asked to be sensitive or unextractable */
	if (obj->cls == CKO_SECRET_KEY)
		return type == CKA_VALUE && (p11_attr_true(obj, CKA_SENSITIVE) ||
		    !p11_attr_true(obj, CKA_EXTRACTABLE));
	if (obj->cls != CKO_PRIVATE_KEY)
		return false;
	/* a session key the caller made readable (never one on the card) */
	if (obj->soft && !p11_attr_true(obj, CKA_SENSITIVE) &&
	    p11_attr_true(obj, CKA_EXTRACTABLE))
		return false;
	switch (type) {
	case CKA_VALUE:
		return !p11_alg_is_rsa(obj->alg);
	case CKA_PRIVATE_EXPONENT:
	case CKA_PRIME_1:
	case CKA_PRIME_2:
	case CKA_EXPONENT_1:
	case CKA_EXPONENT_2:
	case CKA_COEFFICIENT:
		return p11_alg_is_rsa(obj->alg);
	default:
		return false;
	}
}

CK_RV
p11_object_get_attrs(const p11_object *obj, CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
	CK_RV rv = CKR_OK;

	for (CK_ULONG i = 0; i < count; i++) {
		CK_ATTRIBUTE *t = &tmpl[i];
		const CK_ATTRIBUTE *a;

		if (sensitive(obj, t->type)) {
			t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_SENSITIVE;
			continue;
		}
		a = p11_attr_find(obj, t->type);
		if (a == NULL) {
			t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_TYPE_INVALID;
			continue;
		}
		if (t->pValue == NULL) {
			t->ulValueLen = a->ulValueLen;
			continue;
		}
		if (t->ulValueLen < a->ulValueLen) {
			t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_BUFFER_TOO_SMALL;
			continue;
		}
		if (a->ulValueLen > 0)
			memcpy(t->pValue, a->pValue, a->ulValueLen);
		t->ulValueLen = a->ulValueLen;
	}
	return rv;
}

bool
p11_object_match(const p11_object *obj, const CK_ATTRIBUTE *tmpl,
    CK_ULONG count)
{
	for (CK_ULONG i = 0; i < count; i++) {
		const CK_ATTRIBUTE *a = p11_attr_find(obj, tmpl[i].type);

		if (a == NULL || sensitive(obj, tmpl[i].type) ||
		    a->ulValueLen != tmpl[i].ulValueLen)
			return false;
		if (a->ulValueLen > 0 &&
		    memcmp(a->pValue, tmpl[i].pValue, a->ulValueLen) != 0)
			return false;
	}
	return true;
}

const CK_ATTRIBUTE *
p11_tmpl_find(const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_ATTRIBUTE_TYPE type)
{
	for (CK_ULONG i = 0; i < count; i++)
		if (tmpl[i].type == type)
			return &tmpl[i];
	return NULL;
}

CK_RV
p11_tmpl_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_ATTRIBUTE_TYPE type,
    CK_ULONG *v, bool *found)
{
	const CK_ATTRIBUTE *a = p11_tmpl_find(tmpl, count, type);

	*found = false;
	if (a == NULL)
		return CKR_OK;
	if (a->pValue == NULL || a->ulValueLen != sizeof(CK_ULONG))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	memcpy(v, a->pValue, sizeof(CK_ULONG));
	*found = true;
	return CKR_OK;
}

CK_RV
p11_tmpl_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_ATTRIBUTE_TYPE type,
    bool *v, bool *found)
{
	const CK_ATTRIBUTE *a = p11_tmpl_find(tmpl, count, type);
	CK_BBOOL b;

	*found = false;
	if (a == NULL)
		return CKR_OK;
	if (a->pValue == NULL || a->ulValueLen != sizeof(CK_BBOOL))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	memcpy(&b, a->pValue, sizeof(b));
	if (b != CK_TRUE && b != CK_FALSE)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	*v = b == CK_TRUE;
	*found = true;
	return CKR_OK;
}

CK_RV
p11_tmpl_check(const CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
	if (count > 0 && tmpl == NULL)
		return CKR_ARGUMENTS_BAD;
	for (CK_ULONG i = 0; i < count; i++) {
		if (tmpl[i].pValue == NULL && tmpl[i].ulValueLen != 0)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		for (CK_ULONG j = 0; j < i; j++)
			if (tmpl[j].type == tmpl[i].type)
				return CKR_TEMPLATE_INCONSISTENT;
	}
	return CKR_OK;
}

static int
common_attrs(p11_object *o, const char *label, bool priv, bool destroyable)
{
	int err = 0;

	err |= p11_attr_bool(o, CKA_TOKEN, true);
	err |= p11_attr_bool(o, CKA_PRIVATE, priv);
	err |= p11_attr_bool(o, CKA_MODIFIABLE, false);
	err |= p11_attr_bool(o, CKA_COPYABLE, false);
	err |= p11_attr_bool(o, CKA_DESTROYABLE, destroyable);
	err |= p11_attr_set(o, CKA_LABEL, label, strlen(label));
	o->private_obj = priv;
	return err;
}

static int
key_attrs(p11_object *o, const uint8_t *id, bool local)
{
	int err = 0;

	err |= p11_attr_set(o, CKA_ID, id, 1);
	err |= p11_attr_set(o, CKA_START_DATE, NULL, 0);
	err |= p11_attr_set(o, CKA_END_DATE, NULL, 0);
	err |= p11_attr_bool(o, CKA_LOCAL, local);
	err |= p11_attr_ulong(o, CKA_KEY_GEN_MECHANISM,
	    CK_UNAVAILABLE_INFORMATION);
	return err;
}

/* the mechanisms a key of alg can do, for CKA_ALLOWED_MECHANISMS */
static int
allowed_mechs(p11_object *o, uint8_t alg)
{
	CK_MECHANISM_TYPE m[32];
	size_t n = 0, count;
	const p11_mech *all = p11_mech_list(&count);
	CK_KEY_TYPE kt = p11_alg_is_rsa(alg) ? CKK_RSA : p11_alg_is_ec(alg) ?
	    CKK_EC : alg == P11_ALG_ED25519 ? CKK_EC_EDWARDS : CKK_EC_MONTGOMERY;

	for (size_t i = 0; i < count && n < 32; i++)
		if (all[i].key_type == kt && !(all[i].flags & CKF_GENERATE_KEY_PAIR))
			m[n++] = all[i].type;
	if (kt == CKK_EC_MONTGOMERY)
		m[n++] = CKM_ECDH1_DERIVE;
	return p11_attr_set(o, CKA_ALLOWED_MECHANISMS, m, n * sizeof(m[0]));
}

CK_RV
p11_objects_for_slot(const p11_piv_slot *ps, const uint8_t *cert_der,
    size_t cert_len, const uint8_t *spki, size_t spki_len, uint8_t alg,
    uint8_t pin_policy, p11_object **list)
{
	p11_x509 x;
	p11_object *cert = NULL, *pub = NULL, *priv = NULL;
	char label[96];
	uint8_t key_alg = P11_ALG_NONE, hash[20];
	bool rsa, always, priv_flag;
	int err = 0;
	CK_RV rv;

	memset(&x, 0, sizeof(x));
	if (cert_der != NULL) {
		rv = p11_x509_parse(cert_der, cert_len, &x);
		if (rv != CKR_OK && spki == NULL)
			goto out;
		if (rv == CKR_OK && spki == NULL) {
			spki = x.spki;
			spki_len = x.spki_len;
		}
		if (rv != CKR_OK)
			cert_der = NULL;
	}
	rv = CKR_HOST_MEMORY;
	if (cert_der != NULL) {
		if ((cert = p11_object_new(CKO_CERTIFICATE)) == NULL)
			goto out;
		cert->key_ref = ps->key_ref;
		cert->tag = ps->cert_tag;
		snprintf(label, sizeof(label), "Certificate for %s", ps->name);
		err |= common_attrs(cert, label, false, true);
		err |= p11_attr_ulong(cert, CKA_CERTIFICATE_TYPE, CKC_X_509);
		err |= p11_attr_bool(cert, CKA_TRUSTED, false);
		err |= p11_attr_ulong(cert, CKA_CERTIFICATE_CATEGORY, 0);
		(void)p11_digest(CKM_SHA_1, cert_der, cert_len, hash,
		    &(size_t){ sizeof(hash) });
		err |= p11_attr_set(cert, CKA_CHECK_VALUE, hash, 3);
		err |= p11_attr_set(cert, CKA_START_DATE, x.start,
		    x.has_dates ? 8 : 0);
		err |= p11_attr_set(cert, CKA_END_DATE, x.end, x.has_dates ? 8 : 0);
		err |= p11_attr_set(cert, CKA_PUBLIC_KEY_INFO, x.spki, x.spki_len);
		err |= p11_attr_set(cert, CKA_SUBJECT, x.subject, x.subject_len);
		err |= p11_attr_set(cert, CKA_ID, &ps->id, 1);
		err |= p11_attr_set(cert, CKA_ISSUER, x.issuer, x.issuer_len);
		err |= p11_attr_set(cert, CKA_SERIAL_NUMBER, x.serial, x.serial_len);
		err |= p11_attr_set(cert, CKA_VALUE, cert_der, cert_len);
		err |= p11_attr_set(cert, CKA_URL, NULL, 0);
		err |= p11_attr_set(cert, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, NULL, 0);
		err |= p11_attr_set(cert, CKA_HASH_OF_ISSUER_PUBLIC_KEY, NULL, 0);
		err |= p11_attr_ulong(cert, CKA_JAVA_MIDP_SECURITY_DOMAIN, 0);
		err |= p11_attr_ulong(cert, CKA_NAME_HASH_ALGORITHM, CKM_SHA_1);
		if (err)
			goto out;
	}
	if (spki == NULL) {
		rv = CKR_OK;
		goto out;
	}
	if ((pub = p11_object_new(CKO_PUBLIC_KEY)) == NULL ||
	    (priv = p11_object_new(CKO_PRIVATE_KEY)) == NULL)
		goto out;
	rv = p11_spki_attrs(pub, spki, spki_len, &key_alg);
	if (rv == CKR_OK)
		rv = p11_spki_attrs(priv, spki, spki_len, &key_alg);
	if (rv != CKR_OK) {
		/* a key the module cannot use: keep the certificate alone */
		p11_object_free(&pub);
		p11_object_free(&priv);
		rv = CKR_OK;
		goto out;
	}
	rv = CKR_HOST_MEMORY;
	if (alg == P11_ALG_NONE)
		alg = key_alg;
	rsa = p11_alg_is_rsa(alg);
	always = pin_policy == 3 || (pin_policy == 0 && ps->always_auth);
	priv_flag = !(pin_policy == 1 || (pin_policy == 0 && ps->no_pin));
	pub->key_ref = priv->key_ref = ps->key_ref;
	pub->alg = priv->alg = alg;
	priv->always_auth = always;
	snprintf(label, sizeof(label), "Public key for %s", ps->name);
	err |= common_attrs(pub, label, false, false);
	err |= key_attrs(pub, &ps->id, cert_der == NULL);
	err |= p11_attr_set(pub, CKA_SUBJECT, x.subject, x.subject_len);
	err |= p11_attr_bool(pub, CKA_ENCRYPT, rsa);
	err |= p11_attr_bool(pub, CKA_VERIFY, alg != P11_ALG_X25519);
	err |= p11_attr_bool(pub, CKA_VERIFY_RECOVER, false);
	/* the pair's usages match: RSA wraps what its private key unwraps,
	 * an EC public key derives as its private key does (p11test usage_test) */
	err |= p11_attr_bool(pub, CKA_WRAP, rsa);
	err |= p11_attr_bool(pub, CKA_TRUSTED, false);
	err |= p11_attr_bool(pub, CKA_DERIVE, !rsa && alg != P11_ALG_ED25519);
	err |= allowed_mechs(pub, alg);
	snprintf(label, sizeof(label), "Private key for %s", ps->name);
	err |= common_attrs(priv, label, priv_flag, false);
	err |= key_attrs(priv, &ps->id, cert_der == NULL);
	err |= p11_attr_set(priv, CKA_SUBJECT, x.subject, x.subject_len);
	err |= p11_attr_bool(priv, CKA_SENSITIVE, true);
	err |= p11_attr_bool(priv, CKA_DECRYPT, rsa);
	err |= p11_attr_bool(priv, CKA_SIGN, alg != P11_ALG_X25519);
	err |= p11_attr_bool(priv, CKA_SIGN_RECOVER, false);
	err |= p11_attr_bool(priv, CKA_UNWRAP, rsa);
	err |= p11_attr_bool(priv, CKA_EXTRACTABLE, false);
	err |= p11_attr_bool(priv, CKA_ALWAYS_SENSITIVE, true);
	err |= p11_attr_bool(priv, CKA_NEVER_EXTRACTABLE, true);
	err |= p11_attr_bool(priv, CKA_WRAP_WITH_TRUSTED, false);
	err |= p11_attr_bool(priv, CKA_ALWAYS_AUTHENTICATE, always);
	err |= p11_attr_bool(priv, CKA_DERIVE, !rsa && alg != P11_ALG_ED25519);
	err |= allowed_mechs(priv, alg);
	if (err)
		goto out;
	rv = CKR_OK;
out:
	if (rv == CKR_OK) {
		/* order: certificate, public key, private key */
		p11_object_append(list, cert);
		p11_object_append(list, pub);
		p11_object_append(list, priv);
		cert = pub = priv = NULL;
	}
	p11_object_free(&cert);
	p11_object_free(&pub);
	p11_object_free(&priv);
	p11_x509_clear(&x);
	return rv;
}

CK_RV
p11_object_data(const p11_piv_container *pc, const uint8_t *value, size_t len,
    p11_object **out)
{
	p11_object *o = p11_object_new(CKO_DATA);
	uint8_t *oid = NULL;
	size_t oid_len = 0;
	int err = 0;
	CK_RV rv = CKR_HOST_MEMORY;

	if (o == NULL)
		goto out;
	rv = p11_oid_der(pc->oid, &oid, &oid_len);
	if (rv != CKR_OK)
		goto out;
	o->tag = pc->tag;
	/* the SO writes and deletes containers (PUT DATA) */
	err |= common_attrs(o, pc->name, pc->pin, true);
	err |= p11_attr_set(o, CKA_APPLICATION, "PIV", 3);
	err |= p11_attr_set(o, CKA_OBJECT_ID, oid, oid_len);
	err |= p11_attr_set(o, CKA_VALUE, value, len);
	rv = err ? CKR_HOST_MEMORY : CKR_OK;
out:
	free(oid);
	if (rv == CKR_OK) {
		*out = o;
		o = NULL;
	}
	p11_object_free(&o);
	return rv;
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

/* ---- walletkey data objects on the card ---- */

CK_RV
p11_user_data_decode(uint32_t tag, const uint8_t *p, size_t len,
    p11_object **out)
{
	static const CK_ATTRIBUTE_TYPE types[4] = { CKA_LABEL, CKA_APPLICATION,
	    CKA_OBJECT_ID, CKA_VALUE };
	p11_object *o = p11_object_new(CKO_DATA);
	bool priv = tag >= P11_DATA_PRIVATE;
	const uint8_t *v;
	size_t vl;
	int err = 0;

	if (o == NULL)
		return CKR_HOST_MEMORY;
	o->tag = tag;
	err |= p11_attr_bool(o, CKA_TOKEN, true);
	err |= p11_attr_bool(o, CKA_PRIVATE, priv);
	/* changing one is writing it again: delete and create */
	err |= p11_attr_bool(o, CKA_MODIFIABLE, false);
	err |= p11_attr_bool(o, CKA_COPYABLE, false);
	err |= p11_attr_bool(o, CKA_DESTROYABLE, true);
	for (size_t i = 0; i < 4; i++) {
		if (!p11_tlv_find(p, len, (uint8_t)(i + 1), &v, &vl)) {
			v = NULL;
			vl = 0;
		}
		err |= p11_attr_set(o, types[i], v, vl);
	}
	o->private_obj = priv;
	if (err) {
		p11_object_free(&o);
		return CKR_HOST_MEMORY;
	}
	*out = o;
	return CKR_OK;
}

static void
put_tlv(uint8_t *b, size_t *off, uint8_t tag, const void *v, size_t len)
{
	b[(*off)++] = tag;
	if (len > 0xFF) {
		b[(*off)++] = 0x82;
		b[(*off)++] = (uint8_t)(len >> 8);
	} else if (len > 0x7F)
		b[(*off)++] = 0x81;
	b[(*off)++] = (uint8_t)len;
	if (len > 0)
		memcpy(b + *off, v, len);
	*off += len;
}

CK_RV
p11_user_data_encode(const CK_ATTRIBUTE *t, CK_ULONG n, uint8_t **out,
    size_t *len)
{
	static const CK_ATTRIBUTE_TYPE types[4] = { CKA_LABEL, CKA_APPLICATION,
	    CKA_OBJECT_ID, CKA_VALUE };
	size_t total = 0, off = 0;
	uint8_t *b;

	for (size_t i = 0; i < 4; i++) {
		const CK_ATTRIBUTE *a = p11_tmpl_find(t, n, types[i]);
		size_t l = a != NULL ? a->ulValueLen : 0;
		if (l > P11_DATA_MAX)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		total += 4 + l;
	}
	if (total > P11_DATA_MAX)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((b = malloc(total)) == NULL)
		return CKR_HOST_MEMORY;
	for (size_t i = 0; i < 4; i++) {
		const CK_ATTRIBUTE *a = p11_tmpl_find(t, n, types[i]);
		put_tlv(b, &off, (uint8_t)(i + 1), a != NULL ? a->pValue : NULL,
		    a != NULL ? a->ulValueLen : 0);
	}
	*out = b;
	*len = off;
	return CKR_OK;
}
