/*
 * online payments at the issuer (issuer/iss_pay.c, docs/payments.md)
 * against a real database (SQLite, or PostgreSQL under with_pg.sh) and the
 * issuer's HTTP server, with simulated cards (sim_card.c) and merchants:
 * merchant credentials, the request the card sees, payment in one
 * transaction, every refusal (bad signature, each differing field,
 * expired, replayed, declined, revoked card, missing funds, a reused
 * counter, a bad OCRA response), every flipped byte of a confirmation,
 * another card's confirmation, concurrent confirmations, cancel, the long
 * polls, the signed webhook; money is conserved after each, and no payment
 * is both refused and paid, or paid twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "iss.h"
#include "sim_card.h"
#include "wk_hex.h"
#include "wk_payment.h"

#define PW "password1"
#define PAN_A "6222000000000011"
#define PAN_B "6222000000000012"
#define PAN_POOR "6222000000000013"
#define PAN_NOCARD "6222000000000014"
#define DEP_A 1000000
#define DEP_B 1000000
#define DEP_POOR 100
#define SHOP "00000000a001"
#define SHOP2 "00000000a002"

static struct {
	char dir[128];
	char url[512];
	char key[160];
	char mfg_pem[160];
	iss_db *db;
	iss *is;
	iss_server *srv;
	sim_http *h;
	char base[64];
	char auth[128];		/* "Authorization: Bearer wkm_..." of SHOP */
	char auth2[128];	/* of SHOP2 */
	sim_card *a, *b, *poor;
	int64_t deposits;
} T;

#include "testbed.h"

/* ---- HTTP with a merchant's or nobody's credential ---- */

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	wk_buf *b = arg;

	wk_buf_add(b, p, size * n);
	return size * n;
}

static long
call(const char *method, const char *path, const char *auth, json_t *body,
    json_t **resp)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[512], *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	wk_buf b;
	long st = -1;

	*resp = NULL;
	wk_buf_init_heap(&b, 1 << 20);
	snprintf(url, sizeof(url), "%s%s", T.base, path);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (auth != NULL)
		h = curl_slist_append(h, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (text != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
		*resp = json_loadb((const char *)b.p, b.len, 0, NULL);
		if (*resp == NULL && getenv("DBG"))
			fprintf(stderr, "raw %ld: %.*s\n", st, (int)b.len, (const char *)b.p);
	}
	free(text);
	wk_buf_clear(&b);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return st;
}

static const char *
str(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

/* resp by address: it is read after the call in the same argument list */
static void
expect(long st, json_t **respp, long want, const char *code)
{
	json_t *resp = *respp;

	if (st != want || (code != NULL && (str(resp, "error") == NULL ||
	    strcmp(str(resp, "error"), code) != 0))) {
		char *d = resp ? json_dumps(resp, JSON_COMPACT) : NULL;

		fail_msg("got %ld %s, want %ld %s", st, d ? d : "-", want,
		    code ? code : "");
	}
}

/* ---- the books ---- */

static int64_t
q_int(const char *sql)
{
	iss_res *r = NULL;
	int64_t v;

	assert_int_equal(iss_db_exec(T.db, sql, NULL, 0, &r), ISS_DB_OK);
	v = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	return v;
}

static int64_t
balance_of(const char *pan)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT balance FROM accounts WHERE pan = '%s'",
	    pan);
	return q_int(sql);
}

static int64_t
merchant_balance(const char *terminal)
{
	char sql[200];

	snprintf(sql, sizeof(sql), "SELECT a.balance FROM merchants m JOIN accounts"
	    " a ON a.id = m.account_id WHERE m.terminal_id = '%s'", terminal);
	return q_int(sql);
}

/* customers + merchants hold the deposits; the merchants exactly the paid
 * payments; every payment paid once at most, by one balanced movement */
static void
conserved(void)
{
	assert_int_equal(q_int("SELECT SUM(balance) FROM accounts WHERE kind <>"
	    " 'external'"), T.deposits);
	assert_int_equal(q_int("SELECT SUM(balance) FROM accounts"), 0);
	assert_int_equal(q_int("SELECT COALESCE(SUM(balance), 0) FROM accounts"
	    " WHERE kind = 'merchant'"), q_int("SELECT COALESCE(SUM(amount), 0)"
	    " FROM payments WHERE status = 'paid'"));
	assert_int_equal(q_int("SELECT COUNT(*) FROM txns WHERE kind ="
	    " 'payment'"), q_int("SELECT COUNT(*) FROM payments WHERE status ="
	    " 'paid'"));
	assert_int_equal(q_int("SELECT COUNT(*) FROM (SELECT ref FROM txns WHERE"
	    " kind = 'payment' GROUP BY ref HAVING COUNT(*) > 1) x"), 0);
	assert_int_equal(q_int("SELECT COUNT(*) FROM (SELECT txn_id FROM entries"
	    " GROUP BY txn_id HAVING SUM(amount) <> 0 OR COUNT(*) <> 2) x"), 0);
	/* a closed payment has its one oplog line of how it closed */
	assert_int_equal(q_int("SELECT COUNT(*) FROM payments p WHERE p.status <>"
	    " 'pending' AND (SELECT COUNT(*) FROM oplog o WHERE o.load_id = p.id"
	    " AND o.kind <> 'payment.request') <> 1"), 0);
}

/* ---- fixtures ---- */

static void
merchant(const char *terminal, const char *name, char *auth)
{
	iss_err e = { 0 };
	int64_t id;
	char key[96];

	assert_int_equal(iss_merchant_create(T.db, terminal, name, &id, &e), 0);
	assert_int_equal(iss_merchant_key_new(T.db, terminal, key, sizeof(key),
	    &e), 0);
	snprintf(auth, 128, "Authorization: Bearer %s", key);
}

static int
setup(void **state)
{
	char err[512];
	iss_unlock u = { 0 };
	iss_err e = { 0 };
	int64_t id;
	size_t added = 0;

	(void)state;
	memset(&T, 0, sizeof(T));
	if (testbed_begin("wk-pay-test") != 0)
		return -1;
	u.key_file = T.key;
	if (sim_factory_init(T.mfg_pem) != 0 ||
	    iss_db_open(T.url, &T.db, err, sizeof(err)) != 0 ||
	    iss_schema_migrate(T.db, err, sizeof(err)) != 0 ||
	    iss_keys_create(T.db, &u, ISS_DEFAULT_CEILING, err, sizeof(err)) != 0 ||
	    iss_mfg_add(T.db, &u, T.mfg_pem, &added, err, sizeof(err)) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	if (iss_account_create(T.db, PAN_A, "Alice", PW, &id, &e) != 0 ||
	    iss_account_create(T.db, PAN_B, "Bob", PW, &id, &e) != 0 ||
	    iss_account_create(T.db, PAN_POOR, "Poor", PW, &id, &e) != 0 ||
	    iss_account_create(T.db, PAN_NOCARD, "Nocard", PW, &id, &e) != 0 ||
	    iss_deposit(T.db, PAN_A, DEP_A, &e) != 0 ||
	    iss_deposit(T.db, PAN_B, DEP_B, &e) != 0 ||
	    iss_deposit(T.db, PAN_POOR, DEP_POOR, &e) != 0) {
		fprintf(stderr, "setup: %s\n", e.message);
		return -1;
	}
	T.deposits = DEP_A + DEP_B + DEP_POOR;
	merchant(SHOP, "Book shop \xe4\xb9\xa6\xe5\xba\x97", T.auth);
	merchant(SHOP2, "Other shop", T.auth2);
	if (testbed_serve(&u) != 0)
		return -1;
	if (sim_http_new(T.base, &T.h) != 0 ||
	    sim_card_new(PAN_A, &T.a) != 0 || sim_enrol(T.h, T.a, PW, NULL) != 200 ||
	    sim_card_new(PAN_B, &T.b) != 0 || sim_enrol(T.h, T.b, PW, NULL) != 200 ||
	    sim_card_new(PAN_POOR, &T.poor) != 0 ||
	    sim_enrol(T.h, T.poor, PW, NULL) != 200) {
		fprintf(stderr, "setup: enrolment failed\n");
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	sim_card_free(&T.a);
	sim_card_free(&T.b);
	sim_card_free(&T.poor);
	testbed_end();
	return 0;
}

/* ---- the cards' sessions (docs/issuer.md "Sessions") ---- */

static struct {
	char card[17];
	char auth[SIM_TOKEN_MAX + 32];
} tokens[16];

/* "Authorization: Bearer <the card's session token>" */
static const char *
card_auth(sim_card *c)
{
	char tok[SIM_TOKEN_MAX];
	size_t i;

	for (i = 0; i < 16 && tokens[i].card[0] != '\0'; i++)
		if (strcmp(tokens[i].card, c->id_hex) == 0)
			return tokens[i].auth;
	assert_true(i < 16);
	assert_int_equal(sim_session(T.h, c, WK_MSG_SCOPE_CARD, tok), 200);
	snprintf(tokens[i].card, sizeof(tokens[i].card), "%s", c->id_hex);
	snprintf(tokens[i].auth, sizeof(tokens[i].auth),
	    "Authorization: Bearer %s", tok);
	return tokens[i].auth;
}

/* ---- steps ---- */

static int order_no;
static char last_order[32];

/* a new payment of amount from payer; its id into id (33) */
static void
create(const char *auth, const char *payer, int64_t amount, int expires_in,
    char *id)
{
	char order[32];
	json_t *req, *resp = NULL;
	long st;

	snprintf(order, sizeof(order), "order-%d", ++order_no);
	snprintf(last_order, sizeof(last_order), "%s", order);
	req = json_pack("{s:s, s:s, s:s, s:I, s:s, s:i}", "payer", payer,
	    "order_id", order, "description", "two books", "amount",
	    (json_int_t)amount, "currency", "CNY", "expires_in", expires_in);
	st = call("POST", "/v1/payments", auth, req, &resp);
	expect(st, &resp, 200, NULL);
	assert_string_equal(str(resp, "status"), "pending");
	snprintf(id, 33, "%s", str(resp, "payment_id"));
	json_decref(req);
	json_decref(resp);
}

/* the card's view: the signed request of payment id, from the relay's list */
static size_t
fetch_request(sim_card *c, const char *id, uint8_t *req)
{
	char path[128];
	json_t *resp = NULL, *v;
	size_t i, n = 0;

	snprintf(path, sizeof(path), "/v1/cards/%s/payments", c->id_hex);
	expect(call("GET", path, card_auth(c), NULL, &resp), &resp, 200, NULL);
	json_array_foreach(json_object_get(resp, "payments"), i, v) {
		if (strcmp(str(v, "payment_id"), id) == 0) {
			long l = sim_unb64(json_object_get(v, "request"), req,
			    WK_MSG_MAX);

			assert_true(l > 0);
			n = (size_t)l;
		}
	}
	json_decref(resp);
	return n;
}

/* the card whose payment this test posts for (card A unless set) */
static sim_card *poster;

static long
post_confirmation(const char *id, const uint8_t *m, size_t len, json_t **resp)
{
	char path[128];
	json_t *req = json_pack("{s:o}", "confirmation", wk_b64_json(m, len));
	long st;

	snprintf(path, sizeof(path), "/v1/payments/%s/confirmation", id);
	st = call("POST", path, card_auth(poster != NULL ? poster : T.a), req,
	    resp);
	json_decref(req);
	return st;
}

static const char *
status_of(const char *id, json_t **keep)
{
	char path[128];
	json_t *resp = NULL;

	snprintf(path, sizeof(path), "/v1/payments/%s", id);
	expect(call("GET", path, T.auth, NULL, &resp), &resp, 200, NULL);
	json_decref(*keep);
	*keep = resp;
	return str(resp, "status");
}

/* ---- tests ---- */

static void
test_merchant_auth(void **state)
{
	json_t *req, *resp = NULL, *keep = NULL;
	char id[33], path[128], key[96];
	iss_err e = { 0 };

	(void)state;
	req = json_pack("{s:s, s:s, s:i}", "payer", PAN_A, "order_id", "x",
	    "amount", 1);
	expect(call("POST", "/v1/payments", NULL, req, &resp), &resp, 401,
	    "merchant_auth_required");
	json_decref(resp);
	expect(call("POST", "/v1/payments", "Authorization: Bearer wkm_"
	    "0123456789abcdef_notthekeynotthekey", req, &resp), &resp, 401,
	    "bad_api_key");
	json_decref(resp);
	expect(call("POST", "/v1/payments", "Authorization: Bearer nonsense", req,
	    &resp), &resp, 401, "merchant_auth_required");
	json_decref(resp);
	/* a changed secret of a real key */
	{
		char bad[128];

		snprintf(bad, sizeof(bad), "%s", T.auth);
		bad[strlen(bad) - 1] ^= 1;
		expect(call("POST", "/v1/payments", bad, req, &resp), &resp, 401,
		    "bad_api_key");
		json_decref(resp);
	}
	json_decref(req);
	/* another merchant's payment is not found, nor can it be cancelled */
	create(T.auth, PAN_A, 100, 300, id);
	snprintf(path, sizeof(path), "/v1/payments/%s", id);
	expect(call("GET", path, T.auth2, NULL, &resp), &resp, 404,
	    "payment_not_found");
	json_decref(resp);
	snprintf(path, sizeof(path), "/v1/payments/%s/cancel", id);
	expect(call("POST", path, T.auth2, json_object(), &resp), &resp, 404,
	    "payment_not_found");
	json_decref(resp);
	assert_string_equal(status_of(id, &keep), "pending");
	/* a revoked key stops working */
	assert_int_equal(iss_merchant_key_new(T.db, SHOP2, key, sizeof(key), &e), 0);
	{
		char kid[17], auth[128];

		memcpy(kid, key + 4, 16);
		kid[16] = '\0';
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
		expect(call("GET", path, auth, NULL, &resp), &resp, 405, NULL);
		json_decref(resp);
		snprintf(path, sizeof(path), "/v1/payments/%s", id);
		expect(call("GET", path, auth, NULL, &resp), &resp, 404, NULL);
		json_decref(resp);
		assert_int_equal(iss_merchant_key_revoke(T.db, kid, &e), 0);
		expect(call("GET", path, auth, NULL, &resp), &resp, 401,
		    "bad_api_key");
		json_decref(resp);
	}
	json_decref(keep);
	conserved();
}

static void
test_bad_requests(void **state)
{
	static const char *const bodies[] = {
		"{}", "[]", "{\"payer\":1}",
		"{\"payer\":\"" PAN_A "\",\"order_id\":\"o\",\"amount\":0}",
		"{\"payer\":\"" PAN_A "\",\"order_id\":\"o\",\"amount\":2147483648}",
		"{\"payer\":\"" PAN_A "\",\"order_id\":\"o\",\"amount\":1.5}",
		"{\"payer\":\"" PAN_A "\",\"order_id\":\"\",\"amount\":1}",
		"{\"payer\":\"" PAN_A "\",\"order_id\":\"o\\u001b[2K\",\"amount\":1}",
		"{\"payer\":\"" PAN_A "\",\"order_id\":\"o\",\"amount\":1,"
		"\"description\":\"\\u202e0.01\"}",
		"{\"payer\":\"" PAN_A "\",\"order_id\":\"o\",\"amount\":1,"
		"\"description\":\"a\\u0000b\"}",
		"{\"payer\":\"" PAN_A "\",\"order_id\":\"o\",\"amount\":1,"
		"\"currency\":\"cny\"}",
		"{\"payer\":\"" PAN_A "\",\"order_id\":\"o\",\"amount\":1,"
		"\"expires_in\":0}",
		"{\"payer\":\"" PAN_A "\",\"order_id\":\"o\",\"amount\":1,"
		"\"expires_in\":99999999}",
		"{\"payer\":\"" PAN_A "\",\"order_id\":\"o\",\"amount\":1,"
		"\"color\":\"red\"}",
	};
	json_t *req, *resp = NULL;
	int64_t before = q_int("SELECT COUNT(*) FROM payments");

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		json_error_t je;
		long st;

		req = json_loads(bodies[i], 0, &je);
		st = call("POST", "/v1/payments", T.auth, req, &resp);
		if (st != 400)
			fail_msg("%s: %ld", bodies[i], st);
		assert_non_null(str(resp, "error"));
		json_decref(resp);
		json_decref(req);
	}
	req = json_pack("{s:s, s:s, s:i, s:s}", "payer", PAN_A, "order_id", "o",
	    "amount", 1, "currency", "USD");
	expect(call("POST", "/v1/payments", T.auth, req, &resp), &resp, 422,
	    "unsupported_currency");
	json_decref(resp);
	json_decref(req);
	req = json_pack("{s:s, s:s, s:i, s:s}", "payer", PAN_A, "order_id", "o",
	    "amount", 1, "payee", SHOP2);
	expect(call("POST", "/v1/payments", T.auth, req, &resp), &resp, 403,
	    "wrong_payee");
	json_decref(resp);
	json_decref(req);
	req = json_pack("{s:s, s:s, s:i}", "payer", "6222999999999999",
	    "order_id", "o", "amount", 1);
	expect(call("POST", "/v1/payments", T.auth, req, &resp), &resp, 404,
	    "payer_not_found");
	json_decref(resp);
	json_decref(req);
	req = json_pack("{s:s, s:s, s:i}", "payer", "no-such-alias",
	    "order_id", "o", "amount", 1);
	expect(call("POST", "/v1/payments", T.auth, req, &resp), &resp, 404,
	    "payer_not_found");
	json_decref(resp);
	json_decref(req);
	req = json_pack("{s:s, s:s, s:i}", "payer", PAN_NOCARD, "order_id", "o",
	    "amount", 1);
	expect(call("POST", "/v1/payments", T.auth, req, &resp), &resp, 422,
	    "payer_has_no_card");
	json_decref(resp);
	json_decref(req);
	/* bad ids and methods */
	expect(call("GET", "/v1/payments/zz", T.auth, NULL, &resp), &resp, 404,
	    "payment_not_found");
	json_decref(resp);
	expect(call("DELETE", "/v1/payments", T.auth, NULL, &resp), &resp, 405,
	    NULL);
	json_decref(resp);
	expect(call("GET", "/v1/cards/xyz/payments", NULL, NULL, &resp), &resp, 404,
	    NULL);
	json_decref(resp);
	expect(call("GET", "/v1/payments/00000000000000000000000000000000?wait=x",
	    T.auth, NULL, &resp), &resp, 400, "bad_wait");
	json_decref(resp);
	assert_int_equal(q_int("SELECT COUNT(*) FROM payments"), before);
	conserved();
}

static void
test_pay(void **state)
{
	uint8_t req[WK_MSG_MAX];
	char id[33], again[33], path[128];
	json_t *resp = NULL, *keep = NULL, *body;
	wk_msg q;
	wk_buf conf;
	size_t n;
	int64_t a0 = balance_of(PAN_A), m0 = merchant_balance(SHOP);

	(void)state;
	create(T.auth, PAN_A, 12345, 300, id);
	/* the same order again: the same payment; other details: refused */
	body = json_pack("{s:s, s:s, s:s, s:I, s:s, s:i}", "payer", PAN_A,
	    "order_id", last_order, "description", "two books", "amount",
	    (json_int_t)12345, "currency", "CNY", "expires_in", 300);
	expect(call("POST", "/v1/payments", T.auth, body, &resp), &resp, 200, NULL);
	snprintf(again, sizeof(again), "%s", str(resp, "payment_id"));
	json_decref(resp);
	json_object_set_new(body, "amount", json_integer(12346));
	expect(call("POST", "/v1/payments", T.auth, body, &resp), &resp, 409,
	    "order_exists");
	json_decref(resp);
	json_decref(body);
	/* the request as the card sees it: the issuer's, with every field */
	n = fetch_request(T.a, id, req);
	assert_true(n > 0);
	assert_int_equal(wk_msg_verify(req, n, T.a->anchor, &q), WK_MSG_OK);
	assert_int_equal(q.type, WK_MSG_PAY_REQUEST);
	assert_memory_equal(q.card_id, T.a->id, 8);
	assert_string_equal(q.pan, PAN_A);
	assert_string_equal(q.payee_name, "Book shop \xe4\xb9\xa6\xe5\xba\x97");
	assert_int_equal(q.amount, 12345);
	assert_string_equal(q.currency, "CNY");
	assert_string_equal(q.description, "two books");
	{
		char h[33];

		wk_hex_encode(q.load_id, 16, h);
		assert_string_equal(h, id);
	}
	/* nothing for another card; no list without the card's session, nor
	 * with another card's */
	assert_int_equal(fetch_request(T.b, id, req + 0), 0);
	{
		char p2[128];

		snprintf(p2, sizeof(p2), "/v1/cards/%s/payments", T.a->id_hex);
		expect(call("GET", p2, NULL, NULL, &resp), &resp, 401, NULL);
		json_decref(resp);
		expect(call("GET", p2, T.auth, NULL, &resp), &resp, 401, NULL);
		json_decref(resp);
		expect(call("GET", p2, card_auth(T.b), NULL, &resp), &resp, 403,
		    NULL);
		json_decref(resp);
	}
	n = fetch_request(T.a, id, req);
	wk_buf_init_heap(&conf, WK_MSG_MAX);
	assert_int_equal(sim_card_pay(T.a, req, n, true, &conf), 0);
	/* the card's own session posts it, no other */
	poster = T.b;
	expect(post_confirmation(id, conf.p, conf.len, &resp), &resp, 403, NULL);
	json_decref(resp);
	poster = NULL;
	assert_string_equal(status_of(id, &keep), "pending");
	expect(post_confirmation(id, conf.p, conf.len, &resp), &resp, 200, NULL);
	assert_string_equal(str(resp, "status"), "paid");
	json_decref(resp);
	assert_int_equal(balance_of(PAN_A), a0 - 12345);
	assert_int_equal(merchant_balance(SHOP), m0 + 12345);
	assert_string_equal(status_of(id, &keep), "paid");
	assert_string_equal(str(keep, "method"), "signature");
	conserved();
	/* replayed: the same answer, nothing moves */
	expect(post_confirmation(id, conf.p, conf.len, &resp), &resp, 200, NULL);
	assert_string_equal(str(resp, "status"), "paid");
	json_decref(resp);
	assert_int_equal(balance_of(PAN_A), a0 - 12345);
	/* another answer for it, a decline, the relay's decline: closed */
	wk_buf_reset(&conf);
	assert_int_equal(sim_card_pay(T.a, req, n, false, &conf), 0);
	expect(post_confirmation(id, conf.p, conf.len, &resp), &resp, 409,
	    "payment_closed");
	json_decref(resp);
	snprintf(path, sizeof(path), "/v1/payments/%s/confirmation", id);
	body = json_pack("{s:b}", "decline", 1);
	expect(call("POST", path, card_auth(T.a), body, &resp), &resp, 409, "payment_closed");
	json_decref(resp);
	json_decref(body);
	/* a paid payment is not cancelled */
	snprintf(path, sizeof(path), "/v1/payments/%s/cancel", id);
	expect(call("POST", path, T.auth, json_object(), &resp), &resp, 409,
	    "payment_closed");
	json_decref(resp);
	assert_string_equal(again, id);
	assert_int_equal(balance_of(PAN_A), a0 - 12345);
	assert_string_equal(status_of(id, &keep), "paid");
	json_decref(keep);
	wk_buf_clear(&conf);
	conserved();
}

/* a payment that must end refused with code, moving nothing */
static void
refused(const char *id, const uint8_t *m, size_t len, long want,
    const char *code)
{
	int64_t a = balance_of(PAN_A), m0 = merchant_balance(SHOP);
	json_t *resp = NULL, *keep = NULL;

	expect(post_confirmation(id, m, len, &resp), &resp, want, code);
	json_decref(resp);
	assert_int_equal(balance_of(PAN_A), a);
	assert_int_equal(merchant_balance(SHOP), m0);
	assert_string_equal(status_of(id, &keep), strcmp(code, "declined") == 0 ?
	    "declined" : "failed");
	assert_string_equal(str(keep, "error"), code);
	assert_non_null(str(keep, "message"));
	json_decref(keep);
	conserved();
}

/* signs a confirmation of request with the fields after fix(...) */
static void
forged(sim_card *c, EVP_PKEY *key, const uint8_t *req, size_t n,
    void (*fix)(wk_msg *), wk_buf *out)
{
	wk_msg q, conf;

	assert_int_equal(wk_msg_verify(req, n, c->anchor, &q), WK_MSG_OK);
	wk_payment_confirmation(&q, WK_MSG_ACCEPTED, ++c->pay_counter, &conf);
	if (fix != NULL)
		fix(&conf);
	wk_buf_reset(out);
	assert_int_equal(wk_msg_sign(&conf, key, out), WK_MSG_OK);
}

static void fix_amount(wk_msg *m) { m->amount += 1; }
static void fix_payee(wk_msg *m) { m->terminal_id[5] ^= 1; }
static void fix_digest(wk_msg *m) { m->digest[0] ^= 1; }
static void fix_pan(wk_msg *m) { strcpy(m->pan, PAN_B); }
static void fix_id(wk_msg *m) { m->load_id[3] ^= 1; }
static void fix_card(wk_msg *m) { m->card_id[0] ^= 1; }
static void fix_currency(wk_msg *m) { strcpy(m->currency, "USD"); }
static void fix_expiry(wk_msg *m) { m->expiry += 3600; }

static void
test_refusals(void **state)
{
	void (*const fixes[])(wk_msg *) = { fix_amount, fix_payee, fix_digest,
	    fix_pan, fix_id, fix_card, fix_currency, fix_expiry };
	uint8_t req[WK_MSG_MAX];
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char id[33];
	wk_buf conf;
	size_t n;

	(void)state;
	wk_buf_init_heap(&conf, WK_MSG_MAX);
	/* a relay that changed a field: signed by the card, refused */
	for (size_t i = 0; i < sizeof(fixes) / sizeof(fixes[0]); i++) {
		create(T.auth, PAN_A, 500, 300, id);
		n = fetch_request(T.a, id, req);
		forged(T.a, T.a->key, req, n, fixes[i], &conf);
		refused(id, conf.p, conf.len, 409, "field_mismatch");
	}
	/* signed by another key, or by another card */
	create(T.auth, PAN_A, 500, 300, id);
	n = fetch_request(T.a, id, req);
	forged(T.a, other, req, n, NULL, &conf);
	refused(id, conf.p, conf.len, 403, "bad_signature");
	create(T.auth, PAN_A, 500, 300, id);
	n = fetch_request(T.a, id, req);
	forged(T.a, T.b->key, req, n, NULL, &conf);
	refused(id, conf.p, conf.len, 403, "bad_signature");
	/* declined on the card */
	create(T.auth, PAN_A, 500, 300, id);
	n = fetch_request(T.a, id, req);
	wk_buf_reset(&conf);
	assert_int_equal(sim_card_pay(T.a, req, n, false, &conf), 0);
	{
		json_t *resp = NULL, *keep = NULL;
		int64_t a = balance_of(PAN_A);

		expect(post_confirmation(id, conf.p, conf.len, &resp), &resp, 200,
		    NULL);
		assert_string_equal(str(resp, "status"), "declined");
		json_decref(resp);
		assert_string_equal(status_of(id, &keep), "declined");
		assert_string_equal(str(keep, "error"), "declined");
		json_decref(keep);
		assert_int_equal(balance_of(PAN_A), a);
	}
	/* a counter used before: a copied card */
	create(T.auth, PAN_A, 500, 300, id);
	n = fetch_request(T.a, id, req);
	T.a->pay_counter--;
	wk_buf_reset(&conf);
	assert_int_equal(sim_card_pay(T.a, req, n, true, &conf), 0);
	refused(id, conf.p, conf.len, 409, "counter_reused");
	/* missing funds */
	{
		uint8_t preq[WK_MSG_MAX];
		int64_t p0 = balance_of(PAN_POOR);
		json_t *resp = NULL, *keep = NULL;

		poster = T.poor;
		create(T.auth, PAN_POOR, DEP_POOR + 1, 300, id);
		n = fetch_request(T.poor, id, preq);
		wk_buf_reset(&conf);
		assert_int_equal(sim_card_pay(T.poor, preq, n, true, &conf), 0);
		expect(post_confirmation(id, conf.p, conf.len, &resp), &resp, 422,
		    "insufficient_funds");
		json_decref(resp);
		assert_string_equal(status_of(id, &keep), "failed");
		assert_string_equal(str(keep, "error"), "insufficient_funds");
		json_decref(keep);
		assert_int_equal(balance_of(PAN_POOR), p0);
		conserved();
		/* what it holds exactly: paid */
		create(T.auth, PAN_POOR, DEP_POOR, 300, id);
		n = fetch_request(T.poor, id, preq);
		wk_buf_reset(&conf);
		assert_int_equal(sim_card_pay(T.poor, preq, n, true, &conf), 0);
		expect(post_confirmation(id, conf.p, conf.len, &resp), &resp, 200,
		    NULL);
		json_decref(resp);
		assert_int_equal(balance_of(PAN_POOR), 0);
		poster = NULL;
	}
	EVP_PKEY_free(other);
	wk_buf_clear(&conf);
	conserved();
}

static void
test_flipped_confirmations(void **state)
{
	uint8_t req[WK_MSG_MAX];
	char id[33];
	wk_buf conf;
	size_t n, len;
	int64_t a0 = balance_of(PAN_A);

	(void)state;
	wk_buf_init_heap(&conf, WK_MSG_MAX);
	create(T.auth, PAN_A, 700, 300, id);
	n = fetch_request(T.a, id, req);
	assert_int_equal(sim_card_pay(T.a, req, n, true, &conf), 0);
	len = conf.len;
	for (size_t i = 0; i < len; i++) {
		json_t *resp = NULL, *keep = NULL;
		long st;

		conf.p[i] ^= 0x01;
		st = post_confirmation(id, conf.p, len, &resp);
		conf.p[i] ^= 0x01;
		json_decref(resp);
		assert_int_equal(balance_of(PAN_A), a0);
		if (st == 400) {
			/* unreadable: the payment waits on */
			assert_string_equal(status_of(id, &keep), "pending");
			json_decref(keep);
			continue;
		}
		/* readable but not the card's or not the request's: refused,
		 * and the next byte gets a fresh payment */
		if (st != 403 && st != 409)
			fail_msg("byte %zu: %ld", i, st);
		assert_string_equal(status_of(id, &keep), "failed");
		json_decref(keep);
		create(T.auth, PAN_A, 700, 300, id);
		n = fetch_request(T.a, id, req);
		wk_buf_reset(&conf);
		assert_int_equal(sim_card_pay(T.a, req, n, true, &conf), 0);
		/* DER signatures differ in length by a byte or two */
		len = conf.len;
	}
	conserved();
	wk_buf_clear(&conf);
}

static void
test_expiry_cancel_revoked(void **state)
{
	uint8_t req[WK_MSG_MAX];
	char id[33], id2[33], path[128];
	json_t *resp = NULL, *keep = NULL;
	wk_buf conf;
	size_t n;
	iss_err e = { 0 };

	(void)state;
	wk_buf_init_heap(&conf, WK_MSG_MAX);
	/* the issuer's clock past the expiry: the answer comes too late */
	create(T.auth, PAN_A, 900, 60, id);
	n = fetch_request(T.a, id, req);
	assert_int_equal(sim_card_pay(T.a, req, n, true, &conf), 0);
	T.is->clock_skew = 61;
	expect(post_confirmation(id, conf.p, conf.len, &resp), &resp, 409,
	    "payment_closed");
	json_decref(resp);
	assert_string_equal(status_of(id, &keep), "expired");
	assert_string_equal(str(keep, "error"), "expired");
	/* and the card's list no longer holds it */
	assert_int_equal(fetch_request(T.a, id, req), 0);
	T.is->clock_skew = 0;
	/* the merchant cancels; the card's answer after it is refused */
	create(T.auth, PAN_A, 900, 300, id2);
	n = fetch_request(T.a, id2, req);
	snprintf(path, sizeof(path), "/v1/payments/%s/cancel", id2);
	expect(call("POST", path, T.auth, json_object(), &resp), &resp, 200, NULL);
	assert_string_equal(str(resp, "status"), "cancelled");
	json_decref(resp);
	expect(call("POST", path, T.auth, json_object(), &resp), &resp, 200, NULL);
	json_decref(resp);
	wk_buf_reset(&conf);
	assert_int_equal(sim_card_pay(T.a, req, n, true, &conf), 0);
	expect(post_confirmation(id2, conf.p, conf.len, &resp), &resp, 409,
	    "payment_closed");
	json_decref(resp);
	/* a card revoked after the request: refused */
	{
		sim_card *c;
		char pan[] = "6222000000000099";
		int64_t acct;
		char sql[200];
		long st;

		assert_int_equal(iss_account_create(T.db, pan, "Gone", PW, &acct,
		    &e), 0);
		assert_int_equal(iss_deposit(T.db, pan, 5000, &e), 0);
		T.deposits += 5000;
		assert_int_equal(sim_card_new(pan, &c), 0);
		assert_int_equal(sim_enrol(T.h, c, PW, NULL), 200);
		create(T.auth, pan, 900, 300, id);
		n = fetch_request(c, id, req);
		assert_int_equal(iss_card_revoke(T.db, c->id_hex, &e), 0);
		/* the revocation closed the card's open payments */
		assert_string_equal(status_of(id, &keep), "failed");
		assert_string_equal(str(keep, "error"), "card_revoked");
		wk_buf_reset(&conf);
		assert_int_equal(sim_card_pay(c, req, n, true, &conf), 0);
		/* its sessions ended with it too */
		poster = c;
		st = post_confirmation(id, conf.p, conf.len, &resp);
		poster = NULL;
		assert_int_equal(st, 401);
		json_decref(resp);
		snprintf(sql, sizeof(sql), "SELECT balance FROM accounts WHERE"
		    " pan = '%s'", pan);
		assert_int_equal(q_int(sql), 5000);
		/* and a revoked card's account gets no new request */
		{
			json_t *body = json_pack("{s:s, s:s, s:i}", "payer", pan,
			    "order_id", "after-revoke", "amount", 1);

			expect(call("POST", "/v1/payments", T.auth, body, &resp),
			    &resp, 422, "payer_has_no_card");
			json_decref(resp);
			json_decref(body);
		}
		sim_card_free(&c);
	}
	json_decref(keep);
	wk_buf_clear(&conf);
	conserved();
}

static void
test_ocra_and_relay_decline(void **state)
{
	uint8_t req[WK_MSG_MAX];
	char id[33], path[128], digits[9];
	json_t *resp = NULL, *body, *keep = NULL;
	uint64_t t = (uint64_t)time(NULL) / 60;
	int64_t a0;
	size_t n;

	(void)state;
	assert_true(T.a->has_ocra);
	/* a wrong response ends the payment: one guess per payment */
	create(T.auth, PAN_A, 321, 300, id);
	n = fetch_request(T.a, id, req);
	assert_int_equal(sim_card_pay_ocra(T.a, req, n, t, digits), 0);
	digits[7] = digits[7] == '9' ? '0' : (char)(digits[7] + 1);
	snprintf(path, sizeof(path), "/v1/payments/%s/confirmation", id);
	a0 = balance_of(PAN_A);
	body = json_pack("{s:{s:s, s:I}}", "ocra", "response", digits, "time",
	    (json_int_t)t);
	expect(call("POST", path, card_auth(T.a), body, &resp), &resp, 403, "bad_ocra");
	json_decref(resp);
	json_decref(body);
	assert_int_equal(balance_of(PAN_A), a0);
	/* a time step outside the window */
	create(T.auth, PAN_A, 321, 300, id);
	n = fetch_request(T.a, id, req);
	assert_int_equal(sim_card_pay_ocra(T.a, req, n, t - 10, digits), 0);
	snprintf(path, sizeof(path), "/v1/payments/%s/confirmation", id);
	body = json_pack("{s:{s:s, s:I}}", "ocra", "response", digits, "time",
	    (json_int_t)(t - 10));
	expect(call("POST", path, card_auth(T.a), body, &resp), &resp, 403, "bad_ocra");
	json_decref(resp);
	json_decref(body);
	/* malformed: nothing changes */
	create(T.auth, PAN_A, 321, 300, id);
	n = fetch_request(T.a, id, req);
	snprintf(path, sizeof(path), "/v1/payments/%s/confirmation", id);
	body = json_pack("{s:{s:s, s:I}}", "ocra", "response", "1234", "time",
	    (json_int_t)t);
	expect(call("POST", path, card_auth(T.a), body, &resp), &resp, 400, "bad_ocra");
	json_decref(resp);
	json_decref(body);
	assert_string_equal(status_of(id, &keep), "pending");
	/* the right one pays */
	assert_int_equal(sim_card_pay_ocra(T.a, req, n, t, digits), 0);
	body = json_pack("{s:{s:s, s:I}}", "ocra", "response", digits, "time",
	    (json_int_t)t);
	expect(call("POST", path, card_auth(T.a), body, &resp), &resp, 200, NULL);
	assert_string_equal(str(resp, "status"), "paid");
	json_decref(resp);
	json_decref(body);
	assert_int_equal(balance_of(PAN_A), a0 - 321);
	assert_string_equal(status_of(id, &keep), "paid");
	assert_string_equal(str(keep, "method"), "ocra");
	/* the relay declines without the card */
	create(T.auth, PAN_A, 321, 300, id);
	snprintf(path, sizeof(path), "/v1/payments/%s/confirmation", id);
	body = json_pack("{s:b}", "decline", 1);
	expect(call("POST", path, card_auth(T.a), body, &resp), &resp, 200, NULL);
	assert_string_equal(str(resp, "status"), "declined");
	json_decref(resp);
	json_decref(body);
	body = json_pack("{s:b, s:s}", "decline", 1, "confirmation", "AA==");
	expect(call("POST", path, card_auth(T.a), body, &resp), &resp, 400, "missing_field");
	json_decref(resp);
	json_decref(body);
	json_decref(keep);
	conserved();
}

static void
test_alias_and_flood(void **state)
{
	char alias[80], id[33];
	iss_err e = { 0 };
	json_t *body, *resp = NULL;
	int i;

	(void)state;
	assert_int_equal(iss_alias_create(T.db, PAN_B, NULL, "book shop", alias,
	    sizeof(alias), &e), 0);
	assert_int_equal(strncmp(alias, "wk-", 3), 0);
	create(T.auth, alias, 42, 300, id);
	{
		json_t *keep = NULL;

		assert_string_equal(status_of(id, &keep), "pending");
		assert_string_equal(str(keep, "payer"), alias);
		json_decref(keep);
	}
	assert_int_equal(iss_alias_create(T.db, PAN_B, alias, NULL, alias,
	    sizeof(alias), &e), -1);
	assert_string_equal(e.code, "alias_exists");
	assert_int_equal(iss_alias_create(T.db, PAN_B, "12345", NULL, alias,
	    sizeof(alias), &e), -1);
	/* a merchant flooding a holder: refused past the limit */
	for (i = 1; i < ISS_PAY_PENDING_MAX; i++)
		create(T.auth2, PAN_B, 1, 300, id);
	body = json_pack("{s:s, s:s, s:i}", "payer", PAN_B, "order_id", "flood",
	    "amount", 1);
	expect(call("POST", "/v1/payments", T.auth2, body, &resp), &resp, 429,
	    "too_many_pending");
	json_decref(resp);
	json_decref(body);
	conserved();
}

/* several posters of one confirmation at once: paid once */
typedef struct race {
	const char *id;
	const uint8_t *m;
	size_t len;
	long st;
} race;

static void *
race_post(void *arg)
{
	race *r = arg;
	json_t *resp = NULL;

	r->st = post_confirmation(r->id, r->m, r->len, &resp);
	json_decref(resp);
	return NULL;
}

static void
test_concurrent(void **state)
{
	uint8_t req[WK_MSG_MAX];
	char id[33];
	wk_buf conf;
	race r[8];
	pthread_t th[8];
	int64_t a0 = balance_of(PAN_A);
	size_t n;

	(void)state;
	wk_buf_init_heap(&conf, WK_MSG_MAX);
	create(T.auth, PAN_A, 999, 300, id);
	n = fetch_request(T.a, id, req);
	assert_int_equal(sim_card_pay(T.a, req, n, true, &conf), 0);
	for (int i = 0; i < 8; i++) {
		r[i] = (race){ id, conf.p, conf.len, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, race_post, &r[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		/* the same answer again is told how it went */
		assert_int_equal(r[i].st, 200);
	}
	assert_int_equal(balance_of(PAN_A), a0 - 999);
	conserved();
	wk_buf_clear(&conf);
}

/* the long polls: the merchant's GET returns when the card answers */
typedef struct poll_arg {
	const char *id;
	long st;
	char status[16];
} poll_arg;

static void *
poll_get(void *arg)
{
	poll_arg *p = arg;
	char path[128];
	json_t *resp = NULL;

	snprintf(path, sizeof(path), "/v1/payments/%s?wait=20", p->id);
	p->st = call("GET", path, T.auth, NULL, &resp);
	snprintf(p->status, sizeof(p->status), "%s", str(resp, "status") ?
	    str(resp, "status") : "");
	json_decref(resp);
	return NULL;
}

static void
test_long_poll(void **state)
{
	uint8_t req[WK_MSG_MAX];
	char id[33];
	poll_arg p = { 0 };
	pthread_t th;
	wk_buf conf;
	json_t *resp = NULL;
	size_t n;

	(void)state;
	wk_buf_init_heap(&conf, WK_MSG_MAX);
	create(T.auth, PAN_A, 77, 300, id);
	p.id = id;
	assert_int_equal(pthread_create(&th, NULL, poll_get, &p), 0);
	n = fetch_request(T.a, id, req);
	assert_int_equal(sim_card_pay(T.a, req, n, true, &conf), 0);
	expect(post_confirmation(id, conf.p, conf.len, &resp), &resp, 200, NULL);
	json_decref(resp);
	pthread_join(th, NULL);
	assert_int_equal(p.st, 200);
	assert_string_equal(p.status, "paid");
	/* the card's long poll answers as soon as a request is there: an empty
	 * list after the wait when none is */
	{
		char path[128];

		snprintf(path, sizeof(path), "/v1/cards/%s/payments?wait=1",
		    T.poor->id_hex);
		expect(call("GET", path, card_auth(T.poor), NULL, &resp), &resp, 200,
		    NULL);
		assert_int_equal(json_array_size(json_object_get(resp,
		    "payments")), 0);
		json_decref(resp);
	}
	wk_buf_clear(&conf);
}

/* ---- the webhook: a merchant's server in the test ---- */

static struct {
	pthread_mutex_t mu;
	int got;
	char body[4096];
	char sig[256];
	char payment[64];
} hook = { PTHREAD_MUTEX_INITIALIZER, 0, "", "", "" };

typedef struct hook_req {
	char buf[4096];
	size_t len;
} hook_req;

static enum MHD_Result
on_hook(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	hook_req *r = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const char *s, *p;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (r == NULL) {
		*con_cls = calloc(1, sizeof(hook_req));
		return *con_cls != NULL ? MHD_YES : MHD_NO;
	}
	if (*upload_size > 0) {
		size_t n = *upload_size;

		if (n > sizeof(r->buf) - 1 - r->len)
			n = sizeof(r->buf) - 1 - r->len;
		memcpy(r->buf + r->len, upload, n);
		r->len += n;
		*upload_size = 0;
		return MHD_YES;
	}
	s = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Walletkey-Signature");
	p = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Walletkey-Payment");
	pthread_mutex_lock(&hook.mu);
	hook.got++;
	r->buf[r->len] = '\0';
	snprintf(hook.body, sizeof(hook.body), "%s", r->buf);
	snprintf(hook.sig, sizeof(hook.sig), "%s", s ? s : "");
	snprintf(hook.payment, sizeof(hook.payment), "%s", p ? p : "");
	pthread_mutex_unlock(&hook.mu);
	free(r);
	*con_cls = NULL;
	resp = MHD_create_response_from_buffer(2, (void *)"ok",
	    MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
test_webhook(void **state)
{
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	uint8_t req[WK_MSG_MAX], sig[128];
	char url[80], id[33];
	wk_buf conf;
	json_t *resp = NULL, *body;
	iss_err e = { 0 };
	EVP_MD_CTX *md;
	size_t n, siglen = 0;

	(void)state;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
	    on_hook, NULL, MHD_OPTION_END);
	assert_non_null(d);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook",
	    (unsigned)info->port);
	assert_int_equal(iss_merchant_webhook(T.db, SHOP, "ftp://x", &e), -1);
	/* plain HTTP only to this machine, as the issuer serves it */
	assert_int_equal(iss_merchant_webhook(T.db, SHOP,
	    "http://shop.example/hook", &e), -1);
	assert_string_equal(e.code, "bad_url");
	assert_int_equal(iss_merchant_webhook(T.db, SHOP,
	    "http://127.0.0.1@shop.example/hook", &e), -1);
	assert_int_equal(iss_merchant_webhook(T.db, SHOP,
	    "http://127.0.0.1.shop.example/hook", &e), -1);
	assert_int_equal(iss_merchant_webhook(T.db, SHOP,
	    "http://[::1]:8080/hook", &e), 0);
	assert_int_equal(iss_merchant_webhook(T.db, SHOP,
	    "https://shop.example/hook", &e), 0);
	assert_int_equal(iss_merchant_webhook(T.db, SHOP, url, &e), 0);
	wk_buf_init_heap(&conf, WK_MSG_MAX);
	create(T.auth, PAN_A, 55, 300, id);
	n = fetch_request(T.a, id, req);
	assert_int_equal(sim_card_pay(T.a, req, n, true, &conf), 0);
	expect(post_confirmation(id, conf.p, conf.len, &resp), &resp, 200, NULL);
	json_decref(resp);
	/* the sweeper posts it within a few seconds */
	for (int i = 0; i < 300; i++) {
		pthread_mutex_lock(&hook.mu);
		if (hook.got > 0) {
			pthread_mutex_unlock(&hook.mu);
			break;
		}
		pthread_mutex_unlock(&hook.mu);
		usleep(100000);
	}
	pthread_mutex_lock(&hook.mu);
	assert_int_equal(hook.got, 1);
	assert_string_equal(hook.payment, id);
	body = json_loads(hook.body, 0, NULL);
	assert_non_null(body);
	assert_string_equal(str(body, "payment_id"), id);
	assert_string_equal(str(body, "status"), "paid");
	json_decref(body);
	/* signed by the issuer's CA key */
	assert_int_equal(sodium_base642bin(sig, sizeof(sig), hook.sig,
	    strlen(hook.sig), NULL, &siglen, NULL,
	    sodium_base64_VARIANT_ORIGINAL), 0);
	assert_non_null(md = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    T.a->anchor), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, siglen,
	    (const uint8_t *)hook.body, strlen(hook.body)), 1);
	hook.body[2] ^= 1;
	assert_int_not_equal(EVP_DigestVerify(md, sig, siglen,
	    (const uint8_t *)hook.body, strlen(hook.body)), 1);
	EVP_MD_CTX_free(md);
	pthread_mutex_unlock(&hook.mu);
	assert_int_equal(q_int("SELECT COUNT(*) FROM webhooks WHERE delivered_at"
	    " IS NOT NULL"), 1);
	MHD_stop_daemon(d);
	/* a merchant that does not answer: tried again later, never lost */
	create(T.auth, PAN_A, 56, 300, id);
	n = fetch_request(T.a, id, req);
	wk_buf_reset(&conf);
	assert_int_equal(sim_card_pay(T.a, req, n, false, &conf), 0);
	expect(post_confirmation(id, conf.p, conf.len, &resp), &resp, 200, NULL);
	json_decref(resp);
	for (int i = 0; i < 300 && q_int("SELECT COUNT(*) FROM webhooks WHERE"
	    " attempts > 0 AND delivered_at IS NULL") == 0; i++)
		usleep(100000);
	assert_int_equal(q_int("SELECT COUNT(*) FROM webhooks WHERE attempts > 0"
	    " AND delivered_at IS NULL AND last_error IS NOT NULL"), 1);
	assert_int_equal(iss_merchant_webhook(T.db, SHOP, NULL, &e), 0);
	wk_buf_clear(&conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merchant_auth),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_pay),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_flipped_confirmations),
		cmocka_unit_test(test_expiry_cancel_revoked),
		cmocka_unit_test(test_ocra_and_relay_decline),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_long_poll),
		cmocka_unit_test(test_webhook),
		cmocka_unit_test(test_alias_and_flood),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
