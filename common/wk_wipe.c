/* heap memory wiped when freed (wk_wipe.h) */
#include "wk_wipe.h"

#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

typedef union wipe_hdr {
	size_t n;
	max_align_t align;
} wipe_hdr;

void *
wk_wipe_malloc(size_t n)
{
	wipe_hdr *h;

	if (n > SIZE_MAX - sizeof(*h) || (h = malloc(sizeof(*h) + n)) == NULL)
		return NULL;
	h->n = n;
	return h + 1;
}

void
wk_wipe_free(void *p)
{
	wipe_hdr *h;

	if (p == NULL)
		return;
	h = (wipe_hdr *)p - 1;
	sodium_memzero(p, h->n);
	free(h);
}
