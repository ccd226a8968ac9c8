//! Durations as rule files write them: `"90s"`, `"10m"`, `"1h30m"`, `"7d"`.
//!
//! Hand-written rather than taken from a crate on purpose: the accepted grammar is
//! deliberately tiny (whole seconds, units `s m h d`, no months or years whose
//! length varies, no fractions), every error message must speak the rule-file
//! vocabulary, and the engine wants plain milliseconds (`i64`) it can add to event
//! times without conversions on the hot path.

use std::fmt;

/// A positive span of event time, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(i64);

/// The longest duration a rule may name (about 10 years): keeps every `at + duration`
/// and every escalation product far from `i64` overflow.
const MAX_MS: i64 = 3650 * 86_400_000;

impl Dur {
    /// From milliseconds (tests and arithmetic).
    pub const fn from_ms(ms: i64) -> Dur {
        Dur(ms)
    }

    /// From whole seconds.
    pub const fn from_secs(s: i64) -> Dur {
        Dur(s * 1000)
    }

    /// Milliseconds.
    pub const fn ms(self) -> i64 {
        self.0
    }

    /// As a chrono delta, for decision times.
    pub fn delta(self) -> chrono::TimeDelta {
        chrono::TimeDelta::milliseconds(self.0)
    }

    /// Parses `"90s"`, `"10m"`, `"1h30m"`, `"7d"`. Zero is refused: every duration a
    /// rule names (window, lock, suppression) must be positive to mean anything.
    pub fn parse(s: &str) -> Result<Dur, String> {
        let bad = || {
            format!(
                "bad duration {s:?}: expected a positive number followed by a unit, \
                 units s, m, h, d, optionally combined (\"90s\", \"10m\", \"1h30m\", \"7d\")"
            )
        };
        let mut total: i64 = 0;
        let mut num: Option<i64> = None;
        let mut last_unit = u8::MAX;
        for b in s.bytes() {
            match b {
                b'0'..=b'9' => {
                    let d = i64::from(b - b'0');
                    let n = num
                        .unwrap_or(0)
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(d));
                    num = Some(n.ok_or_else(bad)?);
                }
                _ => {
                    let (rank, unit_ms) = match b {
                        b'd' => (0, 86_400_000),
                        b'h' => (1, 3_600_000),
                        b'm' => (2, 60_000),
                        b's' => (3, 1000),
                        _ => return Err(bad()),
                    };
                    // Units must go from large to small, each at most once ("1h30m", not "30m1h").
                    if last_unit != u8::MAX && rank <= last_unit {
                        return Err(bad());
                    }
                    last_unit = rank;
                    let n = num.take().ok_or_else(bad)?;
                    total = n
                        .checked_mul(unit_ms)
                        .and_then(|v| total.checked_add(v))
                        .ok_or_else(bad)?;
                }
            }
        }
        if num.is_some() || last_unit == u8::MAX {
            return Err(bad());
        }
        if total == 0 {
            return Err(format!("duration {s:?} is zero: it must be positive"));
        }
        if total > MAX_MS {
            return Err(format!("duration {s:?} is longer than 3650d"));
        }
        Ok(Dur(total))
    }
}

impl fmt::Display for Dur {
    /// The canonical spelling (`"1h30m"`), so messages and listings read like rule files.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0 / 1000;
        if rest == 0 {
            return write!(f, "{}ms", self.0);
        }
        for (unit, secs) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
            if rest >= secs {
                write!(f, "{}{unit}", rest / secs)?;
                rest %= secs;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_combined_units() {
        assert_eq!(Dur::parse("90s"), Ok(Dur::from_secs(90)));
        assert_eq!(Dur::parse("10m"), Ok(Dur::from_secs(600)));
        assert_eq!(Dur::parse("1h30m"), Ok(Dur::from_secs(5400)));
        assert_eq!(Dur::parse("7d"), Ok(Dur::from_secs(7 * 86_400)));
        assert_eq!(Dur::parse("1d2h3m4s"), Ok(Dur::from_secs(93_784)));
    }

    #[test]
    fn refuses_malformed_zero_and_huge() {
        for s in [
            "",
            "10",
            "m",
            "10x",
            "1.5h",
            "30m1h",
            "1h1h",
            "-5m",
            " 5m",
            "0s",
            "0h0m",
            "99999999999999999999d",
            "4000d",
        ] {
            assert!(Dur::parse(s).is_err(), "{s:?} accepted");
        }
    }

    #[test]
    fn displays_canonically() {
        assert_eq!(Dur::parse("90m").map(|d| d.to_string()), Ok("1h30m".into()));
        assert_eq!(Dur::from_secs(7 * 86_400).to_string(), "7d");
    }
}
