//! The account page's chart: failures and successes per hour over the last
//! week, as the numbers an inline SVG draws (no script: the page's CSP allows
//! none, and the SVG's colours come from classes in `ui.css`, as a strict
//! `style-src` refuses `style=` attributes).
//!
//! Pure: the hourly counts of the account's history, the time it is now and
//! the admin's zone in, coordinates and labels out. The hours are UTC hours
//! (what the history counts); the day lines fall on the zone's midnights,
//! between two bars in a zone a whole number of hours from UTC, inside one
//! where it is not (India's +05:30): the axis is time, the bars are hours.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::account::history::{HourCount, hours::MAX_HOURS};

/// Width of one hour in the SVG's user units.
pub const HOUR_W: u32 = 4;
/// Height of the plot (bars) in user units; the day labels go below.
pub const PLOT_H: u32 = 100;

/// One hour's bar: success at the bottom, failures stacked on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    pub x: u32,
    /// Top and height of the failures' part.
    pub fail_y: u32,
    pub fail_h: u32,
    /// Top and height of the successes' part.
    pub ok_y: u32,
    pub ok_h: u32,
}

/// A day line at the zone's midnight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tick {
    /// Position in user units (a fraction of an hour where the zone is not
    /// a whole number of hours from UTC).
    pub x: f64,
    /// `12-05`.
    pub label: String,
}

/// An hour with activity, for the table screen readers (and the curious) read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The hour's start in the zone (`2026-12-05 14:00 JST`).
    pub hour: String,
    pub failures: u16,
    pub successes: u16,
}

/// What the template draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    pub width: u32,
    pub plot_h: u32,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    /// Newest first.
    pub rows: Vec<Row>,
    pub failures: u32,
    pub successes: u32,
    /// The most attempts in one hour (the scale's top).
    pub max: u32,
    /// The window, in the zone: its first hour's start and now.
    pub from: String,
    pub to: String,
}

/// The chart of `hours` for the [`MAX_HOURS`] hours up to and including the
/// one `now` is in, in `tz`.
pub fn chart<'a>(hours: impl Iterator<Item = &'a HourCount>, now: DateTime<Utc>, tz: Tz) -> Chart {
    let last = u32::try_from(now.timestamp().div_euclid(3600)).unwrap_or(0);
    let first = last.saturating_sub(MAX_HOURS - 1);
    let shown: Vec<&HourCount> = hours.filter(|h| (first..=last).contains(&h.hour)).collect();
    let max = shown
        .iter()
        .map(|h| u32::from(h.failures) + u32::from(h.successes))
        .max()
        .unwrap_or(0);
    // Heights in whole units, each non-empty part at least one unit high so
    // a single failure next to a flood still shows.
    let scale = |n: u16| -> u32 {
        if n == 0 || max == 0 {
            0
        } else {
            (u32::from(n) * PLOT_H).div_ceil(max).max(1)
        }
    };
    let bars = shown
        .iter()
        .map(|h| {
            let ok_h = scale(h.successes);
            let fail_h = scale(h.failures).min(PLOT_H - ok_h);
            Bar {
                x: (h.hour - first) * HOUR_W,
                ok_y: PLOT_H - ok_h,
                ok_h,
                fail_y: PLOT_H - ok_h - fail_h,
                fail_h,
            }
        })
        .collect();
    let start = hour_start(first);
    let end = start + Duration::hours(i64::from(MAX_HOURS));
    let show_hour = |h: u32| super::zone::show(hour_start(h), tz);
    Chart {
        width: MAX_HOURS * HOUR_W,
        plot_h: PLOT_H,
        bars,
        ticks: midnights(start, end, tz)
            .into_iter()
            .map(|m| Tick {
                x: (m - start).num_seconds() as f64 * f64::from(HOUR_W) / 3600.0,
                label: m.with_timezone(&tz).format("%m-%d").to_string(),
            })
            .collect(),
        rows: shown
            .iter()
            .rev()
            .map(|h| Row {
                hour: show_hour(h.hour),
                failures: h.failures,
                successes: h.successes,
            })
            .collect(),
        failures: shown.iter().map(|h| u32::from(h.failures)).sum(),
        successes: shown.iter().map(|h| u32::from(h.successes)).sum(),
        max,
        from: show_hour(first),
        to: super::zone::show(now, tz),
    }
}

fn hour_start(hour: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(i64::from(hour) * 3600, 0)
        .single()
        .unwrap_or_default()
}

/// The zone's midnights strictly inside `(start, end)`. Where a midnight
/// does not exist (a zone whose clocks jump at 00:00), the day starts at the
/// first time that does.
fn midnights(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut day = start.with_timezone(&tz).date_naive();
    while let Some(next) = day.succ_opt() {
        day = next;
        let m = (0..=4)
            .find_map(|h| {
                tz.from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(h, 0, 0)?))
                    .earliest()
            })
            .map(|m| m.with_timezone(&Utc));
        match m {
            Some(m) if m >= end => break,
            Some(m) if m > start => out.push(m),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(hour: u32, failures: u16, successes: u16) -> HourCount {
        HourCount {
            hour,
            failures,
            successes,
        }
    }

    /// 2026-12-07 16:50 UTC; its hour is number 499_600 + ...
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 16, 50, 0).unwrap()
    }

    fn hour_of(t: DateTime<Utc>) -> u32 {
        (t.timestamp() / 3600) as u32
    }

    #[test]
    fn bars_stack_successes_under_failures_scaled_to_the_busiest_hour() {
        let h = hour_of(now());
        let counts = [
            count(h - 500, 9, 9), // older than the week: left out
            count(h - 167, 1, 0), // the first hour shown
            count(h - 2, 8, 2),
            count(h, 0, 1),
        ];
        let c = chart(counts.iter(), now(), Tz::UTC);
        assert_eq!(c.width, 168 * HOUR_W);
        assert_eq!((c.failures, c.successes, c.max), (9, 3, 10));
        assert_eq!(c.bars.len(), 3);
        let b = &c.bars[0];
        assert_eq!((b.x, b.fail_h, b.ok_h), (0, 10, 0));
        let b = &c.bars[1];
        assert_eq!(b.x, 165 * HOUR_W);
        assert_eq!((b.ok_y, b.ok_h, b.fail_y, b.fail_h), (80, 20, 0, 80));
        let b = &c.bars[2];
        assert_eq!((b.x, b.ok_h, b.fail_h), (167 * HOUR_W, 10, 0));
        // The table: newest first, in the zone.
        assert_eq!(c.rows[0].hour, "2026-12-07 16:00 UTC");
        assert_eq!(
            (c.rows[1].failures, c.rows[1].successes),
            (8, 2),
            "{:?}",
            c.rows
        );
        assert_eq!(c.rows.len(), 3);
        assert_eq!(c.from, "2026-11-30 17:00 UTC");
        assert_eq!(c.to, "2026-12-07 16:50 UTC");
    }

    #[test]
    fn one_failure_beside_a_flood_still_shows() {
        let h = hour_of(now());
        let counts = [count(h - 1, 1, 0), count(h, 60_000, 0)];
        let c = chart(counts.iter(), now(), Tz::UTC);
        assert_eq!(c.bars[0].fail_h, 1);
        assert_eq!(c.bars[1].fail_h, PLOT_H);
    }

    #[test]
    fn day_lines_fall_on_the_zones_midnights() {
        let c = chart(std::iter::empty(), now(), Tz::UTC);
        assert!(c.bars.is_empty() && c.rows.is_empty());
        // UTC: the window starts 2026-11-30 17:00; midnights 12-01 .. 12-07.
        let labels: Vec<&str> = c.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "12-01", "12-02", "12-03", "12-04", "12-05", "12-06", "12-07"
            ]
        );
        assert_eq!(c.ticks[0].x, 7.0 * f64::from(HOUR_W));
        // Tokyo is 9 hours ahead: the window starts 12-01 02:00 JST, and
        // the first midnight (12-02 JST) is 15:00 UTC, 22 hours in.
        let tokyo = chart(std::iter::empty(), now(), chrono_tz::Asia::Tokyo);
        assert_eq!(tokyo.from, "2026-12-01 02:00 JST");
        assert_eq!(tokyo.ticks[0].label, "12-02");
        assert_eq!(tokyo.ticks[0].x, 22.0 * f64::from(HOUR_W));
        assert_eq!(tokyo.to, "2026-12-08 01:50 JST");
        assert_eq!(tokyo.ticks.last().unwrap().label, "12-08");
        // India, +05:30: midnight is 18:30 UTC, half-way into a bar.
        let india = chart(std::iter::empty(), now(), chrono_tz::Asia::Kolkata);
        assert_eq!(india.ticks[0].x, 1.5 * f64::from(HOUR_W));
        assert_eq!(india.from, "2026-11-30 22:30 IST");
    }

    #[test]
    fn a_day_that_skips_midnight_starts_at_its_first_hour() {
        // Chile moves its clocks forward at 00:00 (to 01:00) on 2026-09-06.
        let now = Utc.with_ymd_and_hms(2026, 9, 8, 12, 0, 0).unwrap();
        let c = chart(std::iter::empty(), now, chrono_tz::America::Santiago);
        assert!(c.ticks.iter().any(|t| t.label == "09-06"), "{:?}", c.ticks);
        assert_eq!(c.ticks.len(), 7);
    }
}
