//! The daemon's configuration: one TOML file, or embedded defaults. (validated
//! form; the loader is being built)

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::decision::Mode;
use crate::parse::Zone;

/// One configured log source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// Name used in metrics and checkpoints (default: the path or glob).
    pub name: String,
    /// A path or a glob (`/var/log/auth.log*` is not advised: rotated files are
    /// followed by identity anyway; `/var/log/app/*.log` is the use).
    pub path: String,
    /// Format name as `--format` takes it (`auto`, `sshd`, a preset, or declared).
    pub format: String,
    /// Zone of offset-less timestamps.
    pub zone: Zone,
}

/// The HTTP listener.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    /// Address to bind (default 127.0.0.1:9464); port 0 picks a free port.
    pub listen: SocketAddr,
    /// Bearer token for mutating admin endpoints, read from the file or the
    /// environment variable the config names. Required on a non-loopback address.
    pub admin_token: Option<String>,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub sources: Vec<SourceConfig>,
    /// `None`: `./rules`, else `/etc/loginwatch/rules`, else the built-in rules.
    pub rules_dir: Option<PathBuf>,
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
}
