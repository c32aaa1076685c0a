/*
 * walletkey audit sync and verify --issuer (docs/audit.md "Sync with the
 * issuer"): the card's records go to the issuer sealed to its key, the
 * issuer's CA-signed acknowledgement goes to the card; verify compares the
 * card's log with the issuer's signed history and ledger.
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

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_arec.h"
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

/* a GET of the issuer's API with a JSON answer (the sync itself is
 * libwalletkey's wk_audit_sync) */
static int
issuer_get(wk_issuer *is, const char *path, json_t **out)
{
	char *resp = NULL;
	int rc = wk_issuer_request(is, path, NULL, &resp);

	*out = NULL;
	if (rc == WK_OK && (*out = json_loads(resp, 0, NULL)) == NULL)
		rc = WK_ERR_ISSUER;
	free(resp);
	return rc;
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

#define HIST_PAGES_MAX 100000u	/* 255 records each: far above any log */

/* the issuer's CA certificate (GET /v1/ca) */
static X509 *
issuer_ca(wk_issuer *is)
{
	uint8_t der[4096];
	const uint8_t *p = der;
	json_t *j = NULL;
	size_t len = 0;
	X509 *x = NULL;

	if (issuer_get(is, "/v1/ca", &j) == WK_OK &&
	    wk_b64_unjson(json_object_get(j, "ca_certificate"), der, sizeof(der),
	    &len) == 0)
		x = d2i_X509(NULL, &p, (long)len);
	json_decref(j);
	return x;
}

/* the issuer's history of the card: its records (by seq, each checked
 * against the CA's signature over its page), into a doc of raw records */
static int
issuer_history(wk_issuer *is, const uint8_t serial[8], EVP_PKEY *ca,
    audit_doc *hist, audit_report_fn report, void *ctx, size_t *faults)
{
	uint8_t *page = NULL, sig[WK_AREC_SIG_MAX];
	char path[96], sx[17], msg[200];
	size_t len, sig_len;
	uint64_t from = 1;
	wk_arec_hist h;
	json_t *j = NULL;
	int rc = WK_ERR_ISSUER;

	wk_hex_encode(serial, 8, sx);
	if ((page = malloc(WK_AREC_HIST_HDR + WK_AREC_PAGE_MAX * WK_AREC_LEN)) ==
	    NULL)
		return WK_ERR_MEMORY;
	for (unsigned i = 0; i < HIST_PAGES_MAX; i++) {
		snprintf(path, sizeof(path), "/v1/audit/%s/history/%" PRIu64, sx,
		    from);
		json_decref(j);
		if ((rc = issuer_get(is, path, &j)) != WK_OK) {
			issuer_say(is, "audit verify", rc);
			goto out;
		}
		rc = WK_ERR_ISSUER;
		if (wk_hex_unjson(json_object_get(j, "page"), page,
		    WK_AREC_HIST_HDR + WK_AREC_PAGE_MAX * WK_AREC_LEN, &len) != 0 ||
		    wk_hex_unjson(json_object_get(j, "signature"), sig, sizeof(sig),
		    &sig_len) != 0 ||
		    wk_arec_hist_parse(page, len, &h) != WK_AREC_OK) {
			fprintf(stderr, "walletkey: audit verify: the issuer's "
			    "history page from seq %" PRIu64 " is malformed\n",
			    from);
			goto out;
		}
		if (wk_arec_sig_verify(ca, page, len, sig, sig_len) !=
		    WK_AREC_OK || memcmp(h.serial, serial, 8) != 0) {
			snprintf(msg, sizeof(msg), "the issuer's history page from "
			    "seq %" PRIu64 " is not signed by its CA for this "
			    "card", from);
			report(ctx, msg);
			(*faults)++;
			rc = WK_OK;
			goto out;
		}
		for (unsigned k = 0; k < h.count; k++)
			if (audit_doc_add(hist, h.records + (size_t)k *
			    WK_AREC_LEN) != 0) {
				rc = WK_ERR_MEMORY;
				goto out;
			}
		if (!h.more || h.count == 0)
			break;
		/* each record carries its seq: go on after the last one */
		from = hist->n > 0 ? audit_cli_seq(hist->raw + (hist->n - 1) *
		    WK_AREC_LEN) + 1 : from + h.count;
	}
	rc = WK_OK;
out:
	json_decref(j);
	free(page);
	return rc;
}

/* the records of d against the issuer's; each discrepancy reported */
static size_t
compare_issuer(const audit_doc *d, const audit_doc *hist,
    audit_report_fn report, void *ctx)
{
	uint8_t hh[32];
	char msg[200];
	size_t faults = 0, i = 0, k = 0;
	uint64_t base = d->have_head ? d->head.base_seq : 0;

	/* the issuer's own chain */
	for (size_t n = 1; n < hist->n; n++) {
		const uint8_t *r = hist->raw + n * WK_AREC_LEN;

		wk_arec_hash(r - WK_AREC_LEN, hh);
		if (audit_cli_seq(r) == audit_cli_seq(r - WK_AREC_LEN) + 1 &&
		    sodium_memcmp(hh, r + 54, 32) != 0) {
			snprintf(msg, sizeof(msg), "the issuer's record seq %"
			    PRIu64 " does not link to its seq %" PRIu64, audit_cli_seq(r),
			    audit_cli_seq(r) - 1);
			report(ctx, msg);
			faults++;
		}
	}
	while (i < d->n || k < hist->n) {
		const uint8_t *a = i < d->n ? d->raw + i * WK_AREC_LEN : NULL;
		const uint8_t *b = k < hist->n ? hist->raw + k * WK_AREC_LEN : NULL;
		uint64_t sa = a ? audit_cli_seq(a) : UINT64_MAX;
		uint64_t sb = b ? audit_cli_seq(b) : UINT64_MAX;

		if (sa == sb) {
			if (sodium_memcmp(a, b, WK_AREC_LEN) != 0) {
				snprintf(msg, sizeof(msg), "record seq %" PRIu64
				    " differs from the issuer's", sa);
				report(ctx, msg);
				faults++;
			}
			i++;
			k++;
		} else if (sa < sb) {
			snprintf(msg, sizeof(msg), "record seq %" PRIu64 " is on "
			    "the card but missing at the issuer", sa);
			report(ctx, msg);
			faults++;
			i++;
		} else {
			/* older than the checkpoint: dropped by the card after
			 * the issuer acknowledged it; the checkpoint must match */
			if (sb < base) {
				k++;
				continue;
			}
			if (sb == base) {
				wk_arec_hash(b, hh);
				if (sodium_memcmp(hh, d->head.base_hash, 32) != 0) {
					snprintf(msg, sizeof(msg), "the card's "
					    "checkpoint (seq %" PRIu64 ") is not the "
					    "issuer's record", sb);
					report(ctx, msg);
					faults++;
				}
				k++;
				continue;
			}
			snprintf(msg, sizeof(msg), "record seq %" PRIu64 " is at "
			    "the issuer but missing %s", sb, d->have_head &&
			    sb > d->head.head_seq ? "on the card (beyond its head)" :
			    "from the card's log");
			report(ctx, msg);
			faults++;
			k++;
		}
	}
	return faults;
}

/* a remote load (the wallet's terminal id 000000000001) as a record */
static bool
is_remote_load(const uint8_t *raw, uint16_t *counter, uint32_t *amount,
    uint32_t *balance)
{
	static const uint8_t remote[6] = { 0, 0, 0, 0, 0, 1 };
	wk_arec r;

	if (wk_arec_decode(raw, WK_AREC_LEN, &r) != WK_AREC_OK ||
	    (r.type != WK_AREC_EP_LOAD && r.type != WK_AREC_ED_LOAD) ||
	    memcmp(r.term_id, remote, 6) != 0)
		return false;
	*counter = r.counter;
	*amount = r.amount;
	*balance = r.balance;
	return true;
}

/* the issuer's completed remote loads against the remote-load records of
 * the card (or, once the card dropped them, of the issuer's copy) */
static int
compare_loads(wk_issuer *is, const audit_doc *d, const audit_doc *hist,
    EVP_PKEY *ca, audit_report_fn report, void *ctx, size_t *faults)
{
	uint8_t page[WK_AREC_LOADS_HDR + WK_AREC_PAGE_MAX * WK_AREC_LOAD_LEN];
	uint8_t sig[WK_AREC_SIG_MAX], *seen = NULL;
	char path[96], sx[17], msg[200];
	size_t len, sig_len, total = d->n + hist->n;
	uint64_t from = 0;
	wk_arec_loads l;
	json_t *j = NULL;
	int rc = WK_ERR_ISSUER;

	wk_hex_encode(d->serial, 8, sx);
	if ((seen = calloc(total + 1, 1)) == NULL)
		return WK_ERR_MEMORY;
	for (unsigned pg = 0; pg < 300 && from <= 65535; pg++) {
		snprintf(path, sizeof(path), "/v1/audit/%s/loads/%" PRIu64, sx,
		    from);
		json_decref(j);
		if ((rc = issuer_get(is, path, &j)) != WK_OK) {
			issuer_say(is, "audit verify", rc);
			goto out;
		}
		rc = WK_ERR_ISSUER;
		if (wk_hex_unjson(json_object_get(j, "page"), page, sizeof(page),
		    &len) != 0 ||
		    wk_hex_unjson(json_object_get(j, "signature"), sig, sizeof(sig),
		    &sig_len) != 0 ||
		    wk_arec_loads_parse(page, len, &l) != WK_AREC_OK) {
			fprintf(stderr, "walletkey: audit verify: the issuer's "
			    "loads page is malformed\n");
			goto out;
		}
		if (wk_arec_sig_verify(ca, page, len, sig, sig_len) != WK_AREC_OK ||
		    memcmp(l.serial, d->serial, 8) != 0) {
			report(ctx, "the issuer's list of loads is not signed by "
			    "its CA for this card");
			(*faults)++;
			rc = WK_OK;
			goto out;
		}
		for (unsigned k = 0; k < l.count; k++) {
			const uint8_t *e = l.entries + (size_t)k * WK_AREC_LOAD_LEN;
			uint16_t seq = (uint16_t)(e[0] << 8 | e[1]), c;
			uint32_t amt = 0, bal = 0, ra, rb;
			bool found = false;

			for (int b = 0; b < 4; b++) {
				amt = amt << 8 | e[2 + b];
				bal = bal << 8 | e[6 + b];
			}
			for (size_t i = 0; i < total && !found; i++) {
				const uint8_t *raw = i < d->n ? d->raw + i *
				    WK_AREC_LEN : hist->raw + (i - d->n) * WK_AREC_LEN;

				/* the record holds the counter after the credit */
				if (!is_remote_load(raw, &c, &ra, &rb) ||
				    c != (uint16_t)(seq + 1) || ra != amt)
					continue;
				found = true;
				seen[i] = 1;
				if (rb != bal) {
					snprintf(msg, sizeof(msg), "record seq %"
					    PRIu64 ": balance %" PRIu32 " after the "
					    "load, the issuer's ledger says %" PRIu32,
					    audit_cli_seq(raw), rb, bal);
					report(ctx, msg);
					(*faults)++;
				}
			}
			if (!found) {
				snprintf(msg, sizeof(msg), "the issuer's load (online "
				    "seq %u, %" PRIu32 " fen) is in no record",
				    (unsigned)seq, amt);
				report(ctx, msg);
				(*faults)++;
			}
			from = (uint64_t)seq + 1;
		}
		if (!l.more || l.count == 0)
			break;
	}
	/* a remote load on the card that the issuer never completed */
	for (size_t i = 0; i < d->n; i++) {
		uint16_t c;
		uint32_t ra, rb;

		if (!seen[i] && is_remote_load(d->raw + i * WK_AREC_LEN, &c, &ra,
		    &rb)) {
			snprintf(msg, sizeof(msg), "record seq %" PRIu64 ": a remote "
			    "load the issuer's ledger does not hold",
			    audit_cli_seq(d->raw + i * WK_AREC_LEN));
			report(ctx, msg);
			(*faults)++;
		}
	}
	rc = WK_OK;
out:
	json_decref(j);
	free(seen);
	return rc;
}

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
	wk_issuer *is = NULL;
	X509 *ca = NULL, *wallet = NULL;
	BIO *bio = NULL;
	audit_doc hist;
	int rc;

	audit_doc_init(&hist);
	if ((rc = wk_issuer_new(o->issuer, &is)) != WK_OK) {
		wk_cli_usage(cli, "--issuer: an http:// or https:// URL");
		goto out;
	}
	if ((rc = holder_session(cli, o, d, is)) != WK_OK)
		goto out;
	if ((ca = issuer_ca(is)) == NULL) {
		fprintf(stderr, "walletkey: audit verify: cannot read the "
		    "issuer's CA certificate\n");
		rc = WK_ERR_ISSUER;
		goto out;
	}
	/* the export's wallet certificate must be this issuer's */
	if (d->cert_pem != NULL &&
	    ((bio = BIO_new_mem_buf(d->cert_pem, -1)) == NULL ||
	    (wallet = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
	    X509_verify(wallet, X509_get0_pubkey(ca)) != 1)) {
		report(ctx, "the wallet certificate is not issued by this "
		    "issuer's CA");
		(*faults)++;
	}
	if ((rc = issuer_history(is, d->serial, X509_get0_pubkey(ca), &hist,
	    report, ctx, faults)) != WK_OK)
		goto out;
	*faults += compare_issuer(d, &hist, report, ctx);
	rc = compare_loads(is, d, &hist, X509_get0_pubkey(ca), report, ctx,
	    faults);
out:
	audit_doc_free(&hist);
	X509_free(wallet);
	BIO_free(bio);
	X509_free(ca);
	wk_issuer_free(&is);
	return rc;
}

