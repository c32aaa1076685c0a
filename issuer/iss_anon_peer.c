/*
 * between the parties: every request one role sends another is signed with
 * the sender's Ed25519 key, and every answer with the answering party's,
 * over the request's signature too, so an answer cannot be replayed to
 * another request. libcurl on the client side.
 */
#include "iss_anon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "wk_buf.h"

#define PEER_TIMEOUT 20L
#define PEER_BODY_MAX (1u << 20)

/* "WKANON-PEER/1\n" kind "\n" a "\n" b "\n" body */
static int
tbs(const char *kind, const char *a, const char *b, const char *body,
    wk_buf *out)
{
	wk_buf_init_heap(out, ISS_MAX_BODY + 1024);
	wk_buf_add(out, WK_ANON_PEER_MAGIC "\n", strlen(WK_ANON_PEER_MAGIC) + 1);
	wk_buf_add(out, kind, strlen(kind));
	wk_buf_add(out, "\n", 1);
	wk_buf_add(out, a, strlen(a));
	wk_buf_add(out, "\n", 1);
	wk_buf_add(out, b, strlen(b));
	wk_buf_add(out, "\n", 1);
	wk_buf_add(out, body, strlen(body));
	return wk_buf_failed(out) ? -1 : 0;
}

static int
sign_b64(const uint8_t *sk, wk_buf *m, char *out, size_t cap)
{
	uint8_t sig[64];

	crypto_sign_detached(sig, NULL, m->p, m->len, sk);
	if (cap < sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL))
		return -1;
	sodium_bin2base64(out, cap, sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

static int
verify_b64(const uint8_t pk[32], wk_buf *m, const char *sig_b64)
{
	uint8_t sig[64];
	size_t n;

	if (sig_b64 == NULL || sodium_base642bin(sig, sizeof(sig), sig_b64,
	    strlen(sig_b64), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != sizeof(sig))
		return -1;
	return crypto_sign_verify_detached(sig, m->p, m->len, pk) == 0 ? 0 : -1;
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	wk_buf *b = arg;

	wk_buf_add(b, p, size * n);
	return wk_buf_failed(b) ? 0 : size * n;
}

int
iss_anon_peer_call(iss_anon *a, const char *url, const char *path,
    const uint8_t peer_pk[32], json_t *body, json_t **answer, iss_err *e)
{
	char full[ISS_ANON_URL_MAX + 128], sig[128], *text = NULL, *req = NULL;
	struct curl_slist *hdr = NULL;
	json_t *j = NULL, *wrap = NULL, *inner = NULL;
	CURL *c = NULL;
	wk_buf m = { 0 }, in;
	long status = 0;
	int rc = -1;

	*answer = NULL;
	wk_buf_init_heap(&in, PEER_BODY_MAX);
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL ||
	    tbs("request", a->self, path, text, &m) != 0 ||
	    sign_b64(a->sign_sk, &m, sig, sizeof(sig)) != 0 ||
	    (wrap = json_pack("{s:s, s:s, s:s}", "from", a->self, "body", text,
	    "sig", sig)) == NULL || (req = json_dumps(wrap, JSON_COMPACT)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	if ((size_t)snprintf(full, sizeof(full), "%s%s", url, path) >=
	    sizeof(full)) {
		iss_fail(e, 500, "internal", "a peer's URL is too long");
		goto out;
	}
	if ((c = curl_easy_init()) == NULL ||
	    (hdr = curl_slist_append(NULL, "Content-Type: application/json")) ==
	    NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &in);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, PEER_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(req));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if (curl_easy_perform(c) != CURLE_OK) {
		iss_fail(e, 502, "peer_unreachable", "%s cannot be reached", url);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	j = json_loadb((const char *)in.p, in.len, JSON_REJECT_DUPLICATES, NULL);
	if (status >= 400 && status < 500) {
		const char *cd = json_string_value(json_object_get(j, "error"));
		const char *ms = json_string_value(json_object_get(j, "message"));

		/* the peer's refusal, passed on as it said it */
		iss_fail(e, (int)status, "peer_refused", "%.200s", ms ? ms :
		    "refused");
		if (cd != NULL) {
			/* codes are static strings in e: keep the known ones */
			static const char *const known[] = { "unknown_payee",
			    "account_frozen", "limit_exceeded", "unknown_account",
			    "replay", "bad_request", "bad_signature", NULL };

			for (size_t i = 0; known[i] != NULL; i++)
				if (strcmp(cd, known[i]) == 0)
					e->code = known[i];
		}
		goto out;
	}
	if (status != 200 || !json_is_object(j)) {
		iss_fail(e, 502, "peer_unreachable", "%s answered HTTP %ld", url,
		    status);
		goto out;
	}
	{
		const char *ab = json_string_value(json_object_get(j, "body"));
		const char *as = json_string_value(json_object_get(j, "sig"));

		wk_buf_clear(&m);
		if (ab == NULL || tbs("answer", path, sig, ab, &m) != 0 ||
		    verify_b64(peer_pk, &m, as) != 0 ||
		    (inner = json_loads(ab, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
		    !json_is_object(inner)) {
			iss_fail(e, 502, "peer_unreachable", "%s's answer is not"
			    " signed by it", url);
			goto out;
		}
	}
	*answer = inner;
	inner = NULL;
	rc = 0;
out:
	json_decref(inner);
	json_decref(j);
	json_decref(wrap);
	wk_buf_clear(&m);
	wk_buf_clear(&in);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(text);
	free(req);
	json_decref(body);
	return rc;
}

int
iss_anon_peer_open(iss_anon *a, const char *path, json_t *req,
    iss_anon_peer_key_fn *key_of, char *from, size_t fromcap, json_t **body,
    char *sig_b64, size_t sigcap, iss_err *e)
{
	const char *f = json_string_value(json_object_get(req, "from"));
	const char *b = json_string_value(json_object_get(req, "body"));
	const char *s = json_string_value(json_object_get(req, "sig"));
	uint8_t pk[32];
	char url[ISS_ANON_URL_MAX];
	wk_buf m = { 0 };
	int rc = -1;

	*body = NULL;
	if (f == NULL || b == NULL || s == NULL || strlen(f) >= fromcap ||
	    strlen(s) >= sigcap) {
		iss_fail(e, 400, "bad_request", "a peer request is {from, body, sig}");
		return -1;
	}
	if (key_of(a, f, pk, url, sizeof(url)) != 0) {
		iss_fail(e, 403, "bad_signature", "%.40s is no peer of %s", f,
		    a->self);
		return -1;
	}
	if (tbs("request", f, path, b, &m) != 0 || verify_b64(pk, &m, s) != 0) {
		iss_fail(e, 403, "bad_signature", "the request is not signed by"
		    " %.40s", f);
		goto out;
	}
	if ((*body = json_loads(b, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(*body)) {
		json_decref(*body);
		*body = NULL;
		iss_fail(e, 400, "bad_request", "the signed body is not a JSON object");
		goto out;
	}
	snprintf(from, fromcap, "%s", f);
	snprintf(sig_b64, sigcap, "%s", s);
	rc = 0;
out:
	wk_buf_clear(&m);
	return rc;
}

json_t *
iss_anon_peer_answer(iss_anon *a, const char *path, const char *req_sig,
    json_t *body)
{
	char *text = NULL, sig[128];
	json_t *out = NULL;
	wk_buf m = { 0 };

	if (body == NULL || (text = json_dumps(body, JSON_COMPACT)) == NULL ||
	    tbs("answer", path, req_sig, text, &m) != 0 ||
	    sign_b64(a->sign_sk, &m, sig, sizeof(sig)) != 0)
		goto out;
	out = json_pack("{s:s, s:s}", "body", text, "sig", sig);
out:
	wk_buf_clear(&m);
	free(text);
	json_decref(body);
	return out;
}
