/*
 * the token's objects: read from the card when first asked for (the
 * certificates and keys of the PIV key slots, the data containers, the GM
 * application's keys: p11_gm_objects.c), the PIN-protected ones after the
 * user's login, and found by handle
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "p11_internal.h"

/* the objects of one key slot, from its certificate and GET METADATA */
static CK_RV
load_key_slot(p11_slot *slot, const p11_piv_slot *ps, uint8_t *buf,
    size_t cap, wk_piv_metadata *md)
{
	size_t len = cap;
	bool have_cert, have_md;
	int wk;

	wk = wk_piv_read_cert(slot->piv, ps->key_ref, buf, &len);
	if (wk == WK_ERR_NO_CARD || wk == WK_ERR_CARD_REMOVED)
		return p11_token_check(slot, wk);
	have_cert = wk == WK_OK && len > 0;
	memset(md, 0, sizeof(*md));
	wk = wk_piv_get_metadata(slot->piv, ps->key_ref, md);
	if (wk == WK_ERR_NO_CARD || wk == WK_ERR_CARD_REMOVED)
		return p11_token_check(slot, wk);
	have_md = wk == WK_OK && md->spki_len > 0;
	if (!have_cert && !have_md)
		return CKR_OK;
	return p11_objects_for_slot(ps, have_cert ? buf : NULL,
	    have_cert ? len : 0, have_md ? md->spki : NULL,
	    have_md ? md->spki_len : 0, have_md ? md->alg : P11_ALG_NONE,
	    have_md && md->has_policy ? md->pin_policy : 0, &slot->objects);
}

static CK_RV
load_data(p11_slot *slot, bool pin_ones, uint8_t *buf, size_t cap)
{
	const p11_piv_container *pc;
	p11_object *o;
	size_t n, len;
	int wk;
	CK_RV rv;

	pc = p11_piv_containers(&n);
	for (size_t i = 0; i < n; i++) {
		if (pc[i].pin != pin_ones)
			continue;
		len = cap;
		wk = wk_piv_get_data(slot->piv, pc[i].tag, buf, &len);
		if (wk == WK_ERR_NO_CARD || wk == WK_ERR_CARD_REMOVED)
			return p11_token_check(slot, wk);
		if (wk != WK_OK)
			continue;
		rv = p11_object_data(&pc[i], buf, len, &o);
		if (rv != CKR_OK)
			return rv;
		p11_object_append(&slot->objects, o);
	}
	/* walletkey's own data objects: cards without them answer 6A82 */
	if (!slot->walletkey)
		return CKR_OK;
	for (uint32_t tag = pin_ones ? P11_DATA_PRIVATE : P11_DATA_FIRST;
	    tag < (pin_ones ? P11_DATA_LAST + 1 : P11_DATA_PRIVATE); tag++) {
		len = cap;
		wk = wk_piv_get_data(slot->piv, tag, buf, &len);
		if (wk == WK_ERR_NO_CARD || wk == WK_ERR_CARD_REMOVED)
			return p11_token_check(slot, wk);
		if (wk != WK_OK)
			continue;
		if ((rv = p11_user_data_decode(tag, buf, len, &o)) != CKR_OK)
			return rv;
		p11_object_append(&slot->objects, o);
	}
	return CKR_OK;
}

CK_RV
p11_token_load(p11_slot *slot)
{
	const p11_piv_slot *ps;
	wk_piv_metadata *md = NULL;
	uint8_t *buf = NULL;
	size_t n;
	CK_RV rv;

	if (slot->loaded)
		return CKR_OK;
	buf = malloc(WK_PIV_OBJ_MAX);
	md = malloc(sizeof(*md));
	rv = CKR_HOST_MEMORY;
	if (buf == NULL || md == NULL)
		goto out;
	rv = p11_card_open(slot);
	if (rv != CKR_OK)
		goto out;
	ps = p11_piv_slots(&n);
	for (size_t i = 0; i < n && rv == CKR_OK; i++)
		rv = load_key_slot(slot, &ps[i], buf, WK_PIV_OBJ_MAX, md);
	if (rv == CKR_OK)
		rv = load_data(slot, false, buf, WK_PIV_OBJ_MAX);
	if (rv == CKR_OK && slot->login == CKU_USER)
		rv = load_data(slot, true, buf, WK_PIV_OBJ_MAX);
	if (rv == CKR_OK)
		rv = p11_gm_load(slot);
	if (slot->card != NULL)
		wk_card_end(slot->card);
	if (rv == CKR_OK)
		slot->loaded = true;
	else if (slot->token)
		p11_object_free_list(&slot->objects);
	p11_log("%s: objects loaded: %s (0x%lx)", slot->reader,
	    rv == CKR_OK ? "ok" : "failed", (unsigned long)rv);
out:
	free(md);
	free(buf);
	return rv;
}

/* after VERIFY: the PIN-protected containers become readable */
CK_RV
p11_token_load_private(p11_slot *slot)
{
	uint8_t *buf;
	CK_RV rv;

	if (!slot->loaded)
		return CKR_OK;
	buf = malloc(WK_PIV_OBJ_MAX);
	if (buf == NULL)
		return CKR_HOST_MEMORY;
	rv = p11_card_open(slot);
	if (rv == CKR_OK) {
		rv = load_data(slot, true, buf, WK_PIV_OBJ_MAX);
		if (slot->card != NULL)
			wk_card_end(slot->card);
	}
	sodium_memzero(buf, WK_PIV_OBJ_MAX);
	free(buf);
	return rv;
}

CK_RV
p11_token_reload_key(p11_slot *slot, const p11_piv_slot *ps)
{
	p11_object **pp = &slot->objects, *o;
	wk_piv_metadata *md = malloc(sizeof(*md));
	uint8_t *buf = malloc(WK_PIV_OBJ_MAX);
	CK_RV rv = CKR_HOST_MEMORY;

	if (md == NULL || buf == NULL)
		goto out;
	while ((o = *pp) != NULL) {
		if (o->session == 0 && o->key_ref == ps->key_ref &&
		    o->cls != CKO_DATA) {
			*pp = o->next;
			p11_object_free(&o);
		} else
			pp = &o->next;
	}
	if ((rv = p11_card_open(slot)) != CKR_OK)
		goto out;
	/* the new objects go to the end of the list, with new handles */
	rv = load_key_slot(slot, ps, buf, WK_PIV_OBJ_MAX, md);
	if (slot->card != NULL)
		wk_card_end(slot->card);
out:
	free(md);
	free(buf);
	return rv;
}

p11_object *
p11_token_find(p11_slot *slot, CK_OBJECT_HANDLE h)
{
	for (p11_object *o = slot->objects; o != NULL; o = o->next)
		if (o->handle == h)
			return o;
	return NULL;
}

/* the token object (not a session object) of class cls in key slot key_ref */
p11_object *
p11_token_find_key(p11_slot *slot, CK_OBJECT_CLASS cls, uint8_t key_ref)
{
	for (p11_object *o = slot->objects; o != NULL; o = o->next)
		if (o->cls == cls && o->key_ref == key_ref && o->session == 0)
			return o;
	return NULL;
}

