#!/bin/bash
# end-to-end: walletkey audit report writes one self-contained HTML page;
# headless Chromium opens it (no network: the page must need nothing else),
# takes a screenshot, and the row count of its DOM matches the export.
. "$(dirname "$0")/purse_lib.sh"
. "$(dirname "$0")/audit_lib.sh"

N=${AUDIT_REPORT_N:-60}

if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	if ! CHROME=$(command -v chromium || command -v chromium-browser); then
		echo "SKIP: chromium is not installed (apt-get install chromium)"
		exit 77
	fi
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT
	audit_profile "$T"
	set +e
	"$SANDBOX" --cards 1 --init-args "--perso $T/perso.json" -- "$0" "$T" "$CHROME"
	exit $?
fi

T=$1
CHROME=$2
R=$WALLETKEY_READER_0
export WALLETKEY_PIN=$PIN
wallet_key

"$WK" --reader "$R" wallet load --amount 5000 --sam "$T/sam.json" --insecure-master-keys >/dev/null
for ((i = 2; i <= N; i++)); do
	if ((i % 5 == 0)); then
		"$WK" --reader "$R" wallet load --amount "$((RANDOM % 90 + 10)).00" --sam "$T/sam.json" --insecure-master-keys >/dev/null
	else
		"$WK" --reader "$R" wallet purchase --amount "$((RANDOM % 30 + 1)).$((RANDOM % 90 + 10))" \
			--sam "$T/sam.json" --insecure-master-keys >/dev/null
	fi
done

umask 022
echo old >"$T/report.html"
chmod 644 "$T/report.html"
run --reader "$R" audit report --out "$T/report.html"
check "report written" '[ "$RC" -eq 0 ] && [ -s "$T/report.html" ]'
check "report: mode 0600 (the holder's transactions)" '[ "$(stat -c %a "$T/report.html")" = 600 ]'
check "self-contained: no external resources" \
	'! grep -Eiq "<(script|link|img|iframe)[ >]|src=|@import|url\(" "$T/report.html"'
check "the chart is inline SVG" 'grep -q "<svg id=\"balance-chart\"" "$T/report.html" && grep -q "<polyline" "$T/report.html"'
run --reader "$R" audit export --format csv
ROWS=$(($(wc -l <<<"$OUT") - 1))
check "export has $N rows" '[ "$ROWS" -eq "$N" ]'

chrome() {
	"$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d -p "$T")" "$@" 2>>"$T/chrome.log"
}
chrome --window-size=1280,2400 --screenshot="$T/report.png" "file://$T/report.html" >/dev/null || true
check "Chromium took a screenshot" '[ -s "$T/report.png" ] && [ "$(head -c 4 "$T/report.png" | od -An -c | tr -d " ")" = "211PNG" ]'
chrome --dump-dom "file://$T/report.html" >"$T/dom.html" || true
DOMROWS=$(grep -o '<tr class="tx [a-z]*">' "$T/dom.html" | wc -l)
check "the page's table rows ($DOMROWS) match the export ($ROWS)" '[ "$DOMROWS" -eq "$ROWS" ]'
check "the DOM holds the chart and the totals" 'grep -q "balance-chart" "$T/dom.html" && grep -q "<tr class=\"total\">" "$T/dom.html"'
if [ -n "${AUDIT_REPORT_KEEP:-}" ]; then
	cp "$T/report.html" "$T/report.png" "$AUDIT_REPORT_KEEP"/
fi

run --reader "$R" audit report
check "report without --out: usage error" '[ "$RC" -eq 2 ]'
finish
