#!/usr/bin/env python3
"""Live-ingest benchmark of `loginwatch run`.

Three phases, each on a fresh daemon (release build, temp dir, port 0):
  1. throughput: the 1M-line generated OpenSSH log appended in bursts as fast as
     possible; lines/s sustained until the daemon has read every line, compared
     with `replay --json` on the same file;
  2. latency: the same log appended at 10,000 lines/s; p50/p99 of
     loginwatch_event_to_decision_seconds (from the change notification that
     woke the daemon to the decision);
  3. memory: 1,000,000 failures from 1,000,000 distinct source IPs; peak RSS.

Usage: python3 bench/live.py [--log FILE] [--latency-seconds N] [--distinct N] [--sink]
The log defaults to bench/out/auth-1000000.log (made by bench/replay.sh).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "loginwatch")


# With --sink, every daemon also writes its alerts to a file sink: the cost of
# rendering, the outbox and the sample-line store (on only when a sink exists).
SINK = ""


class Daemon:
    def __init__(self, workdir):
        self.dir = workdir
        with open(os.path.join(workdir, "loginwatch.toml"), "w") as f:
            f.write(
                'state_path = "state.db"\n'
                f'rules_dir = "{os.path.join(ROOT, "rules")}"\n'
                'year = 2026\npoll_interval = "1s"\n' f'checkpoint_interval = "{os.environ.get("LW_BENCH_CHECKPOINT", "1s")}"\n'
                '[http]\nlisten = "127.0.0.1:0"\n'
                '[[source]]\npath = "auth.log"\nformat = "sshd"\ntz = "UTC"\n'
                + SINK
            )
        open(os.path.join(workdir, "auth.log"), "w").close()
        addr = os.path.join(workdir, "addr")
        self.proc = subprocess.Popen(
            [BIN, "run", "--config", os.path.join(workdir, "loginwatch.toml"), "--addr-file", addr],
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

    def metrics(self):
        with urllib.request.urlopen(f"http://{self.addr}/metrics") as r:
            return r.read().decode()

    def value(self, series, text=None):
        text = text if text is not None else self.metrics()
        for line in text.splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
        return 0.0

    def lines_read(self):
        return self.value('loginwatch_lines_read_total{source="auth.log"}')

    def wait_lines(self, n, timeout=600):
        deadline = time.time() + timeout
        while self.lines_read() < n:
            if time.time() > deadline:
                sys.exit(f"timed out: read {self.lines_read()} of {n}")
            time.sleep(0.02)
        return time.time()

    def peak_rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def quantile(text, q):
    """Quantile from the histogram buckets, interpolated linearly as Prometheus does."""
    buckets = []
    for line in text.splitlines():
        m = re.match(r'loginwatch_event_to_decision_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if m:
            le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
            buckets.append((le, float(m.group(2))))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    if total == 0:
        return float("nan"), 0
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if le == float("inf"):
                return prev_le, int(total)
            return prev_le + (le - prev_le) * (rank - prev_c) / max(c - prev_c, 1e-9), int(total)
        prev_le, prev_c = le, c
    return float("nan"), int(total)


def append_all(path, lines, burst):
    with open(path, "a") as f:
        for i in range(0, len(lines), burst):
            f.write("".join(lines[i:i + burst]))
            f.flush()


def memory_phase(a):
    """Phase 3: one failure from each of `a.distinct` distinct addresses; peak RSS."""
    with tempfile.TemporaryDirectory() as d:
        dm = Daemon(d)
        gen = []
        for i in range(a.distinct):
            ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
            s = 1763000000 + i // 100
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))
            gen.append(f"{ts}Z web1 sshd[{1000 + i % 30000}]: Failed password for invalid user u{i % 5000} from {ip} port 40000 ssh2\n")
        t0 = time.time()
        append_all(os.path.join(d, "auth.log"), gen, 50_000)
        dm.wait_lines(len(gen))
        distinct_lps = len(gen) / (time.time() - t0)
        time.sleep(1.5)
        rss = dm.peak_rss_mib()
        per_rule = [l for l in dm.metrics().splitlines() if l.startswith("loginwatch_tracked_keys{")]
        tracked = sum(float(l.split()[-1]) for l in per_rule)
        if os.environ.get("LW_BENCH_VERBOSE"):
            print("\n".join(per_rule), file=sys.stderr)
        dm.stop()
    return rss, distinct_lps, tracked


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", default=os.path.join(ROOT, "bench", "out", "auth-1000000.log"))
    ap.add_argument("--latency-seconds", type=int, default=20)
    ap.add_argument("--distinct", type=int, default=1_000_000)
    ap.add_argument("--only-memory", action="store_true", help="run phase 3 only")
    ap.add_argument("--sink", action="store_true", help="add a file alert sink to every daemon")
    a = ap.parse_args()
    if a.sink:
        global SINK
        SINK = '[[alert.sink]]\nname = "siem"\ntype = "file"\npath = "alerts.jsonl"\n'
    if not os.path.exists(a.log):
        sys.exit(f"no {a.log}: run bash bench/replay.sh first (it generates the log)")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    lines = open(a.log).readlines()
    n = len(lines)

    if a.only_memory:
        rss3, distinct_lps, tracked = memory_phase(a)
        print(f"{a.distinct} distinct IPs:     peak RSS {rss3:.1f} MiB, {distinct_lps:,.0f} lines/s, "
              f"{tracked:.0f} keys tracked at the end")
        return

    # Replay, for the 2x comparison.
    t0 = time.time()
    subprocess.run([BIN, "replay", "--json", "--rules", os.path.join(ROOT, "rules"), "--tz", "UTC",
                    "--year", "2026", a.log], stdout=subprocess.DEVNULL, check=True)
    replay_lps = n / (time.time() - t0)

    # 1. Throughput.
    with tempfile.TemporaryDirectory() as d:
        dm = Daemon(d)
        t0 = time.time()
        append_all(os.path.join(d, "auth.log"), lines, 50_000)
        t1 = dm.wait_lines(n)
        live_lps = n / (t1 - t0)
        decisions = sum(float(l.split()[-1]) for l in dm.metrics().splitlines()
                        if l.startswith("loginwatch_decisions_total{"))
        rss1 = dm.peak_rss_mib()
        dm.stop()

    # 2. Latency at 10,000 lines/s.
    rate, tick = 10_000, 0.05
    per_tick = int(rate * tick)
    count = min(n, rate * a.latency_seconds)
    with tempfile.TemporaryDirectory() as d:
        dm = Daemon(d)
        log = os.path.join(d, "auth.log")
        start = time.time()
        with open(log, "a") as f:
            for i in range(0, count, per_tick):
                f.write("".join(lines[i:i + per_tick]))
                f.flush()
                next_at = start + (i // per_tick + 1) * tick
                time.sleep(max(0.0, next_at - time.time()))
        dm.wait_lines(count)
        text = dm.metrics()
        p50, samples = quantile(text, 0.50)
        p99, _ = quantile(text, 0.99)
        dm.stop()

    rss3, distinct_lps, tracked = memory_phase(a)

    print(f"input: {a.log} ({n} lines)")
    print(f"replay --json:              {replay_lps:12,.0f} lines/s")
    print(f"live ingest (bursts):       {live_lps:12,.0f} lines/s  ({replay_lps / live_lps:.2f}x slower than replay), "
          f"{decisions:.0f} decisions, peak RSS {rss1:.1f} MiB")
    print(f"latency at {rate} lines/s:  p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms over {samples} decisions")
    print(f"{a.distinct} distinct IPs:     peak RSS {rss3:.1f} MiB, {distinct_lps:,.0f} lines/s, "
          f"{tracked:.0f} keys tracked at the end")


if __name__ == "__main__":
    main()
