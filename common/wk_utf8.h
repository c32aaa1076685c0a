/* text a person reads (labels): checked the same way on the card and host */
#ifndef WK_UTF8_H
#define WK_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF)
 * without C0 or C1 control characters or DEL, so it is safe to print on a
 * terminal and in a page */
bool wk_utf8_text_ok(const uint8_t *p, size_t n);

#endif
