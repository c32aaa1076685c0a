/*
 * libwalletkey: the audit client and the audit sync (docs/audit.md).
 * Part of <walletkey.h>, which includes every part; see there for the
 * conventions.
 */
#ifndef WALLETKEY_AUDIT_H
#define WALLETKEY_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "wallet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== audit client (docs/audit.md) =====================================
 * owner: branch audit (middleware/wk_audit.c). The audit applet keeps the
 * card's hash-chained transaction log; it answers only after the purse PIN
 * and exports records only sealed to a recipient's X25519 key (the record
 * and page formats are common/wk_arec.h).
 */
typedef struct wk_audit_status {
	uint32_t capacity;	/* records the card keeps at most */
	uint32_t count;		/* records it keeps now */
	uint64_t base_seq;	/* checkpoint: last record dropped (0: none) */
	uint64_t head_seq;	/* newest record (0: none) */
	uint64_t acked;		/* highest seq the issuer acknowledged */
} wk_audit_status;

typedef struct wk_audit_head {
	uint64_t base_seq;
	uint8_t base_hash[32];
	uint64_t head_seq;
	uint8_t head_hash[32];
	uint8_t nonce[16];
	uint8_t sig[80];	/* DER ECDSA P-256, wallet key (PIV slot 82) */
	size_t sig_len;
} wk_audit_head;

/* selects the audit applet (this deselects any other applet) */
int wk_audit_select(wk_card *card);
int wk_audit_get_status(wk_card *card, wk_audit_status *st);
/* the purse PIN (ASCII digits); *tries_left on WK_ERR_WRONG_PIN */
int wk_audit_verify_pin(wk_card *card, const char *pin, size_t pin_len,
    int *tries_left);
/* the chain head signed over a fresh nonce; WK_ERR_NOT_FOUND without a
 * wallet key in slot 82 */
int wk_audit_get_head(wk_card *card, const uint8_t nonce[16],
    wk_audit_head *head);
/* one sealed page of at most max (1-255) records from seq cursor on;
 * *len is out's capacity on entry, the page's length on return */
int wk_audit_get_page(wk_card *card, const uint8_t recipient[32],
    uint64_t cursor, unsigned max, uint8_t *out, size_t *len);

/*
 * the whole log from seq from_seq on (0: the oldest the card keeps), in one
 * card transaction: the audit applet selected, VERIFY with pin (NULL: none,
 * for a card whose profile does not ask it for the history; then
 * WK_ERR_AUTH_REQUIRED when it does), the head signed over a fresh nonce
 * when the card has a wallet key (*have_head), then every page sealed to a
 * fresh X25519 key and opened here; cb gets each record (WK_AUDIT_RECORD_LEN
 * raw bytes, oldest first; a non-zero return stops the export with
 * WK_ERR_INTERNAL). *tries_left on WK_ERR_WRONG_PIN. head and have_head
 * may be NULL.
 */
#define WK_AUDIT_RECORD_LEN 86
typedef int (*wk_audit_record_fn)(void *arg, const uint8_t *raw);
int wk_audit_export(wk_card *card, const char *pin, size_t pin_len,
    uint64_t from_seq, wk_audit_record_fn cb, void *arg, wk_audit_head *head,
    bool *have_head, int *tries_left);

/*
 * the bank's records of the account (docs/audit.md "The bank's records"):
 * deposits, online payments, settlements and reversals the card did not
 * see, signed by the issuer for this card; the card checks them with its
 * trust anchor and chains them into its log, each once (by its event
 * number), all of a batch or none. No PIN. The audit applet selected.
 */
#define WK_AUDIT_BANK_BATCH_MAX (23 + 64 * 86 + 72)
/* the last event number the card stored (0: none) */
int wk_audit_bank_last(wk_card *card, uint64_t *last);
/* a batch in (wk_arec.h WKAUDIT-ISS/1): *stored records were new, *last is
 * the card's last event number now. *sw: 6982 not the issuer's signature
 * (WK_ERR_AUTH_REQUIRED), 6985 the card is not enrolled, 6A80 another
 * card's or malformed, 6A84 the log is full (WK_ERR_NO_SPACE): each refusal
 * changes nothing */
int wk_audit_bank_put(wk_card *card, const uint8_t *batch, size_t len,
    unsigned *stored, uint64_t *last, uint16_t *sw);
/* GET /v1/audit/{card}/bank/{after} with the holder's session (an
 * is with wk_issuer_session_open's token): a batch of the records after
 * event number after (*len 0: none), *more when there are more */
int wk_issuer_bank_records(wk_issuer *is, const char *card_id_hex,
    uint64_t after, uint8_t *batch, size_t *len, bool *more);
/*
 * the whole download: from the card's last event number on, every batch
 * the issuer has, into the card; *stored (may be NULL) counts the records
 * the card took. The issuer's session must be the holder's for this card.
 * progress (may be NULL) hears each batch: records so far.
 */
typedef void (*wk_audit_bank_progress_fn)(void *arg, unsigned stored);
int wk_audit_bank_sync(wk_card *card, wk_issuer *is,
    wk_audit_bank_progress_fn progress, void *arg, unsigned *stored);

/* the issuer's signed acknowledgement (docs/audit.md "Sync with the
 * issuer"): records up to seq, the newest hashing to hash, are synced.
 * No PIN. WK_ERR_AUTH_REQUIRED (6982) for a signature the card's trust
 * anchor refuses; the card changes nothing then */
int wk_audit_ack(wk_card *card, uint64_t seq, const uint8_t hash[32],
    const uint8_t *sig, size_t sig_len, uint16_t *sw);

/* the issuer's signed revocation list (docs/audit.md "Revocation list",
 * common/wk_arec.h WKAUDIT-CRL/1), delivered beside its acknowledgement;
 * the card refuses transfer peers it names. No PIN. WK_ERR_AUTH_REQUIRED
 * (6982): not the issuer's signature; WK_ERR_CONDITIONS (6985): older than
 * the card's list (or the card is not enrolled). The card changes nothing
 * then. WK_ERR_ARG: list does not parse */
int wk_audit_revocation_list(wk_card *card, const uint8_t *list, size_t len,
    uint16_t *sw);
typedef struct wk_audit_revocations {
	uint64_t version;	/* 0: the card holds no list */
	uint64_t issued;	/* unix seconds */
	uint16_t count;
} wk_audit_revocations;
int wk_audit_revocation_status(wk_card *card, wk_audit_revocations *st);

/* ---- the audit sync (docs/audit.md "Sync with the issuer"): wk_audit_sync
 * The card's records go to the issuer sealed to its key, the issuer's
 * CA-signed acknowledgement (and its revocation list) to the card. No state
 * store: the issuer's newest stored record is the cursor a sync resumes
 * from, and the card drops nothing before it took the acknowledgement. */
typedef enum wk_sync_step {
	WK_SYNC_STEP_KEY = 1,	/* the issuer's audit key read */
	WK_SYNC_STEP_CARD,	/* the card id read (ev->serial), its log
				 * selected; nothing sent to the issuer yet */
	WK_SYNC_STEP_SESSION,	/* the holder's issuer session opened */
	WK_SYNC_STEP_BANK,	/* the bank's records: ev->count new on the card */
	WK_SYNC_STEP_PIN,	/* the audit log's PIN verified */
	WK_SYNC_STEP_HEAD,	/* the card's signed head read (ev->seq) */
	WK_SYNC_STEP_EMPTY,	/* the card's log is empty: nothing to do */
	WK_SYNC_STEP_PAGE,	/* a page stored at the issuer: ev->done of
				 * ev->total records, ev->count pages so far */
	WK_SYNC_STEP_LOST,	/* the card was lost at ev->seq: connecting
				 * again (opts->reconnect) */
	WK_SYNC_STEP_ACKED,	/* the issuer acknowledged up to ev->seq; the
				 * card has not taken it yet */
	WK_SYNC_STEP_CARD_ACKED,	/* the card took the acknowledgement */
	WK_SYNC_STEP_CRL,	/* the card took the revocation list (ev->seq
				 * its version, ev->count its cards) */
	/* the step ev->failed did not happen: ev->rc; ev->issuer when the
	 * issuer's side failed (its status, code and message);
	 * WK_ERR_BAD_DATA: the issuer's answer is malformed (at PAGE: it
	 * stored nothing from ev->seq); at CARD_ACKED and CRL ev->sw */
	WK_SYNC_STEP_FAILED,
} wk_sync_step;

typedef struct wk_sync_event {
	wk_sync_step step;
	wk_sync_step failed;	/* FAILED */
	int rc;			/* FAILED */
	bool issuer;		/* FAILED: on the issuer's side */
	const char *serial;	/* hex, from CARD on */
	uint64_t seq;
	uint64_t done, total;	/* PAGE */
	unsigned count;
	uint16_t sw;
	int tries_left;		/* FAILED at PIN: after a wrong one */
	long http_status;	/* FAILED on the issuer's side */
	const char *error;
	const char *message;
} wk_sync_event;
typedef void (*wk_sync_progress_fn)(void *arg, const wk_sync_event *ev);
/* the purse PIN (4-12 digits) that opens the audit log and the holder's
 * session; false stops the sync (WK_ERR_CANCELLED) */
typedef bool (*wk_sync_confirm_fn)(void *arg, char *pin, size_t cap,
    size_t *pin_len);

typedef struct wk_sync_opts {
	unsigned page_max;	/* records per page (1-255; 0: 255) */
	/* after a lost link (the card or pcscd restarted): a new connection
	 * to the same card into *card (the old handle is the callback's to
	 * free), tried for up to 30 s; NULL: a lost link stops the sync */
	int (*reconnect)(void *arg, wk_card **card);
} wk_sync_opts;

typedef struct wk_sync_result {
	char serial[17];
	bool empty;		/* the card's log was empty */
	uint64_t head;		/* the card's head seq */
	uint64_t uploaded;	/* records uploaded */
	uint64_t missing;	/* records the issuer lacked, first..last */
	uint64_t missing_first, missing_last;
	uint64_t acked;		/* acknowledged up to */
	bool crl;		/* a revocation list was taken */
	uint64_t crl_version;
	unsigned revoked;
	unsigned bank;		/* the bank's records new on the card */
	unsigned bank_later;	/* of them, those that reach the issuer next time */
	bool bank_complete;	/* false: the log is full, the newest wait */
	double total_ms, card_ms, issuer_ms;	/* where the time went */
} wk_sync_result;

/*
 * the sync, whole: the issuer's audit key, the PIN (confirm), the card's
 * log (inside one card transaction), the holder's session, the bank's
 * records the card did not see (into its log before the upload), every
 * record the issuer lacks uploaded page by page from its cursor (again from
 * its acknowledged seq when it refuses an acknowledgement, 409, up to 3
 * rounds), the card's signed head to the issuer, its acknowledgement and
 * revocation list to the card. *card may be replaced (reconnect); *card
 * NULL: the flow connects with opts->reconnect after the PIN.
 * WK_ERR_PIN_BLOCKED: the holder's session cannot open (the caller may
 * deliver the bank's PIN reload); WK_ERR_CONDITIONS: the card is not
 * enrolled.
 */
int wk_audit_sync(wk_card **card, wk_issuer *is, const wk_sync_opts *o,
    wk_sync_confirm_fn confirm, wk_sync_progress_fn progress, void *arg,
    wk_sync_result *out);

/* ---- a card's log against the issuer's books (docs/audit.md "Verify"):
 * wk_audit_verify_issuer ---- */
typedef struct wk_audit_log_view {
	uint8_t serial[8];		/* the card's id */
	const uint8_t *records;	/* n raw records of 86 bytes, by seq */
	size_t n;
	const wk_audit_head *head;	/* the card's signed head, or NULL */
	const char *cert_pem;	/* the wallet certificate (slot 82), or NULL */
} wk_audit_log_view;
/* one discrepancy, in words */
typedef void (*wk_audit_fault_fn)(void *arg, const char *fault);

/*
 * compares a card's log (an export's records, head and certificate) with
 * the issuer's: the wallet certificate issued by the issuer's CA; the
 * issuer's CA-signed history of the card (each page signed for this card,
 * its chain linked) record by record against the card's (one that
 * differs, one missing on either side, a checkpoint that is not the
 * issuer's record); the issuer's CA-signed list of the card's completed
 * remote loads against the remote-load records (a load in no record, a
 * balance after it that differs, a remote load the ledger does not hold).
 * is carries the holder's session of that card (wk_issuer_session_open
 * with the PIN: the issuer shows a history to its card only). Each
 * discrepancy goes to fault and is added to *faults. WK_OK: compared;
 * else the comparison could not be made: why (may be NULL) says how when
 * the issuer's answer was malformed or missing a part, else the issuer's
 * status, code and message are in is.
 */
int wk_audit_verify_issuer(wk_issuer *is, const wk_audit_log_view *log,
    wk_audit_fault_fn fault, void *arg, size_t *faults, char *why,
    size_t why_cap);

#ifdef __cplusplus
}
#endif

#endif
