#!/usr/bin/env bash
# The fleet agent's spool with NATS away: N sshd lines (default 200,000) in
# one file, `loginwatch agent` started with no NATS server on its port, so
# every event goes to the spool on disk. Reports the spool's write rate
# (events/s from the agent's start to the last event spooled), its size, the
# agent's RSS with the spool full of them (VmRSS and VmHWM from /proc, which
# must not grow with the spool), then starts nats-server -js on that port and
# reports the drain rate until the stream holds every event once.
#
# Usage: bash bench/fleet_spool.sh [--lines N]
# Uses the release binary of $CARGO_TARGET_DIR (default ./target) and
# nats-server (Debian: /usr/sbin/nats-server).
set -euo pipefail

cd "$(dirname "$0")/.."
LINES=200000
while [ $# -gt 0 ]; do
    case "$1" in
        --lines) LINES=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done
NATS=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$NATS" ] || { echo "SKIP: nats-server is not installed"; exit 0; }

cargo build --release --quiet
BIN=$PWD/${CARGO_TARGET_DIR:-target}/release/loginwatch
DIR=$(mktemp -d)
APID= NPID=
trap 'kill $APID $NPID 2>/dev/null || true; rm -rf "$DIR"' EXIT
python3 - "$LINES" "$DIR/auth.log" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(n):
        f.write(f"2026-03-01T09:00:00Z web1 sshd[{1000 + i % 30000}]: Failed password for u{i} "
                f"from 203.0.113.{i % 250} port {10000 + i % 50000} ssh2\n")
PY
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$DIR/loginwatch.toml" <<TOML
state_path = "state.db"
[http]
listen = "127.0.0.1:0"
[[source]]
path = "auth.log"
format = "sshd"
tz = "UTC"
[fleet]
url = "nats://127.0.0.1:$PORT"
host = "web1"
TOML
metric() { curl -s "http://$(cat "$DIR/addr")/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
start=$(date +%s.%N)
(cd "$DIR" && exec "$BIN" agent --config loginwatch.toml --addr-file addr 2> agent.log) &
APID=$!
until [ -s "$DIR/addr" ]; do sleep 0.1; done
until [ "$(metric loginwatch_fleet_spool_messages)" = "$LINES" ]; do sleep 0.2; done
spooled=$(date +%s.%N)
bytes=$(metric loginwatch_fleet_spool_bytes)
rss=$(awk '/VmRSS|VmHWM/ { printf "%s %d MiB  ", $1, $2 / 1024 }' /proc/$APID/status)
echo "spooled $LINES events in $(echo "$spooled - $start" | bc) s: $(echo "$LINES / ($spooled - $start)" | bc) events/s, $((bytes / 1048576)) MiB on disk"
echo "agent with the spool full: $rss"
"$NATS" -js -a 127.0.0.1 -p "$PORT" -sd "$DIR/nats" 2> "$DIR/nats.log" &
NPID=$!
until [ "$(metric loginwatch_fleet_spool_messages)" = "0" ]; do sleep 0.2; done
drained=$(date +%s.%N)
echo "drained to the stream in $(echo "$drained - $spooled" | bc) s: $(echo "$LINES / ($drained - $spooled)" | bc) events/s; published $(metric loginwatch_fleet_published_total)"
rss=$(awk '/VmRSS|VmHWM/ { printf "%s %d MiB  ", $1, $2 / 1024 }' /proc/$APID/status)
echo "agent after the drain: $rss"
