#include "iss_db.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdatomic.h>
#include <time.h>

#include <libpq-fe.h>
#include <sqlite3.h>

/* statements prepared once per pooled connection (issue 17: the parse and
 * plan of every statement of every load was the server's largest cost
 * after the round trips); keyed by the SQL text */
#define PREP_MAX 256

typedef struct prep {
	uint64_t hash;
	char *sql;
	sqlite3_stmt *st;	/* SQLite; PostgreSQL: the name "s<index>" */
} prep;

struct iss_db {
	bool pg;
	sqlite3 *lite;
	PGconn *conn;
	int64_t changes;
	bool cache;		/* pooled: keep statements prepared */
	prep preps[PREP_MAX];
	size_t n_preps;
	/* SQLite admits one writer: threads of one process queue on this lock
	 * instead of sleeping in SQLite's busy handler (other processes still
	 * wait through busy_timeout) */
	pthread_mutex_t *wlock;
	bool locked;
	char err[256];
};

struct iss_res {
	size_t rows;
	size_t cols;
	char **cell;		/* rows * cols, NULL for SQL NULL */
};

static _Atomic uint64_t st_statements, st_stmt_ns, st_begins, st_begin_ns,
    st_commits, st_commit_ns, st_pool_waits, st_pool_wait_ns, st_prepares;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
iss_db_stats_get(iss_db_stats *o)
{
	o->statements = atomic_load_explicit(&st_statements, memory_order_relaxed);
	o->stmt_ns = atomic_load_explicit(&st_stmt_ns, memory_order_relaxed);
	o->begins = atomic_load_explicit(&st_begins, memory_order_relaxed);
	o->begin_ns = atomic_load_explicit(&st_begin_ns, memory_order_relaxed);
	o->commits = atomic_load_explicit(&st_commits, memory_order_relaxed);
	o->commit_ns = atomic_load_explicit(&st_commit_ns, memory_order_relaxed);
	o->pool_waits = atomic_load_explicit(&st_pool_waits, memory_order_relaxed);
	o->pool_wait_ns = atomic_load_explicit(&st_pool_wait_ns,
	    memory_order_relaxed);
	o->prepares = atomic_load_explicit(&st_prepares, memory_order_relaxed);
}

void
iss_db_stats_reset(void)
{
	atomic_store(&st_statements, 0);
	atomic_store(&st_stmt_ns, 0);
	atomic_store(&st_begins, 0);
	atomic_store(&st_begin_ns, 0);
	atomic_store(&st_commits, 0);
	atomic_store(&st_commit_ns, 0);
	atomic_store(&st_pool_waits, 0);
	atomic_store(&st_pool_wait_ns, 0);
	atomic_store(&st_prepares, 0);
}

static void
count_stmt(uint64_t t0)
{
	atomic_fetch_add_explicit(&st_statements, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st_stmt_ns, now_ns() - t0,
	    memory_order_relaxed);
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211u;
	}
	return h;
}

/* the cached entry of sql, or NULL; *slot gets where a new one goes */
static prep *
prep_find(iss_db *db, const char *sql, uint64_t h)
{
	for (size_t i = 0; i < db->n_preps; i++)
		if (db->preps[i].hash == h && strcmp(db->preps[i].sql, sql) == 0)
			return &db->preps[i];
	return NULL;
}

static void
prep_clear(iss_db *db)
{
	for (size_t i = 0; i < db->n_preps; i++) {
		if (db->preps[i].st != NULL)
			sqlite3_finalize(db->preps[i].st);
		free(db->preps[i].sql);
	}
	db->n_preps = 0;
}

static void
set_err(iss_db *db, const char *what, const char *msg)
{
	snprintf(db->err, sizeof(db->err), "%s: %s", what,
	    msg != NULL ? msg : "unknown error");
}

int
iss_db_open(const char *url, iss_db **out, char *err, size_t errlen)
{
	iss_db *db;
	int rc = ISS_DB_ERROR;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ISS_DB_ERROR;
	}
	if (strncmp(url, "sqlite:", 7) == 0) {
		const char *path = url + 7;

		if (*path == '\0') {
			snprintf(err, errlen, "sqlite: empty path");
			goto out;
		}
		if (sqlite3_open_v2(path, &db->lite, SQLITE_OPEN_READWRITE |
		    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "sqlite: %s: %s", path,
			    db->lite ? sqlite3_errmsg(db->lite) : "cannot open");
			goto out;
		}
		sqlite3_busy_timeout(db->lite, 10000);
		if (sqlite3_exec(db->lite, "PRAGMA journal_mode=WAL;"
		    "PRAGMA synchronous=FULL;PRAGMA foreign_keys=ON;", NULL,
		    NULL, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "sqlite: %s",
			    sqlite3_errmsg(db->lite));
			goto out;
		}
	} else if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0) {
		db->pg = true;
		db->conn = PQconnectdb(url);
		if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
			snprintf(err, errlen, "postgresql: %s",
			    db->conn ? PQerrorMessage(db->conn) : "cannot connect");
			goto out;
		}
		PQclear(PQexec(db->conn, "SET client_min_messages = warning"));
	} else {
		snprintf(err, errlen,
		    "unknown database URL (want sqlite:PATH or postgresql://...)");
		goto out;
	}
	*out = db;
	db = NULL;
	rc = ISS_DB_OK;
out:
	iss_db_free(&db);
	return rc;
}

void
iss_db_free(iss_db **dbp)
{
	iss_db *db = *dbp;

	if (db == NULL)
		return;
	prep_clear(db);
	if (db->lite != NULL)
		sqlite3_close_v2(db->lite);
	if (db->conn != NULL)
		PQfinish(db->conn);
	free(db);
	*dbp = NULL;
}

bool
iss_db_is_pg(const iss_db *db)
{
	return db->pg;
}

const char *
iss_db_errmsg(const iss_db *db)
{
	return db->err;
}

static int
lite_rc(iss_db *db, int rc)
{
	set_err(db, "sqlite", sqlite3_errmsg(db->lite));
	switch (rc & 0xFF) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ISS_DB_RETRY;
	case SQLITE_CONSTRAINT:
		return ISS_DB_CONFLICT;
	default:
		return ISS_DB_ERROR;
	}
}

static int
pg_rc(iss_db *db, PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	set_err(db, "postgresql", r ? PQresultErrorMessage(r) :
	    PQerrorMessage(db->conn));
	if (state == NULL)
		return ISS_DB_ERROR;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return ISS_DB_RETRY;
	if (strncmp(state, "23", 2) == 0)
		return ISS_DB_CONFLICT;
	return ISS_DB_ERROR;
}

int
iss_db_script(iss_db *db, const char *sql)
{
	if (db->pg) {
		PGresult *r = PQexec(db->conn, sql);
		int rc = ISS_DB_OK;

		if (PQresultStatus(r) != PGRES_COMMAND_OK &&
		    PQresultStatus(r) != PGRES_TUPLES_OK)
			rc = pg_rc(db, r);
		PQclear(r);
		return rc;
	}
	{
		int rc = sqlite3_exec(db->lite, sql, NULL, NULL, NULL);

		return rc == SQLITE_OK ? ISS_DB_OK : lite_rc(db, rc);
	}
}

static iss_res *
res_new(size_t rows, size_t cols)
{
	iss_res *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->rows = rows;
	r->cols = cols;
	if (rows > 0 && cols > 0 &&
	    (r->cell = calloc(rows * cols, sizeof(char *))) == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static int
pg_exec(iss_db *db, const char *sql, const iss_param *p, size_t np,
    iss_res **res)
{
	const char *vals[32];
	char nums[32][24];
	PGresult *r;
	ExecStatusType st;
	int rc = ISS_DB_ERROR;

	if (np > 32) {
		set_err(db, "postgresql", "too many parameters");
		return ISS_DB_ERROR;
	}
	for (size_t i = 0; i < np; i++) {
		if (p[i].type == ISS_P_INT) {
			snprintf(nums[i], sizeof(nums[i]), "%" PRId64, p[i].i);
			vals[i] = nums[i];
		} else if (p[i].type == ISS_P_TEXT) {
			vals[i] = p[i].s;
		} else {
			vals[i] = NULL;
		}
	}
	r = NULL;
	if (db->cache) {
		uint64_t h = fnv1a(sql);
		prep *pp = prep_find(db, sql, h);

		if (pp == NULL && db->n_preps < PREP_MAX &&
		    PQtransactionStatus(db->conn) != PQTRANS_INERROR) {
			char name[16];
			PGresult *pr;

			snprintf(name, sizeof(name), "s%zu", db->n_preps);
			pr = PQprepare(db->conn, name, sql, (int)np, NULL);
			if (PQresultStatus(pr) == PGRES_COMMAND_OK &&
			    (db->preps[db->n_preps].sql = strdup(sql)) != NULL) {
				pp = &db->preps[db->n_preps++];
				pp->hash = h;
				pp->st = NULL;
				atomic_fetch_add_explicit(&st_prepares, 1,
				    memory_order_relaxed);
			}
			PQclear(pr);
		}
		if (pp != NULL) {
			char name[16];

			snprintf(name, sizeof(name), "s%zu",
			    (size_t)(pp - db->preps));
			r = PQexecPrepared(db->conn, name, (int)np, vals, NULL,
			    NULL, 0);
		}
	}
	if (r == NULL)
		r = PQexecParams(db->conn, sql, (int)np, NULL, vals, NULL, NULL,
		    0);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		rc = pg_rc(db, r);
		goto out;
	}
	{
		const char *ct = PQcmdTuples(r);

		db->changes = ct != NULL && *ct != '\0' ? strtoll(ct, NULL, 10) : 0;
	}
	if (res != NULL) {
		size_t rows = (size_t)PQntuples(r), cols = (size_t)PQnfields(r);
		iss_res *out;

		if ((out = res_new(rows, cols)) == NULL)
			goto out;
		for (size_t i = 0; i < rows; i++)
			for (size_t j = 0; j < cols; j++) {
				if (PQgetisnull(r, (int)i, (int)j))
					continue;
				out->cell[i * cols + j] =
				    strdup(PQgetvalue(r, (int)i, (int)j));
				if (out->cell[i * cols + j] == NULL) {
					iss_res_free(&out);
					goto out;
				}
			}
		*res = out;
	}
	rc = ISS_DB_OK;
out:
	PQclear(r);
	return rc;
}

static int
lite_exec(iss_db *db, const char *sql, const iss_param *p, size_t np,
    iss_res **res)
{
	sqlite3_stmt *st = NULL;
	prep *pp = NULL;
	iss_res *out = NULL;
	size_t cap = 0, cols;
	int rc = ISS_DB_ERROR, s;

	if (db->cache) {
		uint64_t h = fnv1a(sql);

		if ((pp = prep_find(db, sql, h)) == NULL &&
		    db->n_preps < PREP_MAX &&
		    sqlite3_prepare_v3(db->lite, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &st, NULL) == SQLITE_OK &&
		    (db->preps[db->n_preps].sql = strdup(sql)) != NULL) {
			pp = &db->preps[db->n_preps++];
			pp->hash = h;
			pp->st = st;
			atomic_fetch_add_explicit(&st_prepares, 1,
			    memory_order_relaxed);
		} else if (pp == NULL && st != NULL) {
			sqlite3_finalize(st);
		}
		st = pp != NULL ? pp->st : NULL;
	}
	if (st == NULL && (s = sqlite3_prepare_v2(db->lite, sql, -1, &st,
	    NULL)) != SQLITE_OK) {
		rc = lite_rc(db, s);
		goto out;
	}
	for (size_t i = 0; i < np; i++) {
		char name[24];
		int idx;

		snprintf(name, sizeof(name), "$%zu", i + 1);
		if ((idx = sqlite3_bind_parameter_index(st, name)) == 0)
			continue;
		if (p[i].type == ISS_P_INT)
			s = sqlite3_bind_int64(st, idx, p[i].i);
		else if (p[i].type == ISS_P_TEXT)
			s = sqlite3_bind_text(st, idx, p[i].s, -1, SQLITE_STATIC);
		else
			s = sqlite3_bind_null(st, idx);
		if (s != SQLITE_OK) {
			rc = lite_rc(db, s);
			goto out;
		}
	}
	cols = (size_t)sqlite3_column_count(st);
	if ((out = res_new(0, cols)) == NULL)
		goto out;
	/* bounded by the rows the engine returns */
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->rows == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nc = realloc(out->cell, ncap * cols * sizeof(char *));

			if (nc == NULL)
				goto out;
			memset(nc + cap * cols, 0, (ncap - cap) * cols * sizeof(char *));
			out->cell = nc;
			cap = ncap;
		}
		for (size_t j = 0; j < cols; j++) {
			const unsigned char *t;

			if (sqlite3_column_type(st, (int)j) == SQLITE_NULL)
				continue;
			t = sqlite3_column_text(st, (int)j);
			if (t != NULL && (out->cell[out->rows * cols + j] =
			    strdup((const char *)t)) == NULL)
				goto out;
		}
		out->rows++;
	}
	if (s != SQLITE_DONE) {
		rc = lite_rc(db, s);
		goto out;
	}
	db->changes = sqlite3_changes64(db->lite);
	if (res != NULL) {
		*res = out;
		out = NULL;
	}
	rc = ISS_DB_OK;
out:
	if (out != NULL && out->cell != NULL && cap > out->rows)
		out->rows = cap;	/* free every allocated cell */
	iss_res_free(&out);
	if (pp != NULL) {
		/* kept for the next time: reset, so it holds no lock */
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else {
		sqlite3_finalize(st);
	}
	return rc;
}

int
iss_db_exec(iss_db *db, const char *sql, const iss_param *p, size_t np,
    iss_res **res)
{
	uint64_t t0 = now_ns();
	int rc;

	if (res != NULL)
		*res = NULL;
	db->changes = 0;
	rc = db->pg ? pg_exec(db, sql, p, np, res) :
	    lite_exec(db, sql, p, np, res);
	count_stmt(t0);
	return rc;
}

int64_t
iss_db_changes(const iss_db *db)
{
	return db->changes;
}

static void
wunlock(iss_db *db)
{
	if (db->locked) {
		db->locked = false;
		pthread_mutex_unlock(db->wlock);
	}
}

int
iss_db_begin(iss_db *db)
{
	int rc;

	uint64_t t0 = now_ns();

	if (db->wlock != NULL && !db->locked) {
		pthread_mutex_lock(db->wlock);
		db->locked = true;
	}
	if ((rc = iss_db_script(db, db->pg ? "BEGIN" : "BEGIN IMMEDIATE")) != ISS_DB_OK)
		wunlock(db);
	atomic_fetch_add_explicit(&st_begins, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st_begin_ns, now_ns() - t0,
	    memory_order_relaxed);
	return rc;
}

int
iss_db_commit(iss_db *db)
{
	uint64_t t0 = now_ns();
	int rc = iss_db_script(db, "COMMIT");

	atomic_fetch_add_explicit(&st_commits, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st_commit_ns, now_ns() - t0,
	    memory_order_relaxed);
	if (rc != ISS_DB_OK)
		iss_db_rollback(db);
	wunlock(db);
	return rc;
}

void
iss_db_rollback(iss_db *db)
{
	char keep[sizeof(db->err)];

	memcpy(keep, db->err, sizeof(keep));
	if (db->pg)
		PQclear(PQexec(db->conn, "ROLLBACK"));
	else if (!sqlite3_get_autocommit(db->lite))
		sqlite3_exec(db->lite, "ROLLBACK", NULL, NULL, NULL);
	memcpy(db->err, keep, sizeof(keep));
	wunlock(db);
}

size_t
iss_res_rows(const iss_res *r)
{
	return r != NULL ? r->rows : 0;
}

size_t
iss_res_cols(const iss_res *r)
{
	return r != NULL ? r->cols : 0;
}

const char *
iss_res_text(const iss_res *r, size_t row, size_t col)
{
	if (r == NULL || row >= r->rows || col >= r->cols)
		return NULL;
	return r->cell[row * r->cols + col];
}

int64_t
iss_res_int(const iss_res *r, size_t row, size_t col)
{
	const char *t = iss_res_text(r, row, col);

	return t != NULL ? strtoll(t, NULL, 10) : 0;
}

void
iss_res_free(iss_res **rp)
{
	iss_res *r = *rp;

	if (r == NULL)
		return;
	if (r->cell != NULL)
		for (size_t i = 0; i < r->rows * r->cols; i++)
			free(r->cell[i]);
	free(r->cell);
	free(r);
	*rp = NULL;
}

/* a thread waiting for a connection: served in the order they came, so
 * that under more requests than connections no request waits for more
 * than the ones before it (a condition variable wakes any waiter, and the
 * unlucky ones made the tail of the latency, issue 17) */
typedef struct pool_waiter {
	struct pool_waiter *next;
	pthread_cond_t cv;
	iss_db *db;		/* handed over by iss_pool_put */
	bool may_open;		/* a failed open's place handed over */
} pool_waiter;

struct iss_pool {
	pthread_mutex_t mu;
	pthread_mutex_t wlock;
	char *url;
	iss_db **idle;
	size_t n_idle;
	size_t n_open;
	size_t max;
	pool_waiter *head, *tail;	/* FIFO */
};

int
iss_pool_new(const char *url, size_t max, iss_pool **out, char *err,
    size_t errlen)
{
	iss_pool *p;
	iss_db *db = NULL;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->url = strdup(url)) == NULL ||
	    (p->idle = calloc(max, sizeof(iss_db *))) == NULL) {
		if (p != NULL) {
			free(p->url);
			free(p);
		}
		snprintf(err, errlen, "out of memory");
		return ISS_DB_ERROR;
	}
	p->max = max;
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->wlock, NULL);
	/* open one now so a bad URL fails at start, not on the first request */
	if (iss_db_open(url, &db, err, errlen) != ISS_DB_OK) {
		iss_pool_free(&p);
		return ISS_DB_ERROR;
	}
	if (!db->pg)
		db->wlock = &p->wlock;
	db->cache = true;
	p->idle[p->n_idle++] = db;
	p->n_open = 1;
	*out = p;
	return ISS_DB_OK;
}

void
iss_pool_free(iss_pool **pp)
{
	iss_pool *p = *pp;

	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_idle; i++)
		iss_db_free(&p->idle[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->wlock);
	free(p->idle);
	free(p->url);
	free(p);
	*pp = NULL;
}

/* the oldest waiter, taken off the queue; NULL when none (p->mu held) */
static pool_waiter *
pool_next_waiter(iss_pool *p)
{
	pool_waiter *w = p->head;

	if (w != NULL && (p->head = w->next) == NULL)
		p->tail = NULL;
	return w;
}

iss_db *
iss_pool_get(iss_pool *p)
{
	iss_db *db = NULL;
	char err[256];

	pthread_mutex_lock(&p->mu);
	if (p->n_idle > 0 && p->head == NULL) {
		db = p->idle[--p->n_idle];
		pthread_mutex_unlock(&p->mu);
		return db;
	}
	if (p->n_open >= p->max || p->head != NULL) {
		pool_waiter w = { 0 };
		uint64_t t0 = now_ns();

		pthread_cond_init(&w.cv, NULL);
		if (p->tail != NULL)
			p->tail->next = &w;
		else
			p->head = &w;
		p->tail = &w;
		while (w.db == NULL && !w.may_open)
			pthread_cond_wait(&w.cv, &p->mu);
		pthread_cond_destroy(&w.cv);
		atomic_fetch_add_explicit(&st_pool_waits, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&st_pool_wait_ns, now_ns() - t0,
		    memory_order_relaxed);
		if (w.db != NULL) {
			pthread_mutex_unlock(&p->mu);
			return w.db;
		}
		/* may_open: the place of a connection that failed to open,
		 * already counted in n_open */
	} else {
		p->n_open++;
	}
	pthread_mutex_unlock(&p->mu);
	if (iss_db_open(p->url, &db, err, sizeof(err)) != ISS_DB_OK) {
		pool_waiter *w;

		fprintf(stderr, "walletkey-issuer: %s\n", err);
		pthread_mutex_lock(&p->mu);
		/* the next waiter tries to open one in this place */
		if ((w = pool_next_waiter(p)) != NULL) {
			w->may_open = true;
			pthread_cond_signal(&w->cv);
		} else {
			p->n_open--;
		}
		pthread_mutex_unlock(&p->mu);
		return NULL;
	}
	if (!db->pg)
		db->wlock = &p->wlock;
	db->cache = true;
	return db;
}

void
iss_pool_put(iss_pool *p, iss_db *db)
{
	pool_waiter *w;

	if (db == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	if ((w = pool_next_waiter(p)) != NULL) {
		w->db = db;
		pthread_cond_signal(&w->cv);
	} else {
		p->idle[p->n_idle++] = db;
	}
	pthread_mutex_unlock(&p->mu);
}
