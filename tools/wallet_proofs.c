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

#include "wallet_reports.h"
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

/* the JSON value j (taken; NULL: out of memory) as one line appended to
 * the journal at path */
static int
append_json(const char *path, json_t *j, size_t flags)
{
	char *s = NULL, *line = NULL;
	size_t n;
	int rc = WK_ERR_MEMORY;

	if (j == NULL || (s = json_dumps(j, flags)) == NULL)
		goto out;
	n = strlen(s);
	if ((line = malloc(n + 2)) == NULL)
		goto out;
	memcpy(line, s, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	rc = append_line(path, line);
out:
	free(line);
	free(s);
	json_decref(j);
	return rc;
}

int
wallet_proofs_append(const char *sam_path, const wk_purse_txn *t)
{
	char path[4096], serial[2 * WK_PURSE_SERIAL_LEN + 1], term[13],
	    seq[9], date[9], tim[7], tac[9];
	json_t *j;

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
	return append_json(path, j, JSON_COMPACT | JSON_SORT_KEYS);
}

/* a proof's identity at the issuer: what its TAC covers, the terminal id
 * and the terminal's sequence number (docs/issuer.md "Settlement") */
static bool
proof_key(json_t *p, char *out, size_t cap)
{
	const char *t = json_string_value(json_object_get(p, "terminal_id"));
	const char *q = json_string_value(json_object_get(p, "terminal_seq"));

	return t != NULL && q != NULL &&
	    (size_t)snprintf(out, cap, "%s:%s", t, q) < cap;
}

/*
 * the proofs in the journal (array of objects) and those the issuer
 * settled: a mark line {"settled": ["TERMINAL:SEQ", ...]} names them; the
 * older {"settled": N} marks the first N
 */
static int
journal_read(const char *path, json_t **proofs, json_t **done)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0, prefix = 0;
	ssize_t n;

	*done = json_object();
	if ((*proofs = json_array()) == NULL || *done == NULL)
		return WK_ERR_MEMORY;
	if ((fp = fopen(path, "re")) == NULL)
		return errno == ENOENT ? WK_OK : WK_ERR_IO;
	while ((n = getline(&line, &cap, fp)) > 0) {
		json_t *j, *m;

		if (line[n - 1] != '\n')
			break;	/* a torn last line: never completed */
		if ((j = json_loads(line, 0, NULL)) == NULL || !json_is_object(j)) {
			json_decref(j);
			continue;
		}
		m = json_object_get(j, "settled");
		if (json_is_string(json_object_get(j, "rejected"))) {
			/* set aside: the issuer said it is no genuine purchase */
			json_object_set_new(*done, json_string_value(
			    json_object_get(j, "rejected")), json_true());
		} else if (json_is_integer(m)) {
			json_int_t v = json_integer_value(m);

			if (v >= 0 && (size_t)v > prefix)
				prefix = (size_t)v;
		} else if (json_is_array(m)) {
			size_t i;
			json_t *k;

			json_array_foreach(m, i, k)
				if (json_is_string(k))
					json_object_set_new(*done,
					    json_string_value(k), json_true());
		} else {
			json_array_append(*proofs, j);
		}
		json_decref(j);
	}
	free(line);
	fclose(fp);
	for (size_t i = 0; i < prefix && i < json_array_size(*proofs); i++) {
		char k[64];

		if (proof_key(json_array_get(*proofs, i), k, sizeof(k)))
			json_object_set_new(*done, k, json_true());
	}
	return WK_OK;
}

/* the mark line for a settled batch */
static int
mark_settled(const char *path, json_t *batch)
{
	json_t *keys = json_array();
	char k[64];
	size_t i;
	json_t *p;

	if (keys == NULL)
		return WK_ERR_MEMORY;
	json_array_foreach(batch, i, p)
		if (proof_key(p, k, sizeof(k)))
			json_array_append_new(keys, json_string(k));
	return append_json(path, json_pack("{s:o}", "settled", keys),
	    JSON_COMPACT);
}

/* the issuer's refusals of one proof that may pass later */
static bool
proof_waits(const char *code)
{
	return code != NULL && (strcmp(code, "float_short") == 0 ||
	    strcmp(code, "card_not_found") == 0 ||
	    strcmp(code, "merchant_not_found") == 0);
}

/* those that say it is no genuine purchase: never sent again */
static bool
proof_rejected(const char *code)
{
	return code != NULL && (strcmp(code, "bad_tac") == 0 ||
	    strcmp(code, "proof_conflict") == 0 ||
	    strcmp(code, "bad_proof") == 0);
}

/* {"rejected": "TERMINAL:SEQ", "code": CODE} */
static int
mark_rejected(const char *path, json_t *p, const char *code)
{
	char k[64];

	if (!proof_key(p, k, sizeof(k)))
		return WK_ERR_MEMORY;
	return append_json(path, json_pack("{s:s, s:s}", "rejected", k, "code",
	    code), JSON_COMPACT);
}

int
wallet_proofs_settle(wk_cli *cli, const char *sam_path, const char *url)
{
	char path[4096], k[64];
	json_t *proofs = NULL, *done = NULL, *pending = NULL, *waiting = NULL;
	json_t *rejected = NULL;
	wk_issuer *is = NULL;
	size_t total, at = 0, sent = 0, i;
	int64_t amount = 0;
	json_t *p;
	int rc, status = WK_CLI_FAILED;

	if (sam_path == NULL || url == NULL)
		return wk_cli_usage(cli, "wallet settle needs --issuer URL and "
		    "the terminal (--psam READER, --journal FILE or --sam FILE)");
	if (journal_path(sam_path, path, sizeof(path)) != 0)
		return wk_cli_usage(cli, "the journal path is too long");
	if ((rc = journal_read(path, &proofs, &done)) != WK_OK) {
		status = wk_cli_fail(cli, "wallet settle", rc);
		goto out;
	}
	total = json_array_size(proofs);
	/* transfers this host holds that fund the cards' floats go first
	 * (docs/remote-load.md "Reporting a transfer") */
	(void)wallet_reports_flush(cli, NULL, NULL, url, NULL, NULL);
	/* the proofs not settled yet, each once (a recovered purchase may
	 * have been journaled again) */
	if ((pending = json_array()) == NULL || (waiting = json_array()) == NULL ||
	    (rejected = json_array()) == NULL)
		goto oom;
	json_array_foreach(proofs, i, p) {
		if (!proof_key(p, k, sizeof(k)) || json_object_get(done, k) != NULL)
			continue;
		json_object_set_new(done, k, json_false());
		json_array_append(pending, p);
	}
	if (json_array_size(pending) > 0 && (rc = wk_issuer_new(url, &is)) !=
	    WK_OK) {
		status = wk_cli_fail(cli, "wallet settle", rc);
		goto out;
	}
	while (at < json_array_size(pending)) {
		json_t *batch = json_array(), *req;
		char *body, *resp = NULL;
		size_t end = at;

		if (batch == NULL)
			goto oom;
		for (; end < json_array_size(pending) &&
		    json_array_size(batch) < BATCH_MAX; end++)
			json_array_append(batch, json_array_get(pending, end));
		for (;;) {
			req = json_pack("{s:O}", "proofs", batch);
			body = req ? json_dumps(req, JSON_COMPACT) : NULL;
			json_decref(req);
			if (body == NULL) {
				json_decref(batch);
				goto oom;
			}
			wallet_fault_point("settle-sent");
			rc = wk_issuer_request(is, "/v1/settlements", body, &resp);
			free(body);
			/* one proof refused, the rest of the batch goes on
			 * without it: it waits (beyond its card's float — a
			 * transfer to the card not reported yet —, or its card
			 * or merchant not known yet) or, when the issuer says
			 * it is not a genuine purchase, is set aside for good */
			if (rc == WK_ERR_ISSUER && wk_issuer_error_index(is) >= 0 &&
			    (size_t)wk_issuer_error_index(is) < json_array_size(batch) &&
			    (proof_waits(wk_issuer_error_code(is)) ||
			    proof_rejected(wk_issuer_error_code(is)))) {
				size_t w = (size_t)wk_issuer_error_index(is);
				json_t *q = json_array_get(batch, w);
				bool wait = proof_waits(wk_issuer_error_code(is));

				fprintf(stderr, "walletkey: wallet settle: terminal"
				    " number %s (%lld fen) %s: %s\n",
				    json_string_value(json_object_get(q,
				    "terminal_seq")), (long long)json_integer_value(
				    json_object_get(q, "amount")), wait ? "waits" :
				    "is rejected", wk_issuer_error_message(is));
				if (wait) {
					json_array_append(waiting, q);
				} else {
					json_array_append(rejected, q);
					if ((rc = mark_rejected(path, q,
					    wk_issuer_error_code(is))) != WK_OK) {
						json_decref(batch);
						status = wk_cli_fail(cli, "wallet settle", rc);
						goto out;
					}
				}
				json_array_remove(batch, w);
				if (json_array_size(batch) == 0)
					break;
				continue;
			}
			break;
		}
		if (json_array_size(batch) == 0) {
			json_decref(batch);
			at = end;
			continue;
		}
		if (rc != WK_OK) {
			json_decref(batch);
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
		wallet_fault_point("settle-answered");
		if ((rc = mark_settled(path, batch)) != WK_OK) {
			json_decref(batch);
			status = wk_cli_fail(cli, "wallet settle", rc);
			goto out;
		}
		sent += json_array_size(batch);
		json_decref(batch);
		at = end;
	}
	if (cli->json)
		wk_cli_json_print(json_pack("{s:I, s:I, s:I, s:I, s:I}", "settled",
		    (json_int_t)sent, "amount", (json_int_t)amount, "waiting",
		    (json_int_t)json_array_size(waiting), "rejected",
		    (json_int_t)json_array_size(rejected), "journal",
		    (json_int_t)total));
	else
		printf("settled %zu purchase%s (%lld fen); %zu in the journal\n",
		    sent, sent == 1 ? "" : "s", (long long)amount, total);
	if (json_array_size(rejected) > 0)
		fprintf(stderr, "walletkey: %zu proof%s rejected by the issuer and"
		    " set aside (marked in %s)\n", json_array_size(rejected),
		    json_array_size(rejected) == 1 ? "" : "s", path);
	if (json_array_size(waiting) > 0)
		fprintf(stderr, "walletkey: %zu purchase%s wait%s for the issuer"
		    " (the card's float, or its card or merchant): settle again"
		    " later, after the cards' next sync\n", json_array_size(waiting),
		    json_array_size(waiting) == 1 ? "" : "s",
		    json_array_size(waiting) == 1 ? "s" : "");
	if (json_array_size(waiting) > 0 || json_array_size(rejected) > 0) {
		status = WK_CLI_FAILED;
	} else {
		status = WK_CLI_OK;
	}
	goto out;
oom:
	status = wk_cli_fail(cli, "wallet settle", WK_ERR_MEMORY);
out:
	json_decref(rejected);
	json_decref(waiting);
	json_decref(pending);
	json_decref(done);
	json_decref(proofs);
	wk_issuer_free(&is);
	return status;
}
