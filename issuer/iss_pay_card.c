/* online payments, the card's side (docs/payments.md): the pending
 * requests of a card and its confirmation; iss_pay.h */
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

	if (!iss_pay_hex_exact(card, cid, sizeof(cid))) {
		iss_fail(e, 404, "not_found", "a card id is 16 hex digits");
		return -1;
	}
	wk_hex_encode(cid, sizeof(cid), hex);
	if (iss_pay_card_door(is, rq, hex, e) != 0 || iss_pay_wait_arg(rq, &wait, e) != 0)
		return -1;
	until = (int64_t)time(NULL) + wait;
	for (;;) {
		uint64_t gen = iss_pay_gen();
		iss_db *db;
		iss_res *r = NULL;
		int d;

		json_decref(a);
		if ((a = json_array()) == NULL) {
			iss_fail(e, 500, "internal", "out of memory");
			goto out;
		}
		iss_pay_expire_due(is);
		if (iss_pay_db(is, &db, e) != 0)
			goto out;
		d = iss_db_exec(db, "SELECT " PAY_COLS PAY_FROM " WHERE p.card_id ="
		    " $1 AND p.status = 'pending' AND p.expires_at > $2 ORDER BY"
		    " p.created_at, p.id", (iss_param[]){ ISS_PS(hex),
		    ISS_PI(iss_pay_now(is)) }, 2, &r);
		if (d != ISS_DB_OK) {
			iss_fail_db(e, db, d);
			iss_pool_put(is->pool, db);
			goto out;
		}
		iss_pool_put(is->pool, db);
		for (size_t i = 0; i < iss_res_rows(r); i++) {
			iss_pay_row p;

			if (iss_pay_from_res(r, i, &p) != 0 ||
			    json_array_append_new(a, iss_pay_pending_json(&p)) != 0) {
				iss_pay_row_clear(&p);
				iss_res_free(&r);
				iss_fail(e, 500, "internal", "out of memory");
				goto out;
			}
			iss_pay_row_clear(&p);
		}
		iss_res_free(&r);
		if (json_array_size(a) > 0 || (int64_t)time(NULL) >= until)
			break;
		iss_pay_sleep(gen);
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
	if (iss_pay_db(is, &db, e) != 0)
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
stored_request(const iss_pay_row *p, wk_msg *q, iss_err *e)
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
	int64_t now = iss_pay_now(is) / 60;
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
answer(const iss_pay_row *p, json_t **resp, iss_err *e)
{
	if (strcmp(p->status, "failed") == 0) {
		iss_fail(e, refusal_status(p->error_code),
		    refusal_code(p->error_code), "%s", p->error_message);
		return -1;
	}
	if ((*resp = iss_pay_json(p)) == NULL) {
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
	iss_pay_row p = { 0 };
	card_view card = { 0 };
	iss_pay_close_ctx x = { 0 };
	wk_msg q, c;
	const char *conf = NULL, *digits = NULL, *why;
	int64_t t = 0;
	iss_err ce = { 0 };
	long n = 0;
	int rc = -1;

	if (iss_pay_get_row(is, id, &p, e) != 0)
		goto out;
	if (iss_pay_card_door(is, rq, p.card_id, e) != 0 || iss_req_keys(req, keys, e) != 0)
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
	if (stored_request(&p, &q, e) != 0 || iss_pay_expire_if_due(is, &p, e) != 0)
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
	if (iss_pay_close(is, &x, e) != 0)
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
	iss_pay_row_clear(&x.out);
	iss_pay_row_clear(&p);
	return rc;
}
