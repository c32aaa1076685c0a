/*
 * the transfer reports (walletkey.h "transfer reports", docs/remote-load.md
 * "Reporting a transfer"): the tokens wk_wallet_transfer queued in its
 * store (report-<token id>) posted to the issuer, each record removed once
 * the issuer took its token
 */
#include "walletkey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "wk_flow.h"
#include "wk_hex.h"
#include "wk_json.h"
#include "wk_msg.h"

#define REPORT_PREFIX "report-"
#define REPORT_PASSES 16	/* passes until one takes nothing */

typedef struct rflow {
	const wk_report_opts *o;
	wk_state_store store;
	char dir[1024];
	wk_report_progress_fn progress;
	void *arg;
	unsigned reported, left;
	bool moved;		/* a token taken in this pass */
} rflow;

static void
emit(const rflow *f, const wk_report_event *ev)
{
	if (f->progress != NULL)
		f->progress(f->arg, ev);
}

/* the issuer card_hex was enrolled with (its record card-<id>), or NULL;
 * *keep holds the string */
static const char *
enrolled_issuer(const rflow *f, const char *card_hex, json_t **keep)
{
	char name[WK_FLOW_NAME_MAX];

	*keep = NULL;
	snprintf(name, sizeof(name), "card-%s", card_hex);
	if (wk_flow_record_load(&f->store, name, keep) != WK_OK || *keep == NULL)
		return NULL;
	return json_string_value(json_object_get(*keep, "issuer"));
}

/* one record: its token posted; the record removed once the issuer took it */
static void
report_one(rflow *f, const char *name)
{
	uint8_t tok[WK_WALLET_MSG_MAX];
	char id[33], from[17], to[17];
	wk_report_event ev = { .record = name };
	json_t *st = NULL, *c1 = NULL, *c2 = NULL;
	const char *url = f->o->issuer_url;
	wk_issuer *is = NULL;
	size_t n = 0;
	wk_msg m;
	int rc;

	/* a record that cannot be read is left as it is */
	if (wk_flow_record_load(&f->store, name, &st) != WK_OK || st == NULL)
		return;
	/* the token itself says who pays whom; the issuer reads it */
	if (wk_b64_unjson(json_object_get(st, "token"), tok, sizeof(tok),
	    &n) != 0 || wk_msg_parse(tok, n, &m, NULL, NULL) != WK_MSG_OK ||
	    m.type != WK_MSG_XFER_TOKEN) {
		ev.step = WK_REPORT_STEP_DAMAGED;
		emit(f, &ev);
		goto out;
	}
	wk_hex_encode(m.load_id, sizeof(m.load_id), id);
	wk_hex_encode(m.card_id, sizeof(m.card_id), from);
	wk_hex_encode(m.peer_id, sizeof(m.peer_id), to);
	if (f->o->card_hex != NULL && strcasecmp(from, f->o->card_hex) != 0 &&
	    strcasecmp(to, f->o->card_hex) != 0)
		goto out;
	ev.token_id = id;
	ev.from = from;
	ev.to = to;
	ev.amount = m.amount;
	if (url == NULL && (url = enrolled_issuer(f, from, &c1)) == NULL)
		url = enrolled_issuer(f, to, &c2);
	ev.issuer_url = url;
	rc = url == NULL ? WK_ERR_ARG : wk_issuer_new(url, &is);
	if (rc == WK_OK) {
		ev.step = WK_REPORT_STEP_SENDING;
		emit(f, &ev);
		rc = wk_issuer_transfer_report(is, tok, n);
		/* taken: the record goes (one that stays is posted again, and
		 * the issuer answers it the same, moving nothing) */
		if (rc == WK_OK &&
		    (rc = wk_flow_record_remove(&f->store, name)) == WK_OK) {
			f->reported++;
			f->moved = true;
			ev.step = WK_REPORT_STEP_REPORTED;
			emit(f, &ev);
			goto out;
		}
	}
	f->left++;
	ev.step = WK_REPORT_STEP_LEFT;
	ev.rc = rc;
	if (is != NULL && rc == WK_ERR_ISSUER) {
		ev.issuer = true;
		ev.http_status = wk_issuer_http_status(is);
		ev.error = wk_issuer_error_code(is);
	}
	ev.message = is != NULL ? wk_issuer_error_message(is) : "";
	emit(f, &ev);
out:
	wk_issuer_free(&is);
	json_decref(c1);
	json_decref(c2);
	json_decref(st);
}

int
wk_wallet_transfer_reports(const wk_report_opts *o,
    wk_report_progress_fn progress, void *arg, unsigned *reported,
    unsigned *left)
{
	rflow f;
	int rc = WK_OK;

	if (o == NULL)
		return WK_ERR_ARG;
	memset(&f, 0, sizeof(f));
	f.o = o;
	f.progress = progress;
	f.arg = arg;
	if ((rc = wk_flow_store(o->store, o->state_dir, &f.store, f.dir,
	    sizeof(f.dir))) != WK_OK)
		return rc;
	if (f.store.list == NULL)
		return WK_ERR_ARG;
	f.moved = true;
	for (int pass = 0; rc == WK_OK && f.moved && pass < REPORT_PASSES;
	    pass++) {
		wk_flow_names l;

		f.moved = false;
		f.left = 0;
		if ((rc = wk_flow_record_names(&f.store, REPORT_PREFIX, &l)) !=
		    WK_OK)
			break;
		for (size_t i = 0; i < l.n; i++)
			report_one(&f, l.name[i]);
		wk_flow_names_free(&l);
	}
	if (reported != NULL)
		*reported = f.reported;
	if (left != NULL)
		*left = f.left;
	return rc;
}
