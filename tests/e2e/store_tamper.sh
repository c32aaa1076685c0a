#!/bin/bash
# the card store against someone who can write the card's files
# (docs/security.md, "The card store"): with money on the card, a byte
# changed in a row, a row put back from an older copy of the store, or a
# trigger added, and walletkey-card refuses to start, says why, and never
# answers with the changed state; the untouched store starts again with
# its balance. The store shows neither the PAN nor the balance.
# Makes a profile and a SAM on test master keys, then runs itself in the
# sandbox on a card personalised with them.
. "$(dirname "$0")/purse_lib.sh"
. "$(dirname "$0")/audit_lib.sh"

audit_in_sandbox "$0" '.'
. "$(dirname "$0")/lib.sh"
T=$1
store=$WALLETKEY_STORE_0
key=$WALLETKEY_SANDBOX/card0.key
port=$WALLETKEY_VPCD_PORT_0
export WALLETKEY_PIN=$PIN

# money on the card: a load and a purchase through the SAM
walletkey wallet load --amount 100 --sam "$T/sam.json" --insecure-master-keys >/dev/null
walletkey wallet purchase --amount 12.30 --terminal 000000000042 --sam "$T/sam.json" --insecure-master-keys >/dev/null
expect_eq "balance" "$(walletkey wallet balance)" "EP balance: 87.70"
serial=$(serial_of 0)
pan=$(walletkey --json wallet info | jq -r '.serial')
holder=$(walletkey --json wallet info | jq -r '.holder.name // empty')
[ ${#pan} -eq 20 ] || fail "no application serial (PAN): '$pan'"
# stopped cleanly: the WAL goes back into the file
pid=$("$WALLETKEY_SANDBOX/bin/card-pid" 0)
kill -TERM "$pid"
retry 10 eval '! kill -0 '"$pid" || fail "the card did not stop"
[ ! -s "$store-wal" ] || fail "a WAL is left after a clean stop"
cp "$store" "$T/good.store"

# nothing readable in the file: not the balance's bytes, not the PAN, no names
python3 - "$store" "$pan" "$holder" <<'EOF' || fail "the store shows its content"
import os, sys
data = b''
for p in (sys.argv[1], sys.argv[1] + '-wal'):
    if os.path.exists(p):
        data += open(p, 'rb').read()
needles = [b'purse', b'pin.tries', b'audit', b'ef15', bytes.fromhex('00002242'),
           bytes.fromhex(sys.argv[2]), sys.argv[2].encode()]
if sys.argv[3]:
    needles.append(sys.argv[3].encode())
for needle in needles:
    if needle in data:
        sys.exit('found %r' % needle)
EOF

restore() {
	rm -f "$store-wal" "$store-shm"
	cp "$T/good.store" "$store"
}

# start_refused WHY: the card exits 2 at once with a message containing WHY
start_refused() {
	local st=0 out
	# the card stopped before this one must be gone from pcscd first (it
	# notices at its next poll), or the check below would see that one
	retry 20 card_absent 0 || fail "$1: the card stopped before still shows in the reader"
	out=$(timeout 60 walletkey-card --store "$store" --seal-key "$key" \
		--vpcd "127.0.0.1:$port" 2>&1) || st=$?
	[ "$st" -eq 2 ] || fail "$1: walletkey-card exited $st, want 2 ($out)"
	grep_q -F "$2" <<<"$out" || fail "$1: no '$2' in: $out"
	card_absent 0 || fail "$1: a card is in the reader"
}

# a byte of a row flipped (SQLite still sees a good database)
restore
python3 - "$store" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rid, v = db.execute("SELECT id, value FROM rows ORDER BY id LIMIT 1 OFFSET 3").fetchone()
v = bytearray(v); v[len(v) // 2] ^= 0x01
db.execute("UPDATE rows SET value = ? WHERE id = ?", (bytes(v), rid))
db.commit()
EOF
start_refused "flipped byte" "changed outside the card"

# a byte of the file flipped, in the middle of a row's bytes
restore
python3 - "$store" <<'EOF'
import sqlite3, sys
p = sys.argv[1]
db = sqlite3.connect(p)
v = db.execute("SELECT value FROM rows ORDER BY length(value) LIMIT 1").fetchone()[0]
db.close()
d = bytearray(open(p, 'rb').read())
at = d.find(v)
assert at > 0
d[at + len(v) // 2] ^= 0x40
open(p, 'wb').write(d)
EOF
start_refused "flipped file byte" "walletkey-card: $store:"

# the rows of the store from before the purchase: more money
restore
walletkey-card --store "$store" --seal-key "$key" --vpcd "127.0.0.1:$port" \
	>"$T/card.log" 2>&1 &
pid=$!
retry 20 walletkey wallet balance || fail "the restored card did not start"
expect_eq "balance after restore" "$(walletkey wallet balance)" "EP balance: 87.70"
expect_eq "serial after restore" "$(serial_of 0)" "$serial"
cp "$store" "$T/before.store"
walletkey wallet purchase --amount 50 --terminal 000000000042 --sam "$T/sam.json" --insecure-master-keys >/dev/null
expect_eq "balance spent" "$(walletkey wallet balance)" "EP balance: 37.70"
kill -TERM "$pid"
wait_bounded "$pid" 60
[ "$RC" -eq 0 ] || fail "the card did not stop cleanly (status $RC)"
python3 - "$store" "$T/before.store" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("ATTACH ? AS old", (sys.argv[2],))
# every row the purchase changed, back to its value before
db.execute("DELETE FROM rows WHERE id NOT IN (SELECT id FROM old.rows)")
db.execute("INSERT OR REPLACE INTO rows SELECT * FROM old.rows WHERE value NOT IN (SELECT value FROM main.rows)")
db.commit()
EOF
start_refused "rows from before the purchase" "restored from an older copy"

# a trigger planted to put old rows back later
cp "$T/before.store" "$store"
python3 - "$store" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE keep AS SELECT * FROM rows")
db.execute("CREATE TRIGGER back AFTER UPDATE ON rows BEGIN INSERT OR REPLACE INTO rows SELECT * FROM keep; END")
db.commit()
EOF
start_refused "trigger" "tables are not the card's"

# untouched, it starts with its money
restore
"$WALLETKEY_SANDBOX/bin/card-start" 0
expect_eq "balance at the end" "$(walletkey wallet balance)" "EP balance: 87.70"
echo "store_tamper: ok"
