/*
 * the GM applet: SKF's object model (GM/T 0016-2012) with SM2/SM3/SM4 on
 * the card. Dispatch, selection, the factory state and the strict field
 * parser every command uses (docs/gm.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "gm_int.h"

static const uint8_t gm_aid[] = { WK_GM_AID_BYTES };

static const vc_aid gm_aids[] = {
	{ gm_aid, sizeof(gm_aid), 0 },
};

uint32_t
gm_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

void
gm_store_name(char *out, size_t cap, const char *what, unsigned app, int n)
{
	if (n < 0)
		snprintf(out, cap, "a%u.%s", app, what);
	else
		snprintf(out, cap, "a%u.%s%d", app, what, n);
}

uint16_t
gm_parse(const wk_apdu *cmd, const gm_field *spec, size_t n, wk_tlv *out)
{
	bool any_required = false;
	wk_cur c;
	wk_tlv t;
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		any_required |= spec[i].required;
	}
	if (cmd->lc == 0)
		return any_required ? WK_SW_WRONG_LENGTH : WK_SW_OK;
	wk_cur_init(&c, cmd->data, cmd->lc);
	while (c.len > 0) {
		if (wk_tlv_read(&c, &t) != WK_TLV_OK || t.constructed)
			return WK_SW_WRONG_DATA;
		for (i = 0; i < n; i++)
			if (spec[i].tag == t.tag)
				break;
		/* unknown or repeated tags are refused, not skipped */
		if (i == n || out[i].value != NULL || t.len < spec[i].min ||
		    t.len > spec[i].max)
			return WK_SW_WRONG_DATA;
		out[i] = t;
		if (out[i].value == NULL)	/* zero length: mark present */
			out[i].value = cmd->data;
	}
	for (i = 0; i < n; i++)
		if (spec[i].required && out[i].value == NULL)
			return WK_SW_WRONG_DATA;
	return WK_SW_OK;
}

static void
gm_close(void **state)
{
	gm_state *s;

	if (state == NULL || (s = *state) == NULL)
		return;
	gm_obj_drop_all(s);
	sodium_memzero(s, sizeof(*s));
	sodium_free(s);
	*state = NULL;
}

static int
gm_alloc(void **state)
{
	gm_state *s = sodium_malloc(sizeof(*s));

	if (s == NULL)
		return -1;
	sodium_memzero(s, sizeof(*s));
	*state = s;
	return 0;
}

static int
gm_create(vc_card *card, void **state)
{
	if (gm_dev_factory(card) != 0)
		return -1;
	return gm_alloc(state);
}

static int
gm_open(vc_card *card, void **state)
{
	(void)card;
	return gm_alloc(state);
}

static uint16_t
gm_select(void *state, vc_card *card, size_t which, const wk_apdu *cmd,
    wk_buf *resp)
{
	static const uint8_t version[2] = { 1, 0 };
	size_t fci, prop;

	(void)state;
	(void)which;
	if (cmd->p1 != 0x04 || (cmd->p2 != 0x00 && cmd->p2 != 0x0C))
		return WK_SW_WRONG_P1P2;
	/* re-selection keeps the security state and the session objects */
	if (cmd->p2 == 0x0C)
		return WK_SW_OK;
	fci = wk_tlv_begin(resp, 0x6F);
	wk_tlv_put(resp, 0x84, gm_aid, sizeof(gm_aid));
	prop = wk_tlv_begin(resp, 0xA5);
	wk_tlv_put(resp, 0x80, vc_card_serial(card), 8);
	wk_tlv_put(resp, 0x81, version, sizeof(version));
	wk_tlv_end(resp, prop);
	wk_tlv_end(resp, fci);
	return wk_buf_failed(resp) ? WK_SW_UNKNOWN : WK_SW_OK;
}

static void
gm_deselect(void *state, vc_card *card)
{
	gm_state *s = state;

	(void)card;
	if (s == NULL)
		return;
	gm_obj_drop_all(s);
	sodium_memzero(s, sizeof(*s));
}

/* every command the applet answers: PINs, private and session keys in
 * command data (SECRET) and deciphered data and file contents in answers
 * (SECRET_RESP: as secret as what protects them) are masked in traces */
static const vc_cmd gm_cmds[] = {
	{ WK_GM_INS_INFO, WK_GM_CLA, 0, gm_get_info },
	{ WK_GM_INS_CHALLENGE, WK_GM_CLA, 0, gm_get_challenge },
	{ WK_GM_INS_DEV_AUTH, WK_GM_CLA, VC_CMD_SECRET, gm_dev_auth },
	{ WK_GM_INS_SET_DEV_KEY, WK_GM_CLA, VC_CMD_SECRET, gm_set_dev_key },
	{ WK_GM_INS_SET_LABEL, WK_GM_CLA, 0, gm_set_label },
	{ WK_GM_INS_APP_CREATE, WK_GM_CLA, VC_CMD_SECRET, gm_app_create },
	{ WK_GM_INS_APP_LIST, WK_GM_CLA, 0, gm_app_list },
	{ WK_GM_INS_APP_DELETE, WK_GM_CLA, 0, gm_app_delete },
	{ WK_GM_INS_APP_OPEN, WK_GM_CLA, 0, gm_app_open },
	{ WK_GM_INS_VERIFY, WK_GM_CLA, VC_CMD_SECRET, gm_pin_verify },
	{ WK_GM_INS_CHANGE_PIN, WK_GM_CLA, VC_CMD_SECRET, gm_pin_change },
	{ WK_GM_INS_PIN_INFO, WK_GM_CLA, 0, gm_pin_info },
	{ WK_GM_INS_UNBLOCK, WK_GM_CLA, VC_CMD_SECRET, gm_pin_unblock },
	{ WK_GM_INS_LOGOUT, WK_GM_CLA, 0, gm_logout },
	{ WK_GM_INS_FILE_CREATE, WK_GM_CLA, 0, gm_file_create },
	{ WK_GM_INS_FILE_LIST, WK_GM_CLA, 0, gm_file_list },
	{ WK_GM_INS_FILE_DELETE, WK_GM_CLA, 0, gm_file_delete },
	{ WK_GM_INS_FILE_INFO, WK_GM_CLA, 0, gm_file_info },
	{ WK_GM_INS_FILE_READ, WK_GM_CLA, VC_CMD_SECRET_RESP, gm_file_read },
	{ WK_GM_INS_FILE_WRITE, WK_GM_CLA, 0, gm_file_write },
	{ WK_GM_INS_CONT_CREATE, WK_GM_CLA, 0, gm_cont_create },
	{ WK_GM_INS_CONT_LIST, WK_GM_CLA, 0, gm_cont_list },
	{ WK_GM_INS_CONT_DELETE, WK_GM_CLA, 0, gm_cont_delete },
	{ WK_GM_INS_CONT_INFO, WK_GM_CLA, 0, gm_cont_info },
	{ WK_GM_INS_CERT_IMPORT, WK_GM_CLA, 0, gm_cert_import },
	{ WK_GM_INS_CERT_EXPORT, WK_GM_CLA, 0, gm_cert_export },
	{ WK_GM_INS_GENERATE, WK_GM_CLA, 0, gm_key_generate },
	{ WK_GM_INS_IMPORT_KEY, WK_GM_CLA, VC_CMD_SECRET, gm_key_import },
	{ WK_GM_INS_PUBLIC_KEY, WK_GM_CLA, 0, gm_key_public },
	{ WK_GM_INS_SIGN, WK_GM_CLA, 0, gm_sign },
	{ WK_GM_INS_DECRYPT, WK_GM_CLA, VC_CMD_SECRET_RESP, gm_decrypt },
	{ WK_GM_INS_EXT_VERIFY, WK_GM_CLA, 0, gm_ext_verify },
	{ WK_GM_INS_EXT_ENCRYPT, WK_GM_CLA, 0, gm_ext_encrypt },
	{ WK_GM_INS_EXT_SIGN, WK_GM_CLA, VC_CMD_SECRET, gm_ext_sign },
	{ WK_GM_INS_EXT_DECRYPT, WK_GM_CLA, VC_CMD_SECRET | VC_CMD_SECRET_RESP,
	    gm_ext_decrypt },
	{ WK_GM_INS_KEY_SET, WK_GM_CLA, VC_CMD_SECRET, gm_key_set },
	{ WK_GM_INS_KEY_UNWRAP, WK_GM_CLA, 0, gm_key_unwrap },
	{ WK_GM_INS_KEY_WRAP, WK_GM_CLA, 0, gm_key_wrap },
	{ WK_GM_INS_CIPHER_INIT, WK_GM_CLA, 0, gm_cipher_init },
	{ WK_GM_INS_PROCESS, WK_GM_CLA, VC_CMD_SECRET | VC_CMD_SECRET_RESP,
	    gm_data_process },
	{ WK_GM_INS_DIGEST_INIT, WK_GM_CLA, 0, gm_digest_init },
	{ WK_GM_INS_CLOSE, WK_GM_CLA, 0, gm_close_handle },
	{ WK_GM_INS_AGREE_START, WK_GM_CLA, 0, gm_agree_start },
	{ WK_GM_INS_AGREE_RESPOND, WK_GM_CLA, 0, gm_agree_respond },
	{ WK_GM_INS_AGREE_FINISH, WK_GM_CLA, 0, gm_agree_finish },
	{ 0, 0, 0, NULL },
};

/* every command takes the GM class: another is 6E00 whatever its INS */
static uint16_t
gm_process(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	if (cmd->cla != WK_GM_CLA)
		return WK_SW_CLA_NOT_SUPPORTED;
	return vc_cmd_run(gm_cmds, state, card, cmd, resp);
}

const vc_applet vc_applet_gm = {
	.name = "gm",
	VC_AIDS(gm_aids),
	VC_LIFE(gm_create, gm_open, gm_close, gm_select,
	    gm_deselect),
	.process = gm_process,
	.cmds = gm_cmds,
};
