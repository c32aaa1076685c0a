/*
 * the purse applet (vcard/applets/purse*.c) through the card runtime: every
 * command and every status word of pboc-purse.md section 6 that the card
 * gives, the section 10 vectors replayed through the card with its random
 * forced, persistence, and a kill -9 loop over financial commands.
 * The terminal's MACs come from wk_purse_crypto with the profile's keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <sodium.h>

#include "applets/purse.h"
#include "vc_card.h"
#include "vc_perso.h"
#include "vc_store.h"
#include "wk_hex.h"
#include "wk_purse_crypto.h"
#include "wk_vpcd.h"

extern const vc_applet vc_applet_purse;

static const vc_applet *const applets[] = { &vc_applet_purse };

/* ---- forced card randoms: the vectors' randoms, other bytes real ---- */

static uint8_t forced[4];
static bool have_forced;

static const char *
fake_name(void)
{
	return "test_purse";
}

static uint32_t
fake_random(void)
{
	return randombytes_sysrandom_implementation.random();
}

static void
fake_buf(void *const buf, const size_t size)
{
	if (have_forced && size == sizeof(forced)) {
		memcpy(buf, forced, sizeof(forced));
		have_forced = false;
		return;
	}
	randombytes_sysrandom_implementation.buf(buf, size);
}

static randombytes_implementation fake_rng = {
	.implementation_name = fake_name,
	.random = fake_random,
	.buf = fake_buf,
};

static void
force_random(const char *hex)
{
	assert_int_equal(wk_hex_decode(hex, forced, 4), 4);
	have_forced = true;
}

/* ---- profiles ---- */

#define V1_DLK "374598B5C0B0EAE1E1D06609AC5BB369"
#define V1_DTK "CAA6025290114BFCC3C9043F70F7A07A"
#define V2_DPK "11223344556677888877665544332211"
#define V2_DTK "00112233445566778899AABBCCDDEEFF"
#define T_DULK "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
#define T_DUK "F0E1D2C3B4A5968778695A4B3C2D1E0F"

/* %s: application type, %u: overdraft, then per key its algorithm (%s)
 * and for the DPK and the DTK the key (%s) */
static const char profile_fmt[] =
    "{ \"format\": \"walletkey-purse-perso/1\",\n"
    "  \"issuer_id\": \"0102030405060708\",\n"
    "  \"application_type\": \"%s\", \"application_version\": 2,\n"
    "  \"serial\": \"00012345678901234567\",\n"
    "  \"start_date\": \"20260101\", \"expiry_date\": \"20301231\",\n"
    "  \"issuer_fci\": \"ABCD\",\n"
    "  \"cardholder\": { \"card_type\": 1, \"staff\": 0, \"name\": \"LI LEI\",\n"
    "    \"id_number\": \"1101011990010112\", \"id_type\": 0 },\n"
    "  \"pin\": \"123456\", \"pin_tries\": 3,\n"
    "  \"balance_ceiling\": 100000, \"overdraft_limit\": %u,\n"
    "  \"log_capacity\": 10, \"mac_tries\": 15,\n"
    "  \"keys\": [\n"
    "   { \"purpose\": \"dlk\", \"index\": 1, \"version\": 1, \"algorithm\": \"%s\",\n"
    "     \"key\": \"%s\" },\n"
    "   { \"purpose\": \"dpk\", \"index\": 1, \"version\": 1, \"algorithm\": \"%s\",\n"
    "     \"key\": \"%s\" },\n"
    "   { \"purpose\": \"dtk\", \"index\": 1, \"version\": 1, \"algorithm\": \"%s\",\n"
    "     \"key\": \"%s\" },\n"
    "   { \"purpose\": \"dulk\", \"index\": 1, \"version\": 3, \"algorithm\": \"%s\",\n"
    "     \"key\": \"" T_DULK "\" },\n"
    "   { \"purpose\": \"duk\", \"index\": 2, \"version\": 4, \"algorithm\": \"%s\",\n"
    "     \"key\": \"" T_DUK "\" } ] }\n";

/* the algorithm of each key of the next card (docs/purse.md "SM4"):
 * DLK, DPK, DTK, DULK, DUK */
enum { A_DLK, A_DPK, A_DTK, A_DULK, A_DUK, A_N };
static uint8_t next_alg[A_N];
static const char *next_dlk = V1_DLK;

typedef struct keys {
	uint8_t dlk[16], dpk[16], dtk[16], dulk[16], duk[16];
	uint8_t alg[A_N];
} keys;

typedef struct fixture {
	char dir[256];
	char path[300];
	char perso[300];
	vc_store *st;
	vc_card *card;
	keys k;
	uint8_t resp[WK_VPCD_MAX_PAYLOAD];
	size_t rlen;
} fixture;

static fixture fx;

#include "card_fixture.h"

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
card_up(const char *profile, bool init)
{
	vc_card_opts o = { .applets = applets, .n_applets = 1, .init = init };

	/* no profile: the demo keys, which these tests compute with */
	o.demo = profile == NULL;

	if (init && profile != NULL) {
		write_file(fx.perso, profile);
		o.perso_path = fx.perso;
	}
	card_store_up(&o, init);
}

static void
new_card(const char *type, const char *dpk, const char *dtk, unsigned od)
{
	char profile[4096];

#define AN(i) wk_purse_alg_name(next_alg[i])
	snprintf(profile, sizeof(profile), profile_fmt, type, od, AN(A_DLK),
	    next_dlk, AN(A_DPK), dpk, AN(A_DTK), dtk, AN(A_DULK), AN(A_DUK));
#undef AN
	memcpy(fx.k.alg, next_alg, sizeof(next_alg));
	hex(next_dlk, fx.k.dlk, 16);
	hex(dpk, fx.k.dpk, 16);
	hex(dtk, fx.k.dtk, 16);
	hex(T_DULK, fx.k.dulk, 16);
	hex(T_DUK, fx.k.duk, 16);
	card_up(profile, true);
}

static int
setup(void **unused)
{
	(void)unused;
	card_dir_new("test_purse");
	return 0;
}

/* the fixture's card replaced by a new one in a new folder (new_card) */
static void
another_card(const char *type, const char *dpk, const char *dtk, unsigned od)
{
	card_down();
	teardown(NULL);
	setup(NULL);
	new_card(type, dpk, dtk, od);
}

/* V1/V2 keys, both purses, overdraft 0x1000 */
static int
setup_card(void **unused)
{
	setup(unused);
	memset(next_alg, WK_PURSE_ALG_3DES, sizeof(next_alg));
	new_card("ed+ep", V2_DPK, V1_DTK, 0x1000);
	return 0;
}

/* the same keys as SM4 keys (docs/purse.md "SM4") */
static int
setup_card_sm4(void **unused)
{
	setup(unused);
	memset(next_alg, WK_PURSE_ALG_SM4, sizeof(next_alg));
	new_card("ed+ep", V2_DPK, V1_DTK, 0x1000);
	return 0;
}

/* each key its own algorithm: every MAC and TAC follows its key */
static int
setup_card_mixed(void **unused)
{
	static const uint8_t mixed[A_N] = { WK_PURSE_ALG_SM4, WK_PURSE_ALG_3DES,
	    WK_PURSE_ALG_SM4, WK_PURSE_ALG_3DES, WK_PURSE_ALG_SM4 };

	setup(unused);
	memcpy(next_alg, mixed, sizeof(next_alg));
	new_card("ed+ep", V2_DPK, V1_DTK, 0x1000);
	return 0;
}

/* ---- APDUs ---- */

static void
assert_resp(const char *want)
{
	uint8_t w[300];
	long n = wk_hex_decode(want, w, sizeof(w));

	assert_int_equal(fx.rlen, (size_t)n);
	assert_memory_equal(fx.resp, w, (size_t)n);
}

static void
tohex(const uint8_t *p, size_t n, char *out)
{
	wk_hex_encode(p, n, out);
}

static uint32_t
be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

#define SELECT_ADF "00 A4 04 00 08 F0 57 4B 50 55 52 53 45"
#define SELECT_PSE "00 A4 04 00 0E 31 50 41 59 2E 53 59 53 2E 44 44 46 30 31"
#define VERIFY_OK "00 20 00 00 03 12 34 56"
#define TID "000001000050"

static void
sel(void)
{
	assert_int_equal(xfer(SELECT_ADF), 0x9000);
}

static void
pin(void)
{
	assert_int_equal(xfer(VERIFY_OK), 0x9000);
}

static uint32_t
balance(int purse)
{
	if (purse == PURSE_ED)
		pin();
	assert_int_equal(xfer("80 5C 00 %02X 04", purse == PURSE_ED ? 1 : 2),
	    0x9000);
	assert_int_equal(fx.rlen, 4);
	return be32(fx.resp);
}

/* the terminal: INIT FOR LOAD (PIN verified here) + CREDIT; returns the SW
 * of CREDIT, checks MAC1 and the TAC when they come */
static uint16_t
load(int purse, uint32_t amount, bool bad_mac)
{
	uint8_t tid[6], rnd[4], mac[4], tac[4];
	uint8_t date[4] = { 0x20, 0x26, 0x11, 0x22 }, tim[3] = { 0x01, 0x02, 0x03 };
	uint8_t type = purse == PURSE_ED ? 0x01 : 0x02;
	wk_purse_skey sk, ktac;
	uint32_t old;
	uint16_t seq, sw;
	char mh[9], dh[9], th[7];

	hex(TID, tid, 6);
	pin();
	sw = xfer("80 50 00 %02X 0B 01 %08X " TID " 10", purse == PURSE_ED ? 1 : 2,
	    amount);
	if (sw != 0x9000)
		return sw;
	assert_int_equal(fx.rlen, 16);
	old = be32(fx.resp);
	seq = (uint16_t)((fx.resp[4] << 8) | fx.resp[5]);
	assert_int_equal(fx.resp[6], 1);	/* key version */
	/* the algorithm id (U5): the DLK's, 00 3DES or 04 SM4 */
	assert_int_equal(fx.resp[7], fx.k.alg[A_DLK]);
	memcpy(rnd, fx.resp + 8, 4);
	assert_int_equal(wk_purse_session_key_online(fx.k.alg[A_DLK], fx.k.dlk,
	    rnd, seq, &sk), 0);
	assert_int_equal(wk_purse_load_mac1(&sk, old, amount, type, tid, mac), 0);
	assert_memory_equal(mac, fx.resp + 12, 4);
	assert_int_equal(wk_purse_load_mac2(&sk, amount, type, tid, date, tim,
	    mac), 0);
	if (bad_mac)
		mac[3] ^= 0x01;
	tohex(mac, 4, mh);
	tohex(date, 4, dh);
	tohex(tim, 3, th);
	sw = xfer("80 52 00 00 0B %s %s %s 04", dh, th, mh);
	if (sw != 0x9000)
		return sw;
	assert_int_equal(fx.rlen, 4);
	assert_int_equal(wk_purse_tac_key(fx.k.alg[A_DTK], fx.k.dtk, &ktac), 0);
	assert_int_equal(wk_purse_load_tac(&ktac, old + amount, seq, amount, type,
	    tid, date, tim, tac), 0);
	assert_memory_equal(tac, fx.resp, 4);
	return sw;
}

/* INIT FOR PURCHASE (P1 01) or CASH WITHDRAW (P1 02) + DEBIT */
static uint16_t
debit(int purse, uint8_t p1, uint32_t amount, bool bad_mac)
{
	uint8_t tid[6], rnd[4], mac[4], tac[4], tseq[4];
	uint8_t date[4] = { 0x20, 0x26, 0x11, 0x22 }, tim[3] = { 0x13, 0x51, 0x00 };
	uint8_t type;
	wk_purse_skey sk, ktac;
	uint16_t seq, sw;
	char mh[9];

	type = p1 == 0x02 ? 0x04 : (purse == PURSE_ED ? 0x05 : 0x06);
	hex(TID, tid, 6);
	hex("0000ABCD", tseq, 4);
	sw = xfer("80 50 %02X %02X 0B 01 %08X " TID " 0F", p1,
	    purse == PURSE_ED ? 1 : 2, amount);
	if (sw != 0x9000)
		return sw;
	assert_int_equal(fx.rlen, 15);
	seq = (uint16_t)((fx.resp[4] << 8) | fx.resp[5]);
	assert_int_equal(fx.resp[10], fx.k.alg[A_DPK]);	/* the DPK's */
	memcpy(rnd, fx.resp + 11, 4);
	assert_int_equal(wk_purse_session_key_purchase(fx.k.alg[A_DPK], fx.k.dpk,
	    rnd, seq, tseq, &sk), 0);
	assert_int_equal(wk_purse_purchase_mac1(&sk, amount, type, tid, date, tim,
	    mac), 0);
	if (bad_mac)
		mac[0] ^= 0x80;
	tohex(mac, 4, mh);
	sw = xfer("80 54 01 00 0F 0000ABCD 20261122 135100 %s 08", mh);
	if (sw != 0x9000)
		return sw;
	assert_int_equal(fx.rlen, 8);
	assert_int_equal(wk_purse_tac_key(fx.k.alg[A_DTK], fx.k.dtk, &ktac), 0);
	assert_int_equal(wk_purse_purchase_tac(&ktac, amount, type, tid, tseq, date,
	    tim, tac), 0);
	assert_memory_equal(tac, fx.resp, 4);
	assert_int_equal(wk_purse_purchase_mac2(&sk, amount, mac), 0);
	assert_memory_equal(mac, fx.resp + 4, 4);
	return sw;
}

/* docs/purse.md "SM4" vectors S3 (load) and S4 (purchase) through the
 * card, its randoms forced: the card answers what the independent
 * implementation (tests/common/purse_sm4_vectors.py) computed */
static void
test_sm4_vectors_through_card(void **unused)
{
	card_down();
	teardown(unused);
	setup(unused);
	memset(next_alg, WK_PURSE_ALG_SM4, sizeof(next_alg));
	next_dlk = V2_DPK;
	new_card("ed+ep", V2_DPK, V2_DTK, 0);
	next_dlk = V1_DLK;
	sel();
	pin();
	force_random("11223344");
	assert_int_equal(xfer("80 50 00 02 0B 01 00001000 001122334455 10"),
	    0x9000);
	/* S3.2: algorithm id 04, MAC1 under the SM4 session key */
	assert_resp("00000000 0000 01 04 11223344 2AC07703");
	assert_int_equal(xfer("80 52 00 00 0B 20111221 214822 88D48B72 04"),
	    0x9000);
	assert_resp("A6FFDD20");	/* S3.5 */
	force_random("11223344");
	assert_int_equal(xfer("80 50 01 02 0B 01 00001000 001122334455 0F"),
	    0x9000);
	assert_resp("00001000 0000 000000 01 04 11223344");
	/* S4.2 in, S4.4 and S4.3 out (TAC first) */
	assert_int_equal(xfer("80 54 01 00 0F 00000001 20120229 135100 9454C578"
	    " 08"), 0x9000);
	assert_resp("30DF7104 1553DDE1");
	assert_int_equal(xfer("80 5C 00 02 04"), 0x9000);
	assert_resp("00000000");
	assert_int_equal(xfer("80 5A 00 06 02 0000 08"), 0x9000);
	assert_resp("1553DDE1 30DF7104");
	/* a MAC2 made as 3DES would make it (V3's) is refused, and costs a
	 * MAC try like any wrong one */
	pin();
	assert_int_equal(xfer("80 50 00 02 0B 01 00000010 001122334455 10"),
	    0x9000);
	assert_int_equal(xfer("80 52 00 00 0B 20111221 214822 3A845BF0 04"),
	    0x9302);
}

/* ---- selection and files ---- */

static void
test_select(void **unused)
{
	char want[200];

	(void)unused;
	/* 7.1: PSE FCI 6F 15 84 0E <name> A5 03 88 01 01 */
	assert_int_equal(xfer(SELECT_PSE), 0x9000);
	assert_resp("6F 15 84 0E 31 50 41 59 2E 53 59 53 2E 44 44 46 30 31 "
	    "A5 03 88 01 01");
	/* the directory record names the ADF */
	assert_int_equal(xfer("00 B2 01 0C 00"), 0x9000);
	assert_resp("70 1D 61 1B 4F 08 F0 57 4B 50 55 52 53 45 50 0F "
	    "57 41 4C 4C 45 54 4B 45 59 20 50 55 52 53 45");
	assert_int_equal(xfer("00 B2 02 0C 00"), 0x6A83);
	assert_int_equal(xfer("00 B2 01 14 00"), 0x6A82);
	assert_int_equal(xfer("80 5C 00 02 04"), 0x6D00);
	/* 7.2: 6F 84 A5 { 9F08, 9F0C = EF 0015 } */
	snprintf(want, sizeof(want), "6F 31 84 08 F0 57 4B 50 55 52 53 45 "
	    "A5 25 9F08 01 02 9F0C 1E 0102030405060708 03 02 "
	    "00012345678901234567 20260101 20301231 ABCD");
	sel();
	assert_resp(want);
	/* by FID 1001 from anywhere */
	assert_int_equal(xfer(SELECT_PSE), 0x9000);
	assert_int_equal(xfer("00 A4 00 00 02 10 01"), 0x9000);
	assert_resp(want);
	assert_int_equal(xfer("00 A4 00 0C 02 10 01"), 0x9000);
	assert_int_equal(fx.rlen, 0);
	/* an unknown DF keeps the ADF selected */
	assert_int_equal(xfer("00 A4 04 00 05 A0 00 00 00 99"), 0x6A82);
	assert_int_equal(xfer("80 5C 00 02 04"), 0x9000);
}

static void
test_read_binary(void **unused)
{
	(void)unused;
	sel();
	assert_int_equal(xfer("00 B0 95 00 1E"), 0x9000);
	assert_resp("0102030405060708 03 02 00012345678901234567 20260101 "
	    "20301231 ABCD");
	/* EF 0016, PBOC 1.0: type, staff, name 20, id 16, id type */
	assert_int_equal(xfer("00 B0 96 00 27"), 0x9000);
	assert_int_equal(fx.rlen, 39);
	assert_int_equal(fx.resp[0], 1);
	assert_memory_equal(fx.resp + 2, "LI LEI\0\0", 8);
	assert_memory_equal(fx.resp + 22, "1101011990010112", 16);
	/* offset and Le */
	assert_int_equal(xfer("00 B0 95 0A 04"), 0x9000);
	assert_resp("00012345");
	assert_int_equal(xfer("00 B0 95 1D 00"), 0x9000);
	assert_resp("CD");
	XFER_STEPS(
		{ "00 B0 95 1E 00", 0x6B00 },
		{ "00 B0 97 00 00", 0x6A82 },
		{ "00 B0 98 00 00", 0x6981 },
		{ "00 B0 B5 00 00", 0x6A86 },
		{ "00 B0 95 00 01 00 00", 0x6700 },
		/* by the current EF */
		{ "00 B0 00 00 00", 0x6986 },
		{ "00 A4 02 0C 02 00 15", 0x9000 },
		{ "00 B0 00 1C 00", 0x9000 }
	);
	assert_resp("ABCD");
	XFER_STEPS(
		{ "00 A4 02 0C 02 00 17", 0x6A82 },
		{ "00 A4 02 0C 01 00", 0x6700 },
		{ "00 A4 01 0C 02 00 15", 0x6A86 },
		{ "00 A4 00 0C 02 00 18", 0x9000 },
		{ "00 B0 00 00 00", 0x6981 },
		/* CLA 80 is not ISO */
		{ "80 B0 95 00 00", 0x6E00 }
	);
}

/* ---- PIN ---- */

static void
test_verify(void **unused)
{
	(void)unused;
	sel();
	XFER_STEPS(
		{ "00 20 00 00", 0x63C3 },
		{ "00 20 00 00 03 65 43 21", 0x63C2 },
		{ "00 20 00 00 03 65 43 21", 0x63C1 },
		/* right PIN with FF padding resets the counter */
		{ "00 20 00 00 04 12 34 56 FF", 0x9000 },
		{ "00 20 00 00", 0x9000 },
		{ "00 20 00 00 06 12 34 56 FF FF FF", 0x9000 },
		/* malformed: no try spent */
		{ "00 20 00 00 01 12", 0x6700 },
		{ "00 20 00 00 07 12 34 56 FF FF FF FF", 0x6700 },
		{ "00 20 00 00 03 12 3A 56", 0x6A80 },
		{ "00 20 00 00 03 12 F4 56", 0x6A80 },
		{ "00 20 00 00 02 12 FF", 0x6A80 },
		{ "00 20 00 01 03 12 34 56", 0x6A88 },
		{ "00 20 01 00 03 12 34 56", 0x6A86 },
		{ "80 20 00 00 03 12 34 56", 0x6E00 },
		/* an odd digit count ends with an F nibble: 12345 is not 123456 */
		{ "00 20 00 00 03 12 34 5F", 0x63C2 }
	);
	pin();
	/* three wrong: blocked, even for the right PIN */
	XFER_STEPS(
		{ "00 20 00 00 03 00 00 00", 0x63C2 },
		{ "00 20 00 00 03 00 00 00", 0x63C1 },
		{ "00 20 00 00 03 00 00 00", 0x63C0 },
		/* the failed VERIFY dropped the security state */
		{ "80 5C 00 01 04", 0x6982 },
		{ VERIFY_OK, 0x6983 },
		{ "00 20 00 00", 0x6983 }
	);
	/* blocked survives a restart */
	card_down();
	card_up(NULL, false);
	sel();
	assert_int_equal(xfer(VERIFY_OK), 0x6983);
}

/* the try is durable before the comparison: a restart between keeps it */
static void
test_verify_counter_persists(void **unused)
{
	(void)unused;
	sel();
	assert_int_equal(xfer("00 20 00 00 03 99 99 99"), 0x63C2);
	card_down();
	card_up(NULL, false);
	sel();
	assert_int_equal(xfer("00 20 00 00"), 0x63C2);
	/* deselect and reselect of another DF drops the PIN */
	pin();
	assert_int_equal(xfer(SELECT_PSE), 0x9000);
	sel();
	assert_int_equal(xfer("80 5C 00 01 04"), 0x6982);
	/* a re-SELECT of the ADF keeps it */
	pin();
	sel();
	assert_int_equal(xfer("80 5C 00 01 04"), 0x9000);
	/* reset drops it */
	assert_int_equal(vc_card_control(fx.card, WK_VPCD_RESET, fx.resp,
	    sizeof(fx.resp), &fx.rlen), VC_CARD_OK);
	sel();
	assert_int_equal(xfer("80 5C 00 01 04"), 0x6982);
}

/* ---- balance ---- */

static void
test_get_balance(void **unused)
{
	(void)unused;
	sel();
	/* V5 shapes */
	assert_int_equal(xfer("80 5C 00 02 04"), 0x9000);
	assert_resp("00000000");
	assert_int_equal(xfer("80 5C 00 01 04"), 0x6982);
	assert_int_equal(xfer("00 20 00 00 03 12 34 56"), 0x9000);
	/* ED = funds + overdraft limit */
	assert_int_equal(xfer("80 5C 00 01 04"), 0x9000);
	assert_resp("00001000");
	XFER_STEPS(
		{ "80 5C 00 03 04", 0x6A86 },
		{ "80 5C 01 02 04", 0x6A86 },
		{ "80 5C 00 02 01 00 04", 0x6700 },
		{ "00 5C 00 02 04", 0x6D00 },
		{ "84 5C 00 02 04", 0x6E00 },
		{ "80 FF 00 00", 0x6D00 }
	);
}

/* ---- V1 and V2 through the card ---- */

static void
test_v1_load_through_card(void **unused)
{
	(void)unused;
	another_card("ed+ep", V2_DPK, V1_DTK, 0);
	sel();
	pin();
	force_random("CDEF4F20");
	assert_int_equal(xfer("80 50 00 02 0B 01 00001C37 000001000050 10"),
	    0x9000);
	assert_resp("00000000 0000 01 00 CDEF4F20 06B1BEF5");
	assert_int_equal(xfer("80 52 00 00 0B 20140825 103100 0641DCD8 04"),
	    0x9000);
	assert_resp("ED0F8755");
	assert_int_equal(xfer("80 5C 00 02 04"), 0x9000);
	assert_resp("00001C37");
	/* the record, as the Huada card logged it (U1: seq after +1) */
	pin();
	assert_int_equal(xfer("00 B2 01 C4 17"), 0x9000);
	assert_resp("0001 000000 00001C37 02 000001000050 20140825 103100");
	/* proof: N or N+1 (U1); MAC field = host MAC2 (U2) */
	assert_int_equal(xfer("80 5A 00 02 02 0000 08"), 0x9000);
	assert_resp("0641DCD8 ED0F8755");
	assert_int_equal(xfer("80 5A 00 02 02 0001 08"), 0x9000);
	assert_resp("0641DCD8 ED0F8755");
	assert_int_equal(xfer("80 5A 00 02 02 0002 08"), 0x9406);
	assert_int_equal(xfer("80 5A 00 06 02 0000 08"), 0x9406);
	assert_int_equal(xfer("80 5A 00 01 02 0000 08"), 0x9406);
}

static void
test_v2_purchase_through_card(void **unused)
{
	(void)unused;
	another_card("ed+ep", V2_DPK, V2_DTK, 0);
	sel();
	assert_int_equal(load(PURSE_EP, 0x2000, false), 0x9000);
	/* EP purchase: no PIN */
	force_random("11223344");
	assert_int_equal(xfer("80 50 01 02 0B 01 00001000 001122334455 0F"),
	    0x9000);
	assert_resp("00002000 0000 000000 01 00 11223344");
	assert_int_equal(xfer("80 54 01 00 0F 00000001 20120229 135100 F15CAB75 "
	    "08"), 0x9000);
	/* 3.3: TAC first, then MAC2 */
	assert_resp("B3A0D49C 56988A13");
	assert_int_equal(balance(PURSE_EP), 0x1000);
	pin();
	assert_int_equal(xfer("00 B2 01 C4 17"), 0x9000);
	assert_resp("0001 000000 00001000 06 001122334455 20120229 135100");
	assert_int_equal(xfer("00 B2 02 C4 17"), 0x9000);
	assert_int_equal(fx.resp[9], 0x02);
	assert_int_equal(xfer("80 5A 00 06 02 0000 08"), 0x9000);
	assert_resp("56988A13 B3A0D49C");
	assert_int_equal(xfer("80 5A 00 06 02 0001 08"), 0x9000);
	/* the load proof is gone: the EP keeps its last transaction */
	assert_int_equal(xfer("80 5A 00 02 02 0000 08"), 0x9406);
}

/* ---- load ---- */

static void
test_load_errors(void **unused)
{
	(void)unused;
	sel();
	/* U6: a load without the PIN is 6985 */
	assert_int_equal(xfer("80 50 00 02 0B 01 00000100 " TID " 10"), 0x6985);
	pin();
	assert_int_equal(xfer("80 50 00 02 0B 02 00000100 " TID " 10"), 0x9403);
	assert_int_equal(xfer("80 50 00 02 0B 01 00000000 " TID " 10"), 0x6A80);
	assert_int_equal(xfer("80 50 00 02 0A 01 00000100 0000010000 10"),
	    0x6700);
	assert_int_equal(xfer("80 50 00 03 0B 01 00000100 " TID " 10"), 0x6A86);
	assert_int_equal(xfer("80 50 03 02 0B 01 00000100 " TID " 10"), 0x6A86);
	assert_int_equal(xfer("80 50 09 02 0B 01 00000100 " TID " 10"), 0x6A86);
	assert_int_equal(xfer("00 50 00 02 0B 01 00000100 " TID " 10"), 0x6D00);
	/* U4: past the ceiling (100000) is 6985 */
	assert_int_equal(xfer("80 50 00 02 0B 01 000186A1 " TID " 10"), 0x6985);
	assert_int_equal(load(PURSE_EP, 100000, false), 0x9000);
	assert_int_equal(load(PURSE_EP, 1, false), 0x6985);
	assert_int_equal(balance(PURSE_EP), 100000);
}

static void
test_credit_errors(void **unused)
{
	uint8_t before[16];

	(void)unused;
	sel();
	assert_int_equal(load(PURSE_EP, 500, false), 0x9000);
	/* a bad MAC2 changes nothing: same balance, same seq */
	assert_int_equal(load(PURSE_EP, 300, true), 0x9302);
	assert_int_equal(balance(PURSE_EP), 500);
	pin();
	assert_int_equal(xfer("80 50 00 02 0B 01 00000001 " TID " 10"), 0x9000);
	memcpy(before, fx.resp, 16);
	assert_int_equal(before[5], 1);
	/* after a failed CREDIT the session is gone */
	assert_int_equal(xfer("80 52 00 00 0B 20260101 120000 00000000 04"),
	    0x9302);
	assert_int_equal(xfer("80 52 00 00 0B 20260101 120000 00000000 04"),
	    0x6901);
	/* no INIT at all */
	assert_int_equal(xfer("80 52 00 00 0B 20260101 120000 00000000 04"),
	    0x6901);
	/* an intervening command drops the session */
	pin();
	assert_int_equal(xfer("80 50 00 02 0B 01 00000001 " TID " 10"), 0x9000);
	assert_int_equal(xfer("80 5C 00 02 04"), 0x9000);
	assert_int_equal(xfer("80 52 00 00 0B 20260101 120000 00000000 04"),
	    0x6901);
	/* so does a SELECT */
	assert_int_equal(xfer("80 50 00 02 0B 01 00000001 " TID " 10"), 0x9000);
	sel();
	assert_int_equal(xfer("80 52 00 00 0B 20260101 120000 00000000 04"),
	    0x6901);
	/* a purchase DEBIT after a load INIT is out of sequence */
	pin();
	assert_int_equal(xfer("80 50 00 02 0B 01 00000001 " TID " 10"), 0x9000);
	assert_int_equal(xfer("80 54 01 00 0F 00000001 20260101 120000 00000000"),
	    0x6901);
	assert_int_equal(xfer("80 52 00 01 0B 20260101 120000 00000000 04"),
	    0x6A86);
	assert_int_equal(xfer("80 52 00 00 0A 20260101 120000 000000 04"),
	    0x6700);
	assert_int_equal(balance(PURSE_EP), 500);
	/* the proof is still that of the one completed load */
	assert_int_equal(xfer("80 5A 00 02 02 0000 08"), 0x9000);
	assert_int_equal(xfer("80 5A 00 02 02 0001 08"), 0x9000);
	assert_int_equal(xfer("80 5A 00 02 02 0002 08"), 0x9406);
	/* the security state goes with a completed load */
	assert_int_equal(load(PURSE_EP, 1, false), 0x9000);
	assert_int_equal(xfer("80 50 00 02 0B 01 00000001 " TID " 10"), 0x6985);
}

/* ---- purchase ---- */

static void
test_purchase_errors(void **unused)
{
	(void)unused;
	sel();
	assert_int_equal(debit(PURSE_EP, 0x01, 1, false), 0x9401);
	assert_int_equal(load(PURSE_EP, 1000, false), 0x9000);
	assert_int_equal(debit(PURSE_EP, 0x01, 1001, false), 0x9401);
	assert_int_equal(xfer("80 50 01 02 0B 05 00000001 " TID " 0F"), 0x9403);
	assert_int_equal(xfer("80 50 01 02 0B 01 00000000 " TID " 0F"), 0x6A80);
	assert_int_equal(xfer("80 50 01 02 0C 01 00000001 " TID " 00 0F"),
	    0x6700);
	/* bad MAC1: 9302, nothing changes, the session is gone */
	assert_int_equal(debit(PURSE_EP, 0x01, 400, true), 0x9302);
	assert_int_equal(xfer("80 54 01 00 0F 0000ABCD 20261122 135100 00000000"),
	    0x6901);
	assert_int_equal(balance(PURSE_EP), 1000);
	assert_int_equal(xfer("80 50 01 02 0B 01 00000001 " TID " 0F"), 0x9000);
	assert_int_equal(fx.resp[5], 0);	/* offline seq not moved */
	assert_int_equal(xfer("80 54 02 00 0F 0000ABCD 20261122 135100 00000000"),
	    0x6A86);
	assert_int_equal(xfer("80 50 01 02 0B 01 00000001 " TID " 0F"), 0x9000);
	assert_int_equal(xfer("80 54 01 01 0F 0000ABCD 20261122 135100 00000000"),
	    0x6A86);
	assert_int_equal(xfer("80 50 01 02 0B 01 00000001 " TID " 0F"), 0x9000);
	assert_int_equal(xfer("80 54 01 00 0E 0000ABCD 20261122 135100 000000"),
	    0x6700);
	/* an unload DEBIT after a purchase INIT */
	assert_int_equal(xfer("80 50 01 02 0B 01 00000001 " TID " 0F"), 0x9000);
	assert_int_equal(xfer("80 54 03 00 0B 20261122 135100 00000000"), 0x6901);
	/* all of it */
	assert_int_equal(debit(PURSE_EP, 0x01, 1000, false), 0x9000);
	assert_int_equal(balance(PURSE_EP), 0);
	/* cash withdrawal is ED only */
	assert_int_equal(xfer("80 50 02 02 0B 01 00000001 " TID " 0F"), 0x6A86);
}

/* ---- ED: PIN, overdraft, cash, unload, update ---- */

static void
test_ed(void **unused)
{
	(void)unused;
	sel();
	/* ED purchase needs the PIN: 6985 (U6) */
	assert_int_equal(xfer("80 50 01 01 0B 01 00000001 " TID " 0F"), 0x6985);
	assert_int_equal(load(PURSE_ED, 0x500, false), 0x9000);
	/* the PIN went with the load */
	assert_int_equal(xfer("80 5C 00 01 04"), 0x6982);
	assert_int_equal(balance(PURSE_ED), 0x1500);
	/* into the overdraft: funds 0x500, limit 0x1000 */
	assert_int_equal(debit(PURSE_ED, 0x01, 0x1501, false), 0x9401);
	pin();
	assert_int_equal(debit(PURSE_ED, 0x01, 0x800, false), 0x9000);
	assert_int_equal(balance(PURSE_ED), 0xD00);
	pin();
	assert_int_equal(xfer("00 B2 01 C4 17"), 0x9000);
	assert_resp("0001 001000 00000800 05 " TID " 20261122 135100");
	/* cash withdrawal: type 04, offline seq */
	assert_int_equal(debit(PURSE_ED, 0x02, 0x100, false), 0x9000);
	assert_int_equal(balance(PURSE_ED), 0xC00);
	assert_int_equal(xfer("00 B2 01 C4 17"), 0x9000);
	assert_resp("0002 001000 00000100 04 " TID " 20261122 135100");
	assert_int_equal(xfer("80 5A 00 04 02 0001 08"), 0x9000);
	assert_int_equal(xfer("80 5A 00 05 02 0001 08"), 0x9406);
	/* EP purchase never touched the ED */
	assert_int_equal(debit(PURSE_EP, 0x01, 1, false), 0x9401);
}

static uint16_t
unload(uint32_t amount, bool bad_mac)
{
	uint8_t tid[6], rnd[4], mac[4];
	uint8_t date[4] = { 0x20, 0x26, 0x11, 0x23 }, tim[3] = { 0x09, 0x00, 0x00 };
	wk_purse_skey sk;
	uint32_t old;
	uint16_t seq, sw;
	char mh[9];

	hex(TID, tid, 6);
	pin();
	sw = xfer("80 50 05 01 0B 01 %08X " TID " 10", amount);
	if (sw != 0x9000)
		return sw;
	assert_int_equal(fx.rlen, 16);
	old = be32(fx.resp);
	seq = (uint16_t)((fx.resp[4] << 8) | fx.resp[5]);
	assert_int_equal(fx.resp[6], 3);
	assert_int_equal(fx.resp[7], fx.k.alg[A_DULK]);
	memcpy(rnd, fx.resp + 8, 4);
	assert_int_equal(wk_purse_session_key_online(fx.k.alg[A_DULK], fx.k.dulk,
	    rnd, seq, &sk), 0);
	assert_int_equal(wk_purse_unload_mac1(&sk, old, amount, tid, mac), 0);
	assert_memory_equal(mac, fx.resp + 12, 4);
	assert_int_equal(wk_purse_unload_mac2(&sk, amount, tid, date, tim, mac), 0);
	if (bad_mac)
		mac[1] ^= 0x10;
	tohex(mac, 4, mh);
	sw = xfer("80 54 03 00 0B 20261123 090000 %s 04", mh);
	if (sw != 0x9000)
		return sw;
	assert_int_equal(wk_purse_unload_mac3(&sk, old - amount, seq, amount, tid,
	    date, tim, mac), 0);
	assert_int_equal(fx.rlen, 4);
	assert_memory_equal(fx.resp, mac, 4);
	return sw;
}

static void
test_unload(void **unused)
{
	uint8_t tid[6], rnd[4], mac[4];
	uint8_t date[4] = { 0x20, 0x26, 0x11, 0x23 }, tim[3] = { 0x09, 0x00, 0x00 };
	wk_purse_skey sk;
	char mh[9];

	(void)unused;
	hex(TID, tid, 6);
	sel();
	assert_int_equal(load(PURSE_ED, 0x300, false), 0x9000);
	/* funds 0x300; the overdraft does not leave */
	assert_int_equal(xfer("80 50 05 01 0B 01 00000001 " TID " 10"), 0x6985);
	assert_int_equal(unload(0x301, false), 0x9401);
	pin();
	assert_int_equal(xfer("80 50 05 02 0B 01 00000001 " TID " 10"), 0x6A86);
	assert_int_equal(xfer("80 50 05 01 0B 07 00000001 " TID " 10"), 0x9403);
	assert_int_equal(unload(0x100, true), 0x9302);
	assert_int_equal(balance(PURSE_ED), 0x1300);
	assert_int_equal(xfer("80 54 03 00 0B 20261123 090000 00000000"), 0x6901);

	/* a good one, checking MAC3 */
	pin();
	assert_int_equal(xfer("80 50 05 01 0B 01 00000100 " TID " 10"), 0x9000);
	memcpy(rnd, fx.resp + 8, 4);
	assert_int_equal(fx.resp[5], 1);	/* online seq after one load */
	assert_int_equal(wk_purse_session_key_online(fx.k.alg[A_DULK], fx.k.dulk,
	    rnd, 1, &sk), 0);
	assert_int_equal(wk_purse_unload_mac2(&sk, 0x100, tid, date, tim, mac), 0);
	tohex(mac, 4, mh);
	assert_int_equal(xfer("80 54 03 00 0A 20261123 090000 %.6s", mh), 0x6700);
	pin();
	assert_int_equal(xfer("80 50 05 01 0B 01 00000100 " TID " 10"), 0x9000);
	memcpy(rnd, fx.resp + 8, 4);
	assert_int_equal(wk_purse_session_key_online(fx.k.alg[A_DULK], fx.k.dulk,
	    rnd, 1, &sk), 0);
	assert_int_equal(wk_purse_unload_mac2(&sk, 0x100, tid, date, tim, mac), 0);
	tohex(mac, 4, mh);
	assert_int_equal(xfer("80 54 03 00 0B 20261123 090000 %s 04", mh), 0x9000);
	assert_int_equal(fx.rlen, 4);
	{
		uint8_t mac3[4];

		assert_int_equal(wk_purse_unload_mac3(&sk, 0x1200, 1, 0x100, tid,
		    date, tim, mac3), 0);
		assert_memory_equal(fx.resp, mac3, 4);
		/* proof of an unload: host MAC2, card MAC3 */
		assert_int_equal(xfer("80 5A 00 03 02 0002 08"), 0x9000);
		assert_memory_equal(fx.resp, mac, 4);
		assert_memory_equal(fx.resp + 4, mac3, 4);
	}
	assert_int_equal(balance(PURSE_ED), 0x1200);
	assert_int_equal(xfer("00 B2 01 C4 17"), 0x9000);
	assert_resp("0002 001000 00000100 03 " TID " 20261123 090000");
}

/* INIT FOR UPDATE + UPDATE OVERDRAW LIMIT; returns the last SW */
static uint16_t
update(uint32_t new_limit, bool bad_mac)
{
	uint8_t tid[6], rnd[4], mac[4], tac[4];
	uint8_t date[4] = { 0x20, 0x26, 0x11, 0x24 }, tim[3] = { 0x10, 0x00, 0x00 };
	wk_purse_skey sk, ktac;
	uint32_t bal, lim, nb;
	uint16_t seq, sw;
	char mh[9];

	hex(TID, tid, 6);
	pin();
	sw = xfer("80 50 04 01 07 02 " TID " 13");
	if (sw != 0x9000)
		return sw;
	assert_int_equal(fx.rlen, 19);
	bal = be32(fx.resp);
	seq = (uint16_t)((fx.resp[4] << 8) | fx.resp[5]);
	lim = ((uint32_t)fx.resp[6] << 16) | ((uint32_t)fx.resp[7] << 8) |
	    fx.resp[8];
	assert_int_equal(fx.resp[9], 4);
	assert_int_equal(fx.resp[10], fx.k.alg[A_DUK]);
	memcpy(rnd, fx.resp + 11, 4);
	assert_int_equal(wk_purse_session_key_online(fx.k.alg[A_DUK], fx.k.duk,
	    rnd, seq, &sk), 0);
	assert_int_equal(wk_purse_update_mac1(&sk, bal, lim, tid, mac), 0);
	assert_memory_equal(mac, fx.resp + 15, 4);
	assert_int_equal(wk_purse_update_mac2(&sk, new_limit, tid, date, tim,
	    mac), 0);
	if (bad_mac)
		mac[2] ^= 0x04;
	tohex(mac, 4, mh);
	sw = xfer("80 58 00 00 0E %06X 20261124 100000 %s 04", new_limit, mh);
	if (sw != 0x9000)
		return sw;
	nb = bal - lim + new_limit;
	assert_int_equal(wk_purse_tac_key(fx.k.alg[A_DTK], fx.k.dtk, &ktac), 0);
	assert_int_equal(wk_purse_update_tac(&ktac, nb, seq, new_limit, tid, date,
	    tim, tac), 0);
	assert_memory_equal(fx.resp, tac, 4);
	return sw;
}

static void
test_update_limit(void **unused)
{
	(void)unused;
	sel();
	assert_int_equal(xfer("80 50 04 01 07 02 " TID " 13"), 0x6985);
	pin();
	assert_int_equal(xfer("80 50 04 01 07 01 " TID " 13"), 0x9403);
	assert_int_equal(xfer("80 50 04 01 0B 02 00000001 " TID " 13"), 0x6700);
	assert_int_equal(xfer("80 50 04 02 07 02 " TID " 13"), 0x6A86);
	assert_int_equal(update(0x2000, true), 0x9302);
	assert_int_equal(xfer("80 58 00 00 0E 002000 20261124 100000 00000000"),
	    0x6901);
	assert_int_equal(balance(PURSE_ED), 0x1000);
	assert_int_equal(update(0x2000, false), 0x9000);
	assert_int_equal(balance(PURSE_ED), 0x2000);
	assert_int_equal(xfer("00 B2 01 C4 17"), 0x9000);
	assert_resp("0001 002000 00000000 07 " TID " 20261124 100000");
	assert_int_equal(xfer("80 5A 00 07 02 0000 08"), 0x9000);
	/* spend into the overdraft, then a lower limit that would leave the
	 * card below zero is refused */
	pin();
	assert_int_equal(debit(PURSE_ED, 0x01, 0x1800, false), 0x9000);
	assert_int_equal(update(0x17FF, false), 0x9401);
	assert_int_equal(update(0x1800, false), 0x9000);
	assert_int_equal(balance(PURSE_ED), 0);
	assert_int_equal(update(0x0000, false), 0x9401);
	pin();
	assert_int_equal(xfer("80 58 00 01 0E 002000 20261124 100000 00000000"),
	    0x6A86);
	assert_int_equal(xfer("80 58 00 00 0D 002000 20261124 100000 000000"),
	    0x6700);
}

/* ---- records ---- */

static void
test_records(void **unused)
{
	(void)unused;
	sel();
	assert_int_equal(xfer("00 B2 01 C4 17"), 0x6982);
	pin();
	assert_int_equal(xfer("00 B2 01 C4 17"), 0x6A83);
	for (uint32_t i = 1; i <= 12; i++)
		assert_int_equal(load(PURSE_EP, i, false), 0x9000);
	pin();
	/* cyclic, 10 records, newest first */
	for (unsigned n = 1; n <= 10; n++) {
		assert_int_equal(xfer("00 B2 %02X C4 17", n), 0x9000);
		assert_int_equal(fx.rlen, 23);
		assert_int_equal(be32(fx.resp + 5), 13 - n);
		assert_int_equal((fx.resp[0] << 8) | fx.resp[1], 13 - n);
	}
	XFER_STEPS(
		{ "00 B2 0B C4 17", 0x6A83 },
		{ "00 B2 00 C4 17", 0x6A86 },
		{ "00 B2 01 C6 17", 0x6A86 },
		{ "00 B2 01 A4 17", 0x6A82 },
		{ "00 B2 01 AC 17", 0x6981 },
		{ "00 B2 01 C4 01 00 17", 0x6700 },
		/* P2 mode 5: record P1 and every older one */
		{ "00 B2 09 C5 00", 0x9000 }
	);
	assert_int_equal(fx.rlen, 46);
	assert_int_equal(be32(fx.resp + 5), 4);
	assert_int_equal(be32(fx.resp + 23 + 5), 3);
	/* by the current EF */
	assert_int_equal(xfer("00 A4 02 0C 02 00 18"), 0x9000);
	assert_int_equal(xfer("00 B2 01 04 17"), 0x9000);
	assert_int_equal(be32(fx.resp + 5), 12);
	assert_int_equal(xfer("00 A4 02 0C 02 00 15"), 0x9000);
	assert_int_equal(xfer("00 B2 01 04 17"), 0x6981);
	/* the records survive a restart */
	card_down();
	card_up(NULL, false);
	sel();
	pin();
	assert_int_equal(xfer("00 B2 01 C4 17"), 0x9000);
	assert_int_equal(be32(fx.resp + 5), 12);
	assert_int_equal(balance(PURSE_EP), 78);
}

/* ---- every error status word changes nothing ---- */

/* everything the purse keeps: state, log, PIN tries */
typedef struct snap {
	purse_state s;
	uint8_t log[PURSE_LOG_MAX][PURSE_REC_LEN];
	uint64_t tries;
} snap;

static void
take_snap(snap *sn)
{
	memset(sn, 0, sizeof(*sn));
	assert_int_equal(purse_state_get(fx.card, &sn->s), 0);
	for (unsigned n = 1; n <= sn->s.log_count; n++)
		assert_int_equal(purse_log_get(fx.card, &sn->s, n, sn->log[n - 1]),
		    0);
	assert_int_equal(vc_store_get_u64(vc_card_store(fx.card), PURSE_APPLET,
	    "pin.tries", &sn->tries), 0);
}

typedef struct err_case {
	const char *pre;	/* "" none, "P" VERIFY, "L"/"U" open a load or
				 * purchase INIT (after VERIFY), "D" open an
				 * unload INIT, "O" an update INIT */
	const char *apdu;
	uint16_t sw;
} err_case;

#define L_INIT "80 50 00 02 0B 01 00000010 " TID " 10"
#define P_INIT "80 50 01 02 0B 01 00000010 " TID " 0F"
#define D_INIT "80 50 05 01 0B 01 00000010 " TID " 10"
#define O_INIT "80 50 04 01 07 02 " TID " 13"

static const err_case err_cases[] = {
	{ "", "80 5C 00 01 04", 0x6982 },
	{ "", "00 B2 01 C4 17", 0x6982 },
	{ "", L_INIT, 0x6985 },
	{ "", "80 50 00 01 0B 01 00000010 " TID " 10", 0x6985 },
	{ "", "80 50 01 01 0B 01 00000010 " TID " 0F", 0x6985 },
	{ "", "80 50 02 01 0B 01 00000010 " TID " 0F", 0x6985 },
	{ "", D_INIT, 0x6985 },
	{ "", O_INIT, 0x6985 },
	{ "P", "80 50 00 02 0B 01 000186A0 " TID " 10", 0x6985 },
	{ "P", "80 50 00 02 0B 01 00000000 " TID " 10", 0x6A80 },
	{ "", "80 50 01 02 0B 01 00000000 " TID " 0F", 0x6A80 },
	{ "P", "80 50 00 02 0B 03 00000010 " TID " 10", 0x9403 },
	{ "", "80 50 01 02 0B 03 00000010 " TID " 0F", 0x9403 },
	{ "P", "80 50 02 01 0B 03 00000010 " TID " 0F", 0x9403 },
	{ "P", "80 50 05 01 0B 03 00000010 " TID " 10", 0x9403 },
	{ "P", "80 50 04 01 07 01 " TID " 13", 0x9403 },
	{ "", "80 50 01 02 0B 01 00010000 " TID " 0F", 0x9401 },
	{ "P", "80 50 01 01 0B 01 00010000 " TID " 0F", 0x9401 },
	{ "P", "80 50 05 01 0B 01 00001001 " TID " 10", 0x9401 },
	{ "", "80 50 00 02 0A 01 00000010 0000010000 10", 0x6700 },
	{ "", "80 50 07 02 0B 01 00000010 " TID " 10", 0x6A86 },
	{ "", "80 52 00 00 0B 20260101 120000 00000000 04", 0x6901 },
	{ "", "80 54 01 00 0F 00000001 20260101 120000 00000000 08", 0x6901 },
	{ "", "80 54 03 00 0B 20260101 120000 00000000 04", 0x6901 },
	{ "", "80 58 00 00 0E 002000 20260101 120000 00000000 04", 0x6901 },
	{ "L", "80 52 00 00 0B 20260101 120000 00000000 04", 0x9302 },
	{ "U", "80 54 01 00 0F 00000001 20260101 120000 00000000 08", 0x9302 },
	{ "D", "80 54 03 00 0B 20260101 120000 00000000 04", 0x9302 },
	{ "O", "80 58 00 00 0E 002000 20260101 120000 00000000 04", 0x9302 },
	{ "L", "80 54 01 00 0F 00000001 20260101 120000 00000000 08", 0x6901 },
	{ "U", "80 52 00 00 0B 20260101 120000 00000000 04", 0x6901 },
	{ "L", "80 52 00 00 0A 20260101 120000 000000 04", 0x6700 },
	{ "L", "80 52 01 00 0B 20260101 120000 00000000 04", 0x6A86 },
	{ "U", "80 54 02 00 0F 00000001 20260101 120000 00000000 08", 0x6A86 },
	{ "", "80 5A 00 06 02 0000 08", 0x9406 },
	{ "", "80 5A 00 0A 02 0000 08", 0x6A86 },
	{ "P", "00 B2 0B C4 17", 0x6A83 },
	{ "", "00 B0 95 20 00", 0x6B00 },
	{ "", "00 B0 99 00 00", 0x6A82 },
	{ "", "00 20 00 00 01 12", 0x6700 },
	{ "", "00 20 00 00 03 1A 34 56", 0x6A80 },
	{ "", "00 20 00 02 03 12 34 56", 0x6A88 },
	{ "", "80 20 00 00 03 12 34 56", 0x6E00 },
	{ "", "00 5C 00 02 04", 0x6D00 },
	{ "", "80 CA 00 00 00", 0x6D00 },
	/* APPLICATION UNBLOCK and its challenge (FMCOS 8.2) */
	{ "", "00 84 00 01 04", 0x6A86 },
	{ "", "00 84 00 00 08", 0x6700 },
	{ "", "80 84 00 00 04", 0x6E00 },
	{ "", "84 18 00 00 04 00000000", 0x6982 },
	{ "", "84 18 00 00 03 000000", 0x6700 },
	{ "", "84 18 00 01 04 00000000", 0x6A86 },
	{ "", "04 18 00 00 04 00000000", 0x6E00 },
	{ "", "80 18 00 00 04 00000000", 0x6D00 },
};

static void
test_errors_change_nothing(void **unused)
{
	snap before, after;

	(void)unused;
	sel();
	assert_int_equal(load(PURSE_EP, 0x1000, false), 0x9000);
	assert_int_equal(load(PURSE_ED, 0x0800, false), 0x9000);
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const err_case *c = &err_cases[i];
		uint16_t sw;

		sel();
		if (strchr(c->pre, 'P') != NULL || strchr(c->pre, 'L') != NULL ||
		    strchr(c->pre, 'D') != NULL || strchr(c->pre, 'O') != NULL)
			pin();
		if (strchr(c->pre, 'L') != NULL)
			assert_int_equal(xfer(L_INIT), 0x9000);
		if (strchr(c->pre, 'U') != NULL)
			assert_int_equal(xfer(P_INIT), 0x9000);
		if (strchr(c->pre, 'D') != NULL)
			assert_int_equal(xfer(D_INIT), 0x9000);
		if (strchr(c->pre, 'O') != NULL)
			assert_int_equal(xfer(O_INIT), 0x9000);
		take_snap(&before);
		sw = xfer("%s", c->apdu);
		take_snap(&after);
		if (sw != c->sw)
			fail_msg("case %zu (%s): SW %04X, want %04X", i, c->apdu, sw,
			    c->sw);
		if (memcmp(&before, &after, sizeof(before)) != 0)
			fail_msg("case %zu (%s): the purse changed", i, c->apdu);
		assert_int_equal(fx.rlen, 0);
		/* and the card still works */
		if (i % 8 == 0)
			assert_int_equal(balance(PURSE_EP), 0x1000);
		/* a wrong PIN is the one error that changes something */
		if (c->sw == 0x6983 || (c->sw & 0xFFF0) == 0x63C0)
			fail_msg("case %zu: not an error case", i);
	}
	/* a wrong PIN spends one try and nothing else */
	take_snap(&before);
	assert_int_equal(xfer("00 20 00 00 03 99 99 99"), 0x63C2);
	take_snap(&after);
	assert_int_equal(after.tries, before.tries - 1);
	after.tries = before.tries;
	assert_memory_equal(&before, &after, sizeof(before));
}

/* ---- proof ---- */

static void
test_prove_errors(void **unused)
{
	(void)unused;
	sel();
	XFER_STEPS(
		{ "80 5A 00 02 02 0000 08", 0x9406 },
		{ "80 5A 00 08 02 0000 08", 0x6A86 },
		{ "80 5A 00 09 02 0000 08", 0x6A86 },
		{ "80 5A 01 02 02 0000 08", 0x6A86 },
		{ "80 5A 00 02 03 000000 08", 0x6700 },
		{ "80 5A 00 02 08", 0x6700 }
	);
}

/* ---- counters at FFFF ---- */

static void
test_seq_limit(void **unused)
{
	purse_state s;

	(void)unused;
	sel();
	assert_int_equal(load(PURSE_EP, 100, false), 0x9000);
	assert_int_equal(purse_state_get(fx.card, &s), 0);
	s.w[PURSE_EP].online_seq = 0xFFFE;
	s.w[PURSE_EP].offline_seq = 0xFFFF;
	assert_int_equal(purse_state_put(fx.card, &s), 0);
	assert_int_equal(load(PURSE_EP, 100, false), 0x9000);
	assert_int_equal(load(PURSE_EP, 100, false), 0x9402);
	assert_int_equal(debit(PURSE_EP, 0x01, 1, false), 0x9402);
	assert_int_equal(balance(PURSE_EP), 200);
	/* the last load's proof answers to FFFE and FFFF */
	assert_int_equal(xfer("80 5A 00 02 02 FFFE 08"), 0x9000);
	assert_int_equal(xfer("80 5A 00 02 02 FFFF 08"), 0x9000);
	assert_int_equal(xfer("80 5A 00 02 02 0000 08"), 0x9406);
}

/* ---- an EP-only card ---- */

static void
test_ep_only(void **unused)
{
	(void)unused;
	another_card("ep", V2_DPK, V1_DTK, 0);
	sel();
	pin();
	assert_int_equal(xfer("80 5C 00 01 04"), 0x6A81);
	assert_int_equal(xfer("80 50 00 01 0B 01 00000100 " TID " 10"), 0x6A81);
	assert_int_equal(xfer("80 50 02 01 0B 01 00000100 " TID " 0F"), 0x6A81);
	assert_int_equal(xfer("80 50 04 01 07 02 " TID " 13"), 0x6A81);
	assert_int_equal(xfer("80 5A 00 01 02 0000 08"), 0x6A81);
	assert_int_equal(load(PURSE_EP, 100, false), 0x9000);
	assert_int_equal(xfer("00 B0 95 08 01"), 0x9000);
	assert_resp("02");
}

/* ---- the demo card: keys diversified from the documented masters ---- */

static void
test_demo_card(void **unused)
{
	static const char *const masters[] = {
		"574B2D44454D4F2D444C4B2D30303031",	/* dlk */
		"574B2D44454D4F2D44504B2D30303031",	/* dpk */
		"574B2D44454D4F2D44544B2D30303031",	/* dtk */
	};
	uint8_t mk[16], serial[10];
	uint8_t *dst[3];

	(void)unused;
	card_down();
	teardown(unused);
	setup(unused);
	card_up(NULL, true);
	sel();
	assert_int_equal(xfer("00 B0 95 00 1E"), 0x9000);
	assert_int_equal(fx.resp[8], 0x03);
	memcpy(serial, fx.resp + 10, 10);
	assert_int_equal(serial[0], 0);
	assert_int_equal(serial[1], 0);
	dst[0] = fx.k.dlk;
	dst[1] = fx.k.dpk;
	dst[2] = fx.k.dtk;
	for (int i = 0; i < 3; i++) {
		hex(masters[i], mk, 16);
		assert_int_equal(wk_purse_diversify(WK_PURSE_ALG_3DES, mk, serial, 10,
		    dst[i]), 0);
	}
	assert_int_equal(load(PURSE_EP, 5000, false), 0x9000);
	assert_int_equal(debit(PURSE_EP, 0x01, 1234, false), 0x9000);
	assert_int_equal(balance(PURSE_EP), 5000 - 1234);
	/* demo ceiling 1000000 fen */
	assert_int_equal(load(PURSE_EP, 1000000, false), 0x6985);
}

/* ---- secret range for --verbose ---- */

static void
test_secret_range(void **unused)
{
	uint8_t c[] = { 0x00, 0x20, 0x00, 0x00, 0x03, 0x12, 0x34, 0x56 };
	wk_apdu a;
	size_t from = 9, len = 9;

	(void)unused;
	assert_int_equal(wk_apdu_parse(&a, c, sizeof(c)), 0);
	vc_applet_purse.secret_range(&a, &from, &len);
	assert_int_equal(from, 0);
	assert_int_equal(len, 3);
	c[1] = 0xB0;
	assert_int_equal(wk_apdu_parse(&a, c, sizeof(c)), 0);
	vc_applet_purse.secret_range(&a, &from, &len);
	assert_int_equal(len, 0);
}

/* ---- kill -9 during loads and purchases ---- */

/*
 * a child loads 100 and spends 30 in a loop; it is killed at random
 * moments. After each kill the card must show balance = 100 * online seq -
 * 30 * offline seq, a newest record that is the last counted transaction,
 * and the proof of that same transaction.
 */
static void
crash_child(void)
{
	for (;;) {
		if (load(PURSE_EP, 100, false) != 0x9000)
			_exit(3);
		if (debit(PURSE_EP, 0x01, 30, false) != 0x9000)
			_exit(4);
	}
}

static void
test_crash_atomicity(void **unused)
{
	int rounds = 12;

	(void)unused;
	card_down();
	for (int r = 0; r < rounds; r++) {
		uint32_t bal, online, offline, rec_amount;
		uint16_t rec_seq;
		uint8_t rec_type;
		int status;
		pid_t pid;

		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			card_up(NULL, false);
			sel();
			crash_child();
		}
		usleep((useconds_t)(20000 + randombytes_uniform(150000)));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));

		card_up(NULL, false);
		sel();
		pin();
		assert_int_equal(xfer("80 50 00 02 0B 01 00000001 " TID " 10"),
		    0x9000);
		bal = be32(fx.resp);
		online = (uint32_t)((fx.resp[4] << 8) | fx.resp[5]);
		assert_int_equal(xfer("80 50 01 02 0B 01 00000001 " TID " 0F"),
		    bal > 0 ? 0x9000 : 0x9401);
		offline = bal > 0 ? (uint32_t)((fx.resp[4] << 8) | fx.resp[5]) : 0;
		assert_int_equal(bal, 100 * online - 30 * offline);
		if (online > 0) {
			pin();
			assert_int_equal(xfer("00 B2 01 C4 17"), 0x9000);
			rec_seq = (uint16_t)((fx.resp[0] << 8) | fx.resp[1]);
			rec_amount = be32(fx.resp + 5);
			rec_type = fx.resp[9];
			/* record, counter, balance and proof moved together */
			if (rec_type == 0x06) {
				assert_int_equal(rec_seq, offline);
				assert_int_equal(rec_amount, 30);
			} else {
				assert_int_equal(rec_type, 0x02);
				assert_int_equal(rec_seq, online);
				assert_int_equal(rec_amount, 100);
			}
			assert_int_equal(xfer("80 5A 00 %02X 02 %04X 08", rec_type,
			    rec_seq), 0x9000);
			assert_int_equal(xfer("80 5A 00 %02X 02 %04X 08",
			    rec_type == 0x06 ? 0x02 : 0x06, rec_seq), 0x9406);
		}
		card_down();
	}
	card_up(NULL, false);
}

static int
setup_crash(void **unused)
{
	/* the demo profile is enough; the keys are derived as the host does */
	static const char *const masters[] = {
		"574B2D44454D4F2D444C4B2D30303031",
		"574B2D44454D4F2D44504B2D30303031",
		"574B2D44454D4F2D44544B2D30303031",
	};
	uint8_t mk[16], *dst[3] = { fx.k.dlk, fx.k.dpk, fx.k.dtk };

	setup(unused);
	card_up(NULL, true);
	sel();
	assert_int_equal(xfer("00 B0 95 00 1E"), 0x9000);
	for (int i = 0; i < 3; i++) {
		hex(masters[i], mk, 16);
		assert_int_equal(wk_purse_diversify(WK_PURSE_ALG_3DES, mk, fx.resp + 10,
		    10, dst[i]),
		    0);
	}
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_select, setup_card, teardown),
		cmocka_unit_test_setup_teardown(test_read_binary, setup_card,
		    teardown),
		cmocka_unit_test_setup_teardown(test_verify, setup_card, teardown),
		cmocka_unit_test_setup_teardown(test_verify_counter_persists,
		    setup_card, teardown),
		cmocka_unit_test_setup_teardown(test_get_balance, setup_card,
		    teardown),
		cmocka_unit_test_setup_teardown(test_v1_load_through_card,
		    setup_card, teardown),
		cmocka_unit_test_setup_teardown(test_v2_purchase_through_card,
		    setup_card, teardown),
		cmocka_unit_test_setup_teardown(test_load_errors, setup_card,
		    teardown),
		cmocka_unit_test_setup_teardown(test_credit_errors, setup_card,
		    teardown),
		cmocka_unit_test_setup_teardown(test_purchase_errors, setup_card,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ed, setup_card, teardown),
		cmocka_unit_test_setup_teardown(test_unload, setup_card, teardown),
		cmocka_unit_test_setup_teardown(test_update_limit, setup_card,
		    teardown),
		cmocka_unit_test_setup_teardown(test_records, setup_card, teardown),
		cmocka_unit_test_setup_teardown(test_errors_change_nothing,
		    setup_card, teardown),
		cmocka_unit_test_setup_teardown(test_prove_errors, setup_card,
		    teardown),
		cmocka_unit_test_setup_teardown(test_seq_limit, setup_card,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ep_only, setup_card, teardown),
		cmocka_unit_test_setup_teardown(test_demo_card, setup_card,
		    teardown),
		cmocka_unit_test(test_secret_range),
		cmocka_unit_test_setup_teardown(test_crash_atomicity, setup_crash,
		    teardown),
		/* docs/purse.md "SM4": the same commands with SM4 keys, and with
		 * keys of both algorithms on one card */
		cmocka_unit_test_setup_teardown(test_sm4_vectors_through_card,
		    setup_card, teardown),
		cmocka_unit_test_setup_teardown(test_load_errors, setup_card_sm4,
		    teardown),
		cmocka_unit_test_setup_teardown(test_credit_errors, setup_card_sm4,
		    teardown),
		cmocka_unit_test_setup_teardown(test_purchase_errors,
		    setup_card_sm4, teardown),
		cmocka_unit_test_setup_teardown(test_ed, setup_card_sm4, teardown),
		cmocka_unit_test_setup_teardown(test_unload, setup_card_sm4,
		    teardown),
		cmocka_unit_test_setup_teardown(test_update_limit, setup_card_sm4,
		    teardown),
		cmocka_unit_test_setup_teardown(test_records, setup_card_sm4,
		    teardown),
		cmocka_unit_test_setup_teardown(test_errors_change_nothing,
		    setup_card_sm4, teardown),
		cmocka_unit_test_setup_teardown(test_prove_errors, setup_card_sm4,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ed, setup_card_mixed,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unload, setup_card_mixed,
		    teardown),
		cmocka_unit_test_setup_teardown(test_update_limit,
		    setup_card_mixed, teardown),
	};

	randombytes_set_implementation(&fake_rng);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
