/* common/wk_msg.c: the signed messages of the issuer protocol */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "wk_msg.h"
#include "wk_tlv.h"

static EVP_PKEY *key, *key2;

static void
fill(wk_msg *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	for (size_t i = 0; i < sizeof(m->card_id); i++)
		m->card_id[i] = (uint8_t)(0x10 + i);
	memset(m->nonce, 0xA5, sizeof(m->nonce));
	memset(m->load_id, 0x3C, sizeof(m->load_id));
	m->seq = 0x0102;
	m->amount = 0x00001C37;
	m->balance = 0x01020304;
	m->key_version = 1;
	m->trans_type = 2;
	memcpy(m->card_random, "\xCD\xEF\x4F\x20", 4);
	memcpy(m->terminal_id, "\x00\x00\x01\x00\x00\x50", 6);
	memcpy(m->mac1, "\x06\xB1\xBE\xF5", 4);
	memcpy(m->mac2, "\x06\x41\xDC\xD8", 4);
	memcpy(m->tac, "\xED\x0F\x87\x55", 4);
	memcpy(m->host_date, "\x20\x14\x08\x25", 4);
	memcpy(m->host_time, "\x10\x31\x00", 3);
	m->reason = 0x9302;
	strcpy(m->pan, "6222000011112222");
	memset(m->eph_point, 0x04, sizeof(m->eph_point));
	m->sealed_len = 64;
	memset(m->sealed, 0x77, m->sealed_len);
	m->scope = WK_MSG_SCOPE_HOLDER;
	strcpy(m->payee_name, "Buchhandlung M\xc3\xbcller");
	strcpy(m->order_id, "A-2026-0001");
	strcpy(m->description, "two books, \xe4\xb8\xa4\xe6\x9c\xac\xe4\xb9\xa6");
	strcpy(m->currency, "CNY");
	m->expiry = 0x0000000069A1B2C3ull;
	memset(m->digest, 0xD1, sizeof(m->digest));
	m->decision = WK_MSG_ACCEPTED;
	m->counter = 0x01020304;
}

static void
test_roundtrip(void **state)
{
	(void)state;
	for (uint8_t t = 1; t <= WK_MSG_TYPE_MAX; t++) {
		wk_msg m, out;
		wk_buf b;
		wk_cur body, sig;

		fill(&m, t);
		wk_buf_init_heap(&b, WK_MSG_MAX);
		if (strcmp(wk_msg_type_name(t), "?") == 0) {
			/* a number no type has: neither encoded nor parsed */
			assert_int_equal(wk_msg_sign(&m, key, &b), WK_MSG_ARG);
			wk_buf_clear(&b);
			continue;
		}
		assert_int_equal(wk_msg_sign(&m, key, &b), WK_MSG_OK);
		assert_int_equal(wk_msg_parse(b.p, b.len, &out, &body, &sig), WK_MSG_OK);
		assert_int_equal(out.type, t);
		assert_memory_equal(out.card_id, m.card_id, 8);
		if (t != WK_MSG_PAY_REQUEST && t != WK_MSG_PAY_CONFIRM)
			assert_memory_equal(out.nonce, m.nonce, 16);
		if (t == WK_MSG_PAY_REQUEST || t == WK_MSG_PAY_CONFIRM) {
			assert_memory_equal(out.load_id, m.load_id, 16);
			assert_memory_equal(out.terminal_id, m.terminal_id, 6);
			assert_string_equal(out.pan, m.pan);
			assert_string_equal(out.currency, "CNY");
			assert_true(out.expiry == m.expiry);
			assert_int_equal(out.amount, m.amount);
		}
		if (t == WK_MSG_PAY_REQUEST) {
			assert_string_equal(out.payee_name, m.payee_name);
			assert_string_equal(out.order_id, m.order_id);
			assert_string_equal(out.description, m.description);
		}
		if (t == WK_MSG_PAY_CONFIRM) {
			assert_memory_equal(out.digest, m.digest, 32);
			assert_int_equal(out.decision, WK_MSG_ACCEPTED);
			assert_int_equal(out.counter, 0x01020304);
		}
		assert_int_equal(wk_msg_verify(b.p, b.len, key, &out), WK_MSG_OK);
		assert_int_equal(wk_msg_verify(b.p, b.len, key2, &out),
		    WK_MSG_BAD_SIGNATURE);
		/* the signed bytes are the body TLV, which starts at offset 2 or 3 */
		assert_int_equal(body.p[0], 0xE1);
		/* every flipped byte breaks parsing or the signature */
		for (size_t i = 0; i < b.len; i++) {
			b.p[i] ^= 0x02;
			assert_int_not_equal(wk_msg_verify(b.p, b.len, key, &out), WK_MSG_OK);
			b.p[i] ^= 0x02;
		}
		/* truncations and a trailing byte */
		for (size_t n = 0; n < b.len; n++)
			assert_int_not_equal(wk_msg_parse(b.p, n, &out, NULL, NULL),
			    WK_MSG_OK);
		wk_buf_u8(&b, 0);
		assert_int_equal(wk_msg_parse(b.p, b.len, &out, NULL, NULL),
		    WK_MSG_MALFORMED);
		wk_buf_clear(&b);
	}
}

/* hand-built bodies: field order, extras, lengths, version */
static int
parse_body(const uint8_t *fields, size_t len)
{
	wk_buf b;
	size_t outer, body;
	wk_msg m;
	int rc;

	wk_buf_init_heap(&b, 4096);
	outer = wk_tlv_begin(&b, 0xE0);
	body = wk_tlv_begin(&b, 0xE1);
	wk_buf_add(&b, fields, len);
	wk_tlv_end(&b, body);
	wk_tlv_put(&b, 0x9E, "\x30\x00", 2);
	wk_tlv_end(&b, outer);
	rc = wk_msg_parse(b.p, b.len, &m, NULL, NULL);
	wk_buf_clear(&b);
	return rc;
}

static void
test_strict(void **state)
{
	/* a refusal: card, nonce, seq, load, reason */
	uint8_t ok[] = { 0x80, 1, 1, 0x81, 1, 4,
	    0x82, 8, 1, 2, 3, 4, 5, 6, 7, 8,
	    0x84, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0x83, 2, 0, 1,
	    0x8C, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0x91, 2, 0x93, 0x02 };
	uint8_t v[sizeof(ok) + 8];

	(void)state;
	assert_int_equal(parse_body(ok, sizeof(ok)), WK_MSG_OK);
	memcpy(v, ok, sizeof(ok));
	v[2] = 2;	/* version 2 */
	assert_int_equal(parse_body(v, sizeof(ok)), WK_MSG_UNSUPPORTED);
	memcpy(v, ok, sizeof(ok));
	v[5] = WK_MSG_TYPE_MAX + 1;	/* unknown type */
	assert_int_equal(parse_body(v, sizeof(ok)), WK_MSG_UNSUPPORTED);
	v[5] = WK_MSG_UNBLOCK_REQUEST - 1;	/* a gap in the numbering */
	assert_int_equal(parse_body(v, sizeof(ok)), WK_MSG_UNSUPPORTED);
	memcpy(v, ok, sizeof(ok));
	v[5] = 3;	/* a receipt lacks these fields */
	assert_int_equal(parse_body(v, sizeof(ok)), WK_MSG_MALFORMED);
	/* an extra field at the end */
	memcpy(v, ok, sizeof(ok));
	memcpy(v + sizeof(ok), "\x85\x04\x00\x00\x00\x01", 6);
	assert_int_equal(parse_body(v, sizeof(ok) + 6), WK_MSG_MALFORMED);
	/* the reason field one byte short (and the body re-sized) */
	memcpy(v, ok, sizeof(ok));
	v[sizeof(ok) - 3] = 1;
	assert_int_equal(parse_body(v, sizeof(ok) - 1), WK_MSG_MALFORMED);
	/* seq and nonce swapped */
	{
		uint8_t s[sizeof(ok)];
		size_t o = 0;

		memcpy(s + o, ok, 16); o += 16;		/* version, type, card */
		memcpy(s + o, ok + 34, 4); o += 4;	/* seq */
		memcpy(s + o, ok + 16, 18); o += 18;	/* nonce */
		memcpy(s + o, ok + 38, sizeof(ok) - 38);
		assert_int_equal(parse_body(s, sizeof(ok)), WK_MSG_MALFORMED);
	}
	/* a PAN with a letter */
	{
		wk_msg m;
		wk_buf b;

		fill(&m, WK_MSG_LOAD_REQUEST);
		strcpy(m.pan, "12a4");
		wk_buf_init_heap(&b, WK_MSG_MAX);
		assert_int_equal(wk_msg_sign(&m, key, &b), WK_MSG_OK);
		assert_int_equal(wk_msg_parse(b.p, b.len, &m, NULL, NULL),
		    WK_MSG_MALFORMED);
		wk_buf_clear(&b);
		fill(&m, WK_MSG_LOAD_REQUEST);
		m.pan[0] = '\0';
		assert_int_equal(wk_msg_sign(&m, key, &b), WK_MSG_ARG);
		wk_buf_clear(&b);
	}
}

/* the session proof (type 17): card, challenge, scope 01 or 02 only; no
 * other type's signature reads as one */
static void
test_session_auth(void **state)
{
	uint8_t ok[] = { 0x80, 1, 1, 0x81, 1, WK_MSG_SESSION_AUTH,
	    0x82, 8, 1, 2, 3, 4, 5, 6, 7, 8,
	    0x84, 16, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
	    0x97, 1, WK_MSG_SCOPE_CARD };
	uint8_t v[sizeof(ok)];
	wk_msg m;
	wk_buf b;

	(void)state;
	assert_string_equal(wk_msg_type_name(WK_MSG_SESSION_AUTH), "session-auth");
	assert_int_equal(parse_body(ok, sizeof(ok)), WK_MSG_OK);
	memcpy(v, ok, sizeof(ok));
	v[sizeof(ok) - 1] = WK_MSG_SCOPE_HOLDER;
	assert_int_equal(parse_body(v, sizeof(ok)), WK_MSG_OK);
	v[sizeof(ok) - 1] = 0;
	assert_int_equal(parse_body(v, sizeof(ok)), WK_MSG_MALFORMED);
	v[sizeof(ok) - 1] = 3;
	assert_int_equal(parse_body(v, sizeof(ok)), WK_MSG_MALFORMED);
	/* a transfer authentication (card, peer, nonce) is not a session
	 * proof, whatever its bytes */
	memcpy(v, ok, sizeof(ok));
	v[5] = WK_MSG_XFER_AUTH;
	assert_int_equal(parse_body(v, sizeof(ok)), WK_MSG_MALFORMED);
	fill(&m, WK_MSG_SESSION_AUTH);
	m.scope = 7;
	wk_buf_init_heap(&b, WK_MSG_MAX);
	assert_int_equal(wk_msg_sign(&m, key, &b), WK_MSG_ARG);
	wk_buf_clear(&b);
}

/* the texts a merchant writes: what the holder reads is what is signed */
static void
test_payment_texts(void **state)
{
	static const char *const refused[] = {
		"\x1b[2K amount 0.01",	/* a terminal escape */
		"line\nbreak", "tab\there", "del\x7f",
		"\xc2\x9b" "2K",		/* C1 CSI */
		"\xe2\x80\xae" "00.001",	/* right-to-left override */
		"\xe2\x81\xa6x",		/* left-to-right isolate */
		"\xe2\x80\xa8",		/* line separator */
		"\xc0\xaf",		/* overlong '/' */
		"\xed\xa0\x80",		/* a surrogate */
		"\xf4\x90\x80\x80",	/* past U+10FFFF */
		"\xe4\xb8",		/* cut short */
		"\xff",
	};
	wk_msg m;
	wk_buf b;

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		fill(&m, WK_MSG_PAY_REQUEST);
		snprintf(m.description, sizeof(m.description), "%s", refused[i]);
		wk_buf_init_heap(&b, WK_MSG_MAX);
		assert_int_equal(wk_msg_sign(&m, key, &b), WK_MSG_ARG);
		wk_buf_clear(&b);
	}
	/* an empty description is allowed, an empty order id or name not */
	fill(&m, WK_MSG_PAY_REQUEST);
	m.description[0] = '\0';
	wk_buf_init_heap(&b, WK_MSG_MAX);
	assert_int_equal(wk_msg_sign(&m, key, &b), WK_MSG_OK);
	assert_int_equal(wk_msg_parse(b.p, b.len, &m, NULL, NULL), WK_MSG_OK);
	assert_string_equal(m.description, "");
	wk_buf_clear(&b);
	fill(&m, WK_MSG_PAY_REQUEST);
	m.order_id[0] = '\0';
	assert_int_equal(wk_msg_sign(&m, key, &b), WK_MSG_ARG);
	wk_buf_clear(&b);
	fill(&m, WK_MSG_PAY_REQUEST);
	strcpy(m.currency, "cny");
	assert_int_equal(wk_msg_sign(&m, key, &b), WK_MSG_ARG);
	wk_buf_clear(&b);
	fill(&m, WK_MSG_PAY_CONFIRM);
	m.decision = 2;
	assert_int_equal(wk_msg_sign(&m, key, &b), WK_MSG_ARG);
	wk_buf_clear(&b);
	/* a control character written into the wire form: malformed */
	{
		uint8_t body[] = { 0x80, 1, 1, 0x81, 1, WK_MSG_PAY_REQUEST,
		    0x82, 8, 1, 2, 3, 4, 5, 6, 7, 8,
		    0x8C, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		    0x92, 2, '6', '2',
		    0x8A, 6, 0, 0, 0, 0, 0, 1,
		    0x9F, 0x20, 1, 'S',
		    0x9F, 0x21, 1, 'A',
		    0x9F, 0x22, 2, 'o', 'k',
		    0x85, 4, 0, 0, 0, 1,
		    0x9F, 0x23, 3, 'C', 'N', 'Y',
		    0x9F, 0x24, 8, 0, 0, 0, 0, 0x69, 0, 0, 0 };

		assert_int_equal(parse_body(body, sizeof(body)), WK_MSG_OK);
		body[sizeof(body) - 25] = 0x1B;		/* 'o' of the description */
		assert_int_equal(parse_body(body, sizeof(body)), WK_MSG_MALFORMED);
		body[sizeof(body) - 25] = 'o';
		body[sizeof(body) - 14] = 'c';		/* currency "cNY" */
		assert_int_equal(parse_body(body, sizeof(body)), WK_MSG_MALFORMED);
	}
}

static void
test_seal(void **state)
{
	uint8_t keys[48], out[64];
	wk_msg m;
	size_t n;

	(void)state;
	randombytes_buf(keys, sizeof(keys));
	fill(&m, WK_MSG_PERSO);
	assert_int_equal(wk_msg_seal_keys(key, &m, keys, sizeof(keys)), WK_MSG_OK);
	assert_int_equal(m.sealed_len, sizeof(keys) + 16);
	assert_int_equal(wk_msg_open_keys(key, &m, out, sizeof(out), &n), WK_MSG_OK);
	assert_int_equal(n, sizeof(keys));
	assert_memory_equal(out, keys, sizeof(keys));
	/* another card's key, another card id, a changed byte: nothing opens */
	assert_int_equal(wk_msg_open_keys(key2, &m, out, sizeof(out), &n),
	    WK_MSG_CRYPTO);
	m.card_id[0] ^= 1;
	assert_int_equal(wk_msg_open_keys(key, &m, out, sizeof(out), &n),
	    WK_MSG_CRYPTO);
	m.card_id[0] ^= 1;
	m.sealed[3] ^= 1;
	assert_int_equal(wk_msg_open_keys(key, &m, out, sizeof(out), &n),
	    WK_MSG_CRYPTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_payment_texts),
		cmocka_unit_test(test_session_auth),
		cmocka_unit_test(test_seal),
	};
	int rc;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	key2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	EVP_PKEY_free(key);
	EVP_PKEY_free(key2);
	return rc;
}
