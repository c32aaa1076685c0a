#!/bin/bash
# end-to-end: semi-anonymous payments through three parties (an identity
# authority, two account managers) and two cards, SQLite or, under
# tests/issuer/with_pg.sh, PostgreSQL: payments both ways; refusals at each
# party; tampered and replayed requests; the privacy checks on the
# managers' databases and logs; the lawful reveal (docs/semi-anonymous.md).
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/anon_lib.sh"
R0=$(reader 0)
R1=$(reader 1)

anon_setup
enrol_cards
books "after enrolment and deposits"
check "accounts are the managers' pseudonyms" '[[ "$ACCT0" == am1-* && "$ACCT1" == am2-* ]]'
"$WK" --reader "$R0" anon enrol --manager "${URL[am1]}" --authority "${URL[identity]}" \
	--code "$CODE0" >/dev/null 2>&1 && rc=0 || rc=$?
check "a second enrolment of card 0 is refused" '[ "$rc" -ne 0 ]'

# the happy path, both ways
pay 0 "$ACCT1" 1234
check "card 0 pays card 1" '[ "$rc" -eq 0 ]' || echo "$out"
TX1=$(echo "$out" | jget '["txid"]')
ALIAS1=$(echo "$out" | jget '["alias"]')
check "the result is committed" '[ "$(echo "$out" | jget "[\"status\"]")" = committed ]'
check "payer balance after" '[ "$(balance_of "$ACCT0")" = $((DEPOSIT - 1234)) ]'
check "payee balance after" '[ "$(balance_of "$ACCT1")" = $((DEPOSIT + 1234)) ]'
books "after a payment"
pay 1 "$ACCT0" 500
check "card 1 pays card 0" '[ "$rc" -eq 0 ]' || echo "$out"
TX2=$(echo "$out" | jget '["txid"]')
pay 0 "$ACCT1" 100
check "card 0 pays card 1 again" '[ "$rc" -eq 0 ]' || echo "$out"
TX3=$(echo "$out" | jget '["txid"]')
ALIAS3=$(echo "$out" | jget '["alias"]')
books "after payments both ways"
check "the card wrote an audit record of the payment" \
	'"$WK" --reader "$R0" --json audit export --type anon-payment 2>/dev/null | grep -c anon-payment | grep -qv "^0$"'
check "nothing is pending on card 0" '[ "$("$WK" --reader "$R0" --json anon info | jget "[\"pending\"]")" = False ]'

# unlinkable to the shop: the payee's record holds aliases only, new each time
hist=$("$WK" --reader "$R1" --json anon history --manager "${URL[am2]}" 2>&1) || true
check "the payee's history lists the payments" 'echo "$hist" | grep -q "$ALIAS1"'
check "the payee sees two different aliases of the same payer" '[ "$ALIAS1" != "$ALIAS3" ] && echo "$hist" | grep -q "$ALIAS3"'
incoming() { python3 -c 'import json,sys; d=json.load(sys.stdin); d=d["payments"] if isinstance(d,dict) else d; print(json.dumps([p for p in d if p["direction"]=="in"]))'; }
check "the payee's incoming history never names the payer's account" '! echo "$hist" | incoming | grep -q "$ACCT0"'
check "the payee's manager holds no payer account in its incoming payments" \
	'! "$ISS" anon-payments --db "${DB[am2]}" --json | incoming | grep -q "$ACCT0"'
check "...which can fail: its payments name the aliases" \
	'"$ISS" anon-payments --db "${DB[am2]}" --json | incoming | grep -q "$ALIAS1"'

# refusals at the payer's manager
"$ISS" anon-account --db "${DB[am1]}" --account "$ACCT0" --state frozen >/dev/null
pay 0 "$ACCT1" 10
check "a frozen payer is refused" '[ "$rc" -ne 0 ] && echo "$out" | grep -q account_frozen' || echo "$out"
check "the refused payment left nothing pending" '[ "$("$WK" --reader "$R0" --json anon info | jget "[\"pending\"]")" = False ]'
"$ISS" anon-account --db "${DB[am1]}" --account "$ACCT0" --state open >/dev/null
pay 0 "$ACCT1" 20001
check "over the payment limit is refused" '[ "$rc" -ne 0 ] && echo "$out" | grep -q limit_exceeded' || echo "$out"
pay 0 "$ACCT1" 19000
check "within the limit is paid" '[ "$rc" -eq 0 ]' || echo "$out"
pay 0 "$ACCT1" 19800
check "over the daily limit is refused" '[ "$rc" -ne 0 ] && echo "$out" | grep -q limit_exceeded' || echo "$out"
books "after the manager's refusals"

# refusals at the authority and the payee's manager
pay 1 "am1-0123456789abcdef" 10
check "an unknown payee is refused" '[ "$rc" -ne 0 ] && echo "$out" | grep -q "unknown payee"' || echo "$out"
"$ISS" anon-account --db "${DB[am2]}" --account "$ACCT1" --state frozen >/dev/null
pay 0 "$ACCT1" 10
check "a frozen payee is refused by its manager" '[ "$rc" -ne 0 ] && echo "$out" | grep -qi "payee"' || echo "$out"
"$ISS" anon-account --db "${DB[am2]}" --account "$ACCT1" --state open >/dev/null
pay 1 "$ACCT0" $((DEPOSIT * 3))
check "more than the balance is refused" '[ "$rc" -ne 0 ]' || echo "$out"
books "after the authority's refusals"
B0=$(balance_of "$ACCT0")

# a tampered and a replayed request
"$WK" --reader "$R0" --json anon pay --manager "${URL[am1]}" --to "$ACCT1" --amount 77 \
	--request-out "$T/req.bin" >/dev/null 2>&1
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-20]^=1; open(sys.argv[2],"wb").write(b)' \
	"$T/req.bin" "$T/req-tampered.bin"
out=$("$WK" --reader "$R0" --json anon submit --manager "${URL[am1]}" --request "$T/req-tampered.bin" 2>&1) && rc=0 || rc=$?
check "a tampered request is refused" '[ "$rc" -ne 0 ] && echo "$out" | grep -q bad_envelope' || echo "$out"
check "...and moved nothing" '[ "$(balance_of "$ACCT0")" = "$B0" ]'
out=$("$WK" --reader "$R0" --json anon submit --manager "${URL[am1]}" --request "$T/req.bin" 2>&1) && rc=0 || rc=$?
check "the genuine request goes through" '[ "$rc" -eq 0 ]' || echo "$out"
out=$("$WK" --reader "$R0" --json anon submit --manager "${URL[am1]}" --request "$T/req.bin" 2>&1) && rc=0 || rc=$?
check "its replay is refused" '[ "$rc" -ne 0 ] && echo "$out" | grep -q replay' || echo "$out"
check "the payment moved 77 once" '[ "$(balance_of "$ACCT0")" = $((B0 - 77)) ]'
out=$("$WK" --reader "$R1" --json anon submit --manager "${URL[am2]}" --request "$T/req.bin" 2>&1) && rc=0 || rc=$?
check "another manager cannot use it" '[ "$rc" -ne 0 ]' || echo "$out"
books "after tampering and replays"
check "no payment pending on either card" '[ "$("$WK" --reader "$R0" --json anon info | jget "[\"pending\"]")" = False ] && [ "$("$WK" --reader "$R1" --json anon info | jget "[\"pending\"]")" = False ]'
WALLETKEY_PIN=999999 "$WK" --reader "$R0" --json anon pay --manager "${URL[am1]}" --to "$ACCT1" --amount 5 >/dev/null 2>&1 && rc=0 || rc=$?
check "a wrong PIN builds no request" '[ "$rc" -ne 0 ] && [ "$("$WK" --reader "$R0" --json anon info | jget "[\"pending\"]")" = False ]'
"$WK" --reader "$R0" --json audit export >/dev/null 2>&1 || true

# privacy: nothing of a person at either manager, in database or log
dump() {
	if [ -n "${WK_PG_URL:-}" ]; then
		"$WK_PG_BINDIR/pg_dump" -h "$WK_PG_HOST" -p "$WK_PG_PORT" -U postgres "wk_$1"
	else
		python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); [print(l) for l in c.iterdump()]' "$T/$1.db"
	fi
}
for m in am1 am2; do
	dump "$m" >"$T/$m.dump"
	check "$m's dump is not empty" '[ -s "$T/$m.dump" ] && grep -q anon_payments "$T/$m.dump"'
	for s in "$NAME0" "$IDNUM0" "$NAME1" "$IDNUM1" "Zhang" "Li Na"; do
		check "$m's database holds no '$s'" '! grep -q "$s" "$T/$m.dump"'
		check "$m's log holds no '$s'" '! grep -q "$s" "$T/$m.log"'
	done
done
dump identity >"$T/identity.dump"
check "the privacy check can fail: the authority's dump holds the name" 'grep -q "$NAME0" "$T/identity.dump"'

# the lawful reveal
openssl genpkey -algorithm ed25519 -out "$T/reg.pem" 2>/dev/null
openssl pkey -in "$T/reg.pem" -pubout -out "$T/reg.pub" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/rogue.pem" 2>/dev/null
"$ISS" regulator-add --db "${DB[identity]}" --pubkey "$T/reg.pub" --name court >/dev/null
"$ISS" operator-add --db "${DB[identity]}" --name alice --password-env OP_ALICE_PW >/dev/null
"$ISS" operator-add --db "${DB[identity]}" --name bob --password-env OP_BOB_PW >/dev/null
order() { # KEY CASE TXID OUT
	printf 'walletkey-reveal-order/1\ncase=%s\ntransaction=%s\nexpires=2099-01-01T00:00:00Z\n' "$2" "$3" >"$T/tbs"
	openssl pkeyutl -sign -inkey "$1" -rawin -in "$T/tbs" -out "$T/sig" 2>/dev/null
	printf '{"format":"walletkey-reveal-order/1","case":"%s","transaction":"%s","expires":"2099-01-01T00:00:00Z","signature":"%s"}\n' \
		"$2" "$3" "$(base64 -w0 "$T/sig")" >"$4"
}
reveal() {
	"$ISS" reveal --db "${DB[identity]}" --key-file "$T/identity.key" --json "$@" 2>&1
}
order "$T/reg.pem" CASE-1 "$TX1" "$T/order1.json"
order "$T/rogue.pem" CASE-2 "$TX1" "$T/order2.json"
out=$(reveal --case CASE-1 --transaction "$TX1" --order "$T/order1.json" --operator alice \
	--password-env OP_ALICE_PW --approver bob --approver-password-env OP_BOB_PW) && rc=0 || rc=$?
check "a valid order with a second approval reveals the payer" '[ "$rc" -eq 0 ] && echo "$out" | grep -q "$IDNUM0"' || echo "$out"
out=$(reveal --case CASE-2 --transaction "$TX1" --order "$T/order2.json" --operator alice \
	--password-env OP_ALICE_PW --approver bob --approver-password-env OP_BOB_PW) && rc=0 || rc=$?
check "an order signed by another key reveals nothing" '[ "$rc" -ne 0 ] && ! echo "$out" | grep -q "$IDNUM0"' || echo "$out"
out=$(reveal --case CASE-1 --transaction "$TX1" --order "$T/order1.json" --operator alice \
	--password-env OP_ALICE_PW) && rc=0 || rc=$?
check "no second approval reveals nothing" '[ "$rc" -ne 0 ] && ! echo "$out" | grep -q "$IDNUM0"' || echo "$out"
out=$(reveal --case CASE-1 --transaction "$TX1" --order "$T/order1.json" --operator alice \
	--password-env OP_ALICE_PW --approver alice --approver-password-env OP_ALICE_PW) && rc=0 || rc=$?
check "the same operator twice reveals nothing" '[ "$rc" -ne 0 ] && ! echo "$out" | grep -q "$IDNUM0"' || echo "$out"
out=$(reveal --case CASE-1 --transaction "$TX2" --order "$T/order1.json" --operator alice \
	--password-env OP_ALICE_PW --approver bob --approver-password-env OP_BOB_PW) && rc=0 || rc=$?
check "an order for another transaction reveals nothing" '[ "$rc" -ne 0 ] && ! echo "$out" | grep -q "$IDNUM1"' || echo "$out"
oplog=$("$ISS" anon-oplog --db "${DB[identity]}" --json)
check "every reveal attempt is logged (1 granted, 4 refused)" \
	'[ "$(echo "$oplog" | grep -c "\"reveal.granted\"")" = 1 ] && [ "$(echo "$oplog" | grep -c "\"reveal.refused\"")" = 4 ]'
books "at the end"
finish
