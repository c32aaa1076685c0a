/* an audit export read back: the JSON document (its records through the
 * strict scanner of audit_js.h), a file, a sealed bundle */
#include "audit_doc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_js.h"
#include "wk_hex.h"

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
