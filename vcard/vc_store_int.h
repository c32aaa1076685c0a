/* the card store's insides, shared by vc_store.c, vc_store_open.c and
 * vc_store_rekey.c */
#ifndef VC_STORE_INT_H
#define VC_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "vc_seal.h"
#include "vc_store.h"

#define STORE_MAGIC "walletkey-card-store"
#define STORE_VERSION 2
#define SEAL_KEY_FILE "walletkey-seal.key"

/* the audit log's records (vcard/applets/audit_log.c); format 1 kept
 * them in a table of their own, the upgrade moves them under this name */
#define STORE_AUDIT_APPLET "audit"
#define STORE_AUDIT_REC_FMT "rec.%llu"

enum {
	Q_GET,
	Q_PUT,
	Q_DEL,
	Q_STATE,
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_BEGIN_READ,
	Q_COUNT,
};

/* what the card knows each stored row's tag to be, by id */
typedef struct store_ent {
	uint8_t id[VC_SEAL_ID_LEN];
	uint8_t tag[VC_SEAL_TAG_LEN];
	bool used;
} store_ent;

typedef struct store_map {
	store_ent *e;
	size_t cap;		/* a power of two, or 0 */
	size_t n;
} store_map;

/* a row as it was before the transaction changed it */
typedef struct store_undo {
	uint8_t id[VC_SEAL_ID_LEN];
	uint8_t tag[VC_SEAL_TAG_LEN];
	bool had;
} store_undo;

struct vc_store {
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
	int lock_fd;		/* flock: one card process per store */
	bool in_cmd;		/* between vc_store_begin and vc_store_commit */
	bool in_txn;		/* BEGIN issued */
	bool in_read;		/* a read transaction (vc_store_read_begin) open */
	bool poisoned;		/* tampering seen while running: nothing more */
	uint8_t serial[WK_SERIAL_LEN];
	vc_seal *seal;
	vc_seal_state state;	/* committed */
	vc_seal_state txn;	/* with the open transaction's changes */
	store_map map;
	store_undo *undo;
	size_t n_undo, cap_undo;
	char errmsg[256];
};

void store_err(vc_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int store_db_fail(vc_store *st, const char *what);
int store_exec(vc_store *st, const char *sql);
int store_prepare(vc_store *st);
/* a change seen outside the card: the store refuses everything after */
int store_tampered(vc_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int store_map_reserve(store_map *m, size_t n);
const store_ent *store_map_find(const store_map *m, const uint8_t *id);
int store_map_set(store_map *m, const uint8_t *id, const uint8_t *tag);
void store_map_free(store_map *m);

/* a transaction for writes outside vc_store_begin/commit (open, rekey) */
int store_txn_begin(vc_store *st);
int store_txn_commit(vc_store *st);
void store_txn_rollback(vc_store *st);
/* seals v under (applet, key) and writes it in the open transaction */
int store_row_put(vc_store *st, const char *applet, const char *key,
    const uint8_t *v, size_t n);
/* writes an already sealed row with its id */
int store_row_write(vc_store *st, const uint8_t *id, const uint8_t *sealed,
    size_t n);

/* vc_store_open.c, for vc_store_rekey.c too */
/* the seal key's source; the default is walletkey-seal.key beside the
 * store (kpath, cap bytes, holds its path) */
int store_source_of(vc_store *st, const char *store_path,
    const vc_store_key *key, bool create, char *kpath, size_t cap,
    vc_seal_source *src);
/* a VC_SEAL_* code as the VC_STORE_* one */
int store_seal_rc(int rc);
/* writes meta.name */
int store_meta_put(vc_store *st, const char *name, const void *v, size_t n);
/* every row's tag into the map, checked against the state record */
int store_load_rows(vc_store *st);

#endif
