/*
 * the purse PIN's life (docs/purse.md "PIN"): CHANGE PIN (80 5E 01 00,
 * old FF new) spends VERIFY's try durably before the comparison, so a host
 * process guessing through it blocks the PIN as fast as through VERIFY;
 * RELOAD PIN (84 5E 00 00, the issuer's one-time script: PIN, its MAC
 * under the DRPK, line protection under the DAMK with the card's kept
 * challenge) sets a new PIN once and never again; the profile's
 * "pin_required" decides which EP operations need the PIN.
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
#define DAMK "6474215EF549707831BB8DB9895FD48A"
#define DRPK "F28E92292DCB63F11EA7F5776A7122B8"
#define TID "000001000050"

/* %s: members before "keys"; %s: extra key entries */
static const char profile_fmt[] =
    "{ \"format\": \"walletkey-purse-perso/1\",\n"
    "  \"issuer_id\": \"0102030405060708\", \"application_type\": \"ed+ep\",\n"
    "  \"serial\": \"00012345678901234567\", \"start_date\": \"20260101\",\n"
    "  \"expiry_date\": \"20301231\", \"pin\": \"123456\",\n"
    "  \"balance_ceiling\": 1000000, %s\n"
    "  \"keys\": [\n"
    "   { \"purpose\": \"dlk\", \"index\": 1, \"version\": 1, \"key\": \"" DLK "\" },\n"
    "   { \"purpose\": \"dpk\", \"index\": 1, \"version\": 1, \"key\": \"" DPK "\" },\n"
    "   { \"purpose\": \"dtk\", \"index\": 1, \"version\": 1, \"key\": \"" DTK "\" }%s\n"
    "  ] }\n";

static const char both_keys[] =
    ",\n   { \"purpose\": \"damk\", \"index\": 1, \"version\": 1, \"key\": \""
    DAMK "\" },\n   { \"purpose\": \"drpk\", \"index\": 2, \"version\": 1,"
    " \"key\": \"" DRPK "\" }";
/* the same keys as SM4 keys (issue 18): an SM4 DAMK and an SM4 DRPK */
static const char sm4_keys[] =
    ",\n   { \"purpose\": \"damk\", \"index\": 1, \"version\": 1,"
    " \"algorithm\": \"sm4\", \"key\": \"" DAMK "\" },\n   { \"purpose\":"
    " \"drpk\", \"index\": 2, \"version\": 1, \"algorithm\": \"sm4\","
    " \"key\": \"" DRPK "\" }";
static const char damk_only[] =
    ",\n   { \"purpose\": \"damk\", \"index\": 1, \"version\": 1, \"key\": \""
    DAMK "\" }";

static struct {
	char dir[256], path[300], perso[300];
	vc_store *st;
	vc_card *card;
	uint8_t dlk[16], dpk[16], damk[16], drpk[16];
	uint8_t damk_alg, drpk_alg;	/* what script() makes with */
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
remove_store(void)
{
	static const char *const files[] = { "card.db", "card.db-wal",
	    "card.db-shm", "walletkey-seal.key" };
	char p[320];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%.256s/%s", fx.dir, files[i]);
		unlink(p);
	}
}

static void
new_card(const char *members, const char *keys)
{
	char profile[4096];
	FILE *f;

	snprintf(profile, sizeof(profile), profile_fmt, members, keys);
	assert_non_null(f = fopen(fx.perso, "w"));
	assert_true(fputs(profile, f) >= 0);
	assert_int_equal(fclose(f), 0);
	card_up(true);
}

/* a fresh card with another profile */
static void
renew(const char *members, const char *keys)
{
	card_down();
	remove_store();
	new_card(members, keys);
}

static int
setup(void **unused)
{
	(void)unused;
	card_dir_new("test_purse_pin");
	hex(DLK, fx.dlk, 16);
	hex(DPK, fx.dpk, 16);
	hex(DAMK, fx.damk, 16);
	hex(DRPK, fx.drpk, 16);
	fx.damk_alg = WK_PURSE_ALG_3DES;
	fx.drpk_alg = WK_PURSE_ALG_3DES;
	new_card("", both_keys);
	return 0;
}

static uint16_t
sel(void)
{
	return xfer("00 A4 04 00 08 F0 57 4B 50 55 52 53 45");
}

/* VERIFY status: 63Cx -> x, 9000 (verified) -> 16, 6983 -> -1 */
static int
tries(void)
{
	uint16_t sw = xfer("00 20 00 00");

	if (sw == 0x6983)
		return -1;
	if (sw == 0x9000)
		return 16;
	assert_int_equal(sw & 0xFFF0, 0x63C0);
	return sw & 0x0F;
}

/* the card's challenge, then the script for pin (hex BCD) made with the
 * given keys; stale: made for another challenge */
static void
script(const uint8_t damk[16], const uint8_t drpk[16], const char *pin,
    bool stale, char *out, size_t cap)
{
	uint8_t chal[4], p[6], data[WK_PURSE_RELOAD_DATA_MAX];
	char dh[2 * WK_PURSE_RELOAD_DATA_MAX + 1];
	size_t n, len = 0;

	assert_int_equal(xfer("00 84 00 00 04"), 0x9000);
	assert_int_equal(fx.rlen, 4);
	memcpy(chal, fx.resp, 4);
	if (stale)
		chal[3] ^= 0x01;
	n = (size_t)wk_hex_decode(pin, p, sizeof(p));
	assert_int_equal(wk_purse_reload_pin_script(fx.damk_alg, damk,
	    fx.drpk_alg, drpk, chal, p, n, data, &len), 0);
	assert_int_equal(len, n + 8);
	wk_hex_encode(data, len, dh);
	snprintf(out, cap, "84 5E 00 00 %02zX %s", len, dh);
}

static uint16_t
reload(const uint8_t damk[16], const uint8_t drpk[16], const char *pin,
    bool stale)
{
	char apdu[128];

	script(damk, drpk, pin, stale, apdu, sizeof(apdu));
	return xfer("%s", apdu);
}

/* ---- CHANGE PIN ---- */

static void
test_change(void **unused)
{
	(void)unused;
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(xfer("80 5E 01 00 07 12 34 56 FF 65 43 21"), 0x9000);
	assert_int_equal(tries(), 3);
	/* the old PIN is gone; a wrong VERIFY costs its try */
	assert_int_equal(xfer("00 20 00 00 03 12 34 56"), 0x63C2);
	assert_int_equal(xfer("00 20 00 00 03 65 43 21"), 0x9000);
	/* the change cleared the security state and a right one restores the
	 * tries; an odd length with its F nibble, padding FF in the separator */
	assert_int_equal(xfer("80 5E 01 00 09 65 43 21 FF FF FF 98 76 5F"),
	    0x9000);
	assert_int_equal(tries(), 3);
	assert_int_equal(xfer("00 20 00 00 03 98 76 5F"), 0x9000);
	/* a restart keeps the new PIN */
	card_down();
	card_up(false);
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(xfer("00 20 00 00 03 98 76 5F"), 0x9000);
	assert_int_equal(xfer("80 5E 01 00 05 98 76 5F FF 11 11 11"), 0x6700);
	assert_int_equal(xfer("80 5E 01 00 07 98 76 5F FF 11 11 11"), 0x9000);
}

/* the attack: a host process without the PIN guesses through CHANGE PIN */
static void
test_change_guessing(void **unused)
{
	(void)unused;
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(xfer("80 5E 01 00 07 11 11 11 FF 22 22 22"), 0x63C2);
	assert_int_equal(xfer("80 5E 01 00 07 11 11 12 FF 22 22 22"), 0x63C1);
	/* a wrong VERIFY and a wrong CHANGE share one counter */
	assert_int_equal(xfer("00 20 00 00 03 11 11 13"), 0x63C0);
	assert_int_equal(tries(), -1);
	/* blocked: the right old PIN changes nothing, VERIFY neither */
	assert_int_equal(xfer("80 5E 01 00 07 12 34 56 FF 22 22 22"), 0x6983);
	assert_int_equal(xfer("00 20 00 00 03 12 34 56"), 0x6983);
	assert_int_equal(xfer("00 20 00 00 03 22 22 22"), 0x6983);
	/* nothing but the issuer's script brings it back */
	assert_int_equal(reload(fx.damk, fx.drpk, "777777", false), 0x9000);
	assert_int_equal(tries(), 3);
	assert_int_equal(xfer("00 20 00 00 03 77 77 77"), 0x9000);
}

/* bad input gets its status word and spends no try */
static void
test_change_malformed(void **unused)
{
	static const struct {
		const char *apdu;
		uint16_t sw;
	} cases[] = {
		{ "80 5E 01 00 06 12 34 56 65 43 21", 0x6A80 },	/* no FF */
		{ "80 5E 01 00 04 12 FF 65 43", 0x6700 },	/* too short */
		{ "80 5E 01 00 0E 12 34 56 78 90 12 34 FF 65 43 21 65 43 21",
		    0x6700 },				/* too long */
		{ "80 5E 01 00 05 12 FF 65 43 21", 0x6A80 },	/* old: 1 byte */
		{ "80 5E 01 00 07 12 34 56 FF 6A 43 21", 0x6A80 },	/* not BCD */
		{ "80 5E 01 00 06 12 34 56 FF 43 2F", 0x6A80 },	/* new: 3 digits */
		{ "80 5E 01 00 0B 12 34 56 FF 65 43 21 65 43 21 12", 0x6A80 },
		{ "80 5E 01 01 07 12 34 56 FF 65 43 21", 0x6A88 },	/* PIN id */
		{ "80 5E 02 00 07 12 34 56 FF 65 43 21", 0x6A86 },	/* P1 */
		{ "00 5E 01 00 07 12 34 56 FF 65 43 21", 0x6D00 },	/* CLA 00 */
		{ "84 5E 01 00 07 12 34 56 FF 65 43 21", 0x6E00 },	/* CLA 84 */
	};

	(void)unused;
	assert_int_equal(sel(), 0x9000);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(xfer("%s", cases[i].apdu), cases[i].sw);
		assert_int_equal(tries(), 3);
	}
	assert_int_equal(xfer("00 20 00 00 03 12 34 56"), 0x9000);
}

/*
 * the tearing attack: cut the card off after a wrong old PIN went in,
 * before the card answers. WALLETKEY_CARD_FAULT=pin-spent kills it with
 * SIGKILL right after the try is durable; after each restart it is gone.
 */
static void
killed(const char *apdu)
{
	int status;
	pid_t pid;

	card_down();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		card_up(false);
		(void)sel();
		setenv("WALLETKEY_CARD_FAULT", "pin-spent", 1);
		(void)xfer("%s", apdu);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	card_up(false);
	assert_int_equal(sel(), 0x9000);
}

static void
test_change_kill9(void **unused)
{
	(void)unused;
	killed("80 5E 01 00 07 11 11 11 FF 22 22 22");
	assert_int_equal(tries(), 2);
	killed("00 20 00 00 03 11 11 11");
	assert_int_equal(tries(), 1);
	killed("80 5E 01 00 07 12 34 56 FF 22 22 22");	/* even the right one */
	assert_int_equal(tries(), -1);
}

/* ---- RELOAD PIN ---- */

static void
test_reload_once(void **unused)
{
	char apdu[128];

	(void)unused;
	assert_int_equal(sel(), 0x9000);
	script(fx.damk, fx.drpk, "24680135", false, apdu, sizeof(apdu));
	/* the challenge is kept in the store: a restart does not lose it */
	card_down();
	card_up(false);
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(xfer("%s", apdu), 0x9000);
	assert_int_equal(xfer("00 20 00 00 03 12 34 56"), 0x63C2);
	assert_int_equal(xfer("00 20 00 00 04 24 68 01 35"), 0x9000);
	assert_int_equal(tries(), 16);
	/* the attack: the same script again, with no challenge pending and
	 * with a new one */
	assert_int_equal(xfer("%s", apdu), 0x6982);
	assert_int_equal(xfer("00 84 00 00 04"), 0x9000);
	assert_int_equal(xfer("%s", apdu), 0x6988);
	assert_int_equal(xfer("%s", apdu), 0x6982);
	/* the PIN is still the one the script set */
	assert_int_equal(xfer("00 20 00 00 04 24 68 01 35"), 0x9000);
}

static void
test_reload_refused(void **unused)
{
	uint8_t other[16];
	char apdu[128];
	size_t n;

	(void)unused;
	memset(other, 0x5A, sizeof(other));
	assert_int_equal(sel(), 0x9000);
	/* made for another challenge: 6988, and the challenge is used up */
	assert_int_equal(reload(fx.damk, fx.drpk, "111111", true), 0x6988);
	/* line protection under another DAMK */
	assert_int_equal(reload(other, fx.drpk, "111111", false), 0x6988);
	/* right line protection, the PIN's MAC under another DRPK: 9302 */
	assert_int_equal(reload(fx.damk, other, "111111", false), 0x9302);
	assert_int_equal(xfer("00 20 00 00 03 12 34 56"), 0x9000);
	/* CLA 80: the spec's RELOAD PIN without line protection replays for
	 * ever, so the card wants it protected */
	script(fx.damk, fx.drpk, "111111", false, apdu, sizeof(apdu));
	apdu[0] = '8';
	apdu[1] = '0';
	assert_int_equal(xfer("%s", apdu), 0x6982);
	/* that did not use the challenge up: the protected one works */
	apdu[1] = '4';
	assert_int_equal(xfer("%s", apdu), 0x9000);
	/* a changed PIN byte breaks both MACs */
	script(fx.damk, fx.drpk, "222222", false, apdu, sizeof(apdu));
	n = strlen("84 5E 00 00 09 ");
	apdu[n] = '3';
	assert_int_equal(xfer("%s", apdu), 0x6988);
	assert_int_equal(xfer("00 20 00 00 03 11 11 11"), 0x9000);
	/* malformed: lengths, a PIN that is not BCD, the PIN id */
	assert_int_equal(xfer("84 5E 00 00 09 12 00 00 00 00 00 00 00 00"), 0x6700);
	assert_int_equal(xfer("84 5E 00 00 0F 12 34 56 78 90 12 34 00 00 00 00 00 "
	    "00 00 00"), 0x6700);
	assert_int_equal(xfer("00 84 00 00 04"), 0x9000);
	assert_int_equal(xfer("84 5E 00 00 0B 12 3A 56 00 00 00 00 00 00 00 00"),
	    0x6A80);
	assert_int_equal(xfer("84 5E 00 01 0B 12 34 56 00 00 00 00 00 00 00 00"),
	    0x6A88);
	/* neither spent the challenge: the script for it still works */
	assert_int_equal(xfer("84 5E 00 00 0B 12 34 56 00 00 00 00 00 00 00 00"),
	    0x6988);
}

/* SM4 keys: the script under the SM4 DAMK and DRPK opens; one made with
 * 3DES for the same key bytes does not, nor one mixing the algorithms */
static void
test_reload_sm4(void **unused)
{
	(void)unused;
	renew("", sm4_keys);
	assert_int_equal(sel(), 0x9000);
	fx.damk_alg = WK_PURSE_ALG_3DES;
	fx.drpk_alg = WK_PURSE_ALG_3DES;
	assert_int_equal(reload(fx.damk, fx.drpk, "111111", false), 0x6988);
	fx.damk_alg = WK_PURSE_ALG_SM4;
	assert_int_equal(reload(fx.damk, fx.drpk, "111111", false), 0x9302);
	assert_int_equal(xfer("00 20 00 00 03 12 34 56"), 0x9000);
	fx.drpk_alg = WK_PURSE_ALG_SM4;
	assert_int_equal(reload(fx.damk, fx.drpk, "777777", false), 0x9000);
	assert_int_equal(xfer("00 20 00 00 03 12 34 56"), 0x63C2);
	assert_int_equal(xfer("00 20 00 00 03 77 77 77"), 0x9000);
	/* made for another challenge: refused */
	assert_int_equal(reload(fx.damk, fx.drpk, "777777", true), 0x6988);
}

/* a card without a DRPK (or without a DAMK) cannot take a script */
static void
test_reload_no_key(void **unused)
{
	(void)unused;
	renew("", damk_only);
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(reload(fx.damk, fx.drpk, "111111", false), 0x6A88);
	assert_int_equal(xfer("00 20 00 00 03 12 34 56"), 0x9000);
	renew("", "");
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(reload(fx.damk, fx.drpk, "111111", false), 0x6A88);
}

/* the scripts of the two unblocks share the one challenge register */
static void
test_reload_blocked_purse(void **unused)
{
	uint8_t chal[4], mac[4];
	char mh[9];

	(void)unused;
	assert_int_equal(sel(), 0x9000);
	/* three wrong MAC2s block the application */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(xfer("00 20 00 00 03 12 34 56"), 0x9000);
		assert_int_equal(xfer("80 50 00 02 0B 01 00000010 " TID " 10"),
		    0x9000);
		assert_int_equal(xfer("80 52 00 00 0B 20261122 010203 00000000 04"),
		    0x9302);
	}
	assert_int_equal(sel(), 0x6A81);
	/* the holder's CHANGE PIN is refused, the issuer's RELOAD PIN is not */
	assert_int_equal(xfer("80 5E 01 00 07 12 34 56 FF 22 22 22"), 0x6A81);
	assert_int_equal(reload(fx.damk, fx.drpk, "333333", false), 0x9000);
	/* the purse stays blocked until its own script */
	assert_int_equal(xfer("80 5C 00 02 04"), 0x6A81);
	assert_int_equal(xfer("00 84 00 00 04"), 0x9000);
	memcpy(chal, fx.resp, 4);
	assert_int_equal(wk_purse_unblock_mac(WK_PURSE_ALG_3DES, fx.damk, chal,
	    mac), 0);
	wk_hex_encode(mac, 4, mh);
	assert_int_equal(xfer("84 18 00 00 04 %s", mh), 0x9000);
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(xfer("00 20 00 00 03 33 33 33"), 0x9000);
}

/* ---- the profile's pin_required ---- */

static void
test_pin_required(void **unused)
{
	(void)unused;
	/* the default: EP load needs it, EP purchase not, the log needs it */
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(xfer("80 50 00 02 0B 01 00000010 " TID " 10"), 0x6985);
	assert_int_equal(xfer("00 B2 01 C4 17"), 0x6982);
	assert_int_equal(xfer("80 50 01 02 0B 01 00000010 " TID " 0F"), 0x9401);
	/* a bank that wants the PIN for purchases and not for loads */
	renew("\"pin_required\": { \"purchase\": true, \"load\": false,"
	    " \"history\": false },", both_keys);
	assert_int_equal(sel(), 0x9000);
	assert_int_equal(xfer("80 50 01 02 0B 01 00000010 " TID " 0F"), 0x6985);
	assert_int_equal(xfer("80 50 00 02 0B 01 00000010 " TID " 10"), 0x9000);
	assert_int_equal(xfer("00 B2 01 C4 17"), 0x6A83);
	/* the ED always wants it (pboc-purse.md 8) */
	assert_int_equal(xfer("80 50 00 01 0B 01 00000010 " TID " 10"), 0x6985);
	assert_int_equal(xfer("00 20 00 00 03 12 34 56"), 0x9000);
	assert_int_equal(xfer("80 50 01 02 0B 01 00000010 " TID " 0F"), 0x9401);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_guessing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_change_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_change_kill9, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reload_no_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reload_sm4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_blocked_purse, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_required, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
