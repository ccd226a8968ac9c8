//! `[ui]`: the helpdesk page: the time zone its times are shown in (each
//! admin may choose another on the page), and whether its cookies are
//! `Secure` (the page is reached over TLS through a proxy).

use serde::Deserialize;
use toml::Spanned;

use super::load::Cx;

/// `[ui]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUi {
    /// IANA zone name (`Asia/Tokyo`); default: the host's zone, else UTC.
    pub tz: Option<Spanned<String>>,
    /// Cookies marked `Secure`: the page is reached through a TLS proxy.
    pub secure_cookies: Option<bool>,
}

/// The helpdesk page's settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UiConfig {
    /// The zone times are shown in; `None`: the host's (resolved when the
    /// page starts, `crate::ui::zone`), else UTC.
    pub tz: Option<chrono_tz::Tz>,
    /// Mark the session and CSRF cookies `Secure`. The daemon's listener
    /// speaks plain HTTP (on loopback by default); TLS, where the page is
    /// published, is a proxy's, which only the operator knows of.
    pub secure_cookies: bool,
}

/// Checks `[ui]`, recording every problem at its line.
pub(super) fn ui(cx: &mut Cx, raw: &Spanned<RawUi>) -> UiConfig {
    let mut out = UiConfig {
        secure_cookies: raw.get_ref().secure_cookies.unwrap_or(false),
        ..UiConfig::default()
    };
    if let Some(z) = &raw.get_ref().tz {
        match z.get_ref().parse::<chrono_tz::Tz>() {
            Ok(tz) => out.tz = Some(tz),
            Err(_) => cx.err(
                z.span(),
                format!(
                    "[ui] tz {:?} is not an IANA time zone name (e.g. \"Asia/Tokyo\", \"UTC\")",
                    z.get_ref()
                ),
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn a_zone_is_read_and_a_wrong_one_is_reported_at_its_line() {
        let ok =
            super::super::load_text("[ui]\ntz = \"Asia/Tokyo\"\n", Path::new("c.toml"), &|_| {
                None
            })
            .unwrap();
        assert_eq!(ok.ui.tz, Some(chrono_tz::Asia::Tokyo));
        assert!(!ok.ui.secure_cookies);
        let tls = super::super::load_text(
            "[ui]\nsecure_cookies = true\n",
            Path::new("c.toml"),
            &|_| None,
        )
        .unwrap();
        assert!(tls.ui.secure_cookies);
        let none = super::super::load_text("", Path::new("c.toml"), &|_| None).unwrap();
        assert_eq!(none.ui.tz, None);
        let e = super::super::load_text(
            "mode = \"fast\"\n[ui]\ntz = \"Mars/Olympus\"\n",
            Path::new("c.toml"),
            &|_| None,
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("c.toml:3: [ui] tz \"Mars/Olympus\""),
            "{text}"
        );
        assert!(
            text.contains("c.toml:1: unknown mode"),
            "every error: {text}"
        );
        let e = super::super::load_text("[ui]\nzone = \"UTC\"\n", Path::new("c.toml"), &|_| None)
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("c.toml:2: [ui]: unknown field `zone`"),
            "{e}"
        );
    }
}
