/*
 * the purchase-proof journal and `walletkey wallet settle` (wallet_proofs.h).
 * Appends are O_APPEND writes of one whole line followed by fsync; a torn
 * last line (a crash mid-write) is ignored when reading. Settling is
 * idempotent on the issuer, so a crash between the upload and the
 * "settled" line only means the same proofs go up again next time.
 */
#include "wallet_proofs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "wk_hex.h"

#define BATCH_MAX 256	/* the issuer takes at most 256 proofs a request */

static int
journal_path(const char *sam_path, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.proofs", sam_path);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int
sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1;

	if (copy == NULL)
		return -1;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY)) >= 0) {
		rc = fsync(fd) == 0 ? 0 : -1;
		close(fd);
	}
	free(copy);
	return rc;
}

static int
append_line(const char *path, const char *line)
{
	size_t len = strlen(line), off = 0;
	bool created;
	int fd, rc = WK_ERR_IO;

	created = access(path, F_OK) != 0;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return WK_ERR_IO;
	while (off < len) {
		ssize_t w = write(fd, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto out;
	rc = WK_OK;
out:
	if (close(fd) != 0)
		rc = WK_ERR_IO;
	if (rc == WK_OK && created && sync_dir(path) != 0)
		rc = WK_ERR_IO;
	return rc;
}

int
wallet_proofs_append(const char *sam_path, const wk_purse_txn *t)
{
	char path[4096], serial[2 * WK_PURSE_SERIAL_LEN + 1], term[13],
	    seq[9], date[9], tim[7], tac[9], *s;
	json_t *j;
	int rc;

	if (t->state != WK_PURSE_TXN_DONE || (t->type != 0x05 && t->type != 0x06))
		return WK_ERR_ARG;
	if (journal_path(sam_path, path, sizeof(path)) != 0)
		return WK_ERR_ARG;
	wk_hex_encode(t->serial, sizeof(t->serial), serial);
	wk_hex_encode(t->terminal, sizeof(t->terminal), term);
	wk_hex_encode(t->term_seq, sizeof(t->term_seq), seq);
	wk_hex_encode(t->date, sizeof(t->date), date);
	wk_hex_encode(t->time, sizeof(t->time), tim);
	wk_hex_encode(t->tac, sizeof(t->tac), tac);
	j = json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:s, s:s}",
	    "app_serial", serial, "purse", t->type == 0x06 ? "EP" : "ED",
	    "offline_seq", (int)t->card_seq, "amount", (json_int_t)t->amount,
	    "terminal_id", term, "terminal_seq", seq, "date", date, "time", tim,
	    "tac", tac);
	if (j == NULL)
		return WK_ERR_MEMORY;
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (s == NULL)
		return WK_ERR_MEMORY;
	{
		size_t n = strlen(s);
		char *line = malloc(n + 2);

		if (line == NULL) {
			free(s);
			return WK_ERR_MEMORY;
		}
		memcpy(line, s, n);
		line[n] = '\n';
		line[n + 1] = '\0';
		rc = append_line(path, line);
		free(line);
	}
	free(s);
	return rc;
}

/* the proofs in the journal (array of objects) and how many are settled */
static int
journal_read(const char *path, json_t **proofs, size_t *settled)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	*settled = 0;
	if ((*proofs = json_array()) == NULL)
		return WK_ERR_MEMORY;
	if ((fp = fopen(path, "re")) == NULL)
		return errno == ENOENT ? WK_OK : WK_ERR_IO;
	while ((n = getline(&line, &cap, fp)) > 0) {
		json_t *j;

		if (line[n - 1] != '\n')
			break;	/* a torn last line: never completed */
		if ((j = json_loads(line, 0, NULL)) == NULL || !json_is_object(j)) {
			json_decref(j);
			continue;
		}
		if (json_is_integer(json_object_get(j, "settled"))) {
			json_int_t v = json_integer_value(json_object_get(j, "settled"));

			if (v >= 0 && (size_t)v > *settled)
				*settled = (size_t)v;
			json_decref(j);
		} else {
			json_array_append_new(*proofs, j);
		}
	}
	free(line);
	fclose(fp);
	if (*settled > json_array_size(*proofs))
		*settled = json_array_size(*proofs);
	return WK_OK;
}

int
wallet_proofs_settle(wk_cli *cli, const char *sam_path, const char *url)
{
	char path[4096], mark[64];
	json_t *proofs = NULL;
	wk_issuer *is = NULL;
	size_t settled, total, sent = 0;
	int64_t amount = 0;
	int rc, status = WK_CLI_FAILED;

	if (sam_path == NULL || url == NULL)
		return wk_cli_usage(cli, "wallet settle needs --issuer URL and "
		    "--sam FILE");
	if (journal_path(sam_path, path, sizeof(path)) != 0)
		return wk_cli_usage(cli, "the SAM path is too long");
	if ((rc = journal_read(path, &proofs, &settled)) != WK_OK) {
		status = wk_cli_fail(cli, "wallet settle", rc);
		goto out;
	}
	total = json_array_size(proofs);
	if (settled < total && (rc = wk_issuer_new(url, &is)) != WK_OK) {
		status = wk_cli_fail(cli, "wallet settle", rc);
		goto out;
	}
	while (settled < total) {
		json_t *batch = json_array(), *req;
		size_t end = settled, i;
		char *body, *resp = NULL;

		if (batch == NULL)
			goto oom;
		/* one batch, without a proof twice (a recovered purchase may
		 * have been journaled again) */
		for (; end < total && json_array_size(batch) < BATCH_MAX; end++) {
			json_t *p = json_array_get(proofs, end);
			bool dup = false;

			for (i = 0; i < json_array_size(batch); i++)
				if (json_equal(json_array_get(batch, i), p))
					dup = true;
			if (!dup)
				json_array_append(batch, p);
		}
		req = json_pack("{s:o}", "proofs", batch);
		body = req ? json_dumps(req, JSON_COMPACT) : NULL;
		json_decref(req);
		if (body == NULL)
			goto oom;
		rc = wk_issuer_request(is, "/v1/settlements", body, &resp);
		free(body);
		if (rc != WK_OK) {
			if (rc == WK_ERR_ISSUER)
				fprintf(stderr, "walletkey: wallet settle: the issuer "
				    "refused (%ld %s): %s\n", wk_issuer_http_status(is),
				    wk_issuer_error_code(is) ? wk_issuer_error_code(is) :
				    "?", wk_issuer_error_message(is) ?
				    wk_issuer_error_message(is) : "");
			status = wk_cli_fail(cli, "wallet settle", rc);
			goto out;
		}
		{
			json_t *r = json_loads(resp, 0, NULL);

			amount += json_integer_value(json_object_get(r, "total"));
			json_decref(r);
		}
		free(resp);
		snprintf(mark, sizeof(mark), "{\"settled\":%zu}\n", end);
		if ((rc = append_line(path, mark)) != WK_OK) {
			status = wk_cli_fail(cli, "wallet settle", rc);
			goto out;
		}
		sent += end - settled;
		settled = end;
	}
	if (cli->json)
		wk_cli_json_print(json_pack("{s:I, s:I, s:I}", "settled",
		    (json_int_t)sent, "amount", (json_int_t)amount, "journal",
		    (json_int_t)total));
	else
		printf("settled %zu purchase%s (%lld fen); %zu in the journal\n",
		    sent, sent == 1 ? "" : "s", (long long)amount, total);
	status = WK_CLI_OK;
	goto out;
oom:
	status = wk_cli_fail(cli, "wallet settle", WK_ERR_MEMORY);
out:
	json_decref(proofs);
	wk_issuer_free(&is);
	return status;
}
