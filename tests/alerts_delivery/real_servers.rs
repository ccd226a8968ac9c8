//! Delivery to real servers when they are installed: Alertmanager receives an
//! alert and its resolution, and an SMTP server receives e-mail in English and
//! Japanese (each test skips, saying so, without its server).

use super::*;

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
    wait_until("alertmanager", DEADLINE, || {
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
    let dir = crate::util::daemon::setup("1h");
    let d = dir.path();
    crate::util::daemon::add_config(
        d,
        &format!("[[alert.sink]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = \"{base}\"\n"),
    );
    let daemon = crate::util::daemon::Daemon::start(d);
    crate::util::daemon::append(
        &d.join("auth.log"),
        &crate::util::daemon::failures("alice", 5, 900),
    );
    let alerts_url = format!("{base}/api/v2/alerts");
    let find = || {
        get_json(&alerts_url)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .find(|a| a["labels"]["user"] == "alice")
    };
    wait_until("the alert in Alertmanager", DEADLINE, || find().is_some());
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
    wait_until("the resolution in Alertmanager", DEADLINE, || {
        find().is_none()
    });
    assert!(get_json(&alerts_url).is_some_and(|v| v.is_array()));
    // The counter moves just after the delivery Alertmanager shows: poll it.
    let delivered = || daemon.metric("loginwatch_alerts_total{result=\"delivered\",sink=\"am\"}");
    wait_until("two deliveries counted", DEADLINE, || delivered() >= 2.0);
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
    wait_until("the SMTP server", DEADLINE, || {
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
    wait_until("two messages", DEADLINE, || {
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
