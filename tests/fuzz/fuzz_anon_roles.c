/*
 * fuzz target for the semi-anonymous roles' dispatch (iss_anon_handle): an
 * identity authority and an account manager on temporary SQLite databases,
 * each also served on a loopback port so that they reach each other (the
 * manager is the payee's too), the manager's accounts of two fixed cards
 * (keys from fixed seeds, attested by a test manufacturer both trust)
 * registered at the authority with money on them. The inputs go straight
 * to iss_anon_handle of one party. data[0] picks what the rest is:
 *
 *   00xx xxxx  a route (low 4 bits, table below) of the party in bit 4;
 *              the rest is the request body as sent
 *   10xx xxxx  the same route; the rest is a body the harness wraps: for a
 *              peer route a {from, body, sig} request signed with the key
 *              the party trusts, for payments and history an envelope of
 *              the fixed card sealed with its business key (kind 1 and 2;
 *              a query whose time is zero gets the time of day)
 *   01xx xxxx  a transfer the fixed card's manager forwards, built here from
 *              the rest: payee selector 1 | amount 4 | counter 2 | flags 1
 *              (flags: 1 flip the credential, 2 another identity key,
 *              4 another person, 8 the credential of another payment) with
 *              genuine signatures otherwise, so the ledger is reached
 *
 * In bodies and envelopes "@ACCT@" and "@PAYEE@" stand for the fixed card's
 * account and the second card's. After every input the authority's books
 * must balance: entries sum to zero, the balances to what was deposited,
 * none below zero; else the target aborts. Without libFuzzer, main()
 * replays the files named on the command line (the seed corpus in
 * tests/fuzz/corpus/fuzz_anon_roles/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "iss_anon.h"
#include "wk_attest.h"
#include "wk_hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define DEPOSIT 1000000

static struct {
	char dir[256];
	char id_url[300], am_url[300];
	iss_anon *id, *am;
	iss_server *id_srv, *am_srv;
	iss_db *iddb;
	EVP_PKEY *mfg_key;
	X509 *mfg_cert;
	/* the fixed card, and a second one to be paid */
	struct fcard {
		uint8_t id[8];
		uint8_t otk_pk[32], otk_sk[64], idk_pk[32], idk_sk[64];
		uint8_t bk_pk[32], bk_sk[32];
		char acct[WK_ANON_ACCT_MAX + 1];
		uint8_t features[32];
	} c, d;
	uint64_t counter;
	int64_t issued;
} F;

static const char *const routes[16] = {
	"/v1/health", "/v1/anon/keys", "/v1/anon/registrations",
	"/v1/anon/accounts", "/v1/anon/payments", "/v1/anon/status",
	"/v1/anon/history", "/v1/anon/peer/transfer", "/v1/anon/peer/status",
	"/v1/anon/peer/balance", "/v1/anon/peer/check-payee",
	"/v1/anon/peer/notify", "/v1/anon/peer/", "/v1/anon/nothing",
	"/v1/anon/payments/x", "/",
};

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_anon_roles: %s\n", what);
	abort();
}

static void
cleanup(void)
{
	char c[400];

	iss_server_stop(&F.am_srv);
	iss_server_stop(&F.id_srv);
	iss_anon_free(&F.id);
	iss_anon_free(&F.am);
	iss_db_free(&F.iddb);
	X509_free(F.mfg_cert);
	EVP_PKEY_free(F.mfg_key);
	snprintf(c, sizeof(c), "rm -rf '%s'", F.dir);
	if (system(c) != 0)
		fprintf(stderr, "fuzz_anon_roles: cannot remove %s\n", F.dir);
}

static int
handler(void *ctx, const iss_request *rq, json_t **resp, iss_err *e)
{
	return iss_anon_handle(ctx, rq->method, rq->url, rq->body, rq->body_len,
	    resp, e);
}

static void
serve(iss_anon *a, iss_server **srv, char *url, size_t cap)
{
	char err[256];

	if (iss_server_start_with(handler, a, "127.0.0.1:0", NULL, NULL, srv, err,
	    sizeof(err)) != 0)
		die(err);
	snprintf(url, cap, "http://127.0.0.1:%u", (unsigned)iss_server_port(*srv));
}

static json_t *
der_b64(X509 *x)
{
	unsigned char *d = NULL;
	int n = i2d_X509(x, &d);
	json_t *j;

	if (n <= 0)
		die("der");
	j = wk_b64_json(d, (size_t)n);
	OPENSSL_free(d);
	return j;
}

/* [attestation of pk in slot, device certificate] from the test maker */
static json_t *
attestation(const struct fcard *c, EVP_PKEY *f9, X509 *dev, uint8_t slot,
    const uint8_t pk[32])
{
	uint8_t serial[WK_ATTEST_SERIAL_LEN] = { 7 };
	wk_attest_key info = { .slot = slot, .origin = WK_ATTEST_ORIGIN_GENERATED,
	    .pin_policy = 3, .touch_policy = 1, .firmware = { 5, 7, 1 },
	    .serial = 42 };
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(slot == WK_ANON_SLOT_BK ?
	    EVP_PKEY_X25519 : EVP_PKEY_ED25519, NULL, pk, 32);
	X509 *x = NULL;
	json_t *a;

	if (k == NULL || wk_attest_key_new(k, &info, c->id, f9, dev, serial,
	    &x) != WK_ATTEST_OK)
		die("attestation");
	a = json_pack("[o, o]", der_b64(x), der_b64(dev));
	X509_free(x);
	EVP_PKEY_free(k);
	return a;
}

static json_t *
call(iss_anon *a, const char *method, const char *path, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	json_t *resp = NULL;
	iss_err e = { 0 };

	if (text == NULL || iss_anon_handle(a, method, path, text, strlen(text),
	    &resp, &e) != 0) {
		fprintf(stderr, "fuzz_anon_roles: %s: %s\n", path, e.message);
		die("set-up request refused");
	}
	free(text);
	json_decref(body);
	return resp;
}

/* keys from seed bytes, the account at the manager, the registration */
static void
card_make(struct fcard *c, uint8_t seed, const char *name, const char *idn)
{
	uint8_t s[32], serial[WK_ATTEST_SERIAL_LEN] = { seed };
	uint8_t stmt[WK_ANON_STMT_MAX], salt[16], code[16], h[32];
	char code_hex[33], salt_hex[33], h_hex[65], now[40];
	EVP_PKEY *f9 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *dev = NULL;
	json_t *r;
	size_t slen;

	memset(c->id, seed, sizeof(c->id));
	memset(s, seed, sizeof(s));
	crypto_sign_seed_keypair(c->otk_pk, c->otk_sk, s);
	s[0] ^= 1;
	crypto_sign_seed_keypair(c->idk_pk, c->idk_sk, s);
	s[0] ^= 2;
	crypto_box_seed_keypair(c->bk_pk, c->bk_sk, s);
	if (f9 == NULL || wk_attest_device_new(f9, c->id, F.mfg_key, F.mfg_cert,
	    3650, serial, &dev) != WK_ATTEST_OK)
		die("device");
	r = call(F.am, "POST", "/v1/anon/accounts", json_pack("{s:o, s:o}", "bk",
	    wk_b64_json(c->bk_pk, 32), "attestation", attestation(c, f9, dev,
	    WK_ANON_SLOT_BK, c->bk_pk)));
	snprintf(c->acct, sizeof(c->acct), "%s",
	    json_string_value(json_object_get(r, "account")));
	if (wk_b64_unjson(json_object_get(r, "statement"), stmt, sizeof(stmt),
	    &slen) != 0)
		die("statement");
	json_decref(r);
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(code, sizeof(code));
	wk_hex_encode(salt, 16, salt_hex);
	wk_hex_encode(code, 16, code_hex);
	crypto_hash_sha256(h, (const uint8_t *)code_hex, 32);
	wk_hex_encode(h, 32, h_hex);
	iss_now_iso(now, sizeof(now));
	if (iss_db_exec(F.iddb, "INSERT INTO anon_persons (name, id_number, salt,"
	    " code_hash, created_at) VALUES ($1, $2, $3, $4, $5)", (iss_param[]){
	    ISS_PS(name), ISS_PS(idn), ISS_PS(salt_hex), ISS_PS(h_hex),
	    ISS_PS(now) }, 5, NULL) != ISS_DB_OK)
		die("person");
	r = call(F.id, "POST", "/v1/anon/registrations", json_pack("{s:s, s:o,"
	    " s:o, s:o, s:o, s:o}", "code", code_hex, "statement",
	    wk_b64_json(stmt, slen), "otk", wk_b64_json(c->otk_pk, 32), "idk",
	    wk_b64_json(c->idk_pk, 32), "attestation_otk", attestation(c, f9, dev,
	    WK_ANON_SLOT_OTK, c->otk_pk), "attestation_idk", attestation(c, f9,
	    dev, WK_ANON_SLOT_IDK, c->idk_pk)));
	if (wk_hex_decode(json_string_value(json_object_get(r, "features")),
	    c->features, 32) != 32)
		die("features");
	json_decref(r);
	X509_free(dev);
	EVP_PKEY_free(f9);
	{
		char amount[32];
		iss_anon_cmd cmd = { .db = F.id_url, .account = c->acct,
		    .amount = amount };
		FILE *old = stdout;

		snprintf(amount, sizeof(amount), "%d", DEPOSIT);
		/* the command prints its result: not into the fuzzer's output */
		stdout = fopen("/dev/null", "w");
		if (stdout == NULL || iss_anon_admin("anon-deposit", &cmd) != 0)
			die("deposit");
		fclose(stdout);
		stdout = old;
		F.issued += DEPOSIT;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char key[300], mfg[300], err[512], pk[65], url[64];
	uint8_t serial[WK_ATTEST_SERIAL_LEN] = { 1 }, k[32];
	iss_unlock u = { .key_file = key };
	iss_anon_init in = { 0 };
	iss_db *db = NULL;
	size_t added;
	FILE *f;

	(void)argc;
	(void)argv;
	snprintf(F.dir, sizeof(F.dir), "%.200s/wk-fuzz-anon.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (sodium_init() < 0 || mkdtemp(F.dir) == NULL)
		die("temp");
	atexit(cleanup);
	snprintf(key, sizeof(key), "%s/roles.key", F.dir);
	snprintf(mfg, sizeof(mfg), "%s/mfg.pem", F.dir);
	randombytes_buf(k, sizeof(k));
	if ((f = fopen(key, "wb")) == NULL || fwrite(k, 1, 32, f) != 32 ||
	    fclose(f) != 0)
		die("key file");
	if ((F.mfg_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    wk_attest_ca_new(F.mfg_key, "fuzz manufacturer", 3650, serial,
	    &F.mfg_cert) != WK_ATTEST_OK || (f = fopen(mfg, "w")) == NULL ||
	    PEM_write_X509(f, F.mfg_cert) != 1 || fclose(f) != 0)
		die("manufacturer");
	snprintf(F.id_url, sizeof(F.id_url), "sqlite:%s/identity.db", F.dir);
	snprintf(F.am_url, sizeof(F.am_url), "sqlite:%s/am1.db", F.dir);
	in.role = ISS_ROLE_IDENTITY;
	if (iss_db_open(F.id_url, &db, err, sizeof(err)) != ISS_DB_OK ||
	    iss_anon_create(db, &u, &in, err, sizeof(err)) != 0 ||
	    iss_mfg_add(db, &u, mfg, &added, err, sizeof(err)) != 0)
		die(err);
	iss_db_free(&db);
	if (iss_anon_open(F.id_url, &u, 4, &F.id, err, sizeof(err)) != 0)
		die(err);
	serve(F.id, &F.id_srv, url, sizeof(url));
	wk_hex_encode(F.id->sign_pk, 32, pk);
	in.role = ISS_ROLE_ACCOUNT;
	in.manager_id = "am1";
	in.authority_url = url;
	in.authority_pubkey = pk;
	in.limit_payment = 1000000;
	in.limit_daily = 100000000;
	if (iss_db_open(F.am_url, &db, err, sizeof(err)) != ISS_DB_OK ||
	    iss_anon_create(db, &u, &in, err, sizeof(err)) != 0 ||
	    iss_mfg_add(db, &u, mfg, &added, err, sizeof(err)) != 0)
		die(err);
	iss_db_free(&db);
	if (iss_anon_open(F.am_url, &u, 4, &F.am, err, sizeof(err)) != 0 ||
	    iss_db_open(F.id_url, &F.iddb, err, sizeof(err)) != ISS_DB_OK)
		die(err);
	serve(F.am, &F.am_srv, url, sizeof(url));
	wk_hex_encode(F.am->sign_pk, 32, pk);
	{
		char now[40];

		iss_now_iso(now, sizeof(now));
		if (iss_db_exec(F.iddb, "INSERT INTO anon_managers (id, url, sign_pub,"
		    " created_at) VALUES ('am1', $1, $2, $3)", (iss_param[]){
		    ISS_PS(url), ISS_PS(pk), ISS_PS(now) }, 3, NULL) != ISS_DB_OK)
			die("manager");
	}
	card_make(&F.c, 0x11, "Fuzz Holder", "F-1");
	card_make(&F.d, 0x22, "Fuzz Payee", "F-2");
	return 0;
}

static int64_t
q_int(const char *sql)
{
	iss_res *r = NULL;
	int64_t v;

	if (iss_db_exec(F.iddb, sql, NULL, 0, &r) != ISS_DB_OK ||
	    iss_res_rows(r) != 1)
		die(sql);
	v = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	return v;
}

/* the authority's books, as walletkey-issuer anon-check */
static void
books(void)
{
	if (q_int("SELECT COALESCE(SUM(amount), 0) FROM anon_entries") != 0 ||
	    q_int("SELECT COALESCE(SUM(balance), 0) FROM anon_accounts") !=
	    F.issued ||
	    q_int("SELECT COUNT(*) FROM anon_accounts WHERE balance < 0") != 0 ||
	    q_int("SELECT COUNT(*) FROM anon_accounts a WHERE a.balance <> (SELECT"
	    " COALESCE(SUM(e.amount), 0) FROM anon_entries e WHERE e.account ="
	    " a.account)") != 0)
		die("the authority's books do not balance");
}

/* the body with the placeholders replaced */
static char *
expand(const uint8_t *p, size_t n, size_t *out_len)
{
	static const struct { const char *from; const char *to; } subs[] = {
		{ "@ACCT@", F.c.acct }, { "@PAYEE@", F.d.acct },
	};
	char *s = malloc(n * 7 + 1);
	size_t o = 0;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		bool done = false;

		for (size_t k = 0; k < 2 && !done; k++) {
			size_t fl = strlen(subs[k].from);

			if (n - i >= fl && memcmp(p + i, subs[k].from, fl) == 0) {
				memcpy(s + o, subs[k].to, strlen(subs[k].to));
				o += strlen(subs[k].to);
				i += fl;
				done = true;
			}
		}
		if (!done)
			s[o++] = (char)p[i++];
	}
	s[o] = '\0';
	*out_len = o;
	return s;
}

/* {from, body, sig} signed as the peer the party trusts */
static char *
peer_wrap(iss_anon *to, const char *path, const char *body, size_t *len)
{
	iss_anon *from = to == F.id ? F.am : F.id;
	char sig[128], *out = NULL;
	uint8_t s[64];
	wk_buf m;
	json_t *j;

	wk_buf_init_heap(&m, ISS_MAX_BODY + 1024);
	wk_buf_add(&m, WK_ANON_PEER_MAGIC "\nrequest\n",
	    strlen(WK_ANON_PEER_MAGIC) + 9);
	wk_buf_add(&m, from->self, strlen(from->self));
	wk_buf_add(&m, "\n", 1);
	wk_buf_add(&m, path, strlen(path));
	wk_buf_add(&m, "\n", 1);
	wk_buf_add(&m, body, strlen(body));
	if (!wk_buf_failed(&m)) {
		crypto_sign_detached(s, NULL, m.p, m.len, from->sign_sk);
		sodium_bin2base64(sig, sizeof(sig), s, 64,
		    sodium_base64_VARIANT_ORIGINAL);
		if ((j = json_pack("{s:s, s:s, s:s}", "from", from->self, "body",
		    body, "sig", sig)) != NULL) {
			out = json_dumps(j, JSON_COMPACT);
			json_decref(j);
		}
	}
	wk_buf_clear(&m);
	if (out != NULL)
		*len = strlen(out);
	return out;
}

/* {envelope} of the fixed card around plain */
static char *
envelope_wrap(uint8_t kind, const uint8_t *plain, size_t n, size_t *len)
{
	uint8_t key[32], nonce[24] = { 0 }, env[WK_ANON_ENV_MAX];
	size_t el;
	char *out = NULL;
	json_t *j;

	uint8_t q[WK_ANON_QUERY_LEN];
	static const uint8_t zero[8] = { 0 };

	if (n > WK_ANON_REQ_PLAIN_MAX || wk_anon_business_key(F.c.bk_sk,
	    F.am->kx_pk, F.c.bk_pk, F.am->kx_pk, key) != WK_ANON_OK)
		return NULL;
	if (kind == WK_ANON_ENV_QUERY && n == WK_ANON_QUERY_LEN &&
	    memcmp(plain + 10, zero, 8) == 0) {
		uint64_t t = (uint64_t)time(NULL);

		memcpy(q, plain, n);
		for (int i = 0; i < 8; i++)
			q[10 + i] = (uint8_t)(t >> (56 - 8 * i));
		plain = q;
	}
	randombytes_buf(nonce, sizeof(nonce));
	if (wk_anon_env_seal(kind, F.c.acct, key, nonce, plain, n, env,
	    sizeof(env), &el) == WK_ANON_OK &&
	    (j = json_pack("{s:o}", "envelope", wk_b64_json(env, el))) != NULL) {
		out = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	}
	sodium_memzero(key, sizeof(key));
	if (out != NULL)
		*len = strlen(out);
	return out;
}

/* a transfer of the fixed card as its manager forwards it */
static void
transfer(const uint8_t *p, size_t n)
{
	static const char *const payees[4] = { NULL, NULL,
	    "am1-0123456789abcdef", "am9-0123456789abcdef" };
	uint8_t txinfo[WK_ANON_TXINFO_MAX], txid[32], cred[64];
	uint8_t idc[WK_ANON_IDCRED_LEN], other[32];
	char *body = NULL, *req = NULL;
	size_t tl, len = 0;
	wk_anon_tx tx;
	json_t *j, *resp = NULL;
	iss_err e = { 0 };
	uint8_t flags;

	if (n < 8)
		return;
	memset(&tx, 0, sizeof(tx));
	snprintf(tx.payer, sizeof(tx.payer), "%s", F.c.acct);
	snprintf(tx.payee, sizeof(tx.payee), "%s", (p[0] & 3) == 0 ? F.d.acct :
	    (p[0] & 3) == 1 ? F.c.acct : payees[p[0] & 3]);
	tx.amount = (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 8 | p[4];
	tx.counter = (uint64_t)p[5] << 8 | p[6];
	tx.time = (uint64_t)time(NULL);
	flags = p[7];
	randombytes_buf(tx.nonce, sizeof(tx.nonce));
	if (wk_anon_tx_encode(&tx, txinfo, sizeof(txinfo), &tl) != WK_ANON_OK)
		return;
	wk_anon_txid(txinfo, tl, txid);
	crypto_sign_detached(cred, NULL, txinfo, tl, F.c.otk_sk);
	if (flags & 1)
		cred[flags % 64] ^= 0x10;
	if (flags & 8) {
		uint8_t t2[32];

		memcpy(t2, txid, 32);
		t2[0] ^= 1;
		memcpy(txid, t2, 32);
	}
	memcpy(other, (flags & 4) ? F.d.features : F.c.features, 32);
	if (wk_anon_idcred_seal(txid, other, (flags & 2) ? F.d.idk_sk :
	    F.c.idk_sk, F.id->kx_pk, idc) != WK_ANON_OK)
		return;
	j = json_pack("{s:o, s:o, s:o, s:s}", "txinfo", wk_b64_json(txinfo, tl),
	    "txcred", wk_b64_json(cred, 64), "idcred", wk_b64_json(idc,
	    sizeof(idc)), "alias", "0123456789abcdef0123456789abcdef");
	if (j != NULL && (body = json_dumps(j, JSON_COMPACT)) != NULL &&
	    (req = peer_wrap(F.id, "/v1/anon/peer/transfer", body, &len)) != NULL)
		(void)iss_anon_handle(F.id, "POST", "/v1/anon/peer/transfer", req,
		    len, &resp, &e);
	/* a committed answer only for a genuine request within the funds */
	if (resp != NULL) {
		json_t *b = json_object_get(resp, "body");
		json_t *in = b ? json_loads(json_string_value(b), 0, NULL) : NULL;
		const char *st = json_string_value(json_object_get(in, "status"));

		if (st != NULL && strcmp(st, "committed") == 0 && (flags & 15) != 0)
			die("a transfer with a bad credential committed");
		json_decref(in);
	}
	json_decref(j);
	json_decref(resp);
	free(body);
	free(req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	iss_anon *a;
	const char *path;
	char *body = NULL, *wrapped = NULL;
	size_t blen = 0, wlen = 0;
	json_t *resp = NULL;
	iss_err e = { 0 };

	if (size == 0)
		return 0;
	if ((data[0] & 0xC0) == 0x40) {
		transfer(data + 1, size - 1);
		books();
		return 0;
	}
	a = (data[0] & 0x10) ? F.am : F.id;
	path = routes[data[0] & 0x0F];
	if ((body = expand(data + 1, size - 1, &blen)) == NULL)
		return 0;
	if ((data[0] & 0x80) != 0) {
		if (strncmp(path, "/v1/anon/peer/", 14) == 0)
			wrapped = peer_wrap(a, path, body, &wlen);
		else if (strcmp(path, "/v1/anon/payments") == 0 ||
		    strcmp(path, "/v1/anon/history") == 0)
			wrapped = envelope_wrap(strcmp(path, "/v1/anon/payments") == 0 ?
			    WK_ANON_ENV_PAY : WK_ANON_ENV_QUERY, (const uint8_t *)body,
			    blen, &wlen);
	}
	(void)iss_anon_handle(a, data[0] & 0x20 ? "GET" : "POST", path,
	    wrapped ? wrapped : body, wrapped ? wlen : blen, &resp, &e);
	/* a failure always says why, with a 4xx or 5xx */
	if (resp == NULL && (e.status < 400 || e.status > 599 || e.code == NULL))
		die("a failure without a status");
	json_decref(resp);
	free(body);
	free(wrapped);
	books();
	return 0;
}

/* replay.c's end of a run: the seeds reach the ledger, say how far */
void fuzz_replay_report(unsigned n);

void
fuzz_replay_report(unsigned n)
{
	printf("fuzz_anon_roles: the authority holds %lld committed and"
	    " %lld refused or void transfers after %u inputs\n",
	    (long long)q_int("SELECT COUNT(*) FROM anon_transfers WHERE status ="
	    " 'committed'"), (long long)q_int("SELECT COUNT(*) FROM anon_transfers"
	    " WHERE status <> 'committed'"), n);
}
