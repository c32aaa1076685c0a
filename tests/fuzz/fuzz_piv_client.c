/*
 * the PIV client's parsers (middleware/wk_piv_parse.c) on anything a card
 * could answer: byte 0 picks the parser, byte 1 the algorithm, the rest is
 * the answer. Each must return an error or a result that holds together.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wk_piv_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t algs[] = {
	WK_PIV_ALG_RSA1024, WK_PIV_ALG_RSA2048, WK_PIV_ALG_RSA3072,
	WK_PIV_ALG_RSA4096, WK_PIV_ALG_ECCP256, WK_PIV_ALG_ECCP384,
	WK_PIV_ALG_ED25519, WK_PIV_ALG_X25519, WK_PIV_ALG_3DES,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t spki[WK_PIV_SPKI_MAX], raw[2 * 66];
	static wk_piv_metadata md;
	const uint8_t *v, *p;
	size_t n, vlen, slen = sizeof(spki);
	uint8_t alg;

	if (size < 2)
		return 0;
	alg = algs[data[1] % sizeof(algs)];
	p = data + 2;
	n = size - 2;
	switch (data[0] % 6) {
	case 0:
		if (wk_piv_parse_generate(alg, p, n, spki, &slen) == WK_OK &&
		    (slen == 0 || slen > sizeof(spki) || spki[0] != 0x30))
			__builtin_trap();
		break;
	case 1:
		if (wk_piv_parse_metadata(p, n, &md) == WK_OK &&
		    (md.spki_len > sizeof(md.spki) ||
		    (md.has_retries && md.retries_left > md.retries_total)))
			__builtin_trap();
		break;
	case 2:
		if (wk_piv_parse_auth(p, n, 0x82, &v, &vlen) == WK_OK &&
		    (v < p || vlen > n || (size_t)(v - p) > n - vlen))
			__builtin_trap();
		break;
	case 3:
		if (wk_piv_parse_object(data[1] & 1 ? WK_PIV_OBJ_DISCOVERY :
		    WK_PIV_OBJ_CHUID, p, n, &v, &vlen) == WK_OK &&
		    (v < p || vlen > n || (size_t)(v - p) > n - vlen))
			__builtin_trap();
		break;
	case 4:
		if (wk_piv_parse_cert_object(p, n, &v, &vlen) == WK_OK &&
		    (vlen == 0 || v[0] != 0x30 || (size_t)(v - p) > n - vlen))
			__builtin_trap();
		break;
	default:
		(void)wk_piv_ecdsa_der_to_raw(p, n, 32 + (data[1] & 0x21), raw);
		break;
	}
	return 0;
}
