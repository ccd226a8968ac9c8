//! The configuration file as written: serde structs that mirror the TOML exactly.
//!
//! Nothing here is interpreted: enum spellings, durations, addresses and zones stay
//! strings so that [`super::load`] can check them all and report *every* mistake
//! with its line. Every value is `Spanned` for that line; unknown keys are refused
//! so a typo (`pol_interval`) is an error, not a silently ignored setting.

use serde::Deserialize;
use toml::Spanned;

/// The whole file. The loader fills it key by key (so one bad key hides nothing
/// else); deserializing it whole is equivalent for a file without errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub mode: Option<Spanned<String>>,
    pub rules_dir: Option<Spanned<String>>,
    pub profile: Option<Spanned<String>>,
    pub state_path: Option<Spanned<String>>,
    pub year: Option<Spanned<i64>>,
    pub poll_interval: Option<Spanned<String>>,
    pub checkpoint_interval: Option<Spanned<String>>,
    pub http: Option<Spanned<RawHttp>>,
    #[serde(default)]
    pub source: Vec<Spanned<RawSource>>,
    pub geoip: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub ip_list: Vec<Spanned<super::enrich::RawIpList>>,
    pub inventory: Option<Spanned<super::enrich::RawInventory>>,
    pub actions: Option<Spanned<super::actions::RawActions>>,
    pub safety: Option<Spanned<super::actions::RawSafety>>,
    pub alert: Option<Spanned<super::alerts::RawAlert>>,
    pub ui: Option<Spanned<super::ui::RawUi>>,
    pub fleet: Option<Spanned<super::fleet::RawFleet>>,
}

impl RawConfig {
    /// Every top-level key, for "unknown key" messages.
    pub const KEYS: &'static [&'static str] = &[
        "mode",
        "rules_dir",
        "profile",
        "state_path",
        "year",
        "poll_interval",
        "checkpoint_interval",
        "http",
        "source",
        "geoip",
        "ip_list",
        "inventory",
        "actions",
        "safety",
        "alert",
        "ui",
        "fleet",
    ];
}

/// `[http]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub listen: Option<Spanned<String>>,
    pub admin_token_file: Option<Spanned<String>>,
    pub admin_token_env: Option<Spanned<String>>,
}

/// One `[[source]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub path: Option<Spanned<String>>,
    /// `udp://IP:PORT` or `tcp://IP:PORT`: network syslog instead of files.
    pub listen: Option<Spanned<String>>,
    pub format: Option<Spanned<String>>,
    pub tz: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    /// How long rows are remembered so each is delivered once (`"180d"`);
    /// default: the export format's retention.
    pub retention: Option<Spanned<String>>,
    /// How long a file of an export folder stays unwritten before it is read.
    pub settle: Option<Spanned<String>>,
    /// `lineworks` or `okta`: a SaaS audit log pulled from its API; the keys
    /// below belong to it (checked in `super::pull`).
    pub pull: Option<Spanned<String>>,
    pub url: Option<Spanned<String>>,
    pub credentials: Option<Spanned<String>>,
    pub token_url: Option<Spanned<String>>,
    pub service: Option<Spanned<String>>,
    pub interval: Option<Spanned<String>>,
    pub start: Option<Spanned<String>>,
    pub token_file: Option<Spanned<String>>,
    pub token_env: Option<Spanned<String>>,
    /// `journal = true`: the systemd journal (see `super::journal`).
    pub journal: Option<Spanned<bool>>,
    pub journal_dir: Option<Spanned<String>>,
    #[serde(rename = "match")]
    pub matches: Option<Spanned<Vec<String>>>,
}
