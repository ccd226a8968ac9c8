#!/usr/bin/env bash
# Appends attack traffic to an auth.log, stamped now, the way OpenSSH writes it:
# a user who locks herself out (5 bad passwords), a brute force against root from
# one address, and a password spray across many accounts.
# Usage: attack.sh LOG
set -euo pipefail
log=${1:?usage: attack.sh LOG}
pid=$((RANDOM + 10000))
line() { pid=$((pid + 1)); printf '%s web1 sshd[%d]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)" "$pid" "$1" >> "$log"; }

echo "attack: erin mistypes her password 5 times" >&2
for i in 1 2 3 4 5; do line "Failed password for erin from 10.1.0.58 port $((50000 + i)) ssh2"; sleep 0.2; done

echo "attack: brute force against root from 198.51.100.23" >&2
for i in $(seq 1 20); do line "Failed password for root from 198.51.100.23 port $((40000 + i)) ssh2"; done

echo "attack: password spray from 203.0.113.77" >&2
for u in admin test oracle postgres git ubuntu pi guest ftp www; do
    line "Invalid user $u from 203.0.113.77 port $((RANDOM + 20000))"
done
