//! The templates, embedded in the binary, and their rendering.
//!
//! Auto-escaping is on for every template (HTML), undefined values are
//! errors (a typo in a template fails the tests, not silently renders
//! nothing), and the `shown` filter is for every string a user or a log line
//! chose: it writes control characters and the format characters that
//! reorder or hide text (U+202E, zero-width spaces) as visible escapes, the
//! way [`crate::escape::Escaped`] does on a terminal, before the HTML
//! escaping. A name that renders as `alice` but is not must not look like her.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::escape::Escaped;

/// Every template: name and source.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("index.html", include_str!("templates/index.html")),
    ("account.html", include_str!("templates/account.html")),
    ("error.html", include_str!("templates/error.html")),
];

/// The style sheet, served at `/ui/static/ui.css`.
pub const CSS: &str = include_str!("templates/ui.css");

/// The templates, parsed once.
pub struct Pages {
    env: Environment<'static>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages").finish_non_exhaustive()
    }
}

/// A template that cannot render (a bug: the tests render each one).
#[derive(Debug, thiserror::Error)]
#[error("page template {name}: {message}")]
pub struct RenderError {
    name: &'static str,
    message: String,
}

impl Pages {
    /// Parses the embedded templates; `Err` only if one is broken.
    pub fn new() -> Result<Pages, RenderError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_filter("shown", shown);
        for (name, src) in TEMPLATES {
            env.add_template(name, src).map_err(|e| RenderError {
                name,
                message: e.to_string(),
            })?;
        }
        Ok(Pages { env })
    }

    /// Renders `name` with `ctx`.
    pub fn render(&self, name: &'static str, ctx: impl Serialize) -> Result<String, RenderError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(minijinja::value::Serde(ctx)))
            .map_err(|e| RenderError {
                name,
                message: e.to_string(),
            })
    }
}

/// Control and hiding characters as visible escapes (the HTML escaping
/// follows, by auto-escape).
fn shown(s: String) -> String {
    Escaped(&s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpdesk::Language;
    use serde_json::json;

    #[test]
    fn hostile_strings_render_as_text() {
        let p = Pages::new().unwrap();
        let ctx = json!({
            "lang": "en", "t": crate::ui::text::words(Language::En), "csrf": "",
            "nav": { "lang_href": "?lang=ja", "keep": [], "zones": [], "tz": "" },
            "message": "<script>alert(1)</script> \u{1b}[31mred \u{202e}evil",
        });
        let html = p.render("error.html", ctx).unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
        assert!(!html.contains('\u{1b}') && !html.contains('\u{202e}'));
        assert!(
            html.contains("\\u{1b}[31mred") && html.contains("\\u{202e}evil"),
            "{html}"
        );
    }

    #[test]
    fn the_account_page_escapes_what_logs_and_geoip_chose() {
        let p = Pages::new().unwrap();
        let evil = "<img src=x onerror=alert(1)>\u{202e}gpj.exe";
        let attempt = json!({
            "at": "2026-11-14 15:25:03 JST", "action": "login", "outcome": "failure",
            "reason": "unknown_user", "detail": null, "ip": "192.0.2.1", "country": evil,
            "asn": evil, "device": evil, "service": evil, "typed": evil, "known_source": false,
        });
        let ctx = json!({
            "lang": "ja", "t": crate::ui::text::words(Language::Ja), "csrf": "c",
            "nav": { "lang_href": "?lang=en", "keep": [{ "name": "q", "value": evil }], "zones": ["UTC"], "tz": "UTC" },
            "user": evil, "causes": [], "locks": [], "audit": [], "unlocked": false,
            "os_locks": [{ "since": null, "module": "pam_faillock", "command": evil, "next_step": "" }],
            "blocks": [], "timeline": [attempt], "chart": null,
        });
        let html = p.render("account.html", ctx).unwrap();
        // The zone form carries the page's other parameters back exactly
        // (HTML-escaped, in a hidden field nobody sees); everything shown is
        // made visible.
        let hidden = "<input type=\"hidden\" name=\"q\" value=\"&lt;img src=x onerror=alert(1)&gt;\u{202e}gpj.exe\">";
        assert!(html.contains(hidden), "{html}");
        let html = html.replace(hidden, "");
        assert!(
            !html.contains("<img") && !html.contains('\u{202e}'),
            "{html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;\\u{202e}gpj.exe"),
            "{html}"
        );
        assert!(
            html.contains("<section id=\"timeline\">") && html.contains("<section id=\"state\">")
        );
        assert!(
            html.contains("存在しないユーザー名"),
            "the reason in Japanese"
        );
    }

    #[test]
    fn every_template_parses() {
        let p = Pages::new().unwrap();
        for (name, _) in TEMPLATES {
            assert!(p.env.get_template(name).is_ok(), "{name}");
        }
    }
}
