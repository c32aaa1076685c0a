#!/bin/bash
# end-to-end: purchases through a PSAM card, settled with the real
# walletkey-issuer (SQLite), against the per-card floats (issue 11, docs/
# issuer.md "Settlement", docs/wallet.md "The PSAM"). Cards 0 and 1 are
# enrolled holders, card 2 is the terminal's PSAM. The terminal keeps its
# own state directory (another machine); the holders theirs.
#   - PSAM provisioning: the master keys never leave the issuer (sam-keys is
#     gone), the purchase key reaches the PSAM sealed to its own key;
#   - purchases, settlement, a replayed and a forged proof;
#   - a transfer 0 -> 1 and a purchase of card 1 settled before the issuer
#     saw the transfer: 409 until card 1's sync reports it, then settled;
#     the same token reported twice, a forged one;
#   - kill -9 of the issuer during settlement and during transfer reports;
# the money check (per card: float = purse + pending) after every step.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 3 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
R0=$(reader 0)
R1=$(reader 1)
R2=$(reader 2)
TERM_ID=000000000042
TJ=$T/terminal/term.json	# the terminal's journal (its proofs: .proofs)
mkdir -p "$T/terminal"

# the terminal's commands run with the terminal's state directory
term() { WALLETKEY_STATE_DIR=$T/terminal "$WK" "$@"; }
merchant_fen() {
	"$ISS" merchants --db "$DB" --json | python3 -c 'import json,sys; print(sum(m["balance"] for m in json.load(sys.stdin)))'
}
ledger_n() { "$ISS" ledger --db "$DB" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
oplog_kind() { "$ISS" oplog --db "$DB" --json | python3 -c 'import json,sys; print(sum(1 for o in json.load(sys.stdin) if o["kind"] == sys.argv[1]))' "$1"; }
float_of() { "$ISS" cards --db "$DB" --json | python3 -c 'import json,sys; print([c["float"] for c in json.load(sys.stdin) if c["card_id"] == sys.argv[1]][0])' "$1"; }
# the journal's purchases the issuer has not settled (fen)
unsettled_fen() {
	python3 - "$TJ.proofs" <<'PY'
import json, sys
proofs, done = {}, set()
for l in open(sys.argv[1]):
    j = json.loads(l)
    if isinstance(j.get("settled"), list):
        done.update(j["settled"])
    elif "tac" in j:
        proofs[j["terminal_id"] + ":" + j["terminal_seq"]] = j["amount"]
print(sum(a for k, a in proofs.items() if k not in done))
PY
}
buy() {	# buy SLOT YUAN
	term --reader "$(reader "$1")" wallet purchase --amount "$2" --psam "$R2" --journal "$TJ"
}

issuer_setup
settled "start"
for i in 0 1; do
	out=$("$WK" --reader "$(reader $i)" enroll --issuer "$URL" --account $PAN0 2>&1) && rc=0 || rc=$?
	check "enroll card $i" '[ "$rc" -eq 0 ]' || echo "$out"
done
C0=$(card_id 0)
C1=$(card_id 1)
out=$("$WK" --reader "$R0" wallet load --issuer "$URL" --amount 100.00 --yes 2>&1) && rc=0 || rc=$?
check "remote load 100.00" '[ "$rc" -eq 0 ]' || echo "$out"
settled "load"
check "card 0's float is its load" '[ "$(float_of "$C0")" = 10000 ] && [ "$(float_of "$C1")" = 0 ]'

# ---- the terminal's PSAM: no master key leaves the issuer ----
"$ISS" merchant-create --db "$DB" --terminal $TERM_ID --name Shop >/dev/null
"$ISS" sam-keys --db "$DB" --key-file "$T/issuer.key" --out "$T/mk.json" >/dev/null 2>&1 && rc=0 || rc=$?
check "sam-keys is gone" '[ "$rc" -eq 2 ] && [ ! -e "$T/mk.json" ]'
out=$(term --reader "$R0" wallet purchase --amount 1 --psam "$R2" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "an unprovisioned PSAM is refused" '[ "$rc" -ne 0 ] && grep -q "holds no purchase key" <<<"$out"'
out=$(term --reader "$R2" psam init --issuer "$URL" --out "$T/req.json" 2>&1) && rc=0 || rc=$?
check "psam init" '[ "$rc" -eq 0 ] && grep -q walletkey-psam-request "$T/req.json"' || echo "$out"
out=$("$ISS" psam-issue --db "$DB" --key-file "$T/issuer.key" --terminal $TERM_ID \
	--request "$T/req.json" --out "$T/psam.json" 2>&1) && rc=0 || rc=$?
check "psam-issue" '[ "$rc" -eq 0 ]' || echo "$out"
python3 - "$T/psam.json" <<'PY'
import base64, json, sys
p = json.load(open(sys.argv[1])); m = bytearray(base64.b64decode(p["message"]))
m[-10] ^= 1     # in the signature
p["message"] = base64.b64encode(bytes(m)).decode()
json.dump(p, open(sys.argv[1] + ".bad", "w"))
PY
out=$(term --reader "$R2" psam install "$T/psam.json.bad" 2>&1) && rc=0 || rc=$?
check "a psam-keys message with a broken signature is refused" '[ "$rc" -ne 0 ]' || echo "$out"
out=$(term --reader "$R1" psam install "$T/psam.json" 2>&1) && rc=0 || rc=$?
check "another card cannot install the PSAM's keys" '[ "$rc" -ne 0 ]' || echo "$out"
out=$(term --reader "$R2" psam install "$T/psam.json" 2>&1) && rc=0 || rc=$?
check "psam install" '[ "$rc" -eq 0 ] && grep -q "serves terminal $TERM_ID" <<<"$out"' || echo "$out"
out=$(term --reader "$R2" psam init --issuer "$URL" --out "$T/req2.json" 2>&1) && rc=0 || rc=$?
check "an installed PSAM makes no new key" '[ "$rc" -ne 0 ] && [ ! -e "$T/req2.json" ]'
check "psam info --json" '[ "$(term --reader "$R2" --json psam info | python3 -c "import json,sys; d=json.load(sys.stdin); print(d[\"state\"], d[\"terminal\"])")" = "installed $TERM_ID" ]'
out=$(term --reader "$R0" wallet load --amount 1 --psam "$R2" 2>&1) && rc=0 || rc=$?
check "a PSAM does no loads" '[ "$rc" -eq 2 ] && grep -q "loads are remote" <<<"$out"'
out=$(term --reader "$R0" wallet purchase --amount 1 --sam "$T/none.json" 2>&1) && rc=0 || rc=$?
check "a SAM file needs --insecure-master-keys" '[ "$rc" -eq 2 ] && grep -q insecure-master-keys <<<"$out"'

# ---- purchases through the PSAM, settled ----
for a in 12.34 0.66; do
	out=$(buy 0 $a 2>&1) && rc=0 || rc=$?
	check "purchase $a through the PSAM" '[ "$rc" -eq 0 ] && grep -q "verified by the PSAM" <<<"$out"' || echo "$out"
done
check "card 0 holds 87.00" '[ "$(purse_fen 0)" = 8700 ]'
check "two proofs journaled" '[ "$(grep -c tac "$TJ.proofs")" = 2 ]'
check "the PSAM counted two" '[ "$(term --reader "$R2" --json psam info | python3 -c "import json,sys; print(json.load(sys.stdin)[\"counter\"])")" = 2 ]'
out=$(term --reader "$R0" wallet purchase --amount 1 --psam "$R2" --journal "$TJ" --terminal 000000000043 2>&1) && rc=0 || rc=$?
check "the PSAM is its own terminal's" '[ "$rc" -eq 2 ]'
check "nothing settled yet" '[ "$(merchant_fen)" = 0 ]'
# an open purchase in the terminal journal (the terminal died before it
# heard the card): the card's proof, MAC2 checked by the PSAM, settles it
sed -i 's/"state": "done"/"state": "sent"/' "$TJ"
out=$(term --reader "$R0" wallet prove --psam "$R2" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "wallet prove --psam settles an open purchase from the card's proof" '[ "$rc" -eq 0 ] && grep -q "MAC2 verified by the PSAM" <<<"$out"' || echo "$out"
out=$(term --reader "$R0" wallet recover --psam "$R2" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "wallet recover --psam is the same" '[ "$rc" -eq 0 ] && grep -q "MAC2 verified by the PSAM" <<<"$out"' || echo "$out"

out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "wallet settle" '[ "$rc" -eq 0 ]' || echo "$out"
check "settle reports 2 purchases" 'grep -q "settled 2 purchases (1300 fen)" <<<"$out"'
check "the merchant holds the purchases" '[ "$(merchant_fen)" = 1300 ]'
settled "settle"
n=$(ledger_n)
out=$(term wallet settle --issuer "$URL" --psam "$R2" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "settle again (by the PSAM): nothing to send" '[ "$rc" -eq 0 ] && grep -q "settled 0 purchases" <<<"$out"' || echo "$out"
# a crash after the upload, before the journal's mark: the same proofs again
grep -v settled "$TJ.proofs" >"$T/p" && cp "$T/p" "$TJ.proofs"
out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "settle resumes after a lost mark" '[ "$rc" -eq 0 ]' || echo "$out"
check "replayed proofs change nothing" '[ "$(merchant_fen)" = 1300 ] && [ "$(ledger_n)" = "$n" ]'
settled "replay"

# a proof under another offline seq (the TAC does not cover it): the
# same purchase, nothing moves, and the card's real next purchase settles
python3 - "$TJ.proofs" "$T/other.json" <<'PY'
import json, sys
p = [json.loads(l) for l in open(sys.argv[1]) if '"tac"' in l][0]
p["offline_seq"] = 1
json.dump({"proofs": [p]}, open(sys.argv[2], "w"))
PY
code=$(curl -s -o "$T/ans" -w '%{http_code}' -X POST --data-binary @"$T/other.json" "$URL/v1/settlements")
check "a proof under another offline seq settles nothing twice" '[ "$code" = 200 ] && [ "$(merchant_fen)" = 1300 ] && [ "$(ledger_n)" = "$n" ]'
out=$(buy 0 1.00 2>&1) && rc=0 || rc=$?
check "purchase 1.00 (offline seq 2)" '[ "$rc" -eq 0 ]' || echo "$out"
cp "$TJ.proofs" "$T/good"
out=$(buy 0 0.50 2>&1) && rc=0 || rc=$?
check "purchase 0.50" '[ "$rc" -eq 0 ]' || echo "$out"
# the 1.00 proof's amount raised: rejected and set aside, the genuine 0.50
# in the same batch settles
python3 - "$TJ.proofs" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
for i, l in enumerate(lines):
    p = json.loads(l)
    if p.get("amount") == 100:
        p["amount"] = 10000
        lines[i] = json.dumps(p, sort_keys=True, separators=(",", ":"))
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "a forged proof is rejected, the genuine one beside it settles" '[ "$rc" -eq 1 ] && grep -q "is rejected" <<<"$out" && [ "$(merchant_fen)" = 1350 ]' || echo "$out"
check "the rejected proof is marked in the journal" 'grep -q "\"rejected\"" "$TJ.proofs"'
out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "a rejected proof is not sent again" '[ "$rc" -eq 0 ] && grep -q "settled 0 purchases" <<<"$out" && [ "$(merchant_fen)" = 1350 ]' || echo "$out"
cp "$T/good" "$TJ.proofs"
out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "the genuine proof settles" '[ "$rc" -eq 0 ] && [ "$(merchant_fen)" = 1450 ]' || echo "$out"
check "card 0 holds 85.50" '[ "$(purse_fen 0)" = 8550 ]'
settled "end of purchases"

# the card killed at random instants of PSAM purchases: each is done or
# not, the terminal learns which, and settles what was done
for r in 1 2; do
	buy 0 0.5$r >"$T/buy.out" 2>&1 &
	bpid=$!
	sleep "0.$((RANDOM % 3))"
	"$WALLETKEY_SANDBOX/bin/card-kill" 0
	"$WALLETKEY_SANDBOX/bin/card-start" 0
	wait_bounded "$bpid" 120
	[ "$RC" -ne 124 ] || bad "card killed ($r): the purchase did not end"
	term --reader "$R0" wallet prove --psam "$R2" --journal "$TJ" >/dev/null 2>&1 || true
	out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
	check "card killed during a PSAM purchase ($r): settle" '[ "$rc" -eq 0 ]' || echo "$out"
	settled "card killed during a PSAM purchase ($r)"
done
paid=$(merchant_fen)

# ---- a transfer the issuer has not seen, and a purchase it funded ----
issuer_kill
out=$("$WK" wallet transfer --from "$R0" --to "$R1" --amount 20.00 --yes 2>&1) && rc=0 || rc=$?
check "transfer 0 -> 1 while the issuer is down" '[ "$rc" -eq 0 ] && grep -q "not reported yet" <<<"$out"' || echo "$out"
check "its token waits in the holder's state" '[ "$(ls "$WALLETKEY_STATE_DIR"/report-*.json | wc -l)" = 1 ]'
cp "$WALLETKEY_STATE_DIR"/report-*.json "$T/report.json"
issuer_start
out=$(buy 1 5.00 2>&1) && rc=0 || rc=$?
check "card 1 buys with the transferred value" '[ "$rc" -eq 0 ]' || echo "$out"
refused=$(oplog_kind settlement.refused)
out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "settlement before the transfer is reported: 409, the proof waits" '[ "$rc" -eq 1 ] && grep -q "float_short\|waits" <<<"$out" && [ "$(merchant_fen)" = "$paid" ]' || echo "$out"
check "the refusal is logged" '[ "$(oplog_kind settlement.refused)" -gt "$refused" ]'
UNSETTLED=$(unsettled_fen) PER_CARD=0 settled "unreported transfer"
out=$("$WK" --reader "$R1" audit sync --issuer "$URL" 2>&1) && rc=0 || rc=$?
check "card 1's sync reports the transfer" '[ "$rc" -eq 0 ] && [ -z "$(ls "$WALLETKEY_STATE_DIR"/report-*.json 2>/dev/null)" ]' || echo "$out"
check "the floats moved: 0 -> 1" '[ "$(float_of "$C0")" = "$(( $(purse_fen 0) ))" ] && [ "$(float_of "$C1")" = 2000 ]'
out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "then the waiting proof settles" '[ "$rc" -eq 0 ] && [ "$(merchant_fen)" = "$((paid + 500))" ]' || echo "$out"
settled "transfer reported, purchase settled"

# the same token again (the other card's sync, a replay): nothing moves;
# a forged one: refused
n=$(ledger_n)
tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$T/report.json")
code=$(curl -s -o "$T/ans" -w '%{http_code}' -X POST -d "{\"token\":\"$tok\"}" "$URL/v1/transfers")
check "a transfer token reported twice moves nothing" '[ "$code" = 200 ] && [ "$(ledger_n)" = "$n" ]'
bad=$(python3 -c 'import base64,sys; b=bytearray(base64.b64decode(sys.argv[1])); b[-5]^=1; print(base64.b64encode(bytes(b)).decode())' "$tok")
code=$(curl -s -o "$T/ans" -w '%{http_code}' -X POST -d "{\"token\":\"$bad\"}" "$URL/v1/transfers")
check "a forged transfer token is refused" '[ "$code" = 403 ] || [ "$code" = 400 ]; [ "$(ledger_n)" = "$n" ]'
settled "replayed and forged tokens"

# ---- kill -9 of the issuer during settlement ----
for i in 1 2 3; do
	out=$(buy 0 0.1$i 2>&1) || echo "$out"
done
WALLETKEY_FAULT_AT=settle-sent WALLETKEY_FAULT_CMD="kill -9 $ISS_PID" \
	term wallet settle --issuer "$URL" --journal "$TJ" >/dev/null 2>&1 && rc=0 || rc=$?
issuer_kill
check "the issuer killed before the upload: settle fails" '[ "$rc" -ne 0 ]'
issuer_start
UNSETTLED=$(unsettled_fen) PER_CARD=0 settled "issuer killed before a settlement"
WALLETKEY_FAULT_AT=settle-answered term wallet settle --issuer "$URL" --journal "$TJ" >/dev/null 2>&1 && rc=0 || rc=$?
check "the terminal killed after the issuer settled, before its mark" '[ "$rc" -ne 0 ] && [ "$(merchant_fen)" = "$((paid + 536))" ]'
out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "settle again: the same proofs, settled once" '[ "$rc" -eq 0 ] && [ "$(merchant_fen)" = "$((paid + 536))" ]' || echo "$out"
settled "terminal killed during settlement"
# the issuer killed at random instants while a settlement runs
for r in 1 2; do
	buy 0 0.0$r >/dev/null 2>&1 || true
	term wallet settle --issuer "$URL" --journal "$TJ" >/dev/null 2>&1 &
	spid=$!
	sleep "0.0$((RANDOM % 9))"
	issuer_kill
	wait_bounded "$spid" 120
	[ "$RC" -ne 124 ] || bad "issuer killed ($r): the settlement did not end"
	issuer_start
	out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
	check "issuer killed at a random instant ($r): settle again" '[ "$rc" -eq 0 ]' || echo "$out"
	settled "issuer killed during settlement ($r)"
done
check "every purchase settled once" '[ "$(merchant_fen)" = "$((paid + 539))" ]'

# ---- kill -9 of the issuer during transfer reports ----
WALLETKEY_FAULT_AT=report-send WALLETKEY_FAULT_CMD="kill -9 $ISS_PID" \
	"$WK" wallet transfer --from "$R1" --to "$R0" --amount 3.00 --yes >/dev/null 2>&1 && rc=0 || rc=$?
issuer_kill
check "the issuer killed as the transfer is reported: the transfer stands" '[ "$rc" -eq 0 ] && [ "$(ls "$WALLETKEY_STATE_DIR"/report-*.json | wc -l)" = 1 ]'
issuer_start
PER_CARD=0 settled "issuer killed during a report"
out=$("$WK" --reader "$R0" audit sync --issuer "$URL" 2>&1) && rc=0 || rc=$?
check "card 0's sync reports it" '[ "$rc" -eq 0 ] && [ -z "$(ls "$WALLETKEY_STATE_DIR"/report-*.json 2>/dev/null)" ]' || echo "$out"
settled "report after the issuer came back"
WALLETKEY_FAULT_AT=xfer-queued "$WK" wallet transfer --from "$R0" --to "$R1" --amount 2.00 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "the CLI killed with the token queued" '[ "$rc" -ne 0 ]'
out=$("$WK" wallet recover --from "$R0" --to "$R1" 2>&1) && rc=0 || rc=$?
check "recover redeems and reports once" '[ "$rc" -eq 0 ] && [ -z "$(ls "$WALLETKEY_STATE_DIR"/report-*.json 2>/dev/null)" ]' || echo "$out"
settled "CLI killed during a report"
for r in 1 2; do
	"$WK" wallet transfer --from "$R0" --to "$R1" --amount 0.0$r --yes >/dev/null 2>&1 &
	tpid=$!
	sleep "0.$((RANDOM % 5))"
	issuer_kill
	wait_bounded "$tpid" 120
	[ "$RC" -ne 124 ] || bad "issuer killed ($r): the transfer did not end"
	issuer_start
	"$WK" wallet recover --from "$R0" --to "$R1" >/dev/null 2>&1 || true
	out=$("$WK" --reader "$R1" audit sync --issuer "$URL" 2>&1) && rc=0 || rc=$?
	check "issuer killed at a random instant of a transfer ($r): sync" '[ "$rc" -eq 0 ] && [ -z "$(ls "$WALLETKEY_STATE_DIR"/report-*.json 2>/dev/null)" ]' || echo "$out"
	settled "issuer killed during a transfer report ($r)"
done
finish
