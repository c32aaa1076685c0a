/*
 * online payments on the card (vcard/applets/purse_pay.c) through the
 * card runtime, with an in-process issuer (a CA key): the signed
 * confirmation and its fields, the audit record in the same commit, the
 * PIN used up, the same answer for the same request and never the other
 * one, every flipped byte of a request, another card's or account's
 * request, another signer, expiry, a full log, the OCRA variant with its
 * sealed key, bad parameters; every refusal leaves the store as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include "perso_fixture.h"
#include "applets/audit_log.h"
#include "applets/purse.h"
#include "vc_card.h"
#include "vc_perso.h"
#include "vc_store.h"
#include "wk_apdu.h"
#include "wk_arec.h"
#include "wk_hex.h"
#include "wk_msg.h"
#include "wk_payment.h"

extern const vc_applet vc_applet_piv;
extern const vc_applet vc_applet_purse;
extern const vc_applet vc_applet_audit;

static const vc_applet *const applets[] = { &vc_applet_piv, &vc_applet_purse,
    &vc_applet_audit };

#define PAN "6222000000000001"
#define MGM_DEFAULT "010203040506070801020304050607080102030405060708"

typedef struct tcard {
	char dir[64];
	char path[128];
	char perso[128];
	vc_store *st;
	vc_card *card;
	uint8_t r[4096];
	size_t rlen;
	EVP_PKEY *card_pub;
	EVP_PKEY *ca;
	uint8_t keys[WK_PURSE_KEY_N][16];
} tcard;

static uint16_t
txb(tcard *t, const uint8_t *apdu, size_t n)
{
	size_t len = 0;

	assert_int_equal(vc_card_apdu(t->card, apdu, n, t->r, sizeof(t->r), &len),
	    VC_CARD_OK);
	assert_true(len >= 2);
	t->rlen = len - 2;
	return (uint16_t)((t->r[len - 2] << 8) | t->r[len - 1]);
}

static uint16_t
txh(tcard *t, const char *hex)
{
	uint8_t apdu[512];
	long n = wk_hex_decode(hex, apdu, sizeof(apdu));

	assert_true(n > 0);
	return txb(t, apdu, (size_t)n);
}

/* 80 INS P1 P2 with data and Le 00: short, or extended above 255 bytes */
static uint16_t
cmd(tcard *t, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
    size_t lc)
{
	wk_apdu a = { .cla = 0x80, .ins = ins, .p1 = p1, .p2 = p2, .data = data,
	    .lc = lc, .has_le = true, .le = lc > 255 ? 65536 : 256 };
	uint8_t apdu[WK_MSG_MAX + 16];
	wk_buf b;

	assert_true(lc <= WK_MSG_MAX);
	wk_buf_init_fixed(&b, apdu, sizeof(apdu));
	assert_int_equal(wk_apdu_encode(&a, false, &b), WK_APDU_OK);
	return txb(t, apdu, b.len);
}

static void
des3(const uint8_t *key, const uint8_t *in, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;

	assert_int_equal(EVP_CipherInit_ex(c, EVP_des_ede3_ecb(), NULL, key, NULL,
	    0), 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	assert_int_equal(EVP_CipherUpdate(c, out, &n, in, 8), 1);
	EVP_CIPHER_CTX_free(c);
}

static void
select_piv(tcard *t)
{
	assert_int_equal(txh(t, "00A4040009A00000030800001000"), 0x9000);
}

static void
select_purse(tcard *t)
{
	assert_int_equal(txh(t, "00A4040008F0574B5055525345"), 0x9000);
}

static void
mgm_auth(tcard *t)
{
	uint8_t key[24], w[8];
	char hex[128], wh[17];

	assert_int_equal(wk_hex_decode(MGM_DEFAULT, key, sizeof(key)), 24);
	assert_int_equal(txh(t, "0087039B047C028000"), 0x9000);
	des3(key, t->r + 4, w);
	wk_hex_encode(w, 8, wh);
	snprintf(hex, sizeof(hex), "0087039B167C148008%s81085A5A5A5A5A5A5A5A", wh);
	assert_int_equal(txh(t, hex), 0x9000);
}

/* the wallet key in slot 82, WALLET SETUP with the CA's point and PAN,
 * then the issuer's purse keys */
static void
enrol(tcard *t)
{
	uint8_t data[100], keys[WK_MSG_PERSO_KEYS_MAX], buf[WK_MSG_MAX];
	size_t n;
	wk_msg m = { 0 };
	wk_buf b;

	select_piv(t);
	mgm_auth(t);
	assert_int_equal(txh(t, "0047008205AC0380011100"), 0x9000);
	t->card_pub = pub_from_point(t->r + 5);
	n = wallet_setup_data(t->ca, PAN, data, 0);
	assert_int_equal(cmd(t, 0xE8, 0, 0, data, n), 0x9000);
	/* id, algorithm (3DES), key: WK_MSG_PERSO_ENTRY_LEN each */
	for (size_t i = 0; i < WK_PURSE_KEY_N; i++) {
		uint8_t *en = keys + WK_MSG_PERSO_ENTRY_LEN * i;

		en[0] = (uint8_t)i;
		en[1] = WK_PURSE_ALG_3DES;
		memcpy(en + 2, t->keys[i], 16);
	}
	m.type = WK_MSG_PERSO;
	memcpy(m.card_id, vc_card_serial(t->card), 8);
	m.key_version = 1;
	assert_int_equal(wk_msg_seal_keys(t->card_pub, &m, keys,
	    WK_MSG_PERSO_ENTRY_LEN * WK_PURSE_KEY_N), WK_MSG_OK);
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	assert_int_equal(wk_msg_sign(&m, t->ca, &b), WK_MSG_OK);
	select_purse(t);
	assert_int_equal(cmd(t, 0xE6, 0, 0, b.p, b.len), 0x9000);
}

static tcard *
tcard_new(int audit_cap)
{
	tcard *t = calloc(1, sizeof(*t));
	vc_card_opts o = { .init = true, .applets = applets, .n_applets = 3 };

	assert_non_null(t);
	card_scratch_new("wk-pay", t->dir, t->path);
	if (audit_cap > 0) {
		/* the demo profile with a small audit log */
		snprintf(t->perso, sizeof(t->perso), "%s/perso.json", t->dir);
		write_demo_profile(t->perso, audit_cap);
		o.perso_path = t->perso;
	}
	card_and_issuer_new(t->path, &o, &t->st, &t->card, &t->ca, t->keys,
	    sizeof(t->keys));
	enrol(t);
	return t;
}

static int
setup(void **state)
{
	*state = tcard_new(0);
	return 0;
}

static int
setup_small_log(void **state)
{
	*state = tcard_new(10);
	return 0;
}

static int
teardown(void **state)
{
	tcard *t = *state;
	char p[200];

	card_and_issuer_free(&t->st, &t->card, &t->card_pub, &t->ca);
	snprintf(p, sizeof(p), "rm -rf '%s'", t->dir);
	assert_int_equal(system(p), 0);
	free(t);
	return 0;
}

static void
verify_pin(tcard *t)
{
	assert_int_equal(txh(t, "0020000003123456"), 0x9000);
}

/* the issuer's request for this card (id random), signed by key */
static void
request_with(tcard *t, EVP_PKEY *key, wk_msg *q, wk_buf *b)
{
	memset(q, 0, sizeof(*q));
	q->type = WK_MSG_PAY_REQUEST;
	memcpy(q->card_id, vc_card_serial(t->card), 8);
	randombytes_buf(q->load_id, sizeof(q->load_id));
	strcpy(q->pan, PAN);
	memcpy(q->terminal_id, "\x00\x00\x00\x00\x12\x34", 6);
	strcpy(q->payee_name, "Book shop");
	strcpy(q->order_id, "ORDER-1");
	strcpy(q->description, "two books");
	q->amount = 12345;
	strcpy(q->currency, "CNY");
	q->expiry = (uint64_t)time(NULL) + 300;
	assert_int_equal(wk_msg_sign(q, key, b), WK_MSG_OK);
}

static void
request(tcard *t, wk_msg *q, wk_buf *b)
{
	request_with(t, t->ca, q, b);
}

static uint64_t
head(tcard *t)
{
	audit_state s;

	assert_int_equal(audit_log_state(t->card, &s), AUDIT_LOG_OK);
	return s.head_seq;
}

static void
last_record(tcard *t, wk_arec *r)
{
	uint8_t raw[WK_AREC_LEN * 2];
	wk_buf b;
	unsigned n = 0;
	uint64_t first = 0;

	wk_buf_init_fixed(&b, raw, sizeof(raw));
	assert_int_equal(audit_log_read(t->card, head(t), 1, &b, &n, &first),
	    AUDIT_LOG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(wk_arec_decode(raw, WK_AREC_LEN, r), WK_AREC_OK);
}

static void
digest_of(tcard *t, uint8_t d[32])
{
	vc_store_digest(t->st, d);
}

static void
test_accept(void **state)
{
	tcard *t = *state;
	uint8_t buf[WK_MSG_MAX], first[WK_MSG_MAX], dig[32];
	size_t first_len;
	wk_buf b;
	wk_msg q, c;
	wk_arec r;
	uint64_t h = head(t);

	wk_buf_init_fixed(&b, buf, sizeof(buf));
	request(t, &q, &b);
	/* no PIN: refused, nothing written */
	assert_int_equal(cmd(t, 0xE7, 0x01, 0x00, b.p, b.len), 0x6982);
	assert_int_equal(head(t), h);
	verify_pin(t);
	assert_int_equal(cmd(t, 0xE7, 0x01, 0x00, b.p, b.len), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &c), WK_MSG_OK);
	assert_int_equal(c.type, WK_MSG_PAY_CONFIRM);
	assert_memory_equal(c.card_id, q.card_id, 8);
	assert_memory_equal(c.load_id, q.load_id, 16);
	assert_string_equal(c.pan, PAN);
	assert_memory_equal(c.terminal_id, q.terminal_id, 6);
	wk_payment_order_digest(&q, dig);
	assert_memory_equal(c.digest, dig, 32);
	assert_int_equal(c.amount, 12345);
	assert_string_equal(c.currency, "CNY");
	assert_true(c.expiry == q.expiry);
	assert_int_equal(c.decision, WK_MSG_ACCEPTED);
	assert_int_equal(c.counter, 1);
	memcpy(first, t->r, t->rlen);
	first_len = t->rlen;
	/* the record, in the same commit */
	assert_true(head(t) == h + 1);
	last_record(t, &r);
	assert_int_equal(r.type, WK_AREC_PAYMENT);
	assert_int_equal(r.amount, 12345);
	assert_int_equal(r.counter, 1);
	assert_int_equal(r.src[0], WK_AREC_ACCT_ACCOUNT);
	assert_memory_equal(r.src + 1, "\x00\x00\x62\x22\x00\x00\x00\x00\x00\x01",
	    10);
	assert_int_equal(r.dst[0], WK_AREC_ACCT_TERMINAL);
	assert_memory_equal(r.term_id, q.terminal_id, 6);
	/* the same request again: the same answer, no PIN, no record */
	assert_int_equal(cmd(t, 0xE7, 0x01, 0x00, b.p, b.len), 0x9000);
	assert_int_equal(t->rlen, first_len);
	assert_memory_equal(t->r, first, first_len);
	assert_int_equal(cmd(t, 0xE7, 0x02, 0x00, b.p, b.len), 0x9000);
	assert_memory_equal(t->r, first, first_len);
	assert_true(head(t) == h + 1);
	/* never the other decision, nor the other form */
	verify_pin(t);
	digest_of(t, dig);
	assert_int_equal(cmd(t, 0xE7, 0x00, 0x00, b.p, b.len), 0x6985);
	assert_int_equal(cmd(t, 0xE7, 0x01, 0x01, b.p, b.len), 0x6985);
	{
		uint8_t now[32];

		digest_of(t, now);
		assert_memory_equal(now, dig, 32);
	}
	/* the verification is still there (nothing was signed): one use */
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	request(t, &q, &b);
	assert_int_equal(cmd(t, 0xE7, 0x01, 0x00, b.p, b.len), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &c), WK_MSG_OK);
	assert_int_equal(c.counter, 2);
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	request(t, &q, &b);
	assert_int_equal(cmd(t, 0xE7, 0x01, 0x00, b.p, b.len), 0x6982);
	/* a request it never answered: nothing to give */
	assert_int_equal(cmd(t, 0xE7, 0x02, 0x00, b.p, b.len), 0x6A88);
}

static void
test_decline(void **state)
{
	tcard *t = *state;
	uint8_t buf[WK_MSG_MAX];
	wk_buf b;
	wk_msg q, c;
	wk_arec r;

	wk_buf_init_fixed(&b, buf, sizeof(buf));
	request(t, &q, &b);
	assert_int_equal(cmd(t, 0xE7, 0x00, 0x00, b.p, b.len), 0x6982);
	verify_pin(t);
	assert_int_equal(cmd(t, 0xE7, 0x00, 0x00, b.p, b.len), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &c), WK_MSG_OK);
	assert_int_equal(c.decision, WK_MSG_DECLINED);
	last_record(t, &r);
	assert_int_equal(r.type, WK_AREC_PAYMENT_DECLINED);
	assert_int_equal(r.amount, 12345);
	/* declined stays declined */
	verify_pin(t);
	assert_int_equal(cmd(t, 0xE7, 0x01, 0x00, b.p, b.len), 0x6985);
	assert_int_equal(cmd(t, 0xE7, 0x00, 0x00, b.p, b.len), 0x9000);
}

/* a refusal changes nothing at all in the store */
static void
refused(tcard *t, const uint8_t *data, size_t len, uint8_t p1, uint8_t p2,
    uint16_t want1, uint16_t want2)
{
	uint8_t before[32], after[32];
	uint16_t sw;

	digest_of(t, before);
	sw = cmd(t, 0xE7, p1, p2, data, len);
	if (sw != want1 && sw != want2)
		fail_msg("SW %04X, want %04X or %04X", sw, want1, want2);
	digest_of(t, after);
	assert_memory_equal(before, after, 32);
}

static void
test_flipped_requests(void **state)
{
	tcard *t = *state;
	uint8_t buf[WK_MSG_MAX];
	wk_buf b;
	wk_msg q;

	wk_buf_init_fixed(&b, buf, sizeof(buf));
	request(t, &q, &b);
	verify_pin(t);
	for (size_t i = 0; i < b.len; i++) {
		buf[i] ^= 0x01;
		refused(t, buf, b.len, 0x01, 0x00, 0x6A80, 0x6988);
		buf[i] ^= 0x80;
		refused(t, buf, b.len, 0x01, 0x00, 0x6A80, 0x6988);
		buf[i] ^= 0x81;
	}
	/* truncated, and one byte too many */
	refused(t, buf, b.len - 1, 0x01, 0x00, 0x6A80, 0x6A80);
	buf[b.len] = 0;
	refused(t, buf, b.len + 1, 0x01, 0x00, 0x6A80, 0x6A80);
	/* the original still goes through: the PIN was not used up */
	assert_int_equal(cmd(t, 0xE7, 0x01, 0x00, b.p, b.len), 0x9000);
}

static void
test_wrong_requests(void **state)
{
	tcard *t = *state;
	uint8_t buf[WK_MSG_MAX];
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	wk_buf b;
	wk_msg q;

	verify_pin(t);
	/* signed by someone other than the issuer */
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	request_with(t, other, &q, &b);
	refused(t, b.p, b.len, 0x01, 0x00, 0x6988, 0x6988);
	/* for another card, or another account, by the issuer */
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	request(t, &q, &b);
	q.card_id[7] ^= 1;
	wk_buf_reset(&b);
	assert_int_equal(wk_msg_sign(&q, t->ca, &b), WK_MSG_OK);
	refused(t, b.p, b.len, 0x01, 0x00, 0x6A80, 0x6A80);
	q.card_id[7] ^= 1;
	strcpy(q.pan, "6222000000000002");
	wk_buf_reset(&b);
	assert_int_equal(wk_msg_sign(&q, t->ca, &b), WK_MSG_OK);
	refused(t, b.p, b.len, 0x01, 0x00, 0x6A80, 0x6A80);
	/* expired by the card's clock */
	strcpy(q.pan, PAN);
	q.expiry = (uint64_t)time(NULL) - 1;
	wk_buf_reset(&b);
	assert_int_equal(wk_msg_sign(&q, t->ca, &b), WK_MSG_OK);
	refused(t, b.p, b.len, 0x01, 0x00, 0x6985, 0x6985);
	/* another message type signed by the issuer */
	q.type = WK_MSG_PAY_CONFIRM;
	q.decision = WK_MSG_ACCEPTED;
	q.expiry = (uint64_t)time(NULL) + 60;
	wk_buf_reset(&b);
	assert_int_equal(wk_msg_sign(&q, t->ca, &b), WK_MSG_OK);
	refused(t, b.p, b.len, 0x01, 0x00, 0x6A80, 0x6A80);
	/* parameters, length, class */
	wk_buf_reset(&b);
	request(t, &q, &b);
	refused(t, b.p, b.len, 0x03, 0x00, 0x6A86, 0x6A86);
	refused(t, b.p, b.len, 0x01, 0x02, 0x6A86, 0x6A86);
	refused(t, b.p, b.len, 0x00, 0x01, 0x6A86, 0x6A86);
	refused(t, b.p, 0, 0x01, 0x00, 0x6700, 0x6700);
	assert_int_equal(txh(t, "00E7010000"), 0x6D00);
	EVP_PKEY_free(other);
}

static void
test_not_enrolled(void **state)
{
	tcard *t = *state;
	uint8_t buf[WK_MSG_MAX];
	wk_buf b;
	wk_msg q;

	wk_buf_init_fixed(&b, buf, sizeof(buf));
	request(t, &q, &b);
	/* WALLET SETUP with no data forgets the wallet */
	select_piv(t);
	mgm_auth(t);
	assert_int_equal(cmd(t, 0xE8, 0, 0, NULL, 0), 0x9000);
	select_purse(t);
	verify_pin(t);
	refused(t, b.p, b.len, 0x01, 0x00, 0x6985, 0x6985);
}

static void
test_log_full(void **state)
{
	tcard *t = *state;
	uint8_t buf[WK_MSG_MAX];
	wk_buf b;
	wk_msg q;
	wk_arec r;

	memset(&r, 0, sizeof(r));
	r.type = WK_AREC_EP_PURCHASE;
	while (head(t) < 10) {
		assert_int_equal(vc_store_begin(t->st), VC_STORE_OK);
		assert_int_equal(audit_log_append(t->card, &r), AUDIT_LOG_OK);
		assert_int_equal(vc_store_commit(t->st), VC_STORE_OK);
	}
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	request(t, &q, &b);
	verify_pin(t);
	refused(t, b.p, b.len, 0x01, 0x00, 0x6A84, 0x6A84);
}

/* the card keeps the newest answers; an old one is gone after 64 more */
static void
test_answers_kept(void **state)
{
	tcard *t = *state;
	uint8_t buf[WK_MSG_MAX], firstreq[WK_MSG_MAX], lastreq[WK_MSG_MAX];
	size_t firstlen = 0, lastlen = 0;
	wk_buf b;
	wk_msg q;

	for (int i = 0; i < 65; i++) {
		wk_buf_init_fixed(&b, buf, sizeof(buf));
		request(t, &q, &b);
		verify_pin(t);
		assert_int_equal(cmd(t, 0xE7, 0x01, 0x00, b.p, b.len), 0x9000);
		if (i == 0) {
			memcpy(firstreq, b.p, b.len);
			firstlen = b.len;
		}
		if (i == 1) {
			memcpy(lastreq, b.p, b.len);
			lastlen = b.len;
		}
	}
	assert_int_equal(cmd(t, 0xE7, 0x02, 0x00, firstreq, firstlen), 0x6A88);
	assert_int_equal(cmd(t, 0xE7, 0x02, 0x00, lastreq, lastlen), 0x9000);
}

static void
ocra_key_msg(tcard *t, const uint8_t key[32], wk_buf *b)
{
	wk_msg m = { 0 };

	m.type = WK_MSG_OCRA_KEY;
	memcpy(m.card_id, vc_card_serial(t->card), 8);
	m.key_version = 1;
	assert_int_equal(wk_msg_seal_keys(t->card_pub, &m, key, 32), WK_MSG_OK);
	assert_int_equal(wk_msg_sign(&m, t->ca, b), WK_MSG_OK);
}

static void
test_ocra(void **state)
{
	tcard *t = *state;
	uint8_t buf[WK_MSG_MAX], kbuf[WK_MSG_MAX], key[32];
	char want[9];
	wk_buf b, kb;
	wk_msg q;
	uint64_t tstep;

	randombytes_buf(key, sizeof(key));
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	request(t, &q, &b);
	verify_pin(t);
	/* no OCRA key yet */
	refused(t, b.p, b.len, 0x01, 0x01, 0x6A88, 0x6A88);
	/* the key, sealed to the card: every flipped byte refused */
	wk_buf_init_fixed(&kb, kbuf, sizeof(kbuf));
	ocra_key_msg(t, key, &kb);
	for (size_t i = 0; i < kb.len; i++) {
		uint16_t sw;

		kbuf[i] ^= 0x04;
		sw = cmd(t, 0xE6, 0, 0, kb.p, kb.len);
		assert_true(sw == 0x6982 || sw == 0x6A80);
		kbuf[i] ^= 0x04;
	}
	assert_int_equal(cmd(t, 0xE6, 0, 0, kb.p, kb.len), 0x9000);
	/* the response: T (minutes) and 8 digits */
	assert_int_equal(cmd(t, 0xE7, 0x01, 0x01, b.p, b.len), 0x9000);
	assert_int_equal(t->rlen, 16);
	tstep = 0;
	for (int i = 0; i < 8; i++)
		tstep = (tstep << 8) | t->r[i];
	assert_true(tstep + 1 >= (uint64_t)time(NULL) / 60 &&
	    tstep <= (uint64_t)time(NULL) / 60);
	{
		wk_msg c = q;

		wk_payment_order_digest(&q, c.digest);
		assert_int_equal(wk_payment_ocra(key, &c, tstep, want), 0);
	}
	assert_memory_equal(t->r + 8, want, 8);
	/* a signed confirmation of the same request: refused */
	verify_pin(t);
	assert_int_equal(cmd(t, 0xE7, 0x01, 0x00, b.p, b.len), 0x6985);
	assert_int_equal(cmd(t, 0xE7, 0x02, 0x01, b.p, b.len), 0x9000);
	assert_memory_equal(t->r + 8, want, 8);
	/* forgetting the wallet forgets the OCRA key */
	select_piv(t);
	mgm_auth(t);
	assert_int_equal(cmd(t, 0xE8, 0, 0, NULL, 0), 0x9000);
	{
		wk_buf tmp;
		uint8_t x[64];

		wk_buf_init_fixed(&tmp, x, sizeof(x));
		assert_int_equal(vc_store_get_secret(t->st, "wallet", "ocra.key", &tmp),
		    VC_STORE_NOT_FOUND);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_requests, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_requests, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_enrolled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_full, setup_small_log,
		    teardown),
		cmocka_unit_test_setup_teardown(test_answers_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ocra, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
