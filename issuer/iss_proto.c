/*
 * the issuer's side of enrolment and remote load (docs/issuer.md): what
 * enrolment (iss_enrol.c) and the load (iss_load.c) share: the
 * transaction runner, the request readers, the card rows, and the CA's
 * certificate. Every check that needs no database runs before the
 * transaction; each state change runs in one transaction that is retried
 * when the engine reports a conflict (busy, deadlock, a concurrent insert
 * of the same load).
 */
#include "iss_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "wk_hex.h"

#define TX_TRIES 8

/* implicit: on PostgreSQL fn's one statement is its own transaction */
static int
run_tx(iss *is, iss_tx_fn *fn, void *arg, bool implicit, iss_err *e)
{
	iss_db *db;
	int rc = -1;

	if ((db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		return -1;
	}
	implicit = implicit && iss_db_is_pg(db);
	for (int i = 0; i < TX_TRIES; i++) {
		if (!implicit && (rc = iss_db_begin(db)) != ISS_DB_OK) {
			iss_fail_db(e, db, rc);
			if (rc == ISS_DB_RETRY)
				continue;
			rc = -1;
			break;
		}
		rc = fn(is, db, arg, e);
		if (!implicit) {
			if (rc == 0 && (rc = iss_db_commit(db)) != ISS_DB_OK)
				iss_fail_db(e, db, rc);
			if (rc != 0)
				iss_db_rollback(db);
		}
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
iss_run_tx(iss *is, iss_tx_fn *fn, void *arg, iss_err *e)
{
	return run_tx(is, fn, arg, false, e);
}

int
iss_run_stmt(iss *is, iss_tx_fn *fn, void *arg, iss_err *e)
{
	return run_tx(is, fn, arg, true, e);
}

int
iss_db_fail(iss_err *e, iss_db *db, int rc)
{
	if (rc == ISS_DB_RETRY || rc == ISS_DB_CONFLICT)
		return ISS_DB_RETRY;
	iss_fail_db(e, db, rc);
	return -1;
}

int
iss_req_keys(json_t *req, const char *const *allowed, iss_err *e)
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

const char *
iss_req_str(json_t *req, const char *name, bool required, iss_err *e)
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
long
iss_b64_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n;

	if (s == NULL || sodium_base642bin(out, cap, s, strlen(s), NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return (long)n;
}

json_t *
iss_b64_json(const uint8_t *p, size_t len)
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

char *
iss_hex_alloc(const uint8_t *p, size_t len)
{
	char *h = malloc(2 * len + 1);

	if (h != NULL)
		wk_hex_encode(p, len, h);
	return h;
}

int
iss_msg_arg(json_t *req, const char *name, uint8_t *buf, size_t *len, wk_msg *m,
    int want_type, iss_err *e)
{
	const char *s = iss_req_str(req, name, true, e);
	long n;
	int rc;

	if (s == NULL)
		return -1;
	if ((n = iss_b64_decode(s, buf, WK_MSG_MAX)) <= 0) {
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

void
iss_host_datetime(uint8_t date[4], uint8_t tim[3])
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

void
iss_card_row_clear(iss_card_row *c)
{
	X509_free(c->cert);
	c->cert = NULL;
	c->pub = NULL;
}

int
iss_card_from_row(const iss_res *r, size_t c0, iss_card_row *c, iss_err *e)
{
	const uint8_t *p;
	long n;

	c->account_id = iss_res_int(r, 0, c0);
	snprintf(c->pan, sizeof(c->pan), "%s", iss_res_text(r, 0, c0 + 1));
	c->key_version = (uint8_t)iss_res_int(r, 0, c0 + 2);
	c->revoked = iss_res_text(r, 0, c0 + 3) != NULL;
	if (iss_algs_from_hex(iss_res_text(r, 0, c0 + 5), c->algs) != 0) {
		iss_fail(e, 500, "internal", "the stored key algorithms do not parse");
		return -1;
	}
	if ((n = wk_hex_decode(iss_res_text(r, 0, c0 + 4), c->cert_der,
	    sizeof(c->cert_der))) <= 0 ||
	    (p = c->cert_der, c->cert = d2i_X509(NULL, &p, n)) == NULL ||
	    (c->pub = X509_get0_pubkey(c->cert)) == NULL) {
		iss_card_row_clear(c);
		iss_fail(e, 500, "internal", "the stored certificate does not parse");
		return -1;
	}
	c->cert_len = (size_t)n;
	return 0;
}

/* reads a card (outside a transaction is fine: cards change only by enrol
 * and revoke); 404 when unknown */
int
iss_card_load(iss_db *db, const uint8_t id[WK_MSG_CARD_ID_LEN], iss_card_row *c,
    iss_err *e)
{
	iss_res *r = NULL;
	int rc = -1, d;

	memset(c, 0, sizeof(*c));
	wk_hex_encode(id, WK_MSG_CARD_ID_LEN, c->card_id);
	if ((d = iss_db_exec(db, "SELECT " ISS_CARD_COLS " FROM cards c JOIN"
	    " accounts a ON a.id = c.account_id WHERE c.card_id = $1",
	    (iss_param[]){ ISS_PS(c->card_id) }, 1, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) != 1) {
		iss_fail(e, 404, "card_not_found", "card %s is not enrolled", c->card_id);
		goto out;
	}
	rc = iss_card_from_row(r, 0, c, e);
out:
	iss_res_free(&r);
	if (rc != 0)
		iss_card_row_clear(c);
	return rc;
}

int
iss_with_db(iss *is, iss_db **db, iss_err *e)
{
	if ((*db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		return -1;
	}
	return 0;
}

int
iss_card_get(iss *is, const uint8_t id[WK_MSG_CARD_ID_LEN], iss_card_row *c, iss_err *e)
{
	iss_db *db;
	int rc;

	if (iss_with_db(is, &db, e) != 0)
		return -1;
	rc = iss_card_load(db, id, c, e);
	iss_pool_put(is->pool, db);
	return rc == 0 ? 0 : -1;
}

int
iss_verify_card_msg(const iss_card_row *c, const uint8_t *buf, size_t len, wk_msg *m,
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

int
iss_ca_get(iss *is, json_t **resp, iss_err *e)
{
	unsigned char *der = NULL;
	int n = i2d_X509(is->keys.ca_cert, &der);

	if (n <= 0 || (*resp = json_pack("{s:o}", "ca_certificate",
	    iss_b64_json(der, (size_t)n))) == NULL) {
		OPENSSL_free(der);
		iss_fail(e, 500, "internal", "out of memory");
		return -1;
	}
	OPENSSL_free(der);
	return 0;
}
