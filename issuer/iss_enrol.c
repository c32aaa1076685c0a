/*
 * enrolment (docs/issuer.md "Enrolment", docs/attestation.md): a genuine
 * card, attested by its manufacturer, is bound to an account; refusals are
 * logged. Shared helpers: iss_proto.c.
 */
#include "iss_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>
#include <sodium.h>

#include "wk_attest.h"
#include "wk_hex.h"

/* the PIV slot of the wallet key (docs/remote-load.md) */
#define WK_WALLET_ATTEST_SLOT 0x82

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
	char *h = n > 0 ? iss_hex_alloc(der, (size_t)n) : NULL;

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
	    (cert_hex = iss_hex_alloc(der, (size_t)n)) == NULL ||
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
		if ((n = wk_b64_decode(json_string_value(v), c->der[i],
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
	wk_msg perso = { 0 }, ocra = { 0 };
	uint8_t ocra_key[32];
	wk_buf out, ob;
	long n;
	int rc = -1, idx, dn = 0, can = 0;

	wk_buf_init_heap(&out, WK_MSG_MAX);
	wk_buf_init_heap(&ob, WK_MSG_MAX);
	if (iss_req_keys(req, keys, e) != 0 ||
	    (pan = iss_req_str(req, "pan", true, e)) == NULL ||
	    (password = iss_req_str(req, "password", true, e)) == NULL ||
	    (card_hex = iss_req_str(req, "card_id", true, e)) == NULL ||
	    (csr_b64 = iss_req_str(req, "csr", true, e)) == NULL)
		goto out;
	if (strlen(card_hex) != 2 * WK_MSG_CARD_ID_LEN ||
	    wk_hex_decode(card_hex, x.card_id, sizeof(x.card_id)) !=
	    WK_MSG_CARD_ID_LEN) {
		iss_fail(e, 400, "bad_card_id", "card_id is 16 hex digits");
		goto out;
	}
	wk_hex_encode(x.card_id, sizeof(x.card_id), x.card_hex);
	if ((n = wk_b64_decode(csr_b64, csr_der, sizeof(csr_der))) <= 0 ||
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
	/* the OCRA key of the payments' dynamic-password variant, sealed to
	 * the card beside the purse keys (docs/payments.md) */
	ocra.type = WK_MSG_OCRA_KEY;
	memcpy(ocra.card_id, x.card_id, sizeof(x.card_id));
	ocra.key_version = is->keys.key_version;
	if (iss_card_ocra_key(&is->keys, x.card_id, ocra_key) != 0 ||
	    wk_msg_seal_keys(x.pub, &ocra, ocra_key, sizeof(ocra_key)) !=
	    WK_MSG_OK || wk_msg_sign(&ocra, is->keys.ca_key, &ob) != WK_MSG_OK) {
		iss_fail(e, 500, "internal", "cannot build the OCRA key message");
		goto out;
	}
	*resp = json_pack("{s:s, s:o, s:o, s:o, s:o, s:i, s:o, s:s}",
	    "card_id",
	    x.card_hex, "certificate", wk_b64_json(der, (size_t)dn),
	    "ca_certificate", wk_b64_json(cader, (size_t)can),
	    "personalisation", wk_b64_json(out.p, out.len),
	    "ocra_key", wk_b64_json(ob.p, ob.len),
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
	sodium_memzero(ocra_key, sizeof(ocra_key));
	sodium_memzero(&ocra, sizeof(ocra));
	wk_buf_clear(&out);
	wk_buf_clear(&ob);
	OPENSSL_free(der);
	OPENSSL_free(cader);
	X509_free(x.cert);
	free(x.pub_hex);
	attest_chain_clear(&chain);
	X509_REQ_free(csr);
	return rc;
}
