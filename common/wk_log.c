#include "wk_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>

static unsigned log_categories;
static wk_log_sink *log_sink;
static void *log_arg;

void
wk_log_set(unsigned categories)
{
	log_categories = categories;
}

unsigned
wk_log_enabled(void)
{
	return log_categories;
}

void
wk_log_set_sink(wk_log_sink *sink, void *arg)
{
	log_sink = sink;
	log_arg = arg;
}

static void
emit(unsigned category, const char *line)
{
	if (log_sink != NULL)
		log_sink(category, line, log_arg);
	else
		fprintf(stderr, "%s\n", line);
}

void
wk_log(unsigned category, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if ((log_categories & category) == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(category, line);
}

void
wk_log_hex(unsigned category, const char *prefix, const uint8_t *p,
    size_t len, size_t mask_from, size_t mask_len)
{
	static const char digits[] = "0123456789ABCDEF";
	char *line;
	size_t n, cap, shown;

	if ((log_categories & category) == 0)
		return;
	/* long APDUs are cut after 512 bytes to keep the trace readable */
	shown = len > 512 ? 512 : len;

	cap = 256 + shown * 3;
	if ((line = malloc(cap)) == NULL)
		return;
	n = (size_t)snprintf(line, cap, "%s (%zu)", prefix, len);
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < shown && n + 4 < cap; i++) {
		bool masked = i >= mask_from && i - mask_from < mask_len;

		line[n++] = ' ';
		line[n++] = masked ? '*' : digits[p[i] >> 4];
		line[n++] = masked ? '*' : digits[p[i] & 0x0F];
	}
	if (shown < len && n + 4 < cap) {
		line[n++] = ' ';
		line[n++] = '.';
		line[n++] = '.';
	}
	line[n] = '\0';
	emit(category, line);
	free(line);
}
