/* walletkey-issuer internals: one header for the modules of issuer/ */
#ifndef ISS_H
#define ISS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "iss_db.h"
#include "wk_msg.h"
#include "wk_purse_crypto.h"

#define ISS_MAX_BODY 65536	/* request bodies above this get 413 */
#define ISS_MAX_CONNECTIONS 512	/* one thread each */
#define ISS_DEFAULT_CEILING 100000000u	/* fen: 1,000,000.00 */
#define ISS_CERT_DAYS 730
/* the one float of schema versions 1-4; migration 5 moves its balance into
 * the cards' own float accounts (iss_card_float) and nothing uses it after */
#define ISS_FLOAT_ACCOUNT 1
#define ISS_EXTERNAL_ACCOUNT 2

/* an error for the caller: HTTP status, a stable code and a message */
typedef struct iss_err {
	int status;
	const char *code;
	char message[256];
	int item;	/* 1 + the index of the batch entry at fault; 0: none */
	int retry_after;	/* > 0: seconds, the Retry-After header (429, 503) */
	/* non-NULL: a WWW-Authenticate: Bearer header (RFC 6750) with this
	 * error ("" none, "invalid_token", "insufficient_scope") */
	const char *bearer;
} iss_err;

void iss_fail(iss_err *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* the database failed: a 503 for RETRY, else a 500; logs the engine's text */
void iss_fail_db(iss_err *e, iss_db *db, int rc);

void iss_now_iso(char *out, size_t len);

/* how the sealed secrets open: a key file (32 raw bytes or 64 hex digits)
 * or a passphrase (Argon2id) */
typedef struct iss_unlock {
	const char *key_file;
	const char *passphrase;
} iss_unlock;

/* the issuer's secrets while it runs; mk lives in sodium_malloc memory */
typedef struct iss_keys {
	uint8_t *mk;		/* ISS_MK_ALL: master DLK, DTK, DPK, then the rest */
	/* ISS_MK_SM4_ALL: the SM4 masters, one per key of the table in table
	 * order (docs/issuer.md "SM4 purse keys"): a card key of algorithm
	 * SM4 is diversified from these, never from a 3DES master */
	uint8_t *mk_sm4;
	EVP_PKEY *ca_key;
	X509 *ca_cert;
	X509_STORE *trust;	/* holds ca_cert; shared read-only by all threads */
	X509_STORE *mfg;	/* the manufacturer CAs enrolment trusts; read-only */
	size_t n_mfg;
	uint8_t key_version;
	/* the master of the cards' OCRA keys (payments' dynamic-password
	 * variant, docs/payments.md); sodium_malloc memory */
	uint8_t *ocra_mk;
} iss_keys;

#define ISS_OCRA_MK_LEN 32
/* card id's OCRA key: HMAC-SHA256(ocra master, "walletkey-ocra/1" | card id) */
int iss_card_ocra_key(const iss_keys *k, const uint8_t card_id[WK_MSG_CARD_ID_LEN],
    uint8_t out[32]);

/* master keys by offset in mk: the first three are the secret
 * "purse_master" (ISS_MK_LEN bytes), every other key of the purse key table
 * (wk_purse_crypto.h) follows in table order */
#define ISS_MK_DLK 0
#define ISS_MK_DTK 16
#define ISS_MK_DPK 32
#define ISS_MK_LEN 48
#define ISS_MK_ALL (WK_PURSE_KEY_N * WK_PURSE_KEY_LEN)
#define ISS_MK_SM4_ALL (WK_PURSE_KEY_N * WK_PURSE_KEY_LEN)
/* where the master key of purse key id (enum wk_purse_key) sits in mk */
size_t iss_mk_offset(int id);
/* the personalisation's key list: every key of the table (wk_msg.h) */
#define ISS_PERSO_KEYS_LEN (WK_PURSE_KEY_N * WK_MSG_PERSO_ENTRY_LEN)

/* sealed secrets (issuer_secrets): the seal key from a key file or
 * passphrase; a value under a name, the name bound as AAD */
#define ISS_SECRET_MAX 4096
int iss_seal_key(iss_db *db, const iss_unlock *u, bool create, uint8_t key[32],
    char *err, size_t errlen);
int iss_secret_put(iss_db *db, const uint8_t key[32], const char *name,
    const uint8_t *pt, size_t len);
/* opens a secret into out (capacity cap); returns its length or -1 */
long iss_secret_get(iss_db *db, const uint8_t key[32], const char *name,
    uint8_t *out, size_t cap);

/*
 * the manufacturer CAs whose attestations enrolment accepts
 * (docs/attestation.md): each a sealed secret "mfg_ca.<SHA-256 of its DER
 * in hex>", so nobody without the issuer's key can add one
 */
#define ISS_MFG_FP_LEN 64
/* adds every CA certificate of a PEM file; *added counts new ones. These
 * return -2 for bad input (a file, a certificate, a fingerprint), -1 when
 * the issuer fails */
int iss_mfg_add(iss_db *db, const iss_unlock *u, const char *pem_path,
    size_t *added, char *err, size_t errlen);
/* removes the one with this fingerprint (hex); err set when there is none */
int iss_mfg_remove(iss_db *db, const char *fp, char *err, size_t errlen);
/* a JSON array of {fingerprint, subject, not_before, not_after} */
int iss_mfg_list(iss_db *db, const iss_unlock *u, json_t **out, char *err,
    size_t errlen);
/* the trusted store for a running issuer (iss_keys_load) */
int iss_mfg_load(iss_db *db, const uint8_t key[32], X509_STORE **store,
    size_t *n, char *err, size_t errlen);

int iss_keys_create(iss_db *db, const iss_unlock *u, uint32_t ceiling,
    char *err, size_t errlen);
int iss_keys_load(iss_db *db, const iss_unlock *u, iss_keys *k, char *err,
    size_t errlen);
void iss_keys_clear(iss_keys *k);

/* the CA's own certificate, self-signed with key (iss_ca.c), or NULL */
X509 *iss_ca_self_signed(EVP_PKEY *key, const char *cn);
/* issues a card certificate (subject CN = card id in hex) for pub */
int iss_ca_issue(const iss_keys *k, EVP_PKEY *pub,
    const uint8_t card_id[WK_MSG_CARD_ID_LEN], int64_t not_before,
    int64_t not_after, X509 **out);
/* chain to our CA and validity now; on failure sets e (403) */
int iss_ca_check(const iss_keys *k, X509 *cert, iss_err *e);

/* the card's purse application serial (10 bytes BCD), docs/purse.md "auto" */
void iss_app_serial(const uint8_t card_id[WK_MSG_CARD_ID_LEN], uint8_t out[10]);
/* the card's diversified key of purse key id (enum wk_purse_key) and
 * algorithm alg (WK_PURSE_ALG_3DES or _SM4), from the master of that
 * algorithm */
int iss_card_key(const iss_keys *k, int id, uint8_t alg,
    const uint8_t card_id[WK_MSG_CARD_ID_LEN], uint8_t out[16]);
/* what a personalisation seals: (id, algorithm, the card's key) for every
 * key of the table, in table order, each of the algorithm algs gives it */
int iss_perso_keys(const iss_keys *k, const uint8_t card_id[WK_MSG_CARD_ID_LEN],
    const uint8_t algs[WK_PURSE_KEY_N], uint8_t out[ISS_PERSO_KEYS_LEN]);

/* the card's application maintenance key (DAMK): iss_card_key of
 * WK_PURSE_KEY_DAMK (iss_protect.c) */
int iss_card_damk(const iss_keys *k, uint8_t alg,
    const uint8_t card_id[WK_MSG_CARD_ID_LEN], uint8_t out[16]);

/*
 * the algorithm of each purse key (docs/issuer.md "SM4 purse keys"): the
 * issuer's choice for new enrolments (issuer_meta "key_algs"), and each
 * card's as enrolled (cards.key_algs), both one algorithm id per key of the
 * table in table order, as hex; absent (older databases, cards enrolled
 * before) or short: 3DES for the keys it does not name
 */
#define ISS_ALGS_HEX_LEN (2 * WK_PURSE_KEY_N)
int iss_key_algs_get(iss_db *db, uint8_t algs[WK_PURSE_KEY_N]);
int iss_key_algs_set(iss_db *db, const uint8_t algs[WK_PURSE_KEY_N]);
/* "all", "none" or a comma list of key names (dlk,dpk,...): SM4 for those,
 * 3DES for the rest; -1 with err set for anything else */
int iss_key_algs_parse(const char *list, uint8_t algs[WK_PURSE_KEY_N],
    char *err, size_t errlen);
void iss_algs_hex(const uint8_t algs[WK_PURSE_KEY_N],
    char out[ISS_ALGS_HEX_LEN + 1]);
/* hex (or NULL) as stored; -1 when it is not hex of known algorithm ids */
int iss_algs_from_hex(const char *hex, uint8_t algs[WK_PURSE_KEY_N]);
/* {"dlk": "3des", ...} */
json_t *iss_algs_json(const uint8_t algs[WK_PURSE_KEY_N]);
/* a card's key algorithms (cards.key_algs); 404 when it is not enrolled */
int iss_card_algs(iss_db *db, const char *card_hex,
    uint8_t algs[WK_PURSE_KEY_N], iss_err *e);

int iss_schema_migrate(iss_db *db, char *err, size_t errlen);
/* migrates up to version only (tests build an older database with it) */
int iss_schema_migrate_to(iss_db *db, int version, char *err, size_t errlen);
int iss_schema_version(iss_db *db);
/* "@ID@" as the engine's auto-increment key; malloc'd */
char *iss_schema_expand(const char *sql, bool pg);
int iss_schema_latest(void);

int iss_meta_get(iss_db *db, const char *name, char *out, size_t len);

/* ledger: every movement a balanced pair of entries in the caller's
 * transaction; from is debited, to credited, refusing overdraft of any
 * account but the external one. Returns 0, ISS_LEDGER_FUNDS or a db rc. */
#define ISS_LEDGER_FUNDS 1
int iss_ledger_move(iss_db *db, int64_t from, int64_t to, int64_t amount,
    const char *kind, const char *ref, int64_t oplog_id);

/* the float account of a card (cards.float_account): the value the issuer
 * put into that card and has not yet paid out of it (docs/issuer.md "The
 * card floats"). With create, made on first use in the caller's
 * transaction; without, *acct is 0 when the card has none yet. */
int iss_card_float(iss_db *db, const char *card_hex, bool create,
    int64_t *acct);
/* what settlements and transfers may take from a card's float: its
 * balance less the card's pending loads (a pending load is reversed from
 * the float unless the card proves the credit). With lock (inside a write
 * transaction) the float's row is locked first. *acct 0 and *available 0
 * when the card has no float yet */
int iss_card_available(iss_db *db, const char *card_hex, bool lock,
    int64_t *acct, int64_t *available);
/* an account's balance in the caller's transaction (0 for acct 0) */
int iss_account_balance(iss_db *db, int64_t acct, int64_t *balance);

typedef struct iss_op {
	const char *kind;
	const char *card_id;
	const char *load_id;
	int64_t seq;		/* < 0: none */
	int64_t account_id;	/* 0: none */
	int64_t amount;		/* < 0: none */
	const char *detail;
	const char *msg;	/* the signed message, hex, if any */
	int64_t reverses;	/* 0: none */
} iss_op;

/* appends to the operation log; *id (may be NULL) gets the new row's id */
int iss_oplog_append(iss_db *db, const iss_op *op, int64_t *id);

/* admin (CLI); each runs its own transaction and prints nothing */
int iss_account_create(iss_db *db, const char *pan, const char *name,
    const char *password, int64_t *id, iss_err *e);
int iss_deposit(iss_db *db, const char *pan, int64_t amount, iss_err *e);
int iss_card_revoke(iss_db *db, const char *card_hex, iss_err *e);
/* a merchant account for a terminal id (12 hex digits); name may be NULL */
int iss_merchant_create(iss_db *db, const char *terminal, const char *name,
    int64_t *id, iss_err *e);

/*
 * attempt limits per client address (iss_limit.c): a token bucket per
 * address, in memory (each server its own); burst attempts, then one more
 * every period seconds. A bounded table: the least recently seen address
 * gives its place up
 */
typedef struct iss_limiter iss_limiter;
int iss_limiter_new(unsigned burst, unsigned period, iss_limiter **out);
void iss_limiter_free(iss_limiter **l);
/* takes one attempt for key at now: 0, or the seconds until one is back */
int64_t iss_limiter_take(iss_limiter *l, const char *key, int64_t now);
/* gives one back (an attempt that turned out to be no guess) */
void iss_limiter_give(iss_limiter *l, const char *key, int64_t now);

/* account passwords: Argon2id, libsodium's interactive limits (64 MiB) */
#define ISS_PW_OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define ISS_PW_MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE

/*
 * enrolment attempts (iss_attempt.c, docs/issuer.md "Enrolment
 * attempts"): an unknown account number is hashed against a dummy
 * Argon2id hash, so it costs and answers what a wrong password does; at
 * most hash_max hashes run at once (each takes ISS_PW_MEMLIMIT), a
 * request waits ISS_HASH_WAIT_MS for a turn, then 503; failed attempts
 * are limited per account number (in the database, so across restarts and
 * servers) and per client address (in memory), with 429 and Retry-After
 */
#define ISS_HASH_MAX 2			/* serve --hash-concurrency */
#define ISS_POOL_DEFAULT 32		/* serve --pool: database connections */
#define ISS_HASH_WAIT_MS 2000
#define ISS_ACCOUNT_FAILS 5		/* failures per account number ... */
#define ISS_ACCOUNT_WINDOW 900		/* ... within 15 minutes */
#define ISS_ENROL_BURST 20		/* per address: failures at once, */
#define ISS_ENROL_PERIOD 60		/* then one more a minute */

/* issuer sessions (iss_session.c, docs/issuer.md "Sessions") */
#define ISS_SESSION_TTL 300		/* seconds a token lives (serve --session-ttl) */
#define ISS_CHALLENGE_TTL 60		/* seconds a challenge waits for its proof */
#define ISS_CHALLENGES_MAX 8		/* open challenges per card */
#define ISS_SESSION_BURST 60		/* per address: challenges and sessions */
#define ISS_SESSION_PERIOD 1		/* one more every second */
#define ISS_TOKEN_LEN 43		/* 32 random bytes, base64url unpadded */

enum iss_scope {
	ISS_SCOPE_CARD = 1,	/* the card was present */
	ISS_SCOPE_HOLDER = 2,	/* and its holder gave the purse PIN */
};

/* the authenticated caller of a card's door */
typedef struct iss_session {
	char card_id[17];
	int scope;		/* enum iss_scope */
} iss_session;

/* the cards' certificates parsed and chain-checked once (iss_proto.c) */
typedef struct iss_certs iss_certs;
int iss_certs_new(iss_certs **out);
void iss_certs_free(iss_certs **c);

typedef struct iss {
	iss_pool *pool;
	iss_keys keys;
	uint32_t ceiling;
	int64_t clock_skew;	/* tests: seconds added to the clock */
	unsigned session_ttl;	/* seconds */
	iss_limiter *session_limit;	/* per address: challenges, sessions */
	iss_limiter *enrol_limit;	/* per address: failed enrolments */
	/* the Argon2id hashes running, at most hash_max */
	pthread_mutex_t hash_mu;
	pthread_cond_t hash_cv;
	unsigned hash_busy;
	unsigned hash_max;
	char dummy_hash[128];	/* for unknown account numbers, made once */
	unsigned long hash_runs;	/* Argon2id verifications (tests count) */
	/* PEM of the CAs whose client certificates the server asks for and
	 * checks (serve --client-ca): merchants' credentials; NULL: none */
	char *client_ca;
	iss_certs *certs;	/* NULL: parsed and checked every time */
} iss;

/* the account holder's PAN and password for an enrolment from peer (may
 * be NULL): *id on success; else 401 bad_credentials alike for an unknown
 * PAN and a wrong password (one Argon2id hash each), 429 over a limit,
 * 503 when no hash turn comes */
int iss_account_check(iss *is, const char *peer, const char *pan,
    const char *password, int64_t *id, iss_err *e);

/* the issuer's clock, unix seconds */
int64_t iss_now(const iss *is);

int iss_open(const char *url, const iss_unlock *u, size_t pool_max, iss **out,
    char *err, size_t errlen);
void iss_free(iss **is);

/* the protocol: each takes the parsed JSON body and builds a JSON answer;
 * peer is the client's address (NULL: none) */
int iss_enrol(iss *is, const char *peer, json_t *req, json_t **resp,
    iss_err *e);
int iss_load_start(iss *is, json_t *req, json_t **resp, iss_err *e);
int iss_load_receipt(iss *is, const char *load_id, json_t *req, json_t **resp,
    iss_err *e);
int iss_load_refusal(iss *is, const char *load_id, json_t *req, json_t **resp,
    iss_err *e);
int iss_load_recover(iss *is, const char *load_id, json_t *req, json_t **resp,
    iss_err *e);
/* a load of the session's card (another card's is not found) */
int iss_load_get(iss *is, const char *load_id, const iss_session *who,
    json_t **resp, iss_err *e);
int iss_ca_get(iss *is, json_t **resp, iss_err *e);
/* POST /v1/settlements: purchase proofs, card float to merchant (iss_settle.c) */
int iss_settle(iss *is, json_t *req, json_t **resp, iss_err *e);
/* POST /v1/transfers: card-to-card transfer tokens, sender's float to the
 * receiver's (iss_xfer.c) */
int iss_transfer_report(iss *is, json_t *req, json_t **resp, iss_err *e);

/*
 * a PSAM for a terminal (iss_psam.c, docs/issuer.md "PSAM"): the purchase
 * master key (DPK) and key version sealed to the key the PSAM card made,
 * in a message signed by the CA key, for the terminal's merchant. The
 * request is the JSON `walletkey psam init` writes.
 */
int iss_psam_issue(iss_db *db, const iss_keys *k, const char *terminal,
    const char *request_json, size_t request_len, uint8_t *msg, size_t *msg_len,
    iss_err *e);

/* runs fn in a transaction, again while the engine says RETRY (8 tries);
 * fn returns 0, -1 (e set) or ISS_DB_RETRY */
typedef int iss_tx_fn(iss *is, iss_db *db, void *arg, iss_err *e);
int iss_run_tx(iss *is, iss_tx_fn *fn, void *arg, iss_err *e);
/* the same, but on PostgreSQL fn runs exactly one statement that is its
 * own transaction (no BEGIN and COMMIT around it: one round trip); on
 * SQLite as iss_run_tx */
int iss_run_stmt(iss *is, iss_tx_fn *fn, void *arg, iss_err *e);
/* a database failure inside a transaction: RETRY passes up, else 500 */
int iss_db_fail(iss_err *e, iss_db *db, int rc);

/* the audit sync (docs/audit.md "Sync with the issuer", iss_audit.c) */
int iss_audit_key(iss *is, json_t **resp, iss_err *e);
int iss_audit_records(iss *is, const char *card, json_t *req, json_t **resp,
    iss_err *e);
int iss_audit_ack(iss *is, const char *card, json_t *req, json_t **resp,
    iss_err *e);
int iss_audit_history(iss *is, const char *card, const char *from,
    json_t **resp, iss_err *e);
int iss_audit_loads(iss *is, const char *card, const char *from,
    json_t **resp, iss_err *e);
/* GET /v1/audit/{card}/bank/{after}: the bank's records of the account
 * after event number after, signed for the card (iss_history.c) */
int iss_audit_bank(iss *is, const char *card, const char *after,
    json_t **resp, iss_err *e);

/* the card protects itself (iss_protect.c, docs/security.md) */
typedef struct iss_unblock {
	char card_id[2 * WK_MSG_CARD_ID_LEN + 1];
	uint8_t challenge[4];
	uint8_t mac[4];		/* APPLICATION UNBLOCK's data */
} iss_unblock;
/* a card's signed unblock request (wk_msg type UNBLOCK_REQUEST): parsed,
 * for card_hex when not NULL, the card enrolled, not revoked, the
 * signature its wallet key's; card_id, the challenge and (algs not NULL)
 * the algorithm of each of its purse keys out. In the caller's
 * transaction: 0, -1 (e set) or ISS_DB_RETRY */
int iss_unblock_request_check(iss_db *db, const char *card_hex,
    const uint8_t *req, size_t len, char card_id[2 * WK_MSG_CARD_ID_LEN + 1],
    uint8_t challenge[4], uint8_t algs[WK_PURSE_KEY_N], iss_err *e);
/* the one-time APPLICATION UNBLOCK script for a card's signed unblock
 * request (its own transaction; oplog purse.unblock): the card must be
 * enrolled, not revoked, and the request signed by its wallet key */
int iss_purse_unblock(iss_db *db, const iss_keys *k, const char *card_hex,
    const uint8_t *req, size_t len, iss_unblock *out, iss_err *e);
/*
 * the purse PIN's reload (iss_pin.c, docs/issuer.md "PIN reload"): an
 * order for a card (a new one cancels one not delivered; oplog pin.order)
 * with the reset PIN the operator tells the holder, derived from the
 * card's DRPK and the order and stored nowhere; then, for the card's next
 * signed unblock request, its one-time RELOAD PIN script (oplog
 * pin.reload): 404 no_pin_reload with no order pending, 409
 * replayed_request for a challenge answered before. Each runs its own
 * transaction.
 */
#define ISS_RESET_PIN_LEN 6
typedef struct iss_pin_order {
	char card_id[2 * WK_MSG_CARD_ID_LEN + 1];
	int64_t order;
	char reset_pin[ISS_RESET_PIN_LEN + 1];
} iss_pin_order;
typedef struct iss_pin_script {
	char card_id[2 * WK_MSG_CARD_ID_LEN + 1];
	int64_t order;
	uint8_t challenge[4];
	uint8_t script[WK_PURSE_RELOAD_DATA_MAX];	/* RELOAD PIN's data */
	size_t script_len;
} iss_pin_script;
/* a new order; with req (a request file) delivered at once into *sc, in
 * the same transaction (req and sc both NULL: only the order) */
int iss_pin_order_new(iss_db *db, const iss_keys *k, const char *card_hex,
    const uint8_t *req, size_t len, iss_pin_order *out, iss_pin_script *sc,
    iss_err *e);
/* card_hex NULL: the card the request names */
int iss_pin_deliver(iss_db *db, const iss_keys *k, const char *card_hex,
    const uint8_t *req, size_t len, iss_pin_script *out, iss_err *e);
/* POST /v1/pin-reloads {"request": base64}: the same, for the server */
int iss_pin_reload(iss *is, json_t *req, json_t **resp, iss_err *e);

/* appends the signed revocation list (common/wk_arec.h WKAUDIT-CRL/1) of
 * the revoked cards whose certificates have not expired; in the caller's
 * transaction. Returns 0, -1 (e set) or ISS_DB_RETRY */
int iss_crl_build(iss *is, iss_db *db, wk_buf *out, iss_err *e);

/* POST /v1/cards/{card}/challenges: a fresh single-use challenge */
int iss_session_challenge(iss *is, const char *peer, const char *card,
    json_t *req, json_t **resp, iss_err *e);
/* POST /v1/sessions {"proof"}: the card's signed proof -> a bearer token */
int iss_session_open(iss *is, const char *peer, json_t *req, json_t **resp,
    iss_err *e);
/* the bearer token of an Authorization header for a door of card
 * (card_hex; NULL: any card) that wants scope: 401 without or with a bad
 * or expired token, 403 for another card's token, a revoked card or a
 * scope too small. out (may be NULL) gets the session */
int iss_session_auth(iss *is, const char *authorization, const char *card_hex,
    int scope, iss_session *out, iss_err *e);

/* one HTTP request as the server received it */
typedef struct iss_request {
	const char *method;
	const char *url;		/* the path; a "?query" after it is read too */
	const char *body;
	size_t body_len;
	const char *authorization;	/* the Authorization header, or NULL */
	const char *peer;		/* the client's address, or NULL */
	/* the SHA-256 fingerprint (hex) of the TLS client certificate the
	 * server verified, or NULL */
	const char *client_cert;
	const char *wait;		/* the "wait" query argument, or NULL */
} iss_request;

/* dispatch one request; shared by the HTTP server and the fuzz target */
int iss_handle(iss *is, const iss_request *rq, json_t **resp, iss_err *e);

/* how a router (iss_handle, iss_anon_handle) ends: the handler ran (a
 * failure it did not describe is a 500), the method is not the route's
 * (405), no route (404), or a failure already described */
typedef enum { ISS_ROUTE_DONE, ISS_ROUTE_METHOD, ISS_ROUTE_NOT_FOUND,
	ISS_ROUTE_OUT } iss_route_how;
/* that end: e filled as how says, req freed; 0 or -1 */
int iss_route_end(iss_route_how how, int rc, const char *method,
    const char *url, json_t *req, iss_err *e);

/*
 * online payments confirmed on the card (iss_pay.c, iss_pay_merchant.c,
 * iss_pay_card.c; docs/payments.md).
 * A merchant authenticates with an API key (Authorization: Bearer wkm_...)
 * or a TLS client certificate registered for it.
 */
#define ISS_PAY_WAIT_MAX 25		/* seconds a long poll waits at most */
#define ISS_PAY_PENDING_MAX 32		/* open requests per card */
#define ISS_PAY_EXPIRY_DEFAULT 300
#define ISS_PAY_EXPIRY_MAX 604800
#define ISS_API_KEY_PREFIX "wkm_"

typedef struct iss_merchant {
	char terminal[2 * WK_PURSE_TERM_ID_LEN + 1];
	int64_t account_id;
	char name[WK_MSG_NAME_MAX + 1];
} iss_merchant;

/* POST /v1/payments */
int iss_pay_create(iss *is, const iss_request *rq, json_t *req, json_t **resp,
    iss_err *e);
/* GET /v1/payments/{id}[?wait=S] (the merchant's own) */
int iss_pay_get(iss *is, const iss_request *rq, const char *id, json_t **resp,
    iss_err *e);
/* POST /v1/payments/{id}/cancel */
int iss_pay_cancel(iss *is, const iss_request *rq, const char *id,
    json_t **resp, iss_err *e);
/* GET /v1/cards/{card}/payments[?wait=S]: the card's open requests */
int iss_pay_pending(iss *is, const iss_request *rq, const char *card,
    json_t **resp, iss_err *e);
/* POST /v1/payments/{id}/confirmation: the card's answer */
int iss_pay_confirm(iss *is, const iss_request *rq, const char *id,
    json_t *req, json_t **resp, iss_err *e);
/* closes every open request past its expiry (the server's sweeper) */
int iss_pay_expire_due(iss *is);
/* the card is revoked: its open payments fail (card_revoked), in the
 * caller's transaction */
int iss_pay_revoke_card(iss_db *db, const char *card_hex);

/* the webhook outbox (iss_webhook.c): delivers what iss_pay.c queued */
int iss_webhook_queue(iss_db *db, const char *terminal, const char *payment_id,
    const char *body);
/* one pass: every due delivery, signed with the CA key; returns how many
 * were delivered */
int iss_webhook_run(iss *is);

/* admin (main.c): merchants' credentials, aliases */
/* a new API key for the merchant of terminal: key (NUL-terminated,
 * shown once) into out (cap >= 80) */
int iss_merchant_key_new(iss_db *db, const char *terminal, char *out,
    size_t cap, iss_err *e);
int iss_merchant_key_revoke(iss_db *db, const char *key_id, iss_err *e);
/* registers a client certificate (PEM file) for the merchant */
int iss_merchant_cert_add(iss_db *db, const char *terminal, const char *pem,
    char *fp, size_t fplen, iss_err *e);
/* url NULL: none */
int iss_merchant_webhook(iss_db *db, const char *terminal, const char *url,
    iss_err *e);
/* the checks iss_merchant_webhook and iss_merchant_cert_add make of their
 * input before they touch the database, for a caller that must refuse bad
 * input before it creates anything (merchant-create) */
int iss_merchant_webhook_check(const char *url, iss_err *e);
int iss_merchant_cert_check(const char *pem, iss_err *e);
/* an alias the holder of pan gives a shop instead of the PAN; alias NULL
 * makes a random one into out */
int iss_alias_create(iss_db *db, const char *pan, const char *alias,
    const char *label, char *out, size_t cap, iss_err *e);

typedef struct iss_server iss_server;

/* listen "HOST:PORT" (PORT 0 picks a free one) */
int iss_server_start(iss *is, const char *listen, const char *tls_cert,
    const char *tls_key, iss_server **out, char *err, size_t errlen);
/* the same with another dispatch (the semi-anonymous roles) */
typedef int iss_handler_fn(void *ctx, const iss_request *rq, json_t **resp,
    iss_err *e);
int iss_server_start_with(iss_handler_fn *handle, void *ctx, const char *listen,
    const char *tls_cert, const char *tls_key, iss_server **out, char *err,
    size_t errlen);
uint16_t iss_server_port(const iss_server *s);
void iss_server_stop(iss_server **s);

#endif
