#!/bin/bash
# the GM applet's container keys through walletkey-pkcs11.so with the
# vendor-defined SM2 mechanisms (docs/pkcs11.md): pkcs11-tool lists the key,
# signs with CKM_WK_SM2_SM3 after the context login with the GM user PIN,
# and OpenSSL verifies the signature with the SM2 id; a wrong GM PIN fails
. "$(dirname "$0")/lib.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
MOD=${WALLETKEY_P11_MODULE:?}
export WALLETKEY_GM_PIN=12345678
walletkey gm container-create c1 >/dev/null
walletkey gm keygen --container c1 --out "$dir/pub.pem"
# pkcs11-tool uses its one PIN for the user and the context login: make the
# GM user PIN the PIV PIN
WALLETKEY_GM_NEW_PIN=123456 walletkey gm pin change >/dev/null
pkcs11-tool --module "$MOD" -M | grep -qi 'd74b0002' ||
	fail "CKM_WK_SM2_SM3 (0xd74b0002) is not listed"
pkcs11-tool --module "$MOD" -l -p 123456 -O >"$dir/objects"
grep -q 'GM private key c1' "$dir/objects" || { cat "$dir/objects"; fail "no GM key object"; }
printf 'signed through PKCS#11' >"$dir/msg"
id=$(printf 'gm:c1' | od -An -tx1 | tr -d ' \n')
pkcs11-tool --module "$MOD" -l -p 123456 --sign -m 0xD74B0002 --id "$id" \
	-i "$dir/msg" -o "$dir/raw"
[ "$(stat -c %s "$dir/raw")" = 64 ] || fail "the signature is not r || s"
python3 - "$dir/raw" "$dir/sig" <<'EOP'
import sys
raw = open(sys.argv[1], 'rb').read()
def der_int(v):
    v = v.lstrip(b'\0') or b'\0'
    if v[0] & 0x80:
        v = b'\0' + v
    return b'\x02' + bytes([len(v)]) + v
body = der_int(raw[:32]) + der_int(raw[32:])
open(sys.argv[2], 'wb').write(b'\x30' + bytes([len(body)]) + body)
EOP
openssl pkeyutl -verify -pubin -inkey "$dir/pub.pem" -rawin -in "$dir/msg" \
	-digest sm3 -pkeyopt distid:1234567812345678 -sigfile "$dir/sig" >/dev/null
# the module verifies it too
pkcs11-tool --module "$MOD" --verify -m 0xD74B0002 --id "$id" \
	-i "$dir/msg" --signature-file "$dir/raw" | grep -qi 'valid' ||
	fail "the module does not verify its signature"
# CKM_WK_SM3 digests as OpenSSL's SM3 does
pkcs11-tool --module "$MOD" --hash -m 0xD74B0003 -i "$dir/msg" -o "$dir/sm3"
cmp "$dir/sm3" <(openssl dgst -sm3 -binary "$dir/msg") || fail "SM3 digest differs"
# a wrong GM PIN at the context login: refused, one try spent
WALLETKEY_GM_PIN=123456 walletkey gm pin change --new-pin-file <(echo 654321) >/dev/null
if pkcs11-tool --module "$MOD" -l -p 123456 --sign -m 0xD74B0002 --id "$id" \
	-i "$dir/msg" -o "$dir/raw2" 2>"$dir/err"; then
	fail "signed with a wrong GM PIN"
fi
WALLETKEY_GM_PIN=654321 walletkey --json gm pin info | jq -e '.tries_left == 9' >/dev/null ||
	fail "the wrong context PIN did not cost exactly one try"
echo "p11_gm: OK"
