/*
 * the purse applet through the card runtime. The input is a list of steps,
 * each `op(1) len(2) bytes(len)`:
 *   op even: the bytes are a command APDU, sent as they are;
 *   op odd:  finish the last successful INITIALIZE with a correct MAC
 *            (the bytes give date, time, terminal seq, new limit), so the
 *            fuzzer reaches completed loads, purchases, unloads, updates;
 *            with bit 7 set instead: GET CHALLENGE and APPLICATION UNBLOCK
 *            with the DAMK's MAC, XORed with the bytes; with bit 6 set
 *            (and not 7): GET CHALLENGE and the RELOAD PIN script (PIN
 *            123456, MAC under the DRPK, line protection under the DAMK),
 *            its 8 MAC bytes XORed with the bytes.
 * Oracles, after every step: a command that is not a completed transaction
 * changes no purse state (balance, counters, limit, log, proof) except a
 * VERIFY's try counter; a completed transaction moves the balance by its
 * amount and its counter by one; the balance never passes the ceiling.
 * The block (docs/purse.md "Blocking"): a blocked purse completes nothing;
 * a wrong issuer MAC2 (9302 on CREDIT, unload DEBIT, UPDATE) spends one MAC
 * try, a right one restores them all; APPLICATION UNBLOCK opens a purse
 * only with the right MAC, and a purse blocked for good stays blocked.
 * The PIN (docs/purse.md "PIN"): RELOAD PIN succeeds only with both MACs
 * right and then restores the tries; a CHANGE PIN with a wrong old PIN
 * spends exactly one try, a malformed one none.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "applets/purse.h"
#include "vc_card.h"
#include "vc_store.h"
#include "wk_log.h"
#include "wk_purse_crypto.h"
#include "wk_vpcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const vc_applet vc_applet_purse;

/* test keys, index 1 each; ED+EP, overdraft 0x1000, ceiling 0x100000 */
static const uint8_t k_dlk[16] = { 0x37, 0x45, 0x98, 0xB5, 0xC0, 0xB0, 0xEA,
    0xE1, 0xE1, 0xD0, 0x66, 0x09, 0xAC, 0x5B, 0xB3, 0x69 };
static const uint8_t k_dpk[16] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
    0x88, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 };
static const uint8_t k_dtk[16] = { 0xCA, 0xA6, 0x02, 0x52, 0x90, 0x11, 0x4B,
    0xFC, 0xC3, 0xC9, 0x04, 0x3F, 0x70, 0xF7, 0xA0, 0x7A };
static const uint8_t k_dulk[16] = { 0x0F, 0x1E, 0x2D, 0x3C, 0x4B, 0x5A, 0x69,
    0x78, 0x87, 0x96, 0xA5, 0xB4, 0xC3, 0xD2, 0xE1, 0xF0 };
static const uint8_t k_duk[16] = { 0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96,
    0x87, 0x78, 0x69, 0x5A, 0x4B, 0x3C, 0x2D, 0x1E, 0x0F };
static const uint8_t k_damk[16] = { 0x64, 0x74, 0x21, 0x5E, 0xF5, 0x49, 0x70,
    0x78, 0x31, 0xBB, 0x8D, 0xB9, 0x89, 0x5F, 0xD4, 0x8A };
static const uint8_t k_drpk[16] = { 0xF2, 0x8E, 0x92, 0x29, 0x2D, 0xCB, 0x63,
    0xF1, 0x1E, 0xA7, 0xF5, 0x77, 0x6A, 0x71, 0x22, 0xB8 };
#define PIN_TRIES 15

static const char profile[] =
    "{ \"format\": \"walletkey-purse-perso/1\","
    "  \"issuer_id\": \"0102030405060708\", \"application_type\": \"ed+ep\","
    "  \"serial\": \"00012345678901234567\", \"start_date\": \"20260101\","
    "  \"expiry_date\": \"20301231\", \"pin\": \"123456\", \"pin_tries\": 15,"
    "  \"balance_ceiling\": 1048576, \"overdraft_limit\": 4096,"
    "  \"keys\": ["
    "   { \"purpose\": \"dlk\", \"index\": 1, \"version\": 1,"
    "     \"algorithm\": \"sm4\","
    "     \"key\": \"374598B5C0B0EAE1E1D06609AC5BB369\" },"
    "   { \"purpose\": \"dpk\", \"index\": 1, \"version\": 1,"
    "     \"key\": \"11223344556677888877665544332211\" },"
    "   { \"purpose\": \"dtk\", \"index\": 1, \"version\": 1,"
    "     \"algorithm\": \"sm4\","
    "     \"key\": \"CAA6025290114BFCC3C9043F70F7A07A\" },"
    "   { \"purpose\": \"dulk\", \"index\": 1, \"version\": 1,"
    "     \"algorithm\": \"sm4\","
    "     \"key\": \"0F1E2D3C4B5A69788796A5B4C3D2E1F0\" },"
    "   { \"purpose\": \"duk\", \"index\": 1, \"version\": 1,"
    "     \"key\": \"F0E1D2C3B4A5968778695A4B3C2D1E0F\" },"
    "   { \"purpose\": \"damk\", \"index\": 2, \"version\": 1,"
    "     \"algorithm\": \"sm4\","
    "     \"key\": \"6474215EF549707831BB8DB9895FD48A\" },"
    "   { \"purpose\": \"drpk\", \"index\": 3, \"version\": 1,"
    "     \"key\": \"F28E92292DCB63F11EA7F5776A7122B8\" } ] }";

static vc_store *st;
static vc_card *card;
static bool pin_changed;	/* a CHANGE PIN went through: set it back */
static uint8_t resp[WK_VPCD_MAX_PAYLOAD];
static char dir[256];

/* the last INITIALIZE that answered 9000 */
static struct {
	bool valid;
	uint8_t p1, p2;
	uint8_t data[11];	/* keyIdx amount termID, or keyIdx termID */
	uint8_t resp[19];
} last_init;

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
	    "card.db-shm", "walletkey-seal.key", "perso.json" };
	char p[320];

	vc_card_free(&card);
	vc_store_free(&st);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%.256s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void
start(void)
{
	static const vc_applet *const applets[] = { &vc_applet_purse };
	vc_card_opts o = { .init = true, .applets = applets, .n_applets = 1 };
	const char *tmp = getenv("TMPDIR");
	char path[320], perso[320];
	FILE *f;

	if (sodium_init() < 0)
		abort();
	snprintf(dir, sizeof(dir), "%.200s/fuzz_purse.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/card.db", dir);
	snprintf(perso, sizeof(perso), "%s/perso.json", dir);
	if ((f = fopen(perso, "w")) == NULL || fputs(profile, f) < 0 ||
	    fclose(f) != 0)
		abort();
	o.perso_path = perso;
	if (vc_store_create(path, NULL, &st) != VC_STORE_OK ||
	    vc_card_new(st, &o, &card) != VC_CARD_OK)
		abort();
	wk_log_set_sink(null_sink, NULL);
	wk_log_set(WK_LOG_ALL);
	atexit(cleanup);
}

static uint16_t
send(const uint8_t *apdu, size_t len, size_t *n)
{
	if (vc_card_apdu(card, apdu, len, resp, sizeof(resp), n) != VC_CARD_OK ||
	    *n < 2)
		__builtin_trap();
	return (uint16_t)((resp[*n - 2] << 8) | resp[*n - 1]);
}

static void
snapshot(purse_state *s)
{
	if (purse_state_get(card, s) != VC_STORE_OK)
		__builtin_trap();
}

static uint32_t
get_be(const uint8_t *p, size_t n)
{
	uint32_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * builds the completion of last_init with correct MACs; returns its length
 * and the expected balance change (sign in *debit)
 */
static size_t
completion(const uint8_t *in, size_t inlen, uint8_t *apdu, uint32_t *amount,
    bool *debit)
{
	uint8_t p[14], mac[4];
	wk_purse_skey sk;
	const uint8_t *tid = last_init.data + 5;
	uint16_t seq = (uint16_t)get_be(last_init.resp + 4, 2);
	uint8_t type;
	size_t n = 0;

	memset(p, 0, sizeof(p));
	memcpy(p, in, inlen < sizeof(p) ? inlen : sizeof(p));
	*amount = get_be(last_init.data + 1, 4);
	*debit = true;
	switch (last_init.p1) {
	case 0x00:		/* load: date time MAC2 */
		type = last_init.p2;
		*debit = false;
		/* every key with the algorithm INITIALIZE answered (the
		 * profile mixes 3DES and SM4) */
		if (wk_purse_session_key_online(last_init.resp[7], k_dlk,
		    last_init.resp + 8, seq, &sk) != 0 ||
		    wk_purse_load_mac2(&sk, *amount, type, tid, p,
		    p + 4, mac) != 0)
			__builtin_trap();
		memcpy(apdu, "\x80\x52\x00\x00\x0B", 5);
		memcpy(apdu + 5, p, 7);
		memcpy(apdu + 12, mac, 4);
		n = 16;
		break;
	case 0x01:
	case 0x02:		/* purchase, cash: termSeq date time MAC1 */
		type = last_init.p1 == 0x02 ? 0x04 :
		    (last_init.p2 == 0x01 ? 0x05 : 0x06);
		if (wk_purse_session_key_purchase(last_init.resp[10], k_dpk,
		    last_init.resp + 11, seq, p, &sk) != 0 ||
		    wk_purse_purchase_mac1(&sk, *amount, type, tid,
		    p + 4, p + 8, mac) != 0)
			__builtin_trap();
		memcpy(apdu, "\x80\x54\x01\x00\x0F", 5);
		memcpy(apdu + 5, p, 11);
		memcpy(apdu + 16, mac, 4);
		n = 20;
		break;
	case 0x05:		/* unload: date time MAC2 */
		if (wk_purse_session_key_online(last_init.resp[7], k_dulk,
		    last_init.resp + 8, seq, &sk) != 0 ||
		    wk_purse_unload_mac2(&sk, *amount, tid, p, p + 4,
		    mac) != 0)
			__builtin_trap();
		memcpy(apdu, "\x80\x54\x03\x00\x0B", 5);
		memcpy(apdu + 5, p, 7);
		memcpy(apdu + 12, mac, 4);
		n = 16;
		break;
	case 0x04:		/* update: newLimit date time MAC2 */
		tid = last_init.data + 1;
		*amount = get_be(p, 3);
		if (wk_purse_session_key_online(last_init.resp[10], k_duk,
		    last_init.resp + 11, seq, &sk) != 0 ||
		    wk_purse_update_mac2(&sk, *amount, tid, p + 3,
		    p + 7, mac) != 0)
			__builtin_trap();
		memcpy(apdu, "\x80\x58\x00\x00\x0E", 5);
		memcpy(apdu + 5, p, 10);
		memcpy(apdu + 15, mac, 4);
		n = 19;
		break;
	default:
		break;
	}
	(void)k_dtk;
	return n;
}

/* the MAC and unblock tries (defaults: a card personalised before them) */
static void
tries(uint64_t *mac, uint64_t *unblock)
{
	int rc;

	if ((rc = vc_store_get_u64(st, PURSE_APPLET, "mac.tries", mac)) ==
	    VC_STORE_NOT_FOUND)
		*mac = PURSE_MAC_TRIES_DEFAULT;
	else if (rc != VC_STORE_OK)
		__builtin_trap();
	if ((rc = vc_store_get_u64(st, PURSE_APPLET, "unblock.tries",
	    unblock)) == VC_STORE_NOT_FOUND)
		*unblock = PURSE_UNBLOCK_TRIES;
	else if (rc != VC_STORE_OK)
		__builtin_trap();
	if (*mac > PURSE_MAC_TRIES_DEFAULT || *unblock > PURSE_UNBLOCK_TRIES)
		__builtin_trap();
}

/* GET CHALLENGE, then APPLICATION UNBLOCK with the right MAC XORed with x;
 * *right tells whether the MAC sent was the right one */
static uint16_t
unblock(const uint8_t *x, size_t xlen, bool *right)
{
	uint8_t apdu[9] = { 0x84, 0x18, 0x00, 0x00, 0x04 }, chal[4];
	size_t n;
	uint16_t sw;

	sw = send((const uint8_t *)"\x00\x84\x00\x00\x04", 5, &n);
	if (sw != 0x9000) {
		*right = false;
		return sw;
	}
	if (n != 6)
		__builtin_trap();
	memcpy(chal, resp, 4);
	if (wk_purse_unblock_mac(WK_PURSE_ALG_SM4, k_damk, chal, apdu + 5) != 0)
		__builtin_trap();
	*right = true;
	for (size_t i = 0; i < xlen && i < 4; i++) {
		apdu[5 + i] ^= x[i];
		*right = *right && x[i] == 0;
	}
	return send(apdu, sizeof(apdu), &n);
}

/* GET CHALLENGE, then RELOAD PIN for 123456 with both MACs XORed with x */
static uint16_t
reload(const uint8_t *x, size_t xlen, bool *right)
{
	static const uint8_t pin[3] = { 0x12, 0x34, 0x56 };
	uint8_t apdu[5 + WK_PURSE_RELOAD_DATA_MAX] = { 0x84, 0x5E, 0x00, 0x00 };
	size_t n, len = 0;
	uint16_t sw;

	sw = send((const uint8_t *)"\x00\x84\x00\x00\x04", 5, &n);
	if (sw != 0x9000) {
		*right = false;
		return sw;
	}
	if (n != 6 || wk_purse_reload_pin_script(WK_PURSE_ALG_SM4, k_damk,
	    WK_PURSE_ALG_3DES, k_drpk, resp, pin,
	    sizeof(pin), apdu + 5, &len) != 0 || len != 11)
		__builtin_trap();
	apdu[4] = (uint8_t)len;
	*right = true;
	for (size_t i = 0; i < xlen && i < 8; i++) {
		apdu[5 + 3 + i] ^= x[i];
		*right = *right && x[i] == 0;
	}
	return send(apdu, 5 + len, &n);
}

static uint64_t
pin_tries(void)
{
	uint64_t v;

	if (vc_store_get_u64(st, PURSE_APPLET, "pin.tries", &v) != VC_STORE_OK)
		__builtin_trap();
	return v;
}

static bool
same_state(const purse_state *a, const purse_state *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* the oracle of a completed transaction */
static void
check_completed(const purse_state *before, const purse_state *after,
    uint32_t amount, bool debit)
{
	int purse = last_init.p2 == 0x01 ? PURSE_ED : PURSE_EP;
	const purse_wallet *b = &before->w[purse], *a = &after->w[purse];
	bool offline = last_init.p1 == 0x01 || last_init.p1 == 0x02;

	if (last_init.p1 == 0x04) {
		if (after->limit != amount || (uint64_t)a->balance + before->limit !=
		    (uint64_t)b->balance + amount)
			__builtin_trap();
	} else if (debit ? a->balance != b->balance - amount :
	    a->balance != b->balance + amount) {
		__builtin_trap();
	}
	if (offline ? (a->offline_seq != b->offline_seq + 1 ||
	    a->online_seq != b->online_seq) :
	    (a->online_seq != b->online_seq + 1 ||
	    a->offline_seq != b->offline_seq))
		__builtin_trap();
	if (!a->proof.valid || memcmp(&before->w[1 - purse], &after->w[1 - purse],
	    sizeof(purse_wallet)) != 0)
		__builtin_trap();
	if (last_init.p1 == 0x00 && a->balance > after->ceiling)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	purse_state before, after;
	wk_apdu a;
	uint8_t apdu[32];
	const uint8_t *cmd;
	size_t at = 0, len, n, clen;
	uint32_t amount = 0;
	uint64_t mac_before, mac_after, unblock_before, unblock_after;
	uint64_t pin_before, pin_after;
	bool raw_unblock;
	uint16_t sw;
	int steps = 0;
	bool debit = false, complete;

	if (card == NULL)
		start();
	/* a blocked PIN or purse would hide every path behind them from later
	 * inputs */
	if (vc_store_put_u64(st, PURSE_APPLET, "pin.tries", 15) != VC_STORE_OK ||
	    vc_store_put_u64(st, PURSE_APPLET, "mac.tries",
	    PURSE_MAC_TRIES_DEFAULT) != VC_STORE_OK ||
	    vc_store_put_u64(st, PURSE_APPLET, "unblock.tries",
	    PURSE_UNBLOCK_TRIES) != VC_STORE_OK)
		__builtin_trap();
	if (pin_changed) {
		if (purse_pin_set(card, "123456", 6) != VC_STORE_OK)
			__builtin_trap();
		pin_changed = false;
	}
	vc_card_control(card, WK_VPCD_RESET, NULL, 0, &n);
	last_init.valid = false;
	/* most inputs start from the ADF */
	send((const uint8_t *)"\x00\xA4\x00\x0C\x02\x10\x01", 7, &n);
	while (size - at >= 3 && steps++ < 48) {
		uint8_t op = data[at];

		len = get_be(data + at + 1, 2);
		at += 3;
		if (len > size - at)
			len = size - at;
		tries(&mac_before, &unblock_before);
		pin_before = pin_tries();
		if ((op & 0xC1) == 0x41) {
			bool right;

			snapshot(&before);
			sw = reload(data + at, len, &right);
			at += len;
			snapshot(&after);
			tries(&mac_after, &unblock_after);
			pin_after = pin_tries();
			/* the PIN's script moves nothing else */
			if (!same_state(&before, &after) || mac_after != mac_before ||
			    unblock_after != unblock_before)
				__builtin_trap();
			if (sw == 0x9000 && (!right || unblock_before == 0 ||
			    pin_after != PIN_TRIES))
				__builtin_trap();
			if (sw != 0x9000 && pin_after != pin_before)
				__builtin_trap();
			if (right && unblock_before != 0 && sw != 0x9000)
				__builtin_trap();
			last_init.valid = false;
			continue;
		}
		if ((op & 0x81) == 0x81) {
			bool right;

			snapshot(&before);
			sw = unblock(data + at, len, &right);
			at += len;
			snapshot(&after);
			tries(&mac_after, &unblock_after);
			if (!same_state(&before, &after))
				__builtin_trap();
			/* blocked for good stays so; else only the right MAC opens */
			if (unblock_before == 0 ? (sw == 0x9000 || unblock_after != 0) :
			    (sw == 0x9000) != right)
				__builtin_trap();
			if (sw == 0x9000 && (mac_after != PURSE_MAC_TRIES_DEFAULT ||
			    unblock_after != PURSE_UNBLOCK_TRIES))
				__builtin_trap();
			/* a wrong MAC spends an unblock try only while blocked */
			if (sw == 0x6988 && unblock_after != unblock_before -
			    (mac_before == 0 ? 1 : 0))
				__builtin_trap();
			last_init.valid = false;
			continue;
		}
		complete = (op & 1) != 0;
		if (complete) {
			if (!last_init.valid) {
				at += len;
				continue;
			}
			clen = completion(data + at, len, apdu, &amount, &debit);
			cmd = apdu;
		} else {
			cmd = data + at;
			clen = len;
		}
		at += len;
		snapshot(&before);
		sw = send(cmd, clen, &n);
		snapshot(&after);
		if (getenv("FUZZ_PURSE_TRACE") != NULL)
			fprintf(stderr, "%s %04X\n", complete ? "done" : "apdu", sw);

		tries(&mac_after, &unblock_after);
		pin_after = pin_tries();
		/* CHANGE PIN: a wrong old PIN spends exactly one try, durable;
		 * a right one restores them; anything else spends none */
		if (!complete && wk_apdu_parse(&a, cmd, clen) == 0 && a.ins == 0x5E) {
			if ((sw & 0xFFF0) == 0x63C0 ? (pin_after != pin_before - 1 ||
			    (sw & 0x0F) != (pin_after & 0x0F)) : sw == 0x9000 ?
			    pin_after != PIN_TRIES : pin_after != pin_before)
				__builtin_trap();
			if (sw == 0x9000)
				pin_changed = true;
		}
		raw_unblock = !complete && wk_apdu_parse(&a, cmd, clen) == 0 &&
		    a.cla == 0x84 && a.ins == 0x18;
		/* a blocked purse completes nothing, and stays blocked but for
		 * APPLICATION UNBLOCK with the right MAC, which opens it whole */
		if (mac_before == 0 && (sw == 0x9000 && complete))
			__builtin_trap();
		if (raw_unblock && sw == 0x9000) {
			if (unblock_before == 0 ||
			    mac_after != PURSE_MAC_TRIES_DEFAULT ||
			    unblock_after != PURSE_UNBLOCK_TRIES)
				__builtin_trap();
			goto next;
		}
		if (mac_before == 0 && mac_after != 0)
			__builtin_trap();
		/* a wrong script spends an unblock try only while blocked */
		if (raw_unblock && sw == 0x6988 ? unblock_after != unblock_before -
		    (mac_before == 0 ? 1 : 0) : unblock_after != unblock_before)
			__builtin_trap();
		/* an issuer MAC2: a wrong one spends exactly one try, a right
		 * one restores them; nothing else touches them */
		if (sw == 0x9302 && complete && last_init.p1 != 0x01 &&
		    last_init.p1 != 0x02) {
			if (mac_after != mac_before - 1)
				__builtin_trap();
		} else if (complete && sw == 0x9000 && last_init.p1 != 0x01 &&
		    last_init.p1 != 0x02) {
			if (mac_after != PURSE_MAC_TRIES_DEFAULT)
				__builtin_trap();
		} else if (sw == 0x9302 && !complete &&
		    wk_apdu_parse(&a, cmd, clen) == 0 && (a.ins == 0x52 ||
		    a.ins == 0x58 || (a.ins == 0x54 && a.p1 == 0x03))) {
			/* a raw CREDIT, unload DEBIT or UPDATE with a wrong MAC */
			if (mac_after != mac_before - 1)
				__builtin_trap();
		} else if (mac_after != mac_before) {
			__builtin_trap();
		}
next:
		if (complete && sw == 0x9000) {
			check_completed(&before, &after, amount, debit);
		} else if (!same_state(&before, &after)) {
			/* only a completion may move money; a VERIFY only its
			 * counter, which is not in the state */
			__builtin_trap();
		}
		if (complete) {
			last_init.valid = false;
		} else if (sw == 0x9000 && wk_apdu_parse(&a, cmd, clen) == 0 &&
		    a.cla == 0x80 && a.ins == 0x50 && a.lc >= 7 &&
		    a.lc <= sizeof(last_init.data) &&
		    n - 2 <= sizeof(last_init.resp)) {
			last_init.valid = true;
			last_init.p1 = a.p1;
			last_init.p2 = a.p2;
			memset(last_init.data, 0, sizeof(last_init.data));
			memcpy(last_init.data, a.data, a.lc);
			memcpy(last_init.resp, resp, n - 2);
		} else {
			last_init.valid = false;
		}
	}
	return 0;
}
