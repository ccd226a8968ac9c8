//! `kind = "travel"`: impossible travel. Two successful logins of one user
//! whose great-circle distance over the time between them means a speed no
//! traveller reaches (default 900 km/h, an airliner's cruise) are two people
//! holding one credential.
//!
//! Per user the engine keeps one entry: the last located success (time,
//! address, location in micro-degrees), in the ordinary key state, so it is
//! bounded by `max_keys`, swept after `window` and snapshotted like any window.
//! A success is compared with it and then replaces it. Pairs are ignored when
//! either side has no location (no GeoIP data, an unplaced address), comes
//! from an `ignore_cidrs` range (corporate networks and VPN egress, whose
//! GeoIP place is not the user's), has the same address, or lies closer than
//! `min_distance_km` (GeoIP places a city to tens of kilometres, and a country
//! only by its centre).

use crate::decision::{Decision, Mode};
use crate::event::AuthEvent;
use crate::rules::cond::in_nets;
use crate::rules::fire::fire;
use crate::rules::key::Val;
use crate::rules::model::Rule;
use crate::rules::params::Travel;
use crate::rules::raw::RawRule;
use crate::rules::rule_state::RuleState;
use crate::rules::sink::{Sink, cidrs};
use crate::rules::trace::{Note, Status, Tracer, ip_text, key_text, success_matches};
use crate::rules::window::Entry;
use chrono::{DateTime, Utc};

/// Default `max_speed_kmh`: a jet airliner's cruising speed.
pub const DEFAULT_SPEED_KMH: u32 = 900;

/// Default `min_distance_km`: below this, distance is GeoIP imprecision.
pub const DEFAULT_MIN_DISTANCE_KM: u32 = 100;

/// Mean Earth radius (IUGG), in km.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in km between two (latitude, longitude) points in
/// degrees (haversine: accurate at every distance, unlike the spherical law of
/// cosines for short ones).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

fn micro(deg: f64) -> i32 {
    // In range by the caller's check (|deg| <= 180), so the cast is exact enough.
    (deg * 1e6).round() as i32
}

fn degrees(m: i32) -> f64 {
    f64::from(m) / 1e6
}

/// The event's location, when it has a plausible one.
fn location(ev: &AuthEvent) -> Option<(f64, f64)> {
    let (lat, lon) = ev.geo.as_ref()?.location?;
    (lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0)
        .then_some((lat, lon))
}

/// One event through a `travel` rule.
pub(super) fn step<T: Tracer>(
    rule: &Rule,
    tr: &Travel,
    st: &mut RuleState,
    ev: &AuthEvent,
    t: i64,
    mode: Mode,
    trace: &mut T,
) -> Option<Decision> {
    if !success_matches(rule, ev, trace) {
        return None;
    }
    let ignored = |why: &str| Note::plain(Status::Ignored, why);
    let Some(ip) = ev.source_ip else {
        trace.note(|| ignored("the event has no source address"));
        return None;
    };
    if in_nets(&tr.ignore_cidrs, &ip) {
        trace.note(|| ignored("the address is in ignore_cidrs"));
        return None;
    }
    let Some(here) = location(ev) else {
        trace.note(|| ignored("no location for the address (GeoIP)"));
        return None;
    };
    let Some(key) = rule.group_by.key(ev) else {
        trace.note(|| Note::no_key(rule));
        return None;
    };
    st.touch(rule, &key, ev, t);
    let ks = st.keys.get_mut(&key)?;
    // A success older than the window says nothing about this one.
    let window = rule.window.ms();
    ks.expire(t.saturating_sub(window));
    let prev = ks.entries.last().cloned();
    let mut out = None;
    let learned = |why: String| Note::keyed(Status::Learned, key_text(&key), why);
    match &prev {
        Some(p) if p.ip == Some(ip) => {
            trace.note(|| learned("the same address as the previous located success".into()));
        }
        Some(
            p @ Entry {
                val: Some(Val::Geo(plat, plon)),
                ..
            },
        ) => {
            let km = distance_km((degrees(*plat), degrees(*plon)), here);
            let hours = p.t.abs_diff(t) as f64 / 3_600_000.0;
            let trip = || {
                format!(
                    "{km:.0} km from {} in {hours:.1} h (max_speed_kmh = {}, min_distance_km = {})",
                    ip_text(p.ip),
                    tr.max_speed_kmh,
                    tr.min_distance_km
                )
            };
            if km >= f64::from(tr.min_distance_km) && km > f64::from(tr.max_speed_kmh) * hours {
                if ks.quiet_until > t {
                    st.suppressed += 1;
                    trace.note(|| Note::suppressed(key_text(&key), ks.quiet_until));
                } else {
                    trace.note(|| Note::keyed(Status::Fired, key_text(&key), trip()));
                    st.decisions += 1;
                    let mut d = fire(rule, ks, &key, ev, t, mode, true);
                    d.evidence.count = 2;
                    out = Some(d);
                }
            } else {
                trace.note(|| learned(format!("possible: {}", trip())));
            }
        }
        _ => trace.note(|| learned(format!("no located success within {}", rule.window))),
    }
    // The newest located success is what the next one is compared with.
    if prev.as_ref().is_none_or(|p| p.t <= t) {
        ks.entries.clear();
        ks.entries.push(Entry {
            t,
            ip: Some(ip),
            user: ev.user.clone(),
            val: Some(Val::Geo(micro(here.0), micro(here.1))),
        });
    }
    out
}

/// Compiles the `travel` keys of a rule (each refused on other kinds by the caller).
pub fn compile(sink: &mut Sink, raw: &RawRule) -> Travel {
    let mut num = |v: &Option<toml::Spanned<i64>>, what: &str, default: u32| match v {
        None => default,
        Some(v) => match u32::try_from(*v.get_ref()) {
            Ok(n @ 1..=100_000) => n,
            _ => {
                sink.err(
                    v.span(),
                    format!("{what} {} must be 1..=100000", v.get_ref()),
                );
                default
            }
        },
    };
    let max_speed_kmh = num(&raw.max_speed_kmh, "max_speed_kmh", DEFAULT_SPEED_KMH);
    let min_distance_km = num(
        &raw.min_distance_km,
        "min_distance_km",
        DEFAULT_MIN_DISTANCE_KM,
    );
    Travel {
        max_speed_kmh,
        min_distance_km,
        ignore_cidrs: raw
            .ignore_cidrs
            .as_ref()
            .map(|v| cidrs(sink, v, "ignore_cidrs"))
            .unwrap_or_default(),
    }
}

/// Speed in km/h between two located events (for messages and tests).
pub fn speed_kmh(a: (f64, f64), at: DateTime<Utc>, b: (f64, f64), bt: DateTime<Utc>) -> f64 {
    let hours = (bt - at).num_milliseconds().unsigned_abs() as f64 / 3_600_000.0;
    distance_km(a, b) / hours
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn london_to_linkoping_is_about_1258_km() {
        let london = (51.5142, -0.0931);
        let linkoping = (58.4167, 15.6167);
        let d = distance_km(london, linkoping);
        assert!((d - 1258.0).abs() < 5.0, "{d}");
        assert!((distance_km(linkoping, london) - d).abs() < 1e-9);
        assert_eq!(distance_km(london, london), 0.0);
        // Antipodes: half the circumference, no NaN from rounding.
        let half = distance_km((0.0, 0.0), (0.0, 180.0));
        assert!((half - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6);
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let v = speed_kmh(london, t0, linkoping, t0 + chrono::TimeDelta::hours(2));
        assert!((v - d / 2.0).abs() < 1e-9);
    }

    #[test]
    fn micro_degrees_round_trip() {
        for x in [0.0, 51.5142, -0.0931, 179.999_999, -90.0] {
            assert!((degrees(micro(x)) - x).abs() < 1e-6);
        }
    }
}
