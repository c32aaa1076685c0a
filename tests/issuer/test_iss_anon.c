/*
 * the semi-anonymous roles (issuer/iss_anon*.c) driven with crafted
 * requests: an identity authority and two account managers, each on its
 * own real database (SQLite files, or databases of the PostgreSQL cluster
 * tests/issuer/with_pg.sh starts: WK_TEST_DB=pg) and its own HTTP server on
 * a free port, since the parties call each other; a fake third manager
 * whose answers the test writes. The cards are played here with keys the
 * test holds, so it can build what a genuine card never would: a bad
 * transaction credential, a bad identity credential, the credentials of
 * another account, a request re-encrypted for another manager, replays.
 * Every refusal is a 4xx with a message, and the authority's ledger is
 * exactly as it was and still sums to zero.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "iss_anon.h"
#include "sim_card.h"
#include "wk_attest.h"
#include "wk_hex.h"

#define DEPOSIT 50000
#define LIMIT 20000
#define DAILY 40000

typedef struct party {
	const char *name;
	char url[700];		/* its database */
	char key[300];		/* its key file */
	iss_anon *a;
	iss_server *srv;
	char base[64];		/* http://127.0.0.1:PORT */
	iss_db *db;		/* the test's own connection, for checks */
} party;

/* a card as the test plays it: its three keys, its attestation key and
 * device certificate from the test manufacturer */
typedef struct scard {
	uint8_t id[8];
	EVP_PKEY *f9;
	X509 *dev;
	uint8_t otk_pk[32], otk_sk[64], idk_pk[32], idk_sk[64];
	uint8_t bk_pk[32], bk_sk[32];
	char acct[WK_ANON_ACCT_MAX + 1];
	uint8_t mgr_kx[32];
	uint8_t features[32];
	uint64_t counter;
	party *mgr;
} scard;

static struct {
	char dir[256];
	char mfg_pem[300];
	party id, am1, am2;
	/* a manager the test writes the answers of ("evil"), registered at
	 * the authority; its check-payee refuses with bytes no result may
	 * carry */
	iss_server *evil_srv;
	char evil_base[64];
	uint8_t evil_pk[32], evil_sk[64], evil_kx_pk[32], evil_kx_sk[32];
	scard c0, c1, c2, shop;		/* c0, c2 at am1; c1 at am2; shop at evil */
	int64_t issued;
	sim_http *am1_http;
} T;

/* ---- helpers ---- */

static void
hex(const uint8_t *p, size_t n, char *out)
{
	wk_hex_encode(p, n, out);
}

static json_t *
b64(const uint8_t *p, size_t n)
{
	return wk_b64_json(p, n);
}

static long
handle(party *p, const char *method, const char *path, json_t *body,
    json_t **resp)
{
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	iss_err e = { 0 };
	long st;

	*resp = NULL;
	if (iss_anon_handle(p->a, method, path, text ? text : "",
	    text ? strlen(text) : 0, resp, &e) == 0) {
		st = 200;
	} else {
		json_t *err = json_pack("{s:s, s:s}", "error", e.code, "message",
		    e.message);

		/* as the HTTP server sends it: the handler's details added */
		if (*resp != NULL)
			json_object_update_missing(err, *resp);
		json_decref(*resp);
		*resp = err;
		st = e.status;
	}
	free(text);
	json_decref(body);
	return st;
}

static long
post(party *p, const char *path, json_t *body, json_t **resp)
{
	return handle(p, "POST", path, body, resp);
}

static const char *
jstr(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

/* rp, not *rp: the caller's call that fills it may be an argument */
static void
expect(long st, json_t **rp, long want, const char *code)
{
	json_t *resp = *rp;

	if (st != want || (code != NULL && (jstr(resp, "error") == NULL ||
	    strcmp(jstr(resp, "error"), code) != 0))) {
		char *d = json_dumps(resp, JSON_COMPACT);

		fprintf(stderr, "want %ld %s, got %ld %s\n", want, code ? code : "",
		    st, d ? d : "(none)");
		free(d);
	}
	assert_int_equal(st, want);
	if (code != NULL) {
		assert_string_equal(jstr(resp, "error"), code);
		/* a clear message with every refusal */
		assert_non_null(jstr(resp, "message"));
		assert_true(strlen(jstr(resp, "message")) > 5);
	}
}

static int64_t
q_int(iss_db *db, const char *sql, const char *arg)
{
	iss_res *r = NULL;
	int64_t v;

	assert_int_equal(iss_db_exec(db, sql, arg ? (iss_param[]){ ISS_PS(arg) } :
	    NULL, arg ? 1 : 0, &r), ISS_DB_OK);
	assert_int_equal(iss_res_rows(r), 1);
	v = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	return v;
}

static char *
q_text(iss_db *db, const char *sql, const char *arg)
{
	iss_res *r = NULL;
	char *s = NULL;

	assert_int_equal(iss_db_exec(db, sql, arg ? (iss_param[]){ ISS_PS(arg) } :
	    NULL, arg ? 1 : 0, &r), ISS_DB_OK);
	if (iss_res_rows(r) == 1 && iss_res_text(r, 0, 0) != NULL)
		s = strdup(iss_res_text(r, 0, 0));
	iss_res_free(&r);
	return s;
}

/* every value the authority holds, as one string */
static char *
ledger(void)
{
	static const char *const qs[] = {
		"SELECT account, balance, last_counter FROM anon_accounts ORDER BY"
		" account",
		"SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM anon_entries",
		"SELECT COUNT(*) FROM anon_txns",
		"SELECT name, balance FROM anon_books ORDER BY name",
		"SELECT COUNT(*) FROM anon_transfers WHERE status = 'committed'",
	};
	size_t cap = 1 << 14, n = 0;
	char *s = calloc(1, cap);

	assert_non_null(s);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		iss_res *r = NULL;

		assert_int_equal(iss_db_exec(T.id.db, qs[i], NULL, 0, &r), ISS_DB_OK);
		for (size_t row = 0; row < iss_res_rows(r); row++)
			for (size_t col = 0; col < iss_res_cols(r); col++) {
				const char *t = iss_res_text(r, row, col);

				assert_true(n + strlen(t ? t : "-") + 4 < cap);
				n += (size_t)snprintf(s + n, cap - n, "%s|", t ? t : "-");
			}
		iss_res_free(&r);
		s[n++] = '\n';
	}
	return s;
}

/* the books of the authority: as walletkey-issuer anon-check */
static void
books_balance(void)
{
	iss_db *db = T.id.db;

	assert_int_equal(q_int(db, "SELECT COALESCE(SUM(amount), 0) FROM"
	    " anon_entries", NULL), 0);
	assert_int_equal(q_int(db, "SELECT COALESCE(SUM(balance), 0) FROM"
	    " anon_accounts", NULL) + q_int(db, "SELECT balance FROM anon_books"
	    " WHERE name = 'issuance'", NULL), 0);
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM anon_accounts a WHERE"
	    " a.balance <> (SELECT COALESCE(SUM(e.amount), 0) FROM anon_entries e"
	    " WHERE e.account = a.account)", NULL), 0);
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM (SELECT txn_id FROM"
	    " anon_entries GROUP BY txn_id HAVING SUM(amount) <> 0) x", NULL), 0);
	assert_int_equal(q_int(db, "SELECT COALESCE(SUM(balance), 0) FROM"
	    " anon_accounts", NULL), T.issued);
}

static void
unchanged(const char *before)
{
	char *after = ledger();

	if (strcmp(before, after) != 0)
		fprintf(stderr, "before:\n%safter:\n%s", before, after);
	assert_string_equal(before, after);
	free(after);
	books_balance();
}

static int64_t
balance_of(const scard *c)
{
	return q_int(T.id.db, "SELECT balance FROM anon_accounts WHERE account ="
	    " $1", c->acct);
}

/* ---- the parties ---- */

static int
party_url(party *p, const char *name)
{
	const char *pg = getenv("WK_TEST_DB");

	p->name = name;
	snprintf(p->key, sizeof(p->key), "%s/%s.key", T.dir, name);
	{
		uint8_t k[32];
		FILE *f = fopen(p->key, "wb");

		randombytes_buf(k, sizeof(k));
		if (f == NULL || fwrite(k, 1, sizeof(k), f) != sizeof(k) ||
		    fclose(f) != 0)
			return -1;
	}
	if (pg != NULL && strcmp(pg, "pg") == 0) {
		/* a database of its own in the private cluster */
		const char *base = getenv("WK_PG_URL");
		const char *q;
		char sql[128], err[256];
		iss_db *db = NULL;

		if (base == NULL || (q = strchr(base, '?')) == NULL ||
		    iss_db_open(base, &db, err, sizeof(err)) != ISS_DB_OK)
			return -1;
		snprintf(sql, sizeof(sql), "CREATE DATABASE wk_anon_%s", name);
		if (iss_db_exec(db, sql, NULL, 0, NULL) != ISS_DB_OK) {
			iss_db_free(&db);
			return -1;
		}
		iss_db_free(&db);
		snprintf(p->url, sizeof(p->url), "postgresql://postgres@/wk_anon_%s%s",
		    name, q);
	} else {
		snprintf(p->url, sizeof(p->url), "sqlite:%s/%s.db", T.dir, name);
	}
	return 0;
}

static int
anon_handler(void *ctx, const iss_request *rq, json_t **resp, iss_err *e)
{
	return iss_anon_handle(ctx, rq->method, rq->url, rq->body, rq->body_len,
	    resp, e);
}

static int
party_start(party *p, const iss_anon_init *in)
{
	iss_unlock u = { .key_file = p->key };
	iss_db *db = NULL;
	char err[512];
	size_t added;

	if (iss_db_open(p->url, &db, err, sizeof(err)) != ISS_DB_OK ||
	    iss_anon_create(db, &u, in, err, sizeof(err)) != 0 ||
	    iss_mfg_add(db, &u, T.mfg_pem, &added, err, sizeof(err)) != 0) {
		fprintf(stderr, "setup %s: %s\n", p->name, err);
		iss_db_free(&db);
		return -1;
	}
	p->db = db;
	if (iss_anon_open(p->url, &u, 8, &p->a, err, sizeof(err)) != 0 ||
	    iss_server_start_with(anon_handler, p->a, "127.0.0.1:0", NULL, NULL,
	    &p->srv, err, sizeof(err)) != 0) {
		fprintf(stderr, "setup %s: %s\n", p->name, err);
		return -1;
	}
	snprintf(p->base, sizeof(p->base), "http://127.0.0.1:%u",
	    (unsigned)iss_server_port(p->srv));
	return 0;
}

static void
party_stop(party *p)
{
	iss_server_stop(&p->srv);
	iss_anon_free(&p->a);
	iss_db_free(&p->db);
}

/* the fake manager: a refusal whose message has control bytes and UTF-8,
 * and a notice it takes */
static int
evil_handler(void *ctx, const iss_request *rq, json_t **resp, iss_err *e)
{
	const char *url = rq->url;

	(void)ctx;
	*resp = NULL;
	if (strcmp(url, "/v1/anon/peer/check-payee") == 0) {
		iss_fail(e, 403, "account_frozen", "frozen\n\x01\x7f by caf\xc3\xa9"
		    " \"policy\"");
		return -1;
	}
	iss_fail(e, 404, "not_found", "nothing here");
	return -1;
}

static int
add_manager(const char *id, const char *base, const uint8_t pk[32])
{
	char pkhex[65], now[40];

	hex(pk, 32, pkhex);
	iss_now_iso(now, sizeof(now));
	return iss_db_exec(T.id.db, "INSERT INTO anon_managers (id, url, sign_pub,"
	    " created_at) VALUES ($1, $2, $3, $4)", (iss_param[]){ ISS_PS(id),
	    ISS_PS(base), ISS_PS(pkhex), ISS_PS(now) }, 4, NULL) == ISS_DB_OK ?
	    0 : -1;
}

/* a person at the authority; *code the one-time registration code */
static void
add_person(const char *name, const char *idn, char code[33])
{
	uint8_t salt[16], c[16], h[32];
	char salt_hex[33], h_hex[65], now[40];

	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(c, sizeof(c));
	hex(salt, 16, salt_hex);
	hex(c, 16, code);
	crypto_hash_sha256(h, (const uint8_t *)code, 32);
	hex(h, 32, h_hex);
	iss_now_iso(now, sizeof(now));
	assert_int_equal(iss_db_exec(T.id.db, "INSERT INTO anon_persons (name,"
	    " id_number, salt, code_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
	    (iss_param[]){ ISS_PS(name), ISS_PS(idn), ISS_PS(salt_hex),
	    ISS_PS(h_hex), ISS_PS(now) }, 5, NULL), ISS_DB_OK);
}

/* ---- the cards ---- */

static void
card_new(scard *c, party *mgr)
{
	uint8_t serial[WK_ATTEST_SERIAL_LEN];

	memset(c, 0, sizeof(*c));
	randombytes_buf(c->id, sizeof(c->id));
	crypto_sign_keypair(c->otk_pk, c->otk_sk);
	crypto_sign_keypair(c->idk_pk, c->idk_sk);
	crypto_box_keypair(c->bk_pk, c->bk_sk);
	randombytes_buf(serial, sizeof(serial));
	assert_non_null(c->f9 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	assert_int_equal(wk_attest_device_new(c->f9, c->id, sim_factory_key(),
	    sim_factory_cert(), 3650, serial, &c->dev), WK_ATTEST_OK);
	c->mgr = mgr;
}

static void
card_free(scard *c)
{
	EVP_PKEY_free(c->f9);
	X509_free(c->dev);
	c->f9 = NULL;
	c->dev = NULL;
}

static json_t *
der_b64(X509 *x)
{
	unsigned char *d = NULL;
	int n = i2d_X509(x, &d);
	json_t *j;

	assert_true(n > 0);
	j = b64(d, (size_t)n);
	OPENSSL_free(d);
	return j;
}

/* [attestation of pk in slot, device certificate], as the card answers */
static json_t *
attestation(scard *c, uint8_t slot, const uint8_t pk[32])
{
	uint8_t serial[WK_ATTEST_SERIAL_LEN];
	wk_attest_key info = { .slot = slot, .origin = WK_ATTEST_ORIGIN_GENERATED,
	    .pin_policy = 3, .touch_policy = 1, .firmware = { 5, 7, 1 },
	    .serial = 42 };
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(slot == WK_ANON_SLOT_BK ?
	    EVP_PKEY_X25519 : EVP_PKEY_ED25519, NULL, pk, 32);
	X509 *x = NULL;
	json_t *a;

	assert_non_null(k);
	randombytes_buf(serial, sizeof(serial));
	assert_int_equal(wk_attest_key_new(k, &info, c->id, c->f9, c->dev, serial,
	    &x), WK_ATTEST_OK);
	a = json_pack("[o, o]", der_b64(x), der_b64(c->dev));
	X509_free(x);
	EVP_PKEY_free(k);
	return a;
}

static json_t *
registration(scard *c, const char *code, const uint8_t *stmt, size_t slen)
{
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "code", code,
	    "statement", b64(stmt, slen), "otk", b64(c->otk_pk, 32), "idk",
	    b64(c->idk_pk, 32), "attestation_otk", attestation(c, WK_ANON_SLOT_OTK,
	    c->otk_pk), "attestation_idk", attestation(c, WK_ANON_SLOT_IDK,
	    c->idk_pk));
}

/* opens the account at its manager, registers it at the authority with a
 * new person's code, deposits */
static void
card_enrol(scard *c, const char *name, const char *idn)
{
	uint8_t stmt[WK_ANON_STMT_MAX];
	char code[33];
	size_t slen;
	json_t *r = NULL;
	long st;

	assert_int_equal(post(c->mgr, "/v1/anon/accounts", json_pack("{s:o, s:o}",
	    "bk", b64(c->bk_pk, 32), "attestation", attestation(c, WK_ANON_SLOT_BK,
	    c->bk_pk)), &r), 200);
	snprintf(c->acct, sizeof(c->acct), "%s", jstr(r, "account"));
	assert_true(wk_anon_account_ok(c->acct));
	assert_int_equal(wk_hex_decode(jstr(r, "kx_pub"), c->mgr_kx, 32), 32);
	assert_int_equal(wk_b64_unjson(json_object_get(r, "statement"), stmt,
	    sizeof(stmt), &slen), 0);
	json_decref(r);
	add_person(name, idn, code);
	st = post(&T.id, "/v1/anon/registrations", registration(c, code, stmt,
	    slen), &r);
	expect(st, &r, 200, NULL);
	assert_string_equal(jstr(r, "account"), c->acct);
	assert_int_equal(wk_hex_decode(jstr(r, "features"), c->features, 32), 32);
	json_decref(r);
}

static void
deposit(scard *c, int64_t amount)
{
	char a[32];
	iss_unlock u = { .key_file = T.id.key };
	iss_anon_cmd cmd = { .db = T.id.url, .u = &u, .account = c->acct,
	    .amount = a };

	snprintf(a, sizeof(a), "%lld", (long long)amount);
	assert_int_equal(iss_anon_admin("anon-deposit", &cmd), 0);
	T.issued += amount;
}

/* ---- payments, built as the card builds them ---- */

typedef struct payment {
	wk_anon_tx tx;
	uint8_t txinfo[WK_ANON_TXINFO_MAX];
	size_t txlen;
	uint8_t txid[32];
	char txid_hex[65];
	uint8_t txcred[64];
	uint8_t idcred[WK_ANON_IDCRED_LEN];
	uint8_t env[WK_ANON_ENV_MAX];
	size_t elen;
} payment;

/* txinfo, its txid, the credentials; counter 0: the card's next */
static void
build(scard *c, const char *payee, uint64_t amount, uint64_t counter,
    payment *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->tx.payer, sizeof(p->tx.payer), "%s", c->acct);
	snprintf(p->tx.payee, sizeof(p->tx.payee), "%s", payee);
	p->tx.amount = amount;
	p->tx.time = (uint64_t)time(NULL);
	p->tx.counter = counter != 0 ? counter : ++c->counter;
	randombytes_buf(p->tx.nonce, sizeof(p->tx.nonce));
	assert_int_equal(wk_anon_tx_encode(&p->tx, p->txinfo, sizeof(p->txinfo),
	    &p->txlen), WK_ANON_OK);
	wk_anon_txid(p->txinfo, p->txlen, p->txid);
	hex(p->txid, 32, p->txid_hex);
	crypto_sign_detached(p->txcred, NULL, p->txinfo, p->txlen, c->otk_sk);
	assert_int_equal(wk_anon_idcred_seal(p->txid, c->features, c->idk_sk,
	    T.id.a->kx_pk, p->idcred), WK_ANON_OK);
}

/* the request inside an envelope of card c's account and business key */
static void
seal_by(scard *c, payment *p)
{
	uint8_t plain[WK_ANON_REQ_PLAIN_MAX], key[32], nonce[24];
	size_t pl;

	assert_int_equal(wk_anon_req_encode(p->txinfo, p->txlen, p->txcred,
	    p->idcred, sizeof(p->idcred), plain, sizeof(plain), &pl), WK_ANON_OK);
	assert_int_equal(wk_anon_business_key(c->bk_sk, c->mgr_kx, c->bk_pk,
	    c->mgr_kx, key), WK_ANON_OK);
	randombytes_buf(nonce, sizeof(nonce));
	assert_int_equal(wk_anon_env_seal(WK_ANON_ENV_PAY, c->acct, key, nonce,
	    plain, pl, p->env, sizeof(p->env), &p->elen), WK_ANON_OK);
}

static long
submit(party *mgr, const payment *p, json_t **resp)
{
	return post(mgr, "/v1/anon/payments", json_pack("{s:o}", "envelope",
	    b64(p->env, p->elen)), resp);
}

/* a payment of c to payee through c's manager */
static long
pay(scard *c, const char *payee, uint64_t amount, payment *p, json_t **resp)
{
	build(c, payee, amount, 0, p);
	seal_by(c, p);
	return submit(c->mgr, p, resp);
}

/* the signed result in an answer: the authority's, this payment's */
static void
check_result(json_t *resp, const payment *p, uint8_t status, const char *why)
{
	uint8_t res[WK_ANON_RES_MAX];
	wk_anon_result r;
	size_t n;

	assert_int_equal(wk_b64_unjson(json_object_get(resp, "result"), res,
	    sizeof(res), &n), 0);
	assert_int_equal(wk_anon_result_verify(res, n, T.id.a->sign_pk, &r),
	    WK_ANON_OK);
	assert_memory_equal(r.txid, p->txid, 32);
	assert_int_equal(r.status, status);
	if (why != NULL && strstr(r.reason, why) == NULL)
		fprintf(stderr, "reason: %s (want %s)\n", r.reason, why);
	if (why != NULL)
		assert_non_null(strstr(r.reason, why));
	assert_string_equal(jstr(resp, "txid"), p->txid_hex);
	assert_string_equal(jstr(resp, "status"), wk_anon_status_name(status));
}

/* a payment the authority refused: 403 payment_refused at the payer's
 * manager with the signed refusal, its row refused at the manager and the
 * authority, nothing moved */
static void
refused_by_authority(long st, json_t **rp, const payment *p, const char *why,
    const char *before)
{
	json_t *resp = *rp;
	char *s;

	expect(st, rp, 403, "payment_refused");
	assert_non_null(strstr(jstr(resp, "message"), why));
	check_result(resp, p, WK_ANON_REFUSED, why);
	s = q_text(T.id.db, "SELECT status FROM anon_transfers WHERE txid = $1",
	    p->txid_hex);
	assert_string_equal(s, "refused");
	free(s);
	s = q_text(T.am1.db, "SELECT status FROM anon_payments WHERE txid = $1 AND"
	    " direction = 'out'", p->txid_hex);
	if (s != NULL)
		assert_string_equal(s, "refused");
	free(s);
	unchanged(before);
}

/* ---- fixtures ---- */

static int
group_setup(void **state)
{
	iss_anon_init in = { 0 };
	char apk[65], tmpl[200];
	const char *tmp = getenv("TMPDIR");

	(void)state;
	if (sodium_init() < 0)
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(&T, 0, sizeof(T));
	snprintf(tmpl, sizeof(tmpl), "%.150s/wk-iss-anon.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(T.dir, sizeof(T.dir), "%s", tmpl);
	snprintf(T.mfg_pem, sizeof(T.mfg_pem), "%s/mfg.pem", T.dir);
	if (sim_factory_init(T.mfg_pem) != 0 ||
	    party_url(&T.id, "identity") != 0 || party_url(&T.am1, "am1") != 0 ||
	    party_url(&T.am2, "am2") != 0)
		return -1;
	in.role = ISS_ROLE_IDENTITY;
	if (party_start(&T.id, &in) != 0)
		return -1;
	hex(T.id.a->sign_pk, 32, apk);
	in.role = ISS_ROLE_ACCOUNT;
	in.authority_url = T.id.base;
	in.authority_pubkey = apk;
	in.limit_payment = LIMIT;
	in.limit_daily = DAILY;
	in.manager_id = "am1";
	if (party_start(&T.am1, &in) != 0)
		return -1;
	in.manager_id = "am2";
	if (party_start(&T.am2, &in) != 0)
		return -1;
	crypto_sign_keypair(T.evil_pk, T.evil_sk);
	crypto_box_keypair(T.evil_kx_pk, T.evil_kx_sk);
	{
		char err[256];

		if (iss_server_start_with(evil_handler, NULL, "127.0.0.1:0", NULL,
		    NULL, &T.evil_srv, err, sizeof(err)) != 0)
			return -1;
		snprintf(T.evil_base, sizeof(T.evil_base), "http://127.0.0.1:%u",
		    (unsigned)iss_server_port(T.evil_srv));
	}
	if (add_manager("am1", T.am1.base, T.am1.a->sign_pk) != 0 ||
	    add_manager("am2", T.am2.base, T.am2.a->sign_pk) != 0 ||
	    add_manager("evil", T.evil_base, T.evil_pk) != 0)
		return -1;
	return sim_http_new(T.am1.base, &T.am1_http);
}

static int
group_teardown(void **state)
{
	char c[400];

	(void)state;
	sim_http_free(&T.am1_http);
	card_free(&T.c0);
	card_free(&T.c1);
	card_free(&T.c2);
	card_free(&T.shop);
	iss_server_stop(&T.evil_srv);
	party_stop(&T.am1);
	party_stop(&T.am2);
	party_stop(&T.id);
	sim_factory_free();
	snprintf(c, sizeof(c), "rm -rf '%s'", T.dir);
	if (system(c) != 0)
		fprintf(stderr, "teardown: cannot remove %s\n", T.dir);
	curl_global_cleanup();
	return 0;
}

/* ---- tests (in order: each builds on the state the others left) ---- */

static void
test_enrol(void **unused)
{
	uint8_t stmt[WK_ANON_STMT_MAX];
	size_t slen;

	(void)unused;
	card_new(&T.c0, &T.am1);
	card_new(&T.c1, &T.am2);
	card_new(&T.c2, &T.am1);
	card_enrol(&T.c0, "Zhang Wei Holder", "110101199003077777");
	card_enrol(&T.c1, "Li Na Holder", "310104198812128888");
	card_enrol(&T.c2, "Wang Fang Holder", "440101197501011234");
	deposit(&T.c0, DEPOSIT);
	deposit(&T.c1, DEPOSIT);
	deposit(&T.c2, DEPOSIT);
	/* the shop's account at the fake manager: its statement made here */
	card_new(&T.shop, NULL);
	snprintf(T.shop.acct, sizeof(T.shop.acct), "evil-00112233aabbccdd");
	assert_int_equal(wk_anon_stmt_sign(T.shop.acct, T.shop.id, T.shop.bk_pk,
	    T.evil_sk, stmt, sizeof(stmt), &slen), WK_ANON_OK);
	{
		char code[33];
		json_t *r = NULL;

		add_person("Shop Owner", "999", code);
		expect(post(&T.id, "/v1/anon/registrations", registration(&T.shop,
		    code, stmt, slen), &r), &r, 200, NULL);
		json_decref(r);
	}
	books_balance();
}

static void
test_pay(void **unused)
{
	json_t *r = NULL;
	payment p;
	char *s;
	long st;

	(void)unused;
	st = pay(&T.c0, T.c1.acct, 1234, &p, &r);
	expect(st, &r, 200, NULL);
	check_result(r, &p, WK_ANON_COMMITTED, NULL);
	assert_int_equal(json_integer_value(json_object_get(r, "balance")),
	    DEPOSIT - 1234);
	json_decref(r);
	assert_int_equal(balance_of(&T.c0), DEPOSIT - 1234);
	assert_int_equal(balance_of(&T.c1), DEPOSIT + 1234);
	books_balance();
	/* both managers closed their rows; the payee's holds an alias only */
	s = q_text(T.am1.db, "SELECT status FROM anon_payments WHERE txid = $1",
	    p.txid_hex);
	assert_string_equal(s, "committed");
	free(s);
	s = q_text(T.am2.db, "SELECT status FROM anon_payments WHERE txid = $1",
	    p.txid_hex);
	assert_string_equal(s, "committed");
	free(s);
	assert_int_equal(q_int(T.am2.db, "SELECT COUNT(*) FROM anon_payments"
	    " WHERE counterparty IS NOT NULL OR alias LIKE 'am1-%'", NULL), 0);
	/* through the real server too: the same, over HTTP */
	{
		json_t *req, *ans = NULL;

		build(&T.c0, T.c1.acct, 10, 0, &p);
		seal_by(&T.c0, &p);
		req = json_pack("{s:o}", "envelope", b64(p.env, p.elen));
		assert_int_equal(sim_http_call(T.am1_http, "/v1/anon/payments", req,
		    &ans), 200);
		check_result(ans, &p, WK_ANON_COMMITTED, NULL);
		json_decref(req);
		json_decref(ans);
	}
}

/* a bad transaction credential: flipped, another account's, another
 * payment's; each refused by the authority, nothing moved */
static void
test_bad_txcred(void **unused)
{
	char *before = ledger();
	json_t *r = NULL;
	payment p, q;

	(void)unused;
	build(&T.c0, T.c1.acct, 100, 0, &p);
	p.txcred[10] ^= 0x01;
	seal_by(&T.c0, &p);
	refused_by_authority(submit(&T.am1, &p, &r), &r, &p,
	    "bad transaction credential", before);
	json_decref(r);
	/* signed by another account's online-transaction key (c2, the same
	 * manager's: the envelope opens, the counter is fresh) */
	build(&T.c0, T.c1.acct, 100, 0, &p);
	crypto_sign_detached(p.txcred, NULL, p.txinfo, p.txlen, T.c2.otk_sk);
	seal_by(&T.c0, &p);
	refused_by_authority(submit(&T.am1, &p, &r), &r, &p,
	    "bad transaction credential", before);
	json_decref(r);
	/* signed with the identity key instead */
	build(&T.c0, T.c1.acct, 100, 0, &p);
	crypto_sign_detached(p.txcred, NULL, p.txinfo, p.txlen, T.c0.idk_sk);
	seal_by(&T.c0, &p);
	refused_by_authority(submit(&T.am1, &p, &r), &r, &p,
	    "bad transaction credential", before);
	json_decref(r);
	/* the genuine credential of another payment (a smaller amount) */
	build(&T.c0, T.c1.acct, 1, 0, &q);
	build(&T.c0, T.c1.acct, 15000, 0, &p);
	memcpy(p.txcred, q.txcred, 64);
	seal_by(&T.c0, &p);
	refused_by_authority(submit(&T.am1, &p, &r), &r, &p,
	    "bad transaction credential", before);
	json_decref(r);
	free(before);
}

/* a bad identity credential: flipped, sealed to another key, signed by
 * another account's identity key, another person's features, another
 * payment's credential; each refused by the authority */
static void
test_bad_idcred(void **unused)
{
	char *before = ledger();
	uint8_t other_pk[32], other_sk[32];
	json_t *r = NULL;
	payment p, q;

	(void)unused;
	build(&T.c0, T.c1.acct, 100, 0, &p);
	p.idcred[70] ^= 0x20;
	seal_by(&T.c0, &p);
	refused_by_authority(submit(&T.am1, &p, &r), &r, &p,
	    "bad identity credential", before);
	json_decref(r);
	/* sealed to a key that is not the authority's (the manager's) */
	build(&T.c0, T.c1.acct, 100, 0, &p);
	assert_int_equal(wk_anon_idcred_seal(p.txid, T.c0.features, T.c0.idk_sk,
	    T.c0.mgr_kx, p.idcred), WK_ANON_OK);
	seal_by(&T.c0, &p);
	refused_by_authority(submit(&T.am1, &p, &r), &r, &p,
	    "bad identity credential", before);
	json_decref(r);
	crypto_box_keypair(other_pk, other_sk);
	build(&T.c0, T.c1.acct, 100, 0, &p);
	assert_int_equal(wk_anon_idcred_seal(p.txid, T.c0.features, T.c0.idk_sk,
	    other_pk, p.idcred), WK_ANON_OK);
	seal_by(&T.c0, &p);
	refused_by_authority(submit(&T.am1, &p, &r), &r, &p,
	    "bad identity credential", before);
	json_decref(r);
	/* another account's identity: c2's key and person */
	build(&T.c0, T.c1.acct, 100, 0, &p);
	assert_int_equal(wk_anon_idcred_seal(p.txid, T.c2.features, T.c2.idk_sk,
	    T.id.a->kx_pk, p.idcred), WK_ANON_OK);
	seal_by(&T.c0, &p);
	refused_by_authority(submit(&T.am1, &p, &r), &r, &p,
	    "bad identity credential", before);
	json_decref(r);
	/* the holder's identity key over another person's features */
	build(&T.c0, T.c1.acct, 100, 0, &p);
	assert_int_equal(wk_anon_idcred_seal(p.txid, T.c2.features, T.c0.idk_sk,
	    T.id.a->kx_pk, p.idcred), WK_ANON_OK);
	seal_by(&T.c0, &p);
	refused_by_authority(submit(&T.am1, &p, &r), &r, &p,
	    "not the account holder's", before);
	json_decref(r);
	/* the genuine identity credential of another payment */
	build(&T.c0, T.c1.acct, 100, 0, &q);
	build(&T.c0, T.c1.acct, 100, 0, &p);
	memcpy(p.idcred, q.idcred, sizeof(p.idcred));
	seal_by(&T.c0, &p);
	refused_by_authority(submit(&T.am1, &p, &r), &r, &p,
	    "bad identity credential", before);
	json_decref(r);
	free(before);
}

/* another account's request: through another manager, re-encrypted for
 * another manager, and as a peer request of another manager */
static void
test_other_account(void **unused)
{
	char *before = ledger();
	int64_t ctr1 = q_int(T.am2.db, "SELECT last_counter FROM anon_accounts"
	    " WHERE account = $1", T.c1.acct);
	json_t *r = NULL, *ans = NULL;
	iss_err e = { 0 };
	payment p;
	long st;

	(void)unused;
	/* c0's envelope sent to am2: not one of its accounts */
	build(&T.c0, T.c2.acct, 100, 0, &p);
	seal_by(&T.c0, &p);
	expect(submit(&T.am2, &p, &r), &r, 404, "unknown_account");
	json_decref(r);
	/* c0's genuine request (payer c0) re-encrypted under c1's business
	 * key for c1's account at am2 (a colluding holder of c1): it opens,
	 * but it pays from an account that is not this envelope's */
	seal_by(&T.c1, &p);
	expect(submit(&T.am2, &p, &r), &r, 400, "bad_request");
	json_decref(r);
	/* c0's envelope with c1's account written in its header: the header
	 * is authenticated, and c1's key does not open it */
	seal_by(&T.c0, &p);
	memcpy(p.env + 14, T.c1.acct, strlen(T.c1.acct));
	expect(submit(&T.am2, &p, &r), &r, 400, "bad_envelope");
	json_decref(r);
	/* neither spent c1's counter at am2 */
	assert_int_equal(q_int(T.am2.db, "SELECT last_counter FROM anon_accounts"
	    " WHERE account = $1", T.c1.acct), ctr1);
	/* a request paying from c0 inside c1's own envelope, signed with
	 * c0's key: the authority checks c1's key and refuses */
	build(&T.c1, T.c2.acct, 100, 0, &p);
	crypto_sign_detached(p.txcred, NULL, p.txinfo, p.txlen, T.c0.otk_sk);
	seal_by(&T.c1, &p);
	st = submit(&T.am2, &p, &r);
	expect(st, &r, 403, "payment_refused");
	check_result(r, &p, WK_ANON_REFUSED, "bad transaction credential");
	json_decref(r);
	/* am2, a genuine peer of the authority, forwards c0's genuine
	 * credentials: the authority takes transfers only from the payer's
	 * own manager */
	build(&T.c0, T.c1.acct, 100, 0, &p);
	assert_int_not_equal(iss_anon_peer_call(T.am2.a, T.id.base,
	    "/v1/anon/peer/transfer", T.id.a->sign_pk, json_pack("{s:o, s:o, s:o,"
	    " s:s}", "txinfo", b64(p.txinfo, p.txlen), "txcred", b64(p.txcred, 64),
	    "idcred", b64(p.idcred, sizeof(p.idcred)), "alias",
	    "0123456789abcdef0123456789abcdef"), &ans, &e), 0);
	assert_int_equal(e.status, 403);
	assert_non_null(strstr(e.message, "does not manage"));
	json_decref(ans);
	assert_null(q_text(T.id.db, "SELECT status FROM anon_transfers WHERE txid"
	    " = $1", p.txid_hex));
	unchanged(before);
	free(before);
}

/* replays: of an envelope at the manager, of a committed transfer at the
 * authority, of a counter at the authority */
static void
test_replay(void **unused)
{
	char *before;
	json_t *r = NULL, *ans = NULL, *body;
	iss_err e = { 0 };
	payment p, q;

	(void)unused;
	assert_int_equal(pay(&T.c0, T.c1.acct, 200, &p, &r), 200);
	json_decref(r);
	before = ledger();
	/* the same envelope again */
	expect(submit(&T.am1, &p, &r), &r, 409, "replay");
	json_decref(r);
	/* the same transfer again, straight from the payer's manager: the
	 * stored answer, not a second move */
	body = json_pack("{s:o, s:o, s:o, s:s}", "txinfo", b64(p.txinfo, p.txlen),
	    "txcred", b64(p.txcred, 64), "idcred", b64(p.idcred,
	    sizeof(p.idcred)), "alias", "0123456789abcdef0123456789abcdef");
	assert_int_equal(iss_anon_peer_call(T.am1.a, T.id.base,
	    "/v1/anon/peer/transfer", T.id.a->sign_pk, body, &ans, &e), 0);
	check_result(ans, &p, WK_ANON_COMMITTED, NULL);
	json_decref(ans);
	unchanged(before);
	/* a fresh payment with a used counter, every credential genuine (a
	 * manager that skipped its own counter check): the authority's
	 * counter refuses it */
	build(&T.c0, T.c1.acct, 300, p.tx.counter, &q);
	body = json_pack("{s:o, s:o, s:o, s:s}", "txinfo", b64(q.txinfo, q.txlen),
	    "txcred", b64(q.txcred, 64), "idcred", b64(q.idcred,
	    sizeof(q.idcred)), "alias", "0123456789abcdef0123456789abcdef");
	assert_int_equal(iss_anon_peer_call(T.am1.a, T.id.base,
	    "/v1/anon/peer/transfer", T.id.a->sign_pk, body, &ans, &e), 0);
	check_result(ans, &q, WK_ANON_REFUSED, "replayed request");
	json_decref(ans);
	unchanged(before);
	/* the manager refuses it first, with the counter it spent */
	seal_by(&T.c0, &q);
	expect(submit(&T.am1, &q, &r), &r, 409, "replay");
	json_decref(r);
	unchanged(before);
	free(before);
}

/* the peers' signatures: a forged, unknown, re-pathed or altered peer
 * request gets 403 and changes nothing */
static void
test_peer_signatures(void **unused)
{
	char *before = ledger();
	static const char *const body = "{\"txid\":\"00000000000000000000000000"
	    "00000000000000000000000000000000000000\"}";
	char sig[128];
	uint8_t s[64];
	json_t *r = NULL;
	size_t n;

	(void)unused;
	memset(s, 0, sizeof(s));
	sodium_bin2base64(sig, sizeof(sig), s, 64, sodium_base64_VARIANT_ORIGINAL);
	expect(post(&T.id, "/v1/anon/peer/status", json_pack("{s:s, s:s, s:s}",
	    "from", "am1", "body", body, "sig", sig), &r), &r, 403, "bad_signature");
	json_decref(r);
	expect(post(&T.id, "/v1/anon/peer/status", json_pack("{s:s, s:s, s:s}",
	    "from", "am9", "body", body, "sig", sig), &r), &r, 403, "bad_signature");
	json_decref(r);
	/* signed by am1 for another path, or over another body */
	{
		char tbs[512];

		n = (size_t)snprintf(tbs, sizeof(tbs), "%s\nrequest\nam1\n%s\n%s",
		    WK_ANON_PEER_MAGIC, "/v1/anon/peer/balance", body);
		crypto_sign_detached(s, NULL, (const uint8_t *)tbs, n,
		    T.am1.a->sign_sk);
		sodium_bin2base64(sig, sizeof(sig), s, 64,
		    sodium_base64_VARIANT_ORIGINAL);
		expect(post(&T.id, "/v1/anon/peer/status", json_pack("{s:s, s:s,"
		    " s:s}", "from", "am1", "body", body, "sig", sig), &r), &r, 403,
		    "bad_signature");
		json_decref(r);
		n = (size_t)snprintf(tbs, sizeof(tbs), "%s\nrequest\nam1\n%s\n%s",
		    WK_ANON_PEER_MAGIC, "/v1/anon/peer/status", body);
		crypto_sign_detached(s, NULL, (const uint8_t *)tbs, n,
		    T.am1.a->sign_sk);
		sodium_bin2base64(sig, sizeof(sig), s, 64,
		    sodium_base64_VARIANT_ORIGINAL);
		expect(post(&T.id, "/v1/anon/peer/status", json_pack("{s:s, s:s,"
		    " s:s}", "from", "am1", "body", "{\"txid\":\"11\"}", "sig", sig),
		    &r), &r, 403, "bad_signature");
		json_decref(r);
		/* the authority's own key is no manager's */
		expect(post(&T.am1, "/v1/anon/peer/check-payee", json_pack("{s:s,"
		    " s:s, s:s}", "from", "am2", "body", body, "sig", sig), &r), &r,
		    403, "bad_signature");
		json_decref(r);
		expect(post(&T.am1, "/v1/anon/peer/notify", json_pack("{s:s, s:s,"
		    " s:s}", "from", "identity", "body", body, "sig", sig), &r), &r,
		    403, "bad_signature");
		json_decref(r);
	}
	/* malformed peer requests */
	expect(post(&T.id, "/v1/anon/peer/transfer", json_pack("{s:s}", "from",
	    "am1"), &r), &r, 400, "bad_request");
	json_decref(r);
	expect(post(&T.id, "/v1/anon/peer/transfer", json_pack("{s:i, s:s, s:s}",
	    "from", 1, "body", body, "sig", sig), &r), &r, 400, "bad_request");
	json_decref(r);
	unchanged(before);
	free(before);
}

/* status and balance are a manager's own accounts' only */
static void
test_other_manager_queries(void **unused)
{
	char *before;
	json_t *r = NULL, *ans = NULL;
	iss_err e = { 0 };
	payment p;

	(void)unused;
	assert_int_equal(pay(&T.c2, T.c0.acct, 50, &p, &r), 200);
	json_decref(r);
	before = ledger();
	/* am2 is neither the payer's nor the payee's manager */
	assert_int_not_equal(iss_anon_peer_call(T.am2.a, T.id.base,
	    "/v1/anon/peer/status", T.id.a->sign_pk, json_pack("{s:s}", "txid",
	    p.txid_hex), &ans, &e), 0);
	assert_int_equal(e.status, 403);
	json_decref(ans);
	assert_int_not_equal(iss_anon_peer_call(T.am2.a, T.id.base,
	    "/v1/anon/peer/balance", T.id.a->sign_pk, json_pack("{s:s}", "account",
	    T.c0.acct), &ans, &e), 0);
	assert_int_equal(e.status, 403);
	json_decref(ans);
	/* a malformed status: 400 */
	expect(post(&T.am1, "/v1/anon/status", json_pack("{s:s}", "txid", "xyz"),
	    &r), &r, 400, "bad_request");
	json_decref(r);
	unchanged(before);
	free(before);
}

/* the refusals at each party, each a 4xx with a message, nothing moved */
static void
test_refusals(void **unused)
{
	char *before = ledger();
	json_t *r = NULL;
	payment p;
	long st;

	(void)unused;
	/* the payer's manager: frozen, over the limit */
	assert_int_equal(iss_db_exec(T.am1.db, "UPDATE anon_accounts SET state ="
	    " 'frozen' WHERE account = $1", (iss_param[]){ ISS_PS(T.c0.acct) }, 1,
	    NULL), ISS_DB_OK);
	expect(pay(&T.c0, T.c1.acct, 10, &p, &r), &r, 403, "account_frozen");
	json_decref(r);
	assert_int_equal(iss_db_exec(T.am1.db, "UPDATE anon_accounts SET state ="
	    " 'open' WHERE account = $1", (iss_param[]){ ISS_PS(T.c0.acct) }, 1,
	    NULL), ISS_DB_OK);
	expect(pay(&T.c0, T.c1.acct, LIMIT + 1, &p, &r), &r, 403,
	    "limit_exceeded");
	json_decref(r);
	unchanged(before);
	/* the authority: more than the balance (the manager's limits lifted
	 * so that the authority is the one to see it) */
	assert_int_equal(iss_db_exec(T.am2.db, "UPDATE anon_accounts SET"
	    " limit_payment = 100000000, limit_daily = 100000000 WHERE account ="
	    " $1", (iss_param[]){ ISS_PS(T.c1.acct) }, 1, NULL), ISS_DB_OK);
	st = pay(&T.c1, T.c2.acct, (uint64_t)balance_of(&T.c1) + 1, &p, &r);
	expect(st, &r, 403, "payment_refused");
	check_result(r, &p, WK_ANON_REFUSED, "insufficient funds");
	json_decref(r);
	/* an unknown payee, at a known manager and at an unknown one */
	st = pay(&T.c0, "am2-0123456789abcdef", 10, &p, &r);
	expect(st, &r, 403, "payment_refused");
	check_result(r, &p, WK_ANON_REFUSED, "unknown payee");
	json_decref(r);
	st = pay(&T.c0, "am7-0123456789abcdef", 10, &p, &r);
	expect(st, &r, 403, "payment_refused");
	check_result(r, &p, WK_ANON_REFUSED, "unknown payee");
	json_decref(r);
	/* the payee's manager: a frozen payee */
	assert_int_equal(iss_db_exec(T.am2.db, "UPDATE anon_accounts SET state ="
	    " 'frozen' WHERE account = $1", (iss_param[]){ ISS_PS(T.c1.acct) }, 1,
	    NULL), ISS_DB_OK);
	st = pay(&T.c0, T.c1.acct, 10, &p, &r);
	expect(st, &r, 403, "payment_refused");
	check_result(r, &p, WK_ANON_REFUSED, "payee");
	json_decref(r);
	assert_int_equal(iss_db_exec(T.am2.db, "UPDATE anon_accounts SET state ="
	    " 'open' WHERE account = $1", (iss_param[]){ ISS_PS(T.c1.acct) }, 1,
	    NULL), ISS_DB_OK);
	unchanged(before);
	free(before);
}

/* the payee's manager answers a refusal with bytes a result may not
 * carry: the signed refusal still parses, so the card can settle */
static void
test_payee_message(void **unused)
{
	char *before = ledger();
	json_t *r = NULL;
	payment p;
	long st;

	(void)unused;
	st = pay(&T.c0, T.shop.acct, 10, &p, &r);
	expect(st, &r, 403, "payment_refused");
	check_result(r, &p, WK_ANON_REFUSED, "payee: frozen");
	json_decref(r);
	unchanged(before);
	free(before);
}

/* malformed envelopes and requests at the manager, and the routes */
static void
test_malformed(void **unused)
{
	char *before = ledger();
	char big[ISS_MAX_BODY + 2];
	uint8_t key[32], nonce[24], q[WK_ANON_QUERY_LEN], n16[16];
	json_t *r = NULL;
	iss_err e = { 0 };
	payment p;
	size_t n;

	(void)unused;
	/* a flipped byte of the envelope, its tag, its nonce */
	build(&T.c0, T.c1.acct, 10, 0, &p);
	seal_by(&T.c0, &p);
	for (size_t i = 40; i < p.elen; i += 97) {
		p.env[i] ^= 1;
		expect(submit(&T.am1, &p, &r), &r, 400, "bad_envelope");
		json_decref(r);
		p.env[i] ^= 1;
	}
	/* truncated, not base64, not an envelope, empty, a query envelope */
	p.elen -= 1;
	expect(submit(&T.am1, &p, &r), &r, 400, "bad_envelope");
	json_decref(r);
	expect(post(&T.am1, "/v1/anon/payments", json_pack("{s:s}", "envelope",
	    "!!!"), &r), &r, 400, "bad_envelope");
	json_decref(r);
	expect(post(&T.am1, "/v1/anon/payments", json_pack("{s:s}", "envelope",
	    "AAAA"), &r), &r, 400, "bad_envelope");
	json_decref(r);
	expect(post(&T.am1, "/v1/anon/payments", json_pack("{}"), &r), &r, 400,
	    "bad_envelope");
	json_decref(r);
	expect(post(&T.am1, "/v1/anon/payments", json_pack("{s:i}", "envelope", 5),
	    &r), &r, 400, "bad_envelope");
	json_decref(r);
	randombytes_buf(n16, 16);
	wk_anon_query_encode((uint64_t)time(NULL), n16, q);
	assert_int_equal(wk_anon_business_key(T.c0.bk_sk, T.c0.mgr_kx,
	    T.c0.bk_pk, T.c0.mgr_kx, key), WK_ANON_OK);
	randombytes_buf(nonce, sizeof(nonce));
	assert_int_equal(wk_anon_env_seal(WK_ANON_ENV_QUERY, T.c0.acct, key, nonce,
	    q, sizeof(q), p.env, sizeof(p.env), &n), WK_ANON_OK);
	p.elen = n;
	expect(submit(&T.am1, &p, &r), &r, 400, "bad_envelope");
	json_decref(r);
	/* a payment envelope whose content is no request */
	assert_int_equal(wk_anon_env_seal(WK_ANON_ENV_PAY, T.c0.acct, key, nonce,
	    q, sizeof(q), p.env, sizeof(p.env), &n), WK_ANON_OK);
	p.elen = n;
	expect(submit(&T.am1, &p, &r), &r, 400, "bad_request");
	json_decref(r);
	/* the HTTP layer: bad JSON, not an object, a large body, routes */
	{
		static const char *const bodies[] = { "{", "[1]", "\"x\"",
		    "{\"a\":1,\"a\":2}" };

		for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
			memset(&e, 0, sizeof(e));
			assert_int_not_equal(iss_anon_handle(T.am1.a, "POST",
			    "/v1/anon/payments", bodies[i], strlen(bodies[i]), &r, &e),
			    0);
			assert_int_equal(e.status, 400);
			json_decref(r);
		}
	}
	memset(big, ' ', sizeof(big));
	assert_int_not_equal(iss_anon_handle(T.am1.a, "POST", "/v1/anon/payments",
	    big, sizeof(big), &r, &e), 0);
	assert_int_equal(e.status, 413);
	json_decref(r);
	expect(handle(&T.am1, "GET", "/v1/anon/payments", NULL, &r), &r, 405,
	    "method_not_allowed");
	json_decref(r);
	expect(post(&T.am1, "/v1/anon/registrations", json_pack("{}"), &r), &r, 404,
	    "not_found");
	json_decref(r);
	expect(post(&T.id, "/v1/anon/payments", json_pack("{}"), &r), &r, 404,
	    "not_found");
	json_decref(r);
	expect(post(&T.id, "/v1/anon/peer/nothing", json_pack("{}"), &r), &r, 400,
	    "bad_request");
	json_decref(r);
	expect(handle(&T.id, "GET", "/v1/anon/keys", NULL, &r), &r, 200, NULL);
	assert_string_equal(jstr(r, "role"), "identity");
	json_decref(r);
	unchanged(before);
	free(before);
}

/* registrations and account openings that must not go through */
static void
test_registration_refusals(void **unused)
{
	uint8_t stmt[WK_ANON_STMT_MAX], opk[32], osk[64];
	char code[33];
	int64_t accounts = q_int(T.id.db, "SELECT COUNT(*) FROM anon_accounts",
	    NULL);
	int64_t managed = q_int(T.am1.db, "SELECT COUNT(*) FROM anon_accounts",
	    NULL);
	json_t *r = NULL, *req;
	scard c, other;
	size_t slen;

	(void)unused;
	card_new(&c, &T.am1);
	card_new(&other, &T.am1);
	/* a manager's statement the test makes: its account and this card */
	crypto_sign_keypair(opk, osk);
	snprintf(c.acct, sizeof(c.acct), "am1-0000000000000001");
	add_person("Someone Else", "123456789", code);
	/* signed by a key that is not am1's */
	assert_int_equal(wk_anon_stmt_sign(c.acct, c.id, c.bk_pk, osk, stmt,
	    sizeof(stmt), &slen), WK_ANON_OK);
	expect(post(&T.id, "/v1/anon/registrations", registration(&c, code, stmt,
	    slen), &r), &r, 403, "bad_statement");
	json_decref(r);
	/* a manager the authority does not know */
	assert_int_equal(wk_anon_stmt_sign("am7-0000000000000001", c.id, c.bk_pk,
	    osk, stmt, sizeof(stmt), &slen), WK_ANON_OK);
	expect(post(&T.id, "/v1/anon/registrations", registration(&c, code, stmt,
	    slen), &r), &r, 403, "unknown_manager");
	json_decref(r);
	/* a genuine statement (the test plays am1 with its key), keys
	 * attested by another card */
	assert_int_equal(wk_anon_stmt_sign(c.acct, c.id, c.bk_pk,
	    T.am1.a->sign_sk, stmt, sizeof(stmt), &slen), WK_ANON_OK);
	req = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "code", code,
	    "statement", b64(stmt, slen), "otk", b64(c.otk_pk, 32), "idk",
	    b64(c.idk_pk, 32), "attestation_otk", attestation(&other,
	    WK_ANON_SLOT_OTK, c.otk_pk), "attestation_idk", attestation(&c,
	    WK_ANON_SLOT_IDK, c.idk_pk));
	expect(post(&T.id, "/v1/anon/registrations", req, &r), &r, 403,
	    "bad_attestation");
	json_decref(r);
	/* the identity key attested as the online-transaction key */
	req = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "code", code,
	    "statement", b64(stmt, slen), "otk", b64(c.otk_pk, 32), "idk",
	    b64(c.idk_pk, 32), "attestation_otk", attestation(&c,
	    WK_ANON_SLOT_OTK, c.otk_pk), "attestation_idk", attestation(&c,
	    WK_ANON_SLOT_OTK, c.idk_pk));
	expect(post(&T.id, "/v1/anon/registrations", req, &r), &r, 403,
	    "bad_attestation");
	json_decref(r);
	/* a code nobody was given; a code used already (c0's) */
	expect(post(&T.id, "/v1/anon/registrations", registration(&c,
	    "00000000000000000000000000000000", stmt, slen), &r), &r, 403,
	    "bad_code");
	json_decref(r);
	/* keys registered already: c0's own keys under a new account */
	{
		char code2[33];

		add_person("Third Person", "555", code2);
		assert_int_equal(wk_anon_stmt_sign("am1-0000000000000002", T.c0.id,
		    T.c0.bk_pk, T.am1.a->sign_sk, stmt, sizeof(stmt), &slen),
		    WK_ANON_OK);
		expect(post(&T.id, "/v1/anon/registrations", registration(&T.c0,
		    code2, stmt, slen), &r), &r, 409, "already_registered");
		json_decref(r);
	}
	/* malformed */
	expect(post(&T.id, "/v1/anon/registrations", json_pack("{s:s}", "code",
	    code), &r), &r, 400, "bad_request");
	json_decref(r);
	assert_int_equal(q_int(T.id.db, "SELECT COUNT(*) FROM anon_accounts", NULL),
	    accounts);
	/* an account for a key no genuine card attests: a self-signed device
	 * certificate, another slot, a missing chain */
	{
		uint8_t serial[WK_ATTEST_SERIAL_LEN];
		X509 *self = NULL;

		randombytes_buf(serial, sizeof(serial));
		assert_int_equal(wk_attest_device_new(c.f9, c.id, NULL, NULL, 3650,
		    serial, &self), WK_ATTEST_OK);
		X509_free(c.dev);
		c.dev = self;
	}
	expect(post(&T.am1, "/v1/anon/accounts", json_pack("{s:o, s:o}", "bk",
	    b64(c.bk_pk, 32), "attestation", attestation(&c, WK_ANON_SLOT_BK,
	    c.bk_pk)), &r), &r, 403, "bad_attestation");
	json_decref(r);
	expect(post(&T.am1, "/v1/anon/accounts", json_pack("{s:o, s:o}", "bk",
	    b64(other.bk_pk, 32), "attestation", attestation(&other,
	    WK_ANON_SLOT_OTK, other.bk_pk)), &r), &r, 403, "bad_attestation");
	json_decref(r);
	expect(post(&T.am1, "/v1/anon/accounts", json_pack("{s:o}", "bk",
	    b64(other.bk_pk, 32)), &r), &r, 400, "bad_attestation");
	json_decref(r);
	expect(post(&T.am1, "/v1/anon/accounts", json_pack("{s:s}", "bk", "AAAA"),
	    &r), &r, 400, "bad_request");
	json_decref(r);
	assert_int_equal(q_int(T.am1.db, "SELECT COUNT(*) FROM anon_accounts",
	    NULL), managed);
	card_free(&c);
	card_free(&other);
}

/* history queries: stale, replayed, of another kind */
static void
test_history(void **unused)
{
	uint8_t key[32], nonce[24], q[WK_ANON_QUERY_LEN], n16[16];
	uint8_t env[WK_ANON_ENV_MAX];
	json_t *r = NULL;
	payment p;
	size_t n;

	(void)unused;
	assert_int_equal(wk_anon_business_key(T.c0.bk_sk, T.c0.mgr_kx,
	    T.c0.bk_pk, T.c0.mgr_kx, key), WK_ANON_OK);
	randombytes_buf(n16, 16);
	randombytes_buf(nonce, sizeof(nonce));
	wk_anon_query_encode((uint64_t)time(NULL), n16, q);
	assert_int_equal(wk_anon_env_seal(WK_ANON_ENV_QUERY, T.c0.acct, key, nonce,
	    q, sizeof(q), env, sizeof(env), &n), WK_ANON_OK);
	expect(post(&T.am1, "/v1/anon/history", json_pack("{s:o}", "envelope",
	    b64(env, n)), &r), &r, 200, NULL);
	assert_string_equal(jstr(r, "account"), T.c0.acct);
	assert_true(json_array_size(json_object_get(r, "payments")) > 0);
	json_decref(r);
	expect(post(&T.am1, "/v1/anon/history", json_pack("{s:o}", "envelope",
	    b64(env, n)), &r), &r, 409, "replay");
	json_decref(r);
	randombytes_buf(n16, 16);
	wk_anon_query_encode((uint64_t)time(NULL) - 3600, n16, q);
	assert_int_equal(wk_anon_env_seal(WK_ANON_ENV_QUERY, T.c0.acct, key, nonce,
	    q, sizeof(q), env, sizeof(env), &n), WK_ANON_OK);
	expect(post(&T.am1, "/v1/anon/history", json_pack("{s:o}", "envelope",
	    b64(env, n)), &r), &r, 403, "stale_query");
	json_decref(r);
	/* a payment envelope is no query */
	build(&T.c0, T.c1.acct, 10, 0, &p);
	seal_by(&T.c0, &p);
	expect(post(&T.am1, "/v1/anon/history", json_pack("{s:o}", "envelope",
	    b64(p.env, p.elen)), &r), &r, 400, "bad_envelope");
	json_decref(r);
	/* c2's query under c0's account header */
	randombytes_buf(n16, 16);
	wk_anon_query_encode((uint64_t)time(NULL), n16, q);
	assert_int_equal(wk_anon_business_key(T.c2.bk_sk, T.c2.mgr_kx,
	    T.c2.bk_pk, T.c2.mgr_kx, key), WK_ANON_OK);
	assert_int_equal(wk_anon_env_seal(WK_ANON_ENV_QUERY, T.c0.acct, key, nonce,
	    q, sizeof(q), env, sizeof(env), &n), WK_ANON_OK);
	expect(post(&T.am1, "/v1/anon/history", json_pack("{s:o}", "envelope",
	    b64(env, n)), &r), &r, 400, "bad_envelope");
	json_decref(r);
}

/* over HTTP, a refusal's body carries the signed result */
static void
test_http_refusal_body(void **unused)
{
	char *before = ledger();
	json_t *req, *ans = NULL;
	payment p;

	(void)unused;
	build(&T.c0, T.c1.acct, 10, 0, &p);
	p.txcred[0] ^= 1;
	seal_by(&T.c0, &p);
	req = json_pack("{s:o}", "envelope", b64(p.env, p.elen));
	assert_int_equal(sim_http_call(T.am1_http, "/v1/anon/payments", req, &ans),
	    403);
	assert_string_equal(jstr(ans, "error"), "payment_refused");
	assert_non_null(strstr(jstr(ans, "message"), "bad transaction credential"));
	check_result(ans, &p, WK_ANON_REFUSED, "bad transaction credential");
	json_decref(req);
	json_decref(ans);
	/* and a plain refusal has {error, message} */
	req = json_pack("{s:s}", "envelope", "AAAA");
	assert_int_equal(sim_http_call(T.am1_http, "/v1/anon/payments", req, &ans),
	    400);
	assert_string_equal(jstr(ans, "error"), "bad_envelope");
	assert_null(json_object_get(ans, "result"));
	json_decref(req);
	json_decref(ans);
	unchanged(before);
	free(before);
}

/* an operator cannot erase the trace of what the roles did: the oplog of
 * every party and the authority's ledger entries refuse UPDATE and DELETE
 * (triggers, both engines) */
static void
test_append_only(void **unused)
{
	static const char *const stmts[] = {
		"UPDATE anon_oplog SET kind = 'nothing'",
		"DELETE FROM anon_oplog",
		"UPDATE anon_entries SET amount = 0",
		"DELETE FROM anon_entries",
	};
	party *ps[] = { &T.id, &T.am1, &T.am2 };
	char *before = ledger();
	int64_t n;

	(void)unused;
	for (size_t i = 0; i < 3; i++) {
		n = q_int(ps[i]->db, "SELECT COUNT(*) FROM anon_oplog", NULL);
		assert_true(n > 0);
		for (size_t k = 0; k < (i == 0 ? 4u : 2u); k++)
			assert_int_not_equal(iss_db_exec(ps[i]->db, stmts[k], NULL, 0,
			    NULL), ISS_DB_OK);
		assert_int_equal(q_int(ps[i]->db, "SELECT COUNT(*) FROM anon_oplog",
		    NULL), n);
	}
	unchanged(before);
	free(before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enrol),
		cmocka_unit_test(test_pay),
		cmocka_unit_test(test_bad_txcred),
		cmocka_unit_test(test_bad_idcred),
		cmocka_unit_test(test_other_account),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_peer_signatures),
		cmocka_unit_test(test_other_manager_queries),
		cmocka_unit_test(test_payee_message),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_registration_refusals),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_http_refusal_body),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_append_only),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
