use super::*;
use chrono::TimeZone;

fn opts() -> ParseOptions {
    ParseOptions::at(Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap())
}

fn hdr(line: &str) -> Result<Header<'_>, ParseError> {
    parse(line, &opts(), &mut MinuteCache::default())
}

#[test]
fn bsd_header_with_host_pid_and_fraction() {
    let h = hdr("Jan  3 06:25:00.250 web1 sshd[42]: Failed password").unwrap();
    assert_eq!(
        h.timestamp,
        Utc.with_ymd_and_hms(2026, 1, 3, 6, 25, 0).unwrap() + Duration::milliseconds(250)
    );
    assert_eq!(h.host, Some("web1"));
    assert_eq!(h.program, "sshd");
    assert_eq!(h.pid, Some(42));
    assert_eq!(h.message, "Failed password");
}

#[test]
fn bsd_year_rolls_back_for_future_dates() {
    let h = hdr("Dec 31 23:59:59 h sshd[1]: x").unwrap();
    assert_eq!(
        h.timestamp,
        Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap()
    );
}

#[test]
fn hostless_and_bracket_tags() {
    let h = hdr("Feb 17 17:40:17 sshd[19725]: Connection from x").unwrap();
    assert_eq!((h.host, h.program, h.pid), (None, "sshd", Some(19725)));
    let h = hdr("Mar  3 00:17:22 [sshd]: User root").unwrap();
    assert_eq!((h.host, h.program, h.message), (None, "sshd", "User root"));
    let h = hdr("Jun 25 23:53:34 [sshd] User root").unwrap();
    assert_eq!((h.program, h.message), ("sshd", "User root"));
    let h = hdr("Jun 25 23:53:34 h su: FAILED SU").unwrap();
    assert_eq!((h.host, h.program, h.pid), (Some("h"), "su", None));
    // A PAM module logging under `service(module)`, with the process's pid.
    let h = hdr("Nov 14 06:25:00 web1 sshd(pam_google_authenticator)[4096]: Invalid verification code for bob").unwrap();
    assert_eq!(
        (h.host, h.program, h.pid, h.message),
        (
            Some("web1"),
            "sshd(pam_google_authenticator)",
            Some(4096),
            "Invalid verification code for bob"
        )
    );
}

#[test]
fn rfc3339_with_and_without_offset() {
    let h = hdr("2024-11-14T06:25:00.123456+01:00 h sshd[7]: m").unwrap();
    assert_eq!(
        h.timestamp,
        Utc.with_ymd_and_hms(2024, 11, 14, 5, 25, 0).unwrap() + Duration::microseconds(123456)
    );
    let mut o = opts();
    o.zone = "Asia/Tokyo".parse().unwrap();
    let h = parse(
        "2024-11-14T06:25:00 h sshd: m",
        &o,
        &mut MinuteCache::default(),
    )
    .unwrap();
    assert_eq!(
        h.timestamp,
        Utc.with_ymd_and_hms(2024, 11, 13, 21, 25, 0).unwrap()
    );
}

#[test]
fn rfc5424_with_structured_data() {
    let h = hdr(r#"<38>1 2019-07-08T17:40:17.5-04:00 host.example sshd 55555 - [t a="1"][x@1 v="[b\]"] Failed x"#).unwrap();
    assert_eq!(h.host, Some("host.example"));
    assert_eq!(
        (h.program, h.pid, h.message),
        ("sshd", Some(55555), "Failed x")
    );
    assert_eq!(
        h.timestamp,
        Utc.with_ymd_and_hms(2019, 7, 8, 21, 40, 17).unwrap() + Duration::milliseconds(500)
    );
    let h = hdr("<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - 'su root' failed").unwrap();
    assert_eq!(
        (h.program, h.pid, h.message),
        ("su", None, "'su root' failed")
    );
}

#[test]
fn errors_distinguish_shape_from_date() {
    for l in [
        "",
        "garbage",
        "<x>1 foo",
        "Foo 12 10:00:00 h sshd: m",
        "\u{0}\u{1}",
    ] {
        assert_eq!(
            hdr(l).unwrap_err().reason,
            UnparsedReason::Malformed,
            "{l:?}"
        );
    }
    for l in [
        "Feb 30 10:00:00 h sshd: m",
        "Feb 10 25:00:00 h sshd: m",
        "2024-13-01T00:00:00Z h sshd: m",
    ] {
        assert_eq!(
            hdr(l).unwrap_err().reason,
            UnparsedReason::BadTimestamp,
            "{l:?}"
        );
    }
    // No tag after the host.
    assert_eq!(
        hdr("Feb 10 10:00:00 h").unwrap_err().reason,
        UnparsedReason::Malformed
    );
}

#[test]
fn tag_pid_reads_as_parse_u32_did() {
    for s in [
        "",
        "0",
        "42",
        "+42",
        "-1",
        "++1",
        "4294967295",
        "4294967296",
        "99999999999",
        "1a",
        " 1",
        "+",
        "٣",
    ] {
        assert_eq!(pid_of(s.as_bytes()), s.parse::<u32>().ok(), "{s:?}");
    }
    assert_eq!(tag("sshd[77]:"), Some(("sshd", Some(77))));
    assert_eq!(tag("sshd[x]:"), Some(("sshd", None)));
    assert_eq!(tag("[sshd]:"), Some(("sshd", None)));
}
