/*
 * libwalletkey: online payments confirmed on the card (docs/payments.md).
 * Part of <walletkey.h>, which includes every part; see there for the
 * conventions.
 */
#ifndef WALLETKEY_PAY_H
#define WALLETKEY_PAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "wallet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== online payments confirmed on the card (docs/payments.md) ========
 * A merchant asks the issuer for a payment; the issuer signs a payment
 * request for the payer's card; the relay (walletkey confirm) shows it,
 * the holder accepts or declines with the purse PIN, the card checks the
 * issuer's signature and signs its own confirmation (or answers an OCRA
 * response, RFC 6287), and the relay posts that to the issuer. */
#define WK_PAY_ID_HEX 33
#define WK_PAY_OCRA_DIGITS 8

/* a request as the card will sign it: every field from the issuer's
 * signed bytes (msg), never from anything else the issuer said */
typedef struct wk_pay_request {
	char id[WK_PAY_ID_HEX];		/* hex */
	char card_id[17];		/* hex */
	char payer[20];			/* the account PAN */
	char payee[13];			/* the merchant's id, hex */
	char payee_name[65];
	char order_id[65];
	char description[201];
	uint32_t amount;		/* fen */
	char currency[4];
	int64_t expires;		/* unix seconds */
	uint8_t msg[WK_WALLET_MSG_MAX];
	size_t msg_len;
} wk_pay_request;

/* the fields of an issuer's payment request (type 11), unverified: the
 * card checks the signature. WK_ERR_BAD_DATA: not a payment request */
int wk_pay_request_parse(const uint8_t *msg, size_t len, wk_pay_request *out);

/*
 * the card (purse selected, wk_purse_verify_pin for a new answer: else
 * WK_ERR_AUTH_REQUIRED; the verification is used up): its signed
 * confirmation (type 12) of req with the holder's decision. The same
 * request again returns the same answer, without the PIN; the other
 * decision is refused (WK_ERR_CONDITIONS, as for a request the card finds
 * expired). WK_ERR_AUTH_FAILED (6988): not signed by the card's issuer;
 * WK_ERR_BAD_DATA: another card's or account's request; WK_ERR_NO_SPACE:
 * the audit log is full. *len: capacity in, length out. *sw (may be NULL)
 * gets the status word.
 */
int wk_pay_card_confirm(wk_card *card, const uint8_t *req, size_t len,
    bool accept, uint8_t *conf, size_t *conf_len, uint16_t *sw);
/* the OCRA variant (acceptance only): the card's 8 digits and the time
 * step (minutes since the epoch) it used. WK_ERR_NOT_FOUND: the card has
 * no OCRA key */
int wk_pay_card_ocra(wk_card *card, const uint8_t *req, size_t len,
    char digits[WK_PAY_OCRA_DIGITS + 1], uint64_t *t, uint16_t *sw);
/* the answer the card gave req before (no PIN): WK_ERR_NOT_FOUND when it
 * gave none (or forgot it after 64 newer ones) */
int wk_pay_card_answer(wk_card *card, const uint8_t *req, size_t len,
    bool ocra, uint8_t *ans, size_t *ans_len, uint16_t *sw);

/* the issuer's answer to a confirmation */
typedef struct wk_pay_result {
	char id[WK_PAY_ID_HEX];
	char status[16];	/* paid, declined, expired, failed, cancelled */
	char error[40];		/* the issuer's code when refused, else "" */
	char message[256];
	uint32_t amount;
} wk_pay_result;

/* GET /v1/cards/{card}/payments?wait=S: the card's open requests (at most
 * cap), waiting up to wait seconds (0-20) for one */
int wk_issuer_pay_pending(wk_issuer *is, const char *card_id_hex, int wait,
    wk_pay_request *out, size_t cap, size_t *n);
/* POST /v1/payments/{id}/confirmation: the card's signed confirmation,
 * its OCRA response (digits, t), or (conf and digits NULL) a decline
 * without the card. WK_OK with out filled also for a refusal the issuer
 * closed the payment with (out->status "failed", out->error its code) */
int wk_issuer_pay_answer(wk_issuer *is, const char *id, const uint8_t *conf,
    size_t conf_len, const char *digits, uint64_t t, wk_pay_result *out);

/* the flow of walletkey confirm */
typedef enum wk_pay_step {
	WK_PAY_STEP_LIST = 1,	/* the open requests (ev->list, ev->n) */
	WK_PAY_STEP_ASK,	/* ev->req is about to be put to the holder */
	WK_PAY_STEP_SKIPPED,	/* the holder gave no answer in time */
	WK_PAY_STEP_PIN_WRONG,	/* ev->tries_left */
	WK_PAY_STEP_SIGNED,	/* the card answered ev->req */
	WK_PAY_STEP_POSTING,	/* its answer is kept in the store; posting it */
	WK_PAY_STEP_REFUSED,	/* the card refused ev->req (ev->rc, ev->sw) */
	WK_PAY_STEP_ANSWERED,	/* the issuer's final answer (ev->result) */
	WK_PAY_STEP_WAITING,	/* the issuer or the card is away (ev->rc,
				 * ev->what); trying again in ev->retry_in s */
	WK_PAY_STEP_BACK,	/* ev->what is back */
	WK_PAY_STEP_STOPPED,	/* the issuer refused the relay itself (the
				 * card's session: a revoked card, ...):
				 * ev->error, ev->message; it returns */
} wk_pay_step;

typedef struct wk_pay_event {
	wk_pay_step step;
	const wk_pay_request *req;
	const wk_pay_request *list;
	size_t n;
	const wk_pay_result *result;
	int rc;
	uint16_t sw;
	int tries_left;
	const char *what;	/* "issuer" or "card" */
	int retry_in;
	const char *error;	/* the issuer's code and message (STOPPED) */
	const char *message;
} wk_pay_event;

typedef enum wk_pay_decision {
	WK_PAY_SKIP = 0,	/* no answer: the request stays open */
	WK_PAY_ACCEPT,
	WK_PAY_DECLINE,
} wk_pay_decision;

/* asks the holder about req: the decision, and for an answer from the
 * card the purse PIN into pin (at most cap bytes, *pin_len) */
typedef wk_pay_decision (*wk_pay_confirm_fn)(void *arg,
    const wk_pay_request *req, char *pin, size_t cap, size_t *pin_len);
typedef void (*wk_pay_progress_fn)(void *arg, const wk_pay_event *ev);

typedef struct wk_pay_relay_opts {
	const char *reader;	/* NULL: the first walletkey card */
	const char *issuer_url;
	/* the default store's directory (NULL: wk_state_dir(NULL)) */
	const char *state_dir;
	bool watch;		/* keep going; outlive the issuer and the card */
	bool ocra;		/* answer with OCRA responses */
	int wait;		/* seconds to wait for a first request (0-20) */
	/* set (by a signal handler) to stop a watch; may be NULL */
	const volatile int *stop;
	/* where an answer waits to be posted (its list too is needed); NULL:
	 * wk_state_files(state_dir) */
	const wk_state_store *store;
} wk_pay_relay_opts;

/*
 * the relay: finds the card, asks the issuer for the card's open requests,
 * puts each to the holder (confirm), has the card answer, posts the
 * answer, and reports each step (progress). An answer the card gave
 * before (a relay killed after the card signed) is posted without asking
 * again; one not yet posted waits in the store (the record "pay-<id>":
 * by default the file pay-<id>.json of the state directory, one compact
 * JSON object) until the issuer has it, and is posted first at the next
 * pass. A store that cannot save the card's answer stops the relay
 * (WK_ERR_IO) before it is posted. Without watch: one pass, then WK_OK, or
 * the error that stopped it. With watch: until *stop, waiting out the
 * issuer or card going away.
 */
int wk_pay_relay(wk_ctx *ctx, const wk_pay_relay_opts *o,
    wk_pay_confirm_fn confirm, wk_pay_progress_fn progress, void *arg);

#ifdef __cplusplus
}
#endif

#endif
