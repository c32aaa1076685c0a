#!/bin/bash
# the PIV card edge driven by OpenSC (Debian 12: 0.23): identification, the
# 9B key with piv-tool, the PKCS#15 view, and PKCS#11 sign/verify/decrypt/
# derive/random through opensc-pkcs11.so. Keys and certificates are put on
# the card with yubico-piv-tool first. Runs inside tools/walletkey-sandbox
# (PCSCLITE_CSOCK_NAME, WALLETKEY_READER_0) on a fresh card.
set -euo pipefail
# grep -q stops reading at the first match; under pipefail the writer then
# dies of SIGPIPE and the pipeline fails at random: read everything instead
grep_q() { grep "$@" >/dev/null; }

R=${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}
M=${OPENSC_PKCS11:-$( (ls /usr/lib/*/opensc-pkcs11.so /usr/lib/opensc-pkcs11.so 2>/dev/null || true) | head -n 1)}
[ -n "$M" ] || { echo "opensc-pkcs11.so not found; set OPENSC_PKCS11" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
MGM=010203040506070801020304050607080102030405060708

Y() { yubico-piv-tool -r "$R" "$@"; }
P() { pkcs11-tool --module "$M" "$@"; }
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# one APDU through opensc-tool; prints response hex and SW on one line
apdu() {
	opensc-tool -r "$R" -s "$1" 2>/dev/null | awk '
	    /^Received/ { i = index($0, "SW1=0x"); j = index($0, "SW2=0x")
	        sw = substr($0, i + 6, 2) substr($0, j + 6, 2) }
	    /^[0-9A-F][0-9A-F] / { for (i = 1; i <= NF && $i ~ /^[0-9A-F][0-9A-F]$/; i++) d = d $i }
	    END { print d " " sw }'
}

step "identification"
opensc-tool -r "$R" -n | grep -qx "Personal Identity Verification Card" || fail "opensc-tool -n"
# the OpenSC maintainers' probe (OpenSC/OpenSC#3545): SELECT by 9-byte AID, GET VERSION
out=$(opensc-tool -r "$R" -s '00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00' -s '00 FD 00 00 03')
grep -q "61 .. 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00" <<<"$out" || fail "APT"
[ "$(apdu '00 FD 00 00 03')" = "050701 9000" ] || fail "GET VERSION"
[ "$(apdu '00 CB 3F FF 03 5C 01 7E 00')" = "7E124F0BA0000003080000100001005F2F024000 9000" ] || fail "discovery"
# printed information is PIN-protected: 6982 before VERIFY, checked before existence
[ "$(apdu '00 CB 3F FF 05 5C 03 5F C1 09 08')" = " 6982" ] || fail "5FC109 access rule"
[ "$(apdu '00 CB 3F FF 05 5C 03 5F C1 05 08')" = " 6A82" ] || fail "empty 9A certificate"

step "piv-tool: 9B mutual authentication and GENERATE"
printf '%s\n' "$MGM" > "$T/mgm.hex"
printf '%s\n' 0102030405060708010203040506070801020304050607FF > "$T/bad.hex"
if PIV_EXT_AUTH_KEY="$T/bad.hex" piv-tool -r "$R" -A M:9B:03 -G 9D:07 2>/dev/null; then
	fail "wrong 9B key accepted"
fi
[ "$(apdu '00 F7 00 9D')" = " 6A82" ] || fail "9D generated with a wrong 9B key"
# piv-tool 0.23 cannot turn the card's answer into a key under OpenSSL 3
# ("gen_key unable to gen RSA"); the card's side is checked with GET METADATA
PIV_EXT_AUTH_KEY="$T/mgm.hex" piv-tool -r "$R" -A M:9B:03 -G 9D:07 -o "$T/9d.piv" 2>/dev/null || true
apdu '00 F7 00 9D' | grep_q "^01010702020201030101048201098182010" || fail "9D RSA-2048 key"

step "keys and certificates for the PKCS#11 view (yubico-piv-tool)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/ca.key" -out "$T/ca.pem" -subj /CN=walletkey-test-ca -days 30 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/tmp.key" -subj /CN=tmp -out "$T/csr" 2>/dev/null
for spec in 9a:ECCP256 9c:RSA2048 9d:ECCP256 9e:ECCP384; do
	s=${spec%%:*}
	Y -k"$MGM" -a generate -s "$s" -A "${spec#*:}" -o "$T/$s.pub" >/dev/null
	openssl x509 -req -in "$T/csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
	    -force_pubkey "$T/$s.pub" -subj "/CN=walletkey $s" -days 30 -out "$T/$s.crt" 2>/dev/null
done
for s in 9a 9c 9e; do Y -k"$MGM" -a import-certificate -s $s -i "$T/$s.crt" >/dev/null; done
# and one written by piv-tool (PUT DATA 53 {70, 71, FE} after 9B auth)
# (0.23's piv-tool exits with the number of bytes written; the object is checked)
PIV_EXT_AUTH_KEY="$T/mgm.hex" piv-tool -r "$R" -A M:9B:03 -C 9D -i "$T/9d.crt" || true
apdu '00 CB 3F FF 05 5C 03 5F C1 0B 00' | grep_q "^5382....708201" || fail "piv-tool -C 9D"

step "PKCS#15 and PKCS#11 objects"
pkcs15-tool -r "$R" -D > "$T/p15"
grep -q "walletkey 9a" "$T/p15" || fail "pkcs15-tool 9a"
P -L > "$T/slots"
grep -q "token label *: walletkey 9a" "$T/slots" || fail "token label"
P -O > "$T/objs"
for id in 01 02 03 04; do
	grep -A4 "Certificate Object" "$T/objs" | grep_q "ID: *$id" || fail "certificate $id"
done

step "pkcs11-tool -t (RSA sign, verify, decrypt; 9C needs a context-specific login)"
P -l -p 123456 -t > "$T/t" 2>&1 || { cat "$T/t"; fail "pkcs11-tool -t"; }
grep -q "No errors" "$T/t" || fail "pkcs11-tool -t"

step "ECDSA P-256 (9A) and P-384 (9E) through PKCS#11, verified with openssl"
head -c 32 /dev/urandom > "$T/h32"
P -l -p 123456 --sign -m ECDSA --id 01 -i "$T/h32" -o "$T/sig" --signature-format openssl 2>/dev/null
openssl pkeyutl -verify -pubin -inkey "$T/9a.pub" -sigfile "$T/sig" -in "$T/h32" >/dev/null || fail "9A ECDSA"
head -c 48 /dev/urandom > "$T/h48"
P -l -p 123456 --sign -m ECDSA --id 04 -i "$T/h48" -o "$T/sig4" --signature-format openssl 2>/dev/null
openssl pkeyutl -verify -pubin -inkey "$T/9e.pub" -sigfile "$T/sig4" -in "$T/h48" >/dev/null || fail "9E ECDSA"

step "ECDH P-256 with 9D"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/peer.key" 2>/dev/null
openssl pkey -in "$T/peer.key" -pubout -outform DER -out "$T/peer.der"
P -l -p 123456 --derive -m ECDH1-DERIVE --id 03 -i "$T/peer.der" -o "$T/z.card" 2>/dev/null
openssl pkeyutl -derive -inkey "$T/peer.key" -peerkey "$T/9d.pub" -out "$T/z.host"
cmp "$T/z.card" "$T/z.host" || fail "ECDH"

step "C_GenerateRandom (9B GET CHALLENGE form)"
P --generate-random 64 -o "$T/rnd" 2>/dev/null
[ "$(stat -c %s "$T/rnd")" = 64 ] || fail "random"

step "wrong PIN through PKCS#11 counts and logs out"
if P -l -p 999999 --sign -m ECDSA --id 01 -i "$T/h32" -o "$T/sig" 2>/dev/null; then fail "wrong PIN"; fi
[ "$(apdu '00 20 00 80')" = " 63C2" ] || fail "tries after a wrong PIN"
P -l -p 123456 --sign -m ECDSA --id 01 -i "$T/h32" -o "$T/sig" 2>/dev/null
# the PIN stays verified after pkcs11-tool leaves the card (no reset), so
# the counter is read from GET METADATA
[ "$(apdu '00 F7 00 80')" = "0101FF05010106020303 9000" ] || fail "tries restored"
echo "piv_opensc: OK"
