/* walletkey status: what the PIV application holds */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "cmd_piv.h"
#include "piv_cli.h"
#include "wk_name.h"

static const char usage[] = "usage: walletkey status\n";

static const wk_name objects[] = {
	{ WK_PIV_OBJ_CHUID, "chuid" },
	{ WK_PIV_OBJ_CCC, "ccc" },
	{ WK_PIV_OBJ_DISCOVERY, "discovery" },
	{ WK_PIV_OBJ_KEY_HISTORY, "key-history" },
	{ WK_PIV_OBJ_SECURITY, "security-object" },
	{ WK_PIV_OBJ_PRINTED, "printed-information" },
	{ WK_PIV_OBJ_ADMIN_DATA, "admin-data" },
	{ WK_PIV_OBJ_ATTEST_CERT, "attestation-certificate" },
};

static const char *const pin_names[] = { "default", "never", "once",
	"always" };
static const char *const touch_names[] = { "default", "never", "always",
	"cached" };
static const char *const origin_names[] = { "-", "generated", "imported" };

static const char *
name_of(const char *const *names, size_t n, uint8_t v)
{
	return v < n ? names[v] : "?";
}

/* subject and expiry of a slot's certificate, or NULLs */
static json_t *
cert_json(wk_piv *piv, uint8_t slot)
{
	const unsigned char *p;
	uint8_t *der = NULL;
	size_t len = WK_PIV_OBJ_MAX;
	char *subject = NULL, until[32] = "";
	json_t *out = NULL;
	struct tm tm;
	X509 *x = NULL;

	if ((der = malloc(len)) == NULL ||
	    wk_piv_read_cert(piv, slot, der, &len) != WK_OK)
		goto out;
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		out = json_pack("{s:s}", "error", "unparsable");
		goto out;
	}
	subject = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		strftime(until, sizeof(until), "%Y-%m-%d", &tm);
	out = json_pack("{s:s,s:s}", "subject", subject != NULL ? subject :
	    "?", "not_after", until);
out:
	OPENSSL_free(subject);
	X509_free(x);
	free(der);
	return out;
}

static json_t *
slot_json(wk_piv *piv, uint8_t slot)
{
	wk_piv_metadata md;
	json_t *cert, *out;
	char name[4];
	bool has_md;

	snprintf(name, sizeof(name), "%02x", slot);
	has_md = wk_piv_get_metadata(piv, slot, &md) == WK_OK;
	cert = cert_json(piv, slot);
	if (!has_md && cert == NULL)
		return NULL;
	out = json_pack("{s:s}", "slot", name);
	if (has_md) {
		json_object_set_new(out, "algorithm",
		    json_string(wk_piv_alg_name(md.alg)));
		json_object_set_new(out, "origin", json_string(name_of(
		    origin_names, 3, md.origin)));
		if (md.has_policy) {
			json_object_set_new(out, "pin_policy", json_string(
			    name_of(pin_names, 4, md.pin_policy)));
			json_object_set_new(out, "touch_policy", json_string(
			    name_of(touch_names, 4, md.touch_policy)));
		}
	}
	json_object_set_new(out, "certificate", cert != NULL ? cert :
	    json_null());
	return out;
}

static json_t *
retries_json(wk_piv *piv, uint8_t ref)
{
	wk_piv_metadata md;
	bool verified;
	unsigned left;

	if (wk_piv_get_metadata(piv, ref, &md) == WK_OK && md.has_retries)
		return json_pack("{s:i,s:i,s:b}", "left", md.retries_left,
		    "total", md.retries_total, "default", md.is_default);
	if (ref == WK_PIV_REF_PIN &&
	    wk_piv_pin_status(piv, &verified, &left) == WK_OK && !verified)
		return json_pack("{s:i}", "left", (int)left);
	return json_null();
}

static json_t *
collect(wk_piv *piv)
{
	static const uint8_t main_slots[] = { 0x9A, 0x9C, 0x9D, 0x9E };
	uint8_t ver[3], buf[64];
	char vs[16];
	size_t len;
	uint32_t serial;
	wk_piv_metadata md;
	json_t *st, *objs, *slots, *s;
	int rc;

	st = json_object();
	if (wk_piv_get_version(piv, ver) == WK_OK) {
		snprintf(vs, sizeof(vs), "%u.%u.%u", ver[0], ver[1], ver[2]);
		json_object_set_new(st, "version", json_string(vs));
	}
	if (wk_piv_get_serial(piv, &serial) == WK_OK)
		json_object_set_new(st, "serial", json_integer(serial));
	json_object_set_new(st, "pin", retries_json(piv, WK_PIV_REF_PIN));
	json_object_set_new(st, "puk", retries_json(piv, WK_PIV_REF_PUK));
	if (wk_piv_get_metadata(piv, WK_PIV_SLOT_MGMT, &md) == WK_OK)
		json_object_set_new(st, "management_key", json_pack(
		    "{s:s,s:b}", "algorithm", wk_piv_alg_name(md.alg),
		    "default", md.has_default && md.is_default));
	objs = json_array();
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		len = sizeof(buf);
		rc = wk_piv_get_data(piv, objects[i].code, buf, &len);
		/* WK_ERR_ARG: present but bigger than buf */
		if (rc == WK_OK || rc == WK_ERR_ARG)
			json_array_append_new(objs,
			    json_string(objects[i].name));
		else if (rc == WK_ERR_AUTH_REQUIRED)
			json_array_append_new(objs, json_sprintf("%s (PIN "
			    "protected)", objects[i].name));
	}
	json_object_set_new(st, "objects", objs);
	slots = json_array();
	for (size_t i = 0; i < sizeof(main_slots); i++)
		if ((s = slot_json(piv, main_slots[i])) != NULL)
			json_array_append_new(slots, s);
	for (uint8_t sl = WK_PIV_SLOT_RETIRED1; sl <= WK_PIV_SLOT_RETIRED20;
	    sl++)
		if ((s = slot_json(piv, sl)) != NULL)
			json_array_append_new(slots, s);
	if ((s = slot_json(piv, WK_PIV_SLOT_ATTEST)) != NULL)
		json_array_append_new(slots, s);
	json_object_set_new(st, "slots", slots);
	return st;
}

static const char *
str(json_t *o, const char *key, const char *def)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : def;
}

static void
print_tries(const char *what, json_t *t)
{
	if (!json_is_object(t))
		printf("%-12s unknown\n", what);
	else if (json_object_get(t, "total") != NULL)
		printf("%-12s %lld of %lld tries left%s\n", what,
		    json_integer_value(json_object_get(t, "left")),
		    json_integer_value(json_object_get(t, "total")),
		    json_is_true(json_object_get(t, "default")) ?
		    " (factory default)" : "");
	else
		printf("%-12s %lld tries left\n", what,
		    json_integer_value(json_object_get(t, "left")));
}

static void
print_table(json_t *st)
{
	static const char *const headers[] = { "slot", "algorithm", "origin",
		"pin", "touch", "certificate" };
	const char *cells[6];
	char subject[512];
	wk_cli_table *t;
	json_t *v, *slot, *cert;
	size_t i;

	printf("%-12s %s\n", "version", str(st, "version", "unknown"));
	if ((v = json_object_get(st, "serial")) != NULL)
		printf("%-12s %lld\n", "serial", json_integer_value(v));
	print_tries("PIN", json_object_get(st, "pin"));
	print_tries("PUK", json_object_get(st, "puk"));
	if ((v = json_object_get(st, "management_key")) != NULL)
		printf("%-12s %s%s\n", "mgmt key", str(v, "algorithm", "?"),
		    json_is_true(json_object_get(v, "default")) ?
		    " (factory default: change it)" : "");
	printf("%-12s", "objects");
	json_array_foreach(json_object_get(st, "objects"), i, v)
		printf("%s%s", i ? ", " : " ", json_string_value(v));
	printf("\n\n");
	t = wk_cli_table_new(6, headers);
	json_array_foreach(json_object_get(st, "slots"), i, slot) {
		cert = json_object_get(slot, "certificate");
		subject[0] = '\0';
		if (json_is_object(cert))
			snprintf(subject, sizeof(subject), "%s (until %s)",
			    str(cert, "subject", "?"), str(cert, "not_after", "?"));
		cells[0] = str(slot, "slot", NULL);
		cells[1] = str(slot, "algorithm", NULL);
		cells[2] = str(slot, "origin", NULL);
		cells[3] = str(slot, "pin_policy", NULL);
		cells[4] = str(slot, "touch_policy", NULL);
		cells[5] = subject[0] != '\0' ? subject : NULL;
		if (t != NULL && wk_cli_table_add(t, cells) != 0)
			wk_cli_table_free(&t);
	}
	if (t != NULL)
		wk_cli_table_print(t, stdout);
	wk_cli_table_free(&t);
}

int
cmd_status(wk_cli *cli, int argc, char **argv)
{
	wk_piv *piv = NULL;
	json_t *st;
	int ret;

	if (wk_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return PIV_EXIT_OK;
	}
	if (argc > 1) {
		fputs(usage, strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return strcmp(argv[1], "--help") == 0 ? PIV_EXIT_OK :
		    PIV_EXIT_USAGE;
	}
	if ((ret = piv_cli_open(cli, &piv)) != PIV_EXIT_OK)
		return ret;
	if ((ret = piv_cli_begin(cli, piv, NULL)) != PIV_EXIT_OK)
		goto out;
	st = collect(piv);
	piv_cli_end(piv);
	if (cli->json) {
		piv_cli_json(st);
	} else {
		print_table(st);
		json_decref(st);
	}
	ret = PIV_EXIT_OK;
out:
	wk_piv_free(&piv);
	return ret;
}
