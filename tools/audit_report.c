/*
 * walletkey audit report: one self-contained HTML page (no external
 * resources): the statement table, totals per month and type, and the
 * balance over time as inline SVG.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_doc.h"

int audit_report_html(FILE *f, const audit_doc *d, const bool *keep);

static void
esc(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f); break;
		}
	}
}

typedef struct total {
	char month[8];
	char type[16];
	uint64_t count;
	uint64_t fen;
} total;

static int
add_total(total **t, size_t *n, const char *month, const char *type,
    uint32_t fen)
{
	total *nt;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*t)[i].month, month) == 0 &&
		    strcmp((*t)[i].type, type) == 0) {
			(*t)[i].count++;
			(*t)[i].fen += fen;
			return 0;
		}
	if ((nt = realloc(*t, (*n + 1) * sizeof(*nt))) == NULL)
		return -1;
	*t = nt;
	memset(&nt[*n], 0, sizeof(nt[*n]));
	snprintf(nt[*n].month, sizeof(nt[*n].month), "%.7s", month);
	snprintf(nt[*n].type, sizeof(nt[*n].type), "%.15s", type);
	nt[*n].count = 1;
	nt[*n].fen = fen;
	(*n)++;
	return 0;
}

static int
cmp_total(const void *a, const void *b)
{
	const total *x = a, *y = b;
	int c = strcmp(x->month, y->month);

	return c != 0 ? c : strcmp(x->type, y->type);
}

static void
fen_str(uint64_t fen, char *out, size_t cap)
{
	snprintf(out, cap, "%" PRIu64 ".%02" PRIu64, fen / 100, fen % 100);
}

/* the balance of each purse after each kept record, as two polylines */
static void
chart(FILE *f, const audit_doc *d, const bool *keep)
{
	const double w = 760, h = 240, x0 = 60, y0 = 20;
	uint32_t max = 1;
	size_t n = 0, k = 0;
	wk_arec r;
	char lab[32];

	for (size_t i = 0; i < d->n; i++) {
		if (!keep[i] || wk_arec_decode(d->raw + i * WK_AREC_LEN,
		    WK_AREC_LEN, &r) != WK_AREC_OK)
			continue;
		n++;
		/* only the purses' balances are drawn: the bank's records carry
		 * the account's, PIV records none */
		if ((audit_outgoing(&r) ? r.src : r.dst)[0] != WK_AREC_ACCT_ED &&
		    (audit_outgoing(&r) ? r.src : r.dst)[0] != WK_AREC_ACCT_EP)
			continue;
		if (r.balance > max)
			max = r.balance;
	}
	fprintf(f, "<svg id=\"balance-chart\" xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"840\" height=\"300\" viewBox=\"0 0 840 300\" role=\"img\" "
	    "aria-label=\"balance over time\">\n"
	    "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
	    "fill=\"#fafafa\" stroke=\"#999\"/>\n", x0, y0, w, h);
	fen_str(max, lab, sizeof(lab));
	fprintf(f, "<text x=\"4\" y=\"%.0f\" font-size=\"11\">%s</text>\n"
	    "<text x=\"4\" y=\"%.0f\" font-size=\"11\">0.00</text>\n",
	    y0 + 10, lab, y0 + h);
	for (int purse = 0; purse < 2; purse++) {
		uint8_t kind = purse == 0 ? WK_AREC_ACCT_ED : WK_AREC_ACCT_EP;
		bool any = false;

		k = 0;
		for (size_t i = 0; i < d->n; i++) {
			const uint8_t *mine;
			double x, y;

			if (!keep[i] || wk_arec_decode(d->raw + i * WK_AREC_LEN,
			    WK_AREC_LEN, &r) != WK_AREC_OK)
				continue;
			k++;
			mine = audit_outgoing(&r) ? r.src : r.dst;
			if (mine[0] != kind)
				continue;
			if (!any)
				fprintf(f, "<polyline class=\"%s\" fill=\"none\" "
				    "stroke=\"%s\" stroke-width=\"1.5\" points=\"",
				    purse == 0 ? "ed" : "ep",
				    purse == 0 ? "#c0392b" : "#2471a3");
			any = true;
			x = x0 + (n > 1 ? (double)(k - 1) * w / (double)(n - 1) :
			    w / 2);
			y = y0 + h - (double)r.balance * h / (double)max;
			fprintf(f, "%.1f,%.1f ", x, y);
		}
		if (any)
			fputs("\"/>\n", f);
	}
	fprintf(f, "<text x=\"%.0f\" y=\"290\" font-size=\"12\" fill=\"#c0392b\">"
	    "ED balance</text><text x=\"%.0f\" y=\"290\" font-size=\"12\" "
	    "fill=\"#2471a3\">EP balance</text>\n</svg>\n", x0, x0 + 120);
}

int
audit_report_html(FILE *f, const audit_doc *d, const bool *keep)
{
	char cells[9][48], tn[16], month[8], sn[17], when[32];
	total *totals = NULL;
	size_t nt = 0, rows = 0;
	time_t now = time(NULL);
	struct tm tm;
	wk_arec r;
	int rc = -1;

	for (int i = 0; i < 8; i++)
		sprintf(sn + 2 * i, "%02x", d->serial[i]);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<title>walletkey statement</title>\n<style>\n"
	    "body{font-family:sans-serif;margin:2em;color:#222}\n"
	    "table{border-collapse:collapse;margin:1em 0}\n"
	    "th,td{border:1px solid #ccc;padding:2px 8px;font-size:13px}\n"
	    "th{background:#eee}td.num{text-align:right}\n"
	    "</style></head><body>\n", f);
	fprintf(f, "<h1>Statement of card %s</h1>\n<p>From the card's own audit "
	    "log, exported %s. Checkpoint seq %" PRIu64 ", chain head seq %"
	    PRIu64 "%s.</p>\n", sn, when, d->head.base_seq, d->head.head_seq,
	    d->have_head ? ", signed by the card" : " (not signed)");
	fputs("<h2>Transactions</h2>\n<table id=\"transactions\"><thead><tr>"
	    "<th>Seq</th><th>Time</th><th>Type</th><th>Amount</th>"
	    "<th>Source account</th><th>Target account</th><th>Balance</th>"
	    "<th>Merchant/terminal</th><th>Origin</th></tr></thead><tbody>\n",
	    f);
	for (size_t i = 0; i < d->n; i++) {
		if (!keep[i] || wk_arec_decode(d->raw + i * WK_AREC_LEN,
		    WK_AREC_LEN, &r) != WK_AREC_OK)
			continue;
		snprintf(cells[0], 48, "%" PRIu64, r.seq);
		audit_fmt_time(&r, cells[1], 48);
		snprintf(cells[2], 48, "%s", wk_arec_type_name(r.type, tn,
		    sizeof(tn)));
		audit_fmt_amount(&r, true, cells[3], 48);
		audit_fmt_account(r.src, cells[4], 48);
		audit_fmt_account(r.dst, cells[5], 48);
		wk_purse_amount_format(r.balance, cells[6], 48);
		audit_fmt_terminal(&r, cells[7], 48);
		snprintf(cells[8], 48, "%s", wk_arec_is_issuer(r.type) ? "bank" :
		    "card");
		fprintf(f, "<tr class=\"tx %s\">", wk_arec_origin_name(r.type));
		for (int c = 0; c < 9; c++) {
			fputs(c == 0 || c == 3 || c == 6 ? "<td class=\"num\">" :
			    "<td>", f);
			esc(f, cells[c]);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
		rows++;
		snprintf(month, sizeof(month), "%.7s", cells[1]);
		if (add_total(&totals, &nt, month, cells[2], r.amount) != 0)
			goto out;
	}
	fputs("</tbody></table>\n", f);
	fprintf(f, "<p id=\"row-count\">%zu transactions</p>\n", rows);
	if (nt > 0)
		qsort(totals, nt, sizeof(*totals), cmp_total);
	fputs("<h2>Totals per month and type</h2>\n<table id=\"totals\"><thead>"
	    "<tr><th>Month</th><th>Type</th><th>Count</th><th>Total</th></tr>"
	    "</thead><tbody>\n", f);
	for (size_t i = 0; i < nt; i++) {
		char amt[32];

		fen_str(totals[i].fen, amt, sizeof(amt));
		fputs("<tr class=\"total\"><td>", f);
		esc(f, totals[i].month);
		fputs("</td><td>", f);
		esc(f, totals[i].type);
		fprintf(f, "</td><td class=\"num\">%" PRIu64 "</td><td "
		    "class=\"num\">%s</td></tr>\n", totals[i].count, amt);
	}
	fputs("</tbody></table>\n<h2>Balance over time</h2>\n", f);
	chart(f, d, keep);
	fputs("</body></html>\n", f);
	rc = ferror(f) ? -1 : 0;
out:
	free(totals);
	return rc;
}
