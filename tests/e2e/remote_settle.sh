#!/bin/bash
# end-to-end: purchase settlement against the real walletkey-issuer
# (SQLite). Enrol, remote load, offline purchases with a SAM made from the
# issuer's master keys, `walletkey wallet settle`; then the card float is
# exactly the purse balances plus pending loads and the merchant holds the
# purchases (docs/issuer.md "Settlement", docs/wallet.md).
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
R0=$(reader 0)
TERM_ID=000000000042

issuer_setup
settled "start"
out=$("$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 2>&1) && rc=0 || rc=$?
check "enroll card 0" '[ "$rc" -eq 0 ]' || echo "$out"
out=$("$WK" --reader "$R0" wallet load --issuer "$URL" --amount 100.00 --yes 2>&1) && rc=0 || rc=$?
check "remote load 100.00" '[ "$rc" -eq 0 ]' || echo "$out"
settled "load"

# the terminal: a merchant account and a SAM from the issuer's master keys
"$ISS" merchant-create --db "$DB" --terminal $TERM_ID --name Shop >/dev/null
"$ISS" sam-keys --db "$DB" --key-file "$T/issuer.key" --out "$T/mk.json" && rc=0 || rc=$?
check "sam-keys writes the master keys" '[ "$rc" -eq 0 ] && [ "$(stat -c %a "$T/mk.json")" = 600 ]'
"$ISS" sam-keys --db "$DB" --key-file "$T/issuer.key" --out "$T/mk.json" 2>/dev/null && rc=0 || rc=$?
check "sam-keys does not overwrite" '[ "$rc" -ne 0 ]'
"$WK" wallet sam-init --master-keys "$T/mk.json" --terminal $TERM_ID --out "$T/sam.json" >/dev/null

merchant_fen() {
	"$ISS" merchants --db "$DB" --json | python3 -c 'import json,sys; print(sum(m["balance"] for m in json.load(sys.stdin)))'
}
ledger_n() { "$ISS" ledger --db "$DB" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

for a in 12.34 0.66; do
	out=$("$WK" --reader "$R0" wallet purchase --amount $a --sam "$T/sam.json" 2>&1) && rc=0 || rc=$?
	check "purchase $a" '[ "$rc" -eq 0 ]' || echo "$out"
done
check "card 0 holds 87.00" '[ "$(purse_fen 0)" = 8700 ]'
check "two proofs journaled" '[ "$(grep -c tac "$T/sam.json.proofs")" = 2 ]'
check "nothing settled yet" '[ "$(merchant_fen)" = 0 ]'

out=$("$WK" wallet settle --issuer "$URL" --sam "$T/sam.json" 2>&1) && rc=0 || rc=$?
check "wallet settle" '[ "$rc" -eq 0 ]' || echo "$out"
check "settle reports 2 purchases" 'grep -q "settled 2 purchases (1300 fen)" <<<"$out"'
check "the merchant holds the purchases" '[ "$(merchant_fen)" = 1300 ]'
settled "settle"
n=$(ledger_n)

out=$("$WK" wallet settle --issuer "$URL" --sam "$T/sam.json" 2>&1) && rc=0 || rc=$?
check "settle again: nothing to send" '[ "$rc" -eq 0 ] && grep -q "settled 0 purchases" <<<"$out"'
# a crash after the upload, before the journal's mark: the same proofs again
grep -v settled "$T/sam.json.proofs" >"$T/p" && cp "$T/p" "$T/sam.json.proofs"
out=$("$WK" wallet settle --issuer "$URL" --sam "$T/sam.json" 2>&1) && rc=0 || rc=$?
check "settle resumes after a lost mark" '[ "$rc" -eq 0 ]' || echo "$out"
check "replayed proofs change nothing" '[ "$(merchant_fen)" = 1300 ] && [ "$(ledger_n)" = "$n" ]'
settled "replay"

# another purchase, then a forged proof: refused, nothing moves
out=$("$WK" --reader "$R0" wallet purchase --amount 1.00 --sam "$T/sam.json" 2>&1) && rc=0 || rc=$?
check "purchase 1.00" '[ "$rc" -eq 0 ]' || echo "$out"
cp "$T/sam.json.proofs" "$T/good"
python3 - "$T/sam.json.proofs" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
p = json.loads(lines[-1]); p["amount"] = 10000
lines[-1] = json.dumps(p, sort_keys=True, separators=(",", ":"))
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
"$WK" wallet settle --issuer "$URL" --sam "$T/sam.json" >/dev/null 2>&1 && rc=0 || rc=$?
check "a forged proof is refused" '[ "$rc" -ne 0 ] && [ "$(merchant_fen)" = 1300 ] && [ "$(ledger_n)" = "$n" ]'
cp "$T/good" "$T/sam.json.proofs"
out=$("$WK" wallet settle --issuer "$URL" --sam "$T/sam.json" 2>&1) && rc=0 || rc=$?
check "the genuine proof settles" '[ "$rc" -eq 0 ] && [ "$(merchant_fen)" = 1400 ]' || echo "$out"
check "card 0 holds 86.00" '[ "$(purse_fen 0)" = 8600 ]'
settled "end"
finish
