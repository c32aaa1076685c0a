/* the routing table of the semi-anonymous roles (issuer/openapi.yaml) */
#include "iss_anon.h"

#include <string.h>

#include "wk_hex.h"

int
iss_anon_handle(iss_anon *a, const char *method, const char *url,
    const char *body, size_t body_len, json_t **resp, iss_err *e)
{
	bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
	bool id = a->role == ISS_ROLE_IDENTITY;
	json_t *req = NULL;
	json_error_t jerr;
	char spk[65], kpk[65];
	int rc = -1;

	*resp = NULL;
	e->status = 0;
	e->item = 0;
	if (body_len > ISS_MAX_BODY) {
		iss_fail(e, 413, "body_too_large", "a request body is at most %d bytes",
		    ISS_MAX_BODY);
		return -1;
	}
	if (post) {
		req = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &jerr);
		if (req == NULL || !json_is_object(req)) {
			iss_fail(e, 400, "bad_json", "line %d: %.160s", jerr.line,
			    req == NULL ? jerr.text : "not an object");
			json_decref(req);
			return -1;
		}
	}
	if (strcmp(url, "/v1/health") == 0) {
		if (!get)
			goto method;
		*resp = json_pack("{s:s, s:s}", "status", "ok", "role",
		    iss_anon_role_name(a->role));
		rc = *resp ? 0 : -1;
	} else if (strcmp(url, "/v1/anon/keys") == 0) {
		if (!get)
			goto method;
		wk_hex_encode(a->sign_pk, 32, spk);
		wk_hex_encode(a->kx_pk, 32, kpk);
		*resp = json_pack("{s:s, s:s, s:s, s:s}", "role",
		    iss_anon_role_name(a->role), "id", a->self, "sign_pub", spk,
		    id ? "box_pub" : "kx_pub", kpk);
		rc = *resp ? 0 : -1;
	} else if (strncmp(url, "/v1/anon/peer/", 14) == 0) {
		if (!post)
			goto method;
		rc = id ? iss_anon_id_peer(a, url, req, resp, e) :
		    iss_anon_am_peer(a, url, req, resp, e);
	} else if (id && strcmp(url, "/v1/anon/registrations") == 0) {
		if (!post)
			goto method;
		rc = iss_anon_id_register(a, req, resp, e);
	} else if (!id && strcmp(url, "/v1/anon/accounts") == 0) {
		if (!post)
			goto method;
		rc = iss_anon_am_open_account(a, req, resp, e);
	} else if (!id && strcmp(url, "/v1/anon/payments") == 0) {
		if (!post)
			goto method;
		rc = iss_anon_am_pay(a, req, resp, e);
	} else if (!id && strcmp(url, "/v1/anon/status") == 0) {
		if (!post)
			goto method;
		rc = iss_anon_am_status(a, req, resp, e);
	} else if (!id && strcmp(url, "/v1/anon/history") == 0) {
		if (!post)
			goto method;
		rc = iss_anon_am_history(a, req, resp, e);
	} else {
		goto notfound;
	}
	if (rc != 0 && e->status == 0)
		iss_fail(e, 500, "internal", "out of memory");
	goto out;
method:
	iss_fail(e, 405, "method_not_allowed", "%s is not allowed on %.100s",
	    method, url);
	goto out;
notfound:
	iss_fail(e, 404, "not_found", "no such resource: %.100s", url);
out:
	json_decref(req);
	return rc == 0 ? 0 : -1;
}
