/* PIV client: the session, data objects, certificates and Yubico queries */
#include "wk_internal.h"
#include "wk_piv_internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wk_apdu.h"
#include "wk_tlv.h"

#define INS_SELECT 0xA4
#define INS_GET_DATA 0xCB
#define INS_PUT_DATA 0xDB
#define INS_AUTH 0x87
#define INS_GET_METADATA 0xF7
#define INS_GET_SERIAL 0xF8
#define INS_ATTEST 0xF9
#define INS_RESET 0xFB
#define INS_GET_VERSION 0xFD

static const uint8_t piv_aid[] = {
	0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00
};

/* PIN-protected objects (printed information may hold a management key;
 * biometrics; walletkey's private data objects 5FFF30..3F): their bytes
 * stay out of traces, both ways */
static bool
pin_protected(uint32_t tag)
{
	return tag == 0x5FC109 || tag == 0x5FC103 || tag == 0x5FC108 ||
	    tag == 0x5FC121 || (tag >= 0x5FFF30 && tag <= 0x5FFF3F);
}

int
wk_piv_cmd(wk_piv *piv, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t lc, uint8_t *resp, size_t *resp_len)
{
	uint8_t scratch[258];
	size_t cap, le;
	int rc;

	piv->sw = 0;
	if (resp == NULL) {
		resp = scratch;
		cap = sizeof(scratch);
		le = 0;
	} else {
		cap = *resp_len;
		le = cap > WK_APDU_MAX_LE ? WK_APDU_MAX_LE : cap;
	}
	/* GENERAL AUTHENTICATE carries challenges, witnesses, decrypted data
	 * and shared secrets: none of it goes into a trace */
	if (ins == INS_AUTH)
		wk_card_trace_secret(piv->card, true);
	rc = wk_card_apdu(piv->card, 0x00, ins, p1, p2, data, lc, le, resp,
	    &cap, &piv->sw);
	wk_card_trace_secret(piv->card, false);
	if (resp == scratch)
		sodium_memzero(scratch, sizeof(scratch));
	else
		*resp_len = cap;
	if (rc != WK_OK)
		return rc;
	return wk_rc_from_sw(piv->sw);
}

int
wk_piv_select(wk_piv *piv)
{
	uint8_t resp[256];
	size_t len = sizeof(resp);
	wk_tlv apt, aid;
	int rc;

	if (piv == NULL)
		return WK_ERR_ARG;
	rc = wk_piv_cmd(piv, INS_SELECT, 0x04, 0x00, piv_aid, sizeof(piv_aid),
	    resp, &len);
	if (rc != WK_OK)
		goto out;
	/* piv.md 1.3: an APT 61 holding 4F, the PIX or the AID */
	rc = WK_ERR_CARD_MALFORMED;
	if (wk_tlv_parse_one(resp, len, 0x61, &apt) != WK_TLV_OK ||
	    wk_tlv_find(apt.value, apt.len, 0x4F, &aid) != WK_TLV_OK)
		goto out;
	rc = WK_OK;
out:
	return rc;
}

int
wk_piv_open(wk_card *card, wk_piv **out)
{
	wk_piv *piv = NULL;
	int rc = WK_ERR_ARG;

	if (card == NULL || out == NULL)
		goto out;
	*out = NULL;
	rc = WK_ERR_MEMORY;
	if ((piv = calloc(1, sizeof(*piv))) == NULL)
		goto out;
	piv->card = card;
	if ((rc = wk_piv_select(piv)) != WK_OK)
		goto out;
	*out = piv;
	piv = NULL;
	rc = WK_OK;
out:
	free(piv);
	return rc;
}

void
wk_piv_free(wk_piv **piv)
{
	if (piv == NULL || *piv == NULL)
		return;
	free(*piv);
	*piv = NULL;
}

wk_card *
wk_piv_card(const wk_piv *piv)
{
	return piv == NULL ? NULL : piv->card;
}

uint16_t
wk_piv_last_sw(const wk_piv *piv)
{
	return piv == NULL ? 0 : piv->sw;
}

int
wk_piv_get_version(wk_piv *piv, uint8_t version[3])
{
	uint8_t resp[16];
	size_t len = sizeof(resp);
	int rc;

	if (piv == NULL || version == NULL)
		return WK_ERR_ARG;
	rc = wk_piv_cmd(piv, INS_GET_VERSION, 0, 0, NULL, 0, resp, &len);
	if (rc == WK_OK && len != 3)
		rc = WK_ERR_CARD_MALFORMED;
	if (rc == WK_OK)
		memcpy(version, resp, 3);
	return rc;
}

int
wk_piv_get_serial(wk_piv *piv, uint32_t *serial)
{
	uint8_t resp[16];
	size_t len = sizeof(resp);
	int rc;

	if (piv == NULL || serial == NULL)
		return WK_ERR_ARG;
	rc = wk_piv_cmd(piv, INS_GET_SERIAL, 0, 0, NULL, 0, resp, &len);
	if (rc == WK_OK && len != 4)
		rc = WK_ERR_CARD_MALFORMED;
	if (rc == WK_OK)
		*serial = (uint32_t)resp[0] << 24 | (uint32_t)resp[1] << 16 |
		    (uint32_t)resp[2] << 8 | resp[3];
	return rc;
}

int
wk_piv_get_challenge(wk_piv *piv, uint8_t *out, size_t len)
{
	static const uint8_t ask[] = { 0x7C, 0x02, 0x81, 0x00 };
	uint8_t resp[64];
	const uint8_t *v;
	size_t rlen, vlen, done = 0, n;
	int rc = WK_ERR_ARG;

	if (piv == NULL || (out == NULL && len > 0))
		goto out;
	if ((rc = wk_card_begin(piv->card)) != WK_OK)
		goto out;
	/* bounded: every round adds at least one byte or fails */
	while (done < len) {
		rlen = sizeof(resp);
		rc = wk_piv_cmd(piv, INS_AUTH, 0x00, WK_PIV_SLOT_MGMT, ask,
		    sizeof(ask), resp, &rlen);
		if (rc != WK_OK)
			break;
		if ((rc = wk_piv_parse_auth(resp, rlen, 0x81, &v, &vlen)) !=
		    WK_OK)
			break;
		if (vlen == 0) {
			rc = WK_ERR_CARD_MALFORMED;
			break;
		}
		n = len - done < vlen ? len - done : vlen;
		memcpy(out + done, v, n);
		done += n;
	}
	sodium_memzero(resp, sizeof(resp));
	(void)wk_card_end(piv->card);
out:
	return rc;
}

static void
put_tag_list(wk_buf *b, uint32_t tag)
{
	uint8_t t[3];
	size_t n = tag > 0xFFFF ? 3 : tag > 0xFF ? 2 : 1;

	for (size_t i = 0; i < n; i++)
		t[i] = (uint8_t)(tag >> (8 * (n - 1 - i)));
	wk_tlv_put(b, 0x5C, t, n);
}

int
wk_piv_get_data(wk_piv *piv, uint32_t tag, uint8_t *out, size_t *len)
{
	uint8_t cmd[8];
	uint8_t *resp = NULL;
	const uint8_t *v;
	size_t rlen = WK_PIV_OBJ_MAX + 8, vlen;
	wk_buf b;
	int rc = WK_ERR_ARG;

	if (piv == NULL || len == NULL || (out == NULL && *len > 0) ||
	    tag == 0 || tag > 0xFFFFFF)
		goto out;
	wk_buf_init_fixed(&b, cmd, sizeof(cmd));
	put_tag_list(&b, tag);
	rc = WK_ERR_MEMORY;
	if ((resp = malloc(rlen)) == NULL)
		goto out;
	wk_card_trace_secret(piv->card, pin_protected(tag));
	rc = wk_piv_cmd(piv, INS_GET_DATA, 0x3F, 0xFF, cmd, b.len, resp,
	    &rlen);
	if (rc != WK_OK)
		goto out;
	if ((rc = wk_piv_parse_object(tag, resp, rlen, &v, &vlen)) != WK_OK)
		goto out;
	if (vlen > *len) {
		*len = vlen;
		rc = WK_ERR_ARG;
		goto out;
	}
	if (vlen > 0)
		memcpy(out, v, vlen);
	*len = vlen;
	rc = WK_OK;
out:
	if (resp != NULL) {
		/* objects may hold a PIN-protected management key */
		sodium_memzero(resp, WK_PIV_OBJ_MAX + 8);
		free(resp);
	}
	return rc;
}

int
wk_piv_put_data(wk_piv *piv, uint32_t tag, const uint8_t *data, size_t len)
{
	wk_buf b;
	int rc = WK_ERR_ARG;

	wk_buf_init_heap(&b, WK_PIV_OBJ_MAX + 16);
	if (piv == NULL || (data == NULL && len > 0) || len > WK_PIV_OBJ_MAX ||
	    tag == 0 || tag > 0xFFFFFF)
		goto out;
	put_tag_list(&b, tag);
	wk_tlv_put(&b, 0x53, data, len);
	rc = WK_ERR_MEMORY;
	if (wk_buf_failed(&b))
		goto out;
	wk_card_trace_secret(piv->card, pin_protected(tag));
	rc = wk_piv_cmd(piv, INS_PUT_DATA, 0x3F, 0xFF, b.p, b.len, NULL, NULL);
out:
	wk_buf_clear(&b);
	return rc;
}

int
wk_piv_read_cert(wk_piv *piv, uint8_t slot, uint8_t *der, size_t *len)
{
	uint8_t *obj = NULL;
	const uint8_t *cert;
	size_t olen = WK_PIV_OBJ_MAX, clen;
	uint32_t tag;
	int rc = WK_ERR_ARG;

	if (piv == NULL || len == NULL || (der == NULL && *len > 0) ||
	    wk_piv_cert_object(slot, &tag) != WK_OK)
		goto out;
	rc = WK_ERR_MEMORY;
	if ((obj = malloc(olen)) == NULL)
		goto out;
	if ((rc = wk_piv_get_data(piv, tag, obj, &olen)) != WK_OK)
		goto out;
	if ((rc = wk_piv_parse_cert_object(obj, olen, &cert, &clen)) != WK_OK)
		goto out;
	if (clen > *len) {
		*len = clen;
		rc = WK_ERR_ARG;
		goto out;
	}
	memcpy(der, cert, clen);
	*len = clen;
	rc = WK_OK;
out:
	free(obj);
	return rc;
}

int
wk_piv_write_cert(wk_piv *piv, uint8_t slot, const uint8_t *der, size_t len)
{
	static const uint8_t info = 0x00;	/* uncompressed, piv.md 3.1 */
	uint32_t tag;
	wk_buf b;
	int rc = WK_ERR_ARG;

	wk_buf_init_heap(&b, WK_PIV_OBJ_MAX);
	if (piv == NULL || der == NULL || len == 0 || der[0] != 0x30 ||
	    wk_piv_cert_object(slot, &tag) != WK_OK)
		goto out;
	wk_tlv_put(&b, 0x70, der, len);
	wk_tlv_put(&b, 0x71, &info, 1);
	wk_tlv_put(&b, 0xFE, NULL, 0);
	if (wk_buf_failed(&b))
		goto out;
	rc = wk_piv_put_data(piv, tag, b.p, b.len);
out:
	wk_buf_clear(&b);
	return rc;
}

int
wk_piv_delete_cert(wk_piv *piv, uint8_t slot)
{
	uint32_t tag;

	if (piv == NULL || wk_piv_cert_object(slot, &tag) != WK_OK)
		return WK_ERR_ARG;
	return wk_piv_put_data(piv, tag, NULL, 0);
}

int
wk_piv_get_metadata(wk_piv *piv, uint8_t slot, wk_piv_metadata *md)
{
	uint8_t resp[1024];
	size_t len = sizeof(resp);
	int rc = WK_ERR_ARG;

	if (piv == NULL || md == NULL)
		goto out;
	rc = wk_piv_cmd(piv, INS_GET_METADATA, 0x00, slot, NULL, 0, resp,
	    &len);
	if (rc != WK_OK)
		goto out;
	rc = wk_piv_parse_metadata(resp, len, md);
out:
	return rc;
}

int
wk_piv_attest(wk_piv *piv, uint8_t slot, uint8_t *der, size_t *len)
{
	int rc = WK_ERR_ARG;

	if (piv == NULL || der == NULL || len == NULL || *len == 0)
		goto out;
	rc = wk_piv_cmd(piv, INS_ATTEST, slot, 0x00, NULL, 0, der, len);
	if (rc != WK_OK)
		goto out;
	rc = WK_ERR_CARD_MALFORMED;
	if (*len == 0 || der[0] != 0x30)
		goto out;
	rc = WK_OK;
out:
	return rc;
}

int
wk_piv_reset(wk_piv *piv)
{
	if (piv == NULL)
		return WK_ERR_ARG;
	return wk_piv_cmd(piv, INS_RESET, 0, 0, NULL, 0, NULL, NULL);
}
