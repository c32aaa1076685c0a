#!/bin/bash
# end-to-end: online payments confirmed on the card (docs/payments.md)
# against the real walletkey-issuer, a merchant with an API key and three
# enrolled cards: paid, declined, asked on a terminal, a wrong PIN, expired,
# the long poll, a changed request and another card's request refused by
# the card, flipped confirmations refused by the issuer, replays paid once,
# missing funds, concurrent payments on several cards, an alias, a revoked
# card; money is conserved and no payment is paid twice or both refused
# and paid after every step. Under tests/issuer/with_pg.sh on PostgreSQL.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 3 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
. "$(dirname "$0")/pay_lib.sh"
R0=$(reader 0)
R1=$(reader 1)
R2=$(reader 2)
MONEY_CARDS="0 1 2"

issuer_setup
third_account
merchant_setup
for i in 0 1 2; do
	pan=$PAN0; [ $i = 1 ] && pan=$PAN1; [ $i = 2 ] && pan=$PAN2
	"$WK" --reader "$(reader $i)" enroll --issuer "$URL" --account $pan >"$T/enrol" 2>&1 ||
		{ cat "$T/enrol"; die "card $i does not enrol"; }
done
ID0=$(card_id 0)
ID1=$(card_id 1)
pay_settled "start"

# the merchant's door wants its key
st=$(curl -s -o /dev/null -w '%{http_code}' -d '{"payer":"'$PAN0'","order_id":"x","amount":1}' "$URL/v1/payments")
check "no API key: 401" '[ "$st" = 401 ]'
st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${KEY%?}x" -d '{"payer":"'$PAN0'","order_id":"x","amount":1}' "$URL/v1/payments")
check "a changed API key: 401" '[ "$st" = 401 ]'
st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" -d '{"payer":"'$PAN0'","order_id":"x","amount":1,"description":"\u001b[2K"}' "$URL/v1/payments")
check "a description with a terminal escape: 400" '[ "$st" = 400 ]'
check "nothing was asked for" '[ "$("$ISS" payments --db "$DB" --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" = 0 ]'

# paid: the merchant's long poll sees it as the card confirms
id=$(pay_create $PAN0 1234)
( pay_get "$id" status 20 >"$T/poll" ) &
poll=$!
before=$("$ISS" accounts --db "$DB" --json)
out=$("$WK" --reader "$R0" confirm --issuer "$URL" --yes 2>&1) && rc=0 || rc=$?
check "confirm --yes: paid" '[ "$rc" -eq 0 ] && grep -q "$id: paid 12.34 CNY" <<<"$out"' || echo "$out"
check "confirm shows the table and the request" 'grep -q "^ID .*PAYEE .*ORDER .*AMOUNT" <<<"$out" && grep -q "payee    Book shop (merchant $SHOP_TERMINAL)" <<<"$out"'
wait_bounded "$poll" 60
check "the merchant's long poll returns paid" '[ "$(cat "$T/poll")" = paid ]'
check "the merchant sees paid by signature" '[ "$(pay_get "$id")" = paid ] && [ "$(pay_get "$id" method)" = signature ]'
check "the payer's account paid 12.34" '"$ISS" accounts --db "$DB" --json | python3 -c "import json,sys; a={x[\"pan\"]: x[\"balance\"] for x in json.load(sys.stdin) if x[\"pan\"]}; assert a[\"$PAN0\"] == $DEPOSIT - 1234, a"'
pay_settled "paid"

# nothing left: the table says so
out=$("$WK" --reader "$R0" confirm --issuer "$URL" --yes 2>&1) && rc=0 || rc=$?
check "nothing waiting" '[ "$rc" -eq 0 ] && grep -q "no payment request is waiting" <<<"$out"'

# the OCRA variant (RFC 6287): the card's 8 digits instead of a signature,
# its key delivered sealed at enrolment
id=$(pay_create $PAN0 150)
out=$("$WK" --reader "$R0" confirm --issuer "$URL" --ocra --yes 2>&1) && rc=0 || rc=$?
check "OCRA: paid" '[ "$rc" -eq 0 ] && grep -q "$id: paid 1.50 CNY" <<<"$out"' || echo "$out"
check "OCRA: the merchant sees it paid by an OCRA response" '[ "$(pay_get "$id" method)" = ocra ]'
id=$(pay_create $PAN0 160)
out=$("$WK" --reader "$R0" confirm --issuer "$URL" --ocra --decline 2>&1) && rc=0 || rc=$?
check "OCRA: declined without the card" '[ "$rc" -eq 0 ] && [ "$(pay_get "$id")" = declined ] && [ "$(pay_get "$id" method)" = relay ]' || echo "$out"
pay_settled "OCRA"

# --json: one event a line
id=$(pay_create $PAN0 100)
out=$("$WK" --reader "$R0" --json confirm --issuer "$URL" --decline 2>&1) && rc=0 || rc=$?
check "confirm --json --decline: declined" '[ "$rc" -eq 0 ] && python3 -c "
import json,sys
ev=[json.loads(l) for l in sys.stdin.read().splitlines() if l.startswith(\"{\")]
names=[e[\"event\"] for e in ev]
assert names[:4] == [\"list\", \"request\", \"signed\", \"answered\"], names
assert ev[0][\"requests\"][0][\"payment_id\"] == \"$id\" and ev[0][\"requests\"][0][\"amount\"] == 100
assert ev[3][\"status\"] == \"declined\", ev[3]
" <<<"$out"' || echo "$out"
check "the merchant sees declined" '[ "$(pay_get "$id")" = declined ] && [ "$(pay_get "$id" error)" = declined ]'
pay_settled "declined"

# asked on a terminal: y pays; no answer leaves it open
id=$(pay_create $PAN0 200)
out=$( (sleep 2; printf 'y\n') | script -qec "'$WK' --reader '$R0' confirm --issuer '$URL' --timeout 20" /dev/null 2>&1 | tr -d '\r') || true
check "asked on the terminal, y: paid" 'grep -q "pay Book shop? \[y/N" <<<"$out" && grep -q "$id: paid 2.00 CNY" <<<"$out"' || echo "$out"
id=$(pay_create $PAN0 300)
out=$( (sleep 6; printf 'y\n') | script -qec "'$WK' --reader '$R0' confirm --issuer '$URL' --timeout 1" /dev/null 2>&1 | tr -d '\r') || true
check "no answer in time: left open" 'grep -q "no answer" <<<"$out" && [ "$(pay_get "$id")" = pending ]' || echo "$out"
pay_settled "asked"

# a wrong PIN costs one try and answers nothing; the right one pays
out=$(WALLETKEY_PIN=999999 "$WK" --reader "$R0" confirm --issuer "$URL" --yes 2>&1) && rc=0 || rc=$?
check "a wrong PIN: nothing signed, left open" 'grep -q "wrong PIN (2 tries left)" <<<"$out" && [ "$(pay_get "$id")" = pending ]' || echo "$out"
out=$("$WK" --reader "$R0" confirm --issuer "$URL" --yes 2>&1) && rc=0 || rc=$?
check "the right PIN pays it" '[ "$rc" -eq 0 ] && grep -q "$id: paid 3.00 CNY" <<<"$out"' || echo "$out"
pay_settled "wrong PIN"

# expired before the holder answered
id=$(pay_create $PAN0 400 2)
sleep 3
out=$("$WK" --reader "$R0" confirm --issuer "$URL" --yes 2>&1) && rc=0 || rc=$?
check "expired: not offered" 'grep -q "no payment request is waiting" <<<"$out"'
check "the merchant sees expired" '[ "$(pay_get "$id")" = expired ]'
pay_settled "expired"

# a relay that changes the request before the card: every flipped byte
# refused by the card, nothing signed
id=$(pay_create $PAN0 500)
out=$("$PAY_ATTACK" request-flips "$R0" "$URL" "$id" 2>&1) && rc=0 || rc=$?
check "every changed request refused by the card" '[ "$rc" -eq 1 ] && grep -q " 0 signed" <<<"$out"' || echo "$out"
# another card's request put to this card
out=$("$PAY_ATTACK" other-card "$R1" "$URL" "$R0" "$id" 2>&1) && rc=0 || rc=$?
check "another card's request refused (6A80)" '[ "$rc" -eq 1 ] && grep -q "SW 6A80" <<<"$out"' || echo "$out"
check "card 1 sees none of card 0's requests" '[ "$("$WK" --reader "$R1" --json confirm --issuer "$URL" --yes | python3 -c "import json,sys; print(len(json.loads(sys.stdin.readline())[\"requests\"]))")" = 0 ]'
st=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/cards/$ID0/payments")
check "card 0's requests without its session: 401" '[ "$st" = 401 ]'
st=$(icurl 1 -s -o /dev/null -w '%{http_code}' "$URL/v1/cards/$ID0/payments")
check "card 0's requests with card 1's session: 403" '[ "$st" = 403 ]'
st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "$URL/v1/cards/$ID0/payments")
check "card 0's requests with the merchant's key: 401" '[ "$st" = 401 ]'
out=$("$WK" --reader "$R0" confirm --issuer "$URL" --yes 2>&1) && rc=0 || rc=$?
check "the true request still pays" '[ "$rc" -eq 0 ] && grep -q "$id: paid 5.00 CNY" <<<"$out"' || echo "$out"
pay_settled "changed requests"

# a relay that changes the card's confirmation: refused by the issuer,
# which closes the payment (or, when it cannot read it, keeps it open for
# the true one)
for byte in 4 90 -1; do
	id=$(pay_create $PAN0 600)
	out=$("$PAY_ATTACK" confirm-flip "$R0" "$URL" "$id" "$byte" 2>&1) && rc=0 || rc=$?
	st=$(pay_get "$id")
	check "confirmation byte $byte flipped: not paid ($st)" '[ "$rc" -eq 1 ] && [ "$st" = failed -o "$st" = pending ]' || echo "$out"
	if [ "$st" = pending ]; then
		out=$("$WK" --reader "$R0" confirm --issuer "$URL" --yes 2>&1) && rc=0 || rc=$?
		check "the card's true answer pays it once" '[ "$rc" -eq 0 ] && [ "$(pay_get "$id")" = paid ]' || echo "$out"
	else
		check "refused: the merchant is told why" 'case "$(pay_get "$id" error)" in bad_signature|field_mismatch) true;; *) false;; esac'
	fi
	pay_settled "confirmation byte $byte"
done

# replays: the card's answer posted again and again, paid once
id=$(pay_create $PAN0 700)
"$PAY_ATTACK" save-request "$R0" "$URL" "$id" "$T/req.bin" || true
"$WK" --reader "$R0" confirm --issuer "$URL" --yes >/dev/null 2>&1
out=$("$PAY_ATTACK" replay "$R0" "$URL" "$id" "$T/req.bin" 2>&1) || true
check "replayed confirmations: told paid, paid once" '[ "$(grep -c "paid" <<<"$out")" = 3 ] && [ "$(pay_get "$id")" = paid ]' || echo "$out"
pay_settled "replay"

# missing funds: refused, nothing moves
id=$(pay_create $PAN1 $((DEPOSIT + 1)))
out=$("$WK" --reader "$R1" confirm --issuer "$URL" --yes 2>&1) && rc=0 || rc=$?
check "missing funds: refused (exit 1)" '[ "$rc" -eq 1 ] && grep -q "refused by the issuer: insufficient_funds" <<<"$out"' || echo "$out"
check "the merchant sees failed, insufficient_funds" '[ "$(pay_get "$id")" = failed ] && [ "$(pay_get "$id" error)" = insufficient_funds ]'
pay_settled "missing funds"

# an alias instead of the PAN
alias=$("$ISS" alias-create --db "$DB" --pan $PAN0 --label "book shop")
id=$(pay_create "$alias" 800)
check "the merchant knows the alias only" '[ "$(pay_get "$id" payer)" = "$alias" ]'
"$WK" --reader "$R0" confirm --issuer "$URL" --yes >/dev/null 2>&1
check "paid through the alias" '[ "$(pay_get "$id")" = paid ]'
pay_settled "alias"

# the card's audit log holds the payments it signed
out=$(WALLETKEY_PIN=123456 "$WK" --reader "$R0" audit export --format json)
check "audit log: the payments and the declined one" 'python3 -c "
import json,sys
d=json.load(sys.stdin)
t=[r[\"type\"] for r in d[\"records\"]]
assert t.count(\"payment\") >= 7 and t.count(\"payment-declined\") == 1, t
" <<<"$out"'
check "audit verify: the chain and signature hold" '"$WK" --reader "$R0" audit verify --card >/dev/null'

# concurrent payments on three cards
ids=""
for i in 0 1 2; do
	pan=$PAN0; [ $i = 1 ] && pan=$PAN1; [ $i = 2 ] && pan=$PAN2
	ids="$ids $(pay_create $pan 111) $(pay_create $pan 222)"
done
pids=""
for i in 0 1 2; do
	"$WK" --reader "$(reader $i)" confirm --issuer "$URL" --yes >"$T/par$i" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do
	wait_bounded "$p" 120
	[ "$RC" -ne 124 ] || bad "a parallel confirm did not end"
done
paid=0
for id in $ids; do [ "$(pay_get "$id")" = paid ] && paid=$((paid + 1)); done
check "six concurrent payments on three cards: all paid" '[ "$paid" = 6 ]' || cat "$T"/par*
pay_settled "concurrent"

# a card revoked with a request open: refused; no new request
id=$(pay_create $PAN1 900)
"$ISS" revoke --db "$DB" --card "$ID1" >/dev/null
out=$("$WK" --reader "$R1" confirm --issuer "$URL" --yes 2>&1) && rc=0 || rc=$?
check "a revoked card: its open payment failed at once (card_revoked)" '[ "$(pay_get "$id")" = failed ] && [ "$(pay_get "$id" error)" = card_revoked ]'
check "a revoked card's relay: refused by the issuer" '[ "$rc" -eq 1 ] && grep -q "card_revoked" <<<"$out"' || echo "$out"
st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" -d '{"payer":"'$PAN1'","order_id":"after-revoke","amount":1}' "$URL/v1/payments")
check "no request for a revoked card's account: 422" '[ "$st" = 422 ]'
pay_settled "revoked"

finish
