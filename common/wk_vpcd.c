#include "wk_vpcd.h"

#include <string.h>

void
wk_vpcd_reader_reset(wk_vpcd_reader *r)
{
	r->hdr_have = 0;
	r->want = 0;
	r->have = 0;
}

int
wk_vpcd_feed(wk_vpcd_reader *r, const uint8_t *p, size_t len, size_t *used)
{
	size_t n = 0, take;

	*used = 0;
	if (r->hdr_have == 2 && r->have == r->want) {
		/* the previous call returned a complete frame: start over */
		wk_vpcd_reader_reset(r);
	}
	while (r->hdr_have < 2 && n < len)
		r->hdr[r->hdr_have++] = p[n++];
	if (r->hdr_have < 2) {
		*used = n;
		return WK_VPCD_NEED_MORE;
	}
	r->want = ((size_t)r->hdr[0] << 8) | r->hdr[1];
	if (r->want == 0) {
		*used = n;
		wk_vpcd_reader_reset(r);
		return WK_VPCD_EMPTY;
	}
	take = len - n;
	if (take > r->want - r->have)
		take = r->want - r->have;
	if (take > 0)
		memcpy(r->payload + r->have, p + n, take);
	r->have += take;
	n += take;
	*used = n;
	return r->have == r->want ? WK_VPCD_FRAME : WK_VPCD_NEED_MORE;
}

int
wk_vpcd_frame(const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
    size_t *outlen)
{
	if (len == 0 || len > WK_VPCD_MAX_PAYLOAD || cap < 2 || len > cap - 2)
		return -1;
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memmove(out + 2, payload, len);
	*outlen = len + 2;
	return 0;
}
