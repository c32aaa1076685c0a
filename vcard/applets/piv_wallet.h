/*
 * the PIV applet's services to the wallet commands (docs/remote-load.md):
 * the wallet key lives in PIV retired slot 82 (P-256); the trust anchor
 * (the issuer CA's P-256 public key) and the account PAN are written with
 * the PIV applet's own command WALLET SETUP (CLA 80 INS E8), which needs
 * 9B management-key authentication. Once the anchor is set, GENERAL
 * AUTHENTICATE, GENERATE, IMPORT and DELETE refuse slot 82 (6982), so only
 * the card builds what that key signs and only WALLET SETUP replaces it; a
 * key never moves into or out of slot 82 at all.
 */
#ifndef PIV_WALLET_H
#define PIV_WALLET_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "vc_applet.h"
#include "wk_buf.h"

#define PIV_WALLET_SLOT 0x82
#define PIV_WALLET_INS_SETUP 0xE8
#define PIV_WALLET_POINT_LEN 65
#define PIV_WALLET_PAN_MAX 19

/* true once WALLET SETUP stored an anchor */
bool piv_wallet_locked(vc_card *card);
/* deletes the anchor, the PAN and the slot-82 key, and, when an anchor
 * was set, every purse key; inside the caller's command */
typedef struct piv_state piv_state;
int piv_wallet_forget(piv_state *s, vc_card *card);
/* ECDSA P-256 / SHA-256 over msg with the wallet key; DER signature to sig */
int piv_wallet_sign(vc_card *card, const uint8_t *msg, size_t len, wk_buf *sig);
/* the wallet private key (the caller frees it) */
int piv_wallet_key(vc_card *card, EVP_PKEY **out);
/* the trust anchor as a public key (the caller frees it) */
int piv_wallet_anchor(vc_card *card, EVP_PKEY **out);
/* the account PAN, NUL-terminated, into pan (cap >= PIV_WALLET_PAN_MAX + 1) */
int piv_wallet_pan(vc_card *card, char *pan, size_t cap);

#endif
