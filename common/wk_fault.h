/*
 * wk_fault.h: one discrepancy found by a check, formatted, counted and
 * handed to the caller's function (the audit checks of libwalletkey and of
 * the CLI report their findings this way).
 */
#ifndef WK_FAULT_H
#define WK_FAULT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

typedef void (*wk_fault_fn)(void *arg, const char *fault);

/* formats fmt with ap (at most 511 bytes, cut beyond), adds one to
 * *count and gives the text to fn (when not NULL) */
static inline void
wk_fault_vsay(wk_fault_fn fn, void *arg, size_t *count, const char *fmt,
    va_list ap) __attribute__((format(printf, 4, 0)));

static inline void
wk_fault_vsay(wk_fault_fn fn, void *arg, size_t *count, const char *fmt,
    va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	(*count)++;
	if (fn != NULL)
		fn(arg, msg);
}

#endif
