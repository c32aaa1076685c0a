/*
 * online payments on the card (vcard/applets/purse_pay.c) and the payment
 * parsers of common/ (wk_msg types 11-13, wk_payment_text_ok, wk_ocra),
 * on an enrolled card (wallet key, anchor from an in-process CA). The
 * input is a list of steps `op(1) len(2) bytes(len)`:
 *   op % 4 == 0: the CA's payment request for this card, its signed bytes
 *                XORed with the step's bytes, put to PAYMENT after VERIFY
 *                with P1 = bytes[0] % 3 (bit 7 of op: P2 01, OCRA);
 *   op % 4 == 1: PAYMENT with P1 bytes[0], P2 bytes[1], the rest as data;
 *   op % 4 == 2: the CA's OCRA key message XORed with the bytes, through
 *                PERSONALISE;
 *   op % 4 == 3: the bytes as a message (wk_msg_parse), a text
 *                (wk_payment_text_ok), an OCRA suite and a question.
 * Oracles: the card answers a payment request only when the CA's signed
 * bytes reached it unchanged (or changed into the same message), and its
 * confirmation carries the request's fields, the order digest of its
 * texts and the next counter; it takes an OCRA key only from an unchanged
 * message; the same request is never answered with the other decision.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "applets/purse.h"
#include "vc_card.h"
#include "vc_store.h"
#include "wk_log.h"
#include "wk_msg.h"
#include "wk_ocra.h"
#include "wk_payment.h"
#include "wk_vpcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const vc_applet vc_applet_piv;
extern const vc_applet vc_applet_purse;
extern const vc_applet vc_applet_audit;

#define PAN "6222"

static vc_store *st;
static vc_card *card;
static EVP_PKEY *ca, *card_pub;
static uint8_t resp[WK_VPCD_MAX_PAYLOAD];
static char dir[256];
static uint32_t counter;	/* the highest confirmation counter seen */
/* the decision given for request id 0-3 (signed form): -1 none yet */
static int answered[4] = { -1, -1, -1, -1 };

static void
null_sink(unsigned category, const char *line, void *arg)
{
	(void)category;
	(void)line;
	(void)arg;
}

static void
cleanup(void)
{
	static const char *const files[] = { "card.db", "card.db-wal",
	    "card.db-shm" };
	char p[320];

	vc_card_free(&card);
	vc_store_free(&st);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(card_pub);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%.256s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static uint16_t
send_apdu(const uint8_t *apdu, size_t len, size_t *n)
{
	if (vc_card_apdu(card, apdu, len, resp, sizeof(resp), n) != VC_CARD_OK ||
	    *n < 2)
		__builtin_trap();
	return (uint16_t)((resp[*n - 2] << 8) | resp[*n - 1]);
}

/* CLA 80 (or 00), short or extended */
static uint16_t
cmd(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *d,
    size_t lc, size_t *n)
{
	uint8_t apdu[9 + WK_MSG_MAX + 64];
	size_t k = 0;

	if (lc > WK_MSG_MAX + 64)
		lc = WK_MSG_MAX + 64;
	apdu[k++] = cla;
	apdu[k++] = ins;
	apdu[k++] = p1;
	apdu[k++] = p2;
	if (lc > 255) {
		apdu[k++] = 0;
		apdu[k++] = (uint8_t)(lc >> 8);
		apdu[k++] = (uint8_t)lc;
		memcpy(apdu + k, d, lc);
		k += lc;
		apdu[k++] = 0;
		apdu[k++] = 0;
	} else if (lc > 0) {
		apdu[k++] = (uint8_t)lc;
		memcpy(apdu + k, d, lc);
		k += lc;
		apdu[k++] = 0;
	}
	return send_apdu(apdu, k, n);
}

static void
must(uint16_t sw)
{
	if (sw != 0x9000)
		__builtin_trap();
}

static const uint8_t sel_piv[] = { 0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00,
    0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00 };
static const uint8_t sel_purse[] = { 0x00, 0xA4, 0x04, 0x00, 0x08, 0xF0, 0x57,
    0x4B, 0x50, 0x55, 0x52, 0x53, 0x45 };
static const uint8_t pin[] = { 0x00, 0x20, 0x00, 0x00, 0x03, 0x12, 0x34, 0x56 };

static void
mgm_auth(void)
{
	static const uint8_t key[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6,
	    7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t a[32] = { 0x00, 0x87, 0x03, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00 };
	uint8_t w[8];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	size_t n;
	int l = 0;

	must(send_apdu(a, 9, &n));
	EVP_CipherInit_ex(c, EVP_des_ede3_ecb(), NULL, key, NULL, 0);
	EVP_CIPHER_CTX_set_padding(c, 0);
	EVP_CipherUpdate(c, w, &l, resp + 4, 8);
	EVP_CIPHER_CTX_free(c);
	memcpy(a, "\x00\x87\x03\x9B\x16\x7C\x14\x80\x08", 9);
	memcpy(a + 9, w, 8);
	memcpy(a + 17, "\x81\x08", 2);
	memset(a + 19, 0x5A, 8);
	must(send_apdu(a, 27, &n));
}

static void
start(void)
{
	static const vc_applet *const applets[] = { &vc_applet_piv,
	    &vc_applet_purse, &vc_applet_audit };
	vc_card_opts o = { .init = true, .applets = applets, .n_applets = 3 };
	const char *tmp = getenv("TMPDIR");
	uint8_t d[100], pt[65];
	char path[320];
	size_t n, l = 0;

	if (sodium_init() < 0)
		abort();
	snprintf(dir, sizeof(dir), "%.200s/fuzz_pay.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/card.db", dir);
	if (vc_store_create(path, NULL, &st) != VC_STORE_OK ||
	    vc_card_new(st, &o, &card) != VC_CARD_OK)
		abort();
	wk_log_set_sink(null_sink, NULL);
	wk_log_set(WK_LOG_ALL);
	atexit(cleanup);
	if ((ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		abort();
	must(send_apdu(sel_piv, sizeof(sel_piv), &n));
	mgm_auth();
	must(cmd(0x00, 0x47, 0x00, 0x82, (const uint8_t *)"\xAC\x03\x80\x01\x11",
	    5, &n));
	if ((card_pub = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    EVP_PKEY_set1_encoded_public_key(card_pub, resp + 5, 65) != 1 ||
	    EVP_PKEY_get_octet_string_param(ca, "encoded-pub-key", pt,
	    sizeof(pt), &l) != 1)
		abort();
	d[0] = 0x01;
	d[1] = 65;
	memcpy(d + 2, pt, 65);
	memcpy(d + 67, "\x02\x04" PAN, 6);
	must(cmd(0x80, 0xE8, 0, 0, d, 73, &n));
	must(send_apdu(sel_purse, sizeof(sel_purse), &n));
}

static void
request(const uint8_t *x, size_t xlen, uint8_t op)
{
	uint8_t buf[WK_MSG_MAX];
	uint8_t p1 = xlen > 0 ? (uint8_t)(x[0] % 3) : 1, p2 = op & 0x80 ? 1 : 0;
	bool changed = false;
	wk_msg q, got, conf;
	wk_buf b;
	size_t n;
	uint16_t sw;

	memset(&q, 0, sizeof(q));
	q.type = WK_MSG_PAY_REQUEST;
	memcpy(q.card_id, vc_card_serial(card), 8);
	/* a few ids, so requests meet again */
	q.load_id[0] = xlen > 1 ? (uint8_t)(x[1] & 3) : 0;
	strcpy(q.pan, PAN);
	memcpy(q.terminal_id, "\x00\x00\x00\x00\x00\x42", 6);
	strcpy(q.payee_name, "Shop");
	strcpy(q.order_id, "o");
	strcpy(q.description, "d");
	q.amount = 100;
	strcpy(q.currency, "CNY");
	q.expiry = (uint64_t)time(NULL) + 600;
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	if (wk_msg_sign(&q, ca, &b) != WK_MSG_OK)
		__builtin_trap();
	for (size_t i = 2; i < xlen && i - 2 < b.len; i++) {
		buf[i - 2] ^= x[i];
		changed = changed || x[i] != 0;
	}
	/* a change that verifies and parses into the same message is none */
	if (changed && wk_msg_verify(buf, b.len, ca, &got) == WK_MSG_OK &&
	    memcmp(&got, &q, sizeof(q)) == 0)
		changed = false;
	(void)send_apdu(pin, sizeof(pin), &n);
	sw = cmd(0x80, 0xE7, p1, p2, buf, b.len, &n);
	if (sw != 0x9000 || p1 == 2)
		return;
	if (changed)
		__builtin_trap();	/* answered a request the CA did not sign */
	if (p2 == 0) {
		uint8_t dg[WK_MSG_DIGEST_LEN];

		if (wk_msg_verify(resp, n - 2, card_pub, &conf) != WK_MSG_OK ||
		    conf.type != WK_MSG_PAY_CONFIRM ||
		    memcmp(conf.load_id, q.load_id, 16) != 0 ||
		    conf.amount != q.amount || strcmp(conf.pan, q.pan) != 0 ||
		    memcmp(conf.terminal_id, q.terminal_id, 6) != 0 ||
		    conf.decision != (p1 == 1 ? WK_MSG_ACCEPTED : WK_MSG_DECLINED))
			__builtin_trap();
		wk_payment_order_digest(&q, dg);
		if (memcmp(conf.digest, dg, sizeof(dg)) != 0)
			__builtin_trap();
		/* never the other decision for a request; a new answer, a new
		 * counter (the card keeps 64 answers, more than these 4 ids) */
		if (answered[q.load_id[0]] >= 0) {
			if (answered[q.load_id[0]] != conf.decision)
				__builtin_trap();
		} else {
			if (conf.counter <= counter)
				__builtin_trap();
			answered[q.load_id[0]] = conf.decision;
		}
		if (conf.counter > counter)
			counter = conf.counter;
	}
}

static void
ocra_key(const uint8_t *x, size_t xlen)
{
	uint8_t buf[WK_MSG_MAX], key[32] = { 7 };
	bool changed = false;
	wk_msg m, got;
	wk_buf b;
	size_t n;

	memset(&m, 0, sizeof(m));
	m.type = WK_MSG_OCRA_KEY;
	memcpy(m.card_id, vc_card_serial(card), 8);
	m.key_version = 1;
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	if (wk_msg_seal_keys(card_pub, &m, key, sizeof(key)) != WK_MSG_OK ||
	    wk_msg_sign(&m, ca, &b) != WK_MSG_OK)
		__builtin_trap();
	for (size_t i = 0; i < xlen && i < b.len; i++) {
		buf[i] ^= x[i];
		changed = changed || x[i] != 0;
	}
	if (changed && wk_msg_verify(buf, b.len, ca, &got) == WK_MSG_OK &&
	    memcmp(&got, &m, sizeof(m)) == 0)
		changed = false;
	if (cmd(0x80, 0xE6, 0, 0, buf, b.len, &n) == 0x9000 && changed)
		__builtin_trap();
}

static void
parsers(const uint8_t *x, size_t n)
{
	wk_ocra_suite s;
	wk_ocra_input in = { 0 };
	wk_msg m;
	char text[WK_OCRA_SUITE_MAX + 1], q[65], out[16];
	size_t k = n < WK_OCRA_SUITE_MAX ? n : WK_OCRA_SUITE_MAX;

	(void)wk_msg_parse(x, n, &m, NULL, NULL);
	(void)wk_payment_text_ok((const char *)x, n);
	memcpy(text, x, k);
	text[k] = '\0';
	if (wk_ocra_suite_parse(text, &s) == WK_OCRA_OK) {
		static const uint8_t key[32] = { 1 };
		static const uint8_t ph[64] = { 2 };
		static const uint8_t sess[512] = { 3 };

		k = n - k < 64 ? n - k : 64;
		memcpy(q, x + (n < WK_OCRA_SUITE_MAX ? n : WK_OCRA_SUITE_MAX), k);
		q[k] = '\0';
		in.question = q;
		in.pin_hash = ph;
		in.session = sess;
		(void)wk_ocra_compute(&s, key, sizeof(key), &in, out, sizeof(out));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	size_t off = 0;

	if (!ready) {
		start();
		ready = true;
	}
	while (size - off >= 3) {
		uint8_t op = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
		const uint8_t *p;
		size_t n;

		off += 3;
		if (len > size - off)
			len = size - off;
		p = data + off;
		off += len;
		switch (op & 3) {
		case 0:
			request(p, len, op);
			break;
		case 1:
			(void)cmd(0x80, 0xE7, len > 0 ? p[0] : 0, len > 1 ? p[1] : 0,
			    len > 2 ? p + 2 : NULL, len > 2 ? len - 2 : 0, &n);
			break;
		case 2:
			ocra_key(p, len);
			break;
		default:
			parsers(p, len);
			break;
		}
	}
	return 0;
}
