#!/bin/bash
# GM signatures in the audit log (docs/audit.md "Signatures and
# decryptions"): a signature through the SKF library (a client that knows
# nothing of walletkey), through walletkey gm and through PKCS#11 is each a
# record of type gm-signature in an exported log that verifies, with the
# SHA-256 of what was signed and a signature count without gaps; then
# signatures with kill -9 of the card at random instants: every signature a
# client received has its record, the counts still run without a gap, and
# the chain still verifies
set -euo pipefail
skf_client=$1
skf_lib=$2
MOD=$3
. "$(dirname "$0")/../e2e/lib.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export WALLETKEY_GM_PIN=12345678 WALLETKEY_PIN=123456

sha20() { sha256sum "$1" | cut -c1-20; }
export_all() {
	walletkey --json audit export --format json --out "$dir/a.json" >/dev/null ||
		fail "audit export"
	walletkey audit verify "$dir/a.json" >"$dir/v.log" 2>&1 ||
		{ cat "$dir/v.log"; fail "the exported log does not verify"; }
	walletkey audit verify --card >"$dir/v.log" 2>&1 ||
		{ cat "$dir/v.log"; fail "the card's log does not verify"; }
	jq -c '[.records[] | select(.type == "gm-signature")]' "$dir/a.json" >"$dir/gm.json"
}
gm_count() { jq length "$dir/gm.json"; }
# the records' counters are 1..n, in the log's order
counters_ok() {
	jq -e '[.[].counter] == [range(1; length + 1)]' "$dir/gm.json" >/dev/null
}
has_record() {
	jq -e --arg t "sha256 $1" 'any(.[]; .target == $t)' "$dir/gm.json" >/dev/null
}

# the card signs the exports' chain head with its wallet key (slot 82)
walletkey key generate --slot 82 --alg eccp256 >/dev/null 2>&1 ||
	fail "key generate --slot 82"
walletkey cert selfsign --slot 82 --subject "/CN=walletkey wallet" \
	--days 365 --import >/dev/null 2>&1 || fail "cert selfsign --slot 82"

# 1. SKF: SKF_ECCSignData over e (the digest form)
"$skf_client" "$skf_lib" 12345678 "pay 12.30" "$dir/skf.der" "$dir/skf.sig" >/dev/null
export_all
expect_eq "records after the SKF signature" "$(gm_count)" 1
jq -e '.[0] | .origin == "card" and (.source | test("^GM [0-9]+/[0-9]+ sign digest [0-9a-f]{12}$"))
	and .amount_fen == 0 and .counter == 1' "$dir/gm.json" >/dev/null ||
	{ cat "$dir/gm.json"; fail "the SKF signature's record"; }

# 2. walletkey gm: the message form, its SHA-256 in the record
walletkey gm container-create c1 >/dev/null
walletkey gm keygen --container c1 --out "$dir/pub.pem"
printf 'contract 2026-12-07 no. 1' >"$dir/m1"
walletkey gm sign --container c1 --in "$dir/m1" --out "$dir/s1"
# 3. PKCS#11: CKM_WK_SM2_SM3 (pkcs11-tool takes one PIN: make the GM
# user PIN the PIV PIN)
WALLETKEY_GM_NEW_PIN=123456 walletkey gm pin change >/dev/null
export WALLETKEY_GM_PIN=123456
printf 'signed through PKCS#11' >"$dir/m2"
id=$(printf 'gm:c1' | od -An -tx1 | tr -d ' \n')
pkcs11-tool --module "$MOD" -l -p 123456 --sign -m 0xD74B0002 --id "$id" \
	-i "$dir/m2" -o "$dir/s2" >/dev/null 2>&1 || fail "pkcs11-tool --sign"
export_all
expect_eq "records after three signatures" "$(gm_count)" 3
counters_ok || { cat "$dir/gm.json"; fail "the signature counts"; }
has_record "$(sha20 "$dir/m1")" || { cat "$dir/gm.json"; fail "no record of the gm sign"; }
has_record "$(sha20 "$dir/m2")" || { cat "$dir/gm.json"; fail "no record of the PKCS#11 signature"; }
jq -e --arg t "sha256 $(sha20 "$dir/m2")" '.[] | select(.target == $t) |
	.source | test("^GM [0-9]+/[0-9]+ sign message [0-9a-f]{12}$")' "$dir/gm.json" >/dev/null ||
	fail "the PKCS#11 signature's source"
walletkey --json audit export --type gm-signature --format json --out "$dir/t.json" >/dev/null
expect_eq "--type gm-signature" "$(jq '.records | length' "$dir/t.json")" 3

# 4. kill -9 of the card while it signs, at random instants
got=()
for ((i = 1; i <= 8; i++)); do
	printf 'order %d of the crash loop' "$i" >"$dir/k$i"
	timeout 60 walletkey gm sign --container c1 --in "$dir/k$i" --out "$dir/ks$i" \
		>/dev/null 2>&1 &
	cli=$!
	printf -v delay '0.%02d' $((RANDOM % 70))
	sleep "$delay"
	"$WALLETKEY_SANDBOX/bin/card-kill" 0 || fail "card-kill"
	"$WALLETKEY_SANDBOX/bin/card-start" 0 >/dev/null || fail "card-start"
	if wait "$cli"; then
		got+=("$i")
		openssl pkeyutl -verify -pubin -inkey "$dir/pub.pem" -rawin \
			-in "$dir/k$i" -digest sm3 -pkeyopt distid:1234567812345678 \
			-sigfile "$dir/ks$i" >/dev/null || fail "signature $i does not verify"
	fi
done
# and one right after a signature the client received
printf 'the last order' >"$dir/k9"
walletkey gm sign --container c1 --in "$dir/k9" --out "$dir/ks9"
"$WALLETKEY_SANDBOX/bin/card-kill" 0 || fail "card-kill"
"$WALLETKEY_SANDBOX/bin/card-start" 0 >/dev/null || fail "card-start"
got+=(9)
export_all
counters_ok || { cat "$dir/gm.json"; fail "the signature counts after the kills"; }
for i in "${got[@]}"; do
	has_record "$(sha20 "$dir/k$i")" ||
		{ cat "$dir/gm.json"; fail "signature $i was received but has no record"; }
done
n=$(gm_count)
[ "$n" -ge $((3 + ${#got[@]})) ] && [ "$n" -le 12 ] ||
	fail "$n records for ${#got[@]} signatures received of 9 (and 3 before)"
echo "gm_audit: OK (${#got[@]} of 9 signatures through kills received, $n records)"
