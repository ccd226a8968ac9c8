//! Conditions on what enrichment adds to an event: where its address is
//! (GeoIP), which named IP lists hold it, and whose account it is (the
//! inventory).
//!
//! They live apart from [`super::cond`] and behind one `Option<Box<_>>` there,
//! so a rule without them (the common case) pays a single pointer test per
//! event. Every value is compiled once: country codes upper-cased, AS numbers
//! as integers, account statuses and anonymity kinds as bitmasks.
//!
//! Missing enrichment is never an error: an event without the data a condition
//! needs (no GeoIP database, an address in no list, a user not in the
//! inventory) *fails a positive* condition (`country`, `asn`, `anonymous =
//! true`, `in_list`, `account_status`, `admin = true`, `group`, `exempt =
//! true`) and *passes a negative* one (`not_country`, `not_asn`, `anonymous =
//! false`, `not_in_list`, `admin = false`, `exempt = false`). So a rule never
//! fires on data it does not have, and an exclusion never hides an event it
//! cannot judge.

use toml::Spanned;

use super::raw::{Anonymity, IntList, RawMatch, StrList};
use super::sink::{Sink, names, one_of};
use crate::event::{AccountStatus, Anonymous, AuthEvent, Name, Reason};

/// Anonymity kinds as bits (`anonymous = ["vpn", "tor"]`).
pub const ANON_KINDS: &[&str] = &["vpn", "tor", "hosting", "public_proxy"];

/// Account statuses as rule files spell them.
pub const STATUSES: &[&str] = &["active", "suspended", "deleted"];

fn status_bit(s: AccountStatus) -> u8 {
    match s {
        AccountStatus::Active => 1,
        AccountStatus::Suspended => 2,
        AccountStatus::Deleted => 4,
    }
}

fn anon_bits(a: &Anonymous) -> u8 {
    u8::from(a.vpn)
        | u8::from(a.tor) << 1
        | u8::from(a.hosting) << 2
        | u8::from(a.public_proxy) << 3
}

/// `anonymous = ...`, compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnonCond {
    /// `true`: flagged anonymous (any kind); `false`: not flagged.
    Flag(bool),
    /// Flagged with one of these kinds (bits in [`ANON_KINDS`] order).
    Kinds(u8),
}

/// The enrichment conditions of one `[rule.match]` (all present must hold).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnrichCond {
    /// `source.geo.country_iso_code` in this list (upper case).
    pub country: Option<Vec<Name>>,
    pub not_country: Vec<Name>,
    /// `source.as.number` in this list.
    pub asn: Option<Vec<u32>>,
    pub not_asn: Vec<u32>,
    pub anonymous: Option<AnonCond>,
    /// One of these named IP lists holds `source.ip`.
    pub in_list: Option<Vec<Name>>,
    pub not_in_list: Vec<Name>,
    /// Bitmask of account statuses.
    pub account_status: Option<u8>,
    pub admin: Option<bool>,
    /// Member of any of these groups.
    pub group: Option<Vec<Name>>,
    pub exempt: Option<bool>,
}

fn has(list: &[Name], v: &str) -> bool {
    list.iter().any(|n| &**n == v)
}

/// The account's status as far as the event tells: a log that says the account
/// is disabled (reason `disabled`) is newer than any inventory export, so it
/// counts as `suspended`; otherwise the inventory's status.
pub fn account_status(ev: &AuthEvent) -> Option<AccountStatus> {
    if ev.reason == Some(Reason::Disabled) {
        return Some(AccountStatus::Suspended);
    }
    ev.account.as_ref().map(|a| a.status)
}

impl EnrichCond {
    /// True when the event satisfies every enrichment condition.
    pub fn matches(&self, ev: &AuthEvent) -> bool {
        let geo = ev.geo.as_deref();
        let country = geo.and_then(|g| g.country_iso_code.as_deref());
        let asn = geo.and_then(|g| g.as_number);
        let lists = ev.lists.as_deref().unwrap_or(&[]);
        let account = ev.account.as_deref();
        self.country
            .as_ref()
            .is_none_or(|l| country.is_some_and(|c| has(l, c)))
            && !country.is_some_and(|c| has(&self.not_country, c))
            && self
                .asn
                .as_ref()
                .is_none_or(|l| asn.is_some_and(|a| l.contains(&a)))
            && !asn.is_some_and(|a| self.not_asn.contains(&a))
            && match self.anonymous {
                None => true,
                Some(AnonCond::Flag(want)) => {
                    let anon = geo.is_some_and(|g| g.anonymous.any || anon_bits(&g.anonymous) != 0);
                    anon == want
                }
                Some(AnonCond::Kinds(m)) => geo.is_some_and(|g| anon_bits(&g.anonymous) & m != 0),
            }
            && self
                .in_list
                .as_ref()
                .is_none_or(|want| lists.iter().any(|l| has(want, l)))
            && !lists.iter().any(|l| has(&self.not_in_list, l))
            && self
                .account_status
                .is_none_or(|m| account_status(ev).is_some_and(|s| status_bit(s) & m != 0))
            && self
                .admin
                .is_none_or(|want| account.is_some_and(|a| a.admin) == want)
            && self
                .group
                .as_ref()
                .is_none_or(|want| account.is_some_and(|a| a.groups.iter().any(|g| has(want, g))))
            && self
                .exempt
                .is_none_or(|want| account.is_some_and(|a| a.exempt) == want)
    }

    /// True when a condition needs GeoIP data.
    pub fn uses_geo(&self) -> bool {
        self.country.is_some()
            || !self.not_country.is_empty()
            || self.asn.is_some()
            || !self.not_asn.is_empty()
            || self.anonymous.is_some()
    }

    /// The named IP lists the conditions refer to.
    pub fn lists(&self) -> impl Iterator<Item = &Name> {
        self.in_list.iter().flatten().chain(&self.not_in_list)
    }

    /// True when no condition is set.
    pub fn is_empty(&self) -> bool {
        *self == EnrichCond::default()
    }
}

fn list_of(sink: &mut Sink, v: &Spanned<StrList>, what: &str) -> Vec<String> {
    if v.get_ref().0.is_empty() {
        sink.err(
            v.span(),
            format!("match.{what} is an empty list: it would match nothing"),
        );
    }
    v.get_ref().0.clone()
}

/// Country codes: two ASCII letters, upper-cased (`jp` is `JP`).
pub fn countries(sink: &mut Sink, v: &Spanned<StrList>, what: &str) -> Vec<Name> {
    let mut out = Vec::new();
    for c in list_of(sink, v, what) {
        if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
            out.push(Name::from(c.to_ascii_uppercase()));
        } else {
            sink.err(
                v.span(),
                format!(
                    "bad country {c:?} in {what}: expected an ISO 3166-1 alpha-2 code like \"JP\""
                ),
            );
        }
    }
    out
}

fn asns(sink: &mut Sink, v: &Spanned<IntList>, what: &str) -> Vec<u32> {
    if v.get_ref().0.is_empty() {
        sink.err(
            v.span(),
            format!("match.{what} is an empty list: it would match nothing"),
        );
    }
    let mut out = Vec::new();
    for &n in &v.get_ref().0 {
        match u32::try_from(n) {
            Ok(a) => out.push(a),
            Err(_) => sink.err(
                v.span(),
                format!("bad AS number {n} in match.{what}: expected 0..=4294967295"),
            ),
        }
    }
    out
}

fn bits(sink: &mut Sink, v: &Spanned<StrList>, what: &str, all: &[&str]) -> u8 {
    let mut m = 0u8;
    for s in list_of(sink, v, what) {
        // "停止中" is how Japanese admin consoles write suspended.
        let s = if s == "停止中" {
            "suspended"
        } else {
            s.as_str()
        };
        match all.iter().position(|a| *a == s) {
            Some(i) => m |= 1 << i,
            None => sink.err(
                v.span(),
                format!(
                    "unknown {what} {s:?} in match.{what}: expected {}",
                    one_of(all)
                ),
            ),
        }
    }
    m
}

/// Compiles the enrichment keys of a `[rule.match]`; `None` when there are none.
pub fn compile(sink: &mut Sink, m: &RawMatch) -> Option<Box<EnrichCond>> {
    let c = EnrichCond {
        country: m
            .country
            .as_ref()
            .map(|v| countries(sink, v, "match.country")),
        not_country: m
            .not_country
            .as_ref()
            .map(|v| countries(sink, v, "match.not_country"))
            .unwrap_or_default(),
        asn: m.asn.as_ref().map(|v| asns(sink, v, "asn")),
        not_asn: m
            .not_asn
            .as_ref()
            .map(|v| asns(sink, v, "not_asn"))
            .unwrap_or_default(),
        anonymous: m.anonymous.as_ref().map(|v| match v.get_ref() {
            Anonymity::Flag(b) => AnonCond::Flag(*b),
            Anonymity::Kinds(k) => AnonCond::Kinds(bits(
                sink,
                &Spanned::new(v.span(), StrList(k.clone())),
                "anonymous",
                ANON_KINDS,
            )),
        }),
        in_list: m
            .in_list
            .as_ref()
            .map(|v| names(&list_of(sink, v, "in_list"))),
        not_in_list: m
            .not_in_list
            .as_ref()
            .map(|v| names(&list_of(sink, v, "not_in_list")))
            .unwrap_or_default(),
        account_status: m
            .account_status
            .as_ref()
            .map(|v| bits(sink, v, "account_status", STATUSES)),
        admin: m.admin.as_ref().map(|v| *v.get_ref()),
        group: m.group.as_ref().map(|v| names(&list_of(sink, v, "group"))),
        exempt: m.exempt.as_ref().map(|v| *v.get_ref()),
    };
    (!c.is_empty()).then(|| Box::new(c))
}

#[cfg(test)]
mod tests;
