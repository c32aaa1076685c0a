/*
 * binary fields of the JSON messages and records that the issuer,
 * libwalletkey and the CLI exchange and keep, as JSON strings: base64
 * (the standard alphabet, padded: sodium_base64_VARIANT_ORIGINAL) or
 * lower-case hex
 */
#ifndef WK_JSON_H
#define WK_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* p as a base64 JSON string; NULL when out of memory */
json_t *wk_b64_json(const uint8_t *p, size_t len);
/* the base64 string s into out; the length, or -1 when s is NULL, no
 * base64 or does not fit cap */
long wk_b64_decode(const char *s, uint8_t *out, size_t cap);
/* the same from a JSON value: 0 and *len, or -1 when j is no base64
 * string or does not fit cap */
int wk_b64_unjson(const json_t *j, uint8_t *out, size_t cap, size_t *len);

/* p as a lower-case hex JSON string; NULL when out of memory */
json_t *wk_hex_json(const uint8_t *p, size_t len);
/* the hex JSON string j (an even number of digits, nothing else) into
 * out: 0 and *len, or -1 when j is no such string or does not fit cap */
int wk_hex_unjson(const json_t *j, uint8_t *out, size_t cap, size_t *len);

#endif
