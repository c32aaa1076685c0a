#!/bin/bash
# end-to-end: kill -9 of the payer's card (the sandbox's card-kill) in the
# middle of a semi-anonymous payment, at each step where it can happen:
#   - right after VERIFY (the CLI's anon-pin step): nothing was built;
#   - after PAY, before the manager saw the request (--request-out): the
#     card keeps the payment pending; recover voids it, and the request
#     sent afterwards can never commit;
#   - after PAY, while the parties commit it (anon-request): the card is
#     away when the result comes back; recover settles it, the card writes
#     its audit record then;
#   - the same with the host gone as well (the CLI killed there);
#   - after the card took the result (anon-sent): nothing to recover;
#   - at random instants of whole payments (the card's own commits of PAY
#     and RESULT included), ANON_CARD_CRASH_N times (default 8).
# After each: the card comes back, `walletkey anon recover` settles what is
# pending, and the payer's committed payments at the authority are exactly
# the card's anon-payment audit records, no value was created or lost, and
# the authority's ledger sums to zero (docs/semi-anonymous.md "Crashes").
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/anon_lib.sh"
R0=$(reader 0)
SB=$WALLETKEY_SANDBOX/bin
N=${ANON_CARD_CRASH_N:-8}

anon_setup
enrol_cards
books "start"

card_kill() { "$SB/card-kill" 0 || die "card 0 did not leave pcscd"; }
card_up() { "$SB/card-start" 0 >/dev/null || die "card 0 did not come back"; }
pending() { "$WK" --reader "$R0" --json anon info | jget '["pending"]'; }
# settles the card's pending payment; a card just restarted may answer its
# first connection with a PC/SC error (the dead client's transaction not yet
# cleaned up by pcscd): a few bounded tries, each failure in the log
recover() {
	for _ in 1 2 3 4 5; do
		out=$("$WK" --reader "$R0" --json anon recover --manager "${URL[am1]}" 2>&1) && rc=0 || rc=$?
		[ "$rc" -eq 0 ] && break
		echo "     recover: $out"
		sleep 0.5
	done
	st=$(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("status", "none") if d.get("pending", True) else "none")' 2>/dev/null || echo "?")
}
# check, and the last output when it fails
checko() { if eval "$2"; then ok "$1"; else bad "$1"; echo "     $out"; fi; }

# the payer's committed payments at the authority, "count sum"
authority_paid() {
	"$ISS" anon-transfers --db "${DB[identity]}" --json | python3 -c '
import json, sys
t = [x for x in json.load(sys.stdin) if x["payer"] == sys.argv[1] and x["status"] == "committed"]
print(len(t), sum(x["amount"] for x in t))' "$ACCT0"
}
# the card's anon-payment records, "count sum"
card_paid() {
	"$WK" --reader "$R0" --json audit export --type anon-payment 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)["records"]
print(len(r), sum(abs(x["amount_fen"]) for x in r))'
}

# everything agrees after STEP: nothing pending anywhere, the card's records
# are the authority's committed payments, the balances are the deposits
# moved by exactly those, the books balance
agree() {
	local step=$1 a c
	check "$step: nothing pending on the card" '[ "$(pending)" = False ]'
	"$ISS" anon-reconcile --db "${DB[am1]}" --key-file "$T/am1.key" >/dev/null 2>&1 || true
	"$ISS" anon-reconcile --db "${DB[am2]}" --key-file "$T/am2.key" >/dev/null 2>&1 || true
	check "$step: nothing pending at the managers" \
		'! "$ISS" anon-payments --db "${DB[am1]}" --json | grep -q "\"pending\"" && ! "$ISS" anon-payments --db "${DB[am2]}" --json | grep -q "\"pending\""'
	a=$(authority_paid)
	c=$(card_paid)
	check "$step: the card's records are the committed payments ($a / $c)" '[ "$a" = "$c" ]'
	check "$step: the payer holds the deposit less what it paid" \
		'[ "$(balance_of "$ACCT0")" = $((DEPOSIT - ${a#* })) ]'
	check "$step: the payee holds the deposit and what it was paid" \
		'[ "$(balance_of "$ACCT1")" = $((DEPOSIT + ${a#* })) ]'
	books "after $step"
}

paid_before() { read -r PAID_N PAID_SUM <<<"$(authority_paid)"; }
paid_now() { read -r NOW_N NOW_SUM <<<"$(authority_paid)"; }

# 1. killed right after VERIFY: the card built nothing
paid_before
out=$(WALLETKEY_FAULT_AT=anon-pin WALLETKEY_FAULT_CMD="$SB/card-kill 0" \
	"$WK" --reader "$R0" --json anon pay --manager "${URL[am1]}" --to "$ACCT1" --amount 101 2>&1) && rc=0 || rc=$?
checko "killed after VERIFY: the payment fails" '[ "$rc" -ne 0 ]'
card_up
check "killed after VERIFY: nothing pending" '[ "$(pending)" = False ]'
check "killed after VERIFY: the counter was not spent" \
	'[ "$("$WK" --reader "$R0" --json anon info | jget "[\"counter\"]")" = 0 ]'
paid_now
check "killed after VERIFY: nothing paid" '[ "$NOW_N" = "$PAID_N" ]'
agree "killed after VERIFY"

# 2. killed after PAY, before the request left the host: pending on the
# card; recovered first (void), the request sent later cannot commit
out=$("$WK" --reader "$R0" --json anon pay --manager "${URL[am1]}" --to "$ACCT1" --amount 102 \
	--request-out "$T/req-void.bin" 2>&1) && rc=0 || rc=$?
checko "a request built and kept" '[ "$rc" -eq 0 ]'
card_kill
card_up
check "the card came back with the payment pending" '[ "$(pending)" = True ]'
recover
checko "recovered: the payment is void" '[ "$rc" -eq 0 ] && [ "$st" = void ]'
printf '{"envelope":"%s"}' "$(base64 -w0 "$T/req-void.bin")" >"$T/req-void.json"
code=$(curl -sS -o "$T/late.json" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary "@$T/req-void.json" "${URL[am1]}/v1/anon/payments")
out=$(cat "$T/late.json"); checko "the voided request sent late is refused (409 payment_void)" \
	'[ "$code" = 409 ] && grep -q payment_void "$T/late.json"'
agree "killed before the request left"

# 3. killed after PAY, the request committed while the card was away (sent
# by a host that has no card): recover settles it and the card records it
paid_before
out=$("$WK" --reader "$R0" --json anon pay --manager "${URL[am1]}" --to "$ACCT1" --amount 103 \
	--request-out "$T/req-away.bin" 2>&1) && rc=0 || rc=$?
card_kill
printf '{"envelope":"%s"}' "$(base64 -w0 "$T/req-away.bin")" >"$T/req-away.json"
code=$(curl -sS -o "$T/away.json" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary "@$T/req-away.json" "${URL[am1]}/v1/anon/payments")
out=$(cat "$T/away.json"); checko "the request commits while the card is away" '[ "$code" = 200 ]'
card_up
check "the card came back with the payment pending" '[ "$(pending)" = True ]'
recover
checko "recovered: committed" '[ "$rc" -eq 0 ] && [ "$st" = committed ]'
paid_now
check "paid once" '[ "$NOW_N" = $((PAID_N + 1)) ] && [ "$NOW_SUM" = $((PAID_SUM + 103)) ]'
agree "committed while the card was away"

# 4. killed by the host's own CLI after PAY (anon-request): the parties
# commit, the result finds no card
paid_before
out=$(WALLETKEY_FAULT_AT=anon-request WALLETKEY_FAULT_CMD="$SB/card-kill 0" \
	"$WK" --reader "$R0" --json anon pay --manager "${URL[am1]}" --to "$ACCT1" --amount 104 2>&1) && rc=0 || rc=$?
checko "killed while the parties commit: the CLI says it failed" '[ "$rc" -ne 0 ]'
card_up
check "the card came back with the payment pending" '[ "$(pending)" = True ]'
recover
checko "recovered: committed" '[ "$rc" -eq 0 ] && [ "$st" = committed ]'
paid_now
check "paid once" '[ "$NOW_N" = $((PAID_N + 1)) ] && [ "$NOW_SUM" = $((PAID_SUM + 104)) ]'
agree "killed while the parties commit"

# 5. the card and the host both gone after PAY: the request never left;
# recover voids it
paid_before
WALLETKEY_FAULT_AT=anon-request "$WK" --reader "$R0" --json anon pay --manager "${URL[am1]}" \
	--to "$ACCT1" --amount 105 >/dev/null 2>&1 && rc=0 || rc=$?
check "the host died after PAY" '[ "$rc" -ne 0 ]'
card_kill
card_up
recover
checko "recovered: void" '[ "$rc" -eq 0 ] && [ "$st" = void ]'
paid_now
check "nothing paid" '[ "$NOW_N" = "$PAID_N" ]'
agree "card and host gone after PAY"

# 6. killed after the card took the result: settled already
paid_before
out=$(WALLETKEY_FAULT_AT=anon-sent WALLETKEY_FAULT_CMD="$SB/card-kill 0" \
	"$WK" --reader "$R0" --json anon pay --manager "${URL[am1]}" --to "$ACCT1" --amount 106 2>&1) && rc=0 || rc=$?
card_up
recover
checko "killed after the result: nothing to recover" '[ "$rc" -eq 0 ] && [ "$st" = none ]'
paid_now
check "paid once" '[ "$NOW_N" = $((PAID_N + 1)) ]'
agree "killed after the result"

# 7. at random instants of whole payments
declare -A SEEN
for ((i = 1; i <= N; i++)); do
	paid_before
	amount=$((RANDOM % 200 + 1))
	"$WK" --reader "$R0" --json anon pay --manager "${URL[am1]}" --to "$ACCT1" \
		--amount "$amount" >"$T/rand.out" 2>&1 &
	cli=$!
	sleep "0.$(printf '%03d' $((RANDOM % 900)))"
	card_kill
	card_up
	wait_bounded "$cli" 180
	crc=$RC
	[ "$crc" -ne 124 ] || bad "random kill $i: the CLI did not end"
	was=$(pending)
	recover
	paid_now
	# where the kill fell, as the card and the authority tell it
	if [ "$crc" -eq 0 ]; then
		where="after the payment"
	elif [ "$was" = False ] && [ "$NOW_N" = "$PAID_N" ]; then
		where="before PAY"
	elif [ "$was" = True ] && [ "$st" = committed ]; then
		where="after PAY, committed"
	elif [ "$was" = True ]; then
		where="after PAY, $st"
	else
		where="after RESULT"
	fi
	SEEN[$where]=$((${SEEN[$where]:-0} + 1))
	checko "random kill $i ($where): recovered" '[ "$rc" -eq 0 ]'
	check "random kill $i: paid at most once" \
		'[ "$NOW_N" = "$PAID_N" ] && [ "$NOW_SUM" = "$PAID_SUM" ] || { [ "$NOW_N" = $((PAID_N + 1)) ] && [ "$NOW_SUM" = $((PAID_SUM + amount)) ]; }'
	agree "random kill $i"
done
for w in "${!SEEN[@]}"; do echo "     random kills $w: ${SEEN[$w]}"; done

# the card still pays
pay 0 "$ACCT1" 1
checko "the card pays after all that" '[ "$rc" -eq 0 ]'
agree "the last payment"
finish
