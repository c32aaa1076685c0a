/*
 * bench/sign: signatures per second by the card through libwalletkey and
 * through PKCS#11 modules (dlopen: walletkey-pkcs11.so, OpenSC's
 * opensc-pkcs11.so, SoftHSM2 in process), beside the same algorithm done in
 * process with OpenSSL's EVP, and the ratio to the transport ceiling
 * (issue 17): one over the echo card's short-APDU time (walletkey-echo-card,
 * the card that does nothing; bench/apdu.sh measures it the same way).
 * Prints medians of several runs and their ratios; never fails on time.
 *
 * usage: bench_sign [--runs N] [--seconds S] [--reader NAME]
 *                   [--echo-reader NAME] [--module NAME=SO[:TOKEN]]...
 *                   [--trace]
 * The keys must be in place (bench/sign.sh puts them there):
 *   9a ECDSA P-256, 83 (retired key management 2) Ed25519, 9e RSA-2048,
 *   PIN 123456; a module's keys with CKA_ID 01, 06, 04 (OpenSC's ids for
 *   those slots); and 9c ECDSA P-256 with PIN policy once, whose
 *   signatures are audit records. Ed25519 is not in 9d: every 9C and 9D
 *   operation is a record of the card's audit log (docs/audit.md), which
 *   holds 10,000 records by default and then refuses until the issuer
 *   acknowledges; a run at thousands of signatures a second filled it and
 *   every later signature of 9C and 9D failed.
 * --trace: no rates; one signature of each path between markers on stderr
 * ("@@ ALG PATH" ... "@@ end") with libwalletkey's trace on, for
 * bench/sign.sh to count the PC/SC calls and APDUs of one signature.
 *
 * Each run of each path alternates with the echo card (blocks of
 * PAIR_BLOCK APDUs and signatures, each operation timed), and x-CEIL is
 * the median over the runs of each run's ratio of medians (the echo APDU's
 * over the signature's): on a shared machine the ceiling swings with the
 * load as the path does, and a ceiling measured at another moment made the
 * ratio swing (0.84 and 0.70 minutes apart, issue 17); a mean would count
 * the machine's stalls (tens of ms at load 20) on whichever side they hit.
 *
 * --cost PATH (libwalletkey, a module's NAME, or echo) --alg NAME --count
 * N: no rates; N operations of one path in cost_loop (for valgrind
 * --tool=callgrind --toggle-collect=cost_loop) after 200 to warm up, and
 * one line of microseconds per operation: wall, this process's CPU, and
 * the CPU of each --watch NAME=PID process (all its threads,
 * /proc/PID/task/TID/schedstat); --hook CMD runs "CMD begin" before the
 * N and "CMD end" after them (a profiler of the card starts and stops
 * there). bench/sign_cost.sh splits one signature's work between the
 * client, pcscd and the card with it.
 */
/* this file: the runs paired with the echo card, the rows and main; the
 * paths in sign_paths.c, --cost in sign_cost.c (sign.h) */
#include "sign.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench_stat.h"

#define MAX_RUNS 15
#define MAX_MODULES 4
/* 9C signatures a run: runs x this stays under the log's 10,000 */
#define AUDIT_PER_RUN 600

static const bench_alg algs[] = {
	{ "ecdsa-p256", 0x9A, WK_PIV_ALG_ECCP256, 0x01, CKK_EC, CKM_ECDSA },
	/* 83: a slot without audit records, as 9a and 9e */
	{ "ed25519", 0x83, WK_PIV_ALG_ED25519, 0x06, CKK_EC_EDWARDS,
	  CKM_EDDSA },
	/* 9e: OpenSC gives 9d's RSA key decrypt/unwrap only */
	{ "rsa2048", 0x9E, WK_PIV_ALG_RSA2048, 0x04, CKK_RSA, CKM_RSA_PKCS },
};

/* signatures and echo APDUs alternate in blocks of this many */
#define PAIR_BLOCK 32

/* per-operation times of a run (us), grown as needed */
typedef struct op_times {
	double *t;
	size_t n, cap;
} op_times;

static int
op_times_add(op_times *o, double us)
{
	if (o->n == o->cap) {
		size_t cap = o->cap == 0 ? 4096 : o->cap * 2;
		double *t = realloc(o->t, cap * sizeof(*t));

		if (t == NULL)
			return -1;
		o->t = t;
		o->cap = cap;
	}
	o->t[o->n++] = us;
	return 0;
}

/* times PAIR_BLOCK operations of c one by one into o; -1 when one fails */
static int
run_block(path_ctx *c, op_times *o)
{
	double t0 = bench_now_s(), t1;

	for (int i = 0; i < PAIR_BLOCK; i++) {
		if (path_one(c) != 0)
			return -1;
		t1 = bench_now_s();
		if (op_times_add(o, (t1 - t0) * 1e6) != 0)
			return -1;
		t0 = t1;
	}
	return 0;
}

/*
 * one run of about seconds: blocks of PAIR_BLOCK echo APDUs and
 * PAIR_BLOCK signatures in alternation, each operation timed, so that the
 * transport ceiling and the path are measured over the same moments of a
 * shared machine. Returns the path's signatures/s over the run (-1 when a
 * signature fails); *echo_us and *sig_us: the medians of the echo card's
 * APDU times and of the path's signature times (-1 without an echo card):
 * a stall of the machine (a wait for a core of tens of ms at load 20)
 * moves neither, where it moves a mean by far more than the signature's
 * work.
 */
static double
run_paired(path_ctx *c, echo_card *e, double seconds, double *echo_us,
    double *sig_us)
{
	static op_times et, st;
	double t0 = bench_now_s(), ts = 0;

	*echo_us = *sig_us = -1;
	et.n = st.n = 0;
	do {
		if (e != NULL) {
			path_ctx ec_path;

			path_init(&ec_path, PATH_ECHO, NULL);
			ec_path.e = e;
			if (run_block(&ec_path, &et) != 0)
				return -1;
		}
		if (run_block(c, &st) != 0)
			return -1;
	} while (bench_now_s() - t0 < seconds);
	for (size_t i = 0; i < st.n; i++)
		ts += st.t[i];
	if (et.n > 0) {
		*echo_us = bench_median(et.t, (int)et.n);
		*sig_us = bench_median(st.t, (int)st.n);
	}
	return (double)st.n / (ts / 1e6);
}

/* the figures of one path over the runs: rates, the echo card's APDU time
 * of the same rounds, and their ratio round by round */
typedef struct path_figs {
	double rate[MAX_RUNS], echo[MAX_RUNS], sig[MAX_RUNS], ratio[MAX_RUNS];
	double rest[MAX_RUNS];
	bool failed;
	char why[160];
} path_figs;

static void
path_round(path_figs *f, int r, path_ctx *c, echo_card *e, double seconds)
{
	sign_why[0] = '\0';
	f->rate[r] = run_paired(c, e, seconds, &f->echo[r], &f->sig[r]);
	if (f->rate[r] < 0) {
		f->failed = true;
		memcpy(f->why, sign_why, sizeof(f->why));
	}
	/* the ceiling's rate over the path's, both from medians */
	f->ratio[r] = f->sig[r] > 0 && f->echo[r] > 0 ?
	    f->echo[r] / f->sig[r] : -1;
}

/* ---- output ------------------------------------------------------------ */

/*
 * one row: the rate, its ratios, and the split of one signature's time:
 * the transport (the echo card's APDU), the signature itself (OpenSSL's
 * time in this process) and the rest (card and host work, locking). Every
 * figure is the median over the runs; x-CEIL and REST are taken round by
 * round (each round's rate against the echo card's time in that round)
 * before the median.
 */
static void
print_row(const char *alg, const char *path, path_figs *f, int runs,
    double evp, double ahead, bool on_card)
{
	/* the card's signature on the path: with the nonce made ahead where
	 * it makes one (ECDSA), else OpenSSL's whole signature */
	double us, sig_us = 1e6 / (on_card && ahead > 0 ? ahead : evp);
	double card, echo, ratio;

	if (f->failed) {
		printf("%-11s %-13s %9s %9s %9s %9s %9s %9s\n", alg, path, "n/a",
		    "-", "-", "-", "-", "-");
		if (f->why[0] != '\0')
			printf("%-11s %-13s (%s)\n", "", "", f->why);
		return;
	}
	for (int r = 0; r < runs; r++)
		f->rest[r] = (f->sig[r] > 0 ? f->sig[r] : 1e6 / f->rate[r]) -
		    sig_us - (on_card && f->echo[r] > 0 ? f->echo[r] : 0);
	card = bench_median(f->rate, runs);
	echo = bench_median(f->echo, runs);
	ratio = bench_median(f->ratio, runs);
	us = 1e6 / card;
	printf("%-11s %-13s %9.1f %9s %9.3f %9.1f %9.1f %9.1f\n", alg, path,
	    card, "", card / evp, us, on_card && echo > 0 ? echo : 0.0, sig_us);
	if (echo > 0)
		printf("%-11s %-13s %9s %9.2f %9s %9s %9s %9.1f\n", "", "", "",
		    ratio, "", "", "", bench_median(f->rest, runs));
}


typedef struct module {
	const char *name;	/* the column: pkcs11, opensc, softhsm2 */
	char *so;
	const char *token;	/* label prefix, or NULL for the first token */
	p11 p;
	bool open;
} module;

int
main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "module", required_argument, NULL, 'm' },
		{ "reader", required_argument, NULL, 'R' },
		{ "echo-reader", required_argument, NULL, 'E' },
		{ "trace", no_argument, NULL, 't' },
		{ "cost", required_argument, NULL, 'c' },
		{ "alg", required_argument, NULL, 'a' },
		{ "count", required_argument, NULL, 'n' },
		{ "watch", required_argument, NULL, 'w' },
		{ "hook", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reader = getenv("WALLETKEY_READER_0"), *echo_reader = NULL;
	const char *cost = NULL, *cost_alg = "ecdsa-p256", *hook = NULL;
	const char *wname[MAX_WATCH];
	long wpid[MAX_WATCH], cost_n = 2000;
	double seconds = 1.0, evp_r[MAX_RUNS], ahead_r[MAX_RUNS];
	double ahead_m, evp_m, echo_all[(MAX_MODULES + 1) * MAX_RUNS], echo = -1;
	int runs = 5, c, status = 1, nmod = 0, nwatch = 0, necho = 0;
	bool trace = false, have_echo = false;
	wk_ctx *ctx = NULL;
	wk_card *card = NULL;
	wk_piv *piv = NULL;
	EVP_PKEY *k;
	module mods[MAX_MODULES];
	echo_card ec;
	path_figs *wk_f = NULL, *mod_f = NULL;

	memset(mods, 0, sizeof(mods));
	memset(&ec, 0, sizeof(ec));
	if (sodium_init() < 0)
		return 1;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'r': runs = atoi(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'm': {
			char *eq = strchr(optarg, '='), *colon;

			if (eq == NULL || nmod == MAX_MODULES)
				goto usage;
			*eq = '\0';
			mods[nmod].name = optarg;
			mods[nmod].so = eq + 1;
			if ((colon = strchr(eq + 1, ':')) != NULL) {
				*colon = '\0';
				mods[nmod].token = colon + 1;
			}
			nmod++;
			break;
		}
		case 'R': reader = optarg; break;
		case 'E': echo_reader = optarg; break;
		case 't': trace = true; break;
		case 'c': cost = optarg; break;
		case 'a': cost_alg = optarg; break;
		case 'n': cost_n = atol(optarg); break;
		case 'h': hook = optarg; break;
		case 'w': {
			char *eq = strchr(optarg, '=');

			if (eq == NULL || nwatch == MAX_WATCH)
				goto usage;
			*eq = '\0';
			wname[nwatch] = optarg;
			wpid[nwatch++] = atol(eq + 1);
			break;
		}
		default:
			goto usage;
		}
	}
	if (runs < 1 || runs > MAX_RUNS || seconds <= 0 || seconds > 60 ||
	    cost_n < 1) {
		fputs("bench_sign: --runs 1..15, --seconds up to 60, --count "
		    "from 1\n", stderr);
		return 2;
	}
	if (cost != NULL && strcmp(cost, "echo") == 0) {
		path_ctx pc;

		path_init(&pc, PATH_ECHO, NULL);
		pc.e = &ec;
		if (echo_open(&ec, echo_reader) != 0)
			goto out;
		status = run_cost(&pc, cost_n, "echo", hook, wname, wpid, nwatch) == 0 ?
		    0 : 1;
		goto out;
	}
	if (wk_ctx_new(&ctx) != WK_OK || wk_card_open(ctx, reader, &card) !=
	    WK_OK || wk_piv_open(card, &piv) != WK_OK ||
	    wk_piv_verify_pin(piv, (const uint8_t *)"123456", 6, NULL) !=
	    WK_OK) {
		fputs("bench_sign: no PIV card with PIN 123456\n", stderr);
		goto out;
	}
	/* before any module: OpenSC's looks at every reader, the echo card's too */
	if (!trace && cost == NULL && echo_open(&ec, echo_reader) == 0)
		have_echo = true;
	for (int m = 0; m < nmod; m++)
		mods[m].open = p11_open(&mods[m].p, mods[m].so, mods[m].token,
		    "123456") == 0;
	if (cost != NULL) {
		const bench_alg *a = NULL;
		path_ctx pc;
		char label[64];

		for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
			if (strcmp(algs[i].name, cost_alg) == 0)
				a = &algs[i];
		if (a == NULL) {
			fprintf(stderr, "bench_sign: --alg %s: ecdsa-p256, "
			    "ed25519 or rsa2048\n", cost_alg);
			goto out;
		}
		snprintf(label, sizeof(label), "%s %s", cost, a->name);
		if (strcmp(cost, "libwalletkey") == 0) {
			path_init(&pc, PATH_WK, a);
			pc.piv = piv;
		} else {
			int m;

			for (m = 0; m < nmod && strcmp(mods[m].name, cost) != 0; m++)
				;
			if (m == nmod || !mods[m].open ||
			    p11_key(&mods[m].p, a, &pc.key) != 0) {
				fprintf(stderr, "bench_sign: --cost %s: no such "
				    "module or key\n", cost);
				goto out;
			}
			path_init(&pc, PATH_P11, a);
			pc.p = &mods[m].p;
			(void)p11_key(&mods[m].p, a, &pc.key);
		}
		status = run_cost(&pc, cost_n, label, hook, wname, wpid, nwatch) == 0 ?
		    0 : 1;
		goto out;
	}
	if (trace) {
		/* one signature per path, after a first one (the state of a run) */
		for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
			const bench_alg *a = &algs[i];

			(void)run_wk(piv, a, 0, 0);
			wk_set_trace(WK_TRACE_ALL);
			fprintf(stderr, "@@ %s libwalletkey\n", a->name);
			(void)run_wk(piv, a, 0, 0);
			fprintf(stderr, "@@ end\n");
			wk_set_trace(0);
			for (int m = 0; m < nmod; m++) {
				CK_OBJECT_HANDLE key;

				if (!mods[m].open || p11_key(&mods[m].p, a, &key) != 0)
					continue;
				(void)run_p11(&mods[m].p, a, key, 0);
				wk_set_trace(WK_TRACE_ALL);
				fprintf(stderr, "@@ %s %s\n", a->name, mods[m].name);
				(void)run_p11(&mods[m].p, a, key, 0);
				fprintf(stderr, "@@ end\n");
				wk_set_trace(0);
			}
		}
		status = 0;
		goto out;
	}
	if ((wk_f = calloc(1, sizeof(*wk_f))) == NULL ||
	    (mod_f = calloc(MAX_MODULES, sizeof(*mod_f))) == NULL)
		goto out;
	printf("signatures per second, median of %d runs of %.1f s\n", runs,
	    seconds);
	if (have_echo)
		printf("transport ceiling: 1 / the echo card's short APDU, "
		    "measured in every run of every path\nin alternation with it"
		    " (blocks of %d echo APDUs and %d signatures, each timed): "
		    "the\nceiling and the path see the same moments of a shared "
		    "machine. x-CEIL is taken run by\nrun: the median echo APDU "
		    "time over the median signature time of the run (a stall of"
		    "\nthe machine moves neither median); the row gives the "
		    "median of the runs' ratios\n", PAIR_BLOCK, PAIR_BLOCK);
	else
		printf("transport ceiling: no echo card (--echo-reader)\n");
	printf("x-CEIL = signatures/s over the ceiling (second line of a row);"
	    " x-OPENSSL = over OpenSSL in\nthis process; one signature's us "
	    "(us/SIG from SIG/S): APDU (the echo card's median in the\npath's "
	    "runs), SIG (OpenSSL's signature here; ECDSA: the part after the "
	    "nonce the card makes\nahead; Ed25519: libsodium's, as the card "
	    "signs), REST (second line: what is left of the\nmedian signature,"
	    " the card's and the host's own work, run by run)\n");
	printf("%-11s %-13s %9s %9s %9s %9s %9s %9s\n", "ALGORITHM", "PATH",
	    "SIG/S", "x-CEIL", "x-OPENSSL", "us/SIG", "APDU us", "SIG us");
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		const bench_alg *a = &algs[i];
		CK_OBJECT_HANDLE keys[MAX_MODULES];
		bool ok[MAX_MODULES];
		path_ctx pc;

		memset(wk_f, 0, sizeof(*wk_f));
		memset(mod_f, 0, MAX_MODULES * sizeof(*mod_f));
		for (int m = 0; m < nmod; m++) {
			ok[m] = mods[m].open && p11_key(&mods[m].p, a, &keys[m]) == 0;
			if (!ok[m]) {
				mod_f[m].failed = true;
				snprintf(mod_f[m].why, sizeof(mod_f[m].why), "%s",
				    !mods[m].open ? "the module did not open" :
				    "no private key of this type with OpenSC's id for"
				    " the slot");
			}
		}
		if ((k = evp_key(a)) == NULL)
			goto out;
		/* runs interleave the paths so drift hits them alike; within a
		 * run, each path alternates with the echo card */
		for (int r = 0; r < runs; r++) {
			path_init(&pc, PATH_WK, a);
			pc.piv = piv;
			if (!wk_f->failed)
				path_round(wk_f, r, &pc, have_echo ? &ec : NULL,
				    seconds);
			for (int m = 0; m < nmod; m++) {
				if (mod_f[m].failed)
					continue;
				path_init(&pc, PATH_P11, a);
				pc.p = &mods[m].p;
				pc.key = keys[m];
				path_round(&mod_f[m], r, &pc, have_echo ? &ec : NULL,
				    seconds);
			}
			evp_r[r] = run_evp(k, a, seconds);
			/* the card's own signature on the path, where it is
			 * not OpenSSL's whole EVP signature */
			ahead_r[r] = a->alg == WK_PIV_ALG_ECCP256 ?
			    run_ecdsa_ahead(k, seconds) :
			    a->alg == WK_PIV_ALG_ED25519 ?
			    run_sodium_ed25519(k, seconds) : -1;
		}
		EVP_PKEY_free(k);
		evp_m = bench_median(evp_r, runs);
		ahead_m = bench_median(ahead_r, runs);
		if (!wk_f->failed && have_echo && necho + runs <=
		    (int)(sizeof(echo_all) / sizeof(echo_all[0]))) {
			memcpy(echo_all + necho, wk_f->echo,
			    (size_t)runs * sizeof(double));
			necho += runs;
		}
		print_row(a->name, "libwalletkey", wk_f, runs, evp_m, ahead_m,
		    true);
		for (int m = 0; m < nmod; m++)
			print_row(a->name, mods[m].name, &mod_f[m], runs, evp_m,
			    ahead_m, strcmp(mods[m].name, "softhsm2") != 0);
		/* the bounds: the echo card's APDU time of libwalletkey's runs */
		echo = !wk_f->failed && have_echo ? bench_median(wk_f->echo, runs) :
		    -1;
		if (a->alg == WK_PIV_ALG_ECCP256 && ahead_m > 0 && echo > 0)
			printf("%-11s %-13s the card makes its next nonce while "
			    "idle: SIG is s = k^-1(e + rd), %.1f us\n%-11s %-13s "
			    "(OpenSSL's whole signature %.1f us); bound APDU / "
			    "(APDU + SIG) = %.2f x ceiling\n", "", "", 1e6 / ahead_m,
			    "", "", 1e6 / evp_m, echo / (echo + 1e6 / ahead_m));
		/* EdDSA's nonce is a hash of the key's prefix and the message
		 * (RFC 8032 5.1.6), so the card cannot make it before the
		 * command: its signature stays on the path */
		if (a->alg == WK_PIV_ALG_ED25519 && ahead_m > 0 && echo > 0)
			printf("%-11s %-13s the card signs with libsodium: SIG "
			    "%.1f us (OpenSSL's EVP %.1f us)\n%-11s %-13s bound: "
			    "APDU / (APDU + SIG) = %.1f / %.1f = %.2f x ceiling "
			    "(the nonce needs the message)\n", "", "",
			    1e6 / ahead_m, 1e6 / evp_m, "", "", echo,
			    echo + 1e6 / ahead_m, echo / (echo + 1e6 / ahead_m));
		fflush(stdout);
	}
	if (necho > 0)
		printf("the echo card's short APDU over every run: median %.1f us"
		    " = %.0f APDUs/s\n", bench_median(echo_all, necho),
		    1e6 / bench_median(echo_all, necho));
	/*
	 * issue 16: each 9C (and 9D) operation writes a record of the audit
	 * log in its command's commit (docs/audit.md "Signatures and
	 * decryptions"); the same P-256 key operation in 9A writes nothing.
	 * Both keys have PIN policy once, so the difference is the record.
	 */
	{
		static const bench_alg plain = { "ecdsa-p256", 0x9A,
		    WK_PIV_ALG_ECCP256, 0, 0, 0 };
		static const bench_alg logged = { "ecdsa-p256", 0x9C,
		    WK_PIV_ALG_ECCP256, 0, 0, 0 };
		double a9[MAX_RUNS], c9[MAX_RUNS], ma, mc;
		char c_why[sizeof(sign_why)];

		/* the log keeps 10,000 records before it refuses (docs/audit.md
		 * "Capacity"): at most AUDIT_PER_RUN records a run */
		c_why[0] = '\0';
		for (int r = 0; r < runs; r++) {
			a9[r] = run_wk(piv, &plain, seconds, AUDIT_PER_RUN);
			sign_why[0] = '\0';
			if ((c9[r] = run_wk(piv, &logged, seconds,
			    AUDIT_PER_RUN)) < 0)
				memcpy(c_why, sign_why, sizeof(sign_why));
		}
		ma = bench_median(a9, runs);
		mc = bench_median(c9, runs);
		printf("\nthe audit record of a signature (9C logs each, 9A none;"
		    " libwalletkey, median of %d runs of\nat most %.1f s or %d "
		    "signatures)\n", runs, seconds, AUDIT_PER_RUN);
		printf("%-11s %-13s %12s %12s\n", "ALGORITHM", "SLOT", "CARD/S",
		    "MS/SIGN");
		if (ma > 0)
			printf("%-11s %-13s %12.1f %12.3f\n", "ecdsa-p256", "9a",
			    ma, 1000.0 / ma);
		if (mc > 0)
			printf("%-11s %-13s %12.1f %12.3f\n", "ecdsa-p256",
			    "9c+record", mc, 1000.0 / mc);
		if (ma > 0 && mc > 0)
			printf("%-11s %-13s %12s %12.3f\n", "", "record costs", "",
			    1000.0 / mc - 1000.0 / ma);
		else
			printf("(9c: %s)\n", c_why[0] != '\0' ? c_why :
			    "no signature");
	}
	status = 0;
	goto out;
usage:
	fputs("usage: bench_sign [--runs N] [--seconds S] [--reader NAME] "
	    "[--echo-reader NAME] [--module NAME=SO[:TOKEN]]... [--trace]\n"
	    "       bench_sign --cost libwalletkey|MODULE|echo [--alg NAME] "
	    "[--count N] [--watch NAME=PID]... [--hook CMD]\n", stderr);
	return 2;
out:
	free(wk_f);
	free(mod_f);
	echo_close(&ec);
	for (int m = 0; m < nmod; m++)
		if (mods[m].open)
			p11_close(&mods[m].p);
	wk_piv_free(&piv);
	wk_card_free(&card);
	wk_ctx_free(&ctx);
	return status;
}
