#!/usr/bin/env python3
"""Fleet benchmark: agents publishing to NATS JetStream, detectors consuming.

Two phases, each on a fresh `nats-server -js` on loopback (temp store) and
fresh loginwatch processes (release build, temp dirs):

  1. throughput: the 1M-line generated OpenSSH log dealt round-robin to 4
     agents (hosts web1..web4, each tailing its own file); the lines are
     appended at once and the clock runs until the detectors have consumed
     every event the agents published. Reported: events/s into the stream
     (agents) and through the detectors, for one detector (group "all") and
     for two (group "user" and group "address", each consuming every event and
     running its half of the rules).
  2. latency: 3 agents (a, b, c) and one detector in enforce mode, a steady
     background of other lines on a and b; every --lock-interval a fresh user
     fails 3 times on a and 2 times on b. Measured: from the append of the
     fifth failure on b to agent c running its lock_account action (a
     program that writes the time it ran): the decision visible on another
     host. p50, p99 and max.

Usage: python3 bench/fleet.py [--log FILE] [--lines N] [--locks N] [--background R] [--phase throughput|latency|all]
The log defaults to bench/out/auth-1000000.log (made by bench/replay.sh).
Prints SKIP and exits 0 when nats-server or the release binary is missing.
"""

import argparse
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "loginwatch")
RULES = os.path.join(ROOT, "rules")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nats_binary():
    for d in os.environ.get("PATH", "").split(":") + ["/usr/sbin"]:
        p = os.path.join(d, "nats-server")
        if os.path.isfile(p):
            return p
    return None


class Nats:
    def __init__(self, workdir):
        self.port, self.monitor = free_port(), free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        store = os.path.join(workdir, "nats-store")
        self.proc = subprocess.Popen(
            [nats_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor), "-sd", store],
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(workdir, "nats.log"), "w"),
        )
        wait(lambda: self._healthy(), 30, "nats-server did not start")

    def _healthy(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor}/healthz") as r:
                return r.status == 200
        except OSError:
            return False

    def messages(self, stream="LOGINWATCH_EVENTS"):
        """Messages stored in the events stream (0 before it exists)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor}/jsz?streams=true") as r:
            j = json.load(r)
        for acc in j.get("account_details") or []:
            for s in acc.get("stream_detail") or []:
                if s.get("name") == stream:
                    return s["state"]["messages"]
        return 0

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def wait(cond, timeout, what):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            sys.exit(f"timed out: {what}")
        time.sleep(0.02)


class Proc:
    """A loginwatch process (`agent` or `run`) in its own directory."""

    def __init__(self, workdir, command, config):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        cfg = os.path.join(workdir, "loginwatch.toml")
        with open(cfg, "w") as f:
            f.write(config)
        self.addr_file = os.path.join(workdir, "addr")
        args = [BIN, command, "--config", cfg]
        if command == "run":
            args += ["--addr-file", self.addr_file]
        self.log = os.path.join(workdir, f"{command}.log")
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "w"),
            env=dict(os.environ, LOGINWATCH_LOG="warn"),
        )
        self.addr = None
        if command == "run":
            wait(lambda: self._up(), 60, f"{command} did not start: see {self.log}")
            self.addr = open(self.addr_file).read().strip()

    def _up(self):
        if self.proc.poll() is not None:
            sys.exit(f"{self.dir}: exited: " + open(self.log).read()[-2000:])
        return os.path.exists(self.addr_file) and os.path.getsize(self.addr_file) > 0

    def fleet_events(self):
        """Events the detector consumed from the stream."""
        with urllib.request.urlopen(f"http://{self.addr}/metrics") as r:
            text = r.read().decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith("loginwatch_events_total{") and 'source="fleet"' in line:
                total += float(line.split()[-1])
        return total

    def peak_rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def agent_config(url, host, top=""):
    """An agent's file; `top`: keys and tables before its source and [fleet]."""
    return (
        'state_path = "state.db"\n'
        f'rules_dir = "{RULES}"\n'
        'year = 2026\npoll_interval = "1s"\n'
        + top +
        '[[source]]\npath = "auth.log"\nformat = "sshd"\ntz = "UTC"\n'
        f'[fleet]\nurl = "{url}"\nhost = "{host}"\n'
    )


def detector_config(url, name, fleet_extra="", extra=""):
    return (
        'state_path = "state.db"\n'
        f'rules_dir = "{RULES}"\n'
        'year = 2026\n'
        + extra
        + '[http]\nlisten = "127.0.0.1:0"\n'
        + f'[fleet]\nurl = "{url}"\nhost = "{name}"\n'
        + fleet_extra
    )


# The detectors of each throughput run: (name, [fleet] lines).
SETUPS = {
    1: [("detector", "")],
    2: [("det-user", 'group = "user"\n'), ("det-address", 'group = "address"\n')],
}


def throughput(a, n_detectors):
    with open(a.log) as f:
        lines = f.readlines()[: a.lines]
    d = tempfile.mkdtemp(prefix="lw-fleet-")
    nats = Nats(d)
    dets = [Proc(os.path.join(d, name), "run", detector_config(nats.url, name, extra_fleet))
            for name, extra_fleet in SETUPS[n_detectors]]
    agents = []
    for i in range(4):
        ad = os.path.join(d, f"web{i + 1}")
        os.makedirs(ad)
        open(os.path.join(ad, "auth.log"), "w").close()
        agents.append(Proc(ad, "agent", agent_config(nats.url, f"web{i + 1}")))
    time.sleep(2)  # the agents have opened their files
    t0 = time.time()
    for i, ag in enumerate(agents):
        with open(os.path.join(ag.dir, "auth.log"), "a") as f:
            f.write("".join(lines[i::4]))
    # Published: the stream stops growing (3 s without a new message).
    last, last_change = -1, time.time()
    while time.time() - last_change < 3:
        m = nats.messages()
        if m != last:
            last, last_change = m, time.time()
        time.sleep(0.05)
    published, t_pub = last, last_change
    if n_detectors == 1:
        wait(lambda: dets[0].fleet_events() >= published, 1200,
             f"the detector to consume {published} events")
        t_det, consumed = time.time(), [published]
    else:
        # A group reads only the events with its key (no user: not the user
        # group's): each detector is done when its count stops growing.
        counts, changed = [-1.0] * len(dets), [time.time()] * len(dets)
        while time.time() - max(changed) < 3:
            for i, x in enumerate(dets):
                c = x.fleet_events()
                if c != counts[i]:
                    counts[i], changed[i] = c, time.time()
            time.sleep(0.05)
        t_det, consumed = max(changed), [int(c) for c in counts]
    rss = [round(x.peak_rss_mib(), 1) for x in dets]
    arss = [round(x.peak_rss_mib(), 1) for x in agents]
    for p in dets + agents:
        p.stop()
    nats.stop()
    shutil.rmtree(d, ignore_errors=True)
    return {
        "detectors": n_detectors,
        "lines": len(lines),
        "events": published,
        "agents_events_per_s": round(published / (t_pub - t0)),
        "detectors_events_per_s": round(published / (t_det - t0)),
        "consumed_per_detector": consumed,
        "detector_peak_rss_mib": rss,
        "agent_peak_rss_mib": max(arss),
    }


MARK = """#!/bin/sh
# Writes when this host applied the lock: the time, then the user.
echo "$(date +%s.%N) $1" >> "$(dirname "$0")/applied"
"""


def syslog(host, user, ip, k, what="Failed password for"):
    t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"
    return f"{t} {host} sshd[{2000 + k % 30000}]: {what} {user} from {ip} port {30000 + k % 30000} ssh2\n"


def latency(a):
    d = tempfile.mkdtemp(prefix="lw-fleet-lat-")
    nats = Nats(d)
    no_storm = "[safety]\nstorm_accounts = 1000000\n"
    det = Proc(os.path.join(d, "detector"), "run",
               detector_config(nats.url, "detector", extra='mode = "enforce"\n' + no_storm))
    agents = {}
    for h in "abc":
        ad = os.path.join(d, h)
        os.makedirs(ad)
        open(os.path.join(ad, "auth.log"), "w").close()
        top = ""
        if h == "c":
            # Host c sees no line of the attack: it learns of each lock
            # through the decisions bucket and runs its own action.
            mark = os.path.join(ad, "mark")
            with open(mark, "w") as f:
                f.write(MARK)
            os.chmod(mark, stat.S_IRWXU)
            top = no_storm + f'[[actions.lock_account]]\nexec = ["{mark}", "{{user}}"]\n'
        agents[h] = Proc(ad, "agent", agent_config(nats.url, h, top))
    time.sleep(2)
    files = {h: open(os.path.join(agents[h].dir, "auth.log"), "a") for h in "ab"}
    sent = {}
    k = 0
    step = 1.0 / max(a.background, 1)
    next_lock = time.time() + 1
    n = 0
    while n < a.locks:
        now = time.time()
        if now >= next_lock:
            user = f"lat{n}"
            ip = f"198.51.{n // 250}.{n % 250 + 1}"
            for j in range(3):
                files["a"].write(syslog("a", user, ip, k + j))
            files["a"].flush()
            files["b"].write(syslog("b", user, ip, k + 3))
            files["b"].flush()
            files["b"].write(syslog("b", user, ip, k + 4))
            files["b"].flush()
            sent[user] = time.time()
            k += 5
            n += 1
            next_lock += a.lock_interval
        # background: a success of a known user from a known address
        h = "ab"[k % 2]
        files[h].write(syslog(h, f"bg{k % 500}", f"203.0.113.{k % 200 + 1}", k, "Accepted password for"))
        files[h].flush()
        k += 1
        time.sleep(step)
    applied_path = os.path.join(agents["c"].dir, "applied")

    def count():
        try:
            with open(applied_path) as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    wait(lambda: count() >= a.locks, 120, f"{a.locks} locks applied on host c")
    lat = []
    with open(applied_path) as f:
        for line in f:
            t, user = line.split()
            lat.append(float(t) - sent[user])
    lat.sort()
    for p in list(agents.values()) + [det]:
        p.stop()
    nats.stop()
    shutil.rmtree(d, ignore_errors=True)

    def q(x):
        return round(lat[min(len(lat) - 1, int(x * len(lat)))] * 1000, 1)

    return {"locks": len(lat), "background_lines_per_s": a.background,
            "p50_ms": q(0.50), "p99_ms": q(0.99), "max_ms": round(lat[-1] * 1000, 1)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--log", default=os.path.join(ROOT, "bench", "out", "auth-1000000.log"))
    p.add_argument("--lines", type=int, default=1_000_000, help="first N lines of the log")
    p.add_argument("--locks", type=int, default=200)
    p.add_argument("--lock-interval", type=float, default=0.1)
    p.add_argument("--background", type=int, default=1000, help="other lines per second")
    p.add_argument("--phase", default="all", choices=["throughput", "latency", "all"])
    a = p.parse_args()
    if nats_binary() is None:
        print("SKIP bench/fleet.py: nats-server is not installed (apt-get install nats-server)", file=sys.stderr)
        return
    if not os.path.exists(BIN):
        print(f"SKIP bench/fleet.py: no release binary at {BIN} (cargo build --release)", file=sys.stderr)
        return
    if a.phase in ("throughput", "all"):
        if not os.path.exists(a.log):
            print(f"SKIP throughput: {a.log} is missing (bash bench/replay.sh makes it)", file=sys.stderr)
        else:
            for n in (1, 2):
                print(json.dumps({"phase": "throughput", **throughput(a, n)}), flush=True)
    if a.phase in ("latency", "all"):
        print(json.dumps({"phase": "latency", **latency(a)}), flush=True)


if __name__ == "__main__":
    main()
