#include "vc_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "wk_card_id.h"
#include "wk_log.h"

#define STORE_MAGIC "walletkey-card-store"
#define STORE_VERSION 1
#define SEAL_KEY_LEN crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define SEAL_NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEAL_KEY_FILE "walletkey-seal.key"
/* the associated data names the value: applet || 0 || key */
#define AD_MAX 512

enum {
	Q_GET,
	Q_PUT,
	Q_DEL,
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_COUNT,
};

static const char *const queries[Q_COUNT] = {
	[Q_GET] = "SELECT value FROM kv WHERE applet = ?1 AND key = ?2",
	[Q_PUT] = "INSERT OR REPLACE INTO kv (applet, key, value) VALUES (?1, ?2, ?3)",
	[Q_DEL] = "DELETE FROM kv WHERE applet = ?1 AND key = ?2",
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
};

struct vc_store {
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
	int lock_fd;		/* flock: one card process per store */
	bool in_cmd;		/* between vc_store_begin and vc_store_commit */
	bool in_txn;		/* BEGIN issued for the current command */
	uint8_t serial[WK_SERIAL_LEN];
	uint8_t *seal_key;	/* sodium_malloc'd */
	char errmsg[256];
};

static void
set_err(vc_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_err(vc_store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
	wk_log(WK_LOG_STORE, "store: %s", st->errmsg);
}

static int
db_fail(vc_store *st, const char *what)
{
	set_err(st, "%s: %s", what, st->db != NULL ? sqlite3_errmsg(st->db) :
	    "no database");
	return VC_STORE_ERROR;
}

static int
exec(vc_store *st, const char *sql)
{
	char *msg = NULL;
	int rc;

	if ((rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg)) != SQLITE_OK) {
		set_err(st, "%s", msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ?
		    VC_STORE_CORRUPT : VC_STORE_ERROR;
	}
	return VC_STORE_OK;
}

/* runs a statement without results (BEGIN, COMMIT, ROLLBACK) */
static int
step_done(vc_store *st, int which)
{
	sqlite3_stmt *s = st->q[which];
	int rc;

	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? VC_STORE_OK : db_fail(st, queries[which]);
}

static vc_store *
store_alloc(void)
{
	vc_store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->lock_fd = -1;
	if ((st->seal_key = sodium_malloc(SEAL_KEY_LEN)) == NULL) {
		free(st);
		return NULL;
	}
	return st;
}

void
vc_store_free(vc_store **stp)
{
	vc_store *st;

	if (stp == NULL || (st = *stp) == NULL)
		return;
	if (st->in_txn && st->q[Q_ROLLBACK] != NULL)
		step_done(st, Q_ROLLBACK);
	for (size_t i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(st->q[i]);
	sqlite3_close(st->db);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	sodium_free(st->seal_key);
	free(st);
	*stp = NULL;
}

/* why the last vc_store_create/open failed, for vc_store_errmsg(NULL) */
static char open_err[512];

const char *
vc_store_errmsg(const vc_store *st)
{
	const char *m = st != NULL ? st->errmsg : open_err;

	return m[0] != '\0' ? m : "no error";
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

const uint8_t *
vc_store_serial(const vc_store *st)
{
	return st->serial;
}


/* default seal key: walletkey-seal.key beside the store */
static int
key_path(const char *store_path, const char *given, char *out, size_t cap)
{
	const char *slash;
	int n;

	if (given != NULL)
		n = snprintf(out, cap, "%s", given);
	else if ((slash = strrchr(store_path, '/')) == NULL)
		n = snprintf(out, cap, "%s", SEAL_KEY_FILE);
	else
		n = snprintf(out, cap, "%.*s/%s", (int)(slash - store_path),
		    store_path, SEAL_KEY_FILE);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int
key_read(vc_store *st, const char *path)
{
	uint8_t extra;
	ssize_t got;
	size_t have = 0;
	int fd, r = VC_STORE_ERROR;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		set_err(st, "seal key %s: %s", path, strerror(errno));
		return errno == ENOENT ? VC_STORE_NOT_FOUND : VC_STORE_ERROR;
	}
	while (have < SEAL_KEY_LEN) {
		got = read(fd, st->seal_key + have, SEAL_KEY_LEN - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		have += (size_t)got;
	}
	if (have != SEAL_KEY_LEN || read(fd, &extra, 1) != 0) {
		set_err(st, "seal key %s: not a %u-byte key file", path,
		    (unsigned)SEAL_KEY_LEN);
		goto out;
	}
	r = VC_STORE_OK;
out:
	close(fd);
	return r;
}

static int
key_create(vc_store *st, const char *path)
{
	ssize_t put;
	int fd, r = VC_STORE_ERROR;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		set_err(st, "seal key %s: %s", path, strerror(errno));
		return VC_STORE_ERROR;
	}
	randombytes_buf(st->seal_key, SEAL_KEY_LEN);
	put = write(fd, st->seal_key, SEAL_KEY_LEN);
	if (put != (ssize_t)SEAL_KEY_LEN || fsync(fd) != 0) {
		set_err(st, "seal key %s: write failed", path);
		goto out;
	}
	r = VC_STORE_OK;
out:
	if (close(fd) != 0 && r == VC_STORE_OK) {
		set_err(st, "seal key %s: %s", path, strerror(errno));
		r = VC_STORE_ERROR;
	}
	if (r != VC_STORE_OK)
		unlink(path);
	return r;
}

static int
lock_file(vc_store *st, const char *path)
{
	if ((st->lock_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		set_err(st, "%s", errno == ENOENT ? "no such card store" :
		    strerror(errno));
		return errno == ENOENT ? VC_STORE_NOT_FOUND : VC_STORE_ERROR;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		set_err(st, "in use by another card process");
		return VC_STORE_ERROR;
	}
	return VC_STORE_OK;
}

static int
db_open(vc_store *st, const char *path)
{
	int rc;

	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return db_fail(st, path);
	sqlite3_extended_result_codes(st->db, 1);
	/* a store that is not SQLite fails here with SQLITE_NOTADB */
	if ((rc = exec(st, "PRAGMA journal_mode = WAL")) != VC_STORE_OK) {
		if (rc == VC_STORE_CORRUPT)
			set_err(st, "not a walletkey card store (%s)",
			    sqlite3_errmsg(st->db));
		return rc;
	}
	if ((rc = exec(st, "PRAGMA synchronous = FULL")) != VC_STORE_OK)
		return rc;
	return exec(st, "PRAGMA secure_delete = ON");
}

static int
prepare_all(vc_store *st)
{
	for (size_t i = 0; i < Q_COUNT; i++)
		if (sqlite3_prepare_v3(st->db, queries[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->q[i], NULL) != SQLITE_OK)
			return db_fail(st, "prepare");
	return VC_STORE_OK;
}

static int
meta_put(vc_store *st, const char *name, const void *v, size_t n)
{
	sqlite3_stmt *s = NULL;
	int rc = VC_STORE_ERROR;

	if (sqlite3_prepare_v2(st->db,
	    "INSERT INTO meta (name, value) VALUES (?1, ?2)", -1, &s,
	    NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 2, v, (int)n, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		db_fail(st, "meta");
		goto out;
	}
	rc = VC_STORE_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

/* copies meta.name into v, which must be exactly n bytes long */
static int
meta_get(vc_store *st, const char *name, void *v, size_t n)
{
	sqlite3_stmt *s = NULL;
	int rc = VC_STORE_CORRUPT;

	if (sqlite3_prepare_v2(st->db,
	    "SELECT value FROM meta WHERE name = ?1", -1, &s, NULL) != SQLITE_OK) {
		set_err(st, "not a walletkey card store (%s)",
		    sqlite3_errmsg(st->db));
		goto out;
	}
	if (sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW ||
	    sqlite3_column_type(s, 0) != SQLITE_BLOB ||
	    (size_t)sqlite3_column_bytes(s, 0) != n) {
		set_err(st, "not a walletkey card store (meta %s)", name);
		goto out;
	}
	memcpy(v, sqlite3_column_blob(s, 0), n);
	rc = VC_STORE_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

/* a sealed empty value under the seal key proves the key belongs to the store */
static const char check_ad[] = "walletkey seal check";

static void
seal_check_make(vc_store *st, uint8_t out[SEAL_NONCE_LEN + SEAL_TAG_LEN])
{
	randombytes_buf(out, SEAL_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + SEAL_NONCE_LEN, NULL,
	    NULL, 0, (const uint8_t *)check_ad, sizeof(check_ad), NULL, out,
	    st->seal_key);
}

static int
seal_check_verify(vc_store *st, const uint8_t in[SEAL_NONCE_LEN + SEAL_TAG_LEN])
{
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(NULL, NULL, NULL,
	    in + SEAL_NONCE_LEN, SEAL_TAG_LEN, (const uint8_t *)check_ad,
	    sizeof(check_ad), in, st->seal_key) != 0) {
		set_err(st, "the seal key does not belong to this store");
		return VC_STORE_CORRUPT;
	}
	return VC_STORE_OK;
}

static int
schema_create(vc_store *st)
{
	uint8_t check[SEAL_NONCE_LEN + SEAL_TAG_LEN];
	uint8_t version = STORE_VERSION;
	int rc;

	randombytes_buf(st->serial, sizeof(st->serial));
	seal_check_make(st, check);
	if ((rc = exec(st, "BEGIN IMMEDIATE;"
	    "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);"
	    "CREATE TABLE kv (applet TEXT NOT NULL, key TEXT NOT NULL,"
	    " value BLOB NOT NULL, PRIMARY KEY (applet, key)) WITHOUT ROWID;"))
	    != VC_STORE_OK)
		return rc;
	if ((rc = meta_put(st, "magic", STORE_MAGIC, strlen(STORE_MAGIC))) ||
	    (rc = meta_put(st, "version", &version, 1)) ||
	    (rc = meta_put(st, "serial", st->serial, sizeof(st->serial))) ||
	    (rc = meta_put(st, "sealcheck", check, sizeof(check)))) {
		exec(st, "ROLLBACK");
		return rc;
	}
	return exec(st, "COMMIT");
}

static int
schema_check(vc_store *st)
{
	uint8_t check[SEAL_NONCE_LEN + SEAL_TAG_LEN];
	char magic[sizeof(STORE_MAGIC) - 1];
	uint8_t version;
	int rc;

	if ((rc = exec(st, "PRAGMA quick_check")) != VC_STORE_OK)
		return VC_STORE_CORRUPT;
	if ((rc = meta_get(st, "magic", magic, sizeof(magic))) != VC_STORE_OK)
		return rc;
	if (memcmp(magic, STORE_MAGIC, sizeof(magic)) != 0) {
		set_err(st, "not a walletkey card store (magic)");
		return VC_STORE_CORRUPT;
	}
	if ((rc = meta_get(st, "version", &version, 1)) != VC_STORE_OK)
		return rc;
	if (version != STORE_VERSION) {
		set_err(st, "card store format %u, this card reads %u",
		    version, STORE_VERSION);
		return VC_STORE_CORRUPT;
	}
	if ((rc = meta_get(st, "serial", st->serial, sizeof(st->serial))) ||
	    (rc = meta_get(st, "sealcheck", check, sizeof(check))))
		return rc;
	return seal_check_verify(st, check);
}

static int
store_start(const char *path, const char *seal_key_path, bool create,
    vc_store **out)
{
	char kpath[4096];
	vc_store *st;
	int fd, rc = VC_STORE_ERROR;
	bool made = false, key_made = false;

	*out = NULL;
	if ((st = store_alloc()) == NULL)
		return VC_STORE_ERROR;
	if (key_path(path, seal_key_path, kpath, sizeof(kpath)) != 0) {
		set_err(st, "seal key path too long");
		goto out;
	}
	if (create) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = errno == EEXIST ? VC_STORE_EXISTS : VC_STORE_ERROR;
			set_err(st, "%s", errno == EEXIST ?
			    "exists already, not overwriting it" :
			    strerror(errno));
			goto out;
		}
		close(fd);
		made = true;
		rc = key_read(st, kpath);
		if (rc == VC_STORE_NOT_FOUND) {
			rc = key_create(st, kpath);
			key_made = rc == VC_STORE_OK;
		}
		if (rc == VC_STORE_OK)
			rc = lock_file(st, path);
	} else {
		if ((rc = lock_file(st, path)) == VC_STORE_OK)
			rc = key_read(st, kpath);
	}
	if (rc != VC_STORE_OK || (rc = db_open(st, path)) != VC_STORE_OK)
		goto out;
	if (create)
		rc = schema_create(st);
	else
		rc = schema_check(st);
	if (rc != VC_STORE_OK || (rc = prepare_all(st)) != VC_STORE_OK)
		goto out;
	*out = st;
	st = NULL;
	rc = VC_STORE_OK;
out:
	if (st != NULL) {
		if (rc == VC_STORE_OK)
			rc = VC_STORE_ERROR;
		snprintf(open_err, sizeof(open_err), "%.200s: %.255s", path,
		    st->errmsg);
		vc_store_free(&st);
		if (made)
			remove_files(path);
		if (key_made)
			unlink(kpath);
	}
	return rc;
}

int
vc_store_create(const char *path, const char *seal_key_path, vc_store **out)
{
	return store_start(path, seal_key_path, true, out);
}

int
vc_store_open(const char *path, const char *seal_key_path, vc_store **out)
{
	return store_start(path, seal_key_path, false, out);
}

int
vc_store_begin(vc_store *st)
{
	st->in_cmd = true;
	/* a transaction left open by a command that never committed is dropped */
	if (st->in_txn) {
		st->in_txn = false;
		return step_done(st, Q_ROLLBACK);
	}
	return VC_STORE_OK;
}

/* the first write of a command opens its transaction; writes outside a
 * command commit on their own */
static int
write_txn(vc_store *st)
{
	int rc;

	if (st->in_txn || !st->in_cmd)
		return VC_STORE_OK;
	if ((rc = step_done(st, Q_BEGIN)) == VC_STORE_OK)
		st->in_txn = true;
	return rc;
}

/* raw statements inside a command belong to its transaction, so open it */
sqlite3 *
vc_store_db(vc_store *st)
{
	if (write_txn(st) != VC_STORE_OK)
		return NULL;
	return st->db;
}

int
vc_store_commit(vc_store *st)
{
	int rc;

	st->in_cmd = false;
	if (!st->in_txn)
		return VC_STORE_OK;
	st->in_txn = false;
	if ((rc = step_done(st, Q_COMMIT)) != VC_STORE_OK &&
	    !sqlite3_get_autocommit(st->db))
		step_done(st, Q_ROLLBACK);
	return rc;
}

void
vc_store_abort(vc_store *st)
{
	if (!st->in_txn)
		return;
	st->in_txn = false;
	step_done(st, Q_ROLLBACK);
}

int
vc_store_checkpoint(vc_store *st)
{
	bool in_cmd = st->in_cmd;
	int rc;

	rc = vc_store_commit(st);
	st->in_cmd = in_cmd;
	return rc;
}

static int
bind_names(vc_store *st, sqlite3_stmt *s, const char *applet, const char *key)
{
	if (applet == NULL || key == NULL) {
		set_err(st, "applet and key names are required");
		return VC_STORE_ERROR;
	}
	if (sqlite3_bind_text(s, 1, applet, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC) != SQLITE_OK)
		return db_fail(st, "bind");
	return VC_STORE_OK;
}

/* runs the GET query; on VC_STORE_OK the row is current and the caller resets */
static int
get_row(vc_store *st, const char *applet, const char *key)
{
	sqlite3_stmt *s = st->q[Q_GET];
	int rc;

	if ((rc = bind_names(st, s, applet, key)) != VC_STORE_OK)
		goto fail;
	switch (sqlite3_step(s)) {
	case SQLITE_ROW:
		return VC_STORE_OK;
	case SQLITE_DONE:
		rc = VC_STORE_NOT_FOUND;
		break;
	default:
		rc = db_fail(st, "get");
		break;
	}
fail:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

static void
get_done(vc_store *st)
{
	sqlite3_reset(st->q[Q_GET]);
	sqlite3_clear_bindings(st->q[Q_GET]);
}

int
vc_store_get(vc_store *st, const char *applet, const char *key, wk_buf *out)
{
	sqlite3_stmt *s = st->q[Q_GET];
	int rc;

	if ((rc = get_row(st, applet, key)) != VC_STORE_OK)
		return rc;
	wk_buf_add(out, sqlite3_column_blob(s, 0),
	    (size_t)sqlite3_column_bytes(s, 0));
	if (wk_buf_failed(out)) {
		set_err(st, "get %s/%s: value does not fit", applet, key);
		rc = VC_STORE_ERROR;
	}
	get_done(st);
	return rc;
}

int
vc_store_put(vc_store *st, const char *applet, const char *key,
    const uint8_t *v, size_t n)
{
	static const uint8_t empty[1];
	sqlite3_stmt *s = st->q[Q_PUT];
	int rc;

	if (n > 0x7FFFFFFF) {
		set_err(st, "put %s/%s: value too large", applet, key);
		return VC_STORE_ERROR;
	}
	if ((rc = write_txn(st)) != VC_STORE_OK ||
	    (rc = bind_names(st, s, applet, key)) != VC_STORE_OK)
		goto out;
	/* a zero-length blob, never NULL (the column is NOT NULL) */
	if (sqlite3_bind_blob(s, 3, n > 0 ? v : empty, (int)n,
	    SQLITE_STATIC) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
		rc = db_fail(st, "put");
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

int
vc_store_del(vc_store *st, const char *applet, const char *key)
{
	sqlite3_stmt *s = st->q[Q_DEL];
	int rc;

	if ((rc = write_txn(st)) != VC_STORE_OK ||
	    (rc = bind_names(st, s, applet, key)) != VC_STORE_OK)
		goto out;
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = db_fail(st, "del");
	else if (sqlite3_changes(st->db) == 0)
		rc = VC_STORE_NOT_FOUND;
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

static int
make_ad(vc_store *st, const char *applet, const char *key, uint8_t *ad,
    size_t *adlen)
{
	size_t a, k;

	if (applet == NULL || key == NULL) {
		set_err(st, "applet and key names are required");
		return VC_STORE_ERROR;
	}
	a = strlen(applet);
	k = strlen(key);
	if (a >= AD_MAX || k >= AD_MAX - a - 1) {
		set_err(st, "secret %s/%s: names too long", applet, key);
		return VC_STORE_ERROR;
	}
	memcpy(ad, applet, a);
	ad[a] = 0;
	memcpy(ad + a + 1, key, k);
	*adlen = a + 1 + k;
	return VC_STORE_OK;
}

int
vc_store_get_secret(vc_store *st, const char *applet, const char *key,
    wk_buf *out)
{
	sqlite3_stmt *s = st->q[Q_GET];
	uint8_t ad[AD_MAX], *plain;
	const uint8_t *sealed;
	size_t adlen, n, mark = out->len;
	int rc;

	if ((rc = make_ad(st, applet, key, ad, &adlen)) != VC_STORE_OK ||
	    (rc = get_row(st, applet, key)) != VC_STORE_OK)
		return rc;
	sealed = sqlite3_column_blob(s, 0);
	n = (size_t)sqlite3_column_bytes(s, 0);
	rc = VC_STORE_CORRUPT;
	if (n < SEAL_NONCE_LEN + SEAL_TAG_LEN) {
		set_err(st, "secret %s/%s: sealed value too short", applet, key);
		goto out;
	}
	n -= SEAL_NONCE_LEN + SEAL_TAG_LEN;
	if ((plain = wk_buf_reserve(out, n)) == NULL && n > 0) {
		set_err(st, "secret %s/%s: value does not fit", applet, key);
		rc = VC_STORE_ERROR;
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL,
	    sealed + SEAL_NONCE_LEN, n + SEAL_TAG_LEN, ad, adlen, sealed,
	    st->seal_key) != 0) {
		if (n > 0)
			sodium_memzero(plain, n);
		out->len = mark;
		set_err(st, "secret %s/%s: seal does not open", applet, key);
		goto out;
	}
	rc = VC_STORE_OK;
out:
	get_done(st);
	return rc;
}

int
vc_store_put_secret(vc_store *st, const char *applet, const char *key,
    const uint8_t *v, size_t n)
{
	uint8_t ad[AD_MAX], *sealed = NULL;
	size_t adlen, total;
	int rc;

	if ((rc = make_ad(st, applet, key, ad, &adlen)) != VC_STORE_OK)
		return rc;
	if (n > 0x7FFFFFFF - SEAL_NONCE_LEN - SEAL_TAG_LEN) {
		set_err(st, "secret %s/%s: value too large", applet, key);
		return VC_STORE_ERROR;
	}
	total = SEAL_NONCE_LEN + n + SEAL_TAG_LEN;
	if ((sealed = malloc(total)) == NULL) {
		set_err(st, "secret %s/%s: out of memory", applet, key);
		return VC_STORE_ERROR;
	}
	randombytes_buf(sealed, SEAL_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(sealed + SEAL_NONCE_LEN, NULL,
	    v, n, ad, adlen, NULL, sealed, st->seal_key);
	rc = vc_store_put(st, applet, key, sealed, total);
	free(sealed);
	return rc;
}

int
vc_store_get_u64(vc_store *st, const char *applet, const char *key,
    uint64_t *v)
{
	uint8_t b[8];
	wk_buf buf;
	uint64_t x = 0;
	int rc;

	wk_buf_init_fixed(&buf, b, sizeof(b));
	if ((rc = vc_store_get(st, applet, key, &buf)) != VC_STORE_OK)
		return rc;
	if (buf.len != sizeof(b)) {
		set_err(st, "%s/%s: not an integer", applet, key);
		return VC_STORE_CORRUPT;
	}
	for (size_t i = 0; i < sizeof(b); i++)
		x = (x << 8) | b[i];
	*v = x;
	return VC_STORE_OK;
}

int
vc_store_put_u64(vc_store *st, const char *applet, const char *key,
    uint64_t v)
{
	uint8_t b[8];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	return vc_store_put(st, applet, key, b, sizeof(b));
}
