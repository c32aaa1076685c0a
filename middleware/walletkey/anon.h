/*
 * libwalletkey: semi-anonymous payments (docs/semi-anonymous.md).
 * Part of <walletkey.h>, which includes every part; see there for the
 * conventions.
 */
#ifndef WALLETKEY_ANON_H
#define WALLETKEY_ANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== semi-anonymous payments (docs/semi-anonymous.md) ==================
 * The card's anon applet holds the account's online-transaction, identity
 * and business keys and builds every payment request itself; these calls
 * carry its messages between the card, the account manager (the holder's
 * bank) and, through it, the identity authority. PINs are the purse PIN.
 */
#define WK_ANON_ACCOUNT_MAX 40
typedef struct wk_anon_info {
	bool keys;		/* the three keys are on the card */
	bool account;		/* an account manager's account is set */
	bool authority;		/* registered with the identity authority */
	bool pending;		/* a payment waits for its signed result */
	uint64_t counter;	/* payments built so far */
	char account_id[WK_ANON_ACCOUNT_MAX + 1];
	char pending_txid[65];	/* hex, when pending */
} wk_anon_info;
/* selects the anon applet and reads its state */
int wk_anon_get_info(wk_card *card, wk_anon_info *out);

typedef enum wk_anon_step {
	WK_ANON_STEP_PIN = 1,		/* the PIN verified */
	WK_ANON_STEP_KEYS,		/* the keys made (or found) on the card */
	WK_ANON_STEP_ATTESTED,		/* the card's attestations read */
	WK_ANON_STEP_ACCOUNT,		/* the manager opened the account */
	WK_ANON_STEP_REGISTERED,	/* the authority registered the keys */
	WK_ANON_STEP_REQUEST,		/* the card built the payment request */
	WK_ANON_STEP_SENT,		/* the manager answered */
	WK_ANON_STEP_RESULT,		/* the card took the signed result */
} wk_anon_step;
typedef void (*wk_anon_progress_fn)(void *arg, wk_anon_step step,
    const char *detail);

/* the party's refusal of the last call: its HTTP status, code, message */
typedef struct wk_anon_error {
	long http_status;
	char code[64];
	char message[256];
} wk_anon_error;

/*
 * enrols the card for semi-anonymous payments: makes its three keys (once),
 * opens an account at the manager with the business key's attestation,
 * stores the account in the card, registers the online-transaction and
 * identity keys with the authority under the holder's one-time code (from
 * walletkey-issuer person-add), and stores the authority's keys and the
 * holder's features commitment in the card. account gets the account
 * number. A refusal is WK_ERR_ISSUER with err filled.
 */
int wk_anon_enrol(wk_card *card, const char *pin, size_t pin_len,
    const char *manager_url, const char *authority_url, const char *code,
    wk_anon_progress_fn progress, void *arg,
    char account[WK_ANON_ACCOUNT_MAX + 1], wk_anon_error *err);

typedef struct wk_anon_payment {
	char txid[65];
	int status;		/* 1 committed, 2 refused, 3 void; 0 unknown */
	char reason[128];
	char payee[WK_ANON_ACCOUNT_MAX + 1];
	char alias[33];		/* what the payee saw of the payer */
	uint64_t amount;
	int64_t balance;	/* the payer's, after */
	/* where the time went, ms */
	double card_ms, manager_ms, authority_ms, payee_manager_ms, total_ms;
} wk_anon_payment;

/*
 * one payment: the card builds the request (PIN), the manager checks and
 * forwards it, the authority moves the currency rights, the card takes the
 * signed result and writes its audit record. When the manager refuses, the
 * payment is voided at the authority and the card cleared; WK_ERR_ISSUER
 * with err filled. WK_ERR_NETWORK leaves the payment pending on the card
 * (wk_anon_recover). A payment the authority refused is WK_ERR_ISSUER too,
 * out->status 2. request_out (may be NULL): the card's envelope is only
 * built and written there (cap *request_len), not sent.
 */
int wk_anon_pay(wk_card *card, const char *pin, size_t pin_len,
    const char *manager_url, const char *payee, uint64_t amount,
    wk_anon_progress_fn progress, void *arg, uint8_t *request_out,
    size_t *request_len, wk_anon_payment *out, wk_anon_error *err);
/* sends an envelope built before (tests, a retry) and, when the answer is
 * the card's pending payment's result, hands it to the card */
int wk_anon_submit(wk_card *card, const char *manager_url,
    const uint8_t *request, size_t len, wk_anon_payment *out,
    wk_anon_error *err);
/* settles the card's pending payment with the authority's result (through
 * the manager): committed, refused or void. WK_ERR_NOT_FOUND: none pending */
int wk_anon_recover(wk_card *card, const char *manager_url,
    wk_anon_payment *out, wk_anon_error *err);
/* the account's payments at its manager (the card signs a fresh query,
 * PIN): *json_out is the manager's answer as JSON text, free() it */
int wk_anon_history(wk_card *card, const char *pin, size_t pin_len,
    const char *manager_url, char **json_out, wk_anon_error *err);

#ifdef __cplusplus
}
#endif

#endif
