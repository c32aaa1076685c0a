/*
 * the GM applet's interface (docs/gm.md), defined once for the card and
 * the host: AID, instructions, data field tags, limits, and the algorithm
 * identifiers of GM/T 0006 / GM/T 0016 appendix A that cross the wire.
 */
#ifndef WK_GM_H
#define WK_GM_H

/* proprietary RID F0, "WKGMSKF" */
#define WK_GM_AID_BYTES 0xF0, 0x57, 0x4B, 0x47, 0x4D, 0x53, 0x4B, 0x46
#define WK_GM_AID_LEN 8
#define WK_GM_CLA 0x80

/* instructions, CLA 80 (docs/gm.md) */
enum {
	/* device: P1 P2 = 00 00 */
	WK_GM_INS_INFO = 0xCA,
	WK_GM_INS_CHALLENGE = 0x84,
	WK_GM_INS_DEV_AUTH = 0x82,
	WK_GM_INS_SET_DEV_KEY = 0xD4,
	WK_GM_INS_SET_LABEL = 0xD6,
	/* applications: P1 P2 = 00 00 */
	WK_GM_INS_APP_CREATE = 0xA0,
	WK_GM_INS_APP_LIST = 0xA2,
	WK_GM_INS_APP_DELETE = 0xA6,
	WK_GM_INS_APP_OPEN = 0xA8,
	/* PINs: P1 = application, P2 = PIN type */
	WK_GM_INS_VERIFY = 0x20,
	WK_GM_INS_CHANGE_PIN = 0x24,
	WK_GM_INS_PIN_INFO = 0x26,
	WK_GM_INS_UNBLOCK = 0x2C,
	WK_GM_INS_LOGOUT = 0x2E,
	/* files: P1 = application */
	WK_GM_INS_FILE_CREATE = 0xE0,
	WK_GM_INS_FILE_LIST = 0xE2,
	WK_GM_INS_FILE_DELETE = 0xE4,
	WK_GM_INS_FILE_INFO = 0xE6,
	WK_GM_INS_FILE_READ = 0xB0,
	WK_GM_INS_FILE_WRITE = 0xD0,
	/* containers: P1 = application */
	WK_GM_INS_CONT_CREATE = 0xC0,
	WK_GM_INS_CONT_LIST = 0xC2,
	WK_GM_INS_CONT_DELETE = 0xC4,
	WK_GM_INS_CONT_INFO = 0xC6,
	WK_GM_INS_CERT_IMPORT = 0xC8,
	WK_GM_INS_CERT_EXPORT = 0xCC,
	WK_GM_INS_GENERATE = 0x46,
	WK_GM_INS_IMPORT_KEY = 0x48,
	WK_GM_INS_PUBLIC_KEY = 0x4A,
	WK_GM_INS_SIGN = 0x50,
	WK_GM_INS_DECRYPT = 0x52,
	/* external keys: P1 = 00 */
	WK_GM_INS_EXT_VERIFY = 0x54,
	WK_GM_INS_EXT_ENCRYPT = 0x56,
	WK_GM_INS_EXT_SIGN = 0x58,
	WK_GM_INS_EXT_DECRYPT = 0x5A,
	/* session objects */
	WK_GM_INS_KEY_SET = 0x70,
	WK_GM_INS_KEY_UNWRAP = 0x72,
	WK_GM_INS_KEY_WRAP = 0x74,
	WK_GM_INS_CIPHER_INIT = 0x76,
	WK_GM_INS_PROCESS = 0x78,
	WK_GM_INS_DIGEST_INIT = 0x7E,
	WK_GM_INS_CLOSE = 0x7C,
	WK_GM_INS_AGREE_START = 0x90,
	WK_GM_INS_AGREE_RESPOND = 0x92,
	WK_GM_INS_AGREE_FINISH = 0x94,
};

/* data field tags (each at most once per command) */
enum {
	WK_GM_TAG_NAME = 0x80,		/* application, container or file name */
	WK_GM_TAG_PIN = 0x81,		/* PIN, old PIN, admin PIN */
	WK_GM_TAG_NEW_PIN = 0x82,	/* new PIN, user PIN */
	WK_GM_TAG_ADMIN_TRIES = 0x83,
	WK_GM_TAG_USER_TRIES = 0x84,
	WK_GM_TAG_RIGHTS = 0x85,	/* create-file or read rights, 4 bytes */
	WK_GM_TAG_WRITE_RIGHTS = 0x86,
	WK_GM_TAG_SIZE = 0x87,		/* 4 bytes */
	WK_GM_TAG_OFFSET = 0x88,	/* 4 bytes */
	WK_GM_TAG_DATA = 0x89,
	WK_GM_TAG_ALG = 0x8A,		/* SGD id, 4 bytes */
	WK_GM_TAG_PUB = 0x8B,		/* x || y */
	WK_GM_TAG_ID = 0x8C,		/* SM2 user id */
	WK_GM_TAG_HANDLE = 0x8D,	/* 4 bytes */
	WK_GM_TAG_IV = 0x8E,
	WK_GM_TAG_PADDING = 0x8F,	/* 1 byte: 0 none, 1 PKCS#5 */
	WK_GM_TAG_SIG = 0x90,		/* r || s */
	WK_GM_TAG_CIPHER = 0x91,	/* C1 || C3 || C2 */
	WK_GM_TAG_PRIV = 0x92,		/* d */
	WK_GM_TAG_ENC_PRIV = 0x93,	/* SM4-ECB of d */
	WK_GM_TAG_TEMP_PUB = 0x94,	/* the peer's temporary public key */
	WK_GM_TAG_PEER_ID = 0x95,	/* the sponsor's id */
};

/* PIN types (SKF ADMIN_TYPE, USER_TYPE) */
#define WK_GM_PIN_ADMIN 0
#define WK_GM_PIN_USER 1
/* SIGN P2, GENERATE/PUBLIC KEY/CERT P2 */
#define WK_GM_SIGN_DIGEST 0
#define WK_GM_SIGN_MESSAGE 1
#define WK_GM_KEY_ENC 0
#define WK_GM_KEY_SIGN 1
/* CIPHER INIT P2, PROCESS P2 */
#define WK_GM_OP_ENCRYPT 1
#define WK_GM_OP_DECRYPT 2
#define WK_GM_OP_MAC 3
#define WK_GM_STEP_UPDATE 0
#define WK_GM_STEP_FINAL 1
#define WK_GM_STEP_ONCE 2

/* access rights (SKF SECURE_*_ACCOUNT) */
#define WK_GM_RIGHT_NEVER 0x00u
#define WK_GM_RIGHT_ADMIN 0x01u
#define WK_GM_RIGHT_USER 0x10u
#define WK_GM_RIGHT_ANYONE 0xFFu

/* algorithm identifiers (GM/T 0016-2012 appendix A) */
#define WK_GM_SM4_ECB 0x00000401u
#define WK_GM_SM4_CBC 0x00000402u
#define WK_GM_SM4_CFB 0x00000404u
#define WK_GM_SM4_OFB 0x00000408u
#define WK_GM_SM4_MAC 0x00000410u
#define WK_GM_SM2_1 0x00020100u	/* signature */
#define WK_GM_SM2_2 0x00020200u	/* key agreement */
#define WK_GM_SM2_3 0x00020400u	/* encryption */
#define WK_GM_SM3 0x00000001u
#define WK_GM_SHA1 0x00000002u
#define WK_GM_SHA256 0x00000004u

/* limits */
#define WK_GM_MAX_APPS 8
#define WK_GM_MAX_FILES 32
#define WK_GM_MAX_CONTAINERS 16
#define WK_GM_MAX_OBJECTS 16
#define WK_GM_NAME_MAX 64		/* container names; applications 32, files 31 */
#define WK_GM_APP_NAME_MAX 32
#define WK_GM_FILE_NAME_MAX 31
#define WK_GM_PIN_MIN 6
#define WK_GM_PIN_MAX 16
#define WK_GM_TRIES_MAX 15
#define WK_GM_FILE_MAX 32768u		/* largest file */
#define WK_GM_IO_MAX 4096u		/* largest READ/WRITE chunk */
#define WK_GM_CERT_MAX 4096u
#define WK_GM_DATA_MAX 8192u		/* largest SIGN message, cipher or digest chunk */
#define WK_GM_ID_MAX 128
#define WK_GM_LABEL_MAX 31
#define WK_GM_TOTAL_SPACE 262144u
#define WK_GM_DEV_KEY_LEN 16
#define WK_GM_DEV_TRIES 10
/* the factory state (docs/gm.md) */
#define WK_GM_FACTORY_DEV_KEY "1234567812345678"
#define WK_GM_FACTORY_APP "walletkey"
#define WK_GM_FACTORY_PIN "12345678"
#define WK_GM_FACTORY_TRIES 10

/* GET INFO answer: fixed layout (docs/gm.md) */
#define WK_GM_INFO_LEN (2 + 8 + 32 + 4 * 8)

#endif
