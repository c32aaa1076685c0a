/*
 * card_attacker: what a process on the holder's machine tries against an
 * enrolled card (docs/security.md "Enrolment and attestation"), straight
 * over PC/SC with raw APDUs, for the end-to-end tests:
 *
 *   card_attacker READER slot82
 *       with the (factory) management key: GENERATE, IMPORT, MOVE out of
 *       and into, and DELETE on the wallet slot 82; prints "NAME SW" for
 *       each, and the slot's public key before and after
 *   card_attacker READER demo-duk [LIMIT]
 *       raises the ED overdraft limit (default FFFFFF fen) with the public
 *       demo DUK (the demo profile's master key diversified by the card's
 *       application serial); prints the SW of UPDATE OVERDRAW LIMIT and the
 *       ED balance before and after
 *
 * The PIN is $WALLETKEY_PIN (default 123456). Exit 0 when every exchange
 * went through (whatever the card answered), 2 on a transport failure.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <PCSC/winscard.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include "wk_hex.h"
#include "wk_purse_crypto.h"

static SCARDCONTEXT ctx;
static SCARDHANDLE card;
static DWORD proto;
static uint8_t resp[4096];
static size_t rlen;

static void
die(const char *what)
{
	fprintf(stderr, "card_attacker: %s\n", what);
	exit(2);
}

/* one APDU in hex (spaces allowed); GET RESPONSE followed; returns SW */
static uint16_t tx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static uint16_t
tx(const char *fmt, ...)
{
	char hex[2048], clean[2048];
	uint8_t apdu[1100], r[300];
	size_t j = 0;
	long n;
	DWORD rl;
	va_list ap;
	uint16_t sw;

	va_start(ap, fmt);
	vsnprintf(hex, sizeof(hex), fmt, ap);
	va_end(ap);
	for (size_t i = 0; hex[i] != '\0'; i++)
		if (hex[i] != ' ')
			clean[j++] = hex[i];
	clean[j] = '\0';
	if ((n = wk_hex_decode(clean, apdu, sizeof(apdu))) <= 0)
		die("bad APDU");
	rlen = 0;
	for (;;) {
		rl = sizeof(r);
		if (SCardTransmit(card, proto == SCARD_PROTOCOL_T1 ?
		    SCARD_PCI_T1 : SCARD_PCI_T0, apdu, (DWORD)n, NULL, r,
		    &rl) != SCARD_S_SUCCESS || rl < 2)
			die("transmit");
		sw = (uint16_t)(r[rl - 2] << 8 | r[rl - 1]);
		if (rlen + rl - 2 > sizeof(resp))
			die("answer too long");
		memcpy(resp + rlen, r, rl - 2);
		rlen += rl - 2;
		if ((sw >> 8) != 0x61)
			return sw;
		memcpy(apdu, "\x00\xC0\x00\x00", 4);
		apdu[4] = (uint8_t)sw;
		n = 5;
	}
}

static void
des3(const uint8_t key[24], const uint8_t in[8], uint8_t out[8], int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;

	if (c == NULL || EVP_CipherInit_ex(c, EVP_des_ede3_ecb(), NULL, key, NULL,
	    enc) != 1 || EVP_CIPHER_CTX_set_padding(c, 0) != 1 ||
	    EVP_CipherUpdate(c, out, &n, in, 8) != 1)
		die("3DES");
	EVP_CIPHER_CTX_free(c);
}

/* 9B mutual authentication with the factory 3DES key (piv.md 3.3) */
static void
mgm_auth(void)
{
	static const uint8_t key[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5,
	    6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t w[8];
	char wh[17];

	if (tx("00 87 03 9B 04 7C 02 80 00") != 0x9000 || rlen < 12)
		die("9B witness");
	des3(key, resp + 4, w, 0);
	wk_hex_encode(w, 8, wh);
	if (tx("00 87 03 9B 16 7C 14 80 08 %s 81 08 5A5A5A5A5A5A5A5A", wh) !=
	    0x9000)
		die("9B authentication (not the factory key?)");
}

static void
print_pub(const char *when, uint8_t slot)
{
	char h[200];

	if (tx("00 F7 00 %02X 00", slot) != 0x9000) {
		printf("%s none\n", when);
		return;
	}
	wk_hex_encode(resp + rlen - (rlen > 65 ? 65 : rlen), rlen > 65 ? 65 : rlen,
	    h);
	printf("%s %s\n", when, h);
}

static int
slot82(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIGNUM *d = NULL;
	uint8_t priv[32];
	char h[65];

	if (k == NULL || EVP_PKEY_get_bn_param(k, "priv", &d) != 1 ||
	    BN_bn2binpad(d, priv, 32) != 32)
		die("key");
	wk_hex_encode(priv, 32, h);
	if (tx("00 A4 04 00 09 A0 00 00 03 08 00 00 10 00") != 0x9000)
		die("select PIV");
	mgm_auth();
	print_pub("before", 0x82);
	printf("generate %04X\n", tx("00 47 00 82 05 AC 03 80 01 11 00"));
	printf("import %04X\n", tx("00 FE 11 82 22 06 20 %s", h));
	printf("move-out %04X\n", tx("00 F6 9A 82"));
	(void)tx("00 47 00 9D 05 AC 03 80 01 11 00");
	printf("move-in %04X\n", tx("00 F6 82 9D"));
	printf("delete %04X\n", tx("00 F6 FF 82"));
	printf("sign %04X\n", tx("00 87 11 82 26 7C 24 82 00 81 20"
	    " 0000000000000000000000000000000000000000000000000000000000000000"));
	print_pub("after", 0x82);
	BN_clear_free(d);
	EVP_PKEY_free(k);
	return 0;
}

static char pin_hex[17];
static size_t pin_bytes;

/* VERIFY (the purse asks again after each transaction), then GET BALANCE */
static uint32_t
ed_balance(void)
{
	uint16_t sw;

	if (tx("00 20 00 00 %02zX %s", pin_bytes, pin_hex) != 0x9000)
		die("VERIFY");
	sw = tx("80 5C 00 01 04");

	if (sw != 0x9000 || rlen != 4) {
		fprintf(stderr, "card_attacker: GET BALANCE (ED): %04X\n", sw);
		exit(2);
	}
	return (uint32_t)resp[0] << 24 | (uint32_t)resp[1] << 16 |
	    (uint32_t)resp[2] << 8 | resp[3];
}

static int
demo_duk(const char *limit_hex)
{
	static const uint8_t master[16] = { 'W', 'K', '-', 'D', 'E', 'M', 'O',
	    '-', 'D', 'U', 'K', '-', '0', '0', '0', '1' };
	static const uint8_t tid[6] = { 0, 0, 0, 0, 0, 0x66 };
	static const uint8_t date[4] = { 0x20, 0x26, 0x01, 0x01 };
	static const uint8_t tim[3] = { 0x12, 0, 0 };
	const char *pin = getenv("WALLETKEY_PIN") ? getenv("WALLETKEY_PIN") :
	    "123456";
	uint8_t serial[10], duk[16], rnd[4], mac[4], pinb[8];
	wk_purse_skey sk;
	char mh[9], ph[17];
	unsigned long limit = strtoul(limit_hex, NULL, 16);
	uint16_t seq, sw;
	uint32_t before;
	size_t pl = strlen(pin);

	if (pl < 4 || pl > 12 || limit > 0xFFFFFF)
		die("PIN or limit");
	/* the purse PIN as BCD, padded with F */
	memset(pinb, 0xFF, sizeof(pinb));
	for (size_t i = 0; i < pl; i++)
		pinb[i / 2] = (uint8_t)(i % 2 ? (pinb[i / 2] & 0xF0) | (pin[i] - '0') :
		    ((pin[i] - '0') << 4) | 0x0F);
	wk_hex_encode(pinb, (pl + 1) / 2, ph);
	memcpy(pin_hex, ph, sizeof(pin_hex));
	pin_bytes = (pl + 1) / 2;
	if (tx("00 A4 04 00 08 F0 57 4B 50 55 52 53 45") != 0x9000)
		die("select the purse");
	if (tx("00 B0 95 00 1E") != 0x9000 || rlen != 30)
		die("READ BINARY EF 0015");
	memcpy(serial, resp + 10, 10);
	before = ed_balance();
	printf("before %u\n", before);
	sw = tx("80 50 04 01 07 01 000000000066 13");
	if (sw != 0x9000 || rlen != 19) {
		printf("init %04X\n", sw);
		printf("after %u\n", ed_balance());
		return 0;
	}
	seq = (uint16_t)(resp[4] << 8 | resp[5]);
	memcpy(rnd, resp + 11, 4);
	/* the DUK's algorithm, as INITIALIZE FOR UPDATE answers it */
	if (wk_purse_diversify(resp[10], master, serial, sizeof(serial), duk) != 0 ||
	    wk_purse_session_key_online(resp[10], duk, rnd, seq, &sk) != 0 ||
	    wk_purse_update_mac2(&sk, (uint32_t)limit, tid, date, tim, mac) != 0)
		die("MAC2");
	wk_hex_encode(mac, 4, mh);
	sw = tx("80 58 00 00 0E %06lX 20260101 120000 %s 04", limit, mh);
	printf("update %04X\n", sw);
	printf("after %u\n", ed_balance());
	return 0;
}

int
main(int argc, char **argv)
{
	int rc;

	if (argc < 3 || (strcmp(argv[2], "slot82") != 0 &&
	    strcmp(argv[2], "demo-duk") != 0)) {
		fprintf(stderr, "usage: card_attacker READER slot82|demo-duk [LIMIT]\n");
		return 2;
	}
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
	    SCARD_S_SUCCESS)
		die("no PC/SC");
	if (SCardConnect(ctx, argv[1], SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1 |
	    SCARD_PROTOCOL_T0, &card, &proto) != SCARD_S_SUCCESS)
		die("no card in that reader");
	rc = strcmp(argv[2], "slot82") == 0 ? slot82() :
	    demo_duk(argc > 3 ? argv[3] : "FFFFFF");
	SCardDisconnect(card, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	return rc;
}
