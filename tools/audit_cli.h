/*
 * walletkey audit, shared by its two files: cmd_audit.c (export, verify,
 * report, keygen, open, status) and audit_sync.c (sync with the issuer and
 * verify --issuer).
 */
#ifndef AUDIT_CLI_H
#define AUDIT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_doc.h"
#include "cli.h"

#define PIN_MAX 12
#define PAGE_BUF 65536
#define RESUME_TRIES 5	/* resumes in a row without a page */

typedef struct aopts {
	const char *since;
	const char *until;
	const char *type;
	const char *origin;	/* --origin card|issuer */
	const char *format;
	const char *out;
	const char *recipient;
	const char *pin_file;
	const char *key;
	const char *file;
	const char *issuer;
	bool card;
} aopts;

/* the purse PIN: --pin-file, WALLETKEY_PIN or asked without echo */
int audit_cli_pin(const aopts *o, char *pin, size_t cap, size_t *len);
/* a progress bar on stderr when it is a terminal */
void audit_cli_progress(uint64_t done, uint64_t total);
/* a lost link (card restarted, pcscd restarted, card pulled) */
bool audit_cli_link_lost(int rc);
/* records per page: 255, or WALLETKEY_AUDIT_PAGE (1-255) */
unsigned audit_cli_page_max(void);
/* connect again (30 s), select the applet, verify the PIN again */
int audit_cli_resume(wk_cli *cli, wk_card **card, const char *pin,
    size_t pin_len);
/* a raw record's seq */
uint64_t audit_cli_seq(const uint8_t *raw);

/* audit_sync.c */
int audit_sync(wk_cli *cli, const aopts *o);
/* verify --issuer: every record of d against the issuer's history and
 * ledger; each discrepancy reported and counted in *faults */
int audit_verify_issuer(wk_cli *cli, const aopts *o, const audit_doc *d,
    audit_report_fn report, void *ctx, size_t *faults);

#endif
