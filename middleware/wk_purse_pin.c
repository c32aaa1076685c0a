/*
 * the purse PIN's life (docs/purse.md "PIN"): CHANGE PIN, the retry
 * status, the issuer's RELOAD PIN script, and the holder's side of a PIN
 * reload with the issuer (wk_wallet_pin_unblock)
 */
#include "wk_purse_internal.h"

#include <string.h>

#include <sodium.h>

#include "wk_hex.h"

#define CLA_PURSE 0x80
#define CLA_SM 0x84
#define INS_VERIFY 0x20
#define INS_PIN 0x5E
#define P1_RELOAD_PIN 0x00
#define P1_CHANGE_PIN 0x01

int
wk_purse_change_pin(wk_card *card, const char *old_pin, size_t old_len,
    const char *new_pin, size_t new_len, int *tries_left)
{
	uint8_t o[6], n[6], data[13];
	size_t on = 0, nn = 0, len = 0;
	uint16_t sw = 0;
	int rc;

	if (card == NULL || old_pin == NULL || new_pin == NULL)
		return WK_ERR_ARG;
	if ((rc = wk_purse_pin_bcd(old_pin, old_len, o, &on)) != WK_OK ||
	    (rc = wk_purse_pin_bcd(new_pin, new_len, n, &nn)) != WK_OK)
		goto out;
	/* section 2: old PIN || FF || new PIN */
	memcpy(data, o, on);
	data[on] = 0xFF;
	memcpy(data + on + 1, n, nn);
	len = sizeof(o);
	if ((rc = wk_card_apdu(card, CLA_PURSE, INS_PIN, P1_CHANGE_PIN, 0x00,
	    data, on + 1 + nn, 0, o, &len, &sw)) != WK_OK)
		goto out;
	rc = wk_rc_from_sw(sw);
	if (rc == WK_ERR_WRONG_PIN && tries_left != NULL)
		*tries_left = sw & 0x0F;
	if (rc == WK_ERR_PIN_BLOCKED && tries_left != NULL)
		*tries_left = 0;
out:
	sodium_memzero(o, sizeof(o));
	sodium_memzero(n, sizeof(n));
	sodium_memzero(data, sizeof(data));
	return rc;
}

int
wk_purse_pin_status(wk_card *card, int *tries_left, bool *verified)
{
	uint8_t tmp[8];
	size_t len = sizeof(tmp);
	uint16_t sw = 0;
	int rc;

	if (card == NULL || tries_left == NULL || verified == NULL)
		return WK_ERR_ARG;
	*verified = false;
	*tries_left = -1;
	if ((rc = wk_card_apdu(card, 0x00, INS_VERIFY, 0x00, 0x00, NULL, 0, 0,
	    tmp, &len, &sw)) != WK_OK)
		return rc;
	if (sw == 0x9000) {
		*verified = true;
		return WK_OK;
	}
	if ((sw & 0xFFF0) == 0x63C0) {
		*tries_left = sw & 0x0F;
		return WK_OK;
	}
	if (sw == 0x6983) {
		*tries_left = 0;
		return WK_OK;
	}
	return wk_rc_from_sw(sw);
}

int
wk_wallet_pin_reload(wk_card *card, const uint8_t *script, size_t len,
    uint16_t *swp)
{
	uint8_t tmp[8];
	size_t rlen = sizeof(tmp);
	uint16_t sw = 0;
	int rc;

	if (card == NULL || script == NULL || len < 10 ||
	    len > WK_WALLET_PIN_SCRIPT_MAX)
		return WK_ERR_ARG;
	if ((rc = wk_card_apdu(card, CLA_SM, INS_PIN, P1_RELOAD_PIN, 0x00, script,
	    len, 0, tmp, &rlen, &sw)) != WK_OK)
		return rc;
	if (swp != NULL)
		*swp = sw;
	switch (sw) {
	case 0x6988:
	case 0x9302:
		return WK_ERR_AUTH_FAILED;
	case 0x6982:
		return WK_ERR_INVALID_STATE;
	default:
		return wk_rc_from_sw(sw);
	}
}

/* the reset PIN a script carries, as digits (the card checks it the same
 * way: BCD, trailing FF ignored, an F nibble may end an odd count) */
static int
script_pin(const uint8_t *script, size_t len, char out[13], size_t *n)
{
	size_t pin_len = len - 8, k = 0;

	while (pin_len > 0 && script[pin_len - 1] == 0xFF)
		pin_len--;
	for (size_t i = 0; i < pin_len; i++) {
		uint8_t hi = (uint8_t)(script[i] >> 4), lo = script[i] & 0x0F;

		if (hi > 9 || k >= 12)
			return WK_ERR_ARG;
		out[k++] = (char)('0' + hi);
		if (lo == 0x0F && i == pin_len - 1)
			break;
		if (lo > 9 || k >= 12)
			return WK_ERR_ARG;
		out[k++] = (char)('0' + lo);
	}
	out[k] = '\0';
	*n = k;
	return k >= 4 ? WK_OK : WK_ERR_ARG;
}

int
wk_wallet_pin_unblock(wk_card *card, wk_issuer *is, const char *new_pin,
    size_t new_len, wk_pin_unblock_progress_fn progress, void *arg)
{
	uint8_t req[WK_WALLET_MSG_MAX], chk[6];
	wk_issuer_pin_script sc;
	wk_wallet_msg_info info;
	char id[17], reset[13];
	size_t len = sizeof(req), rn = 0, cn = 0;
	bool began = false;
	int rc;

	memset(&sc, 0, sizeof(sc));
	memset(reset, 0, sizeof(reset));
	if (card == NULL || is == NULL)
		return WK_ERR_ARG;
	/* a bad new PIN is refused before anything is spent */
	if (new_pin != NULL && (rc = wk_purse_pin_bcd(new_pin, new_len, chk,
	    &cn)) != WK_OK)
		goto out;
	/* one transaction from the request to the script: no other host
	 * process between them makes the card forget its challenge */
	if ((rc = wk_card_begin(card)) != WK_OK)
		goto out;
	began = true;
	rc = wk_purse_select(card, NULL, 0, NULL);
	if (rc != WK_OK && rc != WK_ERR_PURSE_BLOCKED)
		goto out;
	if ((rc = wk_wallet_unblock_request(card, req, &len)) != WK_OK)
		goto out;
	if ((rc = wk_wallet_msg_info_get(req, len, &info)) != WK_OK)
		goto out;
	wk_hex_encode(info.card_id, sizeof(info.card_id), id);
	if (progress != NULL)
		progress(arg, WK_PIN_UNBLOCK_STEP_REQUEST, id);
	if ((rc = wk_issuer_pin_reload(is, req, len, &sc)) != WK_OK)
		goto out;
	if (strcmp(sc.card_id, id) != 0 ||
	    memcmp(sc.challenge, info.challenge, sizeof(sc.challenge)) != 0) {
		rc = WK_ERR_ISSUER;
		goto out;
	}
	if (progress != NULL)
		progress(arg, WK_PIN_UNBLOCK_STEP_SCRIPT, id);
	if (new_pin != NULL && (rc = script_pin(sc.script, sc.script_len, reset,
	    &rn)) != WK_OK) {
		rc = WK_ERR_ISSUER;
		goto out;
	}
	if ((rc = wk_wallet_pin_reload(card, sc.script, sc.script_len, NULL)) !=
	    WK_OK)
		goto out;
	if (progress != NULL)
		progress(arg, WK_PIN_UNBLOCK_STEP_RELOADED, id);
	if (new_pin != NULL) {
		if ((rc = wk_purse_change_pin(card, reset, rn, new_pin, new_len,
		    NULL)) != WK_OK)
			goto out;
		if (progress != NULL)
			progress(arg, WK_PIN_UNBLOCK_STEP_CHANGED, id);
	}
	rc = WK_OK;
out:
	if (began)
		(void)wk_card_end(card);
	sodium_memzero(&sc, sizeof(sc));
	sodium_memzero(reset, sizeof(reset));
	sodium_memzero(chk, sizeof(chk));
	return rc;
}
