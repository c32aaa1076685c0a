/*
 * card to card as one flow (docs/remote-load.md): the cards authenticate
 * each other, the receiving card's challenge is kept, the sending card
 * debits and signs a token bound to it, the token is kept, the receiving
 * card redeems it once and the token is queued for the issuer; and the
 * recovery of a transfer a crash left unfinished (wk_flow.h for the store)
 */
#include "wk_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wk_hex.h"
#include "wk_msg.h"

#define CERT_MAX 2048
#define RECOVER_MAX 64		/* records settled in one recovery */

typedef struct side {
	wk_card *card;
	uint8_t id[8];
	char hex[17];
	uint8_t cert[CERT_MAX];
	size_t cert_len;
} side;

typedef struct xflow {
	side from, to;
	wk_state_store store;
	char dir[1024];
	wk_xfer_confirm_fn confirm;
	wk_xfer_progress_fn progress;
	void *arg;
	uint32_t amount;
	bool pin_done;		/* the receiving card's PIN, once per run */
	bool recovering;
	uint32_t balance;
} xflow;

static void
emit(const xflow *f, wk_xfer_event *ev)
{
	if (f->progress == NULL)
		return;
	ev->from = f->from.hex;
	ev->to = f->to.hex;
	ev->recovering = f->recovering;
	f->progress(f->arg, ev);
}

static void
say(const xflow *f, wk_xfer_step step, const char *record)
{
	wk_xfer_event ev = { .step = step, .record = record,
	    .amount = f->amount };

	emit(f, &ev);
}

static int
fail(const xflow *f, wk_xfer_step at, int rc, const char *record)
{
	wk_xfer_event ev = { .step = WK_XFER_STEP_FAILED, .failed = at,
	    .rc = rc, .record = record, .amount = f->amount };

	emit(f, &ev);
	return rc;
}

static int
side_open(xflow *f, side *s, bool sender)
{
	wk_xfer_event ev = { .step = WK_XFER_STEP_FAILED,
	    .failed = WK_XFER_STEP_CARDS, .sender = sender };
	wk_card_info info;
	wk_piv *piv = NULL;
	int rc;

	s->cert_len = sizeof(s->cert);
	if ((rc = wk_card_get_info(s->card, &info)) != WK_OK) {
		ev.what = "card id";
		goto fail;
	}
	memcpy(s->id, info.serial, 8);
	wk_hex_encode(s->id, 8, s->hex);
	if ((rc = wk_piv_open(s->card, &piv)) != WK_OK ||
	    (rc = wk_piv_read_cert(piv, WK_WALLET_SLOT, s->cert,
	    &s->cert_len)) != WK_OK) {
		wk_piv_free(&piv);
		ev.what = "certificate";
		goto fail;
	}
	wk_piv_free(&piv);
	if ((rc = wk_purse_select(s->card, NULL, 0, NULL)) != WK_OK) {
		ev.what = "purse";
		goto fail;
	}
	return WK_OK;
fail:
	ev.rc = rc;
	emit(f, &ev);
	return rc;
}

static int
flow_open(xflow *f, wk_card *from, wk_card *to, const wk_xfer_opts *o,
    wk_xfer_confirm_fn confirm, wk_xfer_progress_fn progress, void *arg)
{
	int rc;

	memset(f, 0, sizeof(*f));
	f->from.card = from;
	f->to.card = to;
	f->confirm = confirm;
	f->progress = progress;
	f->arg = arg;
	f->amount = o->amount;
	if ((rc = wk_flow_store(o->store, o->state_dir, &f->store, f->dir,
	    sizeof(f->dir))) != WK_OK)
		return rc;
	if (f->store.list == NULL)
		return WK_ERR_ARG;
	if ((rc = side_open(f, &f->from, true)) != WK_OK ||
	    (rc = side_open(f, &f->to, false)) != WK_OK)
		return rc;
	if (memcmp(f->from.id, f->to.id, 8) == 0)
		return WK_ERR_ARG;	/* the same card twice */
	say(f, WK_XFER_STEP_CARDS, NULL);
	return WK_OK;
}

/* a card's purse PIN, asked and verified */
static int
verify(xflow *f, bool sender)
{
	wk_xfer_question q = { .ask = WK_XFER_ASK_PIN, .sender = sender,
	    .from = f->from.hex, .to = f->to.hex, .amount = f->amount };
	char pin[16];
	size_t n = 0;
	int rc, tries = -1;

	sodium_memzero(pin, sizeof(pin));
	if (f->confirm == NULL ||
	    !f->confirm(f->arg, &q, pin, sizeof(pin) - 1, &n) || n == 0 ||
	    n >= sizeof(pin)) {
		sodium_memzero(pin, sizeof(pin));
		return WK_ERR_CANCELLED;
	}
	rc = wk_purse_verify_pin(sender ? f->from.card : f->to.card, pin, n,
	    &tries);
	sodium_memzero(pin, sizeof(pin));
	if (rc != WK_OK) {
		wk_xfer_event ev = { .step = WK_XFER_STEP_FAILED, .failed =
		    sender ? WK_XFER_STEP_FROM_PIN : WK_XFER_STEP_TO_PIN, .rc = rc,
		    .sender = sender, .tries_left = tries, .amount = f->amount };

		emit(f, &ev);
	}
	return rc;
}

/* the receiving card's PIN, once per run */
static int
to_pin(xflow *f)
{
	int rc;

	if (f->pin_done)
		return WK_OK;
	if ((rc = verify(f, false)) != WK_OK)
		return rc;
	f->pin_done = true;
	if (f->recovering)
		say(f, WK_XFER_STEP_TO_PIN, NULL);
	return WK_OK;
}

/* the token queued for the issuer before the transfer's record goes
 * (docs/remote-load.md "Reporting a transfer"); a void one moves nothing */
static int
queue_report(xflow *f, const uint8_t *tok, size_t len)
{
	char name[48], id[33], from[17], to[17];
	wk_msg m;
	json_t *j;
	int rc;

	if (wk_msg_parse(tok, len, &m, NULL, NULL) != WK_MSG_OK ||
	    m.type != WK_MSG_XFER_TOKEN)
		return WK_ERR_BAD_DATA;
	if (m.amount == 0)
		return WK_OK;
	wk_hex_encode(m.load_id, sizeof(m.load_id), id);
	wk_hex_encode(m.card_id, sizeof(m.card_id), from);
	wk_hex_encode(m.peer_id, sizeof(m.peer_id), to);
	snprintf(name, sizeof(name), "report-%s", id);
	if ((j = json_pack("{s:s, s:s, s:s, s:I, s:o}", "token_id", id, "from",
	    from, "to", to, "amount", (json_int_t)m.amount, "token",
	    wk_b64_json(tok, len))) == NULL)
		return WK_ERR_MEMORY;
	rc = wk_flow_record_save(&f->store, name, j);
	json_decref(j);
	return rc;
}

/* redeems the token of one record; removes the record when settled */
static int
settle(xflow *f, const char *name, json_t *st)
{
	uint8_t chal[16], tok[WK_WALLET_MSG_MAX];
	size_t n = 0, tlen = sizeof(tok);
	wk_wallet_msg_info info;
	wk_xfer_event ev = { .step = WK_XFER_STEP_SETTLED, .record = name };
	bool already = false;
	int rc;

	if (wk_b64_unjson(json_object_get(st, "challenge"), chal, sizeof(chal),
	    &n) != 0 || n != sizeof(chal))
		return fail(f, WK_XFER_STEP_RECOVER, WK_ERR_BAD_DATA, name);
	if (wk_b64_unjson(json_object_get(st, "token"), tok, sizeof(tok),
	    &tlen) != 0) {
		/* the flow stopped before it kept the token: the card keeps it */
		wk_xfer_step got = WK_XFER_STEP_HELD;

		tlen = sizeof(tok);
		rc = wk_wallet_xfer_token(f->from.card, chal, tok, &tlen);
		if (rc == WK_ERR_NOT_FOUND) {
			/* never sent: a void token closes the challenge on
			 * both cards (no value moves) */
			tlen = sizeof(tok);
			rc = wk_wallet_xfer_send(f->from.card, f->to.id, chal, 0,
			    tok, &tlen);
			if (rc != WK_OK)
				return fail(f, WK_XFER_STEP_VOIDED, rc, name);
			got = WK_XFER_STEP_VOIDED;
		} else if (rc != WK_OK) {
			return fail(f, WK_XFER_STEP_HELD, rc, name);
		}
		say(f, got, name);
		if (json_object_set_new(st, "token", wk_b64_json(tok, tlen)) != 0)
			return WK_ERR_MEMORY;
		if ((rc = wk_flow_record_save(&f->store, name, st)) != WK_OK)
			return fail(f, got, rc, name);
	}
	say(f, WK_XFER_STEP_REDEEM, name);
	if ((rc = to_pin(f)) != WK_OK)
		return rc;
	rc = wk_wallet_xfer_redeem(f->to.card, f->from.cert, f->from.cert_len,
	    tok, tlen, &f->balance, &already);
	if (rc != WK_OK)
		return fail(f, WK_XFER_STEP_REDEEM, rc, name);
	/* the issuer moves the sender's float to the receiver's when the
	 * token is reported: queued before the record goes */
	if ((rc = queue_report(f, tok, tlen)) != WK_OK)
		return fail(f, WK_XFER_STEP_QUEUED, rc, name);
	say(f, WK_XFER_STEP_QUEUED, name);
	if ((rc = wk_flow_record_remove(&f->store, name)) != WK_OK)
		return fail(f, WK_XFER_STEP_SETTLED, rc, name);
	ev.already = already;
	ev.balance = f->balance;
	ev.amount = wk_wallet_msg_info_get(tok, tlen, &info) == WK_OK ?
	    info.amount : 0;
	emit(f, &ev);
	return WK_OK;
}

typedef struct names {
	char name[RECOVER_MAX][64];
	size_t n;
} names;

static int
collect(void *arg, const char *name)
{
	names *l = arg;

	if (l->n >= RECOVER_MAX)
		return 1;
	if (strlen(name) < sizeof(l->name[0]))
		snprintf(l->name[l->n++], sizeof(l->name[0]), "%s", name);
	return 0;
}

/* every unfinished transfer from -> to */
static int
recover(xflow *f, unsigned *count)
{
	char prefix[32];
	names *l;
	int rc = WK_OK;

	*count = 0;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return WK_ERR_MEMORY;
	snprintf(prefix, sizeof(prefix), "xfer-%s-", f->from.hex);
	if (f->store.list(f->store.arg, prefix, collect, l) != 0) {
		free(l);
		return fail(f, WK_XFER_STEP_RECOVER, WK_ERR_IO, NULL);
	}
	f->recovering = true;
	for (size_t i = 0; i < l->n; i++) {
		json_t *st = NULL;
		const char *to;
		int r;

		/* a record that cannot be read is left as it is */
		if (wk_flow_record_load(&f->store, l->name[i], &st) != WK_OK ||
		    st == NULL)
			continue;
		to = json_string_value(json_object_get(st, "to"));
		if (to != NULL && strcmp(to, f->to.hex) == 0) {
			(*count)++;
			say(f, WK_XFER_STEP_RECOVER, l->name[i]);
			if ((r = settle(f, l->name[i], st)) != WK_OK && rc == WK_OK)
				rc = r;
		}
		json_decref(st);
	}
	f->recovering = false;
	free(l);
	return rc;
}

static int
transfer(xflow *f, wk_xfer_result *out)
{
	wk_xfer_question q = { .ask = WK_XFER_ASK_TRANSFER, .from = f->from.hex,
	    .to = f->to.hex, .amount = f->amount };
	uint8_t ca[16], cb[16], rchal[16], ma[WK_WALLET_MSG_MAX];
	uint8_t mb[WK_WALLET_MSG_MAX], tok[WK_WALLET_MSG_MAX];
	size_t la = sizeof(ma), lb = sizeof(mb), tlen = sizeof(tok);
	char name[64], ch[33];
	json_t *st = NULL;
	int rc;

	if ((rc = recover(f, &out->recovered)) != WK_OK)
		return rc;
	if (!f->confirm(f->arg, &q, NULL, 0, NULL))
		return WK_ERR_CANCELLED;
	/* each card checks the other's certificate and signature */
	if ((rc = wk_wallet_xfer_challenge(f->from.card, false, ca)) != WK_OK ||
	    (rc = wk_wallet_xfer_challenge(f->to.card, false, cb)) != WK_OK ||
	    (rc = wk_wallet_xfer_auth_sign(f->to.card, ca, f->from.id, mb,
	    &lb)) != WK_OK ||
	    (rc = wk_wallet_xfer_auth_sign(f->from.card, cb, f->to.id, ma,
	    &la)) != WK_OK)
		return fail(f, WK_XFER_STEP_CHALLENGES, rc, NULL);
	say(f, WK_XFER_STEP_CHALLENGES, NULL);
	if ((rc = wk_wallet_xfer_auth_verify(f->from.card, f->to.cert,
	    f->to.cert_len, mb, lb)) != WK_OK ||
	    (rc = wk_wallet_xfer_auth_verify(f->to.card, f->from.cert,
	    f->from.cert_len, ma, la)) != WK_OK)
		return fail(f, WK_XFER_STEP_AUTH, rc, NULL);
	say(f, WK_XFER_STEP_AUTH, NULL);
	/* the receiving card's PIN and its challenge, kept */
	if ((rc = to_pin(f)) != WK_OK)
		return rc;
	say(f, WK_XFER_STEP_TO_PIN, NULL);
	if ((rc = wk_wallet_xfer_challenge(f->to.card, true, rchal)) != WK_OK)
		return fail(f, WK_XFER_STEP_CHALLENGE, rc, NULL);
	wk_hex_encode(rchal, 16, ch);
	snprintf(name, sizeof(name), "xfer-%s-%s", f->from.hex, ch);
	st = json_pack("{s:s, s:s, s:I, s:o}", "from", f->from.hex, "to",
	    f->to.hex, "amount", (json_int_t)f->amount, "challenge",
	    wk_b64_json(rchal, 16));
	if (st == NULL)
		return WK_ERR_MEMORY;
	if ((rc = wk_flow_record_save(&f->store, name, st)) != WK_OK) {
		rc = fail(f, WK_XFER_STEP_CHALLENGE, rc, name);
		goto out;
	}
	say(f, WK_XFER_STEP_CHALLENGE, name);
	/* the sending card's PIN (value leaves a card only after its
	 * holder's PIN), then the debit and the token in one commit */
	if ((rc = verify(f, true)) != WK_OK) {
		/* close the receiver's challenge: nothing was sent */
		(void)settle(f, name, st);
		goto out;
	}
	say(f, WK_XFER_STEP_FROM_PIN, name);
	if ((rc = wk_wallet_xfer_send(f->from.card, f->to.id, rchal, f->amount,
	    tok, &tlen)) != WK_OK) {
		(void)fail(f, WK_XFER_STEP_SENT, rc, name);
		/* refused (funds): close the challenge with a void token */
		if (rc != WK_ERR_TRANSPORT && rc != WK_ERR_CARD_REMOVED)
			(void)settle(f, name, st);
		goto out;
	}
	say(f, WK_XFER_STEP_SENT, name);
	if (json_object_set_new(st, "token", wk_b64_json(tok, tlen)) != 0) {
		rc = WK_ERR_MEMORY;
		goto out;
	}
	if ((rc = wk_flow_record_save(&f->store, name, st)) != WK_OK) {
		rc = fail(f, WK_XFER_STEP_TOKEN, rc, name);
		goto out;
	}
	say(f, WK_XFER_STEP_TOKEN, name);
	/* the credit, once */
	if ((rc = settle(f, name, st)) != WK_OK)
		goto out;
	out->balance = f->balance;
	say(f, WK_XFER_STEP_DONE, NULL);
out:
	json_decref(st);
	return rc;
}

/* the transfer (recovering false) or the recovery of both cards' records */
static int
run(wk_card *from, wk_card *to, const wk_xfer_opts *o,
    wk_xfer_confirm_fn confirm, wk_xfer_progress_fn progress, void *arg,
    wk_xfer_result *out, bool recovering)
{
	xflow *f;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return WK_ERR_MEMORY;
	if ((rc = flow_open(f, from, to, o, confirm, progress, arg)) == WK_OK) {
		memcpy(out->from, f->from.hex, sizeof(out->from));
		memcpy(out->to, f->to.hex, sizeof(out->to));
		if (recovering) {
			rc = recover(f, &out->recovered);
			out->balance = f->balance;
		} else {
			rc = transfer(f, out);
		}
	}
	free(f);
	return rc;
}

int
wk_wallet_transfer(wk_card *from, wk_card *to, const wk_xfer_opts *o,
    wk_xfer_confirm_fn confirm, wk_xfer_progress_fn progress, void *arg,
    wk_xfer_result *out)
{
	if (from == NULL || to == NULL || o == NULL || out == NULL ||
	    confirm == NULL || o->amount == 0)
		return WK_ERR_ARG;
	return run(from, to, o, confirm, progress, arg, out, false);
}

int
wk_wallet_transfer_recover(wk_card *from, wk_card *to, const wk_xfer_opts *o,
    wk_xfer_confirm_fn confirm, wk_xfer_progress_fn progress, void *arg,
    wk_xfer_result *out)
{
	if (from == NULL || to == NULL || o == NULL || out == NULL)
		return WK_ERR_ARG;
	return run(from, to, o, confirm, progress, arg, out, true);
}
