/*
 * libwalletkey: the wallet's money flows, one call each: their state store, enrolment, the
 * remote load, card to card (docs/DEVELOPING.md "Flows").
 * Part of <walletkey.h>, which includes every part; see there for the
 * conventions.
 */
#ifndef WALLETKEY_FLOWS_H
#define WALLETKEY_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "purse.h"
#include "wallet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== flows: the wallet's money flows, one call each =====================
 * (docs/DEVELOPING.md "Flows"). A flow that moves money keeps what it has
 * in flight (its pending record) in a state store before every step that
 * can change money, so that a crash at any instant leaves a record its
 * recovery settles with the card's own proof. Each flow reports its steps
 * to a progress callback and asks the holder through a confirmation
 * callback; the store is the caller's, or today's files.
 *
 * A store keeps records by name ("load-<card id hex>",
 * "xfer-<sender hex>-<challenge hex>"): bytes the flow wrote (a JSON
 * object today) and reads back unchanged. save is durable when it returns
 * 0 (written whole or not at all); remove is durable too, and a missing
 * record is no error for it; load gives *data NULL (and 0) when there is
 * no record, else bytes the caller frees with free(); list calls fn with
 * the name of every record starting with prefix (fn's non-zero return
 * stops it). Each returns 0, or -1 on failure. */
typedef struct wk_state_store {
	int (*load)(void *arg, const char *name, char **data, size_t *len);
	int (*save)(void *arg, const char *name, const char *data, size_t len);
	int (*remove)(void *arg, const char *name);
	int (*list)(void *arg, const char *prefix,
	    int (*fn)(void *fn_arg, const char *name), void *fn_arg);
	void *arg;
} wk_state_store;

/* the wallet's state directory (docs/remote-load.md): opt, else
 * $WALLETKEY_STATE_DIR, else $XDG_STATE_HOME/walletkey, else
 * ~/.local/state/walletkey, created (mode 0700) when missing. WK_ERR_IO:
 * none of them is usable */
int wk_state_dir(const char *opt, char *out, size_t cap);
/* the default store: the files <dir>/<name>.json, each written to a
 * temporary file, fsync'ed, renamed over the old one, then the directory
 * fsync'ed. dir is kept by pointer: it must outlive the store */
void wk_state_files(const char *dir, wk_state_store *out);


/* ---- enrolment (docs/remote-load.md, docs/attestation.md): wk_wallet_enrol ---- */

/* the steps of wk_wallet_enrol, in order, reported as each is done */
typedef enum wk_enrol_step {
	WK_ENROL_STEP_CARD = 1,		/* the card id read */
	WK_ENROL_STEP_KEY,		/* a wallet key generated in slot 82 */
	WK_ENROL_STEP_ATTESTED,		/* the card's attestation of it read */
	WK_ENROL_STEP_CSR,		/* the CSR signed by the card; sending it */
	WK_ENROL_STEP_ISSUED,		/* the issuer's certificate has the key */
	WK_ENROL_STEP_ANCHOR,		/* certificate, trust anchor, PAN stored */
	WK_ENROL_STEP_KEYS,		/* the purse keys installed in the card */
	WK_ENROL_STEP_RECORD,		/* the card's record kept in the store */
} wk_enrol_step;
typedef void (*wk_enrol_progress_fn)(void *arg, wk_enrol_step step,
    const char *card_id_hex);

typedef struct wk_wallet_enrolment {
	char card_id[17];	/* hex */
	bool existing;		/* the issuer had enrolled this key before */
	char key_algorithms[96];	/* as wk_issuer_enrolment's */
} wk_wallet_enrolment;

/* what an enrolment asks the holder */
typedef enum wk_enrol_ask {
	WK_ENROL_ASK_REPLACE = 1,	/* slot 82 holds a wallet certificate:
					 * replace the card's wallet key (its
					 * old wallet and purse keys go)? */
} wk_enrol_ask;
typedef struct wk_enrol_question {
	wk_enrol_ask ask;
	const char *card_id;	/* hex */
} wk_enrol_question;
/* true to go on; false refuses (WK_ERR_CONDITIONS, nothing changed) */
typedef bool (*wk_enrol_confirm_fn)(void *arg, const wk_enrol_question *q);

typedef struct wk_enrol_opts {
	const uint8_t *mgmt_key;	/* the PIV management key (the
					 * algorithm as the card says) */
	size_t mgmt_key_len;
	const char *pan;		/* the account */
	const char *password;		/* its password */
	/* the issuer's URL as the card's record keeps it; NULL: the URL
	 * the issuer handle was made with */
	const char *issuer_url;
	/* where the card's record goes (card-<card id hex>: card id, issuer
	 * URL, PAN; what the load shows and the transfer reports use); NULL:
	 * wk_state_files(state_dir), state_dir NULL: wk_state_dir(NULL) */
	const wk_state_store *store;
	const char *state_dir;
} wk_enrol_opts;

/*
 * enrols the card with the issuer. Reads the card id; refuses with
 * WK_ERR_INVALID_STATE a purse that holds value from before (loaded with
 * other keys: the card never takes the issuer's keys over it); when slot
 * 82 holds a certificate asks the holder (confirm, WK_ENROL_ASK_REPLACE;
 * NULL or no: WK_ERR_CONDITIONS); forgets any old wallet, generates the
 * wallet key in slot 82, reads the card's attestation of it, has the card
 * sign the CSR, posts both with the account password, checks that the
 * certificate carries the key, stores it, runs WALLET SETUP with the
 * issuer CA's key and the PAN, installs the purse keys the issuer sealed
 * to the card, and keeps the card's record in the store (WK_ERR_IO: the
 * card is enrolled, its record could not be kept: enrol again).
 * WK_ERR_AUTH_FAILED: a wrong management key (or a certificate without
 * the card's key). The issuer's refusal is WK_ERR_ISSUER (its code and
 * message: wk_issuer_error_code/_message). progress (may be NULL) hears
 * each step.
 */
int wk_wallet_enrol(wk_card *card, wk_issuer *is, const wk_enrol_opts *o,
    wk_enrol_confirm_fn confirm, wk_enrol_progress_fn progress, void *arg,
    wk_wallet_enrolment *out);

typedef struct wk_issuer_load {
	char load_id[2 * WK_WALLET_LOAD_ID_LEN + 1];
	char status[16];	/* pending, complete, reversed */
	uint16_t seq;
	uint32_t amount;
	uint8_t grant[WK_WALLET_MSG_MAX];
	size_t grant_len;
	bool has_balance;
	uint32_t balance;
} wk_issuer_load;
/* POST /v1/loads: WK_ERR_ISSUER when refused (see the error code) */
int wk_issuer_load_start(wk_issuer *is, const uint8_t *req, size_t len,
    wk_issuer_load *out);
/* POST /v1/loads/{id}/receipt, /refusal or /recover (what: "receipt",
 * "refusal", "proof") */
int wk_issuer_load_close(wk_issuer *is, const char *load_id, const char *what,
    const uint8_t *msg, size_t len, wk_issuer_load *out);
int wk_issuer_load_get(wk_issuer *is, const char *load_id, wk_issuer_load *out);
/* any other call of the API: path ("/v1/..."), a JSON body (NULL: GET);
 * *resp gets the JSON answer of a 200 (the caller frees it) */
int wk_issuer_request(wk_issuer *is, const char *path, const char *body,
    char **resp);
/* the base URL the handle was made with (without trailing slashes) */
const char *wk_issuer_url(const wk_issuer *is);

/* ---- the remote load (docs/remote-load.md): wk_wallet_load ---- */

/* the steps of the load and of its recovery, in order */
typedef enum wk_load_step {
	WK_LOAD_STEP_PIN = 1,	/* the purse PIN verified */
	WK_LOAD_STEP_REQUEST,	/* the card signed the request; it is kept */
	WK_LOAD_STEP_GRANT,	/* the issuer debited the account and granted
				 * ev->load_id (ev->seq); kept */
	WK_LOAD_STEP_CREDIT,	/* the card answered the grant: credited, or
				 * refused (ev->refused); not kept yet */
	WK_LOAD_STEP_ANSWER,	/* the card's answer is kept */
	WK_LOAD_STEP_CLOSE,	/* the issuer closed the load (ev->status);
				 * the record is removed */
	/* the recovery of a record left by a crash */
	WK_LOAD_STEP_RECOVER,	/* a load was left unfinished; settling it */
	WK_LOAD_STEP_RECOVER_ASK,	/* a request the issuer may never have
					 * seen, sent again: it answers the
					 * same grant (ev->load_id) */
	WK_LOAD_STEP_RECOVER_NONE,	/* the issuer never granted the request
					 * (ev->error): nothing to settle */
	WK_LOAD_STEP_RECOVER_SESSION,	/* the card's issuer session opened */
	WK_LOAD_STEP_RECOVER_READ,	/* the issuer's state of the load read
					 * (ev->status) */
	WK_LOAD_STEP_RECOVER_DONE,	/* the load was already ev->status */
	WK_LOAD_STEP_RECOVER_SAVED,	/* sending the card's saved answer
					 * (ev->what: "receipt", "refusal") */
	WK_LOAD_STEP_RECOVER_PIN,	/* the card needs the purse PIN to state
					 * that ev->seq was never credited */
	WK_LOAD_STEP_RECOVER_PROOF,	/* the card's proof: ev->credited */
	WK_LOAD_STEP_RECOVER_CLOSE,	/* the issuer settled it: ev->status */
	/* the issuer had granted the card's sequence number in a load no
	 * record names (lost): settled with the card's proof, ev->status */
	WK_LOAD_STEP_ORPHAN,
	/* the step ev->failed did not happen: ev->rc; for the issuer's
	 * steps its HTTP status, code and message; for the PIN the tries
	 * left. A store that failed is WK_ERR_IO (errno as the store left
	 * it); a record that does not parse WK_ERR_BAD_DATA at RECOVER */
	WK_LOAD_STEP_FAILED,
} wk_load_step;

typedef struct wk_load_event {
	wk_load_step step;
	wk_load_step failed;	/* FAILED: the step that failed */
	int rc;			/* FAILED */
	const char *card_id;	/* hex */
	const char *record;	/* the pending record's name */
	const char *load_id;	/* from GRANT on, hex; else NULL */
	const char *status;	/* pending, complete, reversed */
	uint16_t seq;
	bool refused;		/* CREDIT, ANSWER, CLOSE */
	bool credited;		/* RECOVER_PROOF */
	const char *what;	/* RECOVER_SAVED */
	int tries_left;		/* FAILED at PIN or RECOVER_PROOF, wrong PIN */
	long http_status;	/* FAILED at an issuer's step; 0: not reached */
	const char *error;	/* the issuer's code ("" none) */
	const char *message;	/* and message */
	double ms;		/* PIN ... CLOSE: the step's time */
} wk_load_event;
typedef void (*wk_load_progress_fn)(void *arg, const wk_load_event *ev);

/* what a load asks the holder */
typedef enum wk_load_ask {
	WK_LOAD_ASK_LOAD = 1,	/* the load (q->amount onto q->card_id) and
				 * the purse PIN to make it */
	WK_LOAD_ASK_PIN,	/* the purse PIN alone: the card's statement
				 * that q->seq was never credited burns it */
} wk_load_ask;
typedef struct wk_load_question {
	wk_load_ask ask;
	const char *card_id;	/* hex */
	wk_purse_kind kind;
	uint32_t amount;	/* fen */
	uint16_t seq;
} wk_load_question;
/* true with the PIN in pin (at most cap bytes, *pin_len) to go on; false
 * to stop (the load: WK_ERR_CANCELLED, nothing was done) */
typedef bool (*wk_load_confirm_fn)(void *arg, const wk_load_question *q,
    char *pin, size_t cap, size_t *pin_len);

typedef struct wk_load_opts {
	wk_purse_kind kind;	/* WK_PURSE_EP (0: EP) or WK_PURSE_ED */
	uint32_t amount;	/* fen, more than 0 */
	/* the issuer's URL as the record keeps it (its recovery talks to
	 * it); NULL: the URL the issuer handle was made with */
	const char *issuer_url;
	/* the store of the pending record; NULL: wk_state_files(state_dir),
	 * state_dir NULL: wk_state_dir(NULL) */
	const wk_state_store *store;
	const char *state_dir;
} wk_load_opts;

typedef struct wk_load_result {
	char card_id[17];	/* hex */
	char load_id[2 * WK_WALLET_LOAD_ID_LEN + 1];
	char status[16];	/* complete, or reversed (the card refused) */
	uint16_t seq;
	bool refused;		/* the card refused the grant */
	bool recovered;		/* a load left unfinished was settled first */
	uint32_t balance;	/* the purse's balance after a credit */
	/* the time of the steps PIN, REQUEST, GRANT, CREDIT+ANSWER, CLOSE */
	double step_ms[5];
} wk_load_result;

/*
 * the remote load, whole: reads the card id, settles a load a crash left
 * unfinished (as wk_wallet_load_recover), asks the holder (confirm: the
 * load and the PIN; nothing is sent before), verifies the PIN, has the card
 * sign the load request, keeps it in the store, posts it to the issuer
 * (which debits the account and grants), keeps the grant, gives it to the
 * card (which credits, or refuses), keeps the card's answer, sends it to
 * the issuer, which closes the load, and removes the record. Each step is
 * reported to progress (may be NULL). A store that fails stops the flow
 * before the next step moves money. WK_OK: credited (out->refused false);
 * a card's refusal is WK_ERR_AUTH_FAILED with out->status "reversed".
 * WK_ERR_PIN_BLOCKED before anything is asked: the purse PIN is blocked
 * (wk_wallet_pin_unblock). An issuer's refusal of the request
 * (WK_ERR_ISSUER) removes the record: nothing was debited; seq_used (a
 * load no record names holds the card's sequence number) settles that load
 * with the card's proof (ORPHAN), and the caller may load again.
 */
int wk_wallet_load(wk_card *card, wk_issuer *is, const wk_load_opts *o,
    wk_load_confirm_fn confirm, wk_load_progress_fn progress, void *arg,
    wk_load_result *out);
/*
 * the recovery alone: when the store holds a load record for this card,
 * settles it with the issuer the record names: a request never granted
 * closes it; a grant with the card's saved answer sends that; else the
 * card's proof that it credited the sequence number, or its statement
 * that it never did (which burns the number and needs the purse PIN:
 * confirm, WK_LOAD_ASK_PIN). The record is removed once the issuer's load
 * is closed. *settled (may be NULL) tells whether there was one. A blocked
 * purse still settles. The purse is selected on return. o->amount and
 * o->kind are not used.
 */
int wk_wallet_load_recover(wk_card *card, const wk_load_opts *o,
    wk_load_confirm_fn confirm, wk_load_progress_fn progress, void *arg,
    bool *settled);

/* ---- card to card (docs/remote-load.md): wk_wallet_transfer ---- */

/* the steps of a transfer and of its recovery */
typedef enum wk_xfer_step {
	WK_XFER_STEP_CARDS = 1,	/* both cards' ids and wallet certificates
				 * read, their purses selected */
	/* the recovery of a transfer a crash left unfinished */
	WK_XFER_STEP_RECOVER,	/* ev->record: settling it */
	WK_XFER_STEP_VOIDED,	/* the sending card never sent a token: it
				 * signed a void one, which moves nothing */
	WK_XFER_STEP_HELD,	/* the sending card still holds its token */
	WK_XFER_STEP_REDEEM,	/* the token (kept) goes to the receiver */
	WK_XFER_STEP_TO_PIN,	/* the receiving card's PIN verified */
	WK_XFER_STEP_QUEUED,	/* the receiver credited; the token is queued
				 * for the issuer (report-<token id>) */
	WK_XFER_STEP_SETTLED,	/* the record removed: ev->amount (0: void)
				 * credited, ev->balance, or ev->already */
	/* the transfer */
	WK_XFER_STEP_CHALLENGES,	/* each card signed the other's challenge */
	WK_XFER_STEP_AUTH,	/* the cards authenticated each other */
	WK_XFER_STEP_CHALLENGE,	/* the receiving card's challenge, kept */
	WK_XFER_STEP_FROM_PIN,	/* the sending card's PIN verified */
	WK_XFER_STEP_SENT,	/* it debited and signed the token; not kept */
	WK_XFER_STEP_TOKEN,	/* the token kept */
	WK_XFER_STEP_DONE,	/* the transfer complete */
	/* the step ev->failed did not happen: ev->rc (at CARDS, ev->sender
	 * tells which card and ev->what what: "card id", "certificate",
	 * "purse"); WK_ERR_IO: the store; WK_ERR_BAD_DATA at RECOVER: a
	 * record that does not parse */
	WK_XFER_STEP_FAILED,
} wk_xfer_step;

typedef struct wk_xfer_event {
	wk_xfer_step step;
	wk_xfer_step failed;	/* FAILED */
	int rc;			/* FAILED */
	bool sender;		/* which card, where it matters */
	bool recovering;	/* a step of the recovery */
	const char *from;	/* hex */
	const char *to;
	const char *record;	/* the record's name, when there is one */
	const char *what;
	uint32_t amount;	/* fen */
	uint32_t balance;	/* SETTLED: the receiver's */
	bool already;		/* SETTLED: it had redeemed the token before */
	int tries_left;		/* FAILED at a PIN: after a wrong one */
} wk_xfer_event;
typedef void (*wk_xfer_progress_fn)(void *arg, const wk_xfer_event *ev);

typedef enum wk_xfer_ask {
	WK_XFER_ASK_TRANSFER = 1,	/* q->amount from q->from to q->to */
	WK_XFER_ASK_PIN,		/* the purse PIN of one card (q->sender) */
} wk_xfer_ask;
typedef struct wk_xfer_question {
	wk_xfer_ask ask;
	bool sender;
	const char *from;	/* hex */
	const char *to;
	uint32_t amount;
} wk_xfer_question;
/* true to go on (with the PIN in pin, at most cap bytes, for ASK_PIN);
 * false stops the flow: WK_ERR_CANCELLED */
typedef bool (*wk_xfer_confirm_fn)(void *arg, const wk_xfer_question *q,
    char *pin, size_t cap, size_t *pin_len);

typedef struct wk_xfer_opts {
	uint32_t amount;	/* fen, more than 0 (not used by the recovery) */
	/* as wk_load_opts: the store needs list */
	const wk_state_store *store;
	const char *state_dir;
} wk_xfer_opts;

typedef struct wk_xfer_result {
	char from[17];		/* hex */
	char to[17];
	unsigned recovered;	/* unfinished transfers settled first */
	uint32_t balance;	/* the receiver's balance after */
} wk_xfer_result;

/*
 * the transfer, whole: reads both cards' ids and wallet certificates,
 * settles what a crash left between them (as wk_wallet_transfer_recover),
 * asks the holder (confirm, WK_XFER_ASK_TRANSFER), has the cards
 * authenticate each other, verifies the receiving card's PIN (ASK_PIN),
 * keeps its receive challenge in the store (xfer-<from>-<challenge>),
 * verifies the sending card's PIN, has it debit and sign the token, keeps
 * the token, has the receiving card redeem it, queues the token for the
 * issuer (report-<token id>, docs/remote-load.md "Reporting a transfer";
 * reporting it is the caller's: wk_wallet_transfer_reports) and removes
 * the record. A sending PIN
 * refused, or a debit the card refuses (funds), closes the receiving
 * card's challenge with a void token: nothing moves. A store that fails
 * stops the flow before the next step moves money.
 */
int wk_wallet_transfer(wk_card *from, wk_card *to, const wk_xfer_opts *o,
    wk_xfer_confirm_fn confirm, wk_xfer_progress_fn progress, void *arg,
    wk_xfer_result *out);
/*
 * the recovery alone: every record of an unfinished transfer from -> to is
 * settled: the token from the record, else from the sending card, else
 * (never sent) a void token the sending card signs; the receiving card
 * (its PIN asked once) redeems it once, the token is queued for the issuer
 * and the record removed. out->recovered: the records found; the first
 * error is returned after the others were tried
 */
int wk_wallet_transfer_recover(wk_card *from, wk_card *to,
    const wk_xfer_opts *o, wk_xfer_confirm_fn confirm,
    wk_xfer_progress_fn progress, void *arg, wk_xfer_result *out);

/* ---- transfer reports (docs/remote-load.md "Reporting a transfer"):
 * wk_wallet_transfer_reports. The tokens the transfer flow queued
 * (report-<token id>) go to the issuer, which moves the sender's float to
 * the receiver's; a record goes once the issuer took its token (it answers
 * a token it had with the same answer and moves nothing again). */
typedef enum wk_report_step {
	WK_REPORT_STEP_SENDING = 1,	/* ev->token_id about to be posted */
	WK_REPORT_STEP_REPORTED,	/* the issuer took it; the record gone */
	/* not reported yet, the record stays: ev->rc; ev->issuer when the
	 * issuer refused (its status, code and message: float_short while
	 * the sender's own incoming transfers are not reported); WK_ERR_ARG
	 * no issuer known for its cards; WK_ERR_IO the record stayed after
	 * the issuer took it (posted again next time) */
	WK_REPORT_STEP_LEFT,
	WK_REPORT_STEP_DAMAGED,		/* ev->record holds no transfer token */
} wk_report_step;

typedef struct wk_report_event {
	wk_report_step step;
	const char *record;	/* the record's name */
	const char *token_id;	/* hex, from SENDING on */
	const char *from;	/* the cards, hex */
	const char *to;
	uint32_t amount;	/* fen */
	const char *issuer_url;
	int rc;			/* LEFT */
	bool issuer;		/* LEFT: the issuer answered */
	long http_status;
	const char *error;
	const char *message;
} wk_report_event;
typedef void (*wk_report_progress_fn)(void *arg, const wk_report_event *ev);

typedef struct wk_report_opts {
	const char *card_hex;	/* only the tokens naming this card; NULL all */
	/* NULL: the issuer the sender was enrolled with (its record
	 * card-<id>), else the receiver's */
	const char *issuer_url;
	/* as wk_load_opts: the store needs list */
	const wk_state_store *store;
	const char *state_dir;
} wk_report_opts;

/*
 * posts every queued token (of o->card_hex's transfers) to the issuer, in
 * passes until a pass takes none (a token refused because its sender's
 * own incoming transfer was not reported may go through once that one
 * is); progress hears each token. *reported (may be NULL): the tokens
 * taken; *left (may be NULL): those that stay after the last pass. A
 * token that cannot be reported now is no error: WK_OK, it stays for the
 * next call; WK_ERR_IO the store could not list its records.
 */
int wk_wallet_transfer_reports(const wk_report_opts *o,
    wk_report_progress_fn progress, void *arg, unsigned *reported,
    unsigned *left);

#ifdef __cplusplus
}
#endif

#endif
