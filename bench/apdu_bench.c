/*
 * walletkey-apdu-bench: times APDUs through PC/SC to one reader and prints,
 * per case, the median and the 99th percentile in microseconds. Checks each
 * answer (9000 and its length) but never judges the time.
 *   walletkey-apdu-bench READER [ITERATIONS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include "wk_card_id.h"

#define RESP_MAX (65536 + 2)

typedef struct bench_case {
	const char *name;
	uint8_t apdu[4 + 3 + 4096 + 2];
	size_t len;
	size_t want;		/* response length including the SW */
} bench_case;

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* ECHO of n data bytes (wkinfo, common/wk_card_id.h); extended beyond 255 */
static void
make_echo(bench_case *c, const char *name, size_t n)
{
	size_t off = 4;

	c->name = name;
	c->apdu[0] = 0x00;
	c->apdu[1] = 0xEE;
	c->apdu[2] = 0x00;
	c->apdu[3] = 0x00;
	if (n == 0) {
		c->apdu[off++] = 0x00;		/* Le only: 5 bytes */
	} else if (n <= 255) {
		c->apdu[off++] = (uint8_t)n;
		for (size_t i = 0; i < n; i++)
			c->apdu[off++] = (uint8_t)i;
		c->apdu[off++] = 0x00;
	} else {
		c->apdu[off++] = 0x00;
		c->apdu[off++] = (uint8_t)(n >> 8);
		c->apdu[off++] = (uint8_t)n;
		for (size_t i = 0; i < n; i++)
			c->apdu[off++] = (uint8_t)i;
		c->apdu[off++] = (uint8_t)(n >> 8);
		c->apdu[off++] = (uint8_t)n;
	}
	c->len = n == 0 ? 5 : off;
	c->want = n + 2;
}

static int
exchange(SCARDHANDLE h, const SCARD_IO_REQUEST *pci, const uint8_t *apdu,
    size_t len, uint8_t *resp, size_t want)
{
	DWORD rlen = RESP_MAX;
	LONG rv;

	rv = SCardTransmit(h, pci, apdu, (DWORD)len, NULL, resp, &rlen);
	if (rv != SCARD_S_SUCCESS) {
		fprintf(stderr, "SCardTransmit: %s\n", pcsc_stringify_error(rv));
		return -1;
	}
	if (rlen < 2 || resp[rlen - 2] != 0x90 || resp[rlen - 1] != 0x00 ||
	    (want != 0 && rlen != want)) {
		fprintf(stderr, "unexpected answer: %lu bytes, SW %02X%02X\n",
		    (unsigned long)rlen, rlen >= 2 ? resp[rlen - 2] : 0,
		    rlen >= 2 ? resp[rlen - 1] : 0);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const uint8_t select_info[] = { 0x00, 0xA4, 0x04, 0x00,
		WK_INFO_AID_LEN, WK_INFO_AID_BYTES };
	static bench_case cases[3];
	SCARDCONTEXT ctx = 0;
	SCARDHANDLE h = 0;
	DWORD proto = 0;
	const SCARD_IO_REQUEST *pci;
	uint8_t *resp = NULL;
	double *t = NULL;
	long iterations = 2000;
	int status = 1;

	if (argc < 2 || argc > 3 || (argc == 3 &&
	    (iterations = strtol(argv[2], NULL, 10)) < 10)) {
		fprintf(stderr, "usage: walletkey-apdu-bench READER [ITERATIONS >= 10]\n");
		return 2;
	}
	make_echo(&cases[0], "5-byte command, 2-byte answer", 0);
	make_echo(&cases[1], "255 bytes each way", 255);
	make_echo(&cases[2], "4096 bytes each way (extended)", 4096);
	if ((resp = malloc(RESP_MAX)) == NULL ||
	    (t = calloc((size_t)iterations, sizeof(*t))) == NULL)
		goto out;
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS ||
	    SCardConnect(ctx, argv[1], SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &proto) != SCARD_S_SUCCESS) {
		fprintf(stderr, "cannot connect to reader %s\n", argv[1]);
		goto out;
	}
	pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	if (exchange(h, pci, select_info, sizeof(select_info), resp, 0) != 0)
		goto out;
	for (size_t c = 0; c < 3; c++) {
		long n = c == 2 ? iterations / 4 : iterations;

		for (long i = 0; i < 50; i++)	/* warm-up */
			if (exchange(h, pci, cases[c].apdu, cases[c].len, resp,
			    cases[c].want) != 0)
				goto out;
		for (long i = 0; i < n; i++) {
			double t0 = now_us();

			if (exchange(h, pci, cases[c].apdu, cases[c].len, resp,
			    cases[c].want) != 0)
				goto out;
			t[i] = now_us() - t0;
		}
		qsort(t, (size_t)n, sizeof(*t), cmp_double);
		printf("%s\t%.1f\t%.1f\t%ld\n", cases[c].name, t[n / 2],
		    t[(size_t)((double)n * 0.99)], n);
	}
	status = 0;
out:
	if (h != 0)
		SCardDisconnect(h, SCARD_LEAVE_CARD);
	if (ctx != 0)
		SCardReleaseContext(ctx);
	free(t);
	free(resp);
	return status;
}
