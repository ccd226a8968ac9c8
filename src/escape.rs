//! Escaping user-controlled text before it reaches a terminal or a log.
//!
//! User names are stored exactly as logged, but an attacker choosing a user name
//! like `\x1b[2J` must not be able to drive the admin's terminal. Control
//! characters are shown as Rust-style escapes; everything else, full-width
//! characters included, is printed as is.

use std::fmt;

/// Display adapter that escapes control characters in `s`.
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
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
}
