#!/bin/bash
# fault test of the remote load: the CLI, the card or the issuer is killed
# with SIGKILL at each protocol step (after the card signed the request,
# after the grant, after the credit, after the card's answer), ROUNDS times
# each; then `walletkey wallet recover` settles the load, and money is
# conserved after every run (docs/remote-load.md).
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
ROUNDS=${WALLETKEY_FAULT_ROUNDS:-3}
RANDOM_RUNS=${WALLETKEY_FAULT_RANDOM_RUNS:-8}
R0=$(reader 0)
R1=$(reader 1)
SB=$WALLETKEY_SANDBOX/bin

issuer_setup
"$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 >/dev/null 2>&1 || die "enroll card 0"
"$WK" --reader "$R1" enroll --issuer "$URL" --account $PAN1 >/dev/null 2>&1 || die "enroll card 1"
settled "enrolled"

# recover until it works (the card or the issuer may still be starting)
recover() {
	local r=$1 n
	for ((n = 0; n < 20; n++)); do
		"$WK" --reader "$r" wallet recover >>"$T/recover.log" 2>&1 && return 0
		sleep 0.3
	done
	return 1
}

run=0
for round in $(seq "$ROUNDS"); do
	for step in requested granted credited answered; do
		for who in cli card issuer; do
			run=$((run + 1))
			i=$((run % 2))
			r=$(reader $i)
			printf -v amount "0.%02d" $((10 + run % 90))
			case $who in
			cli) cmd="" ;;
			card) cmd="$SB/card-kill $i" ;;
			issuer) cmd="kill -9 $ISS_PID" ;;
			esac
			WALLETKEY_FAULT_AT=$step WALLETKEY_FAULT_CMD=$cmd \
				"$WK" --reader "$r" wallet load --issuer "$URL" --amount "$amount" --yes \
				>"$T/load.log" 2>&1 && rc=0 || rc=$?
			case $who in
			card) "$SB/card-start" $i >/dev/null 2>&1 || die "card $i does not restart" ;;
			issuer) issuer_kill; issuer_start ;;
			esac
			if recover "$r"; then
				ok "run $run: $who killed at $step (load exit $rc): recovered"
			else
				bad "run $run: $who killed at $step: recover failed"
				tail -5 "$T/recover.log"
			fi
			settled "run $run"
		done
	done
done
# the card killed at a random instant of a load
for n in $(seq "$RANDOM_RUNS"); do
	run=$((run + 1))
	i=$((run % 2))
	r=$(reader $i)
	printf -v delay '0.%03d' $((RANDOM % 61))	# 0 to 0.06 s
	( sleep "$delay"; "$SB/card-kill" $i ) &
	killer=$!
	"$WK" --reader "$r" wallet load --issuer "$URL" --amount 0.07 --yes \
		>"$T/load.log" 2>&1 && rc=0 || rc=$?
	wait_bounded "$killer" 120
	"$SB/card-start" $i >/dev/null 2>&1 || die "card $i does not restart"
	if recover "$r"; then
		ok "run $run: card killed after ${delay}s (load exit $rc): recovered"
	else
		bad "run $run: card killed after ${delay}s: recover failed"
		tail -5 "$T/recover.log"
	fi
	settled "run $run"
done
check "every load is closed, with completions and reversals" '"$ISS" loads --db "$DB" --json | python3 -c "
import json, sys
l = json.load(sys.stdin)
s = {x[\"status\"] for x in l}
assert s <= {\"complete\", \"reversed\"}, s
assert \"complete\" in s and \"reversed\" in s, s"'
finish
