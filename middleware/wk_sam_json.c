/* the software SAM file's strict JSON reader (a buffer we wipe, no copies
 * in a JSON library's heap) and the purse master keys (docs/wallet.md) */
#include "wk_sam_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_hex.h"
#include "wk_purse_crypto.h"

/* ---- a strict reader for flat JSON objects with one level of nesting ---- */

const char *const wk_sam_key_names[N_KEYS] = { "dlk", "dpk", "dtk", "dulk",
    "duk" };


static void
skip_ws(const char *s, size_t len, size_t *i)
{
	while (*i < len && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' ||
	    s[*i] == '\r'))
		(*i)++;
}

/* a string without escapes or control characters */
static int
read_str(const char *s, size_t len, size_t *i, const char **out, size_t *olen)
{
	size_t j;

	if (*i >= len || s[*i] != '"')
		return -1;
	for (j = *i + 1; j < len && s[j] != '"'; j++)
		if (s[j] == '\\' || (unsigned char)s[j] < 0x20)
			return -1;
	if (j >= len)
		return -1;
	*out = s + *i + 1;
	*olen = j - *i - 1;
	*i = j + 1;
	return 0;
}

static int
parse_object(const char *s, size_t len, size_t *i, const char *prefix,
    unsigned depth, jdoc *d)
{
	const char *name;
	size_t nlen, k;
	jfield *f;

	skip_ws(s, len, i);
	if (*i >= len || s[*i] != '{')
		return -1;
	(*i)++;
	skip_ws(s, len, i);
	if (*i < len && s[*i] == '}') {
		(*i)++;
		return 0;
	}
	for (;;) {
		skip_ws(s, len, i);
		if (read_str(s, len, i, &name, &nlen) != 0)
			return -1;
		skip_ws(s, len, i);
		if (*i >= len || s[*i] != ':')
			return -1;
		(*i)++;
		skip_ws(s, len, i);
		if (*i >= len || d->n >= JSON_FIELDS_MAX)
			return -1;
		f = &d->f[d->n];
		memset(f, 0, sizeof(*f));
		if (strlen(prefix) + nlen + 2 > sizeof(f->name))
			return -1;
		if (snprintf(f->name, sizeof(f->name), "%s%s%.*s", prefix,
		    *prefix ? "." : "", (int)nlen, name) < 0)
			return -1;
		for (k = 0; k < d->n; k++)
			if (strcmp(d->f[k].name, f->name) == 0)
				return -1;	/* duplicate */
		if (s[*i] == '"') {
			f->is_str = true;
			if (read_str(s, len, i, &f->str, &f->len) != 0)
				return -1;
			d->n++;
		} else if (s[*i] >= '0' && s[*i] <= '9') {
			if (s[*i] == '0' && *i + 1 < len && s[*i + 1] >= '0' &&
			    s[*i + 1] <= '9')
				return -1;
			while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
				if (f->num > (UINT64_MAX - 9) / 10)
					return -1;
				f->num = f->num * 10 + (uint64_t)(s[*i] - '0');
				(*i)++;
			}
			d->n++;
		} else if (s[*i] == '{' && depth == 0) {
			char sub[48];

			snprintf(sub, sizeof(sub), "%s", f->name);
			if (parse_object(s, len, i, sub, depth + 1, d) != 0)
				return -1;
		} else {
			return -1;
		}
		skip_ws(s, len, i);
		if (*i < len && s[*i] == ',') {
			(*i)++;
			continue;
		}
		if (*i < len && s[*i] == '}') {
			(*i)++;
			return 0;
		}
		return -1;
	}
}

int
wk_sam_json_parse(const char *s, size_t len, jdoc *d)
{
	size_t i = 0;

	d->n = 0;
	if (parse_object(s, len, &i, "", 0, d) != 0)
		return -1;
	skip_ws(s, len, &i);
	return i == len ? 0 : -1;
}

const jfield *
wk_sam_json_get(const jdoc *d, const char *name)
{
	size_t k;

	for (k = 0; k < d->n; k++)
		if (strcmp(d->f[k].name, name) == 0)
			return &d->f[k];
	return NULL;
}

/* a string field of exactly n bytes in hex */
int
wk_sam_json_hex(const jdoc *d, const char *name, uint8_t *out, size_t n)
{
	const jfield *f = wk_sam_json_get(d, name);
	char tmp[2 * WK_PURSE_KEY_LEN + 1];
	size_t k;
	int rc = -1;

	if (f == NULL || !f->is_str || f->len != 2 * n || f->len >= sizeof(tmp))
		goto out;
	for (k = 0; k < f->len; k++)
		if (!((f->str[k] >= '0' && f->str[k] <= '9') ||
		    (f->str[k] >= 'a' && f->str[k] <= 'f') ||
		    (f->str[k] >= 'A' && f->str[k] <= 'F')))
			goto out;
	memcpy(tmp, f->str, f->len);
	tmp[f->len] = '\0';
	if (wk_hex_decode(tmp, out, n) != (long)n)
		goto out;
	rc = 0;
out:
	sodium_memzero(tmp, sizeof(tmp));
	return rc;
}

int
wk_sam_json_uint(const jdoc *d, const char *name, uint64_t max, uint64_t *v)
{
	const jfield *f = wk_sam_json_get(d, name);

	if (f == NULL || f->is_str || f->num > max)
		return -1;
	*v = f->num;
	return 0;
}

/* reads a whole small file into a buffer the caller wipes and frees */
int
wk_sam_read_file(const char *path, char **out, size_t *len)
{
	FILE *fp = NULL;
	char *buf = NULL;
	size_t n;
	int rc = WK_ERR_IO;

	*out = NULL;
	if ((fp = fopen(path, "rb")) == NULL)
		goto out;
	if ((buf = sodium_malloc(SAM_FILE_MAX)) == NULL) {
		rc = WK_ERR_MEMORY;
		goto out;
	}
	n = fread(buf, 1, SAM_FILE_MAX, fp);
	if (ferror(fp))
		goto out;
	rc = WK_ERR_ARG;
	if (n == SAM_FILE_MAX)	/* too big for what it should hold */
		goto out;
	*out = buf;
	*len = n;
	buf = NULL;
	rc = WK_OK;
out:
	if (buf != NULL)
		sodium_free(buf);
	if (fp != NULL)
		fclose(fp);
	return rc;
}

/* "algorithms": {"dpk": "sm4", ...}: optional, each key 3DES unless it
 * names it; no other member */
static int
parse_algs(const jdoc *d, const char *prefix, uint8_t algs[N_KEYS])
{
	char name[48], want[48];
	size_t k, n = 0, named = 0;

	snprintf(want, sizeof(want), "%salgorithms.", prefix);
	for (k = 0; k < d->n; k++)
		if (strncmp(d->f[k].name, want, strlen(want)) == 0)
			n++;
	for (k = 0; k < N_KEYS; k++) {
		const jfield *f;
		char v[8];

		algs[k] = WK_PURSE_ALG_3DES;
		snprintf(name, sizeof(name), "%s%s", want, wk_sam_key_names[k]);
		if ((f = wk_sam_json_get(d, name)) == NULL)
			continue;
		if (!f->is_str || f->len >= sizeof(v))
			return -1;
		memcpy(v, f->str, f->len);
		v[f->len] = '\0';
		if (wk_purse_alg_parse(v, &algs[k]) != 0)
			return -1;
		named++;
	}
	return named == n ? 0 : -1;	/* a member that names no key */
}

int
wk_sam_parse_keys(const jdoc *d, const char *prefix, uint8_t keys[N_KEYS][WK_PURSE_KEY_LEN],
    uint8_t algs[N_KEYS])
{
	char name[32];
	size_t k;

	for (k = 0; k < N_KEYS; k++) {
		snprintf(name, sizeof(name), "%s%s", prefix, wk_sam_key_names[k]);
		if (wk_sam_json_hex(d, name, keys[k], WK_PURSE_KEY_LEN) != 0)
			return -1;
	}
	return parse_algs(d, "", algs);
}

int
wk_purse_parse_master_keys(const char *text, size_t len, uint8_t keys[5][16],
    uint8_t algs[5])
{
	jdoc *d = NULL;
	int rc = WK_ERR_ARG;

	if ((text == NULL && len > 0) || keys == NULL || algs == NULL)
		goto out;
	rc = WK_ERR_MEMORY;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto out;
	rc = WK_ERR_ARG;
	if (wk_sam_json_parse(text, len, d) != 0 || wk_sam_parse_keys(d, "", keys, algs) != 0) {
		sodium_memzero(keys, 5 * 16);
		goto out;
	}
	rc = WK_OK;
out:
	if (d != NULL) {
		sodium_memzero(d, sizeof(*d));
		free(d);
	}
	return rc;
}

int
wk_purse_read_master_keys(const char *path, uint8_t keys[5][16],
    uint8_t algs[5])
{
	char *buf = NULL;
	size_t len = 0;
	int rc = WK_ERR_ARG;

	if (path == NULL || keys == NULL || algs == NULL)
		goto out;
	if ((rc = wk_sam_read_file(path, &buf, &len)) != WK_OK)
		goto out;
	rc = wk_purse_parse_master_keys(buf, len, keys, algs);
out:
	if (buf != NULL)
		sodium_free(buf);
	return rc;
}

int
wk_purse_derive_key(uint8_t alg, const uint8_t mk[16],
    const uint8_t serial[WK_PURSE_SERIAL_LEN], uint8_t dk[16])
{
	if (mk == NULL || serial == NULL || dk == NULL ||
	    !wk_purse_alg_valid(alg))
		return WK_ERR_ARG;
	if (wk_purse_diversify(alg, mk, serial, WK_PURSE_SERIAL_LEN, dk) !=
	    WK_PURSE_CRYPTO_OK)
		return WK_ERR_CRYPTO;
	return WK_OK;
}
