#!/bin/bash
# end-to-end: the terminal transaction number is never used twice, across
# kill -9 (docs/wallet.md "The terminal counter", docs/security.md "Value").
# The terminal reserves numbers a block at a time; a crash skips the rest
# of the block. Card 0 is an enrolled holder, card 1 the terminal's PSAM,
# the card a card personalised with test keys for a software SAM file.
#   - PSAM: the PSAM card killed (card-kill) at random instants of
#     purchases, restarted, then `wallet prove --psam`;
#   - software SAM file: the terminal process (walletkey wallet purchase)
#     killed with kill -9 at random instants, then `wallet prove --sam`;
# after each round the numbers of the proofs never repeat and rise, the
# next purchase's number is above every number used before, the card's
# balance fell by exactly the proofs' sum, and the issuer settles every
# PSAM proof once with the money check holding.
#   PURSE_COUNTER_ROUNDS (default 4) rounds of each kind
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	build=$(cd "${WALLETKEY_BUILD_DIR:-$here/../../build}" && pwd)
	P=$(mktemp -d)
	trap 'rm -rf "$P"' EXIT
	cat >"$P/mk.json" <<'KEYS'
{"dlk": "11111111111111112222222222222222",
 "dpk": "33333333333333334444444444444444",
 "dtk": "55555555555555556666666666666666",
 "dulk": "77777777777777778888888888888888",
 "duk": "9999999999999999AAAAAAAAAAAAAAAA"}
KEYS
	"$build/tools/walletkey" perso --master-keys "$P/mk.json" \
		--pan 6222020000000000002 --out "$P/card.json" >/dev/null
	"$build/tools/walletkey" wallet sam-init --insecure-master-keys \
		--master-keys "$P/mk.json" --terminal 000000000077 --out "$P/sam.json" >/dev/null
	set +e
	"$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" psam "$P"
	rc=$?
	"$here/../../tools/walletkey-sandbox" --cards 1 \
		--init-args "--perso $P/card.json" -- "$0" sam "$P"
	rc2=$?
	[ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ]
	exit $?
fi
PART=$1
P=$2
. "$(dirname "$0")/remote_lib.sh"
R0=$(reader 0)
[ "$PART" = psam ] && R1=$(reader 1)
TERM_ID=000000000042
ROUNDS=${PURSE_COUNTER_ROUNDS:-4}
TJ=$T/terminal/term.json
mkdir -p "$T/terminal"
term() { WALLETKEY_STATE_DIR=$T/terminal "$WK" "$@"; }
MONEY_CARDS=0

# the terminal numbers of a proof journal, in order, one a line (decimal)
proof_seqs() {
	python3 - "$1" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    if "tac" in j:
        print(int(j["terminal_seq"], 16))
PY
}
proof_fen() {
	python3 - "$1" <<'PY'
import json, sys
seen = {}
for l in open(sys.argv[1]):
    j = json.loads(l)
    if "tac" in j:
        seen[j["terminal_id"] + ":" + j["terminal_seq"]] = j["amount"]
print(sum(seen.values()))
PY
}
grep_q() { grep "$@" >/dev/null; }
# distinct (a proof journaled twice by a recovery counts once) and rising
rising() {
	python3 - "$1" <<'PY'
import sys
v = [int(x) for x in open(sys.argv[1]).read().split()]
d = []
for x in v:
    if d and x == d[-1]:
        continue        # the same proof again (wallet prove after the purchase)
    d.append(x)
sys.exit(0 if all(a < b for a, b in zip(d, d[1:])) else 1)
PY
}
# the highest number any proof carries
max_seq() { proof_seqs "$1" | sort -n | tail -1; }

if [ "$PART" = psam ]; then
issuer_setup
out=$("$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 2>&1) && rc=0 || rc=$?
check "enroll card 0" '[ "$rc" -eq 0 ]' || echo "$out"
out=$("$WK" --reader "$R0" wallet load --issuer "$URL" --amount 200.00 --yes 2>&1) && rc=0 || rc=$?
check "remote load 200.00" '[ "$rc" -eq 0 ]' || echo "$out"
settled "load"
start=$(purse_fen 0)

# ---- the PSAM ----
"$ISS" merchant-create --db "$DB" --terminal $TERM_ID --name Shop >/dev/null
out=$(term --reader "$R1" psam init --issuer "$URL" --out "$T/req.json" 2>&1) && rc=0 || rc=$?
check "psam init" '[ "$rc" -eq 0 ]' || echo "$out"
out=$("$ISS" psam-issue --db "$DB" --key-file "$T/issuer.key" --terminal $TERM_ID \
	--request "$T/req.json" --out "$T/psam.json" 2>&1) && rc=0 || rc=$?
check "psam-issue" '[ "$rc" -eq 0 ]' || echo "$out"
out=$(term --reader "$R1" psam install "$T/psam.json" 2>&1) && rc=0 || rc=$?
check "psam install" '[ "$rc" -eq 0 ]' || echo "$out"
buy() { term --reader "$R0" wallet purchase --amount "$1" --psam "$R1" --journal "$TJ"; }
out=$(buy 0.01 2>&1) && rc=0 || rc=$?
check "a first purchase through the PSAM takes number 1" '[ "$rc" -eq 0 ] && [ "$(max_seq "$TJ.proofs")" = 1 ]'
[ "$rc" -eq 0 ] || echo "$out"

for r in $(seq "$ROUNDS"); do
	before=$(max_seq "$TJ.proofs")
	buy 0.0$((r % 9 + 1)) >"$T/buy.out" 2>&1 &
	bpid=$!
	sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
	"$WALLETKEY_SANDBOX/bin/card-kill" 1 || die "the PSAM did not leave pcscd"
	"$WALLETKEY_SANDBOX/bin/card-start" 1 || die "the PSAM did not come back"
	wait_bounded "$bpid" 120
	[ "$RC" -ne 124 ] || bad "PSAM killed ($r): the purchase did not end"
	term --reader "$R0" wallet prove --psam "$R1" --journal "$TJ" >/dev/null 2>&1 || true
	out=$(buy 0.01 2>&1) && rc=0 || rc=$?
	check "PSAM killed ($r): the next purchase works" '[ "$rc" -eq 0 ]' || echo "$out"
	proof_seqs "$TJ.proofs" >"$T/seqs"
	check "PSAM killed ($r): the numbers never repeat, they rise" 'rising "$T/seqs"' || cat "$T/seqs"
	check "PSAM killed ($r): the restarted PSAM skipped past its reservation" \
		'[ "$(max_seq "$TJ.proofs")" -gt "$before" ] && [ "$(max_seq "$TJ.proofs")" -gt 100 ]'
	check "PSAM killed ($r): every debit has its proof" \
		'[ "$((start - $(purse_fen 0)))" = "$(proof_fen "$TJ.proofs")" ]'
done
out=$(term wallet settle --issuer "$URL" --journal "$TJ" 2>&1) && rc=0 || rc=$?
check "the issuer settles every proof" '[ "$rc" -eq 0 ]' || echo "$out"
settled "PSAM purchases under kill -9 settled"
finish
exit 0
fi

# ---- the software SAM file: the terminal process killed ----
SAM=$P/sam.json
sbuy() { "$WK" --reader "$R0" wallet purchase --amount "$1" --sam "$SAM" --insecure-master-keys; }
out=$("$WK" --reader "$R0" wallet load --amount 100 --sam "$SAM" --insecure-master-keys 2>&1) && rc=0 || rc=$?
check "SAM file: local load 100.00 on the card" '[ "$rc" -eq 0 ]' || echo "$out"
sstart=$(purse_fen 0)
out=$(sbuy 0.01 2>&1) && rc=0 || rc=$?
check "SAM file: the first purchase takes number 1" '[ "$rc" -eq 0 ] && [ "$(max_seq "$SAM.proofs")" = 1 ]' || echo "$out"
check "SAM file: a clean close gives the rest of the block back" \
	'grep_q "\"reserved\": 1," "$SAM" && grep_q "\"counter\": 1," "$SAM"'
for r in $(seq "$ROUNDS"); do
	before=$(max_seq "$SAM.proofs")
	sbuy 0.0$((r % 9 + 1)) >"$T/sbuy.out" 2>&1 &
	bpid=$!
	sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
	kill -9 "$bpid" 2>/dev/null && killed=1 || killed=0
	wait "$bpid" 2>/dev/null || true
	"$WK" --reader "$R0" wallet prove --sam "$SAM" --insecure-master-keys >/dev/null 2>&1 || true
	out=$(sbuy 0.01 2>&1) && rc=0 || rc=$?
	check "SAM file, terminal killed ($r): the next purchase works" '[ "$rc" -eq 0 ]' || echo "$out"
	proof_seqs "$SAM.proofs" >"$T/sseqs"
	check "SAM file, terminal killed ($r): the numbers never repeat, they rise" 'rising "$T/sseqs"' || cat "$T/sseqs"
	check "SAM file, terminal killed ($r): the next number is above every one before" \
		'[ "$(max_seq "$SAM.proofs")" -gt "$before" ]'
	check "SAM file, terminal killed ($r): every debit has its proof" \
		'[ "$((sstart - $(purse_fen 0)))" = "$(proof_fen "$SAM.proofs")" ]'
done
echo "SAM file: highest number after $ROUNDS kills: $(max_seq "$SAM.proofs") (a kill after a reservation skips to the block's end)"
finish
