/*
 * bench/audit: the audit export and its verification, on a card holding
 * N records (bench/audit/run.sh fills it), and where the time goes:
 *   card+transport  the GET PAGE round trips (255 records a page, sealed)
 *   transport       wkinfo PATTERN round trips with answers of the same size
 *   card            the difference: reading the records, sealing the page
 *   host            opening and parsing the pages; then, separately, the JSON
 *                   export written and read back in memory (the issue's
 *                   figure), the same through a file (what `walletkey audit
 *                   export --out` and `audit verify FILE` do) and every
 *                   verify check
 * Peak memory: this process (ru_maxrss) and the card process (VmHWM).
 * Medians of RUNS runs; prints figures, never fails on time.
 *
 * usage (inside tools/walletkey-sandbox): audit_bench READER CARD-PID PIN [RUNS]
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit_doc.h"
#include "walletkey.h"
#include "wk_arec.h"
#include "wk_card_id.h"
#include "../bench_stat.h"

/* this thread's CPU time: on a shared machine the wall time of host work
 * includes the waits for a core */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "bench/audit: %s: %s\n", what, wk_strerror(rc));
	exit(1);
}

static long
card_hwm_kb(const char *pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

/* the card process's time on a CPU so far (/proc/PID/schedstat, ns): the
 * card's own work, apart from its waits for a core on a shared machine */
static double
card_cpu(const char *pid)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/schedstat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return (double)ns / 1e9;
}

static long
self_maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* the transport alone: a PATTERN answer of n bytes from wkinfo */
static double
transport(wk_card *card, size_t n, uint8_t *buf)
{
	static const uint8_t aid[] = { WK_INFO_AID_BYTES };
	uint8_t len2[2] = { (uint8_t)(n >> 8), (uint8_t)n };
	size_t rl = 65536;
	uint16_t sw = 0;
	double t;
	int rc;

	if ((rc = wk_card_apdu(card, 0x00, 0xA4, 0x04, 0x0C, aid, sizeof(aid), 0,
	    buf, &rl, &sw)) != WK_OK)
		die("select wkinfo", rc);
	rl = 65536;
	t = bench_now_s();
	if ((rc = wk_card_apdu(card, 0x00, 0xEE, 0x01, 0x00, len2, 2, 65536, buf,
	    &rl, &sw)) != WK_OK || sw != 0x9000 || rl != n)
		die("pattern", rc);
	return bench_now_s() - t;
}

typedef struct run {
	double total, pages, echo, host_open, json, json_out, json_cpu, verify;
	double file, file_out, file_cpu;	/* the JSON to a file and back */
	double sel, pin, head;	/* the rest: select and status, VERIFY, head */
	double card_cpu;	/* the card process's CPU time in the page round trips */
	size_t records, bytes, npages, json_bytes;
} run;

static void
one_run(wk_card *card, const char *pin, run *r, audit_doc *keep,
    const char *card_pid)
{
	uint8_t pk[32], sk[32], nonce[16];
	uint8_t *page = malloc(65536), *echo = malloc(65536);
	size_t sizes[256], n = 0;
	wk_audit_status st;
	audit_doc d;
	wk_buf pt;
	wk_arec_page pg;
	uint64_t cursor;
	double t0, t;
	char err[128], *text;
	int rc, tries;

	if (page == NULL || echo == NULL)
		die("memory", WK_ERR_MEMORY);
	memset(r, 0, sizeof(*r));
	audit_doc_init(&d);
	wk_buf_init_heap(&pt, 65536);
	crypto_box_keypair(pk, sk);
	t0 = bench_now_s();
	if ((rc = wk_card_begin(card)) != WK_OK ||
	    (rc = wk_audit_select(card)) != WK_OK ||
	    (rc = wk_audit_get_status(card, &st)) != WK_OK)
		die("select, status", rc);
	t = bench_now_s();
	r->sel = t - t0;
	if ((rc = wk_audit_verify_pin(card, pin, strlen(pin), &tries)) != WK_OK)
		die("PIN", rc);
	r->pin = bench_now_s() - t;
	randombytes_buf(nonce, sizeof(nonce));
	t = bench_now_s();
	if ((rc = wk_audit_get_head(card, nonce, &d.head)) != WK_OK)
		die("head (is there a wallet key in slot 82?)", rc);
	r->head = bench_now_s() - t;
	d.have_head = true;
	memcpy(d.serial, "\0\0\0\0\0\0\0\0", 8);
	r->card_cpu = -card_cpu(card_pid);
	for (cursor = st.base_seq + 1; cursor <= d.head.head_seq;) {
		size_t len = 65536;

		t = bench_now_s();
		if ((rc = wk_audit_get_page(card, pk, cursor, WK_AREC_PAGE_MAX,
		    page, &len)) != WK_OK)
			die("page", rc);
		r->pages += bench_now_s() - t;
		r->bytes += len;
		if (n < 256)
			sizes[n++] = len;
		t = bench_now_s();
		wk_buf_reset(&pt);
		/* the serial is the page's associated data: try the card's */
		if (wk_arec_open(pk, sk, keep->serial, page, len, &pt) != WK_AREC_OK ||
		    wk_arec_page_parse(pt.p, pt.len, &pg) != WK_AREC_OK)
			die("open page", WK_ERR_CARD_MALFORMED);
		for (unsigned i = 0; i < pg.count; i++)
			audit_doc_add(&d, pg.records + (size_t)i * WK_AREC_LEN);
		r->host_open += bench_now_s() - t;
		cursor = pg.next_seq;
		r->npages++;
	}
	r->card_cpu += card_cpu(card_pid);
	wk_card_end(card);
	r->total = bench_now_s() - t0;
	r->records = d.n;
	/* the transport's share: the same answer sizes from wkinfo */
	for (size_t i = 0; i < n; i++)
		r->echo += transport(card, sizes[i], echo);
	/* host: the JSON export and the verification of all of it */
	memcpy(d.serial, keep->serial, 8);
	d.cert_pem = keep->cert_pem != NULL ? strdup(keep->cert_pem) : NULL;
	{
		const char *dir = getenv("WALLETKEY_SANDBOX");
		char path[4096];
		audit_doc d2;
		double tw, c0;
		size_t len, cap;
		FILE *f;
		int fd;

		/* in memory, as this bench has always measured it (the issue's
		 * figure) */
		t = bench_now_s();
		c0 = cpu_now();
		text = audit_doc_json_text(&d, NULL);
		tw = bench_now_s();
		r->json_out = tw - t;
		if (text == NULL || audit_doc_from_json(text, strlen(text), &d2,
		    err, sizeof(err)) != 0)
			die("json", WK_ERR_INTERNAL);
		r->json = bench_now_s() - t;
		r->json_cpu = cpu_now() - c0;
		r->json_bytes = strlen(text);
		free(text);
		audit_doc_free(&d2);
		/* what `walletkey audit export --format json --out FILE` writes
		 * (streamed) and `walletkey audit verify FILE` reads: a file in
		 * the sandbox, through the kernel's page cache */
		snprintf(path, sizeof(path), "%s/audit-bench.XXXXXX",
		    dir != NULL ? dir : "/tmp");
		if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL)
			die("json file", WK_ERR_IO);
		t = bench_now_s();
		c0 = cpu_now();
		if (audit_doc_json_write(&d, NULL, f) != 0 || fclose(f) != 0)
			die("json write", WK_ERR_IO);
		r->file_out = bench_now_s() - t;
		if (audit_text_read(path, (size_t)1 << 30, &text, &len,
		    &cap) != 0 || audit_doc_from_json(text, len, &d2, err,
		    sizeof(err)) != 0)
			die("json read", WK_ERR_INTERNAL);
		r->file = bench_now_s() - t;
		r->file_cpu = cpu_now() - c0;
		audit_text_free(text, cap);
		unlink(path);
		t = bench_now_s();
		(void)audit_doc_verify(&d2, NULL, NULL);
		r->verify = bench_now_s() - t;
		audit_doc_free(&d2);
	}
	audit_doc_free(&d);
	wk_buf_clear(&pt);
	sodium_memzero(sk, sizeof(sk));
	free(page);
	free(echo);
}

static double
med(const run *r, int runs, size_t off)
{
	double v[16];

	for (int i = 0; i < runs; i++)
		memcpy(&v[i], (const char *)&r[i] + off, sizeof(double));
	return bench_median(v, runs);
}

int
main(int argc, char **argv)
{
	wk_ctx *ctx = NULL;
	wk_card *card = NULL;
	wk_card_info info;
	audit_doc keep;
	int runs, rc;
	run r[16];

	if (argc < 4) {
		fprintf(stderr, "usage: audit_bench READER CARD-PID PIN [RUNS]\n");
		return 2;
	}
	runs = argc > 4 ? atoi(argv[4]) : 3;
	if (runs < 1 || runs > 16)
		runs = 3;
	if (sodium_init() < 0)
		return 1;
	audit_doc_init(&keep);
	if ((rc = wk_ctx_new(&ctx)) != WK_OK ||
	    (rc = wk_card_open(ctx, argv[1], &card)) != WK_OK ||
	    (rc = wk_card_get_info(card, &info)) != WK_OK)
		die("card", rc);
	memcpy(keep.serial, info.serial, 8);
	for (int i = 0; i < runs; i++)
		one_run(card, argv[3], &r[i], &keep, argv[2]);
	printf("audit export of %zu records (%zu pages of up to %d, %zu bytes "
	    "sealed), median of %d runs:\n", r[0].records, r[0].npages,
	    WK_AREC_PAGE_MAX, r[0].bytes, runs);
	{
		double total = med(r, runs, offsetof(run, total)), pages = med(r, runs, offsetof(run, pages)), echo = med(r, runs, offsetof(run, echo)),
		    host = med(r, runs, offsetof(run, host_open)), json = med(r, runs, offsetof(run, json)), ver = med(r, runs, offsetof(run, verify)),
		    jo = med(r, runs, offsetof(run, json_out));

		printf("  export total        %8.1f ms\n", total * 1e3);
		printf("    card              %8.1f ms  (page round trips - transport: read, seal)\n",
		    (pages - echo) * 1e3);
		printf("      its CPU time    %8.1f ms  (the card process on a CPU during "
		    "the page round trips)\n", med(r, runs, offsetof(run,
		    card_cpu)) * 1e3);
		printf("    transport         %8.1f ms  (wkinfo answers of the same sizes)\n",
		    echo * 1e3);
		printf("    host              %8.1f ms  (open and parse the pages)\n",
		    host * 1e3);
		printf("    rest              %8.1f ms  (PIN %.1f: the card's "
		    "Argon2id check of it; signed head %.1f;\n"
		    "                                  select and status %.1f)\n",
		    (total - pages - host) * 1e3, med(r, runs, offsetof(run, pin)) *
		    1e3, med(r, runs, offsetof(run, head)) * 1e3, med(r, runs,
		    offsetof(run, sel)) * 1e3);
		printf("  verify (host)       %8.1f ms  (chain, head, signature)\n",
		    ver * 1e3);
		printf("  json out and in     %8.1f ms  (written %.1f, read back %.1f;"
		    " %zu bytes; in memory)\n", json * 1e3, jo * 1e3, (json - jo) *
		    1e3, r[0].json_bytes);
		printf("    of which CPU      %8.1f ms  (the rest: waiting for a "
		    "core on a shared machine)\n", med(r, runs, offsetof(run,
		    json_cpu)) * 1e3);
		printf("  json via a file     %8.1f ms  (written to a file %.1f, "
		    "read back %.1f: export --out\n"
		    "                                  and verify FILE; CPU %.1f)\n",
		    med(r, runs, offsetof(run, file)) * 1e3, med(r, runs,
		    offsetof(run, file_out)) * 1e3, (med(r, runs, offsetof(run,
		    file)) - med(r, runs, offsetof(run, file_out))) * 1e3,
		    med(r, runs, offsetof(run, file_cpu)) * 1e3);
		printf("  export + json       %8.1f ms  (the issue's figure: the "
		    "export, its JSON written and read back)\n", (total + json) *
		    1e3);
	}
	printf("  peak memory: host %ld KiB, card %ld KiB\n", self_maxrss_kb(),
	    card_hwm_kb(argv[2]));
	printf("  sync with the issuer: bench/audit/sync.sh\n");
	wk_card_free(&card);
	wk_ctx_free(&ctx);
	audit_doc_free(&keep);
	return 0;
}
