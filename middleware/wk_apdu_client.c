/* the APDU client: extended length or command chaining, GET RESPONSE, 6Cxx resend */
#include "wk_internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wk_apdu.h"
#include "wk_log.h"

#define CHAIN_FRAGMENT 255u
#define INS_GET_RESPONSE 0xC0

/* commands whose data field holds a PIN, a PUK or a key: never traced */
static bool
secret_ins(uint8_t ins)
{
	return ins == 0x20 || ins == 0x24 || ins == 0x2C || ins == 0xFE ||
	    ins == 0xFF;
}

/* purse commands (CLA 80) whose data or answer carries MAC1/MAC2/TAC */
static bool
purse_mac_ins(const wk_apdu *a)
{
	return (a->cla & 0xF0) == 0x80 && (a->ins == 0x50 || a->ins == 0x52 ||
	    a->ins == 0x54 || a->ins == 0x5A);
}

static int
send_one(const wk_transport *t, const wk_apdu *a, uint8_t *cmd, size_t cmd_cap,
    uint8_t *rbuf, size_t *rlen)
{
	wk_buf b;
	int rc = WK_ERR_ARG;

	wk_buf_init_fixed(&b, cmd, cmd_cap);
	if (wk_apdu_encode(a, false, &b) != WK_APDU_OK)
		goto out;
	if (t->secret || secret_ins(a->ins) || purse_mac_ins(a)) {
		/* the data field only: header, Lc and Le stay readable */
		bool ext = a->lc > 255 || (a->has_le && a->le > 256);

		wk_log_hex(WK_LOG_APDU, "apdu >", b.p, b.len,
		    4 + (a->lc > 0 ? (ext ? 3u : 1u) : 0u), a->lc);
	} else {
		wk_log_hex(WK_LOG_APDU, "apdu >", b.p, b.len, 0, 0);
	}
	*rlen = WK_RESP_MAX;
	if ((rc = t->xfer(t->arg, b.p, b.len, rbuf, rlen)) != WK_OK)
		goto out;
	rc = WK_ERR_CARD_MALFORMED;
	if (*rlen < 2 || *rlen > WK_RESP_MAX)
		goto out;
	wk_log_hex(WK_LOG_APDU, "apdu <", rbuf, *rlen, 0,
	    t->secret || purse_mac_ins(a) ? *rlen - 2 : 0);
	rc = WK_OK;
out:
	return rc;
}

static uint16_t
sw_of(const uint8_t *rbuf, size_t rlen)
{
	return (uint16_t)((rbuf[rlen - 2] << 8) | rbuf[rlen - 1]);
}

int
wk_apdu_exchange(const wk_transport *t, uint8_t cla, uint8_t ins,
    uint8_t p1, uint8_t p2, const uint8_t *data, size_t lc, size_t le,
    uint8_t *resp, size_t *resp_len, uint16_t *sw)
{
	uint8_t *cmd = NULL, *rbuf = NULL;
	size_t cmd_cap = lc + 16, rlen = 0, have = 0, off = 0, frag, rounds;
	size_t used = 0;	/* the most of rbuf an answer filled */
	uint16_t s;
	wk_apdu a;
	int rc = WK_ERR_ARG;

	if (t == NULL || t->xfer == NULL || (lc > 0 && data == NULL) ||
	    resp_len == NULL || (*resp_len > 0 && resp == NULL) || sw == NULL ||
	    lc > WK_APDU_MAX_DATA || le > WK_APDU_MAX_LE)
		goto out;
	*sw = 0;
	if (!t->extended && le > 256)
		le = 256;
	rc = WK_ERR_MEMORY;
	if ((cmd = malloc(cmd_cap)) == NULL || (rbuf = malloc(WK_RESP_MAX)) == NULL)
		goto out;

	/* the command, in 255-byte fragments unless the card takes extended length */
	frag = t->extended ? WK_APDU_MAX_DATA : CHAIN_FRAGMENT;
	for (;;) {
		size_t n = lc - off < frag ? lc - off : frag;
		bool last = off + n == lc;

		memset(&a, 0, sizeof(a));
		a.cla = last ? cla : (uint8_t)(cla | 0x10);
		a.ins = ins;
		a.p1 = p1;
		a.p2 = p2;
		a.data = n > 0 ? data + off : NULL;
		a.lc = n;
		a.has_le = last && le > 0;
		a.le = a.has_le ? le : 0;
		if ((rc = send_one(t, &a, cmd, cmd_cap, rbuf, &rlen)) != WK_OK)
			goto out;
		used = rlen > used ? rlen : used;
		off += n;
		if (last)
			break;
		if ((s = sw_of(rbuf, rlen)) != WK_SW_OK) {
			/* the card refused a fragment: its answer is the command's */
			*sw = s;
			goto done;
		}
	}

	/* the answer: 6Cxx means resend with that Le, 61xx means fetch the rest */
	for (rounds = 0;; rounds++) {
		size_t dlen = rlen - 2;

		rc = WK_ERR_CARD_MALFORMED;
		if (rounds > WK_GET_RESPONSE_MAX)
			goto out;
		s = sw_of(rbuf, rlen);
		if ((s >> 8) == 0x6C) {
			a.has_le = true;
			a.le = (s & 0xFF) == 0 ? 256 : (size_t)(s & 0xFF);
			if ((rc = send_one(t, &a, cmd, cmd_cap, rbuf, &rlen)) != WK_OK)
				goto out;
			used = rlen > used ? rlen : used;
			continue;
		}
		rc = WK_ERR_ARG;	/* the caller's buffer is too small */
		if (dlen > *resp_len - have)
			goto out;
		if (dlen > 0)
			memcpy(resp + have, rbuf, dlen);
		have += dlen;
		if ((s >> 8) != 0x61) {
			*sw = s;
			break;
		}
		memset(&a, 0, sizeof(a));
		a.cla = (uint8_t)(cla & 0x03);	/* keep the logical channel */
		a.ins = INS_GET_RESPONSE;
		a.has_le = true;
		a.le = (s & 0xFF) == 0 ? 256 : (size_t)(s & 0xFF);
		if ((rc = send_one(t, &a, cmd, cmd_cap, rbuf, &rlen)) != WK_OK)
			goto out;
		used = rlen > used ? rlen : used;
	}
done:
	*resp_len = have;
	rc = WK_OK;
out:
	if (cmd != NULL)
		sodium_memzero(cmd, cmd_cap);
	/* answers carry decrypted data and shared secrets; after a failed
	 * transfer nothing says how much was written, so all of it */
	if (rbuf != NULL)
		sodium_memzero(rbuf, rc == WK_OK ? used : WK_RESP_MAX);
	free(cmd);
	free(rbuf);
	return rc;
}

/* the transport of wk_card_apdu: begins the card transaction before the
 * second APDU of an exchange when the first went without one */
typedef struct card_xfer {
	wk_card *card;
	bool in_txn;
	size_t sent;
} card_xfer;

static int
card_xfer_fn(void *arg, const uint8_t *apdu, size_t len, uint8_t *resp,
    size_t *resp_len)
{
	card_xfer *x = arg;
	int rc;

	if (x->sent > 0 && !x->in_txn) {
		if ((rc = wk_card_begin(x->card)) != WK_OK)
			return rc;
		x->in_txn = true;
	}
	x->sent++;
	return wk_pcsc_xfer(x->card, apdu, len, resp, resp_len);
}

int
wk_card_apdu(wk_card *card, uint8_t cla, uint8_t ins, uint8_t p1,
    uint8_t p2, const uint8_t *data, size_t lc, size_t le, uint8_t *resp,
    size_t *resp_len, uint16_t *sw)
{
	wk_transport t;
	card_xfer x = { card, false, 0 };
	int rc = WK_ERR_ARG;

	if (card == NULL || resp_len == NULL)
		goto out;
	t.xfer = card_xfer_fn;
	t.arg = &x;
	t.extended = card->extended;
	t.secret = card->trace_secret;
	/*
	 * chaining and GET RESPONSE must not interleave with another client, so
	 * they run in a transaction. pcscd carries one SCardTransmit whole, so
	 * a command that fits one extended APDU, to our card (which answers up
	 * to Le in one R-APDU, piv.md 1.2) with Le covering the whole buffer,
	 * is sent without one: that saves two pcscd round trips per signature.
	 * Should a 61xx come anyway, the buffer was too small and the exchange
	 * fails whatever follows; the transaction then begins before the
	 * second APDU.
	 */
	if (!(card->extended && lc <= WK_APDU_MAX_DATA &&
	    le >= (*resp_len < WK_APDU_MAX_LE ? *resp_len : WK_APDU_MAX_LE))) {
		if ((rc = wk_card_begin(card)) != WK_OK)
			goto out;
		x.in_txn = true;
	}
	rc = wk_apdu_exchange(&t, cla, ins, p1, p2, data, lc, le, resp,
	    resp_len, sw);
	if (x.in_txn && wk_card_end(card) != WK_OK && rc == WK_OK)
		rc = WK_ERR_CARD_REMOVED;
out:
	return rc;
}

void
wk_card_trace_secret(wk_card *card, bool on)
{
	if (card != NULL)
		card->trace_secret = on;
}

int
wk_card_cmd(wk_card *card, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t lc, size_t le, uint8_t *resp, size_t *rlen)
{
	uint8_t tmp[8];
	size_t len = resp != NULL ? *rlen : sizeof(tmp);
	uint16_t sw = 0;
	int rc;

	if ((rc = wk_card_apdu(card, cla, ins, p1, p2, data, lc, le,
	    resp != NULL ? resp : tmp, &len, &sw)) != WK_OK)
		return rc;
	if (rlen != NULL)
		*rlen = len;
	return wk_rc_from_sw(sw);
}
