use chrono::TimeZone;

use super::*;
use crate::parse::{Format, LineCtx, ParseOptions, Parser};

const CURSOR: &str = "s=7321;i=1;b=0123;m=3e8;t=628aa5b34c400;x=74b2";

fn entry(fields: &[(&str, Value)]) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("__CURSOR".into(), CURSOR.into());
    m.insert("__REALTIME_TIMESTAMP".into(), "1733562000123456".into());
    for (k, v) in fields {
        m.insert((*k).into(), v.clone());
    }
    serde_json::to_vec(&m).unwrap()
}

fn line(fields: &[(&str, Value)]) -> String {
    let e = convert(&entry(fields)).unwrap();
    assert_eq!(e.cursor, CURSOR);
    String::from_utf8(e.line).unwrap()
}

#[test]
fn an_sshd_entry_becomes_a_line_the_sshd_parser_reads_without_guessing_the_year() {
    let json = br#"{"SYSLOG_IDENTIFIER":"sshd","_SYSTEMD_UNIT":"ssh.service","_HOSTNAME":"web1","__REALTIME_TIMESTAMP":"1733562000000000","_BOOT_ID":"0123456789abcdef0123456789abcdef","__CURSOR":"s=7321aeecad5a4e1dac4b1ea0f8b7986b;i=1;b=0123456789abcdef0123456789abcdef;m=3e8;t=628aa5b34c400;x=74b2b008e5d638ff","_PID":"4242","__MONOTONIC_TIMESTAMP":"1000","MESSAGE":"Failed password for alice from 203.0.113.5 port 2222 ssh2"}"#;
    let e = convert(json).unwrap();
    assert_eq!(
        String::from_utf8(e.line.clone()).unwrap(),
        "2024-12-07T09:00:00.000000Z web1 sshd[4242]: Failed password for alice from 203.0.113.5 port 2222 ssh2"
    );
    assert!(
        e.cursor
            .starts_with("s=7321aeecad5a4e1dac4b1ea0f8b7986b;i=1;")
    );
    // "Now" is two years later and in another zone: a year-less stamp would
    // be put in the wrong year; this one carries its own.
    let mut opts = ParseOptions::at(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap());
    opts.zone = "Asia/Tokyo".parse().unwrap();
    let mut p = Parser::new(
        &Format::Sshd,
        &opts,
        LineCtx {
            path: "journal".into(),
        },
    );
    let ev = p.parse(&e.line, 0).unwrap().expect("an event");
    assert_eq!(ev.outcome.as_str(), "failure");
    assert_eq!(
        ev.timestamp,
        Utc.with_ymd_and_hms(2024, 12, 7, 9, 0, 0).unwrap()
    );
    assert_eq!(ev.host.as_deref(), Some("web1"));
    assert_eq!(ev.service.as_deref(), Some("sshd"));
    assert_eq!(ev.user.as_deref(), Some("alice"));
    assert_eq!(ev.source_ip, Some("203.0.113.5".parse().unwrap()));
}

#[test]
fn microseconds_are_kept() {
    assert_eq!(
        line(&[
            ("SYSLOG_IDENTIFIER", "sudo".into()),
            ("MESSAGE", "x".into())
        ]),
        "2024-12-07T09:00:00.123456Z sudo: x"
    );
}

#[test]
fn a_byte_array_message_keeps_its_bytes() {
    let bytes: Vec<Value> = b"Invalid user \xff\xfe from 192.0.2.1"
        .iter()
        .map(|&b| Value::from(b))
        .collect();
    let e = convert(&entry(&[
        ("SYSLOG_IDENTIFIER", "sshd".into()),
        ("_PID", "7".into()),
        ("MESSAGE", Value::Array(bytes)),
    ]))
    .unwrap();
    assert!(!e.too_long);
    assert_eq!(
        e.line,
        b"2024-12-07T09:00:00.123456Z sshd[7]: Invalid user \xff\xfe from 192.0.2.1".to_vec()
    );
}

#[test]
fn a_multi_line_message_stays_one_line() {
    let l = line(&[
        ("SYSLOG_IDENTIFIER", "sshd".into()),
        (
            "MESSAGE",
            "Failed password for bob from 192.0.2.1 port 1 ssh2\nmallory sshd[1]: Accepted password for root\r\n\n".into(),
        ),
    ]);
    assert!(!l.contains(['\n', '\r']), "{l}");
    assert!(
        l.ends_with("ssh2 mallory sshd[1]: Accepted password for root"),
        "{l}"
    );
}

#[test]
fn missing_fields_leave_their_part_out_or_fall_back() {
    // No host: the parser reads `prog[pid]:` right after the time.
    assert_eq!(
        line(&[
            ("_COMM", "sshd".into()),
            ("SYSLOG_PID", "9".into()),
            ("MESSAGE", "m".into())
        ]),
        "2024-12-07T09:00:00.123456Z sshd[9]: m"
    );
    // No program at all, a pid that is not a number, no message.
    assert_eq!(
        line(&[("_HOSTNAME", "h".into()), ("_PID", "12x".into())]),
        "2024-12-07T09:00:00.123456Z h unknown: "
    );
    // A field carried twice: the first value.
    assert_eq!(
        line(&[
            ("SYSLOG_IDENTIFIER", Value::from(vec!["su", "other"])),
            ("MESSAGE", "m".into())
        ]),
        "2024-12-07T09:00:00.123456Z su: m"
    );
}

#[test]
fn header_fields_cannot_shift_the_header() {
    assert_eq!(
        line(&[
            ("_HOSTNAME", "evil host:".into()),
            ("SYSLOG_IDENTIFIER", "ss[h]d: x".into()),
            ("_PID", "1".into()),
            ("MESSAGE", "m".into())
        ]),
        "2024-12-07T09:00:00.123456Z evil_host_ ss_h_d__x[1]: m"
    );
}

#[test]
fn a_message_left_out_for_its_size_is_too_long() {
    let e = convert(&entry(&[("MESSAGE", Value::Null)])).unwrap();
    assert!(e.too_long);
    assert!(e.line.is_empty());
}

#[test]
fn what_is_not_an_entry_is_an_error() {
    assert!(matches!(convert(b"not json"), Err(EntryError::NotJson(_))));
    assert!(matches!(convert(b"[1,2]"), Err(EntryError::NotJson(_))));
    assert_eq!(
        convert(br#"{"__REALTIME_TIMESTAMP":"1","MESSAGE":"m"}"#),
        Err(EntryError::NoCursor)
    );
    assert_eq!(
        convert(br#"{"__CURSOR":"c","__REALTIME_TIMESTAMP":"soon"}"#),
        Err(EntryError::NoTime)
    );
    assert_eq!(
        convert(br#"{"__CURSOR":"c","__REALTIME_TIMESTAMP":"99999999999999999999"}"#),
        Err(EntryError::NoTime)
    );
}
