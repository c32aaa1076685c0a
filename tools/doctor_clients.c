/* walletkey doctor: what uses the card, p11-kit's list of PKCS#11 modules,
 * NSS's module databases (the browsers), the issuer, the watch service
 * (doctor.h) */
#include "cli.h"
#include "doctor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "wk_fs.h"

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

void
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
	if (wk_mkdir_p(user_dir, 0700) == 0 && (f = fopen(file, "w")) != NULL) {
		fprintf(f, "module: %s\ncritical: no\n", r->module);
		c->fixed = fclose(f) == 0;
	}
}

/* runs argv quietly; returns its exit status or -1 */
int
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

void
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

void
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
void
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
