/*
 * libwalletkey-skf internals: the handles behind DEVHANDLE, HAPPLICATION,
 * HCONTAINER and HANDLE, the registry that checks every handle a caller
 * passes, the one lock around the library, and the one translation of
 * libwalletkey results into SAR_* codes.
 */
#ifndef SKF_INT_H
#define SKF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "skf.h"
#include "walletkey.h"

enum skf_kind {
	SKF_DEV = 1,
	SKF_APP,
	SKF_CONT,
	SKF_KEY,	/* a session key on the card */
	SKF_MAC,
	SKF_HASH,
	SKF_AGREE,
};

typedef struct skf_obj skf_obj;

struct skf_obj {
	uint32_t magic;
	enum skf_kind kind;
	skf_obj *next;		/* the registry */
	skf_obj *dev;		/* the device of everything but a device */
	skf_obj *app;		/* the application of a container */
	/* device */
	wk_ctx *ctx;
	wk_card *card;
	wk_gm *gm;
	char name[128];
	bool locked;
	bool dev_authed;	/* forgotten on the card at disconnect */
	/* application, container */
	uint8_t app_id;
	char obj_name[WK_GM_NAME_MAX + 1];
	/* session objects */
	uint32_t handle;
	uint32_t alg;
	int op;			/* cipher in progress: WK_GM_OP_*, 0 none */
	bool padding;
	size_t held;		/* bytes the card holds back (block modes) */
	size_t hash_len;
};

#define SKF_MAGIC 0x534B4621u

/* the lock every entry point takes */
void skf_lock(void);
void skf_unlock(void);

/* registry: objects are valid only while registered */
skf_obj *skf_new(enum skf_kind kind, skf_obj *dev);
/* the object h if it is registered and of kind, else NULL */
skf_obj *skf_get(HANDLE h, enum skf_kind kind);
/* any session object (key, MAC, hash, agreement) */
skf_obj *skf_get_session(HANDLE h);
/* unregisters and frees o and everything registered under it */
void skf_free(skf_obj *o);
/* SKF_Close*, SKF_DisConnectDev: frees the object h of kind under the lock;
 * SAR_INVALIDHANDLEERR when h is no such object */
ULONG skf_close(HANDLE h, enum skf_kind kind);

/* an SM4 algorithm a session key may have */
bool skf_sym_alg_ok(ULONG alg);
/* a session object (kind) for the card's handle, or NULL with the card's
 * handle closed */
skf_obj *skf_sess_new(skf_obj *dev, enum skf_kind kind, uint32_t handle,
    uint32_t alg);
/* skf_sar for a command on a session handle: the card dropped it (6A88,
 * after a reset) is SAR_INVALIDHANDLEERR */
ULONG skf_sess_sar(const skf_obj *dev, int rc);

/* libwalletkey result -> SAR, with the status word for detail */
ULONG skf_sar(const skf_obj *dev, int rc);
/* the same for a wrong or blocked PIN, filling the retry count */
ULONG skf_pin_sar(const skf_obj *dev, int rc, unsigned tries, ULONG *retry);

/* GM/T 0016 64-byte fields, 256-bit values in the last 32 bytes */
bool skf_pub_in(const ECCPUBLICKEYBLOB *b, uint8_t pub[64]);
void skf_pub_out(const uint8_t pub[64], ECCPUBLICKEYBLOB *b);
bool skf_field_in(const BYTE f[64], uint8_t out[32]);
void skf_field_out(const uint8_t in[32], BYTE f[64]);
/* the two-call convention for variable-size results */
ULONG skf_size_out(BYTE *buf, ULONG *len, const uint8_t *data, size_t n);
/* a NUL-separated list ending in an empty string */
ULONG skf_list_out(LPSTR buf, ULONG *len, const char *const *names, size_t n);
/* the same for the names of a libwalletkey list */
ULONG skf_names_out(LPSTR buf, ULONG *len, const wk_gm_name *names, size_t n);

#endif
