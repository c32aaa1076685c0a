#!/bin/bash
# bench/confirm: online payments confirmed on the card, end to end through
# the real parts (docs/payments.md): a merchant (curl), the issuer (SQLite),
# walletkey confirm and a card behind pcscd + vpcd, in the sandbox.
#   confirmations/s: one relay run answers N open requests (PIN, card
#     signature, audit record, post), ROUNDS times, median;
#   latency: a watching relay; from the merchant's POST to its long poll
#     seeing paid, median and p90 of M payments.
# Then the issuer alone (pay_bench): payments/s with 1, 8 and 64 merchants
# next to loads/s. Prints figures; never fails on time.
# usage: confirm.sh [N] [ROUNDS] [M]
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 1 -- "$0" "$@"
fi
. "$(dirname "$0")/../../tests/e2e/remote_lib.sh"
. "$(dirname "$0")/../../tests/e2e/pay_lib.sh"
N=${1:-20}
ROUNDS=${2:-3}
M=${3:-10}
R0=$(reader 0)
MONEY_CARDS=0

issuer_setup
merchant_setup
"$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 >/dev/null 2>&1 || die "enroll"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

rates=""
for r in $(seq "$ROUNDS"); do
	for i in $(seq "$N"); do pay_create $PAN0 1 >/dev/null; done
	t0=$(now)
	"$WK" --reader "$R0" confirm --issuer "$URL" --yes >"$T/run.log" 2>&1 ||
		{ cat "$T/run.log"; die "confirm failed"; }
	t1=$(now)
	paid=$(grep -c ": paid " "$T/run.log")
	[ "$paid" = "$N" ] || die "round $r: $paid of $N paid"
	rates="$rates $(awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", n / (b - a) }')"
done
rate=$(tr ' ' '\n' <<<"$rates" | grep . | median)

"$WK" --reader "$R0" confirm --issuer "$URL" --watch --yes >"$T/watch.log" 2>&1 &
watcher=$!
lat=""
for i in $(seq "$M"); do
	t0=$(now)
	id=$(pay_create $PAN0 1)
	[ "$(pay_get "$id" status 20)" = paid ] || die "payment $i not paid"
	t1=$(now)
	lat="$lat $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')"
done
kill -TERM "$watcher"
wait "$watcher" || true
p50=$(tr ' ' '\n' <<<"$lat" | grep . | median)
p90=$(tr ' ' '\n' <<<"$lat" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int(NR*0.9+0.5)]}')

echo "bench/confirm: end to end (walletkey confirm, PC/SC, vpcd, card, issuer on SQLite)"
printf "  confirmations per second, %d per relay run, median of %d: %s\n" "$N" "$ROUNDS" "$rate"
printf "  merchant's POST to its long poll seeing paid, watching relay, %d payments: median %s ms, p90 %s ms\n" "$M" "$p50" "$p90"
check "money conserved" 'conserved'
check "payments sound" 'payments_sound'
if [ -x "$BUILD/bench/confirm/pay_bench" ]; then
	echo
	"$BUILD/bench/confirm/pay_bench" sqlite
fi
finish
