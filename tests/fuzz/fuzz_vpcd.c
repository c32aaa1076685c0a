/*
 * the vpcd frame reader on a byte stream split at random points: it yields
 * exactly the frames a direct walk of the stream finds. The first byte
 * seeds the split sizes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_vpcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wk_vpcd_reader rd;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *s;
	size_t n, at = 0, ref = 0, used;
	uint32_t seed;
	int r;

	if (size < 1)
		return 0;
	seed = data[0] * 2654435761u + 1;
	s = data + 1;
	n = size - 1;
	wk_vpcd_reader_reset(&rd);
	while (at < n) {
		size_t piece;

		seed = seed * 1103515245u + 12345u;
		piece = 1 + (seed >> 16) % 300;
		if (piece > n - at)
			piece = n - at;
		r = wk_vpcd_feed(&rd, s + at, piece, &used);
		if (used == 0 || used > piece)
			__builtin_trap();
		at += used;
		if (r == WK_VPCD_NEED_MORE)
			continue;
		/* the reference: the frame that starts at ref */
		{
			size_t len;

			if (n - ref < 2)
				__builtin_trap();
			len = ((size_t)s[ref] << 8) | s[ref + 1];
			if (r == WK_VPCD_EMPTY) {
				if (len != 0)
					__builtin_trap();
				ref += 2;
			} else {
				if (len == 0 || rd.want != len ||
				    n - ref - 2 < len ||
				    memcmp(rd.payload, s + ref + 2, len) != 0)
					__builtin_trap();
				ref += 2 + len;
			}
			if (ref != at)
				__builtin_trap();
		}
	}
	return 0;
}
