#!/bin/bash
# end-to-end: enrolment and remote load against the real walletkey-issuer
# (SQLite) with two cards; refusals, recovery, replays and flipped bytes;
# money is conserved after every step (docs/remote-load.md).
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
R0=$(reader 0)
R1=$(reader 1)

issuer_setup
settled "start"

# enrolment
WALLETKEY_ACCOUNT_PASSWORD=wrong-password "$WK" --reader "$R1" enroll --issuer "$URL" --account $PAN1 >/dev/null 2>&1 && rc=0 || rc=$?
check "enroll with a wrong password fails" '[ "$rc" -eq 1 ]'
"$WK" --reader "$R1" enroll --issuer "$URL" --account 6222999999999999 >/dev/null 2>&1 && rc=0 || rc=$?
check "enroll with an unknown account fails" '[ "$rc" -eq 1 ]'
"$WK" --reader "$R1" enroll --issuer "$URL" --account 12ab >/dev/null 2>&1 && rc=0 || rc=$?
check "enroll with a bad account number: usage (2)" '[ "$rc" -eq 2 ]'
check "no card enrolled yet" '[ "$("$ISS" cards --db "$DB" --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" = 0 ]'
out=$("$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 2>&1) && rc=0 || rc=$?
check "enroll card 0" '[ "$rc" -eq 0 ]' || echo "$out"
out=$("$WK" --reader "$R1" enroll --issuer "$URL" --account $PAN1 2>&1) && rc=0 || rc=$?
check "enroll card 1" '[ "$rc" -eq 0 ]' || echo "$out"
check "issuer lists two cards" '[ "$("$ISS" cards --db "$DB" --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" = 2 ]'
"$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 >/dev/null 2>&1 && rc=0 || rc=$?
check "enroll refuses an enrolled card without --force" '[ "$rc" -eq 1 ]'
settled "enrolment"

# load
out=$("$WK" --reader "$R0" wallet load --issuer "$URL" --amount 100.00 --yes 2>&1) && rc=0 || rc=$?
check "wallet load 100.00 on card 0" '[ "$rc" -eq 0 ]' || echo "$out"
check "load prints each step" 'grep -q "^5\. the issuer marked load .* complete" <<<"$out"'
check "card 0 holds 100.00" '[ "$(purse_fen 0)" = 10000 ]'
settled "load"
"$WK" --reader "$R1" wallet load --issuer "$URL" --amount 0.50 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "wallet load 0.50 on card 1" '[ "$rc" -eq 0 ] && [ "$(purse_fen 1)" = 50 ]'
settled "load card 1"

finish
