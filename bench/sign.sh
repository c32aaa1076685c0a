#!/bin/bash
# bench/sign inside walletkey-sandbox (--cards 1 --empty 1): puts ECDSA P-256
# (9a), Ed25519 (83, retired key management 2: 9C and 9D operations are
# audit records, and a full log refuses them) and RSA-2048 (9e) keys with
# certificates on card 0,
# starts walletkey-echo-card in reader 1 (the transport ceiling, as
# bench/apdu.sh), a SoftHSM2 token with the same kinds of keys, then
# measures signatures per second through libwalletkey, walletkey-pkcs11.so,
# OpenSC's module and SoftHSM2 beside OpenSSL in process, and prints the PC/SC
# calls and APDUs of one signature on each path; then 9a against 9c (ECDSA
# P-256, PIN once both), whose every signature is a record of the audit log:
# the record's cost. Never fails on time.
set -eu

BUILD=${WALLETKEY_BUILD_DIR:?run through meson or set WALLETKEY_BUILD_DIR}
READER=${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}
RUNS=${BENCH_RUNS:-5}
SECONDS_PER_RUN=${BENCH_SECONDS:-1}
OURS=${WALLETKEY_P11_MODULE:-$BUILD/pkcs11/walletkey-pkcs11.so}
T=$(mktemp -d)
echo_pid=""
cleanup() {
	[ -n "$echo_pid" ] && kill "$echo_pid" 2>/dev/null
	[ -n "$echo_pid" ] && wait "$echo_pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
libdir() {
	for d in "/usr/lib/$(gcc -print-multiarch 2>/dev/null || true)" /usr/lib64 /usr/lib; do
		[ -f "$d/$1" ] && { echo "$d/$1"; return; }
		[ -f "$d/softhsm/$1" ] && { echo "$d/softhsm/$1"; return; }
	done
}
OPENSC=${OPENSC_PKCS11:-$(libdir opensc-pkcs11.so)}
SOFTHSM=${SOFTHSM2_PKCS11:-$(libdir libsofthsm2.so)}
export WALLETKEY_PIN=123456
wk() { "$BUILD/tools/walletkey" --reader "$READER" "$@" 2>/dev/null; }

wk key generate --slot 9a --alg eccp256 >/dev/null
wk key generate --slot 83 --alg ed25519 >/dev/null
wk key generate --slot 9e --alg rsa2048 >/dev/null
# 9c as 9a (PIN once): what its signatures cost more is their audit record
wk key generate --slot 9c --alg eccp256 --pin-policy once >/dev/null
for s in 9a 83 9e; do
	wk cert selfsign --slot $s --subject "/CN=bench $s" --import >/dev/null
done

args=(--runs "$RUNS" --seconds "$SECONDS_PER_RUN" --reader "$READER"
	--module "pkcs11=$OURS")
[ -n "$OPENSC" ] && args+=(--module "opensc=$OPENSC")
if [ -n "$SOFTHSM" ] && command -v softhsm2-util >/dev/null; then
	mkdir "$T/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$T/tokens" >"$T/softhsm2.conf"
	export SOFTHSM2_CONF=$T/softhsm2.conf
	softhsm2-util --init-token --free --label bench --pin 123456 --so-pin 12345678 >/dev/null
	for k in EC:prime256v1:01 EC:edwards25519:06 rsa:2048:04; do
		pkcs11-tool --module "$SOFTHSM" --login --pin 123456 --keypairgen \
			--key-type "${k%:*}" --id "${k##*:}" >/dev/null 2>&1
	done
	args+=(--module "softhsm2=$SOFTHSM:bench")
fi

# the transport ceiling: the card that does nothing, in reader 1
if [ -n "${WALLETKEY_READER_1:-}" ]; then
	"$BUILD/bench/walletkey-echo-card" --vpcd "127.0.0.1:$WALLETKEY_VPCD_PORT_1" \
		>"$T/echo.log" 2>&1 &
	echo_pid=$!
	for _ in $(seq 100); do
		opensc-tool -l 2>/dev/null | grep -F -- "$WALLETKEY_READER_1" |
			grep -E '^[0-9]+ +Yes' >/dev/null && break
		sleep 0.1
	done
	args+=(--echo-reader "$WALLETKEY_READER_1")
fi

echo "bench/sign: reader '$READER'; modules: pkcs11${OPENSC:+, opensc}${SOFTHSM:+, softhsm2}"
"$BUILD/bench/bench_sign" "${args[@]}"

# what one signature costs in PC/SC calls and APDUs, from libwalletkey's
# trace (the module's too: it is libwalletkey inside; OpenSC and SoftHSM2
# are not traced)
echo "--- PC/SC calls and APDUs of one signature (after a first one)"
"$BUILD/bench/bench_sign" "${args[@]}" --trace >/dev/null 2>"$T/trace" || true
awk 'function out() { if (path != "" && path != "opensc" && path != "softhsm2") { printf "%-11s %-13s %2d APDUs", alg, path, ap + 0;
		for (c in n) printf "  %s %d", c, n[c]; printf "\n" } }
	/^@@ end/ { out(); path = ""; delete n; ap = 0; next }
	/^@@ / { alg = $2; path = $3; delete n; ap = 0; next }
	path == "opensc" || path == "softhsm2" { next }
	path != "" && /apdu >/ { ap++ }
	path != "" && match($0, /SCard[A-Za-z]+/) { n[substr($0, RSTART, RLENGTH)]++ }' "$T/trace"
