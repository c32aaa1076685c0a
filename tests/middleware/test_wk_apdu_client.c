/* wk_apdu_client.c against a scripted fake transport: chaining, extended
 * length, GET RESPONSE, 6Cxx, bounds and bad arguments */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wk_internal.h"
#include "wk_log.h"

#define MAX_STEPS 300

/* one scripted answer: n pattern bytes (byte i = (first + i) & 0xFF) and a SW */
typedef struct step {
	size_t n;
	uint8_t first;
	uint16_t sw;
} step;

typedef struct fake {
	const step *steps;
	size_t nsteps;
	size_t repeat_last;	/* answer the last step forever */
	size_t calls;
	int fail_at;		/* transport error on this call (1-based), 0 never */
	size_t short_reply_at;	/* a 1-byte reply on this call, 0 never */
	uint8_t *cmd[MAX_STEPS];
	size_t cmd_len[MAX_STEPS];
} fake;

static int
fake_xfer(void *arg, const uint8_t *apdu, size_t len, uint8_t *resp,
    size_t *resp_len)
{
	fake *f = arg;
	const step *s;
	size_t i = f->calls++;

	if (f->fail_at != 0 && (size_t)f->fail_at == i + 1)
		return WK_ERR_CARD_REMOVED;
	if (i < MAX_STEPS) {
		f->cmd[i] = malloc(len);
		assert_non_null(f->cmd[i]);
		memcpy(f->cmd[i], apdu, len);
		f->cmd_len[i] = len;
	}
	if (f->short_reply_at != 0 && f->short_reply_at == i + 1) {
		resp[0] = 0x90;
		*resp_len = 1;
		return WK_OK;
	}
	if (i >= f->nsteps) {
		assert_true(f->repeat_last);
		i = f->nsteps - 1;
	}
	s = &f->steps[i];
	assert_true(*resp_len >= s->n + 2);
	for (size_t k = 0; k < s->n; k++)
		resp[k] = (uint8_t)(s->first + k);
	resp[s->n] = (uint8_t)(s->sw >> 8);
	resp[s->n + 1] = (uint8_t)s->sw;
	*resp_len = s->n + 2;
	return WK_OK;
}

static void
fake_clear(fake *f)
{
	for (size_t i = 0; i < MAX_STEPS; i++)
		free(f->cmd[i]);
}

static uint8_t *
pattern(size_t n)
{
	uint8_t *p = malloc(n == 0 ? 1 : n);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7);
	return p;
}

/* 00 CA 00 01 with data and le through f on a short-only card, room for
 * cap bytes: 9000 with 8 bytes, the first of them first */
static void
get_data_8(fake *f, const uint8_t *data, size_t dlen, size_t le, size_t cap,
    uint8_t first)
{
	wk_transport t = { fake_xfer, f, false, false };
	uint8_t resp[16];
	size_t rlen = cap;
	uint16_t sw;

	assert_true(cap <= sizeof(resp));
	assert_int_equal(wk_apdu_exchange(&t, 0x00, 0xCA, 0x00, 0x01, data, dlen,
	    le, resp, &rlen, &sw), WK_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(rlen, 8);
	assert_int_equal(resp[0], first);
}

static void
test_case1_short(void **state)
{
	static const step steps[] = { { 0, 0, 0x9000 } };
	static const uint8_t want[] = { 0x00, 0xA4, 0x04, 0x00 };
	fake f = { .steps = steps, .nsteps = 1 };
	wk_transport t = { fake_xfer, &f, false, false };
	size_t rlen = 0;
	uint16_t sw;

	(void)state;
	assert_int_equal(wk_apdu_exchange(&t, 0x00, 0xA4, 0x04, 0x00, NULL, 0,
	    0, NULL, &rlen, &sw), WK_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(rlen, 0);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.cmd_len[0], sizeof(want));
	assert_memory_equal(f.cmd[0], want, sizeof(want));
	fake_clear(&f);
}

static void
test_case4_short_le(void **state)
{
	static const step steps[] = { { 8, 0x10, 0x9000 } };
	static const uint8_t want[] = { 0x00, 0xCA, 0x00, 0x01, 0x02, 0xAA,
		0xBB, 0x00 };
	static const uint8_t data[] = { 0xAA, 0xBB };
	fake f = { .steps = steps, .nsteps = 1 };

	(void)state;
	/* Le above 256 on a short-only card becomes 256 (00) */
	get_data_8(&f, data, 2, 1000, 16, 0x10);
	assert_int_equal(f.cmd_len[0], sizeof(want));
	assert_memory_equal(f.cmd[0], want, sizeof(want));
	fake_clear(&f);
}

static void
test_extended_4k(void **state)
{
	static const step steps[] = { { 4096, 0, 0x9000 } };
	fake f = { .steps = steps, .nsteps = 1 };
	wk_transport t = { fake_xfer, &f, true, false };
	uint8_t *data = pattern(4096), *resp = malloc(4096);
	size_t rlen = 4096;
	uint16_t sw;

	(void)state;
	assert_non_null(resp);
	assert_int_equal(wk_apdu_exchange(&t, 0x00, 0xEE, 0x00, 0x00, data,
	    4096, 65536, resp, &rlen, &sw), WK_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(rlen, 4096);
	assert_int_equal(f.calls, 1);
	/* 4 header, 00 Lc(2), data, Le(2) = 00 00 for 65536 */
	assert_int_equal(f.cmd_len[0], 4 + 3 + 4096 + 2);
	assert_int_equal(f.cmd[0][4], 0x00);
	assert_int_equal(f.cmd[0][5], 0x10);
	assert_int_equal(f.cmd[0][6], 0x00);
	assert_memory_equal(f.cmd[0] + 7, data, 4096);
	assert_int_equal(f.cmd[0][7 + 4096], 0x00);
	assert_int_equal(f.cmd[0][8 + 4096], 0x00);
	free(data);
	free(resp);
	fake_clear(&f);
}

static void
test_chaining(void **state)
{
	static const step steps[] = {
		{ 0, 0, 0x9000 }, { 0, 0, 0x9000 }, { 3, 1, 0x9000 },
	};
	fake f = { .steps = steps, .nsteps = 3 };
	wk_transport t = { fake_xfer, &f, false, false };
	uint8_t *data = pattern(600), resp[8];
	size_t rlen = sizeof(resp);
	uint16_t sw;

	(void)state;
	assert_int_equal(wk_apdu_exchange(&t, 0x00, 0xDB, 0x3F, 0xFF, data,
	    600, 256, resp, &rlen, &sw), WK_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(rlen, 3);
	assert_int_equal(f.calls, 3);
	/* 255 + 255 + 90, CLA 10 on all but the last, Le only on the last */
	assert_int_equal(f.cmd_len[0], 5 + 255);
	assert_int_equal(f.cmd[0][0], 0x10);
	assert_int_equal(f.cmd[0][4], 0xFF);
	assert_memory_equal(f.cmd[0] + 5, data, 255);
	assert_int_equal(f.cmd_len[1], 5 + 255);
	assert_int_equal(f.cmd[1][0], 0x10);
	assert_memory_equal(f.cmd[1] + 5, data + 255, 255);
	assert_int_equal(f.cmd_len[2], 5 + 90 + 1);
	assert_int_equal(f.cmd[2][0], 0x00);
	assert_int_equal(f.cmd[2][4], 90);
	assert_memory_equal(f.cmd[2] + 5, data + 510, 90);
	assert_int_equal(f.cmd[2][5 + 90], 0x00);
	free(data);
	fake_clear(&f);
}

static void
test_chaining_refused(void **state)
{
	static const step steps[] = { { 0, 0, 0x9000 }, { 0, 0, 0x6A80 } };
	fake f = { .steps = steps, .nsteps = 2 };
	wk_transport t = { fake_xfer, &f, false, false };
	uint8_t *data = pattern(600), resp[8];
	size_t rlen = sizeof(resp);
	uint16_t sw;

	(void)state;
	assert_int_equal(wk_apdu_exchange(&t, 0x00, 0xDB, 0x3F, 0xFF, data,
	    600, 0, resp, &rlen, &sw), WK_OK);
	assert_int_equal(sw, 0x6A80);
	assert_int_equal(rlen, 0);
	assert_int_equal(f.calls, 2);	/* the third fragment never left */
	free(data);
	fake_clear(&f);
}

/* the trace of a secret exchange: headers and status words, never data */
static char trace[4096];
static size_t trace_len;

static void
trace_sink(unsigned category, const char *line, void *arg)
{
	size_t n = strlen(line);

	(void)category;
	(void)arg;
	if (n + 2 < sizeof(trace) - trace_len) {
		memcpy(trace + trace_len, line, n);
		trace_len += n;
		trace[trace_len++] = '\n';
		trace[trace_len] = '\0';
	}
}

static void
test_secret_trace(void **state)
{
	static const step steps[] = {
		{ 256, 0xA0, 0x6110 }, { 16, 0xA0, 0x9000 },
	};
	fake f = { .steps = steps, .nsteps = 2 };
	wk_transport t = { fake_xfer, &f, false, true };
	static const uint8_t data[] = { 0x7C, 0x04, 0x82, 0x00, 0x85, 0x00 };
	uint8_t resp[600];
	size_t rlen = sizeof(resp);
	uint16_t sw;

	(void)state;
	trace_len = 0;
	trace[0] = '\0';
	wk_log_set_sink(trace_sink, NULL);
	wk_log_set(WK_LOG_APDU);
	assert_int_equal(wk_apdu_exchange(&t, 0x00, 0x87, 0x11, 0x9D, data,
	    sizeof(data), 256, resp, &rlen, &sw), WK_OK);
	wk_log_set(0);
	wk_log_set_sink(NULL, NULL);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(rlen, 272);
	/* two commands and two answers were traced ... */
	assert_non_null(strstr(trace, "apdu > (12) 00 87 11 9D 06 ** ** ** ** ** ** 00"));
	assert_non_null(strstr(trace, "61 10"));
	assert_non_null(strstr(trace, "00 C0 00 00 10"));
	/* ... with no byte of the command data or of either answer's data */
	assert_null(strstr(trace, "7C"));
	assert_null(strstr(trace, "A0"));
	assert_null(strstr(trace, "AF"));
	fake_clear(&f);
}

static void
test_get_response(void **state)
{
	static const step steps[] = {
		{ 256, 0, 0x6100 }, { 256, 0, 0x612C }, { 44, 0, 0x9000 },
	};
	static const uint8_t gr1[] = { 0x00, 0xC0, 0x00, 0x00, 0x00 };
	static const uint8_t gr2[] = { 0x00, 0xC0, 0x00, 0x00, 0x2C };
	fake f = { .steps = steps, .nsteps = 3 };
	wk_transport t = { fake_xfer, &f, false, false };
	uint8_t resp[600];
	size_t rlen = sizeof(resp);
	uint16_t sw;

	(void)state;
	assert_int_equal(wk_apdu_exchange(&t, 0x00, 0xEE, 0x01, 0x00,
	    (const uint8_t *)"\x02\x2c", 2, 256, resp, &rlen, &sw), WK_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(rlen, 556);
	assert_int_equal(resp[255], 0xFF);
	assert_int_equal(resp[256], 0x00);
	assert_int_equal(resp[555], 43);
	assert_int_equal(f.calls, 3);
	assert_memory_equal(f.cmd[1], gr1, sizeof(gr1));
	assert_memory_equal(f.cmd[2], gr2, sizeof(gr2));
	fake_clear(&f);
}

static void
test_wrong_le_resend(void **state)
{
	static const step steps[] = { { 0, 0, 0x6C08 }, { 8, 5, 0x9000 } };
	static const uint8_t first[] = { 0x00, 0xCA, 0x00, 0x01, 0x00 };
	static const uint8_t again[] = { 0x00, 0xCA, 0x00, 0x01, 0x08 };
	fake f = { .steps = steps, .nsteps = 2 };

	(void)state;
	get_data_8(&f, NULL, 0, 256, 8, 5);
	assert_memory_equal(f.cmd[0], first, sizeof(first));
	assert_memory_equal(f.cmd[1], again, sizeof(again));
	fake_clear(&f);
}

static void
test_error_sw_passes(void **state)
{
	static const step steps[] = { { 0, 0, 0x63C2 } };
	fake f = { .steps = steps, .nsteps = 1 };
	wk_transport t = { fake_xfer, &f, false, false };
	size_t rlen = 0;
	uint16_t sw;

	(void)state;
	assert_int_equal(wk_apdu_exchange(&t, 0x00, 0x20, 0x00, 0x80,
	    (const uint8_t *)"12345678", 8, 0, NULL, &rlen, &sw), WK_OK);
	assert_int_equal(sw, 0x63C2);
	fake_clear(&f);
}

static void
test_buffer_too_small(void **state)
{
	static const step steps[] = { { 256, 0, 0x6110 }, { 16, 0, 0x9000 } };
	fake f = { .steps = steps, .nsteps = 2 };
	wk_transport t = { fake_xfer, &f, false, false };
	uint8_t resp[260];
	size_t rlen = sizeof(resp);
	uint16_t sw;

	(void)state;
	assert_int_equal(wk_apdu_exchange(&t, 0x00, 0xB0, 0x00, 0x00, NULL, 0,
	    256, resp, &rlen, &sw), WK_ERR_ARG);
	assert_int_equal(rlen, sizeof(resp));	/* untouched on error */
	fake_clear(&f);
}

static void
test_endless_get_response(void **state)
{
	static const step steps[] = { { 1, 0, 0x6101 } };
	fake f = { .steps = steps, .nsteps = 1, .repeat_last = 1 };
	wk_transport t = { fake_xfer, &f, false, false };
	uint8_t *resp = malloc(4096);
	size_t rlen = 4096;
	uint16_t sw;

	(void)state;
	assert_non_null(resp);
	assert_int_equal(wk_apdu_exchange(&t, 0x00, 0xB0, 0x00, 0x00, NULL, 0,
	    256, resp, &rlen, &sw), WK_ERR_CARD_MALFORMED);
	assert_true(f.calls <= WK_GET_RESPONSE_MAX + 2);
	free(resp);
	fake_clear(&f);
}

static void
test_endless_wrong_le(void **state)
{
	static const step steps[] = { { 0, 0, 0x6C01 } };
	fake f = { .steps = steps, .nsteps = 1, .repeat_last = 1 };
	wk_transport t = { fake_xfer, &f, false, false };
	uint8_t resp[16];
	size_t rlen = sizeof(resp);
	uint16_t sw;

	(void)state;
	assert_int_equal(wk_apdu_exchange(&t, 0x00, 0xB0, 0x00, 0x00, NULL, 0,
	    256, resp, &rlen, &sw), WK_ERR_CARD_MALFORMED);
	assert_true(f.calls <= WK_GET_RESPONSE_MAX + 2);
	fake_clear(&f);
}

static void
test_transport_error(void **state)
{
	static const step steps[] = { { 0, 0, 0x9000 }, { 0, 0, 0x9000 } };
	fake f = { .steps = steps, .nsteps = 2, .fail_at = 2 };
	wk_transport t = { fake_xfer, &f, false, false };
	uint8_t *data = pattern(300);
	size_t rlen = 0;
	uint16_t sw;

	(void)state;
	assert_int_equal(wk_apdu_exchange(&t, 0x00, 0xDB, 0x3F, 0xFF, data,
	    300, 0, NULL, &rlen, &sw), WK_ERR_CARD_REMOVED);
	free(data);
	fake_clear(&f);
}

static void
test_short_reply(void **state)
{
	static const step steps[] = { { 0, 0, 0x9000 } };
	fake f = { .steps = steps, .nsteps = 1, .short_reply_at = 1 };
	wk_transport t = { fake_xfer, &f, false, false };
	size_t rlen = 0;
	uint16_t sw;

	(void)state;
	assert_int_equal(wk_apdu_exchange(&t, 0x00, 0xA4, 0x04, 0x00, NULL, 0,
	    0, NULL, &rlen, &sw), WK_ERR_CARD_MALFORMED);
	fake_clear(&f);
}

static void
test_bad_args(void **state)
{
	static const step steps[] = { { 0, 0, 0x9000 } };
	fake f = { .steps = steps, .nsteps = 1 };
	wk_transport t = { fake_xfer, &f, true, false };
	uint8_t resp[4], *big = pattern(65536);
	size_t rlen = sizeof(resp);
	uint16_t sw;

	(void)state;
	assert_int_equal(wk_apdu_exchange(NULL, 0, 0xA4, 0, 0, NULL, 0, 0,
	    resp, &rlen, &sw), WK_ERR_ARG);
	assert_int_equal(wk_apdu_exchange(&t, 0, 0xA4, 0, 0, NULL, 3, 0,
	    resp, &rlen, &sw), WK_ERR_ARG);
	assert_int_equal(wk_apdu_exchange(&t, 0, 0xA4, 0, 0, NULL, 0, 65537,
	    resp, &rlen, &sw), WK_ERR_ARG);
	assert_int_equal(wk_apdu_exchange(&t, 0, 0xA4, 0, 0, big, 65536, 0,
	    resp, &rlen, &sw), WK_ERR_ARG);
	assert_int_equal(wk_apdu_exchange(&t, 0, 0xA4, 0, 0, NULL, 0, 0,
	    NULL, &rlen, &sw), WK_ERR_ARG);
	assert_int_equal(wk_apdu_exchange(&t, 0, 0xA4, 0, 0, NULL, 0, 0,
	    resp, &rlen, NULL), WK_ERR_ARG);
	assert_int_equal(f.calls, 0);	/* nothing reached the card */
	free(big);
	fake_clear(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case1_short),
		cmocka_unit_test(test_case4_short_le),
		cmocka_unit_test(test_extended_4k),
		cmocka_unit_test(test_chaining),
		cmocka_unit_test(test_chaining_refused),
		cmocka_unit_test(test_get_response),
		cmocka_unit_test(test_wrong_le_resend),
		cmocka_unit_test(test_error_sw_passes),
		cmocka_unit_test(test_buffer_too_small),
		cmocka_unit_test(test_endless_get_response),
		cmocka_unit_test(test_endless_wrong_le),
		cmocka_unit_test(test_transport_error),
		cmocka_unit_test(test_short_reply),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_secret_trace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
