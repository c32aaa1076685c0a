# shared by the PIV end-to-end tests; sourced inside walletkey-sandbox
set -eu

BUILD=${WALLETKEY_BUILD_DIR:?run through meson test or set WALLETKEY_BUILD_DIR}
WK_BIN="$BUILD/tools/walletkey"
READER=${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export WALLETKEY_PIN=123456
unset WALLETKEY_MGMT_KEY WALLETKEY_NEW_PIN WALLETKEY_PUK WALLETKEY_NEW_PUK \
    WALLETKEY_NEW_MGMT_KEY

wk() {
	"$WK_BIN" --reader "$READER" "$@"
}

step() {
	echo "--- $*"
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# expect STATUS CMD...: runs CMD, output in $T/out and $T/err
expect() {
	local want=$1 got
	shift
	set +e
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	if [ "$got" -ne "$want" ]; then
		echo "stdout:" >&2; cat "$T/out" >&2
		echo "stderr:" >&2; cat "$T/err" >&2
		fail "'$*' exited $got, wanted $want"
	fi
}

# grep_out PATTERN [FILE]: the last command's output must match
grep_out() {
	grep -q -- "$1" "${2:-$T/out}" || {
		cat "${2:-$T/out}" >&2
		fail "no '$1' in ${2:-stdout}"
	}
}

# json FILTER: jq over the last command's stdout
json() {
	jq -r "$1" "$T/out"
}

# wk without a controlling terminal: prompts must fail, not wait
wk_notty() {
	setsid -w "$WK_BIN" --reader "$READER" "$@" </dev/null
}

# after card-restart: the first exchange may fail while pcscd notices the
# new card; wait (bounded) until the card answers
wait_card() {
	for _ in $(seq 40); do
		if wk pin retries >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.25
	done
	fail "the card did not come back"
}

# snapshot FILE: what the card holds (keys, certificates, tries, 9B), without
# what depends on the PIN being verified at the moment (pcscd powers an idle
# card off, which logs the PIN out)
snapshot() {
	expect 0 wk --json status
	jq -S '{pin, puk, management_key, slots}' "$T/out" >"$1"
}

# grep -q stops reading at the first match; under pipefail the writer then
# dies of SIGPIPE and the pipeline fails at random: read everything instead
grep_q() { grep "$@" >/dev/null; }
