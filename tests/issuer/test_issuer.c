/*
 * the issuer end to end: a real database (SQLite file, or the PostgreSQL
 * cluster tests/issuer/with_pg.sh starts: WK_TEST_DB=pg), the real HTTP
 * server on a free port, and in-process simulated cards. The same suite
 * runs on both engines.
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
#include <openssl/pem.h>
#include <sodium.h>

#include "iss.h"
#include "sim_card.h"
#include "wk_arec.h"
#include "wk_attest.h"
#include "wk_hex.h"
#include "wk_purse_crypto.h"

#define PW "password1"
#define PAN_RICH "6222000000000001"
#define PAN_POOR "6222000000000002"
#define PAN_BUSY "6222000000000003"
#define RICH 10000000
#define POOR 500
#define BUSY 1000000
/* the card floats together (one account per card, kind 'float') */
#define FLOATS "SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE kind = 'float'"

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
	int64_t deposits;
} T;

#include "testbed.h"

/* ---- fixtures ---- */

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

/* everything the issuer could change, as one string */
static char *
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
static char *
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

static void
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

static sim_card *
new_card(const char *pan)
{
	sim_card *c;

	assert_int_equal(sim_card_new(pan, &c), 0);
	assert_int_equal(sim_enrol(T.h, c, PW, NULL), 200);
	return c;
}

static const char *
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
static long
post_msg(const char *path, const char *field, const uint8_t *m, size_t len,
    json_t **resp)
{
	json_t *req = json_pack("{s:o}", field, wk_b64_json(m, len));
	long st = sim_http_call(T.h, path, req, resp);

	json_decref(req);
	return st;
}

static void
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
static void
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
static void
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
static char T_login[17];

static void
as_card(sim_card *c)
{
	if (strcmp(T_login, c->id_hex) == 0)
		return;
	assert_int_equal(sim_login(T.h, c, WK_MSG_SCOPE_HOLDER), 200);
	snprintf(T_login, sizeof(T_login), "%s", c->id_hex);
}

static void
as_nobody(void)
{
	sim_http_set_auth(T.h, NULL);
	T_login[0] = '\0';
}

static void
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
static void
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

/* ---- tests ---- */

/* ---- audit sync (docs/audit.md "Sync with the issuer") ---- */

#define SYNC_N 300

/* a chain of n records from seq 1 */
static uint8_t *
audit_chain(size_t n)
{
	uint8_t *raw = calloc(n, WK_AREC_LEN), prev[32] = { 0 };
	wk_arec r;

	assert_non_null(raw);
	for (size_t i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		r.seq = i + 1;
		r.counter = (uint16_t)(i + 1);
		r.type = WK_AREC_EP_LOAD;
		r.amount = (uint32_t)(100 + i);
		r.balance = (uint32_t)(1000 + i);
		memcpy(r.prev, prev, 32);
		wk_arec_encode(&r, raw + i * WK_AREC_LEN);
		wk_arec_hash(raw + i * WK_AREC_LEN, prev);
	}
	return raw;
}

/* POSTs records [first, first + n) of raw, sealed to the issuer's key */
static long
audit_upload_to(sim_card *c, sim_card *to, const uint8_t pk[32],
    const uint8_t *raw, uint64_t first, size_t n, json_t **resp)
{
	uint8_t pt[WK_AREC_PAGE_HDR + WK_AREC_PAGE_MAX * WK_AREC_LEN];
	char path[96], *hex;
	wk_buf sealed;
	json_t *req;
	long st;

	assert_true(n <= WK_AREC_PAGE_MAX);
	for (int i = 0; i < 8; i++) {
		pt[i] = (uint8_t)(first >> (56 - 8 * i));
		pt[10 + i] = (uint8_t)((first + n) >> (56 - 8 * i));
	}
	pt[8] = (uint8_t)(n >> 8);
	pt[9] = (uint8_t)n;
	pt[18] = 0;
	memcpy(pt + WK_AREC_PAGE_HDR, raw, n * WK_AREC_LEN);
	wk_buf_init_heap(&sealed, sizeof(pt) + 128);
	assert_int_equal(wk_arec_seal(pk, c->id, pt, WK_AREC_PAGE_HDR +
	    n * WK_AREC_LEN, &sealed), WK_AREC_OK);
	assert_non_null(hex = malloc(2 * sealed.len + 1));
	wk_hex_encode(sealed.p, sealed.len, hex);
	req = json_pack("{s:s}", "page", hex);
	as_card(to);
	snprintf(path, sizeof(path), "/v1/audit/%s/records", to->id_hex);
	st = sim_http_call(T.h, path, req, resp);
	json_decref(req);
	free(hex);
	wk_buf_clear(&sealed);
	return st;
}

static long
audit_upload(sim_card *c, const uint8_t pk[32], const uint8_t *raw,
    uint64_t first, size_t n, json_t **resp)
{
	return audit_upload_to(c, c, pk, raw, first, n, resp);
}

/* POSTs a chain head signed with key */
static long
audit_ack(sim_card *c, EVP_PKEY *key, uint64_t seq, const uint8_t hash[32],
    json_t **resp)
{
	uint8_t tbs[WK_AREC_HEAD_TBS_LEN], nonce[16], zero[32] = { 0 };
	uint8_t sig[WK_AREC_SIG_MAX];
	char path[96], hh[65], nh[33], zh[65], sh[2 * WK_AREC_SIG_MAX + 1];
	size_t sig_len = 0;
	json_t *req;
	long st;

	randombytes_buf(nonce, sizeof(nonce));
	wk_arec_head_tbs(c->id, 0, zero, seq, hash, nonce, tbs);
	assert_int_equal(wk_arec_sign(key, tbs, sizeof(tbs), sig, sizeof(sig),
	    &sig_len), WK_AREC_OK);
	wk_hex_encode(hash, 32, hh);
	wk_hex_encode(nonce, 16, nh);
	wk_hex_encode(zero, 32, zh);
	wk_hex_encode(sig, sig_len, sh);
	req = json_pack("{s:{s:i, s:s, s:I, s:s, s:s, s:s}}", "head",
	    "checkpoint_seq", 0, "checkpoint_hash", zh, "seq", (json_int_t)seq,
	    "hash", hh, "nonce", nh, "signature", sh);
	as_card(c);
	snprintf(path, sizeof(path), "/v1/audit/%s/ack", c->id_hex);
	st = sim_http_call(T.h, path, req, resp);
	json_decref(req);
	return st;
}

static void
test_audit_sync(void **state)
{
	uint8_t pk[32], h[32], ack_sig[WK_AREC_SIG_MAX], tbs[WK_AREC_ACK_TBS_LEN];
	uint8_t *raw = audit_chain(SYNC_N + 1), page[WK_AREC_HIST_HDR +
	    WK_AREC_PAGE_MAX * WK_AREC_LEN];
	sim_card *c = new_card(PAN_RICH), *other = new_card(PAN_POOR);
	json_t *resp = NULL;
	wk_arec_hist hist;
	char *before, path[96];
	long n;

	(void)state;
	assert_int_equal(sim_http_call(T.h, "/v1/audit/key", NULL, &resp), 200);
	assert_int_equal(wk_hex_decode(json_string_value(json_object_get(resp,
	    "x25519")), pk, 32), 32);
	json_decref(resp);
	/* 255 + 45 records, then the same page again: nothing added */
	assert_int_equal(audit_upload(c, pk, raw, 1, 255, &resp), 200);
	assert_int_equal(json_integer_value(json_object_get(resp, "stored_seq")), 255);
	json_decref(resp);
	assert_int_equal(audit_upload(c, pk, raw + 255 * WK_AREC_LEN, 256, 45,
	    &resp), 200);
	assert_int_equal(json_integer_value(json_object_get(resp, "stored_seq")),
	    SYNC_N);
	json_decref(resp);
	assert_int_equal(audit_upload(c, pk, raw + 255 * WK_AREC_LEN, 256, 45,
	    &resp), 200);
	assert_int_equal(json_integer_value(json_object_get(resp, "added")), 0);
	json_decref(resp);
	/* refusals change nothing */
	before = snapshot();
	/* a gap */
	raw[SYNC_N * WK_AREC_LEN + 7] = (uint8_t)(SYNC_N + 2);
	expect_error(audit_upload(c, pk, raw + SYNC_N * WK_AREC_LEN, SYNC_N + 2, 1,
	    &resp), &resp, 409, "gap");
	json_decref(resp);
	raw[SYNC_N * WK_AREC_LEN + 7] = (uint8_t)(SYNC_N + 1);
	/* a record that does not link */
	raw[SYNC_N * WK_AREC_LEN + 60] ^= 1;
	expect_error(audit_upload(c, pk, raw + SYNC_N * WK_AREC_LEN, SYNC_N + 1, 1,
	    &resp), &resp, 400, "broken_chain");
	json_decref(resp);
	raw[SYNC_N * WK_AREC_LEN + 60] ^= 1;
	/* sealed for another card: does not open */
	expect_error(audit_upload_to(other, c, pk, raw, 1, 1, &resp), &resp, 400,
	    "bad_page");
	json_decref(resp);
	/* a head signed by another card, one the issuer lacks, a wrong hash */
	wk_arec_hash(raw + (SYNC_N - 1) * WK_AREC_LEN, h);
	expect_error(audit_ack(c, other->key, SYNC_N, h, &resp), &resp, 403,
	    "bad_signature");
	json_decref(resp);
	expect_error(audit_ack(c, c->key, SYNC_N + 1, h, &resp), &resp, 409,
	    "not_synced");
	json_decref(resp);
	h[0] ^= 1;
	expect_error(audit_ack(c, c->key, SYNC_N, h, &resp), &resp, 409,
	    "record_conflict");
	json_decref(resp);
	h[0] ^= 1;
	{
		char *after = snapshot();

		assert_string_equal(before, after);
		free(after);
	}
	free(before);
	/* the acknowledgement, signed by the CA key over what the card checks */
	assert_int_equal(audit_ack(c, c->key, SYNC_N, h, &resp), 200);
	assert_int_equal(json_integer_value(json_object_get(resp, "acked_seq")),
	    SYNC_N);
	n = wk_hex_decode(json_string_value(json_object_get(resp, "signature")),
	    ack_sig, sizeof(ack_sig));
	assert_true(n > 0);
	wk_arec_ack_tbs(c->id, SYNC_N, h, tbs);
	assert_int_equal(wk_arec_sig_verify(c->anchor, tbs, sizeof(tbs), ack_sig,
	    (size_t)n), WK_AREC_OK);
	/* beside it, the revocation list: signed, no card yet */
	{
		uint8_t l[WK_AREC_CRL_HDR + 16 * WK_AREC_CRL_ID_LEN + WK_AREC_SIG_MAX];
		wk_arec_crl crl;
		iss_err e = { 0 };
		uint64_t v0;
		long ln = wk_hex_decode(json_string_value(json_object_get(resp,
		    "revocation_list")), l, sizeof(l));

		assert_true(ln > 0);
		assert_int_equal(wk_arec_crl_parse(l, (size_t)ln, &crl), WK_AREC_OK);
		assert_int_equal(wk_arec_sig_verify(c->anchor, l, crl.tbs_len,
		    crl.sig, crl.sig_len), WK_AREC_OK);
		assert_false(wk_arec_crl_has(&crl, other->id));
		assert_true(crl.issued + 60 >= (uint64_t)time(NULL));
		v0 = crl.version;
		json_decref(resp);
		/* the issuer revokes the other card: the next acknowledgement
		 * (the same one again) carries a newer list naming it */
		assert_int_equal(iss_card_revoke(T.db, other->id_hex, &e), 0);
		assert_int_equal(audit_ack(c, c->key, SYNC_N, h, &resp), 200);
		ln = wk_hex_decode(json_string_value(json_object_get(resp,
		    "revocation_list")), l, sizeof(l));
		assert_int_equal(wk_arec_crl_parse(l, (size_t)ln, &crl), WK_AREC_OK);
		assert_int_equal(wk_arec_sig_verify(c->anchor, l, crl.tbs_len,
		    crl.sig, crl.sig_len), WK_AREC_OK);
		assert_true(crl.version > v0);
		assert_true(wk_arec_crl_has(&crl, other->id));
		assert_false(wk_arec_crl_has(&crl, c->id));
	}
	json_decref(resp);
	assert_int_equal(q_int("SELECT COUNT(*) FROM oplog WHERE kind = 'audit.ack'"), 1);
	/* an acknowledged record is never replaced */
	raw[4 * WK_AREC_LEN + 20] ^= 1;
	expect_error(audit_upload(c, pk, raw, 1, 10, &resp), &resp, 409,
	    "record_conflict");
	json_decref(resp);
	raw[4 * WK_AREC_LEN + 20] ^= 1;
	/* the history: two signed pages */
	as_card(c);
	snprintf(path, sizeof(path), "/v1/audit/%s/history/1", c->id_hex);
	assert_int_equal(sim_http_call(T.h, path, NULL, &resp), 200);
	n = wk_hex_decode(json_string_value(json_object_get(resp, "page")), page,
	    sizeof(page));
	assert_true(n > 0);
	assert_int_equal(wk_arec_hist_parse(page, (size_t)n, &hist), WK_AREC_OK);
	assert_int_equal(hist.count, 255);
	assert_true(hist.more);
	assert_int_equal(hist.acked_seq, SYNC_N);
	assert_memory_equal(hist.records, raw, 255 * WK_AREC_LEN);
	{
		uint8_t sig[WK_AREC_SIG_MAX];
		long sl = wk_hex_decode(json_string_value(json_object_get(resp,
		    "signature")), sig, sizeof(sig));

		assert_true(sl > 0);
		assert_int_equal(wk_arec_sig_verify(c->anchor, page, (size_t)n,
		    sig, (size_t)sl), WK_AREC_OK);
		page[WK_AREC_HIST_HDR + 3] ^= 1;
		assert_int_not_equal(wk_arec_sig_verify(c->anchor, page, (size_t)n,
		    sig, (size_t)sl), WK_AREC_OK);
	}
	json_decref(resp);
	snprintf(path, sizeof(path), "/v1/audit/%s/history/256", c->id_hex);
	assert_int_equal(sim_http_call(T.h, path, NULL, &resp), 200);
	n = wk_hex_decode(json_string_value(json_object_get(resp, "page")), page,
	    sizeof(page));
	assert_int_equal(wk_arec_hist_parse(page, (size_t)n, &hist), WK_AREC_OK);
	assert_int_equal(hist.count, 45);
	assert_false(hist.more);
	json_decref(resp);
	snprintf(path, sizeof(path), "/v1/audit/%s/history/0", c->id_hex);
	assert_int_equal(sim_http_call(T.h, path, NULL, &resp), 404);
	json_decref(resp);
	/* the ledger's side: one completed load, signed */
	{
		uint8_t lp[WK_AREC_LOADS_HDR + WK_AREC_LOAD_LEN], sig[WK_AREC_SIG_MAX];
		char lid[33];
		wk_arec_loads l;
		long sl;

		assert_int_equal(sim_load(T.h, c, 777, lid), 200);
		as_card(c);
		snprintf(path, sizeof(path), "/v1/audit/%s/loads/0", c->id_hex);
		assert_int_equal(sim_http_call(T.h, path, NULL, &resp), 200);
		n = wk_hex_decode(json_string_value(json_object_get(resp, "page")),
		    lp, sizeof(lp));
		sl = wk_hex_decode(json_string_value(json_object_get(resp,
		    "signature")), sig, sizeof(sig));
		assert_true(n > 0 && sl > 0);
		assert_int_equal(wk_arec_loads_parse(lp, (size_t)n, &l), WK_AREC_OK);
		assert_int_equal(l.count, 1);
		assert_false(l.more);
		assert_memory_equal(l.entries + 2, "\x00\x00\x03\x09", 4);
		assert_int_equal(wk_arec_sig_verify(c->anchor, lp, (size_t)n, sig,
		    (size_t)sl), WK_AREC_OK);
		json_decref(resp);
		snprintf(path, sizeof(path), "/v1/audit/%s/loads/65536", c->id_hex);
		assert_int_equal(sim_http_call(T.h, path, NULL, &resp), 404);
		json_decref(resp);
	}
	sim_card_free(&c);
	sim_card_free(&other);
	free(raw);
}

/* ---- sessions: the card's doors (docs/issuer.md "Sessions") ---- */

/* GET or POST (body != NULL) path with this Authorization (NULL: none) */
static long
door(const char *auth, const char *path, json_t *body, json_t **resp)
{
	long st;

	T_login[0] = '\0';
	sim_http_set_auth(T.h, auth);
	st = sim_http_call(T.h, path, body, resp);
	sim_http_set_auth(T.h, NULL);
	return st;
}

static void
bearer_of(sim_card *c, uint8_t scope, char *out, size_t cap)
{
	char tok[SIM_TOKEN_MAX];

	as_nobody();
	assert_int_equal(sim_session(T.h, c, scope, tok), 200);
	snprintf(out, cap, "Bearer %s", tok);
}

/* a proof over chal signed by key for card id, posted to /v1/sessions */
static long
post_proof(sim_card *c, const uint8_t chal[16], uint8_t scope, json_t **resp)
{
	wk_buf b;
	long st;

	wk_buf_init_heap(&b, WK_MSG_MAX);
	assert_int_equal(sim_card_session_proof(c, chal, scope, &b), 0);
	st = post_msg("/v1/sessions", "proof", b.p, b.len, resp);
	wk_buf_clear(&b);
	return st;
}

static void
test_sessions(void **state)
{
	sim_card *a = new_card(PAN_RICH), *b = new_card(PAN_BUSY);
	uint8_t pk[32], chal[16], chal2[16], *raw = audit_chain(3);
	char ha[SIM_TOKEN_MAX + 8], hb[SIM_TOKEN_MAX + 8], hc[SIM_TOKEN_MAX + 8];
	char path[128], lid[33], *before, *after;
	json_t *resp = NULL;
	wk_buf m;

	(void)state;
	as_nobody();
	assert_int_equal(sim_http_call(T.h, "/v1/audit/key", NULL, &resp), 200);
	assert_int_equal(wk_hex_decode(json_string_value(json_object_get(resp,
	    "x25519")), pk, 32), 32);
	json_decref(resp);
	/* card b has records and a load at the issuer */
	assert_int_equal(audit_upload(b, pk, raw, 1, 3, &resp), 200);
	json_decref(resp);
	assert_int_equal(sim_load(T.h, b, 50, lid), 200);
	as_nobody();
	bearer_of(a, WK_MSG_SCOPE_HOLDER, ha, sizeof(ha));
	bearer_of(b, WK_MSG_SCOPE_HOLDER, hb, sizeof(hb));
	bearer_of(a, WK_MSG_SCOPE_CARD, hc, sizeof(hc));

	/* anyone on the network, knowing b's card id: nothing without a token */
	before = snapshot();
	snprintf(path, sizeof(path), "/v1/audit/%s/history/1", b->id_hex);
	expect_error(door(NULL, path, NULL, &resp), &resp, 401, "token_required");
	json_decref(resp);
	assert_string_equal(sim_http_header(T.h, "WWW-Authenticate"),
	    "Bearer realm=\"walletkey-issuer\"");
	snprintf(path, sizeof(path), "/v1/audit/%s/loads/0", b->id_hex);
	expect_error(door(NULL, path, NULL, &resp), &resp, 401, "token_required");
	json_decref(resp);
	snprintf(path, sizeof(path), "/v1/loads/%s", lid);
	expect_error(door(NULL, path, NULL, &resp), &resp, 401, "token_required");
	json_decref(resp);
	/* another account holder's card reads b's history, loads, load: no */
	snprintf(path, sizeof(path), "/v1/audit/%s/history/1", b->id_hex);
	expect_error(door(ha, path, NULL, &resp), &resp, 403, "wrong_card");
	json_decref(resp);
	snprintf(path, sizeof(path), "/v1/audit/%s/loads/0", b->id_hex);
	expect_error(door(ha, path, NULL, &resp), &resp, 403, "wrong_card");
	json_decref(resp);
	snprintf(path, sizeof(path), "/v1/loads/%s", lid);
	expect_error(door(ha, path, NULL, &resp), &resp, 404, "load_not_found");
	json_decref(resp);
	/* ... nor uploads pages (sealed for b: anyone can seal to the
	 * issuer's key) or acknowledges for b */
	{
		uint8_t other[3 * WK_AREC_LEN];

		memcpy(other, raw, sizeof(other));
		other[2 * WK_AREC_LEN + 20] ^= 1;	/* a new tail for seq 3 */
		/* T.h sends a's token where the helpers expect b's */
		sim_http_set_auth(T.h, ha);
		snprintf(T_login, sizeof(T_login), "%s", b->id_hex);
		expect_error(audit_upload(b, pk, other, 1, 3, &resp), &resp, 403,
		    "wrong_card");
		json_decref(resp);
		expect_error(audit_ack(b, b->key, 3, raw, &resp), &resp, 403,
		    "wrong_card");
		json_decref(resp);
		as_nobody();
		snprintf(T_login, sizeof(T_login), "%s", b->id_hex);
		expect_error(audit_upload(b, pk, other, 1, 3, &resp), &resp, 401,
		    "token_required");
		json_decref(resp);
		as_nobody();
	}
	after = snapshot();
	assert_string_equal(before, after);
	free(after);
	/* b's own holder token opens b's doors */
	snprintf(path, sizeof(path), "/v1/audit/%s/history/1", b->id_hex);
	assert_int_equal(door(hb, path, NULL, &resp), 200);
	assert_int_equal(json_integer_value(json_object_get(resp, "stored_seq")), 3);
	json_decref(resp);
	snprintf(path, sizeof(path), "/v1/loads/%s", lid);
	assert_int_equal(door(hb, path, NULL, &resp), 200);
	json_decref(resp);
	/* the scheme is case-insensitive; anything else is no token */
	{
		char low[SIM_TOKEN_MAX + 16];

		snprintf(low, sizeof(low), "bearer  %s", hb + 7);
		snprintf(path, sizeof(path), "/v1/audit/%s/history/1", b->id_hex);
		assert_int_equal(door(low, path, NULL, &resp), 200);
		json_decref(resp);
		snprintf(low, sizeof(low), "Basic %s", hb + 7);
		expect_error(door(low, path, NULL, &resp), &resp, 401,
		    "invalid_token");
		json_decref(resp);
		assert_string_equal(sim_http_header(T.h, "WWW-Authenticate"),
		    "Bearer realm=\"walletkey-issuer\", error=\"invalid_token\"");
		snprintf(low, sizeof(low), "%s", hb);
		low[strlen(low) - 1] ^= 1;
		expect_error(door(low, path, NULL, &resp), &resp, 401,
		    "invalid_token");
		json_decref(resp);
		expect_error(door("Bearer", path, NULL, &resp), &resp, 401,
		    "invalid_token");
		json_decref(resp);
	}
	/* the card's scope (no PIN) uploads, but never reads the history */
	snprintf(path, sizeof(path), "/v1/audit/%s/history/1", a->id_hex);
	expect_error(door(hc, path, NULL, &resp), &resp, 403,
	    "insufficient_scope");
	json_decref(resp);
	assert_string_equal(sim_http_header(T.h, "WWW-Authenticate"),
	    "Bearer realm=\"walletkey-issuer\", error=\"insufficient_scope\","
	    " scope=\"holder\"");
	snprintf(path, sizeof(path), "/v1/audit/%s/loads/0", a->id_hex);
	expect_error(door(hc, path, NULL, &resp), &resp, 403,
	    "insufficient_scope");
	json_decref(resp);
	T_login[0] = '\0';
	sim_http_set_auth(T.h, hc);
	snprintf(T_login, sizeof(T_login), "%s", a->id_hex);
	assert_int_equal(audit_upload(a, pk, raw, 1, 1, &resp), 200);
	json_decref(resp);
	as_nobody();

	/* a token replayed after it expired */
	T.is->clock_skew += ISS_SESSION_TTL + 1;
	snprintf(path, sizeof(path), "/v1/audit/%s/history/1", b->id_hex);
	expect_error(door(hb, path, NULL, &resp), &resp, 401, "invalid_token");
	json_decref(resp);
	T.is->clock_skew -= ISS_SESSION_TTL + 1;
	assert_int_equal(door(hb, path, NULL, &resp), 200);
	json_decref(resp);

	/* a challenge signed twice: the second session is refused, and so is
	 * the same proof again */
	before = snapshot();
	assert_int_equal(sim_challenge(T.h, a->id_hex, chal), 200);
	wk_buf_init_heap(&m, WK_MSG_MAX);
	assert_int_equal(sim_card_session_proof(a, chal, WK_MSG_SCOPE_CARD, &m), 0);
	assert_int_equal(post_msg("/v1/sessions", "proof", m.p, m.len, &resp), 200);
	assert_string_equal(json_string_value(json_object_get(resp, "scope")),
	    "card");
	assert_int_equal(json_integer_value(json_object_get(resp, "expires_in")),
	    ISS_SESSION_TTL);
	json_decref(resp);
	expect_error(post_msg("/v1/sessions", "proof", m.p, m.len, &resp), &resp,
	    403, "bad_challenge");
	json_decref(resp);
	expect_error(post_proof(a, chal, WK_MSG_SCOPE_HOLDER, &resp), &resp, 403,
	    "bad_challenge");
	json_decref(resp);
	/* a's challenge answered by b (b's own id and key): not b's */
	assert_int_equal(sim_challenge(T.h, a->id_hex, chal), 200);
	expect_error(post_proof(b, chal, WK_MSG_SCOPE_HOLDER, &resp), &resp, 403,
	    "bad_challenge");
	json_decref(resp);
	/* a proof in a's name signed with b's key: refused, and the challenge
	 * is still a's to answer */
	{
		EVP_PKEY *k = a->key;

		a->key = b->key;
		expect_error(post_proof(a, chal, WK_MSG_SCOPE_HOLDER, &resp), &resp,
		    403, "bad_signature");
		json_decref(resp);
		a->key = k;
	}
	/* every flipped byte of a proof is refused */
	wk_buf_reset(&m);
	assert_int_equal(sim_card_session_proof(a, chal, WK_MSG_SCOPE_HOLDER, &m),
	    0);
	for (size_t i = 0; i < m.len; i++) {
		m.p[i] ^= 0x01;
		assert_in_range(post_msg("/v1/sessions", "proof", m.p, m.len, &resp),
		    400, 404);
		json_decref(resp);
		m.p[i] ^= 0x01;
	}
	assert_int_equal(post_msg("/v1/sessions", "proof", m.p, m.len, &resp), 200);
	json_decref(resp);
	/* another signature of the card over the challenge bytes is no proof
	 * (the card signs a transfer authentication for any host's nonce) */
	assert_int_equal(sim_challenge(T.h, a->id_hex, chal), 200);
	{
		wk_msg x;

		memset(&x, 0, sizeof(x));
		x.type = WK_MSG_XFER_AUTH;
		memcpy(x.card_id, a->id, 8);
		memcpy(x.peer_id, b->id, 8);
		memcpy(x.nonce, chal, 16);
		wk_buf_reset(&m);
		assert_int_equal(wk_msg_sign(&x, a->key, &m), WK_MSG_OK);
		expect_error(post_msg("/v1/sessions", "proof", m.p, m.len, &resp),
		    &resp, 400, "wrong_message_type");
		json_decref(resp);
	}
	/* a challenge answered too late */
	assert_int_equal(sim_challenge(T.h, a->id_hex, chal2), 200);
	T.is->clock_skew += ISS_CHALLENGE_TTL + 1;
	expect_error(post_proof(a, chal2, WK_MSG_SCOPE_CARD, &resp), &resp, 403,
	    "bad_challenge");
	json_decref(resp);
	T.is->clock_skew -= ISS_CHALLENGE_TTL + 1;
	/* malformed bodies and paths */
	expect_error(sim_http_raw(T.h, "/v1/sessions", "{}", 2, &resp), &resp, 400,
	    "missing_field");
	json_decref(resp);
	{
		static const char extra[] = "{\"proof\":\"AA==\",\"x\":1}";

		expect_error(sim_http_raw(T.h, "/v1/sessions", extra,
		    strlen(extra), &resp), &resp, 400, "unknown_field");
	}
	json_decref(resp);
	snprintf(path, sizeof(path), "/v1/cards/%s/challenges", a->id_hex);
	expect_error(sim_http_raw(T.h, path, "{\"x\":1}", 7, &resp), &resp, 400,
	    "unknown_field");
	json_decref(resp);
	expect_error(sim_http_raw(T.h, "/v1/cards/00000000000000ff/challenges",
	    "{}", 2, &resp), &resp, 404, "card_not_found");
	json_decref(resp);
	expect_error(sim_http_raw(T.h, "/v1/cards/zz/challenges", "{}", 2,
	    &resp), &resp, 404, "not_found");
	json_decref(resp);
	expect_error(sim_http_call(T.h, path, NULL, &resp), &resp, 405,
	    "method_not_allowed");
	json_decref(resp);
	/* none of it changed the books */
	after = snapshot();
	assert_string_equal(before, after);
	free(after);
	free(before);

	/* a card keeps a few challenges open, not more */
	T.is->clock_skew += ISS_CHALLENGE_TTL + 1;
	for (int i = 0; i < ISS_CHALLENGES_MAX; i++)
		assert_int_equal(sim_challenge(T.h, a->id_hex, chal), 200);
	expect_error(sim_http_raw(T.h, path, "{}", 2, &resp), &resp, 429,
	    "too_many_challenges");
	json_decref(resp);
	assert_non_null(sim_http_header(T.h, "Retry-After"));
	assert_true(atoi(sim_http_header(T.h, "Retry-After")) >= 1);
	T.is->clock_skew += ISS_CHALLENGE_TTL + 1;
	assert_int_equal(sim_challenge(T.h, a->id_hex, chal), 200);
	T.is->clock_skew -= 2 * (ISS_CHALLENGE_TTL + 1);

	/* a revoked card: no challenge, no session, its tokens dead */
	{
		iss_err e = { 0 };

		assert_int_equal(sim_challenge(T.h, b->id_hex, chal), 200);
		assert_int_equal(iss_card_revoke(T.db, b->id_hex, &e), 0);
		expect_error(post_proof(b, chal, WK_MSG_SCOPE_HOLDER, &resp), &resp,
		    403, "card_revoked");
		json_decref(resp);
		snprintf(path, sizeof(path), "/v1/cards/%s/challenges", b->id_hex);
		expect_error(sim_http_raw(T.h, path, "{}", 2, &resp), &resp, 403,
		    "card_revoked");
		json_decref(resp);
		snprintf(path, sizeof(path), "/v1/audit/%s/history/1", b->id_hex);
		expect_error(door(hb, path, NULL, &resp), &resp, 401,
		    "invalid_token");
		json_decref(resp);
		assert_int_equal(q_int("SELECT COUNT(*) FROM sessions s JOIN cards c"
		    " ON c.card_id = s.card_id WHERE c.revoked_at IS NOT NULL"), 0);
	}
	/* tokens are kept hashed: no token of a is in the database */
	{
		char sql[200];

		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM sessions WHERE"
		    " token_hash = '%s'", ha + 7);
		assert_int_equal(q_int(sql), 0);
		assert_true(q_int("SELECT COUNT(*) FROM sessions") > 0);
	}
	wk_buf_clear(&m);
	free(raw);
	sim_card_free(&a);
	sim_card_free(&b);
}

/* anyone on the network flooding the session doors: the address's
 * allowance, then 429 with Retry-After, and back after a while */
static void
test_session_flood(void **state)
{
	sim_card *a = new_card(PAN_RICH);
	iss_limiter *keep = T.is->session_limit, *small = NULL;
	uint8_t chal[16];
	json_t *resp = NULL;
	char path[96];
	int ok = 0;

	(void)state;
	as_nobody();
	assert_int_equal(iss_limiter_new(5, 30, &small), 0);
	T.is->session_limit = small;
	snprintf(path, sizeof(path), "/v1/cards/%s/challenges", a->id_hex);
	for (int i = 0; i < 20; i++) {
		long st = sim_http_raw(T.h, path, "{}", 2, &resp);

		if (st == 200)
			ok++;
		else
			expect_error(st, &resp, 429, "too_many_requests");
		json_decref(resp);
	}
	assert_int_equal(ok, 5);
	assert_true(atoi(sim_http_header(T.h, "Retry-After")) >= 1);
	/* proofs count as well */
	memset(chal, 0, sizeof(chal));
	expect_error(post_proof(a, chal, WK_MSG_SCOPE_CARD, &resp), &resp, 429,
	    "too_many_requests");
	json_decref(resp);
	/* a while later the address may ask again */
	T.is->clock_skew += 31;
	assert_int_equal(sim_challenge(T.h, a->id_hex, chal), 200);
	T.is->clock_skew -= 31;
	T.is->session_limit = keep;
	iss_limiter_free(&small);
	sim_card_free(&a);
}

/* ---- enrolment attempts (docs/issuer.md "Enrolment attempts") ---- */

/* an enrolment of c with pan and password: the status, and the answer's
 * bytes in body (cap) */
static long
enrol_raw(sim_card *c, const char *pan, const char *pw, char *body,
    size_t cap, size_t *blen)
{
	char keep[WK_MSG_PAN_MAX + 1];
	const char *b;
	json_t *resp = NULL;
	size_t n;
	long st;

	snprintf(keep, sizeof(keep), "%s", c->pan);
	snprintf(c->pan, sizeof(c->pan), "%s", pan);
	st = sim_enrol(T.h, c, pw, &resp);
	json_decref(resp);
	snprintf(c->pan, sizeof(c->pan), "%s", keep);
	b = sim_http_body(T.h, &n);
	assert_true(n < cap);
	memcpy(body, b, n);
	body[n] = '\0';
	*blen = n;
	return st;
}

/* an unknown account number and a wrong password: the same answer byte
 * for byte, the same work (one Argon2id hash each, against a hash of the
 * same limits), and the same count toward the limit */
static void
test_enrol_oracle(void **state)
{
	sim_card *c;
	char a[512], b[512], ra[160], rb[160], *before, *after, sql[200];
	size_t la, lb;
	unsigned long runs;
	iss_res *r = NULL;

	(void)state;
	as_nobody();
	assert_int_equal(sim_card_new(PAN_RICH, &c), 0);
	assert_int_equal(iss_db_exec(T.db, "DELETE FROM enrol_attempts", NULL, 0,
	    NULL), ISS_DB_OK);
	before = snapshot();
	runs = T.is->hash_runs;
	assert_int_equal(enrol_raw(c, PAN_RICH, "wrong-password", a, sizeof(a),
	    &la), 401);
	snprintf(ra, sizeof(ra), "%s", sim_http_header(T.h, "Content-Type"));
	assert_int_equal(T.is->hash_runs, runs + 1);
	assert_int_equal(enrol_raw(c, "6222999999999999", "wrong-password", b,
	    sizeof(b), &lb), 401);
	snprintf(rb, sizeof(rb), "%s", sim_http_header(T.h, "Content-Type"));
	assert_int_equal(T.is->hash_runs, runs + 2);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	assert_string_equal(ra, rb);
	assert_null(sim_http_header(T.h, "Retry-After"));
	/* the dummy hash has the accounts' limits: the same Argon2id work */
	assert_int_equal(iss_db_exec(T.db, "SELECT password_hash FROM accounts"
	    " WHERE pan = '" PAN_RICH "'", NULL, 0, &r), ISS_DB_OK);
	{
		const char *h = iss_res_text(r, 0, 0), *d = T.is->dummy_hash;
		size_t pl = 0;

		/* "$argon2id$v=19$m=65536,t=2,p=1$salt$hash": up to the salt */
		for (int k = 0; k < 4 && h[pl] != '\0'; pl++)
			if (h[pl] == '$')
				k++;
		assert_true(pl > 20);
		assert_non_null(strstr(h, "$m=65536,"));
		assert_memory_equal(h, d, pl);
		assert_string_not_equal(h, d);
	}
	iss_res_free(&r);
	/* both attempts counted, alike */
	snprintf(sql, sizeof(sql), "SELECT failures FROM enrol_attempts WHERE"
	    " pan = '%s'", PAN_RICH);
	assert_int_equal(q_int(sql), 1);
	assert_int_equal(q_int("SELECT failures FROM enrol_attempts WHERE pan ="
	    " '6222999999999999'"), 1);
	/* the right password forgets the account's failures */
	assert_int_equal(sim_enrol(T.h, c, PW, NULL), 200);
	assert_int_equal(q_int("SELECT COUNT(*) FROM enrol_attempts WHERE pan ="
	    " '" PAN_RICH "'"), 0);
	after = snapshot();
	assert_string_not_equal(before, after);	/* the card enrolled */
	free(before);
	free(after);
	/* a malformed account number: 400, no hash */
	runs = T.is->hash_runs;
	assert_int_equal(enrol_raw(c, "62x2", "wrong-password", a, sizeof(a),
	    &la), 400);
	assert_int_equal(T.is->hash_runs, runs);
	sim_card_free(&c);
}

/* a password guesser: five failures per account number, then 429 with
 * Retry-After, the right password too, an unknown number alike; the count
 * survives a restart of the server; the window ends */
static void
test_enrol_limits(void **state)
{
	static const char known[] = "6222000000000077";
	static const char unknown[] = "6222000000000078";
	sim_card *c;
	iss_err e = { 0 };
	iss *is2 = NULL;
	iss_server *srv2 = NULL;
	iss_unlock u = { .key_file = T.key };
	sim_http *h2 = NULL;
	char body[512], k429[512], u429[512], err[256], base2[64];
	size_t n, kn, un;
	unsigned long runs;
	int64_t id;
	json_t *resp = NULL;

	(void)state;
	as_nobody();
	assert_int_equal(iss_account_create(T.db, known, "Guessed", PW, &id, &e),
	    0);
	assert_int_equal(sim_card_new(known, &c), 0);
	for (int i = 0; i < ISS_ACCOUNT_FAILS; i++) {
		assert_int_equal(enrol_raw(c, known, "guess-guess", body,
		    sizeof(body), &n), 401);
		assert_int_equal(enrol_raw(c, unknown, "guess-guess", body,
		    sizeof(body), &n), 401);
	}
	runs = T.is->hash_runs;
	assert_int_equal(enrol_raw(c, known, PW, k429, sizeof(k429), &kn), 429);
	assert_true(atoi(sim_http_header(T.h, "Retry-After")) > 0);
	assert_true(atoi(sim_http_header(T.h, "Retry-After")) <=
	    ISS_ACCOUNT_WINDOW);
	assert_int_equal(enrol_raw(c, unknown, PW, u429, sizeof(u429), &un), 429);
	/* no hash for a locked number, and no oracle either */
	assert_int_equal(T.is->hash_runs, runs);
	assert_int_equal(kn, un);
	assert_memory_equal(k429, u429, kn);
	/* a second server on the same database (or this one restarted) knows */
	assert_int_equal(iss_open(T.url, &u, 4, &is2, err, sizeof(err)), 0);
	assert_int_equal(iss_server_start(is2, "127.0.0.1:0", NULL, NULL, &srv2,
	    err, sizeof(err)), 0);
	snprintf(base2, sizeof(base2), "http://127.0.0.1:%u",
	    (unsigned)iss_server_port(srv2));
	assert_int_equal(sim_http_new(base2, &h2), 0);
	assert_int_equal(sim_enrol(h2, c, PW, &resp), 429);
	json_decref(resp);
	sim_http_free(&h2);
	iss_server_stop(&srv2);
	iss_free(&is2);
	/* the window over: the right password enrols, and clears the count */
	T.is->clock_skew += ISS_ACCOUNT_WINDOW + 1;
	assert_int_equal(sim_enrol(T.h, c, PW, NULL), 200);
	assert_int_equal(q_int("SELECT COUNT(*) FROM enrol_attempts WHERE pan ="
	    " '6222000000000077'"), 0);
	assert_int_equal(enrol_raw(c, unknown, "guess-guess", body, sizeof(body),
	    &n), 401);
	T.is->clock_skew -= ISS_ACCOUNT_WINDOW + 1;
	sim_card_free(&c);
}

/* one address guessing many account numbers: its allowance of failures,
 * then 429 with Retry-After before any hash; a success costs none */
static void
test_enrol_address(void **state)
{
	iss_limiter *keep = T.is->enrol_limit, *small = NULL;
	sim_card *c;
	char body[512], pan[20];
	size_t n;
	unsigned long runs;

	(void)state;
	as_nobody();
	assert_int_equal(iss_limiter_new(3, 60, &small), 0);
	T.is->enrol_limit = small;
	assert_int_equal(sim_card_new(PAN_BUSY, &c), 0);
	/* a success gives its attempt back */
	assert_int_equal(sim_enrol(T.h, c, PW, NULL), 200);
	for (int i = 0; i < 3; i++) {
		snprintf(pan, sizeof(pan), "62229000000000%02d", i);
		assert_int_equal(enrol_raw(c, pan, "guess-guess", body,
		    sizeof(body), &n), 401);
	}
	runs = T.is->hash_runs;
	assert_int_equal(enrol_raw(c, "6222900000000099", "guess-guess", body,
	    sizeof(body), &n), 429);
	assert_non_null(strstr(body, "too_many_attempts"));
	assert_true(atoi(sim_http_header(T.h, "Retry-After")) >= 1);
	assert_int_equal(enrol_raw(c, PAN_BUSY, PW, body, sizeof(body), &n), 429);
	assert_int_equal(T.is->hash_runs, runs);
	T.is->clock_skew += 61;
	assert_int_equal(sim_enrol(T.h, c, PW, NULL), 200);
	T.is->clock_skew -= 61;
	T.is->enrol_limit = keep;
	iss_limiter_free(&small);
	sim_card_free(&c);
}

static void
test_append_only(void **state)
{
	(void)state;
	assert_int_not_equal(iss_db_exec(T.db, "UPDATE oplog SET kind = 'x'", NULL,
	    0, NULL), ISS_DB_OK);
	assert_int_not_equal(iss_db_exec(T.db, "DELETE FROM entries", NULL, 0, NULL),
	    ISS_DB_OK);
	assert_int_equal(iss_schema_version(T.db), iss_schema_latest());
}

/* the diversification factor follows docs/purse.md "serial": "auto" */
static void
test_app_serial(void **state)
{
	static const uint8_t one[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t ff[8] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF };
	static const uint8_t want_one[10] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 };
	/* 18446744073709551615: the last 16 digits */
	static const uint8_t want_ff[10] = { 0, 0, 0x67, 0x44, 0x07, 0x37, 0x09,
	    0x55, 0x16, 0x15 };
	uint8_t out[10];

	(void)state;
	iss_app_serial(one, out);
	assert_memory_equal(out, want_one, 10);
	iss_app_serial(ff, out);
	assert_memory_equal(out, want_ff, 10);
}

static void
test_enrol(void **state)
{
	sim_card *c, *other;
	json_t *resp = NULL, *req;
	wk_buf csr;
	char *before;

	(void)state;
	assert_int_equal(sim_card_new(PAN_RICH, &c), 0);
	before = snapshot();
	/* wrong password, unknown PAN: 401 alike */
	assert_int_equal(sim_enrol(T.h, c, "wrong-password", &resp), 401);
	assert_string_equal(err_code(resp), "bad_credentials");
	json_decref(resp);
	snprintf(c->pan, sizeof(c->pan), "999");
	assert_int_equal(sim_enrol(T.h, c, PW, &resp), 401);
	json_decref(resp);
	snprintf(c->pan, sizeof(c->pan), "%s", PAN_RICH);
	/* a CSR whose CN is not the card id */
	wk_buf_init_heap(&csr, 4096);
	assert_int_equal(sim_card_csr(c, &csr), 0);
	req = json_pack("{s:s, s:s, s:s, s:o}", "pan", PAN_RICH, "password", PW,
	    "card_id", "0011223344556677", "csr", wk_b64_json(csr.p, csr.len));
	expect_error(sim_http_call(T.h, "/v1/enrolments", req, &resp), &resp, 400,
	    "bad_csr");
	json_decref(resp);
	json_decref(req);
	/* a CSR with a flipped byte */
	csr.p[csr.len - 5] ^= 1;
	req = json_pack("{s:s, s:s, s:s, s:o}", "pan", PAN_RICH, "password", PW,
	    "card_id", c->id_hex, "csr", wk_b64_json(csr.p, csr.len));
	expect_error(sim_http_call(T.h, "/v1/enrolments", req, &resp), &resp, 400,
	    "bad_csr");
	json_decref(resp);
	json_decref(req);
	wk_buf_clear(&csr);
	{
		char *after = snapshot();

		assert_string_equal(before, after);
		free(after);
	}
	free(before);

	assert_int_equal(sim_enrol(T.h, c, PW, &resp), 200);
	assert_string_equal(json_string_value(json_object_get(resp, "status")),
	    "enrolled");
	json_decref(resp);
	/* the same again: the same certificate, nothing new */
	assert_int_equal(sim_enrol(T.h, c, PW, &resp), 200);
	assert_string_equal(json_string_value(json_object_get(resp, "status")),
	    "existing");
	json_decref(resp);
	/* the same card id with another key (genuinely attested: the card
	 * made a new wallet key) */
	assert_int_equal(sim_card_new(PAN_RICH, &other), 0);
	memcpy(other->id, c->id, sizeof(c->id));
	memcpy(other->id_hex, c->id_hex, sizeof(c->id_hex));
	X509_free(other->device);
	other->device = NULL;
	{
		uint8_t serial[WK_ATTEST_SERIAL_LEN] = { 1 };

		assert_int_equal(wk_attest_device_new(other->f9, other->id,
		    sim_factory_key(), sim_factory_cert(), 3650, serial,
		    &other->device), WK_ATTEST_OK);
	}
	assert_int_equal(sim_enrol(T.h, other, PW, &resp), 409);
	assert_string_equal(err_code(resp), "card_exists");
	json_decref(resp);
	sim_card_free(&other);
	sim_card_free(&c);
}


/* a CSR, CN = cn, for key */
static json_t *
csr_for(EVP_PKEY *key, const char *cn)
{
	X509_REQ *r = X509_REQ_new();
	unsigned char *der = NULL;
	json_t *j;
	int n;

	assert_non_null(r);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r),
	    "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_REQ_set_pubkey(r, key), 1);
	assert_true(X509_REQ_sign(r, key, EVP_sha256()) > 0);
	assert_true((n = i2d_X509_REQ(r, &der)) > 0);
	j = wk_b64_json(der, (size_t)n);
	OPENSSL_free(der);
	X509_REQ_free(r);
	return j;
}

/*
 * posts an enrolment of csr_key under card_hex with attestation (NULL:
 * none); expects a refusal want/code that stores nothing but one oplog row
 * card.enrol.refused (logged is false for refusals before the password)
 */
static void
enrol_refused(const char *pan, const char *password, const char *card_hex,
    EVP_PKEY *csr_key, json_t *attestation, long want, const char *code,
    bool logged)
{
	json_t *req, *resp = NULL;
	char *before, *after, sql[200];
	int64_t ops = q_int("SELECT COUNT(*) FROM oplog");

	before = snapshot();
	req = json_pack("{s:s, s:s, s:s, s:o}", "pan", pan, "password", password,
	    "card_id", card_hex, "csr", csr_for(csr_key, card_hex));
	assert_non_null(req);
	if (attestation != NULL)
		json_object_set_new(req, "attestation", attestation);
	expect_error(sim_http_call(T.h, "/v1/enrolments", req, &resp), &resp,
	    want, code);
	assert_null(json_object_get(resp, "personalisation"));
	json_decref(resp);
	json_decref(req);
	assert_int_equal(q_int("SELECT COUNT(*) FROM oplog"), ops + (logged ? 1 : 0));
	if (logged) {
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM oplog WHERE id ="
		    " (SELECT MAX(id) FROM oplog) AND kind = 'card.enrol.refused'"
		    " AND card_id = '%s' AND detail LIKE '%s:%%'", card_hex, code);
		assert_int_equal(q_int(sql), 1);
	}
	/* the oplog row aside, nothing changed: no card, no key, no money */
	after = snapshot();
	{
		/* line 4 of the snapshot is the oplog count */
		char *b = before, *a = after;

		for (int line = 0; line < 3; line++) {
			b = strchr(b, '\n') + 1;
			a = strchr(a, '\n') + 1;
		}
		assert_memory_equal(before, after, (size_t)(b - before));
		assert_string_equal(strchr(b, '\n'), strchr(a, '\n'));
	}
	free(before);
	free(after);
	check_conservation();
}

/* a card of a manufacturer the issuer does not trust, or of none */
static sim_card *
foreign_card(bool self_signed)
{
	sim_card *c;
	EVP_PKEY *key = sim_factory_key();
	X509 *cert = sim_factory_cert();
	uint8_t serial[WK_ATTEST_SERIAL_LEN];
	EVP_PKEY *rogue = NULL;
	X509 *rogue_cert = NULL;

	EVP_PKEY_up_ref(key);
	X509_up_ref(cert);
	assert_int_equal(sim_card_new(PAN_RICH, &c), 0);
	X509_free(c->device);
	c->device = NULL;
	randombytes_buf(serial, sizeof(serial));
	if (!self_signed) {
		assert_non_null(rogue = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
		assert_int_equal(wk_attest_ca_new(rogue, "walletkey test manufacturer",
		    3650, serial, &rogue_cert), WK_ATTEST_OK);
	}
	assert_int_equal(wk_attest_device_new(c->f9, c->id, rogue, rogue_cert,
	    3650, serial, &c->device), WK_ATTEST_OK);
	EVP_PKEY_free(rogue);
	X509_free(rogue_cert);
	EVP_PKEY_free(key);
	X509_free(cert);
	return c;
}

/* issue 11: a software key with a valid account password never enrols */
static void
test_enrol_attestation(void **state)
{
	sim_card *c, *other, *foreign;
	EVP_PKEY *soft;
	json_t *a;
	size_t keep;

	(void)state;
	assert_int_equal(sim_card_new(PAN_RICH, &c), 0);
	assert_int_equal(sim_card_new(PAN_RICH, &other), 0);
	assert_non_null(soft = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	/* no attestation at all */
	enrol_refused(PAN_RICH, PW, c->id_hex, soft, NULL, 403,
	    "attestation_required", true);
	enrol_refused(PAN_RICH, PW, c->id_hex, c->key, NULL, 403,
	    "attestation_required", true);
	/* without the password nothing is looked at, nothing logged */
	enrol_refused(PAN_RICH, "wrong", c->id_hex, soft,
	    sim_card_attestation(c, soft, 0x82, WK_ATTEST_ORIGIN_GENERATED), 401,
	    "bad_credentials", false);
	/* a self-signed device certificate: a card made without a manufacturer
	 * (or a software "card") */
	foreign = foreign_card(true);
	enrol_refused(PAN_RICH, PW, foreign->id_hex, foreign->key,
	    sim_card_attestation(foreign, NULL, 0x82, WK_ATTEST_ORIGIN_GENERATED),
	    403, "attestation_untrusted", true);
	sim_card_free(&foreign);
	/* a device certificate from a CA the issuer does not trust */
	foreign = foreign_card(false);
	enrol_refused(PAN_RICH, PW, foreign->id_hex, foreign->key,
	    sim_card_attestation(foreign, NULL, 0x82, WK_ATTEST_ORIGIN_GENERATED),
	    403, "attestation_untrusted", true);
	sim_card_free(&foreign);
	/* a genuine chain, for another key than the CSR's */
	enrol_refused(PAN_RICH, PW, c->id_hex, soft,
	    sim_card_attestation(c, NULL, 0x82, WK_ATTEST_ORIGIN_GENERATED), 403,
	    "attestation_wrong_key", true);
	/* a genuine chain of another card, whose key signs a CSR for c's id */
	enrol_refused(PAN_RICH, PW, c->id_hex, other->key,
	    sim_card_attestation(other, NULL, 0x82, WK_ATTEST_ORIGIN_GENERATED),
	    403, "attestation_wrong_card", true);
	/* a key the card says was imported, or one of another slot */
	enrol_refused(PAN_RICH, PW, c->id_hex, c->key,
	    sim_card_attestation(c, NULL, 0x82, WK_ATTEST_ORIGIN_IMPORTED), 403,
	    "key_not_generated", true);
	enrol_refused(PAN_RICH, PW, c->id_hex, c->key,
	    sim_card_attestation(c, NULL, 0x9A, WK_ATTEST_ORIGIN_GENERATED), 403,
	    "attestation_wrong_slot", true);
	/* the chain's order, length and encoding */
	a = sim_card_attestation(c, NULL, 0x82, WK_ATTEST_ORIGIN_GENERATED);
	assert_int_equal(json_array_remove(a, 1), 0);
	enrol_refused(PAN_RICH, PW, c->id_hex, c->key, a, 400, "bad_attestation",
	    true);
	a = sim_card_attestation(c, NULL, 0x82, WK_ATTEST_ORIGIN_GENERATED);
	assert_int_equal(json_array_insert_new(a, 0, json_string("bm90IGEgY2VydA==")), 0);
	enrol_refused(PAN_RICH, PW, c->id_hex, c->key, a, 400, "bad_attestation",
	    true);
	a = sim_card_attestation(c, NULL, 0x82, WK_ATTEST_ORIGIN_GENERATED);
	{
		json_t *swapped = json_pack("[O, O]", json_array_get(a, 1),
		    json_array_get(a, 0));

		json_decref(a);
		enrol_refused(PAN_RICH, PW, c->id_hex, c->key, swapped, 403,
		    "attestation_untrusted", true);
	}
	enrol_refused(PAN_RICH, PW, c->id_hex, c->key, json_pack("[i, i]", 1, 2),
	    400, "bad_attestation", true);
	enrol_refused(PAN_RICH, PW, c->id_hex, c->key, json_string("x"), 400,
	    "bad_attestation", true);
	/* an issuer that trusts no manufacturer enrols nobody */
	keep = T.is->keys.n_mfg;
	T.is->keys.n_mfg = 0;
	enrol_refused(PAN_RICH, PW, c->id_hex, c->key,
	    sim_card_attestation(c, NULL, 0x82, WK_ATTEST_ORIGIN_GENERATED), 403,
	    "attestation_untrusted", true);
	T.is->keys.n_mfg = keep;
	/* the genuine card: enrolled, its attestation in the oplog */
	assert_int_equal(sim_enrol(T.h, c, PW, NULL), 200);
	{
		char sql[200];

		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM oplog WHERE kind ="
		    " 'card.enrol' AND card_id = '%s' AND msg IS NOT NULL",
		    c->id_hex);
		assert_int_equal(q_int(sql), 1);
	}
	/* every purse key came from the issuer's masters */
	for (int id = 0; id < WK_PURSE_KEY_N; id++) {
		uint8_t k[16];

		assert_int_equal(iss_card_key(&T.is->keys, id, c->algs[id], c->id,
		    k), 0);
		assert_memory_equal(k, c->keys[id], 16);
	}
	check_conservation();
	EVP_PKEY_free(soft);
	sim_card_free(&other);
	sim_card_free(&c);
}

/* the trusted manufacturers: sealed, listed, removed */
static void
test_manufacturers(void **state)
{
	iss_unlock u = { .key_file = T.key };
	char err[256], path[200], fp[ISS_MFG_FP_LEN + 1];
	json_t *list = NULL;
	size_t added = 5;
	FILE *f;

	(void)state;
	/* the same CA again adds nothing */
	assert_int_equal(iss_mfg_add(T.db, &u, T.mfg_pem, &added, err,
	    sizeof(err)), 0);
	assert_int_equal(added, 0);
	assert_int_equal(iss_mfg_list(T.db, &u, &list, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(list), 1);
	snprintf(fp, sizeof(fp), "%s", json_string_value(json_object_get(
	    json_array_get(list, 0), "fingerprint")));
	json_decref(list);
	/* not a CA, not PEM, no file: refused */
	snprintf(path, sizeof(path), "%s/leaf.pem", T.dir);
	{
		sim_card *c;

		assert_int_equal(sim_card_new(PAN_RICH, &c), 0);
		assert_non_null(f = fopen(path, "w"));
		{
			json_t *a = sim_card_attestation(c, NULL, 0x82, 1);
			uint8_t der[4096];
			const uint8_t *p = der;
			long n = sim_unb64(json_array_get(a, 0), der, sizeof(der));
			X509 *x;

			assert_true(n > 0);
			assert_non_null(x = d2i_X509(NULL, &p, n));
			assert_int_equal(PEM_write_X509(f, x), 1);
			X509_free(x);
			json_decref(a);
		}
		assert_int_equal(fclose(f), 0);
		sim_card_free(&c);
	}
	assert_int_not_equal(iss_mfg_add(T.db, &u, path, &added, err,
	    sizeof(err)), 0);
	assert_non_null(strstr(err, "not a CA"));
	assert_int_not_equal(iss_mfg_add(T.db, &u, "/nonexistent", &added, err,
	    sizeof(err)), 0);
	/* the wrong key opens nothing */
	{
		char bad[200];
		iss_unlock w = { .key_file = bad };

		snprintf(bad, sizeof(bad), "%s/other.key", T.dir);
		assert_non_null(f = fopen(bad, "w"));
		fputs("0101010101010101010101010101010101010101010101010101010101010101\n", f);
		assert_int_equal(fclose(f), 0);
		assert_int_not_equal(iss_mfg_list(T.db, &w, &list, err, sizeof(err)), 0);
		assert_int_not_equal(iss_mfg_add(T.db, &w, T.mfg_pem, &added, err,
		    sizeof(err)), 0);
	}
	/* remove: by fingerprint only; then add it back */
	assert_int_not_equal(iss_mfg_remove(T.db, "00", err, sizeof(err)), 0);
	assert_int_not_equal(iss_mfg_remove(T.db,
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    err, sizeof(err)), 0);
	assert_int_equal(iss_mfg_remove(T.db, fp, err, sizeof(err)), 0);
	assert_int_equal(iss_mfg_list(T.db, &u, &list, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(iss_mfg_add(T.db, &u, T.mfg_pem, &added, err,
	    sizeof(err)), 0);
	assert_int_equal(added, 1);
}

static void
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

static void
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

static void
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

static void
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

static void
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


/* the one-time APPLICATION UNBLOCK script (iss_protect.c) */
static void
test_purse_unblock(void **state)
{
	static const uint8_t chal[4] = { 0x1E, 0xA2, 0xB2, 0xE6 };
	sim_card *c = new_card(PAN_RICH), *other = new_card(PAN_POOR);
	uint8_t damk[16], mac[4];
	iss_unblock ub;
	iss_err e = { 0 };
	char *before, *after;
	wk_buf b;

	(void)state;
	wk_buf_init_heap(&b, WK_MSG_MAX);
	/* enrolment sealed the card's DAMK with its other keys */
	assert_int_equal(iss_card_damk(&T.is->keys, c->algs[WK_PURSE_KEY_DAMK],
	    c->id, damk), 0);
	assert_memory_equal(damk, c->damk, 16);
	assert_int_equal(sim_card_unblock_request(c, chal, &b), 0);
	assert_int_equal(iss_purse_unblock(T.db, &T.is->keys, c->id_hex, b.p, b.len,
	    &ub, &e), 0);
	assert_memory_equal(ub.challenge, chal, 4);
	assert_int_equal(wk_purse_unblock_mac(c->algs[WK_PURSE_KEY_DAMK], c->damk,
	    chal, mac), 0);
	assert_memory_equal(ub.mac, mac, 4);
	assert_int_equal(q_int("SELECT COUNT(*) FROM oplog WHERE kind ="
	    " 'purse.unblock'"), 1);
	/* refusals change nothing */
	before = snapshot();
	/* made by another card's key, for this card */
	wk_buf_reset(&b);
	{
		EVP_PKEY *k = c->key;

		c->key = other->key;
		assert_int_equal(sim_card_unblock_request(c, chal, &b), 0);
		c->key = k;
	}
	assert_int_equal(iss_purse_unblock(T.db, &T.is->keys, c->id_hex, b.p,
	    b.len, &ub, &e), -1);
	assert_int_equal(e.status, 403);
	assert_string_equal(e.code, "bad_signature");
	/* another card's request under this card's name */
	wk_buf_reset(&b);
	assert_int_equal(sim_card_unblock_request(other, chal, &b), 0);
	assert_int_equal(iss_purse_unblock(T.db, &T.is->keys, c->id_hex, b.p,
	    b.len, &ub, &e), -1);
	assert_int_equal(e.status, 400);
	/* a message that is not an unblock request */
	wk_buf_reset(&b);
	assert_int_equal(sim_card_load_request(c, 10, &b), 0);
	assert_int_equal(iss_purse_unblock(T.db, &T.is->keys, c->id_hex, b.p,
	    b.len, &ub, &e), -1);
	assert_int_equal(e.status, 400);
	assert_int_equal(iss_purse_unblock(T.db, &T.is->keys, "00", b.p, b.len,
	    &ub, &e), -1);
	assert_int_equal(e.status, 400);
	assert_int_equal(iss_purse_unblock(T.db, &T.is->keys, "0011223344556677",
	    b.p, b.len, &ub, &e), -1);
	assert_int_equal(e.status, 400);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* a revoked card gets no script */
	wk_buf_reset(&b);
	assert_int_equal(sim_card_unblock_request(other, chal, &b), 0);
	assert_int_equal(iss_card_revoke(T.db, other->id_hex, &e), 0);
	assert_int_equal(iss_purse_unblock(T.db, &T.is->keys, other->id_hex, b.p,
	    b.len, &ub, &e), -1);
	assert_int_equal(e.status, 403);
	wk_buf_clear(&b);
	sim_card_free(&c);
	sim_card_free(&other);
}

/* the script the card would accept for a reset PIN (6 digits) */
static void
want_pin_script(const sim_card *c, const uint8_t chal[4], const char *pin,
    uint8_t *out, size_t *len)
{
	uint8_t bcd[3];

	assert_int_equal(strlen(pin), 6);
	for (int i = 0; i < 3; i++)
		bcd[i] = (uint8_t)(((pin[2 * i] - '0') << 4) | (pin[2 * i + 1] - '0'));
	assert_int_equal(wk_purse_reload_pin_script(c->algs[WK_PURSE_KEY_DAMK],
	    c->keys[WK_PURSE_KEY_DAMK], c->algs[WK_PURSE_KEY_DRPK],
	    c->keys[WK_PURSE_KEY_DRPK], chal, bcd, 3, out, len), 0);
}

/* the purse PIN's reload (iss_pin.c): an operator's order, the one-time
 * script for the card's next signed request, once */
static void
test_pin_reload(void **state)
{
	static const uint8_t chal1[4] = { 1, 2, 3, 4 }, chal2[4] = { 5, 6, 7, 8 };
	sim_card *c = new_card(PAN_RICH), *other = new_card(PAN_POOR);
	uint8_t want[WK_PURSE_RELOAD_DATA_MAX], got[64];
	iss_pin_order o1, o2;
	iss_pin_script sc;
	iss_err e = { 0 };
	json_t *resp = NULL;
	char *before, *after, upper[17];
	size_t wlen = 0;
	wk_buf b, b2;

	(void)state;
	wk_buf_init_heap(&b, WK_MSG_MAX);
	wk_buf_init_heap(&b2, WK_MSG_MAX);
	/* enrolment sealed the card's DRPK with its other keys */
	{
		uint8_t drpk[16];

		assert_int_equal(iss_card_key(&T.is->keys, WK_PURSE_KEY_DRPK,
		    c->algs[WK_PURSE_KEY_DRPK], c->id, drpk), 0);
		assert_memory_equal(drpk, c->keys[WK_PURSE_KEY_DRPK], 16);
	}
	/* nothing ordered: the card's request gets 404 and changes nothing */
	assert_int_equal(sim_card_unblock_request(c, chal1, &b), 0);
	before = snapshot();
	expect_error(post_msg("/v1/pin-reloads", "request", b.p, b.len, &resp),
	    &resp, 404, "no_pin_reload");
	json_decref(resp);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* two orders: the second cancels the first (and the id's case does not
	 * matter) */
	for (int i = 0; i < 16; i++)
		upper[i] = (char)(c->id_hex[i] >= 'a' ? c->id_hex[i] - 32 :
		    c->id_hex[i]);
	upper[16] = '\0';
	assert_int_equal(iss_pin_order_new(T.db, &T.is->keys, c->id_hex, NULL, 0, &o1, NULL, &e), 0);
	assert_int_equal(iss_pin_order_new(T.db, &T.is->keys, upper, NULL, 0, &o2, NULL, &e), 0);
	assert_string_equal(o2.card_id, c->id_hex);
	assert_true(o2.order > o1.order);
	assert_int_equal(strlen(o2.reset_pin), 6);
	assert_int_equal(q_int("SELECT COUNT(*) FROM pin_reloads WHERE status ="
	    " 'pending'"), 1);
	assert_int_equal(q_int("SELECT COUNT(*) FROM oplog WHERE kind ="
	    " 'pin.order'"), 2);
	/* refusals change nothing: another card's key, another card, a
	 * message that is not an unblock request, bad JSON */
	before = snapshot();
	{
		EVP_PKEY *k = c->key;

		c->key = other->key;
		wk_buf_reset(&b2);
		assert_int_equal(sim_card_unblock_request(c, chal1, &b2), 0);
		c->key = k;
	}
	expect_error(post_msg("/v1/pin-reloads", "request", b2.p, b2.len, &resp),
	    &resp, 403, "bad_signature");
	json_decref(resp);
	wk_buf_reset(&b2);
	assert_int_equal(sim_card_unblock_request(other, chal1, &b2), 0);
	expect_error(post_msg("/v1/pin-reloads", "request", b2.p, b2.len, &resp),
	    &resp, 404, "no_pin_reload");
	json_decref(resp);
	wk_buf_reset(&b2);
	assert_int_equal(sim_card_load_request(c, 10, &b2), 0);
	expect_error(post_msg("/v1/pin-reloads", "request", b2.p, b2.len, &resp),
	    &resp, 400, "bad_message");
	json_decref(resp);
	expect_error(post_msg("/v1/pin-reloads", "script", b.p, b.len, &resp),
	    &resp, 400, "unknown_field");
	json_decref(resp);
	expect_error(sim_http_raw(T.h, "/v1/pin-reloads", "{\"request\": 5}",
	    strlen("{\"request\": 5}"), &resp), &resp, 400, "missing_field");
	json_decref(resp);
	expect_error(sim_http_raw(T.h, "/v1/pin-reloads", "{\"request\": \"@@\"}",
	    17, &resp), &resp, 400, "bad_message");
	json_decref(resp);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* the card's request: the script for its challenge and order 2's PIN */
	assert_int_equal(post_msg("/v1/pin-reloads", "request", b.p, b.len,
	    &resp), 200);
	assert_string_equal(json_string_value(json_object_get(resp, "card_id")),
	    c->id_hex);
	assert_int_equal(json_integer_value(json_object_get(resp, "order")),
	    o2.order);
	assert_string_equal(json_string_value(json_object_get(resp, "challenge")),
	    "01020304");
	want_pin_script(c, chal1, o2.reset_pin, want, &wlen);
	assert_int_equal(sim_unb64(json_object_get(resp, "script"), got,
	    sizeof(got)), (long)wlen);
	assert_memory_equal(got, want, wlen);
	json_decref(resp);
	assert_int_equal(q_int("SELECT COUNT(*) FROM oplog WHERE kind ="
	    " 'pin.reload'"), 1);
	/* the attack: the same request again (a replay), then a fresh one:
	 * the order is spent */
	expect_error(post_msg("/v1/pin-reloads", "request", b.p, b.len, &resp),
	    &resp, 409, "replayed_request");
	json_decref(resp);
	wk_buf_reset(&b);
	assert_int_equal(sim_card_unblock_request(c, chal2, &b), 0);
	expect_error(post_msg("/v1/pin-reloads", "request", b.p, b.len, &resp),
	    &resp, 404, "no_pin_reload");
	json_decref(resp);
	/* the operator's path: an order delivered at once for a request file */
	{
		/* another card's request: no order either */
		int64_t n = q_int("SELECT COUNT(*) FROM pin_reloads");

		wk_buf_reset(&b2);
		assert_int_equal(sim_card_unblock_request(other, chal2, &b2), 0);
		assert_int_equal(iss_pin_order_new(T.db, &T.is->keys, c->id_hex,
		    b2.p, b2.len, &o1, &sc, &e), -1);
		assert_int_equal(e.status, 400);
		assert_int_equal(q_int("SELECT COUNT(*) FROM pin_reloads"), n);
	}
	assert_int_equal(iss_pin_order_new(T.db, &T.is->keys, c->id_hex, b.p,
	    b.len, &o1, &sc, &e), 0);
	want_pin_script(c, chal2, o1.reset_pin, want, &wlen);
	assert_int_equal(sc.script_len, wlen);
	assert_memory_equal(sc.script, want, wlen);
	/* each order has its own reset PIN (derived, not stored) */
	assert_int_equal(q_int("SELECT COUNT(*) FROM pin_reloads WHERE status ="
	    " 'delivered'"), 2);
	/* orders for no card, a bad id, a revoked card */
	assert_int_equal(iss_pin_order_new(T.db, &T.is->keys, "0011223344556677",
	    NULL, 0, &o1, NULL, &e), -1);
	assert_int_equal(e.status, 404);
	assert_int_equal(iss_pin_order_new(T.db, &T.is->keys, "00", NULL, 0, &o1, NULL,
	    &e), -1);
	assert_int_equal(e.status, 400);
	assert_int_equal(iss_pin_order_new(T.db, &T.is->keys, other->id_hex, NULL, 0,
	    &o1, NULL, &e), 0);
	assert_int_equal(iss_card_revoke(T.db, other->id_hex, &e), 0);
	assert_int_equal(iss_pin_order_new(T.db, &T.is->keys, other->id_hex, NULL, 0,
	    &o1, NULL, &e), -1);
	assert_int_equal(e.status, 403);
	/* and a revoked card's pending order is not delivered */
	wk_buf_reset(&b);
	assert_int_equal(sim_card_unblock_request(other, chal1, &b), 0);
	expect_error(post_msg("/v1/pin-reloads", "request", b.p, b.len, &resp),
	    &resp, 403, "card_revoked");
	json_decref(resp);
	check_conservation();
	wk_buf_clear(&b);
	wk_buf_clear(&b2);
	sim_card_free(&c);
	sim_card_free(&other);
}

/*
 * the issuer keeps a certificate's successful chain check (iss_certs) only
 * until the first notAfter of its chain: a card whose certificate ends
 * while the server runs loads until then, and is refused after it with
 * nothing changed
 */
static void
test_cert_kept_until_expiry(void **state)
{
	sim_card *c = new_card(PAN_RICH);
	time_t now = time(NULL);
	unsigned char *der = NULL;
	char sql[6000], id[33], *hex, *before, *after;
	json_t *resp = NULL;
	X509 *x = NULL;
	wk_buf b;
	int n;

	(void)state;
	wk_buf_init_heap(&b, WK_MSG_MAX);
	assert_int_equal(iss_ca_issue(&T.is->keys, c->key, c->id, now - 60,
	    now + 3, &x), 0);
	n = i2d_X509(x, &der);
	assert_non_null(hex = malloc(2 * (size_t)n + 1));
	wk_hex_encode(der, (size_t)n, hex);
	snprintf(sql, sizeof(sql), "UPDATE cards SET cert = '%s' WHERE card_id ="
	    " '%s'", hex, c->id_hex);
	assert_int_equal(iss_db_exec(T.db, sql, NULL, 0, NULL), ISS_DB_OK);
	/* checked once, kept for the second load */
	assert_int_equal(sim_load(T.h, c, 10, id), 200);
	assert_int_equal(sim_load(T.h, c, 10, id), 200);
	while (time(NULL) <= now + 4)
		sleep(1);
	before = snapshot();
	assert_int_equal(sim_card_load_request(c, 10, &b), 0);
	expect_error(post_msg("/v1/loads", "request", b.p, b.len, &resp), &resp,
	    403, "cert_expired");
	json_decref(resp);
	after = snapshot();
	assert_string_equal(before, after);
	free(after);
	free(before);
	check_conservation();
	free(hex);
	OPENSSL_free(der);
	X509_free(x);
	wk_buf_clear(&b);
	sim_card_free(&c);
}

static void
test_certificates(void **state)
{
	sim_card *c = new_card(PAN_RICH), *r = new_card(PAN_RICH);
	iss_keys other = { 0 };
	iss_db *odb = NULL;
	iss_unlock u = { 0 };
	iss_err e = { 0 };
	char err[256], path[300], sql[6000], *before, *after, *hex;
	X509 *x = NULL;
	unsigned char *der = NULL;
	json_t *resp = NULL, *req;
	wk_buf b;
	int n;
	time_t now = time(NULL);

	(void)state;
	wk_buf_init_heap(&b, WK_MSG_MAX);
	/* revoked */
	assert_int_equal(iss_card_revoke(T.db, r->id_hex, &e), 0);
	before = snapshot();
	assert_int_equal(sim_card_load_request(r, 10, &b), 0);
	expect_error(post_msg("/v1/loads", "request", b.p, b.len, &resp), &resp, 403,
	    "card_revoked");
	json_decref(resp);
	assert_int_equal(iss_card_revoke(T.db, r->id_hex, &e), -1);
	assert_int_equal(e.status, 404);

	/* a certificate from another issuer, sent with the request */
	snprintf(path, sizeof(path), "sqlite:%s/other.db", T.dir);
	snprintf(err, sizeof(err), "%s/other.key", T.dir);
	u.key_file = err;
	{
		char e2[256];

		assert_int_equal(iss_db_open(path, &odb, e2, sizeof(e2)), 0);
		assert_int_equal(iss_schema_migrate(odb, e2, sizeof(e2)), 0);
		assert_int_equal(iss_keys_create(odb, &u, 1000, e2, sizeof(e2)), 0);
		assert_int_equal(iss_keys_load(odb, &u, &other, e2, sizeof(e2)), 0);
	}
	assert_int_equal(iss_ca_issue(&other, c->key, c->id, now - 60, now + 86400,
	    &x), 0);
	n = i2d_X509(x, &der);
	wk_buf_reset(&b);
	assert_int_equal(sim_card_load_request(c, 10, &b), 0);
	req = json_pack("{s:o, s:o}", "request", wk_b64_json(b.p, b.len),
	    "certificate", wk_b64_json(der, (size_t)n));
	expect_error(sim_http_call(T.h, "/v1/loads", req, &resp), &resp, 403,
	    "cert_untrusted");
	json_decref(resp);
	json_decref(req);
	OPENSSL_free(der);
	der = NULL;
	X509_free(x);
	x = NULL;
	after = snapshot();
	assert_string_equal(before, after);
	free(after);

	/* the card's own certificate, sent along: accepted path is covered in
	 * sim_load; here an expired one issued by us */
	assert_int_equal(iss_ca_issue(&T.is->keys, c->key, c->id, now - 86400 * 10,
	    now - 86400, &x), 0);
	n = i2d_X509(x, &der);
	assert_non_null(hex = malloc(2 * (size_t)n + 1));
	wk_hex_encode(der, (size_t)n, hex);
	snprintf(sql, sizeof(sql), "UPDATE cards SET cert = '%s' WHERE card_id ="
	    " '%s'", hex, c->id_hex);
	assert_int_equal(iss_db_exec(T.db, sql, NULL, 0, NULL), ISS_DB_OK);
	free(before);
	before = snapshot();
	expect_error(post_msg("/v1/loads", "request", b.p, b.len, &resp), &resp, 403,
	    "cert_expired");
	json_decref(resp);
	req = json_pack("{s:o, s:o}", "request", wk_b64_json(b.p, b.len),
	    "certificate", wk_b64_json(der, (size_t)n));
	expect_error(sim_http_call(T.h, "/v1/loads", req, &resp), &resp, 403,
	    "cert_expired");
	json_decref(resp);
	json_decref(req);
	/* the stored certificate from another issuer */
	OPENSSL_free(der);
	der = NULL;
	X509_free(x);
	assert_int_equal(iss_ca_issue(&other, c->key, c->id, now - 60, now + 86400,
	    &x), 0);
	n = i2d_X509(x, &der);
	free(hex);
	assert_non_null(hex = malloc(2 * (size_t)n + 1));
	wk_hex_encode(der, (size_t)n, hex);
	snprintf(sql, sizeof(sql), "UPDATE cards SET cert = '%s' WHERE card_id ="
	    " '%s'", hex, c->id_hex);
	assert_int_equal(iss_db_exec(T.db, sql, NULL, 0, NULL), ISS_DB_OK);
	free(before);
	before = snapshot();
	expect_error(post_msg("/v1/loads", "request", b.p, b.len, &resp), &resp, 403,
	    "cert_untrusted");
	json_decref(resp);
	after = snapshot();
	assert_string_equal(before, after);
	free(after);
	free(before);

	/* a request signed by another key than the certificate's */
	{
		sim_card *d = new_card(PAN_RICH);
		EVP_PKEY *k = d->key;

		d->key = c->key;
		wk_buf_reset(&b);
		assert_int_equal(sim_card_load_request(d, 10, &b), 0);
		d->key = k;
		expect_error(post_msg("/v1/loads", "request", b.p, b.len, &resp), &resp,
		    403, "bad_signature");
		json_decref(resp);
		sim_card_free(&d);
	}
	free(hex);
	OPENSSL_free(der);
	X509_free(x);
	iss_keys_clear(&other);
	iss_db_free(&odb);
	wk_buf_clear(&b);
	sim_card_free(&c);
	sim_card_free(&r);
}

static void
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

/* a purchase proof as the terminal sends it; the TAC from the card's DTK */
static json_t *
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

static long
settle(json_t *proofs, json_t **resp)
{
	json_t *req = json_pack("{s:o}", "proofs", proofs);
	long st = sim_http_call(T.h, "/v1/settlements", req, resp);

	json_decref(req);
	return st;
}

static void
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

static void
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
static void
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
static void
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
static void
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
static void
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
static void
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

static void
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

static void
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
static void
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

/* GET /v1/audit/{card}/bank/{after} with auth: the parsed batch into b
 * (its bytes in buf), checked with the CA key; the answer's status */
static long
bank_get(sim_card *c, const char *auth, uint64_t after, uint8_t *buf,
    size_t cap, wk_arec_iss *b, json_t **resp)
{
	char path[128];
	const char *h;
	long st, n;
	EVP_PKEY *ca = X509_get0_pubkey(T.is->keys.ca_cert);

	memset(b, 0, sizeof(*b));
	snprintf(path, sizeof(path), "/v1/audit/%s/bank/%llu", c->id_hex,
	    (unsigned long long)after);
	if ((st = door(auth, path, NULL, resp)) != 200)
		return st;
	if ((h = json_string_value(json_object_get(*resp, "batch"))) == NULL)
		return st;
	n = wk_hex_decode(h, buf, cap);
	assert_true(n > 0);
	assert_int_equal(wk_arec_iss_parse(buf, (size_t)n, b), WK_AREC_OK);
	assert_int_equal(wk_arec_sig_verify(ca, buf, b->tbs_len, b->sig,
	    b->sig_len), WK_AREC_OK);
	assert_memory_equal(b->serial, c->id, 8);
	return st;
}

/* the bank's records of the account (iss_history.c) */
static void
test_bank_records(void **state)
{
	sim_card *c = new_card(PAN_POOR), *c2 = new_card(PAN_POOR);
	sim_card *other = new_card(PAN_BUSY);
	char hc[SIM_TOKEN_MAX + 8], hcard[SIM_TOKEN_MAX + 8];
	char ho[SIM_TOKEN_MAX + 8], path[128], id[33], *before, *after;
	uint8_t buf[8192], grant[WK_MSG_MAX];
	static const uint8_t want_types[] = { WK_AREC_ISS_DEPOSIT,
	    WK_AREC_ISS_LOAD, WK_AREC_ISS_REVERSAL, WK_AREC_ISS_SETTLEMENT };
	static const uint32_t want_amounts[] = { 12340, 300, 700, 100 };
	json_t *resp = NULL;
	wk_arec_iss b;
	iss_err e = { 0 };
	int64_t mid, bal;
	size_t glen;
	wk_buf req, ref;
	wk_arec r;

	(void)state;
	wk_buf_init_heap(&req, WK_MSG_MAX);
	wk_buf_init_heap(&ref, WK_MSG_MAX);
	bearer_of(c, WK_MSG_SCOPE_HOLDER, hc, sizeof(hc));
	bearer_of(c, WK_MSG_SCOPE_CARD, hcard, sizeof(hcard));
	bearer_of(other, WK_MSG_SCOPE_HOLDER, ho, sizeof(ho));
	/* what happened before the card was enrolled is not its */
	assert_int_equal(bank_get(c, hc, 0, buf, sizeof(buf), &b, &resp), 200);
	assert_true(json_is_null(json_object_get(resp, "batch")));
	assert_int_equal(json_integer_value(json_object_get(resp, "count")), 0);
	json_decref(resp);
	/* a deposit, the card's own load (not the bank's record: the card
	 * has it), a load of the account's other card, a load the card
	 * refused (reversed), a settlement of the card's purchase */
	assert_int_equal(iss_deposit(T.db, PAN_POOR, 12340, &e), 0);
	T.deposits += 12340;
	assert_int_equal(sim_load(T.h, c, 500, NULL), 200);
	assert_int_equal(sim_load(T.h, c2, 300, NULL), 200);
	start_load(c, 700, &req, id, grant, &glen);
	grant[glen - 3] ^= 0x10;
	assert_int_equal(sim_card_grant(c, grant, glen, &ref), 1);
	snprintf(path, sizeof(path), "/v1/loads/%s/refusal", id);
	assert_int_equal(post_msg(path, "refusal", ref.p, ref.len, &resp), 200);
	json_decref(resp);
	assert_int_equal(iss_merchant_create(T.db, "000000000079", "Bakery", &mid,
	    &e), 0);
	as_nobody();
	assert_int_equal(settle(json_pack("[o]", purchase_proof(c, "EP", 0, 100,
	    "000000000079", 1, false, false)), &resp), 200);
	json_decref(resp);
	check_conservation();
	bal = q_int("SELECT balance FROM accounts WHERE pan = '" PAN_POOR "'");
	/* the doors: no token, the card's scope, another card's holder */
	before = snapshot();
	snprintf(path, sizeof(path), "/v1/audit/%s/bank/0", c->id_hex);
	expect_error(door(NULL, path, NULL, &resp), &resp, 401, "token_required");
	json_decref(resp);
	expect_error(door(hcard, path, NULL, &resp), &resp, 403, "insufficient_scope");
	json_decref(resp);
	expect_error(door(ho, path, NULL, &resp), &resp, 403, "wrong_card");
	json_decref(resp);
	snprintf(path, sizeof(path), "/v1/audit/%s/bank/x1", c->id_hex);
	expect_error(door(hc, path, NULL, &resp), &resp, 404, "not_found");
	json_decref(resp);
	snprintf(path, sizeof(path), "/v1/audit/%s/bank/0", c->id_hex);
	expect_error(door(hc, path, json_object(), &resp), &resp, 405,
	    "method_not_allowed");
	json_decref(resp);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* the holder's session: the four records, in order, signed for c */
	assert_int_equal(bank_get(c, hc, 0, buf, sizeof(buf), &b, &resp), 200);
	assert_int_equal(b.count, 4);
	assert_false(json_is_true(json_object_get(resp, "more")));
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(wk_arec_decode(b.records + i * WK_AREC_LEN,
		    WK_AREC_LEN, &r), WK_AREC_OK);
		assert_int_equal(r.type, want_types[i]);
		assert_int_equal(r.amount, want_amounts[i]);
		assert_true(r.date[0] == 0x20);
	}
	/* the last one, the settlement: the merchant's terminal, the
	 * account's balance */
	assert_int_equal(r.dst[0], WK_AREC_ACCT_TERMINAL);
	assert_memory_equal(r.dst + 1, "\x00\x00\x00\x00\x00\x79", 6);
	assert_int_equal(r.balance, (uint32_t)bal);
	assert_int_equal(json_integer_value(json_object_get(resp, "last")),
	    (json_int_t)wk_arec_iss_event(&r));
	json_decref(resp);
	/* from an event number on: only what follows */
	assert_int_equal(wk_arec_decode(b.records, WK_AREC_LEN, &r), WK_AREC_OK);
	assert_int_equal(bank_get(c, hc, wk_arec_iss_event(&r), buf, sizeof(buf),
	    &b, &resp), 200);
	assert_int_equal(b.count, 3);
	json_decref(resp);
	/* the other card of the account sees the deposit, c's loads (the
	 * refused one and its refund too) but not its own load, nor c's
	 * settlement */
	bearer_of(c2, WK_MSG_SCOPE_HOLDER, hc, sizeof(hc));
	assert_int_equal(bank_get(c2, hc, 0, buf, sizeof(buf), &b, &resp), 200);
	assert_int_equal(b.count, 4);
	json_decref(resp);
	wk_buf_clear(&req);
	wk_buf_clear(&ref);
	as_nobody();
	sim_card_free(&c);
	sim_card_free(&c2);
	sim_card_free(&other);
}

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

static void
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
