/*
 * the PIV applet under test: an in-memory store with the vc_store
 * transaction semantics (begin, commit, abort, checkpoint) and the few
 * APDU-layer duties the applet relies on (chaining, SELECT by prefix,
 * deselect on another AID). Replaced by the real runtime once it lands.
 */
#include "piv_harness.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "piv.h"
#include "vc_applet.h"
#include "vc_store.h"
#include "wk_apdu.h"
#include "wk_hex.h"

typedef struct ent {
	char applet[16];
	char key[64];
	uint8_t *v;
	size_t n;
} ent;

typedef struct tab {
	ent *e;
	size_t n;
} tab;

struct vc_store {
	tab cur;
	tab snap;
	bool in_tx;
	unsigned checkpoints;
};

struct vc_card {
	vc_store st;
	uint8_t serial[8];
};

struct piv_h {
	vc_card card;
	void *piv;
	bool piv_selected;
	uint8_t chain[65536];
	size_t chain_len;
	uint8_t chain_hdr[4];
	bool chaining;
};

static void
tab_free(tab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].v);
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

static void
tab_copy(tab *dst, const tab *src)
{
	tab_free(dst);
	dst->e = calloc(src->n + 1, sizeof(ent));
	dst->n = src->n;
	for (size_t i = 0; i < src->n; i++) {
		dst->e[i] = src->e[i];
		dst->e[i].v = malloc(src->e[i].n + 1);
		memcpy(dst->e[i].v, src->e[i].v, src->e[i].n);
	}
}

static ent *
tab_find(tab *t, const char *applet, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->e[i].applet, applet) == 0 &&
		    strcmp(t->e[i].key, key) == 0)
			return &t->e[i];
	return NULL;
}

vc_store *
vc_card_store(vc_card *card)
{
	return &card->st;
}

const uint8_t *
vc_card_serial(const vc_card *card)
{
	return card->serial;
}

void
vc_card_random(vc_card *card, uint8_t *p, size_t n)
{
	(void)card;
	randombytes_buf(p, n);
}

int
vc_store_begin(vc_store *st)
{
	tab_copy(&st->snap, &st->cur);
	st->in_tx = true;
	return 0;
}

int
vc_store_commit(vc_store *st)
{
	tab_free(&st->snap);
	st->in_tx = false;
	return 0;
}

void
vc_store_abort(vc_store *st)
{
	tab_copy(&st->cur, &st->snap);
}

int
vc_store_checkpoint(vc_store *st)
{
	st->checkpoints++;
	tab_copy(&st->snap, &st->cur);
	return 0;
}

int
vc_store_get(vc_store *st, const char *applet, const char *key, wk_buf *out)
{
	ent *e = tab_find(&st->cur, applet, key);

	if (e == NULL)
		return VC_STORE_NOT_FOUND;
	wk_buf_add(out, e->v, e->n);
	return VC_STORE_OK;
}

int
vc_store_put(vc_store *st, const char *applet, const char *key,
    const uint8_t *v, size_t n)
{
	ent *e = tab_find(&st->cur, applet, key);

	if (!st->in_tx)
		abort();
	if (e == NULL) {
		st->cur.e = realloc(st->cur.e, (st->cur.n + 1) * sizeof(ent));
		e = &st->cur.e[st->cur.n++];
		memset(e, 0, sizeof(*e));
		strncpy(e->applet, applet, sizeof(e->applet) - 1);
		strncpy(e->key, key, sizeof(e->key) - 1);
	}
	free(e->v);
	e->v = malloc(n + 1);
	memcpy(e->v, v, n);
	e->n = n;
	return VC_STORE_OK;
}

int
vc_store_del(vc_store *st, const char *applet, const char *key)
{
	ent *e = tab_find(&st->cur, applet, key);

	if (!st->in_tx)
		abort();
	if (e == NULL)
		return VC_STORE_NOT_FOUND;
	free(e->v);
	*e = st->cur.e[--st->cur.n];
	return VC_STORE_OK;
}

int
vc_store_get_secret(vc_store *st, const char *applet, const char *key,
    wk_buf *out)
{
	return vc_store_get(st, applet, key, out);
}

int
vc_store_put_secret(vc_store *st, const char *applet, const char *key,
    const uint8_t *v, size_t n)
{
	return vc_store_put(st, applet, key, v, n);
}

int
vc_store_get_u64(vc_store *st, const char *applet, const char *key, uint64_t *v)
{
	uint8_t b[8];
	wk_buf w;
	int r;

	wk_buf_init_fixed(&w, b, sizeof(b));
	if ((r = vc_store_get(st, applet, key, &w)) != VC_STORE_OK)
		return r;
	if (w.len != 8)
		return VC_STORE_CORRUPT;
	*v = 0;
	for (size_t i = 0; i < 8; i++)
		*v = (*v << 8) | b[i];
	return VC_STORE_OK;
}

int
vc_store_put_u64(vc_store *st, const char *applet, const char *key, uint64_t v)
{
	uint8_t b[8];

	for (size_t i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	return vc_store_put(st, applet, key, b, 8);
}

piv_h *
ph_new(void)
{
	piv_h *h = calloc(1, sizeof(*h));

	if (sodium_init() < 0)
		abort();
	randombytes_buf(h->card.serial, sizeof(h->card.serial));
	vc_store_begin(&h->card.st);
	if (vc_applet_piv.create(&h->card, &h->piv) != 0)
		abort();
	vc_store_commit(&h->card.st);
	h->piv_selected = true;
	return h;
}

void
ph_free(piv_h **h)
{
	if (*h == NULL)
		return;
	vc_applet_piv.close(&(*h)->piv);
	tab_free(&(*h)->card.st.cur);
	tab_free(&(*h)->card.st.snap);
	free(*h);
	*h = NULL;
}

void
ph_reopen(piv_h *h)
{
	vc_applet_piv.close(&h->piv);
	if (vc_applet_piv.open(&h->card, &h->piv) != 0)
		abort();
	h->piv_selected = true;
	h->chaining = false;
}

void
ph_reset(piv_h *h)
{
	vc_applet_piv.deselect(h->piv, &h->card);
	h->piv_selected = true;
	h->chaining = false;
}

unsigned
ph_checkpoints(const piv_h *h)
{
	return h->card.st.checkpoints;
}

void
ph_store_digest(piv_h *h, uint8_t out[32])
{
	crypto_generichash_state s;
	tab *t = &h->card.st.cur;
	bool *done = calloc(t->n + 1, 1);

	crypto_generichash_init(&s, NULL, 0, 32);
	/* order-independent: entries in key order */
	for (size_t k = 0; k < t->n; k++) {
		size_t best = t->n;

		for (size_t i = 0; i < t->n; i++)
			if (!done[i] && (best == t->n ||
			    strcmp(t->e[i].key, t->e[best].key) < 0))
				best = i;
		done[best] = true;
		crypto_generichash_update(&s, (const uint8_t *)t->e[best].key,
		    strlen(t->e[best].key) + 1);
		crypto_generichash_update(&s, t->e[best].v, t->e[best].n);
	}
	crypto_generichash_final(&s, out, 32);
	free(done);
}

static const uint8_t piv_aid[] = { 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00,
	0x10, 0x00, 0x01, 0x00 };
static const uint8_t yk_aid[] = { 0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17 };

static uint16_t
ph_select(piv_h *h, const wk_apdu *a, wk_buf *resp)
{
	uint16_t sw;

	if (a->lc >= 5 && a->lc <= sizeof(piv_aid) &&
	    memcmp(a->data, piv_aid, a->lc) == 0) {
		sw = vc_applet_piv.select(h->piv, &h->card, 0, a, resp);
		if (sw == WK_SW_OK)
			h->piv_selected = true;
		return sw;
	}
	if (a->lc == sizeof(yk_aid) && memcmp(a->data, yk_aid, a->lc) == 0) {
		if (h->piv_selected)
			vc_applet_piv.deselect(h->piv, &h->card);
		h->piv_selected = false;
		return vc_applet_ykmgmt.select(NULL, &h->card, 0, a, resp);
	}
	return WK_SW_FILE_NOT_FOUND;
}

uint16_t
ph_txb(piv_h *h, const uint8_t *apdu, size_t n, uint8_t *out, size_t cap,
    size_t *outlen)
{
	wk_apdu a;
	wk_buf resp;
	uint8_t joined[65536 + 8];
	uint16_t sw;

	if (outlen != NULL)
		*outlen = 0;
	if (wk_apdu_parse(&a, apdu, n) != WK_APDU_OK)
		return WK_SW_WRONG_LENGTH;
	if (a.cla & 0x10) {
		if (h->chaining && memcmp(h->chain_hdr + 1, apdu + 1, 3) != 0)
			h->chaining = false;
		if (!h->chaining)
			h->chain_len = 0;
		memcpy(h->chain + h->chain_len, a.data, a.lc);
		h->chain_len += a.lc;
		memcpy(h->chain_hdr, apdu, 4);
		h->chaining = true;
		return WK_SW_OK;
	}
	if (h->chaining) {
		h->chaining = false;
		if (memcmp(h->chain_hdr + 1, apdu + 1, 3) == 0) {
			memcpy(joined, h->chain, h->chain_len);
			memcpy(joined + h->chain_len, a.data, a.lc);
			a.data = joined;
			a.lc += h->chain_len;
		}
	}
	wk_buf_init_heap(&resp, 65536);
	vc_store_begin(&h->card.st);
	if (a.ins == 0xA4 && a.p1 == 0x04)
		sw = ph_select(h, &a, &resp);
	else if (!h->piv_selected)
		sw = WK_SW_INS_NOT_SUPPORTED;
	else
		sw = vc_applet_piv.process(h->piv, &h->card, &a, &resp);
	vc_store_commit(&h->card.st);
	if (resp.len > 0 && (sw == WK_SW_OK || (sw & 0xFF00) == 0x6100 ||
	    (sw & 0xFF00) == 0x6200 || (sw & 0xFF00) == 0x6300)) {
		if (out != NULL && resp.len <= cap) {
			memcpy(out, resp.p, resp.len);
			if (outlen != NULL)
				*outlen = resp.len;
		}
	}
	wk_buf_clear(&resp);
	return sw;
}

uint16_t
ph_tx(piv_h *h, const char *hex, uint8_t *out, size_t cap, size_t *outlen)
{
	uint8_t apdu[65536 + 16];
	long n = wk_hex_decode(hex, apdu, sizeof(apdu));

	if (n < 0)
		abort();
	return ph_txb(h, apdu, (size_t)n, out, cap, outlen);
}
