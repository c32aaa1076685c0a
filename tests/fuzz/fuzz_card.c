/*
 * the card runtime: a stream of vpcd frames (1 byte: control code, longer:
 * APDU) through vc_card with every registered applet, on one temporary store
 * kept for the run. Checks the layer's promises on every response.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "vc_card.h"
#include "wk_log.h"
#include "wk_vpcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vc_store *st;
static vc_card *card;
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
	    "card.db-shm", "walletkey-seal.key" };
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
	vc_card_opts o = { .init = true };
	const char *tmp = getenv("TMPDIR");
	char path[320];

	if (sodium_init() < 0)
		abort();
	snprintf(dir, sizeof(dir), "%.200s/fuzz_card.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/card.db", dir);
	if (vc_store_create(path, NULL, &st) != VC_STORE_OK ||
	    vc_card_new(st, &o, &card) != VC_CARD_OK)
		abort();
	/* trace everything into nowhere: the masking code runs too */
	wk_log_set_sink(null_sink, NULL);
	wk_log_set(WK_LOG_ALL);
	atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0, len, n;
	int steps = 0;

	if (card == NULL)
		start();
	vc_card_control(card, WK_VPCD_RESET, NULL, 0, &n);
	while (size - at >= 2 && steps++ < 64) {
		len = ((size_t)data[at] << 8) | data[at + 1];
		at += 2;
		if (len > size - at)
			len = size - at;
		if (len == 1) {
			vc_card_control(card, data[at], resp, sizeof(resp), &n);
			if (n > 33)
				__builtin_trap();
		} else if (vc_card_apdu(card, data + at, len, resp,
		    sizeof(resp), &n) != VC_CARD_OK || n < 2 ||
		    n > sizeof(resp)) {
			__builtin_trap();
		} else if (len > 0) {
			uint8_t sw1 = resp[n - 2];

			/* short commands never get more than 256 data bytes */
			if (len < 7 && n > 258)
				__builtin_trap();
			/* error status words carry no data */
			if (n > 2 && sw1 != 0x90 && sw1 != 0x61 &&
			    sw1 != 0x62 && sw1 != 0x63)
				__builtin_trap();
		}
		at += len;
	}
	return 0;
}
