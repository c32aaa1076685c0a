/*
 * the PSAM applet (docs/wallet.md "The PSAM"): a terminal's purchase secure
 * access module, as a PBOC terminal has one. It holds the issuer's purchase
 * master keys (DPK: one for 3DES cards, one for SM4 cards, docs/purse.md
 * "SM4") and nothing else, sealed in the card store; for each
 * purchase it diversifies the card's DPK from the card's application serial
 * (pboc-purse.md 4.4), derives the session key (4.2), answers MAC1 with the
 * next terminal transaction number and its own terminal id (4.3), and
 * checks the card's MAC2, all with the algorithm the card's DPK has. No
 * command exports a key.
 *
 * Provisioning: GENERATE makes a P-256 key pair on the card (the issuer's
 * CA key given as the anchor); the issuer seals the DPK to its public key
 * in a psam-keys message signed by the CA (common/wk_msg.h type 10,
 * walletkey-issuer psam-issue); INSTALL checks the signature with the
 * anchor and opens the seal inside.
 *
 *   80 CA 00 00     GET INFO: state(1) key version(1) terminal(6)
 *                   counter(4) public point(65) algorithms(1: bit 0 a
 *                   3DES master, bit 1 an SM4 master)
 *   80 E0 00 00     GENERATE: data anchor point(65); answers the point
 *   80 E2 00 00     INSTALL: data the psam-keys message, whose seal holds
 *                   one entry algorithm(1) master key(16) per algorithm
 *   80 70 00 00     INIT SAM FOR PURCHASE: card random(4) card offline
 *                   seq(2) amount(4) type(1) date(4) time(3) key
 *                   version(1) algorithm(1) card serial (the application
 *                   serial's right 8 bytes); answers terminal seq(4) MAC1(4)
 *   80 72 00 00     CREDIT SAM FOR PURCHASE: MAC2(4) of the last INIT
 *   80 72 01 00     the same with the session restated: MAC2(4) serial(8)
 *                   random(4) card seq(2) terminal seq(4) amount(4)
 *                   [algorithm(1) of the card's DPK; without it 3DES]
 *
 * The terminal counter is reserved in blocks (COUNTER_BLOCK numbers by one
 * store commit); the numbers and the last session live in RAM: a restart
 * skips the rest of the block, never gives a number twice.
 *   00 B0 95/96 00  READ BINARY EF 0015 (PSAM serial), EF 0016 (terminal id)
 */
#include "vc_card.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "vc_store.h"
#include "wk_card_id.h"
#include "wk_ec.h"
#include "wk_msg.h"
#include "wk_purse_crypto.h"
#include "wk_tlv.h"

#define PSAM_APPLET "psam"
#define K_ANCHOR "anchor"
#define K_KEY "key"		/* sealed: DER private key */
#define K_PUB "pub"
#define K_CONF "conf"		/* key version(1) terminal(6) */
#define K_DPK "dpk"		/* sealed: the purchase master key, 3DES */
#define K_DPK_SM4 "dpk.sm4"	/* sealed: the purchase master key, SM4 */
#define K_CTR "ctr"		/* numbers up to this one may have been used */
/* terminal numbers reserved by one commit of K_CTR */
#define COUNTER_BLOCK 100u

#define INS_INIT_PURCHASE 0x70
#define INS_CREDIT_PURCHASE 0x72
#define INS_GET_INFO 0xCA
#define INS_GENERATE 0xE0
#define INS_INSTALL 0xE2
#define INS_READ_BINARY 0xB0

#define POINT_LEN 65
#define CONF_LEN 7
#define INIT_LEN 28	/* Lc 1C: one-level diversification */
/* serial(8) random(4) seq(2) term seq(4) amount(4) algorithm(1) */
#define LAST_LEN 23
/* P1 01's data: MAC2(4) and the session, whose algorithm byte may be left
 * out for 3DES (the form before SM4) */
#define CREDIT_SESSION_LEN (4 + LAST_LEN)
#define CREDIT_SESSION_LEN_3DES (CREDIT_SESSION_LEN - 1)
#define INFO_LEN (1 + 1 + 6 + 4 + POINT_LEN + 1)
#define ALG_BIT_3DES 0x01
#define ALG_BIT_SM4 0x02
#define KEY_ENTRY_LEN (1 + WK_PURSE_KEY_LEN)

enum { ST_EMPTY = 0, ST_KEY = 1, ST_INSTALLED = 2 };

static const uint8_t psam_aid[] = { 0xF0, 0x57, 0x4B, 0x50, 0x53, 0x41, 0x4D };

/* what the PSAM keeps in RAM: lost with the card process, never across a
 * SELECT or a reset (the card's RAM is the process's) */
typedef struct psam_ram {
	bool loaded;		/* ctr and reserved read from the store */
	uint64_t ctr;		/* the last number given out */
	uint64_t reserved;	/* K_CTR as committed */
	bool has_last;
	uint8_t last[LAST_LEN];
} psam_ram;

static const vc_aid psam_aids[] = {
	{ psam_aid, sizeof(psam_aid), sizeof(psam_aid) },
};

static uint32_t
be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static int
get_fixed(vc_card *card, const char *key, uint8_t *out, size_t len,
    bool secret)
{
	return vc_store_get_fixed(vc_card_store(card), PSAM_APPLET, key, out, len,
	    secret);
}

/* ST_EMPTY, ST_KEY or ST_INSTALLED; -1 when the store fails */
static int
psam_state(vc_card *card, uint8_t conf[CONF_LEN])
{
	uint8_t pub[POINT_LEN];
	int r;

	if ((r = get_fixed(card, K_CONF, conf, CONF_LEN, false)) == VC_STORE_OK)
		return ST_INSTALLED;
	if (r != VC_STORE_NOT_FOUND)
		return -1;
	memset(conf, 0, CONF_LEN);
	r = get_fixed(card, K_PUB, pub, sizeof(pub), false);
	if (r == VC_STORE_OK)
		return ST_KEY;
	return r == VC_STORE_NOT_FOUND ? ST_EMPTY : -1;
}

static uint16_t
psam_select(void *state, vc_card *card, size_t which, const wk_apdu *cmd,
    wk_buf *resp)
{
	size_t fci, prop;

	(void)state;
	(void)which;
	(void)cmd;
	fci = wk_tlv_begin(resp, 0x6F);
	wk_tlv_put(resp, 0x84, psam_aid, sizeof(psam_aid));
	prop = wk_tlv_begin(resp, 0xA5);
	wk_tlv_put(resp, 0x80, vc_card_serial(card), WK_SERIAL_LEN);
	wk_tlv_end(resp, prop);
	wk_tlv_end(resp, fci);
	return WK_SW_OK;
}

/* the counter into RAM on first use: after a restart, every number up to
 * the committed reservation counts as used */
static int
ram_load(vc_card *card, psam_ram *ram)
{
	uint64_t v = 0;
	int r;

	if (ram->loaded)
		return 0;
	r = vc_store_get_u64(vc_card_store(card), PSAM_APPLET, K_CTR, &v);
	if (r != VC_STORE_OK && r != VC_STORE_NOT_FOUND)
		return -1;
	if (v > 0xFFFFFFFFu)
		return -1;
	ram->ctr = ram->reserved = v;
	ram->loaded = true;
	return 0;
}

static uint16_t
get_info(vc_card *card, psam_ram *ram, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t out[INFO_LEN], conf[CONF_LEN];
	uint64_t ctr = 0;
	int st, r;

	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	memset(out, 0, sizeof(out));
	if ((st = psam_state(card, conf)) < 0)
		return WK_SW_MEMORY_FAILURE;
	out[0] = (uint8_t)st;
	memcpy(out + 1, conf, CONF_LEN);
	if (ram_load(card, ram) != 0)
		return WK_SW_MEMORY_FAILURE;
	ctr = ram->ctr;
	out[8] = (uint8_t)(ctr >> 24);
	out[9] = (uint8_t)(ctr >> 16);
	out[10] = (uint8_t)(ctr >> 8);
	out[11] = (uint8_t)ctr;
	if (st != ST_EMPTY && get_fixed(card, K_PUB, out + 12, POINT_LEN, false) !=
	    VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	if (st == ST_INSTALLED) {
		uint8_t mk[WK_PURSE_KEY_LEN];

		for (int i = 0; i < 2; i++) {
			r = get_fixed(card, i == 0 ? K_DPK : K_DPK_SM4, mk,
			    sizeof(mk), true);
			if (r == VC_STORE_OK)
				out[12 + POINT_LEN] |= i == 0 ? ALG_BIT_3DES :
				    ALG_BIT_SM4;
			else if (r != VC_STORE_NOT_FOUND)
				break;
		}
		sodium_memzero(mk, sizeof(mk));
		if (r != VC_STORE_OK && r != VC_STORE_NOT_FOUND)
			return WK_SW_MEMORY_FAILURE;
	}
	wk_buf_add(resp, out, sizeof(out));
	return WK_SW_OK;
}

/* a new key pair, replacing one not yet used; never once installed (the
 * terminal's sequence numbers would start again under a new key) */
static uint16_t
generate(vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	vc_store *st = vc_card_store(card);
	EVP_PKEY *anchor = NULL, *k = NULL;
	uint8_t conf[CONF_LEN], pub[POINT_LEN];
	unsigned char *der = NULL;
	size_t n = 0;
	int dl = 0, s;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != POINT_LEN)
		return WK_SW_WRONG_LENGTH;
	if ((s = psam_state(card, conf)) < 0)
		return WK_SW_MEMORY_FAILURE;
	if (s == ST_INSTALLED)
		return WK_SW_CONDITIONS;
	if ((anchor = wk_ec_p256_point(cmd->data, cmd->lc)) == NULL)
		return WK_SW_WRONG_DATA;
	if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    sizeof(pub), &n) != 1 || n != sizeof(pub) ||
	    (dl = i2d_PrivateKey(k, &der)) <= 0)
		goto out;
	if (vc_store_put_secret(st, PSAM_APPLET, K_KEY, der, (size_t)dl) !=
	    VC_STORE_OK ||
	    vc_store_put(st, PSAM_APPLET, K_PUB, pub, sizeof(pub)) != VC_STORE_OK ||
	    vc_store_put(st, PSAM_APPLET, K_ANCHOR, cmd->data, cmd->lc) !=
	    VC_STORE_OK) {
		vc_store_abort(st);
		goto out;
	}
	wk_buf_add(resp, pub, sizeof(pub));
	sw = WK_SW_OK;
out:
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)dl);
	EVP_PKEY_free(k);
	EVP_PKEY_free(anchor);
	return sw;
}

static EVP_PKEY *
private_key(vc_card *card)
{
	uint8_t der[256];
	const uint8_t *p = der;
	EVP_PKEY *k = NULL;
	wk_buf b;

	wk_buf_init_fixed(&b, der, sizeof(der));
	if (vc_store_get_secret(vc_card_store(card), PSAM_APPLET, K_KEY, &b) ==
	    VC_STORE_OK && !wk_buf_failed(&b))
		k = d2i_AutoPrivateKey(NULL, &p, (long)b.len);
	sodium_memzero(der, sizeof(der));
	return k;
}

/* the issuer's psam-keys message: signed by the anchor, for this card,
 * opened with this PSAM's key. A PSAM stays with its first terminal id */
static uint16_t
install(vc_card *card, const wk_apdu *cmd)
{
	vc_store *st = vc_card_store(card);
	EVP_PKEY *anchor = NULL, *key = NULL;
	uint8_t conf[CONF_LEN], pt[POINT_LEN], keys[2 * KEY_ENTRY_LEN];
	const uint8_t *mk[2] = { NULL, NULL };	/* 3DES, SM4 */
	size_t n = 0;
	wk_msg m;
	int s;
	uint16_t sw = WK_SW_SECURITY_STATUS;

	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (wk_msg_parse(cmd->data, cmd->lc, &m, NULL, NULL) != WK_MSG_OK ||
	    m.type != WK_MSG_PSAM_KEYS)
		return WK_SW_WRONG_DATA;
	if ((s = psam_state(card, conf)) < 0)
		return WK_SW_MEMORY_FAILURE;
	if (s == ST_EMPTY)
		return WK_SW_CONDITIONS;
	if (get_fixed(card, K_ANCHOR, pt, sizeof(pt), false) != VC_STORE_OK ||
	    (anchor = wk_ec_p256_point(pt, sizeof(pt))) == NULL ||
	    (key = private_key(card)) == NULL) {
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	if (wk_msg_verify(cmd->data, cmd->lc, anchor, &m) != WK_MSG_OK ||
	    memcmp(m.card_id, vc_card_serial(card), WK_MSG_CARD_ID_LEN) != 0 ||
	    wk_msg_open_keys(key, &m, keys, sizeof(keys), &n) != WK_MSG_OK)
		goto out;
	/* one master per algorithm, each at most once, at least one */
	if (n == 0 || n % KEY_ENTRY_LEN != 0) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	for (size_t off = 0; off < n; off += KEY_ENTRY_LEN) {
		int i = keys[off] == WK_PURSE_ALG_3DES ? 0 :
		    keys[off] == WK_PURSE_ALG_SM4 ? 1 : -1;

		if (i < 0 || mk[i] != NULL) {
			sw = WK_SW_WRONG_DATA;
			goto out;
		}
		mk[i] = keys + off + 1;
	}
	if (s == ST_INSTALLED && memcmp(conf + 1, m.terminal_id, 6) != 0) {
		sw = WK_SW_CONDITIONS;
		goto out;
	}
	conf[0] = m.key_version;
	memcpy(conf + 1, m.terminal_id, 6);
	/* a master the message does not name is removed: the PSAM holds what
	 * the issuer's last message gave it, no more */
	for (int i = 0; i < 2; i++) {
		const char *name = i == 0 ? K_DPK : K_DPK_SM4;
		int r = mk[i] != NULL ? vc_store_put_secret(st, PSAM_APPLET, name,
		    mk[i], WK_PURSE_KEY_LEN) : vc_store_del(st, PSAM_APPLET, name);

		if (r != VC_STORE_OK && r != VC_STORE_NOT_FOUND) {
			vc_store_abort(st);
			sw = WK_SW_MEMORY_FAILURE;
			goto out;
		}
	}
	if (vc_store_put(st, PSAM_APPLET, K_CONF, conf, sizeof(conf)) !=
	    VC_STORE_OK) {
		vc_store_abort(st);
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	sw = WK_SW_OK;
out:
	sodium_memzero(keys, sizeof(keys));
	sodium_memzero(&m, sizeof(m));
	EVP_PKEY_free(key);
	EVP_PKEY_free(anchor);
	return sw;
}

/* the purchase session key of the card with the 8-byte serial whose DPK
 * has algorithm alg: 0, VC_STORE_NOT_FOUND when this PSAM holds no master
 * of that algorithm, -1 when the store or the cipher fails */
static int
session_key(vc_card *card, uint8_t alg, const uint8_t serial[8],
    const uint8_t rnd[4], uint16_t seq, const uint8_t term_seq[4],
    wk_purse_skey *sk)
{
	uint8_t mk[WK_PURSE_KEY_LEN], dk[WK_PURSE_KEY_LEN];
	int rc = -1, r;

	if (alg != WK_PURSE_ALG_3DES && alg != WK_PURSE_ALG_SM4)
		return VC_STORE_NOT_FOUND;
	r = get_fixed(card, alg == WK_PURSE_ALG_SM4 ? K_DPK_SM4 : K_DPK, mk,
	    sizeof(mk), true);
	if (r == VC_STORE_NOT_FOUND)
		rc = VC_STORE_NOT_FOUND;
	else if (r == VC_STORE_OK &&
	    wk_purse_diversify(alg, mk, serial, 8, dk) == WK_PURSE_CRYPTO_OK &&
	    wk_purse_session_key_purchase(alg, dk, rnd, seq, term_seq, sk) ==
	    WK_PURSE_CRYPTO_OK)
		rc = 0;
	sodium_memzero(mk, sizeof(mk));
	sodium_memzero(dk, sizeof(dk));
	return rc;
}

static uint16_t
init_purchase(vc_card *card, psam_ram *ram, const wk_apdu *cmd, wk_buf *resp)
{
	vc_store *st = vc_card_store(card);
	const uint8_t *d = cmd->data;
	uint8_t conf[CONF_LEN], ts[4], mac[4];
	wk_purse_skey sk;
	uint64_t ctr = 0, res;
	uint16_t seq, sw = WK_SW_MEMORY_FAILURE;
	int s, r;

	memset(&sk, 0, sizeof(sk));
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != INIT_LEN)
		return WK_SW_WRONG_LENGTH;
	if ((s = psam_state(card, conf)) < 0)
		return WK_SW_MEMORY_FAILURE;
	if (s != ST_INSTALLED)
		return WK_SW_CONDITIONS;
	if (d[10] != WK_PURSE_TT_EP_PURCHASE && d[10] != WK_PURSE_TT_ED_PURCHASE)
		return WK_SW_WRONG_DATA;
	/* the card's DPK must be of the version this PSAM holds, and of an
	 * algorithm it holds a master for (below) */
	if (d[18] != conf[0] || !wk_purse_alg_valid(d[19]))
		return WK_SW_PURSE_KEY_NOT_FOUND;
	if (ram_load(card, ram) != 0)
		return WK_SW_MEMORY_FAILURE;
	if (ram->ctr >= 0xFFFFFFFFu)
		return WK_SW_PURSE_SEQ_LIMIT;
	ctr = ram->ctr + 1;
	res = ram->reserved;
	ts[0] = (uint8_t)(ctr >> 24);
	ts[1] = (uint8_t)(ctr >> 16);
	ts[2] = (uint8_t)(ctr >> 8);
	ts[3] = (uint8_t)ctr;
	seq = (uint16_t)((d[4] << 8) | d[5]);
	if ((r = session_key(card, d[19], d + 20, d, seq, ts, &sk)) ==
	    VC_STORE_NOT_FOUND) {
		sw = WK_SW_PURSE_KEY_NOT_FOUND;	/* no number used yet */
		goto out;
	}
	if (r != 0 || wk_purse_purchase_mac1(&sk, be32(d + 6), d[10], conf + 1,
	    d + 11, d + 15, mac) != WK_PURSE_CRYPTO_OK)
		goto out;
	/* the next block of numbers commits before one of them leaves: a
	 * number is never used twice, even across a crash (which skips the
	 * rest of the block); RAM moves only once the commit is done */
	if (ctr > res) {
		res = ram->ctr > 0xFFFFFFFFu - COUNTER_BLOCK ? 0xFFFFFFFFu :
		    ram->ctr + COUNTER_BLOCK;
		if (vc_store_put_u64(st, PSAM_APPLET, K_CTR, res) != VC_STORE_OK ||
		    vc_store_checkpoint(st) != VC_STORE_OK) {
			vc_store_abort(st);
			goto out;
		}
	}
	ram->ctr = ctr;
	ram->reserved = res;
	/* the session, for CREDIT SAM FOR PURCHASE (RAM only: after a
	 * restart the terminal restates it, P1 01) */
	memcpy(ram->last, d + 20, 8);
	memcpy(ram->last + 8, d, 4);
	memcpy(ram->last + 12, d + 4, 2);
	memcpy(ram->last + 14, ts, 4);
	memcpy(ram->last + 18, d + 6, 4);
	ram->last[22] = d[19];
	ram->has_last = true;
	wk_buf_add(resp, ts, sizeof(ts));
	wk_buf_add(resp, mac, sizeof(mac));
	sw = WK_SW_OK;
out:
	sodium_memzero(&sk, sizeof(sk));
	return sw;
}

/* P1 00: MAC2 of the last INIT SAM FOR PURCHASE; it stays checkable until
 * the next one while the card runs. P1 01: MAC2 with the session restated,
 * for any number this PSAM has given out (a terminal that lost the card's
 * answer asks again with the MAC2 of GET TRANSACTION PROVE, after a
 * restart of the PSAM too). Either answers only 9000 or 9302 */
static uint16_t
credit_purchase(vc_card *card, psam_ram *ram, const wk_apdu *cmd)
{
	uint8_t last[LAST_LEN], conf[CONF_LEN], want[4];
	const uint8_t *mac2 = cmd->data;
	wk_purse_skey sk;
	uint16_t sw = WK_SW_MEMORY_FAILURE;
	int s, r;

	if (cmd->p1 > 1 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->p1 == 0 ? cmd->lc != 4 : cmd->lc != CREDIT_SESSION_LEN &&
	    cmd->lc != CREDIT_SESSION_LEN_3DES)
		return WK_SW_WRONG_LENGTH;
	if ((s = psam_state(card, conf)) < 0)
		return WK_SW_MEMORY_FAILURE;
	if (s != ST_INSTALLED)
		return WK_SW_CONDITIONS;
	if (cmd->p1 == 0) {
		if (!ram->has_last)
			return WK_SW_CONDITIONS;
		memcpy(last, ram->last, sizeof(last));
	} else {
		if (ram_load(card, ram) != 0)
			return WK_SW_MEMORY_FAILURE;
		memcpy(last, cmd->data + 4, cmd->lc - 4);
		if (cmd->lc == CREDIT_SESSION_LEN_3DES)
			last[22] = WK_PURSE_ALG_3DES;
		/* a number it never gave out, or no algorithm: no session to
		 * check */
		if (be32(last + 14) == 0 || be32(last + 14) > ram->ctr ||
		    !wk_purse_alg_valid(last[22]))
			return WK_SW_WRONG_DATA;
	}
	memset(&sk, 0, sizeof(sk));
	/* VC_STORE_NOT_FOUND: no master of that algorithm (never installed,
	 * or a new INSTALL took it away); the MAC cannot be checked */
	if ((r = session_key(card, last[22], last, last + 8,
	    (uint16_t)((last[12] << 8) | last[13]), last + 14, &sk)) ==
	    VC_STORE_NOT_FOUND) {
		sw = WK_SW_CONDITIONS;
		goto out;
	}
	if (r != 0 || wk_purse_purchase_mac2(&sk, be32(last + 18), want) !=
	    WK_PURSE_CRYPTO_OK)
		goto out;
	sw = sodium_memcmp(want, mac2, sizeof(want)) == 0 ? WK_SW_OK :
	    WK_SW_PURSE_MAC_INVALID;
out:
	sodium_memzero(&sk, sizeof(sk));
	sodium_memzero(want, sizeof(want));
	sodium_memzero(last, sizeof(last));
	return sw;
}

/* READ BINARY by short file id (P1 = 80 | SFI): EF 0015, the PSAM's
 * serial (00 00 and the card serial), and EF 0016, its terminal id */
static uint16_t
read_binary(vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t file[10], conf[CONF_LEN];
	size_t len, n;
	int s;

	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	if (cmd->p1 == 0x95) {
		memset(file, 0, 2);
		memcpy(file + 2, vc_card_serial(card), WK_SERIAL_LEN);
		len = 10;
	} else if (cmd->p1 == 0x96) {
		if ((s = psam_state(card, conf)) < 0)
			return WK_SW_MEMORY_FAILURE;
		if (s != ST_INSTALLED)
			return WK_SW_FILE_NOT_FOUND;
		memcpy(file, conf + 1, 6);
		len = 6;
	} else {
		return WK_SW_FILE_NOT_FOUND;
	}
	if (cmd->p2 >= len)
		return 0x6B00;	/* offset outside the file */
	n = len - cmd->p2;
	if (cmd->has_le && cmd->le < n)
		n = cmd->le;
	wk_buf_add(resp, file + cmd->p2, n);
	return WK_SW_OK;
}

static int
psam_open(vc_card *card, void **state)
{
	(void)card;
	*state = calloc(1, sizeof(psam_ram));
	return *state != NULL ? 0 : -1;
}

static void
psam_close(void **state)
{
	if (*state != NULL) {
		sodium_memzero(*state, sizeof(psam_ram));
		free(*state);
		*state = NULL;
	}
}

static uint16_t
psam_process(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	psam_ram *ram = state;

	if (cmd->cla == 0x00 && cmd->ins == INS_READ_BINARY)
		return read_binary(card, cmd, resp);
	if (cmd->cla != 0x80)
		return cmd->cla == 0x00 ? WK_SW_INS_NOT_SUPPORTED :
		    WK_SW_CLA_NOT_SUPPORTED;
	switch (cmd->ins) {
	case INS_GET_INFO:
		return get_info(card, ram, cmd, resp);
	case INS_GENERATE:
		return generate(card, cmd, resp);
	case INS_INSTALL:
		return install(card, cmd);
	case INS_INIT_PURCHASE:
		return init_purchase(card, ram, cmd, resp);
	case INS_CREDIT_PURCHASE:
		return credit_purchase(card, ram, cmd);
	default:
		return WK_SW_INS_NOT_SUPPORTED;
	}
}

const vc_applet vc_applet_psam = {
	.name = "psam",
	VC_AIDS(psam_aids),
	.create = psam_open,
	.open = psam_open,
	.close = psam_close,
	.select = psam_select,
	.process = psam_process,
};
