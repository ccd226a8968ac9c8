//! Rule files as written: serde structs that mirror the TOML exactly.
//!
//! Nothing here is interpreted. Enum spellings, durations, CIDRs and regexes stay
//! strings so that [`super::compile`] can check them all and report *every*
//! mistake with its line (serde would stop at the first). Values that can be wrong
//! are `Spanned` so errors point at the offending line, not the rule's header.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

/// One `[[rule]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub id: Spanned<String>,
    #[serde(default)]
    pub description: String,
    pub kind: Spanned<String>,
    pub group_by: Spanned<String>,
    /// Required for the counting kinds; `restriction` defaults to 1, `travel`
    /// has none.
    pub count: Option<Spanned<i64>>,
    /// Required for the counting kinds; `novelty` defaults to its learning
    /// period; the kinds with `days` or `max_age` have none.
    pub window: Option<Spanned<String>>,
    pub distinct: Option<Spanned<String>>,
    pub mode: Option<Spanned<String>>,
    pub max_keys: Option<Spanned<i64>>,
    #[serde(rename = "match", default)]
    pub cond: RawMatch,
    pub decision: Spanned<RawDecision>,
    #[serde(default)]
    pub exempt: RawExempt,
    /// `sequence` only: the success must come from an address that failed.
    pub success_from_failing_ip: Option<Spanned<bool>>,
    /// `restriction` only: `[[rule.allow]]` tables.
    pub allow: Option<Spanned<Vec<Spanned<RawAllow>>>>,
    /// `travel` only: speed above which two logins are impossible.
    pub max_speed_kmh: Option<Spanned<i64>>,
    /// `travel` only: pairs closer than this are GeoIP noise.
    pub min_distance_km: Option<Spanned<i64>>,
    /// `travel` only: corporate ranges / VPN egress never compared.
    pub ignore_cidrs: Option<Spanned<StrList>>,
    /// `novelty` only: what is learned per user (`country`, `asn`, `device`).
    pub field: Option<Spanned<String>>,
    /// `novelty` only: no alert while a user's learned history is younger.
    pub quiet: Option<Spanned<String>>,
    /// `dormant` and `inactive` only: days without a successful login.
    pub days: Option<Spanned<i64>>,
    /// `password-age` only: a password older than this must be changed.
    pub max_age: Option<Spanned<String>>,
    /// `password-age` only: remind this long before `max_age` (`"0d"`: never).
    pub remind_before: Option<Spanned<String>>,
}

/// One `[[rule.allow]]` table of a `restriction` rule: who it applies to and
/// where they may log in from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllow {
    pub user: Option<Spanned<NameCond>>,
    pub group: Option<Spanned<StrList>>,
    pub cidrs: Option<Spanned<StrList>>,
    pub countries: Option<Spanned<StrList>>,
}

/// `[rule.match]`: every present condition must hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    pub action: Option<Spanned<StrList>>,
    pub outcome: Option<Spanned<StrList>>,
    pub reason: Option<Spanned<StrList>>,
    pub user: Option<Spanned<NameCond>>,
    pub not_user: Option<Spanned<NameCond>>,
    pub service: Option<Spanned<StrList>>,
    pub host: Option<Spanned<StrList>>,
    pub method: Option<Spanned<StrList>>,
    pub source_ip: Option<Spanned<StrList>>,
    pub not_source_ip: Option<Spanned<StrList>>,
    // Enrichment conditions (see `super::enriched`).
    pub country: Option<Spanned<StrList>>,
    pub not_country: Option<Spanned<StrList>>,
    pub asn: Option<Spanned<IntList>>,
    pub not_asn: Option<Spanned<IntList>>,
    pub anonymous: Option<Spanned<Anonymity>>,
    pub in_list: Option<Spanned<StrList>>,
    pub not_in_list: Option<Spanned<StrList>>,
    pub account_status: Option<Spanned<StrList>>,
    pub admin: Option<Spanned<bool>>,
    pub group: Option<Spanned<StrList>>,
    pub exempt: Option<Spanned<bool>>,
    /// `mistyped = false`: not an unknown-user attempt linked to a real
    /// account as a mistyped login ID (see `crate::account`).
    pub mistyped: Option<Spanned<bool>>,
}

impl RawMatch {
    /// The span of the first condition given, `None` for an empty match (the
    /// sweep kinds refuse conditions: they read accounts, not events).
    pub fn first_span(&self) -> Option<std::ops::Range<usize>> {
        fn s<T>(v: &Option<Spanned<T>>) -> Option<std::ops::Range<usize>> {
            v.as_ref().map(Spanned::span)
        }
        [
            s(&self.action),
            s(&self.outcome),
            s(&self.reason),
            s(&self.user),
            s(&self.not_user),
            s(&self.service),
            s(&self.host),
            s(&self.method),
            s(&self.source_ip),
            s(&self.not_source_ip),
            s(&self.country),
            s(&self.not_country),
            s(&self.asn),
            s(&self.not_asn),
            s(&self.anonymous),
            s(&self.in_list),
            s(&self.not_in_list),
            s(&self.account_status),
            s(&self.admin),
            s(&self.group),
            s(&self.exempt),
            s(&self.mistyped),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|r| r.start)
    }
}

/// `anonymous = true|false`, or a list of kinds (`["vpn", "tor"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anonymity {
    Flag(bool),
    Kinds(Vec<String>),
}

/// A number or a list of numbers (`asn = 64496` or `asn = [64496, 64497]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntList(pub Vec<i64>);

/// `[rule.decision]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDecision {
    pub action: Spanned<String>,
    pub duration: Option<Spanned<String>>,
    pub unlock: Option<Spanned<String>>,
    pub severity: Option<Spanned<String>>,
    pub escalation: Option<Spanned<RawEscalation>>,
    pub suppress: Option<Spanned<String>>,
    pub user_error: Option<Spanned<RawUserError>>,
}

/// `user_error = { action = "alert", severity = "low" }`: what the decision
/// becomes when it is assessed a user's own mistake.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUserError {
    pub action: Spanned<String>,
    pub severity: Option<Spanned<String>>,
}

/// `escalation = { factor = 2, max = "24h", within = "24h" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEscalation {
    pub factor: Spanned<i64>,
    pub max: Spanned<String>,
    pub within: Spanned<String>,
}

/// `[rule.exempt]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExempt {
    #[serde(default)]
    pub users: Vec<String>,
    pub cidrs: Option<Spanned<Vec<String>>>,
}

/// A condition value: one string (equals) or a list of strings (in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrList(pub Vec<String>);

/// A name condition: a string, a list of strings, or `{ regex = "..." }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameCond {
    List(Vec<String>),
    Regex(String),
}

/// Shared visitor: written by hand because `#[serde(untagged)]` would answer every
/// mistake with "data did not match any variant", useless in a rule file.
struct CondVisitor {
    allow_regex: bool,
}

impl<'de> Visitor<'de> for CondVisitor {
    type Value = NameCond;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.allow_regex {
            f.write_str("a string, a list of strings, or { regex = \"...\" }")
        } else {
            f.write_str("a string or a list of strings")
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<NameCond, E> {
        Ok(NameCond::List(vec![v.to_owned()]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NameCond, A::Error> {
        let mut v = Vec::new();
        while let Some(s) = seq.next_element::<String>()? {
            v.push(s);
        }
        Ok(NameCond::List(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NameCond, A::Error> {
        if !self.allow_regex {
            return Err(de::Error::invalid_type(de::Unexpected::Map, &self));
        }
        let mut regex = None;
        while let Some(k) = map.next_key::<String>()? {
            if k != "regex" {
                return Err(de::Error::unknown_field(&k, &["regex"]));
            }
            regex = Some(map.next_value::<String>()?);
        }
        regex
            .map(NameCond::Regex)
            .ok_or_else(|| de::Error::missing_field("regex"))
    }
}

impl<'de> Deserialize<'de> for StrList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StrList, D::Error> {
        match d.deserialize_any(CondVisitor { allow_regex: false })? {
            NameCond::List(v) => Ok(StrList(v)),
            // Unreachable: the visitor refuses maps when regexes are not allowed.
            NameCond::Regex(_) => Err(de::Error::custom("a regex is not allowed here")),
        }
    }
}

impl<'de> Deserialize<'de> for NameCond {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<NameCond, D::Error> {
        d.deserialize_any(CondVisitor { allow_regex: true })
    }
}

struct AnonVisitor;

impl<'de> Visitor<'de> for AnonVisitor {
    type Value = Anonymity;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("true, false, or a list of \"vpn\", \"tor\", \"hosting\", \"public_proxy\"")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Anonymity, E> {
        Ok(Anonymity::Flag(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Anonymity, E> {
        Ok(Anonymity::Kinds(vec![v.to_owned()]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Anonymity, A::Error> {
        let mut v = Vec::new();
        while let Some(s) = seq.next_element::<String>()? {
            v.push(s);
        }
        Ok(Anonymity::Kinds(v))
    }
}

impl<'de> Deserialize<'de> for Anonymity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Anonymity, D::Error> {
        d.deserialize_any(AnonVisitor)
    }
}

struct IntVisitor;

impl<'de> Visitor<'de> for IntVisitor {
    type Value = IntList;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or a list of numbers")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntList, E> {
        Ok(IntList(vec![v]))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntList, E> {
        Ok(IntList(vec![i64::try_from(v).unwrap_or(-1)]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IntList, A::Error> {
        let mut v = Vec::new();
        while let Some(n) = seq.next_element::<i64>()? {
            v.push(n);
        }
        Ok(IntList(v))
    }
}

impl<'de> Deserialize<'de> for IntList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IntList, D::Error> {
        d.deserialize_any(IntVisitor)
    }
}
