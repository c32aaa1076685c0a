/* the walletkey CLI: one table of command groups (tools/commands.c), one file per group */
#ifndef WK_CLI_H
#define WK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

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
	/* optional: the arguments after the name, for "walletkey NAME --help" */
	const char *usage;
} wk_cli_cmd;

extern const wk_cli_cmd wk_cli_commands[];
extern const size_t wk_cli_n_commands;

/* opens the PC/SC context once (for commands that list rather than connect) */
int wk_cli_ctx(wk_cli *cli, wk_ctx **out);
/* connects to the card named by --reader (or the first walletkey card) once */
int wk_cli_card(wk_cli *cli, wk_card **out);
/* prints "walletkey: <what>: <wk_strerror(rc)>" (or a JSON error object with --json) */
int wk_cli_fail(wk_cli *cli, const char *what, int rc);

/* reads a line from the terminal (/dev/tty) without echo after "prompt: ";
 * WK_OK, WK_ERR_IO when there is no terminal, WK_ERR_ARG when the line does
 * not fit cap - 1 bytes. The caller wipes buf. */
int wk_cli_read_tty(const char *prompt, char *buf, size_t cap, size_t *len);

/* the purse PIN (4 to 12 digits) from file (the first line), else
 * WALLETKEY_PIN, else the terminal without echo; without a terminal
 * "walletkey: <needs>: give --pin-file FILE or set WALLETKEY_PIN".
 * WK_OK, WK_ERR_IO (file or terminal), WK_ERR_ARG; pin is wiped on error.
 * The caller wipes pin. */
int wk_cli_purse_pin(const char *file, const char *needs, char *pin,
    size_t cap, size_t *len);

/* exit statuses */
enum {
	WK_CLI_OK = 0,
	WK_CLI_FAILED = 1,
	WK_CLI_USAGE = 2,
};

/* prints "walletkey: <message>" (printf-style) and "try 'walletkey --help'"
 * to stderr; returns WK_CLI_USAGE */
int wk_cli_usage(wk_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* a value option of a command: "--name VALUE" into *slot */
typedef struct wk_cli_slot {
	const char *name;	/* "--amount" */
	const char **slot;
} wk_cli_slot;
/* argv[*i] against slots (ended by a NULL name): -1 when it names none;
 * else its value (the next argument, which must not be empty) goes to its
 * slot, *i moves on to the value, and WK_CLI_OK (or WK_CLI_USAGE after
 * "walletkey: --name needs a value") */
int wk_cli_slot_opt(wk_cli *cli, const wk_cli_slot *slots, int argc,
    char **argv, int *i);
/* a flag of a command: "--name" sets *on, or (on NULL) *kind to value */
typedef struct wk_cli_flag {
	const char *name;	/* "--yes", "--ed" */
	bool *on;
	wk_purse_kind *kind;
	wk_purse_kind value;
} wk_cli_flag;
/* a number option: "--name N", N a decimal in [min, max] of unit */
typedef struct wk_cli_num {
	const char *name;	/* "--recover-wait" */
	long *num;
	long min, max;
	const char *unit;	/* "seconds" */
} wk_cli_num;
/* a value option that takes one of a few words: "--name WORD" */
typedef struct wk_cli_choice {
	const char *name;	/* "--format" */
	const char **slot;
	const char *const *words;	/* "table", "csv", "json", NULL */
} wk_cli_choice;
/* the options of "walletkey GROUP SUB ...", from argv[2] on: value
 * options (slots), flags, numbers, choices (each table ended by a NULL
 * name, or NULL), those of also (the options several commands of a group share,
 * written once), and when arg is set one plain argument (not starting
 * with '-') into *arg. WK_CLI_OK, or WK_CLI_USAGE after "walletkey: --name
 * needs a value" (a number: "needs <unit>", "takes MIN to MAX <unit>"; once
 * all are read, a choice: "--name is A, B or C") or "walletkey: GROUP SUB:
 * unknown option ARG". */
typedef struct wk_cli_opts {
	const char *group;	/* "wallet", "audit" */
	const wk_cli_slot *slots;
	const wk_cli_flag *flags;
	const wk_cli_num *nums;
	const wk_cli_choice *choices;
	const char **arg;
	/* its slots, flags, nums and choices count too */
	const struct wk_cli_opts *also;
} wk_cli_opts;
int wk_cli_parse_opts(wk_cli *cli, const wk_cli_opts *opts, int argc,
    char **argv);
/* a command group's usage: "walletkey GROUP" alone prints it on stderr
 * (WK_CLI_USAGE); -h or --help as the first argument (or, with anywhere,
 * wk_cli_wants_help) on stdout (WK_CLI_OK); -1 to go on */
int wk_cli_group_usage(int argc, char **argv, const char *usage,
    bool anywhere);
/* true when argv holds -h or --help before any "--" */
bool wk_cli_wants_help(int argc, char **argv);

/*
 * JSON output (--json): build a json_t with jansson, then print it as one
 * line on stdout. wk_cli_json_print takes the reference and returns
 * WK_CLI_OK (WK_CLI_FAILED if it could not be printed).
 */
int wk_cli_json_print(json_t *value);
/* a JSON string of lower-case hex, or NULL on allocation failure */
json_t *wk_cli_json_hex(const uint8_t *p, size_t len);
/* writes lower-case hex to f */
void wk_cli_print_hex(FILE *f, const uint8_t *p, size_t len);

/* a table for lists: columns sized to their widest cell, header in capitals */
typedef struct wk_cli_table wk_cli_table;

wk_cli_table *wk_cli_table_new(size_t ncols, const char *const *headers);
/* copies ncols cells (NULL prints as "-"); returns 0 or -1 on memory failure */
int wk_cli_table_add(wk_cli_table *t, const char *const *cells);
void wk_cli_table_print(const wk_cli_table *t, FILE *f);
void wk_cli_table_free(wk_cli_table **t);

#endif
