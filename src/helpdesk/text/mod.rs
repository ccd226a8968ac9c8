//! What `why` says, in English and Japanese: per cause, a short paragraph an
//! admin can read to the user on the phone, and the next step.
//!
//! Written as code rather than template files: every sentence depends on the
//! cause's evidence (counts, times, whether the sources were the user's own),
//! and a missing branch is a compile error here, not an empty line in front of
//! a user. User names and typed spellings are the caller's to escape when
//! printing to a terminal; the JSON carries them as they are.

mod en;
mod ja;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::{Code, Evidence};

/// The language of `why`'s sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    En,
    Ja,
}

impl Language {
    /// `en` or `ja`.
    pub fn parse(s: &str) -> Option<Language> {
        match s {
            "en" => Some(Language::En),
            "ja" => Some(Language::Ja),
            _ => None,
        }
    }
}

/// `2026-11-14 06:25 UTC`, or in another zone with its abbreviation.
fn at(z: Tz, t: Option<i64>) -> String {
    t.and_then(|t| Utc.timestamp_opt(t, 0).single())
        .map(|t| t.with_timezone(&z).format("%Y-%m-%d %H:%M %Z").to_string())
        .unwrap_or_default()
}

fn when(z: Tz, t: Option<DateTime<Utc>>) -> String {
    at(z, t.map(|t| t.timestamp()))
}

fn ips(ev: &Evidence) -> String {
    let v: Vec<String> = ev
        .source_ips
        .iter()
        .take(5)
        .map(|i| i.to_string())
        .collect();
    let more = ev.source_ips.len().saturating_sub(5);
    if more > 0 {
        format!("{} (+{more})", v.join(", "))
    } else {
        v.join(", ")
    }
}

/// `1 login`, `2 logins`.
fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `1 login was refused`, `2 logins were refused`.
fn refused(n: u32) -> String {
    plural(n, "login was refused", "logins were refused")
}

/// `(summary, next_step)` for `code` about `user`.
/// Times in UTC (the CLI's and the API's answer).
pub fn explain(lang: Language, user: &str, code: Code, ev: &Evidence) -> (String, String) {
    explain_in(lang, Tz::UTC, user, code, ev)
}

/// [`explain`] with times in `zone`, each with its abbreviation (`JST`):
/// the helpdesk page shows the admin's zone.
pub fn explain_in(
    lang: Language,
    zone: Tz,
    user: &str,
    code: Code,
    ev: &Evidence,
) -> (String, String) {
    match lang {
        Language::En => en::en(zone, user, code, ev),
        Language::Ja => ja::ja(zone, user, code, ev),
    }
}

/// The help text for a user fumbling a password (the product research's list).
pub const TYPING_HELP_EN: &str = "check Caps Lock and NumLock, switch the Japanese input (IME) off so nothing is typed full-width, watch for look-alike characters (0 and O, 1 and l), and type the password rather than pasting it (pasting adds stray spaces)";
/// The same in Japanese.
pub const TYPING_HELP_JA: &str = "Caps Lock・NumLock がオンになっていないか、日本語入力（IME）がオフで全角になっていないか、0（ゼロ）と O（オー）・1（イチ）と l（エル）を取り違えていないかを確認し、パスワードはコピー＆ペーストせず手で入力してください（貼り付けると余分な空白が入ることがあります）";

trait IfEmpty {
    fn if_empty(self, other: &str) -> String;
}

impl IfEmpty for String {
    fn if_empty(self, other: &str) -> String {
        if self.is_empty() {
            other.to_string()
        } else {
            self
        }
    }
}
