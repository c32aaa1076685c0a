#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wk_hex.h"
#include "wk_json.h"

json_t *
wk_b64_json(const uint8_t *p, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	json_t *j;

	if (s == NULL)
		return NULL;
	sodium_bin2base64(s, cap, p, len, sodium_base64_VARIANT_ORIGINAL);
	j = json_string(s);
	free(s);
	return j;
}

long
wk_b64_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n;

	if (s == NULL || sodium_base642bin(out, cap, s, strlen(s), NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return (long)n;
}

int
wk_b64_unjson(const json_t *j, uint8_t *out, size_t cap, size_t *len)
{
	long n = wk_b64_decode(json_string_value(j), out, cap);

	*len = n < 0 ? 0 : (size_t)n;
	return n < 0 ? -1 : 0;
}

json_t *
wk_hex_json(const uint8_t *p, size_t len)
{
	char *s = malloc(2 * len + 1);
	json_t *j;

	if (s == NULL)
		return NULL;
	wk_hex_encode(p, len, s);
	j = json_string(s);
	free(s);
	return j;
}

int
wk_hex_unjson(const json_t *j, uint8_t *out, size_t cap, size_t *len)
{
	const char *s = json_string_value(j);
	long n;

	if (s == NULL || strlen(s) % 2 != 0 || strlen(s) / 2 > cap ||
	    (n = wk_hex_decode(s, out, cap)) < 0 || (size_t)n != strlen(s) / 2)
		return -1;
	*len = (size_t)n;
	return 0;
}
