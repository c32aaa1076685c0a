#!/bin/bash
# Chromium, headless, logs into an HTTPS page on 127.0.0.1 that requires a
# client certificate, with the card's 9E (card authentication, PIN policy
# never: headless Chromium cannot show a PIN prompt) RSA-2048 key through
# walletkey-pkcs11.so in ~/.pki/nssdb; the certificate is chosen by the
# AutoSelectCertificateForUrls policy. TLS 1.3: the signature is RSA-PSS
# (CKM_RSA_PKCS_PSS). Checks the page (--dump-dom) and the server's log, and
# takes a screenshot into the temporary directory (KEEP_TMP=1 keeps it).
#
# Debian's chromium reads policies only from /etc/chromium/policies: the
# browser runs in a private mount namespace (unshare -m) where a copy of
# /etc/chromium with our policy is bound over /etc/chromium, so nothing is
# written to the system. Runs inside tools/walletkey-sandbox, as root.
# CHROMIUM_EXTRA adds flags (e.g. "--log-net-log=FILE" to see the handshake).
. "$(dirname "$0")/p11_browser_lib.sh"

need chromium chromium
need unshare util-linux
CN="walletkey chromium user"
CHROMIUM_WAIT=${CHROMIUM_WAIT:-90}

step "test CA, server certificate for 127.0.0.1, RSA-2048 key in 9E with a CA certificate"
make_pki
card_key 9e rsa2048 never "$CN"

step "NSS database in \$HOME/.pki/nssdb with the module and the CA"
export HOME=$T/home
# NSS logs into a CKF_LOGIN_REQUIRED token before it lists its certificates
# unless the slot is marked "publicly-readable certs" (modutil FRIENDLY); the
# login would ask for the PIN, which headless Chromium cannot show
nss_db "$HOME/.pki/nssdb" -mechanisms FRIENDLY

step "HTTPS page that requires a client certificate"
start_server

step "policy AutoSelectCertificateForUrls for https://127.0.0.1:$PORT"
mkdir -p "$T/etc-chromium/policies/managed"
cp -a /etc/chromium/. "$T/etc-chromium/"
printf '{"AutoSelectCertificateForUrls": ["{\\"pattern\\":\\"https://127.0.0.1:%s\\",\\"filter\\":{}}"]}\n' \
    "$PORT" > "$T/etc-chromium/policies/managed/walletkey-test.json"

# chromium MODE...: headless Chromium on $URL, loopback only, in a private
# mount namespace with the policy; output in $T/chromium.out/.err
chromium_run() {
	rm -rf "$T/profile"
	# shellcheck disable=SC2016,SC2086 # $1 is sh's; CHROMIUM_EXTRA is split
	setsid unshare -m -- sh -c 'mount --bind "$1" /etc/chromium && shift && exec "$@"' sh \
	    "$T/etc-chromium" timeout -k 5 "$CHROMIUM_WAIT" chromium \
	    --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	    --disable-background-networking --disable-component-update --disable-sync \
	    --user-data-dir="$T/profile" --proxy-server=127.0.0.1:9 \
	    --virtual-time-budget=10000 --window-size=1000,600 \
	    ${CHROMIUM_EXTRA:-} "$@" "$URL" > "$T/chromium.out" 2> "$T/chromium.err" &
	local pid=$!
	KILL_PIDS+=("$pid")
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -ne 124 ] || fail "chromium did not finish within ${CHROMIUM_WAIT}s (stderr: $(tail -n 20 "$T/chromium.err"))"
	return "$rc"
}

step "chromium --dump-dom $URL"
chromium_run --dump-dom ||
    { cat "$T/chromium.err" >&2; fail "chromium --dump-dom exited with an error"; }
grep -q "subject: CN=$CN<" "$T/chromium.out" ||
    { cat "$T/chromium.out" "$T/chromium.err" "$T/server.out" >&2; fail "the page does not show CN=$CN"; }
grep -q '<p id="tls">TLSv1.3<' "$T/chromium.out" || fail "the page was not loaded over TLS 1.3"
expect_server_subject "$CN"

step "chromium --screenshot"
(cd "$T" && chromium_run --screenshot="$T/chromium.png") ||
    { cat "$T/chromium.err" >&2; fail "chromium --screenshot exited with an error"; }
[ -s "$T/chromium.png" ] || fail "no screenshot"
head -c 8 "$T/chromium.png" | od -An -tx1 | grep -q "89 50 4e 47" || fail "screenshot is not a PNG"

echo "p11_chromium: all passed"
