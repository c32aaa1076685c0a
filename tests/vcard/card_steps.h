/* a card test's runs of commands as table rows: each row a hex APDU and
 * the status word it must answer, in order. The including test defines
 * xfer_hex (a hex APDU to its card, the SW back) before using XFER_STEPS.
 * Include after <cmocka.h>. */
#ifndef CARD_STEPS_H
#define CARD_STEPS_H

#include <stddef.h>
#include <stdint.h>

typedef struct card_step {
	const char *apdu;	/* hex */
	uint16_t sw;		/* what the card must answer */
} card_step;

/* sends the steps up to the one with no APDU; fails at the first whose
 * SW differs, naming it and the caller's line */
static inline void
card_steps_run(uint16_t (*xfer_fn)(const char *), const card_step *s,
    const char *file, int line)
{
	for (size_t i = 0; s[i].apdu != NULL; i++) {
		uint16_t sw = xfer_fn(s[i].apdu);

		if (sw != s[i].sw) {
			print_error("step %zu, %s: SW %04X, want %04X\n", i + 1,
			    s[i].apdu, sw, s[i].sw);
			_fail(file, line);
		}
	}
}

/* XFER_STEPS({ "00 20 00 00", 0x63C3 }, { "00 20 ...", 0x9000 }) */
#define XFER_STEPS(...) card_steps_run(xfer_hex, \
	(const card_step[]){ __VA_ARGS__, { NULL, 0 } }, __FILE__, __LINE__)

#endif
