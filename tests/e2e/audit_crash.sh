#!/bin/bash
# end-to-end crash test: AUDIT_CRASH_N (default 300) mixed loads and
# purchases while the card is killed with kill -9 at random moments (about
# one transaction in AUDIT_CRASH_EVERY, default 4). Whatever the CLI saw,
# the card must come back with its audit log and its purse in agreement:
#   the log verifies (chain, checkpoint, signed head);
#   loads in the log == the online counter, purchases == the offline counter;
#   the newest record's balance == the balance; balance == loads - purchases;
#   the newest EF 0018 records are the newest audit records.
. "$(dirname "$0")/purse_lib.sh"
. "$(dirname "$0")/audit_lib.sh"

N=${AUDIT_CRASH_N:-300}
EVERY=${AUDIT_CRASH_EVERY:-4}

audit_in_sandbox "$0" '.pin_tries = 15 | .log_capacity = 100'

T=$1
R=$WALLETKEY_READER_0
export WALLETKEY_PIN=$PIN
wallet_key

# the sandbox's helpers kill and start the card: each waits (bounded) until
# pcscd has seen the card leave or come back, whoever reaps the dead card
card_kill() {
	"$WALLETKEY_SANDBOX/bin/card-kill" 0 || { bad "card-kill: the card did not leave pcscd"; finish; }
}
# starts the card unless it runs (a no-op then)
card_up() {
	"$WALLETKEY_SANDBOX/bin/card-start" 0 >/dev/null || { bad "card-start: the card did not come back"; finish; }
}

"$WK" --reader "$R" wallet load --amount 100000 --sam "$T/sam.json" --insecure-master-keys >/dev/null
kills=0
start=$(date +%s)
for ((i = 1; i <= N; i++)); do
	if ((RANDOM % 3 == 0)); then
		op=load amount=$((RANDOM % 5000 + 1))
	else
		op=purchase amount=$((RANDOM % 2000 + 1))
	fi
	printf -v yuan '%d.%02d' $((amount / 100)) $((amount % 100))
	kill_now=$((RANDOM % EVERY == 0))
	"$WK" --reader "$R" wallet "$op" --amount "$yuan" --sam "$T/sam.json" --insecure-master-keys \
		--recover-wait 10 >/dev/null 2>&1 &
	cli=$!
	if ((kill_now)); then
		printf -v delay '0.0%02d' $((RANDOM % 45))
		sleep "$delay"
		card_kill
		kills=$((kills + 1))
		card_up
	fi
	wait_bounded "$cli" 120
	[ "$RC" -ne 124 ] || bad "transaction $i: the CLI did not end"
	# (the card runs: only the kill above stops it, and card_up brought
	# it back before the wait)
	# an answer the CLI could not settle stays open in the SAM; settle it
	if file_has "$T/sam.json" '"state": "sent"'; then
		"$WK" --reader "$R" wallet prove --sam "$T/sam.json" --insecure-master-keys >/dev/null 2>&1 || true
	fi
done
echo "$N transactions in $(($(date +%s) - start)) s, $kills kills"

run --reader "$R" audit export --format json --out "$T/a.json"
check "export after the crashes" '[ "$RC" -eq 0 ]'
run audit verify "$T/a.json"
check "the log verifies" '[ "$RC" -eq 0 ]' || true
[ "$RC" -eq 0 ] || echo "$OUT"
BAL=$("$WK" --reader "$R" --json wallet balance)
RECS=$("$WK" --reader "$R" --json wallet records)
python3 - "$T/a.json" "$BAL" "$RECS" <<'PY' || bad "the audit log and the purse disagree"
import json, sys
log = json.load(open(sys.argv[1]))["records"]
bal = json.loads(sys.argv[2])["balance_fen"]
ef18 = json.loads(sys.argv[3])["records"]
ok = True
def fail(m):
    global ok
    ok = False
    print("FAIL " + m)
loads = [r for r in log if r["type"] == "load"]
buys = [r for r in log if r["type"] == "purchase"]
total = sum(r["amount_fen"] for r in loads) - sum(r["amount_fen"] for r in buys)
print("log: %d loads, %d purchases; balance %d" % (len(loads), len(buys), bal))
if total != bal:
    fail("loads - purchases in the log = %d, balance %d" % (total, bal))
if log and log[-1]["balance_fen"] != bal:
    fail("newest record's balance %d != balance %d" % (log[-1]["balance_fen"], bal))
run = 0
for r in log:
    run += r["amount_fen"] if r["type"] == "load" else -r["amount_fen"]
    if r["balance_fen"] != run:
        fail("record %d: balance %d, running total %d" % (r["seq"], r["balance_fen"], run))
        break
# the counters: the newest EF 0018 record of each type holds the counter after it
newest = {}
for r in ef18:
    newest.setdefault(r["type"], r["seq"])
if newest.get(2, 0) != len(loads):
    fail("online counter %s != %d loads in the log" % (newest.get(2), len(loads)))
if newest.get(6, 0) != len(buys):
    fail("offline counter %s != %d purchases in the log" % (newest.get(6), len(buys)))
for e, a in zip(ef18, reversed(log)):
    if e["amount_fen"] != a["amount_fen"] or e["seq"] != a["counter"]:
        fail("EF 0018 record %s/%s != audit record %d" % (e["type"], e["seq"], a["seq"]))
        break
sys.exit(0 if ok else 1)
PY
check "the audit log and the purse agree" '[ "$FAILS" -eq 0 ]'
finish
