/*
 * card-to-card transfers in the issuer's books (docs/issuer.md "Transfers"):
 * POST /v1/transfers carries the transfer token the sending card signed
 * (common/wk_msg.h type 9) when it debited itself; it is the proof of that
 * debit. The issuer checks it with the sender's enrolled certificate and
 * moves the amount from the sender's float to the receiver's, once per
 * token id. A token whose sender's float does not hold the amount (the
 * sender's own incoming transfers not reported yet) is refused with 409
 * float_short, logged, and taken when reported again later.
 */
#include "iss.h"
#include "iss_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <sodium.h>

#include "wk_hex.h"

typedef struct xfer_ctx {
	wk_msg m;
	char token_id[2 * WK_MSG_LOAD_ID_LEN + 1];
	char sender[2 * WK_MSG_CARD_ID_LEN + 1];
	char receiver[2 * WK_MSG_CARD_ID_LEN + 1];
	char *token_hex;
	bool again;		/* reported before: the same answer */
	bool refused;		/* the sender's float was short (logged) */
	iss_err why;
} xfer_ctx;

/* the sender's certificate and whether it is revoked; 404 if not enrolled */
static int
sender_cert(iss *is, const char *card, X509 **cert, bool *revoked,
    iss_err *e)
{
	uint8_t der[2048];
	const uint8_t *p = der;
	iss_res *r = NULL;
	iss_db *db;
	long n;
	int rc = -1, d;

	*cert = NULL;
	if ((db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		return -1;
	}
	if ((d = iss_db_exec(db, "SELECT cert, revoked_at FROM cards WHERE"
	    " card_id = $1", (iss_param[]){ ISS_PS(card) }, 1, &r)) != ISS_DB_OK) {
		iss_fail_db(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) != 1) {
		iss_fail(e, 404, "card_not_found", "the sender, card %s, is not"
		    " enrolled", card);
		goto out;
	}
	*revoked = iss_res_text(r, 0, 1) != NULL;
	if ((n = wk_hex_decode(iss_res_text(r, 0, 0), der, sizeof(der))) <= 0 ||
	    (*cert = d2i_X509(NULL, &p, n)) == NULL) {
		iss_fail(e, 500, "internal", "the stored certificate does not parse");
		goto out;
	}
	rc = 0;
out:
	iss_res_free(&r);
	iss_pool_put(is->pool, db);
	return rc;
}

static int
log_refusal(iss_db *db, const xfer_ctx *x, int64_t available)
{
	char detail[200];

	snprintf(detail, sizeof(detail), "token %s to card %s: the sender's float"
	    " has %lld fen to give, %u asked", x->token_id, x->receiver,
	    (long long)available, x->m.amount);
	return iss_oplog_append(db, &(iss_op){ .kind = "transfer.refused",
	    .card_id = x->sender, .seq = -1, .amount = x->m.amount,
	    .detail = detail }, NULL);
}

static int
tx_transfer(iss *is, iss_db *db, void *arg, iss_err *e)
{
	xfer_ctx *x = arg;
	iss_res *r = NULL;
	char detail[80], now[40];
	int64_t from, to, avail, op;
	int rc;

	(void)is;
	x->again = false;
	x->refused = false;
	if ((rc = iss_db_exec(db, "SELECT token FROM transfers WHERE token_id = $1",
	    (iss_param[]){ ISS_PS(x->token_id) }, 1, &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	if (iss_res_rows(r) == 1) {
		const char *t = iss_res_text(r, 0, 0);

		x->again = t != NULL && strcmp(t, x->token_hex) == 0;
		iss_res_free(&r);
		if (x->again)
			return 0;
		iss_fail(e, 409, "token_conflict", "token id %s was reported with"
		    " another token", x->token_id);
		return -1;
	}
	iss_res_free(&r);
	if ((rc = iss_card_available(db, x->sender, true, &from, &avail)) !=
	    ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	if (avail < x->m.amount) {
		if ((rc = log_refusal(db, x, avail)) != ISS_DB_OK)
			return iss_db_fail(e, db, rc);
		iss_fail(&x->why, 409, "float_short", "card %s has %lld fen the"
		    " issuer put into it and did not pay out yet; its token asks"
		    " %u (a transfer it received may not be reported yet: report"
		    " that one first, or again later)", x->sender,
		    (long long)avail, x->m.amount);
		x->refused = true;
		return 0;
	}
	if ((rc = iss_card_float(db, x->receiver, true, &to)) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	snprintf(detail, sizeof(detail), "token %s to card %s", x->token_id,
	    x->receiver);
	iss_now_iso(now, sizeof(now));
	if ((rc = iss_oplog_append(db, &(iss_op){ .kind = "transfer",
	    .card_id = x->sender, .seq = -1, .account_id = to,
	    .amount = x->m.amount, .detail = detail, .msg = x->token_hex },
	    &op)) != ISS_DB_OK ||
	    (rc = iss_db_exec(db, "INSERT INTO transfers (token_id, sender,"
	    " receiver, amount, token, oplog_id, reported_at) VALUES ($1, $2, $3,"
	    " $4, $5, $6, $7)", (iss_param[]){ ISS_PS(x->token_id),
	    ISS_PS(x->sender), ISS_PS(x->receiver), ISS_PI(x->m.amount),
	    ISS_PS(x->token_hex), ISS_PI(op), ISS_PS(now) }, 7, NULL)) !=
	    ISS_DB_OK)
		return iss_db_fail(e, db, rc);	/* a concurrent report: retry */
	rc = iss_ledger_move(db, from, to, x->m.amount, "transfer", x->token_id,
	    op);
	if (rc == ISS_LEDGER_FUNDS)
		return ISS_DB_RETRY;	/* not after the locked check */
	return rc == 0 ? 0 : iss_db_fail(e, db, rc);
}

static const char *const token_keys[] = { "token", NULL };

int
iss_transfer_report(iss *is, json_t *req, json_t **resp, iss_err *e)
{
	uint8_t buf[WK_MSG_MAX];
	xfer_ctx x;
	X509 *cert = NULL;
	size_t len = 0;
	bool revoked = false;
	int rc = -1, m;

	memset(&x, 0, sizeof(x));
	if (iss_req_keys(req, token_keys, e) != 0 || iss_msg_arg(req, "token",
	    buf, &len, &x.m, WK_MSG_XFER_TOKEN, e) != 0)
		return -1;
	if (x.m.amount == 0 || x.m.amount > 0x7FFFFFFFu) {
		iss_fail(e, 400, "bad_amount", "a void token moves nothing; an"
		    " amount is 1 to 2147483647 fen");
		return -1;
	}
	if (memcmp(x.m.card_id, x.m.peer_id, WK_MSG_CARD_ID_LEN) == 0) {
		iss_fail(e, 400, "bad_message", "the token names its sender as the"
		    " receiver");
		return -1;
	}
	wk_hex_encode(x.m.load_id, sizeof(x.m.load_id), x.token_id);
	wk_hex_encode(x.m.card_id, sizeof(x.m.card_id), x.sender);
	wk_hex_encode(x.m.peer_id, sizeof(x.m.peer_id), x.receiver);
	if (sender_cert(is, x.sender, &cert, &revoked, e) != 0)
		goto out;
	if ((m = wk_msg_verify(buf, len, X509_get0_pubkey(cert), &x.m)) ==
	    WK_MSG_BAD_SIGNATURE) {
		iss_fail(e, 403, "bad_signature", "the token is not signed by card"
		    " %s", x.sender);
		goto out;
	}
	if (m != WK_MSG_OK) {
		iss_fail(e, 400, "bad_message", "token: %s", wk_msg_strerror(m));
		goto out;
	}
	/* a revoked card's key is not trusted to say it paid */
	if (revoked) {
		iss_fail(e, 403, "card_revoked", "the sender, card %s, is revoked",
		    x.sender);
		goto out;
	}
	if ((x.token_hex = malloc(2 * len + 1)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	wk_hex_encode(buf, len, x.token_hex);
	{
		/* the receiver must be a card of this issuer */
		iss_db *db = iss_pool_get(is->pool);
		iss_res *r = NULL;
		bool bad = true;
		int d;

		if (db == NULL) {
			iss_fail(e, 503, "busy", "the issuer cannot reach its database");
			goto out;
		}
		d = iss_db_exec(db, "SELECT 1 FROM cards WHERE card_id = $1",
		    (iss_param[]){ ISS_PS(x.receiver) }, 1, &r);
		if (d != ISS_DB_OK)
			iss_fail_db(e, db, d);
		else if (iss_res_rows(r) != 1)
			iss_fail(e, 404, "card_not_found", "the receiver, card %s, is"
			    " not enrolled", x.receiver);
		else
			bad = false;
		iss_res_free(&r);
		iss_pool_put(is->pool, db);
		if (bad)
			goto out;
	}
	if (iss_run_tx(is, tx_transfer, &x, e) != 0)
		goto out;
	if (x.refused) {
		*e = x.why;
		goto out;
	}
	*resp = json_pack("{s:s, s:s, s:s, s:I, s:s}", "token_id", x.token_id,
	    "sender", x.sender, "receiver", x.receiver, "amount",
	    (json_int_t)x.m.amount, "status", "applied");
	if (*resp == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(x.token_hex);
	X509_free(cert);
	return rc;
}
