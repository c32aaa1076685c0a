/*
 * bench/confirm: the issuer's online payments per second (docs/payments.md)
 * with 1, 8 and 64 merchants at once, next to its remote loads per second
 * with as many clients, against the issuer alone (HTTP server in-process,
 * cards simulated in-process, no PC/SC). One payment = the merchant's
 * POST /v1/payments, the card's GET of its open requests (with its
 * session), the card's signed confirmation posted: three HTTP round trips,
 * two write transactions (the request, the payment).
 *
 *   pay_bench sqlite | pg       (pg: $WK_PG_URL, see ../issuer/run.sh)
 *
 * WK_BENCH_SECONDS (default 5) sets the time per row. Prints figures;
 * never fails on time.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "bench_clients.h"

#define MAX_CLIENTS 64

typedef struct client {
	int index;
	sim_card *card;
	char pan[20];
	char terminal[13];
	char auth[128];		/* "Bearer wkm_..." */
	sim_http *shop;		/* the merchant's connection, its key */
	sim_http *cardh;	/* the card's, with its session */
	bench_lat m;
	long order;	/* the last order number: unique across the rows */
} client;

static char base[64];
static volatile int stop;
static client clients[MAX_CLIENTS];
static long last_error;

static sim_card *
card_of(int i)
{
	return clients[i].card;
}

/* one payment: merchant asks, card fetches and confirms */
static long
one_payment(client *c, sim_http *shop, sim_http *card, long order)
{
	char path[128], id[33];
	json_t *req, *resp = NULL, *v;
	uint8_t msg[WK_MSG_MAX];
	wk_buf conf;
	long st, n = 0;
	size_t i;

	req = json_pack("{s:s, s:s, s:i, s:s}", "payer", c->pan, "order_id",
	    (snprintf(path, sizeof(path), "b%d-%ld", c->index, order), path),
	    "amount", 1, "description", "bench");
	st = sim_http_call(shop, "/v1/payments", req, &resp);
	json_decref(req);
	if (st != 200 || json_string_value(json_object_get(resp,
	    "payment_id")) == NULL) {
		json_decref(resp);
		return st;
	}
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(resp,
	    "payment_id")));
	json_decref(resp);
	resp = NULL;
	snprintf(path, sizeof(path), "/v1/cards/%s/payments", c->card->id_hex);
	if ((st = sim_http_call(card, path, NULL, &resp)) != 200)
		goto out;
	json_array_foreach(json_object_get(resp, "payments"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "payment_id")),
		    id) == 0)
			n = sim_unb64(json_object_get(v, "request"), msg, sizeof(msg));
	json_decref(resp);
	resp = NULL;
	st = -1;
	if (n <= 0) {
		if (getenv("PAY_BENCH_DEBUG") != NULL)
			fprintf(stderr, "request %s not in the card's list\n", id);
		goto out;
	}
	wk_buf_init_heap(&conf, WK_MSG_MAX);
	if (sim_card_pay(c->card, msg, (size_t)n, true, &conf) == 0) {
		req = json_pack("{s:o}", "confirmation", wk_b64_json(conf.p, conf.len));
		snprintf(path, sizeof(path), "/v1/payments/%s/confirmation", id);
		st = sim_http_call(card, path, req, &resp);
		if (st == 200 && (json_string_value(json_object_get(resp,
		    "status")) == NULL || strcmp(json_string_value(json_object_get(
		    resp, "status")), "paid") != 0))
			st = -1;
		if (st != 200 && getenv("PAY_BENCH_DEBUG") != NULL) {
			char *d = resp ? json_dumps(resp, JSON_COMPACT) : NULL;

			fprintf(stderr, "confirmation %ld: %s\n", st, d ? d : "-");
			free(d);
		}
		json_decref(req);
	}
	wk_buf_clear(&conf);
out:
	json_decref(resp);
	return st;
}

static void *
pay_worker(void *arg)
{
	client *c = arg;
	long st;

	while (!stop) {
		double t0 = bench_now_s();

		/* a new order id each time: the same one again is the same
		 * (already paid) payment */
		if ((st = one_payment(c, c->shop, c->cardh, ++c->order)) == 200) {
			bench_record(&c->m, bench_now_s() - t0);
		} else {
			c->m.errors++;
			c->m.last_error = st;
		}
	}
	return NULL;
}

/* the merchant's key and the card's session, once per client */
static void
connect_client(client *c)
{
	long st = -1;

	if (sim_http_new(base, &c->shop) != 0 ||
	    sim_http_new(base, &c->cardh) != 0 ||
	    sim_http_set_auth(c->shop, c->auth) != 0)
		exit(1);
	for (int i = 0; i < 30 && (st = sim_login(c->cardh, c->card,
	    WK_MSG_SCOPE_CARD)) != 200; i++)
		usleep(1100000);
	if (st != 200) {
		fprintf(stderr, "pay_bench: client %d has no session (%ld)\n",
		    c->index, st);
		exit(1);
	}
}

static void *
load_worker(void *arg)
{
	client *c = arg;
	sim_http *h;

	if (sim_http_new(base, &h) != 0)
		return NULL;
	while (!stop) {
		double t0 = bench_now_s();

		long st = sim_load(h, c->card, 1, NULL);

		if (st == 200) {
			bench_record(&c->m, bench_now_s() - t0);
		} else {
			c->m.errors++;
			c->m.last_error = st;
		}
	}
	sim_http_free(&h);
	return NULL;
}

/* n clients of worker for secs: per second, p50 and p99 in ms */
static double
run(void *(*worker)(void *), int n, double secs, double *p50, double *p99,
    long *errors)
{
	bench_result r = bench_run(worker, clients, sizeof(clients[0]),
	    offsetof(client, m), n, secs, &stop);

	*p50 = r.p50;
	*p99 = r.p99;
	*errors = r.errors;
	last_error = r.last_error;
	return r.rate;
}

int
main(int argc, char **argv)
{
	static const int counts[] = { 1, 8, 64 };
	const char *which = argc > 1 ? argv[1] : "sqlite";
	bool pg = strcmp(which, "pg") == 0;
	double secs = getenv("WK_BENCH_SECONDS") ? atof(getenv("WK_BENCH_SECONDS")) : 5;
	char dir[] = "/tmp/wk-pay-bench.XXXXXX", url[512], key[128], err[512];
	char mfg[128];
	iss_unlock u = { 0 };
	iss_db *db = NULL;
	iss *is = NULL;
	iss_server *srv = NULL;
	iss_err e = { 0 };
	int64_t id;

	if (bench_issuer_db("pay_bench", pg, "", dir, url, sizeof(url), key,
	    sizeof(key), mfg, sizeof(mfg), &u, &db) != 0)
		return 1;
	/* a payer, a card and a merchant for each client */
	for (int i = 0; i < MAX_CLIENTS; i++) {
		client *c = &clients[i];
		char k[96], name[32];

		c->index = i;
		snprintf(c->pan, sizeof(c->pan), "62229900%08d", i);
		snprintf(c->terminal, sizeof(c->terminal), "0000000b%04x", i);
		snprintf(name, sizeof(name), "bench shop %d", i);
		if (iss_account_create(db, c->pan, "bench", "password1", &id, &e) !=
		    0 || iss_deposit(db, c->pan, 2000000000, &e) != 0 ||
		    iss_merchant_create(db, c->terminal, name, &id, &e) != 0 ||
		    iss_merchant_key_new(db, c->terminal, k, sizeof(k), &e) != 0 ||
		    sim_card_new(c->pan, &c->card) != 0) {
			fprintf(stderr, "pay_bench: %s\n", e.message);
			return 1;
		}
		snprintf(c->auth, sizeof(c->auth), "Bearer %s", k);
		sodium_memzero(k, sizeof(k));
	}
	if (iss_open(url, &u, 2 * MAX_CLIENTS + 8, &is, err, sizeof(err)) != 0 ||
	    iss_server_start(is, "127.0.0.1:0", NULL, NULL, &srv, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "pay_bench: %s\n", err);
		return 1;
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%u",
	    (unsigned)iss_server_port(srv));
	/* every client's session comes from 127.0.0.1: room for all of them */
	iss_limiter_free(&is->session_limit);
	if (iss_limiter_new(4 * MAX_CLIENTS, 1, &is->session_limit) != 0)
		return 1;
	bench_enrol_all("pay_bench", base, MAX_CLIENTS, card_of);
	for (int i = 0; i < MAX_CLIENTS; i++)
		connect_client(&clients[i]);

	printf("issuer online payments on %s, %.0f s per row (payment = ask +"
	    " card's list + confirmation; load = request + receipt)\n",
	    pg ? "PostgreSQL" : "SQLite", secs);
	printf("%10s %12s %9s %9s %7s %12s %9s %7s\n", "merchants", "payments/s",
	    "p50 ms", "p99 ms", "errors", "loads/s", "p50 ms", "errors");
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		double pp50, pp99, pps, lp50, lp99, lps;
		long perr, lerr, plast, llast;

		pps = run(pay_worker, counts[i], secs, &pp50, &pp99, &perr);
		plast = last_error;
		lps = run(load_worker, counts[i], secs, &lp50, &lp99, &lerr);
		llast = last_error;
		printf("%10d %12.1f %9.2f %9.2f %7ld %12.1f %9.2f %7ld", counts[i],
		    pps, pp50, pp99, perr, lps, lp50, lerr);
		if (perr > 0 || lerr > 0)
			printf("   (last failed status: payment %ld, load %ld)",
			    plast, llast);
		printf("\n");
		fflush(stdout);
	}
	{
		iss_res *r = NULL;
		int64_t sum, merch, paid;

		iss_db_exec(db, "SELECT (SELECT SUM(balance) FROM accounts),"
		    " (SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE kind ="
		    " 'merchant'), (SELECT COALESCE(SUM(amount), 0) FROM payments"
		    " WHERE status = 'paid')", NULL, 0, &r);
		sum = iss_res_int(r, 0, 0);
		merch = iss_res_int(r, 0, 1);
		paid = iss_res_int(r, 0, 2);
		iss_res_free(&r);
		printf("money conserved after the run: %s (merchants hold the paid"
		    " payments: %s)\n", sum == 0 ? "yes" : "NO", merch == paid ?
		    "yes" : "NO");
	}
	iss_server_stop(&srv);
	iss_free(&is);
	iss_db_free(&db);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		sim_http_free(&clients[i].shop);
		sim_http_free(&clients[i].cardh);
		sim_card_free(&clients[i].card);
		free(clients[i].m.lat);
	}
	sim_factory_free();
	snprintf(err, sizeof(err), "rm -rf '%s'", dir);
	if (system(err) != 0)
		return 1;
	curl_global_cleanup();
	return 0;
}
