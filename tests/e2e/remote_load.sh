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

pending_file() { echo "$WALLETKEY_STATE_DIR/load-$1.json"; }
ID0=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["card_id"])' "$(grep -l "$PAN0" "$WALLETKEY_STATE_DIR"/card-*.json)")

# the card refuses a grant it has no session for: the issuer reverses
before=$(purse_fen 0)
WALLETKEY_FAULT_AT=granted WALLETKEY_FAULT_CMD="$WK --reader '$R0' apdu 00A404000AF0574B5055525345 805C000204 >/dev/null" \
	"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 3 --yes >"$T/out" 2>&1 && rc=0 || rc=$?
check "a grant without a session: refused by the card (exit 1)" '[ "$rc" -eq 1 ] && grep -q "card refused" "$T/out"'
check "refused: balance unchanged" '[ "$(purse_fen 0)" = "$before" ]'
check "refused: the issuer reversed the load" '"$ISS" loads --db "$DB" --json | python3 -c "import json,sys; l=json.load(sys.stdin)[-1]; assert l[\"status\"] == \"reversed\", l"'
settled "refusal"

# the card refuses, and the CLI dies before it saved the refusal: the card
# states the burnt seq was never credited
WALLETKEY_FAULT_AT=granted WALLETKEY_FAULT_CMD="$WK --reader '$R0' apdu 00A404000AF0574B5055525345 805C000204 >/dev/null" \
	WALLETKEY_FAULT_KILL_AT=credited "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 3.5 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "refused, then the CLI killed" '[ "$rc" -eq 137 ]'
out=$("$WK" --reader "$R0" wallet recover 2>&1) && rc=0 || rc=$?
check "recover after a lost refusal: never credited, reversed" '[ "$rc" -eq 0 ] && grep -q "never credited" <<<"$out" && grep -q "reversed" <<<"$out"'
settled "lost refusal"

# the CLI dies after the grant: recover gets the card's never-credited statement
WALLETKEY_FAULT_AT=granted "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 4 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "CLI killed after the grant" '[ "$rc" -eq 137 ] && [ -f "$(pending_file "$ID0")" ]'
check "the load is pending at the issuer" '"$ISS" loads --db "$DB" --json | python3 -c "import json,sys; assert json.load(sys.stdin)[-1][\"status\"] == \"pending\""'
out=$("$WK" --reader "$R0" wallet recover 2>&1) && rc=0 || rc=$?
check "recover: never credited, reversed" '[ "$rc" -eq 0 ] && grep -q "never credited" <<<"$out" && grep -q "reversed" <<<"$out"'
check "recover: the state file is gone" '[ ! -e "$(pending_file "$ID0")" ]'
settled "recover never credited"

# the CLI dies after the card credited, before it saved the receipt: the
# card's proof completes the load
before=$(purse_fen 0)
WALLETKEY_FAULT_AT=credited "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 5 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "CLI killed after the credit" '[ "$rc" -eq 137 ]'
out=$("$WK" --reader "$R0" wallet recover 2>&1) && rc=0 || rc=$?
check "recover: the card's proof completes it" '[ "$rc" -eq 0 ] && grep -q "proves it credited" <<<"$out" && grep -q "complete" <<<"$out"'
check "credited: the purse holds it" '[ "$(purse_fen 0)" = $((before + 500)) ]'
settled "recover proof"

# the CLI dies before the receipt reached the issuer: the next wallet
# command settles it with the saved receipt; a replayed receipt changes nothing
WALLETKEY_FAULT_AT=answered "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 6 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "CLI killed after the card's answer" '[ "$rc" -eq 137 ]'
cp "$(pending_file "$ID0")" "$T/saved.json"
out=$("$WK" --reader "$R0" wallet balance 2>&1) && rc=0 || rc=$?
check "the next wallet command recovers first" '[ "$rc" -eq 0 ] && grep -q "recover: load .* complete" <<<"$out"'
settled "auto recover"
lid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["load_id"])' "$T/saved.json")
body=$(python3 -c 'import json,sys; print(json.dumps({"receipt": json.load(open(sys.argv[1]))["answer"]}))' "$T/saved.json")
code=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' -d "$body" "$URL/v1/loads/$lid/receipt")
check "a replayed receipt: the same answer" '[ "$code" = 200 ] && grep -q complete "$T/resp"'
settled "replayed receipt"
# the receipt with one byte flipped: refused, nothing changes
python3 - "$T/saved.json" >"$T/flipped" <<'PY'
import base64, json, sys
m = bytearray(base64.b64decode(json.load(open(sys.argv[1]))["answer"]))
m[len(m) // 2] ^= 1
print(json.dumps({"receipt": base64.b64encode(bytes(m)).decode()}))
PY
code=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' -d @"$T/flipped" "$URL/v1/loads/$lid/receipt")
check "a flipped receipt: refused (4xx)" '[ "${code:0:1}" = 4 ]'
settled "flipped receipt"

# the state file lost while a load is pending: the issuer names the load
# (seq_used), the card's statement settles it, the next load works
WALLETKEY_FAULT_AT=granted "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 8 --yes >/dev/null 2>&1 && rc=0 || rc=$?
rm -f "$(pending_file "$ID0")"
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 8 --yes >/dev/null 2>"$T/err" && rc=0 || rc=$?
check "lost state file: seq_used, the pending load settled" '[ "$rc" -eq 1 ] && grep -q "seq_used" "$T/err" && grep -q "is now reversed" "$T/err"'
settled "lost state file"
before=$(purse_fen 0)
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 8 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "then the load works" '[ "$rc" -eq 0 ] && [ "$(purse_fen 0)" = $((before + 800)) ]'
settled "after the lost state file"

# every byte of a real card-signed request flipped: the issuer refuses each,
# nothing changes; the request itself is then settled by recover
WALLETKEY_FAULT_AT=requested "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 9 --yes >/dev/null 2>&1 && rc=0 || rc=$?
n_before=$("$ISS" loads --db "$DB" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
python3 - "$(pending_file "$ID0")" "$URL" >"$T/flips" <<'PY'
import base64, json, sys, urllib.request, urllib.error
req = bytearray(base64.b64decode(json.load(open(sys.argv[1]))["request"]))
accepted = 0
for i in range(len(req)):
    m = bytearray(req)
    m[i] ^= 0x01
    body = json.dumps({"request": base64.b64encode(bytes(m)).decode()}).encode()
    r = urllib.request.Request(sys.argv[2] + "/v1/loads", data=body,
                               headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(r)
        accepted += 1
    except urllib.error.HTTPError as e:
        if e.code // 100 != 4:
            accepted += 1
print(len(req), accepted)
PY
read -r nbytes accepted <"$T/flips"
check "all $nbytes flipped request bytes refused" '[ "$accepted" = 0 ] && [ "$nbytes" -gt 100 ]'
check "flipped requests: no load created" '[ "$("$ISS" loads --db "$DB" --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" = "$n_before" ]'
"$WK" --reader "$R0" wallet recover >/dev/null 2>&1 && rc=0 || rc=$?
check "the unflipped request: granted, then reversed by the card's statement" '[ "$rc" -eq 0 ] && "$ISS" loads --db "$DB" --json | python3 -c "import json,sys; assert json.load(sys.stdin)[-1][\"status\"] == \"reversed\""'
settled "flipped requests"

# cancelled without confirmation: nothing sent
before=$(purse_fen 0)
n_loads=$("$ISS" loads --db "$DB" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
setsid "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 7 --confirm-timeout 1 </dev/null >/dev/null 2>"$T/err" && rc=0 || rc=$?
check "no confirmation: cancelled, nothing sent" '[ "$rc" -eq 1 ] && grep -q "nothing was sent" "$T/err" && [ "$("$ISS" loads --db "$DB" --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" = "$n_loads" ] && [ "$(purse_fen 0)" = "$before" ]'
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 0 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "amount 0: usage error" '[ "$rc" -eq 2 ]'
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 1.234 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "amount with 3 decimals: usage error" '[ "$rc" -eq 2 ]'
WALLETKEY_PIN=654321 "$WK" --reader "$R1" wallet load --issuer "$URL" --amount 1 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "wrong PIN: refused, nothing sent" '[ "$rc" -eq 1 ]'
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 2000 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "more than the account holds: refused by the issuer" '[ "$rc" -eq 1 ] && [ ! -e "$(pending_file "$ID0")" ]'
settled "bad input"

finish
