/*
 * a card's audit log against the issuer's books (walletkey.h
 * "wk_audit_verify_issuer", docs/audit.md): the issuer's CA-signed history
 * of the card's records and its CA-signed list of the card's completed
 * remote loads, compared with the records of an export. What `walletkey
 * audit verify --issuer` shows; any program that links libwalletkey (a
 * bank's own application, an auditor's) gets the same checks.
 */
#include "walletkey.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_fault.h"

#include "wk_arec.h"
#include "wk_flow.h"
#include "wk_hex.h"
#include "wk_json.h"

#define HIST_PAGES_MAX 100000u	/* 255 records each: far above any log */
#define LOAD_PAGES_MAX 300u

typedef struct check {
	wk_issuer *is;
	const wk_audit_log_view *log;
	EVP_PKEY *ca;		/* the issuer's CA's key */
	wk_audit_fault_fn fault;
	void *arg;
	size_t faults;
	char *why;
	size_t why_cap;
	uint8_t *hist;		/* the issuer's records, raw, by seq */
	size_t hist_n, hist_cap;
} check;

static uint64_t
seq_of(const uint8_t *raw)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | raw[i];
	return v;
}

static void
say(check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* one discrepancy */
static void
say(check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wk_fault_vsay(c->fault, c->arg, &c->faults, fmt, ap);
	va_end(ap);
}

/* why the check could not be made */
static int
why(check *c, int rc, const char *text)
{
	if (c->why != NULL && c->why_cap > 0)
		snprintf(c->why, c->why_cap, "%s", text);
	return rc;
}

/* the issuer's CA certificate (GET /v1/ca) */
static X509 *
issuer_ca(wk_issuer *is)
{
	uint8_t der[4096];
	const uint8_t *p = der;
	json_t *j = NULL;
	size_t len = 0;
	X509 *x = NULL;

	if (wk_issuer_call(is, "/v1/ca", NULL, &j) == WK_OK &&
	    wk_b64_unjson(json_object_get(j, "ca_certificate"), der, sizeof(der),
	    &len) == 0)
		x = d2i_X509(NULL, &p, (long)len);
	json_decref(j);
	return x;
}

static int
hist_add(check *c, const uint8_t *raw)
{
	if (c->hist_n == c->hist_cap) {
		size_t cap = c->hist_cap == 0 ? 1024 : 2 * c->hist_cap;
		uint8_t *grown = realloc(c->hist, cap * WK_AREC_LEN);

		if (grown == NULL)
			return -1;
		c->hist = grown;
		c->hist_cap = cap;
	}
	memcpy(c->hist + c->hist_n++ * WK_AREC_LEN, raw, WK_AREC_LEN);
	return 0;
}

/* the issuer's history of the card: its records (by seq, each page
 * checked against the CA's signature) */
static int
issuer_history(check *c)
{
	uint8_t *page = NULL, sig[WK_AREC_SIG_MAX];
	char path[96], sx[17], text[160];
	size_t len, sig_len;
	uint64_t from = 1;
	wk_arec_hist h;
	json_t *j = NULL;
	int rc = WK_ERR_ISSUER;

	wk_hex_encode(c->log->serial, 8, sx);
	if ((page = malloc(WK_AREC_HIST_HDR + WK_AREC_PAGE_MAX * WK_AREC_LEN)) ==
	    NULL)
		return WK_ERR_MEMORY;
	for (unsigned i = 0; i < HIST_PAGES_MAX; i++) {
		snprintf(path, sizeof(path), "/v1/audit/%s/history/%" PRIu64, sx,
		    from);
		json_decref(j);
		j = NULL;
		if ((rc = wk_issuer_call(c->is, path, NULL, &j)) != WK_OK)
			goto out;
		rc = WK_ERR_ISSUER;
		if (wk_hex_unjson(json_object_get(j, "page"), page,
		    WK_AREC_HIST_HDR + WK_AREC_PAGE_MAX * WK_AREC_LEN, &len) != 0 ||
		    wk_hex_unjson(json_object_get(j, "signature"), sig, sizeof(sig),
		    &sig_len) != 0 ||
		    wk_arec_hist_parse(page, len, &h) != WK_AREC_OK) {
			snprintf(text, sizeof(text), "the issuer's history page "
			    "from seq %" PRIu64 " is malformed", from);
			rc = why(c, WK_ERR_ISSUER, text);
			goto out;
		}
		if (wk_arec_sig_verify(c->ca, page, len, sig, sig_len) !=
		    WK_AREC_OK || memcmp(h.serial, c->log->serial, 8) != 0) {
			say(c, "the issuer's history page from seq %" PRIu64 " is "
			    "not signed by its CA for this card", from);
			rc = WK_OK;
			goto out;
		}
		for (unsigned k = 0; k < h.count; k++)
			if (hist_add(c, h.records + (size_t)k * WK_AREC_LEN) != 0) {
				rc = WK_ERR_MEMORY;
				goto out;
			}
		if (!h.more || h.count == 0)
			break;
		/* each record carries its seq: go on after the last one */
		from = c->hist_n > 0 ? seq_of(c->hist + (c->hist_n - 1) *
		    WK_AREC_LEN) + 1 : from + h.count;
	}
	rc = WK_OK;
out:
	json_decref(j);
	free(page);
	return rc;
}

/* the card's records against the issuer's; each discrepancy said */
static void
compare_records(check *c)
{
	const wk_audit_log_view *d = c->log;
	const wk_audit_head *head = d->head;
	uint8_t hh[32];
	size_t i = 0, k = 0;
	uint64_t base = head != NULL ? head->base_seq : 0;

	/* the issuer's own chain */
	for (size_t n = 1; n < c->hist_n; n++) {
		const uint8_t *r = c->hist + n * WK_AREC_LEN;

		wk_arec_hash(r - WK_AREC_LEN, hh);
		if (seq_of(r) == seq_of(r - WK_AREC_LEN) + 1 &&
		    sodium_memcmp(hh, r + 54, 32) != 0)
			say(c, "the issuer's record seq %" PRIu64 " does not link "
			    "to its seq %" PRIu64, seq_of(r), seq_of(r) - 1);
	}
	while (i < d->n || k < c->hist_n) {
		const uint8_t *a = i < d->n ? d->records + i * WK_AREC_LEN : NULL;
		const uint8_t *b = k < c->hist_n ? c->hist + k * WK_AREC_LEN :
		    NULL;
		uint64_t sa = a ? seq_of(a) : UINT64_MAX;
		uint64_t sb = b ? seq_of(b) : UINT64_MAX;

		if (sa == sb) {
			if (sodium_memcmp(a, b, WK_AREC_LEN) != 0)
				say(c, "record seq %" PRIu64 " differs from the "
				    "issuer's", sa);
			i++;
			k++;
		} else if (sa < sb) {
			say(c, "record seq %" PRIu64 " is on the card but missing "
			    "at the issuer", sa);
			i++;
		} else {
			/* older than the checkpoint: dropped by the card after
			 * the issuer acknowledged it; the checkpoint must match */
			if (sb < base) {
				k++;
				continue;
			}
			if (sb == base && head != NULL) {
				wk_arec_hash(b, hh);
				if (sodium_memcmp(hh, head->base_hash, 32) != 0)
					say(c, "the card's checkpoint (seq %" PRIu64
					    ") is not the issuer's record", sb);
				k++;
				continue;
			}
			say(c, "record seq %" PRIu64 " is at the issuer but "
			    "missing %s", sb, head != NULL && sb > head->head_seq ?
			    "on the card (beyond its head)" : "from the card's log");
			k++;
		}
	}
}

/* a remote load (the wallet's terminal id 000000000001) as a record */
static bool
is_remote_load(const uint8_t *raw, uint16_t *counter, uint32_t *amount,
    uint32_t *balance)
{
	static const uint8_t remote[6] = { 0, 0, 0, 0, 0, 1 };
	wk_arec r;

	if (wk_arec_decode(raw, WK_AREC_LEN, &r) != WK_AREC_OK ||
	    (r.type != WK_AREC_EP_LOAD && r.type != WK_AREC_ED_LOAD) ||
	    memcmp(r.term_id, remote, 6) != 0)
		return false;
	*counter = r.counter;
	*amount = r.amount;
	*balance = r.balance;
	return true;
}

/* the issuer's completed remote loads against the remote-load records of
 * the card (or, once the card dropped them, of the issuer's copy) */
static int
compare_loads(check *c)
{
	const wk_audit_log_view *d = c->log;
	uint8_t page[WK_AREC_LOADS_HDR + WK_AREC_PAGE_MAX * WK_AREC_LOAD_LEN];
	uint8_t sig[WK_AREC_SIG_MAX], *seen = NULL;
	char path[96], sx[17];
	size_t len, sig_len, total = d->n + c->hist_n;
	uint64_t from = 0;
	wk_arec_loads l;
	json_t *j = NULL;
	int rc = WK_ERR_ISSUER;

	wk_hex_encode(d->serial, 8, sx);
	if ((seen = calloc(total + 1, 1)) == NULL)
		return WK_ERR_MEMORY;
	for (unsigned pg = 0; pg < LOAD_PAGES_MAX && from <= 65535; pg++) {
		snprintf(path, sizeof(path), "/v1/audit/%s/loads/%" PRIu64, sx,
		    from);
		json_decref(j);
		j = NULL;
		if ((rc = wk_issuer_call(c->is, path, NULL, &j)) != WK_OK)
			goto out;
		rc = WK_ERR_ISSUER;
		if (wk_hex_unjson(json_object_get(j, "page"), page, sizeof(page),
		    &len) != 0 ||
		    wk_hex_unjson(json_object_get(j, "signature"), sig, sizeof(sig),
		    &sig_len) != 0 ||
		    wk_arec_loads_parse(page, len, &l) != WK_AREC_OK) {
			rc = why(c, WK_ERR_ISSUER, "the issuer's loads page is "
			    "malformed");
			goto out;
		}
		if (wk_arec_sig_verify(c->ca, page, len, sig, sig_len) !=
		    WK_AREC_OK || memcmp(l.serial, d->serial, 8) != 0) {
			say(c, "the issuer's list of loads is not signed by its CA "
			    "for this card");
			rc = WK_OK;
			goto out;
		}
		for (unsigned k = 0; k < l.count; k++) {
			const uint8_t *e = l.entries + (size_t)k * WK_AREC_LOAD_LEN;
			uint16_t seq = (uint16_t)(e[0] << 8 | e[1]), ctr;
			uint32_t amt = 0, bal = 0, ra, rb;
			bool found = false;

			for (int b = 0; b < 4; b++) {
				amt = amt << 8 | e[2 + b];
				bal = bal << 8 | e[6 + b];
			}
			for (size_t i = 0; i < total && !found; i++) {
				const uint8_t *raw = i < d->n ? d->records + i *
				    WK_AREC_LEN : c->hist + (i - d->n) * WK_AREC_LEN;

				/* the record holds the counter after the credit */
				if (!is_remote_load(raw, &ctr, &ra, &rb) ||
				    ctr != (uint16_t)(seq + 1) || ra != amt)
					continue;
				found = true;
				seen[i] = 1;
				if (rb != bal)
					say(c, "record seq %" PRIu64 ": balance %"
					    PRIu32 " after the load, the issuer's "
					    "ledger says %" PRIu32, seq_of(raw), rb,
					    bal);
			}
			if (!found)
				say(c, "the issuer's load (online seq %u, %" PRIu32
				    " fen) is in no record", (unsigned)seq, amt);
			from = (uint64_t)seq + 1;
		}
		if (!l.more || l.count == 0)
			break;
	}
	/* a remote load on the card that the issuer never completed */
	for (size_t i = 0; i < d->n; i++) {
		uint16_t ctr;
		uint32_t ra, rb;

		if (!seen[i] && is_remote_load(d->records + i * WK_AREC_LEN, &ctr,
		    &ra, &rb))
			say(c, "record seq %" PRIu64 ": a remote load the issuer's "
			    "ledger does not hold", seq_of(d->records + i *
			    WK_AREC_LEN));
	}
	rc = WK_OK;
out:
	json_decref(j);
	free(seen);
	return rc;
}

int
wk_audit_verify_issuer(wk_issuer *is, const wk_audit_log_view *log,
    wk_audit_fault_fn fault, void *arg, size_t *faults, char *why_out,
    size_t why_cap)
{
	X509 *ca = NULL, *wallet = NULL;
	BIO *bio = NULL;
	check c;
	int rc;

	if (why_out != NULL && why_cap > 0)
		why_out[0] = '\0';
	if (is == NULL || log == NULL || faults == NULL ||
	    (log->n > 0 && log->records == NULL))
		return WK_ERR_ARG;
	memset(&c, 0, sizeof(c));
	c.is = is;
	c.log = log;
	c.fault = fault;
	c.arg = arg;
	c.why = why_out;
	c.why_cap = why_cap;
	if ((ca = issuer_ca(is)) == NULL) {
		rc = why(&c, WK_ERR_ISSUER, "cannot read the issuer's CA "
		    "certificate");
		goto out;
	}
	c.ca = X509_get0_pubkey(ca);
	/* the export's wallet certificate must be this issuer's */
	if (log->cert_pem != NULL &&
	    ((bio = BIO_new_mem_buf(log->cert_pem, -1)) == NULL ||
	    (wallet = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
	    X509_verify(wallet, c.ca) != 1))
		say(&c, "the wallet certificate is not issued by this issuer's "
		    "CA");
	if ((rc = issuer_history(&c)) != WK_OK)
		goto out;
	compare_records(&c);
	rc = compare_loads(&c);
out:
	*faults += c.faults;
	free(c.hist);
	X509_free(wallet);
	BIO_free(bio);
	X509_free(ca);
	return rc;
}
