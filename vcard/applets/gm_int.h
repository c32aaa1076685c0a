/*
 * the GM applet's internals: the SKF object model of GM/T 0016 on the card
 * (device -> applications -> containers and files), SM2/SM3/SM4 on OpenSSL.
 * The APDU set is docs/gm.md; one module per command group:
 *   gm.c        dispatch, SELECT, factory state, the TLV field parser
 *   gm_obj.c    applications, device authentication
 *   gm_pin.c    the applications' PINs
 *   gm_file.c   files and containers, certificates
 *   gm_key.c    key pairs, signatures, SM2 encryption, key agreement
 *   gm_sess.c   session keys (SM4), MAC and digest handles
 *
 * Store layout, applet "gm" (every name is ASCII; objects are numbered):
 *   dev.label            the device label
 *   dev.key (sealed)     device authentication key, 16 bytes (SM4)
 *   dev.left, dev.total  its try counter; dev.default = still the factory key
 *   sigs                 SM2 signatures made with container keys (the
 *                        counter of their audit records, docs/audit.md)
 *   apps                 index: id 1 | len 1 | name, per application
 *   a<id>.meta           create-file rights 4 | admin tries 1 | user tries 1
 *   a<id>.pin0, .pin1    Argon2id strings of the admin (0) and user (1) PIN
 *   a<id>.left0, .left1  try counters; a<id>.def0, .def1 = still the first PIN
 *   a<id>.files          index: fid 1 | len 1 | name | size 4 | read 4 | write 4
 *   a<id>.f<fid>         file content (size bytes)
 *   a<id>.conts          index: cid 1 | len 1 | name
 *   a<id>.c<cid>.k1/.k0  sealed private keys, signing (1) and encryption (0)
 *   a<id>.c<cid>.p1/.p0  their public keys (x || y)
 *   a<id>.c<cid>.x1/.x0  their certificates (DER)
 */
#ifndef GM_INT_H
#define GM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "vc_applet.h"
#include "vc_store.h"
#include "wk_apdu.h"
#include "wk_buf.h"
#include "wk_gm.h"
#include "wk_tlv.h"

#define GM_APPLET "gm"

/* status words of the GM applet beyond wk_apdu.h (docs/gm.md) */
#define GM_SW_VERIFY_FAILED 0x6300	/* signature or MAC does not verify */
#define GM_SW_EXISTS 0x6A89		/* ISO 7816-4: already exists */

/* in-memory objects behind session handles */
enum {
	GM_OBJ_FREE = 0,
	GM_OBJ_KEY,		/* SM4 session key, maybe with a cipher running */
	GM_OBJ_MAC,		/* CBC-MAC in progress over a session key */
	GM_OBJ_HASH,		/* digest in progress */
	GM_OBJ_AGREE,		/* sponsor's half of an SM2 key agreement */
};

typedef struct gm_obj {
	uint8_t type;
	uint32_t handle;
	uint32_t alg;		/* SGD id of the key or digest */
	uint8_t key[16];
	/* cipher (GM_OBJ_KEY) */
	uint8_t op;		/* 0 none, WK_GM_OP_ENCRYPT/DECRYPT */
	bool started;		/* data went through since init */
	EVP_CIPHER_CTX *cctx;
	/* MAC: the last block of the CBC chain; rest of an incomplete block */
	uint8_t mac[16];
	uint8_t part[16];
	size_t part_len;
	EVP_MD_CTX *mctx;
	/* agreement: the sponsor's temporary pair, its id and container */
	uint8_t r[32];
	uint8_t rpub[64];
	uint8_t id[WK_GM_ID_MAX];
	size_t id_len;
	uint8_t app;
	uint8_t cont;
} gm_obj;

/* what every application's security state is in memory */
typedef struct gm_login {
	uint8_t app;		/* 0: slot unused */
	bool admin;
	bool user;
} gm_login;

typedef struct gm_state {
	bool dev_auth;
	uint8_t challenge[16];
	size_t challenge_len;	/* 0: none pending */
	gm_login login[WK_GM_MAX_APPS];
	gm_obj obj[WK_GM_MAX_OBJECTS];
} gm_state;

/* a parsed command field: present, value, length */
typedef struct gm_field {
	uint8_t tag;
	uint16_t min;
	uint16_t max;
	bool required;
} gm_field;

/* one parsed application or container entry of an index */
typedef struct gm_entry {
	uint8_t id;
	uint8_t name[WK_GM_NAME_MAX];
	size_t name_len;
	/* files only */
	uint32_t size;
	uint32_t read;
	uint32_t write;
} gm_entry;

/* gm.c */
/* parses cmd->data as TLVs of spec only (each at most once, lengths in
 * range, required ones present); out[i] is spec[i] (len 0, value NULL when
 * absent). Returns a status word: 9000, 6700 (no data where some is
 * required) or 6A80. */
uint16_t gm_parse(const wk_apdu *cmd, const gm_field *spec, size_t n,
    wk_tlv *out);
uint32_t gm_be32(const uint8_t *p);
/* "a<app>.<what>", or "a<app>.<what><n>" when n >= 0 */
void gm_store_name(char *out, size_t cap, const char *what, unsigned app,
    int n);

/* gm_obj.c: applications, device */
int gm_dev_factory(vc_card *card);
vc_cmd_fn gm_get_info;
vc_cmd_fn gm_get_challenge;
vc_cmd_fn gm_dev_auth;
vc_cmd_fn gm_set_dev_key;
vc_cmd_fn gm_set_label;
vc_cmd_fn gm_app_create;
vc_cmd_fn gm_app_list;
vc_cmd_fn gm_app_delete;
vc_cmd_fn gm_app_open;
/* gm_pin.c: the applications' PINs */
/* stores an application's admin (0) or user (1) PIN as its Argon2id
 * string, with its tries and whether it is still the first PIN */
int gm_pin_set(vc_card *card, uint8_t app, unsigned type, const uint8_t *pin,
    size_t len, uint8_t tries, bool is_default);
vc_cmd_fn gm_pin_verify;
vc_cmd_fn gm_pin_change;
vc_cmd_fn gm_pin_info;
vc_cmd_fn gm_pin_unblock;
vc_cmd_fn gm_logout;
/* the application P1 names: 9000 when it exists, else 6A88 (6A86 for 0) */
uint16_t gm_app_check(vc_card *card, uint8_t app);
gm_login *gm_login_of(gm_state *s, uint8_t app);
bool gm_rights_ok(gm_state *s, uint8_t app, uint32_t rights);
int gm_index_read(vc_card *card, const char *key, bool files, gm_entry *out,
    size_t cap, size_t *n);
int gm_index_write(vc_card *card, const char *key, bool files,
    const gm_entry *e, size_t n);
/* the entry named (name, len); -1 when absent */
int gm_index_find(const gm_entry *e, size_t n, const uint8_t *name,
    size_t len);
bool gm_name_ok(const uint8_t *name, size_t len, size_t max);
uint32_t gm_used_space(vc_card *card);

/* gm_file.c: files, containers, certificates */
vc_cmd_fn gm_file_create;
vc_cmd_fn gm_file_delete;
vc_cmd_fn gm_file_list;
vc_cmd_fn gm_file_info;
vc_cmd_fn gm_file_read;
vc_cmd_fn gm_file_write;
vc_cmd_fn gm_cont_create;
vc_cmd_fn gm_cont_delete;
vc_cmd_fn gm_cont_list;
vc_cmd_fn gm_cont_info;
vc_cmd_fn gm_cert_import;
vc_cmd_fn gm_cert_export;
/* the container named by a 80 field of app: its number, or a SW */
uint16_t gm_cont_find(vc_card *card, uint8_t app, const wk_tlv *name,
    uint8_t *cid);
/* deletes every object of a container / an application */
int gm_cont_wipe(vc_card *card, uint8_t app, uint8_t cid);
int gm_app_wipe(vc_card *card, uint8_t app);

/* gm_key.c: key pairs and the private-key operations */
vc_cmd_fn gm_key_generate;
vc_cmd_fn gm_key_import;
vc_cmd_fn gm_key_public;
vc_cmd_fn gm_sign;
vc_cmd_fn gm_decrypt;
vc_cmd_fn gm_ext_verify;
vc_cmd_fn gm_ext_encrypt;
vc_cmd_fn gm_ext_sign;
vc_cmd_fn gm_ext_decrypt;
vc_cmd_fn gm_agree_start;
vc_cmd_fn gm_agree_respond;
vc_cmd_fn gm_agree_finish;
/* loads a container key (1 signing, 0 encryption); NULL when absent */
EVP_PKEY *gm_key_load(vc_card *card, uint8_t app, uint8_t cid, int which);
int gm_key_pub(vc_card *card, uint8_t app, uint8_t cid, int which,
    uint8_t pub[64]);

/* gm_sess.c: session objects */
vc_cmd_fn gm_key_set;
vc_cmd_fn gm_key_unwrap;
vc_cmd_fn gm_key_wrap;
vc_cmd_fn gm_cipher_init;
vc_cmd_fn gm_data_process;
vc_cmd_fn gm_digest_init;
vc_cmd_fn gm_close_handle;
/* a free object slot with a fresh handle (type set), or NULL */
gm_obj *gm_obj_new(gm_state *s, vc_card *card, uint8_t type);
gm_obj *gm_obj_find(gm_state *s, const uint8_t h[4]);
void gm_obj_free(gm_obj *o);
/* a new key object holding key (16 bytes) for alg; writes its handle */
uint16_t gm_obj_new_key(gm_state *s, vc_card *card, uint32_t alg,
    const uint8_t key[16], wk_buf *resp);
/* drops every object (deselect, reset) or those of one application */
void gm_obj_drop_all(gm_state *s);
bool gm_sym_alg_ok(uint32_t alg);
/* a command on a container of P1's application for an SM4 algorithm
 * (session keys, key agreement): P2 00, the n fields of spec with f[0]
 * the container's name and f[1] the algorithm, a known algorithm, and
 * the container's number in *cid */
uint16_t gm_cont_alg_cmd(vc_card *card, const wk_apdu *cmd,
    const gm_field *spec, size_t n, wk_tlv *f, uint8_t *cid);

#endif
