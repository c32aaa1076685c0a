/* the card store's keys and seals (vc_seal.h) */
#include "vc_seal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define ABYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define WRAPPED_LEN (2 * VC_SEAL_KEY_LEN)
#define SALT_LEN crypto_pwhash_SALTBYTES
/* kind, then for a passphrase: algorithm, opslimit, memlimit, salt */
#define HDR_KEY_LEN 1
#define HDR_PASS_LEN (1 + 1 + 8 + 8 + SALT_LEN)
#define KDF_CTX "wkstore2"

/* Argon2id for a passphrase: libsodium's "moderate" limits (256 MiB, 3
 * passes), paid once per card start */
#define PASS_OPS crypto_pwhash_OPSLIMIT_MODERATE
#define PASS_MEM crypto_pwhash_MEMLIMIT_MODERATE
/* what a seal record may ask for: anything else is a damaged record */
#define PASS_OPS_MAX 16u
#define PASS_MEM_MAX ((uint64_t)crypto_pwhash_MEMLIMIT_SENSITIVE)

struct vc_seal {
	uint8_t data[VC_SEAL_KEY_LEN];	/* random; rows and state */
	uint8_t name[VC_SEAL_KEY_LEN];	/* random; row ids */
	uint8_t aead[VC_SEAL_KEY_LEN];	/* from data */
	uint8_t mac[VC_SEAL_KEY_LEN];	/* from data */
	uint8_t serial[WK_SERIAL_LEN];
};

static const char wrap_label[] = "walletkey card store seal";

static void
errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static vc_seal *
seal_alloc(void)
{
	vc_seal *s = sodium_malloc(sizeof(*s));

	if (s != NULL)
		sodium_memzero(s, sizeof(*s));
	return s;
}

void
vc_seal_free(vc_seal **sp)
{
	if (sp == NULL || *sp == NULL)
		return;
	sodium_mprotect_readwrite(*sp);
	sodium_free(*sp);	/* wipes */
	*sp = NULL;
}

/* the subkeys, then the keys become read-only */
static void
seal_finish(vc_seal *s, const uint8_t serial[WK_SERIAL_LEN])
{
	crypto_kdf_derive_from_key(s->aead, sizeof(s->aead), 1, KDF_CTX,
	    s->data);
	crypto_kdf_derive_from_key(s->mac, sizeof(s->mac), 2, KDF_CTX,
	    s->data);
	memcpy(s->serial, serial, WK_SERIAL_LEN);
	sodium_mprotect_readonly(s);
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* ---- the seal key's sources ---- */

static int
key_file_read(const char *path, bool any_mode, uint8_t key[VC_SEAL_KEY_LEN],
    char *err, size_t errlen)
{
	struct stat sb;
	uint8_t extra;
	ssize_t got;
	size_t have = 0;
	int fd, r = VC_SEAL_ERROR;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		errf(err, errlen, "seal key %s: %s", path, strerror(errno));
		return errno == ENOENT ? VC_SEAL_NOT_FOUND : VC_SEAL_ERROR;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		errf(err, errlen, "seal key %s: not a regular file", path);
		goto out;
	}
	/* as ssh does with private keys: a key others can read protects nothing */
	if (!any_mode && (sb.st_mode & 077) != 0) {
		errf(err, errlen, "seal key %s: readable by others (mode %04o); "
		    "chmod 600 it", path, (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	while (have < VC_SEAL_KEY_LEN) {
		got = read(fd, key + have, VC_SEAL_KEY_LEN - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		have += (size_t)got;
	}
	if (have != VC_SEAL_KEY_LEN || read(fd, &extra, 1) != 0) {
		errf(err, errlen, "seal key %s: not a %u-byte key file", path,
		    (unsigned)VC_SEAL_KEY_LEN);
		goto out;
	}
	r = VC_SEAL_OK;
out:
	close(fd);
	return r;
}

static int
key_file_create(const char *path, uint8_t key[VC_SEAL_KEY_LEN], char *err,
    size_t errlen)
{
	ssize_t put;
	int fd, r = VC_SEAL_ERROR;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		errf(err, errlen, "seal key %s: %s", path, strerror(errno));
		return VC_SEAL_ERROR;
	}
	randombytes_buf(key, VC_SEAL_KEY_LEN);
	put = write(fd, key, VC_SEAL_KEY_LEN);
	if (put != (ssize_t)VC_SEAL_KEY_LEN || fsync(fd) != 0) {
		errf(err, errlen, "seal key %s: write failed", path);
		goto out;
	}
	r = VC_SEAL_OK;
out:
	if (close(fd) != 0 && r == VC_SEAL_OK) {
		errf(err, errlen, "seal key %s: %s", path, strerror(errno));
		r = VC_SEAL_ERROR;
	}
	if (r != VC_SEAL_OK)
		unlink(path);
	return r;
}

/*
 * the key that wraps the store's keys. For a new record (hdr_in NULL) the
 * header is written to hdr; for an existing one it is read from hdr_in.
 */
static int
kek_get(const vc_seal_source *src, const uint8_t *hdr_in, size_t hdr_in_len,
    uint8_t kek[VC_SEAL_KEY_LEN], uint8_t *hdr, size_t *hdr_len, bool *made,
    char *err, size_t errlen)
{
	uint64_t ops, mem;
	const uint8_t *salt;
	uint8_t fresh[SALT_LEN];
	int rc;

	if (made != NULL)
		*made = false;
	if (src->passphrase == NULL) {
		if (hdr_in != NULL && (hdr_in_len < 1 ||
		    hdr_in[0] != VC_SEAL_KIND_KEY)) {
			errf(err, errlen, "this card store is sealed with a "
			    "passphrase, not a key file: give it with "
			    "--seal-passphrase-fd or --seal-passphrase-env");
			return VC_SEAL_WRONG;
		}
		if (src->file == NULL) {
			errf(err, errlen, "no seal key given");
			return VC_SEAL_ERROR;
		}
		rc = key_file_read(src->file, src->any_mode, kek, err, errlen);
		if (rc == VC_SEAL_NOT_FOUND && src->create && hdr_in == NULL) {
			rc = key_file_create(src->file, kek, err, errlen);
			if (made != NULL)
				*made = rc == VC_SEAL_OK;
		}
		if (rc != VC_SEAL_OK)
			return rc;
		hdr[0] = VC_SEAL_KIND_KEY;
		*hdr_len = HDR_KEY_LEN;
		return VC_SEAL_OK;
	}
	if (src->passphrase_len == 0) {
		errf(err, errlen, "the seal passphrase is empty");
		return VC_SEAL_ERROR;
	}
	if (hdr_in == NULL) {
		randombytes_buf(fresh, sizeof(fresh));
		ops = PASS_OPS;
		mem = PASS_MEM;
		salt = fresh;
	} else {
		if (hdr_in_len < 1 || hdr_in[0] != VC_SEAL_KIND_PASSPHRASE) {
			errf(err, errlen, "this card store is sealed with a key "
			    "file, not a passphrase: give it with --seal-key or "
			    "--seal-credential");
			return VC_SEAL_WRONG;
		}
		if (hdr_in_len != HDR_PASS_LEN ||
		    hdr_in[1] != crypto_pwhash_ALG_ARGON2ID13) {
			errf(err, errlen, "the seal record is damaged");
			return VC_SEAL_BAD;
		}
		ops = get64(hdr_in + 2);
		mem = get64(hdr_in + 10);
		salt = hdr_in + 18;
		if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > PASS_OPS_MAX ||
		    mem < crypto_pwhash_MEMLIMIT_MIN || mem > PASS_MEM_MAX) {
			errf(err, errlen, "the seal record is damaged "
			    "(Argon2id limits out of range)");
			return VC_SEAL_BAD;
		}
	}
	hdr[0] = VC_SEAL_KIND_PASSPHRASE;
	hdr[1] = crypto_pwhash_ALG_ARGON2ID13;
	put64(hdr + 2, ops);
	put64(hdr + 10, mem);
	memmove(hdr + 18, salt, SALT_LEN);
	*hdr_len = HDR_PASS_LEN;
	if (crypto_pwhash(kek, VC_SEAL_KEY_LEN, (const char *)src->passphrase,
	    src->passphrase_len, hdr + 18, ops, (size_t)mem,
	    crypto_pwhash_ALG_ARGON2ID13) != 0) {
		errf(err, errlen, "Argon2id: out of memory (%llu MiB)",
		    (unsigned long long)(mem >> 20));
		return VC_SEAL_ERROR;
	}
	return VC_SEAL_OK;
}

static void
wrap_ad(const uint8_t serial[WK_SERIAL_LEN], const uint8_t *hdr, size_t hdr_len,
    uint8_t *ad, size_t *ad_len)
{
	memcpy(ad, wrap_label, sizeof(wrap_label));
	memcpy(ad + sizeof(wrap_label), serial, WK_SERIAL_LEN);
	memcpy(ad + sizeof(wrap_label) + WK_SERIAL_LEN, hdr, hdr_len);
	*ad_len = sizeof(wrap_label) + WK_SERIAL_LEN + hdr_len;
}

/* rec = header || nonce || wrap(data || name) */
static int
wrap(const vc_seal *s, const vc_seal_source *src, uint8_t *rec,
    size_t *rec_len, bool *made, char *err, size_t errlen)
{
	uint8_t ad[sizeof(wrap_label) + WK_SERIAL_LEN + HDR_PASS_LEN];
	uint8_t *kek = NULL, *plain = NULL;
	size_t hdr_len = 0, ad_len;
	int rc = VC_SEAL_ERROR;

	if ((kek = sodium_malloc(VC_SEAL_KEY_LEN)) == NULL ||
	    (plain = sodium_malloc(WRAPPED_LEN)) == NULL) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	if ((rc = kek_get(src, NULL, 0, kek, rec, &hdr_len, made, err,
	    errlen)) != VC_SEAL_OK)
		goto out;
	memcpy(plain, s->data, VC_SEAL_KEY_LEN);
	memcpy(plain + VC_SEAL_KEY_LEN, s->name, VC_SEAL_KEY_LEN);
	wrap_ad(s->serial, rec, hdr_len, ad, &ad_len);
	randombytes_buf(rec + hdr_len, NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(rec + hdr_len + NONCE_LEN,
	    NULL, plain, WRAPPED_LEN, ad, ad_len, NULL, rec + hdr_len, kek);
	*rec_len = hdr_len + NONCE_LEN + WRAPPED_LEN + ABYTES;
	rc = VC_SEAL_OK;
out:
	sodium_free(kek);
	sodium_free(plain);
	return rc;
}

int
vc_seal_kind(const uint8_t *rec, size_t rec_len)
{
	if (rec_len == HDR_KEY_LEN + NONCE_LEN + WRAPPED_LEN + ABYTES &&
	    rec[0] == VC_SEAL_KIND_KEY)
		return VC_SEAL_KIND_KEY;
	if (rec_len == HDR_PASS_LEN + NONCE_LEN + WRAPPED_LEN + ABYTES &&
	    rec[0] == VC_SEAL_KIND_PASSPHRASE)
		return VC_SEAL_KIND_PASSPHRASE;
	return 0;
}

int
vc_seal_create(const vc_seal_source *src, const uint8_t serial[WK_SERIAL_LEN],
    vc_seal **out, uint8_t *rec, size_t *rec_len, bool *made, char *err,
    size_t errlen)
{
	vc_seal *s;
	int rc;

	*out = NULL;
	if ((s = seal_alloc()) == NULL) {
		errf(err, errlen, "out of memory");
		return VC_SEAL_ERROR;
	}
	randombytes_buf(s->data, sizeof(s->data));
	randombytes_buf(s->name, sizeof(s->name));
	memcpy(s->serial, serial, WK_SERIAL_LEN);
	if ((rc = wrap(s, src, rec, rec_len, made, err, errlen)) != VC_SEAL_OK) {
		vc_seal_free(&s);
		return rc;
	}
	seal_finish(s, serial);
	*out = s;
	return VC_SEAL_OK;
}

int
vc_seal_rekey(const vc_seal *old, const vc_seal_source *src, vc_seal **out,
    uint8_t *rec, size_t *rec_len, bool *made, char *err, size_t errlen)
{
	vc_seal *s;
	int rc;

	*out = NULL;
	if ((s = seal_alloc()) == NULL) {
		errf(err, errlen, "out of memory");
		return VC_SEAL_ERROR;
	}
	randombytes_buf(s->data, sizeof(s->data));
	memcpy(s->name, old->name, sizeof(s->name));
	memcpy(s->serial, old->serial, WK_SERIAL_LEN);
	if ((rc = wrap(s, src, rec, rec_len, made, err, errlen)) != VC_SEAL_OK) {
		vc_seal_free(&s);
		return rc;
	}
	seal_finish(s, old->serial);
	*out = s;
	return VC_SEAL_OK;
}

int
vc_seal_open(const vc_seal_source *src, const uint8_t serial[WK_SERIAL_LEN],
    const uint8_t *rec, size_t rec_len, vc_seal **out, char *err,
    size_t errlen)
{
	uint8_t ad[sizeof(wrap_label) + WK_SERIAL_LEN + HDR_PASS_LEN];
	uint8_t hdr[HDR_PASS_LEN];
	uint8_t *kek = NULL, *plain = NULL;
	size_t hdr_len = 0, ad_len;
	vc_seal *s = NULL;
	int kind, rc = VC_SEAL_ERROR;

	*out = NULL;
	if ((kind = vc_seal_kind(rec, rec_len)) == 0) {
		errf(err, errlen, "the seal record is damaged");
		return VC_SEAL_BAD;
	}
	hdr_len = kind == VC_SEAL_KIND_KEY ? HDR_KEY_LEN : HDR_PASS_LEN;
	if ((kek = sodium_malloc(VC_SEAL_KEY_LEN)) == NULL ||
	    (plain = sodium_malloc(WRAPPED_LEN)) == NULL ||
	    (s = seal_alloc()) == NULL) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	if ((rc = kek_get(src, rec, hdr_len, kek, hdr, &hdr_len, NULL, err,
	    errlen)) != VC_SEAL_OK)
		goto out;
	wrap_ad(serial, rec, hdr_len, ad, &ad_len);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL,
	    rec + hdr_len + NONCE_LEN, WRAPPED_LEN + ABYTES, ad, ad_len,
	    rec + hdr_len, kek) != 0) {
		errf(err, errlen, kind == VC_SEAL_KIND_KEY ?
		    "the seal key does not open this card store (another "
		    "card's key, or the store was tampered with)" :
		    "the seal passphrase does not open this card store (a "
		    "wrong passphrase, or the store was tampered with)");
		rc = VC_SEAL_WRONG;
		goto out;
	}
	memcpy(s->data, plain, VC_SEAL_KEY_LEN);
	memcpy(s->name, plain + VC_SEAL_KEY_LEN, VC_SEAL_KEY_LEN);
	seal_finish(s, serial);
	*out = s;
	s = NULL;
	rc = VC_SEAL_OK;
out:
	vc_seal_free(&s);
	sodium_free(kek);
	sodium_free(plain);
	return rc;
}

int
vc_seal_v1_key(const vc_seal_source *src, uint8_t key[VC_SEAL_KEY_LEN],
    char *err, size_t errlen)
{
	if (src->passphrase != NULL || src->file == NULL) {
		errf(err, errlen, "a card store of format 1 opens with its key "
		    "file only: start it once with --seal-key FILE to upgrade "
		    "it, then change the key with --rekey");
		return VC_SEAL_WRONG;
	}
	return key_file_read(src->file, src->any_mode, key, err, errlen);
}

/* ---- rows and the state record ---- */

int
vc_seal_id(const vc_seal *s, const char *applet, const char *key,
    uint8_t id[VC_SEAL_ID_LEN])
{
	crypto_generichash_state h;
	static const uint8_t zero;

	if (applet == NULL || key == NULL)
		return VC_SEAL_ERROR;
	crypto_generichash_init(&h, s->name, sizeof(s->name), VC_SEAL_ID_LEN);
	crypto_generichash_update(&h, (const uint8_t *)applet, strlen(applet));
	crypto_generichash_update(&h, &zero, 1);
	crypto_generichash_update(&h, (const uint8_t *)key, strlen(key));
	crypto_generichash_final(&h, id, VC_SEAL_ID_LEN);
	return VC_SEAL_OK;
}

/* 'R' || serial || id */
#define ROW_AD_LEN (1 + WK_SERIAL_LEN + VC_SEAL_ID_LEN)

static void
row_ad(const vc_seal *s, const uint8_t id[VC_SEAL_ID_LEN], uint8_t *ad)
{
	ad[0] = 'R';
	memcpy(ad + 1, s->serial, WK_SERIAL_LEN);
	memcpy(ad + 1 + WK_SERIAL_LEN, id, VC_SEAL_ID_LEN);
}

void
vc_seal_row(const vc_seal *s, const uint8_t id[VC_SEAL_ID_LEN],
    const uint8_t *v, size_t n, uint8_t *out)
{
	uint8_t ad[ROW_AD_LEN];

	row_ad(s, id, ad);
	randombytes_buf(out, NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE_LEN, NULL, v, n,
	    ad, sizeof(ad), NULL, out, s->aead);
}

int
vc_seal_unrow(const vc_seal *s, const uint8_t id[VC_SEAL_ID_LEN],
    const uint8_t *sealed, size_t sealed_len, uint8_t *out)
{
	uint8_t ad[ROW_AD_LEN];

	if (sealed_len < VC_SEAL_OVERHEAD)
		return VC_SEAL_BAD;
	row_ad(s, id, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL,
	    sealed + NONCE_LEN, sealed_len - NONCE_LEN, ad, sizeof(ad), sealed,
	    s->aead) != 0) {
		if (sealed_len > VC_SEAL_OVERHEAD)
			sodium_memzero(out, sealed_len - VC_SEAL_OVERHEAD);
		return VC_SEAL_BAD;
	}
	return VC_SEAL_OK;
}

void
vc_seal_tag(const vc_seal *s, const uint8_t id[VC_SEAL_ID_LEN],
    const uint8_t *sealed, size_t sealed_len, uint8_t tag[VC_SEAL_TAG_LEN])
{
	crypto_generichash_state h;

	crypto_generichash_init(&h, s->mac, sizeof(s->mac), VC_SEAL_TAG_LEN);
	crypto_generichash_update(&h, id, VC_SEAL_ID_LEN);
	crypto_generichash_update(&h, sealed, sealed_len);
	crypto_generichash_final(&h, tag, VC_SEAL_TAG_LEN);
}

#define STATE_PLAIN_LEN (8 + 8 + VC_SEAL_TAG_LEN)

void
vc_seal_state_seal(const vc_seal *s, const vc_seal_state *st,
    uint8_t out[VC_SEAL_STATE_LEN])
{
	uint8_t plain[STATE_PLAIN_LEN], ad[1 + WK_SERIAL_LEN];

	put64(plain, st->version);
	put64(plain + 8, st->count);
	memcpy(plain + 16, st->root, VC_SEAL_TAG_LEN);
	ad[0] = 'S';
	memcpy(ad + 1, s->serial, WK_SERIAL_LEN);
	randombytes_buf(out, NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE_LEN, NULL, plain,
	    sizeof(plain), ad, sizeof(ad), NULL, out, s->aead);
}

int
vc_seal_state_open(const vc_seal *s, const uint8_t *in, size_t len,
    vc_seal_state *st)
{
	uint8_t plain[STATE_PLAIN_LEN], ad[1 + WK_SERIAL_LEN];

	if (len != VC_SEAL_STATE_LEN)
		return VC_SEAL_BAD;
	ad[0] = 'S';
	memcpy(ad + 1, s->serial, WK_SERIAL_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL,
	    in + NONCE_LEN, len - NONCE_LEN, ad, sizeof(ad), in, s->aead) != 0)
		return VC_SEAL_BAD;
	st->version = get64(plain);
	st->count = get64(plain + 8);
	memcpy(st->root, plain + 16, VC_SEAL_TAG_LEN);
	return VC_SEAL_OK;
}
