/* what the remote wallet commands share: cmd_wallet_remote.c (the remote
 * load, recover and the dispatch) and cmd_wallet_xfer.c (card to card);
 * their options are the wallet's (wopts, wallet_cli_parse in cmd_wallet.c) */
#ifndef CMD_WALLET_REMOTE_H
#define CMD_WALLET_REMOTE_H

#include <stdbool.h>

#include "cmd_wallet.h"

/* a line on stdout, unless --json */
void remote_say(wk_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* the holder says yes within the timeout; anything else cancels */
bool remote_confirm(long timeout);
/* cmd_wallet_xfer.c: wallet transfer, and wallet recover --from --to
 * (recover_only) */
int remote_cmd_transfer(wk_cli *cli, const wopts *o, bool recover_only);

#endif
