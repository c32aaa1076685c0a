/* PIV data objects: GET DATA, PUT DATA, access rules, factory objects (piv.md 2.1, 2.2, 3) */
#include <string.h>

#include <sodium.h>

#include "piv_int.h"
#include "wk_tlv.h"

#define PIV_TAG_DISCOVERY 0x7Eu

/* fixed discovery object, piv.md 3.1: PIV PIN only, no OCC/VCI bits */
static const uint8_t piv_discovery[] = {
	0x7E, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00,
	0x10, 0x00, 0x01, 0x00, 0x5F, 0x2F, 0x02, 0x40, 0x00,
};

/* FASC-N of the non-federal agency-9999 template (piv.md 3.1) */
static const uint8_t piv_fascn[25] = {
	0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D,
	0x83, 0x68, 0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42,
	0x10, 0xC3, 0xEB,
};

/*
 * walletkey's data objects (PKCS#11 CKO_DATA on the token, docs/pkcs11.md):
 * 5FFF20..2F readable by anyone, 5FFF30..3F only after VERIFY; both written
 * with the PIN or the management key
 */
#define PIV_TAG_USER_FIRST 0x5FFF20u
#define PIV_TAG_USER_PRIVATE 0x5FFF30u
#define PIV_TAG_USER_LAST 0x5FFF3Fu

static bool
piv_tag_user(uint32_t tag)
{
	return tag >= PIV_TAG_USER_FIRST && tag <= PIV_TAG_USER_LAST;
}

static bool
piv_tag_known(uint32_t tag)
{
	return (tag >= 0x5FC101 && tag <= 0x5FC123) || tag == 0x7F61 ||
	    (tag >= 0x5FFF00 && tag <= 0x5FFF15) || piv_tag_user(tag) ||
	    tag == PIV_TAG_DISCOVERY;
}

/* fingerprints, printed info, facial image, iris: PIN first (piv.md 2.1) */
static bool
piv_tag_pin_protected(uint32_t tag)
{
	return tag == 0x5FC103 || tag == 0x5FC108 || tag == 0x5FC109 ||
	    tag == 0x5FC121 ||
	    (tag >= PIV_TAG_USER_PRIVATE && tag <= PIV_TAG_USER_LAST);
}

/* 5C <1..3> <tag> as the whole field */
static int
piv_parse_tag_list(const uint8_t *p, size_t n, uint32_t *tag)
{
	wk_tlv t;
	uint32_t v = 0;

	if (wk_tlv_parse_one(p, n, 0x5C, &t) != WK_TLV_OK)
		return -1;
	if (t.len < 1 || t.len > 3)
		return -1;
	for (size_t i = 0; i < t.len; i++)
		v = (v << 8) | t.value[i];
	*tag = v;
	return 0;
}

int
piv_obj_get(vc_card *card, uint32_t tag, wk_buf *out)
{
	char name[32];

	piv_store_key_name(name, sizeof(name), "obj", tag);
	if (piv_tag_pin_protected(tag))
		return vc_store_get_secret(vc_card_store(card), PIV_APPLET,
		    name, out);
	return vc_store_get(vc_card_store(card), PIV_APPLET, name, out);
}

int
piv_obj_put(vc_card *card, uint32_t tag, const uint8_t *v, size_t n)
{
	char name[32];
	int r;

	piv_store_key_name(name, sizeof(name), "obj", tag);
	if (n == 0) {
		r = vc_store_del(vc_card_store(card), PIV_APPLET, name);
		return r == VC_STORE_NOT_FOUND ? VC_STORE_OK : r;
	}
	/* printed info may carry Yubico's PIN-protected 9B key: sealed */
	if (piv_tag_pin_protected(tag))
		return vc_store_put_secret(vc_card_store(card), PIV_APPLET,
		    name, v, n);
	return vc_store_put(vc_card_store(card), PIV_APPLET, name, v, n);
}

int
piv_obj_wipe(vc_card *card)
{
	static const uint32_t ranges[][2] = {
		{ 0x5FC101, 0x5FC123 }, { 0x7F61, 0x7F61 },
		{ 0x5FFF00, 0x5FFF15 },
		{ PIV_TAG_USER_FIRST, PIV_TAG_USER_LAST },
	};
	int r = 0;

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		for (uint32_t t = ranges[i][0]; t <= ranges[i][1] && r == 0; t++)
			r = piv_obj_put(card, t, NULL, 0);
	return r;
}

uint16_t
piv_get_data(piv_state *s, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	wk_buf obj;
	uint32_t tag;
	uint16_t sw = WK_SW_UNKNOWN;
	int r;

	wk_buf_init_heap(&obj, PIV_OBJ_MAX);
	if (cmd->p1 != 0x3F || cmd->p2 != 0xFF) {
		sw = WK_SW_WRONG_P1P2;
		goto out;
	}
	if (piv_parse_tag_list(cmd->data, cmd->lc, &tag) != 0) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if (!piv_tag_known(tag)) {
		sw = WK_SW_FILE_NOT_FOUND;
		goto out;
	}
	if (tag == PIV_TAG_DISCOVERY) {
		wk_buf_add(resp, piv_discovery, sizeof(piv_discovery));
		sw = wk_buf_failed(resp) ? WK_SW_UNKNOWN : WK_SW_OK;
		goto out;
	}
	if (piv_tag_pin_protected(tag) && !s->pin_verified) {
		sw = WK_SW_SECURITY_STATUS;
		goto out;
	}
	r = piv_obj_get(card, tag, &obj);
	if (r == VC_STORE_NOT_FOUND || (r == VC_STORE_OK && obj.len == 0)) {
		sw = WK_SW_FILE_NOT_FOUND;
		goto out;
	}
	if (r != VC_STORE_OK || wk_buf_failed(&obj)) {
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	wk_tlv_put(resp, 0x53, obj.p, obj.len);
	sw = wk_buf_failed(resp) ? WK_SW_UNKNOWN : WK_SW_OK;
out:
	wk_buf_clear(&obj);
	return sw;
}

uint16_t
piv_put_data(piv_state *s, vc_card *card, const wk_apdu *cmd)
{
	wk_cur c;
	wk_tlv tl, body;
	uint32_t tag;
	uint16_t sw = WK_SW_UNKNOWN;

	if (cmd->p1 != 0x3F || cmd->p2 != 0xFF) {
		sw = WK_SW_WRONG_P1P2;
		goto out;
	}
	/* 5C <tag> 53 <content>, nothing else */
	wk_cur_init(&c, cmd->data, cmd->lc);
	if (wk_tlv_read(&c, &tl) != WK_TLV_OK || tl.tag != 0x5C ||
	    piv_parse_tag_list(cmd->data, cmd->lc - c.len, &tag) != 0 ||
	    wk_tlv_read(&c, &body) != WK_TLV_OK || body.tag != 0x53 ||
	    c.len != 0) {
		sw = s->mgm_auth ? WK_SW_WRONG_DATA : WK_SW_SECURITY_STATUS;
		goto out;
	}
	/* the holder's own data objects take the PIN; all else 9B */
	if (!s->mgm_auth && !(piv_tag_user(tag) && s->pin_verified)) {
		sw = WK_SW_SECURITY_STATUS;
		goto out;
	}
	if (tag == PIV_TAG_DISCOVERY) {
		sw = WK_SW_FUNC_NOT_SUPPORTED;
		goto out;
	}
	if (!piv_tag_known(tag)) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if (body.len > PIV_OBJ_MAX) {
		sw = WK_SW_NO_SPACE;
		goto out;
	}
	if (piv_obj_put(card, tag, body.value, body.len) != VC_STORE_OK) {
		vc_store_abort(vc_card_store(card));
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	sw = WK_SW_OK;
out:
	return sw;
}

static int
piv_chuid(vc_card *card)
{
	static const uint8_t expiry[8] = { '2', '0', '3', '0', '0', '1', '0', '1' };
	uint8_t storage[64], guid[16];
	wk_buf b;

	/* a random GUID per card: hosts use it as the token serial (piv.md 3.1) */
	vc_card_random(card, guid, sizeof(guid));
	guid[6] = (uint8_t)((guid[6] & 0x0F) | 0x40);
	guid[8] = (uint8_t)((guid[8] & 0x3F) | 0x80);
	wk_buf_init_fixed(&b, storage, sizeof(storage));
	wk_tlv_put(&b, 0x30, piv_fascn, sizeof(piv_fascn));
	wk_tlv_put(&b, 0x34, guid, sizeof(guid));
	wk_tlv_put(&b, 0x35, expiry, sizeof(expiry));
	wk_tlv_put(&b, 0x3E, NULL, 0);
	wk_tlv_put(&b, 0xFE, NULL, 0);
	if (wk_buf_failed(&b))
		return -1;
	return piv_obj_put(card, 0x5FC102, b.p, b.len);
}

static int
piv_ccc(vc_card *card)
{
	static const uint8_t tail[] = {
		0xF1, 0x01, 0x21, 0xF2, 0x01, 0x21, 0xF3, 0x00, 0xF4, 0x01,
		0x00, 0xF5, 0x01, 0x10, 0xF6, 0x00, 0xF7, 0x00, 0xFA, 0x00,
		0xFB, 0x00, 0xFC, 0x00, 0xFD, 0x00, 0xFE, 0x00,
	};
	uint8_t v[23 + sizeof(tail)];

	/* card identifier: GSC-RID A0 00 00 01 16, manufacturer FF, type 02, 14 random */
	v[0] = 0xF0;
	v[1] = 0x15;
	memcpy(v + 2, (const uint8_t[]){ 0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02 }, 7);
	vc_card_random(card, v + 9, 14);
	memcpy(v + 23, tail, sizeof(tail));
	return piv_obj_put(card, 0x5FC107, v, sizeof(v));
}

int
piv_obj_factory(vc_card *card)
{
	static const uint8_t history[] = { 0xC1, 0x01, 0x00, 0xC2, 0x01, 0x00,
		0xFE, 0x00 };

	if (piv_chuid(card) != 0 || piv_ccc(card) != 0)
		return -1;
	return piv_obj_put(card, 0x5FC10C, history, sizeof(history));
}
