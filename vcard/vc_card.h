/*
 * the card runtime and its APDU layer, independent of sockets: vc_link (or a
 * unit test, or a fuzzer) hands it vpcd control codes and command APDUs.
 *
 * What the layer does for every applet (vc_applet.h):
 *  - CLA: interindustry 00-1F and proprietary 80-9F only (else 6E00); logical
 *    channels other than 0 get 6881.
 *  - command chaining (CLA bit 10): fragments of one INS/P1/P2 are joined (at
 *    most 64 KiB, else 6A84), intermediates get 9000, the applet sees the
 *    joined command; any other command aborts the chain.
 *  - responses longer than Le (absent Le = 256 short, 65536 extended) or than
 *    256 bytes in short APDUs leave in chunks with 61xx and GET RESPONSE
 *    (00 C0); any other command drops pending data. GET RESPONSE with
 *    nothing pending gets 6985.
 *  - SELECT by DF name (00 A4 04 00/0C) over the registry by prefix; a failed
 *    SELECT answers 6A82 and keeps the selected applet and its state.
 *    SELECT by file id (P1 00, two data bytes) goes to the applet whose
 *    owns_fid() claims it, else to the selected applet, else 6A82.
 *  - with no applet selected, every other command gets 6D00 (ISO 7816-4
 *    5.6: the instruction is not supported in the current state).
 *  - each command runs between vc_store_begin and vc_store_commit; a status
 *    word other than 9000, 61xx, 62xx or 63xx rolls the command's writes back
 *    (an applet keeps a change made before failing with vc_store_checkpoint)
 *    and drops response data. A failing commit answers 6581.
 */
#ifndef VC_CARD_H
#define VC_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vc_applet.h"
#include "vc_store.h"

typedef struct vc_card_opts {
	/* a new card: call every applet's create() (inside one transaction)
	 * instead of open() */
	bool init;
	/* --perso FILE, read by applets' create(); NULL when not given */
	const char *perso_path;
	/* --demo: without --perso, the demo profile's public test keys instead
	 * of random ones */
	bool demo;
	/* --attestation-ca FILE: the manufacturer CA key file that signs the
	 * card's attestation certificate at create(); NULL: self-signed */
	const char *attest_ca_path;
	/* the applets; NULL means the registry (vc_registry.c) */
	const vc_applet *const *applets;
	size_t n_applets;
} vc_card_opts;

enum {
	VC_CARD_OK = 0,
	VC_CARD_ERROR = -1,	/* an applet's create/open failed, or no memory */
	VC_CARD_ARG = -2,	/* bad argument, e.g. response buffer under 2 bytes */
};

/* the registry: every applet of the card, in SELECT search order */
extern const vc_applet *const vc_registry[];
extern const size_t vc_registry_len;

/* the card starts powered on with the default applet selected */
int vc_card_new(vc_store *st, const vc_card_opts *opts, vc_card **out);
void vc_card_free(vc_card **card);
const vc_card_opts *vc_card_options(const vc_card *card);

/*
 * a vpcd control code (WK_VPCD_*). Power off, power on and reset drop the
 * volatile state (pending response, chain, every applet's deselect) and
 * select the default applet; they write nothing to out (*out_len = 0).
 * GET ATR writes the ATR. Unknown codes: VC_CARD_ARG.
 */
int vc_card_control(vc_card *card, uint8_t code, uint8_t *out, size_t cap,
    size_t *out_len);

/*
 * one command APDU; writes response data + SW1 SW2 into resp (cap >= 2;
 * data beyond cap - 2 stays pending for GET RESPONSE).
 */
int vc_card_apdu(vc_card *card, const uint8_t *cmd, size_t len, uint8_t *resp,
    size_t cap, size_t *resp_len);

/*
 * the card is idle (its answer has left, no command is waiting): one step
 * of each applet's idle work (vc_applet.idle). Returns true when some
 * applet did a step and may have more; the caller calls again only while
 * no command is waiting. Outside any command: no store transaction.
 */
bool vc_card_idle(vc_card *card);

#endif
