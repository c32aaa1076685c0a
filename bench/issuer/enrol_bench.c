/*
 * bench/issuer/enrol_bench: what the attestation check costs an enrolment
 * (docs/attestation.md). Against the issuer alone (HTTP server in-process,
 * SQLite file, cards simulated in-process with a test manufacturer):
 *
 *   - the chain check alone (wk_attest_verify: two signatures, the path to
 *     the manufacturer CA, the card id, slot, origin and key);
 *   - whole enrolments, one client: CSR, attestation, the account password
 *     (Argon2id), the certificate, the transaction, the personalisation;
 *   - the same enrolments less the chain check's median time.
 *
 * WK_BENCH_RUNS (default 5) runs of WK_BENCH_ENROLMENTS (default 10)
 * enrolments and of 500 chain checks each; medians printed. Never fails
 * on time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "iss.h"
#include "sim_card.h"
#include "wk_attest.h"
#include "../bench_stat.h"

#define CHECKS 500
#define MAX_RUNS 25
#define MAX_ENROLMENTS 200

/* seconds per chain check, over CHECKS checks of one genuine chain */
static double
time_checks(X509_STORE *store, sim_card *c)
{
	json_t *a = sim_card_attestation(c, NULL, 0x82, WK_ATTEST_ORIGIN_GENERATED);
	uint8_t d0[WK_ATTEST_CERT_MAX], d1[WK_ATTEST_CERT_MAX];
	const uint8_t *der[2] = { d0, d1 };
	size_t len[2];
	long n0, n1;
	double t0;

	if (a == NULL || (n0 = sim_unb64(json_array_get(a, 0), d0, sizeof(d0))) <= 0 ||
	    (n1 = sim_unb64(json_array_get(a, 1), d1, sizeof(d1))) <= 0)
		exit(1);
	json_decref(a);
	len[0] = (size_t)n0;
	len[1] = (size_t)n1;
	t0 = bench_now_s();
	for (int i = 0; i < CHECKS; i++)
		if (wk_attest_verify(store, der, len, 2, c->id, 0x82, c->key, NULL,
		    NULL, 0) != WK_ATTEST_OK) {
			fprintf(stderr, "enrol_bench: the chain does not verify\n");
			exit(1);
		}
	return (bench_now_s() - t0) / CHECKS;
}

int
main(void)
{
	char dir[] = "/tmp/wk-enrol-bench.XXXXXX", url[512], key[128], mfg[128];
	char err[512];
	int runs = bench_env_int("WK_BENCH_RUNS", 5, MAX_RUNS);
	int per = bench_env_int("WK_BENCH_ENROLMENTS", 10, MAX_ENROLMENTS);
	double check[MAX_RUNS], enrol[MAX_RUNS], tc, te;
	iss_unlock u = { 0 };
	iss_db *db = NULL;
	iss *is = NULL;
	iss_server *srv = NULL;
	iss_err e = { 0 };
	sim_http *h = NULL;
	char base[64];
	size_t added;
	int64_t id;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(key, sizeof(key), "%s/issuer.key", dir);
	snprintf(mfg, sizeof(mfg), "%s/mfg.pem", dir);
	snprintf(url, sizeof(url), "sqlite:%s/issuer.db", dir);
	u.key_file = key;
	if (sim_factory_init(mfg) != 0 ||
	    iss_db_open(url, &db, err, sizeof(err)) != 0 ||
	    iss_schema_migrate(db, err, sizeof(err)) != 0 ||
	    iss_keys_create(db, &u, ISS_DEFAULT_CEILING, err, sizeof(err)) != 0 ||
	    iss_mfg_add(db, &u, mfg, &added, err, sizeof(err)) != 0) {
		fprintf(stderr, "enrol_bench: %s\n", err);
		return 1;
	}
	if (iss_account_create(db, "6222000000000001", "bench", "password1", &id,
	    &e) != 0) {
		fprintf(stderr, "enrol_bench: %s\n", e.message);
		return 1;
	}
	if (iss_open(url, &u, 8, &is, err, sizeof(err)) != 0 ||
	    iss_server_start(is, "127.0.0.1:0", NULL, NULL, &srv, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "enrol_bench: %s\n", err);
		return 1;
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%u",
	    (unsigned)iss_server_port(srv));
	if (sim_http_new(base, &h) != 0)
		return 1;
	for (int r = 0; r < runs; r++) {
		sim_card *cards[MAX_ENROLMENTS];
		double t0;

		/* the check alone, on the issuer's own trusted store */
		if (sim_card_new("6222000000000001", &cards[0]) != 0)
			return 1;
		check[r] = time_checks(is->keys.mfg, cards[0]);
		sim_card_free(&cards[0]);
		/* whole enrolments of fresh cards */
		for (int i = 0; i < per; i++)
			if (sim_card_new("6222000000000001", &cards[i]) != 0)
				return 1;
		t0 = bench_now_s();
		for (int i = 0; i < per; i++)
			if (sim_enrol(h, cards[i], "password1", NULL) != 200) {
				fprintf(stderr, "enrol_bench: enrolment failed\n");
				return 1;
			}
		enrol[r] = (bench_now_s() - t0) / per;
		for (int i = 0; i < per; i++)
			sim_card_free(&cards[i]);
	}
	tc = bench_median(check, runs);
	te = bench_median(enrol, runs);
	printf("enrolment and its attestation check (SQLite, one client, median of"
	    " %d runs of %d enrolments and %d checks)\n", runs, per, CHECKS);
	printf("%-44s %12s %10s\n", "", "per second", "ms each");
	printf("%-44s %12.1f %10.3f\n", "chain check alone (wk_attest_verify)",
	    1 / tc, tc * 1e3);
	printf("%-44s %12.1f %10.3f\n", "enrolments with the chain check", 1 / te,
	    te * 1e3);
	printf("%-44s %12.1f %10.3f\n", "enrolments without it (less its median)",
	    te > tc ? 1 / (te - tc) : 0, (te - tc) * 1e3);
	printf("the check is %.1f%% of an enrolment (the Argon2id password check"
	    " dominates)\n", 100 * tc / te);
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
