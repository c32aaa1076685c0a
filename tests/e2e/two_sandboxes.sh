#!/bin/bash
# a second sandbox runs beside this one: its own pcscd, ports and card
. "$(dirname "$0")/lib.sh"

mine=$(serial_of 0)
sandbox="$(dirname "$0")/../../tools/walletkey-sandbox"
inner=$("$sandbox" --cards 1 -- bash -c 'echo "$WALLETKEY_VPCD_PORT_0 $PCSCLITE_CSOCK_NAME"; walletkey readers --json | jq -r ".readers[0].serial"')
echo "$inner"
port=$(echo "$inner" | sed -n 1p | cut -d' ' -f1)
sock=$(echo "$inner" | sed -n 1p | cut -d' ' -f2)
theirs=$(echo "$inner" | sed -n 2p)
[[ $theirs =~ ^[0-9a-f]{16}$ ]] || fail "inner sandbox: no serial"
[ "$theirs" != "$mine" ] || fail "both sandboxes show one card"
[ "$port" != "$WALLETKEY_VPCD_PORT_0" ] || fail "both sandboxes on port $port"
[ "$sock" != "$PCSCLITE_CSOCK_NAME" ] || fail "both sandboxes on one socket"
expect_eq "outer card after inner teardown" "$(serial_of 0)" "$mine"
[ ! -e "$sock" ] || fail "inner sandbox left $sock behind"
