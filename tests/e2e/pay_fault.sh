#!/bin/bash
# fault test of online payments (docs/payments.md): the relay (walletkey
# confirm), the card or the issuer killed with SIGKILL at each step of a
# confirmation (the card answered, the answer kept on disk, the issuer
# answered), the card killed inside its PAYMENT command after its commit
# and at random instants, the issuer at random instants; then the relay
# again. Every payment ends paid exactly once, none both refused and paid,
# and money is conserved after every run. Last, a relay with --watch
# outlives the issuer and the card going away.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
. "$(dirname "$0")/pay_lib.sh"
ROUNDS=${WALLETKEY_FAULT_ROUNDS:-1}
RANDOM_RUNS=${WALLETKEY_FAULT_RANDOM_RUNS:-2}
SB=$WALLETKEY_SANDBOX/bin

issuer_setup
merchant_setup
"$WK" --reader "$(reader 0)" enroll --issuer "$URL" --account $PAN0 >/dev/null 2>&1 || die "enroll card 0"
"$WK" --reader "$(reader 1)" enroll --issuer "$URL" --account $PAN1 >/dev/null 2>&1 || die "enroll card 1"
pay_settled "enrolled"

# wait_log FILE TEXT: until FILE holds TEXT, at most 20 s (the event a
# step waits for, not a fixed sleep)
wait_log() {
	local n s
	for ((n = 0; n < 200; n++)); do
		s=""
		IFS= read -r -d '' s <"$1" 2>/dev/null || true
		[[ $s == *"$2"* ]] && return 0
		sleep 0.1
	done
	return 1
}

# the relay again until the payment is closed (the card or the issuer may
# still be starting)
settle() {
	local r=$1 id=$2 n
	for n in $(seq 20); do
		"$WK" --reader "$r" confirm --issuer "$URL" --yes >>"$T/settle.log" 2>&1 || true
		[ "$(pay_get "$id")" != pending ] && return 0
		sleep 0.3
	done
	return 1
}

# one run: the payment ends paid, once
closed_paid() { # closed_paid WHAT ID
	local st
	st=$(pay_get "$2")
	check "$1: paid ($st)" '[ "$st" = paid ]'
	check "$1: nothing waits on disk" '[ -z "$(ls "$WALLETKEY_STATE_DIR" | grep "^pay-")" ]'
	pay_settled "$1"
}

run=0
for round in $(seq "$ROUNDS"); do
	for step in pay-signed pay-posting pay-answered; do
		for who in relay card issuer; do
			run=$((run + 1))
			i=$((run % 2))
			r=$(reader $i)
			pan=$PAN0; [ $i = 1 ] && pan=$PAN1
			id=$(pay_create $pan $((100 + run)))
			case $who in
			relay) cmd="" ;;
			card) cmd="$SB/card-kill $i" ;;
			issuer) cmd="kill -9 $ISS_PID" ;;
			esac
			WALLETKEY_FAULT_AT=$step WALLETKEY_FAULT_CMD=$cmd \
				"$WK" --reader "$r" confirm --issuer "$URL" --yes \
				>"$T/confirm.log" 2>&1 && rc=0 || rc=$?
			case $who in
			card) "$SB/card-start" $i >/dev/null 2>&1 || die "card $i does not restart" ;;
			issuer) issuer_kill; issuer_start ;;
			esac
			if settle "$r" "$id"; then
				ok "run $run: $who killed at $step (confirm exit $rc): settled"
			else
				bad "run $run: $who killed at $step: still pending"
				tail -5 "$T/settle.log"
			fi
			closed_paid "run $run" "$id"
		done
	done
done

# the card killed inside PAYMENT, after its commit, before its answer
# leaves: the relay loses the answer; the card gives it again
for i in 0 1; do
	run=$((run + 1))
	r=$(reader $i)
	pan=$PAN0; [ $i = 1 ] && pan=$PAN1
	id=$(pay_create $pan 300)
	"$SB/card-kill" $i
	WALLETKEY_CARD_FAULT=pay-signed "$SB/card-start" $i >/dev/null 2>&1 || die "card $i does not start"
	"$WK" --reader "$r" confirm --issuer "$URL" --yes >"$T/confirm.log" 2>&1 && rc=0 || rc=$?
	check "run $run: the card died answering (confirm exit $rc)" '[ "$rc" -ne 0 ] && [ "$(pay_get "$id")" = pending ]' || cat "$T/confirm.log"
	"$SB/card-kill" $i
	"$SB/card-start" $i >/dev/null 2>&1 || die "card $i does not restart"
	settle "$r" "$id" || bad "run $run: still pending"
	closed_paid "run $run (card killed after its commit)" "$id"
done

# a watching relay outlives the issuer and the card going away
R0=$(reader 0)
"$WK" --reader "$R0" confirm --issuer "$URL" --watch --yes >"$T/watch.log" 2>&1 &
watcher=$!
id=$(pay_create $PAN0 500)
check "watch: paid" '[ "$(pay_get "$id" status 20)" = paid ]' || cat "$T/watch.log"
issuer_kill
wait_log "$T/watch.log" "the issuer is away" || bad "watch: no word of the issuer going away"
issuer_start
id=$(pay_create $PAN0 501)
for n in $(seq 10); do [ "$(pay_get "$id" status 20)" = paid ] && break; done
check "watch: paid after the issuer came back" '[ "$(pay_get "$id")" = paid ]' || cat "$T/watch.log"
check "watch: it said the issuer was away, then back" 'grep -q "the issuer is away" "$T/watch.log" && grep -q "the issuer is back" "$T/watch.log"'
"$SB/card-kill" 0
id=$(pay_create $PAN0 502)
wait_log "$T/watch.log" "the card is away" || bad "watch: no word of the card going away"
"$SB/card-start" 0 >/dev/null 2>&1 || die "card 0 does not restart"
for n in $(seq 10); do [ "$(pay_get "$id" status 20)" = paid ] && break; done
check "watch: paid after the card came back" '[ "$(pay_get "$id")" = paid ]' || cat "$T/watch.log"
check "watch: it said the card was away, then back" 'grep -q "the card is away" "$T/watch.log" && grep -q "the card is back" "$T/watch.log"'
kill -TERM "$watcher"
wait_bounded "$watcher" 60
rc=$RC
check "watch: SIGTERM ends it cleanly" '[ "$rc" -eq 0 ]'
pay_settled "watch"

# the card, then the issuer, killed at a random instant of a relay's run
for n in $(seq "$RANDOM_RUNS"); do
	for who in card issuer; do
		run=$((run + 1))
		i=$((run % 2))
		r=$(reader $i)
		pan=$PAN0; [ $i = 1 ] && pan=$PAN1
		id=$(pay_create $pan 400)
		printf -v delay '0.%03d' $((RANDOM % 501))	# 0 to 0.5 s
		if [ $who = card ]; then
			( sleep "$delay"; "$SB/card-kill" $i ) &
		else
			( sleep "$delay"; kill -9 "$ISS_PID" 2>/dev/null ) &
		fi
		killer=$!
		"$WK" --reader "$r" confirm --issuer "$URL" --yes >"$T/confirm.log" 2>&1 && rc=0 || rc=$?
		wait_bounded "$killer" 120
		if [ $who = card ]; then
			"$SB/card-start" $i >/dev/null 2>&1 || die "card $i does not restart"
		else
			issuer_kill
			issuer_start
		fi
		settle "$r" "$id" || bad "run $run: still pending"
		closed_paid "run $run ($who killed after ${delay}s, confirm exit $rc)" "$id"
	done
done

check "every payment paid once" '"$ISS" payments --db "$DB" --json | python3 -c "
import json, sys
p = json.load(sys.stdin)
assert p and all(x[\"status\"] == \"paid\" for x in p), [(x[\"payment_id\"], x[\"status\"]) for x in p if x[\"status\"] != \"paid\"]"'
finish
