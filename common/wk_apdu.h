/* ISO 7816-4 command and response APDUs, all four cases, short and extended */
#ifndef WK_APDU_H
#define WK_APDU_H

#include "wk_buf.h"

#define WK_APDU_MAX_DATA 65535u
#define WK_APDU_MAX_LE 65536u

typedef struct wk_apdu {
	uint8_t cla;
	uint8_t ins;
	uint8_t p1;
	uint8_t p2;
	const uint8_t *data;	/* points into the parsed buffer, NULL when lc == 0 */
	size_t lc;
	size_t le;		/* 1..256 short, 1..65536 extended; 0 when absent */
	bool has_le;
	bool extended;
	uint8_t iso_case;	/* 1, 2, 3 or 4 */
} wk_apdu;

enum {
	WK_APDU_OK = 0,
	WK_APDU_TOO_SHORT = -1,	/* fewer than 4 header bytes */
	WK_APDU_BAD_LENGTH = -2,	/* Lc/Le inconsistent with the buffer (SW 6700) */
};

/* parses buf into a; a->data aliases buf */
int wk_apdu_parse(wk_apdu *a, const uint8_t *buf, size_t len);
/* encodes a in the short form when it fits (and !force_extended), else extended */
int wk_apdu_encode(const wk_apdu *a, bool force_extended, wk_buf *out);

/* status words used across the card and the middleware */
enum {
	WK_SW_OK = 0x9000,
	WK_SW_BYTES_REMAINING = 0x6100,	/* | remaining, 00 for >= 256 */
	WK_SW_WARN_CORRUPT = 0x6281,
	WK_SW_WRONG_PIN = 0x63C0,	/* | tries left */
	WK_SW_MEMORY_FAILURE = 0x6581,
	WK_SW_WRONG_LENGTH = 0x6700,
	WK_SW_LOGICAL_CHANNEL = 0x6881,
	WK_SW_LAST_CMD_EXPECTED = 0x6883,
	WK_SW_CHAINING_UNSUPPORTED = 0x6884,
	WK_SW_INVALID_STATE = 0x6901,
	WK_SW_SECURITY_STATUS = 0x6982,
	WK_SW_AUTH_BLOCKED = 0x6983,
	WK_SW_REF_DATA_UNUSABLE = 0x6984,
	WK_SW_CONDITIONS = 0x6985,
	WK_SW_SM_MISSING = 0x6987,
	WK_SW_SM_INCORRECT = 0x6988,
	WK_SW_WRONG_DATA = 0x6A80,
	WK_SW_FUNC_NOT_SUPPORTED = 0x6A81,
	WK_SW_FILE_NOT_FOUND = 0x6A82,
	WK_SW_RECORD_NOT_FOUND = 0x6A83,
	WK_SW_NO_SPACE = 0x6A84,
	WK_SW_WRONG_P1P2 = 0x6A86,
	WK_SW_REF_NOT_FOUND = 0x6A88,
	WK_SW_WRONG_LE = 0x6C00,	/* | exact length */
	WK_SW_INS_NOT_SUPPORTED = 0x6D00,
	WK_SW_CLA_NOT_SUPPORTED = 0x6E00,
	WK_SW_UNKNOWN = 0x6F00,
	/* PBOC purse, pboc-purse.md section 6 */
	WK_SW_PURSE_MAC_INVALID = 0x9302,
	WK_SW_PURSE_INSUFFICIENT = 0x9401,
	WK_SW_PURSE_SEQ_LIMIT = 0x9402,
	WK_SW_PURSE_KEY_NOT_FOUND = 0x9403,
	WK_SW_PURSE_MAC_UNAVAILABLE = 0x9406,
};

#endif
