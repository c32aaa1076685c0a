#!/bin/bash
# end-to-end: the demo shop (examples/walletkey-shop) in headless Chromium
# and Firefox ESR (docs/payments.md). A buyer opens the checkout page; the
# page asks the shop, the shop the issuer; the page says it waits for the
# key; walletkey confirm accepts (or declines, or nobody answers) on the
# card; the page really turns to paid (declined, expired). Browsers are
# driven by pay_shop.py (DevTools protocol, Marionette), loopback only: one
# Chromium and one Firefox, each through the three checkouts.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 1 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
. "$(dirname "$0")/pay_lib.sh"
SHOP=$SRC/examples/walletkey-shop/walletkey-shop
R0=$(reader 0)
MONEY_CARDS=0
# seconds for a browser to answer its first command after its launch, and
# for each checkout's page to wait for the key, then again for its final
# state (pay_shop.py): every deadline counts from the browser's answer or
# the checkout's start, not from the test's
START=${PAY_SHOP_START:-300}
WAIT=${PAY_SHOP_WAIT:-150}
# one browser and its driver run every checkout (three): their lifetime
LIFE=$((START + 6 * WAIT + 120))
PIDS=()
SHOP_PID=""
DRIVER=""
# the browser and its driver
stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	PIDS=()
	DRIVER=""
}
shop_stop() {
	[ -n "$SHOP_PID" ] && kill "$SHOP_PID" 2>/dev/null || true
	[ -n "$SHOP_PID" ] && wait "$SHOP_PID" 2>/dev/null || true
	SHOP_PID=""
}
trap 'stop_all; shop_stop; cleanup' EXIT

issuer_setup
merchant_setup
"$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 >/dev/null 2>&1 || die "enroll card 0"
printf '%s\n' "$KEY" >"$T/shop.key"
chmod 600 "$T/shop.key"
pay_settled "start"

# shop EXPIRES: a shop on a free port; its URL in $SHOP_URL
shop_start() {
	local port
	port=$(free_port)
	python3 "$SHOP" --issuer "$URL" --api-key-file "$T/shop.key" \
		--listen "127.0.0.1:$port" --shop-name "Book shop" --expires "$1" \
		>>"$T/shop.log" 2>&1 &
	SHOP_PID=$!
	SHOP_URL=http://127.0.0.1:$port
	for _ in $(seq 100); do
		curl -fsS "$SHOP_URL/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$T/shop.log" >&2
	die "the shop does not answer"
}

# browser_start chromium|firefox: a headless browser with its control port
browser_start() {
	BPORT=$(free_port)
	rm -rf "$T/profile" "$T/home"
	mkdir -p "$T/profile" "$T/home"
	if [ "$1" = chromium ]; then
		HOME=$T/home setsid timeout -k 5 "$LIFE" chromium --headless \
			--no-sandbox --disable-gpu --disable-quic --no-first-run \
			--disable-background-networking --disable-component-update \
			--disable-sync --user-data-dir="$T/profile" \
			--proxy-server=127.0.0.1:9 --remote-debugging-port="$BPORT" \
			--window-size=1000,700 about:blank >"$T/browser.log" 2>&1 &
	else
		{ cat "$HERE/firefox_offline.js"; cat <<EOF
user_pref("marionette.port", $BPORT);
user_pref("services.settings.server", "http://127.0.0.1:9/");
user_pref("toolkit.startup.max_resumed_crashes", -1);
EOF
		} >"$T/profile/user.js"
		HOME=$T/home setsid timeout -k 5 "$LIFE" firefox-esr --marionette \
			--headless --no-remote -profile "$T/profile" >"$T/browser.log" 2>&1 &
	fi
	BROWSER_PID=$!
	PIDS+=("$BROWSER_PID")
}

# the driver's answers for checkout $N: await FILE SECONDS waits (bounded)
# for FILE, or the checkout's failure or final state, or the driver's end
await() {
	local end=$((SECONDS + $2))
	while [ ! -f "$1" ] && [ ! -f "$T/fail.$N" ] && [ ! -f "$T/final.$N" ] &&
		[ "$SECONDS" -lt "$end" ] && kill -0 "$DRIVER" 2>/dev/null; do
		sleep 0.2
	done
	[ -f "$1" ]
}

# what the driver, the browser and the shop said, after a failure
show() {
	cat "$T/driver.log" 2>/dev/null || true
	echo "-- the browser's log:"
	tail -20 "$T/browser.log" 2>/dev/null || true
	echo "-- the shop's log:"
	tail -20 "$T/shop.log" 2>/dev/null || true
}

# browser_open chromium|firefox: the browser and ONE driver for all of its
# checkouts; the browser has START seconds to answer its driver
browser_open() {
	local browser=$1 end
	rm -f "$T"/session "$T"/fail "$T"/go.* "$T"/waiting.* "$T"/final.* "$T"/fail.* \
		"$T"/page.*.html
	N=0
	browser_start "$browser"
	timeout -k 5 "$LIFE" python3 "$HERE/pay_shop.py" "$browser" "$BPORT" "$T" \
		"$START" "$WAIT" >"$T/driver.log" 2>&1 &
	DRIVER=$!
	PIDS+=("$DRIVER")
	end=$((SECONDS + START + 30))
	while [ ! -f "$T/session" ] && [ ! -f "$T/fail" ] && [ "$SECONDS" -lt "$end" ] &&
		kill -0 "$DRIVER" 2>/dev/null && kill -0 "$BROWSER_PID" 2>/dev/null; do
		sleep 0.2
	done
	if [ -f "$T/session" ]; then
		echo "$browser: the browser answered $(cat "$T/session") s after its launch"
		return 0
	fi
	if [ -f "$T/fail" ]; then
		bad "$(cat "$T/fail")"
	elif ! kill -0 "$BROWSER_PID" 2>/dev/null; then
		bad "$browser: the browser exited before it answered its driver"
	else
		bad "$browser: the driver ended without a word on the browser's start"
	fi
	show
	stop_all
	return 1
}

# browser_close: the driver asks the browser to quit, then both end
browser_close() {
	local i
	printf 'quit\n' >"$T/go.tmp" && mv "$T/go.tmp" "$T/go.$((N + 1))"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$DRIVER" 2>/dev/null || break
		sleep 0.1
	done
	stop_all
}

# checkout BROWSER ANSWER WANT: the page through one payment, in the
# browser browser_open started
checkout() {
	local browser=$1 answer=$2 want=$3 id
	N=$((N + 1))
	printf '%s\n' "$SHOP_URL/?account=$PAN0&amount=12.34&auto=1" >"$T/go.tmp"
	mv "$T/go.tmp" "$T/go.$N"
	if ! await "$T/waiting.$N" "$((WAIT + 60))"; then
		bad "$browser: the page never waited for the key (checkout $N)"
		show
		return
	fi
	id=$(cat "$T/waiting.$N")
	ok "$browser: the page waits for the key (payment $id)"
	case $answer in
	yes|decline)
		"$WK" --reader "$R0" confirm --issuer "$URL" "--$answer" >"$T/confirm.log" 2>&1 || true ;;
	none) ;;
	esac
	await "$T/final.$N" "$((WAIT + 60))" || true
	if [ "$(head -1 "$T/final.$N" 2>/dev/null)" = "$want" ]; then
		ok "$browser: the page turns to $want"
	else
		bad "$browser: the page turns to $want (it shows: $(head -1 "$T/final.$N" 2>/dev/null || echo "no final state"))"
		show
		cat "$T/confirm.log" 2>/dev/null || true
	fi
	check "$browser: the issuer agrees ($want)" '[ "$(pay_get "$id")" = "$want" ]'
}

for browser in chromium firefox; do
	browser_open "$browser" || continue
	shop_start 300
	checkout "$browser" yes paid
	pay_settled "$browser paid"
	checkout "$browser" decline declined
	pay_settled "$browser declined"
	shop_stop
	shop_start 4
	checkout "$browser" none expired
	pay_settled "$browser expired"
	shop_stop
	browser_close
done
finish
