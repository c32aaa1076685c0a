#include "wk_apdu.h"

#include <string.h>

/*
 * ISO 7816-4 5.1: after the 4-byte header the body is
 *   empty                         case 1
 *   Le (1)                        case 2 short
 *   00 Le1 Le2                    case 2 extended
 *   Lc (1, != 0) data             case 3 short
 *   Lc data Le                    case 4 short
 *   00 Lc1 Lc2 data [Le1 Le2]     case 3/4 extended
 */
int
wk_apdu_parse(wk_apdu *a, const uint8_t *buf, size_t len)
{
	size_t body, lc;

	memset(a, 0, sizeof(*a));
	if (buf == NULL || len < 4)
		return WK_APDU_TOO_SHORT;
	a->cla = buf[0];
	a->ins = buf[1];
	a->p1 = buf[2];
	a->p2 = buf[3];
	body = len - 4;
	buf += 4;

	if (body == 0) {
		a->iso_case = 1;
		return WK_APDU_OK;
	}
	if (body == 1) {
		a->iso_case = 2;
		a->has_le = true;
		a->le = buf[0] == 0 ? 256 : buf[0];
		return WK_APDU_OK;
	}
	if (buf[0] != 0) {
		lc = buf[0];
		if (body == 1 + lc) {
			a->iso_case = 3;
		} else if (body == 2 + lc) {
			a->iso_case = 4;
			a->has_le = true;
			a->le = buf[1 + lc] == 0 ? 256 : buf[1 + lc];
		} else {
			return WK_APDU_BAD_LENGTH;
		}
		a->lc = lc;
		a->data = buf + 1;
		return WK_APDU_OK;
	}
	/* extended: first body byte is 00 */
	if (body == 3) {
		size_t le = ((size_t)buf[1] << 8) | buf[2];

		a->iso_case = 2;
		a->extended = true;
		a->has_le = true;
		a->le = le == 0 ? 65536 : le;
		return WK_APDU_OK;
	}
	if (body < 3)
		return WK_APDU_BAD_LENGTH;
	lc = ((size_t)buf[1] << 8) | buf[2];
	if (lc == 0)
		return WK_APDU_BAD_LENGTH;
	a->extended = true;
	a->lc = lc;
	a->data = buf + 3;
	if (body == 3 + lc) {
		a->iso_case = 3;
	} else if (body == 5 + lc) {
		size_t le = ((size_t)buf[3 + lc] << 8) | buf[4 + lc];

		a->iso_case = 4;
		a->has_le = true;
		a->le = le == 0 ? 65536 : le;
	} else {
		return WK_APDU_BAD_LENGTH;
	}
	return WK_APDU_OK;
}

int
wk_apdu_encode(const wk_apdu *a, bool force_extended, wk_buf *out)
{
	bool ext;

	if (a->lc > WK_APDU_MAX_DATA || (a->lc > 0 && a->data == NULL) ||
	    (a->has_le && (a->le == 0 || a->le > WK_APDU_MAX_LE)))
		return WK_APDU_BAD_LENGTH;
	ext = force_extended || a->lc > 255 || (a->has_le && a->le > 256);
	wk_buf_u8(out, a->cla);
	wk_buf_u8(out, a->ins);
	wk_buf_u8(out, a->p1);
	wk_buf_u8(out, a->p2);
	if (a->lc > 0) {
		if (ext) {
			wk_buf_u8(out, 0);
			wk_buf_be16(out, (uint16_t)a->lc);
		} else {
			wk_buf_u8(out, (uint8_t)a->lc);
		}
		wk_buf_add(out, a->data, a->lc);
	}
	if (a->has_le) {
		if (ext) {
			if (a->lc == 0)
				wk_buf_u8(out, 0);
			wk_buf_be16(out, (uint16_t)(a->le == 65536 ? 0 : a->le));
		} else {
			wk_buf_u8(out, (uint8_t)(a->le == 256 ? 0 : a->le));
		}
	}
	return wk_buf_failed(out) ? WK_APDU_BAD_LENGTH : WK_APDU_OK;
}
