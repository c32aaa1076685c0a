/*
 * purse_vectors: runs common/wk_purse_crypto on recipes read from stdin, one
 * a line, and prints one result a line (hex, or "error"). The other side is
 * tests/common/purse_sm4_vectors.py, an implementation of its own that
 * writes the recipes, computes every value itself and compares (docs/
 * purse.md "SM4", "Test vectors").
 *
 * recipes (numbers and byte strings in hex, ALG 3des or sm4):
 *   ecb ALG KEY DATA                    diversify ALG MK FACTOR
 *   skey_online ALG KEY RND SEQ         skey_purchase ALG KEY RND SEQ TSEQ
 *   tac_key ALG DTK                     mac ALG SKEY [DATA]
 *   load_mac1 ALG SKEY BAL AMOUNT TYPE TERM
 *   load_mac2 ALG SKEY AMOUNT TYPE TERM DATE TIME
 *   load_tac ALG KTAC BAL SEQ AMOUNT TYPE TERM DATE TIME
 *   purchase_mac1 ALG SKEY AMOUNT TYPE TERM DATE TIME
 *   purchase_mac2 ALG SKEY AMOUNT
 *   purchase_tac ALG KTAC AMOUNT TYPE TERM TSEQ DATE TIME
 *   unload_mac1 ALG SKEY BAL AMOUNT TERM
 *   unload_mac2 ALG SKEY AMOUNT TERM DATE TIME
 *   unload_mac3 ALG SKEY BAL SEQ AMOUNT TERM DATE TIME
 *   update_mac1 ALG SKEY BAL LIMIT TERM
 *   update_mac2 ALG SKEY LIMIT TERM DATE TIME
 *   update_tac ALG KTAC BAL SEQ LIMIT TERM DATE TIME
 *   unblock ALG DAMK CHALLENGE
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_hex.h"
#include "wk_purse_crypto.h"

#define ARGS_MAX 12
#define BYTES_MAX 64

typedef struct arg {
	uint8_t b[BYTES_MAX];
	size_t n;
	uint32_t v;
} arg;

static int
parse_args(char *line, char **op, uint8_t *alg, arg *a, size_t *n)
{
	char *save = NULL, *tok;

	*n = 0;
	if ((*op = strtok_r(line, " \t\n", &save)) == NULL ||
	    (tok = strtok_r(NULL, " \t\n", &save)) == NULL ||
	    wk_purse_alg_parse(tok, alg) != 0)
		return -1;
	while ((tok = strtok_r(NULL, " \t\n", &save)) != NULL) {
		long len;

		if (*n == ARGS_MAX || strlen(tok) % 2 != 0 ||
		    strlen(tok) > 2 * BYTES_MAX)
			return -1;
		len = wk_hex_decode(tok, a[*n].b, sizeof(a[*n].b));
		if (len < 0 || (size_t)len != strlen(tok) / 2)
			return -1;
		a[*n].n = (size_t)len;
		a[*n].v = 0;
		for (long i = 0; i < len && i < 4; i++)
			a[*n].v = a[*n].v << 8 | a[*n].b[len - (len < 4 ? len : 4) + i];
		(*n)++;
	}
	return 0;
}

static void
put(const uint8_t *p, size_t n)
{
	char h[2 * BYTES_MAX + 1];

	wk_hex_encode(p, n, h);
	printf("%s\n", h);
}

static wk_purse_skey
skey(uint8_t alg, const arg *a)
{
	wk_purse_skey k;

	memset(&k, 0, sizeof(k));
	k.alg = alg;
	memcpy(k.k, a->b, a->n > sizeof(k.k) ? sizeof(k.k) : a->n);
	return k;
}

/* one recipe; false when it is malformed or the library refuses it */
static bool
run(char *line)
{
	arg a[ARGS_MAX];
	uint8_t alg, out[BYTES_MAX];
	wk_purse_skey k;
	char *op;
	size_t n;
	int rc = -1;

	if (parse_args(line, &op, &alg, a, &n) != 0 || n == 0)
		return false;
	k = skey(alg, &a[0]);
	if (strcmp(op, "ecb") == 0 && n == 2) {
		rc = alg == WK_PURSE_ALG_SM4 ?
		    wk_purse_sm4_ecb(a[0].b, a[1].b, a[1].n, out) :
		    wk_purse_3des_ecb(a[0].b, a[1].b, a[1].n, out);
		if (rc == 0)
			put(out, a[1].n);
	} else if (strcmp(op, "diversify") == 0 && n == 2) {
		if ((rc = wk_purse_diversify(alg, a[0].b, a[1].b, a[1].n, out)) == 0)
			put(out, WK_PURSE_KEY_LEN);
	} else if (strcmp(op, "skey_online") == 0 && n == 3) {
		if ((rc = wk_purse_session_key_online(alg, a[0].b, a[1].b,
		    (uint16_t)a[2].v, &k)) == 0)
			put(k.k, alg == WK_PURSE_ALG_SM4 ? 16 : 8);
	} else if (strcmp(op, "skey_purchase") == 0 && n == 4) {
		if ((rc = wk_purse_session_key_purchase(alg, a[0].b, a[1].b,
		    (uint16_t)a[2].v, a[3].b, &k)) == 0)
			put(k.k, alg == WK_PURSE_ALG_SM4 ? 16 : 8);
	} else if (strcmp(op, "tac_key") == 0 && n == 1) {
		if ((rc = wk_purse_tac_key(alg, a[0].b, &k)) == 0)
			put(k.k, alg == WK_PURSE_ALG_SM4 ? 16 : 8);
	} else if (strcmp(op, "unblock") == 0 && n == 2) {
		rc = wk_purse_unblock_mac(alg, a[0].b, a[1].b, out);
	} else if (strcmp(op, "mac") == 0 && (n == 1 || n == 2)) {
		rc = wk_purse_mac(&k, a[1].b, n == 2 ? a[1].n : 0, out);
	} else if (strcmp(op, "load_mac1") == 0 && n == 5) {
		rc = wk_purse_load_mac1(&k, a[1].v, a[2].v, (uint8_t)a[3].v,
		    a[4].b, out);
	} else if (strcmp(op, "load_mac2") == 0 && n == 6) {
		rc = wk_purse_load_mac2(&k, a[1].v, (uint8_t)a[2].v, a[3].b,
		    a[4].b, a[5].b, out);
	} else if (strcmp(op, "load_tac") == 0 && n == 8) {
		rc = wk_purse_load_tac(&k, a[1].v, (uint16_t)a[2].v, a[3].v,
		    (uint8_t)a[4].v, a[5].b, a[6].b, a[7].b, out);
	} else if (strcmp(op, "purchase_mac1") == 0 && n == 6) {
		rc = wk_purse_purchase_mac1(&k, a[1].v, (uint8_t)a[2].v, a[3].b,
		    a[4].b, a[5].b, out);
	} else if (strcmp(op, "purchase_mac2") == 0 && n == 2) {
		rc = wk_purse_purchase_mac2(&k, a[1].v, out);
	} else if (strcmp(op, "purchase_tac") == 0 && n == 7) {
		rc = wk_purse_purchase_tac(&k, a[1].v, (uint8_t)a[2].v, a[3].b,
		    a[4].b, a[5].b, a[6].b, out);
	} else if (strcmp(op, "unload_mac1") == 0 && n == 4) {
		rc = wk_purse_unload_mac1(&k, a[1].v, a[2].v, a[3].b, out);
	} else if (strcmp(op, "unload_mac2") == 0 && n == 5) {
		rc = wk_purse_unload_mac2(&k, a[1].v, a[2].b, a[3].b, a[4].b, out);
	} else if (strcmp(op, "unload_mac3") == 0 && n == 7) {
		rc = wk_purse_unload_mac3(&k, a[1].v, (uint16_t)a[2].v, a[3].v,
		    a[4].b, a[5].b, a[6].b, out);
	} else if (strcmp(op, "update_mac1") == 0 && n == 4) {
		rc = wk_purse_update_mac1(&k, a[1].v, a[2].v, a[3].b, out);
	} else if (strcmp(op, "update_mac2") == 0 && n == 5) {
		rc = wk_purse_update_mac2(&k, a[1].v, a[2].b, a[3].b, a[4].b, out);
	} else if (strcmp(op, "update_tac") == 0 && n == 7) {
		rc = wk_purse_update_tac(&k, a[1].v, (uint16_t)a[2].v, a[3].v,
		    a[4].b, a[5].b, a[6].b, out);
	} else {
		return false;
	}
	if (rc != 0)
		return false;
	if (strcmp(op, "ecb") != 0 && strcmp(op, "diversify") != 0 &&
	    strncmp(op, "skey_", 5) != 0 && strcmp(op, "tac_key") != 0)
		put(out, WK_PURSE_MAC_LEN);
	return true;
}

int
main(void)
{
	char line[1024];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (!run(line))
			printf("error\n");
		fflush(stdout);
	}
	return 0;
}
