/*
 * bench/issuer: remote loads per second and p99 latency against the issuer
 * alone (HTTP server in-process, cards simulated in-process, no PC/SC),
 * with 1, 8 and 64 concurrent clients. One load = request + grant +
 * receipt: two HTTP round trips and two database transactions.
 *
 *   issuer_bench sqlite            a temporary SQLite file
 *   issuer_bench pg                $WK_PG_URL (see run.sh), and pgbench's
 *                                  TPC-B-like TPS on the same server
 *   issuer_bench pg-pool           64 clients on one instance whose
 *                                  connection pool holds 8, 16, 32
 *                                  (walletkey-issuer serve's default)
 *                                  and 72 connections
 *   issuer_bench pg-scale          1, 2 and 4 issuer instances (each its own
 *                                  HTTP server and connection pool, in this
 *                                  process) on the one PostgreSQL, 64
 *                                  clients spread over them
 *
 * WK_BENCH_SECONDS (default 5) sets the time per client count;
 * WK_BENCH_POOL (default 32, walletkey-issuer serve's) the issuer's pool
 * of database connections in the pg and sqlite runs;
 * WK_BENCH_ACCOUNTS (default 64: each card loads from an account of its
 * own, as a holder's card does) how many accounts the 64 cards share.
 * WK_PG_FSYNC (set by tests/issuer/with_pg.sh) names the server's fsync.
 * Each row prints the split of a load (issue 17): statements and database
 * round-trip time per load, commits and their time, waits for a pooled
 * connection, and the rest (HTTP, JSON, signatures, queueing) of the mean
 * latency. Prints figures; never fails on time.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <sys/resource.h>

#include <curl/curl.h>
#include <sodium.h>

#include "bench_clients.h"

#define MAX_CLIENTS 64

typedef struct client {
	sim_card *card;
	const char *base;	/* the issuer instance it talks to */
	bench_lat m;
	double cpu;		/* the thread's CPU seconds in its last run */
} client;

static char base[64];
static char bases[4][64];
static volatile int stop;
static client clients[MAX_CLIENTS];

static sim_card *
card_of(int i)
{
	return clients[i].card;
}

static double
thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* this process's CPU seconds (the issuer's threads and the clients') */
static double
process_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* the CPU seconds of the PostgreSQL server so far: the postmaster (its pid
 * in $WK_PG_HOST/data/postmaster.pid, tests/issuer/with_pg.sh) and its
 * children (the backends, the WAL writer, ...); -1 when unknown */
static double
pg_cpu_s(void)
{
	const char *host = getenv("WK_PG_HOST");
	char path[512], line[1024];
	long pm = 0, tick = sysconf(_SC_CLK_TCK);
	unsigned long long sum = 0;
	DIR *d;
	struct dirent *de;
	FILE *f;

	if (host == NULL || tick <= 0)
		return -1;
	snprintf(path, sizeof(path), "%s/data/postmaster.pid", host);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld", &pm) != 1)
		pm = 0;
	fclose(f);
	if (pm <= 0 || (d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		unsigned long long ut, st;
		long pid = strtol(de->d_name, NULL, 10), ppid;
		char *rp;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		rp = fgets(line, sizeof(line), f) != NULL ?
		    strrchr(line, ')') : NULL;
		fclose(f);
		/* after "(comm)": state ppid ... utime stime (fields 14, 15) */
		if (rp == NULL || sscanf(rp + 2, "%*c %ld %*d %*d %*d %*d %*u %*u"
		    " %*u %*u %*u %llu %llu", &ppid, &ut, &st) != 3)
			continue;
		if (pid == pm || ppid == pm)
			sum += ut + st;
	}
	closedir(d);
	return (double)sum / (double)tick;
}

static void *
load_worker(void *arg)
{
	client *c = arg;
	sim_http *h;

	if (sim_http_new(c->base != NULL ? c->base : base, &h) != 0)
		return NULL;
	while (!stop) {
		double t0 = bench_now_s();
		long st = sim_load(h, c->card, 1, NULL);

		if (st != 200) {
			c->m.errors++;
			continue;
		}
		bench_record(&c->m, bench_now_s() - t0);
	}
	sim_http_free(&h);
	c->cpu = thread_cpu_s();
	return NULL;
}

/* runs n clients for secs; returns loads per second */
static double
run(int n, double secs, double *p50, double *p99, double *mean, long *errors)
{
	bench_result r = bench_run(load_worker, clients, sizeof(clients[0]),
	    offsetof(client, m), n, secs, &stop);

	*p50 = r.p50;
	*p99 = r.p99;
	*mean = r.mean;
	*errors = r.errors;
	return r.rate;
}

/* pgbench -S? no: the default TPC-B-like script, on its own database of
 * the same server; returns TPS or 0 */
static double
pgbench_tps(int clients_n, double secs)
{
	const char *bin = getenv("WK_PG_BINDIR"), *host = getenv("WK_PG_HOST"),
	    *port = getenv("WK_PG_PORT");
	char cmd[1024], line[512];
	double tps = 0;
	FILE *p;

	if (bin == NULL || host == NULL || port == NULL)
		return 0;
	snprintf(cmd, sizeof(cmd), "%s/pgbench -h '%s' -p %s -U postgres -n -c %d"
	    " -j %d -T %d pgbench 2>/dev/null", bin, host, port, clients_n,
	    clients_n < 2 ? 1 : 2, (int)secs);
	if ((p = popen(cmd, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), p) != NULL)
		if (strncmp(line, "tps = ", 6) == 0)
			tps = strtod(line + 6, NULL);
	pclose(p);
	return tps;
}

static int
pgbench_init(void)
{
	const char *bin = getenv("WK_PG_BINDIR"), *host = getenv("WK_PG_HOST"),
	    *port = getenv("WK_PG_PORT");
	char cmd[1024];

	if (bin == NULL || host == NULL || port == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "%s/createdb -h '%s' -p %s -U postgres pgbench"
	    " && %s/pgbench -h '%s' -p %s -U postgres -i -s 1 -q pgbench"
	    " >/dev/null 2>&1", bin, host, port, bin, host, port);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const int counts[] = { 1, 8, 64 };
	const char *which = argc > 1 ? argv[1] : "sqlite";
	bool scale = strcmp(which, "pg-scale") == 0;
	bool pools = strcmp(which, "pg-pool") == 0;
	bool pg = strcmp(which, "pg") == 0 || scale || pools;
	double secs = getenv("WK_BENCH_SECONDS") ? atof(getenv("WK_BENCH_SECONDS")) : 5;
	char dir[] = "/tmp/wk-issuer-bench.XXXXXX", url[512], key[128], err[512];
	char mfg[128];
	iss_unlock u = { 0 };
	iss_db *db = NULL;
	iss *is = NULL;
	iss_server *srv = NULL;
	iss_err e = { 0 };
	int64_t id;
	bool have_pgbench = false;
	int accounts = getenv("WK_BENCH_ACCOUNTS") ?
	    atoi(getenv("WK_BENCH_ACCOUNTS")) : MAX_CLIENTS;

	size_t pool_n = getenv("WK_BENCH_POOL") ?
	    strtoul(getenv("WK_BENCH_POOL"), NULL, 10) : ISS_POOL_DEFAULT;

	if (accounts < 1 || accounts > MAX_CLIENTS)
		accounts = MAX_CLIENTS;
	if (pool_n < 1 || pool_n > 1000)
		pool_n = ISS_POOL_DEFAULT;
	if (bench_issuer_db("issuer_bench", pg, " (run.sh)", dir, url, sizeof(url), key,
	    sizeof(key), mfg, sizeof(mfg), &u, &db) != 0)
		return 1;
	for (int i = 0; i < accounts; i++) {
		char pan[20];

		snprintf(pan, sizeof(pan), "62220000%08d", i);
		if (iss_account_create(db, pan, "bench", "password1", &id, &e) != 0 ||
		    iss_deposit(db, pan, 2000000000, &e) != 0) {
			fprintf(stderr, "issuer_bench: %s\n", e.message);
			return 1;
		}
	}
	for (int i = 0; i < MAX_CLIENTS; i++) {
		char pan[20];

		snprintf(pan, sizeof(pan), "62220000%08d", i % accounts);
		if (sim_card_new(pan, &clients[i].card) != 0)
			return 1;
	}
	if (iss_open(url, &u, pool_n, &is, err, sizeof(err)) != 0 ||
	    iss_server_start(is, "127.0.0.1:0", NULL, NULL, &srv, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "issuer_bench: %s\n", err);
		return 1;
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%u",
	    (unsigned)iss_server_port(srv));
	bench_enrol_all("issuer_bench", base, MAX_CLIENTS, card_of);
	if (pools) {
		/* 64 clients on one instance whose pool holds 8 to 72
		 * connections: what the pool's size does to the tail */
		static const size_t sizes[] = { 8, 16, 32, MAX_CLIENTS + 8 };

		printf("one issuer on PostgreSQL (fsync=%s), %d clients, its pool"
		    " of N connections, %.0f s per row\n", getenv("WK_PG_FSYNC") ?
		    getenv("WK_PG_FSYNC") : "?", MAX_CLIENTS, secs);
		printf("%6s %10s %8s %8s %7s %14s\n", "pool", "loads/s", "p50 ms",
		    "p99 ms", "p99/p50", "pool wait ms");
		iss_server_stop(&srv);
		iss_free(&is);
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			double p50, p99, lps, mean = 0, n;
			long errors;
			iss_db_stats st;

			if (iss_open(url, &u, sizes[k], &is, err, sizeof(err)) != 0 ||
			    iss_server_start(is, "127.0.0.1:0", NULL, NULL, &srv,
			    err, sizeof(err)) != 0) {
				fprintf(stderr, "issuer_bench: %s\n", err);
				return 1;
			}
			snprintf(bases[0], sizeof(bases[0]), "http://127.0.0.1:%u",
			    (unsigned)iss_server_port(srv));
			for (int i = 0; i < MAX_CLIENTS; i++)
				clients[i].base = bases[0];
			iss_db_stats_reset();
			lps = run(MAX_CLIENTS, secs, &p50, &p99, &mean, &errors);
			iss_db_stats_get(&st);
			n = lps * secs > 0 ? lps * secs : 1;
			printf("%6zu %10.1f %8.2f %8.2f %7.1f %14.2f%s\n", sizes[k],
			    lps, p50, p99, p50 > 0 ? p99 / p50 : 0,
			    (double)st.pool_wait_ns / 1e6 / n,
			    errors ? " (errors)" : "");
			fflush(stdout);
			iss_server_stop(&srv);
			iss_free(&is);
		}
		goto done;
	}
	if (scale) {
		/* loads/s against 1, 2 and 4 instances on the one database */
		static const int ninst[] = { 1, 2, 4 };

		printf("issuer instances on one PostgreSQL (fsync=%s), %d clients"
		    " spread over them, %.0f s per row\n", getenv("WK_PG_FSYNC") ?
		    getenv("WK_PG_FSYNC") : "?", MAX_CLIENTS, secs);
		printf("%9s %10s %8s %8s %10s %10s\n", "instances", "loads/s",
		    "p50 ms", "p99 ms", "COMMIT ms", "stmt ms");
		iss_server_stop(&srv);
		iss_free(&is);
		for (size_t k = 0; k < sizeof(ninst) / sizeof(ninst[0]); k++) {
			iss *ins[4] = { NULL };
			iss_server *sv[4] = { NULL };
			double p50, p99, lps, mean = 0, n;
			long errors;
			iss_db_stats st;

			for (int i = 0; i < ninst[k]; i++) {
				if (iss_open(url, &u, (size_t)(MAX_CLIENTS / ninst[k] +
				    4), &ins[i], err, sizeof(err)) != 0 ||
				    iss_server_start(ins[i], "127.0.0.1:0", NULL, NULL,
				    &sv[i], err, sizeof(err)) != 0) {
					fprintf(stderr, "issuer_bench: %s\n", err);
					return 1;
				}
				snprintf(bases[i], sizeof(bases[i]),
				    "http://127.0.0.1:%u", (unsigned)iss_server_port(sv[i]));
			}
			for (int i = 0; i < MAX_CLIENTS; i++)
				clients[i].base = bases[i % ninst[k]];
			iss_db_stats_reset();
			lps = run(MAX_CLIENTS, secs, &p50, &p99, &mean, &errors);
			iss_db_stats_get(&st);
			n = lps * secs > 0 ? lps * secs : 1;
			printf("%9d %10.1f %8.2f %8.2f %10.2f %10.2f%s\n", ninst[k], lps,
			    p50, p99, (double)st.commit_ns / 1e6 / n,
			    (double)(st.stmt_ns + st.begin_ns) / 1e6 / n,
			    errors ? " (errors)" : "");
			fflush(stdout);
			for (int i = 0; i < ninst[k]; i++) {
				iss_server_stop(&sv[i]);
				iss_free(&ins[i]);
			}
		}
		printf("per load: COMMIT = the two commits' time, stmt = the other "
		    "statements' (the database's share)\n");
		goto done;
	}
	if (pg)
		have_pgbench = pgbench_init() == 0;

	printf("issuer remote load on %s%s%s, %.0f s per row (load = request +"
	    " receipt), %d cards on %d accounts, a pool of %zu connections\n",
	    pg ? "PostgreSQL" : "SQLite", pg ? ", fsync=" : "", pg ?
	    (getenv("WK_PG_FSYNC") ? getenv("WK_PG_FSYNC") : "?") : "", secs,
	    MAX_CLIENTS, accounts, pool_n);
	printf("%8s %10s %8s %8s %7s %6s", "clients", "loads/s", "p50 ms",
	    "p99 ms", "p99/p50", "errors");
	if (have_pgbench)
		printf(" %11s %8s", "pgbench tps", "ratio");
	printf("\n");
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		double p50, p99, lps, mean = 0, n;
		long errors;
		iss_db_stats st;

		double cpu0 = process_cpu_s(), pg0 = pg ? pg_cpu_s() : -1;
		double cpu_all, cpu_cl = 0, cpu_pg = -1;

		iss_db_stats_reset();
		lps = run(counts[i], secs, &p50, &p99, &mean, &errors);
		iss_db_stats_get(&st);
		cpu_all = process_cpu_s() - cpu0;
		if (pg0 >= 0 && (cpu_pg = pg_cpu_s()) >= 0)
			cpu_pg -= pg0;
		for (int k = 0; k < counts[i]; k++)
			cpu_cl += clients[k].cpu;
		printf("%8d %10.1f %8.2f %8.2f %7.1f %6ld", counts[i], lps, p50,
		    p99, p50 > 0 ? p99 / p50 : 0, errors);
		if (have_pgbench) {
			double tps = pgbench_tps(counts[i], secs);

			printf(" %11.1f %8.3f", tps, tps > 0 ? lps / tps : 0);
		}
		printf("\n");
		/* the split of one load, means over the row */
		n = lps * secs > 0 ? lps * secs : 1;
		printf("%8s per load (ms): %.1f statements %.2f, %.1f BEGIN %.2f%s,"
		    " %.1f COMMIT %.2f, pool waits %.2f (%.2f), the rest %.2f of the"
		    " mean %.2f (HTTP, JSON, signatures)\n", "",
		    (double)st.statements / n, (double)st.stmt_ns / 1e6 / n,
		    (double)st.begins / n, (double)st.begin_ns / 1e6 / n,
		    pg ? "" : " (the writer's turn)",
		    (double)st.commits / n, (double)st.commit_ns / 1e6 / n,
		    (double)st.pool_waits / n, (double)st.pool_wait_ns / 1e6 / n,
		    mean - (double)(st.stmt_ns + st.begin_ns + st.commit_ns +
		    st.pool_wait_ns) / 1e6 / n, mean);
		/* the CPU a load costs, where it runs: on the shared cores the
		 * sum bounds loads/s (cores / CPU per load) */
		printf("%8s CPU per load (ms): issuer %.2f, the simulated cards"
		    " and their HTTP clients %.2f", "", (cpu_all - cpu_cl) * 1e3 / n,
		    cpu_cl * 1e3 / n);
		if (cpu_pg >= 0)
			printf(", PostgreSQL %.2f", cpu_pg * 1e3 / n);
		printf("\n");
		fflush(stdout);
	}
done:
	{
		int64_t fl;
		iss_res *r = NULL;

		iss_db_exec(db, "SELECT (SELECT SUM(balance) FROM accounts WHERE kind"
		    " <> 'external') + (SELECT balance FROM accounts WHERE kind ="
		    " 'external')", NULL, 0, &r);
		fl = iss_res_int(r, 0, 0);
		iss_res_free(&r);
		printf("money conserved after the run: %s\n", fl == 0 ? "yes" : "NO");
	}
	iss_server_stop(&srv);
	iss_free(&is);
	iss_db_free(&db);
	for (int i = 0; i < MAX_CLIENTS; i++) {
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
