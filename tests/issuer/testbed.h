/* the issuer a CMocka test runs against (test_issuer.c, test_iss_pay.c):
 * a scratch folder, the database (SQLite in the folder, or PostgreSQL at
 * $WK_PG_URL when WK_TEST_DB=pg), the server on a free loopback port, and
 * their removal. Include after <cmocka.h> and the test's fixture `T`, which
 * has at least: char dir[], url[], key[], mfg_pem[], base[]; iss_db *db;
 * iss *is; iss_server *srv; sim_http *h. */
#ifndef TESTBED_H
#define TESTBED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "iss.h"
#include "sim_card.h"

/* the folder (TMPDIR/NAME.XXXXXX), the key file's path and the database's
 * URL; -1 when one cannot be had */
static inline int
testbed_begin(const char *name)
{
	const char *which = getenv("WK_TEST_DB");

	if (sodium_init() < 0)
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(T.dir, sizeof(T.dir), "%s/%s.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name);
	if (mkdtemp(T.dir) == NULL)
		return -1;
	snprintf(T.key, sizeof(T.key), "%s/issuer.key", T.dir);
	if (which != NULL && strcmp(which, "pg") == 0) {
		if (getenv("WK_PG_URL") == NULL)
			return -1;
		snprintf(T.url, sizeof(T.url), "%s", getenv("WK_PG_URL"));
	} else {
		snprintf(T.url, sizeof(T.url), "sqlite:%s/issuer.db", T.dir);
	}
	snprintf(T.mfg_pem, sizeof(T.mfg_pem), "%s/mfg.pem", T.dir);
	return 0;
}

/* the issuer opened and serving on 127.0.0.1, its URL in T.base */
static inline int
testbed_serve(const iss_unlock *u)
{
	char err[512];

	if (iss_open(T.url, u, 16, &T.is, err, sizeof(err)) != 0 ||
	    iss_server_start(T.is, "127.0.0.1:0", NULL, NULL, &T.srv, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	snprintf(T.base, sizeof(T.base), "http://127.0.0.1:%u",
	    (unsigned)iss_server_port(T.srv));
	return 0;
}

/* the client, server, issuer and database closed, the folder removed */
static inline void
testbed_end(void)
{
	char cmd[256];

	sim_http_free(&T.h);
	iss_server_stop(&T.srv);
	iss_free(&T.is);
	iss_db_free(&T.db);
	sim_factory_free();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "teardown: cannot remove %s\n", T.dir);
	curl_global_cleanup();
}

#endif
