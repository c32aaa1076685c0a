#!/usr/bin/env python3
"""Drives Firefox over Marionette for p11_firefox.sh.

usage: p11_firefox.py PORT URL PIN CN OUTDIR [SECONDS]

Marionette is length-prefixed JSON over TCP: "len:[0, id, command, params]",
answered by "len:[1, id, error, result]".

The PIN prompt: NSS asks Firefox for the token's password
(PK11PasswordPrompt in security/manager), which asks the prompter service
"@mozilla.org/prompter;1" for an nsIPrompt and calls promptPassword. The
window-modal dialog the real prompter opens spins a nested event loop in
which Marionette stops answering (Firefox ESR 153), so in chrome context this
script registers its own prompter under that contract: Firefox's prompt code
runs as for a person, the dialog is answered with PIN (only for a prompt that
names the walletkey token, at most twice), and NSS calls C_Login with it.
Then WebDriver:Navigate to URL, WebDriver:GetPageSource must show
"subject: CN=CN"; screenshot to OUTDIR/firefox.png, page to
OUTDIR/firefox.html. Exit 0 when the page shows the subject after a PIN
prompt was answered, 1 otherwise.
"""
import base64
import json
import socket
import sys
import time

INSTALL_PROMPTER = r"""
const [pin] = arguments;
const registrar = Components.manager.QueryInterface(Ci.nsIComponentRegistrar);
const prompter = {
  wrappedJSObject: null,
  seen: [],
  answered: 0,
  QueryInterface: ChromeUtils.generateQI(["nsIPromptFactory", "nsIPromptService", "nsIPrompt"]),
  getPrompt(win, iid) { return this.QueryInterface(iid); },
  // nsIPrompt (title, text, password, checkMsg, check) and nsIPromptService
  // (parent, title, text, password, checkMsg, check)
  promptPassword(...a) {
    const [text, password] = a.length >= 6 ? [a[2], a[3]] : [a[1], a[2]];
    this.seen.push(String(text));
    if (!/walletkey/.test(text) || this.answered >= 2) return false;
    this.answered++;
    password.value = pin;
    return true;
  },
};
prompter.wrappedJSObject = prompter;
const factory = {
  QueryInterface: ChromeUtils.generateQI(["nsIFactory"]),
  createInstance(iid) { return prompter.QueryInterface(iid); },
};
registrar.registerFactory(Components.ID("{5b1e4a0c-7d0e-4c59-9e53-3f0c2b9d7a11}"),
  "walletkey test prompter", "@mozilla.org/prompter;1", factory);
const got = Cc["@mozilla.org/prompter;1"].getService(Ci.nsIPromptService);
return got.wrappedJSObject === prompter;
"""

PROMPTS = r"""
const p = Cc["@mozilla.org/prompter;1"].getService(Ci.nsIPromptService).wrappedJSObject;
return p ? {seen: p.seen, answered: p.answered} : null;
"""


class Marionette:
    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.id = 0
        self.hello = self.read()

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

    def call(self, name, params=None):
        self.send(name, params)
        while True:
            reply = self.read()
            if reply[0] == 1 and reply[1] == self.id:
                break
            if reply[0] == 1 and reply[2]:
                print("reply to command %d: %s" % (reply[1], reply[2]))
        if reply[2]:
            raise RuntimeError("%s: %s" % (name, reply[2].get("error", reply[2])
                                           + ": " + reply[2].get("message", "")))
        return reply[3]


def connect(port, deadline):
    last = None
    while time.time() < deadline:
        try:
            return Marionette(port, 30)
        except OSError as e:
            last = e
            time.sleep(0.2)
    raise TimeoutError("no Marionette on port %d: %s" % (port, last))


def main():
    port, url, pin, cn, outdir = sys.argv[1:6]
    seconds = float(sys.argv[6]) if len(sys.argv) > 6 else 90
    deadline = time.time() + seconds
    m = connect(int(port), deadline)
    m.sock.settimeout(seconds)
    print("marionette:", json.dumps(m.hello))
    caps = m.call("WebDriver:NewSession", {
        "pageLoadStrategy": "normal", "acceptInsecureCerts": False,
        "timeouts": {"pageLoad": int(seconds * 1000 * 0.8), "script": 10000}})
    print("session: %s %s" % (caps["capabilities"].get("browserName"),
                              caps["capabilities"].get("browserVersion")))
    m.call("Marionette:SetContext", {"value": "chrome"})
    if not m.call("WebDriver:ExecuteScript", {"script": INSTALL_PROMPTER,
                                              "args": [pin]})["value"]:
        print("FAIL: the test prompter is not the one Firefox uses")
        return 1
    m.call("Marionette:SetContext", {"value": "content"})
    err = None
    try:
        m.call("WebDriver:Navigate", {"url": url})
    except RuntimeError as e:
        err = e
        print("navigate: %s" % e)
    source = ""
    try:
        source = m.call("WebDriver:GetPageSource")["value"]
    except RuntimeError as e:
        print("page source: %s" % e)
    with open(outdir + "/firefox.html", "w") as f:
        f.write(source)
    try:
        png = m.call("WebDriver:TakeScreenshot", {"full": False})["value"]
        with open(outdir + "/firefox.png", "wb") as f:
            f.write(base64.b64decode(png))
    except RuntimeError as e:
        print("screenshot: %s" % e)
    m.call("Marionette:SetContext", {"value": "chrome"})
    prompts = m.call("WebDriver:ExecuteScript", {"script": PROMPTS})["value"] or {}
    for text in prompts.get("seen", []):
        print("PIN prompt: %s" % text.replace("\n", " "))
    answered = prompts.get("answered", 0)
    try:
        m.call("WebDriver:DeleteSession")
    except (RuntimeError, OSError):
        pass
    want = "subject: CN=" + cn + "<"
    if want not in source:
        print("FAIL: the page does not show CN=%s (PIN prompts answered: %d, "
              "navigate: %s); page: %s" % (cn, answered, err, source[:500]))
        return 1
    if answered == 0:
        print("FAIL: the page loaded but no PIN prompt was answered")
        return 1
    print("page shows CN=%s; PIN prompts answered: %d" % (cn, answered))
    return 0


if __name__ == "__main__":
    sys.exit(main())
