#!/bin/bash
# end-to-end: the whole history on the key (docs/audit.md "The bank's
# records", "Signatures and decryptions"). Two enrolled cards and the real
# issuer. walletkey audit sync brings the account's transactions the card
# did not see (a deposit, a load the card never credited, given back) into
# the card's log, chained and marked as the bank's, and they go back to the
# issuer with the card's own; statements show both origins and filter by
# origin; a 9C signature is a record whose digest is what was signed. The
# attacks: forged, changed, replayed and another card's records, and the
# issuer's door without the holder's session. Money is conserved after
# every step.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
R0=$(reader 0)
R1=$(reader 1)
AID=f0574b4155444954
EXTRA_DEPOSITS=0

issuer_setup
"$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 >/dev/null 2>&1 || die "enroll card 0"
"$WK" --reader "$R1" enroll --issuer "$URL" --account $PAN1 >/dev/null 2>&1 || die "enroll card 1"
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 20 --yes >/dev/null 2>&1 || die "load card 0"
ID0=$(card_id 0)
ID1=$(card_id 1)
sync0() { "$WK" --reader "$R0" --json audit sync --issuer "$URL" 2>"$T/sync.err"; }
head0() { "$WK" --reader "$R0" --json audit status | jq -r .head; }
export0() { "$WK" --reader "$R0" --json audit export --format json --out "$T/e.json" "$@" >/dev/null 2>&1; }
member() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
settled "enrolled and loaded"

# ---- 1. what happened before the card joined the account is not its ----
out=$(sync0) && rc=0 || rc=$?
check "first sync: the card's own load, no bank record (the deposit came before enrolment)" \
	'[ "$rc" -eq 0 ] && [ "$(member bank_records <<<"$out")" = 0 ] && [ "$(head0)" = 1 ]' ||
	{ echo "$out"; cat "$T/sync.err"; }

# ---- 2. a deposit after enrolment ----
"$ISS" deposit --db "$DB" --pan $PAN0 --amount 5000 >/dev/null || die "deposit"
EXTRA_DEPOSITS=5000
out=$(sync0) && rc=0 || rc=$?
check "sync: the deposit comes to the card, one bank record" \
	'[ "$rc" -eq 0 ] && [ "$(member bank_records <<<"$out")" = 1 ] && [ "$(head0)" = 2 ]' ||
	{ echo "$out"; cat "$T/sync.err"; }
export0 --origin issuer || die "export --origin issuer"
check "the bank's record: a deposit of 50.00 into the account, marked as the issuer's" \
	'[ "$(jq -r ".records | length" "$T/e.json")" = 1 ] &&
	 [ "$(jq -r ".records[0].type" "$T/e.json")" = deposit ] &&
	 [ "$(jq -r ".records[0].origin" "$T/e.json")" = issuer ] &&
	 [ "$(jq -r ".records[0].amount" "$T/e.json")" = 50.00 ] &&
	 [ "$(jq -r ".records[0].source" "$T/e.json")" = "outside the bank" ] &&
	 [ "$(jq -r ".records[0].target" "$T/e.json")" = "account $PAN0" ] &&
	 [ "$(jq -r ".records[0].balance_fen" "$T/e.json")" = "$(( DEPOSIT - 2000 + 5000 ))" ]' || cat "$T/e.json"
export0 --origin card || die "export --origin card"
check "--origin card: the card's own records only" \
	'[ "$(jq -r "[.records[] | .origin] | unique | join(\",\")" "$T/e.json")" = card ]'
out=$(sync0) && rc=0 || rc=$?
check "the next sync: the bank's record went up with the card's own, nothing new" \
	'[ "$rc" -eq 0 ] && [ "$(member bank_records <<<"$out")" = 0 ] && [ "$(member acked <<<"$out")" = 2 ]' ||
	{ echo "$out"; cat "$T/sync.err"; }
check "the log verifies, alone and against the issuer" \
	'"$WK" --reader "$R0" audit verify --card >/dev/null 2>&1 && "$WK" --reader "$R0" audit verify --card --issuer "$URL" >"$T/v.log" 2>&1' || cat "$T/v.log"
settled "a deposit"

# ---- 3. a load the card never credited, given back ----
WALLETKEY_FAULT_AT=granted "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 2 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "the CLI killed after the grant" '[ "$rc" -eq 137 ]'
"$WK" --reader "$R0" wallet recover >"$T/x.log" 2>&1 || { cat "$T/x.log"; die "recover"; }
out=$(sync0) && rc=0 || rc=$?
check "sync: the reversal is the bank's record (the card never saw the load)" \
	'[ "$rc" -eq 0 ] && [ "$(member bank_records <<<"$out")" = 1 ]' || { echo "$out"; cat "$T/sync.err"; }
export0 --type reversal || die "export --type reversal"
check "reversal: 2.00 back into the account" \
	'[ "$(jq -r ".records | length" "$T/e.json")" = 1 ] && [ "$(jq -r ".records[0].amount" "$T/e.json")" = 2.00 ] &&
	 [ "$(jq -r ".records[0].source" "$T/e.json")" = "card $ID0" ]'
settled "a reversal"

# ---- 4. statements show both origins ----
"$WK" --reader "$R0" audit export --format csv --out "$T/s.csv" >/dev/null 2>&1 || die "export csv"
check "the CSV statement has the origin column with both" \
	'head -1 "$T/s.csv" | grep -c "\"origin\"$" >/dev/null && grep -q "\"issuer\"$" "$T/s.csv" && grep -q "\"card\"$" "$T/s.csv"'
"$WK" --reader "$R0" audit report --out "$T/r.html" --origin issuer >/dev/null 2>&1 || die "report"
check "the HTML report filtered to the bank's records" \
	'[ "$(grep -o "<tr class=\"tx issuer\">" "$T/r.html" | wc -l)" = 2 ] && ! grep -q "<tr class=\"tx card\">" "$T/r.html"'
"$WK" --reader "$R0" audit export --origin bank >/dev/null 2>&1 && rc=0 || rc=$?
check "--origin takes card or issuer only" '[ "$rc" -eq 2 ]'

# ---- 5. the attacks on the bank's records ----
H=$(head0)
sel="00a4040008$AID"
# a batch signed with another key (a host process or the network forging
# a deposit), then the genuine batch with a changed byte
python3 - "$ID0" "$T/tbs.bin" <<'PY'
import sys
serial = bytes.fromhex(sys.argv[1])
rec = bytearray(86)
rec[10] = 0x81                          # a deposit
rec[11:15] = bytes.fromhex("20261207")
rec[18:22] = (99999999).to_bytes(4, "big")
rec[48:54] = (999999).to_bytes(6, "big")   # the event number
open(sys.argv[2], "wb").write(b"WKAUDIT-ISS/1" + serial + (1).to_bytes(2, "big") + bytes(rec))
PY
openssl ecparam -genkey -name prime256v1 -noout -out "$T/forger.pem" 2>/dev/null || die "forger key"
openssl dgst -sha256 -sign "$T/forger.pem" -out "$T/forged.sig" "$T/tbs.bin" || die "forger signature"
cat "$T/tbs.bin" "$T/forged.sig" | od -An -tx1 -v | tr -d ' \n' >"$T/forged.hex"
apdu_of() { python3 -c 'import sys; d=bytes.fromhex(open(sys.argv[1]).read().strip()); print("80ea0000" + ("%02x" % len(d) if len(d) < 256 else "00%04x" % len(d)) + d.hex())' "$1"; }
# the status word of the last of the APDUs sent to card I, and its data
apdu_last() { local line; line=$("$WK" --reader "$(reader "$1")" apdu "${@:2}" | tail -n 1); SW=${line##* }; DATA=${line% *}; [ "$DATA" != "$line" ] || DATA=; }
apdu_last 0 "$sel" "$(apdu_of "$T/forged.hex")"
check "a forged batch (another key): 6982, the log unchanged" '[ "$SW" = 6982 ] && [ "$(head0)" = "$H" ]'
icurl 0 -fsS "$URL/v1/audit/$ID0/bank/0" | jq -r .batch >"$T/genuine.hex"
check "the genuine batch of the account: two records" '[ "$(wc -c <"$T/genuine.hex")" -gt 300 ]'
apdu_last 0 "$sel" "$(apdu_of "$T/genuine.hex")"
check "the genuine batch replayed: 9000, nothing stored twice" '[ "$SW" = 9000 ] && [ "${DATA:0:4}" = 0000 ] && [ "$(head0)" = "$H" ]'
python3 - "$T/genuine.hex" "$T/changed.hex" <<'PY'
import sys
d = bytearray.fromhex(open(sys.argv[1]).read().strip())
d[23 + 18] ^= 0x01                      # the first record's amount
open(sys.argv[2], "w").write(d.hex())
PY
apdu_last 0 "$sel" "$(apdu_of "$T/changed.hex")"
check "a changed amount in a signed batch: 6982" '[ "$SW" = 6982 ] && [ "$(head0)" = "$H" ]'
H1=$("$WK" --reader "$R1" --json audit status | jq -r .head)
apdu_last 1 "$sel" "$(apdu_of "$T/genuine.hex")"
check "card 0's batch on card 1: 6A80, nothing stored" '[ "$SW" = 6a80 ] && [ "$("$WK" --reader "$R1" --json audit status | jq -r .head)" = "$H1" ]'
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/audit/$ID0/bank/0")
check "the bank's records without a session: 401" '[ "$code" = 401 ]'
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(session 0 card)" "$URL/v1/audit/$ID0/bank/0")
check "with the card's session, no PIN: 403" '[ "$code" = 403 ]'
code=$(icurl 1 -s -o /dev/null -w '%{http_code}' "$URL/v1/audit/$ID0/bank/0")
check "with another card's holder session: 403" '[ "$code" = 403 ]'
settled "attacks"

# ---- 6. a 9C signature is a record of what was signed ----
"$WK" --reader "$R0" key generate --slot 9c --alg eccp256 >/dev/null 2>&1 || die "key generate 9c"
printf 'pay 1000.00 to 6222 0200 0000 9999\n' >"$T/order.txt"
"$WK" --reader "$R0" sign --slot 9c --in "$T/order.txt" --out "$T/order.sig" >/dev/null 2>&1 || die "sign 9c"
export0 --type signature || die "export --type signature"
want=$(python3 -c 'import hashlib,sys; d=hashlib.sha256(open(sys.argv[1],"rb").read()).digest(); print(hashlib.sha256(d).hexdigest()[:20])' "$T/order.txt")
check "the signature's record: slot 9C, the SHA-256 of the digest it signed, the card's origin" \
	'[ "$(jq -r ".records | length" "$T/e.json")" = 1 ] && [ "$(jq -r ".records[0].origin" "$T/e.json")" = card ] &&
	 [ "$(jq -r ".records[0].source" "$T/e.json")" = "PIV 9c (alg 11, private key)" ] &&
	 [ "$(jq -r ".records[0].target" "$T/e.json")" = "sha256 $want" ]' || cat "$T/e.json"
out=$(sync0) && rc=0 || rc=$?
check "the signature's record goes to the issuer with the rest; all verifies" \
	'[ "$rc" -eq 0 ] && "$WK" --reader "$R0" audit verify --card --issuer "$URL" >"$T/v.log" 2>&1' || { cat "$T/v.log"; echo "$out"; }
settled "a signature"

finish
