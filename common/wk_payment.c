#include "wk_payment.h"

#include <string.h>

#include <sodium.h>

#include "wk_hex.h"
#include "wk_ocra.h"

bool
wk_payment_text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (s == NULL)
		return false;
	while (i < len) {
		uint32_t cp;
		size_t n;

		if (p[i] < 0x80) {
			if (p[i] < 0x20 || p[i] == 0x7F)
				return false;
			i++;
			continue;
		}
		if ((p[i] & 0xE0) == 0xC0) {
			n = 2;
			cp = p[i] & 0x1Fu;
		} else if ((p[i] & 0xF0) == 0xE0) {
			n = 3;
			cp = p[i] & 0x0Fu;
		} else if ((p[i] & 0xF8) == 0xF0) {
			n = 4;
			cp = p[i] & 0x07u;
		} else {
			return false;
		}
		if (len - i < n)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3Fu);
		}
		/* shortest form, no surrogate, in range */
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		/* C1 controls; what reorders or breaks the line shown */
		if ((cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
		    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
		    cp == 0x2029 || cp == 0x200E || cp == 0x200F || cp == 0x061C)
			return false;
		i += n;
	}
	return true;
}

bool
wk_payment_currency_ok(const char *s, size_t len)
{
	if (s == NULL || len != 3)
		return false;
	for (size_t i = 0; i < 3; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	return true;
}

static void
add_text(crypto_hash_sha256_state *h, const char *s)
{
	size_t n = strnlen(s, 255);
	uint8_t len = (uint8_t)n;

	crypto_hash_sha256_update(h, &len, 1);
	crypto_hash_sha256_update(h, (const uint8_t *)s, n);
}

void
wk_payment_order_digest(const wk_msg *req, uint8_t out[WK_MSG_DIGEST_LEN])
{
	static const char label[] = "walletkey-order/1";
	crypto_hash_sha256_state h;

	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)label, sizeof(label) - 1);
	add_text(&h, req->payee_name);
	add_text(&h, req->order_id);
	add_text(&h, req->description);
	crypto_hash_sha256_final(&h, out);
}

void
wk_payment_confirmation(const wk_msg *req, uint8_t decision,
    uint32_t counter, wk_msg *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->type = WK_MSG_PAY_CONFIRM;
	memcpy(conf->card_id, req->card_id, WK_MSG_CARD_ID_LEN);
	memcpy(conf->load_id, req->load_id, WK_MSG_LOAD_ID_LEN);
	memcpy(conf->pan, req->pan, sizeof(conf->pan));
	memcpy(conf->terminal_id, req->terminal_id, sizeof(conf->terminal_id));
	wk_payment_order_digest(req, conf->digest);
	conf->amount = req->amount;
	memcpy(conf->currency, req->currency, sizeof(conf->currency));
	conf->expiry = req->expiry;
	conf->decision = decision;
	conf->counter = counter;
}

void
wk_payment_question(const wk_msg *m, uint8_t out[32])
{
	static const char label[] = "walletkey-pay-ocra/1";
	crypto_hash_sha256_state h;
	uint8_t v[8];

	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)label, sizeof(label) - 1);
	crypto_hash_sha256_update(&h, m->card_id, WK_MSG_CARD_ID_LEN);
	crypto_hash_sha256_update(&h, m->load_id, WK_MSG_LOAD_ID_LEN);
	add_text(&h, m->pan);
	crypto_hash_sha256_update(&h, m->terminal_id, 6);
	v[0] = (uint8_t)(m->amount >> 24);
	v[1] = (uint8_t)(m->amount >> 16);
	v[2] = (uint8_t)(m->amount >> 8);
	v[3] = (uint8_t)m->amount;
	crypto_hash_sha256_update(&h, v, 4);
	crypto_hash_sha256_update(&h, (const uint8_t *)m->currency, 3);
	for (int i = 7; i >= 0; i--)
		v[7 - i] = (uint8_t)(m->expiry >> (8 * i));
	crypto_hash_sha256_update(&h, v, 8);
	crypto_hash_sha256_update(&h, m->digest, WK_MSG_DIGEST_LEN);
	crypto_hash_sha256_final(&h, out);
}

int
wk_payment_ocra(const uint8_t key[WK_PAYMENT_OCRA_KEY_LEN], const wk_msg *m,
    uint64_t t, char digits[WK_PAYMENT_OCRA_DIGITS + 1])
{
	wk_ocra_suite s;
	wk_ocra_input in;
	uint8_t q[32];
	char qhex[65];
	int rc;

	if ((rc = wk_ocra_suite_parse(WK_PAYMENT_OCRA_SUITE, &s)) != WK_OCRA_OK)
		return rc;
	wk_payment_question(m, q);
	wk_hex_encode(q, sizeof(q), qhex);
	memset(&in, 0, sizeof(in));
	in.question = qhex;
	in.timestamp = t;
	rc = wk_ocra_compute(&s, key, WK_PAYMENT_OCRA_KEY_LEN, &in, digits,
	    WK_PAYMENT_OCRA_DIGITS + 1);
	sodium_memzero(q, sizeof(q));
	return rc;
}
