#ifndef WK_HEX_H
#define WK_HEX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* decodes hex, ignoring spaces and ':'; returns bytes written or -1 */
long wk_hex_decode(const char *hex, uint8_t *out, size_t cap);
/* writes lower-case hex and a NUL; out must hold 2 * len + 1 bytes */
void wk_hex_encode(const uint8_t *in, size_t len, char *out);
/* the instant t in UTC as packed BCD, the date CCYYMMDD and the time
 * hhmmss of the PBOC records and the audit log; -1 with nothing written
 * when t has no calendar date */
int wk_bcd_datetime(time_t t, uint8_t date[4], uint8_t tim[3]);

#endif
