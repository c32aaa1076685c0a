# shared by the purse end-to-end tests (sourced). Outside the sandbox each
# test makes its files, then runs itself again inside tools/walletkey-sandbox.
set -eu

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${WALLETKEY_BUILD_DIR:-$SRC/build}
BUILD=$(cd "$BUILD" && pwd)
export WALLETKEY_BUILD_DIR=$BUILD
WK=$BUILD/tools/walletkey
SANDBOX=$SRC/tools/walletkey-sandbox
PAN=6222020000001234567
SERIAL=06222020000001234567
PIN=123456
FAILS=0

# the algorithm of every purse key of the test cards: 3des (default) or sm4
# (docs/purse.md "SM4 keys"); the tests named *_sm4 run with PURSE_ALG=sm4
PURSE_ALG=${PURSE_ALG:-3des}
case $PURSE_ALG in 3des|sm4) ;; *) echo "PURSE_ALG is 3des or sm4" >&2; exit 2;; esac
export PURSE_ALG

# test master keys (never use them for real money), making keys of
# PURSE_ALG
write_master_keys() {
	cat >"$1" <<KEYS
{"dlk": "11111111111111112222222222222222",
 "dpk": "33333333333333334444444444444444",
 "dtk": "55555555555555556666666666666666",
 "dulk": "77777777777777778888888888888888",
 "duk": "9999999999999999AAAAAAAAAAAAAAAA",
 "algorithms": {"dlk": "$PURSE_ALG", "dpk": "$PURSE_ALG", "dtk": "$PURSE_ALG",
  "dulk": "$PURSE_ALG", "duk": "$PURSE_ALG"}}
KEYS
}
MK_DLK=11111111111111112222222222222222
MK_DPK=33333333333333334444444444444444
MK_DTK=55555555555555556666666666666666

ok() { echo "ok   $*"; }
bad() {
	echo "FAIL $*"
	FAILS=$((FAILS + 1))
}
# check WHAT 'SHELL CONDITION' (evaluated here, so && chains count as one)
check() {
	if eval "$2"; then ok "$1"; else bad "$1"; fi
}

# what a process that did not end is doing, for a test's log: its threads'
# state, kernel wait channel and system call, then the same for the
# sandbox's pcscd and the tails of pcscd's and card 0's logs
proc_report() {
	local pid t
	for pid in "$1" "$(cat "$WALLETKEY_SANDBOX/pcscd.pid" 2>/dev/null)"; do
		[ -n "$pid" ] && [ -d "/proc/$pid" ] || continue
		echo "     process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-200)"
		for t in /proc/"$pid"/task/*; do
			echo "       thread ${t##*/}: state $(awk '/^State:/ { print $2 }' "$t/status" 2>/dev/null)," \
				"wchan $(cat "$t/wchan" 2>/dev/null), syscall $(cut -d' ' -f1 "$t/syscall" 2>/dev/null)"
		done
	done
	for t in pcscd.log card0.log; do
		[ -f "$WALLETKEY_SANDBOX/$t" ] || continue
		echo "     last lines of the sandbox's $t:"
		tail -n 8 "$WALLETKEY_SANDBOX/$t" | sed 's/^/       /'
	done
}

# waits (at most $2 seconds) for background process $1 to end and sets RC
# to its status; one that does not end is reported (proc_report of $3 if
# given, the process that keeps it going, else of $1), killed and given
# RC 124, so a test never waits for ever
wait_bounded() {
	local pid=$1 n
	for ((n = 0; n < $2 * 10; n++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "     process $pid still runs after $2 s:"
		proc_report "${3:-$pid}"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || true
		RC=124
		return 0
	fi
	set +e
	wait "$pid"
	RC=$?
	set -e
}

# runs walletkey, keeps stdout in $OUT and stderr in $ERR, status in $RC
run() {
	local e
	e=$(mktemp)
	set +e
	OUT=$("$WK" "$@" 2>"$e")
	RC=$?
	set -e
	ERR=$(cat "$e")
	rm -f "$e"
}

# json_get JSON a.0.b prints that member; a.# the length of array a
json_get() {
	python3 - "$1" "$2" <<'PY' 2>/dev/null || echo "<none>"
import json, sys
d = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    if k == "#":
        d = len(d)
    elif isinstance(d, list):
        d = d[int(k)]
    else:
        d = d[k]
print(d)
PY
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$(basename "$0"): $FAILS failure(s)"
		exit 1
	fi
	echo "$(basename "$0"): all passed"
	exit 0
}

# the terminal transaction counter in the SAM file $T/sam.json
sam_counter() {
	sed -n 's/^ *"counter": \([0-9]*\),$/\1/p' "${1:-$T/sam.json}"
}

# For the crash loops (hundreds of rounds): file tests in the shell, no
# grep, sed or tail started per round.
# file_has FILE TEXT: status 0 when FILE holds TEXT
file_has() {
	local s=""
	IFS= read -r -d '' s <"$1" 2>/dev/null
	[[ $s == *"$2"* ]]
}
# last_line_without FILE TEXT: the last line of FILE without TEXT, into LINE
# (grep -v TEXT FILE | tail -1)
last_line_without() {
	local l
	LINE=""
	while IFS= read -r l || [ -n "$l" ]; do
		[[ $l == *"$2"* ]] || LINE=$l
	done <"$1"
}

# grep -q stops reading at the first match; under pipefail the writer then
# dies of SIGPIPE and the pipeline fails at random: read everything instead
grep_q() { grep "$@" >/dev/null; }
