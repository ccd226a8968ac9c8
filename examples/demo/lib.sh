# Sourced by examples/demo/run.sh: building loginwatch and finding the binary
# cargo made, and starting the daemon with its death noticed. Kept apart so the
# test suite runs the same code (tests/first_run.rs).

# Builds loginwatch with the cargo profile $DEMO_PROFILE (default release) and
# prints the path of the executable cargo reports, right wherever the target
# directory is (CARGO_TARGET_DIR, a cargo config's target-dir, a workspace).
# $CARGO names the cargo to run (cargo sets it for its children).
demo_build() {
    local out exe
    out=$("${CARGO:-cargo}" build --quiet --profile "${DEMO_PROFILE:-release}" --bin loginwatch \
        --message-format=json-render-diagnostics) || {
        echo "demo: cargo build failed (see above)" >&2
        return 1
    }
    # The bin target's artifact (the lib target of the same name has no executable).
    exe=$(printf '%s\n' "$out" | grep '"reason":"compiler-artifact"' | grep '"kind":\["bin"\]' \
        | grep '"name":"loginwatch"' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
    if [ -z "$exe" ] || [ ! -x "$exe" ]; then
        echo "demo: cargo reported no loginwatch executable (got: ${exe:-nothing})" >&2
        return 1
    fi
    printf '%s\n' "$exe"
}

# Starts `$1 run` on the config in the work directory $2, its log in
# $2/daemon.log, its pid in $demo_pid; returns once it has written its address
# to $2/addr. When it exits first, or gives no address within 30 s, says so
# with the end of its log and fails: the log holds the reason.
demo_start() {
    local bin=$1 work=$2 status
    "$bin" run --config "$work/loginwatch.toml" --addr-file "$work/addr" 2> "$work/daemon.log" &
    demo_pid=$!
    for _ in $(seq 1 300); do
        [ -s "$work/addr" ] && return 0
        if ! kill -0 "$demo_pid" 2>/dev/null; then
            status=0
            wait "$demo_pid" || status=$?
            echo "demo: the daemon exited (status $status) before it was listening; the end of $work/daemon.log:" >&2
            tail -n 20 "$work/daemon.log" | sed 's/^/  /' >&2
            return 1
        fi
        sleep 0.1
    done
    echo "demo: the daemon gave no address within 30 s; the end of $work/daemon.log:" >&2
    tail -n 20 "$work/daemon.log" | sed 's/^/  /' >&2
    return 1
}
