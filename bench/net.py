#!/usr/bin/env python3
"""Network syslog benchmark of `loginwatch run` (release build, temp dir, loopback).

One daemon with two sources, `listen = "tcp://127.0.0.1:P"` and
`listen = "udp://127.0.0.1:Q"` (format sshd), and three phases:
  1. TCP: the first N lines of the generated OpenSSH log sent over one
     connection, newline-framed, as fast as the socket takes them; lines/s until
     the daemon has read them all (loginwatch_lines_read_total{source="tcp"}).
  2. UDP: the same N lines as datagrams as fast as Python sends them; how many
     arrived and at what rate (a full queue drops datagrams: UDP has no
     back-pressure, so the sender's speed against the daemon's shows here).
  3. Flood: 1 GiB without a newline over TCP, then one good line; the daemon's
     peak RSS before and after (the framer holds at most one message).

Usage: python3 bench/net.py [--log FILE] [--lines N] [--flood-mib M]
The log defaults to bench/out/auth-1000000.log (made by bench/replay.sh).
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "loginwatch")


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    def __init__(self, workdir, tcp, udp):
        self.dir = workdir
        with open(os.path.join(workdir, "loginwatch.toml"), "w") as f:
            f.write(
                'state_path = "state.db"\n'
                f'rules_dir = "{os.path.join(ROOT, "rules")}"\n'
                'year = 2026\npoll_interval = "1s"\ncheckpoint_interval = "1s"\n'
                '[http]\nlisten = "127.0.0.1:0"\n'
                f'[[source]]\nlisten = "tcp://127.0.0.1:{tcp}"\nname = "tcp"\nformat = "sshd"\ntz = "UTC"\n'
                f'[[source]]\nlisten = "udp://127.0.0.1:{udp}"\nname = "udp"\nformat = "sshd"\ntz = "UTC"\n'
            )
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

    def value(self, series):
        with urllib.request.urlopen(f"http://{self.addr}/metrics") as r:
            for line in r.read().decode().splitlines():
                if line.startswith(series + " "):
                    return float(line.split()[-1])
        return 0.0

    def lines(self, source):
        return self.value(f'loginwatch_lines_read_total{{source="{source}"}}')

    def wait_lines(self, source, n, quiet=2.0, timeout=600):
        """Until `n` lines of `source` are read, or the count stops moving for `quiet` s."""
        deadline, last, since = time.time() + timeout, -1.0, time.time()
        while time.time() < deadline:
            got = self.lines(source)
            if got >= n:
                return got, time.time()
            if got != last:
                last, since = got, time.time()
            elif time.time() - since > quiet:
                return got, since
            time.sleep(0.02)
        sys.exit(f"timed out: {source} read {self.lines(source)} of {n}")

    def peak_rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


QUEUE_FULL = 'loginwatch_source_dropped_total{reason="queue_full",source="udp"}'


def udp_rcvbuf_errors():
    """The host's UDP RcvbufErrors (datagrams dropped on a full socket buffer)."""
    with open("/proc/net/snmp") as f:
        rows = [l.split() for l in f if l.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", default=os.path.join(ROOT, "bench", "out", "auth-1000000.log"))
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--flood-mib", type=int, default=1024)
    a = ap.parse_args()
    if not os.path.exists(a.log):
        sys.exit(f"no log at {a.log}: run bench/replay.sh first (it generates it)")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    with open(a.log, "rb") as f:
        lines = [next(f) for _ in range(a.lines)]
    n = len(lines)
    tcp, udp = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
    with tempfile.TemporaryDirectory() as d:
        daemon = Daemon(d, tcp, udp)
        try:
            # 1. TCP, newline-framed, 1 MiB writes.
            payload = b"".join(lines)
            t0 = time.time()
            with socket.create_connection(("127.0.0.1", tcp)) as s:
                for i in range(0, len(payload), 1 << 20):
                    s.sendall(payload[i : i + (1 << 20)])
                got, t1 = daemon.wait_lines("tcp", n)
            print(f"tcp: {int(got)} of {n} lines in {t1 - t0:.2f} s = {int(got / (t1 - t0))} lines/s")

            # 2. UDP, one datagram a line, as fast as Python sends. Where the
            # missing ones went: the kernel's receive buffer (RcvbufErrors,
            # host-wide) or the daemon's full queue (its dropped counter).
            kernel0 = udp_rcvbuf_errors()
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            t0 = time.time()
            for line in lines:
                u.sendto(line, ("127.0.0.1", udp))
            sent_s = time.time() - t0
            got, t1 = daemon.wait_lines("udp", n)
            print(
                f"udp: sent {n} in {sent_s:.2f} s ({int(n / sent_s)}/s); read {int(got)} "
                f"({100 * got / n:.1f}%) in {t1 - t0:.2f} s = {int(got / (t1 - t0))} lines/s; "
                f"lost in the kernel's buffer {udp_rcvbuf_errors() - kernel0}, "
                f"in the daemon's queue {int(daemon.value(QUEUE_FULL))}"
            )

            # 3. A flood with no newline, then a good line.
            before = daemon.peak_rss_mib()
            chunk = b"A" * (1 << 20)
            t0 = time.time()
            with socket.create_connection(("127.0.0.1", tcp)) as s:
                for _ in range(a.flood_mib):
                    s.sendall(chunk)
                s.sendall(b"\n" + lines[0])
                got, _ = daemon.wait_lines("tcp", n + 2)
            print(
                f"flood: {a.flood_mib} MiB without a newline in {time.time() - t0:.1f} s; "
                f"peak RSS {before:.1f} MiB before, {daemon.peak_rss_mib():.1f} MiB after; "
                f"tcp lines read {int(got)} (the flood counted as one too-long line, then the good one)"
            )
        finally:
            daemon.stop()


if __name__ == "__main__":
    main()
