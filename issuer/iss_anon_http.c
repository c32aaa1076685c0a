/* the routing table of the semi-anonymous roles (issuer/openapi.yaml) */
#include "iss_anon.h"

#include <string.h>

#include "wk_hex.h"

/* the POST routes of one role whose handler takes the request alone */
static const struct post_route {
	bool identity;		/* the identity authority's, else a manager's */
	const char *path;
	int (*fn)(iss_anon *a, json_t *req, json_t **resp, iss_err *e);
} post_routes[] = {
	{ true, "/v1/anon/registrations", iss_anon_id_register },
	{ false, "/v1/anon/accounts", iss_anon_am_open_account },
	{ false, "/v1/anon/payments", iss_anon_am_pay },
	{ false, "/v1/anon/status", iss_anon_am_status },
	{ false, "/v1/anon/history", iss_anon_am_history },
};

static const struct post_route *
post_route(bool identity, const char *url)
{
	for (size_t i = 0; i < sizeof(post_routes) / sizeof(post_routes[0]); i++)
		if (post_routes[i].identity == identity &&
		    strcmp(url, post_routes[i].path) == 0)
			return &post_routes[i];
	return NULL;
}

int
iss_anon_handle(iss_anon *a, const char *method, const char *url,
    const char *body, size_t body_len, json_t **resp, iss_err *e)
{
	bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
	bool id = a->role == ISS_ROLE_IDENTITY;
	json_t *req = NULL;
	json_error_t jerr;
	char spk[65], kpk[65];
	const struct post_route *r;
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
	} else if ((r = post_route(id, url)) != NULL) {
		if (!post)
			goto method;
		rc = r->fn(a, req, resp, e);
	} else {
		goto notfound;
	}
	return iss_route_end(ISS_ROUTE_DONE, rc, method, url, req, e);
method:
	return iss_route_end(ISS_ROUTE_METHOD, rc, method, url, req, e);
notfound:
	return iss_route_end(ISS_ROUTE_NOT_FOUND, rc, method, url, req, e);
}
