#!/bin/bash
# bench/sign inside walletkey-sandbox: puts ECDSA P-256 (9a), Ed25519 (9d)
# and RSA-2048 (9e) keys with certificates on the card, then measures
# signatures per second through libwalletkey and through OpenSC's PKCS#11
# module, beside OpenSSL in process; then 9a against 9c (ECDSA P-256, PIN
# once both), whose every signature is a record of the audit log: the
# record's cost. Prints figures; never fails on time.
set -eu

BUILD=${WALLETKEY_BUILD_DIR:?run through meson or set WALLETKEY_BUILD_DIR}
READER=${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}
RUNS=${BENCH_RUNS:-5}
SECONDS_PER_RUN=${BENCH_SECONDS:-1}
MODULE=${OPENSC_PKCS11:-}
if [ -z "$MODULE" ]; then
	for d in "/usr/lib/$(gcc -print-multiarch 2>/dev/null || true)" /usr/lib64 /usr/lib; do
		if [ -f "$d/opensc-pkcs11.so" ]; then
			MODULE="$d/opensc-pkcs11.so"
			break
		fi
	done
fi
export WALLETKEY_PIN=123456
wk() { "$BUILD/tools/walletkey" --reader "$READER" "$@" 2>/dev/null; }

wk key generate --slot 9a --alg eccp256 >/dev/null
wk key generate --slot 9d --alg ed25519 >/dev/null
wk key generate --slot 9e --alg rsa2048 >/dev/null
# 9c as 9a (PIN once): what its signatures cost more is their audit record
wk key generate --slot 9c --alg eccp256 --pin-policy once >/dev/null
for s in 9a 9d 9e; do
	wk cert selfsign --slot $s --subject "/CN=bench $s" --import >/dev/null
done

echo "bench/sign: reader '$READER', PKCS#11 module ${MODULE:-none}"
args=(--runs "$RUNS" --seconds "$SECONDS_PER_RUN" --reader "$READER")
[ -n "$MODULE" ] && args+=(--module "$MODULE")
exec "$BUILD/bench/bench_sign" "${args[@]}"
