/*
 * PSAM provisioning (docs/issuer.md "PSAM"): a terminal's purchase SAM is a
 * walletkey card whose PSAM applet made a P-256 key pair; its request (the
 * JSON `walletkey psam init` writes: card id and public key) comes to the
 * issuer's operator, who runs `walletkey-issuer psam-issue`. The answer is a
 * psam-keys message (common/wk_msg.h type 10) signed with the CA key: the
 * purchase master keys (DPK, the 3DES one and the SM4 one, each entry
 * algorithm id then key) and their version sealed to the PSAM's key (the
 * enrolment's sealing, wk_msg_seal_keys), and the terminal id the PSAM will
 * put into every MAC1. The DPK never leaves the issuer in clear; the load
 * key (DLK) and the TAC key (DTK) never leave it at all.
 *
 * One PSAM per terminal id (a terminal's sequence numbers, which identify
 * its settlements, must never repeat), one terminal per PSAM key.
 */
#include "iss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_hex.h"
#include "wk_purse_crypto.h"

typedef struct psam_req {
	uint8_t card_id[WK_MSG_CARD_ID_LEN];
	char card_hex[2 * WK_MSG_CARD_ID_LEN + 1];
	EVP_PKEY *pub;
	char *pub_hex;		/* DER SubjectPublicKeyInfo, hex */
	json_t *attestation;	/* as sent; see psam_attestation_check */
} psam_req;

static void
psam_req_clear(psam_req *r)
{
	EVP_PKEY_free(r->pub);
	free(r->pub_hex);
	json_decref(r->attestation);
	memset(r, 0, sizeof(*r));
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

static int
parse_request(const char *text, size_t len, psam_req *r, iss_err *e)
{
	static const char *const allowed[] = { "format", "version", "card_id",
	    "public_key", "attestation", NULL };
	uint8_t der[512];
	const uint8_t *p = der;
	const char *k, *fmt, *id, *pk;
	json_error_t jerr;
	json_t *j, *v;
	size_t n = 0;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(j)) {
		iss_fail(e, 400, "bad_request", "the PSAM request is not a JSON"
		    " object");
		goto out;
	}
	json_object_foreach(j, k, v) {
		bool ok = false;

		for (size_t i = 0; allowed[i] != NULL; i++)
			ok = ok || strcmp(k, allowed[i]) == 0;
		if (!ok) {
			iss_fail(e, 400, "unknown_field", "the PSAM request has an"
			    " unknown member \"%.64s\"", k);
			goto out;
		}
	}
	fmt = json_string_value(json_object_get(j, "format"));
	if (fmt == NULL || strcmp(fmt, "walletkey-psam-request") != 0 ||
	    json_integer_value(json_object_get(j, "version")) != 1) {
		iss_fail(e, 400, "bad_request", "not a walletkey-psam-request of"
		    " version 1");
		goto out;
	}
	id = json_string_value(json_object_get(j, "card_id"));
	if (id == NULL || strlen(id) != 2 * WK_MSG_CARD_ID_LEN ||
	    strspn(id, "0123456789abcdefABCDEF") != strlen(id) ||
	    wk_hex_decode(id, r->card_id, sizeof(r->card_id)) !=
	    WK_MSG_CARD_ID_LEN) {
		iss_fail(e, 400, "bad_card_id", "card_id is 16 hex digits");
		goto out;
	}
	wk_hex_encode(r->card_id, sizeof(r->card_id), r->card_hex);
	pk = json_string_value(json_object_get(j, "public_key"));
	if (pk == NULL || sodium_base642bin(der, sizeof(der), pk, strlen(pk),
	    NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || n == 0 ||
	    (r->pub = d2i_PUBKEY(NULL, &p, (long)n)) == NULL ||
	    p != der + n || !is_p256(r->pub)) {
		iss_fail(e, 400, "bad_public_key", "public_key is not a base64 DER"
		    " P-256 public key");
		goto out;
	}
	if ((r->pub_hex = malloc(2 * n + 1)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	wk_hex_encode(der, n, r->pub_hex);
	v = json_object_get(j, "attestation");
	if (v != NULL && !json_is_array(v)) {
		iss_fail(e, 400, "bad_request", "attestation is an array");
		goto out;
	}
	r->attestation = json_incref(v);
	rc = 0;
out:
	json_decref(j);
	if (rc != 0)
		psam_req_clear(r);
	return rc;
}

/*
 * HOOK for card attestation (issue 11 section 1): once the issuer verifies
 * a manufacturer CA -> F9 -> attested-key chain at enrolment, the same
 * check belongs here, on r->attestation for r->pub and r->card_id, so that
 * the DPK is sealed only to a key a genuine card generated. Until then the
 * operator vouches for the PSAM card by running psam-issue (docs/security.md
 * "Value: float, purse keys, PSAM, settlement").
 */
static int
psam_attestation_check(const iss_keys *k, const psam_req *r, iss_err *e)
{
	(void)k;
	(void)r;
	(void)e;
	return 0;
}

static int
build_msg(const iss_keys *k, const psam_req *r, const uint8_t term[6],
    uint8_t *out, size_t *out_len, iss_err *e)
{
	uint8_t keys[2 * (1 + WK_PURSE_KEY_LEN)];
	wk_msg m;
	wk_buf b;
	int rc = -1;

	memset(&m, 0, sizeof(m));
	wk_buf_init_heap(&b, WK_MSG_MAX);
	m.type = WK_MSG_PSAM_KEYS;
	memcpy(m.card_id, r->card_id, sizeof(m.card_id));
	memcpy(m.terminal_id, term, sizeof(m.terminal_id));
	m.key_version = k->key_version;
	/* both purchase masters, algorithm then key: the PSAM serves cards
	 * whose DPK is 3DES and cards whose DPK is SM4 (docs/issuer.md "SM4
	 * purse keys") */
	keys[0] = WK_PURSE_ALG_3DES;
	memcpy(keys + 1, k->mk + ISS_MK_DPK, WK_PURSE_KEY_LEN);
	keys[1 + WK_PURSE_KEY_LEN] = WK_PURSE_ALG_SM4;
	memcpy(keys + 2 + WK_PURSE_KEY_LEN, k->mk_sm4 + (size_t)WK_PURSE_KEY_DPK *
	    WK_PURSE_KEY_LEN, WK_PURSE_KEY_LEN);
	if (wk_msg_seal_keys(r->pub, &m, keys, sizeof(keys)) !=
	    WK_MSG_OK || wk_msg_sign(&m, k->ca_key, &b) != WK_MSG_OK ||
	    b.len > *out_len) {
		iss_fail(e, 500, "internal", "cannot build the psam-keys message");
		goto out;
	}
	memcpy(out, b.p, b.len);
	*out_len = b.len;
	rc = 0;
out:
	sodium_memzero(keys, sizeof(keys));
	sodium_memzero(&m, sizeof(m));
	wk_buf_clear(&b);
	return rc;
}

int
iss_psam_issue(iss_db *db, const iss_keys *k, const char *terminal,
    const char *request_json, size_t request_len, uint8_t *msg, size_t *msg_len,
    iss_err *e)
{
	uint8_t term[WK_PURSE_TERM_ID_LEN];
	char term_hex[2 * WK_PURSE_TERM_ID_LEN + 1], now[40], detail[96];
	iss_res *r = NULL;
	psam_req q;
	bool again = false;
	int rc = -1, d;

	memset(&q, 0, sizeof(q));
	if (terminal == NULL || strlen(terminal) != 12 ||
	    strspn(terminal, "0123456789abcdefABCDEF") != 12 ||
	    wk_hex_decode(terminal, term, sizeof(term)) != 6) {
		iss_fail(e, 400, "bad_terminal", "a terminal id is 12 hex digits");
		return -1;
	}
	wk_hex_encode(term, sizeof(term), term_hex);
	if (parse_request(request_json, request_len, &q, e) != 0)
		return -1;
	if (psam_attestation_check(k, &q, e) != 0)
		goto out;
	if ((d = iss_db_begin(db)) != ISS_DB_OK)
		goto dberr;
	if ((d = iss_db_exec(db, "SELECT 1 FROM merchants WHERE terminal_id = $1",
	    (iss_param[]){ ISS_PS(term_hex) }, 1, &r)) != ISS_DB_OK)
		goto dberr;
	if (iss_res_rows(r) != 1) {
		iss_fail(e, 404, "merchant_not_found", "terminal %s has no merchant"
		    " account (walletkey-issuer merchant-create)", term_hex);
		goto fail;
	}
	iss_res_free(&r);
	if ((d = iss_db_exec(db, "SELECT terminal_id, card_id, pubkey FROM psams"
	    " WHERE terminal_id = $1 OR pubkey = $2", (iss_param[]){
	    ISS_PS(term_hex), ISS_PS(q.pub_hex) }, 2, &r)) != ISS_DB_OK)
		goto dberr;
	for (size_t i = 0; i < iss_res_rows(r); i++) {
		const char *t = iss_res_text(r, i, 0), *c = iss_res_text(r, i, 1),
		    *p = iss_res_text(r, i, 2);

		if (t && c && p && strcmp(t, term_hex) == 0 &&
		    strcmp(c, q.card_hex) == 0 && strcmp(p, q.pub_hex) == 0) {
			again = true;	/* the same PSAM again: a new seal */
			continue;
		}
		if (t && strcmp(t, term_hex) == 0)
			iss_fail(e, 409, "psam_exists", "terminal %s has a PSAM (card"
			    " %s): its sequence numbers must not start again", term_hex,
			    c ? c : "?");
		else
			iss_fail(e, 409, "psam_exists", "this PSAM key serves"
			    " terminal %s", t ? t : "?");
		goto fail;
	}
	iss_res_free(&r);
	iss_now_iso(now, sizeof(now));
	if (!again && (d = iss_db_exec(db, "INSERT INTO psams (terminal_id,"
	    " card_id, pubkey, key_version, issued_at) VALUES ($1, $2, $3, $4,"
	    " $5)", (iss_param[]){ ISS_PS(term_hex), ISS_PS(q.card_hex),
	    ISS_PS(q.pub_hex), ISS_PI(k->key_version), ISS_PS(now) }, 5, NULL)) !=
	    ISS_DB_OK)
		goto dberr;
	snprintf(detail, sizeof(detail), "terminal %s, DPK version %u%s",
	    term_hex, (unsigned)k->key_version, again ? ", issued again" : "");
	if ((d = iss_oplog_append(db, &(iss_op){ .kind = "psam.issue",
	    .card_id = q.card_hex, .seq = -1, .amount = -1, .detail = detail },
	    NULL)) != ISS_DB_OK)
		goto dberr;
	if (build_msg(k, &q, term, msg, msg_len, e) != 0)
		goto fail;
	if ((d = iss_db_commit(db)) != ISS_DB_OK)
		goto dberr;
	rc = 0;
	goto out;
dberr:
	iss_fail_db(e, db, d);
fail:
	iss_db_rollback(db);
out:
	iss_res_free(&r);
	psam_req_clear(&q);
	return rc;
}
