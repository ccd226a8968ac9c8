//! `--format auto`: choosing a format per file from its first lines.
//!
//! A file whose first non-empty line starts with `{` is JSON lines; the preset is
//! chosen by keys only one product writes (checked on the first line that parses
//! as a JSON object, falling back to a plain-text key search when none does, e.g.
//! a first line cut by log rotation). A first line that is the header row of a
//! known CSV export (LINE WORKS or cybozu.com audit log, English or Japanese
//! headers, UTF-8 or Shift_JIS) selects that format. Anything else is read as
//! syslog (`sshd`), which covers auth.log, secure and journal exports. Declared formats are never
//! guessed: they are chosen by name.

use super::Format;
use super::json::select::Selector;
use super::json::{Path, preset};

/// How many leading lines detection looks at.
pub const HEAD_LINES: usize = 8;

/// Picks the format for a file from the bytes at its head (a buffer's worth):
/// the first [`HEAD_LINES`] lines that are not blank. The one entry point for
/// `replay`, `parse`, `why` and the daemon, so a file is read as the same format
/// whichever of them opens it.
pub fn detect_head(head: &[u8]) -> Format {
    let lines: Vec<&[u8]> = head
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(HEAD_LINES)
        .collect();
    detect(&lines)
}

/// Picks the format for a file from its first few lines.
pub fn detect(first_lines: &[&[u8]]) -> Format {
    let mut lines = first_lines
        .iter()
        .map(|l| trim_start(l))
        .filter(|l| !l.is_empty());
    match lines.next() {
        Some(first) if first.first() == Some(&b'{') => {}
        Some(first) => {
            return super::csv::detect_header(first)
                .map(Format::Csv)
                .unwrap_or(Format::Sshd);
        }
        None => return Format::Sshd,
    }
    let mut telltales: Vec<Path> = TELLTALES.iter().map(|p| Path::lit(p)).collect();
    let sel = Selector::new(telltales.iter_mut());
    let parsed = first_lines.iter().find_map(|l| {
        let text = std::str::from_utf8(trim_start(l)).ok()?;
        sel.read(text).ok()
    });
    let name = match parsed {
        Some(doc) => by_keys(|key| {
            telltales
                .iter()
                .any(|p| p.dotted() == key && p.get(&doc).is_some())
        }),
        None => by_text(first_lines),
    };
    preset(name).map(Format::Json).unwrap_or(Format::Sshd)
}

/// Skips a UTF-8 byte order mark and leading whitespace.
fn trim_start(l: &[u8]) -> &[u8] {
    let l = l.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(l);
    let n = l.iter().take_while(|b| b.is_ascii_whitespace()).count();
    l.get(n..).unwrap_or_default()
}

/// The keys [`by_keys`] tells the presets apart by.
const TELLTALES: [&str; 10] = [
    "eventSource",
    "eventName",
    "EventID",
    "winlog",
    "eventType",
    "actor",
    "userPrincipalName",
    "status.errorCode",
    "properties.userPrincipalName",
    "properties.status.errorCode",
];

/// The preset whose telltale keys `v` has. CloudTrail is tested first because it
/// also has an `eventType` (`AwsConsoleSignIn`); Okta's `eventType` comes with an `actor`.
fn by_keys(has: impl Fn(&'static str) -> bool) -> &'static str {
    if has("eventSource") || has("eventName") {
        "cloudtrail"
    } else if has("EventID") || has("winlog") {
        "windows-security"
    } else if has("eventType") && has("actor") {
        "okta"
    } else if has("userPrincipalName")
        || has("status.errorCode")
        || has("properties.userPrincipalName")
        || has("properties.status.errorCode")
    {
        "entra-signin"
    } else {
        "ecs"
    }
}

/// The same telltales as quoted keys in raw text.
fn by_text(lines: &[&[u8]]) -> &'static str {
    let any = |needle: &str| {
        lines
            .iter()
            .any(|l| memchr::memmem::find(l, needle.as_bytes()).is_some())
    };
    if any("\"eventSource\"") || any("\"eventName\"") {
        "cloudtrail"
    } else if any("\"EventID\"") || any("\"winlog\"") {
        "windows-security"
    } else if any("\"eventType\"") && any("\"actor\"") {
        "okta"
    } else if any("\"userPrincipalName\"") || any("\"errorCode\"") {
        "entra-signin"
    } else {
        "ecs"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(lines: &[&str]) -> String {
        let b: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        match detect(&b) {
            Format::Json(s) => s.name,
            Format::Csv(s) => s.name,
            Format::Sshd => "sshd".into(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn syslog_and_empty_files_are_sshd() {
        assert_eq!(
            name(&["Jan  1 00:00:00 h sshd[1]: Failed password for x from 1.2.3.4 port 1 ssh2"]),
            "sshd"
        );
        assert_eq!(name(&[]), "sshd");
        assert_eq!(name(&["", "  "]), "sshd");
        assert_eq!(name(&["[1,2]"]), "sshd");
    }

    #[test]
    fn each_preset_by_its_keys() {
        let cases = [
            (
                r#"{"eventVersion":"1.08","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventType":"AwsConsoleSignIn"}"#,
                "cloudtrail",
            ),
            (
                r#"{"EventID":4625,"Channel":"Security"}"#,
                "windows-security",
            ),
            (
                r#"{"@timestamp":"x","winlog":{"event_id":"4625"}}"#,
                "windows-security",
            ),
            (
                r#"{"eventType":"user.session.start","actor":{"alternateId":"a"}}"#,
                "okta",
            ),
            (
                r#"{"createdDateTime":"x","userPrincipalName":"a@b","status":{"errorCode":0}}"#,
                "entra-signin",
            ),
            (
                r#"{"time":"x","category":"SignInLogs","properties":{"status":{"errorCode":50126}}}"#,
                "entra-signin",
            ),
            (r#"{"@timestamp":"x","event.outcome":"failure"}"#, "ecs"),
            (r#"{"eventType":"x"}"#, "ecs"),
        ];
        for (line, want) in cases {
            assert_eq!(name(&["", line]), want, "{line}");
        }
    }

    #[test]
    fn blank_lines_and_bom_are_skipped() {
        assert_eq!(
            name(&["", "\u{feff}{\"EventID\":4624}"]),
            "windows-security"
        );
    }

    #[test]
    fn unparseable_json_falls_back_to_key_text() {
        assert_eq!(name(&[r#"{"eventName":"ConsoleLogin","cut"#]), "cloudtrail");
        assert_eq!(name(&[r#"{"userPrincipalName":"a@b"#]), "entra-signin");
        assert_eq!(name(&[r#"{"nothing":"#]), "ecs");
    }

    #[test]
    fn csv_exports_by_their_header_row() {
        let cases = [
            (
                "Date,User,Description,Service Type,IP Address",
                "lineworks-audit",
            ),
            (
                "\u{feff}\"Date\",\"User\",\"Description\",\"Service Type\",\"IP Address\",\"Login method\"",
                "lineworks-audit",
            ),
            (
                "日時,ユーザー,説明,サービス種別,IPアドレス",
                "lineworks-audit",
            ),
            (
                "Date,User,Level,Service,Module,Action,Result,Supplement",
                "cybozu-audit",
            ),
            (
                "日時,ユーザー,レベル,サービス,モジュール,アクション,結果,補足",
                "cybozu-audit",
            ),
            ("Date,User,Comment", "sshd"),
            (
                "Jan  1 00:00:00 h sshd[1]: Failed password, oddly, for x",
                "sshd",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(name(&["", line]), want, "{line}");
        }
    }

    #[test]
    fn shift_jis_header_is_detected() {
        let (bytes, _, bad) = encoding_rs::SHIFT_JIS
            .encode("日時,ユーザー,レベル,サービス,モジュール,アクション,結果,補足");
        assert!(!bad);
        assert!(matches!(detect(&[&bytes]), Format::Csv(s) if s.name == "cybozu-audit"));
    }
}
