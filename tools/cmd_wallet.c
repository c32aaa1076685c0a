/*
 * walletkey wallet: the PBOC electronic purse (docs/wallet.md). Here its
 * options, the card's data (info, balance, records) and the dispatch to
 * the other files: a terminal's commands (cmd_wallet_terminal.c), the
 * remote flows (cmd_wallet_remote.c), the PIN (cmd_wallet_pin.c)
 */
#include "cmd_wallet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "wallet_state.h"
#include "wallet_proofs.h"
#include "wk_hex.h"

#define RECOVER_WAIT_DEFAULT 30
#define CONFIRM_TIMEOUT_DEFAULT 60

int wk_cmd_wallet(wk_cli *cli, int argc, char **argv);

static const char wallet_usage[] =
    "usage: walletkey wallet SUBCOMMAND [OPTIONS]\n"
    "  info                              application data and cardholder\n"
    "  balance [--ed|--ep]               the purse balance\n"
    "  records [--ed|--ep]               the transaction log (newest first)\n"
    "  purchase --amount YUAN --psam READER [--journal FILE] [--terminal ID]\n"
    "           [--ed|--ep]               an offline purchase through the PSAM\n"
    "  prove --psam READER [--journal FILE]   settle the terminal's last purchase\n"
    "  recover --psam READER [--journal FILE] the same\n"
    "  prove --type purchase|load --seq N [--ed|--ep]  print the card's proof\n"
    "  settle --issuer URL (--psam READER | --journal FILE | --sam FILE)\n"
    "                                    upload the terminal's purchase proofs\n"
    "  tests and the demo only, a software SAM holding the master keys:\n"
    "  sam-init --master-keys FILE --terminal ID --out SAM.json --insecure-master-keys\n"
    "  purchase|load|prove|recover --sam FILE --insecure-master-keys ...\n"
    "  load --issuer URL --amount YUAN [--yes]       a remote load (docs/remote-load.md)\n"
    "  recover [--from READER --to READER]           settle a remote load or a transfer\n"
    "  transfer --from READER --to READER --amount YUAN [--yes]  card to card\n"
    "           [--from-pin-file FILE] [--to-pin-file FILE]  (both PINs)\n"
    "  unblock --request-out FILE | --script FILE    a blocked purse\n"
    "  pin status | change | unblock (--issuer URL | --script FILE)\n"
    "                                    the purse PIN (walletkey wallet pin --help)\n"
    "  session --issuer URL [--holder]   a bearer token of the card for the\n"
    "           issuer's doors (docs/issuer.md \"Sessions\")\n"
    "options: --pin-file FILE (or WALLETKEY_PIN; else asked without echo),\n"
    "  --recover-wait SECONDS (default 30): how long to wait for the card\n"
    "  after a lost answer; --aid HEX selects the purse by AID instead of\n"
    "  file id 1001. Amounts are yuan with at most 2 decimals.\n";

/* ---- PIN ---- */


/* the PIN from WALLETKEY_PIN, --pin-file or the terminal (no echo) */
static int
get_pin(const wopts *o, char *pin, size_t cap, size_t *len)
{
	return wk_cli_purse_pin(o->pin_file, "the card needs the PIN", pin, cap,
	    len);
}

bool
wallet_cli_pin_given(const wopts *o)
{
	return o->pin_file != NULL || getenv("WALLETKEY_PIN") != NULL;
}

/* ---- options ---- */

int
wallet_cli_parse(wk_cli *cli, int argc, char **argv, wopts *o, bool remote)
{
	/* every wallet command's */
	const wk_cli_slot slots[] = {
		{ "--amount", &o->amount },
		{ "--issuer", &o->issuer },
		{ "--pin-file", &o->pin_file },
		{ NULL, NULL },
	};
	const wk_cli_flag flags[] = {
		{ "--ed", NULL, &o->kind, WK_PURSE_ED },
		{ "--ep", NULL, &o->kind, WK_PURSE_EP },
		{ NULL, NULL, NULL, 0 },
	};
	/* a terminal's: its PSAM or software SAM, a proof */
	const wk_cli_slot terminal_slots[] = {
		{ "--sam", &o->sam },
		{ "--terminal", &o->terminal },
		{ "--master-keys", &o->master_keys },
		{ "--out", &o->out },
		{ "--type", &o->type },
		{ "--seq", &o->seq },
		{ "--aid", &o->aid_hex },
		{ "--psam", &o->psam },
		{ "--journal", &o->journal },
		{ NULL, NULL },
	};
	const wk_cli_flag terminal_flags[] = {
		{ "--insecure-master-keys", &o->insecure, NULL, 0 },
		{ NULL, NULL, NULL, 0 },
	};
	const wk_cli_num terminal_nums[] = {
		{ "--recover-wait", &o->recover_wait, 0, 3600, "seconds" },
		{ NULL, NULL, 0, 0, NULL },
	};
	/* the remote load's, recovery's and card to card's */
	const wk_cli_slot remote_slots[] = {
		{ "--state-dir", &o->state_dir },
		{ "--from", &o->from },
		{ "--to", &o->to },
		{ "--from-pin-file", &o->from_pin_file },
		{ "--to-pin-file", &o->to_pin_file },
		{ NULL, NULL },
	};
	/* the holder's confirmation */
	const wk_cli_num remote_nums[] = {
		{ "--confirm-timeout", &o->confirm_timeout, 1, 3600, "seconds" },
		{ NULL, NULL, 0, 0, NULL },
	};
	const wk_cli_flag remote_flags[] = {
		{ "--yes", &o->yes, NULL, 0 },
		{ NULL, NULL, NULL, 0 },
	};
	const wk_cli_opts both = { .group = "wallet", .slots = slots,
	    .flags = flags };
	const wk_cli_opts opts = remote ?
	    (wk_cli_opts){ .group = "wallet", .slots = remote_slots,
	    .flags = remote_flags, .nums = remote_nums, .also = &both } :
	    (wk_cli_opts){ .group = "wallet", .slots = terminal_slots,
	    .flags = terminal_flags, .nums = terminal_nums, .also = &both };
	int st;

	memset(o, 0, sizeof(*o));
	o->kind = WK_PURSE_EP;
	o->recover_wait = RECOVER_WAIT_DEFAULT;
	o->confirm_timeout = CONFIRM_TIMEOUT_DEFAULT;
	if ((st = wk_cli_parse_opts(cli, &opts, argc, argv)) != WK_CLI_OK)
		return st;
	if (o->aid_hex != NULL) {
		long n = wk_hex_decode(o->aid_hex, o->aid, sizeof(o->aid));

		if (n < 5 || n > 16)
			return wk_cli_usage(cli, "--aid takes 5 to 16 bytes in hex");
		o->aid_len = (size_t)n;
	}
	return WK_CLI_OK;
}

int
wallet_cli_parse_terminal(wk_cli *cli, const char *s, uint8_t term[6])
{
	if (s == NULL || strlen(s) != 12 || strspn(s, "0123456789abcdefABCDEF") != 12 ||
	    wk_hex_decode(s, term, 6) != 6)
		return wk_cli_usage(cli, "a terminal id is 12 hex digits "
		    "(6 bytes, e.g. 000000000001), not '%s'", s ? s : "");
	return WK_CLI_OK;
}

/* ---- formatting ---- */

const char *
wallet_cli_type_name(uint8_t type)
{
	switch (type) {
	case 0x01:
		return "ED load";
	case 0x02:
		return "EP load";
	case 0x03:
		return "unload";
	case 0x04:
		return "ED cash";
	case 0x05:
		return "ED purchase";
	case 0x06:
		return "EP purchase";
	case 0x07:
		return "ED limit";
	case 0x09:
		return "CAPP purchase";
	default:
		return "unknown";
	}
}

static void
bcd_date_time(const uint8_t d[4], const uint8_t t[3], char *out, size_t cap)
{
	snprintf(out, cap, "%02x%02x-%02x-%02x %02x:%02x:%02x", d[0], d[1], d[2],
	    d[3], t[0], t[1], t[2]);
}

static void
bcd_date(const uint8_t d[4], char *out, size_t cap)
{
	snprintf(out, cap, "%02x%02x-%02x-%02x", d[0], d[1], d[2], d[3]);
}

static const char *
kind_name(wk_purse_kind kind)
{
	return kind == WK_PURSE_ED ? "ED" : "EP";
}

/* ---- the card ---- */

/* the purse application: by --aid, else by file id 1001 */
static const wopts *sel_opts;

int
wallet_cli_open_purse(wk_cli *cli, wk_card **card, wk_purse_app *app)
{
	int rc;

	if ((rc = wk_cli_card(cli, card)) != WK_OK)
		return rc;
	if (sel_opts != NULL && sel_opts->aid_len > 0)
		return wk_purse_select(*card, sel_opts->aid, sel_opts->aid_len, app);
	return wk_purse_select(*card, NULL, 0, app);
}

/* reconnects after the card went away, for up to wait seconds */
int
wallet_cli_reopen_purse(wk_cli *cli, long wait, wk_card **card)
{
	struct timespec pause = { 0, 250 * 1000 * 1000 };
	time_t until = time(NULL) + wait;
	int rc;

	for (;;) {
		wk_card_free(&cli->card);
		wk_ctx_free(&cli->ctx);
		rc = wallet_cli_open_purse(cli, card, NULL);
		if (rc == WK_OK || time(NULL) >= until)
			return rc;
		nanosleep(&pause, NULL);
	}
}

int
wallet_cli_verify(wk_cli *cli, wk_card *card, const wopts *o)
{
	char pin[PIN_MAX + 2];
	size_t len = 0;
	int rc, tries = -1;

	if ((rc = get_pin(o, pin, sizeof(pin), &len)) != WK_OK)
		return rc;
	rc = wk_purse_verify_pin(card, pin, len, &tries);
	sodium_memzero(pin, sizeof(pin));
	if (rc == WK_ERR_WRONG_PIN && tries >= 0 && !cli->json)
		fprintf(stderr, "walletkey: wrong PIN, %d tries left\n", tries);
	return rc;
}

bool
wallet_cli_needs_pin(int rc)
{
	return rc == WK_ERR_AUTH_REQUIRED || rc == WK_ERR_CONDITIONS;
}

static int
cmd_info(wk_cli *cli, const wopts *o)
{
	wk_card *card = NULL;
	wk_purse_app app;
	wk_purse_holder holder;
	uint32_t bal = 0;
	char serial[21], start[16], expiry[16], amount[24];
	bool have_holder, have_bal;
	int rc;

	(void)o;
	if ((rc = wallet_cli_open_purse(cli, &card, &app)) != WK_OK)
		return wk_cli_fail(cli, "wallet info", rc);
	have_holder = wk_purse_read_holder(card, &holder) == WK_OK;
	have_bal = wk_purse_balance(card, WK_PURSE_EP, &bal) == WK_OK;
	wk_hex_encode(app.serial, sizeof(app.serial), serial);
	bcd_date(app.start, start, sizeof(start));
	bcd_date(app.expiry, expiry, sizeof(expiry));
	wk_purse_amount_format(bal, amount, sizeof(amount));
	if (cli->json) {
		json_t *j = json_pack("{s:o,s:i,s:i,s:s,s:s,s:s}",
		    "issuer", wk_cli_json_hex(app.issuer, sizeof(app.issuer)),
		    "app_type", app.app_type, "app_version", app.app_version,
		    "serial", serial, "start", start, "expiry", expiry);

		if (j != NULL && have_holder)
			json_object_set_new(j, "holder", json_pack("{s:s,s:s,s:i,s:i}",
			    "name", holder.name, "id_number", holder.id_number,
			    "id_type", holder.id_type, "card_type", holder.card_type));
		if (j != NULL && have_bal)
			json_object_set_new(j, "ep_balance_fen", json_integer(bal));
		return wk_cli_json_print(j);
	}
	printf("reader:      %s\n", wk_card_reader(card));
	printf("issuer:      ");
	wk_cli_print_hex(stdout, app.issuer, sizeof(app.issuer));
	printf("\napplication: %s, version %u\n", app.app_type == 1 ? "ED" :
	    app.app_type == 2 ? "EP" : app.app_type == 3 ? "ED+EP" : "unknown",
	    app.app_version);
	printf("serial:      %s\nvalid:       %s to %s\n", serial, start, expiry);
	if (have_holder)
		printf("holder:      %s (id type %u, %s)\n", holder.name,
		    holder.id_type, holder.id_number);
	if (have_bal)
		printf("EP balance:  %s\n", amount);
	return WK_CLI_OK;
}

static int
cmd_balance(wk_cli *cli, const wopts *o)
{
	wk_card *card = NULL;
	uint32_t bal = 0;
	char amount[24];
	bool begun = false;
	int rc;

	if ((rc = wallet_cli_open_purse(cli, &card, NULL)) != WK_OK)
		goto out;
	if ((rc = wk_card_begin(card)) != WK_OK)
		goto out;
	begun = true;
	if (o->kind == WK_PURSE_ED || wallet_cli_pin_given(o))
		if ((rc = wallet_cli_verify(cli, card, o)) != WK_OK)
			goto out;
	rc = wk_purse_balance(card, o->kind, &bal);
	if (wallet_cli_needs_pin(rc) && !(o->kind == WK_PURSE_ED || wallet_cli_pin_given(o))) {
		if ((rc = wallet_cli_verify(cli, card, o)) != WK_OK)
			goto out;
		rc = wk_purse_balance(card, o->kind, &bal);
	}
out:
	if (begun)
		(void)wk_card_end(card);
	if (rc != WK_OK)
		return wk_cli_fail(cli, "wallet balance", rc);
	wk_purse_amount_format(bal, amount, sizeof(amount));
	if (cli->json)
		return wk_cli_json_print(json_pack("{s:s,s:I,s:s}", "purse",
		    kind_name(o->kind), "balance_fen", (json_int_t)bal, "balance",
		    amount));
	printf("%s balance: %s\n", kind_name(o->kind), amount);
	return WK_CLI_OK;
}

static int
cmd_records(wk_cli *cli, const wopts *o)
{
	static const char *const headers[] = { "time", "type", "amount",
	    "terminal", "seq" };
	wk_purse_record rec[WK_PURSE_RECORDS_MAX];
	wk_card *card = NULL;
	wk_cli_table *table = NULL;
	json_t *arr = NULL;
	size_t n = 0;
	bool begun = false;
	int rc, status = WK_CLI_FAILED;

	if ((rc = wallet_cli_open_purse(cli, &card, NULL)) != WK_OK)
		goto fail;
	if ((rc = wk_card_begin(card)) != WK_OK)
		goto fail;
	begun = true;
	if (wallet_cli_pin_given(o) && (rc = wallet_cli_verify(cli, card, o)) != WK_OK)
		goto fail;
	rc = wk_purse_records(card, rec, WK_PURSE_RECORDS_MAX, &n);
	if (wallet_cli_needs_pin(rc) && !wallet_cli_pin_given(o)) {
		if ((rc = wallet_cli_verify(cli, card, o)) != WK_OK)
			goto fail;
		rc = wk_purse_records(card, rec, WK_PURSE_RECORDS_MAX, &n);
	}
	if (rc != WK_OK)
		goto fail;
	(void)wk_card_end(card);
	begun = false;
	if (cli->json) {
		if ((arr = json_array()) == NULL)
			goto out;
	} else if ((table = wk_cli_table_new(5, headers)) == NULL) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char when[24], amount[24], term[13], seq[8];
		const char *cells[5] = { when, wallet_cli_type_name(rec[i].type), amount, term,
		    seq };

		bcd_date_time(rec[i].date, rec[i].time, when, sizeof(when));
		wk_purse_amount_format(rec[i].amount, amount, sizeof(amount));
		wk_hex_encode(rec[i].terminal, 6, term);
		snprintf(seq, sizeof(seq), "%u", rec[i].seq);
		if (cli->json) {
			json_t *j = json_pack("{s:s,s:i,s:s,s:I,s:s,s:s,s:i,s:I}",
			    "time", when, "type", rec[i].type, "type_name",
			    wallet_cli_type_name(rec[i].type), "amount_fen",
			    (json_int_t)rec[i].amount, "amount", amount, "terminal",
			    term, "seq", rec[i].seq, "overdraft_fen",
			    (json_int_t)rec[i].overdraft);

			if (j == NULL || json_array_append_new(arr, j) != 0)
				goto out;
		} else if (wk_cli_table_add(table, cells) != 0) {
			goto out;
		}
	}
	if (cli->json) {
		status = wk_cli_json_print(json_pack("{s:O}", "records", arr));
	} else {
		if (n == 0)
			printf("no transactions\n");
		else
			wk_cli_table_print(table, stdout);
		status = WK_CLI_OK;
	}
	goto out;
fail:
	if (begun)
		(void)wk_card_end(card);
	begun = false;
	status = wk_cli_fail(cli, "wallet records", rc);
out:
	if (begun)
		(void)wk_card_end(card);
	json_decref(arr);
	wk_cli_table_free(&table);
	return status;
}


int
wk_cmd_wallet(wk_cli *cli, int argc, char **argv)
{
	wopts o;
	const char *sub;
	int status;

	if ((status = wk_cli_group_usage(argc, argv, wallet_usage, false)) >= 0)
		return status;
	sub = argv[1];
	/* the purse PIN: cmd_wallet_pin.c (moves no value) */
	if (strcmp(sub, "pin") == 0)
		return wk_cmd_wallet_pin(cli, argc, argv);
	/* load --issuer, recover, transfer: cmd_wallet_remote.c; a load left
	 * unfinished is settled before any other wallet command */
	if (wk_cmd_wallet_remote_owns(argc, argv))
		return wk_cmd_wallet_remote(cli, argc, argv);
	wk_cmd_wallet_remote_auto(cli, argc, argv);
	if ((status = wallet_cli_parse(cli, argc, argv, &o, false)) != WK_CLI_OK)
		return status;
	sel_opts = &o;
	if (strcmp(sub, "info") == 0)
		return cmd_info(cli, &o);
	if (strcmp(sub, "balance") == 0)
		return cmd_balance(cli, &o);
	if (strcmp(sub, "records") == 0)
		return cmd_records(cli, &o);
	if (strcmp(sub, "purchase") == 0)
		return wallet_cli_cmd_txn(cli, &o, false);
	if (strcmp(sub, "load") == 0)
		return wallet_cli_cmd_txn(cli, &o, true);
	if (strcmp(sub, "prove") == 0)
		return wallet_cli_cmd_prove(cli, &o);
	if (strcmp(sub, "recover") == 0) {
		if ((o.sam == NULL && o.psam == NULL) || o.type != NULL ||
		    o.seq != NULL)
			return wk_cli_usage(cli, "wallet recover needs --psam READER "
			    "(or --sam FILE --insecure-master-keys)");
		return wallet_cli_cmd_prove(cli, &o);
	}
	if (strcmp(sub, "sam-init") == 0)
		return wallet_cli_cmd_sam_init(cli, &o);
	if (strcmp(sub, "settle") == 0)
		return wallet_cli_cmd_settle(cli, &o);
	return wk_cli_usage(cli, "unknown wallet subcommand '%s' (info, balance, "
	    "records, purchase, load, prove, recover, sam-init, settle, "
	    "transfer, unblock, session, pin)", sub);
}
