/* an audit export written as JSON (walletkey-audit/1, docs/audit.md): the
 * jansson tree and the text written directly, one record a line */
#include "audit_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_hex.h"

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
	char t[32], s[48], g[48], a[32], b[32], term[32], tn[16];
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
	return json_pack("{s:I, s:i, s:s, s:s, s:i, s:s, s:s, s:I, s:s, s:s, "
	    "s:s, s:I, s:s, s:o, s:o, s:o}",
	    "seq", (json_int_t)r.seq, "counter", r.counter, "time", t,
	    "type", wk_arec_type_name(r.type, tn, sizeof(tn)), "type_code",
	    r.type, "origin", wk_arec_origin_name(r.type), "amount", a,
	    "amount_fen", (json_int_t)r.amount,
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

/*
 * the same document written directly (issue 17: building 10,000 records as
 * jansson objects and dumping them took most of an export's time): the
 * clear part through jansson, each record from its raw bytes. To a file
 * it streams through one 64 KiB buffer (a whole 6 MB document in memory
 * costs more in first touches of fresh pages than in writing it); in
 * memory it grows one buffer. Every string is ours (digits, hex, fixed
 * names); it is escaped all the same.
 */
#define JB_STREAM 65536
#define JB_RECORD_MAX 2048	/* a record written, escapes and all */

typedef struct jbuf {
	char *p;
	size_t len, cap;
	bool failed;
	FILE *f;		/* streaming: written out there when full */
} jbuf;

static void
jb_flush(jbuf *b)
{
	if (b->f == NULL || b->failed || b->len == 0)
		return;
	if (fwrite(b->p, 1, b->len, b->f) != b->len)
		b->failed = true;
	b->len = 0;
}

/* room for n more bytes and a NUL at b->p + b->len, or NULL */
static char *
jb_room(jbuf *b, size_t n)
{
	if (b->failed)
		return NULL;
	if (b->cap - b->len < n + 1 && b->f != NULL)
		jb_flush(b);
	if (!b->failed && b->cap - b->len < n + 1) {
		size_t nc = b->cap == 0 ? 65536 : b->cap;
		char *np;

		while (nc - b->len < n + 1)
			nc *= 2;
		if ((np = realloc(b->p, nc)) == NULL) {
			b->failed = true;
			return NULL;
		}
		b->p = np;
		b->cap = nc;
	}
	return b->failed ? NULL : b->p + b->len;
}

static void
jb_put(jbuf *b, const char *s, size_t n)
{
	char *w = jb_room(b, n);

	if (w == NULL)
		return;
	memcpy(w, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
jb_lit(jbuf *b, const char *s)
{
	jb_put(b, s, strlen(s));
}

/* the writers of one record, at a cursor with JB_RECORD_MAX bytes of room */
#define W_LIT(w, s) (memcpy((w), (s), sizeof(s) - 1), (w) += sizeof(s) - 1)

static char *
w_str(char *w, const char *s)
{
	static const char hexd[] = "0123456789abcdef";

	*w++ = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\') {
			*w++ = (char)c;
			continue;
		}
		W_LIT(w, "\\u00");
		*w++ = hexd[c >> 4];
		*w++ = hexd[c & 0x0F];
	}
	*w++ = '"';
	return w;
}

static char *
w_u64(char *w, uint64_t v)
{
	char t[24];
	size_t i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	memcpy(w, t + i, sizeof(t) - i);
	return w + (sizeof(t) - i);
}

/* lower-case hex, two digits a byte from one table */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

static char *
w_hex(char *w, const uint8_t *p, size_t n)
{
	*w++ = '"';
	for (size_t i = 0; i < n; i++, w += 2)
		memcpy(w, hex_pairs + 2 * p[i], 2);
	*w++ = '"';
	return w;
}

static int
record_write(jbuf *b, const uint8_t *raw)
{
	char t[32], src[48], dst[48], a[32], bal[32], term[32], tn[16];
	uint8_t h[WK_AREC_HASH_LEN];
	wk_arec r;
	char *w;

	if (wk_arec_decode(raw, WK_AREC_LEN, &r) != WK_AREC_OK)
		return -1;
	if ((w = jb_room(b, JB_RECORD_MAX)) == NULL)
		return 0;	/* b->failed says it */
	wk_arec_hash(raw, h);
	audit_fmt_time(&r, t, sizeof(t));
	audit_fmt_account(r.src, src, sizeof(src));
	audit_fmt_account(r.dst, dst, sizeof(dst));
	audit_fmt_amount(&r, true, a, sizeof(a));
	audit_fmt_fen(r.balance, false, bal, sizeof(bal));
	audit_fmt_terminal(&r, term, sizeof(term));
	W_LIT(w, "{\"seq\": ");
	w = w_u64(w, r.seq);
	W_LIT(w, ", \"counter\": ");
	w = w_u64(w, r.counter);
	W_LIT(w, ", \"time\": ");
	w = w_str(w, t);
	W_LIT(w, ", \"type\": ");
	w = w_str(w, wk_arec_type_name(r.type, tn, sizeof(tn)));
	W_LIT(w, ", \"type_code\": ");
	w = w_u64(w, r.type);
	W_LIT(w, ", \"origin\": ");
	w = w_str(w, wk_arec_origin_name(r.type));
	W_LIT(w, ", \"amount\": ");
	w = w_str(w, a);
	W_LIT(w, ", \"amount_fen\": ");
	w = w_u64(w, r.amount);
	W_LIT(w, ", \"source\": ");
	w = w_str(w, src);
	W_LIT(w, ", \"target\": ");
	w = w_str(w, dst);
	W_LIT(w, ", \"balance\": ");
	w = w_str(w, bal);
	W_LIT(w, ", \"balance_fen\": ");
	w = w_u64(w, r.balance);
	W_LIT(w, ", \"terminal\": ");
	w = w_str(w, term);
	W_LIT(w, ", \"prev\": ");
	w = w_hex(w, r.prev, 32);
	W_LIT(w, ", \"hash\": ");
	w = w_hex(w, h, 32);
	W_LIT(w, ", \"raw\": ");
	w = w_hex(w, raw, WK_AREC_LEN);
	*w++ = '}';
	*w = '\0';
	b->len = (size_t)(w - b->p);
	return 0;
}

/* the whole document into b (growing, or streaming to b->f) */
static int
json_emit(const audit_doc *d, const bool *keep, jbuf *b)
{
	audit_doc clear = *d;
	json_t *root = NULL;
	char *head = NULL;
	size_t hl, k = 0;
	bool filtered = d->filtered;
	int rc = -1;

	for (size_t i = 0; i < d->n && keep != NULL; i++)
		if (!keep[i])
			filtered = true;
	/* the clear part, "records": [] last, as audit_doc_to_json has it */
	clear.n = 0;
	clear.filtered = filtered;
	if ((root = audit_doc_to_json(&clear, NULL)) == NULL ||
	    (head = json_dumps(root, 0)) == NULL)
		goto out;
	hl = strlen(head);
	if (hl < 3 || strcmp(head + hl - 3, "[]}") != 0)
		goto out;
	jb_put(b, head, hl - 2);
	for (size_t i = 0; i < d->n; i++) {
		if (keep != NULL && !keep[i])
			continue;
		jb_lit(b, k++ == 0 ? "\n" : ",\n");
		if (record_write(b, d->raw + i * WK_AREC_LEN) != 0)
			goto out;
	}
	jb_lit(b, k > 0 ? "\n]}\n" : "]}\n");
	if (!b->failed)
		rc = 0;
out:
	json_decref(root);
	free(head);
	return rc;
}

char *
audit_doc_json_text(const audit_doc *d, const bool *keep)
{
	jbuf b = { 0 };

	/* one allocation of about the document's size (a record writes some
	 * 640 bytes): no copy on growth */
	if (d->n <= AUDIT_DOC_MAX_RECORDS) {
		b.cap = 4096 + JB_RECORD_MAX + d->n * 720;
		if ((b.p = malloc(b.cap)) == NULL)
			return NULL;
	}
	if (json_emit(d, keep, &b) != 0) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int
audit_doc_json_write(const audit_doc *d, const bool *keep, FILE *f)
{
	jbuf b = { .cap = JB_STREAM, .f = f };
	int rc;

	if (f == NULL || (b.p = malloc(b.cap)) == NULL)
		return -1;
	rc = json_emit(d, keep, &b);
	jb_flush(&b);
	free(b.p);
	return rc == 0 && !b.failed ? 0 : -1;
}
