/*
 * a PKCS#11 client that knows nothing of walletkey but its documented
 * vendor codes (docs/pkcs11.md, "SM2 and SM3"): it dlopens the module and
 * uses standard calls only, on the SM2 encryption pair of a GM container.
 *
 * usage (inside the sandbox, driven by p11_gm_crypt.sh):
 *   p11_gm_crypt MODULE PIV-PIN GM-PIN CONTAINER run CT-IN PLAIN CT-OUT [CERT]
 *     decrypts CT-IN (made by openssl pkeyutl -encrypt) and checks it is
 *     PLAIN; encrypts PLAIN into CT-OUT for the card to decrypt; the error
 *     cases (no login, a signing key, the wrong mechanism, tampered
 *     ciphertexts, the two-call sizes); the certificate CERT (DER) when given
 *   p11_gm_crypt MODULE PIV-PIN GM-PIN CONTAINER wrongpin
 *     one context login with GM-PIN, which must be refused
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

/* walletkey's vendor-defined codes (docs/pkcs11.md) */
#define CKK_WK_SM2 (CKK_VENDOR_DEFINED | 0x574B0001UL)
#define CKM_WK_SM2 (CKM_VENDOR_DEFINED | 0x574B0001UL)
#define CKM_WK_SM2_ENC (CKM_VENDOR_DEFINED | 0x574B0004UL)

static CK_FUNCTION_LIST *f;
static int failures;

#define EXPECT(what, got, want) expect(__LINE__, what, (got), (want))

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
	if (ok)
		return;
	fprintf(stderr, "line %d: %s\n", line, what);
	failures++;
}

#define CHECK(what, cond) check(__LINE__, what, (cond))

static unsigned char *
read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void
write_file(const char *path, const unsigned char *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	if (fp == NULL || fwrite(p, 1, n, fp) != n || fclose(fp) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
}

/* the one object of class cls with CKA_ID id, or 0 */
static CK_OBJECT_HANDLE
find(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *id)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)id, strlen(id) },
	};
	CK_OBJECT_HANDLE h[2] = { 0, 0 };
	CK_ULONG n = 0;

	if (f->C_FindObjectsInit(s, t, 2) != CKR_OK)
		return 0;
	(void)f->C_FindObjects(s, h, 2, &n);
	(void)f->C_FindObjectsFinal(s);
	return n == 1 ? h[0] : 0;
}

static CK_BBOOL
attr_bool(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	return f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK ? v : 0xFF;
}

static CK_ULONG
attr_ulong(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG v = 0;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	return f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK ? v : (CK_ULONG)-1;
}

/* decrypt in with key after a context login with pin: the plaintext into
 * out (*n capacity in, length out), the CK_RV of C_Decrypt */
static CK_RV
decrypt(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const char *pin,
    unsigned char *in, size_t len, unsigned char *out, CK_ULONG *n)
{
	CK_MECHANISM m = { CKM_WK_SM2_ENC, NULL, 0 };
	CK_RV rv;

	if ((rv = f->C_DecryptInit(s, &m, key)) != CKR_OK)
		return rv;
	rv = f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)pin,
	    strlen(pin));
	if (rv != CKR_OK)
		return rv;
	return f->C_Decrypt(s, in, len, out, n);
}

static void
run(CK_SESSION_HANDLE s, const char *gm_pin, const char *cont,
    const char *ct_in, const char *plain_path, const char *ct_out,
    const char *cert_path)
{
	char id_enc[80], id_sign[80];
	CK_OBJECT_HANDLE priv, pub, sign_priv, cert;
	CK_MECHANISM m = { CKM_WK_SM2_ENC, NULL, 0 };
	CK_MECHANISM rsa = { CKM_RSA_PKCS, NULL, 0 };
	CK_MECHANISM sm2 = { CKM_WK_SM2, NULL, 0 };
	CK_MECHANISM_INFO mi;
	CK_SLOT_ID slot;
	CK_SESSION_INFO si;
	unsigned char *ct, *plain, out[9000], *ct2, *bad;
	size_t ct_len, plain_len;
	CK_ULONG n, bound;
	CK_RV rv;

	snprintf(id_enc, sizeof(id_enc), "gme:%s", cont);
	snprintf(id_sign, sizeof(id_sign), "gm:%s", cont);
	ct = read_file(ct_in, &ct_len);
	plain = read_file(plain_path, &plain_len);

	EXPECT("C_GetSessionInfo", f->C_GetSessionInfo(s, &si), CKR_OK);
	slot = si.slotID;
	EXPECT("C_GetMechanismInfo", f->C_GetMechanismInfo(slot,
	    CKM_WK_SM2_ENC, &mi), CKR_OK);
	CHECK("CKF_ENCRYPT | CKF_DECRYPT", (mi.flags & (CKF_ENCRYPT |
	    CKF_DECRYPT)) == (CKF_ENCRYPT | CKF_DECRYPT));
	CHECK("256-bit keys", mi.ulMinKeySize == 256 && mi.ulMaxKeySize == 256);

	priv = find(s, CKO_PRIVATE_KEY, id_enc);
	pub = find(s, CKO_PUBLIC_KEY, id_enc);
	sign_priv = find(s, CKO_PRIVATE_KEY, id_sign);
	CHECK("the encryption private key", priv != 0);
	CHECK("the encryption public key", pub != 0);
	CHECK("the signing private key", sign_priv != 0);
	if (priv == 0 || pub == 0 || sign_priv == 0)
		return;
	CHECK("CKA_KEY_TYPE", attr_ulong(s, priv, CKA_KEY_TYPE) == CKK_WK_SM2);
	CHECK("CKA_DECRYPT on the private key", attr_bool(s, priv, CKA_DECRYPT) ==
	    CK_TRUE);
	CHECK("no CKA_SIGN on the encryption key", attr_bool(s, priv, CKA_SIGN) ==
	    CK_FALSE);
	CHECK("CKA_ENCRYPT on the public key", attr_bool(s, pub, CKA_ENCRYPT) ==
	    CK_TRUE);
	CHECK("no CKA_VERIFY on the public key", attr_bool(s, pub, CKA_VERIFY) ==
	    CK_FALSE);
	CHECK("CKA_ALWAYS_AUTHENTICATE", attr_bool(s, priv,
	    CKA_ALWAYS_AUTHENTICATE) == CK_TRUE);
	CHECK("CKA_SENSITIVE", attr_bool(s, priv, CKA_SENSITIVE) == CK_TRUE);
	CHECK("no CKA_DECRYPT on the signing key", attr_bool(s, sign_priv,
	    CKA_DECRYPT) == CK_FALSE);

	cert = find(s, CKO_CERTIFICATE, id_enc);
	if (cert_path != NULL) {
		unsigned char *der, val[4096];
		size_t der_len;
		CK_ATTRIBUTE a = { CKA_VALUE, val, sizeof(val) };

		der = read_file(cert_path, &der_len);
		CHECK("the encryption certificate", cert != 0);
		if (cert != 0) {
			EXPECT("certificate CKA_VALUE",
			    f->C_GetAttributeValue(s, cert, &a, 1), CKR_OK);
			CHECK("the certificate's bytes", a.ulValueLen == der_len &&
			    memcmp(val, der, der_len) == 0);
		}
		free(der);
	} else
		CHECK("no encryption certificate", cert == 0);

	/* a signing key does not decrypt; the wrong mechanism or usage */
	EXPECT("C_DecryptInit with the signing key",
	    f->C_DecryptInit(s, &m, sign_priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
	EXPECT("C_DecryptInit CKM_RSA_PKCS", f->C_DecryptInit(s, &rsa, priv),
	    CKR_KEY_TYPE_INCONSISTENT);
	EXPECT("C_SignInit with the encryption key", f->C_SignInit(s, &sm2, priv),
	    CKR_KEY_FUNCTION_NOT_PERMITTED);
	EXPECT("C_VerifyInit with the encryption key's private object",
	    f->C_VerifyInit(s, &sm2, priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
	EXPECT("C_EncryptInit to the signing key's private object",
	    f->C_EncryptInit(s, &m, sign_priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
	{
		CK_OBJECT_HANDLE sign_pub = find(s, CKO_PUBLIC_KEY, id_sign);

		EXPECT("C_EncryptInit to the signing public key",
		    f->C_EncryptInit(s, &m, sign_pub),
		    CKR_KEY_FUNCTION_NOT_PERMITTED);
	}
	{
		CK_BYTE p[4] = { 1, 2, 3, 4 };
		CK_MECHANISM mp = { CKM_WK_SM2_ENC, p, sizeof(p) };

		EXPECT("a parameter", f->C_EncryptInit(s, &mp, pub),
		    CKR_MECHANISM_PARAM_INVALID);
	}

	/* no context login: the size only; decryption refused */
	EXPECT("C_DecryptInit", f->C_DecryptInit(s, &m, priv), CKR_OK);
	n = 0;
	EXPECT("size query", f->C_Decrypt(s, ct, ct_len, NULL, &n), CKR_OK);
	CHECK("the size is the plaintext's", n == plain_len);
	n = sizeof(out);
	memset(out, 0xAA, sizeof(out));
	EXPECT("no login", f->C_Decrypt(s, ct, ct_len, out, &n),
	    CKR_USER_NOT_LOGGED_IN);
	CHECK("no plaintext without a login", out[0] == 0xAA);
	n = sizeof(out);
	EXPECT("the operation ended", f->C_Decrypt(s, ct, ct_len, out, &n),
	    CKR_OPERATION_NOT_INITIALIZED);

	/* OpenSSL's ciphertext through the card, the two-call sizes */
	EXPECT("C_DecryptInit", f->C_DecryptInit(s, &m, priv), CKR_OK);
	EXPECT("context login", f->C_Login(s, CKU_CONTEXT_SPECIFIC,
	    (CK_UTF8CHAR *)gm_pin, strlen(gm_pin)), CKR_OK);
	n = 0;
	EXPECT("size query", f->C_Decrypt(s, ct, ct_len, NULL, &n), CKR_OK);
	CHECK("size", n == plain_len);
	n = plain_len - 1;
	EXPECT("short buffer", f->C_Decrypt(s, ct, ct_len, out, &n),
	    CKR_BUFFER_TOO_SMALL);
	CHECK("size after a short buffer", n == plain_len);
	n = sizeof(out);
	EXPECT("C_Decrypt", f->C_Decrypt(s, ct, ct_len, out, &n), CKR_OK);
	CHECK("the plaintext", n == plain_len && memcmp(out, plain, n) == 0);
	n = sizeof(out);
	EXPECT("one decryption per init", f->C_Decrypt(s, ct, ct_len, out, &n),
	    CKR_OPERATION_NOT_INITIALIZED);

	/* tampered ciphertexts: C2 (the hash fails), C1 (off the curve), C3,
	 * not DER at all: one error for all, and no plaintext */
	bad = malloc(ct_len);
	for (int k = 0; k < 4; k++) {
		size_t at = k == 0 ? ct_len - 1 : k == 1 ? 6 : ct_len -
		    plain_len - 5;

		memcpy(bad, ct, ct_len);
		if (k == 3)
			bad[0] = 0x31;
		else
			bad[at] ^= 0x01;
		memset(out, 0xAA, sizeof(out));
		n = sizeof(out);
		rv = decrypt(s, priv, gm_pin, bad, ct_len, out, &n);
		EXPECT("a tampered ciphertext", rv, CKR_ENCRYPTED_DATA_INVALID);
		CHECK("no plaintext of a tampered ciphertext", out[0] == 0xAA &&
		    memcmp(out, out + 1, plain_len) == 0);
	}
	free(bad);

	/* encryption on the host with the public key, for the card */
	EXPECT("C_EncryptInit", f->C_EncryptInit(s, &m, pub), CKR_OK);
	bound = 0;
	EXPECT("size query", f->C_Encrypt(s, plain, plain_len, NULL, &bound),
	    CKR_OK);
	CHECK("the bound holds C1, C3, C2", bound >= plain_len + 96);
	n = 10;
	EXPECT("short buffer", f->C_Encrypt(s, plain, plain_len, out, &n),
	    CKR_BUFFER_TOO_SMALL);
	CHECK("size after a short buffer", n == bound);
	n = sizeof(out);
	EXPECT("C_Encrypt", f->C_Encrypt(s, plain, plain_len, out, &n), CKR_OK);
	CHECK("the ciphertext's length", n <= bound && n > plain_len + 96);
	write_file(ct_out, out, n);
	ct2 = malloc(n);
	memcpy(ct2, out, n);
	bound = n;
	n = sizeof(out);
	EXPECT("the module's own ciphertext", decrypt(s, priv, gm_pin, ct2,
	    bound, out, &n), CKR_OK);
	CHECK("round trip", n == plain_len && memcmp(out, plain, n) == 0);
	free(ct2);
	EXPECT("C_EncryptInit", f->C_EncryptInit(s, &m, pub), CKR_OK);
	n = sizeof(out);
	EXPECT("no empty plaintext", f->C_Encrypt(s, plain, 0, out, &n),
	    CKR_DATA_LEN_RANGE);
	free(ct);
	free(plain);
}

int
main(int argc, char **argv)
{
	CK_C_GetFunctionList get;
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8;
	CK_SESSION_HANDLE s = 0, anon = 0;
	void *lib;
	char id[80];

	if (argc < 6) {
		fprintf(stderr, "usage: %s MODULE PIV-PIN GM-PIN CONTAINER "
		    "run CT-IN PLAIN CT-OUT [CERT] | wrongpin\n", argv[0]);
		return 2;
	}
	if ((lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	*(void **)&get = dlsym(lib, "C_GetFunctionList");
	if (get == NULL || get(&f) != CKR_OK || f->C_Initialize(NULL) != CKR_OK ||
	    f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || n < 1) {
		fprintf(stderr, "no token\n");
		return 2;
	}
	snprintf(id, sizeof(id), "gme:%s", argv[4]);
	/* before a login the private key is not there for anybody */
	EXPECT("C_OpenSession", f->C_OpenSession(slots[0], CKF_SERIAL_SESSION,
	    NULL, NULL, &anon), CKR_OK);
	CHECK("the public key before a login", find(anon, CKO_PUBLIC_KEY, id) != 0);
	CHECK("no private key before a login", find(anon, CKO_PRIVATE_KEY, id) == 0);
	EXPECT("C_OpenSession", f->C_OpenSession(slots[0], CKF_SERIAL_SESSION,
	    NULL, NULL, &s), CKR_OK);
	EXPECT("C_Login", f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)argv[2],
	    strlen(argv[2])), CKR_OK);
	if (strcmp(argv[5], "wrongpin") == 0) {
		CK_MECHANISM m = { CKM_WK_SM2_ENC, NULL, 0 };
		CK_OBJECT_HANDLE priv = find(s, CKO_PRIVATE_KEY, id);
		unsigned char ct[200] = { 0 }, out[16];
		CK_ULONG on = sizeof(out);

		CHECK("the encryption private key", priv != 0);
		EXPECT("C_DecryptInit", f->C_DecryptInit(s, &m, priv), CKR_OK);
		EXPECT("a wrong GM PIN", f->C_Login(s, CKU_CONTEXT_SPECIFIC,
		    (CK_UTF8CHAR *)argv[3], strlen(argv[3])), CKR_PIN_INCORRECT);
		EXPECT("the failed login ended the operation",
		    f->C_Decrypt(s, ct, sizeof(ct), out, &on),
		    CKR_OPERATION_NOT_INITIALIZED);
	} else if (strcmp(argv[5], "run") == 0 && argc >= 9)
		run(s, argv[3], argv[4], argv[6], argv[7], argv[8],
		    argc > 9 ? argv[9] : NULL);
	else {
		fprintf(stderr, "unknown mode %s\n", argv[5]);
		failures++;
	}
	(void)f->C_Logout(s);
	(void)f->C_CloseAllSessions(slots[0]);
	(void)f->C_Finalize(NULL);
	if (failures > 0) {
		fprintf(stderr, "p11_gm_crypt: %d failures\n", failures);
		return 1;
	}
	printf("p11_gm_crypt %s: OK\n", argv[5]);
	return 0;
}
