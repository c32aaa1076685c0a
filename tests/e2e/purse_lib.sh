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

# proc_report, wait_bounded
. "$HERE/wait_lib.sh"

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
