/*
 * the host side of the audit export (tools/audit_doc.c, common/wk_arec.c):
 * the first input byte picks the parser, the rest is its input.
 *   0  a walletkey-audit/1 JSON export, then every verification check and
 *      the JSON written back (read back to the same records with no shown
 *      field differing, equal to the document jansson builds, and the same
 *      bytes streamed to a file as written in memory)
 *   1  a walletkey-audit-sealed/1 bundle, opened with a fixed key pair
 *   2  one sealed page, opened with the fixed key pair, then parsed
 *   3  a plaintext page and its records; the same bytes as an issuer's
 *      revocation list (every id it lists is found, lengths add up) and
 *      as a batch of the bank's records (issuer types, ascending)
 * Traps: a verification of a document that parsed returning no fault for a
 * record whose fields were not all consistent is not checked here (that
 * is the e2e test's job); the fuzzer hunts memory errors and UB.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit_doc.h"
#include "wk_arec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pk[32], sk[32];
static const uint8_t serial[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void
count(void *ctx, const char *msg)
{
	(void)msg;
	(*(size_t *)ctx)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	audit_doc d;
	wk_buf pt;
	wk_arec_page pg;
	wk_arec_crl crl;
	wk_arec r;
	char err[256], *text;
	size_t faults = 0;
	json_t *j;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		/* a fixed key pair, so corpus seeds can be sealed to it */
		memset(sk, 0x42, sizeof(sk));
		crypto_scalarmult_base(pk, sk);
		ready = true;
	}
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
	case 1:
		if ((text = malloc(size)) == NULL)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		if ((data[0] & 3) == 0 ?
		    audit_doc_from_json(text, size - 1, &d, err, sizeof(err)) :
		    audit_bundle_open(text, size - 1, pk, sk, &d, err,
		    sizeof(err))) {
			free(text);
			return 0;
		}
		(void)audit_doc_verify(&d, count, &faults);
		if ((j = audit_doc_to_json(&d, NULL)) != NULL)
			json_decref(j);
		/* oracle: what the writer makes reads back to the same records,
		 * every shown field (origin among them) agreeing with raw, and
		 * is the document jansson builds, member for member */
		if ((data[0] & 3) == 0) {
			char *again = audit_doc_json_text(&d, NULL);
			audit_doc d2;

			if (again != NULL) {
				json_t *direct, *tree;

				if (audit_doc_from_json(again, strlen(again), &d2,
				    err, sizeof(err)) != 0 || d2.n != d.n ||
				    (d.n > 0 && memcmp(d2.raw, d.raw, d.n *
				    WK_AREC_LEN) != 0) ||
				    d2.have_head != d.have_head)
					__builtin_trap();
				for (size_t i = 0; i < d2.n; i++) {
					wk_arec dr;

					if (d2.field_fault[i] != NULL &&
					    wk_arec_decode(d2.raw + i * WK_AREC_LEN,
					    WK_AREC_LEN, &dr) == WK_AREC_OK)
						__builtin_trap();
				}
				/* the streamed writer (exports) writes the same
				 * bytes */
				{
					char *ms = NULL;
					size_t msz = 0;
					FILE *mf = open_memstream(&ms, &msz);

					if (mf == NULL)
						abort();
					if (audit_doc_json_write(&d, NULL, mf) != 0 ||
					    fclose(mf) != 0 || msz != strlen(again) ||
					    memcmp(ms, again, msz) != 0)
						__builtin_trap();
					free(ms);
				}
				direct = json_loads(again, JSON_REJECT_DUPLICATES,
				    NULL);
				tree = audit_doc_to_json(&d, NULL);
				if (direct == NULL || (tree != NULL &&
				    !json_equal(direct, tree)))
					__builtin_trap();
				json_decref(direct);
				json_decref(tree);
				audit_doc_free(&d2);
				free(again);
			}
		}
		audit_doc_free(&d);
		free(text);
		break;
	case 2:
		wk_buf_init_heap(&pt, AUDIT_PAGE_BUF);
		if (wk_arec_open(pk, sk, serial, data + 1, size - 1, &pt) ==
		    WK_AREC_OK && !wk_buf_failed(&pt) &&
		    wk_arec_page_parse(pt.p, pt.len, &pg) == WK_AREC_OK) {
			for (unsigned i = 0; i < pg.count; i++)
				if (wk_arec_decode(pg.records + (size_t)i *
				    WK_AREC_LEN, WK_AREC_LEN, &r) != WK_AREC_OK)
					__builtin_trap();
		}
		wk_buf_clear(&pt);
		break;
	default:
		if (wk_arec_page_parse(data + 1, size - 1, &pg) == WK_AREC_OK) {
			if ((size_t)pg.count * WK_AREC_LEN + WK_AREC_PAGE_HDR !=
			    size - 1)
				__builtin_trap();
			for (unsigned i = 0; i < pg.count; i++)
				if (wk_arec_decode(pg.records + (size_t)i *
				    WK_AREC_LEN, WK_AREC_LEN, &r) != WK_AREC_OK)
					__builtin_trap();
		}
		if (wk_arec_crl_parse(data + 1, size - 1, &crl) == WK_AREC_OK) {
			if (crl.tbs_len + crl.sig_len != size - 1 ||
			    crl.tbs_len != WK_AREC_CRL_HDR + (size_t)crl.count * 8 ||
			    crl.sig_len == 0 || crl.sig_len > WK_AREC_SIG_MAX)
				__builtin_trap();
			for (unsigned i = 0; i < crl.count; i++)
				if (!wk_arec_crl_has(&crl, crl.ids + (size_t)i * 8))
					__builtin_trap();
		}
		/* the bank's records: what parses is whole, of issuer types,
		 * ascending, inside the input */
		{
			wk_arec_iss bank;
			uint64_t prev = 0;

			if (wk_arec_iss_parse(data + 1, size - 1, &bank) ==
			    WK_AREC_OK) {
				if (bank.tbs_len + bank.sig_len != size - 1 ||
				    bank.tbs_len != WK_AREC_ISS_HDR +
				    (size_t)bank.count * WK_AREC_LEN ||
				    bank.count == 0 || bank.count > WK_AREC_ISS_MAX)
					__builtin_trap();
				for (unsigned i = 0; i < bank.count; i++) {
					if (wk_arec_decode(bank.records + (size_t)i *
					    WK_AREC_LEN, WK_AREC_LEN, &r) != WK_AREC_OK ||
					    !wk_arec_is_issuer(r.type) ||
					    wk_arec_iss_event(&r) <= prev)
						__builtin_trap();
					prev = wk_arec_iss_event(&r);
				}
			}
		}
		break;
	}
	return 0;
}
