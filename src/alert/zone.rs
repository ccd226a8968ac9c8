//! The time zone alerts are written in, with its name.
//!
//! An admin reading "15:25" must know which 15:25: every time in an alert carries
//! the zone's abbreviation (`JST`, `CET`), and the alert names the zone once
//! (`Asia/Tokyo`). The default is the host's zone; chrono's `Local` knows only
//! an offset, so the host's IANA name is looked up (`iana-time-zone`, which
//! reads `TZ` and `/etc/localtime` portably) and used when chrono-tz knows it.

use chrono::{DateTime, Local, Utc};

use crate::parse::Zone;

/// A zone resolved for display.
#[derive(Debug, Clone, PartialEq)]
pub struct DisplayZone {
    zone: Zone,
    name: String,
}

impl DisplayZone {
    /// Resolves `zone`; `Zone::Local` becomes the host's named zone when it can be
    /// found, else stays `Local` and is named by its offset.
    pub fn new(zone: Zone) -> DisplayZone {
        let zone = match zone {
            Zone::Local => iana_time_zone::get_timezone()
                .ok()
                .and_then(|n| n.parse::<chrono_tz::Tz>().ok())
                .map_or(Zone::Local, Zone::Named),
            z => z,
        };
        let name = match zone {
            Zone::Utc => "UTC".to_string(),
            Zone::Named(tz) => tz.name().to_string(),
            Zone::Local => format!("UTC{}", Local::now().format("%:z")),
        };
        DisplayZone { zone, name }
    }

    /// The zone's name (`Asia/Tokyo`, `UTC`, or `UTC+09:00` for an unnamed host zone).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `2026-11-14 15:25:03 JST`: the wall-clock time and the zone's abbreviation
    /// (or offset where the zone has no abbreviation).
    pub fn show(&self, t: &DateTime<Utc>) -> String {
        const F: &str = "%Y-%m-%d %H:%M:%S";
        match self.zone {
            Zone::Utc => format!("{} UTC", t.format(F)),
            Zone::Named(tz) => t.with_timezone(&tz).format(&format!("{F} %Z")).to_string(),
            Zone::Local => t
                .with_timezone(&Local)
                .format(&format!("{F} %:z"))
                .to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_carry_the_zone() {
        let t = Utc.with_ymd_and_hms(2026, 11, 14, 6, 25, 3).unwrap();
        let tokyo = DisplayZone::new("Asia/Tokyo".parse().unwrap());
        assert_eq!(tokyo.show(&t), "2026-11-14 15:25:03 JST");
        assert_eq!(tokyo.name(), "Asia/Tokyo");
        let utc = DisplayZone::new(Zone::Utc);
        assert_eq!(utc.show(&t), "2026-11-14 06:25:03 UTC");
        assert_eq!(utc.name(), "UTC");
        // The host's zone always gets some name, never an empty one.
        assert!(!DisplayZone::new(Zone::Local).name().is_empty());
    }
}
