/*
 * the wallet commands of the purse (docs/remote-load.md): the card's side of
 * the issuer protocol (docs/issuer.md, common/wk_msg.h). They run the purse's
 * own INITIALIZE FOR LOAD and CREDIT FOR LOAD (purse_txn.c) on APDUs built
 * here, and sign with the PIV wallet key (piv_wallet.h), so what is signed is
 * what the card itself holds. Every state change happens in the command's
 * store transaction; a signature that cannot be made aborts it.
 *
 *   E0 LOAD REQUEST   P2 01/02, data keyIdx(1) amount(4) terminal(6)
 *   E2 LOAD GRANT     data: the grant; answers a receipt or a refusal
 *   E4 LOAD RECOVER   P2 01/02, data load id(16) seq(2): proof or never
 *                     (again for a seq burnt by a refusal or statement)
 *   E6 PERSONALISE    data: the personalisation message (type 7)
 *   E8-ED             card to card: purse_xfer.c
 *   EE UNBLOCK REQUEST a new APPLICATION UNBLOCK challenge, in a signed
 *                     unblock request for the issuer (docs/purse.md)
 *   EF ISSUER SESSION P1 00 (the card) / 01 (and the holder: the verified
 *                     purse PIN, not used up), data the issuer's challenge
 *                     (16): a signed session proof (type 17) for the
 *                     issuer's card-data doors (docs/issuer.md "Sessions")
 *
 * A grant for no session and a recovery statement burn an online seq:
 * both need the verified purse PIN and use it up, so a host process
 * cannot exhaust the 65,535 sequence numbers (docs/security.md).
 */
#include "purse.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "piv_wallet.h"
#include "vc_store.h"
#include "wk_msg.h"

#define INS_LOAD_REQUEST 0xE0
#define INS_LOAD_GRANT 0xE2
#define INS_LOAD_RECOVER 0xE4
#define INS_PERSONALISE 0xE6
#define INS_UNBLOCK_REQUEST PURSE_WALLET_INS_UNBLOCK_REQUEST
#define INS_SESSION PURSE_WALLET_INS_SESSION

#define WALLET_APPLET "wallet"
#define PERSO_KEYS_LEN (PURSE_KEY_N * WK_MSG_PERSO_ENTRY_LEN)

static uint32_t
be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

/* the remote-load record of (purse, seq): balance after(4) TAC(4) */
static void
rl_name(char *out, size_t cap, int purse, uint16_t seq)
{
	snprintf(out, cap, "rl.%d.%04x", purse, (unsigned)seq);
}

static int
purse_of(uint8_t p2)
{
	if (p2 == 0x01)
		return PURSE_ED;
	if (p2 == 0x02)
		return PURSE_EP;
	return -1;
}

/* signs m with the wallet key into resp */
static uint16_t
sign_into(vc_card *card, const wk_msg *m, wk_buf *resp)
{
	EVP_PKEY *key = NULL;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	if (piv_wallet_key(card, &key) != 0) {
		sw = WK_SW_CONDITIONS;
		goto out;
	}
	if (wk_msg_sign(m, key, resp) == WK_MSG_OK && !wk_buf_failed(resp))
		sw = WK_SW_OK;
out:
	EVP_PKEY_free(key);
	return sw;
}

/* a seq burnt without a credit: "nv.<purse>.<seq>", so the card can say
 * so again when its first statement or refusal was lost */
static void
nv_name(char *out, size_t cap, int purse, uint16_t seq)
{
	snprintf(out, cap, "nv.%d.%04x", purse, (unsigned)seq);
}

/* the seq can no longer be credited: advance the online counter (in this
 * command's transaction) so the issuer's next grant names a new one */
static int
burn_seq(vc_card *card, int purse, uint16_t seq)
{
	static const uint8_t one = 1;
	purse_state st;
	char name[24];

	if (purse_state_get(card, &st) != VC_STORE_OK)
		return -1;
	if (st.w[purse].online_seq != seq || seq == PURSE_SEQ_MAX)
		return -1;
	st.w[purse].online_seq = (uint16_t)(seq + 1);
	nv_name(name, sizeof(name), purse, seq);
	if (vc_store_put(vc_card_store(card), WALLET_APPLET, name, &one, 1) !=
	    VC_STORE_OK)
		return -1;
	return purse_state_put(card, &st) == VC_STORE_OK ? 0 : -1;
}

static void
msg_head(vc_card *card, wk_msg *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	memcpy(m->card_id, vc_card_serial(card), WK_MSG_CARD_ID_LEN);
	vc_card_random(card, m->nonce, sizeof(m->nonce));
}

static uint16_t
load_request(purse_applet *a, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t out[32];
	wk_buf r;
	wk_apdu init = *cmd;
	purse_session none;
	wk_msg m;
	uint16_t sw;
	int purse = purse_of(cmd->p2);

	if (cmd->p1 != 0x00 || purse < 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0x0B)
		return WK_SW_WRONG_LENGTH;
	msg_head(card, &m, WK_MSG_LOAD_REQUEST);
	if (piv_wallet_pan(card, m.pan, sizeof(m.pan)) != 0)
		return WK_SW_CONDITIONS;	/* not enrolled */
	/* the purse's own INITIALIZE FOR LOAD opens a->sess */
	init.ins = 0x50;
	memset(&none, 0, sizeof(none));
	wk_buf_init_fixed(&r, out, sizeof(out));
	sw = purse_txn_process(a, card, &init, &r, &none);
	if (sw != WK_SW_OK)
		return sw;
	if (r.len != 16) {
		sw = WK_SW_MEMORY_FAILURE;
		goto fail;
	}
	m.balance = be32(out);
	m.seq = (uint16_t)((out[4] << 8) | out[5]);
	m.key_version = out[6];
	m.alg_id = out[7];
	memcpy(m.card_random, out + 8, 4);
	memcpy(m.mac1, out + 12, 4);
	m.amount = a->sess.amount;
	m.trans_type = a->sess.type;
	memcpy(m.terminal_id, a->sess.term_id, sizeof(m.terminal_id));
	if ((sw = sign_into(card, &m, resp)) != WK_SW_OK)
		goto fail;
	a->wreq.valid = true;
	memcpy(a->wreq.nonce, m.nonce, sizeof(a->wreq.nonce));
	memcpy(a->wreq.rnd, a->sess.rnd, sizeof(a->wreq.rnd));
	return WK_SW_OK;
fail:
	sodium_memzero(&a->sess, sizeof(a->sess));
	return sw;
}

static uint16_t
refuse(purse_applet *a, vc_card *card, int purse, const wk_msg *g,
    uint16_t reason, wk_buf *resp)
{
	purse_state st;
	wk_msg r;
	uint16_t sw;

	/* a refusal names the seq the card would credit now; a grant for any
	 * other seq is not this card's to refuse (it was credited, or burnt) */
	if (purse_state_get(card, &st) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	if (st.w[purse].online_seq != g->seq)
		return WK_SW_CONDITIONS;
	msg_head(card, &r, WK_MSG_LOAD_REFUSAL);
	r.seq = g->seq;
	memcpy(r.load_id, g->load_id, sizeof(r.load_id));
	r.reason = reason;
	if (burn_seq(card, purse, g->seq) != 0) {
		vc_store_abort(vc_card_store(card));
		return WK_SW_MEMORY_FAILURE;
	}
	if ((sw = sign_into(card, &r, resp)) != WK_SW_OK)
		vc_store_abort(vc_card_store(card));
	else
		a->pin_ok = false;	/* one burnt seq per verification */
	return sw;
}

/* the issuer's signature and this card's id on a grant, after spending a
 * MAC try (docs/purse.md "Blocking"). Only a credit restores the tries (a
 * right MAC2 for this session); a genuine grant that is not for this
 * session gets its own try back (mac_refund) and no more, so a replayed
 * grant cannot reset the count between guesses */
static uint16_t
grant_signed(vc_card *card, const wk_apdu *cmd, wk_msg *g)
{
	EVP_PKEY *anchor = NULL;
	uint16_t sw;
	bool ok;

	if (piv_wallet_anchor(card, &anchor) != 0)
		return WK_SW_CONDITIONS;
	if ((sw = purse_mac_spend(card)) != WK_SW_OK) {
		EVP_PKEY_free(anchor);
		return sw;
	}
	ok = wk_msg_verify(cmd->data, cmd->lc, anchor, g) == WK_MSG_OK &&
	    memcmp(g->card_id, vc_card_serial(card), WK_MSG_CARD_ID_LEN) == 0;
	EVP_PKEY_free(anchor);
	return ok ? WK_SW_OK : WK_SW_SECURITY_STATUS;
}

static uint16_t
load_grant(purse_applet *a, vc_card *card, const wk_apdu *cmd, wk_buf *resp,
    const purse_session *prev)
{
	const purse_wallet_req w = a->wreq;
	uint8_t data[11], out[8], rec[8];
	char name[24];
	wk_apdu credit;
	wk_buf r;
	wk_msg g, rc;
	uint16_t sw;
	int purse;

	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (wk_msg_parse(cmd->data, cmd->lc, &g, NULL, NULL) != WK_MSG_OK ||
	    g.type != WK_MSG_LOAD_GRANT)
		return WK_SW_WRONG_DATA;	/* nothing to refuse */
	purse = g.trans_type == WK_PURSE_TT_ED_LOAD ? PURSE_ED : PURSE_EP;
	if (prev->kind != SESS_LOAD || !w.valid ||
	    sodium_memcmp(w.rnd, prev->rnd, sizeof(w.rnd)) != 0) {
		/* no session (a lost one, or none): refusing burns the seq, so
		 * only the holder's PIN and the issuer's own grant may */
		if (!a->pin_ok)
			return WK_SW_SECURITY_STATUS;
		if ((sw = grant_signed(card, cmd, &g)) != WK_SW_OK)
			return sw;
		if (purse_mac_refund(card) != VC_STORE_OK)
			return WK_SW_MEMORY_FAILURE;
		return refuse(a, card, purse, &g, WK_SW_INVALID_STATE, resp);
	}
	purse = prev->purse;
	sw = grant_signed(card, cmd, &g);
	if (sw == WK_SW_SECURITY_STATUS)
		return refuse(a, card, purse, &g, WK_SW_SECURITY_STATUS, resp);
	if (sw != WK_SW_OK)
		return sw;
	/* the issuer's grant, but not for this session (a replay) */
	if (g.seq != prev->seq || sodium_memcmp(g.nonce, w.nonce,
	    sizeof(w.nonce)) != 0 || g.amount != prev->amount ||
	    g.trans_type != prev->type ||
	    memcmp(g.terminal_id, prev->term_id, sizeof(g.terminal_id)) != 0) {
		if (purse_mac_refund(card) != VC_STORE_OK)
			return WK_SW_MEMORY_FAILURE;
		return refuse(a, card, purse, &g, WK_SW_SECURITY_STATUS, resp);
	}
	/* the purse's own CREDIT FOR LOAD, in this transaction; the grant's
	 * signature spent this command's MAC try already */
	memcpy(data, g.host_date, 4);
	memcpy(data + 4, g.host_time, 3);
	memcpy(data + 7, g.mac2, 4);
	memset(&credit, 0, sizeof(credit));
	credit.cla = 0x80;
	credit.ins = 0x52;
	credit.data = data;
	credit.lc = sizeof(data);
	credit.le = 4;
	credit.has_le = true;
	credit.iso_case = 4;
	wk_buf_init_fixed(&r, out, sizeof(out));
	a->mac_spent = true;
	sw = purse_txn_process(a, card, &credit, &r, (purse_session *)prev);
	a->mac_spent = false;
	if (sw == WK_SW_MEMORY_FAILURE)
		return sw;
	if (sw != WK_SW_OK)
		return refuse(a, card, purse, &g, sw, resp);
	msg_head(card, &rc, WK_MSG_LOAD_RECEIPT);
	rc.seq = g.seq;
	memcpy(rc.load_id, g.load_id, sizeof(rc.load_id));
	rc.amount = g.amount;
	rc.balance = prev->old_balance + g.amount;
	memcpy(rc.host_date, g.host_date, 4);
	memcpy(rc.host_time, g.host_time, 3);
	memcpy(rc.tac, out, 4);
	rec[0] = (uint8_t)(rc.balance >> 24);
	rec[1] = (uint8_t)(rc.balance >> 16);
	rec[2] = (uint8_t)(rc.balance >> 8);
	rec[3] = (uint8_t)rc.balance;
	memcpy(rec + 4, out, 4);
	rl_name(name, sizeof(name), purse, g.seq);
	if (vc_store_put(vc_card_store(card), WALLET_APPLET, name, rec,
	    sizeof(rec)) != VC_STORE_OK ||
	    (sw = sign_into(card, &rc, resp)) != WK_SW_OK) {
		vc_store_abort(vc_card_store(card));
		return WK_SW_MEMORY_FAILURE;
	}
	return WK_SW_OK;
}

static uint16_t
load_recover(purse_applet *a, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t tmp[16];
	char name[24];
	purse_state st;
	wk_buf b;
	wk_msg m;
	uint16_t seq, sw;
	int purse = purse_of(cmd->p2), r;

	if (cmd->p1 != 0x00 || purse < 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != WK_MSG_LOAD_ID_LEN + 2)
		return WK_SW_WRONG_LENGTH;
	seq = (uint16_t)((cmd->data[16] << 8) | cmd->data[17]);
	rl_name(name, sizeof(name), purse, seq);
	wk_buf_init_fixed(&b, tmp, sizeof(tmp));
	r = vc_store_get(vc_card_store(card), WALLET_APPLET, name, &b);
	if (r == VC_STORE_OK && b.len == 8) {
		msg_head(card, &m, WK_MSG_LOAD_PROOF);
		m.balance = be32(tmp);
		memcpy(m.tac, tmp + 4, 4);
	} else if (r == VC_STORE_NOT_FOUND) {
		bool burnt;

		if (purse_state_get(card, &st) != VC_STORE_OK)
			return WK_SW_MEMORY_FAILURE;
		nv_name(name, sizeof(name), purse, seq);
		wk_buf_reset(&b);
		r = vc_store_get(vc_card_store(card), WALLET_APPLET, name, &b);
		if (r != VC_STORE_OK && r != VC_STORE_NOT_FOUND)
			return WK_SW_MEMORY_FAILURE;
		burnt = r == VC_STORE_OK;
		if (!burnt && st.w[purse].online_seq != seq)
			return WK_SW_REF_NOT_FOUND;
		/* never credited: burnt before (a refusal or statement that may
		 * have been lost), or the counter is still at seq; then the
		 * session was dropped by this command (purse.c) and seq is burnt
		 * now, so the grant can no longer be credited */
		/* burning a seq needs the holder's PIN, and uses it up */
		if (!burnt && !a->pin_ok)
			return WK_SW_SECURITY_STATUS;
		msg_head(card, &m, WK_MSG_LOAD_NEVER);
		m.balance = st.w[purse].balance;
		if (!burnt && burn_seq(card, purse, seq) != 0) {
			vc_store_abort(vc_card_store(card));
			return WK_SW_MEMORY_FAILURE;
		}
		if (!burnt)
			a->pin_ok = false;
	} else {
		return WK_SW_MEMORY_FAILURE;
	}
	m.seq = seq;
	memcpy(m.load_id, cmd->data, WK_MSG_LOAD_ID_LEN);
	if ((sw = sign_into(card, &m, resp)) != WK_SW_OK)
		vc_store_abort(vc_card_store(card));
	return sw;
}

/*
 * the issuer's keys replace every purse key: all of them are wiped, then
 * each key of the table is installed at index 1 with the message's key
 * version and the entry's algorithm. A message that does not name each key
 * of the card's table once, with a known algorithm, is refused, so no key
 * made before enrolment (a public demo key) survives.
 */
static bool
keys_complete(const uint8_t *keys, size_t n)
{
	bool seen[PURSE_KEY_N] = { false };

	if (n != PERSO_KEYS_LEN)
		return false;
	for (size_t off = 0; off < n; off += WK_MSG_PERSO_ENTRY_LEN) {
		if (keys[off] >= PURSE_KEY_N || seen[keys[off]] ||
		    !wk_purse_alg_valid(keys[off + 1]))
			return false;
		seen[keys[off]] = true;
	}
	return true;
}

static int
install_keys(vc_card *card, const uint8_t *keys, size_t n, uint8_t version)
{
	static const uint8_t index = 1;
	purse_key k;
	int rc = -1;

	memset(&k, 0, sizeof(k));
	if (purse_keys_wipe(card) != VC_STORE_OK)
		goto out;
	for (size_t off = 0; off < n; off += WK_MSG_PERSO_ENTRY_LEN) {
		k.version = version;
		k.alg = keys[off + 1];
		memcpy(k.key, keys + off + 2, WK_PURSE_KEY_LEN);
		if (purse_key_put(card, keys[off], index, &k) != VC_STORE_OK)
			goto out;
	}
	if (vc_store_put(vc_card_store(card), PURSE_APPLET, "dtk.index", &index,
	    1) != VC_STORE_OK || vc_store_put(vc_card_store(card), PURSE_APPLET,
	    "damk.index", &index, 1) != VC_STORE_OK ||
	    vc_store_put(vc_card_store(card), PURSE_APPLET, "drpk.index", &index,
	    1) != VC_STORE_OK)
		goto out;
	rc = 0;
out:
	sodium_memzero(&k, sizeof(k));
	return rc;
}

/* value the purse holds before the issuer's keys: never the issuer's */
static bool
purse_holds_value(vc_card *card)
{
	purse_state st;

	if (purse_state_get(card, &st) != VC_STORE_OK)
		return true;
	return st.w[PURSE_ED].balance != 0 || st.w[PURSE_EP].balance != 0 ||
	    st.limit != 0;
}

/* a new APPLICATION UNBLOCK challenge in a signed request: what the issuer
 * operator makes a one-time unblock script for (walletkey-issuer
 * purse-unblock); a blocked application answers it too */
static uint16_t
unblock_request(vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	enum purse_lock lock;
	wk_msg m;
	uint16_t sw;

	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	if (purse_lock_state(card, &lock) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	if (lock == PURSE_BLOCKED_FOR_GOOD)
		return 0x9303;
	if (!piv_wallet_locked(card))
		return WK_SW_CONDITIONS;	/* not enrolled: no issuer */
	msg_head(card, &m, WK_MSG_UNBLOCK_REQUEST);
	if (purse_challenge_new(card, m.card_random) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	if ((sw = sign_into(card, &m, resp)) != WK_SW_OK)
		vc_store_abort(vc_card_store(card));
	return sw;
}

/* the issuer's session challenge signed with the scope the card vouches
 * for: the card builds the whole message, so the host gets no signature
 * over bytes of its choosing, and no other message of the card is a
 * session proof. Holder scope only after VERIFY in this selection */
static uint16_t
issuer_session(purse_applet *a, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp)
{
	wk_msg m;

	if ((cmd->p1 != 0x00 && cmd->p1 != 0x01) || cmd->p2 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != WK_MSG_NONCE_LEN)
		return WK_SW_WRONG_LENGTH;
	if (!piv_wallet_locked(card))
		return WK_SW_CONDITIONS;	/* not enrolled: no issuer */
	if (cmd->p1 == 0x01 && !a->pin_ok)
		return WK_SW_SECURITY_STATUS;
	msg_head(card, &m, WK_MSG_SESSION_AUTH);
	memcpy(m.nonce, cmd->data, WK_MSG_NONCE_LEN);
	m.scope = cmd->p1 == 0x01 ? WK_MSG_SCOPE_HOLDER : WK_MSG_SCOPE_CARD;
	return sign_into(card, &m, resp);
}

static uint16_t
personalise(vc_card *card, const wk_apdu *cmd)
{
	EVP_PKEY *anchor = NULL, *key = NULL;
	uint8_t keys[WK_MSG_PERSO_KEYS_MAX];
	size_t n = 0;
	wk_msg m;
	uint16_t sw = WK_SW_SECURITY_STATUS;

	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return WK_SW_WRONG_P1P2;
	/* the issuer's keys never take over value loaded under other keys
	 * (the demo's, a profile's): it would enter the issuer's books from
	 * nothing */
	if (purse_holds_value(card)) {
		sw = WK_SW_CONDITIONS;
		goto out;
	}
	if (piv_wallet_anchor(card, &anchor) != 0 || piv_wallet_key(card, &key) != 0) {
		sw = WK_SW_CONDITIONS;
		goto out;
	}
	if (wk_msg_parse(cmd->data, cmd->lc, &m, NULL, NULL) != WK_MSG_OK ||
	    m.type != WK_MSG_PERSO) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if (wk_msg_verify(cmd->data, cmd->lc, anchor, &m) != WK_MSG_OK ||
	    memcmp(m.card_id, vc_card_serial(card), WK_MSG_CARD_ID_LEN) != 0 ||
	    wk_msg_open_keys(key, &m, keys, sizeof(keys), &n) != WK_MSG_OK)
		goto out;
	if (!keys_complete(keys, n)) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if (install_keys(card, keys, n, m.key_version) != 0) {
		vc_store_abort(vc_card_store(card));
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	sw = WK_SW_OK;
out:
	sodium_memzero(keys, sizeof(keys));
	sodium_memzero(&m, sizeof(m));
	EVP_PKEY_free(anchor);
	EVP_PKEY_free(key);
	return sw;
}

uint16_t
purse_wallet_process(purse_applet *a, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp, purse_session *prev)
{
	uint16_t sw;

	if (cmd->cla != 0x80)
		return WK_SW_CLA_NOT_SUPPORTED;
	switch (cmd->ins) {
	case INS_LOAD_REQUEST:
		a->wreq.valid = false;
		return load_request(a, card, cmd, resp);
	case INS_LOAD_GRANT:
		sw = load_grant(a, card, cmd, resp, prev);
		break;
	case INS_LOAD_RECOVER:
		sw = load_recover(a, card, cmd, resp);
		break;
	case INS_PERSONALISE:
		sw = personalise(card, cmd);
		break;
	case INS_UNBLOCK_REQUEST:
		return unblock_request(card, cmd, resp);
	case INS_SESSION:
		return issuer_session(a, card, cmd, resp);
	default:
		return purse_xfer_process(a, card, cmd, resp);
	}
	/* a grant is taken once: every other load command ends the request */
	a->wreq.valid = false;
	sodium_memzero(a->wreq.nonce, sizeof(a->wreq.nonce));
	return sw;
}
