#!/usr/bin/env bash
# Times `loginwatch replay --json` over a 1,000,000-line OpenSSH auth.log and
# reports lines per second and peak memory (target: >= 1,000,000 lines/s on one
# core, peak RSS < 100 MiB).
#
# Usage: bash bench/replay.sh [--lines N] [--runs N] [--log FILE] [--against REV]
# The log is generated once into bench/out/ by the deterministic generator that
# ships beside the checkout (../shared/bench/gen_sshd_log.py), or given with --log.
# --against REV also builds git revision REV (in a temporary worktree) and runs
# the two binaries alternately in the same run: both medians, their ratio, and
# whether their decisions are byte-identical. With --instructions it also
# counts both binaries' instructions on the first 200,000 lines (valgrind's
# callgrind): the same figure on every run, where wall time on a shared
# machine varies by 20%.
set -euo pipefail

cd "$(dirname "$0")/.."
LINES=1000000
RUNS=5
LOG=""
AGAINST=""
INSTRUCTIONS=0
while [ $# -gt 0 ]; do
    case "$1" in
        --lines) LINES=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --log) LOG=$2; shift 2 ;;
        --against) AGAINST=$2; shift 2 ;;
        --instructions) INSTRUCTIONS=1; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
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

# One timed run of binary $1 into bench/out/decisions-$2.jsonl; prints
# "wall lines_per_s peak_rss_mib decisions".
run_once() {
    /usr/bin/time -f '%e %M' -o bench/out/time.txt \
        "$1" replay --json --rules rules --tz UTC --year 2026 "$LOG" > "bench/out/decisions-$2.jsonl"
    read -r wall rss_kb < bench/out/time.txt
    decisions=$(tail -n1 "bench/out/decisions-$2.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["decisions"])')
    lps=$(python3 -c "print(int($lines / max($wall, 0.001)))")
    rss=$(python3 -c "print(round($rss_kb / 1024, 1))")
    echo "$wall $lps $rss $decisions"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

if [ -n "$AGAINST" ]; then
    base=bench/out/against
    rm -rf "$base/tree"
    mkdir -p "$base"
    git worktree add --detach -q "$base/tree" "$AGAINST"
    trap 'git worktree remove --force "$base/tree"' EXIT
    (cd "$base/tree" && CARGO_TARGET_DIR="$PWD/../target" cargo build --release --quiet)
    OLD=$base/target/release/loginwatch
    echo "# run  $AGAINST(lines/s rss decisions)  HEAD(lines/s rss decisions)"
    old_lps=(); new_lps=()
    for i in $(seq 1 "$RUNS"); do
        read -r _ olps orss odec < <(run_once "$OLD" old)
        read -r _ nlps nrss ndec < <(run_once "$BIN" new)
        echo "$i  $olps $orss $odec  $nlps $nrss $ndec"
        old_lps+=("$olps"); new_lps+=("$nlps")
    done
    om=$(printf "%s\n" "${old_lps[@]}" | median)
    nm=$(printf "%s\n" "${new_lps[@]}" | median)
    echo "median: $AGAINST $om lines/s, HEAD $nm lines/s, HEAD/$AGAINST $(python3 -c "print(round($nm / $om, 3))")"
    if [ "$INSTRUCTIONS" = 1 ]; then
        head -n 200000 "$LOG" > bench/out/head-200k.log
        count() {
            valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" replay --json \
                --rules rules --tz UTC --year 2026 bench/out/head-200k.log 2>&1 >/dev/null \
                | awk '/Collected/ {print $NF}'
        }
        oi=$(count "$OLD"); ni=$(count "$BIN")
        echo "instructions (200k lines): $AGAINST $oi, HEAD $ni, HEAD/$AGAINST $(python3 -c "print(round($ni / $oi, 4))")"
    fi
    if cmp -s bench/out/decisions-old.jsonl bench/out/decisions-new.jsonl; then
        echo "decisions: byte-identical"
    else
        echo "decisions: DIFFER (bench/out/decisions-old.jsonl vs decisions-new.jsonl)"
        exit 1
    fi
    exit 0
fi

echo "# run wall_s lines_per_s peak_rss_mib decisions"
results=()
for i in $(seq 1 "$RUNS"); do
    read -r wall lps rss decisions < <(run_once "$BIN" new)
    echo "$i $wall $lps $rss $decisions"
    results+=("$lps $rss")
done
printf "%s\n" "${results[@]}" | sort -n | awk -v n="$RUNS" '{a[NR]=$1; if ($2>m) m=$2} END {printf "median: %d lines/s, max peak RSS %.1f MiB\n", a[int((n+1)/2)], m}'
