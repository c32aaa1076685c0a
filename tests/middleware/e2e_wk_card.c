/*
 * libwalletkey against the real card in a sandbox (run by walletkey-sandbox):
 * wk_card_apdu with extended length, then forced to short APDUs with command
 * chaining and GET RESPONSE; transactions; removal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_internal.h"

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		failures++; \
	} \
} while (0)

static const uint8_t info_aid[] = { 0xF0, 0x57, 0x4B, 0x49, 0x4E, 0x46, 0x4F };

static void
echo_round_trip(wk_card *card, size_t n, size_t le, const char *how)
{
	uint8_t *data = malloc(n), *resp = malloc(n + 16);
	size_t rlen = n + 16;
	uint16_t sw = 0;
	int rc;

	if (data == NULL || resp == NULL) {
		failures++;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 13 + 1);
	rc = wk_card_apdu(card, 0x00, 0xEE, 0x00, 0x00, data, n, le, resp,
	    &rlen, &sw);
	CHECK(rc == WK_OK, "%s ECHO %zu: %s", how, n, wk_strerror(rc));
	CHECK(sw == 0x9000, "%s ECHO %zu: SW %04X", how, n, sw);
	CHECK(rlen == n, "%s ECHO %zu: %zu bytes back", how, n, rlen);
	CHECK(rlen != n || memcmp(resp, data, n) == 0, "%s ECHO %zu: data differ", how, n);
out:
	free(data);
	free(resp);
}

int
main(void)
{
	wk_ctx *ctx = NULL;
	wk_card *card = NULL;
	wk_card_info info;
	uint8_t resp[512], small[8];
	size_t rlen;
	uint16_t sw = 0;
	int rc;

	if ((rc = wk_ctx_new(&ctx)) != WK_OK ||
	    (rc = wk_card_open(ctx, NULL, &card)) != WK_OK) {
		fprintf(stderr, "FAIL: open: %s\n", wk_strerror(rc));
		return 1;
	}
	CHECK(wk_card_is_walletkey(card), "not a walletkey card");
	CHECK(strcmp(wk_card_reader(card), getenv("WALLETKEY_READER_0")) == 0,
	    "opened %s", wk_card_reader(card));
	CHECK(wk_card_get_info(card, &info) == WK_OK, "card info");

	/* extended length: one exchange each */
	rlen = sizeof(resp);
	rc = wk_card_apdu(card, 0x00, 0xA4, 0x04, 0x00, info_aid,
	    sizeof(info_aid), 256, resp, &rlen, &sw);
	CHECK(rc == WK_OK && sw == 0x9000, "SELECT: %s %04X", wk_strerror(rc), sw);
	echo_round_trip(card, 4096, 65536, "extended");
	echo_round_trip(card, 65535 - 16, 65536, "extended");

	/* short APDUs only: chaining out, GET RESPONSE back */
	card->extended = false;
	CHECK(wk_card_begin(card) == WK_OK, "begin");
	CHECK(wk_card_begin(card) == WK_OK, "nested begin");
	echo_round_trip(card, 600, 256, "chained");
	echo_round_trip(card, 4096, 256, "chained");
	CHECK(wk_card_end(card) == WK_OK, "nested end");
	CHECK(wk_card_end(card) == WK_OK, "end");
	CHECK(wk_card_end(card) == WK_ERR_ARG, "end without begin");

	/* PATTERN of 300 bytes: 256 then 61 2C then GET RESPONSE */
	rlen = sizeof(resp);
	rc = wk_card_apdu(card, 0x00, 0xEE, 0x01, 0x00,
	    (const uint8_t *)"\x01\x2c", 2, 256, resp, &rlen, &sw);
	CHECK(rc == WK_OK && sw == 0x9000 && rlen == 300, "PATTERN: %s %04X %zu",
	    wk_strerror(rc), sw, rlen);
	for (size_t i = 0; i < rlen && i < 300; i++)
		if (resp[i] != (uint8_t)i) {
			CHECK(0, "PATTERN byte %zu", i);
			break;
		}
	/* too small a buffer: WK_ERR_ARG */
	rlen = sizeof(small);
	rc = wk_card_apdu(card, 0x00, 0xEE, 0x01, 0x00,
	    (const uint8_t *)"\x01\x2c", 2, 256, small, &rlen, &sw);
	CHECK(rc == WK_ERR_ARG, "small buffer: %s", wk_strerror(rc));
	/* an unknown INS is an exchange that happened, with its SW */
	rlen = sizeof(resp);
	rc = wk_card_apdu(card, 0x00, 0x7F, 0x00, 0x00, NULL, 0, 0, resp, &rlen, &sw);
	CHECK(rc == WK_OK && sw == 0x6D00, "unknown INS: %s %04X", wk_strerror(rc), sw);
	CHECK(wk_rc_from_sw(sw) == WK_ERR_NOT_SUPPORTED, "6D00 mapping");

	/* the card goes away: WK_ERR_CARD_REMOVED, not a hang */
	if (system("\"$WALLETKEY_SANDBOX/bin/card-kill\" 0") != 0)
		CHECK(0, "card-kill");
	rlen = sizeof(resp);
	rc = wk_card_apdu(card, 0x00, 0xA4, 0x04, 0x00, info_aid,
	    sizeof(info_aid), 256, resp, &rlen, &sw);
	CHECK(rc == WK_ERR_CARD_REMOVED, "after removal: %s", wk_strerror(rc));
	wk_card_free(&card);
	CHECK(card == NULL, "free sets NULL");
	rc = wk_card_open(ctx, NULL, &card);
	CHECK(rc == WK_ERR_NO_CARD, "open with no card: %s", wk_strerror(rc));
	rc = wk_card_open(ctx, "no such reader", &card);
	CHECK(rc == WK_ERR_NO_READER, "open unknown reader: %s", wk_strerror(rc));
	wk_card_free(&card);
	wk_ctx_free(&ctx);
	CHECK(ctx == NULL, "ctx free sets NULL");
	if (failures == 0)
		printf("ok\n");
	return failures == 0 ? 0 : 1;
}
