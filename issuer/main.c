/* walletkey-issuer: the bank's side of walletkey (docs/issuer.md) */
#include "iss.h"
#include "iss_anon.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_hex.h"

typedef struct opts {
	const char *db;
	const char *listen;
	const char *tls_cert;
	const char *tls_key;
	const char *key_file;
	const char *passphrase_env;
	const char *password_env;
	const char *pan;
	const char *name;
	const char *card;
	const char *terminal;
	const char *out;
	const char *amount;
	const char *ceiling;
	const char *pool;
	const char *cert;
	const char *mfg_ca;
	const char *fingerprint;
	const char *request;
	const char *webhook;
	const char *client_cert;
	const char *client_ca;
	const char *revoke;
	const char *alias;
	const char *label;
	bool api_key;
	bool none;
	const char *sm4;
	const char *session_ttl;
	const char *hash_concurrency;
	/* semi-anonymous roles (docs/semi-anonymous.md) */
	const char *role, *manager_id, *authority_url, *authority_pubkey;
	const char *id_number, *account, *manager, *url, *pubkey, *limit, *daily;
	const char *state, *case_id, *txid, *order, *operator_name, *approver;
	const char *approver_password_env;
	bool json;
	bool exists_ok;
} opts;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: walletkey-issuer COMMAND --db URL [options]\n"
	    "  URL is sqlite:PATH or postgresql://...\n"
	    "commands:\n"
	    "  init      (--key-file F | --passphrase-env VAR) [--ceiling FEN]\n"
	    "            [--manufacturer-ca PEM] [--sm4 KEYS]\n"
	    "            [--exists-ok]\n"
	    "            create the schema, purse master keys and the issuer CA\n"
	    "  key-algorithms [--sm4 all|none|KEY,...] [--json]\n"
	    "            the purse keys new cards get as SM4 (the rest 3DES);\n"
	    "            shows the choice, or sets it with --sm4\n"
	    "  migrate   bring the schema to the current version\n"
	    "  serve     --listen HOST:PORT [--tls-cert F --tls-key F] [--pool N]\n"
	    "            [--client-ca PEM]   (merchants' TLS client certificates)\n"
	    "            (--key-file F | --passphrase-env VAR) [--session-ttl S]\n"
	    "            [--hash-concurrency N]\n"
	    "  account-create --pan PAN --name NAME --password-env VAR\n"
	    "  deposit   --pan PAN --amount FEN\n"
	    "  merchant-create --terminal TERMINAL_ID [--name NAME] [--api-key]\n"
	    "            [--webhook URL] [--client-cert PEM]\n"
	    "            a merchant account for a terminal (12 hex digits); with\n"
	    "            --api-key, an API key for online payments (shown once)\n"
	    "  merchant-key (--terminal TERMINAL_ID | --revoke KEY_ID)\n"
	    "            another API key for a merchant, or one revoked\n"
	    "  merchant-cert --terminal TERMINAL_ID --client-cert PEM\n"
	    "            a TLS client certificate that authenticates the merchant\n"
	    "  merchant-webhook --terminal TERMINAL_ID (--webhook URL | --none)\n"
	    "  alias-create --pan PAN [--alias ALIAS] [--label TEXT]\n"
	    "            a name the holder gives a shop instead of the PAN\n"
	    "  psam-issue --terminal TERMINAL_ID --request FILE --out FILE\n"
	    "            (--key-file F | --passphrase-env VAR)\n"
	    "            the terminal's PSAM: its purchase master keys (3DES and\n"
	    "            SM4) sealed to the key the PSAM card made (walletkey psam\n"
	    "            init)\n"
	    "  accounts | ledger | oplog | loads | cards | merchants |\n"
	    "  settlements | transfers | psams | payments | webhooks   [--json]\n"
	    "  revoke    --card CARD_ID\n"
	    "  manufacturer-add (--key-file F | --passphrase-env VAR) --cert PEM\n"
	    "            trust the card manufacturer CA(s) in PEM for enrolment\n"
	    "  manufacturers (--key-file F | --passphrase-env VAR) [--json]\n"
	    "  manufacturer-remove --fingerprint SHA256\n"
	    "            servers read the manufacturers when they start\n"
	    "  purse-unblock --card CARD_ID --request FILE [--out FILE]\n"
	    "            (--key-file F | --passphrase-env VAR)\n"
	    "            a one-time APPLICATION UNBLOCK script for the card's\n"
	    "            unblock request (walletkey wallet unblock --request-out)\n"
	    "  pin-unblock --card CARD_ID [--request FILE --out FILE] [--json]\n"
	    "            (--key-file F | --passphrase-env VAR)\n"
	    "            orders a purse PIN reload and prints the reset PIN to\n"
	    "            tell the holder; the card's next unblock request gets\n"
	    "            the one-time script (POST /v1/pin-reloads, or --request\n"
	    "            now, the script written to --out)\n"
	    "  pin-reloads [--json]   the PIN reload orders\n"
	    "semi-anonymous payments (docs/semi-anonymous.md, walletkey-issuer(1)):\n"
	    "  init --role identity (--key-file F | --passphrase-env VAR)\n"
	    "            [--manufacturer-ca PEM]\n"
	    "  init --role account --manager-id ID --authority-url URL\n"
	    "            --authority-pubkey HEX [--limit FEN] [--daily-limit FEN]\n"
	    "            (--key-file F | --passphrase-env VAR) [--manufacturer-ca PEM]\n"
	    "  serve     on a role's database serves that role\n"
	    "  anon-keys (--key-file F | --passphrase-env VAR) [--json]\n"
	    "  identity: person-add --name NAME --id-number NUM;\n"
	    "            manager-add --manager ID --url URL --pubkey HEX;\n"
	    "            anon-deposit --account ACCT --amount FEN; anon-check;\n"
	    "            operator-add --name NAME --password-env VAR;\n"
	    "            regulator-add --pubkey PEM [--name NAME];\n"
	    "            reveal --case CASE --transaction TXID --order FILE\n"
	    "              --operator NAME --password-env VAR --approver NAME\n"
	    "              --approver-password-env VAR (--key-file F | --passphrase-env VAR);\n"
	    "            persons | anon-accounts | anon-transfers | anon-ledger |\n"
	    "            anon-oplog [--json]\n"
	    "  account:  anon-account --account ACCT [--state open|frozen|closed]\n"
	    "            [--limit FEN] [--daily-limit FEN]; anon-reconcile (key);\n"
	    "            anon-accounts | anon-payments | anon-oplog [--json]\n");
}

/* the options: each sets one field of opts; every command reads its own */
#define OPT(f) offsetof(opts, f)
static const struct iss_opt {
	const char *name;
	enum { STR, FLAG } kind;
	size_t off;
} options[] = {
	{ "db", STR, OPT(db) },
	{ "listen", STR, OPT(listen) },
	{ "tls-cert", STR, OPT(tls_cert) },
	{ "tls-key", STR, OPT(tls_key) },
	{ "key-file", STR, OPT(key_file) },
	{ "passphrase-env", STR, OPT(passphrase_env) },
	{ "password-env", STR, OPT(password_env) },
	{ "pan", STR, OPT(pan) },
	{ "name", STR, OPT(name) },
	{ "card", STR, OPT(card) },
	{ "terminal", STR, OPT(terminal) },
	{ "out", STR, OPT(out) },
	{ "amount", STR, OPT(amount) },
	{ "ceiling", STR, OPT(ceiling) },
	{ "pool", STR, OPT(pool) },
	{ "cert", STR, OPT(cert) },
	{ "manufacturer-ca", STR, OPT(mfg_ca) },
	{ "fingerprint", STR, OPT(fingerprint) },
	{ "request", STR, OPT(request) },
	{ "webhook", STR, OPT(webhook) },
	{ "client-cert", STR, OPT(client_cert) },
	{ "client-ca", STR, OPT(client_ca) },
	{ "revoke", STR, OPT(revoke) },
	{ "alias", STR, OPT(alias) },
	{ "label", STR, OPT(label) },
	{ "api-key", FLAG, OPT(api_key) },
	{ "none", FLAG, OPT(none) },
	{ "session-ttl", STR, OPT(session_ttl) },
	{ "hash-concurrency", STR, OPT(hash_concurrency) },
	{ "sm4", STR, OPT(sm4) },
	{ "role", STR, OPT(role) },
	{ "manager-id", STR, OPT(manager_id) },
	{ "authority-url", STR, OPT(authority_url) },
	{ "authority-pubkey", STR, OPT(authority_pubkey) },
	{ "id-number", STR, OPT(id_number) },
	{ "account", STR, OPT(account) },
	{ "manager", STR, OPT(manager) },
	{ "url", STR, OPT(url) },
	{ "pubkey", STR, OPT(pubkey) },
	{ "limit", STR, OPT(limit) },
	{ "daily-limit", STR, OPT(daily) },
	{ "state", STR, OPT(state) },
	{ "case", STR, OPT(case_id) },
	{ "transaction", STR, OPT(txid) },
	{ "order", STR, OPT(order) },
	{ "operator", STR, OPT(operator_name) },
	{ "approver", STR, OPT(approver) },
	{ "approver-password-env", STR, OPT(approver_password_env) },
	{ "json", FLAG, OPT(json) },
	{ "exists-ok", FLAG, OPT(exists_ok) },
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static int
parse(int argc, char **argv, opts *o)
{
	struct option lo[N_OPTIONS + 2];
	char *base = (char *)o;
	int ch;

	for (size_t i = 0; i < N_OPTIONS; i++)
		lo[i] = (struct option){ options[i].name, options[i].kind == FLAG ?
		    no_argument : required_argument, NULL, 256 + (int)i };
	lo[N_OPTIONS] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[N_OPTIONS + 1] = (struct option){ NULL, 0, NULL, 0 };
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			exit(0);
		}
		if (ch < 256 || ch >= 256 + (int)N_OPTIONS)
			return -1;
		if (options[ch - 256].kind == FLAG)
			*(bool *)(void *)(base + options[ch - 256].off) = true;
		else
			*(const char **)(void *)(base + options[ch - 256].off) =
			    optarg;
	}
	if (optind != argc) {
		fprintf(stderr, "walletkey-issuer: unexpected argument %s\n",
		    argv[optind]);
		return -1;
	}
	if (o->db == NULL) {
		fprintf(stderr, "walletkey-issuer: --db URL is required\n");
		return -1;
	}
	return 0;
}

static int
unlock_from(const opts *o, iss_unlock *u)
{
	memset(u, 0, sizeof(*u));
	u->key_file = o->key_file;
	if (o->passphrase_env != NULL &&
	    (u->passphrase = getenv(o->passphrase_env)) == NULL) {
		fprintf(stderr, "walletkey-issuer: $%s is not set\n", o->passphrase_env);
		return -1;
	}
	if ((u->key_file == NULL) == (u->passphrase == NULL)) {
		fprintf(stderr, "walletkey-issuer: give --key-file or --passphrase-env\n");
		return -1;
	}
	return 0;
}

static bool
parse_u32(const char *s, uint32_t *v)
{
	char *end;
	unsigned long long x;

	if (s == NULL || *s == '\0' || *s == '-')
		return false;
	x = strtoull(s, &end, 10);
	if (*end != '\0' || x > 0x7FFFFFFFull)
		return false;
	*v = (uint32_t)x;
	return true;
}

static int
open_db(const opts *o, iss_db **db)
{
	char err[512];

	if (iss_db_open(o->db, db, err, sizeof(err)) != ISS_DB_OK) {
		fprintf(stderr, "walletkey-issuer: %s\n", err);
		return -1;
	}
	return 0;
}

static int
open_db(const opts *o, iss_db **db);

/* a semi-anonymous role's database: its schema, keys and manufacturers */
static int
cmd_init_role(const opts *o, const iss_unlock *u)
{
	iss_anon_init in = { 0 };
	iss_db *db = NULL;
	char err[512];
	size_t added;
	int rc = 1;

	if (strcmp(o->role, "identity") == 0)
		in.role = ISS_ROLE_IDENTITY;
	else if (strcmp(o->role, "account") == 0)
		in.role = ISS_ROLE_ACCOUNT;
	else {
		fprintf(stderr, "walletkey-issuer: --role is bank, identity or"
		    " account\n");
		return 2;
	}
	in.manager_id = o->manager_id;
	in.authority_url = o->authority_url;
	in.authority_pubkey = o->authority_pubkey;
	if (o->limit != NULL)
		in.limit_payment = strtoll(o->limit, NULL, 10);
	if (o->daily != NULL)
		in.limit_daily = strtoll(o->daily, NULL, 10);
	if (open_db(o, &db) != 0)
		return 1;
	if ((rc = iss_anon_create(db, u, &in, err, sizeof(err))) != 0) {
		fprintf(stderr, "walletkey-issuer: init: %s\n", err);
		rc = rc == -2 ? 2 : 1;
		goto out;
	}
	printf("%s created\n", in.role == ISS_ROLE_IDENTITY ?
	    "identity authority" : "account manager");
	if (o->mfg_ca != NULL) {
		if ((rc = iss_mfg_add(db, u, o->mfg_ca, &added, err,
		    sizeof(err))) != 0) {
			fprintf(stderr, "walletkey-issuer: init: %s\n", err);
			rc = rc == -2 ? 2 : 1;
			goto out;
		}
		printf("trusting %zu card manufacturer CA(s) from %s\n", added,
		    o->mfg_ca);
	}
	rc = 0;
out:
	iss_db_free(&db);
	return rc;
}

static int
anon_handle(void *ctx, const iss_request *rq, json_t **resp, iss_err *e)
{
	return iss_anon_handle(ctx, rq->method, rq->url, rq->body, rq->body_len,
	    resp, e);
}

static int
cmd_serve_role(const opts *o, uint32_t pool)
{
	iss_unlock u;
	iss_anon *a = NULL;
	iss_server *s = NULL;
	char err[512];
	sigset_t set;
	size_t settled;
	int sig, rc = 1;

	if (unlock_from(o, &u) != 0)
		return 2;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (iss_anon_open(o->db, &u, pool, &a, err, sizeof(err)) != 0 ||
	    iss_server_start_with(anon_handle, a, o->listen, o->tls_cert,
	    o->tls_key, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: serve: %s\n", err);
		goto out;
	}
	if (a->n_mfg == 0)
		fprintf(stderr, "walletkey-issuer: warning: no card manufacturer is"
		    " trusted, so no card can open an account or register\n");
	printf("%s %s listening on port %u\n", a->role == ISS_ROLE_IDENTITY ?
	    "identity authority" : "account manager", a->self,
	    (unsigned)iss_server_port(s));
	fflush(stdout);
	/* payments left pending by a crash: ask the authority */
	if (a->role == ISS_ROLE_ACCOUNT &&
	    iss_anon_am_reconcile(a, 0, &settled) == 0 && settled > 0)
		fprintf(stderr, "walletkey-issuer: %zu pending payment(s) settled"
		    " with the authority\n", settled);
	sigwait(&set, &sig);
	rc = 0;
out:
	iss_server_stop(&s);
	iss_anon_free(&a);
	return rc;
}

static int
cmd_init(const opts *o)
{
	iss_unlock u;
	iss_db *db = NULL;
	char err[512];
	uint32_t ceiling = ISS_DEFAULT_CEILING;
	uint8_t algs[WK_PURSE_KEY_N];
	int rc = 1;

	if (o->ceiling != NULL && !parse_u32(o->ceiling, &ceiling)) {
		fprintf(stderr, "walletkey-issuer: --ceiling wants 0..2147483647 fen\n");
		return 2;
	}
	if (o->sm4 != NULL && iss_key_algs_parse(o->sm4, algs, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: %s\n", err);
		return 2;
	}
	if (unlock_from(o, &u) != 0)
		return 2;
	if (o->role != NULL && strcmp(o->role, "bank") != 0 && o->sm4 != NULL) {
		fprintf(stderr, "walletkey-issuer: --sm4 chooses the bank's purse"
		    " keys: not for --role %s\n", o->role);
		return 2;
	}
	if (o->role != NULL && strcmp(o->role, "bank") != 0)
		return cmd_init_role(o, &u);
	if (open_db(o, &db) != 0)
		return 1;
	if (iss_schema_migrate(db, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: init: %s\n", err);
		goto out;
	}
	/* the packaged unit's every start: the schema brought up to date,
	 * the issuer made the first time only */
	if (o->exists_ok && iss_meta_get(db, "seal", err, sizeof(err)) == 0) {
		printf("an issuer exists (schema version %d)\n",
		    iss_schema_version(db));
		/* the choice of an existing issuer is key-algorithms' */
		if (o->sm4 != NULL)
			fprintf(stderr, "walletkey-issuer: init: --sm4 not applied"
			    " to an existing issuer (walletkey-issuer"
			    " key-algorithms --sm4 changes it)\n");
		rc = 0;
		goto out;
	}
	if (iss_keys_create(db, &u, ceiling, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: init: %s\n", err);
		goto out;
	}
	if (o->sm4 != NULL && iss_key_algs_set(db, algs) != ISS_DB_OK) {
		fprintf(stderr, "walletkey-issuer: init: %s\n", iss_db_errmsg(db));
		goto out;
	}
	printf("issuer created (schema version %d)\n", iss_schema_latest());
	if (o->mfg_ca != NULL) {
		size_t added;

		if ((rc = iss_mfg_add(db, &u, o->mfg_ca, &added, err,
		    sizeof(err))) != 0) {
			fprintf(stderr, "walletkey-issuer: init: %s (the issuer is"
			    " created; add manufacturers with manufacturer-add)\n", err);
			rc = rc == -2 ? 2 : 1;
			goto out;
		}
		printf("trusting %zu card manufacturer CA(s) from %s\n", added,
		    o->mfg_ca);
	}
	rc = 0;
out:
	iss_db_free(&db);
	return rc;
}

/* the purse key algorithms new enrolments get (docs/issuer.md "SM4 purse
 * keys"); cards keep the ones they were enrolled with */
static int
cmd_key_algorithms(const opts *o)
{
	uint8_t algs[WK_PURSE_KEY_N];
	iss_db *db = NULL;
	json_t *j = NULL;
	char err[256];
	int rc = 1;

	if (o->sm4 != NULL && iss_key_algs_parse(o->sm4, algs, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: %s\n", err);
		return 2;
	}
	if (open_db(o, &db) != 0)
		return 1;
	if (iss_meta_get(db, "seal", err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: not an issuer database (run init"
		    " first)\n");
		goto out;
	}
	if (o->sm4 != NULL && iss_key_algs_set(db, algs) != ISS_DB_OK) {
		fprintf(stderr, "walletkey-issuer: key-algorithms: %s\n",
		    iss_db_errmsg(db));
		goto out;
	}
	if (iss_key_algs_get(db, algs) != 0) {
		fprintf(stderr, "walletkey-issuer: issuer_meta: key_algs does not"
		    " parse\n");
		goto out;
	}
	if (o->json) {
		if ((j = iss_algs_json(algs)) == NULL)
			goto out;
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		for (int id = 0; id < WK_PURSE_KEY_N; id++)
			printf("%s\t%s\n", wk_purse_key_names[id],
			    algs[id] == WK_PURSE_ALG_SM4 ? "SM4" : "3DES");
		if (o->sm4 != NULL)
			printf("(for cards enrolled from now on; enrolled cards keep"
			    " theirs)\n");
	}
	rc = 0;
out:
	json_decref(j);
	iss_db_free(&db);
	return rc;
}

static int
cmd_migrate(const opts *o)
{
	iss_db *db = NULL;
	char err[512];
	int rc = 1;

	if (open_db(o, &db) != 0)
		return 1;
	if (iss_schema_migrate(db, err, sizeof(err)) != 0)
		fprintf(stderr, "walletkey-issuer: migrate: %s\n", err);
	else {
		printf("schema version %d\n", iss_schema_version(db));
		rc = 0;
	}
	iss_db_free(&db);
	return rc;
}

/* a PEM file of at most 64 KiB, NUL-terminated */
static char *
read_pem(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n;

	if (f == NULL)
		return NULL;
	if ((buf = malloc(65537)) != NULL) {
		n = fread(buf, 1, 65536, f);
		buf[n] = '\0';
		if (ferror(f) || !feof(f) || n == 0 ||
		    strstr(buf, "-----BEGIN CERTIFICATE-----") == NULL) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* "127.x.y.z:PORT" */
static bool
loopback(const char *listen)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	struct in_addr a;

	if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
		return false;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

static int
cmd_serve(const opts *o)
{
	iss_unlock u;
	iss *is = NULL;
	iss_server *s = NULL;
	char err[512];
	sigset_t set;
	uint32_t pool = ISS_POOL_DEFAULT, ttl = ISS_SESSION_TTL, hashes = ISS_HASH_MAX;
	int sig, rc = 1;

	if (o->hash_concurrency != NULL && (!parse_u32(o->hash_concurrency,
	    &hashes) || hashes < 1 || hashes > 64)) {
		fprintf(stderr, "walletkey-issuer: --hash-concurrency wants 1 to"
		    " 64\n");
		return 2;
	}
	if (o->session_ttl != NULL && (!parse_u32(o->session_ttl, &ttl) ||
	    ttl < 30 || ttl > 3600)) {
		fprintf(stderr, "walletkey-issuer: --session-ttl wants 30 to 3600"
		    " seconds\n");
		return 2;
	}
	if (o->listen == NULL) {
		fprintf(stderr, "walletkey-issuer: serve needs --listen HOST:PORT\n");
		return 2;
	}
	if (o->tls_cert == NULL && !loopback(o->listen)) {
		fprintf(stderr, "walletkey-issuer: serve: plain HTTP only on"
		    " loopback (127.0.0.0/8): to listen on %s, give --tls-cert and"
		    " --tls-key (walletkey-issuer(1), TLS)\n", o->listen);
		return 2;
	}
	if (o->pool != NULL && (!parse_u32(o->pool, &pool) || pool == 0)) {
		fprintf(stderr, "walletkey-issuer: --pool wants a positive number\n");
		return 2;
	}
	{
		iss_db *db = NULL;
		enum iss_role role = ISS_ROLE_BANK;

		if (open_db(o, &db) != 0)
			return 1;
		(void)iss_anon_db_role(db, &role);
		iss_db_free(&db);
		if (role != ISS_ROLE_BANK)
			return cmd_serve_role(o, pool);
	}
	if (unlock_from(o, &u) != 0)
		return 2;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (iss_open(o->db, &u, pool, &is, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: serve: %s\n", err);
		goto out;
	}
	is->session_ttl = ttl;
	/* merchants may authenticate with TLS client certificates from these
	 * CAs (docs/payments.md "Merchants") */
	if (o->client_ca != NULL && (is->client_ca = read_pem(o->client_ca)) ==
	    NULL) {
		fprintf(stderr, "walletkey-issuer: serve: cannot read %s (PEM, at"
		    " most 64 KiB)\n", o->client_ca);
		goto out;
	}
	is->hash_max = hashes;
	if (iss_server_start(is, o->listen, o->tls_cert, o->tls_key, &s, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: serve: %s\n", err);
		goto out;
	}
	if (is->keys.n_mfg == 0)
		fprintf(stderr, "walletkey-issuer: warning: no card manufacturer is"
		    " trusted, so no card can enrol (walletkey-issuer"
		    " manufacturer-add)\n");
	printf("listening on port %u\n", (unsigned)iss_server_port(s));
	fflush(stdout);
	sigwait(&set, &sig);
	rc = 0;
out:
	iss_server_stop(&s);
	iss_free(&is);
	return rc;
}

static char *
read_secret_env(const char *var)
{
	const char *v = var ? getenv(var) : NULL;

	return v ? strdup(v) : NULL;
}

static int
cmd_account_create(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	char *pw;
	int64_t id;
	int rc = 1;

	if (o->pan == NULL || o->name == NULL || o->password_env == NULL) {
		fprintf(stderr, "walletkey-issuer: account-create needs --pan, --name"
		    " and --password-env\n");
		return 2;
	}
	if ((pw = read_secret_env(o->password_env)) == NULL) {
		fprintf(stderr, "walletkey-issuer: $%s is not set\n", o->password_env);
		return 2;
	}
	if (open_db(o, &db) != 0)
		goto out;
	if (iss_account_create(db, o->pan, o->name, pw, &id, &e) != 0) {
		fprintf(stderr, "walletkey-issuer: %s: %s\n", e.code, e.message);
		rc = e.status < 500 ? 2 : 1;
		goto out;
	}
	if (o->json)
		printf("{\"id\":%" PRId64 ",\"pan\":\"%s\"}\n", id, o->pan);
	else
		printf("account %" PRId64 " created for PAN %s\n", id, o->pan);
	rc = 0;
out:
	sodium_memzero(pw, strlen(pw));
	free(pw);
	iss_db_free(&db);
	return rc;
}

static int
cmd_deposit(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	uint32_t amount;
	int rc = 1;

	if (o->pan == NULL || !parse_u32(o->amount, &amount) || amount == 0) {
		fprintf(stderr, "walletkey-issuer: deposit needs --pan and --amount"
		    " (1..2147483647 fen)\n");
		return 2;
	}
	if (open_db(o, &db) != 0)
		return 1;
	if (iss_deposit(db, o->pan, amount, &e) != 0) {
		fprintf(stderr, "walletkey-issuer: %s: %s\n", e.code, e.message);
		rc = e.status < 500 ? 2 : 1;
	} else {
		printf("deposited %u to %s\n", amount, o->pan);
		rc = 0;
	}
	iss_db_free(&db);
	return rc;
}

static int
cmd_merchant_create(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	json_t *j = NULL;
	char key[96] = "", fp[65] = "";
	int64_t id;
	int rc = 1;

	if (o->terminal == NULL) {
		fprintf(stderr, "walletkey-issuer: merchant-create needs --terminal"
		    " (12 hex digits)\n");
		return 2;
	}
	/* bad input changes nothing: the credentials are checked before the
	 * merchant is made */
	if (iss_merchant_webhook_check(o->webhook, &e) != 0 ||
	    (o->client_cert != NULL &&
	    iss_merchant_cert_check(o->client_cert, &e) != 0)) {
		fprintf(stderr, "walletkey-issuer: %s: %s\n", e.code, e.message);
		return 2;
	}
	if (open_db(o, &db) != 0)
		return 1;
	if (iss_merchant_create(db, o->terminal, o->name, &id, &e) != 0)
		goto fail;
	/* each credential in its own transaction: the merchant stays made */
	if ((o->webhook != NULL && iss_merchant_webhook(db, o->terminal,
	    o->webhook, &e) != 0) ||
	    (o->client_cert != NULL && iss_merchant_cert_add(db, o->terminal,
	    o->client_cert, fp, sizeof(fp), &e) != 0) ||
	    (o->api_key && iss_merchant_key_new(db, o->terminal, key, sizeof(key),
	    &e) != 0))
		goto fail;
	if (o->json) {
		j = json_pack("{s:I, s:s}", "id", (json_int_t)id, "terminal",
		    o->terminal);
		if (j != NULL && key[0] != '\0')
			json_object_set_new(j, "api_key", json_string(key));
		if (j != NULL && fp[0] != '\0')
			json_object_set_new(j, "client_cert", json_string(fp));
		if (j != NULL)
			json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		printf("merchant account %" PRId64 " created for terminal %s\n", id,
		    o->terminal);
		if (fp[0] != '\0')
			printf("client certificate %s\n", fp);
		if (key[0] != '\0')
			printf("API key (shown once): %s\n", key);
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "walletkey-issuer: %s: %s\n", e.code, e.message);
	rc = e.status < 500 ? 2 : 1;
out:
	sodium_memzero(key, sizeof(key));
	json_decref(j);
	iss_db_free(&db);
	return rc;
}

static int
cmd_merchant_key(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	char key[96] = "";
	int rc = 1;

	if ((o->terminal == NULL) == (o->revoke == NULL)) {
		fprintf(stderr, "walletkey-issuer: merchant-key needs --terminal ID"
		    " or --revoke KEY_ID\n");
		return 2;
	}
	if (open_db(o, &db) != 0)
		return 1;
	if (o->revoke != NULL) {
		if (iss_merchant_key_revoke(db, o->revoke, &e) != 0)
			goto fail;
		if (o->json)
			printf("{\"revoked\":\"%s\"}\n", o->revoke);
		else
			printf("API key %s revoked\n", o->revoke);
	} else {
		if (iss_merchant_key_new(db, o->terminal, key, sizeof(key), &e) != 0)
			goto fail;
		if (o->json)
			printf("{\"terminal\":\"%s\",\"api_key\":\"%s\"}\n",
			    o->terminal, key);
		else
			printf("API key (shown once): %s\n", key);
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "walletkey-issuer: %s: %s\n", e.code, e.message);
	rc = e.status < 500 ? 2 : 1;
out:
	sodium_memzero(key, sizeof(key));
	iss_db_free(&db);
	return rc;
}

static int
cmd_merchant_cert(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	char fp[65];
	int rc = 1;

	if (o->terminal == NULL || o->client_cert == NULL) {
		fprintf(stderr, "walletkey-issuer: merchant-cert needs --terminal ID"
		    " and --client-cert PEM\n");
		return 2;
	}
	if (open_db(o, &db) != 0)
		return 1;
	if (iss_merchant_cert_add(db, o->terminal, o->client_cert, fp, sizeof(fp),
	    &e) != 0) {
		fprintf(stderr, "walletkey-issuer: %s: %s\n", e.code, e.message);
		rc = e.status < 500 ? 2 : 1;
	} else {
		if (o->json)
			printf("{\"terminal\":\"%s\",\"client_cert\":\"%s\"}\n",
			    o->terminal, fp);
		else
			printf("client certificate %s registered for terminal %s\n",
			    fp, o->terminal);
		rc = 0;
	}
	iss_db_free(&db);
	return rc;
}

static int
cmd_merchant_webhook(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	int rc = 1;

	if (o->terminal == NULL || (o->webhook == NULL) == !o->none) {
		fprintf(stderr, "walletkey-issuer: merchant-webhook needs --terminal"
		    " ID and --webhook URL or --none\n");
		return 2;
	}
	if (open_db(o, &db) != 0)
		return 1;
	if (iss_merchant_webhook(db, o->terminal, o->webhook, &e) != 0) {
		fprintf(stderr, "walletkey-issuer: %s: %s\n", e.code, e.message);
		rc = e.status < 500 ? 2 : 1;
	} else {
		if (o->json)
			printf("{\"terminal\":\"%s\",\"webhook\":%s%s%s}\n",
			    o->terminal, o->webhook ? "\"" : "",
			    o->webhook ? o->webhook : "null", o->webhook ? "\"" : "");
		else
			printf("webhook of terminal %s: %s\n", o->terminal,
			    o->webhook ? o->webhook : "none");
		rc = 0;
	}
	iss_db_free(&db);
	return rc;
}

static int
cmd_alias_create(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	char alias[80];
	int rc = 1;

	if (o->pan == NULL) {
		fprintf(stderr, "walletkey-issuer: alias-create needs --pan PAN\n");
		return 2;
	}
	if (open_db(o, &db) != 0)
		return 1;
	if (iss_alias_create(db, o->pan, o->alias, o->label, alias, sizeof(alias),
	    &e) != 0) {
		fprintf(stderr, "walletkey-issuer: %s: %s\n", e.code, e.message);
		rc = e.status < 500 ? 2 : 1;
	} else {
		if (o->json)
			printf("{\"alias\":\"%s\"}\n", alias);
		else
			printf("%s\n", alias);
		rc = 0;
	}
	iss_db_free(&db);
	return rc;
}

/* reads a small file (the PSAM request) into a NUL-terminated buffer */
static char *
read_small(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	if ((buf = malloc(8192)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, 8191, f);
	if (ferror(f) || !feof(f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* the PSAM of a terminal (docs/issuer.md "PSAM"): replaces the old
 * sam-keys, which wrote the purse master keys themselves to a file */
static int
cmd_psam_issue(const opts *o)
{
	iss_unlock u;
	iss_db *db = NULL;
	iss_keys k = { 0 };
	iss_err e = { 0 };
	uint8_t msg[WK_MSG_MAX];
	size_t msg_len = sizeof(msg), req_len = 0, cap;
	char *req = NULL, *b64 = NULL, err[512];
	json_t *j = NULL;
	int fd = -1, rc = 1;

	if (o->terminal == NULL || o->request == NULL || o->out == NULL) {
		fprintf(stderr, "walletkey-issuer: psam-issue needs --terminal ID,"
		    " --request FILE and --out FILE\n");
		return 2;
	}
	if (unlock_from(o, &u) != 0)
		return 2;
	if ((req = read_small(o->request, &req_len)) == NULL) {
		fprintf(stderr, "walletkey-issuer: psam-issue: cannot read %s (at"
		    " most 8 KiB)\n", o->request);
		return 2;
	}
	if (open_db(o, &db) != 0)
		goto out;
	if (iss_keys_load(db, &u, &k, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: psam-issue: %s\n", err);
		goto out;
	}
	if (iss_psam_issue(db, &k, o->terminal, req, req_len, msg, &msg_len,
	    &e) != 0) {
		fprintf(stderr, "walletkey-issuer: %s: %s\n", e.code, e.message);
		rc = e.status < 500 ? 2 : 1;
		goto out;
	}
	cap = sodium_base64_ENCODED_LEN(msg_len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(cap)) == NULL)
		goto out;
	sodium_bin2base64(b64, cap, msg, msg_len, sodium_base64_VARIANT_ORIGINAL);
	{
		wk_msg m;
		char id[17], term[13];

		(void)wk_msg_parse(msg, msg_len, &m, NULL, NULL);
		wk_hex_encode(m.card_id, sizeof(m.card_id), id);
		wk_hex_encode(m.terminal_id, sizeof(m.terminal_id), term);
		j = json_pack("{s:s, s:i, s:s, s:s, s:i, s:s}", "format",
		    "walletkey-psam-keys", "version", 1, "card_id", id, "terminal",
		    term, "key_version", (int)m.key_version, "message", b64);
	}
	if (j == NULL)
		goto out;
	if ((fd = open(o->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "walletkey-issuer: psam-issue: cannot create %s (it"
		    " must not exist)\n", o->out);
		goto out;
	}
	if (json_dumpfd(j, fd, JSON_INDENT(2)) != 0 || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0) {
		fprintf(stderr, "walletkey-issuer: psam-issue: cannot write %s\n",
		    o->out);
		goto out;
	}
	if (o->json) {
		json_object_del(j, "message");
		json_object_set_new(j, "out", json_string(o->out));
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		printf("PSAM keys for terminal %s written to %s\n", o->terminal,
		    o->out);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	json_decref(j);
	free(b64);
	free(req);
	iss_keys_clear(&k);
	iss_db_free(&db);
	return rc;
}

static int
cmd_manufacturer_add(const opts *o)
{
	iss_unlock u;
	iss_db *db = NULL;
	char err[512];
	size_t added;
	int rc = 1;

	if (o->cert == NULL) {
		fprintf(stderr, "walletkey-issuer: manufacturer-add needs --cert PEM\n");
		return 2;
	}
	if (unlock_from(o, &u) != 0)
		return 2;
	if (open_db(o, &db) != 0)
		return 1;
	if ((rc = iss_mfg_add(db, &u, o->cert, &added, err, sizeof(err))) != 0) {
		fprintf(stderr, "walletkey-issuer: manufacturer-add: %s\n", err);
		rc = rc == -2 ? 2 : 1;
		goto out;
	}
	if (o->json)
		printf("{\"added\":%zu}\n", added);
	else
		printf("%zu card manufacturer CA(s) added; restart the servers to"
		    " use them\n", added);
	rc = 0;
out:
	iss_db_free(&db);
	return rc;
}

static int
cmd_manufacturers(const opts *o)
{
	iss_unlock u;
	iss_db *db = NULL;
	json_t *a = NULL, *v;
	char err[512];
	size_t i;
	int rc = 1;

	if (unlock_from(o, &u) != 0)
		return 2;
	if (open_db(o, &db) != 0)
		return 1;
	if (iss_mfg_list(db, &u, &a, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: manufacturers: %s\n", err);
		goto out;
	}
	if (o->json) {
		json_dumpf(a, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		printf("fingerprint\tnot_after\tsubject\n");
		json_array_foreach(a, i, v)
			printf("%s\t%s\t%s\n",
			    json_string_value(json_object_get(v, "fingerprint")),
			    json_is_string(json_object_get(v, "not_after")) ?
			    json_string_value(json_object_get(v, "not_after")) : "-",
			    json_string_value(json_object_get(v, "subject")));
	}
	rc = 0;
out:
	json_decref(a);
	iss_db_free(&db);
	return rc;
}

static int
cmd_manufacturer_remove(const opts *o)
{
	iss_db *db = NULL;
	char err[512];
	int rc = 1;

	if (o->fingerprint == NULL) {
		fprintf(stderr, "walletkey-issuer: manufacturer-remove needs"
		    " --fingerprint SHA256 (see manufacturers)\n");
		return 2;
	}
	if (open_db(o, &db) != 0)
		return 1;
	if ((rc = iss_mfg_remove(db, o->fingerprint, err, sizeof(err))) != 0) {
		fprintf(stderr, "walletkey-issuer: manufacturer-remove: %s\n", err);
		rc = rc == -2 ? 2 : 1;
		goto out;
	}
	if (o->json)
		printf("{\"removed\":\"%s\"}\n", o->fingerprint);
	else
		printf("manufacturer CA %s removed; restart the servers\n",
		    o->fingerprint);
	rc = 0;
out:
	iss_db_free(&db);
	return rc;
}

static int
cmd_revoke(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	int rc = 1;

	if (o->card == NULL) {
		fprintf(stderr, "walletkey-issuer: revoke needs --card CARD_ID\n");
		return 2;
	}
	if (open_db(o, &db) != 0)
		return 1;
	if (iss_card_revoke(db, o->card, &e) != 0) {
		fprintf(stderr, "walletkey-issuer: %s: %s\n", e.code, e.message);
		rc = e.status < 500 ? 2 : 1;
	} else {
		printf("card %s revoked\n", o->card);
		rc = 0;
	}
	iss_db_free(&db);
	return rc;
}

/*
 * purse-unblock: the holder's card was blocked by wrong MAC2s or grant
 * signatures; its signed unblock request (a file from `walletkey wallet
 * unblock --request-out`) carries the challenge the card keeps. The script
 * works once, on that card, for that challenge (docs/purse.md "Blocking").
 */
static int
cmd_purse_unblock(const opts *o)
{
	iss_unlock u;
	iss_db *db = NULL;
	iss_keys k = { 0 };
	iss_err e = { 0 };
	iss_unblock ub;
	json_error_t jerr;
	json_t *req = NULL, *script = NULL;
	uint8_t msg[WK_MSG_MAX];
	char err[512], chal[9], mac[9], *text = NULL;
	const char *fmt, *hex, *id;
	long n;
	int fd = -1, rc = 1;

	if (o->card == NULL || o->request == NULL) {
		fprintf(stderr, "walletkey-issuer: purse-unblock needs --card CARD_ID"
		    " and --request FILE\n");
		return 2;
	}
	if (unlock_from(o, &u) != 0)
		return 2;
	if ((req = json_load_file(o->request, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		fprintf(stderr, "walletkey-issuer: purse-unblock: %s: %s\n",
		    o->request, jerr.text);
		return 2;
	}
	fmt = json_string_value(json_object_get(req, "format"));
	id = json_string_value(json_object_get(req, "card_id"));
	hex = json_string_value(json_object_get(req, "request"));
	if (fmt == NULL || strcmp(fmt, "walletkey-unblock-request/1") != 0 ||
	    id == NULL || hex == NULL || strlen(hex) % 2 != 0 ||
	    strlen(hex) > 2 * sizeof(msg) ||
	    (n = wk_hex_decode(hex, msg, sizeof(msg))) <= 0) {
		fprintf(stderr, "walletkey-issuer: purse-unblock: %s is not an"
		    " unblock request (walletkey-unblock-request/1)\n", o->request);
		rc = 2;
		goto out;
	}
	if (strcasecmp(id, o->card) != 0) {
		fprintf(stderr, "walletkey-issuer: purse-unblock: the request is card"
		    " %s's, not %s's\n", id, o->card);
		rc = 2;
		goto out;
	}
	if (open_db(o, &db) != 0)
		goto out;
	if (iss_keys_load(db, &u, &k, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: purse-unblock: %s\n", err);
		goto out;
	}
	if (iss_purse_unblock(db, &k, o->card, msg, (size_t)n, &ub, &e) != 0) {
		fprintf(stderr, "walletkey-issuer: %s: %s\n", e.code, e.message);
		rc = e.status < 500 ? 2 : 1;
		goto out;
	}
	wk_hex_encode(ub.challenge, sizeof(ub.challenge), chal);
	wk_hex_encode(ub.mac, sizeof(ub.mac), mac);
	script = json_pack("{s:s, s:s, s:s, s:s}", "format",
	    "walletkey-unblock-script/1", "card_id", ub.card_id, "challenge", chal,
	    "mac", mac);
	if (script == NULL || (text = json_dumps(script, JSON_INDENT(2))) == NULL)
		goto out;
	if (o->out == NULL) {
		printf("%s\n", text);
	} else {
		if ((fd = open(o->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600)) < 0) {
			fprintf(stderr, "walletkey-issuer: purse-unblock: cannot create"
			    " %s (it must not exist)\n", o->out);
			goto out;
		}
		if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
		    write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
			fprintf(stderr, "walletkey-issuer: purse-unblock: cannot write"
			    " %s\n", o->out);
			goto out;
		}
		if (o->json)
			printf("{\"card_id\":\"%s\",\"challenge\":\"%s\","
			    "\"script\":\"%s\"}\n", ub.card_id, chal, o->out);
		else
			printf("unblock script for card %s (challenge %s) written to"
			    " %s\n", ub.card_id, chal, o->out);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	json_decref(script);
	json_decref(req);
	iss_keys_clear(&k);
	iss_db_free(&db);
	return rc;
}

/* writes text and a newline to a new file (never over one) */
static int
write_new_file(const char *path, const char *text)
{
	size_t n = strlen(text);
	int fd, rc = -1;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1 &&
	    fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

/*
 * pin-unblock: the holder forgot the purse PIN or blocked it, and the bank
 * has identified them. The order's reset PIN is printed for the operator to
 * tell the holder by another channel; the card's next signed unblock
 * request receives the one-time RELOAD PIN script (docs/issuer.md "PIN
 * reload"): online through POST /v1/pin-reloads (walletkey wallet pin
 * unblock --issuer URL), or here with --request FILE --out FILE.
 */
static int
cmd_pin_unblock(const opts *o)
{
	iss_unlock u;
	iss_db *db = NULL;
	iss_keys k = { 0 };
	iss_err e = { 0 };
	iss_pin_order ord;
	iss_pin_script sc;
	json_error_t jerr;
	json_t *req = NULL, *script = NULL, *out = NULL;
	uint8_t msg[WK_MSG_MAX];
	char err[512], chal[9], hex[2 * WK_PURSE_RELOAD_DATA_MAX + 1];
	char *text = NULL;
	const char *fmt, *rhex = NULL;
	long n = 0;
	int rc = 1;

	memset(&ord, 0, sizeof(ord));
	memset(&sc, 0, sizeof(sc));
	if (o->card == NULL || (o->request == NULL) != (o->out == NULL)) {
		fprintf(stderr, "walletkey-issuer: pin-unblock needs --card CARD_ID,"
		    " and --request FILE with --out FILE or neither\n");
		return 2;
	}
	if (unlock_from(o, &u) != 0)
		return 2;
	if (o->request != NULL) {
		if ((req = json_load_file(o->request, JSON_REJECT_DUPLICATES,
		    &jerr)) == NULL) {
			fprintf(stderr, "walletkey-issuer: pin-unblock: %s: %s\n",
			    o->request, jerr.text);
			return 2;
		}
		fmt = json_string_value(json_object_get(req, "format"));
		rhex = json_string_value(json_object_get(req, "request"));
		if (fmt == NULL || strcmp(fmt, "walletkey-unblock-request/1") != 0 ||
		    rhex == NULL || strlen(rhex) % 2 != 0 ||
		    strlen(rhex) > 2 * sizeof(msg) ||
		    (n = wk_hex_decode(rhex, msg, sizeof(msg))) <= 0) {
			fprintf(stderr, "walletkey-issuer: pin-unblock: %s is not an"
			    " unblock request (walletkey-unblock-request/1)\n",
			    o->request);
			rc = 2;
			goto out;
		}
	}
	if (open_db(o, &db) != 0)
		goto out;
	if (iss_keys_load(db, &u, &k, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: pin-unblock: %s\n", err);
		goto out;
	}
	if (iss_pin_order_new(db, &k, o->card, o->request != NULL ? msg : NULL,
	    (size_t)n, &ord, o->request != NULL ? &sc : NULL, &e) != 0) {
		fprintf(stderr, "walletkey-issuer: %s: %s\n", e.code, e.message);
		rc = e.status < 500 ? 2 : 1;
		goto out;
	}
	if (o->request != NULL) {
		wk_hex_encode(sc.challenge, sizeof(sc.challenge), chal);
		wk_hex_encode(sc.script, sc.script_len, hex);
		script = json_pack("{s:s, s:s, s:s, s:s}", "format",
		    "walletkey-pin-script/1", "card_id", sc.card_id, "challenge",
		    chal, "script", hex);
		sodium_memzero(hex, sizeof(hex));
		if (script == NULL || (text = json_dumps(script, JSON_INDENT(2))) ==
		    NULL)
			goto out;
		if (write_new_file(o->out, text) != 0) {
			fprintf(stderr, "walletkey-issuer: pin-unblock: cannot create"
			    " %s (it must not exist)\n", o->out);
			goto out;
		}
	}
	if (o->json) {
		out = json_pack("{s:s, s:I, s:s}", "card_id", ord.card_id, "order",
		    (json_int_t)ord.order, "reset_pin", ord.reset_pin);
		if (out != NULL && o->request != NULL)
			json_object_set_new(out, "script", json_string(o->out));
		if (out == NULL)
			goto out;
		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		printf("PIN reload %lld ordered for card %s\n", (long long)ord.order,
		    ord.card_id);
		printf("reset PIN: %s (tell the holder by another channel than the"
		    " card's)\n", ord.reset_pin);
		if (o->request != NULL)
			printf("the one-time script for challenge %s is in %s\n", chal,
			    o->out);
		else
			printf("the card's next unblock request gets the script"
			    " (walletkey wallet pin unblock --issuer URL)\n");
	}
	rc = 0;
out:
	sodium_memzero(&ord, sizeof(ord));
	sodium_memzero(&sc, sizeof(sc));
	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	json_decref(out);
	json_decref(script);
	json_decref(req);
	iss_keys_clear(&k);
	iss_db_free(&db);
	return rc;
}

/* a listing: a query printed as a table or as a JSON array of objects */
typedef struct listing {
	const char *sql;
	const char *const *names;
	const bool *numeric;
} listing;

static int
cmd_list(const opts *o, const listing *l)
{
	iss_db *db = NULL;
	int rc;

	if (open_db(o, &db) != 0)
		return 1;
	rc = iss_db_print(db, l->sql, l->names, l->numeric, o->json);
	iss_db_free(&db);
	return rc;
}

static const char *const payments_names[] = { "payment_id", "terminal_id",
	"order_id", "payer", "card_id", "amount", "currency", "status",
	"error", "method", "counter", "expires", "created_at", "closed_at" };
static const bool payments_numeric[] = { false, false, false, false, false,
	true, false, false, false, false, true, true, false, false };
static const listing payments_list = {
    "SELECT id, terminal_id, order_id, payer,"
    " card_id, amount, currency, status, error_code, method, counter,"
    " expires_at, created_at, closed_at FROM payments"
    " ORDER BY created_at, id",
    payments_names, payments_numeric };

static const char *const webhooks_names[] = { "id", "payment_id", "url",
	"attempts", "next_at", "delivered_at", "last_error" };
static const bool webhooks_numeric[] = { true, false, false, true, true,
	true, false };
static const listing webhooks_list = {
    "SELECT id, payment_id, url, attempts, next_at,"
    " delivered_at, last_error FROM webhooks ORDER BY id",
    webhooks_names, webhooks_numeric };

static const char *const pin_reloads_names[] = { "order", "card_id",
	"status", "ordered_at", "challenge", "delivered_at" };
static const bool pin_reloads_numeric[] = { true, false, false, false, false,
	false };
static const listing pin_reloads_list = {
    "SELECT id, card_id, status, ordered_at,"
    " challenge, delivered_at FROM pin_reloads ORDER BY id",
    pin_reloads_names, pin_reloads_numeric };

static const char *const transfers_names[] = { "token_id", "sender",
	"receiver", "amount", "reported_at" };
static const bool transfers_numeric[] = { false, false, false, true, false };
static const listing transfers_list = {
    "SELECT token_id, sender, receiver, amount,"
    " reported_at FROM transfers ORDER BY reported_at, token_id",
    transfers_names, transfers_numeric };

static const char *const psams_names[] = { "terminal_id", "card_id",
	"key_version", "issued_at" };
static const bool psams_numeric[] = { false, false, true, false };
static const listing psams_list = {
    "SELECT terminal_id, card_id, key_version,"
    " issued_at FROM psams ORDER BY terminal_id",
    psams_names, psams_numeric };

static const char *const merchants_names[] = { "terminal_id", "account_id",
	"name", "balance", "created_at" };
static const bool merchants_numeric[] = { false, true, false, true, false };
static const listing merchants_list = {
    "SELECT m.terminal_id, m.account_id, a.name,"
    " a.balance, m.created_at FROM merchants m JOIN accounts a"
    " ON a.id = m.account_id ORDER BY m.terminal_id",
    merchants_names, merchants_numeric };

static const char *const settlements_names[] = { "card_id", "purse",
	"offline_seq", "terminal_id", "terminal_seq", "amount", "settled_at" };
static const bool settlements_numeric[] = { false, false, true, false, false,
	true, false };
static const listing settlements_list = {
    "SELECT card_id, purse, offline_seq, terminal_id,"
    " terminal_seq, amount, settled_at FROM settlements"
    " ORDER BY settled_at, terminal_id, terminal_seq",
    settlements_names, settlements_numeric };

static const char *const accounts_names[] = { "id", "kind", "pan", "name",
	"balance", "created_at" };
static const bool accounts_numeric[] = { true, false, false, false, true,
	false };
static const listing accounts_list = {
    "SELECT id, kind, pan, name, balance, created_at"
    " FROM accounts ORDER BY id",
    accounts_names, accounts_numeric };

static const char *const ledger_names[] = { "entry", "txn", "kind", "ref",
	"account", "amount", "at" };
static const bool ledger_numeric[] = { true, true, false, false, true, true,
	false };
static const listing ledger_list = {
    "SELECT e.id, t.id, t.kind, t.ref, e.account_id,"
    " e.amount, t.created_at FROM entries e JOIN txns t"
    " ON t.id = e.txn_id ORDER BY e.id",
    ledger_names, ledger_numeric };

static const char *const oplog_names[] = { "id", "at", "kind", "card_id",
	"load_id", "seq", "account_id", "amount", "detail", "reverses" };
static const bool oplog_numeric[] = { true, false, false, false, false, true,
	true, true, false, true };
static const listing oplog_list = {
    "SELECT id, at, kind, card_id, load_id, seq,"
    " account_id, amount, detail, reverses FROM oplog ORDER BY id",
    oplog_names, oplog_numeric };

static const char *const loads_names[] = { "load_id", "card_id", "seq",
	"account_id", "amount", "status", "balance", "created_at", "closed_at" };
static const bool loads_numeric[] = { false, false, true, true, true, false,
	true, false, false };
static const listing loads_list = {
    "SELECT id, card_id, seq, account_id, amount,"
    " status, new_balance, created_at, closed_at FROM loads"
    " ORDER BY created_at, id",
    loads_names, loads_numeric };

/* float: what the issuer put into the card and did not pay out;
 * key_algs: one algorithm id per purse key (00 3DES, 04 SM4) */
static const char *const cards_names[] = { "card_id", "account_id",
	"cert_serial", "key_version", "key_algs", "balance", "float_account",
	"float", "revoked_at", "created_at" };
static const bool cards_numeric[] = { false, true, false, true, false, true,
	true, true, false, false };
static const listing cards_list = {
    "SELECT c.card_id, c.account_id, c.cert_serial,"
    " c.key_version, COALESCE(c.key_algs, ''), c.balance,"
    " c.float_account, COALESCE(a.balance, 0), c.revoked_at,"
    " c.created_at FROM cards c"
    " LEFT JOIN accounts a ON a.id = c.float_account"
    " ORDER BY c.created_at",
    cards_names, cards_numeric };

/* sam-keys wrote the purse master keys to a file; it is gone */
static int
cmd_sam_keys(const opts *o)
{
	(void)o;
	fprintf(stderr, "walletkey-issuer: sam-keys is gone: it wrote the"
	    " purse master keys to a file. A terminal gets a PSAM instead"
	    " (psam-issue; docs/issuer.md \"PSAM\")\n");
	return 2;
}

/* the semi-anonymous roles' commands (iss_anon_admin.c) */
static int
cmd_anon(const char *cmd, const opts *o)
{
	iss_unlock u = { 0 };
	iss_anon_cmd c = { 0 };

	u.key_file = o->key_file;
	if (o->passphrase_env != NULL &&
	    (u.passphrase = getenv(o->passphrase_env)) == NULL) {
		fprintf(stderr, "walletkey-issuer: $%s is not set\n",
		    o->passphrase_env);
		return 2;
	}
	c = (iss_anon_cmd){ .db = o->db, .u = &u, .name = o->name,
	    .id_number = o->id_number, .account = o->account,
	    .manager = o->manager, .url = o->url, .pubkey = o->pubkey,
	    .amount = o->amount, .limit = o->limit, .daily = o->daily,
	    .state = o->state, .case_id = o->case_id, .txid = o->txid,
	    .order = o->order, .operator_name = o->operator_name,
	    .password_env = o->password_env, .approver = o->approver,
	    .approver_password_env = o->approver_password_env,
	    .json = o->json };
	return iss_anon_admin(cmd, &c);
}

/* the commands: a handler, or a listing */
static const struct command {
	const char *name;
	int (*run)(const opts *o);
	const listing *list;
} commands[] = {
	{ "migrate", cmd_migrate, NULL },
	{ "key-algorithms", cmd_key_algorithms, NULL },
	{ "serve", cmd_serve, NULL },
	{ "account-create", cmd_account_create, NULL },
	{ "deposit", cmd_deposit, NULL },
	{ "revoke", cmd_revoke, NULL },
	{ "merchant-create", cmd_merchant_create, NULL },
	{ "merchant-key", cmd_merchant_key, NULL },
	{ "merchant-cert", cmd_merchant_cert, NULL },
	{ "merchant-webhook", cmd_merchant_webhook, NULL },
	{ "alias-create", cmd_alias_create, NULL },
	{ "payments", NULL, &payments_list },
	{ "webhooks", NULL, &webhooks_list },
	{ "psam-issue", cmd_psam_issue, NULL },
	{ "manufacturer-add", cmd_manufacturer_add, NULL },
	{ "manufacturers", cmd_manufacturers, NULL },
	{ "manufacturer-remove", cmd_manufacturer_remove, NULL },
	{ "purse-unblock", cmd_purse_unblock, NULL },
	{ "pin-unblock", cmd_pin_unblock, NULL },
	{ "pin-reloads", NULL, &pin_reloads_list },
	{ "sam-keys", cmd_sam_keys, NULL },
	{ "transfers", NULL, &transfers_list },
	{ "psams", NULL, &psams_list },
	{ "merchants", NULL, &merchants_list },
	{ "settlements", NULL, &settlements_list },
	{ "accounts", NULL, &accounts_list },
	{ "ledger", NULL, &ledger_list },
	{ "oplog", NULL, &oplog_list },
	{ "loads", NULL, &loads_list },
	{ "cards", NULL, &cards_list },
};

int
main(int argc, char **argv)
{
	opts o = { 0 };
	const char *cmd;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "walletkey-issuer: libsodium failed to start\n");
		return 1;
	}
	cmd = argv[1];
	if (parse(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "init") == 0)
		return cmd_init(&o);
	if (iss_anon_admin_known(cmd))
		return cmd_anon(cmd, &o);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run != NULL ? commands[i].run(&o) :
			    cmd_list(&o, commands[i].list);
	fprintf(stderr, "walletkey-issuer: unknown command %s\n", cmd);
	usage(stderr);
	return 2;
}
