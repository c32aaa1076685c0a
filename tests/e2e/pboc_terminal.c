/*
 * pboc_terminal: an independent PBOC ED/EP terminal for the end-to-end tests.
 * It shares no code with common/ or middleware/: PC/SC directly, its own
 * DES MAC on OpenSSL EVP (single DES as 3DES with K||K||K), its own SM4 MAC
 * on OpenSSL's raw SM4-ECB block, its own APDUs. It knows the issuer master
 * keys from the test, derives the card keys from the serial in EF 0015
 * (pboc-purse.md 4.4) and runs load, purchase, balance, records and prove,
 * checking every MAC1/MAC2/TAC the card returns, then provokes every error
 * status of section 6 and checks that nothing changed. With "sm4" every key
 * is an SM4 key (docs/purse.md "SM4 keys": algorithm id 04, SM4 session
 * keys, MACs and TAC key, SM4 diversification).
 *
 * usage: pboc_terminal READER DLK DPK DTK PIN [sm4]
 *        (keys: 32 hex digits, master)
 * exit 0 when every check passed.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <PCSC/winscard.h>
#include <openssl/evp.h>

static SCARDCONTEXT ctx;
static SCARDHANDLE card;
static DWORD proto;
static int failures;
static uint8_t term_id[6] = { 0x99, 0x88, 0x77, 0x66, 0x55, 0x44 };
static uint32_t term_seq = 0x1000;

#define CHECK(cond, ...) check((cond), __LINE__, __VA_ARGS__)

static void check(bool ok, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
check(bool ok, int line, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok) {
		printf(" (line %d)", line);
		failures++;
	}
	printf("\n");
}

static void
die(const char *what)
{
	fprintf(stderr, "pboc_terminal: %s\n", what);
	exit(2);
}

/* ---- DES on EVP ---- */

static void
ecb(const EVP_CIPHER *c, const uint8_t *key, const uint8_t in[8], uint8_t out[8])
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int n = 0;

	if (x == NULL || EVP_EncryptInit_ex(x, c, NULL, key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(x, 0) != 1 ||
	    EVP_EncryptUpdate(x, out, &n, in, 8) != 1 || n != 8)
		die("cipher failed");
	EVP_CIPHER_CTX_free(x);
}

/* 2-key 3DES block */
static void
tdes(const uint8_t k16[16], const uint8_t in[8], uint8_t out[8])
{
	ecb(EVP_des_ede_ecb(), k16, in, out);
}

/* single DES block as 3DES with K||K||K */
static void
des(const uint8_t k8[8], const uint8_t in[8], uint8_t out[8])
{
	uint8_t k24[24];

	memcpy(k24, k8, 8);
	memcpy(k24 + 8, k8, 8);
	memcpy(k24 + 16, k8, 8);
	ecb(EVP_des_ede3_ecb(), k24, in, out);
}

/* a block cipher's raw block with key k */
typedef void block_fn(const uint8_t *k, const uint8_t *in, uint8_t *out);

/* ISO 9797-1 MAC 1 with enc (blocks of bs bytes): zero IV, padding 2,
 * left 4 bytes */
static void
cbc_mac(block_fn *enc, size_t bs, const uint8_t *k, const uint8_t *d,
    size_t len, uint8_t out[4])
{
	uint8_t blk[16] = { 0 }, buf[256];
	size_t n = len, i, j;

	memcpy(buf, d, len);
	buf[n++] = 0x80;
	while (n % bs != 0)
		buf[n++] = 0x00;
	for (i = 0; i < n; i += bs) {
		for (j = 0; j < bs; j++)
			blk[j] ^= buf[i + j];
		enc(k, blk, blk);
	}
	memcpy(out, blk, 4);
}

/* ISO 9797-1 MAC 1, DES, zero IV, padding 2, left 4 bytes */
static void
mac(const uint8_t k8[8], const uint8_t *d, size_t len, uint8_t out[4])
{
	cbc_mac(des, 8, k8, d, len, out);
}

/* ---- SM4 on EVP (the raw block) ---- */

static bool use_sm4;

static void
sm4(const uint8_t k[16], const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int n = 0;

	if (x == NULL || EVP_EncryptInit_ex(x, EVP_sm4_ecb(), NULL, k, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(x, 0) != 1 ||
	    EVP_EncryptUpdate(x, out, &n, in, 16) != 1 || n != 16)
		die("SM4 failed");
	EVP_CIPHER_CTX_free(x);
}

/* ISO 9797-1 MAC 1 with SM4: zero IV, padding 2 to 16, left 4 bytes */
static void
mac_sm4(const uint8_t k[16], const uint8_t *d, size_t len, uint8_t out[4])
{
	cbc_mac(sm4, 16, k, d, len, out);
}

/* a MAC under a session or TAC key of the mode's algorithm */
static void
pmac(const uint8_t *k, const uint8_t *d, size_t len, uint8_t out[4])
{
	if (use_sm4)
		mac_sm4(k, d, len, out);
	else
		mac(k, d, len, out);
}

/* 4.2: the session key of the transaction data d (6 or 8 bytes): 3DES one
 * 8-byte block (6 bytes padded with 80 00), SM4 one 16-byte block (d
 * padded with 80 00..) */
static void
session(const uint8_t key[16], const uint8_t *d, size_t n, uint8_t sk[16])
{
	uint8_t in[16] = { 0 };

	memcpy(in, d, n);
	if (use_sm4) {
		in[n] = 0x80;
		sm4(key, in, sk);
	} else {
		if (n == 6)
			in[6] = 0x80;
		tdes(key, in, sk);
	}
}

static void
diversify(const uint8_t mk[16], const uint8_t serial[10], uint8_t dk[16])
{
	uint8_t f[16];
	int i;

	memcpy(f, serial + 2, 8);
	for (i = 0; i < 8; i++)
		f[8 + i] = (uint8_t)~f[i];
	if (use_sm4) {
		sm4(mk, f, dk);	/* SM4(MK, f || NOT f) */
		return;
	}
	tdes(mk, f, dk);
	tdes(mk, f + 8, dk + 8);
}

/* ---- APDUs ---- */

/* one command: header, data (lc bytes), le (-1: none, 0: 256) */
static uint16_t
xfer(uint32_t hdr, const uint8_t *data, size_t lc, int le, uint8_t *resp,
    size_t *rlen)
{
	uint8_t apdu[300], rbuf[300];
	DWORD n = sizeof(rbuf);
	size_t len = 0;
	LONG rv;

	apdu[len++] = (uint8_t)(hdr >> 24);
	apdu[len++] = (uint8_t)(hdr >> 16);
	apdu[len++] = (uint8_t)(hdr >> 8);
	apdu[len++] = (uint8_t)hdr;
	if (lc > 0) {
		apdu[len++] = (uint8_t)lc;
		memcpy(apdu + len, data, lc);
		len += lc;
	}
	if (le >= 0)
		apdu[len++] = (uint8_t)le;
	rv = SCardTransmit(card, proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 :
	    SCARD_PCI_T1, apdu, (DWORD)len, NULL, rbuf, &n);
	if (rv != SCARD_S_SUCCESS || n < 2)
		die("SCardTransmit failed");
	if (resp != NULL) {
		memcpy(resp, rbuf, n - 2);
		*rlen = n - 2;
	}
	return (uint16_t)(rbuf[n - 2] << 8 | rbuf[n - 1]);
}

static void
be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
	    p[3];
}

static uint8_t dlk[16], dpk[16], dtk[16], ktac[16], serial[10];
static const char *pin;

static uint16_t
verify_pin(const char *digits)
{
	uint8_t b[6];
	size_t n = strlen(digits), i;

	memset(b, 0xFF, sizeof(b));
	for (i = 0; i < n; i++) {
		uint8_t d = (uint8_t)(digits[i] - '0');

		b[i / 2] = i % 2 == 0 ? (uint8_t)(d << 4 | 0x0F) :
		    (uint8_t)((b[i / 2] & 0xF0) | d);
	}
	return xfer(0x00200000, b, (n + 1) / 2, -1, NULL, NULL);
}

static uint16_t
balance(uint32_t *bal)
{
	uint8_t r[8];
	size_t n = 0;
	uint16_t sw = xfer(0x805C0002, NULL, 0, 4, r, &n);

	*bal = sw == 0x9000 && n == 4 ? get32(r) : 0xFFFFFFFF;
	return sw;
}

/* balance, offline seq, every record: what an error must leave alone */
typedef struct snap {
	uint32_t bal;
	uint16_t off_seq;
	uint8_t rec[64][23];
	size_t nrec;
} snap;

static void
take(snap *s, bool with_pin)
{
	uint8_t r[32], d[11];
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	if (with_pin)
		(void)verify_pin(pin);
	(void)balance(&s->bal);
	for (unsigned i = 1; i <= 64; i++) {
		if (xfer(0x00B200C4 | (uint32_t)i << 8, NULL, 0, 0x17, r, &n) != 0x9000 || n != 23)
			break;
		memcpy(s->rec[s->nrec++], r, 23);
	}
	/* INIT FOR PURCHASE of 1 fen shows the offline seq and changes nothing */
	d[0] = 1;
	be32(d + 1, 1);
	memcpy(d + 5, term_id, 6);
	if (xfer(0x80500102, d, 11, 0x0F, r, &n) == 0x9000 && n == 15)
		s->off_seq = (uint16_t)(r[4] << 8 | r[5]);
	else
		s->off_seq = 0xFFFF;
}

static bool
same(const snap *a, const snap *b)
{
	return a->bal == b->bal && a->off_seq == b->off_seq && a->nrec == b->nrec &&
	    memcmp(a->rec, b->rec, sizeof(a->rec)) == 0;
}

static const uint8_t date[4] = { 0x20, 0x26, 0x11, 0x22 };
static uint8_t last_load_mac2[4];	/* the MAC2 the last CREDIT carried */
static const uint8_t tim[3] = { 0x12, 0x34, 0x56 };

/* the MAC over amount (4) | type (1) | terminal id (6) | date
 * (4) | time (3) under the session key sk: the terminal's MAC2 of a load,
 * its MAC1 of a purchase */
static void
txn_mac(const uint8_t sk[16], uint32_t amount, uint8_t type, uint8_t m[4])
{
	uint8_t d[18];

	be32(d, amount);
	d[4] = type;
	memcpy(d + 5, term_id, 6);
	memcpy(d + 11, date, 4);
	memcpy(d + 15, tim, 3);
	pmac(sk, d, sizeof(d), m);
}

/* a full load with every check; returns the SW of CREDIT */
static uint16_t
load(uint32_t amount, bool bad_mac2, uint8_t out_tac[4], uint16_t *seq_out)
{
	uint8_t d[24], r[32], sk[16], in[8], m[4], tac[4];
	size_t n = 0;
	uint32_t old;
	uint16_t seq, sw;

	(void)verify_pin(pin);
	d[0] = 1;
	be32(d + 1, amount);
	memcpy(d + 5, term_id, 6);
	sw = xfer(0x80500002, d, 11, 0x10, r, &n);
	if (sw != 0x9000)
		return sw;
	CHECK(n == 16, "INITIALIZE FOR LOAD answers 16 bytes");
	old = get32(r);
	seq = (uint16_t)(r[4] << 8 | r[5]);
	CHECK(r[7] == (use_sm4 ? 0x04 : 0x00), "INITIALIZE FOR LOAD: algorithm"
	    " id %02X", r[7]);
	memcpy(in, r + 8, 4);
	in[4] = r[4];
	in[5] = r[5];
	session(dlk, in, 6, sk);
	be32(d, old);
	be32(d + 4, amount);
	d[8] = 0x02;
	memcpy(d + 9, term_id, 6);
	pmac(sk, d, 15, m);
	CHECK(memcmp(m, r + 12, 4) == 0, "load MAC1 from the card verifies");
	txn_mac(sk, amount, 0x02, m);
	if (bad_mac2)
		m[2] ^= 0x10;
	memcpy(d, date, 4);
	memcpy(d + 4, tim, 3);
	memcpy(d + 7, m, 4);
	memcpy(last_load_mac2, m, 4);
	sw = xfer(0x80520000, d, 11, 4, r, &n);
	if (sw != 0x9000)
		return sw;
	/* TAC: newBal seq amount 02 termID date time */
	be32(d, old + amount);
	d[4] = (uint8_t)(seq >> 8);
	d[5] = (uint8_t)seq;
	be32(d + 6, amount);
	d[10] = 0x02;
	memcpy(d + 11, term_id, 6);
	memcpy(d + 17, date, 4);
	memcpy(d + 21, tim, 3);
	pmac(ktac, d, 24, tac);
	CHECK(n == 4 && memcmp(tac, r, 4) == 0, "load TAC from the card verifies");
	if (out_tac != NULL)
		memcpy(out_tac, r, 4);
	if (seq_out != NULL)
		*seq_out = seq;
	return sw;
}

static uint16_t
purchase(uint32_t amount, bool bad_mac1, uint8_t out_mac2[4],
    uint8_t out_tac[4], uint16_t *seq_out)
{
	uint8_t d[24], r[32], sk[16], in[8], m[4], tac[4], ts[4];
	size_t n = 0;
	uint16_t seq, sw;

	d[0] = 1;
	be32(d + 1, amount);
	memcpy(d + 5, term_id, 6);
	sw = xfer(0x80500102, d, 11, 0x0F, r, &n);
	if (sw != 0x9000)
		return sw;
	CHECK(n == 15, "INITIALIZE FOR PURCHASE answers 15 bytes");
	seq = (uint16_t)(r[4] << 8 | r[5]);
	CHECK(r[10] == (use_sm4 ? 0x04 : 0x00), "INITIALIZE FOR PURCHASE:"
	    " algorithm id %02X", r[10]);
	be32(ts, ++term_seq);
	memcpy(in, r + 11, 4);
	in[4] = r[4];
	in[5] = r[5];
	in[6] = ts[2];
	in[7] = ts[3];
	session(dpk, in, 8, sk);
	txn_mac(sk, amount, 0x06, m);
	if (bad_mac1)
		m[0] ^= 0x01;
	memcpy(d, ts, 4);
	memcpy(d + 4, date, 4);
	memcpy(d + 8, tim, 3);
	memcpy(d + 11, m, 4);
	sw = xfer(0x80540100, d, 15, 8, r, &n);
	if (sw != 0x9000)
		return sw;
	CHECK(n == 8, "DEBIT answers TAC || MAC2");
	be32(d, amount);
	pmac(sk, d, 4, m);
	CHECK(memcmp(m, r + 4, 4) == 0, "purchase MAC2 from the card verifies");
	be32(d, amount);
	d[4] = 0x06;
	memcpy(d + 5, term_id, 6);
	memcpy(d + 11, ts, 4);
	memcpy(d + 15, date, 4);
	memcpy(d + 19, tim, 3);
	pmac(ktac, d, 22, tac);
	CHECK(memcmp(tac, r, 4) == 0, "purchase TAC from the card verifies");
	if (out_mac2 != NULL)
		memcpy(out_mac2, r + 4, 4);
	if (out_tac != NULL)
		memcpy(out_tac, r, 4);
	if (seq_out != NULL)
		*seq_out = seq;
	return sw;
}

/* GET TRANSACTION PROVE: N+1 or N (pboc-purse.md U1) */
static uint16_t
prove(uint8_t type, uint16_t seq, uint8_t out[8])
{
	uint8_t d[2], r[16];
	size_t n = 0;
	uint16_t sw = 0;
	int k;

	for (k = 1; k >= 0; k--) {
		uint16_t s = (uint16_t)(seq + k);

		d[0] = (uint8_t)(s >> 8);
		d[1] = (uint8_t)s;
		sw = xfer(0x805A0000 | type, d, 2, 8, r, &n);
		if (sw == 0x9000 && n == 8) {
			memcpy(out, r, 8);
			return sw;
		}
	}
	return sw;
}

static void
hexkey(const char *s, uint8_t k[16])
{
	unsigned v;

	if (strlen(s) != 32)
		die("keys are 32 hex digits");
	for (int i = 0; i < 16; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			die("bad key");
		k[i] = (uint8_t)v;
	}
}

/* pboc-purse.md V2: the terminal's own DES code against the spec */
static void
self_test(void)
{
	static const uint8_t k[16] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	    0x88, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 };
	static const uint8_t in[8] = { 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1 };
	static const uint8_t d[18] = { 0, 0, 0x10, 0, 0x06, 0x00, 0x11, 0x22, 0x33,
	    0x44, 0x55, 0x20, 0x12, 0x02, 0x29, 0x13, 0x51, 0x00 };
	static const uint8_t want[4] = { 0xF1, 0x5C, 0xAB, 0x75 };
	uint8_t sk[8], m[4];

	tdes(k, in, sk);
	mac(sk, d, sizeof(d), m);
	if (memcmp(m, want, 4) != 0)
		die("self-test: the DES MAC does not reproduce vector V2");
}

/* GB/T 32907 A.1, and docs/purse.md S4.1/S4.2 (V2 with an SM4 DPK): the
 * terminal's own SM4 code */
static void
self_test_sm4(void)
{
	static const uint8_t kp[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD,
	    0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10 };
	static const uint8_t ct[16] = { 0x68, 0x1E, 0xDF, 0x34, 0xD2, 0x06, 0x96,
	    0x5E, 0x86, 0xB3, 0xE9, 0x4F, 0x53, 0x6E, 0x42, 0x46 };
	static const uint8_t k[16] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	    0x88, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 };
	static const uint8_t in[8] = { 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1 };
	static const uint8_t d[18] = { 0, 0, 0x10, 0, 0x06, 0x00, 0x11, 0x22, 0x33,
	    0x44, 0x55, 0x20, 0x12, 0x02, 0x29, 0x13, 0x51, 0x00 };
	static const uint8_t want[4] = { 0x94, 0x54, 0xC5, 0x78 };
	uint8_t out[16], sk[16], m[4];
	bool was = use_sm4;

	sm4(kp, kp, out);
	if (memcmp(out, ct, 16) != 0)
		die("self-test: SM4 does not give GB/T 32907 A.1");
	use_sm4 = true;
	session(k, in, 8, sk);
	pmac(sk, d, sizeof(d), m);
	use_sm4 = was;
	if (memcmp(m, want, 4) != 0)
		die("self-test: the SM4 MAC does not reproduce docs/purse.md S4.2");
}

int
main(int argc, char **argv)
{
	uint8_t mk[3][16], r[64], tac[4], mac2[4], pr[8], d[16];
	size_t n = 0;
	uint32_t b0, b1, b2;
	uint16_t sw, lseq = 0, pseq = 0;
	snap s0, s1;
	static const uint8_t adf[2] = { 0x10, 0x01 };
	int i;

	if (argc != 6 && !(argc == 7 && strcmp(argv[6], "sm4") == 0))
		die("usage: pboc_terminal READER DLK DPK DTK PIN [sm4]");
	for (i = 0; i < 3; i++)
		hexkey(argv[2 + i], mk[i]);
	pin = argv[5];
	use_sm4 = argc == 7;
	self_test();
	self_test_sm4();
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
	    SCARD_S_SUCCESS)
		die("no PC/SC");
	if (SCardConnect(ctx, argv[1], SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 |
	    SCARD_PROTOCOL_T1, &card, &proto) != SCARD_S_SUCCESS)
		die("cannot connect to the reader");

	/* selection and files */
	sw = xfer(0x00A40400, (const uint8_t *)"1PAY.SYS.DDF01", 14, 0, r, &n);
	CHECK(sw == 0x9000 || sw == 0x6A82, "SELECT PSE: %04X", sw);
	sw = xfer(0x00A40000, adf, 2, 0, r, &n);
	CHECK(sw == 0x9000, "SELECT ADF 1001: %04X", sw);
	sw = xfer(0x00B09500, NULL, 0, 0x1E, r, &n);
	CHECK(sw == 0x9000 && n == 30, "READ BINARY EF 0015: %04X, %zu bytes", sw, n);
	if (sw != 0x9000 || n != 30)
		return 1;
	memcpy(serial, r + 10, 10);
	diversify(mk[0], serial, dlk);
	diversify(mk[1], serial, dpk);
	diversify(mk[2], serial, dtk);
	if (use_sm4)
		memcpy(ktac, dtk, 16);	/* SM4: the DTK itself */
	else
		for (i = 0; i < 8; i++)
			ktac[i] = dtk[i] ^ dtk[8 + i];

	/* load, purchase, balance, records, prove */
	sw = balance(&b0);
	CHECK(sw == 0x9000, "GET BALANCE: %u fen", b0);
	sw = load(10000, false, tac, &lseq);
	CHECK(sw == 0x9000, "load 100.00: %04X", sw);
	sw = balance(&b1);
	CHECK(sw == 0x9000 && b1 == b0 + 10000, "balance after load: %u fen", b1);
	{
		uint8_t out[8];

		/* docs/purse.md U2: a load's proof is the host MAC2 and the TAC */
		sw = prove(0x02, lseq, out);
		CHECK(sw == 0x9000 && memcmp(out, last_load_mac2, 4) == 0 &&
		    memcmp(out + 4, tac, 4) == 0,
		    "GET TRANSACTION PROVE load: MAC2 and TAC match: %04X", sw);
	}
	sw = purchase(1230, false, mac2, pr, &pseq);
	CHECK(sw == 0x9000, "purchase 12.30: %04X", sw);
	memcpy(pr + 4, pr, 4);
	sw = balance(&b2);
	CHECK(sw == 0x9000 && b2 == b1 - 1230, "balance after purchase: %u fen",
	    b2);
	(void)verify_pin(pin);
	sw = xfer(0x00B201C4, NULL, 0, 0x17, r, &n);
	CHECK(sw == 0x9000 && n == 23 && get32(r + 5) == 1230 && r[9] == 0x06 &&
	    memcmp(r + 10, term_id, 6) == 0 && memcmp(r + 16, date, 4) == 0 &&
	    memcmp(r + 20, tim, 3) == 0, "record 1 is the purchase: %04X", sw);
	CHECK(n == 23 && (r[0] << 8 | r[1]) == pseq + 1,
	    "record 1 seq %u (offline seq %u + 1)", r[0] << 8 | r[1], pseq);
	sw = xfer(0x00B202C4, NULL, 0, 0x17, r, &n);
	CHECK(sw == 0x9000 && n == 23 && get32(r + 5) == 10000 && r[9] == 0x02 &&
	    (r[0] << 8 | r[1]) == lseq + 1, "record 2 is the load: %04X", sw);
	{
		uint8_t out[8];

		sw = prove(0x06, pseq, out);
		CHECK(sw == 0x9000 && memcmp(out, mac2, 4) == 0 &&
		    memcmp(out + 4, pr + 4, 4) == 0,
		    "GET TRANSACTION PROVE purchase: MAC2 and TAC match: %04X", sw);
		sw = prove(0x06, (uint16_t)(pseq + 5), out);
		CHECK(sw == 0x9406, "PROVE of a purchase that never was: %04X", sw);
	}

	/* errors: each with a status word and no change */
	take(&s0, true);
	sw = purchase(100, true, NULL, NULL, NULL);
	take(&s1, true);
	CHECK(sw == 0x9302 && same(&s0, &s1), "purchase with a bad MAC1: %04X, "
	    "nothing changed", sw);
	sw = load(100, true, NULL, NULL);
	take(&s1, true);
	CHECK(sw == 0x9302 && same(&s0, &s1), "load with a bad MAC2: %04X, "
	    "nothing changed", sw);
	sw = purchase(s0.bal + 1, false, NULL, NULL, NULL);
	take(&s1, true);
	CHECK(sw == 0x9401 && same(&s0, &s1), "purchase above the balance: %04X, "
	    "nothing changed", sw);
	d[0] = 0x07;
	be32(d + 1, 100);
	memcpy(d + 5, term_id, 6);
	sw = xfer(0x80500102, d, 11, 0x0F, r, &n);
	take(&s1, true);
	CHECK(sw == 0x9403 && same(&s0, &s1), "unknown key index 07: %04X, "
	    "nothing changed", sw);
	memset(d, 0x11, sizeof(d));
	(void)xfer(0x805C0002, NULL, 0, 4, r, &n);	/* no INIT before */
	sw = xfer(0x80540100, d, 15, 8, r, &n);
	take(&s1, true);
	CHECK(sw == 0x6901 && same(&s0, &s1), "DEBIT without INIT: %04X, "
	    "nothing changed", sw);
	(void)xfer(0x805C0002, NULL, 0, 4, r, &n);
	sw = xfer(0x80520000, d, 11, 4, r, &n);
	take(&s1, true);
	CHECK(sw == 0x6901 && same(&s0, &s1), "CREDIT without INIT: %04X, "
	    "nothing changed", sw);
	sw = purchase(0, false, NULL, NULL, NULL);
	take(&s1, true);
	CHECK(sw != 0x9000 && same(&s0, &s1), "purchase of 0: %04X, nothing "
	    "changed", sw);
	sw = load(0, false, NULL, NULL);
	take(&s1, true);
	CHECK(sw != 0x9000 && same(&s0, &s1), "load of 0: %04X, nothing changed",
	    sw);
	sw = load(0x7FFFFFFFu - s0.bal + 1, false, NULL, NULL);
	take(&s1, true);
	CHECK(sw != 0x9000 && same(&s0, &s1), "load above the ceiling: %04X, "
	    "nothing changed", sw);
	sw = load(0xFFFFFFFFu, false, NULL, NULL);
	take(&s1, true);
	CHECK(sw != 0x9000 && same(&s0, &s1), "load that overflows: %04X, "
	    "nothing changed", sw);

	/* the other status words of section 6, each changing nothing */
	{
		static const uint8_t bad_fid[2] = { 0x3F, 0x55 };
		/* the card-information applet (common/wk_card_id.h, not included:
		 * this terminal shares nothing with the project's code) */
		static const uint8_t info_aid[7] = { 0xF0, 0x57, 0x4B, 0x49, 0x4E,
		    0x46, 0x4F };
		static const struct {
			const char *what;
			uint32_t hdr;
			int lc, le;
			uint16_t want;
		} more[] = {
			{ "READ RECORD past the last record", 0x00B263C4, 0, 0x17, 0x6A83 },
			{ "INITIALIZE with P2 03", 0x80500103, 11, 0x0F, 0x6A86 },
			{ "INITIALIZE with a short Lc", 0x80500102, 10, 0x0F, 0x6700 },
			{ "an unknown INS", 0x80CE0000, 0, 0, 0x6D00 },
			{ "an unknown CLA", 0x70500102, 11, 0x0F, 0x6E00 },
			{ "ED GET BALANCE without the PIN", 0x805C0001, 0, 4, 0x6982 },
			{ "READ RECORD without the PIN", 0x00B201C4, 0, 0x17, 0x6982 },
			{ "INITIALIZE FOR LOAD without the PIN", 0x80500002, 11, 0x10, 0x6985 },
			{ "SELECT of a missing file", 0x00A40000, 2, 0, 0x6A82 },
		};

		d[0] = 1;
		be32(d + 1, 100);
		memcpy(d + 5, term_id, 6);
		for (size_t k = 0; k < sizeof(more) / sizeof(more[0]); k++) {
			const uint8_t *data = more[k].hdr == 0x00A40000 ? bad_fid : d;

			take(&s0, true);
			if (more[k].want == 0x6A83)
				(void)verify_pin(pin);
			/* selecting another application drops the PIN state */
			(void)xfer(0x00A40400, info_aid, sizeof(info_aid), 0, r, &n);
			(void)xfer(0x00A40000, adf, 2, 0, r, &n);
			if (more[k].want == 0x6A83)
				(void)verify_pin(pin);
			sw = xfer(more[k].hdr, data, (size_t)more[k].lc, more[k].le, r,
			    &n);
			if (more[k].hdr == 0x00A40000)
				(void)xfer(0x00A40000, adf, 2, 0, r, &n);
			take(&s1, true);
			CHECK(sw == more[k].want && same(&s0, &s1), "%s: %04X "
			    "(want %04X), nothing changed", more[k].what, sw,
			    more[k].want);
		}
	}

	/* the PIN last: wrong PIN counts down, then blocks */
	{
		char wrong[16];
		int tries = -1;

		snprintf(wrong, sizeof(wrong), "%s", pin);
		wrong[0] = wrong[0] == '9' ? '8' : '9';
		for (i = 0; i < 16; i++) {
			sw = verify_pin(wrong);
			if ((sw & 0xFFF0) != 0x63C0)
				break;
			CHECK(tries < 0 || (sw & 0x0F) == tries - 1,
			    "wrong PIN: %04X", sw);
			tries = sw & 0x0F;
			if (tries == 0)
				break;
		}
		CHECK(tries == 0, "the try counter reached 63C0");
		sw = verify_pin(pin);
		CHECK(sw == 0x6983, "the right PIN once blocked: %04X", sw);
		take(&s1, false);
		CHECK(s1.bal == s0.bal && s1.off_seq == s0.off_seq,
		    "a blocked PIN changed neither balance nor seq");
		sw = load(100, false, NULL, NULL);
		CHECK(sw != 0x9000, "no load with a blocked PIN: %04X", sw);
		take(&s1, false);
		CHECK(s1.bal == s0.bal && s1.off_seq == s0.off_seq,
		    "and nothing changed");
	}
	printf("pboc_terminal: %d failure(s)\n", failures);
	SCardDisconnect(card, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	return failures == 0 ? 0 : 1;
}
