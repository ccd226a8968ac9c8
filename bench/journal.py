#!/usr/bin/env python3
"""Journal follow latency of `loginwatch run` (temp dir, real journal files).

One daemon with two sources: `journal = true, journal_dir = DIR` (files
written by systemd-journal-remote, as the tests do) and, for comparison, a
plain file `auth.log`. Measured:
  1. entry -> line read: an entry is appended to the journal (the clock starts
     when systemd-journal-remote has written it and exited), then
     loginwatch_lines_read_total{source="journal"} is polled until it counts
     it. The same for a line appended to auth.log.
  2. entry -> decision committed: five failed passwords of a new user in one
     append; the clock stops when the lock is listed by the admin API (which
     reads the state database, so the decision is committed).
Each figure is the median and the maximum over the samples; the polling adds
up to ~1 ms.

Usage: python3 bench/journal.py [--samples N] [--bin PATH]
The binary defaults to target/release/loginwatch, else target/debug/loginwatch.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REMOTE = "/lib/systemd/systemd-journal-remote"
TOKEN = "bench-token-0123456789"


def default_bin():
    for kind in ("release", "debug"):
        p = os.path.join(ROOT, "target", kind, "loginwatch")
        if os.path.exists(p):
            return p
    sys.exit("build loginwatch first (cargo build --release)")


MONO = [1000]


def append_journal(dir_, entries):
    """entries: (user-or-None, pid); writes one journal-export record each."""
    text = []
    for msg, pid in entries:
        MONO[0] += 1000
        us = int(time.time() * 1e6)
        text.append(
            f"__REALTIME_TIMESTAMP={us}\n__MONOTONIC_TIMESTAMP={MONO[0]}\n"
            "_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=web1\n"
            f"SYSLOG_IDENTIFIER=sshd\n_PID={pid}\nMESSAGE={msg}\n\n"
        )
    subprocess.run(
        [REMOTE, f"--output={os.path.join(dir_, 'remote.journal')}", "-"],
        input="".join(text).encode(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )


class Daemon:
    def __init__(self, binary, workdir):
        self.dir = workdir
        self.journal = os.path.join(workdir, "journal")
        os.mkdir(self.journal)
        self.log = os.path.join(workdir, "auth.log")
        open(self.log, "w").close()
        token = os.path.join(workdir, "token")
        with open(token, "w") as f:
            f.write(TOKEN)
        os.chmod(token, 0o600)
        # The journal needs an entry before journalctl will follow it.
        append_journal(self.journal, [("bench start", 1)])
        with open(os.path.join(workdir, "loginwatch.toml"), "w") as f:
            f.write(
                'state_path = "state.db"\n'
                f'rules_dir = "{os.path.join(ROOT, "rules")}"\n'
                'poll_interval = "1s"\ncheckpoint_interval = "1s"\n'
                '[http]\nlisten = "127.0.0.1:0"\nadmin_token_file = "token"\n'
                '[[source]]\njournal = true\njournal_dir = "journal"\n'
                '[[source]]\npath = "auth.log"\nformat = "sshd"\ntz = "UTC"\n'
            )
        addr = os.path.join(workdir, "addr")
        self.proc = subprocess.Popen(
            [binary, "run", "--config", os.path.join(workdir, "loginwatch.toml"), "--addr-file", addr],
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(workdir, "daemon.log"), "w"),
            env=dict(os.environ, LOGINWATCH_LOG="warn"),
        )
        deadline = time.time() + 30
        while not (os.path.exists(addr) and os.path.getsize(addr) > 0):
            if time.time() > deadline or self.proc.poll() is not None:
                sys.exit("daemon did not start: " + open(os.path.join(workdir, "daemon.log")).read())
            time.sleep(0.05)
        self.addr = open(addr).read().strip()

    def get(self, path, auth=False):
        req = urllib.request.Request(f"http://{self.addr}{path}")
        if auth:
            req.add_header("Authorization", f"Bearer {TOKEN}")
        with urllib.request.urlopen(req) as r:
            return r.read().decode()

    def lines(self, source):
        series = f'loginwatch_lines_read_total{{source="{source}"}} '
        for line in self.get("/metrics").splitlines():
            if line.startswith(series):
                return float(line[len(series):])
        return 0.0

    def locked(self, user):
        d = json.loads(self.get("/api/v1/decisions?active=true", auth=True))
        return any(x["target"].get("user") == user for x in d["decisions"])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=15)


def wait(pred, timeout=30):
    deadline = time.perf_counter() + timeout
    while not pred():
        if time.perf_counter() > deadline:
            sys.exit("timed out")
        time.sleep(0.001)
    return time.perf_counter()


def summary(name, xs):
    ms = [x * 1000 for x in xs]
    print(f"{name}: median {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms ({len(ms)} samples)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--bin", default=None)
    a = ap.parse_args()
    if not os.path.exists(REMOTE):
        sys.exit("needs systemd-journal-remote (apt-get install systemd-journal-remote)")
    binary = a.bin or default_bin()
    print(f"binary: {os.path.relpath(binary, ROOT)}")
    with tempfile.TemporaryDirectory() as tmp:
        d = Daemon(binary, tmp)
        wait(lambda: d.lines("journal") >= 1)
        journal, file_ = [], []
        for i in range(a.samples):
            n = d.lines("journal")
            append_journal(d.journal, [(f"bench marker {i}", 100 + i)])
            t0 = time.perf_counter()
            journal.append(wait(lambda: d.lines("journal") > n) - t0)
            n = d.lines("auth.log")
            with open(d.log, "a") as f:
                f.write(f"2026-12-07T09:00:00Z web1 sshd[{100 + i}]: bench marker {i}\n")
            t0 = time.perf_counter()
            file_.append(wait(lambda: d.lines("auth.log") > n) - t0)
            time.sleep(0.05)
        decided = []
        for i in range(max(3, a.samples // 5)):
            user = f"bench{i}"
            fails = [
                (f"Failed password for {user} from 203.0.113.{i + 1} port {40000 + k} ssh2", 2000 + 10 * i + k)
                for k in range(5)
            ]
            append_journal(d.journal, fails)
            t0 = time.perf_counter()
            decided.append(wait(lambda: d.locked(user)) - t0)
        d.stop()
    summary("journal entry -> line read", journal)
    summary("file line     -> line read", file_)
    summary("journal entry -> decision committed (API)", decided)


if __name__ == "__main__":
    main()
