#!/usr/bin/env python3
"""The control panel in a real browser (ui_panel.sh runs it in the sandbox).

usage: ui_panel.py BROWSER LOGIN_URL EVIL_URL WORKDIR

BROWSER is chromium or firefox. Environment: WK (the walletkey binary),
WK_SAM (a software SAM for the purchase another process makes), WK_PIN and
WK_PURSE_PIN (the card's PINs now; the scenario changes each and changes it
back), WK_SERIAL (the card's serial).

The scenario, as a holder would: log in with the one-time link; the key's
status; a wrong PIV PIN shows the tries left, then the PIV PIN changed (and
checked with the CLI); the same for the purse PIN; the key renamed (walletkey
readers shows it) and a label with markup shown as text; the certificates
and a PEM export; the transactions with the purse PIN, the balance chart,
then a purchase made by another process appears after the PIN; filters;
the about page. Then the attacks from the browser: the login link again,
and a page of another origin calling the panel (refused; nothing changed).
Prints "ok ..." per step; exit 1 on the first failure.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_drive import BrowserError, open_browser, wait_for  # noqa: E402

WK = os.environ["WK"]


def wk(*args, ok=True):
    p = subprocess.run([WK, *args], capture_output=True, text=True, timeout=120)
    if ok and p.returncode != 0:
        raise SystemExit("FAIL walletkey %s: %s" % (" ".join(args), p.stderr))
    return p


def step(what):
    print("ok   " + what, flush=True)


def js_str(s):
    return json.dumps(s)


def set_field(b, fid, value):
    b.eval("(() => { const e = document.getElementById(%s); e.value = %s;"
           " e.dispatchEvent(new Event('input')); return true; })()"
           % (js_str(fid), js_str(value)))


def submit(b, form):
    b.eval("(() => { document.getElementById(%s).requestSubmit(); return true; })()"
           % js_str(form))


def text_of(b, fid):
    return b.eval("document.getElementById(%s).textContent" % js_str(fid))


def wait_text(b, fid, want, timeout=30):
    return wait_for(b, "(() => { const t = document.getElementById(%s).textContent;"
                    " return t.includes(%s) ? t : false; })()"
                    % (js_str(fid), js_str(want)), timeout,
                    "#%s to show %r" % (fid, want))


def page(b, name):
    b.eval("(() => { document.querySelector('#nav button[data-page=%s]').click();"
           " return true; })()" % name)


def change_pin(b, which, old, new):
    page(b, "pins")
    b.eval("(() => { document.getElementById(%s).textContent = ''; return true; })()"
           % js_str(which + "-msg"))
    set_field(b, which + "-old", old)
    set_field(b, which + "-new", new)
    set_field(b, which + "-new2", new)
    submit(b, "form-" + which)
    return wait_for(b, "(() => { const t = document.getElementById(%s).textContent;"
                    " return t && !t.startsWith('asking') ? t : false; })()"
                    % js_str(which + "-msg"), 30, which + " PIN answer")


def rows(b):
    return b.eval("[...document.querySelectorAll('#records tbody tr')].map(tr =>"
                  " [...tr.children].map(td => td.textContent))")


def main():
    browser, login_url, evil_url, workdir = sys.argv[1:5]
    pin, purse_pin = os.environ["WK_PIN"], os.environ["WK_PURSE_PIN"]
    serial = os.environ["WK_SERIAL"]
    try:
        b = open_browser(browser, workdir)
    except BrowserError as e:
        raise SystemExit("FAIL %s: %s" % (browser, e))
    print("%s: the browser answered %.1f s after its launch" % (browser, b.start_seconds),
          flush=True)
    try:
        # ---- log in ----
        b.navigate(login_url)
        wait_for(b, "document.body.dataset.ready === 'yes'", 40, "the panel")
        wait_text(b, "st-serial", serial)
        if b.eval("location.hash") != "":
            raise SystemExit("FAIL the token stayed in the address bar")
        if b.eval("document.getElementById('st-purse-tries').textContent") != "3 tries left":
            raise SystemExit("FAIL purse tries: %r" % text_of(b, "st-purse-tries"))
        step("%s: logged in with the link; the key's status" % browser)

        # ---- PINs ----
        t = change_pin(b, "piv", "99999999", "24681357")
        if "wrong PIN: 2 tries left" not in t:
            raise SystemExit("FAIL a wrong PIV PIN: %r" % t)
        step("%s: a wrong PIV PIN shows the tries left (%s)" % (browser, t))
        t = change_pin(b, "piv", pin, "24681357")
        if t != "PIV PIN changed":
            raise SystemExit("FAIL PIV PIN change: %r" % t)
        p = subprocess.run([WK, "pin", "verify"], capture_output=True, text=True,
                           env=dict(os.environ, WALLETKEY_PIN="24681357"))
        q = subprocess.run([WK, "pin", "verify"], capture_output=True, text=True,
                           env=dict(os.environ, WALLETKEY_PIN=pin))
        if p.returncode != 0 or q.returncode == 0:
            raise SystemExit("FAIL the CLI does not see the new PIV PIN: %s %s"
                             % (p.stderr, q.stderr))
        t = change_pin(b, "piv", "24681357", pin)
        if t != "PIV PIN changed":
            raise SystemExit("FAIL PIV PIN back: %r" % t)
        step("%s: the PIV PIN changed (the CLI verifies it) and back" % browser)

        t = change_pin(b, "purse", "000000", "13572468")
        if "wrong PIN: 2 tries left" not in t:
            raise SystemExit("FAIL a wrong purse PIN: %r" % t)
        wait_text(b, "st-purse-tries", "2 tries left")
        step("%s: a wrong purse PIN shows the tries left, on the status too"
             % browser)
        t = change_pin(b, "purse", purse_pin, "13572468")
        if t != "purse PIN changed":
            raise SystemExit("FAIL purse PIN change: %r" % t)
        st = json.loads(wk("--json", "wallet", "pin", "status").stdout)
        if st["tries_left"] != 3:
            raise SystemExit("FAIL purse tries after the change: %r" % st)
        wait_text(b, "st-purse-tries", "3 tries left")
        step("%s: the purse PIN changed, three tries again" % browser)
        if b.eval("[...document.querySelectorAll('input[type=password]')]"
                  ".some(e => e.value !== '')"):
            raise SystemExit("FAIL a PIN stayed in a field")
        step("%s: no PIN stays in the page" % browser)

        # ---- the name ----
        page(b, "name")
        name = "Alice\u2019s key \u2713 %s" % browser
        set_field(b, "label-input", name)
        submit(b, "form-label")
        wait_text(b, "label-msg", "is now called")
        r = json.loads(wk("--json", "readers").stdout)
        labels = [x.get("label") for x in r["readers"] if x.get("serial") == serial]
        if labels != [name]:
            raise SystemExit("FAIL walletkey readers shows %r" % labels)
        step("%s: the key renamed; walletkey readers shows %r" % (browser, name))
        wk("label", "<img src=x onerror=alert(1)>")
        wait_text(b, "st-label", "<img src=x", 15)
        if b.eval("document.getElementById('st-label').querySelector('img') !== null"):
            raise SystemExit("FAIL a label became markup")
        step("%s: a label with markup is shown as text" % browser)
        wk("label", name)

        # ---- certificates ----
        page(b, "certs")
        wait_for(b, "document.querySelector('#certs tbody tr[data-slot=\"9a\"]') !== null",
                 20, "the 9a certificate")
        pem = b.eval("api('GET', 'cert?slot=9a').then(r => r.data.pem)")
        ref = wk("cert", "export", "--slot", "9a").stdout
        if not pem.startswith("-----BEGIN CERTIFICATE-----") or pem.strip() != ref.strip():
            raise SystemExit("FAIL the exported PEM differs from walletkey cert export")
        step("%s: certificates listed, 9a exported as the CLI exports it" % browser)

        # ---- transactions ----
        page(b, "records")
        submit(b, "form-records")
        wait_text(b, "records-msg", "purse PIN")
        set_field(b, "records-pin", "13572468")
        submit(b, "form-records")
        wait_for(b, "/^[0-9]+ transactions/.test(document.getElementById("
                 "'records-msg').textContent)", 30, "the transactions")
        before = rows(b)
        if len(before) < 2:
            raise SystemExit("FAIL records: %r" % before)
        pts = b.eval("document.getElementById('chart').dataset.points")
        if pts != str(len(before)):
            raise SystemExit("FAIL the chart has %r points for %d records" % (pts, len(before)))
        step("%s: %d transactions after the purse PIN, with the balance chart"
             % (browser, len(before)))
        wk("wallet", "purchase", "--amount", "1.23", "--sam", os.environ["WK_SAM"],
           "--insecure-master-keys")
        wait_for(b, "document.body.dataset.newRecords === 'yes'", 20,
                 "the new transaction noticed")
        wait_text(b, "records-msg", "new transaction")
        set_field(b, "records-pin", "13572468")
        submit(b, "form-records")
        wait_for(b, "document.querySelectorAll('#records tbody tr').length === %d"
                 % (len(before) + 1), 20, "the new row")
        top = rows(b)[0]
        if top[2] != "purchase" or top[4] != "-1.23":
            raise SystemExit("FAIL the newest row: %r" % top)
        step("%s: a purchase by another process appears (%s)" % (browser, top[4]))
        b.eval("(() => { const s = document.getElementById('f-type'); s.value = 'load';"
               " s.dispatchEvent(new Event('change')); return true; })()")
        kinds = {r[2] for r in rows(b)}
        if kinds != {"load"}:
            raise SystemExit("FAIL the type filter: %r" % kinds)
        b.eval("(() => { const s = document.getElementById('f-type'); s.value = '';"
               " s.dispatchEvent(new Event('change')); return true; })()")
        step("%s: filters" % browser)
        t = change_pin(b, "purse", "13572468", purse_pin)
        if t != "purse PIN changed":
            raise SystemExit("FAIL purse PIN back: %r" % t)

        # ---- about, refresh ----
        page(b, "about")
        wait_for(b, "document.getElementById('about-version').textContent !== ''", 15)
        b.eval("(() => { document.getElementById('refresh').click(); return true; })()")
        page(b, "status")
        wait_text(b, "st-serial", serial)
        step("%s: about and refresh" % browser)

        # ---- attacks from the browser ----
        b.eval("(() => { sessionStorage.clear(); return true; })()")
        b.navigate("about:blank")
        b.navigate(login_url)
        wait_text(b, "login-msg", "not valid")
        if b.eval("document.body.dataset.ready") == "yes":
            raise SystemExit("FAIL the link logged in twice")
        step("%s: the login link works once" % browser)
        b.navigate(evil_url)
        done = wait_for(b, "document.body.dataset.done", 30, "the other page")
        res = json.loads(done)
        r = json.loads(wk("--json", "readers").stdout)
        labels = [x.get("label") for x in r["readers"] if x.get("serial") == serial]
        if labels != [name] or res.get("read") not in ("blocked", "no-data"):
            raise SystemExit("FAIL a page of another origin reached the panel: %r %r"
                             % (res, labels))
        step("%s: a page of another origin cannot read or rename (%s)"
             % (browser, json.dumps(res, sort_keys=True)))
    except BrowserError as e:
        raise SystemExit("FAIL %s: %s" % (browser, e))
    finally:
        b.close()


if __name__ == "__main__":
    main()
