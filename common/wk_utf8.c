#include "wk_utf8.h"

bool
wk_utf8_text_ok(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t c = p[i];
		size_t more;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7F)
				return false;
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			more = 1;
			c &= 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			more = 2;
			c &= 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			more = 3;
			c &= 0x07;
		} else {
			return false;
		}
		if (n - i - 1 < more)
			return false;
		for (size_t k = 1; k <= more; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			c = (c << 6) | (p[i + k] & 0x3Fu);
		}
		if ((more == 2 && c < 0x800) || (more == 3 && c < 0x10000) ||
		    c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF) ||
		    (c >= 0x80 && c <= 0x9F))
			return false;
		i += more + 1;
	}
	return true;
}
