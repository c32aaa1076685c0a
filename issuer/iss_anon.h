/*
 * semi-anonymous payments (docs/semi-anonymous.md): the identity authority
 * (--role identity) and the account managers (--role account), each its own
 * process and database. Neither schema shares a table with the bank's
 * issuer; an account manager's database has no column for a name.
 */
#ifndef ISS_ANON_H
#define ISS_ANON_H

#include "iss.h"
#include "wk_anon.h"
#include "wk_json.h"

enum iss_role { ISS_ROLE_BANK = 0, ISS_ROLE_IDENTITY, ISS_ROLE_ACCOUNT };

#define ISS_ANON_URL_MAX 256
#define ISS_ANON_DEFAULT_LIMIT 100000		/* fen per payment */
#define ISS_ANON_DEFAULT_DAILY 500000		/* fen per 24 hours */
#define ISS_ANON_QUERY_WINDOW 300		/* seconds a query stays fresh */
#define ISS_ANON_RECONCILE_AGE 30		/* seconds before a pending row is asked after */

typedef struct iss_anon {
	iss base;		/* only base.pool is used (iss_run_tx) */
	enum iss_role role;
	char self[WK_ANON_MANAGER_MAX + 1];	/* "identity" or the manager id */
	uint8_t sign_pk[32];
	uint8_t *sign_sk;	/* sodium_malloc: Ed25519 64 */
	uint8_t kx_pk[32];
	uint8_t *kx_sk;		/* sodium_malloc: X25519 32 (box key, business key) */
	X509_STORE *mfg;	/* manufacturer CAs: attestations */
	size_t n_mfg;
	/* account manager: its authority */
	char authority_url[ISS_ANON_URL_MAX];
	uint8_t authority_pk[32];
	int64_t limit_payment, limit_daily;
} iss_anon;

/* the role a database was made for (issuer_meta "role"); bank when none */
int iss_anon_db_role(iss_db *db, enum iss_role *role);
const char *iss_anon_role_name(enum iss_role role);

typedef struct iss_anon_init {
	enum iss_role role;
	const char *manager_id;		/* account */
	const char *authority_url;	/* account */
	const char *authority_pubkey;	/* account: hex Ed25519 */
	const char *mfg_ca;		/* PEM, may be NULL */
	int64_t limit_payment, limit_daily;
} iss_anon_init;

/* creates a role's schema and keys */
int iss_anon_create(iss_db *db, const iss_unlock *u, const iss_anon_init *in,
    char *err, size_t errlen);
int iss_anon_open(const char *url, const iss_unlock *u, size_t pool_max,
    iss_anon **out, char *err, size_t errlen);
void iss_anon_free(iss_anon **a);
int iss_anon_meta_put(iss_db *db, const char *name, const char *value);

/* the HTTP dispatch of a role (iss_anon_http.c); shared with the fuzzer */
int iss_anon_handle(iss_anon *a, const char *method, const char *url,
    const char *body, size_t body_len, json_t **resp, iss_err *e);

/* peers: signed requests and answers between the parties (iss_anon_peer.c).
 * A peer request is {"from", "body" (JSON text), "sig"}; the answer
 * {"body", "sig"}, the signature over the request's signature too. */
/* posts body (consumed) to url+path; the answer must carry peer_pk's
 * signature. A refusal of the peer is its 4xx in e; a peer that cannot be
 * reached or fails is 502 peer_unreachable */
int iss_anon_peer_call(iss_anon *a, const char *url, const char *path,
    const uint8_t peer_pk[32], json_t *body, json_t **answer, iss_err *e);
/* checks a peer request against the key of its sender; *from and *body
 * (owned by the caller) on success */
typedef int iss_anon_peer_key_fn(iss_anon *a, const char *from, uint8_t pk[32],
    char *url, size_t urlcap);
int iss_anon_peer_open(iss_anon *a, const char *path, json_t *req,
    iss_anon_peer_key_fn *key_of, char *from, size_t fromcap, json_t **body,
    char *sig_b64, size_t sigcap, iss_err *e);
/* signs an answer to a peer request */
json_t *iss_anon_peer_answer(iss_anon *a, const char *path, const char *req_sig,
    json_t *body);

/* an attestation chain [key attestation, device, ...] of pub in slot, of
 * card_id when given; the card id it names into card_out (may be NULL) */
int iss_anon_check_attestation(iss_anon *a, json_t *arr, const uint8_t *card_id,
    uint8_t slot, const uint8_t pub[32], uint8_t *card_out, iss_err *e);
/* the identity authority (iss_anon_id.c) */
int iss_anon_id_register(iss_anon *a, json_t *req, json_t **resp, iss_err *e);
int iss_anon_id_peer(iss_anon *a, const char *path, json_t *req,
    json_t **resp, iss_err *e);
/* the account manager (iss_anon_am.c) */
int iss_anon_am_open_account(iss_anon *a, json_t *req, json_t **resp,
    iss_err *e);
int iss_anon_am_pay(iss_anon *a, json_t *req, json_t **resp, iss_err *e);
int iss_anon_am_status(iss_anon *a, json_t *req, json_t **resp, iss_err *e);
int iss_anon_am_history(iss_anon *a, json_t *req, json_t **resp, iss_err *e);
int iss_anon_am_peer(iss_anon *a, const char *path, json_t *req,
    json_t **resp, iss_err *e);
/* asks the authority about pending rows older than age seconds */
int iss_anon_am_reconcile(iss_anon *a, int age, size_t *settled);

/* operator commands (iss_anon_admin.c, the reveal's iss_anon_reveal.c);
 * each prints its result */
typedef struct iss_anon_cmd {
	const char *db;
	const iss_unlock *u;
	const char *name, *id_number, *account, *manager, *url, *pubkey;
	const char *amount, *limit, *daily, *state;
	const char *case_id, *txid, *order, *operator_name, *password_env;
	const char *approver, *approver_password_env, *regulator_key;
	bool json;
} iss_anon_cmd;
int iss_anon_admin(const char *cmd, const iss_anon_cmd *c);
bool iss_anon_admin_known(const char *cmd);
/* what the commands share: the database of the role want (0, else the
 * exit status after saying why), and a row of the operators' log */
int iss_anon_admin_open(const iss_anon_cmd *c, iss_db **db,
    enum iss_role want);
int iss_anon_admin_oplog(iss_db *db, const char *kind, const char *txid,
    const char *account, const char *case_id, int64_t amount,
    const char *detail);
/* the lawful reveal's commands (iss_anon_reveal.c) */
int iss_anon_operator_add(const iss_anon_cmd *c);
int iss_anon_regulator_add(const iss_anon_cmd *c);
int iss_anon_reveal(const iss_anon_cmd *c);

/* fault points for the crash tests: WALLETKEY_ISSUER_FAULT=name kills the
 * process there with SIGKILL */
void iss_anon_fault(const char *point);

int iss_anon_hex32(const char *hex, uint8_t out[32]);

#endif
