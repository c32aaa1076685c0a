/* bounded cursors over untrusted bytes and a builder with a sticky failure flag */
#ifndef WK_BUF_H
#define WK_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* read side: a cursor that carries the remaining length */
typedef struct wk_cur {
	const uint8_t *p;
	size_t len;
} wk_cur;

void wk_cur_init(wk_cur *c, const uint8_t *p, size_t len);
/* each returns 0 and advances on success, -1 and leaves the cursor alone when short */
int wk_cur_take(wk_cur *c, size_t n, const uint8_t **out);
int wk_cur_copy(wk_cur *c, void *dst, size_t n);
int wk_cur_u8(wk_cur *c, uint8_t *v);
int wk_cur_be16(wk_cur *c, uint16_t *v);
int wk_cur_be24(wk_cur *c, uint32_t *v);
int wk_cur_be32(wk_cur *c, uint32_t *v);
int wk_cur_be64(wk_cur *c, uint64_t *v);

/*
 * write side: appends into caller storage (fixed) or into heap storage that
 * grows up to max. Any failure sticks: later appends do nothing and
 * wk_buf_failed() reports it, so encoders check once at the end.
 */
typedef struct wk_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max;
	bool heap;
	bool fail;
} wk_buf;

void wk_buf_init_fixed(wk_buf *b, uint8_t *storage, size_t cap);
void wk_buf_init_heap(wk_buf *b, size_t max);
/* wipes and frees heap storage; fixed storage is wiped too */
void wk_buf_clear(wk_buf *b);
bool wk_buf_failed(const wk_buf *b);
void wk_buf_fail(wk_buf *b);
void wk_buf_add(wk_buf *b, const void *data, size_t n);
void wk_buf_u8(wk_buf *b, uint8_t v);
void wk_buf_be16(wk_buf *b, uint16_t v);
void wk_buf_be24(wk_buf *b, uint32_t v);
void wk_buf_be32(wk_buf *b, uint32_t v);
void wk_buf_be64(wk_buf *b, uint64_t v);
/* reserves n bytes and returns where they start, or NULL (and fails) */
uint8_t *wk_buf_reserve(wk_buf *b, size_t n);
void wk_buf_reset(wk_buf *b);

#endif
