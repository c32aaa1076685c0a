/* walletkey doctor: the reader stack, pcscd, vpcd and the card (doctor.h) */
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
#include <unistd.h>

void
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

void
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

void
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
