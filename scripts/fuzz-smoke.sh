#!/usr/bin/env bash
# The fuzzing smoke run of the test command: builds every cargo-fuzz target in
# fuzz/ and runs each one for FUZZ_SECONDS (default 60) on one core, from the
# seed corpora of fuzz/seed.sh. Any crash, panic, timeout or out-of-memory fails
# it; the input is left in fuzz/artifacts/<target>/ (reproduce it with
# `cargo +nightly fuzz run <target> <file>`).
#
# Needs a nightly toolchain (libFuzzer's instrumentation) and cargo-fuzz, which
# is installed when missing; without nightly it prints one SKIP line and passes.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${FUZZ_SECONDS:-60}
# A skip is said on stderr and, under scripts/test.sh, recorded in its list
# (LOGINWATCH_SKIP_LOG), in the tests' "SKIP [tool] test: reason" form.
skip() {
    local line="SKIP [$1] fuzz-smoke: $2"
    echo "$line" >&2
    if [ -n "${LOGINWATCH_SKIP_LOG:-}" ]; then echo "$line" >> "$LOGINWATCH_SKIP_LOG"; fi
    exit 0
}
if ! cargo +nightly --version >/dev/null 2>&1; then
    skip nightly "no nightly toolchain (rustup toolchain install nightly)"
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install -q --locked cargo-fuzz >/dev/null \
        || skip cargo-fuzz "cargo-fuzz missing and could not be installed (see above)"
fi

# The fuzz build is its own workspace; keep its artifacts beside the main
# build's when a target directory is set.
tdir=${CARGO_TARGET_DIR:-$PWD/fuzz/target}/fuzz
bash fuzz/seed.sh >/dev/null
cd fuzz
cargo +nightly fuzz build --target-dir "$tdir"
failed=()
for t in $(cargo +nightly fuzz list); do
    echo "fuzz smoke: $t for ${secs}s" >&2
    # In-process, one core (-jobs would fork a worker logging to fuzz-N.log).
    if ! cargo +nightly fuzz run --target-dir "$tdir" "$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_funcs=0 \
        -print_final_stats=1 2> "$tdir/$t.log"; then
        tail -40 "$tdir/$t.log" >&2
        failed+=("$t")
    else
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$tdir/$t.log" \
            | tr '\n' ' ' | sed "s/^/fuzz smoke: $t: /; s/\$/\\n/" >&2
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke: crashes in ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
