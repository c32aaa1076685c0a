/* the control panel's JSON API (ui_api.h): every action through libwalletkey */
#include "ui_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "audit_doc.h"
#include "walletkey.h"
#include "wk_arec.h"
#include "wk_hex.h"

#ifndef WK_VERSION
#define WK_VERSION "unknown"
#endif

#define RECORDS_MAX 100000

struct ui_api {
	char *reader;
	wk_ctx *ctx;
};

/* the PIV certificate slots the panel shows */
static const struct {
	uint8_t slot;
	const char *name;
} cert_slots[] = {
	{ WK_PIV_SLOT_AUTH, "PIV Authentication" },
	{ WK_PIV_SLOT_SIGN, "Digital Signature" },
	{ WK_PIV_SLOT_KEYMGMT, "Key Management" },
	{ WK_PIV_SLOT_CARDAUTH, "Card Authentication" },
	{ WK_WALLET_SLOT, "Wallet (issuer)" },
};

int
ui_api_new(const char *reader, ui_api **out)
{
	ui_api *a;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	if (reader != NULL && (a->reader = strdup(reader)) == NULL) {
		free(a);
		return -1;
	}
	*out = a;
	return 0;
}

void
ui_api_free(ui_api **ap)
{
	ui_api *a = *ap;

	if (a == NULL)
		return;
	wk_ctx_free(&a->ctx);
	free(a->reader);
	free(a);
	*ap = NULL;
}

/* ---- replies ---- */

static void
reply(ui_reply *r, unsigned status, json_t *j)
{
	r->status = status;
	r->json = j;
}

static void
fail(ui_reply *r, unsigned status, const char *code, const char *message)
{
	reply(r, status, json_pack("{s:s, s:s}", "error", code, "message",
	    message));
}

/* a libwalletkey failure as a reply */
static void
fail_rc(ui_reply *r, const char *what, int rc)
{
	char msg[256];
	unsigned st = 500;
	const char *code = "card";

	switch (rc) {
	case WK_ERR_NO_READER:
	case WK_ERR_NO_CARD:
	case WK_ERR_CARD_REMOVED:
		st = 503;
		code = "no_card";
		break;
	case WK_ERR_PCSC:
		st = 503;
		code = "pcsc";
		break;
	case WK_ERR_ARG:
	case WK_ERR_BAD_DATA:
	case WK_ERR_WRONG_LENGTH:
		st = 400;
		code = "bad_input";
		break;
	case WK_ERR_NOT_FOUND:
		st = 404;
		code = "not_found";
		break;
	case WK_ERR_PURSE_BLOCKED:
		st = 409;
		code = "purse_blocked";
		break;
	default:
		break;
	}
	snprintf(msg, sizeof(msg), "%s: %s", what, wk_strerror(rc));
	fail(r, st, code, msg);
}

/* a PIN refused: the tries left, which the page shows */
static void
fail_pin(ui_reply *r, int rc, int tries)
{
	char msg[128];

	if (rc == WK_ERR_PIN_BLOCKED || (rc == WK_ERR_WRONG_PIN && tries == 0)) {
		reply(r, 409, json_pack("{s:s, s:s, s:i}", "error", "pin_blocked",
		    "message", "the PIN is blocked: 0 tries left", "tries_left", 0));
		return;
	}
	snprintf(msg, sizeof(msg), "wrong PIN: %d %s left", tries,
	    tries == 1 ? "try" : "tries");
	reply(r, 409, json_pack("{s:s, s:s, s:i}", "error", "wrong_pin",
	    "message", msg, "tries_left", tries));
}

/* ---- the card ---- */

static int
open_card(ui_api *a, wk_card **card)
{
	int rc;

	*card = NULL;
	if (a->ctx == NULL && (rc = wk_ctx_new(&a->ctx)) != WK_OK)
		return rc;
	rc = wk_card_open(a->ctx, a->reader, card);
	if (rc == WK_ERR_PCSC) {
		/* pcscd restarted: a new context once */
		wk_ctx_free(&a->ctx);
		if ((rc = wk_ctx_new(&a->ctx)) != WK_OK)
			return rc;
		rc = wk_card_open(a->ctx, a->reader, card);
	}
	if (rc == WK_OK && !wk_card_is_walletkey(*card)) {
		wk_card_free(card);
		rc = WK_ERR_NO_CARD;
	}
	return rc;
}

static json_t *
readers_json(ui_api *a)
{
	wk_reader_info *list = NULL;
	json_t *arr = json_array();
	size_t n = 0;

	if (arr == NULL || a->ctx == NULL ||
	    wk_list_readers(a->ctx, &list, &n) != WK_OK)
		return arr;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:b, s:b}", "name",
		    list[i].name, "card_present", list[i].card_present,
		    "walletkey", list[i].walletkey));
	free(list);
	return arr;
}

static json_t *
piv_json(wk_card *card)
{
	wk_piv *piv = NULL;
	unsigned tries = 0;
	bool verified = false;
	json_t *j = NULL;

	if (wk_piv_open(card, &piv) == WK_OK &&
	    wk_piv_pin_status(piv, &verified, &tries) == WK_OK)
		j = json_pack("{s:i, s:b}", "pin_tries", verified ? -1 :
		    (int)tries, "pin_verified", verified);
	wk_piv_free(&piv);
	return j != NULL ? j : json_null();
}

static void
bcd_text(const uint8_t *p, size_t n, char *out)
{
	wk_hex_encode(p, n, out);
}

static json_t *
purse_json(wk_card *card)
{
	wk_purse_app app;
	wk_purse_holder h;
	uint32_t ep = 0;
	char serial[21], expiry[9];
	int rc, tries = -1;
	bool verified = false, blocked;
	json_t *j;

	rc = wk_purse_select(card, NULL, 0, &app);
	blocked = rc == WK_ERR_PURSE_BLOCKED;
	if (rc != WK_OK && !blocked)
		return json_null();
	(void)wk_purse_pin_status(card, &tries, &verified);
	j = json_pack("{s:b, s:i, s:b}", "blocked", blocked, "pin_tries", tries,
	    "pin_verified", verified);
	if (j == NULL || blocked)
		return j != NULL ? j : json_null();
	bcd_text(app.serial, sizeof(app.serial), serial);
	bcd_text(app.expiry, sizeof(app.expiry), expiry);
	json_object_set_new(j, "serial", json_string(serial));
	json_object_set_new(j, "expiry", json_string(expiry));
	json_object_set_new(j, "ed", json_boolean((app.app_type & 0x01) != 0));
	if ((app.app_type & 0x02) != 0 &&
	    wk_purse_balance(card, WK_PURSE_EP, &ep) == WK_OK)
		json_object_set_new(j, "ep_balance", json_integer(ep));
	if (wk_purse_read_holder(card, &h) == WK_OK)
		json_object_set_new(j, "holder", json_string(h.name));
	return j;
}

static json_t *
audit_json(wk_card *card)
{
	wk_audit_status st;

	if (wk_audit_select(card) != WK_OK ||
	    wk_audit_get_status(card, &st) != WK_OK)
		return json_null();
	return json_pack("{s:i, s:i, s:I, s:I, s:I}", "capacity", (int)st.capacity,
	    "count", (int)st.count, "base_seq", (json_int_t)st.base_seq,
	    "head_seq", (json_int_t)st.head_seq, "acked", (json_int_t)st.acked);
}

static void
api_status(ui_api *a, ui_reply *r)
{
	char serial[17], version[16];
	wk_card_info info;
	wk_card *card = NULL;
	json_t *c, *readers;
	int rc;

	rc = open_card(a, &card);
	readers = readers_json(a);
	if (rc != WK_OK) {
		reply(r, 200, json_pack("{s:o, s:n, s:s}", "readers", readers, "card",
		    "message", rc == WK_ERR_PCSC ? "pcscd does not answer" :
		    "no walletkey card: insert one"));
		return;
	}
	if ((rc = wk_card_get_info(card, &info)) != WK_OK) {
		json_decref(readers);
		wk_card_free(&card);
		fail_rc(r, "read the card", rc);
		return;
	}
	wk_hex_encode(info.serial, sizeof(info.serial), serial);
	snprintf(version, sizeof(version), "%u.%u.%u", info.version[0],
	    info.version[1], info.version[2]);
	c = json_pack("{s:s, s:s, s:s, s:s}", "reader", wk_card_reader(card),
	    "serial", serial, "version", version, "label", info.label);
	if (c != NULL) {
		json_object_set_new(c, "piv", piv_json(card));
		json_object_set_new(c, "purse", purse_json(card));
		json_object_set_new(c, "audit", audit_json(card));
	}
	wk_card_free(&card);
	reply(r, 200, json_pack("{s:o, s:o}", "readers", readers, "card",
	    c != NULL ? c : json_null()));
}

/* ---- PINs ---- */

static bool
digits(const char *s, size_t lo, size_t hi)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n >= lo && n <= hi && strspn(s, "0123456789") == n;
}

static void
api_pin(ui_api *a, json_t *body, ui_reply *r)
{
	const char *which = json_string_value(json_object_get(body, "which"));
	const char *old = json_string_value(json_object_get(body, "old"));
	const char *nw = json_string_value(json_object_get(body, "new"));
	wk_card *card = NULL;
	wk_piv *piv = NULL;
	unsigned ptries = 0;
	int rc, tries = -1;

	if (which == NULL || old == NULL || nw == NULL) {
		fail(r, 400, "bad_input", "give which (piv or purse), old and new");
		return;
	}
	if (strcmp(which, "piv") == 0) {
		/* PIV PINs are 6 to 8 characters (SP 800-73-4 2.4.3) */
		if (strlen(old) < 6 || strlen(old) > 8 || strlen(nw) < 6 ||
		    strlen(nw) > 8) {
			fail(r, 400, "bad_input", "a PIV PIN is 6 to 8 characters");
			return;
		}
	} else if (strcmp(which, "purse") == 0) {
		if (!digits(old, 4, 12) || !digits(nw, 4, 12)) {
			fail(r, 400, "bad_input", "a purse PIN is 4 to 12 digits");
			return;
		}
	} else {
		fail(r, 400, "bad_input", "which is piv or purse");
		return;
	}
	if ((rc = open_card(a, &card)) != WK_OK) {
		fail_rc(r, "connect to the card", rc);
		return;
	}
	if (strcmp(which, "piv") == 0) {
		if ((rc = wk_piv_open(card, &piv)) == WK_OK)
			rc = wk_piv_change_reference(piv, WK_PIV_REF_PIN,
			    (const uint8_t *)old, strlen(old), (const uint8_t *)nw,
			    strlen(nw), &ptries);
		tries = (int)ptries;
	} else if ((rc = wk_purse_select(card, NULL, 0, NULL)) == WK_OK) {
		rc = wk_purse_change_pin(card, old, strlen(old), nw, strlen(nw),
		    &tries);
	}
	wk_piv_free(&piv);
	wk_card_free(&card);
	if (rc == WK_OK)
		reply(r, 200, json_pack("{s:s, s:b}", "which", which, "changed",
		    true));
	else if (rc == WK_ERR_WRONG_PIN || rc == WK_ERR_PIN_BLOCKED)
		fail_pin(r, rc, tries);
	else
		fail_rc(r, "change the PIN", rc);
}

/* ---- certificates ---- */

static char *
x509_name(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL, *p;
	long len;

	if (b == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0 &&
	    (len = BIO_get_mem_data(b, &p)) >= 0 &&
	    (out = malloc((size_t)len + 1)) != NULL) {
		memcpy(out, p, (size_t)len);
		out[len] = '\0';
	}
	BIO_free(b);
	return out;
}

static json_t *
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	char buf[32];

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *
cert_json(uint8_t slot, const char *name, const uint8_t *der, size_t len)
{
	const uint8_t *p = der;
	uint8_t md[32];
	char fp[65], sl[3], *subj = NULL, *iss = NULL;
	X509 *x;
	json_t *j = NULL;

	snprintf(sl, sizeof(sl), "%02x", slot);
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return json_pack("{s:s, s:s, s:b}", "slot", sl, "name", name,
		    "parses", false);
	crypto_hash_sha256(md, der, len);
	wk_hex_encode(md, sizeof(md), fp);
	subj = x509_name(X509_get_subject_name(x));
	iss = x509_name(X509_get_issuer_name(x));
	j = json_pack("{s:s, s:s, s:b, s:s?, s:s?, s:o, s:o, s:s, s:i}", "slot",
	    sl, "name", name, "parses", true, "subject", subj, "issuer", iss,
	    "not_before", asn1_time(X509_get0_notBefore(x)), "not_after",
	    asn1_time(X509_get0_notAfter(x)), "sha256", fp, "key_bits",
	    EVP_PKEY_get_bits(X509_get0_pubkey(x)));
	free(subj);
	free(iss);
	X509_free(x);
	return j;
}

static void
api_certs(ui_api *a, ui_reply *r)
{
	uint8_t *der = NULL;
	wk_card *card = NULL;
	wk_piv *piv = NULL;
	json_t *arr;
	size_t len;
	int rc;

	if ((rc = open_card(a, &card)) != WK_OK ||
	    (rc = wk_piv_open(card, &piv)) != WK_OK) {
		wk_card_free(&card);
		fail_rc(r, "read the certificates", rc);
		return;
	}
	arr = json_array();
	if ((der = malloc(WK_PIV_OBJ_MAX)) != NULL)
		for (size_t i = 0; i < sizeof(cert_slots) / sizeof(cert_slots[0]);
		    i++) {
			len = WK_PIV_OBJ_MAX;
			if (wk_piv_read_cert(piv, cert_slots[i].slot, der, &len) ==
			    WK_OK)
				json_array_append_new(arr, cert_json(cert_slots[i].slot,
				    cert_slots[i].name, der, len));
		}
	free(der);
	wk_piv_free(&piv);
	wk_card_free(&card);
	reply(r, 200, json_pack("{s:o}", "certificates", arr));
}

static void
api_cert(ui_api *a, const char *slot_hex, ui_reply *r)
{
	uint8_t slot = 0, *der = NULL;
	const uint8_t *p;
	wk_card *card = NULL;
	wk_piv *piv = NULL;
	char fname[32], *pem = NULL;
	BIO *b = NULL;
	X509 *x = NULL;
	size_t len = WK_PIV_OBJ_MAX, i;
	long n;
	int rc;

	for (i = 0; i < sizeof(cert_slots) / sizeof(cert_slots[0]); i++) {
		char sl[3];

		snprintf(sl, sizeof(sl), "%02x", cert_slots[i].slot);
		if (slot_hex != NULL && strcasecmp(slot_hex, sl) == 0)
			slot = cert_slots[i].slot;
	}
	if (slot == 0) {
		fail(r, 400, "bad_input", "slot is one of 9a, 9c, 9d, 9e, 82");
		return;
	}
	if ((rc = open_card(a, &card)) != WK_OK ||
	    (rc = wk_piv_open(card, &piv)) != WK_OK ||
	    (der = malloc(WK_PIV_OBJ_MAX)) == NULL ||
	    (rc = wk_piv_read_cert(piv, slot, der, &len)) != WK_OK) {
		fail_rc(r, "read the certificate", der == NULL && rc == WK_OK ?
		    WK_ERR_MEMORY : rc);
		goto out;
	}
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    (b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509(b, x) != 1 ||
	    (n = BIO_get_mem_data(b, &pem)) <= 0) {
		fail(r, 422, "bad_certificate", "the slot's certificate does not"
		    " parse");
		goto out;
	}
	snprintf(fname, sizeof(fname), "walletkey-%02x.pem", slot);
	reply(r, 200, json_pack("{s:s, s:s, s:s%}", "slot", slot_hex, "filename",
	    fname, "pem", pem, (size_t)n));
out:
	BIO_free(b);
	X509_free(x);
	free(der);
	wk_piv_free(&piv);
	wk_card_free(&card);
}

/* ---- the label ---- */

static void
api_label(ui_api *a, json_t *body, ui_reply *r)
{
	json_t *v = json_object_get(body, "label");
	const char *label = json_string_value(v);
	wk_card *card = NULL;
	wk_card_info info;
	int rc;

	if (label == NULL || json_string_length(v) > WK_CARD_LABEL_MAX ||
	    strlen(label) != json_string_length(v)) {
		fail(r, 400, "bad_input", "the name is at most 32 bytes of text");
		return;
	}
	if ((rc = open_card(a, &card)) != WK_OK) {
		fail_rc(r, "connect to the card", rc);
		return;
	}
	rc = wk_card_set_label(card, label, strlen(label));
	if (rc == WK_OK)
		rc = wk_card_get_info(card, &info);
	wk_card_free(&card);
	if (rc != WK_OK) {
		fail_rc(r, "name the key", rc);
		return;
	}
	reply(r, 200, json_pack("{s:s}", "label", info.label));
}

/* ---- records ---- */

typedef struct rec_ctx {
	json_t *arr;
	size_t n;
} rec_ctx;

static int
on_record(void *arg, const uint8_t *raw)
{
	rec_ctx *c = arg;
	char t[32], s[48], g[48], term[24], tn[16];
	const char *purse;
	int64_t amount;
	uint8_t mine;
	wk_arec rec;

	if (c->n++ >= RECORDS_MAX ||
	    wk_arec_decode(raw, WK_AREC_LEN, &rec) != WK_AREC_OK)
		return -1;
	audit_fmt_time(&rec, t, sizeof(t));
	audit_fmt_account(rec.src, s, sizeof(s));
	audit_fmt_account(rec.dst, g, sizeof(g));
	audit_fmt_terminal(&rec, term, sizeof(term));
	amount = audit_outgoing(&rec) ? -(int64_t)rec.amount : (int64_t)rec.amount;
	/* whose balance the record carries: a purse's, the bank account's
	 * (the bank's records) or none (PIV records) */
	mine = audit_outgoing(&rec) ? rec.src[0] : rec.dst[0];
	purse = mine == WK_AREC_ACCT_ED ? "ED" : mine == WK_AREC_ACCT_EP ? "EP" :
	    wk_arec_is_issuer(rec.type) ? "account" : "-";
	return json_array_append_new(c->arr, json_pack("{s:I, s:s, s:i, s:s, "
	    "s:s, s:I, s:I, s:s, s:s, s:s, s:s}",
	    "seq", (json_int_t)rec.seq, "type", wk_arec_type_name(rec.type, tn,
	    sizeof(tn)), "type_code", rec.type, "origin",
	    wk_arec_origin_name(rec.type), "time", t, "amount_fen",
	    (json_int_t)amount, "balance_fen", (json_int_t)rec.balance,
	    "source", s, "target", g, "terminal", term, "purse", purse)) == 0 ?
	    0 : -1;
}

static void
api_records(ui_api *a, json_t *body, ui_reply *r)
{
	json_t *jp = json_object_get(body, "pin");
	json_t *jf = json_object_get(body, "from_seq");
	const char *pin = json_string_value(jp);
	wk_card *card = NULL;
	rec_ctx c = { NULL, 0 };
	uint64_t from = 0;
	bool signed_head = false;
	int rc, tries = -1;

	if (jp != NULL && !json_is_null(jp) && !digits(pin, 4, 12)) {
		fail(r, 400, "bad_input", "a purse PIN is 4 to 12 digits");
		return;
	}
	if (jf != NULL && (!json_is_integer(jf) || json_integer_value(jf) < 0)) {
		fail(r, 400, "bad_input", "from_seq is a record number");
		return;
	}
	if (jf != NULL)
		from = (uint64_t)json_integer_value(jf);
	if ((rc = open_card(a, &card)) != WK_OK) {
		fail_rc(r, "connect to the card", rc);
		return;
	}
	if ((c.arr = json_array()) == NULL) {
		wk_card_free(&card);
		fail(r, 500, "internal", "out of memory");
		return;
	}
	rc = wk_audit_export(card, pin, pin != NULL ? strlen(pin) : 0, from,
	    on_record, &c, NULL, &signed_head, &tries);
	wk_card_free(&card);
	if (rc == WK_ERR_AUTH_REQUIRED) {
		json_decref(c.arr);
		fail(r, 409, "pin_required", "the card shows its records after the"
		    " purse PIN");
		return;
	}
	if (rc == WK_ERR_WRONG_PIN || rc == WK_ERR_PIN_BLOCKED) {
		json_decref(c.arr);
		fail_pin(r, rc, tries);
		return;
	}
	if (rc != WK_OK) {
		json_decref(c.arr);
		fail_rc(r, "read the records", rc);
		return;
	}
	reply(r, 200, json_pack("{s:o, s:b}", "records", c.arr, "signed",
	    signed_head));
}

static void
api_about(ui_reply *r)
{
	reply(r, 200, json_pack("{s:s, s:s, s:s}", "version", WK_VERSION,
	    "docs", "/usr/share/doc/walletkey-tools", "manual",
	    "man walletkey; docs/holder.md"));
}

void
ui_api_handle(ui_api *a, const char *method, const char *path,
    const char *slot, json_t *body, ui_reply *r)
{
	bool get = strcmp(method, "GET") == 0;

	r->status = 0;
	r->json = NULL;
	if (strcmp(path, "status") == 0 && get) {
		api_status(a, r);
	} else if (strcmp(path, "refresh") == 0 && !get) {
		wk_ctx_free(&a->ctx);
		api_status(a, r);
	} else if (strcmp(path, "pin") == 0 && !get) {
		api_pin(a, body, r);
	} else if (strcmp(path, "certs") == 0 && get) {
		api_certs(a, r);
	} else if (strcmp(path, "cert") == 0 && get) {
		api_cert(a, slot, r);
	} else if (strcmp(path, "label") == 0 && !get) {
		api_label(a, body, r);
	} else if (strcmp(path, "records") == 0 && !get) {
		api_records(a, body, r);
	} else if (strcmp(path, "about") == 0 && get) {
		api_about(r);
	} else {
		fail(r, 404, "not_found", "no such call");
	}
	if (r->json == NULL)
		fail(r, 500, "internal", "out of memory");
}
