//! Decisions: what the rules conclude, in the form `replay --json`, alerts and the
//! API share.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::event::{Name, rfc3339};

mod why;
pub use why::Why;

/// What a decision asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    LockAccount,
    BlockIp,
    RequirePasswordReset,
    DisableAccount,
    Alert,
}

/// How a lock or block ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unlock {
    /// By itself at `until`.
    Auto,
    /// Only when an admin unlocks it.
    Admin,
    /// Nothing to unlock: the decision locks nothing (an alert, a required
    /// password reset), so neither "auto" nor "admin" would be true.
    None,
}

impl Unlock {
    /// How a decision of `action` ends when its rule says `unlock`: `None` for
    /// an action that does not last, whatever the rule says.
    pub fn of(action: DecisionAction, unlock: Unlock) -> Unlock {
        if action.lasts() { unlock } else { Unlock::None }
    }
}

/// How urgent it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// Whether loginwatch only recommends the action or carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Recommend,
    Enforce,
    /// Neither: an account lock decided while the lockout storm breaker was
    /// open (`safety::storm`). Not enforced and not alerted on its own: the
    /// storm's one alert stands for it, and `decisions list --mode held`
    /// lists the storm's decisions for one review. Never configured.
    Held,
}

/// Spellings in rule files and JSON, with the list of accepted ones for errors.
macro_rules! spelled {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            /// Every accepted spelling.
            pub const ALL: &'static [&'static str] = &[$($s),*];
            /// The rule-file / JSON spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),* }
            }
            /// Parses a spelling [`Self::as_str`] produces.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(<$t>::$v),)* _ => None }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

spelled!(DecisionAction {
    LockAccount => "lock_account", BlockIp => "block_ip",
    RequirePasswordReset => "require_password_reset", DisableAccount => "disable_account",
    Alert => "alert",
});
spelled!(Unlock { Auto => "auto", Admin => "admin", None => "none" });
spelled!(Severity { Low => "low", Medium => "medium", High => "high", Critical => "critical" });
spelled!(Mode { Recommend => "recommend", Enforce => "enforce", Held => "held" });

impl Mode {
    /// The modes a config or rule file may set (`held` is the storm
    /// breaker's alone).
    pub const CONFIGURED: &'static [&'static str] = &["recommend", "enforce"];

    /// Parses a configured mode ([`Self::CONFIGURED`]).
    pub fn parse_configured(s: &str) -> Option<Mode> {
        Mode::parse(s).filter(|m| *m != Mode::Held)
    }
}

impl DecisionAction {
    /// True for actions on an account (they need a user target).
    pub fn needs_user(self) -> bool {
        matches!(
            self,
            DecisionAction::LockAccount
                | DecisionAction::RequirePasswordReset
                | DecisionAction::DisableAccount
        )
    }

    /// True for actions that last (a lock, a block, a disable) and so have an end.
    pub fn lasts(self) -> bool {
        matches!(
            self,
            DecisionAction::LockAccount | DecisionAction::BlockIp | DecisionAction::DisableAccount
        )
    }
}

/// Whether a decision looks like a user's own mistake or an attack: what an
/// admin on the phone needs first. Decided by the pipeline from the account's
/// learned history (see `crate::account::assess`), never by the rule alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assessment {
    /// The failures came only from places the account already uses: the user
    /// mistyped, forgot, or let something expire.
    UserError,
    /// Sources the account never used, many accounts from one address, many
    /// addresses against one account, listed or anonymizing networks.
    Attack,
    /// Not enough history to tell (a new account, a first install).
    #[default]
    Unclear,
}

spelled!(Assessment { UserError => "user_error", Attack => "attack", Unclear => "unclear" });

/// Who or what a decision is about: a user, an IP, both, or a network
/// (rules grouped by `source.net` target the whole /24 or /64, in `net`).
/// `Deserialize` reads back what `Serialize` wrote (`alerts preview` reads
/// `replay --json`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_display",
        deserialize_with = "opt_net"
    )]
    pub net: Option<IpNet>,
}

impl Target {
    /// A user target.
    pub fn user(user: Name) -> Target {
        Target {
            user: Some(user),
            ip: None,
            net: None,
        }
    }

    /// An address target.
    pub fn ip(ip: IpAddr) -> Target {
        Target {
            user: None,
            ip: Some(ip),
            net: None,
        }
    }

    /// A network target.
    pub fn net(net: IpNet) -> Target {
        Target {
            user: None,
            ip: None,
            net: Some(net),
        }
    }
}

impl fmt::Display for Target {
    /// `user=alice ip=192.0.2.1`: used in decision ids and human output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(u) = &self.user {
            write!(f, "user={u}")?;
            sep = " ";
        }
        if let Some(ip) = &self.ip {
            write!(f, "{sep}ip={ip}")?;
            sep = " ";
        }
        if let Some(n) = &self.net {
            write!(f, "{sep}net={n}")?;
        }
        Ok(())
    }
}

/// What the decision rests on. (`Deserialize` reads back what `Serialize` wrote:
/// the state store keeps evidence as this JSON.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Matching events in the window that fired.
    pub count: u64,
    /// Event time of the first of them.
    #[serde(serialize_with = "time")]
    pub first: DateTime<Utc>,
    /// Event time of the last of them (the one that fired).
    #[serde(serialize_with = "time")]
    pub last: DateTime<Utc>,
    /// Distinct source IPs among them, sorted, capped (see the engine).
    pub source_ips: Vec<IpAddr>,
    /// Distinct user names among them, sorted, capped.
    pub users: Vec<Name>,
    /// The fleet's agents whose events they were, sorted, capped: filled by
    /// the fleet's detector (`daemon::ingest::feed`), empty elsewhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<Name>,
}

/// One decision of one rule. `Deserialize` reads back the JSON `Serialize` writes
/// (the lines of `replay --json`; `alerts preview` reads them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Always `"decision"` (JSON lines mix decisions with a summary object).
    /// (Not read back but set: serde would otherwise demand `'static` input for
    /// a `&'static str`; readers check `type` themselves.)
    #[serde(rename = "type", skip_deserializing, default = "decision_kind")]
    pub kind: &'static str,
    /// Stable id: the same rule, target and triggering event time always give the
    /// same id, so a decision re-derived after a restart is recognised.
    pub id: String,
    /// The rule id.
    pub rule: Name,
    pub action: DecisionAction,
    pub target: Target,
    /// When it was decided (event time of the triggering event).
    #[serde(serialize_with = "time")]
    pub at: DateTime<Utc>,
    /// When it ends; `None` for admin unlock or for decisions without duration.
    #[serde(default, serialize_with = "opt_time")]
    pub until: Option<DateTime<Utc>>,
    pub unlock: Unlock,
    pub severity: Severity,
    pub mode: Mode,
    /// True when the target is exempt in the rule: the decision is then an `alert`
    /// (the attempt is reported, nothing is locked or blocked).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exempt: bool,
    /// User error or attack (`"assessment"`).
    #[serde(default)]
    pub assessment: Assessment,
    /// Why, as one sentence in JSON (`"assessment_reason"`, English); typed
    /// so alerts can say it in Japanese too. Read back from JSON as text.
    #[serde(
        default,
        rename = "assessment_reason",
        serialize_with = "why_en",
        deserialize_with = "why_text"
    )]
    pub why: Why,
    pub evidence: Evidence,
}

/// The rule id of a decision an admin made by hand (`decisions add`).
pub const MANUAL_RULE: &str = "manual";

/// The stable id of a decision: FNV-1a 64 over the rule id, the target, `at` in
/// RFC 3339 and the triggering event's log offset, as 16 hex digits.
///
/// FNV-1a is hand-written (a dozen lines) because the id must be identical across
/// runs, machines and Rust versions, which std's hashers do not promise, and a
/// cryptographic digest would be a dependency for no gain: ids name decisions,
/// they do not protect anything.
pub fn decision_id(rule: &str, target: &Target, at: &DateTime<Utc>, offset: Option<u64>) -> String {
    const BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let text = match offset {
        Some(o) => format!("{rule}\x1f{target}\x1f{}\x1f{o}", rfc3339(at)),
        None => format!("{rule}\x1f{target}\x1f{}", rfc3339(at)),
    };
    let h = text
        .bytes()
        .fold(BASIS, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    format!("{h:016x}")
}

fn why_en<S: Serializer>(w: &Why, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&w.sentence_en())
}

fn why_text<'de, D: Deserializer<'de>>(d: D) -> Result<Why, D::Error> {
    Ok(Why::Text {
        text: String::deserialize(d)?,
    })
}

fn time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(t))
}

fn opt_display<T: fmt::Display, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

fn opt_time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(t)),
        None => s.serialize_none(),
    }
}

/// The `kind` of every decision.
fn decision_kind() -> &'static str {
    "decision"
}

/// A network written as `192.0.2.0/24`.
fn opt_net<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpNet>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) => s.parse().map(Some).map_err(serde::de::Error::custom),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::DecisionSetters;
    use chrono::TimeZone;
    use std::sync::Arc;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // Reference FNV-1a 64 values: "" -> cbf29ce484222325, "a" -> af63dc4c8601ec8c.
        let h = |s: &str| {
            s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
            })
        };
        assert_eq!(h(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(h("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn ids_are_stable_and_depend_on_every_part() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let t = Target::user(Arc::from("alice"));
        let a = decision_id("account-lockout", &t, &at, Some(42));
        assert_eq!(a, decision_id("account-lockout", &t, &at, Some(42)));
        assert_eq!(a.len(), 16);
        assert_ne!(a, decision_id("account-lockout", &t, &at, Some(43)));
        assert_ne!(a, decision_id("ip-bruteforce", &t, &at, Some(42)));
        let t2 = Target::user(Arc::from("bob"));
        assert_ne!(a, decision_id("account-lockout", &t2, &at, Some(42)));
    }

    #[test]
    fn target_json_omits_absent_parts() {
        let t = Target::net("192.0.2.0/24".parse().unwrap());
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v, serde_json::json!({ "net": "192.0.2.0/24" }));
    }

    #[test]
    fn decisions_read_back_what_they_write() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let mut target = Target::user(Arc::from("alice"));
        target.net = Some("192.0.2.0/24".parse().unwrap());
        let id = decision_id("account-lockout", &target, &at, None);
        let d = crate::test_support::decision()
            .with_id(&id)
            .with_rule("account-lockout")
            .with_target(target)
            .with_at(at)
            .with_severity(Severity::High)
            .with_evidence(&["192.0.2.7"], &["alice"]);
        let json = serde_json::to_string(&d).unwrap();
        let back: Decision = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
        let summary = r#"{"type":"summary","lines":1,"events":1,"unparsed":0,"decisions":0}"#;
        assert!(serde_json::from_str::<Decision>(summary).is_err());
    }
}
