#!/usr/bin/env python3
"""Soak benchmark of `loginwatch run` (not a test): see bench/soak.sh."""

import argparse
import csv
import http.server
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "loginwatch")
TOKEN = "soak-token-0123456789abcdef"


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook that fails every other request (500), logging what it accepted."""

    lock = threading.Lock()
    requests = 0
    accepted = []  # (idempotency key, decision id, status)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with Receiver.lock:
            Receiver.requests += 1
            fail = Receiver.requests % 2 == 1
            if not fail:
                try:
                    v = json.loads(body)
                except ValueError:
                    v = {}
                d = v.get("loginwatch.decision") or {}
                Receiver.accepted.append(
                    (self.headers.get("Idempotency-Key"), d.get("id"), v.get("loginwatch.alert.status"))
                )
        self.send_response(500 if fail else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def get(url):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


def metric_sum(text, name):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (line[len(name)] in " {"):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Writer(threading.Thread):
    """~rate lines/s, stamped now; rename-and-create rotation every minute."""

    def __init__(self, workdir, rate):
        super().__init__(daemon=True)
        self.dir, self.rate = workdir, rate
        self.written = 0
        self.stop = threading.Event()
        self.rotations = 0

    def run(self):
        path = os.path.join(self.dir, "auth.log")
        f = open(path, "a")
        rng = random.Random(1)
        start = last_rot = time.time()
        ip_n = 0
        attack = 0
        tick = 0.1
        while not self.stop.is_set():
            now = time.time()
            if now - last_rot >= 60:
                f.close()
                self.rotations += 1
                os.rename(path, f"{path}.{self.rotations}")
                old = f"{path}.{self.rotations - 2}"
                if os.path.exists(old):
                    os.remove(old)  # two minutes behind: read long ago unless the daemon lags
                f = open(path, "a")
                last_rot = now
            due = int((now - start) * self.rate) - self.written
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            out = []
            for _ in range(max(0, due)):
                r = rng.random()
                if r < 0.5:
                    u = rng.randrange(2000)
                    out.append(f"{stamp} web1 sshd[1]: Accepted publickey for u{u:04d} from 192.0.2.{u % 250 + 1} port 50000 ssh2\n")
                else:
                    ip_n += 1
                    a = 0x0B000000 + ip_n % 4_000_000
                    out.append(
                        f"{stamp} web1 sshd[2]: Failed password for invalid user n{ip_n % 100000} from "
                        f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255} port 40000 ssh2\n"
                    )
            # One account attacked a minute (5 bad passwords: a lock; well under
            # the storm breaker's 20 in 10 minutes) and one address hammering.
            if now - start >= attack * 60 + 30:
                attack += 1
                for i in range(5):
                    out.append(f"{stamp} web1 sshd[3]: Failed password for victim{attack:04d} from 198.51.100.{attack % 250 + 1} port 40000 ssh2\n")
                for i in range(30):
                    out.append(f"{stamp} web1 sshd[4]: Failed password for invalid user admin from 203.0.113.{attack % 250 + 1} port 40000 ssh2\n")
            f.write("".join(out))
            f.flush()
            self.written += len(out)
            time.sleep(max(0.0, tick - (time.time() - now)))
        f.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--rate", type=int, default=50_000)
    ap.add_argument("--csv", default=os.path.join(ROOT, "bench", "out", "soak.csv"))
    a = ap.parse_args()
    os.makedirs(os.path.dirname(a.csv), exist_ok=True)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    work = tempfile.mkdtemp(prefix="loginwatch-soak-")
    # 0600: the daemon refuses a token file other users can read.
    fd = os.open(os.path.join(work, "token"), os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(TOKEN)
    with open(os.path.join(work, "loginwatch.toml"), "w") as f:
        f.write(
            'state_path = "state.db"\n'
            f'rules_dir = "{os.path.join(ROOT, "rules")}"\n'
            'poll_interval = "1s"\ncheckpoint_interval = "1s"\n'
            '[http]\nlisten = "127.0.0.1:0"\nadmin_token_file = "token"\n'
            '[[source]]\npath = "auth.log"\nformat = "sshd"\ntz = "UTC"\n'
            '[alert]\n[[alert.sink]]\nname = "hook"\ntype = "webhook"\n'
            f'url = "http://127.0.0.1:{srv.server_address[1]}/hook"\n'
        )
    open(os.path.join(work, "auth.log"), "w").close()
    addr = os.path.join(work, "addr")
    proc = subprocess.Popen(
        [BIN, "run", "--config", os.path.join(work, "loginwatch.toml"), "--addr-file", addr],
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(work, "daemon.log"), "w"),
        env=dict(os.environ, LOGINWATCH_LOG="warn"),
        cwd=work,
    )
    while not (os.path.exists(addr) and os.path.getsize(addr) > 0):
        if proc.poll() is not None:
            sys.exit("daemon did not start: " + open(os.path.join(work, "daemon.log")).read())
        time.sleep(0.05)
    base = "http://" + open(addr).read().strip()

    def sample():
        m = get(base + "/metrics")
        with open(f"/proc/{proc.pid}/status") as s:
            st = dict(l.split(":", 1) for l in s.read().splitlines() if ":" in l)
        rss = int(st["VmRSS"].split()[0]) / 1024
        return {
            "rss_mib": round(rss, 1),
            "lag_bytes": int(metric_sum(m, "loginwatch_source_lag_bytes")),
            "lines_read": int(metric_sum(m, "loginwatch_lines_read_total")),
            "outbox": int(metric_sum(m, "loginwatch_alert_outbox_depth")),
        }

    w = Writer(work, a.rate)
    t0 = time.time()
    w.start()
    rows = []
    with open(a.csv, "w", newline="") as out:
        cw = csv.writer(out)
        cw.writerow(["seconds", "rss_mib", "lag_bytes", "lines_written", "lines_read", "outbox_depth"])
        while time.time() - t0 < a.minutes * 60:
            time.sleep(10)
            s = sample()
            row = [round(time.time() - t0), s["rss_mib"], s["lag_bytes"], w.written, s["lines_read"], s["outbox"]]
            rows.append(row)
            cw.writerow(row)
            out.flush()
            print(*row, flush=True)
        w.stop.set()
        w.join()
        deadline = time.time() + 300
        while (s := sample())["lines_read"] < w.written and time.time() < deadline:
            time.sleep(1)
        deadline = time.time() + 600
        while (s := sample())["outbox"] > 0 and time.time() < deadline:
            time.sleep(2)
        row = [round(time.time() - t0), s["rss_mib"], s["lag_bytes"], w.written, s["lines_read"], s["outbox"]]
        rows.append(row)
        cw.writerow(row)

    decisions = json.loads(get(base + "/api/v1/decisions"))["decisions"]
    proc.terminate()
    proc.wait(timeout=60)
    srv.shutdown()

    expect = {d["id"] for d in decisions if d["mode"] != "held"}
    firing = [(k, i) for k, i, st in Receiver.accepted if st == "firing"]
    keys = [k for k, _, _ in Receiver.accepted]
    dup_keys = len(keys) - len(set(keys))
    got = {i for _, i in firing}
    rss = [r[1] for r in rows]
    print(f"# {w.written} lines written in {a.minutes} min ({w.rotations} rotations), "
          f"{s['lines_read']} read: {'OK' if s['lines_read'] == w.written else 'MISMATCH'}")
    print(f"# RSS start {rss[0]} MiB, middle {rss[len(rss) // 2]} MiB, end {rss[-1]} MiB, "
          f"max {max(rss)} MiB; max lag {max(r[2] for r in rows)} bytes")
    print(f"# {len(decisions)} decisions ({len(expect)} alerted), {Receiver.requests} webhook requests, "
          f"{len(Receiver.accepted)} accepted, {dup_keys} accepted twice, "
          f"missing {len(expect - got)}, unexpected {len(got - expect)}: "
          f"{'OK' if dup_keys == 0 and expect == got else 'MISMATCH'}")
    print(f"# samples in {a.csv}; daemon dir {work}")
    ok = s["lines_read"] == w.written and dup_keys == 0 and expect == got
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
