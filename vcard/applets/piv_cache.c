/*
 * parsed slot keys kept between commands: unsealing and decoding PKCS#8
 * (OpenSSL 3's decoder framework) cost far more than the signature, so
 * GENERAL AUTHENTICATE takes the key from here. An entry is filled from the
 * store on first use, only by commands that write nothing (so it never holds
 * a value a rollback takes back), and dropped by piv_key_save/delete before
 * they write. Private keys live inside OpenSSL objects, which clear them
 * when freed, and an Ed25519 key's libsodium form in sodium_malloc'd
 * memory, wiped when freed; the entries hold pointers to them and public
 * values, on the ordinary heap where leak checkers can follow the pointers
 * (they do not scan sodium_malloc'd pages).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "piv_int.h"

/* 9A 9C 9D 9E, retired 82..95, F9 */
#define PIV_CACHE_SLOTS 25

struct piv_cache {
	piv_cached e[PIV_CACHE_SLOTS];
	bool used[PIV_CACHE_SLOTS];
};

static int
piv_cache_index(uint8_t ref)
{
	switch (ref) {
	case 0x9A:
		return 0;
	case 0x9C:
		return 1;
	case 0x9D:
		return 2;
	case 0x9E:
		return 3;
	case PIV_REF_ATTEST:
		return 4;
	default:
		break;
	}
	if (ref >= 0x82 && ref <= 0x95)
		return 5 + (ref - 0x82);
	return -1;
}

static void
piv_cached_clear(piv_cached *c)
{
	piv_ecdsa_clear(c);
	EVP_PKEY_CTX_free(c->op);
	EVP_MD_CTX_free(c->md);
	if (c->ed_sk != NULL) {
		sodium_mprotect_readwrite(c->ed_sk);
		sodium_free(c->ed_sk);	/* wipes */
	}
	BN_free(c->rsa_n);
	piv_key_free(&c->k);
	sodium_memzero(c, sizeof(*c));
}

int
piv_cache_new(piv_cache **out)
{
	piv_cache *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	*out = c;
	return 0;
}

void
piv_cache_free(piv_cache **cp)
{
	if (cp == NULL || *cp == NULL)
		return;
	for (size_t i = 0; i < PIV_CACHE_SLOTS; i++)
		piv_cached_clear(&(*cp)->e[i]);
	sodium_memzero(*cp, sizeof(**cp));
	free(*cp);
	*cp = NULL;
}

void
piv_cache_forget(piv_state *s, uint8_t ref)
{
	int i;

	if (s == NULL || s->keys == NULL || (i = piv_cache_index(ref)) < 0)
		return;
	piv_cached_clear(&s->keys->e[i]);
	s->keys->used[i] = false;
}

bool
piv_cache_idle(piv_cache *c)
{
	if (c == NULL)
		return false;
	for (size_t i = 0; i < PIV_CACHE_SLOTS; i++)
		if (c->used[i] && (c->e[i].k.alg == PIV_ALG_ECCP256 ||
		    c->e[i].k.alg == PIV_ALG_ECCP384) &&
		    piv_ecdsa_precompute(&c->e[i]))
			return true;
	return false;
}

void
piv_cache_drop_nonces(piv_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < PIV_CACHE_SLOTS; i++)
		piv_ecdsa_forget_nonce(&c->e[i]);
}

int
piv_cache_get(piv_state *s, vc_card *card, uint8_t ref, piv_cached **out)
{
	piv_cached *c;
	int i, r;

	if (s->keys == NULL || (i = piv_cache_index(ref)) < 0)
		return VC_STORE_NOT_FOUND;
	c = &s->keys->e[i];
	if (!s->keys->used[i]) {
		if ((r = piv_key_load(card, ref, &c->k)) != VC_STORE_OK)
			return r;
		s->keys->used[i] = true;
	}
	*out = c;
	return VC_STORE_OK;
}
