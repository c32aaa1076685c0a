/*
 * the PIV applet: dispatch, selection and the factory state
 * (specs/piv.md; SP 800-73-4 part 2 plus the Yubico extensions)
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "piv.h"
#include "piv_int.h"
#include "piv_wallet.h"
#include "wk_tlv.h"

static const uint8_t piv_aid[] = {
	0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
};

static const vc_aid piv_aids[] = {
	{ piv_aid, sizeof(piv_aid), 5 },
};

/* APT label; anything but "PivApplet v..." (piv.md 1.3) */
static const char piv_label[] = "walletkey PIV";

/* algorithms advertised in AC entries (never 27/2E, piv.md 1.3) */
static const uint8_t piv_apt_algs[] = {
	PIV_ALG_RSA2048, PIV_ALG_RSA3072, PIV_ALG_RSA4096, PIV_ALG_ECCP256,
	PIV_ALG_ECCP384, PIV_ALG_ED25519, PIV_ALG_X25519,
};

/* what the card keeps for the applet: the security state in guarded
 * memory, and beside it on the heap the key cache, whose pointers a leak
 * checker must be able to follow (it does not scan sodium_malloc'd pages) */
typedef struct piv_applet {
	piv_state *s;
	piv_cache *keys;
} piv_applet;

static void
piv_close(void **state)
{
	piv_applet *a;

	if (state == NULL || (a = *state) == NULL)
		return;
	piv_cache_free(&a->keys);
	if (a->s != NULL) {
		sodium_memzero(a->s, sizeof(*a->s));
		sodium_free(a->s);
	}
	free(a);
	*state = NULL;
}

static int
piv_alloc(void **state)
{
	piv_applet *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	*state = a;
	if ((a->s = sodium_malloc(sizeof(*a->s))) == NULL ||
	    piv_cache_new(&a->keys) != 0) {
		piv_close(state);
		return -1;
	}
	sodium_memzero(a->s, sizeof(*a->s));
	a->s->keys = a->keys;
	return 0;
}

static int
piv_create(vc_card *card, void **state)
{
	int r = -1;

	if (piv_pin_factory(card, 3, 3) != 0 || piv_mgm_factory(card) != 0 ||
	    piv_obj_factory(card) != 0 || piv_attest_factory(card) != 0)
		goto out;
	if (piv_alloc(state) != 0)
		goto out;
	r = 0;
out:
	return r;
}

static int
piv_open(vc_card *card, void **state)
{
	(void)card;
	return piv_alloc(state);
}

static uint16_t
piv_select(void *state, vc_card *card, size_t which, const wk_apdu *cmd,
    wk_buf *resp)
{
	size_t apt, ac;

	(void)state;
	(void)card;
	(void)which;
	if (cmd->p1 != 0x04 || (cmd->p2 != 0x00 && cmd->p2 != 0x0C))
		return WK_SW_WRONG_P1P2;
	/* re-selection keeps the security state (piv.md 1.4); P2 0C: no APT */
	if (cmd->p2 == 0x0C)
		return WK_SW_OK;
	apt = wk_tlv_begin(resp, 0x61);
	wk_tlv_put(resp, 0x4F, piv_aid + 5, sizeof(piv_aid) - 5);
	ac = wk_tlv_begin(resp, 0x79);
	wk_tlv_put(resp, 0x4F, piv_aid, 5);
	wk_tlv_end(resp, ac);
	wk_tlv_put(resp, 0x50, piv_label, sizeof(piv_label) - 1);
	for (size_t i = 0; i < sizeof(piv_apt_algs); i++) {
		ac = wk_tlv_begin(resp, 0xAC);
		wk_tlv_put(resp, 0x80, &piv_apt_algs[i], 1);
		wk_tlv_end(resp, ac);
	}
	wk_tlv_end(resp, apt);
	return wk_buf_failed(resp) ? WK_SW_UNKNOWN : WK_SW_OK;
}

static void
piv_deselect(void *state, vc_card *card)
{
	(void)card;
	if (state == NULL)
		return;
	piv_state_clear(((piv_applet *)state)->s);
	piv_cache_drop_nonces(((piv_applet *)state)->keys);
}

/* idle: the next ECDSA nonce of a key that signs (piv_ecdsa.c) */
static bool
piv_idle(void *state, vc_card *card)
{
	(void)card;
	return state != NULL && piv_cache_idle(((piv_applet *)state)->keys);
}

static uint16_t
piv_process(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	piv_state *s = ((piv_applet *)state)->s;

	if (cmd->cla == 0x80 && cmd->ins == PIV_WALLET_INS_SETUP)
		return piv_wallet_setup(s, card, cmd);
	if ((cmd->cla & 0xEF) != 0x00)
		return WK_SW_CLA_NOT_SUPPORTED;
	switch (cmd->ins) {
	case 0xCB:
		return piv_get_data(s, card, cmd, resp);
	case 0xDB:
		return piv_put_data(s, card, cmd);
	case 0x20:
		return piv_verify(s, card, cmd);
	case 0x24:
		return piv_change_ref(s, card, cmd);
	case 0x2C:
		return piv_reset_retry(s, card, cmd);
	case 0x87:
		return piv_general_auth(s, card, cmd, resp);
	case 0x47:
		return piv_generate(s, card, cmd, resp);
	case 0xFD:
		return piv_get_version(cmd, resp);
	case 0xF8:
		return piv_get_serial(card, cmd, resp);
	case 0xF7:
		return piv_metadata(s, card, cmd, resp);
	case 0xFF:
		return piv_set_mgm(s, card, cmd);
	case 0xFE:
		return piv_import(s, card, cmd);
	case 0xF9:
		return piv_attest(s, card, cmd, resp);
	case 0xFA:
		return piv_set_retries(s, card, cmd);
	case 0xFB:
		return piv_reset(s, card, cmd);
	case 0xF6:
		return piv_move_key(s, card, cmd);
	case 0xA4:
		return WK_SW_FILE_NOT_FOUND;
	default:
		return WK_SW_INS_NOT_SUPPORTED;
	}
}

/* a tag list (5C 03 <tag>) naming an object only the PIN opens: printed
 * information, which may hold the PIN-protected 9B key, biometrics and the
 * holder's private data objects */
static bool
pin_protected_object(const uint8_t *data, size_t lc)
{
	return lc >= 5 && data[0] == 0x5C && data[1] == 0x03 &&
	    piv_tag_pin_protected(((uint32_t)data[2] << 16) |
	    ((uint32_t)data[3] << 8) | data[4]);
}

static void
piv_secret_range(const wk_apdu *cmd, size_t *from, size_t *len)
{
	bool all = false;

	switch (cmd->ins) {
	case 0x20:	/* PINs */
	case 0x24:
	case 0x2C:
	case 0xFE:	/* private key import */
	case 0xFF:	/* management key */
		all = true;
		break;
	case 0x87:	/* 9B witness and responses */
		all = cmd->p2 == PIV_REF_MGM;
		break;
	case 0xDB:	/* the whole chain: the card layer gives it joined */
		all = pin_protected_object(cmd->data, cmd->lc);
		break;
	default:
		break;
	}
	*from = 0;
	*len = all ? cmd->lc : 0;
}

/* RSA private operations (decipher with 9D) and key agreement answer data
 * that is as secret as a key: masked in traces. RSA signatures are masked
 * too, since the card cannot tell them from decipherment. So are the
 * PIN-protected objects that GET DATA reads. */
static bool
piv_secret_response(const wk_apdu *cmd)
{
	wk_tlv t;

	if (cmd->ins == 0xCB)
		return pin_protected_object(cmd->data, cmd->lc);
	if (cmd->ins != 0x87 || cmd->p2 == PIV_REF_MGM)
		return false;
	switch (cmd->p1) {
	case PIV_ALG_RSA1024:
	case PIV_ALG_RSA2048:
	case PIV_ALG_RSA3072:
	case PIV_ALG_RSA4096:
	case PIV_ALG_X25519:
		return true;
	default:
		break;
	}
	/* EC: 85 asks for a shared secret, 81 for a signature */
	return wk_tlv_parse_one(cmd->data, cmd->lc, 0x7C, &t) == WK_TLV_OK &&
	    wk_tlv_find(t.value, t.len, 0x85, &t) == WK_TLV_OK;
}

const vc_applet vc_applet_piv = {
	.name = "piv",
	VC_AIDS(piv_aids),
	.default_selected = true,
	VC_LIFE(piv_create, piv_open, piv_close, piv_select,
	    piv_deselect),
	.process = piv_process,
	.secret_range = piv_secret_range,
	.secret_response = piv_secret_response,
	.idle = piv_idle,
};
