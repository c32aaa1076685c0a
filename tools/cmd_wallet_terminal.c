/*
 * walletkey wallet purchase|load|prove|recover|sam-init|settle: a
 * terminal's side of the PBOC purse, through its PSAM card or, in tests
 * and the demo, a software SAM (docs/wallet.md)
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

/* a software SAM holds the issuer's master keys: only when asked by name */
static const char insecure_msg[] =
    "--sam FILE is a software SAM: the issuer's master keys in a file, and "
    "whoever has the file loads any card. It is for tests and the demo only; "
    "add --insecure-master-keys to use it. A terminal uses a PSAM card "
    "(--psam READER), and loads are remote (wallet load --issuer URL)";

static bool
answer_lost(const wk_purse_txn *txn)
{
	return txn->state == WK_PURSE_TXN_SENT;
}

/* psam: the TAC is not checked here (the DTK stays at the issuer, which
 * checks it at settlement); MAC2 was, by the PSAM */
static int
print_txn(wk_cli *cli, const char *what, const wk_purse_txn *txn,
    const char *outcome, bool psam)
{
	char amount[24], after[24], term[13], tseq[9];
	const char *alg;
	uint32_t newbal;
	bool load = txn->type == 0x01 || txn->type == 0x02;

	newbal = load ? txn->old_balance + txn->amount :
	    txn->old_balance - txn->amount;
	wk_purse_amount_format(txn->amount, amount, sizeof(amount));
	wk_purse_amount_format(newbal, after, sizeof(after));
	wk_hex_encode(txn->terminal, 6, term);
	wk_hex_encode(txn->term_seq, 4, tseq);
	/* the algorithm of the card's key of this transaction (its
	 * INITIALIZE's answer; docs/purse.md "SM4 keys") */
	alg = txn->alg == WK_PURSE_ALG_SM4 ? "sm4" : "3des";
	if (cli->json)
		return wk_cli_json_print(json_pack(
		    "{s:s,s:s,s:i,s:I,s:s,s:I,s:s,s:i,s:s,s:o,s:s,s:s}",
		    "operation", what, "outcome", outcome, "type", txn->type,
		    "amount_fen", (json_int_t)txn->amount, "amount", amount,
		    "balance_fen", (json_int_t)newbal, "terminal", term,
		    "card_seq", txn->card_seq, "term_seq", tseq,
		    "tac", wk_cli_json_hex(txn->tac, 4), "checked", psam ?
		    "MAC2 by the PSAM; TAC by the issuer at settlement" :
		    "MAC2 and TAC by the SAM", "key_algorithm", alg));
	printf("%s of %s: %s\n", what, amount, outcome);
	printf("balance:  %s\ncard seq: %u\nterminal: %s", after, txn->card_seq,
	    term);
	if (!load)
		printf(" (transaction %s)", tseq);
	printf("\nTAC:      ");
	wk_cli_print_hex(stdout, txn->tac, 4);
	printf(psam ? " (MAC2 verified by the PSAM; the issuer checks the TAC"
	    " at settlement)\n" : " (verified)\n");
	printf("keys:     %s\n", txn->alg == WK_PURSE_ALG_SM4 ? "SM4" : "3DES");
	return WK_CLI_OK;
}

/* a completed purchase goes into the proof journal before the SAM closes
 * it; on failure the SAM keeps it open so 'prove --sam' journals it again */
static int
journal_purchase(const char *sam_path, wk_sam *sam, wk_purse_txn *txn)
{
	int rc;

	if (txn->state == WK_PURSE_TXN_DONE && (txn->type == 0x05 ||
	    txn->type == 0x06) &&
	    (rc = wallet_proofs_append(sam_path, txn)) != WK_OK) {
		fprintf(stderr, "walletkey: the purchase is done but its proof "
		    "could not be written to %s.proofs (%s); run 'walletkey wallet "
		    "prove --sam %s' to write it\n", sam_path, wk_strerror(rc),
		    sam_path);
		return rc;
	}
	return wk_sam_settle(sam, txn);
}

/* the terminal: a PSAM card (--psam) or, for tests and the demo, a SAM
 * file (--sam with --insecure-master-keys); jpath gets the journal beside
 * which the proofs are kept (FILE.proofs) and hint how to prove later */
typedef struct wterm {
	wk_sam *sam;
	wk_ctx *ctx;		/* the PSAM's own: the customer card reconnects */
	wk_card *psam;
	char jpath[1100];
	char hint[1200];
} wterm;

static void
term_close(wterm *t)
{
	wk_sam_free(&t->sam);	/* ends the PSAM's transaction first */
	wk_card_free(&t->psam);
	wk_ctx_free(&t->ctx);
}

/* STATE/terminal-<terminal id>.json, or --journal */
static int
terminal_journal(const wopts *o, const uint8_t tid[6], char *out, size_t cap)
{
	char dir[1024], h[13];

	if (o->journal != NULL) {
		snprintf(out, cap, "%s", o->journal);
		return WK_CLI_OK;
	}
	if (wallet_state_dir(NULL, dir, sizeof(dir)) != WK_CLI_OK)
		return WK_CLI_FAILED;
	wk_hex_encode(tid, 6, h);
	snprintf(out, cap, "%s/terminal-%s.json", dir, h);
	return WK_CLI_OK;
}

/* the PSAM card in reader (on a PC/SC context of its own, *ctx: a lost
 * customer card drops the CLI's): selected, its terminal id (provisioned) */
static int
psam_open(wk_cli *cli, const char *reader, wk_ctx **ctx, wk_card **pc,
    wk_psam_info *info)
{
	int rc;

	if ((rc = wk_ctx_new(ctx)) != WK_OK ||
	    (rc = wk_card_open(*ctx, reader, pc)) != WK_OK ||
	    (rc = wk_psam_select(*pc)) != WK_OK ||
	    (rc = wk_psam_get_info(*pc, info)) != WK_OK) {
		fprintf(stderr, "walletkey: reader %s: %s\n", reader,
		    rc == WK_ERR_NOT_FOUND ? "no PSAM on this card" :
		    wk_strerror(rc));
		return wk_cli_fail(cli, "open the PSAM", rc);
	}
	if (info->state != WK_PSAM_INSTALLED) {
		fprintf(stderr, "walletkey: the PSAM in %s holds no purchase key"
		    " yet: 'walletkey --reader %s psam init', the issuer's"
		    " 'walletkey-issuer psam-issue', then 'walletkey psam"
		    " install'\n", reader, reader);
		return WK_CLI_FAILED;
	}
	return WK_CLI_OK;
}

static int
term_open(wk_cli *cli, const wopts *o, bool load, wterm *t)
{
	wk_psam_info info;
	int rc, st;

	memset(t, 0, sizeof(*t));
	if (o->psam != NULL && o->sam != NULL)
		return wk_cli_usage(cli, "give --psam READER or --sam FILE, not both");
	if (o->psam != NULL) {
		if (load)
			return wk_cli_usage(cli, "a PSAM holds no load key: loads are"
			    " remote (wallet load --issuer URL)");
		if ((st = psam_open(cli, o->psam, &t->ctx, &t->psam, &info)) !=
		    WK_CLI_OK ||
		    (st = terminal_journal(o, info.terminal, t->jpath,
		    sizeof(t->jpath))) != WK_CLI_OK)
			return st;
		snprintf(t->hint, sizeof(t->hint), "--psam '%s'%s%s", o->psam,
		    o->journal ? " --journal " : "", o->journal ? o->journal : "");
		if ((rc = wk_sam_open_psam(t->psam, t->jpath, &t->sam)) != WK_OK) {
			fprintf(stderr, "walletkey: the terminal journal %s: %s\n",
			    t->jpath, rc == WK_ERR_ARG ? "not this PSAM's journal"
			    " (walletkey-terminal of another terminal or PSAM)" :
			    wk_strerror(rc));
			return wk_cli_fail(cli, "open the PSAM", rc);
		}
		return WK_CLI_OK;
	}
	if (o->sam == NULL)
		return wk_cli_usage(cli, "wallet %s needs --psam READER (a SAM file"
		    " with --insecure-master-keys in tests)", load ? "load" :
		    "purchase");
	if (!o->insecure)
		return wk_cli_usage(cli, "%s", insecure_msg);
	snprintf(t->jpath, sizeof(t->jpath), "%s", o->sam);
	snprintf(t->hint, sizeof(t->hint), "--sam %s --insecure-master-keys",
	    o->sam);
	if ((rc = wk_sam_open(o->sam, &t->sam)) != WK_OK) {
		fprintf(stderr, "walletkey: cannot use the SAM file %s: %s\n",
		    o->sam, rc == WK_ERR_ARG ? "not a walletkey SAM file "
		    "(see docs/wallet.md)" : wk_strerror(rc));
		return WK_CLI_FAILED;
	}
	return WK_CLI_OK;
}

/* the answer to DEBIT/CREDIT was lost: ask the card whether it happened */
static int
recover(wk_cli *cli, wterm *t, const wopts *o, const char *what,
    wk_purse_txn *txn)
{
	wk_card *card = NULL;
	int rc;

	fprintf(stderr, "walletkey: the card's answer to the %s was lost; asking "
	    "the card for the transaction proof\n", what);
	if ((rc = wallet_cli_reopen_purse(cli, o->recover_wait, &card)) != WK_OK) {
		fprintf(stderr, "walletkey: the card did not come back (%s): the "
		    "outcome is unknown; run 'walletkey wallet prove %s' "
		    "when it is back\n", wk_strerror(rc), t->hint);
		return WK_CLI_FAILED;
	}
	if ((rc = wk_purse_recover(card, t->sam, txn)) != WK_OK) {
		fprintf(stderr, "walletkey: the proof could not be read (%s): the "
		    "outcome is unknown; run 'walletkey wallet prove %s'\n",
		    wk_strerror(rc), t->hint);
		return WK_CLI_FAILED;
	}
	if (journal_purchase(t->jpath, t->sam, txn) != WK_OK)
		fprintf(stderr, "walletkey: warning: could not record the outcome "
		    "in %s\n", t->jpath);
	if (txn->state == WK_PURSE_TXN_DONE)
		return print_txn(cli, what, txn, t->psam != NULL ?
		    "completed (confirmed by GET TRANSACTION PROVE, MAC2 verified"
		    " by the PSAM)" : "completed (confirmed by GET TRANSACTION "
		    "PROVE, TAC verified)", t->psam != NULL);
	if (cli->json)
		wk_cli_json_print(json_pack("{s:s,s:s,s:i}", "operation", what,
		    "outcome", "not done", "card_seq", txn->card_seq));
	fprintf(stderr, "walletkey: the %s was not done: the card has no proof "
	    "of it, nothing changed\n", what);
	return WK_CLI_FAILED;
}

int
wallet_cli_cmd_txn(wk_cli *cli, const wopts *o, bool load)
{
	const char *what = load ? "load" : "purchase";
	wk_card *card = NULL;
	wterm t;
	wk_purse_app app;
	wk_purse_txn txn;
	uint8_t tid[6], sam_term[6];
	uint32_t amount = 0;
	bool use_pin;
	int rc, status = WK_CLI_FAILED;

	memset(&txn, 0, sizeof(txn));
	memset(&t, 0, sizeof(t));
	if (o->amount == NULL)
		return wk_cli_usage(cli, "wallet %s needs --amount YUAN", what);
	if (wk_purse_amount_parse(o->amount, &amount) != WK_OK)
		return wk_cli_usage(cli, "'%s' is not an amount: give yuan above 0 "
		    "with at most 2 decimals, e.g. 12.30 (at most 42949672.95)",
		    o->amount);
	if (o->terminal != NULL && wallet_cli_parse_terminal(cli, o->terminal, tid) !=
	    WK_CLI_OK)
		return WK_CLI_USAGE;
	if ((status = term_open(cli, o, load, &t)) != WK_CLI_OK)
		goto out;
	status = WK_CLI_FAILED;
	wk_sam_terminal(t.sam, sam_term);
	if (o->terminal != NULL && memcmp(tid, sam_term, 6) != 0) {
		char h[13];

		wk_hex_encode(sam_term, 6, h);
		status = wk_cli_usage(cli, "the %s belongs to terminal %s, not %s",
		    t.psam != NULL ? "PSAM" : "SAM", h, o->terminal);
		goto out;
	}
	if ((rc = wallet_cli_open_purse(cli, &card, &app)) != WK_OK) {
		status = wk_cli_fail(cli, what, rc);
		goto out;
	}
	/* ED always needs the PIN; EP only when the card asks for it. VERIFY
	 * and the transaction share one card transaction (begin nests) */
	use_pin = o->kind == WK_PURSE_ED || wallet_cli_pin_given(o);
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((rc = wk_card_begin(card)) != WK_OK)
			break;
		if (use_pin && (rc = wallet_cli_verify(cli, card, o)) != WK_OK) {
			(void)wk_card_end(card);
			break;
		}
		if (load)
			rc = wk_purse_load(card, t.sam, &app, o->kind, amount, NULL, 0,
			    &txn);
		else
			rc = wk_purse_purchase(card, t.sam, &app, o->kind, amount, NULL,
			    0, &txn);
		(void)wk_card_end(card);
		if (!(wallet_cli_needs_pin(rc) && !use_pin && txn.state == WK_PURSE_TXN_NONE))
			break;
		use_pin = true;
	}
	if (rc == WK_OK) {
		if (journal_purchase(t.jpath, t.sam, &txn) != WK_OK && !load) {
			status = WK_CLI_FAILED;
			goto out;
		}
		status = print_txn(cli, what, &txn, "done", t.psam != NULL);
		goto out;
	}
	if (txn.state == WK_PURSE_TXN_NOT_DONE)
		(void)wk_sam_settle(t.sam, &txn);	/* the card refused: closed */
	if (answer_lost(&txn) && rc != WK_ERR_AUTH_FAILED) {
		status = recover(cli, &t, o, what, &txn);
		goto out;
	}
	if (rc == WK_ERR_AUTH_FAILED) {
		fprintf(stderr, "walletkey: %s: the card's %s did not verify with "
		    "the %s: wrong %s for this card, or not a genuine card\n", what,
		    txn.state == WK_PURSE_TXN_SENT ? "MAC2/TAC" : "MAC1",
		    t.psam != NULL ? "PSAM" : "SAM's keys",
		    t.psam != NULL ? "issuer" : "SAM");
		if (cli->json)
			wk_cli_fail(cli, what, rc);
		goto out;
	}
	status = wk_cli_fail(cli, what, rc);
out:
	sodium_memzero(&txn, sizeof(txn));
	term_close(&t);
	return status;
}

static int
parse_type(const char *s, wk_purse_kind kind, uint8_t *type)
{
	char *end;
	unsigned long v;

	if (s == NULL)
		return -1;
	if (strcmp(s, "purchase") == 0)
		*type = kind == WK_PURSE_EP ? 0x06 : 0x05;
	else if (strcmp(s, "load") == 0)
		*type = kind == WK_PURSE_EP ? 0x02 : 0x01;
	else {
		errno = 0;
		v = strtoul(s, &end, 0);
		if (errno != 0 || *end != '\0' || v == 0 || v > 0xFF)
			return -1;
		*type = (uint8_t)v;
	}
	return 0;
}

int
wallet_cli_cmd_prove(wk_cli *cli, const wopts *o)
{
	wk_card *card = NULL;
	wterm t;
	wk_purse_txn txn;
	uint8_t type = 0, mac[4], tac[4];
	unsigned long seq;
	char *end;
	int rc, status = WK_CLI_FAILED;

	memset(&t, 0, sizeof(t));
	memset(&txn, 0, sizeof(txn));
	if ((o->sam != NULL || o->psam != NULL) && o->seq == NULL &&
	    o->type == NULL) {
		if ((status = term_open(cli, o, false, &t)) != WK_CLI_OK)
			goto out;
		status = WK_CLI_FAILED;
		if (wk_sam_last(t.sam, &txn) != WK_OK) {
			fprintf(stderr, "walletkey: the terminal journal %s has no "
			    "transaction to prove\n", t.jpath);
			goto out;
		}
		if ((rc = wallet_cli_reopen_purse(cli, o->recover_wait, &card)) != WK_OK) {
			status = wk_cli_fail(cli, "wallet prove", rc);
			goto out;
		}
		if ((rc = wk_purse_recover(card, t.sam, &txn)) != WK_OK) {
			status = wk_cli_fail(cli, "wallet prove", rc);
			goto out;
		}
		(void)journal_purchase(t.jpath, t.sam, &txn);
		if (txn.state == WK_PURSE_TXN_DONE) {
			status = print_txn(cli, wallet_cli_type_name(txn.type), &txn,
			    t.psam != NULL ? "completed (confirmed by GET "
			    "TRANSACTION PROVE, MAC2 verified by the PSAM)" :
			    "completed (confirmed by GET TRANSACTION PROVE, TAC "
			    "verified)", t.psam != NULL);
		} else {
			if (cli->json)
				wk_cli_json_print(json_pack("{s:s,s:s,s:i}",
				    "operation", wallet_cli_type_name(txn.type), "outcome",
				    "not done", "card_seq", txn.card_seq));
			fprintf(stderr, "walletkey: the last %s (card seq %u) has no "
			    "proof on the card: it was not done, or the card has done "
			    "another %s since\n", wallet_cli_type_name(txn.type), txn.card_seq,
			    wallet_cli_type_name(txn.type));
		}
		goto out;
	}
	if (parse_type(o->type, o->kind, &type) != 0 || o->seq == NULL)
		return wk_cli_usage(cli, "wallet prove needs --psam READER (or --sam"
		    " FILE --insecure-master-keys), or --type purchase|load --seq N");
	errno = 0;
	seq = strtoul(o->seq, &end, 10);
	if (errno != 0 || *end != '\0' || seq > 0xFFFF || o->seq[0] == '-')
		return wk_cli_usage(cli, "--seq takes 0 to 65535");
	if ((rc = wallet_cli_open_purse(cli, &card, NULL)) != WK_OK ||
	    (rc = wk_purse_prove(card, type, (uint16_t)seq, mac, tac)) != WK_OK) {
		status = wk_cli_fail(cli, "wallet prove", rc);
		goto out;
	}
	if (cli->json) {
		status = wk_cli_json_print(json_pack("{s:i,s:i,s:o,s:o}", "type",
		    type, "seq", (int)seq, "mac", wk_cli_json_hex(mac, 4), "tac",
		    wk_cli_json_hex(tac, 4)));
	} else {
		printf("%s seq %lu: MAC ", wallet_cli_type_name(type), seq);
		wk_cli_print_hex(stdout, mac, 4);
		printf(" TAC ");
		wk_cli_print_hex(stdout, tac, 4);
		printf(" (not verified: use --sam FILE to verify the last "
		    "transaction)\n");
		status = WK_CLI_OK;
	}
out:
	sodium_memzero(&txn, sizeof(txn));
	term_close(&t);
	return status;
}

int
wallet_cli_cmd_sam_init(wk_cli *cli, const wopts *o)
{
	uint8_t term[6];
	int rc;

	if (o->master_keys == NULL || o->terminal == NULL || o->out == NULL)
		return wk_cli_usage(cli, "wallet sam-init needs --master-keys FILE "
		    "--terminal ID --out FILE --insecure-master-keys");
	if (!o->insecure)
		return wk_cli_usage(cli, "wallet sam-init writes the issuer's master "
		    "keys into a software SAM file, which loads any card: tests and "
		    "the demo only; add --insecure-master-keys. A terminal uses a "
		    "PSAM card (walletkey psam)");
	if (wallet_cli_parse_terminal(cli, o->terminal, term) != WK_CLI_OK)
		return WK_CLI_USAGE;
	if ((rc = wk_sam_create(o->out, o->master_keys, term)) != WK_OK) {
		if (rc == WK_ERR_ARG && access(o->out, F_OK) == 0)
			fprintf(stderr, "walletkey: %s exists: a SAM file is never "
			    "overwritten (its counter must not go back)\n", o->out);
		else if (rc == WK_ERR_ARG)
			fprintf(stderr, "walletkey: %s is not a master-key file: "
			    "{\"dlk\":..,\"dpk\":..,\"dtk\":..,\"dulk\":..,\"duk\":..} "
			    "with 32 hex digits each\n", o->master_keys);
		return wk_cli_fail(cli, "wallet sam-init", rc);
	}
	if (cli->json)
		return wk_cli_json_print(json_pack("{s:s,s:s}", "sam", o->out,
		    "terminal", o->terminal));
	printf("SAM for terminal %s written to %s\n", o->terminal, o->out);
	return WK_CLI_OK;
}

/* the journal to settle: --journal, --sam FILE (its FILE.proofs; no key is
 * used), or the PSAM's default journal */
int
wallet_cli_cmd_settle(wk_cli *cli, const wopts *o)
{
	wk_psam_info info;
	wk_card *pc = NULL;
	wk_ctx *ctx = NULL;
	char path[1100];
	int st, n = (o->sam != NULL) + (o->psam != NULL) + (o->journal != NULL);

	if (o->issuer == NULL || n == 0 || (n > 1 && !(n == 2 && o->psam &&
	    o->journal)))
		return wk_cli_usage(cli, "wallet settle needs --issuer URL and "
		    "--psam READER, --journal FILE or --sam FILE");
	if (o->sam != NULL)
		return wallet_proofs_settle(cli, o->sam, o->issuer);
	if (o->journal != NULL)
		return wallet_proofs_settle(cli, o->journal, o->issuer);
	st = psam_open(cli, o->psam, &ctx, &pc, &info);
	if (st == WK_CLI_OK)
		st = terminal_journal(o, info.terminal, path, sizeof(path));
	wk_card_free(&pc);
	wk_ctx_free(&ctx);
	if (st != WK_CLI_OK)
		return st;
	return wallet_proofs_settle(cli, path, o->issuer);
}
