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
} migration;

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
	NULL },
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
	"  FOR EACH ROW EXECUTE FUNCTION wk_append_only();" },
	/* the audit sync: the cards' records and what the issuer acknowledged */
	{ 3,
	"CREATE TABLE audit_records (card_id TEXT NOT NULL"
	"  REFERENCES cards(card_id), seq BIGINT NOT NULL CHECK (seq > 0),"
	"  raw TEXT NOT NULL, hash TEXT NOT NULL, received_at TEXT NOT NULL,"
	"  PRIMARY KEY (card_id, seq));"
	"CREATE TABLE audit_acks (card_id TEXT PRIMARY KEY"
	"  REFERENCES cards(card_id), acked_seq BIGINT NOT NULL,"
	"  acked_hash TEXT NOT NULL, at TEXT NOT NULL);",
	NULL },
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
	NULL },
};

static char *
expand(const char *sql, bool pg)
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
		if ((sql = expand(pg && m->pg ? m->pg : m->sql, pg)) == NULL)
			goto fail;
		if (iss_db_script(db, sql) != ISS_DB_OK) {
			free(sql);
			goto fail;
		}
		free(sql);
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
