/*
 * the wallet commands (purse_wallet.c, purse_xfer.c, piv_wallet.c) through
 * the card runtime, on an enrolled card (wallet key, anchor from an
 * in-process CA, purse keys installed by a personalisation message). The
 * input is a list of steps `op(1) len(2) bytes(len)`:
 *   op % 4 == 0: the bytes are a command APDU to the purse, sent as they are;
 *   op % 4 == 1: a wallet command: INS E0+(bytes[0] & 0x0F), P1 bytes[1],
 *                P2 bytes[2], the rest as data;
 *   op % 4 == 2: a LOAD REQUEST (PIN verified first) and the CA's grant for
 *                it with the bytes XORed over it, so the signature-checked
 *                paths are reached;
 *   op % 4 == 3: WALLET SETUP on the PIV applet with the bytes as data;
 * and with bit 7 set instead:
 *   op % 4 == 0: UNBLOCK REQUEST, then APPLICATION UNBLOCK with the MAC of
 *                the request's challenge under the DAMK, XORed with the bytes;
 *   op % 4 == 1: VERIFY with the right PIN;
 *   op % 4 == 2: SELECT PIV then the purse (drops the PIN and the session).
 * Oracles: the EP balance moves only by a receipt the card signed for a
 * grant the CA made unchanged, by that grant's amount; an online seq is
 * burnt (moved without a credit) only after a VERIFY since the last one
 * (docs/security.md: a host process without the PIN cannot exhaust them);
 * APPLICATION UNBLOCK opens a blocked purse only with the right MAC.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "applets/purse.h"
#include "vc_card.h"
#include "vc_store.h"
#include "wk_log.h"
#include "wk_msg.h"
#include "wk_purse_crypto.h"
#include "wk_vpcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const vc_applet vc_applet_piv;
extern const vc_applet vc_applet_purse;

static vc_store *st;
static vc_card *card;
static EVP_PKEY *ca, *card_pub;
static uint8_t keys[WK_PURSE_KEY_N * 16];	/* by key id: DLK first */

/* the issuer's keys mix the algorithms (docs/purse.md "SM4"): SM4 for the
 * even ids (DLK, DTK, DUK), 3DES for the odd */
static uint8_t
key_alg(size_t id)
{
	return id % 2 == 0 ? WK_PURSE_ALG_SM4 : WK_PURSE_ALG_3DES;
}
static uint8_t resp[WK_VPCD_MAX_PAYLOAD];
static char dir[256];

static void
null_sink(unsigned category, const char *line, void *arg)
{
	(void)category;
	(void)line;
	(void)arg;
}

static void
cleanup(void)
{
	static const char *const files[] = { "card.db", "card.db-wal",
	    "card.db-shm" };
	char p[320];

	vc_card_free(&card);
	vc_store_free(&st);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(card_pub);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%.256s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static uint16_t
send_apdu(const uint8_t *apdu, size_t len, size_t *n)
{
	if (vc_card_apdu(card, apdu, len, resp, sizeof(resp), n) != VC_CARD_OK ||
	    *n < 2)
		__builtin_trap();
	return (uint16_t)((resp[*n - 2] << 8) | resp[*n - 1]);
}

static uint16_t
cmd(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *d,
    size_t lc, size_t *n)
{
	uint8_t apdu[7 + WK_MSG_MAX + 2];

	if (lc > WK_MSG_MAX)
		lc = WK_MSG_MAX;
	if (lc > 255) {
		apdu[0] = cla;
		apdu[1] = ins;
		apdu[2] = p1;
		apdu[3] = p2;
		apdu[4] = 0;
		apdu[5] = (uint8_t)(lc >> 8);
		apdu[6] = (uint8_t)lc;
		memcpy(apdu + 7, d, lc);
		apdu[7 + lc] = 0;
		apdu[8 + lc] = 0;
		return send_apdu(apdu, 9 + lc, n);
	}
	apdu[0] = cla;
	apdu[1] = ins;
	apdu[2] = p1;
	apdu[3] = p2;
	if (lc == 0)
		return send_apdu(apdu, 4, n);
	apdu[4] = (uint8_t)lc;
	memcpy(apdu + 5, d, lc);
	apdu[5 + lc] = 0;
	return send_apdu(apdu, 6 + lc, n);
}

/* a command with more than 255 bytes of data: extended length */
static uint16_t
cmd_long(uint8_t cla, uint8_t ins, const uint8_t *d, size_t lc, size_t *n)
{
	uint8_t apdu[9 + WK_MSG_MAX];

	if (lc > WK_MSG_MAX)
		__builtin_trap();
	apdu[0] = cla;
	apdu[1] = ins;
	apdu[2] = 0;
	apdu[3] = 0;
	apdu[4] = 0;
	apdu[5] = (uint8_t)(lc >> 8);
	apdu[6] = (uint8_t)lc;
	memcpy(apdu + 7, d, lc);
	apdu[7 + lc] = 0;
	apdu[8 + lc] = 0;
	return send_apdu(apdu, 9 + lc, n);
}

static const uint8_t sel_piv[] = { 0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00,
    0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00 };
static const uint8_t sel_purse[] = { 0x00, 0xA4, 0x04, 0x00, 0x08, 0xF0, 0x57,
    0x4B, 0x50, 0x55, 0x52, 0x53, 0x45 };
static const uint8_t pin[] = { 0x00, 0x20, 0x00, 0x00, 0x03, 0x12, 0x34, 0x56 };
/* a VERIFY answered 9000 since the last seq the card moved */
static bool pin_fresh;

static void
must(uint16_t sw)
{
	if (sw != 0x9000)
		__builtin_trap();
}

static void
mgm_auth(void)
{
	static const uint8_t key[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6,
	    7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t a[32] = { 0x00, 0x87, 0x03, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00 };
	uint8_t w[8];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	size_t n;
	int l = 0;

	must(send_apdu(a, 9, &n));
	EVP_CipherInit_ex(c, EVP_des_ede3_ecb(), NULL, key, NULL, 0);
	EVP_CIPHER_CTX_set_padding(c, 0);
	EVP_CipherUpdate(c, w, &l, resp + 4, 8);
	EVP_CIPHER_CTX_free(c);
	memcpy(a, "\x00\x87\x03\x9B\x16\x7C\x14\x80\x08", 9);
	memcpy(a + 9, w, 8);
	memcpy(a + 17, "\x81\x08", 2);
	memset(a + 19, 0x5A, 8);
	must(send_apdu(a, 27, &n));
}

static void
start(void)
{
	static const vc_applet *const applets[] = { &vc_applet_piv,
	    &vc_applet_purse };
	vc_card_opts o = { .init = true, .applets = applets, .n_applets = 2 };
	const char *tmp = getenv("TMPDIR");
	uint8_t d[100], pt[65], buf[WK_MSG_MAX], sealed[WK_MSG_PERSO_KEYS_MAX];
	char path[320];
	size_t n, l = 0;
	wk_msg m;
	wk_buf b;

	if (sodium_init() < 0)
		abort();
	snprintf(dir, sizeof(dir), "%.200s/fuzz_wallet.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/card.db", dir);
	if (vc_store_create(path, NULL, &st) != VC_STORE_OK ||
	    vc_card_new(st, &o, &card) != VC_CARD_OK)
		abort();
	wk_log_set_sink(null_sink, NULL);
	wk_log_set(WK_LOG_ALL);
	atexit(cleanup);
	if ((ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		abort();
	randombytes_buf(keys, sizeof(keys));
	/* enrol: key 82, anchor and PAN, purse keys */
	must(send_apdu(sel_piv, sizeof(sel_piv), &n));
	mgm_auth();
	must(cmd(0x00, 0x47, 0x00, 0x82, (const uint8_t *)"\xAC\x03\x80\x01\x11",
	    5, &n));
	if ((card_pub = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    EVP_PKEY_set1_encoded_public_key(card_pub, resp + 5, 65) != 1 ||
	    EVP_PKEY_get_octet_string_param(ca, "encoded-pub-key", pt,
	    sizeof(pt), &l) != 1)
		abort();
	d[0] = 0x01;
	d[1] = 65;
	memcpy(d + 2, pt, 65);
	memcpy(d + 67, "\x02\x04" "6222", 6);
	must(cmd(0x80, 0xE8, 0, 0, d, 73, &n));
	must(send_apdu(sel_purse, sizeof(sel_purse), &n));
	memset(&m, 0, sizeof(m));
	m.type = WK_MSG_PERSO;
	memcpy(m.card_id, vc_card_serial(card), 8);
	m.key_version = 1;
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	for (size_t i = 0; i < WK_PURSE_KEY_N; i++) {
		sealed[18 * i] = (uint8_t)i;
		sealed[18 * i + 1] = key_alg(i);
		memcpy(sealed + 18 * i + 2, keys + 16 * i, 16);
	}
	if (wk_msg_seal_keys(card_pub, &m, sealed, 18 * WK_PURSE_KEY_N) !=
	    WK_MSG_OK ||
	    wk_msg_sign(&m, ca, &b) != WK_MSG_OK)
		abort();
	must(cmd_long(0x80, 0xE6, b.p, b.len, &n));
}

/* the EP as the store holds it (a blocked purse answers no GET BALANCE) */
static purse_wallet
ep(void)
{
	purse_state s;

	if (purse_state_get(card, &s) != VC_STORE_OK)
		__builtin_trap();
	return s.w[PURSE_EP];
}

static uint64_t
mac_tries(void)
{
	uint64_t v = PURSE_MAC_TRIES_DEFAULT;
	int rc = vc_store_get_u64(st, PURSE_APPLET, "mac.tries", &v);

	if (rc != VC_STORE_OK && rc != VC_STORE_NOT_FOUND)
		__builtin_trap();
	return v;
}

/* UNBLOCK REQUEST, then APPLICATION UNBLOCK with its MAC XORed with x */
static void
unblock(const uint8_t *x, size_t xlen)
{
	uint8_t mac[4];
	bool right = true;
	uint64_t before = mac_tries();
	wk_msg m;
	size_t n;
	uint16_t sw;

	if (cmd(0x80, 0xEE, 0, 0, NULL, 0, &n) != 0x9000)
		return;
	if (wk_msg_verify(resp, n - 2, card_pub, &m) != WK_MSG_OK ||
	    m.type != WK_MSG_UNBLOCK_REQUEST ||
	    wk_purse_unblock_mac(key_alg(WK_PURSE_KEY_DAMK),
	    keys + 16 * WK_PURSE_KEY_DAMK, m.card_random, mac) != 0)
		__builtin_trap();
	for (size_t i = 0; i < xlen && i < 4; i++) {
		mac[i] ^= x[i];
		right = right && x[i] == 0;
	}
	sw = cmd(0x84, 0x18, 0, 0, mac, 4, &n);
	if ((sw == 0x9000) != right ||
	    (sw == 0x9000 && mac_tries() != PURSE_MAC_TRIES_DEFAULT) ||
	    (sw != 0x9000 && mac_tries() != before))
		__builtin_trap();
}

/* request, the CA's grant XORed with x; returns the grant's amount when
 * the grant went unchanged, else 0 */
static uint32_t
request_and_grant(const uint8_t *x, size_t xlen, uint32_t *credited)
{
	static const uint8_t req[] = { 0x80, 0xE0, 0x00, 0x02, 0x0B, 0x01, 0x00,
	    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00 };
	uint8_t gbuf[WK_MSG_MAX];
	wk_purse_skey sk;
	bool changed = false;
	wk_msg q, g;
	wk_buf b;
	size_t n;
	uint16_t sw;

	*credited = 0;
	if (send_apdu(pin, sizeof(pin), &n) == 0x9000)
		pin_fresh = true;
	if (send_apdu(req, sizeof(req), &n) != 0x9000 ||
	    wk_msg_verify(resp, n - 2, card_pub, &q) != WK_MSG_OK)
		return 0;
	memset(&g, 0, sizeof(g));
	g.type = WK_MSG_LOAD_GRANT;
	memcpy(g.card_id, q.card_id, 8);
	memcpy(g.nonce, q.nonce, 16);
	g.seq = q.seq;
	g.amount = q.amount;
	g.trans_type = q.trans_type;
	memcpy(g.terminal_id, q.terminal_id, 6);
	memcpy(g.host_date, "\x20\x26\x01\x01", 4);
	memcpy(g.host_time, "\x12\x00\x00", 3);
	if (q.alg_id != key_alg(WK_PURSE_KEY_DLK) ||
	    wk_purse_session_key_online(q.alg_id, keys, q.card_random, q.seq,
	    &sk) != 0 ||
	    wk_purse_load_mac2(&sk, g.amount, g.trans_type, g.terminal_id,
	    g.host_date, g.host_time, g.mac2) != 0)
		__builtin_trap();
	wk_buf_init_fixed(&b, gbuf, sizeof(gbuf));
	if (wk_msg_sign(&g, ca, &b) != WK_MSG_OK)
		__builtin_trap();
	for (size_t i = 0; i < xlen && i < b.len; i++) {
		gbuf[i] ^= x[i];
		changed |= x[i] != 0;
	}
	sw = cmd(0x80, 0xE2, 0, 0, gbuf, b.len, &n);
	if (sw == 0x9000 && wk_msg_verify(resp, n - 2, card_pub, &q) ==
	    WK_MSG_OK && q.type == WK_MSG_LOAD_RECEIPT) {
		if (changed)
			__builtin_trap();	/* a changed grant was credited */
		*credited = q.amount;
	}
	return changed ? 0 : g.amount;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool started;
	wk_cur c;

	if (!started) {
		start();
		started = true;
	}
	/* a blocked PIN or purse would hide every path behind them */
	if (vc_store_put_u64(st, PURSE_APPLET, "pin.tries", 3) != VC_STORE_OK ||
	    vc_store_put_u64(st, PURSE_APPLET, "mac.tries",
	    PURSE_MAC_TRIES_DEFAULT) != VC_STORE_OK ||
	    vc_store_put_u64(st, PURSE_APPLET, "unblock.tries",
	    PURSE_UNBLOCK_TRIES) != VC_STORE_OK)
		__builtin_trap();
	pin_fresh = false;
	wk_cur_init(&c, data, size);
	while (c.len >= 3) {
		const uint8_t *p;
		uint8_t op;
		uint16_t len, sw;
		purse_wallet before = ep(), after;
		uint32_t credited = 0;
		bool fresh = pin_fresh;
		size_t n;
		wk_apdu a;

		if (wk_cur_u8(&c, &op) != 0 || wk_cur_be16(&c, &len) != 0 ||
		    len > c.len || wk_cur_take(&c, len, &p) != 0)
			break;
		if (op & 0x80) {
			switch (op % 4) {
			case 0:
				unblock(p, len);
				break;
			case 1:
				if (send_apdu(pin, sizeof(pin), &n) == 0x9000)
					pin_fresh = true;
				break;
			default:
				(void)send_apdu(sel_piv, sizeof(sel_piv), &n);
				(void)send_apdu(sel_purse, sizeof(sel_purse), &n);
				break;
			}
			fresh = pin_fresh;
			after = ep();
			if (after.balance != before.balance ||
			    after.online_seq != before.online_seq)
				__builtin_trap();
			continue;
		}
		/* every step starts in the purse, with no session open */
		(void)send_apdu(sel_purse, sizeof(sel_purse), &n);
		switch (op % 4) {
		case 0:
			if (len > 0) {
				sw = send_apdu(p, len, &n);
				/* any VERIFY that passed (the purse's or PIV's) */
				if (sw == 0x9000 && wk_apdu_parse(&a, p, len) == 0 &&
				    a.ins == 0x20 && a.lc > 0)
					pin_fresh = true;
				fresh = pin_fresh;
			}
			break;
		case 1:
			if (len >= 3)
				(void)cmd(0x80, (uint8_t)(0xE0 | (p[0] & 0x0F)), p[1],
				    p[2], p + 3, (size_t)len - 3, &n);
			break;
		case 2:
			(void)request_and_grant(p, len, &credited);
			fresh = pin_fresh;
			break;
		default:
			(void)send_apdu(sel_piv, sizeof(sel_piv), &n);
			(void)cmd(0x80, 0xE8, 0, 0, p, len, &n);
			break;
		}
		after = ep();
		if (after.balance != before.balance + credited)
			__builtin_trap();
		/* a seq moved without a credit was burnt: only with the PIN */
		if (after.online_seq != before.online_seq) {
			if (after.online_seq != (uint16_t)(before.online_seq + 1) ||
			    (credited == 0 && !fresh))
				__builtin_trap();
			pin_fresh = false;
		}
	}
	return 0;
}
