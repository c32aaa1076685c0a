/*
 * libwalletkey: the library's errors and trace, the PC/SC context, readers and cards, one
 * APDU.
 * Part of <walletkey.h>, which includes every part; see there for the
 * conventions.
 */
#ifndef WALLETKEY_CORE_H
#define WALLETKEY_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wk_rc {
	WK_OK = 0,
	WK_ERR_ARG = -1,		/* a bad argument from the caller */
	WK_ERR_MEMORY = -2,
	WK_ERR_PCSC = -3,		/* PC/SC service unavailable or failing */
	WK_ERR_NO_READER = -4,
	WK_ERR_NO_CARD = -5,
	WK_ERR_CARD_REMOVED = -6,
	WK_ERR_TRANSPORT = -7,		/* the exchange with the card failed */
	WK_ERR_CARD_MALFORMED = -8,	/* the card's answer does not parse */
	WK_ERR_SW = -9,			/* an unexpected status word; see the sw out-parameter */
	WK_ERR_WRONG_PIN = -10,
	WK_ERR_PIN_BLOCKED = -11,
	WK_ERR_AUTH_REQUIRED = -12,	/* security status not satisfied: VERIFY or authenticate first */
	WK_ERR_NOT_FOUND = -13,		/* object, key, file or application not on the card */
	WK_ERR_NOT_SUPPORTED = -14,
	WK_ERR_BAD_DATA = -15,		/* the card refused the data field */
	WK_ERR_CONDITIONS = -16,	/* conditions of use not satisfied */
	WK_ERR_NO_SPACE = -17,
	WK_ERR_BAD_PARAMS = -18,	/* the card refused P1/P2 */
	WK_ERR_WRONG_LENGTH = -19,
	WK_ERR_INVALID_STATE = -20,	/* command out of sequence */
	WK_ERR_MAC = -21,		/* a purse MAC did not verify */
	WK_ERR_FUNDS = -22,		/* insufficient funds */
	WK_ERR_LIMIT = -23,		/* counter or balance limit reached */
	WK_ERR_KEY_NOT_FOUND = -24,	/* no purse key of that index (card) or algorithm (SAM, PSAM) */
	WK_ERR_AUTH_FAILED = -25,	/* management key or signature check failed */
	WK_ERR_CRYPTO = -26,		/* host-side cryptography failed */
	WK_ERR_NETWORK = -27,		/* the issuer could not be reached */
	WK_ERR_ISSUER = -28,		/* the issuer refused the request */
	WK_ERR_IO = -29,		/* a host file could not be read or written */
	WK_ERR_INTERNAL = -30,
	WK_ERR_PURSE_BLOCKED = -31,	/* the purse application is blocked (6A81/9303) */
	WK_ERR_CANCELLED = -32,		/* the holder (a flow's confirmation) said no */
	WK_ERR_LAST = WK_ERR_CANCELLED,	/* the lowest code */
} wk_rc;

const char *wk_strerror(int rc);

/* the library's debug trace on stderr: PC/SC calls and APDUs, with PINs,
 * keys, MACs and secret answers masked; off by default */
enum {
	WK_TRACE_APDU = 1u << 0,
	WK_TRACE_LINK = 1u << 1,
	WK_TRACE_ALL = 0xFFFFu,
};
void wk_set_trace(unsigned categories);
/* the one translation of a status word into a wk_rc (WK_OK for 9000/61xx) */
int wk_rc_from_sw(uint16_t sw);

typedef struct wk_ctx wk_ctx;
typedef struct wk_card wk_card;

int wk_ctx_new(wk_ctx **out);
void wk_ctx_free(wk_ctx **ctx);

typedef struct wk_reader_info {
	char name[128];
	bool card_present;
	uint8_t atr[33];
	size_t atr_len;
	bool walletkey;		/* the ATR is a walletkey card's */
} wk_reader_info;

/* lists readers; *out is freed with free() */
int wk_list_readers(wk_ctx *ctx, wk_reader_info **out, size_t *n);

/* waits until a reader or a card comes or goes (SCardGetStatusChange with
 * the PnP notification), at most timeout_ms; *changed tells whether one
 * did. WK_ERR_PCSC when pcscd is gone (make a new context) */
int wk_wait_readers(wk_ctx *ctx, unsigned timeout_ms, bool *changed);

/* connects to the reader named (exactly, or by unique prefix), or with NULL to
 * the first reader holding a walletkey card, else the first holding any card */
int wk_card_open(wk_ctx *ctx, const char *reader, wk_card **out);
void wk_card_free(wk_card **card);
const char *wk_card_reader(const wk_card *card);
int wk_card_atr(const wk_card *card, uint8_t *atr, size_t *len);
bool wk_card_is_walletkey(const wk_card *card);

/* what the card-information applet tells about a walletkey card */
#define WK_CARD_LABEL_MAX 32
typedef struct wk_card_info {
	uint8_t serial[8];
	uint8_t version[3];	/* major, minor, patch */
	char label[WK_CARD_LABEL_MAX + 1];	/* the holder's name for it, UTF-8; "" none */
} wk_card_info;

/* selects the card-information applet (this deselects any other applet) and
 * reads serial, version and label; WK_ERR_NOT_FOUND on a card that is not a
 * walletkey */
int wk_card_get_info(wk_card *card, wk_card_info *out);
/* the label the card keeps (docs/holder.md "Naming the key"): 0-32 bytes of
 * UTF-8 without control characters (WK_ERR_ARG otherwise; the card checks
 * too, WK_ERR_BAD_DATA); len 0 removes it */
int wk_card_set_label(wk_card *card, const char *label, size_t len);

/* exclusive access around multi-APDU operations; nests */
int wk_card_begin(wk_card *card);
int wk_card_end(wk_card *card);

/*
 * one command through the APDU client: extended length when the card
 * supports it, else command chaining (CLA | 0x10) for data over 255 bytes;
 * 61xx answered with GET RESPONSE, 6Cxx with a resend. le == 0 sends no Le
 * field (le 1..65536 otherwise). *resp_len is the capacity on entry and the
 * data length on return (WK_ERR_ARG when the answer does not fit). Returns
 * WK_OK when the exchange happened, whatever *sw is.
 */
int wk_card_apdu(wk_card *card, uint8_t cla, uint8_t ins, uint8_t p1,
    uint8_t p2, const uint8_t *data, size_t lc, size_t le, uint8_t *resp,
    size_t *resp_len, uint16_t *sw);
/* one raw exchange, no chaining or GET RESPONSE (walletkey apdu) */
int wk_card_transmit(wk_card *card, const uint8_t *apdu, size_t len,
    uint8_t *resp, size_t *resp_len);

#ifdef __cplusplus
}
#endif

#endif
