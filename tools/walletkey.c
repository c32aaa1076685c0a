/* walletkey: the command-line companion of the card */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wk_log.h"

#ifndef WK_VERSION
#define WK_VERSION "unknown"
#endif

static void
usage(FILE *f)
{
	fputs("usage: walletkey [--reader NAME] [--json] [--verbose] [--cacert FILE]\n"
	    "                 COMMAND [ARG...]\n"
	    "       walletkey --help | --version\n\n"
	    "options (before or after the command):\n"
	    "  --reader NAME  use the reader with this name or unique name prefix\n"
	    "                 (default: the first walletkey card, else the first card)\n"
	    "  --json         print results as JSON on one line\n"
	    "  --verbose      trace PC/SC calls and APDUs on stderr (PINs masked)\n"
	    "  --cacert FILE  trust the CA certificates in FILE (PEM) for an\n"
	    "                 https:// issuer (as WALLETKEY_ISSUER_CAFILE)\n\n"
	    "commands:\n", f);
	for (size_t i = 0; i < wk_cli_n_commands; i++)
		fprintf(f, "  %-10s %s\n", wk_cli_commands[i].name,
		    wk_cli_commands[i].summary);
	fputs("\nexit status: 0 ok, 1 the operation failed, 2 usage error\n", f);
}

static const wk_cli_cmd *
find_cmd(const char *name)
{
	for (size_t i = 0; i < wk_cli_n_commands; i++)
		if (strcmp(wk_cli_commands[i].name, name) == 0)
			return &wk_cli_commands[i];
	return NULL;
}

/* takes the global options out of argv wherever they are (before "--") */
static int
parse_globals(wk_cli *cli, int argc, char **argv, char **rest, int *nrest,
    bool *help, bool *version)
{
	bool dashdash = false;
	int rc = WK_CLI_USAGE;

	*nrest = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (dashdash) {
			rest[(*nrest)++] = argv[i];
		} else if (strcmp(a, "--") == 0) {
			dashdash = true;
			if (*nrest > 0)
				rest[(*nrest)++] = argv[i];
		} else if (strcmp(a, "--json") == 0) {
			cli->json = true;
		} else if (strcmp(a, "--verbose") == 0) {
			cli->verbose = true;
		} else if (strcmp(a, "--reader") == 0) {
			if (i + 1 >= argc) {
				wk_cli_usage(cli, "--reader needs a reader name");
				goto out;
			}
			cli->reader = argv[++i];
		} else if (strncmp(a, "--reader=", 9) == 0) {
			cli->reader = a + 9;
		} else if (strcmp(a, "--cacert") == 0 ||
		    strncmp(a, "--cacert=", 9) == 0) {
			/* the CA file of an https:// issuer (libwalletkey reads
			 * WALLETKEY_ISSUER_CAFILE for every issuer call) */
			const char *f = a[8] == '=' ? a + 9 : i + 1 < argc ?
			    argv[++i] : NULL;

			if (f == NULL || f[0] == '\0' || access(f, R_OK) != 0) {
				wk_cli_usage(cli, "--cacert needs a readable PEM file"
				    " of the issuer's certificate authorities");
				goto out;
			}
			if (setenv("WALLETKEY_ISSUER_CAFILE", f, 1) != 0)
				goto out;
		} else if (*nrest > 0) {
			rest[(*nrest)++] = argv[i];	/* the command's own */
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			*help = true;
		} else if (strcmp(a, "--version") == 0) {
			*version = true;
		} else if (strcmp(a, "-v") == 0) {
			cli->verbose = true;
		} else if (a[0] == '-') {
			wk_cli_usage(cli, "unknown option %s", a);
			goto out;
		} else {
			rest[(*nrest)++] = argv[i];
		}
	}
	if (cli->reader != NULL && cli->reader[0] == '\0') {
		wk_cli_usage(cli, "--reader needs a reader name");
		goto out;
	}
	rc = WK_CLI_OK;
out:
	return rc;
}

int
main(int argc, char **argv)
{
	wk_cli cli;
	const wk_cli_cmd *cmd;
	char **rest = NULL;
	int nrest = 0, status = WK_CLI_USAGE;
	bool help = false, version = false;

	memset(&cli, 0, sizeof(cli));
	if ((rest = calloc((size_t)argc + 1, sizeof(*rest))) == NULL) {
		status = WK_CLI_FAILED;
		goto out;
	}
	if ((status = parse_globals(&cli, argc, argv, rest, &nrest, &help,
	    &version)) != WK_CLI_OK)
		goto out;
	if (help) {
		usage(stdout);
		goto out;
	}
	if (version) {
		printf("walletkey %s\n", WK_VERSION);
		goto out;
	}
	if (nrest == 0) {
		usage(stderr);
		status = WK_CLI_USAGE;
		goto out;
	}
	if ((cmd = find_cmd(rest[0])) == NULL) {
		status = wk_cli_usage(&cli, "unknown command '%s'", rest[0]);
		goto out;
	}
	if (nrest > 1 && (strcmp(rest[1], "--help") == 0 ||
	    strcmp(rest[1], "-h") == 0)) {
		printf("usage: walletkey %s %s\n  %s\n", cmd->name,
		    cmd->usage != NULL ? cmd->usage : "...", cmd->summary);
		goto out;
	}
	if (cli.verbose) {
		/* the library keeps its own trace switch (it shares no state) */
		wk_set_trace(WK_TRACE_ALL);
		wk_log_set(WK_LOG_ALL);
	}
	status = cmd->run(&cli, nrest, rest);
out:
	wk_card_free(&cli.card);
	wk_ctx_free(&cli.ctx);
	free(rest);
	return status;
}
