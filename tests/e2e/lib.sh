# sourced by every end-to-end test; the sandbox has set WALLETKEY_* and PATH
set -euo pipefail

# proc_report, wait_bounded
. "$(dirname "${BASH_SOURCE[0]}")/wait_lib.sh"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# expect_status WANT CMD...: runs CMD, checks its exit status, keeps its stderr in $ERR
expect_status() {
	local want=$1 got=0
	shift
	ERR=$("$@" 2>&1 >/dev/null) || got=$?
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, want $want (stderr: $ERR)"
}

# the serial of the walletkey card in slot I, from walletkey readers --json
serial_of() {
	walletkey readers --json |
		jq -r --arg r "$(reader_of "$1")" '.readers[] | select(.name == $r) | .serial'
}

reader_of() {
	local v="WALLETKEY_READER_$1"
	echo "${!v}"
}

# until CMD succeeds, at most SECONDS seconds
retry() {
	local seconds=$1 n
	shift
	for ((n = 0; n < seconds * 10; n++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# grep -q stops reading at the first match; under pipefail the writer then
# dies of SIGPIPE and the pipeline fails at random: read everything instead
grep_q() { grep "$@" >/dev/null; }

# true when PC/SC shows no card in slot I
card_absent() {
	! opensc-tool -l 2>/dev/null | grep -F -- "$(reader_of "$1")" | grep_q -E '^[0-9]+ +Yes'
}
