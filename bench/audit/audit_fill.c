/*
 * bench/audit/audit_fill STORE SEAL-KEY N: appends N audit records to a stopped
 * card's store through the card's own audit_log_append (one store
 * transaction per record, as a purse transaction does), so the benchmark
 * starts from a full-size log without N purse transactions through PC/SC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "applets/audit_log.h"
#include "vc_card.h"

int
main(int argc, char **argv)
{
	vc_card_opts o = { .init = false };
	vc_store_key key = { .file = NULL };
	vc_store *st = NULL;
	vc_card *card = NULL;
	unsigned long n;
	uint32_t bal = 0;
	wk_arec r;

	if (argc != 4 || (n = strtoul(argv[3], NULL, 10)) == 0) {
		fprintf(stderr, "usage: audit_fill STORE SEAL-KEY N\n");
		return 2;
	}
	key.file = argv[2];
	if (sodium_init() < 0 || vc_store_open(argv[1], &key, &st) != VC_STORE_OK ||
	    vc_card_new(st, &o, &card) != VC_CARD_OK) {
		fprintf(stderr, "audit_fill: cannot open %s: %s\n", argv[1],
		    vc_store_errmsg(NULL));
		return 1;
	}
	for (unsigned long i = 1; i <= n; i++) {
		memset(&r, 0, sizeof(r));
		r.type = i % 4 == 1 ? WK_AREC_EP_LOAD : WK_AREC_EP_PURCHASE;
		r.amount = (uint32_t)(i % 4 == 1 ? 5000 : 1 + i % 1000);
		bal = r.type == WK_AREC_EP_LOAD ? bal + r.amount :
		    bal > r.amount ? bal - r.amount : 0;
		r.balance = bal;
		r.counter = (uint16_t)i;
		memcpy(r.date, "\x20\x26\x11\x22", 4);
		r.src[0] = WK_AREC_ACCT_EP;
		r.dst[0] = WK_AREC_ACCT_TERMINAL;
		if (vc_store_begin(st) != VC_STORE_OK ||
		    audit_log_append(card, &r) != AUDIT_LOG_OK ||
		    vc_store_commit(st) != VC_STORE_OK) {
			fprintf(stderr, "audit_fill: record %lu failed\n", i);
			return 1;
		}
	}
	vc_card_free(&card);
	vc_store_free(&st);
	return 0;
}
