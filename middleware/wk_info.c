/* client of the card-information applet (common/wk_card_id.h) */
#include "wk_internal.h"

#include <string.h>

#include "wk_apdu.h"
#include "wk_card_id.h"
#include "wk_tlv.h"
#include "wk_utf8.h"

static const uint8_t info_aid[WK_INFO_AID_LEN] = { WK_INFO_AID_BYTES };

/* FCI: 6F L 84 07 <aid> A5 L { 80 08 <serial>, 81 03 <version> } */
static int
parse_fci(const uint8_t *p, size_t len, wk_card_info *out)
{
	wk_tlv fci, prop, v;
	int rc = WK_ERR_CARD_MALFORMED;

	if (wk_tlv_parse_one(p, len, 0x6F, &fci) != WK_TLV_OK ||
	    wk_tlv_find(fci.value, fci.len, 0xA5, &prop) != WK_TLV_OK)
		goto out;
	if (wk_tlv_find(prop.value, prop.len, 0x81, &v) != WK_TLV_OK ||
	    v.len != sizeof(out->version))
		goto out;
	memcpy(out->version, v.value, v.len);
	/* the label, when the card has one (older cards never send it) */
	if (wk_tlv_find(prop.value, prop.len, 0x82, &v) == WK_TLV_OK) {
		/* a card's bytes go to terminals and pages: text only */
		if (v.len > WK_CARD_LABEL_MAX || !wk_utf8_text_ok(v.value, v.len))
			goto out;
		memcpy(out->label, v.value, v.len);
		out->label[v.len] = '\0';
		if (strlen(out->label) != v.len)
			goto out;
	}
	rc = WK_OK;
out:
	return rc;
}

int
wk_card_get_info(wk_card *card, wk_card_info *out)
{
	uint8_t buf[256];
	size_t len;
	uint16_t sw = 0;
	int rc = WK_ERR_ARG;
	bool began = false;

	if (card == NULL || out == NULL)
		goto out;
	memset(out, 0, sizeof(*out));
	if ((rc = wk_card_begin(card)) != WK_OK)
		goto out;
	began = true;
	len = sizeof(buf);
	if ((rc = wk_card_apdu(card, 0x00, 0xA4, 0x04, 0x00, info_aid,
	    sizeof(info_aid), 256, buf, &len, &sw)) != WK_OK)
		goto out;
	if (sw != WK_SW_OK) {
		rc = wk_rc_from_sw(sw);
		if (rc == WK_OK || rc == WK_ERR_SW || rc == WK_ERR_NOT_SUPPORTED)
			rc = WK_ERR_NOT_FOUND;
		goto out;
	}
	if ((rc = parse_fci(buf, len, out)) != WK_OK)
		goto out;
	len = sizeof(buf);
	if ((rc = wk_card_apdu(card, 0x00, 0xCA, 0x00, 0x01, NULL, 0, 256,
	    buf, &len, &sw)) != WK_OK)
		goto out;
	rc = sw != WK_SW_OK ? wk_rc_from_sw(sw) : WK_OK;
	if (rc == WK_OK && len != WK_SERIAL_LEN)
		rc = WK_ERR_CARD_MALFORMED;
	if (rc != WK_OK)
		goto out;
	memcpy(out->serial, buf, WK_SERIAL_LEN);
	rc = WK_OK;
out:
	if (began && wk_card_end(card) != WK_OK && rc == WK_OK)
		rc = WK_ERR_CARD_REMOVED;
	return rc;
}

int
wk_card_set_label(wk_card *card, const char *label, size_t len)
{
	uint8_t tmp[8];
	size_t rlen = sizeof(tmp);
	uint16_t sw = 0;
	int rc;

	if (card == NULL || (label == NULL && len > 0) || len > WK_CARD_LABEL_MAX)
		return WK_ERR_ARG;
	if (!wk_utf8_text_ok((const uint8_t *)label, len))
		return WK_ERR_ARG;
	if ((rc = wk_card_begin(card)) != WK_OK)
		return rc;
	if ((rc = wk_card_apdu(card, 0x00, 0xA4, 0x04, 0x0C, info_aid,
	    sizeof(info_aid), 0, tmp, &rlen, &sw)) == WK_OK)
		rc = wk_rc_from_sw(sw);
	if (rc == WK_OK) {
		rlen = sizeof(tmp);
		if ((rc = wk_card_apdu(card, 0x00, 0xDA, 0x00, 0x02,
		    (const uint8_t *)label, len, 0, tmp, &rlen, &sw)) == WK_OK)
			rc = wk_rc_from_sw(sw);
	}
	if (wk_card_end(card) != WK_OK && rc == WK_OK)
		rc = WK_ERR_CARD_REMOVED;
	return rc;
}
