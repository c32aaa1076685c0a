/*
 * walletkey audit: the card's audit log (docs/audit.md).
 *   export   records from the card, sealed to our own fresh key and opened
 *            here (table, csv, json), or sealed to an auditor's key
 *            (--recipient) and written as a bundle we cannot read
 *   verify   chain, checkpoint, the card's signature and certificate
 *   report   a self-contained HTML statement with an inline SVG chart
 *   keygen   an auditor's X25519 key pair; open: a bundle with it
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "audit_cli.h"
#include "audit_doc.h"
#include "wk_arec.h"
#include "wk_hex.h"

#define FILE_MAX (512u << 20)
#define RESUME_WAIT 30	/* seconds to wait for a lost card */

int wk_cmd_audit(wk_cli *cli, int argc, char **argv);
int audit_report_html(FILE *f, const audit_doc *d, const bool *keep);


static const char audit_usage[] =
    "usage: walletkey audit SUBCOMMAND [OPTIONS]\n"
    "  status                        capacity, records kept, checkpoint, head (no PIN)\n"
    "  export [--since DATE] [--until DATE] [--type T] [--origin card|issuer]\n"
    "         [--format table|csv|json]\n"
    "         [--out FILE] [--recipient PUBKEY|FILE]\n"
    "  verify FILE | --card [--issuer URL]\n"
    "  sync --issuer URL             uploads the records the issuer lacks (sealed\n"
    "                                to its key); the card stores its acknowledgement\n"
    "  report --out FILE.html [--since DATE] [--until DATE] [--type T]\n"
    "         [--origin card|issuer]\n"
    "  keygen --out KEYFILE          an auditor's key pair (prints the public key)\n"
    "  open BUNDLE --key KEYFILE [--format ...] [--out FILE]\n"
    "options: --pin-file FILE (or WALLETKEY_PIN; else asked without echo);\n"
    "  DATE is YYYY-MM-DD; T is load, purchase, unload, cash, limit,\n"
    "  transfer-out, transfer-in, payment, anon-payment, signature,\n"
    "  decryption, gm-signature (the card's) or deposit, online-payment,\n"
    "  settlement, reversal, account-load, account-credit, account-debit\n"
    "  (the bank's, origin issuer).\n";

/* ---- PIN (the purse PIN) ---- */


int
audit_cli_pin(const aopts *o, char *pin, size_t cap, size_t *len)
{
	return wk_cli_purse_pin(o->pin_file, "the audit log needs the purse PIN",
	    pin, cap, len);
}

/* ---- options ---- */

static bool
valid_date(const char *s)
{
	return s != NULL && strlen(s) == 10 && s[4] == '-' && s[7] == '-' &&
	    strspn(s, "0123456789-") == 10;
}

static const char *const type_names[] = { "load", "purchase", "unload",
    "cash", "limit", "transfer-out", "transfer-in", "payment",
    "payment-declined", "anon-payment",
    "signature", "decryption", "gm-signature", "deposit", "online-payment", "settlement",
    "reversal", "account-load", "account-credit", "account-debit", NULL };

static int
parse_opts(wk_cli *cli, int argc, char **argv, aopts *o)
{
	const wk_cli_slot slots[] = {
		{ "--since", &o->since },
		{ "--until", &o->until },
		{ "--type", &o->type },
		{ "--origin", &o->origin },
		{ "--format", &o->format },
		{ "--out", &o->out },
		{ "--recipient", &o->recipient },
		{ "--pin-file", &o->pin_file },
		{ "--key", &o->key },
		{ "--issuer", &o->issuer },
		{ NULL, NULL },
	};
	memset(o, 0, sizeof(*o));
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		int st;

		if ((st = wk_cli_slot_opt(cli, slots, argc, argv, &i)) >= 0) {
			if (st != WK_CLI_OK)
				return st;
		} else if (strcmp(a, "--card") == 0)
			o->card = true;
		else if (a[0] != '-' && o->file == NULL)
			o->file = a;
		else
			return wk_cli_usage(cli, "audit %s: unknown option %s",
			    argv[1], a);
	}
	if ((o->since != NULL && !valid_date(o->since)) ||
	    (o->until != NULL && !valid_date(o->until)))
		return wk_cli_usage(cli, "dates are YYYY-MM-DD");
	if (o->type != NULL) {
		size_t i;

		for (i = 0; type_names[i] != NULL; i++)
			if (strcmp(o->type, type_names[i]) == 0)
				break;
		if (type_names[i] == NULL)
			return wk_cli_usage(cli, "--type: unknown type '%s'",
			    o->type);
	}
	if (o->origin != NULL && strcmp(o->origin, "card") != 0 &&
	    strcmp(o->origin, "issuer") != 0)
		return wk_cli_usage(cli, "--origin is card or issuer");
	if (o->format != NULL && strcmp(o->format, "table") != 0 &&
	    strcmp(o->format, "csv") != 0 && strcmp(o->format, "json") != 0)
		return wk_cli_usage(cli, "--format is table, csv or json");
	return WK_CLI_OK;
}

static int
read_file(const char *path, char **out, size_t *len)
{
	FILE *f;
	char *buf = NULL, *nb;
	size_t cap = 0, n = 0, got;

	*out = NULL;
	if ((f = fopen(path, "rb")) == NULL)
		return WK_ERR_IO;
	do {
		if (n + 65536 + 1 > cap) {
			cap = cap == 0 ? 131072 : cap * 2;
			if (cap > FILE_MAX || (nb = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return WK_ERR_MEMORY;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, 65536, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return WK_OK;
}

/* a 32-byte X25519 key: 64 hex digits, given directly or in a file */
static int
parse_key32(const char *s, uint8_t key[32])
{
	char *text = NULL;
	size_t len;
	int rc = -1;

	if (strlen(s) == 64 && wk_hex_decode(s, key, 32) == 32)
		return 0;
	if (read_file(s, &text, &len) != WK_OK)
		return -1;
	text[strcspn(text, "\r\n")] = '\0';
	if (strlen(text) == 64 && wk_hex_decode(text, key, 32) == 32)
		rc = 0;
	sodium_memzero(text, len);
	free(text);
	return rc;
}

uint64_t
audit_cli_seq(const uint8_t *raw)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | raw[i];
	return v;
}

/* ---- reading the card ---- */

static char *
cert_pem(wk_card *card)
{
	uint8_t der[4096];
	size_t len = sizeof(der);
	const uint8_t *p = der;
	wk_piv *piv = NULL;
	X509 *x = NULL;
	BIO *bio = NULL;
	char *out = NULL, *mem;
	long n;

	if (wk_piv_open(card, &piv) != WK_OK ||
	    wk_piv_read_cert(piv, 0x82, der, &len) != WK_OK ||
	    (x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, x) != 1 ||
	    (n = BIO_get_mem_data(bio, &mem)) <= 0)
		goto out;
	if ((out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, mem, (size_t)n);
		out[n] = '\0';
	}
out:
	BIO_free(bio);
	X509_free(x);
	wk_piv_free(&piv);
	return out;
}

void
audit_cli_progress(uint64_t done, uint64_t total)
{
	int width = 30, fill;

	if (total == 0 || !isatty(STDERR_FILENO))
		return;
	fill = (int)((done * (uint64_t)width) / total);
	fprintf(stderr, "\rexport: [%.*s%*s] %" PRIu64 "/%" PRIu64 " records",
	    fill, "##############################", width - fill, "", done,
	    total);
	if (done >= total)
		fputc('\n', stderr);
}


/* a lost link (card restarted, pcscd restarted, card pulled) */
bool
audit_cli_link_lost(int rc)
{
	return rc == WK_ERR_CARD_REMOVED || rc == WK_ERR_TRANSPORT ||
	    rc == WK_ERR_NO_CARD || rc == WK_ERR_PCSC || rc == WK_ERR_NO_READER;
}

/* records per page: 255, or WALLETKEY_AUDIT_PAGE (1-255) for slow links */
unsigned
audit_cli_page_max(void)
{
	const char *e = getenv("WALLETKEY_AUDIT_PAGE");
	long v;

	if (e == NULL)
		return WK_AREC_PAGE_MAX;
	v = strtol(e, NULL, 10);
	return v >= 1 && v <= WK_AREC_PAGE_MAX ? (unsigned)v : WK_AREC_PAGE_MAX;
}

/* after a lost link: connect again (for up to RESUME_WAIT seconds), select
 * the applet and verify the PIN again; the export goes on from its cursor */
int
audit_cli_resume(wk_cli *cli, wk_card **card, const char *pin, size_t pin_len)
{
	struct timespec pause = { 0, 250 * 1000 * 1000 };
	time_t until = time(NULL) + RESUME_WAIT;
	int rc, tries = -1;

	for (;;) {
		wk_card_free(&cli->card);
		wk_ctx_free(&cli->ctx);
		*card = NULL;
		rc = wk_cli_card(cli, card);
		if (rc == WK_OK && (rc = wk_card_begin(*card)) == WK_OK) {
			if ((rc = wk_audit_select(*card)) == WK_OK)
				rc = wk_audit_verify_pin(*card, pin, pin_len,
				    &tries);
			if (rc == WK_OK)
				return WK_OK;
			wk_card_end(*card);
		}
		if (!audit_cli_link_lost(rc) || time(NULL) >= until)
			return rc;
		nanosleep(&pause, NULL);
	}
}

/*
 * the export: PIN, signed head, every page from the oldest kept record.
 * With sealed_pages the pages stay sealed (to recipient) and go there;
 * otherwise they are sealed to a fresh key of ours and opened into d.
 */
static int
fetch(wk_cli *cli, const aopts *o, const uint8_t *recipient, audit_doc *d,
    json_t *sealed_pages)
{
	uint8_t pk[32], sk[32], nonce[16];
	char pin[PIN_MAX + 2];
	size_t pin_len = 0, len;
	uint8_t *page = NULL;
	wk_card_info info;
	wk_audit_status st;
	wk_card *card = NULL;
	wk_buf pt;
	wk_arec_page pg;
	uint64_t cursor, next, start, done = 0, total;
	int rc, tries = -1;
	bool begun = false;
	const char *what = "audit export";
	unsigned max = audit_cli_page_max(), retries = 0;

	wk_buf_init_heap(&pt, PAGE_BUF);
	if ((rc = audit_cli_pin(o, pin, sizeof(pin), &pin_len)) != WK_OK)
		goto out;
	if ((page = malloc(PAGE_BUF)) == NULL) {
		rc = WK_ERR_MEMORY;
		goto out;
	}
	crypto_box_keypair(pk, sk);
	if (recipient == NULL)
		recipient = pk;
	if ((rc = wk_cli_card(cli, &card)) != WK_OK)
		goto out;
	if ((rc = wk_card_begin(card)) != WK_OK)
		goto out;
	begun = true;
	if ((rc = wk_card_get_info(card, &info)) != WK_OK)
		goto out;
	memcpy(d->serial, info.serial, 8);
	d->cert_pem = cert_pem(card);
	if ((rc = wk_audit_select(card)) != WK_OK ||
	    (rc = wk_audit_get_status(card, &st)) != WK_OK)
		goto out;
	rc = wk_audit_verify_pin(card, pin, pin_len, &tries);
	if (rc == WK_ERR_WRONG_PIN) {
		fprintf(stderr, "walletkey: wrong PIN, %d tries left\n", tries);
		goto out;
	}
	if (rc != WK_OK)
		goto out;
	randombytes_buf(nonce, sizeof(nonce));
	rc = wk_audit_get_head(card, nonce, &d->head);
	if (rc == WK_ERR_NOT_FOUND)
		fprintf(stderr, "walletkey: no wallet key in PIV slot 82: the "
		    "export is not signed (walletkey key generate --slot 82 "
		    "--alg eccp256)\n");
	else if (rc != WK_OK)
		goto out;
	d->have_head = rc == WK_OK;
	/* the head may have moved since the status: export up to the signed one */
	if (d->have_head)
		st.head_seq = d->head.head_seq;
	total = st.head_seq - st.base_seq;
	cursor = st.base_seq + 1;
	while (cursor <= st.head_seq) {
		/* the cursor alone says where to go on: the card keeps no
		 * export state, so an interrupted export resumes from here */
		start = cursor;
		next = start + (st.head_seq - start + 1 < max ?
		    st.head_seq - start + 1 : max);
		len = PAGE_BUF;
		rc = wk_audit_get_page(card, recipient, cursor, max, page, &len);
		if (rc == WK_OK && sealed_pages == NULL) {
			wk_buf_reset(&pt);
			if (wk_arec_open(pk, sk, d->serial, page, len, &pt) !=
			    WK_AREC_OK || wk_buf_failed(&pt) ||
			    wk_arec_page_parse(pt.p, pt.len, &pg) != WK_AREC_OK ||
			    pg.first_seq != start || pg.count == 0 ||
			    pg.count > max || pg.next_seq != start + pg.count)
				/* a page that does not move the cursor on would
				 * have the export ask for it for ever */
				rc = WK_ERR_CARD_MALFORMED;
		}
		/* a card killed inside an answer may also leave a broken one */
		if ((audit_cli_link_lost(rc) || rc == WK_ERR_CARD_MALFORMED) &&
		    retries++ < RESUME_TRIES) {
			/* the card keeps no export state: ask again from the cursor */
			begun = false;
			fprintf(stderr, "\nwalletkey: %s at seq %" PRIu64
			    "; resuming\n", rc == WK_ERR_CARD_MALFORMED ?
			    "the card's page was not valid" : "the card was lost",
			    cursor);
			if ((rc = audit_cli_resume(cli, &card, pin, pin_len)) != WK_OK)
				goto out;
			begun = true;
			continue;
		}
		if (rc != WK_OK)
			goto out;
		retries = 0;
		if (sealed_pages != NULL) {
			if (json_array_append_new(sealed_pages,
			    wk_cli_json_hex(page, len)) != 0) {
				rc = WK_ERR_MEMORY;
				goto out;
			}
		} else {
			next = pg.next_seq;
			for (unsigned i = 0; i < pg.count; i++)
				if (audit_doc_add(d, pg.records +
				    (size_t)i * WK_AREC_LEN) != 0) {
					rc = WK_ERR_MEMORY;
					goto out;
				}
		}
		done += next - cursor;
		cursor = next;
		if (!cli->json)
			audit_cli_progress(done, total);
	}
	rc = WK_OK;
out:
	if (begun)
		wk_card_end(card);
	if (rc != WK_OK && rc != WK_ERR_ARG && rc != WK_ERR_IO &&
	    rc != WK_ERR_WRONG_PIN)
		wk_cli_fail(cli, what, rc);
	sodium_memzero(pin, sizeof(pin));
	sodium_memzero(sk, sizeof(sk));
	wk_buf_clear(&pt);
	free(page);
	return rc;
}

/* ---- output ---- */

static bool *
filter(const audit_doc *d, const aopts *o)
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
static FILE *
open_out(const char *path)
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

static int
emit(wk_cli *cli, const aopts *o, const audit_doc *d, const char *format)
{
	bool *keep = filter(d, o);
	FILE *f;
	int status = WK_CLI_FAILED;

	(void)cli;
	if (keep == NULL)
		return WK_CLI_FAILED;
	if ((f = open_out(o->out)) == NULL) {
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

static int
cmd_export(wk_cli *cli, const aopts *o)
{
	uint8_t rcp[32];
	audit_doc d;
	json_t *pages = NULL, *bundle, *doc;
	FILE *f;
	int status = WK_CLI_FAILED;

	audit_doc_init(&d);
	if (o->recipient == NULL) {
		if (fetch(cli, o, NULL, &d, NULL) != WK_OK)
			goto out;
		status = emit(cli, o, &d, o->format != NULL ? o->format :
		    cli->json ? "json" : "table");
		goto out;
	}
	if (parse_key32(o->recipient, rcp) != 0) {
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
	    fetch(cli, o, rcp, &d, pages) != WK_OK)
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
	if ((f = open_out(o->out)) == NULL ||
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

static int
cmd_keygen(wk_cli *cli, const aopts *o)
{
	uint8_t pk[32], sk[32];
	char hex[65];
	FILE *f;
	int fd, status = WK_CLI_FAILED;

	if (o->out == NULL)
		return wk_cli_usage(cli, "audit keygen needs --out KEYFILE");
	crypto_box_keypair(pk, sk);
	if ((fd = open(o->out, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "walletkey: cannot create %s: %s\n", o->out,
		    strerror(errno));
		goto out;
	}
	wk_hex_encode(sk, 32, hex);
	fprintf(f, "%s\n", hex);
	wk_hex_encode(pk, 32, hex);
	fprintf(f, "%s\n", hex);
	if (fclose(f) != 0)
		goto out;
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:s,s:s}", "public_key",
		    hex, "key_file", o->out));
	else {
		printf("%s\n", hex);
		status = WK_CLI_OK;
	}
out:
	sodium_memzero(sk, sizeof(sk));
	return status;
}

static int
read_keyfile(const char *path, uint8_t sk[32], uint8_t pk[32])
{
	char *text = NULL, *second;
	size_t len;
	int rc = -1;

	if (read_file(path, &text, &len) != WK_OK)
		return -1;
	second = strchr(text, '\n');
	if (second != NULL && second - text == 64) {
		*second = '\0';
		second[1 + strcspn(second + 1, "\r\n")] = '\0';
		if (wk_hex_decode(text, sk, 32) == 32 &&
		    strlen(second + 1) == 64 &&
		    wk_hex_decode(second + 1, pk, 32) == 32)
			rc = 0;
	}
	sodium_memzero(text, len);
	free(text);
	return rc;
}

static int
cmd_open(wk_cli *cli, const aopts *o)
{
	uint8_t sk[32], pk[32];
	char *text = NULL, err[256];
	size_t len;
	audit_doc d;
	int status = WK_CLI_FAILED;

	audit_doc_init(&d);
	if (o->file == NULL || o->key == NULL)
		return wk_cli_usage(cli, "audit open BUNDLE --key KEYFILE");
	if (read_keyfile(o->key, sk, pk) != 0) {
		fprintf(stderr, "walletkey: %s is not an audit key file "
		    "(walletkey audit keygen)\n", o->key);
		goto out;
	}
	if (read_file(o->file, &text, &len) != WK_OK) {
		fprintf(stderr, "walletkey: cannot read %s\n", o->file);
		goto out;
	}
	if (audit_bundle_open(text, len, pk, sk, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey: %s: %s\n", o->file, err);
		goto out;
	}
	status = emit(cli, o, &d, o->format != NULL ? o->format : "json");
out:
	sodium_memzero(sk, sizeof(sk));
	free(text);
	audit_doc_free(&d);
	return status;
}

/* ---- verify ---- */

typedef struct vctx {
	wk_cli *cli;
	json_t *faults;
} vctx;

static void
report_fault(void *ctx, const char *msg)
{
	vctx *v = ctx;

	if (v->faults != NULL)
		json_array_append_new(v->faults, json_string(msg));
	if (!v->cli->json)
		printf("FAULT: %s\n", msg);
}

static int
cmd_verify(wk_cli *cli, const aopts *o)
{
	char *text = NULL, err[256];
	size_t len, faults, text_cap = 0;
	audit_doc d;
	vctx v = { cli, NULL };
	int status = WK_CLI_FAILED;

	audit_doc_init(&d);
	if ((o->file == NULL) == !o->card)
		return wk_cli_usage(cli, "audit verify FILE, or --card");
	if (o->card) {
		if (fetch(cli, o, NULL, &d, NULL) != WK_OK)
			goto out;
	} else {
		if (audit_text_read(o->file, FILE_MAX, &text, &len,
		    &text_cap) != 0) {
			fprintf(stderr, "walletkey: cannot read %s\n", o->file);
			goto out;
		}
		if (audit_doc_from_json(text, len, &d, err, sizeof(err)) != 0) {
			fprintf(stderr, "walletkey: %s: %s\n", o->file, err);
			goto out;
		}
	}
	if (cli->json)
		v.faults = json_array();
	faults = audit_doc_verify(&d, report_fault, &v);
	if (o->issuer != NULL && audit_verify_issuer(cli, o, &d, report_fault, &v,
	    &faults) != WK_OK)
		goto out;
	if (cli->json) {
		wk_cli_json_print(json_pack("{s:b, s:I, s:I, s:I, s:o}", "ok",
		    faults == 0, "records", (json_int_t)d.n, "checkpoint",
		    (json_int_t)d.head.base_seq, "head",
		    (json_int_t)d.head.head_seq, "faults", v.faults));
	} else if (faults == 0) {
		printf("OK: %zu records, seq %" PRIu64 "..%" PRIu64 " after "
		    "checkpoint %" PRIu64 ", chain intact, head signed by the "
		    "card's wallet key%s\n", d.n, d.head.base_seq + 1,
		    d.head.head_seq, d.head.base_seq, o->issuer != NULL ?
		    ", every record as the issuer holds it" : "");
	} else {
		printf("%zu fault%s found\n", faults, faults == 1 ? "" : "s");
	}
	status = faults == 0 ? WK_CLI_OK : WK_CLI_FAILED;
out:
	audit_text_free(text, text_cap);
	audit_doc_free(&d);
	return status;
}

/* ---- report ---- */

static int
cmd_report(wk_cli *cli, const aopts *o)
{
	audit_doc d;
	bool *keep = NULL;
	FILE *f = NULL;
	int status = WK_CLI_FAILED;

	audit_doc_init(&d);
	if (o->out == NULL)
		return wk_cli_usage(cli, "audit report needs --out FILE.html");
	if (fetch(cli, o, NULL, &d, NULL) != WK_OK)
		goto out;
	if ((keep = filter(&d, o)) == NULL)
		goto out;
	if ((f = open_out(o->out)) == NULL) {
		fprintf(stderr, "walletkey: cannot write %s: %s\n", o->out,
		    strerror(errno));
		goto out;
	}
	if (audit_report_html(f, &d, keep) != 0 || fclose(f) != 0) {
		f = NULL;
		fprintf(stderr, "walletkey: writing %s failed\n", o->out);
		goto out;
	}
	f = NULL;
	if (!cli->json)
		printf("report written to %s\n", o->out);
	status = WK_CLI_OK;
out:
	if (f != NULL)
		fclose(f);
	free(keep);
	audit_doc_free(&d);
	return status;
}

/* ---- status: counts only, no PIN, no record ---- */

static int
cmd_status(wk_cli *cli)
{
	wk_audit_status st;
	wk_audit_revocations rv;
	wk_card *card = NULL;
	int rc;
	bool full;

	if ((rc = wk_cli_card(cli, &card)) != WK_OK ||
	    (rc = wk_audit_select(card)) != WK_OK ||
	    (rc = wk_audit_get_status(card, &st)) != WK_OK ||
	    (rc = wk_audit_revocation_status(card, &rv)) != WK_OK)
		return wk_cli_fail(cli, "audit status", rc);
	full = st.count >= st.capacity && st.acked <= st.base_seq;
	if (cli->json)
		return wk_cli_json_print(json_pack("{s:I, s:I, s:I, s:I, s:I, s:b, "
		    "s:{s:I, s:I, s:i}}",
		    "capacity", (json_int_t)st.capacity, "records",
		    (json_int_t)st.count, "checkpoint", (json_int_t)st.base_seq,
		    "head", (json_int_t)st.head_seq, "acked",
		    (json_int_t)st.acked, "full", full, "revocation_list",
		    "version", (json_int_t)rv.version, "issued",
		    (json_int_t)rv.issued, "cards", (int)rv.count));
	printf("records:    %" PRIu32 " of %" PRIu32 "%s\n", st.count,
	    st.capacity, full ? " (full: transactions are refused until the "
	    "issuer acknowledges records)" : "");
	printf("checkpoint: seq %" PRIu64 "\nhead:       seq %" PRIu64 "\n"
	    "acked:      seq %" PRIu64 "\n", st.base_seq, st.head_seq, st.acked);
	if (rv.version == 0)
		printf("revocations: none received (audit sync brings them)\n");
	else {
		char when[32];
		time_t t = (time_t)rv.issued;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		printf("revocations: list version %" PRIu64 " of %s, %u card%s\n",
		    rv.version, when, (unsigned)rv.count, rv.count == 1 ? "" : "s");
	}
	return WK_CLI_OK;
}

int
wk_cmd_audit(wk_cli *cli, int argc, char **argv)
{
	aopts o;
	const char *sub;
	int status;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(audit_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? WK_CLI_USAGE : WK_CLI_OK;
	}
	sub = argv[1];
	if ((status = parse_opts(cli, argc, argv, &o)) != WK_CLI_OK)
		return status;
	if (strcmp(sub, "sync") == 0)
		return audit_sync(cli, &o);
	if (strcmp(sub, "status") == 0)
		return cmd_status(cli);
	if (strcmp(sub, "export") == 0)
		return cmd_export(cli, &o);
	if (strcmp(sub, "verify") == 0)
		return cmd_verify(cli, &o);
	if (strcmp(sub, "report") == 0)
		return cmd_report(cli, &o);
	if (strcmp(sub, "keygen") == 0)
		return cmd_keygen(cli, &o);
	if (strcmp(sub, "open") == 0)
		return cmd_open(cli, &o);
	return wk_cli_usage(cli, "unknown audit subcommand '%s' (status, "
	    "export, verify, report, keygen, open)", sub);
}
