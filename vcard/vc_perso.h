/*
 * the purse personalisation profile (docs/purse.md, "Personalisation
 * profile"): a JSON file read by `walletkey-card --init --perso FILE`; with
 * no file the built-in profile, whose keys are random for each card, or the
 * demo profile's public test keys with `--demo`.
 *
 * A profile is checked completely before anything is created: main.c calls
 * vc_perso_check() before it creates the store, and the purse applet's
 * create() loads it again and writes it.
 */
#ifndef VC_PERSO_H
#define VC_PERSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VC_PERSO_MAX_KEYS 32
#define VC_PERSO_SERIAL_LEN 10
/* audit log capacity (docs/audit.md) */
#define VC_PERSO_AUDIT_MIN 10
#define VC_PERSO_AUDIT_MAX 1000000
#define VC_PERSO_AUDIT_DEFAULT 10000

enum {
	VC_PERSO_OK = 0,
	VC_PERSO_ERROR = -1,	/* cannot read the file, or no memory */
	VC_PERSO_INVALID = -2,	/* the profile is malformed or out of range */
};

typedef struct vc_perso_key {
	int purpose;		/* PURSE_KEY_* (dlk, dpk, dtk, dulk, duk, damk, drpk) */
	uint8_t index;
	uint8_t version;
	uint8_t alg;
	bool master;		/* key is a master key, diversified by the serial */
	uint8_t key[16];
} vc_perso_key;

typedef struct vc_perso {
	uint8_t issuer_id[8];
	uint8_t app_type;	/* 01 ED, 02 EP, 03 both */
	uint8_t app_version;
	bool serial_auto;	/* serial derived from the card serial */
	uint8_t serial[VC_PERSO_SERIAL_LEN];	/* BCD */
	uint8_t start_date[4];
	uint8_t expiry_date[4];
	uint8_t issuer_fci[2];
	uint8_t ef16[39];	/* cardholder data, PBOC 1.0 layout */
	char pin[13];		/* digits, NUL-terminated */
	size_t pin_len;
	uint8_t pin_tries;
	uint32_t ceiling;
	uint32_t overdraft;
	uint16_t log_capacity;
	uint32_t audit_capacity;
	uint8_t mac_tries;	/* wrong MAC2s before the purse blocks */
	unsigned pin_ops;	/* PURSE_PIN_* that need the PIN ("pin_required") */
	vc_perso_key keys[VC_PERSO_MAX_KEYS];
	size_t n_keys;
} vc_perso;

/* path NULL means the built-in profile: random keys, or the demo keys
 * (TEST KEYS, public) when demo is set; path and demo exclude each other.
 * err gets a one-line reason */
int vc_perso_load(const char *path, bool demo, vc_perso **out, char *err,
    size_t errlen);
int vc_perso_parse(const char *json, size_t len, vc_perso **out, char *err,
    size_t errlen);
/* loads and frees: for main.c before it creates anything */
int vc_perso_check(const char *path, bool demo, char *err, size_t errlen);
/* fills an automatic serial from the 8-byte card serial and replaces every
 * master key by the key diversified with the serial (pboc-purse.md 4.4) */
int vc_perso_finish(vc_perso *p, const uint8_t card_serial[8]);
/* EF 0015, 30 bytes */
void vc_perso_ef15(const vc_perso *p, uint8_t ef15[30]);
void vc_perso_free(vc_perso **p);

/* the built-in demo profile, as JSON (docs/purse.md prints it) */
extern const char vc_perso_demo_json[];

#endif
