#!/bin/bash
# the SKF client that knows nothing of walletkey, against a real card through
# pcscd (in the sandbox): its signature verifies with OpenSSL's SM2 and the
# distinguishing id, and fails with another id or another message
set -euo pipefail
client=$1
lib=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
msg="pay 12.30 to merchant 0042"
"$client" "$lib" 12345678 "$msg" "$dir/pub.der" "$dir/sig.der"
printf '%s' "$msg" >"$dir/msg"
openssl pkey -pubin -inform DER -in "$dir/pub.der" -text -noout | grep -q 'SM2' ||
	{ echo "the public key is not an SM2 key" >&2; exit 1; }
openssl pkeyutl -verify -pubin -keyform DER -inkey "$dir/pub.der" -rawin \
	-in "$dir/msg" -digest sm3 -pkeyopt distid:1234567812345678 \
	-sigfile "$dir/sig.der"
if openssl pkeyutl -verify -pubin -keyform DER -inkey "$dir/pub.der" -rawin \
	-in "$dir/msg" -digest sm3 -pkeyopt distid:1234567812345679 \
	-sigfile "$dir/sig.der" >/dev/null 2>&1; then
	echo "verified with the wrong id" >&2
	exit 1
fi
printf 'pay 99.99' >"$dir/other"
if openssl pkeyutl -verify -pubin -keyform DER -inkey "$dir/pub.der" -rawin \
	-in "$dir/other" -digest sm3 -pkeyopt distid:1234567812345678 \
	-sigfile "$dir/sig.der" >/dev/null 2>&1; then
	echo "verified another message" >&2
	exit 1
fi
# a wrong PIN is refused by the library and the card, and costs a try
if "$client" "$lib" 87654321 "$msg" "$dir/p2" "$dir/s2" 2>"$dir/err"; then
	echo "signed with a wrong PIN" >&2
	exit 1
fi
grep -q 'SKF_VerifyPIN: 0x0A000024' "$dir/err"
echo "skf_client: OK"
