/*
 * online payments confirmed on the card (docs/payments.md): a merchant
 * asks for a payment; the issuer signs the confirmation request with its
 * CA key and queues it for the payer's card; the card's answer (its signed
 * confirmation, or an OCRA response) closes it. A payment is paid in one
 * transaction: payer account to merchant account (double entry), oplog,
 * the request closed. Every refusal closes it too and moves nothing; a
 * closed payment never changes again, so none is both refused and paid,
 * and none is paid twice.
 *
 * states: pending -> paid | declined | expired | failed | cancelled
 */
#include "iss_pay.h"
#include "iss_proto.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>
#include <sodium.h>

#include "wk_json.h"
#include "wk_hex.h"
#include "wk_payment.h"

/* long polls wake on a change made here, and look again every half second
 * for changes other servers of the database made */
static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cv = PTHREAD_COND_INITIALIZER;
static uint64_t wake_gen;

void
iss_pay_wake(void)
{
	pthread_mutex_lock(&wake_mu);
	wake_gen++;
	pthread_cond_broadcast(&wake_cv);
	pthread_mutex_unlock(&wake_mu);
}

void
iss_pay_sleep(uint64_t seen)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 500000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&wake_mu);
	while (wake_gen == seen)
		if (pthread_cond_timedwait(&wake_cv, &wake_mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&wake_mu);
}

uint64_t
iss_pay_gen(void)
{
	uint64_t g;

	pthread_mutex_lock(&wake_mu);
	g = wake_gen;
	pthread_mutex_unlock(&wake_mu);
	return g;
}

int64_t
iss_pay_now(const iss *is)
{
	return iss_now(is);
}

/* ---- small helpers ---- */

bool
iss_pay_hex_exact(const char *s, uint8_t *out, size_t len)
{
	if (s == NULL || strlen(s) != 2 * len ||
	    strspn(s, "0123456789abcdefABCDEF") != 2 * len)
		return false;
	return wk_hex_decode(s, out, len) == (long)len;
}

static void
iso_of(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* the "wait" argument: 0..ISS_PAY_WAIT_MAX seconds */
int
iss_pay_wait_arg(const iss_request *rq, int *wait, iss_err *e)
{
	const char *w = rq->wait;
	char *end;
	long v;

	*wait = 0;
	if (w == NULL)
		return 0;
	errno = 0;
	v = strtol(w, &end, 10);
	if (*w == '\0' || *end != '\0' || errno != 0 || v < 0) {
		iss_fail(e, 400, "bad_wait", "wait is a number of seconds");
		return -1;
	}
	*wait = v > ISS_PAY_WAIT_MAX ? ISS_PAY_WAIT_MAX : (int)v;
	return 0;
}

int
iss_pay_db(iss *is, iss_db **db, iss_err *e)
{
	if ((*db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		return -1;
	}
	return 0;
}

/* ---- merchants ---- */

static int
merchant_by(iss *is, const char *sql, const char *key, iss_merchant *m,
    char *hash, size_t hash_cap, iss_err *e)
{
	iss_db *db;
	iss_res *r = NULL;
	int rc = -1, d;

	if (iss_pay_db(is, &db, e) != 0)
		return -1;
	if ((d = iss_db_exec(db, sql, (iss_param[]){ ISS_PS(key) }, 1, &r)) !=
	    ISS_DB_OK) {
		iss_fail_db(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) != 1) {
		rc = 1;
		goto out;
	}
	memset(m, 0, sizeof(*m));
	snprintf(m->terminal, sizeof(m->terminal), "%s", iss_res_text(r, 0, 0));
	m->account_id = iss_res_int(r, 0, 1);
	snprintf(m->name, sizeof(m->name), "%s", iss_res_text(r, 0, 2));
	if (hash != NULL)
		snprintf(hash, hash_cap, "%s", iss_res_text(r, 0, 3) ?
		    iss_res_text(r, 0, 3) : "");
	rc = 0;
out:
	iss_res_free(&r);
	iss_pool_put(is->pool, db);
	return rc;
}

/*
 * the merchant of a request: an API key "wkm_<key id, 16 hex>_<secret>"
 * whose SHA-256 the issuer keeps, or the fingerprint of a TLS client
 * certificate registered for it. 401 without either.
 */
int
iss_pay_merchant_auth(iss *is, const iss_request *rq, iss_merchant *m, iss_err *e)
{
	const char *a = rq->authorization, *key, *secret;
	char kid[17], hash[65] = "", want[65];
	uint8_t h[crypto_hash_sha256_BYTES];
	int rc;

	if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0 &&
	    strncmp(a + 7, ISS_API_KEY_PREFIX, 4) == 0) {
		key = a + 7 + 4;
		if (strlen(key) < 18 || key[16] != '_' ||
		    strspn(key, "0123456789abcdef") != 16)
			goto bad;
		memcpy(kid, key, 16);
		kid[16] = '\0';
		secret = key + 17;
		if (strlen(secret) < 16 || strlen(secret) > 128)
			goto bad;
		rc = merchant_by(is, "SELECT m.terminal_id, m.account_id, a.name,"
		    " k.key_hash FROM merchant_keys k JOIN merchants m"
		    " ON m.terminal_id = k.terminal_id JOIN accounts a"
		    " ON a.id = m.account_id WHERE k.key_id = $1 AND"
		    " k.revoked_at IS NULL", kid, m, hash, sizeof(hash), e);
		if (rc < 0)
			return -1;
		crypto_hash_sha256(h, (const uint8_t *)secret, strlen(secret));
		wk_hex_encode(h, sizeof(h), want);
		/* the same work for an unknown key id */
		if (rc != 0 || strlen(hash) != 64 ||
		    sodium_memcmp(hash, want, 64) != 0)
			goto bad;
		return 0;
	}
	if (rq->client_cert != NULL) {
		rc = merchant_by(is, "SELECT m.terminal_id, m.account_id, a.name,"
		    " NULL FROM merchant_certs c JOIN merchants m"
		    " ON m.terminal_id = c.terminal_id JOIN accounts a"
		    " ON a.id = m.account_id WHERE c.fingerprint = $1 AND"
		    " c.revoked_at IS NULL", rq->client_cert, m, NULL, 0, e);
		if (rc < 0)
			return -1;
		if (rc == 0)
			return 0;
		iss_fail(e, 401, "unknown_certificate", "this client certificate"
		    " belongs to no merchant");
		return -1;
	}
	iss_fail(e, 401, "merchant_auth_required", "a merchant API key"
	    " (Authorization: Bearer wkm_...) or client certificate is needed");
	return -1;
bad:
	iss_fail(e, 401, "bad_api_key", "the API key is not valid");
	return -1;
}

/*
 * the door of a card's payments: the card's own session (docs/issuer.md
 * "Sessions"), of the card's scope: the card is there (its confirmation
 * carries the holder's PIN by itself)
 */
int
iss_pay_card_door(iss *is, const iss_request *rq, const char *card_hex, iss_err *e)
{
	return iss_session_auth(is, rq->authorization, card_hex, ISS_SCOPE_CARD,
	    NULL, e);
}

/* ---- payments ---- */

void
iss_pay_row_clear(iss_pay_row *p)
{
	free(p->request_b64);
	free(p->confirmation);
	p->request_b64 = p->confirmation = NULL;
}

static void
text_col(iss_res *r, size_t row, size_t col, char *out, size_t cap)
{
	const char *t = iss_res_text(r, row, col);

	snprintf(out, cap, "%s", t != NULL ? t : "");
}

int
iss_pay_from_res(iss_res *r, size_t i, iss_pay_row *p)
{
	memset(p, 0, sizeof(*p));
	text_col(r, i, 0, p->id, sizeof(p->id));
	text_col(r, i, 1, p->terminal, sizeof(p->terminal));
	text_col(r, i, 2, p->order_id, sizeof(p->order_id));
	text_col(r, i, 3, p->description, sizeof(p->description));
	text_col(r, i, 4, p->payer, sizeof(p->payer));
	p->account_id = iss_res_int(r, i, 5);
	text_col(r, i, 6, p->card_id, sizeof(p->card_id));
	p->amount = iss_res_int(r, i, 7);
	text_col(r, i, 8, p->currency, sizeof(p->currency));
	p->expires_at = iss_res_int(r, i, 9);
	p->request_b64 = strdup(iss_res_text(r, i, 10) ? iss_res_text(r, i, 10) : "");
	text_col(r, i, 11, p->request_hash, sizeof(p->request_hash));
	text_col(r, i, 12, p->status, sizeof(p->status));
	text_col(r, i, 13, p->error_code, sizeof(p->error_code));
	text_col(r, i, 14, p->error_message, sizeof(p->error_message));
	if (iss_res_text(r, i, 15) != NULL)
		p->confirmation = strdup(iss_res_text(r, i, 15));
	text_col(r, i, 16, p->method, sizeof(p->method));
	text_col(r, i, 17, p->created_at, sizeof(p->created_at));
	text_col(r, i, 18, p->closed_at, sizeof(p->closed_at));
	text_col(r, i, 19, p->payee_name, sizeof(p->payee_name));
	text_col(r, i, 20, p->pan, sizeof(p->pan));
	p->merchant_account = iss_res_int(r, i, 21);
	return p->request_b64 != NULL ? 0 : ISS_DB_ERROR;
}

/* 1 found, 0 not, else a db rc */
int
iss_pay_read(iss_db *db, const char *id, iss_pay_row *p)
{
	iss_res *r = NULL;
	int rc;

	if ((rc = iss_db_exec(db, "SELECT " PAY_COLS PAY_FROM " WHERE p.id = $1",
	    (iss_param[]){ ISS_PS(id) }, 1, &r)) != ISS_DB_OK)
		return rc;
	if (iss_res_rows(r) != 1) {
		iss_res_free(&r);
		return 0;
	}
	rc = iss_pay_from_res(r, 0, p);
	iss_res_free(&r);
	return rc == 0 ? 1 : rc;
}

json_t *
iss_pay_json(const iss_pay_row *p)
{
	char exp[40];
	json_t *j;

	iso_of(p->expires_at, exp, sizeof(exp));
	j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I,"
	    " s:s, s:s}", "payment_id", p->id, "status", p->status,
	    "order_id", p->order_id, "description", p->description,
	    "amount", (json_int_t)p->amount, "currency", p->currency,
	    "payer", p->payer, "payee", p->terminal, "payee_name", p->payee_name,
	    "expires", (json_int_t)p->expires_at, "expires_at", exp,
	    "created_at", p->created_at);
	if (j == NULL)
		return NULL;
	if (p->closed_at[0] != '\0')
		json_object_set_new(j, "closed_at", json_string(p->closed_at));
	if (p->error_code[0] != '\0') {
		json_object_set_new(j, "error", json_string(p->error_code));
		json_object_set_new(j, "message", json_string(p->error_message));
	}
	if (p->method[0] != '\0')
		json_object_set_new(j, "method", json_string(p->method));
	return j;
}

/* the request the card sees: what the relay shows and the card checks */
json_t *
iss_pay_pending_json(const iss_pay_row *p)
{
	return json_pack("{s:s, s:s, s:I}", "payment_id", p->id, "request",
	    p->request_b64, "expires", (json_int_t)p->expires_at);
}

/* ---- closing ---- */

static int
webhook_for(iss_db *db, const iss_pay_row *p)
{
	json_t *j = iss_pay_json(p);
	char *body = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int rc = body != NULL ? iss_webhook_queue(db, p->terminal, p->id, body) :
	    ISS_DB_ERROR;

	free(body);
	json_decref(j);
	return rc;
}

static int
tx_close(iss *is, iss_db *db, void *arg, iss_err *e)
{
	iss_pay_close_ctx *x = arg;
	char now[40], detail[320];
	int64_t op = 0;
	bool closed;
	int d;

	(void)is;
	iss_pay_row_clear(&x->out);
	x->changed = false;
	x->funds_short = false;
	if ((d = iss_pay_read(db, x->id, &x->out)) != 1) {
		if (d == 0) {
			iss_fail(e, 404, "payment_not_found", "no payment %s", x->id);
			return -1;
		}
		return iss_db_fail(e, db, d);
	}
	/* the payment's row first: one closing wins, the others see it closed */
	if ((d = iss_db_exec(db, "UPDATE payments SET status = status WHERE"
	    " id = $1 AND status = 'pending'", (iss_param[]){ ISS_PS(x->id) }, 1,
	    NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	closed = iss_db_changes(db) != 1;
	/* read again after the lock: what a closing that won says */
	iss_pay_row_clear(&x->out);
	if ((d = iss_pay_read(db, x->id, &x->out)) != 1)
		return iss_db_fail(e, db, d == 0 ? ISS_DB_ERROR : d);
	if (closed)
		return 0;	/* closed before: x->out says how */
	if (x->counter >= 0) {
		iss_res *r = NULL;
		bool used;

		/* a counter the card used before: a copy of the card, or its
		 * store put back */
		if ((d = iss_db_exec(db, "SELECT payment_id FROM payment_counters"
		    " WHERE card_id = $1 AND counter = $2", (iss_param[]){
		    ISS_PS(x->out.card_id), ISS_PI(x->counter) }, 2, &r)) !=
		    ISS_DB_OK)
			return iss_db_fail(e, db, d);
		used = iss_res_rows(r) > 0;
		iss_res_free(&r);
		if (used) {
			x->status = "failed";
			x->code = "counter_reused";
			snprintf(x->message, sizeof(x->message), "card %s signed"
			    " confirmation counter %lld before: a copy of the card"
			    " or of its store", x->out.card_id, (long long)x->counter);
		} else if ((d = iss_db_exec(db, "INSERT INTO payment_counters"
		    " (card_id, counter, payment_id) VALUES ($1, $2, $3)",
		    (iss_param[]){ ISS_PS(x->out.card_id), ISS_PI(x->counter),
		    ISS_PS(x->id) }, 3, NULL)) != ISS_DB_OK) {
			return iss_db_fail(e, db, d);
		}
	}
	snprintf(detail, sizeof(detail), "%s%s%s", x->code != NULL ? x->code : "",
	    x->code != NULL ? ": " : "", x->code != NULL ? x->message : "");
	if ((d = iss_oplog_append(db, &(iss_op){ .kind = strcmp(x->status,
	    "paid") == 0 ? "payment.paid" : strcmp(x->status, "declined") == 0 ?
	    "payment.declined" : strcmp(x->status, "expired") == 0 ?
	    "payment.expired" : strcmp(x->status, "cancelled") == 0 ?
	    "payment.cancelled" : "payment.refused", .card_id = x->out.card_id,
	    .load_id = x->id, .seq = -1, .account_id = x->out.account_id,
	    .amount = x->out.amount, .detail = detail[0] ? detail : x->out.order_id,
	    .msg = x->confirmation }, &op)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (strcmp(x->status, "paid") == 0) {
		d = iss_ledger_move(db, x->out.account_id, x->out.merchant_account,
		    x->out.amount, "payment", x->id, op);
		if (d == ISS_LEDGER_FUNDS) {
			x->funds_short = true;
			return -1;	/* rolled back; closed as refused next */
		}
		if (d != 0)
			return iss_db_fail(e, db, d);
	}
	iss_now_iso(now, sizeof(now));
	if ((d = iss_db_exec(db, "UPDATE payments SET status = $1, error_code = $2,"
	    " error_message = $3, confirmation = $4, method = $5, counter = $6,"
	    " oplog_id = $7, closed_at = $8 WHERE id = $9 AND status = 'pending'",
	    (iss_param[]){ ISS_PS(x->status), x->code ? ISS_PS(x->code) : ISS_PN,
	    x->code ? ISS_PS(x->message) : ISS_PN,
	    x->confirmation ? ISS_PS(x->confirmation) : ISS_PN,
	    x->method ? ISS_PS(x->method) : ISS_PN,
	    x->counter >= 0 ? ISS_PI(x->counter) : ISS_PN, ISS_PI(op),
	    ISS_PS(now), ISS_PS(x->id) }, 9, NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (iss_db_changes(db) != 1)
		return iss_db_fail(e, db, ISS_DB_ERROR);
	iss_pay_row_clear(&x->out);
	if ((d = iss_pay_read(db, x->id, &x->out)) != 1 ||
	    (d = webhook_for(db, &x->out)) != ISS_DB_OK)
		return iss_db_fail(e, db, d == 0 ? ISS_DB_ERROR : d);
	x->changed = true;
	return 0;
}

/* closes a pending payment as x says (a refusal for funds included);
 * x->out holds the payment as it is after */
int
iss_pay_close(iss *is, iss_pay_close_ctx *x, iss_err *e)
{
	int rc = iss_run_tx(is, tx_close, x, e);

	if (rc != 0 && x->funds_short) {
		x->status = "failed";
		x->code = "insufficient_funds";
		snprintf(x->message, sizeof(x->message), "account %s holds less"
		    " than %lld", x->out.pan, (long long)x->out.amount);
		x->counter = -1;	/* its counter stays unrecorded: nothing paid */
		memset(e, 0, sizeof(*e));
		rc = iss_run_tx(is, tx_close, x, e);
	}
	if (rc == 0 && x->changed)
		iss_pay_wake();
	return rc;
}

/* a pending payment past its expiry is closed as expired; p is updated */
int
iss_pay_expire_if_due(iss *is, iss_pay_row *p, iss_err *e)
{
	iss_pay_close_ctx x = { 0 };
	int rc;

	if (strcmp(p->status, "pending") != 0 || iss_pay_now(is) < p->expires_at)
		return 0;
	x.id = p->id;
	x.status = "expired";
	x.code = "expired";
	snprintf(x.message, sizeof(x.message), "the holder did not answer before"
	    " the payment expired");
	x.method = "issuer";
	x.counter = -1;
	if ((rc = iss_pay_close(is, &x, e)) == 0) {
		iss_pay_row_clear(p);
		*p = x.out;
		memset(&x.out, 0, sizeof(x.out));
	}
	iss_pay_row_clear(&x.out);
	return rc;
}

int
iss_pay_expire_due(iss *is)
{
	iss_db *db;
	iss_res *r = NULL;
	iss_err e = { 0 };
	int n = 0;

	if ((db = iss_pool_get(is->pool)) == NULL)
		return -1;
	if (iss_db_exec(db, "SELECT " PAY_COLS PAY_FROM " WHERE p.status ="
	    " 'pending' AND p.expires_at <= $1 ORDER BY p.expires_at LIMIT 64",
	    (iss_param[]){ ISS_PI(iss_pay_now(is)) }, 1, &r) != ISS_DB_OK) {
		iss_pool_put(is->pool, db);
		return -1;
	}
	iss_pool_put(is->pool, db);
	for (size_t i = 0; i < iss_res_rows(r); i++) {
		iss_pay_row p;

		if (iss_pay_from_res(r, i, &p) == 0 && iss_pay_expire_if_due(is, &p, &e) == 0)
			n++;
		iss_pay_row_clear(&p);
	}
	iss_res_free(&r);
	return n;
}

int
iss_pay_revoke_card(iss_db *db, const char *card_hex)
{
	iss_res *r = NULL;
	char now[40], msg[96];
	int rc;

	if ((rc = iss_db_exec(db, "SELECT " PAY_COLS PAY_FROM " WHERE p.card_id ="
	    " $1 AND p.status = 'pending' ORDER BY p.id", (iss_param[]){
	    ISS_PS(card_hex) }, 1, &r)) != ISS_DB_OK)
		return rc;
	iss_now_iso(now, sizeof(now));
	snprintf(msg, sizeof(msg), "card %s was revoked", card_hex);
	for (size_t i = 0; i < iss_res_rows(r) && rc == ISS_DB_OK; i++) {
		iss_pay_row p;
		int64_t op = 0;

		if ((rc = iss_pay_from_res(r, i, &p)) != 0)
			break;
		if ((rc = iss_oplog_append(db, &(iss_op){ .kind = "payment.refused",
		    .card_id = p.card_id, .load_id = p.id, .seq = -1,
		    .account_id = p.account_id, .amount = p.amount,
		    .detail = "card_revoked" }, &op)) == ISS_DB_OK &&
		    (rc = iss_db_exec(db, "UPDATE payments SET status = 'failed',"
		    " error_code = 'card_revoked', error_message = $1, method ="
		    " 'issuer', oplog_id = $2, closed_at = $3 WHERE id = $4 AND"
		    " status = 'pending'", (iss_param[]){ ISS_PS(msg), ISS_PI(op),
		    ISS_PS(now), ISS_PS(p.id) }, 4, NULL)) == ISS_DB_OK) {
			iss_pay_row_clear(&p);
			if ((rc = iss_pay_read(db, iss_res_text(r, i, 0), &p)) == 1)
				rc = webhook_for(db, &p);
			else if (rc == 0)
				rc = ISS_DB_ERROR;
		}
		iss_pay_row_clear(&p);
	}
	iss_res_free(&r);
	return rc;
}
