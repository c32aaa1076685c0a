/* walletkey-card: the virtual card process */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "vc_card.h"
#include "vc_link.h"
#include "vc_perso.h"
#include "vc_store.h"
#include "wk_attest.h"
#include "wk_log.h"
#include "wk_vpcd.h"

enum {
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,		/* bad arguments, or a store that does not open */
};

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: walletkey-card --store FILE [--init | --init-only] "
	    "[--perso FILE | --demo]\n"
	    "                      [--attestation-ca FILE] [--seal-key FILE]\n"
	    "                      [--vpcd HOST:PORT | --listen ADDR:PORT] "
	    "[--verbose]\n"
	    "       walletkey-card --help | --version\n"
	    "\n"
	    "  --store FILE       the card store (one SQLite file per card)\n"
	    "  --init             create a new card in FILE (never overwrites)\n"
	    "  --init-only        create the card and exit\n"
	    "  --perso FILE       with --init: personalise the purse from this\n"
	    "                     JSON profile (default: built-in, random keys)\n"
	    "  --demo             with --init and no --perso: the demo profile's\n"
	    "                     public TEST KEYS instead of random ones\n"
	    "  --attestation-ca FILE  with --init: the manufacturer CA key file\n"
	    "                     (walletkey-mfg ca-init) that certifies the card's\n"
	    "                     attestation key; without it the certificate is\n"
	    "                     self-signed and the card can never enrol\n"
	    "  --seal-key FILE    key that seals the store's secrets\n"
	    "                     (default walletkey-seal.key beside the store)\n"
	    "  --vpcd HOST:PORT   vpcd to connect to (default %s)\n"
	    "  --listen ADDR:PORT wait for vpcd to connect (reversed mode)\n"
	    "  --verbose          trace APDUs (PINs and keys masked) on stderr\n",
	    VC_LINK_DEFAULT_VPCD);
}

/* vpcd payloads: a control code or a command APDU */
static int
on_message(void *arg, const uint8_t *msg, size_t len, uint8_t *reply,
    size_t cap, size_t *reply_len)
{
	vc_card *card = arg;

	if (len == 1) {
		/* no reply to 00/01/02; 04 answers the ATR */
		if (vc_card_control(card, msg[0], reply, cap, reply_len) != 0)
			*reply_len = 0;
		return 0;
	}
	return vc_card_apdu(card, msg, len, reply, cap, reply_len) == 0 ? 0 : -1;
}

static int
ca_check(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rc = wk_attest_ca_read(path, &key, &cert, err, errlen);

	EVP_PKEY_free(key);
	X509_free(cert);
	return rc == WK_ATTEST_OK ? 0 : -1;
}

/* a card whose applets failed at --init is not left behind */
static void
remove_store(const char *path)
{
	static const char *const sides[] = { "", "-wal", "-shm" };
	char p[4096];

	for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++)
		if (snprintf(p, sizeof(p), "%s%s", path, sides[i]) <
		    (int)sizeof(p))
			unlink(p);
}

typedef struct args {
	const char *store;
	const char *seal_key;
	bool init;
	bool init_only;
	vc_card_opts card;
	vc_link_opts link;
} args;

/* returns -1 to go on, or an exit status */
static int
parse_args(int argc, char **argv, args *a)
{
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "init", no_argument, NULL, 'i' },
		{ "init-only", no_argument, NULL, 'I' },
		{ "seal-key", required_argument, NULL, 'k' },
		{ "perso", required_argument, NULL, 'p' },
		{ "demo", no_argument, NULL, 'd' },
		{ "attestation-ca", required_argument, NULL, 'a' },
		{ "vpcd", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:k:v", longopts, NULL)) != -1) {
		switch (c) {
		case 's': a->store = optarg; break;
		case 'i': a->init = true; break;
		case 'I': a->init = a->init_only = true; break;
		case 'k': a->seal_key = optarg; break;
		case 'p': a->card.perso_path = optarg; break;
		case 'd': a->card.demo = true; break;
		case 'a': a->card.attest_ca_path = optarg; break;
		case 'c': a->link.vpcd = optarg; break;
		case 'l': a->link.listen = optarg; break;
		case 'v': wk_log_set(WK_LOG_ALL); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("walletkey-card %s\n", VC_VERSION); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc || a->store == NULL) {
		fprintf(stderr, "walletkey-card: %s\n", optind != argc ?
		    "unexpected argument" : "--store FILE is required");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (a->link.vpcd != NULL && a->link.listen != NULL) {
		fprintf(stderr, "walletkey-card: --vpcd and --listen exclude "
		    "each other\n");
		return EXIT_USAGE;
	}
	if ((a->card.perso_path != NULL || a->card.demo ||
	    a->card.attest_ca_path != NULL) && !a->init) {
		fprintf(stderr, "walletkey-card: --perso, --demo and --attestation-ca"
		    " need --init\n");
		return EXIT_USAGE;
	}
	if (a->card.perso_path != NULL && a->card.demo) {
		fprintf(stderr, "walletkey-card: --perso and --demo exclude each"
		    " other\n");
		return EXIT_USAGE;
	}
	a->card.init = a->init;
	return -1;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	vc_store *st = NULL;
	vc_card *card = NULL;
	args a;
	char err[256];
	int status, rc;
	bool made_bad = false;

	memset(&a, 0, sizeof(a));
	if ((status = parse_args(argc, argv, &a)) >= 0)
		return status;
	status = EXIT_RUNTIME;
	if (sodium_init() < 0) {
		fprintf(stderr, "walletkey-card: libsodium failed to start\n");
		goto out;
	}
	/* a bad profile or CA key file creates nothing */
	if (a.init && (vc_perso_check(a.card.perso_path, a.card.demo, err,
	    sizeof(err)) != VC_PERSO_OK ||
	    (a.card.attest_ca_path != NULL && ca_check(a.card.attest_ca_path,
	    err, sizeof(err)) != 0))) {
		fprintf(stderr, "walletkey-card: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	rc = a.init ? vc_store_create(a.store, a.seal_key, &st) :
	    vc_store_open(a.store, a.seal_key, &st);
	if (rc != VC_STORE_OK) {
		fprintf(stderr, "walletkey-card: %s\n", vc_store_errmsg(NULL));
		status = EXIT_USAGE;
		goto out;
	}
	if (vc_card_new(st, &a.card, &card) != VC_CARD_OK) {
		fprintf(stderr, "walletkey-card: %s: the card's applets failed "
		    "to %s\n", a.store, a.init ? "create" : "start");
		made_bad = a.init;
		goto out;
	}
	if (a.init_only) {
		status = 0;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	a.link.stop = &stop_flag;
	if ((rc = vc_link_run(&a.link, on_message, card)) != VC_LINK_OK) {
		if (rc == VC_LINK_ADDRESS)
			status = EXIT_USAGE;
		goto out;
	}
	status = 0;
out:
	vc_card_free(&card);
	vc_store_free(&st);
	if (made_bad)
		remove_store(a.store);
	return status;
}
