#!/bin/bash
# bench/p11 inside walletkey-sandbox: C_Sign rates for ECDSA P-256, Ed25519
# and RSA-2048, and C_Login latency, through walletkey-pkcs11.so, OpenSC's
# opensc-pkcs11.so (same card) and SoftHSM2 (software, for scale). Prints
# medians; never fails on time.
set -eu

M=${WALLETKEY_P11_MODULE:?run through meson or set WALLETKEY_P11_MODULE}
BUILD=${WALLETKEY_BUILD_DIR:?run through meson or set WALLETKEY_BUILD_DIR}
: "${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}"
RUNS=${BENCH_RUNS:-5}
SECS=${BENCH_SECONDS:-1}
B="$BUILD/bench/bench_p11"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SO=010203040506070801020304050607080102030405060708
libdir() {
	for d in "/usr/lib/$(gcc -print-multiarch 2>/dev/null || true)" /usr/lib64 /usr/lib; do
		[ -f "$d/$1" ] && { echo "$d/$1"; return; }
		[ -f "$d/softhsm/$1" ] && { echo "$d/softhsm/$1"; return; }
	done
}
OPENSC=${OPENSC_PKCS11:-$(libdir opensc-pkcs11.so)}
SOFTHSM=${SOFTHSM2_PKCS11:-$(libdir libsofthsm2.so)}
P() { pkcs11-tool --module "$1" "${@:2}" > /dev/null 2>&1; }

# the card: P-256 in 9A (01), Ed25519 in 9D (03), RSA-2048 in 9E (04), with
# certificates (OpenSC's PIV driver needs them to see a key)
P "$M" --login --login-type so --so-pin "$SO" --keypairgen --key-type EC:prime256v1 --id 01
P "$M" --login --login-type so --so-pin "$SO" --keypairgen --key-type EC:edwards25519 --id 03
P "$M" --login --login-type so --so-pin "$SO" --keypairgen --key-type rsa:2048 --id 04
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/k" \
    -subj /CN=tmp -out "$T/csr" 2> /dev/null
for id in 01 03 04; do
	pkcs11-tool --module "$M" --read-object --type pubkey --id $id -o "$T/pub$id" > /dev/null 2>&1
	openssl pkey -pubin -in "$T/pub$id" -out "$T/pub$id.pem"
	openssl x509 -req -in "$T/csr" -signkey "$T/k" -force_pubkey "$T/pub$id.pem" \
	    -subj "/CN=bench $id" -days 30 -outform DER -out "$T/c$id" 2> /dev/null
	P "$M" --login --login-type so --so-pin "$SO" --write-object "$T/c$id" --type cert --id $id
done
KEYS=(p256:ECDSA:01 ed25519:EDDSA:03 rsa2048:SHA256_RSA_PKCS:04)
ARGS=(--runs "$RUNS" --seconds "$SECS" --pin 123456)

echo "bench/p11: medians of $RUNS runs of ${SECS}s; login = C_Login + VERIFY;"
echo "startup = C_Initialize + C_GetSlotList + C_OpenSession + C_Login"
echo "--- walletkey-pkcs11.so"
"$B" --module "$M" "${ARGS[@]}" "${KEYS[@]}" | tee "$T/ours"
if [ -n "$OPENSC" ]; then
	echo "--- opensc-pkcs11.so (same card; 0.23 has no Ed25519 for PIV)"
	"$B" --module "$OPENSC" "${ARGS[@]}" "${KEYS[@]}" | tee "$T/opensc" || echo "(failed)"
fi
if [ -n "$SOFTHSM" ] && command -v softhsm2-util > /dev/null; then
	echo "--- libsofthsm2.so (software token)"
	mkdir "$T/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$T/tokens" > "$T/softhsm2.conf"
	export SOFTHSM2_CONF=$T/softhsm2.conf
	softhsm2-util --init-token --free --label bench --pin 123456 --so-pin 12345678 > /dev/null
	P "$SOFTHSM" --login --pin 123456 --keypairgen --key-type EC:prime256v1 --id 01
	P "$SOFTHSM" --login --pin 123456 --keypairgen --key-type EC:edwards25519 --id 03
	P "$SOFTHSM" --login --pin 123456 --keypairgen --key-type rsa:2048 --id 04
	"$B" --module "$SOFTHSM" --token bench "${ARGS[@]}" "${KEYS[@]}" | tee "$T/softhsm"
fi

# issue 17: what one C_SignInit and one C_Sign cost in PC/SC calls and
# APDUs, from libwalletkey's own trace (WALLETKEY_P11_DEBUG=trace)
echo "--- PC/SC calls and APDUs per operation (walletkey-pkcs11.so, after a first signature)"
WALLETKEY_P11_DEBUG=trace "$B" --module "$M" --trace --pin 123456 "${KEYS[@]}" \
    > /dev/null 2> "$T/trace" || true
awk '/^@@ end/ { if (op != "") printf "%-10s %-11s %2d SCardTransmit %2d SCardBeginTransaction %2d SCardEndTransaction %2d APDUs\n", key, op, tx + 0, bt + 0, et + 0, ap + 0; op = ""; next }
	/^@@ / { if (op != "") printf "%-10s %-11s %2d SCardTransmit %2d SCardBeginTransaction %2d SCardEndTransaction %2d APDUs\n", key, op, tx + 0, bt + 0, et + 0, ap + 0;
		key = $2; op = $3; tx = bt = et = ap = 0; next }
	op != "" && /SCardTransmit/ { tx++ }
	op != "" && /SCardBeginTransaction/ { bt++ }
	op != "" && /SCardEndTransaction/ { et++ }
	op != "" && /apdu >/ { ap++ }' "$T/trace"

# ratios: our module's signatures per second over the others'
echo "--- ratios (walletkey-pkcs11.so / other)"
for other in opensc softhsm; do
	[ -s "$T/$other" ] || continue
	awk -v other="$other" 'NR == FNR { if ($4 == "sig/s") ours[$1] = $3; next }
		$4 == "sig/s" && ($1 in ours) && $3 > 0 {
			printf "%-10s vs %-8s %8.2f\n", $1, other, ours[$1] / $3 }' "$T/ours" "$T/$other"
done
