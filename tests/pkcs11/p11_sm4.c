/*
 * SM4 session keys through walletkey-pkcs11.so, by a client that knows
 * only the module's documented vendor codes (docs/pkcs11.md, "SM4") and
 * makes standard calls: the GM/T 0002 example, then ECB, CBC, CBC_PAD and
 * the CBC-MAC of MESSAGE with a fixed key and IV, one-part and multi-part,
 * written to OUTDIR for p11_sm4.sh to compare with `openssl enc`; a
 * generated key, read back, and its ECB ciphertext likewise; the refusals.
 *
 * usage (inside the sandbox): p11_sm4 MODULE PIV-PIN MESSAGE OUTDIR
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#define CKK_WK_SM4 (CKK_VENDOR_DEFINED | 0x574B0002UL)
#define CKM_WK_SM4_KEY_GEN (CKM_VENDOR_DEFINED | 0x574B0010UL)
#define CKM_WK_SM4_ECB (CKM_VENDOR_DEFINED | 0x574B0011UL)
#define CKM_WK_SM4_CBC (CKM_VENDOR_DEFINED | 0x574B0012UL)
#define CKM_WK_SM4_CBC_PAD (CKM_VENDOR_DEFINED | 0x574B0013UL)
#define CKM_WK_SM4_MAC (CKM_VENDOR_DEFINED | 0x574B0014UL)

static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE s;
static CK_SLOT_ID slot;
static int failures;
static const char *outdir;

static void
expect(int line, const char *what, CK_RV got, CK_RV want)
{
	if (got == want)
		return;
	fprintf(stderr, "line %d: %s: 0x%lx, want 0x%lx\n", line, what,
	    (unsigned long)got, (unsigned long)want);
	failures++;
}

static void
check(int line, const char *what, int ok)
{
	if (!ok) {
		fprintf(stderr, "line %d: %s\n", line, what);
		failures++;
	}
}

#define EXPECT(what, got, want) expect(__LINE__, what, (got), (want))
#define CHECK(what, cond) check(__LINE__, what, (cond))

static void
write_out(const char *name, const unsigned char *p, size_t n)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	if ((fp = fopen(path, "wb")) == NULL || fwrite(p, 1, n, fp) != n ||
	    fclose(fp) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
}

static CK_OBJECT_HANDLE
make_key(CK_KEY_TYPE kt, const unsigned char *value, size_t len, CK_RV want)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE, (void *)value, len },
		{ CKA_ENCRYPT, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &yes, sizeof(yes) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
	};
	CK_OBJECT_HANDLE h = 0;

	EXPECT("C_CreateObject", f->C_CreateObject(s, t, 7, &h), want);
	return h;
}

/* one-part encryption with the two-call size convention */
static CK_RV
encrypt(CK_MECHANISM *m, CK_OBJECT_HANDLE k, const unsigned char *in,
    size_t len, unsigned char *out, CK_ULONG *n)
{
	CK_ULONG need = 0;
	CK_RV rv;

	if ((rv = f->C_EncryptInit(s, m, k)) != CKR_OK)
		return rv;
	if ((rv = f->C_Encrypt(s, (CK_BYTE *)in, len, NULL, &need)) != CKR_OK)
		return rv;
	CHECK("the size query answers enough", need <= *n);
	return f->C_Encrypt(s, (CK_BYTE *)in, len, out, n);
}

static CK_RV
decrypt(CK_MECHANISM *m, CK_OBJECT_HANDLE k, const unsigned char *in,
    size_t len, unsigned char *out, CK_ULONG *n)
{
	CK_RV rv;

	if ((rv = f->C_DecryptInit(s, m, k)) != CKR_OK)
		return rv;
	return f->C_Decrypt(s, (CK_BYTE *)in, len, out, n);
}

static void
run(const unsigned char *msg, size_t len)
{
	/* GM/T 0002-2012 appendix A, example 1 */
	static const unsigned char std_key[16] = { 0x01, 0x23, 0x45, 0x67, 0x89,
		0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
	static const unsigned char std_ct[16] = { 0x68, 0x1e, 0xdf, 0x34, 0xd2,
		0x06, 0x96, 0x5e, 0x86, 0xb3, 0xe9, 0x4f, 0x53, 0x6e, 0x42, 0x46 };
	unsigned char iv[16], out[8192], back[8192], mac[32], mac2[16];
	CK_MECHANISM ecb = { CKM_WK_SM4_ECB, NULL, 0 };
	CK_MECHANISM cbc = { CKM_WK_SM4_CBC, iv, sizeof(iv) };
	CK_MECHANISM cbcpad = { CKM_WK_SM4_CBC_PAD, iv, sizeof(iv) };
	CK_MECHANISM macm = { CKM_WK_SM4_MAC, NULL, 0 };
	CK_MECHANISM gen = { CKM_WK_SM4_KEY_GEN, NULL, 0 };
	CK_MECHANISM aes = { CKM_AES_ECB, NULL, 0 };
	CK_MECHANISM shortiv = { CKM_WK_SM4_CBC, iv, 8 };
	CK_MECHANISM_INFO mi;
	CK_OBJECT_HANDLE k, ak, gk = 0;
	CK_ULONG n, total, part;
	size_t whole = len - len % 16;

	for (int i = 0; i < 16; i++)
		iv[i] = (unsigned char)(0xA0 + i);
	EXPECT("C_GetMechanismInfo MAC", f->C_GetMechanismInfo(slot,
	    CKM_WK_SM4_MAC, &mi), CKR_OK);
	CHECK("MAC: sign and verify", (mi.flags & (CKF_SIGN | CKF_VERIFY)) ==
	    (CKF_SIGN | CKF_VERIFY));
	EXPECT("C_GetMechanismInfo CBC_PAD", f->C_GetMechanismInfo(slot,
	    CKM_WK_SM4_CBC_PAD, &mi), CKR_OK);
	CHECK("CBC_PAD: encrypt, decrypt, wrap", (mi.flags & (CKF_ENCRYPT |
	    CKF_DECRYPT | CKF_WRAP)) == (CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP));
	CHECK("SM4 keys are 16 bytes", mi.ulMinKeySize == 16 &&
	    mi.ulMaxKeySize == 16);

	k = make_key(CKK_WK_SM4, std_key, 16, CKR_OK);
	(void)make_key(CKK_WK_SM4, std_key, 15, CKR_ATTRIBUTE_VALUE_INVALID);
	/* the standard's example */
	n = sizeof(out);
	EXPECT("ECB", encrypt(&ecb, k, std_key, 16, out, &n), CKR_OK);
	CHECK("GM/T 0002 example 1", n == 16 && memcmp(out, std_ct, 16) == 0);
	write_out("std.bin", out, n);

	/* the message: ECB and CBC of its whole blocks, CBC_PAD of all */
	n = sizeof(out);
	EXPECT("ECB", encrypt(&ecb, k, msg, whole, out, &n), CKR_OK);
	write_out("ecb.bin", out, n);
	total = sizeof(back);
	EXPECT("ECB decrypt", decrypt(&ecb, k, out, n, back, &total), CKR_OK);
	CHECK("ECB round trip", total == whole && memcmp(back, msg, whole) == 0);
	n = sizeof(out);
	EXPECT("CBC", encrypt(&cbc, k, msg, whole, out, &n), CKR_OK);
	write_out("cbc.bin", out, n);
	n = sizeof(out);
	EXPECT("CBC_PAD", encrypt(&cbcpad, k, msg, len, out, &n), CKR_OK);
	CHECK("CBC_PAD length", n == (len / 16 + 1) * 16);
	write_out("cbcpad.bin", out, n);
	total = sizeof(back);
	EXPECT("CBC_PAD decrypt", decrypt(&cbcpad, k, out, n, back, &total),
	    CKR_OK);
	CHECK("CBC_PAD round trip", total == len && memcmp(back, msg, len) == 0);
	/* a changed last block: bad padding, no plaintext */
	out[n - 1] ^= 0x5A;
	total = sizeof(back);
	EXPECT("bad padding", decrypt(&cbcpad, k, out, n, back, &total),
	    CKR_ENCRYPTED_DATA_INVALID);
	/* multi-part CBC_PAD in pieces of 7 bytes: the same ciphertext */
	EXPECT("C_EncryptInit", f->C_EncryptInit(s, &cbcpad, k), CKR_OK);
	total = 0;
	for (size_t off = 0; off < len; off += 7) {
		size_t m = len - off < 7 ? len - off : 7;

		part = sizeof(out) - total;
		EXPECT("C_EncryptUpdate", f->C_EncryptUpdate(s,
		    (CK_BYTE *)msg + off, m, back + total, &part), CKR_OK);
		total += part;
	}
	part = sizeof(out) - total;
	EXPECT("C_EncryptFinal", f->C_EncryptFinal(s, back + total, &part),
	    CKR_OK);
	total += part;
	out[n - 1] ^= 0x5A;
	CHECK("multi-part CBC_PAD", total == n && memcmp(back, out, n) == 0);

	/* the MAC, one-part, then in pieces; verify; a changed MAC */
	EXPECT("C_SignInit", f->C_SignInit(s, &macm, k), CKR_OK);
	n = 0;
	EXPECT("MAC size", f->C_Sign(s, (CK_BYTE *)msg, len, NULL, &n), CKR_OK);
	CHECK("a 16-byte MAC", n == 16);
	n = 8;
	EXPECT("short buffer", f->C_Sign(s, (CK_BYTE *)msg, len, mac, &n),
	    CKR_BUFFER_TOO_SMALL);
	n = sizeof(mac);
	EXPECT("C_Sign", f->C_Sign(s, (CK_BYTE *)msg, len, mac, &n), CKR_OK);
	write_out("mac.bin", mac, n);
	EXPECT("C_SignInit", f->C_SignInit(s, &macm, k), CKR_OK);
	for (size_t off = 0; off < len; off += 5)
		EXPECT("C_SignUpdate", f->C_SignUpdate(s, (CK_BYTE *)msg + off,
		    len - off < 5 ? len - off : 5), CKR_OK);
	n = sizeof(mac2);
	EXPECT("C_SignFinal", f->C_SignFinal(s, mac2, &n), CKR_OK);
	CHECK("multi-part MAC", n == 16 && memcmp(mac, mac2, 16) == 0);
	EXPECT("C_VerifyInit", f->C_VerifyInit(s, &macm, k), CKR_OK);
	EXPECT("C_Verify", f->C_Verify(s, (CK_BYTE *)msg, len, mac, 16), CKR_OK);
	mac[3] ^= 1;
	EXPECT("C_VerifyInit", f->C_VerifyInit(s, &macm, k), CKR_OK);
	EXPECT("a changed MAC", f->C_Verify(s, (CK_BYTE *)msg, len, mac, 16),
	    CKR_SIGNATURE_INVALID);
	EXPECT("C_VerifyInit", f->C_VerifyInit(s, &macm, k), CKR_OK);
	EXPECT("a short MAC", f->C_Verify(s, (CK_BYTE *)msg, len, mac, 15),
	    CKR_SIGNATURE_LEN_RANGE);
	EXPECT("C_SignInit", f->C_SignInit(s, &macm, k), CKR_OK);
	n = sizeof(mac);
	EXPECT("no data, no MAC", f->C_Sign(s, (CK_BYTE *)msg, 0, mac, &n),
	    CKR_DATA_LEN_RANGE);

	/* refusals */
	n = sizeof(out);
	EXPECT("ECB of a partial block", encrypt(&ecb, k, msg, 15, out, &n),
	    CKR_DATA_LEN_RANGE);
	EXPECT("an 8-byte IV", f->C_EncryptInit(s, &shortiv, k),
	    CKR_MECHANISM_PARAM_INVALID);
	EXPECT("SM4 with an AES mechanism", f->C_EncryptInit(s, &aes, k),
	    CKR_KEY_TYPE_INCONSISTENT);
	ak = make_key(CKK_AES, std_key, 16, CKR_OK);
	EXPECT("an AES key with SM4", f->C_EncryptInit(s, &ecb, ak),
	    CKR_KEY_TYPE_INCONSISTENT);
	EXPECT("an AES key with the SM4 MAC", f->C_SignInit(s, &macm, ak),
	    CKR_KEY_TYPE_INCONSISTENT);

	/* a generated key, read back for OpenSSL */
	{
		CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
		CK_KEY_TYPE kt = CKK_WK_SM4;
		CK_BBOOL yes = CK_TRUE, no = CK_FALSE, local = CK_FALSE;
		CK_ULONG bad_len = 32, got_kt = 0;
		unsigned char value[32];
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_ENCRYPT, &yes, sizeof(yes) },
			{ CKA_SENSITIVE, &no, sizeof(no) },
			{ CKA_EXTRACTABLE, &yes, sizeof(yes) },
			{ CKA_VALUE_LEN, &bad_len, sizeof(bad_len) },
		};
		CK_ATTRIBUTE r[] = {
			{ CKA_VALUE, value, sizeof(value) },
			{ CKA_KEY_TYPE, &got_kt, sizeof(got_kt) },
			{ CKA_LOCAL, &local, sizeof(local) },
		};

		EXPECT("a 32-byte SM4 key", f->C_GenerateKey(s, &gen, t, 6, &gk),
		    CKR_ATTRIBUTE_VALUE_INVALID);
		EXPECT("C_GenerateKey", f->C_GenerateKey(s, &gen, t, 5, &gk),
		    CKR_OK);
		EXPECT("C_GetAttributeValue", f->C_GetAttributeValue(s, gk, r, 3),
		    CKR_OK);
		CHECK("16 bytes, CKK_WK_SM4, local", r[0].ulValueLen == 16 &&
		    got_kt == CKK_WK_SM4 && local == CK_TRUE);
		write_out("genkey.bin", value, 16);
		n = sizeof(out);
		EXPECT("ECB with the generated key", encrypt(&ecb, gk, msg,
		    whole, out, &n), CKR_OK);
		write_out("gen_ecb.bin", out, n);
	}
}

int
main(int argc, char **argv)
{
	CK_C_GetFunctionList get;
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8;
	unsigned char msg[4096];
	size_t len;
	FILE *fp;
	void *lib;

	if (argc != 5) {
		fprintf(stderr, "usage: %s MODULE PIV-PIN MESSAGE OUTDIR\n",
		    argv[0]);
		return 2;
	}
	outdir = argv[4];
	if ((fp = fopen(argv[3], "rb")) == NULL ||
	    (len = fread(msg, 1, sizeof(msg), fp)) < 17) {
		fprintf(stderr, "%s: a message of 17 bytes or more\n", argv[3]);
		return 2;
	}
	fclose(fp);
	if ((lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	*(void **)&get = dlsym(lib, "C_GetFunctionList");
	if (get == NULL || get(&f) != CKR_OK || f->C_Initialize(NULL) != CKR_OK ||
	    f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || n < 1 ||
	    f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &s) != CKR_OK) {
		fprintf(stderr, "no token\n");
		return 2;
	}
	slot = slots[0];
	EXPECT("C_Login", f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)argv[2],
	    strlen(argv[2])), CKR_OK);
	run(msg, len);
	(void)f->C_CloseAllSessions(slots[0]);
	(void)f->C_Finalize(NULL);
	if (failures > 0) {
		fprintf(stderr, "p11_sm4: %d failures\n", failures);
		return 1;
	}
	printf("p11_sm4: OK\n");
	return 0;
}
