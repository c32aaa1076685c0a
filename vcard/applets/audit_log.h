/*
 * the on-card audit log (docs/audit.md), the internal API other applets
 * use: the purse appends one record per completed transaction inside the
 * store transaction of the completing command, so the log and the purse
 * always agree. Record seq is the value "rec.<seq>" of applet "audit" in
 * the card store, the chain state its value "state".
 */
#ifndef AUDIT_LOG_H
#define AUDIT_LOG_H

#include <stdint.h>

#include "vc_applet.h"
#include "wk_arec.h"

#define AUDIT_APPLET "audit"

enum {
	AUDIT_LOG_OK = 0,
	AUDIT_LOG_ERROR = -1,
	AUDIT_LOG_FULL = -2,	/* at capacity and nothing acknowledged to drop */
};

typedef struct audit_state {
	uint32_t cap;
	uint64_t base_seq;	/* checkpoint: last dropped record, 0 = none */
	uint8_t base_hash[WK_AREC_HASH_LEN];	/* its hash (zeros for none) */
	uint64_t head_seq;	/* newest record, 0 = none */
	uint8_t head_hash[WK_AREC_HASH_LEN];
	uint64_t acked;		/* highest seq the issuer acknowledged as synced */
} audit_state;

/* --init: an empty chain of capacity cap */
int audit_log_create(vc_card *card, uint32_t cap);
/* start-up: the state, for stores made before the log */
int audit_log_open(vc_card *card);
int audit_log_state(vc_card *card, audit_state *s);
/* AUDIT_LOG_OK when one more record fits (possibly by dropping acked ones) */
int audit_log_room(vc_card *card);
/* sets r->seq and r->prev, drops the oldest acknowledged record when full,
 * stores the record and the new head; within the caller's transaction */
int audit_log_append(vc_card *card, wk_arec *r);
/* the card's clock (UTC) as the record's BCD date and time */
void audit_log_stamp(wk_arec *r);
/* up to max raw records from seq from (or the oldest kept, if later) */
int audit_log_read(vc_card *card, uint64_t from, unsigned max, wk_buf *out,
    unsigned *count, uint64_t *first);
/* marks records up to seq as synced with the issuer (never lowers it,
 * never past the head) */
int audit_log_ack(vc_card *card, uint64_t seq);

#endif
