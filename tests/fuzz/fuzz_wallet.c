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
#include "applets/purse.h"
#include "wk_purse_crypto.h"

#define FUZZ_CMD_MAX WK_MSG_MAX
#include "fuzz_enrolled.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const vc_applet vc_applet_piv;
extern const vc_applet vc_applet_purse;

static uint8_t keys[WK_PURSE_KEY_N * 16];	/* by key id: DLK first */

/* the issuer's keys mix the algorithms (docs/purse.md "SM4"): SM4 for the
 * even ids (DLK, DTK, DUK), 3DES for the odd */
static uint8_t
key_alg(size_t id)
{
	return id % 2 == 0 ? WK_PURSE_ALG_SM4 : WK_PURSE_ALG_3DES;
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
	return xfer(apdu, 9 + lc, n);
}

/* a VERIFY answered 9000 since the last seq the card moved */
static bool pin_fresh;

static void
start(void)
{
	static const vc_applet *const applets[] = { &vc_applet_piv,
	    &vc_applet_purse };
	uint8_t buf[WK_MSG_MAX], sealed[WK_MSG_PERSO_KEYS_MAX];
	size_t n;
	wk_msg m;
	wk_buf b;

	enrol("fuzz_wallet", applets, 2);
	randombytes_buf(keys, sizeof(keys));
	/* the purse keys */
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
	/* every input starts from this card */
	snapshot();
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
	if (xfer(pin, sizeof(pin), &n) == 0x9000)
		pin_fresh = true;
	if (xfer(req, sizeof(req), &n) != 0x9000 ||
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
	/* the oracles assume the card as enrolled: no PIN verified, no session
	 * or management key authentication open, the wallet key, anchor, PIN
	 * and purse keys of start(), nothing blocked. An earlier input may
	 * have changed any of these (a regenerated key 82 made unblock() trap
	 * on an input that alone passes), so each input starts from the
	 * snapshot and a finding reproduces alone. */
	restore();
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
				if (xfer(pin, sizeof(pin), &n) == 0x9000)
					pin_fresh = true;
				break;
			default:
				(void)xfer(sel_piv, sizeof(sel_piv), &n);
				(void)xfer(sel_purse, sizeof(sel_purse), &n);
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
		(void)xfer(sel_purse, sizeof(sel_purse), &n);
		switch (op % 4) {
		case 0:
			if (len > 0) {
				sw = xfer(p, len, &n);
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
			(void)xfer(sel_piv, sizeof(sel_piv), &n);
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
