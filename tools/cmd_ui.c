/*
 * walletkey ui: the holder's control panel in the browser (docs/holder.md
 * "The control panel"). A server on 127.0.0.1 with a random port; the login
 * link carries a one-time token in its fragment. The browser gets the link
 * through a private file (mode 0600 in $XDG_RUNTIME_DIR) that redirects to
 * it, so the token never appears on a command line other users can read;
 * without a display (or with --no-browser) the link is printed.
 *
 *   walletkey ui [--port N] [--no-browser] [--idle-exit SECONDS]
 *                [--static-dir DIR] [--control] [--json]
 *
 * --control (for walletkey watch): a line "open" on standard input makes a
 * new link and opens it (or prints it); "quit", or the end of the input,
 * stops the panel.
 */
#include "cli.h"
#include "ui_server.h"
#include "wk_wipe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#ifndef WK_UI_DIR
#define WK_UI_DIR "/usr/share/walletkey/ui"
#endif

int wk_cmd_ui(wk_cli *cli, int argc, char **argv);

static const char ui_usage[] =
    "usage: walletkey ui [--port N] [--no-browser] [--idle-exit SECONDS]\n"
    "                    [--static-dir DIR] [--control] [--json]\n"
    "  the control panel in the browser, on 127.0.0.1 (docs/holder.md);\n"
    "  the link it opens or prints logs in once\n";

typedef struct uiopts {
	long port;
	bool no_browser;
	long idle_exit;
	const char *static_dir;
	bool control;
} uiopts;

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static bool
has_display(void)
{
	const char *x = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");

	return (x != NULL && x[0] != '\0') || (w != NULL && w[0] != '\0');
}

/* a private directory for the redirect files */
static int
runtime_dir(char *out, size_t cap)
{
	const char *base = getenv("XDG_RUNTIME_DIR");
	const char *home = getenv("HOME");
	struct stat sb;

	if (base != NULL && base[0] == '/')
		snprintf(out, cap, "%s/walletkey", base);
	else if (home != NULL && home[0] == '/')
		snprintf(out, cap, "%s/.cache/walletkey", home);
	else
		return -1;
	if (mkdir(out, 0700) != 0 && errno != EEXIST)
		return -1;
	/* ours, and nobody else's to read */
	if (lstat(out, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
	    sb.st_uid != geteuid() || (sb.st_mode & 077) != 0)
		return -1;
	return 0;
}

/* opens url in the browser through a 0600 file that redirects to it */
static int
open_browser(const char *url, uint16_t port)
{
	char dir[512], path[600];
	pid_t pid;
	FILE *f;
	int fd, status;

	if (runtime_dir(dir, sizeof(dir)) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/panel-%u.html", dir, (unsigned)port);
	(void)unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"refresh\" content=\"0;url=%s\">\n"
	    "<title>walletkey</title></head>\n<body><p><a href=\"%s\">Open the"
	    " walletkey control panel</a></p></body></html>\n", url, url);
	if (fclose(f) != 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		execlp("xdg-open", "xdg-open", path, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

/* a new link: opened in the browser, else printed */
static int
announce(wk_cli *cli, ui_server *s, const uiopts *o)
{
	char url[UI_URL_MAX];
	bool opened = false;

	if (ui_server_login_url(s, url, sizeof(url)) != 0)
		return -1;
	if (!o->no_browser && has_display())
		opened = open_browser(url, ui_server_port(s)) == 0;
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:i, s:i, s:b}", "url", url, "port",
		    (int)ui_server_port(s), "pid", (int)getpid(), "opened", opened);

		(void)wk_cli_json_print(j);
	} else if (opened) {
		printf("walletkey: the control panel is open in your browser"
		    " (http://127.0.0.1:%u/)\n", (unsigned)ui_server_port(s));
	} else {
		printf("walletkey: open the control panel (the link logs in"
		    " once):\n    %s\n", url);
	}
	fflush(stdout);
	sodium_memzero(url, sizeof(url));
	return 0;
}

static int
parse(wk_cli *cli, int argc, char **argv, uiopts *o)
{
	memset(o, 0, sizeof(*o));
	o->static_dir = getenv("WALLETKEY_UI_DIR");
	if (o->static_dir == NULL || o->static_dir[0] == '\0')
		o->static_dir = WK_UI_DIR;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *end;

		if (strcmp(a, "--no-browser") == 0) {
			o->no_browser = true;
		} else if (strcmp(a, "--control") == 0) {
			o->control = true;
		} else if (strcmp(a, "--port") == 0 || strcmp(a, "--idle-exit") == 0 ||
		    strcmp(a, "--static-dir") == 0) {
			if (i + 1 >= argc)
				return wk_cli_usage(cli, "%s needs a value", a);
			if (strcmp(a, "--static-dir") == 0) {
				o->static_dir = argv[++i];
				continue;
			}
			errno = 0;
			long v = strtol(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || v < 0 ||
			    (strcmp(a, "--port") == 0 && v > 65535))
				return wk_cli_usage(cli, "%s: not a number in range",
				    a);
			if (strcmp(a, "--port") == 0)
				o->port = v;
			else
				o->idle_exit = v;
		} else {
			return wk_cli_usage(cli, "ui: unknown option %s", a);
		}
	}
	return WK_CLI_OK;
}

/* a command line on stdin (--control); false at the end of the input */
static bool
control_line(wk_cli *cli, ui_server *s, const uiopts *o)
{
	char line[64];
	ssize_t n = read(STDIN_FILENO, line, sizeof(line) - 1);

	if (n <= 0)
		return false;
	line[n] = '\0';
	for (char *p = strtok(line, "\n"); p != NULL; p = strtok(NULL, "\n")) {
		if (strcmp(p, "open") == 0)
			(void)announce(cli, s, o);
		else if (strcmp(p, "quit") == 0)
			return false;
	}
	return true;
}

int
wk_cmd_ui(wk_cli *cli, int argc, char **argv)
{
	ui_config c = { 0 };
	ui_server *s = NULL;
	struct sigaction sa;
	uiopts o;
	char err[256], probe[600];
	int st;

	if (wk_cli_wants_help(argc, argv)) {
		fputs(ui_usage, stdout);
		return WK_CLI_OK;
	}
	if ((st = parse(cli, argc, argv, &o)) != WK_CLI_OK)
		return st;
	snprintf(probe, sizeof(probe), "%s/index.html", o.static_dir);
	if (access(probe, R_OK) != 0) {
		fprintf(stderr, "walletkey: the panel's files are not in %s"
		    " (--static-dir DIR or WALLETKEY_UI_DIR)\n", o.static_dir);
		return WK_CLI_FAILED;
	}
	/* jansson holds the request bodies (PINs) of the panel: every
	 * allocation it makes while the panel runs is wiped when freed */
	json_set_alloc_funcs(wk_wipe_malloc, wk_wipe_free);
	c.reader = cli->reader;
	c.static_dir = o.static_dir;
	c.port = (uint16_t)o.port;
	if (ui_server_start(&c, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey: ui: %s\n", err);
		return WK_CLI_FAILED;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!o.control && announce(cli, s, &o) != 0) {
		ui_server_stop(&s);
		return WK_CLI_FAILED;
	}
	while (!stop) {
		struct pollfd p = { STDIN_FILENO, POLLIN, 0 };

		if (o.control) {
			if (poll(&p, 1, 1000) > 0 && !control_line(cli, s, &o))
				break;
		} else {
			sleep(1);
		}
		if (o.idle_exit > 0 && ui_server_idle(s) >= o.idle_exit)
			break;
	}
	ui_server_stop(&s);
	return WK_CLI_OK;
}
