/* BER-TLV reading on anything: what reads re-encodes to the same bytes */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wk_tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[8 + 0x10000];

static void
walk(const uint8_t *p, size_t n, int depth)
{
	wk_cur c;
	wk_tlv t, f;
	wk_buf w;
	int r, all = wk_tlv_check(p, n);

	wk_cur_init(&c, p, n);
	/* bounded: every TLV consumes at least two bytes */
	while (c.len > 0) {
		const uint8_t *at = c.p;
		size_t before = c.len;

		if ((r = wk_tlv_read(&c, &t)) != WK_TLV_OK) {
			if (c.p != at || c.len != before || all == WK_TLV_OK)
				__builtin_trap();
			return;
		}
		if (before - c.len < 2 || t.len > before)
			__builtin_trap();
		/* strict lengths are minimal, so the encoder gives the input back */
		wk_buf_init_fixed(&w, out, sizeof(out));
		wk_tlv_put(&w, t.tag, t.value, t.len);
		if (wk_buf_failed(&w) || w.len != before - c.len ||
		    memcmp(out, at, w.len) != 0 ||
		    wk_tlv_header_size(t.tag, t.len) + t.len != w.len)
			__builtin_trap();
		r = wk_tlv_find(p, n, t.tag, &f);
		if (r != WK_TLV_OK && r != WK_TLV_DUPLICATE && all == WK_TLV_OK)
			__builtin_trap();
		if (t.constructed && depth < 8)
			walk(t.value, t.len, depth + 1);
	}
	if (all != WK_TLV_OK)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wk_tlv t;

	walk(data, size, 0);
	if (size > 0)
		(void)wk_tlv_parse_one(data, size, data[0], &t);
	return 0;
}
