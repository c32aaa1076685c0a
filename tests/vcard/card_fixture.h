/* what the purse applet's unit tests (test_purse.c, test_purse_lock.c,
 * test_purse_pin.c) share: hex APDUs to the card runtime, the card's
 * start and close, and the scratch folder's removal. Include after <cmocka.h> and
 * after the test's fixture `fx`, which has at least: char dir[], path[],
 * perso[]; vc_store *st; vc_card *card; uint8_t resp[]; size_t rlen. */
#ifndef CARD_FIXTURE_H
#define CARD_FIXTURE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "card_steps.h"
#include "vc_card.h"
#include "vc_store.h"
#include "wk_hex.h"

/* a printf-formatted hex APDU to card; returns SW, the answer's data in
 * resp[0..*rlen) */
static inline uint16_t
card_xfer_v(vc_card *card, uint8_t *resp, size_t cap, size_t *rlen,
    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static inline uint16_t
card_xfer_v(vc_card *card, uint8_t *resp, size_t cap, size_t *rlen,
    const char *fmt, va_list ap)
{
	char text[1024];
	uint8_t c[512];
	long n;

	vsnprintf(text, sizeof(text), fmt, ap);
	n = wk_hex_decode(text, c, sizeof(c));
	assert_true(n >= 0);
	assert_int_equal(vc_card_apdu(card, c, (size_t)n, resp, cap, rlen),
	    VC_CARD_OK);
	assert_true(*rlen >= 2);
	*rlen -= 2;
	return (uint16_t)((resp[*rlen] << 8) | resp[*rlen + 1]);
}

/* the card's files (store, seal key, profile) and then dir removed */
static inline void
card_dir_remove(const char *dir)
{
	static const char *const files[] = { "card.db", "card.db-wal",
	    "card.db-shm", "walletkey-seal.key", "perso.json" };
	char p[320];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%.256s/%s", dir, files[i]);
		unlink(p);
	}
	assert_int_equal(rmdir(dir), 0);
}

/* a new scratch folder fx.dir (in TMPDIR, named after the test), the
 * store fx.path and the profile fx.perso in it */
static inline void
card_dir_new(const char *test)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(fx.dir, sizeof(fx.dir), "%s/%s.XXXXXX",
	    tmp != NULL ? tmp : "/tmp", test);
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof(fx.path), "%s/card.db", fx.dir);
	snprintf(fx.perso, sizeof(fx.perso), "%s/perso.json", fx.dir);
}

static inline void
hex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(wk_hex_decode(s, out, n), (long)n);
}

/* the card (o) on the store fx.path: a new one (init) or the one there */
static inline void
card_store_up(const vc_card_opts *o, bool init)
{
	if (init)
		assert_int_equal(vc_store_create(fx.path, NULL, &fx.st),
		    VC_STORE_OK);
	else
		assert_int_equal(vc_store_open(fx.path, NULL, &fx.st),
		    VC_STORE_OK);
	assert_int_equal(vc_card_new(fx.st, o, &fx.card), VC_CARD_OK);
}

static void
card_down(void)
{
	vc_card_free(&fx.card);
	vc_store_free(&fx.st);
}

static int
teardown(void **unused)
{
	(void)unused;
	card_down();
	card_dir_remove(fx.dir);
	return 0;
}

static uint16_t
xfer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* a printf-formatted hex APDU to fx.card; returns SW, the data in
 * fx.resp[0..fx.rlen) */
static uint16_t
xfer(const char *fmt, ...)
{
	va_list ap;
	uint16_t sw;

	va_start(ap, fmt);
	sw = card_xfer_v(fx.card, fx.resp, sizeof(fx.resp), &fx.rlen, fmt, ap);
	va_end(ap);
	return sw;
}

/* fx.card's xfer for XFER_STEPS (card_steps.h) */
static inline uint16_t
xfer_hex(const char *apdu)
{
	return xfer("%s", apdu);
}

#endif
