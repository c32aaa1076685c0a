/* the checks of `walletkey audit verify` on an audit export (docs/audit.md) */
#include "audit_doc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "wk_fault.h"

typedef struct reporter {
	audit_report_fn fn;
	void *ctx;
	size_t faults;
} reporter;

static void
say(reporter *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(reporter *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wk_fault_vsay(r->fn, r->ctx, &r->faults, fmt, ap);
	va_end(ap);
}

static bool
has_seq(const wk_arec *recs, size_t n, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < n; i++)
		if (recs[i].seq > lo && recs[i].seq < hi)
			return true;
	return false;
}

static void
check_signature(const audit_doc *d, reporter *rep)
{
	uint8_t tbs[WK_AREC_HEAD_TBS_LEN];
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk;
	EVP_MD_CTX *md = NULL;
	char group[32];
	size_t glen = 0;

	if (d->cert_pem == NULL) {
		say(rep, "no wallet certificate: the card's signature cannot be "
		    "checked");
		return;
	}
	if ((bio = BIO_new_mem_buf(d->cert_pem, -1)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
	    (pk = X509_get0_pubkey(x)) == NULL) {
		say(rep, "the wallet certificate does not parse");
		goto out;
	}
	if (EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof(group),
	    &glen) != 1 || strcmp(group, "prime256v1") != 0) {
		say(rep, "the wallet certificate's key is not P-256");
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0 ||
	    X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		say(rep, "the wallet certificate is not valid now");
	wk_arec_head_tbs(d->serial, d->head.base_seq, d->head.base_hash,
	    d->head.head_seq, d->head.head_hash, d->head.nonce, tbs);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pk,
	    NULL) != 1 ||
	    EVP_DigestVerify(md, d->head.sig, d->head.sig_len, tbs,
	    sizeof(tbs)) != 1)
		say(rep, "the card's signature over the chain head does not "
		    "verify with the wallet certificate");
out:
	EVP_MD_CTX_free(md);
	X509_free(x);
	BIO_free(bio);
}

size_t
audit_doc_verify(const audit_doc *d, audit_report_fn fn, void *ctx)
{
	reporter rep = { fn, ctx, 0 };
	uint8_t h[WK_AREC_HASH_LEN];
	wk_arec *recs = NULL;
	size_t i;
	bool head_seen = false;

	if (d->n > 0 && (recs = calloc(d->n, sizeof(*recs))) == NULL) {
		say(&rep, "out of memory");
		return rep.faults;
	}
	for (i = 0; i < d->n; i++) {
		if (wk_arec_decode(d->raw + i * WK_AREC_LEN, WK_AREC_LEN,
		    &recs[i]) != WK_AREC_OK)
			say(&rep, "record %zu does not decode", i + 1);
		if (d->field_fault != NULL && d->field_fault[i] != NULL)
			say(&rep, "record seq %" PRIu64 ": the shown %s differs "
			    "from the record's signed bytes", recs[i].seq,
			    d->field_fault[i]);
	}
	if (!d->have_head)
		say(&rep, "no signed chain head in the export");
	if (d->filtered)
		say(&rep, "the export is filtered (--since/--until/--type): "
		    "the chain cannot be checked across the records left out");
	/* the first record links to the checkpoint */
	if (d->n > 0 && d->have_head && !d->filtered) {
		if (recs[0].seq == d->head.base_seq + 1) {
			if (memcmp(recs[0].prev, d->head.base_hash, 32) != 0)
				say(&rep, "record seq %" PRIu64 " does not link to "
				    "the checkpoint (seq %" PRIu64 ")", recs[0].seq,
				    d->head.base_seq);
		} else if (recs[0].seq > d->head.base_seq + 1 &&
		    !has_seq(recs, d->n, d->head.base_seq, recs[0].seq)) {
			say(&rep, "records seq %" PRIu64 "..%" PRIu64 " missing "
			    "(after the checkpoint)", d->head.base_seq + 1,
			    recs[0].seq - 1);
		}
	}
	for (i = 0; i + 1 < d->n; i++) {
		const wk_arec *a = &recs[i], *b = &recs[i + 1];

		if (b->seq == a->seq + 1) {
			wk_arec_hash(d->raw + i * WK_AREC_LEN, h);
			if (memcmp(h, b->prev, 32) != 0)
				say(&rep, "record seq %" PRIu64 " was altered: its "
				    "hash is not the one record seq %" PRIu64
				    " links to", a->seq, b->seq);
		} else if (b->seq <= a->seq ||
		    has_seq(recs, d->n, a->seq, b->seq)) {
			say(&rep, "records out of order: seq %" PRIu64 " comes "
			    "after seq %" PRIu64, b->seq, a->seq);
		} else if (!d->filtered) {
			if (b->seq == a->seq + 2)
				say(&rep, "record seq %" PRIu64 " missing",
				    a->seq + 1);
			else
				say(&rep, "records seq %" PRIu64 "..%" PRIu64
				    " missing", a->seq + 1, b->seq - 1);
		}
	}
	/* the signed head is one of the records */
	if (d->have_head) {
		for (i = 0; i < d->n; i++) {
			if (recs[i].seq != d->head.head_seq)
				continue;
			head_seen = true;
			wk_arec_hash(d->raw + i * WK_AREC_LEN, h);
			if (memcmp(h, d->head.head_hash, 32) != 0)
				say(&rep, "record seq %" PRIu64 " was altered: it "
				    "is not the chain head the card signed",
				    recs[i].seq);
		}
		if (!head_seen && d->head.head_seq > d->head.base_seq &&
		    !d->filtered)
			say(&rep, "the signed chain head (seq %" PRIu64 ") is "
			    "not in the export: records missing at the end",
			    d->head.head_seq);
		check_signature(d, &rep);
	}
	free(recs);
	return rep.faults;
}
