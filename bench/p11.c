/*
 * bench/p11: C_Sign rates through a PKCS#11 module, and its login latency.
 * Prints medians; never fails on time.
 *
 * usage: bench_p11 --module SO [--token LABEL-PREFIX] [--pin PIN]
 *                  [--runs N] [--seconds S] [--logins N] KEY...
 * KEY is NAME:MECHANISM:ID (ID one byte in hex), e.g. p256:ECDSA:01,
 * ed25519:EDDSA:03, rsa2048:SHA256_RSA_PKCS:04. MECHANISM is ECDSA,
 * EDDSA or SHA256_RSA_PKCS; ECDSA signs a 32-byte digest.
 * --trace: no rates; for each key one C_SignInit and one C_Sign between
 * markers on stderr ("@@ NAME C_Sign" ... "@@ end"), for the module's own
 * trace (WALLETKEY_P11_DEBUG=trace) to be counted (bench/p11.sh).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#include "bench_stat.h"

static CK_FUNCTION_LIST *f;

static CK_OBJECT_HANDLE
find_key(CK_SESSION_HANDLE h, CK_BYTE id)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, &id, 1 } };
	CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
	CK_ULONG n = 0;

	if (f->C_FindObjectsInit(h, t, 2) != CKR_OK)
		return CK_INVALID_HANDLE;
	if (f->C_FindObjects(h, &o, 1, &n) != CKR_OK || n != 1)
		o = CK_INVALID_HANDLE;
	f->C_FindObjectsFinal(h);
	return o;
}

static CK_MECHANISM_TYPE
mech_of(const char *name)
{
	if (strcmp(name, "ECDSA") == 0)
		return CKM_ECDSA;
	if (strcmp(name, "EDDSA") == 0)
		return CKM_EDDSA;
	if (strcmp(name, "SHA256_RSA_PKCS") == 0)
		return CKM_SHA256_RSA_PKCS;
	return CK_UNAVAILABLE_INFORMATION;
}

/* signatures per second over about `seconds`; -1 when a signature fails */
static double
sign_rate(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE mt,
    double seconds)
{
	CK_MECHANISM m = { mt, NULL, 0 };
	CK_BYTE data[32], sig[1024];
	CK_ULONG n;
	double t0 = bench_now_s(), t;
	long count = 0;

	memset(data, 0x5A, sizeof(data));
	do {
		n = sizeof(sig);
		if (f->C_SignInit(h, &m, key) != CKR_OK ||
		    f->C_Sign(h, data, sizeof(data), sig, &n) != CKR_OK)
			return -1;
		count++;
		t = bench_now_s();
	} while (t - t0 < seconds);
	return (double)count / (t - t0);
}

/* picks the slot whose token label starts with token (any token when NULL) */
static int
pick_slot(const char *token, CK_SLOT_ID *slot)
{
	CK_SLOT_ID slots[16];
	CK_ULONG ns = 16;
	CK_TOKEN_INFO ti;

	if (f->C_GetSlotList(CK_TRUE, slots, &ns) != CKR_OK)
		return -1;
	for (CK_ULONG s = 0; s < ns; s++) {
		if (f->C_GetTokenInfo(slots[s], &ti) != CKR_OK)
			continue;
		if (token == NULL ||
		    strncmp((char *)ti.label, token, strlen(token)) == 0) {
			*slot = slots[s];
			return 0;
		}
	}
	return -1;
}

/* a cold start as an application sees it: C_Initialize, C_GetSlotList,
 * C_OpenSession and C_Login, in ms; -1 on failure */
static double
cold_start(const char *token, const char *pin)
{
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE h;
	double t0 = bench_now_s(), ms = -1;

	if (f->C_Initialize(NULL) != CKR_OK)
		return -1;
	if (pick_slot(token, &slot) == 0 &&
	    f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h) == CKR_OK) {
		if (f->C_Login(h, CKU_USER, (CK_BYTE *)pin, strlen(pin)) == CKR_OK) {
			ms = (bench_now_s() - t0) * 1000;
			f->C_Logout(h);
		}
		f->C_CloseSession(h);
	}
	f->C_Finalize(NULL);
	return ms;
}

int
main(int argc, char **argv)
{
	const char *module = NULL, *token = NULL, *pin = "123456";
	int runs = 5, logins = 20, i, nkeys = 0, trace = 0;
	double seconds = 1.0, r[64], l[256];
	char *keys[16];
	CK_C_GetFunctionList get;
	CK_SLOT_ID slot = 0;
	CK_SESSION_HANDLE h;
	void *lib;
	int found = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--module") == 0 && i + 1 < argc)
			module = argv[++i];
		else if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
			token = argv[++i];
		else if (strcmp(argv[i], "--pin") == 0 && i + 1 < argc)
			pin = argv[++i];
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--logins") == 0 && i + 1 < argc)
			logins = atoi(argv[++i]);
		else if (strcmp(argv[i], "--trace") == 0)
			trace = 1;
		else if (nkeys < 16 && argv[i][0] != '-')
			keys[nkeys++] = argv[i];
		else {
			fputs("usage: bench_p11 --module SO [--token LABEL] [--pin PIN] "
			    "[--runs N] [--seconds S] [--logins N] NAME:MECH:ID...\n",
			    stderr);
			return 2;
		}
	}
	if (trace)
		logins = runs = 1;
	if (module == NULL || runs < 1 || runs > 64 || logins < 1 ||
	    logins > 256)
		return 2;
	if ((lib = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "bench_p11: %s\n", dlerror());
		return 1;
	}
	*(void **)&get = dlsym(lib, "C_GetFunctionList");
	if (get == NULL || get(&f) != CKR_OK)
		return 1;
	/* start-up latency, module loaded: initialize to logged in */
	for (i = 0; i < runs; i++)
		if ((r[i] = cold_start(token, pin)) < 0)
			break;
	if (i == runs)
		printf("%-10s %-16s %10.2f ms\n", "startup", "Init..Login",
		    bench_median(r, runs));
	else
		printf("%-10s %-16s %10s\n", "startup", "Init..Login", "failed");
	if (f->C_Initialize(NULL) != CKR_OK)
		return 1;
	found = pick_slot(token, &slot) == 0;
	if (!found || f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
	    &h) != CKR_OK) {
		fprintf(stderr, "bench_p11: no token%s%s\n", token ? " " : "",
		    token ? token : "");
		return 1;
	}
	/* login latency: C_Login + C_Logout pairs (one VERIFY each way on a card) */
	for (i = 0; i < logins; i++) {
		double t0 = bench_now_s();
		if (f->C_Login(h, CKU_USER, (CK_BYTE *)pin, strlen(pin)) != CKR_OK)
			break;
		l[i] = (bench_now_s() - t0) * 1000;
		f->C_Logout(h);
	}
	if (i == logins)
		printf("%-10s %-16s %10.2f ms\n", "login", "C_Login", bench_median(l, logins));
	else
		printf("%-10s %-16s %10s\n", "login", "C_Login", "failed");
	if (f->C_Login(h, CKU_USER, (CK_BYTE *)pin, strlen(pin)) != CKR_OK)
		return 1;
	for (int k = 0; k < nkeys; k++) {
		char name[32], mech[32];
		unsigned id;
		CK_OBJECT_HANDLE key;
		int ok = 1;

		if (sscanf(keys[k], "%31[^:]:%31[^:]:%x", name, mech, &id) != 3 ||
		    mech_of(mech) == CK_UNAVAILABLE_INFORMATION)
			return 2;
		key = find_key(h, (CK_BYTE)id);
		if (trace && key != CK_INVALID_HANDLE) {
			CK_MECHANISM m = { mech_of(mech), NULL, 0 };
			CK_BYTE data[32] = { 0 }, sig[1024];
			CK_ULONG n = sizeof(sig);
			CK_RV rv;

			/* one signature first: the module's state as in a run */
			(void)sign_rate(h, key, mech_of(mech), 0);
			fprintf(stderr, "@@ %s C_SignInit\n", name);
			rv = f->C_SignInit(h, &m, key);
			fprintf(stderr, "@@ %s C_Sign\n", name);
			if (rv == CKR_OK)
				rv = f->C_Sign(h, data, sizeof(data), sig, &n);
			fprintf(stderr, "@@ end\n");
			printf("%-10s %-16s %10s\n", name, mech, rv == CKR_OK ?
			    "traced" : "failed");
			continue;
		}
		for (i = 0; i < runs && key != CK_INVALID_HANDLE && ok; i++) {
			r[i] = sign_rate(h, key, mech_of(mech), seconds);
			ok = r[i] >= 0;
		}
		if (key == CK_INVALID_HANDLE || !ok)
			printf("%-10s %-16s %10s\n", name, mech, "n/a");
		else
			printf("%-10s %-16s %10.1f sig/s\n", name, mech, bench_median(r, runs));
	}
	f->C_CloseSession(h);
	f->C_Finalize(NULL);
	return 0;
}
