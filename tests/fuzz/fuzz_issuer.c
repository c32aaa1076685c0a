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

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "iss.h"
#include "wk_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* a fixed card key (test-only, public) so seeds signed by it verify and
 * the fuzzer reaches the checks behind the signature */
#define FUZZ_CARD_ID "0102030405060708"
#define FUZZ_PAN "6222000000000001"
static const char fuzz_card_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgf6mtLn+qmCeEuFO2\n"
    "rUQBu/thrv5JUKsmGy1ts2hTQP6hRANCAASdHa9zM4rNty3IZDJYc9ceh8B0CK8S\n"
    "LdPZg+VHGj92Lw11xNBHhEQExzZ6BfchvaFGNxfEex3ZlKRYz9X+DNE1\n"
    "-----END PRIVATE KEY-----\n";

static iss *fz;
static char fz_dir[256];

static void
cleanup(void)
{
	static const char *const files[] = { "issuer.db", "issuer.db-wal",
	    "issuer.db-shm", "issuer.key" };
	char path[300];

	iss_free(&fz);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fz_dir, files[i]);
		unlink(path);
	}
	rmdir(fz_dir);
}

static void
enrol_fixed_card(void)
{
	BIO *bio = BIO_new_mem_buf(fuzz_card_key, -1);
	EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	X509_REQ *r = X509_REQ_new();
	unsigned char *der = NULL;
	char b64[2048];
	json_t *req = NULL, *resp = NULL;
	iss_err e = { 0 };
	int n;

	if (k == NULL || r == NULL || X509_NAME_add_entry_by_txt(
	    X509_REQ_get_subject_name(r), "CN", MBSTRING_ASC,
	    (const unsigned char *)FUZZ_CARD_ID, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(r, k) != 1 || X509_REQ_sign(r, k, EVP_sha256()) <= 0 ||
	    (n = i2d_X509_REQ(r, &der)) <= 0)
		abort();
	sodium_bin2base64(b64, sizeof(b64), der, (size_t)n,
	    sodium_base64_VARIANT_ORIGINAL);
	req = json_pack("{s:s, s:s, s:s, s:s}", "pan", FUZZ_PAN, "password",
	    "password1", "card_id", FUZZ_CARD_ID, "csr", b64);
	if (iss_enrol(fz, req, &resp, &e) != 0) {
		fprintf(stderr, "fuzz_issuer: enrol: %s\n", e.message);
		abort();
	}
	json_decref(req);
	json_decref(resp);
	OPENSSL_free(der);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	BIO_free(bio);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *dir = fz_dir, url[300], key[300], err[256];
	iss_unlock u = { 0 };
	iss_db *db = NULL;
	iss_err e = { 0 };
	int64_t id;

	(void)argc;
	(void)argv;
	snprintf(fz_dir, sizeof(fz_dir), "%s/wk-fuzz-issuer.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		abort();
	snprintf(url, sizeof(url), "sqlite:%s/issuer.db", dir);
	snprintf(key, sizeof(key), "%s/issuer.key", dir);
	u.key_file = key;
	if (iss_db_open(url, &db, err, sizeof(err)) != 0 ||
	    iss_schema_migrate(db, err, sizeof(err)) != 0 ||
	    iss_keys_create(db, &u, ISS_DEFAULT_CEILING, err, sizeof(err)) != 0 ||
	    iss_account_create(db, FUZZ_PAN, "fuzz", "password1", &id,
	    &e) != 0 || iss_deposit(db, FUZZ_PAN, 100000, &e) != 0) {
		fprintf(stderr, "fuzz_issuer: %s %s\n", err, e.message);
		abort();
	}
	iss_db_free(&db);
	if (iss_open(url, &u, 4, &fz, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_issuer: %s\n", err);
		abort();
	}
	atexit(cleanup);
	enrol_fixed_card();
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
	static const char *const fields[] = { "request", "receipt", "refusal",
	    "proof", "csr", "request" };
	json_t *resp = NULL;
	iss_err e = { 0 };
	wk_msg m;
	const char *route;
	char *body = NULL;
	size_t r, blen = size - 1;

	if (size == 0)
		return 0;
	(void)wk_msg_parse(data + 1, size - 1, &m, NULL, NULL);
	r = (size_t)(data[0] & 0x7F) % (sizeof(routes) / sizeof(routes[0]));
	route = routes[r];
	if ((data[0] & 0x80) != 0) {
		/* the rest is a raw message: wrap it as the route's JSON field so
		 * the fuzzer reaches the message checks behind JSON and base64 */
		size_t cap = sodium_base64_ENCODED_LEN(size - 1,
		    sodium_base64_VARIANT_ORIGINAL);

		if ((body = malloc(cap + 32)) == NULL)
			return 0;
		blen = (size_t)snprintf(body, cap + 32, "{\"%s\":\"", fields[r]);
		sodium_bin2base64(body + blen, cap, data + 1, size - 1,
		    sodium_base64_VARIANT_ORIGINAL);
		blen += strlen(body + blen);
		body[blen++] = '"';
		body[blen++] = '}';
		body[blen] = '\0';
	}
	(void)iss_handle(fz, r == 5 ? "GET" : "POST", route,
	    body ? body : (const char *)data + 1, blen, &resp, &e);
	json_decref(resp);
	free(body);
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
