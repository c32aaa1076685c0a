#!/bin/bash
# end-to-end: kill -9 of each party in the middle of a payment (the fault
# points of walletkey-issuer, WALLETKEY_ISSUER_FAULT): the identity
# authority before and after its commit, the payer's manager after it
# forwarded, the payee's manager during its check. After each, the party
# comes back, the card's pending payment is settled (walletkey anon
# recover), and no value was created or lost (docs/semi-anonymous.md).
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/anon_lib.sh"
R0=$(reader 0)

anon_setup
enrol_cards
books "start"

# crash PARTY POINT EXPECT: EXPECT is committed or void/refused
crash() {
	local party=$1 point=$2 expect=$3 b0 b1 txid st
	b0=$(balance_of "$ACCT0")
	b1=$(balance_of "$ACCT1")
	party_kill "$party"
	FAULT=$point party_start "$party"
	pay 0 "$ACCT1" 300
	party_wait_dead "$party" || bad "$party did not die at $point"
	check "$point: $party was killed" '[ -z "${PID[$party]}" ]'
	party_start "$party"
	books "after $party died at $point"
	out=$("$WK" --reader "$R0" --json anon recover --manager "${URL[am1]}" 2>&1) && rc=0 || rc=$?
	st=$(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("status", "none") if d.get("pending", True) else "none")' 2>/dev/null || echo "?")
	case $expect in
	committed)
		check "$point: the payment is committed" '[ "$st" = committed ]' || echo "$out"
		check "$point: payer paid once" '[ "$(balance_of "$ACCT0")" = $((b0 - 300)) ]'
		check "$point: payee paid once" '[ "$(balance_of "$ACCT1")" = $((b1 + 300)) ]'
		;;
	*)
		check "$point: the payment did not happen ($st)" '[ "$st" = void ] || [ "$st" = refused ] || [ "$st" = none ]' || echo "$out"
		check "$point: payer kept its value" '[ "$(balance_of "$ACCT0")" = "$b0" ]'
		check "$point: payee got nothing" '[ "$(balance_of "$ACCT1")" = "$b1" ]'
		;;
	esac
	check "$point: nothing pending on the card" \
		'[ "$("$WK" --reader "$R0" --json anon info | jget "[\"pending\"]")" = False ]'
	"$ISS" anon-reconcile --db "${DB[am1]}" --key-file "$T/am1.key" >/dev/null 2>&1 || true
	"$ISS" anon-reconcile --db "${DB[am2]}" --key-file "$T/am2.key" >/dev/null 2>&1 || true
	check "$point: no payment left pending at the managers" \
		'! "$ISS" anon-payments --db "${DB[am1]}" --json | grep -q "\"pending\"" && ! "$ISS" anon-payments --db "${DB[am2]}" --json | grep -q "\"pending\""'
	books "after $point is settled"
	pay 0 "$ACCT1" 1
	check "$point: the next payment goes through" '[ "$rc" -eq 0 ]' || echo "$out"
	books "after the next payment"
}

crash identity anon.identity.before_commit void
crash identity anon.identity.after_commit committed
crash am1 anon.account.after_forward committed
crash am2 anon.account.check_payee refused
finish
