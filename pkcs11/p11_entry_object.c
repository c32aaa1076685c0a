/*
 * walletkey-pkcs11: the entry points of objects: create, copy, destroy,
 * attributes and search. Each is one P11_ENTRY line (p11_entry.h: the lock
 * and the session lookup), its work in the function above it or in
 * p11_create.c and p11_object.c.
 */
#include <stdlib.h>
#include <string.h>

#include "p11_entry.h"

P11_ENTRY_FILE

/* the object h as the session sees it, once the arguments are good */
static CK_RV
object_get(p11_session *s, p11_slot *slot, CK_OBJECT_HANDLE h,
    bool args_ok, p11_object **o)
{
	if (!args_ok)
		return CKR_ARGUMENTS_BAD;
	return p11_object_get(s, slot, h, o);
}

static CK_RV
create_object(p11_session *s, p11_slot *slot, CK_ATTRIBUTE_PTR tmpl,
    CK_ULONG count, CK_OBJECT_HANDLE_PTR out)
{
	if (tmpl == NULL || out == NULL)
		return CKR_ARGUMENTS_BAD;
	return p11_create(s, slot, tmpl, count, out);
}

P11_ENTRY(SESSION, C_CreateObject, (CK_SESSION_HANDLE h,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR out),
    create_object(c.s, c.slot, tmpl, count, out))

static CK_RV
copy_object(p11_session *s, p11_slot *slot,
    CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR out)
{
	p11_object *o, *copy = NULL;
	bool priv, found;
	CK_RV rv;

	if ((rv = object_get(s, slot, obj, (tmpl != NULL || count == 0) &&
	    out != NULL, &o)) != CKR_OK)
		return rv;
	/* the card's objects have CKA_COPYABLE false; session objects copy */
	if (!o->soft || !p11_attr_true(o, CKA_COPYABLE))
		return CKR_ACTION_PROHIBITED;
	priv = o->private_obj;
	if ((rv = p11_tmpl_check(tmpl, count)) != CKR_OK)
		return rv;
	if ((rv = p11_tmpl_bool(tmpl, count, CKA_PRIVATE, &priv,
	    &found)) != CKR_OK)
		return rv;
	if (priv && slot->login != CKU_USER)
		return CKR_USER_NOT_LOGGED_IN;
	if ((rv = p11_object_copy(o, &copy)) != CKR_OK)
		return rv;
	rv = p11_object_set_attrs(copy, tmpl, count, slot->login == CKU_SO,
	    true);
	if (rv != CKR_OK) {
		p11_object_free(&copy);
		return rv;
	}
	copy->session = s->handle;
	p11_object_append(&slot->objects, copy);
	*out = copy->handle;
	return CKR_OK;
}

P11_ENTRY(SESSION, C_CopyObject, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR out),
    copy_object(c.s, c.slot, obj, tmpl, count, out))

P11_ENTRY(SESSION, C_DestroyObject, (CK_SESSION_HANDLE h,
    CK_OBJECT_HANDLE obj), p11_destroy(c.s, c.slot, obj))

static CK_RV
get_object_size(p11_session *s, p11_slot *slot,
    CK_OBJECT_HANDLE obj, CK_ULONG_PTR size)
{
	p11_object *o;
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = object_get(s, slot, obj, size != NULL, &o)) != CKR_OK)
		return rv;
	for (size_t i = 0; i < o->n_attrs; i++)
		n += o->attrs[i].ulValueLen;
	*size = n;
	return CKR_OK;
}

P11_ENTRY(SESSION, C_GetObjectSize, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
    CK_ULONG_PTR size), get_object_size(c.s, c.slot, obj, size))

static CK_RV
get_attribute_value(p11_session *s, p11_slot *slot, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
	p11_object *o;
	CK_RV rv;

	if ((rv = object_get(s, slot, obj, tmpl != NULL || count == 0,
	    &o)) != CKR_OK)
		return rv;
	return p11_object_get_attrs(o, tmpl, count);
}

P11_ENTRY(SESSION, C_GetAttributeValue, (CK_SESSION_HANDLE h,
    CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count),
    get_attribute_value(c.s, c.slot, obj, tmpl, count))

static CK_RV
set_attribute_value(p11_session *s, p11_slot *slot, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
	p11_object *o;
	CK_RV rv;

	if ((rv = object_get(s, slot, obj, tmpl != NULL || count == 0,
	    &o)) != CKR_OK)
		return rv;
	if ((rv = p11_tmpl_check(tmpl, count)) != CKR_OK)
		return rv;
	/* a PIV card stores no attributes: its objects are not modifiable */
	if (!o->soft)
		return CKR_ACTION_PROHIBITED;
	return p11_object_set_attrs(o, tmpl, count, slot->login == CKU_SO,
	    false);
}

P11_ENTRY(SESSION, C_SetAttributeValue, (CK_SESSION_HANDLE h,
    CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count),
    set_attribute_value(c.s, c.slot, obj, tmpl, count))

/* ---- search ---- */

static CK_RV
find_objects_init(p11_session *s, p11_slot *slot,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
	p11_op *op;
	size_t n = 0, cap = 0;
	CK_RV rv;

	if (tmpl == NULL && count > 0)
		return CKR_ARGUMENTS_BAD;
	op = &s->op[P11_OP_FIND];
	if (op->active)
		return CKR_OPERATION_ACTIVE;
	if ((rv = p11_token_load(slot)) != CKR_OK)
		return rv;
	for (p11_object *o = slot->objects; o != NULL; o = o->next)
		cap++;
	op->found = calloc(cap + 1, sizeof(*op->found));
	if (op->found == NULL)
		return CKR_HOST_MEMORY;
	for (p11_object *o = slot->objects; o != NULL; o = o->next)
		if (p11_object_visible(s, slot, o) &&
		    p11_object_match(o, tmpl, count))
			op->found[n++] = o->handle;
	op->n_found = n;
	op->pos = 0;
	op->active = true;
	return CKR_OK;
}

P11_ENTRY(SESSION, C_FindObjectsInit, (CK_SESSION_HANDLE h,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count),
    find_objects_init(c.s, c.slot, tmpl, count))

static CK_RV
find_objects(p11_session *s, p11_slot *slot,
    CK_OBJECT_HANDLE_PTR out, CK_ULONG max,
    CK_ULONG_PTR count)
{
	p11_op *op;
	CK_ULONG n = 0;

	if (out == NULL || count == NULL)
		return CKR_ARGUMENTS_BAD;
	op = &s->op[P11_OP_FIND];
	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	while (n < max && op->pos < op->n_found) {
		/* skip objects destroyed since C_FindObjectsInit */
		CK_OBJECT_HANDLE oh = op->found[op->pos++];
		if (p11_token_find(slot, oh) != NULL)
			out[n++] = oh;
	}
	*count = n;
	return CKR_OK;
}

P11_ENTRY(SESSION, C_FindObjects, (CK_SESSION_HANDLE h,
    CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR count),
    find_objects(c.s, c.slot, out, max, count))

static CK_RV
find_objects_final(p11_session *s, p11_slot *slot)
{
	if (!s->op[P11_OP_FIND].active)
		return CKR_OPERATION_NOT_INITIALIZED;
	p11_op_end(&s->op[P11_OP_FIND]);
	return CKR_OK;
}

P11_ENTRY(SESSION, C_FindObjectsFinal, (CK_SESSION_HANDLE h),
    find_objects_final(c.s, c.slot))
