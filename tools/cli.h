/* the walletkey CLI: one table of command groups (tools/commands.c), one file per group */
#ifndef WK_CLI_H
#define WK_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "walletkey.h"

typedef struct wk_cli {
	const char *reader;	/* --reader NAME, or NULL */
	bool json;		/* --json */
	bool verbose;		/* --verbose */
	wk_ctx *ctx;		/* opened lazily by wk_cli_card() */
	wk_card *card;
} wk_cli;

typedef struct wk_cli_cmd {
	const char *name;	/* "readers", "apdu", "pin", "key", "wallet", ... */
	const char *summary;	/* one line for --help */
	/* argv[0] is the command name; returns the process exit status
	 * (0 ok, 1 operation failed, 2 usage error) */
	int (*run)(wk_cli *cli, int argc, char **argv);
} wk_cli_cmd;

extern const wk_cli_cmd wk_cli_commands[];
extern const size_t wk_cli_n_commands;

/* connects to the card named by --reader (or the first walletkey card) once */
int wk_cli_card(wk_cli *cli, wk_card **out);
/* prints "walletkey: <what>: <wk_strerror(rc)>" (or a JSON error object with --json) */
int wk_cli_fail(wk_cli *cli, const char *what, int rc);

#endif
