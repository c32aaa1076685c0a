#include "wk_hex.h"

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
wk_hex_decode(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1, v;

	for (; *hex != '\0'; hex++) {
		if (*hex == ' ' || *hex == ':' || *hex == '\t' || *hex == '\n')
			continue;
		if ((v = nibble(*hex)) < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= cap)
			return -1;
		out[n++] = (uint8_t)((hi << 4) | v);
		hi = -1;
	}
	if (hi >= 0)
		return -1;
	return (long)n;
}

void
wk_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0F];
	}
	out[2 * len] = '\0';
}

static uint8_t
bcd(int v)
{
	return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

int
wk_bcd_datetime(time_t t, uint8_t date[4], uint8_t tim[3])
{
	struct tm tm;
	int y;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	y = tm.tm_year + 1900;
	date[0] = bcd(y / 100);
	date[1] = bcd(y % 100);
	date[2] = bcd(tm.tm_mon + 1);
	date[3] = bcd(tm.tm_mday);
	tim[0] = bcd(tm.tm_hour);
	tim[1] = bcd(tm.tm_min);
	tim[2] = bcd(tm.tm_sec);
	return 0;
}
