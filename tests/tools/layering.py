#!/usr/bin/env python3
"""layering: the map of docs/DEVELOPING.md ("The parts and who may include
whom") as a test. Fails when

 - an #include crosses a forbidden line between the parts (the card
   including libwalletkey, the PKCS#11 module or the CLI; the module or the
   CLI including the card's internals, libwalletkey's internals or the APDU
   codec; common including anything above it; PC/SC headers outside
   libwalletkey; libmicrohttpd and common's HTTP server start, wk_httpd.h,
   outside the issuer and the CLI), or
 - a file of pkcs11/ calls a function of a file above it in the module's
   layers (the order of pkcs11/meson.build, described in
   pkcs11/p11_internal.h): the folder has a direction, no cycles; or
 - a file of the purse applet (vcard/applets/purse*.c) or of the PIV
   applet (vcard/applets/piv*.c) calls a function of a file above it in
   that applet's layers (the order of vcard/meson.build).

usage: layering.py [SOURCE_ROOT]   (default: the tree this file is in)
       layering.py --self-test      (a small tree with each kind of crossing)
"""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

# the parts, by their top folder; tests/ and bench/ may include anything
PARTS = ['common', 'vcard', 'middleware', 'skf', 'issuer', 'tools', 'pkcs11']

# who may include whom. "middleware:public" is libwalletkey's one public
# header; "common:host" is common without the card's transport (the APDU
# codec and vpcd framing): the PKCS#11 module and the CLI never build APDUs
PUBLIC = {'middleware': {'walletkey.h'}}
CARD_ONLY = {'wk_apdu.h', 'wk_vpcd.h'}
# common's HTTP server start (its own library, wkhttpd): only the parts
# that serve HTTP link libmicrohttpd, never the card nor libwalletkey
SERVER_ONLY = {'wk_httpd.h'}
SERVER_PARTS = {'common', 'issuer', 'tools'}
ALLOWED = {
    'common': {'common'},
    'vcard': {'common', 'vcard'},
    'middleware': {'common', 'middleware'},
    'issuer': {'common', 'issuer'},
    'skf': {'common:host', 'middleware:public', 'skf'},
    'tools': {'common:host', 'middleware:public', 'tools'},
    'pkcs11': {'common:host', 'middleware:public', 'pkcs11'},
}
# system headers only some parts (or files) may include: PC/SC is
# libwalletkey's alone (the card knows nothing of PC/SC; the module and the
# CLI go through libwalletkey); libmicrohttpd the servers' (the issuer, the
# CLI's control panel) and common's wk_httpd that starts them
SYSTEM = [(re.compile(r'^(PCSC/|winscard\.h|pcsclite\.h)'), {'middleware'},
           set()),
          (re.compile(r'^microhttpd\.h$'), {'issuer', 'tools'},
           {'common/wk_httpd.h', 'common/wk_httpd.c'})]

# Known exceptions: (file, included header) pairs that break a rule today.
# Each is a debt to pay: remove a line when its include goes; never add one
# to let new code through (change the code, or the rule in
# docs/DEVELOPING.md with the reason). Empty: main's tree keeps the rules.
EXCEPTIONS = set()

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def sources():
    for part in PARTS:
        for d, _, files in os.walk(os.path.join(ROOT, part)):
            for f in sorted(files):
                if f.endswith(('.c', '.h')):
                    yield part, os.path.join(d, f)


def header_index():
    """project header name (and path below its part) -> part"""
    idx = {}
    for part, path in sources():
        if path.endswith('.h'):
            rel = os.path.relpath(path, os.path.join(ROOT, part))
            idx.setdefault(os.path.basename(path), set()).add(part)
            idx.setdefault(rel, set()).add(part)
    return idx


def allowed(part, target_part, header):
    rules = ALLOWED[part]
    if target_part == 'common' and part not in SERVER_PARTS and \
            os.path.basename(header) in SERVER_ONLY:
        return False
    if target_part in rules:
        return True
    if target_part + ':public' in rules and \
            os.path.basename(header) in PUBLIC.get(target_part, ()):
        return True
    if target_part + ':host' in rules and \
            os.path.basename(header) not in CARD_ONLY:
        return True
    return False


def check_includes():
    idx = header_index()
    bad = []
    for part, path in sources():
        rel = os.path.relpath(path, ROOT)
        text = open(path, encoding='utf-8', errors='replace').read()
        for kind, header in INCLUDE.findall(text):
            if kind == '<':
                for pat, parts, files in SYSTEM:
                    if pat.search(header) and part not in parts and \
                            rel not in files and \
                            (rel, header) not in EXCEPTIONS:
                        bad.append('%s: #include <%s>: only %s may' %
                                   (rel, header, ', '.join(sorted(parts))))
                continue
            # a header beside the file is its own part's
            if os.path.exists(os.path.join(os.path.dirname(path), header)):
                continue
            owners = idx.get(header) or idx.get(os.path.basename(header))
            if not owners:
                continue    # generated or a library's: not a part
            if any(allowed(part, o, header) for o in owners):
                continue
            if (rel, header) in EXCEPTIONS:
                continue
            bad.append('%s: #include "%s" (%s): %s may include only %s' %
                       (rel, header, '/'.join(sorted(owners)), part,
                        ', '.join(sorted(ALLOWED[part]))))
    return bad


# ---- pkcs11/: the direction between its files ----

DEF_FN = re.compile(r'^(p11_\w+|wk_C_\w+)\(', re.M)
DEF_VAR = re.compile(r'^(?!static|extern|typedef)[A-Za-z_][\w \*]*?\b(p11_\w+)'
                     r'(?:\[[^\]]*\])?\s*(?:=|;)', re.M)
DEF_ENTRY = re.compile(r'^P11_ENTRY\(\w+,\s*(C_\w+),', re.M)
IDENT = re.compile(r'\b(p11_\w+|wk_C_\w+)\b')
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
STRING = re.compile(r'"(?:\\.|[^"\\])*"')


def pkcs11_order():
    """the files of pkcs11/ in the order of its meson.build"""
    text = open(os.path.join(ROOT, 'pkcs11', 'meson.build')).read()
    text = re.sub(r'#[^\n]*', '', text)
    order = []
    for name in re.findall(r"'(p11_\w+\.c)'", text):
        if name not in order:
            order.append(name)
    return order


def check_pkcs11():
    order = pkcs11_order()
    pos = {f: i for i, f in enumerate(order)}
    where, texts = {}, {}
    for f in order:
        raw = open(os.path.join(ROOT, 'pkcs11', f)).read()
        text = STRING.sub('""', COMMENT.sub(' ', raw))
        texts[f] = text
        for name in DEF_FN.findall(text) + DEF_VAR.findall(text):
            where.setdefault(name, f)
        for name in DEF_ENTRY.findall(text):
            where.setdefault('wk_' + name, f)
    on_disk = sorted(f for f in os.listdir(os.path.join(ROOT, 'pkcs11'))
                     if f.endswith('.c'))
    bad = ['pkcs11/%s: not in pkcs11/meson.build, so in no layer' % f
           for f in on_disk if f not in pos]
    for f in order:
        for name in sorted(set(IDENT.findall(texts[f]))):
            g = where.get(name)
            if g is not None and pos[g] > pos[f]:
                bad.append('pkcs11/%s calls %s of pkcs11/%s, a file above '
                           'it (pkcs11/p11_internal.h: the layers)' %
                           (f, name, g))
    return bad


# ---- vcard/applets: the purse's and the PIV applet's files ----

# (name, source list, how its files are named there, their functions)
APPLETS = [
    ('purse', 'vcard/meson.build', re.compile(r"'applets/(purse\w*\.c)'"),
     re.compile(r'\b(purse_\w+)\b')),
    ('piv', 'vcard/meson.build', re.compile(r"'applets/(piv\w*\.c)'"),
     re.compile(r'\b(piv_\w+)\b')),
]
# calls against an applet's direction that exist today, each a debt with
# its reason; only shrinks. piv_key.c drops a slot's parsed key from the
# cache (piv_cache.c, which loads keys through piv_key.c) before it writes
# or deletes the key: the call moves to the callers of piv_key_save /
# piv_key_delete (piv_gen, piv_wallet, piv_yk, piv_attest), each of
# which must then drop the cached key itself.
CALL_EXCEPTIONS = {('vcard/applets/piv_key.c', 'piv_cache_forget')}


def applet_defs(text, ident):
    """the functions a file defines for others: at the start of a line,
    the line before not "static" """
    lines = text.split('\n')
    out = []
    for i, line in enumerate(lines):
        m = re.match(r'^(\w+)\(', line)
        if m and ident.fullmatch(m.group(1)) and i > 0 and \
                not lines[i - 1].startswith('static'):
            out.append(m.group(1))
    return out


def check_applets():
    bad = []
    for name, build, listed, ident in APPLETS:
        text = open(os.path.join(ROOT, build)).read()
        text = re.sub(r'#[^\n]*', '', text)
        order = []
        for f in listed.findall(text):
            if f not in order:
                order.append(f)
        pos = {f: i for i, f in enumerate(order)}
        folder = os.path.join(ROOT, 'vcard', 'applets')
        prefix = name + '_'
        on_disk = sorted(f for f in os.listdir(folder) if f.endswith('.c') and
                         (f == name + '.c' or f.startswith(prefix)))
        bad += ['vcard/applets/%s: not in %s, so in no layer of the %s '
                'applet' % (f, build, name) for f in on_disk if f not in pos]
        where, texts = {}, {}
        for f in order:
            raw = open(os.path.join(folder, f)).read()
            texts[f] = STRING.sub('""', COMMENT.sub(' ', raw))
            for fn in applet_defs(texts[f], ident):
                where.setdefault(fn, f)
        for f in order:
            for fn in sorted(set(ident.findall(texts[f]))):
                g = where.get(fn)
                if g is None or pos[g] <= pos[f] or \
                        ('vcard/applets/' + f, fn) in CALL_EXCEPTIONS:
                    continue
                bad.append('vcard/applets/%s calls %s of vcard/applets/%s, '
                           'a file above it (the %s applet\'s layers: %s)' %
                           (f, fn, g, name, build))
    return bad


def self_test():
    """each rule catches its crossing, and a clean tree passes"""
    import tempfile
    global ROOT
    files = {
        'common/wk_buf.h': '',
        'common/wk_apdu.h': '',
        'common/wk_httpd.h': '#include <microhttpd.h>\n',
        'issuer/iss_http.c': '#include <microhttpd.h>\n'
                             '#include "wk_httpd.h"\n',
        'common/wk_buf.c': '#include "wk_buf.h"\n',
        'middleware/walletkey.h': '#include "wk_buf.h"\n',
        'middleware/wk_internal.h': '#include <PCSC/winscard.h>\n',
        'vcard/vc_card.h': '',
        'vcard/vc_card.c': '#include "vc_card.h"\n#include "wk_apdu.h"\n',
        'tools/cli.c': '#include "walletkey.h"\n#include "wk_buf.h"\n',
        'pkcs11/meson.build': "files('p11_a.c', 'p11_b.c')\n",
        'pkcs11/p11_internal.h': '#include "walletkey.h"\n',
        'pkcs11/p11_a.c': 'int\np11_a(void)\n{\n\treturn 1;\n}\n',
        'pkcs11/p11_b.c': 'int\np11_b(void)\n{\n\treturn p11_a();\n}\n',
        'vcard/meson.build': "files('applets/purse_state.c', "
                             "'applets/purse.c', 'applets/piv_util.c', "
                             "'applets/piv.c')\n",
        'vcard/applets/purse_state.c': 'int\npurse_get(void)\n{\n'
                                       '\treturn 1;\n}\n',
        'vcard/applets/purse.c': 'int\npurse_run(void)\n{\n'
                                 '\treturn purse_get();\n}\n',
        'vcard/applets/piv_util.c': 'int\npiv_util(void)\n{\n'
                                    '\treturn 1;\n}\n',
        'vcard/applets/piv.c': 'int\npiv_run(void)\n{\n'
                               '\treturn piv_util();\n}\n',
    }
    crossings = {
        'common/wk_buf.c': '#include "vc_card.h"\n',
        'vcard/vc_card.c': '#include "walletkey.h"\n#include "wk_httpd.h"\n',
        'middleware/wk_internal.h': '#include <microhttpd.h>\n',
        'tools/cli.c': '#include "wk_internal.h"\n#include "wk_apdu.h"\n'
                       '#include <winscard.h>\n',
        'pkcs11/p11_a.c': '#include "vc_card.h"\n/* p11_b() */\n'
                          'int\np11_c(void)\n{\n\treturn p11_b();\n}\n',
        'vcard/applets/purse_state.c': '/* purse_run() */\nint\n'
                                       'purse_x(void)\n{\n'
                                       '\treturn purse_run();\n}\n',
        'vcard/applets/piv_util.c': 'int\npiv_y(void)\n{\n'
                                    '\treturn piv_run();\n}\n',
        'vcard/applets/piv_new.c': 'int\npiv_z(void);\n',
    }
    with tempfile.TemporaryDirectory() as d:
        ROOT = d
        for name, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, name)), exist_ok=True)
            open(os.path.join(d, name), 'w').write(text)
        clean = check_includes() + check_pkcs11() + check_applets()
        for name, text in crossings.items():
            open(os.path.join(d, name), 'a').write(text)
        bad = check_includes() + check_pkcs11() + check_applets()
    want = ['common/wk_buf.c: #include "vc_card.h"',
            'vcard/vc_card.c: #include "walletkey.h"',
            'vcard/vc_card.c: #include "wk_httpd.h"',
            'middleware/wk_internal.h: #include <microhttpd.h>',
            'tools/cli.c: #include "wk_internal.h"',
            'tools/cli.c: #include "wk_apdu.h"',
            'tools/cli.c: #include <winscard.h>',
            'pkcs11/p11_a.c: #include "vc_card.h"',
            'pkcs11/p11_a.c calls p11_b of pkcs11/p11_b.c',
            'vcard/applets/piv_new.c: not in vcard/meson.build',
            'vcard/applets/purse_state.c calls purse_run of '
            'vcard/applets/purse.c',
            'vcard/applets/piv_util.c calls piv_run of vcard/applets/piv.c']
    missed = [w for w in want if not any(b.startswith(w) for b in bad)]
    if clean or missed or len(bad) != len(want):
        print('layering self-test failed:\n clean tree: %s\n missed: %s\n'
              ' found: %s' % (clean, missed, bad))
        return 1
    print('layering self-test: %d crossings found, clean tree clean' %
          len(bad))
    return 0


def main():
    global ROOT
    if sys.argv[1:] == ['--self-test']:
        return self_test()
    if len(sys.argv) > 1:
        ROOT = os.path.abspath(sys.argv[1])
    bad = check_includes() + check_pkcs11() + check_applets()
    for line in bad:
        print('layering: ' + line)
    if bad:
        print('layering: %d crossing(s); the map is in docs/DEVELOPING.md'
              % len(bad))
        return 1
    print('layering: every include, every pkcs11/ call and every call '
          'between the purse\'s and the PIV applet\'s files keeps the map')
    return 0


if __name__ == '__main__':
    sys.exit(main())
