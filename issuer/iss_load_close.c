/*
 * closing a remote load (docs/remote-load.md): by the card's receipt, its
 * refusal or a recovery, and a load as its card asks for it. Its rows and
 * its start: iss_load.c.
 */
#include "iss_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wk_hex.h"

typedef struct close_ctx {
	const char *load_id;
	bool complete;		/* else reverse */
	uint32_t new_balance;
	const char *kind;	/* oplog kind */
	char detail[64];
	char *msg_hex;
	iss_load_row out;
	bool already;
} close_ctx;

/* the load was not pending (in x->out): the same closing again is
 * answered again, another one refused */
static int
close_not_pending(close_ctx *x, const char *want, iss_err *e)
{
	if (strcmp(x->out.status, want) == 0 && (!x->complete ||
	    (x->out.has_balance && x->out.new_balance == x->new_balance))) {
		x->already = true;	/* the same answer again */
		return 0;
	}
	iss_fail(e, 409, "load_closed", "load %s is already %s", x->load_id,
	    x->out.status);
	return -1;
}

/* PostgreSQL: the closing in one statement (wk_load_close, migration 10),
 * the same steps as the SQLite path below */
static int
tx_close_pg(close_ctx *x, iss_db *db, const char *want, iss_err *e)
{
	char now[40], code[32];
	int rc = -1, d;

	iss_now_iso(now, sizeof(now));
	if ((d = iss_load_pg_step(db, "wk_load_close", "SELECT * FROM"
	    " wk_load_close($1, $2, $3, $4, $5, $6, $7)",
	    (iss_param[]){ ISS_PS(x->load_id), ISS_PS(want),
	    x->complete ? ISS_PI(x->new_balance) : ISS_PN, ISS_PS(now),
	    ISS_PS(x->kind), ISS_PS(x->detail), ISS_PS(x->msg_hex) }, 7, code,
	    sizeof(code), &x->out, e)) < 0)
		return d;
	if (strcmp(code, "load_not_found") == 0) {
		iss_fail(e, 404, "load_not_found", "no load %s", x->load_id);
	} else if (d != 1) {
		iss_fail(e, 500, "internal", "wk_load_close answered %s without"
		    " its load", code);
	} else if (strcmp(code, "ok") == 0) {
		rc = 0;
	} else {
		rc = close_not_pending(x, want, e);
	}
	return rc;
}

static int
tx_close(iss *is, iss_db *db, void *arg, iss_err *e)
{
	close_ctx *x = arg;
	const char *want = x->complete ? "complete" : "reversed";
	iss_res *ur = NULL;
	int64_t op, flt;
	char now[40];
	int d;

	(void)is;
	iss_load_row_clear(&x->out);
	x->already = false;
	if (iss_db_is_pg(db))
		return tx_close_pg(x, db, want, e);
	/* the pending load closed and read in one round trip; a load not
	 * pending is read to tell why */
	iss_now_iso(now, sizeof(now));
	if ((d = iss_db_exec(db, "UPDATE loads SET status = $1, closed_at = $2,"
	    " new_balance = $3 WHERE id = $4 AND status = 'pending'"
	    " RETURNING " LOAD_COLS, (iss_param[]){ ISS_PS(want), ISS_PS(now),
	    x->complete ? ISS_PI(x->new_balance) : ISS_PN, ISS_PS(x->load_id) },
	    4, &ur)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if ((d = iss_load_row_take(&ur, &x->out)) < 0)
		return iss_db_fail(e, db, d);
	if (d == 0) {
		if ((d = iss_load_read(db, "id = $1", (iss_param[]){
		    ISS_PS(x->load_id) }, 1, &x->out)) != 1) {
			if (d == 0) {
				iss_fail(e, 404, "load_not_found", "no load %s",
				    x->load_id);
				return -1;
			}
			return iss_db_fail(e, db, d);
		}
		return close_not_pending(x, want, e);
	}
	if ((d = iss_oplog_append(db, &(iss_op){ .kind = x->kind,
	    .card_id = x->out.card_id, .load_id = x->load_id, .seq = x->out.seq,
	    .account_id = x->out.account_id, .amount = x->out.amount,
	    .detail = x->detail, .msg = x->msg_hex,
	    .reverses = x->complete ? 0 : x->out.grant_op }, &op)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (x->complete) {
		d = iss_db_exec(db, "UPDATE cards SET balance = $1 WHERE card_id = $2",
		    (iss_param[]){ ISS_PI(x->new_balance), ISS_PS(x->out.card_id) },
		    2, NULL);
	} else if ((d = iss_card_float(db, x->out.card_id, false, &flt)) ==
	    ISS_DB_OK) {
		/* the grant put the amount into the card's float; a pending
		 * load's amount is always still there (settlements and transfers
		 * take only what the card received) */
		d = flt == 0 ? ISS_DB_ERROR : iss_ledger_move(db, flt,
		    x->out.account_id, x->out.amount, "load.reversal", x->load_id,
		    op);
		if (d == ISS_LEDGER_FUNDS)
			d = ISS_DB_ERROR;
	}
	if (d != 0)
		return iss_db_fail(e, db, d);
	snprintf(x->out.status, sizeof(x->out.status), "%s", want);
	x->out.has_balance = x->complete;
	x->out.new_balance = x->new_balance;
	return 0;
}

/* reads the load and its grant, checks the card message belongs to it */
typedef struct load_view {
	iss_load_row row;
	wk_msg grant;
	iss_card_row card;
} load_view;

static void
load_view_clear(load_view *v)
{
	iss_load_row_clear(&v->row);
	iss_card_row_clear(&v->card);
}

static bool
valid_load_id(const char *id)
{
	uint8_t tmp[WK_MSG_LOAD_ID_LEN];

	return strlen(id) == 2 * WK_MSG_LOAD_ID_LEN &&
	    wk_hex_decode(id, tmp, sizeof(tmp)) == WK_MSG_LOAD_ID_LEN;
}

static int
load_view_get(iss *is, const char *load_id, load_view *v, iss_err *e)
{
	uint8_t gbuf[WK_MSG_MAX];
	iss_res *r = NULL;
	iss_db *db;
	long n;
	int d;

	memset(v, 0, sizeof(*v));
	if (!valid_load_id(load_id)) {
		iss_fail(e, 404, "load_not_found", "no load %.64s", load_id);
		return -1;
	}
	if (iss_with_db(is, &db, e) != 0)
		return -1;
	/* the load and its card in one round trip */
	d = iss_db_exec(db, "SELECT l.id, l.card_id, l.seq, l.account_id,"
	    " l.amount, l.status, l.request_hash, l.grant_msg, l.grant_op,"
	    " l.new_balance, " ISS_CARD_COLS " FROM loads l JOIN cards c ON"
	    " c.card_id = l.card_id JOIN accounts a ON a.id = c.account_id"
	    " WHERE l.id = $1", (iss_param[]){ ISS_PS(load_id) }, 1, &r);
	if (d != ISS_DB_OK)
		iss_fail_db(e, db, d);
	iss_pool_put(is->pool, db);
	if (d != ISS_DB_OK)
		return -1;
	if ((d = iss_load_row_read(r, 0, &v->row)) != 1) {
		iss_res_free(&r);
		if (d == 0)
			iss_fail(e, 404, "load_not_found", "no load %s", load_id);
		else
			iss_fail(e, 500, "internal", "out of memory");
		return -1;
	}
	snprintf(v->card.card_id, sizeof(v->card.card_id), "%s", v->row.card_id);
	d = iss_card_from_row(is->certs, r, 10, &v->card, e);
	iss_res_free(&r);
	if (d != 0)
		return -1;
	if ((n = wk_b64_decode(v->row.grant_b64, gbuf, sizeof(gbuf))) <= 0 ||
	    wk_msg_parse(gbuf, (size_t)n, &v->grant, NULL, NULL) != WK_MSG_OK) {
		iss_fail(e, 500, "internal", "the stored grant does not parse");
		return -1;
	}
	return 0;
}

static int
match_load(const load_view *v, const wk_msg *m, iss_err *e)
{
	if (memcmp(m->load_id, v->grant.load_id, WK_MSG_LOAD_ID_LEN) != 0 ||
	    memcmp(m->card_id, v->grant.card_id, WK_MSG_CARD_ID_LEN) != 0 ||
	    m->seq != v->grant.seq) {
		iss_fail(e, 400, "load_mismatch",
		    "the message is about another load, card or sequence number");
		return -1;
	}
	return 0;
}

static int
check_tac(iss *is, const load_view *v, uint32_t new_balance,
    const uint8_t tac[4], iss_err *e)
{
	uint8_t dtk[WK_PURSE_KEY_LEN], want[4];
	uint8_t alg = v->card.algs[WK_PURSE_KEY_DTK];
	wk_purse_skey ktac;
	int rc = -1;

	memset(&ktac, 0, sizeof(ktac));
	if (iss_card_key(&is->keys, WK_PURSE_KEY_DTK, alg, v->grant.card_id,
	    dtk) != 0 || wk_purse_tac_key(alg, dtk, &ktac) != WK_PURSE_CRYPTO_OK)
		goto fail;
	if (wk_purse_load_tac(&ktac, new_balance, v->grant.seq, v->grant.amount,
	    v->grant.trans_type, v->grant.terminal_id, v->grant.host_date,
	    v->grant.host_time, want) != WK_PURSE_CRYPTO_OK)
		goto fail;
	if (sodium_memcmp(want, tac, 4) != 0)
		iss_fail(e, 403, "bad_tac", "the TAC does not verify");
	else
		rc = 0;
	goto out;
fail:
	iss_fail(e, 500, "internal", "purse cryptography failed");
out:
	sodium_memzero(dtk, sizeof(dtk));
	sodium_memzero(&ktac, sizeof(ktac));
	return rc;
}

static int
close_load(iss *is, const char *load_id, json_t *req, const char *field,
    int want_type, json_t **resp, iss_err *e)
{
	const char *const keys[] = { field, NULL };
	uint8_t buf[WK_MSG_MAX];
	load_view v;
	close_ctx x = { 0 };
	wk_msg m;
	size_t len;
	int rc = -1;

	memset(&v, 0, sizeof(v));
	if (load_view_get(is, load_id, &v, e) != 0 ||
	    iss_req_keys(req, keys, e) != 0 ||
	    iss_msg_arg(req, field, buf, &len, &m, want_type, e) != 0 ||
	    match_load(&v, &m, e) != 0 ||
	    iss_verify_card_msg(&v.card, buf, len, &m, e) != 0)
		goto out;
	if (want_type == 0 && m.type != WK_MSG_LOAD_PROOF &&
	    m.type != WK_MSG_LOAD_NEVER) {
		iss_fail(e, 400, "wrong_message_type", "recovery takes a load-proof or"
		    " a load-never-credited statement, not a %s",
		    wk_msg_type_name(m.type));
		goto out;
	}
	x.load_id = v.row.id;
	switch (m.type) {
	case WK_MSG_LOAD_RECEIPT:
	case WK_MSG_LOAD_PROOF:
		if (m.type == WK_MSG_LOAD_RECEIPT && (m.amount != v.grant.amount ||
		    memcmp(m.host_date, v.grant.host_date, 4) != 0 ||
		    memcmp(m.host_time, v.grant.host_time, 3) != 0)) {
			iss_fail(e, 400, "load_mismatch",
			    "the receipt's amount, date or time is not the grant's");
			goto out;
		}
		if (check_tac(is, &v, m.balance, m.tac, e) != 0)
			goto out;
		x.complete = true;
		x.new_balance = m.balance;
		x.kind = m.type == WK_MSG_LOAD_RECEIPT ? "load.complete" :
		    "load.recover.complete";
		snprintf(x.detail, sizeof(x.detail), "balance %u", m.balance);
		break;
	case WK_MSG_LOAD_REFUSAL:
		x.kind = "load.reversal";
		snprintf(x.detail, sizeof(x.detail), "refused by the card: SW %04X",
		    m.reason);
		break;
	case WK_MSG_LOAD_NEVER:
		x.kind = "load.recover.reversal";
		snprintf(x.detail, sizeof(x.detail), "never credited; balance %u",
		    m.balance);
		break;
	default:
		iss_fail(e, 400, "wrong_message_type", "%s cannot close a load",
		    wk_msg_type_name(m.type));
		goto out;
	}
	if ((x.msg_hex = iss_hex_alloc(buf, len)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	if (iss_run_stmt(is, tx_close, &x, e) != 0)
		goto out;
	if ((*resp = iss_load_json(&x.out)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(x.msg_hex);
	iss_load_row_clear(&x.out);
	load_view_clear(&v);
	return rc;
}

int
iss_load_receipt(iss *is, const char *load_id, json_t *req, json_t **resp,
    iss_err *e)
{
	return close_load(is, load_id, req, "receipt", WK_MSG_LOAD_RECEIPT, resp, e);
}

int
iss_load_refusal(iss *is, const char *load_id, json_t *req, json_t **resp,
    iss_err *e)
{
	return close_load(is, load_id, req, "refusal", WK_MSG_LOAD_REFUSAL, resp, e);
}

int
iss_load_recover(iss *is, const char *load_id, json_t *req, json_t **resp,
    iss_err *e)
{
	/* either a proof (TAC) or a never-credited statement */
	return close_load(is, load_id, req, "proof", 0, resp, e);
}

int
iss_load_get(iss *is, const char *load_id, const iss_session *who,
    json_t **resp, iss_err *e)
{
	load_view v;
	int rc = -1;

	if (load_view_get(is, load_id, &v, e) != 0)
		goto out;
	/* another card's load is not found: a token tells nothing of the
	 * loads of other cards */
	if (who == NULL || strcmp(v.row.card_id, who->card_id) != 0) {
		iss_fail(e, 404, "load_not_found", "no load %s", load_id);
		goto out;
	}
	if ((*resp = iss_load_json(&v.row)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	load_view_clear(&v);
	return rc;
}
