//! Declared formats (`[[format]]` tables) end to end: TOML -> `compile` ->
//! `Format::by_name` -> `Parser`, on self-contained log text.

use chrono::{TimeZone, Utc};
use loginwatch::event::{Action, Outcome, Reason};
use loginwatch::parse::custom::{RawFormat, compile};
use loginwatch::parse::detect::detect;
use loginwatch::parse::{Format, UnparsedReason};

use super::{first_lines, format_name, run_text, t};

fn declared(toml_text: &str) -> Format {
    let raw: RawFormat = toml::from_str(toml_text).unwrap();
    let d = compile(&raw).unwrap();
    // Resolved by name the way `--format` does.
    Format::by_name(d.name(), std::slice::from_ref(&d)).unwrap()
}

#[test]
fn declared_regex_format_end_to_end() {
    let f = declared(
        r#"
name = "radius"
kind = "regex"
pattern = '^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) radiusd: (?P<outcome>Login OK|Login incorrect)(?: \((?P<reason>[^)]+)\))?: \[(?P<user>[^\]]*)\] \(from client (?P<host>\S+) port \d+ cli (?P<ip>[^)]+)\)'
time_format = "%Y-%m-%d %H:%M:%S"
zone = "Asia/Tokyo"
service = "radius"
outcome_map = { "Login OK" = "success", "Login incorrect" = "failure" }
reason_map = { "rlm_pap*" = "bad_password", "No Auth-Type*" = "unknown_user" }
"#,
    );
    let text = b"2026-02-10 16:31:12 radiusd: Login incorrect (rlm_pap: CLEAR TEXT password check failed): [carol] (from client ap-3 port 0 cli 192.0.2.44)\n\
2026-02-10 16:31:20 radiusd: Login OK: [carol] (from client ap-3 port 0 cli 192.0.2.44)\n\
2026-02-10 16:31:21 radiusd: Ready to process requests\n";
    let r = run_text(&f, "radius.log", text);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.events.len(), r.ignored), (2, 1));
    let e = &r.events[0];
    assert_eq!(e.timestamp, t("2026-02-10T07:31:12Z"));
    assert_eq!(
        (e.outcome, e.reason),
        (Outcome::Failure, Some(Reason::BadPassword))
    );
    assert_eq!(
        (e.user.as_deref(), e.host.as_deref(), e.service.as_deref()),
        (Some("carol"), Some("ap-3"), Some("radius"))
    );
    assert_eq!(e.source_ip, Some("192.0.2.44".parse().unwrap()));
    assert_eq!(r.events[1].outcome, Outcome::Success);
    assert_eq!(
        r.events[1].log_offset,
        Some(text.iter().position(|b| *b == b'\n').unwrap() as u64 + 1)
    );
}

#[test]
fn declared_json_format_end_to_end() {
    let f = declared(
        r#"
name = "gitea-audit"
kind = "json"
time_format = "unix"
fields = { time = "ts", outcome = "ok", user = "doer.name", ip = "remote", action = "op" }
outcome_map = { "true" = "success", "false" = "failure" }
action_map = { signin = "login", "2fa*" = "mfa" }
filter = { scope = "auth" }
"#,
    );
    let text = br#"{"ts":1770708672,"scope":"auth","op":"signin","ok":false,"doer":{"name":"dave"},"remote":"[2001:db8::9]:4431"}
{"ts":1770708673.5,"scope":"auth","op":"2fa_totp","ok":true,"doer":{"name":"dave"},"remote":"2001:db8::9"}
{"ts":1770708674,"scope":"repo","op":"push","ok":true}
{"ts":1770708675,"scope":"auth","op":"logout","ok":true}
{"ts":"later","scope":"auth","op":"signin","ok":true}
"#;
    let r = run_text(&f, "audit.json", text);
    assert_eq!((r.events.len(), r.ignored), (2, 2));
    assert_eq!(
        r.errors.iter().map(|(_, e)| e.reason).collect::<Vec<_>>(),
        vec![UnparsedReason::BadTimestamp]
    );
    let e = &r.events[0];
    assert_eq!(
        (e.action, e.outcome, e.user.as_deref()),
        (Action::Login, Outcome::Failure, Some("dave"))
    );
    assert_eq!(e.timestamp, Utc.timestamp_opt(1_770_708_672, 0).unwrap());
    assert_eq!(e.source_ip, Some("2001:db8::9".parse().unwrap()));
    assert_eq!(
        (r.events[1].action, r.events[1].outcome),
        (Action::Mfa, Outcome::Success)
    );
    assert_eq!(r.events[1].timestamp.timestamp_subsec_millis(), 500);
}

#[test]
fn detect_routes_every_kind_of_file() {
    let cases: [(&[u8], &str); 3] = [
        (
            b"Feb 10 07:31:12 h sshd[1]: Accepted password for x from 192.0.2.1 port 22 ssh2\n",
            "sshd",
        ),
        (
            br#"{"@timestamp":"2026-02-10T07:31:12Z","event.outcome":"success"}"#,
            "ecs",
        ),
        (
            br#"{"EventID":4624,"Channel":"Security"}"#,
            "windows-security",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(format_name(&detect(&first_lines(text))), want);
    }
}
