#!/bin/bash
# end-to-end: AUDIT_N (default 1000) mixed loads and purchases (the first
# and the last 20 through the wallet CLI, the others in one process,
# purse_fill.c), then the audit log exported in every format and verified;
# then one byte of one record flipped, the signature flipped, one record dropped
# and two reordered: verify names each fault. A sealed bundle for an auditor
# opens only with the auditor's key. The PIN gates the export and its tries
# are the purse PIN's; the sealed pages never show a record in clear.
. "$(dirname "$0")/purse_lib.sh"
. "$(dirname "$0")/audit_lib.sh"

N=${AUDIT_N:-1000}	# at least 200: the resumed export needs time to be killed in

if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT
	audit_profile "$T"
	set +e
	"$SANDBOX" --cards 1 --init-args "--perso $T/perso.json" -- "$0" "$T"
	exit $?
fi

T=$1
R=$WALLETKEY_READER_0
export WALLETKEY_PIN=$PIN
wallet_key

# the transactions: the first and the last CLI_N through the CLI, the
# others (the bulk of the log) in one process, tests/e2e/purse_fill.c: the
# same card commands with the same SAM, without a CLI start each
CLI_N=20
start=$(date +%s)
"$WK" --reader "$R" wallet load --amount 50000 --sam "$T/sam.json" --insecure-master-keys >/dev/null
loads=1 buys=0
fill=$("$BUILD/tests/e2e/purse_fill" "$R" "$T/sam.json" 2 $((N - CLI_N))) ||
	bad "purse_fill: transactions 2..$((N - CLI_N))"
read -r l b <<<"$fill"
loads=$((loads + l)) buys=$((buys + b))
for ((i = N - CLI_N + 1; i <= N; i++)); do
	if ((i % 4 == 0)); then
		"$WK" --reader "$R" wallet load --amount "$((RANDOM % 50 + 1)).$((RANDOM % 90 + 10))" \
			--sam "$T/sam.json" --insecure-master-keys >/dev/null || bad "load $i"
		loads=$((loads + 1))
	else
		"$WK" --reader "$R" wallet purchase --amount "$((RANDOM % 20)).$((RANDOM % 90 + 10))" \
			--sam "$T/sam.json" --insecure-master-keys >/dev/null || bad "purchase $i"
		buys=$((buys + 1))
	fi
done
echo "$N transactions ($loads loads, $buys purchases) in $(($(date +%s) - start)) s"

run --reader "$R" --json audit status
check "status: $N records of 10000, no PIN needed" \
	'[ "$RC" -eq 0 ] && [ "$(jq .records <<<"$OUT")" -eq "$N" ] && [ "$(jq .capacity <<<"$OUT")" -eq 10000 ] &&
	 [ "$(jq .full <<<"$OUT")" = false ]'

# every format; statements are the holder's: 0600 whatever the umask, and a
# file others could read (or hold open) is replaced, not written into
umask 022
echo "an old export" >"$T/a.json"
chmod 644 "$T/a.json"
exec 9<"$T/a.json"
start=$(date +%s)
run --reader "$R" audit export --format json --out "$T/a.json"
echo "export of $N records (json) in $(($(date +%s) - start)) s"
check "export json" '[ "$RC" -eq 0 ] && [ "$(jq ".records | length" "$T/a.json")" -eq "$N" ]'
check "json: the newest record's balance is the card's" \
	'[ "$(jq ".records[-1].balance_fen" "$T/a.json")" = "$("$WK" --reader "$R" --json wallet balance | jq .balance_fen)" ]'
check "json: $loads loads, $buys purchases" \
	'[ "$(jq "[.records[] | select(.type == \"load\")] | length" "$T/a.json")" -eq "$loads" ] &&
	 [ "$(jq "[.records[] | select(.type == \"purchase\")] | length" "$T/a.json")" -eq "$buys" ]'
check "export json: mode 0600" '[ "$(stat -c %a "$T/a.json")" = 600 ]'
check "export json: not written into the file another process held open" \
	'[ "$(cat <&9)" = "an old export" ]'
exec 9<&-
run --reader "$R" audit export --format csv --out "$T/a.csv"
check "export csv: header + $N rows" '[ "$RC" -eq 0 ] && [ "$(wc -l <"$T/a.csv")" -eq $((N + 1)) ] &&
	head -1 "$T/a.csv" | grep -q "\"time\",\"type\",\"amount\",\"source account\",\"target account\",\"balance\""'
run --reader "$R" audit export
check "export table: header + $N rows" '[ "$RC" -eq 0 ] && [ "$(wc -l <<<"$OUT")" -eq $((N + 1)) ] &&
	head -1 <<<"$OUT" | grep -q "TIME.*TYPE.*AMOUNT.*SOURCE ACCOUNT.*TARGET ACCOUNT.*BALANCE.*MERCHANT/TERMINAL"'
run --reader "$R" audit export --type load --format csv
check "export --type load" '[ "$RC" -eq 0 ] && [ "$(wc -l <<<"$OUT")" -eq $((loads + 1)) ]'
today=$(date -u +%F)
run --reader "$R" audit export --since "$today" --until "$today" --format json
check "export --since/--until today: every record" '[ "$RC" -eq 0 ] && [ "$(jq ".records | length" <<<"$OUT")" -eq "$N" ]'
run --reader "$R" audit export --until 2000-01-01 --format csv
check "export --until 2000-01-01: none" '[ "$RC" -eq 0 ] && [ "$(wc -l <<<"$OUT")" -eq 1 ]'
run --reader "$R" audit export --format xml
check "export --format xml: usage error" '[ "$RC" -eq 2 ]'
run --reader "$R" audit export --since 2026-1-1
check "export --since with a bad date: usage error" '[ "$RC" -eq 2 ]'

# verify
run audit verify "$T/a.json"
check "verify the export" '[ "$RC" -eq 0 ] && grep -q "^OK: $N records" <<<"$OUT"'
run --reader "$R" audit verify --card
check "verify --card" '[ "$RC" -eq 0 ] && grep -q "^OK: $N records" <<<"$OUT"'

# an export interrupted by kill -9 of the card goes on from its cursor
# (one record a page, so the kill lands inside it)
start=$(date +%s.%N)
# the trace goes through a FIFO this script reads: once 20 pages are seen it
# stops reading, so the CLI soon blocks on its next trace line, still inside
# the export, whatever the machine's speed; the card dies meanwhile
mkfifo "$T/trace.fifo"
WALLETKEY_AUDIT_PAGE=1 "$WK" --verbose --reader "$R" audit export --format csv \
	--out "$T/resumed.csv" 2>"$T/trace.fifo" &
cli=$!
exec 3<"$T/trace.fifo"
: >"$T/resume.err"
pages=0
while [ "$pages" -lt 20 ] && IFS= read -r -t 120 -u 3 line; do
	printf '%s\n' "$line" >>"$T/resume.err"
	case $line in *"> "*"80 E2 00 00"*) pages=$((pages + 1)) ;; esac
done
# the card dies while the CLI is held inside the export; from then on the
# trace is read on, so that the CLI sees the card gone and ends its PC/SC
# transaction: pcscd holds every other client's connect (the sandbox
# helpers' opensc-tool too) until it does, even after the card is back
timeout 120 "$WALLETKEY_SANDBOX/bin/card-kill" 0 >"$T/kill.err" 2>&1 &
killer=$!
cat <&3 >>"$T/resume.err" &
drain=$!
wait_bounded "$killer" 130
[ "$RC" -eq 0 ] || { bad "card-kill: the card did not leave pcscd"; cat "$T/kill.err"; }
timeout 120 "$WALLETKEY_SANDBOX/bin/card-start" 0 >/dev/null || bad "card-start: the card did not come back"
# every wait here is bounded: a CLI whose trace does not end is reported
# with what it and pcscd are doing, and fails
wait_bounded "$drain" 300 "$cli"
[ "$RC" -ne 124 ] || tail -n 5 "$T/resume.err" | cut -c1-120 | sed 's/^/       /'
exec 3<&-
wait_bounded "$cli" 60
rc=$RC
echo "export one record a page, card killed after 20 pages: $(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { printf "%.2f", a - b }') s, status $rc"
grep -v "^apdu\|^SCard" "$T/resume.err" | tail -5; grep "^apdu\|^SCard" "$T/resume.err" | tail -4 | cut -c1-120
check "an export through kill -9 of the card resumes and completes" \
	'[ "$rc" -eq 0 ] && grep -q "resuming" "$T/resume.err" && cmp -s "$T/resumed.csv" "$T/a.csv"' ||
	cat "$T/resume.err"

# a card whose pages never move on (the test hook names the page's own
# first record as the next): the export asks again a few times, then stops
# with an error instead of asking for ever
timeout 120 "$WALLETKEY_SANDBOX/bin/card-kill" 0 || bad "card-kill: the card did not leave pcscd"
WALLETKEY_CARD_FAULT=audit-page-stuck timeout 120 "$WALLETKEY_SANDBOX/bin/card-start" 0 >/dev/null ||
	bad "card-start: the card did not come back"
"$WK" --reader "$R" audit export --format csv --out "$T/stuck.csv" 2>"$T/stuck.err" &
wait_bounded $! 120
check "a card whose pages do not move on: the export stops with an error" \
	'[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && grep -q "page was not valid at seq 1; resuming" "$T/stuck.err" &&
	 grep -q "does not parse" "$T/stuck.err"' || cat "$T/stuck.err"
timeout 120 "$WALLETKEY_SANDBOX/bin/card-kill" 0 || bad "card-kill: the card did not leave pcscd"
timeout 120 "$WALLETKEY_SANDBOX/bin/card-start" 0 >/dev/null || bad "card-start: the card did not come back"

# tampering, one fault each
K=$((N / 2))
python3 - "$T/a.json" "$T" "$K" <<'PY'
import json, sys
src, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = json.load(open(src))
def save(name, doc):
    json.dump(doc, open(out + "/" + name, "w"))
# one byte of one record's raw bytes (inside the terminal id: not a shown field)
t = json.loads(json.dumps(d))
raw = bytearray.fromhex(t["records"][k]["raw"])
raw[50] ^= 0x01
t["records"][k]["raw"] = raw.hex()
save("flip.json", t)
# one byte of the amount, in the shown field and in the raw bytes
t = json.loads(json.dumps(d))
raw = bytearray.fromhex(t["records"][k]["raw"])
raw[21] ^= 0x01
t["records"][k]["raw"] = raw.hex()
save("amount.json", t)
# the card's signature
t = json.loads(json.dumps(d))
sig = bytearray.fromhex(t["head"]["signature"])
sig[10] ^= 0x01
t["head"]["signature"] = sig.hex()
save("sig.json", t)
# drop one record
t = json.loads(json.dumps(d))
del t["records"][k]
save("drop.json", t)
# reorder two
t = json.loads(json.dumps(d))
r = t["records"]
r[k], r[k + 1] = r[k + 1], r[k]
save("swap.json", t)
PY
S=$((K + 1))
run audit verify "$T/flip.json"
check "flipped byte: record seq $S named as altered" \
	'[ "$RC" -eq 1 ] && grep -q "FAULT: record seq $S was altered" <<<"$OUT"'
run audit verify "$T/amount.json"
check "flipped amount byte: shown amount and chain both named" \
	'[ "$RC" -eq 1 ] && grep -q "FAULT: record seq $S: the shown amount differs" <<<"$OUT" &&
	 grep -q "FAULT: record seq $S was altered" <<<"$OUT"'
run audit verify "$T/sig.json"
check "flipped signature: named" '[ "$RC" -eq 1 ] && grep -q "FAULT: the card.s signature over the chain head does not verify" <<<"$OUT" &&
	[ "$(grep -c FAULT <<<"$OUT")" -eq 1 ]'
run audit verify "$T/drop.json"
check "dropped record: seq $S named missing" '[ "$RC" -eq 1 ] && grep -q "FAULT: record seq $S missing" <<<"$OUT" &&
	[ "$(grep -c FAULT <<<"$OUT")" -eq 1 ]'
run audit verify "$T/swap.json"
check "reordered records: named out of order" '[ "$RC" -eq 1 ] && grep -q "FAULT: records out of order: seq $S comes after seq $((S + 1))" <<<"$OUT"'
echo '{"format": "walletkey-audit/1", "serial": "zz"}' >"$T/bad.json"
run audit verify "$T/bad.json"
check "verify a malformed file: refused" '[ "$RC" -eq 1 ] && grep -q serial <<<"$ERR"'

# the auditor's sealed bundle
run audit keygen --out "$T/auditor.key"
check "keygen" '[ "$RC" -eq 0 ] && [ "$(stat -c %a "$T/auditor.key")" = 600 ]'
PUB=$OUT
run --reader "$R" audit export --recipient "$PUB" --out "$T/bundle.json"
check "export --recipient writes a sealed bundle" '[ "$RC" -eq 0 ] && [ "$(jq -r .format "$T/bundle.json")" = walletkey-audit-sealed/1 ]'
check "the bundle shows no record in clear" '! grep -q "06222020000001234567\|\"records\"" "$T/bundle.json"'
check "export csv and the sealed bundle: mode 0600" \
	'[ "$(stat -c %a "$T/a.csv")" = 600 ] && [ "$(stat -c %a "$T/bundle.json")" = 600 ]'
: >"$T/opened.json"
chmod 666 "$T/opened.json"
ln -s "$T/opened.json" "$T/opened.link"
run audit open "$T/bundle.json" --key "$T/auditor.key" --out "$T/opened.json"
check "the auditor opens it" '[ "$RC" -eq 0 ] && [ "$(jq ".records | length" "$T/opened.json")" -eq "$N" ]'
check "audit open --out: mode 0600" '[ "$(stat -c %a "$T/opened.json")" = 600 ]'
chmod 644 "$T/opened.json"
run audit open "$T/bundle.json" --key "$T/auditor.key" --out "$T/opened.link"
check "audit open --out through a link: the file becomes 0600" \
	'[ "$RC" -eq 0 ] && [ "$(stat -L -c %a "$T/opened.link")" = 600 ]'
run audit verify "$T/opened.json"
check "the opened bundle verifies" '[ "$RC" -eq 0 ]'
run audit keygen --out "$T/other.key"
run audit open "$T/bundle.json" --key "$T/other.key"
check "another key cannot open it" '[ "$RC" -eq 1 ] && grep -q "does not open" <<<"$ERR"'
run --reader "$R" audit export --recipient 1234
check "a bad recipient key: usage error" '[ "$RC" -eq 2 ]'

# on the wire: pages are sealed (the raw APDU answer holds no record bytes)
REC1=$(jq -r '.records[0].raw' "$T/a.json")
SEL=00a4040c08f0574b4155444954
# extended Le: walletkey apdu sends raw APDUs, without GET RESPONSE
PAGE=80e20000000029$(printf '11%.0s' $(seq 32))0000000000000001050000
run apdu $SEL 0020000003123456 $PAGE
check "a page APDU answers 9000" '[ "$RC" -eq 0 ] && tail -1 <<<"$OUT" | grep -q "9000$"'
check "the page holds no record in clear" '! grep -qi "${REC1:0:40}" <<<"$OUT"'

# the PIN gate: without, wrong, blocked; tries counted
run apdu $SEL $PAGE
check "a page without VERIFY: 6982" 'tail -1 <<<"$OUT" | grep -q "6982$"'
run apdu $SEL 80e400001000112233445566778899aabbccddeeff
check "the signed head without VERIFY: 6982" 'tail -1 <<<"$OUT" | grep -q "6982$"'
check "3 tries before" '[ "$(pin_tries)" = 3 ]'
before=$(sha256sum "$T/a.json")
WALLETKEY_PIN=999999 run --reader "$R" audit export --format csv
check "export with a wrong PIN: refused, 2 tries left" '[ "$RC" -eq 1 ] && grep -q "2 tries left" <<<"$ERR" && [ -z "$OUT" ]'
check "2 tries left" '[ "$(pin_tries)" = 2 ]'
WALLETKEY_PIN=999999 run --reader "$R" audit export --format csv
WALLETKEY_PIN=999999 run --reader "$R" audit export --format csv
check "third wrong PIN: 0 tries left" '[ "$RC" -eq 1 ] && grep -q "0 tries left" <<<"$ERR"'
check "the PIN is blocked" '[ "$(pin_tries)" = blocked ]'
run --reader "$R" audit export --format csv
check "export with the right PIN once blocked: refused" '[ "$RC" -eq 1 ] && grep -qi "blocked" <<<"$ERR" && [ -z "$OUT" ]'
run --reader "$R" wallet load --amount 1 --sam "$T/sam.json" --insecure-master-keys
check "the purse PIN is the same PIN: loads refused too" '[ "$RC" -eq 1 ]'
unset WALLETKEY_PIN
run --reader "$R" audit export --format csv </dev/null
check "export without any PIN: refused" '[ "$RC" -ne 0 ] && [ -z "$OUT" ]'
finish
