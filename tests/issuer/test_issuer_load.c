/* test_issuer: the remote load, its refusals and recovery, SM4 keys (test_issuer.h) */
#include "test_issuer.h"

void
test_load(void **state)
{
	sim_card *c = new_card(PAN_RICH);
	char id[33];
	int64_t acct_before = q_int("SELECT balance FROM accounts WHERE pan = '"
	    PAN_RICH "'");

	(void)state;
	assert_int_equal(sim_load(T.h, c, 1234, id), 200);
	assert_int_equal(c->balance, 1234);
	assert_int_equal(c->seq, 1);
	load_status(c, id, "complete");
	assert_int_equal(sim_load(T.h, c, 766, id), 200);
	assert_int_equal(c->balance, 2000);
	assert_int_equal(q_int("SELECT balance FROM accounts WHERE pan = '"
	    PAN_RICH "'"), acct_before - 2000);
	{
		char sql[256];

		snprintf(sql, sizeof(sql), "SELECT balance FROM cards WHERE card_id"
		    " = '%s'", c->id_hex);
		assert_int_equal(q_int(sql), 2000);
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM oplog WHERE load_id"
		    " = '%s' AND kind IN ('load.grant', 'load.complete')", id);
		assert_int_equal(q_int(sql), 2);
	}
	check_conservation();
	sim_card_free(&c);
}

void
test_replay(void **state)
{
	sim_card *c = new_card(PAN_RICH);
	uint8_t grant[WK_MSG_MAX], grant2[WK_MSG_MAX];
	size_t glen;
	char id[33], path[128], *before, *after;
	json_t *resp = NULL;
	wk_buf req, rec, req2;
	long n;

	(void)state;
	wk_buf_init_heap(&req, WK_MSG_MAX);
	wk_buf_init_heap(&rec, WK_MSG_MAX);
	wk_buf_init_heap(&req2, WK_MSG_MAX);
	start_load(c, 300, &req, id, grant, &glen);
	/* the same request again: the same grant, nothing changes */
	before = snapshot();
	assert_int_equal(post_msg("/v1/loads", "request", req.p, req.len, &resp), 200);
	n = sim_unb64(json_object_get(resp, "grant"), grant2, sizeof(grant2));
	assert_int_equal(n, (long)glen);
	assert_memory_equal(grant, grant2, glen);
	json_decref(resp);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);

	assert_int_equal(sim_card_grant(c, grant, glen, &rec), 0);
	snprintf(path, sizeof(path), "/v1/loads/%s/receipt", id);
	assert_int_equal(post_msg(path, "receipt", rec.p, rec.len, &resp), 200);
	json_decref(resp);
	before = snapshot();
	/* the receipt again: the same answer, nothing changes */
	assert_int_equal(post_msg(path, "receipt", rec.p, rec.len, &resp), 200);
	assert_string_equal(json_string_value(json_object_get(resp, "status")),
	    "complete");
	json_decref(resp);
	/* the request after completion */
	expect_error(post_msg("/v1/loads", "request", req.p, req.len, &resp), &resp,
	    409, "load_closed");
	json_decref(resp);
	/* another request for a sequence number already granted */
	c->seq--;
	c->balance -= 300;
	assert_int_equal(sim_card_load_request(c, 300, &req2), 0);
	expect_error(post_msg("/v1/loads", "request", req2.p, req2.len, &resp), &resp,
	    409, "seq_used");
	json_decref(resp);
	c->seq++;
	c->balance += 300;
	/* a receipt posted to another load */
	{
		char other[33];
		uint8_t g3[WK_MSG_MAX];
		size_t g3len;

		after = snapshot();	/* start_load changes state */
		free(after);
		start_load(c, 5, &req2, other, g3, &g3len);
		free(before);
		before = snapshot();
		snprintf(path, sizeof(path), "/v1/loads/%s/receipt", other);
		expect_error(post_msg(path, "receipt", rec.p, rec.len, &resp), &resp,
		    400, "load_mismatch");
		json_decref(resp);
		after = snapshot();
		assert_string_equal(before, after);
		free(after);
		wk_buf_reset(&rec);
		assert_int_equal(sim_card_grant(c, g3, g3len, &rec), 0);
		assert_int_equal(post_msg(path, "receipt", rec.p, rec.len, &resp), 200);
		json_decref(resp);
	}
	free(before);
	check_conservation();
	wk_buf_clear(&req);
	wk_buf_clear(&req2);
	wk_buf_clear(&rec);
	sim_card_free(&c);
}

void
test_flip_request_receipt(void **state)
{
	sim_card *c = new_card(PAN_RICH);
	uint8_t grant[WK_MSG_MAX];
	size_t glen;
	char id[33], path[128];
	json_t *resp = NULL;
	wk_buf req, rec;

	(void)state;
	wk_buf_init_heap(&req, WK_MSG_MAX);
	wk_buf_init_heap(&rec, WK_MSG_MAX);
	assert_int_equal(sim_card_load_request(c, 250, &req), 0);
	flip_all("/v1/loads", "request", req.p, req.len);
	post_request(&req, id, grant, &glen);
	/* the card refuses a grant with any byte changed */
	for (size_t i = 0; i < glen; i++) {
		uint8_t g[WK_MSG_MAX];
		sim_card saved = *c;

		memcpy(g, grant, glen);
		g[i] ^= 0x01;
		wk_buf_reset(&rec);
		assert_int_not_equal(sim_card_grant(c, g, glen, &rec), 0);
		assert_int_equal(c->balance, saved.balance);
		*c = saved;	/* keep the session for the next try */
	}
	wk_buf_reset(&rec);
	assert_int_equal(sim_card_grant(c, grant, glen, &rec), 0);
	snprintf(path, sizeof(path), "/v1/loads/%s/receipt", id);
	flip_all(path, "receipt", rec.p, rec.len);
	load_status(c, id, "pending");
	assert_int_equal(post_msg(path, "receipt", rec.p, rec.len, &resp), 200);
	json_decref(resp);
	load_status(c, id, "complete");
	check_conservation();
	wk_buf_clear(&req);
	wk_buf_clear(&rec);
	sim_card_free(&c);
}

void
test_refusal(void **state)
{
	sim_card *c = new_card(PAN_RICH);
	uint8_t grant[WK_MSG_MAX];
	size_t glen;
	char id[33], path[128];
	json_t *resp = NULL;
	wk_buf req, ref;
	int64_t acct = q_int("SELECT balance FROM accounts WHERE pan = '"
	    PAN_RICH "'");

	(void)state;
	wk_buf_init_heap(&req, WK_MSG_MAX);
	wk_buf_init_heap(&ref, WK_MSG_MAX);
	start_load(c, 700, &req, id, grant, &glen);
	assert_int_equal(q_int("SELECT balance FROM accounts WHERE pan = '"
	    PAN_RICH "'"), acct - 700);
	check_conservation();
	/* a grant damaged on the way: the card refuses it */
	grant[glen - 3] ^= 0x10;
	assert_int_equal(sim_card_grant(c, grant, glen, &ref), 1);
	assert_int_equal(c->balance, 0);
	snprintf(path, sizeof(path), "/v1/loads/%s/refusal", id);
	flip_all(path, "refusal", ref.p, ref.len);
	assert_int_equal(post_msg(path, "refusal", ref.p, ref.len, &resp), 200);
	assert_string_equal(json_string_value(json_object_get(resp, "status")),
	    "reversed");
	json_decref(resp);
	assert_int_equal(q_int("SELECT balance FROM accounts WHERE pan = '"
	    PAN_RICH "'"), acct);
	{
		char sql[256];

		/* the reversal is a new entry pointing at the grant */
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM oplog r JOIN oplog g"
		    " ON r.reverses = g.id WHERE r.load_id = '%s' AND r.kind ="
		    " 'load.reversal' AND g.kind = 'load.grant'", id);
		assert_int_equal(q_int(sql), 1);
	}
	/* the refusal again: idempotent */
	assert_int_equal(post_msg(path, "refusal", ref.p, ref.len, &resp), 200);
	json_decref(resp);
	check_conservation();
	/* the card loads again with the same sequence number after a refusal?
	 * no: the issuer granted that seq once; the card's next INIT uses it
	 * again, so the issuer answers seq_used, and the card must recover */
	wk_buf_clear(&req);
	wk_buf_clear(&ref);
	sim_card_free(&c);
}

void
test_recover(void **state)
{
	sim_card *c = new_card(PAN_BUSY);
	uint8_t grant[WK_MSG_MAX], lid[16];
	size_t glen;
	char id[33], path[128];
	json_t *resp = NULL;
	wk_buf req, b;

	(void)state;
	wk_buf_init_heap(&req, WK_MSG_MAX);
	wk_buf_init_heap(&b, WK_MSG_MAX);

	/* 1: credited, the receipt lost: the card's proof completes it */
	start_load(c, 400, &req, id, grant, &glen);
	assert_int_equal(sim_card_grant(c, grant, glen, &b), 0);
	check_conservation();
	wk_hex_decode(id, lid, sizeof(lid));
	wk_buf_reset(&b);
	assert_int_equal(sim_card_recover(c, lid, 0, &b), 0);
	snprintf(path, sizeof(path), "/v1/loads/%s/recover", id);
	flip_all(path, "proof", b.p, b.len);
	assert_int_equal(post_msg(path, "proof", b.p, b.len, &resp), 200);
	assert_string_equal(json_string_value(json_object_get(resp, "status")),
	    "complete");
	json_decref(resp);
	check_conservation();

	/* 2: the grant never reached the card: its statement reverses it */
	start_load(c, 600, &req, id, grant, &glen);
	wk_hex_decode(id, lid, sizeof(lid));
	wk_buf_reset(&b);
	assert_int_equal(sim_card_recover(c, lid, 1, &b), 0);
	snprintf(path, sizeof(path), "/v1/loads/%s/recover", id);
	flip_all(path, "proof", b.p, b.len);
	assert_int_equal(post_msg(path, "proof", b.p, b.len, &resp), 200);
	assert_string_equal(json_string_value(json_object_get(resp, "status")),
	    "reversed");
	json_decref(resp);
	/* the grant arriving late is refused by the card (no session) */
	{
		wk_buf r2;

		wk_buf_init_heap(&r2, WK_MSG_MAX);
		assert_int_equal(sim_card_grant(c, grant, glen, &r2), 1);
		wk_buf_clear(&r2);
	}
	assert_int_equal(c->balance, 400);
	check_conservation();
	/* a proof for a load already reversed is refused */
	{
		wk_msg m = { 0 };

		wk_buf_reset(&b);
		m.type = WK_MSG_LOAD_PROOF;
		memcpy(m.card_id, c->id, 8);
		m.seq = 1;
		memcpy(m.load_id, lid, 16);
		m.balance = 1000;
		assert_int_equal(wk_msg_sign(&m, c->key, &b), WK_MSG_OK);
		expect_error(post_msg(path, "proof", b.p, b.len, &resp), &resp, 403,
		    "bad_tac");
		json_decref(resp);
	}
	wk_buf_clear(&req);
	wk_buf_clear(&b);
	sim_card_free(&c);
}

void
test_limits(void **state)
{
	sim_card *poor = new_card(PAN_POOR), *rich = new_card(PAN_RICH);
	char *before = snapshot(), *after;
	json_t *resp = NULL;
	wk_buf b;

	(void)state;
	wk_buf_init_heap(&b, WK_MSG_MAX);
	assert_int_equal(sim_card_load_request(poor, POOR + 1, &b), 0);
	expect_error(post_msg("/v1/loads", "request", b.p, b.len, &resp), &resp, 422,
	    "insufficient_funds");
	json_decref(resp);
	wk_buf_reset(&b);
	rich->balance = ISS_DEFAULT_CEILING - 10;	/* as the card reports it */
	assert_int_equal(sim_card_load_request(rich, 11, &b), 0);
	expect_error(post_msg("/v1/loads", "request", b.p, b.len, &resp), &resp, 422,
	    "over_ceiling");
	json_decref(resp);
	rich->balance = 0;
	wk_buf_reset(&b);
	assert_int_equal(sim_card_load_request(rich, 0, &b), 0);
	expect_error(post_msg("/v1/loads", "request", b.p, b.len, &resp), &resp, 400,
	    "bad_amount");
	json_decref(resp);
	/* the wrong PAN, correctly signed */
	wk_buf_reset(&b);
	snprintf(rich->pan, sizeof(rich->pan), "%s", PAN_POOR);
	assert_int_equal(sim_card_load_request(rich, 5, &b), 0);
	expect_error(post_msg("/v1/loads", "request", b.p, b.len, &resp), &resp, 403,
	    "pan_mismatch");
	json_decref(resp);
	/* MAC1 under the wrong key, correctly signed */
	wk_buf_reset(&b);
	snprintf(rich->pan, sizeof(rich->pan), "%s", PAN_RICH);
	rich->dlk[0] ^= 0x02;	/* bit 0 is DES parity */
	assert_int_equal(sim_card_load_request(rich, 5, &b), 0);
	expect_error(post_msg("/v1/loads", "request", b.p, b.len, &resp), &resp, 403,
	    "bad_mac1");
	json_decref(resp);
	rich->dlk[0] ^= 0x02;	/* bit 0 is DES parity */
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* exactly the funds: accepted */
	assert_int_equal(sim_load(T.h, poor, POOR, NULL), 200);
	check_conservation();
	wk_buf_clear(&b);
	sim_card_free(&poor);
	sim_card_free(&rich);
}

/* ---- purchase settlement ---- */

/* ---- SM4 purse keys (docs/issuer.md "SM4 purse keys") ---- */

#define TERM_SM4 "000000000077"

static void
key_algs(const char *list)
{
	uint8_t algs[WK_PURSE_KEY_N];
	char err[200];

	assert_int_equal(iss_key_algs_parse(list, algs, err, sizeof(err)), 0);
	assert_int_equal(iss_key_algs_set(T.db, algs), ISS_DB_OK);
}

void
test_sm4(void **state)
{
	static const uint8_t chal[4] = { 0x01, 0x02, 0x03, 0x04 };
	uint8_t algs[WK_PURSE_KEY_N], k3[16], k4[16], mac[4];
	sim_card *old = new_card(PAN_RICH), *c;
	iss_unblock ub;
	iss_err e = { 0 };
	int64_t mid;
	json_t *resp = NULL;
	char err[200], sql[256], *before, *after;
	wk_buf b;

	(void)state;
	wk_buf_init_heap(&b, WK_MSG_MAX);
	/* never chosen: 3DES, for every key */
	assert_int_equal(iss_key_algs_get(T.db, algs), 0);
	for (int id = 0; id < WK_PURSE_KEY_N; id++) {
		assert_int_equal(algs[id], WK_PURSE_ALG_3DES);
		assert_int_equal(old->algs[id], WK_PURSE_ALG_3DES);
	}
	/* the choice parses strictly */
	assert_int_equal(iss_key_algs_parse("all", algs, err, sizeof(err)), 0);
	assert_int_equal(algs[WK_PURSE_KEY_DAMK], WK_PURSE_ALG_SM4);
	assert_int_equal(iss_key_algs_parse("none", algs, err, sizeof(err)), 0);
	assert_int_equal(algs[WK_PURSE_KEY_DLK], WK_PURSE_ALG_3DES);
	assert_int_equal(iss_key_algs_parse("dpk,damk", algs, err, sizeof(err)),
	    0);
	assert_int_equal(algs[WK_PURSE_KEY_DPK], WK_PURSE_ALG_SM4);
	assert_int_equal(algs[WK_PURSE_KEY_DLK], WK_PURSE_ALG_3DES);
	{
		static const char *const bad[] = { "", "dlk,", ",dlk", "dlk,,dpk",
		    "xyz", "DLK", "dlk,sm4", "all,dlk", NULL };

		for (size_t i = 0; bad[i] != NULL; i++)
			assert_int_equal(iss_key_algs_parse(bad[i], algs, err,
			    sizeof(err)), -1);
		assert_int_equal(iss_key_algs_parse(NULL, algs, err,
		    sizeof(err)), -1);
	}
	/* what is stored parses strictly too */
	assert_int_equal(iss_algs_from_hex("0400", algs), 0);
	assert_int_equal(algs[WK_PURSE_KEY_DLK], WK_PURSE_ALG_SM4);
	assert_int_equal(algs[WK_PURSE_KEY_DTK], WK_PURSE_ALG_3DES);
	assert_int_equal(iss_algs_from_hex("05", algs), -1);
	assert_int_equal(iss_algs_from_hex("0G", algs), -1);
	assert_int_equal(iss_algs_from_hex("040", algs), -1);
	assert_int_equal(iss_algs_from_hex("04040404040404040404040404040404",
	    algs), -1);

	/* SM4 for the load, TAC and maintenance keys of new cards */
	key_algs("dlk,dtk,damk");
	c = new_card(PAN_RICH);
	assert_int_equal(c->algs[WK_PURSE_KEY_DLK], WK_PURSE_ALG_SM4);
	assert_int_equal(c->algs[WK_PURSE_KEY_DPK], WK_PURSE_ALG_3DES);
	assert_int_equal(c->algs[WK_PURSE_KEY_DTK], WK_PURSE_ALG_SM4);
	assert_int_equal(c->algs[WK_PURSE_KEY_DULK], WK_PURSE_ALG_3DES);
	assert_int_equal(c->algs[WK_PURSE_KEY_DUK], WK_PURSE_ALG_3DES);
	assert_int_equal(c->algs[WK_PURSE_KEY_DAMK], WK_PURSE_ALG_SM4);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM cards WHERE card_id ="
	    " '%s' AND key_algs = '04000400000400'", c->id_hex);
	assert_int_equal(q_int(sql), 1);
	/* an SM4 card key comes from the SM4 master, never the 3DES one */
	for (int id = 0; id < WK_PURSE_KEY_N; id++) {
		assert_int_equal(iss_card_key(&T.is->keys, id, WK_PURSE_ALG_3DES,
		    c->id, k3), 0);
		assert_int_equal(iss_card_key(&T.is->keys, id, WK_PURSE_ALG_SM4,
		    c->id, k4), 0);
		assert_memory_not_equal(k3, k4, 16);
		assert_memory_equal(c->algs[id] == WK_PURSE_ALG_SM4 ? k4 : k3,
		    c->keys[id], 16);
	}
	assert_int_equal(iss_card_key(&T.is->keys, 0, 0x01, c->id, k3), -1);

	/* loads: the SM4 card's MAC1, MAC2 and TAC with SM4; the card
	 * enrolled before keeps 3DES */
	assert_int_equal(sim_load(T.h, c, 3000, NULL), 200);
	assert_int_equal(c->balance, 3000);
	assert_int_equal(sim_load(T.h, old, 700, NULL), 200);
	check_conservation();
	/* a request naming another algorithm than the card's DLK: refused,
	 * nothing written */
	before = snapshot_but_oplog();
	c->algs[WK_PURSE_KEY_DLK] = WK_PURSE_ALG_3DES;
	memcpy(k3, c->dlk, 16);
	assert_int_equal(iss_card_key(&T.is->keys, WK_PURSE_KEY_DLK,
	    WK_PURSE_ALG_3DES, c->id, c->dlk), 0);
	wk_buf_reset(&b);
	assert_int_equal(sim_card_load_request(c, 10, &b), 0);
	expect_error(post_msg("/v1/loads", "request", b.p, b.len, &resp), &resp,
	    400, "bad_key_version");
	json_decref(resp);
	resp = NULL;
	after = snapshot_but_oplog();
	assert_string_equal(before, after);
	free(before);
	free(after);
	c->algs[WK_PURSE_KEY_DLK] = WK_PURSE_ALG_SM4;
	memcpy(c->dlk, k3, 16);
	c->in_session = false;

	/* settlement: the SM4 card's purchase TAC with its SM4 DTK */
	assert_int_equal(iss_merchant_create(T.db, TERM_SM4, "SM4 shop", &mid,
	    &e), 0);
	assert_int_equal(settle(json_pack("[o, o]",
	    purchase_proof(c, "EP", 0, 300, TERM_SM4, 1, false, false),
	    purchase_proof(old, "EP", 0, 100, TERM_SM4, 2, true, false)), &resp),
	    200);
	assert_int_equal(json_integer_value(json_object_get(resp, "total")), 400);
	json_decref(resp);
	resp = NULL;
	settle_refused(json_pack("[o]", purchase_proof(c, "EP", 1, 100, TERM_SM4,
	    3, false, true)), 403, "bad_tac");
	/* a TAC made with the 3DES key of the same card is no TAC */
	c->algs[WK_PURSE_KEY_DTK] = WK_PURSE_ALG_3DES;
	memcpy(k4, c->dtk, 16);
	assert_int_equal(iss_card_key(&T.is->keys, WK_PURSE_KEY_DTK,
	    WK_PURSE_ALG_3DES, c->id, c->dtk), 0);
	settle_refused(json_pack("[o]", purchase_proof(c, "EP", 1, 100, TERM_SM4,
	    3, false, false)), 403, "bad_tac");
	c->algs[WK_PURSE_KEY_DTK] = WK_PURSE_ALG_SM4;
	memcpy(c->dtk, k4, 16);
	check_conservation();

	/* the unblock script with the SM4 DAMK */
	wk_buf_reset(&b);
	assert_int_equal(sim_card_unblock_request(c, chal, &b), 0);
	assert_int_equal(iss_purse_unblock(T.db, &T.is->keys, c->id_hex, b.p,
	    b.len, &ub, &e), 0);
	assert_int_equal(wk_purse_unblock_mac(WK_PURSE_ALG_SM4, c->damk, chal,
	    mac), 0);
	assert_memory_equal(ub.mac, mac, 4);

	/* the same card enrolled again after the choice changed: its own
	 * algorithms and keys, not the new choice */
	key_algs("none");
	assert_int_equal(sim_enrol(T.h, c, PW, &resp), 200);
	assert_string_equal(json_string_value(json_object_get(resp, "status")),
	    "existing");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    resp, "key_algorithms"), "dlk")), "sm4");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    resp, "key_algorithms"), "dpk")), "3des");
	json_decref(resp);
	resp = NULL;
	assert_int_equal(c->algs[WK_PURSE_KEY_DLK], WK_PURSE_ALG_SM4);
	assert_int_equal(sim_load(T.h, c, 1, NULL), 200);
	/* a stored value that does not parse: an internal error, no load */
	snprintf(sql, sizeof(sql), "UPDATE cards SET key_algs = '07' WHERE"
	    " card_id = '%s'", c->id_hex);
	assert_int_equal(iss_db_script(T.db, sql), ISS_DB_OK);
	wk_buf_reset(&b);
	assert_int_equal(sim_card_load_request(c, 10, &b), 0);
	assert_int_equal(post_msg("/v1/loads", "request", b.p, b.len, &resp),
	    500);
	json_decref(resp);
	snprintf(sql, sizeof(sql), "UPDATE cards SET key_algs = '04000400000400'"
	    " WHERE card_id = '%s'", c->id_hex);
	assert_int_equal(iss_db_script(T.db, sql), ISS_DB_OK);
	check_conservation();
	wk_buf_clear(&b);
	sim_card_free(&c);
	sim_card_free(&old);
}
