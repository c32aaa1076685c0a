/*
 * the strict JSON scanner that reads an audit export back (audit_js.c,
 * used by audit_doc_read.c)
 *
 * reading a document (issue 17: jansson's tree of 10,000 records took most
 * of the time of reading one back). A strict scanner of RFC 8259 JSON walks
 * the text once: UTF-8 checked, escapes decoded, no NUL, duplicate keys in
 * any object refused, nesting bounded, nothing after the value, as
 * json_loadb(JSON_REJECT_DUPLICATES) refuses. The records are read field by
 * field from the text; the other members of the document (small) are
 * handed to jansson one by one.
 */
#ifndef AUDIT_JS_H
#define AUDIT_JS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JS_DEPTH 64
#define JS_KEY_MAX 256

typedef struct js {
	const char *s;
	size_t n, i;
	int depth;
	const char *why;	/* the first error */
} js;

static inline int
js_fail(js *j, const char *why)
{
	if (j->why == NULL)
		j->why = why;
	return -1;
}

static inline void
js_ws(js *j)
{
	while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' ||
	    j->s[j->i] == '\n' || j->s[j->i] == '\r'))
		j->i++;
}

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

/* a string at j->i: decoded into out (cap bytes, NUL-terminated when it
 * fits: *len says its length either way); out NULL: checked only */
int js_string(js *j, char *out, size_t cap, size_t *len);
/* a number: *is_int and *v when it is an integer within int64 (jansson
 * refuses integers beyond it: so does this) */
int js_number(js *j, bool *is_int, int64_t *v);
void js_keys_init(js_keys *ks);
void js_keys_free(js_keys *ks);
/* a key's name, decoded into key (cap bytes) */
int js_key_name(js *j, char *key, size_t cap, size_t *len);
/* the key of len bytes was not seen before in this object; remember it */
int js_key_add(js *j, js_keys *ks, const char *key, size_t len);
/* a key not seen before in this object (decoded keys compared); its
 * length in *klen */
int js_key(js *j, js_keys *ks, char *key, size_t cap, size_t *klen);
/* any value, checked and skipped */
int js_value(js *j);
/* the line of j->i, for messages */
size_t js_line(const js *j);

/* the ':' after a key, and the space around it */
static inline int
js_colon(js *j)
{
	js_ws(j);
	if (j->i >= j->n || j->s[j->i] != ':')
		return js_fail(j, "':' expected");
	j->i++;
	js_ws(j);
	return 0;
}

/* after a member or element: 1 for ',', 0 for the closing c */
static inline int
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

#endif
