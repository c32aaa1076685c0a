#include "wk_ocra.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "wk_hex.h"

/* a decimal number of 1..max digits at *p; advances *p */
static bool
number(const char **p, unsigned min_digits, unsigned max_digits, unsigned *v)
{
	unsigned n = 0, x = 0;

	while (n < max_digits && (*p)[n] >= '0' && (*p)[n] <= '9')
		x = x * 10 + (unsigned)((*p)[n++] - '0');
	if (n < min_digits || ((*p)[n] >= '0' && (*p)[n] <= '9'))
		return false;
	*p += n;
	*v = x;
	return true;
}

static bool
hash_name(const char **p, unsigned *hash)
{
	if (strncmp(*p, "SHA1", 4) == 0 && ((*p)[4] < '0' || (*p)[4] > '9')) {
		*p += 4;
		*hash = 1;
	} else if (strncmp(*p, "SHA256", 6) == 0) {
		*p += 6;
		*hash = 256;
	} else if (strncmp(*p, "SHA512", 6) == 0) {
		*p += 6;
		*hash = 512;
	} else {
		return false;
	}
	return true;
}

int
wk_ocra_suite_parse(const char *text, wk_ocra_suite *out)
{
	const char *p = text;
	unsigned v;

	memset(out, 0, sizeof(*out));
	if (text == NULL || strlen(text) > WK_OCRA_SUITE_MAX)
		return WK_OCRA_BAD_SUITE;
	memcpy(out->text, text, strlen(text) + 1);
	if (strncmp(p, "OCRA-1:HOTP-", 12) != 0)
		goto bad;
	p += 12;
	if (!hash_name(&p, &out->hash) || *p++ != '-' || !number(&p, 1, 2, &v) ||
	    v < 4 || v > WK_OCRA_DIGITS_MAX || *p++ != ':')
		goto bad;
	out->digits = v;
	if (p[0] == 'C' && p[1] == '-') {
		out->counter = true;
		p += 2;
	}
	if (p[0] != 'Q' || (p[1] != 'A' && p[1] != 'N' && p[1] != 'H'))
		goto bad;
	out->q_format = p[1];
	p += 2;
	if (!number(&p, 2, 2, &v) || v < 4 || v > 64)
		goto bad;
	out->q_max = v;
	if (p[0] == '-' && p[1] == 'P') {
		p += 2;
		if (!hash_name(&p, &out->pin_hash))
			goto bad;
	}
	if (p[0] == '-' && p[1] == 'S') {
		p += 2;
		if (!number(&p, 3, 3, &v) || (v != 64 && v != 128 && v != 256 &&
		    v != 512))
			goto bad;
		out->session_len = v;
	}
	if (p[0] == '-' && p[1] == 'T') {
		p += 2;
		if (!number(&p, 1, 2, &v) || v == 0)
			goto bad;
		if (*p == 'S' && v <= 59)
			out->time_step = v;
		else if (*p == 'M' && v <= 59)
			out->time_step = (uint64_t)v * 60;
		else if (*p == 'H' && v <= 48)
			out->time_step = (uint64_t)v * 3600;
		else
			goto bad;
		p++;
	}
	if (*p != '\0')
		goto bad;
	return WK_OCRA_OK;
bad:
	memset(out, 0, sizeof(*out));
	return WK_OCRA_BAD_SUITE;
}

static const EVP_MD *
md_of(unsigned hash)
{
	return hash == 1 ? EVP_sha1() : hash == 256 ? EVP_sha256() :
	    hash == 512 ? EVP_sha512() : NULL;
}

static size_t
md_len(unsigned hash)
{
	return hash == 1 ? 20 : hash == 256 ? 32 : hash == 512 ? 64 : 0;
}

/* the question's hex digits, left-aligned in 128 bytes (RFC 6287 5.2) */
static int
question_bytes(const wk_ocra_suite *s, const char *q, uint8_t out[WK_OCRA_Q_BYTES])
{
	char hex[2 * WK_OCRA_Q_BYTES + 1];
	size_t n = q != NULL ? strlen(q) : 0, h = 0;
	BIGNUM *bn = NULL;
	char *dec = NULL;
	int rc = WK_OCRA_BAD_INPUT;

	if (n == 0 || n > s->q_max)
		return rc;
	switch (s->q_format) {
	case 'N':
		for (size_t i = 0; i < n; i++)
			if (q[i] < '0' || q[i] > '9')
				return rc;
		if (BN_dec2bn(&bn, q) != (int)n || (dec = BN_bn2hex(bn)) == NULL) {
			rc = WK_OCRA_CRYPTO;
			goto out;
		}
		/* BigInteger.toString(16): no leading zero digit */
		h = strlen(dec);
		if (h > 1 && dec[0] == '0') {
			memmove(dec, dec + 1, h);
			h--;
		}
		if (h > 2 * WK_OCRA_Q_BYTES)
			goto out;
		memcpy(hex, dec, h);
		break;
	case 'A':
		for (size_t i = 0; i < n; i++) {
			if ((unsigned char)q[i] < 0x20 || (unsigned char)q[i] > 0x7E)
				return rc;
		}
		wk_hex_encode((const uint8_t *)q, n, hex);
		h = 2 * n;
		break;
	case 'H':
		for (size_t i = 0; i < n; i++) {
			char c = q[i];

			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			    (c >= 'A' && c <= 'F')))
				return rc;
		}
		memcpy(hex, q, n);
		h = n;
		break;
	default:
		return rc;
	}
	memset(hex + h, '0', sizeof(hex) - 1 - h);
	hex[sizeof(hex) - 1] = '\0';
	if (wk_hex_decode(hex, out, WK_OCRA_Q_BYTES) != WK_OCRA_Q_BYTES)
		goto out;
	rc = WK_OCRA_OK;
out:
	OPENSSL_free(dec);
	BN_free(bn);
	return rc;
}

static void
be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

int
wk_ocra_compute(const wk_ocra_suite *s, const uint8_t *key, size_t key_len,
    const wk_ocra_input *in, char *out, size_t cap)
{
	uint8_t data[WK_OCRA_SUITE_MAX + 1 + 8 + WK_OCRA_Q_BYTES + 64 + 512 + 8];
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	size_t n = 0, sl;
	uint64_t bin, mod = 1;
	unsigned off;
	int rc = WK_OCRA_BAD_INPUT;

	if (s == NULL || key == NULL || key_len == 0 || in == NULL || out == NULL ||
	    s->digits < 4 || s->digits > WK_OCRA_DIGITS_MAX || cap <= s->digits ||
	    md_of(s->hash) == NULL || key_len > INT32_MAX)
		return rc;
	sl = strlen(s->text);
	memcpy(data, s->text, sl);
	n = sl;
	data[n++] = 0x00;
	if (s->counter) {
		be64(data + n, in->counter);
		n += 8;
	}
	if ((rc = question_bytes(s, in->question, data + n)) != WK_OCRA_OK)
		goto out;
	n += WK_OCRA_Q_BYTES;
	rc = WK_OCRA_BAD_INPUT;
	if (s->pin_hash != 0) {
		if (in->pin_hash == NULL)
			goto out;
		memcpy(data + n, in->pin_hash, md_len(s->pin_hash));
		n += md_len(s->pin_hash);
	}
	if (s->session_len != 0) {
		if (in->session == NULL)
			goto out;
		memcpy(data + n, in->session, s->session_len);
		n += s->session_len;
	}
	if (s->time_step != 0) {
		be64(data + n, in->timestamp);
		n += 8;
	}
	rc = WK_OCRA_CRYPTO;
	if (HMAC(md_of(s->hash), key, (int)key_len, data, n, mac, &mac_len) ==
	    NULL || mac_len != md_len(s->hash))
		goto out;
	/* HOTP dynamic truncation (RFC 4226 5.3) */
	off = mac[mac_len - 1] & 0x0F;
	bin = ((uint64_t)(mac[off] & 0x7F) << 24) | ((uint64_t)mac[off + 1] << 16) |
	    ((uint64_t)mac[off + 2] << 8) | mac[off + 3];
	for (unsigned i = 0; i < s->digits; i++)
		mod *= 10;
	bin %= mod;
	for (int i = (int)s->digits - 1; i >= 0; i--) {
		out[i] = (char)('0' + bin % 10);
		bin /= 10;
	}
	out[s->digits] = '\0';
	rc = WK_OCRA_OK;
out:
	sodium_memzero(data, sizeof(data));
	sodium_memzero(mac, sizeof(mac));
	return rc;
}
