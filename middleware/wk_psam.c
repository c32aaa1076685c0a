/*
 * the PSAM client (docs/wallet.md "The PSAM"): the commands of a terminal's
 * PSAM card (vcard/applets/psam.c). The PSAM computes MAC1 and checks MAC2
 * inside; the host sees terminal numbers and MACs, never a key.
 */
#include "wk_internal.h"
#include "wk_purse_internal.h"

#include <string.h>

#include <sodium.h>

#define CLA_PSAM 0x80
#define INS_INIT_PURCHASE 0x70
#define INS_CREDIT_PURCHASE 0x72
#define INS_GET_INFO 0xCA
#define INS_GENERATE 0xE0
#define INS_INSTALL 0xE2

static const uint8_t psam_aid[] = { WK_PSAM_AID_BYTES };

int
wk_psam_select(wk_card *card)
{
	uint8_t fci[256];
	size_t n = sizeof(fci);
	int rc;

	if (card == NULL)
		return WK_ERR_ARG;
	rc = wk_card_cmd(card, 0x00, 0xA4, 0x04, 0x00, psam_aid, sizeof(psam_aid),
	    256, fci, &n);
	/* a card without the applet answers 6A82 */
	return rc == WK_ERR_NOT_FOUND || rc == WK_ERR_SW ? WK_ERR_NOT_FOUND : rc;
}

int
wk_psam_parse_info(const uint8_t *p, size_t len, wk_psam_info *info)
{
	if (p == NULL || info == NULL)
		return WK_ERR_ARG;
	if ((len != WK_PSAM_INFO_LEN && len != WK_PSAM_INFO_LEN - 1) ||
	    p[0] > WK_PSAM_INSTALLED)
		return WK_ERR_CARD_MALFORMED;
	memset(info, 0, sizeof(*info));
	info->state = p[0];
	info->key_version = p[1];
	memcpy(info->terminal, p + 2, 6);
	info->counter = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 |
	    (uint32_t)p[10] << 8 | p[11];
	memcpy(info->point, p + 12, WK_PSAM_POINT_LEN);
	/* a PSAM made before SM4 holds one 3DES master once installed */
	if (len == WK_PSAM_INFO_LEN)
		info->algorithms = p[12 + WK_PSAM_POINT_LEN];
	else if (info->state == WK_PSAM_INSTALLED)
		info->algorithms = WK_PSAM_ALG_3DES;
	if ((info->algorithms & ~(WK_PSAM_ALG_3DES | WK_PSAM_ALG_SM4)) != 0 ||
	    (info->state != WK_PSAM_INSTALLED) != (info->algorithms == 0))
		return WK_ERR_CARD_MALFORMED;
	if (info->state != WK_PSAM_EMPTY && info->point[0] != 0x04)
		return WK_ERR_CARD_MALFORMED;
	return WK_OK;
}

int
wk_psam_get_info(wk_card *card, wk_psam_info *info)
{
	uint8_t r[WK_PSAM_INFO_LEN + 8];
	size_t n = sizeof(r);
	int rc;

	if (card == NULL || info == NULL)
		return WK_ERR_ARG;
	if ((rc = wk_card_cmd(card, CLA_PSAM, INS_GET_INFO, 0, 0, NULL, 0, 256, r,
	    &n)) != WK_OK)
		return rc;
	return wk_psam_parse_info(r, n, info);
}

int
wk_psam_generate(wk_card *card, const uint8_t anchor[WK_PSAM_POINT_LEN],
    uint8_t point[WK_PSAM_POINT_LEN])
{
	uint8_t r[WK_PSAM_POINT_LEN + 8];
	size_t n = sizeof(r);
	int rc;

	if (card == NULL || anchor == NULL || point == NULL)
		return WK_ERR_ARG;
	if ((rc = wk_card_cmd(card, CLA_PSAM, INS_GENERATE, 0, 0, anchor,
	    WK_PSAM_POINT_LEN, 256, r, &n)) != WK_OK)
		return rc;
	if (n != WK_PSAM_POINT_LEN || r[0] != 0x04)
		return WK_ERR_CARD_MALFORMED;
	memcpy(point, r, WK_PSAM_POINT_LEN);
	return WK_OK;
}

int
wk_psam_install(wk_card *card, const uint8_t *msg, size_t len)
{
	if (card == NULL || msg == NULL || len == 0 || len > WK_WALLET_MSG_MAX)
		return WK_ERR_ARG;
	return wk_card_cmd(card, CLA_PSAM, INS_INSTALL, 0, 0, msg, len, 0, NULL,
	    NULL);
}

int
wk_psam_purchase_mac1(wk_card *card, wk_purse_txn *txn)
{
	uint8_t d[28], r[16];
	size_t n = sizeof(r);
	int rc;

	if (card == NULL || txn == NULL ||
	    (txn->type != 0x05 && txn->type != 0x06))
		return WK_ERR_ARG;
	memcpy(d, txn->random, 4);
	d[4] = (uint8_t)(txn->card_seq >> 8);
	d[5] = (uint8_t)txn->card_seq;
	d[6] = (uint8_t)(txn->amount >> 24);
	d[7] = (uint8_t)(txn->amount >> 16);
	d[8] = (uint8_t)(txn->amount >> 8);
	d[9] = (uint8_t)txn->amount;
	d[10] = txn->type;
	memcpy(d + 11, txn->date, 4);
	memcpy(d + 15, txn->time, 3);
	d[18] = txn->key_version;
	d[19] = txn->alg;
	/* the diversification factor: the serial's right 8 bytes (4.4) */
	memcpy(d + 20, txn->serial + WK_PURSE_SERIAL_LEN - 8, 8);
	if ((rc = wk_card_cmd(card, CLA_PSAM, INS_INIT_PURCHASE, 0, 0, d, sizeof(d),
	    8, r, &n)) != WK_OK)
		return rc;
	if (n != 8)
		return WK_ERR_CARD_MALFORMED;
	memcpy(txn->term_seq, r, 4);
	memcpy(txn->mac1, r + 4, 4);
	return WK_OK;
}

int
wk_psam_check_mac2(wk_card *card, const uint8_t mac2[4])
{
	int rc;

	if (card == NULL || mac2 == NULL)
		return WK_ERR_ARG;
	rc = wk_card_cmd(card, CLA_PSAM, INS_CREDIT_PURCHASE, 0, 0, mac2, 4, 0, NULL,
	    NULL);
	return rc == WK_ERR_MAC ? WK_ERR_AUTH_FAILED : rc;
}

/*
 * CREDIT SAM FOR PURCHASE, P1 01: MAC2 with the purchase's session restated
 * (serial(8) random(4) card seq(2) terminal seq(4) amount(4), then the
 * algorithm(1) of the card's DPK unless it is 3DES: the form a PSAM made
 * before SM4 takes), for any number the PSAM has given out: the check of a
 * purchase after the PSAM was restarted (its last session is kept in RAM
 * only) or has done another purchase since
 */
int
wk_psam_check_purchase(wk_card *card, const wk_purse_txn *txn,
    const uint8_t mac2[4])
{
	uint8_t d[27];
	size_t len = 26;
	int rc;

	if (card == NULL || txn == NULL || mac2 == NULL)
		return WK_ERR_ARG;
	if (txn->alg != WK_PURSE_ALG_3DES && txn->alg != WK_PURSE_ALG_SM4)
		return WK_ERR_ARG;
	memcpy(d, mac2, 4);
	memcpy(d + 4, txn->serial + WK_PURSE_SERIAL_LEN - 8, 8);
	memcpy(d + 12, txn->random, 4);
	d[16] = (uint8_t)(txn->card_seq >> 8);
	d[17] = (uint8_t)txn->card_seq;
	memcpy(d + 18, txn->term_seq, 4);
	d[22] = (uint8_t)(txn->amount >> 24);
	d[23] = (uint8_t)(txn->amount >> 16);
	d[24] = (uint8_t)(txn->amount >> 8);
	d[25] = (uint8_t)txn->amount;
	if (txn->alg != WK_PURSE_ALG_3DES)
		d[len++] = txn->alg;
	rc = wk_card_cmd(card, CLA_PSAM, INS_CREDIT_PURCHASE, 0x01, 0, d, len, 0,
	    NULL, NULL);
	return rc == WK_ERR_MAC ? WK_ERR_AUTH_FAILED : rc;
}
