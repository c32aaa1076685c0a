/*
 * the issuer client (middleware/wk_issuer.c) against a canned HTTP server
 * (libmicrohttpd on a loopback port): answers it takes, and every malformed
 * answer, error status or unreachable server mapped to its wk_rc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "walletkey.h"

static struct MHD_Daemon *daemon_;
static unsigned port;
static int answer_status;
static const char *answer_body;
static char last_url[256];
static char last_auth[256];
static char last_body[8192];
static size_t last_len;

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data,
    size_t *data_size, void **state)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)method;
	(void)version;
	if (*state == NULL) {
		*state = c;
		last_len = 0;
		return MHD_YES;
	}
	if (*data_size > 0) {
		if (last_len + *data_size < sizeof(last_body)) {
			memcpy(last_body + last_len, data, *data_size);
			last_len += *data_size;
		}
		*data_size = 0;
		return MHD_YES;
	}
	last_body[last_len] = '\0';
	snprintf(last_url, sizeof(last_url), "%s", url);
	{
		const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_AUTHORIZATION);

		snprintf(last_auth, sizeof(last_auth), "%s", a ? a : "");
	}
	r = MHD_create_response_from_buffer(strlen(answer_body),
	    (void *)answer_body, MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, (unsigned)answer_status, r);
	MHD_destroy_response(r);
	return ret;
}

static int
start(void **state)
{
	const union MHD_DaemonInfo *info;

	(void)state;
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
	    handler, NULL, MHD_OPTION_END);
	assert_non_null(daemon_);
	info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	port = info->port;
	return 0;
}

static int
stop(void **state)
{
	(void)state;
	MHD_stop_daemon(daemon_);
	return 0;
}

static wk_issuer *
client(void)
{
	char url[64];
	wk_issuer *is = NULL;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
	assert_int_equal(wk_issuer_new(url, &is), WK_OK);
	return is;
}

/* "AAEC" is base64 of 00 01 02 */
#define GRANT_OK "{\"load_id\":\"00112233445566778899aabbccddeeff\"," \
    "\"card_id\":\"0102030405060708\",\"seq\":7,\"amount\":100," \
    "\"status\":\"pending\",\"grant\":\"AAEC\"}"

static void
test_new(void **state)
{
	wk_issuer *is = NULL;

	(void)state;
	assert_int_equal(wk_issuer_new("ftp://x", &is), WK_ERR_ARG);
	assert_int_equal(wk_issuer_new("", &is), WK_ERR_ARG);
	assert_int_equal(wk_issuer_new(NULL, &is), WK_ERR_ARG);
	assert_null(is);
	wk_issuer_free(&is);
}

static void
test_load_start(void **state)
{
	wk_issuer *is = client();
	wk_issuer_load ld;
	const uint8_t req[3] = { 0xE0, 0x01, 0x00 };

	(void)state;
	answer_status = 200;
	answer_body = GRANT_OK;
	assert_int_equal(wk_issuer_load_start(is, req, sizeof(req), &ld), WK_OK);
	assert_string_equal(last_url, "/v1/loads");
	assert_string_equal(last_body, "{\"request\":\"4AEA\"}");
	assert_string_equal(ld.load_id, "00112233445566778899aabbccddeeff");
	assert_string_equal(ld.status, "pending");
	assert_int_equal(ld.seq, 7);
	assert_int_equal(ld.amount, 100);
	assert_int_equal(ld.grant_len, 3);
	assert_false(ld.has_balance);
	wk_issuer_free(&is);
}


/* the generic call the audit sync uses (wk_issuer_request) */
static void
test_request(void **state)
{
	wk_issuer *is = client();
	char *resp = NULL;

	(void)state;
	answer_status = 200;
	answer_body = "{\"stored_seq\": 5}";
	assert_int_equal(wk_issuer_request(is, "/v1/audit/0102030405060708/records",
	    "{\"page\": \"00\"}", &resp), WK_OK);
	assert_string_equal(last_url, "/v1/audit/0102030405060708/records");
	assert_string_equal(last_body, "{\"page\":\"00\"}");
	assert_string_equal(resp, "{\"stored_seq\":5}");
	free(resp);
	resp = NULL;
	/* a refusal: the issuer's code and message, no answer */
	answer_status = 409;
	answer_body = "{\"error\": \"gap\", \"message\": \"m\"}";
	assert_int_equal(wk_issuer_request(is, "/v1/audit/x/history/1", NULL,
	    &resp), WK_ERR_ISSUER);
	assert_null(resp);
	assert_string_equal(wk_issuer_error_code(is), "gap");
	/* not JSON in, not a path */
	assert_int_equal(wk_issuer_request(is, "/v1/x", "{", &resp), WK_ERR_ARG);
	assert_int_equal(wk_issuer_request(is, "v1/x", NULL, &resp), WK_ERR_ARG);
	wk_issuer_free(&is);
}

static void
test_errors(void **state)
{
	static const struct {
		int status;
		const char *body;
		int rc;
		const char *code;
	} t[] = {
		{ 409, "{\"error\":\"seq_used\",\"message\":\"used (load x)\"}",
		    WK_ERR_ISSUER, "seq_used" },
		{ 403, "{\"error\":\"bad_mac1\",\"message\":\"no\"}", WK_ERR_ISSUER,
		    "bad_mac1" },
		{ 400, "not json", WK_ERR_ISSUER, "http_error" },
		{ 503, "{\"error\":\"busy\",\"message\":\"retry\"}", WK_ERR_NETWORK,
		    "busy" },
		{ 200, "not json", WK_ERR_ISSUER, "" },
		{ 200, "[1]", WK_ERR_ISSUER, "" },
		{ 200, "{}", WK_ERR_ISSUER, "" },
		/* a short load id, a seq out of range, bad base64, amount 0 */
		{ 200, "{\"load_id\":\"0011\",\"seq\":1,\"amount\":1,"
		    "\"status\":\"pending\",\"grant\":\"AAEC\"}", WK_ERR_ISSUER, "" },
		{ 200, "{\"load_id\":\"00112233445566778899aabbccddeeff\","
		    "\"seq\":65536,\"amount\":1,\"status\":\"pending\","
		    "\"grant\":\"AAEC\"}", WK_ERR_ISSUER, "" },
		{ 200, "{\"load_id\":\"00112233445566778899aabbccddeeff\","
		    "\"seq\":1,\"amount\":1,\"status\":\"pending\","
		    "\"grant\":\"!!!\"}", WK_ERR_ISSUER, "" },
		{ 200, "{\"load_id\":\"00112233445566778899aabbccddeeff\","
		    "\"seq\":1,\"amount\":0,\"status\":\"pending\","
		    "\"grant\":\"AAEC\"}", WK_ERR_ISSUER, "" },
	};
	wk_issuer *is = client();
	wk_issuer_load ld;
	const uint8_t msg[1] = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		answer_status = t[i].status;
		answer_body = t[i].body;
		assert_int_equal(wk_issuer_load_start(is, msg, 1, &ld), t[i].rc);
		assert_string_equal(wk_issuer_error_code(is), t[i].code);
		assert_int_equal(wk_issuer_http_status(is), t[i].status);
	}
	/* load ids are checked before anything is sent */
	assert_int_equal(wk_issuer_load_close(is, "../../x", "receipt", msg, 1,
	    &ld), WK_ERR_ARG);
	assert_int_equal(wk_issuer_load_close(is,
	    "00112233445566778899aabbccddeeff", "other", msg, 1, &ld), WK_ERR_ARG);
	assert_int_equal(wk_issuer_load_get(is, "zz", &ld), WK_ERR_ARG);
	wk_issuer_free(&is);
}

static void
test_close_and_enrol(void **state)
{
	wk_issuer *is = client();
	wk_issuer_load ld;
	wk_issuer_enrolment *en = calloc(1, sizeof(*en));
	const uint8_t msg[3] = { 1, 2, 3 }, d2[2] = { 4, 5 };
	const uint8_t *const chain[2] = { msg, d2 };
	const size_t chain_len[2] = { 3, 2 };

	(void)state;
	assert_non_null(en);
	answer_status = 200;
	answer_body = "{\"load_id\":\"00112233445566778899aabbccddeeff\","
	    "\"seq\":7,\"amount\":100,\"status\":\"complete\",\"grant\":\"AAEC\","
	    "\"balance\":12345}";
	assert_int_equal(wk_issuer_load_close(is,
	    "00112233445566778899aabbccddeeff", "proof", msg, 3, &ld), WK_OK);
	assert_string_equal(last_url,
	    "/v1/loads/00112233445566778899aabbccddeeff/recover");
	assert_string_equal(last_body, "{\"proof\":\"AQID\"}");
	assert_true(ld.has_balance);
	assert_int_equal(ld.balance, 12345);
	answer_body = "{\"card_id\":\"0102030405060708\",\"certificate\":\"AAEC\","
	    "\"ca_certificate\":\"AAEC\",\"personalisation\":\"AAEC\","
	    "\"key_version\":1,\"status\":\"existing\"}";
	assert_int_equal(wk_issuer_enrol(is, "6222", "pw", "0102030405060708", msg,
	    3, chain, chain_len, 2, en), WK_OK);
	assert_string_equal(last_url, "/v1/enrolments");
	/* the attestation chain goes as an array of base64 certificates */
	assert_non_null(strstr(last_body, "\"attestation\":[\"AQID\",\"BAU=\"]"));
	assert_true(en->existing);
	assert_int_equal(en->perso_len, 3);
	assert_int_equal(wk_issuer_enrol(is, "6222", "pw", "0102030405060708", msg,
	    3, chain, chain_len, 0, en), WK_ERR_ARG);
	assert_int_equal(wk_issuer_enrol(is, "6222", "pw", "0102030405060708", msg,
	    3, NULL, chain_len, 2, en), WK_ERR_ARG);
	answer_body = "{\"certificate\":\"AAEC\"}";
	assert_int_equal(wk_issuer_enrol(is, "6222", "pw", "0102030405060708", msg,
	    3, chain, chain_len, 2, en), WK_ERR_ISSUER);
	free(en);
	wk_issuer_free(&is);
}

/* sessions (docs/issuer.md "Sessions"): the challenge, the token, and the
 * token on every later call, GET and POST alike */
#define TOKEN "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456"

static void
test_session(void **state)
{
	wk_issuer *is = client();
	wk_issuer_session ss;
	uint8_t chal[WK_ISSUER_CHALLENGE_LEN];
	const uint8_t proof[3] = { 1, 2, 3 };
	char *resp = NULL;

	(void)state;
	answer_status = 200;
	answer_body = "{\"card_id\":\"0102030405060708\",\"challenge\":"
	    "\"000102030405060708090a0b0c0d0e0f\",\"expires_in\":60}";
	assert_int_equal(wk_issuer_challenge(is, "0102030405060708", chal), WK_OK);
	assert_string_equal(last_url, "/v1/cards/0102030405060708/challenges");
	assert_string_equal(last_body, "{}");
	assert_string_equal(last_auth, "");
	assert_int_equal(chal[15], 0x0F);
	assert_int_equal(wk_issuer_challenge(is, "../x", chal), WK_ERR_ARG);
	answer_body = "{\"challenge\":\"0011\"}";
	assert_int_equal(wk_issuer_challenge(is, "0102030405060708", chal),
	    WK_ERR_ISSUER);
	answer_body = "{\"token\":\"" TOKEN "\",\"token_type\":\"Bearer\","
	    "\"card_id\":\"0102030405060708\",\"scope\":\"holder\","
	    "\"expires_in\":300}";
	assert_int_equal(wk_issuer_session_start(is, proof, 3, &ss), WK_OK);
	assert_string_equal(last_url, "/v1/sessions");
	assert_string_equal(last_body, "{\"proof\":\"AQID\"}");
	assert_string_equal(ss.token, TOKEN);
	assert_string_equal(ss.card_id, "0102030405060708");
	assert_int_equal(ss.scope, WK_ISSUER_SCOPE_HOLDER);
	assert_int_equal(ss.expires_in, 300);
	/* from now on every call carries it */
	answer_body = "{\"stored_seq\":1}";
	assert_int_equal(wk_issuer_request(is, "/v1/audit/0102030405060708/"
	    "history/1", NULL, &resp), WK_OK);
	free(resp);
	assert_string_equal(last_auth, "Bearer " TOKEN);
	assert_int_equal(wk_issuer_request(is, "/v1/audit/0102030405060708/"
	    "records", "{}", &resp), WK_OK);
	free(resp);
	assert_string_equal(last_auth, "Bearer " TOKEN);
	/* a new session is asked for without the old token */
	answer_body = "{\"token\":\"x y\",\"card_id\":\"0102030405060708\","
	    "\"scope\":\"card\",\"expires_in\":300}";
	assert_int_equal(wk_issuer_session_start(is, proof, 3, &ss),
	    WK_ERR_ISSUER);
	assert_string_equal(last_auth, "");
	answer_body = "{\"token\":\"" TOKEN "\",\"card_id\":\"0102030405060708\","
	    "\"scope\":\"root\",\"expires_in\":300}";
	assert_int_equal(wk_issuer_session_start(is, proof, 3, &ss),
	    WK_ERR_ISSUER);
	answer_status = 403;
	answer_body = "{\"error\":\"card_revoked\",\"message\":\"m\"}";
	assert_int_equal(wk_issuer_session_start(is, proof, 3, &ss),
	    WK_ERR_ISSUER);
	assert_string_equal(wk_issuer_error_code(is), "card_revoked");
	/* header injection: refused before anything is sent */
	assert_int_equal(wk_issuer_set_token(is, "a\r\nX-Evil: 1"), WK_ERR_ARG);
	assert_int_equal(wk_issuer_set_token(is, NULL), WK_OK);
	wk_issuer_free(&is);
}

static void
test_unreachable(void **state)
{
	wk_issuer *is = NULL;
	wk_issuer_load ld;
	const uint8_t msg[1] = { 0 };

	(void)state;
	/* port 1 on loopback: nobody listens */
	assert_int_equal(wk_issuer_new("http://127.0.0.1:1", &is), WK_OK);
	assert_int_equal(wk_issuer_load_start(is, msg, 1, &ld), WK_ERR_NETWORK);
	assert_int_equal(wk_issuer_http_status(is), 0);
	wk_issuer_free(&is);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new),
		cmocka_unit_test(test_load_start),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_close_and_enrol),
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_unreachable),
	};

	return cmocka_run_group_tests(tests, start, stop);
}
