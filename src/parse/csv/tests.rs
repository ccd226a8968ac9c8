//! Unit tests of the CSV parser: both services, both encodings, header
//! handling, bad input.

use chrono::{TimeZone, Utc};

use super::*;
use crate::event::{Action, Method, Outcome, Reason};
use crate::parse::{Format, Parser};

fn opts() -> ParseOptions {
    ParseOptions::at(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap())
}

fn parser(name: &str) -> CsvParser {
    CsvParser::new(
        preset(name).unwrap(),
        opts(),
        LineCtx {
            path: "audit.csv".into(),
        },
    )
}

/// Every line's result, the events unwrapped.
fn run(p: &mut CsvParser, lines: &[&[u8]]) -> Vec<Result<Option<AuthEvent>, UnparsedReason>> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| p.parse(l, i as u64).map_err(|e| e.reason))
        .collect()
}

fn ev(r: &Result<Option<AuthEvent>, UnparsedReason>) -> &AuthEvent {
    r.as_ref().unwrap().as_ref().unwrap()
}

#[test]
fn embedded_tables_compile() {
    for name in PRESETS {
        let text = match *name {
            "lineworks-audit" => include_str!("../../../formats/lineworks-audit.toml"),
            _ => include_str!("../../../formats/cybozu-audit.toml"),
        };
        let raw: RawCsv = toml::from_str(text).unwrap();
        Tables::compile(&raw).unwrap();
        assert!(preset(name).is_some(), "{name}");
    }
}

#[test]
fn lineworks_english_with_bom() {
    let mut p = parser("lineworks-audit");
    let out = run(
        &mut p,
        &[
            b"\xEF\xBB\xBFDate,User,Description,Service Type,IP Address",
            b"2026-05-01 09:15:30,Taro Yamada(taro@example.com),Login success,PC Web,203.0.113.5",
            b"2026-05-01 09:16:00,\"Yamada, Taro(taro@example.com)\",Login failed (Incorrect password),Mobile App,203.0.113.6",
            b"2026-05-01 09:17:00,Taro Yamada(taro@example.com),Logout,PC Web,203.0.113.5",
            b"2026/05/01 09:18:00,Hanako(hanako@example.com),Password changed,PC Web,",
            b"",
            b"downloadLogs error",
        ],
    );
    assert_eq!(out[0], Ok(None));
    let e = ev(&out[1]);
    assert_eq!(
        e.timestamp,
        Utc.with_ymd_and_hms(2026, 5, 1, 0, 15, 30).unwrap(),
        "Asia/Tokyo by default"
    );
    assert_eq!(e.user.as_deref(), Some("taro@example.com"));
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.service.as_deref(), Some("PC Web"));
    assert_eq!(e.source_ip, Some("203.0.113.5".parse().unwrap()));
    assert_eq!(e.log_offset, Some(1));
    let e = ev(&out[2]);
    assert_eq!(e.user.as_deref(), Some("taro@example.com"));
    assert_eq!(e.reason, Some(Reason::BadPassword));
    assert_eq!(out[3], Ok(None), "logout is not an auth event");
    let e = ev(&out[4]);
    assert_eq!(e.action, Action::PasswordChange);
    assert_eq!(e.source_ip, None);
    assert_eq!(out[5], Ok(None));
    assert_eq!(out[6], Err(UnparsedReason::IncompleteExport));
}

#[test]
fn the_error_message_after_the_trailer_is_no_row() {
    let mut p = parser("lineworks-audit");
    let out = run(
        &mut p,
        &[
            b"Date,User,Description,Service Type,IP Address",
            b"2026-05-01 09:15:30,Taro(taro@example.com),Login success,PC Web,203.0.113.5",
            b"downloadLogs error : timeout",
            // The message may go on: nothing after the marker is a row.
            b"2026-05-01 09:16:00,Taro(taro@example.com),Login success,PC Web,203.0.113.5",
        ],
    );
    assert!(matches!(out[1], Ok(Some(_))));
    assert_eq!(out[2], Err(UnparsedReason::IncompleteExport));
    assert_eq!(out[3], Err(UnparsedReason::IncompleteExport));
    // The next file is read again.
    p.start_file();
    let out = run(
        &mut p,
        &[
            b"Date,User,Description,Service Type,IP Address",
            b"2026-05-01 09:15:30,Taro(taro@example.com),Login success,PC Web,203.0.113.5",
        ],
    );
    assert!(matches!(out[1], Ok(Some(_))));
}

#[test]
fn lineworks_japanese_headers_reordered_with_login_method() {
    let mut p = parser("lineworks-audit");
    let out = run(
        &mut p,
        &[
            "IPアドレス,日時,ログイン方法,ユーザー,内容".as_bytes(),
            "198.51.100.9,2026-05-01 10:00:00,SAML,山田(yamada@example.jp),ログイン失敗（アカウントロック）".as_bytes(),
            "198.51.100.9,2026-05-01 10:00:05,ID/Password,山田(yamada@example.jp),ログイン成功".as_bytes(),
            "198.51.100.9,2026-05-01 10:00:09,ID/Password,山田(yamada@example.jp),何か新しいメッセージ".as_bytes(),
        ],
    );
    let e = ev(&out[1]);
    assert_eq!(e.reason, Some(Reason::Locked));
    assert_eq!(e.method, Some(Method::Sso));
    assert_eq!(ev(&out[2]).method, Some(Method::Password));
    assert_eq!(
        out[3],
        Err(UnparsedReason::BadValue),
        "unknown texts are counted"
    );
}

#[test]
fn cybozu_shift_jis_nobody_and_lockout() {
    let lines = [
        "日時,ユーザー,レベル,サービス,モジュール,アクション,結果,補足,IPアドレス",
        "2026/05/01 09:00:00,nobody,INFO,cybozu.com,Authentication,login,FAILED,ghost,192.0.2.1",
        "2026/05/01 09:00:01,sato,INFO,cybozu.com,Authentication,login,FAILED,,192.0.2.1",
        "2026/05/01 09:00:02,sato,INFO,cybozu.com,Authentication,login,FAILED,lockout,192.0.2.1",
        "2026/05/01 09:00:03,sato,INFO,cybozu.com,Authentication,login (SAML),SUCCESS,,192.0.2.1",
        "2026/05/01 09:00:04,sato,INFO,kintone,アプリ,レコード追加,SUCCESS,,192.0.2.1",
        "2026/05/01 09:00:05,sato,INFO,cybozu.com,Authentication,logout,SUCCESS,,192.0.2.1",
        "2026/05/01 09:00:06,sato,INFO,cybozu.com,Authentication,change password,VALIDATION ERROR,,192.0.2.1",
        "2026/05/01 09:00:07,sato,INFO,cybozu.com,Authentication,send password reset mail,SUCCESS,,",
        "2026/05/01 09:00:08,sato,INFO,cybozu.com,Authentication,login API(REST),ERROR,,192.0.2.1",
        "2026/05/01 09:00:09,sato,INFO,cybozu.com,Authentication,disable two-factor authentication,SUCCESS,,",
        "2026/05/01 09:00:10,sato,INFO,cybozu.com,Authentication,login,MAYBE,,",
    ];
    let sjis: Vec<Vec<u8>> = lines
        .iter()
        .map(|l| encoding_rs::SHIFT_JIS.encode(l).0.into_owned())
        .collect();
    let refs: Vec<&[u8]> = sjis.iter().map(Vec::as_slice).collect();
    let mut p = parser("cybozu-audit");
    let out = run(&mut p, &refs);
    assert_eq!(out[0], Ok(None));
    let e = ev(&out[1]);
    assert_eq!(
        (e.user.as_deref(), e.reason),
        (Some("ghost"), Some(Reason::UnknownUser))
    );
    assert_eq!(ev(&out[2]).reason, Some(Reason::BadPassword));
    assert_eq!(ev(&out[3]).reason, Some(Reason::Locked));
    let e = ev(&out[4]);
    assert_eq!(
        (e.outcome, e.method.clone()),
        (Outcome::Success, Some(Method::Sso))
    );
    assert_eq!(out[5], Ok(None), "other modules are not auth");
    assert_eq!(out[6], Ok(None), "logout");
    let e = ev(&out[7]);
    assert_eq!(
        (e.action, e.reason),
        (Action::PasswordChange, Some(Reason::Other))
    );
    assert_eq!(ev(&out[8]).action, Action::PasswordReset);
    let e = ev(&out[9]);
    assert_eq!(e.method.as_ref().map(Method::as_str), Some("api"));
    assert_eq!(e.reason, Some(Reason::Other));
    assert_eq!(out[10], Ok(None), "2FA settings are not attempts");
    assert_eq!(out[11], Err(UnparsedReason::BadValue));
    // Bytes that are not Shift_JIS in a Shift_JIS file.
    assert_eq!(
        p.parse(b"2026/05/01,\x82\x20", 99).map_err(|e| e.reason),
        Err(UnparsedReason::InvalidUtf8)
    );
}

#[test]
fn cybozu_english_utf8() {
    let mut p = parser("cybozu-audit");
    let out = run(
        &mut p,
        &[
            b"Date,User,Level,Service,Module,Action,Result,Details",
            b"2026-05-01T09:00:00+09:00,nobody,INFO,cybozu.com,Authentication,login,FAILED,Login name: admin",
        ],
    );
    let e = ev(&out[1]);
    assert_eq!(e.user.as_deref(), Some("admin"));
    assert_eq!(
        e.timestamp,
        Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap()
    );
}

#[test]
fn records_before_a_header_and_bad_lines_are_errors_not_panics() {
    let mut p = parser("lineworks-audit");
    let out = run(
        &mut p,
        &[
            b"2026-05-01 09:15:30,a(a@b),Login success,PC,1.2.3.4",
            b"Date,User,Description",
            b"2026-05-01 09:15:30,\"unclosed,Login success",
            b"yesterday,a(a@b),Login success",
            b",a(a@b),Login success",
            b"2026-05-01 09:15:30,,Login success",
            b"\xff\xfe\x00garbage",
            b"2026-05-01 09:15:30,a(a@b)",
        ],
    );
    let reasons: Vec<_> = out.iter().map(|r| r.as_ref().err().copied()).collect();
    use UnparsedReason::*;
    assert_eq!(
        reasons,
        vec![
            Some(Malformed),
            None,
            Some(Malformed),
            Some(BadTimestamp),
            Some(WrongShape),
            Some(WrongShape),
            Some(InvalidUtf8),
            Some(WrongShape),
        ]
    );
}

#[test]
fn a_repeated_header_remaps_columns() {
    let mut p = parser("lineworks-audit");
    let out = run(
        &mut p,
        &[
            b"Date,User,Description",
            b"2026-05-01 09:00:00,a(a@x),Login success",
            b"Description,Date,User",
            b"Login success,2026-05-01 09:00:01,b(b@x)",
        ],
    );
    assert_eq!(out[2], Ok(None));
    assert_eq!(ev(&out[3]).user.as_deref(), Some("b@x"));
}

#[test]
fn snapshot_restores_header_and_encoding() {
    let mut p = parser("cybozu-audit");
    let header = encoding_rs::SHIFT_JIS
        .encode("日時,ユーザー,アクション,結果")
        .0
        .into_owned();
    p.parse(&header, 0).unwrap();
    let snap = p.snapshot();
    let mut q = parser("cybozu-audit");
    q.restore(&snap).unwrap();
    let line = encoding_rs::SHIFT_JIS
        .encode("2026/05/01 09:00:00,佐藤,login,失敗")
        .0
        .into_owned();
    let e = q.parse(&line, 40).unwrap().unwrap();
    assert_eq!(e.user.as_deref(), Some("佐藤"));
    assert_eq!(e.reason, Some(Reason::BadPassword));
    // Through the generic dispatch, and another kind's state is refused.
    let mut r = Parser::new(
        &Format::by_name("cybozu-audit", &[]).unwrap(),
        &opts(),
        LineCtx { path: "x".into() },
    );
    r.restore(&snap).unwrap();
    assert!(r.restore(b"S\x01").is_err());
    assert!(q.restore(b"C\x01\x05").is_err());
}

#[test]
fn declared_tables_extend_a_preset() {
    let raw: RawCsv = toml::from_str(
        r#"
        zone = "UTC"
        [columns]
        description = "Event"
        [[description]]
        text = "Sign-in blocked*"
        action = "login"
        outcome = "failure"
        reason = "ip_denied"
        "#,
    )
    .unwrap();
    let spec = declared("lw2", Some("lineworks-audit"), None, Some(&raw)).unwrap();
    let mut p = CsvParser::new(spec, opts(), LineCtx { path: "x".into() });
    let out = run(
        &mut p,
        &[
            b"Date,User,Event",
            b"2026-05-01 09:00:00,a(a@x),Sign-in blocked (country)",
            b"2026-05-01 09:00:00,a(a@x),Login success",
        ],
    );
    let e = ev(&out[1]);
    assert_eq!(e.reason, Some(Reason::IpDenied));
    assert_eq!(
        e.timestamp,
        Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap()
    );
    assert_eq!(ev(&out[2]).outcome, Outcome::Success);
    assert!(declared("x", None, None, None).is_err());
    assert!(declared("x", Some("okta"), None, None).is_err());
}

#[test]
fn each_export_format_has_its_retention_and_a_declared_one_may_change_it() {
    let days = |f: Option<chrono::TimeDelta>| f.map(|d| d.num_days());
    let by_name = |n: &str| Format::by_name(n, &[]).unwrap();
    assert_eq!(days(by_name("lineworks-audit").retention()), Some(180));
    assert_eq!(days(by_name("cybozu-audit").retention()), Some(43));
    assert_eq!(days(by_name("sshd").retention()), None);
    assert_eq!(days(by_name("okta").retention()), None);
    // A declared format keeps its preset's, or names its own.
    let inherit = declared("lw", Some("lineworks-audit"), None, None).unwrap();
    assert_eq!(inherit.tables.retention_days, Some(180));
    let raw: RawCsv = toml::from_str("retention_days = 30").unwrap();
    let own = declared("lw", Some("lineworks-audit"), None, Some(&raw)).unwrap();
    let p = CsvParser::new(own, opts(), LineCtx { path: "x".into() });
    assert_eq!(days(p.retention()), Some(30));
    let raw: RawCsv = toml::from_str("retention_days = 0").unwrap();
    let errs = declared("lw", Some("lineworks-audit"), None, Some(&raw)).unwrap_err();
    assert!(errs[0].contains("retention_days = 0"), "{errs:?}");
}

#[test]
fn a_new_file_learns_its_header_and_encoding_again() {
    let mut p = parser("cybozu-audit");
    let sjis = |s: &str| encoding_rs::SHIFT_JIS.encode(s).0.into_owned();
    // The first export: UTF-8, English headers.
    let out = run(
        &mut p,
        &[
            b"Date,User,Action,Result",
            b"2026/05/01 09:00:00,sato,login,FAILED",
        ],
    );
    assert_eq!(ev(&out[1]).user.as_deref(), Some("sato"));
    // The next one: Shift_JIS, Japanese headers in another order.
    p.start_file();
    let lines = [
        sjis("結果,日時,ユーザー,アクション"),
        sjis("失敗,2026/05/02 09:00:00,佐藤,login"),
    ];
    assert_eq!(p.parse(&lines[0], 0), Ok(None));
    let e = p.parse(&lines[1], 40).unwrap().unwrap();
    assert_eq!(e.user.as_deref(), Some("佐藤"));
    assert_eq!(e.reason, Some(Reason::BadPassword));
    // Without the new start the same bytes are not UTF-8 for this file.
    let mut q = parser("cybozu-audit");
    run(
        &mut q,
        &[
            b"Date,User,Action,Result",
            "2026/05/01 09:00:00,佐藤,login,FAILED".as_bytes(),
        ],
    );
    assert_eq!(
        q.parse(&lines[1], 80).map_err(|e| e.reason),
        Err(UnparsedReason::InvalidUtf8)
    );
}

proptest::proptest! {
    /// The reused `csv_core` splitter reads every line as a fresh
    /// `csv::Reader` (the implementation it replaced) does: same fields, or
    /// both refusing, whatever the quotes, separators and line ends.
    #[test]
    fn the_splitter_reads_lines_as_a_fresh_csv_reader_does(
        lines in proptest::collection::vec("[a,\"\r\n é\\x00]{0,24}", 1..6)
    ) {
        fn fresh(text: &str) -> Option<Vec<String>> {
            let mut r = ::csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut rec = StringRecord::new();
            match r.read_record(&mut rec) {
                Ok(true) => Some(rec.iter().map(String::from).collect()),
                _ => None,
            }
        }
        let mut splitter = Splitter::default();
        for text in &lines {
            let mut rec = StringRecord::new();
            let ours = splitter
                .split(text, &mut rec)
                .ok()
                .map(|()| rec.iter().map(String::from).collect::<Vec<_>>());
            proptest::prop_assert_eq!(ours, fresh(text), "{:?}", text);
        }
    }
}

#[test]
fn the_plain_date_fast_path_reads_as_the_general_one() {
    let zone: Zone = "Asia/Tokyo".parse().unwrap();
    for s in [
        "2026-05-11 08:59:00",
        "2026/05/11 23:59:59",
        "2024/02/29 00:00:00",
        "2026/03/08 02:30:00",
        "2026-05-11 08:59:00.250",
        "2026/05/11 08:59",
        "2025-02-29 00:00:00",
        "2026-13-01 00:00:00",
        "2026-05-11 24:00:00",
        "2026-05-11 08:59:60",
        "2026-05/11 08:59:00",
        "2026-05-11T08:59:00",
        "2026-05-1x 08:59:00",
        "２０２６-05-11 08:59:00",
    ] {
        assert_eq!(
            row::parse_time(s, zone),
            row::parse_time_general(s, zone),
            "{s}"
        );
    }
}
