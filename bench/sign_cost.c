/*
 * bench/sign --cost: the cost of one operation of a path, for profilers
 * (sign.h)
 */
#include "sign.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_stat.h"

/* ---- the cost of one operation (--cost) ------------------------------- */

/* nanoseconds of CPU the process pid has used, all its threads
 * (/proc/PID/task/TID/schedstat: time on the CPU), or -1 */
static double
proc_cpu_ns(long pid)
{
	char path[64], line[128];
	double sum = 0;
	DIR *d;
	struct dirent *de;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%.16s/schedstat",
		    pid, de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		if (fgets(line, sizeof(line), fp) != NULL)
			sum += strtod(line, NULL);
		fclose(fp);
	}
	closedir(d);
	return sum;
}

static double
self_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* the loop a profiler counts (valgrind --tool=callgrind
 * --toggle-collect=cost_loop): n operations of the path, nothing else */
__attribute__((noinline)) static int
cost_loop(path_ctx *c, long n)
{
	for (long i = 0; i < n; i++)
		if (path_one(c) != 0)
			return -1;
	return 0;
}

/*
 * n operations of one path after 200 to warm up; prints per operation the
 * wall time, this process's CPU and each watched process's CPU (the card,
 * pcscd), in microseconds, as NAME=VALUE on one line. hook (a shell
 * command) runs with "begin" before the n and "end" after them: a
 * profiler of the card starts and stops there.
 */
int
run_cost(path_ctx *c, long n, const char *label, const char *hook,
    const char *const *wname, const long *wpid, int nwatch)
{
	char cmd[512];
	double w0[MAX_WATCH], w1[MAX_WATCH], t0, t1, c0, c1;
	int rc = 0;

	for (int i = 0; i < 200; i++)
		if (path_one(c) != 0)
			return -1;
	if (hook != NULL) {
		snprintf(cmd, sizeof(cmd), "%s begin", hook);
		if (system(cmd) != 0)
			return -1;
	}
	for (int i = 0; i < nwatch; i++)
		w0[i] = proc_cpu_ns(wpid[i]);
	c0 = self_cpu_ns();
	t0 = bench_now_s();
	rc = cost_loop(c, n);
	t1 = bench_now_s();
	c1 = self_cpu_ns();
	for (int i = 0; i < nwatch; i++)
		w1[i] = proc_cpu_ns(wpid[i]);
	if (hook != NULL) {
		snprintf(cmd, sizeof(cmd), "%s end", hook);
		if (system(cmd) != 0)
			rc = -1;
	}
	if (rc != 0) {
		fprintf(stderr, "bench_sign: %s: %s\n", label, sign_why);
		return -1;
	}
	printf("%s n=%ld wall_us=%.2f client_us=%.2f", label, n,
	    (t1 - t0) * 1e6 / (double)n, (c1 - c0) / 1e3 / (double)n);
	for (int i = 0; i < nwatch; i++)
		printf(" %s_us=%.2f", wname[i], w0[i] >= 0 && w1[i] >= 0 ?
		    (w1[i] - w0[i]) / 1e3 / (double)n : -1.0);
	printf("\n");
	return 0;
}
