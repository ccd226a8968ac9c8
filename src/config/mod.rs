//! The daemon's configuration: one TOML file, or embedded defaults.
//!
//! Three steps, one file each: [`raw`] mirrors the TOML exactly (every value
//! `Spanned`, unknown keys refused), [`load`] parses a file and checks every value,
//! collecting *all* mistakes with their line numbers (an admin fixing a config on a
//! production host should not have to iterate one error at a time), and
//! [`defaults`] holds the embedded defaults that make the daemon useful on a Debian
//! host without any file. The validated [`Config`] below is what the daemon, the
//! HTTP API and the CLI read; nothing downstream sees a string it must re-check.
//! `docs/config.md` documents every key.

pub mod actions;
pub mod alerts;
pub mod defaults;
pub mod enrich;
mod exports;
mod fleet;
mod journal;
pub mod load;
mod pull;
pub mod raw;
pub mod select;
mod source;
pub mod ui;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use load::{load, load_text};
pub use select::{RulesOrigin, SelectError, invalid, require_live_rules, select_rules};

use crate::decision::Mode;
use crate::parse::Zone;

/// One configured log source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// Name used in metrics and checkpoints (default: the last component of the
    /// path or glob, e.g. `auth.log`, so that no full path becomes a metric label).
    pub name: String,
    /// A path or a glob (`/var/log/auth.log*` is not advised: rotated files are
    /// followed by identity anyway; `/var/log/app/*.log` is the use). Empty
    /// for a network source.
    pub path: String,
    /// Where a network source receives syslog (`listen = "udp://..."`);
    /// `None` for files.
    pub listen: Option<crate::source::net::Listen>,
    /// Format name as `--format` takes it (`auto`, `sshd`, a preset, or declared).
    pub format: String,
    /// Zone of offset-less timestamps.
    pub zone: Zone,
    /// Rows delivered once (exports, pulled logs): a row already delivered
    /// by this source within this long is not delivered again (see
    /// `crate::source::rows`). `None`: every line counts (log files, syslog).
    pub once: Option<chrono::Duration>,
    /// A folder of exports: a file is read once unwritten this long, or
    /// renamed into place (`settle`; default [`defaults::SETTLE`] for an
    /// export format or a source with `retention`). `None`: decided by the
    /// format (log files are followed as they grow).
    pub settle: Option<Duration>,
    /// A SaaS audit log pulled from its API (`pull = "lineworks"`, `"okta"`);
    /// `None` for the other kinds.
    pub pull: Option<crate::source::pull::Pull>,
    /// The systemd journal (`journal = true`); `None` for other kinds.
    pub journal: Option<crate::source::journal::JournalSpec>,
    /// Why the embedded defaults chose this source (`config check` and
    /// `/readyz` say it); `None` for a configured source.
    pub chosen: Option<String>,
}

/// The HTTP listener.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Address to bind (default 127.0.0.1:9464); port 0 picks a free port.
    pub listen: SocketAddr,
    /// Bearer token of the admin API, read from the file or the environment
    /// variable the config names. Required on a non-loopback address; without
    /// it the daemon generates one (`crate::http::token`).
    pub admin_token: Option<String>,
    /// The file has an `[http]` table: `loginwatch agent` serves its
    /// metrics and health only then (the daemon always listens).
    pub set: bool,
}

/// The settings alone: whether they were written out (`set`) is not part of
/// their value, so a file spelling out the defaults equals the defaults.
impl PartialEq for HttpConfig {
    fn eq(&self, other: &HttpConfig) -> bool {
        self.listen == other.listen && self.admin_token == other.admin_token
    }
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub sources: Vec<SourceConfig>,
    /// `None`: `./rules`, else `/usr/share/loginwatch/rules` overlaid by
    /// `/etc/loginwatch/rules`, else the built-in rules.
    pub rules_dir: Option<PathBuf>,
    /// A built-in lock-policy profile (`lineworks`, `cybozu`) used instead of a
    /// rules directory.
    pub profile: Option<String>,
    /// SQLite state file.
    pub state_path: PathBuf,
    pub http: HttpConfig,
    /// Global mode (`recommend` default); rules may override.
    pub mode: Mode,
    /// Year for year-less syslog timestamps (`None`: current year with rollback).
    pub year: Option<i32>,
    /// Backstop poll interval of the tailer (notify is the wake-up).
    pub poll_interval: Duration,
    /// How often checkpoints and rule state are committed.
    pub checkpoint_interval: Duration,
    /// GeoIP databases (City or Country, ASN, Anonymous-IP), any of them.
    pub geoip: Vec<PathBuf>,
    /// Named IP lists for rule conditions (`in_list`).
    pub ip_lists: Vec<enrich::IpListConfig>,
    /// The account inventory, if any.
    pub inventory: Option<enrich::InventoryConfig>,
    /// Enforcement actions (`[actions]`).
    pub actions: crate::action::ActionsConfig,
    /// The safety filter (`[safety]`).
    pub safety: crate::safety::SafetyConfig,
    /// Alert language and sinks (`[alert]`); no sink by default.
    pub alert: alerts::AlertConfig,
    /// The helpdesk page (`[ui]`).
    pub ui: ui::UiConfig,
    /// Fleet mode over NATS JetStream (`[fleet]`); `None`: one host, no NATS.
    pub fleet: Option<crate::fleet::FleetConfig>,
}

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (`None` for problems of the embedded defaults).
    pub file: Option<PathBuf>,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// 1-based column (in characters) of where the problem starts, when known
    /// (`config check --json` gives it; the text form stays `file:line`).
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(p) => write!(f, "{}", p.display())?,
            None => f.write_str("(embedded defaults)")?,
        }
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a configuration file (never just the first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
