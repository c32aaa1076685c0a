#!/usr/bin/env python3
"""pcsc_hold.py READER: a PC/SC client that connects to the card in READER,
begins a transaction, prints "held" and keeps the transaction until its
stdin closes; then ends it and exits 0. Through libpcsclite with ctypes, so
that a test can hold a card's transaction for exactly as long as it wants
(pcscd makes every other client's connect wait meanwhile)."""
import ctypes
import sys

SCARD_SCOPE_USER = 0
SCARD_SHARE_SHARED = 2
SCARD_PROTOCOL_ANY = 3
SCARD_LEAVE_CARD = 0


def main():
    if len(sys.argv) != 2:
        print("usage: pcsc_hold.py READER", file=sys.stderr)
        return 2
    lib = ctypes.CDLL("libpcsclite.so.1")
    ctx = ctypes.c_long()
    card = ctypes.c_long()
    proto = ctypes.c_ulong()
    rv = lib.SCardEstablishContext(SCARD_SCOPE_USER, None, None, ctypes.byref(ctx))
    if rv != 0:
        print("SCardEstablishContext: 0x%08x" % (rv & 0xFFFFFFFF), file=sys.stderr)
        return 1
    rv = lib.SCardConnect(ctx, sys.argv[1].encode(), SCARD_SHARE_SHARED,
                          SCARD_PROTOCOL_ANY, ctypes.byref(card), ctypes.byref(proto))
    if rv == 0:
        rv = lib.SCardBeginTransaction(card)
    if rv != 0:
        print("connect or begin: 0x%08x" % (rv & 0xFFFFFFFF), file=sys.stderr)
        lib.SCardReleaseContext(ctx)
        return 1
    print("held", flush=True)
    sys.stdin.read()
    lib.SCardEndTransaction(card, SCARD_LEAVE_CARD)
    lib.SCardDisconnect(card, SCARD_LEAVE_CARD)
    lib.SCardReleaseContext(ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
