/*
 * walletkey wallet unblock: a purse blocked by wrong MAC2s or grant
 * signatures (docs/purse.md "Blocking") is opened by a one-time script
 * from the issuer, in two steps:
 *
 *   walletkey wallet unblock --request-out req.json    (holder)
 *   walletkey-issuer purse-unblock --card ID --request req.json --out s.json
 *   walletkey wallet unblock --script s.json           (holder)
 *
 * The request is signed by the card and names a challenge the card keeps;
 * the script is APPLICATION UNBLOCK's MAC for that challenge and works
 * once. A new request replaces the challenge, so only the newest request's
 * script works.
 */
#include "cli.h"
#include "wallet_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wk_hex.h"

#define REQUEST_FORMAT "walletkey-unblock-request/1"
#define SCRIPT_FORMAT "walletkey-unblock-script/1"

static const char unblock_usage[] =
    "usage: walletkey wallet unblock --request-out FILE\n"
    "       walletkey wallet unblock --script FILE\n";

/* writes text to a new file (never over an existing one) */
static int
write_new(const char *path, const char *text)
{
	size_t n = strlen(text);
	int fd, rc = -1;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "walletkey: cannot create %s: %s%s\n", path,
		    strerror(errno), errno == EEXIST ? " (it is never overwritten)" :
		    "");
		return -1;
	}
	if (write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1 &&
	    fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0)
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "walletkey: cannot write %s\n", path);
	return rc;
}

static int
make_request(wk_cli *cli, const char *out)
{
	uint8_t msg[WK_WALLET_MSG_MAX];
	size_t len = sizeof(msg);
	char hex[17], chal[9], *mhex = NULL, *text = NULL;
	wk_wallet_msg_info info;
	wk_card *card;
	json_t *j = NULL;
	bool blocked;
	int rc, status;

	if ((status = wallet_open_purse(cli, &card, hex, &blocked)) != WK_CLI_OK)
		return status;
	status = WK_CLI_FAILED;
	if ((rc = wk_wallet_unblock_request(card, msg, &len)) != WK_OK) {
		if (rc == WK_ERR_CONDITIONS)
			fprintf(stderr, "walletkey: card %s is not enrolled with an"
			    " issuer (walletkey enroll)\n", hex);
		status = wk_cli_fail(cli, "make the unblock request", rc);
		goto out;
	}
	if (wk_wallet_msg_info_get(msg, len, &info) != WK_OK ||
	    (mhex = malloc(2 * len + 1)) == NULL)
		goto out;
	wk_hex_encode(info.challenge, sizeof(info.challenge), chal);
	wk_hex_encode(msg, len, mhex);
	j = json_pack("{s:s, s:s, s:s, s:s}", "format", REQUEST_FORMAT, "card_id",
	    hex, "challenge", chal, "request", mhex);
	if (j == NULL || (text = json_dumps(j, JSON_INDENT(2))) == NULL ||
	    write_new(out, text) != 0)
		goto out;
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:s, s:s, s:b, s:s}",
		    "card_id", hex, "challenge", chal, "blocked", blocked,
		    "request", out));
	else {
		printf("card %s: the purse is %s\n", hex, blocked ? "blocked" :
		    "not blocked");
		printf("unblock request (challenge %s) written to %s\n", chal, out);
		printf("send it to your bank; run 'walletkey wallet unblock --script"
		    " FILE' with the script it returns\n");
		status = WK_CLI_OK;
	}
out:
	free(text);
	free(mhex);
	json_decref(j);
	return status;
}

static int
hex_member(json_t *j, const char *name, uint8_t *out, size_t n)
{
	const char *s = json_string_value(json_object_get(j, name));

	return s != NULL && strlen(s) == 2 * n &&
	    wk_hex_decode(s, out, n) == (long)n ? 0 : -1;
}

static int
run_script(wk_cli *cli, const char *path)
{
	uint8_t mac[WK_WALLET_UNBLOCK_MAC_LEN], chal[4];
	char hex[17];
	const char *fmt, *id;
	json_error_t jerr;
	json_t *j;
	wk_card *card;
	uint16_t sw = 0;
	bool blocked;
	int rc, status = WK_CLI_FAILED;

	if ((j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		fprintf(stderr, "walletkey: %s: %s\n", path, jerr.text);
		return WK_CLI_USAGE;
	}
	fmt = json_string_value(json_object_get(j, "format"));
	id = json_string_value(json_object_get(j, "card_id"));
	if (fmt == NULL || strcmp(fmt, SCRIPT_FORMAT) != 0 || id == NULL ||
	    hex_member(j, "mac", mac, sizeof(mac)) != 0 ||
	    hex_member(j, "challenge", chal, sizeof(chal)) != 0) {
		fprintf(stderr, "walletkey: %s is not an unblock script ("
		    SCRIPT_FORMAT ")\n", path);
		status = WK_CLI_USAGE;
		goto out;
	}
	if ((status = wallet_open_purse(cli, &card, hex, &blocked)) != WK_CLI_OK)
		goto out;
	status = WK_CLI_FAILED;
	if (strcasecmp(id, hex) != 0) {
		fprintf(stderr, "walletkey: the script is for card %s; this is card"
		    " %s\n", id, hex);
		goto out;
	}
	rc = wk_wallet_unblock(card, mac, &sw);
	switch (rc) {
	case WK_OK:
		break;
	case WK_ERR_AUTH_FAILED:
		fprintf(stderr, "walletkey: the card refused the script: it works"
		    " once, and only for the card's newest unblock request\n");
		break;
	case WK_ERR_INVALID_STATE:
		fprintf(stderr, "walletkey: the card has no unblock request pending"
		    " (the script was used): make a new one with --request-out\n");
		break;
	case WK_ERR_PURSE_BLOCKED:
		fprintf(stderr, "walletkey: the purse is blocked for good (three"
		    " wrong scripts); only the bank can replace the card\n");
		break;
	default:
		break;
	}
	if (rc != WK_OK) {
		status = wk_cli_fail(cli, "APPLICATION UNBLOCK", rc);
		goto out;
	}
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:s, s:b, s:b}", "card_id",
		    hex, "was_blocked", blocked, "unblocked", true));
	else {
		printf("card %s: the purse is %s\n", hex, blocked ? "unblocked" :
		    "open (it was not blocked)");
		status = WK_CLI_OK;
	}
out:
	json_decref(j);
	return status;
}

int
wk_cmd_wallet_unblock(wk_cli *cli, int argc, char **argv)
{
	const char *out = NULL, *script = NULL;

	for (int i = 2; i < argc; i++) {
		const char **slot = NULL;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(unblock_usage, stdout);
			return WK_CLI_OK;
		}
		if (strcmp(argv[i], "--request-out") == 0)
			slot = &out;
		else if (strcmp(argv[i], "--script") == 0)
			slot = &script;
		else
			return wk_cli_usage(cli, "wallet unblock: unknown option %s",
			    argv[i]);
		if (i + 1 >= argc || argv[i + 1][0] == '\0')
			return wk_cli_usage(cli, "%s needs a file", argv[i]);
		*slot = argv[++i];
	}
	if ((out == NULL) == (script == NULL))
		return wk_cli_usage(cli, "wallet unblock needs --request-out FILE or"
		    " --script FILE");
	return out != NULL ? make_request(cli, out) : run_script(cli, script);
}
