/*
 * purchase settlement (docs/issuer.md "Settlement"): a terminal sends the
 * proofs of offline purchases; the issuer recomputes each TAC with the
 * card's diversified DTK and moves the amount from that card's float to the
 * merchant account of the terminal, one transaction per proof. A card's
 * float holds only what the issuer put into that card (its loads and the
 * transfers it received, less what it paid out), so a proof beyond it is
 * refused (409 float_short) and the refusal logged, whatever its TAC.
 *
 * Every check runs for the whole batch before the first change, so a bad
 * proof changes nothing. A proof is identified by what its TAC covers: the
 * terminal id and the terminal's sequence number, which a terminal (its
 * PSAM) never uses twice. The card's offline sequence number is not covered
 * by the TAC: it is recorded as sent and never used as a key, so a proof
 * replayed under another offline number settles nothing twice and blocks
 * no other purchase.
 */
#include "iss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wk_hex.h"
#include "wk_purse_crypto.h"

#define SETTLE_MAX_PROOFS 256

typedef struct proof {
	uint8_t card_id[WK_MSG_CARD_ID_LEN];
	char card_hex[2 * WK_MSG_CARD_ID_LEN + 1];
	const char *purse;		/* "EP" or "ED" */
	uint8_t type;			/* WK_PURSE_TT_EP/ED_PURCHASE */
	int64_t offline_seq;
	int64_t amount;
	uint8_t term_id[WK_PURSE_TERM_ID_LEN];
	uint8_t term_seq[WK_PURSE_TERM_SEQ_LEN];
	uint8_t date[WK_PURSE_DATE_LEN];
	uint8_t time[WK_PURSE_TIME_LEN];
	uint8_t tac[WK_PURSE_MAC_LEN];
	char term_hex[2 * WK_PURSE_TERM_ID_LEN + 1];
	char seq_hex[2 * WK_PURSE_TERM_SEQ_LEN + 1];
	char date_hex[2 * WK_PURSE_DATE_LEN + 1];
	char time_hex[2 * WK_PURSE_TIME_LEN + 1];
	char tac_hex[2 * WK_PURSE_MAC_LEN + 1];
	int64_t merchant;		/* account id */
	uint8_t algs[WK_PURSE_KEY_N];	/* the card's key algorithms */
	bool by_serial;
	uint8_t serial[10];
	bool refused;			/* tx_settle: the float was short (logged) */
	iss_err why;
	size_t index;
} proof;

/* exactly 2 * len hex digits */
static bool
hex_exact(const char *s, uint8_t *out, size_t len)
{
	if (s == NULL || strlen(s) != 2 * len)
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		    (*p >= 'A' && *p <= 'F')))
			return false;
	return wk_hex_decode(s, out, len) == (long)len;
}

static bool
known_key(const char *k, const char *const *allowed)
{
	for (size_t i = 0; allowed[i] != NULL; i++)
		if (strcmp(k, allowed[i]) == 0)
			return true;
	return false;
}

static int
hex_field(json_t *o, const char *name, uint8_t *out, size_t len, char *hex,
    size_t i, iss_err *e)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_string(v) || !hex_exact(json_string_value(v), out, len)) {
		iss_fail(e, 400, "bad_proof", "proof %zu: \"%s\" must be %zu hex"
		    " digits", i, name, 2 * len);
		return -1;
	}
	if (hex != NULL)
		wk_hex_encode(out, len, hex);
	return 0;
}

static int
int_field(json_t *o, const char *name, int64_t lo, int64_t hi, int64_t *out,
    size_t i, iss_err *e)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi) {
		iss_fail(e, 400, "bad_proof", "proof %zu: \"%s\" must be an integer"
		    " %lld to %lld", i, name, (long long)lo, (long long)hi);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int
proof_parse(json_t *o, size_t i, proof *p, iss_err *e)
{
	static const char *const allowed[] = { "card_id", "app_serial", "purse",
	    "offline_seq", "amount", "terminal_id", "terminal_seq", "date", "time",
	    "tac", NULL };
	const char *k, *purse;
	json_t *v;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(o)) {
		iss_fail(e, 400, "bad_proof", "proof %zu is not an object", i);
		return -1;
	}
	json_object_foreach(o, k, v) {
		if (!known_key(k, allowed)) {
			iss_fail(e, 400, "unknown_field", "proof %zu: unknown field"
			    " \"%.64s\"", i, k);
			return -1;
		}
	}
	(void)v;
	if ((json_object_get(o, "card_id") == NULL) ==
	    (json_object_get(o, "app_serial") == NULL)) {
		iss_fail(e, 400, "bad_proof", "proof %zu: give card_id or app_serial"
		    " (not both)", i);
		return -1;
	}
	if (json_object_get(o, "card_id") != NULL) {
		if (hex_field(o, "card_id", p->card_id, sizeof(p->card_id),
		    p->card_hex, i, e) != 0)
			return -1;
	} else if (hex_field(o, "app_serial", p->serial, sizeof(p->serial),
	    NULL, i, e) != 0) {
		return -1;
	} else {
		p->by_serial = true;
	}
	purse = json_string_value(json_object_get(o, "purse"));
	if (purse != NULL && strcmp(purse, "EP") == 0) {
		p->purse = "EP";
		p->type = WK_PURSE_TT_EP_PURCHASE;
	} else if (purse != NULL && strcmp(purse, "ED") == 0) {
		p->purse = "ED";
		p->type = WK_PURSE_TT_ED_PURCHASE;
	} else {
		iss_fail(e, 400, "bad_proof", "proof %zu: \"purse\" is \"EP\" or"
		    " \"ED\"", i);
		return -1;
	}
	if (int_field(o, "offline_seq", 0, 65535, &p->offline_seq, i, e) != 0 ||
	    int_field(o, "amount", 1, 0x7FFFFFFF, &p->amount, i, e) != 0 ||
	    hex_field(o, "terminal_id", p->term_id, sizeof(p->term_id),
	    p->term_hex, i, e) != 0 ||
	    hex_field(o, "terminal_seq", p->term_seq, sizeof(p->term_seq),
	    p->seq_hex, i, e) != 0 ||
	    hex_field(o, "date", p->date, sizeof(p->date), p->date_hex, i, e) != 0 ||
	    hex_field(o, "time", p->time, sizeof(p->time), p->time_hex, i, e) != 0 ||
	    hex_field(o, "tac", p->tac, sizeof(p->tac), p->tac_hex, i, e) != 0)
		return -1;
	return 0;
}

/* the card whose application serial is p->serial; the serial is the card
 * id mod 10^16 in BCD (iss_app_serial), so it takes a scan of the cards */
static int
card_by_serial(iss_db *db, proof *p, size_t i, iss_err *e)
{
	iss_res *r = NULL;
	uint8_t serial[10], id[WK_MSG_CARD_ID_LEN];
	char want[21];
	int rc, found = 0;

	wk_hex_encode(p->serial, sizeof(p->serial), want);
	if ((rc = iss_db_exec(db, "SELECT card_id FROM cards", NULL, 0, &r)) !=
	    ISS_DB_OK) {
		iss_fail_db(e, db, rc);
		return -1;
	}
	for (size_t row = 0; row < iss_res_rows(r); row++) {
		const char *h = iss_res_text(r, row, 0);

		if (h == NULL || !hex_exact(h, id, sizeof(id)))
			continue;
		iss_app_serial(id, serial);
		if (memcmp(serial, p->serial, sizeof(serial)) == 0) {
			memcpy(p->card_id, id, sizeof(id));
			wk_hex_encode(id, sizeof(id), p->card_hex);
			found++;
		}
	}
	iss_res_free(&r);
	if (found != 1) {
		iss_fail(e, 404, "card_not_found", "proof %zu: no card with"
		    " application serial %s", i, want);
		return -1;
	}
	return 0;
}

/* the card, the merchant and any earlier settlement of the same proof */
static int
proof_lookup(iss *is, iss_db *db, proof *p, size_t i, iss_err *e)
{
	iss_res *r = NULL;
	int rc;

	(void)is;
	if (p->by_serial && card_by_serial(db, p, i, e) != 0)
		return -1;
	if ((rc = iss_db_exec(db, "SELECT key_algs FROM cards WHERE card_id = $1",
	    (iss_param[]){ ISS_PS(p->card_hex) }, 1, &r)) != ISS_DB_OK)
		goto dberr;
	if (iss_res_rows(r) == 1 &&
	    iss_algs_from_hex(iss_res_text(r, 0, 0), p->algs) != 0) {
		iss_res_free(&r);
		iss_fail(e, 500, "internal", "proof %zu: card %s: the stored key"
		    " algorithms do not parse", i, p->card_hex);
		return -1;
	}
	if (iss_res_rows(r) != 1) {
		iss_res_free(&r);
		iss_fail(e, 404, "card_not_found", "proof %zu: card %s is not"
		    " enrolled", i, p->card_hex);
		return -1;
	}
	iss_res_free(&r);
	if ((rc = iss_db_exec(db, "SELECT account_id FROM merchants WHERE"
	    " terminal_id = $1", (iss_param[]){ ISS_PS(p->term_hex) }, 1, &r)) !=
	    ISS_DB_OK)
		goto dberr;
	if (iss_res_rows(r) != 1) {
		iss_res_free(&r);
		iss_fail(e, 404, "merchant_not_found", "proof %zu: no merchant for"
		    " terminal %s", i, p->term_hex);
		return -1;
	}
	p->merchant = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	return 0;
dberr:
	iss_res_free(&r);
	iss_fail_db(e, db, rc);
	return -1;
}

static int
proof_tac(iss *is, const proof *p, size_t i, iss_err *e)
{
	uint8_t dtk[WK_PURSE_KEY_LEN], want[4];
	uint8_t alg = p->algs[WK_PURSE_KEY_DTK];
	wk_purse_skey ktac;
	int rc = -1;

	memset(&ktac, 0, sizeof(ktac));
	/* the card's DTK, of the algorithm it was enrolled with */
	if (iss_card_key(&is->keys, WK_PURSE_KEY_DTK, alg, p->card_id, dtk) != 0 ||
	    wk_purse_tac_key(alg, dtk, &ktac) != WK_PURSE_CRYPTO_OK)
		goto fail;
	if (wk_purse_purchase_tac(&ktac, (uint32_t)p->amount, p->type, p->term_id,
	    p->term_seq, p->date, p->time, want) != WK_PURSE_CRYPTO_OK)
		goto fail;
	if (sodium_memcmp(want, p->tac, sizeof(want)) != 0)
		iss_fail(e, 403, "bad_tac", "proof %zu: the TAC does not verify", i);
	else
		rc = 0;
	goto out;
fail:
	iss_fail(e, 500, "internal", "purse cryptography failed");
out:
	sodium_memzero(dtk, sizeof(dtk));
	sodium_memzero(&ktac, sizeof(ktac));
	sodium_memzero(want, sizeof(want));
	return rc;
}

/* 1: settled before (the same purchase: every field the TAC covers, and
 * the card); 0: not settled; -1: e set (another proof holds the terminal's
 * sequence number) */
static int
proof_settled(iss_db *db, const proof *p, size_t i, iss_err *e)
{
	iss_res *r = NULL;
	int rc, out = 0;

	if ((rc = iss_db_exec(db, "SELECT card_id, purse, amount, tx_date,"
	    " tx_time, tac FROM settlements WHERE terminal_id = $1 AND"
	    " terminal_seq = $2", (iss_param[]){ ISS_PS(p->term_hex),
	    ISS_PS(p->seq_hex) }, 2, &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	if (iss_res_rows(r) == 1) {
		const char *c = iss_res_text(r, 0, 0), *pu = iss_res_text(r, 0, 1),
		    *d = iss_res_text(r, 0, 3), *tm = iss_res_text(r, 0, 4),
		    *tac = iss_res_text(r, 0, 5);

		if (c && pu && d && tm && tac && strcmp(c, p->card_hex) == 0 &&
		    strcmp(pu, p->purse) == 0 &&
		    iss_res_int(r, 0, 2) == p->amount &&
		    strcmp(d, p->date_hex) == 0 && strcmp(tm, p->time_hex) == 0 &&
		    strcmp(tac, p->tac_hex) == 0) {
			out = 1;
		} else {
			iss_fail(e, 409, "proof_conflict", "proof %zu: terminal %s"
			    " number %s was settled with another purchase", i,
			    p->term_hex, p->seq_hex);
			e->item = (int)i + 1;
			out = -1;
		}
	}
	iss_res_free(&r);
	return out;
}

/* the refusal, in the oplog: who asked for what, and what the float had */
static int
log_refusal(iss_db *db, const proof *p, int64_t available, int64_t asked)
{
	char detail[160];

	snprintf(detail, sizeof(detail), "%s terminal %s number %s: the card float"
	    " has %lld fen to settle, %lld asked", p->purse, p->term_hex,
	    p->seq_hex, (long long)available, (long long)asked);
	return iss_oplog_append(db, &(iss_op){ .kind = "settlement.refused",
	    .card_id = p->card_hex, .seq = p->offline_seq,
	    .account_id = p->merchant, .amount = p->amount, .detail = detail },
	    NULL);
}

static void
fail_short(iss_err *e, const proof *p, int64_t available, int64_t asked)
{
	iss_fail(e, 409, "float_short", "proof %zu: card %s has %lld fen the"
	    " issuer put into it and did not pay out yet; %lld asked (a transfer"
	    " it received may not be reported yet: settle again after the card's"
	    " next sync)", p->index, p->card_hex, (long long)available,
	    (long long)asked);
	e->item = (int)p->index + 1;
}

static int
tx_settle(iss *is, iss_db *db, void *arg, iss_err *e)
{
	proof *p = arg;
	char detail[80], ref[48], now[40];
	int64_t op, flt, avail;
	int rc;

	(void)is;
	p->refused = false;
	if ((rc = proof_settled(db, p, p->index, e)) != 0)
		return rc == 1 ? 0 : rc;
	if ((rc = iss_card_available(db, p->card_hex, true, &flt, &avail)) !=
	    ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	if (avail < p->amount) {
		/* the refusal is what commits */
		if ((rc = log_refusal(db, p, avail, p->amount)) != ISS_DB_OK)
			return iss_db_fail(e, db, rc);
		fail_short(&p->why, p, avail, p->amount);
		p->refused = true;
		return 0;
	}
	snprintf(detail, sizeof(detail), "%s terminal %s number %s", p->purse,
	    p->term_hex, p->seq_hex);
	snprintf(ref, sizeof(ref), "%s:%s", p->term_hex, p->seq_hex);
	iss_now_iso(now, sizeof(now));
	if ((rc = iss_oplog_append(db, &(iss_op){ .kind = "settlement",
	    .card_id = p->card_hex, .seq = p->offline_seq,
	    .account_id = p->merchant, .amount = p->amount, .detail = detail },
	    &op)) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	if ((rc = iss_db_exec(db, "INSERT INTO settlements (terminal_id,"
	    " terminal_seq, card_id, purse, offline_seq, amount, tx_date, tx_time,"
	    " tac, oplog_id, settled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
	    " $9, $10, $11)", (iss_param[]){ ISS_PS(p->term_hex),
	    ISS_PS(p->seq_hex), ISS_PS(p->card_hex), ISS_PS(p->purse),
	    ISS_PI(p->offline_seq), ISS_PI(p->amount), ISS_PS(p->date_hex),
	    ISS_PS(p->time_hex), ISS_PS(p->tac_hex), ISS_PI(op), ISS_PS(now) },
	    11, NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);	/* a concurrent insert: retry */
	rc = iss_ledger_move(db, flt, p->merchant, p->amount, "settlement", ref,
	    op);
	if (rc == ISS_LEDGER_FUNDS)
		return ISS_DB_RETRY;	/* cannot be after the locked check */
	return rc == 0 ? 0 : iss_db_fail(e, db, rc);
}

/* the refusal of a batch whose proof i asks more than its card's float:
 * logged in its own transaction, nothing else changes */
typedef struct refuse_ctx {
	const proof *p;
	int64_t available;
	int64_t asked;
} refuse_ctx;

static int
tx_refuse(iss *is, iss_db *db, void *arg, iss_err *e)
{
	const refuse_ctx *x = arg;
	int rc;

	(void)is;
	if ((rc = log_refusal(db, x->p, x->available, x->asked)) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	return 0;
}

/* every card's proofs in the batch, not settled before, against its float:
 * 0, or -1 with e set; *short_at names a proof beyond (x filled), to be
 * logged once the caller gave back this connection */
static int
batch_floats(iss_db *db, proof *ps, const bool *done, size_t n,
    refuse_ctx *x, bool *short_at, iss_err *e)
{
	*short_at = false;
	for (size_t i = 0; i < n; i++) {
		int64_t flt, avail, asked = 0;
		int rc;

		if (done[i])
			continue;
		for (size_t j = 0; j < i; j++)
			if (!done[j] && strcmp(ps[j].card_hex, ps[i].card_hex) == 0)
				asked += ps[j].amount;
		asked += ps[i].amount;
		if ((rc = iss_card_available(db, ps[i].card_hex, false, &flt,
		    &avail)) != ISS_DB_OK) {
			iss_fail_db(e, db, rc);
			return -1;
		}
		if (avail < asked) {
			*x = (refuse_ctx){ &ps[i], avail, asked };
			*short_at = true;
			return 0;
		}
	}
	return 0;
}

static json_t *
proof_json(const proof *p)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "card_id",
	    p->card_hex, "purse", p->purse, "offline_seq", (json_int_t)p->offline_seq,
	    "amount", (json_int_t)p->amount, "terminal_id", p->term_hex,
	    "terminal_seq", p->seq_hex, "status", "settled");
}

int
iss_settle(iss *is, json_t *req, json_t **resp, iss_err *e)
{
	json_t *proofs, *results = NULL;
	proof *ps = NULL;
	bool *done = NULL, beyond = false;
	refuse_ctx refusal;
	iss_db *db = NULL;
	size_t n, i;
	int64_t total = 0;
	int rc = -1;

	if (!json_is_object(req)) {
		iss_fail(e, 400, "bad_json", "the body is not a JSON object");
		return -1;
	}
	if (json_object_size(req) != 1 ||
	    !json_is_array(proofs = json_object_get(req, "proofs"))) {
		iss_fail(e, 400, "bad_json", "the body is {\"proofs\": [...]}");
		return -1;
	}
	n = json_array_size(proofs);
	if (n < 1 || n > SETTLE_MAX_PROOFS) {
		iss_fail(e, 400, "bad_batch", "a batch holds 1 to %d proofs",
		    SETTLE_MAX_PROOFS);
		return -1;
	}
	if ((ps = calloc(n, sizeof(*ps))) == NULL ||
	    (done = calloc(n, sizeof(*done))) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (proof_parse(json_array_get(proofs, i), i, &ps[i], e) != 0) {
			e->item = (int)i + 1;
			goto out;
		}
		ps[i].index = i;
	}
	/* every check before the first change */
	if ((db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		goto out;
	}
	for (i = 0; i < n; i++) {
		int st;

		if (proof_lookup(is, db, &ps[i], i, e) != 0 ||
		    proof_tac(is, &ps[i], i, e) != 0 ||
		    (st = proof_settled(db, &ps[i], i, e)) < 0) {
			e->item = (int)i + 1;
			goto out;
		}
		done[i] = st == 1;
		for (size_t j = 0; j < i; j++)
			if (memcmp(ps[j].term_id, ps[i].term_id, 6) == 0 &&
			    memcmp(ps[j].term_seq, ps[i].term_seq, 4) == 0) {
				iss_fail(e, 400, "bad_batch", "proofs %zu and %zu name"
				    " the same terminal sequence number", j, i);
				e->item = (int)i + 1;
				goto out;
			}
	}
	if (batch_floats(db, ps, done, n, &refusal, &beyond, e) != 0)
		goto out;
	iss_pool_put(is->pool, db);
	db = NULL;
	if (beyond) {
		/* logged in its own transaction; nothing else changes */
		if (iss_run_tx(is, tx_refuse, &refusal, e) == 0)
			fail_short(e, refusal.p, refusal.available, refusal.asked);
		goto out;
	}
	if ((results = json_array()) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (iss_run_tx(is, tx_settle, &ps[i], e) != 0)
			goto out;
		if (ps[i].refused) {
			/* raced with another spending of the float; the proofs
			 * before it are settled and say so when sent again */
			*e = ps[i].why;
			goto out;
		}
		total += ps[i].amount;
		if (json_array_append_new(results, proof_json(&ps[i])) != 0) {
			iss_fail(e, 500, "internal", "out of memory");
			goto out;
		}
	}
	*resp = json_pack("{s:o, s:I}", "results", results, "total",
	    (json_int_t)total);
	results = NULL;
	rc = *resp != NULL ? 0 : -1;
	if (rc != 0)
		iss_fail(e, 500, "internal", "out of memory");
out:
	if (db != NULL)
		iss_pool_put(is->pool, db);
	json_decref(results);
	if (ps != NULL)
		sodium_memzero(ps, n * sizeof(*ps));
	free(ps);
	free(done);
	return rc;
}

int
iss_merchant_create(iss_db *db, const char *terminal, const char *name,
    int64_t *id, iss_err *e)
{
	uint8_t tid[WK_PURSE_TERM_ID_LEN];
	char hex[2 * WK_PURSE_TERM_ID_LEN + 1], now[40], label[64];
	iss_res *r = NULL;
	int rc;

	if (!hex_exact(terminal, tid, sizeof(tid))) {
		iss_fail(e, 400, "bad_terminal", "a terminal id is 12 hex digits");
		return -1;
	}
	wk_hex_encode(tid, sizeof(tid), hex);
	if (name == NULL) {
		snprintf(label, sizeof(label), "merchant %s", hex);
		name = label;
	}
	iss_now_iso(now, sizeof(now));
	if ((rc = iss_db_begin(db)) != ISS_DB_OK)
		goto dberr;
	if ((rc = iss_db_exec(db, "SELECT 1 FROM merchants WHERE terminal_id = $1",
	    (iss_param[]){ ISS_PS(hex) }, 1, &r)) != ISS_DB_OK)
		goto dberr;
	if (iss_res_rows(r) != 0) {
		iss_res_free(&r);
		iss_db_rollback(db);
		iss_fail(e, 409, "merchant_exists", "terminal %s has a merchant", hex);
		return -1;
	}
	iss_res_free(&r);
	if ((rc = iss_db_exec(db, "INSERT INTO accounts (kind, pan, name, balance,"
	    " created_at) VALUES ('merchant', NULL, $1, 0, $2) RETURNING id",
	    (iss_param[]){ ISS_PS(name), ISS_PS(now) }, 2, &r)) != ISS_DB_OK)
		goto dberr;
	*id = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	if ((rc = iss_db_exec(db, "INSERT INTO merchants (terminal_id, account_id,"
	    " created_at) VALUES ($1, $2, $3)", (iss_param[]){ ISS_PS(hex),
	    ISS_PI(*id), ISS_PS(now) }, 3, NULL)) == ISS_DB_CONFLICT) {
		iss_db_rollback(db);
		iss_fail(e, 409, "merchant_exists", "terminal %s has a merchant", hex);
		return -1;
	}
	if (rc != ISS_DB_OK)
		goto dberr;
	if ((rc = iss_oplog_append(db, &(iss_op){ .kind = "merchant.create",
	    .seq = -1, .account_id = *id, .amount = -1, .detail = hex },
	    NULL)) != ISS_DB_OK || (rc = iss_db_commit(db)) != ISS_DB_OK)
		goto dberr;
	return 0;
dberr:
	iss_res_free(&r);
	iss_fail_db(e, db, rc);
	iss_db_rollback(db);
	return -1;
}
