/* walletkey-issuer: the bank's side of walletkey (docs/issuer.md) */
#include "iss_cli.h"
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
	    "  books     [--json]  accounts, cards, loads, payments and ledger\n"
	    "            in one snapshot (one read transaction)\n"
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

int
iss_cli_unlock(const opts *o, iss_unlock *u)
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

int
iss_cli_err(const iss_err *e)
{
	fprintf(stderr, "walletkey-issuer: %s: %s\n", e->code, e->message);
	return e->status < 500 ? 2 : 1;
}

bool
iss_cli_parse_u32(const char *s, uint32_t *v)
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

int
iss_cli_open_db(const opts *o, iss_db **db)
{
	char err[512];

	if (iss_db_open(o->db, db, err, sizeof(err)) != ISS_DB_OK) {
		fprintf(stderr, "walletkey-issuer: %s\n", err);
		return -1;
	}
	return 0;
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

	if (iss_cli_open_db(o, &db) != 0)
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

/* books: the money tables in one snapshot (one read transaction), for a
 * check of the books that must not see them move between two listings */
static int
cmd_books(const opts *o)
{
	static const struct {
		const char *name;
		const listing *l;
	} parts[] = {
		{ "accounts", &accounts_list },
		{ "cards", &cards_list },
		{ "loads", &loads_list },
		{ "payments", &payments_list },
		{ "ledger", &ledger_list },
	};
	iss_query q[sizeof(parts) / sizeof(parts[0])];
	iss_db *db = NULL;
	int rc;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		q[i] = (iss_query){ parts[i].name, parts[i].l->sql,
		    parts[i].l->names, parts[i].l->numeric };
	if (iss_cli_open_db(o, &db) != 0)
		return 1;
	rc = iss_db_print_many(db, q, sizeof(q) / sizeof(q[0]), o->json);
	iss_db_free(&db);
	return rc;
}

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
	{ "books", cmd_books, NULL },
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
