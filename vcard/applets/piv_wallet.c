/*
 * the wallet key (slot 82), the trust anchor and the PAN for the purse's
 * wallet commands (docs/remote-load.md); WALLET SETUP is a PIV command
 * because only the PIV applet knows whether 9B was authenticated.
 */
#include "piv_wallet.h"

#include <string.h>

#include <sodium.h>

#include "piv_int.h"
#include "purse.h"
#include "wk_ec.h"
#include "wk_tlv.h"

#define KEY_ANCHOR "wallet.anchor"
#define KEY_PAN "wallet.pan"

bool
piv_wallet_locked(vc_card *card)
{
	uint8_t tmp[PIV_WALLET_POINT_LEN + 8];
	wk_buf b;
	int r;

	wk_buf_init_fixed(&b, tmp, sizeof(tmp));
	r = vc_store_get(vc_card_store(card), PIV_APPLET, KEY_ANCHOR, &b);
	/* an unreadable store counts as locked: refuse rather than allow */
	return r != VC_STORE_NOT_FOUND;
}

int
piv_wallet_key(vc_card *card, EVP_PKEY **out)
{
	piv_key k;

	*out = NULL;
	memset(&k, 0, sizeof(k));
	if (piv_key_load(card, PIV_WALLET_SLOT, &k) != VC_STORE_OK)
		return -1;
	if (k.alg != PIV_ALG_ECCP256) {
		piv_key_free(&k);
		return -1;
	}
	*out = k.pkey;
	k.pkey = NULL;
	piv_key_free(&k);
	return 0;
}

int
piv_wallet_sign(vc_card *card, const uint8_t *msg, size_t len, wk_buf *sig)
{
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	uint8_t der[80];
	size_t n = sizeof(der);
	int rc = -1;

	if (piv_wallet_key(card, &key) != 0 || (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(md, der, &n, msg, len) != 1)
		goto out;
	wk_buf_add(sig, der, n);
	rc = wk_buf_failed(sig) ? -1 : 0;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return rc;
}

int
piv_wallet_anchor(vc_card *card, EVP_PKEY **out)
{
	uint8_t tmp[PIV_WALLET_POINT_LEN + 8];
	wk_buf b;

	*out = NULL;
	wk_buf_init_fixed(&b, tmp, sizeof(tmp));
	if (vc_store_get(vc_card_store(card), PIV_APPLET, KEY_ANCHOR, &b) !=
	    VC_STORE_OK)
		return -1;
	*out = wk_ec_p256_point(b.p, b.len);
	return *out != NULL ? 0 : -1;
}

int
piv_wallet_pan(vc_card *card, char *pan, size_t cap)
{
	uint8_t tmp[PIV_WALLET_PAN_MAX + 8];
	wk_buf b;

	wk_buf_init_fixed(&b, tmp, sizeof(tmp));
	if (cap < PIV_WALLET_PAN_MAX + 1 ||
	    vc_store_get(vc_card_store(card), PIV_APPLET, KEY_PAN, &b) !=
	    VC_STORE_OK || b.len == 0 || b.len > PIV_WALLET_PAN_MAX)
		return -1;
	memcpy(pan, b.p, b.len);
	pan[b.len] = '\0';
	return 0;
}

int
piv_wallet_forget(piv_state *s, vc_card *card)
{
	vc_store *st = vc_card_store(card);
	bool locked = piv_wallet_locked(card);
	int r;

	if ((r = vc_store_del(st, PIV_APPLET, KEY_ANCHOR)) != VC_STORE_OK &&
	    r != VC_STORE_NOT_FOUND)
		return r;
	if ((r = vc_store_del(st, PIV_APPLET, KEY_PAN)) != VC_STORE_OK &&
	    r != VC_STORE_NOT_FOUND)
		return r;
	if ((r = piv_key_delete(s, card, PIV_WALLET_SLOT)) != VC_STORE_OK &&
	    r != VC_STORE_NOT_FOUND)
		return r;
	/* the purse keys an issuer installed are that issuer's: none of them
	 * may meet another trust anchor */
	if (locked && (r = purse_keys_wipe(card)) != VC_STORE_OK)
		return r;
	return VC_STORE_OK;
}

/*
 * WALLET SETUP, CLA 80 INS E8 P1 P2 00: data 01 L <anchor point, 65> 02 L
 * <PAN, 1-19 ASCII digits>; needs 9B authentication (piv_state.mgm_auth).
 * On a card that already has an anchor it first forgets the wallet: the
 * slot-82 key and every purse key go, so a new anchor never inherits a key
 * the old issuer certified or personalised.
 */
uint16_t
piv_wallet_setup(piv_state *s, vc_card *card, const wk_apdu *cmd)
{
	vc_store *st = vc_card_store(card);
	EVP_PKEY *k = NULL;
	wk_cur c;
	wk_tlv a, p;

	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (!s->mgm_auth)
		return WK_SW_SECURITY_STATUS;
	if (cmd->lc != 0) {
		wk_cur_init(&c, cmd->data, cmd->lc);
		if (wk_tlv_read(&c, &a) != WK_TLV_OK || a.tag != 0x01 ||
		    wk_tlv_read(&c, &p) != WK_TLV_OK || p.tag != 0x02 ||
		    c.len != 0 || p.len == 0 || p.len > PIV_WALLET_PAN_MAX)
			return WK_SW_WRONG_DATA;
		for (size_t i = 0; i < p.len; i++)
			if (p.value[i] < '0' || p.value[i] > '9')
				return WK_SW_WRONG_DATA;
		if ((k = wk_ec_p256_point(a.value, a.len)) == NULL)
			return WK_SW_WRONG_DATA;
		EVP_PKEY_free(k);
	}
	/* no data: forget the wallet, its key included, so slot 82 never
	 * signs host-chosen bytes while an issuer trusts it */
	if ((cmd->lc == 0 || piv_wallet_locked(card)) &&
	    piv_wallet_forget(s, card) != VC_STORE_OK) {
		vc_store_abort(st);
		return WK_SW_MEMORY_FAILURE;
	}
	if (cmd->lc == 0)
		return WK_SW_OK;
	if (vc_store_put(st, PIV_APPLET, KEY_ANCHOR, a.value, a.len) !=
	    VC_STORE_OK ||
	    vc_store_put(st, PIV_APPLET, KEY_PAN, p.value, p.len) != VC_STORE_OK) {
		vc_store_abort(st);
		return WK_SW_MEMORY_FAILURE;
	}
	return WK_SW_OK;
}
