/* secrets for the PIV commands: PINs, PUKs and management keys from files,
 * the environment or the terminal (no echo); wiped after use */
#include "piv_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_hex.h"

/* one line without its newline; the rest of a longer line is drained */
static int
read_line(FILE *f, uint8_t *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int c;

	while ((c = fgetc(f)) != EOF && c != '\n') {
		if (n >= cap)
			return -1;
		buf[n++] = (uint8_t)c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	*len = n;
	return 0;
}


static int
confirm_tty(const char *prompt, const uint8_t *first, size_t len)
{
	uint8_t again[64];
	char p[64];
	size_t n = 0;
	int rc = -1;

	snprintf(p, sizeof(p), "%s again", prompt);
	if (wk_cli_read_tty(p, (char *)again, sizeof(again), &n) != WK_OK)
		goto out;
	if (n == len && sodium_memcmp(again, first, len) == 0)
		rc = 0;
out:
	sodium_memzero(again, sizeof(again));
	return rc;
}

int
piv_cli_read_secret(const piv_secret_src *src, uint8_t *buf, size_t cap,
    size_t *len)
{
	const char *env = src->env != NULL ? getenv(src->env) : NULL;
	FILE *f = NULL;
	size_t n;
	int rc = PIV_EXIT_USAGE;

	*len = 0;
	if (src->file != NULL) {
		if ((f = fopen(src->file, "r")) == NULL) {
			fprintf(stderr, "walletkey: %s: %s\n", src->file,
			    strerror(errno));
			goto out;
		}
		if (read_line(f, buf, cap, len) != 0) {
			piv_cli_usage("%s: the %s is longer than %zu bytes",
			    src->file, src->prompt, cap);
			goto out;
		}
	} else if (src->arg != NULL) {
		fprintf(stderr, "walletkey: warning: a %s given on the command "
		    "line is visible to other users; use %s-file or $%s\n",
		    src->prompt, src->option, src->env);
		n = strlen(src->arg);
		if (n > cap) {
			piv_cli_usage("the %s is longer than %zu bytes",
			    src->prompt, cap);
			goto out;
		}
		memcpy(buf, src->arg, n);
		*len = n;
	} else if (env != NULL) {
		n = strlen(env);
		if (n > cap) {
			piv_cli_usage("$%s is longer than %zu bytes", src->env,
			    cap);
			goto out;
		}
		memcpy(buf, env, n);
		*len = n;
	} else {
		if (wk_cli_read_tty(src->prompt, (char *)buf, cap, len) != WK_OK) {
			piv_cli_usage("cannot read the %s: no terminal (use "
			    "%s-file or $%s), or it is longer than %zu bytes",
			    src->prompt, src->option, src->env, cap);
			goto out;
		}
		if (src->confirm && confirm_tty(src->prompt, buf, *len) != 0) {
			piv_cli_usage("the two %ss differ", src->prompt);
			goto out;
		}
	}
	if (*len == 0) {
		piv_cli_usage("empty %s", src->prompt);
		goto out;
	}
	rc = PIV_EXIT_OK;
out:
	if (f != NULL)
		fclose(f);
	if (rc != PIV_EXIT_OK)
		sodium_memzero(buf, cap);
	return rc;
}

int
piv_cli_pin_fail(wk_cli *cli, const char *what, int rc, unsigned tries)
{
	char msg[96];

	if (rc == WK_ERR_WRONG_PIN) {
		snprintf(msg, sizeof(msg), "%s (%u %s left)", what, tries,
		    tries == 1 ? "try" : "tries");
		return wk_cli_fail(cli, msg, rc);
	}
	return wk_cli_fail(cli, what, rc);
}

int
piv_cli_verify(wk_cli *cli, wk_piv *piv, const piv_secret_src *src)
{
	uint8_t pin[WK_PIV_PIN_MAX];
	unsigned tries = 0;
	size_t len = 0;
	int rc, st;

	if ((st = piv_cli_read_secret(src, pin, sizeof(pin), &len)) != 0)
		goto out;
	rc = wk_piv_verify_pin(piv, pin, len, &tries);
	st = rc == WK_OK ? PIV_EXIT_OK : piv_cli_pin_fail(cli, "verify PIN",
	    rc, tries);
out:
	sodium_memzero(pin, sizeof(pin));
	return st;
}

int
piv_cli_read_mgmt_key(const char *file, const char *env, bool def_ok,
    uint8_t *key, size_t *len)
{
	static const uint8_t factory[] = { WK_PIV_DEFAULT_MGMT_KEY };
	char hex[2 * WK_PIV_MGMT_KEY_MAX + 8];
	const char *e = env != NULL ? getenv(env) : NULL;
	size_t hlen = 0;
	FILE *f = NULL;
	long n;
	int st = PIV_EXIT_USAGE;

	*len = 0;
	if (file != NULL) {
		if ((f = fopen(file, "r")) == NULL) {
			fprintf(stderr, "walletkey: %s: %s\n", file,
			    strerror(errno));
			goto out;
		}
		if (read_line(f, (uint8_t *)hex, sizeof(hex) - 1, &hlen) !=
		    0) {
			piv_cli_usage("%s: not a management key in hex", file);
			goto out;
		}
		hex[hlen] = '\0';
	} else if (e != NULL) {
		hlen = strlen(e);
		if (hlen >= sizeof(hex)) {
			piv_cli_usage("$%s: not a management key in hex", env);
			goto out;
		}
		memcpy(hex, e, hlen + 1);
	} else if (def_ok) {
		fprintf(stderr, "walletkey: warning: using the factory "
		    "management key; set one with 'walletkey mgmt-key set'\n");
		memcpy(key, factory, sizeof(factory));
		*len = sizeof(factory);
		st = PIV_EXIT_OK;
		goto out;
	} else {
		piv_cli_usage("no management key given");
		goto out;
	}
	n = wk_hex_decode(hex, key, WK_PIV_MGMT_KEY_MAX);
	if (n != 16 && n != 24 && n != 32) {
		piv_cli_usage("%s: a management key is 32, 48 or 64 hex digits",
		    file != NULL ? file : env);
		goto out;
	}
	*len = (size_t)n;
	st = PIV_EXIT_OK;
out:
	if (f != NULL)
		fclose(f);
	sodium_memzero(hex, sizeof(hex));
	return st;
}

int
piv_cli_mgmt_auth(wk_cli *cli, wk_piv *piv, const char *file)
{
	uint8_t key[WK_PIV_MGMT_KEY_MAX];
	size_t len = 0;
	int rc, st;

	st = piv_cli_read_mgmt_key(file, "WALLETKEY_MGMT_KEY", true, key,
	    &len);
	if (st != PIV_EXIT_OK)
		goto out;
	rc = wk_piv_authenticate(piv, 0, key, len, true);
	if (rc == WK_ERR_ARG)
		rc = WK_ERR_AUTH_FAILED;	/* the card's key has another length */
	st = rc == WK_OK ? PIV_EXIT_OK :
	    wk_cli_fail(cli, "authenticate with the management key", rc);
out:
	sodium_memzero(key, sizeof(key));
	return st;
}
