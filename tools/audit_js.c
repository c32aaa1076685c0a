/* the strict JSON scanner of audit exports (audit_js.h) */
#include "audit_js.h"

#include <stdlib.h>
#include <string.h>

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
int
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
int
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

void
js_keys_init(js_keys *ks)
{
	ks->k = ks->inl;
	ks->n = 0;
	ks->cap = JS_KEYS_INLINE;
}

void
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
int
js_key_name(js *j, char *key, size_t cap, size_t *len)
{
	if (js_string(j, key, cap, len) != 0)
		return -1;
	if (*len >= cap)
		return js_fail(j, "key too long");
	return 0;
}

/* the key of len bytes was not seen before in this object; remember it */
int
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

/* a key not seen before in this object (decoded keys compared); its
 * length in *klen */
int
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
int
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

size_t
js_line(const js *j)
{
	size_t line = 1;

	for (size_t k = 0; k < j->i && k < j->n; k++)
		if (j->s[k] == '\n')
			line++;
	return line;
}
