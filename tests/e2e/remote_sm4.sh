#!/bin/bash
# end-to-end: the PBOC 3.0 purse with SM4 keys (issue 18; docs/purse.md
# "SM4 keys", docs/issuer.md "SM4 purse keys") through the real
# walletkey-issuer (SQLite). Cards 0 and 1 are holders, card 2 is the
# terminal's PSAM; the terminal keeps its own state directory.
#   - the issuer chooses SM4 for the load, purchase, TAC and maintenance
#     keys; card 0 enrols and gets them (the unload and update keys 3DES);
#   - a remote load to card 0: its SM4 MAC1, MAC2 and TAC;
#   - the PSAM gets both purchase masters; card 0 buys through it (SM4
#     session key) and the terminal settles (the issuer checks the SM4 TAC);
#   - the issuer goes back to 3DES for new cards: card 1 enrols with 3DES
#     keys, loads, buys through the same PSAM, settles; card 0 keeps its
#     SM4 keys and still loads (an enrolment made again with the same key
#     keeps them too: tests/issuer/test_issuer.c test_sm4);
#   - a forged SM4 proof is rejected; card 0's load killed at random
#     instants is settled with the issuer;
# the money check after every step.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 3 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
R0=$(reader 0)
R1=$(reader 1)
R2=$(reader 2)
TERM_ID=000000000042
TJ=$T/terminal/term.json
mkdir -p "$T/terminal"

term() { WALLETKEY_STATE_DIR=$T/terminal "$WK" "$@"; }
merchant_fen() {
	"$ISS" merchants --db "$DB" --json | python3 -c 'import json,sys; print(sum(m["balance"] for m in json.load(sys.stdin)))'
}
card_algs() {
	"$ISS" cards --db "$DB" --json | python3 -c 'import json,sys; print([c["key_algs"] for c in json.load(sys.stdin) if c["card_id"] == sys.argv[1]][0])' "$1"
}
buy() {	# buy SLOT YUAN
	term --reader "$(reader "$1")" wallet purchase --amount "$2" --psam "$R2" --journal "$TJ"
}
# the algorithm id byte of card SLOT's INITIALIZE FOR PURCHASE answer (1 fen
# of its EP; it changes nothing)
purchase_alg() {
	"$WK" --reader "$(reader "$1")" --json apdu 00A4040008F0574B5055525345 \
		805001020B0100000001000000000042 2>/dev/null |
		python3 -c 'import json,sys; r=json.load(sys.stdin)["responses"][-1]; print(r["data"][20:22] if r["sw"] == "9000" else "sw" + r["sw"])'
}
# wallet recover until it works (the card may still be starting)
recover() {
	local n
	for n in $(seq 20); do
		"$WK" --reader "$(reader "$1")" wallet recover >>"$T/recover.log" 2>&1 && return 0
		sleep 0.3
	done
	return 1
}

issuer_setup
settled "start"

# ---- the issuer's choice: SM4 for dlk, dpk, dtk, damk ----
out=$("$ISS" key-algorithms --db "$DB" --sm4 dlk,dpk,dtk,damk 2>&1) && rc=0 || rc=$?
check "key-algorithms --sm4 dlk,dpk,dtk,damk" '[ "$rc" -eq 0 ] && grep -q "^dlk	SM4" <<<"$out"' || echo "$out"
out=$("$WK" --reader "$R0" --json enroll --issuer "$URL" --account $PAN0 2>&1) && rc=0 || rc=$?
check "enroll card 0" '[ "$rc" -eq 0 ]' || echo "$out"
check "  the issuer reports its purse keys" 'grep -q "dlk=sm4,dpk=sm4,dtk=sm4,dulk=3des,duk=3des,damk=sm4" <<<"$out"'
C0=$(card_id 0)
check "  the issuer recorded them (04 SM4, 00 3DES)" '[ "$(card_algs "$C0")" = 04040400000400 ]'
settled "enrol"

# ---- a remote load: SM4 MAC1, MAC2, TAC ----
out=$("$WK" --reader "$R0" wallet load --issuer "$URL" --amount 100.00 --yes 2>&1) && rc=0 || rc=$?
check "remote load 100.00 to the SM4 card" '[ "$rc" -eq 0 ]' || echo "$out"
check "card 0 holds 100.00" '[ "$(purse_fen 0)" = 10000 ]'
check "  the card answers algorithm 04 for its DPK" '[ "$(purchase_alg 0)" = 04 ]'
settled "SM4 load"

# ---- the PSAM: both purchase masters ----
"$ISS" merchant-create --db "$DB" --terminal $TERM_ID --name Shop >/dev/null
out=$(term --reader "$R2" psam init --issuer "$URL" --out "$T/req.json" 2>&1) && rc=0 || rc=$?
check "psam init" '[ "$rc" -eq 0 ]' || echo "$out"
out=$("$ISS" psam-issue --db "$DB" --key-file "$T/issuer.key" --terminal $TERM_ID \
	--request "$T/req.json" --out "$T/psam.json" 2>&1) && rc=0 || rc=$?
check "psam-issue" '[ "$rc" -eq 0 ]' || echo "$out"
out=$(term --reader "$R2" psam install "$T/psam.json" 2>&1) && rc=0 || rc=$?
check "psam install: it serves 3DES and SM4 cards" '[ "$rc" -eq 0 ] && grep -q "3DES and SM4 cards" <<<"$out"' || echo "$out"
check "psam info --json lists both algorithms" '[ "$(term --reader "$R2" --json psam info | python3 -c "import json,sys; print(\",\".join(json.load(sys.stdin)[\"algorithms\"]))")" = "3des,sm4" ]'

# ---- purchases of the SM4 card, settled ----
for a in 12.34 0.66; do
	out=$(buy 0 $a 2>&1) && rc=0 || rc=$?
	check "SM4 purchase $a through the PSAM" '[ "$rc" -eq 0 ] && grep -q "verified by the PSAM" <<<"$out"' || echo "$out"
done
check "card 0 holds 87.00" '[ "$(purse_fen 0)" = 8700 ]'
UNSETTLED=1300 PER_CARD=0 settled "SM4 purchases, not settled yet"
out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "settle the SM4 purchases (SM4 TACs)" '[ "$rc" -eq 0 ] && grep -q "settled 2 purchases (1300 fen)" <<<"$out"' || echo "$out"
check "the merchant holds 13.00" '[ "$(merchant_fen)" = 1300 ]'
settled "SM4 settlement"

# a forged SM4 proof: the amount raised, its TAC no longer verifies
out=$(buy 0 1.00 2>&1) && rc=0 || rc=$?
check "SM4 purchase 1.00" '[ "$rc" -eq 0 ]' || echo "$out"
cp "$TJ.proofs" "$T/good"
python3 - "$TJ.proofs" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
for i, l in enumerate(lines):
    p = json.loads(l)
    if p.get("amount") == 100 and "tac" in p:
        p["amount"] = 9000
        lines[i] = json.dumps(p, sort_keys=True, separators=(",", ":"))
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "a forged SM4 proof is rejected" '[ "$rc" -eq 1 ] && grep -q "is rejected" <<<"$out" && [ "$(merchant_fen)" = 1300 ]' || echo "$out"
UNSETTLED=100 PER_CARD=0 settled "forged SM4 proof"
cp "$T/good" "$TJ.proofs"
out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "the genuine SM4 proof settles" '[ "$rc" -eq 0 ] && [ "$(merchant_fen)" = 1400 ]' || echo "$out"
settled "genuine SM4 proof"

# ---- back to 3DES for new cards: card 1, the same PSAM ----
out=$("$ISS" key-algorithms --db "$DB" --sm4 none 2>&1) && rc=0 || rc=$?
check "key-algorithms --sm4 none" '[ "$rc" -eq 0 ]' || echo "$out"
out=$("$WK" --reader "$R1" --json enroll --issuer "$URL" --account $PAN1 2>&1) && rc=0 || rc=$?
check "enroll card 1: 3DES keys" '[ "$rc" -eq 0 ] && grep -q "dlk=3des,dpk=3des" <<<"$out"' || echo "$out"
C1=$(card_id 1)
check "  recorded 3DES" '[ "$(card_algs "$C1")" = 00000000000000 ]'
out=$("$WK" --reader "$R1" wallet load --issuer "$URL" --amount 50.00 --yes 2>&1) && rc=0 || rc=$?
check "remote load 50.00 to the 3DES card" '[ "$rc" -eq 0 ]' || echo "$out"
check "  the card answers algorithm 00" '[ "$(purchase_alg 1)" = 00 ]'
settled "3DES load"
out=$(buy 1 3.00 2>&1) && rc=0 || rc=$?
check "3DES purchase through the same PSAM" '[ "$rc" -eq 0 ] && grep -q "verified by the PSAM" <<<"$out"' || echo "$out"
out=$(buy 0 2.00 2>&1) && rc=0 || rc=$?
check "and an SM4 one after it" '[ "$rc" -eq 0 ]' || echo "$out"
out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "settle both algorithms in one batch" '[ "$rc" -eq 0 ] && grep -q "settled 2 purchases (500 fen)" <<<"$out"' || echo "$out"
check "the merchant holds 19.00" '[ "$(merchant_fen)" = 1900 ]'
settled "mixed settlement"

# card 0 loads on with its SM4 keys after the choice changed
out=$("$WK" --reader "$R0" wallet load --issuer "$URL" --amount 1.00 --yes 2>&1) && rc=0 || rc=$?
check "the SM4 card loads after the issuer went back to 3DES" '[ "$rc" -eq 0 ]' || echo "$out"
settled "SM4 load after the change"

# ---- an SM4 load killed at random instants: settled with the issuer ----
for r in 1 2 3; do
	"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 0.0$r --yes >"$T/kill.out" 2>&1 &
	lpid=$!
	sleep "0.$((RANDOM % 4))"
	"$WALLETKEY_SANDBOX/bin/card-kill" 0
	"$WALLETKEY_SANDBOX/bin/card-start" 0
	wait_bounded "$lpid" 120
	[ "$RC" -ne 124 ] || bad "card killed ($r): the load did not end"
	if recover 0; then
		ok "SM4 load killed ($r): recovered with the issuer"
	else
		bad "SM4 load killed ($r): recover failed"
		tail -5 "$T/recover.log"
	fi
	settled "SM4 load killed ($r)"
done
finish
