/*
 * versioned migrations, one list for both engines. "@ID@" becomes each
 * engine's auto-increment key; a migration may give a separate PostgreSQL
 * text where the dialects differ (triggers). Each migration runs in its own
 * transaction and records its version, so several servers starting at once
 * apply it once (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock).
 */
#include "iss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct migration {
	int version;
	const char *sql;	/* both engines, or SQLite only when pg is set */
	const char *pg;
	/* data moves that need the ledger's code, after sql, same transaction */
	int (*fn)(iss_db *db);
} migration;

static int float_per_card(iss_db *db);

static const migration migrations[] = {
	{ 1,
	"CREATE TABLE issuer_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE issuer_secrets (name TEXT PRIMARY KEY, nonce TEXT NOT NULL,"
	"  sealed TEXT NOT NULL);"
	"CREATE TABLE accounts (id @ID@, kind TEXT NOT NULL"
	"  CHECK (kind IN ('customer', 'float', 'merchant', 'external')),"
	"  pan TEXT UNIQUE, name TEXT NOT NULL, balance BIGINT NOT NULL DEFAULT 0,"
	"  password_hash TEXT, created_at TEXT NOT NULL,"
	"  CHECK (kind = 'external' OR balance >= 0));"
	"CREATE TABLE txns (id @ID@, kind TEXT NOT NULL, ref TEXT,"
	"  oplog_id BIGINT, created_at TEXT NOT NULL);"
	"CREATE TABLE entries (id @ID@,"
	"  txn_id BIGINT NOT NULL REFERENCES txns(id),"
	"  account_id BIGINT NOT NULL REFERENCES accounts(id),"
	"  amount BIGINT NOT NULL);"
	"CREATE INDEX entries_txn ON entries(txn_id);"
	"CREATE TABLE cards (card_id TEXT PRIMARY KEY,"
	"  account_id BIGINT NOT NULL REFERENCES accounts(id),"
	"  cert_serial TEXT NOT NULL UNIQUE, cert TEXT NOT NULL,"
	"  pubkey TEXT NOT NULL, key_version INTEGER NOT NULL,"
	"  balance BIGINT NOT NULL DEFAULT 0, revoked_at TEXT,"
	"  created_at TEXT NOT NULL);"
	"CREATE TABLE loads (id TEXT PRIMARY KEY,"
	"  card_id TEXT NOT NULL REFERENCES cards(card_id),"
	"  seq INTEGER NOT NULL, account_id BIGINT NOT NULL REFERENCES accounts(id),"
	"  amount BIGINT NOT NULL CHECK (amount > 0),"
	"  status TEXT NOT NULL CHECK (status IN ('pending', 'complete', 'reversed')),"
	"  request_hash TEXT NOT NULL, grant_msg TEXT NOT NULL,"
	"  grant_op BIGINT NOT NULL, new_balance BIGINT,"
	"  created_at TEXT NOT NULL, closed_at TEXT,"
	"  UNIQUE (card_id, seq));"
	"CREATE INDEX loads_status ON loads(status);"
	"CREATE TABLE oplog (id @ID@, at TEXT NOT NULL, kind TEXT NOT NULL,"
	"  card_id TEXT, load_id TEXT, seq INTEGER, account_id BIGINT,"
	"  amount BIGINT, detail TEXT, msg TEXT,"
	"  reverses BIGINT REFERENCES oplog(id));"
	"CREATE INDEX oplog_load ON oplog(load_id);"
	"INSERT INTO accounts (kind, pan, name, balance, created_at)"
	"  VALUES ('float', NULL, 'card float', 0, '1970-01-01T00:00:00Z');"
	"INSERT INTO accounts (kind, pan, name, balance, created_at)"
	"  VALUES ('external', NULL, 'deposits from outside', 0,"
	"  '1970-01-01T00:00:00Z');",
	NULL, NULL },
	/* the operation log and the ledger entries are append-only */
	{ 2,
	"CREATE TRIGGER oplog_no_update BEFORE UPDATE ON oplog"
	"  BEGIN SELECT RAISE(ABORT, 'oplog is append-only'); END;"
	"CREATE TRIGGER oplog_no_delete BEFORE DELETE ON oplog"
	"  BEGIN SELECT RAISE(ABORT, 'oplog is append-only'); END;"
	"CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries"
	"  BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;"
	"CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries"
	"  BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;",
	"CREATE FUNCTION wk_append_only() RETURNS trigger LANGUAGE plpgsql AS"
	"  $$BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END$$;"
	"CREATE TRIGGER oplog_append_only BEFORE UPDATE OR DELETE ON oplog"
	"  FOR EACH ROW EXECUTE FUNCTION wk_append_only();"
	"CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries"
	"  FOR EACH ROW EXECUTE FUNCTION wk_append_only();", NULL },
	/* the audit sync: the cards' records and what the issuer acknowledged */
	{ 3,
	"CREATE TABLE audit_records (card_id TEXT NOT NULL"
	"  REFERENCES cards(card_id), seq BIGINT NOT NULL CHECK (seq > 0),"
	"  raw TEXT NOT NULL, hash TEXT NOT NULL, received_at TEXT NOT NULL,"
	"  PRIMARY KEY (card_id, seq));"
	"CREATE TABLE audit_acks (card_id TEXT PRIMARY KEY"
	"  REFERENCES cards(card_id), acked_seq BIGINT NOT NULL,"
	"  acked_hash TEXT NOT NULL, at TEXT NOT NULL);",
	NULL, NULL },
	/* purchase settlement: a merchant account per terminal id, and one row
	 * per settled purchase proof (docs/issuer.md "Settlement") */
	{ 4,
	"CREATE TABLE merchants (terminal_id TEXT PRIMARY KEY,"
	"  account_id BIGINT NOT NULL UNIQUE REFERENCES accounts(id),"
	"  created_at TEXT NOT NULL);"
	"CREATE TABLE settlements (card_id TEXT NOT NULL"
	"  REFERENCES cards(card_id), purse TEXT NOT NULL"
	"  CHECK (purse IN ('EP', 'ED')), offline_seq INTEGER NOT NULL,"
	"  terminal_id TEXT NOT NULL REFERENCES merchants(terminal_id),"
	"  terminal_seq TEXT NOT NULL, amount BIGINT NOT NULL CHECK (amount > 0),"
	"  tx_date TEXT NOT NULL, tx_time TEXT NOT NULL, tac TEXT NOT NULL,"
	"  oplog_id BIGINT NOT NULL, settled_at TEXT NOT NULL,"
	"  PRIMARY KEY (card_id, purse, offline_seq),"
	"  UNIQUE (card_id, purse, terminal_id, terminal_seq));",
	NULL, NULL },
	/* issue 11 "no value outside what the issuer put in": a float account
	 * per card (float_per_card moves the single float into them); a
	 * settlement is identified by what its TAC covers, (terminal id,
	 * terminal seq); the transfers the cards reported; the PSAMs issued */
	{ 5,
	"ALTER TABLE cards ADD COLUMN float_account BIGINT REFERENCES accounts(id);"
	"CREATE UNIQUE INDEX cards_float ON cards(float_account);"
	"CREATE TABLE settlements_v5 (terminal_id TEXT NOT NULL"
	"  REFERENCES merchants(terminal_id), terminal_seq TEXT NOT NULL,"
	"  card_id TEXT NOT NULL REFERENCES cards(card_id), purse TEXT NOT NULL"
	"  CHECK (purse IN ('EP', 'ED')), offline_seq INTEGER NOT NULL,"
	"  amount BIGINT NOT NULL CHECK (amount > 0), tx_date TEXT NOT NULL,"
	"  tx_time TEXT NOT NULL, tac TEXT NOT NULL, oplog_id BIGINT NOT NULL,"
	"  settled_at TEXT NOT NULL, PRIMARY KEY (terminal_id, terminal_seq));"
	"INSERT INTO settlements_v5 (terminal_id, terminal_seq, card_id, purse,"
	"  offline_seq, amount, tx_date, tx_time, tac, oplog_id, settled_at)"
	"  SELECT terminal_id, terminal_seq, card_id, purse, offline_seq, amount,"
	"  tx_date, tx_time, tac, oplog_id, settled_at FROM settlements;"
	"DROP TABLE settlements;"
	"ALTER TABLE settlements_v5 RENAME TO settlements;"
	"CREATE INDEX settlements_card ON settlements(card_id);"
	"CREATE TABLE transfers (token_id TEXT PRIMARY KEY,"
	"  sender TEXT NOT NULL REFERENCES cards(card_id),"
	"  receiver TEXT NOT NULL REFERENCES cards(card_id),"
	"  amount BIGINT NOT NULL CHECK (amount > 0), token TEXT NOT NULL,"
	"  oplog_id BIGINT NOT NULL, reported_at TEXT NOT NULL);"
	"CREATE INDEX transfers_sender ON transfers(sender);"
	"CREATE INDEX transfers_receiver ON transfers(receiver);"
	"CREATE TABLE psams (terminal_id TEXT PRIMARY KEY"
	"  REFERENCES merchants(terminal_id), card_id TEXT NOT NULL,"
	"  pubkey TEXT NOT NULL, key_version INTEGER NOT NULL,"
	"  issued_at TEXT NOT NULL);",
	NULL, float_per_card },
	/* issue 12 "the issuer's doors": the cards' sessions (their
	 * challenges, single use, and tokens, kept as SHA-256 only) and the
	 * enrolment attempts per account number, so the limit survives a
	 * restart (docs/issuer.md "Sessions", "Enrolment attempts") */
	{ 6,
	"CREATE TABLE session_challenges (challenge TEXT PRIMARY KEY,"
	"  card_id TEXT NOT NULL REFERENCES cards(card_id),"
	"  expires_at BIGINT NOT NULL, used_at BIGINT);"
	"CREATE INDEX session_challenges_card ON session_challenges(card_id);"
	"CREATE INDEX session_challenges_exp ON session_challenges(expires_at);"
	"CREATE TABLE sessions (token_hash TEXT PRIMARY KEY,"
	"  card_id TEXT NOT NULL REFERENCES cards(card_id),"
	"  scope TEXT NOT NULL CHECK (scope IN ('card', 'holder')),"
	"  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);"
	"CREATE INDEX sessions_card ON sessions(card_id);"
	"CREATE INDEX sessions_exp ON sessions(expires_at);"
	"CREATE TABLE enrol_attempts (pan TEXT PRIMARY KEY,"
	"  failures INTEGER NOT NULL, window_start BIGINT NOT NULL);"
	"CREATE INDEX enrol_attempts_window ON enrol_attempts(window_start);",
	NULL, NULL },
	/* issue 18, PBOC 3.0 purse with SM4: the algorithm of each of a
	 * card's purse keys as enrolled, one id per key of the table in hex
	 * (iss_algs_hex); NULL for the cards enrolled before: 3DES */
	{ 7,
	"ALTER TABLE cards ADD COLUMN key_algs TEXT;",
	NULL, NULL },
	/* issue 16: the operator's PIN reload orders (iss_pin.c); the id is
	 * the order's pin.order entry in the operation log */
	{ 8,
	"CREATE TABLE pin_reloads (id BIGINT PRIMARY KEY,"
	"  card_id TEXT NOT NULL REFERENCES cards(card_id),"
	"  status TEXT NOT NULL"
	"  CHECK (status IN ('pending', 'delivered', 'cancelled')),"
	"  ordered_at TEXT NOT NULL, order_op BIGINT NOT NULL,"
	"  challenge TEXT, delivered_at TEXT);"
	"CREATE INDEX pin_reloads_card ON pin_reloads(card_id, status);",
	NULL, NULL },
	/* issue 14 "online payments confirmed on the card" (docs/payments.md):
	 * the merchants' credentials (API keys kept as SHA-256, client
	 * certificates by fingerprint) and webhooks, the payers' aliases, the
	 * payments, the confirmation counters each card used, the webhook
	 * outbox */
	{ 9,
	"ALTER TABLE merchants ADD COLUMN webhook_url TEXT;"
	"CREATE TABLE merchant_keys (key_id TEXT PRIMARY KEY,"
	"  terminal_id TEXT NOT NULL REFERENCES merchants(terminal_id),"
	"  key_hash TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT);"
	"CREATE TABLE merchant_certs (fingerprint TEXT PRIMARY KEY,"
	"  terminal_id TEXT NOT NULL REFERENCES merchants(terminal_id),"
	"  subject TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT);"
	"CREATE TABLE payer_aliases (alias TEXT PRIMARY KEY,"
	"  account_id BIGINT NOT NULL REFERENCES accounts(id), label TEXT,"
	"  created_at TEXT NOT NULL, revoked_at TEXT);"
	"CREATE TABLE payments (id TEXT PRIMARY KEY,"
	"  terminal_id TEXT NOT NULL REFERENCES merchants(terminal_id),"
	"  order_id TEXT NOT NULL, description TEXT NOT NULL,"
	"  payer TEXT NOT NULL,"
	"  account_id BIGINT NOT NULL REFERENCES accounts(id),"
	"  card_id TEXT NOT NULL REFERENCES cards(card_id),"
	"  amount BIGINT NOT NULL CHECK (amount > 0), currency TEXT NOT NULL,"
	"  expires_at BIGINT NOT NULL, request_msg TEXT NOT NULL,"
	"  request_hash TEXT NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('pending', 'paid',"
	"  'declined', 'expired', 'failed', 'cancelled')),"
	"  error_code TEXT, error_message TEXT, confirmation TEXT, method TEXT,"
	"  counter BIGINT, oplog_id BIGINT, created_at TEXT NOT NULL,"
	"  closed_at TEXT, UNIQUE (terminal_id, order_id));"
	"CREATE INDEX payments_card ON payments(card_id, status);"
	"CREATE INDEX payments_status ON payments(status, expires_at);"
	"CREATE TABLE payment_counters (card_id TEXT NOT NULL"
	"  REFERENCES cards(card_id), counter BIGINT NOT NULL,"
	"  payment_id TEXT NOT NULL REFERENCES payments(id),"
	"  PRIMARY KEY (card_id, counter));"
	"CREATE TABLE webhooks (id @ID@, payment_id TEXT NOT NULL"
	"  REFERENCES payments(id), url TEXT NOT NULL, body TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0, next_at BIGINT NOT NULL,"
	"  delivered_at BIGINT, last_error TEXT);"
	"CREATE INDEX webhooks_due ON webhooks(delivered_at, next_at);",
	NULL, NULL },
	/* issue 17: each phase of a remote load is one statement on
	 * PostgreSQL (one round trip, its own transaction): the grant's
	 * writes (wk_load_start) and the closing of a load by a receipt,
	 * refusal or recovery (wk_load_close), with the checks of
	 * the SQLite path (iss_load.c, iss_load_close.c) in the same order.
	 * A refusal is found before anything is written and returned as a
	 * code; a fault raises, so the statement's transaction writes
	 * nothing. SQLite keeps the statements of iss_load.c and
	 * iss_load_close.c. */
	{ 10,
	"-- the load's statements stay in iss_load.c on SQLite\n",
	"CREATE FUNCTION wk_load_start(p_card text, p_seq integer, p_hash text,"
	"  p_id text, p_account bigint, p_amount bigint, p_grant text,"
	"  p_msg text, p_now text)"
	" RETURNS TABLE (o_code text, o_id text, o_card text, o_seq integer,"
	"  o_account bigint, o_amount bigint, o_status text, o_hash text,"
	"  o_grant text, o_op bigint, o_balance bigint)"
	" LANGUAGE plpgsql AS $f$"
	" DECLARE flt bigint; l loads%ROWTYPE; bal bigint; knd text;"
	"  lo bigint; hi bigint; op bigint; t bigint;"
	" BEGIN"
	/* the card's row first: a revocation, another grant or a receipt
	 * of this card waits for this one (and this one for them) */
	"  SELECT c.float_account INTO flt FROM cards c WHERE c.card_id = p_card"
	"   AND c.revoked_at IS NULL FOR UPDATE;"
	"  IF NOT FOUND THEN"
	"   RETURN QUERY SELECT 'card_revoked'::text, NULL::text, NULL::text,"
	"    NULL::integer, NULL::bigint, NULL::bigint, NULL::text, NULL::text,"
	"    NULL::text, NULL::bigint, NULL::bigint;"
	"   RETURN;"
	"  END IF;"
	/* this sequence number's load: the same request again, or a refusal */
	"  SELECT * INTO l FROM loads x WHERE x.card_id = p_card AND x.seq = p_seq;"
	"  IF FOUND THEN"
	"   RETURN QUERY SELECT CASE WHEN l.request_hash <> p_hash THEN 'seq_used'"
	"    WHEN l.status <> 'pending' THEN 'load_closed' ELSE 'replay' END,"
	"    l.id, l.card_id, l.seq, l.account_id, l.amount, l.status,"
	"    l.request_hash, l.grant_msg, l.grant_op, l.new_balance;"
	"   RETURN;"
	"  END IF;"
	/* the two accounts locked, the lower id first (as every ledger
	 * movement does), and the funds checked before any write; a card's
	 * float is made at its first load, after its account */
	"  IF flt IS NULL THEN lo := p_account; hi := NULL;"
	"  ELSIF p_account < flt THEN lo := p_account; hi := flt;"
	"  ELSE lo := flt; hi := p_account; END IF;"
	"  PERFORM 1 FROM accounts a WHERE a.id = lo FOR UPDATE;"
	"  IF hi IS NOT NULL THEN"
	"   PERFORM 1 FROM accounts a WHERE a.id = hi FOR UPDATE;"
	"  END IF;"
	"  SELECT a.balance, a.kind INTO bal, knd FROM accounts a"
	"   WHERE a.id = p_account;"
	"  IF NOT FOUND THEN"
	"   RAISE EXCEPTION 'account % of card % is missing', p_account, p_card;"
	"  END IF;"
	"  IF knd <> 'external' AND bal < p_amount THEN"
	"   RETURN QUERY SELECT 'insufficient_funds'::text, NULL::text,"
	"    NULL::text, NULL::integer, NULL::bigint, NULL::bigint, NULL::text,"
	"    NULL::text, NULL::text, NULL::bigint, NULL::bigint;"
	"   RETURN;"
	"  END IF;"
	"  INSERT INTO oplog (at, kind, card_id, load_id, seq, account_id, amount,"
	"   detail, msg) VALUES (p_now, 'load.grant', p_card, p_id, p_seq,"
	"   p_account, p_amount, p_grant, p_msg) RETURNING id INTO op;"
	"  IF flt IS NULL THEN"
	"   INSERT INTO accounts (kind, pan, name, balance, created_at)"
	"    VALUES ('float', NULL, 'card float ' || p_card, 0, p_now)"
	"    RETURNING id INTO flt;"
	"   UPDATE cards SET float_account = flt WHERE card_id = p_card"
	"    AND float_account IS NULL;"
	"   IF NOT FOUND THEN"
	"    RAISE EXCEPTION USING ERRCODE = '40001',"
	"     MESSAGE = 'the card''s float was made concurrently';"
	"   END IF;"
	"  END IF;"
	"  UPDATE accounts SET balance = balance - p_amount WHERE id = p_account;"
	"  UPDATE accounts SET balance = balance + p_amount WHERE id = flt;"
	"  INSERT INTO txns (kind, ref, oplog_id, created_at)"
	"   VALUES ('load', p_id, op, p_now) RETURNING id INTO t;"
	"  INSERT INTO entries (txn_id, account_id, amount)"
	"   VALUES (t, p_account, -p_amount), (t, flt, p_amount);"
	"  INSERT INTO loads (id, card_id, seq, account_id, amount, status,"
	"   request_hash, grant_msg, grant_op, created_at) VALUES (p_id, p_card,"
	"   p_seq, p_account, p_amount, 'pending', p_hash, p_grant, op, p_now);"
	"  RETURN QUERY SELECT 'ok'::text, p_id, p_card, p_seq, p_account,"
	"   p_amount, 'pending'::text, p_hash, p_grant, op, NULL::bigint;"
	" END $f$;"
	"CREATE FUNCTION wk_load_close(p_id text, p_want text, p_balance bigint,"
	"  p_now text, p_kind text, p_detail text, p_msg text)"
	" RETURNS TABLE (o_code text, o_id text, o_card text, o_seq integer,"
	"  o_account bigint, o_amount bigint, o_status text, o_hash text,"
	"  o_grant text, o_op bigint, o_balance bigint)"
	" LANGUAGE plpgsql AS $f$"
	" DECLARE l loads%ROWTYPE; flt bigint; bal bigint; op bigint; t bigint;"
	" BEGIN"
	/* the pending load closed; a load not pending is returned to tell why */
	"  UPDATE loads x SET status = p_want, closed_at = p_now,"
	"   new_balance = p_balance WHERE x.id = p_id AND x.status = 'pending'"
	"   RETURNING x.* INTO l;"
	"  IF NOT FOUND THEN"
	"   SELECT * INTO l FROM loads x WHERE x.id = p_id;"
	"   RETURN QUERY SELECT CASE WHEN l.id IS NULL THEN 'load_not_found'"
	"    ELSE 'closed' END, l.id, l.card_id, l.seq, l.account_id, l.amount,"
	"    l.status, l.request_hash, l.grant_msg, l.grant_op, l.new_balance;"
	"   RETURN;"
	"  END IF;"
	"  INSERT INTO oplog (at, kind, card_id, load_id, seq, account_id, amount,"
	"   detail, msg, reverses) VALUES (p_now, p_kind, l.card_id, p_id, l.seq,"
	"   l.account_id, l.amount, p_detail, p_msg, CASE WHEN p_want ="
	"   'complete' THEN NULL ELSE l.grant_op END) RETURNING id INTO op;"
	"  IF p_want = 'complete' THEN"
	"   UPDATE cards SET balance = p_balance WHERE card_id = l.card_id;"
	"  ELSE"
	/* the grant put the amount into the card's float; a pending load's
	 * amount is always still there: anything else is a fault */
	"   SELECT c.float_account INTO flt FROM cards c"
	"    WHERE c.card_id = l.card_id;"
	"   IF flt IS NULL THEN"
	"    RAISE EXCEPTION 'card % has no float', l.card_id;"
	"   END IF;"
	"   PERFORM 1 FROM accounts a WHERE a.id = LEAST(flt, l.account_id)"
	"    FOR UPDATE;"
	"   PERFORM 1 FROM accounts a WHERE a.id = GREATEST(flt, l.account_id)"
	"    FOR UPDATE;"
	"   UPDATE accounts SET balance = balance - l.amount WHERE id = flt"
	"    AND balance >= l.amount;"
	"   IF NOT FOUND THEN"
	"    RAISE EXCEPTION 'the float of card % holds less than %', l.card_id,"
	"     l.amount;"
	"   END IF;"
	"   UPDATE accounts SET balance = balance + l.amount"
	"    WHERE id = l.account_id;"
	"   IF NOT FOUND THEN"
	"    RAISE EXCEPTION 'account % is missing', l.account_id;"
	"   END IF;"
	"   INSERT INTO txns (kind, ref, oplog_id, created_at)"
	"    VALUES ('load.reversal', p_id, op, p_now) RETURNING id INTO t;"
	"   INSERT INTO entries (txn_id, account_id, amount)"
	"    VALUES (t, flt, -l.amount), (t, l.account_id, l.amount);"
	"  END IF;"
	"  RETURN QUERY SELECT 'ok'::text, l.id, l.card_id, l.seq, l.account_id,"
	"   l.amount, l.status, l.request_hash, l.grant_msg, l.grant_op,"
	"   l.new_balance;"
	" END $f$;",
	NULL },
};

/*
 * migration 5: every card gets its float account, holding what the card
 * was loaded with (pending and complete loads) less what was settled from
 * it; the single float pays each in turn by a ledger movement, so every sum
 * stays as it was. Transfers were not reported before this version, so a
 * card that spent value it received may come out below zero: it gets none,
 * and what the others cannot take stays in the old float (logged).
 */
static int
float_per_card(iss_db *db)
{
	iss_res *r = NULL;
	int64_t left, op;
	int rc;

	if ((rc = iss_account_balance(db, ISS_FLOAT_ACCOUNT, &left)) != ISS_DB_OK)
		return rc;
	if ((rc = iss_db_exec(db, "SELECT c.card_id,"
	    " (SELECT COALESCE(SUM(amount), 0) FROM loads l WHERE"
	    "  l.card_id = c.card_id AND l.status IN ('pending', 'complete')) -"
	    " (SELECT COALESCE(SUM(amount), 0) FROM settlements s WHERE"
	    "  s.card_id = c.card_id) FROM cards c ORDER BY c.card_id", NULL, 0,
	    &r)) != ISS_DB_OK)
		return rc;
	for (size_t i = 0; i < iss_res_rows(r); i++) {
		const char *card = iss_res_text(r, i, 0);
		int64_t want = iss_res_int(r, i, 1), acct, give;
		char detail[128];

		if ((rc = iss_card_float(db, card, true, &acct)) != ISS_DB_OK)
			goto out;
		give = want < left ? want : left;
		if (give <= 0)
			continue;
		snprintf(detail, sizeof(detail), "the single float's share of"
		    " card %s (its loads less its settlements: %lld)", card,
		    (long long)want);
		if ((rc = iss_oplog_append(db, &(iss_op){ .kind = "float.migrate",
		    .card_id = card, .seq = -1, .account_id = acct, .amount = give,
		    .detail = detail }, &op)) != ISS_DB_OK ||
		    (rc = iss_ledger_move(db, ISS_FLOAT_ACCOUNT, acct, give,
		    "float.migrate", card, op)) != 0)
			goto out;
		left -= give;
	}
	if (left > 0)
		rc = iss_oplog_append(db, &(iss_op){ .kind = "float.migrate",
		    .seq = -1, .account_id = ISS_FLOAT_ACCOUNT, .amount = left,
		    .detail = "left in the single float: no card's loads less"
		    " settlements account for it" }, NULL);
	else
		rc = ISS_DB_OK;
out:
	iss_res_free(&r);
	return rc == ISS_LEDGER_FUNDS ? ISS_DB_ERROR : rc;
}

char *
iss_schema_expand(const char *sql, bool pg)
{
	const char *id = pg ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" :
	    "INTEGER PRIMARY KEY";
	size_t n = 0, idl = strlen(id);
	char *out, *o;

	for (const char *s = sql; (s = strstr(s, "@ID@")) != NULL; s += 4)
		n++;
	if ((out = malloc(strlen(sql) + n * idl + 1)) == NULL)
		return NULL;
	o = out;
	while (*sql != '\0') {
		if (strncmp(sql, "@ID@", 4) == 0) {
			memcpy(o, id, idl);
			o += idl;
			sql += 4;
		} else {
			*o++ = *sql++;
		}
	}
	*o = '\0';
	return out;
}

int
iss_schema_version(iss_db *db)
{
	iss_res *r = NULL;
	int v = -1;

	if (iss_db_exec(db, "SELECT COALESCE(MAX(version), 0) FROM"
	    " schema_migrations", NULL, 0, &r) == ISS_DB_OK)
		v = (int)iss_res_int(r, 0, 0);
	iss_res_free(&r);
	return v;
}

int
iss_schema_latest(void)
{
	return migrations[sizeof(migrations) / sizeof(migrations[0]) - 1].version;
}

int
iss_schema_migrate(iss_db *db, char *err, size_t errlen)
{
	return iss_schema_migrate_to(db, iss_schema_latest(), err, errlen);
}

int
iss_schema_migrate_to(iss_db *db, int version, char *err, size_t errlen)
{
	bool pg = iss_db_is_pg(db);
	int rc = -1;

	if (iss_db_script(db, "CREATE TABLE IF NOT EXISTS schema_migrations"
	    " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)") != ISS_DB_OK) {
		snprintf(err, errlen, "%s", iss_db_errmsg(db));
		return -1;
	}
	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		const migration *m = &migrations[i];
		iss_res *r = NULL;
		char *sql = NULL, now[32];
		bool done;

		if (m->version > version)
			break;
		if (iss_db_begin(db) != ISS_DB_OK)
			goto fail;
		if (pg && iss_db_script(db,
		    "SELECT pg_advisory_xact_lock(7415001)") != ISS_DB_OK)
			goto fail;
		if (iss_db_exec(db, "SELECT 1 FROM schema_migrations WHERE version = $1",
		    (iss_param[]){ ISS_PI(m->version) }, 1, &r) != ISS_DB_OK)
			goto fail;
		done = iss_res_rows(r) > 0;
		iss_res_free(&r);
		if (done) {
			iss_db_rollback(db);
			continue;
		}
		if ((sql = iss_schema_expand(pg && m->pg ? m->pg : m->sql, pg)) == NULL)
			goto fail;
		if (iss_db_script(db, sql) != ISS_DB_OK) {
			free(sql);
			goto fail;
		}
		free(sql);
		if (m->fn != NULL && m->fn(db) != ISS_DB_OK)
			goto fail;
		iss_now_iso(now, sizeof(now));
		if (iss_db_exec(db, "INSERT INTO schema_migrations (version, applied_at)"
		    " VALUES ($1, $2)", (iss_param[]){ ISS_PI(m->version),
		    ISS_PS(now) }, 2, NULL) != ISS_DB_OK ||
		    iss_db_commit(db) != ISS_DB_OK)
			goto fail;
		continue;
fail:
		snprintf(err, errlen, "migration %d: %s", m->version,
		    iss_db_errmsg(db));
		iss_db_rollback(db);
		return -1;
	}
	rc = 0;
	return rc;
}
