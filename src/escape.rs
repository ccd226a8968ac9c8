//! Escaping user-controlled text before it reaches a terminal or a log.
//!
//! User names are stored exactly as logged, but an attacker choosing a user name
//! like `\x1b[2J` must not be able to drive the admin's terminal. Control
//! characters, and the invisible format characters that reorder or hide text
//! (bidirectional overrides and isolates such as U+202E, zero-width spaces and
//! joiners, the byte order mark), are shown as Rust-style escapes: a name that
//! renders as `alice` but is not must never look like her. Everything else,
//! full-width characters included, is printed as is.

use std::fmt;

/// Display adapter that escapes control characters in `s`.
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() || hides(c) {
                write!(f, "{}", c.escape_default())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

/// True for format characters that reorder or hide text on a terminal or in
/// a mail client (Unicode's bidi controls and zero-width characters).
fn hides(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Serialized JSON with the characters [`Escaped`] hides written as `\uXXXX`
/// escapes. serde_json leaves them raw (they are valid in a JSON string), so a
/// webhook body or JSON line viewed as it is would reorder or hide a name;
/// escaped, it still decodes to exactly the same strings. These characters can
/// only occur inside JSON strings, so replacing them anywhere is safe.
pub fn json_safe(json: String) -> String {
    if !json.chars().any(hides) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if hides(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes control characters in raw bytes, showing invalid UTF-8 as `\xNN`.
pub fn bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        out.push_str(&Escaped(chunk.valid()).to_string());
        for x in chunk.invalid() {
            out.push_str(&format!("\\x{x:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_full_width_kept() {
        assert_eq!(
            Escaped("ａｄｍｉｎ\u{1b}[2J\n").to_string(),
            "ａｄｍｉｎ\\u{1b}[2J\\n"
        );
        assert_eq!(bytes(b"a\xffb\x07"), "a\\xffb\\u{7}");
    }

    #[test]
    fn json_keeps_its_strings_but_shows_no_bidi_control() {
        let raw = serde_json::to_string(&serde_json::json!({"user": "eve\u{202E}nilam\u{200B}"}))
            .unwrap();
        let safe = json_safe(raw);
        assert_eq!(safe, r#"{"user":"eve\u202enilam\u200b"}"#);
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["user"], "eve\u{202E}nilam\u{200B}");
    }

    #[test]
    fn bidi_overrides_and_zero_width_characters_are_escaped() {
        assert_eq!(Escaped("\u{202E}ecila").to_string(), "\\u{202e}ecila");
        assert_eq!(
            Escaped("a\u{200B}l\u{2066}i\u{FEFF}ce").to_string(),
            "a\\u{200b}l\\u{2066}i\\u{feff}ce"
        );
        assert_eq!(Escaped("ｃａｒｏｌ 日本").to_string(), "ｃａｒｏｌ 日本");
    }
}
