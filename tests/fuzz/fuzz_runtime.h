/*
 * the harness every card fuzz target shares (fuzz_card, fuzz_gm, fuzz_piv,
 * fuzz_psam, fuzz_audit, and fuzz_enrolled.h's): the card runtime on one
 * store in a scratch folder named after the target, kept for the run and
 * removed at exit; every trace line computed and dropped, so the masking
 * code runs too; and xfer(), which traps when the layer itself fails.
 */
#ifndef FUZZ_RUNTIME_H
#define FUZZ_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "vc_card.h"
#include "vc_store.h"
#include "wk_log.h"
#include "wk_vpcd.h"

static vc_store *st;
static vc_card *card;
static uint8_t resp[WK_VPCD_MAX_PAYLOAD];
static char dir[256];
/* what the target frees at exit besides the card (its keys); may be NULL */
static void (*runtime_free)(void);

static inline void
null_sink(unsigned category, const char *line, void *arg)
{
	(void)category;
	(void)line;
	(void)arg;
}

static inline void
store_path(char *p, size_t cap, const char *file)
{
	snprintf(p, cap, "%.256s/%s", dir, file);
}

/* the store's files gone (the card closed) */
static inline void
unlink_store(void)
{
	static const char *const files[] = { "card.db", "card.db-wal",
	    "card.db-shm" };
	char p[320];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		store_path(p, sizeof(p), files[i]);
		unlink(p);
	}
}

static inline void
runtime_cleanup(void)
{
	char p[320];

	if (runtime_free != NULL)
		runtime_free();
	vc_card_free(&card);
	vc_store_free(&st);
	unlink_store();
	store_path(p, sizeof(p), "walletkey-seal.key");
	unlink(p);
	rmdir(dir);
}

/* a new card (o) on a new store in $TMPDIR/<name>.XXXXXX */
static inline void
runtime_start(const char *name, const vc_card_opts *o)
{
	const char *tmp = getenv("TMPDIR");
	char path[320];

	if (sodium_init() < 0)
		abort();
	snprintf(dir, sizeof(dir), "%.200s/%.20s.XXXXXX",
	    tmp != NULL ? tmp : "/tmp", name);
	if (mkdtemp(dir) == NULL)
		abort();
	store_path(path, sizeof(path), "card.db");
	if (vc_store_create(path, NULL, &st) != VC_STORE_OK ||
	    vc_card_new(st, o, &card) != VC_CARD_OK)
		abort();
}

/* from here on every trace line is computed into nowhere; the folder
 * goes at exit */
static inline void
runtime_trace(void)
{
	wk_log_set_sink(null_sink, NULL);
	wk_log_set(WK_LOG_ALL);
	atexit(runtime_cleanup);
}

/* one APDU; its SW, the answer in resp[0..*rlen) with the SW */
static inline uint16_t
xfer(const uint8_t *apdu, size_t n, size_t *rlen)
{
	if (vc_card_apdu(card, apdu, n, resp, sizeof(resp), rlen) != VC_CARD_OK ||
	    *rlen < 2)
		__builtin_trap();
	return (uint16_t)(resp[*rlen - 2] << 8 | resp[*rlen - 1]);
}

#endif
