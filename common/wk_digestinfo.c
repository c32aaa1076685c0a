/* DER DigestInfo prefixes (RFC 8017 9.2 note 1) and MGF1 (B.2.1) */
#include "wk_digestinfo.h"

#include <openssl/obj_mac.h>

static const uint8_t di_sha1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05,
    0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
static const uint8_t di_sha224[] = { 0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09,
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04,
    0x1c };
static const uint8_t di_sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
    0x20 };
static const uint8_t di_sha384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09,
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04,
    0x30 };
static const uint8_t di_sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09,
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04,
    0x40 };

static const struct {
	int nid;
	const uint8_t *prefix;
	size_t len;
} table[] = {
	{ NID_sha1, di_sha1, sizeof(di_sha1) },
	{ NID_sha224, di_sha224, sizeof(di_sha224) },
	{ NID_sha256, di_sha256, sizeof(di_sha256) },
	{ NID_sha384, di_sha384, sizeof(di_sha384) },
	{ NID_sha512, di_sha512, sizeof(di_sha512) },
};

const uint8_t *
wk_digest_info(int nid, size_t *len)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].nid == nid) {
			*len = table[i].len;
			return table[i].prefix;
		}
	*len = 0;
	return NULL;
}

int
wk_mgf1_xor(const EVP_MD *md, const uint8_t *seed, size_t seed_len,
    uint8_t *mask, size_t len)
{
	uint8_t out[EVP_MAX_MD_SIZE], c[4];
	EVP_MD_CTX *ctx = NULL;
	unsigned int olen;
	size_t done = 0;
	uint32_t counter = 0;
	int rc = -1;

	if (md == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	while (done < len) {
		c[0] = (uint8_t)(counter >> 24);
		c[1] = (uint8_t)(counter >> 16);
		c[2] = (uint8_t)(counter >> 8);
		c[3] = (uint8_t)counter;
		if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
		    EVP_DigestUpdate(ctx, seed, seed_len) != 1 ||
		    EVP_DigestUpdate(ctx, c, 4) != 1 ||
		    EVP_DigestFinal_ex(ctx, out, &olen) != 1)
			goto out;
		for (unsigned int i = 0; i < olen && done < len; i++)
			mask[done++] ^= out[i];
		counter++;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}
