/*
 * the remote load as one flow (docs/remote-load.md): the card's signed
 * request, the issuer's grant, the card's credit and receipt, the issuer's
 * close; and the recovery of a load a crash left unfinished, with the
 * card's own proof. The load in flight is kept in the state store before
 * every step that can change money (wk_flow.h).
 */
#include "wk_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "wk_hex.h"

/* the terminal id the card's remote loads name */
static const uint8_t remote_terminal[6] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };

typedef struct flow {
	wk_card *card;
	wk_state_store store;
	char dir[1024];
	wk_load_confirm_fn confirm;
	wk_load_progress_fn progress;
	void *arg;
	char card_id[17];
	char record[32];
} flow;

static void
emit(const flow *f, wk_load_event *ev)
{
	if (f->progress == NULL)
		return;
	ev->card_id = f->card_id;
	ev->record = f->record;
	if (ev->error == NULL)
		ev->error = "";
	if (ev->message == NULL)
		ev->message = "";
	f->progress(f->arg, ev);
}

static void
say(const flow *f, wk_load_step step, const char *load_id, const char *status)
{
	wk_load_event ev = { .step = step, .load_id = load_id, .status = status };

	emit(f, &ev);
}

static int
fail(const flow *f, wk_load_step at, int rc, const char *load_id)
{
	wk_load_event ev = { .step = WK_LOAD_STEP_FAILED, .failed = at, .rc = rc,
	    .load_id = load_id };

	emit(f, &ev);
	return rc;
}

/* an issuer's step failed: its status, code and message go with it */
static int
fail_issuer(const flow *f, wk_load_step at, int rc, wk_issuer *is,
    const char *load_id)
{
	wk_load_event ev = { .step = WK_LOAD_STEP_FAILED, .failed = at, .rc = rc,
	    .load_id = load_id, .http_status = wk_issuer_http_status(is),
	    .error = wk_issuer_error_code(is),
	    .message = wk_issuer_error_message(is) };

	emit(f, &ev);
	return rc;
}

static double
ms_since(struct timespec *t0)
{
	struct timespec t;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &t);
	ms = (double)(t.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
	*t0 = t;
	return ms;
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* the card id, the store, the record's name */
static int
flow_open(flow *f, wk_card *card, const wk_load_opts *o,
    wk_load_confirm_fn confirm, wk_load_progress_fn progress, void *arg)
{
	wk_card_info info;
	int rc;

	memset(f, 0, sizeof(*f));
	f->card = card;
	f->confirm = confirm;
	f->progress = progress;
	f->arg = arg;
	if ((rc = wk_flow_store(o->store, o->state_dir, &f->store, f->dir,
	    sizeof(f->dir))) != WK_OK)
		return rc;
	if ((rc = wk_card_get_info(card, &info)) != WK_OK)
		return rc;
	wk_hex_encode(info.serial, 8, f->card_id);
	snprintf(f->record, sizeof(f->record), "load-%s", f->card_id);
	return WK_OK;
}

/* the card's statement that seq was never credited burns it, which needs
 * the purse PIN: asked only when the card says so. *tries: after a wrong
 * PIN, the tries left */
static int
card_proof(flow *f, wk_purse_kind kind, const uint8_t lid[16], uint16_t seq,
    uint8_t *ans, size_t *ans_len, bool *credited, int *tries)
{
	wk_load_question q = { .ask = WK_LOAD_ASK_PIN, .card_id = f->card_id,
	    .kind = kind, .seq = seq };
	wk_load_event ev = { .step = WK_LOAD_STEP_RECOVER_PIN, .seq = seq };
	char pin[16];
	size_t cap = *ans_len, n = 0;
	int rc;

	*tries = -1;
	rc = wk_wallet_recover(f->card, kind, lid, seq, ans, ans_len, credited);
	if (rc != WK_ERR_AUTH_REQUIRED)
		return rc;
	emit(f, &ev);
	sodium_memzero(pin, sizeof(pin));
	if (f->confirm == NULL ||
	    !f->confirm(f->arg, &q, pin, sizeof(pin) - 1, &n) || n == 0 ||
	    n >= sizeof(pin)) {
		sodium_memzero(pin, sizeof(pin));
		return WK_ERR_AUTH_REQUIRED;
	}
	rc = wk_purse_verify_pin(f->card, pin, n, tries);
	sodium_memzero(pin, sizeof(pin));
	if (rc != WK_OK)
		return rc;
	*ans_len = cap;
	return wk_wallet_recover(f->card, kind, lid, seq, ans, ans_len, credited);
}

/* settles the load the record st describes; removes the record once the
 * issuer's load is closed */
static int
settle(flow *f, json_t *st)
{
	uint8_t req[WK_WALLET_MSG_MAX], ans[WK_WALLET_MSG_MAX], lid[16];
	size_t req_len = 0, ans_len = 0;
	wk_issuer_load *ld = NULL;
	wk_issuer *is = NULL;
	const char *load_id = jstr(st, "load_id");
	const char *what;
	json_int_t kind = json_integer_value(json_object_get(st, "kind"));
	json_int_t seq = json_integer_value(json_object_get(st, "seq"));
	bool credited;
	int rc, tries;

	if ((ld = calloc(1, sizeof(*ld))) == NULL)
		return WK_ERR_MEMORY;
	if (jstr(st, "issuer") == NULL ||
	    wk_issuer_new(jstr(st, "issuer"), &is) != WK_OK ||
	    wk_b64_unjson(json_object_get(st, "request"), req, sizeof(req),
	    &req_len) != 0 || (kind != WK_PURSE_ED && kind != WK_PURSE_EP) ||
	    (load_id != NULL && (seq < 0 || seq > 0xFFFF))) {
		rc = fail(f, WK_LOAD_STEP_RECOVER, WK_ERR_BAD_DATA, NULL);
		goto out;
	}
	if (load_id == NULL) {
		/* the request may or may not have reached the issuer: the same
		 * request again returns the same grant while it is pending */
		rc = wk_issuer_load_start(is, req, req_len, ld);
		if (rc == WK_OK)
			say(f, WK_LOAD_STEP_RECOVER_ASK, ld->load_id, ld->status);
		if (rc == WK_ERR_ISSUER) {
			wk_load_event ev = { .step = WK_LOAD_STEP_RECOVER_NONE,
			    .error = wk_issuer_error_code(is),
			    .message = wk_issuer_error_message(is) };

			emit(f, &ev);
			goto closed;
		}
		if (rc != WK_OK) {
			rc = fail_issuer(f, WK_LOAD_STEP_RECOVER_ASK, rc, is, NULL);
			goto out;
		}
		load_id = ld->load_id;
		seq = ld->seq;
	} else if ((rc = wk_issuer_session_open(f->card, is, NULL, 0, NULL,
	    NULL)) != WK_OK) {
		/* a load's state is its card's: the card's session reads it */
		rc = fail_issuer(f, WK_LOAD_STEP_RECOVER_SESSION, rc, is, load_id);
		goto out;
	} else {
		say(f, WK_LOAD_STEP_RECOVER_SESSION, load_id, NULL);
		if ((rc = wk_issuer_load_get(is, load_id, ld)) != WK_OK) {
			rc = fail_issuer(f, WK_LOAD_STEP_RECOVER_READ, rc, is,
			    load_id);
			goto out;
		}
		say(f, WK_LOAD_STEP_RECOVER_READ, ld->load_id, ld->status);
	}
	if (strcmp(ld->status, "pending") != 0) {
		say(f, WK_LOAD_STEP_RECOVER_DONE, ld->load_id, ld->status);
		goto closed;
	}
	if (wk_hex_decode(ld->load_id, lid, sizeof(lid)) != sizeof(lid)) {
		rc = fail(f, WK_LOAD_STEP_RECOVER_READ, WK_ERR_BAD_DATA,
		    ld->load_id);
		goto out;
	}
	/* the card's answer, when it was kept; else the card's proof */
	what = jstr(st, "answer_kind");
	if (what != NULL && (strcmp(what, "receipt") == 0 ||
	    strcmp(what, "refusal") == 0) &&
	    wk_b64_unjson(json_object_get(st, "answer"), ans, sizeof(ans),
	    &ans_len) == 0) {
		wk_load_event ev = { .step = WK_LOAD_STEP_RECOVER_SAVED,
		    .load_id = ld->load_id, .what = what, .seq = ld->seq };

		emit(f, &ev);
	} else {
		wk_load_event ev = { .step = WK_LOAD_STEP_RECOVER_PROOF,
		    .load_id = ld->load_id, .seq = (uint16_t)seq };

		ans_len = sizeof(ans);
		rc = card_proof(f, (wk_purse_kind)kind, lid, (uint16_t)seq, ans,
		    &ans_len, &credited, &tries);
		if (rc != WK_OK) {
			wk_load_event w = { .step = WK_LOAD_STEP_FAILED,
			    .failed = WK_LOAD_STEP_RECOVER_PROOF, .rc = rc,
			    .load_id = ld->load_id, .seq = (uint16_t)seq,
			    .tries_left = tries };

			emit(f, &w);
			goto out;
		}
		what = "proof";
		ev.credited = credited;
		emit(f, &ev);
	}
	if ((rc = wk_issuer_load_close(is, ld->load_id, what, ans, ans_len,
	    ld)) != WK_OK) {
		rc = fail_issuer(f, WK_LOAD_STEP_RECOVER_CLOSE, rc, is, ld->load_id);
		goto out;
	}
	say(f, WK_LOAD_STEP_RECOVER_CLOSE, ld->load_id, ld->status);
closed:
	if ((rc = wk_flow_record_remove(&f->store, f->record)) != WK_OK)
		(void)fail(f, WK_LOAD_STEP_RECOVER_CLOSE, rc, NULL);
out:
	free(ld);
	wk_issuer_free(&is);
	return rc;
}

/* the record of this card, if any, settled */
static int
recover(flow *f, bool *had)
{
	json_t *st = NULL;
	int rc;

	*had = false;
	if ((rc = wk_flow_record_load(&f->store, f->record, &st)) != WK_OK)
		return fail(f, WK_LOAD_STEP_RECOVER, rc, NULL);
	if (st == NULL)
		return WK_OK;
	*had = true;
	say(f, WK_LOAD_STEP_RECOVER, NULL, NULL);
	/* a blocked purse still settles a load in flight (LOAD RECOVER) */
	rc = wk_purse_select(f->card, NULL, 0, NULL);
	if (rc == WK_OK || rc == WK_ERR_PURSE_BLOCKED)
		rc = settle(f, st);
	else
		(void)fail(f, WK_LOAD_STEP_RECOVER, rc, NULL);
	json_decref(st);
	(void)wk_purse_select(f->card, NULL, 0, NULL);
	return rc;
}

int
wk_wallet_load_recover(wk_card *card, const wk_load_opts *o,
    wk_load_confirm_fn confirm, wk_load_progress_fn progress, void *arg,
    bool *settled)
{
	flow f;
	bool had = false;
	int rc;

	if (settled != NULL)
		*settled = false;
	if (card == NULL || o == NULL)
		return WK_ERR_ARG;
	if ((rc = flow_open(&f, card, o, confirm, progress, arg)) != WK_OK)
		return rc;
	rc = recover(&f, &had);
	if (settled != NULL)
		*settled = had && rc == WK_OK;
	return rc;
}

/* the issuer already granted this seq in a load no record names (its
 * record was lost): settle it with the card's proof, named by the
 * issuer's seq_used message "... (load <id>)" */
static void
settle_orphan(flow *f, wk_issuer *is, wk_purse_kind kind, const uint8_t *req,
    size_t req_len)
{
	const char *m = strstr(wk_issuer_error_message(is), "(load ");
	uint8_t lid[16], ans[WK_WALLET_MSG_MAX];
	size_t alen = sizeof(ans);
	char id[33];
	wk_wallet_msg_info info;
	wk_issuer_load *ld;
	bool credited;

	if (m == NULL || strlen(m) < 6 + 32 || wk_wallet_msg_info_get(req, req_len,
	    &info) != WK_OK)
		return;
	memcpy(id, m + 6, 32);
	id[32] = '\0';
	if (wk_hex_decode(id, lid, sizeof(lid)) != sizeof(lid) ||
	    (ld = calloc(1, sizeof(*ld))) == NULL)
		return;
	if (wk_wallet_recover(f->card, kind, lid, info.seq, ans, &alen,
	    &credited) == WK_OK &&
	    wk_issuer_load_close(is, id, "proof", ans, alen, ld) == WK_OK)
		say(f, WK_LOAD_STEP_ORPHAN, id, ld->status);
	free(ld);
}

int
wk_wallet_load(wk_card *card, wk_issuer *is, const wk_load_opts *o,
    wk_load_confirm_fn confirm, wk_load_progress_fn progress, void *arg,
    wk_load_result *out)
{
	uint8_t req[WK_WALLET_MSG_MAX], ans[WK_WALLET_MSG_MAX];
	size_t req_len = sizeof(req), ans_len = sizeof(ans), pin_len = 0;
	wk_load_question q = { .ask = WK_LOAD_ASK_LOAD };
	wk_purse_kind kind;
	wk_issuer_load *ld = NULL;
	struct timespec t;
	json_t *st = NULL;
	char pin[16];
	bool had = false, verified, refused;
	flow f;
	int rc, tries = -1;

	if (card == NULL || is == NULL || o == NULL || out == NULL ||
	    o->amount == 0 || confirm == NULL)
		return WK_ERR_ARG;
	kind = o->kind == 0 ? WK_PURSE_EP : o->kind;
	if (kind != WK_PURSE_EP && kind != WK_PURSE_ED)
		return WK_ERR_ARG;
	memset(out, 0, sizeof(*out));
	sodium_memzero(pin, sizeof(pin));
	if ((rc = flow_open(&f, card, o, confirm, progress, arg)) != WK_OK)
		return rc;
	memcpy(out->card_id, f.card_id, sizeof(out->card_id));
	if ((ld = calloc(1, sizeof(*ld))) == NULL)
		return WK_ERR_MEMORY;
	/* a load left unfinished is settled first */
	if ((rc = recover(&f, &had)) != WK_OK)
		goto out;
	out->recovered = had;
	if ((rc = wk_purse_select(card, NULL, 0, NULL)) != WK_OK)
		goto out;
	/* a blocked purse PIN: no load (the caller may deliver the bank's
	 * PIN reload) */
	if (wk_purse_pin_status(card, &tries, &verified) == WK_OK && !verified &&
	    tries == 0) {
		rc = WK_ERR_PIN_BLOCKED;
		goto out;
	}
	tries = -1;
	/* PIN: the holder's yes; nothing is sent before */
	q.card_id = f.card_id;
	q.kind = kind;
	q.amount = o->amount;
	if (!confirm(arg, &q, pin, sizeof(pin) - 1, &pin_len) || pin_len == 0 ||
	    pin_len >= sizeof(pin)) {
		rc = WK_ERR_CANCELLED;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	rc = wk_purse_verify_pin(card, pin, pin_len, &tries);
	sodium_memzero(pin, sizeof(pin));
	if (rc != WK_OK) {
		wk_load_event ev = { .step = WK_LOAD_STEP_FAILED,
		    .failed = WK_LOAD_STEP_PIN, .rc = rc, .tries_left = tries };

		emit(&f, &ev);
		goto out;
	}
	out->step_ms[0] = ms_since(&t);
	{
		wk_load_event ev = { .step = WK_LOAD_STEP_PIN,
		    .ms = out->step_ms[0] };

		emit(&f, &ev);
	}
	/* REQUEST: the card's signed request, kept before it leaves */
	if ((rc = wk_wallet_load_request(card, kind, 1, o->amount,
	    remote_terminal, req, &req_len)) != WK_OK) {
		rc = fail(&f, WK_LOAD_STEP_REQUEST, rc, NULL);
		goto out;
	}
	st = json_pack("{s:s, s:s, s:i, s:I, s:o}", "card_id", f.card_id,
	    "issuer", o->issuer_url != NULL ? o->issuer_url : wk_issuer_url(is),
	    "kind", (int)kind, "amount", (json_int_t)o->amount,
	    "request", wk_b64_json(req, req_len));
	if (st == NULL) {
		rc = WK_ERR_MEMORY;
		goto out;
	}
	if ((rc = wk_flow_record_save(&f.store, f.record, st)) != WK_OK) {
		rc = fail(&f, WK_LOAD_STEP_REQUEST, rc, NULL);
		goto out;
	}
	out->step_ms[1] = ms_since(&t);
	{
		wk_load_event ev = { .step = WK_LOAD_STEP_REQUEST,
		    .ms = out->step_ms[1] };

		emit(&f, &ev);
	}
	/* GRANT: the issuer debits the account and grants */
	if ((rc = wk_issuer_load_start(is, req, req_len, ld)) != WK_OK) {
		bool seq_used = rc == WK_ERR_ISSUER &&
		    strcmp(wk_issuer_error_code(is), "seq_used") == 0;

		/* refused: nothing was debited */
		if (rc == WK_ERR_ISSUER)
			(void)wk_flow_record_remove(&f.store, f.record);
		(void)fail_issuer(&f, WK_LOAD_STEP_GRANT, rc, is, NULL);
		if (seq_used)
			settle_orphan(&f, is, kind, req, req_len);
		goto out;
	}
	memcpy(out->load_id, ld->load_id, sizeof(out->load_id));
	out->seq = ld->seq;
	if (json_object_set_new(st, "load_id", json_string(ld->load_id)) != 0 ||
	    json_object_set_new(st, "seq", json_integer(ld->seq)) != 0) {
		rc = WK_ERR_MEMORY;
		goto out;
	}
	if ((rc = wk_flow_record_save(&f.store, f.record, st)) != WK_OK) {
		rc = fail(&f, WK_LOAD_STEP_GRANT, rc, ld->load_id);
		goto out;
	}
	out->step_ms[2] = ms_since(&t);
	{
		wk_load_event ev = { .step = WK_LOAD_STEP_GRANT,
		    .load_id = ld->load_id, .seq = ld->seq, .ms = out->step_ms[2] };

		emit(&f, &ev);
	}
	/* CREDIT: the card checks the grant and credits, or refuses */
	rc = wk_wallet_load_grant(card, ld->grant, ld->grant_len, ans, &ans_len,
	    &refused);
	if (rc != WK_OK) {
		rc = fail(&f, WK_LOAD_STEP_CREDIT, rc, ld->load_id);
		goto out;
	}
	out->refused = refused;
	{
		wk_load_event ev = { .step = WK_LOAD_STEP_CREDIT,
		    .load_id = ld->load_id, .seq = ld->seq, .refused = refused };

		emit(&f, &ev);
	}
	/* ANSWER: kept before it goes to the issuer */
	if (json_object_set_new(st, "answer_kind", json_string(refused ?
	    "refusal" : "receipt")) != 0 ||
	    json_object_set_new(st, "answer", wk_b64_json(ans, ans_len)) != 0) {
		rc = WK_ERR_MEMORY;
		goto out;
	}
	if ((rc = wk_flow_record_save(&f.store, f.record, st)) != WK_OK) {
		rc = fail(&f, WK_LOAD_STEP_ANSWER, rc, ld->load_id);
		goto out;
	}
	out->step_ms[3] = ms_since(&t);
	{
		wk_load_event ev = { .step = WK_LOAD_STEP_ANSWER,
		    .load_id = ld->load_id, .seq = ld->seq, .refused = refused,
		    .ms = out->step_ms[3] };

		emit(&f, &ev);
	}
	/* CLOSE: the issuer closes the load; the record goes */
	if ((rc = wk_issuer_load_close(is, ld->load_id, refused ? "refusal" :
	    "receipt", ans, ans_len, ld)) != WK_OK) {
		rc = fail_issuer(&f, WK_LOAD_STEP_CLOSE, rc, is, ld->load_id);
		goto out;
	}
	snprintf(out->status, sizeof(out->status), "%s", ld->status);
	if ((rc = wk_flow_record_remove(&f.store, f.record)) != WK_OK) {
		rc = fail(&f, WK_LOAD_STEP_CLOSE, rc, ld->load_id);
		goto out;
	}
	out->step_ms[4] = ms_since(&t);
	{
		wk_load_event ev = { .step = WK_LOAD_STEP_CLOSE,
		    .load_id = ld->load_id, .status = ld->status, .seq = ld->seq,
		    .refused = refused, .ms = out->step_ms[4] };

		emit(&f, &ev);
	}
	if (refused) {
		rc = WK_ERR_AUTH_FAILED;
		goto out;
	}
	(void)wk_purse_balance(card, kind, &out->balance);
	rc = WK_OK;
out:
	sodium_memzero(pin, sizeof(pin));
	json_decref(st);
	free(ld);
	return rc;
}
