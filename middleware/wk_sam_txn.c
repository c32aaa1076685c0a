/* the SAM's side of a purse transaction (docs/wallet.md): the session
 * keys and MACs, the in-flight record, the terminal journal */
#include "wk_sam_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_hex.h"
#include "wk_purse_crypto.h"

/* ---- cryptography, all through common/wk_purse_crypto ---- */

static bool
is_load(uint8_t type)
{
	return type == WK_PURSE_TT_ED_LOAD || type == WK_PURSE_TT_EP_LOAD;
}

static bool
is_purchase(uint8_t type)
{
	return type == WK_PURSE_TT_ED_PURCHASE || type == WK_PURSE_TT_EP_PURCHASE;
}

/* the card's key for this transaction, diversified by its serial */
static int
card_key(const wk_sam *sam, unsigned which, const wk_purse_txn *t,
    uint8_t dk[WK_PURSE_KEY_LEN])
{
	if (t->key_index != sam->key_index)
		return WK_ERR_KEY_NOT_FOUND;
	if (!sam->diversify) {
		memcpy(dk, sam->keys[which], WK_PURSE_KEY_LEN);
		return WK_OK;
	}
	return wk_purse_derive_key(sam->algs[which], sam->keys[which], t->serial,
	    dk);
}

static int
session_key(const wk_sam *sam, const wk_purse_txn *t, wk_purse_skey *sk)
{
	uint8_t dk[WK_PURSE_KEY_LEN];
	unsigned which = is_load(t->type) ? K_DLK : K_DPK;
	int rc;

	/* the card says which algorithm its key has (INITIALIZE's answer);
	 * this SAM's master makes keys of one */
	if (t->alg != sam->algs[which])
		return WK_ERR_KEY_NOT_FOUND;
	if ((rc = card_key(sam, which, t, dk)) != WK_OK)
		goto out;
	rc = WK_ERR_CRYPTO;
	if (is_load(t->type)) {
		if (wk_purse_session_key_online(t->alg, dk, t->random,
		    t->card_seq, sk) != WK_PURSE_CRYPTO_OK)
			goto out;
	} else if (wk_purse_session_key_purchase(t->alg, dk, t->random,
	    t->card_seq, t->term_seq, sk) != WK_PURSE_CRYPTO_OK) {
		goto out;
	}
	rc = WK_OK;
out:
	sodium_memzero(dk, sizeof(dk));
	return rc;
}

/*
 * the in-flight record, PATH.inflight (issue 17): what each purchase writes
 * instead of rewriting the file. One pwrite of INFL_LEN bytes (less than a
 * disk sector) at offset 0, no fsync: a crash of the process leaves it
 * whole; a torn or stale one (its hash, its generation below the file's)
 * is ignored. The file itself is rewritten durably with each block of
 * numbers and at close, and holds no key: the master keys stay in the file.
 */
#define INFL_MAGIC "WKINFL01"
#define INFL_BODY (8 + 8 + 4 + 6 + 8 + 1 + 1 + 1 + 1 + 4 + WK_PURSE_SERIAL_LEN + \
	6 + 4 + 4 + 3 + 4 + 2 + 1 + 1 + 4 + 4 + 4)
#define INFL_LEN (INFL_BODY + 16)

char *
wk_sam_infl_path(const wk_sam *sam)
{
	char *p = malloc(strlen(sam->path) + 10);

	if (p != NULL)
		sprintf(p, "%s.inflight", sam->path);
	return p;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
infl_encode(const wk_sam *sam, uint8_t out[INFL_LEN])
{
	const wk_purse_txn *t = &sam->last;
	uint8_t *p = out;

	memcpy(p, INFL_MAGIC, 8), p += 8;
	for (int k = 7; k >= 0; k--)
		*p++ = (uint8_t)(sam->gen >> (8 * k));
	put32(p, sam->counter), p += 4;
	memcpy(p, sam->terminal, 6), p += 6;
	memcpy(p, sam->psam_id, 8), p += 8;
	*p++ = sam->has_last ? 1 : 0;
	*p++ = (uint8_t)t->state;
	*p++ = t->type;
	*p++ = t->key_index;
	put32(p, t->amount), p += 4;
	memcpy(p, t->serial, sizeof(t->serial)), p += sizeof(t->serial);
	memcpy(p, t->terminal, 6), p += 6;
	memcpy(p, t->term_seq, 4), p += 4;
	memcpy(p, t->date, 4), p += 4;
	memcpy(p, t->time, 3), p += 3;
	put32(p, t->old_balance), p += 4;
	*p++ = (uint8_t)(t->card_seq >> 8);
	*p++ = (uint8_t)t->card_seq;
	*p++ = t->key_version;
	*p++ = t->alg;
	memcpy(p, t->random, 4), p += 4;
	memcpy(p, t->mac1, 4), p += 4;
	memcpy(p, t->mac2, 4), p += 4;
	crypto_generichash(p, 16, out, INFL_BODY, NULL, 0);
}

static int
infl_write(wk_sam *sam)
{
	uint8_t rec[INFL_LEN];
	char *path;
	ssize_t w;

	if (sam->jfd < 0) {
		if ((path = wk_sam_infl_path(sam)) == NULL)
			return WK_ERR_MEMORY;
		sam->jfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		free(path);
		if (sam->jfd < 0)
			return WK_ERR_IO;
	}
	infl_encode(sam, rec);
	do {
		w = pwrite(sam->jfd, rec, sizeof(rec), 0);
	} while (w < 0 && errno == EINTR);
	sodium_memzero(rec, sizeof(rec));
	return w == (ssize_t)sizeof(rec) ? WK_OK : WK_ERR_IO;
}

/* a newer in-flight record than the file's replaces its last transaction */
void
wk_sam_infl_read(wk_sam *sam)
{
	uint8_t rec[INFL_LEN], h[16];
	const uint8_t *p = rec;
	wk_purse_txn t;
	uint64_t gen = 0;
	char *path;
	ssize_t n;
	int fd;

	if ((path = wk_sam_infl_path(sam)) == NULL)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return;
	n = pread(fd, rec, sizeof(rec), 0);
	close(fd);
	if (n != (ssize_t)sizeof(rec) || memcmp(rec, INFL_MAGIC, 8) != 0)
		return;
	crypto_generichash(h, sizeof(h), rec, INFL_BODY, NULL, 0);
	if (sodium_memcmp(h, rec + INFL_BODY, sizeof(h)) != 0)
		return;		/* torn */
	p += 8;
	for (int k = 0; k < 8; k++)
		gen = gen << 8 | *p++;
	if (gen <= sam->gen)
		return;		/* the file is as new */
	memset(&t, 0, sizeof(t));
	p += 4;			/* its counter: the reservation covers it */
	if (memcmp(p, sam->terminal, 6) != 0 || (sam->is_psam &&
	    memcmp(p + 6, sam->psam_id, 8) != 0))
		return;		/* another terminal's */
	p += 14;
	if (*p++ != 1)
		return;
	t.state = (wk_purse_txn_state)*p++;
	t.type = *p++;
	t.key_index = *p++;
	t.amount = get32(p), p += 4;
	memcpy(t.serial, p, sizeof(t.serial)), p += sizeof(t.serial);
	memcpy(t.terminal, p, 6), p += 6;
	memcpy(t.term_seq, p, 4), p += 4;
	memcpy(t.date, p, 4), p += 4;
	memcpy(t.time, p, 3), p += 3;
	t.old_balance = get32(p), p += 4;
	t.card_seq = (uint16_t)(p[0] << 8 | p[1]), p += 2;
	t.key_version = *p++;
	t.alg = *p++;
	memcpy(t.random, p, 4), p += 4;
	memcpy(t.mac1, p, 4), p += 4;
	memcpy(t.mac2, p, 4);
	if (t.state != WK_PURSE_TXN_PREPARED && t.state != WK_PURSE_TXN_SENT &&
	    t.state != WK_PURSE_TXN_DONE && t.state != WK_PURSE_TXN_NOT_DONE)
		return;
	sam->last = t;
	sam->has_last = true;
	sam->gen = gen;
	sam->dirty = true;	/* the file catches up at close */
}

/* records t as the last transaction and the counter; durable (the file,
 * fsync) or (a purchase: its number's reservation is durable already)
 * the in-flight record only */
static int
journal(wk_sam *sam, const wk_purse_txn *t, uint32_t counter, bool durable)
{
	wk_purse_txn old_last = sam->last;
	uint32_t old_counter = sam->counter;
	bool old_has = sam->has_last;
	int rc;

	sam->last = *t;
	sam->last.state = WK_PURSE_TXN_SENT;
	sam->has_last = true;
	sam->counter = counter;
	sam->gen++;
	if ((rc = durable ? wk_sam_store(sam, sam->path, false, true) :
	    infl_write(sam)) != WK_OK) {
		sam->last = old_last;
		sam->counter = old_counter;
		sam->has_last = old_has;
	} else {
		sam->dirty = !durable;
	}
	return rc;
}

int
wk_sam_purchase_mac1(wk_sam *sam, wk_purse_txn *txn)
{
	wk_purse_skey sk;
	uint32_t next;
	int rc = WK_ERR_ARG;

	if (sam == NULL || txn == NULL || !is_purchase(txn->type))
		goto out;
	if (sam->is_psam) {
		memcpy(txn->terminal, sam->terminal, sizeof(txn->terminal));
		rc = WK_ERR_ARG;
		if (sam->psam == NULL)
			goto out;
		rc = WK_ERR_KEY_NOT_FOUND;
		if (txn->key_index != sam->key_index)
			goto out;
		/* the PSAM commits its counter before MAC1 leaves it */
		if ((rc = wk_psam_purchase_mac1(sam->psam, txn)) != WK_OK)
			goto out;
		next = (uint32_t)txn->term_seq[0] << 24 |
		    (uint32_t)txn->term_seq[1] << 16 |
		    (uint32_t)txn->term_seq[2] << 8 | txn->term_seq[3];
		/* the PSAM's own reservation keeps the number; the journal
		 * is for recovery after a crash of this process */
		if ((rc = journal(sam, txn, next, false)) != WK_OK) {
			sodium_memzero(txn->mac1, sizeof(txn->mac1));
			goto out;
		}
		txn->state = WK_PURSE_TXN_PREPARED;
		goto out;
	}
	rc = WK_ERR_LIMIT;
	if (sam->counter == UINT32_MAX)
		goto out;
	next = sam->counter + 1;
	if (next > sam->reserved) {
		/* the next block of numbers, durably, before one of them is used */
		uint32_t old = sam->reserved;

		sam->reserved = sam->counter > UINT32_MAX - COUNTER_BLOCK ?
		    UINT32_MAX : sam->counter + COUNTER_BLOCK;
		if ((rc = wk_sam_store(sam, sam->path, false, true)) != WK_OK) {
			sam->reserved = old;
			goto out;
		}
		sam->dirty = false;
	}
	txn->term_seq[0] = (uint8_t)(next >> 24);
	txn->term_seq[1] = (uint8_t)(next >> 16);
	txn->term_seq[2] = (uint8_t)(next >> 8);
	txn->term_seq[3] = (uint8_t)next;
	memcpy(txn->terminal, sam->terminal, sizeof(txn->terminal));
	if ((rc = session_key(sam, txn, &sk)) != WK_OK)
		goto out;
	rc = WK_ERR_CRYPTO;
	if (wk_purse_purchase_mac1(&sk, txn->amount, txn->type, txn->terminal,
	    txn->date, txn->time, txn->mac1) != WK_PURSE_CRYPTO_OK)
		goto out;
	/* the number is reserved durably before it leaves the SAM */
	if ((rc = journal(sam, txn, next, false)) != WK_OK) {
		sodium_memzero(txn->mac1, sizeof(txn->mac1));
		goto out;
	}
	txn->state = WK_PURSE_TXN_PREPARED;
	rc = WK_OK;
out:
	sodium_memzero(&sk, sizeof(sk));
	return rc;
}

int
wk_sam_load_mac2(wk_sam *sam, wk_purse_txn *txn)
{
	uint8_t mac1[WK_PURSE_MAC_LEN];
	wk_purse_skey sk;
	int rc = WK_ERR_ARG;

	if (sam == NULL || txn == NULL || !is_load(txn->type))
		goto out;
	/* a PSAM has no load key: loads are remote (DLK stays at the issuer) */
	rc = WK_ERR_NOT_SUPPORTED;
	if (sam->is_psam)
		goto out;
	memcpy(txn->terminal, sam->terminal, sizeof(txn->terminal));
	memset(txn->term_seq, 0, sizeof(txn->term_seq));
	if ((rc = session_key(sam, txn, &sk)) != WK_OK)
		goto out;
	rc = WK_ERR_CRYPTO;
	if (wk_purse_load_mac1(&sk, txn->old_balance, txn->amount, txn->type,
	    txn->terminal, mac1) != WK_PURSE_CRYPTO_OK)
		goto out;
	rc = WK_ERR_AUTH_FAILED;
	if (sodium_memcmp(mac1, txn->mac1, sizeof(mac1)) != 0)
		goto out;
	rc = WK_ERR_CRYPTO;
	if (wk_purse_load_mac2(&sk, txn->amount, txn->type, txn->terminal,
	    txn->date, txn->time, txn->mac2) != WK_PURSE_CRYPTO_OK)
		goto out;
	if ((rc = journal(sam, txn, sam->counter, true)) != WK_OK) {
		sodium_memzero(txn->mac2, sizeof(txn->mac2));
		goto out;
	}
	txn->state = WK_PURSE_TXN_PREPARED;
	rc = WK_OK;
out:
	sodium_memzero(&sk, sizeof(sk));
	sodium_memzero(mac1, sizeof(mac1));
	return rc;
}

int
wk_sam_check(wk_sam *sam, const wk_purse_txn *txn, const uint8_t *mac,
    const uint8_t tac[4])
{
	uint8_t dtk[WK_PURSE_KEY_LEN], want[WK_PURSE_MAC_LEN];
	wk_purse_skey sk, ktac;
	int rc = WK_ERR_ARG, c;

	memset(&sk, 0, sizeof(sk));
	memset(&ktac, 0, sizeof(ktac));
	if (sam == NULL || txn == NULL || tac == NULL ||
	    !(is_load(txn->type) || is_purchase(txn->type)))
		goto out;
	if (sam->is_psam) {
		/* the PSAM checks MAC2 under the purchase's session, restated
		 * (one round trip; right after a restart of the PSAM too); the
		 * TAC (DTK stays at the issuer) is checked when the proof is
		 * settled */
		rc = WK_ERR_NOT_SUPPORTED;
		if (mac == NULL || !is_purchase(txn->type))
			goto out;
		rc = WK_ERR_ARG;
		if (sam->psam == NULL)
			goto out;
		rc = WK_ERR_AUTH_FAILED;
		if (memcmp(sam->terminal, txn->terminal, 6) != 0)
			goto out;	/* not this terminal's purchase */
		rc = wk_psam_check_purchase(sam->psam, txn, mac);
		goto out;
	}
	if (mac != NULL && is_purchase(txn->type)) {
		if ((rc = session_key(sam, txn, &sk)) != WK_OK)
			goto out;
		rc = WK_ERR_CRYPTO;
		if (wk_purse_purchase_mac2(&sk, txn->amount, want) !=
		    WK_PURSE_CRYPTO_OK)
			goto out;
		rc = WK_ERR_AUTH_FAILED;
		if (sodium_memcmp(want, mac, sizeof(want)) != 0)
			goto out;
	}
	/* docs/purse.md U2: a load's proof carries the host MAC2 it verified */
	rc = WK_ERR_AUTH_FAILED;
	if (mac != NULL && is_load(txn->type) &&
	    sodium_memcmp(txn->mac2, mac, sizeof(txn->mac2)) != 0)
		goto out;
	if ((rc = card_key(sam, K_DTK, txn, dtk)) != WK_OK)
		goto out;
	rc = WK_ERR_CRYPTO;
	if (wk_purse_tac_key(sam->algs[K_DTK], dtk, &ktac) != WK_PURSE_CRYPTO_OK)
		goto out;
	rc = WK_ERR_LIMIT;
	if (is_load(txn->type)) {
		if (txn->old_balance > UINT32_MAX - txn->amount)
			goto out;
		c = wk_purse_load_tac(&ktac, txn->old_balance + txn->amount,
		    txn->card_seq, txn->amount, txn->type, txn->terminal,
		    txn->date, txn->time, want);
	} else {
		c = wk_purse_purchase_tac(&ktac, txn->amount, txn->type,
		    txn->terminal, txn->term_seq, txn->date, txn->time, want);
	}
	rc = WK_ERR_CRYPTO;
	if (c != WK_PURSE_CRYPTO_OK)
		goto out;
	rc = WK_ERR_AUTH_FAILED;
	if (sodium_memcmp(want, tac, sizeof(want)) != 0)
		goto out;
	rc = WK_OK;
out:
	sodium_memzero(&sk, sizeof(sk));
	sodium_memzero(dtk, sizeof(dtk));
	sodium_memzero(&ktac, sizeof(ktac));
	sodium_memzero(want, sizeof(want));
	return rc;
}

int
wk_sam_settle(wk_sam *sam, const wk_purse_txn *txn)
{
	wk_purse_txn_state old;
	int rc;

	if (sam == NULL || txn == NULL || !sam->has_last ||
	    (txn->state != WK_PURSE_TXN_DONE && txn->state != WK_PURSE_TXN_NOT_DONE))
		return WK_ERR_ARG;
	if (sam->last.type != txn->type || sam->last.card_seq != txn->card_seq ||
	    memcmp(sam->last.random, txn->random, sizeof(txn->random)) != 0)
		return WK_ERR_ARG;	/* not the transaction the SAM recorded */
	old = sam->last.state;
	sam->last.state = txn->state;
	sam->gen++;
	/* the in-flight record, durable at close: lost to a power loss, the
	 * transaction shows "sent" and `wallet prove` settles it again (the
	 * proof journal takes a proof twice and settles it once) */
	if ((rc = infl_write(sam)) != WK_OK)
		sam->last.state = old;
	else
		sam->dirty = true;
	return rc;
}
