/* the audit client: status, PIN, signed chain head, sealed pages (docs/audit.md) */
#include "wk_purse_internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wk_arec.h"
#include "wk_buf.h"

#define CLA_AUDIT 0x80
#define INS_VERIFY 0x20
#define INS_SELECT 0xA4

static const uint8_t audit_aid[] = { WK_AUDIT_AID_BYTES };

static int
cmd(wk_card *card, uint8_t cla, uint8_t ins, const uint8_t *data, size_t lc,
    size_t le, uint8_t *resp, size_t *len, uint16_t *swp)
{
	uint8_t none[1];
	size_t dummy = 0;
	uint16_t sw = 0;
	int rc;

	if (resp == NULL) {
		resp = none;
		len = &dummy;
	}
	if ((rc = wk_card_apdu(card, cla, ins, ins == INS_SELECT ? 0x04 : 0x00,
	    ins == INS_SELECT ? 0x0C :
	    0x00, data, lc, le, resp, len, &sw)) != WK_OK)
		return rc;
	if (swp != NULL)
		*swp = sw;
	return wk_rc_from_sw(sw);
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

int
wk_audit_select(wk_card *card)
{
	if (card == NULL)
		return WK_ERR_ARG;
	return cmd(card, 0x00, INS_SELECT, audit_aid, sizeof(audit_aid), 0,
	    NULL, NULL, NULL);
}

int
wk_audit_get_status(wk_card *card, wk_audit_status *st)
{
	uint8_t buf[WK_AUDIT_STATUS_LEN + 8];
	size_t len = sizeof(buf);
	wk_cur c;
	int rc;

	if (card == NULL || st == NULL)
		return WK_ERR_ARG;
	if ((rc = cmd(card, CLA_AUDIT, WK_AUDIT_INS_STATUS, NULL, 0,
	    WK_AUDIT_STATUS_LEN, buf, &len, NULL)) != WK_OK)
		return rc;
	if (len != WK_AUDIT_STATUS_LEN)
		return WK_ERR_CARD_MALFORMED;
	wk_cur_init(&c, buf, len);
	if (wk_cur_be32(&c, &st->capacity) != 0 || wk_cur_be32(&c, &st->count) != 0)
		return WK_ERR_CARD_MALFORMED;
	st->base_seq = get64(buf + 8);
	st->head_seq = get64(buf + 16);
	st->acked = get64(buf + 24);
	return WK_OK;
}

int
wk_audit_verify_pin(wk_card *card, const char *pin, size_t pin_len,
    int *tries_left)
{
	uint8_t bcd[6];
	size_t n = 0;
	uint16_t sw = 0;
	int rc;

	if (card == NULL || pin == NULL)
		return WK_ERR_ARG;
	if ((rc = wk_purse_pin_bcd(pin, pin_len, bcd, &n)) != WK_OK)
		goto out;
	rc = cmd(card, 0x00, INS_VERIFY, bcd, n, 0, NULL, NULL, &sw);
	if (rc == WK_ERR_WRONG_PIN && tries_left != NULL)
		*tries_left = sw & 0x0F;
out:
	sodium_memzero(bcd, sizeof(bcd));
	return rc;
}

int
wk_audit_get_head(wk_card *card, const uint8_t nonce[16], wk_audit_head *head)
{
	uint8_t buf[8 + 32 + 8 + 32 + 80];
	size_t len = sizeof(buf);
	int rc;

	if (card == NULL || nonce == NULL || head == NULL)
		return WK_ERR_ARG;
	if ((rc = cmd(card, CLA_AUDIT, WK_AUDIT_INS_HEAD, nonce, 16, 256, buf,
	    &len, NULL)) != WK_OK)
		return rc;
	if (len <= 80 || len - 80 > sizeof(head->sig))
		return WK_ERR_CARD_MALFORMED;
	head->base_seq = get64(buf);
	memcpy(head->base_hash, buf + 8, 32);
	head->head_seq = get64(buf + 40);
	memcpy(head->head_hash, buf + 48, 32);
	memcpy(head->nonce, nonce, 16);
	head->sig_len = len - 80;
	memcpy(head->sig, buf + 80, head->sig_len);
	return WK_OK;
}

int
wk_audit_get_page(wk_card *card, const uint8_t recipient[32],
    uint64_t cursor, unsigned max, uint8_t *out, size_t *len)
{
	uint8_t data[WK_AUDIT_PAGE_CMD_LEN];

	if (card == NULL || recipient == NULL || out == NULL || len == NULL ||
	    max == 0 || max > WK_AREC_PAGE_MAX)
		return WK_ERR_ARG;
	memcpy(data, recipient, 32);
	for (int i = 0; i < 8; i++)
		data[32 + i] = (uint8_t)(cursor >> (56 - 8 * i));
	data[40] = (uint8_t)max;
	return cmd(card, CLA_AUDIT, WK_AUDIT_INS_PAGE, data, sizeof(data),
	    65536, out, len, NULL);
}

int
wk_audit_ack(wk_card *card, uint64_t seq, const uint8_t hash[32],
    const uint8_t *sig, size_t sig_len, uint16_t *sw)
{
	uint8_t data[8 + 32 + WK_AREC_SIG_MAX];

	if (card == NULL || hash == NULL || sig == NULL || sig_len == 0 ||
	    sig_len > WK_AREC_SIG_MAX)
		return WK_ERR_ARG;
	for (int i = 0; i < 8; i++)
		data[i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(data + 8, hash, 32);
	memcpy(data + 40, sig, sig_len);
	return cmd(card, CLA_AUDIT, WK_AUDIT_INS_ACK, data, 40 + sig_len, 0,
	    NULL, NULL, sw);
}

int
wk_audit_revocation_list(wk_card *card, const uint8_t *list, size_t len,
    uint16_t *sw)
{
	wk_arec_crl l;

	if (card == NULL || list == NULL ||
	    wk_arec_crl_parse(list, len, &l) != WK_AREC_OK)
		return WK_ERR_ARG;
	return cmd(card, CLA_AUDIT, WK_AUDIT_INS_CRL, list, len, 0, NULL, NULL,
	    sw);
}

int
wk_audit_revocation_status(wk_card *card, wk_audit_revocations *st)
{
	uint8_t r[WK_AUDIT_CRL_STATUS_LEN + 2];
	size_t len = sizeof(r);
	uint16_t sw = 0;
	int rc;

	if (card == NULL || st == NULL)
		return WK_ERR_ARG;
	memset(st, 0, sizeof(*st));
	if ((rc = wk_card_apdu(card, CLA_AUDIT, WK_AUDIT_INS_CRL, 0x01, 0x00,
	    NULL, 0, WK_AUDIT_CRL_STATUS_LEN, r, &len, &sw)) != WK_OK)
		return rc;
	if ((rc = wk_rc_from_sw(sw)) != WK_OK)
		return rc;
	if (len != WK_AUDIT_CRL_STATUS_LEN)
		return WK_ERR_CARD_MALFORMED;
	st->version = get64(r);
	st->issued = get64(r + 8);
	st->count = (uint16_t)(r[16] << 8 | r[17]);
	return WK_OK;
}

#define EXPORT_PAGE_BUF 65536

int
wk_audit_export(wk_card *card, const char *pin, size_t pin_len,
    uint64_t from_seq, wk_audit_record_fn cb, void *arg, wk_audit_head *head,
    bool *have_head, int *tries_left)
{
	uint8_t pk[32], sk[32], nonce[16], serial[8], *page = NULL;
	wk_audit_head h;
	wk_audit_status st;
	wk_card_info info;
	wk_arec_page pg;
	wk_buf pt;
	uint64_t cursor;
	size_t len;
	bool began = false, signed_head = false;
	int rc = WK_ERR_ARG;

	_Static_assert(WK_AUDIT_RECORD_LEN == WK_AREC_LEN, "the record size");
	wk_buf_init_heap(&pt, EXPORT_PAGE_BUF);
	if (card == NULL || cb == NULL || (pin == NULL && pin_len != 0))
		goto out;
	rc = WK_ERR_MEMORY;
	if ((page = malloc(EXPORT_PAGE_BUF)) == NULL)
		goto out;
	crypto_box_keypair(pk, sk);
	if ((rc = wk_card_begin(card)) != WK_OK)
		goto out;
	began = true;
	if ((rc = wk_card_get_info(card, &info)) != WK_OK)
		goto out;
	memcpy(serial, info.serial, sizeof(serial));
	if ((rc = wk_audit_select(card)) != WK_OK ||
	    (rc = wk_audit_get_status(card, &st)) != WK_OK)
		goto out;
	if (pin != NULL && (rc = wk_audit_verify_pin(card, pin, pin_len,
	    tries_left)) != WK_OK)
		goto out;
	randombytes_buf(nonce, sizeof(nonce));
	rc = wk_audit_get_head(card, nonce, &h);
	if (rc == WK_OK) {
		signed_head = true;
		/* the head may have moved since the status: up to the signed one */
		st.head_seq = h.head_seq;
	} else if (rc != WK_ERR_NOT_FOUND) {
		goto out;
	}
	cursor = st.base_seq + 1;
	if (from_seq > cursor)
		cursor = from_seq;
	while (cursor <= st.head_seq) {
		len = EXPORT_PAGE_BUF;
		if ((rc = wk_audit_get_page(card, pk, cursor, 255, page, &len)) !=
		    WK_OK)
			goto out;
		wk_buf_reset(&pt);
		if (wk_arec_open(pk, sk, serial, page, len, &pt) != WK_AREC_OK ||
		    wk_buf_failed(&pt) ||
		    wk_arec_page_parse(pt.p, pt.len, &pg) != WK_AREC_OK ||
		    pg.first_seq != cursor || pg.count == 0 ||
		    pg.next_seq != cursor + pg.count) {
			rc = WK_ERR_CARD_MALFORMED;
			goto out;
		}
		for (unsigned i = 0; i < pg.count; i++)
			if (cb(arg, pg.records + (size_t)i * WK_AREC_LEN) != 0) {
				rc = WK_ERR_INTERNAL;
				goto out;
			}
		cursor = pg.next_seq;
	}
	if (head != NULL && signed_head)
		*head = h;
	if (have_head != NULL)
		*have_head = signed_head;
	rc = WK_OK;
out:
	if (began && wk_card_end(card) != WK_OK && rc == WK_OK)
		rc = WK_ERR_CARD_REMOVED;
	sodium_memzero(sk, sizeof(sk));
	wk_buf_clear(&pt);
	free(page);
	return rc;
}

/* ---- the bank's records ---- */

int
wk_audit_bank_last(wk_card *card, uint64_t *last)
{
	uint8_t buf[16];
	size_t len = sizeof(buf);
	uint16_t sw = 0;
	int rc;

	if (card == NULL || last == NULL)
		return WK_ERR_ARG;
	if ((rc = wk_card_apdu(card, CLA_AUDIT, WK_AUDIT_INS_ISSUER, 0x01, 0x00,
	    NULL, 0, 10, buf, &len, &sw)) != WK_OK)
		return rc;
	if ((rc = wk_rc_from_sw(sw)) != WK_OK)
		return rc;
	if (len != 10)
		return WK_ERR_CARD_MALFORMED;
	*last = get64(buf + 2);
	return WK_OK;
}

int
wk_audit_bank_put(wk_card *card, const uint8_t *batch, size_t len,
    unsigned *stored, uint64_t *last, uint16_t *swp)
{
	uint8_t buf[16];
	size_t rlen = sizeof(buf);
	wk_arec_iss b;
	uint16_t sw = 0;
	int rc;

	if (card == NULL || batch == NULL ||
	    wk_arec_iss_parse(batch, len, &b) != WK_AREC_OK)
		return WK_ERR_ARG;
	if ((rc = wk_card_apdu(card, CLA_AUDIT, WK_AUDIT_INS_ISSUER, 0x00, 0x00,
	    batch, len, 10, buf, &rlen, &sw)) != WK_OK)
		return rc;
	if (swp != NULL)
		*swp = sw;
	if ((rc = wk_rc_from_sw(sw)) != WK_OK)
		return rc;
	if (rlen != 10)
		return WK_ERR_CARD_MALFORMED;
	if (stored != NULL)
		*stored = (unsigned)(buf[0] << 8 | buf[1]);
	if (last != NULL)
		*last = get64(buf + 2);
	return WK_OK;
}

int
wk_audit_bank_sync(wk_card *card, wk_issuer *is,
    wk_audit_bank_progress_fn progress, void *arg, unsigned *stored)
{
	wk_card_info info;
	uint8_t *batch = NULL;
	char id[17];
	uint64_t last = 0;
	unsigned total = 0, n = 0;
	size_t len;
	bool more = true, began = false;
	int rc = WK_ERR_ARG;

	if (card == NULL || is == NULL)
		goto out;
	rc = WK_ERR_MEMORY;
	if ((batch = malloc(WK_AUDIT_BANK_BATCH_MAX)) == NULL)
		goto out;
	if ((rc = wk_card_begin(card)) != WK_OK)
		goto out;
	began = true;
	if ((rc = wk_card_get_info(card, &info)) != WK_OK ||
	    (rc = wk_audit_select(card)) != WK_OK ||
	    (rc = wk_audit_bank_last(card, &last)) != WK_OK)
		goto out;
	for (int i = 0; i < 8; i++) {
		static const char digits[] = "0123456789abcdef";

		id[2 * i] = digits[info.serial[i] >> 4];
		id[2 * i + 1] = digits[info.serial[i] & 0x0F];
	}
	id[16] = '\0';
	/* bounded: every round moves last forward or ends */
	for (unsigned round = 0; more && round < 100000; round++) {
		uint64_t before = last;

		len = WK_AUDIT_BANK_BATCH_MAX;
		if ((rc = wk_issuer_bank_records(is, id, last, batch, &len,
		    &more)) != WK_OK)
			goto out;
		if (len == 0)
			break;
		if ((rc = wk_audit_bank_put(card, batch, len, &n, &last,
		    NULL)) != WK_OK)
			goto out;
		total += n;
		if (progress != NULL)
			progress(arg, total);
		if (last <= before) {
			/* the issuer gave nothing past the card's last: stop */
			rc = WK_ERR_ISSUER;
			goto out;
		}
	}
	rc = WK_OK;
out:
	if (began && wk_card_end(card) != WK_OK && rc == WK_OK)
		rc = WK_ERR_CARD_REMOVED;
	if (stored != NULL)
		*stored = total;
	free(batch);
	return rc;
}
