/* debug logging: off by default, by category, with a replaceable sink */
#ifndef WK_LOG_H
#define WK_LOG_H

#include <stddef.h>
#include <stdint.h>

enum {
	WK_LOG_APDU = 1u << 0,	/* command and response APDUs (secrets masked) */
	WK_LOG_LINK = 1u << 1,	/* transport: vpcd frames, PC/SC calls */
	WK_LOG_STORE = 1u << 2,
	WK_LOG_APPLET = 1u << 3,
	WK_LOG_ALL = 0xFFFFu,
};

typedef void wk_log_sink(unsigned category, const char *line, void *arg);

void wk_log_set(unsigned categories);
unsigned wk_log_enabled(void);
void wk_log_set_sink(wk_log_sink *sink, void *arg);
void wk_log(unsigned category, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* logs prefix and a hex dump; bytes in [mask_from, mask_from + mask_len) print as "**" */
void wk_log_hex(unsigned category, const char *prefix, const uint8_t *p,
    size_t len, size_t mask_from, size_t mask_len);

#endif
