/*
 * the card store (vcard/vc_store*.c, vcard/vc_seal.c) on a real SQLite
 * file: transactions, sealing, the seal key's sources, the upgrade of
 * format 1, a kill -9 loop, and an attacker who can write the file:
 * bytes flipped all over it, rows swapped between stores, rows and the
 * whole file put back from an older copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "vc_store.h"
#include "wk_card_id.h"

static char dir[256];
static char path[320];
static char keypath[320];

static const char *const scratch[] = { "card.db", "card.db-wal",
	"card.db-shm", "walletkey-seal.key", "other.key", "junk.db",
	"copy.db", "copy.db-wal", "copy.db-shm", "old.db", "two.db",
	"two.db-wal", "two.db-shm", "new.key" };

static void
in_dir(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%.256s/%s", dir, name);
}

static int
setup(void **unused)
{
	const char *tmp = getenv("TMPDIR");

	(void)unused;
	snprintf(dir, sizeof(dir), "%.200s/test_vc_store.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	in_dir(path, sizeof(path), "card.db");
	in_dir(keypath, sizeof(keypath), "walletkey-seal.key");
	return 0;
}

static int
teardown(void **unused)
{
	char p[320];

	(void)unused;
	for (size_t i = 0; i < sizeof(scratch) / sizeof(scratch[0]); i++) {
		in_dir(p, sizeof(p), scratch[i]);
		unlink(p);
	}
	assert_int_equal(rmdir(dir), 0);
	return 0;
}

static void
get_expect(vc_store *st, const char *key, const char *want)
{
	uint8_t b[64];
	wk_buf buf;
	int rc;

	wk_buf_init_fixed(&buf, b, sizeof(b));
	rc = vc_store_get(st, "t", key, &buf);
	if (want == NULL) {
		assert_int_equal(rc, VC_STORE_NOT_FOUND);
		return;
	}
	assert_int_equal(rc, VC_STORE_OK);
	assert_int_equal(buf.len, strlen(want));
	assert_memory_equal(b, want, buf.len);
}

static void
put(vc_store *st, const char *key, const char *v)
{
	assert_int_equal(vc_store_put(st, "t", key, (const uint8_t *)v,
	    strlen(v)), VC_STORE_OK);
}

static void
write_file(const char *p, const void *data, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static uint8_t *
read_file(const char *p, size_t *n)
{
	struct stat sb;
	uint8_t *d;
	int fd = open(p, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	*n = (size_t)sb.st_size;
	d = malloc(*n > 0 ? *n : 1);
	assert_non_null(d);
	assert_int_equal(read(fd, d, *n), (ssize_t)*n);
	close(fd);
	return d;
}

static void
copy_file(const char *from, const char *to)
{
	size_t n;
	uint8_t *d = read_file(from, &n);

	write_file(to, d, n);
	free(d);
}

static void
test_create_and_reopen(void **unused)
{
	uint8_t serial[WK_SERIAL_LEN];
	struct stat sb;
	vc_store *st = NULL;
	char wal[340], shm[340];

	(void)unused;
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_NOT_FOUND);
	assert_null(st);
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	memcpy(serial, vc_store_serial(st), sizeof(serial));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(keypath, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, 32);
	/* a second process (or open) on the same store is refused */
	{
		vc_store *two = NULL;

		assert_int_equal(vc_store_open(path, NULL, &two), VC_STORE_ERROR);
		assert_non_null(strstr(vc_store_errmsg(NULL), "in use"));
	}
	put(st, "a", "x");
	vc_store_free(&st);
	assert_null(st);
	/* at rest: one file, no WAL, no shared-memory index */
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	assert_true(stat(wal, &sb) != 0 || sb.st_size == 0);
	assert_true(stat(shm, &sb) != 0);
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_EXISTS);
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
	assert_memory_equal(vc_store_serial(st), serial, sizeof(serial));
	get_expect(st, "a", "x");
	vc_store_free(&st);
}

static void
test_commit_abort_checkpoint(void **unused)
{
	vc_store *st = NULL;
	uint64_t u, v0;
	uint8_t d0[32], d1[32];

	(void)unused;
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	v0 = vc_store_version(st);
	/* commit of a command that wrote nothing is a no-op */
	vc_store_digest(st, d0);
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	get_expect(st, "a", NULL);
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	assert_true(vc_store_version(st) == v0);
	vc_store_digest(st, d1);
	assert_memory_equal(d0, d1, 32);

	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	put(st, "a", "one");
	get_expect(st, "a", "one");
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	assert_true(vc_store_version(st) == v0 + 1);

	vc_store_digest(st, d0);
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	put(st, "a", "two");
	put(st, "b", "x");
	vc_store_abort(st);
	get_expect(st, "a", "one");
	get_expect(st, "b", NULL);
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	assert_true(vc_store_version(st) == v0 + 1);
	vc_store_digest(st, d1);
	assert_memory_equal(d0, d1, 32);

	/* checkpoint keeps what came before, abort drops only what came after */
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	put(st, "a", "three");
	assert_int_equal(vc_store_checkpoint(st), VC_STORE_OK);
	put(st, "a", "four");
	assert_int_equal(vc_store_del(st, "t", "a"), VC_STORE_OK);
	vc_store_abort(st);
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	get_expect(st, "a", "three");
	assert_true(vc_store_version(st) == v0 + 2);

	/* a command that never committed is rolled back by the next begin */
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	put(st, "c", "lost");
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	get_expect(st, "c", NULL);
	assert_int_equal(vc_store_del(st, "t", "a"), VC_STORE_OK);
	assert_int_equal(vc_store_del(st, "t", "a"), VC_STORE_NOT_FOUND);
	assert_int_equal(vc_store_put_u64(st, "t", "n", 0x0102030405060708u),
	    VC_STORE_OK);
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	assert_int_equal(vc_store_get_u64(st, "t", "n", &u), VC_STORE_OK);
	assert_true(u == 0x0102030405060708u);
	/* outside a command each write commits alone */
	put(st, "e", "");
	get_expect(st, "e", "");
	assert_int_equal(vc_store_del(st, "t", "zz"), VC_STORE_NOT_FOUND);
	assert_int_equal(vc_store_get_u64(st, "t", "e", &u), VC_STORE_CORRUPT);
	/* names are required */
	assert_int_equal(vc_store_put(st, NULL, "x", NULL, 0), VC_STORE_ERROR);
	assert_int_equal(vc_store_put(st, "t", NULL, NULL, 0), VC_STORE_ERROR);
	u = vc_store_version(st);
	vc_store_free(&st);

	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
	assert_true(vc_store_version(st) == u);
	get_expect(st, "a", NULL);
	get_expect(st, "e", "");
	assert_int_equal(vc_store_get_u64(st, "t", "n", &u), VC_STORE_OK);
	vc_store_free(&st);
}

/* reads in one database read transaction (vc_store_read_begin): they see
 * what the command wrote, a write in the middle ends the batch and counts,
 * an abort drops it, and a batch left open does not outlive its command */
static void
test_read_batch(void **unused)
{
	vc_store *st = NULL;
	uint64_t v0;
	bool began;

	(void)unused;
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	put(st, "a", "one");
	put(st, "b", "two");
	v0 = vc_store_version(st);
	/* outside a command */
	began = vc_store_read_begin(st);
	assert_true(began);
	assert_false(vc_store_read_begin(st));	/* nested: the outer one holds */
	get_expect(st, "a", "one");
	get_expect(st, "b", "two");
	get_expect(st, "c", NULL);
	vc_store_read_end(st, began);
	assert_true(vc_store_version(st) == v0);
	put(st, "c", "three");	/* commits alone, as before */
	assert_true(vc_store_version(st) == v0 + 1);
	/* a write inside a command's batch */
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	began = vc_store_read_begin(st);
	assert_true(began);
	get_expect(st, "a", "one");
	put(st, "a", "uno");
	get_expect(st, "a", "uno");
	/* in the write transaction now: no batch of its own */
	assert_false(vc_store_read_begin(st));
	vc_store_read_end(st, began);
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	assert_true(vc_store_version(st) == v0 + 2);
	get_expect(st, "a", "uno");
	/* and an abort */
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	began = vc_store_read_begin(st);
	put(st, "d", "lost");
	vc_store_abort(st);
	vc_store_read_end(st, began);
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	get_expect(st, "d", NULL);
	assert_true(vc_store_version(st) == v0 + 2);
	/* a batch never ended: the command's commit ends it */
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	assert_true(vc_store_read_begin(st));
	get_expect(st, "b", "two");
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	put(st, "e", "five");
	assert_true(vc_store_version(st) == v0 + 3);
	vc_store_free(&st);
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
	get_expect(st, "a", "uno");
	get_expect(st, "e", "five");
	get_expect(st, "d", NULL);
	vc_store_free(&st);
}

/* many rows: the table of tags grows and shrinks across rollbacks */
static void
test_many_rows(void **unused)
{
	vc_store *st = NULL;
	char name[32], v[32];
	uint8_t d0[32], d1[32];

	(void)unused;
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		snprintf(v, sizeof(v), "v%d", i * 7);
		put(st, name, v);
	}
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	vc_store_digest(st, d0);
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	for (int i = 0; i < 2000; i += 2) {
		snprintf(name, sizeof(name), "k%d", i);
		assert_int_equal(vc_store_del(st, "t", name), VC_STORE_OK);
	}
	for (int i = 2000; i < 3000; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		put(st, name, "new");
	}
	vc_store_abort(st);
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	vc_store_digest(st, d1);
	assert_memory_equal(d0, d1, 32);
	for (int i = 0; i < 2000; i += 3) {
		snprintf(name, sizeof(name), "k%d", i);
		assert_int_equal(vc_store_del(st, "t", name), VC_STORE_OK);
	}
	vc_store_free(&st);
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		snprintf(v, sizeof(v), "v%d", i * 7);
		get_expect(st, name, i >= 2000 || i % 3 == 0 ? NULL : v);
	}
	vc_store_free(&st);
}

/* true when the n bytes of needle appear in the store's files */
static bool
in_files(const char *p, const void *needle, size_t n)
{
	char side[340];
	size_t len;
	uint8_t *d;
	bool found;

	d = read_file(p, &len);
	found = memmem(d, len, needle, n) != NULL;
	free(d);
	snprintf(side, sizeof(side), "%s-wal", p);
	if (!found && access(side, F_OK) == 0) {
		d = read_file(side, &len);
		found = memmem(d, len, needle, n) != NULL;
		free(d);
	}
	return found;
}

static void
test_sealed(void **unused)
{
	static const uint8_t secret[] = "a pin hash, say";
	static const char plain[] = "the purse balance in clear";
	uint8_t b[64];
	wk_buf buf;
	vc_store *st = NULL;

	(void)unused;
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	assert_int_equal(vc_store_put_secret(st, "piv", "pin.hash", secret,
	    sizeof(secret)), VC_STORE_OK);
	assert_int_equal(vc_store_put(st, "purse", "balance.state",
	    (const uint8_t *)plain, sizeof(plain)), VC_STORE_OK);
	wk_buf_init_fixed(&buf, b, sizeof(b));
	assert_int_equal(vc_store_get_secret(st, "piv", "pin.hash", &buf),
	    VC_STORE_OK);
	assert_int_equal(buf.len, sizeof(secret));
	assert_memory_equal(b, secret, sizeof(secret));
	/* neither values nor names are in the file, WAL included */
	assert_false(in_files(path, secret, 8));
	assert_false(in_files(path, plain, 8));
	assert_false(in_files(path, "balance.state", 13));
	assert_false(in_files(path, "pin.hash", 8));
	/* too long for the caller's buffer; a missing one; an empty one */
	wk_buf_init_fixed(&buf, b, 4);
	assert_int_equal(vc_store_get_secret(st, "piv", "pin.hash", &buf),
	    VC_STORE_ERROR);
	assert_true(wk_buf_failed(&buf));
	wk_buf_init_fixed(&buf, b, sizeof(b));
	assert_int_equal(vc_store_get_secret(st, "piv", "none", &buf),
	    VC_STORE_NOT_FOUND);
	assert_int_equal(vc_store_put_secret(st, "piv", "e", NULL, 0),
	    VC_STORE_OK);
	assert_int_equal(vc_store_get_secret(st, "piv", "e", &buf), VC_STORE_OK);
	assert_int_equal(buf.len, 0);
	/* (applet, key) is not (applet + key): "pi"/"vpin" is another row */
	assert_int_equal(vc_store_get(st, "pi", "vpin.hash", &buf),
	    VC_STORE_NOT_FOUND);
	vc_store_free(&st);

	assert_false(in_files(path, secret, 8));
	assert_false(in_files(path, plain, 8));
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
	wk_buf_init_fixed(&buf, b, sizeof(b));
	assert_int_equal(vc_store_get_secret(st, "piv", "pin.hash", &buf),
	    VC_STORE_OK);
	assert_memory_equal(b, secret, sizeof(secret));
	vc_store_free(&st);
}

static void
test_foreign_and_corrupt(void **unused)
{
	uint8_t key[32];
	char other[320], junk[320];
	vc_store *st = NULL;
	vc_store_key k = { .file = keypath };
	sqlite3 *db;

	(void)unused;
	in_dir(other, sizeof(other), "other.key");
	in_dir(junk, sizeof(junk), "junk.db");
	/* not SQLite at all: said before the key is looked for */
	write_file(junk, "this is not a card store, not at all", 37);
	assert_int_equal(vc_store_open(junk, &k, &st), VC_STORE_CORRUPT);
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	vc_store_free(&st);
	assert_int_equal(vc_store_open(junk, &k, &st), VC_STORE_CORRUPT);
	assert_non_null(strstr(vc_store_errmsg(NULL), "not a walletkey"));
	/* SQLite, but somebody else's */
	unlink(junk);
	assert_int_equal(sqlite3_open(junk, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE meta (name, value);"
	    "INSERT INTO meta VALUES ('magic', 'other');", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(vc_store_open(junk, &k, &st), VC_STORE_CORRUPT);
	/* the wrong seal key, a short key file, a missing key file */
	randombytes_buf(key, sizeof(key));
	write_file(other, key, sizeof(key));
	k.file = other;
	assert_int_equal(vc_store_open(path, &k, &st), VC_STORE_CORRUPT);
	assert_non_null(strstr(vc_store_errmsg(NULL), "seal key does not open"));
	write_file(other, key, 31);
	assert_int_equal(vc_store_open(path, &k, &st), VC_STORE_ERROR);
	assert_non_null(strstr(vc_store_errmsg(NULL), "not a 32-byte key"));
	/* a key file that others can read is refused, as ssh refuses one */
	chmod(keypath, 0644);
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_ERROR);
	assert_non_null(strstr(vc_store_errmsg(NULL), "chmod 600"));
	chmod(keypath, 0600);
	unlink(other);
	assert_int_equal(vc_store_open(path, &k, &st), VC_STORE_NOT_FOUND);
	/* a store whose header is overwritten */
	{
		int fd = open(path, O_WRONLY);

		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "garbage garbage!", 16, 0), 16);
		close(fd);
	}
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_CORRUPT);
	assert_null(st);
	/* --init with a given key file that exists uses it */
	unlink(path);
	write_file(other, key, sizeof(key));
	assert_int_equal(vc_store_create(path, &k, &st), VC_STORE_OK);
	vc_store_free(&st);
	assert_int_equal(vc_store_open(path, &k, &st), VC_STORE_OK);
	vc_store_free(&st);
	/* a failed --init leaves neither store nor key behind */
	unlink(path);
	unlink(keypath);
	k.file = "/nonexistent/dir/seal.key";
	assert_int_equal(vc_store_create(path, &k, &st), VC_STORE_ERROR);
	assert_true(access(path, F_OK) != 0);
}

/* ---- an attacker with write access to the file ---- */

#define N_AUDIT 300

/* a store that looks like a card's: small rows, a secret, a value on
 * overflow pages, a log, and the free space of deleted rows */
static void
fill(vc_store *st)
{
	uint8_t big[3000], rec[86];
	char name[32];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	for (char c = 'a'; c <= 'z'; c++) {
		char k[2] = { c, 0 };

		put(st, k, k);
	}
	assert_int_equal(vc_store_put_secret(st, "piv", "pin", (const uint8_t *)
	    "pin hash", 8), VC_STORE_OK);
	assert_int_equal(vc_store_put(st, "piv", "cert", big, sizeof(big)),
	    VC_STORE_OK);
	assert_int_equal(vc_store_put_u64(st, "purse", "balance", 12345),
	    VC_STORE_OK);
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	for (unsigned i = 1; i <= N_AUDIT; i++) {
		memset(rec, (int)i, sizeof(rec));
		snprintf(name, sizeof(name), "rec.%u", i);
		assert_int_equal(vc_store_begin(st), VC_STORE_OK);
		assert_int_equal(vc_store_put(st, "audit", name, rec,
		    sizeof(rec)), VC_STORE_OK);
		assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	}
	for (unsigned i = 1; i <= N_AUDIT; i += 5) {
		snprintf(name, sizeof(name), "rec.%u", i);
		assert_int_equal(vc_store_del(st, "audit", name), VC_STORE_OK);
	}
}

/* true when st holds exactly what fill() left */
static bool
same_as_filled(vc_store *st)
{
	uint8_t b[3100], rec[86];
	char name[32];
	uint64_t u;
	wk_buf buf;

	for (char c = 'a'; c <= 'z'; c++) {
		char k[2] = { c, 0 };

		wk_buf_init_fixed(&buf, b, sizeof(b));
		if (vc_store_get(st, "t", k, &buf) != VC_STORE_OK ||
		    buf.len != 1 || b[0] != (uint8_t)c)
			return false;
	}
	wk_buf_init_fixed(&buf, b, sizeof(b));
	if (vc_store_get_secret(st, "piv", "pin", &buf) != VC_STORE_OK ||
	    buf.len != 8 || memcmp(b, "pin hash", 8) != 0)
		return false;
	wk_buf_init_fixed(&buf, b, sizeof(b));
	if (vc_store_get(st, "piv", "cert", &buf) != VC_STORE_OK ||
	    buf.len != 3000)
		return false;
	for (size_t i = 0; i < 3000; i++)
		if (b[i] != (uint8_t)(i * 7))
			return false;
	if (vc_store_get_u64(st, "purse", "balance", &u) != VC_STORE_OK ||
	    u != 12345)
		return false;
	for (unsigned i = 1; i <= N_AUDIT; i++) {
		int rc;

		snprintf(name, sizeof(name), "rec.%u", i);
		wk_buf_init_fixed(&buf, b, sizeof(b));
		rc = vc_store_get(st, "audit", name, &buf);
		if (i % 5 == 1) {
			if (rc != VC_STORE_NOT_FOUND)
				return false;
			continue;
		}
		memset(rec, (int)i, sizeof(rec));
		if (rc != VC_STORE_OK || buf.len != sizeof(rec) ||
		    memcmp(b, rec, sizeof(rec)) != 0)
			return false;
	}
	return true;
}

/* opens a copy of the original with one byte changed at off */
static int
open_flipped(const uint8_t *orig, size_t n, size_t off, uint8_t x,
    const char *copy, bool *unchanged)
{
	vc_store_key k = { .file = keypath };
	vc_store *st = NULL;
	uint8_t *d = malloc(n);
	int rc;

	assert_non_null(d);
	memcpy(d, orig, n);
	d[off] ^= x;
	write_file(copy, d, n);
	free(d);
	rc = vc_store_open(copy, &k, &st);
	*unchanged = false;
	if (rc == VC_STORE_OK) {
		*unchanged = same_as_filled(st);
		vc_store_free(&st);
	}
	return rc;
}

static int flips, refused, harmless;

static void
try_flip(const uint8_t *orig, size_t n, size_t off, const char *copy)
{
	bool unchanged;
	int rc;

	rc = open_flipped(orig, n, off, (uint8_t)(1u << (off % 8)), copy,
	    &unchanged);
	flips++;
	if (rc == VC_STORE_OK) {
		/* a byte SQLite never reads: the state is the same */
		if (!unchanged)
			fail_msg("offset %zu: the card started with changed "
			    "state", off);
		harmless++;
		return;
	}
	if (rc != VC_STORE_CORRUPT)
		fail_msg("offset %zu: rc %d (%s), not a refusal as damaged or "
		    "changed", off, rc, vc_store_errmsg(NULL));
	refused++;
}

/* every page at many offsets; a flip in a row's bytes is always refused */
static void
test_tamper_flips(void **unused)
{
	char copy[320];
	vc_store *st = NULL;
	uint8_t *orig;
	size_t n, pgsz;
	sqlite3 *db;
	sqlite3_stmt *q;
	int in_rows = 0;

	(void)unused;
	in_dir(copy, sizeof(copy), "copy.db");
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	fill(st);
	assert_true(same_as_filled(st));
	vc_store_free(&st);
	orig = read_file(path, &n);
	pgsz = (size_t)((orig[16] << 8) | orig[17]);
	if (pgsz == 1)
		pgsz = 65536;
	assert_true(n % pgsz == 0 && n / pgsz >= 8);

	flips = refused = harmless = 0;
	for (size_t pg = 0; pg < n / pgsz; pg++) {
		static const size_t at[] = { 0, 1, 3, 5, 7, 8, 12, 16, 100, 101 };

		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
			try_flip(orig, n, pg * pgsz + at[i], copy);
		for (int i = 0; i < 6; i++)
			try_flip(orig, n, pg * pgsz + 8 +
			    randombytes_uniform((uint32_t)(pgsz - 8)), copy);
		try_flip(orig, n, pg * pgsz + pgsz - 1, copy);
	}
	/* the database header, byte by byte */
	for (size_t off = 0; off < 100; off++)
		try_flip(orig, n, off, copy);

	/* each stored row's bytes: first, middle and last */
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, value FROM rows",
	    -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const uint8_t *v = sqlite3_column_blob(q, 1);
		size_t len = (size_t)sqlite3_column_bytes(q, 1);
		const uint8_t *at = len < pgsz ? memmem(orig, n, v, len) : NULL;
		int before = refused;

		if (at == NULL)
			continue;	/* on overflow pages: flipped above */
		try_flip(orig, n, (size_t)(at - orig), copy);
		try_flip(orig, n, (size_t)(at - orig) + len / 2, copy);
		try_flip(orig, n, (size_t)(at - orig) + len - 1, copy);
		assert_int_equal(refused - before, 3);
		/* the id just before the value, in the same record */
		assert_memory_equal(at - 16, sqlite3_column_blob(q, 0), 16);
		try_flip(orig, n, (size_t)(at - orig) - 1, copy);
		assert_int_equal(refused - before, 4);
		in_rows++;
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	assert_true(in_rows > N_AUDIT / 2);
	print_message("byte flips: %d, refused %d, started unchanged %d "
	    "(bytes SQLite never reads: free space in pages)\n", flips,
	    refused, harmless);
	/* most of a card store is rows */
	assert_true(refused > flips * 3 / 4);
	free(orig);
}

static void
raw_exec(const char *p, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static void
expect_refused(const char *p, const char *why)
{
	vc_store_key k = { .file = keypath };
	vc_store *st = NULL;

	assert_int_equal(vc_store_open(p, &k, &st), VC_STORE_CORRUPT);
	assert_null(st);
	if (strstr(vc_store_errmsg(NULL), why) == NULL)
		fail_msg("message without \"%s\": %s", why, vc_store_errmsg(NULL));
}

/* two cards sealed by the same key file: nothing moves between them */
static void
test_tamper_swap(void **unused)
{
	char two[320], copy[320], sql[1024];
	vc_store *st = NULL;

	(void)unused;
	in_dir(two, sizeof(two), "two.db");
	in_dir(copy, sizeof(copy), "copy.db");
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	fill(st);
	vc_store_free(&st);
	assert_int_equal(vc_store_create(two, NULL, &st), VC_STORE_OK);
	fill(st);
	assert_int_equal(vc_store_put_u64(st, "purse", "balance", 999999),
	    VC_STORE_OK);
	vc_store_free(&st);

	/* one row of the other card added */
	copy_file(path, copy);
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS two; INSERT INTO rows "
	    "SELECT * FROM two.rows LIMIT 1", two);
	raw_exec(copy, sql);
	expect_refused(copy, "changed outside the card");
	/* a row's value replaced by one of the other card's */
	copy_file(path, copy);
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS two; UPDATE rows SET value "
	    "= (SELECT value FROM two.rows LIMIT 1) WHERE id = (SELECT id FROM "
	    "rows LIMIT 1)", two);
	raw_exec(copy, sql);
	expect_refused(copy, "changed outside the card");
	/* all the rows of the other card, and its state record */
	copy_file(path, copy);
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS two; DELETE FROM rows; "
	    "INSERT INTO rows SELECT * FROM two.rows; UPDATE meta SET value = "
	    "(SELECT value FROM two.meta WHERE name = 'state') WHERE name = "
	    "'state'", two);
	raw_exec(copy, sql);
	expect_refused(copy, "changed outside the card");
	/* the other card's seal record: its keys are not this card's */
	copy_file(path, copy);
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS two; UPDATE meta SET value = "
	    "(SELECT value FROM two.meta WHERE name = 'seal') WHERE name = "
	    "'seal'", two);
	raw_exec(copy, sql);
	expect_refused(copy, "does not open");
	/* another serial */
	copy_file(path, copy);
	raw_exec(copy, "UPDATE meta SET value = x'0102030405060708' WHERE "
	    "name = 'serial'");
	expect_refused(copy, "does not open");
	/* two rows of the same card exchanged */
	copy_file(path, copy);
	raw_exec(copy, "CREATE TEMP TABLE r AS SELECT id, value FROM rows "
	    "LIMIT 2; UPDATE rows SET value = (SELECT value FROM r WHERE "
	    "r.id != rows.id) WHERE id IN (SELECT id FROM r)");
	expect_refused(copy, "changed outside the card");
	/* one row removed */
	copy_file(path, copy);
	raw_exec(copy, "DELETE FROM rows WHERE id = (SELECT id FROM rows "
	    "LIMIT 1 OFFSET 7)");
	expect_refused(copy, "changed outside the card");
	/* a trigger, a table, an index of someone else's */
	copy_file(path, copy);
	raw_exec(copy, "CREATE TABLE evil (x); CREATE TRIGGER t AFTER UPDATE ON "
	    "rows BEGIN DELETE FROM evil; END");
	expect_refused(copy, "tables are not the card's");
	copy_file(path, copy);
	raw_exec(copy, "CREATE INDEX i ON rows (value)");
	expect_refused(copy, "tables are not the card's");
	/* an extra header row */
	copy_file(path, copy);
	raw_exec(copy, "INSERT INTO meta VALUES ('sealcheck', x'00')");
	expect_refused(copy, "header rows");
	/* and the untouched copy still opens */
	copy_file(path, copy);
	{
		vc_store_key k = { .file = keypath };

		assert_int_equal(vc_store_open(copy, &k, &st), VC_STORE_OK);
		assert_true(same_as_filled(st));
		vc_store_free(&st);
	}
}

/*
 * an older copy of the file: any row, or the state record, put back from
 * it is seen; the whole file put back is not (nothing outside the file
 * remembers the version; docs/security.md)
 */
static void
test_tamper_rollback(void **unused)
{
	char old[320], copy[320], sql[1024];
	vc_store *st = NULL;
	uint64_t v_old, v_new, u;

	(void)unused;
	in_dir(old, sizeof(old), "old.db");
	in_dir(copy, sizeof(copy), "copy.db");
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	fill(st);
	v_old = vc_store_version(st);
	vc_store_free(&st);
	copy_file(path, old);
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
	/* spend: the balance goes down, a log record is added */
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	assert_int_equal(vc_store_put_u64(st, "purse", "balance", 45),
	    VC_STORE_OK);
	assert_int_equal(vc_store_put(st, "audit", "rec.301",
	    (const uint8_t *)"spent", 5), VC_STORE_OK);
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	v_new = vc_store_version(st);
	vc_store_free(&st);
	assert_true(v_new > v_old);

	/* each row that differs, put back alone from the old copy */
	{
		sqlite3 *db;
		sqlite3_stmt *q;
		int changed = 0;

		snprintf(sql, sizeof(sql), "ATTACH '%s' AS old", old);
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT hex(id) FROM rows "
		    "EXCEPT SELECT hex(id) FROM old.rows WHERE value IN (SELECT "
		    "value FROM main.rows) UNION SELECT hex(id) FROM old.rows "
		    "WHERE value NOT IN (SELECT value FROM main.rows)", -1, &q,
		    NULL), SQLITE_OK);
		while (sqlite3_step(q) == SQLITE_ROW) {
			char one[1024];

			copy_file(path, copy);
			snprintf(one, sizeof(one), "ATTACH '%s' AS old; DELETE FROM "
			    "rows WHERE hex(id) = '%s'; INSERT INTO rows SELECT * "
			    "FROM old.rows WHERE hex(id) = '%s'", old,
			    sqlite3_column_text(q, 0), sqlite3_column_text(q, 0));
			raw_exec(copy, one);
			expect_refused(copy, "restored from an older copy");
			changed++;
		}
		sqlite3_finalize(q);
		sqlite3_close(db);
		/* the balance, the state record, the new log record */
		assert_true(changed >= 2);
	}
	/* the old state record with the new rows */
	copy_file(path, copy);
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS old; UPDATE meta SET value = "
	    "(SELECT value FROM old.meta WHERE name = 'state') WHERE name = "
	    "'state'", old);
	raw_exec(copy, sql);
	expect_refused(copy, "changed outside the card");
	/* the old rows with the new state record */
	copy_file(path, copy);
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS old; DELETE FROM rows; "
	    "INSERT INTO rows SELECT * FROM old.rows", old);
	raw_exec(copy, sql);
	expect_refused(copy, "changed outside the card");

	/* the whole old file: a consistent older card, version and all */
	copy_file(old, copy);
	{
		vc_store_key k = { .file = keypath };

		assert_int_equal(vc_store_open(copy, &k, &st), VC_STORE_OK);
		assert_true(vc_store_version(st) == v_old);
		assert_int_equal(vc_store_get_u64(st, "purse", "balance", &u),
		    VC_STORE_OK);
		assert_true(u == 12345);
		vc_store_free(&st);
	}
}

/*
 * the file changed under a running card: SQLite reads pages again once
 * they leave its cache (a store three times its 2 MB), and each read is
 * checked against the tag the card keeps; the first changed row stops the
 * card, and no read ever returns a value the card did not write
 */
static void
test_tamper_running(void **unused)
{
	enum { ROWS = 6000, LEN = 700 };
	uint8_t v[LEN], b[LEN];
	char name[32];
	vc_store *st = NULL;
	sqlite3 *db;
	sqlite3_stmt *q;
	wk_buf buf;
	bool batch;
	int fd, corrupt = 0, same = 0;

	(void)unused;
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	for (int i = 0; i < ROWS; i++) {
		memset(v, i & 0xFF, sizeof(v));
		snprintf(name, sizeof(name), "r%d", i);
		assert_int_equal(vc_store_put(st, "t", name, v, sizeof(v)),
		    VC_STORE_OK);
	}
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	vc_store_free(&st);
	/* where each sealed value is in the file, read with the card stopped */
	{
		size_t n, k = 0;
		uint8_t *d = read_file(path, &n);
		off_t *at = calloc(ROWS, sizeof(*at));

		assert_non_null(at);
		assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
		    NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM rows",
		    -1, &q, NULL), SQLITE_OK);
		while (sqlite3_step(q) == SQLITE_ROW && k < ROWS) {
			const uint8_t *p = memmem(d, n, sqlite3_column_blob(q, 0),
			    (size_t)sqlite3_column_bytes(q, 0));

			if (p != NULL)
				at[k++] = (off_t)(p - d) + 100;
		}
		sqlite3_finalize(q);
		sqlite3_close(db);
		assert_true(k > ROWS / 2);
		/* the card starts on the good file, then one bit of every
		 * sealed value changes under it */
		assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
		fd = open(path, O_RDWR);
		assert_true(fd >= 0);
		for (size_t i = 0; i < k; i++) {
			uint8_t x = d[at[i]] ^ 0x04;

			assert_int_equal(pwrite(fd, &x, 1, at[i]), 1);
		}
		close(fd);
		free(at);
		free(d);
	}
	/* the reads of one batch (an audit page's) are checked the same */
	batch = vc_store_read_begin(st);
	for (int i = 0; i < ROWS; i++) {
		int rc;

		snprintf(name, sizeof(name), "r%d", i);
		wk_buf_init_fixed(&buf, b, sizeof(b));
		rc = vc_store_get(st, "t", name, &buf);
		if (rc == VC_STORE_CORRUPT) {
			corrupt++;
			continue;
		}
		assert_int_equal(rc, VC_STORE_OK);
		memset(v, i & 0xFF, sizeof(v));
		assert_memory_equal(b, v, sizeof(v));
		same++;
	}
	vc_store_read_end(st, batch);
	print_message("running card: %d good reads (its cache), then %d refused\n",
	    same, corrupt);
	assert_true(corrupt > 0);
	/* once seen, nothing more: no command, no read, no write */
	assert_int_equal(vc_store_begin(st), VC_STORE_CORRUPT);
	wk_buf_init_fixed(&buf, b, sizeof(b));
	assert_int_equal(vc_store_get(st, "t", "r0", &buf), VC_STORE_CORRUPT);
	assert_int_equal(vc_store_put(st, "t", "x", v, 1), VC_STORE_CORRUPT);
	assert_non_null(strstr(vc_store_errmsg(st), "changed outside the card"));
	vc_store_free(&st);
	/* and it does not start again */
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_CORRUPT);
}

/* ---- the seal key's sources ---- */

static const uint8_t pass1[] = "correct horse battery staple";
static const uint8_t pass2[] = "another passphrase";

static void
test_passphrase(void **unused)
{
	vc_store_key k = { .passphrase = pass1, .passphrase_len = sizeof(pass1) - 1 };
	vc_store_key wrong = { .passphrase = pass2, .passphrase_len = sizeof(pass2) - 1 };
	vc_store_key file = { .file = keypath };
	vc_store *st = NULL;
	char copy[320];
	sqlite3 *db;

	(void)unused;
	in_dir(copy, sizeof(copy), "copy.db");
	assert_int_equal(vc_store_create(path, &k, &st), VC_STORE_OK);
	/* no key file is made for a passphrase */
	assert_true(access(keypath, F_OK) != 0);
	put(st, "a", "x");
	vc_store_free(&st);
	assert_int_equal(vc_store_open(path, &k, &st), VC_STORE_OK);
	get_expect(st, "a", "x");
	vc_store_free(&st);
	assert_int_equal(vc_store_open(path, &wrong, &st), VC_STORE_CORRUPT);
	assert_non_null(strstr(vc_store_errmsg(NULL), "passphrase does not open"));
	{
		uint8_t key[32];

		randombytes_buf(key, sizeof(key));
		write_file(keypath, key, sizeof(key));
	}
	assert_int_equal(vc_store_open(path, &file, &st), VC_STORE_CORRUPT);
	assert_non_null(strstr(vc_store_errmsg(NULL), "sealed with a passphrase"));
	unlink(keypath);
	/* Argon2id limits raised in the file: refused before any hashing */
	copy_file(path, copy);
	assert_int_equal(sqlite3_open(copy, &db), SQLITE_OK);
	{
		uint8_t rec[256];
		sqlite3_stmt *q;
		int n;

		assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM meta "
		    "WHERE name = 'seal'", -1, &q, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		n = sqlite3_column_bytes(q, 0);
		assert_true(n > 18 && n <= (int)sizeof(rec));
		memcpy(rec, sqlite3_column_blob(q, 0), (size_t)n);
		sqlite3_finalize(q);
		/* memlimit, bytes 10..17: 1 TiB */
		memcpy(rec + 10, "\0\0\1\0\0\0\0\0", 8);
		assert_int_equal(sqlite3_prepare_v2(db, "UPDATE meta SET value = ? "
		    "WHERE name = 'seal'", -1, &q, NULL), SQLITE_OK);
		sqlite3_bind_blob(q, 1, rec, n, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(q), SQLITE_DONE);
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	assert_int_equal(vc_store_open(copy, &k, &st), VC_STORE_CORRUPT);
	assert_non_null(strstr(vc_store_errmsg(NULL), "out of range"));
	/* and a key-file store asked for a passphrase */
	unlink(path);
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	vc_store_free(&st);
	assert_int_equal(vc_store_open(path, &k, &st), VC_STORE_CORRUPT);
	assert_non_null(strstr(vc_store_errmsg(NULL), "sealed with a key file"));
}

static void
test_rekey(void **unused)
{
	vc_store_key pk = { .passphrase = pass1, .passphrase_len = sizeof(pass1) - 1 };
	vc_store_key nk = { .file = NULL };
	vc_store *st = NULL;
	char newkey[320], old[320], sql[1024];
	uint64_t v;

	(void)unused;
	in_dir(newkey, sizeof(newkey), "new.key");
	in_dir(old, sizeof(old), "old.db");
	nk.file = newkey;
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	fill(st);
	v = vc_store_version(st);
	/* key file to passphrase */
	assert_int_equal(vc_store_rekey(st, &pk), VC_STORE_OK);
	assert_true(vc_store_version(st) == v + 1);
	assert_true(same_as_filled(st));
	vc_store_free(&st);
	copy_file(path, old);
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_CORRUPT);
	assert_int_equal(vc_store_open(path, &pk, &st), VC_STORE_OK);
	assert_true(same_as_filled(st));
	/* passphrase to a new key file, made 0600 */
	assert_int_equal(vc_store_rekey(st, &nk), VC_STORE_OK);
	vc_store_free(&st);
	assert_int_equal(vc_store_open(path, &pk, &st), VC_STORE_CORRUPT);
	assert_int_equal(vc_store_open(path, &nk, &st), VC_STORE_OK);
	assert_true(same_as_filled(st));
	vc_store_free(&st);
	/* the old seal record put back: the old passphrase opens nothing,
	 * the data key changed with it */
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS old; UPDATE meta SET value = "
	    "(SELECT value FROM old.meta WHERE name = 'seal') WHERE name = "
	    "'seal'", old);
	raw_exec(path, sql);
	assert_int_equal(vc_store_open(path, &pk, &st), VC_STORE_CORRUPT);
	assert_non_null(strstr(vc_store_errmsg(NULL), "changed outside"));
}

/* ---- format 1 ---- */

static void
v1_seal(const uint8_t key[32], const char *applet, const char *name,
    const void *v, size_t n, uint8_t *out)
{
	uint8_t ad[128];
	size_t a = strlen(applet), k = strlen(name);

	memcpy(ad, applet, a);
	ad[a] = 0;
	memcpy(ad + a + 1, name, k);
	randombytes_buf(out, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 24, NULL, v, n, ad,
	    a + 1 + k, NULL, out, key);
}

static void
v1_put(sqlite3 *db, const char *applet, const char *name, const void *v,
    size_t n)
{
	sqlite3_stmt *q;

	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO kv VALUES (?, ?, ?)",
	    -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_text(q, 1, applet, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, v, (int)n, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
}

/* a store as format 1 wrote it: meta, kv with clear values and sealed
 * secrets, the audit log's own table */
static void
make_v1(const char *p, const uint8_t key[32], unsigned n_rec)
{
	static const uint8_t serial[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const char check_ad[] = "walletkey seal check";
	uint8_t check[40], sealed[64], rec[86];
	sqlite3 *db;
	sqlite3_stmt *q;

	unlink(p);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL;"
	    "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);"
	    "CREATE TABLE kv (applet TEXT NOT NULL, key TEXT NOT NULL,"
	    " value BLOB NOT NULL, PRIMARY KEY (applet, key)) WITHOUT ROWID;"
	    "CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, rec BLOB NOT NULL);"
	    "INSERT INTO meta VALUES ('magic', CAST('walletkey-card-store' AS BLOB));"
	    "INSERT INTO meta VALUES ('version', x'01');"
	    "INSERT INTO meta VALUES ('serial', x'0102030405060708');",
	    NULL, NULL, NULL), SQLITE_OK);
	(void)serial;
	randombytes_buf(check, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(check + 24, NULL, NULL, 0,
	    (const uint8_t *)check_ad, sizeof(check_ad), NULL, check, key);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO meta VALUES "
	    "('sealcheck', ?)", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_blob(q, 1, check, sizeof(check), SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	v1_put(db, "t", "a", "clear value a", 13);
	v1_put(db, "purse", "balance", "\0\0\0\0\0\0\x30\x39", 8);
	v1_put(db, "piv", "pin.hash", "unsealed pin hash of format 1", 30);
	v1_put(db, "t", "e", "", 0);
	v1_seal(key, "piv", "mgm", "management key!!", 16, sealed);
	v1_put(db, "piv", "mgm", sealed, 16 + 40);
	for (unsigned i = 1; i <= n_rec; i++) {
		memset(rec, (int)i, sizeof(rec));
		assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO audit_log "
		    "VALUES (?, ?)", -1, &q, NULL), SQLITE_OK);
		sqlite3_bind_int64(q, 1, i);
		sqlite3_bind_blob(q, 2, rec, sizeof(rec), SQLITE_STATIC);
		assert_int_equal(sqlite3_step(q), SQLITE_DONE);
		sqlite3_finalize(q);
	}
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	chmod(p, 0600);
}

static void
check_upgraded(vc_store *st, unsigned n_rec)
{
	uint8_t b[128], rec[86];
	char name[32];
	uint64_t u;
	wk_buf buf;

	get_expect(st, "a", "clear value a");
	get_expect(st, "e", "");
	assert_int_equal(vc_store_get_u64(st, "purse", "balance", &u),
	    VC_STORE_OK);
	assert_true(u == 12345);
	wk_buf_init_fixed(&buf, b, sizeof(b));
	assert_int_equal(vc_store_get_secret(st, "piv", "mgm", &buf), VC_STORE_OK);
	assert_int_equal(buf.len, 16);
	assert_memory_equal(b, "management key!!", 16);
	wk_buf_init_fixed(&buf, b, sizeof(b));
	assert_int_equal(vc_store_get(st, "piv", "pin.hash", &buf), VC_STORE_OK);
	assert_memory_equal(b, "unsealed pin hash of format 1", 30);
	for (unsigned i = 1; i <= n_rec; i++) {
		snprintf(name, sizeof(name), "rec.%u", i);
		memset(rec, (int)i, sizeof(rec));
		wk_buf_init_fixed(&buf, b, sizeof(b));
		assert_int_equal(vc_store_get(st, "audit", name, &buf),
		    VC_STORE_OK);
		assert_int_equal(buf.len, sizeof(rec));
		assert_memory_equal(b, rec, sizeof(rec));
	}
}

static void
test_upgrade_v1(void **unused)
{
	uint8_t key[32];
	vc_store_key pk = { .passphrase = pass1, .passphrase_len = sizeof(pass1) - 1 };
	vc_store *st = NULL;
	uint8_t *d;
	size_t n;

	(void)unused;
	randombytes_buf(key, sizeof(key));
	write_file(keypath, key, sizeof(key));
	make_v1(path, key, 40);
	/* a passphrase cannot open format 1; nor can another key */
	assert_int_equal(vc_store_open(path, &pk, &st), VC_STORE_CORRUPT);
	assert_non_null(strstr(vc_store_errmsg(NULL), "format 1"));
	{
		uint8_t other[32];
		char op[320];
		vc_store_key ok;

		in_dir(op, sizeof(op), "other.key");
		randombytes_buf(other, sizeof(other));
		write_file(op, other, sizeof(other));
		ok.file = op;
		ok.passphrase = NULL;
		ok.passphrase_len = 0;
		assert_int_equal(vc_store_open(path, &ok, &st), VC_STORE_CORRUPT);
		assert_non_null(strstr(vc_store_errmsg(NULL), "does not belong"));
	}
	assert_true(in_files(path, "unsealed pin hash", 17));
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
	check_upgraded(st, 40);
	put(st, "a", "after");
	vc_store_free(&st);
	/* nothing of format 1 left in clear */
	d = read_file(path, &n);
	assert_null(memmem(d, n, "unsealed pin hash", 17));
	assert_null(memmem(d, n, "clear value a", 13));
	assert_null(memmem(d, n, "audit_log", 9));
	free(d);
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
	get_expect(st, "a", "after");
	vc_store_free(&st);
}

/* kill -9 during the upgrade: format 1 whole, or format 2 whole */
static void
test_upgrade_crash(void **unused)
{
	uint8_t key[32];
	vc_store *st = NULL;
	int upgraded = 0, rounds = 8;

	(void)unused;
	randombytes_buf(key, sizeof(key));
	write_file(keypath, key, sizeof(key));
	for (int r = 0; r < rounds; r++) {
		int status;
		pid_t pid;

		make_v1(path, key, 3000);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(vc_store_open(path, NULL, &st) == VC_STORE_OK ? 0 : 3);
		usleep((useconds_t)(2000 + randombytes_uniform(400000)));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (WIFEXITED(status)) {
			assert_int_equal(WEXITSTATUS(status), 0);
			upgraded++;
		}
		assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
		check_upgraded(st, 3000);
		vc_store_free(&st);
	}
	print_message("upgrade crash test: %d kills, %d finished first\n",
	    rounds, upgraded);
}

/*
 * the crash test: a child commits (a, b) = (n, n) in a loop and reports each
 * committed n through a pipe; it is killed at a random moment. The parent
 * reopens: a == b always, and n is at least the last one reported.
 */
static void
child_loop(int wfd)
{
	vc_store *st = NULL;
	uint64_t n = 0;

	if (vc_store_open(path, NULL, &st) != VC_STORE_OK)
		_exit(3);
	if (vc_store_get_u64(st, "t", "a", &n) != VC_STORE_OK)
		n = 0;
	for (;;) {
		n++;
		vc_store_begin(st);
		if (vc_store_put_u64(st, "t", "a", n) != VC_STORE_OK ||
		    vc_store_put(st, "t", "pad", (const uint8_t *)path,
		    (size_t)(n % 200)) != VC_STORE_OK ||
		    vc_store_put_u64(st, "t", "b", n) != VC_STORE_OK ||
		    (n % 3 == 0 && vc_store_del(st, "t", "pad") != VC_STORE_OK) ||
		    vc_store_commit(st) != VC_STORE_OK)
			_exit(4);
		if (write(wfd, &n, sizeof(n)) != (ssize_t)sizeof(n))
			_exit(5);
	}
}

static void
test_crash(void **unused)
{
	vc_store *st = NULL;
	uint64_t a, b, reported = 0, x, version = 0;
	int rounds = getenv("VC_STORE_CRASH_ROUNDS") != NULL ?
	    atoi(getenv("VC_STORE_CRASH_ROUNDS")) : 25;

	(void)unused;
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	vc_store_free(&st);
	for (int r = 0; r < rounds; r++) {
		int p[2], status;
		pid_t pid;

		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			child_loop(p[1]);
		}
		close(p[1]);
		usleep((useconds_t)(1000 + randombytes_uniform(40000)));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		while (read(p[0], &x, sizeof(x)) == (ssize_t)sizeof(x))
			reported = x;
		close(p[0]);

		/* the whole store checks out after every kill */
		if (vc_store_open(path, NULL, &st) != VC_STORE_OK)
			fail_msg("after kill %d: %s", r, vc_store_errmsg(NULL));
		a = b = 0;
		if (vc_store_get_u64(st, "t", "a", &a) == VC_STORE_OK)
			assert_int_equal(vc_store_get_u64(st, "t", "b", &b),
			    VC_STORE_OK);
		assert_true(a == b);
		assert_true(a >= reported);
		/* the version counter never goes back */
		assert_true(vc_store_version(st) >= version);
		version = vc_store_version(st);
		vc_store_free(&st);
	}
	print_message("crash test: %d kills, %llu commits\n", rounds,
	    (unsigned long long)reported);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_abort_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_and_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_flips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passphrase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
