#!/bin/bash
# end-to-end: walletkey watch (what walletkey-watch.service runs) waits on
# PC/SC events and opens the control panel when a walletkey card appears:
# without a display it prints a one-time link (the card already in the
# reader counts, and each return of the card gives a new link); with a
# display it hands the browser a private file (mode 0600) that redirects to
# the link, so the token is on no command line. Stopping the watch stops
# its panel.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 1 -- "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${WALLETKEY_BUILD_DIR:-$SRC/build}" && pwd)
WK=$BUILD/tools/walletkey
SB=$WALLETKEY_SANDBOX/bin
export WALLETKEY_UI_DIR=$SRC/tools/ui
T=$(mktemp -d "${TMPDIR:-/tmp}/wk-watch.XXXXXX")
WATCH=""
cleanup() {
	[ -n "$WATCH" ] && kill "$WATCH" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
FAILS=0
ok() { echo "ok   $*"; }
check() { if eval "$2"; then ok "$1"; else echo "FAIL $1"; FAILS=$((FAILS + 1)); fi; }

# the Nth link in FILE, waiting at most 20 s
nth_link() {
	local n
	for n in $(seq 200); do
		if [ "$(grep -c '#token=' "$2" 2>/dev/null)" -ge "$1" ]; then
			grep -o 'http://127\.0\.0\.1:[0-9]*/#token=[0-9a-f]*' "$2" | sed -n "${1}p"
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# logs in with a link; prints the HTTP status
login() {
	local url=$1 port token
	port=${url#http://127.0.0.1:}
	port=${port%%/*}
	token=${url#*#token=}
	curl -s -o /dev/null -w '%{http_code}' -X POST -d "{\"token\":\"$token\"}" \
		"http://127.0.0.1:$port/api/login"
}

# ---- headless ----
env -u DISPLAY -u WAYLAND_DISPLAY "$WK" watch >"$T/watch.out" 2>"$T/watch.err" &
WATCH=$!
L1=$(nth_link 1 "$T/watch.out") || { cat "$T/watch.out" "$T/watch.err"; fail "no link for the card already in"; }
check "the card already in the reader: a link printed" '[[ "$L1" =~ ^http://127\.0\.0\.1:[0-9]+/#token=[0-9a-f]{64}$ ]]'
check "the link logs in once" '[ "$(login "$L1")" = 200 ] && [ "$(login "$L1")" = 403 ]'
"$SB/card-kill" 0 || fail "card-kill"
"$SB/card-start" 0 >/dev/null || fail "card-start"
L2=$(nth_link 2 "$T/watch.out") || { cat "$T/watch.out" "$T/watch.err"; fail "no link when the card came back"; }
check "the card back: a new link, on the same panel" '[ "$L2" != "$L1" ] && [ "${L2%%/#*}" = "${L1%%/#*}" ] && [ "$(login "$L2")" = 200 ]'
check "the watch says which reader" 'grep_q "a walletkey card in $WALLETKEY_READER_0" "$T/watch.out"'
PORT=${L1#http://127.0.0.1:}
PORT=${PORT%%/*}
kill "$WATCH"
wait_bounded "$WATCH" 60
WATCH=""
gone=no
for _ in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$PORT/" || { gone=yes; break; }
	sleep 0.1
done
check "stopping the watch stops its panel" '[ "$gone" = yes ]'

# ---- with a display: the browser gets a private file, not the link ----
mkdir -p "$T/bin" "$T/run"
chmod 700 "$T/run"
cat >"$T/bin/xdg-open" <<'SH'
#!/bin/sh
# stands in for the desktop's opener: keeps what it was given
printf '%s\n' "$*" >>"$OPENED"
SH
chmod +x "$T/bin/xdg-open"
OPENED=$T/opened PATH=$T/bin:$PATH DISPLAY=:99 XDG_RUNTIME_DIR=$T/run \
	"$WK" watch --once >"$T/watch2.out" 2>"$T/watch2.err" &
WATCH=$!
for _ in $(seq 200); do [ -s "$T/opened" ] && break; sleep 0.1; done
F=$(head -n 1 "$T/opened" 2>/dev/null)
check "the opener got a file in \$XDG_RUNTIME_DIR/walletkey, no token" '[[ "$F" == "$T/run/walletkey/panel-"*.html ]] && ! grep_q token "$T/opened"'
check "the file is the user's alone (0600) and redirects to the link" '[ "$(stat -c %a "$F")" = 600 ] && grep_q "url=http://127.0.0.1:[0-9]*/#token=[0-9a-f]\{64\}" "$F"'
L3=$(grep -o 'http://127\.0\.0\.1:[0-9]*/#token=[0-9a-f]*' "$F" | head -n 1)
check "the file's link logs in" '[ "$(login "$L3")" = 200 ]'
check "the link was not printed" '! grep_q "#token=" "$T/watch2.out"'
kill "$WATCH"
wait_bounded "$WATCH" 60
WATCH=""

if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "ui_watch: all passed"
