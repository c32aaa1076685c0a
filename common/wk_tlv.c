#include "wk_tlv.h"

#include <string.h>

int
wk_tlv_read(wk_cur *c, wk_tlv *out)
{
	wk_cur t = *c;
	uint8_t b, l;
	uint32_t tag;
	size_t len;
	int n;

	if (wk_cur_u8(&t, &b) != 0)
		return WK_TLV_TRUNCATED;
	if (b == 0x00 || b == 0xFF)
		return WK_TLV_BAD_TAG;
	tag = b;
	out->constructed = (b & 0x20) != 0;
	if ((b & 0x1F) == 0x1F) {
		/* subsequent bytes while b7 set; at most 3 tag bytes in all */
		for (n = 1;; n++) {
			if (n >= 3)
				return WK_TLV_BAD_TAG;
			if (wk_cur_u8(&t, &b) != 0)
				return WK_TLV_TRUNCATED;
			tag = (tag << 8) | b;
			if ((b & 0x80) == 0)
				break;
		}
	}
	if (wk_cur_u8(&t, &l) != 0)
		return WK_TLV_TRUNCATED;
	if (l < 0x80) {
		len = l;
	} else if (l == 0x81) {
		if (wk_cur_u8(&t, &b) != 0)
			return WK_TLV_TRUNCATED;
		if (b < 0x80)
			return WK_TLV_BAD_LENGTH;
		len = b;
	} else if (l == 0x82) {
		uint16_t v;

		if (wk_cur_be16(&t, &v) != 0)
			return WK_TLV_TRUNCATED;
		if (v < 0x100)
			return WK_TLV_BAD_LENGTH;
		len = v;
	} else {
		return WK_TLV_BAD_LENGTH;
	}
	if (wk_cur_take(&t, len, &out->value) != 0)
		return WK_TLV_TRUNCATED;
	out->tag = tag;
	out->len = len;
	*c = t;
	return WK_TLV_OK;
}

int
wk_tlv_parse_one(const uint8_t *buf, size_t len, uint32_t tag, wk_tlv *out)
{
	wk_cur c;
	int r;

	wk_cur_init(&c, buf, len);
	if ((r = wk_tlv_read(&c, out)) != WK_TLV_OK)
		return r;
	if (c.len != 0)
		return WK_TLV_BAD_LENGTH;
	if (out->tag != tag)
		return WK_TLV_MISSING;
	return WK_TLV_OK;
}

int
wk_tlv_find(const uint8_t *buf, size_t len, uint32_t tag, wk_tlv *out)
{
	wk_cur c;
	wk_tlv t;
	bool found = false;
	int r;

	wk_cur_init(&c, buf, len);
	/* every iteration consumes at least two bytes, so the loop is bounded */
	while (c.len > 0) {
		if ((r = wk_tlv_read(&c, &t)) != WK_TLV_OK)
			return r;
		if (t.tag != tag)
			continue;
		if (found)
			return WK_TLV_DUPLICATE;
		found = true;
		*out = t;
	}
	return found ? WK_TLV_OK : WK_TLV_MISSING;
}

int
wk_tlv_check(const uint8_t *buf, size_t len)
{
	wk_cur c;
	wk_tlv t;
	int r;

	wk_cur_init(&c, buf, len);
	while (c.len > 0)
		if ((r = wk_tlv_read(&c, &t)) != WK_TLV_OK)
			return r;
	return WK_TLV_OK;
}

static size_t
tag_size(uint32_t tag)
{
	if (tag > 0xFFFF)
		return 3;
	if (tag > 0xFF)
		return 2;
	return 1;
}

static size_t
len_size(size_t len)
{
	if (len < 0x80)
		return 1;
	if (len <= 0xFF)
		return 2;
	return 3;
}

size_t
wk_tlv_header_size(uint32_t tag, size_t len)
{
	return tag_size(tag) + len_size(len);
}

void
wk_tlv_put_tag(wk_buf *b, uint32_t tag)
{
	if (tag > 0xFFFFFF)
		wk_buf_fail(b);
	else if (tag > 0xFFFF)
		wk_buf_be24(b, tag);
	else if (tag > 0xFF)
		wk_buf_be16(b, (uint16_t)tag);
	else
		wk_buf_u8(b, (uint8_t)tag);
}

void
wk_tlv_put_len(wk_buf *b, size_t len)
{
	if (len < 0x80) {
		wk_buf_u8(b, (uint8_t)len);
	} else if (len <= 0xFF) {
		wk_buf_u8(b, 0x81);
		wk_buf_u8(b, (uint8_t)len);
	} else if (len <= 0xFFFF) {
		wk_buf_u8(b, 0x82);
		wk_buf_be16(b, (uint16_t)len);
	} else {
		wk_buf_fail(b);
	}
}

void
wk_tlv_put(wk_buf *b, uint32_t tag, const void *value, size_t len)
{
	wk_tlv_put_tag(b, tag);
	wk_tlv_put_len(b, len);
	wk_buf_add(b, value, len);
}

size_t
wk_tlv_begin(wk_buf *b, uint32_t tag)
{
	wk_tlv_put_tag(b, tag);
	/* one length byte for now; wk_tlv_end widens it if needed */
	wk_buf_u8(b, 0);
	return b->len;
}

void
wk_tlv_end(wk_buf *b, size_t mark)
{
	size_t vlen, extra;

	if (wk_buf_failed(b) || mark == 0 || mark > b->len)
		return;
	vlen = b->len - mark;
	if (vlen > 0xFFFF) {
		wk_buf_fail(b);
		return;
	}
	extra = len_size(vlen) - 1;
	if (extra > 0 && wk_buf_reserve(b, extra) == NULL)
		return;
	memmove(b->p + mark + extra, b->p + mark, vlen);
	if (extra == 0) {
		b->p[mark - 1] = (uint8_t)vlen;
	} else if (extra == 1) {
		b->p[mark - 1] = 0x81;
		b->p[mark] = (uint8_t)vlen;
	} else {
		b->p[mark - 1] = 0x82;
		b->p[mark] = (uint8_t)(vlen >> 8);
		b->p[mark + 1] = (uint8_t)vlen;
	}
}
