#!/usr/bin/env bash
# Times `loginwatch replay --json` over a 1,000,000-line OpenSSH auth.log and
# reports lines per second and peak memory (target: >= 1,000,000 lines/s on one
# core, peak RSS < 100 MiB).
#
# Usage: bash bench/replay.sh [--lines N] [--runs N] [--log FILE]
# The log is generated once into bench/out/ by the deterministic generator that
# ships beside the checkout (../shared/bench/gen_sshd_log.py), or given with --log.
set -euo pipefail

cd "$(dirname "$0")/.."
LINES=1000000
RUNS=5
LOG=""
while [ $# -gt 0 ]; do
    case "$1" in
        --lines) LINES=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --log) LOG=$2; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

mkdir -p bench/out
if [ -z "$LOG" ]; then
    LOG=bench/out/auth-$LINES.log
    if [ ! -s "$LOG" ]; then
        GEN=../shared/bench/gen_sshd_log.py
        if [ ! -f "$GEN" ]; then
            echo "no generator at $GEN: pass --log FILE with an OpenSSH auth.log" >&2
            exit 2
        fi
        python3 "$GEN" -n "$LINES" --seed 1 -o "$LOG" --truth "bench/out/truth-$LINES.json"
    fi
fi

cargo build --release --quiet
BIN=target/release/loginwatch
lines=$(wc -l < "$LOG")
echo "# input: $LOG ($lines lines, $(du -h "$LOG" | cut -f1))"
echo "# run wall_s lines_per_s peak_rss_mib decisions"
results=()
for i in $(seq 1 "$RUNS"); do
    /usr/bin/time -f '%e %M' -o bench/out/time.txt \
        "$BIN" replay --json --rules rules --tz UTC --year 2026 "$LOG" > bench/out/decisions.jsonl
    read -r wall rss_kb < bench/out/time.txt
    decisions=$(tail -n1 bench/out/decisions.jsonl | python3 -c 'import json,sys; print(json.load(sys.stdin)["decisions"])')
    lps=$(python3 -c "print(int($lines / max($wall, 0.001)))")
    rss=$(python3 -c "print(round($rss_kb / 1024, 1))")
    echo "$i $wall $lps $rss $decisions"
    results+=("$lps $rss")
done
printf "%s\n" "${results[@]}" | sort -n | awk -v n="$RUNS" '{a[NR]=$1; if ($2>m) m=$2} END {printf "median: %d lines/s, max peak RSS %.1f MiB\n", a[int((n+1)/2)], m}'
