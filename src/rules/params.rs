//! The settings of the kinds that need more than the common keys: what
//! [`super::model::Extra`] holds, as plain data.
//!
//! Compiled by the kind's module under `kinds/` and read by its step there;
//! kept here so that the model is data and imports no kind module.

use ipnet::IpNet;

use super::cond::NameMatch;
use super::duration::Dur;
use super::key::Val;
use crate::event::{AuthEvent, Name};

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// One `[[rule.allow]]`: users (by name or group) and where they may log in from.
#[derive(Debug, Clone)]
pub struct Allow {
    /// User names (or a regex) the allowance applies to.
    pub user: Option<NameMatch>,
    /// Inventory groups the allowance applies to (member of any).
    pub groups: Vec<Name>,
    /// Networks the users may log in from.
    pub cidrs: Vec<IpNet>,
    /// Countries (ISO codes, upper case) the users may log in from.
    pub countries: Vec<Name>,
}

/// The settings of a `travel` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Travel {
    pub max_speed_kmh: u32,
    pub min_distance_km: u32,
    pub ignore_cidrs: Vec<IpNet>,
}

/// What a `novelty` rule learns per user (`field = ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoveltyField {
    /// `country`: `source.geo.country_iso_code`.
    Country,
    /// `asn`: `source.as.number`.
    Asn,
    /// `device`: `device.id`, else `user_agent.original`.
    Device,
}

impl NoveltyField {
    /// Spellings accepted in rule files.
    pub const ALL: &'static [&'static str] = &["country", "asn", "device"];

    /// Parses a rule-file spelling.
    pub fn parse(s: &str) -> Option<NoveltyField> {
        Some(match s {
            "country" => NoveltyField::Country,
            "asn" => NoveltyField::Asn,
            "device" => NoveltyField::Device,
            _ => return None,
        })
    }

    /// The rule-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NoveltyField::Country => "country",
            NoveltyField::Asn => "asn",
            NoveltyField::Device => "device",
        }
    }

    /// True when the value comes from GeoIP (the rule is inactive without a
    /// database).
    pub fn uses_geo(self) -> bool {
        matches!(self, NoveltyField::Country | NoveltyField::Asn)
    }

    /// The event's value, if it has one (no allocation: names are shared).
    #[inline]
    pub fn value(self, ev: &AuthEvent) -> Option<Val> {
        match self {
            NoveltyField::Country => ev.geo.as_ref()?.country_iso_code.clone().map(Val::Name),
            NoveltyField::Asn => ev.geo.as_ref()?.as_number.map(Val::Asn),
            NoveltyField::Device => ev
                .device_id
                .clone()
                .or_else(|| ev.user_agent.clone())
                .map(Val::Name),
        }
    }
}

/// The settings of a `novelty` rule (the learning period is its `window`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Novelty {
    pub field: NoveltyField,
    pub quiet: Dur,
}

/// The settings of a `dormant` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dormant {
    /// Idle days that make a success a reactivation.
    pub days: u32,
}

impl Dormant {
    /// The idle span, in milliseconds.
    pub fn idle_ms(self) -> i64 {
        i64::from(self.days) * DAY_MS
    }
}

/// The settings of a `password-age` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordAge {
    pub max_age: Dur,
    /// `None`: no reminder.
    pub remind_before: Option<Dur>,
}

/// The settings of an `inactive` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inactive {
    pub days: u32,
}
