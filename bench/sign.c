/*
 * bench/sign: signatures per second by the card, through libwalletkey and
 * through a PKCS#11 module (dlopen, e.g. OpenSC's opensc-pkcs11.so), each
 * beside the same algorithm done in process with OpenSSL's EVP. Prints
 * medians of several runs and their ratios; never fails on time.
 *
 * usage: bench_sign [--runs N] [--seconds S] [--module SO] [--reader NAME]
 * The keys must be in place (bench/sign.sh puts them there):
 *   9a ECDSA P-256, 9d Ed25519, 9e RSA-2048, PIN 123456; and 9c ECDSA
 *   P-256 with PIN policy once, whose signatures are audit records.
 */
#include <dlfcn.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

#include "walletkey.h"

#define MAX_RUNS 15

typedef struct bench_alg {
	const char *name;
	uint8_t slot, alg;
	CK_BYTE p11_id;		/* OpenSC's key id for the slot */
	CK_KEY_TYPE p11_type;
	CK_MECHANISM_TYPE p11_mech;
} bench_alg;

static const bench_alg algs[] = {
	{ "ecdsa-p256", 0x9A, WK_PIV_ALG_ECCP256, 0x01, CKK_EC, CKM_ECDSA },
	{ "ed25519", 0x9D, WK_PIV_ALG_ED25519, 0x03, CKK_EC_EDWARDS,
	  CKM_EDDSA },
	/* 9e: OpenSC gives 9d's RSA key decrypt/unwrap only */
	{ "rsa2048", 0x9E, WK_PIV_ALG_RSA2048, 0x04, CKK_RSA, CKM_RSA_PKCS },
};

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
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* what one signature takes as input for alg: a SHA-256 digest, a padded
 * RSA block or a short message */
static size_t
input_for(const bench_alg *a, uint8_t *buf, bool padded)
{
	static const uint8_t info[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
		0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
		0x04, 0x20 };

	memset(buf, 0x5A, 32);
	if (a->alg != WK_PIV_ALG_RSA2048)
		return 32;
	if (!padded) {
		memmove(buf + sizeof(info), buf, 32);
		memcpy(buf, info, sizeof(info));
		return sizeof(info) + 32;
	}
	/* EMSA-PKCS1-v1_5 for the raw card operation */
	buf[0] = 0x00;
	buf[1] = 0x01;
	memset(buf + 2, 0xFF, 256 - 3 - 51);
	buf[256 - 52] = 0x00;
	memcpy(buf + 256 - 51, info, sizeof(info));
	memset(buf + 256 - 32, 0x5A, 32);
	return 256;
}

/* ---- libwalletkey ---------------------------------------------------- */

static double
run_wk(wk_piv *piv, const bench_alg *a, double seconds)
{
	uint8_t in[256], sig[WK_PIV_SIG_MAX];
	size_t in_len = input_for(a, in, true), sig_len;
	double t0 = now(), t;
	long n = 0;

	do {
		sig_len = sizeof(sig);
		if (wk_piv_sign(piv, a->slot, a->alg, in, in_len, sig,
		    &sig_len) != WK_OK)
			return -1;
		n++;
		t = now() - t0;
	} while (t < seconds);
	return (double)n / t;
}

/* ---- PKCS#11 ---------------------------------------------------------- */

typedef struct p11 {
	void *dl;
	CK_FUNCTION_LIST *f;
	CK_SESSION_HANDLE s;
	bool init;
} p11;

static int
p11_open(p11 *p, const char *module, const char *pin)
{
	CK_C_GetFunctionList get;
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if ((p->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "bench_sign: %s\n", dlerror());
		goto out;
	}
	*(void **)(&get) = dlsym(p->dl, "C_GetFunctionList");
	if (get == NULL || get(&p->f) != CKR_OK ||
	    p->f->C_Initialize(NULL) != CKR_OK)
		goto out;
	p->init = true;
	if (p->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || n == 0) {
		fprintf(stderr, "bench_sign: no token through %s\n", module);
		goto out;
	}
	if (p->f->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL,
	    &p->s) != CKR_OK)
		goto out;
	if (p->f->C_Login(p->s, CKU_USER, (CK_UTF8CHAR *)pin,
	    (CK_ULONG)strlen(pin)) != CKR_OK) {
		fprintf(stderr, "bench_sign: C_Login failed\n");
		goto out;
	}
	rc = 0;
out:
	return rc;
}

static void
p11_close(p11 *p)
{
	if (p->init)
		p->f->C_Finalize(NULL);
	if (p->dl != NULL)
		dlclose(p->dl);
	memset(p, 0, sizeof(*p));
}

static int
p11_key(p11 *p, const bench_alg *a, CK_OBJECT_HANDLE *key)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_BYTE id = a->p11_id;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, &id, sizeof(id) },
	};
	CK_KEY_TYPE type = 0;
	CK_ATTRIBUTE get = { CKA_KEY_TYPE, &type, sizeof(type) };
	CK_ULONG n = 0;

	if (p->f->C_FindObjectsInit(p->s, tmpl, 2) != CKR_OK)
		return -1;
	if (p->f->C_FindObjects(p->s, key, 1, &n) != CKR_OK)
		n = 0;
	p->f->C_FindObjectsFinal(p->s);
	if (n != 1 || p->f->C_GetAttributeValue(p->s, *key, &get, 1) !=
	    CKR_OK || type != a->p11_type)
		return -1;
	return 0;
}

static double
run_p11(p11 *p, const bench_alg *a, CK_OBJECT_HANDLE key, double seconds)
{
	CK_MECHANISM mech = { a->p11_mech, NULL, 0 };
	uint8_t in[256], sig[512];
	CK_ULONG in_len = input_for(a, in, false), sig_len;
	double t0 = now(), t;
	long n = 0;

	do {
		sig_len = sizeof(sig);
		if (p->f->C_SignInit(p->s, &mech, key) != CKR_OK ||
		    p->f->C_Sign(p->s, in, in_len, sig, &sig_len) != CKR_OK)
			return -1;
		n++;
		t = now() - t0;
	} while (t < seconds);
	return (double)n / t;
}

/* ---- OpenSSL in process ---------------------------------------------- */

static double
run_evp(EVP_PKEY *k, const bench_alg *a, double seconds)
{
	uint8_t in[256], sig[512];
	size_t sig_len, in_len = 32;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *md = NULL;
	double t0 = now(), t = 0, rate = -1;
	long n = 0;

	memset(in, 0x5A, sizeof(in));
	if (a->alg == WK_PIV_ALG_ED25519) {
		if ((md = EVP_MD_CTX_new()) == NULL)
			goto out;
	} else if ((ctx = EVP_PKEY_CTX_new(k, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1) {
		goto out;
	}
	do {
		sig_len = sizeof(sig);
		if (md != NULL) {
			if (EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, k,
			    NULL) != 1 || EVP_DigestSign(md, sig, &sig_len, in,
			    in_len) != 1)
				goto out;
		} else if (EVP_PKEY_sign(ctx, sig, &sig_len, in, in_len) != 1) {
			goto out;
		}
		n++;
		t = now() - t0;
	} while (t < seconds);
	rate = (double)n / t;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_MD_CTX_free(md);
	return rate;
}

static EVP_PKEY *
evp_key(const bench_alg *a)
{
	if (a->alg == WK_PIV_ALG_ECCP256)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (a->alg == WK_PIV_ALG_ED25519)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

static void
print_row(const char *alg, const char *path, double card, double evp)
{
	if (card <= 0)
		printf("%-11s %-13s %12s %12.0f %10s\n", alg, path, "n/a", evp,
		    "-");
	else
		printf("%-11s %-13s %12.1f %12.0f %10.5f\n", alg, path, card,
		    evp, card / evp);
}

int
main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "module", required_argument, NULL, 'm' },
		{ "reader", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *module = NULL, *reader = getenv("WALLETKEY_READER_0");
	double seconds = 1.0, wk_r[MAX_RUNS], p11_r[MAX_RUNS], evp_r[MAX_RUNS];
	double card_m, evp_m;
	int runs = 5, c, status = 1;
	wk_ctx *ctx = NULL;
	wk_card *card = NULL;
	wk_piv *piv = NULL;
	EVP_PKEY *k;
	CK_OBJECT_HANDLE key;
	p11 p;
	bool have_p11 = false;

	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'r': runs = atoi(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'm': module = optarg; break;
		case 'R': reader = optarg; break;
		default:
			fputs("usage: bench_sign [--runs N] [--seconds S] "
			    "[--module SO] [--reader NAME]\n", stderr);
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS || seconds <= 0 || seconds > 60) {
		fputs("bench_sign: --runs 1..15, --seconds up to 60\n", stderr);
		return 2;
	}
	if (wk_ctx_new(&ctx) != WK_OK || wk_card_open(ctx, reader, &card) !=
	    WK_OK || wk_piv_open(card, &piv) != WK_OK ||
	    wk_piv_verify_pin(piv, (const uint8_t *)"123456", 6, NULL) !=
	    WK_OK) {
		fputs("bench_sign: no PIV card with PIN 123456\n", stderr);
		goto out;
	}
	if (module != NULL)
		have_p11 = p11_open(&p, module, "123456") == 0;
	printf("signatures per second, median of %d runs of %.1f s; ratio = "
	    "card / in-process OpenSSL\n", runs, seconds);
	printf("%-11s %-13s %12s %12s %10s\n", "ALGORITHM", "PATH", "CARD/S",
	    "OPENSSL/S", "RATIO");
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		const bench_alg *a = &algs[i];
		bool p11_ok = have_p11 && p11_key(&p, a, &key) == 0;

		if ((k = evp_key(a)) == NULL)
			goto out;
		/* runs interleave the paths so drift hits them alike */
		for (int r = 0; r < runs; r++) {
			wk_r[r] = run_wk(piv, a, seconds);
			p11_r[r] = p11_ok ? run_p11(&p, a, key, seconds) : -1;
			evp_r[r] = run_evp(k, a, seconds);
		}
		EVP_PKEY_free(k);
		evp_m = median(evp_r, runs);
		card_m = median(wk_r, runs);
		print_row(a->name, "libwalletkey", card_m, evp_m);
		if (module != NULL) {
			double p11_m = median(p11_r, runs);
			print_row(a->name, "pkcs11", p11_m, evp_m);
			/* issue 17: what the module adds over the library
			 * (bench/p11.sh prints its PC/SC calls per C_Sign) */
			if (p11_m > 0 && card_m > 0)
				printf("%-11s %-13s %12s %12s %10.2f\n", a->name,
				    "pkcs11/lib", "", "", p11_m / card_m);
		}
		fflush(stdout);
	}
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

		for (int r = 0; r < runs; r++) {
			a9[r] = run_wk(piv, &plain, seconds);
			c9[r] = run_wk(piv, &logged, seconds);
		}
		ma = median(a9, runs);
		mc = median(c9, runs);
		printf("\nthe audit record of a signature (9C logs each, 9A none;"
		    " libwalletkey, median of %d runs)\n", runs);
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
			printf("(no 9C key with PIN policy once: bench/sign.sh makes"
			    " one)\n");
	}
	status = 0;
out:
	if (have_p11)
		p11_close(&p);
	wk_piv_free(&piv);
	wk_card_free(&card);
	wk_ctx_free(&ctx);
	return status;
}
