/* the purse's side of the audit log: one record per completed transaction (docs/audit.md) */
#include "purse.h"

#include <string.h>

#include "audit_log.h"
#include "vc_store.h"

/* an account of this card: kind, then the BCD application serial (EF 0015 11-20) */
static int
card_account(vc_card *card, uint8_t kind, uint8_t acct[WK_AREC_ACCT_LEN])
{
	uint8_t ef15[PURSE_EF15_LEN + 1];
	wk_buf b;

	wk_buf_init_fixed(&b, ef15, sizeof(ef15));
	if (vc_store_get(vc_card_store(card), PURSE_APPLET, "ef15", &b) !=
	    VC_STORE_OK || wk_buf_failed(&b) || b.len != PURSE_EF15_LEN)
		return -1;
	acct[0] = kind;
	memcpy(acct + 1, ef15 + 10, 10);
	return 0;
}

static void
other_account(uint8_t kind, const uint8_t *term_id,
    uint8_t acct[WK_AREC_ACCT_LEN])
{
	memset(acct, 0, WK_AREC_ACCT_LEN);
	acct[0] = kind;
	memcpy(acct + 1, term_id, WK_PURSE_TERM_ID_LEN);
}

uint16_t
purse_audit_room(vc_card *card)
{
	switch (audit_log_room(card)) {
	case AUDIT_LOG_OK:
		return WK_SW_OK;
	case AUDIT_LOG_FULL:
		return WK_SW_NO_SPACE;
	default:
		return WK_SW_MEMORY_FAILURE;
	}
}

int
purse_audit_add(vc_card *card, const purse_state *st, const purse_session *s,
    uint16_t counter, const uint8_t *date, const uint8_t *time)
{
	uint8_t mine[WK_AREC_ACCT_LEN], other[WK_AREC_ACCT_LEN];
	bool outgoing = s->kind == SESS_PURCHASE || s->kind == SESS_UNLOAD;
	wk_arec r;

	memset(&r, 0, sizeof(r));
	if (card_account(card, s->purse == PURSE_ED ? WK_AREC_ACCT_ED :
	    WK_AREC_ACCT_EP, mine) != 0)
		return AUDIT_LOG_ERROR;
	other_account(s->kind == SESS_PURCHASE ? WK_AREC_ACCT_TERMINAL :
	    s->kind == SESS_UPDATE ? WK_AREC_ACCT_NONE : WK_AREC_ACCT_BANK,
	    s->term_id, other);
	if (s->kind == SESS_UPDATE)
		memset(other + 1, 0, WK_AREC_ACCT_LEN - 1);
	memcpy(r.src, outgoing ? mine : other, WK_AREC_ACCT_LEN);
	memcpy(r.dst, outgoing ? other : mine, WK_AREC_ACCT_LEN);
	r.counter = counter;
	r.type = s->type;
	memcpy(r.date, date, 4);
	memcpy(r.time, time, 3);
	/* an overdraft update moves no money: its amount is the new limit */
	r.amount = s->kind == SESS_UPDATE ? st->limit : s->amount;
	r.balance = st->w[s->purse].balance;
	memcpy(r.term_id, s->term_id, WK_PURSE_TERM_ID_LEN);
	return audit_log_append(card, &r);
}

int
purse_audit_transfer(vc_card *card, const purse_state *st, int purse,
    uint8_t type, uint32_t amount, const uint8_t peer[8], uint16_t counter)
{
	uint8_t mine[WK_AREC_ACCT_LEN], other[WK_AREC_ACCT_LEN];
	bool outgoing = type == WK_AREC_TRANSFER_OUT;
	wk_arec r;

	memset(&r, 0, sizeof(r));
	memset(other, 0, sizeof(other));
	if (card_account(card, purse == PURSE_ED ? WK_AREC_ACCT_ED :
	    WK_AREC_ACCT_EP, mine) != 0)
		return AUDIT_LOG_ERROR;
	other[0] = WK_AREC_ACCT_CARD;
	memcpy(other + 1, peer, 8);
	memcpy(r.src, outgoing ? mine : other, WK_AREC_ACCT_LEN);
	memcpy(r.dst, outgoing ? other : mine, WK_AREC_ACCT_LEN);
	r.counter = counter;
	r.type = type;
	/* a transfer carries no host date: zeros, as in its EF 0018 record */
	r.amount = amount;
	r.balance = st->w[purse].balance;
	/* the terminal field: the peer's last 6 id bytes, as EF 0018 */
	memcpy(r.term_id, peer + 2, 6);
	return audit_log_append(card, &r);
}
