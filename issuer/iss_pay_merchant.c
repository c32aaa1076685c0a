/* online payments, the merchant's side (docs/payments.md): create, get,
 * cancel; iss_pay.h */
#include "iss_pay.h"
#include "iss_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>
#include <sodium.h>

#include "wk_json.h"
#include "wk_hex.h"
#include "wk_payment.h"

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
	iss_pay_row out;
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
	iss_pay_row_clear(&x->out);
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
		if ((d = iss_pay_read(db, idhex, &x->out)) != 1) {
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
	    ISS_PS(card), ISS_PI(iss_pay_now(is)) }, 2, &r)) != ISS_DB_OK) {
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
	expires = iss_pay_now(is) + x->expires_in;
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
	if ((d = iss_pay_read(db, idhex, &x->out)) != 1) {
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

	if (iss_pay_merchant_auth(is, rq, &m, e) != 0 || iss_req_keys(req, keys, e) != 0)
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
		iss_pay_wake();
	if (iss_pay_expire_if_due(is, &x.out, e) != 0 || (*resp = iss_pay_json(&x.out)) == NULL) {
		if (e->status == 0)
			iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	iss_pay_row_clear(&x.out);
	return rc;
}

int
iss_pay_get_row(iss *is, const char *id, iss_pay_row *p, iss_err *e)
{
	iss_db *db;
	int d;

	if (!iss_pay_hex_exact(id, (uint8_t[PAY_ID_LEN]){ 0 }, PAY_ID_LEN)) {
		iss_fail(e, 404, "payment_not_found", "no payment %.64s", id);
		return -1;
	}
	if (iss_pay_db(is, &db, e) != 0)
		return -1;
	d = iss_pay_read(db, id, p);
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
	iss_pay_row p = { 0 };
	int64_t until;
	int wait, rc = -1;

	if (iss_pay_merchant_auth(is, rq, &m, e) != 0 || iss_pay_wait_arg(rq, &wait, e) != 0)
		return -1;
	until = (int64_t)time(NULL) + wait;
	for (;;) {
		uint64_t gen = iss_pay_gen();

		iss_pay_row_clear(&p);
		if (iss_pay_get_row(is, id, &p, e) != 0)
			goto out;
		/* another merchant's payment is not found */
		if (strcmp(p.terminal, m.terminal) != 0) {
			iss_fail(e, 404, "payment_not_found", "no payment %s", id);
			goto out;
		}
		if (iss_pay_expire_if_due(is, &p, e) != 0)
			goto out;
		if (strcmp(p.status, "pending") != 0 || (int64_t)time(NULL) >= until)
			break;
		iss_pay_sleep(gen);
	}
	if ((*resp = iss_pay_json(&p)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	iss_pay_row_clear(&p);
	return rc;
}

int
iss_pay_cancel(iss *is, const iss_request *rq, const char *id, json_t **resp,
    iss_err *e)
{
	iss_merchant m;
	iss_pay_row p = { 0 };
	iss_pay_close_ctx x = { 0 };
	int rc = -1;

	if (iss_pay_merchant_auth(is, rq, &m, e) != 0 || iss_pay_get_row(is, id, &p, e) != 0)
		goto out;
	if (strcmp(p.terminal, m.terminal) != 0) {
		iss_fail(e, 404, "payment_not_found", "no payment %s", id);
		goto out;
	}
	if (iss_pay_expire_if_due(is, &p, e) != 0)
		goto out;
	x.id = p.id;
	x.status = "cancelled";
	x.code = "cancelled";
	snprintf(x.message, sizeof(x.message), "the merchant cancelled the"
	    " payment");
	x.method = "merchant";
	x.counter = -1;
	if (iss_pay_close(is, &x, e) != 0)
		goto out;
	if (!x.changed && strcmp(x.out.status, "cancelled") != 0) {
		iss_fail(e, 409, "payment_closed", "payment %s is %s already", id,
		    x.out.status);
		goto out;
	}
	if ((*resp = iss_pay_json(&x.out)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	iss_pay_row_clear(&x.out);
	iss_pay_row_clear(&p);
	return rc;
}
