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
    pub count: Spanned<i64>,
    pub window: Spanned<String>,
    pub distinct: Option<Spanned<String>>,
    pub mode: Option<Spanned<String>>,
    pub max_keys: Option<Spanned<i64>>,
    #[serde(rename = "match", default)]
    pub cond: RawMatch,
    pub decision: Spanned<RawDecision>,
    #[serde(default)]
    pub exempt: RawExempt,
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
}

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
