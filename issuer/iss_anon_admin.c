/*
 * the operators' commands of the semi-anonymous roles: people and peers,
 * deposits, account states, lists, the books' check; the lawful reveal
 * and who may ask for it are iss_anon_reveal.c.
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

int
iss_anon_admin_open(const iss_anon_cmd *c, iss_db **db, enum iss_role want)
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

int
iss_anon_admin_oplog(iss_db *db, const char *kind, const char *txid,
    const char *account, const char *case_id, int64_t amount,
    const char *detail)
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

	if ((rc = iss_anon_admin_open(c, &db, role)) != 0)
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
	if ((rc = iss_anon_admin_open(c, &db, ISS_ROLE_IDENTITY)) != 0)
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
	if (rc != ISS_DB_OK || iss_anon_admin_oplog(db, "person.add", NULL,
	    NULL, NULL, -1, NULL) != ISS_DB_OK || iss_db_commit(db) != ISS_DB_OK)
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
	if ((rc = iss_anon_admin_open(c, &db, ISS_ROLE_IDENTITY)) != 0)
		return rc;
	iss_now_iso(now, sizeof(now));
	rc = 1;
	if (iss_db_begin(db) != ISS_DB_OK ||
	    iss_db_exec(db, "INSERT INTO anon_managers (id, url, sign_pub, created_at)"
	    " VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET url ="
	    " excluded.url, sign_pub = excluded.sign_pub", (iss_param[]){
	    ISS_PS(c->manager), ISS_PS(c->url), ISS_PS(c->pubkey), ISS_PS(now) }, 4,
	    NULL) != ISS_DB_OK || iss_anon_admin_oplog(db, "manager.set", NULL,
	    NULL, NULL, -1, c->manager) != ISS_DB_OK || iss_db_commit(db) != ISS_DB_OK) {
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
	if ((rc = iss_anon_admin_open(c, &db, ISS_ROLE_IDENTITY)) != 0)
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
	    NULL) != ISS_DB_OK || iss_anon_admin_oplog(db, "deposit", NULL,
	    c->account, NULL, amount, NULL) != ISS_DB_OK || iss_db_commit(db) != ISS_DB_OK)
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

	if ((rc = iss_anon_admin_open(c, &db, ISS_ROLE_IDENTITY)) != 0)
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
	if ((rc = iss_anon_admin_open(c, &db, ISS_ROLE_ACCOUNT)) != 0)
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
	if (iss_anon_admin_oplog(db, "account.set", NULL, c->account, NULL, -1,
	    detail) != ISS_DB_OK || iss_db_commit(db) != ISS_DB_OK)
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
		return iss_anon_operator_add(c);
	if (strcmp(cmd, "regulator-add") == 0)
		return iss_anon_regulator_add(c);
	if (strcmp(cmd, "reveal") == 0)
		return iss_anon_reveal(c);
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
