/* test_issuer: migrations, bad HTTP, concurrency and races (test_issuer.h) */
#include "test_issuer.h"

static int64_t
mq_int(iss_db *db, const char *sql)
{
	iss_res *r = NULL;
	int64_t v;

	assert_int_equal(iss_db_exec(db, sql, NULL, 0, &r), ISS_DB_OK);
	v = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	return v;
}

static void
mexec(iss_db *db, const char *sql)
{
	int rc = iss_db_script(db, sql);

	if (rc != ISS_DB_OK)
		fprintf(stderr, "%s: %s\n", sql, iss_db_errmsg(db));
	assert_int_equal(rc, ISS_DB_OK);
}

/* the old way money moved (schema 4): account <-> the single float */
static void
old_move(iss_db *db, int64_t from, int64_t to, int64_t amount, const char *kind)
{
	assert_int_equal(iss_db_begin(db), ISS_DB_OK);
	assert_int_equal(iss_ledger_move(db, from, to, amount, kind, "old", 0), 0);
	assert_int_equal(iss_db_commit(db), ISS_DB_OK);
}

/* issue 11: migration 5 moves a schema-4 database's single float into one
 * float per card without changing any sum (both engines) */
void
test_migrate(void **state)
{
	char url[600], err[512];
	iss_db *db = NULL;
	int64_t cust, merch, total;

	(void)state;
	if (iss_db_is_pg(T.db)) {
		const char *at = strstr(T.url, "/walletkey?");

		assert_non_null(at);
		(void)iss_db_script(T.db, "DROP DATABASE IF EXISTS walletkey_mig");
		assert_int_equal(iss_db_script(T.db, "CREATE DATABASE walletkey_mig"),
		    ISS_DB_OK);
		snprintf(url, sizeof(url), "%.*s/walletkey_mig?%s",
		    (int)(at - T.url), T.url, at + strlen("/walletkey?"));
	} else {
		snprintf(url, sizeof(url), "sqlite:%s/old.db", T.dir);
	}
	assert_int_equal(iss_db_open(url, &db, err, sizeof(err)), 0);
	assert_int_equal(iss_schema_migrate_to(db, 4, err, sizeof(err)), 0);
	assert_int_equal(iss_schema_version(db), 4);
	/* a customer, a merchant, three cards as schema 4 had them */
	mexec(db, "INSERT INTO accounts (kind, pan, name, balance, created_at)"
	    " VALUES ('customer', '6222999900000001', 'Old', 0, 'x')");
	cust = mq_int(db, "SELECT id FROM accounts WHERE kind = 'customer'");
	mexec(db, "INSERT INTO accounts (kind, pan, name, balance, created_at)"
	    " VALUES ('merchant', NULL, 'Old shop', 0, 'x')");
	merch = mq_int(db, "SELECT id FROM accounts WHERE kind = 'merchant'");
	{
		char sql[512];
		static const char *const ids[] = { "aa00000000000001",
		    "bb00000000000002", "cc00000000000003" };

		for (size_t i = 0; i < 3; i++) {
			snprintf(sql, sizeof(sql), "INSERT INTO cards (card_id,"
			    " account_id, cert_serial, cert, pubkey, key_version,"
			    " balance, created_at) VALUES ('%s', %lld, 'S%zu', 'c',"
			    " 'k', 1, 0, 'x')", ids[i], (long long)cust, i);
			mexec(db, sql);
		}
		snprintf(sql, sizeof(sql), "INSERT INTO merchants (terminal_id,"
		    " account_id, created_at) VALUES ('000000000042', %lld, 'x')",
		    (long long)merch);
		mexec(db, sql);
	}
	old_move(db, ISS_EXTERNAL_ACCOUNT, cust, 10000, "deposit");
	/* loads: card a 1000 complete, 200 pending, 300 reversed; b 500 */
	mexec(db, "INSERT INTO loads (id, card_id, seq, account_id, amount, status,"
	    " request_hash, grant_msg, grant_op, created_at) VALUES"
	    " ('l1', 'aa00000000000001', 0, 3, 1000, 'complete', 'h', 'g', 0, 'x'),"
	    " ('l2', 'aa00000000000001', 1, 3, 200, 'pending', 'h', 'g', 0, 'x'),"
	    " ('l3', 'aa00000000000001', 2, 3, 300, 'reversed', 'h', 'g', 0, 'x'),"
	    " ('l4', 'bb00000000000002', 0, 3, 500, 'complete', 'h', 'g', 0, 'x')");
	old_move(db, cust, ISS_FLOAT_ACCOUNT, 1000, "load");
	old_move(db, cust, ISS_FLOAT_ACCOUNT, 200, "load");
	old_move(db, cust, ISS_FLOAT_ACCOUNT, 300, "load");
	old_move(db, ISS_FLOAT_ACCOUNT, cust, 300, "load.reversal");
	old_move(db, cust, ISS_FLOAT_ACCOUNT, 500, "load");
	/* settlements: a 150, b 400, and c 50 though c was never loaded (a
	 * transfer to it nobody reported before this version) */
	mexec(db, "INSERT INTO settlements (card_id, purse, offline_seq,"
	    " terminal_id, terminal_seq, amount, tx_date, tx_time, tac, oplog_id,"
	    " settled_at) VALUES"
	    " ('aa00000000000001', 'EP', 0, '000000000042', '00000001', 150, 'd',"
	    "  't', 'tac', 0, 'x'),"
	    " ('bb00000000000002', 'EP', 0, '000000000042', '00000002', 400, 'd',"
	    "  't', 'tac', 0, 'x'),"
	    " ('cc00000000000003', 'EP', 0, '000000000042', '00000003', 50, 'd',"
	    "  't', 'tac', 0, 'x')");
	old_move(db, ISS_FLOAT_ACCOUNT, merch, 600, "settlement");
	total = mq_int(db, "SELECT balance FROM accounts WHERE id = 1");
	assert_int_equal(total, 1100);

	assert_int_equal(iss_schema_migrate(db, err, sizeof(err)), 0);
	assert_int_equal(iss_schema_version(db), iss_schema_latest());
	/* no sum changed */
	assert_int_equal(mq_int(db, "SELECT SUM(balance) FROM accounts"), 0);
	assert_int_equal(mq_int(db, "SELECT COALESCE(SUM(balance), 0) FROM"
	    " accounts WHERE kind = 'float'"), 1100);
	assert_int_equal(mq_int(db, "SELECT balance FROM accounts WHERE kind ="
	    " 'customer'"), 10000 - 1700);
	assert_int_equal(mq_int(db, "SELECT balance FROM accounts WHERE kind ="
	    " 'merchant'"), 600);
	assert_int_equal(mq_int(db, "SELECT COUNT(*) FROM (SELECT txn_id FROM"
	    " entries GROUP BY txn_id HAVING SUM(amount) <> 0) x"), 0);
	assert_int_equal(mq_int(db, "SELECT COUNT(*) FROM accounts a WHERE"
	    " balance <> (SELECT COALESCE(SUM(amount), 0) FROM entries e"
	    " WHERE e.account_id = a.id)"), 0);
	/* the single float is shared out in card order: a takes its 1050
	 * (loads with the pending one, less 150), b the 50 left of its 100,
	 * c (below zero) nothing */
	assert_int_equal(mq_int(db, "SELECT balance FROM accounts WHERE id = 1"), 0);
	assert_int_equal(mq_int(db, "SELECT a.balance FROM cards c JOIN accounts a"
	    " ON a.id = c.float_account WHERE c.card_id = 'aa00000000000001'"), 1050);
	assert_int_equal(mq_int(db, "SELECT a.balance FROM cards c JOIN accounts a"
	    " ON a.id = c.float_account WHERE c.card_id = 'bb00000000000002'"), 50);
	assert_int_equal(mq_int(db, "SELECT a.balance FROM cards c JOIN accounts a"
	    " ON a.id = c.float_account WHERE c.card_id = 'cc00000000000003'"), 0);
	assert_int_equal(mq_int(db, "SELECT COUNT(*) FROM oplog WHERE kind ="
	    " 'float.migrate'"), 2);
	/* the settlements kept, now keyed by what the TAC covers */
	assert_int_equal(mq_int(db, "SELECT COUNT(*) FROM settlements"), 3);
	assert_int_equal(iss_db_exec(db, "INSERT INTO settlements (terminal_id,"
	    " terminal_seq, card_id, purse, offline_seq, amount, tx_date, tx_time,"
	    " tac, oplog_id, settled_at) VALUES ('000000000042', '00000001',"
	    " 'bb00000000000002', 'EP', 5, 1, 'd', 't', 'tac', 0, 'x')", NULL, 0,
	    NULL), ISS_DB_CONFLICT);
	/* again: nothing to do */
	assert_int_equal(iss_schema_migrate(db, err, sizeof(err)), 0);
	assert_int_equal(mq_int(db, "SELECT COUNT(*) FROM oplog WHERE kind ="
	    " 'float.migrate'"), 2);
	iss_db_free(&db);
	if (iss_db_is_pg(T.db))
		(void)iss_db_script(T.db, "DROP DATABASE walletkey_mig");
}

void
test_bad_http(void **state)
{
	static const struct { const char *path, *body; long st; const char *code; } cases[] = {
		{ "/v1/loads", "{", 400, "bad_json" },
		{ "/v1/loads", "", 400, "bad_json" },
		{ "/v1/loads", "[1,2]", 400, "bad_json" },
		{ "/v1/loads", "{\"request\":\"AA==\",\"request\":\"AA==\"}", 400, "bad_json" },
		{ "/v1/loads", "{\"request\":1}", 400, "missing_field" },
		{ "/v1/loads", "{}", 400, "missing_field" },
		{ "/v1/loads", "{\"request\":\"AA==\",\"x\":1}", 400, "unknown_field" },
		{ "/v1/loads", "{\"request\":\"!!!\"}", 400, "bad_message" },
		{ "/v1/loads", "{\"request\":\"4AA=\"}", 400, "bad_message" },
		{ "/v1/enrolments", "{\"pan\":\"1\"}", 400, "missing_field" },
		{ "/v1/enrolments", "{\"pan\":\"1\",\"password\":\"x\",\"card_id\":\"zz\","
		  "\"csr\":\"AA==\"}", 400, "bad_card_id" },
		{ "/v1/enrolments", "{\"pan\":\"1\",\"password\":\"x\",\"card_id\":"
		  "\"0011223344556677\",\"csr\":\"AA==\"}", 400, "bad_csr" },
		{ "/v1/loads/00112233445566778899aabbccddeeff/receipt", "{\"receipt\":"
		  "\"AA==\"}", 404, "load_not_found" },
		{ "/v1/loads/nothex/refusal", "{}", 404, "load_not_found" },
		{ "/v1/loads/00112233445566778899aabbccddeeff/other", "{}", 404, "not_found" },
		{ "/v1/nothing", "{}", 404, "not_found" },
		{ "/v1/health", "{}", 405, "method_not_allowed" },
	};
	char *before = snapshot(), *after, *big;
	json_t *resp = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long st = sim_http_raw(T.h, cases[i].path, cases[i].body,
		    strlen(cases[i].body), &resp);

		if (st != cases[i].st)
			fprintf(stderr, "case %zu: %ld\n", i, st);
		expect_error(st, &resp, cases[i].st, cases[i].code);
		json_decref(resp);
	}
	expect_error(sim_http_call(T.h, "/v1/loads", NULL, &resp), &resp, 405,
	    "method_not_allowed");
	json_decref(resp);
	/* oversized bodies, announced and chunked alike */
	assert_non_null(big = malloc(ISS_MAX_BODY + 100));
	memset(big, ' ', ISS_MAX_BODY + 100);
	expect_error(sim_http_raw(T.h, "/v1/loads", big, ISS_MAX_BODY + 100, &resp),
	    &resp, 413, "body_too_large");
	json_decref(resp);
	free(big);
	/* a message of the wrong type where a request belongs */
	{
		sim_card *c = new_card(PAN_RICH);
		wk_buf b;
		uint8_t lid[16] = { 0 };

		free(before);
		before = snapshot();
		wk_buf_init_heap(&b, WK_MSG_MAX);
		assert_int_equal(sim_card_recover(c, lid, 0, &b), 0);
		expect_error(post_msg("/v1/loads", "request", b.p, b.len, &resp), &resp,
		    400, "wrong_message_type");
		json_decref(resp);
		wk_buf_clear(&b);
		sim_card_free(&c);
	}
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* handled in-process too, as the fuzz target does */
	{
		iss_err e = { 0 };

		iss_request rq = { .method = "POST", .url = "/v1/loads",
		    .body = "{", .body_len = 1 };

		assert_int_equal(iss_handle(T.is, &rq, &resp, &e), -1);
		assert_int_equal(e.status, 400);
		rq.method = "GET";
		rq.url = "/v1/health";
		rq.body = "";
		rq.body_len = 0;
		assert_int_equal(iss_handle(T.is, &rq, &resp, &e), 0);
		json_decref(resp);
	}
}

typedef struct worker {
	sim_card *card;
	int loads;
	int ok;
	const char *base;
} worker;

static void *
run_worker(void *arg)
{
	worker *w = arg;
	sim_http *h;

	if (sim_http_new(w->base, &h) != 0)
		return NULL;
	for (int i = 0; i < w->loads; i++)
		if (sim_load(h, w->card, 10 + (uint32_t)i, NULL) == 200)
			w->ok++;
	sim_http_free(&h);
	return NULL;
}

void
test_concurrent(void **state)
{
	enum { N = 8, LOADS = 10 };
	pthread_t th[N];
	worker w[N];
	int64_t float_before = q_int(FLOATS), want = 0;

	iss *is2 = NULL;
	iss_server *srv2 = NULL;
	iss_unlock u = { .key_file = T.key };
	char err[256], base2[64];

	(void)state;
	/* a second, independent instance on the same database: the server
	 * keeps no state, so clients may use either */
	assert_int_equal(iss_open(T.url, &u, 8, &is2, err, sizeof(err)), 0);
	assert_int_equal(iss_server_start(is2, "127.0.0.1:0", NULL, NULL, &srv2,
	    err, sizeof(err)), 0);
	snprintf(base2, sizeof(base2), "http://127.0.0.1:%u",
	    (unsigned)iss_server_port(srv2));
	for (int i = 0; i < N; i++) {
		w[i] = (worker){ new_card(i % 2 ? PAN_BUSY : PAN_RICH), LOADS, 0,
		    i % 4 < 2 ? T.base : base2 };
		for (int j = 0; j < LOADS; j++)
			want += 10 + j;
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&th[i], NULL, run_worker, &w[i]), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].ok, LOADS);
		sim_card_free(&w[i].card);
	}
	assert_int_equal(q_int(FLOATS),
	    float_before + want);
	check_conservation();
	iss_server_stop(&srv2);
	iss_free(&is2);
}

typedef struct racer {
	const wk_buf *req;
	long status;
	char load_id[33];
} racer;

static void *
run_racer(void *arg)
{
	racer *r = arg;
	sim_http *h;
	json_t *req, *resp = NULL;

	if (sim_http_new(T.base, &h) != 0)
		return NULL;
	req = json_pack("{s:o}", "request", wk_b64_json(r->req->p, r->req->len));
	r->status = sim_http_call(h, "/v1/loads", req, &resp);
	if (r->status == 200)
		snprintf(r->load_id, sizeof(r->load_id), "%s",
		    json_string_value(json_object_get(resp, "load_id")));
	json_decref(req);
	json_decref(resp);
	sim_http_free(&h);
	return NULL;
}

/* the same request from many connections at once: one load, one debit */
void
test_race(void **state)
{
	enum { N = 8 };
	sim_card *c = new_card(PAN_RICH);
	pthread_t th[N];
	racer r[N];
	wk_buf req;
	int64_t entries = q_int("SELECT COUNT(*) FROM entries");
	char sql[256];

	(void)state;
	wk_buf_init_heap(&req, WK_MSG_MAX);
	assert_int_equal(sim_card_load_request(c, 77, &req), 0);
	for (int i = 0; i < N; i++) {
		r[i] = (racer){ &req, 0, "" };
		assert_int_equal(pthread_create(&th[i], NULL, run_racer, &r[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(r[i].status, 200);
		assert_string_equal(r[i].load_id, r[0].load_id);
	}
	assert_int_equal(q_int("SELECT COUNT(*) FROM entries"), entries + 2);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM loads WHERE card_id = '%s'",
	    c->id_hex);
	assert_int_equal(q_int(sql), 1);
	check_conservation();
	wk_buf_clear(&req);
	sim_card_free(&c);
}
