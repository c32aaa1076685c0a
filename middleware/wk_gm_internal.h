/* the GM client's internals, shared by wk_gm.c and wk_gm_key.c */
#ifndef WK_GM_INTERNAL_H
#define WK_GM_INTERNAL_H

#include "wk_internal.h"

#include "wk_buf.h"
#include "wk_gm.h"

struct wk_gm {
	wk_card *card;
	uint16_t sw;
};

/* the largest answer of one command: a decrypted or processed chunk */
#define GM_RESP_MAX (WK_GM_DATA_MAX + 256)

/* one command inside a transaction that selects the applet first; resp may
 * be NULL; secret masks the data in the trace */
int wk_gm_cmd(wk_gm *gm, uint8_t ins, uint8_t p1, uint8_t p2,
    const wk_buf *data, uint8_t *resp, size_t *rlen, bool secret);
/* a command whose data is a name of at most max bytes */
int wk_gm_name_cmd(wk_gm *gm, uint8_t ins, uint8_t p1, uint8_t p2,
    const char *name, size_t max, uint8_t *r, size_t *rl);
/* a command that answers a list of names (ids: with their ids) */
int wk_gm_list_cmd(wk_gm *gm, uint8_t ins, uint8_t p1, bool ids,
    wk_gm_name *out, size_t cap, size_t *n);
/* 1 to max bytes */
bool wk_gm_name_ok(const char *name, size_t max);
/* a TLV of a 4-byte big-endian value */
void wk_gm_put32(wk_buf *b, uint32_t tag, uint32_t v);
/* 4 bytes big-endian */
uint32_t wk_gm_be32(const uint8_t *p);

#endif
