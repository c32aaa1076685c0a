/* the APDU layer (vcard/vc_card.c) with a small test applet and wkinfo */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "card_steps.h"
#include "vc_card.h"
#include "wk_card_id.h"
#include "wk_hex.h"
#include "wk_log.h"
#include "wk_vpcd.h"

extern const vc_applet vc_applet_wkinfo;

/* the test applet: a volatile flag, a stored value, canned responses */
typedef struct tap_state {
	int flag;
	int selects;
	int deselects;
} tap_state;

static tap_state tap;

static const uint8_t tap_aid[] = { 0xA0, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03 };
static const vc_aid tap_aids[] = { { tap_aid, sizeof(tap_aid), 5 } };

static int
tap_open(vc_card *card, void **state)
{
	(void)card;
	memset(&tap, 0, sizeof(tap));
	*state = &tap;
	return 0;
}

static uint16_t
tap_select(void *state, vc_card *card, size_t which, const wk_apdu *cmd,
    wk_buf *resp)
{
	tap_state *t = state;

	(void)card;
	(void)cmd;
	t->selects++;
	wk_buf_u8(resp, 0x6F);
	wk_buf_u8(resp, (uint8_t)which);
	return WK_SW_OK;
}

static void
tap_deselect(void *state, vc_card *card)
{
	tap_state *t = state;

	(void)card;
	t->flag = 0;
	t->deselects++;
}

static bool
tap_owns_fid(uint16_t fid)
{
	return fid == 0x1001;
}

static uint16_t
tap_process(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	static const uint8_t v[] = { 0xCA, 0xFE };
	tap_state *t = state;
	size_t n;

	switch (cmd->ins) {
	case 0x10:
		t->flag = 1;
		return WK_SW_OK;
	case 0x12:
		wk_buf_u8(resp, (uint8_t)t->flag);
		return WK_SW_OK;
	case 0x20:		/* writes, then fails when P1 = 1 */
		if (vc_store_put(vc_card_store(card), "tap", "v", v,
		    sizeof(v)) != 0)
			return WK_SW_MEMORY_FAILURE;
		return cmd->p1 == 1 ? WK_SW_WRONG_DATA : WK_SW_OK;
	case 0x22:
		return vc_store_get(vc_card_store(card), "tap", "v", resp) == 0 ?
		    WK_SW_OK : WK_SW_REF_NOT_FOUND;
	case 0x30:		/* length, first and last byte of the data */
		wk_buf_be16(resp, (uint16_t)cmd->lc);
		if (cmd->lc > 0) {
			wk_buf_u8(resp, cmd->data[0]);
			wk_buf_u8(resp, cmd->data[cmd->lc - 1]);
		}
		return WK_SW_OK;
	case 0x40:		/* P1P2 bytes of pattern */
		n = ((size_t)cmd->p1 << 8) | cmd->p2;
		for (size_t i = 0; i < n; i++)
			wk_buf_u8(resp, (uint8_t)i);
		return WK_SW_OK;
	case 0x50:
		wk_buf_u8(resp, 0x01);
		return WK_SW_WRONG_DATA;
	case 0x52:
		wk_buf_u8(resp, 0x01);
		return 0x6283;
	default:
		return WK_SW_INS_NOT_SUPPORTED;
	}
}

/* INS 24: all of the data; INS 26: all of it when it starts 5C 03 5F C1 09
 * (as PIV's PUT DATA of printed information), the rest after byte 2 */
static void
tap_secret(const wk_apdu *cmd, size_t *from, size_t *len)
{
	static const uint8_t printed[] = { 0x5C, 0x03, 0x5F, 0xC1, 0x09 };

	*from = 0;
	*len = cmd->ins == 0x24 ? cmd->lc : 0;
	if (cmd->ins == 0x26 && cmd->lc >= sizeof(printed) &&
	    memcmp(cmd->data, printed, sizeof(printed)) == 0)
		*len = cmd->lc;
	else if (cmd->ins == 0x26 && cmd->lc > 2) {
		*from = 2;
		*len = cmd->lc - 2;
	}
}

static vc_applet tap_applet = {
	.name = "tap",
	.aids = tap_aids,
	.n_aids = 1,
	.open = tap_open,
	.select = tap_select,
	.deselect = tap_deselect,
	.owns_fid = tap_owns_fid,
	.process = tap_process,
	.secret_range = tap_secret,
};

static const vc_applet *const applets[] = { &tap_applet, &vc_applet_wkinfo };

typedef struct fixture {
	char dir[256];
	char path[300];
	vc_store *st;
	vc_card *card;
	uint8_t resp[WK_VPCD_MAX_PAYLOAD];
	size_t rlen;
} fixture;

static fixture fx;

static int
setup(void **unused)
{
	vc_card_opts o = { .applets = applets, .n_applets = 2 };
	const char *tmp = getenv("TMPDIR");

	(void)unused;
	tap_applet.default_selected = false;
	snprintf(fx.dir, sizeof(fx.dir), "%s/test_vc_card.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof(fx.path), "%s/card.db", fx.dir);
	assert_int_equal(vc_store_create(fx.path, NULL, &fx.st), VC_STORE_OK);
	assert_int_equal(vc_card_new(fx.st, &o, &fx.card), VC_CARD_OK);
	return 0;
}

static int
teardown(void **unused)
{
	static const char *const files[] = { "card.db", "card.db-wal",
	    "card.db-shm", "walletkey-seal.key" };
	char p[320];

	(void)unused;
	vc_card_free(&fx.card);
	vc_store_free(&fx.st);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%.256s/%s", fx.dir, files[i]);
		unlink(p);
	}
	assert_int_equal(rmdir(fx.dir), 0);
	return 0;
}

/* sends a hex APDU, returns the status word; data in fx.resp[0..fx.rlen) */
static uint16_t
xfer_raw(const uint8_t *c, size_t n, size_t cap)
{
	assert_int_equal(vc_card_apdu(fx.card, c, n, fx.resp, cap, &fx.rlen),
	    VC_CARD_OK);
	assert_true(fx.rlen >= 2);
	fx.rlen -= 2;
	return (uint16_t)((fx.resp[fx.rlen] << 8) | fx.resp[fx.rlen + 1]);
}

static uint16_t
xfer(const char *hex)
{
	uint8_t c[512];
	long n = wk_hex_decode(hex, c, sizeof(c));

	assert_true(n >= 0);
	return xfer_raw(c, (size_t)n, sizeof(fx.resp));
}

/* xfer for XFER_STEPS (card_steps.h) */
static uint16_t
xfer_hex(const char *apdu)
{
	return xfer(apdu);
}

#define SELECT_TAP "00 A4 04 00 05 A0 00 00 00 01"
#define SELECT_INFO "00 A4 04 00 07 F0 57 4B 49 4E 46 4F"

static void
test_select_keeps_state(void **unused)
{
	int deselects = tap.deselects;

	(void)unused;
	assert_int_equal(xfer(SELECT_TAP), 0x9000);
	assert_int_equal(fx.rlen, 2);
	XFER_STEPS(
		{ "00 10 00 00", 0x9000 },
		/* unknown AID, AID shorter than min_prefix, longer than the AID */
		{ "00 A4 04 00 05 A0 00 00 00 99", 0x6A82 },
		{ "00 A4 04 00 04 A0 00 00 00", 0x6A82 },
		{ "00 A4 04 00 08 A0 00 00 00 01 02 03 04", 0x6A82 }
	);
	assert_int_equal(fx.rlen, 0);
	assert_int_equal(xfer("00 12 00 00 01"), 0x9000);
	assert_int_equal(fx.rlen, 1);
	assert_int_equal(fx.resp[0], 1);
	/* re-SELECT: select() again, no deselect */
	assert_int_equal(xfer("00 A4 04 00 07 A0 00 00 00 01 02 03 00"), 0x9000);
	assert_int_equal(tap.selects, 2);
	assert_int_equal(tap.deselects, deselects);
	assert_int_equal(xfer("00 12 00 00"), 0x9000);
	assert_int_equal(fx.resp[0], 1);
	/* another applet: the old one is deselected */
	assert_int_equal(xfer(SELECT_INFO), 0x9000);
	assert_int_equal(tap.deselects, deselects + 1);
	assert_int_equal(tap.flag, 0);
	assert_int_equal(xfer("00 12 00 00"), 0x6D00);
	/* P2 0C: no FCI */
	assert_int_equal(xfer("00 A4 04 0C 05 A0 00 00 00 01"), 0x9000);
	assert_int_equal(fx.rlen, 0);
}

static void
test_no_applet(void **unused)
{
	(void)unused;
	XFER_STEPS(
		{ "00 12 00 00", 0x6D00 },
		{ "00 A4 00 00 02 20 02", 0x6A82 },
		{ "00 C0 00 00 00", 0x6985 },
		/* by file id */
		{ "00 A4 00 00 02 10 01", 0x9000 }
	);
	assert_int_equal(fx.rlen, 2);
	assert_int_equal(fx.resp[1], 1);	/* which = n_aids */
	assert_int_equal(xfer("00 12 00 00"), 0x9000);
}

static void
test_cla_and_length(void **unused)
{
	(void)unused;
	XFER_STEPS(
		{ SELECT_TAP, 0x9000 },
		{ "A0 12 00 00", 0x6E00 },
		{ "FF 12 00 00", 0x6E00 },
		{ "40 12 00 00", 0x6E00 },
		{ "01 12 00 00", 0x6881 },
		{ "83 12 00 00", 0x6881 },
		{ "80 12 00 00", 0x9000 },
		{ "00 12 00", 0x6700 },
		{ "", 0x6700 },
		{ "00 12 00 00 05 01", 0x6700 },
		{ "00 12 00 00 01 01 00 00", 0x6700 },
		{ "00 12 00 00 00 00", 0x6700 }
	);
	assert_int_equal(fx.rlen, 0);
	/* still selected after all that */
	assert_int_equal(xfer("00 12 00 00"), 0x9000);
}

static void
test_chaining(void **unused)
{
	uint8_t c[300];
	uint16_t sw;

	(void)unused;
	assert_int_equal(xfer(SELECT_TAP), 0x9000);
	memset(c, 0x11, sizeof(c));
	memcpy(c, "\x10\x30\x00\x00\xFF", 5);
	c[5] = 0xAB;
	assert_int_equal(xfer_raw(c, 260, sizeof(fx.resp)), 0x9000);
	assert_int_equal(fx.rlen, 0);
	/* an intermediate fragment may carry Le */
	c[260] = 0x00;
	assert_int_equal(xfer_raw(c, 261, sizeof(fx.resp)), 0x9000);
	assert_int_equal(xfer("00 30 00 00 02 11 CD 00"), 0x9000);
	assert_int_equal(fx.rlen, 4);
	assert_int_equal((fx.resp[0] << 8) | fx.resp[1], 512);
	assert_int_equal(fx.resp[2], 0xAB);
	assert_int_equal(fx.resp[3], 0xCD);
	/* a different command aborts the chain */
	assert_int_equal(xfer("10 30 00 00 02 01 02"), 0x9000);
	assert_int_equal(xfer("00 12 00 00"), 0x9000);
	assert_int_equal(xfer("00 30 00 00 01 07"), 0x9000);
	assert_int_equal(fx.rlen, 4);
	assert_int_equal((fx.resp[0] << 8) | fx.resp[1], 1);
	/* so does a fragment with other P1/P2 */
	assert_int_equal(xfer("10 30 00 00 02 01 02"), 0x9000);
	assert_int_equal(xfer("00 30 00 01 01 07"), 0x9000);
	assert_int_equal((fx.resp[0] << 8) | fx.resp[1], 1);
	/* more than 64 KiB: 6A84 and the chain is gone */
	memset(c, 0x22, sizeof(c));
	memcpy(c, "\x10\x30\x00\x00\xFF", 5);
	sw = 0x9000;
	for (int i = 0; i < 300 && sw == 0x9000; i++)
		sw = xfer_raw(c, 260, sizeof(fx.resp));
	assert_int_equal(sw, 0x6A84);
	assert_int_equal(xfer("00 30 00 00 01 07"), 0x9000);
	assert_int_equal((fx.resp[0] << 8) | fx.resp[1], 1);
}

static void
test_get_response(void **unused)
{
	(void)unused;
	assert_int_equal(xfer(SELECT_TAP), 0x9000);
	/* 300 bytes, no Le: 256 + 61 2C, then the rest */
	assert_int_equal(xfer("00 40 01 2C"), 0x612C);
	assert_int_equal(fx.rlen, 256);
	assert_int_equal(fx.resp[255], 0xFF);
	assert_int_equal(xfer("00 C0 00 00 2C"), 0x9000);
	assert_int_equal(fx.rlen, 44);
	assert_int_equal(fx.resp[0], 0x00);
	assert_int_equal(fx.resp[43], 43);
	assert_int_equal(xfer("00 C0 00 00 00"), 0x6985);
	/* Le 10: 16 bytes + 6100 (284 left) */
	assert_int_equal(xfer("00 40 01 2C 10"), 0x6100);
	assert_int_equal(fx.rlen, 16);
	assert_int_equal(xfer("00 C0 00 00 00"), 0x611C);
	assert_int_equal(fx.rlen, 256);
	assert_int_equal(fx.resp[0], 16);
	assert_int_equal(xfer("00 C0 00 00 08"), 0x6114);
	assert_int_equal(fx.rlen, 8);
	assert_int_equal(xfer("00 C0 00 00 1C"), 0x9000);
	assert_int_equal(fx.rlen, 20);
	/* short Le on a short answer, e.g. OpenSC's 8-byte probe */
	assert_int_equal(xfer("00 40 00 20 08"), 0x6118);
	assert_int_equal(fx.rlen, 8);
	/* pending data is dropped by any other command */
	assert_int_equal(xfer("00 12 00 00"), 0x9000);
	assert_int_equal(xfer("00 C0 00 00 00"), 0x6985);
	/* a small response buffer leaves the rest pending */
	assert_int_equal(xfer_raw((const uint8_t *)"\x00\x40\x00\x20", 4, 10),
	    0x6118);
	assert_int_equal(fx.rlen, 8);
	/* wrong P1P2 on GET RESPONSE */
	assert_int_equal(xfer("00 C0 01 00 00"), 0x6A86);
}

static void
test_error_drops_data_and_writes(void **unused)
{
	(void)unused;
	assert_int_equal(xfer(SELECT_TAP), 0x9000);
	assert_int_equal(xfer("00 50 00 00"), 0x6A80);
	assert_int_equal(fx.rlen, 0);
	assert_int_equal(xfer("00 52 00 00"), 0x6283);
	assert_int_equal(fx.rlen, 1);
	XFER_STEPS(
		{ "00 20 01 00", 0x6A80 },
		{ "00 22 00 00", 0x6A88 },
		{ "00 20 00 00", 0x9000 },
		{ "00 22 00 00", 0x9000 }
	);
	assert_int_equal(fx.rlen, 2);
	assert_int_equal(fx.resp[0], 0xCA);
}

static void
test_wkinfo(void **unused)
{
	uint8_t c[4200];
	uint16_t sw;

	(void)unused;
	assert_int_equal(xfer(SELECT_INFO), 0x9000);
	assert_int_equal(fx.rlen, 28);
	assert_int_equal(fx.resp[0], 0x6F);
	assert_memory_equal(fx.resp + 15, vc_card_serial(fx.card), 8);
	assert_int_equal(xfer("00 CA 00 01 00"), 0x9000);
	assert_memory_equal(fx.resp, vc_card_serial(fx.card), 8);
	assert_int_equal(xfer("00 CA 00 03 00"), 0x6A88);
	/* the label (docs/holder.md): none, set, in the FCI, kept, removed */
	assert_int_equal(xfer("00 CA 00 02 00"), 0x9000);
	assert_int_equal(fx.rlen, 0);
	assert_int_equal(xfer("00 DA 00 02 09 4D 79 20 6B 65 79 20 E6 88"), 0x6A80);
	assert_int_equal(xfer("00 DA 00 02 0A 4D 79 20 6B 65 79 20 E6 88 91"),
	    0x9000);
	assert_int_equal(xfer("00 CA 00 02 00"), 0x9000);
	assert_int_equal(fx.rlen, 10);
	assert_memory_equal(fx.resp, "My key \xE6\x88\x91", 10);
	assert_int_equal(xfer(SELECT_INFO), 0x9000);
	assert_int_equal(fx.rlen, 28 + 12);
	assert_memory_equal(fx.resp + 28, "\x82\x0AMy key \xE6\x88\x91", 12);
	/* bad labels change nothing: control characters, C1, overlong,
	 * surrogates, too long, a wrong P2 */
	XFER_STEPS(
		{ "00 DA 00 02 03 61 0A 62", 0x6A80 },
		{ "00 DA 00 02 03 61 7F 62", 0x6A80 },
		{ "00 DA 00 02 02 C2 85", 0x6A80 },
		{ "00 DA 00 02 02 C0 AF", 0x6A80 },
		{ "00 DA 00 02 03 ED A0 80", 0x6A80 }
	);
	assert_int_equal(xfer("00 DA 00 02 21 "
	    "41414141414141414141414141414141414141414141414141414141414141414141"
	    ""), 0x6700);
	assert_int_equal(xfer("00 DA 00 01 01 41"), 0x6A88);
	assert_int_equal(xfer("00 CA 00 02 00"), 0x9000);
	assert_int_equal(fx.rlen, 10);
	assert_int_equal(xfer("00 DA 00 02 00"), 0x9000);
	assert_int_equal(xfer("00 CA 00 02 00"), 0x9000);
	assert_int_equal(fx.rlen, 0);
	assert_int_equal(xfer(SELECT_INFO), 0x9000);
	assert_int_equal(fx.rlen, 28);
	assert_int_equal(xfer("00 EE 02 00 00"), 0x6A86);
	assert_int_equal(xfer("00 EE 01 00 01 01"), 0x6700);
	/* extended 4 KB echo comes back whole */
	c[0] = 0x00; c[1] = 0xEE; c[2] = 0; c[3] = 0;
	c[4] = 0; c[5] = 0x10; c[6] = 0x00;
	for (size_t i = 0; i < 4096; i++)
		c[7 + i] = (uint8_t)(i * 7);
	c[7 + 4096] = 0;
	c[8 + 4096] = 0;
	sw = xfer_raw(c, 9 + 4096, sizeof(fx.resp));
	assert_int_equal(sw, 0x9000);
	assert_int_equal(fx.rlen, 4096);
	assert_memory_equal(fx.resp, c + 7, 4096);
	/* extended PATTERN of 65535 bytes: as much as vpcd carries, rest pending */
	sw = xfer("00 EE 01 00 00 00 02 FF FF 00 00");
	assert_int_equal(sw, 0x6102);
	assert_int_equal(fx.rlen, WK_VPCD_MAX_PAYLOAD - 2);
	assert_int_equal(xfer("00 C0 00 00 00"), 0x9000);
	assert_int_equal(fx.rlen, 2);
}

static void
test_power(void **unused)
{
	uint8_t atr[64];
	const uint8_t want[] = { WK_ATR_BYTES };
	size_t n;

	(void)unused;
	assert_int_equal(vc_card_control(fx.card, WK_VPCD_GET_ATR, atr,
	    sizeof(atr), &n), VC_CARD_OK);
	assert_int_equal(n, WK_ATR_LEN);
	assert_memory_equal(atr, want, n);
	assert_int_equal(vc_card_control(fx.card, 0x03, atr, sizeof(atr), &n),
	    VC_CARD_ARG);
	XFER_STEPS(
		{ SELECT_TAP, 0x9000 },
		{ "00 10 00 00", 0x9000 },
		{ "00 40 01 2C", 0x612C },
		{ "10 30 00 00 01 01", 0x9000 }
	);
	assert_int_equal(vc_card_control(fx.card, WK_VPCD_POWER_OFF, NULL, 0,
	    &n), VC_CARD_OK);
	assert_int_equal(n, 0);
	assert_int_equal(tap.flag, 0);
	assert_int_equal(vc_card_control(fx.card, WK_VPCD_POWER_ON, NULL, 0,
	    &n), VC_CARD_OK);
	XFER_STEPS(
		{ "00 C0 00 00 00", 0x6985 },
		{ "00 12 00 00", 0x6D00 },
		/* the chain is gone: this command stands alone */
		{ SELECT_TAP, 0x9000 },
		{ "00 30 00 00 01 07", 0x9000 }
	);
	assert_int_equal((fx.resp[0] << 8) | fx.resp[1], 1);
}

static void
test_default_selected(void **unused)
{
	vc_card_opts o = { .applets = applets, .n_applets = 2 };
	size_t n;

	(void)unused;
	vc_card_free(&fx.card);
	tap_applet.default_selected = true;
	assert_int_equal(vc_card_new(fx.st, &o, &fx.card), VC_CARD_OK);
	assert_int_equal(xfer("00 12 00 00"), 0x9000);
	assert_int_equal(xfer("00 10 00 00"), 0x9000);
	assert_int_equal(xfer(SELECT_INFO), 0x9000);
	assert_int_equal(vc_card_control(fx.card, WK_VPCD_RESET, NULL, 0, &n),
	    VC_CARD_OK);
	assert_int_equal(xfer("00 12 00 00"), 0x9000);
	assert_int_equal(fx.resp[0], 0);
}

static char trace[8192];

static void
capture(unsigned category, const char *line, void *arg)
{
	size_t have = strlen(trace);

	(void)category;
	(void)arg;
	snprintf(trace + have, sizeof(trace) - have, "%s\n", line);
}

static void
test_trace_masks_secrets(void **unused)
{
	(void)unused;
	trace[0] = '\0';
	wk_log_set_sink(capture, NULL);
	wk_log_set(WK_LOG_APDU);
	XFER_STEPS(
		{ SELECT_TAP, 0x9000 },
		/* the test applet masks the whole data of INS 24 */
		{ "00 24 00 80 04 31 32 33 34", 0x6D00 },
		{ "10 24 00 80 02 35 36", 0x9000 },
		{ "00 24 00 80 02 37 38", 0x6D00 },
		/* a chain judged whole: every fragment after the one that names the
		 * object is masked, even when the name is split across fragments */
		{ "10 26 00 00 07 5C 03 5F C1 09 41 41", 0x9000 },
		{ "10 26 00 00 03 42 42 42", 0x9000 },
		{ "00 26 00 00 02 43 43", 0x6D00 },
		{ "10 26 00 00 02 5C 03", 0x9000 },
		{ "10 26 00 00 05 5F C1 09 44 44", 0x9000 },
		{ "00 26 00 00 02 45 45", 0x6D00 },
		/* a range inside the joined data, across fragments */
		{ "10 26 00 00 04 01 02 46 46", 0x9000 },
		{ "00 26 00 00 02 47 47", 0x6D00 }
	);
	wk_log_set(0);
	wk_log_set_sink(NULL, NULL);
	assert_non_null(strstr(trace, "00 24 00 80 04 ** ** ** **"));
	assert_non_null(strstr(trace, "10 24 00 80 02 ** **"));
	assert_non_null(strstr(trace, "00 24 00 80 02 ** **"));
	assert_null(strstr(trace, "31 32"));
	assert_null(strstr(trace, "35 36"));
	assert_non_null(strstr(trace, "10 26 00 00 07 ** ** ** ** ** ** **"));
	assert_non_null(strstr(trace, "10 26 00 00 03 ** ** **"));
	assert_non_null(strstr(trace, "00 26 00 00 02 ** **"));
	assert_non_null(strstr(trace, "10 26 00 00 05 ** ** ** ** **"));
	assert_non_null(strstr(trace, "10 26 00 00 04 01 02 ** **"));
	for (const char *p = "41 41\0" "42 42\0" "43 43\0" "44 44\0" "45 45\0"
	    "46 46\0" "47 47\0"; *p != '\0'; p += strlen(p) + 1)
		if (strstr(trace, p) != NULL)
			fail_msg("%s in the trace:\n%s", p, trace);
	/* other commands are shown */
	assert_non_null(strstr(trace, "A0 00 00 00 01"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_select_keeps_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_applet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cla_and_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chaining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_drops_data_and_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wkinfo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_power, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_selected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_masks_secrets, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
