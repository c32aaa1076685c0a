/*
 * the audit applet (docs/audit.md): status of the on-card audit log, the
 * chain head signed with the wallet key, and the log exported in pages
 * sealed to a recipient's X25519 key, after VERIFY of the purse PIN. The
 * log itself is written by the purse through audit_log.h.
 */
#include "audit_log.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "piv_wallet.h"
#include "purse.h"
#include "vc_card.h"
#include "vc_perso.h"
#include "vc_store.h"
#include "wk_log.h"
#include "wk_tlv.h"

#define AUDIT_SIG_MAX 72	/* DER ECDSA P-256 */

static const uint8_t audit_aid[] = { WK_AUDIT_AID_BYTES };

static const vc_aid audit_aids[] = {
	{ audit_aid, sizeof(audit_aid), sizeof(audit_aid) },
};

static int
audit_create(vc_card *card, void **state)
{
	const vc_card_opts *opts = vc_card_options(card);
	vc_perso *p = NULL;
	char err[256];
	int rc = -1;

	if (vc_perso_load(opts->perso_path, opts->demo, &p, err, sizeof(err)) != VC_PERSO_OK) {
		wk_log(WK_LOG_APPLET, "audit: %s", err);
		goto out;
	}
	if (audit_log_create(card, p->audit_capacity) != AUDIT_LOG_OK)
		goto out;
	rc = purse_pin_holder_new(state);
out:
	vc_perso_free(&p);
	return rc;
}

static int
audit_open(vc_card *card, void **state)
{
	if (audit_log_open(card) != AUDIT_LOG_OK)
		return -1;
	return purse_pin_holder_new(state);
}

/* unlike PIV, every SELECT asks for the PIN again */
static uint16_t
audit_select(void *state, vc_card *card, size_t which, const wk_apdu *cmd,
    wk_buf *resp)
{
	(void)card;
	(void)which;
	return purse_pin_holder_select(state, audit_aid, sizeof(audit_aid), cmd,
	    resp);
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* cap 4 | records kept 4 | base seq 8 | head seq 8 | acked 8: no record content */
static uint16_t
get_status(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	audit_state s;

	(void)state;
	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	if (audit_log_state(card, &s) != AUDIT_LOG_OK)
		return WK_SW_MEMORY_FAILURE;
	wk_buf_be32(resp, s.cap);
	wk_buf_be32(resp, (uint32_t)(s.head_seq - s.base_seq));
	wk_buf_be64(resp, s.base_seq);
	wk_buf_be64(resp, s.head_seq);
	wk_buf_be64(resp, s.acked);
	return WK_SW_OK;
}

/* base seq 8 | base hash 32 | head seq 8 | head hash 32 | DER signature */
static uint16_t
get_head(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	purse_pin_holder *a = state;
	uint8_t tbs[WK_AREC_HEAD_TBS_LEN], sigbuf[AUDIT_SIG_MAX];
	EVP_PKEY *key = NULL;
	audit_state s;
	wk_buf sig;

	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != WK_AREC_NONCE_LEN)
		return WK_SW_WRONG_LENGTH;
	if (!a->pin_ok && purse_pin_required(card, PURSE_PIN_HISTORY))
		return WK_SW_SECURITY_STATUS;
	if (audit_log_state(card, &s) != AUDIT_LOG_OK)
		return WK_SW_MEMORY_FAILURE;
	/* no P-256 wallet key in slot 82 yet */
	if (piv_wallet_key(card, &key) != 0)
		return WK_SW_REF_NOT_FOUND;
	EVP_PKEY_free(key);
	wk_arec_head_tbs(vc_card_serial(card), s.base_seq, s.base_hash,
	    s.head_seq, s.head_hash, cmd->data, tbs);
	wk_buf_init_fixed(&sig, sigbuf, sizeof(sigbuf));
	if (piv_wallet_sign(card, tbs, sizeof(tbs), &sig) != 0 ||
	    wk_buf_failed(&sig))
		return WK_SW_UNKNOWN;
	wk_buf_be64(resp, s.base_seq);
	wk_buf_add(resp, s.base_hash, WK_AREC_HASH_LEN);
	wk_buf_be64(resp, s.head_seq);
	wk_buf_add(resp, s.head_hash, WK_AREC_HASH_LEN);
	wk_buf_add(resp, sig.p, sig.len);
	return WK_SW_OK;
}

/*
 * one page: recipient X25519 key 32 | cursor 8 | max records 1 in; the
 * sealed page (wk_arec_seal) out. The cursor is the next seq wanted, so an
 * export interrupted anywhere resumes by asking again from there.
 */
static uint16_t
get_page(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	purse_pin_holder *a = state;
	const uint8_t *rcp = cmd->data;
	audit_state s;
	wk_buf pt;
	uint64_t cursor, first = 0, next;
	unsigned max, n = 0;
	const char *fault;
	uint8_t *hdr;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != WK_AUDIT_PAGE_CMD_LEN)
		return WK_SW_WRONG_LENGTH;
	if (!a->pin_ok && purse_pin_required(card, PURSE_PIN_HISTORY))
		return WK_SW_SECURITY_STATUS;
	cursor = get64(cmd->data + 32);
	max = cmd->data[40];
	if (audit_log_state(card, &s) != AUDIT_LOG_OK)
		return WK_SW_MEMORY_FAILURE;
	if (max == 0 || cursor == 0 || cursor > s.head_seq + 1)
		return WK_SW_WRONG_DATA;
	/* test hooks (docs/audit.md): a card whose pages never move on, which a
	 * host must not ask for ever; a card that answers the page before the
	 * one asked (records the issuer has), which a sync must not take for
	 * progress */
	fault = getenv("WALLETKEY_CARD_FAULT");
	if (fault != NULL && strcmp(fault, "audit-page-stale") == 0)
		cursor = cursor > max ? cursor - max : 1;
	wk_buf_init_heap(&pt, WK_AREC_PAGE_HDR + WK_AREC_PAGE_MAX * WK_AREC_LEN);
	if ((hdr = wk_buf_reserve(&pt, WK_AREC_PAGE_HDR)) == NULL)
		goto out;
	if (audit_log_read(card, cursor, max, &pt, &n, &first) != AUDIT_LOG_OK)
		goto out;
	next = first + n;
	if (fault != NULL && strcmp(fault, "audit-page-stuck") == 0)
		next = first;
	hdr = pt.p;
	for (int i = 0; i < 8; i++) {
		hdr[i] = (uint8_t)(first >> (56 - 8 * i));
		hdr[10 + i] = (uint8_t)(next >> (56 - 8 * i));
	}
	hdr[8] = (uint8_t)(n >> 8);
	hdr[9] = (uint8_t)n;
	hdr[18] = next <= s.head_seq ? 1 : 0;
	switch (wk_arec_seal(rcp, vc_card_serial(card), pt.p, pt.len, resp)) {
	case WK_AREC_OK:
		sw = WK_SW_OK;
		break;
	case WK_AREC_CRYPTO:
		/* a low-order or otherwise unusable recipient key */
		sw = WK_SW_WRONG_DATA;
		break;
	default:
		break;
	}
out:
	wk_buf_clear(&pt);
	return sw;
}

/*
 * ACKNOWLEDGE: acked seq 8 | hash of that record 32 | the issuer's DER
 * signature over wk_arec_ack_tbs, checked with the wallet's trust anchor.
 * No PIN: the issuer's signature is the authority, and the command reveals
 * nothing. A record the card still keeps must hash to the acknowledged
 * hash; the last acknowledgement is kept (one row) as the issuer's
 * signed word that the records up to seq are synced.
 */
static uint16_t
put_ack(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t tbs[WK_AREC_ACK_TBS_LEN], h[WK_AREC_HASH_LEN];
	const uint8_t *hash;
	EVP_PKEY *anchor = NULL;
	audit_state s;
	wk_buf rec;
	uint64_t seq;
	unsigned n = 0;
	uint64_t first = 0;
	uint16_t sw;

	(void)state;
	(void)resp;
	if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc < 8 + WK_AREC_HASH_LEN + 8 ||
	    cmd->lc > 8 + WK_AREC_HASH_LEN + WK_AREC_SIG_MAX)
		return WK_SW_WRONG_LENGTH;
	/* only now: data is NULL for a command without a data field */
	hash = cmd->data + 8;
	/* not enrolled: no issuer key to believe */
	if (piv_wallet_anchor(card, &anchor) != 0)
		return WK_SW_CONDITIONS;
	seq = get64(cmd->data);
	wk_arec_ack_tbs(vc_card_serial(card), seq, hash, tbs);
	sw = wk_arec_sig_verify(anchor, tbs, sizeof(tbs), cmd->data + 40,
	    cmd->lc - 40) == WK_AREC_OK ? WK_SW_OK : WK_SW_SECURITY_STATUS;
	EVP_PKEY_free(anchor);
	if (sw != WK_SW_OK)
		return sw;
	if (audit_log_state(card, &s) != AUDIT_LOG_OK)
		return WK_SW_MEMORY_FAILURE;
	if (seq == 0 || seq > s.head_seq)
		return WK_SW_WRONG_DATA;
	if (seq == s.base_seq) {
		if (sodium_memcmp(hash, s.base_hash, WK_AREC_HASH_LEN) != 0)
			return WK_SW_WRONG_DATA;
	} else if (seq > s.base_seq) {
		uint8_t raw[WK_AREC_LEN];

		wk_buf_init_fixed(&rec, raw, sizeof(raw));
		if (audit_log_read(card, seq, 1, &rec, &n, &first) !=
		    AUDIT_LOG_OK || wk_buf_failed(&rec) || n != 1 ||
		    first != seq || rec.len != WK_AREC_LEN)
			return WK_SW_MEMORY_FAILURE;
		wk_arec_hash(raw, h);
		/* the issuer acknowledged other bytes than the card holds */
		if (sodium_memcmp(hash, h, WK_AREC_HASH_LEN) != 0)
			return WK_SW_WRONG_DATA;
	}
	/* older than the checkpoint: dropped, so acknowledged before */
	if (seq <= s.acked)
		return WK_SW_OK;
	if (audit_log_ack(card, seq) != AUDIT_LOG_OK ||
	    vc_store_put(vc_card_store(card), AUDIT_APPLET, "ack", cmd->data,
	    cmd->lc) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	return WK_SW_OK;
}

/*
 * REVOCATION LIST (docs/audit.md "Revocation list"): P1 00 takes the
 * issuer's signed list (the sync delivers it beside the acknowledgement);
 * P1 01 tells the version, issue time and count the card holds. No PIN:
 * the issuer's signature is the authority, and a list only refuses peers.
 */
static uint16_t
revocation_list(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	(void)state;
	if (cmd->p1 > 0x01 || cmd->p2 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->p1 == 0x01) {
		if (cmd->lc != 0)
			return WK_SW_WRONG_LENGTH;
		return purse_crl_status(card, resp);
	}
	if (cmd->lc < WK_AREC_CRL_HDR + 1)
		return WK_SW_WRONG_LENGTH;
	return purse_crl_put(card, cmd->data, cmd->lc);
}

/*
 * ISSUER RECORDS (docs/audit.md "The bank's records"): P1 00 takes the
 * issuer's signed batch of the account's records (wk_arec.h WKAUDIT-ISS/1),
 * checked with the wallet's trust anchor and for this card; each record
 * whose event number is above the last one stored is chained into the log
 * as the card's own are, in this command's one transaction (all or none:
 * 6A84 when the log has no room). A batch stored before stores nothing and
 * answers 9000. P1 01 tells the last event number stored. Answer: records
 * stored 2 | last event 8. No PIN: the issuer's signature is the
 * authority, and the command reveals nothing.
 */
static uint16_t
issuer_records(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	vc_store *st = vc_card_store(card);
	EVP_PKEY *anchor = NULL;
	wk_arec_iss b;
	uint64_t last = 0;
	uint16_t stored = 0, sw;
	int rc;

	(void)state;
	if (cmd->p1 > 0x01 || cmd->p2 != 0x00)
		return WK_SW_WRONG_P1P2;
	rc = vc_store_get_u64(st, AUDIT_APPLET, "issuer.last", &last);
	if (rc != VC_STORE_OK && rc != VC_STORE_NOT_FOUND)
		return WK_SW_MEMORY_FAILURE;
	if (cmd->p1 == 0x01) {
		if (cmd->lc != 0)
			return WK_SW_WRONG_LENGTH;
		wk_buf_be16(resp, 0);
		wk_buf_be64(resp, last);
		return WK_SW_OK;
	}
	if (cmd->lc < WK_AREC_ISS_HDR + WK_AREC_LEN + 1)
		return WK_SW_WRONG_LENGTH;
	if (wk_arec_iss_parse(cmd->data, cmd->lc, &b) != WK_AREC_OK)
		return WK_SW_WRONG_DATA;
	/* not enrolled: no issuer key to believe */
	if (piv_wallet_anchor(card, &anchor) != 0)
		return WK_SW_CONDITIONS;
	sw = wk_arec_sig_verify(anchor, cmd->data, b.tbs_len, b.sig,
	    b.sig_len) == WK_AREC_OK ? WK_SW_OK : WK_SW_SECURITY_STATUS;
	EVP_PKEY_free(anchor);
	if (sw != WK_SW_OK)
		return sw;
	if (memcmp(b.serial, vc_card_serial(card), sizeof(b.serial)) != 0)
		return WK_SW_WRONG_DATA;
	for (uint16_t i = 0; i < b.count; i++) {
		wk_arec r;

		if (wk_arec_decode(b.records + (size_t)i * WK_AREC_LEN, WK_AREC_LEN,
		    &r) != WK_AREC_OK)
			return WK_SW_WRONG_DATA;
		/* stored before (the batches overlap, or a replay) */
		if (wk_arec_iss_event(&r) <= last)
			continue;
		rc = audit_log_append(card, &r);
		if (rc == AUDIT_LOG_FULL)
			return WK_SW_NO_SPACE;
		if (rc != AUDIT_LOG_OK)
			return WK_SW_MEMORY_FAILURE;
		last = wk_arec_iss_event(&r);
		stored++;
	}
	if (stored > 0 && vc_store_put_u64(st, AUDIT_APPLET, "issuer.last",
	    last) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	wk_buf_be16(resp, stored);
	wk_buf_be64(resp, last);
	return WK_SW_OK;
}

static const vc_cmd audit_cmds[] = {
	PURSE_PIN_HOLDER_VERIFY_ROW,
	{ WK_AUDIT_INS_STATUS, 0x80, 0, get_status },
	{ WK_AUDIT_INS_HEAD, 0x80, 0, get_head },
	{ WK_AUDIT_INS_PAGE, 0x80, 0, get_page },
	{ WK_AUDIT_INS_ACK, 0x80, 0, put_ack },
	{ WK_AUDIT_INS_CRL, 0x80, 0, revocation_list },
	{ WK_AUDIT_INS_ISSUER, 0x80, 0, issuer_records },
	{ 0, 0, 0, NULL },
};

const vc_applet vc_applet_audit = PURSE_PIN_HOLDER_APPLET("audit", audit_aids,
    audit_create, audit_open, audit_select, audit_cmds);
