/* test_issuer: purchase settlement, card-to-card transfers (test_issuer.h) */
#include "test_issuer.h"

/* a purchase proof as the terminal sends it; the TAC from the card's DTK */
json_t *
purchase_proof(sim_card *c, const char *purse, int seq, uint32_t amount,
    const char *term, uint32_t term_seq, bool by_serial, bool bad_tac)
{
	uint8_t tid[6], ts[4], date[4] = { 0x20, 0x26, 0x11, 0x22 },
	    tm[3] = { 0x01, 0x59, 0x00 }, tac[4], serial[10];
	wk_purse_skey ktac;
	char ts_hex[9], tac_hex[9], id_hex[21];
	json_t *p;

	assert_int_equal(wk_hex_decode(term, tid, sizeof(tid)), 6);
	ts[0] = (uint8_t)(term_seq >> 24);
	ts[1] = (uint8_t)(term_seq >> 16);
	ts[2] = (uint8_t)(term_seq >> 8);
	ts[3] = (uint8_t)term_seq;
	assert_int_equal(wk_purse_tac_key(c->algs[WK_PURSE_KEY_DTK], c->dtk,
	    &ktac), 0);
	assert_int_equal(wk_purse_purchase_tac(&ktac, amount,
	    strcmp(purse, "EP") == 0 ? WK_PURSE_TT_EP_PURCHASE :
	    WK_PURSE_TT_ED_PURCHASE, tid, ts, date, tm, tac), 0);
	if (bad_tac)
		tac[3] ^= 1;
	wk_hex_encode(ts, 4, ts_hex);
	wk_hex_encode(tac, 4, tac_hex);
	p = json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:s}", "purse", purse,
	    "offline_seq", seq, "amount", (int)amount, "terminal_id", term,
	    "terminal_seq", ts_hex, "date", "20261122", "time", "015900",
	    "tac", tac_hex);
	assert_non_null(p);
	if (by_serial) {
		iss_app_serial(c->id, serial);
		wk_hex_encode(serial, sizeof(serial), id_hex);
		json_object_set_new(p, "app_serial", json_string(id_hex));
	} else {
		json_object_set_new(p, "card_id", json_string(c->id_hex));
	}
	return p;
}

long
settle(json_t *proofs, json_t **resp)
{
	json_t *req = json_pack("{s:o}", "proofs", proofs);
	long st = sim_http_call(T.h, "/v1/settlements", req, resp);

	json_decref(req);
	return st;
}

void
settle_refused(json_t *proofs, long want, const char *code)
{
	char *before = snapshot(), *after;
	json_t *resp = NULL;

	expect_error(settle(proofs, &resp), &resp, want, code);
	json_decref(resp);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

#define TERM "000000000042"

void
test_settle(void **state)
{
	sim_card *c = new_card(PAN_RICH);
	iss_err e = { 0 };
	int64_t mid, id2, float0;
	json_t *resp = NULL, *resp2 = NULL;
	char *before, *after, sql[256];

	(void)state;
	assert_int_equal(iss_merchant_create(T.db, TERM, "Shop", &mid, &e), 0);
	assert_int_not_equal(iss_merchant_create(T.db, TERM, NULL, &id2, &e), 0);
	assert_int_equal(e.status, 409);
	assert_int_not_equal(iss_merchant_create(T.db, "00000000004", NULL, &id2,
	    &e), 0);
	assert_int_equal(e.status, 400);
	assert_int_equal(sim_load(T.h, c, 5000, NULL), 200);
	float0 = q_int(FLOATS);

	/* a good batch: EP and ED, one by card id, one by application serial */
	assert_int_equal(settle(json_pack("[o, o]",
	    purchase_proof(c, "EP", 0, 300, TERM, 1, false, false),
	    purchase_proof(c, "ED", 0, 200, TERM, 2, true, false)), &resp), 200);
	assert_int_equal(json_integer_value(json_object_get(resp, "total")), 500);
	assert_int_equal(json_array_size(json_object_get(resp, "results")), 2);
	snprintf(sql, sizeof(sql), "SELECT balance FROM accounts WHERE id = %lld",
	    (long long)mid);
	assert_int_equal(q_int(sql), 500);
	assert_int_equal(q_int(FLOATS),
	    float0 - 500);
	assert_int_equal(q_int("SELECT COUNT(*) FROM oplog WHERE kind ="
	    " 'settlement'"), 2);
	assert_int_equal(q_int("SELECT COUNT(*) FROM txns WHERE kind ="
	    " 'settlement'"), 2);
	check_conservation();

	/* replay: no change, the same answer */
	before = snapshot();
	assert_int_equal(settle(json_pack("[o, o]",
	    purchase_proof(c, "EP", 0, 300, TERM, 1, false, false),
	    purchase_proof(c, "ED", 0, 200, TERM, 2, true, false)), &resp2), 200);
	assert_true(json_equal(resp, resp2));
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	json_decref(resp2);
	json_decref(resp);

	/* a bad TAC, alone or after a good proof: nothing changes */
	settle_refused(json_pack("[o]", purchase_proof(c, "EP", 1, 100, TERM, 3,
	    false, true)), 403, "bad_tac");
	settle_refused(json_pack("[o, o]", purchase_proof(c, "EP", 1, 100, TERM,
	    3, false, false), purchase_proof(c, "EP", 2, 100, TERM, 4, false,
	    true)), 403, "bad_tac");
	/* the amount or purse type is covered by the TAC */
	{
		json_t *p = purchase_proof(c, "EP", 1, 100, TERM, 3, false, false);

		json_object_set_new(p, "amount", json_integer(101));
		settle_refused(json_pack("[o]", p), 403, "bad_tac");
		p = purchase_proof(c, "EP", 1, 100, TERM, 3, false, false);
		json_object_set_new(p, "purse", json_string("ED"));
		settle_refused(json_pack("[o]", p), 403, "bad_tac");
	}
	/* another purchase under a settled terminal number; two proofs of one
	 * terminal number in a batch (test_settle_identity: the offline one) */
	settle_refused(json_pack("[o]", purchase_proof(c, "EP", 0, 100, TERM, 1,
	    false, false)), 409, "proof_conflict");
	settle_refused(json_pack("[o, o]", purchase_proof(c, "EP", 1, 100, TERM,
	    3, false, false), purchase_proof(c, "EP", 2, 100, TERM, 3, false,
	    false)), 400, "bad_batch");
	/* unknown terminal, unknown card */
	settle_refused(json_pack("[o]", purchase_proof(c, "EP", 1, 100,
	    "000000000099", 3, false, false)), 404, "merchant_not_found");
	{
		json_t *p = purchase_proof(c, "EP", 1, 100, TERM, 3, false, false);

		json_object_set_new(p, "card_id", json_string("00000000000000aa"));
		settle_refused(json_pack("[o]", p), 404, "card_not_found");
	}
	/* malformed proofs */
	{
		static const struct { const char *field; int kind; } bad[] = {
			{ "amount", 0 }, { "amount", 1 }, { "offline_seq", 2 },
			{ "purse", 3 }, { "tac", 4 }, { "terminal_id", 4 },
			{ "terminal_seq", 4 }, { "date", 4 }, { "time", 4 },
			{ "card_id", 4 }, { "extra", 5 }, { "tac", 6 }, { "app_serial", 4 },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			json_t *p = purchase_proof(c, "EP", 1, 100, TERM, 3, false,
			    false), *v;
			const char *code = "bad_proof";

			switch (bad[i].kind) {
			case 0: v = json_integer(0); break;
			case 1: v = json_string("100"); break;
			case 2: v = json_integer(65536); break;
			case 3: v = json_string("XX"); break;
			case 4: v = json_string("0g"); break;
			case 5: v = json_true(); code = "unknown_field"; break;
			default: v = NULL; break;
			}
			if (v != NULL)
				json_object_set_new(p, bad[i].field, v);
			else
				json_object_del(p, bad[i].field);
			settle_refused(json_pack("[o]", p), 400, code);
		}
	}
	{
		static const struct { const char *body; const char *code; } raw[] = {
			{ "{", "bad_json" }, { "[]", "bad_json" },
			{ "{\"proofs\":{}}", "bad_json" },
			{ "{\"proofs\":[],\"x\":1}", "bad_json" },
			{ "{\"proofs\":[]}", "bad_batch" },
			{ "{\"proofs\":[1]}", "bad_proof" },
		};

		before = snapshot();
		for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
			expect_error(sim_http_raw(T.h, "/v1/settlements", raw[i].body,
			    strlen(raw[i].body), &resp), &resp, 400, raw[i].code);
			json_decref(resp);
			resp = NULL;
		}
		expect_error(sim_http_call(T.h, "/v1/settlements", NULL, &resp),
		    &resp, 405, "method_not_allowed");
		json_decref(resp);
		resp = NULL;
		after = snapshot();
		assert_string_equal(before, after);
		free(before);
		free(after);
	}
	/* the next purchase settles */
	assert_int_equal(settle(json_pack("[o]", purchase_proof(c, "EP", 1, 100,
	    TERM, 3, false, false)), &resp), 200);
	json_decref(resp);
	assert_int_equal(q_int(sql), 600);
	check_conservation();
	sim_card_free(&c);
}

static int64_t
merchant_balance(int64_t mid)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT balance FROM accounts WHERE id = %lld",
	    (long long)mid);
	return q_int(sql);
}

static int64_t
card_float(const sim_card *c)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT COALESCE((SELECT a.balance FROM cards c"
	    " JOIN accounts a ON a.id = c.float_account WHERE c.card_id = '%s'),"
	    " 0)", c->id_hex);
	return q_int(sql);
}

static int64_t
oplog_count(const char *kind)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM oplog WHERE kind = '%s'",
	    kind);
	return q_int(sql);
}

/* everything but the oplog must stay as it was; the oplog gains n rows of
 * kind (the logged refusal) */
static void
refused_logged(json_t *proofs, long want, const char *code, int index,
    const char *kind)
{
	static const char *const tables[] = { "accounts", "entries", "txns",
	    "settlements", "transfers", "loads", "cards" };
	int64_t before[7], logged = oplog_count(kind), ops;
	json_t *resp = NULL;
	char sql[64];

	ops = q_int("SELECT COUNT(*) FROM oplog");
	for (size_t i = 0; i < 7; i++) {
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", tables[i]);
		before[i] = q_int(sql);
	}
	before[0] = q_int("SELECT COALESCE(SUM(balance * id), 0) FROM accounts");
	expect_error(settle(proofs, &resp), &resp, want, code);
	if (index >= 0)
		assert_int_equal(json_integer_value(json_object_get(resp, "index")),
		    index);
	json_decref(resp);
	for (size_t i = 1; i < 7; i++) {
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", tables[i]);
		assert_int_equal(q_int(sql), before[i]);
	}
	assert_int_equal(q_int("SELECT COALESCE(SUM(balance * id), 0) FROM"
	    " accounts"), before[0]);
	assert_int_equal(oplog_count(kind), logged + 1);
	assert_int_equal(q_int("SELECT COUNT(*) FROM oplog"), ops + 1);
}

#define TERM2 "000000000043"

/* issue 11: a settlement pays only from the card's own float */
void
test_settle_float(void **state)
{
	sim_card *a = new_card(PAN_RICH), *b = new_card(PAN_RICH);
	iss_err e = { 0 };
	int64_t mid;
	json_t *resp = NULL;
	wk_buf req;
	char lid[33];
	uint8_t grant[WK_MSG_MAX];
	size_t glen;

	(void)state;
	assert_int_equal(iss_merchant_create(T.db, TERM2, "Shop 2", &mid, &e), 0);
	assert_int_equal(sim_load(T.h, a, 1000, NULL), 200);
	assert_int_equal(card_float(a), 1000);
	/* leaked keys: a TAC for value the card was never loaded with (card b
	 * holds nothing; card a holds 1000): refused, logged, nothing moves */
	refused_logged(json_pack("[o]", purchase_proof(b, "EP", 0, 100, TERM2, 1,
	    false, false)), 409, "float_short", 0, "settlement.refused");
	refused_logged(json_pack("[o]", purchase_proof(a, "EP", 0, 1500, TERM2, 1,
	    false, false)), 409, "float_short", 0, "settlement.refused");
	/* the batch counts a card's proofs together; the index names the one
	 * that goes beyond */
	refused_logged(json_pack("[o, o, o]",
	    purchase_proof(a, "EP", 0, 600, TERM2, 1, false, false),
	    purchase_proof(a, "EP", 1, 300, TERM2, 2, false, false),
	    purchase_proof(a, "EP", 2, 200, TERM2, 3, false, false)), 409,
	    "float_short", 2, "settlement.refused");
	assert_int_equal(merchant_balance(mid), 0);
	check_conservation();
	/* what the float holds settles, to the last fen */
	assert_int_equal(settle(json_pack("[o, o]",
	    purchase_proof(a, "EP", 0, 600, TERM2, 1, false, false),
	    purchase_proof(a, "ED", 0, 400, TERM2, 2, false, false)), &resp), 200);
	json_decref(resp);
	assert_int_equal(card_float(a), 0);
	assert_int_equal(merchant_balance(mid), 1000);
	refused_logged(json_pack("[o]", purchase_proof(a, "EP", 1, 1, TERM2, 3,
	    false, false)), 409, "float_short", 0, "settlement.refused");
	/* a settled proof in a batch is no new spending: it does not count */
	assert_int_equal(settle(json_pack("[o]",
	    purchase_proof(a, "EP", 0, 600, TERM2, 1, false, false)), &resp), 200);
	json_decref(resp);
	check_conservation();

	/* a pending load is not the card's yet: its amount is reversed from
	 * the float unless the card proves the credit */
	wk_buf_init_heap(&req, WK_MSG_MAX);
	start_load(a, 500, &req, lid, grant, &glen);
	assert_int_equal(card_float(a), 500);
	refused_logged(json_pack("[o]", purchase_proof(a, "EP", 1, 500, TERM2, 3,
	    false, false)), 409, "float_short", 0, "settlement.refused");
	{
		wk_buf rec;
		json_t *r2 = NULL;
		char path[128];

		wk_buf_init_heap(&rec, WK_MSG_MAX);
		assert_int_equal(sim_card_grant(a, grant, glen, &rec), 0);
		snprintf(path, sizeof(path), "/v1/loads/%s/receipt", lid);
		assert_int_equal(post_msg(path, "receipt", rec.p, rec.len, &r2), 200);
		json_decref(r2);
		wk_buf_clear(&rec);
	}
	assert_int_equal(settle(json_pack("[o]", purchase_proof(a, "EP", 1, 500,
	    TERM2, 3, false, false)), &resp), 200);
	json_decref(resp);
	assert_int_equal(merchant_balance(mid), 1500);
	check_conservation();
	wk_buf_clear(&req);
	sim_card_free(&a);
	sim_card_free(&b);
}

/* issue 11: a settlement is what its TAC covers, (terminal, terminal
 * seq); a proof replayed under another offline number neither pays twice
 * nor blocks the purchase that really has that number */
void
test_settle_identity(void **state)
{
	sim_card *c = new_card(PAN_RICH);
	iss_err e = { 0 };
	int64_t mid;
	json_t *resp = NULL, *resp2 = NULL;
	char *before, *after;

	(void)state;
	assert_int_equal(iss_merchant_create(T.db, "000000000044", NULL, &mid,
	    &e), 0);
	assert_int_equal(sim_load(T.h, c, 1000, NULL), 200);
	/* the attacker sends purchase 1 (offline seq 0) as offline seq 1 */
	assert_int_equal(settle(json_pack("[o]", purchase_proof(c, "EP", 1, 100,
	    "000000000044", 1, false, false)), &resp), 200);
	json_decref(resp);
	assert_int_equal(merchant_balance(mid), 100);
	/* the terminal's own upload of it: settled, nothing moves again */
	before = snapshot();
	assert_int_equal(settle(json_pack("[o]", purchase_proof(c, "EP", 0, 100,
	    "000000000044", 1, false, false)), &resp), 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(resp, "results"), 0), "status")), "settled");
	json_decref(resp);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* and the card's real purchase with offline seq 1 settles */
	assert_int_equal(settle(json_pack("[o]", purchase_proof(c, "EP", 1, 250,
	    "000000000044", 2, false, false)), &resp), 200);
	assert_int_equal(settle(json_pack("[o]", purchase_proof(c, "EP", 1, 250,
	    "000000000044", 2, false, false)), &resp2), 200);
	assert_true(json_equal(resp, resp2));
	json_decref(resp);
	json_decref(resp2);
	assert_int_equal(merchant_balance(mid), 350);
	check_conservation();
	sim_card_free(&c);
}

typedef struct settler {
	json_t *proofs;
	long status;
} settler;

static void *
run_settler(void *arg)
{
	settler *w = arg;
	sim_http *h;
	json_t *req, *resp = NULL;

	if (sim_http_new(T.base, &h) != 0)
		return NULL;
	req = json_pack("{s:O}", "proofs", w->proofs);
	w->status = sim_http_call(h, "/v1/settlements", req, &resp);
	json_decref(req);
	json_decref(resp);
	sim_http_free(&h);
	return NULL;
}

/* many terminals settle one card's purchases at once: together they ask
 * more than its float; the float pays exactly what it holds, never more */
void
test_settle_race(void **state)
{
	enum { N = 10, PRICE = 300 };
	sim_card *c = new_card(PAN_RICH);
	pthread_t th[N];
	settler w[N];
	iss_err e = { 0 };
	int64_t mid;
	int ok = 0, refused = 0;

	(void)state;
	assert_int_equal(iss_merchant_create(T.db, "000000000046", NULL, &mid,
	    &e), 0);
	assert_int_equal(sim_load(T.h, c, 1000, NULL), 200);
	for (int i = 0; i < N; i++) {
		w[i] = (settler){ json_pack("[o]", purchase_proof(c, "EP", i, PRICE,
		    "000000000046", (uint32_t)(100 + i), false, false)), 0 };
		assert_int_equal(pthread_create(&th[i], NULL, run_settler, &w[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		if (w[i].status == 200)
			ok++;
		else if (w[i].status == 409)
			refused++;
		json_decref(w[i].proofs);
	}
	assert_int_equal(ok, 1000 / PRICE);
	assert_int_equal(refused, N - 1000 / PRICE);
	assert_int_equal(merchant_balance(mid), (1000 / PRICE) * PRICE);
	assert_int_equal(card_float(c), 1000 - (1000 / PRICE) * PRICE);
	check_conservation();
	sim_card_free(&c);
}

static long
report(const wk_buf *tok, json_t **resp)
{
	return post_msg("/v1/transfers", "token", tok->p, tok->len, resp);
}

/* issue 11: card-to-card transfers move value between the card floats
 * when a card reports the sender's token: once, by token id, checked with
 * the sender's certificate */
void
test_transfers(void **state)
{
	sim_card *a = new_card(PAN_RICH), *b = new_card(PAN_BUSY),
	    *c = new_card(PAN_POOR), *x;
	iss_err e = { 0 };
	int64_t mid;
	json_t *resp = NULL, *resp2 = NULL;
	wk_buf ab, bc, tmp;
	uint8_t tid[16], flip[WK_MSG_MAX];
	char *before, *after;

	(void)state;
	wk_buf_init_heap(&ab, WK_MSG_MAX);
	wk_buf_init_heap(&bc, WK_MSG_MAX);
	wk_buf_init_heap(&tmp, WK_MSG_MAX);
	assert_int_equal(iss_merchant_create(T.db, "000000000045", NULL, &mid,
	    &e), 0);
	assert_int_equal(sim_load(T.h, a, 1000, NULL), 200);
	/* a pays b 300; b pays c 200 and buys for 100 */
	assert_int_equal(sim_card_xfer_token(a, b->id, 300, NULL, &ab), 0);
	assert_int_equal(sim_card_xfer_token(b, c->id, 200, NULL, &bc), 0);

	/* settlement before the transfer that funded it: 409 until reported */
	refused_logged(json_pack("[o]", purchase_proof(b, "EP", 1, 100,
	    "000000000045", 1, false, false)), 409, "float_short", 0,
	    "settlement.refused");
	/* b's own token before a's: b's float is short, logged, nothing moves */
	before = snapshot_but_oplog();
	expect_error(report(&bc, &resp), &resp, 409, "float_short");
	json_decref(resp);
	after = snapshot_but_oplog();
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(oplog_count("transfer.refused"), 1);

	/* a's token: a's float to b's */
	assert_int_equal(report(&ab, &resp), 200);
	assert_string_equal(json_string_value(json_object_get(resp, "status")),
	    "applied");
	assert_int_equal(json_integer_value(json_object_get(resp, "amount")), 300);
	assert_int_equal(card_float(a), 700);
	assert_int_equal(card_float(b), 300);
	check_conservation();
	/* reported twice (by the other card, or again after a lost answer):
	 * the same answer, nothing moves */
	before = snapshot();
	assert_int_equal(report(&ab, &resp2), 200);
	assert_true(json_equal(resp, resp2));
	json_decref(resp);
	json_decref(resp2);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);

	/* now b's token and b's purchase go through */
	assert_int_equal(report(&bc, &resp), 200);
	json_decref(resp);
	assert_int_equal(settle(json_pack("[o]", purchase_proof(b, "EP", 1, 100,
	    "000000000045", 1, false, false)), &resp), 200);
	json_decref(resp);
	assert_int_equal(card_float(b), 0);
	assert_int_equal(card_float(c), 200);
	check_conservation();

	/* forged tokens change nothing: every flipped byte, a token signed
	 * by another key, the same token id with another token, a void one,
	 * an unknown receiver, a token to its own sender */
	before = snapshot();
	for (size_t i = 0; i < ab.len; i++) {
		json_t *r = NULL;
		long st;

		memcpy(flip, ab.p, ab.len);
		flip[i] ^= 0x01;
		st = post_msg("/v1/transfers", "token", flip, ab.len, &r);
		assert_true(st >= 400 && st < 500);
		json_decref(r);
	}
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(sim_card_new(PAN_RICH, &x), 0);
	memcpy(x->id, a->id, sizeof(x->id));	/* a's id, not a's key */
	memcpy(x->id_hex, a->id_hex, sizeof(x->id_hex));
	x->balance = 1000;
	wk_buf_reset(&tmp);
	assert_int_equal(sim_card_xfer_token(x, c->id, 500, NULL, &tmp), 0);
	before = snapshot();
	expect_error(report(&tmp, &resp), &resp, 403, "bad_signature");
	json_decref(resp);
	{
		wk_msg m;

		assert_int_equal(wk_msg_parse(ab.p, ab.len, &m, NULL, NULL), 0);
		memcpy(tid, m.load_id, sizeof(tid));
	}
	a->balance = 1000;
	wk_buf_reset(&tmp);
	assert_int_equal(sim_card_xfer_token(a, c->id, 10, tid, &tmp), 0);
	expect_error(report(&tmp, &resp), &resp, 409, "token_conflict");
	json_decref(resp);
	wk_buf_reset(&tmp);
	assert_int_equal(sim_card_xfer_token(a, c->id, 0, NULL, &tmp), 0);
	expect_error(report(&tmp, &resp), &resp, 400, "bad_amount");
	json_decref(resp);
	wk_buf_reset(&tmp);
	assert_int_equal(sim_card_xfer_token(a, x->id, 10, NULL, &tmp), 0);
	expect_error(report(&tmp, &resp), &resp, 400, "bad_message");
	json_decref(resp);
	{
		uint8_t nobody[8] = { 0xEE, 0xEE, 1, 2, 3, 4, 5, 6 };

		wk_buf_reset(&tmp);
		assert_int_equal(sim_card_xfer_token(a, nobody, 10, NULL, &tmp), 0);
		expect_error(report(&tmp, &resp), &resp, 404, "card_not_found");
		json_decref(resp);
	}
	expect_error(post_msg("/v1/transfers", "token", bc.p, 10, &resp), &resp,
	    400, "bad_message");
	json_decref(resp);
	expect_error(sim_http_raw(T.h, "/v1/transfers", "{\"token\":1}", 11,
	    &resp), &resp, 400, "missing_field");
	json_decref(resp);
	expect_error(sim_http_raw(T.h, "/v1/transfers", "{\"x\":1}", 7,
	    &resp), &resp, 400, "unknown_field");
	json_decref(resp);
	{
		/* a load request is no token */
		wk_buf r;

		wk_buf_init_heap(&r, WK_MSG_MAX);
		assert_int_equal(sim_card_load_request(c, 5, &r), 0);
		expect_error(report(&r, &resp), &resp, 400, "wrong_message_type");
		json_decref(resp);
		wk_buf_clear(&r);
	}
	expect_error(sim_http_call(T.h, "/v1/transfers", NULL, &resp), &resp, 405,
	    "method_not_allowed");
	json_decref(resp);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);

	/* a revoked sender's key is trusted no more */
	wk_buf_reset(&tmp);
	assert_int_equal(sim_card_xfer_token(a, c->id, 10, NULL, &tmp), 0);
	assert_int_equal(iss_card_revoke(T.db, a->id_hex, &e), 0);
	expect_error(report(&tmp, &resp), &resp, 403, "card_revoked");
	json_decref(resp);
	check_conservation();
	sim_card_free(&x);
	wk_buf_clear(&tmp);
	wk_buf_clear(&bc);
	wk_buf_clear(&ab);
	sim_card_free(&a);
	sim_card_free(&b);
	sim_card_free(&c);
}
