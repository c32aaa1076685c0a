#!/bin/bash
# a merchant authenticated by its TLS client certificate (docs/payments.md
# "Merchants"): the issuer serves TLS with --client-ca; a registered
# certificate from that CA is the merchant, anything else is not.
# usage: test_pay_tls.sh WALLETKEY-ISSUER
set -euo pipefail
ISS=$(readlink -f "$1")
T=$(mktemp -d "${TMPDIR:-/tmp}/wk-pay-tls.XXXXXX")
PID=""
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null || true
	[ -n "$PID" ] && wait "$PID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "test_pay_tls: FAIL: $*" >&2; exit 1; }
DB=sqlite:$T/issuer.db
[ -n "${WK_PG_URL:-}" ] && DB=$WK_PG_URL

cd "$T"
# the issuer's TLS certificate; the merchants' CA and two merchants; a
# stranger's CA with a certificate of its own
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout server.key -out server.pem 2>/dev/null
for ca in mca other; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$ca" -keyout $ca.key -out $ca.pem 2>/dev/null
done
cert() { # cert NAME CA
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=$1" -keyout $1.key -out $1.csr 2>/dev/null
	openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial \
		-days 2 -out $1.pem 2>/dev/null
}
cert shop mca
cert unregistered mca
cert stranger other

export WK_KEY=$(printf '%064x' 7)
printf '%s' "$WK_KEY" >issuer.key
"$ISS" init --db "$DB" --key-file issuer.key >/dev/null
export PW=password1
"$ISS" account-create --db "$DB" --pan 6222000000000001 --name A --password-env PW >/dev/null
out=$("$ISS" merchant-create --db "$DB" --terminal 00000000a001 --name Shop \
	--client-cert shop.pem --json)
fp=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_cert"])' <<<"$out")
want=$(openssl x509 -in shop.pem -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
[ "$fp" = "$want" ] || fail "the fingerprint is not the certificate's SHA-256: $fp"
"$ISS" merchant-cert --db "$DB" --terminal 00000000a001 --client-cert shop.pem \
	>/dev/null 2>&1 && fail "the same certificate registered twice"
"$ISS" merchant-cert --db "$DB" --terminal 00000000ffff --client-cert stranger.pem \
	>/dev/null 2>&1 && fail "a certificate for no merchant"

"$ISS" serve --db "$DB" --key-file issuer.key --listen 127.0.0.1:0 \
	--client-ca mca.pem >serve.out 2>&1 && fail "--client-ca without TLS was taken"
"$ISS" serve --db "$DB" --key-file issuer.key --listen 127.0.0.1:0 \
	--tls-cert server.pem --tls-key server.key --client-ca mca.pem >serve.out 2>&1 &
PID=$!
for _ in $(seq 100); do
	port=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' serve.out)
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { cat serve.out; fail "the issuer does not start"; }
URL=https://127.0.0.1:$port
body='{"payer":"6222000000000001","order_id":"o1","amount":100}'
code() { # code [CERT]: the HTTP status of a payment asked with CERT
	local c=()
	[ -n "${1:-}" ] && c=(--cert "$1.pem" --key "$1.key")
	curl -s -o out.json -w '%{http_code}' --cacert server.pem "${c[@]}" \
		-H 'Content-Type: application/json' -d "$body" "$URL/v1/payments"
}
# the merchant is known: the payer has no card yet (422), so it was let in
st=$(code shop)
[ "$st" = 422 ] && grep -q payer_has_no_card out.json || fail "the shop's certificate: $st $(cat out.json)"
st=$(code)
[ "$st" = 401 ] && grep -q merchant_auth_required out.json || fail "no certificate: $st $(cat out.json)"
st=$(code unregistered)
[ "$st" = 401 ] && grep -q unknown_certificate out.json || fail "an unregistered certificate: $st $(cat out.json)"
# a certificate of another CA: refused by TLS or not the merchant
st=$(code stranger) || true
[ "$st" = 401 ] || [ "$st" = 000 ] || fail "a stranger's certificate: $st"
echo "test_pay_tls: ok"
