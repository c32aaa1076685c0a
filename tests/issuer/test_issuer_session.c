/* test_issuer: sessions (a card's doors), the PIN's unblock, reload (test_issuer.h) */
#include "test_issuer.h"

/* GET or POST (body != NULL) path with this Authorization (NULL: none) */
long
door(const char *auth, const char *path, json_t *body, json_t **resp)
{
	long st;

	T_login[0] = '\0';
	sim_http_set_auth(T.h, auth);
	st = sim_http_call(T.h, path, body, resp);
	sim_http_set_auth(T.h, NULL);
	return st;
}

void
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

void
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
void
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

/* the one-time APPLICATION UNBLOCK script (iss_protect.c) */
void
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
void
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
