//! The validated alerting configuration: the sinks, their transports and
//! filters, as the alert module uses them. `config::alerts` reads the TOML
//! and builds these (as `config::actions` builds `action`'s types), so the
//! alert module never imports the config loader.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::outbox::RateLimit;
use crate::decision::{Decision, DecisionAction, Severity};

/// Alert language: the renderer's own type, so config and templates agree.
pub use super::Language;

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

/// SMTP transport security. The trust settings live inside the TLS
/// variants, so a CA file for a plain connection cannot be expressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP (loopback relays only, advisedly).
    None,
    /// STARTTLS upgrade, required (port 587): nothing, not even the
    /// credentials, is sent unless the upgrade succeeds.
    StartTls(TlsTrust),
    /// TLS from the first byte (port 465).
    Tls(TlsTrust),
}

/// Which server certificates an SMTP sink accepts: those chaining to the
/// web's public roots, plus any CA certificate of the `ca_file` (a site's
/// own relay usually has a certificate from a private CA).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsTrust {
    /// The extra trusted CA certificates, DER-encoded (read and checked at
    /// load, so a broken file is a configuration error, not a failed alert).
    pub extra_roots: Vec<Vec<u8>>,
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
#[derive(Debug, Clone, PartialEq)]
pub struct AlertConfig {
    pub language: Language,
    /// Zone of the times in alerts (`None`: the host's).
    pub zone: Option<crate::parse::Zone>,
    /// Sample log lines an alert carries at most (0: none, and none are kept).
    pub samples: usize,
    pub sinks: Vec<SinkConfig>,
}

/// Default of `[alert] samples`: enough lines to see the pattern, few enough
/// for a chat message.
pub const DEFAULT_SAMPLES: usize = 5;

/// Upper bound of `[alert] samples`: more is a wall of text, not evidence.
pub const MAX_SAMPLES: usize = 50;

impl Default for AlertConfig {
    fn default() -> AlertConfig {
        AlertConfig {
            language: Language::default(),
            zone: None,
            samples: DEFAULT_SAMPLES,
            sinks: Vec::new(),
        }
    }
}

/// Default timeout of one delivery attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
