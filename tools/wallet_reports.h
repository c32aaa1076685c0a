/*
 * the transfers a card redeemed, waiting to be reported to the issuer
 * (docs/remote-load.md "Reporting a transfer"): report-<token id>.json in
 * the wallet state directory, written by libwalletkey's transfer flow
 * (wk_wallet_transfer) before the transfer's own record is removed, and
 * removed once the issuer took the token (POST /v1/transfers, idempotent
 * by token id): libwalletkey's wk_wallet_transfer_reports; this is its
 * CLI wrapper (its messages, the report-send fault point). The next transfer between the
 * cards, either card's `walletkey audit sync` and `walletkey wallet
 * settle` report what is left.
 */
#ifndef WALLET_REPORTS_H
#define WALLET_REPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/*
 * reports the queued tokens that name card_hex as sender or receiver (all
 * when NULL) to url (NULL: the issuer the sender, else the receiver, was
 * enrolled with); a token the sender's float cannot cover yet stays queued.
 * dir NULL: the default state directory. *reported and *left may be NULL.
 * Messages go to stderr; nothing to stdout.
 */
int wallet_reports_flush(wk_cli *cli, const char *dir, const char *card_hex,
    const char *url, unsigned *reported, unsigned *left);

/* test hook of docs/remote-load.md: WALLETKEY_FAULT_AT=STEP kills this
 * process at STEP, or runs WALLETKEY_FAULT_CMD there */
void wallet_fault_point(const char *step);

#endif
