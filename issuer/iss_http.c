/*
 * the HTTP face (libmicrohttpd, one thread per connection) and the one
 * routing table. The server keeps no state between requests: every
 * request takes a database connection from the pool and returns it.
 */
#include "iss.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <time.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <sodium.h>

#include "wk_httpd.h"

int
iss_open(const char *url, const iss_unlock *u, size_t pool_max, iss **out,
    char *err, size_t errlen)
{
	iss *is;
	iss_db *db = NULL;
	char v[32];
	int rc = -1;

	*out = NULL;
	if ((is = calloc(1, sizeof(*is))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&is->hash_mu, NULL);
	pthread_cond_init(&is->hash_cv, NULL);
	if (iss_pool_new(url, pool_max, &is->pool, err, errlen) != ISS_DB_OK ||
	    (db = iss_pool_get(is->pool)) == NULL)
		goto out;
	if (iss_schema_version(db) != iss_schema_latest()) {
		snprintf(err, errlen, "the database schema is not current"
		    " (run walletkey-issuer init or migrate)");
		goto out;
	}
	if (iss_keys_load(db, u, &is->keys, err, errlen) != 0)
		goto out;
	is->ceiling = ISS_DEFAULT_CEILING;
	if (iss_meta_get(db, "ceiling", v, sizeof(v)) == 0)
		is->ceiling = (uint32_t)strtoul(v, NULL, 10);
	is->session_ttl = ISS_SESSION_TTL;
	is->hash_max = ISS_HASH_MAX;
	if (iss_limiter_new(ISS_SESSION_BURST, ISS_SESSION_PERIOD,
	    &is->session_limit) != 0 || iss_limiter_new(ISS_ENROL_BURST,
	    ISS_ENROL_PERIOD, &is->enrol_limit) != 0 ||
	    iss_certs_new(&is->certs) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	*out = is;
	rc = 0;
out:
	if (db != NULL)
		iss_pool_put(is->pool, db);
	if (rc != 0)
		iss_free(&is);
	return rc;
}

void
iss_free(iss **isp)
{
	iss *is = *isp;

	if (is == NULL)
		return;
	iss_keys_clear(&is->keys);
	iss_pool_free(&is->pool);
	iss_limiter_free(&is->session_limit);
	free(is->client_ca);
	iss_limiter_free(&is->enrol_limit);
	iss_certs_free(&is->certs);
	pthread_cond_destroy(&is->hash_cv);
	pthread_mutex_destroy(&is->hash_mu);
	sodium_memzero(is->dummy_hash, sizeof(is->dummy_hash));
	free(is);
	*isp = NULL;
}

/* "<id>/<action>" -> id and action (either may be empty) */
static bool
split_path(const char *p, char *id, size_t idlen, const char **action)
{
	const char *slash = strchr(p, '/');
	size_t n = slash ? (size_t)(slash - p) : strlen(p);

	if (n == 0 || n >= idlen)
		return false;
	memcpy(id, p, n);
	id[n] = '\0';
	*action = slash ? slash + 1 : "";
	return true;
}

/* a card's door: the card id segment, then its session (401, 403) */
static int
card_door(iss *is, const iss_request *rq, const char *id, int scope,
    iss_err *e)
{
	if (strlen(id) != 16 || strspn(id, "0123456789abcdefABCDEF") != 16) {
		iss_fail(e, 404, "not_found", "a card id is 16 hex digits");
		return -1;
	}
	return iss_session_auth(is, rq->authorization, id, scope, NULL, e);
}

int
iss_route_end(iss_route_how how, int rc, const char *method, const char *url,
    json_t *req, iss_err *e)
{
	if (how == ISS_ROUTE_METHOD)
		iss_fail(e, 405, "method_not_allowed", "%s is not allowed on %.100s",
		    method, url);
	else if (how == ISS_ROUTE_NOT_FOUND)
		iss_fail(e, 404, "not_found", "no such resource: %.100s", url);
	else if (how == ISS_ROUTE_DONE && rc != 0 && e->status == 0)
		iss_fail(e, 500, "internal", "out of memory");
	json_decref(req);
	return how == ISS_ROUTE_METHOD || how == ISS_ROUTE_NOT_FOUND || rc != 0 ?
	    -1 : 0;
}

/* the POST routes whose handler takes the request alone */
static const struct post_route {
	const char *path;
	int (*fn)(iss *is, json_t *req, json_t **resp, iss_err *e);
} post_routes[] = {
	{ "/v1/settlements", iss_settle },
	{ "/v1/transfers", iss_transfer_report },
	{ "/v1/loads", iss_load_start },
	{ "/v1/pin-reloads", iss_pin_reload },
};

static const struct post_route *
post_route(const char *url)
{
	for (size_t i = 0; i < sizeof(post_routes) / sizeof(post_routes[0]); i++)
		if (strcmp(url, post_routes[i].path) == 0)
			return &post_routes[i];
	return NULL;
}

int
iss_handle(iss *is, const iss_request *rq0, json_t **resp, iss_err *e)
{
	iss_request rqv = *rq0;
	const iss_request *rq = &rqv;
	const char *method = rq->method, *body = rq->body, *q;
	size_t body_len = rq->body_len;
	bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
	json_t *req = NULL;
	json_error_t jerr;
	char id[80], path[512], wait[16];
	const char *url = rq->url, *action = "";
	iss_session who;
	const struct post_route *r;
	int rc = -1;

	*resp = NULL;
	e->status = 0;
	e->item = 0;
	/* a query after the path: only "wait" is read */
	if ((q = strchr(url, '?')) != NULL) {
		size_t n = (size_t)(q - url);

		if (n >= sizeof(path)) {
			iss_fail(e, 414, "uri_too_long", "the path is too long");
			return -1;
		}
		memcpy(path, url, n);
		path[n] = '\0';
		url = path;
		for (const char *a = q + 1; *a != '\0';) {
			size_t len = strcspn(a, "&");

			if (rqv.wait == NULL && len > 5 && len - 5 < sizeof(wait) &&
			    strncmp(a, "wait=", 5) == 0) {
				memcpy(wait, a + 5, len - 5);
				wait[len - 5] = '\0';
				rqv.wait = wait;
			}
			a += len;
			if (*a == '&')
				a++;
		}
	}
	e->retry_after = 0;
	e->bearer = NULL;
	if (body_len > ISS_MAX_BODY) {
		iss_fail(e, 413, "body_too_large", "a request body is at most %d bytes",
		    ISS_MAX_BODY);
		return -1;
	}
	if (post) {
		req = json_loadb(body != NULL ? body : "", body_len,
		    JSON_REJECT_DUPLICATES, &jerr);
		if (req == NULL) {
			iss_fail(e, 400, "bad_json", "line %d: %.160s", jerr.line,
			    jerr.text);
			return -1;
		}
	}
	if (strcmp(url, "/v1/health") == 0) {
		if (!get)
			goto method;
		*resp = json_pack("{s:s}", "status", "ok");
		rc = *resp ? 0 : -1;
	} else if (strcmp(url, "/v1/ca") == 0) {
		if (!get)
			goto method;
		rc = iss_ca_get(is, resp, e);
	} else if (strcmp(url, "/v1/enrolments") == 0) {
		if (!post)
			goto method;
		rc = iss_enrol(is, rq->peer, req, resp, e);
	} else if (strcmp(url, "/v1/sessions") == 0) {
		if (!post)
			goto method;
		rc = iss_session_open(is, rq->peer, req, resp, e);
	} else if (strncmp(url, "/v1/cards/", 10) == 0 &&
	    split_path(url + 10, id, sizeof(id), &action)) {
		if (strcmp(action, "challenges") == 0) {
			if (!post)
				goto method;
			rc = iss_session_challenge(is, rq->peer, id, req, resp, e);
		} else if (strcmp(action, "payments") == 0) {
			/* the card's session: checked by iss_pay.c */
			if (!get)
				goto method;
			rc = iss_pay_pending(is, rq, id, resp, e);
		} else {
			goto notfound;
		}
	} else if ((r = post_route(url)) != NULL) {
		if (!post)
			goto method;
		rc = r->fn(is, req, resp, e);
	} else if (strcmp(url, "/v1/payments") == 0) {
		if (!post)
			goto method;
		rc = iss_pay_create(is, rq, req, resp, e);
	} else if (strncmp(url, "/v1/payments/", 13) == 0 &&
	    split_path(url + 13, id, sizeof(id), &action)) {
		if (strcmp(action, "") == 0) {
			if (!get)
				goto method;
			rc = iss_pay_get(is, rq, id, resp, e);
		} else if (strcmp(action, "cancel") == 0 ||
		    strcmp(action, "confirmation") == 0) {
			if (!post)
				goto method;
			rc = strcmp(action, "cancel") == 0 ?
			    iss_pay_cancel(is, rq, id, resp, e) :
			    iss_pay_confirm(is, rq, id, req, resp, e);
		} else {
			goto notfound;
		}
	} else if (strcmp(url, "/v1/audit/key") == 0) {
		if (!get)
			goto method;
		rc = iss_audit_key(is, resp, e);
	} else if (strncmp(url, "/v1/audit/", 10) == 0 &&
	    split_path(url + 10, id, sizeof(id), &action)) {
		/* every door of a card's audit data wants that card's session;
		 * reading what the log holds wants the holder's (the PIN) */
		if (strcmp(action, "records") == 0 || strcmp(action, "ack") == 0) {
			if (!post)
				goto method;
			if ((rc = card_door(is, rq, id, ISS_SCOPE_CARD, e)) != 0)
				goto out;
			rc = strcmp(action, "ack") == 0 ?
			    iss_audit_ack(is, id, req, resp, e) :
			    iss_audit_records(is, id, req, resp, e);
		} else if (strncmp(action, "history/", 8) == 0) {
			if (!get)
				goto method;
			if ((rc = card_door(is, rq, id, ISS_SCOPE_HOLDER, e)) != 0)
				goto out;
			rc = iss_audit_history(is, id, action + 8, resp, e);
		} else if (strncmp(action, "loads/", 6) == 0) {
			if (!get)
				goto method;
			if ((rc = card_door(is, rq, id, ISS_SCOPE_HOLDER, e)) != 0)
				goto out;
			rc = iss_audit_loads(is, id, action + 6, resp, e);
		} else if (strncmp(action, "bank/", 5) == 0) {
			/* the bank's records of the account: the holder's */
			if (!get)
				goto method;
			if ((rc = card_door(is, rq, id, ISS_SCOPE_HOLDER, e)) != 0)
				goto out;
			rc = iss_audit_bank(is, id, action + 5, resp, e);
		} else {
			goto notfound;
		}
	} else if (strncmp(url, "/v1/loads/", 10) == 0 &&
	    split_path(url + 10, id, sizeof(id), &action)) {
		if (strcmp(action, "") == 0) {
			if (!get)
				goto method;
			/* a load's state is its card's */
			if ((rc = iss_session_auth(is, rq->authorization, NULL,
			    ISS_SCOPE_CARD, &who, e)) != 0)
				goto out;
			rc = iss_load_get(is, id, &who, resp, e);
		} else if (strcmp(action, "receipt") == 0 ||
		    strcmp(action, "refusal") == 0 || strcmp(action, "recover") == 0) {
			if (!post)
				goto method;
			if (strcmp(action, "receipt") == 0)
				rc = iss_load_receipt(is, id, req, resp, e);
			else if (strcmp(action, "refusal") == 0)
				rc = iss_load_refusal(is, id, req, resp, e);
			else
				rc = iss_load_recover(is, id, req, resp, e);
		} else {
			goto notfound;
		}
	} else {
		goto notfound;
	}
	return iss_route_end(ISS_ROUTE_DONE, rc, method, url, req, e);
method:
	return iss_route_end(ISS_ROUTE_METHOD, rc, method, url, req, e);
notfound:
	return iss_route_end(ISS_ROUTE_NOT_FOUND, rc, method, url, req, e);
out:
	return iss_route_end(ISS_ROUTE_OUT, rc, method, url, req, e);
}

struct iss_server {
	iss_handler_fn *handle;
	void *ctx;
	iss *is;		/* the bank's server: its sweeper's */
	char *trust;		/* CAs of merchants' client certificates (PEM) */
	wk_httpd http;
	char *cert;
	char *key;
	/* the sweeper: expires open payments, delivers webhooks */
	pthread_t sweeper;
	bool sweeping;
	bool stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void *
sweep(void *arg)
{
	iss_server *s = arg;
	struct timespec ts;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		pthread_mutex_unlock(&s->mu);
		(void)iss_pay_expire_due(s->is);
		(void)iss_webhook_run(s->is);
		pthread_mutex_lock(&s->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		if (!s->stop)
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

typedef struct req_state {
	char *body;
	size_t len;
	bool too_big;
} req_state;

static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned status, json_t *j,
    const iss_err *e)
{
	char hv[160];
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (text == NULL)
		text = strdup("{\"error\":\"internal\",\"message\":\"out of memory\"}");
	if (text == NULL)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(text), text,
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (e != NULL && e->retry_after > 0) {
		snprintf(hv, sizeof(hv), "%d", e->retry_after);
		MHD_add_response_header(r, "Retry-After", hv);
	}
	/* RFC 6750 3: the challenge of a bearer-token door */
	if (e != NULL && e->bearer != NULL) {
		if (e->bearer[0] == '\0')
			snprintf(hv, sizeof(hv), "Bearer realm=\"walletkey-issuer\"");
		else
			snprintf(hv, sizeof(hv), "Bearer realm=\"walletkey-issuer\","
			    " error=\"%s\"%s", e->bearer, strcmp(e->bearer,
			    "insufficient_scope") == 0 ? ", scope=\"holder\"" : "");
		MHD_add_response_header(r, "WWW-Authenticate", hv);
	}
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* extra: what a handler that failed left in *resp (the signed refusal of
 * a payment), added to the error's body */
static enum MHD_Result
send_error(struct MHD_Connection *c, const iss_err *e, json_t *extra)
{
	json_t *j = json_pack("{s:s, s:s}", "error", e->code, "message", e->message);
	enum MHD_Result r;

	if (j != NULL && json_is_object(extra))
		json_object_update_missing(j, extra);

	/* which entry of a batch (settlement proofs) the error is about */
	if (j != NULL && e->item > 0)
		json_object_set_new(j, "index", json_integer(e->item - 1));
	r = send_json(c, (unsigned)e->status, j, e);

	json_decref(j);
	return r;
}

/* the client's address as text (the per-address attempt limits) */
static const char *
peer_address(struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	if (sa == NULL)
		return NULL;
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr, out, (socklen_t)cap);
	if (sa->sa_family == AF_INET6)
		return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr, out, (socklen_t)cap);
	return NULL;
}

/* the verified TLS client certificate's SHA-256 (hex), or NULL: a
 * merchant's credential (iss_pay.c); the chain to the CAs of serve
 * --client-ca, checked by GnuTLS, and the certificate's dates */
static const char *
client_cert_fp(iss_server *s, struct MHD_Connection *c, char *fp, size_t cap)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *peers;
	gnutls_session_t ts;
	unsigned int status = 0, n = 0;
	uint8_t h[crypto_hash_sha256_BYTES];

	if (s->trust == NULL || cap < 2 * sizeof(h) + 1 ||
	    (ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION)) == NULL ||
	    (ts = (gnutls_session_t)ci->tls_session) == NULL)
		return NULL;
	if (gnutls_certificate_verify_peers2(ts, &status) != GNUTLS_E_SUCCESS ||
	    status != 0 || (peers = gnutls_certificate_get_peers(ts, &n)) == NULL ||
	    n == 0)
		return NULL;
	crypto_hash_sha256(h, peers[0].data, peers[0].size);
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(fp + 2 * i, 3, "%02x", h[i]);
	return fp;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	iss_server *s = cls;
	req_state *st = *con_cls;
	iss_request rq = { 0 };
	char fp[65], peer[INET6_ADDRSTRLEN];
	iss_err e = { 0 };
	json_t *resp = NULL;
	enum MHD_Result r;

	(void)version;
	if (st == NULL) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);

		if ((st = calloc(1, sizeof(*st))) == NULL)
			return MHD_NO;
		*con_cls = st;
		if (cl != NULL && strtoull(cl, NULL, 10) > ISS_MAX_BODY) {
			iss_fail(&e, 413, "body_too_large",
			    "a request body is at most %d bytes", ISS_MAX_BODY);
			return send_error(c, &e, NULL);
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!st->too_big && *upload_size <= ISS_MAX_BODY - st->len) {
			char *nb = realloc(st->body, st->len + *upload_size + 1);

			if (nb == NULL)
				return MHD_NO;
			st->body = nb;
			memcpy(st->body + st->len, upload, *upload_size);
			st->len += *upload_size;
		} else {
			st->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (st->too_big) {
		iss_fail(&e, 413, "body_too_large", "a request body is at most %d bytes",
		    ISS_MAX_BODY);
		return send_error(c, &e, NULL);
	}
	rq.method = method;
	rq.url = url;
	rq.body = st->body ? st->body : "";
	rq.body_len = st->len;
	rq.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	rq.wait = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait");
	rq.client_cert = client_cert_fp(s, c, fp, sizeof(fp));
	rq.peer = peer_address(c, peer, sizeof(peer));
	if (s->handle(s->ctx, &rq, &resp, &e) != 0) {
		if (e.status >= 500)
			fprintf(stderr, "walletkey-issuer: %s %s: %s: %s\n", method, url,
			    e.code, e.message);
		r = send_error(c, &e, resp);
		json_decref(resp);
		return r;
	}
	r = send_json(c, MHD_HTTP_OK, resp, NULL);
	json_decref(resp);
	return r;
}

static void
on_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	req_state *st = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (st != NULL) {
		free(st->body);
		free(st);
		*con_cls = NULL;
	}
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < 1 << 20 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = calloc(1, (size_t)n + 1)) != NULL &&
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int server_start(iss_handler_fn *handle, void *ctx, const char *listen,
    const char *tls_cert, const char *tls_key, const char *trust,
    iss_server **out, char *err, size_t errlen);

static int
bank_handle(void *ctx, const iss_request *rq, json_t **resp, iss_err *e)
{
	int rc = iss_handle(ctx, rq, resp, e);

	/* the bank's errors are {error, message} alone */
	if (rc != 0) {
		json_decref(*resp);
		*resp = NULL;
	}
	return rc;
}

int
iss_server_start(iss *is, const char *listen, const char *tls_cert,
    const char *tls_key, iss_server **out, char *err, size_t errlen)
{
	iss_server *s;

	if (is->client_ca != NULL && tls_cert == NULL) {
		snprintf(err, errlen, "merchants' client certificates need TLS"
		    " (--tls-cert and --tls-key)");
		return -1;
	}
	if (server_start(bank_handle, is, listen, tls_cert, tls_key,
	    is->client_ca, &s, err, errlen) != 0)
		return -1;
	/* the bank's sweeper: expires open payments, delivers webhooks */
	s->is = is;
	if (pthread_create(&s->sweeper, NULL, sweep, s) != 0) {
		snprintf(err, errlen, "cannot start the sweeper thread");
		iss_server_stop(&s);
		return -1;
	}
	s->sweeping = true;
	*out = s;
	return 0;
}

int
iss_server_start_with(iss_handler_fn *handle, void *ctx, const char *listen,
    const char *tls_cert, const char *tls_key, iss_server **out, char *err,
    size_t errlen)
{
	return server_start(handle, ctx, listen, tls_cert, tls_key, NULL, out,
	    err, errlen);
}

static int
server_start(iss_handler_fn *handle, void *ctx, const char *listen,
    const char *tls_cert, const char *tls_key, const char *trust,
    iss_server **out, char *err, size_t errlen)
{
	iss_server *s;
	struct sockaddr_in sa;
	char host[64];
	const char *colon = strrchr(listen, ':');
	/* the TLS options, when the server speaks TLS */
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	unsigned long port;
	wk_httpd_cfg cfg = {
		.addr = &sa,
		.flags = MHD_USE_THREAD_PER_CONNECTION,
		.on_request = on_request,
		.on_done = on_done,
		.timeout = 30,
		.limit = ISS_MAX_CONNECTIONS,
		.more = tls,
	};
	char *end;

	*out = NULL;
	if (colon == NULL || (size_t)(colon - listen) >= sizeof(host) ||
	    (port = strtoul(colon + 1, &end, 10)) > 65535 || *end != '\0' ||
	    colon[1] == '\0') {
		snprintf(err, errlen, "--listen wants HOST:PORT");
		return -1;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "%s: not an IPv4 address", host);
		return -1;
	}
	/* plain HTTP only where nobody else listens: loopback (127.0.0.0/8) */
	if (tls_cert == NULL && (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
		snprintf(err, errlen, "plain HTTP only on loopback: to listen on"
		    " %s, give --tls-cert and --tls-key (walletkey-issuer(1), TLS)",
		    host);
		return -1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->handle = handle;
	s->ctx = ctx;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if ((tls_cert != NULL) != (tls_key != NULL)) {
		snprintf(err, errlen, "give both --tls-cert and --tls-key");
		goto fail;
	}
	if (tls_cert != NULL) {
		if ((s->cert = slurp(tls_cert)) == NULL ||
		    (s->key = slurp(tls_key)) == NULL) {
			snprintf(err, errlen, "cannot read the TLS certificate or key");
			goto fail;
		}
		cfg.flags |= MHD_USE_TLS;
		if (trust != NULL && (s->trust = strdup(trust)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		/* with the merchants' CAs, TLS asks clients for a certificate */
		tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
		    s->cert };
		tls[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
		    s->key };
		if (s->trust != NULL)
			tls[2] = (struct MHD_OptionItem){
			    MHD_OPTION_HTTPS_MEM_TRUST, 0, s->trust };
	}
	cfg.cls = s;
	if (wk_httpd_start(&s->http, &cfg) != 0) {
		snprintf(err, errlen, "cannot listen on %s", listen);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	iss_server_stop(&s);
	return -1;
}

uint16_t
iss_server_port(const iss_server *s)
{
	return s->http.port;
}

void
iss_server_stop(iss_server **sp)
{
	iss_server *s = *sp;

	if (s == NULL)
		return;
	if (s->sweeping) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->sweeper, NULL);
	}
	wk_httpd_stop(&s->http);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	if (s->key != NULL) {
		sodium_memzero(s->key, strlen(s->key));
		free(s->key);
	}
	free(s->cert);
	free(s->trust);
	free(s);
	*sp = NULL;
}
