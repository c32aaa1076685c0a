/*
 * bench/gm: SM2 signatures and SM4-CBC-MACs per second through the SKF
 * library and the card, beside OpenSSL doing the same in this process.
 * Prints the median of several runs; never fails on time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "skf.h"

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

typedef int (*op_fn)(void *arg);

/* operations per second, median of runs of about secs each */
static double
rate(op_fn op, void *arg, int runs, double secs)
{
	double r[16], t0;
	long n;

	if (runs > 16)
		runs = 16;
	for (int i = 0; i < runs; i++) {
		n = 0;
		t0 = now();
		while (now() - t0 < secs) {
			if (op(arg) != 0) {
				fprintf(stderr, "bench/gm: operation failed\n");
				exit(1);
			}
			n++;
		}
		r[i] = (double)n / (now() - t0);
	}
	qsort(r, (size_t)runs, sizeof(r[0]), cmp);
	return r[runs / 2];
}

typedef struct ctx {
	HCONTAINER cont;
	HANDLE key;
	BLOCKCIPHERPARAM mp;
	BYTE e[32];
	BYTE data[64];
	EVP_PKEY *pk;
	EVP_CIPHER_CTX *cc;
} ctx;

static int
card_sign(void *arg)
{
	ctx *c = arg;
	ECCSIGNATUREBLOB sig;

	return SKF_ECCSignData(c->cont, c->e, 32, &sig) == SAR_OK ? 0 : -1;
}

static int
card_mac(void *arg)
{
	ctx *c = arg;
	HANDLE m;
	BYTE mac[16];
	ULONG n = sizeof(mac);
	int r = -1;

	if (SKF_MacInit(c->key, &c->mp, &m) != SAR_OK)
		return -1;
	if (SKF_Mac(m, c->data, sizeof(c->data), mac, &n) == SAR_OK)
		r = 0;
	SKF_CloseHandle(m);
	return r;
}

static int
ossl_sign(void *arg)
{
	ctx *c = arg;
	EVP_PKEY_CTX *p = EVP_PKEY_CTX_new(c->pk, NULL);
	BYTE sig[80];
	size_t n = sizeof(sig);
	int r = -1;

	if (p != NULL && EVP_PKEY_sign_init(p) == 1 &&
	    EVP_PKEY_sign(p, sig, &n, c->e, 32) == 1)
		r = 0;
	EVP_PKEY_CTX_free(p);
	return r;
}

static int
ossl_mac(void *arg)
{
	ctx *c = arg;
	BYTE out[64];
	int n = 0;

	if (EVP_EncryptInit_ex(c->cc, EVP_sm4_cbc(), NULL,
	    (const BYTE *)"0123456789abcdef", c->mp.IV) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->cc, 0) != 1 ||
	    EVP_EncryptUpdate(c->cc, out, &n, c->data, sizeof(c->data)) != 1)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	double secs = argc > 2 ? atof(argv[2]) : 1.0;
	char dev[256];
	ULONG n = sizeof(dev), retry;
	DEVHANDLE d;
	HAPPLICATION a;
	ECCPUBLICKEYBLOB pub;
	ctx c;

	memset(&c, 0, sizeof(c));
	if (SKF_EnumDev(TRUE, dev, &n) != SAR_OK || SKF_ConnectDev(dev, &d) !=
	    SAR_OK || SKF_OpenApplication(d, (LPSTR)"walletkey", &a) != SAR_OK ||
	    SKF_VerifyPIN(a, USER_TYPE, (LPSTR)"12345678", &retry) != SAR_OK ||
	    (SKF_OpenContainer(a, (LPSTR)"bench", &c.cont) != SAR_OK &&
	    SKF_CreateContainer(a, (LPSTR)"bench", &c.cont) != SAR_OK) ||
	    SKF_GenECCKeyPair(c.cont, SGD_SM2_1, &pub) != SAR_OK ||
	    SKF_SetSymmKey(d, (BYTE *)"0123456789abcdef", SGD_SMS4_CBC,
	    &c.key) != SAR_OK) {
		fprintf(stderr, "bench/gm: no card to measure\n");
		return 1;
	}
	c.mp.IVLen = 16;
	c.pk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	c.cc = EVP_CIPHER_CTX_new();
	printf("bench/gm: %d runs of %.1f s, median\n", runs, secs);
	printf("  SM2 sign (e given)     card %8.1f /s   OpenSSL in process %9.1f /s\n",
	    rate(card_sign, &c, runs, secs), rate(ossl_sign, &c, runs, secs));
	printf("  SM4-CBC-MAC (64 bytes) card %8.1f /s   OpenSSL in process %9.1f /s\n",
	    rate(card_mac, &c, runs, secs), rate(ossl_mac, &c, runs, secs));
	EVP_CIPHER_CTX_free(c.cc);
	EVP_PKEY_free(c.pk);
	SKF_CloseHandle(c.key);
	SKF_CloseContainer(c.cont);
	SKF_CloseApplication(a);
	SKF_DisConnectDev(d);
	return 0;
}
