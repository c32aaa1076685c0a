/* what the tests of the built module share (test_p11_card.c,
 * test_p11_session.c, test_p11_module.c): the module loaded by dlopen, as
 * applications load it, its function list f, and main's arguments.
 * Include after <cmocka.h>. */
#ifndef P11_TEST_H
#define P11_TEST_H

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "p11_compat.h"

static const char *module_path;
static void *lib;
static CK_FUNCTION_LIST *f;

#define OK(x) assert_int_equal((x), CKR_OK)
#define RV(x, want) assert_int_equal((x), (want))

/* module_path loaded and its function list in f: 0, or -1 */
static inline int
p11_test_open(void)
{
	CK_C_GetFunctionList get;

	lib = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL)
		return -1;
	*(void **)&get = dlsym(lib, "C_GetFunctionList");
	return get != NULL && get(&f) == CKR_OK ? 0 : -1;
}

/* the objects of session h that match the template t (nt attributes),
 * at most cap of them into found: how many */
static inline CK_ULONG
p11_find(CK_SESSION_HANDLE h, CK_ATTRIBUTE *t, CK_ULONG nt,
    CK_OBJECT_HANDLE *found, CK_ULONG cap)
{
	CK_ULONG n = 0;

	OK(f->C_FindObjectsInit(h, t, nt));
	OK(f->C_FindObjects(h, found, cap, &n));
	OK(f->C_FindObjectsFinal(h));
	return n;
}

/* main's arguments: the module's path; a test that needs the card
 * (sandbox) is skipped (77) outside tools/walletkey-sandbox. 0 to run the
 * tests, else main's exit status */
static inline int
p11_test_args(int argc, char **argv, const char *name, bool sandbox)
{
	if (argc != 2)
		return 2;
	if (sandbox && getenv("WALLETKEY_SANDBOX") == NULL) {
		fprintf(stderr, "%s: not in tools/walletkey-sandbox, skipped\n",
		    name);
		return 77;
	}
	module_path = argv[1];
	return 0;
}

#endif
