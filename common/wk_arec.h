/*
 * the audit log's formats (docs/audit.md), defined once for the card, the
 * host and the fuzzers: the fixed 86-byte record and its SHA-256 chain, the
 * chain-head statement the card signs, and the sealed export page
 * (X25519 -> HKDF-SHA256 -> XChaCha20-Poly1305).
 *
 * record, big-endian:
 *   seq 8 | counter 2 | type 1 | date 4 (BCD) | time 3 (BCD) | amount 4 |
 *   balance after 4 | source account 11 | target account 11 |
 *   terminal id 6 | previous record's hash 32
 * an account is kind 1 | id 10 (WK_AREC_ACCT_*).
 */
#ifndef WK_AREC_H
#define WK_AREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wk_buf.h"

/* the audit applet: proprietary RID F0, "WKAUDIT" */
#define WK_AUDIT_AID_BYTES 0xF0, 0x57, 0x4B, 0x41, 0x55, 0x44, 0x49, 0x54
#define WK_AUDIT_AID_LEN 8
/* its instructions (CLA 80; VERIFY is 00 20) */
#define WK_AUDIT_INS_STATUS 0xCA
#define WK_AUDIT_INS_PAGE 0xE2
#define WK_AUDIT_INS_HEAD 0xE4
#define WK_AUDIT_INS_ACK 0xE6	/* issuer-signed acknowledgement (sync) */
#define WK_AUDIT_INS_CRL 0xE8	/* issuer-signed revocation list (sync) */
#define WK_AUDIT_INS_ISSUER 0xEA	/* issuer-signed records of the account */
#define WK_AUDIT_CRL_STATUS_LEN (8 + 8 + 2)	/* version, issued, count */
#define WK_AUDIT_STATUS_LEN (4 + 4 + 8 + 8 + 8)
#define WK_AUDIT_PAGE_CMD_LEN (32 + 8 + 1)

#define WK_AREC_LEN 86
#define WK_AREC_HASH_LEN 32
#define WK_AREC_ACCT_LEN 11
#define WK_AREC_SERIAL_LEN 8
#define WK_AREC_NONCE_LEN 16
#define WK_AREC_KEY_LEN 32	/* X25519 public and secret keys */
#define WK_AREC_PAGE_HDR 19	/* first seq 8 | count 2 | next seq 8 | more 1 */
#define WK_AREC_PAGE_MAX 255	/* records in one page */
/* eph public key 32 | nonce 24 | ciphertext | tag 16 */
#define WK_AREC_SEAL_OVERHEAD (32 + 24 + 16)
#define WK_AREC_HEAD_TBS_LEN (14 + 8 + 8 + 32 + 8 + 32 + 16)
/* "WKAUDIT-ACK/1" | serial 8 | acked seq 8 | hash of that record 32 */
#define WK_AREC_ACK_TBS_LEN (13 + 8 + 8 + 32)
#define WK_AREC_SIG_MAX 72	/* DER ECDSA P-256 */
/* the issuer's signed history page, docs/audit.md "Sync with the issuer":
 * "WKAUDIT-HIST/1" | serial 8 | first seq 8 | count 2 | more 1 |
 * stored seq 8 | acked seq 8 | acked hash 32 | count x 86-byte records */
#define WK_AREC_HIST_HDR (14 + 8 + 8 + 2 + 1 + 8 + 8 + 32)

/* transaction types: PBOC codes (pboc-purse.md 5) and walletkey's own */
enum {
	WK_AREC_ED_LOAD = 0x01,
	WK_AREC_EP_LOAD = 0x02,
	WK_AREC_UNLOAD = 0x03,
	WK_AREC_CASH = 0x04,
	WK_AREC_ED_PURCHASE = 0x05,
	WK_AREC_EP_PURCHASE = 0x06,
	WK_AREC_LIMIT = 0x07,
	WK_AREC_TRANSFER_OUT = 0x10,
	WK_AREC_TRANSFER_IN = 0x11,
	WK_AREC_PAYMENT = 0x20,		/* an online payment the card confirmed */
	WK_AREC_ANON_PAYMENT = 0x21,	/* semi-anonymous payment (docs/semi-anonymous.md) */
	WK_AREC_PAYMENT_DECLINED = 0x22,	/* an online payment the card declined: nothing moves */
	/* PIV private-key operations on slots 9C and 9D (docs/audit.md
	 * "Signatures and decryptions") */
	WK_AREC_PIV_SIGN = 0x30,
	WK_AREC_PIV_DECRYPT = 0x31,	/* RSA decryption or key agreement */
	/* an SM2 signature of a GM container's signing key (docs/audit.md
	 * "Signatures and decryptions") */
	WK_AREC_GM_SIGN = 0x32,
	/* the issuer's history of the account (docs/audit.md "The bank's
	 * records"): WK_AREC_ISSUER_FLAG set */
	WK_AREC_ISS_DEPOSIT = 0x81,	/* money into the account from outside */
	WK_AREC_ISS_PAYMENT = 0x82,	/* an online payment from the account */
	WK_AREC_ISS_SETTLEMENT = 0x83,	/* a merchant paid for the card's purchase */
	WK_AREC_ISS_REVERSAL = 0x84,	/* a load reversed: back to the account */
	WK_AREC_ISS_LOAD = 0x85,	/* the account loaded another card */
	WK_AREC_ISS_CREDIT = 0x8E,	/* any other credit of the account */
	WK_AREC_ISS_DEBIT = 0x8F,	/* any other debit of the account */
};

/*
 * who made a record (docs/audit.md "Origins"): the card writes its own
 * transactions and authentications (types below 0x80); the issuer's
 * history of the account, which the card receives signed and checks
 * before it writes it into its log, has the types from 0x80 on
 */
#define WK_AREC_ISSUER_FLAG 0x80
bool wk_arec_is_issuer(uint8_t type);
/* "card" or "issuer" */
const char *wk_arec_origin_name(uint8_t type);

/* account kinds (first byte of an account) */
enum {
	WK_AREC_ACCT_NONE = 0,
	WK_AREC_ACCT_ED = 1,		/* id: the card's 10-byte BCD application serial */
	WK_AREC_ACCT_EP = 2,		/* likewise */
	WK_AREC_ACCT_TERMINAL = 3,	/* id: 6-byte terminal id, then 4 zero bytes */
	WK_AREC_ACCT_BANK = 4,		/* the issuer's side of a load/unload, via the terminal */
	WK_AREC_ACCT_CARD = 5,		/* another card: its 8-byte card id, then 2 zero bytes */
	WK_AREC_ACCT_ANON = 6,		/* a pseudonymous account: SHA-256 of its number, first 10 bytes */
	WK_AREC_ACCT_ACCOUNT = 7,	/* a bank account: its PAN, BCD, right-aligned, 0-padded */
	WK_AREC_ACCT_OUTSIDE = 8,	/* money from or to outside the bank */
	WK_AREC_ACCT_PIV = 9,		/* a PIV key: slot 1 | algorithm 1 | operation 1 (81 challenge, 85 exponentiation) */
	WK_AREC_ACCT_DIGEST = 10,	/* the first 10 bytes of SHA-256 of what the key worked on */
	WK_AREC_ACCT_GM = 11,		/* a GM container's key: application 1 | container 1 | usage 1 (01 signing) | input 1 (00 e, 01 message) | SHA-256(application name || 00 || container name), first 6 bytes */
};

/* money leaving the holder (the purse or the account): shown negative */
bool wk_arec_outgoing(uint8_t type);

enum {
	WK_AREC_OK = 0,
	WK_AREC_MALFORMED = -1,
	WK_AREC_CRYPTO = -2,	/* a seal does not open, or the crypto library failed */
};

typedef struct wk_arec {
	uint64_t seq;
	uint16_t counter;
	uint8_t type;
	uint8_t date[4];
	uint8_t time[3];
	uint32_t amount;
	uint32_t balance;
	uint8_t src[WK_AREC_ACCT_LEN];
	uint8_t dst[WK_AREC_ACCT_LEN];
	uint8_t term_id[6];
	uint8_t prev[WK_AREC_HASH_LEN];
} wk_arec;

void wk_arec_encode(const wk_arec *r, uint8_t out[WK_AREC_LEN]);
int wk_arec_decode(const uint8_t *p, size_t len, wk_arec *r);
void wk_arec_hash(const uint8_t raw[WK_AREC_LEN], uint8_t h[WK_AREC_HASH_LEN]);
/* "load", "purchase", ... ; "type-XX" into buf for unknown codes */
const char *wk_arec_type_name(uint8_t type, char *buf, size_t cap);
/* parses a name back ("load" matches 01 and 02, ...): true when t matches */
bool wk_arec_type_matches(const char *name, uint8_t type);

/* the statement the card signs (ECDSA P-256 with SHA-256 over these bytes):
 * "WKAUDIT-HEAD/1" | serial 8 | base seq 8 | base hash 32 | head seq 8 |
 * head hash 32 | host nonce 16 */
void wk_arec_head_tbs(const uint8_t serial[8], uint64_t base_seq,
    const uint8_t base_hash[32], uint64_t head_seq, const uint8_t head_hash[32],
    const uint8_t nonce[16], uint8_t out[WK_AREC_HEAD_TBS_LEN]);

/* the acknowledgement the issuer signs (ECDSA P-256, SHA-256) with its CA
 * key and the card checks with its trust anchor before audit_log_ack */
void wk_arec_ack_tbs(const uint8_t serial[8], uint64_t seq,
    const uint8_t hash[WK_AREC_HASH_LEN], uint8_t out[WK_AREC_ACK_TBS_LEN]);

typedef struct evp_pkey_st EVP_PKEY;
/* ECDSA P-256 over SHA-256(msg): DER signature into sig (cap >= 72) */
int wk_arec_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t *sig,
    size_t cap, size_t *sig_len);
/* WK_AREC_OK when sig is pub's signature over msg */
int wk_arec_sig_verify(EVP_PKEY *pub, const uint8_t *msg, size_t len,
    const uint8_t *sig, size_t sig_len);

typedef struct wk_arec_hist {
	uint8_t serial[8];
	uint64_t first_seq;
	uint16_t count;
	bool more;
	uint64_t stored_seq;	/* the issuer's newest stored record */
	uint64_t acked_seq;	/* the newest one it acknowledged */
	uint8_t acked_hash[WK_AREC_HASH_LEN];
	const uint8_t *records;	/* count * WK_AREC_LEN bytes */
} wk_arec_hist;

/* the issuer's signed list of the card's completed remote loads (its
 * ledger's side): "WKAUDIT-LOADS/1" | serial 8 | count 2 | more 1 |
 * count x (online seq before the credit 2 | amount 4 | balance after 4) */
#define WK_AREC_LOADS_HDR (15 + 8 + 2 + 1)
#define WK_AREC_LOAD_LEN 10

typedef struct wk_arec_loads {
	uint8_t serial[8];
	uint16_t count;
	bool more;
	const uint8_t *entries;	/* count * WK_AREC_LOAD_LEN bytes */
} wk_arec_loads;

void wk_arec_loads_header(const wk_arec_loads *l, uint8_t out[WK_AREC_LOADS_HDR]);
int wk_arec_loads_parse(const uint8_t *p, size_t len, wk_arec_loads *l);

/*
 * the issuer's signed revocation list (docs/audit.md "Revocation list"),
 * delivered beside its acknowledgement and kept by the card, which refuses
 * a transfer peer whose card id it lists:
 *   "WKAUDIT-CRL/1" | version 8 | issued 8 (unix seconds, UTC) | count 2 |
 *   count x card id 8, strictly ascending | DER signature (to the end)
 * signed (ECDSA P-256, SHA-256) over everything before the signature with
 * the issuer's CA key. The version only rises, so an old list cannot
 * replace a newer one.
 */
#define WK_AREC_CRL_HDR (13 + 8 + 8 + 2)
#define WK_AREC_CRL_MAX 4096	/* card ids in one list */
#define WK_AREC_CRL_ID_LEN 8

typedef struct wk_arec_crl {
	uint64_t version;
	uint64_t issued;
	uint16_t count;
	const uint8_t *ids;	/* count * 8 bytes */
	size_t tbs_len;		/* the signed bytes: header and ids */
	const uint8_t *sig;	/* the DER signature after them */
	size_t sig_len;
} wk_arec_crl;

void wk_arec_crl_header(const wk_arec_crl *l, uint8_t out[WK_AREC_CRL_HDR]);
/* a whole list with its signature (1-72 bytes; not checked here): the
 * header, count ids in strictly ascending order, the signature */
int wk_arec_crl_parse(const uint8_t *p, size_t len, wk_arec_crl *l);
/* true when l lists id (binary search) */
bool wk_arec_crl_has(const wk_arec_crl *l, const uint8_t id[WK_AREC_CRL_ID_LEN]);

/*
 * the issuer's records of the account for one card (docs/audit.md "The
 * bank's records"), which the card checks with its trust anchor and chains
 * into its log (audit ISSUER RECORDS):
 *   "WKAUDIT-ISS/1" | card serial 8 | count 2 |
 *   count x 86-byte record (seq 0, prev 0, type with WK_AREC_ISSUER_FLAG,
 *   the terminal field the issuer's event number, 48 bits, strictly
 *   ascending) | DER ECDSA P-256 signature (CA key) over all before it
 */
#define WK_AREC_ISS_HDR (13 + 8 + 2)
#define WK_AREC_ISS_MAX 64	/* records in one batch */
typedef struct wk_arec_iss {
	uint8_t serial[8];
	uint16_t count;
	const uint8_t *records;	/* count * WK_AREC_LEN bytes */
	size_t tbs_len;
	const uint8_t *sig;
	size_t sig_len;
} wk_arec_iss;
void wk_arec_iss_header(const uint8_t serial[8], uint16_t count,
    uint8_t out[WK_AREC_ISS_HDR]);
/* a whole batch: header, count records (each an issuer type, seq and prev
 * zero, event numbers strictly ascending and not 0), 1-72 signature bytes */
int wk_arec_iss_parse(const uint8_t *p, size_t len, wk_arec_iss *b);
/* an issuer record's event number (its terminal field) */
uint64_t wk_arec_iss_event(const wk_arec *r);
void wk_arec_iss_set_event(wk_arec *r, uint64_t event);

/* the page header for h (records follow it) */
void wk_arec_hist_header(const wk_arec_hist *h, uint8_t out[WK_AREC_HIST_HDR]);
/* a history page (without its signature): header, count records, nothing else */
int wk_arec_hist_parse(const uint8_t *p, size_t len, wk_arec_hist *h);

/* seals pt to the recipient's X25519 key; appends to out */
int wk_arec_seal(const uint8_t recipient[WK_AREC_KEY_LEN],
    const uint8_t serial[8], const uint8_t *pt, size_t n, wk_buf *out);
/* opens one sealed page with the recipient's key pair; appends to pt */
int wk_arec_open(const uint8_t recipient_pk[WK_AREC_KEY_LEN],
    const uint8_t recipient_sk[WK_AREC_KEY_LEN], const uint8_t serial[8],
    const uint8_t *sealed, size_t n, wk_buf *pt);

typedef struct wk_arec_page {
	uint64_t first_seq;
	uint16_t count;
	uint64_t next_seq;
	bool more;
	const uint8_t *records;	/* count * WK_AREC_LEN bytes inside the page */
} wk_arec_page;

/* a plaintext page: header, then count whole records, nothing else */
int wk_arec_page_parse(const uint8_t *p, size_t len, wk_arec_page *page);

#endif
