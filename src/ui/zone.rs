//! The time zone the page shows times in: the admin's choice (`?tz=`, then
//! remembered in a cookie, like `?lang=`), else the configuration's
//! (`[ui] tz`), else the host's, else UTC. Every time shown carries its
//! zone's abbreviation (`JST`, `CET`, or the offset where the zone has none),
//! so an admin on the phone to a user in another office knows which 09:00.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::session;

/// The zone cookie's name (not secret: an IANA zone name).
pub const TZ_COOKIE: &str = "lw_tz";

/// Zones offered in the page's selector, besides the configured one and the
/// admin's current choice (any IANA name works through `?tz=`).
const OFFERED: &[Tz] = &[
    Tz::UTC,
    chrono_tz::Asia::Tokyo,
    chrono_tz::Asia::Seoul,
    chrono_tz::Asia::Shanghai,
    chrono_tz::Asia::Singapore,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Europe::London,
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::America::Los_Angeles,
    chrono_tz::Australia::Sydney,
];

/// The host's zone when its IANA name is known, else UTC.
pub fn host() -> Tz {
    iana_time_zone::get_timezone()
        .ok()
        .and_then(|n| n.parse::<Tz>().ok())
        .unwrap_or(Tz::UTC)
}

/// `2026-11-14 15:25 JST`.
pub fn show(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// `2026-11-14 15:25:03 JST`, for the timeline (attempts seconds apart).
pub fn show_secs(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// The zone of a request and, when `?tz=` chose it, the cookie remembering
/// it. An unknown name in `?tz=` or the cookie is ignored.
pub fn choose(
    h: &HeaderMap,
    asked: Option<&str>,
    default: Tz,
    secure: bool,
) -> (Tz, Option<String>) {
    if let Some(tz) = asked.and_then(|a| a.parse::<Tz>().ok()) {
        return (tz, Some(cookie(tz, secure)));
    }
    let remembered = session::cookie(h, TZ_COOKIE)
        .and_then(|c| percent_encoding::percent_decode_str(c).decode_utf8().ok())
        .and_then(|c| c.parse::<Tz>().ok());
    (remembered.unwrap_or(default), None)
}

/// The cookie remembering `tz` (names hold `/`, hence the encoding).
fn cookie(tz: Tz, secure: bool) -> String {
    format!(
        "{TZ_COOKIE}={}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=31536000{}",
        percent_encoding::utf8_percent_encode(tz.name(), percent_encoding::NON_ALPHANUMERIC),
        if secure { "; Secure" } else { "" }
    )
}

/// The selector's zones: the configured one, the current one, the offered
/// ones, each once, in that order.
pub fn offered(current: Tz, default: Tz) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for tz in [default, current]
        .into_iter()
        .chain(OFFERED.iter().copied())
    {
        if !v.contains(&tz.name()) {
            v.push(tz.name());
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use chrono::TimeZone;

    #[test]
    fn times_carry_the_zone_abbreviation() {
        let t = Utc.with_ymd_and_hms(2026, 11, 14, 6, 25, 3).unwrap();
        assert_eq!(show(t, chrono_tz::Asia::Tokyo), "2026-11-14 15:25 JST");
        assert_eq!(show(t, Tz::UTC), "2026-11-14 06:25 UTC");
        assert_eq!(
            show_secs(t, chrono_tz::Europe::Berlin),
            "2026-11-14 07:25:03 CET"
        );
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 6, 0, 0).unwrap();
        assert_eq!(
            show(summer, chrono_tz::Europe::Berlin),
            "2026-07-01 08:00 CEST"
        );
        // A zone without an abbreviation shows its offset.
        assert_eq!(show(t, chrono_tz::Asia::Dubai), "2026-11-14 10:25 +04");
    }

    #[test]
    fn the_choice_is_the_parameter_then_the_cookie_then_the_default() {
        let none = HeaderMap::new();
        let (tz, c) = choose(&none, Some("Asia/Tokyo"), Tz::UTC, false);
        assert_eq!(tz, chrono_tz::Asia::Tokyo);
        let c = c.unwrap();
        assert!(
            c.starts_with("lw_tz=Asia%2FTokyo;") && c.contains("HttpOnly"),
            "{c}"
        );
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            HeaderValue::from_static("lw_lang=ja; lw_tz=Europe%2FBerlin"),
        );
        assert_eq!(
            choose(&h, None, Tz::UTC, false),
            (chrono_tz::Europe::Berlin, None)
        );
        // Nonsense is ignored, never an error.
        assert_eq!(
            choose(&h, Some("Mars/Olympus"), Tz::UTC, false).0,
            chrono_tz::Europe::Berlin
        );
        assert_eq!(choose(&none, Some("<x>"), Tz::UTC, true), (Tz::UTC, None));
        assert!(
            choose(&none, Some("UTC"), Tz::UTC, true)
                .1
                .unwrap()
                .ends_with("; Secure")
        );
    }

    #[test]
    fn the_selector_lists_each_zone_once_the_configured_first() {
        let v = offered(chrono_tz::Asia::Tokyo, chrono_tz::America::Denver);
        assert_eq!(v[0], "America/Denver");
        assert_eq!(v[1], "Asia/Tokyo");
        assert_eq!(v.iter().filter(|z| **z == "Asia/Tokyo").count(), 1);
        assert!(v.contains(&"UTC"));
    }
}
