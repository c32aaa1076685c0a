/*
 * C_CreateObject and C_DestroyObject: certificates, private keys and data
 * objects written to the card; session objects (p11_soft.c)
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "p11_internal.h"
/* ---- C_CreateObject / C_DestroyObject ---- */

static CK_RV
create_cert(p11_slot *slot, const CK_ATTRIBUTE *t, CK_ULONG n,
    CK_OBJECT_HANDLE *out)
{
	const CK_ATTRIBUTE *val = p11_tmpl_find(t, n, CKA_VALUE);
	const CK_ATTRIBUTE *id = p11_tmpl_find(t, n, CKA_ID);
	const p11_piv_slot *ps;
	CK_ULONG ct;
	bool found;
	p11_x509 x;
	int wk;
	CK_RV rv;

	rv = p11_tmpl_ulong(t, n, CKA_CERTIFICATE_TYPE, &ct, &found);
	if (rv != CKR_OK)
		return rv;
	if (found && ct != CKC_X_509)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (val == NULL || id == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	ps = p11_piv_slot_by_id(id->pValue, id->ulValueLen);
	if (ps == NULL)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	rv = p11_x509_parse(val->pValue, val->ulValueLen, &x);
	p11_x509_clear(&x);
	if (rv != CKR_OK)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (!p11_may_write(slot))
		return CKR_USER_NOT_LOGGED_IN;
	if ((rv = p11_write_begin(slot)) != CKR_OK)
		return rv;
	wk = wk_piv_write_cert(slot->piv, ps->key_ref, val->pValue,
	    val->ulValueLen);
	p11_card_end(slot);
	if (wk != WK_OK)
		return p11_token_check(slot, wk);
	rv = p11_token_reload_key(slot, ps);
	if (rv != CKR_OK)
		return rv;
	for (p11_object *o = slot->objects; o != NULL; o = o->next)
		if (o->cls == CKO_CERTIFICATE && o->key_ref == ps->key_ref) {
			*out = o->handle;
			return CKR_OK;
		}
	return CKR_DEVICE_ERROR;
}

static CK_RV
create_private(p11_slot *slot, const CK_ATTRIBUTE *t, CK_ULONG n,
    CK_OBJECT_HANDLE *out)
{
	static const CK_ATTRIBUTE_TYPE rsa_parts[5] = { CKA_PRIME_1, CKA_PRIME_2,
	    CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT };
	const CK_ATTRIBUTE *id = p11_tmpl_find(t, n, CKA_ID), *a;
	const p11_piv_slot *ps;
	wk_piv_key_parts parts;
	CK_ULONG kt;
	bool found;
	uint8_t alg = P11_ALG_NONE;
	p11_object *priv;
	int wk;
	CK_RV rv;

	memset(&parts, 0, sizeof(parts));
	rv = p11_tmpl_ulong(t, n, CKA_KEY_TYPE, &kt, &found);
	if (rv != CKR_OK)
		return rv;
	if (!found || id == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	ps = p11_piv_slot_by_id(id->pValue, id->ulValueLen);
	if (ps == NULL)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (kt == CKK_RSA) {
		a = p11_tmpl_find(t, n, CKA_MODULUS);
		if (a == NULL)
			return CKR_TEMPLATE_INCOMPLETE;
		alg = a->ulValueLen == 128 ? P11_ALG_RSA1024 : a->ulValueLen == 256 ?
		    P11_ALG_RSA2048 : a->ulValueLen == 384 ? P11_ALG_RSA3072 :
		    a->ulValueLen == 512 ? P11_ALG_RSA4096 : P11_ALG_NONE;
		if (alg == P11_ALG_NONE)
			return CKR_KEY_SIZE_RANGE;
		for (size_t i = 0; i < 5; i++) {
			a = p11_tmpl_find(t, n, rsa_parts[i]);
			if (a == NULL || a->ulValueLen == 0)
				return CKR_TEMPLATE_INCOMPLETE;
			parts.part[i] = a->pValue;
			parts.part_len[i] = a->ulValueLen;
		}
	} else if (kt == CKK_EC || kt == CKK_EC_EDWARDS || kt == CKK_EC_MONTGOMERY) {
		const CK_ATTRIBUTE *params = p11_tmpl_find(t, n, CKA_EC_PARAMS);
		a = p11_tmpl_find(t, n, CKA_VALUE);
		if (a == NULL || a->ulValueLen == 0)
			return CKR_TEMPLATE_INCOMPLETE;
		if (kt == CKK_EC) {
			if (params == NULL)
				return CKR_TEMPLATE_INCOMPLETE;
			if (p11_ec_params_are(params, p11_oid_p256, sizeof(p11_oid_p256), "prime256v1"))
				alg = P11_ALG_P256;
			else if (p11_ec_params_are(params, p11_oid_p384, sizeof(p11_oid_p384), "secp384r1"))
				alg = P11_ALG_P384;
			else
				return CKR_CURVE_NOT_SUPPORTED;
		} else
			alg = kt == CKK_EC_EDWARDS ? P11_ALG_ED25519 : P11_ALG_X25519;
		parts.part[0] = a->pValue;
		parts.part_len[0] = a->ulValueLen;
	} else
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (!p11_may_write(slot))
		return CKR_USER_NOT_LOGGED_IN;
	if ((rv = p11_write_begin(slot)) != CKR_OK)
		return rv;
	wk = wk_piv_import_parts(slot->piv, ps->key_ref, alg, &parts, 0, 0);
	p11_card_end(slot);
	if (wk != WK_OK) {
		rv = p11_token_check(slot, wk);
		return rv == CKR_DATA_INVALID ? CKR_ATTRIBUTE_VALUE_INVALID : rv;
	}
	rv = p11_token_reload_key(slot, ps);
	if (rv != CKR_OK)
		return rv;
	priv = p11_token_find_key(slot, CKO_PRIVATE_KEY, ps->key_ref);
	if (priv == NULL)
		return CKR_DEVICE_ERROR;
	*out = priv->handle;
	return CKR_OK;
}

/* the PIV container a data-object template names, by CKA_OBJECT_ID or CKA_LABEL */
static CK_RV
data_container(const CK_ATTRIBUTE *t, CK_ULONG n, const p11_piv_container **out)
{
	const CK_ATTRIBUTE *oid = p11_tmpl_find(t, n, CKA_OBJECT_ID);
	const CK_ATTRIBUTE *label = p11_tmpl_find(t, n, CKA_LABEL);
	const p11_piv_container *pc;
	size_t count;

	if (oid == NULL && label == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	pc = p11_piv_containers(&count);
	for (size_t i = 0; i < count; i++) {
		uint8_t *der = NULL;
		size_t der_len = 0;
		bool match;

		if (oid != NULL) {
			if (p11_oid_der(pc[i].oid, &der, &der_len) != CKR_OK)
				return CKR_HOST_MEMORY;
			match = oid->ulValueLen == der_len &&
			    memcmp(oid->pValue, der, der_len) == 0;
			free(der);
		} else
			match = label->ulValueLen == strlen(pc[i].name) &&
			    memcmp(label->pValue, pc[i].name, label->ulValueLen) == 0;
		if (match) {
			*out = &pc[i];
			return CKR_OK;
		}
	}
	return CKR_ATTRIBUTE_VALUE_INVALID;
}

static void
drop_data(p11_slot *slot, uint32_t tag)
{
	p11_object **pp = &slot->objects, *o;

	while ((o = *pp) != NULL) {
		if (o->cls == CKO_DATA && o->tag == tag && o->session == 0) {
			*pp = o->next;
			p11_object_free(&o);
		} else
			pp = &o->next;
	}
}

/*
 * a data object of the application's own: one of walletkey's tags, written
 * with the PIN (the card checks VERIFY) or the management key
 */
static CK_RV
create_user_data(p11_slot *slot, const CK_ATTRIBUTE *t, CK_ULONG n,
    CK_OBJECT_HANDLE *out)
{
	bool priv = false, found, used;
	uint32_t tag, first, last;
	uint8_t *enc = NULL;
	size_t len = 0;
	p11_object *o;
	int wk;
	CK_RV rv;

	if (!slot->walletkey)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	for (CK_ULONG i = 0; i < n; i++)
		if (t[i].type != CKA_CLASS && t[i].type != CKA_TOKEN &&
		    t[i].type != CKA_PRIVATE && t[i].type != CKA_LABEL &&
		    t[i].type != CKA_APPLICATION && t[i].type != CKA_OBJECT_ID &&
		    t[i].type != CKA_VALUE)
			return p11_attr_known(CKO_DATA, t[i].type) ?
			    CKR_ATTRIBUTE_READ_ONLY : CKR_ATTRIBUTE_TYPE_INVALID;
	if ((rv = p11_tmpl_bool(t, n, CKA_PRIVATE, &priv, &found)) != CKR_OK)
		return rv;
	/* a private object is the user's: the SO could write it but not read it */
	if (priv ? slot->login != CKU_USER : slot->login == P11_NOBODY)
		return CKR_USER_NOT_LOGGED_IN;
	first = priv ? P11_DATA_PRIVATE : P11_DATA_FIRST;
	last = priv ? P11_DATA_LAST : P11_DATA_PRIVATE - 1;
	for (tag = first; tag <= last; tag++) {
		used = false;
		for (o = slot->objects; o != NULL; o = o->next)
			used |= o->cls == CKO_DATA && o->tag == tag && o->session == 0;
		if (!used)
			break;
	}
	if (tag > last)
		return CKR_DEVICE_MEMORY;
	if ((rv = p11_user_data_encode(t, n, &enc, &len)) != CKR_OK)
		return rv;
	if ((rv = slot->login == CKU_SO ? p11_write_begin(slot) :
	    p11_card_begin(slot)) != CKR_OK)
		goto out;
	wk = wk_piv_put_data(slot->piv, tag, enc, len);
	p11_card_end(slot);
	if (wk != WK_OK) {
		rv = p11_token_check(slot, wk);
		goto out;
	}
	if ((rv = p11_user_data_decode(tag, enc, len, &o)) != CKR_OK)
		goto out;
	p11_object_append(&slot->objects, o);
	*out = o->handle;
out:
	if (enc != NULL)
		sodium_memzero(enc, len);
	free(enc);
	return rv;
}

/* PUT DATA of a PIV container (SP 800-73-4 part 2, 3.3.2) */
static CK_RV
create_data(p11_slot *slot, const CK_ATTRIBUTE *t, CK_ULONG n,
    CK_OBJECT_HANDLE *out)
{
	const CK_ATTRIBUTE *val = p11_tmpl_find(t, n, CKA_VALUE);
	const CK_ATTRIBUTE *app = p11_tmpl_find(t, n, CKA_APPLICATION);
	const p11_piv_container *pc;
	p11_object *o;
	int wk;
	CK_RV rv;

	/* a PIV container is named by its OID or its name (CKA_APPLICATION "PIV") */
	rv = data_container(t, n, &pc);
	if (rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_TEMPLATE_INCOMPLETE ||
	    (app != NULL && !(app->ulValueLen == 3 &&
	    memcmp(app->pValue, "PIV", 3) == 0)))
		return create_user_data(slot, t, n, out);
	if (rv != CKR_OK)
		return rv;
	if (val == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	if (val->ulValueLen == 0 || val->ulValueLen > WK_PIV_OBJ_MAX)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (!p11_may_write(slot))
		return CKR_USER_NOT_LOGGED_IN;
	if ((rv = p11_write_begin(slot)) != CKR_OK)
		return rv;
	wk = wk_piv_put_data(slot->piv, pc->tag, val->pValue, val->ulValueLen);
	p11_card_end(slot);
	if (wk != WK_OK) {
		rv = p11_token_check(slot, wk);
		return rv == CKR_FUNCTION_NOT_SUPPORTED || rv == CKR_DATA_INVALID ?
		    CKR_ATTRIBUTE_READ_ONLY : rv;
	}
	drop_data(slot, pc->tag);
	if ((rv = p11_object_data(pc, val->pValue, val->ulValueLen, &o)) != CKR_OK)
		return rv;
	p11_object_append(&slot->objects, o);
	*out = o->handle;
	return CKR_OK;
}

CK_RV
p11_create(p11_session *s, p11_slot *slot, const CK_ATTRIBUTE *tmpl,
    CK_ULONG count, CK_OBJECT_HANDLE *out)
{
	CK_ULONG cls;
	bool found, token = false;
	CK_RV rv;

	if (out == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11_tmpl_check(tmpl, count)) != CKR_OK)
		return rv;
	rv = p11_tmpl_ulong(tmpl, count, CKA_CLASS, &cls, &found);
	if (rv != CKR_OK)
		return rv;
	if (!found)
		return CKR_TEMPLATE_INCOMPLETE;
	if ((rv = p11_tmpl_bool(tmpl, count, CKA_TOKEN, &token, &found)) != CKR_OK)
		return rv;
	/* CKA_TOKEN false, the default (2.40 base 4.4): a session object */
	if (!token)
		return p11_soft_create(s, slot, tmpl, count, out);
	if (cls != CKO_CERTIFICATE && cls != CKO_PRIVATE_KEY && cls != CKO_DATA)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (!p11_session_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (cls == CKO_CERTIFICATE)
		return create_cert(slot, tmpl, count, out);
	if (cls == CKO_DATA)
		return create_data(slot, tmpl, count, out);
	return create_private(slot, tmpl, count, out);
}

CK_RV
p11_destroy(p11_session *s, p11_slot *slot, CK_OBJECT_HANDLE h)
{
	p11_object *obj, **pp;
	const p11_piv_slot *ps;
	int wk;
	CK_RV rv;

	rv = p11_object_get(s, slot, h, &obj);
	if (rv != CKR_OK)
		return rv;
	if (!p11_attr_true(obj, CKA_DESTROYABLE) && obj->session != 0)
		return CKR_ACTION_PROHIBITED;
	if (obj->session != 0) {
		for (pp = &slot->objects; *pp != NULL; pp = &(*pp)->next)
			if (*pp == obj) {
				*pp = obj->next;
				p11_object_free(&obj);
				return CKR_OK;
			}
		return CKR_OBJECT_HANDLE_INVALID;
	}
	if (!p11_session_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (obj->cls != CKO_CERTIFICATE && obj->cls != CKO_DATA)
		return CKR_ACTION_PROHIBITED;
	if (obj->cls == CKO_DATA && obj->tag >= P11_DATA_FIRST &&
	    obj->tag <= P11_DATA_LAST) {
		uint32_t tag = obj->tag;
		if (slot->login == P11_NOBODY)
			return CKR_USER_NOT_LOGGED_IN;
		if ((rv = slot->login == CKU_SO ? p11_write_begin(slot) :
		    p11_card_begin(slot)) != CKR_OK)
			return rv;
		wk = wk_piv_put_data(slot->piv, tag, (const uint8_t *)"", 0);
		p11_card_end(slot);
		if (wk != WK_OK && wk != WK_ERR_NOT_FOUND)
			return p11_token_check(slot, wk);
		drop_data(slot, tag);
		return CKR_OK;
	}
	if (!p11_may_write(slot))
		return CKR_USER_NOT_LOGGED_IN;
	if (obj->cls == CKO_DATA) {
		uint32_t tag = obj->tag;

		if ((rv = p11_write_begin(slot)) != CKR_OK)
			return rv;
		wk = wk_piv_put_data(slot->piv, tag, (const uint8_t *)"", 0);
		p11_card_end(slot);
		if (wk != WK_OK && wk != WK_ERR_NOT_FOUND) {
			rv = p11_token_check(slot, wk);
			return rv == CKR_FUNCTION_NOT_SUPPORTED ||
			    rv == CKR_DATA_INVALID ? CKR_ACTION_PROHIBITED : rv;
		}
		drop_data(slot, tag);
		return CKR_OK;
	}
	ps = p11_piv_slot_by_ref(obj->key_ref);
	if (ps == NULL)
		return CKR_ACTION_PROHIBITED;
	if ((rv = p11_write_begin(slot)) != CKR_OK)
		return rv;
	wk = wk_piv_delete_cert(slot->piv, ps->key_ref);
	p11_card_end(slot);
	if (wk != WK_OK && wk != WK_ERR_NOT_FOUND)
		return p11_token_check(slot, wk);
	return p11_token_reload_key(slot, ps);
}
