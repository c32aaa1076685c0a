/* an audit export: JSON form and verification (audit_doc.h, docs/audit.md) */
#include "audit_doc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "wk_hex.h"

void
audit_doc_init(audit_doc *d)
{
	memset(d, 0, sizeof(*d));
}

void
audit_doc_free(audit_doc *d)
{
	if (d->field_fault != NULL)
		for (size_t i = 0; i < d->n; i++)
			free(d->field_fault[i]);
	free(d->field_fault);
	free(d->raw);
	free(d->cert_pem);
	audit_doc_init(d);
}

int
audit_doc_add(audit_doc *d, const uint8_t raw[WK_AREC_LEN])
{
	if (d->n == d->cap) {
		size_t nc = d->cap == 0 ? 256 : d->cap * 2;
		uint8_t *np;
		char **nf;

		if (nc > AUDIT_DOC_MAX_RECORDS)
			return -1;
		if ((np = realloc(d->raw, nc * WK_AREC_LEN)) == NULL)
			return -1;
		d->raw = np;
		if ((nf = realloc(d->field_fault, nc * sizeof(*nf))) == NULL)
			return -1;
		d->field_fault = nf;
		d->cap = nc;
	}
	memcpy(d->raw + d->n * WK_AREC_LEN, raw, WK_AREC_LEN);
	d->field_fault[d->n] = NULL;
	d->n++;
	return 0;
}

/* ---- display ---- */

static void
bcd(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0F];
	}
	out[2 * n] = '\0';
}

void
audit_fmt_time(const wk_arec *r, char *out, size_t cap)
{
	char d[9], t[7];

	bcd(d, r->date, 4);
	bcd(t, r->time, 3);
	snprintf(out, cap, "%.4s-%.2s-%.2s %.2s:%.2s:%.2s", d, d + 4, d + 6, t,
	    t + 2, t + 4);
}

void
audit_fmt_account(const uint8_t acct[WK_AREC_ACCT_LEN], char *out, size_t cap)
{
	char id[21];

	switch (acct[0]) {
	case WK_AREC_ACCT_ED:
	case WK_AREC_ACCT_EP:
		bcd(id, acct + 1, 10);
		snprintf(out, cap, "%s %s", acct[0] == WK_AREC_ACCT_ED ? "ED" :
		    "EP", id);
		break;
	case WK_AREC_ACCT_TERMINAL:
		bcd(id, acct + 1, 6);
		snprintf(out, cap, "terminal %s", id);
		break;
	case WK_AREC_ACCT_BANK:
		bcd(id, acct + 1, 6);
		snprintf(out, cap, "bank via %s", id);
		break;
	case WK_AREC_ACCT_CARD:
		snprintf(out, cap, "card %02x%02x%02x%02x%02x%02x%02x%02x",
		    acct[1], acct[2], acct[3], acct[4], acct[5], acct[6],
		    acct[7], acct[8]);
		break;
	case WK_AREC_ACCT_ACCOUNT: {
		size_t n;

		bcd(id, acct + 1, 10);
		n = strcspn(id, "fF");
		id[n] = '\0';
		snprintf(out, cap, "account %s", id);
		break;
	}
	case WK_AREC_ACCT_NONE:
		snprintf(out, cap, "-");
		break;
	default:
		bcd(id, acct + 1, 10);
		snprintf(out, cap, "account %u:%s", acct[0], id);
		break;
	}
}

void
audit_fmt_terminal(const wk_arec *r, char *out, size_t cap)
{
	char id[13];

	bcd(id, r->term_id, 6);
	snprintf(out, cap, "%s", id);
}

bool
audit_outgoing(const wk_arec *r)
{
	return r->type == WK_AREC_UNLOAD || r->type == WK_AREC_CASH ||
	    r->type == WK_AREC_ED_PURCHASE || r->type == WK_AREC_EP_PURCHASE ||
	    r->type == WK_AREC_TRANSFER_OUT || r->type == WK_AREC_PAYMENT ||
	    r->type == WK_AREC_ANON_PAYMENT;
}

void
audit_fmt_amount(const wk_arec *r, bool signed_, char *out, size_t cap)
{
	char a[24];

	wk_purse_amount_format(r->amount, a, sizeof(a));
	snprintf(out, cap, "%s%s", signed_ && audit_outgoing(r) ? "-" : "", a);
}

/* ---- JSON ---- */

static json_t *
hexstr(const uint8_t *p, size_t n)
{
	char buf[2 * 256 + 1];

	if (n > 256)
		return NULL;
	wk_hex_encode(p, n, buf);
	return json_string(buf);
}

static json_t *
record_json(const uint8_t *raw)
{
	char t[32], s[48], g[48], a[32], b[32], term[16], tn[16];
	wk_arec r;
	uint8_t h[WK_AREC_HASH_LEN];

	if (wk_arec_decode(raw, WK_AREC_LEN, &r) != WK_AREC_OK)
		return NULL;
	wk_arec_hash(raw, h);
	audit_fmt_time(&r, t, sizeof(t));
	audit_fmt_account(r.src, s, sizeof(s));
	audit_fmt_account(r.dst, g, sizeof(g));
	audit_fmt_amount(&r, true, a, sizeof(a));
	wk_purse_amount_format(r.balance, b, sizeof(b));
	audit_fmt_terminal(&r, term, sizeof(term));
	return json_pack("{s:I, s:i, s:s, s:s, s:i, s:s, s:I, s:s, s:s, s:s, "
	    "s:I, s:s, s:o, s:o, s:o}",
	    "seq", (json_int_t)r.seq, "counter", r.counter, "time", t,
	    "type", wk_arec_type_name(r.type, tn, sizeof(tn)), "type_code",
	    r.type, "amount", a, "amount_fen", (json_int_t)r.amount,
	    "source", s, "target", g, "balance", b,
	    "balance_fen", (json_int_t)r.balance, "terminal", term,
	    "prev", hexstr(r.prev, 32), "hash", hexstr(h, 32),
	    "raw", hexstr(raw, WK_AREC_LEN));
}

json_t *
audit_doc_to_json(const audit_doc *d, const bool *keep)
{
	json_t *root, *recs, *head = NULL;
	bool filtered = d->filtered;

	if ((recs = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < d->n; i++) {
		if (keep != NULL && !keep[i]) {
			filtered = true;
			continue;
		}
		if (json_array_append_new(recs, record_json(d->raw +
		    i * WK_AREC_LEN)) != 0) {
			json_decref(recs);
			return NULL;
		}
	}
	if (d->have_head)
		head = json_pack("{s:I, s:o, s:I, s:o, s:o, s:o}",
		    "checkpoint_seq", (json_int_t)d->head.base_seq,
		    "checkpoint_hash", hexstr(d->head.base_hash, 32),
		    "seq", (json_int_t)d->head.head_seq,
		    "hash", hexstr(d->head.head_hash, 32),
		    "nonce", hexstr(d->head.nonce, 16),
		    "signature", hexstr(d->head.sig, d->head.sig_len));
	root = json_pack("{s:s, s:o, s:b, s:o, s:o, s:o}",
	    "format", "walletkey-audit/1", "serial", hexstr(d->serial, 8),
	    "filtered", filtered, "head", head != NULL ? head : json_null(),
	    "certificate", d->cert_pem != NULL ? json_string(d->cert_pem) :
	    json_null(), "records", recs);
	return root;
}

static int
fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
get_hex(json_t *o, const char *name, uint8_t *out, size_t n, size_t *got)
{
	const char *s = json_string_value(json_object_get(o, name));
	long r;

	if (s == NULL || strlen(s) > 2 * n)
		return -1;
	if ((r = wk_hex_decode(s, out, n)) < 0 || (got == NULL && (size_t)r != n))
		return -1;
	if (got != NULL)
		*got = (size_t)r;
	return 0;
}

static int
get_u64(json_t *o, const char *name, uint64_t *v)
{
	json_t *j = json_object_get(o, name);

	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -1;
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

/* the shown fields must say what the raw bytes say */
static char *
shown_differs(json_t *jr, const uint8_t *raw)
{
	char buf[64], tn[16];
	wk_arec r;
	uint64_t v;
	const char *s;

	if (wk_arec_decode(raw, WK_AREC_LEN, &r) != WK_AREC_OK)
		return strdup("raw");
	if (get_u64(jr, "seq", &v) == 0 && v != r.seq)
		return strdup("seq");
	if (get_u64(jr, "amount_fen", &v) == 0 && v != r.amount)
		return strdup("amount");
	if (get_u64(jr, "balance_fen", &v) == 0 && v != r.balance)
		return strdup("balance");
	if (get_u64(jr, "type_code", &v) == 0 && v != r.type)
		return strdup("type");
	if ((s = json_string_value(json_object_get(jr, "type"))) != NULL &&
	    strcmp(s, wk_arec_type_name(r.type, tn, sizeof(tn))) != 0)
		return strdup("type");
	audit_fmt_time(&r, buf, sizeof(buf));
	if ((s = json_string_value(json_object_get(jr, "time"))) != NULL &&
	    strcmp(s, buf) != 0)
		return strdup("time");
	audit_fmt_account(r.src, buf, sizeof(buf));
	if ((s = json_string_value(json_object_get(jr, "source"))) != NULL &&
	    strcmp(s, buf) != 0)
		return strdup("source");
	audit_fmt_account(r.dst, buf, sizeof(buf));
	if ((s = json_string_value(json_object_get(jr, "target"))) != NULL &&
	    strcmp(s, buf) != 0)
		return strdup("target");
	return NULL;
}

int
audit_doc_from_json(const char *text, size_t len, audit_doc *d, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *root, *recs, *head, *jr, *cert;
	const char *fmt;
	uint8_t raw[WK_AREC_LEN];
	size_t i;
	int rc = -1;

	audit_doc_init(d);
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return fail(err, errlen, "not JSON: %s (line %d)", je.text,
		    je.line);
	if ((fmt = json_string_value(json_object_get(root, "format"))) == NULL ||
	    strcmp(fmt, "walletkey-audit/1") != 0) {
		fail(err, errlen, "not a walletkey-audit/1 document");
		goto out;
	}
	if (get_hex(root, "serial", d->serial, 8, NULL) != 0) {
		fail(err, errlen, "\"serial\" must be 16 hex digits");
		goto out;
	}
	d->filtered = json_is_true(json_object_get(root, "filtered"));
	cert = json_object_get(root, "certificate");
	if (json_is_string(cert) && (d->cert_pem =
	    strdup(json_string_value(cert))) == NULL)
		goto out;
	head = json_object_get(root, "head");
	if (json_is_object(head)) {
		if (get_u64(head, "checkpoint_seq", &d->head.base_seq) != 0 ||
		    get_hex(head, "checkpoint_hash", d->head.base_hash, 32,
		    NULL) != 0 ||
		    get_u64(head, "seq", &d->head.head_seq) != 0 ||
		    get_hex(head, "hash", d->head.head_hash, 32, NULL) != 0 ||
		    get_hex(head, "nonce", d->head.nonce, 16, NULL) != 0 ||
		    get_hex(head, "signature", d->head.sig, sizeof(d->head.sig),
		    &d->head.sig_len) != 0) {
			fail(err, errlen, "\"head\" is malformed");
			goto out;
		}
		d->have_head = true;
	}
	if (!json_is_array(recs = json_object_get(root, "records"))) {
		fail(err, errlen, "\"records\" must be an array");
		goto out;
	}
	json_array_foreach(recs, i, jr) {
		if (get_hex(jr, "raw", raw, sizeof(raw), NULL) != 0) {
			fail(err, errlen, "record %zu: \"raw\" must be %d hex "
			    "bytes", i + 1, WK_AREC_LEN);
			goto out;
		}
		if (audit_doc_add(d, raw) != 0) {
			fail(err, errlen, "too many records");
			goto out;
		}
		d->field_fault[d->n - 1] = shown_differs(jr, raw);
	}
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		audit_doc_free(d);
	return rc;
}

/* ---- verification ---- */

typedef struct reporter {
	audit_report_fn fn;
	void *ctx;
	size_t faults;
} reporter;

static void
say(reporter *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(reporter *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->faults++;
	if (r->fn != NULL)
		r->fn(r->ctx, msg);
}

static bool
has_seq(const wk_arec *recs, size_t n, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < n; i++)
		if (recs[i].seq > lo && recs[i].seq < hi)
			return true;
	return false;
}

static void
check_signature(const audit_doc *d, reporter *rep)
{
	uint8_t tbs[WK_AREC_HEAD_TBS_LEN];
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk;
	EVP_MD_CTX *md = NULL;
	char group[32];
	size_t glen = 0;

	if (d->cert_pem == NULL) {
		say(rep, "no wallet certificate: the card's signature cannot be "
		    "checked");
		return;
	}
	if ((bio = BIO_new_mem_buf(d->cert_pem, -1)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
	    (pk = X509_get0_pubkey(x)) == NULL) {
		say(rep, "the wallet certificate does not parse");
		goto out;
	}
	if (EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof(group),
	    &glen) != 1 || strcmp(group, "prime256v1") != 0) {
		say(rep, "the wallet certificate's key is not P-256");
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0 ||
	    X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		say(rep, "the wallet certificate is not valid now");
	wk_arec_head_tbs(d->serial, d->head.base_seq, d->head.base_hash,
	    d->head.head_seq, d->head.head_hash, d->head.nonce, tbs);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pk,
	    NULL) != 1 ||
	    EVP_DigestVerify(md, d->head.sig, d->head.sig_len, tbs,
	    sizeof(tbs)) != 1)
		say(rep, "the card's signature over the chain head does not "
		    "verify with the wallet certificate");
out:
	EVP_MD_CTX_free(md);
	X509_free(x);
	BIO_free(bio);
}

size_t
audit_doc_verify(const audit_doc *d, audit_report_fn fn, void *ctx)
{
	reporter rep = { fn, ctx, 0 };
	uint8_t h[WK_AREC_HASH_LEN];
	wk_arec *recs = NULL;
	size_t i;
	bool head_seen = false;

	if (d->n > 0 && (recs = calloc(d->n, sizeof(*recs))) == NULL) {
		say(&rep, "out of memory");
		return rep.faults;
	}
	for (i = 0; i < d->n; i++) {
		if (wk_arec_decode(d->raw + i * WK_AREC_LEN, WK_AREC_LEN,
		    &recs[i]) != WK_AREC_OK)
			say(&rep, "record %zu does not decode", i + 1);
		if (d->field_fault != NULL && d->field_fault[i] != NULL)
			say(&rep, "record seq %" PRIu64 ": the shown %s differs "
			    "from the record's signed bytes", recs[i].seq,
			    d->field_fault[i]);
	}
	if (!d->have_head)
		say(&rep, "no signed chain head in the export");
	if (d->filtered)
		say(&rep, "the export is filtered (--since/--until/--type): "
		    "the chain cannot be checked across the records left out");
	/* the first record links to the checkpoint */
	if (d->n > 0 && d->have_head && !d->filtered) {
		if (recs[0].seq == d->head.base_seq + 1) {
			if (memcmp(recs[0].prev, d->head.base_hash, 32) != 0)
				say(&rep, "record seq %" PRIu64 " does not link to "
				    "the checkpoint (seq %" PRIu64 ")", recs[0].seq,
				    d->head.base_seq);
		} else if (recs[0].seq > d->head.base_seq + 1 &&
		    !has_seq(recs, d->n, d->head.base_seq, recs[0].seq)) {
			say(&rep, "records seq %" PRIu64 "..%" PRIu64 " missing "
			    "(after the checkpoint)", d->head.base_seq + 1,
			    recs[0].seq - 1);
		}
	}
	for (i = 0; i + 1 < d->n; i++) {
		const wk_arec *a = &recs[i], *b = &recs[i + 1];

		if (b->seq == a->seq + 1) {
			wk_arec_hash(d->raw + i * WK_AREC_LEN, h);
			if (memcmp(h, b->prev, 32) != 0)
				say(&rep, "record seq %" PRIu64 " was altered: its "
				    "hash is not the one record seq %" PRIu64
				    " links to", a->seq, b->seq);
		} else if (b->seq <= a->seq ||
		    has_seq(recs, d->n, a->seq, b->seq)) {
			say(&rep, "records out of order: seq %" PRIu64 " comes "
			    "after seq %" PRIu64, b->seq, a->seq);
		} else if (!d->filtered) {
			if (b->seq == a->seq + 2)
				say(&rep, "record seq %" PRIu64 " missing",
				    a->seq + 1);
			else
				say(&rep, "records seq %" PRIu64 "..%" PRIu64
				    " missing", a->seq + 1, b->seq - 1);
		}
	}
	/* the signed head is one of the records */
	if (d->have_head) {
		for (i = 0; i < d->n; i++) {
			if (recs[i].seq != d->head.head_seq)
				continue;
			head_seen = true;
			wk_arec_hash(d->raw + i * WK_AREC_LEN, h);
			if (memcmp(h, d->head.head_hash, 32) != 0)
				say(&rep, "record seq %" PRIu64 " was altered: it "
				    "is not the chain head the card signed",
				    recs[i].seq);
		}
		if (!head_seen && d->head.head_seq > d->head.base_seq &&
		    !d->filtered)
			say(&rep, "the signed chain head (seq %" PRIu64 ") is "
			    "not in the export: records missing at the end",
			    d->head.head_seq);
		check_signature(d, &rep);
	}
	free(recs);
	return rep.faults;
}

/* ---- open a sealed bundle (the auditor's side) ---- */

int
audit_bundle_open(const char *text, size_t len, const uint8_t pk[32],
    const uint8_t sk[32], audit_doc *d, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *pages, *jp, *doc;
	const char *fmt, *hex;
	uint8_t *sealed = NULL;
	wk_buf pt;
	wk_arec_page pg;
	size_t i, hl;
	long n;
	int rc = -1;
	char *txt = NULL;

	audit_doc_init(d);
	wk_buf_init_heap(&pt, AUDIT_PAGE_BUF);
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		snprintf(err, errlen, "not JSON: %s", je.text);
		goto out;
	}
	fmt = json_string_value(json_object_get(root, "format"));
	pages = json_object_get(root, "pages");
	if (fmt == NULL || strcmp(fmt, "walletkey-audit-sealed/1") != 0 ||
	    !json_is_array(pages)) {
		snprintf(err, errlen, "not a walletkey-audit-sealed/1 bundle");
		goto out;
	}
	/* the clear part has the walletkey-audit/1 shape without records */
	if ((doc = json_pack("{s:s, s:O, s:O, s:O, s:[]}", "format",
	    "walletkey-audit/1", "serial", json_object_get(root, "serial"),
	    "head", json_object_get(root, "head"), "certificate",
	    json_object_get(root, "certificate"), "records")) == NULL ||
	    (txt = json_dumps(doc, 0)) == NULL) {
		json_decref(doc);
		snprintf(err, errlen, "malformed bundle");
		goto out;
	}
	json_decref(doc);
	if (audit_doc_from_json(txt, strlen(txt), d, err, errlen) != 0)
		goto out;
	if ((sealed = malloc(AUDIT_PAGE_BUF)) == NULL)
		goto out;
	json_array_foreach(pages, i, jp) {
		if ((hex = json_string_value(jp)) == NULL ||
		    (hl = strlen(hex)) > 2 * AUDIT_PAGE_BUF ||
		    (n = wk_hex_decode(hex, sealed, AUDIT_PAGE_BUF)) < 0) {
			snprintf(err, errlen, "page %zu is not hex", i + 1);
			goto fail;
		}
		wk_buf_reset(&pt);
		if (wk_arec_open(pk, sk, d->serial, sealed, (size_t)n, &pt) !=
		    WK_AREC_OK || wk_buf_failed(&pt)) {
			snprintf(err, errlen, "page %zu does not open with this "
			    "key (not sealed to it, or altered)", i + 1);
			goto fail;
		}
		if (wk_arec_page_parse(pt.p, pt.len, &pg) != WK_AREC_OK) {
			snprintf(err, errlen, "page %zu is malformed", i + 1);
			goto fail;
		}
		for (unsigned k = 0; k < pg.count; k++)
			if (audit_doc_add(d, pg.records + (size_t)k *
			    WK_AREC_LEN) != 0)
				goto fail;
	}
	rc = 0;
	goto out;
fail:
	audit_doc_free(d);
out:
	free(txt);
	free(sealed);
	wk_buf_clear(&pt);
	json_decref(root);
	return rc;
}

