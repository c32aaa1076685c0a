#!/usr/bin/env python3
"""Drives a headless browser through walletkey-shop's checkout for pay_shop.sh.

usage: pay_shop.py chromium|firefox PORT URL OUTDIR [SECONDS]

Chromium: the DevTools protocol (JSON over a WebSocket, --remote-debugging-
port=PORT); Firefox: Marionette (length-prefixed JSON over TCP,
--marionette with marionette.port=PORT). Both with the standard library
only. The driver opens URL (the checkout page with auto=1, which asks the
shop for the payment at once), waits until the page says it is waiting for
the key and writes the payment id to OUTDIR/waiting; pay_shop.sh then runs
walletkey confirm. The driver waits for the page to change again and writes
its final state (the #state element's class: paid, declined, expired, ...)
and text to OUTDIR/final, and the page to OUTDIR/page.html. Exit 0 when a
final state was seen, 1 otherwise.

SECONDS bounds the browser's start and first navigation, and again the
payment after it: a fresh browser profile on a loaded machine (a container
with every core busy) can take most of a minute to show its first page,
which is not the shop's time to answer. When the page is open the driver
writes OUTDIR/opened.
"""
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.request

from marionette_wire import MarionetteWire

STATE = ("(() => { const s = document.getElementById('state');"
         " return s ? [s.className, s.textContent, s.dataset.payment || ''] :"
         " ['', '', '']; })()")


class WebSocket:
    """a client's text frames (RFC 6455), masked; enough for DevTools"""

    def __init__(self, url, timeout):
        rest = url[len("ws://"):]
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n"
                           % (path, hostport, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("the DevTools socket closed")
            head += data
        head, _, self.buf = head.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError("no WebSocket: %r" % head[:200])

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            hdr = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        self.sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def need(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the DevTools socket closed")
            self.buf += data

    def recv(self):
        msg = b""
        while True:
            self.need(2)
            b0, b1 = self.buf[0], self.buf[1]
            n, off = b1 & 0x7F, 2
            if n == 126:
                self.need(4)
                n, off = struct.unpack("!H", self.buf[2:4])[0], 4
            elif n == 127:
                self.need(10)
                n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
            self.need(off + n)
            payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
            if b0 & 0x0F == 0x8:
                raise ConnectionError("the DevTools socket closed")
            if b0 & 0x0F in (0x9, 0xA):
                continue
            msg += payload
            if b0 & 0x80:
                return msg.decode()


class Chromium:
    def __init__(self, port, deadline):
        last = None
        while time.time() < deadline:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port,
                                            timeout=5) as r:
                    pages = [p for p in json.load(r) if p.get("type") == "page"]
                if pages:
                    self.ws = WebSocket(pages[0]["webSocketDebuggerUrl"],
                                        max(30, deadline - time.time()))
                    break
            except OSError as e:
                last = e
            time.sleep(0.3)
        else:
            raise TimeoutError("no DevTools on port %d: %s" % (port, last))
        self.id = 0

    def call(self, method, params=None):
        self.id += 1
        self.ws.send(json.dumps({"id": self.id, "method": method,
                                 "params": params or {}}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})

    def navigate(self, url):
        self.call("Page.navigate", {"url": url})

    def state(self):
        r = self.call("Runtime.evaluate", {"expression": STATE, "returnByValue": True})
        return r.get("result", {}).get("value") or ["", "", ""]

    def page(self):
        r = self.call("Runtime.evaluate", {"expression":
                                           "document.documentElement.outerHTML",
                                           "returnByValue": True})
        return r.get("result", {}).get("value", "")


class Firefox(MarionetteWire):
    def __init__(self, port, deadline):
        last = None
        while time.time() < deadline:
            try:
                # a loaded machine: Firefox may take long to answer at first
                self.sock = socket.create_connection(
                    ("127.0.0.1", port), timeout=max(30, deadline - time.time()))
                break
            except OSError as e:
                last = e
                time.sleep(0.3)
        else:
            raise TimeoutError("no Marionette on port %d: %s" % (port, last))
        self.buf = b""
        self.id = 0
        self.read()
        # "eager": Navigate returns once the document is parsed, as
        # Chromium's Page.navigate does not wait for the load either; the
        # state loop polls the page from then on
        self.call("WebDriver:NewSession",
                  {"capabilities": {"pageLoadStrategy": "eager"}})
        self.sock.settimeout(60)

    def call(self, name, params=None):
        self.send(name, params)
        while True:
            reply = self.read()
            if reply[0] == 1 and reply[1] == self.id:
                break
        if reply[2]:
            raise RuntimeError("%s: %s" % (name, reply[2]))
        return reply[3]

    def navigate(self, url):
        self.call("WebDriver:Navigate", {"url": url})

    def state(self):
        # with "eager" the page's scripts may still be starting: an error
        # of the script is "no state yet", the loop asks again
        try:
            r = self.call("WebDriver:ExecuteScript",
                          {"script": "return " + STATE, "args": []})
        except RuntimeError:
            return ["", "", ""]
        return r.get("value") or ["", "", ""]

    def page(self):
        return self.call("WebDriver:GetPageSource").get("value", "")


def main():
    which, port, url, outdir = sys.argv[1:5]
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 120
    deadline = time.time() + seconds
    b = (Chromium if which == "chromium" else Firefox)(int(port), deadline)
    b.navigate(url)
    with open(os.path.join(outdir, "opened"), "w") as f:
        f.write("%.1f\n" % (time.time() - (deadline - seconds)))
    deadline = time.time() + seconds
    seen = None
    while time.time() < deadline:
        cls, text, payment = b.state()
        if cls != seen:
            print("state: %s: %s" % (cls, text), flush=True)
            seen = cls
        if cls == "waiting" and payment:
            with open(os.path.join(outdir, "waiting.tmp"), "w") as f:
                f.write(payment + "\n")
            os.rename(os.path.join(outdir, "waiting.tmp"),
                      os.path.join(outdir, "waiting"))
        if cls not in ("", "idle", "submitting", "waiting"):
            with open(os.path.join(outdir, "page.html"), "w") as f:
                f.write(b.page())
            with open(os.path.join(outdir, "final"), "w") as f:
                f.write("%s\n%s\n" % (cls, text))
            return 0
        time.sleep(0.2)
    print("no final state before the deadline (last: %s)" % seen)
    return 1


if __name__ == "__main__":
    sys.exit(main())
