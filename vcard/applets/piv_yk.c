/* Yubico GET VERSION, GET SERIAL, GET METADATA and RESET (piv.md 4) */
#include <string.h>

#include <sodium.h>

#include "piv_int.h"
#include "piv_wallet.h"
#include "wk_tlv.h"

uint16_t
piv_get_version(const wk_apdu *cmd, wk_buf *resp)
{
	(void)cmd;
	wk_buf_u8(resp, PIV_VERSION_MAJOR);
	wk_buf_u8(resp, PIV_VERSION_MINOR);
	wk_buf_u8(resp, PIV_VERSION_PATCH);
	return wk_buf_failed(resp) ? WK_SW_UNKNOWN : WK_SW_OK;
}

/* low 31 bits of the card serial: yubico-piv-tool 2.2 prints it with %d */
uint32_t
piv_serial(vc_card *card)
{
	const uint8_t *s = vc_card_serial(card);

	return ((uint32_t)s[4] << 24 | (uint32_t)s[5] << 16 |
	    (uint32_t)s[6] << 8 | s[7]) & 0x7FFFFFFFu;
}

uint16_t
piv_get_serial(vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	(void)cmd;
	wk_buf_be32(resp, piv_serial(card));
	return wk_buf_failed(resp) ? WK_SW_UNKNOWN : WK_SW_OK;
}

static uint16_t
piv_meta_pin(vc_card *card, uint8_t ref, wk_buf *resp)
{
	uint8_t left, total, v;

	if (piv_pin_tries(card, ref, &left, &total) != 0)
		return WK_SW_MEMORY_FAILURE;
	v = 0xFF;
	wk_tlv_put(resp, 0x01, &v, 1);
	v = piv_pin_is_default(card, ref) ? 1 : 0;
	wk_tlv_put(resp, 0x05, &v, 1);
	wk_tlv_put(resp, 0x06, (const uint8_t[]){ total, left }, 2);
	return WK_SW_OK;
}

static uint16_t
piv_meta_mgm(vc_card *card, wk_buf *resp)
{
	uint8_t alg, v;
	bool def;

	if (piv_mgm_alg(card, &alg, &def) != 0)
		return WK_SW_MEMORY_FAILURE;
	wk_tlv_put(resp, 0x01, &alg, 1);
	wk_tlv_put(resp, 0x02, (const uint8_t[]){ PIV_PINPOL_NEVER,
	    PIV_TOUCH_NEVER }, 2);
	v = def ? 1 : 0;
	wk_tlv_put(resp, 0x05, &v, 1);
	return WK_SW_OK;
}

static uint16_t
piv_meta_key(vc_card *card, uint8_t ref, wk_buf *resp)
{
	piv_key k;
	size_t mark;
	uint16_t sw = WK_SW_UNKNOWN;
	int r;

	r = piv_key_load(card, ref, &k);
	if (r == VC_STORE_NOT_FOUND) {
		sw = WK_SW_FILE_NOT_FOUND;
		goto out;
	}
	if (r != VC_STORE_OK) {
		sw = WK_SW_REF_DATA_UNUSABLE;
		goto out;
	}
	wk_tlv_put(resp, 0x01, &k.alg, 1);
	wk_tlv_put(resp, 0x02, (const uint8_t[]){
	    piv_key_effective_policy(&k, ref), PIV_TOUCH_NEVER }, 2);
	wk_tlv_put(resp, 0x03, &k.origin, 1);
	mark = wk_tlv_begin(resp, 0x04);
	if (piv_key_pub_encode(&k, resp) != 0)
		goto out;
	wk_tlv_end(resp, mark);
	sw = WK_SW_OK;
out:
	piv_key_free(&k);
	return sw;
}

uint16_t
piv_metadata(piv_state *s, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint16_t sw;

	(void)s;
	if (cmd->p1 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->p2 == PIV_REF_PIN || cmd->p2 == PIV_REF_PUK)
		sw = piv_meta_pin(card, cmd->p2, resp);
	else if (cmd->p2 == PIV_REF_MGM)
		sw = piv_meta_mgm(card, resp);
	else if (piv_slot_is_asym(cmd->p2))
		sw = piv_meta_key(card, cmd->p2, resp);
	else
		return WK_SW_REF_NOT_FOUND;
	if (sw == WK_SW_OK && wk_buf_failed(resp))
		sw = WK_SW_UNKNOWN;
	return sw;
}

/* only once PIN and PUK are both blocked; the attestation key and its
 * certificate survive, as on a YubiKey */
uint16_t
piv_reset(piv_state *s, vc_card *card, const wk_apdu *cmd)
{
	uint8_t pl, pt, ul, ut;
	wk_buf att;
	uint16_t sw = WK_SW_MEMORY_FAILURE;
	bool wrote = false;
	int r;

	wk_buf_init_heap(&att, PIV_OBJ_MAX);
	if (cmd->lc != 0) {
		sw = WK_SW_WRONG_LENGTH;
		goto out;
	}
	if (piv_pin_tries(card, PIV_REF_PIN, &pl, &pt) != 0 ||
	    piv_pin_tries(card, PIV_REF_PUK, &ul, &ut) != 0)
		goto out;
	if (pl != 0 || ul != 0) {
		sw = WK_SW_CONDITIONS;
		goto out;
	}
	r = piv_obj_get(card, 0x5FFF01, &att);
	if (r != VC_STORE_OK && r != VC_STORE_NOT_FOUND)
		goto out;
	wrote = true;
	/* the wallet key goes with the others: forget the wallet too, and
	 * with it the purse keys its issuer installed */
	if (piv_wallet_forget(s, card) != VC_STORE_OK)
		goto out;
	for (unsigned ref = 0x80; ref <= 0xFF; ref++)
		if (piv_slot_is_asym((uint8_t)ref) && ref != PIV_REF_ATTEST &&
		    piv_key_delete(s, card, (uint8_t)ref) != VC_STORE_OK)
			goto out;
	if (piv_obj_wipe(card) != 0 || piv_obj_factory(card) != 0 ||
	    piv_pin_factory(card, 3, 3) != 0 || piv_mgm_factory(card) != 0 ||
	    (r == VC_STORE_OK && piv_obj_put(card, 0x5FFF01, att.p, att.len) != 0))
		goto out;
	piv_state_clear(s);
	sw = WK_SW_OK;
out:
	if (wrote && sw != WK_SW_OK)
		vc_store_abort(vc_card_store(card));
	wk_buf_clear(&att);
	return sw;
}
