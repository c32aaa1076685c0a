/*
 * a hostile relay for online payments (docs/security.md "Online
 * payments"): a process on the holder's machine, with the purse PIN
 * (WALLETKEY_PIN: malware that saw it), between the issuer and the card.
 * It uses libwalletkey's plain calls as any process may. Each mode prints
 * what happened and exits 0 when the attack worked, 1 when it was
 * refused, 2 on a usage or setup error.
 *
 *   request-flips READER URL ID   every byte of the issuer's request for
 *                                 payment ID flipped in turn, each put to
 *                                 the card after VERIFY; worked when the
 *                                 card signed any
 *   other-card READER URL OTHER ID the request of payment ID for the card
 *                                 in reader OTHER (read with that card's
 *                                 session) put to this card
 *   confirm-flip READER URL ID N  the card signs payment ID (accepted), the
 *                                 relay flips byte N (from the end when
 *                                 negative) of the confirmation and
 *                                 posts it; worked when the issuer paid
 *   save-request READER URL ID F  writes the open request of payment ID
 *                                 to F (what a relay keeps)
 *   replay READER URL ID F        the card's answer to the request in F
 *                                 (given before) posted three more times;
 *                                 prints the issuer's answers (the script
 *                                 checks the money)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walletkey.h"

#define WORKED 0
#define REFUSED 1
#define SETUP 2

static wk_ctx *ctx;
static wk_issuer *is;

static wk_card *
open_card(const char *reader, char id[17])
{
	wk_card_info info;
	wk_card *c = NULL;
	int rc;

	if ((rc = wk_card_open(ctx, reader, &c)) != WK_OK ||
	    (rc = wk_card_get_info(c, &info)) != WK_OK) {
		fprintf(stderr, "pay_attack: %s: %s\n", reader, wk_strerror(rc));
		exit(SETUP);
	}
	for (int i = 0; i < 8; i++)
		snprintf(id + 2 * i, 3, "%02x", info.serial[i]);
	return c;
}

static void
verify(wk_card *c)
{
	const char *pin = getenv("WALLETKEY_PIN");
	int rc;

	if ((rc = wk_purse_select(c, NULL, 0, NULL)) != WK_OK ||
	    pin == NULL || (rc = wk_purse_verify_pin(c, pin, strlen(pin),
	    NULL)) != WK_OK) {
		fprintf(stderr, "pay_attack: VERIFY: %s\n", wk_strerror(rc));
		exit(SETUP);
	}
}

/* the request of payment id from card's open list */
static void
request_of(const char *card, const char *id, wk_pay_request *out)
{
	static wk_pay_request list[32];
	size_t n = 0;
	int rc;

	if ((rc = wk_issuer_pay_pending(is, card, 0, list, 32, &n)) != WK_OK) {
		fprintf(stderr, "pay_attack: pending: %s %s\n", wk_strerror(rc),
		    wk_issuer_error_message(is));
		exit(SETUP);
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].id, id) == 0) {
			*out = list[i];
			return;
		}
	fprintf(stderr, "pay_attack: payment %s is not open for card %s\n", id,
	    card);
	exit(SETUP);
}

static int
request_flips(wk_card *c, const char *card, const char *id)
{
	wk_pay_request req;
	uint8_t ans[WK_WALLET_MSG_MAX];
	size_t n;
	uint16_t sw;
	int signed_ = 0, refused = 0;

	request_of(card, id, &req);
	verify(c);
	for (size_t i = 0; i < req.msg_len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			req.msg[i] ^= (uint8_t)(1u << bit);
			n = sizeof(ans);
			if (wk_pay_card_confirm(c, req.msg, req.msg_len, true, ans, &n,
			    &sw) == WK_OK) {
				printf("byte %zu bit %d: the card signed\n", i, bit);
				signed_++;
			} else {
				refused++;
			}
			req.msg[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* nothing kept for the true request either */
	n = sizeof(ans);
	if (wk_pay_card_answer(c, req.msg, req.msg_len, false, ans, &n, &sw) !=
	    WK_ERR_NOT_FOUND) {
		printf("the card holds an answer for the request\n");
		signed_++;
	}
	printf("%d changed requests refused, %d signed\n", refused, signed_);
	return signed_ > 0 ? WORKED : REFUSED;
}

static void
session(wk_card *c)
{
	int rc;

	/* the issuer's doors of a card want its session: the card signs the
	 * issuer's challenge (docs/issuer.md "Sessions") */
	if ((rc = wk_issuer_session_open(c, is, NULL, 0, NULL, NULL)) != WK_OK) {
		fprintf(stderr, "pay_attack: session: %s %s\n", wk_strerror(rc),
		    wk_issuer_error_message(is));
		exit(SETUP);
	}
}

static int
other_card(wk_card *c, const char *reader, const char *id)
{
	wk_pay_request req;
	uint8_t ans[WK_WALLET_MSG_MAX];
	char other[17];
	wk_card *o = open_card(reader, other);
	size_t n = sizeof(ans);
	uint16_t sw = 0;
	int rc;

	session(o);
	request_of(other, id, &req);
	wk_card_free(&o);
	verify(c);
	rc = wk_pay_card_confirm(c, req.msg, req.msg_len, true, ans, &n, &sw);
	printf("another card's request: %s (SW %04X)\n", wk_strerror(rc),
	    (unsigned)sw);
	return rc == WK_OK ? WORKED : REFUSED;
}

static int
confirm_flip(wk_card *c, const char *card, const char *id, long byte)
{
	wk_pay_request req;
	wk_pay_result res;
	uint8_t ans[WK_WALLET_MSG_MAX];
	size_t n = sizeof(ans);
	uint16_t sw;
	int rc;

	request_of(card, id, &req);
	verify(c);
	if ((rc = wk_pay_card_confirm(c, req.msg, req.msg_len, true, ans, &n,
	    &sw)) != WK_OK) {
		fprintf(stderr, "pay_attack: the card: %s\n", wk_strerror(rc));
		return SETUP;
	}
	/* from the end when negative */
	if (byte < 0)
		byte += (long)n;
	if (byte < 0 || (size_t)byte >= n)
		return SETUP;
	ans[byte] ^= 0x01;
	rc = wk_issuer_pay_answer(is, id, ans, n, NULL, 0, &res);
	printf("issuer: %s %s %s %s\n", wk_strerror(rc), res.status, res.error,
	    rc == WK_OK ? res.message : wk_issuer_error_code(is));
	return rc == WK_OK && strcmp(res.status, "paid") == 0 ? WORKED : REFUSED;
}

static int
save_request(const char *card, const char *id, const char *path)
{
	wk_pay_request req;
	FILE *f;

	request_of(card, id, &req);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(req.msg, 1, req.msg_len, f) != req.msg_len || fclose(f) != 0)
		return SETUP;
	return REFUSED;
}

static int
replay(wk_card *c, const char *id, const char *path)
{
	uint8_t ans[WK_WALLET_MSG_MAX], msg[WK_WALLET_MSG_MAX];
	wk_pay_result res;
	size_t n = sizeof(ans), len;
	uint16_t sw;
	FILE *f;
	int rc;

	if ((f = fopen(path, "rb")) == NULL)
		return SETUP;
	len = fread(msg, 1, sizeof(msg), f);
	fclose(f);
	if ((rc = wk_purse_select(c, NULL, 0, NULL)) != WK_OK ||
	    (rc = wk_pay_card_answer(c, msg, len, false, ans, &n, &sw)) != WK_OK) {
		fprintf(stderr, "pay_attack: no answer on the card: %s\n",
		    wk_strerror(rc));
		return SETUP;
	}
	for (int i = 0; i < 3; i++) {
		rc = wk_issuer_pay_answer(is, id, ans, n, NULL, 0, &res);
		printf("post %d: %s %s %s\n", i, wk_strerror(rc), res.status,
		    rc == WK_OK ? res.error : wk_issuer_error_code(is));
	}
	return REFUSED;
}

int
main(int argc, char **argv)
{
	wk_card *c;
	char card[17];
	int rc;

	if (argc < 5) {
		fprintf(stderr, "usage: pay_attack MODE READER URL ARGS...\n");
		return SETUP;
	}
	if (wk_ctx_new(&ctx) != WK_OK || wk_issuer_new(argv[3], &is) != WK_OK)
		return SETUP;
	c = open_card(argv[2], card);
	if (strcmp(argv[1], "other-card") != 0)
		session(c);
	if (strcmp(argv[1], "request-flips") == 0)
		rc = request_flips(c, card, argv[4]);
	else if (strcmp(argv[1], "other-card") == 0 && argc == 6)
		rc = other_card(c, argv[4], argv[5]);
	else if (strcmp(argv[1], "confirm-flip") == 0 && argc == 6)
		rc = confirm_flip(c, card, argv[4], strtol(argv[5], NULL, 10));
	else if (strcmp(argv[1], "save-request") == 0 && argc == 6)
		rc = save_request(card, argv[4], argv[5]);
	else if (strcmp(argv[1], "replay") == 0 && argc == 6)
		rc = replay(c, argv[4], argv[5]);
	else
		rc = SETUP;
	wk_card_free(&c);
	wk_issuer_free(&is);
	wk_ctx_free(&ctx);
	return rc;
}
