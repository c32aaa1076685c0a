/*
 * online payments confirmed on the card (docs/payments.md): the card's
 * PAYMENT command (purse CLA 80 INS E7), the issuer's payment doors, and
 * the relay that joins them (walletkey confirm).
 */
#include "walletkey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "wk_flow.h"
#include "wk_json.h"
#include "wk_hex.h"
#include "wk_msg.h"
#include "wk_payment.h"

#define CLA_WALLET 0x80
#define INS_PAYMENT 0xE7
#define P1_DECLINE 0x00
#define P1_ACCEPT 0x01
#define P1_ANSWER 0x02
#define P2_SIGNED 0x00
#define P2_OCRA 0x01
#define RELAY_BATCH 32
#define RETRY_MAX 10

int
wk_pay_request_parse(const uint8_t *msg, size_t len, wk_pay_request *out)
{
	wk_msg m;

	if (msg == NULL || out == NULL)
		return WK_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if (len > sizeof(out->msg) || wk_msg_parse(msg, len, &m, NULL, NULL) !=
	    WK_MSG_OK || m.type != WK_MSG_PAY_REQUEST)
		return WK_ERR_BAD_DATA;
	wk_hex_encode(m.load_id, sizeof(m.load_id), out->id);
	wk_hex_encode(m.card_id, sizeof(m.card_id), out->card_id);
	memcpy(out->payer, m.pan, sizeof(out->payer));
	wk_hex_encode(m.terminal_id, sizeof(m.terminal_id), out->payee);
	memcpy(out->payee_name, m.payee_name, sizeof(out->payee_name));
	memcpy(out->order_id, m.order_id, sizeof(out->order_id));
	memcpy(out->description, m.description, sizeof(out->description));
	out->amount = m.amount;
	memcpy(out->currency, m.currency, sizeof(out->currency));
	out->expires = m.expiry > INT64_MAX ? INT64_MAX : (int64_t)m.expiry;
	memcpy(out->msg, msg, len);
	out->msg_len = len;
	return WK_OK;
}

/* ---- the card ---- */

static int
payment_cmd(wk_card *card, uint8_t p1, uint8_t p2, const uint8_t *req,
    size_t len, uint8_t *resp, size_t *rlen, uint16_t *sw)
{
	uint16_t s = 0;
	int rc;

	if (card == NULL || req == NULL || len == 0 || len > WK_WALLET_MSG_MAX ||
	    resp == NULL || rlen == NULL)
		return WK_ERR_ARG;
	rc = wk_card_apdu(card, CLA_WALLET, INS_PAYMENT, p1, p2, req, len, 256,
	    resp, rlen, &s);
	if (sw != NULL)
		*sw = s;
	if (rc != WK_OK)
		return rc;
	/* the request does not carry the card's issuer's signature */
	if (s == 0x6988)
		return WK_ERR_AUTH_FAILED;
	return wk_rc_from_sw(s);
}

int
wk_pay_card_confirm(wk_card *card, const uint8_t *req, size_t len, bool accept,
    uint8_t *conf, size_t *conf_len, uint16_t *sw)
{
	wk_msg m;
	int rc;

	if ((rc = payment_cmd(card, accept ? P1_ACCEPT : P1_DECLINE, P2_SIGNED,
	    req, len, conf, conf_len, sw)) != WK_OK)
		return rc;
	if (wk_msg_parse(conf, *conf_len, &m, NULL, NULL) != WK_MSG_OK ||
	    m.type != WK_MSG_PAY_CONFIRM)
		return WK_ERR_CARD_MALFORMED;
	return WK_OK;
}

static int
ocra_of(const uint8_t *ans, size_t n, char digits[WK_PAY_OCRA_DIGITS + 1],
    uint64_t *t)
{
	if (n != 8 + WK_PAY_OCRA_DIGITS)
		return WK_ERR_CARD_MALFORMED;
	*t = 0;
	for (int i = 0; i < 8; i++)
		*t = (*t << 8) | ans[i];
	for (int i = 0; i < WK_PAY_OCRA_DIGITS; i++) {
		if (ans[8 + i] < '0' || ans[8 + i] > '9')
			return WK_ERR_CARD_MALFORMED;
		digits[i] = (char)ans[8 + i];
	}
	digits[WK_PAY_OCRA_DIGITS] = '\0';
	return WK_OK;
}

int
wk_pay_card_ocra(wk_card *card, const uint8_t *req, size_t len,
    char digits[WK_PAY_OCRA_DIGITS + 1], uint64_t *t, uint16_t *sw)
{
	uint8_t ans[64];
	size_t n = sizeof(ans);
	int rc;

	if (digits == NULL || t == NULL)
		return WK_ERR_ARG;
	if ((rc = payment_cmd(card, P1_ACCEPT, P2_OCRA, req, len, ans, &n, sw)) !=
	    WK_OK)
		return rc;
	return ocra_of(ans, n, digits, t);
}

int
wk_pay_card_answer(wk_card *card, const uint8_t *req, size_t len, bool ocra,
    uint8_t *ans, size_t *ans_len, uint16_t *sw)
{
	return payment_cmd(card, P1_ANSWER, ocra ? P2_OCRA : P2_SIGNED, req, len,
	    ans, ans_len, sw);
}

/* ---- the issuer ---- */

static bool
id_ok(const char *id)
{
	return id != NULL && strlen(id) == WK_PAY_ID_HEX - 1 &&
	    strspn(id, "0123456789abcdef") == WK_PAY_ID_HEX - 1;
}

int
wk_issuer_pay_pending(wk_issuer *is, const char *card_id_hex, int wait,
    wk_pay_request *out, size_t cap, size_t *n)
{
	char path[96], *text = NULL;
	json_t *j = NULL, *v;
	size_t i;
	int rc;

	if (is == NULL || card_id_hex == NULL || strlen(card_id_hex) != 16 ||
	    strspn(card_id_hex, "0123456789abcdefABCDEF") != 16 || out == NULL ||
	    n == NULL || wait < 0 || wait > 20)
		return WK_ERR_ARG;
	*n = 0;
	snprintf(path, sizeof(path), "/v1/cards/%s/payments?wait=%d", card_id_hex,
	    wait);
	if ((rc = wk_issuer_request(is, path, NULL, &text)) != WK_OK)
		return rc;
	rc = WK_ERR_ISSUER;
	if ((j = json_loads(text, 0, NULL)) == NULL ||
	    !json_is_array(json_object_get(j, "payments")))
		goto out;
	json_array_foreach(json_object_get(j, "payments"), i, v) {
		uint8_t msg[WK_WALLET_MSG_MAX];
		const char *s = json_string_value(json_object_get(v, "request"));
		size_t len;

		if (*n == cap)
			break;
		if (s == NULL || sodium_base642bin(msg, sizeof(msg), s, strlen(s),
		    NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    wk_pay_request_parse(msg, len, &out[*n]) != WK_OK)
			continue;	/* one the card would refuse anyway */
		(*n)++;
	}
	rc = WK_OK;
out:
	json_decref(j);
	free(text);
	return rc;
}

/* the codes with which the issuer refused a confirmation and closed the
 * payment (docs/payments.md) */
static bool
closing_refusal(const char *code)
{
	static const char *const codes[] = { "bad_signature", "field_mismatch",
	    "bad_ocra", "card_revoked", "card_certificate", "counter_reused",
	    "insufficient_funds", NULL };

	for (size_t i = 0; codes[i] != NULL; i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}

int
wk_issuer_pay_answer(wk_issuer *is, const char *id, const uint8_t *conf,
    size_t conf_len, const char *digits, uint64_t t, wk_pay_result *out)
{
	char path[96], *body = NULL, *text = NULL;
	json_t *req = NULL, *j = NULL;
	json_int_t amount;
	int rc;

	if (is == NULL || !id_ok(id) || out == NULL ||
	    (conf != NULL && (conf_len == 0 || conf_len > WK_WALLET_MSG_MAX)) ||
	    (digits != NULL && (strlen(digits) != WK_PAY_OCRA_DIGITS ||
	    t > INT64_MAX)))
		return WK_ERR_ARG;
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", id);
	if (conf != NULL)
		req = json_pack("{s:o}", "confirmation", wk_b64_json(conf, conf_len));
	else if (digits != NULL)
		req = json_pack("{s:{s:s, s:I}}", "ocra", "response", digits, "time",
		    (json_int_t)t);
	else
		req = json_pack("{s:b}", "decline", 1);
	if (req == NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		rc = WK_ERR_MEMORY;
		goto out;
	}
	snprintf(path, sizeof(path), "/v1/payments/%s/confirmation", id);
	rc = wk_issuer_request(is, path, body, &text);
	if (rc == WK_ERR_ISSUER && closing_refusal(wk_issuer_error_code(is))) {
		snprintf(out->status, sizeof(out->status), "failed");
		snprintf(out->error, sizeof(out->error), "%s",
		    wk_issuer_error_code(is));
		snprintf(out->message, sizeof(out->message), "%s",
		    wk_issuer_error_message(is));
		rc = WK_OK;
		goto out;
	}
	if (rc != WK_OK)
		goto out;
	rc = WK_ERR_ISSUER;
	if ((j = json_loads(text, 0, NULL)) == NULL ||
	    json_string_value(json_object_get(j, "status")) == NULL)
		goto out;
	snprintf(out->status, sizeof(out->status), "%s",
	    json_string_value(json_object_get(j, "status")));
	if (json_string_value(json_object_get(j, "error")) != NULL)
		snprintf(out->error, sizeof(out->error), "%s",
		    json_string_value(json_object_get(j, "error")));
	if (json_string_value(json_object_get(j, "message")) != NULL)
		snprintf(out->message, sizeof(out->message), "%s",
		    json_string_value(json_object_get(j, "message")));
	amount = json_integer_value(json_object_get(j, "amount"));
	out->amount = amount > 0 && amount <= 0x7FFFFFFF ? (uint32_t)amount : 0;
	rc = WK_OK;
out:
	json_decref(j);
	json_decref(req);
	free(body);
	free(text);
	return rc;
}

/* ---- the relay's memory: an answer not yet posted ----
 * a record "pay-<payment id>" of the flows' state store (wk_flow.h); by
 * default the file pay-<id>.json of the state directory, in the format
 * the relay always wrote: one compact JSON object (format, card_id,
 * payment_id, then confirmation, or ocra and time) */

#define ANSWER_FORMAT "walletkey-pay-answer/1"
#define ANSWER_PREFIX "pay-"
#define ANSWER_NAME (sizeof(ANSWER_PREFIX) - 1 + WK_PAY_ID_HEX)

static int
answer_name(const char *id, char out[ANSWER_NAME])
{
	if (!id_ok(id))
		return -1;
	snprintf(out, ANSWER_NAME, ANSWER_PREFIX "%s", id);
	return 0;
}

/* kept before it is posted: the store's save is whole or nothing (the
 * default files: temporary file, fsync, rename, directory fsync) */
static int
answer_save(const wk_state_store *s, const char *card_id, const char *id,
    bool ocra, const uint8_t *ans, size_t len, const char *digits, uint64_t t)
{
	char name[ANSWER_NAME], *text = NULL;
	json_t *j;
	int rc = WK_ERR_MEMORY;

	if (answer_name(id, name) != 0)
		return WK_ERR_ARG;
	if (ocra)
		j = json_pack("{s:s, s:s, s:s, s:s, s:I}", "format", ANSWER_FORMAT,
		    "card_id", card_id, "payment_id", id, "ocra", digits, "time",
		    (json_int_t)t);
	else
		j = json_pack("{s:s, s:s, s:s, s:o}", "format", ANSWER_FORMAT,
		    "card_id", card_id, "payment_id", id, "confirmation",
		    wk_b64_json(ans, len));
	if (j != NULL && (text = json_dumps(j, JSON_COMPACT)) != NULL)
		rc = s->save(s->arg, name, text, strlen(text)) == 0 ? WK_OK :
		    WK_ERR_IO;
	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	json_decref(j);
	return rc;
}

/* posted: forgotten (a record the store could not remove is posted again
 * next time, and the issuer says it is closed) */
static void
answer_forget(const wk_state_store *s, const char *id)
{
	char name[ANSWER_NAME];

	if (answer_name(id, name) == 0)
		(void)wk_flow_record_remove(s, name);
}

/* ---- the relay ---- */

typedef struct relay {
	wk_ctx *ctx;
	const wk_pay_relay_opts *o;
	wk_pay_confirm_fn confirm;
	wk_pay_progress_fn progress;
	void *arg;
	wk_issuer *is;
	wk_card *card;
	wk_state_store store;	/* answers not yet posted */
	char dir[1024];		/* the default store's directory */
	char card_id[17];
	bool session;		/* the issuer gave the card a token */
	bool issuer_away;
	bool card_away;
	/* requests the holder let pass (no answer): not asked again */
	char skipped[RELAY_BATCH][WK_PAY_ID_HEX];
	size_t n_skipped;
} relay;

static void
emit(relay *r, const wk_pay_event *ev)
{
	if (r->progress != NULL)
		r->progress(r->arg, ev);
}

static bool
stopping(const relay *r)
{
	return r->o->stop != NULL && *r->o->stop != 0;
}

/* the card or the issuer went away: the errors that waiting can mend */
static bool
card_gone(int rc)
{
	return rc == WK_ERR_NO_CARD || rc == WK_ERR_CARD_REMOVED ||
	    rc == WK_ERR_TRANSPORT || rc == WK_ERR_NO_READER || rc == WK_ERR_PCSC;
}

static void
card_close(relay *r)
{
	wk_card_free(&r->card);
}

static void
away(relay *r, const char *what, int rc, int wait)
{
	wk_pay_event ev = { .step = WK_PAY_STEP_WAITING, .rc = rc, .what = what,
	    .retry_in = wait };

	if (strcmp(what, "card") == 0) {
		card_close(r);
		r->card_away = true;
	} else {
		r->issuer_away = true;
	}
	emit(r, &ev);
}

static void
back(relay *r, const char *what, bool *flag)
{
	wk_pay_event ev = { .step = WK_PAY_STEP_BACK, .what = what };

	if (*flag) {
		*flag = false;
		emit(r, &ev);
	}
	(void)r;
}

/* sleeps s seconds, or less when told to stop */
static void
pause_for(relay *r, int s)
{
	for (int i = 0; i < 10 * s && !stopping(r); i++) {
		struct timespec ts = { 0, 100000000L };

		nanosleep(&ts, NULL);
	}
}

static int
card_open(relay *r)
{
	wk_card_info info;
	int rc;

	if (r->card != NULL)
		return WK_OK;
	if ((rc = wk_card_open(r->ctx, r->o->reader, &r->card)) != WK_OK)
		return rc;
	if ((rc = wk_card_get_info(r->card, &info)) != WK_OK) {
		wk_card_free(&r->card);
		return rc;
	}
	{
		char id[17];

		/* another card in the reader: its own session */
		wk_hex_encode(info.serial, sizeof(info.serial), id);
		if (strcmp(id, r->card_id) != 0)
			r->session = false;
		memcpy(r->card_id, id, sizeof(id));
	}
	back(r, "card", &r->card_away);
	return WK_OK;
}

/* the issuer's doors of the card's payments want the card's session
 * (docs/issuer.md "Sessions"): the card signs the issuer's challenge */
static int
session_open(relay *r)
{
	int rc;

	if (r->session)
		return WK_OK;
	if ((rc = wk_issuer_session_open(r->card, r->is, NULL, 0, NULL, NULL)) ==
	    WK_OK)
		r->session = true;
	return rc;
}

/* the issuer no longer takes the token (it expired): a new session */
static bool
unauthorized(relay *r, int rc)
{
	if (rc == WK_ERR_ISSUER && wk_issuer_http_status(r->is) == 401) {
		r->session = false;
		return true;
	}
	return false;
}

static int
post_answer(relay *r, const wk_pay_request *req, const uint8_t *conf,
    size_t len, const char *digits, uint64_t t)
{
	wk_pay_result res;
	wk_pay_event ev = { .step = WK_PAY_STEP_ANSWERED, .req = req,
	    .result = &res };
	int rc;

	ev.step = WK_PAY_STEP_POSTING;
	emit(r, &ev);
	ev.step = WK_PAY_STEP_ANSWERED;
	rc = wk_issuer_pay_answer(r->is, req->id, conf, len, digits, t, &res);
	if (rc == WK_ERR_NETWORK || unauthorized(r, rc))
		return rc;	/* the answer waits in the store */
	back(r, "issuer", &r->issuer_away);
	answer_forget(&r->store, req->id);
	if (rc == WK_ERR_ISSUER) {
		/* closed before (expired, cancelled, answered): say so */
		memset(&res, 0, sizeof(res));
		snprintf(res.id, sizeof(res.id), "%s", req->id);
		snprintf(res.status, sizeof(res.status), "closed");
		snprintf(res.error, sizeof(res.error), "%s",
		    wk_issuer_error_code(r->is));
		snprintf(res.message, sizeof(res.message), "%s",
		    wk_issuer_error_message(r->is));
	} else if (rc != WK_OK) {
		return rc;
	}
	ev.rc = rc;
	emit(r, &ev);
	return WK_OK;
}

/* one saved answer: posted when it is this card's */
static int
post_one(relay *r, const char *name)
{
	uint8_t conf[WK_WALLET_MSG_MAX];
	const char *id, *card, *c, *dg;
	wk_pay_request req;
	json_t *j = NULL;
	size_t len = 0;
	int rc;

	/* a record that cannot be read, or is not an answer, is left as it
	 * is (the card gives its answer again while the request is open) */
	if (wk_flow_record_load(&r->store, name, &j) != WK_OK || j == NULL)
		return WK_OK;
	id = json_string_value(json_object_get(j, "payment_id"));
	card = json_string_value(json_object_get(j, "card_id"));
	c = json_string_value(json_object_get(j, "confirmation"));
	dg = json_string_value(json_object_get(j, "ocra"));
	memset(&req, 0, sizeof(req));
	rc = WK_OK;
	if (id_ok(id) && strcmp(id, name + sizeof(ANSWER_PREFIX) - 1) == 0 &&
	    card != NULL && strcmp(card, r->card_id) == 0 &&
	    (dg != NULL || (c != NULL && sodium_base642bin(conf,
	    sizeof(conf), c, strlen(c), NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0))) {
		snprintf(req.id, sizeof(req.id), "%s", id);
		snprintf(req.card_id, sizeof(req.card_id), "%s", card);
		rc = post_answer(r, &req, c != NULL ? conf : NULL, len, dg,
		    (uint64_t)json_integer_value(json_object_get(j, "time")));
	}
	json_decref(j);
	return rc;
}

/* the answers a killed relay left in the store: posted first */
static int
post_saved(relay *r)
{
	wk_flow_names l;
	int rc;

	if ((rc = wk_flow_record_names(&r->store, ANSWER_PREFIX, &l)) != WK_OK)
		return rc;
	for (size_t i = 0; rc == WK_OK && i < l.n; i++)
		/* pay-<32 hex>: any other name is not the relay's */
		if (strlen(l.name[i]) == ANSWER_NAME - 1 &&
		    id_ok(l.name[i] + sizeof(ANSWER_PREFIX) - 1))
			rc = post_one(r, l.name[i]);
	wk_flow_names_free(&l);
	return rc;
}

static bool
was_skipped(const relay *r, const char *id)
{
	for (size_t i = 0; i < r->n_skipped; i++)
		if (strcmp(r->skipped[i], id) == 0)
			return true;
	return false;
}

/*
 * one request: the card's earlier answer when it has one, else the
 * holder's decision and PIN, then the card's answer, kept in the store,
 * posted
 */
static int
handle(relay *r, const wk_pay_request *req)
{
	uint8_t ans[WK_WALLET_MSG_MAX];
	char pin[64], digits[WK_PAY_OCRA_DIGITS + 1] = "";
	size_t n = sizeof(ans), pin_len = 0;
	uint64_t t = 0;
	wk_pay_event ev = { .req = req };
	wk_pay_decision d = WK_PAY_SKIP;
	uint16_t sw = 0;
	bool ocra = r->o->ocra, signed_now = false;
	int rc, tries = 0;

	if (strcasecmp(req->card_id, r->card_id) != 0 || was_skipped(r, req->id))
		return WK_OK;
	if ((rc = wk_card_begin(r->card)) != WK_OK)
		return rc;
	/* answered before, and the relay stopped before it was posted */
	if ((rc = wk_purse_select(r->card, NULL, 0, NULL)) != WK_OK)
		goto out;
	rc = wk_pay_card_answer(r->card, req->msg, req->msg_len, ocra, ans, &n,
	    &sw);
	if (rc == WK_OK) {
		if (ocra && (rc = ocra_of(ans, n, digits, &t)) != WK_OK)
			goto out;
		goto post;
	}
	if (rc != WK_ERR_NOT_FOUND)
		goto refused;
	(void)wk_card_end(r->card);
	/* the holder decides (outside the card's transaction: that takes time) */
	ev.step = WK_PAY_STEP_ASK;
	emit(r, &ev);
	for (;;) {
		pin_len = 0;
		d = r->confirm(r->arg, req, pin, sizeof(pin), &pin_len);
		if (d == WK_PAY_SKIP) {
			ev.step = WK_PAY_STEP_SKIPPED;
			emit(r, &ev);
			if (r->n_skipped < RELAY_BATCH)
				snprintf(r->skipped[r->n_skipped++], WK_PAY_ID_HEX, "%s",
				    req->id);
			rc = WK_OK;
			goto wipe;
		}
		/* an OCRA decline needs no card */
		if (d == WK_PAY_DECLINE && ocra) {
			rc = post_answer(r, req, NULL, 0, NULL, 0);
			goto wipe;
		}
		if ((rc = wk_card_begin(r->card)) != WK_OK)
			goto wipe;
		if ((rc = wk_purse_select(r->card, NULL, 0, NULL)) != WK_OK)
			goto out;
		rc = wk_purse_verify_pin(r->card, pin, pin_len, &ev.tries_left);
		sodium_memzero(pin, sizeof(pin));
		if (rc == WK_ERR_WRONG_PIN && ++tries < 3) {
			(void)wk_card_end(r->card);
			ev.step = WK_PAY_STEP_PIN_WRONG;
			emit(r, &ev);
			continue;
		}
		if (rc != WK_OK)
			goto refused;
		break;
	}
	n = sizeof(ans);
	if (ocra)
		rc = wk_pay_card_ocra(r->card, req->msg, req->msg_len, digits, &t,
		    &sw);
	else
		rc = wk_pay_card_confirm(r->card, req->msg, req->msg_len,
		    d == WK_PAY_ACCEPT, ans, &n, &sw);
	if (rc != WK_OK)
		goto refused;
	signed_now = true;
post:
	(void)wk_card_end(r->card);
	if (signed_now) {
		ev.step = WK_PAY_STEP_SIGNED;
		emit(r, &ev);
	}
	if ((rc = answer_save(&r->store, r->card_id, req->id, ocra, ans, n,
	    digits, t)) != WK_OK)
		goto wipe;
	rc = post_answer(r, req, ocra ? NULL : ans, n, ocra ? digits : NULL, t);
	goto wipe;
refused:
	if (!card_gone(rc)) {
		ev.step = WK_PAY_STEP_REFUSED;
		ev.rc = rc;
		ev.sw = sw;
		emit(r, &ev);
		/* a request the card refuses is not put again */
		if (r->n_skipped < RELAY_BATCH)
			snprintf(r->skipped[r->n_skipped++], WK_PAY_ID_HEX, "%s",
			    req->id);
		rc = WK_OK;
	}
out:
	if (r->card != NULL)
		(void)wk_card_end(r->card);
wipe:
	sodium_memzero(pin, sizeof(pin));
	sodium_memzero(digits, sizeof(digits));
	return rc;
}

int
wk_pay_relay(wk_ctx *ctx, const wk_pay_relay_opts *o,
    wk_pay_confirm_fn confirm, wk_pay_progress_fn progress, void *arg)
{
	wk_pay_request *list;
	relay r;
	int rc, delay = 1;
	bool first = true, reauth;

	if (ctx == NULL || o == NULL || o->issuer_url == NULL || confirm == NULL ||
	    o->wait < 0 || o->wait > 20)
		return WK_ERR_ARG;
	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.o = o;
	r.confirm = confirm;
	r.progress = progress;
	r.arg = arg;
	/* the store of answers not yet posted: the caller's, or the files of
	 * the state directory */
	if ((rc = wk_flow_store(o->store, o->state_dir, &r.store, r.dir,
	    sizeof(r.dir))) != WK_OK)
		return rc;
	if (r.store.list == NULL)
		return WK_ERR_ARG;
	if ((list = calloc(RELAY_BATCH, sizeof(*list))) == NULL)
		return WK_ERR_MEMORY;
	if ((rc = wk_issuer_new(o->issuer_url, &r.is)) != WK_OK) {
		free(list);
		return rc;
	}
	while (!stopping(&r)) {
		wk_pay_event ev = { .step = WK_PAY_STEP_LIST };
		size_t n = 0;
		int wait = o->watch ? 20 : first ? o->wait : 0;

		if ((rc = card_open(&r)) != WK_OK) {
			if (!o->watch || !card_gone(rc))
				break;
			away(&r, "card", rc, delay);
			goto again;
		}
		if ((rc = session_open(&r)) != WK_OK) {
			if (!o->watch || (rc != WK_ERR_NETWORK && !card_gone(rc)))
				break;
			away(&r, rc == WK_ERR_NETWORK ? "issuer" : "card", rc, delay);
			goto again;
		}
		if ((rc = post_saved(&r)) != WK_OK) {
			if (unauthorized(&r, rc))
				continue;
			if (!o->watch || rc != WK_ERR_NETWORK)
				break;
			away(&r, "issuer", rc, delay);
			goto again;
		}
		rc = wk_issuer_pay_pending(r.is, r.card_id, wait, list, RELAY_BATCH,
		    &n);
		if (rc != WK_OK) {
			if (unauthorized(&r, rc))
				continue;
			if (!o->watch || rc != WK_ERR_NETWORK)
				break;
			away(&r, "issuer", rc, delay);
			goto again;
		}
		back(&r, "issuer", &r.issuer_away);
		first = false;
		delay = 1;
		ev.list = list;
		ev.n = n;
		emit(&r, &ev);
		reauth = false;
		for (size_t i = 0; i < n && !stopping(&r); i++) {
			if ((rc = handle(&r, &list[i])) == WK_OK)
				continue;
			/* a new session; the answer waits in the store */
			if ((reauth = unauthorized(&r, rc)))
				break;
			if (!o->watch)
				goto done;
			if (card_gone(rc))
				away(&r, "card", rc, delay);
			else if (rc == WK_ERR_NETWORK)
				away(&r, "issuer", rc, delay);
			else
				goto done;
			goto again;
		}
		if (reauth)
			continue;
		rc = WK_OK;
		if (!o->watch)
			break;
		continue;
again:
		pause_for(&r, delay);
		delay = delay * 2 > RETRY_MAX ? RETRY_MAX : delay * 2;
	}
	if (stopping(&r))
		rc = WK_OK;
done:
	/* the issuer's reason, when it is why the relay stops */
	if (rc == WK_ERR_ISSUER) {
		wk_pay_event ev = { .step = WK_PAY_STEP_STOPPED, .rc = rc,
		    .what = "issuer", .error = wk_issuer_error_code(r.is),
		    .message = wk_issuer_error_message(r.is) };

		emit(&r, &ev);
	}
	free(list);
	card_close(&r);
	wk_issuer_free(&r.is);
	return rc;
}
