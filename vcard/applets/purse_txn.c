/*
 * the purse's financial commands (pboc-purse.md sections 2-4, 8, 9):
 * INITIALIZE FOR LOAD / PURCHASE / CASH WITHDRAW / UNLOAD / UPDATE, CREDIT
 * FOR LOAD, DEBIT FOR PURCHASE / CASH WITHDRAW / UNLOAD, UPDATE OVERDRAW
 * LIMIT. Each completing command changes balance, seq, log record and proof
 * in the one store transaction the APDU layer opened for it.
 */
#include "purse.h"

#include <string.h>

#include <sodium.h>

#include "vc_store.h"

#define INS_INIT 0x50
#define INS_CREDIT 0x52
#define INS_DEBIT 0x54
#define INS_UPDATE_LIMIT 0x58

#define P1_LOAD 0x00
#define P1_PURCHASE 0x01
#define P1_CASH 0x02
#define P1_UPDATE 0x04
#define P1_UNLOAD 0x05

#define P1_DEBIT_PURCHASE 0x01
#define P1_DEBIT_UNLOAD 0x03

static uint32_t
be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t
be24(const uint8_t *p)
{
	return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}

/* ---- INITIALIZE ---- */

typedef struct init_req {
	uint8_t p1;
	int purse;
	uint8_t type;
	int key_purpose;
	enum purse_sess_kind kind;
	size_t lc;
} init_req;

/* the P1/P2 table of section 2; false for combinations it does not list */
static bool
init_lookup(const wk_apdu *cmd, init_req *r)
{
	bool ed = cmd->p2 == 0x01;

	if (cmd->p2 != 0x01 && cmd->p2 != 0x02)
		return false;
	r->p1 = cmd->p1;
	r->purse = ed ? PURSE_ED : PURSE_EP;
	r->lc = 0x0B;
	switch (cmd->p1) {
	case P1_LOAD:
		r->type = ed ? WK_PURSE_TT_ED_LOAD : WK_PURSE_TT_EP_LOAD;
		r->key_purpose = PURSE_KEY_DLK;
		r->kind = SESS_LOAD;
		return true;
	case P1_PURCHASE:
		r->type = ed ? WK_PURSE_TT_ED_PURCHASE : WK_PURSE_TT_EP_PURCHASE;
		r->key_purpose = PURSE_KEY_DPK;
		r->kind = SESS_PURCHASE;
		return true;
	case P1_CASH:
		r->type = WK_PURSE_TT_ED_CASH;
		r->key_purpose = PURSE_KEY_DPK;
		r->kind = SESS_PURCHASE;
		return ed;
	case P1_UPDATE:
		r->type = WK_PURSE_TT_ED_UPDATE;
		r->key_purpose = PURSE_KEY_DUK;
		r->kind = SESS_UPDATE;
		r->lc = 0x07;
		return ed;
	case P1_UNLOAD:
		r->type = WK_PURSE_TT_UNLOAD;
		r->key_purpose = PURSE_KEY_DULK;
		r->kind = SESS_UNLOAD;
		return ed;
	default:
		/* 03 (CAPP purchase) is not offered: docs/purse.md */
		return false;
	}
}

/* 8: which transactions need a verified PIN: every ED one; for the EP the
 * profile's "pin_required" (default: load yes, purchase no) */
static bool
init_needs_pin(vc_card *card, const init_req *r)
{
	if (r->purse == PURSE_ED)
		return true;
	if (r->kind == SESS_LOAD)
		return purse_pin_required(card, PURSE_PIN_LOAD);
	if (r->kind == SESS_PURCHASE)
		return purse_pin_required(card, PURSE_PIN_PURCHASE);
	return true;
}

static uint16_t
initialize(purse_applet *a, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	purse_session *ss = &a->sess;
	purse_session s;
	purse_state st;
	purse_key k;
	purse_wallet *w;
	init_req r;
	uint8_t mac1[WK_PURSE_MAC_LEN];
	uint16_t sw = WK_SW_MEMORY_FAILURE;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&k, 0, sizeof(k));
	if (!init_lookup(cmd, &r)) {
		sw = WK_SW_WRONG_P1P2;
		goto out;
	}
	if (purse_state_get(card, &st) != VC_STORE_OK)
		goto out;
	if (!purse_has(&st, r.purse)) {
		sw = WK_SW_FUNC_NOT_SUPPORTED;
		goto out;
	}
	if (cmd->lc != r.lc) {
		sw = WK_SW_WRONG_LENGTH;
		goto out;
	}
	/* U6: a missing PIN is 6985, as FMCOS answers */
	if (!a->pin_ok && init_needs_pin(card, &r)) {
		sw = WK_SW_CONDITIONS;
		goto out;
	}
	w = &st.w[r.purse];
	s.kind = r.kind;
	s.purse = r.purse;
	s.type = r.type;
	s.key_index = cmd->data[0];
	s.old_balance = w->balance;
	s.old_limit = r.purse == PURSE_ED ? st.limit : 0;
	if (r.kind == SESS_UPDATE) {
		memcpy(s.term_id, cmd->data + 1, WK_PURSE_TERM_ID_LEN);
	} else {
		s.amount = be32(cmd->data + 1);
		memcpy(s.term_id, cmd->data + 5, WK_PURSE_TERM_ID_LEN);
		/* docs/purse.md: a zero amount is not a transaction */
		if (s.amount == 0) {
			sw = WK_SW_WRONG_DATA;
			goto out;
		}
	}
	rc = purse_key_get(card, r.key_purpose, s.key_index, &k);
	if (rc == VC_STORE_NOT_FOUND) {
		sw = WK_SW_PURSE_KEY_NOT_FOUND;
		goto out;
	}
	if (rc != VC_STORE_OK)
		goto out;
	s.seq = r.kind == SESS_PURCHASE ? w->offline_seq : w->online_seq;
	/* U4/8: a counter at FFFF would wrap; refuse instead */
	if (s.seq == PURSE_SEQ_MAX) {
		sw = WK_SW_PURSE_SEQ_LIMIT;
		goto out;
	}
	/* docs/audit.md: no transaction the audit log could not record */
	if ((sw = purse_audit_room(card)) != WK_SW_OK)
		goto out;
	sw = WK_SW_MEMORY_FAILURE;
	switch (r.kind) {
	case SESS_LOAD:
		/* U4: a load past the personalised ceiling is refused with 6985 */
		if ((uint64_t)w->balance + s.amount > st.ceiling) {
			sw = WK_SW_CONDITIONS;
			goto out;
		}
		break;
	case SESS_PURCHASE:
		/* 3.2: the ED balance already includes the overdraft limit */
		if (s.amount > w->balance) {
			sw = WK_SW_PURSE_INSUFFICIENT;
			goto out;
		}
		break;
	case SESS_UNLOAD:
		/* only funds leave, never the overdraft */
		if (w->balance < st.limit || s.amount > w->balance - st.limit) {
			sw = WK_SW_PURSE_INSUFFICIENT;
			goto out;
		}
		break;
	default:
		break;
	}
	vc_card_random(card, s.rnd, sizeof(s.rnd));

	/* the key's own algorithm (docs/purse.md "SM4"), answered below */
	if (r.kind != SESS_PURCHASE &&
	    wk_purse_session_key_online(k.alg, k.key, s.rnd, s.seq, &s.sk) !=
	    WK_PURSE_CRYPTO_OK)
		goto out;
	switch (r.kind) {
	case SESS_LOAD:
		rc = wk_purse_load_mac1(&s.sk, s.old_balance, s.amount, s.type,
		    s.term_id, mac1);
		break;
	case SESS_UNLOAD:
		rc = wk_purse_unload_mac1(&s.sk, s.old_balance, s.amount,
		    s.term_id, mac1);
		break;
	case SESS_UPDATE:
		rc = wk_purse_update_mac1(&s.sk, s.old_balance, s.old_limit,
		    s.term_id, mac1);
		break;
	default:
		rc = WK_PURSE_CRYPTO_OK;
		break;
	}
	if (rc != WK_PURSE_CRYPTO_OK)
		goto out;

	/* 3.1, 3.2, 3.4 */
	wk_buf_be32(resp, s.old_balance);
	wk_buf_be16(resp, s.seq);
	if (r.kind == SESS_PURCHASE || r.kind == SESS_UPDATE)
		wk_buf_be24(resp, s.old_limit);
	wk_buf_u8(resp, k.version);
	wk_buf_u8(resp, k.alg);
	wk_buf_add(resp, s.rnd, sizeof(s.rnd));
	if (r.kind != SESS_PURCHASE)
		wk_buf_add(resp, mac1, sizeof(mac1));
	*ss = s;
	sw = WK_SW_OK;
out:
	sodium_memzero(&s, sizeof(s));
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(mac1, sizeof(mac1));
	return sw;
}

/* ---- completions ---- */

/* the state as INITIALIZE saw it; anything else means a lost session */
static bool
session_current(const purse_session *s, const purse_state *st)
{
	const purse_wallet *w = &st->w[s->purse];
	uint16_t seq = s->kind == SESS_PURCHASE ? w->offline_seq : w->online_seq;

	return w->balance == s->old_balance && seq == s->seq &&
	    (s->purse != PURSE_ED || st->limit == s->old_limit);
}

/*
 * a host MAC2 (load, unload, overdraft update) under an issuer key: the
 * try is spent and durable before the comparison, unless LOAD GRANT spent
 * it for this command already; a right one restores the tries in this
 * command's transaction (docs/purse.md "Blocking")
 */
static uint16_t
mac2_check(purse_applet *a, vc_card *card, const uint8_t want[WK_PURSE_MAC_LEN],
    const uint8_t *mac2)
{
	uint16_t sw;

	if (!a->mac_spent && (sw = purse_mac_spend(card)) != WK_SW_OK)
		return sw;
	if (sodium_memcmp(want, mac2, WK_PURSE_MAC_LEN) != 0)
		return WK_SW_PURSE_MAC_INVALID;
	return purse_mac_reset(card) == VC_STORE_OK ? WK_SW_OK :
	    WK_SW_MEMORY_FAILURE;
}

/* log record, proof, counters: the one write of a completed transaction */
static int
complete(vc_card *card, purse_state *st, const purse_session *s,
    uint32_t new_balance, uint32_t rec_amount, const uint8_t *date,
    const uint8_t *time, const uint8_t mac[WK_PURSE_MAC_LEN],
    const uint8_t tac[WK_PURSE_MAC_LEN])
{
	purse_wallet *w = &st->w[s->purse];
	purse_proof *pr = &w->proof;
	uint8_t rec[PURSE_REC_LEN];
	uint16_t next = (uint16_t)(s->seq + 1);

	if (s->kind == SESS_PURCHASE)
		w->offline_seq = next;
	else
		w->online_seq = next;
	w->balance = new_balance;
	/* U1: the record holds the seq after the increment */
	purse_record(rec, next, s->purse == PURSE_ED ? st->limit : 0, rec_amount,
	    s->type, s->term_id, date, time);
	pr->valid = true;
	pr->type = s->type;
	pr->seq = s->seq;
	memcpy(pr->mac, mac, WK_PURSE_MAC_LEN);
	memcpy(pr->tac, tac, WK_PURSE_MAC_LEN);
	if (purse_log_add(card, st, rec) != VC_STORE_OK)
		return -1;
	if (purse_state_put(card, st) != VC_STORE_OK)
		return -1;
	/* docs/audit.md: the audit record commits with the transaction */
	return purse_audit_add(card, st, s, next, date, time) == 0 ? 0 : -1;
}

/* what a CREDIT, DEBIT or UPDATE step computes from the command's data once
 * the session is checked: the new balance, the log record's amount, the
 * proof's MAC and TAC, and the answer */
typedef struct txn_out {
	const uint8_t *date, *time;
	uint32_t balance, rec_amount;
	uint8_t mac[WK_PURSE_MAC_LEN], tac[WK_PURSE_MAC_LEN];
	uint8_t answer[8];
	size_t answer_len;
} txn_out;

/* the second command of a transaction: its length, the session it
 * finishes, and the type's own checks and MACs */
typedef struct txn_step {
	bool p1p2;		/* P1 P2 must be 00 00 (DEBIT's are checked by
				 * purse_txn_process) */
	uint8_t lc;
	enum purse_sess_kind kind;
	uint16_t (*run)(purse_applet *a, vc_card *card, const purse_session *s,
	    purse_state *st, const uint8_t *d, txn_out *o);
} txn_step;

/* the skeleton of every second command: checks, the type's step, the one
 * write (complete) and the answer */
static uint16_t
finish(purse_applet *a, vc_card *card, const wk_apdu *cmd, wk_buf *resp,
    const purse_session *s, const txn_step *step)
{
	purse_state st;
	txn_out o;
	uint16_t sw;

	if (step->p1p2 && (cmd->p1 != 0x00 || cmd->p2 != 0x00))
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != step->lc)
		return WK_SW_WRONG_LENGTH;
	if (s->kind != step->kind)
		return WK_SW_INVALID_STATE;
	if (purse_state_get(card, &st) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	if (!session_current(s, &st))
		return WK_SW_INVALID_STATE;
	memset(&o, 0, sizeof(o));
	if ((sw = step->run(a, card, s, &st, cmd->data, &o)) != WK_SW_OK)
		goto out;
	sw = WK_SW_MEMORY_FAILURE;
	if (complete(card, &st, s, o.balance, o.rec_amount, o.date, o.time,
	    o.mac, o.tac) != 0)
		goto out;
	wk_buf_add(resp, o.answer, o.answer_len);
	a->pin_ok = false;
	sw = WK_SW_OK;
out:
	sodium_memzero(&o, sizeof(o));
	return sw;
}

/* CREDIT FOR LOAD: date, time, MAC2 */
static uint16_t
load_run(purse_applet *a, vc_card *card, const purse_session *s,
    purse_state *st, const uint8_t *d, txn_out *o)
{
	uint8_t want[WK_PURSE_MAC_LEN];
	wk_purse_skey ktac;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	(void)st;
	o->date = d;
	o->time = d + 4;
	if (wk_purse_load_mac2(&s->sk, s->amount, s->type, s->term_id, o->date,
	    o->time, want) != WK_PURSE_CRYPTO_OK)
		goto out;
	if ((sw = mac2_check(a, card, want, d + 7)) != WK_SW_OK)
		goto out;
	sw = WK_SW_MEMORY_FAILURE;
	o->balance = s->old_balance + s->amount; /* below the ceiling: INIT checked */
	o->rec_amount = s->amount;
	if (purse_tac_key(card, &ktac) != VC_STORE_OK ||
	    wk_purse_load_tac(&ktac, o->balance, s->seq, s->amount, s->type,
	    s->term_id, o->date, o->time, o->tac) != WK_PURSE_CRYPTO_OK)
		goto out;
	/* U2: the proof's MAC field of a load is the host MAC2 */
	memcpy(o->mac, d + 7, WK_PURSE_MAC_LEN);
	memcpy(o->answer, o->tac, 4);
	o->answer_len = 4;
	sw = WK_SW_OK;
out:
	sodium_memzero(&ktac, sizeof(ktac));
	sodium_memzero(want, sizeof(want));
	return sw;
}

/* DEBIT FOR PURCHASE: terminal seq, date, time, MAC1 */
static uint16_t
purchase_run(purse_applet *a, vc_card *card, const purse_session *s,
    purse_state *st, const uint8_t *d, txn_out *o)
{
	const uint8_t *tseq = d;
	wk_purse_skey sk, ktac;
	uint8_t want[WK_PURSE_MAC_LEN];
	purse_key k;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	(void)a;
	(void)st;
	memset(&k, 0, sizeof(k));
	memset(&sk, 0, sizeof(sk));
	memset(&ktac, 0, sizeof(ktac));
	o->date = d + 4;
	o->time = d + 8;
	/* 3.3: SESPK needs the terminal seq, so the DPK is read again here */
	if (purse_key_get(card, PURSE_KEY_DPK, s->key_index, &k) != VC_STORE_OK ||
	    wk_purse_session_key_purchase(k.alg, k.key, s->rnd, s->seq, tseq,
	    &sk) != WK_PURSE_CRYPTO_OK ||
	    wk_purse_purchase_mac1(&sk, s->amount, s->type, s->term_id, o->date,
	    o->time, want) != WK_PURSE_CRYPTO_OK)
		goto out;
	if (sodium_memcmp(want, d + 11, WK_PURSE_MAC_LEN) != 0) {
		sw = WK_SW_PURSE_MAC_INVALID;
		goto out;
	}
	if (s->amount > s->old_balance) {
		sw = WK_SW_PURSE_INSUFFICIENT;
		goto out;
	}
	if (wk_purse_purchase_mac2(&sk, s->amount, o->mac) != WK_PURSE_CRYPTO_OK ||
	    purse_tac_key(card, &ktac) != VC_STORE_OK ||
	    wk_purse_purchase_tac(&ktac, s->amount, s->type, s->term_id, tseq,
	    o->date, o->time, o->tac) != WK_PURSE_CRYPTO_OK)
		goto out;
	o->balance = s->old_balance - s->amount;
	o->rec_amount = s->amount;
	/* 3.3: TAC first, then MAC2 */
	memcpy(o->answer, o->tac, 4);
	memcpy(o->answer + 4, o->mac, 4);
	o->answer_len = 8;
	sw = WK_SW_OK;
out:
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(&sk, sizeof(sk));
	sodium_memzero(&ktac, sizeof(ktac));
	sodium_memzero(want, sizeof(want));
	return sw;
}

/* DEBIT FOR UNLOAD: date, time, MAC2 */
static uint16_t
unload_run(purse_applet *a, vc_card *card, const purse_session *s,
    purse_state *st, const uint8_t *d, txn_out *o)
{
	uint8_t want[WK_PURSE_MAC_LEN];
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	o->date = d;
	o->time = d + 4;
	if (wk_purse_unload_mac2(&s->sk, s->amount, s->term_id, o->date,
	    o->time, want) != WK_PURSE_CRYPTO_OK)
		goto out;
	if ((sw = mac2_check(a, card, want, d + 7)) != WK_SW_OK)
		goto out;
	sw = WK_SW_MEMORY_FAILURE;
	if (s->old_balance < st->limit || s->amount > s->old_balance -
	    st->limit) {
		sw = WK_SW_PURSE_INSUFFICIENT;
		goto out;
	}
	o->balance = s->old_balance - s->amount;
	o->rec_amount = s->amount;
	/* the proof of an unload: host MAC2 and the card's MAC3 */
	if (wk_purse_unload_mac3(&s->sk, o->balance, s->seq, s->amount,
	    s->term_id, o->date, o->time, o->tac) != WK_PURSE_CRYPTO_OK)
		goto out;
	memcpy(o->mac, d + 7, WK_PURSE_MAC_LEN);
	memcpy(o->answer, o->tac, 4);
	o->answer_len = 4;
	sw = WK_SW_OK;
out:
	sodium_memzero(want, sizeof(want));
	return sw;
}

/* UPDATE OVERDRAW LIMIT: new limit, date, time, MAC2 */
static uint16_t
update_run(purse_applet *a, vc_card *card, const purse_session *s,
    purse_state *st, const uint8_t *d, txn_out *o)
{
	uint8_t want[WK_PURSE_MAC_LEN];
	wk_purse_skey ktac;
	uint32_t nl = be24(d);
	uint64_t nb;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	memset(&ktac, 0, sizeof(ktac));
	o->date = d + 3;
	o->time = d + 7;
	if (wk_purse_update_mac2(&s->sk, nl, s->term_id, o->date, o->time,
	    want) != WK_PURSE_CRYPTO_OK)
		goto out;
	if ((sw = mac2_check(a, card, want, d + 10)) != WK_SW_OK)
		goto out;
	sw = WK_SW_MEMORY_FAILURE;
	/* the stored ED value is funds + limit: swap the old limit for the new;
	 * a card overdrawn past the new limit refuses it */
	if ((uint64_t)s->old_balance + nl < s->old_limit) {
		sw = WK_SW_PURSE_INSUFFICIENT;
		goto out;
	}
	nb = (uint64_t)s->old_balance + nl - s->old_limit;
	if (nb > UINT32_MAX) {
		sw = WK_SW_CONDITIONS;
		goto out;
	}
	/* U3: the TAC key is DTK left XOR right (SM4: the DTK), like every
	 * other TAC */
	if (purse_tac_key(card, &ktac) != VC_STORE_OK ||
	    wk_purse_update_tac(&ktac, (uint32_t)nb, s->seq, nl, s->term_id,
	    o->date, o->time, o->tac) != WK_PURSE_CRYPTO_OK)
		goto out;
	st->limit = nl;
	/* the record's amount field carries 0; its limit field the new limit */
	o->balance = (uint32_t)nb;
	o->rec_amount = 0;
	memcpy(o->mac, d + 10, WK_PURSE_MAC_LEN);
	memcpy(o->answer, o->tac, 4);
	o->answer_len = 4;
	sw = WK_SW_OK;
out:
	sodium_memzero(&ktac, sizeof(ktac));
	sodium_memzero(want, sizeof(want));
	return sw;
}

static const txn_step credit_load = { true, 0x0B, SESS_LOAD, load_run };
static const txn_step debit_purchase = { false, 0x0F, SESS_PURCHASE,
	purchase_run };
static const txn_step debit_unload = { false, 0x0B, SESS_UNLOAD, unload_run };
static const txn_step update = { true, 0x0E, SESS_UPDATE, update_run };

uint16_t
purse_txn_process(purse_applet *a, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp, purse_session *prev)
{
	switch (cmd->ins) {
	case INS_INIT:
		return initialize(a, card, cmd, resp);
	case INS_CREDIT:
		return finish(a, card, cmd, resp, prev, &credit_load);
	case INS_DEBIT:
		/* 2: INS 54 is told apart by the INITIALIZE before it */
		if (cmd->p2 != 0x00)
			return WK_SW_WRONG_P1P2;
		if (cmd->p1 == P1_DEBIT_PURCHASE)
			return finish(a, card, cmd, resp, prev, &debit_purchase);
		if (cmd->p1 == P1_DEBIT_UNLOAD)
			return finish(a, card, cmd, resp, prev, &debit_unload);
		return WK_SW_WRONG_P1P2;
	case INS_UPDATE_LIMIT:
		return finish(a, card, cmd, resp, prev, &update);
	default:
		return WK_SW_INS_NOT_SUPPORTED;
	}
}
