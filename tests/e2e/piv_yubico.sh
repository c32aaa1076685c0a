#!/bin/bash
# the PIV card edge driven by yubico-piv-tool (Debian 12: 2.2): identification,
# keys in every algorithm the tool knows, certificates, signatures, decipher,
# attestation, PIN/PUK/management key, retries and RESET. Runs inside
# tools/walletkey-sandbox (PCSCLITE_CSOCK_NAME, WALLETKEY_READER_0) on a fresh card.
set -euo pipefail
# grep -q stops reading at the first match; under pipefail the writer then
# dies of SIGPIPE and the pipeline fails at random: read everything instead
grep_q() { grep "$@" >/dev/null; }

R=${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
MGM=010203040506070801020304050607080102030405060708

Y() { yubico-piv-tool -r "$R" "$@"; }
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# a certificate for a card key: yubico-piv-tool 2.2's selfsign-certificate
# fails under OpenSSL 3 before it talks to the card (Yubico/yubico-piv-tool#388),
# so a throwaway CA on the host certifies the card's public key instead
cert_for() {	# pubkey.pem cn out.pem
	openssl x509 -req -in "$T/csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
	    -CAcreateserial -force_pubkey "$1" -subj "/CN=$2" -days 30 \
	    -out "$3" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/ca.key" -out "$T/ca.pem" -subj /CN=walletkey-test-ca -days 30 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/tmp.key" -subj /CN=tmp -out "$T/csr" 2>/dev/null

step "status and version of a fresh card"
Y -a status > "$T/status"
grep -q "^CHUID:" "$T/status" || fail "no CHUID"
grep -q "^CCC:" "$T/status" || fail "no CCC"
grep -q "^PIN tries left:	3" "$T/status" || fail "PIN tries"
Y -a version | grep_q "5\.7\.1" || fail "version"

step "generate 9a ECCP256, 9c RSA2048, 9d ECCP256, 9e ECCP384"
Y -k"$MGM" -a generate -s 9a -A ECCP256 -o "$T/9a.pub"
Y -k"$MGM" -a generate -s 9c -A RSA2048 -o "$T/9c.pub"
Y -k"$MGM" -a generate -s 9d -A ECCP256 -o "$T/9d.pub"
Y -k"$MGM" -a generate -s 9e -A ECCP384 --pin-policy=never -o "$T/9e.pub"
openssl pkey -pubin -in "$T/9c.pub" -noout -text | grep_q "2048 bit" || fail "9c size"

step "import certificates"
for s in 9a 9c 9d 9e; do
	cert_for "$T/$s.pub" "walletkey $s" "$T/$s.crt"
	Y -k"$MGM" -a import-certificate -s $s -i "$T/$s.crt"
	Y -a read-certificate -s $s -o "$T/$s.back"
	cmp <(openssl x509 -in "$T/$s.crt" -outform DER) \
	    <(openssl x509 -in "$T/$s.back" -outform DER) || fail "cert $s"
done
Y -a status | grep_q "Subject DN:	CN=walletkey 9c" || fail "status lists 9c"

step "signatures (9c is PIN-always) and decipher"
for s in 9a 9c 9e; do
	Y -P 123456 -a verify-pin -a test-signature -s $s -i "$T/$s.crt"
done
Y -P 123456 -a verify-pin -a test-decipher -s 9d -i "$T/9d.crt"
# 9a needs the PIN: without VERIFY the card answers 6982
if Y -a test-signature -s 9a -i "$T/9a.crt" 2>/dev/null; then fail "9a signed without PIN"; fi

step "import keys (RSA-2048 into 82, P-384 into 83), retired certificates, decipher"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/82.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/83.key" 2>/dev/null
Y -k"$MGM" -a import-key -s 82 -i "$T/82.key"
Y -k"$MGM" -a import-key -s 83 -i "$T/83.key" --pin-policy=once
for s in 82 83; do
	openssl req -new -x509 -key "$T/$s.key" -subj "/CN=walletkey $s" -days 30 \
	    -out "$T/$s.crt" 2>/dev/null
	Y -k"$MGM" -a import-certificate -s $s -i "$T/$s.crt"
	Y -P 123456 -a verify-pin -a test-signature -s $s -i "$T/$s.crt"
done
Y -P 123456 -a verify-pin -a test-decipher -s 82 -i "$T/82.crt"
# imported keys are not attested
if Y -a attest -s 82 >/dev/null 2>&1; then fail "attested an imported key"; fi

step "attestation: signed by F9, whose certificate is in 5FFF01"
Y -a attest -s 9a -o "$T/9a.att"
Y -a read-certificate -s f9 -o "$T/f9.crt"
openssl verify -partial_chain -CAfile "$T/f9.crt" "$T/9a.att" >/dev/null || fail "attestation chain"
cmp <(openssl pkey -pubin -in "$T/9a.pub" -outform DER) \
    <(openssl x509 -in "$T/9a.att" -noout -pubkey | openssl pkey -pubin -outform DER) || fail "attested key"
openssl x509 -in "$T/9a.att" -noout -text | grep_q "1.3.6.1.4.1.41482.3.8" || fail "policy extension"

step "PIN: wrong tries count, change, unblock with the PUK"
if Y -a verify-pin -P 654321 2>/dev/null; then fail "wrong PIN accepted"; fi
Y -a status | grep_q "^PIN tries left:	2" || fail "tries after a wrong PIN"
Y -a change-pin -P 123456 -N 24681357
if Y -a verify-pin -P 123456 2>/dev/null; then fail "old PIN accepted"; fi
Y -a verify-pin -P 24681357
Y -a unblock-pin -P 12345678 -N 123456
Y -a verify-pin -P 123456
Y -a change-puk -P 12345678 -N 87654321
Y -a change-puk -P 87654321 -N 12345678

step "management key: set, use, set back"
NEW=0F0E0D0C0B0A09080706050403020100F0E0D0C0B0A09080
Y -k"$MGM" -a set-mgm-key -n "$NEW"
if Y -k"$MGM" -a delete-certificate -s 9e 2>/dev/null; then fail "old 9B key accepted"; fi
Y -k"$NEW" -a delete-certificate -s 9e
Y -a status | grep_q "Slot 9e" && fail "9e certificate still listed"
Y -k"$NEW" -a set-mgm-key -n "$MGM"

step "objects: CHUID and CCC from the tool's templates"
Y -k"$MGM" -a set-chuid -a set-ccc
Y -a status | grep_q "^CHUID:	3019d4e739da739ced39ce739d836858210842108421" || fail "CHUID"

step "retries (needs 9B and PIN), then RESET once PIN and PUK are blocked"
Y -k"$MGM" -P 123456 -a verify-pin -a pin-retries --pin-retries=5 --puk-retries=4
Y -a status | grep_q "^PIN tries left:	5" || fail "pin-retries"
if Y -a reset 2>/dev/null; then fail "reset with PIN unblocked"; fi
for i in 1 2 3 4 5; do Y -a verify-pin -P 000000 2>/dev/null || true; done
for i in 1 2 3 4; do Y -a change-puk -P 00000000 -N 11111111 2>/dev/null || true; done
Y -a reset
Y -a status > "$T/status"
grep -q "^PIN tries left:	3" "$T/status" || fail "tries after reset"
grep -q "Slot 9a" "$T/status" && fail "certificate survived reset"
Y -a verify-pin -P 123456
Y -k"$MGM" -a generate -s 9a -A ECCP256 -o /dev/null
echo "piv_yubico: OK"
