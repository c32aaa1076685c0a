/* a test harness that drives the PIV applet the way the card runtime does */
#ifndef PIV_HARNESS_H
#define PIV_HARNESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct piv_h piv_h;

/* a fresh card after --init (PIV and the Yubico management AID) */
piv_h *ph_new(void);
/* the same with other applets */
struct vc_applet;
piv_h *ph_new_with(const struct vc_applet *const *applets, size_t n);
void ph_free(piv_h **h);
/* restart the card process: applets closed and opened, the store kept */
void ph_reopen(piv_h *h);
/* card reset: security state dropped */
void ph_reset(piv_h *h);
/* sends one APDU given in hex; returns SW, response data in out (may be NULL) */
uint16_t ph_tx(piv_h *h, const char *hex, uint8_t *out, size_t cap, size_t *outlen);
uint16_t ph_txb(piv_h *h, const uint8_t *apdu, size_t n, uint8_t *out,
    size_t cap, size_t *outlen);
/* one exchange without the GET RESPONSE loop */
uint16_t ph_raw(piv_h *h, const char *hex, uint8_t *out, size_t cap, size_t *outlen);
uint16_t ph_raw_bin(piv_h *h, const uint8_t *apdu, size_t n, uint8_t *out,
    size_t cap, size_t *outlen);
/* a digest of everything in the store, to check that nothing changed */
void ph_store_digest(piv_h *h, uint8_t out[32]);
/* the card under test, for the internal APIs (the audit log) */
struct vc_card *ph_card(piv_h *h);
/* number of store commits so far (checkpoints included) */
unsigned ph_checkpoints(const piv_h *h);

#endif
