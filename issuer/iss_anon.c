/* the roles' schemas, keys and start-up (docs/semi-anonymous.md) */
#include "iss_anon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wk_hex.h"

static const char common_sql[] =
	"CREATE TABLE issuer_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE issuer_secrets (name TEXT PRIMARY KEY, nonce TEXT NOT NULL,"
	"  sealed TEXT NOT NULL);"
	"CREATE TABLE anon_oplog (id @ID@, at TEXT NOT NULL, kind TEXT NOT NULL,"
	"  txid TEXT, account TEXT, case_id TEXT, amount BIGINT, detail TEXT);";

/* the identity authority: people, accounts and their keys, the ledger of
 * currency rights (double entry), the transfers with their sealed identity
 * credentials, operators and regulators */
static const char identity_sql[] =
	"CREATE TABLE anon_persons (id @ID@, name TEXT NOT NULL,"
	"  id_number TEXT NOT NULL UNIQUE, salt TEXT NOT NULL, code_hash TEXT,"
	"  created_at TEXT NOT NULL);"
	"CREATE TABLE anon_managers (id TEXT PRIMARY KEY, url TEXT NOT NULL,"
	"  sign_pub TEXT NOT NULL, created_at TEXT NOT NULL);"
	"CREATE TABLE anon_accounts (account TEXT PRIMARY KEY,"
	"  person_id BIGINT NOT NULL REFERENCES anon_persons(id),"
	"  manager TEXT NOT NULL REFERENCES anon_managers(id),"
	"  card_id TEXT NOT NULL, otk_pub TEXT NOT NULL UNIQUE,"
	"  idk_pub TEXT NOT NULL UNIQUE, balance BIGINT NOT NULL DEFAULT 0"
	"  CHECK (balance >= 0), last_counter BIGINT NOT NULL DEFAULT 0,"
	"  created_at TEXT NOT NULL);"
	"CREATE TABLE anon_books (name TEXT PRIMARY KEY,"
	"  balance BIGINT NOT NULL);"
	"INSERT INTO anon_books (name, balance) VALUES ('issuance', 0);"
	"CREATE TABLE anon_txns (id @ID@, kind TEXT NOT NULL, ref TEXT,"
	"  created_at TEXT NOT NULL);"
	"CREATE TABLE anon_entries (id @ID@,"
	"  txn_id BIGINT NOT NULL REFERENCES anon_txns(id),"
	"  account TEXT NOT NULL, amount BIGINT NOT NULL);"
	"CREATE TABLE anon_transfers (txid TEXT PRIMARY KEY,"
	"  status TEXT NOT NULL CHECK (status IN ('committed', 'refused', 'void')),"
	"  payer TEXT, payee TEXT, amount BIGINT, reason TEXT, alias TEXT,"
	"  txinfo TEXT, txcred TEXT, idcred TEXT, result TEXT NOT NULL,"
	"  created_at TEXT NOT NULL);"
	"CREATE INDEX anon_transfers_payer ON anon_transfers(payer);"
	"CREATE TABLE anon_operators (name TEXT PRIMARY KEY,"
	"  password_hash TEXT NOT NULL, created_at TEXT NOT NULL);"
	"CREATE TABLE anon_regulators (fingerprint TEXT PRIMARY KEY,"
	"  pubkey TEXT NOT NULL, name TEXT, created_at TEXT NOT NULL);";

/* an account manager: pseudonymous accounts (a business key, never a
 * name), their payments with one-time aliases, the queries seen */
static const char account_sql[] =
	"CREATE TABLE anon_accounts (account TEXT PRIMARY KEY,"
	"  bk_pub TEXT NOT NULL UNIQUE, card_id TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('open', 'frozen', 'closed')),"
	"  limit_payment BIGINT NOT NULL, limit_daily BIGINT NOT NULL,"
	"  last_counter BIGINT NOT NULL DEFAULT 0, created_at TEXT NOT NULL);"
	"CREATE TABLE anon_payments (txid TEXT NOT NULL, direction TEXT NOT NULL"
	"  CHECK (direction IN ('out', 'in')), account TEXT NOT NULL,"
	"  counterparty TEXT, alias TEXT NOT NULL, amount BIGINT NOT NULL,"
	"  status TEXT NOT NULL"
	"  CHECK (status IN ('pending', 'committed', 'refused', 'void')),"
	"  reason TEXT, created_at TEXT NOT NULL, closed_at TEXT,"
	"  PRIMARY KEY (txid, direction));"
	"CREATE INDEX anon_payments_account ON anon_payments(account);"
	"CREATE TABLE anon_queries (nonce TEXT PRIMARY KEY, at TEXT NOT NULL);";

static const char append_only_lite[] =
	"CREATE TRIGGER anon_oplog_no_update BEFORE UPDATE ON anon_oplog"
	"  BEGIN SELECT RAISE(ABORT, 'anon_oplog is append-only'); END;"
	"CREATE TRIGGER anon_oplog_no_delete BEFORE DELETE ON anon_oplog"
	"  BEGIN SELECT RAISE(ABORT, 'anon_oplog is append-only'); END;";
static const char append_only_lite_id[] =
	"CREATE TRIGGER anon_entries_no_update BEFORE UPDATE ON anon_entries"
	"  BEGIN SELECT RAISE(ABORT, 'anon_entries is append-only'); END;"
	"CREATE TRIGGER anon_entries_no_delete BEFORE DELETE ON anon_entries"
	"  BEGIN SELECT RAISE(ABORT, 'anon_entries is append-only'); END;";
static const char append_only_pg[] =
	"CREATE OR REPLACE FUNCTION wk_append_only() RETURNS trigger"
	"  LANGUAGE plpgsql AS"
	"  $$BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END$$;"
	"CREATE TRIGGER anon_oplog_append_only BEFORE UPDATE OR DELETE"
	"  ON anon_oplog FOR EACH ROW EXECUTE FUNCTION wk_append_only();";
static const char append_only_pg_id[] =
	"CREATE TRIGGER anon_entries_append_only BEFORE UPDATE OR DELETE"
	"  ON anon_entries FOR EACH ROW EXECUTE FUNCTION wk_append_only();";

void
iss_anon_fault(const char *point)
{
	const char *f = getenv("WALLETKEY_ISSUER_FAULT");

	if (f != NULL && strcmp(f, point) == 0) {
		fprintf(stderr, "walletkey-issuer: fault point %s: killed\n", point);
		raise(SIGKILL);
	}
}

int
iss_anon_hex32(const char *hex, uint8_t out[32])
{
	if (hex == NULL || strlen(hex) != 64 || wk_hex_decode(hex, out, 32) != 32)
		return -1;
	return 0;
}

const char *
iss_anon_role_name(enum iss_role role)
{
	switch (role) {
	case ISS_ROLE_IDENTITY: return "identity";
	case ISS_ROLE_ACCOUNT: return "account";
	default: return "bank";
	}
}

int
iss_anon_db_role(iss_db *db, enum iss_role *role)
{
	char v[32];

	*role = ISS_ROLE_BANK;
	if (iss_meta_get(db, "role", v, sizeof(v)) != 0)
		return 0;
	if (strcmp(v, "identity") == 0)
		*role = ISS_ROLE_IDENTITY;
	else if (strcmp(v, "account") == 0)
		*role = ISS_ROLE_ACCOUNT;
	else
		return -1;
	return 0;
}

int
iss_anon_meta_put(iss_db *db, const char *name, const char *value)
{
	return iss_db_exec(db, "INSERT INTO issuer_meta (name, value) VALUES ($1, $2)"
	    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
	    (iss_param[]){ ISS_PS(name), ISS_PS(value) }, 2, NULL);
}

static int
script(iss_db *db, const char *sql)
{
	char *x = iss_schema_expand(sql, iss_db_is_pg(db));
	int rc;

	if (x == NULL)
		return ISS_DB_ERROR;
	rc = iss_db_script(db, x);
	free(x);
	return rc;
}

int
iss_anon_create(iss_db *db, const iss_unlock *u, const iss_anon_init *in,
    char *err, size_t errlen)
{
	bool pg = iss_db_is_pg(db), id = in->role == ISS_ROLE_IDENTITY;
	uint8_t key[32], sign_pk[32], sign_sk[64], kx_pk[32], kx_sk[32], apk[32];
	char hex[65], num[32];
	int rc = -1;

	if (in->role == ISS_ROLE_ACCOUNT) {
		if (!wk_anon_manager_ok(in->manager_id) || strcmp(in->manager_id,
		    "identity") == 0) {
			snprintf(err, errlen, "--manager-id wants 1 to 16 lower-case"
			    " letters or digits (not \"identity\")");
			return -2;
		}
		if (in->authority_url == NULL || strlen(in->authority_url) >=
		    ISS_ANON_URL_MAX || iss_anon_hex32(in->authority_pubkey, apk) != 0) {
			snprintf(err, errlen, "an account manager needs --authority-url"
			    " and --authority-pubkey (64 hex digits: walletkey-issuer"
			    " anon-keys on the authority)");
			return -2;
		}
	}
	if (iss_db_begin(db) != ISS_DB_OK)
		goto dberr;
	if (script(db, common_sql) != ISS_DB_OK ||
	    script(db, id ? identity_sql : account_sql) != ISS_DB_OK ||
	    iss_db_script(db, pg ? append_only_pg : append_only_lite) != ISS_DB_OK ||
	    (id && iss_db_script(db, pg ? append_only_pg_id : append_only_lite_id) !=
	    ISS_DB_OK))
		goto dberr;
	if (iss_anon_meta_put(db, "role", iss_anon_role_name(in->role)) != ISS_DB_OK ||
	    iss_anon_meta_put(db, "seal", u->key_file ? "keyfile" : "passphrase") !=
	    ISS_DB_OK)
		goto dberr;
	if (iss_seal_key(db, u, true, key, err, errlen) != 0)
		goto fail;
	crypto_sign_keypair(sign_pk, sign_sk);
	crypto_box_keypair(kx_pk, kx_sk);
	if (iss_secret_put(db, key, "anon_sign", sign_sk, sizeof(sign_sk)) !=
	    ISS_DB_OK || iss_secret_put(db, key, "anon_kx", kx_sk, sizeof(kx_sk)) !=
	    ISS_DB_OK)
		goto dberr;
	if (in->role == ISS_ROLE_ACCOUNT) {
		wk_hex_encode(apk, 32, hex);
		if (iss_anon_meta_put(db, "manager_id", in->manager_id) != ISS_DB_OK ||
		    iss_anon_meta_put(db, "authority_url", in->authority_url) !=
		    ISS_DB_OK || iss_anon_meta_put(db, "authority_pubkey", hex) !=
		    ISS_DB_OK)
			goto dberr;
		snprintf(num, sizeof(num), "%lld", (long long)(in->limit_payment > 0 ?
		    in->limit_payment : ISS_ANON_DEFAULT_LIMIT));
		if (iss_anon_meta_put(db, "limit_payment", num) != ISS_DB_OK)
			goto dberr;
		snprintf(num, sizeof(num), "%lld", (long long)(in->limit_daily > 0 ?
		    in->limit_daily : ISS_ANON_DEFAULT_DAILY));
		if (iss_anon_meta_put(db, "limit_daily", num) != ISS_DB_OK)
			goto dberr;
	}
	if (iss_db_commit(db) != ISS_DB_OK)
		goto dberr;
	rc = 0;
	goto out;
dberr:
	snprintf(err, errlen, "%s", iss_db_errmsg(db));
fail:
	iss_db_rollback(db);
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(sign_sk, sizeof(sign_sk));
	sodium_memzero(kx_sk, sizeof(kx_sk));
	return rc;
}

int
iss_anon_open(const char *url, const iss_unlock *u, size_t pool_max,
    iss_anon **out, char *err, size_t errlen)
{
	iss_anon *a;
	iss_db *db = NULL;
	uint8_t key[32];
	char v[ISS_ANON_URL_MAX];
	int rc = -1;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->sign_sk = sodium_malloc(64)) == NULL ||
	    (a->kx_sk = sodium_malloc(32)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (iss_pool_new(url, pool_max, &a->base.pool, err, errlen) != ISS_DB_OK ||
	    (db = iss_pool_get(a->base.pool)) == NULL)
		goto out;
	if (iss_anon_db_role(db, &a->role) != 0 || a->role == ISS_ROLE_BANK) {
		snprintf(err, errlen, "not the database of an identity authority or"
		    " an account manager (walletkey-issuer init --role)");
		goto out;
	}
	if (iss_seal_key(db, u, false, key, err, errlen) != 0)
		goto out;
	if (iss_secret_get(db, key, "anon_sign", a->sign_sk, 64) != 64 ||
	    iss_secret_get(db, key, "anon_kx", a->kx_sk, 32) != 32) {
		snprintf(err, errlen, "the role's keys do not open with this key");
		goto out;
	}
	crypto_sign_ed25519_sk_to_pk(a->sign_pk, a->sign_sk);
	crypto_scalarmult_base(a->kx_pk, a->kx_sk);
	if (iss_mfg_load(db, key, &a->mfg, &a->n_mfg, err, errlen) != 0)
		goto out;
	if (a->role == ISS_ROLE_IDENTITY) {
		snprintf(a->self, sizeof(a->self), "identity");
	} else {
		if (iss_meta_get(db, "manager_id", a->self, sizeof(a->self)) != 0 ||
		    iss_meta_get(db, "authority_url", a->authority_url,
		    sizeof(a->authority_url)) != 0 ||
		    iss_meta_get(db, "authority_pubkey", v, sizeof(v)) != 0 ||
		    iss_anon_hex32(v, a->authority_pk) != 0) {
			snprintf(err, errlen, "issuer_meta: the manager's settings are"
			    " missing");
			goto out;
		}
		a->limit_payment = ISS_ANON_DEFAULT_LIMIT;
		a->limit_daily = ISS_ANON_DEFAULT_DAILY;
		if (iss_meta_get(db, "limit_payment", v, sizeof(v)) == 0)
			a->limit_payment = strtoll(v, NULL, 10);
		if (iss_meta_get(db, "limit_daily", v, sizeof(v)) == 0)
			a->limit_daily = strtoll(v, NULL, 10);
	}
	*out = a;
	a = NULL;
	rc = 0;
out:
	sodium_memzero(key, sizeof(key));
	if (db != NULL)
		iss_pool_put(a != NULL ? a->base.pool : (*out)->base.pool, db);
	iss_anon_free(&a);
	return rc;
}

void
iss_anon_free(iss_anon **ap)
{
	iss_anon *a = *ap;

	if (a == NULL)
		return;
	sodium_free(a->sign_sk);
	sodium_free(a->kx_sk);
	X509_STORE_free(a->mfg);
	iss_pool_free(&a->base.pool);
	free(a);
	*ap = NULL;
}
