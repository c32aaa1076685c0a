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

A browser has START seconds (WALLETKEY_BROWSER_START, default 300) from its
launch to answer its first command (DevTools: a target made; Marionette: the
session made), else BrowserSlow, whose message says it was the browser's
start that was slow; a test's own deadlines count from then (.started).
"""
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from marionette_wire import (BrowserError, BrowserSlow,  # noqa: E402,F401
                             Marionette)

START = float(os.environ.get("WALLETKEY_BROWSER_START", "300"))


def kill_browser(b, wait=0):
    """waits wait seconds for browser b to end, kills it if it has not,
    then drops its log and profile"""
    try:
        b.proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        b.proc.kill()
        b.proc.wait()
    b.log.close()
    shutil.rmtree(b.profile, ignore_errors=True)


def close_browser(b, quit_command, wait):
    """asks browser b to quit (quit_command), kills it when it has not
    after wait seconds, then drops its log and profile"""
    try:
        b.call(quit_command, timeout=wait)
    except Exception:
        pass
    kill_browser(b, wait)


class Chromium:
    def __init__(self, workdir, timeout=60, start=START):
        self.timeout = timeout
        self.id = 0
        t0 = time.time()
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
        try:
            try:
                t = self.call("Target.createTarget", {"url": "about:blank"},
                              timeout=max(t0 + start - time.time(), 0.1))
            except BrowserError as e:
                if self.proc.poll() is not None:
                    raise
                raise BrowserSlow("the browser was slow to start: chromium did "
                                  "not answer its first command within %d s of "
                                  "its launch (%s)" % (start, e)) from None
            self.started = time.time()
            self.start_seconds = self.started - t0
            a = self.call("Target.attachToTarget",
                          {"targetId": t["targetId"], "flatten": True})
            self.session = a["sessionId"]
            self.call("Page.enable", session=True)
            self.call("Runtime.enable", session=True)
        except BaseException:
            kill_browser(self)
            raise

    def _read_msg(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                raise BrowserError("chromium did not answer")
            chunk = self.r.read(65536)
            if not chunk:
                raise BrowserError("chromium closed the pipe (status %s)"
                                   % self.proc.poll())
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, params=None, session=False, timeout=None):
        self.id += 1
        m = {"id": self.id, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = self.session
        self.w.write(json.dumps(m).encode() + b"\0")
        t = self.timeout if timeout is None else timeout
        deadline = time.time() + t
        while True:
            try:
                r = self._read_msg(deadline)
            except BrowserError as e:
                raise BrowserError("%s: %s (its bound: %.0f s)" % (method, e, t)) from None
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
    def __init__(self, workdir, timeout=90, start=START):
        self.timeout = timeout
        t0 = time.time()
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
        try:
            self.m = Marionette(port, start, {"timeouts": {"pageLoad": timeout * 1000}},
                                proc=self.proc, t0=t0, timeout=timeout)
        except BaseException:
            kill_browser(self)
            raise
        self.started = self.m.started
        self.start_seconds = self.m.start_seconds

    def call(self, command, params=None, timeout=None):
        return self.m.call(command, params, timeout)

    def navigate(self, url):
        self.call("WebDriver:Navigate", {"url": url}, timeout=self.timeout + 10)

    def eval(self, expr):
        script = ("const done = arguments[arguments.length - 1];"
                  "Promise.resolve().then(() => (%s)).then("
                  "v => done({ok: true, v: v === undefined ? null : v}),"
                  "e => done({ok: false, e: String(e)}));" % expr)
        r = self.call("WebDriver:ExecuteAsyncScript",
                      {"script": script, "args": [],
                       "scriptTimeout": self.timeout * 1000},
                      timeout=self.timeout + 10)
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
