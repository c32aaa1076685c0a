/*
 * online payments confirmed on the card (docs/payments.md): the card
 * checks the issuer's signature on a payment request with its trust
 * anchor, needs the purse PIN, builds the confirmation itself from the
 * fields it checked and signs it with the wallet key (or answers the OCRA
 * response of the dynamic-password variant), and writes an audit record
 * of type payment in the same store commit.
 *
 *   E7 PAYMENT   P1 01 accept, 00 decline, 02 the answer given before
 *                P2 00 a signed confirmation (type 12), 01 OCRA
 *                data: the issuer's payment request (type 11)
 *
 * The card answers each request once: the answer is kept under the
 * request's id (the newest PURSE_PAY_KEEP of them), so the same request
 * again gets the same answer without a PIN, a new counter or a record,
 * and never the other decision or form.
 */
#include "purse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "audit_log.h"
#include "piv_wallet.h"
#include "vc_store.h"
#include "wk_hex.h"
#include "wk_msg.h"
#include "wk_payment.h"

#define PAY_APPLET "wallet"
#define PAY_KEEP 64
#define FORM_SIGNED 0x00
#define FORM_OCRA 0x01
#define OCRA_ANSWER_LEN (8 + WK_PAYMENT_OCRA_DIGITS)

static void
answer_name(char *out, size_t cap, const uint8_t id[WK_MSG_LOAD_ID_LEN])
{
	char hex[2 * WK_MSG_LOAD_ID_LEN + 1];

	wk_hex_encode(id, WK_MSG_LOAD_ID_LEN, hex);
	snprintf(out, cap, "pay.%s", hex);
}

/* the payer's account in a record: kind 7, the PAN right-aligned in BCD */
static void
pan_account(const char *pan, uint8_t acct[WK_AREC_ACCT_LEN])
{
	size_t n = strnlen(pan, WK_MSG_PAN_MAX);
	char digits[2 * (WK_AREC_ACCT_LEN - 1)];

	/* the PAN right-aligned in 20 BCD digits, as the issuer's records
	 * write it (common/wk_arec.h); a PAN that is not digits stays zeros */
	memset(acct, 0, WK_AREC_ACCT_LEN);
	acct[0] = WK_AREC_ACCT_ACCOUNT;
	if (n > sizeof(digits) || strspn(pan, "0123456789") < n)
		return;
	memset(digits, '0', sizeof(digits));
	memcpy(digits + sizeof(digits) - n, pan, n);
	for (size_t i = 0; i < WK_AREC_ACCT_LEN - 1; i++)
		acct[1 + i] = (uint8_t)((digits[2 * i] - '0') << 4 |
		    (digits[2 * i + 1] - '0'));
}

static int
pay_record(vc_card *card, const wk_msg *c, time_t now)
{
	purse_state st;
	wk_arec r;

	if (purse_state_get(card, &st) != VC_STORE_OK)
		return AUDIT_LOG_ERROR;
	memset(&r, 0, sizeof(r));
	r.counter = (uint16_t)c->counter;
	r.type = c->decision == WK_MSG_ACCEPTED ? WK_AREC_PAYMENT :
	    WK_AREC_PAYMENT_DECLINED;
	(void)wk_bcd_datetime(now, r.date, r.time);	/* UTC */
	r.amount = c->amount;
	/* the purse is not paid from: its balance stays as it is */
	r.balance = st.w[PURSE_EP].balance;
	pan_account(c->pan, r.src);
	r.dst[0] = WK_AREC_ACCT_TERMINAL;
	memcpy(r.dst + 1, c->terminal_id, 6);
	memcpy(r.term_id, c->terminal_id, 6);
	return audit_log_append(card, &r);
}

/* the answer kept for a request: form(1) decision(1) answer */
static int
answer_get(vc_card *card, const uint8_t id[WK_MSG_LOAD_ID_LEN], wk_buf *out)
{
	char name[48];

	answer_name(name, sizeof(name), id);
	return vc_store_get(vc_card_store(card), PAY_APPLET, name, out);
}

static int
answer_put(vc_card *card, const uint8_t id[WK_MSG_LOAD_ID_LEN],
    uint32_t counter, uint8_t form, uint8_t decision, const uint8_t *ans,
    size_t len)
{
	vc_store *st = vc_card_store(card);
	uint8_t keep[2 + WK_MSG_MAX], old[WK_MSG_LOAD_ID_LEN + 1];
	char name[48], slot[24];
	wk_buf b;
	int rc;

	if (len > WK_MSG_MAX)
		return VC_STORE_ERROR;
	/* the slot of this counter held the answer of PAY_KEEP requests ago */
	snprintf(slot, sizeof(slot), "payq.%u", (unsigned)(counter % PAY_KEEP));
	wk_buf_init_fixed(&b, old, sizeof(old));
	rc = vc_store_get(st, PAY_APPLET, slot, &b);
	if (rc == VC_STORE_OK && b.len == WK_MSG_LOAD_ID_LEN) {
		answer_name(name, sizeof(name), old);
		if ((rc = vc_store_del(st, PAY_APPLET, name)) != VC_STORE_OK &&
		    rc != VC_STORE_NOT_FOUND)
			return rc;
	} else if (rc != VC_STORE_NOT_FOUND && rc != VC_STORE_OK) {
		return rc;
	}
	keep[0] = form;
	keep[1] = decision;
	memcpy(keep + 2, ans, len);
	answer_name(name, sizeof(name), id);
	if ((rc = vc_store_put(st, PAY_APPLET, slot, id, WK_MSG_LOAD_ID_LEN)) !=
	    VC_STORE_OK)
		return rc;
	return vc_store_put(st, PAY_APPLET, name, keep, 2 + len);
}

static uint16_t
sign_confirmation(vc_card *card, const wk_msg *c, wk_buf *out)
{
	EVP_PKEY *key = NULL;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	if (piv_wallet_key(card, &key) != 0)
		return WK_SW_CONDITIONS;
	if (wk_msg_sign(c, key, out) == WK_MSG_OK && !wk_buf_failed(out))
		sw = WK_SW_OK;
	EVP_PKEY_free(key);
	return sw;
}

static uint16_t
ocra_answer(vc_card *card, const wk_msg *c, time_t now, wk_buf *out)
{
	uint8_t key[WK_PAYMENT_OCRA_KEY_LEN + 1];
	char digits[WK_PAYMENT_OCRA_DIGITS + 1];
	uint64_t t = (uint64_t)now / 60;
	wk_buf k;
	int rc;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	wk_buf_init_fixed(&k, key, sizeof(key));
	rc = vc_store_get_secret(vc_card_store(card), PAY_APPLET, "ocra.key", &k);
	if (rc == VC_STORE_NOT_FOUND) {
		sw = WK_SW_REF_NOT_FOUND;	/* no OCRA key delivered */
		goto out;
	}
	if (rc != VC_STORE_OK || k.len != WK_PAYMENT_OCRA_KEY_LEN)
		goto out;
	if (wk_payment_ocra(key, c, t, digits) != 0)
		goto out;
	for (int i = 7; i >= 0; i--)
		wk_buf_u8(out, (uint8_t)(t >> (8 * i)));
	wk_buf_add(out, digits, WK_PAYMENT_OCRA_DIGITS);
	if (!wk_buf_failed(out))
		sw = WK_SW_OK;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(digits, sizeof(digits));
	wk_buf_clear(&k);
	return sw;
}

/* the request, checked: signed by the anchor, for this card and PAN */
static uint16_t
request_checked(vc_card *card, const wk_apdu *cmd, wk_msg *q)
{
	EVP_PKEY *anchor = NULL;
	char pan[WK_MSG_PAN_MAX + 1];
	int rc;

	if (wk_msg_parse(cmd->data, cmd->lc, q, NULL, NULL) != WK_MSG_OK ||
	    q->type != WK_MSG_PAY_REQUEST)
		return WK_SW_WRONG_DATA;
	if (piv_wallet_anchor(card, &anchor) != 0 ||
	    piv_wallet_pan(card, pan, sizeof(pan)) != 0) {
		EVP_PKEY_free(anchor);
		return WK_SW_CONDITIONS;	/* not enrolled */
	}
	rc = wk_msg_verify(cmd->data, cmd->lc, anchor, q);
	EVP_PKEY_free(anchor);
	if (rc != WK_MSG_OK)
		return WK_SW_SM_INCORRECT;	/* not what the issuer asked */
	if (memcmp(q->card_id, vc_card_serial(card), WK_MSG_CARD_ID_LEN) != 0 ||
	    strcmp(q->pan, pan) != 0)
		return WK_SW_WRONG_DATA;	/* another card's, or account's */
	return WK_SW_OK;
}

uint16_t
purse_pay_process(purse_applet *a, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp)
{
	vc_store *st = vc_card_store(card);
	uint8_t kept[2 + WK_MSG_MAX], ans[WK_MSG_MAX];
	time_t now = time(NULL);
	uint64_t counter = 0;
	wk_buf k, b;
	wk_msg q, c;
	uint8_t form = cmd->p2, decision;
	uint16_t sw;
	int rc;

	if (cmd->p1 > 0x02 || cmd->p2 > FORM_OCRA ||
	    (cmd->p1 == 0x00 && cmd->p2 == FORM_OCRA))
		return WK_SW_WRONG_P1P2;	/* OCRA answers acceptances only */
	if (cmd->lc == 0)
		return WK_SW_WRONG_LENGTH;
	if ((sw = request_checked(card, cmd, &q)) != WK_SW_OK)
		return sw;
	/* asked before: the same answer, never another */
	wk_buf_init_fixed(&k, kept, sizeof(kept));
	rc = answer_get(card, q.load_id, &k);
	if (rc == VC_STORE_OK && k.len > 2) {
		if (cmd->p1 != 0x02 && (kept[0] != form || kept[1] != cmd->p1))
			return WK_SW_CONDITIONS;
		if (cmd->p1 == 0x02 && kept[0] != form)
			return WK_SW_CONDITIONS;
		wk_buf_add(resp, kept + 2, k.len - 2);
		return wk_buf_failed(resp) ? WK_SW_MEMORY_FAILURE : WK_SW_OK;
	}
	if (rc != VC_STORE_NOT_FOUND)
		return WK_SW_MEMORY_FAILURE;
	if (cmd->p1 == 0x02)
		return WK_SW_REF_NOT_FOUND;
	if (q.expiry <= (uint64_t)now)
		return WK_SW_CONDITIONS;	/* too late by the card's clock */
	/* the holder's decision, either way: one per PIN verification */
	if (!a->pin_ok)
		return WK_SW_SECURITY_STATUS;
	if ((sw = purse_audit_room(card)) != WK_SW_OK)
		return sw;
	if ((rc = vc_store_get_u64(st, PAY_APPLET, "pay.counter", &counter)) !=
	    VC_STORE_OK && rc != VC_STORE_NOT_FOUND)
		return WK_SW_MEMORY_FAILURE;
	if (counter >= 0xFFFFFFFFu)
		return WK_SW_PURSE_SEQ_LIMIT;
	counter++;
	decision = cmd->p1 == 0x01 ? WK_MSG_ACCEPTED : WK_MSG_DECLINED;
	/* what the card signs: the fields it checked, the digest it computed */
	wk_payment_confirmation(&q, decision, (uint32_t)counter, &c);
	wk_buf_init_fixed(&b, ans, sizeof(ans));
	sw = form == FORM_OCRA ? ocra_answer(card, &c, now, &b) :
	    sign_confirmation(card, &c, &b);
	if (sw != WK_SW_OK)
		goto out;
	sw = WK_SW_MEMORY_FAILURE;
	if (vc_store_put_u64(st, PAY_APPLET, "pay.counter", counter) !=
	    VC_STORE_OK ||
	    answer_put(card, q.load_id, (uint32_t)counter, form, cmd->p1, b.p,
	    b.len) != VC_STORE_OK ||
	    pay_record(card, &c, now) != AUDIT_LOG_OK) {
		vc_store_abort(st);
		goto out;
	}
	wk_buf_add(resp, b.p, b.len);
	if (wk_buf_failed(resp)) {
		vc_store_abort(st);
		goto out;
	}
	/* test hook: the answer is the card's (committed) but never leaves */
	if (getenv("WALLETKEY_CARD_FAULT") != NULL &&
	    strcmp(getenv("WALLETKEY_CARD_FAULT"), "pay-signed") == 0) {
		if (vc_store_checkpoint(st) != VC_STORE_OK)
			goto out;
		purse_fault_point("pay-signed");
	}
	a->pin_ok = false;
	sw = WK_SW_OK;
out:
	sodium_memzero(&q, sizeof(q));
	return sw;
}

/* the issuer's OCRA key (type 13), sealed to the wallet key beside the
 * purse keys: it replaces any key the card had */
uint16_t
purse_pay_ocra_key(vc_card *card, const uint8_t *data, size_t len)
{
	EVP_PKEY *anchor = NULL, *key = NULL;
	uint8_t ocra[WK_MSG_SEALED_MAX];
	size_t n = 0;
	wk_msg m;
	uint16_t sw = WK_SW_SECURITY_STATUS;

	if (piv_wallet_anchor(card, &anchor) != 0 ||
	    piv_wallet_key(card, &key) != 0) {
		sw = WK_SW_CONDITIONS;
		goto out;
	}
	if (wk_msg_verify(data, len, anchor, &m) != WK_MSG_OK ||
	    m.type != WK_MSG_OCRA_KEY ||
	    memcmp(m.card_id, vc_card_serial(card), WK_MSG_CARD_ID_LEN) != 0 ||
	    wk_msg_open_keys(key, &m, ocra, sizeof(ocra), &n) != WK_MSG_OK)
		goto out;
	if (n != WK_PAYMENT_OCRA_KEY_LEN) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if (vc_store_put_secret(vc_card_store(card), PAY_APPLET, "ocra.key", ocra,
	    n) != VC_STORE_OK) {
		vc_store_abort(vc_card_store(card));
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	sw = WK_SW_OK;
out:
	sodium_memzero(ocra, sizeof(ocra));
	sodium_memzero(&m, sizeof(m));
	EVP_PKEY_free(anchor);
	EVP_PKEY_free(key);
	return sw;
}
