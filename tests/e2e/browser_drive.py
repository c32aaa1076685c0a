#!/usr/bin/env python3
"""Drives a headless Chromium or Firefox for the end-to-end tests, with
nothing but the standard library and what the browsers bring.

Chromium: the DevTools protocol over --remote-debugging-pipe (JSON messages
ended by a NUL byte on file descriptors 3, the browser's input, and 4, its
output), one page target attached with flat sessions.
Firefox: Marionette, length-prefixed JSON over TCP on 127.0.0.1
("len:[0, id, command, params]", answered "len:[1, id, error, result]"),
as tests/e2e/p11_firefox.py does.

Both give: navigate(url), eval(expression) (a JavaScript expression in the
page; a promise is awaited; the value comes back as JSON), close().
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time


class BrowserError(Exception):
    pass


def close_browser(b, quit_command, wait):
    """asks browser b to quit (quit_command), kills it when it has not
    after wait seconds, then drops its log and profile"""
    try:
        b.call(quit_command)
    except Exception:
        pass
    try:
        b.proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        b.proc.kill()
        b.proc.wait()
    b.log.close()
    shutil.rmtree(b.profile, ignore_errors=True)


class Chromium:
    def __init__(self, workdir, timeout=60):
        self.timeout = timeout
        self.id = 0
        r_in, w_in = os.pipe()     # we write, the browser reads (its fd 3)
        r_out, w_out = os.pipe()   # the browser writes (its fd 4), we read
        self.profile = tempfile.mkdtemp(dir=workdir, prefix="chromium.")
        self.log = open(os.path.join(workdir, "chromium.err"), "ab")
        # the shell puts the pipes on 3 and 4, where chromium wants them
        self.proc = subprocess.Popen(
            ["sh", "-c", 'exec "$0" "$@" 3<&%d 4>&%d' % (r_in, w_out),
             "chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--disable-extensions",
             "--user-data-dir=" + self.profile, "--remote-debugging-pipe",
             "--window-size=1100,900", "about:blank"],
            pass_fds=(r_in, w_out),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        os.close(r_in)
        os.close(w_out)
        self.w = os.fdopen(w_in, "wb", buffering=0)
        self.r = os.fdopen(r_out, "rb", buffering=0)
        self.buf = b""
        t = self.call("Target.createTarget", {"url": "about:blank"})
        a = self.call("Target.attachToTarget",
                      {"targetId": t["targetId"], "flatten": True})
        self.session = a["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)

    def _read_msg(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise BrowserError("chromium did not answer")
            chunk = self.r.read(65536)
            if not chunk:
                raise BrowserError("chromium closed the pipe")
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, params=None, session=False):
        self.id += 1
        m = {"id": self.id, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = self.session
        self.w.write(json.dumps(m).encode() + b"\0")
        deadline = time.time() + self.timeout
        while True:
            r = self._read_msg(deadline)
            if r.get("id") == self.id:
                if "error" in r:
                    raise BrowserError("%s: %s" % (method, r["error"]))
                return r.get("result", {})

    def navigate(self, url):
        r = self.call("Page.navigate", {"url": url}, session=True)
        if r.get("errorText"):
            raise BrowserError("navigate %s: %s" % (url, r["errorText"]))

    def eval(self, expr):
        r = self.call("Runtime.evaluate",
                      {"expression": expr, "awaitPromise": True,
                       "returnByValue": True}, session=True)
        if "exceptionDetails" in r:
            raise BrowserError("%s: %s" % (expr, r["exceptionDetails"].get(
                "exception", {}).get("description", r["exceptionDetails"])))
        return r.get("result", {}).get("value")

    def close(self):
        close_browser(self, "Browser.close", 10)


PREFS = """
user_pref("marionette.port", %d);
user_pref("network.proxy.type", 0);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("app.update.disabledForTesting", true);
user_pref("app.normandy.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("browser.download.dir", "%s");
user_pref("browser.download.folderList", 2);
user_pref("browser.download.useDownloadDir", true);
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Firefox:
    def __init__(self, workdir, timeout=90):
        self.timeout = timeout
        self.id = 0
        self.buf = b""
        self.profile = tempfile.mkdtemp(dir=workdir, prefix="firefox.")
        self.downloads = os.path.join(self.profile, "downloads")
        os.mkdir(self.downloads)
        port = free_port()
        with open(os.path.join(self.profile, "user.js"), "w") as f:
            f.write(PREFS % (port, self.downloads))
        self.log = open(os.path.join(workdir, "firefox.err"), "ab")
        env = dict(os.environ, MOZ_HEADLESS="1")
        self.proc = subprocess.Popen(
            ["firefox-esr", "--headless", "--marionette", "--no-remote",
             "--profile", self.profile, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=env)
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port),
                                                     timeout=timeout)
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise BrowserError("firefox's marionette does not answer")
                time.sleep(0.3)
        self._read()  # hello
        self.call("WebDriver:NewSession", {"capabilities": {}})

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise BrowserError("firefox closed marionette")
        self.buf += data

    def _read(self):
        while b":" not in self.buf:
            self._more()
        head, _, rest = self.buf.partition(b":")
        n = int(head)
        while len(rest) < n:
            self._more()
            head, _, rest = self.buf.partition(b":")
        self.buf = rest[n:]
        return json.loads(rest[:n])

    def call(self, command, params=None):
        self.id += 1
        data = json.dumps([0, self.id, command, params or {}]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            r = self._read()
            if r[0] == 1 and r[1] == self.id:
                if r[2]:
                    raise BrowserError("%s: %s" % (command, r[2]))
                return r[3]

    def navigate(self, url):
        self.call("WebDriver:Navigate", {"url": url})

    def eval(self, expr):
        script = ("const done = arguments[arguments.length - 1];"
                  "Promise.resolve().then(() => (%s)).then("
                  "v => done({ok: true, v: v === undefined ? null : v}),"
                  "e => done({ok: false, e: String(e)}));" % expr)
        r = self.call("WebDriver:ExecuteAsyncScript",
                      {"script": script, "args": [],
                       "scriptTimeout": self.timeout * 1000})
        v = r.get("value") if isinstance(r, dict) else r
        if not v or not v.get("ok"):
            raise BrowserError("%s: %s" % (expr, v.get("e") if v else v))
        return v.get("v")

    def close(self):
        close_browser(self, "Marionette:Quit", 20)


def open_browser(name, workdir):
    if name == "chromium":
        return Chromium(workdir)
    if name == "firefox":
        return Firefox(workdir)
    raise ValueError(name)


def wait_for(b, expr, timeout=30, what=None):
    """polls expr until it is truthy; returns its value"""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = b.eval(expr)
        except BrowserError as e:
            last = str(e)
        else:
            if last:
                return last
        time.sleep(0.2)
    raise BrowserError("timed out waiting for %s (last: %r)" %
                       (what or expr, last))
