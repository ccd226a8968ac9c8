//! OCSF's vocabularies for our events: class and activity of each action,
//! status, severity, status detail, authentication protocol, Windows logon
//! type, and OCSF's e-mail address pattern.

use super::super::{Action, AuthEvent, Method, Outcome, Reason};

/// The class an action belongs to, and its activity there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Authentication,
    AccountChange,
}

impl Class {
    pub(super) fn uid(self) -> u16 {
        match self {
            Class::Authentication => 3002,
            Class::AccountChange => 3001,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Class::Authentication => "Authentication",
            Class::AccountChange => "Account Change",
        }
    }
}

/// The class, `(activity_id, caption)` and `type_name` of an action. An MFA
/// step is part of a logon (`is_mfa` says which kind); the account changes
/// have activities of their own in Account Change.
pub(super) fn activity(a: Action) -> (Class, u8, &'static str, &'static str) {
    match a {
        Action::Login | Action::Mfa => (Class::Authentication, 1, "Logon", "Authentication: Logon"),
        Action::PasswordChange => (
            Class::AccountChange,
            3,
            "Password Change",
            "Account Change: Password Change",
        ),
        Action::PasswordReset => (
            Class::AccountChange,
            4,
            "Password Reset",
            "Account Change: Password Reset",
        ),
        Action::Lockout => (Class::AccountChange, 9, "Lock", "Account Change: Lock"),
        Action::Unlock => (Class::AccountChange, 12, "Unlock", "Account Change: Unlock"),
    }
}

/// `(status_id, caption)`.
pub(super) fn status(o: Outcome) -> (u8, &'static str) {
    match o {
        Outcome::Success => (1, "Success"),
        Outcome::Failure => (2, "Failure"),
        Outcome::Unknown => (0, "Unknown"),
    }
}

/// `(severity_id, caption)`: a failure or an account locking itself is Low,
/// anything else Informational. An event is one attempt; what a run of them
/// means is a decision's severity, not the event's.
pub(super) fn severity(e: &AuthEvent) -> (u8, &'static str) {
    if e.outcome == Outcome::Failure || e.action == Action::Lockout {
        (2, "Low")
    } else {
        (1, "Informational")
    }
}

/// `status_detail`: the codes the Authentication class's description gives
/// for Windows logons where a reason is one of them, else our reason in the
/// same upper-case style.
pub(super) fn status_detail(r: Reason) -> &'static str {
    match r {
        Reason::BadPassword => "INVALID_CREDENTIALS",
        Reason::UnknownUser => "USER_DOES_NOT_EXIST",
        Reason::Locked => "ACCOUNT_LOCKED_OUT",
        Reason::Disabled => "ACCOUNT_DISABLED",
        Reason::ExpiredPassword => "PASSWORD_EXPIRED",
        Reason::ExpiredAccount => "EXPIRED_ACCOUNT",
        Reason::MfaFailed => "MFA_FAILED",
        Reason::IpDenied => "IP_DENIED",
        Reason::NoPermission => "NO_PERMISSION",
        Reason::CertFailed => "CERT_FAILED",
        Reason::TooManyAttempts => "TOO_MANY_ATTEMPTS",
        Reason::Other => "OTHER",
        Reason::Inactive => "INACTIVE",
    }
}

/// `(auth_protocol_id, auth_protocol)` of a method: the protocols OCSF names,
/// else Other (99) with the method as we spell it.
pub(super) fn auth_protocol(m: &Method) -> (u8, &str) {
    let s = m.as_str();
    let id = match s {
        "ntlm" => 1,
        "kerberos" => 2,
        "digest" => 3,
        "openid" | "oidc" => 4,
        "saml" => 5,
        "oauth" | "oauth2" => 6,
        "radius" => 10,
        "basic" => 11,
        "ldap" => 12,
        _ => 99,
    };
    let caption = match id {
        1 => "NTLM",
        2 => "Kerberos",
        3 => "Digest",
        4 => "OpenID",
        5 => "SAML",
        6 => "OAUTH 2.0",
        10 => "RADIUS",
        11 => "Basic Authentication",
        12 => "LDAP",
        _ => s,
    };
    (id, caption)
}

/// `(logon_type_id, caption)` of the Windows logon types the
/// `windows-security` preset writes as `service.name`.
pub(super) fn logon_type(service: &str) -> Option<(u8, &'static str)> {
    Some(match service {
        "interactive" => (2, "Interactive"),
        "network" => (3, "Network"),
        "batch" => (4, "Batch"),
        "service" => (5, "OS Service"),
        "unlock" => (7, "Unlock"),
        "network_cleartext" => (8, "Network Cleartext"),
        "new_credentials" => (9, "New Credentials"),
        "remote_interactive" => (10, "Remote Interactive"),
        "cached_interactive" => (11, "Cached Interactive"),
        _ => return None,
    })
}

/// OCSF's `email_t`: `^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$`.
/// Inventories hold what people typed; anything else is left out.
pub(super) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+,-./=?^_`{|}~".contains(&b));
    let Some((first, rest)) = domain.split_once('.') else {
        return false;
    };
    local_ok
        && !first.is_empty()
        && first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}
