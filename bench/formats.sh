#!/usr/bin/env bash
# Times `loginwatch replay --json` on one core over a 1,000,000-record file of
# each JSON preset and CSV format (issue 17's target: >= 1,000,000 events/s
# each), with peak memory, and checks that the decisions equal those of a
# reference binary when one is given.
#
# Usage: bash bench/formats.sh [--bin FILE] [--against FILE] [--records N]
#                              [--runs N] [--formats "ecs okta ..."]
#   --bin FILE      the binary timed (default target/release/loginwatch)
#   --against FILE  a binary from before a change: timed the same way, and its
#                   decisions compared byte for byte with --bin's
#   --records N     records per file (default 1,000,000); the files are made
#                   once into bench/out/ by bench/gen_events.py (same model and
#                   attack mix for every format)
#   --runs N        runs per binary and format; the median is reported (default 3)
# Prints one Markdown table row per format and binary: records/s, events/s,
# peak RSS, and whether the decisions match.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=target/release/loginwatch
AGAINST=""
RECORDS=1000000
RUNS=3
FORMATS="ecs cloudtrail windows-security entra-signin okta lineworks-audit cybozu-audit"
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) BIN=$2; shift 2 ;;
        --against) AGAINST=$2; shift 2 ;;
        --records) RECORDS=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --formats) FORMATS=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done
[ -x "$BIN" ] || { echo "no binary $BIN (build it first)" >&2; exit 2; }
mkdir -p bench/out
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# One core: --threads 1 where the binary has the option (older ones do not).
one_core() {
    if "$1" replay --help | grep -q -- '--threads'; then echo "--threads 1"; fi
}

# Runs binary $1 on file $2 with format $3 $RUNS times; prints
# "median_seconds peak_kib events" and leaves the output in $4.
measure() {
    local bin=$1 file=$2 fmt=$3 out=$4 t=() rss=0 extra
    extra=$(one_core "$bin")
    for _ in $(seq "$RUNS"); do
        # shellcheck disable=SC2086
        /usr/bin/time -f "%e %M" -o "$OUT/time" "$bin" replay --json --rules rules \
            --tz UTC --format "$fmt" $extra "$file" >"$out"
        read -r secs kib <"$OUT/time"
        t+=("$secs")
        [ "$kib" -gt "$rss" ] && rss=$kib
    done
    local median
    median=$(printf '%s\n' "${t[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
    local events
    events=$(tail -1 "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
    echo "$median $rss $events"
}

echo "| format | binary | records/s | events/s | peak RSS | decisions |"
echo "|---|---|---:|---:|---:|---|"
for fmt in $FORMATS; do
    case "$fmt" in
        lineworks-audit|cybozu-audit) ext=csv ;;
        *) ext=jsonl ;;
    esac
    file=bench/out/events-$fmt-$RECORDS.$ext
    if [ ! -s "$file" ]; then
        python3 bench/gen_events.py --format "$fmt" -n "$RECORDS" -o "$file"
    fi
    for which in bin against; do
        [ "$which" = against ] && [ -z "$AGAINST" ] && continue
        bin=$BIN
        [ "$which" = against ] && bin=$AGAINST
        read -r secs kib events < <(measure "$bin" "$file" "$fmt" "$OUT/$which.jsonl")
        same="-"
        if [ -n "$AGAINST" ] && [ "$which" = against ]; then
            if cmp -s "$OUT/bin.jsonl" "$OUT/against.jsonl"; then same="identical"; else same="DIFFER"; fi
        fi
        python3 - "$fmt" "$which" "$RECORDS" "$events" "$secs" "$kib" "$same" <<'EOF'
import sys
fmt, which, records, events, secs, kib, same = sys.argv[1:]
secs = max(float(secs), 0.001)
print(f"| {fmt} | {which} | {int(records) / secs:,.0f} | {int(events) / secs:,.0f} "
      f"| {int(kib) / 1024:.1f} MiB | {same} |")
EOF
    done
done
