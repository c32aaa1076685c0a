#!/usr/bin/env python3
"""The external commands the project's shell scripts call, against
tools/bootstrap.

Scans every shell script under tests/, bench/, tools/ and .ci/ (by suffix .sh
or a sh/bash shebang) for the commands it runs, and fails when one is not in
tools/bootstrap.commands, or when the package that file names for it is
neither in tools/bootstrap's PACKAGES (or PACKAGES_CONTAINER) nor Essential.
Also fails on two patterns that hang or race in containers: `while kill -0`
(a zombie is alive for kill -0, and a non-reaping PID 1 keeps it for ever) and
a `kill -9` of a card outside the sandbox's card-kill helper.

usage: check_commands.py [SOURCE_ROOT]   (docs/DEVELOPING.md, "Commands the
scripts call"); exit 0 clean, 1 findings.
       check_commands.py --self-test     the scanner on a small known tree
"""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "--self-test"
                       else os.path.join(os.path.dirname(__file__), "..", ".."))
SCAN_DIRS = ["tests", "bench", "tools", ".ci"]
SKIP_DIRS = {"corpus", "build", "build-fuzz", ".git", "node_modules"}

KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until",
            "for", "in", "case", "esac", "select", "function", "time", "!", "{",
            "}", "[[", "]]", "coproc"}
BUILTINS = {".", ":", "[", "alias", "bg", "bind", "break", "builtin", "caller",
            "cd", "command", "compgen", "complete", "compopt", "continue",
            "declare", "dirs", "disown", "echo", "enable", "eval", "exec",
            "exit", "export", "false", "fc", "fg", "getopts", "hash", "help",
            "history", "jobs", "kill", "let", "local", "logout", "mapfile",
            "popd", "printf", "pushd", "pwd", "read", "readarray", "readonly",
            "return", "set", "shift", "shopt", "source", "suspend", "test",
            "times", "trap", "true", "type", "typeset", "ulimit", "umask",
            "unalias", "unset", "wait"}
# commands that run their arguments as a command: after options (and, for
# some, N leading operands) comes the command
WRAPPERS = {"exec": 0, "command": 0, "env": 0, "nice": 0, "nohup": 0,
            "setsid": 0, "stdbuf": 0, "unshare": 0, "nsenter": 0, "sudo": 0,
            "xargs": 0, "time": 0, "timeout": 1, "chroot": 1, "flock": 1,
            "ionice": 0, "taskset": 1, "runuser": 0, "setpriv": 0,
            # the project's own shell functions that run a command
            "retry": 1, "expect_status": 1}
# options of wrappers that take a value (the value is no command)
WRAPPER_OPTARGS = {"-s", "-k", "--signal", "--kill-after", "-u", "-g", "-n",
                   "-I", "-L", "-P", "-d", "--user", "--group", "-c", "-t",
                   "-E"}
# words whose (single- or double-quoted) argument is shell code
CODE_ARG = {"eval": None, "trap": 1, "check": 2, "sh": "-c", "bash": "-c",
            "su": "-c"}

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


class Word:
    def __init__(self, raw, lit, plain, subs, line):
        self.raw = raw        # the text as written
        self.lit = lit        # the text with quotes removed (no expansions)
        self.plain = plain    # no $, no backquote, no glob: a literal word
        self.subs = subs      # shell code inside $( ), ` `, <( ), >( )
        self.line = line


class Op:
    def __init__(self, text, line):
        self.text = text
        self.line = line


def matching(src, i, open_c, close_c):
    """index just past the close_c matching the open_c before i"""
    depth = 1
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = src.find("'", i + 1)
            i = n if j < 0 else j + 1
            continue
        if c == '"':
            i = skip_dq(src, i + 1)
            continue
        if c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def skip_dq(src, i):
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        if c == "$" and src.startswith("$(", i):
            i = matching(src, i + 2, "(", ")")
            continue
        if c == "`":
            j = src.find("`", i + 1)
            i = n if j < 0 else j + 1
            continue
        i += 1
    return n


def lex(src, line=1):
    """tokens of shell source: Words and Ops (heredoc bodies removed before)"""
    toks = []
    i = 0
    n = len(src)
    ops = ["&&", "||", ";;", ";&", "|&", "&>>", "&>", ">>", "<<<", "<<", "<>",
           ">&", "<&", ">|", ";", "|", "&", "(", ")", "<", ">"]
    while i < n:
        c = src[i]
        if c == "\n":
            toks.append(Op("\n", line))
            line += 1
            i += 1
            continue
        if c in " \t":
            i += 1
            continue
        if c == "\\" and i + 1 < n and src[i + 1] == "\n":
            i += 2
            line += 1
            continue
        if c == "#":
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        # process substitution <( ) >( ): a word whose code runs
        if c in "<>" and i + 1 < n and src[i + 1] == "(":
            j = matching(src, i + 2, "(", ")")
            body = src[i + 2:j - 1]
            toks.append(Word(src[i:j], "", False, [(body, line)], line))
            line += src[i:j].count("\n")
            i = j
            continue
        # redirection with a file-descriptor number: 2>&1, 3<file
        m = re.match(r"[0-9]+(>>|>&|<&|>|<)", src[i:])
        if m:
            toks.append(Op("redir", line))
            i += len(m.group(0))
            continue
        op = next((o for o in ops if src.startswith(o, i)), None)
        if op:
            if op in ("<", ">", ">>", "<<<", "<<", "<>", ">&", "<&", ">|", "&>", "&>>"):
                toks.append(Op("redir", line))
            else:
                toks.append(Op(op, line))
            i += len(op)
            continue
        # a word
        start = i
        lit = []
        subs = []
        plain = True
        while i < n:
            c = src[i]
            if c in " \t\n;|&()<>":
                break
            if c == "\\":
                lit.append(src[i + 1:i + 2])
                i += 2
                continue
            if c == "'":
                j = src.find("'", i + 1)
                j = n if j < 0 else j
                lit.append(src[i + 1:j])
                i = j + 1
                continue
            if c == '"':
                j = skip_dq(src, i + 1)
                inner = src[i + 1:j - 1]
                subs.extend(code_in_dq(inner, line))
                if "$" in inner or "`" in inner:
                    plain = False
                lit.append(inner)
                i = j
                continue
            if c == "$":
                plain = False
                if src.startswith("$((", i):
                    i = matching(src, i + 3, "(", ")")
                    if i < n and src[i] == ")":
                        i += 1
                    continue
                if src.startswith("$(", i):
                    j = matching(src, i + 2, "(", ")")
                    subs.append((src[i + 2:j - 1], line))
                    i = j
                    continue
                if src.startswith("${", i):
                    j = matching(src, i + 2, "{", "}")
                    subs.extend(code_in_dq(src[i + 2:j - 1], line))
                    i = j
                    continue
                lit.append(c)
                i += 1
                continue
            if c == "`":
                plain = False
                j = src.find("`", i + 1)
                j = n if j < 0 else j
                subs.append((src[i + 1:j], line))
                i = j + 1
                continue
            if c in "*?[":
                plain = False
            lit.append(c)
            i += 1
        raw = src[start:i]
        toks.append(Word(raw, "".join(lit), plain, subs, line))
        line += raw.count("\n")
    return toks


def code_in_dq(s, line):
    """command substitutions inside a double-quoted string"""
    out = []
    i = 0
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s.startswith("$((", i):
            i = matching(s, i + 3, "(", ")")
            continue
        if s.startswith("$(", i):
            j = matching(s, i + 2, "(", ")")
            out.append((s[i + 2:j - 1], line + s[:i].count("\n")))
            i = j
            continue
        if s[i] == "`":
            j = s.find("`", i + 1)
            j = len(s) if j < 0 else j
            out.append((s[i + 1:j], line))
            i = j + 1
            continue
        i += 1
    return out


def strip_heredocs(text):
    """blank heredoc bodies (keeping line numbers); a body that is shell (fed
    to sh/bash or written to a .sh file) is kept as code, and the heredocs
    inside it are stripped the same way (a script that writes a script)"""
    lines = text.split("\n")
    out = []
    pending = []   # (word, strip_tabs, is_code); the innermost first

    def opened(ln):
        found = []
        for m in HEREDOC.finditer(ln):
            if ln[max(0, m.start() - 1):m.start()] == "<":
                continue  # <<< here-string
            code = bool(re.search(r"\b(ba)?sh\b(?!\S*\.)|\.sh\b",
                                  ln[:m.start()] + ln[m.end():]))
            found.append((m.group(3), m.group(1) == "-", code))
        return found

    for ln in lines:
        if pending:
            word, tabs, code = pending[0]
            body = ln.lstrip("\t") if tabs else ln
            if body == word:
                pending.pop(0)
                out.append("")
            elif code:
                out.append(ln)
                pending[0:0] = opened(ln)
            else:
                out.append("")
            continue
        out.append(ln)
        pending.extend(opened(ln))
    return "\n".join(out)


class Scan:
    def __init__(self):
        self.calls = []      # (file, line, name)
        self.functions = set()

    def code(self, src, fname, line=1):
        self.words(lex(strip_heredocs(src), line), fname)

    def sub(self, w, fname):
        for body, line in w.subs:
            self.code(body, fname, line)

    def words(self, toks, fname):
        i = 0
        n = len(toks)
        start = True
        case_pattern = False
        case_depth = 0

        def skip_to_word(k, text):
            while k < n and not (isinstance(toks[k], Word) and toks[k].raw == text):
                if isinstance(toks[k], Word):
                    self.sub(toks[k], fname)
                k += 1
            return k + 1

        while i < n:
            t = toks[i]
            if isinstance(t, Op):
                if case_pattern:
                    if t.text == ")":
                        case_pattern = False
                        start = True
                    i += 1
                    continue
                if t.text == "redir":
                    i += 1
                    if i < n and isinstance(toks[i], Word):
                        self.sub(toks[i], fname)
                        i += 1
                    continue
                if t.text == "(" and i + 1 < n and isinstance(toks[i + 1], Op) \
                        and toks[i + 1].text == "(":
                    # (( arithmetic ))
                    k = i + 2
                    while k + 1 < n and not (isinstance(toks[k], Op) and toks[k].text == ")"
                                             and isinstance(toks[k + 1], Op)
                                             and toks[k + 1].text == ")"):
                        k += 1
                    i = k + 2
                    start = False
                    continue
                if t.text in (";;", ";&") and case_depth:
                    case_pattern = True
                start = True
                i += 1
                continue
            # a word
            if case_pattern:
                if t.raw == "esac":
                    case_pattern = False
                    case_depth -= 1
                    start = False
                i += 1
                continue
            if not start:
                self.sub(t, fname)
                i += 1
                continue
            w = t.raw
            if w in ("if", "then", "else", "elif", "do", "while", "until", "!",
                     "{", "time"):
                i += 1
                continue
            if w in ("fi", "done", "}"):
                start = False
                i += 1
                continue
            if w == "esac":
                case_depth -= 1
                start = False
                i += 1
                continue
            if w == "for" or w == "select":
                i = skip_to_word(i + 1, "do")
                start = True
                continue
            if w == "case":
                i = skip_to_word(i + 1, "in")
                case_depth += 1
                case_pattern = True
                continue
            if w == "[[":
                i = skip_to_word(i + 1, "]]")
                start = False
                continue
            if w == "function":
                if i + 1 < n:
                    self.functions.add(toks[i + 1].raw if isinstance(toks[i + 1], Word) else "")
                i += 2
                continue
            if ASSIGN.match(w):
                self.sub(t, fname)
                i += 1
                if w.endswith("=") and i < n and isinstance(toks[i], Op) and toks[i].text == "(":
                    # array assignment: words up to ) are data
                    while i < n and not (isinstance(toks[i], Op) and toks[i].text == ")"):
                        if isinstance(toks[i], Word):
                            self.sub(toks[i], fname)
                        i += 1
                    i += 1
                continue
            # a function definition: name ( )
            if i + 2 < n and isinstance(toks[i + 1], Op) and toks[i + 1].text == "(" \
                    and isinstance(toks[i + 2], Op) and toks[i + 2].text == ")":
                self.functions.add(w)
                i += 3
                continue
            # the simple command: its words up to an operator
            k = i
            args = []
            while k < n and isinstance(toks[k], Word):
                args.append(toks[k])
                k += 1
                # local a=(x y): the array's words are data
                if args[-1].raw.endswith("=") and k < n and isinstance(toks[k], Op) \
                        and toks[k].text == "(":
                    while k < n and not (isinstance(toks[k], Op) and toks[k].text == ")"):
                        k += 1
                    k += 1
            self.command(args, fname)
            start = False
            i = k

    def command(self, args, fname):
        for a in args:
            self.sub(a, fname)
        while args:
            w = args[0]
            if not w.plain or not NAME.match(w.lit):
                return  # a variable, a path or an expansion: not checked here
            name = w.lit
            self.calls.append((fname, w.line, name))
            # code handed to sh -c, eval, trap, check
            if name in CODE_ARG:
                spec = CODE_ARG[name]
                if spec is None:
                    for a in args[1:]:
                        self.code(a.lit, fname, a.line)
                elif isinstance(spec, int):
                    # only a quoted argument is code (check NAME STATUS is data)
                    if len(args) > spec and args[spec].raw[:1] in ("'", '"'):
                        self.code(args[spec].lit, fname, args[spec].line)
                else:
                    for j, a in enumerate(args[1:-1], 1):
                        if a.lit == spec:
                            self.code(args[j + 1].lit, fname, args[j + 1].line)
                            break
                return
            if name in ("command", "type", "hash", "which") and len(args) > 1 and \
                    args[1].lit in ("-v", "-V", "-p", "-P"):
                # a probe: the probed command is a dependency too
                if len(args) > 2 and args[2].plain and NAME.match(args[2].lit):
                    self.calls.append((fname, args[2].line, args[2].lit))
                return
            if name not in WRAPPERS:
                return
            skip = WRAPPERS[name]
            j = 1
            while j < len(args):
                a = args[j].lit
                if a == "--":
                    j += 1
                    break
                if a.startswith("-"):
                    j += 2 if a in WRAPPER_OPTARGS else 1
                    continue
                if name == "env" and "=" in a:
                    j += 1
                    continue
                break
            j += skip
            args = args[j:]


def scripts(root):
    for d in SCAN_DIRS:
        top = os.path.join(root, d)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(x for x in dirnames if x not in SKIP_DIRS)
            for f in sorted(filenames):
                p = os.path.join(dirpath, f)
                if f.endswith(".sh"):
                    yield p
                    continue
                try:
                    with open(p, "rb") as fh:
                        first = fh.readline(200)
                except OSError:
                    continue
                if re.match(rb"#!\s*\S*/(env\s+)?(ba)?sh\b", first):
                    yield p


def bootstrap_packages(root):
    text = open(os.path.join(root, "tools", "bootstrap")).read()
    pk = set()
    for m in re.finditer(r'^(PACKAGES\w*)="([^"]*)"', text, re.M):
        pk.update(m.group(2).split())
    return pk


def command_map(root, problems):
    m = {}
    path = os.path.join(root, "tools", "bootstrap.commands")
    for no, ln in enumerate(open(path), 1):
        ln = ln.split("#", 1)[0].strip()
        if not ln:
            continue
        parts = ln.split()
        if len(parts) != 2:
            problems.append("tools/bootstrap.commands:%d: want 'COMMAND PACKAGE'" % no)
            continue
        if parts[0] in m:
            problems.append("tools/bootstrap.commands:%d: %s listed twice" % (no, parts[0]))
        m[parts[0]] = parts[1]
    return m


def project_programs(root):
    """executables meson builds and the scripts the project installs"""
    names = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [x for x in dirnames if x not in SKIP_DIRS and not x.startswith("build")]
        if "meson.build" in filenames:
            text = open(os.path.join(dirpath, "meson.build")).read()
            names.update(re.findall(r"executable\(\s*'([^']+)'", text))
    for f in os.listdir(os.path.join(root, "tools")):
        if os.access(os.path.join(root, "tools", f), os.X_OK):
            names.add(f)
    return names


class Dpkg:
    """what dpkg knows, read once: installed packages, their Essential flag and
    dependencies, and which package holds a file"""

    def __init__(self):
        self.pkgs = {}
        try:
            out = subprocess.run(
                ["dpkg-query", "-W", "-f=${Package}\t${Essential}\t${db:Status-Abbrev}\t"
                 "${Depends}, ${Pre-Depends}, ${Provides}\n"],
                capture_output=True, text=True).stdout
        except OSError:
            out = ""
        for ln in out.splitlines():
            parts = ln.split("\t")
            if len(parts) != 4 or not parts[2].startswith("ii"):
                continue
            deps = set()
            for alt in parts[3].split(","):
                for d in alt.split("|"):
                    d = d.strip().split(" ")[0].split(":")[0]
                    if d:
                        deps.add(d)
            self.pkgs[parts[0]] = (parts[1] == "yes", deps)

    def installed(self, pkg):
        return pkg in self.pkgs

    def essential(self, pkg):
        return self.pkgs.get(pkg, (False, set()))[0]

    def closure(self, pkg, depth=4):
        seen = {pkg}
        frontier = [pkg]
        for _ in range(depth):
            nxt = []
            for p in frontier:
                for d in self.pkgs.get(p, (False, set()))[1]:
                    if d not in seen:
                        seen.add(d)
                        nxt.append(d)
            frontier = nxt
        return seen

    def owners(self, paths):
        """{path: package} for the paths dpkg knows (merged /usr: a file in
        /usr/bin may be known as /bin/X)"""
        tries = {}
        for p in paths:
            tries[p] = p
            for a, b in (("/usr/bin/", "/bin/"), ("/usr/sbin/", "/sbin/")):
                if p.startswith(a):
                    tries[b + p[len(a):]] = p
        if not tries:
            return {}
        try:
            out = subprocess.run(["dpkg", "-S"] + sorted(tries), capture_output=True,
                                 text=True).stdout
        except OSError:
            return {}
        res = {}
        for ln in out.splitlines():
            if ": " not in ln or ln.startswith("diversion"):
                continue
            pk, path = ln.split(": ", 1)
            if path in tries:
                res.setdefault(tries[path], set()).update(
                    x.strip().split(":")[0] for x in pk.split(","))
        return res


def lint(path, rel, problems):
    """patterns that hang or race in containers"""
    for no, ln in enumerate(open(path, errors="replace"), 1):
        code = ln.split("#", 1)[0] if not ln.lstrip().startswith("#") else ""
        if re.search(r"\b(while|until)\s+!?\s*kill\s+-0\b", code):
            problems.append("%s:%d: 'while kill -0' waits for ever on a zombie (a non-reaping "
                            "PID 1 keeps it): bound the loop, or use the sandbox's card-kill"
                            % (rel, no))
        if rel.startswith(("tests/", "bench/")) and \
                re.search(r"(^|[;&|({]|\bthen|\bdo|\belse)\s*kill\s+(-9|-KILL|-s\s+KILL)\s[^;|&]*card",
                          code, re.I):
            problems.append("%s:%d: kill -9 of a card: use \"$WALLETKEY_SANDBOX/bin/card-kill\" "
                            "(it waits, bounded, until pcscd has seen the card leave)" % (rel, no))


def check(root, verify_map=True):
    """(scripts scanned, {command: [where]}, map, problems) for the tree at root"""
    problems = []
    packages = bootstrap_packages(root)
    cmap = command_map(root, problems)
    programs = project_programs(root)
    scan = Scan()
    files = list(scripts(root))
    for p in files:
        rel = os.path.relpath(p, root)
        scan.code(open(p, errors="replace").read(), rel)
        lint(p, rel, problems)
    used = {}
    for fname, line, name in scan.calls:
        if name in KEYWORDS or name in BUILTINS or name in scan.functions \
                or name in programs:
            continue
        used.setdefault(name, []).append("%s:%d" % (fname, line))
    db = Dpkg()
    for name in sorted(used):
        where = used[name][0] + ("" if len(used[name]) == 1 else
                                 " (and %d more)" % (len(used[name]) - 1))
        if name not in cmap:
            problems.append("%s: '%s' is not in tools/bootstrap.commands: add 'CMD PACKAGE' "
                            "there and the package to PACKAGES in tools/bootstrap"
                            % (where, name))
            continue
        pkg = cmap[name]
        if pkg in ("-", "?"):
            continue
        if pkg not in packages:
            if not db.essential(pkg):
                problems.append("%s: '%s' comes from package %s, which tools/bootstrap does "
                                "not install (add it to PACKAGES)" % (where, name, pkg))
    # the map against this machine: where the command and its package are
    # both installed, the file that runs must belong to the package or to
    # what it depends on
    exes = {}
    for name, pkg in sorted(cmap.items()) if verify_map else []:
        exe = shutil.which(name)
        if pkg not in ("-", "?") and exe and db.installed(pkg):
            exes[name] = (pkg, exe, os.path.realpath(exe))
    owners = db.owners([p for _, e, r in exes.values() for p in (e, r)])
    for name, (pkg, exe, real) in sorted(exes.items()):
        own = owners.get(exe, set()) | owners.get(real, set())
        if own and not own & db.closure(pkg):
            problems.append("tools/bootstrap.commands: %s is in %s here, not in %s"
                            % (name, "/".join(sorted(own)), pkg))
    return files, used, cmap, problems


# a small tree with known findings: the scanner must see exactly these
SELF_TEST = {
    "tools/bootstrap": 'PACKAGES="jq procps"\n',
    "tools/bootstrap.commands": "jq jq\nps procps\ncat coreutils\nsleep coreutils\n"
                                "xxd xxd\nsh dash\ntimeout coreutils\n",
    "tests/t.sh": "\n".join([
        "#!/bin/bash",
        "# a comment: frobnicate",
        'f() { helper_fn "$@"; }',
        'helper_fn() { :; }',
        'check() { eval "$2"; }',
        'x=$(jq -r . <<<"$y" | cat)',
        "arr=(notacmd alsonot)",
        "local a=(nor this) b",
        "for w in not_a_cmd either; do sleep 1; done",
        "case $x in",
        "pattern1) ps ;;",
        "pat2 | pat3) : ;;",
        "esac",
        "[[ $x =~ ^(a|b)$ ]] && cat",
        "(( n > 2 )) && ps",
        'echo "$(undeclared_in_quotes)"',
        "sh -c 'in_sh_c --x'",
        "check \"desc\" '[ \"$RC\" -eq 0 ] && in_check'",
        "timeout -s KILL 5 under_timeout arg",
        "python3 - <<'EOF'",
        "import sys; not_shell()",
        "EOF",
        "xxd -p file",
        "cat >\"$d/unit.sh\" <<'EOS'",
        "in_written_script --x",
        "python3 - <<'EOP'",
        "nested_not_shell()",
        "EOP",
        "EOS",
        'while kill -0 "$pid"; do sleep 0.1; done',
        'kill -9 "$card"',
        ""]),
}
SELF_EXPECT = {"undeclared_in_quotes", "in_sh_c", "in_check", "under_timeout",
               "python3", "in_written_script"}


def self_test():
    import tempfile
    bad = []
    with tempfile.TemporaryDirectory() as d:
        for rel, text in SELF_TEST.items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            with open(os.path.join(d, rel), "w") as fh:
                fh.write(text)
        _, used, _, problems = check(d, verify_map=False)
    unmapped = set()
    for p in problems:
        m = re.search(r"'([^']+)' is not in tools/bootstrap.commands", p)
        if m:
            unmapped.add(m.group(1))
    if unmapped != SELF_EXPECT:
        bad.append("unmapped commands found %s, want %s" % (sorted(unmapped), sorted(SELF_EXPECT)))
    for want in ("jq", "cat", "ps", "sleep", "xxd"):
        if want not in used:
            bad.append("'%s' was not seen" % want)
    if not any("'xxd' comes from package xxd" in p for p in problems):
        bad.append("xxd (mapped, its package not in PACKAGES) was not reported")
    if not any("while kill -0" in p for p in problems):
        bad.append("'while kill -0' was not reported")
    if not any("kill -9 of a card" in p for p in problems):
        bad.append("'kill -9 \"$card\"' was not reported")
    for b in bad:
        print("FAIL self-test: " + b)
    if not bad:
        print("self-test: the scanner finds what it must in a known tree")
    return 1 if bad else 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        return self_test()
    files, used, cmap, problems = check(ROOT)
    print("%d scripts, %d distinct external commands, %d mapped" %
          (len(files), len(used), len(cmap)))
    for p in problems:
        print("FAIL " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
