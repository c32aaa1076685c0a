/*
 * PIV key attestation (docs/attestation.md), written once for the card,
 * the factory tool (walletkey-mfg), the issuer and the tests:
 *
 *   manufacturer CA            walletkey-mfg ca-init; CA:TRUE, pathlen 1
 *    └ device certificate      the card's attestation key (slot F9, object
 *                              5FFF01), made at walletkey-card --init;
 *                              CA:TRUE, pathlen 0; extension cardId
 *       └ key attestation      Yubico ATTEST (INS F9) of a slot key: the
 *                              Yubico extensions and walletkey's cardId,
 *                              keySlot and keyOrigin
 *
 * walletkey's extensions sit under a UUID arc (ITU-T X.667: 2.25.<uuid>,
 * no registration needed); each is non-critical and holds a DER OCTET
 * STRING:
 *   .1 cardId     8 bytes, the card id (card serial)
 *   .2 keySlot    1 byte, the PIV key reference
 *   .3 keyOrigin  1 byte, 01 generated on the card, 02 imported (as GET
 *                 METADATA tag 03); the card attests generated keys only
 */
#ifndef WK_ATTEST_H
#define WK_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define WK_ATTEST_OID_ARC "2.25.158093926416397893608108191436371673262"
#define WK_ATTEST_OID_CARD_ID WK_ATTEST_OID_ARC ".1"
#define WK_ATTEST_OID_SLOT WK_ATTEST_OID_ARC ".2"
#define WK_ATTEST_OID_ORIGIN WK_ATTEST_OID_ARC ".3"

#define WK_ATTEST_CARD_ID_LEN 8
#define WK_ATTEST_SERIAL_LEN 16		/* certificate serial numbers */
#define WK_ATTEST_CHAIN_MAX 4		/* key, device, two intermediates */
#define WK_ATTEST_CERT_MAX 4096		/* DER bytes per certificate */
#define WK_ATTEST_ORIGIN_GENERATED 1
#define WK_ATTEST_ORIGIN_IMPORTED 2
/* the subject CN of a device certificate; a key attestation's is this
 * followed by " <slot in hex>", as a YubiKey's */
#define WK_ATTEST_DEVICE_CN "walletkey PIV Attestation"

enum {
	WK_ATTEST_OK = 0,
	WK_ATTEST_MALFORMED = -1,	/* a certificate or extension does not parse */
	WK_ATTEST_UNTRUSTED = -2,	/* no valid path to a trusted manufacturer CA */
	WK_ATTEST_WRONG_CARD = -3,	/* it certifies another card */
	WK_ATTEST_WRONG_SLOT = -4,	/* a key of another slot */
	WK_ATTEST_NOT_GENERATED = -5,	/* the key was not generated on the card */
	WK_ATTEST_WRONG_KEY = -6,	/* it certifies another public key */
	WK_ATTEST_CRYPTO = -7,		/* the crypto library failed */
	WK_ATTEST_ARG = -8,
};

const char *wk_attest_strerror(int rc);

/* what a key attestation states beside the key */
typedef struct wk_attest_key {
	uint8_t slot;			/* PIV key reference */
	uint8_t origin;			/* WK_ATTEST_ORIGIN_* */
	uint8_t pin_policy;		/* Yubico 1.3.6.1.4.1.41482.3.8 */
	uint8_t touch_policy;
	uint8_t firmware[3];		/* .3.3 */
	uint32_t serial;		/* .3.7, the 31-bit Yubico serial */
	uint8_t form_factor;		/* .3.9 */
} wk_attest_key;

/*
 * a manufacturer CA certificate: self-signed by key, CN cn, valid from an
 * hour ago for days days. serial: 16 random bytes.
 */
int wk_attest_ca_new(EVP_PKEY *key, const char *cn, long days,
    const uint8_t serial[WK_ATTEST_SERIAL_LEN], X509 **out);
/*
 * the device certificate of a card's attestation key f9 (public part used):
 * signed by ca_key, whose certificate is ca_cert; or, with ca_key NULL,
 * self-signed by f9 (a card without a manufacturer: it never enrols)
 */
int wk_attest_device_new(EVP_PKEY *f9, const uint8_t card_id[WK_ATTEST_CARD_ID_LEN],
    EVP_PKEY *ca_key, X509 *ca_cert, long days,
    const uint8_t serial[WK_ATTEST_SERIAL_LEN], X509 **out);
/*
 * the attestation of pub by the attestation key f9, whose certificate is
 * device (its subject is the issuer, its validity is copied)
 */
int wk_attest_key_new(EVP_PKEY *pub, const wk_attest_key *info,
    const uint8_t card_id[WK_ATTEST_CARD_ID_LEN], EVP_PKEY *f9, X509 *device,
    const uint8_t serial[WK_ATTEST_SERIAL_LEN], X509 **out);

/* what a verified chain says */
typedef struct wk_attest_facts {
	uint8_t card_id[WK_ATTEST_CARD_ID_LEN];
	uint8_t slot;
	uint8_t origin;
	int depth;			/* certificates in the verified path */
} wk_attest_facts;

/*
 * checks an attestation chain of untrusted bytes: der[0] the key
 * attestation, der[1] the card's device certificate, der[2..n-1]
 * intermediates (n 2..WK_ATTEST_CHAIN_MAX, each at most
 * WK_ATTEST_CERT_MAX bytes, each exactly one DER certificate), against the
 * manufacturer CAs in trusted, now. Then: the key attestation is signed by
 * that device certificate, not a CA, and both name the same card id;
 * with card_id non-NULL that it is this one; with slot non-zero that it
 * is this slot; that the key was generated on the card; with pub non-NULL
 * that it certifies pub. facts (may be NULL) is filled on success; why
 * (may be NULL) gets a one-line reason on failure.
 */
int wk_attest_verify(X509_STORE *trusted, const uint8_t *const der[],
    const size_t len[], size_t n, const uint8_t *card_id, uint8_t slot,
    EVP_PKEY *pub, wk_attest_facts *facts, char *why, size_t whylen);

/* the card id a device or key attestation certificate names */
int wk_attest_cert_card_id(X509 *x, uint8_t card_id[WK_ATTEST_CARD_ID_LEN]);

/*
 * a manufacturer CA key file (walletkey-mfg ca-init --key): PEM, the
 * private key and its CA certificate in either order. Checks that they
 * match and that the certificate is a CA's. err gets a one-line reason.
 */
int wk_attest_ca_read(const char *path, EVP_PKEY **key, X509 **cert,
    char *err, size_t errlen);
/* PEM certificates (one or more) from a file into store; the count read
 * to *n (may be NULL) */
int wk_attest_store_add_file(X509_STORE *store, const char *path, size_t *n,
    char *err, size_t errlen);

#endif
