"""Marionette's wire (Firefox's remote protocol): length-prefixed JSON over
TCP, "LEN:[0, id, name, params]" out and "LEN:[1, id, error, result]" in.
Shared by p11_firefox.py, pay_shop.py and browser_drive.py.

Marionette(port, start, ...) is the one way the tests start talking to a
Firefox: it connects and makes the WebDriver session within START seconds
of the browser's launch (BrowserSlow otherwise, a message that says it was
the browser's start that was slow, not the page); every deadline of a test
counts from .started, the moment the session was made. Each call has a
bound of its own (BrowserError when Firefox does not answer in time)."""

import json
import socket
import time


class BrowserError(Exception):
    """the browser did not do what was asked (no answer in time, closed)"""


class BrowserSlow(BrowserError):
    """the browser did not answer its first command within its start bound"""


class MarionetteError(BrowserError):
    """Marionette answered a command with an error"""

    def __init__(self, name, err):
        if isinstance(err, dict):
            self.error = str(err.get("error", ""))
            self.message = str(err.get("message", ""))
        else:
            self.error, self.message = str(err), ""
        super().__init__("%s: %s: %s" % (name, self.error, self.message))


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


class Marionette(MarionetteWire):
    """a WebDriver session with the Firefox listening on 127.0.0.1:PORT

    start: seconds from t0 (default: now; pass the browser's launch time)
    for Firefox to accept the connection, greet and make the session;
    capabilities: WebDriver's, flat ({"pageLoadStrategy": "eager"}): this
    Marionette reads them from the command's parameters themselves and
    ignores a "capabilities" member;
    proc: the browser's Popen, if this process started it (its exit ends
    the wait at once); timeout: the default bound of each later call."""

    def __init__(self, port, start, capabilities=None, proc=None, t0=None,
                 timeout=60):
        t0 = time.time() if t0 is None else t0
        self.timeout = timeout
        deadline = t0 + start
        last = "no connection yet"
        while True:
            if proc is not None and proc.poll() is not None:
                raise BrowserError("firefox exited (status %s) before its "
                                   "Marionette answered" % proc.returncode)
            left = deadline - time.time()
            if left <= 0:
                raise BrowserSlow(
                    "the browser was slow to start: firefox made no Marionette "
                    "session within %d s of its launch (last: %s)" % (start, last))
            try:
                self.sock = socket.create_connection(("127.0.0.1", port),
                                                     timeout=left)
            except OSError as e:
                last = "connect: %s" % e
                time.sleep(min(0.3, max(left, 0)))
                continue
            self.buf = b""
            self.id = 0
            try:
                self.sock.settimeout(max(deadline - time.time(), 0.1))
                self.hello = self.read()
                last = "greeted, no session"
                self.capabilities = self._call("WebDriver:NewSession",
                                               capabilities or {})
                break
            except (OSError, ValueError) as e:
                # a Firefox still starting may close the first connection
                last = "%s (%s)" % (last, e)
                self.sock.close()
                if isinstance(e, socket.timeout):
                    continue
                time.sleep(0.3)
        self.started = time.time()
        self.start_seconds = self.started - t0

    def _call(self, name, params):
        self.send(name, params)
        while True:
            reply = self.read()
            if reply[0] == 1 and reply[1] == self.id:
                break
            if reply[0] == 1 and reply[2]:
                print("late reply to command %d: %s" % (reply[1], reply[2]),
                      flush=True)
        if reply[2]:
            raise MarionetteError(name, reply[2])
        return reply[3]

    def call(self, name, params=None, timeout=None):
        """the command's result; MarionetteError for Marionette's error,
        BrowserError when Firefox does not answer within timeout seconds
        (default: self.timeout)"""
        t = self.timeout if timeout is None else timeout
        self.sock.settimeout(max(t, 0.1))
        try:
            return self._call(name, params)
        except socket.timeout:
            raise BrowserError("firefox did not answer %s within %.0f s"
                               % (name, t)) from None
        except (OSError, ValueError) as e:
            raise BrowserError("firefox, %s: %s" % (name, e)) from None
