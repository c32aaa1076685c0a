/* the PIV applet (vcard/applets/piv*.c) driven with APDUs as hosts send them (piv.md) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "audit_log.h"
#include "piv_harness.h"
#include "vc_card.h"
#include "vc_store.h"
#include "wk_hex.h"
#include "wk_log.h"
#include "wk_tlv.h"

#define MGM_DEFAULT "010203040506070801020304050607080102030405060708"
#define PIN_OK "313233343536FFFF"
#define PIN_BAD "313233343537FFFF"
#define PUK_OK "3132333435363738"

static uint8_t rbuf[8192];
static size_t rlen;

static uint16_t
tx(piv_h *h, const char *hex)
{
	return ph_tx(h, hex, rbuf, sizeof(rbuf), &rlen);
}

static uint16_t txf(piv_h *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static uint16_t
txf(piv_h *h, const char *fmt, ...)
{
	char hex[20000];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(hex, sizeof(hex), fmt, ap);
	va_end(ap);
	return tx(h, hex);
}

static void
hexs(const uint8_t *p, size_t n, char *out)
{
	wk_hex_encode(p, n, out);
}

static bool
resp_is(const char *hex)
{
	uint8_t want[4096];
	long n = wk_hex_decode(hex, want, sizeof(want));

	return n >= 0 && (size_t)n == rlen && memcmp(want, rbuf, rlen) == 0;
}

static int
setup(void **state)
{
	*state = ph_new();
	return 0;
}

static int
teardown(void **state)
{
	piv_h *h = *state;

	ph_free(&h);
	return 0;
}

/* ECB one block with the 9B key */
static void
ecb(const char *keyhex, uint8_t alg, const uint8_t *in, uint8_t *out, size_t bs)
{
	uint8_t key[32];
	long kl = wk_hex_decode(keyhex, key, sizeof(key));
	const EVP_CIPHER *c = alg == 0x03 ? EVP_des_ede3_ecb() :
	    kl == 16 ? EVP_aes_128_ecb() : kl == 24 ? EVP_aes_192_ecb() :
	    EVP_aes_256_ecb();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, dec = in == NULL;

	(void)dec;
	assert_int_equal(EVP_CipherInit_ex(ctx, c, NULL, key, NULL, 1), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	assert_int_equal(EVP_CipherUpdate(ctx, out, &n, in, (int)bs), 1);
	EVP_CIPHER_CTX_free(ctx);
}

static void
ecb_dec(const char *keyhex, uint8_t alg, const uint8_t *in, uint8_t *out, size_t bs)
{
	uint8_t key[32];
	long kl = wk_hex_decode(keyhex, key, sizeof(key));
	const EVP_CIPHER *c = alg == 0x03 ? EVP_des_ede3_ecb() :
	    kl == 16 ? EVP_aes_128_ecb() : kl == 24 ? EVP_aes_192_ecb() :
	    EVP_aes_256_ecb();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;

	assert_int_equal(EVP_CipherInit_ex(ctx, c, NULL, key, NULL, 0), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	assert_int_equal(EVP_CipherUpdate(ctx, out, &n, in, (int)bs), 1);
	EVP_CIPHER_CTX_free(ctx);
}

/* 9B mutual authentication as ykpiv does it; returns the final SW */
static uint16_t
mgm_auth_key(piv_h *h, const char *keyhex, uint8_t alg)
{
	size_t bs = alg == 0x03 ? 8 : 16;
	uint8_t w[16], c[16], ec[16];
	char wh[40], ch[40];
	uint16_t sw;

	sw = txf(h, "00 87 %02X 9B 04 7C 02 80 00", alg);
	if (sw != 0x9000)
		return sw;
	assert_int_equal(rlen, 4 + bs);
	assert_int_equal(rbuf[0], 0x7C);
	assert_int_equal(rbuf[2], 0x80);
	ecb_dec(keyhex, alg, rbuf + 4, w, bs);
	memset(c, 0x5A, sizeof(c));
	hexs(w, bs, wh);
	hexs(c, bs, ch);
	sw = txf(h, "00 87 %02X 9B %02X 7C %02X 80 %02X %s 81 %02X %s", alg,
	    (unsigned)(2 + 4 + 2 * bs), (unsigned)(4 + 2 * bs), (unsigned)bs,
	    wh, (unsigned)bs, ch);
	if (sw != 0x9000)
		return sw;
	ecb(keyhex, alg, c, ec, bs);
	assert_int_equal(rlen, 4 + bs);
	assert_int_equal(rbuf[2], 0x82);
	assert_memory_equal(rbuf + 4, ec, bs);
	return sw;
}

static void
mgm_auth(piv_h *h)
{
	assert_int_equal(mgm_auth_key(h, MGM_DEFAULT, 0x03), 0x9000);
}

static void
verify_pin(piv_h *h)
{
	assert_int_equal(tx(h, "00 20 00 80 08 " PIN_OK), 0x9000);
}

static void
digest(piv_h *h, uint8_t d[32])
{
	ph_store_digest(h, d);
}

/* ---- SELECT and identification (piv.md 1.3-1.5) ---- */

static void
test_select_forms(void **state)
{
	piv_h *h = *state;
	static const char *forms[] = {
		"00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00",
		"00 A4 04 00 05 A0 00 00 03 08",
		"00 A4 04 00 05 A0 00 00 03 08 00",
		"00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00",
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		wk_tlv apt, ac;

		assert_int_equal(tx(h, forms[i]), 0x9000);
		assert_int_equal(wk_tlv_parse_one(rbuf, rlen, 0x61, &apt), WK_TLV_OK);
		assert_memory_equal(apt.value,
		    "\x4F\x06\x00\x00\x10\x00\x01\x00\x79\x07\x4F\x05\xA0\x00\x00\x03\x08", 17);
		assert_int_equal(wk_tlv_find(apt.value, apt.len, 0x50, &ac), WK_TLV_OK);
		assert_true(ac.len < 11 || memcmp(ac.value, "PivApplet v", 11) != 0);
		/* every AC entry names an algorithm, never 27/2E */
		for (size_t j = 0; j + 5 <= rlen; j++)
			if (rbuf[j] == 0xAC && rbuf[j + 1] == 0x03)
				assert_true(rbuf[j + 4] != 0x27 && rbuf[j + 4] != 0x2E);
	}
}

static void
test_select_other_aid(void **state)
{
	piv_h *h = *state;

	verify_pin(h);
	assert_int_equal(tx(h, "00 A4 04 00 06 A0 00 00 00 01 01"), 0x6A82);
	assert_int_equal(tx(h, "00 A4 04 00 04 A0 00 00 03"), 0x6A82);
	/* PIV still selected with its PIN state */
	assert_int_equal(tx(h, "00 20 00 80"), 0x9000);
	/* re-SELECT keeps the PIN state */
	assert_int_equal(tx(h, "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00"), 0x9000);
	assert_int_equal(tx(h, "00 20 00 80 00"), 0x9000);
	/* the Yubico management AID answers 9000 and deselects PIV */
	assert_int_equal(tx(h, "00 A4 04 00 08 A0 00 00 05 27 47 11 17"), 0x9000);
	assert_int_equal(rlen, 0);
	assert_int_equal(tx(h, "00 A4 04 00 05 A0 00 00 03 08"), 0x9000);
	assert_int_equal(tx(h, "00 20 00 80"), 0x63C3);
}

/* OpenSC 0.23's probe sequence on a GENERIC card (piv.md 1.5) */
static void
test_opensc_probe(void **state)
{
	piv_h *h = *state;
	wk_tlv t, f;

	assert_int_equal(tx(h, "00 CB 3F FF 03 5C 01 7E 00"), 0x9000);
	assert_true(resp_is("7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 00"));
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 07 00"), 0x9000);
	assert_int_equal(wk_tlv_parse_one(rbuf, rlen, 0x53, &t), WK_TLV_OK);
	assert_int_equal(t.len, 51);
	assert_int_equal(wk_tlv_find(t.value, t.len, 0xF3, &f), WK_TLV_OK);
	assert_int_equal(f.len, 0);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 0C 00"), 0x9000);
	assert_true(resp_is("53 08 C1 01 00 C2 01 00 FE 00"));
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 02 00"), 0x9000);
	assert_int_equal(wk_tlv_parse_one(rbuf, rlen, 0x53, &t), WK_TLV_OK);
	assert_int_equal(t.len, 59);
	assert_int_equal(wk_tlv_find(t.value, t.len, 0x30, &f), WK_TLV_OK);
	assert_int_equal(f.len, 25);
	assert_int_equal(f.value[0], 0xD4);
	assert_int_equal(wk_tlv_find(t.value, t.len, 0x34, &f), WK_TLV_OK);
	assert_int_equal(f.len, 16);
	/* no certificates yet */
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 05 00"), 0x6A82);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 0A 00"), 0x6A82);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 0B 00"), 0x6A82);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 01 00"), 0x6A82);
	/* PIN-protected objects answer 6982 before the PIN (access before existence) */
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 09 08"), 0x6982);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 03 08"), 0x6982);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 21 08"), 0x6982);
	verify_pin(h);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 09 08"), 0x6A82);
	/* the attestation certificate exists from --init */
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F FF 01 00"), 0x9000);
	assert_int_equal(rbuf[0], 0x53);
}

/* ykpiv 2.2 connect: SELECT without Le, status, version, serial (piv.md 1.6) */
static void
test_ykpiv_connect(void **state)
{
	piv_h *h = *state;
	uint32_t serial;

	assert_int_equal(tx(h, "00 A4 04 00 05 A0 00 00 03 08"), 0x9000);
	assert_true(rlen > 0);
	assert_int_equal(tx(h, "00 20 00 80 00"), 0x63C3);
	assert_int_equal(tx(h, "00 FD 00 00 00"), 0x9000);
	assert_int_equal(rlen, 3);
	assert_int_equal(rbuf[0], 5);
	assert_int_equal(tx(h, "00 FD 00 00"), 0x9000);
	assert_int_equal(rlen, 3);
	assert_int_equal(tx(h, "00 F8 00 00 00"), 0x9000);
	assert_int_equal(rlen, 4);
	serial = (uint32_t)rbuf[0] << 24 | (uint32_t)rbuf[1] << 16 |
	    (uint32_t)rbuf[2] << 8 | rbuf[3];
	assert_true(serial < 0x80000000u);
}

static void
test_get_data_errors(void **state)
{
	piv_h *h = *state;

	assert_int_equal(tx(h, "00 CB 3F FE 05 5C 03 5F C1 02 00"), 0x6A86);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 04 5F C1 02 00"), 0x6A80);
	assert_int_equal(tx(h, "00 CB 3F FF 06 5C 04 5F C1 02 01"), 0x6A80);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5D 03 5F C1 02"), 0x6A80);
	assert_int_equal(tx(h, "00 CB 3F FF 07 5C 03 5F C1 02 00 00"), 0x6A80);
	assert_int_equal(tx(h, "00 CB 3F FF 02 5C 00"), 0x6A80);
	assert_int_equal(tx(h, "00 CB 3F FF"), 0x6A80);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 FF"), 0x6A82);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 24"), 0x6A82);
	assert_int_equal(tx(h, "00 CB 3F FF 04 5C 02 7F 61"), 0x6A82);
	assert_int_equal(tx(h, "80 CB 3F FF 05 5C 03 5F C1 02"), 0x6E00);
	assert_int_equal(tx(h, "00 CA 3F FF 05 5C 03 5F C1 02"), 0x6D00);
}

/* ---- PIN (piv.md 2.3-2.5) ---- */

static void
test_verify(void **state)
{
	piv_h *h = *state;
	uint8_t d0[32], d1[32];

	assert_int_equal(tx(h, "00 20 00 80"), 0x63C3);
	assert_int_equal(tx(h, "00 20 00 80 00"), 0x63C3);
	digest(h, d0);
	/* wrong shapes change nothing */
	assert_int_equal(tx(h, "00 20 00 80 06 313233343536"), 0x6A80);
	assert_int_equal(tx(h, "00 20 00 80 09 313233343536FFFFFF"), 0x6A80);
	assert_int_equal(tx(h, "00 20 00 81 08 " PIN_OK), 0x6A88);
	assert_int_equal(tx(h, "00 20 00 00 08 " PIN_OK), 0x6A88);
	assert_int_equal(tx(h, "00 20 01 80 08 " PIN_OK), 0x6A86);
	assert_int_equal(tx(h, "00 20 FF 80 08 " PIN_OK), 0x6A80);
	digest(h, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(tx(h, "00 20 00 80"), 0x63C3);

	assert_int_equal(tx(h, "00 20 00 80 08 " PIN_BAD), 0x63C2);
	assert_int_equal(tx(h, "00 20 00 80"), 0x63C2);
	verify_pin(h);
	assert_int_equal(tx(h, "00 20 00 80"), 0x9000);
	assert_int_equal(tx(h, "00 20 00 80 00"), 0x9000);
	/* the status query is not a use of the PIN */
	assert_int_equal(tx(h, "00 20 00 80"), 0x9000);
	assert_int_equal(tx(h, "00 20 FF 80"), 0x9000);
	assert_int_equal(tx(h, "00 20 00 80"), 0x63C3);
	/* a failed VERIFY logs out */
	verify_pin(h);
	assert_int_equal(tx(h, "00 20 00 80 08 " PIN_BAD), 0x63C2);
	assert_int_equal(tx(h, "00 20 00 80"), 0x63C2);
}

static void
test_verify_counter_persists(void **state)
{
	piv_h *h = *state;
	unsigned cp = ph_checkpoints(h);

	assert_int_equal(tx(h, "00 20 00 80 08 " PIN_BAD), 0x63C2);
	/* the try was committed before the comparison */
	assert_true(ph_checkpoints(h) > cp);
	ph_reopen(h);
	assert_int_equal(tx(h, "00 20 00 80"), 0x63C2);
	assert_int_equal(tx(h, "00 20 00 80 08 " PIN_BAD), 0x63C1);
	ph_reopen(h);
	assert_int_equal(tx(h, "00 20 00 80 08 " PIN_BAD), 0x63C0);
	ph_reopen(h);
	assert_int_equal(tx(h, "00 20 00 80"), 0x6983);
	assert_int_equal(tx(h, "00 20 00 80 08 " PIN_OK), 0x6983);
	assert_int_equal(tx(h, "00 20 00 80"), 0x6983);
	/* PUK unblocks */
	assert_int_equal(tx(h, "00 2C 00 80 10 " PUK_OK "313131313131FFFF"), 0x9000);
	assert_int_equal(tx(h, "00 20 00 80"), 0x63C3);
	assert_int_equal(tx(h, "00 20 00 80 08 313131313131FFFF"), 0x9000);
}

static void
test_change_pin(void **state)
{
	piv_h *h = *state;
	uint8_t d0[32], d1[32];

	digest(h, d0);
	assert_int_equal(tx(h, "00 24 00 80 10 " PIN_OK "3132333435FFFFFF"), 0x6A80);
	assert_int_equal(tx(h, "00 24 00 80 10 " PIN_OK "31FF333435363738"), 0x6A80);
	assert_int_equal(tx(h, "00 24 00 80 08 " PIN_OK), 0x6A80);
	assert_int_equal(tx(h, "00 24 00 82 10 " PIN_OK "3837363534333231"), 0x6A88);
	assert_int_equal(tx(h, "00 24 01 80 10 " PIN_OK "3837363534333231"), 0x6A86);
	digest(h, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(tx(h, "00 24 00 80 10 " PIN_BAD "3837363534333231"), 0x63C2);
	assert_int_equal(tx(h, "00 24 00 80 10 " PIN_OK "3837363534333231"), 0x9000);
	assert_int_equal(tx(h, "00 20 00 80"), 0x63C3);
	assert_int_equal(tx(h, "00 20 00 80 08 " PIN_OK), 0x63C2);
	assert_int_equal(tx(h, "00 20 00 80 08 3837363534333231"), 0x9000);
	/* PUK */
	assert_int_equal(tx(h, "00 24 00 81 10 " PUK_OK "3837363534333231"), 0x9000);
	assert_int_equal(tx(h, "00 24 00 81 10 " PUK_OK "3837363534333231"), 0x63C2);
	assert_int_equal(tx(h, "00 24 00 81 10 3837363534333231" PUK_OK), 0x9000);
}

static void
test_reset_retry(void **state)
{
	piv_h *h = *state;
	uint8_t d0[32], d1[32];

	digest(h, d0);
	assert_int_equal(tx(h, "00 2C 00 81 10 " PUK_OK PIN_OK), 0x6A88);
	assert_int_equal(tx(h, "00 2C 00 80 10 " PUK_OK "31FFFFFFFFFFFFFF"), 0x6A80);
	assert_int_equal(tx(h, "00 2C 00 80 08 " PUK_OK), 0x6A80);
	digest(h, d1);
	assert_memory_equal(d0, d1, 32);
	for (int i = 2; i >= 0; i--)
		assert_int_equal(tx(h, "00 2C 00 80 10 3838383838383838" PIN_OK),
		    0x63C0 | i);
	assert_int_equal(tx(h, "00 2C 00 80 10 " PUK_OK PIN_OK), 0x6983);
	/* PIN still usable */
	verify_pin(h);
}

/* ---- 9B (piv.md 2.7 a-c) ---- */

static void
test_mgm_mutual(void **state)
{
	piv_h *h = *state;
	uint8_t d0[32], d1[32];

	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F C1 09 53 02 01 00"), 0x6982);
	digest(h, d0);
	/* a wrong key fails and changes nothing */
	assert_int_equal(mgm_auth_key(h, "0102030405060708010203040506070801020304050607FF", 0x03), 0x6982);
	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F C1 09 53 02 01 00"), 0x6982);
	/* algorithm mismatch */
	assert_int_equal(tx(h, "00 87 08 9B 04 7C 02 80 00"), 0x6A80);
	/* step 2 without step 1 */
	assert_int_equal(tx(h, "00 87 03 9B 16 7C 14 80 08 0000000000000000 81 08 0000000000000000"), 0x6982);
	/* malformed templates */
	assert_int_equal(tx(h, "00 87 03 9B 04 7C 03 80 00"), 0x6A80);
	assert_int_equal(tx(h, "00 87 03 9B 04 7D 02 80 00"), 0x6A80);
	assert_int_equal(tx(h, "00 87 03 9B 06 7C 04 80 00 80 00"), 0x6A80);
	assert_int_equal(tx(h, "00 87 03 9B 04 7C 02 83 00"), 0x6A80);
	digest(h, d1);
	assert_memory_equal(d0, d1, 32);
	mgm_auth(h);
	/* P1 00 means the key's own algorithm */
	assert_int_equal(mgm_auth_key(h, MGM_DEFAULT, 0x03), 0x9000);
	assert_int_equal(tx(h, "00 DB 3F FF 0A 5C 03 5F C1 09 53 03 01 01 41"), 0x9000);
	/* a witness is one-shot */
	assert_int_equal(tx(h, "00 87 03 9B 04 7C 02 80 00"), 0x9000);
}

static void
test_mgm_external_and_challenge(void **state)
{
	piv_h *h = *state;
	uint8_t c[8], e[8];
	char eh[20];

	/* OpenSC's GET CHALLENGE: P1 00, repeatable */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tx(h, "00 87 00 9B 04 7C 02 81 00"), 0x9000);
		assert_int_equal(rlen, 12);
		assert_int_equal(rbuf[2], 0x81);
	}
	memcpy(c, rbuf + 4, 8);
	ecb(MGM_DEFAULT, 0x03, c, e, 8);
	hexs(e, 8, eh);
	assert_int_equal(txf(h, "00 87 03 9B 0C 7C 0A 82 08 %s", eh), 0x9000);
	assert_int_equal(rlen, 0);
	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F C1 0C 53 02 FE 00"), 0x9000);
	/* replaying the response fails: the challenge is one-shot */
	assert_int_equal(txf(h, "00 87 03 9B 0C 7C 0A 82 08 %s", eh), 0x6982);
	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F C1 0C 53 02 FE 00"), 0x6982);
}

static void
test_set_mgm_aes(void **state)
{
	piv_h *h = *state;
	static const char *aes = "00112233445566778899AABBCCDDEEFF0011223344556677";
	uint8_t d0[32], d1[32];

	assert_int_equal(txf(h, "00 FF FF FF 1B 0A 9B 18 %s", aes), 0x6982);
	mgm_auth(h);
	digest(h, d0);
	assert_int_equal(txf(h, "00 FF FF FF 1B 0A 9B 10 %s", aes), 0x6A80);
	assert_int_equal(txf(h, "00 FF FF FF 1B 0B 9B 18 %s", aes), 0x6A80);
	assert_int_equal(txf(h, "00 FF FF FE 1B 0A 9B 18 %s", aes), 0x6A86);
	digest(h, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(tx(h, "00 F7 00 9B"), 0x9000);
	assert_true(resp_is("01 01 03 02 02 01 01 05 01 01"));
	assert_int_equal(txf(h, "00 FF FF FF 1B 0A 9B 18 %s", aes), 0x9000);
	assert_int_equal(tx(h, "00 F7 00 9B"), 0x9000);
	assert_true(resp_is("01 01 0A 02 02 01 01 05 01 00"));
	ph_reset(h);
	assert_int_equal(mgm_auth_key(h, MGM_DEFAULT, 0x03), 0x6A80);
	assert_int_equal(mgm_auth_key(h, aes, 0x0A), 0x9000);
	assert_int_equal(mgm_auth_key(h, aes, 0x00), 0x9000);
}

/* ---- PUT DATA (piv.md 2.2) ---- */

/*
 * walletkey's data objects (docs/pkcs11.md): 5FFF20..2F public, 5FFF30..3F
 * read after VERIFY; the PIN writes them, but never the PIV containers
 */
static void
test_user_objects(void **state)
{
	piv_h *h = *state;
	uint8_t d0[32], d1[32];

	digest(h, d0);
	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F FF 30 53 02 04 00"), 0x6982);
	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F FF 20 53 02 04 00"), 0x6982);
	assert_int_equal(tx(h, "00 DB 3F FF 02 5C 01"), 0x6982);
	digest(h, d1);
	assert_memory_equal(d0, d1, 32);
	verify_pin(h);
	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F FF 30 53 02 04 01"), 0x9000);
	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F FF 20 53 02 04 02"), 0x9000);
	/* the PIN alone writes no PIV container and no other Yubico object */
	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F C1 05 53 02 01 00"), 0x6982);
	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F FF 00 53 02 80 00"), 0x6982);
	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F FF 40 53 02 04 00"), 0x6982);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F FF 30 00"), 0x9000);
	ph_reset(h);
	/* after a reset: the public one reads, the private one wants the PIN */
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F FF 20 00"), 0x9000);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F FF 30 00"), 0x6982);
	assert_int_equal(tx(h, "00 DB 3F FF 07 5C 03 5F FF 20 53 00"), 0x6982);
	verify_pin(h);
	assert_int_equal(tx(h, "00 DB 3F FF 07 5C 03 5F FF 20 53 00"), 0x9000);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F FF 20 00"), 0x6A82);
}

static void
test_put_data(void **state)
{
	piv_h *h = *state;
	uint8_t d0[32], d1[32];
	char frag[600];
	size_t total = 3063, sent = 0;
	wk_tlv t;

	mgm_auth(h);
	digest(h, d0);
	assert_int_equal(tx(h, "00 DB 3F FE 09 5C 03 5F C1 05 53 02 01 00"), 0x6A86);
	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F C1 05 53 03 01 00"), 0x6A80);
	assert_int_equal(tx(h, "00 DB 3F FF 0B 5C 03 5F C1 05 53 02 01 00 00 00"), 0x6A80);
	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F C1 05 54 02 01 00"), 0x6A80);
	assert_int_equal(tx(h, "00 DB 3F FF 05 5C 03 5F C1 05"), 0x6A80);
	assert_int_equal(tx(h, "00 DB 3F FF 09 5C 03 5F C2 05 53 02 01 00"), 0x6A80);
	assert_int_equal(tx(h, "00 DB 3F FF 07 5C 01 7E 53 02 01 00"), 0x6A81);
	digest(h, d1);
	assert_memory_equal(d0, d1, 32);

	/* a 3063-byte object in 255-byte CLA 10 fragments (53 82 0B F7 ...) */
	{
		uint8_t body[3100];
		size_t n = 0;

		memcpy(body, "\x5C\x03\x5F\xC1\x05\x53\x82", 7);
		body[7] = (uint8_t)(total >> 8);
		body[8] = (uint8_t)total;
		n = 9;
		for (size_t i = 0; i < total; i++)
			body[n++] = (uint8_t)i;
		while (sent < n) {
			size_t c = n - sent > 255 ? 255 : n - sent;
			char hx[520];

			hexs(body + sent, c, hx);
			snprintf(frag, sizeof(frag), "%s DB 3F FF %02X %s",
			    sent + c < n ? "10" : "00", (unsigned)c, hx);
			assert_int_equal(tx(h, frag), 0x9000);
			sent += c;
		}
	}
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 05 00"), 0x9000);
	assert_int_equal(wk_tlv_parse_one(rbuf, rlen, 0x53, &t), WK_TLV_OK);
	assert_int_equal(t.len, total);
	assert_int_equal(t.value[1000], (uint8_t)1000);
	/* 53 00 deletes */
	assert_int_equal(tx(h, "00 DB 3F FF 07 5C 03 5F C1 05 53 00"), 0x9000);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 05 00"), 0x6A82);
	assert_int_equal(tx(h, "00 DB 3F FF 07 5C 03 5F C1 05 53 00"), 0x9000);
	/* Yubico objects */
	assert_int_equal(tx(h, "00 DB 3F FF 0C 5C 03 5F FF 00 53 05 80 03 81 01 00"), 0x9000);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F FF 00 00"), 0x9000);
	assert_true(resp_is("53 05 80 03 81 01 00"));
	/* printed info needs the PIN to read */
	assert_int_equal(tx(h, "00 DB 3F FF 0A 5C 03 5F C1 09 53 03 88 01 00"), 0x9000);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 09 00"), 0x6982);
	verify_pin(h);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 09 00"), 0x9000);
	assert_true(resp_is("53 03 88 01 00"));
}

/* ---- keys (piv.md 2.7 d-e, 2.8) ---- */

static EVP_PKEY *
ec_pub(const uint8_t *pt, size_t n, const char *group)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;
	OSSL_PARAM p[3];

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, n);
	p[2] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, p), 1);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

static EVP_PKEY *
rsa_pub(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
	OSSL_PARAM *p;
	EVP_PKEY *pk = NULL;

	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be);
	p = OSSL_PARAM_BLD_to_param(b);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, p), 1);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

static EVP_PKEY *
gen_ec(piv_h *h, uint8_t slot, uint8_t alg)
{
	uint8_t pt[97];
	size_t n = alg == 0x11 ? 65 : 97;

	assert_int_equal(txf(h, "00 47 00 %02X 05 AC 03 80 01 %02X", slot, alg), 0x9000);
	assert_int_equal(rbuf[0], 0x7F);
	assert_int_equal(rbuf[1], 0x49);
	assert_int_equal(rbuf[2], n + 2);
	assert_int_equal(rbuf[3], 0x86);
	assert_int_equal(rbuf[4], n);
	assert_int_equal(rbuf[5], 0x04);
	assert_int_equal(rlen, 5 + n);
	memcpy(pt, rbuf + 5, n);
	return ec_pub(pt, n, alg == 0x11 ? "prime256v1" : "secp384r1");
}

static uint16_t
sign_hash(piv_h *h, uint8_t alg, uint8_t slot, const uint8_t *hash, size_t n)
{
	char hx[300];

	hexs(hash, n, hx);
	return txf(h, "00 87 %02X %02X %02X 7C %02X 82 00 81 %02X %s 00", alg, slot,
	    (unsigned)(n + 6), (unsigned)(n + 4), (unsigned)n, hx);
}

static void
check_ecdsa(EVP_PKEY *pub, const uint8_t *hash, size_t n)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	wk_tlv t;

	assert_int_equal(wk_tlv_parse_one(rbuf, rlen, 0x7C, &t), WK_TLV_OK);
	assert_int_equal(t.value[0], 0x82);
	assert_int_equal(wk_tlv_parse_one(t.value, t.len, 0x82, &t), WK_TLV_OK);
	assert_int_equal(t.value[0], 0x30);	/* DER */
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(EVP_PKEY_verify(ctx, t.value, t.len, hash, n), 1);
	EVP_PKEY_CTX_free(ctx);
}

static void
test_generate_p256_sign(void **state)
{
	piv_h *h = *state;
	uint8_t hash[32], d0[32], d1[32];
	EVP_PKEY *pub;

	memset(hash, 0xA5, sizeof(hash));
	assert_int_equal(tx(h, "00 47 00 9A 05 AC 03 80 01 11"), 0x6982);
	mgm_auth(h);
	digest(h, d0);
	assert_int_equal(tx(h, "00 47 00 9B 05 AC 03 80 01 11"), 0x6A86);
	assert_int_equal(tx(h, "00 47 01 9A 05 AC 03 80 01 11"), 0x6A86);
	assert_int_equal(tx(h, "00 47 00 9A 05 AC 03 80 01 12"), 0x6A80);
	assert_int_equal(tx(h, "00 47 00 9A 05 AD 03 80 01 11"), 0x6A80);
	assert_int_equal(tx(h, "00 47 00 9A 05 AC 04 80 01 11"), 0x6A80);
	assert_int_equal(tx(h, "00 47 00 9A 08 AC 06 80 01 11 AA 01 04"), 0x6A80);
	assert_int_equal(tx(h, "00 47 00 9A 08 AC 06 80 01 11 AB 01 02"), 0x6A80);
	assert_int_equal(tx(h, "00 47 00 9A 08 AC 06 80 01 11 AC 01 02"), 0x6A80);
	digest(h, d1);
	assert_memory_equal(d0, d1, 32);
	/* empty slot */
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x6A86);

	pub = gen_ec(h, 0x9A, 0x11);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x6982);
	verify_pin(h);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	check_ecdsa(pub, hash, 32);
	/* PIN once: still usable */
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 20), 0x9000);
	check_ecdsa(pub, hash, 20);
	/* wrong algorithm for the key */
	assert_int_equal(sign_hash(h, 0x07, 0x9A, hash, 32), 0x6A80);
	assert_int_equal(sign_hash(h, 0x14, 0x9A, hash, 32), 0x6A80);
	/* malformed templates */
	assert_int_equal(tx(h, "00 87 11 9A 06 7C 04 81 02 01 02"), 0x6A80);
	assert_int_equal(tx(h, "00 87 11 9A 08 7C 06 82 00 81 03 01 02"), 0x6A80);
	assert_int_equal(tx(h, "00 87 11 9A 0A 7C 08 82 01 00 81 03 01 02 03"), 0x6A80);
	assert_int_equal(tx(h, "00 87 11 9A 09 7C 07 82 00 83 03 01 02 03"), 0x6A80);
	assert_int_equal(tx(h, "00 87 11 80 09 7C 07 82 00 81 03 01 02 03"), 0x6A86);
	/* logout */
	assert_int_equal(tx(h, "00 20 FF 80"), 0x9000);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x6982);
	/* the key survives a restart */
	ph_reopen(h);
	verify_pin(h);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	check_ecdsa(pub, hash, 32);
	EVP_PKEY_free(pub);
}

static void
test_pin_policies(void **state)
{
	piv_h *h = *state;
	uint8_t hash[48];
	EVP_PKEY *p9c, *p9e, *p9d;

	memset(hash, 0x11, sizeof(hash));
	mgm_auth(h);
	p9c = gen_ec(h, 0x9C, 0x11);
	p9e = gen_ec(h, 0x9E, 0x14);
	/* 9D with PIN policy "never" from AA */
	assert_int_equal(tx(h, "00 47 00 9D 08 AC 06 80 01 11 AA 01 01"), 0x9000);
	p9d = ec_pub(rbuf + 5, 65, "prime256v1");
	/* 9E: never */
	assert_int_equal(sign_hash(h, 0x14, 0x9E, hash, 48), 0x9000);
	check_ecdsa(p9e, hash, 48);
	assert_int_equal(sign_hash(h, 0x11, 0x9D, hash, 32), 0x9000);
	check_ecdsa(p9d, hash, 32);
	/* 9C: one operation per VERIFY; the status query in between does not count */
	assert_int_equal(sign_hash(h, 0x11, 0x9C, hash, 32), 0x6982);
	verify_pin(h);
	assert_int_equal(tx(h, "00 20 00 80"), 0x9000);
	assert_int_equal(tx(h, "00 CB 3F FF 03 5C 01 7E 00"), 0x9000);
	assert_int_equal(sign_hash(h, 0x11, 0x9C, hash, 32), 0x9000);
	check_ecdsa(p9c, hash, 32);
	assert_int_equal(sign_hash(h, 0x11, 0x9C, hash, 32), 0x6982);
	verify_pin(h);
	/* bad input does not use up the permission */
	assert_int_equal(sign_hash(h, 0x11, 0x9C, hash, 0), 0x6A80);
	assert_int_equal(sign_hash(h, 0x11, 0x9C, hash, 32), 0x9000);
	/* AA 03 makes 9A PIN-always */
	assert_int_equal(tx(h, "00 47 00 9A 08 AC 06 80 01 11 AA 01 03"), 0x9000);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x6982);
	verify_pin(h);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x6982);
	EVP_PKEY_free(p9c);
	EVP_PKEY_free(p9e);
	EVP_PKEY_free(p9d);
}

static EVP_PKEY *
gen_rsa(piv_h *h, uint8_t slot, uint8_t alg, size_t bytes)
{
	wk_tlv t, m, e;
	size_t hl = bytes > 255 ? 4 : 3;

	assert_int_equal(txf(h, "00 47 00 %02X 05 AC 03 80 01 %02X", slot, alg), 0x9000);
	assert_int_equal(wk_tlv_parse_one(rbuf, rlen, 0x7F49, &t), WK_TLV_OK);
	if (bytes == 256)
		assert_memory_equal(rbuf, "\x7F\x49\x82\x01\x09\x81\x82\x01\x00", 9);
	assert_int_equal(wk_tlv_parse_one(t.value, bytes + hl, 0x81, &m), WK_TLV_OK);
	assert_int_equal(m.len, bytes);
	assert_int_equal(wk_tlv_parse_one(t.value + bytes + hl, t.len - bytes - hl, 0x82, &e), WK_TLV_OK);
	assert_int_equal(e.len, 3);
	assert_memory_equal(e.value, "\x01\x00\x01", 3);
	return rsa_pub(m.value, m.len, e.value, e.len);
}

/* the chained RSA-2048 sign of piv.md 1.2: 7C 82 01 06 82 00 81 82 01 00 <256> */
static void
rsa_sign_chained_le(piv_h *h, uint8_t slot, const uint8_t *in, bool with_le)
{
	uint8_t apdu[300], body[266];
	size_t n = 0;

	memcpy(body, "\x7C\x82\x01\x06\x82\x00\x81\x82\x01\x00", 10);
	memcpy(body + 10, in, 256);
	memcpy(apdu, "\x10\x87\x07", 3);
	apdu[3] = slot;
	apdu[4] = 0xFF;
	memcpy(apdu + 5, body, 255);
	assert_int_equal(ph_txb(h, apdu, 260, rbuf, sizeof(rbuf), &rlen), 0x9000);
	assert_int_equal(rlen, 0);
	apdu[0] = 0x00;
	apdu[4] = 11;
	memcpy(apdu + 5, body + 255, 11);
	apdu[16] = 0x00;
	/* OpenSC sends Le on the last fragment, ykpiv 2.2 does not */
	n = with_le ? 17 : 16;
	(void)ph_txb(h, apdu, n, rbuf, sizeof(rbuf), &rlen);
}

static void
rsa_sign_chained(piv_h *h, uint8_t slot, const uint8_t *in)
{
	rsa_sign_chained_le(h, slot, in, true);
}

static void
test_generate_rsa2048_sign(void **state)
{
	piv_h *h = *state;
	uint8_t in[256], out[256];
	EVP_PKEY *pub;
	EVP_PKEY_CTX *ctx;
	size_t olen = sizeof(out);
	wk_tlv t;
	uint16_t sw;

	mgm_auth(h);
	pub = gen_rsa(h, 0x9A, 0x07, 256);
	verify_pin(h);
	/* PKCS#1 v1.5 block as OpenSC builds it */
	memset(in, 0xFF, sizeof(in));
	in[0] = 0x00;
	in[1] = 0x01;
	in[200] = 0x00;
	memset(in + 201, 0x42, 55);
	rsa_sign_chained(h, 0x9A, in);
	assert_memory_equal(rbuf, "\x7C\x82\x01\x04\x82\x82\x01\x00", 8);
	assert_int_equal(wk_tlv_parse_one(rbuf, rlen, 0x7C, &t), WK_TLV_OK);
	/* raw public operation gives the input back */
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
	EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING);
	assert_int_equal(EVP_PKEY_encrypt(ctx, out, &olen, rbuf + 8, 256), 1);
	assert_memory_equal(out, in, 256);
	/* the same without Le: still 256 bytes + 61 08, then GET RESPONSE */
	rsa_sign_chained_le(h, 0x9A, in, false);
	assert_int_equal(rlen, 264);
	olen = sizeof(out);
	assert_int_equal(EVP_PKEY_encrypt(ctx, out, &olen, rbuf + 8, 256), 1);
	assert_memory_equal(out, in, 256);
	/* our middleware may send one extended APDU and get all 264 bytes at once */
	{
		uint8_t apdu[300];

		memcpy(apdu, "\x00\x87\x07\x9A\x00\x01\x0A\x7C\x82\x01\x06\x82\x00\x81\x82\x01\x00", 17);
		memcpy(apdu + 17, in, 256);
		apdu[273] = 0x00;
		apdu[274] = 0x00;
		assert_int_equal(ph_raw_bin(h, apdu, 275, rbuf, sizeof(rbuf), &rlen), 0x9000);
		assert_int_equal(rlen, 264);
		olen = sizeof(out);
		assert_int_equal(EVP_PKEY_encrypt(ctx, out, &olen, rbuf + 8, 256), 1);
		assert_memory_equal(out, in, 256);
	}
	/* input >= n */
	memset(in, 0xFF, sizeof(in));
	rsa_sign_chained(h, 0x9A, in);
	assert_int_equal(rlen, 0);
	sw = sign_hash(h, 0x07, 0x9A, in, 128);
	assert_int_equal(sw, 0x6A80);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pub);
}

/* the newest record of the audit log */
static void
newest_record(piv_h *h, wk_arec *r)
{
	uint8_t raw[WK_AREC_LEN];
	audit_state s;
	unsigned n = 0;
	uint64_t first = 0;
	wk_buf b;

	assert_int_equal(audit_log_state(ph_card(h), &s), AUDIT_LOG_OK);
	wk_buf_init_fixed(&b, raw, sizeof(raw));
	assert_int_equal(audit_log_read(ph_card(h), s.head_seq, 1, &b, &n, &first),
	    AUDIT_LOG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(wk_arec_decode(raw, sizeof(raw), r), WK_AREC_OK);
}

static uint64_t
audit_head(piv_h *h)
{
	audit_state s;

	assert_int_equal(audit_log_state(ph_card(h), &s), AUDIT_LOG_OK);
	return s.head_seq;
}

/*
 * docs/audit.md "Signatures and decryptions": each operation of the 9C
 * and 9D keys is a record (slot, algorithm, what it worked on as SHA-256,
 * the time), in the command's commit; 9A's are not; a full log refuses the
 * operation (6A84) and changes nothing
 */
static void
test_audit_records(void **state)
{
	piv_h *h = *state;
	uint8_t hash[32], d[32], before[32], after[32], pt[65];
	size_t plen = sizeof(pt);
	char hx[200];
	EVP_PKEY *mine, *p9d;
	wk_arec r;
	uint64_t head;

	memset(hash, 0x42, sizeof(hash));
	mgm_auth(h);
	EVP_PKEY_free(gen_ec(h, 0x9A, 0x11));
	EVP_PKEY_free(gen_ec(h, 0x9C, 0x11));
	p9d = gen_ec(h, 0x9D, 0x11);
	head = audit_head(h);
	verify_pin(h);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	assert_int_equal(audit_head(h), head);
	verify_pin(h);
	assert_int_equal(sign_hash(h, 0x11, 0x9C, hash, 32), 0x9000);
	assert_int_equal(audit_head(h), head + 1);
	newest_record(h, &r);
	crypto_hash_sha256(d, hash, sizeof(hash));
	assert_int_equal(r.type, WK_AREC_PIV_SIGN);
	assert_int_equal(r.src[0], WK_AREC_ACCT_PIV);
	assert_int_equal(r.src[1], 0x9C);
	assert_int_equal(r.src[2], 0x11);
	assert_int_equal(r.src[3], 0x81);
	assert_int_equal(r.dst[0], WK_AREC_ACCT_DIGEST);
	assert_memory_equal(r.dst + 1, d, 10);
	assert_memory_equal(r.term_id, d + 10, 6);
	assert_int_equal(r.amount, 0);
	assert_true(r.date[0] == 0x20);
	/* a refused operation writes nothing */
	verify_pin(h);
	assert_int_equal(sign_hash(h, 0x11, 0x9C, hash, 0), 0x6A80);
	assert_int_equal(audit_head(h), head + 1);
	/* 9D key agreement: a decryption record over the peer's point */
	mine = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_int_equal(EVP_PKEY_get_octet_string_param(mine,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &plen), 1);
	hexs(pt, plen, hx);
	assert_int_equal(txf(h, "00 87 11 9D 47 7C 45 82 00 85 41 %s 00", hx),
	    0x9000);
	newest_record(h, &r);
	crypto_hash_sha256(d, pt, plen);
	assert_int_equal(r.type, WK_AREC_PIV_DECRYPT);
	assert_int_equal(r.src[1], 0x9D);
	assert_int_equal(r.src[3], 0x85);
	assert_memory_equal(r.dst + 1, d, 10);
	assert_int_equal(audit_head(h), head + 2);
	/* a full log (capacity 2, nothing acknowledged): refused, unchanged */
	assert_int_equal(vc_store_begin(vc_card_store(ph_card(h))), VC_STORE_OK);
	{
		audit_state s;

		assert_int_equal(audit_log_state(ph_card(h), &s), AUDIT_LOG_OK);
		s.cap = (uint32_t)(s.head_seq - s.base_seq);
		assert_int_equal(audit_log_create(ph_card(h), s.cap), AUDIT_LOG_OK);
	}
	assert_int_equal(vc_store_commit(vc_card_store(ph_card(h))), VC_STORE_OK);
	assert_int_equal(audit_head(h), 0);
	for (uint64_t i = 0; i < head + 2; i++) {
		verify_pin(h);
		assert_int_equal(sign_hash(h, 0x11, 0x9C, hash, 32), 0x9000);
	}
	verify_pin(h);
	ph_store_digest(h, before);
	assert_int_equal(sign_hash(h, 0x11, 0x9C, hash, 32), 0x6A84);
	assert_int_equal(txf(h, "00 87 11 9D 47 7C 45 82 00 85 41 %s 00", hx),
	    0x6A84);
	ph_store_digest(h, after);
	assert_memory_equal(before, after, 32);
	/* 9A is not logged, so it still signs */
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(p9d);
}

static void
test_ecdh_and_25519(void **state)
{
	piv_h *h = *state;
	EVP_PKEY *pub, *mine, *edpub;
	EVP_PKEY_CTX *ctx;
	uint8_t pt[65], secret[64], msg[300];
	size_t plen = sizeof(pt), slen = sizeof(secret);
	char hx[700];
	EVP_MD_CTX *md;

	mgm_auth(h);
	verify_pin(h);
	pub = gen_ec(h, 0x9D, 0x11);
	mine = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_int_equal(EVP_PKEY_get_octet_string_param(mine,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &plen), 1);
	hexs(pt, plen, hx);
	assert_int_equal(txf(h, "00 87 11 9D 47 7C 45 82 00 85 41 %s 00", hx), 0x9000);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, pub), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, secret, &slen), 1);
	assert_int_equal(slen, 32);
	assert_int_equal(rlen, 36);
	assert_memory_equal(rbuf + 4, secret, 32);
	EVP_PKEY_CTX_free(ctx);
	/* a point off the curve, a compressed point, a short point */
	pt[64] ^= 1;
	hexs(pt, plen, hx);
	assert_int_equal(txf(h, "00 87 11 9D 47 7C 45 82 00 85 41 %s 00", hx), 0x6A80);
	assert_int_equal(txf(h, "00 87 11 9D 27 7C 25 82 00 85 21 02%.64s 00", hx + 2), 0x6A80);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(pub);

	/* X25519 in 9D */
	assert_int_equal(tx(h, "00 47 00 9D 05 AC 03 80 01 E1"), 0x9000);
	assert_memory_equal(rbuf, "\x7F\x49\x22\x86\x20", 5);
	pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, rbuf + 5, 32);
	mine = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	plen = 32;
	EVP_PKEY_get_raw_public_key(mine, pt, &plen);
	hexs(pt, 32, hx);
	assert_int_equal(txf(h, "00 87 E1 9D 26 7C 24 82 00 85 20 %s", hx), 0x9000);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	slen = sizeof(secret);
	EVP_PKEY_derive_init(ctx);
	EVP_PKEY_derive_set_peer(ctx, pub);
	assert_int_equal(EVP_PKEY_derive(ctx, secret, &slen), 1);
	assert_memory_equal(rbuf + 4, secret, 32);
	assert_int_equal(txf(h, "00 87 E1 9D 26 7C 24 82 00 81 20 %s", hx), 0x6A80);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(pub);

	/* Ed25519 in 9C: PureEdDSA over a 300-byte message (chained by hosts) */
	assert_int_equal(tx(h, "00 47 00 9C 05 AC 03 80 01 E0"), 0x9000);
	edpub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, rbuf + 5, 32);
	memset(msg, 0x33, sizeof(msg));
	{
		uint8_t apdu[400];

		memcpy(apdu, "\x00\x87\xE0\x9C\x00\x01\x36\x7C\x82\x01\x32\x82\x00\x81\x82\x01\x2C", 17);
		memcpy(apdu + 17, msg, 300);
		verify_pin(h);
		assert_int_equal(ph_txb(h, apdu, 317, rbuf, sizeof(rbuf), &rlen), 0x9000);
	}
	assert_int_equal(rlen, 68);
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, edpub, NULL), 1);
	assert_int_equal(EVP_DigestVerify(md, rbuf + 4, 64, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(edpub);
}

static void
test_metadata(void **state)
{
	piv_h *h = *state;

	assert_int_equal(tx(h, "00 F7 00 80"), 0x9000);
	assert_true(resp_is("01 01 FF 05 01 01 06 02 03 03"));
	assert_int_equal(tx(h, "00 F7 00 81"), 0x9000);
	assert_true(resp_is("01 01 FF 05 01 01 06 02 03 03"));
	assert_int_equal(tx(h, "00 F7 00 9B"), 0x9000);
	assert_true(resp_is("01 01 03 02 02 01 01 05 01 01"));
	assert_int_equal(tx(h, "00 F7 00 9A"), 0x6A82);
	assert_int_equal(tx(h, "00 F7 00 42"), 0x6A88);
	assert_int_equal(tx(h, "00 F7 01 9A"), 0x6A86);
	assert_int_equal(tx(h, "00 20 00 80 08 " PIN_BAD), 0x63C2);
	assert_int_equal(tx(h, "00 F7 00 80"), 0x9000);
	assert_true(resp_is("01 01 FF 05 01 01 06 02 03 02"));
	mgm_auth(h);
	assert_int_equal(tx(h, "00 47 00 9C 05 AC 03 80 01 11"), 0x9000);
	assert_int_equal(tx(h, "00 F7 00 9C"), 0x9000);
	assert_memory_equal(rbuf, "\x01\x01\x11\x02\x02\x03\x01\x03\x01\x01\x04\x43\x86\x41\x04", 15);
	assert_int_equal(tx(h, "00 F7 00 F9"), 0x9000);
	assert_memory_equal(rbuf, "\x01\x01\x11\x02\x02\x01\x01", 7);
}

static void
test_import(void **state)
{
	piv_h *h = *state;
	EVP_PKEY *k;
	BIGNUM *d = NULL;
	uint8_t db[32], hash[32], d0[32], d1[32];
	char hx[80];
	uint8_t pt[65];
	size_t plen = sizeof(pt);
	EVP_PKEY *pub;

	memset(hash, 7, sizeof(hash));
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d);
	BN_bn2binpad(d, db, 32);
	hexs(db, 32, hx);
	assert_int_equal(txf(h, "00 FE 11 9A 22 06 20 %s", hx), 0x6982);
	mgm_auth(h);
	digest(h, d0);
	assert_int_equal(txf(h, "00 FE 11 9A 22 06 21 %s", hx), 0x6A80);
	assert_int_equal(txf(h, "00 FE 11 9A 22 07 20 %s", hx), 0x6A80);
	assert_int_equal(txf(h, "00 FE 12 9A 22 06 20 %s", hx), 0x6A80);
	assert_int_equal(txf(h, "00 FE 11 9B 22 06 20 %s", hx), 0x6A86);
	assert_int_equal(tx(h, "00 FE 11 9A 22 06 20 FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"), 0x6A80);
	assert_int_equal(tx(h, "00 FE 11 9A 22 06 20 0000000000000000000000000000000000000000000000000000000000000000"), 0x6A80);
	digest(h, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(txf(h, "00 FE 11 9A 25 06 20 %s AA 01 01", hx), 0x9000);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &plen);
	pub = ec_pub(pt, plen, "prime256v1");
	check_ecdsa(pub, hash, 32);
	assert_int_equal(tx(h, "00 F7 00 9A"), 0x9000);
	assert_memory_equal(rbuf, "\x01\x01\x11\x02\x02\x01\x01\x03\x01\x02", 10);
	/* imported keys are not attested: 6A80, as a YubiKey answers */
	assert_int_equal(tx(h, "00 F9 9A 00"), 0x6A80);
	BN_free(d);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(k);
}

static void
put_bn(EVP_PKEY *k, const char *name, uint8_t tag, size_t len, uint8_t *buf, size_t *n)
{
	BIGNUM *bn = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	buf[(*n)++] = tag;
	buf[(*n)++] = 0x81;
	buf[(*n)++] = (uint8_t)len;
	BN_bn2binpad(bn, buf + *n, (int)len);
	*n += len;
	BN_free(bn);
}

static void
test_import_rsa(void **state)
{
	piv_h *h = *state;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	uint8_t body[1000], apdu[300], in[256];
	size_t n = 0, sent = 0;
	wk_tlv t, m;

	put_bn(k, OSSL_PKEY_PARAM_RSA_FACTOR1, 1, 128, body, &n);
	put_bn(k, OSSL_PKEY_PARAM_RSA_FACTOR2, 2, 128, body, &n);
	put_bn(k, OSSL_PKEY_PARAM_RSA_EXPONENT1, 3, 128, body, &n);
	put_bn(k, OSSL_PKEY_PARAM_RSA_EXPONENT2, 4, 128, body, &n);
	put_bn(k, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 5, 128, body, &n);
	mgm_auth(h);
	while (sent < n) {
		size_t c = n - sent > 255 ? 255 : n - sent;

		apdu[0] = sent + c < n ? 0x10 : 0x00;
		memcpy(apdu + 1, "\xFE\x07\x9D", 3);
		apdu[4] = (uint8_t)c;
		memcpy(apdu + 5, body + sent, c);
		assert_int_equal(ph_txb(h, apdu, 5 + c, rbuf, sizeof(rbuf), &rlen), 0x9000);
		sent += c;
	}
	assert_int_equal(tx(h, "00 F7 00 9D"), 0x9000);
	assert_int_equal(wk_tlv_find(rbuf, rlen, 0x04, &t), WK_TLV_OK);
	assert_int_equal(wk_tlv_find(t.value, t.len, 0x81, &m), WK_TLV_OK);
	assert_int_equal(m.len, 256);
	{
		BIGNUM *bn = NULL;
		uint8_t nb[256];

		EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &bn);
		BN_bn2binpad(bn, nb, 256);
		assert_memory_equal(nb, m.value, 256);
		BN_free(bn);
	}
	verify_pin(h);
	memset(in, 0x01, sizeof(in));
	in[0] = 0;
	rsa_sign_chained(h, 0x9D, in);
	assert_int_equal(rlen, 264);
	/* a bad CRT value is refused */
	body[5 * 131 - 1] ^= 1;
	mgm_auth(h);
	sent = 0;
	while (sent < n) {
		size_t c = n - sent > 255 ? 255 : n - sent;

		apdu[0] = sent + c < n ? 0x10 : 0x00;
		memcpy(apdu + 1, "\xFE\x07\x9E", 3);
		apdu[4] = (uint8_t)c;
		memcpy(apdu + 5, body + sent, c);
		ph_txb(h, apdu, 5 + c, rbuf, sizeof(rbuf), &rlen);
		sent += c;
	}
	assert_int_equal(tx(h, "00 F7 00 9E"), 0x6A82);
	EVP_PKEY_free(k);
}

static void
test_attest(void **state)
{
	piv_h *h = *state;
	const uint8_t *p;
	X509 *att, *ca;
	EVP_PKEY *capub;
	wk_tlv t, c;
	uint8_t der[4096];
	size_t dlen;
	int idx;
	ASN1_OBJECT *obj;

	assert_int_equal(tx(h, "00 F9 9A 00"), 0x6A82);
	assert_int_equal(tx(h, "00 F9 F9 00"), 0x6A86);
	/* no raw signatures from the attestation key, PIN or not */
	verify_pin(h);
	assert_int_equal(tx(h, "00 87 11 F9 26 7C 24 82 00 81 20 0000000000000000000000000000000000000000000000000000000000000000"), 0x6982);
	assert_int_equal(tx(h, "00 F9 9B 00"), 0x6A86);
	mgm_auth(h);
	assert_int_equal(tx(h, "00 47 00 9A 05 AC 03 80 01 11"), 0x9000);
	assert_int_equal(tx(h, "00 F9 9A 00"), 0x9000);
	assert_int_equal(rbuf[0], 0x30);
	memcpy(der, rbuf, rlen);
	dlen = rlen;
	p = der;
	att = d2i_X509(NULL, &p, (long)dlen);
	assert_non_null(att);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F FF 01 00"), 0x9000);
	assert_int_equal(wk_tlv_parse_one(rbuf, rlen, 0x53, &t), WK_TLV_OK);
	assert_int_equal(wk_tlv_find(t.value, t.len, 0x70, &c), WK_TLV_OK);
	p = c.value;
	ca = d2i_X509(NULL, &p, (long)c.len);
	assert_non_null(ca);
	capub = X509_get0_pubkey(ca);
	assert_int_equal(X509_verify(att, capub), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(att), X509_get_subject_name(ca)), 0);
	obj = OBJ_txt2obj("1.3.6.1.4.1.41482.3.3", 1);
	idx = X509_get_ext_by_OBJ(att, obj, -1);
	assert_true(idx >= 0);
	ASN1_OBJECT_free(obj);
	obj = OBJ_txt2obj("1.3.6.1.4.1.41482.3.8", 1);
	idx = X509_get_ext_by_OBJ(att, obj, -1);
	assert_true(idx >= 0);
	{
		ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(att, idx));

		assert_int_equal(ASN1_STRING_length(os), 2);
		assert_int_equal(ASN1_STRING_get0_data(os)[0], 2);
	}
	ASN1_OBJECT_free(obj);
	X509_free(att);
	X509_free(ca);
}

static void
test_set_retries_and_reset(void **state)
{
	piv_h *h = *state;
	uint8_t hash[32];

	memset(hash, 3, sizeof(hash));
	assert_int_equal(tx(h, "00 FA 05 04"), 0x6982);
	mgm_auth(h);
	assert_int_equal(tx(h, "00 FA 05 04"), 0x6982);
	verify_pin(h);
	assert_int_equal(tx(h, "00 FA 00 04"), 0x6A86);
	assert_int_equal(tx(h, "00 FA 05 04"), 0x9000);
	assert_int_equal(tx(h, "00 20 00 80"), 0x63C5);
	assert_int_equal(tx(h, "00 F7 00 81"), 0x9000);
	assert_true(resp_is("01 01 FF 05 01 01 06 02 04 04"));
	assert_int_equal(tx(h, "00 47 00 9A 05 AC 03 80 01 11"), 0x9000);
	assert_int_equal(tx(h, "00 DB 3F FF 0A 5C 03 5F C1 05 53 03 70 01 00"), 0x9000);
	/* RESET only once PIN and PUK are blocked */
	assert_int_equal(tx(h, "00 FB 00 00"), 0x6985);
	for (int i = 0; i < 5; i++)
		tx(h, "00 20 00 80 08 " PIN_BAD);
	assert_int_equal(tx(h, "00 FB 00 00"), 0x6985);
	for (int i = 0; i < 4; i++)
		tx(h, "00 24 00 81 10 3030303030303030 3030303030303030");
	assert_int_equal(tx(h, "00 20 00 80"), 0x6983);
	assert_int_equal(tx(h, "00 FB 00 00"), 0x9000);
	assert_int_equal(tx(h, "00 20 00 80"), 0x63C3);
	verify_pin(h);
	assert_int_equal(tx(h, "00 F7 00 9A"), 0x6A82);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 05 00"), 0x6A82);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 02 00"), 0x9000);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F FF 01 00"), 0x9000);
	assert_int_equal(tx(h, "00 F7 00 F9"), 0x9000);
	mgm_auth(h);
}

static void
test_move_key(void **state)
{
	piv_h *h = *state;
	uint8_t hash[32];
	EVP_PKEY *pub;

	memset(hash, 9, sizeof(hash));
	assert_int_equal(tx(h, "00 F6 9D 9A"), 0x6982);
	mgm_auth(h);
	assert_int_equal(tx(h, "00 F6 9D 9A"), 0x6A82);
	pub = gen_ec(h, 0x9A, 0x11);
	assert_int_equal(tx(h, "00 F6 9D F9"), 0x6A86);
	assert_int_equal(tx(h, "00 F6 F9 9A"), 0x6A86);
	assert_int_equal(tx(h, "00 F6 9A 9A"), 0x6A86);
	assert_int_equal(tx(h, "00 F6 9D 9A"), 0x9000);
	verify_pin(h);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x6A86);
	assert_int_equal(sign_hash(h, 0x11, 0x9D, hash, 32), 0x9000);
	check_ecdsa(pub, hash, 32);
	assert_int_equal(tx(h, "00 F6 FF 9D"), 0x9000);
	assert_int_equal(sign_hash(h, 0x11, 0x9D, hash, 32), 0x6A86);
	EVP_PKEY_free(pub);
}

/* the applet keeps parsed keys between signatures: each change of a
 * slot's key must reach the next signature, and signing writes nothing */
static void
test_cached_key_follows_changes(void **state)
{
	piv_h *h = *state;
	uint8_t hash[32], d0[32], d1[32], db[32], pt[65];
	size_t plen = sizeof(pt);
	BIGNUM *d = NULL;
	EVP_PKEY *k, *pub, *pub2, *imp;
	char hx[80];

	memset(hash, 0x3C, sizeof(hash));
	mgm_auth(h);
	pub = gen_ec(h, 0x9A, 0x11);
	verify_pin(h);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	check_ecdsa(pub, hash, 32);
	digest(h, d0);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	check_ecdsa(pub, hash, 32);
	digest(h, d1);
	assert_memory_equal(d0, d1, 32);

	/* GENERATE over a key in use */
	pub2 = gen_ec(h, 0x9A, 0x11);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	check_ecdsa(pub2, hash, 32);
	/* another algorithm in the same slot */
	EVP_PKEY_free(gen_ec(h, 0x9A, 0x14));
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x6A80);
	assert_int_equal(sign_hash(h, 0x14, 0x9A, hash, 32), 0x9000);

	/* IMPORT over it */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d);
	BN_bn2binpad(d, db, 32);
	hexs(db, 32, hx);
	assert_int_equal(txf(h, "00 FE 11 9A 22 06 20 %s", hx), 0x9000);
	EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
	    pt, sizeof(pt), &plen);
	imp = ec_pub(pt, plen, "prime256v1");
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	check_ecdsa(imp, hash, 32);

	/* MOVE onto a slot whose old key was used, then DELETE */
	EVP_PKEY_free(pub);
	pub = gen_ec(h, 0x9D, 0x11);
	assert_int_equal(sign_hash(h, 0x11, 0x9D, hash, 32), 0x9000);
	check_ecdsa(pub, hash, 32);
	assert_int_equal(tx(h, "00 F6 9D 9A"), 0x9000);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x6A86);
	assert_int_equal(sign_hash(h, 0x11, 0x9D, hash, 32), 0x9000);
	check_ecdsa(imp, hash, 32);
	assert_int_equal(tx(h, "00 F6 FF 9D"), 0x9000);
	assert_int_equal(sign_hash(h, 0x11, 0x9D, hash, 32), 0x6A86);

	/* a card reset keeps the key, drops the PIN */
	EVP_PKEY_free(pub2);
	pub2 = gen_ec(h, 0x9A, 0x11);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	ph_reset(h);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x6982);
	verify_pin(h);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	check_ecdsa(pub2, hash, 32);

	/* RESET (PIN and PUK blocked) empties the slot */
	for (int i = 0; i < 3; i++)
		tx(h, "00 20 00 80 08 " PIN_BAD);
	for (int i = 0; i < 3; i++)
		tx(h, "00 24 00 81 10 3030303030303030 3030303030303030");
	assert_int_equal(tx(h, "00 FB 00 00"), 0x9000);
	verify_pin(h);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x6A86);
	BN_free(d);
	EVP_PKEY_free(imp);
	EVP_PKEY_free(k);
	EVP_PKEY_free(pub2);
	EVP_PKEY_free(pub);
}

/* the r of the ECDSA signature in rbuf (7C { 82 DER }), left-padded */
static void
sig_r(uint8_t r[48])
{
	wk_tlv t;
	const unsigned char *p;
	const BIGNUM *br = NULL;
	ECDSA_SIG *sig;

	assert_int_equal(wk_tlv_parse_one(rbuf, rlen, 0x7C, &t), WK_TLV_OK);
	assert_int_equal(wk_tlv_parse_one(t.value, t.len, 0x82, &t), WK_TLV_OK);
	p = t.value;
	assert_non_null(sig = d2i_ECDSA_SIG(NULL, &p, (long)t.len));
	ECDSA_SIG_get0(sig, &br, NULL);
	assert_int_equal(BN_bn2binpad(br, r, 48), 48);
	ECDSA_SIG_free(sig);
}

/* the nonces a signing key keeps made ahead (PIV_ECDSA_NONCES) */
#define NONCES_AHEAD 4

/* the idle steps the card takes until it has nothing left to do */
static int
idle_steps(piv_h *h)
{
	int n = 0;

	while (vc_card_idle(ph_card(h)) && n < 100)
		n++;
	return n;
}

/*
 * ECDSA nonces made while the card is idle (piv_ecdsa.c): signatures with
 * them verify; no two signatures share r (a nonce signs once); only a key
 * that signs gets them, at most NONCES_AHEAD; a key change or a card reset
 * drops them
 */
static void
test_ecdsa_nonce_ahead(void **state)
{
	enum { N = 64 };
	piv_h *h = *state;
	uint8_t hash[48], r[2 * N][48];
	EVP_PKEY *pub, *pub2, *p384;

	memset(hash, 0x5E, sizeof(hash));
	mgm_auth(h);
	pub = gen_ec(h, 0x9A, 0x11);
	verify_pin(h);
	/* a key that never signed gets none */
	assert_false(vc_card_idle(ph_card(h)));
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	check_ecdsa(pub, hash, 32);
	sig_r(r[0]);
	/* idle: NONCES_AHEAD nonces made, one a step, then nothing left */
	assert_int_equal(idle_steps(h), NONCES_AHEAD);
	/* each signature takes a nonce made ahead; the next idle makes one */
	for (int i = 1; i < N; i++) {
		hash[0] = (uint8_t)i;
		assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
		check_ecdsa(pub, hash, 32);
		sig_r(r[i]);
		assert_int_equal(idle_steps(h), 1);
	}
	/* the same message again: a burst of signatures without idle time
	 * takes the nonces made ahead, then signs without one */
	for (int i = N; i < 2 * N; i++) {
		hash[0] = 0;
		if (i % (2 * NONCES_AHEAD) == 0)
			assert_int_equal(idle_steps(h), i == N ? 0 :
			    NONCES_AHEAD);
		assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
		check_ecdsa(pub, hash, 32);
		sig_r(r[i]);
	}
	for (int i = 0; i < 2 * N; i++)
		for (int j = i + 1; j < 2 * N; j++)
			assert_memory_not_equal(r[i], r[j], 48);

	/* a card reset drops the nonces: idle makes them anew */
	assert_int_equal(idle_steps(h), NONCES_AHEAD);
	ph_reset(h);
	assert_int_equal(idle_steps(h), NONCES_AHEAD);
	mgm_auth(h);
	verify_pin(h);
	/* a new key in the slot drops the old key's nonces; the new key gets
	 * them once it signs */
	pub2 = gen_ec(h, 0x9A, 0x11);
	assert_false(vc_card_idle(ph_card(h)));
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	check_ecdsa(pub2, hash, 32);
	assert_true(vc_card_idle(ph_card(h)));
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 32), 0x9000);
	check_ecdsa(pub2, hash, 32);
	/* DELETE drops them too; a wrong-length input uses none */
	assert_int_equal(idle_steps(h), NONCES_AHEAD);
	assert_int_equal(sign_hash(h, 0x11, 0x9A, hash, 0), 0x6A80);
	assert_false(vc_card_idle(ph_card(h)));
	assert_int_equal(tx(h, "00 F6 FF 9A"), 0x9000);
	assert_false(vc_card_idle(ph_card(h)));
	/* P-384 likewise */
	p384 = gen_ec(h, 0x9E, 0x14);
	assert_int_equal(sign_hash(h, 0x14, 0x9E, hash, 48), 0x9000);
	check_ecdsa(p384, hash, 48);
	assert_true(vc_card_idle(ph_card(h)));
	assert_int_equal(sign_hash(h, 0x14, 0x9E, hash, 48), 0x9000);
	check_ecdsa(p384, hash, 48);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(pub2);
	EVP_PKEY_free(pub);
}

static void
test_unknown_ins(void **state)
{
	piv_h *h = *state;

	assert_int_equal(tx(h, "00 B0 00 00 00"), 0x6D00);
	assert_int_equal(tx(h, "00 A4 00 0C 02 3F 00"), 0x6A82);
	assert_int_equal(tx(h, "00 FD 00 00 00"), 0x9000);
}

/* OpenSC 0.23 reads the length first with Le=08 (piv.md 1.2) */
static void
test_get_data_short_le(void **state)
{
	piv_h *h = *state;

	assert_int_equal(ph_raw(h, "00 CB 3F FF 03 5C 01 7E 08", rbuf, sizeof(rbuf), &rlen), 0x610C);
	assert_true(resp_is("7E 12 4F 0B A0 00 00 03"));
	assert_int_equal(ph_raw(h, "00 C0 00 00 0C", rbuf, sizeof(rbuf), &rlen), 0x9000);
	assert_true(resp_is("08 00 00 10 00 01 00 5F 2F 02 40 00"));
	/* the next command drops what is pending */
	assert_int_equal(ph_raw(h, "00 CB 3F FF 05 5C 03 5F C1 07 08", rbuf, sizeof(rbuf), &rlen), 0x612D);
	assert_int_equal(ph_raw(h, "00 20 00 80", rbuf, sizeof(rbuf), &rlen), 0x63C3);
	assert_int_equal(ph_raw(h, "00 C0 00 00 2D", rbuf, sizeof(rbuf), &rlen), 0x6985);
}

static void
test_reset_drops_state(void **state)
{
	piv_h *h = *state;

	verify_pin(h);
	mgm_auth(h);
	ph_reset(h);
	/* PIV is selected again after reset, with nothing verified */
	assert_int_equal(tx(h, "00 20 00 80"), 0x63C3);
	assert_int_equal(tx(h, "00 DB 3F FF 07 5C 03 5F C1 05 53 00"), 0x6982);
	/* a witness does not survive a reset either */
	assert_int_equal(tx(h, "00 87 03 9B 04 7C 02 80 00"), 0x9000);
	ph_reset(h);
	assert_int_equal(tx(h, "00 87 03 9B 16 7C 14 80 08 0000000000000000 81 08 0000000000000000"), 0x6982);
}

static char trace[65536];

static void
trace_sink(unsigned category, const char *line, void *arg)
{
	(void)category;
	(void)arg;
	strncat(trace, line, sizeof(trace) - strlen(trace) - 2);
	strcat(trace, "\n");
}

/* --verbose masks PINs, PUKs, 9B keys and imported private keys */
static void
test_trace_masks_secrets(void **state)
{
	piv_h *h = *state;

	trace[0] = '\0';
	wk_log_set_sink(trace_sink, NULL);
	wk_log_set(WK_LOG_ALL);
	verify_pin(h);
	mgm_auth(h);
	assert_int_equal(tx(h, "00 24 00 81 10 " PUK_OK "3837363534333231"), 0x9000);
	assert_int_equal(tx(h, "00 FF FF FF 1B 03 9B 18 A1A2A3A4A5A6A7A8 A1A2A3A4A5A6A7A8 A1A2A3A4A5A6A7A8"), 0x9000);
	assert_int_equal(tx(h, "00 FE 11 9A 22 06 20 C1C2C3C4C5C6C7C8C1C2C3C4C5C6C7C8C1C2C3C4C5C6C7C8C1C2C3C4C5C6C7C8"), 0x9000);
	/* a shared secret in a response is masked too */
	{
		EVP_PKEY *mine = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		uint8_t pt[65];
		size_t plen = sizeof(pt);
		char hx[200], spaced[40];

		EVP_PKEY_get_octet_string_param(mine,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &plen);
		hexs(pt, plen, hx);
		assert_int_equal(txf(h, "00 87 11 9A 47 7C 45 82 00 85 41 %s 00", hx), 0x9000);
		for (size_t i = 0; i < 8; i++)
			snprintf(spaced + 3 * i, sizeof(spaced) - 3 * i, "%02X ", rbuf[4 + i]);
		spaced[23] = '\0';
		wk_log_set(0);
		assert_null(strstr(trace, spaced));
		EVP_PKEY_free(mine);
	}
	wk_log_set(0);
	wk_log_set_sink(NULL, NULL);
	assert_non_null(strstr(trace, "**"));
	assert_null(strstr(trace, "31 32 33 34 35 36"));
	assert_null(strstr(trace, "38 37 36 35"));
	assert_null(strstr(trace, "A1 A2 A3"));
	assert_null(strstr(trace, "C1 C2 C3"));
	assert_null(strstr(trace, "01 02 03 04 05 06 07 08"));
}

/* every command with bad input: the right status word and no change to the store */
static void
test_bad_input_changes_nothing(void **state)
{
	piv_h *h = *state;
	static const struct {
		const char *apdu;
		uint16_t sw;
	} bad[] = {
		/* PUT DATA */
		{ "00 DB 3F FF 09 5C 03 5F C1 05 53 03 70 01", 0x6A80 },
		{ "00 DB 3F FF 09 5C 03 5F C1 05 53 81 01 00", 0x6A80 },
		{ "00 DB 3F FF 0A 5C 03 5F C1 05 53 82 00 01 00", 0x6A80 },
		{ "00 DB 3F FF 09 5C 04 5F C1 05 00 53 00 00", 0x6A80 },
		{ "00 DB 3F FF 06 5C 03 5F C1 05 53", 0x6A80 },
		{ "00 DB 3F FF 08 5C 03 5F C1 05 53 00 00", 0x6A80 },
		{ "00 DB 3F FF 07 53 00 5C 03 5F C1 05", 0x6A80 },
		{ "00 DB 3F FF 0A 5C 03 5F C1 05 53 83 00 00 00", 0x6A80 },
		/* GENERATE */
		{ "00 47 00 9A 03 AC 01 80", 0x6A80 },
		{ "00 47 00 9A 05 AC 03 80 02 11", 0x6A80 },
		{ "00 47 00 9A 06 AC 04 80 02 11 00", 0x6A80 },
		{ "00 47 00 9A 08 AC 06 80 01 11 80 01 11", 0x6A80 },
		{ "00 47 00 9A 06 AC 05 80 01 11 AA", 0x6A80 },
		{ "00 47 00 9A 07 AC 03 80 01 11 00 00", 0x6A80 },
		{ "00 47 00 9A 05 AC 03 80 01 03", 0x6A80 },
		{ "00 47 00 9A 05 AC 03 80 01 0C", 0x6A80 },
		{ "00 47 00 F8 05 AC 03 80 01 11", 0x6A86 },
		/* IMPORT */
		{ "00 FE 11 9A 03 06 20 00", 0x6A80 },
		{ "00 FE 11 9A 25 06 20 1111111111111111111111111111111111111111111111111111111111111111 AB 01 02", 0x6A80 },
		{ "00 FE 11 9A 25 06 20 1111111111111111111111111111111111111111111111111111111111111111 AA 01 07", 0x6A80 },
		{ "00 FE 11 9A 44 06 20 1111111111111111111111111111111111111111111111111111111111111111 06 20 1111111111111111111111111111111111111111111111111111111111111111", 0x6A80 },
		{ "00 FE 07 9A 06 01 01 03 02 01 05", 0x6A80 },
		{ "00 FE E0 9A 12 07 10 11111111111111111111111111111111", 0x6A80 },
		{ "00 FE E1 9A 22 07 20 1111111111111111111111111111111111111111111111111111111111111111", 0x6A80 },
		{ "00 FE 03 9A 22 06 20 1111111111111111111111111111111111111111111111111111111111111111", 0x6A80 },
		/* SET MANAGEMENT KEY, SET PIN RETRIES, MOVE */
		{ "00 FF FF FF 02 03 9B", 0x6A80 },
		{ "00 FF FF FF 1B 03 9A 18 010203040506070801020304050607080102030405060708", 0x6A80 },
		{ "00 FF FF FF 1C 03 9B 18 010203040506070801020304050607080102030405060708 00", 0x6A80 },
		{ "00 FF FF FF 13 08 9B 10 00112233445566778899AABBCCDDEEFF", 0x9000 },
		{ "00 FA 10 03", 0x6A86 },
		{ "00 FA 03 00", 0x6A86 },
		{ "00 FA 03 03 01 00", 0x6700 },
		{ "00 F6 9D 9B", 0x6A86 },
		{ "00 F6 9B 9A", 0x6A86 },
		/* CHANGE REFERENCE DATA, RESET RETRY COUNTER with bad new values */
		{ "00 24 00 80 10 " PIN_OK "3132333435FFFFFF", 0x6A80 },
		{ "00 24 00 80 11 " PIN_OK "313233343536FFFF 00", 0x6A80 },
		{ "00 2C 00 80 10 " PUK_OK "FFFFFFFFFFFFFFFF", 0x6A80 },
		/* GENERAL AUTHENTICATE */
		{ "00 87 11 9A 04 7C 02 82 00", 0x6A80 },
		{ "00 87 11 9A 08 7C 06 82 00 81 00 85 00", 0x6A80 },
		{ "00 87 11 9A 06 7C 05 82 00 81 01", 0x6A80 },
		{ "00 87 11 9A 08 7C 05 82 00 81 01 01 00", 0x6A80 },
		/* GET DATA, VERIFY */
		{ "00 CB 3F FF 06 5C 04 5F C1 05 00", 0x6A80 },
		{ "00 20 00 80 07 31323334353637", 0x6A80 },
	};
	uint8_t d0[32], d1[32];

	verify_pin(h);
	mgm_auth(h);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint16_t sw;

		digest(h, d0);
		sw = tx(h, bad[i].apdu);
		if (sw != bad[i].sw)
			fail_msg("%s: %04X, want %04X", bad[i].apdu, sw, bad[i].sw);
		if (sw == 0x9000)
			continue;
		digest(h, d1);
		if (memcmp(d0, d1, 32) != 0)
			fail_msg("%s changed the store", bad[i].apdu);
	}
}

/* RSA-3072 in a retired slot: 7F49 82 01 89, a 384-byte chained operation */
static void
test_rsa3072_retired(void **state)
{
	piv_h *h = *state;
	uint8_t body[400], apdu[300], in[384];
	size_t n = 0, sent = 0;
	EVP_PKEY *pub;

	mgm_auth(h);
	pub = gen_rsa(h, 0x82, 0x05, 384);
	assert_memory_equal(rbuf, "\x7F\x49\x82\x01\x89\x81\x82\x01\x80", 9);
	assert_int_equal(EVP_PKEY_get_bits(pub), 3072);
	verify_pin(h);
	memset(in, 0x5A, sizeof(in));
	in[0] = 0;
	memcpy(body, "\x7C\x82\x01\x86\x82\x00\x81\x82\x01\x80", 10);
	memcpy(body + 10, in, sizeof(in));
	n = 10 + sizeof(in);
	while (sent < n) {
		size_t c = n - sent > 255 ? 255 : n - sent;

		apdu[0] = sent + c < n ? 0x10 : 0x00;
		memcpy(apdu + 1, "\x87\x05\x82", 3);
		apdu[4] = (uint8_t)c;
		memcpy(apdu + 5, body + sent, c);
		assert_int_equal(ph_txb(h, apdu, 5 + c, rbuf, sizeof(rbuf), &rlen), 0x9000);
		sent += c;
	}
	assert_int_equal(rlen, 392);
	{
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
		uint8_t out[384];
		size_t olen = sizeof(out);

		assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
		EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING);
		assert_int_equal(EVP_PKEY_encrypt(ctx, out, &olen, rbuf + 8, 384), 1);
		assert_memory_equal(out, in, 384);
		EVP_PKEY_CTX_free(ctx);
	}
	/* and the retired certificate object of 82 */
	assert_int_equal(tx(h, "00 DB 3F FF 0C 5C 03 5F C1 0D 53 05 70 01 00 FE 00"), 0x9000);
	assert_int_equal(tx(h, "00 CB 3F FF 05 5C 03 5F C1 0D 00"), 0x9000);
	EVP_PKEY_free(pub);
}

/* every 9B algorithm; the key survives a restart of the card */
static void
test_mgm_all_algs(void **state)
{
	piv_h *h = *state;
	static const struct {
		uint8_t alg;
		const char *key;
	} keys[] = {
		{ 0x08, "00112233445566778899AABBCCDDEEFF" },
		{ 0x0C, "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF" },
		{ 0x03, "0F0E0D0C0B0A09080706050403020100F0E0D0C0B0A09080" },
	};
	const char *cur = MGM_DEFAULT;
	uint8_t alg = 0x03;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t kl = strlen(keys[i].key) / 2;

		assert_int_equal(mgm_auth_key(h, cur, alg), 0x9000);
		assert_int_equal(txf(h, "00 FF FF FF %02X %02X 9B %02X %s",
		    (unsigned)(3 + kl), keys[i].alg, (unsigned)kl, keys[i].key), 0x9000);
		ph_reopen(h);
		assert_int_equal(tx(h, "00 DB 3F FF 07 5C 03 5F C1 05 53 00"), 0x6982);
		cur = keys[i].key;
		alg = keys[i].alg;
		assert_int_equal(mgm_auth_key(h, cur, alg), 0x9000);
		assert_int_equal(tx(h, "00 DB 3F FF 07 5C 03 5F C1 05 53 00"), 0x9000);
	}
}

static void
test_more_algs(void **state)
{
	piv_h *h = *state;
	EVP_PKEY *pub, *mine, *k;
	EVP_PKEY_CTX *ctx;
	uint8_t pt[97], secret[64], raw[32];
	size_t plen = sizeof(pt), slen = sizeof(secret), rl = sizeof(raw);
	char hx[300];

	mgm_auth(h);
	/* ECDH P-384 with 9E (no PIN) */
	pub = gen_ec(h, 0x9E, 0x14);
	mine = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY_get_octet_string_param(mine, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
	    pt, sizeof(pt), &plen);
	hexs(pt, plen, hx);
	assert_int_equal(txf(h, "00 87 14 9E 67 7C 65 82 00 85 61 %s", hx), 0x9000);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	EVP_PKEY_derive_init(ctx);
	EVP_PKEY_derive_set_peer(ctx, pub);
	assert_int_equal(EVP_PKEY_derive(ctx, secret, &slen), 1);
	assert_int_equal(rlen, 4 + 48);
	assert_memory_equal(rbuf + 4, secret, 48);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(pub);

	/* Ed25519 import into 95: the public key in the metadata matches */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY_get_raw_private_key(k, raw, &rl);
	hexs(raw, 32, hx);
	assert_int_equal(txf(h, "00 FE E0 95 22 07 20 %s", hx), 0x9000);
	rl = sizeof(raw);
	EVP_PKEY_get_raw_public_key(k, raw, &rl);
	assert_int_equal(tx(h, "00 F7 00 95"), 0x9000);
	assert_memory_equal(rbuf + rlen - 32, raw, 32);
	assert_memory_equal(rbuf, "\x01\x01\xE0", 3);
	/* its signatures (libsodium's, issue 17) are RFC 8032's, byte for
	 * byte those OpenSSL makes with the same key, each message twice
	 * (the card keeps the key's signing form between signatures) */
	verify_pin(h);
	for (size_t i = 0; i < 8; i++) {
		static const size_t lens[] = { 0, 1, 32, 64, 200 };
		size_t ml = lens[i % 5], sl = 64;
		uint8_t m[200], apdu[5 + 6 + 3 + 200], want[64];
		size_t at = 0, body = 2 + (ml < 128 ? 2u : 3u) + ml;
		EVP_MD_CTX *sm;

		for (size_t b = 0; b < ml; b++)
			m[b] = (uint8_t)(b * 7 + i);
		memcpy(apdu, "\x00\x87\xE0\x95", 4);
		at = 5;
		apdu[at++] = 0x7C;
		if (body >= 128)
			apdu[at++] = 0x81;
		apdu[at++] = (uint8_t)body;
		apdu[at++] = 0x82;
		apdu[at++] = 0x00;
		apdu[at++] = 0x81;
		if (ml >= 128)
			apdu[at++] = 0x81;
		apdu[at++] = (uint8_t)ml;
		memcpy(apdu + at, m, ml);
		at += ml;
		apdu[4] = (uint8_t)(at - 5);
		assert_int_equal(ph_txb(h, apdu, at, rbuf, sizeof(rbuf), &rlen),
		    0x9000);
		assert_int_equal(rlen, 68);
		assert_memory_equal(rbuf, "\x7C\x42\x82\x40", 4);
		assert_non_null(sm = EVP_MD_CTX_new());
		assert_int_equal(EVP_DigestSignInit_ex(sm, NULL, NULL, NULL, NULL,
		    k, NULL), 1);
		assert_int_equal(EVP_DigestSign(sm, want, &sl, m, ml), 1);
		EVP_MD_CTX_free(sm);
		assert_int_equal(sl, 64);
		assert_memory_equal(rbuf + 4, want, 64);
	}
	EVP_PKEY_free(k);

	/* X25519 import into 94 */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	rl = sizeof(raw);
	EVP_PKEY_get_raw_private_key(k, raw, &rl);
	hexs(raw, 32, hx);
	assert_int_equal(txf(h, "00 FE E1 94 22 08 20 %s", hx), 0x9000);
	rl = sizeof(raw);
	EVP_PKEY_get_raw_public_key(k, raw, &rl);
	assert_int_equal(tx(h, "00 F7 00 94"), 0x9000);
	assert_memory_equal(rbuf + rlen - 32, raw, 32);
	EVP_PKEY_free(k);

	/* RSA-1024 and RSA-4096 layouts */
	pub = gen_rsa(h, 0x93, 0x06, 128);
	assert_memory_equal(rbuf, "\x7F\x49\x81\x88\x81\x81\x80", 7);
	EVP_PKEY_free(pub);
	pub = gen_rsa(h, 0x92, 0x16, 512);
	assert_memory_equal(rbuf, "\x7F\x49\x82\x02\x09\x81\x82\x02\x00", 9);
	EVP_PKEY_free(pub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_select_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_select_other_aid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opensc_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ykpiv_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_data_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_counter_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mgm_mutual, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mgm_external_and_challenge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_mgm_aes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generate_p256_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generate_rsa2048_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecdh_and_25519, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_rsa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_retries_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cached_key_follows_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecdsa_nonce_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_ins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_data_short_le, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_drops_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_masks_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsa3072_retired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mgm_all_algs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_more_algs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_records, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
