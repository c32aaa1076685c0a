/*
 * what every benchmark measures with: the monotonic clock, the median of
 * a run's figures, a count from the environment (bounded)
 */
#ifndef BENCH_STAT_H
#define BENCH_STAT_H

#include <stdlib.h>
#include <time.h>

/* seconds on the monotonic clock */
static inline double
bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* the median of v[0..n) (v is sorted) */
static inline double
bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* the number in $name, dflt when unset, within 1..max */
static inline int
bench_env_int(const char *name, int dflt, int max)
{
	const char *v = getenv(name);
	int n = v != NULL ? atoi(v) : dflt;

	return n < 1 ? 1 : n > max ? max : n;
}

#endif
