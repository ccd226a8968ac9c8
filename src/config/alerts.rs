//! The alerting part of the configuration: `[alert]` and its `[[alert.sink]]`
//! tables. Raw forms mirror the TOML; [`alert`] checks them all, reporting
//! every problem with its line, like the rest of the loader.
//!
//! Secrets (webhook HMAC keys, SMTP passwords) are read from a file or an
//! environment variable the config names, never written in it, and read at
//! load time so a missing secret is a configuration error, not a failure at
//! the first alert.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::load::{Cx, resolve};
use crate::alert::outbox::RateLimit;
use crate::decision::{Decision, DecisionAction, Severity};
use crate::rules::Dur;

/// `[alert]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlert {
    pub language: Option<Spanned<String>>,
    #[serde(default)]
    pub sink: Vec<Spanned<RawSink>>,
}

/// One `[[alert.sink]]`: the keys of every sink type (each type uses some).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub language: Option<Spanned<String>>,
    pub severities: Option<Spanned<Vec<String>>>,
    pub rules: Option<Spanned<Vec<String>>>,
    pub actions: Option<Spanned<Vec<String>>>,
    pub rate_limit: Option<Spanned<RawRateLimit>>,
    pub timeout: Option<Spanned<String>>,
    // HTTP (alertmanager, webhook)
    pub url: Option<Spanned<String>>,
    pub headers: Option<Spanned<BTreeMap<String, String>>>,
    pub format: Option<Spanned<String>>,
    pub secret_file: Option<Spanned<String>>,
    pub secret_env: Option<Spanned<String>>,
    // SMTP
    pub host: Option<Spanned<String>>,
    pub port: Option<Spanned<i64>>,
    pub tls: Option<Spanned<String>>,
    pub username: Option<Spanned<String>>,
    pub password_file: Option<Spanned<String>>,
    pub password_env: Option<Spanned<String>>,
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<Vec<String>>>,
    // file
    pub path: Option<Spanned<String>>,
    // syslog
    pub address: Option<Spanned<String>>,
    pub facility: Option<Spanned<String>>,
}

/// `rate_limit = { max = 20, per = "1m" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub max: Spanned<i64>,
    pub per: Spanned<String>,
}

/// Alert language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Language {
    #[default]
    En,
    Ja,
}

impl Language {
    /// Accepted spellings.
    pub const ALL: &'static [&'static str] = &["en", "ja"];
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ja => "ja",
        }
    }
    /// Parses a config spelling.
    pub fn parse(s: &str) -> Option<Language> {
        match s {
            "en" => Some(Language::En),
            "ja" => Some(Language::Ja),
            _ => None,
        }
    }
}

/// How alerts are rendered for a sink (the renderer's choice of template).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkFormat {
    /// Alertmanager API v2 alert list.
    Alertmanager,
    /// Webhook JSON (the decision and its events, ECS names).
    Json,
    /// Slack-compatible `text` + `blocks`.
    Slack,
    /// Plain text (Microsoft Teams / LINE WORKS bots).
    Text,
    /// An e-mail.
    Email,
    /// One JSON object per line (file, stdout).
    JsonLines,
    /// A syslog message.
    Syslog,
}

/// Which decisions a sink receives; an empty list accepts everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SinkFilter {
    pub severities: Vec<Severity>,
    pub rules: Vec<String>,
    pub actions: Vec<DecisionAction>,
}

impl SinkFilter {
    /// Whether alerts about `d` go to this sink.
    pub fn accepts(&self, d: &Decision) -> bool {
        (self.severities.is_empty() || self.severities.contains(&d.severity))
            && (self.rules.is_empty() || self.rules.iter().any(|r| **r == *d.rule))
            && (self.actions.is_empty() || self.actions.contains(&d.action))
    }
}

/// An HTTP receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpTarget {
    pub url: String,
    /// Extra request headers (e.g. `Authorization`).
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
}

/// SMTP transport security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP (loopback relays only, advisedly).
    None,
    /// STARTTLS upgrade, required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// An SMTP server and the envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// User name and password, when the server wants authentication.
    pub credentials: Option<(String, String)>,
    pub from: String,
    pub to: Vec<String>,
    pub timeout: Duration,
}

/// Where JSON lines go.
#[derive(Debug, Clone, PartialEq)]
pub enum FileTarget {
    Stdout,
    Path(PathBuf),
}

/// Where syslog messages go.
#[derive(Debug, Clone, PartialEq)]
pub enum SyslogTarget {
    /// RFC 5426 UDP, e.g. `udp:127.0.0.1:514`.
    Udp(SocketAddr),
    /// A local datagram socket (`/dev/log`, the default).
    Unix(PathBuf),
}

/// A syslog destination.
#[derive(Debug, Clone, PartialEq)]
pub struct SyslogConfig {
    pub target: SyslogTarget,
    /// Facility number (authpriv = 10 by default).
    pub facility: u8,
}

/// How a sink's payloads travel.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportConfig {
    /// Base URL of an Alertmanager (`/api/v2/alerts` is appended).
    Alertmanager(HttpTarget),
    /// POST to a URL, signed when a secret is configured.
    Webhook {
        http: HttpTarget,
        secret: Option<String>,
    },
    Email(SmtpConfig),
    File(FileTarget),
    Syslog(SyslogConfig),
}

/// One validated sink.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkConfig {
    /// Unique; used in outbox rows and metric labels.
    pub name: String,
    pub format: SinkFormat,
    pub language: Language,
    pub filter: SinkFilter,
    pub rate_limit: Option<RateLimit>,
    pub transport: TransportConfig,
}

/// `[alert]` validated. The default has no sink: nothing is sent anywhere
/// until an operator says where.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertConfig {
    pub language: Language,
    pub sinks: Vec<SinkConfig>,
}

/// Default timeout of one delivery attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Every sink type, for messages.
const TYPES: &[&str] = &[
    "alertmanager",
    "webhook",
    "email",
    "file",
    "stdout",
    "syslog",
];

/// Validates `[alert]`.
pub(super) fn alert(
    cx: &mut Cx,
    raw: &Spanned<RawAlert>,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> AlertConfig {
    let r = raw.get_ref();
    let language = r
        .language
        .as_ref()
        .map_or(Language::En, |l| language(cx, l));
    let mut sinks: Vec<SinkConfig> = Vec::new();
    for s in &r.sink {
        if let Some(sc) = sink(cx, s, language, base, env) {
            if sinks.iter().any(|o| o.name == sc.name) {
                cx.err(
                    s.get_ref().name.span(),
                    format!("two sinks are named {:?}", sc.name),
                );
            }
            sinks.push(sc);
        }
    }
    AlertConfig { language, sinks }
}

fn language(cx: &mut Cx, l: &Spanned<String>) -> Language {
    Language::parse(l.get_ref()).unwrap_or_else(|| {
        cx.err(
            l.span(),
            format!(
                "unknown language {:?}: expected one of {}",
                l.get_ref(),
                Language::ALL.join(", ")
            ),
        );
        Language::En
    })
}

/// Parses each element of a list with `parse`, reporting unknown spellings.
fn list<T>(
    cx: &mut Cx,
    key: &str,
    v: &Option<Spanned<Vec<String>>>,
    parse: fn(&str) -> Option<T>,
    all: &[&str],
) -> Vec<T> {
    let Some(v) = v else { return Vec::new() };
    let mut out = Vec::new();
    for s in v.get_ref() {
        match parse(s) {
            Some(t) => out.push(t),
            None => cx.err(
                v.span(),
                format!("{key}: unknown {s:?}: expected one of {}", all.join(", ")),
            ),
        }
    }
    out
}

fn dur(cx: &mut Cx, key: &str, v: &Spanned<String>) -> Option<Duration> {
    match Dur::parse(v.get_ref()) {
        Ok(d) if d.ms() > 0 => Some(Duration::from_millis(u64::try_from(d.ms()).unwrap_or(0))),
        Ok(_) => {
            cx.err(v.span(), format!("{key} must be longer than 0s"));
            None
        }
        Err(m) => {
            cx.err(v.span(), format!("{key}: {m}"));
            None
        }
    }
}

/// Reads a secret from `file` or `env` (exactly one may be set).
fn secret(
    cx: &mut Cx,
    what: &str,
    file: &Option<Spanned<String>>,
    var: &Option<Spanned<String>>,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let (text, span): (Option<String>, Range<usize>) = match (file, var) {
        (Some(_), Some(e)) => {
            cx.err(
                e.span(),
                format!("{what}_file and {what}_env are both set: choose one"),
            );
            return None;
        }
        (Some(f), None) => {
            let p = resolve(base, f.get_ref());
            match std::fs::read_to_string(&p) {
                Ok(t) => (Some(t), f.span()),
                Err(e) => {
                    cx.err(
                        f.span(),
                        format!("{what}_file {}: cannot read: {e}", p.display()),
                    );
                    return None;
                }
            }
        }
        (None, Some(e)) => (env(e.get_ref()), e.span()),
        (None, None) => return None,
    };
    match text.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => Some(t.to_owned()),
        Some(_) => {
            cx.err(span, format!("{what}: the secret is empty"));
            None
        }
        None => {
            cx.err(
                span,
                format!("{what}_env: the environment variable is not set"),
            );
            None
        }
    }
}

/// Reports a key that the sink's type does not use.
fn unused(cx: &mut Cx, kind: &str, keys: &[(&str, Option<Range<usize>>)]) {
    for (k, span) in keys {
        if let Some(s) = span {
            cx.err(s.clone(), format!("{k} is not a setting of a {kind} sink"));
        }
    }
}

fn span<T>(v: &Option<Spanned<T>>) -> Option<Range<usize>> {
    v.as_ref().map(Spanned::span)
}

fn required<'a>(
    cx: &mut Cx,
    kind: &str,
    key: &str,
    v: &'a Option<Spanned<String>>,
    at: Range<usize>,
) -> Option<&'a Spanned<String>> {
    if v.is_none() {
        cx.err(at, format!("a {kind} sink needs `{key}`"));
    }
    v.as_ref()
}

fn http_target(
    cx: &mut Cx,
    kind: &str,
    r: &RawSink,
    at: Range<usize>,
    timeout: Duration,
) -> Option<HttpTarget> {
    let url = required(cx, kind, "url", &r.url, at)?;
    let u = url.get_ref();
    if !(u.starts_with("http://") || u.starts_with("https://")) || u.contains(char::is_whitespace) {
        cx.err(
            url.span(),
            format!("url {u:?}: expected http://... or https://..."),
        );
        return None;
    }
    let mut headers = Vec::new();
    if let Some(h) = &r.headers {
        for (k, v) in h.get_ref() {
            let name_ok = !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b));
            let value_ok = v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
            if !name_ok || !value_ok {
                cx.err(
                    h.span(),
                    format!("headers: {k:?} is not a valid header name and value"),
                );
            } else {
                headers.push((k.clone(), v.clone()));
            }
        }
    }
    Some(HttpTarget {
        url: u.trim_end_matches('/').to_owned(),
        headers,
        timeout,
    })
}

fn facility(s: &str) -> Option<u8> {
    Some(match s {
        "auth" => 4,
        "daemon" => 3,
        "authpriv" => 10,
        "user" => 1,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        _ => return None,
    })
}

/// One `[[alert.sink]]`.
fn sink(
    cx: &mut Cx,
    s: &Spanned<RawSink>,
    default_language: Language,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<SinkConfig> {
    let r = s.get_ref();
    let at = s.span();
    let errors_before = cx.error_count();
    let name = r.name.get_ref();
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !name_ok {
        cx.err(
            r.name.span(),
            format!("sink name {name:?}: 1 to 64 of [A-Za-z0-9._-]"),
        );
    }
    let language = r
        .language
        .as_ref()
        .map_or(default_language, |l| language(cx, l));
    let filter = SinkFilter {
        severities: list(
            cx,
            "severities",
            &r.severities,
            Severity::parse,
            Severity::ALL,
        ),
        rules: r
            .rules
            .as_ref()
            .map_or_else(Vec::new, |v| v.get_ref().clone()),
        actions: list(
            cx,
            "actions",
            &r.actions,
            DecisionAction::parse,
            DecisionAction::ALL,
        ),
    };
    let rate_limit = r.rate_limit.as_ref().and_then(|rl| {
        let raw = rl.get_ref();
        let max = match u32::try_from(*raw.max.get_ref()) {
            Ok(m) if m > 0 => Some(m),
            _ => {
                cx.err(raw.max.span(), "rate_limit.max must be 1 or more");
                None
            }
        };
        let per = dur(cx, "rate_limit.per", &raw.per);
        Some(RateLimit {
            max: max?,
            per: per?,
        })
    });
    let timeout = r
        .timeout
        .as_ref()
        .and_then(|t| dur(cx, "timeout", t))
        .unwrap_or(DEFAULT_TIMEOUT);
    let kind = r.kind.get_ref().as_str();
    let http_keys = [
        ("url", span(&r.url)),
        ("headers", span(&r.headers)),
        ("format", span(&r.format)),
        ("secret_file", span(&r.secret_file)),
        ("secret_env", span(&r.secret_env)),
    ];
    let smtp_keys = [
        ("host", span(&r.host)),
        ("port", span(&r.port)),
        ("tls", span(&r.tls)),
        ("username", span(&r.username)),
        ("password_file", span(&r.password_file)),
        ("password_env", span(&r.password_env)),
        ("from", span(&r.from)),
        ("to", span(&r.to)),
    ];
    let file_keys = [("path", span(&r.path))];
    let syslog_keys = [
        ("address", span(&r.address)),
        ("facility", span(&r.facility)),
    ];
    let (format, transport) = match kind {
        "alertmanager" => {
            unused(cx, kind, &http_keys[2..]);
            unused(cx, kind, &smtp_keys);
            unused(cx, kind, &file_keys);
            unused(cx, kind, &syslog_keys);
            let h = http_target(cx, kind, r, at.clone(), timeout);
            (
                SinkFormat::Alertmanager,
                h.map(TransportConfig::Alertmanager),
            )
        }
        "webhook" => {
            unused(cx, kind, &smtp_keys);
            unused(cx, kind, &file_keys);
            unused(cx, kind, &syslog_keys);
            let format = match r.format.as_ref().map(|f| (f, f.get_ref().as_str())) {
                None | Some((_, "json")) => SinkFormat::Json,
                Some((_, "slack")) => SinkFormat::Slack,
                Some((_, "text")) => SinkFormat::Text,
                Some((f, other)) => {
                    cx.err(
                        f.span(),
                        format!("format {other:?}: expected json, slack or text"),
                    );
                    SinkFormat::Json
                }
            };
            let secret = secret(cx, "secret", &r.secret_file, &r.secret_env, base, env);
            let h = http_target(cx, kind, r, at.clone(), timeout);
            (
                format,
                h.map(|http| TransportConfig::Webhook { http, secret }),
            )
        }
        "email" => {
            unused(cx, kind, &http_keys);
            unused(cx, kind, &file_keys);
            unused(cx, kind, &syslog_keys);
            let tls = match r.tls.as_ref().map(|t| (t, t.get_ref().as_str())) {
                None | Some((_, "starttls")) => SmtpTls::StartTls,
                Some((_, "tls")) => SmtpTls::Tls,
                Some((_, "none")) => SmtpTls::None,
                Some((t, other)) => {
                    cx.err(
                        t.span(),
                        format!("tls {other:?}: expected starttls, tls or none"),
                    );
                    SmtpTls::StartTls
                }
            };
            let port = match &r.port {
                None => Some(match tls {
                    SmtpTls::Tls => 465,
                    SmtpTls::StartTls => 587,
                    SmtpTls::None => 25,
                }),
                Some(p) => u16::try_from(*p.get_ref())
                    .ok()
                    .filter(|p| *p > 0)
                    .or_else(|| {
                        cx.err(
                            p.span(),
                            format!("port {} is not in 1..=65535", p.get_ref()),
                        );
                        None
                    }),
            };
            let password = secret(cx, "password", &r.password_file, &r.password_env, base, env);
            let credentials = match (&r.username, password) {
                (Some(u), Some(p)) => Some((u.get_ref().clone(), p)),
                (None, None) => None,
                (Some(u), None) => {
                    cx.err(u.span(), "username needs password_file or password_env");
                    None
                }
                (None, Some(_)) => {
                    cx.err(at.clone(), "a password needs a username");
                    None
                }
            };
            let mailbox = |cx: &mut Cx, v: &Spanned<String>| {
                let ok = v.get_ref().parse::<lettre::message::Mailbox>().is_ok();
                if !ok {
                    cx.err(
                        v.span(),
                        format!("{:?} is not an e-mail address", v.get_ref()),
                    );
                }
                ok
            };
            let host = required(cx, kind, "host", &r.host, at.clone());
            let from = required(cx, kind, "from", &r.from, at.clone());
            let from_ok = from.is_some_and(|f| mailbox(cx, f));
            let mut to = Vec::new();
            match &r.to {
                Some(t) if !t.get_ref().is_empty() => {
                    for a in t.get_ref() {
                        if a.parse::<lettre::message::Mailbox>().is_ok() {
                            to.push(a.clone());
                        } else {
                            cx.err(t.span(), format!("to: {a:?} is not an e-mail address"));
                        }
                    }
                }
                _ => cx.err(at.clone(), "an email sink needs `to` (one address or more)"),
            }
            let t = match (host, from, port) {
                (Some(h), Some(f), Some(port)) if from_ok => {
                    Some(TransportConfig::Email(SmtpConfig {
                        host: h.get_ref().clone(),
                        port,
                        tls,
                        credentials,
                        from: f.get_ref().clone(),
                        to,
                        timeout,
                    }))
                }
                _ => None,
            };
            (SinkFormat::Email, t)
        }
        "file" | "stdout" => {
            unused(cx, kind, &http_keys);
            unused(cx, kind, &smtp_keys);
            unused(cx, kind, &syslog_keys);
            let t = if kind == "stdout" {
                unused(cx, kind, &file_keys);
                Some(FileTarget::Stdout)
            } else {
                required(cx, kind, "path", &r.path, at.clone()).and_then(|p| {
                    if p.get_ref().is_empty() {
                        cx.err(p.span(), "path is empty");
                        None
                    } else {
                        Some(FileTarget::Path(resolve(base, p.get_ref())))
                    }
                })
            };
            (SinkFormat::JsonLines, t.map(TransportConfig::File))
        }
        "syslog" => {
            unused(cx, kind, &http_keys);
            unused(cx, kind, &smtp_keys);
            unused(cx, kind, &file_keys);
            let target = match &r.address {
                None => Some(SyslogTarget::Unix(PathBuf::from("/dev/log"))),
                Some(a) => match a.get_ref().strip_prefix("udp:") {
                    Some(addr) => addr.parse().map(SyslogTarget::Udp).ok().or_else(|| {
                        cx.err(
                            a.span(),
                            format!("address {:?}: expected udp:IP:PORT", a.get_ref()),
                        );
                        None
                    }),
                    None if a.get_ref().starts_with('/') => {
                        Some(SyslogTarget::Unix(PathBuf::from(a.get_ref())))
                    }
                    None => {
                        cx.err(
                            a.span(),
                            format!(
                                "address {:?}: expected udp:IP:PORT or an absolute socket path",
                                a.get_ref()
                            ),
                        );
                        None
                    }
                },
            };
            let fac = match &r.facility {
                None => Some(10),
                Some(f) => facility(f.get_ref()).or_else(|| {
                    cx.err(
                        f.span(),
                        format!(
                            "facility {:?}: expected auth, authpriv, daemon, user or local0..local7",
                            f.get_ref()
                        ),
                    );
                    None
                }),
            };
            let t = target.zip(fac).map(|(target, facility)| {
                TransportConfig::Syslog(SyslogConfig { target, facility })
            });
            (SinkFormat::Syslog, t)
        }
        other => {
            cx.err(
                r.kind.span(),
                format!(
                    "unknown sink type {other:?}: expected one of {}",
                    TYPES.join(", ")
                ),
            );
            return None;
        }
    };
    if cx.error_count() > errors_before {
        return None;
    }
    Some(SinkConfig {
        name: name.clone(),
        format,
        language,
        filter,
        rate_limit,
        transport: transport?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_text;

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
        assert_eq!((m.port, m.tls), (587, SmtpTls::StartTls));
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
        let mut d = crate::alert::outbox::tests_support::decision();
        assert!(!f.accepts(&d));
        d.severity = Severity::High;
        assert!(f.accepts(&d));
        d.rule = "other".into();
        assert!(!f.accepts(&d));
        assert!(SinkFilter::default().accepts(&d));
    }
}
