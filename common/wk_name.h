/* tables of numbers and the names a person reads for them (record types,
 * PIV objects), and their lookup */
#ifndef WK_NAME_H
#define WK_NAME_H

#include <stddef.h>
#include <stdint.h>

typedef struct wk_name {
	uint32_t code;
	const char *name;
} wk_name;

/* the name of code in t (n rows); NULL when t has none */
static inline const char *
wk_name_of(const wk_name *t, size_t n, uint32_t code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

#endif
