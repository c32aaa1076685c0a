/*
 * walletkey doctor: checks what a machine needs to use walletkey and says how
 * to fix each gap; --fix does what needs no root, and, run as root, installs
 * the Debian packages the machine lacks (pcscd, vsmartcard-vpcd, the
 * PKCS#11 module, NSS's tools) with apt-get and restarts pcscd; without
 * root it prints the exact command.
 *
 * Test hooks: WALLETKEY_DOCTOR_APT (the apt-get to run), WALLETKEY_DOCTOR_
 * SYSTEMCTL (the systemctl), WALLETKEY_DOCTOR_ROOT=0|1 (as if run without or
 * with root).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "doctor.h"
#include "wk_opt.h"

static const char *const dr_status_name[] = { "ok", "note", "warn", "fail",
	"skip" };

dr_check *
dr_add(dr_run *r, const char *name, enum dr_status st, const char *fmt, ...)
{
	dr_check *c = &r->checks[r->n < DR_MAX - 1 ? r->n++ : DR_MAX - 1];
	va_list ap;

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->status = st;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	return c;
}

void
dr_fix(dr_check *c, bool root, const char *fmt, ...)
{
	va_list ap;

	c->fix_needs_root = root;
	va_start(ap, fmt);
	vsnprintf(c->fix, sizeof(c->fix), fmt, ap);
	va_end(ap);
}

bool
dr_executable(const char *path)
{
	return access(path, X_OK) == 0;
}

bool
dr_in_path(const char *prog, char *found, size_t cap)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	bool ok = false;

	if (path == NULL)
		path = "/usr/sbin:/usr/bin:/sbin:/bin";
	if ((copy = strdup(path)) == NULL)
		return false;
	for (dir = strtok_r(copy, ":", &save); dir != NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(found, cap, "%s/%s", dir, prog);
		if (dr_executable(found)) {
			ok = true;
			break;
		}
	}
	free(copy);
	return ok;
}

static bool
dr_root(void)
{
	const char *v = getenv("WALLETKEY_DOCTOR_ROOT");

	if (v != NULL && (strcmp(v, "0") == 0 || strcmp(v, "1") == 0))
		return v[0] == '1';
	return geteuid() == 0;
}

/*
 * the packages the failed checks want, in one apt-get line; run it as
 * root with --fix (then pcscd restarted), else keep it for the report
 */
static void
dr_packages(dr_run *r)
{
	const char *pkgs[DR_MAX], *apt = getenv("WALLETKEY_DOCTOR_APT");
	const char *sc = getenv("WALLETKEY_DOCTOR_SYSTEMCTL");
	char *argv[DR_MAX + 5];
	size_t np = 0, n = 0, len;
	bool restart = false;

	for (size_t i = 0; i < r->n; i++) {
		const dr_check *c = &r->checks[i];
		bool seen = false;

		if (c->status != DR_FAIL || c->fixed)
			continue;
		restart = restart || c->pcscd_restart;
		if (c->pkg == NULL)
			continue;
		for (size_t j = 0; j < np; j++)
			seen = seen || strcmp(pkgs[j], c->pkg) == 0;
		if (!seen)
			pkgs[np++] = c->pkg;
	}
	if (np == 0 && !restart)
		return;
	len = (size_t)snprintf(r->root_command, sizeof(r->root_command), "%s",
	    dr_root() ? "" : "sudo ");
	if (np > 0) {
		len += (size_t)snprintf(r->root_command + len,
		    sizeof(r->root_command) - len, "apt-get install -y");
		for (size_t j = 0; j < np && len < sizeof(r->root_command); j++)
			len += (size_t)snprintf(r->root_command + len,
			    sizeof(r->root_command) - len, " %s", pkgs[j]);
	}
	if (restart && len < sizeof(r->root_command))
		(void)snprintf(r->root_command + len, sizeof(r->root_command) - len,
		    "%s%ssystemctl restart pcscd.socket pcscd.service",
		    np > 0 ? " && " : "", dr_root() ? "" : "sudo ");
	if (!r->fix || !dr_root())
		return;
	r->root_ran = true;
	r->root_ok = true;
	if (np > 0) {
		argv[n++] = (char *)(apt != NULL && apt[0] != '\0' ? apt :
		    "apt-get");
		argv[n++] = (char *)"install";
		argv[n++] = (char *)"-y";
		for (size_t j = 0; j < np; j++)
			argv[n++] = (char *)pkgs[j];
		argv[n] = NULL;
		setenv("DEBIAN_FRONTEND", "noninteractive", 1);
		r->root_ok = dr_spawn(argv) == 0;
	}
	if (r->root_ok && restart) {
		char *rs[] = { (char *)(sc != NULL && sc[0] != '\0' ? sc :
		    "systemctl"), (char *)"restart", (char *)"pcscd.socket",
		    (char *)"pcscd.service", NULL };

		/* without systemd (a container) the install is what matters */
		(void)dr_spawn(rs);
	}
}

static int
dr_report(wk_cli *cli, const dr_run *r)
{
	bool ok = true;
	json_t *arr, *top;

	for (size_t i = 0; i < r->n; i++)
		if (r->checks[i].status == DR_FAIL && !r->checks[i].fixed)
			ok = false;
	if (cli->json) {
		arr = json_array();
		for (size_t i = 0; i < r->n; i++) {
			const dr_check *c = &r->checks[i];

			json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s?,s:b,s:b}",
			    "name", c->name, "status", dr_status_name[c->status],
			    "detail", c->detail, "fix", c->fix[0] ? c->fix : NULL,
			    "fix_needs_root", c->fix_needs_root, "fixed", c->fixed));
		}
		top = json_pack("{s:b,s:o,s:s?,s:b,s:b}", "ok", ok, "checks", arr,
		    "root_command", r->root_command[0] ? r->root_command : NULL,
		    "root_fix_ran", r->root_ran, "root_fix_ok", r->root_ok);
		wk_cli_json_print(top);
		return ok ? WK_CLI_OK : WK_CLI_FAILED;
	}
	for (size_t i = 0; i < r->n; i++) {
		const dr_check *c = &r->checks[i];

		printf("%-6s %-16s %s\n", c->fixed ? "fixed" :
		    dr_status_name[c->status], c->name, c->detail);
		if ((c->status == DR_FAIL || c->status == DR_WARN) &&
		    !c->fixed && c->fix[0] != '\0')
			printf("       %-16s fix%s: %s\n", "",
			    c->fix_needs_root ? " (as root)" : "", c->fix);
	}
	if (r->root_ran)
		printf("ran as root: %s (%s)\n", r->root_command, r->root_ok ?
		    "done" : "it failed");
	else if (r->root_command[0] != '\0')
		printf("to install what is missing: %s\n", r->root_command);
	printf("%s\n", ok ? "all is well" : "some checks failed");
	return ok ? WK_CLI_OK : WK_CLI_FAILED;
}

int wk_cmd_doctor(wk_cli *cli, int argc, char **argv);

static void
dr_checks(dr_run *r)
{
	check_pcscd(r);
	check_vpcd(r);
	check_card(r);
	check_p11kit(r);
	check_nss(r);
	check_watch(r);
	check_issuer(r);
}

int
wk_cmd_doctor(wk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		WK_OPT_FLAG("fix", 'f'),
		WK_OPT_ARG("issuer", 'i'),
		WK_OPT_ARG("reader-conf", 'c'),
		WK_OPT_ARG("module", 'm'),
		WK_OPT_FLAG("help", 'h'),
		WK_OPT_END,
	};
	dr_run r;
	int ch;

	memset(&r, 0, sizeof(r));
	r.reader_conf = getenv("WALLETKEY_READER_CONF");
	if (r.reader_conf == NULL)
		r.reader_conf = "/etc/reader.conf.d";
	r.issuer = getenv("WALLETKEY_ISSUER");
	r.module = getenv("WALLETKEY_PKCS11_MODULE");
	if (r.module == NULL)
		r.module = WK_PKCS11_MODULE_PATH;
	r.home = getenv("HOME");
	if (r.home == NULL)
		r.home = "/";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			r.fix = true;
			break;
		case 'i':
			r.issuer = optarg;
			break;
		case 'c':
			r.reader_conf = optarg;
			break;
		case 'm':
			r.module = optarg;
			break;
		case 'h':
			printf("usage: walletkey doctor [--fix] [--issuer URL] "
			    "[--reader-conf DIR] [--module PATH] [--json]\n");
			return WK_CLI_OK;
		default:
			return wk_cli_usage(cli, "doctor: unknown option");
		}
	}
	if (optind != argc)
		return wk_cli_usage(cli, "doctor: unexpected argument '%s'",
		    argv[optind]);
	dr_checks(&r);
	dr_packages(&r);
	if (r.root_ran) {
		/* what the packages changed: the checks again, and the ones they
		 * mended marked fixed */
		dr_run again = r;

		again.n = 0;
		again.pcscd_up = false;
		dr_checks(&again);
		for (size_t i = 0; i < again.n; i++)
			for (size_t j = 0; j < r.n; j++)
				if (strcmp(again.checks[i].name, r.checks[j].name) == 0 &&
				    r.checks[j].status == DR_FAIL &&
				    again.checks[i].status != DR_FAIL)
					again.checks[i].fixed = true;
		return dr_report(cli, &again);
	}
	return dr_report(cli, &r);
}
