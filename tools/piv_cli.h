/* shared by the PIV command groups (cmd_pin.c, cmd_key.c, cmd_cert.c, ...) */
#ifndef PIV_CLI_H
#define PIV_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cli.h"

/* exit statuses, cli.h */
#define PIV_EXIT_OK 0
#define PIV_EXIT_FAIL 1
#define PIV_EXIT_USAGE 2

/* where a secret may come from: --x-file, a plain argument (warned), env, tty */
typedef struct piv_secret_src {
	const char *file;
	const char *arg;
	const char *env;	/* environment variable name */
	const char *prompt;	/* "PIN", "new PIN", "PUK" */
	const char *option;	/* "--pin" for the warning */
	bool confirm;		/* ask twice on a terminal */
} piv_secret_src;

int piv_cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* connects and selects PIV */
int piv_cli_open(wk_cli *cli, wk_piv **out);

/* how a card operation authenticates: the management key (mgmt_file,
 * else $WALLETKEY_MGMT_KEY, else the factory key), then the PIN from pin
 * (when pin_slot is set, only unless that slot's PIN policy is "never") */
typedef struct piv_cli_auth {
	bool mgmt;
	const char *mgmt_file;
	const piv_secret_src *pin;
	bool pin_slot;
	uint8_t slot;
} piv_cli_auth;

/* begins a card transaction and authenticates as auth says (NULL: no
 * authentication). PIV_EXIT_OK: the caller ends it with piv_cli_end; else
 * the exit status, the failure reported and the transaction ended. */
int piv_cli_begin(wk_cli *cli, wk_piv *piv, const piv_cli_auth *auth);
void piv_cli_end(wk_piv *piv);

/* "--help" and the subcommand of a command group (walletkey pin verify,
 * ...): returns -1 to go on, with *sub the index of argv[1] in subs
 * (NULL-terminated) or -1 when it names none (the caller refuses it with
 * piv_cli_bad_sub); else the exit status after printing usage */
int piv_cli_group(int argc, char **argv, const char *usage,
    const char *const *subs, int *sub);
/* the usage on stderr; PIV_EXIT_USAGE */
int piv_cli_bad_sub(const char *usage);

/* a long option of a command, stored at off in the caller's options struct:
 * STR a const char *, FLAG a bool, NUM a long (refused with the message bad
 * unless a decimal number in [min, max]), STR_OR_FLAG a const char * when a
 * value is given (--puk=X), else the bool at flag_off */
typedef enum { PIV_OPT_STR, PIV_OPT_FLAG, PIV_OPT_NUM,
	PIV_OPT_STR_OR_FLAG } piv_opt_kind;
typedef struct piv_cli_opt {
	const char *name;
	piv_opt_kind kind;
	size_t off;
	size_t flag_off;
	const char *bad;
	long min, max;
} piv_cli_opt;
#define PIV_CLI_OPTS_MAX 16
#define PIV_OPT(n, k, o) { .name = (n), .kind = (k), .off = (o) }
#define PIV_OPTS_END { .name = NULL }

/* the options the PIV commands share, one table in piv_cli.c: a command
 * keeps them in a piv_cli_common and names those it takes with PIV_C_* */
typedef struct piv_cli_common {
	const char *slot_s;	/* --slot */
	const char *in;		/* --in */
	const char *out;	/* --out */
	const char *hash;	/* --hash */
	const char *pin_file;	/* --pin-file */
	const char *pin;	/* --pin */
	const char *mgmt_file;	/* --mgmt-key-file */
} piv_cli_common;
enum {
	PIV_C_SLOT = 1u << 0,
	PIV_C_IN = 1u << 1,
	PIV_C_OUT = 1u << 2,
	PIV_C_HASH = 1u << 3,
	PIV_C_PIN = 1u << 4,	/* --pin-file and --pin */
	PIV_C_MGMT = 1u << 5,
};

/* getopt_long over the shared options named in common (stored in *shared) and
 * opts (ended by a NULL name, stored at their offsets in out), which the
 * caller zeroed and gave their defaults; no positional argument is
 * allowed. An unknown option prints usage. PIV_EXIT_OK or the exit
 * status. */
int piv_cli_parse(int argc, char **argv, const char *usage, unsigned common,
    piv_cli_common *shared, const piv_cli_opt *opts, void *out);
/* reads a secret (PIN, PUK) into buf (wiped by the caller); 0 or exit status */
int piv_cli_read_secret(const piv_secret_src *src, uint8_t *buf, size_t cap,
    size_t *len);
/* VERIFY with the PIN from src; prints tries left on failure */
int piv_cli_verify(wk_cli *cli, wk_piv *piv, const piv_secret_src *src);
/* reports a PIN/PUK failure with its tries left; returns the exit status */
int piv_cli_pin_fail(wk_cli *cli, const char *what, int rc, unsigned tries);
/* management key from --mgmt-key-file, WALLETKEY_MGMT_KEY, or the factory
 * key (with a warning); alg 0 lets the card say */
int piv_cli_read_mgmt_key(const char *file, const char *env, bool def_ok,
    uint8_t *key, size_t *len);
int piv_cli_mgmt_auth(wk_cli *cli, wk_piv *piv, const char *file);
/* the slot's public key: metadata, else its certificate */
int piv_cli_pubkey(wk_piv *piv, uint8_t slot, EVP_PKEY **pkey, uint8_t *alg);
/* alg of an EVP public key, WK_ERR_ARG if not a PIV algorithm */
int piv_cli_alg_of(const EVP_PKEY *pkey, uint8_t *alg);

/* files: "-" is stdin/stdout */
int piv_cli_read_file(const char *path, size_t max, uint8_t **data,
    size_t *len);
int piv_cli_write_file(const char *path, const void *data, size_t len);
/* PEM or DER input to a certificate / private key */
int piv_cli_load_cert(const char *path, uint8_t **der, size_t *len);
/* prints json (and frees it) */
void piv_cli_json(json_t *obj);
char *piv_cli_hex(const uint8_t *p, size_t len);	/* free() */
/* X509_NAME from "/CN=a/O=b" */
X509_NAME *piv_cli_parse_subject(const char *s);

/* a signature by the card: digests on the host, PKCS#1 v1.5 or PSS padding
 * for RSA on the host, raw operation on the card. md NULL = input is the
 * digest (ECDSA, RSA) or the message (Ed25519). sig: DER for ECDSA. */
int piv_cli_sign(wk_piv *piv, uint8_t slot, uint8_t alg, const EVP_MD *md,
    bool pss, const uint8_t *in, size_t in_len, uint8_t *sig,
    size_t *sig_len);



/* CSRs and certificates signed by the card (piv_cli_x509.c): the TBS part
 * is encoded by OpenSSL, signed on the card, and the result is checked
 * against pkey. md: NULL for Ed25519. */
int piv_cli_sign_req(wk_piv *piv, uint8_t slot, uint8_t alg,
    const EVP_MD *md, EVP_PKEY *pkey, X509_REQ **req);
int piv_cli_sign_x509(wk_piv *piv, uint8_t slot, uint8_t alg,
    const EVP_MD *md, EVP_PKEY *pkey, X509 **x);
/* the default digest for an algorithm: SHA-384 for P-384, none for Ed25519 */
const EVP_MD *piv_cli_default_md(uint8_t alg);
/* VERIFY unless the slot's PIN policy is "never" */
int piv_cli_verify_for(wk_cli *cli, wk_piv *piv, uint8_t slot,
    const piv_secret_src *src);
#endif
