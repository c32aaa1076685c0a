#!/bin/sh
# walletkey-issuer's command line end to end: init, accounts, deposits,
# listings, revocation, and two TLS servers on one database.
# Usage: test_cli.sh PATH/TO/walletkey-issuer   (WK_PG_URL set: PostgreSQL)
set -eu
bin=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/wk-issuer-cli.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() { want=$1; shift; set +e; "$@" >"$dir/out" 2>"$dir/err"; rc=$?; set -e
	[ "$rc" = "$want" ] || { cat "$dir/out" "$dir/err" >&2; fail "$* exited $rc, want $want"; }; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

db=${WK_PG_URL:-sqlite:$dir/issuer.db}
key=$dir/issuer.key

expect_rc 0 "$bin" init --db "$db" --key-file "$key"
[ "$(stat -c %a "$key")" = 600 ] || fail "key file mode"
expect_rc 1 "$bin" init --db "$db" --key-file "$key"
grep -q "already holds an issuer" "$dir/err" || fail "second init"
expect_rc 2 "$bin" init --db "$db"

export WK_PW=correct-horse
expect_rc 0 "$bin" account-create --db "$db" --pan 6222000000000001 --name Alice --password-env WK_PW
expect_rc 2 "$bin" account-create --db "$db" --pan 6222000000000001 --name Again --password-env WK_PW
grep -q account_exists "$dir/err" || fail "duplicate account"
expect_rc 2 "$bin" account-create --db "$db" --pan 12ab --name Bad --password-env WK_PW
expect_rc 0 "$bin" deposit --db "$db" --pan 6222000000000001 --amount 12345
expect_rc 2 "$bin" deposit --db "$db" --pan 6222000000000009 --amount 1
expect_rc 2 "$bin" deposit --db "$db" --pan 6222000000000001 --amount 0
expect_rc 2 "$bin" deposit --db "$db" --pan 6222000000000001 --amount -5
expect_rc 2 "$bin" revoke --db "$db" --card 0011223344556677
expect_rc 0 "$bin" accounts --db "$db" --json
python3 - "$dir/out" <<'PY'
import json, sys
a = {x["kind"] + str(x["pan"]): x["balance"] for x in json.load(open(sys.argv[1]))}
assert a["customer6222000000000001"] == 12345, a
assert a["externalNone"] == -12345, a
assert sum(a.values()) == 0, a
PY
expect_rc 0 "$bin" ledger --db "$db" --json
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); assert len(e)==2 and sum(x["amount"] for x in e)==0, e' "$dir/out"
expect_rc 0 "$bin" oplog --db "$db" --json
python3 -c 'import json,sys; k=[x["kind"] for x in json.load(open(sys.argv[1]))]; assert k==["account.create","account.deposit"], k' "$dir/out"
expect_rc 0 "$bin" oplog --db "$db"
expect_rc 0 "$bin" loads --db "$db"
expect_rc 0 "$bin" cards --db "$db"
# books: the money listings in one snapshot, each member what its own
# listing prints; the table form heads each with "# NAME"
for l in accounts cards loads payments ledger; do
	expect_rc 0 "$bin" "$l" --db "$db" --json
	cp "$dir/out" "$dir/$l.json"
done
expect_rc 0 "$bin" books --db "$db" --json
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
b = json.load(open(d + "/out"))
names = ["accounts", "cards", "loads", "payments", "ledger"]
assert sorted(b) == sorted(names), list(b)
for n in names:
    assert b[n] == json.load(open("%s/%s.json" % (d, n))), (n, b[n])
assert len(b["ledger"]) == 2 and sum(x["balance"] for x in b["accounts"]) == 0, b
PY
expect_rc 0 "$bin" books --db "$db"
[ "$(grep -c '^# ' "$dir/out")" = 5 ] && grep -q '^# ledger$' "$dir/out" || fail "books table"
expect_rc 2 "$bin" books
# merchants: one per terminal id
expect_rc 0 "$bin" merchant-create --db "$db" --terminal 000000000042 --name Shop
expect_rc 2 "$bin" merchant-create --db "$db" --terminal 000000000042
grep -q merchant_exists "$dir/err" || fail "duplicate merchant"
expect_rc 2 "$bin" merchant-create --db "$db" --terminal 42
# a refused webhook or certificate makes no merchant
expect_rc 2 "$bin" merchant-create --db "$db" --terminal 000000000043 --webhook ftp://x
grep -q bad_url "$dir/err" || fail "ftp webhook"
expect_rc 2 "$bin" merchant-create --db "$db" --terminal 000000000043 --webhook http://example.com/h
expect_rc 2 "$bin" merchant-create --db "$db" --terminal 000000000043 --client-cert "$dir/none.pem"
grep -q bad_certificate "$dir/err" || fail "missing certificate"
expect_rc 2 "$bin" merchant-create --db "$db"
expect_rc 0 "$bin" merchant-create --db "$db" --terminal 0000000000AB --json
expect_rc 0 "$bin" merchants --db "$db" --json
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert [x["terminal_id"] for x in m]==["000000000042","0000000000ab"] and m[0]["name"]=="Shop" and all(x["balance"]==0 for x in m), m' "$dir/out"
expect_rc 0 "$bin" settlements --db "$db" --json
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))==[]' "$dir/out"
expect_rc 0 "$bin" transfers --db "$db" --json
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))==[]' "$dir/out"
expect_rc 0 "$bin" migrate --db "$db"

# no master key leaves the issuer: sam-keys is gone; a terminal gets a PSAM,
# its purchase key sealed to the PSAM card's own key (here a software key:
# the issuer's side is what is tested; tests/e2e/remote_settle.sh uses a card)
expect_rc 2 "$bin" sam-keys --db "$db" --key-file "$key" --out "$dir/mk.json"
grep -q "sam-keys is gone" "$dir/err" || fail "sam-keys"
[ ! -e "$dir/mk.json" ] || fail "sam-keys wrote a file"
openssl ecparam -name prime256v1 -genkey -noout -out "$dir/psam.key" 2>/dev/null
openssl pkey -in "$dir/psam.key" -pubout -outform DER -out "$dir/psam.der"
psam_req() {
	python3 - "$dir/psam.der" "$1" "$2" >"$dir/$3" <<'PY'
import base64, json, sys
der = open(sys.argv[1], "rb").read()
print(json.dumps({"format": "walletkey-psam-request", "version": 1,
    "card_id": sys.argv[2], "public_key": base64.b64encode(der).decode(),
    **({"extra": 1} if sys.argv[3] == "extra" else {})}))
PY
}
psam_req 0102030405060708 ok req.json
expect_rc 2 "$bin" psam-issue --db "$db" --key-file "$key" --terminal 000000000099 \
	--request "$dir/req.json" --out "$dir/psam.json"
grep -q merchant_not_found "$dir/err" || fail "psam for a terminal without a merchant"
expect_rc 2 "$bin" psam-issue --db "$db" --key-file "$key" --terminal 000000000042 \
	--request "$dir/req.json"
expect_rc 0 "$bin" psam-issue --db "$db" --key-file "$key" --terminal 000000000042 \
	--request "$dir/req.json" --out "$dir/psam.json" --json
[ "$(stat -c %a "$dir/psam.json")" = 600 ] || fail "psam file mode"
python3 - "$dir/psam.json" "$dir/out" <<'PY'
import base64, json, sys
p = json.load(open(sys.argv[1])); o = json.load(open(sys.argv[2]))
assert p["format"] == "walletkey-psam-keys" and p["terminal"] == "000000000042", p
assert p["card_id"] == "0102030405060708" and p["key_version"] == 1, p
m = base64.b64decode(p["message"])
assert m[0] == 0xE0 and "message" not in o and o["out"].endswith("psam.json"), o
PY
# never overwritten; the same PSAM again is sealed again; another PSAM for
# the terminal, or this one for another terminal, is refused
expect_rc 1 "$bin" psam-issue --db "$db" --key-file "$key" --terminal 000000000042 \
	--request "$dir/req.json" --out "$dir/psam.json"
expect_rc 0 "$bin" psam-issue --db "$db" --key-file "$key" --terminal 000000000042 \
	--request "$dir/req.json" --out "$dir/psam2.json"
expect_rc 2 "$bin" psam-issue --db "$db" --key-file "$key" --terminal 0000000000AB \
	--request "$dir/req.json" --out "$dir/psam3.json"
grep -q psam_exists "$dir/err" || fail "one PSAM key, two terminals"
psam_req 0102030405060709 ok req2.json
openssl ecparam -name prime256v1 -genkey -noout -out "$dir/psam.key" 2>/dev/null
openssl pkey -in "$dir/psam.key" -pubout -outform DER -out "$dir/psam.der"
psam_req 0102030405060709 ok req3.json
expect_rc 2 "$bin" psam-issue --db "$db" --key-file "$key" --terminal 000000000042 \
	--request "$dir/req3.json" --out "$dir/psam3.json"
grep -q psam_exists "$dir/err" || fail "two PSAMs for one terminal"
psam_req 0102030405060709 extra bad.json
expect_rc 2 "$bin" psam-issue --db "$db" --key-file "$key" --terminal 0000000000AB \
	--request "$dir/bad.json" --out "$dir/psam3.json"
echo '{"format":"walletkey-psam-request","version":1,"card_id":"01","public_key":"AA=="}' >"$dir/bad.json"
expect_rc 2 "$bin" psam-issue --db "$db" --key-file "$key" --terminal 0000000000AB \
	--request "$dir/bad.json" --out "$dir/psam3.json"
expect_rc 1 "$bin" psam-issue --db "$db" --key-file "$dir/none.key" --terminal 0000000000AB \
	--request "$dir/req3.json" --out "$dir/psam3.json"
[ ! -e "$dir/psam3.json" ] || fail "a refused psam-issue wrote a file"
expect_rc 0 "$bin" psams --db "$db" --json
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); assert [x["terminal_id"] for x in p]==["000000000042"], p' "$dir/out"

# a wrong key file does not open the secrets
head -c 32 /dev/urandom >"$dir/wrong.key"
expect_rc 1 "$bin" serve --db "$db" --key-file "$dir/wrong.key" --listen 127.0.0.1:0
grep -q "do not open" "$dir/err" || fail "wrong key file"

# the card manufacturers enrolment trusts (docs/attestation.md)
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=$1" -addext "basicConstraints=critical,$2" \
		-addext "keyUsage=critical,keyCertSign" -keyout "$dir/$1.key" \
		-out "$dir/$1.pem" 2>/dev/null
}
mkca mfg1 CA:TRUE
mkca mfg2 CA:TRUE
mkca leaf CA:FALSE
expect_rc 0 "$bin" manufacturers --db "$db" --key-file "$key" --json
[ "$(cat "$dir/out")" = "[]" ] || fail "manufacturers before any: $(cat "$dir/out")"
expect_rc 0 "$bin" manufacturer-add --db "$db" --key-file "$key" --cert "$dir/mfg1.pem"
cat "$dir/mfg1.pem" "$dir/mfg2.pem" >"$dir/both.pem"
expect_rc 0 "$bin" manufacturer-add --db "$db" --key-file "$key" --cert "$dir/both.pem" --json
[ "$(cat "$dir/out")" = '{"added":1}' ] || fail "adding one known and one new: $(cat "$dir/out")"
expect_rc 2 "$bin" manufacturer-add --db "$db" --key-file "$key" --cert "$dir/leaf.pem"
grep -q "not a CA" "$dir/err" || fail "a leaf certificate as a manufacturer"
expect_rc 2 "$bin" manufacturer-add --db "$db" --key-file "$key" --cert "$dir/nonexistent.pem"
expect_rc 2 "$bin" manufacturer-add --db "$db" --key-file "$key"
printf '%s\n' 0101010101010101010101010101010101010101010101010101010101010101 >"$dir/wrong.key"
expect_rc 1 "$bin" manufacturer-add --db "$db" --key-file "$dir/wrong.key" --cert "$dir/mfg1.pem"
expect_rc 0 "$bin" manufacturers --db "$db" --key-file "$key" --json
fp2=$(openssl x509 -in "$dir/mfg2.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
python3 - "$dir/out" "$fp2" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert len(m) == 2, m
assert sys.argv[2] in [x["fingerprint"] for x in m], m
assert all(x["subject"].startswith("/CN=mfg") for x in m), m
PY
expect_rc 0 "$bin" manufacturers --db "$db" --key-file "$key"
grep -q "$fp2" "$dir/out" || fail "manufacturers table"
expect_rc 0 "$bin" manufacturer-remove --db "$db" --fingerprint "$fp2"
expect_rc 2 "$bin" manufacturer-remove --db "$db" --fingerprint "$fp2"
expect_rc 2 "$bin" manufacturer-remove --db "$db" --fingerprint 12ab
expect_rc 2 "$bin" manufacturer-remove --db "$db"
expect_rc 0 "$bin" oplog --db "$db" --json
python3 -c 'import json,sys; k=[x["kind"] for x in json.load(open(sys.argv[1]))]; assert k.count("manufacturer.add")==2 and k.count("manufacturer.remove")==1, k' "$dir/out"
# init can trust one at once
expect_rc 0 "$bin" init --db "sqlite:$dir/mfg.db" --key-file "$dir/mfg.key" --manufacturer-ca "$dir/both.pem"
grep -q "trusting 2 card manufacturer" "$dir/out" || fail "init --manufacturer-ca"

# the purse keys new cards get as SM4 (docs/issuer.md "SM4 purse keys")
expect_rc 0 "$bin" key-algorithms --db "$db" --json
[ "$(cat "$dir/out")" = '{"dlk":"3des","dpk":"3des","dtk":"3des","dulk":"3des","duk":"3des","damk":"3des","drpk":"3des"}' ] ||
	fail "key-algorithms before a choice: $(cat "$dir/out")"
expect_rc 0 "$bin" key-algorithms --db "$db" --sm4 dpk,dtk
grep -q "^dpk	SM4$" "$dir/out" && grep -q "^dlk	3DES$" "$dir/out" || fail "key-algorithms --sm4 dpk,dtk"
grep -q "enrolled cards keep" "$dir/out" || fail "key-algorithms says who it is for"
for bad in "" "dpk," "aes" "dlk,,dpk" "all,dlk"; do
	expect_rc 2 "$bin" key-algorithms --db "$db" --sm4 "$bad"
	grep -q -- "--sm4" "$dir/err" || fail "key-algorithms --sm4 '$bad': no message"
done
expect_rc 0 "$bin" key-algorithms --db "$db" --json
[ "$(cat "$dir/out")" = '{"dlk":"3des","dpk":"sm4","dtk":"sm4","dulk":"3des","duk":"3des","damk":"3des","drpk":"3des"}' ] ||
	fail "a refused --sm4 changed the choice: $(cat "$dir/out")"
expect_rc 1 "$bin" key-algorithms --db "sqlite:$dir/none.db"
grep -q "not an issuer database" "$dir/err" || fail "key-algorithms without an issuer"
expect_rc 2 "$bin" init --db "sqlite:$dir/sm4x.db" --key-file "$dir/sm4x.key" --sm4 xyz
[ ! -e "$dir/sm4x.key" ] || fail "a refused init --sm4 made a key file"
expect_rc 0 "$bin" init --db "sqlite:$dir/sm4.db" --key-file "$dir/sm4.key" --sm4 all
expect_rc 0 "$bin" key-algorithms --db "sqlite:$dir/sm4.db" --json
[ "$(cat "$dir/out")" = '{"dlk":"sm4","dpk":"sm4","dtk":"sm4","dulk":"sm4","duk":"sm4","damk":"sm4","drpk":"sm4"}' ] ||
	fail "init --sm4 all: $(cat "$dir/out")"
# init --exists-ok on it: the choice stays; --sm4 there is not applied and
# says so (key-algorithms changes it)
expect_rc 0 "$bin" init --db "sqlite:$dir/sm4.db" --key-file "$dir/sm4.key" --exists-ok --sm4 none
grep -q "an issuer exists" "$dir/out" && grep -q "key-algorithms" "$dir/err" ||
	fail "init --exists-ok --sm4: $(cat "$dir/out" "$dir/err")"
expect_rc 0 "$bin" key-algorithms --db "sqlite:$dir/sm4.db" --json
[ "$(cat "$dir/out")" = '{"dlk":"sm4","dpk":"sm4","dtk":"sm4","dulk":"sm4","duk":"sm4","damk":"sm4","drpk":"sm4"}' ] ||
	fail "init --exists-ok --sm4 changed the choice: $(cat "$dir/out")"
expect_rc 0 "$bin" cards --db "$db" --json
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert all("key_algs" in x for x in c), c' "$dir/out"

# two TLS servers on the same database
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
for n in 1 2; do
	port=$(free_port)
	"$bin" serve --db "$db" --key-file "$key" --listen "127.0.0.1:$port" \
		--tls-cert "$dir/tls.crt" --tls-key "$dir/tls.key" >"$dir/serve$n.log" 2>&1 &
	pids="$pids $!"
	eval "port$n=$port"
done
for n in 1 2; do
	eval "port=\$port$n"
	ok=""
	for i in $(seq 50); do
		if curl -sf --cacert "$dir/tls.crt" "https://127.0.0.1:$port/v1/health" >/dev/null; then ok=1; break; fi
		sleep 0.1
	done
	[ -n "$ok" ] || { cat "$dir/serve$n.log" >&2; fail "server $n did not answer over TLS"; }
	code=$(curl -s -o "$dir/body" -w '%{http_code}' --cacert "$dir/tls.crt" \
		-X POST -d '{"request":' "https://127.0.0.1:$port/v1/loads")
	[ "$code" = 400 ] || fail "bad JSON over TLS: $code"
	grep -q '"error":"bad_json"' "$dir/body" || fail "bad JSON body"
done
ca1=$(curl -sf --cacert "$dir/tls.crt" "https://127.0.0.1:$port1/v1/ca")
ca2=$(curl -sf --cacert "$dir/tls.crt" "https://127.0.0.1:$port2/v1/ca")
[ "$ca1" = "$ca2" ] || fail "two instances disagree on the CA"
# plain HTTP to a TLS port fails
if curl -sf "http://127.0.0.1:$port1/v1/health" >/dev/null 2>&1; then fail "plain HTTP on TLS"; fi
# plain HTTP outside loopback is refused, with a message that says why;
# TLS on any address is fine
expect_rc 2 "$bin" serve --db "$db" --key-file "$key" --listen 0.0.0.0:0
grep -q "plain HTTP only on loopback" "$dir/err" || fail "plain HTTP on 0.0.0.0: $(cat "$dir/err")"
expect_rc 2 "$bin" serve --db "$db" --key-file "$key" --listen 10.1.2.3:0
grep -q -- "--tls-cert" "$dir/err" || fail "the refusal does not name --tls-cert"
port=$(free_port)
"$bin" serve --db "$db" --key-file "$key" --listen "0.0.0.0:$port" \
	--tls-cert "$dir/tls.crt" --tls-key "$dir/tls.key" >"$dir/serve0.log" 2>&1 &
pids="$pids $!"
ok=""
for i in $(seq 50); do
	if curl -sf --cacert "$dir/tls.crt" "https://127.0.0.1:$port/v1/health" >/dev/null; then ok=1; break; fi
	sleep 0.1
done
[ -n "$ok" ] || { cat "$dir/serve0.log" >&2; fail "TLS on 0.0.0.0 did not answer"; }
# the packaged unit's start: init --exists-ok on a database with an issuer
expect_rc 0 "$bin" init --db "$db" --key-file "$key" --exists-ok
grep -q "an issuer exists" "$dir/out" || fail "init --exists-ok"
# options of serve out of range
expect_rc 2 "$bin" serve --db "$db" --key-file "$key" --listen 127.0.0.1:0 --session-ttl 5
expect_rc 2 "$bin" serve --db "$db" --key-file "$key" --listen 127.0.0.1:0 --hash-concurrency 0
# the seal key never reaches the logs
if grep -q "$(head -c 64 "$key")" "$dir/serve1.log" "$dir/serve2.log"; then
	fail "the key file's contents appear in a log"
fi

# a passphrase-sealed issuer (SQLite, beside)
export WK_PP="a long passphrase"
expect_rc 0 "$bin" init --db "sqlite:$dir/pp.db" --passphrase-env WK_PP
expect_rc 1 "$bin" serve --db "sqlite:$dir/pp.db" --key-file "$key" --listen 127.0.0.1:0
grep -q "sealed with a passphrase" "$dir/err" || fail "seal mode mix-up"
WK_PP=wrong expect_rc 1 "$bin" serve --db "sqlite:$dir/pp.db" --passphrase-env WK_PP --listen 127.0.0.1:0
# an issuer that trusts no manufacturer says so when it starts
"$bin" serve --db "sqlite:$dir/pp.db" --passphrase-env WK_PP --listen 127.0.0.1:0 \
	>"$dir/serve3.log" 2>&1 &
pids="$pids $!"
for i in $(seq 50); do grep -q "listening" "$dir/serve3.log" && break; sleep 0.1; done
grep -q "no card manufacturer is trusted" "$dir/serve3.log" || fail "no warning without manufacturers"
echo "test_cli: ok"
