/*
 * the card's block ciphers by the number an applet's protocol gives them
 * (the GM applet's SGD_SM4_* modes, PIV's algorithm references): one table
 * per applet, looked up here
 */
#ifndef VC_CIPHER_H
#define VC_CIPHER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

typedef struct vc_cipher {
	uint32_t alg;
	const EVP_CIPHER *(*cipher)(void);
} vc_cipher;

/* the cipher of alg in t (n rows); NULL when t has none */
static inline const EVP_CIPHER *
vc_cipher_of(const vc_cipher *t, size_t n, uint32_t alg)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].alg == alg)
			return t[i].cipher();
	return NULL;
}

#endif
