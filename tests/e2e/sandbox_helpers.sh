#!/bin/bash
# The sandbox's card helpers (walletkey-sandbox(1), HELPERS) under a PID 1
# that never reaps, as meson is in a container: a card that a helper started
# and then killed stays a zombie for ever, and every wait must still end.
#   card-start on a running card is a no-op; card-restart gives a new process
#   and the same card; card-kill of a card whose parent never reaps returns
#   (the zombie is gone for it) and card-start brings the card back;
#   card-kill never kills a process that is not the card (a recycled pid) and
#   gives up, bounded, with a message, while pcscd still shows the card;
#   card-wait gives up, bounded and saying why, while another client holds a
#   transaction on the card; pcscd-restart, then card-wait.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SANDBOX=$HERE/../../tools/walletkey-sandbox

# REAPER=1 (the test sandbox_reaper): the sandbox as it runs by default, a
# child subreaper that reaps the cards it kills. Otherwise the helpers are
# tried without it (WALLETKEY_SANDBOX_REAPER=1 tells the sandbox it has one
# already), where nothing reaps: the waits must end all the same.
REAPER=${REAPER:-0}
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	[ "$REAPER" = 1 ] || export WALLETKEY_SANDBOX_REAPER=1
	# a new PID namespace whose PID 1 waits only for its own child (the
	# sandbox): orphans that die stay zombies, as under meson as PID 1
	exec unshare --fork --pid --mount-proc --kill-child -- \
		python3 -c 'import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))' \
		"$SANDBOX" --cards 1 -- "$0"
fi

FAILS=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
B=$WALLETKEY_SANDBOX/bin
stat_of() { ps -o stat= -p "$1" 2>/dev/null | cut -c1; }
serial() {
	walletkey --json readers | jq -r --arg r "$WALLETKEY_READER_0" '.readers[] | select(.name == $r) | .serial // empty'
}

check "PID 1 here is the non-reaping init" '[ "$(cat /proc/1/comm)" = python3 ]'
s0=$(serial)
p0=$("$B/card-pid" 0)
"$B/card-start" 0
check "card-start on a running card keeps it (same pid)" '[ "$("$B/card-pid" 0)" = "$p0" ]'

"$B/card-restart" 0
p1=$("$B/card-pid" 0)
check "card-restart: a new process, the same card" '[ "$p1" != "$p0" ] && [ "$(serial)" = "$s0" ]'

if [ "$REAPER" = 1 ]; then
	# p1 was started by a helper that has exited: its parent is now the
	# sandbox (its PPID here), the subreaper
	check "the restarted card's parent is the sandbox, not PID 1" \
		'[ "$(ps -o ppid= -p "$p1" | tr -d " ")" = "$PPID" ]'
	rc=0
	"$B/card-kill" 0 || rc=$?
	check "card-kill returns, status 0" '[ "$rc" -eq 0 ]'
	sleep 0.5
	check "the killed card is reaped: no zombie left" '[ -z "$(stat_of "$p1")" ]'
	check "card-running says it is gone" '! "$B/card-running" 0'
	"$B/card-start" 0
	check "card-start brings it back with its serial" '[ "$(serial)" = "$s0" ]'
	[ "$FAILS" -eq 0 ] || { echo "sandbox_reaper: $FAILS failure(s)"; exit 1; }
	exit 0
fi

# p1 was started by a helper that has exited: its parent is now PID 1
check "the restarted card's parent is PID 1" '[ "$(ps -o ppid= -p "$p1" | tr -d " ")" = 1 ]'
start=$(date +%s)
rc=0
"$B/card-kill" 0 || rc=$?
check "card-kill of a card whose parent never reaps returns, status 0" '[ "$rc" -eq 0 ]'
check "that card is left a zombie (the case kill -0 loops on)" '[ "$(stat_of "$p1")" = Z ]'
check "card-running says it is gone" '! "$B/card-running" 0'
check "pcscd shows the reader empty" \
	'! opensc-tool -l 2>/dev/null | grep -F -- "$WALLETKEY_READER_0" | grep -q -E "^[0-9]+ +Yes"'
"$B/card-start" 0
check "card-start brings it back with its serial" '[ "$(serial)" = "$s0" ]'
echo "kill and start through a zombie: $(($(date +%s) - start)) s"

# a recycled pid: the pid file names a process that is not the card
sleep 300 &
other=$!
real=$("$B/card-pid" 0)
cp "$WALLETKEY_SANDBOX/card0.pid" "$WALLETKEY_SANDBOX/card0.pid.real"
echo "$other" >"$WALLETKEY_SANDBOX/card0.pid"
rc=0
err=$(WALLETKEY_SANDBOX_WAIT=2 "$B/card-kill" 0 2>&1) || rc=$?
check "card-kill leaves a process that is not the card alone" 'kill -0 "$other" && [ "$(stat_of "$other")" != Z ]'
check "and gives up after WALLETKEY_SANDBOX_WAIT with a message, status 1" \
	'[ "$rc" -eq 1 ] && grep -q "still shows card 0" <<<"$err"'
mv "$WALLETKEY_SANDBOX/card0.pid.real" "$WALLETKEY_SANDBOX/card0.pid"
kill "$other"
wait "$other" 2>/dev/null || true
check "the card still runs" '"$B/card-running" 0 && [ "$("$B/card-pid" 0)" = "$real" ]'

# another client holds a transaction on the card (here a CLI stopped right
# after its SCardBeginTransaction): pcscd makes every connect wait for it,
# opensc-tool -l too, so the helpers' look at the readers must give up
mkfifo "$WALLETKEY_SANDBOX/trace.fifo"
walletkey --verbose --reader "$WALLETKEY_READER_0" status >/dev/null 2>"$WALLETKEY_SANDBOX/trace.fifo" &
holder=$!
exec 3<"$WALLETKEY_SANDBOX/trace.fifo"
while IFS= read -r -t 60 -u 3 line; do
	case $line in *"SCardBeginTransaction: Command successful"*) break ;; esac
done
kill -STOP "$holder"
start=$SECONDS
rc=0
err=$(WALLETKEY_SANDBOX_WAIT=2 "$B/card-wait" 0 2>&1) || rc=$?
check "card-wait while another client holds a transaction: gives up, bounded, status 1" \
	'[ "$rc" -eq 1 ] && [ $((SECONDS - start)) -lt 60 ]'
check "and says why" 'grep -q "another client holds a transaction" <<<"$err"' || echo "$err"
kill -CONT "$holder"
cat <&3 >/dev/null &
drain=$!
rc=0
for ((n = 0; n < 600; n++)); do
	kill -0 "$holder" 2>/dev/null || break
	sleep 0.1
done
kill -KILL "$holder" 2>/dev/null || true
wait "$holder" || rc=$?
wait "$drain" 2>/dev/null || true
exec 3<&-
check "the client goes on once let go" '[ "$rc" -eq 0 ]'
check "and card-wait sees the card again" '"$B/card-wait" 0'

"$B/pcscd-restart"
check "pcscd-restart, then card-wait: the card is back" '"$B/card-wait" 0 && [ "$(serial)" = "$s0" ]'

[ "$FAILS" -eq 0 ] || { echo "sandbox_helpers: $FAILS failure(s)"; exit 1; }
echo "sandbox_helpers: all passed"
