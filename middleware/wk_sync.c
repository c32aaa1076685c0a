/*
 * the audit sync as one flow (docs/audit.md "Sync with the issuer"): the
 * card's records to the issuer, sealed to its key, page by page from the
 * issuer's cursor; the card's signed head to the issuer; the issuer's
 * CA-signed acknowledgement and revocation list to the card
 */
#include "walletkey.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "wk_arec.h"
#include "wk_hex.h"
#include "wk_flow.h"
#include "wk_json.h"

#define SYNC_ROUNDS 3	/* upload and acknowledge again when the head moved */
#define PAGE_BUF 65536
#define RESUME_TRIES 5	/* resumes in a row without a page */
#define RESUME_WAIT 30	/* seconds to wait for a lost card */
#define PIN_MAX 12

typedef struct sflow {
	wk_card **card;
	wk_issuer *is;
	const wk_sync_opts *o;
	wk_sync_progress_fn progress;
	void *arg;
	char serial[17];
	char pin[PIN_MAX + 2];
	size_t pin_len;
	bool begun;
} sflow;

static void
emit(const sflow *f, wk_sync_event *ev)
{
	if (f->progress == NULL)
		return;
	ev->serial = f->serial;
	if (ev->error == NULL)
		ev->error = "";
	if (ev->message == NULL)
		ev->message = "";
	f->progress(f->arg, ev);
}

static int
fail(const sflow *f, wk_sync_step at, int rc)
{
	wk_sync_event ev = { .step = WK_SYNC_STEP_FAILED, .failed = at,
	    .rc = rc };

	emit(f, &ev);
	return rc;
}

/* the issuer's side failed: its status, code and message go with it */
static int
fail_issuer(const sflow *f, wk_sync_step at, int rc)
{
	wk_sync_event ev = { .step = WK_SYNC_STEP_FAILED, .failed = at,
	    .rc = rc, .issuer = true,
	    .http_status = wk_issuer_http_status(f->is),
	    .error = wk_issuer_error_code(f->is),
	    .message = wk_issuer_error_message(f->is) };

	emit(f, &ev);
	return rc;
}

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int
json_u64(json_t *o, const char *k, uint64_t *v)
{
	json_t *j = json_object_get(o, k);

	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -1;
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

static bool
link_lost(int rc)
{
	return rc == WK_ERR_CARD_REMOVED || rc == WK_ERR_TRANSPORT ||
	    rc == WK_ERR_NO_CARD || rc == WK_ERR_PCSC || rc == WK_ERR_NO_READER;
}

/* after a lost link: connect again (for up to RESUME_WAIT seconds), select
 * the log and verify the PIN again; the sync goes on from its cursor */
static int
resume(sflow *f)
{
	struct timespec pause = { 0, 250 * 1000 * 1000 };
	time_t until = time(NULL) + RESUME_WAIT;
	int rc, tries = -1;

	if (f->o->reconnect == NULL)
		return WK_ERR_CARD_REMOVED;
	f->begun = false;
	for (;;) {
		rc = f->o->reconnect(f->arg, f->card);
		if (rc == WK_OK && (rc = wk_card_begin(*f->card)) == WK_OK) {
			if ((rc = wk_audit_select(*f->card)) == WK_OK)
				rc = wk_audit_verify_pin(*f->card, f->pin, f->pin_len,
				    &tries);
			if (rc == WK_OK) {
				f->begun = true;
				return WK_OK;
			}
			wk_card_end(*f->card);
		}
		if (!link_lost(rc) || time(NULL) >= until)
			return rc;
		nanosleep(&pause, NULL);
	}
}

/* GET history/FROM: the issuer's newest stored and acknowledged seq */
static int
issuer_state(wk_issuer *is, const char *serial, uint64_t from,
    uint64_t *stored, uint64_t *acked)
{
	char path[96];
	json_t *j = NULL;
	int rc;

	snprintf(path, sizeof(path), "/v1/audit/%s/history/%" PRIu64, serial,
	    from == 0 ? 1 : from);
	if ((rc = wk_issuer_call(is, path, NULL, &j)) == WK_OK &&
	    (json_u64(j, "stored_seq", stored) != 0 ||
	    json_u64(j, "acked_seq", acked) != 0))
		rc = WK_ERR_ISSUER;
	json_decref(j);
	return rc;
}

static int
sync_run(sflow *f, wk_sync_confirm_fn confirm, wk_sync_result *out)
{
	uint8_t ipk[32], nonce[16], hash[32], sig[WK_AREC_SIG_MAX], *page = NULL;
	uint8_t *crl = NULL;
	char path[96];
	size_t len, n, crl_len = 0;
	wk_arec_crl crl_view = { 0 };
	uint64_t stored = 0, acked = 0, cursor, total;
	wk_card_info info;
	wk_audit_status st;
	wk_audit_head head;
	json_t *j = NULL;
	uint16_t sw = 0;
	unsigned max = f->o->page_max, retries = 0, pages = 0, more;
	int rc, tries = -1, bank_rc = WK_OK;
	double t0 = now_ms(), t;

	if (max == 0 || max > WK_AREC_PAGE_MAX)
		max = WK_AREC_PAGE_MAX;
	if ((page = malloc(PAGE_BUF)) == NULL)
		return WK_ERR_MEMORY;
	if ((rc = wk_issuer_call(f->is, "/v1/audit/key", NULL, &j)) != WK_OK) {
		rc = fail_issuer(f, WK_SYNC_STEP_KEY, rc);
		goto out;
	}
	if (wk_hex_unjson(json_object_get(j, "x25519"), ipk, 32, &n) != 0 ||
	    n != 32) {
		rc = fail(f, WK_SYNC_STEP_KEY, WK_ERR_BAD_DATA);
		goto out;
	}
	json_decref(j);
	j = NULL;
	{
		wk_sync_event ev = { .step = WK_SYNC_STEP_KEY };

		emit(f, &ev);
	}
	if (!confirm(f->arg, f->pin, PIN_MAX + 1, &f->pin_len) ||
	    f->pin_len < 4 || f->pin_len > PIN_MAX) {
		rc = WK_ERR_CANCELLED;
		goto out;
	}
	/* no card yet: connect now, after the PIN */
	if (*f->card == NULL && (f->o->reconnect == NULL ||
	    (rc = f->o->reconnect(f->arg, f->card)) != WK_OK || *f->card == NULL)) {
		rc = fail(f, WK_SYNC_STEP_CARD, f->o->reconnect == NULL ?
		    WK_ERR_ARG : rc);
		goto out;
	}
	if ((rc = wk_card_begin(*f->card)) != WK_OK) {
		rc = fail(f, WK_SYNC_STEP_CARD, rc);
		goto out;
	}
	f->begun = true;
	if ((rc = wk_card_get_info(*f->card, &info)) != WK_OK ||
	    (rc = wk_audit_select(*f->card)) != WK_OK ||
	    (rc = wk_audit_get_status(*f->card, &st)) != WK_OK) {
		rc = fail(f, WK_SYNC_STEP_CARD, rc);
		goto out;
	}
	wk_hex_encode(info.serial, 8, f->serial);
	memcpy(out->serial, f->serial, sizeof(out->serial));
	{
		wk_sync_event ev = { .step = WK_SYNC_STEP_CARD };

		emit(f, &ev);
	}
	/* the card's doors at the issuer want its session: the holder's, as
	 * the sync reads what the issuer holds (docs/issuer.md "Sessions") */
	rc = wk_issuer_session_open(*f->card, f->is, f->pin, f->pin_len, &tries,
	    NULL);
	if (rc == WK_ERR_PIN_BLOCKED)
		goto out;	/* the caller may deliver the bank's PIN reload */
	/* the bank's records of the account the card did not see, into its
	 * log before the upload, so they go up with its own (docs/audit.md
	 * "The bank's records"); a full log takes them after the
	 * acknowledgement made room */
	if (rc == WK_OK) {
		wk_sync_event ev = { .step = WK_SYNC_STEP_SESSION };

		emit(f, &ev);
		t = now_ms();
		bank_rc = wk_audit_bank_sync(*f->card, f->is, NULL, NULL, &out->bank);
		out->card_ms += now_ms() - t;
		if (bank_rc != WK_OK && bank_rc != WK_ERR_NO_SPACE) {
			rc = bank_rc == WK_ERR_ISSUER || bank_rc == WK_ERR_NETWORK ?
			    fail_issuer(f, WK_SYNC_STEP_BANK, bank_rc) :
			    fail(f, WK_SYNC_STEP_BANK, bank_rc);
			goto out;
		}
		ev.step = WK_SYNC_STEP_BANK;
		ev.count = out->bank;
		emit(f, &ev);
		if ((rc = wk_audit_select(*f->card)) != WK_OK) {
			rc = fail(f, WK_SYNC_STEP_CARD, rc);
			goto out;
		}
		rc = wk_audit_verify_pin(*f->card, f->pin, f->pin_len, &tries);
	} else if (rc == WK_ERR_CONDITIONS) {
		/* the card is not enrolled with an issuer */
		rc = fail(f, WK_SYNC_STEP_SESSION, rc);
		goto out;
	} else if (rc != WK_ERR_WRONG_PIN) {
		rc = fail_issuer(f, WK_SYNC_STEP_SESSION, rc);
		goto out;
	}
	if (rc != WK_OK) {
		wk_sync_event ev = { .step = WK_SYNC_STEP_FAILED,
		    .failed = WK_SYNC_STEP_PIN, .rc = rc, .tries_left = tries };

		emit(f, &ev);
		goto out;
	}
	{
		wk_sync_event ev = { .step = WK_SYNC_STEP_PIN };

		emit(f, &ev);
	}
	for (unsigned round = 0; round < SYNC_ROUNDS; round++) {
		randombytes_buf(nonce, sizeof(nonce));
		if ((rc = wk_audit_get_head(*f->card, nonce, &head)) != WK_OK) {
			if (link_lost(rc) && retries++ < RESUME_TRIES &&
			    (rc = resume(f)) == WK_OK) {
				round--;
				continue;
			}
			rc = fail(f, WK_SYNC_STEP_HEAD, rc);
			goto out;
		}
		out->head = head.head_seq;
		{
			wk_sync_event ev = { .step = WK_SYNC_STEP_HEAD,
			    .seq = head.head_seq };

			emit(f, &ev);
		}
		if (head.head_seq == 0) {
			/* an empty log: nothing to upload or acknowledge */
			wk_sync_event ev = { .step = WK_SYNC_STEP_EMPTY };

			out->empty = true;
			emit(f, &ev);
			rc = WK_OK;
			goto out;
		}
		if ((rc = issuer_state(f->is, f->serial, head.head_seq + 1, &stored,
		    &acked)) != WK_OK) {
			rc = fail_issuer(f, WK_SYNC_STEP_PAGE, rc);
			goto out;
		}
		/* the issuer's newest record is the resumable cursor; after a
		 * refused acknowledgement, everything it has not acknowledged */
		cursor = (round > 0 ? acked : stored) + 1;
		if (cursor <= head.base_seq)
			cursor = head.base_seq + 1;
		if (round == 0 && head.head_seq > stored) {
			out->missing_first = cursor;
			out->missing = head.head_seq - stored;
			out->missing_last = head.head_seq;
		}
		total = head.head_seq >= cursor ? head.head_seq - cursor + 1 : 0;
		out->uploaded = 0;
		while (cursor <= head.head_seq) {
			len = PAGE_BUF;
			t = now_ms();
			rc = wk_audit_get_page(*f->card, ipk, cursor, max, page, &len);
			out->card_ms += now_ms() - t;
			if ((link_lost(rc) || rc == WK_ERR_CARD_MALFORMED) &&
			    retries++ < RESUME_TRIES) {
				wk_sync_event ev = { .step = WK_SYNC_STEP_LOST,
				    .seq = cursor };

				emit(f, &ev);
				if ((rc = resume(f)) != WK_OK) {
					rc = fail(f, WK_SYNC_STEP_PAGE, rc);
					goto out;
				}
				continue;
			}
			if (rc != WK_OK) {
				rc = fail(f, WK_SYNC_STEP_PAGE, rc);
				goto out;
			}
			retries = 0;
			snprintf(path, sizeof(path), "/v1/audit/%s/records",
			    f->serial);
			t = now_ms();
			rc = wk_issuer_call(f->is, path, json_pack("{s:o}", "page",
			    wk_hex_json(page, len)), &j);
			out->issuer_ms += now_ms() - t;
			if (rc != WK_OK) {
				rc = fail_issuer(f, WK_SYNC_STEP_PAGE, rc);
				goto out;
			}
			if (json_u64(j, "stored_seq", &stored) != 0 ||
			    stored < cursor) {
				wk_sync_event ev = { .step = WK_SYNC_STEP_FAILED,
				    .failed = WK_SYNC_STEP_PAGE,
				    .rc = WK_ERR_BAD_DATA, .issuer = true,
				    .seq = cursor };

				emit(f, &ev);
				rc = WK_ERR_BAD_DATA;
				goto out;
			}
			json_decref(j);
			j = NULL;
			out->uploaded += stored - cursor + 1;
			cursor = stored + 1;
			{
				wk_sync_event ev = { .step = WK_SYNC_STEP_PAGE,
				    .done = out->uploaded, .total = total,
				    .count = ++pages, .seq = stored };

				emit(f, &ev);
			}
		}
		snprintf(path, sizeof(path), "/v1/audit/%s/ack", f->serial);
		t = now_ms();
		rc = wk_issuer_call(f->is, path, json_pack("{s:{s:I, s:o, s:I, s:o, "
		    "s:o, s:o}}", "head", "checkpoint_seq",
		    (json_int_t)head.base_seq, "checkpoint_hash",
		    wk_hex_json(head.base_hash, 32), "seq", (json_int_t)head.head_seq,
		    "hash", wk_hex_json(head.head_hash, 32), "nonce", wk_hex_json(head.nonce, 16),
		    "signature", wk_hex_json(head.sig, head.sig_len)), &j);
		out->issuer_ms += now_ms() - t;
		/* an unacknowledged tail at the issuer that is not the card's:
		 * upload from the acknowledged seq again */
		if (rc == WK_ERR_ISSUER && wk_issuer_http_status(f->is) == 409 &&
		    round + 1 < SYNC_ROUNDS)
			continue;
		if (rc != WK_OK) {
			rc = fail_issuer(f, WK_SYNC_STEP_ACKED, rc);
			goto out;
		}
		break;
	}
	if (j == NULL || json_u64(j, "acked_seq", &out->acked) != 0 ||
	    wk_hex_unjson(json_object_get(j, "acked_hash"), hash, 32, &n) != 0 ||
	    n != 32 || wk_hex_unjson(json_object_get(j, "signature"), sig,
	    sizeof(sig), &len) != 0) {
		wk_sync_event ev = { .step = WK_SYNC_STEP_FAILED,
		    .failed = WK_SYNC_STEP_ACKED, .rc = WK_ERR_BAD_DATA,
		    .issuer = true };

		emit(f, &ev);
		rc = WK_ERR_BAD_DATA;
		goto out;
	}
	{
		wk_sync_event ev = { .step = WK_SYNC_STEP_ACKED,
		    .seq = out->acked };

		emit(f, &ev);
	}
	t = now_ms();
	rc = wk_audit_ack(*f->card, out->acked, hash, sig, len, &sw);
	out->card_ms += now_ms() - t;
	if (link_lost(rc) && (rc = resume(f)) == WK_OK)
		rc = wk_audit_ack(*f->card, out->acked, hash, sig, len, &sw);
	if (rc != WK_OK) {
		wk_sync_event ev = { .step = WK_SYNC_STEP_FAILED,
		    .failed = WK_SYNC_STEP_CARD_ACKED, .rc = rc, .sw = sw };

		emit(f, &ev);
		goto out;
	}
	{
		wk_sync_event ev = { .step = WK_SYNC_STEP_CARD_ACKED,
		    .seq = out->acked };

		emit(f, &ev);
	}
	/* beside it, the issuer's signed revocation list: the card refuses
	 * transfers from the cards it names (docs/audit.md) */
	if (json_object_get(j, "revocation_list") != NULL) {
		size_t cap = WK_AREC_CRL_HDR + WK_AREC_CRL_MAX * WK_AREC_CRL_ID_LEN +
		    WK_AREC_SIG_MAX;

		if ((crl = malloc(cap)) == NULL ||
		    wk_hex_unjson(json_object_get(j, "revocation_list"), crl, cap,
		    &crl_len) != 0 ||
		    wk_arec_crl_parse(crl, crl_len, &crl_view) != WK_AREC_OK) {
			wk_sync_event ev = { .step = WK_SYNC_STEP_FAILED,
			    .failed = WK_SYNC_STEP_CRL, .rc = WK_ERR_BAD_DATA,
			    .issuer = true };

			emit(f, &ev);
			rc = WK_ERR_BAD_DATA;
			goto out;
		}
		t = now_ms();
		rc = wk_audit_revocation_list(*f->card, crl, crl_len, &sw);
		out->card_ms += now_ms() - t;
		if (link_lost(rc) && (rc = resume(f)) == WK_OK)
			rc = wk_audit_revocation_list(*f->card, crl, crl_len, &sw);
		if (rc != WK_OK) {
			wk_sync_event ev = { .step = WK_SYNC_STEP_FAILED,
			    .failed = WK_SYNC_STEP_CRL, .rc = rc, .sw = sw,
			    .seq = crl_view.version };

			emit(f, &ev);
			goto out;
		}
		out->crl = true;
		out->crl_version = crl_view.version;
		out->revoked = (unsigned)crl_view.count;
		{
			wk_sync_event ev = { .step = WK_SYNC_STEP_CRL,
			    .seq = crl_view.version,
			    .count = (unsigned)crl_view.count };

			emit(f, &ev);
		}
	}
	out->revoked = (unsigned)crl_view.count;
	out->crl_version = crl_view.version;
	/* the log was full before: the acknowledgement made room; these
	 * records reach the issuer at the next sync */
	if (bank_rc == WK_ERR_NO_SPACE) {
		more = 0;
		bank_rc = wk_audit_bank_sync(*f->card, f->is, NULL, NULL, &more);
		out->bank += more;
		out->bank_later = more;
		if (bank_rc != WK_OK && bank_rc != WK_ERR_NO_SPACE) {
			rc = fail(f, WK_SYNC_STEP_BANK, bank_rc);
			goto out;
		}
		{
			wk_sync_event ev = { .step = WK_SYNC_STEP_BANK,
			    .count = more };

			emit(f, &ev);
		}
	}
	out->bank_complete = bank_rc == WK_OK;
	rc = WK_OK;
out:
	out->total_ms = now_ms() - t0;
	free(crl);
	json_decref(j);
	free(page);
	return rc;
}

int
wk_audit_sync(wk_card **card, wk_issuer *is, const wk_sync_opts *o,
    wk_sync_confirm_fn confirm, wk_sync_progress_fn progress, void *arg,
    wk_sync_result *out)
{
	static const wk_sync_opts none = { 0 };
	sflow f;
	int rc;

	if (card == NULL || is == NULL || confirm == NULL || out == NULL ||
	    (*card == NULL && (o == NULL || o->reconnect == NULL)))
		return WK_ERR_ARG;
	memset(out, 0, sizeof(*out));
	memset(&f, 0, sizeof(f));
	f.card = card;
	f.is = is;
	f.o = o != NULL ? o : &none;
	f.progress = progress;
	f.arg = arg;
	rc = sync_run(&f, confirm, out);
	if (f.begun && *card != NULL)
		wk_card_end(*card);
	sodium_memzero(f.pin, sizeof(f.pin));
	return rc;
}
