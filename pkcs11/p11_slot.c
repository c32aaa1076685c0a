/*
 * slots and tokens: a slot per PC/SC reader (its id stays the reader's while
 * the module is loaded), a token when a PIV application answers in it.
 * Insertion and removal are found by rescanning the readers; a card that
 * disappears under an operation is found by the error the operation gets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "p11_internal.h"

p11_slot p11_slots[P11_MAX_SLOTS];
static wk_ctx *ctx;
static bool not_piv[P11_MAX_SLOTS];	/* a card is in but it has no PIV application */

static void
slot_reset_login(p11_slot *slot)
{
	slot->login = P11_NOBODY;
	slot->so_puk = false;
	slot->mgm_protected = false;
	sodium_memzero(slot->so_secret, sizeof(slot->so_secret));
	slot->so_secret_len = 0;
}

CK_RV
p11_slots_init(void)
{
	memset(p11_slots, 0, sizeof(p11_slots));
	memset(not_piv, 0, sizeof(not_piv));
	for (size_t i = 0; i < P11_MAX_SLOTS; i++) {
		slot_reset_login(&p11_slots[i]);
		/* a PUK given as SO PIN is kept here: no swap, no core dump */
		(void)sodium_mlock(p11_slots[i].so_secret,
		    sizeof(p11_slots[i].so_secret));
	}
	ctx = NULL;
	/* no PC/SC service is not an error: the module then has no slots */
	if (wk_ctx_new(&ctx) != WK_OK)
		ctx = NULL;
	(void)p11_slots_refresh();
	for (size_t i = 0; i < P11_MAX_SLOTS; i++)
		p11_slots[i].event = false;
	return CKR_OK;
}

void
p11_slots_fini(bool forked)
{
	for (size_t i = 0; i < P11_MAX_SLOTS; i++) {
		p11_slot *slot = &p11_slots[i];

		if (forked) {
			/* the parent's PC/SC handles are not ours to close */
			slot->piv = NULL;
			slot->card = NULL;
		}
		wk_piv_free(&slot->piv);
		wk_card_free(&slot->card);
		p11_object_free_list(&slot->objects);
		slot_reset_login(slot);
		(void)sodium_munlock(slot->so_secret, sizeof(slot->so_secret));
	}
	if (forked)
		ctx = NULL;
	wk_ctx_free(&ctx);
	memset(p11_slots, 0, sizeof(p11_slots));
}

static void
token_identity(p11_slot *slot)
{
	uint8_t buf[512], guid[16];
	size_t len = sizeof(buf);
	uint32_t serial;
	wk_piv_metadata *md;

	slot->serial[0] = '\0';
	if (wk_piv_get_data(slot->piv, WK_PIV_OBJ_CHUID, buf, &len) == WK_OK &&
	    p11_chuid_guid(buf, len, guid)) {
		for (size_t i = 0; i < 8; i++)
			snprintf(slot->serial + 2 * i, 3, "%02X", guid[i]);
	} else if (wk_piv_get_serial(slot->piv, &serial) == WK_OK)
		snprintf(slot->serial, sizeof(slot->serial), "%lu",
		    (unsigned long)serial);
	else
		snprintf(slot->serial, sizeof(slot->serial), "0");
	if (wk_piv_get_version(slot->piv, slot->version) != WK_OK)
		memset(slot->version, 0, sizeof(slot->version));
	snprintf(slot->model, sizeof(slot->model), "%s",
	    slot->walletkey ? "walletkey PIV" : "PIV");
	snprintf(slot->label, sizeof(slot->label), "%s #%s",
	    slot->walletkey ? "walletkey" : "PIV", slot->serial);
	slot->pin_max = 3;
	slot->pin_wrong = slot->so_wrong = false;	/* a new token */
	md = malloc(sizeof(*md));
	if (md != NULL && wk_piv_get_metadata(slot->piv, WK_PIV_REF_PIN, md) ==
	    WK_OK && md->has_retries) {
		slot->pin_max = md->retries_total;
		slot->pin_tries = md->retries_left;
	}
	free(md);
}

static void
token_insert(p11_slot *slot, size_t idx)
{
	int wk;

	if (not_piv[idx] || ctx == NULL)
		return;
	wk = wk_card_open(ctx, slot->reader, &slot->card);
	if (wk != WK_OK) {
		p11_log("%s: cannot connect: %s", slot->reader, wk_strerror(wk));
		return;
	}
	wk = wk_card_begin(slot->card);
	if (wk == WK_OK) {
		wk = wk_piv_open(slot->card, &slot->piv);
		if (wk == WK_OK) {
			slot->walletkey = wk_card_is_walletkey(slot->card);
			slot->pin_tries = -1;
			slot->puk_tries = -1;
			token_identity(slot);
		}
		wk_card_end(slot->card);
	}
	if (wk != WK_OK) {
		p11_log("%s: no PIV application: %s", slot->reader,
		    wk_strerror(wk));
		wk_piv_free(&slot->piv);
		wk_card_free(&slot->card);
		/* a card that answered without PIV is left alone until it goes;
		 * a transport hiccup is tried again at the next rescan */
		not_piv[idx] = wk == WK_ERR_NOT_FOUND || wk == WK_ERR_SW ||
		    wk == WK_ERR_CARD_MALFORMED || wk == WK_ERR_NOT_SUPPORTED ||
		    wk == WK_ERR_BAD_PARAMS;
		return;
	}
	slot->token = true;
	slot->loaded = false;
	slot_reset_login(slot);
	slot->generation++;
	slot->event = true;
	p11_log("%s: token %s inserted", slot->reader, slot->label);
}

void
p11_token_gone(p11_slot *slot)
{
	bool had = slot->token;

	wk_piv_free(&slot->piv);
	wk_card_free(&slot->card);
	p11_object_free_list(&slot->objects);
	slot->token = false;
	slot->loaded = false;
	slot_reset_login(slot);
	if (had) {
		slot->generation++;
		slot->event = true;
		p11_log("%s: token removed", slot->reader);
	}
}

CK_RV
p11_slots_refresh(void)
{
	wk_reader_info *r = NULL;
	size_t n = 0;
	bool seen[P11_MAX_SLOTS] = { false };
	int wk;

	if (ctx == NULL && wk_ctx_new(&ctx) != WK_OK)
		ctx = NULL;
	if (ctx != NULL) {
		wk = wk_list_readers(ctx, &r, &n);
		if (wk != WK_OK) {
			n = 0;
			if (wk == WK_ERR_PCSC) {
				/* the service went away: start over next time */
				for (size_t i = 0; i < P11_MAX_SLOTS; i++)
					p11_token_gone(&p11_slots[i]);
				wk_ctx_free(&ctx);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = P11_MAX_SLOTS;

		for (size_t j = 0; j < P11_MAX_SLOTS; j++)
			if (p11_slots[j].used &&
			    strcmp(p11_slots[j].reader, r[i].name) == 0) {
				k = j;
				break;
			}
		if (k == P11_MAX_SLOTS)
			for (size_t j = 0; j < P11_MAX_SLOTS; j++)
				if (!p11_slots[j].used) {
					k = j;
					p11_slots[j].used = true;
					snprintf(p11_slots[j].reader,
					    sizeof(p11_slots[j].reader), "%s",
					    r[i].name);
					break;
				}
		if (k == P11_MAX_SLOTS)
			continue;
		seen[k] = true;
		p11_slots[k].reader_present = true;
		if (!r[i].card_present) {
			not_piv[k] = false;
			if (p11_slots[k].token || p11_slots[k].card != NULL)
				p11_token_gone(&p11_slots[k]);
		} else if (!p11_slots[k].token)
			token_insert(&p11_slots[k], k);
	}
	for (size_t j = 0; j < P11_MAX_SLOTS; j++)
		if (p11_slots[j].used && !seen[j]) {
			p11_slots[j].reader_present = false;
			not_piv[j] = false;
			p11_token_gone(&p11_slots[j]);
		}
	free(r);
	return CKR_OK;
}

CK_RV
p11_slot_get(CK_SLOT_ID id, p11_slot **out)
{
	if (id >= P11_MAX_SLOTS || !p11_slots[id].used)
		return CKR_SLOT_ID_INVALID;
	*out = &p11_slots[id];
	return CKR_OK;
}

CK_RV
p11_token_get(CK_SLOT_ID id, p11_slot **out)
{
	CK_RV rv = p11_slot_get(id, out);

	if (rv != CKR_OK)
		return rv;
	if (!(*out)->token)
		return CKR_TOKEN_NOT_PRESENT;
	return CKR_OK;
}

/* the PIN-protected data objects go (logout, or the card forgot the PIN) */
void
p11_token_drop_private(p11_slot *slot)
{
	p11_object **pp = &slot->objects, *o;

	while ((o = *pp) != NULL) {
		if (o->cls == CKO_DATA && o->private_obj) {
			*pp = o->next;
			p11_object_free(&o);
		} else
			pp = &o->next;
	}
}

CK_RV
p11_token_check(p11_slot *slot, int wk)
{
	/* a PIN-once key refused: the card lost the login, let the user log in again */
	if (wk == WK_ERR_AUTH_REQUIRED && slot->login == CKU_USER) {
		slot->login = P11_NOBODY;
		p11_token_drop_private(slot);
	}
	if (wk == WK_ERR_NO_CARD || wk == WK_ERR_CARD_REMOVED ||
	    wk == WK_ERR_NO_READER) {
		p11_token_gone(slot);
		return CKR_DEVICE_REMOVED;
	}
	return p11_rv(wk);
}

CK_RV
p11_card_open(p11_slot *slot)
{
	int wk = wk_card_begin(slot->card);

	if (wk == WK_OK) {
		/* another program may have selected another application */
		wk = wk_piv_select(slot->piv);
		if (wk != WK_OK)
			wk_card_end(slot->card);
	}
	slot->piv_selected = wk == WK_OK;
	return wk == WK_OK ? CKR_OK : p11_token_check(slot, wk);
}

/*
 * issue 17: a signature should cost one card round trip. To a walletkey
 * card whose PIV application this module selected last, the command goes
 * alone: libwalletkey sends a command that fits one extended APDU without a
 * transaction (pcscd carries one SCardTransmit whole), and no SELECT goes
 * before it. Another program's work in between shows in the answer itself:
 * the other applets of the card answer GENERAL AUTHENTICATE with 6D00 (or
 * 6E00), nothing happened, and the command is sent again the careful way,
 * in a transaction after SELECT; so is it when the card is busy in another
 * program's transaction. Other PIV cards always get the careful way: an
 * unknown applet might give INS 87 a meaning.
 */
CK_RV
p11_card_run(p11_slot *slot, p11_card_fn fn, void *arg, int *wk)
{
	CK_RV rv;

	if (!slot->token)
		return CKR_DEVICE_REMOVED;
	if (slot->walletkey && slot->piv_selected) {
		*wk = fn(slot, arg);
		if (*wk != WK_ERR_NOT_SUPPORTED && *wk != WK_ERR_PCSC &&
		    *wk != WK_ERR_TRANSPORT)
			return CKR_OK;
		slot->piv_selected = false;
	}
	if ((rv = p11_card_open(slot)) != CKR_OK)
		return rv;
	*wk = fn(slot, arg);
	wk_card_end(slot->card);
	return CKR_OK;
}

/* the card's private-key commands, one shape (sign, decrypt, derive) */
typedef struct card_call {
	p11_piv_private_fn fn;
	uint8_t key_ref, alg;
	const uint8_t *in;
	size_t in_len;
	uint8_t *out;
	size_t *out_len;
	size_t cap;	/* *out_len on entry: a second try starts from it */
} card_call;

static int
call_private(p11_slot *slot, void *arg)
{
	card_call *c = arg;

	*c->out_len = c->cap;
	return c->fn(slot->piv, c->key_ref, c->alg, c->in, c->in_len, c->out,
	    c->out_len);
}

CK_RV
p11_card_private(p11_slot *slot, p11_piv_private_fn fn, uint8_t key_ref,
    uint8_t alg, const uint8_t *in, size_t in_len, uint8_t *out,
    size_t *out_len, int *wk)
{
	card_call c = { fn, key_ref, alg, in, in_len, out, out_len, *out_len };

	return p11_card_run(slot, call_private, &c, wk);
}

CK_RV
p11_card_begin(p11_slot *slot)
{
	if (!slot->token)
		return CKR_DEVICE_REMOVED;
	return p11_card_open(slot);
}

/* is the card still there? a transaction, no APDU */
CK_RV
p11_token_alive(p11_slot *slot)
{
	int wk;

	if (!slot->token)
		return CKR_DEVICE_REMOVED;
	wk = wk_card_begin(slot->card);
	if (wk == WK_OK)
		wk_card_end(slot->card);
	return wk == WK_OK ? CKR_OK : p11_token_check(slot, wk);
}

/*
 * Yubico's PIN-protected management key (ykman piv access
 * change-management-key --protect; piv.md 3.1): ADMIN DATA 5FFF00 is
 * 80 { 81 01 flags } with 02 = protected, printed information 5FC109 holds
 * 88 { 89 key } and is readable after VERIFY only
 */
static int
protected_mgm(p11_slot *slot, bool auth)
{
	uint8_t *buf = malloc(WK_PIV_OBJ_MAX);
	const uint8_t *v, *w;
	size_t len = WK_PIV_OBJ_MAX, vl, wl;
	int wk = WK_ERR_NOT_FOUND;

	if (buf == NULL)
		return WK_ERR_MEMORY;
	if (wk_piv_get_data(slot->piv, WK_PIV_OBJ_ADMIN_DATA, buf, &len) != WK_OK ||
	    !p11_tlv_find(buf, len, 0x80, &v, &vl) ||
	    !p11_tlv_find(v, vl, 0x81, &w, &wl) || wl != 1 || !(w[0] & 0x02))
		goto out;
	len = WK_PIV_OBJ_MAX;
	if (wk_piv_get_data(slot->piv, WK_PIV_OBJ_PRINTED, buf, &len) != WK_OK ||
	    !p11_tlv_find(buf, len, 0x88, &v, &vl) ||
	    !p11_tlv_find(v, vl, 0x89, &w, &wl) ||
	    (wl != 16 && wl != 24 && wl != 32))
		goto out;
	wk = auth ? wk_piv_authenticate(slot->piv, 0, w, wl, true) : WK_OK;
out:
	sodium_memzero(buf, WK_PIV_OBJ_MAX);
	free(buf);
	return wk;
}

void
p11_token_find_protected_mgm(p11_slot *slot)
{
	slot->mgm_protected = false;
	if (p11_card_open(slot) != CKR_OK)
		return;
	slot->mgm_protected = protected_mgm(slot, false) == WK_OK;
	wk_card_end(slot->card);
}

bool
p11_may_write(const p11_slot *slot)
{
	return slot->login == CKU_SO ||
	    (slot->login == CKU_USER && slot->mgm_protected);
}

CK_RV
p11_write_begin(p11_slot *slot)
{
	CK_RV rv = p11_card_begin(slot);
	int wk;

	if (rv != CKR_OK || slot->login != CKU_USER)
		return rv;
	/* in this transaction: no other program comes between */
	wk = protected_mgm(slot, true);
	if (wk != WK_OK) {
		wk_card_end(slot->card);
		return wk == WK_ERR_NOT_FOUND ? CKR_USER_NOT_LOGGED_IN :
		    p11_token_check(slot, wk);
	}
	return CKR_OK;
}

void
p11_card_end(p11_slot *slot)
{
	if (slot->card != NULL)
		wk_card_end(slot->card);
}

CK_RV
p11_token_pin_info(p11_slot *slot)
{
	bool verified = false;
	unsigned tries = 0;
	int wk;
	CK_RV rv;

	rv = p11_card_open(slot);
	if (rv != CKR_OK)
		return rv;
	wk = wk_piv_pin_status(slot->piv, &verified, &tries);
	if (wk == WK_OK || wk == WK_ERR_PIN_BLOCKED) {
		/* the counters themselves (Yubico F7): the status query
		 * says nothing of them while the PIN is verified */
		wk_piv_metadata *md = malloc(sizeof(*md));
		if (md != NULL && wk_piv_get_metadata(slot->piv, WK_PIV_REF_PIN,
		    md) == WK_OK && md->has_retries) {
			slot->pin_max = md->retries_total;
			slot->pin_tries = md->retries_left;
		}
		if (md != NULL && wk_piv_get_metadata(slot->piv, WK_PIV_REF_PUK,
		    md) == WK_OK && md->has_retries) {
			slot->puk_max = md->retries_total;
			slot->puk_tries = md->retries_left;
		}
		free(md);
	}
	wk_card_end(slot->card);
	if (wk == WK_ERR_PIN_BLOCKED) {
		slot->pin_tries = 0;
		return CKR_OK;
	}
	if (wk != WK_OK)
		return p11_token_check(slot, wk);
	if (!verified) {
		slot->pin_tries = (int)tries;
		/* the card forgot the PIN (reset, or VERIFY FF from another program) */
		if (slot->login == CKU_USER) {
			slot->login = P11_NOBODY;
			p11_token_drop_private(slot);
		}
	}
	return CKR_OK;
}

CK_RV
p11_slots_event(CK_SLOT_ID *id)
{
	for (size_t i = 0; i < P11_MAX_SLOTS; i++)
		if (p11_slots[i].event) {
			p11_slots[i].event = false;
			*id = (CK_SLOT_ID)i;
			return CKR_OK;
		}
	return CKR_NO_EVENT;
}
