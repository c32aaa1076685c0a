/*
 * the terminal's SAM, two ways (docs/wallet.md):
 *  - a PSAM card (wk_sam_open_psam): the card holds the purchase master key
 *    and the terminal counter and computes inside; the host file is only
 *    the terminal journal ("walletkey-terminal": the last transaction, for
 *    recovery);
 *  - the software SAM of tests and the demo (wk_sam_open): the issuer's
 *    master keys, the terminal id and the counter in one JSON file, behind
 *    the CLI's --insecure-master-keys. That file holds secrets, so it is
 *    read and written here with a small strict reader over a buffer we wipe
 *    (no copies left in a JSON library's heap).
 */
#include "wk_purse_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_hex.h"
#include "wk_purse_crypto.h"

#define SAM_FILE_MAX 8192u
#define JSON_FIELDS_MAX 64u
#define N_KEYS 5
/* terminal numbers reserved by one durable write (docs/wallet.md "The
 * counter"): a crash skips at most this many less one, never repeats one */
#define COUNTER_BLOCK 100u

enum { K_DLK, K_DPK, K_DTK, K_DULK, K_DUK };
static const char *const key_names[N_KEYS] = { "dlk", "dpk", "dtk", "dulk", "duk" };

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

/* ---- a strict reader for flat JSON objects with one level of nesting ---- */

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

static void
skip_ws(const char *s, size_t len, size_t *i)
{
	while (*i < len && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' ||
	    s[*i] == '\r'))
		(*i)++;
}

/* a string without escapes or control characters */
static int
read_str(const char *s, size_t len, size_t *i, const char **out, size_t *olen)
{
	size_t j;

	if (*i >= len || s[*i] != '"')
		return -1;
	for (j = *i + 1; j < len && s[j] != '"'; j++)
		if (s[j] == '\\' || (unsigned char)s[j] < 0x20)
			return -1;
	if (j >= len)
		return -1;
	*out = s + *i + 1;
	*olen = j - *i - 1;
	*i = j + 1;
	return 0;
}

static int
parse_object(const char *s, size_t len, size_t *i, const char *prefix,
    unsigned depth, jdoc *d)
{
	const char *name;
	size_t nlen, k;
	jfield *f;

	skip_ws(s, len, i);
	if (*i >= len || s[*i] != '{')
		return -1;
	(*i)++;
	skip_ws(s, len, i);
	if (*i < len && s[*i] == '}') {
		(*i)++;
		return 0;
	}
	for (;;) {
		skip_ws(s, len, i);
		if (read_str(s, len, i, &name, &nlen) != 0)
			return -1;
		skip_ws(s, len, i);
		if (*i >= len || s[*i] != ':')
			return -1;
		(*i)++;
		skip_ws(s, len, i);
		if (*i >= len || d->n >= JSON_FIELDS_MAX)
			return -1;
		f = &d->f[d->n];
		memset(f, 0, sizeof(*f));
		if (strlen(prefix) + nlen + 2 > sizeof(f->name))
			return -1;
		if (snprintf(f->name, sizeof(f->name), "%s%s%.*s", prefix,
		    *prefix ? "." : "", (int)nlen, name) < 0)
			return -1;
		for (k = 0; k < d->n; k++)
			if (strcmp(d->f[k].name, f->name) == 0)
				return -1;	/* duplicate */
		if (s[*i] == '"') {
			f->is_str = true;
			if (read_str(s, len, i, &f->str, &f->len) != 0)
				return -1;
			d->n++;
		} else if (s[*i] >= '0' && s[*i] <= '9') {
			if (s[*i] == '0' && *i + 1 < len && s[*i + 1] >= '0' &&
			    s[*i + 1] <= '9')
				return -1;
			while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
				if (f->num > (UINT64_MAX - 9) / 10)
					return -1;
				f->num = f->num * 10 + (uint64_t)(s[*i] - '0');
				(*i)++;
			}
			d->n++;
		} else if (s[*i] == '{' && depth == 0) {
			char sub[48];

			snprintf(sub, sizeof(sub), "%s", f->name);
			if (parse_object(s, len, i, sub, depth + 1, d) != 0)
				return -1;
		} else {
			return -1;
		}
		skip_ws(s, len, i);
		if (*i < len && s[*i] == ',') {
			(*i)++;
			continue;
		}
		if (*i < len && s[*i] == '}') {
			(*i)++;
			return 0;
		}
		return -1;
	}
}

static int
json_parse(const char *s, size_t len, jdoc *d)
{
	size_t i = 0;

	d->n = 0;
	if (parse_object(s, len, &i, "", 0, d) != 0)
		return -1;
	skip_ws(s, len, &i);
	return i == len ? 0 : -1;
}

static const jfield *
json_get(const jdoc *d, const char *name)
{
	size_t k;

	for (k = 0; k < d->n; k++)
		if (strcmp(d->f[k].name, name) == 0)
			return &d->f[k];
	return NULL;
}

/* a string field of exactly n bytes in hex */
static int
json_hex(const jdoc *d, const char *name, uint8_t *out, size_t n)
{
	const jfield *f = json_get(d, name);
	char tmp[2 * WK_PURSE_KEY_LEN + 1];
	size_t k;
	int rc = -1;

	if (f == NULL || !f->is_str || f->len != 2 * n || f->len >= sizeof(tmp))
		goto out;
	for (k = 0; k < f->len; k++)
		if (!((f->str[k] >= '0' && f->str[k] <= '9') ||
		    (f->str[k] >= 'a' && f->str[k] <= 'f') ||
		    (f->str[k] >= 'A' && f->str[k] <= 'F')))
			goto out;
	memcpy(tmp, f->str, f->len);
	tmp[f->len] = '\0';
	if (wk_hex_decode(tmp, out, n) != (long)n)
		goto out;
	rc = 0;
out:
	sodium_memzero(tmp, sizeof(tmp));
	return rc;
}

static int
json_uint(const jdoc *d, const char *name, uint64_t max, uint64_t *v)
{
	const jfield *f = json_get(d, name);

	if (f == NULL || f->is_str || f->num > max)
		return -1;
	*v = f->num;
	return 0;
}

/* reads a whole small file into a buffer the caller wipes and frees */
static int
read_file(const char *path, char **out, size_t *len)
{
	FILE *fp = NULL;
	char *buf = NULL;
	size_t n;
	int rc = WK_ERR_IO;

	*out = NULL;
	if ((fp = fopen(path, "rb")) == NULL)
		goto out;
	if ((buf = sodium_malloc(SAM_FILE_MAX)) == NULL) {
		rc = WK_ERR_MEMORY;
		goto out;
	}
	n = fread(buf, 1, SAM_FILE_MAX, fp);
	if (ferror(fp))
		goto out;
	rc = WK_ERR_ARG;
	if (n == SAM_FILE_MAX)	/* too big for what it should hold */
		goto out;
	*out = buf;
	*len = n;
	buf = NULL;
	rc = WK_OK;
out:
	if (buf != NULL)
		sodium_free(buf);
	if (fp != NULL)
		fclose(fp);
	return rc;
}

/* "algorithms": {"dpk": "sm4", ...}: optional, each key 3DES unless it
 * names it; no other member */
static int
parse_algs(const jdoc *d, const char *prefix, uint8_t algs[N_KEYS])
{
	char name[48], want[48];
	size_t k, n = 0, named = 0;

	snprintf(want, sizeof(want), "%salgorithms.", prefix);
	for (k = 0; k < d->n; k++)
		if (strncmp(d->f[k].name, want, strlen(want)) == 0)
			n++;
	for (k = 0; k < N_KEYS; k++) {
		const jfield *f;
		char v[8];

		algs[k] = WK_PURSE_ALG_3DES;
		snprintf(name, sizeof(name), "%s%s", want, key_names[k]);
		if ((f = json_get(d, name)) == NULL)
			continue;
		if (!f->is_str || f->len >= sizeof(v))
			return -1;
		memcpy(v, f->str, f->len);
		v[f->len] = '\0';
		if (wk_purse_alg_parse(v, &algs[k]) != 0)
			return -1;
		named++;
	}
	return named == n ? 0 : -1;	/* a member that names no key */
}

static int
parse_keys(const jdoc *d, const char *prefix, uint8_t keys[N_KEYS][WK_PURSE_KEY_LEN],
    uint8_t algs[N_KEYS])
{
	char name[32];
	size_t k;

	for (k = 0; k < N_KEYS; k++) {
		snprintf(name, sizeof(name), "%s%s", prefix, key_names[k]);
		if (json_hex(d, name, keys[k], WK_PURSE_KEY_LEN) != 0)
			return -1;
	}
	return parse_algs(d, "", algs);
}

int
wk_purse_parse_master_keys(const char *text, size_t len, uint8_t keys[5][16],
    uint8_t algs[5])
{
	jdoc *d = NULL;
	int rc = WK_ERR_ARG;

	if ((text == NULL && len > 0) || keys == NULL || algs == NULL)
		goto out;
	rc = WK_ERR_MEMORY;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto out;
	rc = WK_ERR_ARG;
	if (json_parse(text, len, d) != 0 || parse_keys(d, "", keys, algs) != 0) {
		sodium_memzero(keys, 5 * 16);
		goto out;
	}
	rc = WK_OK;
out:
	if (d != NULL) {
		sodium_memzero(d, sizeof(*d));
		free(d);
	}
	return rc;
}

int
wk_purse_read_master_keys(const char *path, uint8_t keys[5][16],
    uint8_t algs[5])
{
	char *buf = NULL;
	size_t len = 0;
	int rc = WK_ERR_ARG;

	if (path == NULL || keys == NULL || algs == NULL)
		goto out;
	if ((rc = read_file(path, &buf, &len)) != WK_OK)
		goto out;
	rc = wk_purse_parse_master_keys(buf, len, keys, algs);
out:
	if (buf != NULL)
		sodium_free(buf);
	return rc;
}

int
wk_purse_derive_key(uint8_t alg, const uint8_t mk[16],
    const uint8_t serial[WK_PURSE_SERIAL_LEN], uint8_t dk[16])
{
	if (mk == NULL || serial == NULL || dk == NULL ||
	    !wk_purse_alg_valid(alg))
		return WK_ERR_ARG;
	if (wk_purse_diversify(alg, mk, serial, WK_PURSE_SERIAL_LEN, dk) !=
	    WK_PURSE_CRYPTO_OK)
		return WK_ERR_CRYPTO;
	return WK_OK;
}

/* ---- the file ---- */

static const char *
state_name(wk_purse_txn_state s)
{
	switch (s) {
	case WK_PURSE_TXN_PREPARED:
		return "prepared";
	case WK_PURSE_TXN_SENT:
		return "sent";
	case WK_PURSE_TXN_DONE:
		return "done";
	case WK_PURSE_TXN_NOT_DONE:
		return "not-done";
	default:
		return "none";
	}
}

static wk_purse_txn_state
state_of(const char *s, size_t len)
{
	static const wk_purse_txn_state all[] = { WK_PURSE_TXN_PREPARED,
	    WK_PURSE_TXN_SENT, WK_PURSE_TXN_DONE, WK_PURSE_TXN_NOT_DONE };
	size_t k;

	for (k = 0; k < sizeof(all) / sizeof(all[0]); k++)
		if (strlen(state_name(all[k])) == len &&
		    memcmp(state_name(all[k]), s, len) == 0)
			return all[k];
	return WK_PURSE_TXN_NONE;
}

static void
put_hex(FILE *fp, const char *name, const uint8_t *p, size_t n, bool comma)
{
	char h[2 * WK_PURSE_KEY_LEN + 1];

	wk_hex_encode(p, n, h);
	fprintf(fp, "\"%s\": \"%s\"%s", name, h, comma ? ", " : "");
	sodium_memzero(h, sizeof(h));
}

/* the whole file text into buf (wiped by the caller) */
static int
render(const wk_sam *sam, char *buf, size_t cap, size_t *len)
{
	FILE *fp;
	const wk_purse_txn *t = &sam->last;
	size_t k;
	long pos;

	if ((fp = fmemopen(buf, cap, "w")) == NULL)
		return WK_ERR_MEMORY;
	setvbuf(fp, NULL, _IONBF, 0);
	if (sam->is_psam) {
		/* the terminal journal: no key, no counter (both in the PSAM) */
		fprintf(fp, "{\n  \"format\": \"walletkey-terminal\",\n"
		    "  \"version\": 1,\n  ");
		put_hex(fp, "terminal", sam->terminal, sizeof(sam->terminal), true);
		fprintf(fp, "\n  ");
		put_hex(fp, "psam", sam->psam_id, sizeof(sam->psam_id), false);
	} else {
		fprintf(fp, "{\n  \"format\": \"walletkey-sam\",\n"
		    "  \"version\": 1,\n");
		fprintf(fp, "  ");
		put_hex(fp, "terminal", sam->terminal, sizeof(sam->terminal), true);
		fprintf(fp, "\n  \"key_index\": %u,\n  \"diversify\": %u,\n"
		    "  \"counter\": %" PRIu32 ",\n  \"reserved\": %" PRIu32 ",\n",
		    sam->key_index, sam->diversify ? 1u : 0u, sam->counter,
		    sam->reserved);
		fprintf(fp, "  \"keys\": {\n");
		for (k = 0; k < N_KEYS; k++) {
			fprintf(fp, "    ");
			put_hex(fp, key_names[k], sam->keys[k], WK_PURSE_KEY_LEN,
			    false);
			fprintf(fp, "%s\n", k + 1 < N_KEYS ? "," : "");
		}
		fprintf(fp, "  },\n  \"algorithms\": {");
		for (k = 0; k < N_KEYS; k++)
			fprintf(fp, "\"%s\": \"%s\"%s", key_names[k],
			    wk_purse_alg_name(sam->algs[k]), k + 1 < N_KEYS ?
			    ", " : "");
		fprintf(fp, "}");
	}
	fprintf(fp, ",\n  \"journal\": %" PRIu64, sam->gen);
	if (sam->has_last) {
		fprintf(fp, ",\n  \"last\": {\"state\": \"%s\", \"type\": %u, "
		    "\"key_index\": %u, \"amount\": %" PRIu32 ", ",
		    state_name(t->state), t->type, t->key_index, t->amount);
		put_hex(fp, "serial", t->serial, sizeof(t->serial), true);
		put_hex(fp, "terminal", t->terminal, sizeof(t->terminal), true);
		put_hex(fp, "term_seq", t->term_seq, sizeof(t->term_seq), true);
		put_hex(fp, "date", t->date, sizeof(t->date), true);
		put_hex(fp, "time", t->time, sizeof(t->time), true);
		fprintf(fp, "\"old_balance\": %" PRIu32 ", \"card_seq\": %u, "
		    "\"key_version\": %u, \"alg\": %u, ", t->old_balance,
		    t->card_seq, t->key_version, t->alg);
		put_hex(fp, "random", t->random, sizeof(t->random), true);
		put_hex(fp, "mac1", t->mac1, sizeof(t->mac1), true);
		put_hex(fp, "mac2", t->mac2, sizeof(t->mac2), false);
		fprintf(fp, "}");
	}
	fprintf(fp, "\n}\n");
	pos = ftell(fp);
	if (ferror(fp) || pos < 0 || (size_t)pos >= cap) {
		fclose(fp);
		return WK_ERR_INTERNAL;
	}
	fclose(fp);
	*len = (size_t)pos;
	return WK_OK;
}

static int
fsync_dir(const char *path)
{
	char *dup = strdup(path), *slash;
	int fd, rc = WK_ERR_IO;

	if (dup == NULL)
		return WK_ERR_MEMORY;
	slash = strrchr(dup, '/');
	if (slash == NULL)
		fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else {
		if (slash == dup)
			slash[1] = '\0';
		else
			*slash = '\0';
		fd = open(dup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd >= 0) {
		if (fsync(fd) == 0)
			rc = WK_OK;
		close(fd);
	}
	free(dup);
	return rc;
}

/*
 * write-temp-rename: after a crash of the process the file holds either the
 * old or the new content. durable adds fsync of the file and of its folder
 * (write-temp-fsync-rename): then the content also survives a power loss.
 * With exclusive, the final name must not exist yet.
 */
static int
store(const wk_sam *sam, const char *path, bool exclusive, bool durable)
{
	char *buf = NULL, *tmp = NULL;
	size_t len = 0, off = 0;
	ssize_t w;
	int fd = -1, rc = WK_ERR_MEMORY;

	if ((buf = sodium_malloc(SAM_FILE_MAX)) == NULL)
		goto out;
	if ((tmp = malloc(strlen(path) + 8)) == NULL)
		goto out;
	sprintf(tmp, "%s.tmp", path);
	if ((rc = render(sam, buf, SAM_FILE_MAX, &len)) != WK_OK)
		goto out;
	rc = WK_ERR_IO;
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		goto out;
	while (off < len) {
		w = write(fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	if ((durable && fsync(fd) != 0) || close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (exclusive) {
		/* link() refuses an existing name: never overwrite a SAM */
		if (link(tmp, path) != 0) {
			rc = errno == EEXIST ? WK_ERR_ARG : WK_ERR_IO;
			goto out;
		}
		(void)unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		goto out;
	}
	rc = durable ? fsync_dir(path) : WK_OK;
out:
	if (fd >= 0)
		close(fd);
	if (rc != WK_OK && tmp != NULL)
		(void)unlink(tmp);
	free(tmp);
	if (buf != NULL)
		sodium_free(buf);
	return rc;
}

static int
parse_last(const jdoc *d, wk_purse_txn *t)
{
	const jfield *st = json_get(d, "last.state");
	uint64_t v;

	memset(t, 0, sizeof(*t));
	if (st == NULL || !st->is_str ||
	    (t->state = state_of(st->str, st->len)) == WK_PURSE_TXN_NONE)
		return -1;
	if (json_uint(d, "last.type", 0xFF, &v) != 0)
		return -1;
	t->type = (uint8_t)v;
	if (json_uint(d, "last.key_index", 0xFF, &v) != 0)
		return -1;
	t->key_index = (uint8_t)v;
	if (json_uint(d, "last.amount", UINT32_MAX, &v) != 0)
		return -1;
	t->amount = (uint32_t)v;
	if (json_uint(d, "last.old_balance", UINT32_MAX, &v) != 0)
		return -1;
	t->old_balance = (uint32_t)v;
	if (json_uint(d, "last.card_seq", 0xFFFF, &v) != 0)
		return -1;
	t->card_seq = (uint16_t)v;
	if (json_uint(d, "last.key_version", 0xFF, &v) != 0)
		return -1;
	t->key_version = (uint8_t)v;
	if (json_uint(d, "last.alg", 0xFF, &v) != 0)
		return -1;
	t->alg = (uint8_t)v;
	if (json_hex(d, "last.serial", t->serial, sizeof(t->serial)) != 0 ||
	    json_hex(d, "last.terminal", t->terminal, sizeof(t->terminal)) != 0 ||
	    json_hex(d, "last.term_seq", t->term_seq, sizeof(t->term_seq)) != 0 ||
	    json_hex(d, "last.date", t->date, sizeof(t->date)) != 0 ||
	    json_hex(d, "last.time", t->time, sizeof(t->time)) != 0 ||
	    json_hex(d, "last.random", t->random, sizeof(t->random)) != 0 ||
	    json_hex(d, "last.mac1", t->mac1, sizeof(t->mac1)) != 0 ||
	    json_hex(d, "last.mac2", t->mac2, sizeof(t->mac2)) != 0)
		return -1;
	return 0;
}

static char *infl_path(const wk_sam *sam);
static void infl_read(wk_sam *sam);

static wk_sam *
sam_alloc(void)
{
	wk_sam *sam;

	if (sodium_init() < 0)
		return NULL;
	if ((sam = calloc(1, sizeof(*sam))) == NULL)
		return NULL;
	sam->lock_fd = -1;
	sam->jfd = -1;
	sam->key_index = 1;
	sam->diversify = true;
	if ((sam->keys = sodium_malloc(N_KEYS * WK_PURSE_KEY_LEN)) == NULL) {
		free(sam);
		return NULL;
	}
	sodium_memzero(sam->keys, N_KEYS * WK_PURSE_KEY_LEN);
	return sam;
}

void
wk_sam_free(wk_sam **samp)
{
	wk_sam *sam;

	if (samp == NULL || (sam = *samp) == NULL)
		return;
	/* a clean close: the numbers reserved and not used go back (the
	 * lock still held), and what was written since is made durable */
	if (sam->opened && sam->path != NULL && sam->lock_fd >= 0 &&
	    (sam->dirty || sam->reserved > sam->counter)) {
		uint32_t res = sam->reserved;
		char *ip;

		if (!sam->is_psam)
			sam->reserved = sam->counter;
		if (store(sam, sam->path, false, true) != WK_OK) {
			sam->reserved = res;	/* the next open skips them */
		} else if ((ip = infl_path(sam)) != NULL) {
			(void)unlink(ip);	/* the file holds it all now */
			free(ip);
		}
	}
	if (sam->jfd >= 0)
		close(sam->jfd);
	if (sam->keys != NULL)
		sodium_free(sam->keys);	/* wipes */
	if (sam->lock_fd >= 0)
		close(sam->lock_fd);	/* releases the lock */
	if (sam->psam != NULL)
		(void)wk_card_end(sam->psam);
	free(sam->path);
	sodium_memzero(sam, sizeof(*sam));
	free(sam);
	*samp = NULL;
}

/* a terminal journal's content into sam (a PSAM's: sam->terminal and
 * sam->psam_id are set and must match) */
static int
parse_terminal(wk_sam *sam, const jdoc *d)
{
	uint8_t term[6], id[8];

	if (json_hex(d, "terminal", term, sizeof(term)) != 0 ||
	    json_hex(d, "psam", id, sizeof(id)) != 0 ||
	    memcmp(term, sam->terminal, sizeof(term)) != 0)
		return -1;
	/* another PSAM card for this terminal id cannot be (one PSAM per
	 * terminal, docs/issuer.md): refuse a journal that names another */
	if (memcmp(id, sam->psam_id, sizeof(id)) != 0)
		return -1;
	if (json_get(d, "last.state") != NULL) {
		if (parse_last(d, &sam->last) != 0)
			return -1;
		sam->has_last = true;
	}
	return 0;
}

/* the file's content into sam (which keeps its path and lock) */
static int
parse_into(wk_sam *sam, const char *buf, size_t len)
{
	jdoc *d = NULL;
	const jfield *fmt;
	const char *want = sam->is_psam ? "walletkey-terminal" : "walletkey-sam";
	uint64_t v;
	int rc = WK_ERR_MEMORY;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto out;
	rc = WK_ERR_ARG;
	if (json_parse(buf, len, d) != 0)
		goto out;
	fmt = json_get(d, "format");
	if (fmt == NULL || !fmt->is_str || fmt->len != strlen(want) ||
	    memcmp(fmt->str, want, fmt->len) != 0 ||
	    json_uint(d, "version", 1, &v) != 0 || v != 1)
		goto out;
	if (json_get(d, "journal") != NULL) {
		if (json_uint(d, "journal", UINT64_MAX, &v) != 0)
			goto out;
		sam->gen = v;
	}
	if (sam->is_psam) {
		if (parse_terminal(sam, d) != 0)
			goto out;
		rc = WK_OK;
		goto out;
	}
	if (json_hex(d, "terminal", sam->terminal, sizeof(sam->terminal)) != 0 ||
	    json_uint(d, "key_index", 0xFF, &v) != 0)
		goto out;
	sam->key_index = (uint8_t)v;
	if (json_get(d, "diversify") != NULL) {
		if (json_uint(d, "diversify", 1, &v) != 0)
			goto out;
		sam->diversify = v == 1;
	}
	if (json_uint(d, "counter", UINT32_MAX, &v) != 0)
		goto out;
	sam->counter = (uint32_t)v;
	/* numbers up to "reserved" may have been used (a file without it, or
	 * closed cleanly, has reserved = counter); one below is damage */
	sam->reserved = sam->counter;
	if (json_get(d, "reserved") != NULL) {
		if (json_uint(d, "reserved", UINT32_MAX, &v) != 0 ||
		    v < sam->counter)
			goto out;
		sam->reserved = (uint32_t)v;
	}
	if (parse_keys(d, "keys.", sam->keys, sam->algs) != 0)
		goto out;
	if (json_get(d, "last.state") != NULL) {
		if (parse_last(d, &sam->last) != 0)
			goto out;
		sam->has_last = true;
	}
	rc = WK_OK;
out:
	if (d != NULL) {
		sodium_memzero(d, sizeof(d[0]));
		free(d);
	}
	return rc;
}

int
wk_sam_parse(const char *text, size_t len, wk_sam **out)
{
	wk_sam *sam = NULL;
	int rc = WK_ERR_ARG;

	if (out == NULL || (text == NULL && len > 0))
		goto out;
	*out = NULL;
	rc = WK_ERR_MEMORY;
	if ((sam = sam_alloc()) == NULL)
		goto out;
	if ((rc = parse_into(sam, text, len)) != WK_OK)
		goto out;
	*out = sam;
	sam = NULL;
out:
	wk_sam_free(&sam);
	return rc;
}

int
wk_sam_open(const char *path, wk_sam **out)
{
	wk_sam *sam = NULL;
	char *buf = NULL, *lock = NULL;
	size_t len = 0;
	int rc = WK_ERR_ARG;

	if (out == NULL)
		goto out;
	*out = NULL;
	if (path == NULL)
		goto out;
	rc = WK_ERR_MEMORY;
	if ((sam = sam_alloc()) == NULL || (sam->path = strdup(path)) == NULL ||
	    (lock = malloc(strlen(path) + 8)) == NULL)
		goto out;
	/* one process at a time: terminal sequence numbers must never repeat */
	sprintf(lock, "%s.lock", path);
	rc = WK_ERR_IO;
	if ((sam->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(sam->lock_fd, LOCK_EX) != 0)
		goto out;
	if ((rc = read_file(path, &buf, &len)) != WK_OK)
		goto out;
	if ((rc = parse_into(sam, buf, len)) != WK_OK)
		goto out;
	/* not closed cleanly: any number up to the reservation may have left
	 * with a MAC1, so the next one is after it */
	sam->counter = sam->reserved;
	infl_read(sam);
	sam->opened = true;
	*out = sam;
	sam = NULL;
out:
	if (buf != NULL)
		sodium_free(buf);
	free(lock);
	wk_sam_free(&sam);
	return rc;
}

int
wk_sam_parse_journal(const char *text, size_t len, const uint8_t terminal[6],
    const uint8_t psam_id[8], wk_sam **out)
{
	wk_sam *sam = NULL;
	int rc = WK_ERR_ARG;

	if (out == NULL || terminal == NULL || psam_id == NULL ||
	    (text == NULL && len > 0))
		goto out;
	*out = NULL;
	rc = WK_ERR_MEMORY;
	if ((sam = sam_alloc()) == NULL)
		goto out;
	sam->is_psam = true;
	sam->key_index = 1;
	memcpy(sam->terminal, terminal, sizeof(sam->terminal));
	memcpy(sam->psam_id, psam_id, sizeof(sam->psam_id));
	if ((rc = parse_into(sam, text, len)) != WK_OK)
		goto out;
	*out = sam;
	sam = NULL;
out:
	wk_sam_free(&sam);
	return rc;
}

int
wk_sam_open_psam(wk_card *psam, const char *path, wk_sam **out)
{
	wk_sam *sam = NULL;
	wk_psam_info info;
	wk_card_info ci;
	char *buf = NULL, *lock = NULL;
	size_t len = 0;
	bool begun = false;
	int rc = WK_ERR_ARG;

	if (out == NULL)
		goto out;
	*out = NULL;
	if (psam == NULL || path == NULL)
		goto out;
	rc = WK_ERR_MEMORY;
	if ((sam = sam_alloc()) == NULL || (sam->path = strdup(path)) == NULL ||
	    (lock = malloc(strlen(path) + 8)) == NULL)
		goto out;
	sprintf(lock, "%s.lock", path);
	rc = WK_ERR_IO;
	if ((sam->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(sam->lock_fd, LOCK_EX) != 0)
		goto out;
	/* the PSAM stays ours (one PC/SC transaction) while the SAM is open */
	if ((rc = wk_card_begin(psam)) != WK_OK)
		goto out;
	begun = true;
	if ((rc = wk_card_get_info(psam, &ci)) != WK_OK ||
	    (rc = wk_psam_select(psam)) != WK_OK ||
	    (rc = wk_psam_get_info(psam, &info)) != WK_OK)
		goto out;
	if (info.state != WK_PSAM_INSTALLED) {
		rc = WK_ERR_CONDITIONS;	/* not provisioned by the issuer yet */
		goto out;
	}
	memcpy(sam->terminal, info.terminal, sizeof(sam->terminal));
	memcpy(sam->psam_id, ci.serial, sizeof(sam->psam_id));
	sam->counter = info.counter;
	sam->key_index = 1;
	sam->is_psam = true;
	sam->psam = psam;
	begun = false;		/* wk_sam_free ends it now */
	rc = read_file(path, &buf, &len);
	if (rc == WK_ERR_IO && access(path, F_OK) != 0)
		rc = store(sam, path, true, true);
	else if (rc == WK_OK && (rc = parse_into(sam, buf, len)) == WK_OK)
		infl_read(sam);
	if (rc != WK_OK)
		goto out;
	sam->opened = true;
	*out = sam;
	sam = NULL;
out:
	if (begun)
		(void)wk_card_end(psam);
	if (buf != NULL)
		sodium_free(buf);
	free(lock);
	wk_sam_free(&sam);
	return rc;
}

int
wk_sam_create(const char *path, const char *master_keys_path,
    const uint8_t terminal[6])
{
	wk_sam *sam = NULL;
	int rc = WK_ERR_ARG;

	if (path == NULL || master_keys_path == NULL || terminal == NULL)
		goto out;
	rc = WK_ERR_MEMORY;
	if ((sam = sam_alloc()) == NULL)
		goto out;
	if ((rc = wk_purse_read_master_keys(master_keys_path, sam->keys,
	    sam->algs)) != WK_OK)
		goto out;
	memcpy(sam->terminal, terminal, sizeof(sam->terminal));
	rc = store(sam, path, true, true);
out:
	wk_sam_free(&sam);
	return rc;
}

void
wk_sam_terminal(const wk_sam *sam, uint8_t terminal[6])
{
	memcpy(terminal, sam->terminal, sizeof(sam->terminal));
}

uint32_t
wk_sam_counter(const wk_sam *sam)
{
	return sam->counter;
}

uint8_t
wk_sam_key_index(const wk_sam *sam)
{
	return sam->key_index;
}

int
wk_sam_last(const wk_sam *sam, wk_purse_txn *txn)
{
	if (sam == NULL || txn == NULL)
		return WK_ERR_ARG;
	if (!sam->has_last)
		return WK_ERR_NOT_FOUND;
	*txn = sam->last;
	return WK_OK;
}

/* ---- cryptography, all through common/wk_purse_crypto ---- */

static bool
is_load(uint8_t type)
{
	return type == WK_PURSE_TT_ED_LOAD || type == WK_PURSE_TT_EP_LOAD;
}

static bool
is_purchase(uint8_t type)
{
	return type == WK_PURSE_TT_ED_PURCHASE || type == WK_PURSE_TT_EP_PURCHASE;
}

/* the card's key for this transaction, diversified by its serial */
static int
card_key(const wk_sam *sam, unsigned which, const wk_purse_txn *t,
    uint8_t dk[WK_PURSE_KEY_LEN])
{
	if (t->key_index != sam->key_index)
		return WK_ERR_KEY_NOT_FOUND;
	if (!sam->diversify) {
		memcpy(dk, sam->keys[which], WK_PURSE_KEY_LEN);
		return WK_OK;
	}
	return wk_purse_derive_key(sam->algs[which], sam->keys[which], t->serial,
	    dk);
}

static int
session_key(const wk_sam *sam, const wk_purse_txn *t, wk_purse_skey *sk)
{
	uint8_t dk[WK_PURSE_KEY_LEN];
	unsigned which = is_load(t->type) ? K_DLK : K_DPK;
	int rc;

	/* the card says which algorithm its key has (INITIALIZE's answer);
	 * this SAM's master makes keys of one */
	if (t->alg != sam->algs[which])
		return WK_ERR_KEY_NOT_FOUND;
	if ((rc = card_key(sam, which, t, dk)) != WK_OK)
		goto out;
	rc = WK_ERR_CRYPTO;
	if (is_load(t->type)) {
		if (wk_purse_session_key_online(t->alg, dk, t->random,
		    t->card_seq, sk) != WK_PURSE_CRYPTO_OK)
			goto out;
	} else if (wk_purse_session_key_purchase(t->alg, dk, t->random,
	    t->card_seq, t->term_seq, sk) != WK_PURSE_CRYPTO_OK) {
		goto out;
	}
	rc = WK_OK;
out:
	sodium_memzero(dk, sizeof(dk));
	return rc;
}

/*
 * the in-flight record, PATH.inflight (issue 17): what each purchase writes
 * instead of rewriting the file. One pwrite of INFL_LEN bytes (less than a
 * disk sector) at offset 0, no fsync: a crash of the process leaves it
 * whole; a torn or stale one (its hash, its generation below the file's)
 * is ignored. The file itself is rewritten durably with each block of
 * numbers and at close, and holds no key: the master keys stay in the file.
 */
#define INFL_MAGIC "WKINFL01"
#define INFL_BODY (8 + 8 + 4 + 6 + 8 + 1 + 1 + 1 + 1 + 4 + WK_PURSE_SERIAL_LEN + \
	6 + 4 + 4 + 3 + 4 + 2 + 1 + 1 + 4 + 4 + 4)
#define INFL_LEN (INFL_BODY + 16)

static char *
infl_path(const wk_sam *sam)
{
	char *p = malloc(strlen(sam->path) + 10);

	if (p != NULL)
		sprintf(p, "%s.inflight", sam->path);
	return p;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
infl_encode(const wk_sam *sam, uint8_t out[INFL_LEN])
{
	const wk_purse_txn *t = &sam->last;
	uint8_t *p = out;

	memcpy(p, INFL_MAGIC, 8), p += 8;
	for (int k = 7; k >= 0; k--)
		*p++ = (uint8_t)(sam->gen >> (8 * k));
	put32(p, sam->counter), p += 4;
	memcpy(p, sam->terminal, 6), p += 6;
	memcpy(p, sam->psam_id, 8), p += 8;
	*p++ = sam->has_last ? 1 : 0;
	*p++ = (uint8_t)t->state;
	*p++ = t->type;
	*p++ = t->key_index;
	put32(p, t->amount), p += 4;
	memcpy(p, t->serial, sizeof(t->serial)), p += sizeof(t->serial);
	memcpy(p, t->terminal, 6), p += 6;
	memcpy(p, t->term_seq, 4), p += 4;
	memcpy(p, t->date, 4), p += 4;
	memcpy(p, t->time, 3), p += 3;
	put32(p, t->old_balance), p += 4;
	*p++ = (uint8_t)(t->card_seq >> 8);
	*p++ = (uint8_t)t->card_seq;
	*p++ = t->key_version;
	*p++ = t->alg;
	memcpy(p, t->random, 4), p += 4;
	memcpy(p, t->mac1, 4), p += 4;
	memcpy(p, t->mac2, 4), p += 4;
	crypto_generichash(p, 16, out, INFL_BODY, NULL, 0);
}

static int
infl_write(wk_sam *sam)
{
	uint8_t rec[INFL_LEN];
	char *path;
	ssize_t w;

	if (sam->jfd < 0) {
		if ((path = infl_path(sam)) == NULL)
			return WK_ERR_MEMORY;
		sam->jfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		free(path);
		if (sam->jfd < 0)
			return WK_ERR_IO;
	}
	infl_encode(sam, rec);
	do {
		w = pwrite(sam->jfd, rec, sizeof(rec), 0);
	} while (w < 0 && errno == EINTR);
	sodium_memzero(rec, sizeof(rec));
	return w == (ssize_t)sizeof(rec) ? WK_OK : WK_ERR_IO;
}

/* a newer in-flight record than the file's replaces its last transaction */
static void
infl_read(wk_sam *sam)
{
	uint8_t rec[INFL_LEN], h[16];
	const uint8_t *p = rec;
	wk_purse_txn t;
	uint64_t gen = 0;
	char *path;
	ssize_t n;
	int fd;

	if ((path = infl_path(sam)) == NULL)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return;
	n = pread(fd, rec, sizeof(rec), 0);
	close(fd);
	if (n != (ssize_t)sizeof(rec) || memcmp(rec, INFL_MAGIC, 8) != 0)
		return;
	crypto_generichash(h, sizeof(h), rec, INFL_BODY, NULL, 0);
	if (sodium_memcmp(h, rec + INFL_BODY, sizeof(h)) != 0)
		return;		/* torn */
	p += 8;
	for (int k = 0; k < 8; k++)
		gen = gen << 8 | *p++;
	if (gen <= sam->gen)
		return;		/* the file is as new */
	memset(&t, 0, sizeof(t));
	p += 4;			/* its counter: the reservation covers it */
	if (memcmp(p, sam->terminal, 6) != 0 || (sam->is_psam &&
	    memcmp(p + 6, sam->psam_id, 8) != 0))
		return;		/* another terminal's */
	p += 14;
	if (*p++ != 1)
		return;
	t.state = (wk_purse_txn_state)*p++;
	t.type = *p++;
	t.key_index = *p++;
	t.amount = get32(p), p += 4;
	memcpy(t.serial, p, sizeof(t.serial)), p += sizeof(t.serial);
	memcpy(t.terminal, p, 6), p += 6;
	memcpy(t.term_seq, p, 4), p += 4;
	memcpy(t.date, p, 4), p += 4;
	memcpy(t.time, p, 3), p += 3;
	t.old_balance = get32(p), p += 4;
	t.card_seq = (uint16_t)(p[0] << 8 | p[1]), p += 2;
	t.key_version = *p++;
	t.alg = *p++;
	memcpy(t.random, p, 4), p += 4;
	memcpy(t.mac1, p, 4), p += 4;
	memcpy(t.mac2, p, 4);
	if (t.state != WK_PURSE_TXN_PREPARED && t.state != WK_PURSE_TXN_SENT &&
	    t.state != WK_PURSE_TXN_DONE && t.state != WK_PURSE_TXN_NOT_DONE)
		return;
	sam->last = t;
	sam->has_last = true;
	sam->gen = gen;
	sam->dirty = true;	/* the file catches up at close */
}

/* records t as the last transaction and the counter; durable (the file,
 * fsync) or (a purchase: its number's reservation is durable already)
 * the in-flight record only */
static int
journal(wk_sam *sam, const wk_purse_txn *t, uint32_t counter, bool durable)
{
	wk_purse_txn old_last = sam->last;
	uint32_t old_counter = sam->counter;
	bool old_has = sam->has_last;
	int rc;

	sam->last = *t;
	sam->last.state = WK_PURSE_TXN_SENT;
	sam->has_last = true;
	sam->counter = counter;
	sam->gen++;
	if ((rc = durable ? store(sam, sam->path, false, true) :
	    infl_write(sam)) != WK_OK) {
		sam->last = old_last;
		sam->counter = old_counter;
		sam->has_last = old_has;
	} else {
		sam->dirty = !durable;
	}
	return rc;
}

int
wk_sam_purchase_mac1(wk_sam *sam, wk_purse_txn *txn)
{
	wk_purse_skey sk;
	uint32_t next;
	int rc = WK_ERR_ARG;

	if (sam == NULL || txn == NULL || !is_purchase(txn->type))
		goto out;
	if (sam->is_psam) {
		memcpy(txn->terminal, sam->terminal, sizeof(txn->terminal));
		rc = WK_ERR_ARG;
		if (sam->psam == NULL)
			goto out;
		rc = WK_ERR_KEY_NOT_FOUND;
		if (txn->key_index != sam->key_index)
			goto out;
		/* the PSAM commits its counter before MAC1 leaves it */
		if ((rc = wk_psam_purchase_mac1(sam->psam, txn)) != WK_OK)
			goto out;
		next = (uint32_t)txn->term_seq[0] << 24 |
		    (uint32_t)txn->term_seq[1] << 16 |
		    (uint32_t)txn->term_seq[2] << 8 | txn->term_seq[3];
		/* the PSAM's own reservation keeps the number; the journal
		 * is for recovery after a crash of this process */
		if ((rc = journal(sam, txn, next, false)) != WK_OK) {
			sodium_memzero(txn->mac1, sizeof(txn->mac1));
			goto out;
		}
		txn->state = WK_PURSE_TXN_PREPARED;
		goto out;
	}
	rc = WK_ERR_LIMIT;
	if (sam->counter == UINT32_MAX)
		goto out;
	next = sam->counter + 1;
	if (next > sam->reserved) {
		/* the next block of numbers, durably, before one of them is used */
		uint32_t old = sam->reserved;

		sam->reserved = sam->counter > UINT32_MAX - COUNTER_BLOCK ?
		    UINT32_MAX : sam->counter + COUNTER_BLOCK;
		if ((rc = store(sam, sam->path, false, true)) != WK_OK) {
			sam->reserved = old;
			goto out;
		}
		sam->dirty = false;
	}
	txn->term_seq[0] = (uint8_t)(next >> 24);
	txn->term_seq[1] = (uint8_t)(next >> 16);
	txn->term_seq[2] = (uint8_t)(next >> 8);
	txn->term_seq[3] = (uint8_t)next;
	memcpy(txn->terminal, sam->terminal, sizeof(txn->terminal));
	if ((rc = session_key(sam, txn, &sk)) != WK_OK)
		goto out;
	rc = WK_ERR_CRYPTO;
	if (wk_purse_purchase_mac1(&sk, txn->amount, txn->type, txn->terminal,
	    txn->date, txn->time, txn->mac1) != WK_PURSE_CRYPTO_OK)
		goto out;
	/* the number is reserved durably before it leaves the SAM */
	if ((rc = journal(sam, txn, next, false)) != WK_OK) {
		sodium_memzero(txn->mac1, sizeof(txn->mac1));
		goto out;
	}
	txn->state = WK_PURSE_TXN_PREPARED;
	rc = WK_OK;
out:
	sodium_memzero(&sk, sizeof(sk));
	return rc;
}

int
wk_sam_load_mac2(wk_sam *sam, wk_purse_txn *txn)
{
	uint8_t mac1[WK_PURSE_MAC_LEN];
	wk_purse_skey sk;
	int rc = WK_ERR_ARG;

	if (sam == NULL || txn == NULL || !is_load(txn->type))
		goto out;
	/* a PSAM has no load key: loads are remote (DLK stays at the issuer) */
	rc = WK_ERR_NOT_SUPPORTED;
	if (sam->is_psam)
		goto out;
	memcpy(txn->terminal, sam->terminal, sizeof(txn->terminal));
	memset(txn->term_seq, 0, sizeof(txn->term_seq));
	if ((rc = session_key(sam, txn, &sk)) != WK_OK)
		goto out;
	rc = WK_ERR_CRYPTO;
	if (wk_purse_load_mac1(&sk, txn->old_balance, txn->amount, txn->type,
	    txn->terminal, mac1) != WK_PURSE_CRYPTO_OK)
		goto out;
	rc = WK_ERR_AUTH_FAILED;
	if (sodium_memcmp(mac1, txn->mac1, sizeof(mac1)) != 0)
		goto out;
	rc = WK_ERR_CRYPTO;
	if (wk_purse_load_mac2(&sk, txn->amount, txn->type, txn->terminal,
	    txn->date, txn->time, txn->mac2) != WK_PURSE_CRYPTO_OK)
		goto out;
	if ((rc = journal(sam, txn, sam->counter, true)) != WK_OK) {
		sodium_memzero(txn->mac2, sizeof(txn->mac2));
		goto out;
	}
	txn->state = WK_PURSE_TXN_PREPARED;
	rc = WK_OK;
out:
	sodium_memzero(&sk, sizeof(sk));
	sodium_memzero(mac1, sizeof(mac1));
	return rc;
}

int
wk_sam_check(wk_sam *sam, const wk_purse_txn *txn, const uint8_t *mac,
    const uint8_t tac[4])
{
	uint8_t dtk[WK_PURSE_KEY_LEN], want[WK_PURSE_MAC_LEN];
	wk_purse_skey sk, ktac;
	int rc = WK_ERR_ARG, c;

	memset(&sk, 0, sizeof(sk));
	memset(&ktac, 0, sizeof(ktac));
	if (sam == NULL || txn == NULL || tac == NULL ||
	    !(is_load(txn->type) || is_purchase(txn->type)))
		goto out;
	if (sam->is_psam) {
		/* the PSAM checks MAC2 under the purchase's session, restated
		 * (one round trip; right after a restart of the PSAM too); the
		 * TAC (DTK stays at the issuer) is checked when the proof is
		 * settled */
		rc = WK_ERR_NOT_SUPPORTED;
		if (mac == NULL || !is_purchase(txn->type))
			goto out;
		rc = WK_ERR_ARG;
		if (sam->psam == NULL)
			goto out;
		rc = WK_ERR_AUTH_FAILED;
		if (memcmp(sam->terminal, txn->terminal, 6) != 0)
			goto out;	/* not this terminal's purchase */
		rc = wk_psam_check_purchase(sam->psam, txn, mac);
		goto out;
	}
	if (mac != NULL && is_purchase(txn->type)) {
		if ((rc = session_key(sam, txn, &sk)) != WK_OK)
			goto out;
		rc = WK_ERR_CRYPTO;
		if (wk_purse_purchase_mac2(&sk, txn->amount, want) !=
		    WK_PURSE_CRYPTO_OK)
			goto out;
		rc = WK_ERR_AUTH_FAILED;
		if (sodium_memcmp(want, mac, sizeof(want)) != 0)
			goto out;
	}
	/* docs/purse.md U2: a load's proof carries the host MAC2 it verified */
	rc = WK_ERR_AUTH_FAILED;
	if (mac != NULL && is_load(txn->type) &&
	    sodium_memcmp(txn->mac2, mac, sizeof(txn->mac2)) != 0)
		goto out;
	if ((rc = card_key(sam, K_DTK, txn, dtk)) != WK_OK)
		goto out;
	rc = WK_ERR_CRYPTO;
	if (wk_purse_tac_key(sam->algs[K_DTK], dtk, &ktac) != WK_PURSE_CRYPTO_OK)
		goto out;
	rc = WK_ERR_LIMIT;
	if (is_load(txn->type)) {
		if (txn->old_balance > UINT32_MAX - txn->amount)
			goto out;
		c = wk_purse_load_tac(&ktac, txn->old_balance + txn->amount,
		    txn->card_seq, txn->amount, txn->type, txn->terminal,
		    txn->date, txn->time, want);
	} else {
		c = wk_purse_purchase_tac(&ktac, txn->amount, txn->type,
		    txn->terminal, txn->term_seq, txn->date, txn->time, want);
	}
	rc = WK_ERR_CRYPTO;
	if (c != WK_PURSE_CRYPTO_OK)
		goto out;
	rc = WK_ERR_AUTH_FAILED;
	if (sodium_memcmp(want, tac, sizeof(want)) != 0)
		goto out;
	rc = WK_OK;
out:
	sodium_memzero(&sk, sizeof(sk));
	sodium_memzero(dtk, sizeof(dtk));
	sodium_memzero(&ktac, sizeof(ktac));
	sodium_memzero(want, sizeof(want));
	return rc;
}

int
wk_sam_settle(wk_sam *sam, const wk_purse_txn *txn)
{
	wk_purse_txn_state old;
	int rc;

	if (sam == NULL || txn == NULL || !sam->has_last ||
	    (txn->state != WK_PURSE_TXN_DONE && txn->state != WK_PURSE_TXN_NOT_DONE))
		return WK_ERR_ARG;
	if (sam->last.type != txn->type || sam->last.card_seq != txn->card_seq ||
	    memcmp(sam->last.random, txn->random, sizeof(txn->random)) != 0)
		return WK_ERR_ARG;	/* not the transaction the SAM recorded */
	old = sam->last.state;
	sam->last.state = txn->state;
	sam->gen++;
	/* the in-flight record, durable at close: lost to a power loss, the
	 * transaction shows "sent" and `wallet prove` settles it again (the
	 * proof journal takes a proof twice and settles it once) */
	if ((rc = infl_write(sam)) != WK_OK)
		sam->last.state = old;
	else
		sam->dirty = true;
	return rc;
}
