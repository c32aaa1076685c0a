#!/usr/bin/python3
"""Where the suite's time goes: the CPU time of each test against its wall time.

As meson's test wrapper it runs one test, then appends its wall time and the
CPU time (user + system) of its whole process tree (every process the test
started and waited for: the sandbox's pcscd and cards, the CLI, the issuer)
to the file $WALLETKEY_CPU_LOG, one JSON line:

    WALLETKEY_CPU_LOG=$PWD/cpu.jsonl meson test -C build \\
        --wrapper "$PWD/bench/test_cpu.py" [--num-processes N] [TESTS]

With --report it prints, for every test of meson's testlog.json, the wall
time, the CPU time and their ratio, longest first, and the sums: the sum of
CPU times over the cores is the floor of the suite's wall time, whatever
the number of tests at once; the machine's load does not change a test's
CPU time much, so the figures compare across runs made at different times.

    bench/test_cpu.py --report cpu.jsonl build/meson-logs/testlog.json

It never fails on a time (a benchmark): the wrapped test's status is the
wrapper's.
"""
import json
import os
import signal
import sys
import time


def wrap(argv):
    log = os.environ.get("WALLETKEY_CPU_LOG")
    start = time.time()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            print("test_cpu: %s: %s" % (argv[0], e), file=sys.stderr)
            os._exit(127)
    # meson ends a test that times out with SIGTERM, then SIGKILL: pass
    # SIGTERM and SIGINT on to the test
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda n, f: os.kill(pid, n))
    while True:
        try:
            _, status, ru = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    wall = time.monotonic() - t0
    if log:
        with open(log, "a") as f:
            f.write(json.dumps({"command": argv, "start": start, "wall": wall,
                                "user": ru.ru_utime, "sys": ru.ru_stime}) + "\n")
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    sys.exit(os.waitstatus_to_exitcode(status))


def report(cpu_log, testlog):
    runs = [json.loads(l) for l in open(cpu_log) if l.strip()]
    tests = [json.loads(l) for l in open(testlog) if l.strip()]
    rows = []
    for t in tests:
        cmd = t["command"]
        # the wrapper's line for this test: the same command, the nearest start
        cands = [r for r in runs if cmd[-len(r["command"]):] == r["command"]]
        if not cands:
            continue
        r = min(cands, key=lambda r: abs(r["start"] - t["starttime"]))
        runs.remove(r)
        rows.append((t["name"], t["duration"], r["user"] + r["sys"], t["result"]))
    rows.sort(key=lambda x: -x[1])
    print("%-32s %8s %8s %6s  %s" % ("test", "wall s", "CPU s", "CPU/wall", "result"))
    for name, wall, cpu, res in rows:
        print("%-32s %8.1f %8.1f %6.2f  %s" % (name, wall, cpu, cpu / wall if wall else 0, res))
    wall = sum(r[1] for r in rows)
    cpu = sum(r[2] for r in rows)
    cores = os.cpu_count() or 1
    print("%-32s %8.1f %8.1f %6.2f" % ("sum (%d tests)" % len(rows), wall, cpu, cpu / wall if wall else 0))
    print("the floor of the suite's wall time on %d cores: %.0f s (the CPU sum / cores)" % (cores, cpu / cores))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--report":
        report(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 2 and not sys.argv[1].startswith("--"):
        wrap(sys.argv[1:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
