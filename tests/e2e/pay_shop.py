#!/usr/bin/env python3
"""Drives ONE headless browser through walletkey-shop's checkouts for
pay_shop.sh.

usage: pay_shop.py chromium|firefox PORT OUTDIR START WAIT

Chromium: the DevTools protocol (JSON over a WebSocket, --remote-debugging-
port=PORT); Firefox: Marionette (marionette_wire.py, --marionette with
marionette.port=PORT). Both with the standard library only.

The start: the browser pay_shop.sh launched has START seconds from this
driver's start to answer its first command (Firefox: the Marionette session
made; Chromium: a DevTools answer on its page). Then OUTDIR/session holds
the seconds it took; otherwise OUTDIR/fail says the browser was slow to
start (not the shop, not the card) and the driver exits 2.

Then checkouts, one after another in that browser: for N = 1, 2, ... the
driver waits for OUTDIR/go.N (the checkout page's URL, with auto=1, which
asks the shop for the payment at once; "quit" ends) and opens it. From
that moment the page has WAIT seconds to say it waits for the key: the
payment id goes to OUTDIR/waiting.N and pay_shop.sh runs walletkey confirm;
from then the page has WAIT seconds again to reach a final state (the
#state element's class: paid, declined, expired, ...): its class and text
go to OUTDIR/final.N, the page to OUTDIR/page.N.html. When a deadline
passes, OUTDIR/fail.N says which, with what the page had reached (its
state, address, readyState and text). Every deadline counts from the
browser's answer or the checkout's start, never from the test's start.
Exit 0 when every checkout reached a final state.
"""
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.request

from marionette_wire import BrowserError, BrowserSlow, Marionette, MarionetteError

STATE = ("(() => { const s = document.getElementById('state');"
         " return s ? [s.className, s.textContent, s.dataset.payment || ''] :"
         " ['', '', '']; })()")
# what the page reached, for a failure's message
REACHED = ("(() => ({url: location.href, readyState: document.readyState,"
           " state: (document.getElementById('state') || {}).className ?? null,"
           " text: (document.body ? document.body.innerText : '').slice(0, 400)}))()")


class PageNotReady(Exception):
    """the page's script failed or its context is gone: ask again"""


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
    name = "chromium"

    def __init__(self, port, start):
        t0 = time.time()
        deadline = t0 + start
        self.id = 0
        last = "no answer yet"
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise BrowserSlow(
                    "the browser was slow to start: chromium gave no DevTools "
                    "answer within %d s of its launch (last: %s)" % (start, last))
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port,
                                            timeout=min(left, 10)) as r:
                    pages = [p for p in json.load(r) if p.get("type") == "page"]
                if not pages:
                    last = "no page target yet"
                    time.sleep(0.3)
                    continue
                self.ws = WebSocket(pages[0]["webSocketDebuggerUrl"],
                                    max(deadline - time.time(), 0.1))
                # its first answer
                self.call("Runtime.evaluate", {"expression": "1"},
                          max(deadline - time.time(), 0.1))
                break
            except (OSError, ValueError, BrowserError, PageNotReady) as e:
                last = str(e)
                time.sleep(0.3)
        self.started = time.time()
        self.start_seconds = self.started - t0

    def call(self, method, params=None, timeout=60):
        self.ws.sock.settimeout(max(timeout, 0.1))
        self.id += 1
        try:
            self.ws.send(json.dumps({"id": self.id, "method": method,
                                     "params": params or {}}))
            while True:
                reply = json.loads(self.ws.recv())
                if reply.get("id") == self.id:
                    break
        except socket.timeout:
            raise BrowserError("chromium did not answer %s within %.0f s"
                               % (method, timeout)) from None
        except (OSError, ValueError) as e:
            raise BrowserError("chromium, %s: %s" % (method, e)) from None
        if "error" in reply:
            raise PageNotReady("%s: %s" % (method, reply["error"]))
        return reply.get("result", {})

    def navigate(self, url, timeout):
        """None, or the error the navigation ended with"""
        try:
            return self.call("Page.navigate", {"url": url}, timeout).get("errorText")
        except PageNotReady as e:
            return str(e)

    def eval(self, expr, timeout):
        r = self.call("Runtime.evaluate", {"expression": expr,
                                           "returnByValue": True}, timeout)
        if "exceptionDetails" in r:
            raise PageNotReady(str(r["exceptionDetails"].get("text", "")))
        return r.get("result", {}).get("value")

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except (BrowserError, PageNotReady):
            pass


class Firefox:
    name = "firefox"

    def __init__(self, port, start, wait):
        # "eager": Navigate returns once the document is parsed, as
        # Chromium's Page.navigate does not wait for the load either; the
        # state loop polls the page from then on; Marionette's own bound
        # of a navigation is the checkout's
        # (Marionette reads the capabilities flat, not under "capabilities")
        self.m = Marionette(port, start, {
            "pageLoadStrategy": "eager",
            "timeouts": {"pageLoad": int(wait * 1000), "script": 30000}})
        self.started = self.m.started
        self.start_seconds = self.m.start_seconds
        caps = self.m.capabilities.get("capabilities", {})
        print("firefox %s: pageLoadStrategy %s, timeouts %s" % (
            caps.get("browserVersion"), caps.get("pageLoadStrategy"),
            json.dumps(caps.get("timeouts"))), flush=True)

    def navigate(self, url, timeout):
        try:
            # (Marionette's own bound of the load ends first)
            self.m.call("WebDriver:Navigate", {"url": url}, timeout + 15)
        except MarionetteError as e:
            # (a page load past its bound: the state loop still looks)
            return str(e)
        return None

    def eval(self, expr, timeout):
        # with "eager" the page's scripts may still be starting: an error
        # of the script is "no state yet", the loop asks again
        try:
            r = self.m.call("WebDriver:ExecuteScript",
                            {"script": "return " + expr, "args": []}, timeout)
        except MarionetteError as e:
            raise PageNotReady(str(e)) from None
        return r.get("value") if isinstance(r, dict) else r

    def close(self):
        try:
            self.m.call("Marionette:Quit", timeout=10)
        except BrowserError:
            pass


def reached(b):
    """what the page shows now, for a failure's message"""
    try:
        return json.dumps(b.eval(REACHED, 30), ensure_ascii=False)
    except (BrowserError, PageNotReady) as e:
        return "(the page did not say: %s)" % e


def put(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def checkout(b, n, url, wait, outdir):
    """one checkout in browser b; True when the page reached a final state"""
    t0 = time.time()
    deadline = t0 + wait
    phase = "to wait for the key"
    # a blank page first: the last checkout's page stops, and the next one
    # starts afresh even where its address is the same
    blank = b.navigate("about:blank", wait)
    if blank:
        print("checkout %d: about:blank: %s" % (n, blank), flush=True)
    # (and gone for sure: the state read next is the new page's)
    href = None
    while href != "about:blank" and time.time() < deadline:
        try:
            href = b.eval("location.href", max(deadline - time.time(), 1))
        except PageNotReady:
            pass
        if href != "about:blank":
            time.sleep(0.1)
    err = b.navigate(url, max(deadline - time.time(), 1))
    print("checkout %d: the page opened after %.1f s%s" %
          (n, time.time() - t0, " (%s)" % err if err else ""), flush=True)
    seen = None
    while True:
        left = deadline - time.time()
        if left <= 0:
            msg = ("checkout %d: the page did not %s within %d s (last state: %s); "
                   "the page reached: %s" % (n, phase, wait, seen, reached(b)))
            print(msg, flush=True)
            put(os.path.join(outdir, "fail.%d" % n), msg + "\n")
            return False
        try:
            cls, text, payment = b.eval(STATE, max(left, 5)) or ["", "", ""]
        except PageNotReady:
            cls, text, payment = "", "", ""
        if cls != seen:
            print("checkout %d: %.1f s: state %s: %s" % (n, time.time() - t0, cls, text),
                  flush=True)
            seen = cls
        if cls == "waiting" and payment and phase == "to wait for the key":
            put(os.path.join(outdir, "waiting.%d" % n), payment + "\n")
            # the confirmation's own time, from now
            phase = "reach a final state"
            deadline = time.time() + wait
        if cls not in ("", "idle", "submitting", "waiting"):
            try:
                page = b.eval("document.documentElement.outerHTML", 30)
            except (BrowserError, PageNotReady) as e:
                page = "(no page: %s)" % e
            put(os.path.join(outdir, "page.%d.html" % n), page or "")
            put(os.path.join(outdir, "final.%d" % n), "%s\n%s\n" % (cls, text))
            return True
        time.sleep(0.2)


def main():
    which, port, outdir = sys.argv[1:4]
    start, wait = float(sys.argv[4]), float(sys.argv[5])
    try:
        if which == "chromium":
            b = Chromium(int(port), start)
        else:
            b = Firefox(int(port), start, wait)
    except BrowserError as e:
        msg = "%s: %s" % (which, e)
        print(msg, flush=True)
        put(os.path.join(outdir, "fail"), msg + "\n")
        return 2
    print("%s answered %.1f s after the driver's start" % (which, b.start_seconds),
          flush=True)
    put(os.path.join(outdir, "session"), "%.1f\n" % b.start_seconds)
    n, failed = 0, 0
    while True:
        n += 1
        go = os.path.join(outdir, "go.%d" % n)
        while not os.path.exists(go):
            time.sleep(0.1)
        with open(go) as f:
            url = f.read().strip()
        if url == "quit":
            break
        try:
            if not checkout(b, n, url, wait, outdir):
                failed += 1
        except BrowserError as e:
            msg = "checkout %d: %s: %s; the page reached: %s" % (n, which, e, reached(b))
            print(msg, flush=True)
            put(os.path.join(outdir, "fail.%d" % n), msg + "\n")
            failed += 1
    b.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
