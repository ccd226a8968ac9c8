#!/usr/bin/env bash
# The loginwatch demo: builds the daemon, starts it on a copy of the demo log,
# appends attack lines, and shows what it decided through its admin API and
# metrics. Takes about a minute the first time (the build), seconds after.
# Usage: bash examples/demo/run.sh    (from anywhere; leaves target/demo behind)
# DEMO_PROFILE names another cargo profile than release (dev: a quicker
# build); DEMO_DIR sets the scratch directory (default target/demo).
set -euo pipefail
cd "$(dirname "$0")/../.."
. examples/demo/lib.sh
bin=$(demo_build)
echo "demo: running $bin" >&2
work=${DEMO_DIR:-target/demo}
rm -rf "$work" && mkdir -p "$work"
cp examples/demo/loginwatch.toml examples/demo/auth.log "$work/"
# Port 0: any free port; the daemon writes the one it got to addr.
sed -i 's/127.0.0.1:9464/127.0.0.1:0/' "$work/loginwatch.toml"

demo_pid=
trap '[ -n "$demo_pid" ] && { kill "$demo_pid" 2>/dev/null; wait "$demo_pid" 2>/dev/null; }; true' EXIT
demo_start "$bin" "$work"
addr=$(cat "$work/addr")
echo "loginwatch is watching $work/auth.log (admin API and metrics on http://$addr)"

bash examples/demo/attack.sh "$work/auth.log"
sleep 2

echo
# No token is configured: the daemon made one, $work/admin.token (mode 0600),
# which the CLI finds through the config's state_path.
echo "== decisions in force (loginwatch decisions list --active --config $work/loginwatch.toml --url http://$addr)"
"$bin" decisions list --active --config "$work/loginwatch.toml" --url "http://$addr"
echo
echo "== some metrics (curl http://$addr/metrics)"
curl -s "http://$addr/metrics" | grep -E '^loginwatch_(lines_read|decisions|active_locks)' || true
echo
echo "== the daemon's log ($work/daemon.log)"
grep -E 'Decision|Listening' "$work/daemon.log" || true
