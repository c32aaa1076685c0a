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

static uint16_t
gm_process(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;

	if (cmd->cla != WK_GM_CLA)
		return WK_SW_CLA_NOT_SUPPORTED;
	switch (cmd->ins) {
	case WK_GM_INS_INFO:
		return gm_get_info(s, card, cmd, resp);
	case WK_GM_INS_CHALLENGE:
		return gm_get_challenge(s, card, cmd, resp);
	case WK_GM_INS_DEV_AUTH:
		return gm_dev_auth(s, card, cmd);
	case WK_GM_INS_SET_DEV_KEY:
		return gm_set_dev_key(s, card, cmd);
	case WK_GM_INS_SET_LABEL:
		return gm_set_label(s, card, cmd);
	case WK_GM_INS_APP_CREATE:
		return gm_app_create(s, card, cmd, resp);
	case WK_GM_INS_APP_LIST:
		return gm_app_list(s, card, cmd, resp);
	case WK_GM_INS_APP_DELETE:
		return gm_app_delete(s, card, cmd);
	case WK_GM_INS_APP_OPEN:
		return gm_app_open(s, card, cmd, resp);
	case WK_GM_INS_VERIFY:
		return gm_pin_verify(s, card, cmd);
	case WK_GM_INS_CHANGE_PIN:
		return gm_pin_change(s, card, cmd);
	case WK_GM_INS_PIN_INFO:
		return gm_pin_info(s, card, cmd, resp);
	case WK_GM_INS_UNBLOCK:
		return gm_pin_unblock(s, card, cmd);
	case WK_GM_INS_LOGOUT:
		return gm_logout(s, card, cmd);
	case WK_GM_INS_FILE_CREATE:
		return gm_file_create(s, card, cmd);
	case WK_GM_INS_FILE_LIST:
		return gm_file_list(s, card, cmd, resp);
	case WK_GM_INS_FILE_DELETE:
		return gm_file_delete(s, card, cmd);
	case WK_GM_INS_FILE_INFO:
		return gm_file_info(s, card, cmd, resp);
	case WK_GM_INS_FILE_READ:
		return gm_file_read(s, card, cmd, resp);
	case WK_GM_INS_FILE_WRITE:
		return gm_file_write(s, card, cmd);
	case WK_GM_INS_CONT_CREATE:
		return gm_cont_create(s, card, cmd);
	case WK_GM_INS_CONT_LIST:
		return gm_cont_list(s, card, cmd, resp);
	case WK_GM_INS_CONT_DELETE:
		return gm_cont_delete(s, card, cmd);
	case WK_GM_INS_CONT_INFO:
		return gm_cont_info(s, card, cmd, resp);
	case WK_GM_INS_CERT_IMPORT:
		return gm_cert_import(s, card, cmd);
	case WK_GM_INS_CERT_EXPORT:
		return gm_cert_export(s, card, cmd, resp);
	case WK_GM_INS_GENERATE:
		return gm_key_generate(s, card, cmd, resp);
	case WK_GM_INS_IMPORT_KEY:
		return gm_key_import(s, card, cmd);
	case WK_GM_INS_PUBLIC_KEY:
		return gm_key_public(s, card, cmd, resp);
	case WK_GM_INS_SIGN:
		return gm_sign(s, card, cmd, resp);
	case WK_GM_INS_DECRYPT:
		return gm_decrypt(s, card, cmd, resp);
	case WK_GM_INS_EXT_VERIFY:
		return gm_ext_verify(s, card, cmd);
	case WK_GM_INS_EXT_ENCRYPT:
		return gm_ext_encrypt(s, card, cmd, resp);
	case WK_GM_INS_EXT_SIGN:
		return gm_ext_sign(s, card, cmd, resp);
	case WK_GM_INS_EXT_DECRYPT:
		return gm_ext_decrypt(s, card, cmd, resp);
	case WK_GM_INS_KEY_SET:
		return gm_key_set(s, card, cmd, resp);
	case WK_GM_INS_KEY_UNWRAP:
		return gm_key_unwrap(s, card, cmd, resp);
	case WK_GM_INS_KEY_WRAP:
		return gm_key_wrap(s, card, cmd, resp);
	case WK_GM_INS_CIPHER_INIT:
		return gm_cipher_init(s, card, cmd, resp);
	case WK_GM_INS_PROCESS:
		return gm_data_process(s, card, cmd, resp);
	case WK_GM_INS_DIGEST_INIT:
		return gm_digest_init(s, card, cmd, resp);
	case WK_GM_INS_CLOSE:
		return gm_close_handle(s, card, cmd);
	case WK_GM_INS_AGREE_START:
		return gm_agree_start(s, card, cmd, resp);
	case WK_GM_INS_AGREE_RESPOND:
		return gm_agree_respond(s, card, cmd, resp);
	case WK_GM_INS_AGREE_FINISH:
		return gm_agree_finish(s, card, cmd, resp);
	default:
		return WK_SW_INS_NOT_SUPPORTED;
	}
}

/* PINs, private and session keys in command data are masked in traces */
static void
gm_secret_range(const wk_apdu *cmd, size_t *from, size_t *len)
{
	bool all = false;

	switch (cmd->ins) {
	case WK_GM_INS_DEV_AUTH:
	case WK_GM_INS_SET_DEV_KEY:
	case WK_GM_INS_APP_CREATE:
	case WK_GM_INS_VERIFY:
	case WK_GM_INS_CHANGE_PIN:
	case WK_GM_INS_UNBLOCK:
	case WK_GM_INS_IMPORT_KEY:
	case WK_GM_INS_EXT_SIGN:
	case WK_GM_INS_EXT_DECRYPT:
	case WK_GM_INS_KEY_SET:
	case WK_GM_INS_PROCESS:
		all = true;
		break;
	default:
		break;
	}
	*from = 0;
	*len = all ? cmd->lc : 0;
}

/* deciphered data and file contents are as secret as what protects them */
static bool
gm_secret_response(const wk_apdu *cmd)
{
	return cmd->ins == WK_GM_INS_DECRYPT || cmd->ins == WK_GM_INS_PROCESS ||
	    cmd->ins == WK_GM_INS_EXT_DECRYPT || cmd->ins == WK_GM_INS_FILE_READ;
}

const vc_applet vc_applet_gm = {
	.name = "gm",
	.aids = gm_aids,
	.n_aids = sizeof(gm_aids) / sizeof(gm_aids[0]),
	.default_selected = false,
	.create = gm_create,
	.open = gm_open,
	.close = gm_close,
	.select = gm_select,
	.deselect = gm_deselect,
	.owns_fid = NULL,
	.process = gm_process,
	.secret_range = gm_secret_range,
	.secret_response = gm_secret_response,
};
