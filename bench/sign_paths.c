/*
 * bench/sign: one signature through libwalletkey, a PKCS#11 module or
 * OpenSSL in process, one APDU to the echo card, and one operation of a
 * path (sign.h)
 */
/* ECDSA_sign_setup / ECDSA_do_sign_ex: the card's signature with its nonce
 * made ahead, timed here as the card does it (vcard/applets/piv_ecdsa.c) */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "sign.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <sodium.h>

#include "bench_stat.h"

/* what one signature takes as input for alg: a SHA-256 digest, a padded
 * RSA block or a short message */
size_t
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
char sign_why[160];

/* one signature of a through libwalletkey; 0, or -1 with sign_why set */
int
wk_one(wk_piv *piv, const bench_alg *a, const uint8_t *in, size_t in_len)
{
	uint8_t sig[WK_PIV_SIG_MAX];
	size_t sig_len = sizeof(sig);
	int rc;

	if ((rc = wk_piv_sign(piv, a->slot, a->alg, in, in_len, sig,
	    &sig_len)) != WK_OK) {
		snprintf(sign_why, sizeof(sign_why), "slot %02x: %s (SW %04X)",
		    a->slot, wk_strerror(rc), wk_piv_last_sw(piv));
		return -1;
	}
	return 0;
}

/* signatures/s for seconds, or until max signatures (0: no limit) */
double
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


int
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

void
p11_close(p11 *p)
{
	if (p->init)
		p->f->C_Finalize(NULL);
	if (p->dl != NULL)
		dlclose(p->dl);
	memset(p, 0, sizeof(*p));
}

int
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

/* one C_SignInit + C_Sign; 0, or -1 with sign_why set */
int
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
		snprintf(sign_why, sizeof(sign_why), "%s: CKR 0x%lX", a->name,
		    (unsigned long)rv);
		return -1;
	}
	return 0;
}

double
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

double
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
double
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
double
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

EVP_PKEY *
evp_key(const bench_alg *a)
{
	if (a->alg == WK_PIV_ALG_ECCP256)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (a->alg == WK_PIV_ALG_ED25519)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

/* ---- the transport ceiling ------------------------------------------- */


/* one short APDU (5-byte ECHO, 2-byte answer); 0, or -1 */
int
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

void
echo_close(echo_card *e)
{
	if (e->h != 0)
		SCardDisconnect(e->h, SCARD_LEAVE_CARD);
	if (e->ctx != 0)
		SCardReleaseContext(e->ctx);
	memset(e, 0, sizeof(*e));
}

/* connects to the echo card in reader and warms it up (50 APDUs) */
int
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


void
path_init(path_ctx *c, int kind, const bench_alg *a)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->a = a;
	if (a != NULL)
		c->in_len = input_for(a, c->in, kind == PATH_WK);
}

int
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
