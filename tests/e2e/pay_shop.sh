#!/bin/bash
# end-to-end: the demo shop (examples/walletkey-shop) in headless Chromium
# and Firefox ESR (docs/payments.md). A buyer opens the checkout page; the
# page asks the shop, the shop the issuer; the page says it waits for the
# key; walletkey confirm accepts (or declines, or nobody answers) on the
# card; the page really turns to paid (declined, expired). Browsers are
# driven by pay_shop.py (DevTools protocol, Marionette), loopback only.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 1 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
. "$(dirname "$0")/pay_lib.sh"
SHOP=$SRC/examples/walletkey-shop/walletkey-shop
R0=$(reader 0)
MONEY_CARDS=0
# seconds for the browser to start and open the page, and again for the
# payment once it is open (pay_shop.py)
WAIT=${PAY_SHOP_WAIT:-150}
PIDS=()
SHOP_PID=""
# the browser and its driver of one checkout
stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	PIDS=()
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
		HOME=$T/home setsid timeout -k 5 "$((2 * WAIT + 60))" chromium --headless \
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
		HOME=$T/home setsid timeout -k 5 "$((2 * WAIT + 60))" firefox-esr --marionette \
			--headless --no-remote -profile "$T/profile" >"$T/browser.log" 2>&1 &
	fi
	BROWSER_PID=$!
	PIDS+=("$BROWSER_PID")
}

# checkout BROWSER ANSWER WANT: the page through one payment
checkout() {
	local browser=$1 answer=$2 want=$3 driver end opened=false id
	rm -f "$T/opened" "$T/waiting" "$T/final" "$T/page.html"
	browser_start "$browser"
	timeout -k 5 "$((2 * WAIT + 30))" python3 "$HERE/pay_shop.py" "$browser" "$BPORT" \
		"$SHOP_URL/?account=$PAN0&amount=12.34&auto=1" "$T" "$WAIT" \
		>"$T/driver.log" 2>&1 &
	driver=$!
	PIDS+=("$driver")
	# the start, then the page: each has its own WAIT seconds
	end=$((SECONDS + WAIT))
	while [ ! -f "$T/waiting" ] && [ "$SECONDS" -lt "$end" ]; do
		if [ "$opened" = false ] && [ -f "$T/opened" ]; then
			opened=true
			end=$((SECONDS + WAIT))
			echo "$browser: the page opened after $(cat "$T/opened") s"
		fi
		grep -q "^no final state\|Error" "$T/driver.log" 2>/dev/null && break
		sleep 0.2
	done
	if [ ! -f "$T/waiting" ]; then
		bad "$browser: the page never waited for the key"
		cat "$T/driver.log"; tail -20 "$T/browser.log"; tail -20 "$T/shop.log"
		stop_all
		return
	fi
	id=$(cat "$T/waiting")
	ok "$browser: the page waits for the key (payment $id)"
	case $answer in
	yes|decline)
		"$WK" --reader "$R0" confirm --issuer "$URL" "--$answer" >"$T/confirm.log" 2>&1 || true ;;
	none) ;;
	esac
	wait "$driver" && rc=0 || rc=$?
	check "$browser: the page turns to $want" '[ "$rc" -eq 0 ] && [ "$(head -1 "$T/final")" = "$want" ]' ||
		{ cat "$T/driver.log" "$T/confirm.log" 2>/dev/null; tail -20 "$T/shop.log"; }
	check "$browser: the issuer agrees ($want)" '[ "$(pay_get "$id")" = "$want" ]'
	stop_all
}

for browser in chromium firefox; do
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
done
finish
