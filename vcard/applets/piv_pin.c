/*
 * PIN and PUK: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER and the
 * Yubico SET PIN RETRIES (piv.md 2.3-2.5, 4). Values are stored only as
 * Argon2id strings; a try is counted and committed before the comparison.
 */
#include <string.h>

#include <sodium.h>

#include "piv_int.h"

/* about 13 ms per hash on the development machine (measured) */
#define PIV_PW_OPS 2ULL
#define PIV_PW_MEM (32u * 1024u * 1024u)
#define PIV_PIN_LEN 8

static const uint8_t piv_factory_pin[] = { '1', '2', '3', '4', '5', '6' };
static const uint8_t piv_factory_puk[] = { '1', '2', '3', '4', '5', '6', '7', '8' };

typedef struct piv_ref_names {
	const char *hash;
	const char *left;
	const char *total;
	const char *deflt;
} piv_ref_names;

static const piv_ref_names piv_names_pin = { "pin", "pin.left", "pin.total", "pin.default" };
static const piv_ref_names piv_names_puk = { "puk", "puk.left", "puk.total", "puk.default" };

static const piv_ref_names *
piv_names(uint8_t ref)
{
	return ref == PIV_REF_PIN ? &piv_names_pin : &piv_names_puk;
}

/* length of an FF-padded 8-byte value without its padding */
static size_t
piv_unpadded(const uint8_t *v)
{
	size_t n = PIV_PIN_LEN;

	while (n > 0 && v[n - 1] == 0xFF)
		n--;
	return n;
}

static bool
piv_value_ok(const uint8_t *v)
{
	size_t n = piv_unpadded(v);

	if (n < 6)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] == 0xFF)
			return false;
	return true;
}

static int
piv_put_hash(vc_card *card, uint8_t ref, const uint8_t *v, size_t n)
{
	char h[crypto_pwhash_STRBYTES];
	int r = -1;

	if (crypto_pwhash_str(h, (const char *)v, n, PIV_PW_OPS, PIV_PW_MEM) != 0)
		goto out;
	if (vc_store_put(vc_card_store(card), PIV_APPLET, piv_names(ref)->hash,
	    (const uint8_t *)h, strlen(h)) != VC_STORE_OK)
		goto out;
	r = 0;
out:
	sodium_memzero(h, sizeof(h));
	return r;
}

int
piv_pin_tries(vc_card *card, uint8_t ref, uint8_t *left, uint8_t *total)
{
	const piv_ref_names *nm = piv_names(ref);
	uint64_t l, t;

	if (vc_store_get_u64(vc_card_store(card), PIV_APPLET, nm->left, &l) != VC_STORE_OK ||
	    vc_store_get_u64(vc_card_store(card), PIV_APPLET, nm->total, &t) != VC_STORE_OK)
		return -1;
	*left = (uint8_t)(l > 15 ? 15 : l);
	*total = (uint8_t)(t > 15 ? 15 : t);
	return 0;
}

bool
piv_pin_is_default(vc_card *card, uint8_t ref)
{
	uint64_t d = 0;

	if (vc_store_get_u64(vc_card_store(card), PIV_APPLET,
	    piv_names(ref)->deflt, &d) != VC_STORE_OK)
		return false;
	return d != 0;
}

static int
piv_set_tries(vc_card *card, uint8_t ref, uint8_t left)
{
	return vc_store_put_u64(vc_card_store(card), PIV_APPLET,
	    piv_names(ref)->left, left);
}

/* sets a new value and restores its counter */
static int
piv_set_value(vc_card *card, uint8_t ref, const uint8_t *v, size_t n,
    bool is_default, uint8_t total)
{
	const piv_ref_names *nm = piv_names(ref);
	vc_store *st = vc_card_store(card);

	if (piv_put_hash(card, ref, v, n) != 0 ||
	    vc_store_put_u64(st, PIV_APPLET, nm->total, total) != VC_STORE_OK ||
	    vc_store_put_u64(st, PIV_APPLET, nm->left, total) != VC_STORE_OK ||
	    vc_store_put_u64(st, PIV_APPLET, nm->deflt, is_default) != VC_STORE_OK)
		return -1;
	return 0;
}

int
piv_pin_factory(vc_card *card, uint8_t pin_tries, uint8_t puk_tries)
{
	if (piv_set_value(card, PIV_REF_PIN, piv_factory_pin,
	    sizeof(piv_factory_pin), true, pin_tries) != 0 ||
	    piv_set_value(card, PIV_REF_PUK, piv_factory_puk,
	    sizeof(piv_factory_puk), true, puk_tries) != 0)
		return -1;
	return 0;
}

/*
 * one try against ref: counts the try and commits it, then compares.
 * Returns 9000 (counter restored), 63Cx, 6983 or a store failure.
 */
static uint16_t
piv_try(vc_card *card, uint8_t ref, const uint8_t *v)
{
	const piv_ref_names *nm = piv_names(ref);
	vc_store *st = vc_card_store(card);
	wk_buf h;
	char hs[crypto_pwhash_STRBYTES];
	uint8_t left, total;
	uint16_t sw = WK_SW_MEMORY_FAILURE;
	int ok;

	wk_buf_init_heap(&h, crypto_pwhash_STRBYTES - 1);
	if (piv_pin_tries(card, ref, &left, &total) != 0)
		goto out;
	if (left == 0) {
		sw = WK_SW_AUTH_BLOCKED;
		goto out;
	}
	if (vc_store_get(st, PIV_APPLET, nm->hash, &h) != VC_STORE_OK ||
	    wk_buf_failed(&h))
		goto out;
	memcpy(hs, h.p, h.len);
	hs[h.len] = '\0';
	/* the try is durable before the comparison (ARCHITECTURE, card store) */
	if (piv_set_tries(card, ref, (uint8_t)(left - 1)) != VC_STORE_OK ||
	    vc_store_checkpoint(st) != VC_STORE_OK)
		goto out;
	ok = crypto_pwhash_str_verify(hs, (const char *)v, piv_unpadded(v));
	if (ok != 0) {
		sw = (uint16_t)(WK_SW_WRONG_PIN | (uint8_t)(left - 1));
		goto out;
	}
	if (piv_set_tries(card, ref, total) != VC_STORE_OK)
		goto out;
	sw = WK_SW_OK;
out:
	sodium_memzero(hs, sizeof(hs));
	wk_buf_clear(&h);
	return sw;
}

static uint16_t
piv_status(piv_state *s, vc_card *card)
{
	uint8_t left, total;

	if (piv_pin_tries(card, PIV_REF_PIN, &left, &total) != 0)
		return WK_SW_MEMORY_FAILURE;
	if (left == 0)
		return WK_SW_AUTH_BLOCKED;
	if (s->pin_verified)
		return WK_SW_OK;
	return (uint16_t)(WK_SW_WRONG_PIN | left);
}

uint16_t
piv_verify(piv_state *s, vc_card *card, const wk_apdu *cmd)
{
	uint16_t sw;

	if (cmd->p2 != PIV_REF_PIN)
		return WK_SW_REF_NOT_FOUND;
	if (cmd->p1 == 0xFF) {
		/* SP 800-73-4 part 2, 3.2.1: reset the security status */
		if (cmd->lc != 0)
			return WK_SW_WRONG_DATA;
		s->pin_verified = false;
		s->pin_always = false;
		return WK_SW_OK;
	}
	if (cmd->p1 != 0x00)
		return WK_SW_WRONG_P1P2;
	/* 00 20 00 80 and 00 20 00 80 00 are the same status query (piv.md 1.2) */
	if (cmd->lc == 0)
		return piv_status(s, card);
	if (cmd->lc != PIV_PIN_LEN)
		return WK_SW_WRONG_DATA;
	s->pin_verified = false;
	s->pin_always = false;
	sw = piv_try(card, PIV_REF_PIN, cmd->data);
	if (sw == WK_SW_OK) {
		s->pin_verified = true;
		s->pin_always = true;
	}
	return sw;
}

uint16_t
piv_change_ref(piv_state *s, vc_card *card, const wk_apdu *cmd)
{
	uint8_t total, left;
	uint16_t sw;

	if (cmd->p1 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->p2 != PIV_REF_PIN && cmd->p2 != PIV_REF_PUK)
		return WK_SW_REF_NOT_FOUND;
	if (cmd->lc != 2 * PIV_PIN_LEN || !piv_value_ok(cmd->data + PIV_PIN_LEN))
		return WK_SW_WRONG_DATA;
	sw = piv_try(card, cmd->p2, cmd->data);
	if (sw != WK_SW_OK) {
		if (cmd->p2 == PIV_REF_PIN)
			s->pin_verified = s->pin_always = false;
		return sw;
	}
	if (piv_pin_tries(card, cmd->p2, &left, &total) != 0 ||
	    piv_set_value(card, cmd->p2, cmd->data + PIV_PIN_LEN,
	    piv_unpadded(cmd->data + PIV_PIN_LEN), false, total) != 0) {
		vc_store_abort(vc_card_store(card));
		return WK_SW_MEMORY_FAILURE;
	}
	return WK_SW_OK;
}

uint16_t
piv_reset_retry(piv_state *s, vc_card *card, const wk_apdu *cmd)
{
	uint8_t total, left;
	uint16_t sw;

	if (cmd->p1 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->p2 != PIV_REF_PIN)
		return WK_SW_REF_NOT_FOUND;
	if (cmd->lc != 2 * PIV_PIN_LEN || !piv_value_ok(cmd->data + PIV_PIN_LEN))
		return WK_SW_WRONG_DATA;
	sw = piv_try(card, PIV_REF_PUK, cmd->data);
	if (sw != WK_SW_OK)
		return sw;
	s->pin_verified = s->pin_always = false;
	if (piv_pin_tries(card, PIV_REF_PIN, &left, &total) != 0 ||
	    piv_set_value(card, PIV_REF_PIN, cmd->data + PIV_PIN_LEN,
	    piv_unpadded(cmd->data + PIV_PIN_LEN), false, total) != 0) {
		vc_store_abort(vc_card_store(card));
		return WK_SW_MEMORY_FAILURE;
	}
	return WK_SW_OK;
}

/* Yubico FA: new try counts, PIN and PUK back to factory values (piv.md 4) */
uint16_t
piv_set_retries(piv_state *s, vc_card *card, const wk_apdu *cmd)
{
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	if (!s->mgm_auth || !s->pin_verified)
		return WK_SW_SECURITY_STATUS;
	if (cmd->p1 < 1 || cmd->p1 > 15 || cmd->p2 < 1 || cmd->p2 > 15)
		return WK_SW_WRONG_P1P2;
	if (piv_pin_factory(card, cmd->p1, cmd->p2) != 0) {
		vc_store_abort(vc_card_store(card));
		return WK_SW_MEMORY_FAILURE;
	}
	s->pin_verified = s->pin_always = false;
	return WK_SW_OK;
}
