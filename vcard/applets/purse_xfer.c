/*
 * card-to-card transfer (docs/remote-load.md, "Card to card"): mutual
 * authentication with issuer-signed certificates and signed challenges,
 * then a token signed by the sending card and bound to a challenge the
 * receiving card issued and keeps in its store, redeemable once.
 *
 *   E8 CHALLENGE   P1 00: for authentication (memory); P1 01: to receive
 *                  from the peer just authenticated (kept in the store,
 *                  with that peer's id, until a token for it is redeemed)
 *   E9 AUTH SIGN   data: peer challenge(16) peer id(8): a transfer-auth message
 *   EA AUTH VERIFY data: 01 peer certificate, 02 the peer's transfer-auth
 *   EB SEND        P2 02, data: receiver id(8) challenge(16) amount(4):
 *                  needs the PIN (the holder's identity before value
 *                  leaves the card; used up by the send);
 *                  debit, record and token in one commit; the same
 *                  challenge again returns the same token. Amount 0: a
 *                  void token (no debit), so the receiver can drop the
 *                  challenge of a transfer that never happened
 *   EC TOKEN       data: challenge(16): the token sent for it
 *   ED REDEEM      data: 01 sender certificate, 02 token: credit and record
 *                  once (6984 when already redeemed); needs the PIN
 */
#include "purse.h"

#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>
#include <sodium.h>

#include "piv_wallet.h"
#include "vc_store.h"
#include "wk_hex.h"
#include "wk_msg.h"
#include "wk_tlv.h"

#define INS_CHALLENGE 0xE8
#define INS_AUTH_SIGN 0xE9
#define INS_AUTH_VERIFY 0xEA
#define INS_SEND 0xEB
#define INS_TOKEN 0xEC
#define INS_REDEEM 0xED

#define WALLET_APPLET "wallet"
#define KEY_CHALLENGES "xin.chal"
#define CHALLENGES_MAX 16
/* an outstanding receive challenge: challenge(16) sender id(8) */
#define ENTRY (WK_MSG_NONCE_LEN + WK_MSG_CARD_ID_LEN)

#define TT_XFER_OUT 0x10
#define TT_XFER_IN 0x11

static void
name_hex(char *out, size_t cap, const char *prefix, const uint8_t *p, size_t n)
{
	char hex[2 * WK_MSG_NONCE_LEN + 1];

	wk_hex_encode(p, n, hex);
	snprintf(out, cap, "%s.%s", prefix, hex);
}

/* 01 certificate, 02 message: both present, nothing else */
static int
cert_and_msg(const wk_apdu *cmd, wk_tlv *cert, wk_tlv *msg)
{
	wk_cur c;

	wk_cur_init(&c, cmd->data, cmd->lc);
	if (wk_tlv_read(&c, cert) != WK_TLV_OK || cert->tag != 0x01 ||
	    wk_tlv_read(&c, msg) != WK_TLV_OK || msg->tag != 0x02 || c.len != 0)
		return -1;
	return 0;
}

static uint16_t
sign_msg(vc_card *card, wk_msg *m, wk_buf *resp)
{
	EVP_PKEY *key = NULL;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	memcpy(m->card_id, vc_card_serial(card), WK_MSG_CARD_ID_LEN);
	if (piv_wallet_key(card, &key) != 0)
		return WK_SW_CONDITIONS;
	if (wk_msg_sign(m, key, resp) == WK_MSG_OK && !wk_buf_failed(resp))
		sw = WK_SW_OK;
	EVP_PKEY_free(key);
	return sw;
}

static uint16_t
challenge(purse_applet *a, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t list[CHALLENGES_MAX * ENTRY + ENTRY], c[WK_MSG_NONCE_LEN];
	vc_store *st = vc_card_store(card);
	wk_buf b;
	int r;

	if (cmd->p2 != 0x00 || cmd->p1 > 0x01)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	if (!piv_wallet_locked(card))
		return WK_SW_CONDITIONS;
	vc_card_random(card, c, sizeof(c));
	if (cmd->p1 == 0x00) {
		memcpy(a->wreq.xchal, c, sizeof(c));
		a->wreq.xchal_valid = true;
	} else {
		/* to receive from the peer just authenticated, and only from it */
		if (!a->wreq.peer_valid)
			return WK_SW_SECURITY_STATUS;
		wk_buf_init_fixed(&b, list, sizeof(list));
		r = vc_store_get(st, WALLET_APPLET, KEY_CHALLENGES, &b);
		if (r == VC_STORE_NOT_FOUND)
			b.len = 0;
		else if (r != VC_STORE_OK || b.len % ENTRY != 0)
			return WK_SW_MEMORY_FAILURE;
		/* a token may exist for every outstanding one: never drop any */
		if (b.len >= CHALLENGES_MAX * ENTRY)
			return WK_SW_NO_SPACE;
		memcpy(list + b.len, c, sizeof(c));
		memcpy(list + b.len + sizeof(c), a->wreq.peer_id, WK_MSG_CARD_ID_LEN);
		if (vc_store_put(st, WALLET_APPLET, KEY_CHALLENGES, list,
		    b.len + ENTRY) != VC_STORE_OK) {
			vc_store_abort(st);
			return WK_SW_MEMORY_FAILURE;
		}
	}
	wk_buf_add(resp, c, sizeof(c));
	return WK_SW_OK;
}

static uint16_t
auth_sign(vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	wk_msg m;

	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != WK_MSG_NONCE_LEN + WK_MSG_CARD_ID_LEN)
		return WK_SW_WRONG_LENGTH;
	memset(&m, 0, sizeof(m));
	m.type = WK_MSG_XFER_AUTH;
	memcpy(m.nonce, cmd->data, WK_MSG_NONCE_LEN);
	memcpy(m.peer_id, cmd->data + WK_MSG_NONCE_LEN, WK_MSG_CARD_ID_LEN);
	return sign_msg(card, &m, resp);
}

static uint16_t
auth_verify(purse_applet *a, vc_card *card, const wk_apdu *cmd)
{
	EVP_PKEY *pub = NULL;
	wk_tlv cert, msg;
	wk_msg m;
	uint16_t sw = WK_SW_SECURITY_STATUS;
	bool have = a->wreq.xchal_valid;
	uint8_t chal[WK_MSG_NONCE_LEN];

	memcpy(chal, a->wreq.xchal, sizeof(chal));
	/* a challenge answers one verification, right or wrong */
	a->wreq.xchal_valid = false;
	a->wreq.peer_valid = false;
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cert_and_msg(cmd, &cert, &msg) != 0 ||
	    wk_msg_parse(msg.value, msg.len, &m, NULL, NULL) != WK_MSG_OK ||
	    m.type != WK_MSG_XFER_AUTH)
		return WK_SW_WRONG_DATA;
	if (!have)
		return WK_SW_CONDITIONS;
	if (purse_peer_key(card, cert.value, cert.len, m.card_id, &pub) != 0 ||
	    wk_msg_verify(msg.value, msg.len, pub, &m) != WK_MSG_OK ||
	    memcmp(m.peer_id, vc_card_serial(card), WK_MSG_CARD_ID_LEN) != 0 ||
	    sodium_memcmp(m.nonce, chal, sizeof(chal)) != 0)
		goto out;
	memcpy(a->wreq.peer_id, m.card_id, WK_MSG_CARD_ID_LEN);
	a->wreq.peer_valid = true;
	sw = WK_SW_OK;
out:
	EVP_PKEY_free(pub);
	return sw;
}

/* the record of a transfer: offline seq (the online one belongs to loads,
 * whose recovery compares it), the peer's last 6 id bytes as terminal */
static int
record(vc_card *card, purse_state *st, int purse, uint32_t amount,
    uint8_t type, const uint8_t peer[WK_MSG_CARD_ID_LEN])
{
	static const uint8_t zero[4];
	purse_wallet *w = &st->w[purse];
	uint8_t rec[PURSE_REC_LEN];

	if (w->offline_seq == PURSE_SEQ_MAX)
		return -1;
	w->offline_seq++;
	purse_record(rec, w->offline_seq, purse == PURSE_ED ? st->limit : 0,
	    amount, type, peer + 2, zero, zero);
	if (purse_log_add(card, st, rec) != VC_STORE_OK)
		return -1;
	if (purse_state_put(card, st) != VC_STORE_OK)
		return -1;
	/* docs/audit.md: the audit record commits with the transfer */
	return purse_audit_transfer(card, st, purse, type, amount, peer,
	    w->offline_seq) == 0 ? 0 : -1;
}

static uint16_t
send(purse_applet *a, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	vc_store *st = vc_card_store(card);
	const uint8_t *peer, *chal, *am;
	char name[64];
	purse_state s;
	wk_msg m;
	wk_buf tok;
	uint8_t tbuf[WK_MSG_MAX];
	uint32_t amount;
	uint16_t sw;
	int r;

	if (cmd->p1 != 0x00 || cmd->p2 != 0x02)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != WK_MSG_CARD_ID_LEN + WK_MSG_NONCE_LEN + 4)
		return WK_SW_WRONG_LENGTH;
	peer = cmd->data;
	chal = peer + WK_MSG_CARD_ID_LEN;
	am = chal + WK_MSG_NONCE_LEN;
	amount = ((uint32_t)am[0] << 24) | ((uint32_t)am[1] << 16) |
	    ((uint32_t)am[2] << 8) | am[3];
	/* the same challenge again: the token already made, nothing more */
	name_hex(name, sizeof(name), "xout", chal, WK_MSG_NONCE_LEN);
	wk_buf_init_fixed(&tok, tbuf, sizeof(tbuf));
	r = vc_store_get(st, WALLET_APPLET, name, &tok);
	if (r == VC_STORE_OK) {
		wk_buf_add(resp, tok.p, tok.len);
		return WK_SW_OK;
	}
	if (r != VC_STORE_NOT_FOUND)
		return WK_SW_MEMORY_FAILURE;
	/* amount 0 is a void token: it moves nothing and lets the receiver
	 * drop its challenge; it needs no authentication, and once made this
	 * card never sends value for that challenge */
	if (amount != 0 && (!a->wreq.peer_valid || memcmp(a->wreq.peer_id, peer,
	    WK_MSG_CARD_ID_LEN) != 0))
		return WK_SW_SECURITY_STATUS;
	/* value leaves the card only after the holder's PIN (a blocked PIN
	 * blocks sending); U6: a missing PIN is 6985, as REDEEM's */
	if (amount != 0 && !a->pin_ok &&
	    purse_pin_required(card, PURSE_PIN_TRANSFER))
		return WK_SW_CONDITIONS;
	/* docs/audit.md: no transfer the audit log could not record */
	if (amount != 0 && (sw = purse_audit_room(card)) != WK_SW_OK)
		return sw;
	if (purse_state_get(card, &s) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	if (!purse_has(&s, PURSE_EP))
		return WK_SW_FUNC_NOT_SUPPORTED;
	if (s.w[PURSE_EP].balance < amount)
		return WK_SW_PURSE_INSUFFICIENT;
	s.w[PURSE_EP].balance -= amount;
	memset(&m, 0, sizeof(m));
	m.type = WK_MSG_XFER_TOKEN;
	memcpy(m.peer_id, peer, WK_MSG_CARD_ID_LEN);
	memcpy(m.nonce, chal, WK_MSG_NONCE_LEN);
	vc_card_random(card, m.load_id, sizeof(m.load_id));
	m.amount = amount;
	m.balance = s.w[PURSE_EP].balance;
	wk_buf_reset(&tok);
	if ((amount != 0 &&
	    record(card, &s, PURSE_EP, amount, TT_XFER_OUT, peer) != 0) ||
	    (sw = sign_msg(card, &m, &tok)) != WK_SW_OK ||
	    vc_store_put(st, WALLET_APPLET, name, tok.p, tok.len) != VC_STORE_OK) {
		vc_store_abort(st);
		return WK_SW_MEMORY_FAILURE;
	}
	a->wreq.peer_valid = false;
	/* one verification, one send (FMCOS clears it after a transaction) */
	if (amount != 0)
		a->pin_ok = false;
	wk_buf_add(resp, tok.p, tok.len);
	return WK_SW_OK;
}

static uint16_t
token(vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t tbuf[WK_MSG_MAX];
	char name[64];
	wk_buf tok;
	int r;

	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != WK_MSG_NONCE_LEN)
		return WK_SW_WRONG_LENGTH;
	name_hex(name, sizeof(name), "xout", cmd->data, WK_MSG_NONCE_LEN);
	wk_buf_init_fixed(&tok, tbuf, sizeof(tbuf));
	r = vc_store_get(vc_card_store(card), WALLET_APPLET, name, &tok);
	if (r == VC_STORE_NOT_FOUND)
		return WK_SW_REF_NOT_FOUND;
	if (r != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	wk_buf_add(resp, tok.p, tok.len);
	return WK_SW_OK;
}

static uint16_t
redeem(purse_applet *a, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	vc_store *st = vc_card_store(card);
	uint8_t list[CHALLENGES_MAX * ENTRY + ENTRY], one = 1, tmp[8];
	EVP_PKEY *pub = NULL;
	char name[64];
	purse_state s;
	wk_tlv cert, msg;
	wk_buf b;
	wk_msg m;
	size_t at = SIZE_MAX;
	uint16_t sw = WK_SW_SECURITY_STATUS;
	int r;

	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cert_and_msg(cmd, &cert, &msg) != 0 ||
	    wk_msg_parse(msg.value, msg.len, &m, NULL, NULL) != WK_MSG_OK ||
	    m.type != WK_MSG_XFER_TOKEN)
		return WK_SW_WRONG_DATA;
	if (!a->pin_ok && purse_pin_required(card, PURSE_PIN_TRANSFER))
		return WK_SW_CONDITIONS;
	if (purse_peer_key(card, cert.value, cert.len, m.card_id, &pub) != 0 ||
	    wk_msg_verify(msg.value, msg.len, pub, &m) != WK_MSG_OK ||
	    memcmp(m.peer_id, vc_card_serial(card), WK_MSG_CARD_ID_LEN) != 0)
		goto out;
	/* redeemed once */
	name_hex(name, sizeof(name), "xin.t", m.load_id, sizeof(m.load_id));
	wk_buf_init_fixed(&b, tmp, sizeof(tmp));
	r = vc_store_get(st, WALLET_APPLET, name, &b);
	if (r == VC_STORE_OK) {
		sw = WK_SW_REF_DATA_UNUSABLE;
		goto out;
	}
	if (r != VC_STORE_NOT_FOUND) {
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	/* bound to a challenge this card issued and still holds */
	wk_buf_init_fixed(&b, list, sizeof(list));
	r = vc_store_get(st, WALLET_APPLET, KEY_CHALLENGES, &b);
	if (r == VC_STORE_OK && b.len % ENTRY == 0)
		for (size_t i = 0; i < b.len; i += ENTRY)
			if (sodium_memcmp(list + i, m.nonce, WK_MSG_NONCE_LEN) == 0 &&
			    memcmp(list + i + WK_MSG_NONCE_LEN, m.card_id,
			    WK_MSG_CARD_ID_LEN) == 0)
				at = i;
	if (at == SIZE_MAX) {
		sw = WK_SW_CONDITIONS;
		goto out;
	}
	if (purse_state_get(card, &s) != VC_STORE_OK) {
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	if (!purse_has(&s, PURSE_EP) ||
	    (uint64_t)s.w[PURSE_EP].balance + m.amount > s.ceiling) {
		sw = WK_SW_CONDITIONS;
		goto out;
	}
	if (m.amount != 0 && (sw = purse_audit_room(card)) != WK_SW_OK)
		goto out;
	sw = WK_SW_SECURITY_STATUS;
	s.w[PURSE_EP].balance += m.amount;
	memmove(list + at, list + at + ENTRY, b.len - at - ENTRY);
	if ((m.amount != 0 &&
	    record(card, &s, PURSE_EP, m.amount, TT_XFER_IN, m.card_id) != 0) ||
	    vc_store_put(st, WALLET_APPLET, name, &one, 1) != VC_STORE_OK ||
	    (b.len == ENTRY ?
	    vc_store_del(st, WALLET_APPLET, KEY_CHALLENGES) :
	    vc_store_put(st, WALLET_APPLET, KEY_CHALLENGES, list,
	    b.len - ENTRY)) != VC_STORE_OK) {
		vc_store_abort(st);
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	wk_buf_be32(resp, s.w[PURSE_EP].balance);
	sw = WK_SW_OK;
out:
	EVP_PKEY_free(pub);
	return sw;
}

uint16_t
purse_xfer_process(purse_applet *a, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp)
{
	switch (cmd->ins) {
	case INS_CHALLENGE:
		return challenge(a, card, cmd, resp);
	case INS_AUTH_SIGN:
		return auth_sign(card, cmd, resp);
	case INS_AUTH_VERIFY:
		return auth_verify(a, card, cmd);
	case INS_SEND:
		return send(a, card, cmd, resp);
	case INS_TOKEN:
		return token(card, cmd, resp);
	case INS_REDEEM:
		return redeem(a, card, cmd, resp);
	default:
		return WK_SW_INS_NOT_SUPPORTED;
	}
}
