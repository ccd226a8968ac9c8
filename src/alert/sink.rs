//! Sink transports: how a rendered [`Payload`] leaves the host.
//!
//! A transport only moves bytes; rendering (templates, language, time zone)
//! happened before the payload was committed to the outbox, so a retry sends
//! exactly what the first attempt sent. Every transport is blocking (ureq,
//! lettre's SMTP client, std sockets): the daemon runs deliveries on a
//! blocking task, away from the ingest loop.
//!
//! Errors tell the outbox whether to retry: [`SinkError::Transient`] (network,
//! 5xx, 408/429, SMTP 4xx) backs the sink off and keeps the row;
//! [`SinkError::Permanent`] (a 4xx the same bytes will always get, a payload
//! of the wrong kind) marks the row failed so one bad alert cannot block a
//! sink's queue forever.

pub mod alertmanager;
pub mod file;
pub mod smtp;
pub mod syslog;
pub mod webhook;

use std::fmt;

use chrono::{DateTime, Utc};

use super::outbox::RateLimit;
use super::{AlertStatus, Payload};

/// One delivery attempt of one outbox row.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// Stable across retries of this row; distinct per alert version.
    pub idempotency_key: &'a str,
    pub alert_key: &'a str,
    pub status: AlertStatus,
    pub payload: &'a Payload,
    /// When the attempt is made (syslog's timestamp).
    pub now: DateTime<Utc>,
}

/// "K more alerts suppressed": what a sink receives instead of the alerts its
/// rate limit held back, once the window that held them has closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub suppressed: u32,
    pub now: DateTime<Utc>,
}

impl Summary {
    /// The one-sentence text every transport's summary carries.
    pub fn sentence(&self) -> String {
        format!(
            "{} more alerts suppressed by this sink's rate limit (see `loginwatch decisions list`)",
            self.suppressed
        )
    }
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Worth retrying later (receiver down, timeout, 5xx, 429).
    #[error("{0}")]
    Transient(String),
    /// The same bytes will always fail (e.g. HTTP 400): not retried.
    #[error("{0}")]
    Permanent(String),
    /// The sink cannot be built from its configuration.
    #[error("{0}")]
    Setup(String),
}

/// Moves payloads to one receiver.
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends one payload; `Ok` means the receiver accepted it.
    fn send(&self, d: &Delivery<'_>) -> Result<(), SinkError>;
    /// A summary payload in this transport's format (plain English: operators
    /// who want it localized render summaries through their templates).
    fn summary(&self, s: &Summary) -> Payload;
}

/// A configured sink: its name (outbox rows and metric labels), its
/// transport and its rate limit.
#[derive(Debug)]
pub struct Sink {
    pub name: String,
    pub transport: Box<dyn Transport>,
    pub rate_limit: Option<RateLimit>,
}

/// The error for a payload kind the transport cannot carry (a configuration
/// and rendering mismatch: retrying would not help).
pub(crate) fn wrong_payload(transport: &str, p: &Payload) -> SinkError {
    let kind = match p {
        Payload::Http { .. } => "an HTTP body",
        Payload::Email { .. } => "an e-mail",
        Payload::Line { .. } => "a line",
    };
    SinkError::Permanent(format!("the {transport} sink cannot send {kind}"))
}

/// Builds the sinks of a validated configuration.
pub fn build(configs: &[crate::alert::config::SinkConfig]) -> Result<Vec<Sink>, SinkError> {
    use crate::alert::config::TransportConfig as T;
    configs
        .iter()
        .map(|c| {
            let transport: Box<dyn Transport> = match &c.transport {
                T::Alertmanager(h) => Box::new(alertmanager::transport(h)?),
                T::Webhook { http, secret } => {
                    Box::new(webhook::HttpTransport::new(http, secret.clone())?)
                }
                T::Email(s) => Box::new(smtp::SmtpSink::new(s)?),
                T::File(f) => Box::new(file::FileSink::new(f.clone())),
                T::Syslog(s) => Box::new(syslog::SyslogSink::new(s)?),
            };
            Ok(Sink {
                name: c.name.clone(),
                transport,
                rate_limit: c.rate_limit,
            })
        })
        .collect()
}
