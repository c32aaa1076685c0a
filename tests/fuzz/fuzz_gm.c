/*
 * the GM applet through the card runtime (docs/gm.md). The first input
 * byte chooses a prelude: bit 0 verifies the user PIN of the factory
 * application, bit 1 authenticates the device, bit 2 makes an SM4-CBC
 * session key and a SM3 digest whose live handles replace the value of
 * every handle field (8D 04 ....) and the data of CLOSE, so the fuzzer
 * reaches the session paths despite random handles. The rest is a stream
 * of APDUs, each [len_hi len_lo bytes] as in fuzz_card. One store for the
 * run, with a container "c" holding both key pairs.
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
#include "wk_gm.h"
#include "wk_log.h"
#include "wk_vpcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t apdu[WK_VPCD_MAX_PAYLOAD];

static void
select_gm(void)
{
	static const uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x0C, 0x08,
		WK_GM_AID_BYTES };
	size_t n;

	if (xfer(sel, sizeof(sel), &n) != 0x9000)
		abort();
}

static void
prelude_pin(void)
{
	static const uint8_t v[] = { 0x80, 0x20, 0x01, 0x01, 0x08, '1', '2',
		'3', '4', '5', '6', '7', '8' };
	size_t n;

	(void)xfer(v, sizeof(v), &n);
}

static void
prelude_dev(void)
{
	static const uint8_t chal[] = { 0x80, 0x84, 0x00, 0x00, 0x10 };
	uint8_t a[21] = { 0x80, 0x82, 0x00, 0x00, 0x10 };
	EVP_CIPHER_CTX *c;
	size_t n;
	int m = 0;

	if (xfer(chal, sizeof(chal), &n) != 0x9000 || n != 18)
		return;
	if ((c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(c, EVP_sm4_ecb(), NULL,
	    (const uint8_t *)WK_GM_FACTORY_DEV_KEY, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c, 0) != 1 ||
	    EVP_EncryptUpdate(c, a + 5, &m, resp, 16) != 1)
		abort();
	EVP_CIPHER_CTX_free(c);
	(void)xfer(a, sizeof(a), &n);
}

static uint8_t handles[2][4];

static void
prelude_sessions(void)
{
	static const uint8_t set[] = { 0x80, 0x70, 0x00, 0x00, 0x18, 0x8A, 0x04,
		0x00, 0x00, 0x04, 0x02, 0x89, 0x10, '0', '1', '2', '3', '4', '5',
		'6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f' };
	static const uint8_t dig[] = { 0x80, 0x7E, 0x00, 0x00, 0x06, 0x8A, 0x04,
		0x00, 0x00, 0x00, 0x01 };
	size_t n;

	if (xfer(set, sizeof(set), &n) == 0x9000 && n == 6)
		memcpy(handles[0], resp, 4);
	if (xfer(dig, sizeof(dig), &n) == 0x9000 && n == 6)
		memcpy(handles[1], resp, 4);
}

static void
start(void)
{
	static const uint8_t cont[] = { 0x80, 0xC0, 0x01, 0x00, 0x01, 'c' };
	static const uint8_t gen1[] = { 0x80, 0x46, 0x01, 0x01, 0x01, 'c' };
	static const uint8_t gen0[] = { 0x80, 0x46, 0x01, 0x00, 0x01, 'c' };
	vc_card_opts o = { .init = true };
	size_t n;

	runtime_start("fuzz_gm", &o);
	select_gm();
	prelude_pin();
	if (xfer(cont, sizeof(cont), &n) != 0x9000 ||
	    xfer(gen1, sizeof(gen1), &n) != 0x9000 ||
	    xfer(gen0, sizeof(gen0), &n) != 0x9000)
		abort();
	runtime_trace();
}

/* live handles into handle fields (8D 04 ....) and CLOSE's data */
static void
patch(uint8_t *a, size_t n, unsigned which)
{
	if (n == 9 && a[1] == WK_GM_INS_CLOSE) {
		memcpy(a + 5, handles[which & 1], 4);
		return;
	}
	for (size_t i = 5; i + 6 <= n; i++)
		if (a[i] == 0x8D && a[i + 1] == 0x04) {
			memcpy(a + i + 2, handles[(which >> 1) & 1], 4);
			i += 5;
		}
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
	select_gm();
	if (data[0] & 1)
		prelude_pin();
	if (data[0] & 2)
		prelude_dev();
	if (data[0] & 4)
		prelude_sessions();
	while (size - at >= 2 && steps++ < 32) {
		len = ((size_t)data[at] << 8) | data[at + 1];
		at += 2;
		if (len > size - at)
			len = size - at;
		if (len < 2) {
			at += len;
			continue;
		}
		memcpy(apdu, data + at, len);
		if (data[0] & 4)
			patch(apdu, len, data[0] >> 3);
		sw = xfer(apdu, len, &n);
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
