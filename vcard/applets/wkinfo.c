/*
 * the card-information applet (common/wk_card_id.h): who the card is, and
 * ECHO/PATTERN for the host tests and the APDU benchmark. No state, no store.
 */
#include "vc_card.h"

#include "wk_card_id.h"
#include "wk_tlv.h"

#define INS_GET_DATA 0xCA
#define INS_ECHO 0xEE

static const uint8_t wkinfo_aid[] = { WK_INFO_AID_BYTES };

static const vc_aid wkinfo_aids[] = {
	{ wkinfo_aid, sizeof(wkinfo_aid), sizeof(wkinfo_aid) },
};

static uint16_t
wkinfo_select(void *state, vc_card *card, size_t which, const wk_apdu *cmd,
    wk_buf *resp)
{
	static const uint8_t version[3] = { VC_VERSION_MAJOR, VC_VERSION_MINOR,
	    VC_VERSION_PATCH };
	size_t fci, prop;

	(void)state;
	(void)which;
	(void)cmd;
	fci = wk_tlv_begin(resp, 0x6F);
	wk_tlv_put(resp, 0x84, wkinfo_aid, sizeof(wkinfo_aid));
	prop = wk_tlv_begin(resp, 0xA5);
	wk_tlv_put(resp, 0x80, vc_card_serial(card), WK_SERIAL_LEN);
	wk_tlv_put(resp, 0x81, version, sizeof(version));
	wk_tlv_end(resp, prop);
	wk_tlv_end(resp, fci);
	return WK_SW_OK;
}

static uint16_t
wkinfo_pattern(const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t *p;
	size_t n;

	if (cmd->lc != 2)
		return WK_SW_WRONG_LENGTH;
	n = ((size_t)cmd->data[0] << 8) | cmd->data[1];
	if (n == 0)
		return WK_SW_OK;
	if ((p = wk_buf_reserve(resp, n)) == NULL)
		return WK_SW_NO_SPACE;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)i;
	return WK_SW_OK;
}

static uint16_t
wkinfo_process(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	(void)state;
	switch (cmd->ins) {
	case INS_GET_DATA:
		if (cmd->p1 != 0x00 || cmd->p2 != 0x01)
			return WK_SW_REF_NOT_FOUND;
		if (cmd->lc != 0)
			return WK_SW_WRONG_LENGTH;
		wk_buf_add(resp, vc_card_serial(card), WK_SERIAL_LEN);
		return WK_SW_OK;
	case INS_ECHO:
		if (cmd->p2 != 0x00)
			return WK_SW_WRONG_P1P2;
		if (cmd->p1 == 0x01)
			return wkinfo_pattern(cmd, resp);
		if (cmd->p1 != 0x00)
			return WK_SW_WRONG_P1P2;
		wk_buf_add(resp, cmd->data, cmd->lc);
		return WK_SW_OK;
	default:
		return WK_SW_INS_NOT_SUPPORTED;
	}
}

const vc_applet vc_applet_wkinfo = {
	.name = "wkinfo",
	.aids = wkinfo_aids,
	.n_aids = sizeof(wkinfo_aids) / sizeof(wkinfo_aids[0]),
	.select = wkinfo_select,
	.process = wkinfo_process,
};
