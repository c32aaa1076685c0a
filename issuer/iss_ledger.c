/*
 * double-entry ledger and the append-only operation log. Every movement is
 * one txns row and two entries (-amount, +amount) written in the caller's
 * transaction together with both balance updates. Rows are locked in the
 * order of their ids so two movements never wait on each other in a cycle.
 */
#include "iss.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "wk_hex.h"

static int
debit(iss_db *db, int64_t acct, int64_t amount)
{
	int rc;

	/* the external account stands for money outside: it may go negative */
	rc = iss_db_exec(db, "UPDATE accounts SET balance = balance - $1"
	    " WHERE id = $2 AND (kind = 'external' OR balance >= $1)",
	    (iss_param[]){ ISS_PI(amount), ISS_PI(acct) }, 2, NULL);
	if (rc != ISS_DB_OK)
		return rc;
	return iss_db_changes(db) == 1 ? 0 : ISS_LEDGER_FUNDS;
}

static int
credit(iss_db *db, int64_t acct, int64_t amount)
{
	int rc = iss_db_exec(db, "UPDATE accounts SET balance = balance + $1"
	    " WHERE id = $2", (iss_param[]){ ISS_PI(amount), ISS_PI(acct) }, 2,
	    NULL);

	if (rc == ISS_DB_OK && iss_db_changes(db) != 1)
		rc = ISS_DB_ERROR;
	return rc;
}

/*
 * PostgreSQL: the whole movement in one statement, one round trip instead
 * of four (issue 17). The lower id's row is updated first (b waits for a),
 * the debited row only when it holds the amount (or is the external
 * account); the transaction and its two entries only when both rows moved.
 */
static int
move_pg(iss_db *db, int64_t from, int64_t to, int64_t amount,
    const char *kind, const char *ref, int64_t oplog_id, const char *now)
{
	int64_t lo = from < to ? from : to, hi = from < to ? to : from;
	int64_t dlo = lo == from ? -amount : amount, dhi = -dlo;
	iss_res *r = NULL;
	int rc;

	rc = iss_db_exec(db, "WITH a AS (UPDATE accounts SET balance = balance +"
	    " $2::bigint WHERE id = $1::bigint AND ($2::bigint > 0 OR kind ="
	    " 'external' OR balance >= -$2::bigint) RETURNING id),"
	    " b AS (UPDATE accounts SET balance = balance + $4::bigint WHERE id ="
	    " $3::bigint AND ($4::bigint > 0 OR kind = 'external' OR balance >="
	    " -$4::bigint) AND EXISTS (SELECT 1 FROM a) RETURNING id),"
	    " t AS (INSERT INTO txns (kind, ref, oplog_id, created_at) SELECT"
	    " $5::text, $6::text, $7::bigint, $8::text FROM b RETURNING id)"
	    " INSERT INTO entries (txn_id, account_id, amount)"
	    " SELECT id, $9::bigint, $10::bigint FROM t UNION ALL"
	    " SELECT id, $11::bigint, $12::bigint FROM t",
	    (iss_param[]){ ISS_PI(lo), ISS_PI(dlo), ISS_PI(hi), ISS_PI(dhi),
	    ISS_PS(kind), ref ? ISS_PS(ref) : ISS_PN,
	    oplog_id ? ISS_PI(oplog_id) : ISS_PN, ISS_PS(now), ISS_PI(from),
	    ISS_PI(-amount), ISS_PI(to), ISS_PI(amount) }, 12, NULL);
	if (rc != ISS_DB_OK)
		return rc;
	if (iss_db_changes(db) == 2)
		return 0;
	/* nothing moved: short of funds, unless an account is missing (the
	 * caller rolls back either way) */
	if ((rc = iss_db_exec(db, "SELECT COUNT(*) FROM accounts WHERE id = $1"
	    " OR id = $2", (iss_param[]){ ISS_PI(from), ISS_PI(to) }, 2,
	    &r)) != ISS_DB_OK)
		return rc;
	rc = iss_res_int(r, 0, 0) == 2 ? ISS_LEDGER_FUNDS : ISS_DB_ERROR;
	iss_res_free(&r);
	return rc;
}

int
iss_ledger_move(iss_db *db, int64_t from, int64_t to, int64_t amount,
    const char *kind, const char *ref, int64_t oplog_id)
{
	iss_res *r = NULL;
	int64_t txn;
	char now[40];
	int rc;

	if (amount <= 0 || from == to)
		return ISS_DB_ERROR;
	if (iss_db_is_pg(db)) {
		iss_now_iso(now, sizeof(now));
		return move_pg(db, from, to, amount, kind, ref, oplog_id, now);
	}
	if (from < to) {
		if ((rc = debit(db, from, amount)) != 0 ||
		    (rc = credit(db, to, amount)) != 0)
			return rc;
	} else {
		/* lock the lower id first; undo nothing, the caller rolls back */
		if ((rc = credit(db, to, amount)) != 0 ||
		    (rc = debit(db, from, amount)) != 0)
			return rc;
	}
	iss_now_iso(now, sizeof(now));
	if ((rc = iss_db_exec(db, "INSERT INTO txns (kind, ref, oplog_id, created_at)"
	    " VALUES ($1, $2, $3, $4) RETURNING id", (iss_param[]){ ISS_PS(kind),
	    ref ? ISS_PS(ref) : ISS_PN, oplog_id ? ISS_PI(oplog_id) : ISS_PN,
	    ISS_PS(now) }, 4, &r)) != ISS_DB_OK)
		return rc;
	txn = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	if ((rc = iss_db_exec(db, "INSERT INTO entries (txn_id, account_id, amount)"
	    " VALUES ($1, $2, $3), ($1, $4, $5)", (iss_param[]){ ISS_PI(txn),
	    ISS_PI(from), ISS_PI(-amount), ISS_PI(to), ISS_PI(amount) }, 5,
	    NULL)) != ISS_DB_OK)
		return rc;
	return 0;
}

int
iss_oplog_append(iss_db *db, const iss_op *op, int64_t *id)
{
	iss_res *r = NULL;
	char now[40];
	int rc;

	iss_now_iso(now, sizeof(now));
	rc = iss_db_exec(db, "INSERT INTO oplog (at, kind, card_id, load_id, seq,"
	    " account_id, amount, detail, msg, reverses)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
	    (iss_param[]){ ISS_PS(now), ISS_PS(op->kind),
	    op->card_id ? ISS_PS(op->card_id) : ISS_PN,
	    op->load_id ? ISS_PS(op->load_id) : ISS_PN,
	    op->seq >= 0 ? ISS_PI(op->seq) : ISS_PN,
	    op->account_id ? ISS_PI(op->account_id) : ISS_PN,
	    op->amount >= 0 ? ISS_PI(op->amount) : ISS_PN,
	    op->detail ? ISS_PS(op->detail) : ISS_PN,
	    op->msg ? ISS_PS(op->msg) : ISS_PN,
	    op->reverses ? ISS_PI(op->reverses) : ISS_PN }, 10, &r);
	if (rc == ISS_DB_OK && id != NULL)
		*id = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	return rc;
}

static bool
valid_pan(const char *pan)
{
	size_t n = strlen(pan);

	if (n < 1 || n > WK_MSG_PAN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (pan[i] < '0' || pan[i] > '9')
			return false;
	return true;
}

int
iss_account_create(iss_db *db, const char *pan, const char *name,
    const char *password, int64_t *id, iss_err *e)
{
	char hash[crypto_pwhash_STRBYTES], now[40];
	iss_res *r = NULL;
	int rc;

	if (!valid_pan(pan)) {
		iss_fail(e, 400, "bad_pan", "a PAN is 1 to 19 digits");
		return -1;
	}
	if (password == NULL || strlen(password) < 8) {
		iss_fail(e, 400, "bad_password", "a password has at least 8 characters");
		return -1;
	}
	if (crypto_pwhash_str(hash, password, strlen(password),
	    ISS_PW_OPSLIMIT, ISS_PW_MEMLIMIT) != 0) {
		iss_fail(e, 500, "internal", "out of memory hashing the password");
		return -1;
	}
	iss_now_iso(now, sizeof(now));
	if ((rc = iss_db_begin(db)) != ISS_DB_OK)
		goto dberr;
	rc = iss_db_exec(db, "INSERT INTO accounts (kind, pan, name, balance,"
	    " password_hash, created_at) VALUES ('customer', $1, $2, 0, $3, $4)"
	    " RETURNING id", (iss_param[]){ ISS_PS(pan), ISS_PS(name),
	    ISS_PS(hash), ISS_PS(now) }, 4, &r);
	if (rc == ISS_DB_CONFLICT) {
		iss_db_rollback(db);
		iss_fail(e, 409, "account_exists", "an account with PAN %s exists", pan);
		return -1;
	}
	if (rc != ISS_DB_OK)
		goto dberr;
	*id = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	if ((rc = iss_oplog_append(db, &(iss_op){ .kind = "account.create",
	    .seq = -1, .account_id = *id, .amount = -1, .detail = pan },
	    NULL)) != ISS_DB_OK || (rc = iss_db_commit(db)) != ISS_DB_OK)
		goto dberr;
	return 0;
dberr:
	iss_res_free(&r);
	iss_fail_db(e, db, rc);
	iss_db_rollback(db);
	return -1;
}

int
iss_deposit(iss_db *db, const char *pan, int64_t amount, iss_err *e)
{
	iss_res *r = NULL;
	int64_t acct, op;
	int rc;

	if (amount <= 0 || amount > 0x7FFFFFFFll) {
		iss_fail(e, 400, "bad_amount", "an amount is 1 to 2147483647 fen");
		return -1;
	}
	if ((rc = iss_db_begin(db)) != ISS_DB_OK)
		goto dberr;
	if ((rc = iss_db_exec(db, "SELECT id FROM accounts WHERE pan = $1 AND"
	    " kind = 'customer'", (iss_param[]){ ISS_PS(pan) }, 1, &r)) != ISS_DB_OK)
		goto dberr;
	if (iss_res_rows(r) != 1) {
		iss_res_free(&r);
		iss_db_rollback(db);
		iss_fail(e, 404, "account_not_found", "no account with PAN %s", pan);
		return -1;
	}
	acct = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	if ((rc = iss_oplog_append(db, &(iss_op){ .kind = "account.deposit",
	    .seq = -1, .account_id = acct, .amount = amount }, &op)) != ISS_DB_OK ||
	    (rc = iss_ledger_move(db, ISS_EXTERNAL_ACCOUNT, acct, amount,
	    "deposit", pan, op)) != 0 || (rc = iss_db_commit(db)) != ISS_DB_OK)
		goto dberr;
	return 0;
dberr:
	iss_fail_db(e, db, rc);
	iss_db_rollback(db);
	return -1;
}

int
iss_card_revoke(iss_db *db, const char *card_hex, iss_err *e)
{
	char now[40];
	int rc;

	iss_now_iso(now, sizeof(now));
	if ((rc = iss_db_begin(db)) != ISS_DB_OK)
		goto dberr;
	if ((rc = iss_db_exec(db, "UPDATE cards SET revoked_at = $1 WHERE"
	    " card_id = $2 AND revoked_at IS NULL", (iss_param[]){ ISS_PS(now),
	    ISS_PS(card_hex) }, 2, NULL)) != ISS_DB_OK)
		goto dberr;
	if (iss_db_changes(db) != 1) {
		iss_db_rollback(db);
		iss_fail(e, 404, "card_not_found", "no unrevoked card %s", card_hex);
		return -1;
	}
	/* its sessions end with it (each door checks the card as well) */
	if ((rc = iss_db_exec(db, "DELETE FROM sessions WHERE card_id = $1",
	    (iss_param[]){ ISS_PS(card_hex) }, 1, NULL)) != ISS_DB_OK ||
	    (rc = iss_db_exec(db, "DELETE FROM session_challenges WHERE"
	    " card_id = $1", (iss_param[]){ ISS_PS(card_hex) }, 1, NULL)) !=
	    ISS_DB_OK ||
	    (rc = iss_oplog_append(db, &(iss_op){ .kind = "card.revoke",
	    .card_id = card_hex, .seq = -1, .amount = -1 }, NULL)) != ISS_DB_OK ||
	    (rc = iss_pay_revoke_card(db, card_hex)) != ISS_DB_OK ||
	    (rc = iss_db_commit(db)) != ISS_DB_OK)
		goto dberr;
	return 0;
dberr:
	iss_fail_db(e, db, rc);
	iss_db_rollback(db);
	return -1;
}

int
iss_account_balance(iss_db *db, int64_t acct, int64_t *balance)
{
	iss_res *r = NULL;
	int rc;

	*balance = 0;
	if (acct == 0)
		return ISS_DB_OK;
	if ((rc = iss_db_exec(db, "SELECT balance FROM accounts WHERE id = $1",
	    (iss_param[]){ ISS_PI(acct) }, 1, &r)) != ISS_DB_OK)
		return rc;
	if (iss_res_rows(r) != 1)
		rc = ISS_DB_ERROR;
	else
		*balance = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	return rc;
}

int
iss_card_float(iss_db *db, const char *card_hex, bool create, int64_t *acct)
{
	iss_res *r = NULL;
	char name[64], now[40];
	int rc;

	*acct = 0;
	if ((rc = iss_db_exec(db, "SELECT float_account FROM cards WHERE"
	    " card_id = $1", (iss_param[]){ ISS_PS(card_hex) }, 1, &r)) !=
	    ISS_DB_OK)
		return rc;
	if (iss_res_rows(r) != 1) {
		iss_res_free(&r);
		return ISS_DB_ERROR;
	}
	if (iss_res_text(r, 0, 0) != NULL || !create) {
		*acct = iss_res_int(r, 0, 0);
		iss_res_free(&r);
		return ISS_DB_OK;
	}
	iss_res_free(&r);
	snprintf(name, sizeof(name), "card float %s", card_hex);
	iss_now_iso(now, sizeof(now));
	if ((rc = iss_db_exec(db, "INSERT INTO accounts (kind, pan, name, balance,"
	    " created_at) VALUES ('float', NULL, $1, 0, $2) RETURNING id",
	    (iss_param[]){ ISS_PS(name), ISS_PS(now) }, 2, &r)) != ISS_DB_OK)
		return rc;
	*acct = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	/* a concurrent first use made one too: run the transaction again */
	if ((rc = iss_db_exec(db, "UPDATE cards SET float_account = $1 WHERE"
	    " card_id = $2 AND float_account IS NULL", (iss_param[]){
	    ISS_PI(*acct), ISS_PS(card_hex) }, 2, NULL)) != ISS_DB_OK)
		return rc;
	if (iss_db_changes(db) != 1) {
		*acct = 0;
		return ISS_DB_RETRY;
	}
	return ISS_DB_OK;
}

int
iss_card_available(iss_db *db, const char *card_hex, bool lock, int64_t *acct,
    int64_t *available)
{
	iss_res *r = NULL;
	int64_t bal = 0, pending = 0;
	int rc;

	*available = 0;
	if ((rc = iss_card_float(db, card_hex, false, acct)) != ISS_DB_OK ||
	    *acct == 0)
		return rc;
	/* the float's row first: a reversal or a grant of this card waits for
	 * this transaction (and this one for them), so both reads agree */
	if ((lock && (rc = iss_db_exec(db, "UPDATE accounts SET balance = balance"
	    " WHERE id = $1", (iss_param[]){ ISS_PI(*acct) }, 1, NULL)) !=
	    ISS_DB_OK) || (rc = iss_account_balance(db, *acct, &bal)) != ISS_DB_OK)
		return rc;
	if ((rc = iss_db_exec(db, "SELECT COALESCE(SUM(amount), 0) FROM loads"
	    " WHERE card_id = $1 AND status = 'pending'",
	    (iss_param[]){ ISS_PS(card_hex) }, 1, &r)) != ISS_DB_OK)
		return rc;
	pending = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	*available = bal > pending ? bal - pending : 0;
	return ISS_DB_OK;
}
