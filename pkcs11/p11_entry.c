/*
 * walletkey-pkcs11: the module's life and the way into it: the state
 * (initialised, in which process), C_Initialize, C_Finalize, the lock every
 * entry point takes (p11_enter, p11_leave: the mechanism of p11_entry.h)
 * and C_WaitForSlotEvent, which polls without holding it
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "p11_entry.h"

static pthread_mutex_t init_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static volatile bool initialized;
static volatile unsigned finalize_gen;
static pid_t init_pid;
/* set in a child of the process that initialised (atfork_child): every
 * entry but C_Initialize answers CKR_CRYPTOKI_NOT_INITIALIZED there. Entry
 * points test this flag, not getpid(): a system call each, two per
 * signature (C_SignInit, C_Sign), about 3 us apiece on a virtual machine.
 * fork() runs the handler; a child made by a raw clone() without it is
 * outside what PKCS#11 allows anyway (2.40 base 6.7.7). */
static volatile bool forked;

static void
atfork_prepare(void)
{
	if (initialized)
		p11_lock();
}

static void
atfork_parent(void)
{
	if (initialized)
		p11_unlock();
}

static void
atfork_child(void)
{
	/* the child starts over with C_Initialize (2.40 base 6.7.7) */
	if (initialized) {
		forked = true;
		p11_unlock();
	}
}

static void
atfork_register(void)
{
	(void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}


static CK_RV
enter(void)
{
	if (!initialized || forked)
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	p11_lock();
	if (!initialized) {
		p11_unlock();
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	return CKR_OK;
}

CK_RV
p11_enter(enum p11_need need, CK_ULONG key, p11_call *c)
{
	CK_RV rv = enter();

	memset(c, 0, sizeof(*c));
	if (rv != CKR_OK)
		return rv;
	switch (need) {
	case P11_NEED_MODULE:
		return CKR_OK;
	case P11_NEED_SLOT:
		c->id = key;
		rv = p11_slot_get(key, &c->slot);
		break;
	case P11_NEED_TOKEN:
		c->id = key;
		rv = p11_token_get(key, &c->slot);
		break;
	case P11_NEED_SESSION:
		c->h = key;
		rv = p11_session_get(key, &c->s, &c->slot);
		if (rv == CKR_OK)
			c->id = c->s->slot;
		break;
	}
	if (rv != CKR_OK)
		p11_unlock();
	return rv;
}

CK_RV
p11_leave(CK_RV rv)
{
	p11_unlock();
	return rv;
}

bool
p11_module_initialized(void)
{
	return initialized;
}

/* ---- the module's life ---- */

CK_RV
wk_C_Initialize(CK_VOID_PTR init_args)
{
	CK_RV rv;

	pthread_mutex_lock(&init_mutex);
	if (initialized && init_pid == getpid()) {
		rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
		goto out;
	}
	if (initialized) {
		/* a child of the process that initialised: drop its state */
		p11_sessions_fini();
		p11_slots_fini(true);
		initialized = false;
	}
	if (sodium_init() < 0) {
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	(void)pthread_once(&atfork_once, atfork_register);
	rv = p11_lock_setup(init_args);
	if (rv != CKR_OK)
		goto out;
	p11_lock();
	rv = p11_slots_init();
	p11_unlock();
	if (rv != CKR_OK) {
		p11_lock_teardown();
		goto out;
	}
	init_pid = getpid();
	forked = false;
	initialized = true;
out:
	pthread_mutex_unlock(&init_mutex);
	return rv;
}

CK_RV
wk_C_Finalize(CK_VOID_PTR reserved)
{
	CK_RV rv = CKR_OK;

	if (reserved != NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&init_mutex);
	if (!initialized || init_pid != getpid()) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto out;
	}
	p11_lock();
	initialized = false;
	finalize_gen++;
	p11_sessions_fini();
	p11_slots_fini(false);
	p11_unlock();
	p11_lock_teardown();
out:
	pthread_mutex_unlock(&init_mutex);
	return rv;
}

/* slot events: polls, without the lock between polls */
CK_RV
wk_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved)
{
	struct timespec ts = { 0, 150 * 1000 * 1000 };
	unsigned gen = finalize_gen;
	CK_SLOT_ID id;
	CK_RV rv;

	if ((rv = enter()) != CKR_OK)
		return rv;
	if (slot == NULL || reserved != NULL)
		return p11_leave(CKR_ARGUMENTS_BAD);
	p11_unlock();
	for (;;) {
		if (!initialized || gen != finalize_gen)
			return CKR_CRYPTOKI_NOT_INITIALIZED;
		if ((rv = enter()) != CKR_OK)
			return rv;
		if (gen != finalize_gen)
			return p11_leave(CKR_CRYPTOKI_NOT_INITIALIZED);
		(void)p11_slots_refresh();
		rv = p11_slots_event(&id);
		p11_unlock();
		if (rv == CKR_OK) {
			*slot = id;
			return CKR_OK;
		}
		if (flags & CKF_DONT_BLOCK)
			return CKR_NO_EVENT;
		nanosleep(&ts, NULL);
	}
}
