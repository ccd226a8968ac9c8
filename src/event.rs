//! The one typed auth event every parser produces, and its ECS-style JSON form.
//!
//! Everything downstream (rules, decisions, alerts, the API) sees only `AuthEvent`;
//! no stage passes string maps around. Fields a log lacks are `None` and are left
//! out of the JSON, never written as empty strings.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// A shared, immutable string. User names, host names and paths repeat on nearly
/// every line, so parsers intern them (see [`crate::intern`]) and hand out clones
/// of one `Arc<str>` instead of allocating per line.
pub type Name = Arc<str>;

/// What the event is about (`event.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Login,
    Mfa,
    PasswordChange,
    PasswordReset,
    Lockout,
    Unlock,
}

/// `event.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Unknown,
}

/// Why a failure failed (`event.reason`). Set on failures; on a success only
/// `ExpiredPassword`, meaning "logged in, and must change the password now"
/// (sshd lets such a login through and runs `passwd` before the shell).
///
/// New variants are appended: snapshots store a reason as its index in
/// [`Reason::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    BadPassword,
    UnknownUser,
    Locked,
    Disabled,
    ExpiredPassword,
    ExpiredAccount,
    MfaFailed,
    IpDenied,
    NoPermission,
    CertFailed,
    TooManyAttempts,
    Other,
    /// The account went unused too long and is refused for it (`pam_lastlog`'s
    /// `inactive=` days), before any password expiry.
    Inactive,
}

/// Which control refused a login whose credentials were never the question
/// (`event.reason_detail`): an sshd directive, spelled as in `sshd_config`, or
/// the account's state. Kept beside the reason because the help desk's answer
/// depends on it (edit `AllowGroups`, or unlock the account), while rules only
/// need the reason. (`Serialize`/`Deserialize` are for stored account
/// histories, which keep the variant's index; JSON output uses [`RefusedBy::as_str`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RefusedBy {
    /// `AllowUsers` does not list the user (or not from that host).
    AllowUsers,
    /// `DenyUsers` lists the user (possibly only from that host).
    DenyUsers,
    /// None of the user's groups is in `AllowGroups`.
    AllowGroups,
    /// One of the user's groups is in `DenyGroups`.
    DenyGroups,
    /// `AllowGroups` or `DenyGroups` is set and the user has no group at all.
    NoGroup,
    /// The user's login shell does not exist or is not executable.
    Shell,
    /// The account's password is locked (`passwd -l`, `usermod -L`).
    AccountLocked,
    /// `PermitRootLogin` refused root.
    PermitRootLogin,
}

impl RefusedBy {
    /// True for sshd's `allowed_user()` refusals, after which sshd treats the
    /// user as invalid for the rest of the connection (its later `Failed ...`
    /// lines say `invalid user`). A `PermitRootLogin` refusal keeps the user valid.
    pub fn invalidates_user(self) -> bool {
        self != RefusedBy::PermitRootLogin
    }
}

/// `auth.method`. The common ones are variants so rules compare them cheaply;
/// anything else a log names is kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Password,
    Publickey,
    KeyboardInteractive,
    Hostbased,
    Gssapi,
    None,
    Mfa,
    Sso,
    Other(Name),
}

impl Method {
    /// The ECS-style spelling used in JSON and rule files.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Password => "password",
            Method::Publickey => "publickey",
            Method::KeyboardInteractive => "keyboard_interactive",
            Method::Hostbased => "hostbased",
            Method::Gssapi => "gssapi",
            Method::None => "none",
            Method::Mfa => "mfa",
            Method::Sso => "sso",
            Method::Other(s) => s,
        }
    }

    /// Maps a method as logs spell it (`keyboard-interactive`, `gssapi-with-mic`,
    /// `Password`) to the typed form. Never fails: unknown methods become `Other`.
    pub fn from_log(s: &str) -> Method {
        match s.to_ascii_lowercase().as_str() {
            "password" => Method::Password,
            "publickey" | "public_key" | "public-key" => Method::Publickey,
            "keyboard-interactive" | "keyboard_interactive" | "keyboard-interactive/pam" => {
                Method::KeyboardInteractive
            }
            "hostbased" => Method::Hostbased,
            "gssapi" | "gssapi-with-mic" | "gssapi-keyex" => Method::Gssapi,
            "none" => Method::None,
            "mfa" => Method::Mfa,
            "sso" => Method::Sso,
            other => Method::Other(Arc::from(other)),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            /// The ECS-style spelling used in JSON and rule files.
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),* }
            }
            /// Parses the spelling [`Self::as_str`] produces.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(<$t>::$v),)* _ => None }
            }
            /// Every variant, for error messages listing what is accepted.
            pub const ALL: &'static [&'static str] = &[$($s),*];
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

str_enum!(Action {
    Login => "login", Mfa => "mfa", PasswordChange => "password_change",
    PasswordReset => "password_reset", Lockout => "lockout", Unlock => "unlock",
});
str_enum!(Outcome { Success => "success", Failure => "failure", Unknown => "unknown" });
str_enum!(Reason {
    BadPassword => "bad_password", UnknownUser => "unknown_user", Locked => "locked",
    Disabled => "disabled", ExpiredPassword => "expired_password",
    ExpiredAccount => "expired_account", MfaFailed => "mfa_failed", IpDenied => "ip_denied",
    NoPermission => "no_permission", CertFailed => "cert_failed",
    TooManyAttempts => "too_many_attempts", Other => "other", Inactive => "inactive",
});
str_enum!(RefusedBy {
    AllowUsers => "AllowUsers", DenyUsers => "DenyUsers", AllowGroups => "AllowGroups",
    DenyGroups => "DenyGroups", NoGroup => "no_group", Shell => "shell",
    AccountLocked => "account_locked", PermitRootLogin => "PermitRootLogin",
});

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
    /// `event.reason_detail`: which directive or account state refused the
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
    /// `service.name`: the program or service (`sshd`, `su`, `ConsoleLogin`, ...).
    pub service: Option<Name>,
    /// `auth.method`.
    pub method: Option<Method>,
    /// `user_agent.original`, where the log has it.
    pub user_agent: Option<Name>,
    /// `device.id`, where the log has it.
    pub device_id: Option<Name>,
    /// `log.file.path`: the file the line came from (`-` for stdin).
    pub log_path: Option<Name>,
    /// `log.offset`: byte offset of the line's first byte in that file.
    pub log_offset: Option<u64>,
    /// Set by enrichment (GeoIP), not by parsers.
    pub geo: Option<Arc<Geo>>,
    /// Set by enrichment (the account inventory), not by parsers.
    pub account: Option<Arc<Account>>,
    /// Set by enrichment: the names of the configured IP lists holding
    /// `source.ip` (shared per address through a cache).
    pub lists: Option<Arc<[Name]>>,
    /// Set by the account stage, not by parsers: the account an
    /// `unknown_user` attempt was meant for, when its spelling and source both
    /// point to one (`user.intended.name`; `user.name` stays as typed).
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
            service: None,
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

/// Formats a timestamp the way every JSON output of loginwatch does: RFC 3339, UTC,
/// `Z` suffix, fractional seconds only when present.
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl Serialize for AuthEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Flat dotted ECS keys (as Elastic's own JSON logs write them), in a fixed order.
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("@timestamp", &rfc3339(&self.timestamp))?;
        m.serialize_entry("event.action", self.action.as_str())?;
        m.serialize_entry("event.outcome", self.outcome.as_str())?;
        if let Some(r) = self.reason {
            m.serialize_entry("event.reason", r.as_str())?;
        }
        if let Some(r) = self.refused_by {
            m.serialize_entry("event.reason_detail", r.as_str())?;
        }
        if let Some(u) = &self.user {
            m.serialize_entry("user.name", &**u)?;
        }
        if let Some(u) = &self.mistyped_of {
            m.serialize_entry("user.intended.name", &**u)?;
        }
        if let Some(a) = &self.account {
            serialize_account(&mut m, a)?;
        }
        if let Some(ip) = &self.source_ip {
            m.serialize_entry("source.ip", ip)?;
        }
        if let Some(p) = self.source_port {
            m.serialize_entry("source.port", &p)?;
        }
        if let Some(g) = &self.geo {
            serialize_geo(&mut m, g)?;
        }
        if let Some(l) = &self.lists
            && !l.is_empty()
        {
            m.serialize_entry("source.lists", &**l)?;
        }
        if let Some(h) = &self.host {
            m.serialize_entry("host.name", &**h)?;
        }
        if let Some(v) = &self.service {
            m.serialize_entry("service.name", &**v)?;
        }
        if let Some(v) = &self.method {
            m.serialize_entry("auth.method", v.as_str())?;
        }
        if let Some(v) = &self.user_agent {
            m.serialize_entry("user_agent.original", &**v)?;
        }
        if let Some(v) = &self.device_id {
            m.serialize_entry("device.id", &**v)?;
        }
        if let Some(v) = &self.log_path {
            m.serialize_entry("log.file.path", &**v)?;
        }
        if let Some(v) = self.log_offset {
            m.serialize_entry("log.offset", &v)?;
        }
        m.end()
    }
}

/// `source.geo.location` as ECS writes a geo point.
#[derive(Serialize)]
struct GeoPoint {
    lat: f64,
    lon: f64,
}

/// The GeoIP fields of `source`, each only when known; anonymity flags only when
/// set (absent means "not flagged", or no Anonymous-IP database).
fn serialize_geo<M: SerializeMap>(m: &mut M, g: &Geo) -> Result<(), M::Error> {
    if let Some(v) = &g.country_iso_code {
        m.serialize_entry("source.geo.country_iso_code", &**v)?;
    }
    if let Some(v) = &g.city_name {
        m.serialize_entry("source.geo.city_name", &**v)?;
    }
    if let Some((lat, lon)) = g.location {
        m.serialize_entry("source.geo.location", &GeoPoint { lat, lon })?;
    }
    if let Some(v) = g.as_number {
        m.serialize_entry("source.as.number", &v)?;
    }
    if let Some(v) = &g.as_organization {
        m.serialize_entry("source.as.organization.name", &**v)?;
    }
    let a = &g.anonymous;
    for (set, key) in [
        (a.any, "source.anonymous.any"),
        (a.vpn, "source.anonymous.vpn"),
        (a.tor, "source.anonymous.tor"),
        (a.hosting, "source.anonymous.hosting"),
        (a.public_proxy, "source.anonymous.public_proxy"),
    ] {
        if set {
            m.serialize_entry(key, &true)?;
        }
    }
    Ok(())
}

/// The inventory's view of the user (`user.*`).
fn serialize_account<M: SerializeMap>(m: &mut M, a: &Account) -> Result<(), M::Error> {
    if let Some(v) = &a.email {
        m.serialize_entry("user.email", &**v)?;
    }
    if let Some(v) = &a.display_name {
        m.serialize_entry("user.full_name", &**v)?;
    }
    if a.admin {
        m.serialize_entry("user.roles", &["admin"])?;
    }
    if !a.groups.is_empty() {
        m.serialize_entry("user.group.name", &a.groups)?;
    }
    let status = match a.status {
        AccountStatus::Active => "active",
        AccountStatus::Suspended => "suspended",
        AccountStatus::Deleted => "deleted",
    };
    m.serialize_entry("user.status", status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn json_has_ecs_names_and_omits_missing_fields() {
        let mut e = AuthEvent::new(
            Utc.with_ymd_and_hms(2026, 11, 14, 6, 25, 0).unwrap(),
            Action::Login,
            Outcome::Failure,
        );
        e.reason = Some(Reason::BadPassword);
        e.user = Some(Arc::from("ａｌｉｃｅ"));
        e.source_ip = Some("2001:db8::1".parse().unwrap());
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v["@timestamp"], "2026-11-14T06:25:00Z");
        assert_eq!(v["event.reason"], "bad_password");
        assert_eq!(v["user.name"], "ａｌｉｃｅ");
        assert_eq!(v["source.ip"], "2001:db8::1");
        assert!(v.get("source.port").is_none());
        assert!(v.get("host.name").is_none());
        assert!(v.get("event.reason_detail").is_none());
        e.reason = Some(Reason::NoPermission);
        e.refused_by = Some(RefusedBy::AllowGroups);
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v["event.reason"], "no_permission");
        assert_eq!(v["event.reason_detail"], "AllowGroups");
    }

    #[test]
    fn enrichment_fields_appear_only_when_known() {
        let mut e = AuthEvent::new(
            Utc.with_ymd_and_hms(2026, 11, 14, 6, 25, 0).unwrap(),
            Action::Login,
            Outcome::Success,
        );
        e.user = Some(Arc::from("alice"));
        e.source_ip = Some("81.2.69.142".parse().unwrap());
        e.geo = Some(Arc::new(Geo {
            country_iso_code: Some(Arc::from("GB")),
            city_name: Some(Arc::from("London")),
            location: Some((51.5142, -0.0931)),
            as_number: Some(4134),
            as_organization: None,
            anonymous: Anonymous {
                vpn: true,
                any: true,
                ..Anonymous::default()
            },
        }));
        e.lists = Some(Arc::from(vec![Arc::<str>::from("tor-exits")]));
        e.account = Some(Arc::new(Account {
            user: Arc::from("alice"),
            email: Some(Arc::from("alice@example.jp")),
            display_name: Some(Arc::from("山田 花子")),
            status: AccountStatus::Suspended,
            admin: true,
            groups: vec![Arc::from("sales")],
            ..Account::default()
        }));
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v["source.geo.country_iso_code"], "GB");
        assert_eq!(v["source.geo.city_name"], "London");
        assert_eq!(v["source.geo.location"]["lat"], 51.5142);
        assert_eq!(v["source.geo.location"]["lon"], -0.0931);
        assert_eq!(v["source.as.number"], 4134);
        assert!(v.get("source.as.organization.name").is_none());
        assert_eq!(v["source.anonymous.vpn"], true);
        assert!(v.get("source.anonymous.tor").is_none());
        assert_eq!(v["source.lists"], serde_json::json!(["tor-exits"]));
        assert_eq!(v["user.email"], "alice@example.jp");
        assert_eq!(v["user.full_name"], "山田 花子");
        assert_eq!(v["user.roles"], serde_json::json!(["admin"]));
        assert_eq!(v["user.group.name"], serde_json::json!(["sales"]));
        assert_eq!(v["user.status"], "suspended");

        e.lists = Some(Arc::from(Vec::new()));
        e.geo = None;
        e.account = None;
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert!(
            keys.iter().all(|k| !k.starts_with("source.geo")
                && !k.starts_with("source.lists")
                && *k != "user.status"),
            "{keys:?}"
        );
    }

    #[test]
    fn enums_round_trip_their_spelling() {
        for s in Reason::ALL {
            assert_eq!(Reason::parse(s).unwrap().as_str(), *s);
        }
        for s in RefusedBy::ALL {
            assert_eq!(RefusedBy::parse(s).unwrap().as_str(), *s);
        }
        assert_eq!(
            Method::from_log("keyboard-interactive").as_str(),
            "keyboard_interactive"
        );
        assert_eq!(Method::from_log("gssapi-with-mic"), Method::Gssapi);
    }
}
