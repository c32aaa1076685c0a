/* walletkey-issuer init, key-algorithms, migrate and serve (of the bank
 * and of the semi-anonymous roles) */
#include "iss_cli.h"
#include "iss_anon.h"

#include <arpa/inet.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_hex.h"

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
	if (iss_cli_open_db(o, &db) != 0)
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

	if (iss_cli_unlock(o, &u) != 0)
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

int
cmd_init(const opts *o)
{
	iss_unlock u;
	iss_db *db = NULL;
	char err[512];
	uint32_t ceiling = ISS_DEFAULT_CEILING;
	uint8_t algs[WK_PURSE_KEY_N];
	int rc = 1;

	if (o->ceiling != NULL && !iss_cli_parse_u32(o->ceiling, &ceiling)) {
		fprintf(stderr, "walletkey-issuer: --ceiling wants 0..2147483647 fen\n");
		return 2;
	}
	if (o->sm4 != NULL && iss_key_algs_parse(o->sm4, algs, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: %s\n", err);
		return 2;
	}
	if (iss_cli_unlock(o, &u) != 0)
		return 2;
	if (o->role != NULL && strcmp(o->role, "bank") != 0 && o->sm4 != NULL) {
		fprintf(stderr, "walletkey-issuer: --sm4 chooses the bank's purse"
		    " keys: not for --role %s\n", o->role);
		return 2;
	}
	if (o->role != NULL && strcmp(o->role, "bank") != 0)
		return cmd_init_role(o, &u);
	if (iss_cli_open_db(o, &db) != 0)
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
int
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
	if (iss_cli_open_db(o, &db) != 0)
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

int
cmd_migrate(const opts *o)
{
	iss_db *db = NULL;
	char err[512];
	int rc = 1;

	if (iss_cli_open_db(o, &db) != 0)
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

int
cmd_serve(const opts *o)
{
	iss_unlock u;
	iss *is = NULL;
	iss_server *s = NULL;
	char err[512];
	sigset_t set;
	uint32_t pool = ISS_POOL_DEFAULT, ttl = ISS_SESSION_TTL, hashes = ISS_HASH_MAX;
	int sig, rc = 1;

	if (o->hash_concurrency != NULL && (!iss_cli_parse_u32(o->hash_concurrency,
	    &hashes) || hashes < 1 || hashes > 64)) {
		fprintf(stderr, "walletkey-issuer: --hash-concurrency wants 1 to"
		    " 64\n");
		return 2;
	}
	if (o->session_ttl != NULL && (!iss_cli_parse_u32(o->session_ttl, &ttl) ||
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
	if (o->pool != NULL && (!iss_cli_parse_u32(o->pool, &pool) || pool == 0)) {
		fprintf(stderr, "walletkey-issuer: --pool wants a positive number\n");
		return 2;
	}
	{
		iss_db *db = NULL;
		enum iss_role role = ISS_ROLE_BANK;

		if (iss_cli_open_db(o, &db) != 0)
			return 1;
		(void)iss_anon_db_role(db, &role);
		iss_db_free(&db);
		if (role != ISS_ROLE_BANK)
			return cmd_serve_role(o, pool);
	}
	if (iss_cli_unlock(o, &u) != 0)
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
