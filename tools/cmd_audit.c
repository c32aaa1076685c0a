/*
 * walletkey audit: the card's audit log (docs/audit.md). Here the options,
 * reading the card (its pages, resumed after a lost link), status and the
 * dispatch; export and its output formats are cmd_audit_out.c, what an
 * auditor runs (verify, report, keygen, open) cmd_audit_verify.c, the sync
 * with the issuer audit_sync.c, all over audit_cli.h.
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

#define RESUME_WAIT 30	/* seconds to wait for a lost card */

int wk_cmd_audit(wk_cli *cli, int argc, char **argv);

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
		{ "--out", &o->out },
		{ "--recipient", &o->recipient },
		{ "--pin-file", &o->pin_file },
		{ "--key", &o->key },
		{ "--issuer", &o->issuer },
		{ NULL, NULL },
	};
	static const char *const origins[] = { "card", "issuer", NULL };
	static const char *const formats[] = { "table", "csv", "json", NULL };
	const wk_cli_choice choices[] = {
		{ "--origin", &o->origin, origins },
		{ "--format", &o->format, formats },
		{ NULL, NULL, NULL },
	};
	const wk_cli_flag flags[] = {
		{ "--card", &o->card, NULL, 0 },
		{ NULL, NULL, NULL, 0 },
	};
	const wk_cli_opts opts = { .group = "audit", .slots = slots,
	    .flags = flags, .choices = choices, .arg = &o->file };
	int st;

	memset(o, 0, sizeof(*o));
	if ((st = wk_cli_parse_opts(cli, &opts, argc, argv)) != WK_CLI_OK)
		return st;
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
	return WK_CLI_OK;
}

int
audit_cli_read_file(const char *path, char **out, size_t *len)
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
int
audit_cli_parse_key32(const char *s, uint8_t key[32])
{
	char *text = NULL;
	size_t len;
	int rc = -1;

	if (strlen(s) == 64 && wk_hex_decode(s, key, 32) == 32)
		return 0;
	if (audit_cli_read_file(s, &text, &len) != WK_OK)
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
int
audit_cli_fetch(wk_cli *cli, const aopts *o, const uint8_t *recipient, audit_doc *d,
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

	if ((status = wk_cli_group_usage(argc, argv, audit_usage, false)) >= 0)
		return status;
	sub = argv[1];
	if ((status = parse_opts(cli, argc, argv, &o)) != WK_CLI_OK)
		return status;
	if (strcmp(sub, "sync") == 0)
		return audit_sync(cli, &o);
	if (strcmp(sub, "status") == 0)
		return cmd_status(cli);
	if (strcmp(sub, "export") == 0)
		return audit_cmd_export(cli, &o);
	if (strcmp(sub, "verify") == 0)
		return audit_cmd_verify(cli, &o);
	if (strcmp(sub, "report") == 0)
		return audit_cmd_report(cli, &o);
	if (strcmp(sub, "keygen") == 0)
		return audit_cmd_keygen(cli, &o);
	if (strcmp(sub, "open") == 0)
		return audit_cmd_open(cli, &o);
	return wk_cli_usage(cli, "unknown audit subcommand '%s' (status, "
	    "export, verify, report, keygen, open)", sub);
}
