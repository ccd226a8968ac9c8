//! End-to-end tests of what the daemon's alerts carry and of their durability:
//! sample log lines (escaped) and the source's country/ASN in an alert written
//! to a file sink; and a webhook receiver that is not there while the daemon is
//! killed with `kill -9` during ingest and with alerts waiting in the outbox,
//! after which every decision of an uninterrupted `replay` is alerted, none lost,
//! duplicates only under the same idempotency key.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::sshgen::{Rng, generate};
use crate::util::daemon::{Daemon, append, failures, rand_u64, setup};
use crate::util::geoip::{Builder, V, map};
use crate::util::wait_for;

/// A GeoLite2-City and a GeoLite2-ASN database describing 203.0.113.0/24
/// (the address of [`failures`]).
fn write_geoip(dir: &Path) {
    let mut city = Builder::new("GeoLite2-City");
    city.insert(
        "203.0.113.0/24",
        map(&[
            ("country", map(&[("iso_code", V::Str("JP"))])),
            ("city", map(&[("names", map(&[("en", V::Str("Osaka"))]))])),
        ]),
    );
    fs::write(dir.join("city.mmdb"), city.build()).unwrap();
    let mut asn = Builder::new("GeoLite2-ASN");
    asn.insert(
        "203.0.113.0/24",
        map(&[
            ("autonomous_system_number", V::U32(64511)),
            ("autonomous_system_organization", V::Str("Example Transit")),
        ]),
    );
    fs::write(dir.join("asn.mmdb"), asn.build()).unwrap();
}

/// Prepends top-level keys to the test config and appends tables.
fn configure(dir: &Path, top: &str, tables: &str) {
    let cfg = fs::read_to_string(dir.join("loginwatch.toml")).unwrap();
    fs::write(dir.join("loginwatch.toml"), format!("{top}{cfg}{tables}")).unwrap();
}

#[test]
fn an_alert_quotes_escaped_sample_lines_and_the_source_country_and_asn() {
    let dir = setup("30m");
    let d = dir.path();
    write_geoip(d);
    configure(
        d,
        "geoip = [\"city.mmdb\", \"asn.mmdb\"]\n",
        "[alert]\nsamples = 3\n[[alert.sink]]\nname = \"siem\"\ntype = \"file\"\npath = \"alerts.jsonl\"\n",
    );
    let daemon = Daemon::start(d);
    // An attacker-chosen user name that would drive a terminal.
    let user = "eve\u{1b}[31mred";
    append(&d.join("auth.log"), &failures(user, 5, 700));
    let alert = wait_for(
        "the alert in the sink file",
        Duration::from_secs(30),
        || {
            fs::read_to_string(d.join("alerts.jsonl"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|v| v["rule.name"] == "account-lockout")
        },
    );
    let samples: Vec<&str> = alert["loginwatch.samples"]
        .as_array()
        .unwrap_or_else(|| panic!("no samples: {alert}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(samples.len(), 3, "{alert}");
    for s in &samples {
        assert!(
            s.contains("Failed password for eve\\u{1b}[31mred from 203.0.113.9"),
            "{s}"
        );
        assert!(!s.contains('\u{1b}'));
    }
    // The most recent lines: the last three of the five (ports 40002..40004).
    assert!(samples[2].contains("port 40004"), "{samples:?}");
    assert!(samples[0].contains("port 40002"), "{samples:?}");
    assert_eq!(alert["source.geo.country_iso_code"], "JP", "{alert}");
    assert_eq!(alert["source.geo.city_name"], "Osaka", "{alert}");
    assert_eq!(alert["source.as.number"], 64511, "{alert}");
    assert_eq!(alert["source.as.organization.name"], "Example Transit");
    assert_eq!(alert["source.ip"], "203.0.113.9");
    drop(daemon);
}

/// What the receiver got: `(Idempotency-Key, body)` per request.
type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// A minimal HTTP/1.1 receiver on `port` answering 200 to every POST and
/// recording it. Runs until the process ends (the test binary's).
fn receiver(port: u16) -> Received {
    let got: Received = Arc::default();
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let g = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            if let Some(req) = read_request(conn) {
                g.lock().unwrap().push(req);
            }
        }
    });
    got
}

fn read_request(mut conn: TcpStream) -> Option<(String, Value)> {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut r = BufReader::new(conn.try_clone().ok()?);
    let (mut len, mut key) = (0usize, String::new());
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => len = value.trim().parse().ok()?,
                "idempotency-key" => key = value.trim().to_string(),
                _ => {}
            }
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .ok()?;
    Some((key, serde_json::from_slice(&body).ok()?))
}

/// A loopback port with nothing listening on it (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `rule:target` of a decision as `replay --json` writes it: its alert key.
fn alert_key(d: &Value) -> String {
    let t = &d["target"];
    let parts: Vec<String> = ["user", "ip", "net"]
        .iter()
        .filter_map(|k| t[*k].as_str().map(|v| format!("{k}={v}")))
        .collect();
    format!("{}:{}", d["rule"].as_str().unwrap(), parts.join(" "))
}

/// The decisions of an uninterrupted replay of `log`.
fn replay(dir: &Path, log: &Path) -> Vec<Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args([
            "replay", "--json", "--format", "sshd", "--tz", "UTC", "--rules",
        ])
        .arg(dir.join("rules"))
        .arg(log)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "decision")
        .collect()
}

#[test]
fn kill_9_with_alerts_in_the_outbox_loses_none() {
    let dir = setup("30m");
    let d = dir.path();
    let log = d.join("auth.log");
    let lines = generate(11, 4000);
    let full = d.join("full.log");
    fs::write(
        &full,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let expected = replay(d, &full);
    assert!(
        expected.len() >= 5,
        "the log fires rules: {}",
        expected.len()
    );
    // Per alert key, the latest decision (by time, then id): what the key's
    // last delivered alert must report.
    let mut latest: BTreeMap<String, (String, String)> = BTreeMap::new();
    for e in &expected {
        let at = e["at"].as_str().unwrap().to_string();
        let id = e["id"].as_str().unwrap().to_string();
        let slot = latest.entry(alert_key(e)).or_default();
        if (at.clone(), id.clone()) > *slot {
            *slot = (at, id);
        }
    }
    let ids: BTreeSet<String> = expected
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();

    let port = free_port();
    configure(
        d,
        "",
        &format!(
            "[alert]\n[[alert.sink]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{port}/hook\"\n"
        ),
    );
    // Ingest in bursts, killed at random points (the receiver is not there).
    let mut rng = Rng(rand_u64());
    let mut daemon = Daemon::start(d);
    let mut kills = 0;
    for (i, chunk) in lines.chunks(100).enumerate() {
        append(&log, chunk);
        std::thread::sleep(Duration::from_millis(rng.below(50)));
        if rng.below(8) == 0 || i % 10 == 5 {
            daemon.kill9();
            kills += 1;
            daemon = Daemon::start(d);
        }
    }
    assert!(kills >= 2, "killed only {kills} times");
    // Every decision committed, its alerts pending in the outbox: kill -9 now.
    wait_for("all decisions", Duration::from_secs(60), || {
        (daemon.decisions(false).len() >= expected.len()).then_some(())
    });
    wait_for(
        "alerts pending in the outbox",
        Duration::from_secs(30),
        || (daemon.metric("loginwatch_alert_outbox_depth{sink=\"hook\"}") > 0.0).then_some(()),
    );
    daemon.kill9();

    // The receiver comes up; a restarted daemon delivers what is pending (after
    // the backoff the failures so far earned, which the outbox remembers).
    let got = receiver(port);
    let daemon = Daemon::start(d);
    let delivered = wait_for(
        "every alert key delivered with its latest decision",
        Duration::from_secs(240),
        || {
            let g = got.lock().unwrap().clone();
            let mut last: BTreeMap<String, (String, String)> = BTreeMap::new();
            for (_, body) in &g {
                let key = body["loginwatch.alert.key"].as_str()?.to_string();
                let dec = &body["loginwatch.decision"];
                let at_id = (
                    dec["at"].as_str()?.to_string(),
                    dec["id"].as_str()?.to_string(),
                );
                let slot = last.entry(key).or_default();
                if at_id > *slot {
                    *slot = at_id;
                }
            }
            (last == latest).then_some(g)
        },
    );
    // Nothing else arrives: no decision the replay did not make, and a
    // repeated idempotency key always carries the same alert. Checked once
    // the outbox is empty (a row leaves it only when its delivery is
    // confirmed), so nothing is left that could still arrive.
    wait_for("the outbox to drain", Duration::from_secs(60), || {
        (daemon.metric("loginwatch_alert_outbox_depth{sink=\"hook\"}") == 0.0).then_some(())
    });
    let all = got.lock().unwrap().clone();
    // At least once: a delivery cut by a kill may come again, never fewer.
    assert!(all.len() >= delivered.len());
    let mut by_key: BTreeMap<&str, &Value> = BTreeMap::new();
    for (key, body) in &all {
        assert!(key.starts_with("lw-"), "idempotency key {key:?}");
        let id = body["loginwatch.decision"]["id"].as_str().unwrap();
        assert!(
            ids.contains(id),
            "alert for a decision replay did not make: {body}"
        );
        if let Some(prev) = by_key.insert(key, body) {
            assert_eq!(prev, body, "the same idempotency key with another alert");
        }
    }
}
