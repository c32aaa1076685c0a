/*
 * the purse client's parsers (middleware/wk_purse.c, wk_sam.c, wk_psam.c) on anything a
 * card or a file could hold: byte 0 picks the parser, the rest is the input.
 * Each must return an error or a result that holds together.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_purse_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wk_purse_app app;
	wk_purse_holder h;
	wk_purse_record r;
	wk_purse_txn t;
	wk_sam *sam = NULL;
	uint8_t keys[5][16], algs[5], bcd[6];
	char text[64], again[24];
	const uint8_t *p;
	size_t n, bl = 0;
	uint32_t fen = 0, fen2 = 0;
	bool empty;

	if (size < 1)
		return 0;
	p = data + 1;
	n = size - 1;
	memset(&t, 0, sizeof(t));
	switch (data[0] % 11) {
	case 0:
		(void)wk_purse_parse_app(p, n, &app);
		break;
	case 1:
		if (wk_purse_parse_holder(p, n, &h) == WK_OK &&
		    (strlen(h.name) > 20 || strlen(h.id_number) > 32))
			__builtin_trap();
		break;
	case 2:
		if (wk_purse_parse_record(p, n, &r, &empty) == WK_OK &&
		    r.overdraft > 0xFFFFFF)
			__builtin_trap();
		break;
	case 3:
		(void)wk_purse_parse_init_purchase(p, n, &t);
		break;
	case 4:
		(void)wk_purse_parse_init_load(p, n, &t);
		break;
	case 5:
		if (wk_sam_parse((const char *)p, n, &sam) == WK_OK) {
			wk_purse_txn last;

			if (sam == NULL)
				__builtin_trap();
			if (wk_sam_last(sam, &last) == WK_OK &&
			    last.state == WK_PURSE_TXN_NONE)
				__builtin_trap();
			wk_sam_free(&sam);
			if (sam != NULL)
				__builtin_trap();
		}
		break;
	case 6:
		(void)wk_purse_parse_master_keys((const char *)p, n, keys, algs);
		break;
	case 7:
		/* an exact amount prints back to itself */
		if (n >= sizeof(text))
			break;
		memcpy(text, p, n);
		text[n] = '\0';
		if (wk_purse_amount_parse(text, &fen) == WK_OK) {
			if (fen == 0)
				__builtin_trap();
			wk_purse_amount_format(fen, again, sizeof(again));
			if (wk_purse_amount_parse(again, &fen2) != WK_OK ||
			    fen2 != fen)
				__builtin_trap();
		}
		break;
	case 9: {
		/* the PSAM's GET INFO answer */
		wk_psam_info info;

		if (wk_psam_parse_info(p, n, &info) == WK_OK &&
		    (info.state > WK_PSAM_INSTALLED ||
		    (n != WK_PSAM_INFO_LEN && n != WK_PSAM_INFO_LEN - 1) ||
		    (info.algorithms & ~(WK_PSAM_ALG_3DES | WK_PSAM_ALG_SM4)) != 0))
			__builtin_trap();
		break;
	}
	case 10: {
		/* a PSAM terminal journal (terminal 000000000042, PSAM 0102..08) */
		static const uint8_t term[6] = { 0, 0, 0, 0, 0, 0x42 };
		static const uint8_t id[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

		if (wk_sam_parse_journal((const char *)p, n, term, id, &sam) ==
		    WK_OK) {
			uint8_t got[6];

			wk_sam_terminal(sam, got);
			if (memcmp(got, term, 6) != 0)
				__builtin_trap();
			wk_sam_free(&sam);
		}
		break;
	}
	default:
		if (wk_purse_pin_bcd((const char *)p, n, bcd, &bl) == WK_OK &&
		    (bl < 2 || bl > 6))
			__builtin_trap();
		break;
	}
	return 0;
}
