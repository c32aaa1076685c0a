#!/usr/bin/env python3
"""The purse's SM4 test vectors, computed by an implementation of their own.

This file builds every SM4 (and, as a check of itself, every 3DES) purse
value from the block ciphers alone (raw SM4-ECB and DES-EDE-ECB of the
Python `cryptography` package): the padding, the CBC chaining, the
session-key blocks, the TAC key and the field layouts of docs/purse.md "SM4"
are written here again, sharing no code with common/wk_purse_crypto.c.

  purse_sm4_vectors.py markdown          the table docs/purse.md publishes
  purse_sm4_vectors.py check DOC HELPER  the test: this implementation, the
      C library (HELPER, tests/common/purse_vectors.c, fed the same recipes)
      and the table in DOC must agree on every value, and this
      implementation must give pboc-purse.md section 10's 3DES answers
"""
import subprocess
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

try:  # newer releases moved TripleDES; the Debian 12 one has it here
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover
    TripleDES = algorithms.TripleDES


def h(s):
    return bytes.fromhex(s.replace(" ", ""))


def ecb(alg, key, data):
    if alg == "sm4":
        c = Cipher(algorithms.SM4(key), modes.ECB())
    elif len(key) == 8:  # single DES as EDE with K K K
        c = Cipher(TripleDES(key * 3), modes.ECB())
    else:  # 2-key 3DES, K1 K2 K1
        c = Cipher(TripleDES(key + key[:8]), modes.ECB())
    e = c.encryptor()
    return e.update(data) + e.finalize()


def block(alg):
    return 16 if alg == "sm4" else 8


def pad2(data, n):
    """ISO/IEC 9797-1 padding method 2 to a multiple of n, always added"""
    data = data + b"\x80"
    return data + b"\x00" * (-len(data) % n)


def cbc_mac(alg, key, data, iv=None):
    """ISO/IEC 9797-1 MAC algorithm 1: the left 4 bytes of the last block"""
    n = block(alg)
    state = iv if iv is not None else b"\x00" * n
    data = pad2(data, n)
    for i in range(0, len(data), n):
        state = ecb(alg, key, bytes(a ^ b for a, b in zip(state, data[i:i + n])))
    return state[:4]


def retail_mac(key16, data, iv):
    """ISO/IEC 9797-1 MAC algorithm 3 with DES (the 3DES unblock script)"""
    k1, k2 = key16[:8], key16[8:]
    state = iv
    data = pad2(data, 8)
    for i in range(0, len(data), 8):
        state = ecb("des", k1, bytes(a ^ b for a, b in zip(state, data[i:i + 8])))
    d = Cipher(TripleDES(k2 * 3), modes.ECB()).decryptor()
    state = d.update(state) + d.finalize()
    return ecb("des", k1, state)[:4]


def session_key(alg, key, d):
    """4.2: one block of the transaction data; SM4 pads it (method 2) to 16"""
    if alg == "sm4":
        return ecb("sm4", key, pad2(d, 16)[:16])
    if len(d) == 6:
        d = d + b"\x80\x00"
    return ecb("3des", key, d)


def tac_key(alg, dtk):
    if alg == "sm4":
        return dtk
    return bytes(a ^ b for a, b in zip(dtk[:8], dtk[8:]))


def diversify(alg, mk, factor):
    f = (b"\x00" * 8 + factor)[-8:]
    nf = bytes(~b & 0xFF for b in f)
    if alg == "sm4":
        return ecb("sm4", mk, f + nf)
    return ecb("3des", mk, f) + ecb("3des", mk, nf)


def be(v, n):
    return v.to_bytes(n, "big")


def mac_alg(key):
    return "sm4" if len(key) == 16 else "des"


def mac(key, data):
    return cbc_mac(mac_alg(key), key, data)


def unblock(alg, damk, chal):
    data = h("8418000004")
    if alg == "sm4":
        return cbc_mac("sm4", damk, data, chal + b"\x00" * 12)
    return retail_mac(damk, data, chal + b"\x00" * 4)


# ---- the vectors ----

KEY = h("11223344556677888877665544332211")      # pboc-purse.md V2/V3
DTK = h("00112233445566778899AABBCCDDEEFF")      # V2's DTK
DAMK = h("6474215EF549707831BB8DB9895FD48A")     # V6's key
CHAL = h("1EA2B2E6")
MK = h("0123456789ABCDEFFEDCBA9876543210")
SERIAL = h("00012345678901234567")
RND = h("11223344")
TERM = h("001122334455")
TSEQ = h("00000001")
LDATE, LTIME = h("20111221"), h("214822")
PDATE, PTIME = h("20120229"), h("135100")
AMOUNT = 0x1000


def hx(b):
    return b.hex().upper()


def sm4_vectors():
    """(id, what, recipe for the C helper, value) in the docs' order"""
    seslk = session_key("sm4", KEY, RND + be(0, 2))
    sespk = session_key("sm4", KEY, RND + be(0, 2) + TSEQ[2:])
    ktac = tac_key("sm4", DTK)
    t = hx(TERM)
    v = [
        ("S1", "SM4-ECB known answer (GB/T 32907 A.1): key = plain = MK",
         f"ecb sm4 {hx(MK)} {hx(MK)}", ecb("sm4", MK, MK)),
        ("S2", "diversified key: SM4(MK, f ‖ NOT f), factor the serial",
         f"diversify sm4 {hx(MK)} {hx(SERIAL)}", diversify("sm4", MK, SERIAL)),
        ("S3.1", "SESLK = SM4(DLK, 11223344 0000 80 00*9)",
         f"skey_online sm4 {hx(KEY)} {hx(RND)} 0000", seslk),
        ("S3.2", "load MAC1: 00000000 00001000 02 001122334455",
         f"load_mac1 sm4 {hx(seslk)} 00000000 00001000 02 {t}",
         mac(seslk, be(0, 4) + be(AMOUNT, 4) + b"\x02" + TERM)),
        ("S3.3", "load MAC2: 00001000 02 001122334455 20111221 214822",
         f"load_mac2 sm4 {hx(seslk)} 00001000 02 {t} {hx(LDATE)} {hx(LTIME)}",
         mac(seslk, be(AMOUNT, 4) + b"\x02" + TERM + LDATE + LTIME)),
        ("S3.4", "K_TAC: the DTK itself",
         f"tac_key sm4 {hx(DTK)}", ktac),
        ("S3.5", "load TAC: 00001000 0000 00001000 02 001122334455 20111221 214822",
         f"load_tac sm4 {hx(ktac)} 00001000 0000 00001000 02 {t} {hx(LDATE)} {hx(LTIME)}",
         mac(ktac, be(AMOUNT, 4) + be(0, 2) + be(AMOUNT, 4) + b"\x02" + TERM
             + LDATE + LTIME)),
        ("S4.1", "SESPK = SM4(DPK, 11223344 0000 0001 80 00*7)",
         f"skey_purchase sm4 {hx(KEY)} {hx(RND)} 0000 {hx(TSEQ)}", sespk),
        ("S4.2", "purchase MAC1: 00001000 06 001122334455 20120229 135100",
         f"purchase_mac1 sm4 {hx(sespk)} 00001000 06 {t} {hx(PDATE)} {hx(PTIME)}",
         mac(sespk, be(AMOUNT, 4) + b"\x06" + TERM + PDATE + PTIME)),
        ("S4.3", "purchase MAC2: 00001000",
         f"purchase_mac2 sm4 {hx(sespk)} 00001000", mac(sespk, be(AMOUNT, 4))),
        ("S4.4", "purchase TAC: 00001000 06 001122334455 00000001 20120229 135100",
         f"purchase_tac sm4 {hx(ktac)} 00001000 06 {t} {hx(TSEQ)} {hx(PDATE)} {hx(PTIME)}",
         mac(ktac, be(AMOUNT, 4) + b"\x06" + TERM + TSEQ + PDATE + PTIME)),
        ("S5", "APPLICATION UNBLOCK: IV 1EA2B2E6 00*12, data 84 18 00 00 04",
         f"unblock sm4 {hx(DAMK)} {hx(CHAL)}", unblock("sm4", DAMK, CHAL)),
        ("S6.1", "MAC of nothing: one block 80 00*15",
         f"mac sm4 {hx(MK)} ", mac(MK, b"")),
        ("S6.2", "MAC of 16 bytes 00..0F: a whole pad block follows",
         f"mac sm4 {hx(MK)} {hx(bytes(range(16)))}", mac(MK, bytes(range(16)))),
        ("S6.3", "unload MAC3 (SESLK): 00000800 0000 00000800 03 001122334455 20111221 214822",
         f"unload_mac3 sm4 {hx(seslk)} 00000800 0000 00000800 {t} {hx(LDATE)} {hx(LTIME)}",
         mac(seslk, be(0x800, 4) + be(0, 2) + be(0x800, 4) + b"\x03" + TERM
             + LDATE + LTIME)),
        ("S6.4", "update TAC: 00001000 0000 002000 07 001122334455 20111221 214822",
         f"update_tac sm4 {hx(ktac)} 00001000 0000 002000 {t} {hx(LDATE)} {hx(LTIME)}",
         mac(ktac, be(AMOUNT, 4) + be(0, 2) + be(0x2000, 3) + b"\x07" + TERM
             + LDATE + LTIME)),
    ]
    # the SM4 forms a 3DES-only implementation could get wrong: the empty
    # MAC here is the bare encryption of the pad block
    assert v[12][3] == ecb("sm4", MK, h("80" + "00" * 15))[:4]
    return v


def des_checks():
    """pboc-purse.md section 10, re-computed here: proof of this file's own
    chaining, padding and layouts (recipe for the C helper, want)"""
    dlk = h("374598B5C0B0EAE1E1D06609AC5BB369")
    dtk1 = h("CAA6025290114BFCC3C9043F70F7A07A")
    term1 = h("000001000050")
    sk1 = session_key("3des", dlk, h("CDEF4F20") + be(0, 2))
    kt1 = tac_key("3des", dtk1)
    sk2 = session_key("3des", KEY, RND + be(0, 2) + TSEQ[2:])
    kt2 = tac_key("3des", DTK)
    c = [
        ("V1 SESLK", hx(sk1), "3C05F429713D0188",
         f"skey_online 3des {hx(dlk)} CDEF4F20 0000"),
        ("V1 MAC1", hx(mac(sk1, be(0, 4) + be(0x1C37, 4) + b"\x02" + term1)),
         "06B1BEF5", f"load_mac1 3des {hx(sk1)} 00000000 00001C37 02 {hx(term1)}"),
        ("V1 MAC2", hx(mac(sk1, be(0x1C37, 4) + b"\x02" + term1 + h("20140825103100"))),
         "0641DCD8", f"load_mac2 3des {hx(sk1)} 00001C37 02 {hx(term1)} 20140825 103100"),
        ("V1 K_TAC", hx(kt1), "096F066DE0E6EB86", f"tac_key 3des {hx(dtk1)}"),
        ("V1 TAC", hx(mac(kt1, be(0x1C37, 4) + be(0, 2) + be(0x1C37, 4) + b"\x02"
                          + term1 + h("20140825103100"))), "ED0F8755",
         f"load_tac 3des {hx(kt1)} 00001C37 0000 00001C37 02 {hx(term1)} 20140825 103100"),
        ("V2 SESPK", hx(sk2), "003238ABC57659DD",
         f"skey_purchase 3des {hx(KEY)} {hx(RND)} 0000 {hx(TSEQ)}"),
        ("V2 MAC1", hx(mac(sk2, be(AMOUNT, 4) + b"\x06" + TERM + PDATE + PTIME)),
         "F15CAB75", f"purchase_mac1 3des {hx(sk2)} 00001000 06 {hx(TERM)} {hx(PDATE)} {hx(PTIME)}"),
        ("V2 MAC2", hx(mac(sk2, be(AMOUNT, 4))), "56988A13",
         f"purchase_mac2 3des {hx(sk2)} 00001000"),
        ("V2 TAC", hx(mac(kt2, be(AMOUNT, 4) + b"\x06" + TERM + TSEQ + PDATE + PTIME)),
         "B3A0D49C", f"purchase_tac 3des {hx(kt2)} 00001000 06 {hx(TERM)} {hx(TSEQ)} {hx(PDATE)} {hx(PTIME)}"),
        ("V6 unblock", hx(unblock("3des", DAMK, CHAL)), "68EB4954",
         f"unblock 3des {hx(DAMK)} {hx(CHAL)}"),
        ("4.4 diversify", hx(diversify("3des", KEY, SERIAL)),
         "1039B47CB7C2596710A54B1D83618A9C", f"diversify 3des {hx(KEY)} {hx(SERIAL)}"),
    ]
    return c


def markdown():
    out = ["| Vector | What | Value |", "|---|---|---|"]
    for vid, what, _, val in sm4_vectors():
        out.append(f"| {vid} | {what} | `{hx(val)}` |")
    return "\n".join(out)


def run_helper(helper, recipes):
    r = subprocess.run([helper], input="\n".join(recipes) + "\n",
                       capture_output=True, text=True, check=True)
    return [x.upper() if x != "error" else x for x in r.stdout.split("\n")[:len(recipes)]]


def check(doc, helper):
    fails = 0
    vec = sm4_vectors()
    des = des_checks()
    got = run_helper(helper, [v[2] for v in vec] + [d[3] for d in des])
    text = open(doc, encoding="utf-8").read()
    for (vid, _, recipe, val), c_val in zip(vec, got):
        py = hx(val)
        row = f"| {vid} |"
        line = next((l for l in text.splitlines() if l.startswith(row)), None)
        doc_ok = line is not None and line.rstrip().endswith(f"`{py}` |")
        ok = c_val == py and doc_ok
        print(f"{'ok  ' if ok else 'FAIL'} {vid}: python {py}, C {c_val},"
              f" docs {'same' if doc_ok else 'DIFFERENT or missing'}")
        fails += not ok
    for (what, py, want, _), c_val in zip(des, got[len(vec):]):
        ok = py == want and c_val == want
        print(f"{'ok  ' if ok else 'FAIL'} {what}: spec {want}, python {py}, C {c_val}")
        fails += not ok
    # refusals: a 7-byte block, an algorithm id the library does not know
    bad = run_helper(helper, ["ecb sm4 " + hx(MK) + " 00112233445566",
                              "mac aes " + hx(MK) + " 00"])
    for b in bad:
        ok = b == "error"
        print(f"{'ok  ' if ok else 'FAIL'} a malformed recipe is refused: {b}")
        fails += not ok
    return fails


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "markdown":
        print(markdown())
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        fails = check(sys.argv[2], sys.argv[3])
        print("all vectors agree" if fails == 0 else f"{fails} failure(s)")
        return 1 if fails else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
