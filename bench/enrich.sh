#!/usr/bin/env bash
# Times `loginwatch replay --json` over the 1,000,000-line OpenSSH auth.log made by
# bench/replay.sh, without and with GeoIP enrichment (City + ASN + Anonymous-IP
# lookups on every event, through the per-address cache), and reports both
# throughputs. Target: enriched >= 50% of the unenriched figure.
#
# Usage: bash bench/enrich.sh [--lines N] [--runs N] [--mmdb DIR]
# --mmdb DIR holds GeoIP2-City-Test.mmdb, GeoLite2-ASN-Test.mmdb and
# GeoIP2-Anonymous-IP-Test.mmdb [default: ../shared/data/maxmind-test/test-data].
set -euo pipefail

cd "$(dirname "$0")/.."
LINES=1000000
RUNS=3
MMDB=../shared/data/maxmind-test/test-data
while [ $# -gt 0 ]; do
    case "$1" in
        --lines) LINES=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --mmdb) MMDB=$2; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

LOG=bench/out/auth-$LINES.log
if [ ! -s "$LOG" ]; then
    # bench/replay.sh generates the log; one quick run is enough for that.
    bash bench/replay.sh --lines "$LINES" --runs 1 > /dev/null
fi
for db in GeoIP2-City-Test.mmdb GeoLite2-ASN-Test.mmdb GeoIP2-Anonymous-IP-Test.mmdb; do
    if [ ! -f "$MMDB/$db" ]; then
        echo "no $MMDB/$db: pass --mmdb DIR with the MaxMind test databases" >&2
        exit 2
    fi
done

cargo build --release --quiet
BIN=target/release/loginwatch
lines=$(wc -l < "$LOG")
GEO=(--geoip "$MMDB/GeoIP2-City-Test.mmdb" --geoip "$MMDB/GeoLite2-ASN-Test.mmdb"
     --geoip "$MMDB/GeoIP2-Anonymous-IP-Test.mmdb")

# Prints the median lines/s of RUNS runs of replay with the given extra arguments.
measure() {
    local all=()
    for _ in $(seq 1 "$RUNS"); do
        /usr/bin/time -f '%e %M' -o bench/out/time.txt \
            "$BIN" replay --json --rules rules --tz UTC --year 2026 "$@" "$LOG" \
            > bench/out/decisions-enrich.jsonl
        read -r wall rss_kb < bench/out/time.txt
        all+=("$(python3 -c "print(int($lines / max($wall, 0.001)))") $((rss_kb / 1024))")
    done
    printf "%s\n" "${all[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}

echo "# input: $LOG ($lines lines), $RUNS runs each, median"
read -r plain plain_rss <<< "$(measure)"
read -r geo geo_rss <<< "$(measure "${GEO[@]}")"
ratio=$(python3 -c "print(round(100 * $geo / $plain, 1))")
echo "unenriched: $plain lines/s (peak RSS $plain_rss MiB)"
echo "enriched (City+ASN+Anonymous-IP): $geo lines/s (peak RSS $geo_rss MiB)"
echo "enriched/unenriched: $ratio% (target >= 50%)"
python3 -c "import sys; sys.exit(0 if $geo * 2 >= $plain else 1)"
