/*
 * the bank's records of the account for one card (docs/audit.md "The
 * bank's records"): what the ledger did, since the card's enrolment, with
 * the card's account and its
 * float that the card did not see itself (deposits, online payments,
 * loads of the account's other cards, the card's loads reversed,
 * settlements of its purchases), as 86-byte records the card checks with
 * its trust anchor and chains into its log. Each is a ledger entry; its
 * event number is the entry's id, which only grows (entries are
 * append-only), so the card takes each once and in order.
 *
 *   GET /v1/audit/{card}/bank/{after}   (the holder's session)
 *     -> {"batch": hex WKAUDIT-ISS/1 signed by the CA key, "count",
 *         "last": the last event number in it, "more"}
 */
#include "iss.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_arec.h"
#include "wk_hex.h"

#define U32_CAP 0xFFFFFFFFll

/* "2026-12-07T08:01:02.123456Z" -> BCD date and time (zeros if not) */
static void
iso_bcd(const char *iso, uint8_t date[4], uint8_t time[3])
{
	static const int pos[] = { 0, 2, 5, 8, 11, 14, 17 };
	uint8_t *out[] = { date, date + 1, date + 2, date + 3, time, time + 1,
	    time + 2 };

	memset(date, 0, 4);
	memset(time, 0, 3);
	if (iso == NULL || strlen(iso) < 19)
		return;
	for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		if (!isdigit((unsigned char)iso[pos[i]]) ||
		    !isdigit((unsigned char)iso[pos[i] + 1])) {
			memset(date, 0, 4);
			memset(time, 0, 3);
			return;
		}
		*out[i] = (uint8_t)((iso[pos[i]] - '0') << 4 | (iso[pos[i] + 1] - '0'));
	}
}

/* an account: its PAN right-aligned in 20 BCD digits */
static void
account(uint8_t out[WK_AREC_ACCT_LEN], const char *pan)
{
	char digits[21];
	size_t n = pan != NULL ? strlen(pan) : 0;

	memset(out, 0, WK_AREC_ACCT_LEN);
	out[0] = WK_AREC_ACCT_ACCOUNT;
	if (n > 20 || (n > 0 && strspn(pan, "0123456789") != n))
		return;
	memset(digits, '0', 20);
	memcpy(digits + 20 - n, pan, n);
	for (int i = 0; i < 10; i++)
		out[1 + i] = (uint8_t)((digits[2 * i] - '0') << 4 |
		    (digits[2 * i + 1] - '0'));
}

static void
card_account(uint8_t out[WK_AREC_ACCT_LEN], const char *card_hex)
{
	memset(out, 0, WK_AREC_ACCT_LEN);
	out[0] = WK_AREC_ACCT_CARD;
	if (card_hex != NULL)
		(void)wk_hex_decode(card_hex, out + 1, 8);
}

static uint32_t
cap32(int64_t v)
{
	if (v < 0)
		v = -v;
	return (uint32_t)(v > U32_CAP ? U32_CAP : v);
}

/* one ledger entry as the bank's record; the columns of the query below */
static void
entry_record(iss_res *r, size_t i, const char *card, const char *pan,
    int64_t acct, wk_arec *rec)
{
	int64_t entry = iss_res_int(r, i, 0), on = iss_res_int(r, i, 1);
	int64_t amount = iss_res_int(r, i, 2), bal = iss_res_int(r, i, 6);
	const char *kind = iss_res_text(r, i, 3), *other = iss_res_text(r, i, 7);
	const char *term = iss_res_text(r, i, 8);
	bool credit = amount > 0;

	memset(rec, 0, sizeof(*rec));
	iso_bcd(iss_res_text(r, i, 5), rec->date, rec->time);
	rec->amount = cap32(amount);
	/* the account's balance after the entry (for the float's, too) */
	rec->balance = cap32(bal);
	wk_arec_iss_set_event(rec, (uint64_t)entry);
	if (kind == NULL)
		kind = "";
	if (on != acct) {
		/* the card's float paid a merchant for its purchase */
		rec->type = WK_AREC_ISS_SETTLEMENT;
		card_account(rec->src, card);
		rec->dst[0] = WK_AREC_ACCT_TERMINAL;
		if (term != NULL)
			(void)wk_hex_decode(term, rec->dst + 1, 6);
		return;
	}
	if (strcmp(kind, "deposit") == 0) {
		rec->type = credit ? WK_AREC_ISS_DEPOSIT : WK_AREC_ISS_DEBIT;
		rec->src[0] = WK_AREC_ACCT_OUTSIDE;
		account(rec->dst, pan);
	} else if (strstr(kind, "reversal") != NULL && credit) {
		/* a load the card never credited comes back to the account */
		rec->type = WK_AREC_ISS_REVERSAL;
		card_account(rec->src, other);
		account(rec->dst, pan);
	} else if (strcmp(kind, "load") == 0 && !credit) {
		/* the account loaded another of its cards */
		rec->type = WK_AREC_ISS_LOAD;
		account(rec->src, pan);
		card_account(rec->dst, other);
	} else if (strstr(kind, "payment") != NULL && !credit) {
		rec->type = WK_AREC_ISS_PAYMENT;
		account(rec->src, pan);
		rec->dst[0] = WK_AREC_ACCT_OUTSIDE;
	} else {
		rec->type = credit ? WK_AREC_ISS_CREDIT : WK_AREC_ISS_DEBIT;
		if (credit) {
			rec->src[0] = WK_AREC_ACCT_OUTSIDE;
			account(rec->dst, pan);
		} else {
			account(rec->src, pan);
			rec->dst[0] = WK_AREC_ACCT_OUTSIDE;
		}
	}
}

int
iss_audit_bank(iss *is, const char *card, const char *after, json_t **resp,
    iss_err *e)
{
	uint8_t serial[8], sig[WK_AREC_SIG_MAX], *batch = NULL;
	char id[17], pan[24] = "", since[40] = "", *end = NULL, *hex = NULL;
	iss_res *r = NULL;
	iss_db *db = NULL;
	int64_t acct = 0, flt = 0, last = 0;
	size_t rows, n, len, sl = 0;
	unsigned long long a;
	bool more;
	int rc = -1, d;

	if (strlen(card) != 16 || strspn(card, "0123456789abcdefABCDEF") != 16) {
		iss_fail(e, 404, "not_found", "a card id is 16 hex digits");
		return -1;
	}
	for (size_t i = 0; i < 16; i++)
		id[i] = (char)tolower((unsigned char)card[i]);
	id[16] = '\0';
	(void)wk_hex_decode(id, serial, sizeof(serial));
	a = strtoull(after, &end, 10);
	if (after[0] < '0' || after[0] > '9' || *end != '\0' ||
	    strlen(after) > 15) {
		iss_fail(e, 404, "not_found", "bank/AFTER: an event number from 0");
		return -1;
	}
	if ((db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		return -1;
	}
	if ((d = iss_db_begin(db)) != ISS_DB_OK) {
		iss_fail_db(e, db, d);
		goto out;
	}
	if ((d = iss_db_exec(db, "SELECT c.account_id,"
	    " COALESCE(c.float_account, 0), a.pan, c.created_at FROM cards c"
	    " JOIN accounts a ON a.id = c.account_id WHERE c.card_id = $1",
	    (iss_param[]){ ISS_PS(id) }, 1, &r)) != ISS_DB_OK) {
		iss_fail_db(e, db, d);
		goto rollback;
	}
	if (iss_res_rows(r) != 1) {
		iss_fail(e, 404, "card_not_found", "card %s is not enrolled", id);
		goto rollback;
	}
	acct = iss_res_int(r, 0, 0);
	flt = iss_res_int(r, 0, 1);
	snprintf(pan, sizeof(pan), "%s", iss_res_text(r, 0, 2) != NULL ?
	    iss_res_text(r, 0, 2) : "");
	snprintf(since, sizeof(since), "%s", iss_res_text(r, 0, 3) != NULL ?
	    iss_res_text(r, 0, 3) : "");
	iss_res_free(&r);
	/*
	 * since the card's enrolment (before it, the card was not the
	 * account's): the account's entries but the card's own loads (the card
	 * recorded those it credited; a reversed one comes back as its
	 * reversal), and the settlements out of the card's float; one
	 * snapshot, with the account's balance after each entry and what the
	 * entry names
	 */
	if ((d = iss_db_exec(db, "SELECT e.id, e.account_id, e.amount, t.kind,"
	    " t.ref, t.created_at,"
	    " (SELECT COALESCE(SUM(x.amount), 0) FROM entries x WHERE"
	    "  x.account_id = $2 AND x.id <= e.id),"
	    " (SELECT l.card_id FROM loads l WHERE l.id = t.ref),"
	    " (SELECT s.terminal_id FROM settlements s WHERE"
	    "  s.oplog_id = t.oplog_id AND s.card_id = $4)"
	    " FROM entries e JOIN txns t ON t.id = e.txn_id"
	    " WHERE e.id > $1 AND t.created_at >= $6 AND ((e.account_id = $2 AND"
	    "  NOT (t.kind = 'load'"
	    "  AND EXISTS (SELECT 1 FROM loads l WHERE l.id = t.ref AND"
	    "  l.card_id = $4))) OR (e.account_id = $3 AND t.kind ="
	    "  'settlement'))"
	    " ORDER BY e.id LIMIT $5", (iss_param[]){ ISS_PI(a), ISS_PI(acct),
	    ISS_PI(flt), ISS_PS(id), ISS_PI(WK_AREC_ISS_MAX + 1), ISS_PS(since) },
	    6, &r)) !=
	    ISS_DB_OK) {
		iss_fail_db(e, db, d);
		goto rollback;
	}
	iss_db_rollback(db);
	rows = iss_res_rows(r);
	more = rows > WK_AREC_ISS_MAX;
	n = more ? WK_AREC_ISS_MAX : rows;
	if (n == 0) {
		if ((*resp = json_pack("{s:n, s:i, s:I, s:b}", "batch", "count", 0,
		    "last", (json_int_t)a, "more", false)) == NULL)
			iss_fail(e, 500, "internal", "out of memory");
		rc = *resp != NULL ? 0 : -1;
		goto out;
	}
	len = WK_AREC_ISS_HDR + n * WK_AREC_LEN;
	if ((batch = malloc(len + WK_AREC_SIG_MAX)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	wk_arec_iss_header(serial, (uint16_t)n, batch);
	for (size_t i = 0; i < n; i++) {
		wk_arec rec;

		entry_record(r, i, id, pan, acct, &rec);
		wk_arec_encode(&rec, batch + WK_AREC_ISS_HDR + i * WK_AREC_LEN);
		last = iss_res_int(r, i, 0);
	}
	if (wk_arec_sign(is->keys.ca_key, batch, len, sig, sizeof(sig), &sl) !=
	    WK_AREC_OK) {
		iss_fail(e, 500, "internal", "cannot sign the records");
		goto out;
	}
	memcpy(batch + len, sig, sl);
	len += sl;
	if ((hex = malloc(2 * len + 1)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	wk_hex_encode(batch, len, hex);
	if ((*resp = json_pack("{s:s, s:i, s:I, s:b}", "batch", hex, "count",
	    (int)n, "last", (json_int_t)last, "more", more)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
	goto out;
rollback:
	iss_db_rollback(db);
out:
	free(hex);
	free(batch);
	iss_res_free(&r);
	iss_pool_put(is->pool, db);
	return rc;
}
