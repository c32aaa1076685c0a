/*
 * an audit export in memory (docs/audit.md): the card's raw records, its
 * signed chain head and the wallet certificate; its JSON form
 * (walletkey-audit/1) and the checks of `walletkey audit verify`. No card
 * access here, so the fuzzer and the tests use it directly.
 */
#ifndef AUDIT_DOC_H
#define AUDIT_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "walletkey.h"
#include "wk_arec.h"

#define AUDIT_DOC_MAX_RECORDS 2000000u
#define AUDIT_PAGE_BUF 65536

typedef struct audit_doc {
	uint8_t serial[8];
	bool have_head;
	wk_audit_head head;
	char *cert_pem;		/* wallet certificate (slot 82), or NULL */
	uint8_t *raw;		/* n records of WK_AREC_LEN bytes */
	size_t n, cap;
	bool filtered;		/* --since/--until/--type left records out */
	char **field_fault;	/* per record: a shown field differing from raw */
} audit_doc;

typedef void (*audit_report_fn)(void *ctx, const char *msg);

void audit_doc_init(audit_doc *d);
void audit_doc_free(audit_doc *d);
int audit_doc_add(audit_doc *d, const uint8_t raw[WK_AREC_LEN]);
/* display helpers */
void audit_fmt_time(const wk_arec *r, char *out, size_t cap);
void audit_fmt_account(const uint8_t acct[WK_AREC_ACCT_LEN], char *out,
    size_t cap);
void audit_fmt_terminal(const wk_arec *r, char *out, size_t cap);
/* money leaving the card's account: shown negative */
bool audit_outgoing(const wk_arec *r);
void audit_fmt_amount(const wk_arec *r, bool signed_, char *out, size_t cap);
/* "[-]yuan.ff", as wk_purse_amount_format writes it */
void audit_fmt_fen(uint32_t fen, bool minus, char *out, size_t cap);

/* the JSON document; record i is kept when keep == NULL or keep[i] */
json_t *audit_doc_to_json(const audit_doc *d, const bool *keep);
/* the same document as text, written directly (one record a line; what
 * exports write); NUL-terminated, the caller frees it */
char *audit_doc_json_text(const audit_doc *d, const bool *keep);
/* the same bytes streamed to f (what exports write): 0, or -1 when
 * writing failed */
int audit_doc_json_write(const audit_doc *d, const bool *keep, FILE *f);
/* parses a walletkey-audit/1 document; err gets a reason on failure */
int audit_doc_from_json(const char *text, size_t len, audit_doc *d,
    char *err, size_t errlen);
/* a whole file (at most max bytes) into memory, NUL-terminated, read in
 * one go when it is a regular file: its length in len; 0, or -1 with
 * errno. audit_text_free(text, cap) */
int audit_text_read(const char *path, size_t max, char **text, size_t *len,
    size_t *cap);
void audit_text_free(char *text, size_t cap);
/* every check; each fault goes to report; returns the number of faults */
size_t audit_doc_verify(const audit_doc *d, audit_report_fn report,
    void *ctx);

/* opens a walletkey-audit-sealed/1 bundle with the recipient's key pair */
int audit_bundle_open(const char *text, size_t len, const uint8_t pk[32],
    const uint8_t sk[32], audit_doc *d, char *err, size_t errlen);

#endif
