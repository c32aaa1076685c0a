#!/bin/bash
# Firefox ESR, headless, logs into an HTTPS page on 127.0.0.1 that requires a
# client certificate, with the card's PIN-protected 9A RSA-2048 key through
# walletkey-pkcs11.so added to the profile's NSS database by modutil; the
# certificate is chosen by security.default_personal_cert = "Select
# Automatically"; TLS 1.3 makes the signature RSA-PSS (CKM_RSA_PKCS_PSS).
# p11_firefox.py drives Firefox over Marionette and answers Firefox's real
# PIN dialog (from an observer it installs in chrome context: the dialog is
# window-modal and Marionette does not answer while it is open); NSS calls
# C_Login with the PIN. The card is restarted before Firefox starts, so the
# VERIFY the 9A signature needs can only come from that C_Login. Checks the page
# (WebDriver:GetPageSource), the server's log, and takes a screenshot
# (WebDriver:TakeScreenshot) into the temporary directory (KEEP_TMP=1 keeps
# it). Runs inside tools/walletkey-sandbox.
. "$(dirname "$0")/p11_browser_lib.sh"

need firefox-esr firefox-esr
CN="walletkey firefox user"
# seconds for Firefox to make its Marionette session after its launch, then
# for the page from that moment (p11_firefox.py)
FIREFOX_START=${FIREFOX_START:-300}
FIREFOX_WAIT=${FIREFOX_WAIT:-120}

step "test CA, server certificate for 127.0.0.1, RSA-2048 key in 9A (PIN once) with a CA certificate"
make_pki
card_key 9a rsa2048 once "$CN"
# the card forgets the CLI's VERIFY: the signature needs Firefox's C_Login
"$WALLETKEY_SANDBOX/bin/card-restart" 0 > /dev/null || fail "card restart"

step "profile: NSS database with the module and the CA, prefs for a loopback-only test"
P=$T/profile
nss_db "$P"
MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{ cat "$HERE/firefox_offline.js"; cat <<EOF
user_pref("marionette.port", $MPORT);
user_pref("security.default_personal_cert", "Select Automatically");
user_pref("security.osclientcerts.autoload", false);
user_pref("network.proxy.ssl", "127.0.0.1");
user_pref("network.proxy.ssl_port", 9);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("toolkit.telemetry.server", "");
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.blockedURIs.enabled", false);
user_pref("browser.safebrowsing.provider.mozilla.updateURL", "");
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.region.update.enabled", false);
user_pref("browser.search.update", false);
user_pref("services.settings.server", "http://127.0.0.1:9/");
user_pref("media.gmp-manager.url", "http://127.0.0.1:9/");
user_pref("security.OCSP.enabled", 0);
user_pref("security.remote_settings.crlite_filters.enabled", false);
user_pref("security.remote_settings.intermediates.enabled", false);
user_pref("toolkit.startup.max_resumed_crashes", -1);
EOF
} > "$P/user.js"

step "HTTPS page that requires a client certificate"
start_server

step "firefox-esr --marionette --headless on $URL; the test answers the PIN prompt"
# (every process has a time limit of its own, should the trap never run)
HOME=$T/home setsid timeout -k 5 "$((FIREFOX_START + FIREFOX_WAIT + 60))" firefox-esr --marionette \
    --remote-allow-system-access --headless --no-remote -profile "$P" \
    > "$T/firefox.log" 2>&1 &
KILL_PIDS+=($!)
timeout -k 5 "$((FIREFOX_START + FIREFOX_WAIT + 30))" python3 "$HERE/p11_firefox.py" "$MPORT" \
    "$URL" "$PIN" "$CN" "$T" "$FIREFOX_WAIT" "$FIREFOX_START" > "$T/driver.log" 2>&1 &
DRIVER=$!
KILL_PIDS+=("$DRIVER")
# (wait, unlike a foreground command, lets the traps run at once)
rc=0
wait "$DRIVER" || rc=$?
if [ "$rc" -ne 0 ]; then
    cat "$T/driver.log"; tail -n 30 "$T/firefox.log"; cat "$T/server.out"
    [ "$rc" -ne 2 ] || fail "the browser was slow to start (no Marionette session within $FIREFOX_START s), not the page"
    fail "Firefox did not show the page"
fi
cat "$T/driver.log"
grep -q "^PIN prompt: .*walletkey" "$T/driver.log" || fail "no PIN prompt answered"
grep -q '<p id="tls">TLSv1.3<' "$T/firefox.html" || fail "the page was not loaded over TLS 1.3"
expect_server_subject "$CN"
[ -s "$T/firefox.png" ] || fail "no screenshot"
head -c 8 "$T/firefox.png" | od -An -tx1 | grep -q "89 50 4e 47" || fail "screenshot is not a PNG"

echo "p11_firefox: all passed"
