/*
 * a hostile process on the holder's machine (docs/security.md "The card
 * protects itself"): it talks to the cards through PC/SC with libwalletkey's
 * plain commands, as any process may, and tries what the card must refuse.
 * Each mode prints what the card answered and exits 0 when the attack
 * worked, 1 when the card refused it, 2 on a usage or setup error.
 *
 *   send-no-pin FROM TO FEN   authenticate both cards (the receiver's PIN,
 *                             the attacker's own card, from WALLETKEY_PIN),
 *                             then SEND on FROM without its PIN
 *   burn-seq READER N         N never-credited statements and N grants for
 *                             the online seqs 0.. without the PIN; worked
 *                             when any seq was burnt
 *   mac-guess READER N        with the PIN (malware that saw it): N loads
 *                             with guessed MAC2s; prints each SW; worked
 *                             when any guess was credited
 *   crl-put READER HEX        hands the card a revocation list (replay);
 *                             worked when the card took it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "walletkey.h"
#include "wk_hex.h"

#define WORKED 0
#define REFUSED 1
#define SETUP 2

static wk_ctx *ctx;

static wk_card *
open_card(const char *reader, uint8_t id[8])
{
	wk_card_info info;
	wk_card *c = NULL;
	int rc;

	if ((rc = wk_card_open(ctx, reader, &c)) != WK_OK ||
	    (rc = wk_card_get_info(c, &info)) != WK_OK) {
		fprintf(stderr, "card_attack: %s: %s\n", reader, wk_strerror(rc));
		exit(SETUP);
	}
	if (id != NULL)
		memcpy(id, info.serial, 8);
	return c;
}

static void
purse(wk_card *c)
{
	int rc = wk_purse_select(c, NULL, 0, NULL);

	if (rc != WK_OK && rc != WK_ERR_PURSE_BLOCKED) {
		fprintf(stderr, "card_attack: select the purse: %s\n",
		    wk_strerror(rc));
		exit(SETUP);
	}
}

static void
cert(wk_card *c, uint8_t *der, size_t *len)
{
	wk_piv *piv = NULL;

	if (wk_piv_open(c, &piv) != WK_OK ||
	    wk_piv_read_cert(piv, WK_WALLET_SLOT, der, len) != WK_OK) {
		fprintf(stderr, "card_attack: no wallet certificate\n");
		exit(SETUP);
	}
	wk_piv_free(&piv);
}

static int
send_no_pin(const char *from, const char *to, uint32_t amount)
{
	uint8_t ida[8], idb[8], ca[16], cb[16], rchal[16];
	uint8_t certa[2048], certb[2048], ma[WK_WALLET_MSG_MAX];
	uint8_t mb[WK_WALLET_MSG_MAX], tok[WK_WALLET_MSG_MAX];
	size_t la = sizeof(certa), lb = sizeof(certb), lma = sizeof(ma);
	size_t lmb = sizeof(mb), lt = sizeof(tok);
	const char *pin = getenv("WALLETKEY_PIN");
	wk_card *a = open_card(from, ida), *b = open_card(to, idb);
	int rc, tries;

	cert(a, certa, &la);
	cert(b, certb, &lb);
	purse(a);
	purse(b);
	if (pin == NULL ||
	    wk_wallet_xfer_challenge(a, false, ca) != WK_OK ||
	    wk_wallet_xfer_challenge(b, false, cb) != WK_OK ||
	    wk_wallet_xfer_auth_sign(b, ca, ida, mb, &lmb) != WK_OK ||
	    wk_wallet_xfer_auth_sign(a, cb, idb, ma, &lma) != WK_OK ||
	    wk_wallet_xfer_auth_verify(a, certb, lb, mb, lmb) != WK_OK ||
	    wk_wallet_xfer_auth_verify(b, certa, la, ma, lma) != WK_OK ||
	    wk_purse_verify_pin(b, pin, strlen(pin), &tries) != WK_OK ||
	    wk_wallet_xfer_challenge(b, true, rchal) != WK_OK) {
		fprintf(stderr, "card_attack: the handshake failed\n");
		return SETUP;
	}
	/* the sending card's PIN is never verified */
	rc = wk_wallet_xfer_send(a, idb, rchal, amount, tok, &lt);
	printf("send: %s\n", rc == WK_OK ? "token" : wk_strerror(rc));
	if (rc != WK_OK) {
		/* leave nothing open: a void token closes b's challenge */
		lt = sizeof(tok);
		if (wk_wallet_xfer_send(a, idb, rchal, 0, tok, &lt) == WK_OK) {
			uint32_t bal;
			bool already;

			(void)wk_wallet_xfer_redeem(b, certa, la, tok, lt, &bal,
			    &already);
		}
		return REFUSED;
	}
	return WORKED;
}

static int
burn_seq(const char *reader, unsigned n)
{
	uint8_t id[8], lid[16], msg[WK_WALLET_MSG_MAX];
	uint8_t grant[256];
	size_t len;
	unsigned burnt = 0, refused = 0;
	wk_card *c = open_card(reader, id);
	bool credited;
	int rc;

	purse(c);
	randombytes_buf(lid, sizeof(lid));
	/* a grant that parses (E0 { E1 {fields} 9E sig }), garbage signature */
	for (unsigned s = 0; s < n; s++) {
		size_t g = 0;
		uint16_t sw = 0;
		size_t rlen = sizeof(msg);

		len = sizeof(msg);
		rc = wk_wallet_recover(c, WK_PURSE_EP, lid, (uint16_t)s, msg, &len,
		    &credited);
		if (rc == WK_OK && !credited)
			burnt++;
		else
			refused++;
		/* the grant: version, type 2, card, nonce, seq, load, amount,
		 * type, terminal, date, time, MAC2 */
		grant[g++] = 0xE0;
		grant[g++] = 0;	/* patched */
		grant[g++] = 0xE1;
		grant[g++] = 0;	/* patched */
		memcpy(grant + g, "\x80\x01\x01\x81\x01\x02\x82\x08", 8);
		g += 8;
		memcpy(grant + g, id, 8);
		g += 8;
		grant[g++] = 0x84;
		grant[g++] = 16;
		randombytes_buf(grant + g, 16);
		g += 16;
		grant[g++] = 0x83;
		grant[g++] = 2;
		grant[g++] = (uint8_t)(s >> 8);
		grant[g++] = (uint8_t)s;
		grant[g++] = 0x8C;
		grant[g++] = 16;
		memcpy(grant + g, lid, 16);
		g += 16;
		memcpy(grant + g, "\x85\x04\x00\x00\x27\x10\x93\x01\x02"
		    "\x8A\x06\x00\x00\x00\x00\x00\x01\x8D\x04\x20\x26\x01\x01"
		    "\x8E\x03\x12\x00\x00\x8F\x04", 31);
		g += 31;
		randombytes_buf(grant + g, 4);
		g += 4;
		grant[3] = (uint8_t)(g - 4);
		grant[g++] = 0x9E;
		grant[g++] = 8;
		randombytes_buf(grant + g, 8);
		g += 8;
		grant[1] = (uint8_t)(g - 2);
		rc = wk_card_apdu(c, 0x80, 0xE2, 0, 0, grant, g, 256, msg, &rlen, &sw);
		if (rc == WK_OK && sw == 0x9000)
			burnt++;
		else
			refused++;
	}
	printf("burnt: %u refused: %u\n", burnt, refused);
	return burnt > 0 ? WORKED : REFUSED;
}

static int
mac_guess(const char *reader, unsigned n)
{
	static const uint8_t init[11] = { 0x01, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x01 };
	uint8_t r[64], credit[11] = { 0x20, 0x26, 0x01, 0x01, 0x12, 0x00, 0x00 };
	const char *pin = getenv("WALLETKEY_PIN");
	wk_card *c = open_card(reader, NULL);
	unsigned credited = 0;
	int tries;

	purse(c);
	for (unsigned i = 0; i < n; i++) {
		size_t len = sizeof(r);
		uint16_t sw = 0;

		if (pin == NULL)
			return SETUP;
		(void)wk_purse_verify_pin(c, pin, strlen(pin), &tries);
		if (wk_card_apdu(c, 0x80, 0x50, 0x00, 0x02, init, sizeof(init), 16,
		    r, &len, &sw) != WK_OK) {
			printf("lost\n");
			return REFUSED;
		}
		if (sw == 0x9000) {
			randombytes_buf(credit + 7, 4);
			len = sizeof(r);
			if (wk_card_apdu(c, 0x80, 0x52, 0x00, 0x00, credit,
			    sizeof(credit), 4, r, &len, &sw) != WK_OK) {
				printf("lost\n");
				return REFUSED;
			}
			if (sw == 0x9000)
				credited++;
		}
		printf("%04X\n", sw);
	}
	return credited > 0 ? WORKED : REFUSED;
}

static int
crl_put(const char *reader, const char *hex)
{
	size_t n = strlen(hex) / 2;
	uint8_t *l = malloc(n + 1);
	wk_card *c = open_card(reader, NULL);
	uint16_t sw = 0;
	int rc;

	if (l == NULL || wk_hex_decode(hex, l, n) != (long)n ||
	    wk_audit_select(c) != WK_OK)
		return SETUP;
	rc = wk_audit_revocation_list(c, l, n, &sw);
	printf("crl: %04X\n", sw);
	free(l);
	return rc == WK_OK ? WORKED : REFUSED;
}

int
main(int argc, char **argv)
{
	int rc = SETUP;

	if (sodium_init() < 0 || wk_ctx_new(&ctx) != WK_OK)
		return SETUP;
	if (argc == 5 && strcmp(argv[1], "send-no-pin") == 0)
		rc = send_no_pin(argv[2], argv[3], (uint32_t)strtoul(argv[4], NULL,
		    10));
	else if (argc == 4 && strcmp(argv[1], "burn-seq") == 0)
		rc = burn_seq(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
	else if (argc == 4 && strcmp(argv[1], "mac-guess") == 0)
		rc = mac_guess(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
	else if (argc == 4 && strcmp(argv[1], "crl-put") == 0)
		rc = crl_put(argv[2], argv[3]);
	else
		fprintf(stderr, "usage: card_attack send-no-pin FROM TO FEN | "
		    "burn-seq READER N | mac-guess READER N | crl-put READER HEX\n");
	wk_ctx_free(&ctx);
	return rc;
}
