/*
 * vpcd framing (shared/specs/vpcd.md): [len_hi][len_lo][payload], both
 * directions. A 1-byte payload from vpcd is a control code.
 */
#ifndef WK_VPCD_H
#define WK_VPCD_H

#include "wk_buf.h"

#define WK_VPCD_MAX_PAYLOAD 0xFFFFu

enum {
	WK_VPCD_POWER_OFF = 0x00,
	WK_VPCD_POWER_ON = 0x01,
	WK_VPCD_RESET = 0x02,
	WK_VPCD_GET_ATR = 0x04,
};

/* incremental frame reader for a byte stream; holds at most one frame */
typedef struct wk_vpcd_reader {
	uint8_t hdr[2];
	size_t hdr_have;
	size_t want;		/* payload length once the header is complete */
	size_t have;
	uint8_t payload[WK_VPCD_MAX_PAYLOAD];
} wk_vpcd_reader;

enum {
	WK_VPCD_NEED_MORE = 0,
	WK_VPCD_FRAME = 1,
	WK_VPCD_EMPTY = -1,	/* zero-length frame: the peer means removal */
};

void wk_vpcd_reader_reset(wk_vpcd_reader *r);
/*
 * feeds up to len bytes; sets *used to the bytes consumed. Returns
 * WK_VPCD_FRAME when a frame is complete (payload in r->payload, length
 * r->want; the next feed starts a new frame), WK_VPCD_NEED_MORE, or
 * WK_VPCD_EMPTY.
 */
int wk_vpcd_feed(wk_vpcd_reader *r, const uint8_t *p, size_t len, size_t *used);
/* writes header + payload into out (which must hold len + 2 bytes) */
int wk_vpcd_frame(const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
    size_t *outlen);

#endif
