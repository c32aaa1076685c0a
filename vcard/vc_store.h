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
 * Values are blobs under (applet, key). Every value is sealed
 * (XChaCha20-Poly1305) under the store's data key, which the seal key
 * wraps; the file shows neither values nor names, and a store changed
 * outside the card does not start (vc_seal.h, docs/security.md "The card
 * store"). The _secret variants mark values that are secrets to the
 * reader of the applet; they are stored the same way.
 */
#ifndef VC_STORE_H
#define VC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wk_buf.h"

typedef struct vc_store vc_store;

/* where the seal key comes from; NULL for the default, the key file
 * walletkey-seal.key beside the store (created at --init when missing) */
typedef struct vc_store_key {
	const char *file;	/* a 32-byte key file, or a systemd credential */
	/* file is a systemd credential: its directory is the unit's own and
	 * systemd grants the read with an ACL, so its mode bits are not judged */
	bool credential;
	const uint8_t *passphrase;	/* or a passphrase (Argon2id) */
	size_t passphrase_len;
} vc_store_key;

enum {
	VC_STORE_OK = 0,
	VC_STORE_NOT_FOUND = -1,
	VC_STORE_ERROR = -2,	/* I/O or database failure */
	VC_STORE_CORRUPT = -3,	/* not a walletkey store, a wrong key, or tampered with */
	VC_STORE_EXISTS = -4,
};

/* creates FILE (refuses to overwrite) with a fresh card id and keys */
int vc_store_create(const char *path, const vc_store_key *key, vc_store **out);
/* opens and checks the whole store; a store of format 1 is upgraded */
int vc_store_open(const char *path, const vc_store_key *key, vc_store **out);
/* seals the store under another seal key, with a new data key */
int vc_store_rekey(vc_store *st, const vc_store_key *key);
void vc_store_free(vc_store **st);
/* with st NULL: why the last vc_store_create/open failed */
const char *vc_store_errmsg(const vc_store *st);
/* the card serial fixed at create (8 bytes, WK_SERIAL_LEN) */
const uint8_t *vc_store_serial(const vc_store *st);
/* commits since create: the store's version counter */
uint64_t vc_store_version(const vc_store *st);
/* the content's digest: equal digests, the same stored rows (tests) */
void vc_store_digest(const vc_store *st, uint8_t out[32]);

int vc_store_begin(vc_store *st);
int vc_store_commit(vc_store *st);
void vc_store_abort(vc_store *st);	/* roll back what this command wrote */
int vc_store_checkpoint(vc_store *st);	/* commit now and continue in a new transaction */

/*
 * many reads in one database read transaction (an audit page reads 255
 * rows: each read on its own takes and checks the database's lock, a
 * syscall, every time). Returns true when it opened one, to hand to
 * vc_store_read_end; false when one is open already (or cannot be: the
 * reads then go on one by one). A write in between ends it first.
 */
bool vc_store_read_begin(vc_store *st);
void vc_store_read_end(vc_store *st, bool began);

int vc_store_get(vc_store *st, const char *applet, const char *key, wk_buf *out);
int vc_store_put(vc_store *st, const char *applet, const char *key,
    const uint8_t *v, size_t n);
int vc_store_del(vc_store *st, const char *applet, const char *key);
int vc_store_get_secret(vc_store *st, const char *applet, const char *key,
    wk_buf *out);
int vc_store_put_secret(vc_store *st, const char *applet, const char *key,
    const uint8_t *v, size_t n);
/* a value of exactly len bytes (at most VC_STORE_FIXED_MAX) into out, from
 * the sealed secrets when secret; another length is VC_STORE_CORRUPT */
#define VC_STORE_FIXED_MAX 256
int vc_store_get_fixed(vc_store *st, const char *applet, const char *key,
    uint8_t *out, size_t len, bool secret);
/* integers, big-endian 8 bytes underneath */
int vc_store_get_u64(vc_store *st, const char *applet, const char *key, uint64_t *v);
int vc_store_put_u64(vc_store *st, const char *applet, const char *key, uint64_t v);

#endif
