//! Every message form on its own line: fields, methods, user names chosen
//! to mislead, refusals, other programs, both timestamp families, and input
//! that must be an error rather than a panic.

use chrono::{TimeZone, Utc};

use super::{failure, one, parser};
use crate::event::{Method, Outcome, Reason, RefusedBy};
use crate::parse::UnparsedReason;

#[test]
fn failed_password_fields_and_context() {
    let e = one(
        "Jan  3 06:25:00 web1 sshd[42]: Failed password for alice from 192.0.2.7 port 2222 ssh2",
    )
    .unwrap();
    failure(&e, Reason::BadPassword, Some("alice"), Some("192.0.2.7"));
    assert_eq!(e.source_port, Some(2222));
    assert_eq!(e.method, Some(Method::Password));
    assert_eq!(e.host.as_deref(), Some("web1"));
    assert_eq!(e.service.as_deref(), Some("sshd"));
    assert_eq!(e.log_path.as_deref(), Some("auth.log"));
    assert_eq!(e.log_offset, Some(7));
    assert_eq!(
        e.timestamp,
        Utc.with_ymd_and_hms(2026, 1, 3, 6, 25, 0).unwrap()
    );
}

#[test]
fn failed_methods_ipv6_and_invalid_users() {
    let e = one("Jan 3 06:25:00 h sshd-session[1]: Failed keyboard-interactive/pam for invalid user bob from 2001:db8::1 port 5 ssh2").unwrap();
    failure(&e, Reason::UnknownUser, Some("bob"), Some("2001:db8::1"));
    assert_eq!(e.method, Some(Method::KeyboardInteractive));
    assert_eq!(e.service.as_deref(), Some("sshd-session"));
    let e = one("Jan 3 06:25:00 h sshd[1]: Failed hostbased for dan from 127.0.0.1 port 4 ssh2: RSA x, client user \"dan\"").unwrap();
    assert_eq!(e.method, Some(Method::Hostbased));
    let e = one("Jan 3 06:25:00 h sshd[1]: Failed publickey for invalid user g from ::ffff:10.0.0.1 port 4 ssh2: RSA SHA256:x").unwrap();
    failure(&e, Reason::UnknownUser, Some("g"), Some("10.0.0.1"));
    // Rejected keys of an existing user are key probing, and `none` is the method query.
    assert!(
        one("Jan 3 06:25:00 h sshd[1]: Failed publickey for git from 10.0.0.1 port 4 ssh2: RSA x")
            .is_none()
    );
    assert!(
        one("Jan 3 06:25:00 h sshd[1]: Failed none for invalid user x from 10.0.0.1 port 4 ssh2")
            .is_none()
    );
}

#[test]
fn user_names_with_spaces_full_width_and_injection() {
    let e = one("Jan 3 06:25:00 h sshd[1]: Failed password for invalid user ａｌｉｃｅ smith from 192.0.2.1 port 1 ssh2").unwrap();
    assert_eq!(e.user.as_deref(), Some("ａｌｉｃｅ smith"));
    let e = one("Jan 3 06:25:00 h sshd[1]: Failed password for invalid user test from 10.10.1.2 port 55555 ssh2 from 127.0.0.1 port 58946 ssh2").unwrap();
    failure(
        &e,
        Reason::UnknownUser,
        Some("test from 10.10.1.2 port 55555 ssh2"),
        Some("127.0.0.1"),
    );
    let e = one("Jan 3 06:25:00 h sshd[1]: Connection closed by authenticating user a 10.0.0.9 port 1 192.0.2.11 port 46039 [preauth]").unwrap();
    failure(
        &e,
        Reason::Other,
        Some("a 10.0.0.9 port 1"),
        Some("192.0.2.11"),
    );
}

#[test]
fn accepted_is_a_success_with_method() {
    let e = one("Jan 3 06:25:00 h sshd[9]: Accepted publickey for vagrant from 192.168.121.1 port 56296 ssh2: RSA SHA256:abc").unwrap();
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.reason, None);
    assert_eq!(e.method, Some(Method::Publickey));
    let e =
        one("Jan 3 06:25:00 h sshd[9]: Accepted gssapi-with-mic for u from 192.0.2.1 port 5 ssh2")
            .unwrap();
    assert_eq!(e.method, Some(Method::Gssapi));
}

#[test]
fn invalid_user_refusals_and_too_many() {
    let e = one("Jan 3 06:25:00 h sshd[1]: Invalid user admin from 192.0.2.1 port 44004").unwrap();
    failure(&e, Reason::UnknownUser, Some("admin"), Some("192.0.2.1"));
    let e = one("Jan 3 06:25:00 h sshd[1]: Illegal user x from 192.0.2.1").unwrap();
    failure(&e, Reason::UnknownUser, Some("x"), Some("192.0.2.1"));
    let e = one("Jan 3 06:25:00 h sshd[1]: User root from 192.0.2.5 not allowed because listed in DenyUsers").unwrap();
    failure(&e, Reason::NoPermission, Some("root"), Some("192.0.2.5"));
    assert_eq!(e.refused_by, Some(RefusedBy::DenyUsers));
    let e = one(
        "Jan 3 06:25:00 h sshd[1]: User bob from 192.0.2.5 not allowed because account has expired",
    )
    .unwrap();
    failure(&e, Reason::ExpiredAccount, Some("bob"), Some("192.0.2.5"));
    let e = one("Jan 3 06:25:00 h sshd[1]: error: maximum authentication attempts exceeded for invalid user xxx from 192.0.2.7 port 49941 ssh2 [preauth]").unwrap();
    failure(&e, Reason::TooManyAttempts, Some("xxx"), Some("192.0.2.7"));
    let e = one("Jan 3 06:25:00 h sshd[1]: Disconnecting authenticating user root 192.0.2.7 port 1: Too many authentication failures [preauth]").unwrap();
    failure(&e, Reason::TooManyAttempts, Some("root"), Some("192.0.2.7"));
    let e = one("Jan 3 06:25:00 h sshd[1]: ROOT LOGIN REFUSED FROM 1.2.3.4 port 12345 [preauth]")
        .unwrap();
    failure(&e, Reason::NoPermission, Some("root"), Some("1.2.3.4"));
    assert_eq!(e.refused_by, Some(RefusedBy::PermitRootLogin));
}

#[test]
fn other_programs_are_not_auth_events_but_their_pam_failures_are() {
    assert!(
        one("Jan 3 06:25:00 h CRON[1]: pam_unix(cron:session): session opened for user root")
            .is_none()
    );
    assert!(one("Jan 3 06:25:00 h systemd-logind[1]: New session 4 of user bob.").is_none());
    assert!(
        one("Jan 3 06:25:00 h sshd[1]: pam_unix(sshd:session): session closed for user bob")
            .is_none()
    );
    let e = one("Jul 19 18:11:26 srv2 vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=an8767 rhost=192.0.2.3").unwrap();
    failure(&e, Reason::BadPassword, Some("an8767"), Some("192.0.2.3"));
    assert_eq!(e.service.as_deref(), Some("vsftpd"));
}

#[test]
fn rfc3339_and_rfc5424_lines() {
    let e = one("2024-11-14T06:25:00.123456+01:00 bastion sshd[2]: Failed password for x from 192.0.2.1 port 1 ssh2").unwrap();
    assert_eq!(
        e.timestamp,
        Utc.with_ymd_and_hms(2024, 11, 14, 5, 25, 0).unwrap()
            + chrono::Duration::microseconds(123456)
    );
    let e = one("<38>1 2019-07-08T17:40:17.9Z host.example sshd 55555 - [meta sequenceId=\"1\"] Invalid user tutu from 1.2.3.4 port 33166").unwrap();
    failure(&e, Reason::UnknownUser, Some("tutu"), Some("1.2.3.4"));
    assert_eq!(e.host.as_deref(), Some("host.example"));
}

#[test]
fn year_rolls_back_with_injected_now() {
    let e = one("Dec 31 23:59:00 h sshd[1]: Invalid user a from 192.0.2.1").unwrap();
    assert_eq!(
        e.timestamp,
        Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 0).unwrap()
    );
}

#[test]
fn invalid_utf8_user_is_still_counted() {
    let mut line = b"Jan 3 06:25:00 h sshd[1]: Invalid user ad".to_vec();
    line.extend_from_slice(&[0xff, 0xfe]);
    line.extend_from_slice(b"min from 192.0.2.1 port 1");
    let e = parser().parse(&line, 0).unwrap().unwrap();
    failure(
        &e,
        Reason::UnknownUser,
        Some("ad\u{fffd}\u{fffd}min"),
        Some("192.0.2.1"),
    );
}

#[test]
fn garbage_is_an_error_never_a_panic() {
    let mut p = parser();
    let e = p.parse(b"\x00\x01\x02 binary", 0).unwrap_err();
    assert_eq!(e.reason, UnparsedReason::Malformed);
    let e = p
        .parse(b"Feb 30 10:00:00 h sshd[1]: Invalid user a from 1.2.3.4", 0)
        .unwrap_err();
    assert_eq!(e.reason, UnparsedReason::BadTimestamp);
    // Odd numbers and truncations must not panic.
    for l in [
        "Jan 3 06:25:00 h sshd[99999999999999]: Failed password for a from 1.2.3.4 port 99999999999 ssh2",
        "Jan 3 06:25:00 h sshd[1]: Failed password for",
        "Jan 3 06:25:00 h sshd[1]: Failed  for  from  port ",
        "Jan 3 06:25:00 h sshd[1]: PAM 99999999999999999999 more authentication failures; rhost=",
        "Jan 3 06:25:00 h sshd[1]: Disconnecting  port 1: ",
        "Jan 3 06:25:00 h sshd[1]: message repeated 2 times: [ ",
        "Jan 3 06:25:00 h sshd[1]: [ID ",
        "<999999>1 x",
        "2024-11-14T06:25:00+99:00 h sshd: x",
        "Jan 3 06:25:00 h sshd[1]: SSH: Server;Ltype: Version;Remote: -",
        "Jan 3 06:25:00 h sudo: : 9999999999999999999999 incorrect password attempts",
        "Jan 3 06:25:00 h sshd[1]: pam_tally2(sshd:auth): user  ( tally 4294967296, deny 4294967295",
        "Jan 3 06:25:00 h sshd[1]: pam_tally2(sshd:auth): user x (1) tally 0, deny 4294967295",
        "Jan 3 06:25:00 h sshd[1]: pam_tally(: user",
        "Jan 3 06:25:00 h sshd[1]: pam_lastlog(sshd:account): user  inactive for  days - denied",
        "Jan 3 06:25:00 h sshd[1]: pam_faillock(sshd:auth): Consecutive login failures for user  account temporarily locked",
        "Jan 3 06:25:00 h sshd[1]: pam_unix(sshd:account): account  has expired (",
        "Jan 3 06:25:00 h sshd[1]: pam_unix(sshd:account): expired password for user (",
        "Jan 3 06:25:00 h sshd(pam_google_authenticator)[1]: Invalid verification code for ",
        "Jan 3 06:25:00 h sshd()[1]: Did not receive verification code from user",
        "Jan 3 06:25:00 h sshd[1]: User  not allowed because shell ",
        "Jan 3 06:25:00 h sshd[1]: User password has expired",
        "Jan 3 06:25:00 h sshd[1]: Account  has expired",
    ] {
        let _ = p.parse(l.as_bytes(), 0);
    }
    // Every prefix of a real line, and random bytes, parse without panicking.
    let real = "Jan  3 06:25:00 h sshd[1]: Failed password for invalid user ｘ from 2001:db8::1 port 22 ssh2";
    for i in 0..real.len() {
        let _ = p.parse(&real.as_bytes()[..i], 0);
    }
    let mut x: u32 = 12345;
    for _ in 0..2000 {
        let buf: Vec<u8> = (0..64)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        let _ = p.parse(&buf, 0);
    }
}
