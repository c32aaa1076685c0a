/*
 * the PINs of the GM applications (GM/T 0016 7.3): VERIFY, CHANGE,
 * GET PIN INFO, UNBLOCK, logout. PINs are stored as Argon2id strings; a
 * try is counted and committed before the comparison, as PIV's VERIFY does.
 */
#include <string.h>

#include <sodium.h>

#include "gm_int.h"

/* the PIV applet's cost: about 13 ms per hash on the development machine */
#define GM_PW_OPS 2ULL
#define GM_PW_MEM (32u * 1024u * 1024u)

int
gm_pin_set(vc_card *card, uint8_t app, unsigned type, const uint8_t *pin,
    size_t len, uint8_t tries, bool is_default)
{
	vc_store *st = vc_card_store(card);
	char h[crypto_pwhash_STRBYTES];
	char key[32];
	int r = -1;

	if (crypto_pwhash_str(h, (const char *)pin, len, GM_PW_OPS,
	    GM_PW_MEM) != 0)
		goto out;
	gm_store_name(key, sizeof(key), "pin", app, (int)type);
	if (vc_store_put(st, GM_APPLET, key, (const uint8_t *)h,
	    strlen(h)) != VC_STORE_OK)
		goto out;
	gm_store_name(key, sizeof(key), "left", app, (int)type);
	if (vc_store_put_u64(st, GM_APPLET, key, tries) != VC_STORE_OK)
		goto out;
	gm_store_name(key, sizeof(key), "def", app, (int)type);
	if (vc_store_put_u64(st, GM_APPLET, key, is_default) != VC_STORE_OK)
		goto out;
	r = 0;
out:
	sodium_memzero(h, sizeof(h));
	return r;
}

static int
gm_app_meta(vc_card *card, uint8_t app, uint32_t *rights, uint8_t tries[2])
{
	uint8_t m[6];
	wk_buf b;
	char key[32];
	int r = -1;

	wk_buf_init_fixed(&b, m, sizeof(m));
	gm_store_name(key, sizeof(key), "meta", app, -1);
	if (vc_store_get(vc_card_store(card), GM_APPLET, key, &b) != VC_STORE_OK ||
	    wk_buf_failed(&b) || b.len != sizeof(m))
		goto out;
	if (rights != NULL)
		*rights = gm_be32(m);
	if (tries != NULL) {
		tries[0] = m[4];
		tries[1] = m[5];
	}
	r = 0;
out:
	return r;
}

static int
gm_pin_left(vc_card *card, uint8_t app, unsigned type, uint8_t *left)
{
	uint64_t v;
	char key[32];

	gm_store_name(key, sizeof(key), "left", app, (int)type);
	if (vc_store_get_u64(vc_card_store(card), GM_APPLET, key, &v) !=
	    VC_STORE_OK)
		return -1;
	*left = (uint8_t)(v > WK_GM_TRIES_MAX ? WK_GM_TRIES_MAX : v);
	return 0;
}

/* one try: counted and committed, then compared; 9000 restores the counter */
static uint16_t
gm_pin_try(vc_card *card, uint8_t app, unsigned type, const uint8_t *pin,
    size_t len)
{
	vc_store *st = vc_card_store(card);
	char hs[crypto_pwhash_STRBYTES];
	char key[32];
	uint8_t left, tries[2];
	wk_buf h;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	wk_buf_init_heap(&h, crypto_pwhash_STRBYTES - 1);
	if (gm_app_meta(card, app, NULL, tries) != 0 ||
	    gm_pin_left(card, app, type, &left) != 0)
		goto out;
	if (left == 0) {
		sw = WK_SW_AUTH_BLOCKED;
		goto out;
	}
	gm_store_name(key, sizeof(key), "pin", app, (int)type);
	if (vc_store_get(st, GM_APPLET, key, &h) != VC_STORE_OK ||
	    wk_buf_failed(&h))
		goto out;
	memcpy(hs, h.p, h.len);
	hs[h.len] = '\0';
	/* the try is durable before the comparison (ARCHITECTURE, card store) */
	gm_store_name(key, sizeof(key), "left", app, (int)type);
	if (vc_store_put_u64(st, GM_APPLET, key, (uint8_t)(left - 1)) !=
	    VC_STORE_OK || vc_store_checkpoint(st) != VC_STORE_OK)
		goto out;
	if (crypto_pwhash_str_verify(hs, (const char *)pin, len) != 0) {
		sw = (uint16_t)(WK_SW_WRONG_PIN | (uint8_t)(left - 1));
		goto out;
	}
	if (vc_store_put_u64(st, GM_APPLET, key, tries[type]) != VC_STORE_OK)
		goto out;
	sw = WK_SW_OK;
out:
	sodium_memzero(hs, sizeof(hs));
	wk_buf_clear(&h);
	return sw;
}

static void
gm_login_clear(gm_state *s, uint8_t app, unsigned type)
{
	gm_login *l = gm_login_of(s, app);

	if (l == NULL)
		return;
	if (type == WK_GM_PIN_ADMIN)
		l->admin = false;
	else
		l->user = false;
}

/* P1 = application, P2 = PIN type: the checks every PIN command makes */
static uint16_t
gm_pin_cmd(vc_card *card, const wk_apdu *cmd)
{
	uint16_t sw;

	if ((sw = gm_app_check(card, cmd->p1)) != WK_SW_OK)
		return sw;
	if (cmd->p2 != WK_GM_PIN_ADMIN && cmd->p2 != WK_GM_PIN_USER)
		return WK_SW_WRONG_P1P2;
	return WK_SW_OK;
}

uint16_t
gm_pin_verify(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	gm_login *l;
	uint8_t left;
	uint16_t sw;

	(void)resp;
	if ((sw = gm_pin_cmd(card, cmd)) != WK_SW_OK)
		return sw;
	if ((l = gm_login_of(s, cmd->p1)) == NULL)
		return WK_SW_MEMORY_FAILURE;
	if (cmd->lc == 0) {
		/* status query, as PIV's 00 20 00 80 */
		if (gm_pin_left(card, cmd->p1, cmd->p2, &left) != 0)
			return WK_SW_MEMORY_FAILURE;
		if (left == 0)
			return WK_SW_AUTH_BLOCKED;
		if (cmd->p2 == WK_GM_PIN_ADMIN ? l->admin : l->user)
			return WK_SW_OK;
		return (uint16_t)(WK_SW_WRONG_PIN | left);
	}
	if (cmd->lc < WK_GM_PIN_MIN || cmd->lc > WK_GM_PIN_MAX)
		return WK_SW_WRONG_LENGTH;
	gm_login_clear(s, cmd->p1, cmd->p2);
	sw = gm_pin_try(card, cmd->p1, cmd->p2, cmd->data, cmd->lc);
	if (sw == WK_SW_OK) {
		if (cmd->p2 == WK_GM_PIN_ADMIN)
			l->admin = true;
		else
			l->user = true;
	}
	return sw;
}

/* CHANGE PIN and UNBLOCK: the PIN who (f[0]) opens setting the PIN pin to
 * f[1], its try limit kept; a wrong one drops who's login, and a PIN set
 * by another drops its own */
static uint16_t
gm_pin_replace(gm_state *s, vc_card *card, const wk_apdu *cmd, uint8_t who,
    uint8_t pin)
{
	static const gm_field spec[] = {
		{ WK_GM_TAG_PIN, WK_GM_PIN_MIN, WK_GM_PIN_MAX, true },
		{ WK_GM_TAG_NEW_PIN, WK_GM_PIN_MIN, WK_GM_PIN_MAX, true },
	};
	wk_tlv f[2];
	uint8_t tries[2];
	uint16_t sw;

	if ((sw = gm_parse(cmd, spec, 2, f)) != WK_SW_OK)
		return sw;
	sw = gm_pin_try(card, cmd->p1, who, f[0].value, f[0].len);
	if (sw != WK_SW_OK) {
		gm_login_clear(s, cmd->p1, who);
		return sw;
	}
	if (who != pin)
		gm_login_clear(s, cmd->p1, pin);
	if (gm_app_meta(card, cmd->p1, NULL, tries) != 0 ||
	    gm_pin_set(card, cmd->p1, pin, f[1].value, f[1].len, tries[pin],
	    false) != 0) {
		vc_store_abort(vc_card_store(card));
		return WK_SW_MEMORY_FAILURE;
	}
	return WK_SW_OK;
}

uint16_t
gm_pin_change(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint16_t sw;

	(void)resp;
	if ((sw = gm_pin_cmd(card, cmd)) != WK_SW_OK)
		return sw;
	return gm_pin_replace(state, card, cmd, cmd->p2, cmd->p2);
}

uint16_t
gm_pin_info(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t tries[2], left;
	uint64_t def = 0;
	char key[32];
	uint16_t sw;

	(void)state;
	if ((sw = gm_pin_cmd(card, cmd)) != WK_SW_OK)
		return sw;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	gm_store_name(key, sizeof(key), "def", cmd->p1, cmd->p2);
	if (gm_app_meta(card, cmd->p1, NULL, tries) != 0 ||
	    gm_pin_left(card, cmd->p1, cmd->p2, &left) != 0 ||
	    vc_store_get_u64(vc_card_store(card), GM_APPLET, key, &def) !=
	    VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	wk_buf_u8(resp, tries[cmd->p2]);
	wk_buf_u8(resp, left);
	wk_buf_u8(resp, def != 0);
	return WK_SW_OK;
}

uint16_t
gm_pin_unblock(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint16_t sw;

	(void)resp;
	if ((sw = gm_app_check(card, cmd->p1)) != WK_SW_OK)
		return sw;
	if (cmd->p2 != WK_GM_PIN_USER)
		return WK_SW_WRONG_P1P2;
	return gm_pin_replace(state, card, cmd, WK_GM_PIN_ADMIN,
	    WK_GM_PIN_USER);
}

uint16_t
gm_logout(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	gm_login *l;
	uint16_t sw;

	(void)resp;
	if ((sw = gm_app_check(card, cmd->p1)) != WK_SW_OK)
		return sw;
	if (cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	if ((l = gm_login_of(s, cmd->p1)) != NULL)
		l->admin = l->user = false;
	return WK_SW_OK;
}
