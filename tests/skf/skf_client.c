/*
 * an SKF client that knows nothing of walletkey, as a bank's key software
 * is: it declares the GM/T 0016 types it uses itself, dlopen()s the library
 * named on the command line, resolves the standard SKF_* names and calls
 * them. It finds the first device, opens its first application, verifies
 * the user PIN, generates an SM2 signing key in a container, exports the
 * public key, hashes a message with the Z value (SKF_DigestInit with the
 * public key and the default id) and signs it, then writes the public key
 * (DER SubjectPublicKeyInfo) and the signature (DER) for
 * `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:...`.
 *
 * usage: skf_client LIBRARY PIN MESSAGE PUBKEY_OUT SIG_OUT
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GM/T 0016-2012 6.2 and 6.4, as the client's own header would have them */
typedef uint32_t ULONG;
typedef int32_t BOOL;
typedef uint8_t BYTE;
typedef char *LPSTR;
typedef void *HANDLE;

#pragma pack(push, 1)
typedef struct {
	ULONG BitLen;
	BYTE XCoordinate[64];
	BYTE YCoordinate[64];
} ECCPUBLICKEYBLOB;

typedef struct {
	BYTE r[64];
	BYTE s[64];
} ECCSIGNATUREBLOB;
#pragma pack(pop)

#define SAR_OK 0x00000000
#define USER_TYPE 1
#define SGD_SM2_1 0x00020100
#define SGD_SM3 0x00000001

typedef ULONG (*enum_dev_fn)(BOOL, LPSTR, ULONG *);
typedef ULONG (*connect_fn)(LPSTR, HANDLE *);
typedef ULONG (*enum_app_fn)(HANDLE, LPSTR, ULONG *);
typedef ULONG (*open_app_fn)(HANDLE, LPSTR, HANDLE *);
typedef ULONG (*verify_fn)(HANDLE, ULONG, LPSTR, ULONG *);
typedef ULONG (*cont_fn)(HANDLE, LPSTR, HANDLE *);
typedef ULONG (*gen_fn)(HANDLE, ULONG, ECCPUBLICKEYBLOB *);
typedef ULONG (*export_fn)(HANDLE, BOOL, BYTE *, ULONG *);
typedef ULONG (*digest_init_fn)(HANDLE, ULONG, ECCPUBLICKEYBLOB *, BYTE *,
    ULONG, HANDLE *);
typedef ULONG (*digest_fn)(HANDLE, BYTE *, ULONG, BYTE *, ULONG *);
typedef ULONG (*sign_fn)(HANDLE, BYTE *, ULONG, ECCSIGNATUREBLOB *);
typedef ULONG (*close_fn)(HANDLE);

static void *lib;

static void *
sym(const char *name)
{
	void *p = dlsym(lib, name);

	if (p == NULL) {
		fprintf(stderr, "skf_client: %s not exported\n", name);
		exit(1);
	}
	return p;
}

static void
check(const char *what, ULONG rv)
{
	if (rv != SAR_OK) {
		fprintf(stderr, "skf_client: %s: 0x%08X\n", what, (unsigned)rv);
		exit(1);
	}
}

static size_t
der_int(BYTE *out, const BYTE v[32])
{
	size_t i = 0, n = 0;

	while (i < 31 && v[i] == 0)
		i++;
	out[n++] = 0x02;
	if (v[i] & 0x80) {
		out[n++] = (BYTE)(32 - i + 1);
		out[n++] = 0;
	} else {
		out[n++] = (BYTE)(32 - i);
	}
	memcpy(out + n, v + i, 32 - i);
	return n + 32 - i;
}

static void
write_file(const char *path, const BYTE *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "skf_client: cannot write %s\n", path);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	/* SubjectPublicKeyInfo { id-ecPublicKey, sm2 } header */
	static const BYTE spki_hdr[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07,
		0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x81,
		0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D, 0x03, 0x42, 0x00, 0x04 };
	static char id[] = "1234567812345678";
	char devs[1024], apps[1024], cname[] = "skf-client";
	ULONG n, retry = 0, elen;
	HANDLE dev, app, cont, hash;
	ECCPUBLICKEYBLOB pub, pub2;
	ECCSIGNATUREBLOB sig;
	BYTE e[32], spki[sizeof(spki_hdr) + 64], der[80];
	size_t dn;

	if (argc != 6) {
		fprintf(stderr, "usage: skf_client LIBRARY PIN MESSAGE PUB SIG\n");
		return 2;
	}
	if ((lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "skf_client: %s\n", dlerror());
		return 1;
	}
	/* the two-call convention: the size first */
	n = 0;
	check("SKF_EnumDev", ((enum_dev_fn)sym("SKF_EnumDev"))(1, NULL, &n));
	if (n < 2 || n > sizeof(devs)) {
		fprintf(stderr, "skf_client: no device\n");
		return 1;
	}
	check("SKF_EnumDev", ((enum_dev_fn)sym("SKF_EnumDev"))(1, devs, &n));
	printf("device: %s\n", devs);
	check("SKF_ConnectDev", ((connect_fn)sym("SKF_ConnectDev"))(devs, &dev));
	n = sizeof(apps);
	check("SKF_EnumApplication",
	    ((enum_app_fn)sym("SKF_EnumApplication"))(dev, apps, &n));
	printf("application: %s\n", apps);
	check("SKF_OpenApplication",
	    ((open_app_fn)sym("SKF_OpenApplication"))(dev, apps, &app));
	check("SKF_VerifyPIN", ((verify_fn)sym("SKF_VerifyPIN"))(app, USER_TYPE,
	    argv[2], &retry));
	if (((cont_fn)sym("SKF_OpenContainer"))(app, cname, &cont) != SAR_OK)
		check("SKF_CreateContainer",
		    ((cont_fn)sym("SKF_CreateContainer"))(app, cname, &cont));
	check("SKF_GenECCKeyPair",
	    ((gen_fn)sym("SKF_GenECCKeyPair"))(cont, SGD_SM2_1, &pub));
	n = sizeof(pub2);
	check("SKF_ExportPublicKey",
	    ((export_fn)sym("SKF_ExportPublicKey"))(cont, 1, (BYTE *)&pub2, &n));
	if (n != sizeof(pub2) || memcmp(&pub, &pub2, sizeof(pub)) != 0 ||
	    pub.BitLen != 256) {
		fprintf(stderr, "skf_client: exported key differs\n");
		return 1;
	}
	check("SKF_DigestInit", ((digest_init_fn)sym("SKF_DigestInit"))(dev,
	    SGD_SM3, &pub, (BYTE *)id, 16, &hash));
	elen = sizeof(e);
	check("SKF_Digest", ((digest_fn)sym("SKF_Digest"))(hash, (BYTE *)argv[3],
	    (ULONG)strlen(argv[3]), e, &elen));
	check("SKF_CloseHandle", ((close_fn)sym("SKF_CloseHandle"))(hash));
	check("SKF_ECCSignData", ((sign_fn)sym("SKF_ECCSignData"))(cont, e, elen,
	    &sig));
	/* 256-bit values sit in the last 32 bytes of the 64-byte fields */
	memcpy(spki, spki_hdr, sizeof(spki_hdr));
	memcpy(spki + sizeof(spki_hdr), pub.XCoordinate + 32, 32);
	memcpy(spki + sizeof(spki_hdr) + 32, pub.YCoordinate + 32, 32);
	write_file(argv[4], spki, sizeof(spki));
	dn = 2;
	dn += der_int(der + dn, sig.r + 32);
	dn += der_int(der + dn, sig.s + 32);
	der[0] = 0x30;
	der[1] = (BYTE)(dn - 2);
	write_file(argv[5], der, dn);
	check("SKF_CloseContainer", ((close_fn)sym("SKF_CloseContainer"))(cont));
	check("SKF_CloseApplication",
	    ((close_fn)sym("SKF_CloseApplication"))(app));
	check("SKF_DisConnectDev", ((close_fn)sym("SKF_DisConnectDev"))(dev));
	dlclose(lib);
	printf("signed\n");
	return 0;
}
