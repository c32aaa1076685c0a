/*
 * heap memory wiped when freed, for a library that keeps secrets in
 * allocations of its own: jansson holds the PINs and keys of a parsed tree
 * (json_set_alloc_funcs(wk_wipe_malloc, wk_wipe_free) while it runs)
 */
#ifndef WK_WIPE_H
#define WK_WIPE_H

#include <stddef.h>

/* malloc with a header that remembers the size; NULL on overflow or OOM */
void *wk_wipe_malloc(size_t n);
/* wipes the n bytes wk_wipe_malloc gave, then frees them; NULL is a no-op */
void wk_wipe_free(void *p);

#endif
