#!/bin/bash
# end-to-end: the audit log of enrolled cards (docs/audit.md with
# docs/remote-load.md). A remote load from the issuer and a card-to-card
# transfer each leave one audit record on each card involved, with the right
# accounts; both logs verify against the issuer-issued wallet certificate.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
R0=$(reader 0)
R1=$(reader 1)

issuer_setup
"$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 >/dev/null 2>&1 || die "enroll card 0"
"$WK" --reader "$R1" enroll --issuer "$URL" --account $PAN1 >/dev/null 2>&1 || die "enroll card 1"
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 50 --yes >/dev/null 2>&1 || die "load card 0"
"$WK" wallet transfer --from "$R0" --to "$R1" --amount 12.34 --yes >/dev/null 2>&1 || die "transfer"
ID0=$("$WK" readers --json | jq -r --arg r "$R0" '.readers[] | select(.name == $r) | .serial')
ID1=$("$WK" readers --json | jq -r --arg r "$R1" '.readers[] | select(.name == $r) | .serial')

"$WK" --reader "$R0" audit export --format json --out "$T/a0.json" 2>"$T/err0" || cat "$T/err0"
"$WK" --reader "$R1" audit export --format json --out "$T/a1.json" 2>"$T/err1" || cat "$T/err1"
check "card 0: a load from the bank, then a transfer out to card 1" \
	'[ "$(jq -r "[.records[] | .type] | join(\",\")" "$T/a0.json")" = "load,transfer-out" ] &&
	 jq -e ".records[0].source | startswith(\"bank via\")" "$T/a0.json" >/dev/null &&
	 [ "$(jq -r ".records[1].target" "$T/a0.json")" = "card $ID1" ] &&
	 [ "$(jq ".records[1].amount_fen" "$T/a0.json")" = 1234 ] &&
	 [ "$(jq ".records[1].balance_fen" "$T/a0.json")" = 3766 ]'
check "card 1: a transfer in from card 0" \
	'[ "$(jq -r "[.records[] | .type] | join(\",\")" "$T/a1.json")" = "transfer-in" ] &&
	 [ "$(jq -r ".records[0].source" "$T/a1.json")" = "card $ID0" ] &&
	 [ "$(jq ".records[0].balance_fen" "$T/a1.json")" = 1234 ]'
out=$("$WK" audit verify "$T/a0.json") && rc=0 || rc=$?
check "card 0's log verifies with its issuer certificate" '[ "$rc" -eq 0 ]' || echo "$out"
out=$("$WK" --reader "$R1" audit verify --card) && rc=0 || rc=$?
check "card 1's log verifies (--card)" '[ "$rc" -eq 0 ]' || echo "$out"
check "the wallet certificate is the issuer's, for this card" \
	'jq -r .certificate "$T/a0.json" | openssl x509 -noout -subject | grep -qi "CN *= *$ID0"'
finish
