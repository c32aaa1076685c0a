/*
 * libwalletkey: the electronic purse and the software SAM (pboc-purse.md).
 * Part of <walletkey.h>, which includes every part; see there for the
 * conventions.
 */
#ifndef WALLETKEY_PURSE_H
#define WALLETKEY_PURSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

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
 * (aid == NULL: by file id 1001); reads EF 0015 into app (may be NULL).
 * WK_ERR_PURSE_BLOCKED: the ADF is selected but blocked (6A81); only the
 * unblock commands, VERIFY and wk_wallet_recover work then */
int wk_purse_select(wk_card *card, const uint8_t *aid, size_t aid_len,
    wk_purse_app *app);
int wk_purse_read_app(wk_card *card, wk_purse_app *app);
int wk_purse_read_holder(wk_card *card, wk_purse_holder *holder);
/* VERIFY with the PIN as ASCII digits (4-12, packed BCD, F-padded);
 * *tries_left is set on WK_ERR_WRONG_PIN when tries_left != NULL */
int wk_purse_verify_pin(wk_card *card, const char *pin, size_t pin_len,
    int *tries_left);
/* CHANGE PIN (docs/purse.md "PIN"): old and new as ASCII digits (4-12).
 * WK_ERR_WRONG_PIN (*tries_left set when tries_left != NULL) costs a try
 * as VERIFY does; WK_ERR_PIN_BLOCKED when none is left. The verification
 * is cleared either way */
int wk_purse_change_pin(wk_card *card, const char *old_pin, size_t old_len,
    const char *new_pin, size_t new_len, int *tries_left);
/* VERIFY without data (ISO 7816-4 11.5.6): *verified when this selection
 * holds a verified PIN, else *tries_left (0: blocked); spends nothing */
int wk_purse_pin_status(wk_card *card, int *tries_left, bool *verified);
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
 * software SAM (PSAM role): master keys (each with the algorithm of the
 * cards' keys it makes), terminal id and the terminal transaction counter
 * in one JSON file (docs/wallet.md), rewritten write-temp-fsync-rename
 * before a block of counter values is used and at close, write-temp-rename
 * for each purchase ("The terminal counter"). A card whose load or
 * purchase key has another algorithm than the SAM's master gets
 * WK_ERR_KEY_NOT_FOUND.
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
/* records the outcome (DONE / NOT_DONE) of the last transaction (durable
 * at close) */
int wk_sam_settle(wk_sam *sam, const wk_purse_txn *txn);
/* purchase: takes the next terminal sequence number (its block reserved
 * durably first), records txn as the last transaction, then MAC1 into txn */
int wk_sam_purchase_mac1(wk_sam *sam, wk_purse_txn *txn);
/* load: verifies the card's MAC1, then MAC2 into txn (recorded durably) */
int wk_sam_load_mac2(wk_sam *sam, wk_purse_txn *txn);
/* verifies the card's answer: MAC2 (purchase; for a load's proof the host
 * MAC2 it verified, docs/purse.md U2) and TAC, constant time; mac may be
 * NULL to check the TAC only. WK_ERR_AUTH_FAILED on mismatch */
int wk_sam_check(wk_sam *sam, const wk_purse_txn *txn, const uint8_t *mac,
    const uint8_t tac[4]);
/* the algorithm of a purse key (docs/purse.md "SM4"): the id INITIALIZE
 * answers, as common/wk_purse_crypto.h */
#define WK_PURSE_ALG_3DES 0x00
#define WK_PURSE_ALG_SM4 0x04
/* derives the 16-byte card key named "dlk", "dpk", "dtk", "dulk" or "duk"
 * of algorithm alg from a master key for an application serial (section
 * 4.4; SM4: docs/purse.md "SM4") */
int wk_purse_derive_key(uint8_t alg, const uint8_t mk[16],
    const uint8_t serial[WK_PURSE_SERIAL_LEN], uint8_t dk[16]);
/* reads a master-key file {"dlk":..,"dpk":..,"dtk":..,"dulk":..,"duk":..,
 * "algorithms": {"dpk": "sm4", ...}} (the object optional, each key "3des"
 * when it does not name it); keys is 5 x 16 bytes in that order, wiped by
 * the caller, algs the 5 algorithm ids */
int wk_purse_read_master_keys(const char *path, uint8_t keys[5][16],
    uint8_t algs[5]);

/*
 * the PSAM (docs/wallet.md "The PSAM"): a terminal's purchase SAM on a
 * walletkey card (AID F0574B5053414D). It holds only the issuer's purchase
 * master keys (DPK; one per algorithm, 3DES and SM4), computes MAC1 and
 * checks MAC2 inside with the algorithm of the card's DPK, keeps the
 * terminal transaction counter and exports no key.
 */
#define WK_PSAM_AID_BYTES 0xF0, 0x57, 0x4B, 0x50, 0x53, 0x41, 0x4D
#define WK_PSAM_POINT_LEN 65
/* GET INFO: state, key version, terminal, counter, point, algorithms (a
 * PSAM made before SM4 answers without the last byte) */
#define WK_PSAM_INFO_LEN (1 + 1 + 6 + 4 + WK_PSAM_POINT_LEN + 1)
/* wk_psam_info.algorithms: which purchase master keys it holds */
#define WK_PSAM_ALG_3DES 0x01
#define WK_PSAM_ALG_SM4 0x02

enum { WK_PSAM_EMPTY = 0, WK_PSAM_KEY = 1, WK_PSAM_INSTALLED = 2 };

typedef struct wk_psam_info {
	int state;		/* WK_PSAM_EMPTY, _KEY (key made), _INSTALLED */
	uint8_t key_version;	/* of the DPK, once installed */
	uint8_t terminal[6];	/* its terminal id, once installed */
	uint32_t counter;	/* the last terminal transaction number used */
	uint8_t point[WK_PSAM_POINT_LEN];	/* its P-256 key (state >= KEY) */
	uint8_t algorithms;	/* WK_PSAM_ALG_* of the masters it holds */
} wk_psam_info;

/* selects the PSAM applet; WK_ERR_NOT_FOUND on a card without one */
int wk_psam_select(wk_card *card);
int wk_psam_get_info(wk_card *card, wk_psam_info *info);
/* makes the PSAM's key pair on the card; anchor: the issuer CA's P-256
 * point, which must sign what is installed. WK_ERR_CONDITIONS once
 * installed */
int wk_psam_generate(wk_card *card, const uint8_t anchor[WK_PSAM_POINT_LEN],
    uint8_t point[WK_PSAM_POINT_LEN]);
/* the issuer's psam-keys message (walletkey-issuer psam-issue);
 * WK_ERR_AUTH_REQUIRED when the card refuses its signature or seal */
int wk_psam_install(wk_card *card, const uint8_t *msg, size_t len);
/* INIT SAM FOR PURCHASE: from txn's card serial, random, card seq, amount,
 * type, date, time, key version and algorithm, the PSAM's next terminal
 * number into txn->term_seq and MAC1 into txn->mac1 */
int wk_psam_purchase_mac1(wk_card *card, wk_purse_txn *txn);
/* CREDIT SAM FOR PURCHASE: MAC2 of the PSAM's last purchase since it
 * started; WK_ERR_AUTH_FAILED when it does not verify */
int wk_psam_check_mac2(wk_card *card, const uint8_t mac2[4]);
/*
 * a SAM whose keys and counter are a PSAM card's: the host keeps only the
 * terminal journal at path ("walletkey-terminal" JSON: terminal id, PSAM
 * card, the last transaction), created when missing. Purchases, recovery
 * and settlement work as with a SAM file; loads are refused
 * (WK_ERR_NOT_SUPPORTED: loads are remote). psam stays the caller's.
 */
int wk_sam_open_psam(wk_card *psam, const char *path, wk_sam **out);

#ifdef __cplusplus
}
#endif

#endif
