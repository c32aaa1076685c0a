/*
 * the purse's PIN and its blocking (pboc-purse.md; docs/purse.md "PIN"
 * and "Blocking"): VERIFY, CHANGE PIN, RELOAD PIN (the issuer's script),
 * GET CHALLENGE, APPLICATION UNBLOCK, and the PIN holder that the anon
 * and audit applets share (purse_pin_holder). Every try is spent and
 * durable before its comparison. Called by the dispatch of purse.c.
 */
#include "purse.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vc_store.h"
#include "wk_tlv.h"

#define SW_APP_BLOCKED_FOR_GOOD 0x9303

/*
 * 8: 2-6 bytes BCD, trailing FF padding ignored; an F nibble may end an
 * odd number of digits. Returns the digit count, or 0 when malformed.
 */
static size_t
pin_digits(const uint8_t *p, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	bool end = false;

	while (len > 0 && p[len - 1] == 0xFF)
		len--;
	for (size_t i = 0; i < len; i++) {
		uint8_t nib[2] = { (uint8_t)(p[i] >> 4), (uint8_t)(p[i] & 0x0F) };

		for (int j = 0; j < 2; j++) {
			if (end)
				return 0;
			if (nib[j] == 0x0F && i == len - 1 && j == 1) {
				end = true;
				continue;
			}
			if (nib[j] > 9 || n + 1 >= cap)
				return 0;
			out[n++] = (char)('0' + nib[j]);
		}
	}
	out[n] = '\0';
	if (n < PURSE_PIN_MIN_DIGITS || n > PURSE_PIN_MAX_DIGITS)
		return 0;
	return n;
}

/* the try is spent and durable before a comparison, as VERIFY's */
static int
pin_spend(vc_card *card, uint64_t tries)
{
	vc_store *st = vc_card_store(card);

	if (vc_store_put_u64(st, PURSE_APPLET, "pin.tries", tries - 1) != 0 ||
	    vc_store_checkpoint(st) != 0)
		return -1;
	purse_fault_point("pin-spent");
	return 0;
}

uint16_t
purse_pin_verify(vc_card *card, const wk_apdu *cmd, bool *pin_ok)
{
	vc_store *st = vc_card_store(card);
	char digits[PURSE_PIN_MAX_DIGITS + 2];
	uint64_t tries;
	purse_state s;
	size_t n;
	bool ok = false;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	if (cmd->lc != 0 && (cmd->lc < 2 || cmd->lc > 6))
		return WK_SW_WRONG_LENGTH;
	if (purse_state_get(card, &s) != VC_STORE_OK ||
	    vc_store_get_u64(st, PURSE_APPLET, "pin.tries", &tries) != 0)
		goto out;
	if (cmd->lc == 0) {
		/* ISO 7816-4 11.5.6: the retry status */
		if (tries == 0)
			sw = WK_SW_AUTH_BLOCKED;
		else if (*pin_ok)
			sw = WK_SW_OK;
		else
			sw = (uint16_t)(WK_SW_WRONG_PIN | (tries & 0x0F));
		goto out;
	}
	if ((n = pin_digits(cmd->data, cmd->lc, digits, sizeof(digits))) == 0) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if (tries == 0) {
		sw = WK_SW_AUTH_BLOCKED;
		goto out;
	}
	*pin_ok = false;
	/* the try is spent and durable before the comparison */
	if (pin_spend(card, tries) != 0)
		goto out;
	if (purse_pin_check(card, digits, n, &ok) != VC_STORE_OK)
		goto out;
	if (!ok) {
		sw = (uint16_t)(WK_SW_WRONG_PIN | ((tries - 1) & 0x0F));
		goto out;
	}
	if (vc_store_put_u64(st, PURSE_APPLET, "pin.tries", s.pin_max) != 0)
		goto out;
	*pin_ok = true;
	sw = WK_SW_OK;
out:
	sodium_memzero(digits, sizeof(digits));
	return sw;
}

int
purse_pin_holder_new(void **state)
{
	return (*state = calloc(1, sizeof(purse_pin_holder))) != NULL ? 0 : -1;
}

void
purse_pin_holder_close(void **state)
{
	free(*state);
	*state = NULL;
}

uint16_t
purse_pin_holder_select(void *state, const uint8_t *aid, size_t aid_len,
    const wk_apdu *cmd, wk_buf *resp)
{
	purse_pin_holder *h = state;
	size_t fci;

	h->pin_ok = false;
	if (cmd->p2 == 0x0C)
		return WK_SW_OK;
	fci = wk_tlv_begin(resp, 0x6F);
	wk_tlv_put(resp, 0x84, aid, aid_len);
	wk_tlv_end(resp, fci);
	return WK_SW_OK;
}

void
purse_pin_holder_deselect(void *state, vc_card *card)
{
	purse_pin_holder *h = state;

	(void)card;
	h->pin_ok = false;
}

uint16_t
purse_pin_holder_verify(void *state, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp)
{
	purse_pin_holder *h = state;

	(void)resp;
	return purse_pin_verify(card, cmd, &h->pin_ok);
}

/*
 * CHANGE PIN, 80 5E 01 00 Lc oldPIN FF newPIN (section 2; FMCOS): the
 * holder's old PIN, one FF byte, the new one, each 2-6 bytes BCD as for
 * VERIFY. Padding FF bytes after the old PIN are part of the separator.
 * A wrong old PIN costs one try of VERIFY's counter (durable before the
 * comparison) and answers 63Cx; a blocked PIN 6983. The security state is
 * cleared either way: the holder verifies the new PIN before using it.
 */
static uint16_t
change_pin(purse_applet *a, vc_card *card, const wk_apdu *cmd)
{
	vc_store *st = vc_card_store(card);
	char old[PURSE_PIN_MAX_DIGITS + 2], nw[PURSE_PIN_MAX_DIGITS + 2];
	size_t sep, start, on, nn;
	uint64_t tries;
	purse_state s;
	bool ok = false;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	if (cmd->p2 != 0x00)
		return WK_SW_REF_NOT_FOUND;
	if (cmd->lc < 2 * WK_PURSE_PIN_BCD_MIN + 1 ||
	    cmd->lc > 2 * WK_PURSE_PIN_BCD_MAX + 1)
		return WK_SW_WRONG_LENGTH;
	for (sep = 0; sep < cmd->lc && cmd->data[sep] != 0xFF; sep++)
		;
	for (start = sep; start < cmd->lc && cmd->data[start] == 0xFF; start++)
		;
	a->pin_ok = false;
	if (sep < WK_PURSE_PIN_BCD_MIN || sep > WK_PURSE_PIN_BCD_MAX ||
	    cmd->lc - start < WK_PURSE_PIN_BCD_MIN ||
	    cmd->lc - start > WK_PURSE_PIN_BCD_MAX ||
	    (on = pin_digits(cmd->data, sep, old, sizeof(old))) == 0 ||
	    (nn = pin_digits(cmd->data + start, cmd->lc - start, nw,
	    sizeof(nw))) == 0) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if (purse_state_get(card, &s) != VC_STORE_OK ||
	    vc_store_get_u64(st, PURSE_APPLET, "pin.tries", &tries) != 0)
		goto out;
	if (tries == 0) {
		sw = WK_SW_AUTH_BLOCKED;
		goto out;
	}
	if (pin_spend(card, tries) != 0 ||
	    purse_pin_check(card, old, on, &ok) != VC_STORE_OK)
		goto out;
	if (!ok) {
		sw = (uint16_t)(WK_SW_WRONG_PIN | ((tries - 1) & 0x0F));
		goto out;
	}
	if (purse_pin_set(card, nw, nn) != VC_STORE_OK ||
	    vc_store_put_u64(st, PURSE_APPLET, "pin.tries", s.pin_max) != 0)
		goto out;
	sw = WK_SW_OK;
out:
	sodium_memzero(old, sizeof(old));
	sodium_memzero(nw, sizeof(nw));
	return sw;
}

/*
 * the challenge of the last GET CHALLENGE, which RELOAD PIN and APPLICATION
 * UNBLOCK check their MAC with; chal has room for one byte more. False
 * with *sw 6982 when there is none; false with *sw as it was when the
 * store fails.
 */
static bool
unblock_challenge(vc_card *card, uint8_t chal[WK_PURSE_CHALLENGE_LEN + 1],
    uint16_t *sw)
{
	wk_buf b;
	int rc;

	wk_buf_init_fixed(&b, chal, WK_PURSE_CHALLENGE_LEN + 1);
	rc = vc_store_get(vc_card_store(card), PURSE_APPLET, "unblock.chal",
	    &b);
	if (rc == VC_STORE_NOT_FOUND)
		*sw = WK_SW_SECURITY_STATUS;	/* no challenge to check it with */
	return rc == VC_STORE_OK && b.len == WK_PURSE_CHALLENGE_LEN;
}

/*
 * RELOAD PIN under line protection, 84 5E 00 00 Lc PIN MAC SM-MAC
 * (docs/purse.md "RELOAD PIN"): the issuer's one-time script. PIN and
 * MAC are the spec's RELOAD PIN data (MAC under DRPK left8 XOR right8 over
 * the PIN, 4.3); SM-MAC is spec 4.1's line protection under the DAMK with
 * the challenge the card keeps (GET CHALLENGE or UNBLOCK REQUEST), as for
 * APPLICATION UNBLOCK. The challenge is used up, durably, before either
 * MAC is compared, so a script works once. Without line protection the
 * MAC covers only the PIN and would replay for ever: CLA 80 gets 6982.
 * A right script sets the PIN, restores its tries and answers 9000.
 */
static uint16_t
reload_pin(purse_applet *a, vc_card *card, const wk_apdu *cmd)
{
	vc_store *st = vc_card_store(card);
	uint8_t chal[WK_PURSE_CHALLENGE_LEN + 1];
	uint8_t msg[5 + WK_PURSE_RELOAD_DATA_MAX], want[WK_PURSE_MAC_LEN];
	char digits[PURSE_PIN_MAX_DIGITS + 2];
	purse_key damk, drpk;
	enum purse_lock lock;
	purse_state s;
	size_t pin_len, n;
	int rc;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	memset(&damk, 0, sizeof(damk));
	memset(&drpk, 0, sizeof(drpk));
	if (cmd->cla != PURSE_CLA_SM)
		return WK_SW_SECURITY_STATUS;
	if (cmd->p2 != 0x00)
		return WK_SW_REF_NOT_FOUND;
	if (cmd->lc < WK_PURSE_PIN_BCD_MIN + 2 * WK_PURSE_MAC_LEN ||
	    cmd->lc > WK_PURSE_RELOAD_DATA_MAX)
		return WK_SW_WRONG_LENGTH;
	pin_len = cmd->lc - 2 * WK_PURSE_MAC_LEN;
	if ((n = pin_digits(cmd->data, pin_len, digits, sizeof(digits))) == 0) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if (purse_lock_state(card, &lock) != VC_STORE_OK ||
	    purse_state_get(card, &s) != VC_STORE_OK)
		goto out;
	if (lock == PURSE_BLOCKED_FOR_GOOD) {
		sw = WK_SW_FUNC_NOT_SUPPORTED;
		goto out;
	}
	if (!unblock_challenge(card, chal, &sw))
		goto out;
	rc = purse_damk_get(card, &damk);
	if (rc == VC_STORE_OK)
		rc = purse_drpk_get(card, &drpk);
	if (rc == VC_STORE_NOT_FOUND) {
		sw = WK_SW_REF_NOT_FOUND;
		goto out;
	}
	if (rc != VC_STORE_OK)
		goto out;
	/* the challenge is gone before the comparison: one script, one try */
	if (vc_store_del(st, PURSE_APPLET, "unblock.chal") != VC_STORE_OK ||
	    vc_store_checkpoint(st) != VC_STORE_OK)
		goto out;
	purse_fault_point("reload-spent");
	/* 4.1: the line protection over the header and the data as received
	 * (Lc counts the SM-MAC): 6988 when it fails */
	msg[0] = cmd->cla;
	msg[1] = cmd->ins;
	msg[2] = cmd->p1;
	msg[3] = cmd->p2;
	msg[4] = (uint8_t)cmd->lc;
	memcpy(msg + 5, cmd->data, pin_len + WK_PURSE_MAC_LEN);
	if (wk_purse_line_mac(damk.alg, damk.key, chal, msg, 5 + pin_len +
	    WK_PURSE_MAC_LEN, want) != WK_PURSE_CRYPTO_OK)
		goto out;
	if (sodium_memcmp(want, cmd->data + pin_len + WK_PURSE_MAC_LEN,
	    WK_PURSE_MAC_LEN) != 0) {
		sw = WK_SW_SM_INCORRECT;
		goto out;
	}
	/* then RELOAD PIN's own MAC under the DRPK: 9302 (section 6) */
	if (wk_purse_reload_pin_mac(drpk.alg, drpk.key, cmd->data, pin_len, want) !=
	    WK_PURSE_CRYPTO_OK)
		goto out;
	if (sodium_memcmp(want, cmd->data + pin_len, WK_PURSE_MAC_LEN) != 0) {
		sw = WK_SW_PURSE_MAC_INVALID;
		goto out;
	}
	if (purse_pin_set(card, digits, n) != VC_STORE_OK ||
	    vc_store_put_u64(st, PURSE_APPLET, "pin.tries", s.pin_max) != 0)
		goto out;
	a->pin_ok = false;
	purse_session_drop(a);
	sw = WK_SW_OK;
out:
	sodium_memzero(msg, sizeof(msg));
	sodium_memzero(want, sizeof(want));
	sodium_memzero(digits, sizeof(digits));
	sodium_memzero(&damk, sizeof(damk));
	sodium_memzero(&drpk, sizeof(drpk));
	return sw;
}

uint16_t
purse_pin_command(purse_applet *a, vc_card *card, const wk_apdu *cmd)
{
	if (cmd->p1 == PURSE_P1_CHANGE_PIN) {
		if (cmd->cla != PURSE_CLA)
			return WK_SW_CLA_NOT_SUPPORTED;
		return change_pin(a, card, cmd);
	}
	if (cmd->p1 == PURSE_P1_RELOAD_PIN)
		return reload_pin(a, card, cmd);
	return WK_SW_WRONG_P1P2;
}

uint16_t
purse_verify(purse_applet *a, vc_card *card, const wk_apdu *cmd)
{
	if (cmd->p1 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->p2 != 0x00)
		return WK_SW_REF_NOT_FOUND;
	if (a->df != DF_ADF)
		return WK_SW_CONDITIONS;
	return purse_pin_verify(card, cmd, &a->pin_ok);
}

/* ---- blocking: GET CHALLENGE, APPLICATION UNBLOCK ---- */

uint16_t
purse_get_challenge(vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t chal[WK_PURSE_CHALLENGE_LEN];

	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0 || (cmd->has_le && cmd->le != WK_PURSE_CHALLENGE_LEN))
		return WK_SW_WRONG_LENGTH;
	if (purse_challenge_new(card, chal) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	wk_buf_add(resp, chal, sizeof(chal));
	return WK_SW_OK;
}

/*
 * FMCOS 8.2: 84 18 00 00 04 MAC, the secure-messaging MAC under the DAMK
 * with the last GET CHALLENGE. The challenge is used up by the first
 * attempt, right or wrong, so a script works once. While the application
 * is blocked a wrong MAC spends one of three tries, durable before the
 * comparison; the third blocks it for good (9303). A wrong MAC on an open
 * application spends none (docs/purse.md "Blocking": a host process
 * without the PIN cannot block the purse for good).
 */
uint16_t
purse_app_unblock(purse_applet *a, vc_card *card, const wk_apdu *cmd)
{
	vc_store *st = vc_card_store(card);
	uint8_t chal[WK_PURSE_CHALLENGE_LEN + 1], want[WK_PURSE_MAC_LEN];
	enum purse_lock lock;
	purse_key k;
	uint64_t tries = PURSE_UNBLOCK_TRIES;
	int rc;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	memset(&k, 0, sizeof(k));
	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != WK_PURSE_MAC_LEN)
		return WK_SW_WRONG_LENGTH;
	if (purse_lock_state(card, &lock) != VC_STORE_OK)
		goto out;
	if (lock == PURSE_BLOCKED_FOR_GOOD) {
		sw = SW_APP_BLOCKED_FOR_GOOD;
		goto out;
	}
	if (!unblock_challenge(card, chal, &sw))
		goto out;
	rc = purse_damk_get(card, &k);
	if (rc == VC_STORE_NOT_FOUND) {
		sw = WK_SW_REF_NOT_FOUND;
		goto out;
	}
	if (rc != VC_STORE_OK)
		goto out;
	if (lock == PURSE_BLOCKED && (rc = vc_store_get_u64(st, PURSE_APPLET,
	    "unblock.tries", &tries)) != VC_STORE_OK && rc != VC_STORE_NOT_FOUND)
		goto out;
	/* the challenge is gone and the try spent before the comparison */
	if (vc_store_del(st, PURSE_APPLET, "unblock.chal") != VC_STORE_OK ||
	    (lock == PURSE_BLOCKED && (tries == 0 || vc_store_put_u64(st,
	    PURSE_APPLET, "unblock.tries", tries - 1) != VC_STORE_OK)) ||
	    vc_store_checkpoint(st) != VC_STORE_OK)
		goto out;
	purse_fault_point("unblock-spent");
	if (wk_purse_unblock_mac(k.alg, k.key, chal, want) != WK_PURSE_CRYPTO_OK)
		goto out;
	if (sodium_memcmp(want, cmd->data, WK_PURSE_MAC_LEN) != 0) {
		sw = WK_SW_SM_INCORRECT;
		goto out;
	}
	if (purse_mac_reset(card) != VC_STORE_OK ||
	    vc_store_put_u64(st, PURSE_APPLET, "unblock.tries",
	    PURSE_UNBLOCK_TRIES) != VC_STORE_OK)
		goto out;
	purse_session_drop(a);
	sw = WK_SW_OK;
out:
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(want, sizeof(want));
	return sw;
}
