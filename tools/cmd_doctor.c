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
#include "wk_opt.h"

#ifndef WK_PKCS11_MODULE_PATH
#define WK_PKCS11_MODULE_PATH "/usr/lib/x86_64-linux-gnu/pkcs11/walletkey-pkcs11.so"
#endif

/* a warning is a risk the machine runs, not a failure of walletkey */
enum dr_status { DR_OK, DR_NOTE, DR_WARN, DR_FAIL, DR_SKIP };

static const char *const dr_status_name[] = { "ok", "note", "warn", "fail",
	"skip" };

typedef struct dr_check {
	const char *name;
	enum dr_status status;
	char detail[512];
	char fix[512];		/* what to do, empty when nothing */
	bool fix_needs_root;
	bool fixed;
	const char *pkg;	/* the Debian package that fixes it (root) */
	bool pcscd_restart;	/* and pcscd must (re)start afterwards */
} dr_check;

#define DR_MAX 16

typedef struct dr_run {
	dr_check checks[DR_MAX];
	size_t n;
	bool fix;
	const char *reader_conf;
	const char *issuer;
	const char *module;
	const char *home;
	bool pcscd_up;
	char root_command[512];	/* the packages' command, when any */
	bool root_ran;		/* --fix as root ran it */
	bool root_ok;
} dr_run;

static dr_check *
dr_add(dr_run *r, const char *name, enum dr_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static dr_check *
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

static void
dr_fix(dr_check *c, bool root, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
dr_fix(dr_check *c, bool root, const char *fmt, ...)
{
	va_list ap;

	c->fix_needs_root = root;
	va_start(ap, fmt);
	vsnprintf(c->fix, sizeof(c->fix), fmt, ap);
	va_end(ap);
}

static bool
dr_executable(const char *path)
{
	return access(path, X_OK) == 0;
}

static bool
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

static void
check_pcscd(dr_run *r)
{
	char path[512];
	wk_ctx *ctx = NULL;
	wk_reader_info *list = NULL;
	size_t n = 0;
	dr_check *c;
	int rc;

	if (!dr_in_path("pcscd", path, sizeof(path)) &&
	    !dr_executable("/usr/sbin/pcscd")) {
		c = dr_add(r, "pcscd-installed", DR_FAIL, "pcscd is not installed");
		dr_fix(c, true, "apt-get install pcscd");
		c->pkg = "pcscd";
		c->pcscd_restart = true;
	} else {
		dr_add(r, "pcscd-installed", DR_OK, "pcscd is installed");
	}
	rc = wk_ctx_new(&ctx);
	if (rc == WK_OK)
		rc = wk_list_readers(ctx, &list, &n);
	if (rc == WK_OK || rc == WK_ERR_NO_READER) {
		r->pcscd_up = true;
		dr_add(r, "pcscd-running", DR_OK, "pcscd answers (%zu reader%s)",
		    n, n == 1 ? "" : "s");
	} else {
		c = dr_add(r, "pcscd-running", DR_FAIL,
		    "pcscd does not answer: %s", wk_strerror(rc));
		dr_fix(c, true, "systemctl start pcscd.socket pcscd.service "
		    "(or, without systemd: pcscd)");
		c->pcscd_restart = true;
	}
	free(list);
	wk_ctx_free(&ctx);
}

static unsigned long
dr_parse_number(const char *s)
{
	return strtoul(s, NULL, 0);
}

/* reads one reader.conf file; returns true when it configures vpcd */
static bool
dr_read_conf(const char *file, unsigned long *port, char *dev, size_t devcap,
    char *lib, size_t libcap)
{
	FILE *f;
	char line[512], key[64], val[400];
	bool vpcd = false;

	if ((f = fopen(file, "r")) == NULL)
		return false;
	*port = 0;
	dev[0] = lib[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " %63s %399[^\n]", key, val) != 2 || key[0] == '#')
			continue;
		if (val[0] == '"') {
			memmove(val, val + 1, strlen(val));
			val[strcspn(val, "\"")] = '\0';
		}
		if (strcmp(key, "LIBPATH") == 0) {
			snprintf(lib, libcap, "%s", val);
			vpcd = strstr(val, "ifdvpcd") != NULL;
		} else if (strcmp(key, "CHANNELID") == 0) {
			*port = dr_parse_number(val);
		} else if (strcmp(key, "DEVICENAME") == 0) {
			snprintf(dev, devcap, "%s", val);
		}
	}
	fclose(f);
	return vpcd;
}

/* 127.0.0.0/8 as /proc/net/tcp prints it (host order), ::1 and ::ffff:127.x */
static bool
dr_loopback(const char *hex)
{
	unsigned int a;

	if (strlen(hex) == 8)
		return sscanf(hex, "%8X", &a) == 1 && (a & 0xFF) == 0x7F;
	return strcmp(hex, "00000000000000000000000001000000") == 0 ||
	    (strncmp(hex, "0000000000000000FFFF0000", 24) == 0 &&
	    strcmp(hex + 30, "7F") == 0);
}

/*
 * whether something listens on port, and whether on an address other
 * hosts can reach (any address but loopback, IPv4 or IPv6)
 */
static bool
dr_listens_outside(unsigned long port, bool *listening)
{
	static const char *const tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char line[512], addr[40];
	unsigned int lp, st;
	bool outside = false;
	FILE *f;

	*listening = false;
	for (size_t t = 0; t < 2; t++) {
		if ((f = fopen(tables[t], "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%4X %*[0-9A-Fa-f]:%*4X "
			    "%2X", addr, &lp, &st) != 3)
				continue;
			if (lp != port || st != 0x0A)	/* LISTEN */
				continue;
			*listening = true;
			if (!dr_loopback(addr))
				outside = true;
		}
		fclose(f);
	}
	return outside;
}

static void
check_vpcd(dr_run *r)
{
	char pattern[600], dev[400], lib[400], ports[256] = "", open_ports[128] = "";
	char cards[128] = "";
	const char *colon;
	glob_t g;
	unsigned long port;
	size_t found = 0, pl = 0, ol = 0, cl = 0;
	bool listening_any = false, lib_ok = true;
	dr_check *c;

	snprintf(pattern, sizeof(pattern), "%s/*", r->reader_conf);
	if (glob(pattern, 0, NULL, &g) != 0)
		g.gl_pathc = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		bool listening;

		if (!dr_read_conf(g.gl_pathv[i], &port, dev, sizeof(dev), lib,
		    sizeof(lib)))
			continue;
		found++;
		if (access(lib, R_OK) != 0)
			lib_ok = false;
		if (strncmp(dev, "/dev/null", 9) != 0) {
			/* reversed mode: the card listens, vpcd connects to it */
			pl += (size_t)snprintf(ports + pl, sizeof(ports) - pl,
			    "%sconnects out to %s", pl ? ", " : "", dev);
			if ((colon = strrchr(dev, ':')) != NULL &&
			    dr_listens_outside(dr_parse_number(colon + 1),
			    &listening) && cl < sizeof(cards))
				cl += (size_t)snprintf(cards + cl, sizeof(cards) - cl,
				    "%s%s", cl ? ", " : "", colon + 1);
			if (pl >= sizeof(ports))
				pl = sizeof(ports) - 1;
			if (cl >= sizeof(cards))
				cl = sizeof(cards) - 1;
			continue;
		}
		/* server mode: two slots, CHANNELID and CHANNELID + 1 */
		for (unsigned long s = 0; s < 2 && pl < sizeof(ports); s++) {
			if (dr_listens_outside(port + s, &listening) &&
			    ol < sizeof(open_ports))
				ol += (size_t)snprintf(open_ports + ol,
				    sizeof(open_ports) - ol, "%s%lu", ol ? ", " : "",
				    port + s);
			listening_any = listening_any || listening;
			pl += (size_t)snprintf(ports + pl, sizeof(ports) - pl,
			    "%s%lu", pl ? ", " : "", port + s);
		}
		if (pl >= sizeof(ports))
			pl = sizeof(ports) - 1;
		if (ol >= sizeof(open_ports))
			ol = sizeof(open_ports) - 1;
	}
	if (g.gl_pathc > 0)
		globfree(&g);
	if (found == 0) {
		c = dr_add(r, "vpcd-configured", DR_FAIL,
		    "no vpcd reader in %s", r->reader_conf);
		dr_fix(c, true, "apt-get install vsmartcard-vpcd && "
		    "systemctl restart pcscd");
		c->pkg = "vsmartcard-vpcd";
		c->pcscd_restart = true;
		return;
	}
	if (!lib_ok) {
		c = dr_add(r, "vpcd-configured", DR_FAIL,
		    "vpcd is configured in %s but its driver is missing",
		    r->reader_conf);
		dr_fix(c, true, "apt-get install --reinstall vsmartcard-vpcd");
		c->pkg = "vsmartcard-vpcd";
		c->pcscd_restart = true;
		return;
	}
	dr_add(r, "vpcd-configured", DR_OK, "vpcd ports: %s", ports);
	if (ol > 0) {
		c = dr_add(r, "vpcd-exposure", DR_WARN,
		    "vpcd listens on every interface (TCP %s): any host that "
		    "reaches these ports can pose as a card to every PC/SC "
		    "program here", open_ports);
		dr_fix(c, true, "drop them from other hosts: nft add table inet "
		    "walletkey && nft 'add chain inet walletkey input { type "
		    "filter hook input priority 0; }' && nft add rule inet "
		    "walletkey input iifname != lo tcp dport { %s } drop "
		    "(or reversed mode: DEVICENAME 127.0.0.1:PORT in %s, "
		    "walletkey-card --listen 127.0.0.1:PORT)", open_ports,
		    r->reader_conf);
	} else if (listening_any) {
		dr_add(r, "vpcd-exposure", DR_OK, "vpcd listens on loopback only");
	} else if (r->pcscd_up && strstr(ports, "connects out") == NULL) {
		dr_add(r, "vpcd-exposure", DR_NOTE,
		    "no vpcd port is listening here (another pcscd instance, "
		    "or pcscd in another namespace)");
	}
	if (cl > 0) {
		c = dr_add(r, "card-exposure", DR_WARN,
		    "a card listens for vpcd on every interface (TCP %s): any "
		    "host that reaches it can send it APDUs, PIN tries included",
		    cards);
		dr_fix(c, false, "start walletkey-card with --listen "
		    "127.0.0.1:PORT");
	}
}

static void
check_card(dr_run *r)
{
	wk_ctx *ctx = NULL;
	wk_reader_info *list = NULL;
	size_t n = 0, cards = 0;
	const char *where = NULL;
	dr_check *c;

	if (!r->pcscd_up) {
		dr_add(r, "card", DR_SKIP, "pcscd is not running");
		return;
	}
	if (wk_ctx_new(&ctx) == WK_OK && wk_list_readers(ctx, &list, &n) == WK_OK)
		for (size_t i = 0; i < n; i++)
			if (list[i].walletkey && cards++ == 0)
				where = list[i].name;
	if (cards > 0) {
		dr_add(r, "card", DR_OK, "%zu walletkey card%s, first in \"%s\"",
		    cards, cards == 1 ? "" : "s", where);
	} else {
		c = dr_add(r, "card", DR_FAIL,
		    "no walletkey card in any reader: the card daemon is not "
		    "running or cannot reach vpcd");
		dr_fix(c, true, "systemctl enable --now walletkey-card@default");
	}
	free(list);
	wk_ctx_free(&ctx);
}

/* looks for a p11-kit module file naming our module in dir */
static bool
dr_p11kit_dir_has(const char *dir, const char *module)
{
	DIR *d;
	struct dirent *e;
	char path[1024], line[1024];
	bool found = false;

	if ((d = opendir(dir)) == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		FILE *f;

		if (strstr(e->d_name, ".module") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "module:", 7) == 0 &&
			    (strstr(line, "walletkey-pkcs11") != NULL ||
			    strstr(line, module) != NULL))
				found = true;
		fclose(f);
	}
	closedir(d);
	return found;
}

static int
dr_mkdirs(const char *path)
{
	char tmp[1024];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void
check_p11kit(dr_run *r)
{
	char user_dir[1024], file[1100];
	dr_check *c;
	FILE *f;

	if (access(r->module, R_OK) != 0) {
		c = dr_add(r, "pkcs11-module", DR_FAIL,
		    "the PKCS#11 module %s is not installed", r->module);
		dr_fix(c, true, "apt-get install walletkey-pkcs11");
		c->pkg = "walletkey-pkcs11";
		return;
	}
	dr_add(r, "pkcs11-module", DR_OK, "module %s", r->module);
	snprintf(user_dir, sizeof(user_dir), "%s/.config/pkcs11/modules", r->home);
	if (dr_p11kit_dir_has("/usr/share/p11-kit/modules", r->module) ||
	    dr_p11kit_dir_has("/etc/pkcs11/modules", r->module) ||
	    dr_p11kit_dir_has(user_dir, r->module)) {
		dr_add(r, "p11-kit", DR_OK, "registered with p11-kit");
		return;
	}
	c = dr_add(r, "p11-kit", DR_FAIL, "not registered with p11-kit");
	snprintf(file, sizeof(file), "%s/walletkey.module", user_dir);
	dr_fix(c, false, "write %s with \"module: %s\"", file, r->module);
	if (!r->fix)
		return;
	if (dr_mkdirs(user_dir) == 0 && (f = fopen(file, "w")) != NULL) {
		fprintf(f, "module: %s\ncritical: no\n", r->module);
		c->fixed = fclose(f) == 0;
	}
}

/* runs argv quietly; returns its exit status or -1 */
static int
dr_spawn(char *const argv[])
{
	pid_t pid;
	int st;

	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool
dr_nss_has_module(const char *dbdir, const char *module)
{
	char path[1100], line[1024];
	FILE *f;
	bool found = false;

	snprintf(path, sizeof(path), "%s/pkcs11.txt", dbdir);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "library=", 8) == 0 &&
		    (strstr(line, "walletkey-pkcs11") != NULL ||
		    strstr(line, module) != NULL ||
		    strstr(line, "p11-kit-proxy") != NULL))
			found = true;
	fclose(f);
	return found;
}

static void
check_nss_db(dr_run *r, const char *label, const char *dbdir)
{
	char db[1100], modutil[512];
	dr_check *c;

	snprintf(db, sizeof(db), "sql:%s", dbdir);
	if (dr_nss_has_module(dbdir, r->module)) {
		dr_add(r, "nss", DR_OK, "%s NSS database %s has the module",
		    label, dbdir);
		return;
	}
	c = dr_add(r, "nss", DR_FAIL, "%s NSS database %s lacks the module",
	    label, dbdir);
	if (!dr_in_path("modutil", modutil, sizeof(modutil))) {
		dr_fix(c, true, "apt-get install libnss3-tools, then run "
		    "walletkey doctor --fix");
		c->pkg = "libnss3-tools";
		return;
	}
	dr_fix(c, false, "modutil -dbdir %s -add walletkey -libfile %s -force",
	    db, r->module);
	if (r->fix) {
		char *argv[] = { modutil, "-dbdir", db, "-add", "walletkey",
		    "-libfile", (char *)r->module, "-force", NULL };

		c->fixed = dr_spawn(argv) == 0 && dr_nss_has_module(dbdir, r->module);
	}
}

static void
check_nss(dr_run *r)
{
	char pattern[1100], chromium[1100];
	glob_t g;
	size_t before = r->n;

	snprintf(chromium, sizeof(chromium), "%s/.pki/nssdb", r->home);
	if (access(chromium, R_OK) == 0)
		check_nss_db(r, "Chromium", chromium);
	snprintf(pattern, sizeof(pattern), "%s/.mozilla/firefox/*/cert9.db",
	    r->home);
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			char *slash = strrchr(g.gl_pathv[i], '/');

			*slash = '\0';
			check_nss_db(r, "Firefox", g.gl_pathv[i]);
		}
		globfree(&g);
	}
	if (r->n == before)
		dr_add(r, "nss", DR_SKIP, "no Firefox profile or Chromium NSS "
		    "database under %s", r->home);
}

static size_t
dr_discard(void *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void
check_issuer(dr_run *r)
{
	char url[1024];
	CURL *h;
	CURLcode cc;
	long code = 0;
	dr_check *c;

	if (r->issuer == NULL) {
		dr_add(r, "issuer", DR_SKIP, "no issuer named (--issuer URL or "
		    "WALLETKEY_ISSUER)");
		return;
	}
	snprintf(url, sizeof(url), "%s/v1/health", r->issuer);
	if ((h = curl_easy_init()) == NULL) {
		dr_add(r, "issuer", DR_FAIL, "libcurl could not start");
		return;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, dr_discard);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	if (cc == CURLE_OK && code == 200) {
		dr_add(r, "issuer", DR_OK, "issuer %s answers", r->issuer);
		return;
	}
	c = dr_add(r, "issuer", DR_FAIL, "issuer %s: %s", r->issuer,
	    cc != CURLE_OK ? curl_easy_strerror(cc) : "unexpected HTTP status");
	dr_fix(c, false, "start it: walletkey-issuer serve --db URL --listen ADDR");
}

/* the user service that opens the panel when a card appears, if shipped */
static void
check_watch(dr_run *r)
{
	static const char unit[] = "walletkey-watch.service";
	const char *cfg = getenv("XDG_CONFIG_HOME");
	char wants[1100], shipped[256];
	char *argv[] = { (char *)"systemctl", (char *)"--user", (char *)"enable",
	    (char *)"--now", (char *)unit, NULL };
	const char *sc = getenv("WALLETKEY_DOCTOR_SYSTEMCTL");
	dr_check *c;

	snprintf(shipped, sizeof(shipped), "/usr/lib/systemd/user/%s", unit);
	if (access(shipped, R_OK) != 0) {
		dr_add(r, "watch-service", DR_SKIP, "%s is not installed (the"
		    " walletkey-tools package ships it)", unit);
		return;
	}
	if (cfg != NULL && cfg[0] == '/')
		snprintf(wants, sizeof(wants), "%s/systemd/user/default.target.wants"
		    "/%s", cfg, unit);
	else
		snprintf(wants, sizeof(wants), "%s/.config/systemd/user/"
		    "default.target.wants/%s", r->home, unit);
	if (access(wants, F_OK) == 0) {
		dr_add(r, "watch-service", DR_OK, "%s is enabled: the panel opens"
		    " when a walletkey card appears", unit);
		return;
	}
	/* a note, not a failure: the panel also starts by hand */
	c = dr_add(r, "watch-service", DR_NOTE, "%s is not enabled: the"
	    " control panel opens only with walletkey ui", unit);
	dr_fix(c, false, "systemctl --user enable --now %s", unit);
	if (!r->fix)
		return;
	if (sc != NULL && sc[0] != '\0')
		argv[0] = (char *)sc;
	c->fixed = dr_spawn(argv) == 0;
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
