/*
 * bench/store: what the card store costs per APDU, in-process (the card
 * runtime and a real store file, no pcscd), so that the store's work is not
 * lost in the transport's. A personalised card with every applet; then per
 * iteration
 *   GET BALANCE              reads the purse state from the store
 *   INITIALIZE FOR PURCHASE  reads keys and state, writes nothing
 *   DEBIT FOR PURCHASE       writes state, the transaction record and an
 *                            audit record, and commits (fsync)
 * and, to see the store's own work without the applets' and the fsync,
 *   store read               vc_store_get of a 64-byte value
 *   store write              vc_store_put of a 64-byte value in a command
 *                            that is then rolled back (no commit)
 * Prints the median microseconds of each over RUNS runs of N (the median of
 * the runs' medians); never fails on time. bench/store.sh builds this same
 * file against an older tree to compare (the store before sealing).
 *
 * usage: store_bench DIR [RUNS] [N]
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "vc_card.h"
#include "vc_store.h"
#include "wk_hex.h"
#include "wk_purse_crypto.h"
#include "wk_vpcd.h"

#define DLK "374598B5C0B0EAE1E1D06609AC5BB369"
#define DPK "11223344556677888877665544332211"
#define DTK "00112233445566778899AABBCCDDEEFF"
#define TID "000001000050"

static const char profile[] =
    "{ \"format\": \"walletkey-purse-perso/1\",\n"
    "  \"issuer_id\": \"0102030405060708\",\n"
    "  \"application_type\": \"ed+ep\", \"application_version\": 2,\n"
    "  \"serial\": \"00012345678901234567\",\n"
    "  \"start_date\": \"20260101\", \"expiry_date\": \"20301231\",\n"
    "  \"issuer_fci\": \"ABCD\",\n"
    "  \"cardholder\": { \"card_type\": 1, \"staff\": 0, \"name\": \"BENCH\",\n"
    "    \"id_number\": \"1101011990010112\", \"id_type\": 0 },\n"
    "  \"pin\": \"123456\", \"pin_tries\": 3,\n"
    "  \"balance_ceiling\": 10000000, \"overdraft_limit\": 0,\n"
    "  \"keys\": [\n"
    "   { \"purpose\": \"dlk\", \"index\": 1, \"version\": 1, \"key\": \"" DLK "\" },\n"
    "   { \"purpose\": \"dpk\", \"index\": 1, \"version\": 1, \"key\": \"" DPK "\" },\n"
    "   { \"purpose\": \"dtk\", \"index\": 1, \"version\": 1, \"key\": \"" DTK "\" },\n"
    "   { \"purpose\": \"dulk\", \"index\": 1, \"version\": 3, \"key\": \"0F1E2D3C4B5A69788796A5B4C3D2E1F0\" },\n"
    "   { \"purpose\": \"duk\", \"index\": 2, \"version\": 4, \"algorithm\": 0,\n"
    "     \"key\": \"F0E1D2C3B4A5968778695A4B3C2D1E0F\" } ] }\n";

static vc_card *card;
static uint8_t resp[WK_VPCD_MAX_PAYLOAD];
static size_t rlen;

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

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench/store: %s\n", what);
	exit(1);
}

static void
hex(const char *s, uint8_t *out, size_t n)
{
	if (wk_hex_decode(s, out, n) != (long)n)
		die("hex");
}

/* one APDU from printf-formatted hex; the SW, data in resp[0..rlen) */
static unsigned
xfer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static unsigned
xfer(const char *fmt, ...)
{
	char text[512];
	uint8_t c[256];
	va_list ap;
	long n;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if ((n = wk_hex_decode(text, c, sizeof(c))) < 0 ||
	    vc_card_apdu(card, c, (size_t)n, resp, sizeof(resp), &rlen) != 0 ||
	    rlen < 2)
		die(text);
	rlen -= 2;
	return (unsigned)((resp[rlen] << 8) | resp[rlen + 1]);
}

static void
expect(unsigned sw, const char *what)
{
	if (sw != 0x9000) {
		fprintf(stderr, "bench/store: %s: SW %04X\n", what, sw);
		exit(1);
	}
}

static uint32_t
be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

/* money on the EP: INITIALIZE FOR LOAD and CREDIT FOR LOAD with MAC2 */
static void
load(uint32_t amount)
{
	uint8_t tid[6], rnd[4], mac[4], dlk[16];
	wk_purse_skey sk;
	uint8_t date[4] = { 0x20, 0x26, 0x11, 0x22 }, tim[3] = { 1, 2, 3 };
	char mh[9];
	uint16_t seq;

	hex(DLK, dlk, 16);
	hex(TID, tid, 6);
	expect(xfer("00 20 00 00 03 12 34 56"), "VERIFY");
	expect(xfer("80 50 00 02 0B 01 %08X " TID " 10", amount), "INIT LOAD");
	seq = (uint16_t)((resp[4] << 8) | resp[5]);
	memcpy(rnd, resp + 8, 4);
	wk_purse_session_key_online(WK_PURSE_ALG_3DES, dlk, rnd, seq, &sk);
	wk_purse_load_mac2(&sk, amount, 0x02, tid, date, tim, mac);
	wk_hex_encode(mac, 4, mh);
	expect(xfer("80 52 00 00 0B 20261122 010203 %s 04", mh), "CREDIT");
}

typedef struct sample {
	double balance, init, debit;
} sample;

/* GET BALANCE, then a purchase of 1 fen, each APDU timed */
static void
one(sample *s)
{
	uint8_t tid[6], rnd[4], mac[4], tseq[4], dpk[16];
	wk_purse_skey sk;
	uint8_t date[4] = { 0x20, 0x26, 0x11, 0x22 }, tim[3] = { 0x13, 0x51, 0 };
	char mh[9];
	uint16_t seq;
	unsigned sw;
	double t0;

	hex(DPK, dpk, 16);
	hex(TID, tid, 6);
	hex("0000ABCD", tseq, 4);
	t0 = now_us();
	sw = xfer("80 5C 00 02 04");
	s->balance = now_us() - t0;
	expect(sw, "GET BALANCE");
	if (be32(resp) == 0)
		die("the purse is empty");
	t0 = now_us();
	sw = xfer("80 50 01 02 0B 01 00000001 " TID " 0F");
	s->init = now_us() - t0;
	expect(sw, "INITIALIZE FOR PURCHASE");
	seq = (uint16_t)((resp[4] << 8) | resp[5]);
	memcpy(rnd, resp + 11, 4);
	wk_purse_session_key_purchase(WK_PURSE_ALG_3DES, dpk, rnd, seq, tseq,
	    &sk);
	wk_purse_purchase_mac1(&sk, 1, 0x06, tid, date, tim, mac);
	wk_hex_encode(mac, 4, mh);
	t0 = now_us();
	sw = xfer("80 54 01 00 0F 0000ABCD 20261122 135100 %s 08", mh);
	s->debit = now_us() - t0;
	expect(sw, "DEBIT FOR PURCHASE");
}

/* the store alone: a read, and a write rolled back, of a 64-byte value */
static void
store_ops(vc_store *st, double *get_us, double *put_us)
{
	uint8_t v[64], b[64];
	wk_buf buf;
	double t0;

	randombytes_buf(v, sizeof(v));
	wk_buf_init_fixed(&buf, b, sizeof(b));
	t0 = now_us();
	if (vc_store_get(st, "bench", "value", &buf) != VC_STORE_OK)
		die("store read");
	*get_us = now_us() - t0;
	if (vc_store_begin(st) != VC_STORE_OK)
		die("store begin");
	t0 = now_us();
	if (vc_store_put(st, "bench", "other", v, sizeof(v)) != VC_STORE_OK)
		die("store write");
	*put_us = now_us() - t0;
	vc_store_abort(st);
	vc_store_commit(st);
}

int
main(int argc, char **argv)
{
	char path[4200], perso[4200], key[4200];
	vc_card_opts o = { .init = true };
	vc_store *st = NULL;
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	int n = argc > 3 ? atoi(argv[3]) : 200;
	double *b, *in, *d, *g, *p, rb[100], ri[100], rd[100], rg[100], rp[100];
	uint8_t v[64] = { 1 };
	sample s;
	FILE *f;

	if (argc < 2 || runs < 1 || runs > 100 || n < 5 || n > 1000) {
		fprintf(stderr, "usage: store_bench DIR [RUNS 1..100] [N 5..1000]\n");
		return 2;
	}
	if (sodium_init() < 0)
		die("libsodium");
	snprintf(path, sizeof(path), "%s/bench.card", argv[1]);
	snprintf(perso, sizeof(perso), "%s/bench-perso.json", argv[1]);
	snprintf(key, sizeof(key), "%s/walletkey-seal.key", argv[1]);
	if ((f = fopen(perso, "w")) == NULL || fputs(profile, f) < 0 ||
	    fclose(f) != 0)
		die("cannot write the profile");
	o.perso_path = perso;
	unlink(path);
	if (vc_store_create(path, NULL, &st) != VC_STORE_OK ||
	    vc_card_new(st, &o, &card) != VC_CARD_OK)
		die(vc_store_errmsg(NULL));
	expect(xfer("00 A4 04 00 08 F0 57 4B 50 55 52 53 45"), "SELECT purse");
	load(1000000);
	b = calloc((size_t)n, sizeof(double));
	in = calloc((size_t)n, sizeof(double));
	d = calloc((size_t)n, sizeof(double));
	g = calloc((size_t)n, sizeof(double));
	p = calloc((size_t)n, sizeof(double));
	if (b == NULL || in == NULL || d == NULL || g == NULL || p == NULL)
		die("memory");
	if (vc_store_put(st, "bench", "value", v, sizeof(v)) != VC_STORE_OK)
		die("store put");
	for (int i = 0; i < 20; i++)	/* warm-up */
		one(&s);
	for (int r = 0; r < runs; r++) {
		for (int i = 0; i < n; i++) {
			one(&s);
			b[i] = s.balance;
			in[i] = s.init;
			d[i] = s.debit;
			store_ops(st, &g[i], &p[i]);
		}
		rb[r] = median(b, (size_t)n);
		ri[r] = median(in, (size_t)n);
		rd[r] = median(d, (size_t)n);
		rg[r] = median(g, (size_t)n);
		rp[r] = median(p, (size_t)n);
	}
	printf("GET BALANCE (reads)\t%.1f\n", median(rb, (size_t)runs));
	printf("INITIALIZE FOR PURCHASE (reads)\t%.1f\n", median(ri, (size_t)runs));
	printf("DEBIT FOR PURCHASE (writes, commits)\t%.1f\n",
	    median(rd, (size_t)runs));
	printf("store read, 64 bytes\t%.1f\n", median(rg, (size_t)runs));
	printf("store write, 64 bytes, no commit\t%.1f\n",
	    median(rp, (size_t)runs));
	vc_card_free(&card);
	vc_store_free(&st);
	unlink(path);
	unlink(perso);
	unlink(key);
	free(b);
	free(in);
	free(d);
	free(g);
	free(p);
	return 0;
}
