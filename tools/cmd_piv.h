/* the PIV command groups of the walletkey CLI, listed in commands.c */
#ifndef CMD_PIV_H
#define CMD_PIV_H

#include "cli.h"

int cmd_pin(wk_cli *cli, int argc, char **argv);
int cmd_mgmt_key(wk_cli *cli, int argc, char **argv);
int cmd_key(wk_cli *cli, int argc, char **argv);
int cmd_cert(wk_cli *cli, int argc, char **argv);
int cmd_sign(wk_cli *cli, int argc, char **argv);
int cmd_status(wk_cli *cli, int argc, char **argv);
int cmd_reset(wk_cli *cli, int argc, char **argv);

#endif
