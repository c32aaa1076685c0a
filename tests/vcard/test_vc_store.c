/* the card store (vcard/vc_store.c) on a real SQLite file */
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

static int
setup(void **unused)
{
	const char *tmp = getenv("TMPDIR");

	(void)unused;
	snprintf(dir, sizeof(dir), "%.200s/test_vc_store.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/card.db", dir);
	snprintf(keypath, sizeof(keypath), "%s/walletkey-seal.key", dir);
	return 0;
}

static int
teardown(void **unused)
{
	static const char *const files[] = { "card.db", "card.db-wal",
	    "card.db-shm", "walletkey-seal.key", "other.key", "junk.db" };
	char p[320];

	(void)unused;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%.256s/%s", dir, files[i]);
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
test_create_and_reopen(void **unused)
{
	uint8_t serial[WK_SERIAL_LEN];
	struct stat sb;
	vc_store *st = NULL;

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
	vc_store_free(&st);
	assert_null(st);
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_EXISTS);
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
	assert_memory_equal(vc_store_serial(st), serial, sizeof(serial));
	vc_store_free(&st);
}

static void
test_commit_abort_checkpoint(void **unused)
{
	vc_store *st = NULL;
	uint64_t u;

	(void)unused;
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	/* commit of a command that wrote nothing is a no-op */
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	get_expect(st, "a", NULL);
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);

	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	put(st, "a", "one");
	get_expect(st, "a", "one");
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);

	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	put(st, "a", "two");
	put(st, "b", "x");
	vc_store_abort(st);
	get_expect(st, "a", "one");
	get_expect(st, "b", NULL);
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);

	/* checkpoint keeps what came before, abort drops only what came after */
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	put(st, "a", "three");
	assert_int_equal(vc_store_checkpoint(st), VC_STORE_OK);
	put(st, "a", "four");
	vc_store_abort(st);
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	get_expect(st, "a", "three");

	/* raw statements through vc_store_db() share the command's fate */
	assert_int_equal(vc_store_begin(st), VC_STORE_OK);
	assert_int_equal(sqlite3_exec(vc_store_db(st),
	    "CREATE TABLE t_log (n INTEGER)", NULL, NULL, NULL), SQLITE_OK);
	vc_store_abort(st);
	assert_int_equal(vc_store_commit(st), VC_STORE_OK);
	assert_int_equal(sqlite3_exec(vc_store_db(st),
	    "SELECT * FROM t_log", NULL, NULL, NULL), SQLITE_ERROR);

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
	put(st, "e", "");
	get_expect(st, "e", "");
	assert_int_equal(vc_store_get_u64(st, "t", "e", &u), VC_STORE_CORRUPT);
	vc_store_free(&st);

	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
	get_expect(st, "a", NULL);
	get_expect(st, "e", "");
	assert_int_equal(vc_store_get_u64(st, "t", "n", &u), VC_STORE_OK);
	vc_store_free(&st);
}

static void
test_secrets(void **unused)
{
	static const uint8_t secret[] = "a pin hash, say";
	uint8_t b[64], sealed[128];
	wk_buf buf;
	vc_store *st = NULL;
	sqlite3_stmt *q;
	int n;

	(void)unused;
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	assert_int_equal(vc_store_put_secret(st, "piv", "pin", secret,
	    sizeof(secret)), VC_STORE_OK);
	wk_buf_init_fixed(&buf, b, sizeof(b));
	assert_int_equal(vc_store_get_secret(st, "piv", "pin", &buf),
	    VC_STORE_OK);
	assert_int_equal(buf.len, sizeof(secret));
	assert_memory_equal(b, secret, sizeof(secret));
	/* not stored in the clear */
	wk_buf_init_fixed(&buf, sealed, sizeof(sealed));
	assert_int_equal(vc_store_get(st, "piv", "pin", &buf), VC_STORE_OK);
	assert_int_equal(buf.len, sizeof(secret) + 40);
	assert_null(memmem(sealed, buf.len, secret, 5));
	n = (int)buf.len;

	/* moved under another name: the associated data no longer matches */
	assert_int_equal(vc_store_put(st, "piv", "puk", sealed, (size_t)n),
	    VC_STORE_OK);
	assert_int_equal(vc_store_put(st, "pi", "vpin", sealed, (size_t)n),
	    VC_STORE_OK);
	wk_buf_init_fixed(&buf, b, sizeof(b));
	assert_int_equal(vc_store_get_secret(st, "piv", "puk", &buf),
	    VC_STORE_CORRUPT);
	assert_int_equal(buf.len, 0);
	assert_int_equal(vc_store_get_secret(st, "pi", "vpin", &buf),
	    VC_STORE_CORRUPT);
	/* one flipped bit anywhere */
	for (int i = 0; i < n; i += 7) {
		sealed[i] ^= 0x10;
		assert_int_equal(vc_store_put(st, "piv", "x", sealed, (size_t)n),
		    VC_STORE_OK);
		sealed[i] ^= 0x10;
		wk_buf_reset(&buf);
		assert_int_equal(vc_store_get_secret(st, "piv", "x", &buf),
		    VC_STORE_CORRUPT);
	}
	/* too short to be sealed, too long for the caller's buffer */
	assert_int_equal(vc_store_put(st, "piv", "x", sealed, 10), VC_STORE_OK);
	assert_int_equal(vc_store_get_secret(st, "piv", "x", &buf),
	    VC_STORE_CORRUPT);
	wk_buf_init_fixed(&buf, b, 4);
	assert_int_equal(vc_store_get_secret(st, "piv", "pin", &buf),
	    VC_STORE_ERROR);
	assert_int_equal(vc_store_get_secret(st, "piv", "none", &buf),
	    VC_STORE_NOT_FOUND);
	/* an empty secret */
	assert_int_equal(vc_store_put_secret(st, "piv", "e", NULL, 0),
	    VC_STORE_OK);
	assert_int_equal(vc_store_get_secret(st, "piv", "e", &buf), VC_STORE_OK);
	assert_int_equal(buf.len, 0);

	q = NULL;
	assert_int_equal(sqlite3_prepare_v2(vc_store_db(st),
	    "SELECT count(*) FROM kv", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_true(sqlite3_column_int(q, 0) >= 4);
	sqlite3_finalize(q);
	vc_store_free(&st);

	/* and after reopening */
	assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
	wk_buf_init_fixed(&buf, b, sizeof(b));
	assert_int_equal(vc_store_get_secret(st, "piv", "pin", &buf),
	    VC_STORE_OK);
	assert_memory_equal(b, secret, sizeof(secret));
	vc_store_free(&st);
}

static void
write_file(const char *p, const void *data, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void
test_foreign_and_corrupt(void **unused)
{
	uint8_t key[32];
	char other[320], junk[320];
	vc_store *st = NULL;
	sqlite3 *db;

	(void)unused;
	snprintf(other, sizeof(other), "%s/other.key", dir);
	snprintf(junk, sizeof(junk), "%s/junk.db", dir);
	/* not SQLite at all */
	write_file(junk, "this is not a card store, not at all", 37);
	assert_int_equal(vc_store_open(junk, keypath, &st), VC_STORE_NOT_FOUND);
	assert_int_equal(vc_store_create(path, NULL, &st), VC_STORE_OK);
	vc_store_free(&st);
	assert_int_equal(vc_store_open(junk, keypath, &st), VC_STORE_CORRUPT);
	assert_non_null(strstr(vc_store_errmsg(NULL), "not a walletkey"));
	/* SQLite, but somebody else's */
	unlink(junk);
	assert_int_equal(sqlite3_open(junk, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE meta (name, value);"
	    "INSERT INTO meta VALUES ('magic', 'other');", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(vc_store_open(junk, keypath, &st), VC_STORE_CORRUPT);
	/* the wrong seal key, a short key file, a missing key file */
	randombytes_buf(key, sizeof(key));
	write_file(other, key, sizeof(key));
	assert_int_equal(vc_store_open(path, other, &st), VC_STORE_CORRUPT);
	assert_non_null(strstr(vc_store_errmsg(NULL), "seal key"));
	write_file(other, key, 31);
	assert_int_equal(vc_store_open(path, other, &st), VC_STORE_ERROR);
	unlink(other);
	assert_int_equal(vc_store_open(path, other, &st), VC_STORE_NOT_FOUND);
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
	assert_int_equal(vc_store_create(path, other, &st), VC_STORE_OK);
	vc_store_free(&st);
	assert_int_equal(vc_store_open(path, other, &st), VC_STORE_OK);
	vc_store_free(&st);
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
	uint64_t a, b, reported = 0, x;
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

		assert_int_equal(vc_store_open(path, NULL, &st), VC_STORE_OK);
		a = b = 0;
		if (vc_store_get_u64(st, "t", "a", &a) == VC_STORE_OK)
			assert_int_equal(vc_store_get_u64(st, "t", "b", &b),
			    VC_STORE_OK);
		assert_true(a == b);
		assert_true(a >= reported);
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
		cmocka_unit_test_setup_teardown(test_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_and_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
