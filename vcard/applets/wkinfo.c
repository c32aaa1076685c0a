/*
 * the card-information applet (common/wk_card_id.h): who the card is, the
 * holder's name for it (the label, docs/holder.md), and ECHO/PATTERN for
 * the host tests and the APDU benchmark. The label is its only state.
 */
#include "vc_card.h"

#include <stdbool.h>

#include "vc_store.h"
#include "wk_card_id.h"
#include "wk_tlv.h"
#include "wk_utf8.h"

#define INS_GET_DATA 0xCA
#define INS_PUT_DATA 0xDA
#define INS_ECHO 0xEE
#define WKINFO_APPLET "wkinfo"

static const uint8_t wkinfo_aid[] = { WK_INFO_AID_BYTES };

static const vc_aid wkinfo_aids[] = {
	{ wkinfo_aid, sizeof(wkinfo_aid), sizeof(wkinfo_aid) },
};

/* the label, or len 0 when the card has none */
static int
label_get(vc_card *card, uint8_t out[WK_LABEL_MAX], size_t *len)
{
	uint8_t buf[WK_LABEL_MAX + 1];
	wk_buf b;
	int rc;

	*len = 0;
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	rc = vc_store_get(vc_card_store(card), WKINFO_APPLET, "label", &b);
	if (rc == VC_STORE_NOT_FOUND)
		return VC_STORE_OK;
	if (rc != VC_STORE_OK)
		return rc;
	if (b.len > WK_LABEL_MAX)
		return VC_STORE_CORRUPT;
	for (size_t i = 0; i < b.len; i++)
		out[i] = buf[i];
	*len = b.len;
	return VC_STORE_OK;
}

static uint16_t
wkinfo_select(void *state, vc_card *card, size_t which, const wk_apdu *cmd,
    wk_buf *resp)
{
	static const uint8_t version[3] = { VC_VERSION_MAJOR, VC_VERSION_MINOR,
	    VC_VERSION_PATCH };
	size_t fci, prop;

	uint8_t label[WK_LABEL_MAX];
	size_t llen = 0;

	(void)state;
	(void)which;
	(void)cmd;
	if (label_get(card, label, &llen) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	fci = wk_tlv_begin(resp, 0x6F);
	wk_tlv_put(resp, 0x84, wkinfo_aid, sizeof(wkinfo_aid));
	prop = wk_tlv_begin(resp, 0xA5);
	wk_tlv_put(resp, 0x80, vc_card_serial(card), WK_SERIAL_LEN);
	wk_tlv_put(resp, 0x81, version, sizeof(version));
	if (llen > 0)
		wk_tlv_put(resp, 0x82, label, llen);
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
	uint8_t label[WK_LABEL_MAX];
	size_t llen = 0;

	(void)state;
	switch (cmd->ins) {
	case INS_GET_DATA:
		if (cmd->p1 != 0x00 || (cmd->p2 != 0x01 && cmd->p2 != 0x02))
			return WK_SW_REF_NOT_FOUND;
		if (cmd->lc != 0)
			return WK_SW_WRONG_LENGTH;
		if (cmd->p2 == 0x01) {
			wk_buf_add(resp, vc_card_serial(card), WK_SERIAL_LEN);
			return WK_SW_OK;
		}
		if (label_get(card, label, &llen) != VC_STORE_OK)
			return WK_SW_MEMORY_FAILURE;
		wk_buf_add(resp, label, llen);
		return WK_SW_OK;
	case INS_PUT_DATA:
		if (cmd->p1 != 0x00 || cmd->p2 != 0x02)
			return WK_SW_REF_NOT_FOUND;
		if (cmd->lc > WK_LABEL_MAX)
			return WK_SW_WRONG_LENGTH;
		if (!wk_utf8_text_ok(cmd->data, cmd->lc))
			return WK_SW_WRONG_DATA;
		if (cmd->lc == 0) {
			int rc = vc_store_del(vc_card_store(card), WKINFO_APPLET,
			    "label");

			return rc == VC_STORE_OK || rc == VC_STORE_NOT_FOUND ?
			    WK_SW_OK : WK_SW_MEMORY_FAILURE;
		}
		return vc_store_put(vc_card_store(card), WKINFO_APPLET, "label",
		    cmd->data, cmd->lc) == VC_STORE_OK ? WK_SW_OK :
		    WK_SW_MEMORY_FAILURE;
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
	VC_AIDS(wkinfo_aids),
	.select = wkinfo_select,
	.process = wkinfo_process,
};
