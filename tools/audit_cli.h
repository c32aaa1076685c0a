/*
 * walletkey audit, shared by its files: cmd_audit.c (options, reading the
 * card, status), cmd_audit_out.c (export), cmd_audit_verify.c (verify,
 * report, keygen, open) and audit_sync.c (sync with the issuer and verify
 * --issuer).
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

#define FILE_MAX (512u << 20)

/* cmd_audit.c: the export: PIN, signed head, every page from the oldest
 * kept record. With sealed_pages the pages stay sealed (to recipient) and
 * go there; otherwise they are sealed to a fresh key of ours and opened
 * into d. */
int audit_cli_fetch(wk_cli *cli, const aopts *o, const uint8_t *recipient,
    audit_doc *d, json_t *sealed_pages);
/* a whole file (at most FILE_MAX), NUL-terminated; the caller frees */
int audit_cli_read_file(const char *path, char **out, size_t *len);
/* a 32-byte X25519 key: 64 hex digits, given directly or in a file */
int audit_cli_parse_key32(const char *s, uint8_t key[32]);

/* cmd_audit_out.c */
/* the records --since, --until, --type, --origin keep (calloc'ed) */
bool *audit_cli_filter(const audit_doc *d, const aopts *o);
/* a file for the holder's records: mode 0600, replaced, never reused */
FILE *audit_cli_open_out(const char *path);
/* the records of d the filters keep, in format, to --out (or stdout) */
int audit_cli_emit(wk_cli *cli, const aopts *o, const audit_doc *d,
    const char *format);
int audit_cmd_export(wk_cli *cli, const aopts *o);

/* cmd_audit_verify.c */
int audit_cmd_verify(wk_cli *cli, const aopts *o);
int audit_cmd_report(wk_cli *cli, const aopts *o);
int audit_cmd_keygen(wk_cli *cli, const aopts *o);
int audit_cmd_open(wk_cli *cli, const aopts *o);
/* audit_report.c */
int audit_report_html(FILE *f, const audit_doc *d, const bool *keep);

/* audit_sync.c */
int audit_sync(wk_cli *cli, const aopts *o);
/* verify --issuer: every record of d against the issuer's history and
 * ledger; each discrepancy reported and counted in *faults */
int audit_verify_issuer(wk_cli *cli, const aopts *o, const audit_doc *d,
    audit_report_fn report, void *ctx, size_t *faults);

#endif
