/* the issuer's HTTP+JSON API (issuer/openapi.yaml) over libcurl and jansson */
#include "walletkey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "wk_flow.h"
#include "wk_json.h"
#include "wk_buf.h"
#include "wk_hex.h"
#include "wk_purse_crypto.h"

#define ISSUER_TIMEOUT 30L
#define ISSUER_BODY_MAX (1u << 20)

struct wk_issuer {
	CURL *curl;
	char base[512];
	/* the session's bearer token (docs/issuer.md "Sessions"); "" none */
	char token[WK_ISSUER_TOKEN_MAX + 1];
	wk_buf in;
	long status;
	char code[64];
	char message[256];
	long index;		/* the batch entry an error is about, or -1 */
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	wk_buf *b = arg;

	wk_buf_add(b, p, size * n);
	return wk_buf_failed(b) ? 0 : size * n;
}

const char *
wk_issuer_url(const wk_issuer *is)
{
	return is != NULL ? is->base : "";
}

int
wk_issuer_new(const char *base_url, wk_issuer **out)
{
	wk_issuer *is;
	size_t n;

	if (out == NULL || base_url == NULL)
		return WK_ERR_ARG;
	*out = NULL;
	n = strlen(base_url);
	if (n == 0 || n >= sizeof(is->base) ||
	    (strncmp(base_url, "http://", 7) != 0 &&
	    strncmp(base_url, "https://", 8) != 0))
		return WK_ERR_ARG;
	if ((is = calloc(1, sizeof(*is))) == NULL)
		return WK_ERR_MEMORY;
	if ((is->curl = curl_easy_init()) == NULL) {
		free(is);
		return WK_ERR_MEMORY;
	}
	memcpy(is->base, base_url, n + 1);
	while (n > 0 && is->base[n - 1] == '/')
		is->base[--n] = '\0';
	wk_buf_init_heap(&is->in, ISSUER_BODY_MAX);
	is->index = -1;
	*out = is;
	return WK_OK;
}

void
wk_issuer_free(wk_issuer **isp)
{
	wk_issuer *is;

	if (isp == NULL || (is = *isp) == NULL)
		return;
	curl_easy_cleanup(is->curl);
	wk_buf_clear(&is->in);
	sodium_memzero(is->token, sizeof(is->token));
	free(is);
	*isp = NULL;
}

int
wk_issuer_set_token(wk_issuer *is, const char *token)
{
	size_t n = token != NULL ? strlen(token) : 0;

	if (is == NULL || n > WK_ISSUER_TOKEN_MAX)
		return WK_ERR_ARG;
	/* a header value: no spaces, controls or quotes */
	for (size_t i = 0; i < n; i++)
		if (token[i] <= ' ' || token[i] > '~' || token[i] == '"')
			return WK_ERR_ARG;
	sodium_memzero(is->token, sizeof(is->token));
	if (n > 0)
		memcpy(is->token, token, n + 1);
	return WK_OK;
}

/* Content-Type for a body, the bearer token when there is one */
static struct curl_slist *
headers(const wk_issuer *is, bool body, char *auth, size_t cap)
{
	struct curl_slist *h = NULL, *t;

	if (body && (h = curl_slist_append(NULL,
	    "Content-Type: application/json")) == NULL)
		return NULL;
	if (is->token[0] != '\0') {
		snprintf(auth, cap, "Authorization: Bearer %s", is->token);
		if ((t = curl_slist_append(h, auth)) == NULL) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = t;
	}
	return h;
}

long
wk_issuer_http_status(const wk_issuer *is)
{
	return is != NULL ? is->status : 0;
}

const char *
wk_issuer_error_code(const wk_issuer *is)
{
	return is != NULL ? is->code : "";
}

const char *
wk_issuer_error_message(const wk_issuer *is)
{
	return is != NULL ? is->message : "";
}

long
wk_issuer_error_index(const wk_issuer *is)
{
	return is != NULL ? is->index : -1;
}

/* the base64 field j of an issuer's answer; WK_ERR_ISSUER when it is not */
static int
unb64(json_t *j, uint8_t *out, size_t cap, size_t *len)
{
	return wk_b64_unjson(j, out, cap, len) == 0 ? WK_OK : WK_ERR_ISSUER;
}

int
wk_issuer_call(wk_issuer *is, const char *path, json_t *body, json_t **resp)
{
	char url[768], *text = NULL, auth[WK_ISSUER_TOKEN_MAX + 40];
	const char *cafile;
	struct curl_slist *hdr = NULL;
	json_t *j = NULL;
	CURLcode cc;
	int rc = WK_ERR_NETWORK;

	*resp = NULL;
	is->status = 0;
	is->code[0] = is->message[0] = '\0';
	is->index = -1;
	wk_buf_reset(&is->in);
	if ((size_t)snprintf(url, sizeof(url), "%s%s", is->base, path) >=
	    sizeof(url)) {
		rc = WK_ERR_ARG;
		goto out;
	}
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		rc = WK_ERR_MEMORY;
		goto out;
	}
	if ((body != NULL || is->token[0] != '\0') &&
	    (hdr = headers(is, body != NULL, auth, sizeof(auth))) == NULL) {
		rc = WK_ERR_MEMORY;
		goto out;
	}
	curl_easy_reset(is->curl);
	curl_easy_setopt(is->curl, CURLOPT_URL, url);
	curl_easy_setopt(is->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(is->curl, CURLOPT_WRITEDATA, &is->in);
	curl_easy_setopt(is->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(is->curl, CURLOPT_TIMEOUT, ISSUER_TIMEOUT);
	curl_easy_setopt(is->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(is->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	/* an issuer with its own TLS certificate authority */
	if ((cafile = getenv("WALLETKEY_ISSUER_CAFILE")) != NULL && cafile[0] != '\0')
		curl_easy_setopt(is->curl, CURLOPT_CAINFO, cafile);
	if (text != NULL) {
		curl_easy_setopt(is->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(is->curl, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(is->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(text));
	}
	if (hdr != NULL)
		curl_easy_setopt(is->curl, CURLOPT_HTTPHEADER, hdr);
	if ((cc = curl_easy_perform(is->curl)) != CURLE_OK) {
		snprintf(is->message, sizeof(is->message), "%s",
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(is->curl, CURLINFO_RESPONSE_CODE, &is->status);
	if (is->in.len > 0)
		j = json_loadb((const char *)is->in.p, is->in.len, 0, NULL);
	if (is->status != 200) {
		const char *c = json_string_value(json_object_get(j, "error"));
		const char *m = json_string_value(json_object_get(j, "message"));

		snprintf(is->code, sizeof(is->code), "%s", c ? c : "http_error");
		snprintf(is->message, sizeof(is->message), "%s", m ? m : "HTTP error");
		if (json_is_integer(json_object_get(j, "index")) &&
		    json_integer_value(json_object_get(j, "index")) >= 0)
			is->index = (long)json_integer_value(json_object_get(j,
			    "index"));
		rc = is->status >= 500 ? WK_ERR_NETWORK : WK_ERR_ISSUER;
		goto out;
	}
	if (!json_is_object(j)) {
		snprintf(is->message, sizeof(is->message), "the answer is not JSON");
		rc = WK_ERR_ISSUER;
		goto out;
	}
	*resp = j;
	j = NULL;
	rc = WK_OK;
out:
	curl_slist_free_all(hdr);
	sodium_memzero(auth, sizeof(auth));
	json_decref(j);
	json_decref(body);
	if (text != NULL) {
		sodium_memzero(text, strlen(text));	/* may hold a password */
		free(text);
	}
	return rc;
}

/* the issuer's {"dlk": "sm4", ...} as "dlk=sm4,dpk=3des,..." in the table's
 * order; names and values other than the table's and 3des/sm4 are not
 * copied (an issuer's text is not printed as it came) */
static void
key_algorithms(json_t *o, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	if (!json_is_object(o))
		return;
	for (int id = 0; id < WK_PURSE_KEY_N; id++) {
		const char *v = json_string_value(json_object_get(o,
		    wk_purse_key_names[id]));
		uint8_t alg;
		int w;

		if (v == NULL || wk_purse_alg_parse(v, &alg) != 0)
			continue;
		w = snprintf(out + n, cap - n, "%s%s=%s", n > 0 ? "," : "",
		    wk_purse_key_names[id], wk_purse_alg_name(alg));
		if (w < 0 || (size_t)w >= cap - n) {
			out[n] = '\0';
			return;
		}
		n += (size_t)w;
	}
}

int
wk_issuer_enrol(wk_issuer *is, const char *pan, const char *password,
    const char *card_id_hex, const uint8_t *csr, size_t csr_len,
    const uint8_t *const *attestation, const size_t *attestation_len,
    size_t n_attestation, wk_issuer_enrolment *out)
{
	json_t *req, *resp = NULL, *chain;
	const char *st;
	int rc;

	if (is == NULL || pan == NULL || password == NULL || card_id_hex == NULL ||
	    csr == NULL || out == NULL || attestation == NULL ||
	    attestation_len == NULL || n_attestation == 0)
		return WK_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if ((chain = json_array()) == NULL)
		return WK_ERR_MEMORY;
	for (size_t i = 0; i < n_attestation; i++)
		if (attestation[i] == NULL || json_array_append_new(chain,
		    wk_b64_json(attestation[i], attestation_len[i])) != 0) {
			json_decref(chain);
			return attestation[i] == NULL ? WK_ERR_ARG : WK_ERR_MEMORY;
		}
	if ((req = json_pack("{s:s, s:s, s:s, s:o, s:o}", "pan", pan, "password",
	    password, "card_id", card_id_hex, "csr", wk_b64_json(csr, csr_len),
	    "attestation", chain)) == NULL)
		return WK_ERR_MEMORY;
	if ((rc = wk_issuer_call(is, "/v1/enrolments", req, &resp)) != WK_OK)
		return rc;
	if ((rc = unb64(json_object_get(resp, "certificate"), out->cert,
	    sizeof(out->cert), &out->cert_len)) != WK_OK ||
	    (rc = unb64(json_object_get(resp, "ca_certificate"), out->ca,
	    sizeof(out->ca), &out->ca_len)) != WK_OK ||
	    (rc = unb64(json_object_get(resp, "personalisation"), out->perso,
	    sizeof(out->perso), &out->perso_len)) != WK_OK)
		snprintf(is->message, sizeof(is->message), "malformed enrolment");
	if (rc == WK_OK && json_object_get(resp, "ocra_key") != NULL &&
	    (rc = unb64(json_object_get(resp, "ocra_key"), out->ocra,
	    sizeof(out->ocra), &out->ocra_len)) != WK_OK)
		snprintf(is->message, sizeof(is->message), "malformed OCRA key");
	st = json_string_value(json_object_get(resp, "status"));
	out->existing = st != NULL && strcmp(st, "existing") == 0;
	if (rc == WK_OK)
		key_algorithms(json_object_get(resp, "key_algorithms"),
		    out->key_algorithms, sizeof(out->key_algorithms));
	json_decref(resp);
	return rc;
}

static int
load_from_json(wk_issuer *is, json_t *j, wk_issuer_load *out)
{
	const char *id = json_string_value(json_object_get(j, "load_id"));
	const char *st = json_string_value(json_object_get(j, "status"));
	json_int_t seq = json_integer_value(json_object_get(j, "seq"));
	json_int_t amount = json_integer_value(json_object_get(j, "amount"));
	json_t *bal = json_object_get(j, "balance");

	memset(out, 0, sizeof(*out));
	if (id == NULL || strlen(id) != 2 * WK_WALLET_LOAD_ID_LEN || st == NULL ||
	    strlen(st) >= sizeof(out->status) || seq < 0 || seq > 0xFFFF ||
	    amount <= 0 || amount > 0xFFFFFFFF ||
	    unb64(json_object_get(j, "grant"), out->grant, sizeof(out->grant),
	    &out->grant_len) != WK_OK) {
		snprintf(is->message, sizeof(is->message), "malformed load");
		return WK_ERR_ISSUER;
	}
	memcpy(out->load_id, id, strlen(id) + 1);
	memcpy(out->status, st, strlen(st) + 1);
	out->seq = (uint16_t)seq;
	out->amount = (uint32_t)amount;
	if (json_is_integer(bal) && json_integer_value(bal) >= 0 &&
	    json_integer_value(bal) <= 0xFFFFFFFF) {
		out->has_balance = true;
		out->balance = (uint32_t)json_integer_value(bal);
	}
	return WK_OK;
}

int
wk_issuer_load_start(wk_issuer *is, const uint8_t *req, size_t len,
    wk_issuer_load *out)
{
	json_t *body, *resp = NULL;
	int rc;

	if (is == NULL || req == NULL || out == NULL)
		return WK_ERR_ARG;
	if ((body = json_pack("{s:o}", "request", wk_b64_json(req, len))) == NULL)
		return WK_ERR_MEMORY;
	if ((rc = wk_issuer_call(is, "/v1/loads", body, &resp)) == WK_OK)
		rc = load_from_json(is, resp, out);
	json_decref(resp);
	return rc;
}

static bool
hex_id(const char *id)
{
	uint8_t tmp[WK_WALLET_LOAD_ID_LEN];

	return id != NULL && strlen(id) == 2 * WK_WALLET_LOAD_ID_LEN &&
	    wk_hex_decode(id, tmp, sizeof(tmp)) == WK_WALLET_LOAD_ID_LEN;
}

int
wk_issuer_load_close(wk_issuer *is, const char *load_id, const char *what,
    const uint8_t *msg, size_t len, wk_issuer_load *out)
{
	char path[128];
	const char *ep;
	json_t *body, *resp = NULL;
	int rc;

	if (is == NULL || !hex_id(load_id) || what == NULL || msg == NULL ||
	    out == NULL)
		return WK_ERR_ARG;
	if (strcmp(what, "receipt") == 0)
		ep = "receipt";
	else if (strcmp(what, "refusal") == 0)
		ep = "refusal";
	else if (strcmp(what, "proof") == 0)
		ep = "recover";
	else
		return WK_ERR_ARG;
	snprintf(path, sizeof(path), "/v1/loads/%s/%s", load_id, ep);
	if ((body = json_pack("{s:o}", what, wk_b64_json(msg, len))) == NULL)
		return WK_ERR_MEMORY;
	if ((rc = wk_issuer_call(is, path, body, &resp)) == WK_OK)
		rc = load_from_json(is, resp, out);
	json_decref(resp);
	return rc;
}

int
wk_issuer_load_get(wk_issuer *is, const char *load_id, wk_issuer_load *out)
{
	char path[128];
	json_t *resp = NULL;
	int rc;

	if (is == NULL || !hex_id(load_id) || out == NULL)
		return WK_ERR_ARG;
	snprintf(path, sizeof(path), "/v1/loads/%s", load_id);
	if ((rc = wk_issuer_call(is, path, NULL, &resp)) == WK_OK)
		rc = load_from_json(is, resp, out);
	json_decref(resp);
	return rc;
}

int
wk_issuer_request(wk_issuer *is, const char *path, const char *body,
    char **resp)
{
	json_t *req = NULL, *j = NULL;
	int rc;

	if (is == NULL || path == NULL || path[0] != '/' || resp == NULL)
		return WK_ERR_ARG;
	*resp = NULL;
	if (body != NULL && (req = json_loads(body, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		return WK_ERR_ARG;
	if ((rc = wk_issuer_call(is, path, req, &j)) != WK_OK)
		return rc;
	if ((*resp = json_dumps(j, JSON_COMPACT)) == NULL)
		rc = WK_ERR_MEMORY;
	json_decref(j);
	return rc;
}

int
wk_issuer_transfer_report(wk_issuer *is, const uint8_t *token, size_t len)
{
	json_t *body, *resp = NULL;
	int rc;

	if (is == NULL || token == NULL || len == 0 || len > WK_WALLET_MSG_MAX)
		return WK_ERR_ARG;
	if ((body = json_pack("{s:o}", "token", wk_b64_json(token, len))) == NULL)
		return WK_ERR_MEMORY;
	rc = wk_issuer_call(is, "/v1/transfers", body, &resp);
	if (rc == WK_OK && json_string_value(json_object_get(resp, "status")) ==
	    NULL)
		rc = WK_ERR_ISSUER;
	json_decref(resp);
	return rc;
}

int
wk_issuer_pin_reload(wk_issuer *is, const uint8_t *req, size_t len,
    wk_issuer_pin_script *out)
{
	json_t *body, *resp = NULL;
	const char *id, *chal;
	int rc;

	if (is == NULL || req == NULL || len == 0 || len > WK_WALLET_MSG_MAX ||
	    out == NULL)
		return WK_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if ((body = json_pack("{s:o}", "request", wk_b64_json(req, len))) == NULL)
		return WK_ERR_MEMORY;
	if ((rc = wk_issuer_call(is, "/v1/pin-reloads", body, &resp)) != WK_OK)
		goto out;
	rc = WK_ERR_ISSUER;
	id = json_string_value(json_object_get(resp, "card_id"));
	chal = json_string_value(json_object_get(resp, "challenge"));
	if (id == NULL || strlen(id) != 16 || chal == NULL || strlen(chal) != 8 ||
	    wk_hex_decode(chal, out->challenge, 4) != 4 ||
	    !json_is_integer(json_object_get(resp, "order")) ||
	    unb64(json_object_get(resp, "script"), out->script,
	    sizeof(out->script), &out->script_len) != WK_OK ||
	    out->script_len < 10) {
		snprintf(is->message, sizeof(is->message), "the issuer's PIN reload"
		    " answer is malformed");
		goto out;
	}
	memcpy(out->card_id, id, 17);
	out->order = (long long)json_integer_value(json_object_get(resp, "order"));
	rc = WK_OK;
out:
	if (rc != WK_OK)
		sodium_memzero(out, sizeof(*out));
	json_decref(resp);
	return rc;
}

int
wk_issuer_challenge(wk_issuer *is, const char *card_id_hex,
    uint8_t challenge[WK_ISSUER_CHALLENGE_LEN])
{
	char path[96];
	const char *c;
	json_t *body, *resp = NULL;
	uint8_t id[8];
	int rc;

	if (is == NULL || card_id_hex == NULL || challenge == NULL ||
	    strlen(card_id_hex) != 16 || wk_hex_decode(card_id_hex, id,
	    sizeof(id)) != sizeof(id))
		return WK_ERR_ARG;
	snprintf(path, sizeof(path), "/v1/cards/%s/challenges", card_id_hex);
	if ((body = json_object()) == NULL)
		return WK_ERR_MEMORY;
	if ((rc = wk_issuer_call(is, path, body, &resp)) != WK_OK)
		return rc;
	c = json_string_value(json_object_get(resp, "challenge"));
	if (c == NULL || strlen(c) != 2 * WK_ISSUER_CHALLENGE_LEN ||
	    wk_hex_decode(c, challenge, WK_ISSUER_CHALLENGE_LEN) !=
	    WK_ISSUER_CHALLENGE_LEN) {
		snprintf(is->message, sizeof(is->message), "malformed challenge");
		rc = WK_ERR_ISSUER;
	}
	json_decref(resp);
	return rc;
}

int
wk_issuer_session_start(wk_issuer *is, const uint8_t *proof, size_t len,
    wk_issuer_session *out)
{
	json_t *body, *resp = NULL;
	const char *tok, *card, *scope;
	json_int_t exp;
	int rc;

	if (is == NULL || proof == NULL || len == 0 || len > WK_WALLET_MSG_MAX ||
	    out == NULL)
		return WK_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if ((body = json_pack("{s:o}", "proof", wk_b64_json(proof, len))) == NULL)
		return WK_ERR_MEMORY;
	/* a session is opened without the old one's token */
	(void)wk_issuer_set_token(is, NULL);
	if ((rc = wk_issuer_call(is, "/v1/sessions", body, &resp)) != WK_OK)
		return rc;
	tok = json_string_value(json_object_get(resp, "token"));
	card = json_string_value(json_object_get(resp, "card_id"));
	scope = json_string_value(json_object_get(resp, "scope"));
	exp = json_integer_value(json_object_get(resp, "expires_in"));
	if (tok == NULL || card == NULL || scope == NULL || strlen(card) != 16 ||
	    exp <= 0 || (strcmp(scope, "card") != 0 &&
	    strcmp(scope, "holder") != 0) ||
	    wk_issuer_set_token(is, tok) != WK_OK || tok[0] == '\0') {
		snprintf(is->message, sizeof(is->message), "malformed session");
		rc = WK_ERR_ISSUER;
		goto out;
	}
	memcpy(out->token, tok, strlen(tok) + 1);
	memcpy(out->card_id, card, 17);
	out->scope = strcmp(scope, "holder") == 0 ? WK_ISSUER_SCOPE_HOLDER :
	    WK_ISSUER_SCOPE_CARD;
	out->expires_in = (long)exp;
out:
	json_decref(resp);
	return rc;
}

int
wk_issuer_bank_records(wk_issuer *is, const char *card_id_hex, uint64_t after,
    uint8_t *batch, size_t *len, bool *more)
{
	char path[96];
	json_t *resp = NULL, *jb;
	const char *h;
	size_t n;
	int rc;

	if (is == NULL || card_id_hex == NULL || strlen(card_id_hex) != 16 ||
	    strspn(card_id_hex, "0123456789abcdef") != 16 || batch == NULL ||
	    len == NULL || more == NULL)
		return WK_ERR_ARG;
	snprintf(path, sizeof(path), "/v1/audit/%s/bank/%llu", card_id_hex,
	    (unsigned long long)after);
	if ((rc = wk_issuer_call(is, path, NULL, &resp)) != WK_OK)
		return rc;
	*more = json_is_true(json_object_get(resp, "more"));
	jb = json_object_get(resp, "batch");
	if (json_is_null(jb)) {
		*len = 0;
		*more = false;
		goto out;
	}
	h = json_string_value(jb);
	n = h != NULL ? strlen(h) : 0;
	if (h == NULL || n % 2 != 0 || n / 2 > *len ||
	    wk_hex_decode(h, batch, *len) != (long)(n / 2)) {
		snprintf(is->message, sizeof(is->message), "the issuer's records"
		    " are malformed");
		rc = WK_ERR_ISSUER;
		goto out;
	}
	*len = n / 2;
out:
	json_decref(resp);
	return rc;
}
