/* the wallet's host state files and secret input (wallet_state.h) */
#include "wallet_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_hex.h"

int
wallet_state_dir(const char *opt, char *out, size_t cap)
{
	if (wk_state_dir(opt, out, cap) != WK_OK) {
		fprintf(stderr, "walletkey: no usable state directory (give "
		    "--state-dir DIR)\n");
		return WK_CLI_FAILED;
	}
	return WK_CLI_OK;
}

void
wallet_state_path(const char *dir, const char *prefix, const uint8_t card_id[8],
    char *out, size_t cap)
{
	char hex[17];

	wk_hex_encode(card_id, 8, hex);
	snprintf(out, cap, "%s/%s-%s.json", dir, prefix, hex);
}

int
wallet_state_read(const char *path, json_t **obj)
{
	json_error_t err;

	*obj = NULL;
	if (access(path, F_OK) != 0)
		return errno == ENOENT ? 0 : -1;
	if ((*obj = json_load_file(path, 0, &err)) == NULL || !json_is_object(*obj)) {
		fprintf(stderr, "walletkey: %s: %s\n", path, err.text);
		json_decref(*obj);
		*obj = NULL;
		return -1;
	}
	return 0;
}

int
wallet_read_secret(const char *file, const char *env, const char *prompt,
    char *buf, size_t cap, size_t *len)
{
	const char *e = env != NULL ? getenv(env) : NULL;
	char line[256];
	FILE *f;
	int rc = -1;

	*len = 0;
	if (file != NULL) {
		if ((f = fopen(file, "r")) == NULL) {
			fprintf(stderr, "walletkey: cannot read %s: %s\n", file,
			    strerror(errno));
			return WK_CLI_FAILED;
		}
		if (fgets(line, sizeof(line), f) != NULL) {
			*len = strcspn(line, "\r\n");
			if (*len < cap) {
				memcpy(buf, line, *len);
				rc = 0;
			}
		}
		fclose(f);
		sodium_memzero(line, sizeof(line));
	} else if (e != NULL) {
		*len = strlen(e);
		if (*len < cap) {
			memcpy(buf, e, *len);
			rc = 0;
		}
	} else if (wk_cli_read_tty(prompt, buf, cap, len) != WK_OK) {
		fprintf(stderr, "walletkey: the %s is needed: give a file or set %s\n",
		    prompt, env != NULL ? env : "it");
		rc = -1;
	} else {
		rc = 0;
	}
	if (rc != 0 || *len == 0) {
		sodium_memzero(buf, cap);
		*len = 0;
		return WK_CLI_USAGE;
	}
	buf[*len] = '\0';
	return WK_CLI_OK;
}

int
wallet_open_purse(wk_cli *cli, wk_card **card, char hex[17], bool *blocked)
{
	wk_card_info info;
	int rc;

	if ((rc = wk_cli_card(cli, card)) != WK_OK ||
	    (rc = wk_card_get_info(*card, &info)) != WK_OK)
		return wk_cli_fail(cli, "read the card id", rc);
	wk_hex_encode(info.serial, 8, hex);
	rc = wk_purse_select(*card, NULL, 0, NULL);
	*blocked = rc == WK_ERR_PURSE_BLOCKED;
	if (rc != WK_OK && !*blocked)
		return wk_cli_fail(cli, "select the purse", rc);
	return WK_CLI_OK;
}
