/*
 * sessions: handles, states (2.40 base 5.6) and the operations each one
 * has in progress. A session belongs to one insertion of a card: when the
 * card goes, the session answers CKR_DEVICE_REMOVED once and is closed.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "p11_internal.h"

static p11_session *sessions;
static CK_SESSION_HANDLE next_session = 1;

/* the OpenSSL state of a session key's operation */
void
p11_soft_op_free(p11_op *op)
{
	EVP_CIPHER_CTX_free(op->cctx);
	EVP_MAC_CTX_free(op->mac);
	EVP_PKEY_free(op->pkey);
	op->cctx = NULL;
	op->mac = NULL;
	op->pkey = NULL;
}

void
p11_op_end(p11_op *op)
{
	EVP_MD_CTX_free(op->md);
	p11_soft_op_free(op);
	free(op->spki);
	if (op->buf != NULL)
		sodium_memzero(op->buf, op->len);
	free(op->buf);
	free(op->label);
	free(op->found);
	sodium_memzero(op->gm_pin, sizeof(op->gm_pin));
	memset(op, 0, sizeof(*op));
}

static void
session_free(p11_session **sp, bool drop_objects)
{
	p11_session *s = *sp;
	p11_slot *slot;

	if (s == NULL)
		return;
	for (size_t i = 0; i < P11_OP_COUNT; i++)
		p11_op_end(&s->op[i]);
	if (drop_objects && p11_slot_get(s->slot, &slot) == CKR_OK) {
		p11_object **pp = &slot->objects, *o;
		while ((o = *pp) != NULL) {
			if (o->session == s->handle) {
				*pp = o->next;
				p11_object_free(&o);
			} else
				pp = &o->next;
		}
	}
	free(s);
	*sp = NULL;
}

void
p11_sessions_fini(void)
{
	p11_session *s, *next;

	for (s = sessions; s != NULL; s = next) {
		next = s->next;
		session_free(&s, false);
	}
	sessions = NULL;
}

CK_RV
p11_session_open(CK_SLOT_ID slot_id, CK_FLAGS flags, CK_SESSION_HANDLE *out)
{
	p11_slot *slot;
	p11_session *s;
	CK_RV rv;

	rv = p11_token_get(slot_id, &slot);
	if (rv != CKR_OK)
		return rv;
	/* 2.40 base 5.6: no new read-only session while the SO is logged in */
	if (!(flags & CKF_RW_SESSION) && slot->login == CKU_SO)
		return CKR_SESSION_READ_WRITE_SO_EXISTS;
	rv = p11_token_load(slot);
	if (rv != CKR_OK)
		return rv;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return CKR_HOST_MEMORY;
	s->handle = next_session++;
	if (next_session == 0 || next_session > 0x7FFFFFFFul)
		next_session = 1;
	s->slot = slot_id;
	s->flags = flags;
	s->generation = slot->generation;
	s->next = sessions;
	sessions = s;
	*out = s->handle;
	return CKR_OK;
}

static void
last_session_closed(CK_SLOT_ID slot_id)
{
	p11_slot *slot;

	/* 2.40 base 5.6: closing the last session logs the application out */
	if (p11_slot_session_count(slot_id, false) > 0 ||
	    p11_slot_get(slot_id, &slot) != CKR_OK)
		return;
	/*
	 * no VERIFY FF here: the PIN state is the card's, shared with every
	 * other program using it; only C_Logout asks the card to forget it
	 */
	if (slot->login != P11_NOBODY && slot->token)
		p11_token_drop_private(slot);
	slot->login = P11_NOBODY;
	slot->so_puk = false;
	sodium_memzero(slot->so_secret, sizeof(slot->so_secret));
	slot->so_secret_len = 0;
}

CK_RV
p11_session_close(CK_SESSION_HANDLE h)
{
	p11_session **pp, *s;
	CK_SLOT_ID slot_id;

	for (pp = &sessions; (s = *pp) != NULL; pp = &s->next)
		if (s->handle == h) {
			*pp = s->next;
			slot_id = s->slot;
			session_free(&s, true);
			last_session_closed(slot_id);
			return CKR_OK;
		}
	return CKR_SESSION_HANDLE_INVALID;
}

void
p11_session_close_slot(CK_SLOT_ID slot_id)
{
	p11_session **pp = &sessions, *s;

	while ((s = *pp) != NULL) {
		if (s->slot == slot_id) {
			*pp = s->next;
			session_free(&s, true);
		} else
			pp = &s->next;
	}
	last_session_closed(slot_id);
}

CK_RV
p11_session_get(CK_SESSION_HANDLE h, p11_session **out, p11_slot **slot_out)
{
	p11_session *s;
	p11_slot *slot;

	for (s = sessions; s != NULL; s = s->next)
		if (s->handle == h)
			break;
	if (s == NULL)
		return CKR_SESSION_HANDLE_INVALID;
	if (p11_slot_get(s->slot, &slot) != CKR_OK || !slot->token ||
	    slot->generation != s->generation) {
		(void)p11_session_close(h);
		return CKR_DEVICE_REMOVED;
	}
	*out = s;
	if (slot_out != NULL)
		*slot_out = slot;
	return CKR_OK;
}

bool
p11_session_rw(const p11_session *s)
{
	return (s->flags & CKF_RW_SESSION) != 0;
}

CK_STATE
p11_session_state(const p11_session *s, const p11_slot *slot)
{
	bool rw = p11_session_rw(s);

	if (slot->login == CKU_SO)
		return CKS_RW_SO_FUNCTIONS;
	if (slot->login == CKU_USER)
		return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
	return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
}

bool
p11_slot_has_ro_session(CK_SLOT_ID slot_id)
{
	for (p11_session *s = sessions; s != NULL; s = s->next)
		if (s->slot == slot_id && !p11_session_rw(s))
			return true;
	return false;
}

size_t
p11_slot_session_count(CK_SLOT_ID slot_id, bool rw_only)
{
	size_t n = 0;

	for (p11_session *s = sessions; s != NULL; s = s->next)
		if (s->slot == slot_id && (!rw_only || p11_session_rw(s)))
			n++;
	return n;
}

bool
p11_object_visible(const p11_session *s, const p11_slot *slot,
    const p11_object *obj)
{
	/*
	 * session objects belong to the application: every session of this
	 * process sees them (2.40 base 4.4); other processes never do
	 */
	(void)s;
	/* the SO sees them too: it must find the keys it generates */
	return !obj->private_obj || slot->login != P11_NOBODY;
}

CK_RV
p11_object_get(p11_session *s, p11_slot *slot, CK_OBJECT_HANDLE h,
    p11_object **out)
{
	p11_object *o = p11_token_find(slot, h);

	if (o == NULL || !p11_object_visible(s, slot, o))
		return CKR_OBJECT_HANDLE_INVALID;
	*out = o;
	return CKR_OK;
}
