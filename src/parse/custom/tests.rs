//! Unit tests of declared formats: compile errors and parsing with the result.

use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;
use crate::event::{AuthEvent, Method};
use crate::parse::{LineCtx, ParseError, ParseOptions, Parser, UnparsedReason};

fn raw(toml_text: &str) -> RawFormat {
    toml::from_str(toml_text).unwrap()
}

fn errors(toml_text: &str) -> Vec<String> {
    compile(&raw(toml_text)).err().unwrap_or_default()
}

fn parser(toml_text: &str) -> Parser {
    let d = compile(&raw(toml_text)).unwrap();
    let opts = ParseOptions::at(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap());
    Parser::new(
        &d.format(),
        &opts,
        LineCtx {
            path: Arc::from("x.log"),
        },
    )
}

fn one(p: &mut Parser, line: &str) -> Result<Option<AuthEvent>, ParseError> {
    p.parse(line.as_bytes(), 42)
}

const VPN: &str = r#"
name = "vpn"
kind = "regex"
pattern = '^(?P<time>\w{3} +\d+ [\d:]+) vpn\[\d+\]: (?P<outcome>AUTH_OK|AUTH_FAIL)(?: \((?P<reason>[^)]*)\))? user=(?P<user>\S+) src=(?P<ip>\S+?)(?::(?P<port>\d+))?$'
time_format = "syslog"
zone = "Europe/Zurich"
service = "vpn"
outcome_map = { AUTH_OK = "success", AUTH_FAIL = "failure" }
reason_map = { "bad pass*" = "bad_password", "no such user" = "unknown_user" }
"#;

#[test]
fn regex_format_reads_its_lines_and_ignores_others() {
    let mut p = parser(VPN);
    let e = one(
        &mut p,
        "Feb  3 10:00:00 vpn[7]: AUTH_FAIL (bad password) user=eve src=203.0.113.9:4444",
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        e.timestamp,
        Utc.with_ymd_and_hms(2026, 2, 3, 9, 0, 0).unwrap()
    );
    assert_eq!(
        (e.outcome, e.reason),
        (Outcome::Failure, Some(Reason::BadPassword))
    );
    assert_eq!(e.user.as_deref(), Some("eve"));
    assert_eq!(e.source_ip, Some("203.0.113.9".parse().unwrap()));
    assert_eq!(e.source_port, Some(4444));
    assert_eq!(e.service.as_deref(), Some("vpn"));
    assert_eq!(e.log_offset, Some(42));
    let e = one(
        &mut p,
        "Feb  3 10:00:01 vpn[7]: AUTH_FAIL (quota) user=eve src=::ffff:203.0.113.9",
    )
    .unwrap()
    .unwrap();
    assert_eq!(e.reason, Some(Reason::Other));
    assert_eq!(e.source_ip, Some("203.0.113.9".parse().unwrap()));
    let e = one(
        &mut p,
        "Feb  3 10:00:02 vpn[7]: AUTH_OK user=eve src=203.0.113.9",
    )
    .unwrap()
    .unwrap();
    assert_eq!((e.outcome, e.reason), (Outcome::Success, None));
    assert_eq!(one(&mut p, "Feb  3 10:00:02 cron[1]: job"), Ok(None));
    assert_eq!(one(&mut p, "\u{0}\u{ff}garbage"), Ok(None));
    let bad = one(
        &mut p,
        "Feb 30 10:00:02 vpn[7]: AUTH_OK user=eve src=203.0.113.9",
    );
    assert_eq!(
        bad.err().map(|e| e.reason),
        Some(UnparsedReason::BadTimestamp)
    );
    let non_utf8 = b"Feb  3 10:00:02 vpn[7]: AUTH_OK user=\xff\xfe src=203.0.113.9";
    // Unicode classes (`\S`) do not match invalid bytes: the line is not this format's.
    assert_eq!(p.parse(non_utf8, 0), Ok(None));
    // A byte-level pattern does match, and the captured field is refused.
    let mut bytes = parser(
        "name = \"b\"\nkind = \"regex\"\noutcome = \"success\"\npattern = '^(?P<time>\\w{3} +\\d+ [\\d:]+) .*user=(?P<user>(?-u:[^ ]+))'\ntime_format = \"syslog\"\n",
    );
    let r = bytes.parse(non_utf8, 0);
    assert_eq!(r.err().map(|e| e.reason), Some(UnparsedReason::InvalidUtf8));
}

#[test]
fn constant_outcome_and_our_spellings_need_no_map() {
    let mut p = parser(
        r#"
name = "denied"
kind = "regex"
pattern = '^(?P<time>\S+) DENY (?P<user>\S+) (?P<method>\S+) (?P<action>\S+)$'
time_format = "rfc3339"
outcome = "failure"
action_map = { signin = "login" }
"#,
    );
    let e = one(&mut p, "2026-01-01T00:00:00Z DENY bob publickey mfa")
        .unwrap()
        .unwrap();
    assert_eq!(
        (e.action, e.outcome, e.reason),
        (Action::Mfa, Outcome::Failure, None)
    );
    assert_eq!(e.method, Some(Method::Publickey));
    let e = one(&mut p, "2026-01-01T00:00:00Z DENY bob webauthn SIGNIN")
        .unwrap()
        .unwrap();
    assert_eq!(e.action, Action::Login);
    assert_eq!(e.method.as_ref().map(|m| m.as_str()), Some("webauthn"));
    assert_eq!(
        one(&mut p, "2026-01-01T00:00:00Z DENY bob x logout"),
        Ok(None)
    );
}

#[test]
fn regex_compile_errors_are_all_reported() {
    let e = errors(
        r#"
name = "sshd"
kind = "regex"
pattern = '(?P<usr>\S+) (?P<ip>\S+)'
time_format = "%Q"
zone = "Mars/Base"
outcome_map = { ok = "succeeded" }
fields = { time = "t" }
"#,
    );
    let all = e.join("\n");
    for needle in [
        "built-in",
        "usr",
        "(?P<time>",
        "(?P<outcome>",
        "strftime",
        "Mars/Base",
        "succeeded",
        "only for kind = \"json\"",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    let e = errors("name = \"r\"\nkind = \"regex\"\npattern = '(?P<time>'\n");
    assert!(e.len() == 1 && e[0].contains("does not compile"), "{e:?}");
    let e = errors("name = \"r\"\nkind = \"xml\"\n");
    assert!(e.iter().any(|m| m.contains("unknown kind")), "{e:?}");
}

#[test]
fn unknown_keys_are_refused_by_serde() {
    assert!(
        toml::from_str::<RawFormat>("name = \"a\"\nkind = \"json\"\npatern = \"x\"\n").is_err()
    );
    assert!(
        toml::from_str::<RawFormat>("name = \"a\"\nkind = \"json\"\nfields = { tme = \"x\" }\n")
            .is_err()
    );
}

#[test]
fn json_format_from_scratch() {
    let mut p = parser(
        r#"
name = "myidp"
kind = "json"
time_format = "unix_ms"
fields = { time = "ts", outcome = "result", user = ["actor.login", "actor.email"], ip = "client.ip", reason = "why" }
outcome_map = { OK = "success", DENIED = "failure" }
reason_map = { PW = "bad_password" }
filter = { type = ["login", "mfa*"] }
"#,
    );
    let l = r#"{"ts":1767225600000,"type":"login","result":"DENIED","why":"PW","actor":{"email":"a@x"},"client":{"ip":"[2001:db8::2]:443"}}"#;
    let e = one(&mut p, l).unwrap().unwrap();
    assert_eq!(
        e.timestamp,
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    );
    assert_eq!(
        (e.outcome, e.reason),
        (Outcome::Failure, Some(Reason::BadPassword))
    );
    assert_eq!(e.user.as_deref(), Some("a@x"));
    assert_eq!(e.source_ip, Some("2001:db8::2".parse().unwrap()));
    assert_eq!(one(&mut p, &l.replace("\"login\"", "\"logout\"")), Ok(None));
    let e = one(&mut p, &l.replace("DENIED", "failure"))
        .unwrap()
        .unwrap();
    assert_eq!(e.outcome, Outcome::Failure);
    let r = one(&mut p, &l.replace("DENIED", "MAYBE"));
    assert_eq!(r.err().map(|e| e.reason), Some(UnparsedReason::BadValue));
}

#[test]
fn json_format_from_a_preset_overrides_fields_and_maps() {
    let mut p = parser(
        r#"
name = "okta-custom"
kind = "json"
preset = "okta"
fields = { user = "actor.displayName" }
reason_map = { "INVALID_CREDENTIALS" = "other" }
"#,
    );
    let l = r#"{"published":"2026-01-01T00:00:00.000Z","eventType":"user.session.start","outcome":{"result":"FAILURE","reason":"INVALID_CREDENTIALS"},"actor":{"alternateId":"a@x","displayName":"Ann"}}"#;
    let e = one(&mut p, l).unwrap().unwrap();
    assert_eq!(e.user.as_deref(), Some("Ann"));
    assert_eq!(e.reason, Some(Reason::Other));
    assert_eq!(e.service.as_deref(), Some("okta"));
}

#[test]
fn json_compile_errors() {
    let e = errors("name = \"j\"\nkind = \"json\"\n").join("\n");
    assert!(
        e.contains("fields.time") && e.contains("fields.outcome"),
        "{e}"
    );
    let e = errors("name = \"j\"\nkind = \"json\"\npreset = \"okat\"\n").join("\n");
    assert!(e.contains("unknown preset"), "{e}");
    let e = errors(
        "name = \"j\"\nkind = \"json\"\npattern = \"x\"\nfields = { time = \"a..b\", outcome = [] }\n",
    )
    .join("\n");
    assert!(e.contains("only for kind = \"regex\""), "{e}");
    assert!(
        e.contains("empty segment") && e.contains("empty list"),
        "{e}"
    );
    assert!(compile(&raw("name = \"j\"\nkind = \"json\"\npreset = \"okta\"\n")).is_ok());
}
