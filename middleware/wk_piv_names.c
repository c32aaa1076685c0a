/* names and numbers of PIV algorithms, slots and objects */
#include "wk_piv_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	uint8_t alg;
	const char *name;
	unsigned bits;
} algs[] = {
	{ WK_PIV_ALG_3DES, "3des", 0 },
	{ WK_PIV_ALG_AES128, "aes128", 0 },
	{ WK_PIV_ALG_AES192, "aes192", 0 },
	{ WK_PIV_ALG_AES256, "aes256", 0 },
	{ WK_PIV_ALG_RSA1024, "rsa1024", 1024 },
	{ WK_PIV_ALG_RSA2048, "rsa2048", 2048 },
	{ WK_PIV_ALG_RSA3072, "rsa3072", 3072 },
	{ WK_PIV_ALG_RSA4096, "rsa4096", 4096 },
	{ WK_PIV_ALG_ECCP256, "eccp256", 256 },
	{ WK_PIV_ALG_ECCP384, "eccp384", 384 },
	{ WK_PIV_ALG_ED25519, "ed25519", 256 },
	{ WK_PIV_ALG_X25519, "x25519", 256 },
};

const char *
wk_piv_alg_name(uint8_t alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return "unknown";
}

int
wk_piv_alg_from_name(const char *name, uint8_t *alg)
{
	if (name == NULL || alg == NULL)
		return WK_ERR_ARG;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcasecmp(algs[i].name, name) == 0) {
			*alg = algs[i].alg;
			return WK_OK;
		}
	return WK_ERR_ARG;
}

unsigned
wk_piv_alg_bits(uint8_t alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return algs[i].bits;
	return 0;
}

size_t
wk_piv_alg_bytes(uint8_t alg)
{
	if (wk_piv_alg_is_rsa(alg) || wk_piv_alg_is_ec(alg) ||
	    alg == WK_PIV_ALG_ED25519 || alg == WK_PIV_ALG_X25519)
		return (wk_piv_alg_bits(alg) + 7) / 8;
	return 0;
}

bool
wk_piv_alg_is_rsa(uint8_t alg)
{
	return alg == WK_PIV_ALG_RSA1024 || alg == WK_PIV_ALG_RSA2048 ||
	    alg == WK_PIV_ALG_RSA3072 || alg == WK_PIV_ALG_RSA4096;
}

bool
wk_piv_alg_is_ec(uint8_t alg)
{
	return alg == WK_PIV_ALG_ECCP256 || alg == WK_PIV_ALG_ECCP384;
}

size_t
wk_piv_mgmt_key_len(uint8_t alg)
{
	switch (alg) {
	case WK_PIV_ALG_3DES:
	case WK_PIV_ALG_AES192:
		return 24;
	case WK_PIV_ALG_AES128:
		return 16;
	case WK_PIV_ALG_AES256:
		return 32;
	default:
		return 0;
	}
}

int
wk_piv_slot_from_name(const char *name, uint8_t *slot)
{
	unsigned long v;
	char *end;

	if (name == NULL || slot == NULL || name[0] == '\0' ||
	    strlen(name) != 2)
		return WK_ERR_ARG;
	v = strtoul(name, &end, 16);
	if (*end != '\0')
		return WK_ERR_ARG;
	if (v != 0x9A && v != 0x9C && v != 0x9D && v != 0x9E && v != 0xF9 &&
	    (v < WK_PIV_SLOT_RETIRED1 || v > WK_PIV_SLOT_RETIRED20))
		return WK_ERR_ARG;
	*slot = (uint8_t)v;
	return WK_OK;
}

int
wk_piv_cert_object(uint8_t slot, uint32_t *tag)
{
	uint32_t t;

	switch (slot) {
	case WK_PIV_SLOT_AUTH:
		t = 0x5FC105;
		break;
	case WK_PIV_SLOT_SIGN:
		t = 0x5FC10A;
		break;
	case WK_PIV_SLOT_KEYMGMT:
		t = 0x5FC10B;
		break;
	case WK_PIV_SLOT_CARDAUTH:
		t = 0x5FC101;
		break;
	case WK_PIV_SLOT_ATTEST:
		t = WK_PIV_OBJ_ATTEST_CERT;
		break;
	default:
		if (slot < WK_PIV_SLOT_RETIRED1 || slot > WK_PIV_SLOT_RETIRED20)
			return WK_ERR_ARG;
		t = 0x5FC10Du + (uint32_t)(slot - WK_PIV_SLOT_RETIRED1);
		break;
	}
	*tag = t;
	return WK_OK;
}

int
wk_piv_pad_pin(const uint8_t *pin, size_t len, uint8_t out[8])
{
	if (pin == NULL || len == 0 || len > WK_PIV_PIN_MAX)
		return WK_ERR_ARG;
	memset(out, 0xFF, 8);
	memcpy(out, pin, len);
	return WK_OK;
}
