/*
 * the PSAM applet (vcard/applets/psam.c) through the card runtime, provisioned
 * by an in-process issuer (CA key, the 3DES and the SM4 purchase master
 * keys, docs/purse.md "SM4 keys"). The input is a list
 * of steps `op(1) len(2) bytes(len)`:
 *   op % 4 == 0: the bytes are a command APDU, sent as they are;
 *   op % 4 == 1: a PSAM command: INS from {70 72 CA E0 E2 B0}[bytes[0] % 6],
 *                P1 bytes[1], P2 bytes[2], the rest as data;
 *   op % 4 == 2: INSTALL of the CA's psam-keys message with the bytes XORed
 *                over it, so the signature-checked paths are reached;
 *   op % 4 == 3: INIT SAM FOR PURCHASE on the bytes (cut or zero-padded to
 *                28), then CREDIT SAM with their first 4 bytes.
 * Oracles: no answer carries half of either purchase master key; the
 * terminal counter never goes back; a changed message never changes the
 * terminal id.
 */
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
#include "wk_buf.h"
#include "wk_log.h"
#include "wk_msg.h"
#include "wk_vpcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const vc_applet vc_applet_psam;

static EVP_PKEY *ca, *psam_pub;
static uint8_t dpk[16], dpk4[16], msg[WK_MSG_MAX];
static size_t msg_len;
static const uint8_t term[6] = { 0, 0, 0, 0, 0, 0x42 };
static const uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x00, 0x07, 0xF0, 0x57, 0x4B,
    0x50, 0x53, 0x41, 0x4D };

static uint16_t
send_apdu(const uint8_t *apdu, size_t len, size_t *n)
{
	uint16_t sw = xfer(apdu, len, n);

	/* the oracle: no answer holds half of the master key */
	if (*n >= 8 && (memmem(resp, *n, dpk, 8) != NULL ||
	    memmem(resp, *n, dpk + 8, 8) != NULL ||
	    memmem(resp, *n, dpk4, 8) != NULL ||
	    memmem(resp, *n, dpk4 + 8, 8) != NULL))
		__builtin_trap();
	return sw;
}

static uint16_t
cmd(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *d,
    size_t lc, size_t *n)
{
	uint8_t apdu[5 + 255 + 1];

	if (lc > 255)
		lc = 255;
	apdu[0] = cla;
	apdu[1] = ins;
	apdu[2] = p1;
	apdu[3] = p2;
	if (lc == 0)
		return send_apdu(apdu, 4, n);
	apdu[4] = (uint8_t)lc;
	memcpy(apdu + 5, d, lc);
	apdu[5 + lc] = 0;
	return send_apdu(apdu, 6 + lc, n);
}

static void
must(uint16_t sw)
{
	if (sw != 0x9000)
		__builtin_trap();
}

/* the terminal id and counter of GET INFO */
static void
info(uint8_t t[6], uint32_t *ctr)
{
	size_t n;

	must(send_apdu(sel, sizeof(sel), &n));
	must(cmd(0x80, 0xCA, 0, 0, NULL, 0, &n));
	if (n != 78 + 2)
		__builtin_trap();
	memcpy(t, resp + 2, 6);
	*ctr = (uint32_t)resp[8] << 24 | (uint32_t)resp[9] << 16 |
	    (uint32_t)resp[10] << 8 | resp[11];
}

/* the keys, at exit */
static void
keys_free(void)
{
	EVP_PKEY_free(ca);
	EVP_PKEY_free(psam_pub);
}

static void
start(void)
{
	static const vc_applet *const applets[] = { &vc_applet_psam };
	vc_card_opts o = { .init = true, .applets = applets, .n_applets = 1 };
	uint8_t pt[65], keys[34];
	size_t n, l = 0;
	wk_msg m;
	wk_buf b;

	runtime_free = keys_free;
	runtime_start("fuzz_psam", &o);
	runtime_trace();
	randombytes_buf(dpk, sizeof(dpk));
	randombytes_buf(dpk4, sizeof(dpk4));
	if ((ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    EVP_PKEY_get_octet_string_param(ca, "encoded-pub-key", pt,
	    sizeof(pt), &l) != 1)
		abort();
	must(send_apdu(sel, sizeof(sel), &n));
	must(cmd(0x80, 0xE0, 0, 0, pt, 65, &n));
	if ((psam_pub = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    EVP_PKEY_set1_encoded_public_key(psam_pub, resp, 65) != 1)
		abort();
	memset(&m, 0, sizeof(m));
	m.type = WK_MSG_PSAM_KEYS;
	memcpy(m.card_id, vc_card_serial(card), 8);
	memcpy(m.terminal_id, term, 6);
	m.key_version = 1;
	wk_buf_init_fixed(&b, msg, sizeof(msg));
	/* entries algorithm then master, as walletkey-issuer psam-issue */
	keys[0] = 0x00;
	memcpy(keys + 1, dpk, 16);
	keys[17] = 0x04;
	memcpy(keys + 18, dpk4, 16);
	if (wk_msg_seal_keys(psam_pub, &m, keys, sizeof(keys)) != WK_MSG_OK ||
	    wk_msg_sign(&m, ca, &b) != WK_MSG_OK)
		abort();
	msg_len = b.len;
	must(cmd(0x80, 0xE2, 0, 0, msg, msg_len, &n));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t ins[6] = { 0x70, 0x72, 0xCA, 0xE0, 0xE2, 0xB0 };
	static bool started;
	wk_cur c;

	if (!started) {
		start();
		started = true;
	}
	wk_cur_init(&c, data, size);
	while (c.len >= 3) {
		const uint8_t *p;
		uint8_t op, t0[6], t1[6], d[28], x[WK_MSG_MAX];
		uint16_t len;
		uint32_t c0, c1;
		size_t n;

		if (wk_cur_u8(&c, &op) != 0 || wk_cur_be16(&c, &len) != 0 ||
		    len > c.len || wk_cur_take(&c, len, &p) != 0)
			break;
		info(t0, &c0);
		switch (op % 4) {
		case 0:
			if (len > 0)
				(void)send_apdu(p, len, &n);
			break;
		case 1:
			if (len >= 3)
				(void)cmd(ins[p[0] % 6] == 0xB0 ? 0x00 : 0x80,
				    ins[p[0] % 6], p[1], p[2], p + 3,
				    (size_t)len - 3, &n);
			break;
		case 2:
			memcpy(x, msg, msg_len);
			for (size_t i = 0; i < len && i < msg_len; i++)
				x[i] ^= p[i];
			(void)cmd(0x80, 0xE2, 0, 0, x, msg_len, &n);
			break;
		default:
			memset(d, 0, sizeof(d));
			memcpy(d, p, len < sizeof(d) ? len : sizeof(d));
			(void)cmd(0x80, 0x70, 0, 0, d, sizeof(d), &n);
			(void)cmd(0x80, 0x72, 0, 0, d, 4, &n);
			break;
		}
		info(t1, &c1);
		if (c1 < c0 || memcmp(t0, t1, 6) != 0)
			__builtin_trap();
	}
	return 0;
}
