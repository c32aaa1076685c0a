#!/bin/bash
# end-to-end: the audit sync with the real walletkey-issuer (SQLite)
# (docs/audit.md "Sync with the issuer"): the card's records go to the
# issuer sealed to its key, the issuer acknowledges them with its CA key and
# the card stores the acknowledgement; a second sync changes nothing; a sync
# killed anywhere (the CLI, the card) goes on from where it stopped; a record
# changed or missing at the issuer is reported; acknowledgements the card's
# trust anchor refuses are refused with 6982 and change nothing.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
R0=$(reader 0)
R1=$(reader 1)
SB=$WALLETKEY_SANDBOX/bin
AID=f0574b4155444954

issuer_setup
"$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 >/dev/null 2>&1 || die "enroll card 0"
"$WK" --reader "$R1" enroll --issuer "$URL" --account $PAN1 >/dev/null 2>&1 || die "enroll card 1"
load() { "$WK" --reader "$R0" wallet load --issuer "$URL" --amount "$1" --yes >/dev/null 2>&1 || die "load $1"; }
for a in 10 20 30; do load $a; done
"$WK" wallet transfer --from "$R0" --to "$R1" --amount 1.50 --yes >/dev/null 2>&1 || die "transfer"
load 5
ID0=$("$WK" readers --json | jq -r --arg r "$R0" '.readers[] | select(.name == $r) | .serial')

st() { "$WK" --reader "$R0" --json audit status | jq -r ".$1"; }
sync0() { "$WK" --reader "$R0" --json audit sync --issuer "$URL" "$@" 2>"$T/sync.err"; }
# the log verifies and agrees with the purse: the balance of its last record
# of the card's own is the card's (the bank's records that a sync brings, a
# load's reversal for one, carry the account's balance)
agree() {
	"$WK" --reader "$R0" audit verify --card >/dev/null 2>&1 &&
	"$WK" --reader "$R0" audit export --format json --out "$T/agree.json" 2>/dev/null &&
	[ "$(jq '[.records[] | select(.origin == "card")][-1].balance_fen' "$T/agree.json")" = "$(purse_fen 0)" ]
}

check "5 records, nothing acknowledged" '[ "$(st head)" = 5 ] && [ "$(st acked)" = 0 ]'
out=$(sync0) && rc=0 || rc=$?
check "sync: 5 uploaded, 5 missing at the issuer, acknowledged up to 5" \
	'[ "$rc" -eq 0 ] && [ "$(jq .uploaded <<<"$out")" = 5 ] &&
	 [ "$(jq .missing_at_issuer <<<"$out")" = 5 ] && [ "$(jq .acked <<<"$out")" = 5 ]' ||
	{ echo "$out"; cat "$T/sync.err"; }
check "the card stored the acknowledgement" '[ "$(st acked)" = 5 ]'
check "the issuer holds 5 records" \
	'[ "$(icurl 0 -fsS "$URL/v1/audit/$ID0/history/1" | jq .stored_seq)" = 5 ]'
before=$("$WK" --reader "$R0" --json audit status)
out=$(sync0) && rc=0 || rc=$?
check "sync again: nothing uploaded, nothing missing, the same acknowledgement" \
	'[ "$rc" -eq 0 ] && [ "$(jq .uploaded <<<"$out")" = 0 ] &&
	 [ "$(jq .missing_at_issuer <<<"$out")" = 0 ] && [ "$(jq .acked <<<"$out")" = 5 ] &&
	 [ "$before" = "$("$WK" --reader "$R0" --json audit status)" ]'
check "the log and the purse agree" agree

# plain lines (no terminal) and the text form
out=$("$WK" --reader "$R0" audit sync --issuer "$URL" 2>&1) && rc=0 || rc=$?
check "text output names the acknowledged seq" '[ "$rc" -eq 0 ] && grep -q "acknowledged by the issuer up to seq 5" <<<"$out"' || echo "$out"

stored() { icurl 0 -fsS "$URL/v1/audit/$ID0/history/1" | jq .stored_seq; }
iss_acked() { icurl 0 -fsS "$URL/v1/audit/$ID0/history/1" | jq .acked_seq; }

# the CLI killed (-9) after the issuer stored two of three new records
for a in 1 2 3; do load $a; done
{ WALLETKEY_AUDIT_PAGE=1 WALLETKEY_FAULT_AT=sync-page-2 sync0 >/dev/null; } 2>/dev/null && rc=0 || rc=$?
check "a sync killed after two pages" '[ "$rc" -eq 137 ]'
check "the issuer kept two records; nothing new acknowledged" \
	'[ "$(stored)" = 7 ] && [ "$(iss_acked)" = 5 ] && [ "$(st acked)" = 5 ]'
out=$(sync0) && rc=0 || rc=$?
check "sync again resumes: one record uploaded, acknowledged up to 8" \
	'[ "$rc" -eq 0 ] && [ "$(jq .uploaded <<<"$out")" = 1 ] &&
	 [ "$(jq .missing_at_issuer <<<"$out")" = 1 ] && [ "$(jq .acked <<<"$out")" = 8 ] &&
	 [ "$(st acked)" = 8 ]' || { echo "$out"; cat "$T/sync.err"; }
check "after the killed sync: the log and the purse agree" agree

# the card killed (-9) and restarted in the middle of a sync: the CLI goes on
for a in 1 2 3; do load $a; done
out=$(WALLETKEY_AUDIT_PAGE=1 WALLETKEY_FAULT_AT=sync-page-1 \
	WALLETKEY_FAULT_CMD="$SB/card-restart 0" sync0) && rc=0 || rc=$?
check "a sync through kill -9 of the card: all three uploaded, acknowledged up to 11" \
	'[ "$rc" -eq 0 ] && [ "$(jq .uploaded <<<"$out")" = 3 ] &&
	 [ "$(jq .acked <<<"$out")" = 11 ] && [ "$(st acked)" = 11 ]' ||
	{ echo "$out"; cat "$T/sync.err"; }
check "after the card was killed: the log and the purse agree" agree

# killed between the issuer's acknowledgement and the card's
load 4
{ WALLETKEY_FAULT_AT=sync-acked sync0 >/dev/null; } 2>/dev/null && rc=0 || rc=$?
check "a sync killed after the issuer acknowledged" \
	'[ "$rc" -eq 137 ] && [ "$(iss_acked)" = 12 ] && [ "$(st acked)" = 11 ]'
out=$(sync0) && rc=0 || rc=$?
check "sync again: nothing uploaded, the card takes the acknowledgement" \
	'[ "$rc" -eq 0 ] && [ "$(jq .uploaded <<<"$out")" = 0 ] && [ "$(st acked)" = 12 ]' ||
	{ echo "$out"; cat "$T/sync.err"; }
load 5
out=$(WALLETKEY_FAULT_AT=sync-acked WALLETKEY_FAULT_CMD="$SB/card-restart 0" sync0) && rc=0 || rc=$?
check "the card killed before it took the acknowledgement: the CLI goes on" \
	'[ "$rc" -eq 0 ] && [ "$(st acked)" = 13 ]' || { echo "$out"; cat "$T/sync.err"; }
check "after every kill: the log and the purse agree" agree

# the issuer killed (-9) in the middle of a sync: the sync fails, the next
# one (issuer restarted) goes on from what the issuer stored
for a in 1 2 3; do load $a; done
out=$(WALLETKEY_AUDIT_PAGE=1 WALLETKEY_FAULT_AT=sync-page-1 WALLETKEY_FAULT_CMD="kill -9 $ISS_PID" sync0) && rc=0 || rc=$?
check "a sync whose issuer was killed after one page fails" '[ "$rc" -eq 1 ] && [ "$(st acked)" = 13 ]'
issuer_kill
issuer_start
out=$(sync0) && rc=0 || rc=$?
check "sync after the issuer restarted: the two records it lacked uploaded, acknowledged up to 16" \
	'[ "$rc" -eq 0 ] && [ "$(jq .uploaded <<<"$out")" = 2 ] && [ "$(st acked)" = 16 ]' ||
	{ echo "$out"; cat "$T/sync.err"; }
check "after the issuer was killed: the log and the purse agree" agree
out=$("$WK" --reader "$R0" audit verify --card --issuer "$URL" 2>&1) && rc=0 || rc=$?
check "verify --issuer: every record as the issuer holds it" \
	'[ "$rc" -eq 0 ] && grep -q "^OK: 16 records" <<<"$out"' || echo "$out"

# acknowledgements the card's trust anchor refuses: 6982, nothing changes
"$WK" --reader "$R0" audit export --format json --out "$T/log.json" 2>/dev/null
HEADH=$(jq -r '.records[15].hash' "$T/log.json")
openssl ecparam -name prime256v1 -genkey -noout -out "$T/other.pem" 2>/dev/null
# ACKNOWLEDGE seq hash, signed by KEY over "WKAUDIT-ACK/1" | serial | seq | hash
ack_apdu() {
	local seq=$1 hash=$2 key=$3 sig
	sig=$(python3 -c 'import sys; sys.stdout.buffer.write(b"WKAUDIT-ACK/1" + bytes.fromhex(sys.argv[1]) + int(sys.argv[2]).to_bytes(8, "big") + bytes.fromhex(sys.argv[3]))' \
		"$ID0" "$seq" "$hash" | openssl dgst -sha256 -sign "$key" | od -An -tx1 -v | tr -d ' \n')
	printf '80e60000%02x%016x%s%s' $((40 + ${#sig} / 2)) "$seq" "$hash" "$sig"
}
sw_of() { "$WK" --reader "$R0" apdu 00a4040c08$AID "$1" | tail -1 | awk '{print tolower($NF)}'; }
before=$("$WK" --reader "$R0" --json audit status)
check "an acknowledgement signed by another key: 6982" '[ "$(sw_of "$(ack_apdu 16 "$HEADH" "$T/other.pem")")" = 6982 ]'
bogus=$(printf '80e6000030%016x%s3006020101020101' 16 "$HEADH")
check "a malformed signature: 6982" '[ "$(sw_of "$bogus")" = 6982 ]'
check "a truncated acknowledgement: 6700" '[ "$(sw_of 80e6000008000000000000000d)" = 6700 ]'
check "the refused acknowledgements changed nothing" \
	'[ "$before" = "$("$WK" --reader "$R0" --json audit status)" ]'

# the issuer refuses bad input with a 4xx and changes nothing
rows() {
	python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print(c.execute("SELECT (SELECT COUNT(*) FROM audit_records), (SELECT group_concat(acked_seq) FROM audit_acks), (SELECT COUNT(*) FROM oplog)").fetchone())' "$T/issuer.db"
}
TOK0=$(session 0)
code() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK0" "$@"; }
nocode() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
before=$(rows)
check "a page that does not open with the issuer's key: 400" \
	'[ "$(code -X POST -d "{\"page\":\"00ff\"}" "$URL/v1/audit/$ID0/records")" = 400 ]'
check "an unknown member: 400" \
	'[ "$(code -X POST -d "{\"page\":\"00\",\"x\":1}" "$URL/v1/audit/$ID0/records")" = 400 ]'
check "another card's history with this card's token: 403" \
	'[ "$(code "$URL/v1/audit/0000000000000000/history/1")" = 403 ]'
check "history from seq 0: 404" '[ "$(code "$URL/v1/audit/$ID0/history/0")" = 404 ]'
head_json=$(printf '{"head":{"checkpoint_seq":0,"checkpoint_hash":"%064d","seq":16,"hash":"%s","nonce":"%032d","signature":"3006020101020101"}}' 0 "$HEADH" 0)
check "a chain head the card did not sign: 403" \
	'[ "$(code -X POST -d "$head_json" "$URL/v1/audit/$ID0/ack")" = 403 ]'
check "GET on the acknowledgement: 405" '[ "$(code "$URL/v1/audit/$ID0/ack")" = 405 ]'
# anyone on the network who knows the card id: no door opens without its session
check "the history without a token: 401" '[ "$(nocode "$URL/v1/audit/$ID0/history/1")" = 401 ]'
check "the ledger's loads without a token: 401" '[ "$(nocode "$URL/v1/audit/$ID0/loads/0")" = 401 ]'
check "a page without a token: 401" \
	'[ "$(nocode -X POST -d "{\"page\":\"00ff\"}" "$URL/v1/audit/$ID0/records")" = 401 ]'
check "card 1's token on card 0's history: 403" \
	'[ "$(nocode -H "Authorization: Bearer $(session 1)" "$URL/v1/audit/$ID0/history/1")" = 403 ]'
check "the card's scope (no PIN) cannot read the history: 403" \
	'[ "$(nocode -H "Authorization: Bearer $(session 0 card)" "$URL/v1/audit/$ID0/history/1")" = 403 ]'
out=$("$WK" --reader "$R0" wallet session --issuer "$URL" --holder --pin-file /dev/null 2>&1) && rc=0 || rc=$?
check "wallet session --holder with an empty PIN file: refused" '[ "$rc" -ne 0 ]' || echo "$out"
check "the refused requests changed nothing at the issuer" '[ "$before" = "$(rows)" ]'

# a record changed, and one missing, at the issuer: verify names each
python3 - "$T/issuer.db" "$ID0" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); card = sys.argv[2]
raw = bytearray.fromhex(db.execute("SELECT raw FROM audit_records WHERE card_id = ? AND seq = 2", (card,)).fetchone()[0])
raw[21] ^= 0x01	# the amount
db.execute("UPDATE audit_records SET raw = ? WHERE card_id = ? AND seq = 2", (raw.hex(), card))
db.execute("DELETE FROM audit_records WHERE card_id = ? AND seq = 4", (card,))
db.commit()
PY
out=$("$WK" --reader "$R0" audit verify --card --issuer "$URL" 2>&1) && rc=0 || rc=$?
check "verify --issuer: the changed record is reported" \
	'[ "$rc" -eq 1 ] && grep -q "FAULT: record seq 2 differs from the issuer" <<<"$out"' || echo "$out"
check "verify --issuer: the missing record is reported" \
	'grep -q "FAULT: record seq 4 is on the card but missing at the issuer" <<<"$out"' || echo "$out"
check "verify --issuer: the issuer's broken chain is reported" \
	'grep -q "FAULT: the issuer.s record seq 3 does not link to its seq 2" <<<"$out"' || echo "$out"
out=$("$WK" --reader "$R0" --json audit verify --card --issuer "$URL" 2>/dev/null) && rc=0 || rc=$?
check "verify --issuer --json: three faults" '[ "$rc" -eq 1 ] && [ "$(jq ".faults | length" <<<"$out")" = 3 ]' || echo "$out"

# the issuer's ledger: a completed load whose amount the card never saw
python3 - "$T/issuer.db" "$ID0" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE loads SET amount = amount + 1 WHERE card_id = ? AND seq = (SELECT MIN(seq) FROM loads WHERE card_id = ?)", (sys.argv[2], sys.argv[2]))
db.commit()
PY
out=$("$WK" --reader "$R0" audit verify --card --issuer "$URL" 2>&1) && rc=0 || rc=$?
check "verify --issuer: a load in the issuer's ledger that no record shows" \
	'[ "$rc" -eq 1 ] && grep -q "FAULT: the issuer.s load (online seq 0, 1001 fen) is in no record" <<<"$out"' || echo "$out"
check "verify --issuer: the card's remote load the ledger does not hold" \
	'grep -q "FAULT: record seq 1: a remote load the issuer.s ledger does not hold" <<<"$out"' || echo "$out"

finish
