//! Tests of the `[alert]` configuration.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::alert::outbox::RateLimit;
use crate::config::load_text;
use crate::decision::Severity;

fn load(text: &str) -> Result<crate::config::Config, crate::config::ConfigErrors> {
    let env = |k: &str| (k == "HOOK_SECRET").then(|| "s3cret\n".to_owned());
    load_text(text, Path::new("/etc/loginwatch/loginwatch.toml"), &env)
}

#[test]
fn a_full_alert_section_validates() {
    let c = load(
        r#"
[alert]
language = "ja"
[[alert.sink]]
name = "am"
type = "alertmanager"
url = "http://127.0.0.1:9093/"
severities = ["high", "critical"]
[[alert.sink]]
name = "hook"
type = "webhook"
url = "https://example.test/hook"
format = "slack"
secret_env = "HOOK_SECRET"
headers = { Authorization = "Bearer x" }
rate_limit = { max = 20, per = "1m" }
language = "en"
[[alert.sink]]
name = "mail"
type = "email"
host = "smtp.example.test"
from = "loginwatch@example.test"
to = ["sec@example.test"]
[[alert.sink]]
name = "siem"
type = "file"
path = "alerts.jsonl"
[[alert.sink]]
name = "log"
type = "syslog"
address = "udp:127.0.0.1:514"
facility = "local3"
"#,
    )
    .unwrap();
    let a = &c.alert;
    assert_eq!(a.language, Language::Ja);
    assert_eq!(a.sinks.len(), 5);
    assert_eq!(a.sinks[0].language, Language::Ja);
    assert_eq!(
        a.sinks[0].filter.severities,
        [Severity::High, Severity::Critical]
    );
    let TransportConfig::Alertmanager(h) = &a.sinks[0].transport else {
        panic!()
    };
    assert_eq!(h.url, "http://127.0.0.1:9093");
    assert_eq!(a.sinks[1].format, SinkFormat::Slack);
    assert_eq!(a.sinks[1].language, Language::En);
    assert_eq!(
        a.sinks[1].rate_limit,
        Some(RateLimit {
            max: 20,
            per: Duration::from_secs(60)
        })
    );
    let TransportConfig::Webhook { secret, http } = &a.sinks[1].transport else {
        panic!()
    };
    assert_eq!(secret.as_deref(), Some("s3cret"));
    assert_eq!(
        http.headers,
        [("Authorization".to_owned(), "Bearer x".to_owned())]
    );
    let TransportConfig::Email(m) = &a.sinks[2].transport else {
        panic!()
    };
    assert_eq!(
        (m.port, &m.tls),
        (587, &SmtpTls::StartTls(TlsTrust::default()))
    );
    assert_eq!(
        a.sinks[3].transport,
        TransportConfig::File(FileTarget::Path("/etc/loginwatch/alerts.jsonl".into()))
    );
    let TransportConfig::Syslog(s) = &a.sinks[4].transport else {
        panic!()
    };
    assert_eq!(s.facility, 19);
}

#[test]
fn every_mistake_is_reported_with_its_line() {
    let e = load(
        r#"
[alert]
language = "fr"
[[alert.sink]]
name = "a b"
type = "webhook"
url = "ftp://x"
severities = ["urgent"]
secret_env = "MISSING"
host = "smtp"
[[alert.sink]]
name = "m"
type = "email"
rate_limit = { max = 0, per = "1m" }
[[alert.sink]]
name = "q"
type = "pigeon"
"#,
    )
    .unwrap_err();
    let lines: Vec<_> = e.0.iter().map(|e| (e.line, e.message.clone())).collect();
    let has = |line: usize, needle: &str| {
        lines
            .iter()
            .any(|(l, m)| *l == Some(line) && m.contains(needle))
    };
    assert!(has(3, "unknown language \"fr\""), "{lines:?}");
    assert!(has(5, "sink name \"a b\""), "{lines:?}");
    assert!(has(7, "url \"ftp://x\""), "{lines:?}");
    assert!(has(8, "unknown \"urgent\""), "{lines:?}");
    assert!(has(9, "not set"), "{lines:?}");
    assert!(
        has(10, "host is not a setting of a webhook sink"),
        "{lines:?}"
    );
    assert!(has(14, "rate_limit.max"), "{lines:?}");
    assert!(
        lines.iter().any(|(_, m)| m.contains("needs `to`")),
        "{lines:?}"
    );
    assert!(has(17, "unknown sink type \"pigeon\""), "{lines:?}");
}

#[test]
fn filters_match_severity_rule_and_action() {
    let f = SinkFilter {
        severities: vec![Severity::High],
        rules: vec!["brute-force".into()],
        actions: vec![],
    };
    let mut d = crate::test_support::decision();
    assert!(!f.accepts(&d));
    d.severity = Severity::High;
    assert!(f.accepts(&d));
    d.rule = "other".into();
    assert!(!f.accepts(&d));
    assert!(SinkFilter::default().accepts(&d));
}

/// A self-signed CA certificate in PEM.
fn ca_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.self_signed(&key).unwrap().pem()
}

fn email_sink(extra: &str) -> String {
    format!(
        "[alert]\n[[alert.sink]]\nname = \"m\"\ntype = \"email\"\nhost = \"mail.example.test\"\n\
         from = \"lw@example.test\"\nto = [\"sec@example.test\"]\n{extra}\n"
    )
}

#[test]
fn a_ca_file_is_trusted_in_addition_to_the_web_roots() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem() + &ca_pem()).unwrap();
    let c = load(&email_sink(&format!(
        "tls = \"tls\"\nca_file = {:?}",
        ca.display().to_string()
    )))
    .unwrap();
    let TransportConfig::Email(m) = &c.alert.sinks[0].transport else {
        panic!()
    };
    let SmtpTls::Tls(t) = &m.tls else {
        panic!("{:?}", m.tls)
    };
    assert_eq!((m.port, t.extra_roots.len()), (465, 2));
}

#[test]
fn a_bad_ca_file_is_a_config_error_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    std::fs::write(p("empty.pem"), "just some text\n").unwrap();
    std::fs::write(
        p("garbage.pem"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(p("ok.pem"), ca_pem()).unwrap();
    let cases = [
        (format!("ca_file = {:?}", p("missing.pem")), "cannot read"),
        (
            format!("ca_file = {:?}", p("empty.pem")),
            "no \"BEGIN CERTIFICATE\"",
        ),
        (
            format!("ca_file = {:?}", p("garbage.pem")),
            "not a usable CA",
        ),
        (
            format!("tls = \"none\"\nca_file = {:?}", p("ok.pem")),
            "ca_file needs tls",
        ),
    ];
    for (extra, needle) in cases {
        let text = email_sink(&extra);
        let e = load(&text).unwrap_err();
        let line = text.lines().position(|l| l.starts_with("ca_file")).unwrap() + 1;
        assert!(
            e.0.iter()
                .any(|e| e.line == Some(line) && e.message.contains(needle)),
            "{extra}: {:?}",
            e.0
        );
    }
    let e = load(
        "[alert]\n[[alert.sink]]\nname = \"f\"\ntype = \"file\"\npath = \"x\"\nca_file = \"ca.pem\"\n",
    )
    .unwrap_err();
    assert!(
        e.0.iter().any(|e| e.line == Some(6)
            && e.message
                .contains("ca_file is not a setting of a file sink")),
        "{:?}",
        e.0
    );
}

#[test]
fn samples_default_zero_and_bounds() {
    let c = load("").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.alert.samples, DEFAULT_SAMPLES);
    let c = load("[alert]\nsamples = 0\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.alert.samples, 0);
    let e = load("[alert]\nsamples = -1\n\n[alert.x]\n").err();
    assert!(e.is_some());
    let e = load("[alert]\nlanguage = \"en\"\nsamples = 500\n")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("alert samples: 500") && e.contains(":3"), "{e}");
}
