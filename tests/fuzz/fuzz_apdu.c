/* wk_apdu_parse on anything; what parses re-encodes to the same bytes */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wk_apdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[4 + 3 + WK_APDU_MAX_DATA + 2];

static void
same_fields(const wk_apdu *a, const wk_apdu *b)
{
	if (a->cla != b->cla || a->ins != b->ins || a->p1 != b->p1 ||
	    a->p2 != b->p2 || a->lc != b->lc || a->le != b->le ||
	    a->has_le != b->has_le || a->iso_case != b->iso_case ||
	    (a->lc > 0 && memcmp(a->data, b->data, a->lc) != 0))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wk_apdu a, b;
	wk_buf w;

	if (wk_apdu_parse(&a, data, size) != WK_APDU_OK)
		return 0;
	if (a.lc > WK_APDU_MAX_DATA || (a.has_le && (a.le == 0 ||
	    a.le > WK_APDU_MAX_LE)) || (a.lc > 0) != (a.data != NULL) ||
	    a.iso_case < 1 || a.iso_case > 4)
		__builtin_trap();
	/* in the form it came in: the same bytes */
	wk_buf_init_fixed(&w, out, sizeof(out));
	if (wk_apdu_encode(&a, a.extended, &w) != WK_APDU_OK ||
	    w.len != size || memcmp(out, data, size) != 0)
		__builtin_trap();
	/* in the shortest form: the same command */
	wk_buf_init_fixed(&w, out, sizeof(out));
	if (wk_apdu_encode(&a, false, &w) != WK_APDU_OK ||
	    wk_apdu_parse(&b, out, w.len) != WK_APDU_OK)
		__builtin_trap();
	same_fields(&a, &b);
	return 0;
}
