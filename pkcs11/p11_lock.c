/*
 * the module lock: one mutex around all module state and card traffic.
 * PKCS#11 2.40 5.4 (C_Initialize): OS locking when CKF_OS_LOCKING_OK is set
 * or no callbacks are given, else the application's four callbacks.
 */
#include <pthread.h>
#include <string.h>

#include "p11_internal.h"

static pthread_mutex_t os_mutex = PTHREAD_MUTEX_INITIALIZER;
static CK_C_INITIALIZE_ARGS cb;
static void *cb_mutex;
static bool use_cb;

CK_RV
p11_lock_setup(const CK_C_INITIALIZE_ARGS *args)
{
	bool any, all;

	use_cb = false;
	cb_mutex = NULL;
	memset(&cb, 0, sizeof(cb));
	if (args == NULL)
		return CKR_OK;
	if (args->pReserved != NULL)
		return CKR_ARGUMENTS_BAD;
	any = args->CreateMutex != NULL || args->DestroyMutex != NULL ||
	    args->LockMutex != NULL || args->UnlockMutex != NULL;
	all = args->CreateMutex != NULL && args->DestroyMutex != NULL &&
	    args->LockMutex != NULL && args->UnlockMutex != NULL;
	if (any && !all)
		return CKR_ARGUMENTS_BAD;
	if (args->flags & CKF_OS_LOCKING_OK || !any)
		return CKR_OK;
	cb = *args;
	/* the mutex is the application's representation, NULL included */
	if (cb.CreateMutex(&cb_mutex) != CKR_OK)
		return CKR_CANT_LOCK;
	use_cb = true;
	return CKR_OK;
}

void
p11_lock_teardown(void)
{
	if (use_cb && cb_mutex != NULL)
		cb.DestroyMutex(cb_mutex);
	cb_mutex = NULL;
	use_cb = false;
}

void
p11_lock(void)
{
	if (use_cb)
		(void)cb.LockMutex(cb_mutex);
	else
		pthread_mutex_lock(&os_mutex);
}

void
p11_unlock(void)
{
	if (use_cb)
		(void)cb.UnlockMutex(cb_mutex);
	else
		pthread_mutex_unlock(&os_mutex);
}
