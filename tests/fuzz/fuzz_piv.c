/*
 * the PIV applet through the card runtime. The first input byte chooses a
 * prelude (bit 0: VERIFY the factory PIN, bit 1: 9B mutual authentication
 * with the factory key) so that the fuzzer reaches the commands behind them,
 * and bit 2 lets the card idle between commands as the vpcd link does (the
 * ECDSA nonces made ahead: vcard/applets/piv_ecdsa.c);
 * the rest is a stream of APDUs, each [len_hi len_lo bytes] as in fuzz_card.
 * One store for the run, with an EC key in 9A and an RSA-2048 key in 9C.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "fuzz_runtime.h"
#include "vc_card.h"
#include "wk_log.h"
#include "wk_vpcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t mgm_key[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
};

static void
des3(const uint8_t *in, uint8_t *out, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;

	if (ctx == NULL ||
	    EVP_CipherInit_ex(ctx, EVP_des_ede3_ecb(), NULL, mgm_key, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, 8) != 1)
		abort();
	EVP_CIPHER_CTX_free(ctx);
}

static void
prelude_pin(void)
{
	static const uint8_t v[] = { 0x00, 0x20, 0x00, 0x80, 0x08, '1', '2',
		'3', '4', '5', '6', 0xFF, 0xFF };
	size_t n;

	(void)xfer(v, sizeof(v), &n);
}

static void
prelude_mgm(void)
{
	static const uint8_t step1[] = { 0x00, 0x87, 0x03, 0x9B, 0x04, 0x7C,
		0x02, 0x80, 0x00 };
	uint8_t step2[27] = { 0x00, 0x87, 0x03, 0x9B, 0x16, 0x7C, 0x14, 0x80,
		0x08 };
	size_t n;

	if (xfer(step1, sizeof(step1), &n) != 0x9000 || n != 14)
		return;
	des3(resp + 4, step2 + 9, 0);
	step2[17] = 0x81;
	step2[18] = 0x08;
	memset(step2 + 19, 0x42, 8);
	(void)xfer(step2, sizeof(step2), &n);
}

static void
start(void)
{
	static const uint8_t gen9a[] = { 0x00, 0x47, 0x00, 0x9A, 0x05, 0xAC,
		0x03, 0x80, 0x01, 0x11 };
	static const uint8_t gen9c[] = { 0x00, 0x47, 0x00, 0x9C, 0x05, 0xAC,
		0x03, 0x80, 0x01, 0x07 };
	vc_card_opts o = { .init = true };
	size_t n;

	runtime_start("fuzz_piv", &o);
	prelude_mgm();
	if (xfer(gen9a, sizeof(gen9a), &n) != 0x9000 ||
	    (xfer(gen9c, sizeof(gen9c), &n) >> 8) != 0x61)
		abort();
	runtime_trace();
}

/* RSA-3072/4096 generation takes seconds: not worth the fuzzer's time */
static bool
slow(const uint8_t *a, size_t n)
{
	return n >= 10 && a[1] == 0x47 && (a[n - 1] == 0x05 || a[n - 1] == 0x16 ||
	    a[n - 2] == 0x05 || a[n - 2] == 0x16);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 1, len, n;
	int steps = 0;
	uint16_t sw;

	if (card == NULL)
		start();
	if (size < 1)
		return 0;
	vc_card_control(card, WK_VPCD_RESET, NULL, 0, &n);
	if (data[0] & 1)
		prelude_pin();
	if (data[0] & 2)
		prelude_mgm();
	while (size - at >= 2 && steps++ < 32) {
		len = ((size_t)data[at] << 8) | data[at + 1];
		at += 2;
		if (len > size - at)
			len = size - at;
		if (len < 2 || slow(data + at, len)) {
			at += len;
			continue;
		}
		sw = xfer(data + at, len, &n);
		if (data[0] & 4)
			while (vc_card_idle(card))
				;
		/* short commands never get more than 256 data bytes */
		if (len < 7 && n > 258)
			__builtin_trap();
		/* error status words carry no data */
		if (n > 2 && (sw >> 8) != 0x90 && (sw >> 8) != 0x61 &&
		    (sw >> 8) != 0x62 && (sw >> 8) != 0x63)
			__builtin_trap();
		at += len;
	}
	return 0;
}
