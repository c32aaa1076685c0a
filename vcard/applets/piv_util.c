/* slot tables and small helpers shared by the PIV modules */
#include <stdio.h>

#include <sodium.h>

#include "piv_int.h"

bool
piv_slot_is_asym(uint8_t ref)
{
	return ref == 0x9A || ref == 0x9C || ref == 0x9D || ref == 0x9E ||
	    (ref >= 0x82 && ref <= 0x95) || ref == PIV_REF_ATTEST;
}

/* piv.md 2.6: 9C always, 9E and F9 never, the rest once */
uint8_t
piv_slot_default_policy(uint8_t ref)
{
	if (ref == 0x9C)
		return PIV_PINPOL_ALWAYS;
	if (ref == 0x9E || ref == PIV_REF_ATTEST)
		return PIV_PINPOL_NEVER;
	return PIV_PINPOL_ONCE;
}

uint32_t
piv_slot_cert_tag(uint8_t ref)
{
	switch (ref) {
	case 0x9A:
		return 0x5FC105;
	case 0x9C:
		return 0x5FC10A;
	case 0x9D:
		return 0x5FC10B;
	case 0x9E:
		return 0x5FC101;
	case PIV_REF_ATTEST:
		return 0x5FFF01;
	default:
		break;
	}
	if (ref >= 0x82 && ref <= 0x95)
		return 0x5FC10Du + (uint32_t)(ref - 0x82);
	return 0;
}

void
piv_store_key_name(char *out, size_t cap, const char *prefix, uint32_t id)
{
	snprintf(out, cap, "%s.%X", prefix, (unsigned)id);
}

size_t
piv_alg_block(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_3DES:
		return 8;
	case PIV_ALG_AES128:
	case PIV_ALG_AES192:
	case PIV_ALG_AES256:
		return 16;
	default:
		return 0;
	}
}

size_t
piv_alg_keylen(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_3DES:
		return 24;
	case PIV_ALG_AES128:
		return 16;
	case PIV_ALG_AES192:
		return 24;
	case PIV_ALG_AES256:
		return 32;
	default:
		return 0;
	}
}

bool
piv_alg_is_asym(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_RSA1024:
	case PIV_ALG_RSA2048:
	case PIV_ALG_RSA3072:
	case PIV_ALG_RSA4096:
	case PIV_ALG_ECCP256:
	case PIV_ALG_ECCP384:
	case PIV_ALG_ED25519:
	case PIV_ALG_X25519:
		return true;
	default:
		return false;
	}
}

/* the security state back to a fresh SELECT's (piv.c, and RESET in
 * piv_yk.c); the key cache survives */
void
piv_state_clear(piv_state *s)
{
	piv_cache *keys = s->keys;

	sodium_memzero(s, sizeof(*s));
	s->keys = keys;
}
