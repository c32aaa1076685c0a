#!/bin/bash
# end-to-end: the card protects itself (docs/security.md). Two enrolled
# cards and the real issuer; a hostile process on the holder's machine
# (card_attack, libwalletkey's plain commands) tries to send without the
# PIN, to burn the online sequence numbers without the PIN, to guess MAC2s
# (with the PIN, as malware that saw it), to tear the card off between the
# try and the comparison (kill -9), to forge and replay unblock scripts,
# to transfer with a revoked card and to replay an old revocation list.
# Money is conserved after every step.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
R0=$(reader 0)
R1=$(reader 1)
SB=$WALLETKEY_SANDBOX/bin
ATTACK=$BUILD/tests/e2e/card_attack

# the EP balance needs no PIN: read it without one (card 1's PIN gets
# blocked below, and a PIN given is verified)
purse_fen() {
	env -u WALLETKEY_PIN "$WK" --reader "$(reader "$1")" --json wallet balance |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["balance_fen"])'
}

# the issuer's card ids, in the order of enrolment
card_id() {
	"$ISS" cards --db "$DB" --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[int(sys.argv[1])]["card_id"])' "$1"
}

issuer_setup
"$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 >/dev/null 2>&1 || die "enroll card 0"
"$WK" --reader "$R1" enroll --issuer "$URL" --account $PAN1 >/dev/null 2>&1 || die "enroll card 1"
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 50 --yes >/dev/null 2>&1 || die "load card 0"
settled "enrolled and loaded"
ID0=$(card_id 0)
ID1=$(card_id 1)
[ -n "$ID0" ] && [ -n "$ID1" ] || die "card ids"

# ---- 1. sending needs the sender's PIN ----
out=$("$ATTACK" send-no-pin "$R0" "$R1" 1000 2>&1) && rc=0 || rc=$?
check "a host process sends without the PIN: refused" '[ "$rc" -eq 1 ] && [ "$(purse_fen 0)" = 5000 ] && [ "$(purse_fen 1)" = 0 ]' || echo "$out"
settled "send without PIN"
WALLETKEY_FROM_PIN=000000 "$WK" wallet transfer --from "$R0" --to "$R1" --amount 10 --yes >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "a wrong sending PIN: nothing moved, no challenge left open" '[ "$rc" -eq 1 ] && grep -q "sending card" "$T/x.log" && [ "$(purse_fen 0)" = 5000 ] && [ "$(purse_fen 1)" = 0 ] && [ -z "$(ls "$WALLETKEY_STATE_DIR"/xfer-*.json 2>/dev/null)" ]' || cat "$T/x.log"
echo 123456 >"$T/pin0"
out=$(WALLETKEY_PIN=999999 "$WK" wallet transfer --from "$R0" --to "$R1" --amount 10 --yes \
	--from-pin-file "$T/pin0" --to-pin-file "$T/pin0" 2>&1) && rc=0 || rc=$?
check "both PINs given: the transfer goes through" '[ "$rc" -eq 0 ] && grep -q "sending card.s PIN is verified" <<<"$out" && [ "$(purse_fen 0)" = 4000 ] && [ "$(purse_fen 1)" = 1000 ]' || echo "$out"
settled "transfer with both PINs"

# ---- 2. burning online sequence numbers needs the PIN ----
seq_before=$("$ISS" loads --db "$DB" --json | python3 -c 'import json,sys; print(max(l["seq"] for l in json.load(sys.stdin)))')
out=$("$ATTACK" burn-seq "$R0" "${WK_ATTACK_SEQS:-2048}" 2>&1) && rc=0 || rc=$?
check "statements and grants without the PIN: no seq burnt" '[ "$rc" -eq 1 ] && grep -q "burnt: 0 " <<<"$out"' || echo "$out"
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 1 --yes >/dev/null 2>&1 && rc=0 || rc=$?
seq_after=$("$ISS" loads --db "$DB" --json | python3 -c 'import json,sys; print(max(l["seq"] for l in json.load(sys.stdin)))')
check "the next load names the next seq" '[ "$rc" -eq 0 ] && [ "$seq_after" -eq $((seq_before + 1)) ] && [ "$(purse_fen 0)" = 4100 ]'
settled "seq burning"

# ---- 2b. recovery asks the PIN when the card's statement needs it ----
WALLETKEY_FAULT_AT=granted "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 2 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "the CLI killed after the grant: a load pending" '[ "$rc" -eq 137 ] && [ "$("$ISS" loads --db "$DB" --json | python3 -c "import json,sys; print(sum(1 for l in json.load(sys.stdin) if l[\"status\"] == \"pending\"))")" = 1 ]'
env -u WALLETKEY_PIN "$WK" --reader "$R0" wallet recover </dev/null >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "recover without any PIN: refused, the load kept for later" '[ "$rc" -eq 1 ] && grep -q "needs the purse PIN" "$T/x.log" && [ -n "$(ls "$WALLETKEY_STATE_DIR"/load-*.json 2>/dev/null)" ]' || cat "$T/x.log"
out=$(env -u WALLETKEY_PIN "$WK" --reader "$R0" wallet recover --pin-file "$T/pin0" </dev/null 2>&1) && rc=0 || rc=$?
check "recover with --pin-file: the statement, the load reversed" '[ "$rc" -eq 0 ] && grep -q "never credited" <<<"$out" && grep -q reversed <<<"$out"' || echo "$out"
settled "recovery with the PIN"

# ---- 3. wrong MAC2s block the purse; the issuer's script opens it ----
seq_before=$("$ISS" loads --db "$DB" --json | python3 -c 'import json,sys; print(max(l["seq"] for l in json.load(sys.stdin)))')
out=$("$ATTACK" mac-guess "$R0" 5 2>&1) && rc=0 || rc=$?
check "guessed MAC2s: three refused, then the purse is blocked" '[ "$rc" -eq 1 ] && [ "$(echo $out)" = "9302 9302 9302 6A81 6A81" ]' || echo "$out"
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 1 --yes >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "a right load is refused while blocked" '[ "$rc" -eq 1 ] && grep -q "blocked" "$T/x.log"' || cat "$T/x.log"
"$WK" --reader "$R0" wallet balance >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "the balance is not shown while blocked" '[ "$rc" -eq 1 ] && grep -q "blocked" "$T/x.log"'
check "the blocked load never reached the issuer" '[ "$("$ISS" loads --db "$DB" --json | python3 -c "import json,sys; print(max(l[\"seq\"] for l in json.load(sys.stdin)))")" = "$seq_before" ]'
"$WK" --reader "$R0" wallet unblock --request-out "$T/req1.json" >"$T/x.log" 2>&1 || die "unblock request: $(cat "$T/x.log")"
"$ISS" purse-unblock --db "$DB" --key-file "$T/issuer.key" --card "$ID0" \
	--request "$T/req1.json" --out "$T/script1.json" >/dev/null 2>&1 || die "purse-unblock"
"$ISS" purse-unblock --db "$DB" --key-file "$T/issuer.key" --card "$ID1" \
	--request "$T/req1.json" --out "$T/script-x.json" >/dev/null 2>&1 && rc=0 || rc=$?
check "the issuer makes no script for another card's request" '[ "$rc" -eq 2 ] && [ ! -e "$T/script-x.json" ]'
python3 - "$T/script1.json" "$T/forged.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["mac"] = "%08X" % (int(d["mac"], 16) ^ 0x00010000)
json.dump(d, open(sys.argv[2], "w"))
PY
"$WK" --reader "$R0" wallet unblock --script "$T/forged.json" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "a forged script: refused" '[ "$rc" -eq 1 ] && grep -q "refused the script" "$T/x.log"' || cat "$T/x.log"
"$WK" --reader "$R0" wallet unblock --script "$T/script1.json" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "the right script after a forged one: its challenge is used up" '[ "$rc" -eq 1 ] && grep -q "no unblock request pending" "$T/x.log"' || cat "$T/x.log"
"$WK" --reader "$R1" wallet unblock --script "$T/script1.json" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "a script on another card: refused" '[ "$rc" -eq 1 ] && grep -q "is for card" "$T/x.log"'
"$WK" --reader "$R0" wallet unblock --request-out "$T/req2.json" >/dev/null 2>&1 || die "unblock request 2"
"$ISS" purse-unblock --db "$DB" --key-file "$T/issuer.key" --card "$ID0" \
	--request "$T/req2.json" --out "$T/script2.json" >/dev/null 2>&1 || die "purse-unblock 2"
"$WK" --reader "$R0" wallet unblock --script "$T/script1.json" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "an older script for a newer request: refused" '[ "$rc" -eq 1 ] && grep -q "refused the script" "$T/x.log"'
# (the forged and the older script spent two of the three unblock tries)
"$WK" --reader "$R0" wallet unblock --request-out "$T/req3.json" >/dev/null 2>&1 || die "unblock request 3"
"$ISS" purse-unblock --db "$DB" --key-file "$T/issuer.key" --card "$ID0" \
	--request "$T/req3.json" --out "$T/script3.json" >/dev/null 2>&1 || die "purse-unblock 3"
out=$("$WK" --reader "$R0" --json wallet unblock --script "$T/script3.json" 2>&1) && rc=0 || rc=$?
check "the issuer's script unblocks the purse" '[ "$rc" -eq 0 ] && python3 -c "import json,sys; assert json.loads(sys.argv[1])[\"unblocked\"]" "$out"' || echo "$out"
"$WK" --reader "$R0" wallet unblock --script "$T/script3.json" >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "the same script again: it works once" '[ "$rc" -eq 1 ] && grep -q "no unblock request pending" "$T/x.log"'
check "the balance survived the block" '[ "$(purse_fen 0)" = 4100 ]'
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 1 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "loads work again" '[ "$rc" -eq 0 ] && [ "$(purse_fen 0)" = 4200 ]'
check "the issuer logged each script" '[ "$("$ISS" oplog --db "$DB" --json | python3 -c "import json,sys; print(sum(1 for o in json.load(sys.stdin) if o[\"kind\"] == \"purse.unblock\"))")" = 3 ]'
settled "block and unblock"

# ---- 4. the try counter survives kill -9 between the try and the MAC ----
for n in 1 2 3; do
	"$SB/card-kill" 0
	WALLETKEY_CARD_FAULT=mac-spent "$SB/card-start" 0 >/dev/null 2>&1 || die "card 0 does not start"
	out=$("$ATTACK" mac-guess "$R0" 1 2>&1) && rc=0 || rc=$?
	check "wrong MAC2 $n: the card killed before it answered" '[ "$rc" -eq 1 ] && grep -q lost <<<"$out"' || echo "$out"
	"$SB/card-kill" 0
	"$SB/card-start" 0 >/dev/null 2>&1 || die "card 0 does not restart"
done
out=$("$ATTACK" mac-guess "$R0" 1 2>&1) && rc=0 || rc=$?
check "after three torn guesses the purse is blocked" '[ "$(echo $out)" = "6A81" ]' || echo "$out"
"$WK" --reader "$R0" wallet unblock --request-out "$T/req4.json" >/dev/null 2>&1 || die "unblock request 4"
"$ISS" purse-unblock --db "$DB" --key-file "$T/issuer.key" --card "$ID0" \
	--request "$T/req4.json" --out "$T/script4.json" >/dev/null 2>&1 || die "purse-unblock 4"
"$WK" --reader "$R0" wallet unblock --script "$T/script4.json" >/dev/null 2>&1 || die "unblock 4"
check "unblocked, the balance intact" '[ "$(purse_fen 0)" = 4200 ]'
settled "torn guesses"

# ---- 5. a blocked PIN blocks sending ----
echo 999999 >"$T/wrong"
for n in 1 2 3; do
	"$WK" --reader "$R1" wallet records --pin-file "$T/wrong" >/dev/null 2>&1 || true
done
"$WK" wallet transfer --from "$R1" --to "$R0" --amount 1 --yes >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "the sender's PIN blocked: nothing sent" '[ "$rc" -eq 1 ] && grep -qi "blocked" "$T/x.log" && [ "$(purse_fen 1)" = 1000 ] && [ "$(purse_fen 0)" = 4200 ]' || cat "$T/x.log"
settled "blocked PIN"

# ---- 6. revoked peers, and an old revocation list replayed ----
# the list before the revocation, as the issuer signs it beside an ack
"$WK" --reader "$R0" audit sync --issuer "$URL" >/dev/null 2>&1 || die "audit sync"
"$WK" --reader "$R0" --json audit export --format json --out "$T/export.json" >/dev/null 2>&1 || die "audit export"
python3 - "$URL" "$ID0" "$T/export.json" "$T/crl0.hex" "$(session 0 card)" <<'PY'
import json, sys, urllib.request
url, card, exp, out, tok = sys.argv[1:]
h = json.load(open(exp))["head"]
body = json.dumps({"head": {"checkpoint_seq": h["checkpoint_seq"],
    "checkpoint_hash": h["checkpoint_hash"], "seq": h["seq"], "hash": h["hash"],
    "nonce": h["nonce"], "signature": h["signature"]}}).encode()
r = urllib.request.urlopen(urllib.request.Request(url + "/v1/audit/%s/ack" % card,
    data=body, headers={"Content-Type": "application/json",
    "Authorization": "Bearer " + tok}))
open(out, "w").write(json.load(r)["revocation_list"])
PY
[ -s "$T/crl0.hex" ] || die "the issuer's list before the revocation"
"$ISS" revoke --db "$DB" --card "$ID1" >/dev/null || die "revoke card 1"
out=$("$WK" --reader "$R0" --json audit sync --issuer "$URL" 2>&1) && rc=0 || rc=$?
check "the sync brings the list naming card 1" '[ "$rc" -eq 0 ] && [ "$(python3 -c "import json,sys; print(json.loads(sys.argv[1])[\"revoked_cards\"])" "$out")" = 1 ]' || echo "$out"
v1=$("$WK" --reader "$R0" --json audit status | python3 -c 'import json,sys; print(json.load(sys.stdin)["revocation_list"]["version"])')
"$WK" wallet transfer --from "$R1" --to "$R0" --amount 1 --yes >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "a transfer from the revoked card: refused at authentication" '[ "$rc" -eq 1 ] && grep -q "authenticate" "$T/x.log" && [ "$(purse_fen 1)" = 1000 ] && [ "$(purse_fen 0)" = 4200 ]' || cat "$T/x.log"
"$WK" wallet transfer --from "$R0" --to "$R1" --amount 1 --yes >"$T/x.log" 2>&1 && rc=0 || rc=$?
check "a transfer to the revoked card: refused" '[ "$rc" -eq 1 ] && [ "$(purse_fen 1)" = 1000 ] && [ "$(purse_fen 0)" = 4200 ]'
out=$("$ATTACK" crl-put "$R0" "$(cat "$T/crl0.hex")" 2>&1) && rc=0 || rc=$?
check "the old list replayed: refused" '[ "$rc" -eq 1 ] && grep -q "crl: 6985" <<<"$out"' || echo "$out"
v2=$("$WK" --reader "$R0" --json audit status | python3 -c 'import json,sys; print(json.load(sys.stdin)["revocation_list"]["version"])')
check "the card keeps the newer list" '[ "$v1" = "$v2" ] && [ "$v1" -gt 0 ]'
"$WK" wallet transfer --from "$R1" --to "$R0" --amount 1 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "still refused after the replay" '[ "$rc" -eq 1 ] && [ "$(purse_fen 1)" = 1000 ]'
settled "revocation"
finish
