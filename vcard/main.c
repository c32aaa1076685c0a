/* walletkey-card: the virtual card process */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
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
#include "wk_opt.h"
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
	    "                      [--attestation-ca FILE] [SEAL KEY]\n"
	    "                      [--vpcd HOST:PORT | --listen ADDR:PORT] "
	    "[--verbose]\n"
	    "       walletkey-card --store FILE [SEAL KEY] --rekey NEW SEAL KEY\n"
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
	    "seal key (one of; default: the key file walletkey-seal.key beside\n"
	    "the store, made at --init):\n"
	    "  --seal-key FILE    a 32-byte key file\n"
	    "  --seal-credential NAME\n"
	    "                     the systemd credential NAME "
	    "($CREDENTIALS_DIRECTORY/NAME)\n"
	    "  --seal-passphrase-fd N\n"
	    "                     a passphrase read from file descriptor N "
	    "(Argon2id)\n"
	    "  --seal-passphrase-env VAR\n"
	    "                     a passphrase from environment variable VAR\n"
	    "  --rekey            seal the store under the key given by\n"
	    "                     --new-seal-key, --new-seal-credential,\n"
	    "                     --new-seal-passphrase-fd or "
	    "--new-seal-passphrase-env,\n"
	    "                     with a new data key, and exit\n"
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

/* between an answer and the next command (vc_link_opts.idle) */
static bool
on_idle(void *arg)
{
	return vc_card_idle(arg);
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

/* one seal key source as given on the command line */
typedef struct key_opt {
	const char *file;
	const char *credential;
	const char *env;
	int fd;
	int given;		/* how many of the four */
} key_opt;

typedef struct args {
	const char *store;
	key_opt key;
	key_opt new_key;
	bool init;
	bool init_only;
	bool rekey;
	vc_card_opts card;
	vc_link_opts link;
} args;

#define PASSPHRASE_MAX 1024

static int
parse_fd(const char *s, int *fd)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT_MAX)
		return -1;
	*fd = (int)v;
	return 0;
}

/*
 * the passphrase into locked memory: from a descriptor (read to its end,
 * one final newline dropped) or from an environment variable, which is
 * wiped and removed so that children and /proc/PID/environ lose it
 */
static int
read_passphrase(const key_opt *k, uint8_t *pass, size_t *len)
{
	ssize_t got;
	size_t have = 0;
	char *v;

	if (k->env != NULL) {
		if ((v = getenv(k->env)) == NULL) {
			fprintf(stderr, "walletkey-card: the environment "
			    "variable %s is not set\n", k->env);
			return -1;
		}
		have = strlen(v);
		if (have <= PASSPHRASE_MAX)
			memcpy(pass, v, have);
		sodium_memzero(v, have);
		unsetenv(k->env);
		if (have > PASSPHRASE_MAX) {
			fprintf(stderr, "walletkey-card: the passphrase in %s "
			    "is longer than %d bytes\n", k->env, PASSPHRASE_MAX);
			return -1;
		}
		*len = have;
		return 0;
	}
	for (;;) {
		got = read(k->fd, pass + have, PASSPHRASE_MAX + 1 - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			fprintf(stderr, "walletkey-card: passphrase descriptor "
			    "%d: %s\n", k->fd, strerror(errno));
			return -1;
		}
		if (got == 0)
			break;
		have += (size_t)got;
		if (have > PASSPHRASE_MAX) {
			fprintf(stderr, "walletkey-card: the passphrase on "
			    "descriptor %d is longer than %d bytes\n", k->fd,
			    PASSPHRASE_MAX);
			return -1;
		}
	}
	close(k->fd);
	if (have > 0 && pass[have - 1] == '\n')
		have--;
	if (have > 0 && pass[have - 1] == '\r')
		have--;
	*len = have;
	return 0;
}

/*
 * a key_opt into the store's form; pass is PASSPHRASE_MAX + 1 bytes of
 * locked memory, path room for a credential's path. Returns 0, or -1
 * after a message.
 */
static int
resolve_key(const key_opt *k, vc_store_key *out, uint8_t *pass, char *path,
    size_t cap)
{
	const char *dir;
	int n;

	memset(out, 0, sizeof(*out));
	if (k->file != NULL) {
		out->file = k->file;
	} else if (k->credential != NULL) {
		if (k->credential[0] == '\0' || strchr(k->credential, '/') ||
		    strcmp(k->credential, ".") == 0 ||
		    strcmp(k->credential, "..") == 0) {
			fprintf(stderr, "walletkey-card: %s: not a credential "
			    "name\n", k->credential);
			return -1;
		}
		if ((dir = getenv("CREDENTIALS_DIRECTORY")) == NULL ||
		    dir[0] == '\0') {
			fprintf(stderr, "walletkey-card: credential %s: "
			    "$CREDENTIALS_DIRECTORY is not set (systemd sets it "
			    "for LoadCredential= and LoadCredentialEncrypted=)\n",
			    k->credential);
			return -1;
		}
		n = snprintf(path, cap, "%s/%s", dir, k->credential);
		if (n < 0 || (size_t)n >= cap) {
			fprintf(stderr, "walletkey-card: credential path too "
			    "long\n");
			return -1;
		}
		if (access(path, F_OK) != 0) {
			fprintf(stderr, "walletkey-card: credential %s: %s\n",
			    path, strerror(errno));
			return -1;
		}
		out->file = path;
		out->credential = true;
	} else if (k->env != NULL || k->fd >= 0) {
		if (read_passphrase(k, pass, &out->passphrase_len) != 0)
			return -1;
		if (out->passphrase_len == 0) {
			fprintf(stderr, "walletkey-card: the seal passphrase is "
			    "empty\n");
			return -1;
		}
		out->passphrase = pass;
	}
	return 0;
}

/* returns -1 to go on, or an exit status */
static int
parse_args(int argc, char **argv, args *a)
{
	static const struct option longopts[] = {
		WK_OPT_ARG("store", 's'),
		WK_OPT_FLAG("init", 'i'),
		WK_OPT_FLAG("init-only", 'I'),
		WK_OPT_ARG("seal-key", 'k'),
		WK_OPT_ARG("seal-credential", 'C'),
		WK_OPT_ARG("seal-passphrase-fd", 'F'),
		WK_OPT_ARG("seal-passphrase-env", 'E'),
		WK_OPT_FLAG("rekey", 'R'),
		WK_OPT_ARG("new-seal-key", 'K'),
		WK_OPT_ARG("new-seal-credential", 'D'),
		WK_OPT_ARG("new-seal-passphrase-fd", 'G'),
		WK_OPT_ARG("new-seal-passphrase-env", 'H'),
		WK_OPT_ARG("perso", 'p'),
		WK_OPT_FLAG("demo", 'd'),
		WK_OPT_ARG("attestation-ca", 'a'),
		WK_OPT_ARG("vpcd", 'c'),
		WK_OPT_ARG("listen", 'l'),
		WK_OPT_FLAG("verbose", 'v'),
		WK_OPT_FLAG("help", 'h'),
		WK_OPT_FLAG("version", 'V'),
		WK_OPT_END,
	};
	key_opt *k;
	int c;

	a->key.fd = a->new_key.fd = -1;
	while ((c = getopt_long(argc, argv, "s:k:v", longopts, NULL)) != -1) {
		k = c == 'K' || c == 'D' || c == 'G' || c == 'H' ? &a->new_key :
		    &a->key;
		switch (c) {
		case 's': a->store = optarg; break;
		case 'i': a->init = true; break;
		case 'I': a->init = a->init_only = true; break;
		case 'R': a->rekey = true; break;
		case 'k': case 'K': k->file = optarg; k->given++; break;
		case 'C': case 'D': k->credential = optarg; k->given++; break;
		case 'E': case 'H': k->env = optarg; k->given++; break;
		case 'F': case 'G':
			if (parse_fd(optarg, &k->fd) != 0) {
				fprintf(stderr, "walletkey-card: %s: not a file "
				    "descriptor\n", optarg);
				return EXIT_USAGE;
			}
			k->given++;
			break;
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
	if (a->key.given > 1 || a->new_key.given > 1) {
		fprintf(stderr, "walletkey-card: one seal key at a time "
		    "(--seal-key, --seal-credential, --seal-passphrase-fd or "
		    "--seal-passphrase-env)\n");
		return EXIT_USAGE;
	}
	if (a->rekey != (a->new_key.given == 1)) {
		fprintf(stderr, "walletkey-card: %s\n", a->rekey ?
		    "--rekey needs the new seal key (--new-seal-key, "
		    "--new-seal-credential, --new-seal-passphrase-fd or "
		    "--new-seal-passphrase-env)" :
		    "--new-seal-* options go with --rekey");
		return EXIT_USAGE;
	}
	if (a->rekey && a->init) {
		fprintf(stderr, "walletkey-card: --rekey and --init exclude "
		    "each other\n");
		return EXIT_USAGE;
	}
	if (a->key.fd >= 0 && a->key.fd == a->new_key.fd) {
		fprintf(stderr, "walletkey-card: the old and the new passphrase "
		    "need two descriptors\n");
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
	vc_store_key key, new_key;
	uint8_t *pass = NULL, *new_pass = NULL;
	char cred[4096], new_cred[4096];
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
	if ((pass = sodium_malloc(PASSPHRASE_MAX + 1)) == NULL ||
	    (new_pass = sodium_malloc(PASSPHRASE_MAX + 1)) == NULL) {
		fprintf(stderr, "walletkey-card: out of memory\n");
		goto out;
	}
	if (resolve_key(&a.key, &key, pass, cred, sizeof(cred)) != 0 ||
	    resolve_key(&a.new_key, &new_key, new_pass, new_cred,
	    sizeof(new_cred)) != 0) {
		status = EXIT_USAGE;
		goto out;
	}
	rc = a.init ? vc_store_create(a.store, &key, &st) :
	    vc_store_open(a.store, &key, &st);
	sodium_memzero(pass, PASSPHRASE_MAX + 1);
	if (rc != VC_STORE_OK) {
		fprintf(stderr, "walletkey-card: %s\n", vc_store_errmsg(NULL));
		status = EXIT_USAGE;
		goto out;
	}
	if (a.rekey) {
		rc = vc_store_rekey(st, &new_key);
		sodium_memzero(new_pass, PASSPHRASE_MAX + 1);
		if (rc != VC_STORE_OK) {
			fprintf(stderr, "walletkey-card: %s: rekey: %s\n",
			    a.store, vc_store_errmsg(st));
			status = rc == VC_STORE_ERROR ? EXIT_RUNTIME : EXIT_USAGE;
			goto out;
		}
		printf("%s: sealed under the new key\n", a.store);
		status = 0;
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
	a.link.idle = on_idle;
	if ((rc = vc_link_run(&a.link, on_message, card)) != VC_LINK_OK) {
		if (rc == VC_LINK_ADDRESS)
			status = EXIT_USAGE;
		goto out;
	}
	status = 0;
out:
	vc_card_free(&card);
	vc_store_free(&st);
	sodium_free(pass);
	sodium_free(new_pass);
	if (made_bad)
		remove_store(a.store);
	return status;
}
