/*
 * an account manager (docs/semi-anonymous.md): opens pseudonymous accounts
 * for attested cards, opens each payment request with the account's
 * business key, checks state, counter and limits, gives the payee a
 * one-time alias of the payer, and forwards to the identity authority. It
 * never receives a name or an id number: no message it takes carries one.
 */
#include "iss_anon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "wk_hex.h"

static int
authority_key(iss_anon *a, const char *id, uint8_t pk[32], char *url,
    size_t urlcap)
{
	if (strcmp(id, "identity") != 0)
		return -1;
	memcpy(pk, a->authority_pk, 32);
	snprintf(url, urlcap, "%s", a->authority_url);
	return 0;
}

static int
oplog(iss_db *db, const char *kind, const char *txid, const char *account,
    int64_t amount, const char *detail)
{
	char now[40];

	iss_now_iso(now, sizeof(now));
	return iss_db_exec(db, "INSERT INTO anon_oplog (at, kind, txid, account,"
	    " amount, detail) VALUES ($1, $2, $3, $4, $5, $6)", (iss_param[]){
	    ISS_PS(now), ISS_PS(kind), txid ? ISS_PS(txid) : ISS_PN,
	    account ? ISS_PS(account) : ISS_PN, amount >= 0 ? ISS_PI(amount) :
	    ISS_PN, detail ? ISS_PS(detail) : ISS_PN }, 6, NULL);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ISO time of now - secs, for comparisons with created_at */
static void
iso_ago(long secs, char *out, size_t len)
{
	time_t t = time(NULL) - secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
}

typedef struct opening {
	iss_anon *a;
	char bk_hex[65], card_hex[17];
	char account[WK_ANON_ACCT_MAX + 1];
} opening;

static int
open_tx(iss *is, iss_db *db, void *arg, iss_err *e)
{
	opening *o = arg;
	iss_res *r = NULL;
	uint8_t rnd[8];
	char now[40], hex[17];
	int rc;

	(void)is;
	if ((rc = iss_db_exec(db, "SELECT account FROM anon_accounts WHERE"
	    " bk_pub = $1", (iss_param[]){ ISS_PS(o->bk_hex) }, 1, &r)) !=
	    ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	if (iss_res_rows(r) == 1) {
		/* the same card again: its account */
		snprintf(o->account, sizeof(o->account), "%s", iss_res_text(r, 0, 0));
		iss_res_free(&r);
		return 0;
	}
	iss_res_free(&r);
	randombytes_buf(rnd, sizeof(rnd));
	wk_hex_encode(rnd, sizeof(rnd), hex);
	snprintf(o->account, sizeof(o->account), "%s-%s", o->a->self, hex);
	iss_now_iso(now, sizeof(now));
	if ((rc = iss_db_exec(db, "INSERT INTO anon_accounts (account, bk_pub,"
	    " card_id, state, limit_payment, limit_daily, created_at) VALUES ($1, $2,"
	    " $3, 'open', $4, $5, $6)", (iss_param[]){ ISS_PS(o->account),
	    ISS_PS(o->bk_hex), ISS_PS(o->card_hex), ISS_PI(o->a->limit_payment),
	    ISS_PI(o->a->limit_daily), ISS_PS(now) }, 6, NULL)) != ISS_DB_OK ||
	    (rc = oplog(db, "account.open", NULL, o->account, -1,
	    "a pseudonymous account for an attested card")) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	return 0;
}

int
iss_anon_am_open_account(iss_anon *a, json_t *req, json_t **resp, iss_err *e)
{
	uint8_t bk[32], card_id[8], stmt[WK_ANON_STMT_MAX];
	char kx[65];
	size_t n, slen;
	opening o;

	memset(&o, 0, sizeof(o));
	o.a = a;
	if (wk_b64_unjson(json_object_get(req, "bk"), bk, sizeof(bk), &n) != 0 ||
	    n != 32) {
		iss_fail(e, 400, "bad_request", "an account opening is {bk,"
		    " attestation}: the card's business key and its attestation");
		return -1;
	}
	if (iss_anon_check_attestation(a, json_object_get(req, "attestation"), NULL,
	    WK_ANON_SLOT_BK, bk, card_id, e) != 0)
		return -1;
	wk_hex_encode(bk, 32, o.bk_hex);
	wk_hex_encode(card_id, 8, o.card_hex);
	if (iss_run_tx(&a->base, open_tx, &o, e) != 0)
		return -1;
	if (wk_anon_stmt_sign(o.account, card_id, bk, a->sign_sk, stmt,
	    sizeof(stmt), &slen) != WK_ANON_OK) {
		iss_fail(e, 500, "internal", "cannot sign the statement");
		return -1;
	}
	wk_hex_encode(a->kx_pk, 32, kx);
	if ((*resp = json_pack("{s:s, s:s, s:s, s:o}", "account", o.account,
	    "manager", a->self, "kx_pub", kx, "statement", wk_b64_json(stmt,
	    slen))) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		return -1;
	}
	return 0;
}

/* an account's row */
typedef struct acct {
	uint8_t bk[32];
	char state[16];
	int64_t limit_payment, limit_daily, last_counter;
} acct;

static int
acct_get(iss_db *db, const char *account, acct *out, iss_err *e)
{
	iss_res *r = NULL;
	int rc = -1;

	if (iss_db_exec(db, "SELECT bk_pub, state, limit_payment, limit_daily,"
	    " last_counter FROM anon_accounts WHERE account = $1", (iss_param[]){
	    ISS_PS(account) }, 1, &r) != ISS_DB_OK) {
		iss_fail_db(e, db, ISS_DB_ERROR);
		goto out;
	}
	if (iss_res_rows(r) != 1) {
		iss_fail(e, 404, "unknown_account", "%s is no account of this"
		    " manager", account);
		goto out;
	}
	if (iss_anon_hex32(iss_res_text(r, 0, 0), out->bk) != 0) {
		iss_fail(e, 500, "internal", "a business key is malformed");
		goto out;
	}
	snprintf(out->state, sizeof(out->state), "%s", iss_res_text(r, 0, 1));
	out->limit_payment = iss_res_int(r, 0, 2);
	out->limit_daily = iss_res_int(r, 0, 3);
	out->last_counter = iss_res_int(r, 0, 4);
	rc = 0;
out:
	iss_res_free(&r);
	return rc;
}

/* opens an envelope of kind with the account's business key */
static int
open_envelope(iss_anon *a, iss_db *db, json_t *req, uint8_t kind,
    char acct_id[WK_ANON_ACCT_MAX + 1], acct *ac, uint8_t *plain, size_t cap,
    size_t *plen, iss_err *e)
{
	uint8_t env[WK_ANON_ENV_MAX], key[32], k;
	size_t n;
	int rc = -1;

	if (wk_b64_unjson(json_object_get(req, "envelope"), env, sizeof(env),
	    &n) != 0 || wk_anon_env_peek(env, n, &k, acct_id,
	    WK_ANON_ACCT_MAX + 1) != WK_ANON_OK || k != kind) {
		iss_fail(e, 400, "bad_envelope", "{envelope} is not a payment"
		    " envelope (WKANON-REQ/1) of the right kind");
		return -1;
	}
	if (acct_get(db, acct_id, ac, e) != 0)
		return -1;
	if (wk_anon_business_key(a->kx_sk, ac->bk, ac->bk, a->kx_pk, key) !=
	    WK_ANON_OK) {
		iss_fail(e, 500, "internal", "the business key failed");
		goto out;
	}
	if (wk_anon_env_open(env, n, key, plain, cap, plen) != WK_ANON_OK) {
		iss_fail(e, 400, "bad_envelope", "the envelope does not open with"
		    " the account's business key: tampered with, or not this"
		    " account's card");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(key, sizeof(key));
	return rc;
}

typedef struct outgoing {
	iss_anon *a;
	const char *account, *payee, *txid;
	int64_t amount, counter, limit_daily;
	char alias[33];
} outgoing;

static int
out_tx(iss *is, iss_db *db, void *arg, iss_err *e)
{
	outgoing *o = arg;
	iss_res *r = NULL;
	char now[40], since[40];
	int64_t spent;
	int rc;

	(void)is;
	/* the counter is spent first: a replay is refused whatever follows */
	if ((rc = iss_db_exec(db, "UPDATE anon_accounts SET last_counter = $1"
	    " WHERE account = $2 AND last_counter < $1", (iss_param[]){
	    ISS_PI(o->counter), ISS_PS(o->account) }, 2, NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	if (iss_db_changes(db) != 1) {
		iss_fail(e, 409, "replay", "this request (counter %lld) was seen"
		    " before", (long long)o->counter);
		return -1;
	}
	iso_ago(86400, since, sizeof(since));
	if ((rc = iss_db_exec(db, "SELECT COALESCE(SUM(amount), 0) FROM"
	    " anon_payments WHERE account = $1 AND direction = 'out' AND status IN"
	    " ('pending', 'committed') AND created_at >= $2", (iss_param[]){
	    ISS_PS(o->account), ISS_PS(since) }, 2, &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	spent = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	if (spent + o->amount > o->limit_daily) {
		iss_fail(e, 403, "limit_exceeded", "the daily limit of %lld is"
		    " reached (%lld spent in 24 hours)", (long long)o->limit_daily,
		    (long long)spent);
		return -1;
	}
	iss_now_iso(now, sizeof(now));
	if ((rc = iss_db_exec(db, "INSERT INTO anon_payments (txid, direction,"
	    " account, counterparty, alias, amount, status, created_at) VALUES ($1,"
	    " 'out', $2, $3, $4, $5, 'pending', $6)", (iss_param[]){ ISS_PS(o->txid),
	    ISS_PS(o->account), ISS_PS(o->payee), ISS_PS(o->alias),
	    ISS_PI(o->amount), ISS_PS(now) }, 6, NULL)) != ISS_DB_OK ||
	    (rc = oplog(db, "payment.forward", o->txid, o->account, o->amount,
	    NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	return 0;
}

/* marks a payment's rows at this manager with the authority's answer */
static void
settle_rows(iss_anon *a, const char *txid, const char *status,
    const char *reason)
{
	iss_db *db;
	char now[40];

	if ((db = iss_pool_get(a->base.pool)) == NULL)
		return;
	iss_now_iso(now, sizeof(now));
	if (iss_db_begin(db) == ISS_DB_OK) {
		if (iss_db_exec(db, "UPDATE anon_payments SET status = $1, reason = $2,"
		    " closed_at = $3 WHERE txid = $4 AND status = 'pending'",
		    (iss_param[]){ ISS_PS(status), reason && *reason ? ISS_PS(reason) :
		    ISS_PN, ISS_PS(now), ISS_PS(txid) }, 4, NULL) != ISS_DB_OK ||
		    (iss_db_changes(db) > 0 && oplog(db, "payment.settle", txid, NULL,
		    -1, status) != ISS_DB_OK) || iss_db_commit(db) != ISS_DB_OK)
			iss_db_rollback(db);
	}
	iss_pool_put(a->base.pool, db);
}

/* the authority's result must be its own and this payment's */
static int
check_result(iss_anon *a, json_t *ans, const char *txid, iss_err *e)
{
	uint8_t res[WK_ANON_RES_MAX];
	char hex[65];
	wk_anon_result r;
	size_t n;

	if (wk_b64_unjson(json_object_get(ans, "result"), res, sizeof(res),
	    &n) != 0 || wk_anon_result_verify(res, n, a->authority_pk, &r) !=
	    WK_ANON_OK) {
		iss_fail(e, 502, "peer_unreachable", "the authority's result is not"
		    " signed by it");
		return -1;
	}
	wk_hex_encode(r.txid, 32, hex);
	if (strcmp(hex, txid) != 0) {
		iss_fail(e, 502, "peer_unreachable", "the authority answered about"
		    " another payment");
		return -1;
	}
	return 0;
}

int
iss_anon_am_pay(iss_anon *a, json_t *req, json_t **resp, iss_err *e)
{
	char account[WK_ANON_ACCT_MAX + 1], txid[65];
	uint8_t plain[WK_ANON_REQ_PLAIN_MAX], tid[32], rnd[16];
	const uint8_t *txinfo, *txcred, *idcred;
	size_t plen, txlen, idlen;
	struct timespec t0, t1;
	double auth_ms = 0, payee_ms = 0;
	wk_anon_tx tx;
	outgoing o;
	iss_db *db;
	json_t *ans = NULL, *v;
	const char *st = NULL;
	acct ac;
	int rc = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((db = iss_pool_get(a->base.pool)) == NULL) {
		iss_fail(e, 503, "busy", "the manager cannot reach its database");
		return -1;
	}
	rc = open_envelope(a, db, req, WK_ANON_ENV_PAY, account, &ac, plain,
	    sizeof(plain), &plen, e);
	iss_pool_put(a->base.pool, db);
	if (rc != 0)
		goto out;
	rc = -1;
	if (wk_anon_req_decode(plain, plen, &txinfo, &txlen, &txcred, &idcred,
	    &idlen) != WK_ANON_OK || wk_anon_tx_decode(txinfo, txlen, &tx) !=
	    WK_ANON_OK || strcmp(tx.payer, account) != 0) {
		iss_fail(e, 400, "bad_request", "the payment request inside is"
		    " malformed or not this account's");
		goto out;
	}
	wk_anon_txid(txinfo, txlen, tid);
	wk_hex_encode(tid, 32, txid);
	if (strcmp(ac.state, "open") != 0) {
		iss_fail(e, 403, "account_frozen", "account %s is %s", account,
		    ac.state);
		goto out;
	}
	if ((int64_t)tx.counter <= ac.last_counter) {
		iss_fail(e, 409, "replay", "this request (counter %llu) was seen"
		    " before", (unsigned long long)tx.counter);
		goto out;
	}
	if ((int64_t)tx.amount > ac.limit_payment) {
		iss_fail(e, 403, "limit_exceeded", "%llu is over the account's limit"
		    " of %lld a payment", (unsigned long long)tx.amount,
		    (long long)ac.limit_payment);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.a = a;
	o.account = account;
	o.payee = tx.payee;
	o.txid = txid;
	o.amount = (int64_t)tx.amount;
	o.counter = (int64_t)tx.counter;
	o.limit_daily = ac.limit_daily;
	/* the payee sees this, never the account number */
	randombytes_buf(rnd, sizeof(rnd));
	wk_hex_encode(rnd, sizeof(rnd), o.alias);
	if (iss_run_tx(&a->base, out_tx, &o, e) != 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (iss_anon_peer_call(a, a->authority_url, "/v1/anon/peer/transfer",
	    a->authority_pk, json_pack("{s:o, s:o, s:o, s:s}", "txinfo",
	    wk_b64_json(txinfo, txlen), "txcred", wk_b64_json(txcred, 64),
	    "idcred", wk_b64_json(idcred, idlen), "alias", o.alias), &ans, e) != 0) {
		if (e->status < 500)
			settle_rows(a, txid, "refused", e->message);
		else
			iss_fail(e, 502, "authority_unreachable", "the identity"
			    " authority cannot be reached; the payment is pending"
			    " (walletkey anon recover)");
		goto out;
	}
	auth_ms = ms_since(&t1);
	iss_anon_fault("anon.account.after_forward");
	if (check_result(a, ans, txid, e) != 0)
		goto out;
	st = json_string_value(json_object_get(ans, "status"));
	settle_rows(a, txid, st, json_string_value(json_object_get(ans,
	    "reason")));
	if (json_is_number(v = json_object_get(ans, "payee_ms")))
		payee_ms = json_number_value(v);
	json_object_set_new(ans, "alias", json_string(o.alias));
	json_object_set_new(ans, "payee", json_string(tx.payee));
	json_object_set_new(ans, "amount", json_integer((json_int_t)tx.amount));
	json_object_del(ans, "payee_ms");
	json_object_set_new(ans, "timing", json_pack("{s:f, s:f, s:f}",
	    "manager_ms", ms_since(&t0) - auth_ms, "authority_ms",
	    auth_ms - payee_ms, "payee_manager_ms", payee_ms));
	*resp = ans;
	ans = NULL;
	/* a payment that did not commit is a refusal (4xx); the body keeps
	 * the authority's signed result, with which the card settles it */
	if (st == NULL || strcmp(st, "committed") != 0) {
		const char *why = json_string_value(json_object_get(*resp,
		    "reason"));

		if (st != NULL && strcmp(st, "void") == 0)
			iss_fail(e, 409, "payment_void", "%.200s", why && *why ? why :
			    "the payment never reached the ledger");
		else
			iss_fail(e, 403, "payment_refused", "%.200s", why && *why ?
			    why : "refused by the identity authority");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(plain, sizeof(plain));
	json_decref(ans);
	return rc;
}

int
iss_anon_am_status(iss_anon *a, json_t *req, json_t **resp, iss_err *e)
{
	const char *txid = json_string_value(json_object_get(req, "txid"));
	uint8_t bin[32];
	json_t *ans = NULL;

	if (txid == NULL || strlen(txid) != 64 || wk_hex_decode(txid, bin, 32) !=
	    32) {
		iss_fail(e, 400, "bad_request", "a status request is {txid}: 64 hex"
		    " digits");
		return -1;
	}
	if (iss_anon_peer_call(a, a->authority_url, "/v1/anon/peer/status",
	    a->authority_pk, json_pack("{s:s}", "txid", txid), &ans, e) != 0) {
		if (e->status >= 500)
			iss_fail(e, 502, "authority_unreachable", "the identity"
			    " authority cannot be reached");
		return -1;
	}
	if (check_result(a, ans, txid, e) != 0) {
		json_decref(ans);
		return -1;
	}
	settle_rows(a, txid, json_string_value(json_object_get(ans, "status")),
	    json_string_value(json_object_get(ans, "reason")));
	*resp = ans;
	return 0;
}

int
iss_anon_am_reconcile(iss_anon *a, int age, size_t *settled)
{
	iss_db *db;
	iss_res *r = NULL;
	char since[40];

	*settled = 0;
	if ((db = iss_pool_get(a->base.pool)) == NULL)
		return -1;
	iso_ago(age, since, sizeof(since));
	if (iss_db_exec(db, "SELECT DISTINCT txid FROM anon_payments WHERE status ="
	    " 'pending' AND created_at < $1 ORDER BY txid LIMIT 1000", (iss_param[]){
	    ISS_PS(since) }, 1, &r) != ISS_DB_OK) {
		iss_pool_put(a->base.pool, db);
		return -1;
	}
	iss_pool_put(a->base.pool, db);
	for (size_t i = 0; i < iss_res_rows(r); i++) {
		json_t *req = json_pack("{s:s}", "txid", iss_res_text(r, i, 0));
		json_t *ans = NULL;
		iss_err e = { 0 };

		if (iss_anon_am_status(a, req, &ans, &e) == 0)
			(*settled)++;
		json_decref(ans);
		json_decref(req);
	}
	iss_res_free(&r);
	return 0;
}

int
iss_anon_am_history(iss_anon *a, json_t *req, json_t **resp, iss_err *e)
{
	char account[WK_ANON_ACCT_MAX + 1], nhex[33], now[40];
	uint8_t plain[WK_ANON_QUERY_LEN + 16], nonce[16];
	uint64_t t;
	size_t plen, settled;
	uint64_t nowu;
	iss_db *db;
	iss_res *r = NULL;
	json_t *list = NULL, *bal = NULL;
	acct ac;
	int rc = -1, d;

	if ((db = iss_pool_get(a->base.pool)) == NULL) {
		iss_fail(e, 503, "busy", "the manager cannot reach its database");
		return -1;
	}
	if (open_envelope(a, db, req, WK_ANON_ENV_QUERY, account, &ac, plain,
	    sizeof(plain), &plen, e) != 0)
		goto out;
	if (wk_anon_query_decode(plain, plen, &t, nonce) != WK_ANON_OK) {
		iss_fail(e, 400, "bad_envelope", "not a query");
		goto out;
	}
	/* in unsigned arithmetic: t is the card's 8 bytes, any value (a
	 * signed difference overflowed for t near 2^63) */
	nowu = (uint64_t)time(NULL);
	if (t > nowu + ISS_ANON_QUERY_WINDOW ||
	    t + ISS_ANON_QUERY_WINDOW < nowu) {
		iss_fail(e, 403, "stale_query", "the query's time is more than "
		    "%d s off the manager's clock", ISS_ANON_QUERY_WINDOW);
		goto out;
	}
	wk_hex_encode(nonce, 16, nhex);
	iss_now_iso(now, sizeof(now));
	d = iss_db_exec(db, "INSERT INTO anon_queries (nonce, at) VALUES ($1, $2)",
	    (iss_param[]){ ISS_PS(nhex), ISS_PS(now) }, 2, NULL);
	if (d == ISS_DB_CONFLICT) {
		iss_fail(e, 409, "replay", "this query was seen before");
		goto out;
	}
	if (d != ISS_DB_OK) {
		iss_fail_db(e, db, d);
		goto out;
	}
	iss_pool_put(a->base.pool, db);
	db = NULL;
	(void)iss_anon_am_reconcile(a, ISS_ANON_RECONCILE_AGE, &settled);
	if ((db = iss_pool_get(a->base.pool)) == NULL) {
		iss_fail(e, 503, "busy", "the manager cannot reach its database");
		goto out;
	}
	if (iss_db_exec(db, "SELECT txid, direction, counterparty, alias, amount,"
	    " status, reason, created_at FROM anon_payments WHERE account = $1"
	    " ORDER BY created_at, direction", (iss_param[]){ ISS_PS(account) }, 1,
	    &r) != ISS_DB_OK) {
		iss_fail_db(e, db, ISS_DB_ERROR);
		goto out;
	}
	if ((list = json_array()) == NULL)
		goto oom;
	for (size_t i = 0; i < iss_res_rows(r); i++) {
		bool in = strcmp(iss_res_text(r, i, 1), "in") == 0;

		if (json_array_append_new(list, json_pack("{s:s, s:s, s:s?, s:s,"
		    " s:I, s:s, s:s?, s:s}", "txid", iss_res_text(r, i, 0),
		    "direction", iss_res_text(r, i, 1), "payee", in ? NULL :
		    iss_res_text(r, i, 2), in ? "payer_alias" : "alias",
		    iss_res_text(r, i, 3), "amount",
		    (json_int_t)iss_res_int(r, i, 4), "status", iss_res_text(r, i, 5),
		    "reason", iss_res_text(r, i, 6), "at", iss_res_text(r, i, 7))) != 0)
			goto oom;
	}
	{
		iss_err pe = { 0 };

		if (iss_anon_peer_call(a, a->authority_url, "/v1/anon/peer/balance",
		    a->authority_pk, json_pack("{s:s}", "account", account), &bal,
		    &pe) != 0)
			bal = NULL;
	}
	if ((*resp = json_pack("{s:s, s:s, s:o, s:o}", "account", account, "state",
	    ac.state, "balance", bal && json_is_integer(json_object_get(bal,
	    "balance")) ? json_incref(json_object_get(bal, "balance")) : json_null(),
	    "payments", list)) == NULL)
		goto oom;
	list = NULL;
	rc = 0;
	goto out;
oom:
	iss_fail(e, 500, "internal", "out of memory");
out:
	json_decref(bal);
	json_decref(list);
	iss_res_free(&r);
	if (db != NULL)
		iss_pool_put(a->base.pool, db);
	return rc;
}

/* ---- the authority's requests ---- */

typedef struct incoming {
	const char *txid, *payee, *alias;
	int64_t amount;
} incoming;

static int
in_tx(iss *is, iss_db *db, void *arg, iss_err *e)
{
	incoming *in = arg;
	char now[40];
	int rc;

	(void)is;
	iss_now_iso(now, sizeof(now));
	if ((rc = iss_db_exec(db, "INSERT INTO anon_payments (txid, direction,"
	    " account, counterparty, alias, amount, status, created_at) VALUES ($1,"
	    " 'in', $2, NULL, $3, $4, 'pending', $5) ON CONFLICT (txid, direction)"
	    " DO NOTHING", (iss_param[]){ ISS_PS(in->txid), ISS_PS(in->payee),
	    ISS_PS(in->alias), ISS_PI(in->amount), ISS_PS(now) }, 5, NULL)) !=
	    ISS_DB_OK || (rc = oplog(db, "payment.incoming", in->txid, in->payee,
	    in->amount, NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	return 0;
}

static int
check_payee(iss_anon *a, json_t *b, json_t **out, iss_err *e)
{
	incoming in;
	json_int_t amount;
	iss_db *db;
	acct ac;
	int rc;

	in.txid = json_string_value(json_object_get(b, "txid"));
	in.payee = json_string_value(json_object_get(b, "payee"));
	in.alias = json_string_value(json_object_get(b, "alias"));
	amount = json_integer_value(json_object_get(b, "amount"));
	if (in.txid == NULL || strlen(in.txid) != 64 || in.payee == NULL ||
	    in.alias == NULL || strlen(in.alias) != 32 || amount <= 0) {
		iss_fail(e, 400, "bad_request", "a payee check is {txid, payee,"
		    " amount, alias}");
		return -1;
	}
	in.amount = amount;
	if ((db = iss_pool_get(a->base.pool)) == NULL) {
		iss_fail(e, 503, "busy", "the manager cannot reach its database");
		return -1;
	}
	rc = acct_get(db, in.payee, &ac, e);
	iss_pool_put(a->base.pool, db);
	if (rc != 0) {
		if (e->status == 404)
			iss_fail(e, 404, "unknown_payee", "%s is no account of this"
			    " manager", in.payee);
		return -1;
	}
	if (strcmp(ac.state, "open") != 0) {
		iss_fail(e, 403, "account_frozen", "the payee's account is %s",
		    ac.state);
		return -1;
	}
	if (in.amount > ac.limit_daily) {
		iss_fail(e, 403, "limit_exceeded", "the payee's account takes at most"
		    " %lld a payment", (long long)ac.limit_daily);
		return -1;
	}
	if (iss_run_tx(&a->base, in_tx, &in, e) != 0)
		return -1;
	iss_anon_fault("anon.account.check_payee");
	return (*out = json_pack("{s:b}", "ok", 1)) != NULL ? 0 : -1;
}

static int
notify(iss_anon *a, json_t *b, json_t **out, iss_err *e)
{
	const char *txid = json_string_value(json_object_get(b, "txid"));
	const char *st = json_string_value(json_object_get(b, "status"));

	if (txid == NULL || strlen(txid) != 64 || st == NULL ||
	    (strcmp(st, "committed") != 0 && strcmp(st, "refused") != 0 &&
	    strcmp(st, "void") != 0)) {
		iss_fail(e, 400, "bad_request", "a notice is {txid, status}");
		return -1;
	}
	settle_rows(a, txid, st, NULL);
	return (*out = json_pack("{s:b}", "ok", 1)) != NULL ? 0 : -1;
}

int
iss_anon_am_peer(iss_anon *a, const char *path, json_t *req, json_t **resp,
    iss_err *e)
{
	char from[WK_ANON_MANAGER_MAX + 1], sig[128];
	json_t *b = NULL, *ans = NULL;
	int rc = -1;

	if (iss_anon_peer_open(a, path, req, authority_key, from, sizeof(from), &b,
	    sig, sizeof(sig), e) != 0)
		return -1;
	if (strcmp(path, "/v1/anon/peer/check-payee") == 0)
		rc = check_payee(a, b, &ans, e);
	else if (strcmp(path, "/v1/anon/peer/notify") == 0)
		rc = notify(a, b, &ans, e);
	else
		iss_fail(e, 404, "not_found", "no such resource: %.100s", path);
	if (rc == 0) {
		*resp = iss_anon_peer_answer(a, path, sig, ans);
		ans = NULL;
		if (*resp == NULL) {
			iss_fail(e, 500, "internal", "out of memory");
			rc = -1;
		}
	}
	json_decref(ans);
	json_decref(b);
	return rc;
}
