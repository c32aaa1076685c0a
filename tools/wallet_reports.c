/* reporting redeemed transfers to the issuer (wallet_reports.h) */
#include "wallet_reports.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wallet_state.h"
#include "wk_hex.h"
#include "wk_msg.h"

void
wallet_fault_point(const char *step)
{
	const char *at = getenv("WALLETKEY_FAULT_AT");
	const char *cmd = getenv("WALLETKEY_FAULT_CMD");
	const char *kill_at = getenv("WALLETKEY_FAULT_KILL_AT");

	fflush(NULL);
	if (at != NULL && strcmp(at, step) == 0) {
		if (cmd == NULL || cmd[0] == '\0')
			raise(SIGKILL);
		if (system(cmd) != 0)
			fprintf(stderr, "walletkey: fault command failed\n");
	}
	if (kill_at != NULL && strcmp(kill_at, step) == 0)
		raise(SIGKILL);
}

/* the issuer a card was enrolled with (card-<id>.json) */
static const char *
enrolled_issuer(const char *dir, const char *card_hex, json_t **keep)
{
	char path[1200];

	*keep = NULL;
	if (card_hex == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/card-%s.json", dir, card_hex);
	if (wallet_state_read(path, keep) != 0 || *keep == NULL)
		return NULL;
	return json_string_value(json_object_get(*keep, "issuer"));
}

/* one pass over the queue; *progress when a token was taken */
static int
flush_pass(const char *dir, const char *card_hex, const char *url,
    unsigned *reported, unsigned *left, bool *progress)
{
	char path[1400];
	struct dirent *e;
	DIR *d;

	*progress = false;
	*left = 0;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		uint8_t tok[WK_WALLET_MSG_MAX];
		size_t n = 0, nl = strlen(e->d_name);
		json_t *st = NULL, *c1 = NULL, *c2 = NULL;
		const char *u = url;
		char from[17], to[17];
		wk_issuer *is = NULL;
		wk_msg m;
		int rc;

		if (strncmp(e->d_name, "report-", 7) != 0 || nl < 6 ||
		    strcmp(e->d_name + nl - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (wallet_state_read(path, &st) != 0 || st == NULL)
			continue;
		/* the token itself says who pays whom; the issuer reads it */
		if (wk_b64_unjson(json_object_get(st, "token"), tok, sizeof(tok),
		    &n) != 0 || wk_msg_parse(tok, n, &m, NULL, NULL) != WK_MSG_OK ||
		    m.type != WK_MSG_XFER_TOKEN) {
			fprintf(stderr, "walletkey: %s is damaged\n", path);
			json_decref(st);
			continue;
		}
		wk_hex_encode(m.card_id, 8, from);
		wk_hex_encode(m.peer_id, 8, to);
		if (card_hex != NULL && strcmp(from, card_hex) != 0 &&
		    strcmp(to, card_hex) != 0) {
			json_decref(st);
			continue;
		}
		if (u == NULL && (u = enrolled_issuer(dir, from, &c1)) == NULL)
			u = enrolled_issuer(dir, to, &c2);
		rc = u == NULL ? WK_ERR_ARG : wk_issuer_new(u, &is);
		if (rc == WK_OK) {
			wallet_fault_point("report-send");
			rc = wk_issuer_transfer_report(is, tok, n);
		}
		if (rc == WK_OK) {
			if (wallet_state_remove(path) == 0) {
				(*reported)++;
				*progress = true;
			}
		} else {
			(*left)++;
			if (rc == WK_ERR_ISSUER)
				fprintf(stderr, "walletkey: transfer %s not reported"
				    " yet: the issuer answered %ld %s: %s\n",
				    json_string_value(json_object_get(st,
				    "token_id")), wk_issuer_http_status(is),
				    wk_issuer_error_code(is),
				    wk_issuer_error_message(is));
			else
				fprintf(stderr, "walletkey: transfer %s not reported"
				    " yet: %s%s%s\n", json_string_value(
				    json_object_get(st, "token_id")), u == NULL ?
				    "no issuer known for its cards" : wk_strerror(rc),
				    is != NULL && wk_issuer_error_message(is)[0] ?
				    ": " : "", is != NULL ?
				    wk_issuer_error_message(is) : "");
		}
		wk_issuer_free(&is);
		json_decref(c1);
		json_decref(c2);
		json_decref(st);
	}
	closedir(d);
	return 0;
}

int
wallet_reports_flush(wk_cli *cli, const char *dir, const char *card_hex,
    const char *url, unsigned *reported, unsigned *left)
{
	char def[1024];
	unsigned done = 0, rest = 0;
	bool progress = true;

	(void)cli;
	if (dir == NULL) {
		if (wallet_state_dir(NULL, def, sizeof(def)) != WK_CLI_OK)
			return -1;
		dir = def;
	}
	/* a token refused because its sender's own incoming transfer was
	 * not reported may go through once that one is: passes until none */
	for (int pass = 0; progress && pass < 16; pass++)
		if (flush_pass(dir, card_hex, url, &done, &rest, &progress) != 0)
			return -1;
	if (reported != NULL)
		*reported = done;
	if (left != NULL)
		*left = rest;
	return 0;
}
