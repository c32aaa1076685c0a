/*
 * the card store: one SQLite file per card (mode 0600, WAL,
 * synchronous=FULL). The APDU layer opens a transaction before each command
 * and commits it after the applet returns, before the response leaves; an
 * applet that must make a change durable before it goes on (a PIN try
 * counter before the comparison) calls vc_store_checkpoint(). An applet that
 * fails half-way calls vc_store_abort() so nothing of the command is kept.
 * The transaction begins at the command's first write, so a command that
 * writes nothing costs no fsync; writes outside begin/commit commit at once.
 *
 * Values are blobs under (applet, key). Secrets go through the _secret
 * variants: sealed with XChaCha20-Poly1305 under the store's seal key, with
 * (applet, key) as associated data.
 */
#ifndef VC_STORE_H
#define VC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wk_buf.h"

typedef struct vc_store vc_store;
typedef struct sqlite3 sqlite3;

enum {
	VC_STORE_OK = 0,
	VC_STORE_NOT_FOUND = -1,
	VC_STORE_ERROR = -2,	/* I/O or database failure */
	VC_STORE_CORRUPT = -3,	/* not a walletkey store, or a seal that does not open */
	VC_STORE_EXISTS = -4,
};

/* creates FILE (refuses to overwrite) with a fresh card id and seal key */
int vc_store_create(const char *path, const char *seal_key_path, vc_store **out);
int vc_store_open(const char *path, const char *seal_key_path, vc_store **out);
void vc_store_free(vc_store **st);
/* with st NULL: why the last vc_store_create/open failed */
const char *vc_store_errmsg(const vc_store *st);
/* the card serial fixed at create (8 bytes, WK_SERIAL_LEN) */
const uint8_t *vc_store_serial(const vc_store *st);

int vc_store_begin(vc_store *st);
int vc_store_commit(vc_store *st);
void vc_store_abort(vc_store *st);	/* roll back what this command wrote */
int vc_store_checkpoint(vc_store *st);	/* commit now and continue in a new transaction */

int vc_store_get(vc_store *st, const char *applet, const char *key, wk_buf *out);
int vc_store_put(vc_store *st, const char *applet, const char *key,
    const uint8_t *v, size_t n);
int vc_store_del(vc_store *st, const char *applet, const char *key);
int vc_store_get_secret(vc_store *st, const char *applet, const char *key,
    wk_buf *out);
int vc_store_put_secret(vc_store *st, const char *applet, const char *key,
    const uint8_t *v, size_t n);
/* integers, big-endian 8 bytes underneath */
int vc_store_get_u64(vc_store *st, const char *applet, const char *key, uint64_t *v);
int vc_store_put_u64(vc_store *st, const char *applet, const char *key, uint64_t v);

/* for applets that keep tables of their own (logs): same file, same transaction;
 * table names start with the applet name. Inside a command this opens the
 * command's write transaction (so raw statements commit or roll back with
 * it); NULL if that fails. */
sqlite3 *vc_store_db(vc_store *st);

#endif
