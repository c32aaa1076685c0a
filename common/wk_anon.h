/*
 * semi-anonymous payments (docs/semi-anonymous.md): the message formats,
 * written once for the card, the host library, the issuer's roles and the
 * fuzzers. Every integer is big-endian; every parser reads untrusted bytes
 * through wk_cur and checks every length.
 *
 *   txinfo     "WKANON-TX/1" | payer 1+n | payee 1+n | amount 8 | time 8 |
 *              counter 8 | nonce 16                    (the transaction info)
 *   txid       SHA-256(txinfo)
 *   txcred     Ed25519 by the online-transaction key over txinfo (64)
 *   idcred     crypto_box_seal to the identity authority's X25519 key of
 *              "WKANON-ID/1" | txid 32 | features 32 | Ed25519 by the
 *              identity key over the first 75 bytes (64)
 *   request    txinfo 2+n | txcred 64 | idcred 2+n   (inside the envelope)
 *   envelope   "WKANON-REQ/1" | kind 1 | account 1+n | nonce 24 |
 *              XChaCha20-Poly1305(key = the business key, aad = all before)
 *   business   BLAKE2b-256(key "WKANON-BK/1", X25519(card, manager) |
 *   key        card public | manager public)
 *   result     "WKANON-RES/1" | txid 32 | status 1 | amount 8 | balance 8 |
 *              time 8 | reason 1+n | Ed25519 by the authority (64)
 *   account    "WKANON-ACCT/1" | account 1+n | card id 8 | business
 *   statement  public 32 | Ed25519 by the account manager (64)
 *   query      "WKANON-Q/1" | time 8 | nonce 16   (an envelope of kind 2)
 */
#ifndef WK_ANON_H
#define WK_ANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the applet: proprietary RID F0, "WKANON" */
#define WK_ANON_AID_BYTES 0xF0, 0x57, 0x4B, 0x41, 0x4E, 0x4F, 0x4E
#define WK_ANON_AID_LEN 7
/* instructions (CLA 80; VERIFY is 00 20 00 00, the purse PIN) */
#define WK_ANON_INS_INFO 0xCA	/* state, account, counter, pending */
#define WK_ANON_INS_GENERATE 0xE0	/* P1 01 make keys; answers the publics */
#define WK_ANON_INS_ATTEST 0xE2	/* P1 the key (A0..A2): its attestation */
#define WK_ANON_INS_ACCOUNT 0xE4	/* the account manager's statement */
#define WK_ANON_INS_AUTHORITY 0xE6	/* authority keys + features */
#define WK_ANON_INS_PAY 0x50	/* builds a payment request */
#define WK_ANON_INS_RESULT 0x52	/* the authority's signed result */
#define WK_ANON_INS_PENDING 0x54	/* the pending payment's txinfo */
#define WK_ANON_INS_QUERY 0x56	/* an authenticated query envelope */

/* the keys, named as attestation key slots (docs/attestation.md) */
#define WK_ANON_SLOT_OTK 0xA0	/* online-transaction key, Ed25519 */
#define WK_ANON_SLOT_IDK 0xA1	/* identity key, Ed25519 */
#define WK_ANON_SLOT_BK 0xA2	/* business key, X25519 */

#define WK_ANON_ACCT_MAX 40	/* account number: "<manager>-<16 hex>" */
#define WK_ANON_MANAGER_MAX 16
#define WK_ANON_KEY_LEN 32
#define WK_ANON_SIG_LEN 64
#define WK_ANON_NONCE_LEN 16
#define WK_ANON_TXID_LEN 32
#define WK_ANON_FEAT_LEN 32
#define WK_ANON_AEAD_NONCE 24
#define WK_ANON_AEAD_TAG 16
#define WK_ANON_SEAL_OVERHEAD 48	/* crypto_box_SEALBYTES */
#define WK_ANON_REASON_MAX 120
#define WK_ANON_AMOUNT_MAX 0x7FFFFFFFu	/* fen; fits the audit record */

#define WK_ANON_TX_MAGIC "WKANON-TX/1"
#define WK_ANON_ID_MAGIC "WKANON-ID/1"
#define WK_ANON_REQ_MAGIC "WKANON-REQ/1"
#define WK_ANON_RES_MAGIC "WKANON-RES/1"
#define WK_ANON_ACCT_MAGIC "WKANON-ACCT/1"
#define WK_ANON_Q_MAGIC "WKANON-Q/1"
#define WK_ANON_FEAT_MAGIC "WKANON-FEAT/1"
#define WK_ANON_PEER_MAGIC "WKANON-PEER/1"

#define WK_ANON_TXINFO_MAX (11 + 2 * (1 + WK_ANON_ACCT_MAX) + 8 + 8 + 8 + 16)
#define WK_ANON_IDPLAIN_LEN (11 + 32 + 32 + 64)
#define WK_ANON_IDCRED_LEN (WK_ANON_IDPLAIN_LEN + WK_ANON_SEAL_OVERHEAD)
#define WK_ANON_REQ_PLAIN_MAX (2 + WK_ANON_TXINFO_MAX + 64 + 2 + \
	WK_ANON_IDCRED_LEN)
#define WK_ANON_ENV_MAX (12 + 1 + 1 + WK_ANON_ACCT_MAX + 24 + \
	WK_ANON_REQ_PLAIN_MAX + 16)
#define WK_ANON_RES_MAX (12 + 32 + 1 + 8 + 8 + 8 + 1 + WK_ANON_REASON_MAX + 64)
#define WK_ANON_STMT_MAX (13 + 1 + WK_ANON_ACCT_MAX + 8 + 32 + 64)
#define WK_ANON_QUERY_LEN (10 + 8 + 16)

enum {
	WK_ANON_OK = 0,
	WK_ANON_MALFORMED = -1,
	WK_ANON_CRYPTO = -2,	/* a signature or seal does not verify or open */
	WK_ANON_ARG = -3,
};

/* envelope kinds */
enum { WK_ANON_ENV_PAY = 1, WK_ANON_ENV_QUERY = 2 };

/* result status */
enum {
	WK_ANON_COMMITTED = 1,
	WK_ANON_REFUSED = 2,
	WK_ANON_VOID = 3,	/* never reached the ledger; can never commit */
};

typedef struct wk_anon_tx {
	char payer[WK_ANON_ACCT_MAX + 1];
	char payee[WK_ANON_ACCT_MAX + 1];
	uint64_t amount;
	uint64_t time;
	uint64_t counter;
	uint8_t nonce[WK_ANON_NONCE_LEN];
} wk_anon_tx;

typedef struct wk_anon_result {
	uint8_t txid[WK_ANON_TXID_LEN];
	uint8_t status;
	uint64_t amount;
	int64_t balance;	/* the payer's balance after, when committed */
	uint64_t time;
	char reason[WK_ANON_REASON_MAX + 1];
} wk_anon_result;

/* an account number: <manager>-<16 lower-case hex>, manager [a-z0-9]{1,16} */
bool wk_anon_account_ok(const char *acct);
/* the manager part of an account number into out (cap > 16) */
int wk_anon_account_manager(const char *acct, char *out, size_t cap);
bool wk_anon_manager_ok(const char *id);

int wk_anon_tx_encode(const wk_anon_tx *tx, uint8_t *out, size_t cap,
    size_t *len);
int wk_anon_tx_decode(const uint8_t *p, size_t len, wk_anon_tx *tx);
void wk_anon_txid(const uint8_t *txinfo, size_t len,
    uint8_t out[WK_ANON_TXID_LEN]);

/* the plain request inside an envelope */
int wk_anon_req_encode(const uint8_t *txinfo, size_t txlen,
    const uint8_t txcred[WK_ANON_SIG_LEN], const uint8_t *idcred,
    size_t idlen, uint8_t *out, size_t cap, size_t *len);
/* views into p */
int wk_anon_req_decode(const uint8_t *p, size_t len, const uint8_t **txinfo,
    size_t *txlen, const uint8_t **txcred, const uint8_t **idcred,
    size_t *idlen);

/* the business key (shared by card and manager): secret is the own
 * X25519 secret, the two publics in the order card, manager */
int wk_anon_business_key(const uint8_t secret[32], const uint8_t peer[32],
    const uint8_t card_pub[32], const uint8_t mgr_pub[32], uint8_t key[32]);
/* seals plain into an envelope of kind for account */
int wk_anon_env_seal(uint8_t kind, const char *acct, const uint8_t key[32],
    const uint8_t nonce[WK_ANON_AEAD_NONCE], const uint8_t *plain,
    size_t plen, uint8_t *out, size_t cap, size_t *len);
/* the header alone (kind and account) of an untrusted envelope */
int wk_anon_env_peek(const uint8_t *p, size_t len, uint8_t *kind, char *acct,
    size_t acap);
/* opens an envelope with key into plain (cap); kind and account checked
 * by the caller from wk_anon_env_peek */
int wk_anon_env_open(const uint8_t *p, size_t len, const uint8_t key[32],
    uint8_t *plain, size_t cap, size_t *plen);

/* the identity credential */
int wk_anon_idcred_seal(const uint8_t txid[32], const uint8_t features[32],
    const uint8_t idk_secret[64], const uint8_t authority_pub[32],
    uint8_t out[WK_ANON_IDCRED_LEN]);
/* opens with the authority's box key pair; verifies the identity key's
 * signature and that it covers txid; features out */
int wk_anon_idcred_open(const uint8_t *p, size_t len,
    const uint8_t box_pub[32], const uint8_t box_secret[32],
    const uint8_t idk_pub[32], const uint8_t txid[32], uint8_t features[32]);

/* the user features' commitment the card carries */
void wk_anon_features(const uint8_t salt[16], const char *name,
    const char *id_number, uint8_t out[32]);

/* the authority's signed result */
int wk_anon_result_sign(const wk_anon_result *r, const uint8_t sk[64],
    uint8_t *out, size_t cap, size_t *len);
int wk_anon_result_verify(const uint8_t *p, size_t len, const uint8_t pk[32],
    wk_anon_result *r);
/* parses without checking the signature (fuzzing, display) */
int wk_anon_result_decode(const uint8_t *p, size_t len, wk_anon_result *r);

/* the account manager's statement of an account it opened */
int wk_anon_stmt_sign(const char *acct, const uint8_t card_id[8],
    const uint8_t bk_pub[32], const uint8_t sk[64], uint8_t *out,
    size_t cap, size_t *len);
int wk_anon_stmt_verify(const uint8_t *p, size_t len, const uint8_t pk[32],
    char *acct, size_t acap, uint8_t card_id[8], uint8_t bk_pub[32]);

/* an authenticated query's plain text */
void wk_anon_query_encode(uint64_t time, const uint8_t nonce[16],
    uint8_t out[WK_ANON_QUERY_LEN]);
int wk_anon_query_decode(const uint8_t *p, size_t len, uint64_t *time,
    uint8_t nonce[16]);

const char *wk_anon_status_name(uint8_t status);

#endif
