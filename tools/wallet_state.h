/*
 * the wallet's host state (docs/remote-load.md): one directory, by default
 * $XDG_STATE_HOME/walletkey (else ~/.local/state/walletkey), or --state-dir
 * or WALLETKEY_STATE_DIR. Its records are libwalletkey's flows' (their
 * state store, wk_state_files, writes them whole or not at all):
 *   card-<id>.json   the enrolment: issuer URL, account PAN
 *   load-<id>.json   the load in flight: request, load id, grant, answer
 * the CLI only finds the directory and reads a record.
 */
#ifndef WALLET_STATE_H
#define WALLET_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli.h"
#include "wk_json.h"

/* resolves (and creates, mode 0700) the directory into out */
int wallet_state_dir(const char *opt, char *out, size_t cap);
/* dir/<prefix>-<card hex>.json */
void wallet_state_path(const char *dir, const char *prefix,
    const uint8_t card_id[8], char *out, size_t cap);
/* *obj NULL (and 0) when the file does not exist */
int wallet_state_read(const char *path, json_t **obj);

/* the secret from file (first line), else the environment variable env,
 * else the terminal without echo; 0 or an exit status */
int wallet_read_secret(const char *file, const char *env, const char *prompt,
    char *buf, size_t cap, size_t *len);

/* the card (wk_cli_card), its id in hex and the purse selected, a
 * blocked purse too (*blocked); WK_CLI_OK or the exit status */
int wallet_open_purse(wk_cli *cli, wk_card **card, char hex[17],
    bool *blocked);

/* enroll, implemented in cmd_enroll.c */
int wk_cmd_enroll(wk_cli *cli, int argc, char **argv);
/* cmd_wallet_remote.c: the subcommands it owns (load --issuer, recover,
 * transfer), and the recovery every other wallet command runs first */
bool wk_cmd_wallet_remote_owns(int argc, char **argv);
int wk_cmd_wallet_remote(wk_cli *cli, int argc, char **argv);
void wk_cmd_wallet_remote_auto(wk_cli *cli, int argc, char **argv);
/* cmd_wallet_unblock.c: wallet unblock --request-out FILE | --script FILE */
int wk_cmd_wallet_unblock(wk_cli *cli, int argc, char **argv);
/* walletkey wallet pin ...: cmd_wallet_pin.c */
int wk_cmd_wallet_pin(wk_cli *cli, int argc, char **argv);
/* cmd_wallet_pin.c: a contact with the issuer found the purse PIN
 * blocked: delivers the PIN reload the bank ordered, if any, says so (JSON
 * error pin_blocked with pin_reloaded); always WK_CLI_FAILED */
int wallet_pin_blocked_contact(wk_cli *cli, wk_card *card, wk_issuer *is,
    const char *serial, const char *what);
/* cmd_wallet_session.c: wallet session --issuer URL [--holder] */
int wk_cmd_wallet_session(wk_cli *cli, int argc, char **argv);

#endif
