/*
 * the card store's cryptography (docs/security.md, "The card store"):
 *
 * - a data key seals every row (XChaCha20-Poly1305, the row's id and the
 *   card serial as associated data) and the store's state record;
 * - a name key turns (applet, key) into the row's id (keyed BLAKE2b), so
 *   the file does not show which values exist;
 * - a MAC key gives each stored row a tag; the state record holds the XOR
 *   of all tags, the row count and a version counter, so a row changed,
 *   added, removed or restored from an older copy is seen at start.
 *
 * The data and name keys are random, made at --init, and wrapped in the
 * seal record under the seal key: a 32-byte key file (or systemd
 * credential), or Argon2id of a passphrase.
 */
#ifndef VC_SEAL_H
#define VC_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wk_card_id.h"

#define VC_SEAL_KEY_LEN 32
#define VC_SEAL_ID_LEN 16
#define VC_SEAL_TAG_LEN 16	/* a row's MAC, and the XOR of them all */
#define VC_SEAL_OVERHEAD (24 + 16)	/* nonce and Poly1305 tag */
#define VC_SEAL_REC_MAX 192
#define VC_SEAL_STATE_LEN (VC_SEAL_OVERHEAD + 8 + 8 + VC_SEAL_TAG_LEN)

enum {
	VC_SEAL_OK = 0,
	VC_SEAL_ERROR = -1,	/* I/O, memory, a key source that does not read */
	VC_SEAL_NOT_FOUND = -2,	/* the key file does not exist */
	VC_SEAL_WRONG = -3,	/* the key does not open the record */
	VC_SEAL_BAD = -4,	/* not a seal record, or a sealed value that does not open */
};

/* the kinds of seal key, first byte of the seal record */
enum {
	VC_SEAL_KIND_KEY = 1,		/* 32 bytes from a file or credential */
	VC_SEAL_KIND_PASSPHRASE = 2,	/* Argon2id */
};

/* where the seal key comes from: a key file, or a passphrase */
typedef struct vc_seal_source {
	const char *file;
	bool create;		/* make the file (0600) when it does not exist */
	bool any_mode;		/* a systemd credential: mode not judged */
	const uint8_t *passphrase;
	size_t passphrase_len;
} vc_seal_source;

typedef struct vc_seal vc_seal;
typedef struct vc_seal_state {
	uint64_t version;	/* commits since --init */
	uint64_t count;		/* rows */
	uint8_t root[VC_SEAL_TAG_LEN];	/* XOR of the rows' tags */
} vc_seal_state;

void vc_seal_free(vc_seal **s);

/*
 * --init: fresh data and name keys wrapped under the source's key into
 * rec. *made tells the caller that a key file was created (to remove it
 * if the store is not). err gets a message on failure.
 */
int vc_seal_create(const vc_seal_source *src, const uint8_t serial[WK_SERIAL_LEN],
    vc_seal **out, uint8_t *rec, size_t *rec_len, bool *made, char *err,
    size_t errlen);
/* start: the keys from the seal record, with the source's key */
int vc_seal_open(const vc_seal_source *src, const uint8_t serial[WK_SERIAL_LEN],
    const uint8_t *rec, size_t rec_len, vc_seal **out, char *err,
    size_t errlen);
/* --rekey: a new data key, the same name key, wrapped under a new source */
int vc_seal_rekey(const vc_seal *old, const vc_seal_source *src,
    vc_seal **out, uint8_t *rec, size_t *rec_len, bool *made, char *err,
    size_t errlen);
/* a store of format 1 (its key file sealed secrets directly) */
int vc_seal_v1_key(const vc_seal_source *src, uint8_t key[VC_SEAL_KEY_LEN],
    char *err, size_t errlen);
/* the kind of a seal record, for messages (0 if unknown) */
int vc_seal_kind(const uint8_t *rec, size_t rec_len);

/* a row's id from its names */
int vc_seal_id(const vc_seal *s, const char *applet, const char *key,
    uint8_t id[VC_SEAL_ID_LEN]);
/* out gets n + VC_SEAL_OVERHEAD bytes */
void vc_seal_row(const vc_seal *s, const uint8_t id[VC_SEAL_ID_LEN],
    const uint8_t *v, size_t n, uint8_t *out);
/* out gets sealed_len - VC_SEAL_OVERHEAD bytes; VC_SEAL_BAD if it does not open */
int vc_seal_unrow(const vc_seal *s, const uint8_t id[VC_SEAL_ID_LEN],
    const uint8_t *sealed, size_t sealed_len, uint8_t *out);
/* the tag of a stored row: MAC of its id and sealed bytes */
void vc_seal_tag(const vc_seal *s, const uint8_t id[VC_SEAL_ID_LEN],
    const uint8_t *sealed, size_t sealed_len, uint8_t tag[VC_SEAL_TAG_LEN]);
void vc_seal_state_seal(const vc_seal *s, const vc_seal_state *st,
    uint8_t out[VC_SEAL_STATE_LEN]);
int vc_seal_state_open(const vc_seal *s, const uint8_t *in, size_t len,
    vc_seal_state *st);

#endif
