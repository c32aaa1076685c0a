/*
 * walletkey audit export (docs/audit.md): the records kept by the filters,
 * written as a table, CSV or JSON to a file only the holder reads, or the
 * sealed bundle for an auditor; the card is read by cmd_audit.c
 */
#include "audit_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_arec.h"
#include "wk_hex.h"

bool *
audit_cli_filter(const audit_doc *d, const aopts *o)
{
	bool *keep = calloc(d->n > 0 ? d->n : 1, sizeof(*keep));
	char t[32];
	wk_arec r;

	if (keep == NULL)
		return NULL;
	for (size_t i = 0; i < d->n; i++) {
		if (wk_arec_decode(d->raw + i * WK_AREC_LEN, WK_AREC_LEN, &r) !=
		    WK_AREC_OK)
			continue;
		audit_fmt_time(&r, t, sizeof(t));
		keep[i] = (o->since == NULL || strncmp(t, o->since, 10) >= 0) &&
		    (o->until == NULL || strncmp(t, o->until, 10) <= 0) &&
		    (o->type == NULL || wk_arec_type_matches(o->type, r.type)) &&
		    (o->origin == NULL ||
		    strcmp(o->origin, wk_arec_origin_name(r.type)) == 0);
	}
	return keep;
}

static void
csv_cell(FILE *f, const char *s, bool last)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
	fputc(last ? '\n' : ',', f);
}

static const char *const columns[] = { "seq", "time", "type", "amount",
    "source account", "target account", "balance", "merchant/terminal",
    "origin" };
#define NCOLS (sizeof(columns) / sizeof(columns[0]))

static void
row_cells(const uint8_t *raw, char cells[NCOLS][48])
{
	char tn[16];
	wk_arec r;

	memset(cells, 0, sizeof(char[NCOLS][48]));
	if (wk_arec_decode(raw, WK_AREC_LEN, &r) != WK_AREC_OK)
		return;
	snprintf(cells[0], 48, "%" PRIu64, r.seq);
	audit_fmt_time(&r, cells[1], 48);
	snprintf(cells[2], 48, "%s", wk_arec_type_name(r.type, tn, sizeof(tn)));
	audit_fmt_amount(&r, true, cells[3], 48);
	audit_fmt_account(r.src, cells[4], 48);
	audit_fmt_account(r.dst, cells[5], 48);
	wk_purse_amount_format(r.balance, cells[6], 48);
	audit_fmt_terminal(&r, cells[7], 48);
	snprintf(cells[8], 48, "%s", wk_arec_origin_name(r.type));
}

static int
write_records(FILE *f, const audit_doc *d, const bool *keep,
    const char *format)
{
	char cells[NCOLS][48];
	const char *ptrs[NCOLS];
	wk_cli_table *t = NULL;
	int rc = -1;

	if (strcmp(format, "json") == 0)
		return audit_doc_json_write(d, keep, f);
	if (strcmp(format, "csv") == 0) {
		for (size_t c = 0; c < NCOLS; c++)
			csv_cell(f, columns[c], c + 1 == NCOLS);
		for (size_t i = 0; i < d->n; i++) {
			if (!keep[i])
				continue;
			row_cells(d->raw + i * WK_AREC_LEN, cells);
			for (size_t c = 0; c < NCOLS; c++)
				csv_cell(f, cells[c], c + 1 == NCOLS);
		}
		return ferror(f) ? -1 : 0;
	}
	if ((t = wk_cli_table_new(NCOLS, columns)) == NULL)
		return -1;
	for (size_t i = 0; i < d->n; i++) {
		if (!keep[i])
			continue;
		row_cells(d->raw + i * WK_AREC_LEN, cells);
		for (size_t c = 0; c < NCOLS; c++)
			ptrs[c] = cells[c];
		if (wk_cli_table_add(t, ptrs) != 0)
			goto out;
	}
	wk_cli_table_print(t, f);
	rc = ferror(f) ? -1 : 0;
out:
	wk_cli_table_free(&t);
	return rc;
}

/*
 * statements, reports and opened bundles hold the holder's transactions:
 * mode 0600 whatever the umask, and never written into a file that others
 * could read, or already hold open (such a file is replaced, not reused)
 */
FILE *
audit_cli_open_out(const char *path)
{
	struct stat sb;
	FILE *f;
	int fd, e;

	if (path == NULL)
		return stdout;
	if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (sb.st_mode & 077) != 0 && unlink(path) != 0)
		return NULL;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0)
		return NULL;
	/* a symbolic link to a file others can read */
	if (fstat(fd, &sb) != 0 || (S_ISREG(sb.st_mode) &&
	    (sb.st_mode & 077) != 0 && fchmod(fd, 0600) != 0) ||
	    (f = fdopen(fd, "w")) == NULL) {
		e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	return f;
}

static int
close_out(FILE *f, const char *path)
{
	(void)path;
	if (f == stdout)
		return fflush(f) == 0 ? 0 : -1;
	return fclose(f) == 0 ? 0 : -1;
}

int
audit_cli_emit(wk_cli *cli, const aopts *o, const audit_doc *d, const char *format)
{
	bool *keep = audit_cli_filter(d, o);
	FILE *f;
	int status = WK_CLI_FAILED;

	(void)cli;
	if (keep == NULL)
		return WK_CLI_FAILED;
	if ((f = audit_cli_open_out(o->out)) == NULL) {
		fprintf(stderr, "walletkey: cannot write %s: %s\n", o->out,
		    strerror(errno));
		goto out;
	}
	if (write_records(f, d, keep, format) != 0 ||
	    close_out(f, o->out) != 0) {
		fprintf(stderr, "walletkey: writing the export failed\n");
		goto out;
	}
	status = WK_CLI_OK;
out:
	free(keep);
	return status;
}

int
audit_cmd_export(wk_cli *cli, const aopts *o)
{
	uint8_t rcp[32];
	audit_doc d;
	json_t *pages = NULL, *bundle, *doc;
	FILE *f;
	int status = WK_CLI_FAILED;

	audit_doc_init(&d);
	if (o->recipient == NULL) {
		if (audit_cli_fetch(cli, o, NULL, &d, NULL) != WK_OK)
			goto out;
		status = audit_cli_emit(cli, o, &d, o->format != NULL ? o->format :
		    cli->json ? "json" : "table");
		goto out;
	}
	if (audit_cli_parse_key32(o->recipient, rcp) != 0) {
		status = wk_cli_usage(cli, "--recipient is an X25519 public key: "
		    "64 hex digits, or a file holding them");
		goto out;
	}
	if (o->since != NULL || o->until != NULL || o->type != NULL ||
	    o->format != NULL) {
		status = wk_cli_usage(cli, "--recipient exports every record "
		    "sealed: no filters or format");
		goto out;
	}
	if ((pages = json_array()) == NULL ||
	    audit_cli_fetch(cli, o, rcp, &d, pages) != WK_OK)
		goto out;
	/* the bundle carries the signed head and certificate in clear: no records */
	if ((doc = audit_doc_to_json(&d, NULL)) == NULL)
		goto out;
	bundle = json_pack("{s:s, s:O, s:o, s:O, s:O, s:O}",
	    "format", "walletkey-audit-sealed/1",
	    "serial", json_object_get(doc, "serial"),
	    "recipient", wk_cli_json_hex(rcp, 32),
	    "head", json_object_get(doc, "head"),
	    "certificate", json_object_get(doc, "certificate"),
	    "pages", pages);
	json_decref(doc);
	if (bundle == NULL)
		goto out;
	if ((f = audit_cli_open_out(o->out)) == NULL ||
	    json_dumpf(bundle, f, JSON_INDENT(1)) != 0 ||
	    fputc('\n', f) == EOF || close_out(f, o->out) != 0) {
		fprintf(stderr, "walletkey: writing the bundle failed\n");
		json_decref(bundle);
		goto out;
	}
	json_decref(bundle);
	status = WK_CLI_OK;
out:
	json_decref(pages);
	audit_doc_free(&d);
	return status;
}
