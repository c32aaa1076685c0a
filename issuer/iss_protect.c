/*
 * what the issuer gives a card to protect itself (docs/security.md "The
 * card protects itself"): each card's application maintenance key (DAMK),
 * the one-time APPLICATION UNBLOCK script an operator makes for a card's
 * signed unblock request, and the signed revocation list that goes to the
 * cards with their audit acknowledgements.
 */
#include "iss.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "wk_arec.h"
#include "wk_hex.h"
#include "wk_purse_crypto.h"

/* the card's DAMK is a key of the purse key table (wk_purse_crypto.h): its
 * master "purse_master.damk" is made at init (or by the first server of an
 * older database) and sealed with the others; enrolment seals the card's
 * diversified DAMK to the card with the rest */
int
iss_card_damk(const iss_keys *k, uint8_t alg,
    const uint8_t card_id[WK_MSG_CARD_ID_LEN], uint8_t out[WK_PURSE_KEY_LEN])
{
	return iss_card_key(k, WK_PURSE_KEY_DAMK, alg, card_id, out);
}

/* ---- a card's signed unblock request ---- */

int
iss_unblock_request_check(iss_db *db, const char *card_hex,
    const uint8_t *req, size_t len, char card_id[2 * WK_MSG_CARD_ID_LEN + 1],
    uint8_t challenge[4], uint8_t algs[WK_PURSE_KEY_N], iss_err *e)
{
	uint8_t id[WK_MSG_CARD_ID_LEN], der[2048];
	const uint8_t *p;
	iss_res *r = NULL;
	X509 *cert = NULL;
	wk_msg m;
	long n;
	int rc = -1, d, v;

	if ((v = wk_msg_parse(req, len, &m, NULL, NULL)) != WK_MSG_OK ||
	    m.type != WK_MSG_UNBLOCK_REQUEST) {
		iss_fail(e, 400, "bad_message", "not a card's unblock request: %s",
		    v != WK_MSG_OK ? wk_msg_strerror(v) : wk_msg_type_name(m.type));
		return -1;
	}
	if (card_hex != NULL) {
		if (strlen(card_hex) != 2 * WK_MSG_CARD_ID_LEN ||
		    wk_hex_decode(card_hex, id, sizeof(id)) != WK_MSG_CARD_ID_LEN) {
			iss_fail(e, 400, "bad_card_id", "the card id is 16 hex digits");
			return -1;
		}
		if (memcmp(m.card_id, id, sizeof(id)) != 0) {
			wk_hex_encode(id, sizeof(id), card_id);
			iss_fail(e, 400, "wrong_card", "the request was made by another"
			    " card than %s", card_id);
			return -1;
		}
	}
	wk_hex_encode(m.card_id, sizeof(m.card_id), card_id);
	if ((d = iss_db_exec(db, "SELECT cert, revoked_at, key_algs FROM cards"
	    " WHERE card_id = $1", (iss_param[]){ ISS_PS(card_id) }, 1, &r)) !=
	    ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) != 1) {
		iss_fail(e, 404, "card_not_found", "card %s is not enrolled",
		    card_id);
		goto out;
	}
	if (iss_res_text(r, 0, 1) != NULL) {
		iss_fail(e, 403, "card_revoked", "card %s is revoked", card_id);
		goto out;
	}
	if ((n = wk_hex_decode(iss_res_text(r, 0, 0), der, sizeof(der))) <= 0 ||
	    (p = der, cert = d2i_X509(NULL, &p, n)) == NULL) {
		iss_fail(e, 500, "internal", "the stored certificate does not parse");
		goto out;
	}
	/* the card itself asked: its wallet key signed the challenge */
	if (wk_msg_verify(req, len, X509_get0_pubkey(cert), &m) != WK_MSG_OK) {
		iss_fail(e, 403, "bad_signature", "the request is not signed by"
		    " card %s", card_id);
		goto out;
	}
	memcpy(challenge, m.card_random, 4);
	/* the algorithm of each of the card's purse keys, as enrolled */
	if (algs != NULL && iss_algs_from_hex(iss_res_text(r, 0, 2), algs) != 0) {
		iss_fail(e, 500, "internal", "the card's key algorithms do not"
		    " parse");
		goto out;
	}
	rc = 0;
out:
	X509_free(cert);
	iss_res_free(&r);
	return rc;
}

/* ---- APPLICATION UNBLOCK ---- */

int
iss_purse_unblock(iss_db *db, const iss_keys *k, const char *card_hex,
    const uint8_t *req, size_t len, iss_unblock *out, iss_err *e)
{
	uint8_t id[WK_MSG_CARD_ID_LEN], damk[WK_PURSE_KEY_LEN];
	uint8_t algs[WK_PURSE_KEY_N];
	char detail[64], chal_hex[9];
	int rc = -1, d;

	memset(out, 0, sizeof(*out));
	if ((d = iss_db_begin(db)) != ISS_DB_OK)
		goto dberr;
	if ((d = iss_unblock_request_check(db, card_hex, req, len, out->card_id,
	    out->challenge, algs, e)) != 0) {
		if (d == ISS_DB_RETRY)
			iss_fail(e, 503, "busy", "the database is busy; try again");
		goto out;
	}
	if (wk_hex_decode(out->card_id, id, sizeof(id)) != WK_MSG_CARD_ID_LEN ||
	    /* the script is made with the algorithm the card's DAMK has */
	    iss_card_damk(k, algs[WK_PURSE_KEY_DAMK], id, damk) != 0 ||
	    wk_purse_unblock_mac(algs[WK_PURSE_KEY_DAMK], damk, out->challenge,
	    out->mac) != WK_PURSE_CRYPTO_OK) {
		iss_fail(e, 500, "internal", "cannot compute the script");
		goto out;
	}
	wk_hex_encode(out->challenge, sizeof(out->challenge), chal_hex);
	snprintf(detail, sizeof(detail), "challenge %s", chal_hex);
	if ((d = iss_oplog_append(db, &(iss_op){ .kind = "purse.unblock",
	    .card_id = out->card_id, .seq = -1, .amount = -1, .detail = detail },
	    NULL)) != ISS_DB_OK || (d = iss_db_commit(db)) != ISS_DB_OK)
		goto dberr;
	rc = 0;
	goto out;
dberr:
	iss_fail_db(e, db, d);
out:
	if (rc != 0) {
		iss_db_rollback(db);
		sodium_memzero(out->mac, sizeof(out->mac));
	}
	sodium_memzero(damk, sizeof(damk));
	return rc;
}

/* ---- the revocation list ---- */

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, WK_AREC_CRL_ID_LEN);
}

/* still valid: a revoked card whose certificate expired needs no entry,
 * the card refuses it by its dates */
static bool
cert_alive(const char *hex)
{
	uint8_t der[2048];
	const uint8_t *p = der;
	X509 *x;
	long n;
	bool alive = true;

	if (hex == NULL || (n = wk_hex_decode(hex, der, sizeof(der))) <= 0 ||
	    (x = d2i_X509(NULL, &p, n)) == NULL)
		return true;	/* cannot tell: list it */
	alive = X509_cmp_current_time(X509_get0_notAfter(x)) > 0;
	X509_free(x);
	return alive;
}

int
iss_crl_build(iss *is, iss_db *db, wk_buf *out, iss_err *e)
{
	uint8_t *ids = NULL, sig[WK_AREC_SIG_MAX], hdr[WK_AREC_CRL_HDR];
	wk_arec_crl l = { 0 };
	iss_res *r = NULL;
	size_t rows, sl = 0, start;
	int rc = -1, d;

	/* the version: the newest revocation's place in the operation log,
	 * which only grows */
	if ((d = iss_db_exec(db, "SELECT COALESCE(MAX(id), 0) FROM oplog WHERE"
	    " kind = 'card.revoke'", NULL, 0, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	l.version = (uint64_t)iss_res_int(r, 0, 0);
	iss_res_free(&r);
	if ((d = iss_db_exec(db, "SELECT card_id, cert FROM cards WHERE"
	    " revoked_at IS NOT NULL", NULL, 0, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	rows = iss_res_rows(r);
	if ((ids = calloc(rows + 1, WK_AREC_CRL_ID_LEN)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < rows; i++) {
		const char *id = iss_res_text(r, i, 0);

		if (!cert_alive(iss_res_text(r, i, 1)))
			continue;
		if (id == NULL || wk_hex_decode(id, ids + (size_t)l.count *
		    WK_AREC_CRL_ID_LEN, WK_AREC_CRL_ID_LEN) != WK_AREC_CRL_ID_LEN)
			continue;
		if (l.count == WK_AREC_CRL_MAX) {
			iss_fail(e, 500, "revocation_list_full", "more than %d revoked"
			    " cards with unexpired certificates", WK_AREC_CRL_MAX);
			goto out;
		}
		l.count++;
	}
	qsort(ids, l.count, WK_AREC_CRL_ID_LEN, cmp_id);
	l.issued = (uint64_t)time(NULL);
	start = out->len;
	wk_arec_crl_header(&l, hdr);
	wk_buf_add(out, hdr, sizeof(hdr));
	wk_buf_add(out, ids, (size_t)l.count * WK_AREC_CRL_ID_LEN);
	if (wk_buf_failed(out) || wk_arec_sign(is->keys.ca_key, out->p + start,
	    out->len - start, sig, sizeof(sig), &sl) != WK_AREC_OK) {
		iss_fail(e, 500, "internal", "cannot sign the revocation list");
		goto out;
	}
	wk_buf_add(out, sig, sl);
	if (wk_buf_failed(out)) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(ids);
	iss_res_free(&r);
	return rc;
}
