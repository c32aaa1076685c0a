#include "wk_buf.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void
wk_cur_init(wk_cur *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->len = p == NULL ? 0 : len;
}

int
wk_cur_take(wk_cur *c, size_t n, const uint8_t **out)
{
	if (n > c->len)
		return -1;
	if (out != NULL)
		*out = c->p;
	c->p += n;
	c->len -= n;
	return 0;
}

int
wk_cur_copy(wk_cur *c, void *dst, size_t n)
{
	const uint8_t *p;

	if (wk_cur_take(c, n, &p) != 0)
		return -1;
	if (n > 0)
		memcpy(dst, p, n);
	return 0;
}

int
wk_cur_u8(wk_cur *c, uint8_t *v)
{
	return wk_cur_copy(c, v, 1);
}

static int
cur_be(wk_cur *c, size_t n, uint32_t *v)
{
	const uint8_t *p;
	uint32_t x = 0;

	if (wk_cur_take(c, n, &p) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		x = (x << 8) | p[i];
	*v = x;
	return 0;
}

int
wk_cur_be16(wk_cur *c, uint16_t *v)
{
	uint32_t x;

	if (cur_be(c, 2, &x) != 0)
		return -1;
	*v = (uint16_t)x;
	return 0;
}

int
wk_cur_be24(wk_cur *c, uint32_t *v)
{
	return cur_be(c, 3, v);
}

int
wk_cur_be32(wk_cur *c, uint32_t *v)
{
	return cur_be(c, 4, v);
}

int
wk_cur_be64(wk_cur *c, uint64_t *v)
{
	const uint8_t *p;
	uint64_t x = 0;

	if (wk_cur_take(c, 8, &p) != 0)
		return -1;
	for (size_t i = 0; i < 8; i++)
		x = (x << 8) | p[i];
	*v = x;
	return 0;
}

void
wk_buf_init_fixed(wk_buf *b, uint8_t *storage, size_t cap)
{
	b->p = storage;
	b->len = 0;
	b->cap = cap;
	b->max = cap;
	b->heap = false;
	b->fail = storage == NULL && cap > 0;
}

void
wk_buf_init_heap(wk_buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->heap = true;
	b->fail = false;
}

void
wk_buf_clear(wk_buf *b)
{
	if (b->p != NULL && b->cap > 0)
		sodium_memzero(b->p, b->cap);
	if (b->heap) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
	b->len = 0;
	b->fail = false;
}

void
wk_buf_reset(wk_buf *b)
{
	b->len = 0;
	b->fail = false;
}

bool
wk_buf_failed(const wk_buf *b)
{
	return b->fail;
}

void
wk_buf_fail(wk_buf *b)
{
	b->fail = true;
}

static bool
buf_grow(wk_buf *b, size_t n)
{
	size_t want, ncap;
	uint8_t *np;

	if (b->fail)
		return false;
	if (n > b->max || b->len > b->max - n) {
		b->fail = true;
		return false;
	}
	want = b->len + n;
	if (want <= b->cap)
		return true;
	if (!b->heap) {
		b->fail = true;
		return false;
	}
	ncap = b->cap < 64 ? 64 : b->cap;
	while (ncap < want)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	if ((np = malloc(ncap)) == NULL) {
		b->fail = true;
		return false;
	}
	if (b->p != NULL) {
		memcpy(np, b->p, b->len);
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = np;
	b->cap = ncap;
	return true;
}

uint8_t *
wk_buf_reserve(wk_buf *b, size_t n)
{
	uint8_t *at;

	if (!buf_grow(b, n))
		return NULL;
	at = b->p + b->len;
	b->len += n;
	return at;
}

void
wk_buf_add(wk_buf *b, const void *data, size_t n)
{
	uint8_t *at;

	if (n == 0)
		return;
	if ((at = wk_buf_reserve(b, n)) != NULL)
		memmove(at, data, n);
}

void
wk_buf_u8(wk_buf *b, uint8_t v)
{
	wk_buf_add(b, &v, 1);
}

void
wk_buf_be16(wk_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	wk_buf_add(b, x, sizeof(x));
}

void
wk_buf_be24(wk_buf *b, uint32_t v)
{
	uint8_t x[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	wk_buf_add(b, x, sizeof(x));
}

void
wk_buf_be32(wk_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	wk_buf_add(b, x, sizeof(x));
}

void
wk_buf_be64(wk_buf *b, uint64_t v)
{
	wk_buf_be32(b, (uint32_t)(v >> 32));
	wk_buf_be32(b, (uint32_t)v);
}
