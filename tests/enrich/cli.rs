//! The enrichment from the command line: `parse` and `replay` with `--geoip`,
//! the `geoip` command, and `replay --config` running GeoIP, IP-list and
//! inventory rules.

use super::*;

const LOG: &str = "\
Nov 14 06:25:00 web1 sshd[1234]: Failed password for alice from 192.0.2.200 port 52344 ssh2
Nov 14 06:25:05 web1 sshd[1235]: Accepted password for bob from 2001:db8::5 port 52345 ssh2
Nov 14 06:25:09 web1 sshd[1236]: Failed password for carol from 10.9.9.9 port 52346 ssh2
";

#[test]
fn parse_with_geoip_adds_the_source_fields() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_dbs(dir.path());
    let log = dir.path().join("auth.log");
    std::fs::write(&log, LOG).unwrap();
    let mut cmd = lw();
    cmd.args(["parse", "--tz", "UTC", "--year", "2026"]);
    for p in &paths {
        cmd.arg("--geoip").arg(p);
    }
    let out = cmd.arg(&log).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let evs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(evs.len(), 3);
    assert_eq!(evs[0]["source.geo.country_iso_code"], "JP");
    assert_eq!(evs[0]["source.geo.city_name"], "Tokyo");
    assert_eq!(evs[0]["source.geo.location"]["lat"], 35.6895);
    assert_eq!(evs[0]["loginwatch.source.anonymous.vpn"], true);
    assert_eq!(evs[1]["source.geo.country_iso_code"], "SE");
    assert!(evs[2].get("source.geo.country_iso_code").is_none());
    assert!(
        evs[2]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("source.geo"))
    );

    // Without --geoip, no enrichment fields.
    let out = lw()
        .args(["parse", "--tz", "UTC", "--year", "2026"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("source.geo"));
}

#[test]
fn replay_accepts_geoip_and_rejects_a_bad_database() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_dbs(dir.path());
    let log = dir.path().join("auth.log");
    std::fs::write(&log, LOG).unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let run = |geo: &[&Path]| {
        let mut cmd = lw();
        cmd.args([
            "replay", "--json", "--tz", "UTC", "--year", "2026", "--rules",
        ])
        .arg(&rules);
        for p in geo {
            cmd.arg("--geoip").arg(p);
        }
        cmd.arg(&log).output().unwrap()
    };
    let plain = run(&[]);
    let enriched = run(&[&paths[0], &paths[1], &paths[2]]);
    assert!(
        enriched.status.success(),
        "{}",
        String::from_utf8_lossy(&enriched.stderr)
    );
    assert_eq!(plain.stdout, enriched.stdout);
    let bad = dir.path().join("bad.mmdb");
    std::fs::write(&bad, b"garbage").unwrap();
    let out = run(&[&bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.mmdb"));
}

#[test]
fn geoip_command_prints_what_the_databases_say() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_dbs(dir.path());
    let out = lw().args(["geoip", "192.0.2.10"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--geoip"));
    let out = lw()
        .args(["geoip", "not-an-ip", "--geoip"])
        .arg(&paths[0])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let mut cmd = lw();
    cmd.args(["geoip", "192.0.2.10", "--json"]);
    for p in &paths {
        cmd.arg("--geoip").arg(p);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source.ip"], "192.0.2.10");
    assert_eq!(v["source.geo.city_name"], "Tokyo");
    assert_eq!(v["source.as.number"], 64500);
    assert_eq!(v["source.as.organization.name"], "Example Net");
    assert_eq!(v["databases"].as_array().unwrap().len(), 3);

    let out = lw()
        .args(["geoip", "203.0.113.9", "--geoip"])
        .arg(&paths[2])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("anonymous     tor"), "{text}");
}

/// A directory holding a config with GeoIP databases, an IP list, an inventory
/// and the shipped rules plus one rule on the list.
pub(crate) fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_dbs(d);
    std::fs::create_dir(d.join("lists")).unwrap();
    std::fs::write(d.join("lists/tor.netset"), "# tor exits\n203.0.113.0/24\n").unwrap();
    std::fs::write(
        d.join("accounts.csv"),
        "user,email,display_name,status,admin\nalice,alice@example.jp,Alice Abe,active,no\nbob,bob@example.jp,Bob Ban,suspended,no\n",
    )
    .unwrap();
    let rules = d.join("rules");
    std::fs::create_dir(&rules).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    for e in std::fs::read_dir(&shipped).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            std::fs::copy(&p, rules.join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(
        rules.join("tor.toml"),
        "[[rule]]\nid = \"tor-login\"\nkind = \"threshold\"\ngroup_by = \"user\"\ncount = 1\nwindow = \"1h\"\n\
         match = { outcome = \"success\", in_list = \"tor-exits\" }\ndecision = { action = \"alert\", severity = \"high\" }\n",
    )
    .unwrap();
    std::fs::write(
        d.join("loginwatch.toml"),
        "rules_dir = \"rules\"\ngeoip = [\"city.mmdb\", \"asn.mmdb\", \"anon.mmdb\"]\n\
         [[ip_list]]\nname = \"tor-exits\"\npath = \"lists/tor.netset\"\n\
         [inventory]\npath = \"accounts.csv\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("auth.log"),
        "2026-11-14T06:00:00Z web1 sshd[1]: Accepted password for alice from 192.0.2.10 port 4000 ssh2\n\
         2026-11-14T06:10:00Z web1 sshd[2]: Accepted password for alice from 2001:db8::1 port 4000 ssh2\n\
         2026-11-14T06:20:00Z web1 sshd[3]: Accepted password for carol from 203.0.113.9 port 4000 ssh2\n\
         2026-11-14T06:30:00Z web1 sshd[4]: Failed password for bob from 198.51.100.7 port 4000 ssh2\n\
         2026-11-14T06:31:00Z web1 sshd[5]: Failed password for bob from 198.51.100.7 port 4001 ssh2\n\
         2026-11-14T06:32:00Z web1 sshd[6]: Failed password for bob from 198.51.100.7 port 4002 ssh2\n",
    )
    .unwrap();
    dir
}

#[test]
fn replay_with_config_runs_geo_list_and_inventory_rules() {
    let dir = config_dir();
    let d = dir.path();
    let out = lw()
        .current_dir(d)
        .args([
            "replay",
            "--json",
            "--tz",
            "UTC",
            "--config",
            "loginwatch.toml",
            "auth.log",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "decision")
        .map(|v| format!("{} {}", v["rule"].as_str().unwrap(), v["target"]))
        .collect();
    let has = |r: &str| rules.iter().any(|x| x.starts_with(r));
    assert!(
        has("impossible-travel"),
        "Tokyo to Linköping in 10 minutes: {rules:?}"
    );
    assert!(
        has("tor-login"),
        "a success from a listed address: {rules:?}"
    );
    assert!(
        has("disabled-account-attempts"),
        "3 attempts on a suspended account: {rules:?}"
    );
    // parse --config shows what the rules saw.
    let out = lw()
        .current_dir(d)
        .args([
            "parse",
            "--tz",
            "UTC",
            "--config",
            "loginwatch.toml",
            "auth.log",
        ])
        .output()
        .unwrap();
    let first: serde_json::Value = serde_json::from_str(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["source.geo.country_iso_code"], "JP");
    assert_eq!(first["user.email"], "alice@example.jp");
}

#[test]
fn a_rule_naming_an_unconfigured_list_is_a_usage_error() {
    let dir = config_dir();
    let d = dir.path();
    let cfg = std::fs::read_to_string(d.join("loginwatch.toml")).unwrap();
    let cfg = cfg.replace(
        "[[ip_list]]\nname = \"tor-exits\"\npath = \"lists/tor.netset\"\n",
        "",
    );
    std::fs::write(d.join("loginwatch.toml"), cfg).unwrap();
    let out = lw()
        .current_dir(d)
        .args([
            "replay",
            "--json",
            "--tz",
            "UTC",
            "--config",
            "loginwatch.toml",
            "auth.log",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tor-exits"));
}
