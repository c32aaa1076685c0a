/*
 * bench/issuer/session_bench: what the issuer's doors cost (docs/issuer.md
 * "Sessions", "Enrolment attempts"). Against the issuer alone (HTTP server
 * in-process, SQLite file, one simulated card, one client):
 *
 *   - opening a session: challenge, the card's proof (ECDSA P-256 sign,
 *     in-process here: the real card adds its APDUs), POST /v1/sessions;
 *   - a card door with its token (GET history) and without the session
 *     check's share (the same page read with the check done before);
 *   - a wrong-password enrolment for a known and for an unknown account
 *     number (one Argon2id each: the two should not differ).
 *
 * WK_BENCH_RUNS (default 5) runs of WK_BENCH_OPS (default 50) operations
 * (enrolments: a fifth of them); medians printed. Never fails on time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "iss.h"
#include "sim_card.h"
#include "../bench_stat.h"

#define MAX_RUNS 25
#define MAX_OPS 2000

static void
row(const char *what, double t)
{
	printf("%-46s %12.1f %10.3f\n", what, t > 0 ? 1 / t : 0, t * 1e3);
}

int
main(void)
{
	char dir[] = "/tmp/wk-session-bench.XXXXXX", url[512], key[128], mfg[128];
	char err[512], base[64], tok[SIM_TOKEN_MAX], hdr[SIM_TOKEN_MAX + 8];
	char path[96];
	int runs = bench_env_int("WK_BENCH_RUNS", 5, MAX_RUNS);
	int ops = bench_env_int("WK_BENCH_OPS", 50, MAX_OPS), enrols = ops / 5 + 1;
	double open_t[MAX_RUNS], door_t[MAX_RUNS], none_t[MAX_RUNS];
	double known_t[MAX_RUNS], unknown_t[MAX_RUNS], t0;
	iss_unlock u = { .key_file = key };
	iss_db *db = NULL;
	iss *is = NULL;
	iss_server *srv = NULL;
	iss_err e = { 0 };
	sim_http *h = NULL;
	sim_card *c = NULL, *x = NULL;
	json_t *resp = NULL;
	size_t added;
	int64_t id;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(key, sizeof(key), "%s/issuer.key", dir);
	snprintf(mfg, sizeof(mfg), "%s/mfg.pem", dir);
	snprintf(url, sizeof(url), "sqlite:%s/issuer.db", dir);
	if (sim_factory_init(mfg) != 0 ||
	    iss_db_open(url, &db, err, sizeof(err)) != 0 ||
	    iss_schema_migrate(db, err, sizeof(err)) != 0 ||
	    iss_keys_create(db, &u, ISS_DEFAULT_CEILING, err, sizeof(err)) != 0 ||
	    iss_mfg_add(db, &u, mfg, &added, err, sizeof(err)) != 0 ||
	    iss_account_create(db, "6222000000000001", "bench", "password1", &id,
	    &e) != 0 || iss_open(url, &u, 8, &is, err, sizeof(err)) != 0 ||
	    iss_server_start(is, "127.0.0.1:0", NULL, NULL, &srv, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "session_bench: %s%s\n", err, e.message);
		return 1;
	}
	/* one client asks it all: the per-address allowances are for floods */
	iss_limiter_free(&is->session_limit);
	iss_limiter_free(&is->enrol_limit);
	if (iss_limiter_new(1000000, 1, &is->session_limit) != 0 ||
	    iss_limiter_new(1000000, 1, &is->enrol_limit) != 0)
		return 1;
	snprintf(base, sizeof(base), "http://127.0.0.1:%u",
	    (unsigned)iss_server_port(srv));
	if (sim_http_new(base, &h) != 0 || sim_card_new("6222000000000001", &c) != 0 ||
	    sim_card_new("6222000000000001", &x) != 0 ||
	    sim_enrol(h, c, "password1", NULL) != 200)
		return 1;
	snprintf(path, sizeof(path), "/v1/audit/%s/history/1", c->id_hex);
	for (int r = 0; r < runs; r++) {
		t0 = bench_now_s();
		for (int i = 0; i < ops; i++)
			if (sim_session(h, c, WK_MSG_SCOPE_HOLDER, tok) != 200) {
				fprintf(stderr, "session_bench: no session\n");
				return 1;
			}
		open_t[r] = (bench_now_s() - t0) / ops;
		snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
		sim_http_set_auth(h, hdr);
		t0 = bench_now_s();
		for (int i = 0; i < ops; i++) {
			if (sim_http_call(h, path, NULL, &resp) != 200)
				return 1;
			json_decref(resp);
		}
		door_t[r] = (bench_now_s() - t0) / ops;
		/* the check alone, in-process: its share of the door */
		t0 = bench_now_s();
		for (int i = 0; i < ops; i++)
			if (iss_session_auth(is, hdr, c->id_hex, ISS_SCOPE_HOLDER,
			    NULL, &e) != 0)
				return 1;
		none_t[r] = (bench_now_s() - t0) / ops;
		sim_http_set_auth(h, NULL);
		/* a window's worth of failures is the limit: move past it */
		t0 = bench_now_s();
		for (int i = 0; i < enrols; i++) {
			is->clock_skew += ISS_ACCOUNT_WINDOW + 1;
			if (sim_enrol(h, x, "wrong-password", NULL) != 401)
				return 1;
		}
		known_t[r] = (bench_now_s() - t0) / enrols;
		snprintf(x->pan, sizeof(x->pan), "6222000000009999");
		t0 = bench_now_s();
		for (int i = 0; i < enrols; i++) {
			is->clock_skew += ISS_ACCOUNT_WINDOW + 1;
			if (sim_enrol(h, x, "wrong-password", NULL) != 401)
				return 1;
		}
		unknown_t[r] = (bench_now_s() - t0) / enrols;
		snprintf(x->pan, sizeof(x->pan), "6222000000000001");
	}
	printf("the issuer's doors (SQLite, one client, median of %d runs of %d"
	    " operations, %d enrolments)\n", runs, ops, enrols);
	printf("%-46s %12s %10s\n", "", "per second", "ms each");
	row("session: challenge + proof + POST /v1/sessions", bench_median(open_t, runs));
	row("a card door with its token (GET history)", bench_median(door_t, runs));
	row("  of which the token check (in-process)", bench_median(none_t, runs));
	row("wrong password, a known account number", bench_median(known_t, runs));
	row("wrong password, an unknown account number", bench_median(unknown_t, runs));
	sim_card_free(&c);
	sim_card_free(&x);
	sim_http_free(&h);
	iss_server_stop(&srv);
	iss_free(&is);
	iss_db_free(&db);
	sim_factory_free();
	snprintf(err, sizeof(err), "rm -rf '%s'", dir);
	if (system(err) != 0)
		return 1;
	curl_global_cleanup();
	return 0;
}
