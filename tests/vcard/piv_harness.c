/*
 * the PIV applet under test through the real APDU layer (vc_card) and the
 * real store (vc_store, a SQLite file in a temporary directory), with the
 * host's GET RESPONSE loop
 */
#include "piv_harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "piv.h"
#include "vc_card.h"
#include "vc_store.h"
#include "wk_apdu.h"
#include "wk_hex.h"
#include "wk_vpcd.h"

static const vc_applet *const ph_applets[] = { &vc_applet_piv,
	&vc_applet_ykmgmt };

struct piv_h {
	char dir[256];
	char path[300];
	vc_store *st;
	vc_card *card;
	const vc_applet *const *applets;
	size_t n_applets;
	unsigned commits;
	uint8_t resp[WK_VPCD_MAX_PAYLOAD];
};

static void
ph_open(piv_h *h, bool init)
{
	vc_card_opts o = { .init = init, .applets = h->applets,
		.n_applets = h->n_applets };
	int r;

	r = init ? vc_store_create(h->path, NULL, &h->st) :
	    vc_store_open(h->path, NULL, &h->st);
	if (r != VC_STORE_OK || vc_card_new(h->st, &o, &h->card) != VC_CARD_OK)
		abort();
}

static void
ph_close(piv_h *h)
{
	vc_card_free(&h->card);
	vc_store_free(&h->st);
}

struct vc_card *
ph_card(piv_h *h)
{
	return h->card;
}

piv_h *
ph_new(void)
{
	return ph_new_with(ph_applets, 2);
}

piv_h *
ph_new_with(const vc_applet *const *applets, size_t n)
{
	const char *tmp = getenv("TMPDIR");
	piv_h *h = calloc(1, sizeof(*h));

	if (h == NULL || sodium_init() < 0)
		abort();
	h->applets = applets;
	h->n_applets = n;
	snprintf(h->dir, sizeof(h->dir), "%.200s/test_piv.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(h->dir) == NULL)
		abort();
	snprintf(h->path, sizeof(h->path), "%s/card.db", h->dir);
	ph_open(h, true);
	return h;
}

void
ph_free(piv_h **hp)
{
	static const char *const files[] = { "card.db", "card.db-wal",
	    "card.db-shm", "walletkey-seal.key" };
	piv_h *h = *hp;
	char p[320];

	if (h == NULL)
		return;
	ph_close(h);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%.256s/%s", h->dir, files[i]);
		unlink(p);
	}
	rmdir(h->dir);
	free(h);
	*hp = NULL;
}

void
ph_reopen(piv_h *h)
{
	ph_close(h);
	ph_open(h, false);
}

void
ph_reset(piv_h *h)
{
	size_t n;

	if (vc_card_control(h->card, WK_VPCD_RESET, NULL, 0, &n) != VC_CARD_OK)
		abort();
}

/* the store's version counter counts its commits */
unsigned
ph_checkpoints(const piv_h *h)
{
	return (unsigned)vc_store_version(h->st);
}

void
ph_store_digest(piv_h *h, uint8_t out[32])
{
	vc_store_digest(h->st, out);
}

static bool
ph_is_extended(const uint8_t *apdu, size_t n)
{
	wk_apdu a;

	return wk_apdu_parse(&a, apdu, n) == WK_APDU_OK && a.extended;
}

/* one exchange, then GET RESPONSE while 61xx, as OpenSC and ykpiv do */
uint16_t
ph_txb(piv_h *h, const uint8_t *apdu, size_t n, uint8_t *out, size_t cap,
    size_t *outlen)
{
	uint8_t getresp[5] = { 0x00, 0xC0, 0x00, 0x00, 0x00 };
	size_t total = 0, rl;
	uint16_t sw;

	if (outlen != NULL)
		*outlen = 0;
	for (int round = 0; round < 300; round++) {
		if (vc_card_apdu(h->card, apdu, n, h->resp, sizeof(h->resp),
		    &rl) != VC_CARD_OK || rl < 2)
			abort();
		sw = (uint16_t)(h->resp[rl - 2] << 8 | h->resp[rl - 1]);
		rl -= 2;
		/* short APDUs never get more than 256 bytes at once (piv.md 1.2) */
		if (rl > 256 && !ph_is_extended(apdu, n))
			return 0x6FFF;
		if (out != NULL && total + rl <= cap)
			memcpy(out + total, h->resp, rl);
		total += rl;
		if ((sw & 0xFF00) != 0x6100)
			break;
		getresp[4] = (uint8_t)sw;
		apdu = getresp;
		n = sizeof(getresp);
	}
	if (outlen != NULL)
		*outlen = total <= cap ? total : 0;
	return sw;
}

uint16_t
ph_tx(piv_h *h, const char *hex, uint8_t *out, size_t cap, size_t *outlen)
{
	static uint8_t apdu[65536 + 16];
	long n = wk_hex_decode(hex, apdu, sizeof(apdu));

	if (n < 0)
		abort();
	return ph_txb(h, apdu, (size_t)n, out, cap, outlen);
}

uint16_t
ph_raw(piv_h *h, const char *hex, uint8_t *out, size_t cap, size_t *outlen)
{
	uint8_t apdu[600];
	long n = wk_hex_decode(hex, apdu, sizeof(apdu));

	if (n < 0)
		abort();
	return ph_raw_bin(h, apdu, (size_t)n, out, cap, outlen);
}

uint16_t
ph_raw_bin(piv_h *h, const uint8_t *apdu, size_t n, uint8_t *out, size_t cap,
    size_t *outlen)
{
	size_t rl;

	if (vc_card_apdu(h->card, apdu, n, h->resp, sizeof(h->resp), &rl) !=
	    VC_CARD_OK || rl < 2)
		abort();
	*outlen = rl - 2 <= cap ? rl - 2 : 0;
	memcpy(out, h->resp, *outlen);
	return (uint16_t)(h->resp[rl - 2] << 8 | h->resp[rl - 1]);
}
