/*
 * the card runtime: a stream of vpcd frames (1 byte: control code, longer:
 * APDU) through vc_card with every registered applet, on one temporary store
 * kept for the run. Checks the layer's promises on every response.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "fuzz_runtime.h"
#include "vc_card.h"
#include "wk_log.h"
#include "wk_vpcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
start(void)
{
	vc_card_opts o = { .init = true };

	runtime_start("fuzz_card", &o);
	/* trace everything into nowhere: the masking code runs too */
	runtime_trace();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0, len, n;
	int steps = 0;

	if (card == NULL)
		start();
	vc_card_control(card, WK_VPCD_RESET, NULL, 0, &n);
	while (size - at >= 2 && steps++ < 64) {
		len = ((size_t)data[at] << 8) | data[at + 1];
		at += 2;
		if (len > size - at)
			len = size - at;
		if (len == 1) {
			vc_card_control(card, data[at], resp, sizeof(resp), &n);
			if (n > 33)
				__builtin_trap();
		} else if (vc_card_apdu(card, data + at, len, resp,
		    sizeof(resp), &n) != VC_CARD_OK || n < 2 ||
		    n > sizeof(resp)) {
			__builtin_trap();
		} else if (len > 0) {
			uint8_t sw1 = resp[n - 2];

			/* short commands never get more than 256 data bytes */
			if (len < 7 && n > 258)
				__builtin_trap();
			/* error status words carry no data */
			if (n > 2 && sw1 != 0x90 && sw1 != 0x61 &&
			    sw1 != 0x62 && sw1 != 0x63)
				__builtin_trap();
		}
		at += len;
	}
	return 0;
}
