//! Unit tests of the verdicts other lines of a pid give on its attempt:
//! expired passwords and accounts, sshd's refusals and their directives, MFA
//! modules, OS account locks and inactivity. Each message is a fixture, then
//! followed by sshd's own lines of the same pid: one event per attempt.

use super::{failure, one, seq};
use crate::event::{Action, AuthEvent, Method, Outcome, Reason, RefusedBy};

const CONN: &str =
    "Nov 14 06:25:00 web1 sshd[4096]: Connection from 203.0.113.5 port 50022 on 192.0.2.1 port 22";
const FAILED_PW: &str =
    "Nov 14 06:25:03 web1 sshd[4096]: Failed password for bob from 203.0.113.5 port 50022 ssh2";
const FAILED_KBD: &str = "Nov 14 06:25:03 web1 sshd[4096]: Failed keyboard-interactive/pam for bob from 203.0.113.5 port 50022 ssh2";
const ACCEPTED_PW: &str =
    "Nov 14 06:25:03 web1 sshd[4096]: Accepted password for bob from 203.0.113.5 port 50022 ssh2";
const CLOSED: &str = "Nov 14 06:25:09 web1 sshd[4096]: Connection closed by authenticating user bob 203.0.113.5 port 50022 [preauth]";

/// The events of `lines`, which must be exactly one.
fn only(lines: &[&str]) -> AuthEvent {
    let ev = seq(lines);
    assert_eq!(ev.len(), 1, "{ev:#?}");
    ev.into_iter().map(|(_, e)| e).next().unwrap()
}

fn with(line: &str, then: &str) -> AuthEvent {
    only(&[line, then])
}

// --- 1. expired passwords ---------------------------------------------------

const PAM_AGED: &str = "Nov 14 06:25:02 web1 sshd[4096]: pam_unix(sshd:account): expired password for user bob (password aged)";
const PAM_ENFORCED: &str = "Nov 14 06:25:02 web1 sshd[4096]: pam_unix(sshd:account): expired password for user bob (root enforced)";

#[test]
fn expired_password_alone_is_held_not_emitted() {
    assert!(one(PAM_AGED).is_none());
    assert!(one(PAM_ENFORCED).is_none());
}

#[test]
fn expired_password_then_accepted_is_a_success_that_must_change_it() {
    let e = only(&[
        PAM_AGED,
        ACCEPTED_PW,
        "Nov 14 06:25:03 web1 sshd[4096]: pam_unix(sshd:session): session opened for user bob(uid=1001) by (uid=0)",
        "Nov 14 06:25:20 web1 sshd[4096]: Disconnected from user bob 203.0.113.5 port 50022",
    ]);
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.reason, Some(Reason::ExpiredPassword));
    assert_eq!(e.user.as_deref(), Some("bob"));
    assert_eq!(e.source_port, Some(50022));
    assert_eq!(e.method, Some(Method::Password));
    let e = with(PAM_ENFORCED, ACCEPTED_PW);
    assert_eq!(
        (e.outcome, e.reason),
        (Outcome::Success, Some(Reason::ExpiredPassword))
    );
}

#[test]
fn expired_password_then_failed_or_end_is_one_failure() {
    // keyboard-interactive: the change is asked inside PAM and failed.
    let ev = seq(&[
        PAM_ENFORCED,
        "Nov 14 06:25:08 web1 sshd[4096]: error: PAM: Authentication token manipulation error for bob from 203.0.113.5",
        FAILED_KBD,
    ]);
    assert_eq!(ev.len(), 1, "{ev:#?}");
    failure(
        &ev[0].1,
        Reason::ExpiredPassword,
        Some("bob"),
        Some("203.0.113.5"),
    );
    let e = with(PAM_AGED, FAILED_PW);
    failure(
        &e,
        Reason::ExpiredPassword,
        Some("bob"),
        Some("203.0.113.5"),
    );
    assert_eq!(e.source_port, Some(50022));
    let e = with(PAM_ENFORCED, CLOSED);
    failure(
        &e,
        Reason::ExpiredPassword,
        Some("bob"),
        Some("203.0.113.5"),
    );
}

#[test]
fn shadow_expired_password_without_pam() {
    let line = "Nov 14 06:25:02 web1 sshd[4096]: User bob password has expired (password aged)";
    let e = with(line, ACCEPTED_PW);
    assert_eq!(
        (e.outcome, e.reason),
        (Outcome::Success, Some(Reason::ExpiredPassword))
    );
    let forced = "Nov 14 06:25:02 web1 sshd[4096]: User bob password has expired (root forced)";
    let e = with(forced, CLOSED);
    failure(
        &e,
        Reason::ExpiredPassword,
        Some("bob"),
        Some("203.0.113.5"),
    );
}

#[test]
fn password_change_notices_attach_to_the_attempt_or_nothing() {
    // sshd writes these to the client; seen in a log only through a wrapper.
    for notice in [
        "Nov 14 06:25:02 web1 sshd[4096]: Your password has expired",
        "Nov 14 06:25:02 web1 sshd[4096]: WARNING: Your password has expired.",
        "Nov 14 06:25:02 web1 sshd[4096]: Password change required but no TTY available.",
    ] {
        let e = with(notice, CLOSED);
        failure(
            &e,
            Reason::ExpiredPassword,
            Some("bob"),
            Some("203.0.113.5"),
        );
        // After the login was accepted there is no attempt left to explain.
        let e = with(ACCEPTED_PW, notice);
        assert_eq!((e.outcome, e.reason), (Outcome::Success, None));
    }
}

#[test]
fn a_verdict_outweighs_a_held_pam_unix_failure() {
    // pam_unix failed, another auth module succeeded, then the account check.
    let e = only(&[
        "Nov 14 06:25:01 web1 sshd[4096]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5  user=bob",
        PAM_AGED,
        ACCEPTED_PW,
    ]);
    assert_eq!(
        (e.outcome, e.reason),
        (Outcome::Success, Some(Reason::ExpiredPassword))
    );
}

// --- 2. expired accounts ----------------------------------------------------

#[test]
fn expired_account_is_one_failure() {
    for line in [
        "Nov 14 06:25:02 web1 sshd[4096]: pam_unix(sshd:account): account bob has expired (account expired)",
        "Nov 14 06:25:02 web1 sshd[4096]: pam_unix(sshd:account): account bob has expired (failed to change password)",
    ] {
        assert!(one(line).is_none());
        let e = with(line, FAILED_PW);
        failure(&e, Reason::ExpiredAccount, Some("bob"), Some("203.0.113.5"));
        // keyboard-interactive: sshd's own verdict, then its Failed line.
        let ev = seq(&[
            line,
            "Nov 14 06:25:02 web1 sshd[4096]: error: PAM: User account has expired for bob from 203.0.113.5",
            FAILED_KBD,
        ]);
        assert_eq!(ev.len(), 1, "{ev:#?}");
        assert_eq!(ev[0].0, 1);
        failure(
            &ev[0].1,
            Reason::ExpiredAccount,
            Some("bob"),
            Some("203.0.113.5"),
        );
    }
}

#[test]
fn pam_error_account_expired_is_not_a_bad_password() {
    let line = "Nov 14 06:25:02 web1 sshd[4096]: error: PAM: User account has expired for bob from 203.0.113.5";
    let e = one(line).unwrap();
    failure(&e, Reason::ExpiredAccount, Some("bob"), Some("203.0.113.5"));
    assert_eq!(with(line, FAILED_KBD).reason, Some(Reason::ExpiredAccount));
}

#[test]
fn shadow_expired_account_explains_the_locked_refusal() {
    // Without PAM, sshd calls an expired account locked, after saying why.
    let ev = seq(&[
        "Nov 14 06:25:01 web1 sshd[4096]: Account bob has expired",
        "Nov 14 06:25:01 web1 sshd[4096]: User bob not allowed because account is locked",
        "Nov 14 06:25:03 web1 sshd[4096]: Failed password for invalid user bob from 203.0.113.5 port 50022 ssh2",
        "Nov 14 06:25:06 web1 sshd[4096]: Failed password for invalid user bob from 203.0.113.5 port 50022 ssh2",
    ]);
    let idx: Vec<usize> = ev.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, vec![2, 3]);
    for (_, e) in &ev {
        failure(e, Reason::ExpiredAccount, Some("bob"), Some("203.0.113.5"));
        assert_eq!(e.refused_by, None);
    }
}

// --- 3. locked (disabled) accounts -----------------------------------------

#[test]
fn locked_account_and_its_invalid_user_echo_are_one_disabled_failure() {
    let locked = "Nov 14 06:25:01 web1 sshd[4096]: User bob not allowed because account is locked";
    let invalid_echo = "Nov 14 06:25:03 web1 sshd[4096]: Failed password for invalid user bob from 203.0.113.5 port 50022 ssh2";
    assert!(one(locked).is_none(), "no address yet: held");
    let e = with(locked, invalid_echo);
    failure(&e, Reason::Disabled, Some("bob"), Some("203.0.113.5"));
    assert_eq!(e.refused_by, Some(RefusedBy::AccountLocked));
    assert_eq!(e.source_port, Some(50022));
    // With the address known first: emitted at once, the Failed line is its echo,
    // and a second try on the connection is refused for the same reason.
    let ev = seq(&[
        CONN,
        locked,
        invalid_echo,
        "Nov 14 06:25:06 web1 sshd[4096]: Failed password for invalid user bob from 203.0.113.5 port 50022 ssh2",
        "Nov 14 06:25:07 web1 sshd[4096]: Connection closed by invalid user bob 203.0.113.5 port 50022 [preauth]",
    ]);
    let idx: Vec<usize> = ev.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, vec![1, 3]);
    for (_, e) in &ev {
        failure(e, Reason::Disabled, Some("bob"), Some("203.0.113.5"));
        assert_eq!(e.refused_by, Some(RefusedBy::AccountLocked));
    }
}

// --- 4. sshd_config refusals ------------------------------------------------

#[test]
fn sshd_config_refusals_keep_their_directive() {
    let cases = [
        (
            "User bob from 203.0.113.5 not allowed because not listed in AllowUsers",
            RefusedBy::AllowUsers,
        ),
        (
            "User bob from 203.0.113.5 not allowed because listed in DenyUsers",
            RefusedBy::DenyUsers,
        ),
        (
            "User bob from 203.0.113.5 not allowed because not in any group",
            RefusedBy::NoGroup,
        ),
        (
            "User bob from 203.0.113.5 not allowed because none of user's groups are listed in AllowGroups",
            RefusedBy::AllowGroups,
        ),
        (
            "User bob from 203.0.113.5 not allowed because a group is listed in DenyGroups",
            RefusedBy::DenyGroups,
        ),
    ];
    let echo = "Nov 14 06:25:03 web1 sshd[4096]: Failed password for invalid user bob from 203.0.113.5 port 50022 ssh2";
    for (msg, by) in cases {
        let line = format!("Nov 14 06:25:01 web1 sshd[4096]: {msg}");
        let e = one(&line).unwrap();
        failure(&e, Reason::NoPermission, Some("bob"), Some("203.0.113.5"));
        assert_eq!(e.refused_by, Some(by), "{msg}");
        let ev = seq(&[&line, echo]);
        assert_eq!(ev.len(), 1, "{msg}: the Failed line is its echo");
    }
}

#[test]
fn shell_refusals_take_the_address_of_their_echo() {
    for msg in [
        "User bob not allowed because shell /bin/tcsh does not exist",
        "User bob not allowed because shell /home/bob/locked.sh is not executable",
    ] {
        let line = format!("Nov 14 06:25:01 web1 sshd[4096]: {msg}");
        let e = with(
            &line,
            "Nov 14 06:25:03 web1 sshd[4096]: Failed password for invalid user bob from 203.0.113.5 port 50022 ssh2",
        );
        failure(&e, Reason::NoPermission, Some("bob"), Some("203.0.113.5"));
        assert_eq!(e.refused_by, Some(RefusedBy::Shell), "{msg}");
    }
}

// --- 5. MFA modules ---------------------------------------------------------

const GA_INVALID: &str =
    "Nov 14 06:25:02 web1 sshd(pam_google_authenticator)[4096]: Invalid verification code for bob";
const GA_NONE: &str = "Nov 14 06:25:02 web1 sshd(pam_google_authenticator)[4096]: Did not receive verification code from user";

#[test]
fn wrong_or_missing_verification_code_is_one_mfa_failure() {
    assert!(one(GA_INVALID).is_none());
    assert!(one(GA_NONE).is_none());
    for code in [GA_INVALID, GA_NONE] {
        let e = with(code, FAILED_KBD);
        failure(&e, Reason::MfaFailed, Some("bob"), Some("203.0.113.5"));
        assert_eq!(e.method, Some(Method::KeyboardInteractive));
        assert_eq!(e.service.as_deref(), Some("sshd"));
        // With sshd's PAM verdict between them: still one event, not a bad_password.
        let ev = seq(&[
            code,
            "Nov 14 06:25:02 web1 sshd[4096]: error: PAM: Authentication failure for bob from 203.0.113.5",
            FAILED_KBD,
            CLOSED,
        ]);
        assert_eq!(ev.len(), 1, "{ev:#?}");
        failure(
            &ev[0].1,
            Reason::MfaFailed,
            Some("bob"),
            Some("203.0.113.5"),
        );
    }
}

/// With keyboard-interactive, OpenSSH runs PAM in a child process whose pid
/// differs: its module lines are then not merged (see the module doc).
#[test]
fn a_verification_code_of_another_pid_is_not_merged() {
    let other = GA_INVALID.replace("[4096]", "[4097]");
    let e = with(&other, FAILED_KBD);
    failure(&e, Reason::BadPassword, Some("bob"), Some("203.0.113.5"));
}

// --- 6. OS account locks ----------------------------------------------------

fn lockout(e: &AuthEvent, addr: Option<&str>) {
    assert_eq!(e.action, Action::Lockout, "{e:?}");
    assert_eq!(e.outcome, Outcome::Success, "{e:?}");
    assert_eq!(e.reason, None, "{e:?}");
    assert_eq!(e.user.as_deref(), Some("bob"), "{e:?}");
    assert_eq!(e.source_ip, addr.and_then(super::ip), "{e:?}");
}

#[test]
fn faillock_is_a_lockout_beside_the_bad_password() {
    let faillock = "Nov 14 06:25:02 web1 sshd[4096]: pam_faillock(sshd:auth): Consecutive login failures for user bob account temporarily locked";
    let ev = seq(&[
        CONN,
        "Nov 14 06:25:02 web1 sshd[4096]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5  user=bob",
        faillock,
        FAILED_PW,
    ]);
    let idx: Vec<usize> = ev.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, vec![2, 3]);
    lockout(&ev[0].1, Some("203.0.113.5"));
    failure(
        &ev[1].1,
        Reason::BadPassword,
        Some("bob"),
        Some("203.0.113.5"),
    );
    // Without a known address the lock is still reported, without one.
    lockout(&one(faillock).unwrap(), None);
}

#[test]
fn tally2_first_denial_is_the_lockout_and_every_denial_is_locked() {
    let first =
        "Nov 14 06:25:02 web1 sshd[4096]: pam_tally2(sshd:auth): user bob (1001) tally 6, deny 5";
    let ev = seq(&[CONN, first, FAILED_PW]);
    assert_eq!(ev.len(), 2, "{ev:#?}");
    lockout(&ev[0].1, Some("203.0.113.5"));
    failure(&ev[1].1, Reason::Locked, Some("bob"), Some("203.0.113.5"));
    let later =
        "Nov 14 06:25:02 web1 sshd[4096]: pam_tally2(sshd:auth): user bob (1001) tally 7, deny 5";
    let e = with(later, FAILED_PW);
    failure(&e, Reason::Locked, Some("bob"), Some("203.0.113.5"));
    let e = one("Dec  7 14:53:04 vskub1master01p sudo: pam_tally2(sudo:auth): user bob (4001) tally 6, deny 5").unwrap();
    lockout(&e, None);
    assert_eq!(e.service.as_deref(), Some("sudo"));
    assert!(one("Nov 14 06:25:02 web1 sshd[4096]: pam_tally2(sshd:auth): user bob (1001) tally 3, deny 5").is_none());
    assert!(one("Nov 14 06:25:02 web1 sshd[4096]: pam_tally2(sshd:auth): user bob (1001) tally x, deny 5").is_none());
}

// --- 7. inactive accounts ---------------------------------------------------

#[test]
fn lastlog_inactive_is_one_inactive_failure() {
    let line = "Nov 14 06:25:02 web1 sshd[4096]: pam_lastlog(sshd:account): user bob inactive for 120 days - denied";
    assert!(one(line).is_none());
    let e = with(line, FAILED_PW);
    failure(&e, Reason::Inactive, Some("bob"), Some("203.0.113.5"));
    // keyboard-interactive: sshd reports any account refusal as expired; the
    // module's line says which.
    let ev = seq(&[
        line,
        "Nov 14 06:25:02 web1 sshd[4096]: error: PAM: User account has expired for bob from 203.0.113.5",
        FAILED_KBD,
    ]);
    assert_eq!(ev.len(), 1, "{ev:#?}");
    failure(&ev[0].1, Reason::Inactive, Some("bob"), Some("203.0.113.5"));
}

#[test]
fn event_json_of_a_refusal_and_a_forced_change() {
    let e = one("Nov 14 06:25:01 web1 sshd[4096]: User bob from 203.0.113.5 not allowed because none of user's groups are listed in AllowGroups").unwrap();
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["event.reason"], "no_permission");
    assert_eq!(v["loginwatch.event.reason_detail"], "AllowGroups");
    let e = with(PAM_AGED, ACCEPTED_PW);
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["event.outcome"], "success");
    assert_eq!(v["event.reason"], "expired_password");
    assert!(v.get("loginwatch.event.reason_detail").is_none());
}
