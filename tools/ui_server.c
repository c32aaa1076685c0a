/*
 * the control panel's HTTP server (ui_server.h): checks, in this order,
 * for every request: the Host header names the panel (127.0.0.1:PORT or
 * localhost:PORT: a DNS-rebinding page's Host names its own domain), an
 * Origin header when present is the panel's own (a web page's fetch or form
 * carries its origin), Sec-Fetch-Site when present is same-origin or none
 * for the API; then the API wants the session secret as a bearer token.
 * Sessions are made by POST /api/login with a one-time login token; they
 * never travel in a cookie, so no other site, no other port on 127.0.0.1
 * and no cross-site request ever carries one. One thread serves all
 * requests (MHD's internal polling thread), so the card sees one at a time.
 */
#include "ui_server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>

#include "ui_api.h"
#include "wk_hex.h"
#include "wk_httpd.h"

#define SECRET_LEN 32
#define SECRET_HEX (2 * SECRET_LEN)
#define SESSIONS_MAX 16
#define SESSION_IDLE (12 * 3600)	/* seconds */
#define BODY_MAX 16384
#define STATIC_MAX (1u << 20)

typedef struct secret {
	bool used;
	uint8_t v[SECRET_LEN];
	time_t at;		/* made, or last used (sessions) */
} secret;

struct ui_server {
	wk_httpd http;
	char host_ip[32];	/* "127.0.0.1:PORT" */
	char host_name[32];	/* "localhost:PORT" */
	char *static_dir;
	ui_api *api;
	pthread_mutex_t lock;	/* tokens, sessions, last (the main thread mints) */
	secret tokens[UI_LOGIN_TOKENS];
	secret sessions[SESSIONS_MAX];
	time_t last;
};

typedef struct req {
	char *body;
	size_t len;
	bool too_big;
} req;

/* ---- responses ---- */

static void
security_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy",
	    "default-src 'none'; script-src 'self'; style-src 'self'; "
	    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
	    "base-uri 'none'; form-action 'none'");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(r, "Cache-Control", "no-store");
}

static enum MHD_Result
send_buf(struct MHD_Connection *c, unsigned status, const char *ctype,
    char *buf, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ctype);
	security_headers(r);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	char *dump = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL, *text;
	json_malloc_t jmalloc;
	json_free_t jfree;

	/* json_dumps allocates with jansson's allocator (the panel's wiping
	 * one); MHD frees with free() */
	text = strdup(dump != NULL ? dump :
	    "{\"error\":\"internal\",\"message\":\"out of memory\"}");
	if (dump != NULL) {
		json_get_alloc_funcs(&jmalloc, &jfree);
		sodium_memzero(dump, strlen(dump));
		jfree(dump);
	}
	if (text == NULL)
		return MHD_NO;
	return send_buf(c, status, "application/json", text, strlen(text));
}

static enum MHD_Result
send_error(struct MHD_Connection *c, unsigned status, const char *code,
    const char *message)
{
	json_t *j = json_pack("{s:s, s:s}", "error", code, "message", message);
	enum MHD_Result r = send_json(c, status, j);

	json_decref(j);
	return r;
}

/* ---- static files ---- */

static const char *
content_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL)
		return NULL;
	if (strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (strcmp(dot, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	if (strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	return NULL;
}

/* a plain name: letters, digits, '-', '_', one '.' not first */
static bool
plain_name(const char *s)
{
	size_t dots = 0;

	if (*s == '\0' || *s == '.' || strlen(s) > 64)
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.')
			dots++;
		else if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	}
	return dots == 1;
}

static enum MHD_Result
send_static(ui_server *s, struct MHD_Connection *c, const char *name)
{
	char path[1024], *buf = NULL;
	const char *ctype;
	struct stat sb;
	ssize_t n;
	int fd = -1;

	if (!plain_name(name) || (ctype = content_type(name)) == NULL)
		return send_error(c, 404, "not_found", "no such file");
	snprintf(path, sizeof(path), "%s/%s", s->static_dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > (off_t)STATIC_MAX ||
	    (buf = malloc((size_t)sb.st_size + 1)) == NULL ||
	    (n = read(fd, buf, (size_t)sb.st_size)) != (ssize_t)sb.st_size) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return send_error(c, 404, "not_found", "no such file");
	}
	close(fd);
	return send_buf(c, 200, ctype, buf, (size_t)n);
}

/* ---- secrets ---- */

static void
secret_hex(const secret *t, char out[SECRET_HEX + 1])
{
	wk_hex_encode(t->v, SECRET_LEN, out);
}

/* the slot whose value hex names, or -1; constant time in the value */
static int
secret_find(secret *set, size_t n, const char *hex)
{
	uint8_t v[SECRET_LEN];
	int found = -1;

	if (hex == NULL || strlen(hex) != SECRET_HEX ||
	    wk_hex_decode(hex, v, sizeof(v)) != SECRET_LEN)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (sodium_memcmp(set[i].v, v, SECRET_LEN) == 0 && set[i].used)
			found = (int)i;
	sodium_memzero(v, sizeof(v));
	return found;
}

/* a free slot, else the oldest */
static secret *
secret_slot(secret *set, size_t n)
{
	secret *old = &set[0];

	for (size_t i = 0; i < n; i++) {
		if (!set[i].used)
			return &set[i];
		if (set[i].at < old->at)
			old = &set[i];
	}
	return old;
}

int
ui_server_login_url(ui_server *s, char *out, size_t cap)
{
	char hex[SECRET_HEX + 1];
	secret *t;
	int rc = -1;

	pthread_mutex_lock(&s->lock);
	t = secret_slot(s->tokens, UI_LOGIN_TOKENS);
	randombytes_buf(t->v, SECRET_LEN);
	t->used = true;
	t->at = time(NULL);
	secret_hex(t, hex);
	if ((size_t)snprintf(out, cap, "http://%s/#token=%s", s->host_ip, hex) <
	    cap)
		rc = 0;
	pthread_mutex_unlock(&s->lock);
	sodium_memzero(hex, sizeof(hex));
	return rc;
}

long
ui_server_idle(ui_server *s)
{
	long idle;

	pthread_mutex_lock(&s->lock);
	idle = (long)(time(NULL) - s->last);
	pthread_mutex_unlock(&s->lock);
	return idle;
}

/* POST /api/login {"token": HEX}: the token is spent, a session made */
static enum MHD_Result
login(ui_server *s, struct MHD_Connection *c, json_t *body)
{
	const char *tok = json_string_value(json_object_get(body, "token"));
	char hex[SECRET_HEX + 1];
	enum MHD_Result r;
	secret *ses;
	json_t *j;
	int i;

	pthread_mutex_lock(&s->lock);
	if ((i = secret_find(s->tokens, UI_LOGIN_TOKENS, tok)) < 0) {
		pthread_mutex_unlock(&s->lock);
		return send_error(c, 403, "bad_token", "this login link is not"
		    " valid: it works once; run 'walletkey ui' for a new one");
	}
	sodium_memzero(&s->tokens[i], sizeof(s->tokens[i]));
	ses = secret_slot(s->sessions, SESSIONS_MAX);
	randombytes_buf(ses->v, SECRET_LEN);
	ses->used = true;
	ses->at = time(NULL);
	s->last = ses->at;
	secret_hex(ses, hex);
	pthread_mutex_unlock(&s->lock);
	j = json_pack("{s:s}", "session", hex);
	sodium_memzero(hex, sizeof(hex));
	r = send_json(c, 200, j);
	json_decref(j);
	return r;
}

/* the session of "Authorization: Bearer HEX", alive; touches it */
static bool
session_ok(ui_server *s, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	time_t now = time(NULL);
	bool ok = false;
	int i;

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return false;
	pthread_mutex_lock(&s->lock);
	if ((i = secret_find(s->sessions, SESSIONS_MAX, h + 7)) >= 0) {
		if (now - s->sessions[i].at > SESSION_IDLE) {
			sodium_memzero(&s->sessions[i], sizeof(s->sessions[i]));
		} else {
			s->sessions[i].at = now;
			s->last = now;
			ok = true;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* ---- the checks every request passes ---- */

static const char *
header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Host names the panel; Origin, when sent, is the panel's own origin */
static const char *
origin_refusal(ui_server *s, struct MHD_Connection *c, bool api)
{
	const char *host = header(c, MHD_HTTP_HEADER_HOST);
	const char *origin = header(c, "Origin");
	const char *site = header(c, "Sec-Fetch-Site");
	char want[64];

	if (host == NULL || (strcmp(host, s->host_ip) != 0 &&
	    strcmp(host, s->host_name) != 0))
		return "the Host header does not name this panel";
	snprintf(want, sizeof(want), "http://%s", host);
	if (origin != NULL && strcmp(origin, want) != 0)
		return "a request from another origin";
	if (api && site != NULL && strcmp(site, "same-origin") != 0 &&
	    strcmp(site, "none") != 0)
		return "a request from another site";
	return NULL;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	ui_server *s = cls;
	req *st = *con_cls;
	const char *why, *slot;
	json_error_t jerr;
	json_t *body = NULL;
	ui_reply rep = { 0, NULL };
	enum MHD_Result r;
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	bool api = strncmp(url, "/api/", 5) == 0;

	(void)version;
	if (st == NULL) {
		const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);

		if ((st = calloc(1, sizeof(*st))) == NULL)
			return MHD_NO;
		*con_cls = st;
		if (cl != NULL && strtoull(cl, NULL, 10) > BODY_MAX)
			st->too_big = true;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!st->too_big && *upload_size <= BODY_MAX - st->len) {
			char *nb = malloc(st->len + *upload_size + 1);

			if (nb == NULL)
				return MHD_NO;
			/* no realloc: the old buffer may hold a PIN */
			if (st->body != NULL) {
				memcpy(nb, st->body, st->len);
				sodium_memzero(st->body, st->len);
				free(st->body);
			}
			st->body = nb;
			memcpy(st->body + st->len, upload, *upload_size);
			st->len += *upload_size;
			st->body[st->len] = '\0';
		} else {
			st->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if ((why = origin_refusal(s, c, api)) != NULL)
		return send_error(c, 403, "forbidden", why);
	if (!get && !post)
		return send_error(c, 405, "method_not_allowed", "GET or POST only");
	if (!api) {
		if (!get)
			return send_error(c, 405, "method_not_allowed", "GET only");
		if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
			return send_static(s, c, "index.html");
		if (strncmp(url, "/static/", 8) == 0)
			return send_static(s, c, url + 8);
		return send_error(c, 404, "not_found", "no such page");
	}
	if (st->too_big)
		return send_error(c, 413, "body_too_large", "a request body is at"
		    " most 16 KiB");
	if (post) {
		if ((body = json_loadb(st->body != NULL ? st->body : "", st->len,
		    JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
		    !json_is_object(body)) {
			json_decref(body);
			return send_error(c, 400, "bad_json", "the body is not a JSON"
			    " object");
		}
	}
	if (strcmp(url, "/api/login") == 0) {
		r = post ? login(s, c, body) : send_error(c, 405,
		    "method_not_allowed", "POST only");
		json_decref(body);
		return r;
	}
	if (!session_ok(s, c)) {
		json_decref(body);
		return send_error(c, 401, "login_required", "log in with the link"
		    " 'walletkey ui' printed or opened");
	}
	/* MHD has split the query off the url; the API's one argument */
	slot = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "slot");
	ui_api_handle(s->api, method, url + 5, slot, body, &rep);
	json_decref(body);
	r = send_json(c, rep.status, rep.json);
	json_decref(rep.json);
	return r;
}

static void
on_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	req *st = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (st != NULL) {
		if (st->body != NULL) {
			sodium_memzero(st->body, st->len);
			free(st->body);
		}
		free(st);
		*con_cls = NULL;
	}
}

int
ui_server_start(const ui_config *cfg, ui_server **out, char *err,
    size_t errlen)
{
	wk_httpd_cfg hc = {
		.on_request = on_request,
		.on_done = on_done,
		.timeout = 60,
		.limit = 32,
	};
	struct sockaddr_in sa;
	ui_server *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->last = time(NULL);
	if ((s->static_dir = strdup(cfg->static_dir)) == NULL ||
	    ui_api_new(cfg->reader, &s->api) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(cfg->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	hc.addr = &sa;
	hc.cls = s;
	if (wk_httpd_start(&s->http, &hc) != 0) {
		snprintf(err, errlen, "cannot listen on 127.0.0.1:%u: %s",
		    (unsigned)cfg->port, strerror(errno));
		goto fail;
	}
	snprintf(s->host_ip, sizeof(s->host_ip), "127.0.0.1:%u",
	    (unsigned)s->http.port);
	snprintf(s->host_name, sizeof(s->host_name), "localhost:%u",
	    (unsigned)s->http.port);
	*out = s;
	return 0;
fail:
	ui_server_stop(&s);
	return -1;
}

void
ui_server_stop(ui_server **sp)
{
	ui_server *s = *sp;

	if (s == NULL)
		return;
	wk_httpd_stop(&s->http);
	ui_api_free(&s->api);
	free(s->static_dir);
	sodium_memzero(s->tokens, sizeof(s->tokens));
	sodium_memzero(s->sessions, sizeof(s->sessions));
	pthread_mutex_destroy(&s->lock);
	free(s);
	*sp = NULL;
}

uint16_t
ui_server_port(const ui_server *s)
{
	return s->http.port;
}
