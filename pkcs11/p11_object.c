/*
 * the object model: each object is a class plus a list of attributes, its
 * handle, and the templates callers give. PKCS#11 2.40 base 5.7
 * (C_GetAttributeValue) semantics live here; the objects of the card are
 * built in p11_object_card.c, the class rules are in p11_attr.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "p11_internal.h"

static CK_OBJECT_HANDLE next_handle = 1;

CK_OBJECT_HANDLE
p11_handle_next(void)
{
	CK_OBJECT_HANDLE h = next_handle++;

	if (next_handle == 0 || next_handle > 0x7FFFFFFFul)
		next_handle = 1;
	return h;
}

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

int
p11_attr_default_bool(p11_object *o, CK_ATTRIBUTE_TYPE t, bool v)
{
	return p11_attr_find(o, t) != NULL ? 0 : p11_attr_bool(o, t, v);
}

int
p11_attr_default_empty(p11_object *o, CK_ATTRIBUTE_TYPE t)
{
	return p11_attr_find(o, t) != NULL ? 0 : p11_attr_set(o, t, NULL, 0);
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

/* is a CKA_EC_PARAMS the curve of oid (or its PrintableString name)? */
bool
p11_ec_params_are(const CK_ATTRIBUTE *a, const uint8_t *oid, size_t oid_len,
    const char *name)
{
	size_t nl = strlen(name);
	const uint8_t *v = a->pValue;

	if (a->ulValueLen == oid_len && memcmp(v, oid, oid_len) == 0)
		return true;
	/* PKCS#11 3.0 2.3.10: a PrintableString curve name is allowed too */
	return a->ulValueLen == nl + 2 && v[0] == 0x13 && v[1] == nl &&
	    memcmp(v + 2, name, nl) == 0;
}
