//! Alert delivery against real receivers: a local HTTP receiver that fails and
//! then recovers, a real Alertmanager fed by the real daemon (its own renderer
//! and sink), a real SMTP server (Python's aiosmtpd),
//! the JSON-lines file sink with a rate limit, and an outbox that is dropped
//! mid-way and reopened. Tests needing a program that is not installed record
//! a skip (scripts/test.sh installs them; a skip fails CI).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use loginwatch::alert::outbox::{Backoff, Outbox, RateLimit};
use loginwatch::alert::sink::{self, Sink};
use loginwatch::alert::{AlertStatus, Payload};
use loginwatch::config::alerts::{
    FileTarget, HttpTarget, SinkConfig, SinkFilter, SinkFormat, SmtpConfig, SmtpTls,
    TransportConfig,
};
use loginwatch::state::Store;

const DEADLINE: Duration = Duration::from_secs(60);

/// Kills and reaps a child process on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

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

fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn get_json(url: &str) -> Option<serde_json::Value> {
    let mut resp = ureq::get(url).call().ok()?;
    let text = resp.body_mut().read_to_string().ok()?;
    serde_json::from_str(&text).ok()
}

fn start_alertmanager(dir: &Path) -> (Proc, String) {
    let cfg = dir.join("alertmanager.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n",
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let proc = Proc(child);
    wait_for("alertmanager", || {
        ureq::get(&format!("{base}/-/ready")).call().is_ok()
    });
    (proc, base)
}

#[test]
fn alertmanager_receives_an_alert_and_its_resolution() {
    if !have("prometheus-alertmanager", &["--version"]) {
        crate::util::skip(
            "alertmanager",
            "alertmanager_receives_an_alert_and_its_resolution",
            "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)",
        );
        return;
    }
    // The real daemon, its own renderer and sink: an account lock, then an
    // admin unlock (with the CLI, through the running daemon) long before
    // the lock's end, which only the resolution can explain.
    let am_dir = tempfile::tempdir().unwrap();
    let (_am, base) = start_alertmanager(am_dir.path());
    let dir = crate::daemon::setup("1h");
    let d = dir.path();
    crate::daemon::add_config(
        d,
        &format!("[[alert.sink]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = \"{base}\"\n"),
    );
    let daemon = crate::daemon::Daemon::start(d);
    crate::daemon::append(
        &d.join("auth.log"),
        &crate::daemon::failures("alice", 5, 900),
    );
    let alerts_url = format!("{base}/api/v2/alerts");
    let find = || {
        get_json(&alerts_url)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .find(|a| a["labels"]["user"] == "alice")
    };
    wait_for("the alert in Alertmanager", || find().is_some());
    let a = find().unwrap();
    let decision = daemon
        .decisions(true)
        .into_iter()
        .find(|x| x["target"]["user"] == "alice")
        .unwrap();
    let id = decision["id"].as_str().unwrap();
    assert_eq!(a["labels"]["alertname"], "loginwatch");
    assert_eq!(a["labels"]["rule"], "account-lockout");
    assert_eq!(a["labels"]["action"], "lock_account");
    assert_eq!(a["labels"]["mode"], "recommend");
    assert_eq!(a["annotations"]["decision_id"], id);
    assert_eq!(a["status"]["state"], "active");
    // endsAt is the lock's end, an hour on (Alertmanager keeps it to the ms).
    let ends = DateTime::parse_from_rfc3339(a["endsAt"].as_str().unwrap()).unwrap();
    let until = DateTime::parse_from_rfc3339(decision["until"].as_str().unwrap()).unwrap();
    assert_eq!(ends.timestamp_millis(), until.timestamp_millis());

    let out = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args([
            "decisions",
            "unlock",
            id,
            "--by",
            "helpdesk",
            "--reason",
            "verified",
        ])
        .arg("--config")
        .arg(d.join("loginwatch.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Alertmanager's API lists only alerts whose end is not past: the
    // resolution (endsAt = the unlock) takes it out, 59 minutes early.
    wait_for("the resolution in Alertmanager", || find().is_none());
    assert!(get_json(&alerts_url).is_some_and(|v| v.is_array()));
    // The counter moves just after the delivery Alertmanager shows: poll it.
    let delivered = || daemon.metric("loginwatch_alerts_total{result=\"delivered\",sink=\"am\"}");
    wait_for("two deliveries counted", || delivered() >= 2.0);
    assert_eq!(delivered(), 2.0, "the firing alert and its resolution");
}

const SMTP_HANDLER: &str = r#"
import email, json, os
from email import policy

class Handler:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(*args)

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        self.n += 1
        rec = {
            "subject": str(msg["subject"]),
            "body": msg.get_body(preferencelist=("plain",)).get_content(),
            "message_id": str(msg["message-id"]),
            "idempotency": str(msg["x-loginwatch-idempotency-key"]),
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
        }
        tmp = os.path.join(self.outdir, ".%d.tmp" % self.n)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(rec, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(self.outdir, "%d.json" % self.n))
        return "250 OK"
"#;

#[test]
fn email_reaches_a_real_smtp_server_in_english_and_japanese() {
    if !have("python3", &["-c", "import aiosmtpd"]) {
        crate::util::skip(
            "aiosmtpd",
            "email_reaches_a_real_smtp_server_in_english_and_japanese",
            "Python's aiosmtpd is not installed (pip install aiosmtpd)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    std::fs::write(dir.path().join("mailsink.py"), SMTP_HANDLER).unwrap();
    let port = free_port();
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "mailsink.Handler"])
        .arg(&mail)
        .env("PYTHONPATH", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _smtp = Proc(child);
    wait_for("the SMTP server", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let sinks = [build(
        "mail",
        SinkFormat::Email,
        TransportConfig::Email(SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            credentials: None,
            from: "loginwatch@example.test".into(),
            to: vec!["security@example.test".into()],
            timeout: Duration::from_secs(10),
        }),
    )];
    let mut o = Outbox::new(Store::open(&dir.path().join("s.db")).unwrap());
    let now = Utc::now();
    let en = Payload::Email {
        subject: "[loginwatch] alice locked (brute-force)".into(),
        text: "Account alice was locked after 10 failed logins.\n".into(),
        html: None,
    };
    let ja = Payload::Email {
        subject: "[loginwatch] アカウント alice をロックしました".into(),
        text: "アカウント alice は 10 回のログイン失敗によりロックされました。\nCaps Lock と全角入力を確認してください。\n".into(),
        html: Some("<p>アカウント alice</p>".into()),
    };
    o.enqueue("mail", "en", AlertStatus::Firing, &en, now)
        .unwrap();
    o.enqueue("mail", "ja", AlertStatus::Firing, &ja, now)
        .unwrap();
    drain(&mut o, &sinks, now);
    wait_for("two messages", || {
        std::fs::read_dir(&mail)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count()
            == 2
    });
    let read = |n: u32| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(mail.join(format!("{n}.json"))).unwrap())
            .unwrap()
    };
    let (m1, m2) = (read(1), read(2));
    assert_eq!(m1["subject"], "[loginwatch] alice locked (brute-force)");
    // Mail bodies travel with CRLF line ends (and a final line end added).
    let body = |m: &serde_json::Value| {
        m["body"]
            .as_str()
            .unwrap()
            .replace("\r\n", "\n")
            .trim_end()
            .to_owned()
    };
    assert_eq!(
        body(&m1),
        "Account alice was locked after 10 failed logins."
    );
    assert_eq!(m1["from"], "loginwatch@example.test");
    assert_eq!(m1["to"], serde_json::json!(["security@example.test"]));
    assert_eq!(
        m2["subject"],
        "[loginwatch] アカウント alice をロックしました"
    );
    assert_eq!(
        body(&m2),
        "アカウント alice は 10 回のログイン失敗によりロックされました。\nCaps Lock と全角入力を確認してください。"
    );
    // The Message-ID carries the idempotency key.
    let idem = m2["idempotency"].as_str().unwrap();
    assert!(idem.starts_with("lw-"), "{m2}");
    assert_eq!(m2["message_id"], format!("<{idem}@loginwatch>"));
    assert_ne!(m1["idempotency"], m2["idempotency"]);
}
