/*
 * walletkey-pkcs11: internals shared by the module's files. Everything here
 * runs under the module lock (p11_lock.c) unless a comment says otherwise.
 *
 * The direction of the folder: a file calls only the files of its own
 * layer listed before it and the layers below; never one above. From the
 * bottom:
 *
 *   1. util/lock   p11_util.c, p11_lock.c, p11_piv.c (PIV facts),
 *                  p11_crypto.c (host cryptography, OpenSSL only),
 *                  p11_mech_table.c (what each mechanism is)
 *   2. object      p11_object.c (objects, attributes, templates),
 *                  p11_attr.c (the attribute rules of each class),
 *                  p11_object_card.c (the objects of the card)
 *   3. slot        p11_slot.c (readers, tokens, card transactions),
 *                  p11_gm_objects.c (the GM application's keys),
 *                  p11_token.c (the token's objects, read from the card)
 *   4. session     p11_session.c (sessions, their operations' state)
 *   5. mech        p11_cipher.c (secret-key ciphers and MACs),
 *                  p11_soft_key.c, p11_soft.c (session keys in OpenSSL),
 *                  p11_gm.c (SM2 with the GM keys), p11_op.c (C_xxxInit,
 *                  updates), p11_sign.c (sign, verify), p11_crypt.c
 *                  (encrypt, decrypt, digest), p11_keys.c (generate,
 *                  wrap, unwrap, derive), p11_create.c (create, destroy)
 *   6. module      p11_module.c (state, lock, function lists), the entry
 *                  points p11_entry_token.c, p11_entry_object.c,
 *                  p11_entry_crypto.c (p11_entry.h: one mechanism for all)
 *
 * so a change in one file reaches only the files above it. The test
 * `layering` (tests/layering.py) checks the order; docs/DEVELOPING.md has
 * the picture of the whole project.
 */
#ifndef P11_INTERNAL_H
#define P11_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "p11_compat.h"
#include "walletkey.h"

#define P11_MAX_SLOTS 16
#define P11_LIB_MAJOR 0
#define P11_LIB_MINOR 1
#define P11_MANUFACTURER "walletkey"
#define P11_PIN_MIN 6
#define P11_PIN_MAX 8
#define P11_MAX_INPUT (64u * 1024u)	/* single-part data kept for the card */

/* ---- p11_util.c ---- */

/* the one translation of a libwalletkey code into a CK_RV */
CK_RV p11_rv(int wk);
/* copies s into a blank-padded field of n bytes (no terminator) */
void p11_pad(CK_UTF8CHAR *dst, size_t n, const char *s);
/* the two-call size convention: NULL out → *len = need, CKR_OK */
CK_RV p11_copy_out(const void *src, size_t n, CK_BYTE *out, CK_ULONG *out_len);
void p11_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- p11_lock.c ---- */

CK_RV p11_lock_setup(const CK_C_INITIALIZE_ARGS *args);
void p11_lock_teardown(void);
void p11_lock(void);
void p11_unlock(void);

/* ---- PIV facts (p11_piv.c) ---- */

enum p11_alg {
	P11_ALG_NONE = 0,
	P11_ALG_RSA1024 = 0x06,
	P11_ALG_RSA2048 = 0x07,
	P11_ALG_RSA3072 = 0x05,
	P11_ALG_RSA4096 = 0x16,
	P11_ALG_P256 = 0x11,
	P11_ALG_P384 = 0x14,
	P11_ALG_ED25519 = 0xE0,
	P11_ALG_X25519 = 0xE1,
	P11_ALG_RSA_SOFT = 0x01,	/* a session RSA key of another size */
	P11_ALG_GM_SM2 = 0xF2,		/* a GM applet container's signing key */
	P11_ALG_GM_SM2_ENC = 0xF3,	/* a GM applet container's encryption key */
};

/*
 * SM2/SM3 (docs/gm.md): PKCS#11 3.x defines none, so walletkey's own
 * vendor-defined values ("WK" in the vendor range), documented in
 * docs/pkcs11.md. CKM_WK_SM2 signs e (32 bytes, SKF's form);
 * CKM_WK_SM2_SM3 signs a message as SM3(Z || M), its optional parameter the
 * SM2 user id (default 1234567812345678); signatures are r || s (64 bytes).
 * CKM_WK_SM2_ENC is SM2 encryption (GM/T 0003.4) with the containers'
 * encryption keys; ciphertexts are the DER SEQUENCE { x, y, C3, C2 } of
 * GM/T 0009 7.2, the form OpenSSL's SM2 EVP_PKEY_encrypt/decrypt use.
 */
#define CKK_WK_SM2 (CKK_VENDOR_DEFINED | 0x574B0001UL)
#define CKM_WK_SM2 (CKM_VENDOR_DEFINED | 0x574B0001UL)
#define CKM_WK_SM2_SM3 (CKM_VENDOR_DEFINED | 0x574B0002UL)
#define CKM_WK_SM3 (CKM_VENDOR_DEFINED | 0x574B0003UL)
#define CKM_WK_SM2_ENC (CKM_VENDOR_DEFINED | 0x574B0004UL)
/*
 * SM4 (GM/T 0002) session secret keys in software (OpenSSL): key
 * generation, ECB, CBC, CBC with PKCS#7 padding (the IV, 16 bytes, is the
 * parameter), and a CBC-MAC (zero IV, the data zero-padded to whole
 * blocks, the whole last block: GM/T 0016 7.6.38's MAC, PKCS#11's
 * CKM_AES_MAC rule for the padding); docs/pkcs11.md
 */
#define CKK_WK_SM4 (CKK_VENDOR_DEFINED | 0x574B0002UL)
#define CKM_WK_SM4_KEY_GEN (CKM_VENDOR_DEFINED | 0x574B0010UL)
#define CKM_WK_SM4_ECB (CKM_VENDOR_DEFINED | 0x574B0011UL)
#define CKM_WK_SM4_CBC (CKM_VENDOR_DEFINED | 0x574B0012UL)
#define CKM_WK_SM4_CBC_PAD (CKM_VENDOR_DEFINED | 0x574B0013UL)
#define CKM_WK_SM4_MAC (CKM_VENDOR_DEFINED | 0x574B0014UL)

typedef struct p11_piv_slot {
	uint8_t key_ref;	/* 9A, 9C, ... */
	uint8_t id;		/* CKA_ID: one byte, as OpenSC and ykcs11 number them */
	uint32_t cert_tag;	/* certificate container */
	const char *name;
	bool always_auth;	/* PIN always (9C) */
	bool no_pin;		/* PIN never (9E) */
} p11_piv_slot;

const p11_piv_slot *p11_piv_slots(size_t *n);
const p11_piv_slot *p11_piv_slot_by_ref(uint8_t ref);
const p11_piv_slot *p11_piv_slot_by_id(const uint8_t *id, size_t len);

typedef struct p11_piv_container {
	uint32_t tag;
	const char *name;
	const char *oid;	/* SP 800-73-4 part 1, table 3 */
	bool pin;		/* readable only after VERIFY */
} p11_piv_container;

const p11_piv_container *p11_piv_containers(size_t *n);

/* the CHUID's GUID (tag 34, 16 bytes, not all zero); false when absent */
bool p11_chuid_guid(const uint8_t *chuid, size_t len, uint8_t guid[16]);
/* the value of the first element of a one-byte tag in a BER-TLV list */
bool p11_tlv_find(const uint8_t *p, size_t len, uint8_t tag,
    const uint8_t **v, size_t *vlen);
bool p11_alg_is_rsa(uint8_t alg);
bool p11_alg_is_ec(uint8_t alg);
unsigned p11_alg_bits(uint8_t alg);

/* ---- objects (p11_object.c; the card's: p11_object_card.c) ---- */

CK_OBJECT_HANDLE p11_handle_next(void);

typedef struct p11_object {
	CK_OBJECT_HANDLE handle;
	CK_OBJECT_CLASS cls;
	uint8_t key_ref;	/* keys and certificates: the PIV slot */
	uint32_t tag;		/* certificates and data objects: the container */
	uint8_t alg;		/* keys: the PIV algorithm */
	bool private_obj;
	bool always_auth;
	CK_SESSION_HANDLE session;	/* session objects: the owner, else 0 */
	bool soft;		/* key material in host memory (session keys) */
	void *pkey;		/* soft asymmetric keys: EVP_PKEY * */
	CK_ATTRIBUTE *attrs;
	size_t n_attrs;
	struct p11_object *next;
} p11_object;

p11_object *p11_object_new(CK_OBJECT_CLASS cls);
void p11_object_free(p11_object **obj);
void p11_object_free_list(p11_object **list);
void p11_object_append(p11_object **list, p11_object *obj);
/* sets (replaces) an attribute; returns -1 on memory failure (sticky) */
int p11_attr_set(p11_object *obj, CK_ATTRIBUTE_TYPE type, const void *value,
    size_t len);
int p11_attr_bool(p11_object *obj, CK_ATTRIBUTE_TYPE type, bool v);
int p11_attr_ulong(p11_object *obj, CK_ATTRIBUTE_TYPE type, CK_ULONG v);
/* sets type to v (to empty) unless the object has it already */
int p11_attr_default_bool(p11_object *o, CK_ATTRIBUTE_TYPE type, bool v);
int p11_attr_default_empty(p11_object *o, CK_ATTRIBUTE_TYPE type);
const CK_ATTRIBUTE *p11_attr_find(const p11_object *obj,
    CK_ATTRIBUTE_TYPE type);
bool p11_attr_true(const p11_object *obj, CK_ATTRIBUTE_TYPE type);
/* C_GetAttributeValue semantics for one object */
CK_RV p11_object_get_attrs(const p11_object *obj, CK_ATTRIBUTE *tmpl,
    CK_ULONG count);
bool p11_object_match(const p11_object *obj, const CK_ATTRIBUTE *tmpl,
    CK_ULONG count);
/* template helpers: CKR_OK when absent (found false), CKR_ATTRIBUTE_VALUE_INVALID when malformed */
CK_RV p11_tmpl_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG count,
    CK_ATTRIBUTE_TYPE type, CK_ULONG *v, bool *found);
CK_RV p11_tmpl_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG count,
    CK_ATTRIBUTE_TYPE type, bool *v, bool *found);
const CK_ATTRIBUTE *p11_tmpl_find(const CK_ATTRIBUTE *tmpl, CK_ULONG count,
    CK_ATTRIBUTE_TYPE type);
/* checks a template for duplicates, NULL values with lengths, unknown types */
CK_RV p11_tmpl_check(const CK_ATTRIBUTE *tmpl, CK_ULONG count);
/* is a CKA_EC_PARAMS the curve of DER oid (or its PrintableString name)? */
bool p11_ec_params_are(const CK_ATTRIBUTE *a, const uint8_t *oid,
    size_t oid_len, const char *name);

/* ---- the attribute rules of each class (p11_attr.c) ---- */

/* the class rules: is type an attribute of an object of this class? */
bool p11_attr_known(CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE type);
/* a secret key's length fits its type (AES 16/24/32, DES3 24, generic 1..512) */
bool p11_secret_len_ok(CK_KEY_TYPE kt, size_t len);
/* may a template of a session object of cls give these attributes? */
CK_RV p11_tmpl_valid(CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *t, CK_ULONG n,
    bool keygen, bool so);
/* copies the template's attributes and the defaults of a session object */
CK_RV p11_soft_defaults(p11_object *o, const CK_ATTRIBUTE *t, CK_ULONG n,
    bool local, CK_MECHANISM_TYPE gen_mech);
CK_RV p11_object_set_attrs(p11_object *obj, const CK_ATTRIBUTE *t,
    CK_ULONG n, bool so, bool copying);
CK_RV p11_object_copy(const p11_object *obj, p11_object **out);

/*
 * builds the objects of a key slot: a certificate when cert_der is given,
 * public and private key from the certificate's or the card's SPKI
 */
CK_RV p11_objects_for_slot(const p11_piv_slot *ps, const uint8_t *cert_der,
    size_t cert_len, const uint8_t *spki, size_t spki_len, uint8_t alg,
    uint8_t pin_policy, p11_object **list);
CK_RV p11_object_data(const p11_piv_container *pc, const uint8_t *value,
    size_t len, p11_object **out);
/*
 * walletkey's own data objects on the card (PIV tags 5FFF20..2F public,
 * 5FFF30..3F read after VERIFY): 01 label, 02 application, 03 object id,
 * 04 value, each BER-TLV
 */
#define P11_DATA_FIRST 0x5FFF20u
#define P11_DATA_PRIVATE 0x5FFF30u
#define P11_DATA_LAST 0x5FFF3Fu
#define P11_DATA_MAX 3000u	/* the encoding, within PIV's 3063 bytes */
CK_RV p11_user_data_decode(uint32_t tag, const uint8_t *p, size_t len,
    p11_object **out);
/* *out malloc'd; CKR_ATTRIBUTE_VALUE_INVALID when too large */
CK_RV p11_user_data_encode(const CK_ATTRIBUTE *t, CK_ULONG n, uint8_t **out,
    size_t *len);

/* ---- host cryptography (p11_crypto.c, OpenSSL EVP only) ---- */

typedef struct p11_x509 {
	uint8_t *subject, *issuer, *serial, *spki;
	size_t subject_len, issuer_len, serial_len, spki_len;
	char label[64];		/* subject CN */
	char start[8], end[8];	/* CK_DATE YYYYMMDD, empty when unknown */
	bool has_dates;
} p11_x509;

CK_RV p11_x509_parse(const uint8_t *der, size_t len, p11_x509 *out);
void p11_x509_clear(p11_x509 *x);
/*
 * the key attributes of an SPKI (CKA_KEY_TYPE, CKA_MODULUS,
 * CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT, CKA_EC_PARAMS, CKA_EC_POINT,
 * CKA_PUBLIC_KEY_INFO) set on obj; *alg gets the PIV algorithm
 */
CK_RV p11_spki_attrs(p11_object *obj, const uint8_t *spki, size_t len,
    uint8_t *alg);	/* p11_object_card.c */
/* DER OIDs of the named curves (CKA_EC_PARAMS) */
extern const uint8_t p11_oid_p256[10], p11_oid_p384[7], p11_oid_ed25519[5],
    p11_oid_x25519[5];
void *p11_libctx(void);	/* OSSL_LIB_CTX * of the module */
void p11_soft_free(void *pkey);	/* EVP_PKEY_free */
/* DER OID from dotted text; *out malloc'd */
CK_RV p11_oid_der(const char *dotted, uint8_t **out, size_t *len);
size_t p11_hash_len(CK_MECHANISM_TYPE hash);
const void *p11_hash_md(CK_MECHANISM_TYPE hash);	/* const EVP_MD * */
const void *p11_digest_md(CK_MECHANISM_TYPE hash);	/* the same and MD5 */
CK_RV p11_digest(CK_MECHANISM_TYPE hash, const uint8_t *in, size_t len,
    uint8_t *out, size_t *out_len);
CK_RV p11_pkcs1_sign_pad(CK_MECHANISM_TYPE hash, const uint8_t *in,
    size_t len, uint8_t *em, size_t em_len);
CK_RV p11_pss_pad(CK_MECHANISM_TYPE hash, CK_MECHANISM_TYPE mgf_hash,
    size_t salt_len, const uint8_t *mhash, size_t mhash_len, size_t mod_bits,
    uint8_t *em, size_t em_len);
/* decryption unpadding: out sized by *out_len; CKR_ENCRYPTED_DATA_INVALID on bad padding */
CK_RV p11_pkcs1_unpad(const uint8_t *em, size_t em_len, uint8_t *out,
    size_t *out_len);
CK_RV p11_oaep_unpad(CK_MECHANISM_TYPE hash, CK_MECHANISM_TYPE mgf_hash,
    const uint8_t *label, size_t label_len, const uint8_t *em, size_t em_len,
    uint8_t *out, size_t *out_len);
/*
 * host-side verify and encrypt with the public key in SPKI form. base is
 * CKM_RSA_PKCS, CKM_RSA_X_509, CKM_RSA_PKCS_PSS, CKM_ECDSA or CKM_EDDSA
 * (verify), CKM_RSA_PKCS, CKM_RSA_X_509 or CKM_RSA_PKCS_OAEP (encrypt);
 * hash is 0 or the digest tbs already is (RSA PKCS#1 wraps it in a
 * DigestInfo, PSS takes it as mHash)
 */
CK_RV p11_host_verify(const uint8_t *spki, size_t spki_len,
    CK_MECHANISM_TYPE base, CK_MECHANISM_TYPE hash, CK_MECHANISM_TYPE mgf_hash,
    size_t salt_len, const uint8_t *tbs, size_t tbs_len, const uint8_t *sig,
    size_t sig_len);
CK_RV p11_host_encrypt(const uint8_t *spki, size_t spki_len,
    CK_MECHANISM_TYPE base, CK_MECHANISM_TYPE hash, CK_MECHANISM_TYPE mgf_hash,
    const uint8_t *label, size_t label_len, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t *out_len);
/* raw r||s (2 * field bytes) to DER ECDSA-Sig-Value; *der malloc'd */
CK_RV p11_ecdsa_raw_to_der(const uint8_t *raw, size_t len, uint8_t **der,
    size_t *der_len);

/* ---- mechanisms (p11_mech_table.c) ---- */

typedef struct p11_mech {
	CK_MECHANISM_TYPE type;
	CK_ULONG min_bits, max_bits;
	CK_FLAGS flags;
	CK_KEY_TYPE key_type;	/* CKK_VENDOR_DEFINED: not a key mechanism */
	CK_MECHANISM_TYPE hash;	/* hashing mechanisms: the digest; else 0 */
	bool pss, pkcs1, raw;
} p11_mech;

const p11_mech *p11_mech_find(CK_MECHANISM_TYPE type);
bool p11_mech_secret(CK_MECHANISM_TYPE type);	/* a secret-key cipher or MAC */
const p11_mech *p11_mech_list(size_t *n);

/* ---- slots and tokens (p11_slot.c; the objects: p11_token.c) ---- */

typedef struct p11_slot {
	bool used;		/* a reader has had this slot id */
	bool reader_present;
	char reader[128];
	wk_card *card;
	wk_piv *piv;
	bool token;		/* a PIV application answered */
	bool walletkey;
	uint32_t generation;	/* bumped at every insertion and removal */
	char label[33];
	char serial[17];
	char model[17];
	uint8_t version[3];
	bool loaded;		/* objects read */
	p11_object *objects;
	CK_USER_TYPE login;	/* CKU_USER, CKU_SO, or (CK_ULONG)-1 */
	bool so_puk;		/* the SO logged in with the PUK (kept for C_InitPIN) */
	bool mgm_protected;	/* the user's PIN opens a PIN-protected 9B key */
	bool piv_selected;	/* this module selected PIV last (another program may not have) */
	uint8_t so_secret[8];
	size_t so_secret_len;
	int pin_tries;		/* -1: unknown */
	int pin_max;
	int puk_tries;		/* -1: unknown (the card has no GET METADATA) */
	int puk_max;
	/* a wrong PIN (PUK, management key) entered since the last successful
	 * login, one the card counted or one refused here without a try: PKCS#11
	 * defines CKF_USER_PIN_COUNT_LOW (CKF_SO_PIN_COUNT_LOW) as that */
	bool pin_wrong;
	bool so_wrong;
	bool event;		/* a change not yet reported by C_WaitForSlotEvent */
	bool seen_token;	/* token state last reported */
} p11_slot;

#define P11_NOBODY ((CK_USER_TYPE)-1)

extern p11_slot p11_slots[P11_MAX_SLOTS];

CK_RV p11_slots_init(void);
void p11_slots_fini(bool forked);
/* rescans readers and cards; returns CKR_OK even when PC/SC is absent */
CK_RV p11_slots_refresh(void);
CK_RV p11_slot_get(CK_SLOT_ID id, p11_slot **out);
/* the token in slot, or CKR_TOKEN_NOT_PRESENT */
CK_RV p11_token_get(CK_SLOT_ID id, p11_slot **out);
CK_RV p11_token_load(p11_slot *slot);
/* after a card error: forget the token when the card went away */
CK_RV p11_token_check(p11_slot *slot, int wk);
void p11_token_gone(p11_slot *slot);
CK_RV p11_token_pin_info(p11_slot *slot);
CK_RV p11_token_load_private(p11_slot *slot);
void p11_token_drop_private(p11_slot *slot);
/* a PC/SC transaction with the PIV application selected */
CK_RV p11_card_begin(p11_slot *slot);
/* the same without the token check (for the token's own loading) */
CK_RV p11_card_open(p11_slot *slot);
/*
 * a private-key command in the fewest round trips: see p11_slot.c. fn runs
 * the libwalletkey call and returns its wk_rc (in *wk)
 */
typedef int (*p11_card_fn)(p11_slot *slot, void *arg);
CK_RV p11_card_run(p11_slot *slot, p11_card_fn fn, void *arg, int *wk);
/* p11_card_run of wk_piv_sign, wk_piv_decrypt or wk_piv_derive (*out_len: the room) */
typedef int (*p11_piv_private_fn)(wk_piv *piv, uint8_t key_ref, uint8_t alg,
    const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len);
CK_RV p11_card_private(p11_slot *slot, p11_piv_private_fn fn, uint8_t key_ref,
    uint8_t alg, const uint8_t *in, size_t in_len, uint8_t *out,
    size_t *out_len, int *wk);
/* may this login write to the card (the SO, or the user with a PIN-protected 9B key)? */
bool p11_may_write(const p11_slot *slot);
/* p11_card_begin, then 9B authenticated with the PIN-protected key for the user */
CK_RV p11_write_begin(p11_slot *slot);
/* after the user's VERIFY: is the management key PIN-protected (Yubico)? */
void p11_token_find_protected_mgm(p11_slot *slot);
CK_RV p11_token_alive(p11_slot *slot);
void p11_card_end(p11_slot *slot);
CK_RV p11_token_reload_key(p11_slot *slot, const p11_piv_slot *ps);
p11_object *p11_token_find(p11_slot *slot, CK_OBJECT_HANDLE h);
/* the token object (not a session object) of class cls in key slot key_ref */
p11_object *p11_token_find_key(p11_slot *slot, CK_OBJECT_CLASS cls,
    uint8_t key_ref);
/* one pending event: CKR_OK with *id, or CKR_NO_EVENT */
CK_RV p11_slots_event(CK_SLOT_ID *id);

/* ---- sessions (p11_session.c) ---- */

enum p11_op_kind {
	P11_OP_FIND,
	P11_OP_SIGN,
	P11_OP_VERIFY,
	P11_OP_ENCRYPT,
	P11_OP_DECRYPT,
	P11_OP_DIGEST,
	P11_OP_SIGN_RECOVER,
	P11_OP_VERIFY_RECOVER,
	P11_OP_COUNT,
};

typedef struct p11_op {
	bool active;
	CK_MECHANISM_TYPE mech;
	const p11_mech *info;
	CK_OBJECT_HANDLE key;
	uint8_t key_ref, alg;
	size_t mod_bits;
	uint8_t *spki;
	size_t spki_len;
	CK_MECHANISM_TYPE hash, mgf_hash;
	size_t salt_len;
	uint8_t *label;
	size_t label_len;
	void *md;		/* EVP_MD_CTX * for hashing mechanisms */
	uint8_t *buf;		/* accumulated input */
	size_t len;
	bool multi;		/* an Update was called */
	bool need_ctx_login;
	bool ctx_login_done;
	CK_OBJECT_HANDLE *found;
	size_t n_found, pos;
	bool soft;		/* the key is a session key: OpenSSL, not the card */
	void *pkey;		/* EVP_PKEY * (a reference) of a soft key */
	void *cctx;		/* EVP_CIPHER_CTX * of a secret-key cipher */
	void *mac;		/* EVP_MAC_CTX * of an HMAC */
	size_t block;		/* cipher block size (1 for stream modes) */
	size_t pending;		/* bytes the cipher holds back */
	bool pad;		/* CBC_PAD */
	bool enc;
	bool single;		/* a one-part call asked for the size */
	/* SM4 CBC-MAC (p11_cipher.c): the last cipher block, the bytes so far */
	uint8_t cbc_last[16];
	size_t mac_total;
	/* GM keys (p11_gm.c): container, user id, the context login's PIN */
	char gm_cont[WK_GM_NAME_MAX + 1];
	uint8_t gm_id[WK_GM_ID_MAX];
	size_t gm_id_len;
	uint8_t gm_pin[WK_GM_PIN_MAX];
	size_t gm_pin_len;
} p11_op;

typedef struct p11_session {
	CK_SESSION_HANDLE handle;
	CK_SLOT_ID slot;
	CK_FLAGS flags;
	uint32_t generation;
	p11_op op[P11_OP_COUNT];
	struct p11_session *next;
} p11_session;

void p11_sessions_fini(void);
CK_RV p11_session_open(CK_SLOT_ID slot, CK_FLAGS flags,
    CK_SESSION_HANDLE *out);
CK_RV p11_session_close(CK_SESSION_HANDLE h);
void p11_session_close_slot(CK_SLOT_ID slot);
/*
 * the session, its slot and token: CKR_SESSION_HANDLE_INVALID when unknown,
 * CKR_DEVICE_REMOVED (once; the session is closed) when its card went away
 */
CK_RV p11_session_get(CK_SESSION_HANDLE h, p11_session **s, p11_slot **slot);
bool p11_session_rw(const p11_session *s);
CK_STATE p11_session_state(const p11_session *s, const p11_slot *slot);
bool p11_slot_has_ro_session(CK_SLOT_ID slot);
size_t p11_slot_session_count(CK_SLOT_ID slot, bool rw_only);
void p11_op_end(p11_op *op);
/* objects visible to s: token objects (private ones only when logged in) and its session objects */
bool p11_object_visible(const p11_session *s, const p11_slot *slot,
    const p11_object *obj);
CK_RV p11_object_get(p11_session *s, p11_slot *slot, CK_OBJECT_HANDLE h,
    p11_object **out);

/*
 * ---- the cryptographic entry points' workers (p11_op.c, p11_sign.c,
 * p11_crypt.c, p11_keys.c, p11_create.c) ----
 */

CK_RV p11_op_init(p11_session *s, p11_slot *slot, enum p11_op_kind kind,
    const CK_MECHANISM *mech, CK_OBJECT_HANDLE key);
CK_RV p11_op_sign(p11_session *s, p11_slot *slot, const uint8_t *data,
    size_t len, uint8_t *sig, CK_ULONG *sig_len, bool final_only);
CK_RV p11_op_update(p11_session *s, enum p11_op_kind kind,
    const uint8_t *data, size_t len);
CK_RV p11_op_verify(p11_session *s, const uint8_t *data, size_t len,
    const uint8_t *sig, size_t sig_len, bool final_only);
CK_RV p11_op_decrypt(p11_session *s, p11_slot *slot, const uint8_t *in,
    size_t len, uint8_t *out, CK_ULONG *out_len);
CK_RV p11_op_encrypt(p11_session *s, const uint8_t *in, size_t len,
    uint8_t *out, CK_ULONG *out_len);
/* C_EncryptUpdate/Final and C_DecryptUpdate/Final: secret-key ciphers */
CK_RV p11_op_crypt_part(p11_session *s, enum p11_op_kind kind,
    const uint8_t *in, size_t len, uint8_t *out, CK_ULONG *out_len,
    bool final);
CK_RV p11_wrap(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    CK_OBJECT_HANDLE wkey, CK_OBJECT_HANDLE key, uint8_t *out,
    CK_ULONG *out_len);
CK_RV p11_genkey(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV p11_op_digest(p11_session *s, const uint8_t *in, size_t len,
    uint8_t *out, CK_ULONG *out_len, bool final_only);
CK_RV p11_keygen(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    const CK_ATTRIBUTE *pub_t, CK_ULONG pub_n, const CK_ATTRIBUTE *priv_t,
    CK_ULONG priv_n, CK_OBJECT_HANDLE *pub_h, CK_OBJECT_HANDLE *priv_h);
CK_RV p11_derive(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    CK_OBJECT_HANDLE base, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
    CK_OBJECT_HANDLE *out);
CK_RV p11_unwrap(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    CK_OBJECT_HANDLE key, const uint8_t *wrapped, size_t len,
    const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_OBJECT_HANDLE *out);
CK_RV p11_create(p11_session *s, p11_slot *slot, const CK_ATTRIBUTE *tmpl,
    CK_ULONG count, CK_OBJECT_HANDLE *out);
CK_RV p11_destroy(p11_session *s, p11_slot *slot, CK_OBJECT_HANDLE h);

/* ---- software keys: session objects (p11_soft.c) ---- */

CK_RV p11_soft_create(p11_session *s, p11_slot *slot, const CK_ATTRIBUTE *t,
    CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV p11_soft_keypair(p11_session *s, p11_slot *slot, const CK_MECHANISM *m,
    const CK_ATTRIBUTE *pub_t, CK_ULONG pub_n, const CK_ATTRIBUTE *priv_t,
    CK_ULONG priv_n, CK_OBJECT_HANDLE *pub_h, CK_OBJECT_HANDLE *priv_h);
CK_RV p11_soft_genkey(p11_session *s, p11_slot *slot, const CK_MECHANISM *m,
    const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out);
/* a secret key object from a value (unwrap, derive); template checked */
CK_RV p11_soft_secret(p11_session *s, p11_slot *slot, const uint8_t *value,
    size_t len, const CK_ATTRIBUTE *t, CK_ULONG n, bool local,
    CK_OBJECT_HANDLE *out);
/* the private-key operation as the card answers it: RSA m^d, ECDSA DER, Ed25519 raw */
CK_RV p11_soft_private(void *pkey, uint8_t alg, const uint8_t *in,
    size_t len, uint8_t *out, size_t *out_len);
CK_RV p11_soft_ecdh(void *pkey, uint8_t alg, const uint8_t *peer,
    size_t peer_len, uint8_t *out, size_t *out_len);
/* secret-key ciphers and MACs (p11_cipher.c) */
CK_RV p11_soft_cipher_init(p11_op *op, const p11_object *key,
    const CK_MECHANISM *m, bool enc);
CK_RV p11_soft_cipher(p11_op *op, const uint8_t *in, size_t len,
    uint8_t *out, CK_ULONG *out_len, int step);	/* 0 one-part, 1 update, 2 final */
CK_RV p11_soft_mac_init(p11_op *op, const p11_object *key, CK_MECHANISM_TYPE m);
CK_RV p11_soft_mac_update(p11_op *op, const uint8_t *in, size_t len);
CK_RV p11_soft_mac_final(p11_op *op, uint8_t *out, size_t *out_len);
size_t p11_soft_mac_len(const p11_op *op);
/* an HMAC or the SM4 CBC-MAC is running in op */
bool p11_soft_is_mac(const p11_op *op);
void p11_soft_op_free(p11_op *op);
/* C_WrapKey / C_UnwrapKey with a secret wrapping key */
CK_RV p11_soft_wrap(const p11_object *wkey, const CK_MECHANISM *m,
    const uint8_t *in, size_t len, uint8_t *out, CK_ULONG *out_len, bool wrap);

/* ---- the GM applet's keys (p11_gm_objects.c, p11_gm.c) ---- */

#define P11_GM_APP "walletkey"	/* the GM application the module uses */
/* CKA_ID: the prefix of the usage, then the container's name */
#define P11_GM_ID_PREFIX "gm:"		/* the signing pair */
#define P11_GM_ENC_ID_PREFIX "gme:"	/* the encryption pair */
/* the key pairs of the card's GM containers, appended to slot->objects */
CK_RV p11_gm_load(p11_slot *slot);
bool p11_alg_is_gm(uint8_t alg);
CK_RV p11_gm_op_key(p11_op *op, const p11_object *obj,
    CK_MECHANISM_TYPE mech);
CK_RV p11_gm_login(p11_slot *slot, p11_op *op, const uint8_t *pin, size_t len);
CK_RV p11_gm_sign(p11_slot *slot, p11_op *op, const uint8_t *in, size_t len,
    uint8_t sig[64]);
CK_RV p11_gm_verify(const p11_op *op, const uint8_t *in, size_t len,
    const uint8_t *sig, size_t sig_len);
/* C_Decrypt on the card (after the context login), C_Encrypt on the host;
 * *out_len: capacity in, length out, the two-call convention */
CK_RV p11_gm_decrypt(p11_slot *slot, p11_op *op, const uint8_t *in,
    size_t len, uint8_t *out, CK_ULONG *out_len);
CK_RV p11_gm_encrypt(const p11_op *op, const uint8_t *in, size_t len,
    uint8_t *out, CK_ULONG *out_len);

#endif
