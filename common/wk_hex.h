#ifndef WK_HEX_H
#define WK_HEX_H

#include <stddef.h>
#include <stdint.h>

/* decodes hex, ignoring spaces and ':'; returns bytes written or -1 */
long wk_hex_decode(const char *hex, uint8_t *out, size_t cap);
/* writes lower-case hex and a NUL; out must hold 2 * len + 1 bytes */
void wk_hex_encode(const uint8_t *in, size_t len, char *out);

#endif
