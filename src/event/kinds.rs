//! The closed vocabularies of an event: `event.action`, `event.outcome`,
//! `event.reason`, `loginwatch.event.reason_detail` and `loginwatch.auth.method`, each with the
//! spelling JSON and rule files use.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Name;

/// What the event is about (`event.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Login,
    Mfa,
    PasswordChange,
    PasswordReset,
    Lockout,
    Unlock,
}

/// `event.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Unknown,
}

/// Why a failure failed (`event.reason`). Set on failures; on a success only
/// `ExpiredPassword`, meaning "logged in, and must change the password now"
/// (sshd lets such a login through and runs `passwd` before the shell).
///
/// New variants are appended: snapshots store a reason as its index in
/// [`Reason::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    BadPassword,
    UnknownUser,
    Locked,
    Disabled,
    ExpiredPassword,
    ExpiredAccount,
    MfaFailed,
    IpDenied,
    NoPermission,
    CertFailed,
    TooManyAttempts,
    Other,
    /// The account went unused too long and is refused for it (`pam_lastlog`'s
    /// `inactive=` days), before any password expiry.
    Inactive,
}

/// Which control refused a login whose credentials were never the question
/// (`loginwatch.event.reason_detail`): an sshd directive, spelled as in `sshd_config`, or
/// the account's state. Kept beside the reason because the help desk's answer
/// depends on it (edit `AllowGroups`, or unlock the account), while rules only
/// need the reason. (`Serialize`/`Deserialize` are for stored account
/// histories, which keep the variant's index; JSON output uses [`RefusedBy::as_str`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RefusedBy {
    /// `AllowUsers` does not list the user (or not from that host).
    AllowUsers,
    /// `DenyUsers` lists the user (possibly only from that host).
    DenyUsers,
    /// None of the user's groups is in `AllowGroups`.
    AllowGroups,
    /// One of the user's groups is in `DenyGroups`.
    DenyGroups,
    /// `AllowGroups` or `DenyGroups` is set and the user has no group at all.
    NoGroup,
    /// The user's login shell does not exist or is not executable.
    Shell,
    /// The account's password is locked (`passwd -l`, `usermod -L`).
    AccountLocked,
    /// `PermitRootLogin` refused root.
    PermitRootLogin,
}

impl RefusedBy {
    /// True for sshd's `allowed_user()` refusals, after which sshd treats the
    /// user as invalid for the rest of the connection (its later `Failed ...`
    /// lines say `invalid user`). A `PermitRootLogin` refusal keeps the user valid.
    pub fn invalidates_user(self) -> bool {
        self != RefusedBy::PermitRootLogin
    }
}

/// `loginwatch.auth.method`. The common ones are variants so rules compare them cheaply;
/// anything else a log names is kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Password,
    Publickey,
    KeyboardInteractive,
    Hostbased,
    Gssapi,
    None,
    Mfa,
    Sso,
    Other(Name),
}

impl Method {
    /// The ECS-style spelling used in JSON and rule files.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Password => "password",
            Method::Publickey => "publickey",
            Method::KeyboardInteractive => "keyboard_interactive",
            Method::Hostbased => "hostbased",
            Method::Gssapi => "gssapi",
            Method::None => "none",
            Method::Mfa => "mfa",
            Method::Sso => "sso",
            Method::Other(s) => s,
        }
    }

    /// Maps a method as logs spell it (`keyboard-interactive`, `gssapi-with-mic`,
    /// `Password`) to the typed form. Never fails: unknown methods become `Other`.
    pub fn from_log(s: &str) -> Method {
        match s.to_ascii_lowercase().as_str() {
            "password" => Method::Password,
            "publickey" | "public_key" | "public-key" => Method::Publickey,
            "keyboard-interactive" | "keyboard_interactive" | "keyboard-interactive/pam" => {
                Method::KeyboardInteractive
            }
            "hostbased" => Method::Hostbased,
            "gssapi" | "gssapi-with-mic" | "gssapi-keyex" => Method::Gssapi,
            "none" => Method::None,
            "mfa" => Method::Mfa,
            "sso" => Method::Sso,
            other => Method::Other(Arc::from(other)),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            /// The ECS-style spelling used in JSON and rule files.
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),* }
            }
            /// Parses the spelling [`Self::as_str`] produces.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(<$t>::$v),)* _ => None }
            }
            /// Every variant, for error messages listing what is accepted.
            pub const ALL: &'static [&'static str] = &[$($s),*];
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

str_enum!(Action {
    Login => "login", Mfa => "mfa", PasswordChange => "password_change",
    PasswordReset => "password_reset", Lockout => "lockout", Unlock => "unlock",
});
str_enum!(Outcome { Success => "success", Failure => "failure", Unknown => "unknown" });
str_enum!(Reason {
    BadPassword => "bad_password", UnknownUser => "unknown_user", Locked => "locked",
    Disabled => "disabled", ExpiredPassword => "expired_password",
    ExpiredAccount => "expired_account", MfaFailed => "mfa_failed", IpDenied => "ip_denied",
    NoPermission => "no_permission", CertFailed => "cert_failed",
    TooManyAttempts => "too_many_attempts", Other => "other", Inactive => "inactive",
});
str_enum!(RefusedBy {
    AllowUsers => "AllowUsers", DenyUsers => "DenyUsers", AllowGroups => "AllowGroups",
    DenyGroups => "DenyGroups", NoGroup => "no_group", Shell => "shell",
    AccountLocked => "account_locked", PermitRootLogin => "PermitRootLogin",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_their_spelling() {
        for s in Reason::ALL {
            assert_eq!(Reason::parse(s).unwrap().as_str(), *s);
        }
        for s in RefusedBy::ALL {
            assert_eq!(RefusedBy::parse(s).unwrap().as_str(), *s);
        }
        assert_eq!(
            Method::from_log("keyboard-interactive").as_str(),
            "keyboard_interactive"
        );
        assert_eq!(Method::from_log("gssapi-with-mic"), Method::Gssapi);
    }
}
