//! One event per attempt: lines of the same pid that echo, complete or
//! overrule an attempt, pre-auth ends, connection noise, and su/sudo.

use super::{failure, one, seq};
use crate::event::{Outcome, Reason, RefusedBy};

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
