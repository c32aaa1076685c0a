/*
 * the card store: create, open and check, the upgrade of format 1 (the
 * seal key's rotation is vc_store_rekey.c).
 * A store opens only when every row is the one the card last wrote, as
 * the sealed state record counts and tags them (vc_seal.h).
 */
#include "vc_store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define TAMPERED "the card store was changed outside the card"
#define REFUSE "; the card does not start (restore the store from a backup, " \
	"or have the issuer replace the card)"

static const char schema_sql[] =
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE rows (id BLOB PRIMARY KEY, value BLOB NOT NULL)"
    " WITHOUT ROWID;";

/* format 1: secrets sealed with the key file, everything else in clear */
#define V1_NONCE_LEN 24
#define V1_TAG_LEN 16
static const char v1_check_ad[] = "walletkey seal check";

/* why the last vc_store_create/open failed, for vc_store_errmsg(NULL) */
static char open_err[512];

const char *
vc_store_errmsg(const vc_store *st)
{
	const char *m = st != NULL ? st->errmsg : open_err;

	return m[0] != '\0' ? m : "no error";
}

static vc_store *
store_alloc(void)
{
	vc_store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->lock_fd = -1;
	return st;
}

static void
remove_files(const char *path)
{
	char side[4096];

	unlink(path);
	if (snprintf(side, sizeof(side), "%s-wal", path) < (int)sizeof(side))
		unlink(side);
	if (snprintf(side, sizeof(side), "%s-shm", path) < (int)sizeof(side))
		unlink(side);
}

/* the seal key's source; the default is walletkey-seal.key beside the store */
int
store_source_of(vc_store *st, const char *store_path, const vc_store_key *key,
    bool create, char *kpath, size_t cap, vc_seal_source *src)
{
	const char *slash;
	int n = 0;

	memset(src, 0, sizeof(*src));
	if (key != NULL && key->passphrase != NULL) {
		src->passphrase = key->passphrase;
		src->passphrase_len = key->passphrase_len;
		return VC_STORE_OK;
	}
	if (key != NULL && key->file != NULL)
		n = snprintf(kpath, cap, "%s", key->file);
	else if ((slash = strrchr(store_path, '/')) == NULL)
		n = snprintf(kpath, cap, "%s", SEAL_KEY_FILE);
	else
		n = snprintf(kpath, cap, "%.*s/%s", (int)(slash - store_path),
		    store_path, SEAL_KEY_FILE);
	if (n < 0 || (size_t)n >= cap) {
		store_err(st, "seal key path too long");
		return VC_STORE_ERROR;
	}
	src->file = kpath;
	src->create = create;
	src->any_mode = key != NULL && key->file != NULL && key->credential;
	return VC_STORE_OK;
}

int
store_seal_rc(int rc)
{
	switch (rc) {
	case VC_SEAL_OK:
		return VC_STORE_OK;
	case VC_SEAL_NOT_FOUND:
		return VC_STORE_NOT_FOUND;
	case VC_SEAL_WRONG:
	case VC_SEAL_BAD:
		return VC_STORE_CORRUPT;
	default:
		return VC_STORE_ERROR;
	}
}

static int
lock_file(vc_store *st, const char *path)
{
	if ((st->lock_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		store_err(st, "%s", errno == ENOENT ? "no such card store" :
		    strerror(errno));
		return errno == ENOENT ? VC_STORE_NOT_FOUND : VC_STORE_ERROR;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		store_err(st, "in use by another card process");
		return VC_STORE_ERROR;
	}
	return VC_STORE_OK;
}

static int
db_open(vc_store *st, const char *path)
{
	int rc, on = 1;

	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return store_db_fail(st, path);
	sqlite3_extended_result_codes(st->db, 1);
	/* no schema tricks: no writable sqlite_schema, no functions in views
	 * or triggers of a file that someone else may have written */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, on, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	/*
	 * exclusive locking before WAL: no -shm file, the WAL index lives in
	 * this process and is rebuilt from the WAL at every start. The flock
	 * above already keeps other card processes out.
	 */
	if ((rc = store_exec(st, "PRAGMA locking_mode = EXCLUSIVE")) !=
	    VC_STORE_OK)
		return rc;
	/* a store that is not SQLite fails here with SQLITE_NOTADB */
	if ((rc = store_exec(st, "PRAGMA journal_mode = WAL")) != VC_STORE_OK) {
		if (rc == VC_STORE_CORRUPT)
			store_err(st, "not a walletkey card store, or damaged "
			    "(%s)", sqlite3_errmsg(st->db));
		return rc;
	}
	if ((rc = store_exec(st, "PRAGMA synchronous = FULL")) != VC_STORE_OK ||
	    (rc = store_exec(st, "PRAGMA secure_delete = ON")) != VC_STORE_OK ||
	    (rc = store_exec(st, "PRAGMA cell_size_check = ON")) != VC_STORE_OK)
		return rc;
	return VC_STORE_OK;
}

int
store_meta_put(vc_store *st, const char *name, const void *v, size_t n)
{
	sqlite3_stmt *s = NULL;
	int rc = VC_STORE_ERROR;

	if (sqlite3_prepare_v2(st->db,
	    "INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)", -1, &s,
	    NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 2, v, (int)n, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		store_db_fail(st, "meta");
		goto out;
	}
	rc = VC_STORE_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

/* copies meta.name into v (cap bytes); exact: n must be cap when n is NULL */
static int
meta_get(vc_store *st, const char *name, void *v, size_t cap, size_t *n)
{
	sqlite3_stmt *s = NULL;
	size_t len;
	int rc = VC_STORE_CORRUPT;

	if (sqlite3_prepare_v2(st->db,
	    "SELECT value FROM meta WHERE name = ?1", -1, &s, NULL) != SQLITE_OK) {
		store_err(st, "not a walletkey card store, or damaged (%s)",
		    sqlite3_errmsg(st->db));
		goto out;
	}
	if (sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW ||
	    sqlite3_column_type(s, 0) != SQLITE_BLOB ||
	    (len = (size_t)sqlite3_column_bytes(s, 0),
	    n == NULL ? len != cap : len > cap)) {
		store_err(st, "not a walletkey card store, or damaged (header "
		    "row %s)", name);
		goto out;
	}
	memcpy(v, sqlite3_column_blob(s, 0), len);
	if (n != NULL)
		*n = len;
	rc = VC_STORE_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

/* ---- create ---- */

static int
schema_create(vc_store *st, const vc_seal_source *src, bool *key_made)
{
	uint8_t rec[VC_SEAL_REC_MAX], state[VC_SEAL_STATE_LEN];
	uint8_t version = STORE_VERSION;
	size_t rec_len = 0;
	char err[256];
	int rc;

	randombytes_buf(st->serial, sizeof(st->serial));
	if ((rc = vc_seal_create(src, st->serial, &st->seal, rec, &rec_len,
	    key_made, err, sizeof(err))) != VC_SEAL_OK) {
		store_err(st, "%s", err);
		return store_seal_rc(rc);
	}
	vc_seal_state_seal(st->seal, &st->state, state);
	if ((rc = store_exec(st, "BEGIN IMMEDIATE")) != VC_STORE_OK ||
	    (rc = store_exec(st, schema_sql)) != VC_STORE_OK)
		return rc;
	if ((rc = store_meta_put(st, "magic", STORE_MAGIC, strlen(STORE_MAGIC))) ||
	    (rc = store_meta_put(st, "version", &version, 1)) ||
	    (rc = store_meta_put(st, "serial", st->serial, sizeof(st->serial))) ||
	    (rc = store_meta_put(st, "seal", rec, rec_len)) ||
	    (rc = store_meta_put(st, "state", state, sizeof(state)))) {
		store_exec(st, "ROLLBACK");
		return rc;
	}
	return store_exec(st, "COMMIT");
}

/* ---- the checks at every start ---- */

static int
check_integrity(vc_store *st)
{
	sqlite3_stmt *s = NULL;
	int rc = VC_STORE_CORRUPT, step;

	if (sqlite3_prepare_v2(st->db, "PRAGMA integrity_check(1)", -1, &s,
	    NULL) != SQLITE_OK) {
		store_err(st, "not a walletkey card store (%s)",
		    sqlite3_errmsg(st->db));
		goto out;
	}
	step = sqlite3_step(s);
	if (step != SQLITE_ROW || sqlite3_column_text(s, 0) == NULL ||
	    strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0) {
		store_err(st, TAMPERED ", or damaged (SQLite: %s)" REFUSE,
		    step == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL ?
		    (const char *)sqlite3_column_text(s, 0) :
		    sqlite3_errmsg(st->db));
		goto out;
	}
	rc = VC_STORE_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

/* a digest of sqlite_schema: the tables, indexes and their SQL */
static int
schema_digest(sqlite3 *db, uint8_t out[32])
{
	crypto_generichash_state h;
	sqlite3_stmt *s = NULL;
	int step;

	if (sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, "
	    "coalesce(sql, '') FROM sqlite_schema ORDER BY type, name", -1, &s,
	    NULL) != SQLITE_OK)
		return -1;
	crypto_generichash_init(&h, NULL, 0, 32);
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		for (int c = 0; c < 4; c++) {
			const unsigned char *t = sqlite3_column_text(s, c);
			size_t n = (size_t)sqlite3_column_bytes(s, c);
			uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16),
				(uint8_t)(n >> 8), (uint8_t)n };

			crypto_generichash_update(&h, len, sizeof(len));
			if (t != NULL)
				crypto_generichash_update(&h, t, n);
		}
	sqlite3_finalize(s);
	crypto_generichash_final(&h, out, 32);
	return step == SQLITE_DONE ? 0 : -1;
}

/* exactly our two tables: no trigger, view, index or table of anyone else */
static int
check_schema(vc_store *st)
{
	uint8_t want[32], got[32];
	sqlite3 *mem = NULL;
	int rc = VC_STORE_ERROR;

	if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK || sqlite3_exec(mem, schema_sql, NULL, NULL, NULL) !=
	    SQLITE_OK || schema_digest(mem, want) != 0) {
		store_err(st, "schema: %s", mem != NULL ? sqlite3_errmsg(mem) :
		    "out of memory");
		goto out;
	}
	if (schema_digest(st->db, got) != 0 ||
	    memcmp(want, got, sizeof(want)) != 0) {
		store_err(st, TAMPERED " (its tables are not the card's)" REFUSE);
		rc = VC_STORE_CORRUPT;
		goto out;
	}
	rc = VC_STORE_OK;
out:
	sqlite3_close(mem);
	return rc;
}

static int
check_meta_names(vc_store *st)
{
	static const char want[] = "magic,seal,serial,state,version";
	sqlite3_stmt *s = NULL;
	const unsigned char *names;
	int rc = VC_STORE_CORRUPT;

	if (sqlite3_prepare_v2(st->db, "SELECT group_concat(name, ',') FROM "
	    "(SELECT name FROM meta ORDER BY name)", -1, &s, NULL) !=
	    SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		store_db_fail(st, "meta");
		goto out;
	}
	names = sqlite3_column_text(s, 0);
	if (names == NULL || strcmp((const char *)names, want) != 0) {
		store_err(st, TAMPERED " (its header rows are not the card's)"
		    REFUSE);
		goto out;
	}
	rc = VC_STORE_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

/*
 * every row: its tag into the map and the XOR; the XOR and the count must
 * be the state record's. This is what sees a row changed, added, removed,
 * or put back from an older copy of the file.
 */
int
store_load_rows(vc_store *st)
{
	uint8_t root[VC_SEAL_TAG_LEN] = { 0 }, tag[VC_SEAL_TAG_LEN];
	sqlite3_stmt *s = NULL;
	uint64_t count = 0;
	int rc = VC_STORE_CORRUPT, step;

	store_map_free(&st->map);
	if (st->state.count > SIZE_MAX / 4 ||
	    store_map_reserve(&st->map, (size_t)st->state.count) != 0) {
		store_err(st, "out of memory for %llu rows",
		    (unsigned long long)st->state.count);
		return VC_STORE_ERROR;
	}
	if (sqlite3_prepare_v2(st->db, "SELECT id, value FROM rows", -1, &s,
	    NULL) != SQLITE_OK) {
		rc = store_db_fail(st, "rows");
		goto out;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const uint8_t *id = sqlite3_column_blob(s, 0);
		const uint8_t *v = sqlite3_column_blob(s, 1);
		size_t n = (size_t)sqlite3_column_bytes(s, 1);

		if (sqlite3_column_type(s, 0) != SQLITE_BLOB ||
		    sqlite3_column_bytes(s, 0) != VC_SEAL_ID_LEN ||
		    sqlite3_column_type(s, 1) != SQLITE_BLOB ||
		    n < VC_SEAL_OVERHEAD) {
			store_err(st, TAMPERED " (a row that is not the card's)"
			    REFUSE);
			goto out;
		}
		vc_seal_tag(st->seal, id, v, n, tag);
		for (size_t i = 0; i < sizeof(root); i++)
			root[i] ^= tag[i];
		if (store_map_set(&st->map, id, tag) != 0) {
			store_err(st, "out of memory");
			rc = VC_STORE_ERROR;
			goto out;
		}
		count++;
	}
	if (step != SQLITE_DONE) {
		store_err(st, TAMPERED ", or damaged (SQLite: %s)" REFUSE,
		    sqlite3_errmsg(st->db));
		goto out;
	}
	if (count != st->state.count ||
	    sodium_memcmp(root, st->state.root, sizeof(root)) != 0) {
		store_err(st, TAMPERED " (its rows are not those its sealed state "
		    "counts: %llu rows for %llu; a row was changed, added, removed "
		    "or restored from an older copy)" REFUSE,
		    (unsigned long long)count,
		    (unsigned long long)st->state.count);
		goto out;
	}
	rc = VC_STORE_OK;
out:
	sqlite3_finalize(s);
	if (rc != VC_STORE_OK)
		store_map_free(&st->map);
	return rc;
}

static int
open_v2(vc_store *st, const vc_seal_source *src)
{
	uint8_t rec[VC_SEAL_REC_MAX], state[VC_SEAL_STATE_LEN];
	size_t rec_len = 0;
	char err[256];
	int rc;

	if ((rc = check_schema(st)) != VC_STORE_OK ||
	    (rc = check_meta_names(st)) != VC_STORE_OK ||
	    (rc = meta_get(st, "serial", st->serial, sizeof(st->serial),
	    NULL)) != VC_STORE_OK ||
	    (rc = meta_get(st, "seal", rec, sizeof(rec), &rec_len)) !=
	    VC_STORE_OK ||
	    (rc = meta_get(st, "state", state, sizeof(state), NULL)) !=
	    VC_STORE_OK)
		return rc;
	vc_seal_free(&st->seal);
	if ((rc = vc_seal_open(src, st->serial, rec, rec_len, &st->seal, err,
	    sizeof(err))) != VC_SEAL_OK) {
		store_err(st, "%s", err);
		return store_seal_rc(rc);
	}
	if (vc_seal_state_open(st->seal, state, sizeof(state), &st->state) !=
	    VC_SEAL_OK) {
		store_err(st, TAMPERED " (its state record does not open)"
		    REFUSE);
		return VC_STORE_CORRUPT;
	}
	st->txn = st->state;
	return store_load_rows(st);
}

/* ---- format 1 ---- */

static bool
v1_open(const uint8_t key[VC_SEAL_KEY_LEN], const char *applet,
    const char *name, const uint8_t *v, size_t n, uint8_t *out)
{
	uint8_t ad[512];
	size_t a = strlen(applet), k = strlen(name);

	if (n < V1_NONCE_LEN + V1_TAG_LEN || a + 1 + k > sizeof(ad))
		return false;
	memcpy(ad, applet, a);
	ad[a] = 0;
	memcpy(ad + a + 1, name, k);
	return crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL,
	    v + V1_NONCE_LEN, n - V1_NONCE_LEN, ad, a + 1 + k, v, key) == 0;
}

static int
v1_copy_kv(vc_store *st, const uint8_t key[VC_SEAL_KEY_LEN])
{
	sqlite3_stmt *s = NULL;
	uint8_t *plain = NULL;
	int rc = VC_STORE_ERROR, step;

	if (sqlite3_prepare_v2(st->db, "SELECT applet, key, value FROM kv", -1,
	    &s, NULL) != SQLITE_OK)
		return store_db_fail(st, "format 1 rows");
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *applet = (const char *)sqlite3_column_text(s, 0);
		const char *name = (const char *)sqlite3_column_text(s, 1);
		const uint8_t *v = sqlite3_column_blob(s, 2);
		size_t n = (size_t)sqlite3_column_bytes(s, 2);

		if (applet == NULL || name == NULL) {
			rc = store_db_fail(st, "format 1 rows");
			goto out;
		}
		if ((plain = sodium_malloc(n + 1)) == NULL) {
			store_err(st, "out of memory");
			goto out;
		}
		/* a secret of format 1 opens under the key file; any other
		 * value was kept in clear */
		if (v1_open(key, applet, name, v, n, plain))
			rc = store_row_put(st, applet, name, plain,
			    n - V1_NONCE_LEN - V1_TAG_LEN);
		else
			rc = store_row_put(st, applet, name, n > 0 ? v : plain, n);
		sodium_free(plain);
		plain = NULL;
		if (rc != VC_STORE_OK)
			goto out;
	}
	rc = step == SQLITE_DONE ? VC_STORE_OK : store_db_fail(st, "format 1");
out:
	sodium_free(plain);
	sqlite3_finalize(s);
	return rc;
}

/* format 1 kept the audit log in audit_log(seq, rec) */
static int
v1_copy_audit(vc_store *st)
{
	sqlite3_stmt *s = NULL;
	char name[40];
	int rc = VC_STORE_OK, step;

	if (sqlite3_prepare_v2(st->db, "SELECT seq, rec FROM audit_log", -1, &s,
	    NULL) != SQLITE_OK)
		return VC_STORE_OK;	/* a store made before the log */
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(name, sizeof(name), STORE_AUDIT_REC_FMT,
		    (unsigned long long)sqlite3_column_int64(s, 0));
		if ((rc = store_row_put(st, STORE_AUDIT_APPLET, name,
		    sqlite3_column_blob(s, 1),
		    (size_t)sqlite3_column_bytes(s, 1))) != VC_STORE_OK)
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = store_db_fail(st, "format 1 audit log");
out:
	sqlite3_finalize(s);
	return rc;
}

/*
 * format 1 to 2 in one transaction: every value sealed under a new data
 * key that the same key file wraps, the audit log's table folded into
 * the rows, the clear copies wiped (secure_delete, then VACUUM)
 */
static int
upgrade_v1(vc_store *st, const vc_seal_source *src)
{
	uint8_t check[V1_NONCE_LEN + V1_TAG_LEN], rec[VC_SEAL_REC_MAX];
	uint8_t *key = NULL, version = STORE_VERSION;
	uint8_t state[VC_SEAL_STATE_LEN] = { 0 };
	vc_seal_source s1 = *src;
	size_t rec_len = 0;
	char err[256];
	int rc = VC_STORE_ERROR;

	if ((key = sodium_malloc(VC_SEAL_KEY_LEN)) == NULL) {
		store_err(st, "out of memory");
		goto out;
	}
	s1.create = false;
	if ((rc = vc_seal_v1_key(&s1, key, err, sizeof(err))) != VC_SEAL_OK) {
		store_err(st, "%s", err);
		rc = store_seal_rc(rc);
		goto out;
	}
	if ((rc = meta_get(st, "serial", st->serial, sizeof(st->serial),
	    NULL)) != VC_STORE_OK ||
	    (rc = meta_get(st, "sealcheck", check, sizeof(check), NULL)) !=
	    VC_STORE_OK)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(NULL, NULL, NULL,
	    check + V1_NONCE_LEN, V1_TAG_LEN, (const uint8_t *)v1_check_ad,
	    sizeof(v1_check_ad), check, key) != 0) {
		store_err(st, "the seal key does not belong to this store");
		rc = VC_STORE_CORRUPT;
		goto out;
	}
	if ((rc = vc_seal_create(&s1, st->serial, &st->seal, rec, &rec_len,
	    NULL, err, sizeof(err))) != VC_SEAL_OK) {
		store_err(st, "%s", err);
		rc = store_seal_rc(rc);
		goto out;
	}
	if ((rc = store_exec(st, "BEGIN IMMEDIATE")) != VC_STORE_OK)
		goto out;
	memset(&st->state, 0, sizeof(st->state));
	if ((rc = store_exec(st, "CREATE TABLE rows (id BLOB PRIMARY KEY, "
	    "value BLOB NOT NULL) WITHOUT ROWID")) != VC_STORE_OK ||
	    (rc = store_meta_put(st, "state", state, sizeof(state))) != VC_STORE_OK ||
	    (rc = store_prepare(st)) != VC_STORE_OK) {
		store_exec(st, "ROLLBACK");
		goto out;
	}
	st->in_txn = true;
	st->txn = st->state;
	if ((rc = v1_copy_kv(st, key)) != VC_STORE_OK ||
	    (rc = v1_copy_audit(st)) != VC_STORE_OK ||
	    (rc = store_exec(st, "DROP TABLE kv; DROP TABLE IF EXISTS "
	    "audit_log; DELETE FROM meta WHERE name = 'sealcheck'")) !=
	    VC_STORE_OK ||
	    (rc = store_meta_put(st, "version", &version, 1)) != VC_STORE_OK ||
	    (rc = store_meta_put(st, "seal", rec, rec_len)) != VC_STORE_OK ||
	    (rc = store_txn_commit(st)) != VC_STORE_OK) {
		store_txn_rollback(st);
		goto out;
	}
	for (size_t i = 0; i < Q_COUNT; i++) {
		sqlite3_finalize(st->q[i]);
		st->q[i] = NULL;
	}
	/* best effort: the clear pages of format 1 out of the file */
	sqlite3_exec(st->db, "VACUUM", NULL, NULL, NULL);
	sqlite3_exec(st->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
	    NULL);
	rc = VC_STORE_OK;
out:
	if (rc != VC_STORE_OK) {
		char why[sizeof(st->errmsg)];

		memcpy(why, st->errmsg, sizeof(why));
		store_err(st, "upgrading from format 1: %.200s", why);
	}
	sodium_free(key);
	store_map_free(&st->map);
	memset(&st->state, 0, sizeof(st->state));
	st->n_undo = 0;
	return rc;
}

static int
store_check(vc_store *st, const vc_seal_source *src)
{
	uint8_t version;
	char magic[sizeof(STORE_MAGIC) - 1];
	int rc;

	if ((rc = check_integrity(st)) != VC_STORE_OK ||
	    (rc = meta_get(st, "magic", magic, sizeof(magic), NULL)) !=
	    VC_STORE_OK)
		return rc;
	if (memcmp(magic, STORE_MAGIC, sizeof(magic)) != 0) {
		store_err(st, "not a walletkey card store (magic)");
		return VC_STORE_CORRUPT;
	}
	if ((rc = meta_get(st, "version", &version, 1, NULL)) != VC_STORE_OK)
		return rc;
	if (version == 1) {
		if ((rc = upgrade_v1(st, src)) != VC_STORE_OK)
			return rc;
		version = STORE_VERSION;
	}
	if (version != STORE_VERSION) {
		store_err(st, "card store format %u, this card reads %u",
		    version, STORE_VERSION);
		return VC_STORE_CORRUPT;
	}
	return open_v2(st, src);
}

static int
store_start(const char *path, const vc_store_key *key, bool create,
    vc_store **out)
{
	char kpath[4096];
	vc_seal_source src;
	vc_store *st;
	int fd, rc = VC_STORE_ERROR;
	bool made = false, key_made = false;

	*out = NULL;
	open_err[0] = '\0';
	if ((st = store_alloc()) == NULL)
		return VC_STORE_ERROR;
	if ((rc = store_source_of(st, path, key, create, kpath, sizeof(kpath),
	    &src)) != VC_STORE_OK)
		goto out;
	if (create) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = errno == EEXIST ? VC_STORE_EXISTS : VC_STORE_ERROR;
			store_err(st, "%s", errno == EEXIST ?
			    "exists already, not overwriting it" :
			    strerror(errno));
			goto out;
		}
		close(fd);
		made = true;
	}
	if ((rc = lock_file(st, path)) != VC_STORE_OK ||
	    (rc = db_open(st, path)) != VC_STORE_OK)
		goto out;
	if (create)
		rc = schema_create(st, &src, &key_made);
	else
		rc = store_check(st, &src);
	if (rc != VC_STORE_OK)
		goto out;
	if (st->q[0] == NULL && (rc = store_prepare(st)) != VC_STORE_OK)
		goto out;
	*out = st;
	st = NULL;
	rc = VC_STORE_OK;
out:
	if (st != NULL) {
		if (rc == VC_STORE_OK)
			rc = VC_STORE_ERROR;
		snprintf(open_err, sizeof(open_err), "%.200s: %.300s", path,
		    st->errmsg);
		st->poisoned = true;	/* no checkpoint into a bad file */
		vc_store_free(&st);
		if (made)
			remove_files(path);
		if (key_made)
			unlink(kpath);
	}
	return rc;
}

int
vc_store_create(const char *path, const vc_store_key *key, vc_store **out)
{
	return store_start(path, key, true, out);
}

int
vc_store_open(const char *path, const vc_store_key *key, vc_store **out)
{
	return store_start(path, key, false, out);
}
