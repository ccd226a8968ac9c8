//! Unit tests of the sshd parser: every message form, both timestamp
//! families, invalid input, and the one-event-per-attempt correlation.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::SshdParser;
use crate::event::{AuthEvent, Method, Outcome, Reason, RefusedBy};
use crate::parse::{LineCtx, ParseOptions, UnparsedReason};

pub(super) fn parser() -> SshdParser {
    SshdParser::new(
        ParseOptions::at(Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap()),
        LineCtx {
            path: Arc::from("auth.log"),
        },
    )
}

pub(super) fn one(line: &str) -> Option<AuthEvent> {
    parser().parse(line.as_bytes(), 7).unwrap()
}

/// Events of a sequence of lines fed to one parser, as (line index, event).
pub(super) fn seq(lines: &[&str]) -> Vec<(usize, AuthEvent)> {
    let mut p = parser();
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| p.parse(l.as_bytes(), i as u64).unwrap().map(|e| (i, e)))
        .collect()
}

pub(super) fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

pub(super) fn failure(e: &AuthEvent, reason: Reason, user: Option<&str>, addr: Option<&str>) {
    assert_eq!(e.outcome, Outcome::Failure, "{e:?}");
    assert_eq!(e.reason, Some(reason), "{e:?}");
    assert_eq!(e.user.as_deref(), user, "{e:?}");
    assert_eq!(e.source_ip, addr.and_then(ip), "{e:?}");
}

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
fn locked_account_is_held_until_the_address_is_known() {
    let ev = seq(&[
        "Apr 24 01:39:19 h sshd[3719]: User root not allowed because account is locked",
        "Apr 24 01:39:19 h sshd[3719]: input_userauth_request: invalid user root [preauth]",
        "Apr 24 01:39:19 h sshd[3719]: Received disconnect from 198.51.100.34 port 5:11: Bye Bye [preauth]",
    ]);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0, 2);
    // A `passwd -l`'d account: disabled by an admin, not a lockout.
    failure(
        &ev[0].1,
        Reason::Disabled,
        Some("root"),
        Some("198.51.100.34"),
    );
    assert_eq!(ev[0].1.refused_by, Some(RefusedBy::AccountLocked));
}

#[test]
fn expired_passwords_take_the_connection_address() {
    // Held until the pid's end decides: here the clients leave at the prompt
    // to change the password (line without an address of its own).
    let ev = seq(&[
        "Jan 3 06:25:00 h sshd[1]: Connection from 192.0.2.9 port 7 on 10.0.0.1 port 22",
        "Jan 3 06:25:01 h sshd[1]: pam_unix(sshd:account): expired password for user bob (password aged)",
        "Jan 3 06:25:00 h sshd[2]: Connection from 192.0.2.8 port 7 on 10.0.0.1 port 22",
        "Jan 3 06:25:01 h sshd[2]: password for user carol has expired",
        "Jan 3 06:25:09 h sshd[1]: Connection closed by authenticating user bob 192.0.2.9 port 7 [preauth]",
        "Jan 3 06:25:09 h sshd[2]: Connection closed by authenticating user carol 192.0.2.8 port 7 [preauth]",
    ]);
    let idx: Vec<usize> = ev.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, vec![4, 5]);
    failure(
        &ev[0].1,
        Reason::ExpiredPassword,
        Some("bob"),
        Some("192.0.2.9"),
    );
    failure(
        &ev[1].1,
        Reason::ExpiredPassword,
        Some("carol"),
        Some("192.0.2.8"),
    );
}

#[test]
fn pam_failure_then_failed_line_is_one_attempt() {
    let ev = seq(&[
        "Jan 3 06:25:00 h sshd[5]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root",
        "Jan 3 06:25:02 h sshd[5]: Failed password for root from 203.0.113.9 port 4000 ssh2",
        "Jan 3 06:25:04 h sshd[5]: Failed password for root from 203.0.113.9 port 4000 ssh2",
        "Jan 3 06:25:05 h sshd[5]: Connection closed by authenticating user root 203.0.113.9 port 4000 [preauth]",
        "Jan 3 06:25:05 h sshd[5]: PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root",
    ]);
    let idx: Vec<usize> = ev.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, vec![1, 2]);
    failure(
        &ev[0].1,
        Reason::BadPassword,
        Some("root"),
        Some("203.0.113.9"),
    );
    assert_eq!(ev[0].1.source_port, Some(4000));
}

#[test]
fn invalid_user_and_its_failed_echo_count_once() {
    let ev = seq(&[
        "Jan 3 06:25:00 h sshd[6]: Invalid user oracle from 198.51.100.2 port 5000",
        "Jan 3 06:25:00 h sshd[6]: pam_unix(sshd:auth): check pass; user unknown",
        "Jan 3 06:25:00 h sshd[6]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.2",
        "Jan 3 06:25:02 h sshd[6]: Failed password for invalid user oracle from 198.51.100.2 port 5000 ssh2",
        "Jan 3 06:25:04 h sshd[6]: Failed password for invalid user oracle from 198.51.100.2 port 5000 ssh2",
        "Jan 3 06:25:05 h sshd[6]: Received disconnect from 198.51.100.2 port 5000:11: Bye Bye [preauth]",
        "Jan 3 06:25:05 h sshd[6]: Disconnected from invalid user oracle 198.51.100.2 port 5000 [preauth]",
    ]);
    let idx: Vec<usize> = ev.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, vec![0, 4]);
}

#[test]
fn pam_failure_overruled_by_success_is_not_counted() {
    let ev = seq(&[
        "Mar  7 18:53:20 h sshd[1556]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.113  user=rda",
        "Mar  7 18:53:20 h sshd[1556]: Accepted password for rda from 192.0.2.113 port 52100 ssh2",
        "Mar  7 18:53:25 h sshd[1556]: Connection closed by 192.0.2.113",
    ]);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].1.outcome, Outcome::Success);
}

#[test]
fn preauth_end_counts_once_when_nothing_else_did() {
    let ev = seq(&[
        "Jan 3 06:25:00 h sshd[8]: Connection closed by authenticating user root 192.0.2.10 port 46038 [preauth]",
        "Jan 3 06:25:00 h sshd[9]: Connection closed by 192.0.2.10 port 46039",
        "Jan 3 06:25:00 h sshd[10]: Connection closed by invalid user x 192.0.2.11 port 1 [preauth]",
    ]);
    assert_eq!(ev.len(), 2);
    failure(&ev[0].1, Reason::Other, Some("root"), Some("192.0.2.10"));
    failure(&ev[1].1, Reason::UnknownUser, Some("x"), Some("192.0.2.11"));
}

#[test]
fn connection_noise_is_other_and_uses_the_pid_address() {
    let e = one(
        "Jan 3 06:25:00 h sshd[1]: Did not receive identification string from 192.0.2.5 port 35836",
    )
    .unwrap();
    failure(&e, Reason::Other, None, Some("192.0.2.5"));
    let e = one("Jan 3 06:25:00 h sshd[1]: Unable to negotiate with 192.0.2.1 port 55419: no matching cipher found. Their offer: aes256-cbc [preauth]").unwrap();
    failure(&e, Reason::Other, None, Some("192.0.2.1"));
    let e = one("Jan 3 06:25:00 h sshd[1]: refused connect from x.example (::ffff:192.0.2.44)")
        .unwrap();
    failure(&e, Reason::Other, None, Some("192.0.2.44"));
    let ev = seq(&[
        "Jun  7 04:29:10 h sshd[649921]: Connection from 192.0.2.16 port 51280 on 192.0.2.1 port 22 rdomain \"\"",
        "Jun  7 04:29:10 h sshd[649921]: error: kex_exchange_identification: read: Connection reset by peer",
        "Jun  7 04:29:10 h sshd[649921]: Connection reset by 192.0.2.16 port 51280",
    ]);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0, 1);
    failure(&ev[0].1, Reason::Other, None, Some("192.0.2.16"));
}

#[test]
fn su_and_sudo_pam_line_and_summary_count_once() {
    let ev = seq(&[
        "Jan 3 06:25:00 h su[77]: pam_unix(su:auth): authentication failure; logname=bob uid=1000 euid=0 tty=pts/0 ruser=bob rhost=  user=root",
        "Jan 3 06:25:02 h su[77]: FAILED SU (to root) bob on pts/0",
        "Jan 3 06:26:00 h sudo: pam_unix(sudo:auth): authentication failure; logname=eve uid=1001 euid=0 tty=/dev/pts/1 ruser=eve rhost=  user=eve",
        "Jan 3 06:26:09 h sudo:      eve : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/eve ; USER=root ; COMMAND=/bin/sh",
        "Jan 3 06:27:00 h sudo:      eve : 1 incorrect password attempt ; TTY=pts/1 ; PWD=/home/eve ; USER=root ; COMMAND=/bin/sh",
    ]);
    let idx: Vec<usize> = ev.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, vec![0, 2, 4]);
    failure(&ev[0].1, Reason::BadPassword, Some("root"), None);
    assert_eq!(ev[0].1.service.as_deref(), Some("su"));
    failure(&ev[1].1, Reason::BadPassword, Some("eve"), None);
    assert_eq!(ev[2].1.service.as_deref(), Some("sudo"));
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
