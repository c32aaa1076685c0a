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
#include "iss.h"

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

#define PAY_ID_LEN WK_MSG_LOAD_ID_LEN
#define PAY_HEX (2 * PAY_ID_LEN + 1)
#define ALIAS_MAX 64

/* long polls wake on a change made here, and look again every half second
 * for changes other servers of the database made */
static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cv = PTHREAD_COND_INITIALIZER;
static uint64_t wake_gen;

static void
pay_wake(void)
{
	pthread_mutex_lock(&wake_mu);
	wake_gen++;
	pthread_cond_broadcast(&wake_cv);
	pthread_mutex_unlock(&wake_mu);
}

static void
pay_sleep(uint64_t seen)
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

static uint64_t
pay_gen(void)
{
	uint64_t g;

	pthread_mutex_lock(&wake_mu);
	g = wake_gen;
	pthread_mutex_unlock(&wake_mu);
	return g;
}

static int64_t
pay_now(const iss *is)
{
	return iss_now(is);
}

/* ---- small helpers ---- */

static bool
hex_exact(const char *s, uint8_t *out, size_t len)
{
	if (s == NULL || strlen(s) != 2 * len ||
	    strspn(s, "0123456789abcdefABCDEF") != 2 * len)
		return false;
	return wk_hex_decode(s, out, len) == (long)len;
}

static int
body_keys(json_t *req, const char *const *allowed, iss_err *e)
{
	const char *k;
	json_t *v;

	if (!json_is_object(req)) {
		iss_fail(e, 400, "bad_json", "the body is not a JSON object");
		return -1;
	}
	json_object_foreach(req, k, v) {
		size_t i;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			iss_fail(e, 400, "unknown_field", "unknown field \"%.64s\"", k);
			return -1;
		}
	}
	(void)v;
	return 0;
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
static int
wait_arg(const iss_request *rq, int *wait, iss_err *e)
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

static int
get_db(iss *is, iss_db **db, iss_err *e)
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

	if (get_db(is, &db, e) != 0)
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
static int
merchant_auth(iss *is, const iss_request *rq, iss_merchant *m, iss_err *e)
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
static int
card_door(iss *is, const iss_request *rq, const char *card_hex, iss_err *e)
{
	return iss_session_auth(is, rq->authorization, card_hex, ISS_SCOPE_CARD,
	    NULL, e);
}

/* ---- payments ---- */

typedef struct pay_row {
	char id[PAY_HEX];
	char terminal[13];
	char order_id[WK_MSG_NAME_MAX + 1];
	char description[WK_MSG_DESC_MAX + 1];
	char payer[ALIAS_MAX + 1];
	int64_t account_id;
	char card_id[17];
	int64_t amount;
	char currency[4];
	int64_t expires_at;
	char *request_b64;
	char request_hash[65];
	char status[16];
	char error_code[40];
	char error_message[256];
	char *confirmation;
	char method[16];
	char created_at[40];
	char closed_at[40];
	char payee_name[WK_MSG_NAME_MAX + 1];
	char pan[WK_MSG_PAN_MAX + 1];
	int64_t merchant_account;
} pay_row;

static void
pay_row_clear(pay_row *p)
{
	free(p->request_b64);
	free(p->confirmation);
	p->request_b64 = p->confirmation = NULL;
}

#define PAY_COLS "p.id, p.terminal_id, p.order_id, p.description, p.payer," \
	" p.account_id, p.card_id, p.amount, p.currency, p.expires_at," \
	" p.request_msg, p.request_hash, p.status, p.error_code," \
	" p.error_message, p.confirmation, p.method, p.created_at," \
	" p.closed_at, ma.name, pa.pan, m.account_id"
#define PAY_FROM " FROM payments p JOIN merchants m ON m.terminal_id =" \
	" p.terminal_id JOIN accounts ma ON ma.id = m.account_id JOIN" \
	" accounts pa ON pa.id = p.account_id"

static void
text_col(iss_res *r, size_t row, size_t col, char *out, size_t cap)
{
	const char *t = iss_res_text(r, row, col);

	snprintf(out, cap, "%s", t != NULL ? t : "");
}

static int
pay_from_res(iss_res *r, size_t i, pay_row *p)
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
static int
pay_read(iss_db *db, const char *id, pay_row *p)
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
	rc = pay_from_res(r, 0, p);
	iss_res_free(&r);
	return rc == 0 ? 1 : rc;
}

static json_t *
pay_json(const pay_row *p)
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
static json_t *
pending_json(const pay_row *p)
{
	return json_pack("{s:s, s:s, s:I}", "payment_id", p->id, "request",
	    p->request_b64, "expires", (json_int_t)p->expires_at);
}

/* ---- closing ---- */

typedef struct close_ctx {
	const char *id;
	const char *status;		/* paid, declined, expired, failed, cancelled */
	const char *code;		/* the error for the merchant, or NULL */
	char message[256];
	const char *method;		/* signature, ocra, relay, merchant, issuer */
	const char *confirmation;	/* what closed it, or NULL */
	int64_t counter;		/* < 0: none */
	pay_row out;
	bool changed;
	bool funds_short;		/* tx_close: refused for funds, nothing done */
} close_ctx;

static int
webhook_for(iss_db *db, const pay_row *p)
{
	json_t *j = pay_json(p);
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
	close_ctx *x = arg;
	char now[40], detail[320];
	int64_t op = 0;
	bool closed;
	int d;

	(void)is;
	pay_row_clear(&x->out);
	x->changed = false;
	x->funds_short = false;
	if ((d = pay_read(db, x->id, &x->out)) != 1) {
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
	pay_row_clear(&x->out);
	if ((d = pay_read(db, x->id, &x->out)) != 1)
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
	pay_row_clear(&x->out);
	if ((d = pay_read(db, x->id, &x->out)) != 1 ||
	    (d = webhook_for(db, &x->out)) != ISS_DB_OK)
		return iss_db_fail(e, db, d == 0 ? ISS_DB_ERROR : d);
	x->changed = true;
	return 0;
}

/* closes a pending payment as x says (a refusal for funds included);
 * x->out holds the payment as it is after */
static int
pay_close(iss *is, close_ctx *x, iss_err *e)
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
		pay_wake();
	return rc;
}

/* a pending payment past its expiry is closed as expired; p is updated */
static int
expire_if_due(iss *is, pay_row *p, iss_err *e)
{
	close_ctx x = { 0 };
	int rc;

	if (strcmp(p->status, "pending") != 0 || pay_now(is) < p->expires_at)
		return 0;
	x.id = p->id;
	x.status = "expired";
	x.code = "expired";
	snprintf(x.message, sizeof(x.message), "the holder did not answer before"
	    " the payment expired");
	x.method = "issuer";
	x.counter = -1;
	if ((rc = pay_close(is, &x, e)) == 0) {
		pay_row_clear(p);
		*p = x.out;
		memset(&x.out, 0, sizeof(x.out));
	}
	pay_row_clear(&x.out);
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
	    (iss_param[]){ ISS_PI(pay_now(is)) }, 1, &r) != ISS_DB_OK) {
		iss_pool_put(is->pool, db);
		return -1;
	}
	iss_pool_put(is->pool, db);
	for (size_t i = 0; i < iss_res_rows(r); i++) {
		pay_row p;

		if (pay_from_res(r, i, &p) == 0 && expire_if_due(is, &p, &e) == 0)
			n++;
		pay_row_clear(&p);
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
		pay_row p;
		int64_t op = 0;

		if ((rc = pay_from_res(r, i, &p)) != 0)
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
			pay_row_clear(&p);
			if ((rc = pay_read(db, iss_res_text(r, i, 0), &p)) == 1)
				rc = webhook_for(db, &p);
			else if (rc == 0)
				rc = ISS_DB_ERROR;
		}
		pay_row_clear(&p);
	}
	iss_res_free(&r);
	return rc;
}

/* ---- the merchant's side ---- */

typedef struct create_ctx {
	const iss_merchant *m;
	const char *payer;
	const char *order_id;
	const char *description;
	int64_t amount;
	const char *currency;
	int64_t expires_in;
	char hash[65];		/* of the merchant's fields: the same order again */
	pay_row out;
	bool existing;
} create_ctx;

/* the payer's account and the card its requests go to: the newest card of
 * the account that is not revoked */
static int
payer_find(iss_db *db, const char *payer, int64_t *acct, char *pan,
    char *card, iss_err *e)
{
	iss_res *r = NULL;
	bool digits = payer[0] != '\0' && strspn(payer, "0123456789") ==
	    strlen(payer);
	int d;

	if (digits)
		d = iss_db_exec(db, "SELECT id, pan FROM accounts WHERE pan = $1"
		    " AND kind = 'customer'", (iss_param[]){ ISS_PS(payer) }, 1, &r);
	else
		d = iss_db_exec(db, "SELECT a.id, a.pan FROM payer_aliases x JOIN"
		    " accounts a ON a.id = x.account_id WHERE x.alias = $1 AND"
		    " x.revoked_at IS NULL", (iss_param[]){ ISS_PS(payer) }, 1, &r);
	if (d != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (iss_res_rows(r) != 1) {
		iss_res_free(&r);
		iss_fail(e, 404, "payer_not_found", "no account is known as %.64s",
		    payer);
		return -1;
	}
	*acct = iss_res_int(r, 0, 0);
	snprintf(pan, WK_MSG_PAN_MAX + 1, "%s", iss_res_text(r, 0, 1));
	iss_res_free(&r);
	if ((d = iss_db_exec(db, "SELECT card_id FROM cards WHERE account_id = $1"
	    " AND revoked_at IS NULL ORDER BY created_at DESC, card_id LIMIT 1",
	    (iss_param[]){ ISS_PI(*acct) }, 1, &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (iss_res_rows(r) != 1) {
		iss_res_free(&r);
		iss_fail(e, 422, "payer_has_no_card", "the payer has no enrolled"
		    " card to confirm payments with");
		return -1;
	}
	snprintf(card, 17, "%s", iss_res_text(r, 0, 0));
	iss_res_free(&r);
	return 0;
}

static int
tx_create(iss *is, iss_db *db, void *arg, iss_err *e)
{
	create_ctx *x = arg;
	uint8_t id[PAY_ID_LEN], cid[WK_MSG_CARD_ID_LEN], tid[6];
	char idhex[PAY_HEX], pan[WK_MSG_PAN_MAX + 1], card[17], now[40];
	iss_res *r = NULL;
	wk_msg q;
	wk_buf b;
	json_t *j = NULL;
	int64_t acct = 0, op, expires;
	int rc = -1, d;

	wk_buf_init_heap(&b, WK_MSG_MAX);
	pay_row_clear(&x->out);
	x->existing = false;
	/* the same order id again: the same payment when nothing differs */
	if ((d = iss_db_exec(db, "SELECT p.id, p.request_hash FROM payments p"
	    " WHERE p.terminal_id = $1 AND p.order_id = $2", (iss_param[]){
	    ISS_PS(x->m->terminal), ISS_PS(x->order_id) }, 2, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) == 1) {
		if (strcmp(iss_res_text(r, 0, 1), x->hash) != 0) {
			iss_fail(e, 409, "order_exists", "order %.64s was asked for"
			    " with other details (payment %s)", x->order_id,
			    iss_res_text(r, 0, 0));
			goto out;
		}
		snprintf(idhex, sizeof(idhex), "%s", iss_res_text(r, 0, 0));
		iss_res_free(&r);
		if ((d = pay_read(db, idhex, &x->out)) != 1) {
			rc = iss_db_fail(e, db, d == 0 ? ISS_DB_ERROR : d);
			goto out;
		}
		x->existing = true;
		rc = 0;
		goto out;
	}
	iss_res_free(&r);
	if (payer_find(db, x->payer, &acct, pan, card, e) != 0) {
		rc = e->status == 503 ? ISS_DB_RETRY : -1;
		goto out;
	}
	/* a merchant flooding a holder with requests */
	if ((d = iss_db_exec(db, "SELECT COUNT(*) FROM payments WHERE card_id = $1"
	    " AND status = 'pending' AND expires_at > $2", (iss_param[]){
	    ISS_PS(card), ISS_PI(pay_now(is)) }, 2, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_int(r, 0, 0) >= ISS_PAY_PENDING_MAX) {
		iss_fail(e, 429, "too_many_pending", "the payer has %d requests"
		    " waiting already", ISS_PAY_PENDING_MAX);
		goto out;
	}
	iss_res_free(&r);
	randombytes_buf(id, sizeof(id));
	wk_hex_encode(id, sizeof(id), idhex);
	expires = pay_now(is) + x->expires_in;
	memset(&q, 0, sizeof(q));
	q.type = WK_MSG_PAY_REQUEST;
	if (wk_hex_decode(card, cid, sizeof(cid)) != sizeof(cid) ||
	    wk_hex_decode(x->m->terminal, tid, sizeof(tid)) != sizeof(tid)) {
		iss_fail(e, 500, "internal", "a stored id does not parse");
		goto out;
	}
	memcpy(q.card_id, cid, sizeof(cid));
	memcpy(q.load_id, id, sizeof(id));
	snprintf(q.pan, sizeof(q.pan), "%s", pan);
	memcpy(q.terminal_id, tid, sizeof(tid));
	snprintf(q.payee_name, sizeof(q.payee_name), "%s", x->m->name);
	snprintf(q.order_id, sizeof(q.order_id), "%s", x->order_id);
	snprintf(q.description, sizeof(q.description), "%s", x->description);
	q.amount = (uint32_t)x->amount;
	snprintf(q.currency, sizeof(q.currency), "%s", x->currency);
	q.expiry = (uint64_t)expires;
	if (wk_msg_sign(&q, is->keys.ca_key, &b) != WK_MSG_OK ||
	    (j = wk_b64_json(b.p, b.len)) == NULL) {
		iss_fail(e, 500, "internal", "cannot sign the request (is the"
		    " merchant's name a plain text of at most %d bytes?)",
		    WK_MSG_NAME_MAX);
		goto out;
	}
	if ((d = iss_oplog_append(db, &(iss_op){ .kind = "payment.request",
	    .card_id = card, .load_id = idhex, .seq = -1, .account_id = acct,
	    .amount = x->amount, .detail = x->order_id,
	    .msg = json_string_value(j) }, &op)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	iss_now_iso(now, sizeof(now));
	if ((d = iss_db_exec(db, "INSERT INTO payments (id, terminal_id, order_id,"
	    " description, payer, account_id, card_id, amount, currency,"
	    " expires_at, request_msg, request_hash, status, created_at)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
	    " 'pending', $13)", (iss_param[]){ ISS_PS(idhex),
	    ISS_PS(x->m->terminal), ISS_PS(x->order_id), ISS_PS(x->description),
	    ISS_PS(x->payer), ISS_PI(acct), ISS_PS(card), ISS_PI(x->amount),
	    ISS_PS(x->currency), ISS_PI(expires), ISS_PS(json_string_value(j)),
	    ISS_PS(x->hash), ISS_PS(now) }, 13, NULL)) != ISS_DB_OK) {
		/* the same order at once from another request: look again */
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if ((d = pay_read(db, idhex, &x->out)) != 1) {
		rc = iss_db_fail(e, db, d == 0 ? ISS_DB_ERROR : d);
		goto out;
	}
	rc = 0;
out:
	iss_res_free(&r);
	json_decref(j);
	wk_buf_clear(&b);
	return rc;
}

static const char *
text_field(json_t *req, const char *name, bool required, size_t min,
    size_t max, iss_err *e)
{
	json_t *v = json_object_get(req, name);
	const char *s;

	if (v == NULL && !required)
		return "";
	if (!json_is_string(v)) {
		iss_fail(e, 400, "missing_field", "\"%s\" must be a string", name);
		return NULL;
	}
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || strlen(s) < min ||
	    strlen(s) > max || !wk_payment_text_ok(s, strlen(s))) {
		iss_fail(e, 400, "bad_text", "\"%s\" is %zu to %zu bytes of text"
		    " without control characters", name, min, max);
		return NULL;
	}
	return s;
}

int
iss_pay_create(iss *is, const iss_request *rq, json_t *req, json_t **resp,
    iss_err *e)
{
	static const char *const keys[] = { "payer", "order_id", "description",
	    "amount", "currency", "expires_in", "payee", NULL };
	iss_merchant m;
	create_ctx x = { 0 };
	crypto_hash_sha256_state h;
	uint8_t hb[32];
	char num[64];
	json_t *v;
	int rc = -1;

	if (merchant_auth(is, rq, &m, e) != 0 || body_keys(req, keys, e) != 0)
		goto out;
	x.m = &m;
	if ((x.payer = text_field(req, "payer", true, 1, ALIAS_MAX, e)) == NULL ||
	    (x.order_id = text_field(req, "order_id", true, 1, WK_MSG_NAME_MAX,
	    e)) == NULL || (x.description = text_field(req, "description",
	    false, 0, WK_MSG_DESC_MAX, e)) == NULL)
		goto out;
	v = json_object_get(req, "amount");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 0x7FFFFFFF) {
		iss_fail(e, 400, "bad_amount", "amount is 1 to 2147483647 fen");
		goto out;
	}
	x.amount = json_integer_value(v);
	if ((x.currency = text_field(req, "currency", false, 3, 3, e)) == NULL)
		goto out;
	if (x.currency[0] == '\0')
		x.currency = WK_PAYMENT_CURRENCY;
	if (!wk_payment_currency_ok(x.currency, strlen(x.currency))) {
		iss_fail(e, 400, "bad_currency", "a currency is three capital"
		    " letters (ISO 4217)");
		goto out;
	}
	if (strcmp(x.currency, WK_PAYMENT_CURRENCY) != 0) {
		iss_fail(e, 422, "unsupported_currency", "this issuer's accounts"
		    " hold %s only", WK_PAYMENT_CURRENCY);
		goto out;
	}
	x.expires_in = ISS_PAY_EXPIRY_DEFAULT;
	if ((v = json_object_get(req, "expires_in")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > ISS_PAY_EXPIRY_MAX) {
			iss_fail(e, 400, "bad_expiry", "expires_in is 1 to %d seconds",
			    ISS_PAY_EXPIRY_MAX);
			goto out;
		}
		x.expires_in = json_integer_value(v);
	}
	if ((v = json_object_get(req, "payee")) != NULL &&
	    (!json_is_string(v) || strcasecmp(json_string_value(v),
	    m.terminal) != 0)) {
		iss_fail(e, 403, "wrong_payee", "a merchant asks for payments to"
		    " itself only (%s)", m.terminal);
		goto out;
	}
	if (m.name[0] == '\0' || !wk_payment_text_ok(m.name, strlen(m.name))) {
		iss_fail(e, 409, "merchant_name", "the merchant's name cannot be"
		    " shown to a payer");
		goto out;
	}
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)x.payer, strlen(x.payer) + 1);
	crypto_hash_sha256_update(&h, (const uint8_t *)x.description,
	    strlen(x.description) + 1);
	snprintf(num, sizeof(num), "%lld %s %lld", (long long)x.amount,
	    x.currency, (long long)x.expires_in);
	crypto_hash_sha256_update(&h, (const uint8_t *)num, strlen(num) + 1);
	crypto_hash_sha256_final(&h, hb);
	wk_hex_encode(hb, sizeof(hb), x.hash);
	if (iss_run_tx(is, tx_create, &x, e) != 0)
		goto out;
	if (!x.existing)
		pay_wake();
	if (expire_if_due(is, &x.out, e) != 0 || (*resp = pay_json(&x.out)) == NULL) {
		if (e->status == 0)
			iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	pay_row_clear(&x.out);
	return rc;
}

static int
pay_get_db(iss *is, const char *id, pay_row *p, iss_err *e)
{
	iss_db *db;
	int d;

	if (!hex_exact(id, (uint8_t[PAY_ID_LEN]){ 0 }, PAY_ID_LEN)) {
		iss_fail(e, 404, "payment_not_found", "no payment %.64s", id);
		return -1;
	}
	if (get_db(is, &db, e) != 0)
		return -1;
	d = pay_read(db, id, p);
	if (d != 1) {
		if (d == 0)
			iss_fail(e, 404, "payment_not_found", "no payment %s", id);
		else
			iss_fail_db(e, db, d);
		iss_pool_put(is->pool, db);
		return -1;
	}
	iss_pool_put(is->pool, db);
	return 0;
}

int
iss_pay_get(iss *is, const iss_request *rq, const char *id, json_t **resp,
    iss_err *e)
{
	iss_merchant m;
	pay_row p = { 0 };
	int64_t until;
	int wait, rc = -1;

	if (merchant_auth(is, rq, &m, e) != 0 || wait_arg(rq, &wait, e) != 0)
		return -1;
	until = (int64_t)time(NULL) + wait;
	for (;;) {
		uint64_t gen = pay_gen();

		pay_row_clear(&p);
		if (pay_get_db(is, id, &p, e) != 0)
			goto out;
		/* another merchant's payment is not found */
		if (strcmp(p.terminal, m.terminal) != 0) {
			iss_fail(e, 404, "payment_not_found", "no payment %s", id);
			goto out;
		}
		if (expire_if_due(is, &p, e) != 0)
			goto out;
		if (strcmp(p.status, "pending") != 0 || (int64_t)time(NULL) >= until)
			break;
		pay_sleep(gen);
	}
	if ((*resp = pay_json(&p)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	pay_row_clear(&p);
	return rc;
}

int
iss_pay_cancel(iss *is, const iss_request *rq, const char *id, json_t **resp,
    iss_err *e)
{
	iss_merchant m;
	pay_row p = { 0 };
	close_ctx x = { 0 };
	int rc = -1;

	if (merchant_auth(is, rq, &m, e) != 0 || pay_get_db(is, id, &p, e) != 0)
		goto out;
	if (strcmp(p.terminal, m.terminal) != 0) {
		iss_fail(e, 404, "payment_not_found", "no payment %s", id);
		goto out;
	}
	if (expire_if_due(is, &p, e) != 0)
		goto out;
	x.id = p.id;
	x.status = "cancelled";
	x.code = "cancelled";
	snprintf(x.message, sizeof(x.message), "the merchant cancelled the"
	    " payment");
	x.method = "merchant";
	x.counter = -1;
	if (pay_close(is, &x, e) != 0)
		goto out;
	if (!x.changed && strcmp(x.out.status, "cancelled") != 0) {
		iss_fail(e, 409, "payment_closed", "payment %s is %s already", id,
		    x.out.status);
		goto out;
	}
	if ((*resp = pay_json(&x.out)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	pay_row_clear(&x.out);
	pay_row_clear(&p);
	return rc;
}

/* ---- the card's side ---- */

int
iss_pay_pending(iss *is, const iss_request *rq, const char *card,
    json_t **resp, iss_err *e)
{
	uint8_t cid[WK_MSG_CARD_ID_LEN];
	char hex[17];
	json_t *a = NULL;
	int64_t until;
	int wait, rc = -1;

	if (!hex_exact(card, cid, sizeof(cid))) {
		iss_fail(e, 404, "not_found", "a card id is 16 hex digits");
		return -1;
	}
	wk_hex_encode(cid, sizeof(cid), hex);
	if (card_door(is, rq, hex, e) != 0 || wait_arg(rq, &wait, e) != 0)
		return -1;
	until = (int64_t)time(NULL) + wait;
	for (;;) {
		uint64_t gen = pay_gen();
		iss_db *db;
		iss_res *r = NULL;
		int d;

		json_decref(a);
		if ((a = json_array()) == NULL) {
			iss_fail(e, 500, "internal", "out of memory");
			goto out;
		}
		iss_pay_expire_due(is);
		if (get_db(is, &db, e) != 0)
			goto out;
		d = iss_db_exec(db, "SELECT " PAY_COLS PAY_FROM " WHERE p.card_id ="
		    " $1 AND p.status = 'pending' AND p.expires_at > $2 ORDER BY"
		    " p.created_at, p.id", (iss_param[]){ ISS_PS(hex),
		    ISS_PI(pay_now(is)) }, 2, &r);
		if (d != ISS_DB_OK) {
			iss_fail_db(e, db, d);
			iss_pool_put(is->pool, db);
			goto out;
		}
		iss_pool_put(is->pool, db);
		for (size_t i = 0; i < iss_res_rows(r); i++) {
			pay_row p;

			if (pay_from_res(r, i, &p) != 0 ||
			    json_array_append_new(a, pending_json(&p)) != 0) {
				pay_row_clear(&p);
				iss_res_free(&r);
				iss_fail(e, 500, "internal", "out of memory");
				goto out;
			}
			pay_row_clear(&p);
		}
		iss_res_free(&r);
		if (json_array_size(a) > 0 || (int64_t)time(NULL) >= until)
			break;
		pay_sleep(gen);
	}
	if ((*resp = json_pack("{s:s, s:o}", "card_id", hex, "payments", a)) ==
	    NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	a = NULL;
	rc = 0;
out:
	json_decref(a);
	return rc;
}

/* the card's certificate and account, for the checks of a confirmation */
typedef struct card_view {
	bool revoked;
	X509 *cert;
	EVP_PKEY *pub;		/* owned by cert */
} card_view;

static int
card_view_get(iss *is, const char *card_hex, card_view *c, iss_err *e)
{
	uint8_t der[2048];
	const uint8_t *p = der;
	iss_db *db;
	iss_res *r = NULL;
	long n;
	int rc = -1, d;

	memset(c, 0, sizeof(*c));
	if (get_db(is, &db, e) != 0)
		return -1;
	if ((d = iss_db_exec(db, "SELECT revoked_at, cert FROM cards WHERE"
	    " card_id = $1", (iss_param[]){ ISS_PS(card_hex) }, 1, &r)) !=
	    ISS_DB_OK) {
		iss_fail_db(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) != 1 ||
	    (n = wk_hex_decode(iss_res_text(r, 0, 1), der, sizeof(der))) <= 0 ||
	    (c->cert = d2i_X509(NULL, &p, n)) == NULL ||
	    (c->pub = X509_get0_pubkey(c->cert)) == NULL) {
		iss_fail(e, 500, "internal", "the card's certificate does not parse");
		goto out;
	}
	c->revoked = iss_res_text(r, 0, 0) != NULL;
	rc = 0;
out:
	iss_res_free(&r);
	iss_pool_put(is->pool, db);
	return rc;
}

/* the request as the issuer signed it (the order digest comes from it) */
static int
stored_request(const pay_row *p, wk_msg *q, iss_err *e)
{
	uint8_t buf[WK_MSG_MAX];
	long n = wk_b64_decode(p->request_b64, buf, sizeof(buf));

	if (n <= 0 || wk_msg_parse(buf, (size_t)n, q, NULL, NULL) != WK_MSG_OK ||
	    q->type != WK_MSG_PAY_REQUEST) {
		iss_fail(e, 500, "internal", "the stored request does not parse");
		return -1;
	}
	return 0;
}

/* the field of c that is not the request's, or NULL */
static const char *
field_differs(const wk_msg *q, const wk_msg *c)
{
	uint8_t digest[WK_MSG_DIGEST_LEN];

	wk_payment_order_digest(q, digest);
	if (memcmp(c->card_id, q->card_id, WK_MSG_CARD_ID_LEN) != 0)
		return "card";
	if (memcmp(c->load_id, q->load_id, WK_MSG_LOAD_ID_LEN) != 0)
		return "payment id";
	if (strcmp(c->pan, q->pan) != 0)
		return "payer";
	if (memcmp(c->terminal_id, q->terminal_id, 6) != 0)
		return "payee";
	if (sodium_memcmp(c->digest, digest, sizeof(digest)) != 0)
		return "order digest";
	if (c->amount != q->amount)
		return "amount";
	if (strcmp(c->currency, q->currency) != 0)
		return "currency";
	if (c->expiry != q->expiry)
		return "expiry";
	return NULL;
}

/* the OCRA response for the request at time step t (within the window of
 * the issuer's clock), against the issuer's own copy of the card's key */
static bool
ocra_ok(iss *is, const wk_msg *q, const char *digits, int64_t t)
{
	uint8_t key[32];
	char want[WK_PAYMENT_OCRA_DIGITS + 1];
	int64_t now = pay_now(is) / 60;
	wk_msg c = *q;
	bool ok = false;

	if (t < now - WK_PAYMENT_OCRA_WINDOW || t > now + WK_PAYMENT_OCRA_WINDOW)
		return false;
	wk_payment_order_digest(q, c.digest);
	if (iss_card_ocra_key(&is->keys, q->card_id, key) == 0 &&
	    wk_payment_ocra(key, &c, (uint64_t)t, want) == 0)
		ok = sodium_memcmp(want, digits, WK_PAYMENT_OCRA_DIGITS) == 0;
	sodium_memzero(key, sizeof(key));
	sodium_memzero(want, sizeof(want));
	return ok;
}

/* the codes a refused confirmation gets, as static strings for iss_err */
static const char *
refusal_code(const char *code)
{
	static const char *const codes[] = { "bad_signature", "field_mismatch",
	    "bad_ocra", "card_revoked", "card_certificate", "counter_reused",
	    "insufficient_funds", NULL };

	for (size_t i = 0; codes[i] != NULL; i++)
		if (strcmp(code, codes[i]) == 0)
			return codes[i];
	return "refused";
}

/* how a refusal reaches the poster of the confirmation */
static int
refusal_status(const char *code)
{
	if (strcmp(code, "bad_signature") == 0 || strcmp(code, "bad_ocra") == 0 ||
	    strcmp(code, "card_revoked") == 0 ||
	    strcmp(code, "card_certificate") == 0)
		return 403;
	if (strcmp(code, "insufficient_funds") == 0)
		return 422;
	return 409;
}

/* the answer to whoever posted what closed p: the payment, or the error
 * it was refused with */
static int
answer(const pay_row *p, json_t **resp, iss_err *e)
{
	if (strcmp(p->status, "failed") == 0) {
		iss_fail(e, refusal_status(p->error_code),
		    refusal_code(p->error_code), "%s", p->error_message);
		return -1;
	}
	if ((*resp = pay_json(p)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		return -1;
	}
	return 0;
}

int
iss_pay_confirm(iss *is, const iss_request *rq, const char *id, json_t *req,
    json_t **resp, iss_err *e)
{
	static const char *const keys[] = { "confirmation", "ocra", "decline",
	    NULL };
	uint8_t buf[WK_MSG_MAX];
	json_t *jc, *jo, *jd;
	pay_row p = { 0 };
	card_view card = { 0 };
	close_ctx x = { 0 };
	wk_msg q, c;
	const char *conf = NULL, *digits = NULL, *why;
	int64_t t = 0;
	iss_err ce = { 0 };
	long n = 0;
	int rc = -1;

	if (pay_get_db(is, id, &p, e) != 0)
		goto out;
	if (card_door(is, rq, p.card_id, e) != 0 || body_keys(req, keys, e) != 0)
		goto out;
	jc = json_object_get(req, "confirmation");
	jo = json_object_get(req, "ocra");
	jd = json_object_get(req, "decline");
	if ((jc != NULL) + (jo != NULL) + (jd != NULL) != 1) {
		iss_fail(e, 400, "missing_field", "give one of \"confirmation\","
		    " \"ocra\" or \"decline\"");
		goto out;
	}
	/* what cannot be read changes nothing */
	if (jc != NULL) {
		if ((conf = json_string_value(jc)) == NULL ||
		    (n = wk_b64_decode(conf, buf, sizeof(buf))) <= 0 ||
		    wk_msg_parse(buf, (size_t)n, &c, NULL, NULL) != WK_MSG_OK ||
		    c.type != WK_MSG_PAY_CONFIRM) {
			iss_fail(e, 400, "bad_message", "\"confirmation\" is a base64"
			    " payment-confirmation message");
			goto out;
		}
	} else if (jo != NULL) {
		json_t *jr = json_object_get(jo, "response"),
		    *jt = json_object_get(jo, "time");

		if (!json_is_object(jo) || json_object_size(jo) != 2 ||
		    (digits = json_string_value(jr)) == NULL ||
		    strlen(digits) != WK_PAYMENT_OCRA_DIGITS ||
		    strspn(digits, "0123456789") != WK_PAYMENT_OCRA_DIGITS ||
		    !json_is_integer(jt) || json_integer_value(jt) < 0) {
			iss_fail(e, 400, "bad_ocra", "\"ocra\" is {\"response\": 8"
			    " digits, \"time\": minutes since the epoch}");
			goto out;
		}
		t = json_integer_value(jt);
	} else if (!json_is_true(jd)) {
		iss_fail(e, 400, "bad_decline", "\"decline\" is true");
		goto out;
	}
	if (stored_request(&p, &q, e) != 0 || expire_if_due(is, &p, e) != 0)
		goto out;
	/* closed: the answer that closed it again is told how it went */
	if (strcmp(p.status, "pending") != 0) {
		if (conf != NULL && p.confirmation != NULL &&
		    strcmp(conf, p.confirmation) == 0) {
			rc = answer(&p, resp, e);
			goto out;
		}
		iss_fail(e, 409, "payment_closed", "payment %s is %s already", id,
		    p.status);
		goto out;
	}
	x.id = p.id;
	x.counter = -1;
	x.confirmation = conf;
	x.status = "failed";
	if (card_view_get(is, p.card_id, &card, e) != 0)
		goto out;
	if (card.revoked) {
		x.code = "card_revoked";
		snprintf(x.message, sizeof(x.message), "card %s is revoked",
		    p.card_id);
	} else if (iss_ca_check(&is->keys, card.cert, &ce) != 0) {
		x.code = "card_certificate";
		snprintf(x.message, sizeof(x.message), "%s", ce.message);
	} else if (conf != NULL) {
		x.method = "signature";
		if (wk_msg_verify(buf, (size_t)n, card.pub, &c) != WK_MSG_OK) {
			x.code = "bad_signature";
			snprintf(x.message, sizeof(x.message), "the confirmation is"
			    " not signed by card %s", p.card_id);
		} else if ((why = field_differs(&q, &c)) != NULL) {
			x.code = "field_mismatch";
			snprintf(x.message, sizeof(x.message), "the confirmation's %s"
			    " is not the request's", why);
		} else {
			x.counter = c.counter;
			if (c.decision == WK_MSG_ACCEPTED) {
				x.status = "paid";
			} else {
				x.status = "declined";
				x.code = "declined";
				snprintf(x.message, sizeof(x.message), "the holder"
				    " declined the payment on the card");
			}
		}
	} else if (digits != NULL) {
		x.method = "ocra";
		if (!ocra_ok(is, &q, digits, t)) {
			x.code = "bad_ocra";
			snprintf(x.message, sizeof(x.message), "the OCRA response"
			    " does not verify for this request and time");
		} else {
			x.status = "paid";
			x.confirmation = digits;
		}
	} else {
		x.method = "relay";
		x.status = "declined";
		x.code = "declined";
		snprintf(x.message, sizeof(x.message), "the holder declined the"
		    " payment");
	}
	if (pay_close(is, &x, e) != 0)
		goto out;
	if (!x.changed) {
		/* closed at the same time: by the same answer (told how it
		 * went), or by another answer or the merchant */
		if (conf != NULL && x.out.confirmation != NULL &&
		    strcmp(conf, x.out.confirmation) == 0) {
			rc = answer(&x.out, resp, e);
			goto out;
		}
		iss_fail(e, 409, "payment_closed", "payment %s is %s already", id,
		    x.out.status);
		goto out;
	}
	rc = answer(&x.out, resp, e);
out:
	X509_free(card.cert);
	pay_row_clear(&x.out);
	pay_row_clear(&p);
	return rc;
}
