#!/bin/bash
# end-to-end crash test: PURSE_CRASH_N (default 500) mixed loads and purchases
# through the CLI while the card is killed with kill -9 at random moments
# (about one transaction in PURSE_CRASH_EVERY, default 5) and restarted.
# The CLI recovers a lost answer with GET TRANSACTION PROVE; what it cannot
# settle is settled with 'wallet prove --sam'. Afterwards:
#   balance == initial + confirmed loads - confirmed purchases,
#   the online and offline sequence numbers of confirmed transactions have
#   no gaps and match the card's counters,
#   every record on the card is a confirmed transaction with its amount.
. "$(dirname "$0")/purse_lib.sh"

N=${PURSE_CRASH_N:-500}
EVERY=${PURSE_CRASH_EVERY:-5}

if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT
	write_master_keys "$T/mk.json"
	"$WK" perso --master-keys "$T/mk.json" --pan "$PAN" --log-capacity 100 \
		--pin-tries 15 --ceiling 20000000 --out "$T/perso.json" >/dev/null
	"$WK" wallet sam-init --insecure-master-keys --master-keys "$T/mk.json" --terminal 000000000007 \
		--out "$T/sam.json" >/dev/null
	set +e
	"$SANDBOX" --cards 1 --init-args "--perso $T/perso.json" -- "$0" "$T"
	exit $?
fi

T=$1
R=$WALLETKEY_READER_0
export WALLETKEY_PIN=$PIN
# restarts reuse the store: --perso only belongs to the first start (--init)

LEDGER=$T/ledger	# one line per confirmed transaction: type amount card_seq how
: >"$LEDGER"

# ledger_add JSON-LINE HOW: the ledger line of the transaction confirmed in
# JSON-LINE (compact JSON: its type, amount_fen and card_seq members), and
# how it was confirmed; matched in the shell, as it runs every round
ledger_add() {
	local f v=()
	for f in type amount_fen card_seq; do
		if [[ $1 =~ .*\"$f\":\"?([^,\"}]*) ]]; then
			v+=("${BASH_REMATCH[1]}")
		else
			v+=("")
		fi
	done
	echo "${v[0]} ${v[1]} ${v[2]} $2" >>"$LEDGER"
}

# the sandbox's helpers kill and start the card: each waits (bounded) until
# pcscd has seen the card leave or come back, whoever reaps the dead card
card_kill() {
	"$WALLETKEY_SANDBOX/bin/card-kill" 0 || { bad "card-kill: the card did not leave pcscd"; finish; }
}
# starts the card unless it runs (a no-op then)
card_up() {
	"$WALLETKEY_SANDBOX/bin/card-start" 0 >/dev/null || { bad "card-start: the card did not come back"; finish; }
}

"$WK" --reader "$R" --json wallet load --amount 100000 --sam "$T/sam.json" --insecure-master-keys >"$T/out"
line=$(cat "$T/out")
ledger_add "$line" cli

kills=0 lost=0 recovered=0 settled=0 refused=0
start=$(date +%s)
for ((i = 1; i <= N; i++)); do
	if ((RANDOM % 3 == 0)); then
		op=load amount=$((RANDOM % 5000 + 1))
	else
		op=purchase amount=$((RANDOM % 2000 + 1))
	fi
	printf -v yuan '%d.%02d' $((amount / 100)) $((amount % 100))
	kill_now=$((RANDOM % EVERY == 0))
	"$WK" --reader "$R" --json wallet "$op" --amount "$yuan" --sam "$T/sam.json" --insecure-master-keys \
		--recover-wait 30 >"$T/out" 2>"$T/err" &
	cli=$!
	if ((kill_now)); then
		# somewhere inside the transaction (it takes 20-40 ms)
		printf -v delay '0.0%02d' $((RANDOM % 45))
		sleep "$delay"
		card_kill
		kills=$((kills + 1))
		card_up
	fi
	wait_bounded "$cli" 180
	rc=$RC
	[ "$rc" -ne 124 ] || bad "transaction $i: the CLI did not end"
	last_line_without "$T/out" '"error"'
	line=$LINE
	file_has "$T/err" "was lost" && lost=$((lost + 1))
	if [ "$rc" -eq 0 ]; then
		how=cli
		file_has "$T/err" "lost" && how=prove-by-cli && recovered=$((recovered + 1))
		ledger_add "$line" "$how"
		continue
	fi
	# not confirmed by the CLI: is the SAM's last transaction still open?
	card_up
	if file_has "$T/sam.json" '"state": "sent"'; then
		set +e
		"$WK" --reader "$R" --json wallet prove --sam "$T/sam.json" --insecure-master-keys >"$T/out" 2>"$T/err"
		rc=$?
		set -e
		settled=$((settled + 1))
		last_line_without "$T/out" '"error"'
		line=$LINE
		if [ "$rc" -eq 0 ]; then
			ledger_add "$line" prove
		elif file_has "$T/sam.json" '"state": "sent"'; then
			bad "transaction $i could not be settled: $(cat "$T/err")"
		fi
	else
		refused=$((refused + 1))
	fi
done
card_up
echo "$N transactions in $(($(date +%s) - start)) s: $kills kills; $lost answers lost after" \
	"DEBIT/CREDIT, $recovered of them proved done by the CLI; $settled settled by" \
	"'wallet prove'; $refused not done"

BAL=$("$WK" --reader "$R" --json wallet balance)
RECS=$("$WK" --reader "$R" --json wallet records)
python3 - "$LEDGER" "$BAL" "$RECS" <<'PY' || bad "ledger and card disagree"
import json, sys
ledger = [l.split() for l in open(sys.argv[1]) if l.strip()]
bal = json.loads(sys.argv[2])["balance_fen"]
recs = json.loads(sys.argv[3])["records"]
ok = True
def fail(msg):
    global ok
    ok = False
    print("FAIL " + msg)
loads = sorted(int(s) for t, a, s, h in ledger if t == "2")
buys = sorted(int(s) for t, a, s, h in ledger if t == "6")
want = sum(int(a) for t, a, s, h in ledger if t == "2") - \
    sum(int(a) for t, a, s, h in ledger if t == "6")
print("confirmed: %d loads, %d purchases (%d by prove); balance %d, expected %d"
      % (len(loads), len(buys), sum(1 for l in ledger if l[3] != "cli"), bal, want))
if bal != want:
    fail("balance %d != initial + loads - purchases = %d" % (bal, want))
if loads != list(range(len(loads))):
    fail("online seq numbers have gaps or repeats")
if buys != list(range(len(buys))):
    fail("offline seq numbers have gaps or repeats")
by = {(t, int(s) + 1): int(a) for t, a, s, h in ledger}
if len(recs) != min(100, len(ledger)):
    fail("%d records on the card, expected %d" % (len(recs), min(100, len(ledger))))
for r in recs:
    k = (str(r["type"]), r["seq"])
    if k not in by:
        fail("record %s is no confirmed transaction" % (k,))
    elif by[k] != r["amount_fen"]:
        fail("record %s amount %d != %d" % (k, r["amount_fen"], by[k]))
newest = {}
for r in recs:
    newest.setdefault(r["type"], r["seq"])
if loads and newest.get(2) not in (None, len(loads)):
    fail("newest load record seq %s != %d loads" % (newest.get(2), len(loads)))
if buys and newest.get(6) not in (None, len(buys)):
    fail("newest purchase record seq %s != %d purchases" % (newest.get(6), len(buys)))
sys.exit(0 if ok else 1)
PY
check "balance, sequence numbers and records agree with the confirmed transactions" '[ "$FAILS" -eq 0 ]'
finish
