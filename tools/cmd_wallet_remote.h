/* what the remote wallet commands share: cmd_wallet_remote.c (the remote
 * load, recover, the options and the dispatch) and cmd_wallet_xfer.c
 * (card to card) */
#ifndef CMD_WALLET_REMOTE_H
#define CMD_WALLET_REMOTE_H

#include <stdbool.h>

#include "cli.h"

typedef struct ropts {
	const char *issuer, *amount, *pin_file, *state_dir;
	const char *from, *to;		/* card to card: the two readers */
	const char *from_pin_file, *to_pin_file;
	long confirm_timeout;
	bool yes;
	bool quiet_auto;	/* the recovery run before another command */
	wk_purse_kind kind;
} ropts;

/* a line on stdout, unless --json */
void remote_say(wk_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* the holder says yes within the timeout; anything else cancels */
bool remote_confirm(long timeout);
/* cmd_wallet_xfer.c: wallet transfer, and wallet recover --from --to
 * (recover_only) */
int remote_cmd_transfer(wk_cli *cli, const ropts *o, bool recover_only);

#endif
