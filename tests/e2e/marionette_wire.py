"""Marionette's wire (Firefox's remote protocol): length-prefixed JSON over
TCP, "LEN:[0, id, name, params]" out and "LEN:[1, id, error, result]" in.
Shared by p11_firefox.py and pay_shop.py; a subclass opens self.sock."""

import json


class MarionetteWire:
    sock = None
    buf = b""
    id = 0

    def read(self):
        while b":" not in self.buf:
            self.more()
        head, _, rest = self.buf.partition(b":")
        n = int(head)
        while len(rest) < n:
            self.more()
            head, _, rest = self.buf.partition(b":")
        self.buf = rest[n:]
        return json.loads(rest[:n])

    def more(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("marionette closed the connection")
        self.buf += data

    def send(self, name, params=None):
        self.id += 1
        msg = json.dumps([0, self.id, name, params or {}]).encode()
        self.sock.sendall(str(len(msg)).encode() + b":" + msg)
        return self.id
