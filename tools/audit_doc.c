/* an audit export: JSON form and verification (audit_doc.h, docs/audit.md) */
#include "audit_doc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* "YYYY-MM-DD hh:mm:ss" from the BCD date and time (no snprintf: an
 * export formats 10,000 of these, issue 17) */
void
audit_fmt_time(const wk_arec *r, char *out, size_t cap)
{
	char d[9], t[7], f[20];

	bcd(d, r->date, 4);
	bcd(t, r->time, 3);
	memcpy(f, d, 4);
	f[4] = '-';
	memcpy(f + 5, d + 4, 2);
	f[7] = '-';
	memcpy(f + 8, d + 6, 2);
	f[10] = ' ';
	memcpy(f + 11, t, 2);
	f[13] = ':';
	memcpy(f + 14, t + 2, 2);
	f[16] = ':';
	memcpy(f + 17, t + 4, 2);
	f[19] = '\0';
	if (cap == 0)
		return;
	if (cap > sizeof(f))
		cap = sizeof(f);
	memcpy(out, f, cap - 1);
	out[cap - 1] = '\0';
}

/* prefix and BCD digits, as snprintf("%s%s") would write them */
static void
fmt_prefixed(char *out, size_t cap, const char *prefix, size_t plen,
    const uint8_t *bcd_bytes, size_t n)
{
	char f[64];

	if (cap == 0)
		return;
	memcpy(f, prefix, plen);
	bcd(f + plen, bcd_bytes, n);
	if (plen + 2 * n + 1 < cap)
		cap = plen + 2 * n + 1;
	memcpy(out, f, cap - 1);
	out[cap - 1] = '\0';
}

void
audit_fmt_account(const uint8_t acct[WK_AREC_ACCT_LEN], char *out, size_t cap)
{
	char id[21];

	switch (acct[0]) {
	case WK_AREC_ACCT_ED:
	case WK_AREC_ACCT_EP:
		fmt_prefixed(out, cap, acct[0] == WK_AREC_ACCT_ED ? "ED " :
		    "EP ", 3, acct + 1, 10);
		break;
	case WK_AREC_ACCT_TERMINAL:
		fmt_prefixed(out, cap, "terminal ", 9, acct + 1, 6);
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
	case WK_AREC_ACCT_ANON:
		/* a pseudonymous account: SHA-256 of its number, first 10 bytes */
		snprintf(out, cap, "anon %02x%02x%02x%02x%02x%02x%02x%02x%02x%02x",
		    acct[1], acct[2], acct[3], acct[4], acct[5], acct[6], acct[7],
		    acct[8], acct[9], acct[10]);
		break;
	case WK_AREC_ACCT_ACCOUNT:
		bcd(id, acct + 1, 10);
		/* the PAN, right-aligned in 20 digits */
		{
			const char *p = id;

			while (*p == '0' && p[1] != '\0')
				p++;
			snprintf(out, cap, "account %s", p);
		}
		break;
	case WK_AREC_ACCT_OUTSIDE:
		snprintf(out, cap, "outside the bank");
		break;
	case WK_AREC_ACCT_PIV:
		snprintf(out, cap, "PIV %02x (alg %02x, %s)", acct[1], acct[2],
		    acct[3] == 0x85 ? "key agreement" : "private key");
		break;
	case WK_AREC_ACCT_DIGEST:
		fmt_prefixed(out, cap, "sha256 ", 7, acct + 1, 10);
		break;
	case WK_AREC_ACCT_GM:
		/* application and container numbers, the key, what was given,
		 * SHA-256(application || 00 || container), first 6 bytes */
		snprintf(out, cap, "GM %u/%u %s %s %02x%02x%02x%02x%02x%02x",
		    acct[1], acct[2], acct[3] == 1 ? "sign" : "enc",
		    acct[4] == 1 ? "message" : "digest",
		    acct[5], acct[6], acct[7], acct[8], acct[9], acct[10]);
		break;
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
	/* the bank's records carry its event number there */
	if (wk_arec_is_issuer(r->type)) {
		snprintf(out, cap, "bank #%llu",
		    (unsigned long long)wk_arec_iss_event(r));
		return;
	}
	fmt_prefixed(out, cap, "", 0, r->term_id, 6);
}

bool
audit_outgoing(const wk_arec *r)
{
	return wk_arec_outgoing(r->type);
}

/* "[-]yuan.ff" as wk_purse_amount_format writes it, without snprintf */
static void
fmt_fen(uint32_t fen, bool minus, char *out, size_t cap)
{
	char a[24];
	size_t i = sizeof(a), n;
	uint32_t v = fen / 100;

	a[--i] = (char)('0' + fen % 10);
	a[--i] = (char)('0' + fen / 10 % 10);
	a[--i] = '.';
	do {
		a[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	if (minus)
		a[--i] = '-';
	if (cap == 0)
		return;
	n = sizeof(a) - i;
	if (n > cap - 1)
		n = cap - 1;
	memcpy(out, a + i, n);
	out[n] = '\0';
}

void
audit_fmt_amount(const wk_arec *r, bool signed_, char *out, size_t cap)
{
	fmt_fen(r->amount, signed_ && audit_outgoing(r), out, cap);
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
	fmt_fen(r.balance, false, bal, sizeof(bal));
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

/*
 * reading a document (issue 17: jansson's tree of 10,000 records took most
 * of the time of reading one back). A strict scanner of RFC 8259 JSON walks
 * the text once: UTF-8 checked, escapes decoded, no NUL, duplicate keys in
 * any object refused, nesting bounded, nothing after the value, as
 * json_loadb(JSON_REJECT_DUPLICATES) refuses. The records are read field by
 * field from the text; the other members of the document (small) are
 * handed to jansson one by one.
 */
#define JS_DEPTH 64
#define JS_KEY_MAX 256

typedef struct js {
	const char *s;
	size_t n, i;
	int depth;
	const char *why;	/* the first error */
} js;

static int
js_fail(js *j, const char *why)
{
	if (j->why == NULL)
		j->why = why;
	return -1;
}

static void
js_ws(js *j)
{
	while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' ||
	    j->s[j->i] == '\n' || j->s[j->i] == '\r'))
		j->i++;
}

static int
js_hex4(js *j, unsigned *v)
{
	*v = 0;
	if (j->n - j->i < 4)
		return js_fail(j, "short \\u escape");
	for (int k = 0; k < 4; k++) {
		char c = j->s[j->i++];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return js_fail(j, "bad \\u escape");
	}
	return 0;
}

/* the length of one valid UTF-8 sequence at p (n bytes left), 0 if none */
static size_t
js_utf8(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	unsigned v;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, v = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, v = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, v = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (p[k] & 0x3F);
	}
	if ((len == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
	    (len == 4 && (v < 0x10000 || v > 0x10FFFF)))
		return 0;
	return len;
}

static void
js_put(char *out, size_t cap, size_t *len, const char *p, size_t n)
{
	if (out != NULL && *len < cap && cap - *len >= n)
		memcpy(out + *len, p, n);
	*len += n;
}

/* the bytes a string's run goes on over: printable ASCII but '"' and
 * '\\' (everything else stops it: the end, an escape, a control
 * character, UTF-8 to check) */
static const uint8_t js_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* a string at j->i: decoded into out (cap bytes, NUL-terminated when it
 * fits: *len says its length either way); out NULL: checked only */
static int
js_string(js *j, char *out, size_t cap, size_t *len)
{
	size_t l = 0;

	if (j->i >= j->n || j->s[j->i] != '"')
		return js_fail(j, "string expected");
	j->i++;
	for (;;) {
		unsigned char c;
		size_t run = j->i, u;

		while (j->i < j->n && js_plain[(unsigned char)j->s[j->i]])
			j->i++;
		js_put(out, cap, &l, j->s + run, j->i - run);
		if (j->i >= j->n)
			return js_fail(j, "unterminated string");
		c = (unsigned char)j->s[j->i];
		if (c == '"') {
			j->i++;
			break;
		}
		if (c < 0x20)
			return js_fail(j, "control character in a string");
		if (c >= 0x80) {
			if ((u = js_utf8((const unsigned char *)j->s + j->i,
			    j->n - j->i)) == 0)
				return js_fail(j, "invalid UTF-8");
			js_put(out, cap, &l, j->s + j->i, u);
			j->i += u;
			continue;
		}
		/* an escape */
		if (++j->i >= j->n)
			return js_fail(j, "unterminated string");
		c = (unsigned char)j->s[j->i++];
		switch (c) {
		case '"': case '\\': case '/':
			js_put(out, cap, &l, (const char *)&c, 1);
			break;
		case 'b': js_put(out, cap, &l, "\b", 1); break;
		case 'f': js_put(out, cap, &l, "\f", 1); break;
		case 'n': js_put(out, cap, &l, "\n", 1); break;
		case 'r': js_put(out, cap, &l, "\r", 1); break;
		case 't': js_put(out, cap, &l, "\t", 1); break;
		case 'u': {
			unsigned v, lo;
			char e[4];
			size_t el;

			if (js_hex4(j, &v) != 0)
				return -1;
			if (v >= 0xDC00 && v <= 0xDFFF)
				return js_fail(j, "lone low surrogate");
			if (v >= 0xD800 && v <= 0xDBFF) {
				if (j->n - j->i < 2 || j->s[j->i] != '\\' ||
				    j->s[j->i + 1] != 'u')
					return js_fail(j, "lone high surrogate");
				j->i += 2;
				if (js_hex4(j, &lo) != 0)
					return -1;
				if (lo < 0xDC00 || lo > 0xDFFF)
					return js_fail(j, "bad surrogate pair");
				v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
			}
			if (v == 0)
				return js_fail(j, "\\u0000 is not allowed");
			if (v < 0x80) {
				e[0] = (char)v;
				el = 1;
			} else if (v < 0x800) {
				e[0] = (char)(0xC0 | v >> 6);
				e[1] = (char)(0x80 | (v & 0x3F));
				el = 2;
			} else if (v < 0x10000) {
				e[0] = (char)(0xE0 | v >> 12);
				e[1] = (char)(0x80 | ((v >> 6) & 0x3F));
				e[2] = (char)(0x80 | (v & 0x3F));
				el = 3;
			} else {
				e[0] = (char)(0xF0 | v >> 18);
				e[1] = (char)(0x80 | ((v >> 12) & 0x3F));
				e[2] = (char)(0x80 | ((v >> 6) & 0x3F));
				e[3] = (char)(0x80 | (v & 0x3F));
				el = 4;
			}
			js_put(out, cap, &l, e, el);
			break;
		}
		default:
			return js_fail(j, "bad escape");
		}
	}
	if (out != NULL && l < cap)
		out[l] = '\0';
	else if (out != NULL && cap > 0)
		out[0] = '\0';
	if (len != NULL)
		*len = l;
	return 0;
}

/* a number: *is_int and *v when it is an integer within int64 (jansson
 * refuses integers beyond it: so does this) */
static int
js_number(js *j, bool *is_int, int64_t *v)
{
	size_t st = j->i;
	bool neg = false, frac = false;
	uint64_t u = 0;

	if (j->i < j->n && j->s[j->i] == '-') {
		neg = true;
		j->i++;
	}
	if (j->i >= j->n || j->s[j->i] < '0' || j->s[j->i] > '9')
		return js_fail(j, "bad number");
	if (j->s[j->i] == '0') {
		j->i++;
	} else {
		while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9') {
			unsigned dg = (unsigned)(j->s[j->i] - '0');

			if (u > (UINT64_MAX - dg) / 10)
				u = UINT64_MAX;	/* beyond any int64: refused below */
			else
				u = u * 10 + dg;
			j->i++;
		}
	}
	if (j->i < j->n && j->s[j->i] == '.') {
		frac = true;
		j->i++;
		if (j->i >= j->n || j->s[j->i] < '0' || j->s[j->i] > '9')
			return js_fail(j, "bad number");
		while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
			j->i++;
	}
	if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
		frac = true;
		j->i++;
		if (j->i < j->n && (j->s[j->i] == '+' || j->s[j->i] == '-'))
			j->i++;
		if (j->i >= j->n || j->s[j->i] < '0' || j->s[j->i] > '9')
			return js_fail(j, "bad number");
		while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
			j->i++;
	}
	(void)st;
	*is_int = !frac;
	if (!frac) {
		if ((!neg && u > (uint64_t)INT64_MAX) ||
		    (neg && u > (uint64_t)INT64_MAX + 1))
			return js_fail(j, "too big integer");
		*v = neg ? (int64_t)(0 - u) : (int64_t)u;
	}
	return 0;
}

static int js_value(js *j);

/* the keys of one object so far: the first ones inline (a record has
 * fifteen), more on the heap */
#define JS_KEYS_INLINE 20

typedef struct js_key_ent {
	uint32_t h;		/* FNV-1a of the key: strcmp only on a match */
	char k[JS_KEY_MAX];
} js_key_ent;

typedef struct js_keys {
	js_key_ent *k;
	size_t n, cap;
	js_key_ent inl[JS_KEYS_INLINE];
} js_keys;

static void
js_keys_init(js_keys *ks)
{
	ks->k = ks->inl;
	ks->n = 0;
	ks->cap = JS_KEYS_INLINE;
}

static void
js_keys_free(js_keys *ks)
{
	if (ks->k != ks->inl)
		free(ks->k);
	ks->k = NULL;
}

static uint32_t
js_fnv(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

/* a key's name, decoded into key (cap bytes) */
static int
js_key_name(js *j, char *key, size_t cap, size_t *len)
{
	if (js_string(j, key, cap, len) != 0)
		return -1;
	if (*len >= cap)
		return js_fail(j, "key too long");
	return 0;
}

/* the key of len bytes was not seen before in this object; remember it */
static int
js_key_add(js *j, js_keys *ks, const char *key, size_t len)
{
	uint32_t h = js_fnv(key, len);

	for (size_t k = 0; k < ks->n; k++)
		if (ks->k[k].h == h && strcmp(ks->k[k].k, key) == 0)
			return js_fail(j, "duplicate object key");
	if (ks->n == ks->cap) {
		size_t nc = ks->cap * 2;
		js_key_ent *nk = malloc(nc * sizeof(*nk));

		if (nk == NULL)
			return js_fail(j, "out of memory");
		memcpy(nk, ks->k, ks->n * sizeof(*nk));
		js_keys_free(ks);
		ks->k = nk;
		ks->cap = nc;
	}
	ks->k[ks->n].h = h;
	memcpy(ks->k[ks->n++].k, key, len + 1);
	return 0;
}

/* the ':' after a key, and the space around it */
static int
js_colon(js *j)
{
	js_ws(j);
	if (j->i >= j->n || j->s[j->i] != ':')
		return js_fail(j, "':' expected");
	j->i++;
	js_ws(j);
	return 0;
}

/* a key not seen before in this object (decoded keys compared); its
 * length in *klen */
static int
js_key(js *j, js_keys *ks, char *key, size_t cap, size_t *klen)
{
	size_t len;

	if (js_key_name(j, key, cap, &len) != 0 ||
	    js_key_add(j, ks, key, len) != 0)
		return -1;
	if (klen != NULL)
		*klen = len;
	return js_colon(j);
}

/* after a member or element: 1 for ',', 0 for the closing c */
static int
js_next(js *j, char c)
{
	js_ws(j);
	if (j->i < j->n && j->s[j->i] == ',') {
		j->i++;
		js_ws(j);
		return 1;
	}
	if (j->i < j->n && j->s[j->i] == c) {
		j->i++;
		return 0;
	}
	return js_fail(j, c == '}' ? "',' or '}' expected" :
	    "',' or ']' expected");
}

static int
js_literal(js *j, const char *lit)
{
	size_t n = strlen(lit);

	if (j->n - j->i < n || memcmp(j->s + j->i, lit, n) != 0)
		return js_fail(j, "invalid token");
	j->i += n;
	return 0;
}

/* any value, checked and skipped */
static int
js_value(js *j)
{
	char key[JS_KEY_MAX];
	js_keys ks;
	bool is_int;
	int64_t v;
	int more, rc = -1;

	if (j->i >= j->n)
		return js_fail(j, "unexpected end of input");
	switch (j->s[j->i]) {
	case '"':
		return js_string(j, NULL, 0, NULL);
	case 't':
		return js_literal(j, "true");
	case 'f':
		return js_literal(j, "false");
	case 'n':
		return js_literal(j, "null");
	case '[':
	case '{':
		break;
	default:
		return js_number(j, &is_int, &v);
	}
	if (++j->depth > JS_DEPTH)
		return js_fail(j, "nested too deeply");
	if (j->s[j->i++] == '[') {
		js_ws(j);
		if (j->i < j->n && j->s[j->i] == ']') {
			j->i++;
			rc = 0;
			goto out;
		}
		do {
			if (js_value(j) != 0)
				goto out;
		} while ((more = js_next(j, ']')) == 1);
		rc = more;
		goto out;
	}
	js_keys_init(&ks);
	js_ws(j);
	if (j->i < j->n && j->s[j->i] == '}') {
		j->i++;
		rc = 0;
		goto obj_out;
	}
	do {
		if (js_key(j, &ks, key, sizeof(key), NULL) != 0 ||
		    js_value(j) != 0)
			goto obj_out;
	} while ((more = js_next(j, '}')) == 1);
	rc = more;
obj_out:
	js_keys_free(&ks);
out:
	j->depth--;
	return rc;
}

/*
 * a record's member names, found by length and bytes rather than by a
 * strcmp against each (issue 17: the reader spent a sixth of its time in
 * strcmp): REC_NUM + the index of "seq", "amount_fen", "balance_fen",
 * "type_code"; REC_STR + the index of "type", "time", "source", "target",
 * "origin"; REC_RAW; REC_OTHER
 */
enum { REC_OTHER = 0, REC_RAW = 1, REC_NUM = 2, REC_STR = 6 };

/* the members a record has, in the order the writer puts them: a record
 * read back finds each at its place at the first try, and its duplicates
 * are found by a bit each rather than by comparing names */
static const struct {
	const char *name;
	size_t len;
	int id;
} rec_names[] = {
	{ "seq", 3, REC_NUM + 0 },
	{ "counter", 7, REC_OTHER },
	{ "time", 4, REC_STR + 1 },
	{ "type", 4, REC_STR + 0 },
	{ "type_code", 9, REC_NUM + 3 },
	{ "origin", 6, REC_STR + 4 },
	{ "amount", 6, REC_OTHER },
	{ "amount_fen", 10, REC_NUM + 1 },
	{ "source", 6, REC_STR + 2 },
	{ "target", 6, REC_STR + 3 },
	{ "balance", 7, REC_OTHER },
	{ "balance_fen", 11, REC_NUM + 2 },
	{ "terminal", 8, REC_OTHER },
	{ "prev", 4, REC_OTHER },
	{ "hash", 4, REC_OTHER },
	{ "raw", 3, REC_RAW },
};
#define REC_NAMES (sizeof(rec_names) / sizeof(rec_names[0]))

/* the index in rec_names of key k (n bytes), tried at hint first; -1 for
 * a member of another name */
static int
rec_name_index(const char *k, size_t n, size_t hint)
{
	if (hint < REC_NAMES && rec_names[hint].len == n &&
	    memcmp(rec_names[hint].name, k, n) == 0)
		return (int)hint;
	for (size_t i = 0; i < REC_NAMES; i++)
		if (rec_names[i].len == n && memcmp(rec_names[i].name, k, n) == 0)
			return (int)i;
	return -1;
}

/* a record's key, not seen before in it: *which is its REC_ kind */
static int
js_rec_key(js *j, js_keys *ks, uint32_t *seen, size_t pos, char *key,
    size_t cap, int *which)
{
	size_t len;
	int idx;

	if (js_key_name(j, key, cap, &len) != 0)
		return -1;
	if ((idx = rec_name_index(key, len, pos)) >= 0) {
		if ((*seen & (1u << idx)) != 0)
			return js_fail(j, "duplicate object key");
		*seen |= 1u << idx;
		*which = rec_names[idx].id;
	} else {
		if (js_key_add(j, ks, key, len) != 0)
			return -1;
		*which = REC_OTHER;
	}
	return js_colon(j);
}

/* exactly 2 * n hex digits into n bytes (the "raw" member: what
 * wk_hex_decode accepts at that length, without its separators) */
/* a hex digit's value + 1, 0 for any other byte */
static const uint8_t hex_val1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static bool
hex_exact(const char *hx, uint8_t *out, size_t n)
{
	unsigned bad = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned hi = hex_val1[(unsigned char)hx[2 * i]];
		unsigned lo = hex_val1[(unsigned char)hx[2 * i + 1]];

		bad |= (hi == 0) | (lo == 0);
		out[i] = (uint8_t)((hi - 1) << 4 | ((lo - 1) & 0x0F));
	}
	return bad == 0;
}

/* one record object: its raw bytes, and the first shown field that differs */
static int
js_record(js *j, size_t idx, audit_doc *d, char *err, size_t errlen)
{
	char key[JS_KEY_MAX];
	js_keys ks;
	uint8_t raw[WK_AREC_LEN];
	bool have_raw = false, have_dec = false, is_int;
	const char *fault = NULL;
	wk_arec r;
	int64_t v;
	size_t sl;
	int more, rc = -1;
	/* the checks wait for raw: members come in any order */
	struct { bool set; int64_t v; } num[4] = { { 0 } };
	char sv[5][64];
	bool sset[5] = { false };

	if (j->i >= j->n || j->s[j->i] != '{') {
		/* not an object: json_object_get found no "raw" */
		if (js_value(j) == 0)
			fail(err, errlen, "record %zu: \"raw\" must be %d hex bytes",
			    idx + 1, WK_AREC_LEN);
		return -1;
	}
	if (++j->depth > JS_DEPTH)
		return js_fail(j, "nested too deeply");
	js_keys_init(&ks);
	j->i++;
	js_ws(j);
	if (j->i < j->n && j->s[j->i] == '}') {
		j->i++;
		more = 0;
	} else {
		uint32_t seen = 0;
		size_t pos = 0;

		do {
			size_t k;
			int which;

			if (js_rec_key(j, &ks, &seen, pos++, key, sizeof(key),
			    &which) != 0)
				goto out;
			if (which == REC_RAW && j->i < j->n &&
			    j->s[j->i] == '"') {
				char hx[2 * WK_AREC_LEN + 1];

				if (js_string(j, hx, sizeof(hx), &sl) != 0)
					goto out;
				have_raw = sl == 2 * WK_AREC_LEN &&
				    hex_exact(hx, raw, sizeof(raw));
				continue;
			}
			k = which >= REC_NUM && which < REC_NUM + 4 ?
			    (size_t)(which - REC_NUM) : 4;
			if (k < 4 && j->i < j->n && j->s[j->i] != '"' &&
			    j->s[j->i] != '{' && j->s[j->i] != '[' &&
			    j->s[j->i] != 't' && j->s[j->i] != 'f' &&
			    j->s[j->i] != 'n') {
				if (js_number(j, &is_int, &v) != 0)
					goto out;
				if (is_int && v >= 0) {
					num[k].set = true;
					num[k].v = v;
				}
				continue;
			}
			k = which >= REC_STR && which < REC_STR + 5 ?
			    (size_t)(which - REC_STR) : 5;
			if (k < 5 && j->i < j->n && j->s[j->i] == '"') {
				if (js_string(j, sv[k], sizeof(sv[k]), &sl) != 0)
					goto out;
				if (sl >= sizeof(sv[k]))
					snprintf(sv[k], sizeof(sv[k]), "%s", "\x01");
				sset[k] = true;
				continue;
			}
			if (js_value(j) != 0)
				goto out;
		} while ((more = js_next(j, '}')) == 1);
	}
	if (more != 0)
		goto out;
	if (!have_raw) {
		fail(err, errlen, "record %zu: \"raw\" must be %d hex bytes",
		    idx + 1, WK_AREC_LEN);
		goto out;
	}
	/* a sequence number JSON's integers (int64) cannot carry: no card
	 * counts that far, and the document could not be written back */
	if (wk_arec_decode(raw, WK_AREC_LEN, &r) == WK_AREC_OK &&
	    r.seq > (uint64_t)INT64_MAX) {
		fail(err, errlen, "record %zu: sequence number out of range",
		    idx + 1);
		goto out;
	}
	if (audit_doc_add(d, raw) != 0) {
		fail(err, errlen, "too many records");
		goto out;
	}
	/* the shown fields must say what the raw bytes say */
	if (wk_arec_decode(raw, WK_AREC_LEN, &r) != WK_AREC_OK) {
		fault = "raw";
	} else {
		char buf[64], tn[16];

		have_dec = true;
		if (num[0].set && (uint64_t)num[0].v != r.seq)
			fault = "seq";
		else if (num[1].set && (uint64_t)num[1].v != r.amount)
			fault = "amount";
		else if (num[2].set && (uint64_t)num[2].v != r.balance)
			fault = "balance";
		else if (num[3].set && (uint64_t)num[3].v != r.type)
			fault = "type";
		else if (sset[0] && strcmp(sv[0], wk_arec_type_name(r.type, tn,
		    sizeof(tn))) != 0)
			fault = "type";
		else if (sset[4] && strcmp(sv[4], wk_arec_origin_name(r.type)) !=
		    0)
			fault = "origin";
		if (fault == NULL && sset[1]) {
			audit_fmt_time(&r, buf, sizeof(buf));
			if (strcmp(sv[1], buf) != 0)
				fault = "time";
		}
		if (fault == NULL && sset[2]) {
			audit_fmt_account(r.src, buf, sizeof(buf));
			if (strcmp(sv[2], buf) != 0)
				fault = "source";
		}
		if (fault == NULL && sset[3]) {
			audit_fmt_account(r.dst, buf, sizeof(buf));
			if (strcmp(sv[3], buf) != 0)
				fault = "target";
		}
	}
	(void)have_dec;
	if (fault != NULL && (d->field_fault[d->n - 1] = strdup(fault)) == NULL) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	j->depth--;
	js_keys_free(&ks);
	return rc;
}

/*
 * the "records" array at j->i (its '['), read in the one pass over the
 * document: each record into d. A record's fault that is not a syntax
 * error (no "raw", too many records) is kept in err for after the
 * document's other checks, as a second pass would find it, and the rest
 * of the array is only checked.
 */
static int
js_records(js *j, audit_doc *d, bool *bad, char *err, size_t errlen)
{
	size_t nrec = 0;
	int more;

	if (++j->depth > JS_DEPTH)
		return js_fail(j, "nested too deeply");
	j->i++;
	js_ws(j);
	if (j->i < j->n && j->s[j->i] == ']') {
		j->i++;
		j->depth--;
		return 0;
	}
	do {
		if (*bad) {
			if (js_value(j) != 0)
				return -1;
		} else if (js_record(j, nrec++, d, err, errlen) != 0) {
			if (j->why != NULL)
				return -1;
			*bad = true;
		}
	} while ((more = js_next(j, ']')) == 1);
	j->depth--;
	return more;
}

static size_t
js_line(const js *j)
{
	size_t line = 1;

	for (size_t k = 0; k < j->i && k < j->n; k++)
		if (j->s[k] == '\n')
			line++;
	return line;
}

int
audit_doc_from_json(const char *text, size_t len, audit_doc *d, char *err,
    size_t errlen)
{
	js j = { .s = text, .n = len };
	js_keys ks;
	json_error_t je;
	json_t *root = NULL, *head, *cert, *v;
	const char *fmt;
	char key[JS_KEY_MAX], rec_err[256] = "";
	bool have_records = false, records_array = false, rec_bad = false;
	int more, rc = -1;

	audit_doc_init(d);
	js_keys_init(&ks);
	if (text == NULL && len > 0)
		return fail(err, errlen, "not JSON: no text");
	/* the members other than "records", each through jansson */
	if ((root = json_object()) == NULL)
		return fail(err, errlen, "out of memory");
	js_ws(&j);
	if (j.i >= j.n || j.s[j.i] != '{') {
		if (j.i < j.n && js_value(&j) == 0) {
			js_ws(&j);
			if (j.i == j.n) {
				fail(err, errlen, "not a walletkey-audit/1 document");
				goto out;
			}
			js_fail(&j, "end of file expected");
		}
		js_fail(&j, "'{' expected");
		goto syntax;
	}
	j.i++;
	j.depth = 1;
	js_ws(&j);
	if (j.i < j.n && j.s[j.i] == '}') {
		j.i++;
		more = 0;
	} else {
		do {
			size_t st;

			if (js_key(&j, &ks, key, sizeof(key), NULL) != 0)
				goto syntax;
			st = j.i;
			if (strcmp(key, "records") == 0) {
				have_records = true;
				if (j.i < j.n && j.s[j.i] == '[') {
					records_array = true;
					if (js_records(&j, d, &rec_bad, rec_err,
					    sizeof(rec_err)) != 0)
						goto syntax;
				} else if (js_value(&j) != 0) {
					goto syntax;
				}
				continue;
			}
			if (js_value(&j) != 0)
				goto syntax;
			if ((v = json_loadb(j.s + st, j.i - st, JSON_DECODE_ANY |
			    JSON_REJECT_DUPLICATES, &je)) == NULL ||
			    json_object_set_new(root, key, v) != 0) {
				fail(err, errlen, "not JSON: %s", je.text);
				goto out;
			}
		} while ((more = js_next(&j, '}')) == 1);
	}
	if (more != 0)
		goto syntax;
	js_ws(&j);
	if (j.i != j.n) {
		js_fail(&j, "end of file expected");
		goto syntax;
	}
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
	if (!have_records || !records_array) {
		fail(err, errlen, "\"records\" must be an array");
		goto out;
	}
	/* a record's fault, found while the records were read */
	if (rec_bad) {
		fail(err, errlen, "%s", rec_err);
		goto out;
	}
	rc = 0;
	goto out;
syntax:
	fail(err, errlen, "not JSON: %s (line %zu)", j.why != NULL ? j.why :
	    "syntax error", js_line(&j));
out:
	js_keys_free(&ks);
	json_decref(root);
	if (rc != 0)
		audit_doc_free(d);
	return rc;
}

/* ---- reading a document from a file ---- */

void
audit_text_free(char *text, size_t cap)
{
	(void)cap;
	free(text);
}

/*
 * a regular file is read into a buffer of its size in one go (no copies
 * on growth); anything else grows one. The buffer is the ordinary heap's:
 * on the development VM a fresh mapping costs a fault per page however it
 * is made (its pages are made present again at their first touch), while
 * the heap keeps what a process freed warm for its next document.
 */
int
audit_text_read(const char *path, size_t max, char **text, size_t *len,
    size_t *cap)
{
	struct stat sb;
	char *buf = NULL, *nb;
	size_t n = 0, c;
	ssize_t got;
	int fd;

	*text = NULL;
	*len = *cap = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	/* a regular file: its size and a byte to see its end; else grow */
	c = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size >= 0 &&
	    (uint64_t)sb.st_size < max ? (size_t)sb.st_size + 1 : 65536;
	if ((buf = malloc(c)) == NULL)
		goto fail;
	for (;;) {
		if (n == c) {
			if (c >= max || (nb = realloc(buf, c * 2)) == NULL) {
				errno = c >= max ? EFBIG : ENOMEM;
				goto fail;
			}
			buf = nb;
			c *= 2;
		}
		got = read(fd, buf + n, c - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			goto fail;
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n == c) {	/* room for the NUL */
		if ((nb = realloc(buf, c + 1)) == NULL)
			goto fail;
		buf = nb;
		c++;
	}
	buf[n] = '\0';
	close(fd);
	*text = buf;
	*len = n;
	*cap = c;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
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

