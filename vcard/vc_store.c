/* the card store: transactions and sealed rows (vc_store.h) */
#include "vc_store_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_log.h"

static const char *const queries[Q_COUNT] = {
	[Q_GET] = "SELECT value FROM rows WHERE id = ?1",
	[Q_PUT] = "INSERT OR REPLACE INTO rows (id, value) VALUES (?1, ?2)",
	[Q_DEL] = "DELETE FROM rows WHERE id = ?1",
	[Q_STATE] = "UPDATE meta SET value = ?1 WHERE name = 'state'",
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_BEGIN_READ] = "BEGIN DEFERRED",
};

void
store_err(vc_store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
	wk_log(WK_LOG_STORE, "store: %s", st->errmsg);
}

int
store_db_fail(vc_store *st, const char *what)
{
	store_err(st, "%s: %s", what, st->db != NULL ? sqlite3_errmsg(st->db) :
	    "no database");
	return VC_STORE_ERROR;
}

int
store_exec(vc_store *st, const char *sql)
{
	char *msg = NULL;
	int rc;

	if ((rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg)) != SQLITE_OK) {
		store_err(st, "%s", msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		/* the machine's trouble, or the file's */
		switch (rc & 0xFF) {
		case SQLITE_NOMEM:
		case SQLITE_IOERR:
		case SQLITE_CANTOPEN:
		case SQLITE_PERM:
		case SQLITE_READONLY:
		case SQLITE_FULL:
		case SQLITE_BUSY:
		case SQLITE_LOCKED:
			return VC_STORE_ERROR;
		default:
			return VC_STORE_CORRUPT;
		}
	}
	return VC_STORE_OK;
}

int
store_prepare(vc_store *st)
{
	for (size_t i = 0; i < Q_COUNT; i++)
		if (sqlite3_prepare_v3(st->db, queries[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->q[i], NULL) != SQLITE_OK)
			return store_db_fail(st, "prepare");
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
	return rc == SQLITE_DONE ? VC_STORE_OK : store_db_fail(st, queries[which]);
}

int
store_tampered(vc_store *st, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!st->poisoned) {
		st->poisoned = true;
		store_err(st, "the card store was changed outside the card (%s); "
		    "the card answers no more commands", what);
		/* the card's log, whatever the trace switches say */
		fprintf(stderr, "walletkey-card: %s\n", st->errmsg);
	}
	return VC_STORE_CORRUPT;
}

/* ---- the tags the card expects, by row id (linear probing) ---- */

static size_t
map_slot(const store_map *m, const uint8_t *id)
{
	uint64_t h;

	/* ids are keyed hashes: any 8 of their bytes are uniform */
	memcpy(&h, id, sizeof(h));
	return (size_t)h & (m->cap - 1);
}

static size_t
map_index(const store_map *m, const uint8_t *id, bool *found)
{
	size_t i = map_slot(m, id);

	while (m->e[i].used && memcmp(m->e[i].id, id, VC_SEAL_ID_LEN) != 0)
		i = (i + 1) & (m->cap - 1);
	*found = m->e[i].used;
	return i;
}

int
store_map_reserve(store_map *m, size_t n)
{
	store_map bigger;
	size_t cap = m->cap < 64 ? 64 : m->cap;
	bool found;

	if (n <= m->cap / 2)
		return 0;
	while (cap / 2 < n) {
		if (cap > SIZE_MAX / 4 / sizeof(store_ent))
			return -1;
		cap *= 2;
	}
	bigger.cap = cap;
	bigger.n = m->n;
	if ((bigger.e = calloc(cap, sizeof(store_ent))) == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (m->e[i].used)
			bigger.e[map_index(&bigger, m->e[i].id, &found)] = m->e[i];
	free(m->e);
	*m = bigger;
	return 0;
}

const store_ent *
store_map_find(const store_map *m, const uint8_t *id)
{
	size_t i;
	bool found;

	if (m->cap == 0)
		return NULL;
	i = map_index(m, id, &found);
	return found ? &m->e[i] : NULL;
}

int
store_map_set(store_map *m, const uint8_t *id, const uint8_t *tag)
{
	size_t i;
	bool found;

	if (store_map_reserve(m, m->n + 1) != 0)
		return -1;
	i = map_index(m, id, &found);
	if (!found) {
		memcpy(m->e[i].id, id, VC_SEAL_ID_LEN);
		m->e[i].used = true;
		m->n++;
	}
	memcpy(m->e[i].tag, tag, VC_SEAL_TAG_LEN);
	return 0;
}

static void
map_del(store_map *m, const uint8_t *id)
{
	size_t i, j, k, mask;
	bool found;

	if (m->cap == 0)
		return;
	mask = m->cap - 1;
	i = map_index(m, id, &found);
	if (!found)
		return;
	m->e[i].used = false;
	m->n--;
	/* move back the entries of the cluster that the hole would hide */
	for (j = (i + 1) & mask; m->e[j].used; j = (j + 1) & mask) {
		k = map_slot(m, m->e[j].id);
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			m->e[i] = m->e[j];
			m->e[j].used = false;
			i = j;
		}
	}
}

void
store_map_free(store_map *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}

/* ---- transactions ---- */

static void
xor_tag(uint8_t *root, const uint8_t *tag)
{
	for (size_t i = 0; i < VC_SEAL_TAG_LEN; i++)
		root[i] ^= tag[i];
}

/* the read transaction of vc_store_read_begin ends (it changed nothing) */
static void
read_close(vc_store *st)
{
	if (!st->in_read)
		return;
	st->in_read = false;
	if (!sqlite3_get_autocommit(st->db) && step_done(st, Q_COMMIT) !=
	    VC_STORE_OK && !sqlite3_get_autocommit(st->db))
		step_done(st, Q_ROLLBACK);
}

bool
vc_store_read_begin(vc_store *st)
{
	if (st->poisoned || st->in_txn || st->in_read)
		return false;
	if (step_done(st, Q_BEGIN_READ) != VC_STORE_OK)
		return false;	/* the reads go on one by one */
	st->in_read = true;
	return true;
}

void
vc_store_read_end(vc_store *st, bool began)
{
	if (began)
		read_close(st);
}

int
store_txn_begin(vc_store *st)
{
	int rc;

	if (st->in_txn)
		return VC_STORE_OK;
	/* a write in the middle of a batch of reads: the reads' transaction
	 * ends first (BEGIN IMMEDIATE does not nest) */
	read_close(st);
	if ((rc = step_done(st, Q_BEGIN)) != VC_STORE_OK)
		return rc;
	st->in_txn = true;
	st->txn = st->state;
	st->n_undo = 0;
	return VC_STORE_OK;
}

static void
undo_all(vc_store *st)
{
	while (st->n_undo > 0) {
		const store_undo *u = &st->undo[--st->n_undo];

		if (u->had)
			store_map_set(&st->map, u->id, u->tag);	/* reserved */
		else
			map_del(&st->map, u->id);
	}
	st->txn = st->state;
}

void
store_txn_rollback(vc_store *st)
{
	read_close(st);
	if (!st->in_txn)
		return;
	st->in_txn = false;
	if (!sqlite3_get_autocommit(st->db))
		step_done(st, Q_ROLLBACK);
	undo_all(st);
}

/* the new state record goes in the same transaction as the rows */
int
store_txn_commit(vc_store *st)
{
	uint8_t sealed[VC_SEAL_STATE_LEN];
	sqlite3_stmt *s = st->q[Q_STATE];
	int rc = VC_STORE_ERROR;

	if (!st->in_txn)
		return VC_STORE_OK;
	st->txn.version = st->state.version + 1;
	vc_seal_state_seal(st->seal, &st->txn, sealed);
	if (sqlite3_bind_blob(s, 1, sealed, sizeof(sealed), SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_step(s) != SQLITE_DONE ||
	    sqlite3_changes(st->db) != 1) {
		rc = store_db_fail(st, "state");
		sqlite3_reset(s);
		goto fail;
	}
	sqlite3_reset(s);
	if ((rc = step_done(st, Q_COMMIT)) != VC_STORE_OK)
		goto fail;
	st->in_txn = false;
	st->state = st->txn;
	st->n_undo = 0;
	return VC_STORE_OK;
fail:
	store_txn_rollback(st);
	return rc;
}

int
vc_store_begin(vc_store *st)
{
	if (st->poisoned)
		return VC_STORE_CORRUPT;
	st->in_cmd = true;
	/* a transaction left open by a command that never committed is dropped */
	store_txn_rollback(st);
	return VC_STORE_OK;
}

int
vc_store_commit(vc_store *st)
{
	read_close(st);
	st->in_cmd = false;
	if (st->poisoned) {
		store_txn_rollback(st);
		return VC_STORE_CORRUPT;
	}
	return store_txn_commit(st);
}

void
vc_store_abort(vc_store *st)
{
	store_txn_rollback(st);
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

/* the first write of a command opens its transaction; writes outside a
 * command get one of their own, committed at write_end */
static int
write_begin(vc_store *st, bool *own)
{
	*own = false;
	if (st->poisoned)
		return VC_STORE_CORRUPT;
	if (st->in_txn)
		return VC_STORE_OK;
	*own = !st->in_cmd;
	return store_txn_begin(st);
}

static int
write_end(vc_store *st, bool own, int rc)
{
	if (!own)
		return rc;
	if (rc == VC_STORE_OK)
		return store_txn_commit(st);
	store_txn_rollback(st);
	return rc;
}

/* room for one more undo entry and one more row, so that nothing can fail
 * once the row is written */
static int
reserve_one(vc_store *st)
{
	store_undo *u;
	size_t cap;

	if (st->n_undo == st->cap_undo) {
		cap = st->cap_undo < 16 ? 16 : st->cap_undo * 2;
		if ((u = realloc(st->undo, cap * sizeof(*u))) == NULL)
			return -1;
		st->undo = u;
		st->cap_undo = cap;
	}
	return store_map_reserve(&st->map, st->map.n + 1);
}

static void
undo_push(vc_store *st, const uint8_t *id, const store_ent *old)
{
	store_undo *u = &st->undo[st->n_undo++];

	memcpy(u->id, id, VC_SEAL_ID_LEN);
	u->had = old != NULL;
	if (old != NULL)
		memcpy(u->tag, old->tag, VC_SEAL_TAG_LEN);
}

int
store_row_write(vc_store *st, const uint8_t *id, const uint8_t *sealed,
    size_t n)
{
	sqlite3_stmt *s = st->q[Q_PUT];
	uint8_t tag[VC_SEAL_TAG_LEN];
	const store_ent *old;
	int rc = VC_STORE_ERROR;

	if (n > 0x7FFFFFFF) {
		store_err(st, "value too large");
		return VC_STORE_ERROR;
	}
	if (reserve_one(st) != 0) {
		store_err(st, "out of memory");
		return VC_STORE_ERROR;
	}
	if (sqlite3_bind_blob(s, 1, id, VC_SEAL_ID_LEN, SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_bind_blob(s, 2, sealed, (int)n,
	    SQLITE_STATIC) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		rc = store_db_fail(st, "put");
		goto out;
	}
	vc_seal_tag(st->seal, id, sealed, n, tag);
	old = store_map_find(&st->map, id);
	undo_push(st, id, old);
	if (old != NULL)
		xor_tag(st->txn.root, old->tag);
	else
		st->txn.count++;
	xor_tag(st->txn.root, tag);
	store_map_set(&st->map, id, tag);	/* reserved */
	rc = VC_STORE_OK;
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

int
store_row_put(vc_store *st, const char *applet, const char *key,
    const uint8_t *v, size_t n)
{
	uint8_t id[VC_SEAL_ID_LEN], *sealed;
	size_t total;
	int rc;

	if (vc_seal_id(st->seal, applet, key, id) != VC_SEAL_OK) {
		store_err(st, "applet and key names are required");
		return VC_STORE_ERROR;
	}
	if (n > 0x7FFFFFFF - VC_SEAL_OVERHEAD) {
		store_err(st, "put %s/%s: value too large", applet, key);
		return VC_STORE_ERROR;
	}
	total = n + VC_SEAL_OVERHEAD;
	if ((sealed = malloc(total)) == NULL) {
		store_err(st, "put %s/%s: out of memory", applet, key);
		return VC_STORE_ERROR;
	}
	vc_seal_row(st->seal, id, v, n, sealed);
	rc = store_row_write(st, id, sealed, total);
	free(sealed);
	return rc;
}

/* ---- the applets' interface ---- */

void
vc_store_free(vc_store **stp)
{
	vc_store *st;

	if (stp == NULL || (st = *stp) == NULL)
		return;
	if (st->q[Q_ROLLBACK] != NULL)
		store_txn_rollback(st);
	for (size_t i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(st->q[i]);
	/* at rest the store is one file: what the WAL holds goes back in */
	if (st->db != NULL && !st->poisoned)
		sqlite3_exec(st->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL,
		    NULL, NULL);
	sqlite3_close(st->db);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	vc_seal_free(&st->seal);
	store_map_free(&st->map);
	free(st->undo);
	free(st);
	*stp = NULL;
}

const uint8_t *
vc_store_serial(const vc_store *st)
{
	return st->serial;
}

uint64_t
vc_store_version(const vc_store *st)
{
	return st->state.version;
}

void
vc_store_digest(const vc_store *st, uint8_t out[32])
{
	const vc_seal_state *s = st->in_txn ? &st->txn : &st->state;
	crypto_generichash_state h;
	uint8_t n[8];

	for (size_t i = 0; i < sizeof(n); i++)
		n[i] = (uint8_t)(s->count >> (56 - 8 * i));
	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, s->root, sizeof(s->root));
	crypto_generichash_update(&h, n, sizeof(n));
	crypto_generichash_final(&h, out, 32);
}

/*
 * reads (applet, key) into out: the row must be the one the card last
 * wrote (its tag as the card keeps it) and open under the data key
 */
static int
row_get(vc_store *st, const char *applet, const char *key, wk_buf *out)
{
	sqlite3_stmt *s = st->q[Q_GET];
	uint8_t id[VC_SEAL_ID_LEN], tag[VC_SEAL_TAG_LEN], *plain;
	const store_ent *want;
	const uint8_t *sealed;
	size_t n, mark = out->len;
	int rc;

	if (st->poisoned)
		return VC_STORE_CORRUPT;
	if (vc_seal_id(st->seal, applet, key, id) != VC_SEAL_OK) {
		store_err(st, "applet and key names are required");
		return VC_STORE_ERROR;
	}
	want = store_map_find(&st->map, id);
	if (sqlite3_bind_blob(s, 1, id, sizeof(id), SQLITE_STATIC) != SQLITE_OK) {
		rc = store_db_fail(st, "get");
		goto out;
	}
	switch (sqlite3_step(s)) {
	case SQLITE_ROW:
		break;
	case SQLITE_DONE:
		rc = want != NULL ? store_tampered(st, "a row has gone") :
		    VC_STORE_NOT_FOUND;
		goto out;
	default:
		rc = store_db_fail(st, "get");
		goto out;
	}
	sealed = sqlite3_column_blob(s, 0);
	n = (size_t)sqlite3_column_bytes(s, 0);
	if (want == NULL || sqlite3_column_type(s, 0) != SQLITE_BLOB ||
	    n < VC_SEAL_OVERHEAD) {
		rc = store_tampered(st, "a row the card did not write");
		goto out;
	}
	vc_seal_tag(st->seal, id, sealed, n, tag);
	if (sodium_memcmp(tag, want->tag, sizeof(tag)) != 0) {
		rc = store_tampered(st, "a row is not the one the card wrote");
		goto out;
	}
	n -= VC_SEAL_OVERHEAD;
	if ((plain = wk_buf_reserve(out, n)) == NULL && n > 0) {
		store_err(st, "get %s/%s: value does not fit", applet, key);
		rc = VC_STORE_ERROR;
		goto out;
	}
	if (vc_seal_unrow(st->seal, id, sealed, n + VC_SEAL_OVERHEAD,
	    plain) != VC_SEAL_OK) {
		out->len = mark;
		rc = store_tampered(st, "a row does not open");
		goto out;
	}
	rc = VC_STORE_OK;
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

int
vc_store_get(vc_store *st, const char *applet, const char *key, wk_buf *out)
{
	return row_get(st, applet, key, out);
}

int
vc_store_put(vc_store *st, const char *applet, const char *key,
    const uint8_t *v, size_t n)
{
	static const uint8_t empty[1];
	bool own;
	int rc;

	if ((rc = write_begin(st, &own)) == VC_STORE_OK)
		rc = store_row_put(st, applet, key, n > 0 ? v : empty, n);
	return write_end(st, own, rc);
}

int
vc_store_del(vc_store *st, const char *applet, const char *key)
{
	sqlite3_stmt *s = st->q[Q_DEL];
	uint8_t id[VC_SEAL_ID_LEN];
	const store_ent *old;
	bool own;
	int rc;

	if (vc_seal_id(st->seal, applet, key, id) != VC_SEAL_OK) {
		store_err(st, "applet and key names are required");
		return VC_STORE_ERROR;
	}
	if ((rc = write_begin(st, &own)) != VC_STORE_OK)
		return write_end(st, own, rc);
	if (reserve_one(st) != 0) {
		store_err(st, "out of memory");
		rc = VC_STORE_ERROR;
		goto out;
	}
	old = store_map_find(&st->map, id);
	if (sqlite3_bind_blob(s, 1, id, sizeof(id), SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		rc = store_db_fail(st, "del");
		goto out;
	}
	if (sqlite3_changes(st->db) == 0) {
		rc = old != NULL ? store_tampered(st, "a row has gone") :
		    VC_STORE_NOT_FOUND;
		goto out;
	}
	if (old == NULL) {
		rc = store_tampered(st, "a row the card did not write");
		goto out;
	}
	undo_push(st, id, old);
	xor_tag(st->txn.root, old->tag);
	st->txn.count--;
	map_del(&st->map, id);
	rc = VC_STORE_OK;
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return write_end(st, own, rc);
}

/* every value is sealed; a secret's copies are wiped as well */
int
vc_store_get_secret(vc_store *st, const char *applet, const char *key,
    wk_buf *out)
{
	return row_get(st, applet, key, out);
}

int
vc_store_put_secret(vc_store *st, const char *applet, const char *key,
    const uint8_t *v, size_t n)
{
	return vc_store_put(st, applet, key, v, n);
}

int
vc_store_get_fixed(vc_store *st, const char *applet, const char *key,
    uint8_t *out, size_t len, bool secret)
{
	uint8_t tmp[VC_STORE_FIXED_MAX];
	wk_buf b;
	int r;

	wk_buf_init_fixed(&b, tmp, sizeof(tmp));
	r = secret ? vc_store_get_secret(st, applet, key, &b) :
	    vc_store_get(st, applet, key, &b);
	if (r == VC_STORE_OK && (wk_buf_failed(&b) || b.len != len))
		r = VC_STORE_CORRUPT;
	if (r == VC_STORE_OK)
		memcpy(out, tmp, len);
	sodium_memzero(tmp, sizeof(tmp));
	return r;
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
		store_err(st, "%s/%s: not an integer", applet, key);
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
