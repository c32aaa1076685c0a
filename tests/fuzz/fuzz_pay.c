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
#include <time.h>

#include "applets/purse.h"
#include "wk_ocra.h"
#include "wk_payment.h"

#define FUZZ_CMD_MAX (WK_MSG_MAX + 64)
#include "fuzz_enrolled.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const vc_applet vc_applet_piv;
extern const vc_applet vc_applet_purse;
extern const vc_applet vc_applet_audit;

#define PAN ENROLLED_PAN

static uint32_t counter;	/* the highest confirmation counter seen */
/* the decision given for request id 0-3 (signed form): -1 none yet */
static int answered[4] = { -1, -1, -1, -1 };

static void
start(void)
{
	static const vc_applet *const applets[] = { &vc_applet_piv,
	    &vc_applet_purse, &vc_applet_audit };

	enrol("fuzz_pay", applets, 3);
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
	(void)xfer(pin, sizeof(pin), &n);
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
