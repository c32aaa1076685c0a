/* an audit export in memory and its fields as a person reads them
 * (audit_doc.h, docs/audit.md); its JSON form is audit_doc_write.c and
 * audit_doc_read.c, its checks audit_doc_verify.c */
#include "audit_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
audit_doc_init(audit_doc *d)
{
	memset(d, 0, sizeof(*d));
}

void
audit_doc_free(audit_doc *d)
{
	if (d->field_fault != NULL)
		for (size_t i = 0; i < d->n; i++)
			free(d->field_fault[i]);
	free(d->field_fault);
	free(d->raw);
	free(d->cert_pem);
	audit_doc_init(d);
}

int
audit_doc_add(audit_doc *d, const uint8_t raw[WK_AREC_LEN])
{
	if (d->n == d->cap) {
		size_t nc = d->cap == 0 ? 256 : d->cap * 2;
		uint8_t *np;
		char **nf;

		if (nc > AUDIT_DOC_MAX_RECORDS)
			return -1;
		if ((np = realloc(d->raw, nc * WK_AREC_LEN)) == NULL)
			return -1;
		d->raw = np;
		if ((nf = realloc(d->field_fault, nc * sizeof(*nf))) == NULL)
			return -1;
		d->field_fault = nf;
		d->cap = nc;
	}
	memcpy(d->raw + d->n * WK_AREC_LEN, raw, WK_AREC_LEN);
	d->field_fault[d->n] = NULL;
	d->n++;
	return 0;
}

/* ---- display ---- */

static void
bcd(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0F];
	}
	out[2 * n] = '\0';
}

/* "YYYY-MM-DD hh:mm:ss" from the BCD date and time (no snprintf: an
 * export formats 10,000 of these, issue 17) */
void
audit_fmt_time(const wk_arec *r, char *out, size_t cap)
{
	char d[9], t[7], f[20];

	bcd(d, r->date, 4);
	bcd(t, r->time, 3);
	memcpy(f, d, 4);
	f[4] = '-';
	memcpy(f + 5, d + 4, 2);
	f[7] = '-';
	memcpy(f + 8, d + 6, 2);
	f[10] = ' ';
	memcpy(f + 11, t, 2);
	f[13] = ':';
	memcpy(f + 14, t + 2, 2);
	f[16] = ':';
	memcpy(f + 17, t + 4, 2);
	f[19] = '\0';
	if (cap == 0)
		return;
	if (cap > sizeof(f))
		cap = sizeof(f);
	memcpy(out, f, cap - 1);
	out[cap - 1] = '\0';
}

/* prefix and BCD digits, as snprintf("%s%s") would write them */
static void
fmt_prefixed(char *out, size_t cap, const char *prefix, size_t plen,
    const uint8_t *bcd_bytes, size_t n)
{
	char f[64];

	if (cap == 0)
		return;
	memcpy(f, prefix, plen);
	bcd(f + plen, bcd_bytes, n);
	if (plen + 2 * n + 1 < cap)
		cap = plen + 2 * n + 1;
	memcpy(out, f, cap - 1);
	out[cap - 1] = '\0';
}

void
audit_fmt_account(const uint8_t acct[WK_AREC_ACCT_LEN], char *out, size_t cap)
{
	char id[21];

	switch (acct[0]) {
	case WK_AREC_ACCT_ED:
	case WK_AREC_ACCT_EP:
		fmt_prefixed(out, cap, acct[0] == WK_AREC_ACCT_ED ? "ED " :
		    "EP ", 3, acct + 1, 10);
		break;
	case WK_AREC_ACCT_TERMINAL:
		fmt_prefixed(out, cap, "terminal ", 9, acct + 1, 6);
		break;
	case WK_AREC_ACCT_BANK:
		bcd(id, acct + 1, 6);
		snprintf(out, cap, "bank via %s", id);
		break;
	case WK_AREC_ACCT_CARD:
		snprintf(out, cap, "card %02x%02x%02x%02x%02x%02x%02x%02x",
		    acct[1], acct[2], acct[3], acct[4], acct[5], acct[6],
		    acct[7], acct[8]);
		break;
	case WK_AREC_ACCT_ANON:
		/* a pseudonymous account: SHA-256 of its number, first 10 bytes */
		snprintf(out, cap, "anon %02x%02x%02x%02x%02x%02x%02x%02x%02x%02x",
		    acct[1], acct[2], acct[3], acct[4], acct[5], acct[6], acct[7],
		    acct[8], acct[9], acct[10]);
		break;
	case WK_AREC_ACCT_ACCOUNT:
		bcd(id, acct + 1, 10);
		/* the PAN, right-aligned in 20 digits */
		{
			const char *p = id;

			while (*p == '0' && p[1] != '\0')
				p++;
			snprintf(out, cap, "account %s", p);
		}
		break;
	case WK_AREC_ACCT_OUTSIDE:
		snprintf(out, cap, "outside the bank");
		break;
	case WK_AREC_ACCT_PIV:
		snprintf(out, cap, "PIV %02x (alg %02x, %s)", acct[1], acct[2],
		    acct[3] == 0x85 ? "key agreement" : "private key");
		break;
	case WK_AREC_ACCT_DIGEST:
		fmt_prefixed(out, cap, "sha256 ", 7, acct + 1, 10);
		break;
	case WK_AREC_ACCT_GM:
		/* application and container numbers, the key, what was given,
		 * SHA-256(application || 00 || container), first 6 bytes */
		snprintf(out, cap, "GM %u/%u %s %s %02x%02x%02x%02x%02x%02x",
		    acct[1], acct[2], acct[3] == 1 ? "sign" : "enc",
		    acct[4] == 1 ? "message" : "digest",
		    acct[5], acct[6], acct[7], acct[8], acct[9], acct[10]);
		break;
	case WK_AREC_ACCT_NONE:
		snprintf(out, cap, "-");
		break;
	default:
		bcd(id, acct + 1, 10);
		snprintf(out, cap, "account %u:%s", acct[0], id);
		break;
	}
}

void
audit_fmt_terminal(const wk_arec *r, char *out, size_t cap)
{
	/* the bank's records carry its event number there */
	if (wk_arec_is_issuer(r->type)) {
		snprintf(out, cap, "bank #%llu",
		    (unsigned long long)wk_arec_iss_event(r));
		return;
	}
	fmt_prefixed(out, cap, "", 0, r->term_id, 6);
}

bool
audit_outgoing(const wk_arec *r)
{
	return wk_arec_outgoing(r->type);
}

/* "[-]yuan.ff" as wk_purse_amount_format writes it, without snprintf */
void
audit_fmt_fen(uint32_t fen, bool minus, char *out, size_t cap)
{
	char a[24];
	size_t i = sizeof(a), n;
	uint32_t v = fen / 100;

	a[--i] = (char)('0' + fen % 10);
	a[--i] = (char)('0' + fen / 10 % 10);
	a[--i] = '.';
	do {
		a[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	if (minus)
		a[--i] = '-';
	if (cap == 0)
		return;
	n = sizeof(a) - i;
	if (n > cap - 1)
		n = cap - 1;
	memcpy(out, a + i, n);
	out[n] = '\0';
}

void
audit_fmt_amount(const wk_arec *r, bool signed_, char *out, size_t cap)
{
	audit_fmt_fen(r->amount, signed_ && audit_outgoing(r), out, cap);
}
