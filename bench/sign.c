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
 */
/* ECDSA_sign_setup / ECDSA_do_sign_ex: the card's signature with its nonce
 * made ahead, timed here as the card does it (vcard/applets/piv_ecdsa.c) */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <dlfcn.h>
#include <getopt.h>
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

/* signatures/s for seconds, or until max signatures (0: no limit) */
static double
run_wk(wk_piv *piv, const bench_alg *a, double seconds, long max)
{
	uint8_t in[256], sig[WK_PIV_SIG_MAX];
	size_t in_len = input_for(a, in, true), sig_len;
	double t0 = bench_now_s(), t;
	long n = 0;
	int rc;

	do {
		sig_len = sizeof(sig);
		if ((rc = wk_piv_sign(piv, a->slot, a->alg, in, in_len, sig,
		    &sig_len)) != WK_OK) {
			snprintf(why, sizeof(why), "slot %02x: %s (SW %04X)",
			    a->slot, wk_strerror(rc), wk_piv_last_sw(piv));
			return -1;
		}
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

static double
run_p11(p11 *p, const bench_alg *a, CK_OBJECT_HANDLE key, double seconds)
{
	CK_MECHANISM mech = { a->p11_mech, NULL, 0 };
	uint8_t in[256], sig[512];
	CK_ULONG in_len = input_for(a, in, false), sig_len;
	double t0 = bench_now_s(), t;
	long n = 0;

	CK_RV rv;

	do {
		sig_len = sizeof(sig);
		if ((rv = p->f->C_SignInit(p->s, &mech, key)) != CKR_OK ||
		    (rv = p->f->C_Sign(p->s, in, in_len, sig, &sig_len)) !=
		    CKR_OK) {
			snprintf(why, sizeof(why), "%s: CKR 0x%lX", a->name,
			    (unsigned long)rv);
			return -1;
		}
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

/* median microseconds of a short APDU (5-byte ECHO, 2-byte answer) on the
 * echo card in reader, through PC/SC alone; -1 when it does not answer */
static double
echo_us(const char *reader, int n)
{
	static const uint8_t echo[] = { 0x00, 0xEE, 0x00, 0x00, 0x00 };
	SCARDCONTEXT ctx = 0;
	SCARDHANDLE h = 0;
	DWORD proto = 0, rlen;
	uint8_t r[258];
	LONG rv = SCARD_S_SUCCESS;
	double *t = NULL, us = -1;
	const SCARD_IO_REQUEST *pci;

	if (reader == NULL || (t = calloc((size_t)n, sizeof(*t))) == NULL)
		goto out;
	if ((rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL,
	    &ctx)) != SCARD_S_SUCCESS || (rv = SCardConnect(ctx, reader,
	    SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h,
	    &proto)) != SCARD_S_SUCCESS) {
		fprintf(stderr, "bench_sign: echo card in %s: %s\n", reader,
		    pcsc_stringify_error(rv));
		goto out;
	}
	pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	for (int i = -50; i < n; i++) {	/* 50 to warm up */
		double t0 = bench_now_s();

		rlen = sizeof(r);
		if ((rv = SCardTransmit(h, pci, echo, sizeof(echo), NULL, r,
		    &rlen)) != SCARD_S_SUCCESS || rlen != 2 || r[0] != 0x90) {
			fprintf(stderr, "bench_sign: echo card: %s, %lu bytes "
			    "%02X%02X\n", pcsc_stringify_error(rv),
			    (unsigned long)rlen, r[0], r[1]);
			goto out;
		}
		if (i >= 0)
			t[i] = (bench_now_s() - t0) * 1e6;
	}
	us = bench_median(t, n);
out:
	if (h != 0)
		SCardDisconnect(h, SCARD_LEAVE_CARD);
	if (ctx != 0)
		SCardReleaseContext(ctx);
	free(t);
	return us;
}

/* ---- output ------------------------------------------------------------ */

/* one row: the rate, its ratios, and the split of one signature's time:
 * the transport (the echo card's APDU), the signature itself (OpenSSL's
 * time in this process) and the rest (card and host work, locking) */
static void
print_row(const char *alg, const char *path, double card, double evp,
    double ahead, double echo, bool on_card, const char *reason)
{
	/* the card's signature on the path: with the nonce made ahead where
	 * it makes one (ECDSA), else OpenSSL's whole signature */
	double us, sig_us = 1e6 / (on_card && ahead > 0 ? ahead : evp);

	if (card <= 0) {
		printf("%-11s %-13s %9s %9s %9s %9s %9s %9s\n", alg, path, "n/a",
		    "-", "-", "-", "-", "-");
		if (reason != NULL && reason[0] != '\0')
			printf("%-11s %-13s (%s)\n", "", "", reason);
		return;
	}
	us = 1e6 / card;
	printf("%-11s %-13s %9.1f %9s %9.3f %9.1f %9.1f %9.1f\n", alg, path,
	    card, "", card / evp, us, on_card && echo > 0 ? echo : 0.0, sig_us);
	if (echo > 0)
		printf("%-11s %-13s %9s %9.2f %9s %9s %9s %9.1f\n", "", "", "",
		    card * echo / 1e6, "", "", "", on_card ? us - echo - sig_us :
		    us - sig_us);
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
		{ NULL, 0, NULL, 0 },
	};
	const char *reader = getenv("WALLETKEY_READER_0"), *echo_reader = NULL;
	double seconds = 1.0, wk_r[MAX_RUNS], evp_r[MAX_RUNS], ahead_r[MAX_RUNS];
	double ahead_m;
	double mod_r[MAX_MODULES][MAX_RUNS], card_m, evp_m, echo = -1, ceiling;
	bool have_ceiling;
	int runs = 5, c, status = 1, nmod = 0;
	bool trace = false;
	wk_ctx *ctx = NULL;
	wk_card *card = NULL;
	wk_piv *piv = NULL;
	EVP_PKEY *k;
	module mods[MAX_MODULES];

	memset(mods, 0, sizeof(mods));
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
		default:
			goto usage;
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
	/* before any module: OpenSC's looks at every reader, the echo card's too */
	if (!trace)
		echo = echo_us(echo_reader, 2000);
	for (int m = 0; m < nmod; m++)
		mods[m].open = p11_open(&mods[m].p, mods[m].so, mods[m].token,
		    "123456") == 0;
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
	ceiling = echo > 0 ? 1e6 / echo : -1;
	have_ceiling = ceiling > 0;
	printf("signatures per second, median of %d runs of %.1f s\n", runs,
	    seconds);
	if (have_ceiling)
		printf("transport ceiling: the echo card's short APDU %.1f us "
		    "(median of 2000) = %.0f APDUs/s\n", echo, ceiling);
	else
		printf("transport ceiling: no echo card (--echo-reader)\n");
	printf("x-CEIL = signatures/s over the ceiling (second line of a row);"
	    " x-OPENSSL = over OpenSSL in\nthis process; one signature's us: "
	    "APDU (the echo card's), SIG (OpenSSL's signature here; ECDSA:\n"
	    "the part after the nonce the card makes ahead; Ed25519: "
	    "libsodium's, as the card signs),\nREST (second line: what is "
	    "left, the card's and the host's own work)\n");
	printf("%-11s %-13s %9s %9s %9s %9s %9s %9s\n", "ALGORITHM", "PATH",
	    "SIG/S", "x-CEIL", "x-OPENSSL", "us/SIG", "APDU us", "SIG us");
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		const bench_alg *a = &algs[i];
		CK_OBJECT_HANDLE keys[MAX_MODULES];
		bool ok[MAX_MODULES];
		char wk_why[sizeof(why)], mod_why[MAX_MODULES][sizeof(why)];

		wk_why[0] = '\0';
		for (int m = 0; m < nmod; m++) {
			mod_why[m][0] = '\0';
			ok[m] = mods[m].open && p11_key(&mods[m].p, a, &keys[m]) == 0;
			if (!ok[m])
				snprintf(mod_why[m], sizeof(mod_why[m]), "%s",
				    !mods[m].open ? "the module did not open" :
				    "no private key of this type with OpenSC's id for"
				    " the slot");
		}
		if ((k = evp_key(a)) == NULL)
			goto out;
		/* runs interleave the paths so drift hits them alike */
		for (int r = 0; r < runs; r++) {
			why[0] = '\0';
			if ((wk_r[r] = run_wk(piv, a, seconds, 0)) < 0)
				memcpy(wk_why, why, sizeof(why));
			for (int m = 0; m < nmod; m++) {
				why[0] = '\0';
				mod_r[m][r] = ok[m] ? run_p11(&mods[m].p, a, keys[m],
				    seconds) : -1;
				if (ok[m] && mod_r[m][r] < 0)
					memcpy(mod_why[m], why, sizeof(why));
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
		card_m = bench_median(wk_r, runs);
		print_row(a->name, "libwalletkey", card_m, evp_m, ahead_m, echo,
		    true, wk_why);
		for (int m = 0; m < nmod; m++)
			print_row(a->name, mods[m].name, bench_median(mod_r[m], runs),
			    evp_m, ahead_m, echo,
			    strcmp(mods[m].name, "softhsm2") != 0, mod_why[m]);
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
	    "[--echo-reader NAME] [--module NAME=SO[:TOKEN]]... [--trace]\n",
	    stderr);
	return 2;
out:
	for (int m = 0; m < nmod; m++)
		if (mods[m].open)
			p11_close(&mods[m].p);
	wk_piv_free(&piv);
	wk_card_free(&card);
	wk_ctx_free(&ctx);
	return status;
}
