#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets in fuzz/corpus/<target>/ from the
# project's own fixtures (example logs, golden scenarios, rule files, configs),
# plus the real-log corpora of ../shared/data when that directory is present
# beside the checkout. The corpus directory is not committed: run this before
# fuzzing (scripts/fuzz-smoke.sh does).
#
# Inputs are cut into pieces of at most 4 KiB at line ends: libFuzzer mutates
# small inputs faster, and a parser's state is exercised within a few lines.
# Targets that take a selector byte (json, csv, declared, http_body, snapshot)
# get one copy of each piece per selector value.
set -euo pipefail
cd "$(dirname "$0")"
root=..
shared=$root/../shared/data
out=corpus
mkdir -p "$out"/{sshd,syslog,json,csv,declared,auto,rules,config,http_body,snapshot}

n=0
# seed TARGET PREFIX FILE: pieces of FILE (first 16 KiB), each preceded by the
# bytes of PREFIX (printf format, e.g. '\x02'), into corpus/TARGET.
seed() {
    local target=$1 prefix=$2 file=$3 tmp
    [ -s "$file" ] || return 0
    tmp=$(mktemp -d)
    head -c 16384 "$file" | split -C 4096 - "$tmp/p"
    for p in "$tmp"/p*; do
        n=$((n + 1))
        { printf "$prefix"; cat "$p"; } > "$out/$target/seed-$n"
    done
    rm -rf "$tmp"
}
# whole TARGET PREFIX FILE: FILE whole (a CSV keeps its header row this way).
whole() {
    [ -s "$3" ] || return 0
    n=$((n + 1))
    { printf "$2"; head -c 16384 "$3"; } > "$out/$1/seed-$n"
}

shopt -s nullglob
syslog_logs=("$root"/examples/sample-auth.log "$root"/examples/demo/auth.log
    "$root"/tests/scenarios/*/input.log "$root"/tests/scenarios/*/auth.log*)
json_logs=("$root"/tests/scenarios/*/input.jsonl)
csv_logs=("$root"/tests/fixtures/saas/*.csv)
rule_files=("$root"/rules/*.toml "$root"/rules/profiles/*/*.toml "$root"/formats/*.toml
    "$root"/tests/scenarios/*/rules/*.toml)
configs=("$root"/examples/loginwatch.toml "$root"/examples/demo/loginwatch.toml
    "$root"/tests/scenarios/*/loginwatch.toml)
if [ -d "$shared" ]; then
    syslog_logs+=("$shared"/crowdsec-hubtests/*ssh*/*.log "$shared"/crowdsec-hubtests/pam-logs/*.log
        "$shared"/fail2ban-testlogs/logs/{sshd,sshd-journal,pam-generic,zzz-sshd-obsolete-multiline}
        "$shared"/loghub/OpenSSH/*.log "$shared"/loghub/Linux/*.log)
    json_logs+=("$shared"/otrf-windows-security/*.jsonl "$shared"/aws-cloudtrail/*/*.json
        "$shared"/crowdsec-hubtests/{aws,windows,authentik,keycloak}*/*.log)
    csv_logs+=("$shared"/loghub/OpenSSH/*.csv)
fi

for f in "${syslog_logs[@]}"; do
    seed sshd '' "$f"
    seed syslog '' "$f"
    seed auto '' "$f"
done
for f in "${json_logs[@]}"; do
    for sel in '\x00' '\x01' '\x02' '\x03' '\x04' '\x05'; do seed json "$sel" "$f"; done
    seed auto '' "$f"
    seed declared '\x02' "$f"
done
for f in "${csv_logs[@]}"; do
    for sel in '\x00' '\x01'; do whole csv "$sel" "$f"; done
    whole declared '\x03' "$f"
    whole auto '' "$f"
done
for f in "${rule_files[@]}"; do whole rules '' "$f"; done
for f in "${configs[@]}"; do whole config '' "$f"; done

# Declared formats: lines in the shape of each (see fuzz_targets/declared.rs).
printf '\x00%s\n' '2026-02-10 16:31:12 radiusd: Login incorrect (rlm_pap: CLEAR TEXT password check failed): [carol] (from client ap-3 port 0 cli 192.0.2.44)' \
    '2026-02-10 16:31:20 radiusd: Login OK: [carol] (from client ap-3 port 0 cli 192.0.2.44)' > "$out/declared/radius"
printf '\x01%s\n' 'Mar  1 00:00:01 host-a vpn in fail pw password user=dave ip=[2001:db8::9]:443 port=443 device=lt-1 ua=curl/8' \
    'Feb 28 23:59:59 host-b vpn otp ok - totp user=dave ip=192.0.2.9 port=- device=- ua=' > "$out/declared/every-capture"
printf '\x02%s\n' '{"ts":1770708672,"scope":"auth","op":"signin","ok":false,"doer":{"name":"dave"},"remote":"[2001:db8::9]:4431"}' \
    '{"ts":1770708673.5,"scope":"auth","op":"2fa_totp","ok":true,"doer":{"email":"d@example.com"},"ips":["x","192.0.2.1"]}' > "$out/declared/myidp"

# API bodies: selector 0 is an unlock, 1 a storm reset.
printf '\x00{"by": "alice", "reason": "called the helpdesk"}' > "$out/http_body/unlock"
printf '\x00{"by": " a\\u001b[2J ", "reason": "x"}' > "$out/http_body/unlock-control"
printf '\x01{"by": "bob"}' > "$out/http_body/storm"
printf '\x01' > "$out/http_body/storm-empty"

# Parser state: the fuzzer grows blobs from these (empty, and foreign bytes).
printf '\x00' > "$out/snapshot/sshd-empty"
printf '\x01\x02\x00' > "$out/snapshot/csv-short"

for t in "$out"/*; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
