/* what bench/sign's files share: sign.c (the runs paired with the echo
 * card, the rows, main), sign_paths.c (one signature through
 * libwalletkey, a PKCS#11 module or OpenSSL; the echo card; one operation
 * of a path) and sign_cost.c (--cost) */
#ifndef BENCH_SIGN_H
#define BENCH_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>
#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include "walletkey.h"

typedef struct bench_alg {
	const char *name;
	uint8_t slot, alg;
	CK_BYTE p11_id;		/* OpenSC's key id for the slot */
	CK_KEY_TYPE p11_type;
	CK_MECHANISM_TYPE p11_mech;
} bench_alg;

/* why the last failed operation failed, for the n/a rows */
extern char sign_why[160];

/* what one signature takes as input for a: a SHA-256 digest, a padded
 * RSA block or a short message */
size_t input_for(const bench_alg *a, uint8_t *buf, bool padded);

/* libwalletkey: one signature (0, or -1 with sign_why set); signatures/s
 * for seconds, or until max signatures (0: no limit) */
int wk_one(wk_piv *piv, const bench_alg *a, const uint8_t *in, size_t in_len);
double run_wk(wk_piv *piv, const bench_alg *a, double seconds, long max);

/* a PKCS#11 module, dlopen'ed, with a session logged in */
typedef struct p11 {
	void *dl;
	CK_FUNCTION_LIST *f;
	CK_SESSION_HANDLE s;
	bool init;
} p11;

int p11_open(p11 *p, const char *module, const char *token, const char *pin);
void p11_close(p11 *p);
int p11_key(p11 *p, const bench_alg *a, CK_OBJECT_HANDLE *key);
int p11_one(p11 *p, const bench_alg *a, CK_OBJECT_HANDLE key, const uint8_t *in,
    CK_ULONG in_len);
double run_p11(p11 *p, const bench_alg *a, CK_OBJECT_HANDLE key,
    double seconds);

/* OpenSSL (and libsodium) in process: signatures/s */
double run_evp(EVP_PKEY *k, const bench_alg *a, double seconds);
double run_sodium_ed25519(EVP_PKEY *k, double seconds);
double run_ecdsa_ahead(EVP_PKEY *k, double seconds);
EVP_PKEY *evp_key(const bench_alg *a);

/* the echo card (walletkey-echo-card, the card that does nothing), open
 * through PC/SC for the whole run */
typedef struct echo_card {
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	const SCARD_IO_REQUEST *pci;
} echo_card;

int echo_one(echo_card *e);
void echo_close(echo_card *e);
int echo_open(echo_card *e, const char *reader);

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

void path_init(path_ctx *c, int kind, const bench_alg *a);
int path_one(path_ctx *c);

/* sign_cost.c: --cost */
#define MAX_WATCH 4
int run_cost(path_ctx *c, long n, const char *label, const char *hook,
    const char *const *wname, const long *wpid, int nwatch);

#endif
