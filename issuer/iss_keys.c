/*
 * the issuer's secrets: purse master keys and the CA key, sealed in the
 * database with XChaCha20-Poly1305 under a key from a key file or from a
 * passphrase (Argon2id, salt in issuer_meta). The secret's name is the AAD,
 * so a sealed value cannot be moved to another name.
 */
#include "iss.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509v3.h>
#include <sodium.h>

#include "wk_hex.h"
#include "wk_purse_crypto.h"

void
iss_fail(iss_err *e, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	e->status = status;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

void
iss_fail_db(iss_err *e, iss_db *db, int rc)
{
	fprintf(stderr, "walletkey-issuer: database: %s\n", iss_db_errmsg(db));
	if (rc == ISS_DB_RETRY) {
		iss_fail(e, 503, "busy", "the database is busy; retry the request");
		if (e != NULL)
			e->retry_after = 1;
	} else
		iss_fail(e, 500, "internal", "the issuer's database failed");
}

void
iss_now_iso(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%06ldZ", base, ts.tv_nsec / 1000);
}

int
iss_meta_get(iss_db *db, const char *name, char *out, size_t len)
{
	iss_res *r = NULL;
	const char *v;
	int rc = -1;

	if (iss_db_exec(db, "SELECT value FROM issuer_meta WHERE name = $1",
	    (iss_param[]){ ISS_PS(name) }, 1, &r) == ISS_DB_OK &&
	    (v = iss_res_text(r, 0, 0)) != NULL && strlen(v) < len) {
		memcpy(out, v, strlen(v) + 1);
		rc = 0;
	}
	iss_res_free(&r);
	return rc;
}

static int
meta_put(iss_db *db, const char *name, const char *value)
{
	return iss_db_exec(db, "INSERT INTO issuer_meta (name, value) VALUES ($1, $2)",
	    (iss_param[]){ ISS_PS(name), ISS_PS(value) }, 2, NULL);
}

/* key file: 32 raw bytes, or 64 hex digits and optional white space */
static int
read_key_file(const char *path, bool create, uint8_t key[32], char *err,
    size_t errlen)
{
	uint8_t buf[160];
	ssize_t n;
	int fd, rc = -1;

	if (create) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			char hex[65];

			randombytes_buf(key, 32);
			wk_hex_encode(key, 32, hex);
			hex[64] = '\n';
			n = write(fd, hex, 65);
			sodium_memzero(hex, sizeof(hex));
			if (close(fd) != 0 || n != 65) {
				snprintf(err, errlen, "%s: cannot write", path);
				return -1;
			}
			return 0;
		}
		if (errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n == 32) {
		memcpy(key, buf, 32);
		rc = 0;
	} else if (n > 0) {
		buf[n] = '\0';
		if (wk_hex_decode((char *)buf, key, 32) == 32)
			rc = 0;
	}
	if (rc != 0)
		snprintf(err, errlen, "%s: not a key file (want 32 bytes or 64 hex digits)",
		    path);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

int
iss_seal_key(iss_db *db, const iss_unlock *u, bool create, uint8_t key[32],
    char *err, size_t errlen)
{
	char salt_hex[2 * crypto_pwhash_SALTBYTES + 1], mode[16];
	uint8_t salt[crypto_pwhash_SALTBYTES];

	if ((u->key_file != NULL) == (u->passphrase != NULL)) {
		snprintf(err, errlen, "give one of --key-file or a passphrase");
		return -1;
	}
	if (!create) {
		if (iss_meta_get(db, "seal", mode, sizeof(mode)) != 0) {
			snprintf(err, errlen, "not an issuer database (run init first)");
			return -1;
		}
		if (strcmp(mode, u->key_file ? "keyfile" : "passphrase") != 0) {
			snprintf(err, errlen, "this issuer is sealed with a %s",
			    strcmp(mode, "keyfile") == 0 ? "key file" : "passphrase");
			return -1;
		}
	}
	if (u->key_file != NULL)
		return read_key_file(u->key_file, create, key, err, errlen);
	if (create) {
		randombytes_buf(salt, sizeof(salt));
		wk_hex_encode(salt, sizeof(salt), salt_hex);
		if (meta_put(db, "kdf_salt", salt_hex) != ISS_DB_OK) {
			snprintf(err, errlen, "%s", iss_db_errmsg(db));
			return -1;
		}
	} else if (iss_meta_get(db, "kdf_salt", salt_hex, sizeof(salt_hex)) != 0 ||
	    wk_hex_decode(salt_hex, salt, sizeof(salt)) != sizeof(salt)) {
		snprintf(err, errlen, "issuer_meta: kdf_salt missing");
		return -1;
	}
	if (crypto_pwhash(key, 32, u->passphrase, strlen(u->passphrase), salt,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
	    crypto_pwhash_ALG_ARGON2ID13) != 0) {
		snprintf(err, errlen, "passphrase: out of memory");
		return -1;
	}
	return 0;
}

/* with if_absent, an existing secret of that name is kept (and 0 returned) */
static int
secret_insert(iss_db *db, const uint8_t key[32], const char *name,
    const uint8_t *pt, size_t len, bool if_absent)
{
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	uint8_t ct[ISS_SECRET_MAX + crypto_aead_xchacha20poly1305_ietf_ABYTES];
	char nhex[2 * sizeof(nonce) + 1], chex[2 * sizeof(ct) + 1];
	unsigned long long clen;
	int rc;

	if (len > ISS_SECRET_MAX)
		return ISS_DB_ERROR;
	randombytes_buf(nonce, sizeof(nonce));
	crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &clen, pt, len,
	    (const uint8_t *)name, strlen(name), NULL, nonce, key);
	wk_hex_encode(nonce, sizeof(nonce), nhex);
	wk_hex_encode(ct, (size_t)clen, chex);
	rc = iss_db_exec(db, if_absent ? "INSERT INTO issuer_secrets (name, nonce,"
	    " sealed) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING" :
	    "INSERT INTO issuer_secrets (name, nonce, sealed)"
	    " VALUES ($1, $2, $3)", (iss_param[]){ ISS_PS(name), ISS_PS(nhex),
	    ISS_PS(chex) }, 3, NULL);
	sodium_memzero(ct, sizeof(ct));
	return rc;
}

int
iss_secret_put(iss_db *db, const uint8_t key[32], const char *name,
    const uint8_t *pt, size_t len)
{
	return secret_insert(db, key, name, pt, len, false);
}

long
iss_secret_get(iss_db *db, const uint8_t key[32], const char *name,
    uint8_t *out, size_t cap)
{
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	uint8_t ct[ISS_SECRET_MAX + crypto_aead_xchacha20poly1305_ietf_ABYTES];
	unsigned long long plen;
	iss_res *r = NULL;
	long clen, rc = -1;

	if (iss_db_exec(db, "SELECT nonce, sealed FROM issuer_secrets WHERE name = $1",
	    (iss_param[]){ ISS_PS(name) }, 1, &r) != ISS_DB_OK ||
	    iss_res_rows(r) != 1)
		goto out;
	if (wk_hex_decode(iss_res_text(r, 0, 0), nonce, sizeof(nonce)) !=
	    (long)sizeof(nonce) ||
	    (clen = wk_hex_decode(iss_res_text(r, 0, 1), ct, sizeof(ct))) <
	    crypto_aead_xchacha20poly1305_ietf_ABYTES ||
	    (size_t)clen - crypto_aead_xchacha20poly1305_ietf_ABYTES > cap)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &plen, NULL, ct,
	    (unsigned long long)clen, (const uint8_t *)name, strlen(name),
	    nonce, key) != 0)
		goto out;
	rc = (long)plen;
out:
	iss_res_free(&r);
	return rc;
}

static char *
der_hex_x509(X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	char *hex = NULL;

	if (n > 0 && (hex = malloc(2 * (size_t)n + 1)) != NULL)
		wk_hex_encode(der, (size_t)n, hex);
	OPENSSL_free(der);
	return hex;
}

/*
 * the master keys beyond the first three (which "purse_master" holds, as
 * init has always made them): one secret "purse_master.<name>" each; and
 * the SM4 masters, "purse_master.sm4.<name>" for every key of the table
 * (docs/issuer.md "SM4 purse keys"). Made at init, and made once by the
 * first server of an older database.
 */
static void
more_master_name(int id, bool sm4, char *name, size_t cap)
{
	snprintf(name, cap, "purse_master.%s%s", sm4 ? "sm4." : "",
	    wk_purse_key_names[id]);
}

static int
more_masters(iss_db *db, const uint8_t key[32], bool if_absent)
{
	uint8_t mk[WK_PURSE_KEY_LEN];
	char name[64];
	int rc = ISS_DB_OK;

	for (int id = 0; id < WK_PURSE_KEY_N && rc == ISS_DB_OK; id++) {
		for (int sm4 = 0; sm4 < 2 && rc == ISS_DB_OK; sm4++) {
			if (!sm4 && iss_mk_offset(id) < ISS_MK_LEN)
				continue;
			more_master_name(id, sm4 == 1, name, sizeof(name));
			randombytes_buf(mk, sizeof(mk));
			rc = secret_insert(db, key, name, mk, sizeof(mk), if_absent);
		}
	}
	sodium_memzero(mk, sizeof(mk));
	return rc;
}

static int
load_more_masters(iss_db *db, const uint8_t key[32], uint8_t *mk,
    uint8_t *mk_sm4, char *err, size_t errlen)
{
	char name[64];

	for (int pass = 0; pass < 2; pass++) {
		bool missing = false;

		for (int id = 0; id < WK_PURSE_KEY_N; id++) {
			size_t off = iss_mk_offset(id);

			more_master_name(id, true, name, sizeof(name));
			if (iss_secret_get(db, key, name, mk_sm4 +
			    (size_t)id * WK_PURSE_KEY_LEN, WK_PURSE_KEY_LEN) !=
			    WK_PURSE_KEY_LEN)
				missing = true;
			if (off < ISS_MK_LEN)
				continue;
			more_master_name(id, false, name, sizeof(name));
			if (iss_secret_get(db, key, name, mk + off, WK_PURSE_KEY_LEN) !=
			    WK_PURSE_KEY_LEN)
				missing = true;
		}
		if (!missing)
			return 0;
		if (pass == 0 && more_masters(db, key, true) != ISS_DB_OK)
			break;
	}
	snprintf(err, errlen, "the purse master keys do not open");
	return -1;
}

/* the OCRA master (docs/payments.md): made by the first start of an
 * issuer that has none, like the later purse masters */
static int
load_ocra_master(iss_db *db, const uint8_t key[32], iss_keys *k, char *err,
    size_t errlen)
{
	uint8_t fresh[ISS_OCRA_MK_LEN];
	int rc = -1;

	if ((k->ocra_mk = sodium_malloc(ISS_OCRA_MK_LEN)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int pass = 0; pass < 2; pass++) {
		if (iss_secret_get(db, key, "ocra_master", k->ocra_mk,
		    ISS_OCRA_MK_LEN) == ISS_OCRA_MK_LEN) {
			rc = 0;
			break;
		}
		randombytes_buf(fresh, sizeof(fresh));
		if (pass == 0 && secret_insert(db, key, "ocra_master", fresh,
		    sizeof(fresh), true) != ISS_DB_OK)
			break;
	}
	sodium_memzero(fresh, sizeof(fresh));
	if (rc != 0)
		snprintf(err, errlen, "the OCRA master key does not open");
	else
		sodium_mprotect_readonly(k->ocra_mk);
	return rc;
}

int
iss_card_ocra_key(const iss_keys *k, const uint8_t card_id[WK_MSG_CARD_ID_LEN],
    uint8_t out[32])
{
	static const char label[] = "walletkey-ocra/1";
	crypto_auth_hmacsha256_state h;

	if (k->ocra_mk == NULL)
		return -1;
	crypto_auth_hmacsha256_init(&h, k->ocra_mk, ISS_OCRA_MK_LEN);
	crypto_auth_hmacsha256_update(&h, (const uint8_t *)label, sizeof(label) - 1);
	crypto_auth_hmacsha256_update(&h, card_id, WK_MSG_CARD_ID_LEN);
	crypto_auth_hmacsha256_final(&h, out);
	sodium_memzero(&h, sizeof(h));
	return 0;
}

_Static_assert(WK_PURSE_KEY_DLK < 3 && WK_PURSE_KEY_DPK < 3 &&
    WK_PURSE_KEY_DTK < 3, "the first three keys are in purse_master");

size_t
iss_mk_offset(int id)
{
	switch (id) {
	case WK_PURSE_KEY_DLK:
		return ISS_MK_DLK;
	case WK_PURSE_KEY_DTK:
		return ISS_MK_DTK;
	case WK_PURSE_KEY_DPK:
		return ISS_MK_DPK;
	default:
		/* DLK, DPK and DTK are ids 0-2: the rest follow them in order */
		return ISS_MK_LEN + (size_t)(id - 3) * WK_PURSE_KEY_LEN;
	}
}

int
iss_keys_create(iss_db *db, const iss_unlock *u, uint32_t ceiling, char *err,
    size_t errlen)
{
	uint8_t *key = NULL, *mk = NULL;
	unsigned char *der = NULL;
	EVP_PKEY *ca = NULL;
	X509 *cert = NULL;
	char *cert_hex = NULL, id_hex[17], num[16], cn[64], tmp[8];
	uint8_t id[8];
	int n = 0, rc = -1;

	if (iss_meta_get(db, "seal", tmp, sizeof(tmp)) == 0) {
		snprintf(err, errlen, "this database already holds an issuer");
		return -1;
	}
	if ((key = sodium_malloc(32)) == NULL || (mk = sodium_malloc(ISS_MK_LEN)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (iss_db_begin(db) != ISS_DB_OK)
		goto dberr;
	if (iss_seal_key(db, u, true, key, err, errlen) != 0)
		goto out;
	randombytes_buf(mk, ISS_MK_LEN);
	randombytes_buf(id, sizeof(id));
	wk_hex_encode(id, sizeof(id), id_hex);
	snprintf(cn, sizeof(cn), "walletkey issuer CA %s", id_hex);
	if ((ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (cert = iss_ca_self_signed(ca, cn)) == NULL ||
	    (cert_hex = der_hex_x509(cert)) == NULL ||
	    (n = i2d_PrivateKey(ca, &der)) <= 0) {
		snprintf(err, errlen, "cannot create the CA key and certificate");
		goto out;
	}
	snprintf(num, sizeof(num), "%u", ceiling);
	if (meta_put(db, "seal", u->key_file ? "keyfile" : "passphrase") != ISS_DB_OK ||
	    meta_put(db, "issuer_id", id_hex) != ISS_DB_OK ||
	    meta_put(db, "ca_cert", cert_hex) != ISS_DB_OK ||
	    meta_put(db, "key_version", "1") != ISS_DB_OK ||
	    meta_put(db, "ceiling", num) != ISS_DB_OK ||
	    iss_secret_put(db, key, "purse_master", mk, ISS_MK_LEN) != ISS_DB_OK ||
	    iss_secret_put(db, key, "ca_key", der, (size_t)n) != ISS_DB_OK ||
	    more_masters(db, key, false) != ISS_DB_OK ||
	    iss_db_commit(db) != ISS_DB_OK)
		goto dberr;
	rc = 0;
	goto out;
dberr:
	snprintf(err, errlen, "%s", iss_db_errmsg(db));
out:
	if (rc != 0)
		iss_db_rollback(db);
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)n);
	free(cert_hex);
	X509_free(cert);
	EVP_PKEY_free(ca);
	sodium_free(mk);
	sodium_free(key);
	return rc;
}

int
iss_keys_load(iss_db *db, const iss_unlock *u, iss_keys *k, char *err,
    size_t errlen)
{
	uint8_t *key = NULL, *der = NULL;
	char *hex = NULL, v[8];
	uint8_t certder[2048];
	const uint8_t *p;
	long n;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	if ((key = sodium_malloc(32)) == NULL || (der = sodium_malloc(512)) == NULL ||
	    (k->mk = sodium_malloc(ISS_MK_ALL)) == NULL ||
	    (k->mk_sm4 = sodium_malloc(ISS_MK_SM4_ALL)) == NULL ||
	    (hex = malloc(2 * sizeof(certder) + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (iss_seal_key(db, u, false, key, err, errlen) != 0)
		goto out;
	if (iss_secret_get(db, key, "purse_master", k->mk, ISS_MK_LEN) != ISS_MK_LEN ||
	    (n = iss_secret_get(db, key, "ca_key", der, 512)) <= 0) {
		snprintf(err, errlen, "the issuer's secrets do not open with this %s",
		    u->key_file ? "key file" : "passphrase");
		goto out;
	}
	if (load_more_masters(db, key, k->mk, k->mk_sm4, err, errlen) != 0 ||
	    load_ocra_master(db, key, k, err, errlen) != 0 ||
	    iss_mfg_load(db, key, &k->mfg, &k->n_mfg, err, errlen) != 0)
		goto out;
	p = der;
	if ((k->ca_key = d2i_AutoPrivateKey(NULL, &p, n)) == NULL) {
		snprintf(err, errlen, "the CA key does not parse");
		goto out;
	}
	if (iss_meta_get(db, "ca_cert", hex, 2 * sizeof(certder) + 1) != 0 ||
	    (n = wk_hex_decode(hex, certder, sizeof(certder))) <= 0 ||
	    (p = certder, k->ca_cert = d2i_X509(NULL, &p, n)) == NULL) {
		snprintf(err, errlen, "the CA certificate is missing");
		goto out;
	}
	if (iss_meta_get(db, "key_version", v, sizeof(v)) != 0) {
		snprintf(err, errlen, "issuer_meta: key_version missing");
		goto out;
	}
	k->key_version = (uint8_t)atoi(v);
	if ((k->trust = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(k->trust, k->ca_cert) != 1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	sodium_mprotect_readonly(k->mk);
	sodium_mprotect_readonly(k->mk_sm4);
	rc = 0;
out:
	if (rc != 0)
		iss_keys_clear(k);
	free(hex);
	sodium_free(der);
	sodium_free(key);
	return rc;
}

void
iss_keys_clear(iss_keys *k)
{
	sodium_free(k->mk);
	sodium_free(k->ocra_mk);
	sodium_free(k->mk_sm4);
	EVP_PKEY_free(k->ca_key);
	X509_STORE_free(k->trust);
	X509_STORE_free(k->mfg);
	X509_free(k->ca_cert);
	memset(k, 0, sizeof(*k));
}

/*
 * the purse application serial (EF 0015 bytes 11-20, 10 bytes BCD) of a
 * card, as docs/purse.md's "serial": "auto" makes it: "0000" then the last
 * 16 decimal digits of the 8-byte card serial read big-endian. It is the
 * diversification factor (pboc-purse.md 4.4), as on the card and host SAM.
 */
void
iss_app_serial(const uint8_t card_id[WK_MSG_CARD_ID_LEN], uint8_t out[10])
{
	uint64_t v = 0;

	for (int i = 0; i < WK_MSG_CARD_ID_LEN; i++)
		v = (v << 8) | card_id[i];
	v %= 10000000000000000ull;
	memset(out, 0, 10);
	for (int i = 9; i >= 2; i--) {
		out[i] = (uint8_t)(v % 10);
		v /= 10;
		out[i] = (uint8_t)(out[i] | ((v % 10) << 4));
		v /= 10;
	}
}

int
iss_card_key(const iss_keys *k, int id, uint8_t alg,
    const uint8_t card_id[WK_MSG_CARD_ID_LEN], uint8_t out[WK_PURSE_KEY_LEN])
{
	uint8_t serial[10];
	const uint8_t *mk;

	if (id < 0 || id >= WK_PURSE_KEY_N)
		return -1;
	if (alg == WK_PURSE_ALG_3DES)
		mk = k->mk + iss_mk_offset(id);
	else if (alg == WK_PURSE_ALG_SM4)
		mk = k->mk_sm4 + (size_t)id * WK_PURSE_KEY_LEN;
	else
		return -1;
	iss_app_serial(card_id, serial);
	return wk_purse_diversify(alg, mk, serial, sizeof(serial), out) ==
	    WK_PURSE_CRYPTO_OK ? 0 : -1;
}

int
iss_perso_keys(const iss_keys *k, const uint8_t card_id[WK_MSG_CARD_ID_LEN],
    const uint8_t algs[WK_PURSE_KEY_N], uint8_t out[ISS_PERSO_KEYS_LEN])
{
	for (int id = 0; id < WK_PURSE_KEY_N; id++) {
		uint8_t *e = out + (size_t)id * WK_MSG_PERSO_ENTRY_LEN;

		e[0] = (uint8_t)id;
		e[1] = algs[id];
		if (iss_card_key(k, id, algs[id], card_id, e + 2) != 0) {
			sodium_memzero(out, ISS_PERSO_KEYS_LEN);
			return -1;
		}
	}
	return 0;
}

