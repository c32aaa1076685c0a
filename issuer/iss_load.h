/* what the remote load's two files share (iss_load.c: the rows and the
 * start; iss_load_close.c: receipt, refusal, recovery) */
#ifndef ISS_LOAD_H
#define ISS_LOAD_H

#include "iss_proto.h"

typedef struct iss_load_row {
	char id[2 * WK_MSG_LOAD_ID_LEN + 1];
	char card_id[2 * WK_MSG_CARD_ID_LEN + 1];
	int64_t seq;
	int64_t account_id;
	int64_t amount;
	char status[16];
	char request_hash[65];
	char *grant_b64;
	int64_t grant_op;
	int64_t new_balance;
	bool has_balance;
} iss_load_row;

#define LOAD_COLS "id, card_id, seq, account_id, amount, status," \
	" request_hash, grant_msg, grant_op, new_balance"

void iss_load_row_clear(iss_load_row *l);
/* 1 found, 0 not found, else a db rc */
int iss_load_read(iss_db *db, const char *where, const iss_param *key,
    size_t nkey, iss_load_row *l);
/* the one row of r, its LOAD_COLS from column c0 on, into l: 1, 0 when r
 * has no row (or more than one) */
int iss_load_row_read(const iss_res *r, size_t c0, iss_load_row *l);
/* the row of r (LOAD_COLS) into l, r freed: 1, 0 when r has none */
int iss_load_row_take(iss_res **rp, iss_load_row *l);
/* PostgreSQL: one step of a load in one statement (sql calls fn:
 * wk_load_start, wk_load_close; migration 10), whose one row is an answer
 * code and the load (LOAD_COLS): the code into code (cap bytes), the load
 * into l. 1, or 0 when the answer came without its load; else -1 (e set)
 * or ISS_DB_RETRY */
int iss_load_pg_step(iss_db *db, const char *fn, const char *sql,
    const iss_param *p, size_t n, char *code, size_t cap, iss_load_row *l,
    iss_err *e);
/* the load as the issuer answers it */
json_t *iss_load_json(const iss_load_row *l);

#endif
