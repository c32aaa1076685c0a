/*
 * the applet interface: every applet (PIV, purse, audit, ...) is one
 * vc_applet in one file, listed once in vc_registry.c. The APDU layer
 * (vc_card.c) owns parsing, chaining, GET RESPONSE and SELECT by name;
 * applets see complete commands and append response data to a buffer.
 */
#ifndef VC_APPLET_H
#define VC_APPLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wk_apdu.h"
#include "wk_buf.h"

typedef struct vc_card vc_card;
typedef struct vc_store vc_store;

typedef struct vc_aid {
	const uint8_t *aid;
	size_t len;
	size_t min_prefix;	/* SELECT matches any prefix of at least this many bytes */
} vc_aid;

/*
 * one command of an applet: the row of its table (vc_applet.cmds) that
 * answers one INS while the applet is selected. vc_cmd_run finds the row
 * of the command's INS (none: 6D00), checks its class (another: 6E00) and
 * its P1/P2 rule, then calls the handler. The --verbose trace masks the
 * command data of a VC_CMD_SECRET row and the response data of a
 * VC_CMD_SECRET_RESP row. A table ends with a row whose handler is NULL.
 */
typedef uint16_t vc_cmd_fn(void *state, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp);

enum vc_cmd_flag {
	/* P1 other than 00: 6A86; then P2 other than 00: 6A88 (VERIFY of
	 * the one PIN an applet has) */
	VC_CMD_P1P2_ZERO = 1 << 0,
	VC_CMD_SECRET = 1 << 1,
	VC_CMD_SECRET_RESP = 1 << 2,
};

typedef struct vc_cmd {
	uint8_t ins;
	uint8_t cla;	/* the one class the command takes */
	uint8_t flags;	/* enum vc_cmd_flag */
	vc_cmd_fn *fn;
} vc_cmd;

/* .aids and .n_aids of an applet from its array of vc_aid */
#define VC_AIDS(a) .aids = (a), .n_aids = sizeof(a) / sizeof((a)[0])
/* the life of an applet that keeps state: .create, .open, .close,
 * .select and .deselect, in that order */
#define VC_LIFE(create_, open_, close_, select_, deselect_) \
	.create = (create_), .open = (open_), .close = (close_), \
	.select = (select_), .deselect = (deselect_)

typedef struct vc_applet {
	const char *name;
	const vc_aid *aids;	/* one applet may answer several DF names (PSE + ADF) */
	size_t n_aids;
	/* selected after power-on and reset (PIV, piv.md 1.4) */
	bool default_selected;

	/* --init: write the factory state into the store (inside a transaction) */
	int (*create)(vc_card *card, void **state);
	/* start-up: load what the applet keeps in memory; NULL state allowed */
	int (*open)(vc_card *card, void **state);
	void (*close)(void **state);

	/* SELECT by name matched aids[which]: append FCI/APT, return SW (a
	 * warning keeps the data; 6A81, a blocked application, selects it
	 * without data; any other error leaves the selection as it was).
	 * Called again on re-SELECT of the applet already selected: it must not
	 * drop security state then (piv.md 1.4). */
	uint16_t (*select)(void *state, vc_card *card, size_t which,
	    const wk_apdu *cmd, wk_buf *resp);
	/* another applet was selected, or the card was reset or powered off:
	 * drop PIN state, challenges and sessions */
	void (*deselect)(void *state, vc_card *card);
	/* SELECT by file id from the MF (P1 00, e.g. purse ADF 1001): return
	 * true when this applet owns fid; then select() is called with which = n_aids */
	bool (*owns_fid)(uint16_t fid);
	/* every other command while selected, including SELECT forms other than
	 * by-name (EF selection inside the applet). The APDU layer has already
	 * joined chained fragments; data beyond 256 bytes (or Le) is sent by
	 * the layer with 61xx. Data appended on an error SW other than 62xx/63xx
	 * is dropped. */
	uint16_t (*process)(void *state, vc_card *card, const wk_apdu *cmd,
	    wk_buf *resp);
	/* the command table, when process is NULL (vc_cmd_run); with
	 * secret_range and secret_response NULL the trace masks by its rows */
	const vc_cmd *cmds;
	/* for --verbose: the byte range of cmd->data to mask (PINs, keys) */
	void (*secret_range)(const wk_apdu *cmd, size_t *from, size_t *len);
	/* for --verbose: true when the response data of cmd is secret
	 * (deciphered data, shared secrets); the trace masks it, GET RESPONSE
	 * continuations included. NULL: never. */
	bool (*secret_response)(const wk_apdu *cmd);
	/* the card is idle: its last answer has left and no command has
	 * arrived yet (vc_card_idle). Work done ahead for the next command,
	 * in small steps: true when a step was done and more may follow
	 * (called again while the card stays idle), false when there is
	 * nothing to do. It writes nothing to the store and changes nothing a
	 * command could tell apart except its speed (PIV: the next ECDSA
	 * nonce of a signing key). NULL: none. */
	bool (*idle)(void *state, vc_card *card);
} vc_applet;

/* services the card gives its applets */
/* runs cmd by the table t (see vc_cmd): for an applet whose process
 * checks something first */
uint16_t vc_cmd_run(const vc_cmd *t, void *state, vc_card *card,
    const wk_apdu *cmd, wk_buf *resp);
vc_store *vc_card_store(vc_card *card);
/* 8-byte card serial (random at --init) */
const uint8_t *vc_card_serial(const vc_card *card);
/* random bytes from libsodium, for challenges and card randoms */
void vc_card_random(vc_card *card, uint8_t *p, size_t n);

#endif
