/*
 * fuzz target for the issuer's request parsing: the first byte picks a
 * route, the rest is the request body, handled by iss_handle against a
 * real issuer on a temporary SQLite database (as the HTTP server would);
 * the same bytes also go through wk_msg_parse. Without libFuzzer, main()
 * replays the files named on the command line (the seed corpus in
 * tests/fuzz/corpus/fuzz_issuer/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "iss.h"
#include "wk_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static iss *fz;
static char fz_dir[] = "/tmp/wk-fuzz-issuer.XXXXXX";

static void
cleanup(void)
{
	static const char *const files[] = { "issuer.db", "issuer.db-wal",
	    "issuer.db-shm", "issuer.key" };
	char path[128];

	iss_free(&fz);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fz_dir, files[i]);
		unlink(path);
	}
	rmdir(fz_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *dir = fz_dir, url[128], key[128], err[256];
	iss_unlock u = { 0 };
	iss_db *db = NULL;
	iss_err e = { 0 };
	int64_t id;

	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		abort();
	snprintf(url, sizeof(url), "sqlite:%s/issuer.db", dir);
	snprintf(key, sizeof(key), "%s/issuer.key", dir);
	u.key_file = key;
	if (iss_db_open(url, &db, err, sizeof(err)) != 0 ||
	    iss_schema_migrate(db, err, sizeof(err)) != 0 ||
	    iss_keys_create(db, &u, ISS_DEFAULT_CEILING, err, sizeof(err)) != 0 ||
	    iss_account_create(db, "6222000000000001", "fuzz", "password1", &id,
	    &e) != 0 || iss_deposit(db, "6222000000000001", 100000, &e) != 0) {
		fprintf(stderr, "fuzz_issuer: %s %s\n", err, e.message);
		abort();
	}
	iss_db_free(&db);
	if (iss_open(url, &u, 4, &fz, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_issuer: %s\n", err);
		abort();
	}
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const routes[] = {
		"/v1/loads",
		"/v1/loads/00112233445566778899aabbccddeeff/receipt",
		"/v1/loads/00112233445566778899aabbccddeeff/refusal",
		"/v1/loads/00112233445566778899aabbccddeeff/recover",
		"/v1/enrolments",
		"/v1/loads/00112233445566778899aabbccddeeff",
	};
	json_t *resp = NULL;
	iss_err e = { 0 };
	wk_msg m;
	const char *route;

	if (size == 0)
		return 0;
	(void)wk_msg_parse(data + 1, size - 1, &m, NULL, NULL);
	route = routes[data[0] % (sizeof(routes) / sizeof(routes[0]))];
	(void)iss_handle(fz, data[0] % 6 == 5 ? "GET" : "POST", route,
	    (const char *)data + 1, size - 1, &resp, &e);
	json_decref(resp);
	return 0;
}

#ifndef WK_LIBFUZZER
#include <dirent.h>
#include <sys/stat.h>

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	int rc = -1;

	if (f == NULL)
		goto out;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto out;
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "fuzz_issuer: %s: cannot read\n", path);
	if (f != NULL)
		fclose(f);
	free(buf);
	return rc;
}

int
main(int argc, char **argv)
{
	int n = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *de;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if ((d = opendir(argv[i])) == NULL)
				return 1;
			while ((de = readdir(d)) != NULL) {
				char path[4096];

				if (de->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
				if (replay_file(path) != 0)
					return 1;
				n++;
			}
			closedir(d);
		} else {
			if (replay_file(argv[i]) != 0)
				return 1;
			n++;
		}
	}
	printf("fuzz_issuer: replayed %d inputs\n", n);
	return 0;
}
#endif
