/* the purse personalisation profile (docs/purse.md, "Personalisation profile") */
#include "vc_perso.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "applets/purse.h"
#include "wk_hex.h"
#include "wk_purse_crypto.h"
#include "wk_wipe.h"

#define PROFILE_FORMAT "walletkey-purse-perso/1"
#define NAME_LEN 20
#define ID_NUMBER_LEN 16

/*
 * the demo profile: TEST KEYS ONLY. The card keys are diversified from
 * these master keys with the application serial, which is derived from the
 * card serial, so every demo card has its own keys.
 */
const char vc_perso_demo_json[] =
    "{\n"
    "  \"format\": \"" PROFILE_FORMAT "\",\n"
    "  \"issuer_id\": \"57414C4C45544B59\",\n"
    "  \"application_type\": \"ed+ep\",\n"
    "  \"application_version\": 1,\n"
    "  \"serial\": \"auto\",\n"
    "  \"start_date\": \"20260101\",\n"
    "  \"expiry_date\": \"20361231\",\n"
    "  \"issuer_fci\": \"0000\",\n"
    "  \"cardholder\": { \"card_type\": 0, \"staff\": 0, \"name\": \"DEMO CARDHOLDER\",\n"
    "    \"id_number\": \"DEMO000000000000\", \"id_type\": 0 },\n"
    "  \"pin\": \"123456\",\n"
    "  \"pin_tries\": 3,\n"
    "  \"balance_ceiling\": 1000000,\n"
    "  \"overdraft_limit\": 0,\n"
    "  \"log_capacity\": 10,\n"
    "  \"keys\": [\n"
    "    { \"purpose\": \"dlk\", \"index\": 1, \"version\": 1, \"algorithm\": 0,\n"
    "      \"master_key\": \"574B2D44454D4F2D444C4B2D30303031\" },\n"
    "    { \"purpose\": \"dpk\", \"index\": 1, \"version\": 1, \"algorithm\": 0,\n"
    "      \"master_key\": \"574B2D44454D4F2D44504B2D30303031\" },\n"
    "    { \"purpose\": \"dtk\", \"index\": 1, \"version\": 1, \"algorithm\": 0,\n"
    "      \"master_key\": \"574B2D44454D4F2D44544B2D30303031\" },\n"
    "    { \"purpose\": \"dulk\", \"index\": 1, \"version\": 1, \"algorithm\": 0,\n"
    "      \"master_key\": \"574B2D44454D4F2D44554C4B2D303031\" },\n"
    "    { \"purpose\": \"duk\", \"index\": 1, \"version\": 1, \"algorithm\": 0,\n"
    "      \"master_key\": \"574B2D44454D4F2D44554B2D30303031\" },\n"
    "    { \"purpose\": \"damk\", \"index\": 1, \"version\": 1, \"algorithm\": 0,\n"
    "      \"master_key\": \"574B2D44454D4F2D44414D4B2D303031\" },\n"
    "    { \"purpose\": \"drpk\", \"index\": 1, \"version\": 1, \"algorithm\": 0,\n"
    "      \"master_key\": \"574B2D44454D4F2D4452504B2D303031\" }\n"
    "  ]\n"
    "}\n";

static const char *const top_members[] = {
	"format", "issuer_id", "application_type", "application_version",
	"serial", "start_date", "expiry_date", "issuer_fci", "cardholder",
	"pin", "pin_tries", "balance_ceiling", "overdraft_limit",
	"log_capacity", "keys", "audit_capacity", "mac_tries", "pin_required",
	NULL,
};
/* "pin_required": the operations beyond the ED's that need the PIN */
static const struct {
	const char *name;
	unsigned bit;
} pin_ops[] = {
	{ "purchase", PURSE_PIN_PURCHASE },
	{ "load", PURSE_PIN_LOAD },
	{ "transfer", PURSE_PIN_TRANSFER },
	{ "history", PURSE_PIN_HISTORY },
};
static const char *const holder_members[] = {
	"card_type", "staff", "name", "id_number", "id_type", NULL,
};
static const char *const key_members[] = {
	"purpose", "index", "version", "algorithm", "key", "master_key", NULL,
};

static int
fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return VC_PERSO_INVALID;
}

static int
check_members(json_t *obj, const char *const *known, const char *where,
    char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		size_t i;

		for (i = 0; known[i] != NULL; i++)
			if (strcmp(known[i], k) == 0)
				break;
		if (known[i] == NULL)
			return fail(err, errlen, "%s: unknown member \"%s\"", where,
			    k);
	}
	return VC_PERSO_OK;
}

/* an integer member in [lo, hi]; dflt when absent and dflt >= 0 */
static int
get_int(json_t *obj, const char *name, long long lo, long long hi,
    long long dflt, long long *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, name);

	if (v == NULL) {
		if (dflt < 0)
			return fail(err, errlen, "missing \"%s\"", name);
		*out = dflt;
		return VC_PERSO_OK;
	}
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi)
		return fail(err, errlen, "\"%s\": expected an integer %lld..%lld",
		    name, lo, hi);
	*out = json_integer_value(v);
	return VC_PERSO_OK;
}

/* exactly n bytes of hex */
static int
get_hex(json_t *obj, const char *name, uint8_t *out, size_t n,
    const char *dflt, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, name);
	const char *s = dflt;

	if (v != NULL) {
		if (!json_is_string(v))
			return fail(err, errlen, "\"%s\": expected a string", name);
		s = json_string_value(v);
	}
	if (s == NULL)
		return fail(err, errlen, "missing \"%s\"", name);
	if (strlen(s) != 2 * n || wk_hex_decode(s, out, n) != (long)n)
		return fail(err, errlen, "\"%s\": expected %zu hex digits", name,
		    2 * n);
	return VC_PERSO_OK;
}

static bool
is_bcd(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((p[i] >> 4) > 9 || (p[i] & 0x0F) > 9)
			return false;
	return true;
}

static unsigned
bcd2(uint8_t b)
{
	return (unsigned)(b >> 4) * 10u + (b & 0x0Fu);
}

static int
get_date(json_t *obj, const char *name, uint8_t out[4], char *err,
    size_t errlen)
{
	unsigned m, d;
	int rc;

	if ((rc = get_hex(obj, name, out, 4, NULL, err, errlen)) != 0)
		return rc;
	m = bcd2(out[2]);
	d = bcd2(out[3]);
	if (!is_bcd(out, 4) || m < 1 || m > 12 || d < 1 || d > 31)
		return fail(err, errlen, "\"%s\": expected a date YYYYMMDD", name);
	return VC_PERSO_OK;
}

/* a string member of at most cap bytes, copied and padded with 00 */
static int
get_text(json_t *obj, const char *name, uint8_t *out, size_t cap, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(obj, name);
	size_t n;

	memset(out, 0, cap);
	if (v == NULL)
		return VC_PERSO_OK;
	if (!json_is_string(v) || (n = json_string_length(v)) > cap)
		return fail(err, errlen, "\"%s\": expected a string of at most "
		    "%zu bytes", name, cap);
	memcpy(out, json_string_value(v), n);
	return VC_PERSO_OK;
}

static int
parse_cardholder(json_t *root, vc_perso *p, char *err, size_t errlen)
{
	json_t *h = json_object_get(root, "cardholder");
	long long v;
	int rc;

	memset(p->ef16, 0, sizeof(p->ef16));
	if (h == NULL)
		return VC_PERSO_OK;
	if (!json_is_object(h))
		return fail(err, errlen, "\"cardholder\": expected an object");
	if ((rc = check_members(h, holder_members, "cardholder", err,
	    errlen)) != 0)
		return rc;
	/* PBOC 1.0 EF 0016 (U7): type 1, staff 1, name 20, id 16, id type 1 */
	if ((rc = get_int(h, "card_type", 0, 255, 0, &v, err, errlen)) != 0)
		return rc;
	p->ef16[0] = (uint8_t)v;
	if ((rc = get_int(h, "staff", 0, 255, 0, &v, err, errlen)) != 0)
		return rc;
	p->ef16[1] = (uint8_t)v;
	if ((rc = get_text(h, "name", p->ef16 + 2, NAME_LEN, err, errlen)) != 0 ||
	    (rc = get_text(h, "id_number", p->ef16 + 22, ID_NUMBER_LEN, err,
	    errlen)) != 0)
		return rc;
	if ((rc = get_int(h, "id_type", 0, 255, 0, &v, err, errlen)) != 0)
		return rc;
	p->ef16[38] = (uint8_t)v;
	return VC_PERSO_OK;
}

/* "algorithm": 0 or "3des" (the default), 4 or "sm4" (docs/purse.md
 * "SM4"); the card computes with it, so no other id is taken */
static int
get_alg(json_t *k, uint8_t *alg, char *err, size_t errlen)
{
	json_t *v = json_object_get(k, "algorithm");

	*alg = WK_PURSE_ALG_3DES;
	if (v == NULL)
		return VC_PERSO_OK;
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= 255 &&
	    wk_purse_alg_valid((uint8_t)json_integer_value(v))) {
		*alg = (uint8_t)json_integer_value(v);
		return VC_PERSO_OK;
	}
	if (json_is_string(v) && wk_purse_alg_parse(json_string_value(v),
	    alg) == 0)
		return VC_PERSO_OK;
	return fail(err, errlen, "\"algorithm\": expected 0 or \"3des\", 4 or "
	    "\"sm4\"");
}

static int
parse_key(json_t *k, size_t i, vc_perso_key *out, char *err, size_t errlen)
{
	char where[32];
	const char *purpose;
	json_t *v;
	long long n;
	int rc;

	snprintf(where, sizeof(where), "keys[%zu]", i);
	if (!json_is_object(k))
		return fail(err, errlen, "%s: expected an object", where);
	if ((rc = check_members(k, key_members, where, err, errlen)) != 0)
		return rc;
	v = json_object_get(k, "purpose");
	purpose = json_is_string(v) ? json_string_value(v) : "";
	out->purpose = -1;
	for (int j = 0; j < PURSE_KEY_N; j++)
		if (strcmp(purpose, wk_purse_key_names[j]) == 0)
			out->purpose = j;
	if (out->purpose < 0)
		return fail(err, errlen, "%s: \"purpose\" must be dlk, dpk, dtk, "
		    "dulk, duk, damk or drpk", where);
	if ((rc = get_int(k, "index", 0, 255, -1, &n, err, errlen)) != 0)
		goto ctx;
	out->index = (uint8_t)n;
	if ((rc = get_int(k, "version", 0, 255, -1, &n, err, errlen)) != 0)
		goto ctx;
	out->version = (uint8_t)n;
	if ((rc = get_alg(k, &out->alg, err, errlen)) != 0)
		goto ctx;
	out->master = json_object_get(k, "master_key") != NULL;
	if (out->master == (json_object_get(k, "key") != NULL))
		return fail(err, errlen, "%s: give exactly one of \"key\" and "
		    "\"master_key\"", where);
	rc = get_hex(k, out->master ? "master_key" : "key", out->key,
	    sizeof(out->key), NULL, err, errlen);
ctx:
	if (rc != 0 && err != NULL) {
		char inner[200];

		snprintf(inner, sizeof(inner), "%s", err);
		fail(err, errlen, "%s: %s", where, inner);
	}
	return rc;
}

static int
parse_keys(json_t *root, vc_perso *p, char *err, size_t errlen)
{
	json_t *keys = json_object_get(root, "keys"), *k;
	size_t i, n_dtk = 0, n_damk = 0, n_drpk = 0;
	bool have[PURSE_KEY_N] = { false };
	int rc;

	if (!json_is_array(keys) || json_array_size(keys) == 0)
		return fail(err, errlen, "\"keys\": expected a non-empty array");
	if (json_array_size(keys) > VC_PERSO_MAX_KEYS)
		return fail(err, errlen, "\"keys\": at most %d keys",
		    VC_PERSO_MAX_KEYS);
	json_array_foreach(keys, i, k) {
		vc_perso_key *pk = &p->keys[i];

		if ((rc = parse_key(k, i, pk, err, errlen)) != 0)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (p->keys[j].purpose == pk->purpose &&
			    p->keys[j].index == pk->index)
				return fail(err, errlen, "keys[%zu]: a second %s "
				    "with index %u", i, wk_purse_key_names[pk->purpose],
				    pk->index);
		have[pk->purpose] = true;
		if (pk->purpose == PURSE_KEY_DTK)
			n_dtk++;
		if (pk->purpose == PURSE_KEY_DAMK)
			n_damk++;
		if (pk->purpose == PURSE_KEY_DRPK)
			n_drpk++;
		p->n_keys = i + 1;
	}
	if (n_dtk != 1)
		return fail(err, errlen, "\"keys\": exactly one dtk (the TAC key) "
		    "is needed");
	/* APPLICATION UNBLOCK names no key: the application has one DAMK */
	if (n_damk > 1)
		return fail(err, errlen, "\"keys\": at most one damk (the "
		    "application maintenance key)");
	/* RELOAD PIN names no key either (P2 is the PIN's id) */
	if (n_drpk > 1)
		return fail(err, errlen, "\"keys\": at most one drpk (the PIN "
		    "reload key)");
	if (!have[PURSE_KEY_DLK] || !have[PURSE_KEY_DPK])
		return fail(err, errlen, "\"keys\": at least one dlk and one dpk "
		    "are needed");
	return VC_PERSO_OK;
}

/* "pin_required": {"purchase": false, "load": true, ...}, each member
 * optional with today's behaviour as its default */
static int
parse_pin_required(json_t *root, vc_perso *p, char *err, size_t errlen)
{
	json_t *o = json_object_get(root, "pin_required"), *v;
	const char *k;

	p->pin_ops = PURSE_PIN_DEFAULT;
	if (o == NULL)
		return VC_PERSO_OK;
	if (!json_is_object(o))
		return fail(err, errlen, "\"pin_required\": expected an object");
	json_object_foreach(o, k, v) {
		size_t i;

		for (i = 0; i < sizeof(pin_ops) / sizeof(pin_ops[0]); i++)
			if (strcmp(pin_ops[i].name, k) == 0)
				break;
		if (i == sizeof(pin_ops) / sizeof(pin_ops[0]))
			return fail(err, errlen, "pin_required: unknown member \"%s\""
			    " (purchase, load, transfer, history)", k);
		if (!json_is_boolean(v))
			return fail(err, errlen, "pin_required: \"%s\": expected"
			    " true or false", k);
		if (json_is_true(v))
			p->pin_ops |= pin_ops[i].bit;
		else
			p->pin_ops &= ~pin_ops[i].bit;
	}
	return VC_PERSO_OK;
}

static int
parse_root(json_t *root, vc_perso *p, char *err, size_t errlen)
{
	json_t *v;
	const char *s;
	long long n;
	int rc;

	if (!json_is_object(root))
		return fail(err, errlen, "expected a JSON object");
	if ((rc = check_members(root, top_members, "profile", err, errlen)) != 0)
		return rc;
	v = json_object_get(root, "format");
	if (!json_is_string(v) || strcmp(json_string_value(v), PROFILE_FORMAT))
		return fail(err, errlen, "\"format\" must be \"%s\"",
		    PROFILE_FORMAT);
	if ((rc = get_hex(root, "issuer_id", p->issuer_id, 8, NULL, err,
	    errlen)) != 0)
		return rc;
	v = json_object_get(root, "application_type");
	s = json_is_string(v) ? json_string_value(v) : "";
	if (strcmp(s, "ed") == 0)
		p->app_type = 0x01;
	else if (strcmp(s, "ep") == 0)
		p->app_type = 0x02;
	else if (strcmp(s, "ed+ep") == 0)
		p->app_type = 0x03;
	else
		return fail(err, errlen, "\"application_type\" must be \"ed\", "
		    "\"ep\" or \"ed+ep\"");
	if ((rc = get_int(root, "application_version", 0, 255, 1, &n, err,
	    errlen)) != 0)
		return rc;
	p->app_version = (uint8_t)n;
	v = json_object_get(root, "serial");
	if (json_is_string(v) && strcmp(json_string_value(v), "auto") == 0) {
		p->serial_auto = true;
	} else if ((rc = get_hex(root, "serial", p->serial, sizeof(p->serial),
	    NULL, err, errlen)) != 0 || !is_bcd(p->serial, sizeof(p->serial))) {
		return fail(err, errlen, "\"serial\": expected 20 decimal digits "
		    "or \"auto\"");
	}
	if ((rc = get_date(root, "start_date", p->start_date, err, errlen)) != 0 ||
	    (rc = get_date(root, "expiry_date", p->expiry_date, err,
	    errlen)) != 0)
		return rc;
	if (memcmp(p->expiry_date, p->start_date, 4) < 0)
		return fail(err, errlen, "\"expiry_date\" is before \"start_date\"");
	if ((rc = get_hex(root, "issuer_fci", p->issuer_fci, 2, "0000", err,
	    errlen)) != 0)
		return rc;
	if ((rc = parse_cardholder(root, p, err, errlen)) != 0)
		return rc;

	v = json_object_get(root, "pin");
	s = json_is_string(v) ? json_string_value(v) : "";
	p->pin_len = strlen(s);
	if (p->pin_len < PURSE_PIN_MIN_DIGITS || p->pin_len > PURSE_PIN_MAX_DIGITS ||
	    strspn(s, "0123456789") != p->pin_len)
		return fail(err, errlen, "\"pin\": expected %d to %d decimal digits",
		    PURSE_PIN_MIN_DIGITS, PURSE_PIN_MAX_DIGITS);
	memcpy(p->pin, s, p->pin_len + 1);
	if ((rc = get_int(root, "pin_tries", 1, 15, 3, &n, err, errlen)) != 0)
		return rc;
	p->pin_tries = (uint8_t)n;
	if ((rc = get_int(root, "balance_ceiling", 1, PURSE_CEILING_MAX, -1, &n,
	    err, errlen)) != 0)
		return rc;
	p->ceiling = (uint32_t)n;
	if ((rc = get_int(root, "overdraft_limit", 0, PURSE_LIMIT_MAX, 0, &n,
	    err, errlen)) != 0)
		return rc;
	p->overdraft = (uint32_t)n;
	if (p->overdraft != 0 && (p->app_type & 0x01) == 0)
		return fail(err, errlen, "\"overdraft_limit\" needs an ED "
		    "(application_type \"ed\" or \"ed+ep\")");
	if ((rc = get_int(root, "log_capacity", PURSE_LOG_MIN, PURSE_LOG_MAX, 10,
	    &n, err, errlen)) != 0)
		return rc;
	p->log_capacity = (uint16_t)n;
	/* docs/audit.md: records the on-card audit log holds */
	if ((rc = get_int(root, "audit_capacity", VC_PERSO_AUDIT_MIN,
	    VC_PERSO_AUDIT_MAX, VC_PERSO_AUDIT_DEFAULT, &n, err, errlen)) != 0)
		return rc;
	p->audit_capacity = (uint32_t)n;
	/* docs/purse.md "Blocking": wrong MAC2s before the purse blocks */
	if ((rc = get_int(root, "mac_tries", 1, PURSE_MAC_TRIES_MAX,
	    PURSE_MAC_TRIES_DEFAULT, &n, err, errlen)) != 0)
		return rc;
	p->mac_tries = (uint8_t)n;
	if ((rc = parse_pin_required(root, p, err, errlen)) != 0)
		return rc;
	return parse_keys(root, p, err, errlen);
}

static int
perso_new(vc_perso **out)
{
	vc_perso *p;

	if ((p = sodium_malloc(sizeof(*p))) == NULL)
		return VC_PERSO_ERROR;
	memset(p, 0, sizeof(*p));
	*out = p;
	return VC_PERSO_OK;
}

int
vc_perso_parse(const char *json, size_t len, vc_perso **out, char *err,
    size_t errlen)
{
	json_malloc_t old_malloc;
	json_free_t old_free;
	json_error_t jerr;
	json_t *root = NULL;
	vc_perso *p = NULL;
	int rc;

	*out = NULL;
	json_get_alloc_funcs(&old_malloc, &old_free);
	/* jansson keeps the PIN and key strings of the tree in its own
	 * allocations; while a profile is parsed they come from here and are
	 * wiped when freed */
	json_set_alloc_funcs(wk_wipe_malloc, wk_wipe_free);
	if ((rc = perso_new(&p)) != VC_PERSO_OK) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		rc = fail(err, errlen, "line %d: %s", jerr.line, jerr.text);
		goto out;
	}
	if ((rc = parse_root(root, p, err, errlen)) != VC_PERSO_OK)
		goto out;
	*out = p;
	p = NULL;
out:
	json_decref(root);
	json_set_alloc_funcs(old_malloc, old_free);
	sodium_memzero(&jerr, sizeof(jerr));
	vc_perso_free(&p);
	return rc;
}

/* the default profile: the demo's values, and a fresh random key of its own
 * in place of every demo master key */
static int
load_default(bool demo, vc_perso **out, char *err, size_t errlen)
{
	int rc = vc_perso_parse(vc_perso_demo_json, strlen(vc_perso_demo_json),
	    out, err, errlen);

	if (rc != VC_PERSO_OK || demo)
		return rc;
	for (size_t i = 0; i < (*out)->n_keys; i++) {
		(*out)->keys[i].master = false;
		randombytes_buf((*out)->keys[i].key, sizeof((*out)->keys[i].key));
	}
	return VC_PERSO_OK;
}

int
vc_perso_load(const char *path, bool demo, vc_perso **out, char *err,
    size_t errlen)
{
	struct stat sb;
	char *text = NULL;
	FILE *f = NULL;
	long size;
	size_t n;
	int rc = VC_PERSO_ERROR;
	char inner[200];

	*out = NULL;
	if (path != NULL && demo)
		return fail(err, errlen, "a profile file and the demo keys exclude"
		    " each other");
	if (path == NULL)
		return load_default(demo, out, err, errlen);
	if ((f = fopen(path, "rb")) == NULL) {
		fail(err, errlen, "%s: cannot read the profile: %s", path,
		    strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = fail(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fail(err, errlen, "%s: cannot read the profile", path);
		goto out;
	}
	if (size > 65536) {
		rc = fail(err, errlen, "%s: larger than 64 KiB", path);
		goto out;
	}
	if ((text = sodium_malloc((size_t)size + 1)) == NULL) {
		fail(err, errlen, "%s: out of memory", path);
		goto out;
	}
	n = fread(text, 1, (size_t)size, f);
	if (n != (size_t)size) {
		fail(err, errlen, "%s: cannot read the profile", path);
		goto out;
	}
	rc = vc_perso_parse(text, n, out, inner, sizeof(inner));
	if (rc != VC_PERSO_OK)
		fail(err, errlen, "%s: %s", path, inner);
	sodium_memzero(inner, sizeof(inner));
out:
	if (text != NULL)
		sodium_free(text);
	if (f != NULL)
		fclose(f);
	return rc;
}

int
vc_perso_check(const char *path, bool demo, char *err, size_t errlen)
{
	vc_perso *p = NULL;
	int rc = vc_perso_load(path, demo, &p, err, errlen);

	vc_perso_free(&p);
	return rc;
}

int
vc_perso_finish(vc_perso *p, const uint8_t card_serial[8])
{
	uint8_t dk[16];
	int rc = VC_PERSO_OK;

	if (p->serial_auto) {
		uint64_t v = 0;

		/* "0000" then 16 decimal digits of the card serial */
		for (int i = 0; i < 8; i++)
			v = (v << 8) | card_serial[i];
		v %= 10000000000000000ull;
		memset(p->serial, 0, sizeof(p->serial));
		for (int i = 9; i >= 2; i--) {
			p->serial[i] = (uint8_t)(v % 10);
			v /= 10;
			p->serial[i] = (uint8_t)(p->serial[i] | ((v % 10) << 4));
			v /= 10;
		}
		p->serial_auto = false;
	}
	for (size_t i = 0; i < p->n_keys; i++) {
		vc_perso_key *k = &p->keys[i];

		if (!k->master)
			continue;
		if (wk_purse_diversify(k->alg, k->key, p->serial,
		    sizeof(p->serial), dk) !=
		    WK_PURSE_CRYPTO_OK) {
			rc = VC_PERSO_ERROR;
			break;
		}
		memcpy(k->key, dk, sizeof(dk));
		k->master = false;
	}
	sodium_memzero(dk, sizeof(dk));
	return rc;
}

void
vc_perso_ef15(const vc_perso *p, uint8_t ef15[30])
{
	/* 7.3 EF 0015 */
	memcpy(ef15, p->issuer_id, 8);
	ef15[8] = p->app_type;
	ef15[9] = p->app_version;
	memcpy(ef15 + 10, p->serial, 10);
	memcpy(ef15 + 20, p->start_date, 4);
	memcpy(ef15 + 24, p->expiry_date, 4);
	memcpy(ef15 + 28, p->issuer_fci, 2);
}

void
vc_perso_free(vc_perso **p)
{
	if (p == NULL || *p == NULL)
		return;
	sodium_free(*p);	/* wipes */
	*p = NULL;
}
