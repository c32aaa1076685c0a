/*
 * the issuer end to end: a real database (SQLite file, or the PostgreSQL
 * cluster tests/issuer/with_pg.sh starts: WK_TEST_DB=pg), the real HTTP
 * server on a free port, and in-process simulated cards. The same suite
 * runs on both engines. Here the fixtures, setup and main; the tests, by
 * area, in test_issuer_*.c (test_issuer.h).
 */
#include "test_issuer.h"

struct issuer_test T;

#include "testbed.h"

/* ---- fixtures ---- */

int64_t
q_int(const char *sql)
{
	iss_res *r = NULL;
	int64_t v;

	assert_int_equal(iss_db_exec(T.db, sql, NULL, 0, &r), ISS_DB_OK);
	v = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	return v;
}

/* everything the issuer could change, as one string */
char *
snapshot(void)
{
	static const char *const qs[] = {
		"SELECT id, balance FROM accounts ORDER BY id",
		"SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM entries",
		"SELECT COUNT(*) FROM txns",
		"SELECT COUNT(*) FROM oplog",
		"SELECT id, status, new_balance FROM loads ORDER BY id",
		"SELECT card_id, balance, revoked_at, cert FROM cards ORDER BY card_id",
		"SELECT card_id, seq, raw FROM audit_records ORDER BY card_id, seq",
		"SELECT card_id, acked_seq, acked_hash FROM audit_acks ORDER BY card_id",
		"SELECT terminal_id, account_id FROM merchants ORDER BY terminal_id",
		("SELECT terminal_id, terminal_seq, card_id, purse, offline_seq,"
		" amount FROM settlements ORDER BY terminal_id, terminal_seq"),
		("SELECT token_id, sender, receiver, amount FROM transfers"
		" ORDER BY token_id"),
		"SELECT card_id, float_account FROM cards ORDER BY card_id",
		("SELECT id, card_id, status, challenge FROM pin_reloads"
		" ORDER BY id"),
	};
	size_t cap = 1 << 16, n = 0;
	char *s = calloc(1, cap);

	assert_non_null(s);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		iss_res *r = NULL;

		assert_int_equal(iss_db_exec(T.db, qs[i], NULL, 0, &r), ISS_DB_OK);
		for (size_t row = 0; row < iss_res_rows(r); row++)
			for (size_t col = 0; col < iss_res_cols(r); col++) {
				const char *t = iss_res_text(r, row, col);
				size_t l = strlen(t ? t : "-") + 2;

				while (n + l + 1 > cap) {
					cap *= 2;
					assert_non_null(s = realloc(s, cap));
				}
				n += (size_t)snprintf(s + n, cap - n, "%s|", t ? t : "-");
			}
		iss_res_free(&r);
		s[n++] = '\n';
		s[n] = '\0';
	}
	return s;
}

/* the snapshot without its oplog line (the 4th): for a refusal the oplog
 * records and nothing else changes */
char *
snapshot_but_oplog(void)
{
	char *s = snapshot(), *p = s;

	for (int i = 0; i < 3 && p != NULL; i++)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	if (p != NULL) {
		char *end = strchr(p, '\n');

		if (end != NULL)
			memmove(p, end + 1, strlen(end + 1) + 1);
	}
	return s;
}

void
check_conservation(void)
{
	/* customers + merchants + float hold exactly what came in from outside */
	assert_int_equal(q_int("SELECT SUM(balance) FROM accounts WHERE kind <>"
	    " 'external'"), T.deposits);
	assert_int_equal(q_int("SELECT -balance FROM accounts WHERE kind ="
	    " 'external'"), T.deposits);
	/* the floats are every purse balance plus every pending load: what the
	 * cards were loaded with (the simulated cards spend only through
	 * settled purchases) less what was settled to merchants */
	assert_int_equal(q_int(FLOATS),
	    q_int("SELECT COALESCE(SUM(amount), 0) FROM loads WHERE status IN"
	    " ('complete', 'pending')") -
	    q_int("SELECT COALESCE(SUM(amount), 0) FROM settlements"));
	/* and each card's float is its own: its loads, plus the transfers it
	 * received, less those it sent and its settled purchases */
	assert_int_equal(q_int("SELECT COUNT(*) FROM cards c WHERE"
	    " COALESCE((SELECT balance FROM accounts a WHERE"
	    "  a.id = c.float_account), 0) <>"
	    " (SELECT COALESCE(SUM(amount), 0) FROM loads l WHERE"
	    "  l.card_id = c.card_id AND l.status IN ('complete', 'pending'))"
	    " + (SELECT COALESCE(SUM(amount), 0) FROM transfers t WHERE"
	    "  t.receiver = c.card_id)"
	    " - (SELECT COALESCE(SUM(amount), 0) FROM transfers t WHERE"
	    "  t.sender = c.card_id)"
	    " - (SELECT COALESCE(SUM(amount), 0) FROM settlements s WHERE"
	    "  s.card_id = c.card_id)"), 0);
	/* no card float is ever below zero, and the old single float is empty */
	assert_int_equal(q_int("SELECT COUNT(*) FROM accounts WHERE kind ="
	    " 'float' AND balance < 0"), 0);
	assert_int_equal(q_int("SELECT balance FROM accounts WHERE id = 1"), 0);
	/* the merchants hold exactly the settled purchases */
	assert_int_equal(q_int("SELECT COALESCE(SUM(balance), 0) FROM accounts"
	    " WHERE kind = 'merchant'"),
	    q_int("SELECT COALESCE(SUM(amount), 0) FROM settlements"));
	/* every transaction is a balanced pair; balances are their entries */
	assert_int_equal(q_int("SELECT COUNT(*) FROM (SELECT txn_id FROM entries"
	    " GROUP BY txn_id HAVING SUM(amount) <> 0 OR COUNT(*) <> 2) x"), 0);
	assert_int_equal(q_int("SELECT COUNT(*) FROM accounts a WHERE balance <>"
	    " (SELECT COALESCE(SUM(amount), 0) FROM entries e"
	    " WHERE e.account_id = a.id)"), 0);
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
	if (testbed_begin("wk-issuer-test") != 0)
		return -1;
	u.key_file = T.key;
	if (sim_factory_init(T.mfg_pem) != 0)
		return -1;
	if (iss_db_open(T.url, &T.db, err, sizeof(err)) != 0 ||
	    iss_schema_migrate(T.db, err, sizeof(err)) != 0 ||
	    iss_schema_migrate(T.db, err, sizeof(err)) != 0 ||
	    iss_keys_create(T.db, &u, ISS_DEFAULT_CEILING, err, sizeof(err)) != 0 ||
	    iss_mfg_add(T.db, &u, T.mfg_pem, &added, err, sizeof(err)) != 0 ||
	    added != 1) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	if (iss_account_create(T.db, PAN_RICH, "Rich", PW, &id, &e) != 0 ||
	    iss_account_create(T.db, PAN_POOR, "Poor", PW, &id, &e) != 0 ||
	    iss_account_create(T.db, PAN_BUSY, "Busy", PW, &id, &e) != 0 ||
	    iss_deposit(T.db, PAN_RICH, RICH, &e) != 0 ||
	    iss_deposit(T.db, PAN_POOR, POOR, &e) != 0 ||
	    iss_deposit(T.db, PAN_BUSY, BUSY, &e) != 0) {
		fprintf(stderr, "setup: %s\n", e.message);
		return -1;
	}
	T.deposits = RICH + POOR + BUSY;
	if (testbed_serve(&u) != 0)
		return -1;
	/* every test talks from 127.0.0.1: the address's allowance of
	 * sessions is tested alone (test_session_flood) */
	iss_limiter_free(&T.is->session_limit);
	iss_limiter_free(&T.is->enrol_limit);
	if (iss_limiter_new(1000000, 1, &T.is->session_limit) != 0 ||
	    iss_limiter_new(1000000, 1, &T.is->enrol_limit) != 0)
		return -1;
	return sim_http_new(T.base, &T.h);
}

static int
teardown(void **state)
{
	(void)state;
	testbed_end();
	return 0;
}

sim_card *
new_card(const char *pan)
{
	sim_card *c;

	assert_int_equal(sim_card_new(pan, &c), 0);
	assert_int_equal(sim_enrol(T.h, c, PW, NULL), 200);
	return c;
}

const char *
err_code(json_t *resp)
{
	const char *c = json_string_value(json_object_get(resp, "error"));

	if (c == NULL) {
		char *d = resp ? json_dumps(resp, JSON_COMPACT) : NULL;

		fprintf(stderr, "no error in the answer: %s\n", d ? d : "(none)");
		free(d);
	}
	assert_non_null(c);
	assert_non_null(json_string_value(json_object_get(resp, "message")));
	return c;
}

/* posts {field: b64(msg)} to path; returns the status, *resp the answer */
long
post_msg(const char *path, const char *field, const uint8_t *m, size_t len,
    json_t **resp)
{
	json_t *req = json_pack("{s:o}", field, wk_b64_json(m, len));
	long st = sim_http_call(T.h, path, req, resp);

	json_decref(req);
	return st;
}

void
expect_error(long st, json_t **respp, long want, const char *code)
{
	json_t *resp = *respp;

	if (st != want || strcmp(err_code(resp), code) != 0)
		fprintf(stderr, "got %ld %s\n", st,
		    json_dumps(resp, JSON_COMPACT));
	assert_int_equal(st, want);
	assert_string_equal(err_code(resp), code);
}

/* a load request posted -> grant (not yet given to the card) */
void
post_request(const wk_buf *req, char *load_id, uint8_t *grant,
    size_t *grant_len)
{
	json_t *resp = NULL;
	long n;

	assert_int_equal(post_msg("/v1/loads", "request", req->p, req->len, &resp),
	    200);
	assert_string_equal(json_string_value(json_object_get(resp, "status")),
	    "pending");
	snprintf(load_id, 33, "%s", json_string_value(json_object_get(resp,
	    "load_id")));
	n = sim_unb64(json_object_get(resp, "grant"), grant, WK_MSG_MAX);
	assert_true(n > 0);
	*grant_len = (size_t)n;
	json_decref(resp);
}

/* request -> grant (not yet given to the card) */
void
start_load(sim_card *c, uint32_t amount, wk_buf *req, char *load_id,
    uint8_t *grant, size_t *grant_len)
{
	wk_buf_reset(req);
	assert_int_equal(sim_card_load_request(c, amount, req), 0);
	post_request(req, load_id, grant, grant_len);
}

/* the card whose session T.h carries (docs/issuer.md "Sessions"): the
 * holder's, so every door of the card opens; a new one only when the card
 * changes (each costs a challenge of the address's allowance) */
char T_login[17];

void
as_card(sim_card *c)
{
	if (strcmp(T_login, c->id_hex) == 0)
		return;
	assert_int_equal(sim_login(T.h, c, WK_MSG_SCOPE_HOLDER), 200);
	snprintf(T_login, sizeof(T_login), "%s", c->id_hex);
}

void
as_nobody(void)
{
	sim_http_set_auth(T.h, NULL);
	T_login[0] = '\0';
}

void
load_status(sim_card *c, const char *load_id, const char *want)
{
	char path[128];
	json_t *resp = NULL;

	as_card(c);
	snprintf(path, sizeof(path), "/v1/loads/%s", load_id);
	assert_int_equal(sim_http_call(T.h, path, NULL, &resp), 200);
	assert_string_equal(json_string_value(json_object_get(resp, "status")), want);
	json_decref(resp);
}

/* flips every byte of m in turn; each must be refused with a 4xx and
 * change nothing */
void
flip_all(const char *path, const char *field, const uint8_t *m, size_t len)
{
	uint8_t copy[WK_MSG_MAX];
	char *before = snapshot(), *after;

	for (size_t i = 0; i < len; i++) {
		json_t *resp = NULL;
		long st;

		memcpy(copy, m, len);
		copy[i] ^= (uint8_t)(i % 7 == 0 ? 0x80 : 0x01);
		st = post_msg(path, field, copy, len, &resp);
		if (st < 400 || st > 499)
			fprintf(stderr, "%s byte %zu: status %ld\n", field, i, st);
		assert_in_range(st, 400, 499);
		err_code(resp);
		json_decref(resp);
	}
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_only),
		cmocka_unit_test(test_app_serial),
		cmocka_unit_test(test_enrol),
		cmocka_unit_test(test_enrol_oracle),
		cmocka_unit_test(test_enrol_limits),
		cmocka_unit_test(test_enrol_address),
		cmocka_unit_test(test_enrol_attestation),
		cmocka_unit_test(test_manufacturers),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_flip_request_receipt),
		cmocka_unit_test(test_refusal),
		cmocka_unit_test(test_recover),
		cmocka_unit_test(test_certificates),
		cmocka_unit_test(test_cert_kept_until_expiry),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bad_http),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_race),
		cmocka_unit_test(test_audit_sync),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_session_flood),
		cmocka_unit_test(test_purse_unblock),
		cmocka_unit_test(test_pin_reload),
		cmocka_unit_test(test_settle),
		cmocka_unit_test(test_settle_float),
		cmocka_unit_test(test_settle_identity),
		cmocka_unit_test(test_settle_race),
		cmocka_unit_test(test_transfers),
		cmocka_unit_test(test_sm4),
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_bank_records),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
