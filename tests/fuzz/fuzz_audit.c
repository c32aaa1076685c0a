/*
 * the audit applet through the card runtime (card side of the export
 * parser). The first input byte chooses a prelude (bit 0: SELECT the audit
 * applet and VERIFY the purse PIN), the rest is a stream of APDUs, each
 * [len_hi len_lo bytes] as in fuzz_card. One store for the run, with 20
 * records and a wallet key in slot 82; the PIN tries are restored before
 * each input. Bit 2: first a batch of the bank's records signed by the
 * trust anchor's CA (signed_batch). Traps: the applet changes the log
 * other than through a signed batch, an error status word with data, a
 * page that is not a well-formed seal, a valid batch refused or stored
 * other than each new record once, an invalid one taken.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include <openssl/evp.h>

#include "applets/audit_log.h"
#include "applets/purse.h"
#include "applets/piv_int.h"
#include "applets/piv_wallet.h"
#include "fuzz_runtime.h"
#include "vc_card.h"
#include "wk_log.h"
#include "wk_vpcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static audit_state before;
static EVP_PKEY *ca;

/* the keys, at exit */
static void
keys_free(void)
{
	EVP_PKEY_free(ca);
}

static void
start(void)
{
	vc_card_opts o = { .init = true };
	piv_key k;
	wk_arec r;

	runtime_free = keys_free;
	runtime_start("fuzz_audit", &o);
	memset(&k, 0, sizeof(k));
	k.alg = PIV_ALG_ECCP256;
	if ((k.pkey = piv_key_generate(PIV_ALG_ECCP256)) == NULL ||
	    vc_store_begin(st) != VC_STORE_OK ||
	    piv_key_save(NULL, card, PIV_WALLET_SLOT, &k) != 0)
		abort();
	piv_key_free(&k);
	/* enrolled: the CA's point is the trust anchor */
	{
		uint8_t pt[65];
		size_t l = 0;

		if ((ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
		    EVP_PKEY_get_octet_string_param(ca, "encoded-pub-key", pt,
		    sizeof(pt), &l) != 1 || l != sizeof(pt) ||
		    vc_store_put(st, PIV_APPLET, "wallet.anchor", pt, l) !=
		    VC_STORE_OK)
			abort();
	}
	for (uint32_t i = 1; i <= 20; i++) {
		memset(&r, 0, sizeof(r));
		r.type = (uint8_t)(i % 3 == 0 ? WK_AREC_EP_LOAD : WK_AREC_EP_PURCHASE);
		r.amount = i;
		if (audit_log_append(card, &r) != AUDIT_LOG_OK)
			abort();
	}
	if (vc_store_commit(st) != VC_STORE_OK ||
	    audit_log_state(card, &before) != AUDIT_LOG_OK)
		abort();
	runtime_trace();
}

static void
prelude(void)
{
	static const uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x00, 0x08,
	    WK_AUDIT_AID_BYTES };
	static const uint8_t ver[] = { 0x00, 0x20, 0x00, 0x00, 0x03, 0x12,
	    0x34, 0x56 };
	size_t n;

	(void)xfer(sel, sizeof(sel), &n);
	(void)xfer(ver, sizeof(ver), &n);
}

/* the card's revocation list version (REVOCATION LIST, P1 01) */
static uint64_t
crl_version(void)
{
	static const uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x00, 0x08,
	    WK_AUDIT_AID_BYTES };
	static const uint8_t get[] = { 0x80, WK_AUDIT_INS_CRL, 0x01, 0x00, 0x12 };
	uint64_t v = 0;
	size_t n;

	(void)xfer(sel, sizeof(sel), &n);
	if (xfer(get, sizeof(get), &n) != 0x9000 ||
	    n != WK_AUDIT_CRL_STATUS_LEN + 2)
		__builtin_trap();
	for (int i = 0; i < 8; i++)
		v = (v << 8) | resp[i];
	return v;
}

/* a list of the ids in p (8 bytes each) signed by the CA, delivered */
static void
signed_list(const uint8_t *p, size_t len)
{
	static uint8_t apdu[9 + WK_AREC_CRL_HDR + 64 * 8 + WK_AREC_SIG_MAX];
	wk_arec_crl l = { 0 };
	uint64_t had = crl_version();
	size_t ids, sl = 0, n, at = 7;
	bool ordered = true;
	uint16_t sw;

	if (len < 2)
		return;
	l.version = (uint64_t)(p[0] << 8 | p[1]);
	l.issued = 1700000000;
	ids = (len - 2) / 8;
	if (ids > 64)
		ids = 64;
	l.count = (uint16_t)ids;
	for (size_t i = 1; i < ids; i++)
		if (memcmp(p + 2 + 8 * (i - 1), p + 2 + 8 * i, 8) >= 0)
			ordered = false;
	wk_arec_crl_header(&l, apdu + at);
	memcpy(apdu + at + WK_AREC_CRL_HDR, p + 2, ids * 8);
	if (wk_arec_sign(ca, apdu + at, WK_AREC_CRL_HDR + ids * 8,
	    apdu + at + WK_AREC_CRL_HDR + ids * 8, WK_AREC_SIG_MAX, &sl) !=
	    WK_AREC_OK)
		abort();
	n = WK_AREC_CRL_HDR + ids * 8 + sl;
	memcpy(apdu, "\x80\xE8\x00\x00\x00", 5);
	apdu[5] = (uint8_t)(n >> 8);
	apdu[6] = (uint8_t)n;
	apdu[7 + n] = 0;
	apdu[8 + n] = 0;
	sw = xfer(apdu, 9 + n, &n);
	if (ordered && l.version > had && sw != 0x9000)
		__builtin_trap();
	if ((!ordered || l.version < had) && sw == 0x9000)
		__builtin_trap();
	if (sw == 0x9000 && crl_version() != (l.version > had ? l.version : had))
		__builtin_trap();
}

/* the card's last stored event number of the bank's records (P1 01) */
static uint64_t
bank_last(void)
{
	static const uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x00, 0x08,
	    WK_AUDIT_AID_BYTES };
	static const uint8_t get[] = { 0x80, WK_AUDIT_INS_ISSUER, 0x01, 0x00,
	    0x0A };
	uint64_t v = 0;
	size_t n;

	(void)xfer(sel, sizeof(sel), &n);
	if (xfer(get, sizeof(get), &n) != 0x9000 || n != 12)
		__builtin_trap();
	for (int i = 2; i < 10; i++)
		v = (v << 8) | resp[i];
	return v;
}

/*
 * a batch of the bank's records made from p (5 bytes each: type, event 2,
 * amount 2; at most 8), signed by the CA, delivered. A batch of issuer
 * types with ascending event numbers must be taken (or refused whole with
 * 6A84 by a full log), each record with an event above the card's last
 * once; anything else refused with nothing written
 */
static void
signed_batch(const uint8_t *p, size_t len)
{
	static uint8_t apdu[9 + WK_AREC_ISS_HDR + 8 * WK_AREC_LEN +
	    WK_AREC_SIG_MAX];
	uint64_t had = bank_last(), ev, prev = 0, newest = had;
	size_t count = len / 5, at = 7, sl = 0, n;
	unsigned fresh = 0;
	audit_state s0, s1;
	bool valid = true;
	uint16_t sw;

	if (count == 0)
		return;
	if (count > 8)
		count = 8;
	if (audit_log_state(card, &s0) != AUDIT_LOG_OK)
		__builtin_trap();
	wk_arec_iss_header(vc_card_serial(card), (uint16_t)count, apdu + at);
	for (size_t i = 0; i < count; i++) {
		const uint8_t *q = p + 5 * i;
		wk_arec r;

		memset(&r, 0, sizeof(r));
		r.type = q[0];
		ev = (uint64_t)(q[1] << 8 | q[2]);
		wk_arec_iss_set_event(&r, ev);
		r.amount = (uint32_t)(q[3] << 8 | q[4]);
		wk_arec_encode(&r, apdu + at + WK_AREC_ISS_HDR + i * WK_AREC_LEN);
		if (!wk_arec_is_issuer(r.type) || ev == 0 || ev <= prev)
			valid = false;
		prev = ev;
		if (ev > had) {
			fresh++;
			newest = ev;
		}
	}
	n = WK_AREC_ISS_HDR + count * WK_AREC_LEN;
	if (wk_arec_sign(ca, apdu + at, n, apdu + at + n, WK_AREC_SIG_MAX, &sl) !=
	    WK_AREC_OK)
		abort();
	n += sl;
	memcpy(apdu, "\x80\xEA\x00\x00\x00", 5);
	apdu[5] = (uint8_t)(n >> 8);
	apdu[6] = (uint8_t)n;
	apdu[7 + n] = 0;
	apdu[8 + n] = 0;
	sw = xfer(apdu, 9 + n, &n);
	if (audit_log_state(card, &s1) != AUDIT_LOG_OK)
		__builtin_trap();
	if (!valid && sw == 0x9000)
		__builtin_trap();
	if (valid && sw != 0x9000 && sw != 0x6A84)
		__builtin_trap();
	if (sw == 0x9000) {
		if (s1.head_seq != s0.head_seq + fresh ||
		    bank_last() != (fresh > 0 ? newest : had))
			__builtin_trap();
	} else if (s1.head_seq != s0.head_seq || bank_last() != had) {
		__builtin_trap();
	}
	/* what the bank's records added is the log's from now on */
	before = s1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 1, len, n;
	int steps = 0;
	uint16_t sw;
	audit_state now;
	uint64_t crl_before;

	if (card == NULL)
		start();
	if (size < 1)
		return 0;
	vc_card_control(card, WK_VPCD_RESET, NULL, 0, &n);
	/* a fuzzer that blocks the PIN would never reach what is behind it */
	if (vc_store_begin(st) != VC_STORE_OK ||
	    vc_store_put_u64(st, "purse", "pin.tries", 3) != VC_STORE_OK ||
	    vc_store_commit(st) != VC_STORE_OK)
		abort();
	crl_before = crl_version();
	vc_card_control(card, WK_VPCD_RESET, NULL, 0, &n);
	if ((data[0] & 2) && size - at >= 2) {
		len = ((size_t)data[at] << 8) | data[at + 1];
		at += 2;
		if (len > size - at)
			len = size - at;
		signed_list(data + at, len);
		at += len;
	}
	if ((data[0] & 4) && size - at >= 2) {
		len = ((size_t)data[at] << 8) | data[at + 1];
		at += 2;
		if (len > size - at)
			len = size - at;
		signed_batch(data + at, len);
		at += len;
	}
	if (data[0] & 1)
		prelude();
	while (size - at >= 2 && steps++ < 32) {
		len = ((size_t)data[at] << 8) | data[at + 1];
		at += 2;
		if (len > size - at)
			len = size - at;
		if (len < 2) {
			at += len;
			continue;
		}
		sw = xfer(data + at, len, &n);
		if (n > 2 && (sw >> 8) != 0x90 && (sw >> 8) != 0x61 &&
		    (sw >> 8) != 0x62 && (sw >> 8) != 0x63)
			__builtin_trap();
		/* a page is eph key | nonce | ciphertext | tag */
		if (sw == 0x9000 && len > 4 && data[at] == 0x80 &&
		    data[at + 1] == WK_AUDIT_INS_PAGE &&
		    n - 2 < WK_AREC_SEAL_OVERHEAD + WK_AREC_PAGE_HDR)
			__builtin_trap();
		at += len;
	}
	/* a revocation list never goes back to an older version. The input
	 * may leave a command chain open (CLA 10), which the oracle's SELECT
	 * would continue: it asks on a fresh reset, as a terminal would */
	vc_card_control(card, WK_VPCD_RESET, NULL, 0, &n);
	if (crl_version() < crl_before)
		__builtin_trap();
	/* nothing the applet answers writes to the log */
	if (audit_log_state(card, &now) != AUDIT_LOG_OK ||
	    now.head_seq != before.head_seq || now.base_seq != before.base_seq ||
	    now.acked != before.acked ||
	    memcmp(now.head_hash, before.head_hash, 32) != 0)
		__builtin_trap();
	return 0;
}
