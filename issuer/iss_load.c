/*
 * the remote load (docs/remote-load.md): its start, and its closing by the
 * card's receipt, its refusal or a recovery. Shared helpers: iss_proto.c.
 */
#include "iss_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wk_hex.h"

/* ---- load ---- */

typedef struct load_row {
	char id[2 * WK_MSG_LOAD_ID_LEN + 1];
	char card_id[2 * WK_MSG_CARD_ID_LEN + 1];
	int64_t seq;
	int64_t account_id;
	int64_t amount;
	char status[16];
	char request_hash[65];
	char *grant_b64;
	int64_t grant_op;
	int64_t new_balance;
	bool has_balance;
} load_row;

static void
load_row_clear(load_row *l)
{
	free(l->grant_b64);
	l->grant_b64 = NULL;
}

#define LOAD_COLS "id, card_id, seq, account_id, amount, status," \
	" request_hash, grant_msg, grant_op, new_balance"

static int load_row_take(iss_res **rp, load_row *l);

/* 1 found, 0 not found, else a db rc */
static int
load_read(iss_db *db, const char *where, const iss_param *key, size_t nkey,
    load_row *l)
{
	char sql[512];
	iss_res *r = NULL;
	int rc;

	memset(l, 0, sizeof(*l));
	snprintf(sql, sizeof(sql), "SELECT " LOAD_COLS " FROM loads WHERE %s",
	    where);
	if ((rc = iss_db_exec(db, sql, key, nkey, &r)) != ISS_DB_OK)
		return rc;
	return load_row_take(&r, l);
}

/* the one row of r, its LOAD_COLS from column c0 on, into l: 1, 0 when r
 * has no row (or more than one) */
static int
load_row_read(const iss_res *r, size_t c0, load_row *l)
{
	memset(l, 0, sizeof(*l));
	if (iss_res_rows(r) != 1 || iss_res_text(r, 0, c0) == NULL)
		return 0;
	snprintf(l->id, sizeof(l->id), "%s", iss_res_text(r, 0, c0));
	snprintf(l->card_id, sizeof(l->card_id), "%s",
	    iss_res_text(r, 0, c0 + 1));
	l->seq = iss_res_int(r, 0, c0 + 2);
	l->account_id = iss_res_int(r, 0, c0 + 3);
	l->amount = iss_res_int(r, 0, c0 + 4);
	snprintf(l->status, sizeof(l->status), "%s", iss_res_text(r, 0, c0 + 5));
	snprintf(l->request_hash, sizeof(l->request_hash), "%s",
	    iss_res_text(r, 0, c0 + 6));
	l->grant_b64 = iss_res_text(r, 0, c0 + 7) != NULL ?
	    strdup(iss_res_text(r, 0, c0 + 7)) : NULL;
	l->grant_op = iss_res_int(r, 0, c0 + 8);
	l->has_balance = iss_res_text(r, 0, c0 + 9) != NULL;
	l->new_balance = iss_res_int(r, 0, c0 + 9);
	return l->grant_b64 != NULL ? 1 : ISS_DB_ERROR;
}

/* the row of r (LOAD_COLS) into l, r freed: 1, 0 when r has none */
static int
load_row_take(iss_res **rp, load_row *l)
{
	int rc = load_row_read(*rp, 0, l);

	iss_res_free(rp);
	return rc;
}

static json_t *
load_json(const load_row *l)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "load_id", l->id,
	    "card_id", l->card_id, "seq", (json_int_t)l->seq,
	    "amount", (json_int_t)l->amount, "status", l->status,
	    "grant", l->grant_b64);

	if (j != NULL && l->has_balance)
		json_object_set_new(j, "balance", json_integer(l->new_balance));
	return j;
}

typedef struct start_ctx {
	const wk_msg *req;
	const iss_card_row *card;
	char req_hash[65];
	/* the grant, made before the transaction (a replay drops it) */
	char lid[2 * WK_MSG_LOAD_ID_LEN + 1];
	const char *grant_b64;
	const char *req_hex;
	load_row out;
	bool replay;
} start_ctx;

/* the load already made under this request's sequence number (in x->out):
 * the same request again is answered again, another one refused */
static int
start_existing(start_ctx *x, iss_err *e)
{
	if (strcmp(x->out.request_hash, x->req_hash) != 0) {
		iss_fail(e, 409, "seq_used", "card %s online sequence number %u"
		    " was already granted (load %s)", x->card->card_id,
		    (unsigned)x->req->seq, x->out.id);
		return -1;
	}
	if (strcmp(x->out.status, "pending") != 0) {
		iss_fail(e, 409, "load_closed", "load %s is already %s",
		    x->out.id, x->out.status);
		return -1;
	}
	/* the same request again: the same answer, nothing changes */
	x->replay = true;
	return 0;
}

static void
start_refuse_funds(const start_ctx *x, iss_err *e)
{
	iss_fail(e, 422, "insufficient_funds", "account %s holds less than %u",
	    x->card->pan, x->req->amount);
}

/* PostgreSQL: the whole grant in one statement (wk_load_start, migration
 * 10), the same checks in the same order as the SQLite path below */
static int
tx_load_start_pg(start_ctx *x, iss_db *db, iss_err *e)
{
	const wk_msg *q = x->req;
	iss_res *r = NULL;
	const char *code;
	char now[40];
	int rc = -1, d;

	iss_now_iso(now, sizeof(now));
	if ((d = iss_db_exec(db, "SELECT * FROM wk_load_start($1, $2, $3, $4,"
	    " $5, $6, $7, $8, $9)", (iss_param[]){ ISS_PS(x->card->card_id),
	    ISS_PI(q->seq), ISS_PS(x->req_hash), ISS_PS(x->lid),
	    ISS_PI(x->card->account_id), ISS_PI(q->amount),
	    ISS_PS(x->grant_b64), ISS_PS(x->req_hex), ISS_PS(now) }, 9,
	    &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (iss_res_rows(r) != 1 || iss_res_cols(r) != 11 ||
	    (code = iss_res_text(r, 0, 0)) == NULL) {
		iss_res_free(&r);
		iss_fail(e, 500, "internal", "wk_load_start answered no row");
		return -1;
	}
	if (strcmp(code, "card_revoked") == 0) {
		iss_fail(e, 403, "card_revoked", "card %s is revoked",
		    x->card->card_id);
	} else if (strcmp(code, "insufficient_funds") == 0) {
		start_refuse_funds(x, e);
	} else if ((d = load_row_read(r, 1, &x->out)) != 1) {
		iss_fail(e, 500, "internal", "wk_load_start answered %s without"
		    " its load", code);
	} else if (strcmp(code, "ok") == 0) {
		rc = 0;
	} else {
		rc = start_existing(x, e);
	}
	iss_res_free(&r);
	return rc;
}

static int
tx_load_start(iss *is, iss_db *db, void *arg, iss_err *e)
{
	start_ctx *x = arg;
	const wk_msg *q = x->req;
	int64_t op, flt = 0;
	iss_res *fr = NULL;
	char now[40];
	int rc = -1, d;

	(void)is;
	load_row_clear(&x->out);
	x->replay = false;
	if (iss_db_is_pg(db))
		return tx_load_start_pg(x, db, e);
	/* lock the card's row (a no-op update works on both engines) so a
	 * revocation committed after the check outside is seen here; its
	 * float comes back in the same round trip */
	if ((d = iss_db_exec(db, "UPDATE cards SET balance = balance WHERE"
	    " card_id = $1 AND revoked_at IS NULL RETURNING float_account",
	    (iss_param[]){ ISS_PS(x->card->card_id) }, 1, &fr)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(fr) != 1) {
		iss_fail(e, 403, "card_revoked", "card %s is revoked", x->card->card_id);
		goto out;
	}
	flt = iss_res_text(fr, 0, 0) != NULL ? iss_res_int(fr, 0, 0) : 0;
	d = load_read(db, "card_id = $1 AND seq = $2", (iss_param[]){
	    ISS_PS(x->card->card_id), ISS_PI(q->seq) }, 2, &x->out);
	if (d < 0) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (d == 1) {
		rc = start_existing(x, e);
		goto out;
	}
	if ((d = iss_oplog_append(db, &(iss_op){ .kind = "load.grant",
	    .card_id = x->card->card_id, .load_id = x->lid, .seq = q->seq,
	    .account_id = x->card->account_id, .amount = q->amount,
	    .detail = x->grant_b64, .msg = x->req_hex }, &op)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	/* the value goes to this card's own float (docs/issuer.md "The card
	 * floats"): what settlement may later pay out of it; made at the
	 * card's first load */
	if (flt == 0 && (d = iss_card_float(db, x->card->card_id, true,
	    &flt)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	d = iss_ledger_move(db, x->card->account_id, flt, q->amount, "load",
	    x->lid, op);
	if (d == ISS_LEDGER_FUNDS) {
		start_refuse_funds(x, e);
		goto out;
	}
	if (d != 0) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	iss_now_iso(now, sizeof(now));
	if ((d = iss_db_exec(db, "INSERT INTO loads (id, card_id, seq, account_id,"
	    " amount, status, request_hash, grant_msg, grant_op, created_at)"
	    " VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9)",
	    (iss_param[]){ ISS_PS(x->lid), ISS_PS(x->card->card_id),
	    ISS_PI(q->seq), ISS_PI(x->card->account_id), ISS_PI(q->amount),
	    ISS_PS(x->req_hash), ISS_PS(x->grant_b64), ISS_PI(op),
	    ISS_PS(now) }, 9, NULL)) != ISS_DB_OK) {
		/* a concurrent identical request won: run again and find it */
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	snprintf(x->out.id, sizeof(x->out.id), "%s", x->lid);
	snprintf(x->out.card_id, sizeof(x->out.card_id), "%s", x->card->card_id);
	x->out.seq = q->seq;
	x->out.account_id = x->card->account_id;
	x->out.amount = q->amount;
	snprintf(x->out.status, sizeof(x->out.status), "pending");
	x->out.grant_b64 = strdup(x->grant_b64);
	x->out.grant_op = op;
	rc = x->out.grant_b64 != NULL ? 0 : -1;
	if (rc != 0)
		iss_fail(e, 500, "internal", "out of memory");
out:
	iss_res_free(&fr);
	return rc;
}

/* the grant of request q (card's session key sk) signed, as base64 in *gj,
 * under a new load id lid; 0 or -1 */
static int
make_grant(iss *is, const wk_msg *q, const wk_purse_skey *sk,
    char lid[2 * WK_MSG_LOAD_ID_LEN + 1], json_t **gj)
{
	uint8_t load_id[WK_MSG_LOAD_ID_LEN];
	wk_msg g = { 0 };
	wk_buf gb;
	int rc = -1;

	wk_buf_init_heap(&gb, WK_MSG_MAX);
	randombytes_buf(load_id, sizeof(load_id));
	wk_hex_encode(load_id, sizeof(load_id), lid);
	g.type = WK_MSG_LOAD_GRANT;
	memcpy(g.card_id, q->card_id, sizeof(g.card_id));
	memcpy(g.nonce, q->nonce, sizeof(g.nonce));
	g.seq = q->seq;
	memcpy(g.load_id, load_id, sizeof(load_id));
	g.amount = q->amount;
	g.trans_type = q->trans_type;
	memcpy(g.terminal_id, q->terminal_id, sizeof(g.terminal_id));
	iss_host_datetime(g.host_date, g.host_time);
	if (wk_purse_load_mac2(sk, g.amount, g.trans_type, g.terminal_id,
	    g.host_date, g.host_time, g.mac2) == WK_PURSE_CRYPTO_OK &&
	    wk_msg_sign(&g, is->keys.ca_key, &gb) == WK_MSG_OK &&
	    (*gj = wk_b64_json(gb.p, gb.len)) != NULL)
		rc = 0;
	wk_buf_clear(&gb);
	sodium_memzero(&g, sizeof(g));
	return rc;
}

int
iss_load_start(iss *is, json_t *req, json_t **resp, iss_err *e)
{
	static const char *const keys[] = { "request", "certificate", NULL };
	uint8_t buf[WK_MSG_MAX], dlk[WK_PURSE_KEY_LEN], mac1[4];
	uint8_t hash[crypto_hash_sha256_BYTES], certder[2048];
	const char *cert_b64;
	char *req_hex = NULL;
	json_t *gj = NULL;
	wk_purse_skey sk;
	iss_card_row card = { 0 };
	start_ctx x = { 0 };
	wk_msg m;
	size_t len;
	long n;
	int rc = -1;

	memset(&sk, 0, sizeof(sk));
	if (iss_req_keys(req, keys, e) != 0 ||
	    iss_msg_arg(req, "request", buf, &len, &m, WK_MSG_LOAD_REQUEST, e) != 0)
		goto out;
	if (iss_card_get(is, m.card_id, &card, e) != 0)
		goto out;
	cert_b64 = iss_req_str(req, "certificate", false, e);
	if (json_object_get(req, "certificate") != NULL && cert_b64 == NULL)
		goto out;
	if (cert_b64 != NULL) {
		if ((n = wk_b64_decode(cert_b64, certder, sizeof(certder))) <= 0) {
			iss_fail(e, 400, "bad_certificate", "certificate is not base64 DER");
			goto out;
		}
		if ((size_t)n != card.cert_len ||
		    sodium_memcmp(certder, card.cert_der, card.cert_len) != 0) {
			const uint8_t *p = certder;
			X509 *other = d2i_X509(NULL, &p, n);

			/* tell a foreign or expired certificate from a stale one */
			if (other == NULL)
				iss_fail(e, 400, "bad_certificate",
				    "certificate is not DER X.509");
			else if (iss_ca_check(&is->keys, other, e) == 0)
				iss_fail(e, 403, "cert_mismatch", "this certificate is"
				    " not the one enrolled for card %s", card.card_id);
			X509_free(other);
			goto out;
		}
	}
	if (iss_card_chain_check(is, &card, e) != 0)
		goto out;
	if (card.revoked) {
		iss_fail(e, 403, "card_revoked", "card %s is revoked", card.card_id);
		goto out;
	}
	if (iss_verify_card_msg(&card, buf, len, &m, e) != 0)
		goto out;
	if (strcmp(m.pan, card.pan) != 0) {
		iss_fail(e, 403, "pan_mismatch", "card %s loads from another account",
		    card.card_id);
		goto out;
	}
	/* the card's DLK has the algorithm it was enrolled with; a request
	 * that says otherwise is not one this card made with the issuer's key */
	if (m.key_version != card.key_version ||
	    m.alg_id != card.algs[WK_PURSE_KEY_DLK]) {
		iss_fail(e, 400, "bad_key_version",
		    "key version %u, algorithm %02x: want %u, %02x", m.key_version,
		    m.alg_id, card.key_version, card.algs[WK_PURSE_KEY_DLK]);
		goto out;
	}
	if (m.trans_type != WK_PURSE_TT_EP_LOAD && m.trans_type != WK_PURSE_TT_ED_LOAD) {
		iss_fail(e, 400, "bad_transaction_type", "type %02x is not a load",
		    m.trans_type);
		goto out;
	}
	if (m.amount == 0 || m.amount > 0x7FFFFFFFu) {
		iss_fail(e, 400, "bad_amount", "an amount is 1 to 2147483647 fen");
		goto out;
	}
	if ((uint64_t)m.balance + m.amount > is->ceiling) {
		iss_fail(e, 422, "over_ceiling", "balance %u + %u exceeds the ceiling %u",
		    m.balance, m.amount, is->ceiling);
		goto out;
	}
	if (m.seq == 0xFFFF) {
		iss_fail(e, 422, "seq_exhausted", "the card's online counter is at its end");
		goto out;
	}
	if (iss_card_key(&is->keys, WK_PURSE_KEY_DLK, m.alg_id, m.card_id,
	    dlk) != 0 ||
	    wk_purse_session_key_online(m.alg_id, dlk, m.card_random, m.seq,
	    &sk) != WK_PURSE_CRYPTO_OK ||
	    wk_purse_load_mac1(&sk, m.balance, m.amount, m.trans_type,
	    m.terminal_id, mac1) != WK_PURSE_CRYPTO_OK) {
		iss_fail(e, 500, "internal", "purse cryptography failed");
		goto out;
	}
	if (sodium_memcmp(mac1, m.mac1, sizeof(mac1)) != 0) {
		iss_fail(e, 403, "bad_mac1", "MAC1 does not verify");
		goto out;
	}
	crypto_hash_sha256(hash, buf, len);
	wk_hex_encode(hash, sizeof(hash), x.req_hash);
	x.req = &m;
	x.card = &card;
	/* the grant is made and signed before the transaction, which then
	 * only writes (one statement on PostgreSQL) */
	if (make_grant(is, &m, &sk, x.lid, &gj) != 0 ||
	    (req_hex = iss_hex_alloc(buf, len)) == NULL) {
		iss_fail(e, 500, "internal", "cannot build the grant");
		goto out;
	}
	x.grant_b64 = json_string_value(gj);
	x.req_hex = req_hex;
	if (iss_run_stmt(is, tx_load_start, &x, e) != 0)
		goto out;
	if ((*resp = load_json(&x.out)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(dlk, sizeof(dlk));
	sodium_memzero(&sk, sizeof(sk));
	free(req_hex);
	json_decref(gj);
	load_row_clear(&x.out);
	iss_card_row_clear(&card);
	return rc;
}

/* ---- closing a load: receipt, refusal, recovery ---- */

typedef struct close_ctx {
	const char *load_id;
	bool complete;		/* else reverse */
	uint32_t new_balance;
	const char *kind;	/* oplog kind */
	char detail[64];
	char *msg_hex;
	load_row out;
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
	iss_res *r = NULL;
	const char *code;
	char now[40];
	int rc = -1, d;

	iss_now_iso(now, sizeof(now));
	if ((d = iss_db_exec(db, "SELECT * FROM wk_load_close($1, $2, $3, $4,"
	    " $5, $6, $7)", (iss_param[]){ ISS_PS(x->load_id), ISS_PS(want),
	    x->complete ? ISS_PI(x->new_balance) : ISS_PN, ISS_PS(now),
	    ISS_PS(x->kind), ISS_PS(x->detail), ISS_PS(x->msg_hex) }, 7,
	    &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (iss_res_rows(r) != 1 || iss_res_cols(r) != 11 ||
	    (code = iss_res_text(r, 0, 0)) == NULL) {
		iss_res_free(&r);
		iss_fail(e, 500, "internal", "wk_load_close answered no row");
		return -1;
	}
	if (strcmp(code, "load_not_found") == 0) {
		iss_fail(e, 404, "load_not_found", "no load %s", x->load_id);
	} else if ((d = load_row_read(r, 1, &x->out)) != 1) {
		iss_fail(e, 500, "internal", "wk_load_close answered %s without"
		    " its load", code);
	} else if (strcmp(code, "ok") == 0) {
		rc = 0;
	} else {
		rc = close_not_pending(x, want, e);
	}
	iss_res_free(&r);
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
	load_row_clear(&x->out);
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
	if ((d = load_row_take(&ur, &x->out)) < 0)
		return iss_db_fail(e, db, d);
	if (d == 0) {
		if ((d = load_read(db, "id = $1", (iss_param[]){
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
	load_row row;
	wk_msg grant;
	iss_card_row card;
} load_view;

static void
load_view_clear(load_view *v)
{
	load_row_clear(&v->row);
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
	if ((d = load_row_read(r, 0, &v->row)) != 1) {
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
	if ((*resp = load_json(&x.out)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(x.msg_hex);
	load_row_clear(&x.out);
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
	if ((*resp = load_json(&v.row)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	load_view_clear(&v);
	return rc;
}
