/*
 * the harness of the card fuzz targets that need an enrolled card
 * (fuzz_pay.c, fuzz_wallet.c): the card runtime of fuzz_runtime.h, APDU
 * helpers, and enrol(): PIV management key, wallet key 82,
 * WALLET SETUP with the anchor of an in-process CA and the PAN, then the
 * purse selected. A target defines FUZZ_CMD_MAX (the most data cmd()
 * sends) before including this file.
 *
 * snapshot() copies the card's store aside and restore() puts the card
 * back to it (a new card process on the copied file): a target whose
 * oracle assumes a card state starts every input from the snapshot, so a
 * finding reproduces when its input runs alone.
 */
#ifndef FUZZ_ENROLLED_H
#define FUZZ_ENROLLED_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "fuzz_runtime.h"
#include "vc_card.h"
#include "vc_store.h"
#include "wk_log.h"
#include "wk_msg.h"
#include "wk_vpcd.h"

#define ENROLLED_PAN "6222"

static EVP_PKEY *ca, *card_pub;
static const vc_applet *const *card_applets;
static size_t card_n_applets;
static uint8_t *snap;		/* the store file as snapshot() found it */
static size_t snap_len;

static const uint8_t sel_piv[] = { 0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00,
    0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00 };
static const uint8_t sel_purse[] = { 0x00, 0xA4, 0x04, 0x00, 0x08, 0xF0, 0x57,
    0x4B, 0x50, 0x55, 0x52, 0x53, 0x45 };
static const uint8_t pin[] = { 0x00, 0x20, 0x00, 0x00, 0x03, 0x12, 0x34, 0x56 };

/* the keys and the snapshot, at exit */
static inline void
enrolled_free(void)
{
	EVP_PKEY_free(ca);
	EVP_PKEY_free(card_pub);
	free(snap);
}

/* short, or extended above 255 bytes of data (at most FUZZ_CMD_MAX) */
static inline uint16_t
cmd(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *d,
    size_t lc, size_t *n)
{
	uint8_t apdu[9 + FUZZ_CMD_MAX];
	size_t k = 0;

	if (lc > FUZZ_CMD_MAX)
		lc = FUZZ_CMD_MAX;
	apdu[k++] = cla;
	apdu[k++] = ins;
	apdu[k++] = p1;
	apdu[k++] = p2;
	if (lc > 255) {
		apdu[k++] = 0;
		apdu[k++] = (uint8_t)(lc >> 8);
		apdu[k++] = (uint8_t)lc;
		memcpy(apdu + k, d, lc);
		k += lc;
		apdu[k++] = 0;
		apdu[k++] = 0;
	} else if (lc > 0) {
		apdu[k++] = (uint8_t)lc;
		memcpy(apdu + k, d, lc);
		k += lc;
		apdu[k++] = 0;
	}
	return xfer(apdu, k, n);
}

static inline void
must(uint16_t sw)
{
	if (sw != 0x9000)
		__builtin_trap();
}

/* 9B with the factory 3DES key */
static inline void
mgm_auth(void)
{
	static const uint8_t key[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6,
	    7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t a[32] = { 0x00, 0x87, 0x03, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00 };
	uint8_t w[8];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	size_t n;
	int l = 0;

	must(xfer(a, 9, &n));
	EVP_CipherInit_ex(c, EVP_des_ede3_ecb(), NULL, key, NULL, 0);
	EVP_CIPHER_CTX_set_padding(c, 0);
	EVP_CipherUpdate(c, w, &l, resp + 4, 8);
	EVP_CIPHER_CTX_free(c);
	memcpy(a, "\x00\x87\x03\x9B\x16\x7C\x14\x80\x08", 9);
	memcpy(a + 9, w, 8);
	memcpy(a + 17, "\x81\x08", 2);
	memset(a + 19, 0x5A, 8);
	must(xfer(a, 27, &n));
}

/* a new card with these applets in a scratch folder named after the
 * target, enrolled: key 82, the CA's anchor and the PAN; the purse
 * selected */
static inline void
enrol(const char *name, const vc_applet *const *applets, size_t n_applets)
{
	vc_card_opts o = { .init = true, .applets = applets,
	    .n_applets = n_applets };
	uint8_t d[100], pt[65];
	size_t n, l = 0;

	card_applets = applets;
	card_n_applets = n_applets;
	runtime_free = enrolled_free;
	runtime_start(name, &o);
	runtime_trace();
	if ((ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		abort();
	must(xfer(sel_piv, sizeof(sel_piv), &n));
	mgm_auth();
	must(cmd(0x00, 0x47, 0x00, 0x82, (const uint8_t *)"\xAC\x03\x80\x01\x11",
	    5, &n));
	if ((card_pub = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    EVP_PKEY_set1_encoded_public_key(card_pub, resp + 5, 65) != 1 ||
	    EVP_PKEY_get_octet_string_param(ca, "encoded-pub-key", pt,
	    sizeof(pt), &l) != 1)
		abort();
	d[0] = 0x01;
	d[1] = 65;
	memcpy(d + 2, pt, 65);
	memcpy(d + 67, "\x02\x04" ENROLLED_PAN, 6);
	must(cmd(0x80, 0xE8, 0, 0, d, 73, &n));
	must(xfer(sel_purse, sizeof(sel_purse), &n));
}

/* a new card process on the store file (the old one closed) */
static inline void
reopen(void)
{
	vc_card_opts o = { .init = false, .applets = card_applets,
	    .n_applets = card_n_applets };
	char path[320];

	store_path(path, sizeof(path), "card.db");
	if (vc_store_open(path, NULL, &st) != VC_STORE_OK ||
	    vc_card_new(st, &o, &card) != VC_CARD_OK)
		abort();
}

/* the card's store as it is now, kept for restore() */
static inline void
snapshot(void)
{
	char path[320];
	FILE *f;
	long len;

	vc_card_free(&card);
	vc_store_free(&st);	/* checkpoints: the one file holds it all */
	store_path(path, sizeof(path), "card.db");
	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (snap = malloc((size_t)len)) == NULL ||
	    fread(snap, 1, (size_t)len, f) != (size_t)len)
		abort();
	fclose(f);
	snap_len = (size_t)len;
	reopen();
}

/* the card as snapshot() left it: its store, its volatile state (power on,
 * default applet), nothing an earlier input did */
static inline void
restore(void)
{
	char path[320];
	int fd;

	vc_card_free(&card);
	vc_store_free(&st);
	unlink_store();
	store_path(path, sizeof(path), "card.db");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, snap, snap_len) != (ssize_t)snap_len || close(fd) != 0)
		abort();
	reopen();
}

#endif
