/* the table of command groups: one line each, one file per group */
#include "cli.h"

int wk_cmd_readers(wk_cli *cli, int argc, char **argv);
int wk_cmd_apdu(wk_cli *cli, int argc, char **argv);

const wk_cli_cmd wk_cli_commands[] = {
	{ "readers", "list readers, cards, ATRs and walletkey serials", wk_cmd_readers, "" },
	{ "apdu", "send raw APDUs (hex) and print each response and status word", wk_cmd_apdu, "HEX..." },
};

const size_t wk_cli_n_commands = sizeof(wk_cli_commands) / sizeof(wk_cli_commands[0]);
