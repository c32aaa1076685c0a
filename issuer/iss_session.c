/*
 * issuer sessions (docs/issuer.md "Sessions"): the doors that read or
 * change a card's data want a bearer token of that card. A token comes
 * from a fresh, single-use challenge the card signed with its enrolled
 * wallet key in a session proof it built itself (wk_msg type 17, which
 * only the card's ISSUER SESSION command makes); it lives minutes, is kept
 * only as its SHA-256, and dies with the card's revocation.
 */
#include "iss.h"
#include "iss_proto.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/x509.h>
#include <sodium.h>

#include "wk_hex.h"

int64_t
iss_now(const iss *is)
{
	return (int64_t)time(NULL) + (is != NULL ? is->clock_skew : 0);
}

static const char *
scope_name(int scope)
{
	return scope == ISS_SCOPE_HOLDER ? "holder" : "card";
}

/* "0102...08" -> lower-case hex; 404 otherwise (a path segment) */
static int
card_hex_of(const char *in, char out[17], iss_err *e)
{
	if (in == NULL || strlen(in) != 16 ||
	    strspn(in, "0123456789abcdefABCDEF") != 16) {
		iss_fail(e, 404, "not_found", "a card id is 16 hex digits");
		return -1;
	}
	for (size_t i = 0; i < 16; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[16] = '\0';
	return 0;
}

/* a request from an address over its limit: 429 with Retry-After */
static int
address_limit(iss *is, const char *peer, iss_err *e)
{
	int64_t wait = iss_limiter_take(is->session_limit, peer, iss_now(is));

	if (wait <= 0)
		return 0;
	iss_fail(e, 429, "too_many_requests", "too many challenges or sessions"
	    " from this address; retry in %lld s", (long long)wait);
	e->retry_after = (int)(wait > 3600 ? 3600 : wait);
	return -1;
}

/* the enrolled card: 404 unknown, 403 revoked; *cert (may be NULL) its
 * certificate */
static int
card_state(iss_db *db, const char *id, X509 **cert, iss_err *e)
{
	iss_res *r = NULL;
	uint8_t der[2048];
	const uint8_t *p = der;
	long n;
	int rc = -1, d;

	if (cert != NULL)
		*cert = NULL;
	if ((d = iss_db_exec(db, "SELECT revoked_at, cert FROM cards WHERE"
	    " card_id = $1", (iss_param[]){ ISS_PS(id) }, 1, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) != 1) {
		iss_fail(e, 404, "card_not_found", "card %s is not enrolled", id);
		goto out;
	}
	if (iss_res_text(r, 0, 0) != NULL) {
		iss_fail(e, 403, "card_revoked", "card %s is revoked", id);
		goto out;
	}
	if (cert != NULL && ((n = wk_hex_decode(iss_res_text(r, 0, 1), der,
	    sizeof(der))) <= 0 || (*cert = d2i_X509(NULL, &p, n)) == NULL)) {
		iss_fail(e, 500, "internal", "the stored certificate does not parse");
		goto out;
	}
	rc = 0;
out:
	iss_res_free(&r);
	return rc;
}

/* ---- POST /v1/cards/{card}/challenges ---- */

typedef struct chal_arg {
	char id[17];
	char hex[2 * WK_MSG_NONCE_LEN + 1];
	int64_t now;
} chal_arg;

static int
tx_challenge(iss *is, iss_db *db, void *arg, iss_err *e)
{
	chal_arg *a = arg;
	iss_res *r = NULL;
	int rc, d;

	(void)is;
	if ((rc = card_state(db, a->id, NULL, e)) != 0)
		return rc;
	/* challenges nobody answered in time go; a card keeps a few open */
	if ((d = iss_db_exec(db, "DELETE FROM session_challenges WHERE"
	    " expires_at < $1", (iss_param[]){ ISS_PI(a->now) }, 1, NULL)) !=
	    ISS_DB_OK ||
	    (d = iss_db_exec(db, "SELECT COUNT(*), MIN(expires_at) FROM"
	    " session_challenges WHERE card_id = $1 AND used_at IS NULL",
	    (iss_param[]){ ISS_PS(a->id) }, 1, &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (iss_res_int(r, 0, 0) >= ISS_CHALLENGES_MAX) {
		int64_t wait = iss_res_int(r, 0, 1) - a->now + 1;

		iss_res_free(&r);
		iss_fail(e, 429, "too_many_challenges", "card %s has %d challenges"
		    " waiting for its proof", a->id, ISS_CHALLENGES_MAX);
		e->retry_after = (int)(wait < 1 ? 1 : wait);
		return -1;
	}
	iss_res_free(&r);
	if ((d = iss_db_exec(db, "INSERT INTO session_challenges (challenge,"
	    " card_id, expires_at) VALUES ($1, $2, $3)", (iss_param[]){
	    ISS_PS(a->hex), ISS_PS(a->id), ISS_PI(a->now + ISS_CHALLENGE_TTL) },
	    3, NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	return 0;
}

int
iss_session_challenge(iss *is, const char *peer, const char *card,
    json_t *req, json_t **resp, iss_err *e)
{
	uint8_t c[WK_MSG_NONCE_LEN];
	chal_arg a;

	memset(&a, 0, sizeof(a));
	if (card_hex_of(card, a.id, e) != 0)
		return -1;
	if (!json_is_object(req) || json_object_size(req) != 0) {
		iss_fail(e, 400, "unknown_field", "the body is an empty JSON object");
		return -1;
	}
	if (address_limit(is, peer, e) != 0)
		return -1;
	randombytes_buf(c, sizeof(c));
	wk_hex_encode(c, sizeof(c), a.hex);
	a.now = iss_now(is);
	if (iss_run_tx(is, tx_challenge, &a, e) != 0)
		return -1;
	if ((*resp = json_pack("{s:s, s:s, s:i}", "card_id", a.id, "challenge",
	    a.hex, "expires_in", ISS_CHALLENGE_TTL)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		return -1;
	}
	return 0;
}

/* ---- POST /v1/sessions {"proof": base64 wk_msg type 17} ---- */

static void
token_hash(const char *token, char out[65])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const uint8_t *)token, strlen(token));
	wk_hex_encode(h, sizeof(h), out);
}

typedef struct open_arg {
	char id[17];
	char chal[2 * WK_MSG_NONCE_LEN + 1];
	char hash[65];
	int scope;
	int64_t now;
	int64_t expires;
} open_arg;

static int
tx_open(iss *is, iss_db *db, void *arg, iss_err *e)
{
	open_arg *a = arg;
	int rc, d;

	(void)is;
	/* revoked since the signature was checked: refused all the same */
	if ((rc = card_state(db, a->id, NULL, e)) != 0)
		return rc;
	/* single use: the first proof of a challenge takes it */
	if ((d = iss_db_exec(db, "UPDATE session_challenges SET used_at = $1"
	    " WHERE challenge = $2 AND card_id = $3 AND used_at IS NULL AND"
	    " expires_at >= $1", (iss_param[]){ ISS_PI(a->now),
	    ISS_PS(a->chal), ISS_PS(a->id) }, 3, NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (iss_db_changes(db) != 1) {
		iss_fail(e, 403, "bad_challenge", "the proof's challenge is not"
		    " one the issuer gave card %s, or it expired or was used",
		    a->id);
		return -1;
	}
	if ((d = iss_db_exec(db, "DELETE FROM sessions WHERE expires_at < $1",
	    (iss_param[]){ ISS_PI(a->now) }, 1, NULL)) != ISS_DB_OK ||
	    (d = iss_db_exec(db, "INSERT INTO sessions (token_hash, card_id,"
	    " scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
	    (iss_param[]){ ISS_PS(a->hash), ISS_PS(a->id),
	    ISS_PS(scope_name(a->scope)), ISS_PI(a->now), ISS_PI(a->expires) },
	    5, NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	return 0;
}

static const char *const proof_keys[] = { "proof", NULL };

int
iss_session_open(iss *is, const char *peer, json_t *req, json_t **resp,
    iss_err *e)
{
	uint8_t buf[WK_MSG_MAX], raw[32];
	char token[ISS_TOKEN_LEN + 1];
	X509 *cert = NULL;
	iss_db *db = NULL;
	open_arg a;
	wk_msg m;
	size_t n;
	int rc = -1, d;

	memset(&a, 0, sizeof(a));
	if (iss_req_keys(req, proof_keys, e) != 0 || iss_msg_arg(req, "proof",
	    buf, &n, &m, WK_MSG_SESSION_AUTH, e) != 0)
		return -1;
	if (address_limit(is, peer, e) != 0)
		return -1;
	wk_hex_encode(m.card_id, sizeof(m.card_id), a.id);
	wk_hex_encode(m.nonce, sizeof(m.nonce), a.chal);
	a.scope = m.scope == WK_MSG_SCOPE_HOLDER ? ISS_SCOPE_HOLDER :
	    ISS_SCOPE_CARD;
	if ((db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		e->retry_after = 1;
		return -1;
	}
	d = card_state(db, a.id, &cert, e);
	iss_pool_put(is->pool, db);
	if (d != 0)
		goto out;
	/* the certificate enrolment issued, still valid, and the card's key
	 * signed this proof */
	if (iss_ca_check(&is->keys, cert, e) != 0)
		goto out;
	if ((d = wk_msg_verify(buf, n, X509_get0_pubkey(cert), &m)) != WK_MSG_OK) {
		if (d == WK_MSG_BAD_SIGNATURE)
			iss_fail(e, 403, "bad_signature", "the proof is not signed by"
			    " card %s", a.id);
		else
			iss_fail(e, 400, "bad_message", "proof: %s",
			    wk_msg_strerror(d));
		goto out;
	}
	randombytes_buf(raw, sizeof(raw));
	if (sodium_bin2base64(token, sizeof(token), raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) == NULL)
		goto out;
	token_hash(token, a.hash);
	a.now = iss_now(is);
	a.expires = a.now + (is->session_ttl > 0 ? is->session_ttl :
	    ISS_SESSION_TTL);
	if (iss_run_tx(is, tx_open, &a, e) != 0)
		goto out;
	if ((*resp = json_pack("{s:s, s:s, s:s, s:s, s:I}", "token", token,
	    "token_type", "Bearer", "card_id", a.id, "scope",
	    scope_name(a.scope), "expires_in",
	    (json_int_t)(a.expires - a.now))) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(token, sizeof(token));
	X509_free(cert);
	return rc;
}

/* ---- Authorization: Bearer TOKEN on a card's door ---- */

static int
unauthorized(iss_err *e, const char *bearer, const char *code,
    const char *msg)
{
	iss_fail(e, 401, code, "%s", msg);
	e->bearer = bearer;
	return -1;
}

int
iss_session_auth(iss *is, const char *authorization, const char *card_hex,
    int scope, iss_session *out, iss_err *e)
{
	char token[ISS_TOKEN_LEN + 1], hash[65];
	const char *p = authorization;
	iss_res *r = NULL;
	iss_db *db;
	iss_session s;
	int rc = -1, d;

	memset(&s, 0, sizeof(s));
	if (p == NULL || p[0] == '\0')
		return unauthorized(e, "", "token_required", "this door wants the"
		    " card's session: Authorization: Bearer TOKEN (POST"
		    " /v1/cards/{card}/challenges, then /v1/sessions)");
	/* RFC 6750 2.1: the scheme is case-insensitive, then one space or more */
	if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return unauthorized(e, "invalid_token", "invalid_token",
		    "not a bearer token");
	for (p += 6; *p == ' ' || *p == '\t'; p++)
		;
	if (strlen(p) != ISS_TOKEN_LEN || strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_") != ISS_TOKEN_LEN)
		return unauthorized(e, "invalid_token", "invalid_token",
		    "not a token of this issuer");
	memcpy(token, p, ISS_TOKEN_LEN + 1);
	token_hash(token, hash);
	sodium_memzero(token, sizeof(token));
	if ((db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		e->retry_after = 1;
		return -1;
	}
	if ((d = iss_db_exec(db, "SELECT s.card_id, s.scope, s.expires_at,"
	    " c.revoked_at FROM sessions s JOIN cards c ON c.card_id = s.card_id"
	    " WHERE s.token_hash = $1", (iss_param[]){ ISS_PS(hash) }, 1, &r)) !=
	    ISS_DB_OK) {
		iss_fail_db(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) != 1 || iss_res_int(r, 0, 2) < iss_now(is)) {
		unauthorized(e, "invalid_token", "invalid_token", "the token is"
		    " unknown or expired; open a new session");
		goto out;
	}
	snprintf(s.card_id, sizeof(s.card_id), "%s", iss_res_text(r, 0, 0));
	s.scope = strcmp(iss_res_text(r, 0, 1), "holder") == 0 ?
	    ISS_SCOPE_HOLDER : ISS_SCOPE_CARD;
	if (iss_res_text(r, 0, 3) != NULL) {
		iss_fail(e, 403, "card_revoked", "card %s is revoked", s.card_id);
		goto out;
	}
	if (card_hex != NULL && strcasecmp(card_hex, s.card_id) != 0) {
		iss_fail(e, 403, "wrong_card", "the token is card %s's, not this"
		    " card's", s.card_id);
		goto out;
	}
	if (s.scope < scope) {
		iss_fail(e, 403, "insufficient_scope", "this door wants the"
		    " holder's session (the card's proof after the purse PIN)");
		e->bearer = "insufficient_scope";
		goto out;
	}
	if (out != NULL)
		*out = s;
	rc = 0;
out:
	iss_res_free(&r);
	iss_pool_put(is->pool, db);
	return rc;
}
