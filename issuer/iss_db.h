/*
 * one database connection, SQLite or PostgreSQL, behind one small API.
 * SQL is written once with $1..$n placeholders, which both engines accept;
 * results are read as text. A pool hands connections to server threads.
 */
#ifndef ISS_DB_H
#define ISS_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct iss_db iss_db;
typedef struct iss_res iss_res;
typedef struct iss_pool iss_pool;

enum {
	ISS_DB_OK = 0,
	ISS_DB_ERROR = -1,	/* the engine failed: an issuer fault */
	ISS_DB_CONFLICT = -2,	/* a unique or check constraint refused the row */
	ISS_DB_RETRY = -3,	/* busy, deadlock or serialization: run the transaction again */
};

enum { ISS_P_TEXT, ISS_P_INT, ISS_P_NULL };

typedef struct iss_param {
	int type;
	const char *s;
	int64_t i;
} iss_param;

#define ISS_PS(x) ((iss_param){ ISS_P_TEXT, (x), 0 })
#define ISS_PI(x) ((iss_param){ ISS_P_INT, NULL, (int64_t)(x) })
#define ISS_PN ((iss_param){ ISS_P_NULL, NULL, 0 })

/* url: "sqlite:PATH" or "postgresql://..." (also "postgres://") */
int iss_db_open(const char *url, iss_db **out, char *err, size_t errlen);
void iss_db_free(iss_db **db);
bool iss_db_is_pg(const iss_db *db);
const char *iss_db_errmsg(const iss_db *db);

/* runs a parameterless script of one or more statements */
int iss_db_script(iss_db *db, const char *sql);
/* runs one statement; *res (when res != NULL) holds its rows */
int iss_db_exec(iss_db *db, const char *sql, const iss_param *p, size_t np,
    iss_res **res);
/* rows changed by the last iss_db_exec */
int64_t iss_db_changes(const iss_db *db);

/* write transaction: BEGIN IMMEDIATE on SQLite, BEGIN on PostgreSQL */
int iss_db_begin(iss_db *db);
int iss_db_commit(iss_db *db);
void iss_db_rollback(iss_db *db);

size_t iss_res_rows(const iss_res *r);
size_t iss_res_cols(const iss_res *r);
/* NULL for SQL NULL or out of range */
const char *iss_res_text(const iss_res *r, size_t row, size_t col);
int64_t iss_res_int(const iss_res *r, size_t row, size_t col);
void iss_res_free(iss_res **r);

/* runs a parameterless query and prints its rows (iss_list.c): a
 * tab-separated table headed by names, or with json a JSON array of
 * objects keyed by names (numeric columns as integers); 0, or 1 with the
 * database's message on stderr */
int iss_db_print(iss_db *db, const char *sql, const char *const *names,
    const bool *numeric, bool json);
/* a named listing, for iss_db_print_many */
typedef struct iss_query {
	const char *name;
	const char *sql;
	const char *const *names;
	const bool *numeric;
} iss_query;
/* runs n listings in one read transaction (one snapshot of the database)
 * and prints them: with json one object whose members are the listings'
 * names, each a JSON array of objects as iss_db_print prints it; else
 * each table under a "# NAME" line. 0, or 1 with the message on stderr */
int iss_db_print_many(iss_db *db, const iss_query *q, size_t n, bool json);

int iss_pool_new(const char *url, size_t max, iss_pool **out, char *err,
    size_t errlen);
void iss_pool_free(iss_pool **pool);
/* blocks until a connection is free; NULL when none can be opened */
iss_db *iss_pool_get(iss_pool *pool);
void iss_pool_put(iss_pool *pool, iss_db *db);

/* where the database time goes, summed over the process since the last
 * reset (bench/issuer prints it per load): statements and their round-trip
 * time (COMMIT apart), transactions, and the waits for a pooled connection */
typedef struct iss_db_stats {
	uint64_t statements;	/* every round trip but BEGIN and COMMIT */
	uint64_t stmt_ns;
	uint64_t begins;	/* BEGIN: SQLite's includes the wait for the writer */
	uint64_t begin_ns;
	uint64_t commits;
	uint64_t commit_ns;
	uint64_t pool_waits;	/* iss_pool_get that found no idle connection */
	uint64_t pool_wait_ns;
	uint64_t prepares;	/* statements prepared (once per connection) */
} iss_db_stats;

void iss_db_stats_get(iss_db_stats *out);
void iss_db_stats_reset(void);

#endif
