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
#include "wk_sam_internal.h"

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
			put_hex(fp, wk_sam_key_names[k], sam->keys[k], WK_PURSE_KEY_LEN,
			    false);
			fprintf(fp, "%s\n", k + 1 < N_KEYS ? "," : "");
		}
		fprintf(fp, "  },\n  \"algorithms\": {");
		for (k = 0; k < N_KEYS; k++)
			fprintf(fp, "\"%s\": \"%s\"%s", wk_sam_key_names[k],
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
int
wk_sam_store(const wk_sam *sam, const char *path, bool exclusive, bool durable)
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
	const jfield *st = wk_sam_json_get(d, "last.state");
	uint64_t v;

	memset(t, 0, sizeof(*t));
	if (st == NULL || !st->is_str ||
	    (t->state = state_of(st->str, st->len)) == WK_PURSE_TXN_NONE)
		return -1;
	if (wk_sam_json_uint(d, "last.type", 0xFF, &v) != 0)
		return -1;
	t->type = (uint8_t)v;
	if (wk_sam_json_uint(d, "last.key_index", 0xFF, &v) != 0)
		return -1;
	t->key_index = (uint8_t)v;
	if (wk_sam_json_uint(d, "last.amount", UINT32_MAX, &v) != 0)
		return -1;
	t->amount = (uint32_t)v;
	if (wk_sam_json_uint(d, "last.old_balance", UINT32_MAX, &v) != 0)
		return -1;
	t->old_balance = (uint32_t)v;
	if (wk_sam_json_uint(d, "last.card_seq", 0xFFFF, &v) != 0)
		return -1;
	t->card_seq = (uint16_t)v;
	if (wk_sam_json_uint(d, "last.key_version", 0xFF, &v) != 0)
		return -1;
	t->key_version = (uint8_t)v;
	if (wk_sam_json_uint(d, "last.alg", 0xFF, &v) != 0)
		return -1;
	t->alg = (uint8_t)v;
	if (wk_sam_json_hex(d, "last.serial", t->serial, sizeof(t->serial)) != 0 ||
	    wk_sam_json_hex(d, "last.terminal", t->terminal, sizeof(t->terminal)) != 0 ||
	    wk_sam_json_hex(d, "last.term_seq", t->term_seq, sizeof(t->term_seq)) != 0 ||
	    wk_sam_json_hex(d, "last.date", t->date, sizeof(t->date)) != 0 ||
	    wk_sam_json_hex(d, "last.time", t->time, sizeof(t->time)) != 0 ||
	    wk_sam_json_hex(d, "last.random", t->random, sizeof(t->random)) != 0 ||
	    wk_sam_json_hex(d, "last.mac1", t->mac1, sizeof(t->mac1)) != 0 ||
	    wk_sam_json_hex(d, "last.mac2", t->mac2, sizeof(t->mac2)) != 0)
		return -1;
	return 0;
}

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
		if (wk_sam_store(sam, sam->path, false, true) != WK_OK) {
			sam->reserved = res;	/* the next open skips them */
		} else if ((ip = wk_sam_infl_path(sam)) != NULL) {
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

	if (wk_sam_json_hex(d, "terminal", term, sizeof(term)) != 0 ||
	    wk_sam_json_hex(d, "psam", id, sizeof(id)) != 0 ||
	    memcmp(term, sam->terminal, sizeof(term)) != 0)
		return -1;
	/* another PSAM card for this terminal id cannot be (one PSAM per
	 * terminal, docs/issuer.md): refuse a journal that names another */
	if (memcmp(id, sam->psam_id, sizeof(id)) != 0)
		return -1;
	if (wk_sam_json_get(d, "last.state") != NULL) {
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
	if (wk_sam_json_parse(buf, len, d) != 0)
		goto out;
	fmt = wk_sam_json_get(d, "format");
	if (fmt == NULL || !fmt->is_str || fmt->len != strlen(want) ||
	    memcmp(fmt->str, want, fmt->len) != 0 ||
	    wk_sam_json_uint(d, "version", 1, &v) != 0 || v != 1)
		goto out;
	if (wk_sam_json_get(d, "journal") != NULL) {
		if (wk_sam_json_uint(d, "journal", UINT64_MAX, &v) != 0)
			goto out;
		sam->gen = v;
	}
	if (sam->is_psam) {
		if (parse_terminal(sam, d) != 0)
			goto out;
		rc = WK_OK;
		goto out;
	}
	if (wk_sam_json_hex(d, "terminal", sam->terminal, sizeof(sam->terminal)) != 0 ||
	    wk_sam_json_uint(d, "key_index", 0xFF, &v) != 0)
		goto out;
	sam->key_index = (uint8_t)v;
	if (wk_sam_json_get(d, "diversify") != NULL) {
		if (wk_sam_json_uint(d, "diversify", 1, &v) != 0)
			goto out;
		sam->diversify = v == 1;
	}
	if (wk_sam_json_uint(d, "counter", UINT32_MAX, &v) != 0)
		goto out;
	sam->counter = (uint32_t)v;
	/* numbers up to "reserved" may have been used (a file without it, or
	 * closed cleanly, has reserved = counter); one below is damage */
	sam->reserved = sam->counter;
	if (wk_sam_json_get(d, "reserved") != NULL) {
		if (wk_sam_json_uint(d, "reserved", UINT32_MAX, &v) != 0 ||
		    v < sam->counter)
			goto out;
		sam->reserved = (uint32_t)v;
	}
	if (wk_sam_parse_keys(d, "keys.", sam->keys, sam->algs) != 0)
		goto out;
	if (wk_sam_json_get(d, "last.state") != NULL) {
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
	if ((rc = wk_sam_read_file(path, &buf, &len)) != WK_OK)
		goto out;
	if ((rc = parse_into(sam, buf, len)) != WK_OK)
		goto out;
	/* not closed cleanly: any number up to the reservation may have left
	 * with a MAC1, so the next one is after it */
	sam->counter = sam->reserved;
	wk_sam_infl_read(sam);
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
	rc = wk_sam_read_file(path, &buf, &len);
	if (rc == WK_ERR_IO && access(path, F_OK) != 0)
		rc = wk_sam_store(sam, path, true, true);
	else if (rc == WK_OK && (rc = parse_into(sam, buf, len)) == WK_OK)
		wk_sam_infl_read(sam);
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
	rc = wk_sam_store(sam, path, true, true);
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
