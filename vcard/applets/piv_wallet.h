/*
 * the card's wallet key, for the card's own applets (audit chain head;
 * remote load): a P-256 key in PIV retired slot 82, generated and certified
 * through PIV like any other key. The card signs with it internally; the
 * PIV PIN policy of the slot does not apply (the calling applet gates it).
 */
#ifndef PIV_WALLET_H
#define PIV_WALLET_H

#include <stddef.h>
#include <stdint.h>

#include "vc_applet.h"

#define PIV_WALLET_SLOT 0x82
#define PIV_WALLET_SIG_MAX 72	/* DER ECDSA P-256 */

enum {
	PIV_WALLET_OK = 0,
	PIV_WALLET_ERROR = -1,
	PIV_WALLET_NO_KEY = -2,	/* slot 82 empty, or not a P-256 key */
};

/* ECDSA P-256 with SHA-256 over msg; DER signature into sig (cap >= 72) */
int piv_wallet_sign(vc_card *card, const uint8_t *msg, size_t n, uint8_t *sig,
    size_t cap, size_t *siglen);

#endif
