#!/usr/bin/env bash
# Runs every test of loginwatch. This is the README's test command; CI runs it.
#
# Installs what the tests need from Debian's packages when it is missing and we
# are root (promtool, from the `prometheus` package, checks the metrics output;
# `prometheus-alertmanager` receives alerts in the delivery tests), with a
# policy-rc.d that keeps the package from starting its own service; and
# aiosmtpd from PyPI (the SMTP server of the e-mail test). Then runs the whole
# cargo test suite. Tests that need a tool that could not be installed print
# one SKIP line instead of failing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need_pkgs+=(prometheus-alertmanager)

if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing: ${need_pkgs[*]}" >&2
        pol=/usr/sbin/policy-rc.d
        had_pol=0
        [ -e "$pol" ] && had_pol=1 && cp "$pol" "$pol.loginwatch-bak"
        printf '#!/bin/sh\nexit 101\n' > "$pol" && chmod +x "$pol"
        trap 'if [ $had_pol = 1 ]; then mv "$pol.loginwatch-bak" "$pol"; else rm -f "$pol"; fi' EXIT
        apt-get update -qq >/dev/null 2>&1 || true
        apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null 2>&1 \
            || echo "could not install ${need_pkgs[*]}; the tests that need them will SKIP" >&2
    else
        echo "missing ${need_pkgs[*]} (not root or no apt-get); the tests that need them will SKIP" >&2
    fi
fi

# aiosmtpd (PyPI) is the real SMTP server the e-mail delivery test talks to.
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    python3 -m pip install -q aiosmtpd >/dev/null 2>&1 \
        || python3 -m pip install -q --break-system-packages aiosmtpd >/dev/null 2>&1 \
        || echo "could not install aiosmtpd; the e-mail delivery test will SKIP" >&2
fi

cargo test --locked

# Fuzzing smoke run (fuzz/ targets, 60 s each; SKIP without nightly).
bash scripts/fuzz-smoke.sh
