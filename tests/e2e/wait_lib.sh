# bounded waits on background processes (sourced by lib.sh, purse_lib.sh,
# remote_lib.sh and anon_lib.sh): a test never waits for ever on a process
# it started; one that hangs prints what it and pcscd are doing, instead of
# running into meson's timeout with nothing said.

# what a process that did not end is doing, for a test's log: its threads'
# state, kernel wait channel and system call, then the same for the
# sandbox's pcscd and the tails of pcscd's and card 0's logs
proc_report() {
	local pid t
	for pid in "$1" "$(cat "${WALLETKEY_SANDBOX:-/nonexistent}/pcscd.pid" 2>/dev/null)"; do
		[ -n "$pid" ] && [ -d "/proc/$pid" ] || continue
		echo "     process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-200)"
		for t in /proc/"$pid"/task/*; do
			echo "       thread ${t##*/}: state $(awk '/^State:/ { print $2 }' "$t/status" 2>/dev/null)," \
				"wchan $(cat "$t/wchan" 2>/dev/null), syscall $(cut -d' ' -f1 "$t/syscall" 2>/dev/null)"
		done
	done
	[ -n "${WALLETKEY_SANDBOX:-}" ] || return 0
	for t in pcscd.log card0.log; do
		[ -f "$WALLETKEY_SANDBOX/$t" ] || continue
		echo "     last lines of the sandbox's $t:"
		tail -n 8 "$WALLETKEY_SANDBOX/$t" | sed 's/^/       /'
	done
}

# wait_bounded PID SECS [REPORT_PID]: waits (at most SECS seconds) for
# background process PID to end and sets RC to its status; one that does
# not end is reported (proc_report of REPORT_PID if given, the process that
# keeps it going, else of PID), killed and given RC 124. It looks every
# 20 ms, and sleeps in between with read -t on a pipe nobody writes to (no
# sleep process a look: the crash loops call it hundreds of times). (Not
# bash's wait -n: in bash 5.2 a wait after it can end the shell with
# "wait_for: No record of process".)
wait_bounded() {
	local pid=$1 until=$((SECONDS + $2)) fd e=""
	[[ $- == *e* ]] && e=e
	set +e
	exec {fd}<> <(:)
	while [ "$SECONDS" -lt "$until" ] && kill -0 "$pid" 2>/dev/null; do
		read -r -t 0.02 -u "$fd"
	done
	exec {fd}<&-
	if kill -0 "$pid" 2>/dev/null; then
		echo "     process $pid still runs after $2 s:"
		proc_report "${3:-$pid}"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		RC=124
	else
		wait "$pid"
		RC=$?
	fi
	[ -z "$e" ] || set -e
	return 0
}
