/*
 * libwalletkey: the GM client: SM2, SM3, SM4 and the SKF object model (docs/gm.md).
 * Part of <walletkey.h>, which includes every part; see there for the
 * conventions.
 */
#ifndef WALLETKEY_GM_H
#define WALLETKEY_GM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== GM client: SM2/SM3/SM4 and the SKF object model (docs/gm.md) ====
 * owner: branch gm (middleware/wk_gm.c). A wk_gm is a session with the GM
 * applet on one wk_card; every call selects the applet and runs inside one
 * card transaction, so another process's applet selection between two
 * calls cannot redirect a command. Status words map through
 * wk_rc_from_sw; wk_gm_last_sw() keeps the last one (6A89: the name
 * exists; 6A83: no such key or certificate in the container; 6A88: no
 * such application or session handle). Keys are raw: public x || y (64
 * bytes), private d (32), signatures r || s (64), ciphertexts
 * C1 || C3 || C2 (GM/T 0009 order). Applications are named by the number
 * wk_gm_app_open() returns; session objects by 32-bit handles.
 */
#define WK_GM_PIN_ADMIN 0
#define WK_GM_PIN_USER 1
#define WK_GM_RIGHT_NEVER 0x00u
#define WK_GM_RIGHT_ADMIN 0x01u
#define WK_GM_RIGHT_USER 0x10u
#define WK_GM_RIGHT_ANYONE 0xFFu
#define WK_GM_SM4_ECB 0x00000401u
#define WK_GM_SM4_CBC 0x00000402u
#define WK_GM_SM4_CFB 0x00000404u
#define WK_GM_SM4_OFB 0x00000408u
#define WK_GM_SM4_MAC 0x00000410u
#define WK_GM_SM2_1 0x00020100u
#define WK_GM_SM2_2 0x00020200u
#define WK_GM_SM2_3 0x00020400u
#define WK_GM_SM3 0x00000001u
#define WK_GM_SHA1 0x00000002u
#define WK_GM_SHA256 0x00000004u
#define WK_GM_OP_ENCRYPT 1
#define WK_GM_OP_DECRYPT 2
#define WK_GM_OP_MAC 3
#define WK_GM_STEP_UPDATE 0
#define WK_GM_STEP_FINAL 1
#define WK_GM_STEP_ONCE 2
#define WK_GM_PIN_MIN 6
#define WK_GM_PIN_MAX 16
#define WK_GM_NAME_MAX 64
#define WK_GM_APP_NAME_MAX 32
#define WK_GM_FILE_NAME_MAX 31
#define WK_GM_TRIES_MAX 15
#define WK_GM_CERT_MAX 4096u
#define WK_GM_DATA_MAX 8192u
#define WK_GM_ID_MAX 128
#define WK_GM_LABEL_MAX 31
#define WK_GM_MAX_APPS 8
#define WK_GM_MAX_FILES 32
#define WK_GM_MAX_CONTAINERS 16
#define WK_GM_DEV_KEY_LEN 16

typedef struct wk_gm wk_gm;

typedef struct wk_gm_info {
	uint8_t version[2];
	uint8_t serial[8];
	char label[WK_GM_LABEL_MAX + 1];
	uint32_t sym_cap;
	uint32_t asym_cap;
	uint32_t hash_cap;
	uint32_t dev_auth_alg;
	uint32_t total_space;
	uint32_t free_space;
	uint32_t max_data;
	unsigned dev_tries_left;
	bool dev_key_default;
} wk_gm_info;

/* a name from a list: an application (with its number), file or container */
typedef struct wk_gm_name {
	uint8_t id;
	char name[WK_GM_NAME_MAX + 1];
} wk_gm_name;

/* container flags of wk_gm_cont_info */
#define WK_GM_CONT_SIGN_KEY 0x01u
#define WK_GM_CONT_ENC_KEY 0x02u
#define WK_GM_CONT_SIGN_CERT 0x04u
#define WK_GM_CONT_ENC_CERT 0x08u

/* selects the GM applet on card; the wk_gm borrows card */
int wk_gm_open(wk_card *card, wk_gm **out);
void wk_gm_free(wk_gm **gm);
wk_card *wk_gm_card(const wk_gm *gm);
uint16_t wk_gm_last_sw(const wk_gm *gm);

/* device */
int wk_gm_get_info(wk_gm *gm, wk_gm_info *info);
/* card randomness; the first 16 bytes (or fewer, zero-padded) of the last
 * call are the challenge the next wk_gm_dev_auth_answer() answers */
int wk_gm_random(wk_gm *gm, uint8_t *out, size_t len);
/* the answer to the challenge: SM4-ECB under the device key */
int wk_gm_dev_auth_answer(wk_gm *gm, const uint8_t answer[16],
    unsigned *tries_left);
/* both steps with the key itself (the CLI's way) */
int wk_gm_dev_auth(wk_gm *gm, const uint8_t *key, size_t len,
    unsigned *tries_left);
/* forgets the device authentication (SKF_DisConnectDev does this) */
int wk_gm_dev_logout(wk_gm *gm);
int wk_gm_set_dev_key(wk_gm *gm, const uint8_t *key, size_t len);
int wk_gm_set_label(wk_gm *gm, const char *label);

/* applications */
int wk_gm_app_create(wk_gm *gm, const char *name, const uint8_t *admin_pin,
    size_t admin_len, unsigned admin_tries, const uint8_t *user_pin,
    size_t user_len, unsigned user_tries, uint32_t create_rights,
    uint8_t *app);
int wk_gm_app_list(wk_gm *gm, wk_gm_name *out, size_t cap, size_t *n);
int wk_gm_app_delete(wk_gm *gm, const char *name);
int wk_gm_app_open(wk_gm *gm, const char *name, uint8_t *app);

/* PINs of an application; tries_left (may be NULL) is set on
 * WK_ERR_WRONG_PIN, and to 0 on WK_ERR_PIN_BLOCKED */
int wk_gm_verify_pin(wk_gm *gm, uint8_t app, int type, const uint8_t *pin,
    size_t len, unsigned *tries_left);
/* verified now, else the tries left */
int wk_gm_pin_status(wk_gm *gm, uint8_t app, int type, bool *verified,
    unsigned *tries_left);
int wk_gm_change_pin(wk_gm *gm, uint8_t app, int type, const uint8_t *old,
    size_t old_len, const uint8_t *new_pin, size_t new_len,
    unsigned *tries_left);
int wk_gm_pin_info(wk_gm *gm, uint8_t app, int type, unsigned *max_tries,
    unsigned *tries_left, bool *is_default);
/* with the admin PIN: a new user PIN and its counter restored; tries_left
 * is the admin PIN's */
int wk_gm_unblock_pin(wk_gm *gm, uint8_t app, const uint8_t *admin_pin,
    size_t admin_len, const uint8_t *new_pin, size_t new_len,
    unsigned *tries_left);
int wk_gm_logout(wk_gm *gm, uint8_t app);

/* files */
int wk_gm_file_create(wk_gm *gm, uint8_t app, const char *name,
    uint32_t size, uint32_t read_rights, uint32_t write_rights);
int wk_gm_file_delete(wk_gm *gm, uint8_t app, const char *name);
int wk_gm_file_list(wk_gm *gm, uint8_t app, wk_gm_name *out, size_t cap,
    size_t *n);
int wk_gm_file_info(wk_gm *gm, uint8_t app, const char *name, uint32_t *size,
    uint32_t *read_rights, uint32_t *write_rights);
/* *len: bytes wanted in, read out (fewer at the end of the file) */
int wk_gm_file_read(wk_gm *gm, uint8_t app, const char *name,
    uint32_t offset, uint8_t *out, size_t *len);
int wk_gm_file_write(wk_gm *gm, uint8_t app, const char *name,
    uint32_t offset, const uint8_t *data, size_t len);

/* containers, their keys and certificates (sign: the signing pair, else
 * the encryption pair) */
int wk_gm_cont_create(wk_gm *gm, uint8_t app, const char *name);
int wk_gm_cont_delete(wk_gm *gm, uint8_t app, const char *name);
int wk_gm_cont_list(wk_gm *gm, uint8_t app, wk_gm_name *out, size_t cap,
    size_t *n);
/* type: 0 empty, 2 SM2 (SKF_GetContainerType); flags WK_GM_CONT_* */
int wk_gm_cont_info(wk_gm *gm, uint8_t app, const char *name, int *type,
    unsigned *flags);
int wk_gm_cert_import(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    const uint8_t *der, size_t len);
/* *len: capacity in, length out (WK_ERR_ARG and the size when too small) */
int wk_gm_cert_export(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    uint8_t *der, size_t *len);
int wk_gm_generate(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    uint8_t pub[64]);
/* SKF_ImportECCKeyPair: the encryption pair, d under SM4-ECB (sym_alg)
 * with a key SM2-encrypted to the container's signing key */
int wk_gm_import_enveloped(wk_gm *gm, uint8_t app, const char *cont,
    uint32_t sym_alg, uint32_t bits, const uint8_t enc_priv[32],
    const uint8_t pub[64], const uint8_t *cipher, size_t cipher_len);
int wk_gm_public_key(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    uint8_t pub[64]);
/* SM2 signature of e (32 bytes), or of a message with its Z value (id NULL:
 * the default 1234567812345678) */
int wk_gm_sign(wk_gm *gm, uint8_t app, const char *cont, const uint8_t e[32],
    uint8_t sig[64]);
int wk_gm_sign_message(wk_gm *gm, uint8_t app, const char *cont,
    const uint8_t *msg, size_t len, const uint8_t *id, size_t id_len,
    uint8_t sig[64]);
/* with the encryption key; *out_len: capacity in, length out */
int wk_gm_decrypt(wk_gm *gm, uint8_t app, const char *cont,
    const uint8_t *cipher, size_t len, uint8_t *out, size_t *out_len);

/* with keys the caller gives: WK_ERR_AUTH_FAILED on a bad signature */
int wk_gm_verify(wk_gm *gm, const uint8_t pub[64], const uint8_t e[32],
    const uint8_t sig[64]);
int wk_gm_verify_message(wk_gm *gm, const uint8_t pub[64],
    const uint8_t *msg, size_t len, const uint8_t *id, size_t id_len,
    const uint8_t sig[64]);
int wk_gm_encrypt(wk_gm *gm, const uint8_t pub[64], const uint8_t *in,
    size_t len, uint8_t *out, size_t *out_len);
int wk_gm_ext_sign(wk_gm *gm, const uint8_t d[32], const uint8_t e[32],
    uint8_t sig[64]);
int wk_gm_ext_decrypt(wk_gm *gm, const uint8_t d[32], const uint8_t *cipher,
    size_t len, uint8_t *out, size_t *out_len);

/* session objects (gone at reset, or when another applet is selected) */
int wk_gm_key_set(wk_gm *gm, uint32_t alg, const uint8_t key[16],
    uint32_t *handle);
int wk_gm_key_unwrap(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t *cipher, size_t len, uint32_t *handle);
/* a fresh key SM2-encrypted to pub: cipher is 96 + 16 bytes */
int wk_gm_key_wrap(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t pub[64], uint8_t cipher[112], uint32_t *handle);
/* op WK_GM_OP_*; iv NULL for ECB; for a MAC *mac_handle gets a new handle */
int wk_gm_cipher_init(wk_gm *gm, uint32_t handle, int op, const uint8_t *iv,
    size_t iv_len, bool padding, uint32_t *mac_handle);
/* step WK_GM_STEP_*; data of any length (sent in pieces);
 * *out_len: capacity in, length out */
int wk_gm_process(wk_gm *gm, uint32_t handle, int step, const uint8_t *in,
    size_t len, uint8_t *out, size_t *out_len);
/* alg WK_GM_SM3/SHA1/SHA256; pub (SM3 only) adds the Z value */
int wk_gm_digest_init(wk_gm *gm, uint32_t alg, const uint8_t *pub,
    const uint8_t *id, size_t id_len, uint32_t *handle);
int wk_gm_close(wk_gm *gm, uint32_t handle);
/* SM2 key agreement (GM/T 0003.3) with the containers' encryption keys */
int wk_gm_agree_start(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t *id, size_t id_len, uint32_t *handle, uint8_t temp_pub[64]);
int wk_gm_agree_respond(wk_gm *gm, uint8_t app, const char *cont,
    uint32_t alg, const uint8_t sponsor_pub[64],
    const uint8_t sponsor_temp[64], const uint8_t *id, size_t id_len,
    const uint8_t *sponsor_id, size_t sponsor_id_len, uint32_t *key,
    uint8_t temp_pub[64]);
int wk_gm_agree_finish(wk_gm *gm, uint32_t handle, const uint8_t pub[64],
    const uint8_t temp_pub[64], const uint8_t *id, size_t id_len,
    uint32_t *key);

/* raw forms to and from DER (GM/T 0009): SubjectPublicKeyInfo of an SM2
 * key, SEQUENCE { r, s }, and the ciphertext SEQUENCE { x, y, C3, C2 };
 * *len: capacity in, length out */
int wk_gm_pub_to_spki(const uint8_t pub[64], uint8_t *der, size_t *len);
int wk_gm_pub_from_cert(const uint8_t *der, size_t len, uint8_t pub[64]);
int wk_gm_sig_to_der(const uint8_t sig[64], uint8_t *der, size_t *len);
int wk_gm_sig_from_der(const uint8_t *der, size_t len, uint8_t sig[64]);
int wk_gm_cipher_to_der(const uint8_t *raw, size_t raw_len, uint8_t *der,
    size_t *len);
int wk_gm_cipher_from_der(const uint8_t *der, size_t der_len, uint8_t *raw,
    size_t *len);
/* the Z value and e = SM3(Z || M) on the host */
int wk_gm_digest_e(const uint8_t pub[64], const uint8_t *id, size_t id_len,
    const uint8_t *msg, size_t len, uint8_t e[32]);

#ifdef __cplusplus
}
#endif

#endif
