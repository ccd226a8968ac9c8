//! Unit tests of the JSON parser against small inline records.

use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;

fn run(spec: &str, line: &str) -> Result<Option<AuthEvent>, ParseError> {
    let opts = ParseOptions::at(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    let ctx = LineCtx {
        path: Arc::from("t.json"),
    };
    JsonParser::new(preset(spec).unwrap(), opts, ctx).parse(line.as_bytes(), 7)
}

fn reason_of(r: Result<Option<AuthEvent>, ParseError>) -> Option<UnparsedReason> {
    r.err().map(|e| e.reason)
}

#[test]
fn ecs_flat_and_nested() {
    let flat = r#"{"@timestamp":"2026-01-02T03:04:05Z","event.outcome":"failure","event.reason":"bad_password","user.name":"bob","source.ip":"::ffff:10.1.2.3","source.port":"2222"}"#;
    let e = run("ecs", flat).unwrap().unwrap();
    assert_eq!(e.action, Action::Login);
    assert_eq!(e.reason, Some(Reason::BadPassword));
    assert_eq!(e.user.as_deref(), Some("bob"));
    assert_eq!(e.source_ip, Some("10.1.2.3".parse().unwrap()));
    assert_eq!(e.source_port, Some(2222));
    assert_eq!(e.log_offset, Some(7));
    assert_eq!(e.log_path.as_deref(), Some("t.json"));
    let nested = r#"{"@timestamp":"2026-01-02T03:04:05Z","event":{"outcome":"success","action":"mfa"},"user":{"name":"bob"}}"#;
    let e = run("json", nested).unwrap().unwrap();
    assert_eq!(
        (e.action, e.outcome, e.reason),
        (Action::Mfa, Outcome::Success, None)
    );
}

#[test]
fn errors_are_classified() {
    assert_eq!(
        reason_of(run("ecs", "not json")),
        Some(UnparsedReason::Malformed)
    );
    assert_eq!(
        reason_of(run("ecs", "[1,2]")),
        Some(UnparsedReason::WrongShape)
    );
    assert_eq!(
        reason_of(run("ecs", r#"{"event.outcome":"success"}"#)),
        Some(UnparsedReason::WrongShape)
    );
    assert_eq!(
        reason_of(run(
            "ecs",
            r#"{"@timestamp":"soon","event.outcome":"success"}"#
        )),
        Some(UnparsedReason::BadTimestamp)
    );
    assert_eq!(
        reason_of(run(
            "ecs",
            r#"{"@timestamp":1700000000,"event.outcome":"maybe"}"#
        )),
        Some(UnparsedReason::BadValue)
    );
    assert_eq!(
        reason_of(run("ecs", r#"{"@timestamp":1700000000}"#)),
        Some(UnparsedReason::WrongShape)
    );
    let r = JsonParser::new(
        preset("ecs").unwrap(),
        ParseOptions::at(Utc::now()),
        LineCtx {
            path: Arc::from("-"),
        },
    )
    .parse(b"{\"a\":\"\xff\"}", 0);
    assert_eq!(reason_of(r), Some(UnparsedReason::InvalidUtf8));
}

#[test]
fn unknown_ecs_actions_are_not_auth_events() {
    let l = r#"{"@timestamp":"2026-01-02T03:04:05Z","event.action":"file-created","event.outcome":"success"}"#;
    assert_eq!(run("ecs", l), Ok(None));
}

#[test]
fn odd_input_never_panics() {
    let deep = "[".repeat(100_000);
    let huge = format!(
        r#"{{"@timestamp":1{},"event.outcome":"success"}}"#,
        "0".repeat(400)
    );
    // The answer of each preset (json, ecs, cloudtrail, windows-security,
    // entra-signin, okta), exactly: no panic, and no odd line taken for an
    // event except the one well-formed login (by the presets that read it).
    const M: &str = "Malformed";
    const W: &str = "WrongShape";
    const T: &str = "BadTimestamp";
    let odd_time = [T, T, "none", W, W, "none"];
    let cases: [(&str, [&str; 6]); 11] = [
        ("", [M; 6]),
        ("{", [M; 6]),
        ("}", [M; 6]),
        ("null", [W; 6]),
        ("{}", [W, W, "none", W, W, "none"]),
        (&deep, [M; 6]),
        // A number past f64 is malformed where a preset reads it (`@timestamp`);
        // entra-signin and okta skip that key, so for them the line is JSON
        // without their time field.
        (&huge, [M, M, M, M, W, "none"]),
        (
            r#"{"@timestamp":-99999999999999999999,"event.outcome":"success"}"#,
            odd_time,
        ),
        (
            r#"{"@timestamp":"9999999-01-01T00:00:00Z","event.outcome":"success"}"#,
            odd_time,
        ),
        (
            r#"{"@timestamp":{"a":1},"event.outcome":["success"]}"#,
            odd_time,
        ),
        (
            r#"{"@timestamp":"2026-01-02T03:04:05Z","event.outcome":"success","source.ip":"1.2.3.4:99999999999","source.port":1e300}"#,
            ["event", "event", "none", W, W, "none"],
        ),
    ];
    assert_eq!(PRESETS.len(), 6);
    for (l, want) in cases {
        let got: Vec<String> = PRESETS
            .iter()
            .map(|p| match run(p, l) {
                Ok(Some(_)) => "event".to_owned(),
                Ok(None) => "none".to_owned(),
                Err(e) => format!("{:?}", e.reason),
            })
            .collect();
        assert_eq!(got, want, "{:?}", l.get(..60));
    }
}

#[test]
fn ip_field_may_hold_a_host_name() {
    let l = r#"{"@timestamp":"2026-01-02T03:04:05Z","event.outcome":"success","source.ip":"AWS Internal"}"#;
    let e = run("ecs", l).unwrap().unwrap();
    assert_eq!(e.source_ip, None);
}

#[test]
fn our_own_output_round_trips() {
    let mut e = AuthEvent::new(
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::milliseconds(250),
        Action::Lockout,
        Outcome::Failure,
    );
    e.reason = Some(Reason::TooManyAttempts);
    e.user = Some(Arc::from("ａｌｉｃｅ\u{7}"));
    e.source_ip = Some("2001:db8::7".parse().unwrap());
    e.source_port = Some(50022);
    e.host = Some(Arc::from("bastion"));
    e.service = Some(Arc::from("sshd"));
    e.method = Some(Method::Other(Arc::from("webauthn")));
    e.user_agent = Some(Arc::from("curl/8"));
    e.device_id = Some(Arc::from("dev-1"));
    e.log_path = Some(Arc::from("t.json"));
    e.log_offset = Some(7);
    let line = serde_json::to_string(&e).unwrap();
    assert_eq!(run("ecs", &line).unwrap(), Some(e.clone()));
    e.method = Some(Method::KeyboardInteractive);
    e.outcome = Outcome::Success;
    e.reason = None;
    let line = serde_json::to_string(&e).unwrap();
    assert_eq!(run("ecs", &line).unwrap(), Some(e.clone()));
    // A success that must change its password, and a refusal with its directive.
    e.reason = Some(Reason::ExpiredPassword);
    let line = serde_json::to_string(&e).unwrap();
    assert_eq!(run("ecs", &line).unwrap(), Some(e.clone()));
    e.outcome = Outcome::Failure;
    e.reason = Some(Reason::NoPermission);
    e.refused_by = Some(RefusedBy::DenyGroups);
    let line = serde_json::to_string(&e).unwrap();
    assert_eq!(run("ecs", &line).unwrap(), Some(e));
}

#[test]
fn a_success_keeps_only_an_expired_password_reason() {
    let l = |r: &str| {
        format!(
            r#"{{"@timestamp":"2026-01-02T03:04:05Z","event.outcome":"success","event.reason":"{r}","event.reason_detail":"nonsense"}}"#
        )
    };
    let e = run("ecs", &l("bad_password")).unwrap().unwrap();
    assert_eq!((e.reason, e.refused_by), (None, None));
    let e = run("ecs", &l("inactive")).unwrap().unwrap();
    assert_eq!(e.reason, None);
    let e = run("ecs", &l("expired_password")).unwrap().unwrap();
    assert_eq!(e.reason, Some(Reason::ExpiredPassword));
}

#[test]
fn windows_status_codes_use_substatus_then_status() {
    let l = |st: &str, sub: &str| {
        format!(
            r#"{{"EventID":4625,"@timestamp":"2020-10-22T08:29:55.210Z","TargetUserName":"x","Status":"{st}","SubStatus":"{sub}","IpAddress":"::ffff:10.0.0.1","IpPort":"0"}}"#
        )
    };
    let r = |st, sub| {
        run("windows-security", &l(st, sub))
            .unwrap()
            .unwrap()
            .reason
    };
    assert_eq!(r("0xc000006d", "0xc000006a"), Some(Reason::BadPassword));
    assert_eq!(r("0xC000006D", "0xC0000064"), Some(Reason::UnknownUser));
    assert_eq!(r("0xc0000234", "0x0"), Some(Reason::Locked));
    assert_eq!(r("0xc000006e", "0xc0000070"), Some(Reason::NoPermission));
    assert_eq!(r("0xc000006d", "0xc0000133"), Some(Reason::Other));
    let e = run("windows-security", &l("0xc000006d", "0xc000006a"))
        .unwrap()
        .unwrap();
    assert_eq!(e.source_ip, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(e.source_port, None);
}

/// Pseudo-random lines built from JSON fragments and raw bytes: every preset must
/// answer each without panicking (a small deterministic fuzz).
#[test]
fn random_fragments_never_panic() {
    const PIECES: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"\"",
        b"\"@timestamp\"",
        b"\"EventID\"",
        b"\"eventName\"",
        b"\"ConsoleLogin\"",
        b"\"responseElements\"",
        b"\"status\"",
        b"\"errorCode\"",
        b"\"event.outcome\"",
        b"\"failure\"",
        b"4625",
        b"-1e999",
        b"18446744073709551616",
        b"\"2026-01-02T03:04:05Z\"",
        b"\"\\ud800\"",
        b"null",
        b"true",
        b"\xff",
        b"\x00",
        b" ",
        b"\"::ffff:1.2.3.4\"",
        b"\"outcome\"",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let opts = ParseOptions::at(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    let mut parsers: Vec<JsonParser> = PRESETS
        .iter()
        .map(|p| {
            let ctx = LineCtx {
                path: Arc::from("-"),
            };
            JsonParser::new(preset(p).unwrap(), opts.clone(), ctx)
        })
        .collect();
    // The seed is fixed, so the lines and the answers are too: their tally per
    // answer is pinned (a change in how odd input is judged shows here).
    let mut tally: std::collections::BTreeMap<String, usize> = Default::default();
    for _ in 0..3000 {
        let mut line = Vec::new();
        for _ in 0..(next() % 24) {
            let i = (next() % PIECES.len() as u64) as usize;
            line.extend_from_slice(PIECES[i]);
        }
        for p in &mut parsers {
            let answer = match p.parse(&line, 0) {
                Ok(Some(_)) => "event".to_owned(),
                Ok(None) => "none".to_owned(),
                Err(e) => format!("{:?}", e.reason),
            };
            *tally.entry(answer).or_default() += 1;
        }
    }
    let want: Vec<(String, usize)> = [
        ("InvalidUtf8", 5850),
        ("Malformed", 11700),
        ("WrongShape", 450),
    ]
    .into_iter()
    .map(|(a, n)| (a.to_owned(), n))
    .collect();
    assert_eq!(tally.into_iter().collect::<Vec<_>>(), want);
}
