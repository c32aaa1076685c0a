#!/bin/bash
# end-to-end: the purse PIN's life (docs/purse.md "PIN", docs/holder.md).
# Two enrolled cards and the real issuer. The holder changes the PIN; a
# host process guesses through CHANGE PIN and blocks it; the bank orders a
# reload (walletkey-issuer pin-unblock) and the card fetches its one-time
# script online, or the operator makes it for a request file; replayed
# scripts and requests, a script for another card and a card cut off after
# the challenge is spent are refused; the holder's next wallet load or audit
# sync delivers an ordered reload. Money is conserved after every step.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
R0=$(reader 0)
R1=$(reader 1)
SB=$WALLETKEY_SANDBOX/bin

# the issuer's card ids, in the order of enrolment
iss_card() {
	"$ISS" cards --db "$DB" --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[int(sys.argv[1])]["card_id"])' "$1"
}
# a member of the JSON object on stdin
member() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
tries() {
	env -u WALLETKEY_PIN "$WK" --reader "$(reader "$1")" --json wallet pin status | member tries_left
}
# the PIN in file F opens the card's records (a VERIFY through the CLI)
pin_works() {
	env -u WALLETKEY_PIN "$WK" --reader "$(reader "$1")" wallet records --pin-file "$2" >/dev/null 2>&1
}

issuer_setup
"$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 >/dev/null 2>&1 || die "enroll card 0"
"$WK" --reader "$R1" enroll --issuer "$URL" --account $PAN1 >/dev/null 2>&1 || die "enroll card 1"
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 20 --yes >/dev/null 2>&1 || die "load card 0"
settled "enrolled and loaded"
ID0=$(iss_card 0)
ID1=$(iss_card 1)
unset WALLETKEY_PIN
echo 123456 >"$T/pin0"
echo 246810 >"$T/pin1"
echo 999999 >"$T/wrong"
echo 13579 >"$T/pin2"

# ---- 1. the holder changes the PIN ----
check "a fresh card: three tries" '[ "$(tries 0)" = 3 ]'
out=$("$WK" --reader "$R0" --json wallet pin change --pin-file "$T/pin0" --new-pin-file "$T/pin1" 2>&1) && rc=0 || rc=$?
check "pin change: done" '[ "$rc" -eq 0 ] && [ "$(member changed <<<"$out")" = True ]' || echo "$out"
check "the new PIN works, the old one not" 'pin_works 0 "$T/pin1" && ! pin_works 0 "$T/pin0" && [ "$(tries 0)" = 2 ] && pin_works 0 "$T/pin1" && [ "$(tries 0)" = 3 ]'
WALLETKEY_PIN=246810 "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 1 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "a load with the new PIN" '[ "$rc" -eq 0 ] && [ "$(purse_fen 0)" = 2100 ]'
settled "PIN changed"

# ---- 2. a host process guesses through CHANGE PIN ----
for n in 1 2 3; do
	out=$("$WK" --reader "$R0" --json wallet pin change --pin-file "$T/wrong" --new-pin-file "$T/pin2" 2>&1) && rc=0 || rc=$?
	check "guess $n through CHANGE PIN: refused, $((3 - n)) left" '[ "$rc" -eq 1 ] && [ "$(member tries_left <<<"$out")" = $((3 - n)) ]' || echo "$out"
done
out=$("$WK" --reader "$R0" --json wallet pin change --pin-file "$T/pin1" --new-pin-file "$T/pin2" 2>&1) && rc=0 || rc=$?
check "the right PIN now changes nothing: blocked" '[ "$rc" -eq 1 ] && [ "$(member error <<<"$out")" = pin_blocked ] && ! pin_works 0 "$T/pin1" && ! pin_works 0 "$T/pin2"'
WALLETKEY_PIN=246810 "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 1 --yes >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "a load is refused while the PIN is blocked" '[ "$rc" -ne 0 ] && [ "$(purse_fen 0)" = 2100 ]' || cat "$T/x.log"
settled "PIN blocked by guessing"

# ---- 3. the bank's reload, online ----
"$WK" --reader "$R0" wallet pin unblock --issuer "$URL" --new-pin-file "$T/pin2" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "no order: the bank has not ordered a reload" '[ "$rc" -eq 1 ] && grep -q "has not ordered" "$T/x.log" && [ "$(tries 0)" = 0 ]' || cat "$T/x.log"
out=$("$ISS" pin-unblock --db "$DB" --key-file "$T/issuer.key" --card "$ID0" --json 2>&1) || die "pin-unblock: $out"
RESET=$(member reset_pin <<<"$out")
check "the operator gets a 6-digit reset PIN" '[[ "$RESET" =~ ^[0-9]{6}$ ]]'
out=$("$WK" --reader "$R0" --json wallet pin unblock --issuer "$URL" --new-pin-file "$T/pin2" 2>&1) && rc=0 || rc=$?
check "pin unblock --issuer: reloaded and changed to the holder's PIN" '[ "$rc" -eq 0 ] && [ "$(member changed <<<"$out")" = True ]' || echo "$out"
echo "$RESET" >"$T/reset"
check "the holder's new PIN works, three tries; the reset PIN does not" '[ "$(tries 0)" = 3 ] && pin_works 0 "$T/pin2" && ! pin_works 0 "$T/reset"'
"$WK" --reader "$R0" wallet pin unblock --issuer "$URL" --new-pin-file "$T/pin1" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "the order is spent: a second unblock gets nothing" '[ "$rc" -eq 1 ] && grep -q "has not ordered" "$T/x.log" && pin_works 0 "$T/pin2"' || cat "$T/x.log"
WALLETKEY_PIN=13579 "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 1 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "loads work again" '[ "$rc" -eq 0 ] && [ "$(purse_fen 0)" = 2200 ]'
settled "reloaded online"

# --keep-reset-pin: the PIN is what the bank said
out=$("$ISS" pin-unblock --db "$DB" --key-file "$T/issuer.key" --card "$ID0" --json 2>&1) || die "pin-unblock 2: $out"
echo "$(member reset_pin <<<"$out")" >"$T/reset2"
"$WK" --reader "$R0" wallet pin unblock --issuer "$URL" --keep-reset-pin >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "--keep-reset-pin: the bank's reset PIN is the PIN" '[ "$rc" -eq 0 ] && pin_works 0 "$T/reset2" && ! pin_works 0 "$T/pin2"' || cat "$T/x.log"
"$WK" --reader "$R0" wallet pin change --pin-file "$T/reset2" --new-pin-file "$T/pin2" >/dev/null 2>&1 || die "change from the reset PIN"

# ---- 4. the operator's path, and the replays ----
"$WK" --reader "$R0" wallet unblock --request-out "$T/req1.json" >/dev/null 2>&1 || die "unblock request"
out=$("$ISS" pin-unblock --db "$DB" --key-file "$T/issuer.key" --card "$ID1" --request "$T/req1.json" --out "$T/s-x.json" 2>&1) && rc=0 || rc=$?
check "no script for another card's request" '[ "$rc" -eq 2 ] && [ ! -e "$T/s-x.json" ]' || echo "$out"
out=$("$ISS" pin-unblock --db "$DB" --key-file "$T/issuer.key" --card "$ID0" --request "$T/req1.json" --out "$T/s1.json" --json 2>&1) || die "pin-unblock --request: $out"
member reset_pin <<<"$out" >"$T/reset3"
"$WK" --reader "$R1" wallet pin unblock --script "$T/s1.json" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "a script on another card: refused" '[ "$rc" -eq 1 ] && grep -q "is for card" "$T/x.log"'
python3 - "$T/s1.json" "$T/forged.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = bytearray.fromhex(d["script"])
s[0] = 0x11			# another PIN under the same MACs
d["script"] = s.hex()
json.dump(d, open(sys.argv[2], "w"))
PY
"$WK" --reader "$R0" wallet pin unblock --script "$T/forged.json" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "a forged script (another PIN): refused, the PIN unchanged" '[ "$rc" -eq 1 ] && grep -q "refused the script" "$T/x.log" && pin_works 0 "$T/pin2"' || cat "$T/x.log"
"$WK" --reader "$R0" wallet pin unblock --script "$T/s1.json" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "the right script after a forged one: its challenge is used up" '[ "$rc" -eq 1 ] && grep -q "no unblock request pending" "$T/x.log" && pin_works 0 "$T/pin2"' || cat "$T/x.log"
"$WK" --reader "$R0" wallet unblock --request-out "$T/req2.json" >/dev/null 2>&1 || die "unblock request 2"
"$ISS" pin-unblock --db "$DB" --key-file "$T/issuer.key" --card "$ID0" --request "$T/req2.json" --out "$T/s2.json" --json >"$T/o2.json" 2>&1 || die "pin-unblock 2"
member reset_pin <"$T/o2.json" >"$T/reset4"
out=$("$WK" --reader "$R0" --json wallet pin unblock --script "$T/s2.json" 2>&1) && rc=0 || rc=$?
check "the newest script: the PIN is the reset PIN" '[ "$rc" -eq 0 ] && pin_works 0 "$T/reset4"' || echo "$out"
"$WK" --reader "$R0" wallet pin change --pin-file "$T/reset4" --new-pin-file "$T/pin2" >/dev/null 2>&1 || die "change from reset 4"
"$WK" --reader "$R0" wallet pin unblock --script "$T/s2.json" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "the same script again: refused (it works once)" '[ "$rc" -eq 1 ] && pin_works 0 "$T/pin2"' || cat "$T/x.log"
"$WK" --reader "$R0" wallet unblock --request-out "$T/req3.json" >/dev/null 2>&1 || die "unblock request 3"
"$WK" --reader "$R0" wallet pin unblock --script "$T/s2.json" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "an old script for a newer challenge: refused" '[ "$rc" -eq 1 ] && grep -q "refused the script" "$T/x.log" && pin_works 0 "$T/pin2"' || cat "$T/x.log"
# a request the issuer answered before, replayed to the server
"$ISS" pin-unblock --db "$DB" --key-file "$T/issuer.key" --card "$ID0" >/dev/null 2>&1 || die "pin-unblock 5"
python3 - "$T/req2.json" "$T/replay.json" <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1]))
json.dump({"request": base64.b64encode(bytes.fromhex(d["request"])).decode()}, open(sys.argv[2], "w"))
PY
code=$(curl -s -o "$T/x.json" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "@$T/replay.json" "$URL/v1/pin-reloads")
check "a replayed request: 409, the order kept" '[ "$code" = 409 ] && [ "$(member error <"$T/x.json")" = replayed_request ] && [ "$("$ISS" pin-reloads --db "$DB" --json | python3 -c "import json,sys; print(sum(1 for o in json.load(sys.stdin) if o[\"status\"] == \"pending\"))")" = 1 ]' || cat "$T/x.json"
settled "scripts and replays"

# ---- 5. the card cut off after the challenge is spent ----
"$SB/card-kill" 0
WALLETKEY_CARD_FAULT=reload-spent "$SB/card-start" 0 >/dev/null 2>&1 || die "card 0 does not start"
"$WK" --reader "$R0" wallet pin unblock --issuer "$URL" --new-pin-file "$T/pin1" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "the card killed before it answered the script" '[ "$rc" -eq 1 ]' || cat "$T/x.log"
"$SB/card-kill" 0
"$SB/card-start" 0 >/dev/null 2>&1 || die "card 0 does not restart"
check "the PIN unchanged, the order spent" 'pin_works 0 "$T/pin2" && [ "$("$ISS" pin-reloads --db "$DB" --json | python3 -c "import json,sys; print(sum(1 for o in json.load(sys.stdin) if o[\"status\"] == \"pending\"))")" = 0 ]'
"$WK" --reader "$R0" wallet pin unblock --issuer "$URL" --new-pin-file "$T/pin1" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "nothing more to fetch until the bank orders again" '[ "$rc" -eq 1 ] && grep -q "has not ordered" "$T/x.log"'
check "the issuer logged orders and deliveries" '[ "$("$ISS" oplog --db "$DB" --json | python3 -c "import json,sys; l=json.load(sys.stdin); print(sum(1 for o in l if o[\"kind\"] == \"pin.order\"), sum(1 for o in l if o[\"kind\"] == \"pin.reload\"))")" = "5 5" ]'
settled "torn reload"

# ---- 6. the holder's next contact with the issuer delivers the reload ----
block0() {
	local n
	for n in 1 2 3; do
		"$WK" --reader "$R0" wallet pin change --pin-file "$T/wrong" --new-pin-file "$T/pin1" >/dev/null 2>&1 || true
	done
}
FEN=$(purse_fen 0)
block0
check "blocked again by guessing" '[ "$(tries 0)" = 0 ]'
out=$(WALLETKEY_PIN=13579 "$WK" --reader "$R0" --json wallet load --issuer "$URL" --amount 1 --yes 2>"$T/x.log") && rc=0 || rc=$?
check "wallet load, no order: refused, nothing loaded, still blocked" '[ "$rc" -eq 1 ] && [ "$(member error <<<"$out")" = pin_blocked ] && [ "$(member pin_reloaded <<<"$out")" = False ] && [ "$(purse_fen 0)" = "$FEN" ] && [ "$(tries 0)" = 0 ]' || { echo "$out"; cat "$T/x.log"; }
out=$("$ISS" pin-unblock --db "$DB" --key-file "$T/issuer.key" --card "$ID0" --json 2>&1) || die "pin-unblock 6: $out"
member reset_pin <<<"$out" >"$T/reset3"
out=$(WALLETKEY_PIN=13579 "$WK" --reader "$R0" --json wallet load --issuer "$URL" --amount 1 --yes 2>"$T/x.log") && rc=0 || rc=$?
check "wallet load delivers the bank's reload: no load, the PIN is the reset PIN" '[ "$rc" -eq 1 ] && [ "$(member pin_reloaded <<<"$out")" = True ] && [ "$(purse_fen 0)" = "$FEN" ] && pin_works 0 "$T/reset3" && [ "$(tries 0)" = 3 ]' || { echo "$out"; cat "$T/x.log"; }
"$WK" --reader "$R0" wallet pin change --pin-file "$T/reset3" --new-pin-file "$T/pin2" >/dev/null 2>&1 || die "change from reset PIN 3"
settled "reload delivered by a load"
block0
out=$("$ISS" pin-unblock --db "$DB" --key-file "$T/issuer.key" --card "$ID0" --json 2>&1) || die "pin-unblock 7: $out"
member reset_pin <<<"$out" >"$T/reset4"
out=$(WALLETKEY_PIN=13579 "$WK" --reader "$R0" --json audit sync --issuer "$URL" 2>"$T/x.log") && rc=0 || rc=$?
check "audit sync delivers the bank's reload (and syncs nothing)" '[ "$rc" -eq 1 ] && [ "$(member pin_reloaded <<<"$out")" = True ] && pin_works 0 "$T/reset4" && ! pin_works 0 "$T/pin2"' || { echo "$out"; cat "$T/x.log"; }
"$WK" --reader "$R0" wallet pin change --pin-file "$T/reset4" --new-pin-file "$T/pin2" >/dev/null 2>&1 || die "change from reset PIN 4"
WALLETKEY_PIN=13579 "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 1 --yes >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "then loads work again" '[ "$rc" -eq 0 ] && [ "$(purse_fen 0)" = "$((FEN + 100))" ]' || cat "$T/x.log"
settled "reload delivered by a sync"

finish
