/*
 * what the issuer benchmarks (bench/issuer/issuer_bench.c,
 * bench/confirm/pay_bench.c) share: the issuer's database made in a scratch
 * folder, and the client loop: n client threads run a worker for a while,
 * each records its latencies in its bench_lat, and bench_run gives the
 * rate, p50, p99 and mean over all of them.
 */
#ifndef BENCH_CLIENTS_H
#define BENCH_CLIENTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "iss.h"
#include "sim_card.h"
#include "../bench_stat.h"

#define BENCH_MAX_CLIENTS 64

/* one client's measurements */
typedef struct bench_lat {
	double *lat;		/* seconds per operation */
	size_t n, cap;
	long errors;
	long last_error;	/* the HTTP status of the last failure */
} bench_lat;

static inline void
bench_record(bench_lat *l, double t)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		if ((l->lat = realloc(l->lat, l->cap * sizeof(double))) == NULL)
			exit(1);
	}
	l->lat[l->n++] = t;
}

typedef struct bench_result {
	double rate;		/* operations per second */
	double p50, p99, mean;	/* ms */
	long errors;
	long last_error;	/* of a client that had errors; 0 if none */
} bench_result;

/*
 * n clients (client i at clients + i * stride, its bench_lat at lat_off in
 * it) run worker for secs; *stop is set when the time is up
 */
static inline bench_result
bench_run(void *(*worker)(void *), void *clients, size_t stride,
    size_t lat_off, int n, double secs, volatile int *stop)
{
	pthread_t th[BENCH_MAX_CLIENTS];
	bench_result r = { 0 };
	double t0, el, *all;
	size_t total = 0, k = 0;
	bench_lat *l;

#define BENCH_LAT(i) ((bench_lat *)(void *)((char *)clients + \
	(size_t)(i) * stride + lat_off))
	*stop = 0;
	for (int i = 0; i < n; i++) {
		BENCH_LAT(i)->n = 0;
		BENCH_LAT(i)->errors = 0;
	}
	t0 = bench_now_s();
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, worker,
		    (char *)clients + (size_t)i * stride);
	usleep((useconds_t)(secs * 1e6));
	*stop = 1;
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	el = bench_now_s() - t0;
	for (int i = 0; i < n; i++) {
		l = BENCH_LAT(i);
		total += l->n;
		r.errors += l->errors;
		if (l->errors > 0)
			r.last_error = l->last_error;
	}
	if (total == 0 || (all = malloc(total * sizeof(double))) == NULL)
		return r;
	for (int i = 0; i < n; i++) {
		l = BENCH_LAT(i);
		memcpy(all + k, l->lat, l->n * sizeof(double));
		k += l->n;
	}
#undef BENCH_LAT
	for (size_t i = 0; i < total; i++)
		r.mean += all[i];
	r.mean = r.mean / (double)total * 1e3;
	qsort(all, total, sizeof(double), bench_cmp_double);
	r.p50 = all[total / 2] * 1e3;
	r.p99 = all[(size_t)((double)(total - 1) * 0.99)] * 1e3;
	free(all);
	r.rate = (double)total / el;
	return r;
}

/* the cards a benchmark enrols: card_of(i) for i in 0..n */
typedef sim_card *bench_card_fn(int i);

typedef struct bench_enrol {
	const char *prog, *base;
	int n, next;
	bench_card_fn *card_of;
	pthread_mutex_t mu;
} bench_enrol;

static inline void *
bench_enrol_worker(void *arg)
{
	bench_enrol *e = arg;
	sim_http *h;

	if (sim_http_new(e->base, &h) != 0)
		return NULL;
	for (;;) {
		int i;

		pthread_mutex_lock(&e->mu);
		i = e->next++;
		pthread_mutex_unlock(&e->mu);
		if (i >= e->n)
			break;
		if (sim_enrol(h, e->card_of(i), "password1", NULL) != 200) {
			fprintf(stderr, "%s: enrolment %d failed\n", e->prog, i);
			exit(1);
		}
	}
	sim_http_free(&h);
	return NULL;
}

/* enrols the n cards (password "password1") at the issuer at base, by two
 * client threads; exits when one fails */
static inline void
bench_enrol_all(const char *prog, const char *base, int n,
    bench_card_fn *card_of)
{
	bench_enrol e = { .prog = prog, .base = base, .n = n,
	    .card_of = card_of, .mu = PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[2];

	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, bench_enrol_worker, &e);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
}

/*
 * the issuer's database for a benchmark named prog: dir (a mkdtemp
 * template) made, its key file, the URL (pg: $WK_PG_URL, else SQLite in
 * dir; pg_hint follows the complaint when it is missing), schema, keys and
 * a manufacturer; 0, or 1 after saying why
 */
static inline int
bench_issuer_db(const char *prog, bool pg, const char *pg_hint, char *dir,
    char *url, size_t url_cap, char *key, size_t key_cap, char *mfg,
    size_t mfg_cap, iss_unlock *u, iss_db **db)
{
	char err[512];
	size_t added;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(key, key_cap, "%s/issuer.key", dir);
	if (pg) {
		if (getenv("WK_PG_URL") == NULL) {
			fprintf(stderr, "%s: pg needs WK_PG_URL%s\n", prog, pg_hint);
			return 1;
		}
		snprintf(url, url_cap, "%s", getenv("WK_PG_URL"));
	} else {
		snprintf(url, url_cap, "sqlite:%s/issuer.db", dir);
	}
	u->key_file = key;
	snprintf(mfg, mfg_cap, "%s/mfg.pem", dir);
	if (sim_factory_init(mfg) != 0 ||
	    iss_db_open(url, db, err, sizeof(err)) != 0 ||
	    iss_schema_migrate(*db, err, sizeof(err)) != 0 ||
	    iss_keys_create(*db, u, ISS_DEFAULT_CEILING, err, sizeof(err)) != 0 ||
	    iss_mfg_add(*db, u, mfg, &added, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	return 0;
}

#endif
