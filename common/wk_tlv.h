/* strict BER-TLV as used by ISO 7816-4 and SP 800-73-4: tags of 1-3 bytes,
 * lengths in the short, 0x81 and 0x82 forms only */
#ifndef WK_TLV_H
#define WK_TLV_H

#include "wk_buf.h"

typedef struct wk_tlv {
	uint32_t tag;		/* tag bytes big-endian, e.g. 0x5FC102, 0x7C */
	bool constructed;
	const uint8_t *value;
	size_t len;
} wk_tlv;

enum {
	WK_TLV_OK = 0,
	WK_TLV_TRUNCATED = -1,	/* input ends inside the tag, length or value */
	WK_TLV_BAD_TAG = -2,	/* tag longer than 3 bytes, or 00/FF padding */
	WK_TLV_BAD_LENGTH = -3,	/* indefinite, 0x83+, or non-minimal long form */
	WK_TLV_DUPLICATE = -4,
	WK_TLV_MISSING = -5,
};

/* reads one TLV and advances the cursor past it; cursor untouched on error */
int wk_tlv_read(wk_cur *c, wk_tlv *out);
/* reads a whole buffer that must hold exactly one TLV with the given tag */
int wk_tlv_parse_one(const uint8_t *buf, size_t len, uint32_t tag, wk_tlv *out);
/* finds tag among the TLVs of one level; WK_TLV_MISSING if absent,
 * WK_TLV_DUPLICATE if present twice, a parse error if the level is malformed */
int wk_tlv_find(const uint8_t *buf, size_t len, uint32_t tag, wk_tlv *out);
/* checks that a level parses cleanly to its end */
int wk_tlv_check(const uint8_t *buf, size_t len);

/* encoder: minimal length form; lengths above 0xFFFF fail the buffer */
void wk_tlv_put_tag(wk_buf *b, uint32_t tag);
void wk_tlv_put_len(wk_buf *b, size_t len);
void wk_tlv_put(wk_buf *b, uint32_t tag, const void *value, size_t len);
/* nested template: begin returns a mark, end fixes the length in place */
size_t wk_tlv_begin(wk_buf *b, uint32_t tag);
void wk_tlv_end(wk_buf *b, size_t mark);
/* size of the tag and length headers for a value of len bytes */
size_t wk_tlv_header_size(uint32_t tag, size_t len);

#endif
