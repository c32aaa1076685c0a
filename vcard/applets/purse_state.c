/* what the purse keeps in the card store (docs/purse.md, "Store layout") */
#include "purse.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vc_store.h"

#define STATE_VERSION 1
#define STATE_LEN 64
#define KEY_BLOB_LEN (2 + WK_PURSE_KEY_LEN)

/* argon2id, cheap enough for a VERIFY per transaction; the store is sealed */
#define PIN_OPSLIMIT 2
#define PIN_MEMLIMIT (8u * 1024u * 1024u)

static void
put_proof(wk_buf *b, const purse_proof *p)
{
	wk_buf_u8(b, p->valid ? 1 : 0);
	wk_buf_u8(b, p->type);
	wk_buf_be16(b, p->seq);
	wk_buf_add(b, p->mac, sizeof(p->mac));
	wk_buf_add(b, p->tac, sizeof(p->tac));
}

static int
get_proof(wk_cur *c, purse_proof *p)
{
	uint8_t valid;

	if (wk_cur_u8(c, &valid) != 0 || valid > 1 ||
	    wk_cur_u8(c, &p->type) != 0 || wk_cur_be16(c, &p->seq) != 0 ||
	    wk_cur_copy(c, p->mac, sizeof(p->mac)) != 0 ||
	    wk_cur_copy(c, p->tac, sizeof(p->tac)) != 0)
		return -1;
	p->valid = valid == 1;
	return 0;
}

int
purse_state_get(vc_card *card, purse_state *s)
{
	uint8_t raw[STATE_LEN];
	wk_buf b;
	wk_cur c;
	uint8_t version;
	int rc;

	memset(s, 0, sizeof(*s));
	wk_buf_init_fixed(&b, raw, sizeof(raw));
	if ((rc = vc_store_get(vc_card_store(card), PURSE_APPLET, "state",
	    &b)) != VC_STORE_OK)
		return rc;
	wk_cur_init(&c, b.p, b.len);
	if (wk_cur_u8(&c, &version) != 0 || version != STATE_VERSION ||
	    wk_cur_u8(&c, &s->app_type) != 0)
		return VC_STORE_CORRUPT;
	for (int i = 0; i < 2; i++)
		if (wk_cur_be32(&c, &s->w[i].balance) != 0 ||
		    wk_cur_be16(&c, &s->w[i].online_seq) != 0 ||
		    wk_cur_be16(&c, &s->w[i].offline_seq) != 0 ||
		    get_proof(&c, &s->w[i].proof) != 0)
			return VC_STORE_CORRUPT;
	if (wk_cur_be24(&c, &s->limit) != 0 ||
	    wk_cur_be32(&c, &s->ceiling) != 0 ||
	    wk_cur_be16(&c, &s->log_cap) != 0 ||
	    wk_cur_be16(&c, &s->log_count) != 0 ||
	    wk_cur_be16(&c, &s->log_head) != 0 ||
	    wk_cur_u8(&c, &s->pin_max) != 0 || c.len != 0)
		return VC_STORE_CORRUPT;
	if (s->log_cap < PURSE_LOG_MIN || s->log_cap > PURSE_LOG_MAX ||
	    s->log_count > s->log_cap || s->log_head >= s->log_cap ||
	    s->app_type < 1 || s->app_type > 3)
		return VC_STORE_CORRUPT;
	return VC_STORE_OK;
}

int
purse_state_put(vc_card *card, const purse_state *s)
{
	uint8_t raw[STATE_LEN];
	wk_buf b;

	wk_buf_init_fixed(&b, raw, sizeof(raw));
	wk_buf_u8(&b, STATE_VERSION);
	wk_buf_u8(&b, s->app_type);
	for (int i = 0; i < 2; i++) {
		wk_buf_be32(&b, s->w[i].balance);
		wk_buf_be16(&b, s->w[i].online_seq);
		wk_buf_be16(&b, s->w[i].offline_seq);
		put_proof(&b, &s->w[i].proof);
	}
	wk_buf_be24(&b, s->limit);
	wk_buf_be32(&b, s->ceiling);
	wk_buf_be16(&b, s->log_cap);
	wk_buf_be16(&b, s->log_count);
	wk_buf_be16(&b, s->log_head);
	wk_buf_u8(&b, s->pin_max);
	if (wk_buf_failed(&b))
		return VC_STORE_ERROR;
	return vc_store_put(vc_card_store(card), PURSE_APPLET, "state", b.p,
	    b.len);
}

static void
key_name(char *name, size_t cap, int purpose, uint8_t index)
{
	snprintf(name, cap, "key.%s.%02x", wk_purse_key_names[purpose], index);
}

int
purse_key_get(vc_card *card, int purpose, uint8_t index, purse_key *k)
{
	uint8_t raw[KEY_BLOB_LEN + 16];
	char name[32];
	wk_buf b;
	int rc;

	if (purpose < 0 || purpose >= PURSE_KEY_N)
		return VC_STORE_NOT_FOUND;
	key_name(name, sizeof(name), purpose, index);
	wk_buf_init_fixed(&b, raw, sizeof(raw));
	rc = vc_store_get_secret(vc_card_store(card), PURSE_APPLET, name, &b);
	if (rc == VC_STORE_OK && (b.len != KEY_BLOB_LEN ||
	    !wk_purse_alg_valid(raw[1])))
		rc = VC_STORE_CORRUPT;
	if (rc == VC_STORE_OK) {
		k->version = raw[0];
		k->alg = raw[1];
		memcpy(k->key, raw + 2, WK_PURSE_KEY_LEN);
	}
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

int
purse_key_put(vc_card *card, int purpose, uint8_t index, const purse_key *k)
{
	uint8_t raw[KEY_BLOB_LEN];
	char name[32];
	int rc;

	if (purpose < 0 || purpose >= PURSE_KEY_N)
		return VC_STORE_ERROR;
	key_name(name, sizeof(name), purpose, index);
	raw[0] = k->version;
	raw[1] = k->alg;
	memcpy(raw + 2, k->key, WK_PURSE_KEY_LEN);
	rc = vc_store_put_secret(vc_card_store(card), PURSE_APPLET, name, raw,
	    sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

int
purse_keys_wipe(vc_card *card)
{
	vc_store *st = vc_card_store(card);
	char name[32];
	int rc;

	for (int purpose = 0; purpose < PURSE_KEY_N; purpose++)
		for (unsigned index = 0; index <= 0xFF; index++) {
			key_name(name, sizeof(name), purpose, (uint8_t)index);
			rc = vc_store_del(st, PURSE_APPLET, name);
			if (rc != VC_STORE_OK && rc != VC_STORE_NOT_FOUND)
				return rc;
		}
	rc = vc_store_del(st, PURSE_APPLET, "dtk.index");
	if (rc != VC_STORE_OK && rc != VC_STORE_NOT_FOUND)
		return rc;
	rc = vc_store_del(st, PURSE_APPLET, "damk.index");
	if (rc != VC_STORE_OK && rc != VC_STORE_NOT_FOUND)
		return rc;
	rc = vc_store_del(st, PURSE_APPLET, "drpk.index");
	if (rc != VC_STORE_OK && rc != VC_STORE_NOT_FOUND)
		return rc;
	/* the payments' OCRA key is the issuer's too (purse_pay.c) */
	rc = vc_store_del(st, "wallet", "ocra.key");
	return rc == VC_STORE_NOT_FOUND ? VC_STORE_OK : rc;
}

int
purse_tac_key(vc_card *card, wk_purse_skey *ktac)
{
	uint8_t raw[8];
	wk_buf b;
	purse_key k;
	int rc;

	/* which index the one DTK has is kept beside it */
	wk_buf_init_fixed(&b, raw, sizeof(raw));
	if ((rc = vc_store_get(vc_card_store(card), PURSE_APPLET, "dtk.index",
	    &b)) != VC_STORE_OK)
		return rc;
	if (b.len != 1)
		return VC_STORE_CORRUPT;
	if ((rc = purse_key_get(card, PURSE_KEY_DTK, raw[0], &k)) != VC_STORE_OK)
		return rc;
	rc = wk_purse_tac_key(k.alg, k.key, ktac) == WK_PURSE_CRYPTO_OK ?
	    VC_STORE_OK : VC_STORE_CORRUPT;
	sodium_memzero(&k, sizeof(k));
	return rc;
}

/* the one key of a purpose whose index is kept under name (else 1) */
static int
one_key_get(vc_card *card, const char *name, int purpose, purse_key *k)
{
	uint8_t raw[8];
	uint8_t index = 1;
	wk_buf b;
	int rc;

	wk_buf_init_fixed(&b, raw, sizeof(raw));
	rc = vc_store_get(vc_card_store(card), PURSE_APPLET, name, &b);
	if (rc == VC_STORE_OK && b.len == 1)
		index = raw[0];
	else if (rc != VC_STORE_NOT_FOUND)
		return rc == VC_STORE_OK ? VC_STORE_CORRUPT : rc;
	return purse_key_get(card, purpose, index, k);
}

int
purse_damk_get(vc_card *card, purse_key *k)
{
	return one_key_get(card, "damk.index", PURSE_KEY_DAMK, k);
}

int
purse_drpk_get(vc_card *card, purse_key *k)
{
	return one_key_get(card, "drpk.index", PURSE_KEY_DRPK, k);
}

int
purse_pin_ops_init(vc_card *card, unsigned ops)
{
	if ((ops & ~(unsigned)PURSE_PIN_ALL) != 0)
		return VC_STORE_ERROR;
	return vc_store_put_u64(vc_card_store(card), PURSE_APPLET, "pin.ops",
	    ops);
}

bool
purse_pin_required(vc_card *card, unsigned op)
{
	uint64_t ops;
	int rc;

	rc = vc_store_get_u64(vc_card_store(card), PURSE_APPLET, "pin.ops", &ops);
	if (rc == VC_STORE_NOT_FOUND)
		ops = PURSE_PIN_DEFAULT;
	else if (rc != VC_STORE_OK)
		return true;
	return (ops & op) != 0;
}

/* ---- the MAC try counter and the block (docs/purse.md "Blocking") ---- */

/* a counter, or its default on a card personalised before it existed */
static int
get_counter(vc_card *card, const char *name, uint64_t dflt, uint64_t *v)
{
	int rc = vc_store_get_u64(vc_card_store(card), PURSE_APPLET, name, v);

	if (rc == VC_STORE_NOT_FOUND) {
		*v = dflt;
		return VC_STORE_OK;
	}
	return rc;
}

/* test hook (docs/purse.md): WALLETKEY_CARD_FAULT=POINT kills the card
 * with SIGKILL at POINT, after the try is durable, before the comparison */
void
purse_fault_point(const char *point)
{
	const char *at = getenv("WALLETKEY_CARD_FAULT");

	if (at != NULL && strcmp(at, point) == 0)
		raise(SIGKILL);
}

int
purse_mac_init(vc_card *card, uint8_t max)
{
	vc_store *st = vc_card_store(card);

	if (max == 0 || max > PURSE_MAC_TRIES_MAX)
		return VC_STORE_ERROR;
	if (vc_store_put_u64(st, PURSE_APPLET, "mac.max", max) != VC_STORE_OK ||
	    vc_store_put_u64(st, PURSE_APPLET, "mac.tries", max) != VC_STORE_OK ||
	    vc_store_put_u64(st, PURSE_APPLET, "unblock.tries",
	    PURSE_UNBLOCK_TRIES) != VC_STORE_OK)
		return VC_STORE_ERROR;
	return VC_STORE_OK;
}

int
purse_lock_state(vc_card *card, enum purse_lock *state)
{
	uint64_t mac, unblock;
	int rc;

	if ((rc = get_counter(card, "mac.tries", PURSE_MAC_TRIES_DEFAULT,
	    &mac)) != VC_STORE_OK ||
	    (rc = get_counter(card, "unblock.tries", PURSE_UNBLOCK_TRIES,
	    &unblock)) != VC_STORE_OK)
		return rc;
	if (unblock == 0)
		*state = PURSE_BLOCKED_FOR_GOOD;
	else if (mac == 0)
		*state = PURSE_BLOCKED;
	else
		*state = PURSE_OPEN;
	return VC_STORE_OK;
}

uint16_t
purse_mac_spend(vc_card *card)
{
	vc_store *st = vc_card_store(card);
	uint64_t tries;

	if (get_counter(card, "mac.tries", PURSE_MAC_TRIES_DEFAULT, &tries) !=
	    VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	if (tries == 0)
		return WK_SW_FUNC_NOT_SUPPORTED;
	/* as VERIFY's try: durable before the comparison, so cutting the
	 * card off before it answers costs the try all the same */
	if (vc_store_put_u64(st, PURSE_APPLET, "mac.tries", tries - 1) !=
	    VC_STORE_OK || vc_store_checkpoint(st) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	purse_fault_point("mac-spent");
	return WK_SW_OK;
}

int
purse_mac_refund(vc_card *card)
{
	uint64_t max, tries;
	int rc;

	if ((rc = get_counter(card, "mac.max", PURSE_MAC_TRIES_DEFAULT, &max)) !=
	    VC_STORE_OK || (rc = get_counter(card, "mac.tries",
	    PURSE_MAC_TRIES_DEFAULT, &tries)) != VC_STORE_OK)
		return rc;
	if (tries >= max)
		return VC_STORE_OK;
	return vc_store_put_u64(vc_card_store(card), PURSE_APPLET, "mac.tries",
	    tries + 1);
}

int
purse_mac_reset(vc_card *card)
{
	uint64_t max, tries;
	int rc;

	if ((rc = get_counter(card, "mac.max", PURSE_MAC_TRIES_DEFAULT, &max)) !=
	    VC_STORE_OK || (rc = get_counter(card, "mac.tries",
	    PURSE_MAC_TRIES_DEFAULT, &tries)) != VC_STORE_OK)
		return rc;
	if (tries == max)
		return VC_STORE_OK;	/* no write, no fsync */
	return vc_store_put_u64(vc_card_store(card), PURSE_APPLET, "mac.tries",
	    max);
}

static void
log_name(char *name, size_t cap, unsigned slot)
{
	snprintf(name, cap, "log.%u", slot);
}

int
purse_log_get(vc_card *card, const purse_state *s, unsigned n,
    uint8_t rec[PURSE_REC_LEN])
{
	char name[32];
	uint8_t raw[PURSE_REC_LEN];
	wk_buf b;
	unsigned slot;
	int rc;

	if (n == 0 || n > s->log_count)
		return VC_STORE_NOT_FOUND;
	slot = (s->log_head + s->log_cap - (n - 1)) % s->log_cap;
	log_name(name, sizeof(name), slot);
	wk_buf_init_fixed(&b, raw, sizeof(raw));
	if ((rc = vc_store_get(vc_card_store(card), PURSE_APPLET, name, &b)) !=
	    VC_STORE_OK)
		return rc == VC_STORE_NOT_FOUND ? VC_STORE_CORRUPT : rc;
	if (b.len != PURSE_REC_LEN)
		return VC_STORE_CORRUPT;
	memcpy(rec, raw, PURSE_REC_LEN);
	return VC_STORE_OK;
}

int
purse_log_add(vc_card *card, purse_state *s, const uint8_t rec[PURSE_REC_LEN])
{
	char name[32];
	unsigned slot;
	int rc;

	slot = s->log_count == 0 ? 0 : (s->log_head + 1u) % s->log_cap;
	log_name(name, sizeof(name), slot);
	if ((rc = vc_store_put(vc_card_store(card), PURSE_APPLET, name, rec,
	    PURSE_REC_LEN)) != VC_STORE_OK)
		return rc;
	s->log_head = (uint16_t)slot;
	if (s->log_count < s->log_cap)
		s->log_count++;
	return VC_STORE_OK;
}

static void
be(uint8_t *p, uint32_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void
purse_record(uint8_t rec[PURSE_REC_LEN], uint16_t seq, uint32_t limit,
    uint32_t amount, uint8_t type, const uint8_t *term_id, const uint8_t *date,
    const uint8_t *time)
{
	be(rec, seq, 2);
	be(rec + 2, limit, 3);
	be(rec + 5, amount, 4);
	rec[9] = type;
	memcpy(rec + 10, term_id, WK_PURSE_TERM_ID_LEN);
	memcpy(rec + 16, date, WK_PURSE_DATE_LEN);
	memcpy(rec + 20, time, WK_PURSE_TIME_LEN);
}

int
purse_pin_set(vc_card *card, const char *digits, size_t n)
{
	char hash[crypto_pwhash_STRBYTES];
	int rc = VC_STORE_ERROR;

	if (crypto_pwhash_str_alg(hash, digits, n, PIN_OPSLIMIT, PIN_MEMLIMIT,
	    crypto_pwhash_ALG_ARGON2ID13) != 0)
		goto out;
	rc = vc_store_put_secret(vc_card_store(card), PURSE_APPLET, "pin",
	    (const uint8_t *)hash, strlen(hash) + 1);
out:
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

int
purse_pin_check(vc_card *card, const char *digits, size_t n, bool *ok)
{
	char hash[crypto_pwhash_STRBYTES];
	wk_buf b;
	int rc;

	*ok = false;
	wk_buf_init_fixed(&b, (uint8_t *)hash, sizeof(hash));
	if ((rc = vc_store_get_secret(vc_card_store(card), PURSE_APPLET, "pin",
	    &b)) != VC_STORE_OK)
		goto out;
	if (b.len == 0 || hash[b.len - 1] != '\0') {
		rc = VC_STORE_CORRUPT;
		goto out;
	}
	*ok = crypto_pwhash_str_verify(hash, digits, n) == 0;
	rc = VC_STORE_OK;
out:
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

/* ED, EP or both: the application type of the PERSO */
bool
purse_has(const purse_state *s, int purse)
{
	return (s->app_type & (purse == PURSE_ED ? 0x01 : 0x02)) != 0;
}

/* GET CHALLENGE's challenge for APPLICATION UNBLOCK (purse.c, and the
 * wallet's unblock request, purse_wallet.c) */
int
purse_challenge_new(vc_card *card, uint8_t chal[WK_PURSE_CHALLENGE_LEN])
{
	vc_card_random(card, chal, WK_PURSE_CHALLENGE_LEN);
	/* kept in the store, not in memory: a one-time unblock script made
	 * by the issuer for it may arrive in a later session */
	return vc_store_put(vc_card_store(card), PURSE_APPLET, "unblock.chal",
	    chal, WK_PURSE_CHALLENGE_LEN);
}
