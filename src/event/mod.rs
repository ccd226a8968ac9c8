//! The one typed auth event every parser produces, and its ECS-style JSON form.
//!
//! Everything downstream (rules, decisions, alerts, the API) sees only `AuthEvent`;
//! no stage passes string maps around. Fields a log lacks are `None` and are left
//! out of the JSON, never written as empty strings.

mod json;
mod kinds;
pub mod ocsf;

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use json::{ECS_VERSION, rfc3339};
pub use kinds::{Action, Method, Outcome, Reason, RefusedBy};

/// A shared, immutable string. User names, host names and paths repeat on nearly
/// every line, so parsers intern them (see [`crate::intern`]) and hand out clones
/// of one `Arc<str>` instead of allocating per line.
pub type Name = Arc<str>;

/// What the GeoIP databases say about a source address (`source.geo.*`,
/// `source.as.*`). Shared per address through a cache, hence behind an `Arc`
/// on the event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Geo {
    /// `source.geo.country_iso_code` (`JP`, `SE`).
    pub country_iso_code: Option<Name>,
    /// `source.geo.city_name`.
    pub city_name: Option<Name>,
    /// `source.geo.location`: (latitude, longitude) in degrees.
    pub location: Option<(f64, f64)>,
    /// `source.as.number`.
    pub as_number: Option<u32>,
    /// `source.as.organization.name`.
    pub as_organization: Option<Name>,
    /// Anonymity flags from an Anonymous-IP database.
    pub anonymous: Anonymous,
}

/// Whether an address belongs to an anonymizing network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Anonymous {
    pub vpn: bool,
    pub tor: bool,
    pub hosting: bool,
    pub public_proxy: bool,
    /// Any of the above (or the database's own `is_anonymous`).
    pub any: bool,
}

/// Where an account stands in the directory or SaaS admin console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AccountStatus {
    #[default]
    Active,
    /// Suspended or disabled (停止中).
    Suspended,
    /// Removed.
    Deleted,
}

/// The program that wrote a syslog line (`process.name`, `process.pid`).
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    /// The syslog tag's program (`sshd`, `su`, `sshd-session`).
    pub name: Name,
    /// Its pid, when the tag has one.
    pub pid: Option<u32>,
}

/// An account as the inventory (an export of the directory) describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Account {
    /// The login name, as logs spell it.
    pub user: Name,
    pub email: Option<Name>,
    pub display_name: Option<Name>,
    pub status: AccountStatus,
    pub admin: bool,
    pub groups: Vec<Name>,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// Never locked or blocked (break-glass, monitoring), still alerted.
    pub exempt: bool,
}

/// One normalized authentication event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthEvent {
    /// When it happened (`@timestamp`), always UTC.
    pub timestamp: DateTime<Utc>,
    /// `event.action`.
    pub action: Action,
    /// `event.outcome`.
    pub outcome: Outcome,
    /// `event.reason`: why a failure failed; on a success only
    /// `ExpiredPassword` (logged in, must change the password now).
    pub reason: Option<Reason>,
    /// `loginwatch.event.reason_detail`: which directive or account state refused the
    /// login, where the log names it.
    pub refused_by: Option<RefusedBy>,
    /// `user.name`, exactly as logged (may hold full-width or control characters).
    pub user: Option<Name>,
    /// `source.ip`.
    pub source_ip: Option<IpAddr>,
    /// `source.port`.
    pub source_port: Option<u16>,
    /// `host.name`: the machine that wrote the log line.
    pub host: Option<Name>,
    /// `host.ip`: the address a line received over the network came from.
    pub host_ip: Option<IpAddr>,
    /// `service.name`: the program or service (`sshd`, `su`, `ConsoleLogin`, ...).
    pub service: Option<Name>,
    /// `process.name` / `process.pid`: the syslog program and pid, for lines
    /// with a syslog header (`service.name` names the same program, as rules
    /// and older consumers know it).
    pub process: Option<Process>,
    /// `loginwatch.auth.method` (ECS has no field for it).
    pub method: Option<Method>,
    /// `user_agent.original`, where the log has it.
    pub user_agent: Option<Name>,
    /// `device.id`, where the log has it.
    pub device_id: Option<Name>,
    /// `log.file.path`: the file the line came from (`-` for stdin).
    pub log_path: Option<Name>,
    /// `loginwatch.log.offset`: byte offset of the line's first byte in that file.
    pub log_offset: Option<u64>,
    /// Set by enrichment (GeoIP), not by parsers.
    pub geo: Option<Arc<Geo>>,
    /// Set by enrichment (the account inventory), not by parsers.
    pub account: Option<Arc<Account>>,
    /// Set by enrichment: the names of the configured IP lists holding
    /// `source.ip` (`loginwatch.source.lists`; shared per address through a cache).
    pub lists: Option<Arc<[Name]>>,
    /// Set by the account stage, not by parsers: the account an
    /// `unknown_user` attempt was meant for, when its spelling and source both
    /// point to one (`loginwatch.user.intended.name`; `user.name` stays as typed).
    pub mistyped_of: Option<Name>,
    /// Set by the account stage, not by parsers: `user.name` is an account
    /// known from its own successful logins or from the inventory. The rule
    /// engine keeps such accounts' windows apart from the keys a flood of
    /// invented names brings, so the flood cannot evict them. Not serialized.
    pub user_known: bool,
}

impl AuthEvent {
    /// A bare event: the parsers fill in what their log has.
    pub fn new(timestamp: DateTime<Utc>, action: Action, outcome: Outcome) -> AuthEvent {
        AuthEvent {
            timestamp,
            action,
            outcome,
            reason: None,
            refused_by: None,
            user: None,
            source_ip: None,
            source_port: None,
            host: None,
            host_ip: None,
            service: None,
            process: None,
            method: None,
            user_agent: None,
            device_id: None,
            log_path: None,
            log_offset: None,
            geo: None,
            account: None,
            lists: None,
            mistyped_of: None,
            user_known: false,
        }
    }

    /// True for a failed login or MFA attempt.
    pub fn is_failure(&self) -> bool {
        self.outcome == Outcome::Failure
    }

    /// True for a successful login.
    pub fn is_success(&self) -> bool {
        self.outcome == Outcome::Success
    }
}
