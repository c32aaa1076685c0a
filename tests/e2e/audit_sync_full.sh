#!/bin/bash
# end-to-end: a full audit log on an enrolled card (capacity 10) refuses
# transactions until the issuer acknowledges its records; after audit sync
# the next transactions drop the oldest acknowledged records, leaving a
# checkpoint; the log still verifies (alone and against the issuer) and
# agrees with the purse (docs/audit.md "Capacity", "Sync with the issuer").
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	P=$(mktemp -d "${TMPDIR:-/tmp}/wk-sync-full.XXXXXX")
	trap 'rm -rf "$P"' EXIT
	# the card's demo profile (vcard/vc_perso.c, test keys) with a small log
	cat >"$P/perso.json" <<'JSON'
{"format": "walletkey-purse-perso/1", "issuer_id": "57414C4C45544B59",
 "application_type": "ed+ep", "application_version": 1, "serial": "auto",
 "start_date": "20260101", "expiry_date": "20361231", "issuer_fci": "0000",
 "cardholder": {"card_type": 0, "staff": 0, "name": "DEMO CARDHOLDER",
   "id_number": "DEMO000000000000", "id_type": 0},
 "pin": "123456", "pin_tries": 3, "balance_ceiling": 1000000, "overdraft_limit": 0,
 "log_capacity": 10, "audit_capacity": 10,
 "keys": [
  {"purpose": "dlk", "index": 1, "version": 1, "algorithm": 0, "master_key": "574B2D44454D4F2D444C4B2D30303031"},
  {"purpose": "dpk", "index": 1, "version": 1, "algorithm": 0, "master_key": "574B2D44454D4F2D44504B2D30303031"},
  {"purpose": "dtk", "index": 1, "version": 1, "algorithm": 0, "master_key": "574B2D44454D4F2D44544B2D30303031"},
  {"purpose": "dulk", "index": 1, "version": 1, "algorithm": 0, "master_key": "574B2D44454D4F2D44554C4B2D303031"},
  {"purpose": "duk", "index": 1, "version": 1, "algorithm": 0, "master_key": "574B2D44454D4F2D44554B2D30303031"}]}
JSON
	set +e
	"$here/../../tools/walletkey-sandbox" --cards 1 --init-args "--perso $P/perso.json" -- "$0" "$@"
	exit $?
fi
. "$(dirname "$0")/remote_lib.sh"
R0=$(reader 0)
# one card: the conservation check's second purse holds nothing
eval "orig_$(declare -f purse_fen)"
purse_fen() { if [ "$1" = 1 ]; then echo 0; else orig_purse_fen "$1"; fi; }

issuer_setup
"$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 >/dev/null 2>&1 || die "enroll card 0"
load() { "$WK" --reader "$R0" wallet load --issuer "$URL" --amount "$1" --yes >/dev/null 2>&1; }
st() { "$WK" --reader "$R0" --json audit status | jq -r ".$1"; }
agree() {
	"$WK" --reader "$R0" audit verify --card >/dev/null 2>&1 &&
	"$WK" --reader "$R0" audit export --format json --out "$T/agree.json" 2>/dev/null &&
	[ "$(jq '[.records[] | select(.origin == "card")][-1].balance_fen' "$T/agree.json")" = "$(purse_fen 0)" ]
}
for a in 1 2 3 4 5 6 7 8 9 10; do load $a || die "load $a"; done
check "10 of 10 records: full, nothing acknowledged" \
	'[ "$(st records)" = 10 ] && [ "$(st full)" = true ] && [ "$(st acked)" = 0 ]'
before=$(purse_fen 0)
load 11 && rc=0 || rc=$?
check "a load with a full, unsynced log: refused, the purse unchanged" \
	'[ "$rc" -ne 0 ] && [ "$(purse_fen 0)" = "$before" ] && [ "$(st head)" = 10 ]'
settled "after the refused load"

out=$("$WK" --reader "$R0" --json audit sync --issuer "$URL" 2>&1) && rc=0 || rc=$?
check "sync: acknowledged up to 10" '[ "$rc" -eq 0 ] && [ "$(st acked)" = 10 ] && [ "$(st full)" = false ]' || echo "$out"
load 12 && rc=0 || rc=$?
load 13 || rc=1
check "two loads now pass" '[ "$rc" -eq 0 ] && [ "$(st head)" = 12 ]'
check "the two oldest acknowledged records were dropped: checkpoint seq 2" \
	'[ "$(st records)" = 10 ] && [ "$(st checkpoint)" = 2 ]'
check "the log verifies from its checkpoint and agrees with the purse" agree
out=$("$WK" --reader "$R0" audit verify --card --issuer "$URL" 2>&1) && rc=0 || rc=$?
check "verify --issuer before the next sync: exactly the two new records are missing at the issuer" \
	'[ "$rc" -eq 1 ] && [ "$(grep -c "^FAULT" <<<"$out")" = 2 ] &&
	 grep -q "FAULT: record seq 11 is on the card but missing at the issuer" <<<"$out" &&
	 grep -q "FAULT: record seq 12 is on the card but missing at the issuer" <<<"$out"' || echo "$out"
out=$("$WK" --reader "$R0" --json audit sync --issuer "$URL" 2>&1) && rc=0 || rc=$?
check "sync again: the two new records uploaded, acknowledged up to 12" \
	'[ "$rc" -eq 0 ] && [ "$(jq .uploaded <<<"$out")" = 2 ] && [ "$(st acked)" = 12 ]' || echo "$out"
out=$("$WK" --reader "$R0" audit verify --card --issuer "$URL" 2>&1) && rc=0 || rc=$?
check "verify --issuer after the sync: OK" '[ "$rc" -eq 0 ]' || echo "$out"

# kill -9 of the card during loads that drop acknowledged records, and during
# syncs: after each, the log and the purse agree and the books balance
SB=$WALLETKEY_SANDBOX/bin
# a restarted card opens its store: --perso is for --init only
recover() {
	for _ in $(seq 20); do
		"$WK" --reader "$R0" wallet recover >>"$T/recover.log" 2>&1 && return 0
		sleep 0.3
	done
	return 1
}
for step in granted credited answered; do
	WALLETKEY_FAULT_AT=$step WALLETKEY_FAULT_CMD="$SB/card-kill 0" \
		"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 0.5 --yes >/dev/null 2>&1 || true
	"$SB/card-start" 0 >/dev/null 2>&1 || die "card 0 does not restart"
	check "card killed at $step of a load on a full log: recovered" recover
	check "card killed at $step: the log and the purse agree" agree
	settled "card killed at $step"
	out=$(WALLETKEY_AUDIT_PAGE=1 WALLETKEY_FAULT_AT=sync-page-1 \
		WALLETKEY_FAULT_CMD="$SB/card-restart 0" \
		"$WK" --reader "$R0" --json audit sync --issuer "$URL" 2>&1) && rc=0 || rc=$?
	check "then a sync through kill -9 of the card: acknowledged up to the head" \
		'[ "$rc" -eq 0 ] && [ "$(st acked)" = "$(st head)" ]' || echo "$out"
	check "after the killed sync: the log and the purse agree" agree
done
head=$(st head)
hist=$(icurl 0 -fsS "$URL/v1/audit/$("$WK" readers --json | jq -r --arg r "$R0" '.readers[] | select(.name == $r) | .serial')/history/1")
check "nothing lost: the issuer holds every record, seq 1..$head, one chain" \
	'python3 - "$(jq -r .page <<<"$hist")" "$head" <<'"'"'PY'"'"'
import hashlib, sys
p = bytes.fromhex(sys.argv[1]); head = int(sys.argv[2])
n = int.from_bytes(p[30:32], "big"); recs = [p[81 + 86 * i:81 + 86 * (i + 1)] for i in range(n)]
assert n == head, (n, head)
prev = bytes(32)
for i, r in enumerate(recs):
    assert int.from_bytes(r[:8], "big") == i + 1 and r[54:86] == prev
    prev = hashlib.sha256(r).digest()
PY'
out=$("$WK" --reader "$R0" audit verify --card --issuer "$URL" 2>&1) && rc=0 || rc=$?
check "verify --issuer at the end: OK" '[ "$rc" -eq 0 ]' || echo "$out"
settled "at the end"
finish
