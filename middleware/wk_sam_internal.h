/*
 * the software SAM's internals (wk_sam.c: the file, opening and creating;
 * wk_sam_json.c: its strict JSON reader and the master keys;
 * wk_sam_txn.c: the MACs, the in-flight record, the journal)
 */
#ifndef WK_SAM_INTERNAL_H
#define WK_SAM_INTERNAL_H

#include "wk_purse_internal.h"

#include "wk_purse_crypto.h"

#define SAM_FILE_MAX 8192u
#define JSON_FIELDS_MAX 64u
#define N_KEYS 5
/* terminal numbers reserved by one durable write (docs/wallet.md "The
 * counter"): a crash skips at most this many less one, never repeats one */
#define COUNTER_BLOCK 100u

enum { K_DLK, K_DPK, K_DTK, K_DULK, K_DUK };
extern const char *const wk_sam_key_names[N_KEYS];	/* "dlk", ... */

struct wk_sam {
	char *path;
	int lock_fd;
	uint8_t (*keys)[WK_PURSE_KEY_LEN];	/* sodium_malloc: locked, guarded */
	uint8_t algs[N_KEYS];	/* the algorithm of the card keys each makes */
	uint8_t terminal[WK_PURSE_TERM_ID_LEN];
	uint8_t key_index;
	bool diversify;		/* false: the keys are one card's keys (tests, vectors) */
	uint32_t counter;	/* the last number used */
	uint32_t reserved;	/* numbers up to this one may have been used */
	bool dirty;		/* journaled since the last durable write */
	uint64_t gen;		/* every write of the last transaction counts */
	int jfd;		/* PATH.inflight, opened at the first write */
	bool opened;		/* read whole: only then is it written back */
	bool has_last;
	wk_purse_txn last;
	bool is_psam;		/* the keys and the counter are a PSAM's */
	wk_card *psam;		/* that PSAM card (not owned) */
	uint8_t psam_id[8];
};

typedef struct jfield {
	char name[48];		/* "counter", "keys.dlk", "last.amount" */
	bool is_str;
	const char *str;	/* into the caller's buffer, not NUL-terminated */
	size_t len;
	uint64_t num;
} jfield;

typedef struct jdoc {
	jfield f[JSON_FIELDS_MAX];
	size_t n;
} jdoc;

/* parses the flat JSON object s into d (fields point into s) */
int wk_sam_json_parse(const char *s, size_t len, jdoc *d);
/* the field name of d, or NULL */
const jfield *wk_sam_json_get(const jdoc *d, const char *name);
/* exactly n bytes of hex in the string field name */
int wk_sam_json_hex(const jdoc *d, const char *name, uint8_t *out, size_t n);
/* the number field name, at most max */
int wk_sam_json_uint(const jdoc *d, const char *name, uint64_t max,
    uint64_t *v);
/* the five keys under prefix ("keys." or "") */
int wk_sam_parse_keys(const jdoc *d, const char *prefix,
    uint8_t keys[N_KEYS][WK_PURSE_KEY_LEN], uint8_t algs[N_KEYS]);
/* a file of at most SAM_FILE_MAX bytes, in memory the caller wipes */
int wk_sam_read_file(const char *path, char **out, size_t *len);
/* writes the SAM file (exclusive: a new one; durable: fsync'ed) */
int wk_sam_store(const wk_sam *sam, const char *path, bool exclusive,
    bool durable);
/* PATH.inflight */
char *wk_sam_infl_path(const wk_sam *sam);
/* the in-flight record of the last transaction, when there is one */
void wk_sam_infl_read(wk_sam *sam);

#endif
