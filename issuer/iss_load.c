/*
 * the remote load (docs/remote-load.md): its rows and its start; its
 * closing by the card's receipt, its refusal or a recovery is
 * iss_load_close.c. Shared helpers: iss_proto.c.
 */
#include "iss_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wk_hex.h"

/* ---- load ---- */

void
iss_load_row_clear(iss_load_row *l)
{
	free(l->grant_b64);
	l->grant_b64 = NULL;
}

/* 1 found, 0 not found, else a db rc */
int
iss_load_read(iss_db *db, const char *where, const iss_param *key, size_t nkey,
    iss_load_row *l)
{
	char sql[512];
	iss_res *r = NULL;
	int rc;

	memset(l, 0, sizeof(*l));
	snprintf(sql, sizeof(sql), "SELECT " LOAD_COLS " FROM loads WHERE %s",
	    where);
	if ((rc = iss_db_exec(db, sql, key, nkey, &r)) != ISS_DB_OK)
		return rc;
	return iss_load_row_take(&r, l);
}

/* the one row of r, its LOAD_COLS from column c0 on, into l: 1, 0 when r
 * has no row (or more than one) */
int
iss_load_row_read(const iss_res *r, size_t c0, iss_load_row *l)
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

int
iss_load_pg_step(iss_db *db, const char *fn, const char *sql,
    const iss_param *p, size_t n, char *code, size_t cap, iss_load_row *l,
    iss_err *e)
{
	iss_res *r = NULL;
	const char *c;
	int d;

	if ((d = iss_db_exec(db, sql, p, n, &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (iss_res_rows(r) != 1 || iss_res_cols(r) != 11 ||
	    (c = iss_res_text(r, 0, 0)) == NULL) {
		iss_res_free(&r);
		iss_fail(e, 500, "internal", "%s answered no row", fn);
		return -1;
	}
	snprintf(code, cap, "%s", c);
	d = iss_load_row_read(r, 1, l);
	iss_res_free(&r);
	return d == 1 ? 1 : 0;
}

/* the row of r (LOAD_COLS) into l, r freed: 1, 0 when r has none */
int
iss_load_row_take(iss_res **rp, iss_load_row *l)
{
	int rc = iss_load_row_read(*rp, 0, l);

	iss_res_free(rp);
	return rc;
}

json_t *
iss_load_json(const iss_load_row *l)
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
	iss_load_row out;
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
	char now[40], code[32];
	int rc = -1, d;

	iss_now_iso(now, sizeof(now));
	if ((d = iss_load_pg_step(db, "wk_load_start", "SELECT * FROM"
	    " wk_load_start($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	    (iss_param[]){ ISS_PS(x->card->card_id), ISS_PI(q->seq),
	    ISS_PS(x->req_hash), ISS_PS(x->lid), ISS_PI(x->card->account_id),
	    ISS_PI(q->amount), ISS_PS(x->grant_b64), ISS_PS(x->req_hex),
	    ISS_PS(now) }, 9, code, sizeof(code), &x->out, e)) < 0)
		return d;
	if (strcmp(code, "card_revoked") == 0) {
		iss_fail(e, 403, "card_revoked", "card %s is revoked",
		    x->card->card_id);
	} else if (strcmp(code, "insufficient_funds") == 0) {
		start_refuse_funds(x, e);
	} else if (d != 1) {
		iss_fail(e, 500, "internal", "wk_load_start answered %s without"
		    " its load", code);
	} else if (strcmp(code, "ok") == 0) {
		rc = 0;
	} else {
		rc = start_existing(x, e);
	}
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
	iss_load_row_clear(&x->out);
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
	d = iss_load_read(db, "card_id = $1 AND seq = $2", (iss_param[]){
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
	if ((*resp = iss_load_json(&x.out)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(dlk, sizeof(dlk));
	sodium_memzero(&sk, sizeof(sk));
	free(req_hex);
	json_decref(gj);
	iss_load_row_clear(&x.out);
	iss_card_row_clear(&card);
	return rc;
}
