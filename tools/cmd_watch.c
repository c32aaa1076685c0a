/*
 * walletkey watch: waits on PC/SC reader events and, when a walletkey card
 * appears, opens the control panel (docs/holder.md "The panel opens
 * itself"); run by the user service walletkey-watch.service. The panel is
 * one child process, `walletkey ui --control`, started on the first card
 * and asked for a new login link ("open") on each later one; without a
 * display the child prints the link (to the journal under systemd).
 *
 *   walletkey watch [--no-browser] [--once]
 *
 * --once: stop after the first card (and its panel) instead of watching on.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int wk_cmd_watch(wk_cli *cli, int argc, char **argv);

#define WAIT_MS 2000
#define READERS_MAX 64

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

typedef struct panel {
	pid_t pid;
	int in;			/* its standard input */
} panel;

static bool
panel_alive(panel *p)
{
	int status;

	if (p->pid <= 0)
		return false;
	if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
		close(p->in);
		p->pid = 0;
		p->in = -1;
		return false;
	}
	return true;
}

static int
panel_start(wk_cli *cli, panel *p, bool no_browser)
{
	char *argv[8];
	int fds[2], n = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	argv[n++] = "walletkey";
	if (cli->reader != NULL) {
		argv[n++] = "--reader";
		argv[n++] = (char *)cli->reader;
	}
	argv[n++] = "ui";
	argv[n++] = "--control";
	if (no_browser)
		argv[n++] = "--no-browser";
	argv[n] = NULL;
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		/* the panel ends with the watch */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (dup2(fds[0], STDIN_FILENO) < 0)
			_exit(127);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fds[0]);
	p->pid = pid;
	p->in = fds[1];
	return 0;
}

static int
panel_open(wk_cli *cli, panel *p, bool no_browser)
{
	static const char open_cmd[] = "open\n";

	if (!panel_alive(p) && panel_start(cli, p, no_browser) != 0)
		return -1;
	return write(p->in, open_cmd, sizeof(open_cmd) - 1) ==
	    (ssize_t)(sizeof(open_cmd) - 1) ? 0 : -1;
}

static void
panel_stop(panel *p)
{
	int status;

	if (p->pid <= 0)
		return;
	close(p->in);	/* the end of its input stops it */
	for (int i = 0; i < 50; i++) {
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			return;
		}
		usleep(100000);
	}
	kill(p->pid, SIGTERM);
	waitpid(p->pid, &status, 0);
	p->pid = 0;
}

/* the readers holding a walletkey card now, as a set of names */
static size_t
walletkey_readers(wk_ctx *ctx, char names[READERS_MAX][128], int *rc)
{
	wk_reader_info *list = NULL;
	size_t n = 0, k = 0;

	if ((*rc = wk_list_readers(ctx, &list, &n)) != WK_OK &&
	    *rc != WK_ERR_NO_READER)
		return 0;
	*rc = WK_OK;
	for (size_t i = 0; i < n && k < READERS_MAX; i++)
		if (list[i].card_present && list[i].walletkey)
			snprintf(names[k++], 128, "%s", list[i].name);
	free(list);
	return k;
}

static bool
in_set(char set[READERS_MAX][128], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(set[i], name) == 0)
			return true;
	return false;
}

int
wk_cmd_watch(wk_cli *cli, int argc, char **argv)
{
	static char before[READERS_MAX][128], now[READERS_MAX][128];
	panel p = { 0, -1 };
	struct sigaction sa;
	wk_ctx *ctx = NULL;
	size_t nb = 0, nn;
	bool no_browser = false, once = false, done = false, changed;
	int rc, st = WK_CLI_OK;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--no-browser") == 0)
			no_browser = true;
		else if (strcmp(argv[i], "--once") == 0)
			once = true;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs("usage: walletkey watch [--no-browser] [--once]\n", stdout);
			return WK_CLI_OK;
		} else
			return wk_cli_usage(cli, "watch: unknown option %s", argv[i]);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "walletkey watch: waiting for walletkey cards\n");
	while (!stop) {
		if (ctx == NULL && (rc = wk_ctx_new(&ctx)) != WK_OK) {
			/* pcscd not up yet, or restarting */
			sleep(2);
			continue;
		}
		nn = walletkey_readers(ctx, now, &rc);
		if (rc != WK_OK) {
			wk_ctx_free(&ctx);
			sleep(1);
			continue;
		}
		for (size_t i = 0; i < nn; i++) {
			if (in_set(before, nb, now[i]))
				continue;
			printf("walletkey watch: a walletkey card in %s\n", now[i]);
			fflush(stdout);
			if (panel_open(cli, &p, no_browser) != 0)
				fprintf(stderr, "walletkey watch: cannot start the"
				    " panel\n");
			else if (once)
				done = true;
		}
		memcpy(before, now, sizeof(now));
		nb = nn;
		if (stop || done)
			break;
		rc = wk_wait_readers(ctx, WAIT_MS, &changed);
		if (rc != WK_OK) {
			wk_ctx_free(&ctx);
			sleep(1);
		}
		(void)panel_alive(&p);
	}
	wk_ctx_free(&ctx);
	/* --once: the panel stays up until the watch is stopped */
	while (done && !stop && panel_alive(&p))
		sleep(1);
	panel_stop(&p);
	return st;
}
