//! The alerting part of the configuration: `[alert]` and its `[[alert.sink]]`
//! tables. Raw forms mirror the TOML; [`alert`] checks them all, reporting
//! every problem with its line, like the rest of the loader.
//!
//! Secrets (webhook HMAC keys, SMTP passwords) are read from a file or an
//! environment variable the config names, never written in it, and read at
//! load time so a missing secret is a configuration error, not a failure at
//! the first alert.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

mod sink;
mod smtp;
#[cfg(test)]
mod tests;
mod validate;

pub(super) use validate::alert;

/// `[alert]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlert {
    pub language: Option<Spanned<String>>,
    /// Zone alert times are shown in (default: the host's), named in the alert.
    pub tz: Option<Spanned<String>>,
    /// Sample log lines per alert (default [`DEFAULT_SAMPLES`], 0 disables).
    pub samples: Option<Spanned<i64>>,
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
    /// PEM file of CA certificates trusted in addition to the web roots.
    pub ca_file: Option<Spanned<String>>,
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

/// The validated forms are the alert module's own types; this module builds them.
pub use crate::alert::config::{
    AlertConfig, DEFAULT_SAMPLES, DEFAULT_TIMEOUT, FileTarget, HttpTarget, Language, MAX_SAMPLES,
    SinkConfig, SinkFilter, SinkFormat, SmtpConfig, SmtpTls, SyslogConfig, SyslogTarget, TlsTrust,
    TransportConfig,
};

/// Every sink type, for messages.
const TYPES: &[&str] = &[
    "alertmanager",
    "webhook",
    "email",
    "file",
    "stdout",
    "syslog",
];
