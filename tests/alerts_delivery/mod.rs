//! Alert delivery against real receivers: a local HTTP receiver that fails and
//! then recovers, a real Alertmanager fed by the real daemon (its own renderer
//! and sink), a real SMTP server (Python's aiosmtpd),
//! the JSON-lines file sink with a rate limit, and an outbox that is dropped
//! mid-way and reopened. Tests needing a program that is not installed record
//! a skip (scripts/test.sh installs them; a skip fails CI).

mod real_servers;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use loginwatch::alert::outbox::{Backoff, Outbox, RateLimit};
use loginwatch::alert::sink::{self, Sink};
use loginwatch::alert::{AlertStatus, Payload};
use loginwatch::config::alerts::{
    FileTarget, HttpTarget, SinkConfig, SinkFilter, SinkFormat, SmtpConfig, SmtpTls,
    TransportConfig,
};
use loginwatch::state::Store;

use crate::util::{Proc, free_port, wait_until};

const DEADLINE: Duration = Duration::from_secs(60);

fn build(name: &str, format: SinkFormat, transport: TransportConfig) -> Sink {
    let c = SinkConfig {
        name: name.into(),
        format,
        language: Default::default(),
        filter: SinkFilter::default(),
        rate_limit: None,
        transport,
    };
    sink::build(&[c]).unwrap().pop().unwrap()
}

fn http_target(url: String) -> HttpTarget {
    HttpTarget {
        url,
        headers: vec![("X-Tenant".into(), "ops".into())],
        timeout: Duration::from_secs(10),
    }
}

fn json_payload(v: serde_json::Value) -> Payload {
    Payload::Http {
        content_type: "application/json".into(),
        headers: Vec::new(),
        body: v.to_string().into_bytes(),
    }
}

/// Delivers until nothing is due, advancing the injected clock (so backoff
/// costs no real time).
fn drain(o: &mut Outbox, sinks: &[Sink], mut now: DateTime<Utc>) -> DateTime<Utc> {
    for _ in 0..1000 {
        o.deliver_due(sinks, None, now).unwrap();
        if o.depth().unwrap().is_empty() {
            return now;
        }
        now += TimeDelta::seconds(10);
    }
    panic!("the outbox never drained: {:?}", o.depth().unwrap());
}

/// One request as the test receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    answered: u16,
}

/// An HTTP receiver answering 500 to the first `fail` requests, then 200.
fn receiver(fail: usize) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(conn) = conn else { continue };
            let mut r = BufReader::new(conn);
            let mut headers = BTreeMap::new();
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(':') {
                    headers.insert(k.to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_err() {
                continue;
            }
            let mut all = s2.lock().unwrap();
            let answered = if all.len() < fail { 500 } else { 200 };
            all.push(Seen {
                headers,
                body,
                answered,
            });
            drop(all);
            let mut conn: TcpStream = r.into_inner();
            let _ = write!(
                conn,
                "HTTP/1.1 {answered} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, seen)
}

#[test]
fn a_failing_then_recovering_webhook_loses_nothing_and_keys_are_stable() {
    let (url, seen) = receiver(4);
    let secret = "shared-secret";
    let hook = build(
        "hook",
        SinkFormat::Json,
        TransportConfig::Webhook {
            http: http_target(url),
            secret: Some(secret.into()),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let sinks = [hook];
    let t0 = Utc::now();
    let mut o = Outbox::new(Store::open(&path).unwrap()).with_backoff(Backoff {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(30),
    });
    for i in 0..6 {
        let p = json_payload(serde_json::json!({"key": format!("k{i}"), "v": 1}));
        o.enqueue("hook", &format!("k{i}"), AlertStatus::Firing, &p, t0)
            .unwrap();
    }
    // Two failing passes, then the process "dies": the outbox is dropped
    // without finishing, and a new one reopens the file.
    o.deliver_due(&sinks, None, t0).unwrap();
    o.deliver_due(&sinks, None, t0 + TimeDelta::seconds(60))
        .unwrap();
    drop(o);
    let mut o = Outbox::new(Store::open(&path).unwrap());
    // An update of k0 and the resolution of k1 arrive meanwhile.
    let p = json_payload(serde_json::json!({"key": "k0", "v": 2}));
    o.enqueue("hook", "k0", AlertStatus::Firing, &p, t0)
        .unwrap();
    let p = json_payload(serde_json::json!({"key": "k1", "v": "resolved"}));
    o.enqueue("hook", "k1", AlertStatus::Resolved, &p, t0)
        .unwrap();
    drain(&mut o, &sinks, t0 + TimeDelta::seconds(120));

    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().filter(|s| s.answered == 500).count() >= 2);
    let ok: Vec<&Seen> = seen.iter().filter(|s| s.answered == 200).collect();
    let bodies: BTreeSet<String> = ok
        .iter()
        .map(|s| String::from_utf8(s.body.clone()).unwrap())
        .collect();
    for i in 2..6 {
        assert!(
            bodies.contains(&format!(r#"{{"key":"k{i}","v":1}}"#)),
            "k{i} lost: {bodies:?}"
        );
    }
    assert!(bodies.contains(r#"{"key":"k0","v":2}"#), "{bodies:?}");
    assert!(
        bodies.contains(r#"{"key":"k1","v":"resolved"}"#),
        "{bodies:?}"
    );
    // Every body (across failures and the restart) always had one key, and
    // every key one body.
    let mut key_of: BTreeMap<Vec<u8>, BTreeSet<String>> = BTreeMap::new();
    let mut body_of: BTreeMap<String, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for s in &seen {
        let k = s.headers["idempotency-key"].clone();
        key_of.entry(s.body.clone()).or_default().insert(k.clone());
        body_of.entry(k).or_default().insert(s.body.clone());
        // The signature verifies, and the configured header came along.
        assert_eq!(
            s.headers["x-loginwatch-signature"],
            loginwatch::alert::sink::webhook::signature(secret.as_bytes(), &s.body)
        );
        assert_eq!(s.headers["x-tenant"], "ops");
        assert_eq!(s.headers["content-type"], "application/json");
    }
    assert!(key_of.values().all(|k| k.len() == 1), "{key_of:?}");
    assert!(body_of.values().all(|b| b.len() == 1), "{body_of:?}");
    // Nothing delivered twice once accepted.
    assert_eq!(ok.len(), bodies.len(), "{ok:?}");
}

#[test]
fn a_dropped_outbox_delivers_its_rows_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let out = dir.path().join("alerts.jsonl");
    let now = Utc::now();
    {
        let mut o = Outbox::new(Store::open(&path).unwrap());
        for i in 0..3 {
            let p = Payload::Line {
                text: format!("{{\"n\":{i}}}"),
            };
            o.enqueue("siem", &format!("k{i}"), AlertStatus::Firing, &p, now)
                .unwrap();
        }
        // Dropped here, nothing delivered: as after a kill -9.
    }
    assert!(!out.exists());
    let sinks = [build(
        "siem",
        SinkFormat::JsonLines,
        TransportConfig::File(FileTarget::Path(out.clone())),
    )];
    let mut o = Outbox::new(Store::open(&path).unwrap());
    assert_eq!(o.depth().unwrap(), [("siem".to_owned(), 3)]);
    drain(&mut o, &sinks, now);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n"
    );
}

#[test]
fn a_tripped_rate_limit_sends_one_summary_when_it_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.jsonl");
    let mut s = build(
        "siem",
        SinkFormat::JsonLines,
        TransportConfig::File(FileTarget::Path(out.clone())),
    );
    s.rate_limit = Some(RateLimit {
        max: 3,
        per: Duration::from_secs(60),
    });
    let sinks = [s];
    let mut o = Outbox::new(Store::open(&dir.path().join("s.db")).unwrap());
    let t0 = Utc::now();
    for i in 0..10 {
        let p = Payload::Line {
            text: format!("{{\"n\":{i}}}"),
        };
        o.enqueue("siem", &format!("k{i}"), AlertStatus::Firing, &p, t0)
            .unwrap();
    }
    o.deliver_due(&sinks, None, t0).unwrap();
    let r = o
        .deliver_due(&sinks, None, t0 + TimeDelta::seconds(5))
        .unwrap();
    assert_eq!(r.suppressed, 7);
    let r = o
        .deliver_due(&sinks, None, t0 + TimeDelta::seconds(61))
        .unwrap();
    assert_eq!((r.summaries, r.delivered), (1, 1));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    let summary: serde_json::Value = serde_json::from_str(lines[3]).unwrap();
    assert_eq!(summary["suppressed"], 7);
    assert!(
        summary["message"]
            .as_str()
            .unwrap()
            .starts_with("7 more alerts suppressed")
    );
}
