/* what walletkey doctor's files share: the run and its checks
 * (cmd_doctor.c: the checks' list, the packages, the report), the checks
 * of the reader stack (doctor_reader.c: pcscd, vpcd, the card) and of the
 * programs that use it (doctor_clients.c: p11-kit's module list, NSS, the
 * issuer, the watch service) */
#ifndef DOCTOR_H
#define DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

#ifndef WK_PKCS11_MODULE_PATH
#define WK_PKCS11_MODULE_PATH "/usr/lib/x86_64-linux-gnu/pkcs11/walletkey-pkcs11.so"
#endif

/* a warning is a risk the machine runs, not a failure of walletkey */
enum dr_status { DR_OK, DR_NOTE, DR_WARN, DR_FAIL, DR_SKIP };

typedef struct dr_check {
	const char *name;
	enum dr_status status;
	char detail[512];
	char fix[512];		/* what to do, empty when nothing */
	bool fix_needs_root;
	bool fixed;
	const char *pkg;	/* the Debian package that fixes it (root) */
	bool pcscd_restart;	/* and pcscd must (re)start afterwards */
} dr_check;

#define DR_MAX 16

typedef struct dr_run {
	dr_check checks[DR_MAX];
	size_t n;
	bool fix;
	const char *reader_conf;
	const char *issuer;
	const char *module;
	const char *home;
	bool pcscd_up;
	char root_command[512];	/* the packages' command, when any */
	bool root_ran;		/* --fix as root ran it */
	bool root_ok;
} dr_run;

/* a check's result, its detail printf-style */
dr_check *dr_add(dr_run *r, const char *name, enum dr_status st,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* what fixes it (root: only as root) */
void dr_fix(dr_check *c, bool root, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool dr_executable(const char *path);
/* prog in $PATH (else the system's directories): its path in found */
bool dr_in_path(const char *prog, char *found, size_t cap);
/* runs argv quietly; returns its exit status or -1 */
int dr_spawn(char *const argv[]);

/* doctor_reader.c */
void check_pcscd(dr_run *r);
void check_vpcd(dr_run *r);
void check_card(dr_run *r);
/* doctor_clients.c */
void check_p11kit(dr_run *r);
void check_nss(dr_run *r);
void check_issuer(dr_run *r);
void check_watch(dr_run *r);

#endif
