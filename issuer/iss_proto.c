/*
 * the issuer's side of enrolment and remote load (docs/issuer.md). Every
 * check that needs no database runs before the transaction; each state
 * change runs in one transaction that is retried when the engine reports
 * a conflict (busy, deadlock, a concurrent insert of the same load).
 */
#include "iss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>
#include <sodium.h>

#include "wk_attest.h"
#include "wk_hex.h"
#include "wk_purse_crypto.h"

#define TX_TRIES 8
/* the PIV slot of the wallet key (docs/remote-load.md) */
#define WK_WALLET_ATTEST_SLOT 0x82

int
iss_run_tx(iss *is, iss_tx_fn *fn, void *arg, iss_err *e)
{
	iss_db *db;
	int rc = -1;

	if ((db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		return -1;
	}
	for (int i = 0; i < TX_TRIES; i++) {
		if ((rc = iss_db_begin(db)) != ISS_DB_OK) {
			iss_fail_db(e, db, rc);
			if (rc == ISS_DB_RETRY)
				continue;
			rc = -1;
			break;
		}
		rc = fn(is, db, arg, e);
		if (rc == 0 && (rc = iss_db_commit(db)) != ISS_DB_OK)
			iss_fail_db(e, db, rc);
		if (rc != 0)
			iss_db_rollback(db);
		if (rc != ISS_DB_RETRY)
			break;
		iss_fail(e, 503, "busy", "the database is busy; retry the request");
	}
	if (rc != 0)
		rc = -1;
	iss_pool_put(is->pool, db);
	return rc;
}

int
iss_db_fail(iss_err *e, iss_db *db, int rc)
{
	if (rc == ISS_DB_RETRY || rc == ISS_DB_CONFLICT)
		return ISS_DB_RETRY;
	iss_fail_db(e, db, rc);
	return -1;
}

static int
req_keys(json_t *req, const char *const *allowed, iss_err *e)
{
	const char *k;
	json_t *v;

	if (!json_is_object(req)) {
		iss_fail(e, 400, "bad_json", "the body is not a JSON object");
		return -1;
	}
	json_object_foreach(req, k, v) {
		bool ok = false;

		for (size_t i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				ok = true;
		if (!ok) {
			iss_fail(e, 400, "unknown_field", "unknown field \"%.64s\"", k);
			return -1;
		}
	}
	(void)v;
	return 0;
}

static const char *
req_str(json_t *req, const char *name, bool required, iss_err *e)
{
	json_t *v = json_object_get(req, name);

	if (v == NULL && !required)
		return NULL;
	if (!json_is_string(v)) {
		iss_fail(e, 400, "missing_field", "\"%s\" must be a string", name);
		return NULL;
	}
	return json_string_value(v);
}

/* base64 (standard alphabet, padded) into out; returns length or -1 */
static long
b64_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n;

	if (s == NULL || sodium_base642bin(out, cap, s, strlen(s), NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return (long)n;
}

static json_t *
b64_json(const uint8_t *p, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	json_t *j;

	if (s == NULL)
		return NULL;
	sodium_bin2base64(s, cap, p, len, sodium_base64_VARIANT_ORIGINAL);
	j = json_string(s);
	free(s);
	return j;
}

static char *
hex_alloc(const uint8_t *p, size_t len)
{
	char *h = malloc(2 * len + 1);

	if (h != NULL)
		wk_hex_encode(p, len, h);
	return h;
}

static int
msg_arg(json_t *req, const char *name, uint8_t *buf, size_t *len, wk_msg *m,
    int want_type, iss_err *e)
{
	const char *s = req_str(req, name, true, e);
	long n;
	int rc;

	if (s == NULL)
		return -1;
	if ((n = b64_decode(s, buf, WK_MSG_MAX)) <= 0) {
		iss_fail(e, 400, "bad_message", "\"%s\" is not a base64 message of at"
		    " most %d bytes", name, WK_MSG_MAX);
		return -1;
	}
	*len = (size_t)n;
	if ((rc = wk_msg_parse(buf, *len, m, NULL, NULL)) != WK_MSG_OK) {
		iss_fail(e, 400, "bad_message", "%s: %s", name, wk_msg_strerror(rc));
		return -1;
	}
	if (want_type > 0 && m->type != want_type) {
		iss_fail(e, 400, "wrong_message_type", "%s: a %s, not a %s", name,
		    wk_msg_type_name(m->type), wk_msg_type_name(want_type));
		return -1;
	}
	return 0;
}

static void
host_datetime(uint8_t date[4], uint8_t tim[3])
{
	time_t now = time(NULL);
	struct tm tm;
	int y;

#define BCD(v) ((uint8_t)((((v) / 10) << 4) | ((v) % 10)))
	gmtime_r(&now, &tm);
	y = tm.tm_year + 1900;
	date[0] = BCD(y / 100);
	date[1] = BCD(y % 100);
	date[2] = BCD(tm.tm_mon + 1);
	date[3] = BCD(tm.tm_mday);
	tim[0] = BCD(tm.tm_hour);
	tim[1] = BCD(tm.tm_min);
	tim[2] = BCD(tm.tm_sec);
#undef BCD
}

/* ---- cards ---- */

typedef struct card_row {
	char card_id[2 * WK_MSG_CARD_ID_LEN + 1];
	int64_t account_id;
	char pan[WK_MSG_PAN_MAX + 1];
	uint8_t key_version;
	uint8_t algs[WK_PURSE_KEY_N];	/* its key algorithms, as enrolled */
	bool revoked;
	X509 *cert;
	uint8_t cert_der[2048];
	size_t cert_len;
	EVP_PKEY *pub;		/* owned by cert */
} card_row;

static void
card_row_clear(card_row *c)
{
	X509_free(c->cert);
	c->cert = NULL;
	c->pub = NULL;
}

/* reads a card (outside a transaction is fine: cards change only by enrol
 * and revoke); 404 when unknown */
static int
card_load(iss_db *db, const uint8_t id[WK_MSG_CARD_ID_LEN], card_row *c,
    iss_err *e)
{
	iss_res *r = NULL;
	const uint8_t *p;
	long n;
	int rc = -1, d;

	memset(c, 0, sizeof(*c));
	wk_hex_encode(id, WK_MSG_CARD_ID_LEN, c->card_id);
	if ((d = iss_db_exec(db, "SELECT c.account_id, a.pan, c.key_version,"
	    " c.revoked_at, c.cert, c.key_algs FROM cards c JOIN accounts a"
	    " ON a.id = c.account_id WHERE c.card_id = $1",
	    (iss_param[]){ ISS_PS(c->card_id) }, 1, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) != 1) {
		iss_fail(e, 404, "card_not_found", "card %s is not enrolled", c->card_id);
		goto out;
	}
	c->account_id = iss_res_int(r, 0, 0);
	snprintf(c->pan, sizeof(c->pan), "%s", iss_res_text(r, 0, 1));
	c->key_version = (uint8_t)iss_res_int(r, 0, 2);
	c->revoked = iss_res_text(r, 0, 3) != NULL;
	if (iss_algs_from_hex(iss_res_text(r, 0, 5), c->algs) != 0) {
		iss_fail(e, 500, "internal", "the stored key algorithms do not parse");
		goto out;
	}
	if ((n = wk_hex_decode(iss_res_text(r, 0, 4), c->cert_der,
	    sizeof(c->cert_der))) <= 0 ||
	    (p = c->cert_der, c->cert = d2i_X509(NULL, &p, n)) == NULL ||
	    (c->pub = X509_get0_pubkey(c->cert)) == NULL) {
		iss_fail(e, 500, "internal", "the stored certificate does not parse");
		goto out;
	}
	c->cert_len = (size_t)n;
	rc = 0;
out:
	iss_res_free(&r);
	if (rc != 0)
		card_row_clear(c);
	return rc;
}

static int
with_db(iss *is, iss_db **db, iss_err *e)
{
	if ((*db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		return -1;
	}
	return 0;
}

static int
card_get(iss *is, const uint8_t id[WK_MSG_CARD_ID_LEN], card_row *c, iss_err *e)
{
	iss_db *db;
	int rc;

	if (with_db(is, &db, e) != 0)
		return -1;
	rc = card_load(db, id, c, e);
	iss_pool_put(is->pool, db);
	return rc == 0 ? 0 : -1;
}

static int
verify_card_msg(const card_row *c, const uint8_t *buf, size_t len, wk_msg *m,
    iss_err *e)
{
	int rc = wk_msg_verify(buf, len, c->pub, m);

	if (rc == WK_MSG_BAD_SIGNATURE) {
		iss_fail(e, 403, "bad_signature",
		    "the message is not signed by card %s", c->card_id);
		return -1;
	}
	if (rc != WK_MSG_OK) {
		iss_fail(e, 400, "bad_message", "%s", wk_msg_strerror(rc));
		return -1;
	}
	return 0;
}

/* ---- enrolment ---- */

typedef struct enrol_ctx {
	uint8_t card_id[WK_MSG_CARD_ID_LEN];
	char card_hex[2 * WK_MSG_CARD_ID_LEN + 1];
	int64_t account_id;
	EVP_PKEY *pub;
	char *pub_hex;
	const char *attestation_hex;	/* the verified chain's first two, hex */
	X509 *cert;		/* out */
	uint8_t algs[WK_PURSE_KEY_N];	/* out: the card's key algorithms */
	bool existing;
} enrol_ctx;

static char *
pub_hex(EVP_PKEY *pub)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pub, &der);
	char *h = n > 0 ? hex_alloc(der, (size_t)n) : NULL;

	OPENSSL_free(der);
	return h;
}

static int
tx_enrol(iss *is, iss_db *db, void *arg, iss_err *e)
{
	enrol_ctx *x = arg;
	iss_res *r = NULL;
	unsigned char *der = NULL;
	char *cert_hex = NULL, serial[80] = "", now[40];
	char algs_hex[ISS_ALGS_HEX_LEN + 1];
	ASN1_INTEGER *sn;
	BIGNUM *bn = NULL;
	char *bnhex = NULL;
	int64_t t = (int64_t)time(NULL);
	int rc = -1, d, n;

	X509_free(x->cert);
	x->cert = NULL;
	x->existing = false;
	if ((d = iss_db_exec(db, "SELECT account_id, pubkey, revoked_at, cert,"
	    " key_algs FROM cards WHERE card_id = $1",
	    (iss_param[]){ ISS_PS(x->card_hex) }, 1, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) == 1) {
		uint8_t buf[2048];
		const uint8_t *p = buf;
		long len;

		if (iss_res_text(r, 0, 2) != NULL) {
			iss_fail(e, 403, "card_revoked", "card %s is revoked", x->card_hex);
			goto out;
		}
		if (iss_res_int(r, 0, 0) != x->account_id ||
		    strcmp(iss_res_text(r, 0, 1), x->pub_hex) != 0) {
			iss_fail(e, 409, "card_exists",
			    "card %s is enrolled with another key or account", x->card_hex);
			goto out;
		}
		/* the same enrolment again: the same certificate, the same
		 * keys of the same algorithms, whatever the issuer's choice
		 * for new cards is now */
		if ((len = wk_hex_decode(iss_res_text(r, 0, 3), buf, sizeof(buf))) <= 0 ||
		    (x->cert = d2i_X509(NULL, &p, len)) == NULL ||
		    iss_algs_from_hex(iss_res_text(r, 0, 4), x->algs) != 0) {
			iss_fail(e, 500, "internal", "the stored certificate does not parse");
			goto out;
		}
		x->existing = true;
		rc = 0;
		goto out;
	}
	if (iss_ca_issue(&is->keys, x->pub, x->card_id, t - 60,
	    t + (int64_t)ISS_CERT_DAYS * 86400, &x->cert) != 0 ||
	    (n = i2d_X509(x->cert, &der)) <= 0 ||
	    (cert_hex = hex_alloc(der, (size_t)n)) == NULL ||
	    (sn = X509_get_serialNumber(x->cert)) == NULL ||
	    (bn = ASN1_INTEGER_to_BN(sn, NULL)) == NULL ||
	    (bnhex = BN_bn2hex(bn)) == NULL) {
		iss_fail(e, 500, "internal", "cannot issue the certificate");
		goto out;
	}
	snprintf(serial, sizeof(serial), "%s", bnhex);
	iss_now_iso(now, sizeof(now));
	/* a new card gets the algorithms the issuer chose for new cards
	 * (walletkey-issuer key-algorithms), recorded with it for every later
	 * MAC and TAC */
	if (iss_key_algs_get(db, x->algs) != 0) {
		iss_fail(e, 500, "internal", "issuer_meta: key_algs does not parse");
		goto out;
	}
	iss_algs_hex(x->algs, algs_hex);
	if ((d = iss_db_exec(db, "INSERT INTO cards (card_id, account_id, cert_serial,"
	    " cert, pubkey, key_version, balance, created_at, key_algs) VALUES"
	    " ($1, $2, $3, $4, $5, $6, 0, $7, $8)", (iss_param[]){
	    ISS_PS(x->card_hex), ISS_PI(x->account_id), ISS_PS(serial),
	    ISS_PS(cert_hex), ISS_PS(x->pub_hex), ISS_PI(is->keys.key_version),
	    ISS_PS(now), ISS_PS(algs_hex) }, 8, NULL)) != ISS_DB_OK ||
	    (d = iss_oplog_append(db, &(iss_op){ .kind = "card.enrol",
	    .card_id = x->card_hex, .seq = -1, .account_id = x->account_id,
	    .amount = -1, .detail = serial, .msg = x->attestation_hex },
	    NULL)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(bnhex);
	BN_free(bn);
	free(cert_hex);
	OPENSSL_free(der);
	iss_res_free(&r);
	return rc;
}

static bool
is_p256(EVP_PKEY *k)
{
	char group[32];
	size_t n;

	return EVP_PKEY_is_a(k, "EC") &&
	    EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &n) == 1 &&
	    strcmp(group, "prime256v1") == 0;
}

/* ---- attestation (docs/attestation.md) ---- */

typedef struct attest_chain {
	uint8_t *der[WK_ATTEST_CHAIN_MAX];
	size_t len[WK_ATTEST_CHAIN_MAX];
	size_t n;
	char *hex;		/* key attestation then device certificate, for the oplog */
} attest_chain;

static void
attest_chain_clear(attest_chain *c)
{
	for (size_t i = 0; i < WK_ATTEST_CHAIN_MAX; i++)
		free(c->der[i]);
	free(c->hex);
	memset(c, 0, sizeof(*c));
}

/* "attestation": [key attestation, device certificate, intermediates...],
 * each base64 DER */
static int
attest_parse(json_t *req, attest_chain *c, iss_err *e)
{
	json_t *a = json_object_get(req, "attestation"), *v;
	size_t i, total = 0;
	long n;

	memset(c, 0, sizeof(*c));
	if (a == NULL) {
		iss_fail(e, 403, "attestation_required", "enrolment needs the"
		    " card's attestation of its wallet key (a walletkey card from a"
		    " manufacturer this issuer trusts)");
		return -1;
	}
	if (!json_is_array(a) || json_array_size(a) < 2 ||
	    json_array_size(a) > WK_ATTEST_CHAIN_MAX) {
		iss_fail(e, 400, "bad_attestation", "\"attestation\" is an array of"
		    " 2 to %d base64 DER certificates: the key's attestation, then"
		    " the card's device certificate", WK_ATTEST_CHAIN_MAX);
		return -1;
	}
	json_array_foreach(a, i, v) {
		if ((c->der[i] = malloc(WK_ATTEST_CERT_MAX)) == NULL) {
			iss_fail(e, 500, "internal", "out of memory");
			return -1;
		}
		if ((n = b64_decode(json_string_value(v), c->der[i],
		    WK_ATTEST_CERT_MAX)) <= 0) {
			iss_fail(e, 400, "bad_attestation", "attestation[%zu] is not"
			    " a base64 certificate of at most %d bytes", i,
			    WK_ATTEST_CERT_MAX);
			return -1;
		}
		c->len[i] = (size_t)n;
		c->n = i + 1;
	}
	total = c->len[0] + c->len[1];
	if ((c->hex = malloc(2 * total + 1)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		return -1;
	}
	wk_hex_encode(c->der[0], c->len[0], c->hex);
	wk_hex_encode(c->der[1], c->len[1], c->hex + 2 * c->len[0]);
	return 0;
}

static int
attest_check(iss *is, const attest_chain *c, const uint8_t card_id[8],
    EVP_PKEY *pub, iss_err *e)
{
	static const struct {
		int rc;
		int status;
		const char *code;
	} map[] = {
		{ WK_ATTEST_MALFORMED, 400, "bad_attestation" },
		{ WK_ATTEST_UNTRUSTED, 403, "attestation_untrusted" },
		{ WK_ATTEST_WRONG_CARD, 403, "attestation_wrong_card" },
		{ WK_ATTEST_WRONG_SLOT, 403, "attestation_wrong_slot" },
		{ WK_ATTEST_NOT_GENERATED, 403, "key_not_generated" },
		{ WK_ATTEST_WRONG_KEY, 403, "attestation_wrong_key" },
	};
	const uint8_t *der[WK_ATTEST_CHAIN_MAX];
	char why[200];
	int rc;

	if (is->keys.n_mfg == 0) {
		iss_fail(e, 403, "attestation_untrusted", "this issuer trusts no"
		    " card manufacturer yet (walletkey-issuer manufacturer-add)");
		return -1;
	}
	for (size_t i = 0; i < c->n; i++)
		der[i] = c->der[i];
	rc = wk_attest_verify(is->keys.mfg, der, c->len, c->n, card_id,
	    WK_WALLET_ATTEST_SLOT, pub, NULL, why, sizeof(why));
	if (rc == WK_ATTEST_OK)
		return 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].rc == rc) {
			iss_fail(e, map[i].status, map[i].code, "%s", why);
			return -1;
		}
	iss_fail(e, 500, "internal", "the attestation check failed to run");
	return -1;
}

typedef struct refusal_ctx {
	const char *card_hex;
	int64_t account_id;
	const char *detail;
} refusal_ctx;

static int
tx_refusal(iss *is, iss_db *db, void *arg, iss_err *e)
{
	refusal_ctx *x = arg;
	int d;

	(void)is;
	if ((d = iss_oplog_append(db, &(iss_op){ .kind = "card.enrol.refused",
	    .card_id = x->card_hex, .seq = -1, .account_id = x->account_id,
	    .amount = -1, .detail = x->detail }, NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	return 0;
}

/* a refused enrolment of an authenticated account holder: logged, then
 * answered with e as it was */
static void
log_refusal(iss *is, const char *card_hex, int64_t account_id, iss_err *e)
{
	iss_err keep = *e, ignored = { 0 };
	char detail[320];
	refusal_ctx x = { card_hex, account_id, detail };

	snprintf(detail, sizeof(detail), "%s: %s", e->code, e->message);
	if (iss_run_tx(is, tx_refusal, &x, &ignored) != 0)
		fprintf(stderr, "walletkey-issuer: cannot log a refused enrolment"
		    " of card %s: %s\n", card_hex, ignored.message);
	*e = keep;
}

int
iss_enrol(iss *is, const char *peer, json_t *req, json_t **resp, iss_err *e)
{
	static const char *const keys[] = { "pan", "password", "card_id", "csr",
	    "attestation", NULL };
	const char *pan, *password, *card_hex, *csr_b64;
	uint8_t csr_der[2048], perso_keys[ISS_PERSO_KEYS_LEN];
	unsigned char *der = NULL, *cader = NULL;
	const uint8_t *p;
	X509_REQ *csr = NULL;
	X509_NAME_ENTRY *ne;
	ASN1_STRING *cn;
	attest_chain chain = { 0 };
	enrol_ctx x = { 0 };
	wk_msg perso = { 0 };
	wk_buf out;
	long n;
	int rc = -1, idx, dn = 0, can = 0;

	wk_buf_init_heap(&out, WK_MSG_MAX);
	if (req_keys(req, keys, e) != 0 ||
	    (pan = req_str(req, "pan", true, e)) == NULL ||
	    (password = req_str(req, "password", true, e)) == NULL ||
	    (card_hex = req_str(req, "card_id", true, e)) == NULL ||
	    (csr_b64 = req_str(req, "csr", true, e)) == NULL)
		goto out;
	if (strlen(card_hex) != 2 * WK_MSG_CARD_ID_LEN ||
	    wk_hex_decode(card_hex, x.card_id, sizeof(x.card_id)) !=
	    WK_MSG_CARD_ID_LEN) {
		iss_fail(e, 400, "bad_card_id", "card_id is 16 hex digits");
		goto out;
	}
	wk_hex_encode(x.card_id, sizeof(x.card_id), x.card_hex);
	if ((n = b64_decode(csr_b64, csr_der, sizeof(csr_der))) <= 0 ||
	    (p = csr_der, csr = d2i_X509_REQ(NULL, &p, n)) == NULL ||
	    p != csr_der + n) {
		iss_fail(e, 400, "bad_csr", "csr is not a base64 DER PKCS#10 request");
		goto out;
	}
	if ((x.pub = X509_REQ_get0_pubkey(csr)) == NULL || !is_p256(x.pub)) {
		iss_fail(e, 400, "bad_csr", "the CSR key is not an EC P-256 key");
		goto out;
	}
	if (X509_REQ_verify(csr, x.pub) != 1) {
		iss_fail(e, 400, "bad_csr", "the CSR signature does not verify");
		goto out;
	}
	idx = X509_NAME_get_index_by_NID(X509_REQ_get_subject_name(csr),
	    NID_commonName, -1);
	if (idx < 0 || (ne = X509_NAME_get_entry(X509_REQ_get_subject_name(csr),
	    idx)) == NULL || (cn = X509_NAME_ENTRY_get_data(ne)) == NULL ||
	    (size_t)ASN1_STRING_length(cn) != strlen(x.card_hex) ||
	    strncasecmp((const char *)ASN1_STRING_get0_data(cn), x.card_hex,
	    strlen(x.card_hex)) != 0) {
		iss_fail(e, 400, "bad_csr", "the CSR subject CN is not the card id");
		goto out;
	}
	if (iss_account_check(is, peer, pan, password, &x.account_id, e) != 0)
		goto out;
	/* only a key a genuine card generated in its wallet slot, for this
	 * card id, is certified and receives purse keys; an account holder's
	 * attempt with anything else is logged */
	if (attest_parse(req, &chain, e) != 0 ||
	    attest_check(is, &chain, x.card_id, x.pub, e) != 0) {
		if (e->status < 500)
			log_refusal(is, x.card_hex, x.account_id, e);
		goto out;
	}
	x.attestation_hex = chain.hex;
	if ((x.pub_hex = pub_hex(x.pub)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	if (iss_run_tx(is, tx_enrol, &x, e) != 0)
		goto out;
	perso.type = WK_MSG_PERSO;
	memcpy(perso.card_id, x.card_id, sizeof(x.card_id));
	perso.key_version = is->keys.key_version;
	if (iss_perso_keys(&is->keys, x.card_id, x.algs, perso_keys) != 0 ||
	    wk_msg_seal_keys(x.pub, &perso, perso_keys, sizeof(perso_keys)) !=
	    WK_MSG_OK || wk_msg_sign(&perso, is->keys.ca_key, &out) != WK_MSG_OK ||
	    (dn = i2d_X509(x.cert, &der)) <= 0 ||
	    (can = i2d_X509(is->keys.ca_cert, &cader)) <= 0) {
		iss_fail(e, 500, "internal", "cannot build the personalisation");
		goto out;
	}
	*resp = json_pack("{s:s, s:o, s:o, s:o, s:i, s:o, s:s}", "card_id",
	    x.card_hex, "certificate", b64_json(der, (size_t)dn),
	    "ca_certificate", b64_json(cader, (size_t)can),
	    "personalisation", b64_json(out.p, out.len),
	    "key_version", (int)is->keys.key_version,
	    "key_algorithms", iss_algs_json(x.algs),
	    "status", x.existing ? "existing" : "enrolled");
	if (*resp == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(perso_keys, sizeof(perso_keys));
	sodium_memzero(&perso, sizeof(perso));
	wk_buf_clear(&out);
	OPENSSL_free(der);
	OPENSSL_free(cader);
	X509_free(x.cert);
	free(x.pub_hex);
	attest_chain_clear(&chain);
	X509_REQ_free(csr);
	return rc;
}

/* ---- load ---- */

typedef struct load_row {
	char id[2 * WK_MSG_LOAD_ID_LEN + 1];
	char card_id[2 * WK_MSG_CARD_ID_LEN + 1];
	int64_t seq;
	int64_t account_id;
	int64_t amount;
	char status[16];
	char request_hash[65];
	char *grant_b64;
	int64_t grant_op;
	int64_t new_balance;
	bool has_balance;
} load_row;

static void
load_row_clear(load_row *l)
{
	free(l->grant_b64);
	l->grant_b64 = NULL;
}

#define LOAD_COLS "id, card_id, seq, account_id, amount, status," \
	" request_hash, grant_msg, grant_op, new_balance"

static int load_row_take(iss_res **rp, load_row *l);

/* 1 found, 0 not found, else a db rc */
static int
load_read(iss_db *db, const char *where, const iss_param *key, size_t nkey,
    load_row *l)
{
	char sql[512];
	iss_res *r = NULL;
	int rc;

	memset(l, 0, sizeof(*l));
	snprintf(sql, sizeof(sql), "SELECT " LOAD_COLS " FROM loads WHERE %s",
	    where);
	if ((rc = iss_db_exec(db, sql, key, nkey, &r)) != ISS_DB_OK)
		return rc;
	return load_row_take(&r, l);
}

/* the row of r (LOAD_COLS) into l, r freed: 1, 0 when r has none */
static int
load_row_take(iss_res **rp, load_row *l)
{
	iss_res *r = *rp;

	memset(l, 0, sizeof(*l));
	if (iss_res_rows(r) != 1) {
		iss_res_free(rp);
		return 0;
	}
	snprintf(l->id, sizeof(l->id), "%s", iss_res_text(r, 0, 0));
	snprintf(l->card_id, sizeof(l->card_id), "%s", iss_res_text(r, 0, 1));
	l->seq = iss_res_int(r, 0, 2);
	l->account_id = iss_res_int(r, 0, 3);
	l->amount = iss_res_int(r, 0, 4);
	snprintf(l->status, sizeof(l->status), "%s", iss_res_text(r, 0, 5));
	snprintf(l->request_hash, sizeof(l->request_hash), "%s",
	    iss_res_text(r, 0, 6));
	l->grant_b64 = strdup(iss_res_text(r, 0, 7));
	l->grant_op = iss_res_int(r, 0, 8);
	l->has_balance = iss_res_text(r, 0, 9) != NULL;
	l->new_balance = iss_res_int(r, 0, 9);
	iss_res_free(rp);
	return l->grant_b64 != NULL ? 1 : ISS_DB_ERROR;
}

static json_t *
load_json(const load_row *l)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "load_id", l->id,
	    "card_id", l->card_id, "seq", (json_int_t)l->seq,
	    "amount", (json_int_t)l->amount, "status", l->status,
	    "grant", l->grant_b64);

	if (j != NULL && l->has_balance)
		json_object_set_new(j, "balance", json_integer(l->new_balance));
	return j;
}

typedef struct start_ctx {
	const wk_msg *req;
	const card_row *card;
	const uint8_t *req_buf;
	size_t req_len;
	char req_hash[65];
	wk_purse_skey sk;
	load_row out;
	bool replay;
} start_ctx;

static int
tx_load_start(iss *is, iss_db *db, void *arg, iss_err *e)
{
	start_ctx *x = arg;
	const wk_msg *q = x->req;
	wk_msg g = { 0 };
	wk_buf gb;
	uint8_t load_id[WK_MSG_LOAD_ID_LEN];
	char lid[2 * WK_MSG_LOAD_ID_LEN + 1], now[40], *req_hex = NULL;
	json_t *gj = NULL;
	int64_t op, flt = 0;
	iss_res *fr = NULL;
	int rc = -1, d;

	wk_buf_init_heap(&gb, WK_MSG_MAX);
	load_row_clear(&x->out);
	x->replay = false;
	/* lock the card's row (a no-op update works on both engines) so a
	 * revocation committed after the check outside is seen here; its
	 * float comes back in the same round trip */
	if ((d = iss_db_exec(db, "UPDATE cards SET balance = balance WHERE"
	    " card_id = $1 AND revoked_at IS NULL RETURNING float_account",
	    (iss_param[]){ ISS_PS(x->card->card_id) }, 1, &fr)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(fr) != 1) {
		iss_fail(e, 403, "card_revoked", "card %s is revoked", x->card->card_id);
		goto out;
	}
	flt = iss_res_text(fr, 0, 0) != NULL ? iss_res_int(fr, 0, 0) : 0;
	d = load_read(db, "card_id = $1 AND seq = $2", (iss_param[]){
	    ISS_PS(x->card->card_id), ISS_PI(q->seq) }, 2, &x->out);
	if (d < 0) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (d == 1) {
		if (strcmp(x->out.request_hash, x->req_hash) != 0) {
			iss_fail(e, 409, "seq_used", "card %s online sequence number %u"
			    " was already granted (load %s)", x->card->card_id,
			    (unsigned)q->seq, x->out.id);
			goto out;
		}
		if (strcmp(x->out.status, "pending") != 0) {
			iss_fail(e, 409, "load_closed", "load %s is already %s",
			    x->out.id, x->out.status);
			goto out;
		}
		/* the same request again: the same answer, nothing changes */
		x->replay = true;
		rc = 0;
		goto out;
	}

	randombytes_buf(load_id, sizeof(load_id));
	wk_hex_encode(load_id, sizeof(load_id), lid);
	g.type = WK_MSG_LOAD_GRANT;
	memcpy(g.card_id, q->card_id, sizeof(g.card_id));
	memcpy(g.nonce, q->nonce, sizeof(g.nonce));
	g.seq = q->seq;
	memcpy(g.load_id, load_id, sizeof(load_id));
	g.amount = q->amount;
	g.trans_type = q->trans_type;
	memcpy(g.terminal_id, q->terminal_id, sizeof(g.terminal_id));
	host_datetime(g.host_date, g.host_time);
	if (wk_purse_load_mac2(&x->sk, g.amount, g.trans_type, g.terminal_id,
	    g.host_date, g.host_time, g.mac2) != WK_PURSE_CRYPTO_OK ||
	    wk_msg_sign(&g, is->keys.ca_key, &gb) != WK_MSG_OK ||
	    (gj = b64_json(gb.p, gb.len)) == NULL ||
	    (req_hex = hex_alloc(x->req_buf, x->req_len)) == NULL) {
		iss_fail(e, 500, "internal", "cannot build the grant");
		goto out;
	}
	if ((d = iss_oplog_append(db, &(iss_op){ .kind = "load.grant",
	    .card_id = x->card->card_id, .load_id = lid, .seq = q->seq,
	    .account_id = x->card->account_id, .amount = q->amount,
	    .detail = json_string_value(gj), .msg = req_hex }, &op)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	/* the value goes to this card's own float (docs/issuer.md "The card
	 * floats"): what settlement may later pay out of it; made at the
	 * card's first load */
	if (flt == 0 && (d = iss_card_float(db, x->card->card_id, true,
	    &flt)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	d = iss_ledger_move(db, x->card->account_id, flt, q->amount, "load", lid,
	    op);
	if (d == ISS_LEDGER_FUNDS) {
		iss_fail(e, 422, "insufficient_funds", "account %s holds less than %u",
		    x->card->pan, q->amount);
		goto out;
	}
	if (d != 0) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	iss_now_iso(now, sizeof(now));
	if ((d = iss_db_exec(db, "INSERT INTO loads (id, card_id, seq, account_id,"
	    " amount, status, request_hash, grant_msg, grant_op, created_at)"
	    " VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9)",
	    (iss_param[]){ ISS_PS(lid), ISS_PS(x->card->card_id), ISS_PI(q->seq),
	    ISS_PI(x->card->account_id), ISS_PI(q->amount), ISS_PS(x->req_hash),
	    ISS_PS(json_string_value(gj)), ISS_PI(op), ISS_PS(now) }, 9,
	    NULL)) != ISS_DB_OK) {
		/* a concurrent identical request won: run again and find it */
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	snprintf(x->out.id, sizeof(x->out.id), "%s", lid);
	snprintf(x->out.card_id, sizeof(x->out.card_id), "%s", x->card->card_id);
	x->out.seq = q->seq;
	x->out.account_id = x->card->account_id;
	x->out.amount = q->amount;
	snprintf(x->out.status, sizeof(x->out.status), "pending");
	x->out.grant_b64 = strdup(json_string_value(gj));
	x->out.grant_op = op;
	rc = x->out.grant_b64 != NULL ? 0 : -1;
	if (rc != 0)
		iss_fail(e, 500, "internal", "out of memory");
out:
	iss_res_free(&fr);
	free(req_hex);
	json_decref(gj);
	wk_buf_clear(&gb);
	sodium_memzero(&g, sizeof(g));
	return rc;
}

int
iss_load_start(iss *is, json_t *req, json_t **resp, iss_err *e)
{
	static const char *const keys[] = { "request", "certificate", NULL };
	uint8_t buf[WK_MSG_MAX], dlk[WK_PURSE_KEY_LEN], mac1[4];
	uint8_t hash[crypto_hash_sha256_BYTES], certder[2048];
	const char *cert_b64;
	card_row card = { 0 };
	start_ctx x = { 0 };
	wk_msg m;
	size_t len;
	long n;
	int rc = -1;

	if (req_keys(req, keys, e) != 0 ||
	    msg_arg(req, "request", buf, &len, &m, WK_MSG_LOAD_REQUEST, e) != 0)
		goto out;
	if (card_get(is, m.card_id, &card, e) != 0)
		goto out;
	cert_b64 = req_str(req, "certificate", false, e);
	if (json_object_get(req, "certificate") != NULL && cert_b64 == NULL)
		goto out;
	if (cert_b64 != NULL) {
		if ((n = b64_decode(cert_b64, certder, sizeof(certder))) <= 0) {
			iss_fail(e, 400, "bad_certificate", "certificate is not base64 DER");
			goto out;
		}
		if ((size_t)n != card.cert_len ||
		    sodium_memcmp(certder, card.cert_der, card.cert_len) != 0) {
			const uint8_t *p = certder;
			X509 *other = d2i_X509(NULL, &p, n);

			/* tell a foreign or expired certificate from a stale one */
			if (other == NULL)
				iss_fail(e, 400, "bad_certificate",
				    "certificate is not DER X.509");
			else if (iss_ca_check(&is->keys, other, e) == 0)
				iss_fail(e, 403, "cert_mismatch", "this certificate is"
				    " not the one enrolled for card %s", card.card_id);
			X509_free(other);
			goto out;
		}
	}
	if (iss_ca_check(&is->keys, card.cert, e) != 0)
		goto out;
	if (card.revoked) {
		iss_fail(e, 403, "card_revoked", "card %s is revoked", card.card_id);
		goto out;
	}
	if (verify_card_msg(&card, buf, len, &m, e) != 0)
		goto out;
	if (strcmp(m.pan, card.pan) != 0) {
		iss_fail(e, 403, "pan_mismatch", "card %s loads from another account",
		    card.card_id);
		goto out;
	}
	/* the card's DLK has the algorithm it was enrolled with; a request
	 * that says otherwise is not one this card made with the issuer's key */
	if (m.key_version != card.key_version ||
	    m.alg_id != card.algs[WK_PURSE_KEY_DLK]) {
		iss_fail(e, 400, "bad_key_version",
		    "key version %u, algorithm %02x: want %u, %02x", m.key_version,
		    m.alg_id, card.key_version, card.algs[WK_PURSE_KEY_DLK]);
		goto out;
	}
	if (m.trans_type != WK_PURSE_TT_EP_LOAD && m.trans_type != WK_PURSE_TT_ED_LOAD) {
		iss_fail(e, 400, "bad_transaction_type", "type %02x is not a load",
		    m.trans_type);
		goto out;
	}
	if (m.amount == 0 || m.amount > 0x7FFFFFFFu) {
		iss_fail(e, 400, "bad_amount", "an amount is 1 to 2147483647 fen");
		goto out;
	}
	if ((uint64_t)m.balance + m.amount > is->ceiling) {
		iss_fail(e, 422, "over_ceiling", "balance %u + %u exceeds the ceiling %u",
		    m.balance, m.amount, is->ceiling);
		goto out;
	}
	if (m.seq == 0xFFFF) {
		iss_fail(e, 422, "seq_exhausted", "the card's online counter is at its end");
		goto out;
	}
	if (iss_card_key(&is->keys, WK_PURSE_KEY_DLK, m.alg_id, m.card_id,
	    dlk) != 0 ||
	    wk_purse_session_key_online(m.alg_id, dlk, m.card_random, m.seq,
	    &x.sk) != WK_PURSE_CRYPTO_OK ||
	    wk_purse_load_mac1(&x.sk, m.balance, m.amount, m.trans_type,
	    m.terminal_id, mac1) != WK_PURSE_CRYPTO_OK) {
		iss_fail(e, 500, "internal", "purse cryptography failed");
		goto out;
	}
	if (sodium_memcmp(mac1, m.mac1, sizeof(mac1)) != 0) {
		iss_fail(e, 403, "bad_mac1", "MAC1 does not verify");
		goto out;
	}
	crypto_hash_sha256(hash, buf, len);
	wk_hex_encode(hash, sizeof(hash), x.req_hash);
	x.req = &m;
	x.card = &card;
	x.req_buf = buf;
	x.req_len = len;
	if (iss_run_tx(is, tx_load_start, &x, e) != 0)
		goto out;
	if ((*resp = load_json(&x.out)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(dlk, sizeof(dlk));
	sodium_memzero(&x.sk, sizeof(x.sk));
	load_row_clear(&x.out);
	card_row_clear(&card);
	return rc;
}

/* ---- closing a load: receipt, refusal, recovery ---- */

typedef struct close_ctx {
	const char *load_id;
	bool complete;		/* else reverse */
	uint32_t new_balance;
	const char *kind;	/* oplog kind */
	char detail[64];
	char *msg_hex;
	load_row out;
	bool already;
} close_ctx;

static int
tx_close(iss *is, iss_db *db, void *arg, iss_err *e)
{
	close_ctx *x = arg;
	const char *want = x->complete ? "complete" : "reversed";
	iss_res *ur = NULL;
	int64_t op, flt;
	char now[40];
	int d;

	(void)is;
	load_row_clear(&x->out);
	x->already = false;
	/* the pending load closed and read in one round trip; a load not
	 * pending is read to tell why */
	iss_now_iso(now, sizeof(now));
	if ((d = iss_db_exec(db, "UPDATE loads SET status = $1, closed_at = $2,"
	    " new_balance = $3 WHERE id = $4 AND status = 'pending'"
	    " RETURNING " LOAD_COLS, (iss_param[]){ ISS_PS(want), ISS_PS(now),
	    x->complete ? ISS_PI(x->new_balance) : ISS_PN, ISS_PS(x->load_id) },
	    4, &ur)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if ((d = load_row_take(&ur, &x->out)) < 0)
		return iss_db_fail(e, db, d);
	if (d == 0) {
		if ((d = load_read(db, "id = $1", (iss_param[]){
		    ISS_PS(x->load_id) }, 1, &x->out)) != 1) {
			if (d == 0) {
				iss_fail(e, 404, "load_not_found", "no load %s",
				    x->load_id);
				return -1;
			}
			return iss_db_fail(e, db, d);
		}
		if (strcmp(x->out.status, want) == 0 && (!x->complete ||
		    (x->out.has_balance && x->out.new_balance == x->new_balance))) {
			x->already = true;	/* the same answer again */
			return 0;
		}
		iss_fail(e, 409, "load_closed", "load %s is already %s", x->load_id,
		    x->out.status);
		return -1;
	}
	if ((d = iss_oplog_append(db, &(iss_op){ .kind = x->kind,
	    .card_id = x->out.card_id, .load_id = x->load_id, .seq = x->out.seq,
	    .account_id = x->out.account_id, .amount = x->out.amount,
	    .detail = x->detail, .msg = x->msg_hex,
	    .reverses = x->complete ? 0 : x->out.grant_op }, &op)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (x->complete) {
		d = iss_db_exec(db, "UPDATE cards SET balance = $1 WHERE card_id = $2",
		    (iss_param[]){ ISS_PI(x->new_balance), ISS_PS(x->out.card_id) },
		    2, NULL);
	} else if ((d = iss_card_float(db, x->out.card_id, false, &flt)) ==
	    ISS_DB_OK) {
		/* the grant put the amount into the card's float; a pending
		 * load's amount is always still there (settlements and transfers
		 * take only what the card received) */
		d = flt == 0 ? ISS_DB_ERROR : iss_ledger_move(db, flt,
		    x->out.account_id, x->out.amount, "load.reversal", x->load_id,
		    op);
		if (d == ISS_LEDGER_FUNDS)
			d = ISS_DB_ERROR;
	}
	if (d != 0)
		return iss_db_fail(e, db, d);
	snprintf(x->out.status, sizeof(x->out.status), "%s", want);
	x->out.has_balance = x->complete;
	x->out.new_balance = x->new_balance;
	return 0;
}

/* reads the load and its grant, checks the card message belongs to it */
typedef struct load_view {
	load_row row;
	wk_msg grant;
	card_row card;
} load_view;

static void
load_view_clear(load_view *v)
{
	load_row_clear(&v->row);
	card_row_clear(&v->card);
}

static bool
valid_load_id(const char *id)
{
	uint8_t tmp[WK_MSG_LOAD_ID_LEN];

	return strlen(id) == 2 * WK_MSG_LOAD_ID_LEN &&
	    wk_hex_decode(id, tmp, sizeof(tmp)) == WK_MSG_LOAD_ID_LEN;
}

static int
load_view_get(iss *is, const char *load_id, load_view *v, iss_err *e)
{
	uint8_t gbuf[WK_MSG_MAX], cid[WK_MSG_CARD_ID_LEN];
	iss_db *db;
	long n;
	int d;

	memset(v, 0, sizeof(*v));
	if (!valid_load_id(load_id)) {
		iss_fail(e, 404, "load_not_found", "no load %.64s", load_id);
		return -1;
	}
	if (with_db(is, &db, e) != 0)
		return -1;
	d = load_read(db, "id = $1", (iss_param[]){ ISS_PS(load_id) }, 1, &v->row);
	if (d != 1) {
		if (d == 0)
			iss_fail(e, 404, "load_not_found", "no load %s", load_id);
		else
			iss_fail_db(e, db, d);
		iss_pool_put(is->pool, db);
		return -1;
	}
	if (wk_hex_decode(v->row.card_id, cid, sizeof(cid)) != sizeof(cid) ||
	    card_load(db, cid, &v->card, e) != 0) {
		iss_pool_put(is->pool, db);
		if (e->status == 0)
			iss_fail(e, 500, "internal", "the load's card is unreadable");
		return -1;
	}
	iss_pool_put(is->pool, db);
	if ((n = b64_decode(v->row.grant_b64, gbuf, sizeof(gbuf))) <= 0 ||
	    wk_msg_parse(gbuf, (size_t)n, &v->grant, NULL, NULL) != WK_MSG_OK) {
		iss_fail(e, 500, "internal", "the stored grant does not parse");
		return -1;
	}
	return 0;
}

static int
match_load(const load_view *v, const wk_msg *m, iss_err *e)
{
	if (memcmp(m->load_id, v->grant.load_id, WK_MSG_LOAD_ID_LEN) != 0 ||
	    memcmp(m->card_id, v->grant.card_id, WK_MSG_CARD_ID_LEN) != 0 ||
	    m->seq != v->grant.seq) {
		iss_fail(e, 400, "load_mismatch",
		    "the message is about another load, card or sequence number");
		return -1;
	}
	return 0;
}

static int
check_tac(iss *is, const load_view *v, uint32_t new_balance,
    const uint8_t tac[4], iss_err *e)
{
	uint8_t dtk[WK_PURSE_KEY_LEN], want[4];
	uint8_t alg = v->card.algs[WK_PURSE_KEY_DTK];
	wk_purse_skey ktac;
	int rc = -1;

	memset(&ktac, 0, sizeof(ktac));
	if (iss_card_key(&is->keys, WK_PURSE_KEY_DTK, alg, v->grant.card_id,
	    dtk) != 0 || wk_purse_tac_key(alg, dtk, &ktac) != WK_PURSE_CRYPTO_OK)
		goto fail;
	if (wk_purse_load_tac(&ktac, new_balance, v->grant.seq, v->grant.amount,
	    v->grant.trans_type, v->grant.terminal_id, v->grant.host_date,
	    v->grant.host_time, want) != WK_PURSE_CRYPTO_OK)
		goto fail;
	if (sodium_memcmp(want, tac, 4) != 0)
		iss_fail(e, 403, "bad_tac", "the TAC does not verify");
	else
		rc = 0;
	goto out;
fail:
	iss_fail(e, 500, "internal", "purse cryptography failed");
out:
	sodium_memzero(dtk, sizeof(dtk));
	sodium_memzero(&ktac, sizeof(ktac));
	return rc;
}

static int
close_load(iss *is, const char *load_id, json_t *req, const char *field,
    int want_type, json_t **resp, iss_err *e)
{
	const char *const keys[] = { field, NULL };
	uint8_t buf[WK_MSG_MAX];
	load_view v;
	close_ctx x = { 0 };
	wk_msg m;
	size_t len;
	int rc = -1;

	memset(&v, 0, sizeof(v));
	if (load_view_get(is, load_id, &v, e) != 0 ||
	    req_keys(req, keys, e) != 0 ||
	    msg_arg(req, field, buf, &len, &m, want_type, e) != 0 ||
	    match_load(&v, &m, e) != 0 ||
	    verify_card_msg(&v.card, buf, len, &m, e) != 0)
		goto out;
	if (want_type == 0 && m.type != WK_MSG_LOAD_PROOF &&
	    m.type != WK_MSG_LOAD_NEVER) {
		iss_fail(e, 400, "wrong_message_type", "recovery takes a load-proof or"
		    " a load-never-credited statement, not a %s",
		    wk_msg_type_name(m.type));
		goto out;
	}
	x.load_id = v.row.id;
	switch (m.type) {
	case WK_MSG_LOAD_RECEIPT:
	case WK_MSG_LOAD_PROOF:
		if (m.type == WK_MSG_LOAD_RECEIPT && (m.amount != v.grant.amount ||
		    memcmp(m.host_date, v.grant.host_date, 4) != 0 ||
		    memcmp(m.host_time, v.grant.host_time, 3) != 0)) {
			iss_fail(e, 400, "load_mismatch",
			    "the receipt's amount, date or time is not the grant's");
			goto out;
		}
		if (check_tac(is, &v, m.balance, m.tac, e) != 0)
			goto out;
		x.complete = true;
		x.new_balance = m.balance;
		x.kind = m.type == WK_MSG_LOAD_RECEIPT ? "load.complete" :
		    "load.recover.complete";
		snprintf(x.detail, sizeof(x.detail), "balance %u", m.balance);
		break;
	case WK_MSG_LOAD_REFUSAL:
		x.kind = "load.reversal";
		snprintf(x.detail, sizeof(x.detail), "refused by the card: SW %04X",
		    m.reason);
		break;
	case WK_MSG_LOAD_NEVER:
		x.kind = "load.recover.reversal";
		snprintf(x.detail, sizeof(x.detail), "never credited; balance %u",
		    m.balance);
		break;
	default:
		iss_fail(e, 400, "wrong_message_type", "%s cannot close a load",
		    wk_msg_type_name(m.type));
		goto out;
	}
	if ((x.msg_hex = hex_alloc(buf, len)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	if (iss_run_tx(is, tx_close, &x, e) != 0)
		goto out;
	if ((*resp = load_json(&x.out)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(x.msg_hex);
	load_row_clear(&x.out);
	load_view_clear(&v);
	return rc;
}

int
iss_load_receipt(iss *is, const char *load_id, json_t *req, json_t **resp,
    iss_err *e)
{
	return close_load(is, load_id, req, "receipt", WK_MSG_LOAD_RECEIPT, resp, e);
}

int
iss_load_refusal(iss *is, const char *load_id, json_t *req, json_t **resp,
    iss_err *e)
{
	return close_load(is, load_id, req, "refusal", WK_MSG_LOAD_REFUSAL, resp, e);
}

int
iss_load_recover(iss *is, const char *load_id, json_t *req, json_t **resp,
    iss_err *e)
{
	/* either a proof (TAC) or a never-credited statement */
	return close_load(is, load_id, req, "proof", 0, resp, e);
}

int
iss_load_get(iss *is, const char *load_id, const iss_session *who,
    json_t **resp, iss_err *e)
{
	load_view v;
	int rc = -1;

	if (load_view_get(is, load_id, &v, e) != 0)
		goto out;
	/* another card's load is not found: a token tells nothing of the
	 * loads of other cards */
	if (who == NULL || strcmp(v.row.card_id, who->card_id) != 0) {
		iss_fail(e, 404, "load_not_found", "no load %s", load_id);
		goto out;
	}
	if ((*resp = load_json(&v.row)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	load_view_clear(&v);
	return rc;
}

int
iss_ca_get(iss *is, json_t **resp, iss_err *e)
{
	unsigned char *der = NULL;
	int n = i2d_X509(is->keys.ca_cert, &der);

	if (n <= 0 || (*resp = json_pack("{s:o}", "ca_certificate",
	    b64_json(der, (size_t)n))) == NULL) {
		OPENSSL_free(der);
		iss_fail(e, 500, "internal", "out of memory");
		return -1;
	}
	OPENSSL_free(der);
	return 0;
}
