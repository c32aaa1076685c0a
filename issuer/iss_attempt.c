/*
 * the account check of an enrolment (docs/issuer.md "Enrolment attempts"):
 * the same answer and the same work for an unknown account number and a
 * wrong password, a bound on the Argon2id hashes running at once, and
 * limits on failed attempts per account number (durable) and per client
 * address (in memory)
 */
#include "iss.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

static bool
valid_pan(const char *pan)
{
	size_t n = strlen(pan);

	return n >= 1 && n <= WK_MSG_PAN_MAX && strspn(pan, "0123456789") == n;
}

/* the dummy hash unknown account numbers are checked against: made once,
 * with the limits of every account's hash, so both cost one Argon2id */
static int
dummy_hash(iss *is, char out[crypto_pwhash_STRBYTES])
{
	uint8_t pw[32];
	int rc = 0;

	pthread_mutex_lock(&is->hash_mu);
	if (is->dummy_hash[0] == '\0') {
		randombytes_buf(pw, sizeof(pw));
		if (crypto_pwhash_str(is->dummy_hash, (const char *)pw, sizeof(pw),
		    ISS_PW_OPSLIMIT, ISS_PW_MEMLIMIT) != 0) {
			is->dummy_hash[0] = '\0';
			rc = -1;
		}
		sodium_memzero(pw, sizeof(pw));
	}
	memcpy(out, is->dummy_hash, crypto_pwhash_STRBYTES);
	pthread_mutex_unlock(&is->hash_mu);
	return rc;
}

/* a turn to hash: waits ISS_HASH_WAIT_MS at most */
static int
hash_acquire(iss *is)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ISS_HASH_WAIT_MS / 1000;
	until.tv_nsec += (long)(ISS_HASH_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&is->hash_mu);
	while (is->hash_busy >= is->hash_max && rc == 0)
		if (pthread_cond_timedwait(&is->hash_cv, &is->hash_mu, &until) ==
		    ETIMEDOUT)
			rc = -1;
	if (rc == 0)
		is->hash_busy++;
	pthread_mutex_unlock(&is->hash_mu);
	return rc;
}

static void
hash_release(iss *is)
{
	pthread_mutex_lock(&is->hash_mu);
	is->hash_busy--;
	pthread_cond_signal(&is->hash_cv);
	pthread_mutex_unlock(&is->hash_mu);
}

/* the attempt is counted before the hash, so parallel guesses count too */
typedef struct attempt_arg {
	const char *pan;
	int64_t now;
	int64_t wait;		/* out: > 0 when over the limit */
	int64_t id;		/* out: the account, 0 none */
	char hash[crypto_pwhash_STRBYTES];
} attempt_arg;

static int
tx_attempt(iss *is, iss_db *db, void *arg, iss_err *e)
{
	attempt_arg *a = arg;
	iss_res *r = NULL;
	int64_t fails = 0, start = a->now;
	int d;

	(void)is;
	a->wait = 0;
	a->id = 0;
	a->hash[0] = '\0';
	if ((d = iss_db_exec(db, "DELETE FROM enrol_attempts WHERE"
	    " window_start <= $1", (iss_param[]){ ISS_PI(a->now -
	    ISS_ACCOUNT_WINDOW) }, 1, NULL)) != ISS_DB_OK ||
	    (d = iss_db_exec(db, "SELECT failures, window_start FROM"
	    " enrol_attempts WHERE pan = $1", (iss_param[]){ ISS_PS(a->pan) }, 1,
	    &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (iss_res_rows(r) == 1) {
		fails = iss_res_int(r, 0, 0);
		start = iss_res_int(r, 0, 1);
	}
	iss_res_free(&r);
	if (fails >= ISS_ACCOUNT_FAILS) {
		a->wait = start + ISS_ACCOUNT_WINDOW - a->now;
		if (a->wait < 1)
			a->wait = 1;
		return 0;
	}
	if ((d = iss_db_exec(db, "DELETE FROM enrol_attempts WHERE pan = $1",
	    (iss_param[]){ ISS_PS(a->pan) }, 1, NULL)) != ISS_DB_OK ||
	    (d = iss_db_exec(db, "INSERT INTO enrol_attempts (pan, failures,"
	    " window_start) VALUES ($1, $2, $3)", (iss_param[]){ ISS_PS(a->pan),
	    ISS_PI(fails + 1), ISS_PI(start) }, 3, NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	/* the same query whether the account exists or not */
	if ((d = iss_db_exec(db, "SELECT id, password_hash FROM accounts WHERE"
	    " pan = $1 AND kind = 'customer'", (iss_param[]){ ISS_PS(a->pan) },
	    1, &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (iss_res_rows(r) == 1 && iss_res_text(r, 0, 1) != NULL &&
	    strlen(iss_res_text(r, 0, 1)) < sizeof(a->hash)) {
		a->id = iss_res_int(r, 0, 0);
		snprintf(a->hash, sizeof(a->hash), "%s", iss_res_text(r, 0, 1));
	}
	iss_res_free(&r);
	return 0;
}

static int
tx_forget(iss *is, iss_db *db, void *arg, iss_err *e)
{
	int d;

	(void)is;
	if ((d = iss_db_exec(db, "DELETE FROM enrol_attempts WHERE pan = $1",
	    (iss_param[]){ ISS_PS((const char *)arg) }, 1, NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	return 0;
}

/* the wait goes in Retry-After only: the body is the same for every
 * locked number, known or not */
static int
too_many(iss_err *e, int64_t wait)
{
	iss_fail(e, 429, "too_many_attempts", "too many failed attempts; retry"
	    " after the seconds Retry-After says");
	e->retry_after = (int)(wait > 86400 ? 86400 : wait);
	return -1;
}

int
iss_account_check(iss *is, const char *peer, const char *pan,
    const char *password, int64_t *id, iss_err *e)
{
	char dummy[crypto_pwhash_STRBYTES];
	attempt_arg a;
	int64_t wait;
	bool ok;
	int rc = -1;

	memset(&a, 0, sizeof(a));
	if (!valid_pan(pan)) {
		iss_fail(e, 400, "bad_pan", "an account number is 1 to 19 digits");
		return -1;
	}
	a.pan = pan;
	a.now = iss_now(is);
	if ((wait = iss_limiter_take(is->enrol_limit, peer, a.now)) > 0)
		return too_many(e, wait);
	if (dummy_hash(is, dummy) != 0) {
		iss_fail(e, 500, "internal", "out of memory hashing");
		goto refund;
	}
	/* memory: each hash takes ISS_PW_MEMLIMIT; a flood waits, then 503 */
	if (hash_acquire(is) != 0) {
		iss_fail(e, 503, "busy", "too many enrolments at once; retry");
		e->retry_after = 1;
		goto refund;
	}
	if (iss_run_tx(is, tx_attempt, &a, e) != 0) {
		hash_release(is);
		goto refund;
	}
	if (a.wait > 0) {
		hash_release(is);
		too_many(e, a.wait);
		goto refund;
	}
	/* one Argon2id either way: the account's hash, or the dummy */
	ok = crypto_pwhash_str_verify(a.id != 0 ? a.hash : dummy, password,
	    strlen(password)) == 0 && a.id != 0;
	__atomic_add_fetch(&is->hash_runs, 1, __ATOMIC_RELAXED);
	hash_release(is);
	sodium_memzero(a.hash, sizeof(a.hash));
	if (!ok) {
		/* unknown PAN and wrong password answer alike, byte for byte */
		iss_fail(e, 401, "bad_credentials", "wrong account number or"
		    " password");
		return -1;
	}
	if (iss_run_tx(is, tx_forget, (void *)pan, e) != 0)
		goto refund;
	*id = a.id;
	rc = 0;
refund:
	/* no guess was made, or it was right: the address keeps its allowance */
	iss_limiter_give(is->enrol_limit, peer, a.now);
	return rc;
}
