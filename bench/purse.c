/*
 * bench/purse: complete EP purchases per second through pcscd + vpcd
 * (select once; each purchase INITIALIZE + DEBIT with the SAM's MAC1, the
 * check of MAC2 and TAC and the card's durable commit), and where the time
 * goes:
 *   transport  wkinfo ECHO round trips of the same sizes (11 and 15 bytes)
 *   SAM        in-process: MAC1 with the durable counter write, MAC2/TAC check
 *   card       the rest of each command's round trip; DEBIT writes, INIT does
 *              not, so DEBIT - INIT - (echo15 - echo11) estimates the commit
 *   floor      what the card alone allows: 1 / (INIT + DEBIT round trips),
 *              the card's durable commit inside; the rate over it says how
 *              close the whole purchase comes (issue 17: the terminal's
 *              counter is reserved in blocks, docs/wallet.md "The terminal
 *              counter", so the terminal adds no fsync per purchase)
 * With a PSAM card (a second reader, provisioned here with the master DPK
 * of the master-key file by an in-process CA, as walletkey-issuer
 * psam-issue would), the same purchases again through it: its MAC1 (INIT
 * SAM FOR PURCHASE, the counter committed on the PSAM) and its MAC2 check.
 * Medians of several runs; prints figures, never fails on time.
 *
 * usage (inside tools/walletkey-sandbox):
 *   purse READER SAM-FILE PIN [RUNS] [N] [PSAM-READER MASTER-KEYS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "walletkey.h"
#include "wk_card_id.h"
#include "wk_msg.h"
#include "wk_purse_crypto.h"
#include "wk_purse_internal.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
mean(const double *v, size_t n)
{
	double t = 0;

	for (size_t i = 0; i < n; i++)
		t += v[i];
	return n > 0 ? t / (double)n : 0;
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "bench/purse: %s: %s\n", what, wk_strerror(rc));
	exit(1);
}

static int
apdu(wk_card *card, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *d, size_t lc, size_t le, uint8_t *r, size_t *rlen)
{
	uint16_t sw = 0;
	int rc;

	*rlen = 256;
	if ((rc = wk_card_apdu(card, cla, ins, p1, p2, d, lc, le, r, rlen,
	    &sw)) != WK_OK)
		return rc;
	return wk_rc_from_sw(sw);
}

typedef struct sample {
	double total, init, debit, sam_mac1, sam_check;
} sample;

/* one purchase of 1 fen, timed part by part */
static void
purchase(wk_card *card, wk_sam *sam, const wk_purse_app *app, sample *s)
{
	uint8_t d[16], r[258];
	size_t n;
	wk_purse_txn t;
	time_t tt = time(NULL);
	struct tm tm;
	double t0, t1;
	int rc;

	memset(&t, 0, sizeof(t));
	gmtime_r(&tt, &tm);
	t.type = WK_PURSE_TT_EP_PURCHASE;
	t.key_index = wk_sam_key_index(sam);
	t.amount = 1;
	memcpy(t.serial, app->serial, sizeof(t.serial));
	wk_sam_terminal(sam, t.terminal);
	t.date[0] = 0x20;
	t.date[1] = (uint8_t)(((tm.tm_year % 100) / 10) << 4 | tm.tm_year % 10);
	t.date[2] = (uint8_t)(((tm.tm_mon + 1) / 10) << 4 | (tm.tm_mon + 1) % 10);
	t.date[3] = (uint8_t)((tm.tm_mday / 10) << 4 | tm.tm_mday % 10);
	d[0] = t.key_index;
	d[1] = 0;
	d[2] = 0;
	d[3] = 0;
	d[4] = 1;
	memcpy(d + 5, t.terminal, 6);

	t0 = now();
	if ((rc = wk_card_begin(card)) != WK_OK)
		die("begin", rc);
	t1 = now();
	if ((rc = apdu(card, 0x80, 0x50, 0x01, 0x02, d, 11, 15, r, &n)) != WK_OK)
		die("INITIALIZE FOR PURCHASE", rc);
	s->init = now() - t1;
	if ((rc = wk_purse_parse_init_purchase(r, n, &t)) != WK_OK)
		die("INITIALIZE answer", rc);
	t1 = now();
	if ((rc = wk_sam_purchase_mac1(sam, &t)) != WK_OK)
		die("SAM MAC1", rc);
	s->sam_mac1 = now() - t1;
	memcpy(d, t.term_seq, 4);
	memcpy(d + 4, t.date, 4);
	memcpy(d + 8, t.time, 3);
	memcpy(d + 11, t.mac1, 4);
	t1 = now();
	if ((rc = apdu(card, 0x80, 0x54, 0x01, 0x00, d, 15, 8, r, &n)) != WK_OK)
		die("DEBIT FOR PURCHASE", rc);
	s->debit = now() - t1;
	if (n != 8)
		die("DEBIT answer", WK_ERR_CARD_MALFORMED);
	t1 = now();
	if ((rc = wk_sam_check(sam, &t, r + 4, r)) != WK_OK)
		die("SAM check of MAC2/TAC", rc);
	s->sam_check = now() - t1;
	(void)wk_card_end(card);
	s->total = now() - t0;
}

/* the round trip of an ECHO of len bytes (the wkinfo applet must be selected) */
/* a run's figures: rate[run], the others [run * n + i] (seconds) */
typedef struct figures {
	double *rate, *tot, *ini, *deb, *mac1, *chk;
} figures;

/* runs of n purchases through sam (a SAM file or a PSAM) */
static void
purchases(wk_card *card, wk_sam *sam, const wk_purse_app *app, int runs,
    int n, const figures *f)
{
	for (int k = 0; k < runs; k++) {
		double t0 = now();

		for (int i = 0; i < n; i++) {
			sample s;

			purchase(card, sam, app, &s);
			f->tot[k * n + i] = s.total;
			f->ini[k * n + i] = s.init;
			f->deb[k * n + i] = s.debit;
			f->mac1[k * n + i] = s.sam_mac1;
			f->chk[k * n + i] = s.sam_check;
		}
		f->rate[k] = n / (now() - t0);
	}
}

static double
echo(wk_card *card, size_t len)
{
	uint8_t d[16] = { 0 }, r[258];
	size_t n;
	double t0 = now();
	int rc;

	if ((rc = apdu(card, 0x00, 0xEE, 0x00, 0x00, d, len, len, r, &n)) != WK_OK)
		die("ECHO", rc);
	return now() - t0;
}

/* the SAM's cryptography alone, without the file write, with keys of
 * algorithm alg (3DES or SM4, docs/purse.md "SM4") */
static double
crypto_only(uint8_t alg)
{
	uint8_t mk[16] = { 1 }, serial[10] = { 2 }, dk[16], mac[4];
	uint8_t rnd[4] = { 3 }, ts[4] = { 4 }, term[6] = { 5 }, date[4] = { 6 };
	uint8_t tim[3] = { 7 };
	wk_purse_skey sk, ktac;
	double t0 = now();

	/* MAC1: derive DPK, session key, MAC1; check: again for MAC2, DTK, TAC */
	(void)wk_purse_diversify(alg, mk, serial, 10, dk);
	(void)wk_purse_session_key_purchase(alg, dk, rnd, 1, ts, &sk);
	(void)wk_purse_purchase_mac1(&sk, 1, 6, term, date, tim, mac);
	(void)wk_purse_diversify(alg, mk, serial, 10, dk);
	(void)wk_purse_session_key_purchase(alg, dk, rnd, 1, ts, &sk);
	(void)wk_purse_purchase_mac2(&sk, 1, mac);
	(void)wk_purse_diversify(alg, mk, serial, 10, dk);
	(void)wk_purse_tac_key(alg, dk, &ktac);
	(void)wk_purse_purchase_tac(&ktac, 1, 6, term, ts, date, tim, mac);
	return now() - t0;
}

/* the PSAM in reader, provisioned with the master DPK; its SAM */
static wk_sam *
psam_setup(wk_ctx *ctx, const char *reader, const char *mk_path,
    const char *journal, wk_card **pc)
{
	uint8_t keys[5][16], algs[5], anchor[65], point[65], entry[17];
	EVP_PKEY *ca = NULL, *pub = NULL;
	wk_card_info info;
	wk_sam *sam = NULL;
	wk_msg m;
	wk_buf b;
	size_t n = 0;
	int rc;

	if ((rc = wk_card_open(ctx, reader, pc)) != WK_OK ||
	    (rc = wk_card_get_info(*pc, &info)) != WK_OK ||
	    (rc = wk_psam_select(*pc)) != WK_OK)
		die("PSAM card", rc);
	if ((rc = wk_purse_read_master_keys(mk_path, keys, algs)) != WK_OK)
		die(mk_path, rc);
	if ((ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    EVP_PKEY_get_octet_string_param(ca, OSSL_PKEY_PARAM_PUB_KEY, anchor,
	    sizeof(anchor), &n) != 1)
		die("CA key", WK_ERR_CRYPTO);
	if ((rc = wk_psam_generate(*pc, anchor, point)) != WK_OK)
		die("PSAM GENERATE", rc);
	if ((pub = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    EVP_PKEY_set1_encoded_public_key(pub, point, sizeof(point)) != 1)
		die("PSAM key", WK_ERR_CRYPTO);
	memset(&m, 0, sizeof(m));
	m.type = WK_MSG_PSAM_KEYS;
	memcpy(m.card_id, info.serial, 8);
	memcpy(m.terminal_id, "\x00\x00\x00\x00\x00\x02", 6);
	m.key_version = 1;
	wk_buf_init_heap(&b, WK_MSG_MAX);
	/* one entry: the DPK master with its algorithm */
	entry[0] = algs[1];
	memcpy(entry + 1, keys[1], 16);
	if (wk_msg_seal_keys(pub, &m, entry, sizeof(entry)) != WK_MSG_OK ||
	    wk_msg_sign(&m, ca, &b) != WK_MSG_OK)
		die("psam-keys message", WK_ERR_CRYPTO);
	if ((rc = wk_psam_install(*pc, b.p, b.len)) != WK_OK)
		die("PSAM INSTALL", rc);
	if ((rc = wk_sam_open_psam(*pc, journal, &sam)) != WK_OK)
		die("PSAM journal", rc);
	wk_buf_clear(&b);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(ca);
	memset(keys, 0, sizeof(keys));
	memset(entry, 0, sizeof(entry));
	return sam;
}

int
main(int argc, char **argv)
{
	static const uint8_t info_aid[] = { WK_INFO_AID_BYTES };
	wk_ctx *ctx = NULL;
	wk_card *card = NULL;
	wk_sam *sam = NULL;
	wk_purse_app app;
	wk_purse_txn lt;
	int runs = argc > 4 ? atoi(argv[4]) : 5;
	int n = argc > 5 ? atoi(argv[5]) : 100;
	double *rate, *tot, *ini, *deb, *mac1, *chk, *e11, *e15, *cr, *c3, *c4;
	figures f;
	uint8_t r[258];
	size_t rl;
	int rc;

	if (argc < 4 || runs < 1 || n < 1 || runs > 100 || n > 10000) {
		fprintf(stderr, "usage: purse READER SAM-FILE PIN [RUNS] [N]\n");
		return 2;
	}
	rate = calloc((size_t)runs, sizeof(double));
	tot = calloc((size_t)(runs * n), sizeof(double));
	ini = calloc((size_t)(runs * n), sizeof(double));
	deb = calloc((size_t)(runs * n), sizeof(double));
	mac1 = calloc((size_t)(runs * n), sizeof(double));
	chk = calloc((size_t)(runs * n), sizeof(double));
	e11 = calloc((size_t)(runs * n), sizeof(double));
	e15 = calloc((size_t)(runs * n), sizeof(double));
	cr = calloc((size_t)(runs * n), sizeof(double));
	c3 = calloc((size_t)(runs * n), sizeof(double));
	c4 = calloc((size_t)(runs * n), sizeof(double));
	if (!rate || !tot || !ini || !deb || !mac1 || !chk || !e11 || !e15 || !cr ||
	    !c3 || !c4)
		die("memory", WK_ERR_MEMORY);
	f = (figures){ rate, tot, ini, deb, mac1, chk };
	if ((rc = wk_ctx_new(&ctx)) != WK_OK || (rc = wk_card_open(ctx, argv[1],
	    &card)) != WK_OK)
		die("card", rc);
	if ((rc = wk_sam_open(argv[2], &sam)) != WK_OK)
		die(argv[2], rc);
	if ((rc = wk_purse_select(card, NULL, 0, &app)) != WK_OK)
		die("select", rc);
	/* funds for every purchase (twice as many with a PSAM) */
	if ((rc = wk_purse_load(card, sam, &app, WK_PURSE_EP,
	    (uint32_t)(2 * runs * n) + 1, argv[3], strlen(argv[3]), &lt)) != WK_OK)
		die("load", rc);

	purchases(card, sam, &app, runs, n, &f);
	/* transport: the same sizes through the do-nothing ECHO */
	if ((rc = apdu(card, 0x00, 0xA4, 0x04, 0x00, info_aid, sizeof(info_aid),
	    256, r, &rl)) != WK_OK)
		die("select wkinfo", rc);
	/* inside one transaction, as the purchases' commands are */
	if ((rc = wk_card_begin(card)) != WK_OK)
		die("begin", rc);
	for (int i = 0; i < runs * n; i++) {
		e11[i] = echo(card, 11);
		e15[i] = echo(card, 15);
		/* bench/purse.sh gives every key one algorithm: the load's */
		cr[i] = crypto_only(lt.alg);
		c3[i] = crypto_only(WK_PURSE_ALG_3DES);
		c4[i] = crypto_only(WK_PURSE_ALG_SM4);
	}
	(void)wk_card_end(card);

	{
		size_t m = (size_t)(runs * n);
		/* the reservation's fsync comes once a block: the mean shows it */
		double mmac1 = mean(mac1, m) * 1e3;
		double mt = median(tot, m) * 1e3, mi = median(ini, m) * 1e3;
		double md = median(deb, m) * 1e3, mm = median(mac1, m) * 1e3;
		double mc = median(chk, m) * 1e3, m11 = median(e11, m) * 1e3;
		double m15 = median(e15, m) * 1e3, mcr = median(cr, m) * 1e3;
		double mc3 = median(c3, m) * 1e3, mc4 = median(c4, m) * 1e3;
		double transport = m11 + m15, sam_ms = mm + mc;

		/* rates are means: the floor too (the commit's fsync has a
		 * long tail on a shared disk) */
		double pr = median(rate, (size_t)runs);
		double floor = 1e3 / ((mean(ini, m) + mean(deb, m)) * 1e3);

		printf("purse purchases (%s keys): %d runs x %d, median %.1f "
		    "purchases/s\n", lt.alg == WK_PURSE_ALG_SM4 ? "SM4" : "3DES",
		    runs, n, pr);
		printf("  floor: the card alone (INIT + DEBIT round trips, its "
		    "commit inside; means) %.1f/s; purchases / floor %.2f\n",
		    floor, pr / floor);
		printf("  per purchase (mean ms)            %8.3f  (INIT %.3f + "
		    "DEBIT %.3f + SAM %.3f + the rest)\n", mean(tot, m) * 1e3,
		    mean(ini, m) * 1e3, mean(deb, m) * 1e3,
		    (mean(mac1, m) + mean(chk, m)) * 1e3);
		printf("  per purchase (median ms)          %8.3f\n", mt);
		printf("  INITIALIZE round trip             %8.3f\n", mi);
		printf("  DEBIT round trip                  %8.3f\n", md);
		printf("  transport: ECHO 11 + ECHO 15      %8.3f  (%.3f + %.3f)\n",
		    transport, m11, m15);
		printf("  SAM in-process                    %8.3f  (MAC1 and the "
		    "journal write %.3f, mean with the block reservations' fsync "
		    "%.3f; check %.3f)\n", sam_ms, mm, mmac1, mc);
		printf("    of which cryptography           %8.3f  (the counter "
		    "write: %.3f)\n", mcr, mm + mc - mcr);
		printf("  card work beyond transport        %8.3f  (INIT %.3f, DEBIT "
		    "%.3f)\n", mi + md - transport, mi - m11, md - m15);
		printf("  card durable commit (estimate)    %8.3f  (DEBIT - INIT "
		    "beyond transport)\n", (md - m15) - (mi - m11));
		printf("  host other (PC/SC lock, parsing)  %8.3f\n",
		    mt - mi - md - sam_ms);
		printf("  SAM cryptography alone, 3DES      %8.3f  (SM4 %.3f)\n",
		    mc3, mc4);
	}
	if (argc > 7) {
		/* the same purchases through a PSAM card */
		wk_ctx *pctx = NULL;
		wk_card *pc = NULL;
		wk_sam *ps;
		char journal[256];
		size_t m = (size_t)(runs * n);

		snprintf(journal, sizeof(journal), "%s.terminal.json", argv[2]);
		(void)unlink(journal);
		if ((rc = wk_ctx_new(&pctx)) != WK_OK)
			die("PC/SC", rc);
		ps = psam_setup(pctx, argv[6], argv[7], journal, &pc);
		if ((rc = wk_purse_select(card, NULL, 0, &app)) != WK_OK)
			die("select", rc);
		purchases(card, ps, &app, runs, n, &f);
		{
			double pr = median(rate, (size_t)runs);
			double floor = 1.0 / (mean(ini, m) + mean(deb, m));

			printf("PSAM purchases: %d runs x %d, median %.1f purchases/s"
			    "\n", runs, n, pr);
			printf("  floor: the card alone (INIT + DEBIT round trips) "
			    "%.1f/s; purchases / floor %.2f\n", floor, pr / floor);
		}
		printf("  per purchase (mean ms)            %8.3f  (INIT %.3f + "
		    "DEBIT %.3f + PSAM %.3f + the rest)\n", mean(tot, m) * 1e3,
		    mean(ini, m) * 1e3, mean(deb, m) * 1e3,
		    (mean(mac1, m) + mean(chk, m)) * 1e3);
		printf("  per purchase (median ms)          %8.3f\n",
		    median(tot, m) * 1e3);
		printf("  INITIALIZE + DEBIT round trips    %8.3f  (medians)\n",
		    (median(ini, m) + median(deb, m)) * 1e3);
		printf("  PSAM MAC1 (INIT SAM FOR PURCHASE, the journal write)"
		    "   %8.3f  (mean with the PSAM's block commits %.3f)\n",
		    median(mac1, m) * 1e3, mean(mac1, m) * 1e3);
		printf("  PSAM MAC2 check (CREDIT SAM FOR PURCHASE, the session "
		    "restated)  %.3f\n", median(chk, m) * 1e3);
		wk_sam_free(&ps);
		wk_card_free(&pc);
		wk_ctx_free(&pctx);
		(void)unlink(journal);
	}
	wk_sam_free(&sam);
	wk_card_free(&card);
	wk_ctx_free(&ctx);
	free(rate);
	free(tot);
	free(ini);
	free(deb);
	free(mac1);
	free(chk);
	free(e11);
	free(e15);
	free(cr);
	free(c3);
	free(c4);
	return 0;
}
