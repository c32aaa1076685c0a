/*
 * the mechanism table: what C_GetMechanismList and C_GetMechanismInfo
 * report, and what each mechanism is (its key type, hash, padding). Facts
 * only: the operations are in p11_op.c and the files after it.
 */
#include <stddef.h>

#include "p11_internal.h"

#define RSA_FLAGS (CKF_HW | CKF_SIGN | CKF_VERIFY)
#define EC_FLAGS (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define NOKEY CKK_VENDOR_DEFINED
#define SYM_FLAGS (CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP)

static const p11_mech mechs[] = {
	{ CKM_RSA_PKCS_KEY_PAIR_GEN, 1024, 4096, CKF_HW | CKF_GENERATE_KEY_PAIR, CKK_RSA, 0, false, false, false },
	{ CKM_RSA_PKCS, 1024, 4096, RSA_FLAGS | CKF_DECRYPT | CKF_ENCRYPT | CKF_WRAP | CKF_UNWRAP, CKK_RSA, 0, false, true, false },
	{ CKM_RSA_X_509, 1024, 4096, RSA_FLAGS | CKF_DECRYPT | CKF_ENCRYPT, CKK_RSA, 0, false, false, true },
	{ CKM_RSA_PKCS_OAEP, 1024, 4096, CKF_HW | CKF_DECRYPT | CKF_ENCRYPT | CKF_WRAP | CKF_UNWRAP, CKK_RSA, 0, false, false, false },
	{ CKM_RSA_PKCS_PSS, 1024, 4096, RSA_FLAGS, CKK_RSA, 0, true, false, false },
	{ CKM_SHA1_RSA_PKCS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA_1, false, true, false },
	{ CKM_SHA224_RSA_PKCS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA224, false, true, false },
	{ CKM_SHA256_RSA_PKCS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA256, false, true, false },
	{ CKM_SHA384_RSA_PKCS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA384, false, true, false },
	{ CKM_SHA512_RSA_PKCS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA512, false, true, false },
	{ CKM_SHA1_RSA_PKCS_PSS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA_1, true, false, false },
	{ CKM_SHA224_RSA_PKCS_PSS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA224, true, false, false },
	{ CKM_SHA256_RSA_PKCS_PSS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA256, true, false, false },
	{ CKM_SHA384_RSA_PKCS_PSS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA384, true, false, false },
	{ CKM_SHA512_RSA_PKCS_PSS, 1024, 4096, RSA_FLAGS, CKK_RSA, CKM_SHA512, true, false, false },
	{ CKM_EC_KEY_PAIR_GEN, 256, 384, CKF_HW | CKF_GENERATE_KEY_PAIR | EC_FLAGS, CKK_EC, 0, false, false, false },
	{ CKM_ECDSA, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, 0, false, false, false },
	{ CKM_ECDSA_SHA1, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, CKM_SHA_1, false, false, false },
	{ CKM_ECDSA_SHA224, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, CKM_SHA224, false, false, false },
	{ CKM_ECDSA_SHA256, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, CKM_SHA256, false, false, false },
	{ CKM_ECDSA_SHA384, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, CKM_SHA384, false, false, false },
	{ CKM_ECDSA_SHA512, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, CKM_SHA512, false, false, false },
	{ CKM_ECDH1_DERIVE, 255, 384, CKF_HW | CKF_DERIVE | EC_FLAGS, CKK_EC, 0, false, false, false },
	{ CKM_EC_EDWARDS_KEY_PAIR_GEN, 255, 255, CKF_HW | CKF_GENERATE_KEY_PAIR, CKK_EC_EDWARDS, 0, false, false, false },
	{ CKM_EDDSA, 255, 255, CKF_HW | CKF_SIGN | CKF_VERIFY, CKK_EC_EDWARDS, 0, false, false, false },
	{ CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 255, 255, CKF_HW | CKF_GENERATE_KEY_PAIR, CKK_EC_MONTGOMERY, 0, false, false, false },
	/* SM2/SM3 with the GM applet's keys (p11_gm.c) */
	{ CKM_WK_SM2, 256, 256, CKF_HW | CKF_SIGN | CKF_VERIFY, CKK_WK_SM2, 0, false, false, false },
	{ CKM_WK_SM2_SM3, 256, 256, CKF_HW | CKF_SIGN | CKF_VERIFY, CKK_WK_SM2, 0, false, false, false },
	{ CKM_WK_SM2_ENC, 256, 256, CKF_HW | CKF_ENCRYPT | CKF_DECRYPT, CKK_WK_SM2, 0, false, false, false },
	{ CKM_WK_SM3, 0, 0, CKF_DIGEST, NOKEY, CKM_WK_SM3, false, false, false },
	{ CKM_MD5, 0, 0, CKF_DIGEST, NOKEY, CKM_MD5, false, false, false },
	{ CKM_SHA_1, 0, 0, CKF_DIGEST, NOKEY, CKM_SHA_1, false, false, false },
	{ CKM_SHA224, 0, 0, CKF_DIGEST, NOKEY, CKM_SHA224, false, false, false },
	{ CKM_SHA256, 0, 0, CKF_DIGEST, NOKEY, CKM_SHA256, false, false, false },
	{ CKM_SHA384, 0, 0, CKF_DIGEST, NOKEY, CKM_SHA384, false, false, false },
	{ CKM_SHA512, 0, 0, CKF_DIGEST, NOKEY, CKM_SHA512, false, false, false },
	/* secret keys: session objects only, in software (p11_soft.c) */
	{ CKM_AES_KEY_GEN, 16, 32, CKF_GENERATE, CKK_AES, 0, false, false, false },
	{ CKM_AES_ECB, 16, 32, SYM_FLAGS, CKK_AES, 0, false, false, false },
	{ CKM_AES_CBC, 16, 32, SYM_FLAGS, CKK_AES, 0, false, false, false },
	{ CKM_AES_CBC_PAD, 16, 32, SYM_FLAGS, CKK_AES, 0, false, false, false },
	{ CKM_AES_CTR, 16, 32, CKF_ENCRYPT | CKF_DECRYPT, CKK_AES, 0, false, false, false },
	{ CKM_AES_GCM, 16, 32, CKF_ENCRYPT | CKF_DECRYPT, CKK_AES, 0, false, false, false },
	{ CKM_AES_KEY_WRAP, 16, 32, SYM_FLAGS, CKK_AES, 0, false, false, false },
	{ CKM_AES_KEY_WRAP_PAD, 16, 32, SYM_FLAGS, CKK_AES, 0, false, false, false },
	{ CKM_DES3_KEY_GEN, 192, 192, CKF_GENERATE, CKK_DES3, 0, false, false, false },
	{ CKM_DES3_ECB, 192, 192, SYM_FLAGS, CKK_DES3, 0, false, false, false },
	{ CKM_DES3_CBC, 192, 192, SYM_FLAGS, CKK_DES3, 0, false, false, false },
	{ CKM_DES3_CBC_PAD, 192, 192, SYM_FLAGS, CKK_DES3, 0, false, false, false },
	{ CKM_WK_SM4_KEY_GEN, 16, 16, CKF_GENERATE, CKK_WK_SM4, 0, false, false, false },
	{ CKM_WK_SM4_ECB, 16, 16, SYM_FLAGS, CKK_WK_SM4, 0, false, false, false },
	{ CKM_WK_SM4_CBC, 16, 16, SYM_FLAGS, CKK_WK_SM4, 0, false, false, false },
	{ CKM_WK_SM4_CBC_PAD, 16, 16, SYM_FLAGS, CKK_WK_SM4, 0, false, false, false },
	{ CKM_WK_SM4_MAC, 16, 16, CKF_SIGN | CKF_VERIFY, CKK_WK_SM4, 0, false, false, false },
	{ CKM_GENERIC_SECRET_KEY_GEN, 8, 4096, CKF_GENERATE, CKK_GENERIC_SECRET, 0, false, false, false },
	{ CKM_MD5_HMAC, 8, 4096, CKF_SIGN | CKF_VERIFY, CKK_GENERIC_SECRET, 0, false, false, false },
	{ CKM_SHA_1_HMAC, 8, 4096, CKF_SIGN | CKF_VERIFY, CKK_GENERIC_SECRET, 0, false, false, false },
	{ CKM_SHA224_HMAC, 8, 4096, CKF_SIGN | CKF_VERIFY, CKK_GENERIC_SECRET, 0, false, false, false },
	{ CKM_SHA256_HMAC, 8, 4096, CKF_SIGN | CKF_VERIFY, CKK_GENERIC_SECRET, 0, false, false, false },
	{ CKM_SHA384_HMAC, 8, 4096, CKF_SIGN | CKF_VERIFY, CKK_GENERIC_SECRET, 0, false, false, false },
	{ CKM_SHA512_HMAC, 8, 4096, CKF_SIGN | CKF_VERIFY, CKK_GENERIC_SECRET, 0, false, false, false },
};

const p11_mech *
p11_mech_list(size_t *n)
{
	*n = sizeof(mechs) / sizeof(mechs[0]);
	return mechs;
}

const p11_mech *
p11_mech_find(CK_MECHANISM_TYPE type)
{
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (mechs[i].type == type)
			return &mechs[i];
	return NULL;
}
