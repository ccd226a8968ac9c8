//! What `why` says in English, per cause.

use chrono_tz::Tz;

use super::{IfEmpty, TYPING_HELP_EN, at, ips, plural, refused, when};
use crate::decision::{Assessment, Mode};
use crate::helpdesk::{Code, Evidence, LockedBy, SpellingView};

fn mistakes_en(s: &SpellingView) -> String {
    let v: Vec<&str> = s.mistakes.iter().map(|m| m.describe_en()).collect();
    if v.is_empty() {
        "a different form of the same characters".to_string()
    } else {
        v.join("; ")
    }
}

pub(super) fn en(z: Tz, user: &str, code: Code, ev: &Evidence) -> (String, String) {
    let n = ev.count.unwrap_or(0);
    let own = ev.from_known_sources == Some(true);
    // Only a success from the user's own places is surely the user's.
    let then = ev
        .then_logged_in
        .map(|t| match own {
            true => format!(
                " The user then logged in successfully at {}.",
                at(z, Some(t))
            ),
            false => format!(" A login then succeeded at {}.", at(z, Some(t))),
        })
        .unwrap_or_default();
    match code {
        Code::Locked => match ev.by {
            Some(LockedBy::Os) => {
                let (who, ends) = match ev.lock_module {
                    Some("pam_faillock") => ("pam_faillock", " or its unlock_time passes (10 minutes by default; never with unlock_time = 0)"),
                    Some("pam_tally2") => ("pam_tally2", " (pam_tally2 unlocks by itself only when an unlock_time is set)"),
                    _ => ("The system or the identity provider", ""),
                };
                let since = if n > 0 {
                    format!(" {} by it since {}.", refused(n), at(z, ev.first))
                } else {
                    String::new()
                };
                (
                    format!("{who} has locked {user}'s account after repeated failures. Every login is refused, even with the right password, until the lock is reset{ends}.{since}"),
                    format!("Confirm it is the user, then reset the lock: {}.", ev.unlock.clone().unwrap_or_default()),
                )
            }
            _ => {
                let what = match ev.blocked_ip {
                    Some(ip) => format!("The address {ip} the user connects from is blocked"),
                    None => format!("{user}'s account is locked"),
                };
                let rule = ev.rule.as_deref().unwrap_or("a rule");
                let mode = if matches!(ev.mode, Some(Mode::Recommend | Mode::Held)) {
                    " (recommended by loginwatch; enforce it or not as policy says)"
                } else {
                    ""
                };
                let end = match ev.until {
                    Some(u) => format!("It unlocks by itself at {}.", when(z, Some(u))),
                    None => "It stays until an admin unlocks it.".to_string(),
                };
                let kind = match ev.assessment {
                    Some(Assessment::UserError) => " The failures came from the user's own usual places: a typing problem, not an attack.",
                    Some(Assessment::Attack) => " The failures look like an attack on the account.",
                    _ => "",
                };
                (
                    format!("{what} by rule {rule}{mode}. {end}{kind}"),
                    match (ev.assessment, ev.until) {
                        (Some(Assessment::UserError), Some(_)) => format!("Tell the user to wait for the automatic unlock, or unlock now after confirming their identity: {}. Before the next try: {TYPING_HELP_EN}.", ev.unlock.clone().unwrap_or_default()),
                        (Some(Assessment::Attack), _) => format!("Reach the user by another channel before unlocking; if the password may be known, reset it. Unlock with: {}", ev.unlock.clone().unwrap_or_default()),
                        _ => format!("Confirm the user's identity, then unlock: {}", ev.unlock.clone().unwrap_or_default()),
                    },
                )
            }
        },
        Code::Disabled => match ev.status {
            Some("deleted") => (
                format!("{user}'s account has been removed from the directory."),
                "If the user should have access, ask the account administrator to restore or recreate the account.".to_string(),
            ),
            _ if ev.refused_by == Some("account_locked") => (
                format!("{user}'s system account is locked by an administrator (passwd -l or usermod -L): {}, even with the right password.{then}", refused(n)),
                format!("If the lock is not intended, unlock the account on the server: usermod -U {user} (or passwd -u {user})."),
            ),
            Some(_) => (
                format!("{user}'s account is suspended in the account directory (the inventory's status).{then}"),
                "Ask the account administrator whether the suspension is intended (leave, contract end, licence); re-enable the account in the directory or admin console if not.".to_string(),
            ),
            None => (
                format!("{user}'s account is disabled: {} since {}.{then}", refused(n), at(z, ev.first)),
                "Ask the account administrator whether the account was disabled on purpose (leave, contract end, licence); re-enable it in the directory or admin console if not.".to_string(),
            ),
        },
        Code::ExpiredAccount => (
            format!("{user}'s account has expired (its validity date has passed): {} since {}.{then}", refused(n), at(z, ev.first)),
            "Ask the account administrator to extend the account's expiry date (chage -E on Linux, or the directory's account expiry).".to_string(),
        ),
        Code::ExpiredPassword => {
            let change_now = "Tell the user to log in once from an interactive terminal (ssh) and set a new password at the prompt, or to use the password-change page; or reset it for them.".to_string();
            match (ev.must_change_now == Some(true), n) {
                (true, 0) => (
                    format!("{user}'s password has expired. The login is accepted, but the password must be changed before anything else works: programs without a terminal (scp, sftp, git, editors) are disconnected at once."),
                    change_now,
                ),
                (true, _) => (
                    format!("{user}'s password has expired: {} since {}, and a login that went through since must change it before anything else works.", refused(n), at(z, ev.first)),
                    change_now,
                ),
                (false, _) => (
                    format!("{user}'s password has expired: {} since {}.{then}", refused(n), at(z, ev.first)),
                    "Tell the user to change the password (on the password-change page, or at the prompt of an interactive login), or reset it for them.".to_string(),
                ),
            }
        }
        Code::Inactive => (
            format!("{user}'s logins are refused because the account has not been used for too long (pam_lastlog's inactive days, or the directory's inactivity policy): {} since {}.{then}", refused(n), at(z, ev.first)),
            format!("Confirm the user still needs access, then reactivate the account: on the server, lastlog --set --user {user} (pam_lastlog); in a directory, re-enable it."),
        ),
        Code::IpDenied => (
            format!("{user} tried to log in from {}, an address this account may not log in from (the service's IP restriction or network zone): {}.{then}", ips(ev), refused(n)),
            "Ask the user to connect from the office network or the VPN; if this address should be allowed, add it to the allowed list.".to_string(),
        ),
        Code::NoPermission => (
            format!("{user} has no permission to log in here ({}): {}.{then}", match ev.refused_by {
                Some("AllowUsers") => "sshd's AllowUsers does not list the user",
                Some("DenyUsers") => "sshd's DenyUsers lists the user",
                Some("AllowGroups") => "none of the user's groups is in sshd's AllowGroups",
                Some("DenyGroups") => "one of the user's groups is in sshd's DenyGroups",
                Some("no_group") => "the user is in no group that sshd allows",
                Some("shell") => "the login shell does not exist or is not executable",
                Some("PermitRootLogin") => "sshd's PermitRootLogin refuses root",
                _ => "not in an allowed group, in a denied group, or no valid shell",
            }, refused(n)),
            "Check the account's groups and shell against the server's AllowGroups/DenyGroups, or grant access to the service.".to_string(),
        ),
        Code::MfaFailed => {
            let skew = if ev.clock_skew_suspected == Some(true) {
                " A success followed within two minutes: the codes were probably right but the phone's clock is off."
            } else {
                ""
            };
            (
                format!("{user} entered {} (2-step verification) since {}.{skew}{then}", plural(n, "wrong one-time code", "wrong one-time codes"), at(z, ev.first)),
                if skew.is_empty() {
                    "Ask whether the code arrives and which authenticator app or phone is used; a new phone needs the authenticator re-registered.".to_string()
                } else {
                    "Ask the user to set the phone's date and time to automatic (network time), then try again.".to_string()
                },
            )
        }
        Code::MistypedLoginId => {
            let spelled: Vec<String> = ev
                .spellings
                .iter()
                .take(5)
                .map(|s| format!("\"{}\" ({}: {})", crate::escape::Escaped(&s.typed), plural(s.count, "time", "times"), mistakes_en(s)))
                .collect();
            (
                format!("{user} typed the login ID wrong {}: {}.{then}", plural(n, "time", "times"), spelled.join(", ")),
                format!("Tell the user the exact login ID \"{user}\", typed in half-width characters with the Japanese input off, without spaces before or after."),
            )
        }
        Code::WrongPassword => match ev.status {
            Some(status) => (
                format!("{} of {user} failed as wrong passwords since {}, but the account is {status} in the directory, and its logins fail whatever is typed.{then}", plural(n, "login", "logins"), at(z, ev.first)),
                "Deal with the account's status first (see the disabled cause); the password itself may well be right.".to_string(),
            ),
            None => (
                format!("{} for {user} since {}{}.{then}", plural(n, "wrong password", "wrong passwords"), at(z, ev.first), if own { ", all from places the user logs in from: the user's own typing" } else { "" }),
                if own {
                    format!("Ask the user to {TYPING_HELP_EN}; if the password is forgotten, reset it.")
                } else {
                    "Ask whether these attempts were the user's; if not, treat the account as targeted (see the other causes).".to_string()
                },
            ),
        },
        Code::UnderAttack => {
            let place = if ev.source_ips.len() == 1 {
                "an address the user has never logged in from"
            } else {
                "addresses the user has never logged in from"
            };
            let from = ips(ev).if_empty("unknown addresses");
            let tries = plural(ev.count.unwrap_or(0), "failed attempt", "failed attempts");
            match ev.then_logged_in {
                Some(t) => (
                    format!("Others are trying {user}'s account: {tries} from {from}, {place}, and a login from there succeeded at {}. The password is probably known to someone else.", at(z, Some(t))),
                    "Reset the password now and end the account's sessions; reach the user by another channel, turn on 2-step verification, and block the source addresses.".to_string(),
                ),
                None => (
                    format!("{tries} on {user}'s account came from {from}, {place}. Unless the user made them (from home, while travelling, on a new network), someone else is trying the account: the user is its target, not the cause."),
                    "Ask whether the user tried from there; if not, keep the account protected: make sure the password is strong and 2-step verification is on, and block or report the source addresses.".to_string(),
                ),
            }
        }
        Code::NewCountry => (
            format!("{} of {user} came from a country not seen before for this account ({}, from {}).", plural(n, "failed login", "failed logins"), ev.new_values.join(", "), ips(ev)),
            "Ask whether the user is travelling; an IP or country restriction may refuse logins from abroad (the VPN may be needed).".to_string(),
        ),
        Code::NewDevice => (
            format!("{} of {user} came from a device not seen before for this account ({}), at an address the user logs in from.", plural(n, "failed login", "failed logins"), ev.new_values.iter().map(|v| crate::escape::Escaped(v).to_string()).collect::<Vec<_>>().join(", ")),
            "A new phone or computer: make sure it is set up as the old one was (saved passwords, the authenticator app, and any device certificate or registration the service requires).".to_string(),
        ),
        Code::UnknownUser => (
            if ev.did_you_mean.is_empty() {
                format!("There is no account named \"{user}\" that loginwatch has seen log in.")
            } else {
                format!("There is no account named \"{user}\"; it looks like a mistyping of {}.", ev.did_you_mean.iter().map(|d| format!("\"{}\"", crate::escape::Escaped(d))).collect::<Vec<_>>().join(" or "))
            },
            "Check the exact login ID with the user (the full ID, half-width, no spaces), and ask `why` about that ID.".to_string(),
        ),
        Code::NoProblemSeen => (
            format!("Nothing in the logs explains a problem for {user}: no failures, no lock."),
            "Ask which service and device the user is logging in to, and when; the attempt may not reach this server (wrong address, network, or another system).".to_string(),
        ),
    }
}
