/*
 * fills a card's purse history in one process: the transactions FROM..TO
 * of tests/e2e/audit_export.sh's mix (transaction i a local load when i is
 * a multiple of 4, else a purchase; random amounts in the script's
 * ranges), each a full load or purchase with the software SAM file, the
 * PIN (WALLETKEY_PIN, when set) verified in the same card transaction, as
 * `walletkey wallet load|purchase --sam FILE --insecure-master-keys` does
 * it one process a transaction. For the tests that need a long log, not a
 * test of the CLI: they keep some transactions through the CLI.
 *
 *   purse_fill READER SAM_FILE FROM TO
 *
 * Prints "LOADS PURCHASES" (the counts done) and exits 0; on the first
 * transaction that fails, says which on stderr and exits 1 (the counts
 * done so far still printed); 2 on a usage or setup error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "walletkey.h"

int
main(int argc, char **argv)
{
	wk_ctx *ctx = NULL;
	wk_card *card = NULL;
	wk_sam *sam = NULL;
	wk_purse_app app;
	wk_purse_txn txn;
	const char *pin;
	unsigned long from, to, loads = 0, buys = 0;
	int rc, status = 2;

	if (argc != 5 || (from = strtoul(argv[3], NULL, 10)) == 0 ||
	    (to = strtoul(argv[4], NULL, 10)) < from) {
		fprintf(stderr, "usage: purse_fill READER SAM_FILE FROM TO\n");
		return 2;
	}
	memset(&txn, 0, sizeof(txn));
	pin = getenv("WALLETKEY_PIN");
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	if (sodium_init() < 0 || wk_ctx_new(&ctx) != WK_OK)
		goto out;
	if ((rc = wk_card_open(ctx, argv[1], &card)) != WK_OK ||
	    (rc = wk_purse_select(card, NULL, 0, &app)) != WK_OK ||
	    (rc = wk_sam_open(argv[2], &sam)) != WK_OK) {
		fprintf(stderr, "purse_fill: open: %s\n", wk_strerror(rc));
		goto out;
	}
	status = 0;
	for (unsigned long i = from; i <= to; i++) {
		bool load = i % 4 == 0;
		/* the script's "$((RANDOM % 50 + 1)).$((RANDOM % 90 + 10))"
		 * (load) and "$((RANDOM % 20)).$((RANDOM % 90 + 10))" */
		uint32_t fen = (uint32_t)(load ? rand() % 50 + 1 : rand() % 20) *
		    100 + (uint32_t)(rand() % 90 + 10);

		memset(&txn, 0, sizeof(txn));
		rc = load ? wk_purse_load(card, sam, &app, WK_PURSE_EP, fen, pin,
		    pin ? strlen(pin) : 0, &txn) : wk_purse_purchase(card, sam,
		    &app, WK_PURSE_EP, fen, pin, pin ? strlen(pin) : 0, &txn);
		if (rc != WK_OK) {
			fprintf(stderr, "purse_fill: %s %lu (%u fen): %s\n",
			    load ? "load" : "purchase", i, fen, wk_strerror(rc));
			status = 1;
			break;
		}
		if (load)
			loads++;
		else
			buys++;
	}
	printf("%lu %lu\n", loads, buys);
out:
	sodium_memzero(&txn, sizeof(txn));
	wk_sam_free(&sam);
	wk_card_free(&card);
	wk_ctx_free(&ctx);
	return status;
}
