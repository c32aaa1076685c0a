#!/bin/bash
# end-to-end: the independent PBOC terminal (tests/e2e/pboc_terminal.c) against
# a card personalised by walletkey perso; it derives the keys itself from the
# master keys and checks every MAC and TAC, then every error status. With
# PURSE_ALG=sm4 (the test purse_terminal_sm4) every key is an SM4 key.
. "$(dirname "$0")/purse_lib.sh"

if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT
	write_master_keys "$T/mk.json"
	"$WK" perso --master-keys "$T/mk.json" --pan "$PAN" --out "$T/perso.json" >/dev/null
	set +e
	"$SANDBOX" --cards 1 --init-args "--perso $T/perso.json" -- "$0" "$T"
	exit $?
fi
if [ "$PURSE_ALG" = sm4 ]; then
	exec "$BUILD/tests/e2e/pboc_terminal" "$WALLETKEY_READER_0" "$MK_DLK" "$MK_DPK" "$MK_DTK" "$PIN" sm4
fi
exec "$BUILD/tests/e2e/pboc_terminal" "$WALLETKEY_READER_0" "$MK_DLK" "$MK_DPK" "$MK_DTK" "$PIN"
