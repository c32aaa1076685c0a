#!/bin/bash
# end-to-end: only a genuine card enrols (issue 11 §1, docs/attestation.md,
# docs/security.md "Enrolment and attestation"). A real issuer (SQLite)
# trusting the sandbox's manufacturer; an account holder with a valid
# password tries a software key with no attestation, with a self-signed or
# a foreign manufacturer's chain, with a genuine chain of another key or of
# another card, with an imported key in slot 82; real cards made without a
# manufacturer or by a foreign one try the CLI. Each attempt: a 4xx, no card
# stored, an oplog row, money conserved. Then the genuine enrolment, and on
# the enrolled card the host's GENERATE/IMPORT/MOVE/DELETE on slot 82 and
# the public demo DUK (raising the ED overdraft limit) are refused.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 --empty 2 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
R0=$(reader 0)
R1=$(reader 1)
R2=$(reader 2)
R3=$(reader 3)
ATT=$BUILD/tests/e2e/card_attacker
MFG=$BUILD/tools/walletkey-mfg
CARD=$BUILD/vcard/walletkey-card
ARC=2.25.158093926416397893608108191436371673262
EXTRA_PIDS=""
trap 'for p in $EXTRA_PIDS; do kill "$p" 2>/dev/null; done; cleanup' EXIT

# the serial of the card in reader NAME (remote_lib.sh's card_id takes a
# slot); nothing while the reader is empty (extra_card waits on it)
reader_serial() {
	"$WK" --json readers | python3 -c 'import json,sys
for r in json.load(sys.stdin)["readers"]:
    if r["name"] == sys.argv[1] and r["serial"]: print(r["serial"])' "$1"
}
n_cards() { "$ISS" cards --db "$DB" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
n_refused() {
	"$ISS" oplog --db "$DB" --json | python3 -c 'import json,sys; print(sum(1 for o in json.load(sys.stdin) if o["kind"] == "card.enrol.refused"))'
}
b64der() {	# a PEM certificate or request as base64 DER
	case $(head -c 30 "$1") in
	*REQUEST*) openssl req -in "$1" -outform DER ;;
	*) openssl x509 -in "$1" -outform DER ;;
	esac | base64 -w0
}

# POST /v1/enrolments {pan, password, card_id, csr, [attestation]}; the
# attestation files are PEM certificates, key attestation first
post_enrol() {
	local id=$1 csr=$2
	shift 2
	local chain=() f
	for f in "$@"; do chain+=("$(b64der "$f")"); done
	python3 - "$PAN1" "$WALLETKEY_ACCOUNT_PASSWORD" "$id" "$(b64der "$csr")" \
		"${chain[@]}" >"$T/req.json" <<'PY'
import json, sys
pan, pw, cid, csr = sys.argv[1:5]
req = {"pan": pan, "password": pw, "card_id": cid, "csr": csr}
if len(sys.argv) > 5:
    req["attestation"] = sys.argv[5:]
print(json.dumps(req))
PY
	curl -s -o "$T/resp.json" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @"$T/req.json" "$URL/v1/enrolments"
}

# NAME STATUS CODE ID CSR [CHAIN...]: refused as said, nothing stored, logged
refused() {
	local name=$1 want=$2 code=$3 cards refusals st
	shift 3
	cards=$(n_cards)
	refusals=$(n_refused)
	st=$(post_enrol "$@")
	check "$name: $want $code" '[ "$st" = "$want" ] && grep -q "\"error\":\"$code\"" "$T/resp.json"' ||
		cat "$T/resp.json"
	check "$name: no personalisation" '! grep -q personalisation "$T/resp.json"'
	check "$name: no card stored" '[ "$(n_cards)" = "$cards" ]'
	check "$name: logged" '[ "$(n_refused)" = $((refusals + 1)) ]'
	settled "$name"
}

# a CA, a device certificate for card ID and a key attestation of KEY, made
# with openssl as an attacker would: ROGUE_DIR/{ca,dev,leaf}.pem;
# SELF=1: the device certificate signs itself
forge() {
	local d=$1 id=$2 key=$3 self=${4:-0} idder
	mkdir -p "$d"
	idder=$(echo "$id" | sed 's/../&:/g; s/:$//')
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=walletkey manufacturer CA" -addext "basicConstraints=critical,CA:TRUE,pathlen:1" \
		-addext "keyUsage=critical,keyCertSign" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl ecparam -name prime256v1 -genkey -noout -out "$d/f9.key"
	openssl req -new -key "$d/f9.key" -subj "/CN=walletkey PIV Attestation/serialNumber=$id" \
		-out "$d/f9.csr"
	printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,digitalSignature\nsubjectKeyIdentifier=hash\n%s.1=DER:04:08:%s\n' \
		"$ARC" "$idder" >"$d/dev.ext"
	if [ "$self" = 1 ]; then
		openssl x509 -req -in "$d/f9.csr" -signkey "$d/f9.key" -days 30 \
			-extfile "$d/dev.ext" -out "$d/dev.pem" 2>/dev/null
	else
		printf 'authorityKeyIdentifier=keyid:always\n' >>"$d/dev.ext"
		openssl x509 -req -in "$d/f9.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-CAcreateserial -days 30 -extfile "$d/dev.ext" -out "$d/dev.pem" 2>/dev/null
	fi
	openssl req -new -key "$key" -subj "/CN=walletkey PIV Attestation 82" -out "$d/leaf.csr"
	printf 'authorityKeyIdentifier=keyid:always\n%s.1=DER:04:08:%s\n%s.2=DER:04:01:82\n%s.3=DER:04:01:01\n' \
		"$ARC" "$idder" "$ARC" "$ARC" >"$d/leaf.ext"
	openssl x509 -req -in "$d/leaf.csr" -CA "$d/dev.pem" -CAkey "$d/f9.key" \
		-CAcreateserial -days 30 -extfile "$d/leaf.ext" -out "$d/leaf.pem" 2>/dev/null
}

# a card in an empty slot, made by the caller's factory (ARGS for --init)
extra_card() {
	local slot=$1
	shift
	local port="WALLETKEY_VPCD_PORT_$slot"
	"$CARD" --store "$T/extra$slot.db" --seal-key "$T/extra$slot.key" --init --demo "$@" \
		--vpcd "127.0.0.1:${!port}" >"$T/extra$slot.log" 2>&1 &
	EXTRA_PIDS="$EXTRA_PIDS $!"
	for _ in $(seq 100); do
		[ -n "$(reader_serial "$(reader "$slot")")" ] && return 0
		sleep 0.1
	done
	die "card in slot $slot did not come up"
}

issuer_setup
settled "start"
ID0=$(reader_serial "$R0")
ID1=$(reader_serial "$R1")
[ -n "$ID0" ] && [ -n "$ID1" ] || die "no card ids"

# the attacker: a software P-256 key, and card 1's account password
openssl ecparam -name prime256v1 -genkey -noout -out "$T/soft.key"
openssl req -new -key "$T/soft.key" -subj "/CN=$ID1" -out "$T/soft1.csr"

refused "software key, no attestation" 403 attestation_required "$ID1" "$T/soft1.csr"
forge "$T/self" "$ID1" "$T/soft.key" 1
refused "software key, self-signed device certificate" 403 attestation_untrusted \
	"$ID1" "$T/soft1.csr" "$T/self/leaf.pem" "$T/self/dev.pem"
forge "$T/rogue" "$ID1" "$T/soft.key"
refused "software key, a manufacturer the issuer does not trust" 403 attestation_untrusted \
	"$ID1" "$T/soft1.csr" "$T/rogue/leaf.pem" "$T/rogue/dev.pem"
refused "software key, the foreign CA sent along" 403 attestation_untrusted \
	"$ID1" "$T/soft1.csr" "$T/rogue/leaf.pem" "$T/rogue/dev.pem" "$T/rogue/ca.pem"

# card 1's genuine chain for its own slot-82 key
"$WK" --reader "$R1" key generate --slot 82 --alg eccp256 --pin-policy never \
	--out "$T/c1-82.pub" >/dev/null 2>&1 || die "generate on card 1"
"$WK" --reader "$R1" key attest --slot 82 --out "$T/c1-82.att" >/dev/null 2>&1 || die "attest on card 1"
"$WK" --reader "$R1" cert export --slot f9 --out "$T/c1-f9.pem" >/dev/null 2>&1 || die "F9 of card 1"
check "the genuine chain verifies (walletkey-mfg)" \
	'"$MFG" verify --ca "$WALLETKEY_MFG_CA" --attestation "$T/c1-82.att" --device "$T/c1-f9.pem" --card-id "$ID1" --slot 82 >/dev/null'
refused "software key, card 1's genuine chain of another key" 403 attestation_wrong_key \
	"$ID1" "$T/soft1.csr" "$T/c1-82.att" "$T/c1-f9.pem"
# card 1's own key signs a request for card 0's id
"$WK" --reader "$R1" cert request --slot 82 --subject "/CN=$ID0" --out "$T/c1-as-0.csr" \
	>/dev/null 2>&1 || die "CSR on card 1"
refused "card 1's genuine key and chain, for card 0's id" 403 attestation_wrong_card \
	"$ID0" "$T/c1-as-0.csr" "$T/c1-82.att" "$T/c1-f9.pem"
# a key generated elsewhere on the card (9a) is not a wallet key
"$WK" --reader "$R1" key generate --slot 9a --alg eccp256 --out "$T/c1-9a.pub" >/dev/null 2>&1
"$WK" --reader "$R1" key attest --slot 9a --out "$T/c1-9a.att" >/dev/null 2>&1
"$WK" --reader "$R1" cert request --slot 9a --subject "/CN=$ID1" --out "$T/c1-9a.csr" \
	--pin-file <(printf 123456) >/dev/null 2>&1 || die "CSR on 9a"
refused "card 1's 9a key" 403 attestation_wrong_slot "$ID1" "$T/c1-9a.csr" "$T/c1-9a.att" "$T/c1-f9.pem"
# the software key imported into slot 82: the card never attests it
openssl pkcs8 -topk8 -nocrypt -in "$T/soft.key" -out "$T/soft.p8"
"$WK" --reader "$R1" key import --slot 82 --in "$T/soft.p8" --pin-policy never >/dev/null 2>&1 ||
	die "import on card 1"
"$WK" --reader "$R1" key attest --slot 82 --out "$T/c1-imp.att" >"$T/out" 2>&1 && rc=0 || rc=$?
check "an imported key in slot 82 is not attested" '[ "$rc" -ne 0 ]'
refused "imported key in slot 82 with an earlier attestation" 403 attestation_wrong_key \
	"$ID1" "$T/soft1.csr" "$T/c1-82.att" "$T/c1-f9.pem"
refused "imported key in slot 82, no attestation" 403 attestation_required "$ID1" "$T/soft1.csr"
# the request's shape
st=$(post_enrol "$ID1" "$T/soft1.csr" "$T/c1-82.att")
check "a chain of one certificate: 400 bad_attestation" '[ "$st" = 400 ] && grep -q bad_attestation "$T/resp.json"'
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["extra"]=1; print(json.dumps(r))' "$T/req.json" >"$T/req2.json"
st=$(curl -s -o "$T/resp.json" -w '%{http_code}' --data-binary @"$T/req2.json" "$URL/v1/enrolments")
check "an unknown field: 400 unknown_field" '[ "$st" = 400 ] && grep -q unknown_field "$T/resp.json"'
settled "bad requests"

# real cards: one made without a manufacturer, one by a foreign factory
extra_card 2
"$MFG" ca-init --key "$T/foreign.key" --cert "$T/foreign.pem" >/dev/null
extra_card 3 --attestation-ca "$T/foreign.key"
for r in "$R2" "$R3"; do
	n=$(n_refused)
	"$WK" --reader "$r" enroll --issuer "$URL" --account $PAN1 >"$T/out" 2>&1 && rc=0 || rc=$?
	check "enroll on $r (no trusted manufacturer): refused" '[ "$rc" -eq 1 ] && grep -q attestation_untrusted "$T/out"' ||
		cat "$T/out"
	check "enroll on $r: logged" '[ "$(n_refused)" = $((n + 1)) ]'
	check "enroll on $r: the card got no purse keys" '! grep -q "purse keys opened" "$T/out"'
done
settled "foreign cards"
check "no card enrolled by any attempt" '[ "$(n_cards)" = 0 ]'

# the genuine card enrols
out=$("$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 2>&1) && rc=0 || rc=$?
check "enroll card 0 (genuine)" '[ "$rc" -eq 0 ] && grep -q "attests that it generated" <<<"$out"' || echo "$out"
check "its attestation is in the oplog" '"$ISS" oplog --db "$DB" --json | python3 -c "import json,sys; assert any(o[\"kind\"] == \"card.enrol\" for o in json.load(sys.stdin))"'
settled "genuine enrolment"
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 10.00 --yes >/dev/null 2>&1 ||
	die "load on card 0"
settled "load"

# the host on the enrolled card: slot 82 stays the enrolled key
"$ATT" "$R0" slot82 >"$T/att" || die "card_attacker slot82"
for op in generate import move-out move-in delete sign; do
	check "slot 82 $op: 6982" 'grep -q "^$op 6982$" "$T/att"' || cat "$T/att"
done
check "slot 82 holds the enrolled key" '[ "$(sed -n "s/^before //p" "$T/att")" = "$(sed -n "s/^after //p" "$T/att")" ]'
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 1.00 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "the wallet still works" '[ "$rc" -eq 0 ]'
settled "slot 82"

# the public demo DUK: before enrolment it raises card 1's overdraft limit
# (harmless there: see below); on enrolled card 0 it is refused
"$ATT" "$R1" demo-duk 000100 >"$T/att" || die "card_attacker demo-duk"
check "demo DUK on an unenrolled demo card: accepted" 'grep -q "^update 9000$" "$T/att" && grep -q "^after 256$" "$T/att"' || cat "$T/att"
"$ATT" "$R0" demo-duk FFFFFF >"$T/att" || die "card_attacker demo-duk"
check "demo DUK on the enrolled card: refused (MAC)" 'grep -q "^update 9302$" "$T/att"' || cat "$T/att"
check "demo DUK: the ED balance did not move" '[ "$(sed -n "s/^before //p" "$T/att")" = "$(sed -n "s/^after //p" "$T/att")" ]'
settled "demo DUK"

# value loaded with the demo keys never enters the issuer's books: the
# enrolment stops before it reaches the issuer (and the card would refuse
# the issuer's keys over it)
hexs() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
printf '{"dlk":"%s","dpk":"%s","dtk":"%s","dulk":"%s","duk":"%s"}\n' \
	"$(hexs WK-DEMO-DLK-0001)" "$(hexs WK-DEMO-DPK-0001)" "$(hexs WK-DEMO-DTK-0001)" \
	"$(hexs WK-DEMO-DULK-001)" "$(hexs WK-DEMO-DUK-0001)" >"$T/demo-mk.json"
"$WK" wallet sam-init --master-keys "$T/demo-mk.json" --terminal 000000000042 \
	--out "$T/demo-sam.json" --insecure-master-keys >/dev/null 2>&1 || die "sam-init"
"$WK" --reader "$R1" wallet load --amount 5 --sam "$T/demo-sam.json" --insecure-master-keys >/dev/null 2>&1 ||
	die "a demo load on card 1"
cards=$(n_cards)
"$WK" --reader "$R1" enroll --issuer "$URL" --account $PAN1 --force >"$T/out" 2>&1 && rc=0 || rc=$?
check "enroll with a demo-loaded purse: refused" '[ "$rc" -eq 1 ] && grep -q "holds value" "$T/out"' || cat "$T/out"
check "enroll with a demo-loaded purse: nothing at the issuer" '[ "$(n_cards)" = "$cards" ]'

finish
