/*
 * walletkey-mfg: the card factory's manufacturer CA (docs/attestation.md).
 *
 *   walletkey-mfg ca-init --key FILE --cert FILE [--name CN] [--days N]
 *       a P-256 CA key and its self-signed certificate; FILE --key holds
 *       both (mode 0600) and stays in the factory, where walletkey-card
 *       --init --attestation-ca FILE certifies each new card with it;
 *       --cert is what issuers trust (walletkey-issuer manufacturer-add)
 *   walletkey-mfg verify --ca FILE --attestation FILE --device FILE
 *       [--card-id HEX] [--slot HEX]
 *       checks a key attestation (walletkey key attest) and the card's
 *       device certificate (slot F9) as an issuer does
 *
 * Every command takes --json. Exit status: 0 done, 1 failed, 2 refused
 * (bad arguments, or an attestation that does not verify).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_attest.h"
#include "wk_hex.h"
#include "wk_opt.h"

#ifndef WK_VERSION
#define WK_VERSION "0"
#endif

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_REFUSED = 2 };

typedef struct opts {
	const char *key;
	const char *cert;
	const char *name;
	const char *days;
	const char *ca;
	const char *attestation;
	const char *device;
	const char *card_id;
	const char *slot;
	bool json;
} opts;

static void
usage(FILE *f)
{
	fputs("usage: walletkey-mfg ca-init --key FILE --cert FILE [--name CN]"
	    " [--days N] [--json]\n"
	    "       walletkey-mfg verify --ca FILE --attestation FILE --device FILE\n"
	    "                            [--card-id HEX] [--slot HEX] [--json]\n"
	    "       walletkey-mfg --help | --version\n"
	    "\n"
	    "  ca-init  a manufacturer CA: --key gets the private key and the\n"
	    "           certificate (0600; for walletkey-card --attestation-ca),\n"
	    "           --cert the certificate alone (for walletkey-issuer\n"
	    "           manufacturer-add); neither file may exist\n"
	    "  verify   check a card's key attestation and device certificate\n"
	    "           (PEM or DER) against the CA certificate(s) in --ca\n", f);
}

static int
fail(const opts *o, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(const opts *o, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->json) {
		json_t *j = json_pack("{s:b, s:s}", "ok", 0, "error", msg);

		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	}
	fprintf(stderr, "walletkey-mfg: %s\n", msg);
	return status;
}

/* creates path (never over an existing file) with mode and writes the PEM
 * of key (may be NULL) then cert */
static int
write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert)
{
	FILE *f;
	int fd, ok;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0)
		return -1;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(path);
		return -1;
	}
	ok = (key == NULL || PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
	    NULL) == 1) && PEM_write_X509(f, cert) == 1 && fflush(f) == 0 &&
	    fsync(fileno(f)) == 0;
	if (fclose(f) != 0 || !ok) {
		unlink(path);
		return -1;
	}
	return 0;
}

static int
cmd_ca_init(const opts *o)
{
	uint8_t serial[WK_ATTEST_SERIAL_LEN], md[32];
	char fp[65], *end;
	unsigned int mdlen = 0;
	const char *name = o->name != NULL ? o->name :
	    "walletkey manufacturer CA";
	long days = 365L * 25;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int status = EXIT_FAILED;

	if (o->key == NULL || o->cert == NULL)
		return fail(o, EXIT_REFUSED, "ca-init needs --key FILE and --cert FILE");
	if (o->days != NULL) {
		errno = 0;
		days = strtol(o->days, &end, 10);
		if (errno != 0 || *end != '\0' || days < 1 || days > 365L * 100)
			return fail(o, EXIT_REFUSED, "--days takes 1 to 36500");
	}
	if (name[0] == '\0' || strlen(name) > 64)
		return fail(o, EXIT_REFUSED, "--name takes 1 to 64 characters");
	if (access(o->key, F_OK) == 0 || access(o->cert, F_OK) == 0)
		return fail(o, EXIT_REFUSED, "%s exists: a CA is never overwritten",
		    access(o->key, F_OK) == 0 ? o->key : o->cert);
	randombytes_buf(serial, sizeof(serial));
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    wk_attest_ca_new(key, name, days, serial, &cert) != WK_ATTEST_OK ||
	    X509_digest(cert, EVP_sha256(), md, &mdlen) != 1) {
		status = fail(o, EXIT_FAILED, "cannot make the CA key and certificate");
		goto out;
	}
	if (write_pem(o->key, 0600, key, cert) != 0) {
		status = fail(o, EXIT_FAILED, "%s: cannot write it: %s", o->key,
		    strerror(errno));
		goto out;
	}
	if (write_pem(o->cert, 0644, NULL, cert) != 0) {
		unlink(o->key);
		status = fail(o, EXIT_FAILED, "%s: cannot write it: %s", o->cert,
		    strerror(errno));
		goto out;
	}
	wk_hex_encode(md, sizeof(md), fp);
	if (o->json) {
		json_t *j = json_pack("{s:b, s:s, s:s, s:s, s:s}", "ok", 1, "name",
		    name, "fingerprint", fp, "key", o->key, "cert", o->cert);

		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else {
		printf("manufacturer CA \"%s\" created\n", name);
		printf("  key and certificate (keep in the factory): %s\n", o->key);
		printf("  certificate (give to issuers):            %s\n", o->cert);
		printf("  SHA-256 fingerprint: %s\n", fp);
	}
	status = EXIT_OK;
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	return status;
}

/* one certificate, PEM or DER, as DER into der */
static int
read_cert(const char *path, uint8_t *der, size_t *len)
{
	BIO *b = BIO_new_file(path, "rb");
	X509 *x = NULL;
	unsigned char *p = NULL;
	int n = 0, rc = -1;

	if (b == NULL)
		goto out;
	if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		if (BIO_reset(b) != 0 || (x = d2i_X509_bio(b, NULL)) == NULL)
			goto out;
	}
	if ((n = i2d_X509(x, &p)) <= 0 || (size_t)n > *len)
		goto out;
	memcpy(der, p, (size_t)n);
	*len = (size_t)n;
	rc = 0;
out:
	OPENSSL_free(p);
	X509_free(x);
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

static int
cmd_verify(const opts *o)
{
	uint8_t d0[WK_ATTEST_CERT_MAX], d1[WK_ATTEST_CERT_MAX], id[8];
	const uint8_t *der[2] = { d0, d1 };
	size_t len[2] = { sizeof(d0), sizeof(d1) };
	unsigned long slot = 0;
	char why[256], hex[17], slot_hex[3], *end;
	wk_attest_facts f;
	X509_STORE *store = NULL;
	int status = EXIT_FAILED, rc;

	if (o->ca == NULL || o->attestation == NULL || o->device == NULL)
		return fail(o, EXIT_REFUSED, "verify needs --ca, --attestation and"
		    " --device");
	if (o->card_id != NULL && (strlen(o->card_id) != 16 ||
	    wk_hex_decode(o->card_id, id, sizeof(id)) != 8))
		return fail(o, EXIT_REFUSED, "--card-id is 16 hex digits");
	if (o->slot != NULL) {
		slot = strtoul(o->slot, &end, 16);
		if (*end != '\0' || slot == 0 || slot > 0xFF)
			return fail(o, EXIT_REFUSED, "--slot is a PIV key reference in"
			    " hex (82, 9a, ...)");
	}
	if (read_cert(o->attestation, d0, &len[0]) != 0)
		return fail(o, EXIT_REFUSED, "%s: not a certificate", o->attestation);
	if (read_cert(o->device, d1, &len[1]) != 0)
		return fail(o, EXIT_REFUSED, "%s: not a certificate", o->device);
	if ((store = X509_STORE_new()) == NULL)
		goto out;
	if (wk_attest_store_add_file(store, o->ca, NULL, why, sizeof(why)) !=
	    WK_ATTEST_OK) {
		status = fail(o, EXIT_REFUSED, "%s", why);
		goto out;
	}
	rc = wk_attest_verify(store, der, len, 2, o->card_id != NULL ? id : NULL,
	    (uint8_t)slot, NULL, &f, why, sizeof(why));
	if (rc != WK_ATTEST_OK) {
		status = fail(o, EXIT_REFUSED, "%s", why);
		goto out;
	}
	wk_hex_encode(f.card_id, sizeof(f.card_id), hex);
	wk_hex_encode(&f.slot, 1, slot_hex);
	if (o->json) {
		json_t *j = json_pack("{s:b, s:s, s:s, s:s}", "ok", 1, "card_id", hex,
		    "slot", slot_hex, "origin", "generated");

		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else {
		printf("genuine: card %s generated the key in slot %02x\n", hex,
		    f.slot);
	}
	status = EXIT_OK;
out:
	X509_STORE_free(store);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		WK_OPT_ARG("key", 'k'),
		WK_OPT_ARG("cert", 'c'),
		WK_OPT_ARG("name", 'n'),
		WK_OPT_ARG("days", 'd'),
		WK_OPT_ARG("ca", 'a'),
		WK_OPT_ARG("attestation", 't'),
		WK_OPT_ARG("device", 'v'),
		WK_OPT_ARG("card-id", 'i'),
		WK_OPT_ARG("slot", 's'),
		WK_OPT_FLAG("json", 'j'),
		WK_OPT_FLAG("help", 'h'),
		WK_OPT_FLAG("version", 'V'),
		WK_OPT_END,
	};
	opts o;
	const char *cmd;
	int ch;

	memset(&o, 0, sizeof(o));
	if (argc < 2) {
		usage(stderr);
		return EXIT_REFUSED;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("walletkey-mfg %s\n", WK_VERSION);
		return EXIT_OK;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "walletkey-mfg: libsodium failed to start\n");
		return EXIT_FAILED;
	}
	cmd = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'k': o.key = optarg; break;
		case 'c': o.cert = optarg; break;
		case 'n': o.name = optarg; break;
		case 'd': o.days = optarg; break;
		case 'a': o.ca = optarg; break;
		case 't': o.attestation = optarg; break;
		case 'v': o.device = optarg; break;
		case 'i': o.card_id = optarg; break;
		case 's': o.slot = optarg; break;
		case 'j': o.json = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("walletkey-mfg %s\n", WK_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_REFUSED;
		}
	}
	if (optind != argc)
		return fail(&o, EXIT_REFUSED, "unexpected argument %s", argv[optind]);
	if (strcmp(cmd, "ca-init") == 0)
		return cmd_ca_init(&o);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(&o);
	usage(stderr);
	return fail(&o, EXIT_REFUSED, "unknown command %s", cmd);
}
