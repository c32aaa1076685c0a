/* the purse client: PBOC ED/EP commands (pboc-purse.md sections 2, 3, 7) */
#include "wk_purse_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "wk_buf.h"
#include "wk_purse_crypto.h"

#define CLA_PURSE 0x80
#define INS_VERIFY 0x20
#define INS_SELECT 0xA4
#define INS_READ_BINARY 0xB0
#define INS_READ_RECORD 0xB2
#define INS_INIT 0x50
#define INS_CREDIT 0x52
#define INS_DEBIT 0x54
#define INS_PROVE 0x5A
#define INS_BALANCE 0x5C

#define P1_INIT_LOAD 0x00
#define P1_INIT_PURCHASE 0x01
#define SFI_APP 0x15
#define SFI_HOLDER 0x16
#define SFI_LOG 0x18

static const uint8_t pse_name[] = { '1', 'P', 'A', 'Y', '.', 'S', 'Y', 'S',
    '.', 'D', 'D', 'F', '0', '1' };
static const uint8_t adf_fid[] = { 0x10, 0x01 };

/* one command; the result is the transport error or the status word's wk_rc */
static int
cmd(wk_card *card, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t lc, size_t le, uint8_t *resp, size_t cap,
    size_t *rlen, uint16_t *swp)
{
	size_t len = cap;
	uint16_t sw = 0;
	int rc;

	if ((rc = wk_card_apdu(card, cla, ins, p1, p2, data, lc, le, resp, &len,
	    &sw)) != WK_OK)
		return rc;
	if (swp != NULL)
		*swp = sw;
	if (rlen != NULL)
		*rlen = len;
	return wk_rc_from_sw(sw);
}

/* ---- parsers ---- */

int
wk_purse_parse_app(const uint8_t *p, size_t len, wk_purse_app *app)
{
	wk_cur c;

	if (p == NULL || app == NULL)
		return WK_ERR_ARG;
	if (len != WK_PURSE_APP_LEN)
		return WK_ERR_CARD_MALFORMED;
	wk_cur_init(&c, p, len);
	if (wk_cur_copy(&c, app->issuer, sizeof(app->issuer)) != 0 ||
	    wk_cur_u8(&c, &app->app_type) != 0 ||
	    wk_cur_u8(&c, &app->app_version) != 0 ||
	    wk_cur_copy(&c, app->serial, sizeof(app->serial)) != 0 ||
	    wk_cur_copy(&c, app->start, sizeof(app->start)) != 0 ||
	    wk_cur_copy(&c, app->expiry, sizeof(app->expiry)) != 0 ||
	    wk_cur_copy(&c, app->custom, sizeof(app->custom)) != 0)
		return WK_ERR_CARD_MALFORMED;
	return WK_OK;
}

/* a fixed-width text field: trailing 00, FF and spaces dropped */
static void
text_field(const uint8_t *p, size_t n, char *out)
{
	size_t k;

	while (n > 0 && (p[n - 1] == 0x00 || p[n - 1] == 0xFF || p[n - 1] == ' '))
		n--;
	for (k = 0; k < n; k++)
		out[k] = (p[k] >= 0x20 && p[k] < 0x7F) ? (char)p[k] : '?';
	out[n] = '\0';
}

int
wk_purse_parse_holder(const uint8_t *p, size_t len, wk_purse_holder *h)
{
	size_t id_len;

	if (p == NULL || h == NULL)
		return WK_ERR_ARG;
	/* 39 bytes (PBOC 1.0, ID 16) or 55 bytes (ID 32), section 7.3 */
	if (len == 39)
		id_len = 16;
	else if (len == 55)
		id_len = 32;
	else
		return WK_ERR_CARD_MALFORMED;
	memset(h, 0, sizeof(*h));
	h->card_type = p[0];
	h->staff = p[1];
	text_field(p + 2, 20, h->name);
	text_field(p + 22, id_len, h->id_number);
	h->id_type = p[22 + id_len];
	return WK_OK;
}

int
wk_purse_parse_record(const uint8_t *p, size_t len, wk_purse_record *r,
    bool *empty)
{
	wk_cur c;
	size_t k;

	if (p == NULL || r == NULL || empty == NULL)
		return WK_ERR_ARG;
	if (len != WK_PURSE_RECORD_LEN)
		return WK_ERR_CARD_MALFORMED;
	*empty = true;
	for (k = 0; k < len; k++)
		if (p[k] != 0)
			*empty = false;
	wk_cur_init(&c, p, len);
	if (wk_cur_be16(&c, &r->seq) != 0 || wk_cur_be24(&c, &r->overdraft) != 0 ||
	    wk_cur_be32(&c, &r->amount) != 0 || wk_cur_u8(&c, &r->type) != 0 ||
	    wk_cur_copy(&c, r->terminal, sizeof(r->terminal)) != 0 ||
	    wk_cur_copy(&c, r->date, sizeof(r->date)) != 0 ||
	    wk_cur_copy(&c, r->time, sizeof(r->time)) != 0)
		return WK_ERR_CARD_MALFORMED;
	return WK_OK;
}

int
wk_purse_parse_init_purchase(const uint8_t *p, size_t len, wk_purse_txn *t)
{
	wk_cur c;
	uint32_t overdraft;

	if (p == NULL || t == NULL)
		return WK_ERR_ARG;
	if (len != WK_PURSE_INIT_PURCHASE_LEN)
		return WK_ERR_CARD_MALFORMED;
	wk_cur_init(&c, p, len);
	if (wk_cur_be32(&c, &t->old_balance) != 0 ||
	    wk_cur_be16(&c, &t->card_seq) != 0 ||
	    wk_cur_be24(&c, &overdraft) != 0 ||
	    wk_cur_u8(&c, &t->key_version) != 0 || wk_cur_u8(&c, &t->alg) != 0 ||
	    wk_cur_copy(&c, t->random, sizeof(t->random)) != 0)
		return WK_ERR_CARD_MALFORMED;
	return WK_OK;
}

int
wk_purse_parse_init_load(const uint8_t *p, size_t len, wk_purse_txn *t)
{
	wk_cur c;

	if (p == NULL || t == NULL)
		return WK_ERR_ARG;
	if (len != WK_PURSE_INIT_LOAD_LEN)
		return WK_ERR_CARD_MALFORMED;
	wk_cur_init(&c, p, len);
	if (wk_cur_be32(&c, &t->old_balance) != 0 ||
	    wk_cur_be16(&c, &t->card_seq) != 0 ||
	    wk_cur_u8(&c, &t->key_version) != 0 || wk_cur_u8(&c, &t->alg) != 0 ||
	    wk_cur_copy(&c, t->random, sizeof(t->random)) != 0 ||
	    wk_cur_copy(&c, t->mac1, sizeof(t->mac1)) != 0)
		return WK_ERR_CARD_MALFORMED;
	return WK_OK;
}

int
wk_purse_pin_bcd(const char *pin, size_t len, uint8_t out[6], size_t *out_len)
{
	size_t k;
	uint8_t d;

	if (pin == NULL || out == NULL || out_len == NULL || len < 4 || len > 12)
		return WK_ERR_ARG;
	memset(out, 0xFF, 6);
	for (k = 0; k < len; k++) {
		if (pin[k] < '0' || pin[k] > '9') {
			sodium_memzero(out, 6);
			return WK_ERR_ARG;
		}
		d = (uint8_t)(pin[k] - '0');
		if (k % 2 == 0)
			out[k / 2] = (uint8_t)((d << 4) | 0x0F);
		else
			out[k / 2] = (uint8_t)((out[k / 2] & 0xF0) | d);
	}
	*out_len = (len + 1) / 2;
	return WK_OK;
}

/* ---- simple commands ---- */

int
wk_purse_read_app(wk_card *card, wk_purse_app *app)
{
	uint8_t buf[64];
	size_t len = 0;
	int rc;

	if (card == NULL || app == NULL)
		return WK_ERR_ARG;
	if ((rc = cmd(card, 0x00, INS_READ_BINARY, 0x80 | SFI_APP, 0x00, NULL, 0,
	    WK_PURSE_APP_LEN, buf, sizeof(buf), &len, NULL)) != WK_OK)
		return rc;
	return wk_purse_parse_app(buf, len, app);
}

int
wk_purse_read_holder(wk_card *card, wk_purse_holder *holder)
{
	uint8_t buf[256];
	size_t len = 0;
	int rc;

	if (card == NULL || holder == NULL)
		return WK_ERR_ARG;
	/* Le 00: the card answers its file's length (39 or 55) */
	if ((rc = cmd(card, 0x00, INS_READ_BINARY, 0x80 | SFI_HOLDER, 0x00, NULL,
	    0, 256, buf, sizeof(buf), &len, NULL)) != WK_OK)
		return rc;
	return wk_purse_parse_holder(buf, len, holder);
}

int
wk_purse_select(wk_card *card, const uint8_t *aid, size_t aid_len,
    wk_purse_app *app)
{
	uint8_t buf[258];
	uint16_t sw = 0;
	int rc;

	if (card == NULL || (aid != NULL && (aid_len < 5 || aid_len > 16)))
		return WK_ERR_ARG;
	if ((rc = wk_card_begin(card)) != WK_OK)
		return rc;
	/* the PSE is optional: a card without it answers 6A82 */
	rc = cmd(card, 0x00, INS_SELECT, 0x04, 0x00, pse_name, sizeof(pse_name),
	    256, buf, sizeof(buf), NULL, NULL);
	if (rc != WK_OK && rc != WK_ERR_NOT_FOUND && rc != WK_ERR_NOT_SUPPORTED &&
	    rc != WK_ERR_SW && rc != WK_ERR_BAD_PARAMS)
		goto out;
	if (aid != NULL)
		rc = cmd(card, 0x00, INS_SELECT, 0x04, 0x00, aid, aid_len, 256,
		    buf, sizeof(buf), NULL, &sw);
	else
		rc = cmd(card, 0x00, INS_SELECT, 0x00, 0x00, adf_fid,
		    sizeof(adf_fid), 256, buf, sizeof(buf), NULL, &sw);
	/* FMCOS 8.3: a blocked application is selected and answers 6A81 */
	if (rc != WK_OK && sw == 0x6A81)
		rc = WK_ERR_PURSE_BLOCKED;
	if (rc != WK_OK)
		goto out;
	if (app != NULL)
		rc = wk_purse_read_app(card, app);
out:
	(void)wk_card_end(card);
	return rc;
}

static int
verify_pin(wk_card *card, const char *pin, size_t pin_len, int *tries_left)
{
	uint8_t bcd[6];
	size_t n = 0;
	uint16_t sw = 0;
	int rc;

	if ((rc = wk_purse_pin_bcd(pin, pin_len, bcd, &n)) != WK_OK)
		goto out;
	rc = cmd(card, 0x00, INS_VERIFY, 0x00, 0x00, bcd, n, 0, NULL, 0, NULL,
	    &sw);
	if (rc == WK_ERR_WRONG_PIN && tries_left != NULL)
		*tries_left = sw & 0x0F;
out:
	sodium_memzero(bcd, sizeof(bcd));
	return rc;
}

int
wk_purse_verify_pin(wk_card *card, const char *pin, size_t pin_len,
    int *tries_left)
{
	if (card == NULL || pin == NULL)
		return WK_ERR_ARG;
	return verify_pin(card, pin, pin_len, tries_left);
}

static int
kind_ok(wk_purse_kind kind)
{
	return kind == WK_PURSE_ED || kind == WK_PURSE_EP;
}

int
wk_purse_balance(wk_card *card, wk_purse_kind kind, uint32_t *balance)
{
	uint8_t buf[8];
	size_t len = 0;
	wk_cur c;
	int rc;

	if (card == NULL || balance == NULL || !kind_ok(kind))
		return WK_ERR_ARG;
	if ((rc = cmd(card, CLA_PURSE, INS_BALANCE, 0x00, (uint8_t)kind, NULL, 0,
	    4, buf, sizeof(buf), &len, NULL)) != WK_OK)
		return rc;
	wk_cur_init(&c, buf, len);
	if (len != 4 || wk_cur_be32(&c, balance) != 0)
		return WK_ERR_CARD_MALFORMED;
	return WK_OK;
}

int
wk_purse_records(wk_card *card, wk_purse_record *out, size_t cap, size_t *n)
{
	uint8_t buf[64];
	size_t len, i;
	bool empty;
	int rc = WK_ERR_ARG;

	if (card == NULL || (out == NULL && cap > 0) || n == NULL)
		return WK_ERR_ARG;
	*n = 0;
	if ((rc = wk_card_begin(card)) != WK_OK)
		return rc;
	/* bounded: at most cap and WK_PURSE_RECORDS_MAX records */
	for (i = 1; i <= WK_PURSE_RECORDS_MAX && *n < cap; i++) {
		len = 0;
		rc = cmd(card, 0x00, INS_READ_RECORD, (uint8_t)i,
		    (uint8_t)((SFI_LOG << 3) | 4), NULL, 0, WK_PURSE_RECORD_LEN,
		    buf, sizeof(buf), &len, NULL);
		if (rc == WK_ERR_NOT_FOUND) {	/* 6A83: past the last record */
			rc = WK_OK;
			break;
		}
		if (rc != WK_OK)
			goto out;
		if ((rc = wk_purse_parse_record(buf, len, &out[*n], &empty)) != WK_OK)
			goto out;
		if (!empty)
			(*n)++;
	}
	rc = WK_OK;
out:
	(void)wk_card_end(card);
	return rc;
}

int
wk_purse_prove(wk_card *card, uint8_t type, uint16_t seq, uint8_t mac[4],
    uint8_t tac[4])
{
	uint8_t data[2] = { (uint8_t)(seq >> 8), (uint8_t)seq }, buf[16];
	size_t len = 0;
	int rc;

	if (card == NULL || mac == NULL || tac == NULL)
		return WK_ERR_ARG;
	if ((rc = cmd(card, CLA_PURSE, INS_PROVE, 0x00, type, data, sizeof(data),
	    8, buf, sizeof(buf), &len, NULL)) != WK_OK)
		goto out;
	rc = WK_ERR_CARD_MALFORMED;
	if (len != 8)
		goto out;
	memcpy(mac, buf, 4);
	memcpy(tac, buf + 4, 4);
	rc = WK_OK;
out:
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* ---- transactions ---- */

static uint8_t
bcd2(int v)
{
	return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

static void
now_bcd(uint8_t date[4], uint8_t tim[3])
{
	time_t t = time(NULL);
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	(void)localtime_r(&t, &tm);
	date[0] = bcd2((tm.tm_year + 1900) / 100);
	date[1] = bcd2((tm.tm_year + 1900) % 100);
	date[2] = bcd2(tm.tm_mon + 1);
	date[3] = bcd2(tm.tm_mday);
	tim[0] = bcd2(tm.tm_hour);
	tim[1] = bcd2(tm.tm_min);
	tim[2] = bcd2(tm.tm_sec);
}

static void
init_data(uint8_t d[11], const wk_purse_txn *t)
{
	d[0] = t->key_index;
	d[1] = (uint8_t)(t->amount >> 24);
	d[2] = (uint8_t)(t->amount >> 16);
	d[3] = (uint8_t)(t->amount >> 8);
	d[4] = (uint8_t)t->amount;
	memcpy(d + 5, t->terminal, 6);
}

static int
txn_start(wk_sam *sam, const wk_purse_app *app, wk_purse_kind kind,
    uint32_t amount, bool load, wk_purse_txn *txn)
{
	if (sam == NULL || app == NULL || txn == NULL || !kind_ok(kind) ||
	    amount == 0)
		return WK_ERR_ARG;
	memset(txn, 0, sizeof(*txn));
	if (load)
		txn->type = kind == WK_PURSE_EP ? WK_PURSE_TT_EP_LOAD :
		    WK_PURSE_TT_ED_LOAD;
	else
		txn->type = kind == WK_PURSE_EP ? WK_PURSE_TT_EP_PURCHASE :
		    WK_PURSE_TT_ED_PURCHASE;
	txn->key_index = wk_sam_key_index(sam);
	txn->amount = amount;
	memcpy(txn->serial, app->serial, sizeof(txn->serial));
	wk_sam_terminal(sam, txn->terminal);
	now_bcd(txn->date, txn->time);
	return WK_OK;
}

/* what differs between a load and a purchase (PBOC 3.0 part 2, 4.1 and
 * 4.2): the INITIALIZE FOR LOAD / PURCHASE answer, the terminal's MAC (MAC2
 * from the issuer's SAM for a load, MAC1 from the terminal's for a
 * purchase), the CREDIT / DEBIT command (DEBIT also carries the terminal
 * sequence number) and its answer (CREDIT: TAC; DEBIT: TAC and MAC2) */
typedef struct txn_shape {
	bool load;
	uint8_t init_p1;
	size_t init_len;
	int (*parse_init)(const uint8_t *buf, size_t len, wk_purse_txn *txn);
	int (*terminal_mac)(wk_sam *sam, wk_purse_txn *txn);
	size_t mac_off;			/* the MAC sent: mac2 or mac1 */
	uint8_t ins, p1;
	bool term_seq;			/* the command starts with it */
	size_t answer_len;		/* 4: TAC; 8: TAC and MAC2 */
} txn_shape;

static const txn_shape load_shape = { true, P1_INIT_LOAD,
	WK_PURSE_INIT_LOAD_LEN, wk_purse_parse_init_load, wk_sam_load_mac2,
	offsetof(wk_purse_txn, mac2), INS_CREDIT, 0x00, false, 4 };
static const txn_shape purchase_shape = { false, P1_INIT_PURCHASE,
	WK_PURSE_INIT_PURCHASE_LEN, wk_purse_parse_init_purchase,
	wk_sam_purchase_mac1, offsetof(wk_purse_txn, mac1), INS_DEBIT, 0x01,
	true, 8 };

/* INITIALIZE, the terminal's MAC, CREDIT or DEBIT, the SAM's check */
static int
txn_run(wk_card *card, wk_sam *sam, const wk_purse_app *app,
    wk_purse_kind kind, uint32_t amount, const char *pin, size_t pin_len,
    wk_purse_txn *txn, const txn_shape *sh)
{
	uint8_t d[16], buf[32];
	size_t len = 0, n = 0;
	bool begun = false;
	int rc;

	if (card == NULL || (rc = txn_start(sam, app, kind, amount, sh->load,
	    txn)) != WK_OK)
		return card == NULL ? WK_ERR_ARG : rc;
	if ((rc = wk_card_begin(card)) != WK_OK)
		goto out;
	begun = true;
	if (pin != NULL && (rc = verify_pin(card, pin, pin_len, NULL)) != WK_OK)
		goto out;
	init_data(d, txn);
	if ((rc = cmd(card, CLA_PURSE, INS_INIT, sh->init_p1, (uint8_t)kind, d,
	    11, sh->init_len, buf, sizeof(buf), &len, NULL)) != WK_OK)
		goto out;
	if ((rc = sh->parse_init(buf, len, txn)) != WK_OK)
		goto out;
	if ((rc = sh->terminal_mac(sam, txn)) != WK_OK)
		goto out;
	if (sh->term_seq) {
		memcpy(d, txn->term_seq, 4);
		n = 4;
	}
	memcpy(d + n, txn->date, 4);
	memcpy(d + n + 4, txn->time, 3);
	memcpy(d + n + 7, (const uint8_t *)txn + sh->mac_off, 4);
	txn->state = WK_PURSE_TXN_SENT;
	len = 0;
	rc = cmd(card, CLA_PURSE, sh->ins, sh->p1, 0x00, d, n + 11,
	    sh->answer_len, buf, sizeof(buf), &len, NULL);
	if (rc != WK_OK) {
		/* a status word: the card refused and changed nothing */
		if (rc != WK_ERR_TRANSPORT && rc != WK_ERR_CARD_REMOVED &&
		    rc != WK_ERR_PCSC && rc != WK_ERR_NO_CARD &&
		    rc != WK_ERR_NO_READER && rc != WK_ERR_CARD_MALFORMED)
			txn->state = WK_PURSE_TXN_NOT_DONE;
		goto out;
	}
	if (len != sh->answer_len) {
		rc = WK_ERR_CARD_MALFORMED;
		goto out;
	}
	memcpy(txn->tac, buf, 4);
	if (sh->answer_len == 8)
		memcpy(txn->mac2, buf + 4, 4);
	if ((rc = wk_sam_check(sam, txn, sh->answer_len == 8 ? txn->mac2 :
	    NULL, txn->tac)) != WK_OK)
		goto out;
	txn->state = WK_PURSE_TXN_DONE;
out:
	if (begun)
		(void)wk_card_end(card);
	sodium_memzero(d, sizeof(d));
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

int
wk_purse_purchase(wk_card *card, wk_sam *sam, const wk_purse_app *app,
    wk_purse_kind kind, uint32_t amount, const char *pin, size_t pin_len,
    wk_purse_txn *txn)
{
	return txn_run(card, sam, app, kind, amount, pin, pin_len, txn,
	    &purchase_shape);
}

int
wk_purse_load(wk_card *card, wk_sam *sam, const wk_purse_app *app,
    wk_purse_kind kind, uint32_t amount, const char *pin, size_t pin_len,
    wk_purse_txn *txn)
{
	return txn_run(card, sam, app, kind, amount, pin, pin_len, txn,
	    &load_shape);
}

int
wk_purse_recover(wk_card *card, wk_sam *sam, wk_purse_txn *txn)
{
	uint8_t mac[4], tac[4];
	uint16_t seqs[2];
	size_t k;
	bool purchase;
	int rc = WK_ERR_ARG;

	if (card == NULL || sam == NULL || txn == NULL)
		goto out;
	purchase = txn->type == WK_PURSE_TT_ED_PURCHASE ||
	    txn->type == WK_PURSE_TT_EP_PURCHASE;
	if ((rc = wk_card_begin(card)) != WK_OK)
		goto out;
	if ((rc = wk_purse_select(card, NULL, 0, NULL)) != WK_OK)
		goto end;
	/* pboc-purse.md U1: cards differ on N+1 or N; the TAC tells them apart */
	seqs[0] = (uint16_t)(txn->card_seq + 1);
	seqs[1] = txn->card_seq;
	for (k = 0; k < 2; k++) {
		rc = wk_purse_prove(card, txn->type, seqs[k], mac, tac);
		if (rc == WK_ERR_NOT_FOUND || rc == WK_ERR_BAD_DATA ||
		    rc == WK_ERR_BAD_PARAMS)
			continue;	/* 9406: no proof for this number */
		if (rc != WK_OK)
			goto end;
		rc = wk_sam_check(sam, txn, mac, tac);
		if (rc == WK_OK) {
			memcpy(txn->tac, tac, 4);
			if (purchase)
				memcpy(txn->mac2, mac, 4);
			txn->state = WK_PURSE_TXN_DONE;
			goto end;
		}
		/* a SAM that could not check (a PSAM gone) proves nothing
		 * either way: the outcome stays unknown */
		if (rc != WK_ERR_AUTH_FAILED)
			goto end;
	}
	txn->state = WK_PURSE_TXN_NOT_DONE;
	rc = WK_OK;
end:
	(void)wk_card_end(card);
out:
	sodium_memzero(mac, sizeof(mac));
	sodium_memzero(tac, sizeof(tac));
	return rc;
}

/* ---- amounts ---- */

int
wk_purse_amount_parse(const char *s, uint32_t *fen)
{
	uint64_t v = 0;
	size_t k = 0, decimals = 0;
	bool dot = false, digit = false;

	if (s == NULL || fen == NULL)
		return WK_ERR_ARG;
	for (k = 0; s[k] != '\0'; k++) {
		if (s[k] == '.') {
			if (dot || !digit)
				return WK_ERR_ARG;
			dot = true;
			continue;
		}
		if (s[k] < '0' || s[k] > '9' || k > 24)
			return WK_ERR_ARG;
		if (dot && ++decimals > 2)
			return WK_ERR_ARG;
		digit = true;
		v = v * 10 + (uint64_t)(s[k] - '0');
		if (v > UINT32_MAX)
			return WK_ERR_ARG;
	}
	if (!digit || (dot && decimals == 0))
		return WK_ERR_ARG;
	for (; decimals < 2; decimals++)
		v *= 10;
	if (v == 0 || v > UINT32_MAX)
		return WK_ERR_ARG;
	*fen = (uint32_t)v;
	return WK_OK;
}

void
wk_purse_amount_format(uint32_t fen, char *out, size_t cap)
{
	if (out == NULL || cap == 0)
		return;
	snprintf(out, cap, "%" PRIu32 ".%02" PRIu32, fen / 100, fen % 100);
}
