#!/usr/bin/env bash
# Soak benchmark (not a test): the release daemon for --minutes N (default 30)
# fed ~50,000 lines/s (--rate) with a rename-and-create rotation every minute,
# alerting to a webhook that answers 500 to every other request. Every 10 s
# the RSS, the source lag, lines written and read and the outbox depth go to
# bench/out/soak.csv. At the end: every line read exactly once (lines read ==
# lines written) and every alert accepted exactly once (the receiver's log
# against the daemon's decisions); exit 1 otherwise.
#
# Usage: bash bench/soak.sh [--minutes N] [--rate LINES_PER_S] [--csv FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,11p' "$0"; exit 0 ;; esac
cargo build --release --quiet
exec python3 bench/soak.py "$@"
