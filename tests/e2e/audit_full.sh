#!/bin/bash
# end-to-end: a full audit log refuses transactions (6A84) rather than lose
# a record; the refused transaction changes nothing (balance, counters,
# EF 0018, the log), and status says the log is full.
. "$(dirname "$0")/purse_lib.sh"
. "$(dirname "$0")/audit_lib.sh"

audit_in_sandbox "$0" '.audit_capacity = 10'

T=$1
R=$WALLETKEY_READER_0
export WALLETKEY_PIN=$PIN
wallet_key

"$WK" --reader "$R" wallet load --amount 100 --sam "$T/sam.json" --insecure-master-keys >/dev/null
for ((i = 2; i <= 10; i++)); do
	"$WK" --reader "$R" wallet purchase --amount 1 --sam "$T/sam.json" --insecure-master-keys >/dev/null || bad "purchase $i"
done
run --reader "$R" --json audit status
check "10 of 10 records: full" '[ "$(jq .records <<<"$OUT")" -eq 10 ] && [ "$(jq .full <<<"$OUT")" = true ]'
before="$("$WK" --reader "$R" --json wallet balance) $("$WK" --reader "$R" --json wallet records)"
log_before=$("$WK" --reader "$R" audit export --format csv)
run --reader "$R" wallet purchase --amount 1 --sam "$T/sam.json" --insecure-master-keys
check "a purchase with a full log: refused" '[ "$RC" -eq 1 ] && grep -qi "space" <<<"$ERR"'
run --reader "$R" wallet load --amount 1 --sam "$T/sam.json" --insecure-master-keys
check "a load with a full log: refused" '[ "$RC" -eq 1 ]'
after="$("$WK" --reader "$R" --json wallet balance) $("$WK" --reader "$R" --json wallet records)"
check "balance, counters and EF 0018 unchanged" '[ "$before" = "$after" ]'
check "the log unchanged" '[ "$log_before" = "$("$WK" --reader "$R" audit export --format csv)" ]'
check "a raw INITIALIZE FOR PURCHASE answers 6A84" \
	'"$WK" --reader "$R" apdu 00a4040008f0574b5055525345 805001020b0100000001000000000042 | tail -1 | grep -qi "6a84$"'
run --reader "$R" audit verify --card
check "the full log verifies" '[ "$RC" -eq 0 ]'
finish
