#!/usr/bin/env python3
"""Drives Firefox over Marionette for p11_firefox.sh.

usage: p11_firefox.py PORT URL PIN CN OUTDIR [SECONDS [START]]

Marionette is length-prefixed JSON over TCP: "len:[0, id, command, params]",
answered by "len:[1, id, error, result]" (marionette_wire.py). Firefox has
START seconds (default 300) from this driver's start to make the Marionette
session, else the driver says the browser was slow to start and exits 2;
SECONDS (default 90) for the page count from the session made.

The PIN prompt: NSS asks Firefox for the token's password (PK11PasswordPrompt
in security/manager), which opens the real window-modal dialog
(commonDialog.xhtml). While it is open its nested event loop leaves
Marionette unanswered (Firefox ESR 153), so before navigating the script
installs, in chrome context, an observer of "common-dialog-loaded" that runs
inside that loop: for a dialog that names the walletkey token (at most
twice) it types PIN into the dialog's password field and accepts it, as a
person would, and NSS calls C_Login with it. Then WebDriver:Navigate to URL;
WebDriver:GetPageSource must show "subject: CN=CN" (polled: the dialog can
end Navigate's wait early); screenshot to OUTDIR/firefox.png, page to
OUTDIR/firefox.html. Exit 0 when the page shows the subject after a PIN
dialog was answered, 1 otherwise.
"""
import base64
import json
import sys
import time

from marionette_wire import BrowserError, Marionette, MarionetteError

WATCH_PIN_DIALOG = r"""
const [pin] = arguments;
const state = {seen: [], answered: 0, errors: []};
const observer = {
  observe(subject, topic) {
    try {
      const win = subject.document ? subject : subject.Dialog?.window ?? subject;
      const doc = win.document;
      const text = doc.getElementById("infoBody")?.textContent ?? "";
      state.seen.push(String(text));
      const pw = doc.getElementById("password1Textbox");
      if (!pw || !/walletkey/.test(text) || state.answered >= 2) return;
      state.answered++;
      Services.tm.dispatchToMainThread(() => {
        pw.value = pin;
        doc.getElementById("commonDialog").acceptDialog();
      });
    } catch (e) {
      state.errors.push(String(e));
    }
  },
};
Services.obs.addObserver(observer, "common-dialog-loaded");
Services.wkTestPrompt = state;
return true;
"""

PROMPTS = r"""
const p = Services.wkTestPrompt;
return p ? {seen: p.seen, answered: p.answered, errors: p.errors} : null;
"""


def main():
    port, url, pin, cn, outdir = sys.argv[1:6]
    seconds = float(sys.argv[6]) if len(sys.argv) > 6 else 90
    start = float(sys.argv[7]) if len(sys.argv) > 7 else 300
    try:
        m = Marionette(int(port), start, {
            "pageLoadStrategy": "normal", "acceptInsecureCerts": False,
            "timeouts": {"pageLoad": int(seconds * 1000 * 0.8), "script": 10000}},
            timeout=seconds)
    except BrowserError as e:
        print("FAIL: %s" % e)
        return 2
    # the page's time counts from here
    deadline = m.started + seconds
    print("marionette:", json.dumps(m.hello))
    caps = m.capabilities
    print("session after %.1f s: %s %s" % (m.start_seconds,
                                           caps["capabilities"].get("browserName"),
                                           caps["capabilities"].get("browserVersion")))
    m.call("Marionette:SetContext", {"value": "chrome"})
    if not m.call("WebDriver:ExecuteScript", {"script": WATCH_PIN_DIALOG,
                                              "args": [pin]})["value"]:
        print("FAIL: could not watch for the PIN dialog")
        return 1
    m.call("Marionette:SetContext", {"value": "content"})
    err = None
    try:
        m.call("WebDriver:Navigate", {"url": url})
    except MarionetteError as e:
        err = e
        print("navigate: %s" % e)
    # the modal PIN dialog can end Navigate's wait early: poll the page
    want = "subject: CN=" + cn + "<"
    source = ""
    while True:
        try:
            source = m.call("WebDriver:GetPageSource",
                            timeout=max(deadline - time.time(), 10))["value"]
        except MarionetteError as e:
            print("page source: %s" % e)
        if want in source or time.time() > deadline:
            break
        time.sleep(0.3)
    with open(outdir + "/firefox.html", "w") as f:
        f.write(source)
    try:
        png = m.call("WebDriver:TakeScreenshot", {"full": False})["value"]
        with open(outdir + "/firefox.png", "wb") as f:
            f.write(base64.b64decode(png))
    except MarionetteError as e:
        print("screenshot: %s" % e)
    m.call("Marionette:SetContext", {"value": "chrome"})
    prompts = m.call("WebDriver:ExecuteScript", {"script": PROMPTS})["value"] or {}
    for e in prompts.get("errors", []):
        print("prompt error: %s" % e)
    for text in prompts.get("seen", []):
        print("PIN prompt: %s" % text.replace("\n", " "))
    answered = prompts.get("answered", 0)
    try:
        m.call("WebDriver:DeleteSession")
    except BrowserError:
        pass
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
    try:
        sys.exit(main())
    except BrowserError as e:
        print("FAIL: %s" % e)
        sys.exit(1)
