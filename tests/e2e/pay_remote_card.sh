#!/bin/bash
# end-to-end: the card on a third machine (docs/payments.md). The whole test
# runs in a network namespace of its own (the relay's machine: pcscd with
# vpcd, walletkey confirm, the issuer, the merchant); the card runs in a
# second one (the card's machine) whose only link is a veth pair, and
# connects to the relay's vpcd at 10.77.0.1 over it, never over a loopback
# the relay's side could share. A payment asked for by the merchant is
# confirmed by that card; the card leaves its machine and comes back while
# a watching relay waits. Root (unshare, ip, nsenter), inside the sandbox.
if [ -z "${WALLETKEY_PAY_NETNS:-}" ]; then
	export WALLETKEY_PAY_NETNS=1
	exec unshare --net -- "$0" "$@"
fi
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	# a container without CAP_NET_ADMIN cannot set up the two machines'
	# network: skipped (77) with the reason, not failed (README, "The CI
	# image": --cap-add NET_ADMIN runs it)
	if ! ip link set lo up; then
		echo "pay_remote_card: cannot bring lo up: needs CAP_NET_ADMIN (in a container: --cap-add NET_ADMIN)" >&2
		exit 77
	fi
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 1 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
. "$(dirname "$0")/pay_lib.sh"
SB=$WALLETKEY_SANDBOX/bin
R0=$(reader 0)
PORT0=$WALLETKEY_VPCD_PORT_0
MONEY_CARDS=0
HOLDER=""
CARD=""
remote_stop() {
	[ -n "$CARD" ] && kill "$CARD" 2>/dev/null || true
	[ -n "$CARD" ] && wait "$CARD" 2>/dev/null || true
	CARD=""
}
trap 'remote_stop; [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null; cleanup' EXIT

# the card's machine: a network namespace held by a sleeping process, one
# veth pair between the two machines
unshare --net sleep 900 &
HOLDER=$!
sleep 0.3
in_card_ns() { nsenter --target "$HOLDER" --net -- "$@"; }
ip link add wkrelay type veth peer name wkcard || die "no veth pair"
ip link set wkcard netns "$HOLDER" || die "cannot move the card's end"
ip addr add 10.77.0.1/24 dev wkrelay
ip link set wkrelay up
in_card_ns ip link set lo up
in_card_ns ip addr add 10.77.0.2/24 dev wkcard
in_card_ns ip link set wkcard up

# card 0 moves to its machine: the same store, vpcd at the relay's address
card_remote_start() {
	# (nsenter itself, not a function's subshell: $! is then the card)
	nsenter --target "$HOLDER" --net -- "$BUILD/vcard/walletkey-card" \
		--store "$WALLETKEY_STORE_0" --seal-key "$WALLETKEY_SANDBOX/card0.key" \
		--vpcd "10.77.0.1:$PORT0" >>"$T/card.log" 2>&1 &
	CARD=$!
	# card 0 is now this process: the sandbox's card-wait (which gives up
	# when card 0's process has died) and its teardown follow it
	echo "$CARD" >"$WALLETKEY_SANDBOX/card0.pid"
	"$SB/card-wait" 0 >/dev/null 2>&1 || { cat "$T/card.log"; die "the remote card does not show up"; }
}
"$SB/card-kill" 0 || die "card 0 does not stop"
card_remote_start

check "the card's machine reaches the relay's vpcd over the veth pair" \
	'in_card_ns ss -tnH state established | grep -q "10.77.0.2:[0-9]* *10.77.0.1:$PORT0"'
check "the card's machine has no route to the relay's loopback" \
	'! in_card_ns timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT0" 2>/dev/null'
check "the relay's machine has no card process on it: vpcd's peer is 10.77.0.2" \
	'ss -tnH state established | grep -q ":$PORT0 *10.77.0.2:"'

issuer_setup
merchant_setup
out=$("$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 2>&1) ||
	{ echo "$out"; die "the remote card does not enrol"; }
pay_settled "enrolled over the link"

# the merchant asks, the holder confirms on the card across the link
id=$(pay_create $PAN0 4321)
out=$("$WK" --reader "$R0" confirm --issuer "$URL" --yes 2>&1) && rc=0 || rc=$?
check "the remote card confirms: paid" '[ "$rc" -eq 0 ] && grep -q "$id: paid 43.21 CNY" <<<"$out"' || echo "$out"
check "the merchant sees paid" '[ "$(pay_get "$id")" = paid ]'
pay_settled "paid through the remote card"

# a watching relay: the card's machine goes away and comes back
"$WK" --reader "$R0" confirm --issuer "$URL" --watch --yes >"$T/watch.log" 2>&1 &
watcher=$!
remote_stop
id=$(pay_create $PAN0 1234)
sleep 3
check "the card is away: nothing paid" '[ "$(pay_get "$id")" = pending ]'
card_remote_start
for n in $(seq 10); do [ "$(pay_get "$id" status 20)" = paid ] && break; done
check "the card back on its machine: paid" '[ "$(pay_get "$id")" = paid ]' || cat "$T/watch.log"
check "the relay said the card was away, then back" 'grep -q "the card is away" "$T/watch.log" && grep -q "the card is back" "$T/watch.log"'
kill -TERM "$watcher"
wait_bounded "$watcher" 60
pay_settled "the card came back"
finish
