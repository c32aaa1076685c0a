/* walletkey-issuer's commands that answer a card's request offline: the
 * PSAM of a terminal, the purse unblock script, the PIN reload order */
#include "iss_cli.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_hex.h"

/* writes text and a newline to a new file (never over one); 0, or -1
 * with "walletkey-issuer: <cmd>: cannot create|write <path>" printed */
static int
iss_cli_write_new(const char *cmd, const char *path, const char *text)
{
	size_t n = strlen(text);
	int fd, rc = -1;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "walletkey-issuer: %s: cannot create %s (it must"
		    " not exist)\n", cmd, path);
		return -1;
	}
	if (write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1 &&
	    fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0)
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "walletkey-issuer: %s: cannot write %s\n", cmd,
		    path);
	return rc;
}

/* reads a small file (the PSAM request) into a NUL-terminated buffer */
static char *
read_small(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	if ((buf = malloc(8192)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, 8191, f);
	if (ferror(f) || !feof(f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* what an offline command works with: the master key's unlock, the
 * database, the issuer's keys */
typedef struct offline {
	iss_unlock u;
	iss_db *db;
	iss_keys k;
} offline;

/* the database and the issuer's keys for command cmd (x->u set); -1 after
 * saying why */
static int
open_keys(const opts *o, const char *cmd, offline *x)
{
	char err[512];

	if (iss_cli_open_db(o, &x->db) != 0)
		return -1;
	if (iss_keys_load(x->db, &x->u, &x->k, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

static void
close_keys(offline *x)
{
	iss_keys_clear(&x->k);
	iss_db_free(&x->db);
}

/*
 * the card's signed unblock request in the file path (format
 * walletkey-unblock-request/1, from `walletkey wallet unblock
 * --request-out`), of card (NULL: any) into msg: 0, or 2 after saying why
 */
static int
unblock_request(const char *cmd, const char *path, const char *card,
    uint8_t *msg, size_t cap, long *n)
{
	json_error_t jerr;
	json_t *req;
	const char *fmt, *hex, *id;
	int rc = 2;

	if ((req = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		fprintf(stderr, "walletkey-issuer: %s: %s: %s\n", cmd, path,
		    jerr.text);
		return 2;
	}
	fmt = json_string_value(json_object_get(req, "format"));
	id = json_string_value(json_object_get(req, "card_id"));
	hex = json_string_value(json_object_get(req, "request"));
	if (fmt == NULL || strcmp(fmt, "walletkey-unblock-request/1") != 0 ||
	    (card != NULL && id == NULL) || hex == NULL ||
	    strlen(hex) % 2 != 0 || strlen(hex) > 2 * cap ||
	    (*n = wk_hex_decode(hex, msg, cap)) <= 0)
		fprintf(stderr, "walletkey-issuer: %s: %s is not an unblock request"
		    " (walletkey-unblock-request/1)\n", cmd, path);
	else if (card != NULL && strcasecmp(id, card) != 0)
		fprintf(stderr, "walletkey-issuer: %s: the request is card %s's,"
		    " not %s's\n", cmd, id, card);
	else
		rc = 0;
	json_decref(req);
	return rc;
}

/* the PSAM of a terminal (docs/issuer.md "PSAM"): replaces the old
 * sam-keys, which wrote the purse master keys themselves to a file */
int
cmd_psam_issue(const opts *o)
{
	offline x = { 0 };
	iss_err e = { 0 };
	uint8_t msg[WK_MSG_MAX];
	size_t msg_len = sizeof(msg), req_len = 0, cap;
	char *req = NULL, *b64 = NULL, *text = NULL;
	json_t *j = NULL;
	int rc = 1;

	if (o->terminal == NULL || o->request == NULL || o->out == NULL) {
		fprintf(stderr, "walletkey-issuer: psam-issue needs --terminal ID,"
		    " --request FILE and --out FILE\n");
		return 2;
	}
	if (iss_cli_unlock(o, &x.u) != 0)
		return 2;
	if ((req = read_small(o->request, &req_len)) == NULL) {
		fprintf(stderr, "walletkey-issuer: psam-issue: cannot read %s (at"
		    " most 8 KiB)\n", o->request);
		return 2;
	}
	if (open_keys(o, "psam-issue", &x) != 0)
		goto out;
	if (iss_psam_issue(x.db, &x.k, o->terminal, req, req_len, msg, &msg_len,
	    &e) != 0) {
		rc = iss_cli_err(&e);
		goto out;
	}
	cap = sodium_base64_ENCODED_LEN(msg_len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(cap)) == NULL)
		goto out;
	sodium_bin2base64(b64, cap, msg, msg_len, sodium_base64_VARIANT_ORIGINAL);
	{
		wk_msg m;
		char id[17], term[13];

		(void)wk_msg_parse(msg, msg_len, &m, NULL, NULL);
		wk_hex_encode(m.card_id, sizeof(m.card_id), id);
		wk_hex_encode(m.terminal_id, sizeof(m.terminal_id), term);
		j = json_pack("{s:s, s:i, s:s, s:s, s:i, s:s}", "format",
		    "walletkey-psam-keys", "version", 1, "card_id", id, "terminal",
		    term, "key_version", (int)m.key_version, "message", b64);
	}
	if (j == NULL)
		goto out;
	if ((text = json_dumps(j, JSON_INDENT(2))) == NULL ||
	    iss_cli_write_new("psam-issue", o->out, text) != 0)
		goto out;
	if (o->json) {
		json_object_del(j, "message");
		json_object_set_new(j, "out", json_string(o->out));
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		printf("PSAM keys for terminal %s written to %s\n", o->terminal,
		    o->out);
	}
	rc = 0;
out:
	free(text);
	json_decref(j);
	free(b64);
	free(req);
	close_keys(&x);
	return rc;
}

/*
 * purse-unblock: the holder's card was blocked by wrong MAC2s or grant
 * signatures; its signed unblock request (a file from `walletkey wallet
 * unblock --request-out`) carries the challenge the card keeps. The script
 * works once, on that card, for that challenge (docs/purse.md "Blocking").
 */
int
cmd_purse_unblock(const opts *o)
{
	offline x = { 0 };
	iss_err e = { 0 };
	iss_unblock ub;
	json_t *script = NULL;
	uint8_t msg[WK_MSG_MAX];
	char chal[9], mac[9], *text = NULL;
	long n = 0;
	int rc = 1;

	if (o->card == NULL || o->request == NULL) {
		fprintf(stderr, "walletkey-issuer: purse-unblock needs --card CARD_ID"
		    " and --request FILE\n");
		return 2;
	}
	if (iss_cli_unlock(o, &x.u) != 0)
		return 2;
	if (unblock_request("purse-unblock", o->request, o->card, msg,
	    sizeof(msg), &n) != 0)
		return 2;
	if (open_keys(o, "purse-unblock", &x) != 0)
		goto out;
	if (iss_purse_unblock(x.db, &x.k, o->card, msg, (size_t)n, &ub, &e) != 0) {
		rc = iss_cli_err(&e);
		goto out;
	}
	wk_hex_encode(ub.challenge, sizeof(ub.challenge), chal);
	wk_hex_encode(ub.mac, sizeof(ub.mac), mac);
	script = json_pack("{s:s, s:s, s:s, s:s}", "format",
	    "walletkey-unblock-script/1", "card_id", ub.card_id, "challenge", chal,
	    "mac", mac);
	if (script == NULL || (text = json_dumps(script, JSON_INDENT(2))) == NULL)
		goto out;
	if (o->out == NULL) {
		printf("%s\n", text);
	} else {
		if (iss_cli_write_new("purse-unblock", o->out, text) != 0)
			goto out;
		if (o->json)
			printf("{\"card_id\":\"%s\",\"challenge\":\"%s\","
			    "\"script\":\"%s\"}\n", ub.card_id, chal, o->out);
		else
			printf("unblock script for card %s (challenge %s) written to"
			    " %s\n", ub.card_id, chal, o->out);
	}
	rc = 0;
out:
	free(text);
	json_decref(script);
	close_keys(&x);
	return rc;
}

/*
 * pin-unblock: the holder forgot the purse PIN or blocked it, and the bank
 * has identified them. The order's reset PIN is printed for the operator to
 * tell the holder by another channel; the card's next signed unblock
 * request receives the one-time RELOAD PIN script (docs/issuer.md "PIN
 * reload"): online through POST /v1/pin-reloads (walletkey wallet pin
 * unblock --issuer URL), or here with --request FILE --out FILE.
 */
int
cmd_pin_unblock(const opts *o)
{
	offline x = { 0 };
	iss_err e = { 0 };
	iss_pin_order ord;
	iss_pin_script sc;
	json_t *script = NULL, *out = NULL;
	uint8_t msg[WK_MSG_MAX];
	char chal[9], hex[2 * WK_PURSE_RELOAD_DATA_MAX + 1];
	char *text = NULL;
	long n = 0;
	int rc = 1;

	memset(&ord, 0, sizeof(ord));
	memset(&sc, 0, sizeof(sc));
	if (o->card == NULL || (o->request == NULL) != (o->out == NULL)) {
		fprintf(stderr, "walletkey-issuer: pin-unblock needs --card CARD_ID,"
		    " and --request FILE with --out FILE or neither\n");
		return 2;
	}
	if (iss_cli_unlock(o, &x.u) != 0)
		return 2;
	if (o->request != NULL && unblock_request("pin-unblock", o->request,
	    NULL, msg, sizeof(msg), &n) != 0)
		return 2;
	if (open_keys(o, "pin-unblock", &x) != 0)
		goto out;
	if (iss_pin_order_new(x.db, &x.k, o->card, o->request != NULL ? msg : NULL,
	    (size_t)n, &ord, o->request != NULL ? &sc : NULL, &e) != 0) {
		rc = iss_cli_err(&e);
		goto out;
	}
	if (o->request != NULL) {
		wk_hex_encode(sc.challenge, sizeof(sc.challenge), chal);
		wk_hex_encode(sc.script, sc.script_len, hex);
		script = json_pack("{s:s, s:s, s:s, s:s}", "format",
		    "walletkey-pin-script/1", "card_id", sc.card_id, "challenge",
		    chal, "script", hex);
		sodium_memzero(hex, sizeof(hex));
		if (script == NULL || (text = json_dumps(script, JSON_INDENT(2))) ==
		    NULL)
			goto out;
		if (iss_cli_write_new("pin-unblock", o->out, text) != 0)
			goto out;
	}
	if (o->json) {
		out = json_pack("{s:s, s:I, s:s}", "card_id", ord.card_id, "order",
		    (json_int_t)ord.order, "reset_pin", ord.reset_pin);
		if (out != NULL && o->request != NULL)
			json_object_set_new(out, "script", json_string(o->out));
		if (out == NULL)
			goto out;
		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		printf("PIN reload %lld ordered for card %s\n", (long long)ord.order,
		    ord.card_id);
		printf("reset PIN: %s (tell the holder by another channel than the"
		    " card's)\n", ord.reset_pin);
		if (o->request != NULL)
			printf("the one-time script for challenge %s is in %s\n", chal,
			    o->out);
		else
			printf("the card's next unblock request gets the script"
			    " (walletkey wallet pin unblock --issuer URL)\n");
	}
	rc = 0;
out:
	sodium_memzero(&ord, sizeof(ord));
	sodium_memzero(&sc, sizeof(sc));
	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	json_decref(out);
	json_decref(script);
	close_keys(&x);
	return rc;
}
