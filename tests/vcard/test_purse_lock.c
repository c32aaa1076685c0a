/*
 * the purse blocks itself (docs/purse.md "Blocking"): consecutive wrong
 * MAC2s spend tries made durable before the comparison, a blocked purse
 * answers 6A81, APPLICATION UNBLOCK (84 18, FMCOS 8.2) under the DAMK with
 * a one-time challenge opens it again, three wrong unblock MACs while
 * blocked block it for good (9303), and the counters survive a restart
 * and a kill -9 between the durable try and the comparison.
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
#include "vc_store.h"
#include "wk_hex.h"
#include "wk_purse_crypto.h"
#include "wk_vpcd.h"

extern const vc_applet vc_applet_purse;

static const vc_applet *const applets[] = { &vc_applet_purse };

#define DLK "374598B5C0B0EAE1E1D06609AC5BB369"
#define DPK "11223344556677888877665544332211"
#define DTK "CAA6025290114BFCC3C9043F70F7A07A"
#define DULK "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
#define DUK "F0E1D2C3B4A5968778695A4B3C2D1E0F"
#define DAMK "6474215EF549707831BB8DB9895FD48A"
#define TID "000001000050"

/* %u: mac_tries; %s: the DAMK entry (or nothing) */
static const char profile_fmt[] =
    "{ \"format\": \"walletkey-purse-perso/1\",\n"
    "  \"issuer_id\": \"0102030405060708\", \"application_type\": \"ed+ep\",\n"
    "  \"serial\": \"00012345678901234567\", \"start_date\": \"20260101\",\n"
    "  \"expiry_date\": \"20301231\", \"pin\": \"123456\",\n"
    "  \"balance_ceiling\": 1000000, \"overdraft_limit\": 4096, %s\n"
    "  \"keys\": [\n"
    "   { \"purpose\": \"dlk\", \"index\": 1, \"version\": 1, \"key\": \"" DLK "\" },\n"
    "   { \"purpose\": \"dpk\", \"index\": 1, \"version\": 1, \"key\": \"" DPK "\" },\n"
    "   { \"purpose\": \"dtk\", \"index\": 1, \"version\": 1, \"key\": \"" DTK "\" },\n"
    "   { \"purpose\": \"dulk\", \"index\": 1, \"version\": 1, \"key\": \"" DULK "\" },\n"
    "   { \"purpose\": \"duk\", \"index\": 1, \"version\": 1, \"key\": \"" DUK "\" }%s\n"
    "  ] }\n";

static const char damk_entry[] =
    ",\n   { \"purpose\": \"damk\", \"index\": 3, \"version\": 1, \"key\": \""
    DAMK "\" }";

static struct {
	char dir[256], path[300], perso[300];
	vc_store *st;
	vc_card *card;
	uint8_t dlk[16], dulk[16], duk[16], damk[16];
	uint8_t resp[WK_VPCD_MAX_PAYLOAD];
	size_t rlen;
} fx;

#include "card_fixture.h"

static void
card_up(bool init)
{
	vc_card_opts o = { .applets = applets, .n_applets = 1, .init = init,
	    .perso_path = fx.perso };

	card_store_up(&o, init);
}

static void
new_card(const char *mac_tries, bool with_damk)
{
	char profile[4096];
	FILE *f;

	snprintf(profile, sizeof(profile), profile_fmt, mac_tries,
	    with_damk ? damk_entry : "");
	assert_non_null(f = fopen(fx.perso, "w"));
	assert_true(fputs(profile, f) >= 0);
	assert_int_equal(fclose(f), 0);
	card_up(true);
}

static int
setup(void **unused)
{
	(void)unused;
	card_dir_new("test_purse_lock");
	hex(DLK, fx.dlk, 16);
	hex(DULK, fx.dulk, 16);
	hex(DUK, fx.duk, 16);
	hex(DAMK, fx.damk, 16);
	new_card("", true);
	return 0;
}

static uint16_t
sel(void)
{
	return xfer("00 A4 04 00 08 F0 57 4B 50 55 52 53 45");
}

static void
pin(void)
{
	assert_int_equal(xfer("00 20 00 00 03 12 34 56"), 0x9000);
}

static uint32_t
be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

/* a load of amount (P2 01 ED, 02 EP): INIT, then CREDIT with a right or a
 * wrong MAC2 */
static uint16_t
load_p2(uint8_t p2, uint32_t amount, bool bad_mac)
{
	static const uint8_t date[4] = { 0x20, 0x26, 0x11, 0x22 };
	static const uint8_t tim[3] = { 0x01, 0x02, 0x03 };
	uint8_t tid[6], mac[4];
	wk_purse_skey sk;
	char mh[9];
	uint16_t seq, sw;

	hex(TID, tid, 6);
	pin();
	sw = xfer("80 50 00 %02X 0B 01 %08X " TID " 10", p2, amount);
	if (sw != 0x9000)
		return sw;
	seq = (uint16_t)((fx.resp[4] << 8) | fx.resp[5]);
	assert_int_equal(wk_purse_session_key_online(WK_PURSE_ALG_3DES, fx.dlk,
	    fx.resp + 8, seq, &sk), 0);
	assert_int_equal(wk_purse_load_mac2(&sk, amount, p2, tid, date, tim,
	    mac), 0);
	if (bad_mac)
		mac[0] ^= 0x40;
	wk_hex_encode(mac, 4, mh);
	return xfer("80 52 00 00 0B 20261122 010203 %s 04", mh);
}

static uint16_t
load(uint32_t amount, bool bad_mac)
{
	return load_p2(0x02, amount, bad_mac);
}

static uint32_t
ep_balance(void)
{
	assert_int_equal(xfer("80 5C 00 02 04"), 0x9000);
	return be32(fx.resp);
}

/* GET CHALLENGE, then APPLICATION UNBLOCK under key (or a MAC made for
 * another challenge when stale); the SW of the unblock */
static uint16_t
unblock_with(const uint8_t key[16], bool stale)
{
	uint8_t chal[4], mac[4];
	char mh[9];

	assert_int_equal(xfer("00 84 00 00 04"), 0x9000);
	assert_int_equal(fx.rlen, 4);
	memcpy(chal, fx.resp, 4);
	if (stale)
		chal[1] ^= 0x10;
	assert_int_equal(wk_purse_unblock_mac(WK_PURSE_ALG_3DES, key, chal, mac), 0);
	wk_hex_encode(mac, 4, mh);
	return xfer("84 18 00 00 04 %s", mh);
}

/* ---- tests ---- */

static void
test_three_wrong_then_right_refused(void **unused)
{
	uint8_t other[16];

	(void)unused;
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(load(1000, false), 0x9000);
	/* two wrong, one right: the right one restores the tries */
	assert_int_equal(load(10, true), 0x9302);
	assert_int_equal(load(10, true), 0x9302);
	assert_int_equal(load(10, false), 0x9000);
	assert_int_equal(ep_balance(), 1010);
	/* three in a row block the application */
	assert_int_equal(load(10, true), 0x9302);
	assert_int_equal(load(10, true), 0x9302);
	assert_int_equal(load(10, true), 0x9302);
	/* now a right MAC2 is refused before any MAC is looked at */
	assert_int_equal(load(10, false), 0x6A81);
	assert_int_equal(xfer("80 5C 00 02 04"), 0x6A81);
	assert_int_equal(xfer("80 50 01 02 0B 01 00000001 " TID " 0F"), 0x6A81);
	assert_int_equal(xfer("00 B0 95 00 1E"), 0x6A81);
	assert_int_equal(xfer("00 B2 01 C4 17"), 0x6A81);
	assert_int_equal(xfer("00 A4 00 00 02 00 15"), 0x6A81);
	assert_int_equal(xfer("80 5A 00 02 02 0000 08"), 0x6A81);
	/* SELECT answers 6A81 without the FCI and selects it all the same */
	assert_int_equal(sel(), 0x6A81);
	assert_int_equal(fx.rlen, 0);
	assert_int_equal(xfer("00 20 00 00 03 12 34 56"), 0x9000);
	/* it stays blocked across a restart */
	card_down();
	card_up(false);
	assert_int_equal(sel(), 0x6A81);
	assert_int_equal(load(10, false), 0x6A81);
	/* a script under another key, or for another challenge: refused */
	memset(other, 0x5A, sizeof(other));
	assert_int_equal(unblock_with(other, false), 0x6988);
	assert_int_equal(unblock_with(fx.damk, true), 0x6988);
	assert_int_equal(load(10, false), 0x6A81);
	/* the issuer's script opens it; the balance was never touched */
	assert_int_equal(unblock_with(fx.damk, false), 0x9000);
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(ep_balance(), 1010);
	assert_int_equal(load(10, false), 0x9000);
	assert_int_equal(ep_balance(), 1020);
	/* and the tries are whole again: two wrong do not block */
	assert_int_equal(load(10, true), 0x9302);
	assert_int_equal(load(10, true), 0x9302);
	assert_int_equal(load(10, false), 0x9000);
}

static void
test_script_once(void **unused)
{
	uint8_t chal[4], mac[4];
	char mh[9];
	uint16_t seq_before;

	(void)unused;
	assert_int_equal(sel(), 0x9000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(load(10, true), 0x9302);
	assert_int_equal(sel(), 0x6A81);
	/* no challenge yet: nothing to check a MAC with */
	assert_int_equal(xfer("84 18 00 00 04 00000000"), 0x6982);
	/* the script for the card's challenge, sent twice: once only */
	assert_int_equal(xfer("00 84 00 00 04"), 0x9000);
	memcpy(chal, fx.resp, 4);
	assert_int_equal(wk_purse_unblock_mac(WK_PURSE_ALG_3DES, fx.damk, chal, mac), 0);
	wk_hex_encode(mac, 4, mh);
	/* the challenge is kept in the store: a restart keeps it */
	card_down();
	card_up(false);
	assert_int_equal(sel(), 0x6A81);
	assert_int_equal(xfer("84 18 00 00 04 %s", mh), 0x9000);
	assert_int_equal(sel(), 0x9000);
	pin();
	assert_int_equal(xfer("80 50 00 02 0B 01 00000001 " TID " 10"), 0x9000);
	seq_before = (uint16_t)((fx.resp[4] << 8) | fx.resp[5]);
	/* replayed: the challenge is gone */
	assert_int_equal(xfer("84 18 00 00 04 %s", mh), 0x6982);
	/* replayed after a new challenge: a MAC for the old one */
	assert_int_equal(xfer("00 84 00 00 04"), 0x9000);
	assert_int_equal(xfer("84 18 00 00 04 %s", mh), 0x6988);
	/* an open application spends no unblock try on a wrong MAC: a host
	 * process without the PIN cannot block the purse for good */
	for (int i = 0; i < 5; i++)
		assert_int_equal(unblock_with(fx.damk, true), 0x6988);
	assert_int_equal(sel(), 0x9000);
	/* FMCOS 8.2: unblocking does not move the online counter */
	pin();
	assert_int_equal(xfer("80 50 00 02 0B 01 00000001 " TID " 10"), 0x9000);
	assert_int_equal((fx.resp[4] << 8) | fx.resp[5], seq_before);
	/* an unblock of an open application with the right MAC: 9000 */
	assert_int_equal(unblock_with(fx.damk, false), 0x9000);
}

static void
test_blocked_for_good(void **unused)
{
	(void)unused;
	assert_int_equal(sel(), 0x9000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(load(10, true), 0x9302);
	/* three wrong scripts while blocked: blocked for good */
	for (int i = 0; i < 3; i++)
		assert_int_equal(unblock_with(fx.damk, true), 0x6988);
	assert_int_equal(unblock_with(fx.damk, false), 0x9303);
	card_down();
	card_up(false);
	assert_int_equal(sel(), 0x6A81);
	assert_int_equal(unblock_with(fx.damk, false), 0x9303);
	assert_int_equal(load(10, false), 0x6A81);
	/* two wrong and a right one would have opened it: see above */
}

static void
test_two_wrong_scripts_then_right(void **unused)
{
	(void)unused;
	assert_int_equal(sel(), 0x9000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(load(10, true), 0x9302);
	assert_int_equal(unblock_with(fx.damk, true), 0x6988);
	assert_int_equal(unblock_with(fx.damk, true), 0x6988);
	assert_int_equal(unblock_with(fx.damk, false), 0x9000);
	/* the unblock tries are whole again too */
	for (int i = 0; i < 3; i++)
		assert_int_equal(load(10, true), 0x9302);
	assert_int_equal(unblock_with(fx.damk, true), 0x6988);
	assert_int_equal(unblock_with(fx.damk, true), 0x6988);
	assert_int_equal(unblock_with(fx.damk, false), 0x9000);
	assert_int_equal(load(10, false), 0x9000);
}

/* unload and overdraft-update MAC2s are issuer MACs too; a purchase MAC1
 * (a terminal's) is not counted */
static void
test_other_macs(void **unused)
{
	(void)unused;
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(load_p2(0x01, 100, false), 0x9000);
	assert_int_equal(load(100, false), 0x9000);
	/* 1: an overdraft update with a wrong MAC2 */
	pin();
	assert_int_equal(xfer("80 50 04 01 07 01 " TID " 13"), 0x9000);
	assert_int_equal(xfer("80 58 00 00 0E 002000 20260101 120000 00000000 04"),
	    0x9302);
	/* purchase MAC1s from a terminal: not counted */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(xfer("80 50 01 02 0B 01 00000001 " TID " 0F"),
		    0x9000);
		assert_int_equal(xfer("80 54 01 00 0F 00000001 20260101 120000 "
		    "00000000 08"), 0x9302);
	}
	/* 2: an unload of the ED's funds with a wrong MAC2 */
	pin();
	assert_int_equal(xfer("80 50 05 01 0B 01 00000001 " TID " 10"), 0x9000);
	assert_int_equal(xfer("80 54 03 00 0B 20260101 120000 00000000 04"),
	    0x9302);
	assert_int_equal(sel(), 0x9000);
	/* 3: a load */
	assert_int_equal(load(10, true), 0x9302);
	assert_int_equal(sel(), 0x6A81);
}

static void
test_profile_tries(void **unused)
{
	(void)unused;
	card_down();
	unlink(fx.path);
	new_card("\"mac_tries\": 1,", true);
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(load(10, true), 0x9302);
	assert_int_equal(sel(), 0x6A81);
	assert_int_equal(unblock_with(fx.damk, false), 0x9000);
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(load(10, false), 0x9000);
}

static void
test_no_damk(void **unused)
{
	(void)unused;
	card_down();
	unlink(fx.path);
	new_card("", false);
	assert_int_equal(sel(), 0x9000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(load(10, true), 0x9302);
	/* no maintenance key: the card cannot be unblocked by anyone */
	assert_int_equal(unblock_with(fx.damk, false), 0x6A88);
	assert_int_equal(load(10, false), 0x6A81);
}

/*
 * the tearing attack: cut the card off after a wrong MAC2 went in, before
 * it answers, hoping the try was not written. WALLETKEY_CARD_FAULT makes the
 * card kill itself with SIGKILL right after the try is durable and before
 * the comparison; after each restart the try must be gone.
 */
static void
killed_wrong_load(const char *point, bool unblock)
{
	int status;
	pid_t pid;

	card_down();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		card_up(false);
		(void)sel();
		setenv("WALLETKEY_CARD_FAULT", point, 1);
		if (unblock)
			(void)unblock_with(fx.damk, true);
		else
			(void)load(10, true);
		_exit(0);	/* the fault point was not reached */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	card_up(false);
}

static void
test_kill9(void **unused)
{
	(void)unused;
	/* three wrong MAC2s, each killed before its answer: blocked */
	for (int i = 0; i < 3; i++) {
		killed_wrong_load("mac-spent", false);
		assert_int_equal(sel(), i < 2 ? 0x9000 : 0x6A81);
	}
	assert_int_equal(load(10, false), 0x6A81);
	/* three wrong unblock scripts, each killed: blocked for good */
	for (int i = 0; i < 3; i++)
		killed_wrong_load("unblock-spent", true);
	assert_int_equal(sel(), 0x6A81);
	assert_int_equal(unblock_with(fx.damk, false), 0x9303);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_three_wrong_then_right_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_script_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked_for_good, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_wrong_scripts_then_right,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_macs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profile_tries, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_damk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
