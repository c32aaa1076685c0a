#!/bin/bash
# end-to-end: the holder's control panel (walletkey ui, docs/holder.md) in
# headless Chromium and Firefox, driven by tests/e2e/ui_panel.py over the
# DevTools pipe and Marionette against the real card (sandbox). Before the
# browsers, the panel's doors with plain HTTP: no session, a wrong or spent
# login token, another Origin, a DNS-rebinding Host header, another site,
# a body too large, a path outside the panel's files.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 1 -- "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${WALLETKEY_BUILD_DIR:-$SRC/build}" && pwd)
WK=$BUILD/tools/walletkey
export WK WALLETKEY_UI_DIR=$SRC/tools/ui
T=$(mktemp -d "${TMPDIR:-/tmp}/wk-ui.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
FAILS=0
ok() { echo "ok   $*"; }
check() { if eval "$2"; then ok "$1"; else echo "FAIL $1"; FAILS=$((FAILS + 1)); fi; }
member() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
unset WALLETKEY_PIN

# ---- the card: money in the purse, a 9A certificate ----
hexs() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
printf '{"dlk":"%s","dpk":"%s","dtk":"%s","dulk":"%s","duk":"%s"}\n' \
	"$(hexs WK-DEMO-DLK-0001)" "$(hexs WK-DEMO-DPK-0001)" "$(hexs WK-DEMO-DTK-0001)" \
	"$(hexs WK-DEMO-DULK-001)" "$(hexs WK-DEMO-DUK-0001)" >"$T/mk.json"
"$WK" wallet sam-init --insecure-master-keys --master-keys "$T/mk.json" \
	--terminal 000000000042 --out "$T/sam.json" >/dev/null || fail "sam-init"
WALLETKEY_PIN=123456 "$WK" wallet load --amount 50 --sam "$T/sam.json" \
	--insecure-master-keys >/dev/null || fail "load"
"$WK" wallet purchase --amount 5 --sam "$T/sam.json" --insecure-master-keys >/dev/null ||
	fail "purchase"
"$WK" key generate --slot 9a --alg eccp256 >/dev/null 2>&1 || fail "key generate 9a"
WALLETKEY_PIN=123456 "$WK" cert selfsign --slot 9a --subject "/CN=walletkey panel test" \
	--days 30 --import >/dev/null 2>&1 || fail "selfsign 9a"
SERIAL=$(serial_of 0)
export WK_SAM=$T/sam.json WK_PIN=123456 WK_PURSE_PIN=123456 WK_SERIAL=$SERIAL

# a panel: its JSON line in $T/NAME.json; URL, PORT, TOKEN set
panel() {
	"$WK" --json ui --no-browser >"$T/$1.json" 2>"$T/$1.err" &
	PIDS+=($!)
	for _ in $(seq 100); do
		[ -s "$T/$1.json" ] && break
		sleep 0.1
	done
	URL=$(member url <"$T/$1.json")
	PORT=$(member port <"$T/$1.json")
	TOKEN=${URL#*#token=}
	B=http://127.0.0.1:$PORT
}

# ---- the doors, with plain HTTP ----
panel doors
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
check "the link: 127.0.0.1, a random port, a 64-hex token in the fragment" \
	'[[ "$URL" =~ ^http://127\.0\.0\.1:[0-9]+/#token=[0-9a-f]{64}$ ]]'
check "the page itself needs no login" '[ "$(code "$B/")" = 200 ] && grep_q "walletkey" "$T/body"'
check "the API without a session: 401" '[ "$(code "$B/api/status")" = 401 ]'
check "a wrong token: 403" '[ "$(code -X POST -d "{\"token\":\"$(printf 0%.0s {1..64})\"}" "$B/api/login")" = 403 ]'
SES=$(curl -s -X POST -d "{\"token\":\"$TOKEN\"}" "$B/api/login" | member session)
check "the token: a session" '[[ "$SES" =~ ^[0-9a-f]{64}$ ]]'
check "the token again: 403 (it works once)" '[ "$(code -X POST -d "{\"token\":\"$TOKEN\"}" "$B/api/login")" = 403 ]'
AUTH="Authorization: Bearer $SES"
check "the session reads the status" '[ "$(code -H "$AUTH" "$B/api/status")" = 200 ] && [ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"card\"][\"serial\"])" "$T/body")" = "$SERIAL" ]'
check "a wrong session: 401" '[ "$(code -H "Authorization: Bearer $(printf 1%.0s {1..64})" "$B/api/status")" = 401 ]'
check "another Origin, with the session: 403" '[ "$(code -H "$AUTH" -H "Origin: http://evil.example" "$B/api/status")" = 403 ]'
check "another port of 127.0.0.1 as Origin: 403" '[ "$(code -H "$AUTH" -H "Origin: http://127.0.0.1:1" -X POST -d "{\"label\":\"x\"}" "$B/api/label")" = 403 ]'
check "the panel's own Origin: 200" '[ "$(code -H "$AUTH" -H "Origin: $B" "$B/api/status")" = 200 ]'
check "DNS rebinding (Host: evil.example:PORT): 403" '[ "$(code -H "$AUTH" -H "Host: evil.example:$PORT" "$B/api/status")" = 403 ]'
check "DNS rebinding on the page too: 403" '[ "$(code -H "Host: evil.example:$PORT" "$B/")" = 403 ]'
check "Host: localhost:PORT is the panel" '[ "$(code -H "$AUTH" -H "Host: localhost:$PORT" "$B/api/status")" = 200 ]'
check "another site (Sec-Fetch-Site: cross-site): 403" '[ "$(code -H "$AUTH" -H "Sec-Fetch-Site: cross-site" "$B/api/status")" = 403 ]'
check "no file outside the panel's: 404" '[ "$(code --path-as-is "$B/static/../../../etc/passwd")" = 404 ] && [ "$(code "$B/static/app.js.map")" = 404 ]'
check "a body over 16 KiB: 413" '[ "$(head -c 20000 /dev/zero | tr "\0" a | code -H "$AUTH" -X POST --data-binary @- "$B/api/label")" = 413 ]'
check "bad JSON: 400" '[ "$(code -H "$AUTH" -X POST -d "{" "$B/api/label")" = 400 ]'
check "a label with a control character: 400, nothing changed" '[ "$(code -H "$AUTH" -X POST -d "{\"label\":\"a\\u0007b\"}" "$B/api/label")" = 400 ] && [ "$("$WK" --json label | member label)" = "" ]'
check "a PUT: 405" '[ "$(code -H "$AUTH" -X PUT "$B/api/status")" = 405 ]'
check "the headers: CSP, no framing, no sniffing, no cache" 'curl -s -D - -o /dev/null "$B/" | grep -qi "content-security-policy: default-src .none.; script-src .self." && curl -s -D - -o /dev/null "$B/" | grep -qi "x-frame-options: DENY"'
check "no cookie is ever set" '! curl -s -D - -o /dev/null -X POST -d "{\"token\":\"x\"}" "$B/api/login" | grep -qi set-cookie'
check "a wrong purse PIN through the API: 409 with the tries left" '[ "$(code -H "$AUTH" -X POST -d "{\"which\":\"purse\",\"old\":\"000000\",\"new\":\"111111\"}" "$B/api/pin")" = 409 ] && [ "$(member tries_left <"$T/body")" = 2 ]'
WALLETKEY_PIN=123456 "$WK" wallet records >/dev/null || fail "the right purse PIN"

# ---- a page of another origin ----
mkdir -p "$T/evil"
cat >"$T/evil/evil.html" <<'HTML'
<!DOCTYPE html><html><head><meta charset="utf-8"><title>another site</title></head>
<body><script src="evil.js"></script></body></html>
HTML
cat >"$T/evil/evil.js" <<'JS'
(async () => {
	const panel = new URLSearchParams(location.search).get("panel");
	const out = {};
	try {
		const r = await fetch(panel + "/api/status");
		out.read = "status " + r.status;
	} catch (e) { out.read = "blocked"; }
	try {
		const r = await fetch(panel + "/api/label", { method: "POST", mode: "no-cors",
			body: JSON.stringify({ label: "pwned" }) });
		out.rename = r.type;
	} catch (e) { out.rename = "blocked"; }
	try {
		const r = await fetch(panel + "/api/login", { method: "POST", mode: "no-cors",
			body: "{}" });
		out.login = r.type;
	} catch (e) { out.login = "blocked"; }
	try { out.storage = String(sessionStorage.getItem("walletkey-session")); }
	catch (e) { out.storage = "blocked"; }
	document.body.dataset.done = JSON.stringify(out);
})();
JS
EVIL_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$T/evil" "$EVIL_PORT" >"$T/evil.log" 2>&1 &
PIDS+=($!)

# ---- the browsers ----
# each has WALLETKEY_BROWSER_START seconds to answer its first command
# (browser_drive.py), then the scenario its own 300
START=${WALLETKEY_BROWSER_START:-300}
export WALLETKEY_BROWSER_START=$START
for browser in chromium firefox; do
	panel "$browser"
	evil="http://127.0.0.1:$EVIL_PORT/evil.html?panel=http://127.0.0.1:$PORT"
	if timeout -k 10 "$((START + 300))" python3 "$HERE/ui_panel.py" "$browser" "$URL" "$evil" "$T" \
	    >"$T/$browser.log" 2>&1; then
		cat "$T/$browser.log"
		ok "$browser: the whole scenario"
	else
		cat "$T/$browser.log"
		tail -n 20 "$T/$browser.err" 2>/dev/null || true
		echo "FAIL $browser: the scenario"
		FAILS=$((FAILS + 1))
	fi
done
check "the page of another origin was served (the browsers ran it)" 'grep_q "evil.js" "$T/evil.log"'
check "the PINs are as before" 'WALLETKEY_PIN=123456 "$WK" pin verify >/dev/null 2>&1 && WALLETKEY_PIN=123456 "$WK" wallet records >/dev/null 2>&1'

if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "ui_panel: all passed"
