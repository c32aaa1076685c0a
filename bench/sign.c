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
/* ECDSA_sign_setup / ECDSA_do_sign_ex: the card's signature with its nonce
 * made ahead, timed here as the card does it (vcard/applets/piv_ecdsa.c) */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <dirent.h>
#include <dlfcn.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>
#include <PCSC/winscard.h>
#include <sodium.h>
#include <PCSC/wintypes.h>

#include "walletkey.h"

#include "bench_stat.h"

#define MAX_RUNS 15
#define MAX_MODULES 4
/* 9C signatures a run: runs x this stays under the log's 10,000 */
#define AUDIT_PER_RUN 600

typedef struct bench_alg {
	const char *name;
	uint8_t slot, alg;
	CK_BYTE p11_id;		/* OpenSC's key id for the slot */
	CK_KEY_TYPE p11_type;
	CK_MECHANISM_TYPE p11_mech;
} bench_alg;

static const bench_alg algs[] = {
	{ "ecdsa-p256", 0x9A, WK_PIV_ALG_ECCP256, 0x01, CKK_EC, CKM_ECDSA },
	/* 83: a slot without audit records, as 9a and 9e */
	{ "ed25519", 0x83, WK_PIV_ALG_ED25519, 0x06, CKK_EC_EDWARDS,
	  CKM_EDDSA },
	/* 9e: OpenSC gives 9d's RSA key decrypt/unwrap only */
	{ "rsa2048", 0x9E, WK_PIV_ALG_RSA2048, 0x04, CKK_RSA, CKM_RSA_PKCS },
};

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

/* why the last failed run failed, for the n/a rows */
static char why[160];

/* one signature of a through libwalletkey; 0, or -1 with why set */
static int
wk_one(wk_piv *piv, const bench_alg *a, const uint8_t *in, size_t in_len)
{
	uint8_t sig[WK_PIV_SIG_MAX];
	size_t sig_len = sizeof(sig);
	int rc;

	if ((rc = wk_piv_sign(piv, a->slot, a->alg, in, in_len, sig,
	    &sig_len)) != WK_OK) {
		snprintf(why, sizeof(why), "slot %02x: %s (SW %04X)", a->slot,
		    wk_strerror(rc), wk_piv_last_sw(piv));
		return -1;
	}
	return 0;
}

/* signatures/s for seconds, or until max signatures (0: no limit) */
static double
run_wk(wk_piv *piv, const bench_alg *a, double seconds, long max)
{
	uint8_t in[256];
	size_t in_len = input_for(a, in, true);
	double t0 = bench_now_s(), t;
	long n = 0;

	do {
		if (wk_one(piv, a, in, in_len) != 0)
			return -1;
		n++;
		t = bench_now_s() - t0;
	} while (t < seconds && (max == 0 || n < max));
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
p11_open(p11 *p, const char *module, const char *token, const char *pin)
{
	CK_C_GetFunctionList get;
	CK_SLOT_ID slots[16];
	CK_TOKEN_INFO ti;
	CK_ULONG n = 16, k;
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
	for (k = 0; token != NULL && k < n; k++)
		if (p->f->C_GetTokenInfo(slots[k], &ti) == CKR_OK &&
		    strncmp((const char *)ti.label, token, strlen(token)) == 0)
			break;
	if (k == n) {
		fprintf(stderr, "bench_sign: no token %s through %s\n", token,
		    module);
		goto out;
	}
	if (token == NULL)
		k = 0;
	if (p->f->C_OpenSession(slots[k], CKF_SERIAL_SESSION, NULL, NULL,
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

/* one C_SignInit + C_Sign; 0, or -1 with why set */
static int
p11_one(p11 *p, const bench_alg *a, CK_OBJECT_HANDLE key, const uint8_t *in,
    CK_ULONG in_len)
{
	CK_MECHANISM mech = { a->p11_mech, NULL, 0 };
	uint8_t sig[512];
	CK_ULONG sig_len = sizeof(sig);
	CK_RV rv;

	if ((rv = p->f->C_SignInit(p->s, &mech, key)) != CKR_OK ||
	    (rv = p->f->C_Sign(p->s, (CK_BYTE_PTR)(uintptr_t)in, in_len, sig,
	    &sig_len)) != CKR_OK) {
		snprintf(why, sizeof(why), "%s: CKR 0x%lX", a->name,
		    (unsigned long)rv);
		return -1;
	}
	return 0;
}

static double
run_p11(p11 *p, const bench_alg *a, CK_OBJECT_HANDLE key, double seconds)
{
	uint8_t in[256];
	CK_ULONG in_len = input_for(a, in, false);
	double t0 = bench_now_s(), t;
	long n = 0;

	do {
		if (p11_one(p, a, key, in, in_len) != 0)
			return -1;
		n++;
		t = bench_now_s() - t0;
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
	double t0 = bench_now_s(), t = 0, rate = -1;
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
		t = bench_now_s() - t0;
	} while (t < seconds);
	rate = (double)n / t;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_MD_CTX_free(md);
	return rate;
}

/*
 * Ed25519 as the card signs (vcard/applets/piv_auth.c): libsodium's
 * crypto_sign_detached with the key's signing form made once, as the card
 * keeps it. Signatures per second.
 */
static double
run_sodium_ed25519(EVP_PKEY *k, double seconds)
{
	uint8_t in[32], seed[32], pk[32], sk[64], sig[64];
	size_t sl = sizeof(seed);
	double t0 = bench_now_s(), t = 0;
	long n = 0;

	memset(in, 0x5A, sizeof(in));
	if (EVP_PKEY_get_raw_private_key(k, seed, &sl) != 1 ||
	    crypto_sign_seed_keypair(pk, sk, seed) != 0)
		return -1;
	do {
		if (crypto_sign_detached(sig, NULL, in, sizeof(in), sk) != 0)
			break;
		n++;
		t = bench_now_s() - t0;
	} while (t < seconds);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	return n > 0 && t > 0 ? (double)n / t : -1;
}

/*
 * ECDSA as the card signs on the path: the nonce (k^-1, r) made ahead
 * while it waits for the next command, untimed here as there; what is
 * timed is s = k^-1 (e + r d) and the DER encoding. Signatures per second.
 */
static double
run_ecdsa_ahead(EVP_PKEY *k, double seconds)
{
	uint8_t in[32], der[80], *p;
	EC_KEY *ec = EVP_PKEY_get1_EC_KEY(k);
	BIGNUM *kinv = NULL, *r = NULL;
	ECDSA_SIG *sig;
	double t = 0, rate = -1, t0;
	long n = 0;

	memset(in, 0x5A, sizeof(in));
	if (ec == NULL)
		return -1;
	do {
		if (ECDSA_sign_setup(ec, NULL, &kinv, &r) != 1)
			goto out;
		t0 = bench_now_s();
		sig = ECDSA_do_sign_ex(in, sizeof(in), kinv, r, ec);
		p = der;
		if (sig == NULL || i2d_ECDSA_SIG(sig, &p) <= 0) {
			ECDSA_SIG_free(sig);
			goto out;
		}
		ECDSA_SIG_free(sig);
		t += bench_now_s() - t0;
		BN_clear_free(kinv);
		BN_clear_free(r);
		kinv = r = NULL;
		n++;
	} while (t < seconds / 4);
	rate = (double)n / t;
out:
	BN_clear_free(kinv);
	BN_clear_free(r);
	EC_KEY_free(ec);
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

/* ---- the transport ceiling ------------------------------------------- */

/* the echo card (walletkey-echo-card, the card that does nothing), open
 * through PC/SC for the whole run */
typedef struct echo_card {
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	const SCARD_IO_REQUEST *pci;
} echo_card;

/* one short APDU (5-byte ECHO, 2-byte answer); 0, or -1 */
static int
echo_one(echo_card *e)
{
	static const uint8_t cmd[] = { 0x00, 0xEE, 0x00, 0x00, 0x00 };
	uint8_t r[258];
	DWORD rlen = sizeof(r);
	LONG rv;

	if ((rv = SCardTransmit(e->h, e->pci, cmd, sizeof(cmd), NULL, r,
	    &rlen)) != SCARD_S_SUCCESS || rlen != 2 || r[0] != 0x90) {
		fprintf(stderr, "bench_sign: echo card: %s, %lu bytes\n",
		    pcsc_stringify_error(rv), (unsigned long)rlen);
		return -1;
	}
	return 0;
}

static void
echo_close(echo_card *e)
{
	if (e->h != 0)
		SCardDisconnect(e->h, SCARD_LEAVE_CARD);
	if (e->ctx != 0)
		SCardReleaseContext(e->ctx);
	memset(e, 0, sizeof(*e));
}

/* connects to the echo card in reader and warms it up (50 APDUs) */
static int
echo_open(echo_card *e, const char *reader)
{
	DWORD proto = 0;
	LONG rv;

	memset(e, 0, sizeof(*e));
	if (reader == NULL)
		return -1;
	if ((rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL,
	    &e->ctx)) != SCARD_S_SUCCESS || (rv = SCardConnect(e->ctx, reader,
	    SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &e->h,
	    &proto)) != SCARD_S_SUCCESS) {
		fprintf(stderr, "bench_sign: echo card in %s: %s\n", reader,
		    pcsc_stringify_error(rv));
		echo_close(e);
		return -1;
	}
	e->pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	for (int i = 0; i < 50; i++)
		if (echo_one(e) != 0) {
			echo_close(e);
			return -1;
		}
	return 0;
}

/* ---- one path, in rounds paired with the echo card -------------------- */

enum { PATH_WK, PATH_P11, PATH_ECHO };

/* what one call of path_one does: a signature through libwalletkey or a
 * module, or an APDU to the echo card */
typedef struct path_ctx {
	int kind;
	const bench_alg *a;
	wk_piv *piv;
	p11 *p;
	CK_OBJECT_HANDLE key;
	echo_card *e;
	uint8_t in[256];
	size_t in_len;
} path_ctx;

static void
path_init(path_ctx *c, int kind, const bench_alg *a)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->a = a;
	if (a != NULL)
		c->in_len = input_for(a, c->in, kind == PATH_WK);
}

static int
path_one(path_ctx *c)
{
	switch (c->kind) {
	case PATH_WK:
		return wk_one(c->piv, c->a, c->in, c->in_len);
	case PATH_P11:
		return p11_one(c->p, c->a, c->key, c->in, (CK_ULONG)c->in_len);
	default:
		return echo_one(c->e);
	}
}

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
	why[0] = '\0';
	f->rate[r] = run_paired(c, e, seconds, &f->echo[r], &f->sig[r]);
	if (f->rate[r] < 0) {
		f->failed = true;
		memcpy(f->why, why, sizeof(f->why));
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

/* ---- the cost of one operation (--cost) ------------------------------- */

#define MAX_WATCH 4

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
static int
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
		fprintf(stderr, "bench_sign: %s: %s\n", label, why);
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
		char c_why[sizeof(why)];

		/* the log keeps 10,000 records before it refuses (docs/audit.md
		 * "Capacity"): at most AUDIT_PER_RUN records a run */
		c_why[0] = '\0';
		for (int r = 0; r < runs; r++) {
			a9[r] = run_wk(piv, &plain, seconds, AUDIT_PER_RUN);
			why[0] = '\0';
			if ((c9[r] = run_wk(piv, &logged, seconds,
			    AUDIT_PER_RUN)) < 0)
				memcpy(c_why, why, sizeof(why));
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
