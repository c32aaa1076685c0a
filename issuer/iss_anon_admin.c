/*
 * the operators' commands of the semi-anonymous roles: people and peers,
 * deposits, account states, lists, the books' check, and the lawful reveal
 * (docs/semi-anonymous.md "The lawful reveal").
 */
#include "iss_anon.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "wk_hex.h"

#define ORDER_FORMAT "walletkey-reveal-order/1"

static int
open_db(const iss_anon_cmd *c, iss_db **db, enum iss_role want)
{
	char err[512];
	enum iss_role role;

	if (iss_db_open(c->db, db, err, sizeof(err)) != ISS_DB_OK) {
		fprintf(stderr, "walletkey-issuer: %s\n", err);
		return 1;
	}
	if (iss_anon_db_role(*db, &role) != 0 || role != want) {
		fprintf(stderr, "walletkey-issuer: this command is the %s's; %s is"
		    " a%s %s database\n", want == ISS_ROLE_IDENTITY ?
		    "identity authority" : "account manager", c->db,
		    role == ISS_ROLE_IDENTITY ? "n identity authority's" :
		    role == ISS_ROLE_ACCOUNT ? "n account manager's" : " bank",
		    role == ISS_ROLE_BANK ? "issuer" : "");
		iss_db_free(db);
		return 2;
	}
	return 0;
}

static int
oplog(iss_db *db, const char *kind, const char *txid, const char *account,
    const char *case_id, int64_t amount, const char *detail)
{
	char now[40];

	iss_now_iso(now, sizeof(now));
	return iss_db_exec(db, "INSERT INTO anon_oplog (at, kind, txid, account,"
	    " case_id, amount, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	    (iss_param[]){ ISS_PS(now), ISS_PS(kind), txid ? ISS_PS(txid) : ISS_PN,
	    account ? ISS_PS(account) : ISS_PN, case_id ? ISS_PS(case_id) : ISS_PN,
	    amount >= 0 ? ISS_PI(amount) : ISS_PN, detail ? ISS_PS(detail) :
	    ISS_PN }, 7, NULL);
}

static bool
parse_amount(const char *s, int64_t *v)
{
	char *end;
	long long x;

	if (s == NULL || *s == '\0' || *s == '-')
		return false;
	x = strtoll(s, &end, 10);
	if (*end != '\0' || x <= 0 || x > (long long)WK_ANON_AMOUNT_MAX)
		return false;
	*v = x;
	return true;
}

static int
list(const iss_anon_cmd *c, enum iss_role role, const char *sql,
    const char *const *names, const bool *numeric)
{
	iss_db *db = NULL;
	int rc;

	if ((rc = open_db(c, &db, role)) != 0)
		return rc;
	rc = iss_db_print(db, sql, names, numeric, c->json);
	iss_db_free(&db);
	return rc;
}

static int
keys(const iss_anon_cmd *c)
{
	iss_anon *a = NULL;
	char err[512], spk[65], kpk[65];

	if (iss_anon_open(c->db, c->u, 1, &a, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: anon-keys: %s\n", err);
		return 1;
	}
	wk_hex_encode(a->sign_pk, 32, spk);
	wk_hex_encode(a->kx_pk, 32, kpk);
	if (c->json)
		printf("{\"role\":\"%s\",\"id\":\"%s\",\"sign_pub\":\"%s\","
		    "\"%s\":\"%s\"}\n", iss_anon_role_name(a->role), a->self, spk,
		    a->role == ISS_ROLE_IDENTITY ? "box_pub" : "kx_pub", kpk);
	else
		printf("role\t%s\nid\t%s\nsign_pub\t%s\n%s\t%s\n",
		    iss_anon_role_name(a->role), a->self, spk,
		    a->role == ISS_ROLE_IDENTITY ? "box_pub" : "kx_pub", kpk);
	iss_anon_free(&a);
	return 0;
}

static int
person_add(const iss_anon_cmd *c)
{
	uint8_t salt[16], code[16], h[32];
	char salt_hex[33], code_hex[33], h_hex[65], now[40];
	iss_db *db = NULL;
	iss_res *r = NULL;
	int rc;

	if (c->name == NULL || c->id_number == NULL || c->name[0] == '\0' ||
	    c->id_number[0] == '\0' || strlen(c->name) > 200 ||
	    strlen(c->id_number) > 64) {
		fprintf(stderr, "walletkey-issuer: person-add needs --name NAME and"
		    " --id-number NUMBER\n");
		return 2;
	}
	if ((rc = open_db(c, &db, ISS_ROLE_IDENTITY)) != 0)
		return rc;
	rc = 1;
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(code, sizeof(code));
	wk_hex_encode(salt, 16, salt_hex);
	wk_hex_encode(code, 16, code_hex);
	crypto_hash_sha256(h, (const uint8_t *)code_hex, strlen(code_hex));
	wk_hex_encode(h, 32, h_hex);
	iss_now_iso(now, sizeof(now));
	if (iss_db_begin(db) != ISS_DB_OK)
		goto dberr;
	rc = iss_db_exec(db, "INSERT INTO anon_persons (name, id_number, salt,"
	    " code_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
	    (iss_param[]){ ISS_PS(c->name), ISS_PS(c->id_number), ISS_PS(salt_hex),
	    ISS_PS(h_hex), ISS_PS(now) }, 5, &r);
	if (rc == ISS_DB_CONFLICT) {
		iss_db_rollback(db);
		fprintf(stderr, "walletkey-issuer: person-add: id number %s is"
		    " registered already\n", c->id_number);
		rc = 2;
		goto out;
	}
	if (rc != ISS_DB_OK || oplog(db, "person.add", NULL, NULL, NULL, -1,
	    NULL) != ISS_DB_OK || iss_db_commit(db) != ISS_DB_OK)
		goto dberr;
	if (c->json)
		printf("{\"person\":%" PRId64 ",\"code\":\"%s\"}\n",
		    iss_res_int(r, 0, 0), code_hex);
	else
		printf("person %" PRId64 " registered; the one-time registration code"
		    " for the holder's card: %s\n", iss_res_int(r, 0, 0), code_hex);
	rc = 0;
	goto out;
dberr:
	fprintf(stderr, "walletkey-issuer: person-add: %s\n", iss_db_errmsg(db));
	iss_db_rollback(db);
	rc = 1;
out:
	sodium_memzero(code_hex, sizeof(code_hex));
	iss_res_free(&r);
	iss_db_free(&db);
	return rc;
}

static int
manager_add(const iss_anon_cmd *c)
{
	uint8_t pk[32];
	char now[40];
	iss_db *db = NULL;
	int rc;

	if (!wk_anon_manager_ok(c->manager) || c->url == NULL ||
	    strlen(c->url) >= ISS_ANON_URL_MAX || (strncmp(c->url, "http://", 7) !=
	    0 && strncmp(c->url, "https://", 8) != 0) ||
	    iss_anon_hex32(c->pubkey, pk) != 0) {
		fprintf(stderr, "walletkey-issuer: manager-add needs --manager ID,"
		    " --url http(s)://HOST:PORT and --pubkey HEX (the manager's"
		    " sign_pub from anon-keys)\n");
		return 2;
	}
	if ((rc = open_db(c, &db, ISS_ROLE_IDENTITY)) != 0)
		return rc;
	iss_now_iso(now, sizeof(now));
	rc = 1;
	if (iss_db_begin(db) != ISS_DB_OK ||
	    iss_db_exec(db, "INSERT INTO anon_managers (id, url, sign_pub, created_at)"
	    " VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET url ="
	    " excluded.url, sign_pub = excluded.sign_pub", (iss_param[]){
	    ISS_PS(c->manager), ISS_PS(c->url), ISS_PS(c->pubkey), ISS_PS(now) }, 4,
	    NULL) != ISS_DB_OK || oplog(db, "manager.set", NULL, NULL, NULL, -1,
	    c->manager) != ISS_DB_OK || iss_db_commit(db) != ISS_DB_OK) {
		fprintf(stderr, "walletkey-issuer: manager-add: %s\n",
		    iss_db_errmsg(db));
		iss_db_rollback(db);
	} else {
		printf(c->json ? "{\"manager\":\"%s\"}\n" : "account manager %s set\n",
		    c->manager);
		rc = 0;
	}
	iss_db_free(&db);
	return rc;
}

static int
deposit(const iss_anon_cmd *c)
{
	char now[40];
	int64_t amount, txn;
	iss_db *db = NULL;
	iss_res *r = NULL;
	int rc;

	if (!wk_anon_account_ok(c->account) || !parse_amount(c->amount, &amount)) {
		fprintf(stderr, "walletkey-issuer: anon-deposit needs --account ACCOUNT"
		    " and --amount FEN (1..2147483647)\n");
		return 2;
	}
	if ((rc = open_db(c, &db, ISS_ROLE_IDENTITY)) != 0)
		return rc;
	rc = 1;
	iss_now_iso(now, sizeof(now));
	if (iss_db_begin(db) != ISS_DB_OK)
		goto dberr;
	/* currency rights enter from the issuance book: double entry */
	if (iss_db_exec(db, "UPDATE anon_accounts SET balance = balance + $1 WHERE"
	    " account = $2", (iss_param[]){ ISS_PI(amount), ISS_PS(c->account) }, 2,
	    NULL) != ISS_DB_OK)
		goto dberr;
	if (iss_db_changes(db) != 1) {
		iss_db_rollback(db);
		fprintf(stderr, "walletkey-issuer: anon-deposit: %s is not"
		    " registered\n", c->account);
		rc = 2;
		goto out;
	}
	if (iss_db_exec(db, "UPDATE anon_books SET balance = balance - $1 WHERE"
	    " name = 'issuance'", (iss_param[]){ ISS_PI(amount) }, 1, NULL) !=
	    ISS_DB_OK || iss_db_exec(db, "INSERT INTO anon_txns (kind, ref,"
	    " created_at) VALUES ('deposit', $1, $2) RETURNING id", (iss_param[]){
	    ISS_PS(c->account), ISS_PS(now) }, 2, &r) != ISS_DB_OK)
		goto dberr;
	txn = iss_res_int(r, 0, 0);
	if (iss_db_exec(db, "INSERT INTO anon_entries (txn_id, account, amount)"
	    " VALUES ($1, 'issuance', $2), ($1, $3, $4)", (iss_param[]){
	    ISS_PI(txn), ISS_PI(-amount), ISS_PS(c->account), ISS_PI(amount) }, 4,
	    NULL) != ISS_DB_OK || oplog(db, "deposit", NULL, c->account, NULL,
	    amount, NULL) != ISS_DB_OK || iss_db_commit(db) != ISS_DB_OK)
		goto dberr;
	printf(c->json ? "{\"account\":\"%s\",\"amount\":%" PRId64 "}\n" :
	    "deposited to %s: %" PRId64 "\n", c->account, amount);
	rc = 0;
	goto out;
dberr:
	fprintf(stderr, "walletkey-issuer: anon-deposit: %s\n", iss_db_errmsg(db));
	iss_db_rollback(db);
out:
	iss_res_free(&r);
	iss_db_free(&db);
	return rc;
}

/* the books: entries sum to zero, every balance is the sum of its entries,
 * the balances and the issuance book sum to zero */
static int
check(const iss_anon_cmd *c)
{
	iss_db *db = NULL;
	iss_res *r = NULL;
	int64_t entries = 0, balances = 0, issuance = 0, issued = 0, bad = -1;
	int rc;

	if ((rc = open_db(c, &db, ISS_ROLE_IDENTITY)) != 0)
		return rc;
	rc = 1;
	if (iss_db_exec(db, "SELECT (SELECT COALESCE(SUM(amount), 0) FROM"
	    " anon_entries), (SELECT COALESCE(SUM(balance), 0) FROM anon_accounts),"
	    " (SELECT balance FROM anon_books WHERE name = 'issuance'),"
	    " (SELECT COUNT(*) FROM anon_accounts a WHERE a.balance <>"
	    "  (SELECT COALESCE(SUM(e.amount), 0) FROM anon_entries e WHERE"
	    "   e.account = a.account)),"
	    " (SELECT COALESCE(SUM(-amount), 0) FROM anon_entries WHERE account ="
	    "  'issuance')", NULL, 0, &r) != ISS_DB_OK) {
		fprintf(stderr, "walletkey-issuer: anon-check: %s\n",
		    iss_db_errmsg(db));
		goto out;
	}
	entries = iss_res_int(r, 0, 0);
	balances = iss_res_int(r, 0, 1);
	issuance = iss_res_int(r, 0, 2);
	bad = iss_res_int(r, 0, 3);
	issued = iss_res_int(r, 0, 4);
	rc = entries == 0 && balances + issuance == 0 && bad == 0 &&
	    issued == balances ? 0 : 3;
	if (c->json)
		printf("{\"entries_sum\":%" PRId64 ",\"balances\":%" PRId64
		    ",\"issuance\":%" PRId64 ",\"issued\":%" PRId64
		    ",\"accounts_off\":%" PRId64 ",\"balanced\":%s}\n", entries,
		    balances, issuance, issued, bad, rc == 0 ? "true" : "false");
	else
		printf("entries sum %" PRId64 ", balances %" PRId64 ", issuance %"
		    PRId64 ", accounts off their entries %" PRId64 ": %s\n", entries,
		    balances, issuance, bad, rc == 0 ? "balanced" : "NOT BALANCED");
out:
	iss_res_free(&r);
	iss_db_free(&db);
	return rc;
}

static int
account_set(const iss_anon_cmd *c)
{
	iss_db *db = NULL;
	int64_t v;
	char detail[160];
	int rc;

	if (!wk_anon_account_ok(c->account) || (c->state != NULL &&
	    strcmp(c->state, "open") != 0 && strcmp(c->state, "frozen") != 0 &&
	    strcmp(c->state, "closed") != 0) || (c->limit != NULL &&
	    !parse_amount(c->limit, &v)) || (c->daily != NULL &&
	    !parse_amount(c->daily, &v)) || (c->state == NULL && c->limit == NULL &&
	    c->daily == NULL)) {
		fprintf(stderr, "walletkey-issuer: anon-account needs --account ACCOUNT"
		    " and one or more of --state open|frozen|closed, --limit FEN,"
		    " --daily-limit FEN\n");
		return 2;
	}
	if ((rc = open_db(c, &db, ISS_ROLE_ACCOUNT)) != 0)
		return rc;
	rc = 1;
	if (iss_db_begin(db) != ISS_DB_OK)
		goto dberr;
	if (c->state != NULL && iss_db_exec(db, "UPDATE anon_accounts SET state = $1"
	    " WHERE account = $2", (iss_param[]){ ISS_PS(c->state),
	    ISS_PS(c->account) }, 2, NULL) != ISS_DB_OK)
		goto dberr;
	if (c->limit != NULL && (parse_amount(c->limit, &v), iss_db_exec(db,
	    "UPDATE anon_accounts SET limit_payment = $1 WHERE account = $2",
	    (iss_param[]){ ISS_PI(v), ISS_PS(c->account) }, 2, NULL)) != ISS_DB_OK)
		goto dberr;
	if (c->daily != NULL && (parse_amount(c->daily, &v), iss_db_exec(db,
	    "UPDATE anon_accounts SET limit_daily = $1 WHERE account = $2",
	    (iss_param[]){ ISS_PI(v), ISS_PS(c->account) }, 2, NULL)) != ISS_DB_OK)
		goto dberr;
	if (iss_db_changes(db) != 1) {
		iss_db_rollback(db);
		fprintf(stderr, "walletkey-issuer: anon-account: no account %s\n",
		    c->account);
		rc = 2;
		goto out;
	}
	snprintf(detail, sizeof(detail), "state %s limit %s daily %s",
	    c->state ? c->state : "-", c->limit ? c->limit : "-",
	    c->daily ? c->daily : "-");
	if (oplog(db, "account.set", NULL, c->account, NULL, -1, detail) !=
	    ISS_DB_OK || iss_db_commit(db) != ISS_DB_OK)
		goto dberr;
	printf(c->json ? "{\"account\":\"%s\"}\n" : "account %s updated\n",
	    c->account);
	rc = 0;
	goto out;
dberr:
	fprintf(stderr, "walletkey-issuer: anon-account: %s\n", iss_db_errmsg(db));
	iss_db_rollback(db);
out:
	iss_db_free(&db);
	return rc;
}

static int
operator_add(const iss_anon_cmd *c)
{
	const char *pw = c->password_env ? getenv(c->password_env) : NULL;
	char hash[crypto_pwhash_STRBYTES], now[40];
	iss_db *db = NULL;
	int rc;

	if (c->name == NULL || c->name[0] == '\0' || strlen(c->name) > 64 ||
	    pw == NULL || strlen(pw) < 8) {
		fprintf(stderr, "walletkey-issuer: operator-add needs --name NAME and"
		    " --password-env VAR (a password of 8 characters or more)\n");
		return 2;
	}
	if (crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		fprintf(stderr, "walletkey-issuer: operator-add: out of memory\n");
		return 1;
	}
	if ((rc = open_db(c, &db, ISS_ROLE_IDENTITY)) != 0)
		return rc;
	iss_now_iso(now, sizeof(now));
	rc = 1;
	if (iss_db_begin(db) != ISS_DB_OK)
		goto dberr;
	rc = iss_db_exec(db, "INSERT INTO anon_operators (name, password_hash,"
	    " created_at) VALUES ($1, $2, $3)", (iss_param[]){ ISS_PS(c->name),
	    ISS_PS(hash), ISS_PS(now) }, 3, NULL);
	if (rc == ISS_DB_CONFLICT) {
		iss_db_rollback(db);
		fprintf(stderr, "walletkey-issuer: operator-add: %s exists\n", c->name);
		rc = 2;
		goto out;
	}
	if (rc != ISS_DB_OK || oplog(db, "operator.add", NULL, NULL, NULL, -1,
	    c->name) != ISS_DB_OK || iss_db_commit(db) != ISS_DB_OK)
		goto dberr;
	printf(c->json ? "{\"operator\":\"%s\"}\n" : "operator %s added\n", c->name);
	rc = 0;
	goto out;
dberr:
	fprintf(stderr, "walletkey-issuer: operator-add: %s\n", iss_db_errmsg(db));
	iss_db_rollback(db);
	rc = 1;
out:
	iss_db_free(&db);
	return rc;
}

/* SHA-256 of the raw Ed25519 public key, hex */
static int
regulator_fp(EVP_PKEY *k, char fp[65], char raw_hex[65])
{
	uint8_t raw[32], h[32];
	size_t n = sizeof(raw);

	if (EVP_PKEY_get_raw_public_key(k, raw, &n) != 1 || n != 32)
		return -1;
	crypto_hash_sha256(h, raw, 32);
	wk_hex_encode(h, 32, fp);
	wk_hex_encode(raw, 32, raw_hex);
	return 0;
}

static int
regulator_add(const iss_anon_cmd *c)
{
	FILE *f;
	EVP_PKEY *k = NULL;
	char fp[65], raw[65], now[40];
	iss_db *db = NULL;
	int rc = 2;

	if (c->pubkey == NULL || (f = fopen(c->pubkey, "r")) == NULL) {
		fprintf(stderr, "walletkey-issuer: regulator-add needs --pubkey PEM"
		    " (an Ed25519 public key)\n");
		return 2;
	}
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519 ||
	    regulator_fp(k, fp, raw) != 0) {
		fprintf(stderr, "walletkey-issuer: regulator-add: %s is not an"
		    " Ed25519 public key in PEM\n", c->pubkey);
		goto out;
	}
	if ((rc = open_db(c, &db, ISS_ROLE_IDENTITY)) != 0)
		goto out;
	iss_now_iso(now, sizeof(now));
	rc = 1;
	if (iss_db_begin(db) != ISS_DB_OK ||
	    iss_db_exec(db, "INSERT INTO anon_regulators (fingerprint, pubkey, name,"
	    " created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (fingerprint) DO"
	    " NOTHING", (iss_param[]){ ISS_PS(fp), ISS_PS(raw), c->name ?
	    ISS_PS(c->name) : ISS_PN, ISS_PS(now) }, 4, NULL) != ISS_DB_OK ||
	    oplog(db, "regulator.add", NULL, NULL, NULL, -1, fp) != ISS_DB_OK ||
	    iss_db_commit(db) != ISS_DB_OK) {
		fprintf(stderr, "walletkey-issuer: regulator-add: %s\n",
		    iss_db_errmsg(db));
		iss_db_rollback(db);
		goto out;
	}
	printf(c->json ? "{\"fingerprint\":\"%s\"}\n" : "regulator %s trusted\n",
	    fp);
	rc = 0;
out:
	EVP_PKEY_free(k);
	iss_db_free(&db);
	return rc;
}

/* an operator's password, checked against its Argon2id hash */
static bool
operator_ok(iss_db *db, const char *name, const char *pw)
{
	iss_res *r = NULL;
	bool ok = false;

	if (name == NULL || pw == NULL)
		return false;
	if (iss_db_exec(db, "SELECT password_hash FROM anon_operators WHERE name ="
	    " $1", (iss_param[]){ ISS_PS(name) }, 1, &r) == ISS_DB_OK &&
	    iss_res_rows(r) == 1)
		ok = crypto_pwhash_str_verify(iss_res_text(r, 0, 0), pw,
		    strlen(pw)) == 0;
	iss_res_free(&r);
	return ok;
}

/* the regulator's order: signed by a trusted regulator, for this case and
 * transaction, not expired. *why on failure; fp the signer's */
static bool
order_ok(iss_db *db, const char *path, const char *case_id, const char *txid,
    char fp[65], char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *o = NULL;
	const char *fmt, *cs, *tx, *exp, *sig;
	uint8_t s[64], pk[32];
	char tbs[512], now[32];
	size_t n;
	iss_res *r = NULL;
	bool ok = false;

	fp[0] = '\0';
	if (path == NULL) {
		snprintf(why, whylen, "no regulator's order (--order FILE)");
		return false;
	}
	if ((o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		snprintf(why, whylen, "the order is not JSON: %.100s", jerr.text);
		return false;
	}
	fmt = json_string_value(json_object_get(o, "format"));
	cs = json_string_value(json_object_get(o, "case"));
	tx = json_string_value(json_object_get(o, "transaction"));
	exp = json_string_value(json_object_get(o, "expires"));
	sig = json_string_value(json_object_get(o, "signature"));
	if (fmt == NULL || strcmp(fmt, ORDER_FORMAT) != 0 || cs == NULL ||
	    tx == NULL || exp == NULL || sig == NULL || strlen(cs) > 128 ||
	    strlen(tx) > 128 || strlen(exp) > 32) {
		snprintf(why, whylen, "the order is not a %s", ORDER_FORMAT);
		goto out;
	}
	if (strcmp(cs, case_id) != 0 || strcmp(tx, txid) != 0) {
		snprintf(why, whylen, "the order is for case %.60s, transaction"
		    " %.64s", cs, tx);
		goto out;
	}
	if (sodium_base642bin(s, sizeof(s), sig, strlen(sig), NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || n != 64) {
		snprintf(why, whylen, "the order's signature is not 64 bytes base64");
		goto out;
	}
	snprintf(tbs, sizeof(tbs), "%s\ncase=%s\ntransaction=%s\nexpires=%s\n",
	    ORDER_FORMAT, cs, tx, exp);
	if (iss_db_exec(db, "SELECT fingerprint, pubkey FROM anon_regulators ORDER"
	    " BY fingerprint", NULL, 0, &r) != ISS_DB_OK) {
		snprintf(why, whylen, "the database failed");
		goto out;
	}
	for (size_t i = 0; i < iss_res_rows(r) && !ok; i++)
		if (iss_anon_hex32(iss_res_text(r, i, 1), pk) == 0 &&
		    crypto_sign_verify_detached(s, (const uint8_t *)tbs, strlen(tbs),
		    pk) == 0) {
			snprintf(fp, 65, "%s", iss_res_text(r, i, 0));
			ok = true;
		}
	if (!ok) {
		snprintf(why, whylen, "the order is not signed by a trusted"
		    " regulator");
		goto out;
	}
	{
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (strcmp(exp, now) < 0) {
			snprintf(why, whylen, "the order expired at %s", exp);
			ok = false;
		}
	}
out:
	iss_res_free(&r);
	json_decref(o);
	return ok;
}

static int
reveal(const iss_anon_cmd *c)
{
	const char *pw = c->password_env ? getenv(c->password_env) : NULL;
	const char *apw = c->approver_password_env ?
	    getenv(c->approver_password_env) : NULL;
	uint8_t idk[32], salt[16], feat[32], want[32], tid[32];
	uint8_t idcred[WK_ANON_IDCRED_LEN + 8];
	char why[256] = "", fp[65] = "", detail[512];
	const char *name = NULL, *idn = NULL, *acct = NULL;
	iss_anon *a = NULL;
	iss_db *db = NULL;
	iss_res *r = NULL;
	size_t n;
	bool granted = false;
	int rc;

	if (c->case_id == NULL || c->case_id[0] == '\0' || strlen(c->case_id) > 128 ||
	    c->txid == NULL || strlen(c->txid) != 64 ||
	    wk_hex_decode(c->txid, tid, 32) != 32) {
		fprintf(stderr, "walletkey-issuer: reveal needs --case CASE and"
		    " --transaction TXID (64 hex digits)\n");
		return 2;
	}
	if ((rc = open_db(c, &db, ISS_ROLE_IDENTITY)) != 0)
		return rc;
	rc = 1;
	/* each condition in turn; the first that fails is the logged reason */
	if (!order_ok(db, c->order, c->case_id, c->txid, fp, why, sizeof(why)))
		goto decide;
	if (!operator_ok(db, c->operator_name, pw)) {
		snprintf(why, sizeof(why), "operator %.64s is not authenticated",
		    c->operator_name ? c->operator_name : "(none)");
		goto decide;
	}
	if (c->approver == NULL || apw == NULL) {
		snprintf(why, sizeof(why), "no second operator's approval"
		    " (--approver NAME --approver-password-env VAR)");
		goto decide;
	}
	if (strcmp(c->approver, c->operator_name) == 0) {
		snprintf(why, sizeof(why), "the approver must be a second operator");
		goto decide;
	}
	if (!operator_ok(db, c->approver, apw)) {
		snprintf(why, sizeof(why), "approver %.64s is not authenticated",
		    c->approver);
		goto decide;
	}
	if (iss_db_exec(db, "SELECT t.idcred, a.idk_pub, p.salt, p.name,"
	    " p.id_number, t.payer FROM anon_transfers t JOIN anon_accounts a ON"
	    " a.account = t.payer JOIN anon_persons p ON p.id = a.person_id WHERE"
	    " t.txid = $1 AND t.status = 'committed'", (iss_param[]){
	    ISS_PS(c->txid) }, 1, &r) != ISS_DB_OK || iss_res_rows(r) != 1) {
		snprintf(why, sizeof(why), "no committed transaction %.64s", c->txid);
		goto decide;
	}
	if (iss_anon_open(c->db, c->u, 1, &a, why, sizeof(why)) != 0)
		goto decide;
	{
		json_t *j = json_string(iss_res_text(r, 0, 0));

		if (j == NULL || wk_b64_unjson(j, idcred, sizeof(idcred), &n) != 0 ||
		    iss_anon_hex32(iss_res_text(r, 0, 1), idk) != 0 ||
		    wk_hex_decode(iss_res_text(r, 0, 2), salt, 16) != 16) {
			json_decref(j);
			snprintf(why, sizeof(why), "the stored credential is malformed");
			goto decide;
		}
		json_decref(j);
	}
	/* the identity credential, verified with the account's identity key,
	 * names the features the person was registered with */
	if (wk_anon_idcred_open(idcred, n, a->kx_pk, a->kx_sk, idk, tid, feat) !=
	    WK_ANON_OK) {
		snprintf(why, sizeof(why), "the identity credential does not verify");
		goto decide;
	}
	name = iss_res_text(r, 0, 3);
	idn = iss_res_text(r, 0, 4);
	acct = iss_res_text(r, 0, 5);
	wk_anon_features(salt, name, idn, want);
	if (sodium_memcmp(feat, want, 32) != 0) {
		snprintf(why, sizeof(why), "the identity credential does not match"
		    " the registered person");
		goto decide;
	}
	granted = true;
decide:
	snprintf(detail, sizeof(detail), "%s; operator %s; approver %s;"
	    " regulator %s", granted ? "granted" : why, c->operator_name ?
	    c->operator_name : "-", c->approver ? c->approver : "-",
	    fp[0] ? fp : "-");
	/* the row first: nothing is shown that the log does not hold */
	if (iss_db_begin(db) != ISS_DB_OK || oplog(db, granted ? "reveal.granted" :
	    "reveal.refused", c->txid, granted ? acct : NULL, c->case_id, -1,
	    detail) != ISS_DB_OK || iss_db_commit(db) != ISS_DB_OK) {
		iss_db_rollback(db);
		fprintf(stderr, "walletkey-issuer: reveal: cannot log the reveal:"
		    " %s; nothing is revealed\n", iss_db_errmsg(db));
		rc = 1;
		goto out;
	}
	if (!granted) {
		if (c->json)
			printf("{\"granted\":false,\"reason\":\"%s\"}\n", why);
		fprintf(stderr, "walletkey-issuer: reveal refused: %s (logged)\n",
		    why);
		rc = 4;
		goto out;
	}
	if (c->json) {
		json_t *j = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "granted", 1,
		    "case", c->case_id, "transaction", c->txid, "account", acct,
		    "name", name, "id_number", idn);

		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else {
		printf("case %s, transaction %s\naccount\t%s\nname\t%s\nid number\t%s\n",
		    c->case_id, c->txid, acct, name, idn);
	}
	rc = 0;
out:
	sodium_memzero(feat, sizeof(feat));
	sodium_memzero(want, sizeof(want));
	iss_res_free(&r);
	iss_anon_free(&a);
	iss_db_free(&db);
	return rc;
}

static int
reconcile(const iss_anon_cmd *c)
{
	iss_anon *a = NULL;
	char err[512];
	size_t settled = 0;
	int rc = 1;

	if (iss_anon_open(c->db, c->u, 2, &a, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: anon-reconcile: %s\n", err);
		return 1;
	}
	if (a->role != ISS_ROLE_ACCOUNT) {
		fprintf(stderr, "walletkey-issuer: anon-reconcile is an account"
		    " manager's\n");
		rc = 2;
	} else if (iss_anon_am_reconcile(a, 0, &settled) == 0) {
		printf(c->json ? "{\"settled\":%zu}\n" : "%zu pending payment(s)"
		    " settled with the authority\n", settled);
		rc = 0;
	}
	iss_anon_free(&a);
	return rc;
}

static const char *const admin_cmds[] = { "anon-keys", "person-add",
	"manager-add", "anon-deposit", "anon-check", "anon-account",
	"operator-add", "regulator-add", "reveal", "anon-reconcile",
	"anon-accounts", "anon-transfers", "anon-ledger", "anon-oplog",
	"anon-payments", "persons", NULL };

bool
iss_anon_admin_known(const char *cmd)
{
	for (size_t i = 0; admin_cmds[i] != NULL; i++)
		if (strcmp(cmd, admin_cmds[i]) == 0)
			return true;
	return false;
}

int
iss_anon_admin(const char *cmd, const iss_anon_cmd *c)
{
	iss_db *db = NULL;
	enum iss_role role = ISS_ROLE_BANK;
	char err[512];

	if (strcmp(cmd, "anon-keys") == 0)
		return keys(c);
	if (strcmp(cmd, "person-add") == 0)
		return person_add(c);
	if (strcmp(cmd, "manager-add") == 0)
		return manager_add(c);
	if (strcmp(cmd, "anon-deposit") == 0)
		return deposit(c);
	if (strcmp(cmd, "anon-check") == 0)
		return check(c);
	if (strcmp(cmd, "anon-account") == 0)
		return account_set(c);
	if (strcmp(cmd, "operator-add") == 0)
		return operator_add(c);
	if (strcmp(cmd, "regulator-add") == 0)
		return regulator_add(c);
	if (strcmp(cmd, "reveal") == 0)
		return reveal(c);
	if (strcmp(cmd, "anon-reconcile") == 0)
		return reconcile(c);
	if (strcmp(cmd, "persons") == 0) {
		static const char *const n[] = { "id", "name", "id_number",
		    "created_at" };
		static const bool num[] = { true, false, false, false };

		return list(c, ISS_ROLE_IDENTITY, "SELECT id, name, id_number,"
		    " created_at FROM anon_persons ORDER BY id", n, num);
	}
	if (strcmp(cmd, "anon-transfers") == 0) {
		static const char *const n[] = { "txid", "status", "payer", "payee",
		    "amount", "reason", "created_at" };
		static const bool num[] = { false, false, false, false, true, false,
		    false };

		return list(c, ISS_ROLE_IDENTITY, "SELECT txid, status, payer, payee,"
		    " amount, reason, created_at FROM anon_transfers ORDER BY"
		    " created_at, txid", n, num);
	}
	if (strcmp(cmd, "anon-ledger") == 0) {
		static const char *const n[] = { "entry", "txn", "kind", "ref",
		    "account", "amount", "at" };
		static const bool num[] = { true, true, false, false, false, true,
		    false };

		return list(c, ISS_ROLE_IDENTITY, "SELECT e.id, t.id, t.kind, t.ref,"
		    " e.account, e.amount, t.created_at FROM anon_entries e JOIN"
		    " anon_txns t ON t.id = e.txn_id ORDER BY e.id", n, num);
	}
	if (strcmp(cmd, "anon-payments") == 0) {
		static const char *const n[] = { "txid", "direction", "account",
		    "payee", "alias", "amount", "status", "reason", "created_at" };
		static const bool num[] = { false, false, false, false, false, true,
		    false, false, false };

		return list(c, ISS_ROLE_ACCOUNT, "SELECT txid, direction, account,"
		    " counterparty, alias, amount, status, reason, created_at FROM"
		    " anon_payments ORDER BY created_at, txid, direction", n, num);
	}
	/* anon-accounts and anon-oplog: either role */
	if (iss_db_open(c->db, &db, err, sizeof(err)) != ISS_DB_OK) {
		fprintf(stderr, "walletkey-issuer: %s\n", err);
		return 1;
	}
	(void)iss_anon_db_role(db, &role);
	iss_db_free(&db);
	if (role == ISS_ROLE_BANK) {
		fprintf(stderr, "walletkey-issuer: %s: not a database of a"
		    " semi-anonymous role\n", cmd);
		return 2;
	}
	if (strcmp(cmd, "anon-oplog") == 0) {
		static const char *const n[] = { "id", "at", "kind", "txid",
		    "account", "case", "amount", "detail" };
		static const bool num[] = { true, false, false, false, false, false,
		    true, false };

		return list(c, role, "SELECT id, at, kind, txid, account, case_id,"
		    " amount, detail FROM anon_oplog ORDER BY id", n, num);
	}
	if (role == ISS_ROLE_IDENTITY) {
		static const char *const n[] = { "account", "person", "manager",
		    "card_id", "balance", "created_at" };
		static const bool num[] = { false, true, false, false, true, false };

		return list(c, role, "SELECT account, person_id, manager, card_id,"
		    " balance, created_at FROM anon_accounts ORDER BY created_at,"
		    " account", n, num);
	} else {
		static const char *const n[] = { "account", "state", "limit",
		    "daily_limit", "card_id", "created_at" };
		static const bool num[] = { false, false, true, true, false, false };

		return list(c, role, "SELECT account, state, limit_payment,"
		    " limit_daily, card_id, created_at FROM anon_accounts ORDER BY"
		    " created_at, account", n, num);
	}
}
