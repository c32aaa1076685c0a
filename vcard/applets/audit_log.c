/* the audit log's store: hash chain, capacity, checkpoints (audit_log.h) */
#include "audit_log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vc_perso.h"
#include "vc_store.h"
#include "wk_hex.h"

#define STATE_LEN (4 + 8 + 32 + 8 + 32 + 8)

static int
state_put(vc_card *card, const audit_state *s)
{
	uint8_t raw[STATE_LEN];
	wk_buf b;

	wk_buf_init_fixed(&b, raw, sizeof(raw));
	wk_buf_be32(&b, s->cap);
	wk_buf_be64(&b, s->base_seq);
	wk_buf_add(&b, s->base_hash, WK_AREC_HASH_LEN);
	wk_buf_be64(&b, s->head_seq);
	wk_buf_add(&b, s->head_hash, WK_AREC_HASH_LEN);
	wk_buf_be64(&b, s->acked);
	if (wk_buf_failed(&b) || b.len != STATE_LEN)
		return AUDIT_LOG_ERROR;
	return vc_store_put(vc_card_store(card), AUDIT_APPLET, "state", raw,
	    sizeof(raw)) == VC_STORE_OK ? AUDIT_LOG_OK : AUDIT_LOG_ERROR;
}

static int
state_get(vc_card *card, audit_state *s)
{
	uint8_t raw[STATE_LEN + 1];
	wk_buf b;
	wk_cur c;
	int rc;

	wk_buf_init_fixed(&b, raw, sizeof(raw));
	rc = vc_store_get(vc_card_store(card), AUDIT_APPLET, "state", &b);
	if (rc == VC_STORE_NOT_FOUND)
		return AUDIT_LOG_FULL;	/* no log yet */
	if (rc != VC_STORE_OK || wk_buf_failed(&b) || b.len != STATE_LEN)
		return AUDIT_LOG_ERROR;
	wk_cur_init(&c, raw, b.len);
	if (wk_cur_be32(&c, &s->cap) != 0 ||
	    wk_cur_be64(&c, &s->base_seq) != 0 ||
	    wk_cur_copy(&c, s->base_hash, WK_AREC_HASH_LEN) != 0 ||
	    wk_cur_be64(&c, &s->head_seq) != 0 ||
	    wk_cur_copy(&c, s->head_hash, WK_AREC_HASH_LEN) != 0 ||
	    wk_cur_be64(&c, &s->acked) != 0 || c.len != 0)
		return AUDIT_LOG_ERROR;
	return AUDIT_LOG_OK;
}

/* record seq is the value "rec.<seq>" (the store's upgrade of format 1
 * stores use the same name, vcard/vc_store_int.h) */
static void
rec_name(uint64_t seq, char name[32])
{
	char d[20];
	size_t n = 0;

	/* as snprintf's "rec.%llu" (an export names 255 a page) */
	do {
		d[n++] = (char)('0' + seq % 10);
		seq /= 10;
	} while (seq > 0);
	memcpy(name, "rec.", 4);
	for (size_t i = 0; i < n; i++)
		name[4 + i] = d[n - 1 - i];
	name[4 + n] = '\0';
}

int
audit_log_create(vc_card *card, uint32_t cap)
{
	audit_state s;

	memset(&s, 0, sizeof(s));
	s.cap = cap;
	return state_put(card, &s);
}

/* a card whose store predates the log, or that runs without the audit
 * applet (unit tests), gets the default log at its first use */
int
audit_log_state(vc_card *card, audit_state *s)
{
	int rc = state_get(card, s);

	if (rc == AUDIT_LOG_FULL) {
		if (audit_log_create(card, VC_PERSO_AUDIT_DEFAULT) != AUDIT_LOG_OK)
			return AUDIT_LOG_ERROR;
		rc = state_get(card, s);
	}
	return rc;
}

int
audit_log_open(vc_card *card)
{
	audit_state s;

	return audit_log_state(card, &s);
}

static bool
full(const audit_state *s)
{
	return s->head_seq - s->base_seq >= s->cap;
}

int
audit_log_room(vc_card *card)
{
	audit_state s;

	if (audit_log_state(card, &s) != AUDIT_LOG_OK)
		return AUDIT_LOG_ERROR;
	if (full(&s) && s.acked <= s.base_seq)
		return AUDIT_LOG_FULL;
	return AUDIT_LOG_OK;
}

static int
rec_get(vc_card *card, uint64_t seq, uint8_t raw[WK_AREC_LEN])
{
	uint8_t b[WK_AREC_LEN + 1];
	char name[32];
	wk_buf buf;

	rec_name(seq, name);
	wk_buf_init_fixed(&buf, b, sizeof(b));
	if (vc_store_get(vc_card_store(card), AUDIT_APPLET, name, &buf) !=
	    VC_STORE_OK || buf.len != WK_AREC_LEN)
		return AUDIT_LOG_ERROR;
	memcpy(raw, b, WK_AREC_LEN);
	return AUDIT_LOG_OK;
}

int
audit_log_append(vc_card *card, wk_arec *r)
{
	vc_store *st = vc_card_store(card);
	uint8_t raw[WK_AREC_LEN], old[WK_AREC_LEN];
	char name[32];
	audit_state s;
	uint64_t drop = 0;

	if (audit_log_state(card, &s) != AUDIT_LOG_OK)
		return AUDIT_LOG_ERROR;
	if (full(&s)) {
		/* only what the issuer holds may leave the card */
		if (s.acked <= s.base_seq)
			return AUDIT_LOG_FULL;
		drop = s.base_seq + 1;
		if (rec_get(card, drop, old) != AUDIT_LOG_OK)
			return AUDIT_LOG_ERROR;
		s.base_seq = drop;
		wk_arec_hash(old, s.base_hash);
	}
	r->seq = s.head_seq + 1;
	memcpy(r->prev, s.head_hash, WK_AREC_HASH_LEN);
	wk_arec_encode(r, raw);
	s.head_seq = r->seq;
	wk_arec_hash(raw, s.head_hash);
	rec_name(r->seq, name);
	if (state_put(card, &s) != AUDIT_LOG_OK ||
	    vc_store_put(st, AUDIT_APPLET, name, raw, sizeof(raw)) !=
	    VC_STORE_OK)
		return AUDIT_LOG_ERROR;
	rec_name(drop, name);
	if (drop != 0 && vc_store_del(st, AUDIT_APPLET, name) != VC_STORE_OK)
		return AUDIT_LOG_ERROR;
	return AUDIT_LOG_OK;
}

int
audit_log_read(vc_card *card, uint64_t from, unsigned max, wk_buf *out,
    unsigned *count, uint64_t *first)
{
	vc_store *st = vc_card_store(card);
	uint8_t raw[WK_AREC_LEN];
	audit_state s;
	unsigned n = 0;
	bool batch;
	int rc = AUDIT_LOG_ERROR;

	/* one database read transaction for the state and every record */
	batch = vc_store_read_begin(st);
	if (audit_log_state(card, &s) != AUDIT_LOG_OK)
		goto out;
	if (from <= s.base_seq)
		from = s.base_seq + 1;
	*first = from;
	/* the chain has no holes: a missing record means a damaged store */
	for (; n < max && from <= s.head_seq && n <= s.head_seq - from; n++) {
		if (rec_get(card, from + n, raw) != AUDIT_LOG_OK)
			goto out;
		wk_buf_add(out, raw, sizeof(raw));
	}
	if (wk_buf_failed(out))
		goto out;
	*count = n;
	rc = AUDIT_LOG_OK;
out:
	vc_store_read_end(st, batch);
	return rc;
}

int
audit_log_ack(vc_card *card, uint64_t seq)
{
	audit_state s;

	if (audit_log_state(card, &s) != AUDIT_LOG_OK)
		return AUDIT_LOG_ERROR;
	if (seq > s.head_seq)
		return AUDIT_LOG_ERROR;
	if (seq <= s.acked)
		return AUDIT_LOG_OK;
	s.acked = seq;
	return state_put(card, &s);
}

void
audit_log_stamp(wk_arec *r)
{
	(void)wk_bcd_datetime(time(NULL), r->date, r->time);
}
