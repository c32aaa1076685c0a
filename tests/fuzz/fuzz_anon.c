/*
 * the semi-anonymous payment formats (common/wk_anon.h) on anything: the
 * first byte picks the parser; what decodes re-encodes to the same bytes
 * (txinfo, request, result and statement bodies, query), so an encoder
 * never refuses what a decoder took, and nothing reads past its input
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "wk_anon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
/* an Ed25519 secret key for the re-signing checks (any fixed bytes) */
static uint8_t sign_sk[64], sign_pk[32];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[WK_ANON_ENV_MAX + 64], f[32], pk[32] = { 0 }, sk[32] = { 0 };
	char acct[WK_ANON_ACCT_MAX + 1], s[64];
	const uint8_t *a, *b, *c;
	size_t la, lc, n;
	wk_anon_tx tx;
	wk_anon_result r;
	uint64_t t;
	uint8_t kind;

	if (size < 1 || sodium_init() < 0)
		return 0;
	if (sign_sk[0] == 0 && sign_sk[63] == 0)
		crypto_sign_seed_keypair(sign_pk, sign_sk, key);
	switch (data[0] % 8) {
	case 0:
		if (wk_anon_tx_decode(data + 1, size - 1, &tx) == WK_ANON_OK) {
			if (wk_anon_tx_encode(&tx, out, sizeof(out), &n) != WK_ANON_OK ||
			    n != size - 1 || memcmp(out, data + 1, n) != 0)
				__builtin_trap();
		}
		break;
	case 1:
		if (wk_anon_req_decode(data + 1, size - 1, &a, &la, &b, &c, &lc) ==
		    WK_ANON_OK) {
			if (a < data || a + la > data + size || c + lc > data + size)
				__builtin_trap();
			if (wk_anon_req_encode(a, la, b, c, lc, out, sizeof(out), &n) !=
			    WK_ANON_OK || n != size - 1 ||
			    memcmp(out, data + 1, n) != 0)
				__builtin_trap();
		}
		break;
	case 2:
		if (wk_anon_env_peek(data + 1, size - 1, &kind, acct, sizeof(acct)) ==
		    WK_ANON_OK && !wk_anon_account_ok(acct))
			__builtin_trap();
		(void)wk_anon_env_open(data + 1, size - 1, key, out, sizeof(out), &n);
		break;
	case 3:
		if (wk_anon_result_decode(data + 1, size - 1, &r) == WK_ANON_OK) {
			wk_anon_result back;

			if (strlen(r.reason) > WK_ANON_REASON_MAX)
				__builtin_trap();
			/* signed again: the same body, and it verifies */
			if (wk_anon_result_sign(&r, sign_sk, out, sizeof(out), &n) !=
			    WK_ANON_OK || n != size - 1 ||
			    memcmp(out, data + 1, n - WK_ANON_SIG_LEN) != 0 ||
			    wk_anon_result_verify(out, n, sign_pk, &back) != WK_ANON_OK)
				__builtin_trap();
		}
		(void)wk_anon_result_verify(data + 1, size - 1, key, &r);
		break;
	case 4: {
		uint8_t id[8], bk[32];

		if (wk_anon_stmt_verify(data + 1, size - 1, NULL, acct, sizeof(acct),
		    id, bk) == WK_ANON_OK &&
		    (wk_anon_stmt_sign(acct, id, bk, sign_sk, out, sizeof(out), &n) !=
		    WK_ANON_OK || n != size - 1 ||
		    memcmp(out, data + 1, n - WK_ANON_SIG_LEN) != 0))
			__builtin_trap();
		(void)wk_anon_stmt_verify(data + 1, size - 1, key, acct, sizeof(acct),
		    id, bk);
		break;
	}
	case 5:
		if (wk_anon_query_decode(data + 1, size - 1, &t, f) == WK_ANON_OK) {
			wk_anon_query_encode(t, f, out);
			if (size - 1 != WK_ANON_QUERY_LEN ||
			    memcmp(out, data + 1, WK_ANON_QUERY_LEN) != 0)
				__builtin_trap();
		}
		break;
	case 6:
		(void)wk_anon_idcred_open(data + 1, size - 1, pk, sk, key, key, f);
		break;
	default:
		n = size - 1 < sizeof(s) - 1 ? size - 1 : sizeof(s) - 1;
		memcpy(s, data + 1, n);
		s[n] = '\0';
		if (wk_anon_account_ok(s) && wk_anon_account_manager(s, acct,
		    sizeof(acct)) != WK_ANON_OK)
			__builtin_trap();
		break;
	}
	return 0;
}
