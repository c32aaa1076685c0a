#!/bin/bash
# opensc-tool -a prints the walletkey ATR (common/wk_card_id.h)
. "$(dirname "$0")/lib.sh"

atr=$(opensc-tool -r 0 -a | tail -n 1)
expect_eq "ATR" "$atr" "3b:f8:13:00:00:81:31:fe:15:57:61:6c:6c:65:74:4b:31:ed"
