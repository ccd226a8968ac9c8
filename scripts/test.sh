#!/usr/bin/env bash
# Runs every test of loginwatch. This is the README's test command; CI runs it.
#
# Installs what the tests need from Debian's packages when it is missing and we
# are root (promtool and prometheus, from the `prometheus` package, check the
# metrics, dashboards and alerting rules; `prometheus-alertmanager` receives
# alerts in the delivery tests; `rsyslog` relays to the network source;
# `nftables` runs the real `nft` test, inside a
# network namespace of its own, never on the host's ruleset;
# `systemd-journal-remote` writes the journal files the journal tests follow;
# `chromium` and `chromium-driver` run the helpdesk page's browser tests, with
# `fonts-ipafont-gothic` so its Japanese is drawn, not boxes;
# `nats-server` is the JetStream server fleet mode's tests start on loopback), with a
# policy-rc.d that keeps the packages from starting or enabling their services;
# and aiosmtpd from PyPI (the SMTP server of the e-mail tests). Install errors
# are shown on stderr. Then runs the whole cargo test suite.
#
# A test that cannot run for want of a tool records a skip (tests/util/mod.rs
# `skip`) in the file named by LOGINWATCH_SKIP_LOG; at the end this script
# prints "N tests skipped:" and each with its reason. With CI=true a skip fails
# the run, except where the tool truly cannot exist on CI's machine:
#
#   tool               in CI
#   promtool           fails: installed above (CI runs as root)
#   prometheus         fails: installed above
#   alertmanager       fails: installed above
#   aiosmtpd           fails: installed above
#   nft                fails: installed above; root may always create a namespace
#   nft-unprivileged   allowed: not root and the host forbids user namespaces
#   corpus             fails: CI lays ../shared/data beside the checkout
#   privileges         fails: CI runs as root, the case that test handles
#   nightly            fails: these machines carry a nightly toolchain (fuzzing)
#   cargo-fuzz         fails: installed by scripts/fuzz-smoke.sh
#   logger             fails: util-linux's (package bsdutils), on every Debian
#   rsyslogd           fails: installed above (run as a child with its own
#                      config; the host's syslog is not touched)
#   systemd-journal-remote  fails: installed above (writes the journal tests' files)
#   journalctl         fails: part of systemd, on every Debian with systemd
#   groff              fails: installed above (formats the man pages `man` writes)
#   cargo-deb          fails: installed below (`cargo install`, a pinned version;
#                      builds the Debian package tests/package.rs installs)
#   dpkg-deb           fails: part of dpkg, on every Debian
#   systemd-analyze    fails: part of systemd, on every Debian with systemd
#   systemd-sysusers   fails: part of systemd (with systemd-tmpfiles), likewise
#   chromium           fails: installed above (the headless browser of tests/ui_browser.rs)
#   chromedriver       fails: installed above (package chromium-driver: drives it)
#   nats-server        fails: installed above (run as a child on loopback with
#                      its own store; the package's unit is disabled)
set -euo pipefail
cd "$(dirname "$0")/.."

ci_allowed_skips=(nft-unprivileged)

need_pkgs=()
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need_pkgs+=(prometheus-alertmanager)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need_pkgs+=(nftables)
[ -x /usr/sbin/rsyslogd ] || need_pkgs+=(rsyslog)
[ -x /lib/systemd/systemd-journal-remote ] || need_pkgs+=(systemd-journal-remote)
command -v groff >/dev/null 2>&1 || need_pkgs+=(groff-base)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_pkgs+=(chromium-driver)
[ -e /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ] || need_pkgs+=(fonts-ipafont-gothic)
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need_pkgs+=(nats-server)

if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing: ${need_pkgs[*]}" >&2
        # policy-rc.d exit 101: no service of these packages is started. An
        # existing one is moved aside and back (same file, same inode).
        pol=/usr/sbin/policy-rc.d
        bak=$(mktemp -u /usr/sbin/policy-rc.d.loginwatch.XXXXXX)
        [ -e "$pol" ] && mv "$pol" "$bak"
        trap 'rm -f "$pol"; if [ -e "$bak" ]; then mv "$bak" "$pol"; fi' EXIT
        printf '#!/bin/sh\nexit 101\n' > "$pol" && chmod +x "$pol"
        # Quiet on success; on failure apt's own messages go to stderr.
        apt-get update -qq >/dev/null || echo "apt-get update failed (see above)" >&2
        apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null \
            || echo "could not install ${need_pkgs[*]} (see above); the tests that need them will skip" >&2
        # The packages enable their units for the next boot even when
        # policy-rc.d keeps them from starting now. They were not installed
        # before, so disable every unit they ship: running the tests leaves no
        # service enabled on the host.
        if command -v systemctl >/dev/null 2>&1; then
            for unit in $(dpkg -L "${need_pkgs[@]}" 2>/dev/null \
                    | grep -E '/systemd/system/[^/]+\.(service|socket|timer)$' | xargs -r -n1 basename); do
                if [ "$(systemctl is-enabled "$unit" 2>/dev/null)" = enabled ]; then
                    systemctl disable "$unit" >/dev/null || echo "could not disable $unit" >&2
                fi
            done
        fi
    else
        echo "missing ${need_pkgs[*]} (not root or no apt-get); the tests that need them will skip" >&2
    fi
fi

# aiosmtpd (PyPI) is the real SMTP server the e-mail delivery tests talk to.
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    echo "installing aiosmtpd (pip)" >&2
    python3 -m pip install -q aiosmtpd >/dev/null \
        || python3 -m pip install -q --break-system-packages aiosmtpd >/dev/null \
        || echo "could not install aiosmtpd (see above); the e-mail delivery tests will skip" >&2
fi

# cargo-deb (crates.io) builds the Debian package that tests/package.rs
# unpacks and installs into a throw-away root. Pinned: the tests package their
# debug build, which later cargo-deb versions mean to refuse.
if ! cargo deb --version >/dev/null 2>&1; then
    echo "installing cargo-deb (cargo install)" >&2
    cargo install -q cargo-deb --locked --version 3.8.0 \
        || echo "could not install cargo-deb (see above); the package test will skip" >&2
fi

skip_log=$(mktemp)
export LOGINWATCH_SKIP_LOG="$skip_log"
status=0
cargo test --locked || status=$?

# Fuzzing smoke run: every fuzz/ target for FUZZ_SECONDS (60) on one core; its
# skips (no nightly toolchain, no cargo-fuzz) go to the same list.
bash scripts/fuzz-smoke.sh || status=$?

skipped=$(sort -u "$skip_log")
rm -f "$skip_log"
count=0
[ -n "$skipped" ] && count=$(printf '%s\n' "$skipped" | wc -l)
echo "$count tests skipped:" >&2
[ -n "$skipped" ] && printf '%s\n' "$skipped" | sed 's/^/  /' >&2

if [ "${CI:-}" = true ] && [ -n "$skipped" ]; then
    while IFS= read -r line; do
        # "SKIP [tool] test: reason"
        tool=${line#SKIP [}
        tool=${tool%%]*}
        allowed=0
        for t in "${ci_allowed_skips[@]}"; do [ "$t" = "$tool" ] && allowed=1; done
        if [ $allowed = 0 ]; then
            echo "CI: a test skipped for want of '$tool', which CI must have: $line" >&2
            [ $status = 0 ] && status=1
        fi
    done <<< "$skipped"
fi
exit $status
