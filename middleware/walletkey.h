/*
 * libwalletkey: the host side of walletkey. The one installed header; the
 * internals live in wk_internal.h. Only this library talks to PC/SC.
 *
 * Conventions: functions return int, WK_OK (0) or a negative wk_rc;
 * status words travel in their own out-parameter; objects are created with
 * _new/_open and released with _free(T **), which sets the pointer to NULL.
 */
#ifndef WALLETKEY_H
#define WALLETKEY_H

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
	WK_ERR_KEY_NOT_FOUND = -24,	/* purse key index unknown */
	WK_ERR_AUTH_FAILED = -25,	/* management key or signature check failed */
	WK_ERR_CRYPTO = -26,		/* host-side cryptography failed */
	WK_ERR_NETWORK = -27,		/* the issuer could not be reached */
	WK_ERR_ISSUER = -28,		/* the issuer refused the request */
	WK_ERR_IO = -29,		/* a host file could not be read or written */
	WK_ERR_INTERNAL = -30,
} wk_rc;

const char *wk_strerror(int rc);
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

/* connects to the reader named (exactly, or by unique prefix), or with NULL to
 * the first reader holding a walletkey card, else the first holding any card */
int wk_card_open(wk_ctx *ctx, const char *reader, wk_card **out);
void wk_card_free(wk_card **card);
const char *wk_card_reader(const wk_card *card);
int wk_card_atr(const wk_card *card, uint8_t *atr, size_t *len);
bool wk_card_is_walletkey(const wk_card *card);

/* what the card-information applet tells about a walletkey card */
typedef struct wk_card_info {
	uint8_t serial[8];
	uint8_t version[3];	/* major, minor, patch */
} wk_card_info;

/* selects the card-information applet (this deselects any other applet) and
 * reads serial and version; WK_ERR_NOT_FOUND on a card that is not a walletkey */
int wk_card_get_info(wk_card *card, wk_card_info *out);

/* exclusive access around multi-APDU operations; nests */
int wk_card_begin(wk_card *card);
int wk_card_end(wk_card *card);

/*
 * one command through the APDU client: extended length when the card
 * supports it, else command chaining (CLA | 0x10) for data over 255 bytes;
 * 61xx answered with GET RESPONSE, 6Cxx with a resend. *resp_len is the
 * capacity on entry and the data length on return. Returns WK_OK when the
 * exchange happened, whatever *sw is.
 */
int wk_card_apdu(wk_card *card, uint8_t cla, uint8_t ins, uint8_t p1,
    uint8_t p2, const uint8_t *data, size_t lc, size_t le, uint8_t *resp,
    size_t *resp_len, uint16_t *sw);
/* one raw exchange, no chaining or GET RESPONSE (walletkey apdu) */
int wk_card_transmit(wk_card *card, const uint8_t *apdu, size_t len,
    uint8_t *resp, size_t *resp_len);

/* ==== electronic purse and software SAM (pboc-purse.md); purse/SAM block ==== */

#define WK_PURSE_SERIAL_LEN 10	/* application serial number, BCD (EF 0015) */
#define WK_PURSE_RECORDS_MAX 100	/* the largest cyclic EF 0018 walletkey-card keeps */

typedef enum wk_purse_kind {
	WK_PURSE_ED = 1,	/* electronic deposit (needs the PIN for everything) */
	WK_PURSE_EP = 2,	/* electronic purse */
} wk_purse_kind;

/* EF 0015, public application basic data (section 7.3) */
typedef struct wk_purse_app {
	uint8_t issuer[8];
	uint8_t app_type;	/* 01 ED, 02 EP, 03 both */
	uint8_t app_version;
	uint8_t serial[WK_PURSE_SERIAL_LEN];
	uint8_t start[4];	/* BCD YYYYMMDD */
	uint8_t expiry[4];
	uint8_t custom[2];
} wk_purse_app;

/* EF 0016, cardholder data (39 or 55 bytes) */
typedef struct wk_purse_holder {
	uint8_t card_type;
	uint8_t staff;
	char name[21];		/* trailing 00/FF/space removed, NUL-terminated */
	char id_number[33];
	uint8_t id_type;
} wk_purse_holder;

/* one 23-byte record of EF 0018 */
typedef struct wk_purse_record {
	uint16_t seq;
	uint32_t overdraft;	/* 3 bytes on the card */
	uint32_t amount;
	uint8_t type;		/* pboc-purse.md section 5 */
	uint8_t terminal[6];
	uint8_t date[4];	/* BCD YYYYMMDD */
	uint8_t time[3];	/* BCD hhmmss */
} wk_purse_record;

typedef enum wk_purse_txn_state {
	WK_PURSE_TXN_NONE = 0,
	WK_PURSE_TXN_PREPARED,	/* INIT answered, MACs ready, final command not sent */
	WK_PURSE_TXN_SENT,	/* DEBIT/CREDIT sent, answer lost: outcome unknown */
	WK_PURSE_TXN_DONE,	/* confirmed by the card, TAC verified */
	WK_PURSE_TXN_NOT_DONE,	/* the card proved it did not happen */
} wk_purse_txn_state;

/* everything public about one load or purchase, enough to recover it later */
typedef struct wk_purse_txn {
	wk_purse_txn_state state;
	uint8_t type;		/* 01/02 load, 05/06 purchase */
	uint8_t key_index;
	uint32_t amount;
	uint8_t serial[WK_PURSE_SERIAL_LEN];
	uint8_t terminal[6];
	uint8_t term_seq[4];	/* purchase only */
	uint8_t date[4];
	uint8_t time[3];
	uint32_t old_balance;
	uint16_t card_seq;	/* online (load) or offline (purchase) seq before the increment */
	uint8_t key_version;
	uint8_t alg;
	uint8_t random[4];
	uint8_t mac1[4];
	uint8_t mac2[4];
	uint8_t tac[4];
} wk_purse_txn;

typedef struct wk_sam wk_sam;

/* "12.30" -> 1230 fen: digits, at most 2 decimals, > 0, fits 32 bits;
 * no sign, no exponent, no floating point. WK_ERR_ARG otherwise */
int wk_purse_amount_parse(const char *s, uint32_t *fen);
/* 1230 -> "12.30"; out holds at least 16 bytes */
void wk_purse_amount_format(uint32_t fen, char *out, size_t cap);

/* selects the purse: PSE 1PAY.SYS.DDF01 (when present), then the ADF by aid
 * (aid == NULL: by file id 1001); reads EF 0015 into app (may be NULL) */
int wk_purse_select(wk_card *card, const uint8_t *aid, size_t aid_len,
    wk_purse_app *app);
int wk_purse_read_app(wk_card *card, wk_purse_app *app);
int wk_purse_read_holder(wk_card *card, wk_purse_holder *holder);
/* VERIFY with the PIN as ASCII digits (4-12, packed BCD, F-padded);
 * *tries_left is set on WK_ERR_WRONG_PIN when tries_left != NULL */
int wk_purse_verify_pin(wk_card *card, const char *pin, size_t pin_len,
    int *tries_left);
int wk_purse_balance(wk_card *card, wk_purse_kind kind, uint32_t *balance);
/* reads EF 0018 newest first, skipping all-zero records; *n records out */
int wk_purse_records(wk_card *card, wk_purse_record *out, size_t cap,
    size_t *n);

/*
 * a full purchase or local load with a software SAM, inside one card
 * transaction, after wk_purse_select() (app: its EF 0015, whose serial
 * diversifies the keys). pin may be NULL (no VERIFY).
 * On WK_OK txn->state is WK_PURSE_TXN_DONE (MAC2/TAC verified). When the
 * answer to DEBIT/CREDIT is lost the result is the transport error and
 * txn->state is WK_PURSE_TXN_SENT: call wk_purse_recover(). The SAM file
 * records txn before the final command is sent (wk_sam_last()).
 * WK_ERR_AUTH_FAILED: the card's MAC1/MAC2/TAC did not verify.
 */
int wk_purse_purchase(wk_card *card, wk_sam *sam, const wk_purse_app *app,
    wk_purse_kind kind, uint32_t amount, const char *pin, size_t pin_len,
    wk_purse_txn *txn);
int wk_purse_load(wk_card *card, wk_sam *sam, const wk_purse_app *app,
    wk_purse_kind kind, uint32_t amount, const char *pin, size_t pin_len,
    wk_purse_txn *txn);
/* GET TRANSACTION PROVE: MAC(4) || TAC(4) for (type, seq) */
int wk_purse_prove(wk_card *card, uint8_t type, uint16_t seq, uint8_t mac[4],
    uint8_t tac[4]);
/* after a lost answer: selects the purse, asks for the proof (seq N+1, then N)
 * and verifies it with the SAM; sets txn->state to DONE or NOT_DONE */
int wk_purse_recover(wk_card *card, wk_sam *sam, wk_purse_txn *txn);

/*
 * software SAM (PSAM role): master keys, terminal id and the terminal
 * transaction counter in one JSON file (docs/wallet.md), rewritten
 * write-temp-fsync-rename before a counter value is used.
 */
int wk_sam_open(const char *path, wk_sam **out);
void wk_sam_free(wk_sam **sam);
/* creates a SAM file (refuses to overwrite) from a master-key file */
int wk_sam_create(const char *path, const char *master_keys_path,
    const uint8_t terminal[6]);
void wk_sam_terminal(const wk_sam *sam, uint8_t terminal[6]);
uint32_t wk_sam_counter(const wk_sam *sam);
/* the purse key index the SAM's keys are for (default 1) */
uint8_t wk_sam_key_index(const wk_sam *sam);
/* the last transaction recorded before its final command was sent */
int wk_sam_last(const wk_sam *sam, wk_purse_txn *txn);
/* records the outcome (DONE / NOT_DONE) of the last transaction durably */
int wk_sam_settle(wk_sam *sam, const wk_purse_txn *txn);
/* purchase: reserves the next terminal sequence number (durably, together
 * with txn as the last transaction), then MAC1 into txn */
int wk_sam_purchase_mac1(wk_sam *sam, wk_purse_txn *txn);
/* load: verifies the card's MAC1, then MAC2 into txn (recorded durably) */
int wk_sam_load_mac2(wk_sam *sam, wk_purse_txn *txn);
/* verifies the card's answer: MAC2 (purchase; for a load's proof the host
 * MAC2 it verified, docs/purse.md U2) and TAC, constant time; mac may be
 * NULL to check the TAC only. WK_ERR_AUTH_FAILED on mismatch */
int wk_sam_check(wk_sam *sam, const wk_purse_txn *txn, const uint8_t *mac,
    const uint8_t tac[4]);
/* derives the 16-byte card key named "dlk", "dpk", "dtk", "dulk" or "duk"
 * from a master key for an application serial (section 4.4) */
int wk_purse_derive_key(const uint8_t mk[16], const uint8_t serial[WK_PURSE_SERIAL_LEN],
    uint8_t dk[16]);
/* reads a master-key file {"dlk":..,"dpk":..,"dtk":..,"dulk":..,"duk":..};
 * keys is 5 x 16 bytes in that order, wiped by the caller */
int wk_purse_read_master_keys(const char *path, uint8_t keys[5][16]);

/* ==== end of the purse/SAM block ==== */

#ifdef __cplusplus
}
#endif

#endif
