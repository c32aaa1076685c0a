/*
 * OCRA, the OATH challenge-response algorithm (RFC 6287), written once for
 * the card, the issuer and the tests: suite parsing (section 6) and the
 * computation (section 5) over HMAC-SHA1/256/512 with HOTP truncation.
 *
 *   DataInput = suite | 00 | [C 8] | Q 128 | [P] | [S] | [T 8]
 *
 * The question is taken as the suite says: N decimal digits (converted to
 * hex), A printable characters (their bytes), H hex digits; its hex digits
 * are padded on the right with zeros to 128 bytes, as the RFC's reference
 * implementation does. Truncation to 0 digits (the whole HMAC) is not
 * supported.
 */
#ifndef WK_OCRA_H
#define WK_OCRA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WK_OCRA_SUITE_MAX 64
#define WK_OCRA_Q_BYTES 128
#define WK_OCRA_DIGITS_MAX 10

enum {
	WK_OCRA_OK = 0,
	WK_OCRA_BAD_SUITE = -1,		/* not an OCRA-1 suite this code takes */
	WK_OCRA_BAD_INPUT = -2,		/* a question, PIN hash or session that does not fit */
	WK_OCRA_CRYPTO = -3,
};

typedef struct wk_ocra_suite {
	char text[WK_OCRA_SUITE_MAX + 1];
	unsigned hash;		/* 1, 256 or 512: HMAC-SHA-x */
	unsigned digits;	/* 4-10 */
	bool counter;		/* C */
	char q_format;		/* 'A', 'N' or 'H' */
	unsigned q_max;		/* 4-64 */
	unsigned pin_hash;	/* 0 (none), 1, 256 or 512 */
	unsigned session_len;	/* 0 (none), 64, 128, 256 or 512 */
	uint64_t time_step;	/* seconds; 0: no timestamp */
} wk_ocra_suite;

/* "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1-S064-T1M" and its subsets */
int wk_ocra_suite_parse(const char *text, wk_ocra_suite *out);

typedef struct wk_ocra_input {
	uint64_t counter;		/* with C */
	const char *question;		/* as q_format says, 1..q_max characters */
	const uint8_t *pin_hash;	/* with P: the hash of the PIN, of its length */
	const uint8_t *session;		/* with S: session_len bytes */
	uint64_t timestamp;		/* with T: time steps since the epoch */
} wk_ocra_input;

/* the response: digits ASCII digits and a NUL into out (cap > digits) */
int wk_ocra_compute(const wk_ocra_suite *s, const uint8_t *key, size_t key_len,
    const wk_ocra_input *in, char *out, size_t cap);

#endif
