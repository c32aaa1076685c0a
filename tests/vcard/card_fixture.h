/* what the purse applet's unit tests (test_purse.c, test_purse_lock.c,
 * test_purse_pin.c) share: hex APDUs to the card runtime, and the scratch
 * folder's removal. Include after <cmocka.h>. */
#ifndef CARD_FIXTURE_H
#define CARD_FIXTURE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "vc_card.h"
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

#endif
