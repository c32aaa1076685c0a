/* what the wallet commands share: cmd_wallet.c (the options, the card's
 * data: info, balance, records) and cmd_wallet_terminal.c (a terminal's
 * purchases and loads through its PSAM, their proofs, the software SAM) */
#ifndef CMD_WALLET_H
#define CMD_WALLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

#define PIN_MAX 12

/* the options of every wallet command: those of a terminal's commands
 * (cmd_wallet.c, cmd_wallet_terminal.c), of the remote ones
 * (cmd_wallet_remote.c, cmd_wallet_xfer.c) and of both */
typedef struct wopts {
	wk_purse_kind kind;
	const char *amount;
	const char *sam;
	const char *terminal;
	const char *pin_file;
	const char *master_keys;
	const char *out;
	const char *type;
	const char *seq;
	const char *aid_hex;
	const char *issuer;
	const char *psam;	/* --psam READER: the terminal's PSAM card */
	const char *journal;	/* --journal FILE: its terminal journal */
	uint8_t aid[16];
	size_t aid_len;
	long recover_wait;
	bool no_pin;
	bool insecure;		/* --insecure-master-keys: a SAM file may be used */
	/* the remote commands' */
	const char *state_dir;
	const char *from, *to;		/* card to card: the two readers */
	const char *from_pin_file, *to_pin_file;
	long confirm_timeout;
	bool yes;
	bool quiet_auto;	/* the recovery run before another command */
} wopts;

/* the options of a wallet command from argv[2] on: a terminal's, or
 * (remote) the remote load's, recovery's and transfer's; WK_CLI_OK or
 * WK_CLI_USAGE */
int wallet_cli_parse(wk_cli *cli, int argc, char **argv, wopts *o,
    bool remote);

/* the PIN is given without asking: --pin-file or WALLETKEY_PIN */
bool wallet_cli_pin_given(const wopts *o);
int wallet_cli_parse_terminal(wk_cli *cli, const char *s, uint8_t term[6]);
const char *wallet_cli_type_name(uint8_t type);
/* the purse application: by --aid, else by file id 1001 */
int wallet_cli_open_purse(wk_cli *cli, wk_card **card, wk_purse_app *app);
/* reconnects after the card went away, for up to wait seconds */
int wallet_cli_reopen_purse(wk_cli *cli, long wait, wk_card **card);
/* VERIFY with the purse PIN; tries left on a wrong one */
int wallet_cli_verify(wk_cli *cli, wk_card *card, const wopts *o);
/* the card answered that the PIN must be verified first */
bool wallet_cli_needs_pin(int rc);

/* cmd_wallet_terminal.c: purchase or load (load), prove and recover,
 * sam-init, settle */
int wallet_cli_cmd_txn(wk_cli *cli, const wopts *o, bool load);
int wallet_cli_cmd_prove(wk_cli *cli, const wopts *o);
int wallet_cli_cmd_sam_init(wk_cli *cli, const wopts *o);
int wallet_cli_cmd_settle(wk_cli *cli, const wopts *o);

#endif
