#!/usr/bin/env bash
# Peak memory under a flood of distinct keys: N failed logins (default
# 1,000,000), each from a distinct source address and for a distinct user name
# (half `invalid user`, half names that look like accounts), over 30 minutes of
# log time. Reports the peak RSS of `replay --json` and of the daemon that
# reads the same file (VmHWM from /proc), and the keys the rules evicted.
# The README's bound is 150 MiB for both.
#
# Usage: bash bench/flood.sh [--lines N]
# Uses the release binary of $CARGO_TARGET_DIR (default ./target).
set -euo pipefail

cd "$(dirname "$0")/.."
LINES=1000000
while [ $# -gt 0 ]; do
    case "$1" in
        --lines) LINES=$2; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

mkdir -p bench/out
LOG=bench/out/flood-$LINES.log
if [ ! -s "$LOG" ]; then
    python3 - "$LINES" "$LOG" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
span = 1800  # seconds of log time
with open(path, "w") as f:
    for i in range(n):
        t = i * span // n
        # Distinct public-looking addresses: 11.0.0.0 upwards, never .0 or .255.
        a = 0x0B000000 + (i // 254) * 256 + 1 + i % 254
        ip = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"
        who = f"invalid user x{i:07d}" if i % 2 else f"u{i:07d}"
        f.write(f"2026-03-01T08:{t // 60:02d}:{t % 60:02d}Z web1 sshd[{1000 + i % 30000}]: "
                f"Failed password for {who} from {ip} port {1024 + i % 60000} ssh2\n")
PY
fi

cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/loginwatch
echo "# input: $LOG ($(wc -l < "$LOG") lines)"

/usr/bin/time -f '%e %M' -o bench/out/flood-time.txt \
    "$BIN" replay --json --rules rules --tz UTC "$LOG" > bench/out/flood-decisions.jsonl
read -r wall rss_kb < bench/out/flood-time.txt
echo "replay: ${wall}s, peak RSS $((rss_kb / 1024)) MiB"

DIR=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT
cp "$LOG" "$DIR/auth.log"
cat > "$DIR/loginwatch.toml" <<TOML
state_path = "state.db"
rules_dir = "$PWD/rules"
poll_interval = "1s"
checkpoint_interval = "1s"
[http]
listen = "127.0.0.1:0"
[[source]]
path = "auth.log"
format = "sshd"
tz = "UTC"
TOML
LOGINWATCH_LOG=warn "$BIN" run --config "$DIR/loginwatch.toml" --addr-file "$DIR/addr" \
    > /dev/null 2> "$DIR/daemon.log" &
PID=$!
until [ -s "$DIR/addr" ]; do sleep 0.1; done
URL="http://$(cat "$DIR/addr")/metrics"
start=$(date +%s)
metric() { curl -s "$URL" | awk -v m="$1" '$1 ~ "^"m {s += $2} END {printf "%d", s}'; }
while [ "$(metric loginwatch_lines_read_total)" -lt "$LINES" ]; do sleep 0.5; done
# One more checkpoint, so the commit of the last batch is in the peak too.
sleep 2
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
echo "daemon: $(( $(date +%s) - start ))s, peak RSS $((hwm / 1024)) MiB, evicted keys $(metric loginwatch_evicted_keys_total)"
kill -TERM "$PID"
wait "$PID" || true
# The README's bound, for both: exit 1 above it.
over=0
for kb in "$rss_kb" "$hwm"; do
    if [ "$kb" -ge $((150 * 1024)) ]; then over=1; fi
done
if [ "$over" = 1 ]; then
    echo "over the 150 MiB bound" >&2
    exit 1
fi
echo "both under the 150 MiB bound"
