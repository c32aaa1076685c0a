/*
 * p11_module.c through the built module (dlopen, as applications load it):
 * exports, function lists and interfaces, C_Initialize arguments and
 * locking callbacks, and the argument checks that need no card. PC/SC is
 * pointed at a socket that does not exist, so the module has no slots.
 * usage: test_p11_module PATH-TO-walletkey-pkcs11.so
 */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "p11_test.h"

static int
setup(void **state)
{
	(void)state;
	setenv("PCSCLITE_CSOCK_NAME", "/nonexistent/walletkey-test.comm", 1);
	return p11_test_open();
}

static int
teardown(void **state)
{
	(void)state;
	dlclose(lib);
	return 0;
}

static void
test_exports(void **state)
{
	(void)state;
	/* only the function-list entry points (walletkey-pkcs11.map) */
	assert_non_null(dlsym(lib, "C_GetFunctionList"));
	assert_non_null(dlsym(lib, "C_GetInterfaceList"));
	assert_non_null(dlsym(lib, "C_GetInterface"));
	assert_null(dlsym(lib, "C_Initialize"));
	assert_null(dlsym(lib, "C_Sign"));
	assert_null(dlsym(lib, "p11_rv"));
	assert_int_equal(f->version.major, 2);
	assert_int_equal(f->version.minor, 40);
	assert_int_equal(f->C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD);
}

static void
test_interfaces(void **state)
{
	CK_C_GetInterfaceList list;
	CK_C_GetInterface get;
	CK_INTERFACE ifs[4], *iface;
	CK_ULONG n = 0;
	CK_VERSION v30 = { 3, 0 }, v240 = { 2, 40 }, v99 = { 9, 9 };
	CK_FUNCTION_LIST_3_0 *f3;

	(void)state;
	*(void **)&list = dlsym(lib, "C_GetInterfaceList");
	*(void **)&get = dlsym(lib, "C_GetInterface");
	assert_int_equal(list(NULL, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(list(NULL, &n), CKR_OK);
	assert_int_equal(n, 2);
	n = 1;
	assert_int_equal(list(ifs, &n), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(n, 2);
	assert_int_equal(list(ifs, &n), CKR_OK);
	assert_string_equal((char *)ifs[0].pInterfaceName, "PKCS 11");
	assert_int_equal(get(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
	assert_int_equal(get(NULL, NULL, &iface, 0), CKR_OK);
	f3 = iface->pFunctionList;
	assert_int_equal(f3->version.major, 3);
	assert_non_null(f3->C_LoginUser);
	assert_non_null(f3->C_SessionCancel);
	assert_non_null(f3->C_MessageVerifyFinal);
	assert_int_equal(get((CK_UTF8CHAR *)"PKCS 11", &v240, &iface, 0), CKR_OK);
	assert_ptr_equal(iface->pFunctionList, f);
	assert_int_equal(get((CK_UTF8CHAR *)"PKCS 11", &v30, &iface, 0), CKR_OK);
	assert_int_equal(get((CK_UTF8CHAR *)"PKCS 11", &v99, &iface, 0),
	    CKR_ARGUMENTS_BAD);
	assert_int_equal(get((CK_UTF8CHAR *)"Vendor X", NULL, &iface, 0),
	    CKR_ARGUMENTS_BAD);
	/* fork safety in the 3.0 sense (sessions kept in the child) is not offered */
	assert_int_equal(get(NULL, NULL, &iface, CKF_INTERFACE_FORK_SAFE),
	    CKR_ARGUMENTS_BAD);
	/* 3.0 entry points before C_Initialize */
	assert_int_equal(f3->C_SessionCancel(1, CKF_SIGN),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(f3->C_LoginUser(1, CKU_USER, (CK_UTF8CHAR *)"123456", 6,
	    NULL, 0), CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void
test_not_initialized(void **state)
{
	CK_INFO info;
	CK_ULONG n;
	CK_SLOT_ID id;

	(void)state;
	assert_int_equal(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(f->C_GetSlotList(CK_FALSE, NULL, &n),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &n),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &id, NULL),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(f->C_Sign(1, NULL, 0, NULL, &n),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void
test_initialize_args(void **state)
{
	CK_C_INITIALIZE_ARGS a;
	int reserved;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.pReserved = &reserved;
	assert_int_equal(f->C_Initialize(&a), CKR_ARGUMENTS_BAD);
	memset(&a, 0, sizeof(a));
	a.CreateMutex = (CK_CREATEMUTEX)(uintptr_t)1;	/* some, not all four */
	assert_int_equal(f->C_Initialize(&a), CKR_ARGUMENTS_BAD);
	memset(&a, 0, sizeof(a));
	a.flags = CKF_OS_LOCKING_OK;
	assert_int_equal(f->C_Initialize(&a), CKR_OK);
	assert_int_equal(f->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
	assert_int_equal(f->C_Finalize(&reserved), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_Finalize(NULL), CKR_OK);
	assert_int_equal(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}

/* the application's mutex callbacks are the ones used */
static int n_create, n_lock, n_unlock, n_destroy;

static CK_RV
m_create(void **m)
{
	pthread_mutex_t *p = malloc(sizeof(*p));

	pthread_mutex_init(p, NULL);
	*m = p;
	n_create++;
	return CKR_OK;
}

static CK_RV
m_destroy(void *m)
{
	pthread_mutex_destroy(m);
	free(m);
	n_destroy++;
	return CKR_OK;
}

static CK_RV
m_lock(void *m)
{
	n_lock++;
	return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_MUTEX_BAD;
}

static CK_RV
m_unlock(void *m)
{
	n_unlock++;
	return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_MUTEX_NOT_LOCKED;
}

static void
test_mutex_callbacks(void **state)
{
	CK_C_INITIALIZE_ARGS a = { m_create, m_destroy, m_lock, m_unlock, 0, NULL };
	CK_INFO info;

	(void)state;
	assert_int_equal(f->C_Initialize(&a), CKR_OK);
	assert_int_equal(n_create, 1);
	assert_int_equal(f->C_GetInfo(&info), CKR_OK);
	assert_true(n_lock > 0);
	assert_int_equal(n_lock, n_unlock);
	assert_int_equal(f->C_Finalize(NULL), CKR_OK);
	assert_int_equal(n_destroy, 1);
}

static void
test_no_reader(void **state)
{
	CK_INFO info;
	CK_ULONG n = 99;
	CK_SLOT_ID list[4], id;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_MECHANISM_TYPE mechs[64];
	CK_MECHANISM_INFO mi;
	CK_SESSION_HANDLE h;
	CK_BYTE buf[8];

	(void)state;
	assert_int_equal(f->C_Initialize(NULL), CKR_OK);
	assert_int_equal(f->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_GetInfo(&info), CKR_OK);
	assert_int_equal(info.cryptokiVersion.major, 2);
	assert_memory_equal(info.manufacturerID, "walletkey ", 10);
	assert_int_equal(f->C_GetSlotList(CK_FALSE, list, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(f->C_GetSlotInfo(0, &si), CKR_SLOT_ID_INVALID);
	assert_int_equal(f->C_GetSlotInfo(0, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_GetTokenInfo(3, &ti), CKR_SLOT_ID_INVALID);
	assert_int_equal(f->C_GetMechanismList(0, mechs, &n), CKR_SLOT_ID_INVALID);
	assert_int_equal(f->C_GetMechanismInfo(0, CKM_ECDSA, &mi),
	    CKR_SLOT_ID_INVALID);
	assert_int_equal(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, NULL),
	    CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_OpenSession(0, 0, NULL, NULL, &h),
	    CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	assert_int_equal(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h),
	    CKR_SLOT_ID_INVALID);
	assert_int_equal(f->C_CloseAllSessions(0), CKR_SLOT_ID_INVALID);
	assert_int_equal(f->C_InitToken(0, buf, 6, buf), CKR_SLOT_ID_INVALID);
	assert_int_equal(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL),
	    CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &id, buf),
	    CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &id, NULL),
	    CKR_NO_EVENT);
	/* every session call with a handle that was never opened */
	assert_int_equal(f->C_CloseSession(7), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(f->C_Login(7, CKU_USER, buf, 6), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(f->C_Logout(7), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(f->C_FindObjectsInit(7, NULL, 0), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(f->C_SignInit(7, NULL, 1), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(f->C_GenerateRandom(7, buf, 8), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(f->C_Finalize(NULL), CKR_OK);
}

/* fork: the child is not initialised until it calls C_Initialize itself */
static void
test_fork(void **state)
{
	CK_INFO info;
	pid_t pid;
	int st = 0;

	(void)state;
	assert_int_equal(f->C_Initialize(NULL), CKR_OK);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ok = f->C_GetInfo(&info) == CKR_CRYPTOKI_NOT_INITIALIZED &&
		    f->C_Initialize(NULL) == CKR_OK &&
		    f->C_GetInfo(&info) == CKR_OK &&
		    f->C_Finalize(NULL) == CKR_OK;
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(f->C_GetInfo(&info), CKR_OK);
	assert_int_equal(f->C_Finalize(NULL), CKR_OK);
}

/* a blocking C_WaitForSlotEvent returns when another thread finalises */
static void *
waiter(void *arg)
{
	CK_SLOT_ID id;

	*(CK_RV *)arg = f->C_WaitForSlotEvent(0, &id, NULL);
	return NULL;
}

static void
test_wait_finalize(void **state)
{
	pthread_t t;
	CK_RV rv = CKR_OK;

	(void)state;
	assert_int_equal(f->C_Initialize(NULL), CKR_OK);
	assert_int_equal(pthread_create(&t, NULL, waiter, &rv), 0);
	usleep(300 * 1000);
	assert_int_equal(f->C_Finalize(NULL), CKR_OK);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(rv, CKR_CRYPTOKI_NOT_INITIALIZED);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exports),
		cmocka_unit_test(test_interfaces),
		cmocka_unit_test(test_not_initialized),
		cmocka_unit_test(test_initialize_args),
		cmocka_unit_test(test_mutex_callbacks),
		cmocka_unit_test(test_no_reader),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_wait_finalize),
	};
	int rc;

	if ((rc = p11_test_args(argc, argv, "test_p11_module", false)) != 0)
		return rc;
	return cmocka_run_group_tests(tests, setup, teardown);
}
