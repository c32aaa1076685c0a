/*
 * walletkey audit sync and verify --issuer (docs/audit.md "Sync with the
 * issuer"): the card's records go to the issuer sealed to its key, the
 * issuer's CA-signed acknowledgement goes to the card; verify compares the
 * card's log with the issuer's signed history and ledger. Both are
 * libwalletkey's (wk_audit_sync, wk_audit_verify_issuer): this file asks
 * for the PIN, opens the holder's session and prints.
 */
#include "audit_cli.h"
#include "wallet_reports.h"
#include "wallet_state.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_hex.h"

/* ---- sync with the issuer (docs/audit.md "Sync with the issuer") ---- */

#define SYNC_ROUNDS 3	/* upload and acknowledge again when the head moved */

/* for the crash tests, as the remote wallet commands: WALLETKEY_FAULT_AT=STEP
 * kills this process with SIGKILL at STEP ("sync-page-N" after the Nth page
 * the issuer stored, "sync-acked" between the issuer's acknowledgement and
 * the card's), or runs WALLETKEY_FAULT_CMD there instead */
static void
sync_fault(const char *step)
{
	const char *at = getenv("WALLETKEY_FAULT_AT");
	const char *cmd = getenv("WALLETKEY_FAULT_CMD");

	if (at == NULL || strcmp(at, step) != 0)
		return;
	fflush(NULL);
	if (cmd == NULL || cmd[0] == '\0')
		raise(SIGKILL);
	if (system(cmd) != 0)
		fprintf(stderr, "walletkey: fault command failed\n");
}

/* the issuer's refusal (or the failed call) in words */
static void
issuer_said(const char *what, int rc, long http, const char *code,
    const char *message)
{
	if (rc == WK_ERR_ISSUER && http != 0)
		fprintf(stderr, "walletkey: %s: the issuer refused (%ld %s): %s\n",
		    what, http, code, message);
	else
		fprintf(stderr, "walletkey: %s: %s%s%s\n", what, wk_strerror(rc),
		    message[0] ? ": " : "", message);
}

static void
issuer_say(wk_issuer *is, const char *what, int rc)
{
	issuer_said(what, rc, wk_issuer_http_status(is), wk_issuer_error_code(is),
	    wk_issuer_error_message(is));
}

static void
sync_progress(bool json, uint64_t done, uint64_t total)
{
	if (json || total == 0)
		return;
	if (isatty(STDERR_FILENO)) {
		audit_cli_progress(done, total);
		return;
	}
	fprintf(stderr, "sync: %" PRIu64 "/%" PRIu64 " records\n", done, total);
}

/* the sync is libwalletkey's wk_audit_sync; here what it asks and says */
typedef struct sctx {
	wk_cli *cli;
	const aopts *o;
	wk_issuer *is;
} sctx;

static bool
sync_pin(void *arg, char *pin, size_t cap, size_t *len)
{
	sctx *c = arg;

	return audit_cli_pin(c->o, pin, cap, len) == WK_OK;
}

/* a new connection after a lost link (the card or pcscd restarted) */
static int
sync_reconnect(void *arg, wk_card **card)
{
	sctx *c = arg;

	wk_card_free(&c->cli->card);
	wk_ctx_free(&c->cli->ctx);
	*card = NULL;
	return wk_cli_card(c->cli, card);
}

static void
sync_failed(sctx *c, const wk_sync_event *ev)
{
	wk_cli *cli = c->cli;

	switch (ev->failed) {
	case WK_SYNC_STEP_KEY:
		if (ev->rc == WK_ERR_BAD_DATA)
			fprintf(stderr, "walletkey: audit sync: the issuer's key is "
			    "malformed\n");
		else
			issuer_said("audit sync", ev->rc, ev->http_status, ev->error,
			    ev->message);
		break;
	case WK_SYNC_STEP_SESSION:
		if (ev->rc == WK_ERR_CONDITIONS)
			fprintf(stderr, "walletkey: audit sync: the card is not "
			    "enrolled with an issuer (walletkey enroll)\n");
		else
			issuer_said("audit sync: the issuer's session", ev->rc,
			    ev->http_status, ev->error, ev->message);
		break;
	case WK_SYNC_STEP_BANK:
		if (ev->issuer)
			issuer_said("audit sync: the bank's records", ev->rc,
			    ev->http_status, ev->error, ev->message);
		else
			(void)wk_cli_fail(cli, "audit sync: the bank's records",
			    ev->rc);
		break;
	case WK_SYNC_STEP_PIN:
		if (ev->rc == WK_ERR_WRONG_PIN)
			fprintf(stderr, "walletkey: wrong PIN, %d tries left\n",
			    ev->tries_left);
		else
			(void)wk_cli_fail(cli, "audit sync", ev->rc);
		break;
	case WK_SYNC_STEP_HEAD:
		if (ev->rc == WK_ERR_NOT_FOUND)
			fprintf(stderr, "walletkey: audit sync: no wallet key in PIV"
			    " slot 82 (walletkey enroll)\n");
		else
			(void)wk_cli_fail(cli, "audit sync", ev->rc);
		break;
	case WK_SYNC_STEP_PAGE:
	case WK_SYNC_STEP_ACKED:
		if (ev->issuer && ev->rc == WK_ERR_BAD_DATA &&
		    ev->failed == WK_SYNC_STEP_PAGE)
			fprintf(stderr, "walletkey: audit sync: the issuer stored "
			    "nothing from seq %" PRIu64 "\n", ev->seq);
		else if (ev->issuer && ev->rc == WK_ERR_BAD_DATA)
			fprintf(stderr, "walletkey: audit sync: the issuer's "
			    "acknowledgement is malformed\n");
		else if (ev->issuer)
			issuer_said("audit sync", ev->rc, ev->http_status, ev->error,
			    ev->message);
		else
			(void)wk_cli_fail(cli, "audit sync", ev->rc);
		break;
	case WK_SYNC_STEP_CARD_ACKED:
		fprintf(stderr, "walletkey: audit sync: the card refused the "
		    "issuer's acknowledgement (%04X): %s\n", ev->sw,
		    wk_strerror(ev->rc));
		break;
	case WK_SYNC_STEP_CRL:
		if (ev->issuer)
			fprintf(stderr, "walletkey: audit sync: the issuer's "
			    "revocation list is malformed\n");
		else
			fprintf(stderr, "walletkey: audit sync: the card refused the "
			    "issuer's revocation list version %" PRIu64 " (%04X): "
			    "%s\n", ev->seq, ev->sw, ev->sw == 0x6985 ?
			    "it holds a newer one" : wk_strerror(ev->rc));
		break;
	default:
		(void)wk_cli_fail(cli, "audit sync", ev->rc);
		break;
	}
}

static void
sync_step(void *arg, const wk_sync_event *ev)
{
	sctx *c = arg;
	char step[32];

	switch (ev->step) {
	case WK_SYNC_STEP_CARD:
		/* the transfers this card sent or received that wait to be
		 * reported (docs/remote-load.md "Reporting a transfer") */
		(void)wallet_reports_flush(c->cli, NULL, ev->serial, c->o->issuer,
		    NULL, NULL);
		break;
	case WK_SYNC_STEP_PAGE:
		sync_progress(c->cli->json, ev->done, ev->total);
		snprintf(step, sizeof(step), "sync-page-%u", ev->count);
		sync_fault(step);
		break;
	case WK_SYNC_STEP_LOST:
		if (!c->cli->json)
			fprintf(stderr, "\nwalletkey: the card was lost at seq %"
			    PRIu64 "; resuming\n", ev->seq);
		break;
	case WK_SYNC_STEP_ACKED:
		sync_fault("sync-acked");
		break;
	case WK_SYNC_STEP_FAILED:
		sync_failed(c, ev);
		break;
	default:
		break;
	}
}

int
audit_sync(wk_cli *cli, const aopts *o)
{
	wk_sync_opts so = { .page_max = audit_cli_page_max(),
	    .reconnect = sync_reconnect };
	wk_sync_result r;
	wk_issuer *is = NULL;
	wk_card *card = NULL;
	sctx c = { .cli = cli, .o = o };
	int rc, status = WK_CLI_FAILED;

	if (o->issuer == NULL)
		return wk_cli_usage(cli, "audit sync needs --issuer URL");
	if ((rc = wk_issuer_new(o->issuer, &is)) != WK_OK)
		return wk_cli_usage(cli, "--issuer: an http:// or https:// URL");
	c.is = is;
	rc = wk_audit_sync(&card, is, &so, sync_pin, sync_step, &c, &r);
	if (rc == WK_ERR_PIN_BLOCKED) {
		/* the card cannot open the holder's session: this contact
		 * delivers the bank's PIN reload, if ordered */
		(void)wallet_pin_blocked_contact(cli, card, is, r.serial,
		    "audit sync");
		goto out;
	}
	if (rc != WK_OK)
		goto out;
	if (r.empty) {
		/* an empty log: nothing to upload or acknowledge */
		status = cli->json ? wk_cli_json_print(json_pack("{s:s, "
		    "s:i, s:i, s:i, s:i}", "serial", r.serial, "head", 0,
		    "uploaded", 0, "missing_at_issuer", 0, "acked", 0)) :
		    (printf("synced: the card's audit log is empty\n"),
		    WK_CLI_OK);
		goto out;
	}
	if (cli->json) {
		/* where the time went: the card's commands (its work and the
		 * PC/SC link), the issuer's calls (HTTP and its work), the rest */
		status = wk_cli_json_print(json_pack("{s:s, s:I, s:I, s:I, s:I, "
		    "s:I, s:I, s:I, s:i, s:i, s:b, s:{s:f, s:f, s:f}}", "serial",
		    r.serial, "head", (json_int_t)r.head, "uploaded",
		    (json_int_t)r.uploaded, "missing_at_issuer",
		    (json_int_t)r.missing, "missing_first",
		    (json_int_t)(r.missing ? r.missing_first : 0), "missing_last",
		    (json_int_t)(r.missing ? r.missing_last : 0), "acked",
		    (json_int_t)r.acked, "revocation_list_version",
		    (json_int_t)r.crl_version, "revoked_cards", (int)r.revoked,
		    "bank_records", (int)r.bank, "bank_records_complete",
		    r.bank_complete, "timing_ms", "total", r.total_ms, "card",
		    r.card_ms, "issuer", r.issuer_ms));
		goto out;
	}
	if (r.missing > 0)
		printf("missing at the issuer: %" PRIu64 " record%s on the card "
		    "(seq %" PRIu64 "..%" PRIu64 "), now uploaded\n", r.missing,
		    r.missing == 1 ? "" : "s", r.missing_first, r.missing_last);
	printf("synced: head seq %" PRIu64 ", %" PRIu64 " record%s uploaded, "
	    "acknowledged by the issuer up to seq %" PRIu64 "\n",
	    r.head, r.uploaded, r.uploaded == 1 ? "" : "s", r.acked);
	if (r.crl)
		printf("revocation list version %" PRIu64 " (%u revoked card%s)"
		    " taken by the card\n", r.crl_version, r.revoked,
		    r.revoked == 1 ? "" : "s");
	if (r.bank > 0)
		printf("the bank's records: %u new on the card%s\n", r.bank,
		    r.bank_later > 0 ? " (they reach the issuer at the next sync)" :
		    "");
	if (!r.bank_complete)
		printf("the card's log is full: the bank's newest records wait for"
		    " the next sync\n");
	status = WK_CLI_OK;
out:
	wk_issuer_free(&is);
	return status;
}

/* ---- verify --issuer: every record against the issuer's history ---- */

/* the holder's session of the export's card: the issuer shows a card's
 * history to that card after its PIN only (docs/issuer.md "Sessions") */
static int
holder_session(wk_cli *cli, const aopts *o, const audit_doc *d,
    wk_issuer *is)
{
	char pin[PIN_MAX + 2], sx[17];
	size_t pin_len = 0;
	wk_card_info info;
	wk_card *card = NULL;
	int rc, tries = -1;

	if ((rc = wk_cli_card(cli, &card)) != WK_OK ||
	    (rc = wk_card_get_info(card, &info)) != WK_OK) {
		wk_cli_fail(cli, "audit verify: the card of the export", rc);
		return rc;
	}
	if (memcmp(info.serial, d->serial, 8) != 0) {
		wk_hex_encode(d->serial, 8, sx);
		fprintf(stderr, "walletkey: audit verify: the issuer shows card %s's"
		    " history only to that card: put it in the reader (--reader)\n",
		    sx);
		return WK_ERR_ARG;
	}
	if ((rc = audit_cli_pin(o, pin, sizeof(pin), &pin_len)) != WK_OK)
		return rc;
	rc = wk_issuer_session_open(card, is, pin, pin_len, &tries, NULL);
	sodium_memzero(pin, sizeof(pin));
	if (rc == WK_ERR_WRONG_PIN)
		fprintf(stderr, "walletkey: wrong PIN, %d tries left\n", tries);
	else if (rc != WK_OK)
		issuer_say(is, "audit verify: the issuer's session", rc);
	return rc;
}

int
audit_verify_issuer(wk_cli *cli, const aopts *o, const audit_doc *d,
    audit_report_fn report, void *ctx, size_t *faults)
{
	wk_audit_log_view log = { .records = d->raw, .n = d->n,
	    .head = d->have_head ? &d->head : NULL, .cert_pem = d->cert_pem };
	wk_issuer *is = NULL;
	char why[200];
	int rc;

	memcpy(log.serial, d->serial, sizeof(log.serial));
	if ((rc = wk_issuer_new(o->issuer, &is)) != WK_OK) {
		wk_cli_usage(cli, "--issuer: an http:// or https:// URL");
		goto out;
	}
	if ((rc = holder_session(cli, o, d, is)) != WK_OK)
		goto out;
	/* the comparison is libwalletkey's: each fault goes to report */
	rc = wk_audit_verify_issuer(is, &log, report, ctx, faults, why,
	    sizeof(why));
	if (rc != WK_OK && why[0] != '\0')
		fprintf(stderr, "walletkey: audit verify: %s\n", why);
	else if (rc != WK_OK)
		issuer_say(is, "audit verify", rc);
out:
	wk_issuer_free(&is);
	return rc;
}
