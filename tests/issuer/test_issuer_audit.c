/* test_issuer: the audit sync, the bank's records of a card (test_issuer.h) */
#include "test_issuer.h"

/* ---- audit sync (docs/audit.md "Sync with the issuer") ---- */

#define SYNC_N 300

/* a chain of n records from seq 1 */
uint8_t *
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

long
audit_upload(sim_card *c, const uint8_t pk[32], const uint8_t *raw,
    uint64_t first, size_t n, json_t **resp)
{
	return audit_upload_to(c, c, pk, raw, first, n, resp);
}

/* POSTs a chain head signed with key */
long
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

void
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
void
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
