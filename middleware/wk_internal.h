/* libwalletkey internals shared by its modules and its unit tests */
#ifndef WK_INTERNAL_H
#define WK_INTERNAL_H

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include "walletkey.h"

/* a short APDU answers at most 256 bytes, an extended one 65536 */
#define WK_RESP_MAX (65536u + 2u)
/* GET RESPONSE rounds before the card is declared broken (65536 / 256 + slack) */
#define WK_GET_RESPONSE_MAX 260u

struct wk_ctx {
	SCARDCONTEXT sc;
};

struct wk_card {
	wk_ctx *ctx;
	SCARDHANDLE h;
	DWORD proto;
	char reader[128];
	uint8_t atr[33];
	size_t atr_len;
	bool walletkey;
	bool extended;		/* the card takes extended Lc/Le */
	unsigned depth;		/* nested wk_card_begin() calls */
	bool trace_secret;	/* --verbose masks the next commands' data and answers */
};

/* the clients (PIV, purse) mark exchanges whose data or answer is secret
 * (decrypted data, shared secrets, PIN-protected objects): the trace then
 * shows only headers, lengths and status words */
void wk_card_trace_secret(wk_card *card, bool on);

/*
 * one raw exchange: apdu out, response data + SW1 SW2 in. *resp_len is the
 * capacity on entry and the received length on return.
 */
typedef int wk_xfer_fn(void *arg, const uint8_t *apdu, size_t len,
    uint8_t *resp, size_t *resp_len);

typedef struct wk_transport {
	wk_xfer_fn *xfer;
	void *arg;
	bool extended;
	bool secret;		/* mask data both ways in the trace */
} wk_transport;

/* one command of an applet's client: wk_card_apdu() with the status word
 * as a wk_rc; resp NULL: no answer wanted (rlen may be NULL) */
int wk_card_cmd(wk_card *card, uint8_t cla, uint8_t ins, uint8_t p1,
    uint8_t p2, const uint8_t *data, size_t lc, size_t le, uint8_t *resp,
    size_t *rlen);

/* the APDU client of wk_card_apdu() over any transport (unit tests use a fake) */
int wk_apdu_exchange(const wk_transport *t, uint8_t cla, uint8_t ins,
    uint8_t p1, uint8_t p2, const uint8_t *data, size_t lc, size_t le,
    uint8_t *resp, size_t *resp_len, uint16_t *sw);

/*
 * picks a reader from a list: the exact name, else the only name starting
 * with want (WK_ERR_ARG when several do), else with want NULL the first
 * walletkey card, else the first card. WK_ERR_NO_READER, WK_ERR_NO_CARD.
 */
int wk_pcsc_choose(const wk_reader_info *r, size_t n, const char *want,
    size_t *which);
/* PC/SC return code to wk_rc */
int wk_pcsc_rc(LONG rv);
/* the transport of a connected card: wk_card_transmit() with reconnect on reset */
int wk_pcsc_xfer(void *card, const uint8_t *apdu, size_t len, uint8_t *resp,
    size_t *resp_len);

#endif
