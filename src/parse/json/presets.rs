//! The built-in JSON presets: ECS, AWS CloudTrail console sign-in, Windows
//! Security (NXLog and Winlogbeat names), Microsoft Entra ID sign-ins, Okta.
//!
//! Each preset is plain data (a [`JsonSpec`]), so a rule file can start from one
//! (`preset = "okta"`) and override fields; the choices that are not obvious from
//! the vendors' documentation are explained beside the entries.

use std::sync::Arc;

use super::mapping::ValueMap;
use super::{Filter, JsonSpec, Mapped, Path};
use crate::event::{Action, Method, Name, Outcome, Reason};

/// Built-in preset names accepted by `--format` (`json` is `ecs`).
pub const PRESETS: &[&str] = &[
    "json",
    "ecs",
    "cloudtrail",
    "windows-security",
    "entra-signin",
    "okta",
];

/// The spec of a built-in preset, `None` for any other name.
pub fn preset(name: &str) -> Option<JsonSpec> {
    Some(match name {
        "json" | "ecs" => ecs(name),
        "cloudtrail" => cloudtrail(),
        "windows-security" => windows_security(),
        "entra-signin" => entra_signin(),
        "okta" => okta(),
        _ => return None,
    })
}

fn paths(ps: &[&'static str]) -> Vec<Path> {
    ps.iter().map(|p| Path::lit(p)).collect()
}

fn mapped<T: Clone>(ps: &[&'static str], map: &[(&str, T)], absent: Option<T>) -> Mapped<T> {
    Mapped {
        paths: paths(ps),
        map: ValueMap::of(map),
        absent,
    }
}

fn other(s: &str) -> Method {
    Method::Other(Arc::from(s))
}

fn name(s: &str) -> Name {
    Arc::from(s)
}

/// Our own spellings (what `AuthEvent`'s JSON writes), so our output round-trips.
fn ours<T: Copy>(all: &[&'static str], parse: fn(&str) -> Option<T>) -> Vec<(&'static str, T)> {
    all.iter()
        .filter_map(|s| parse(s).map(|t| (*s, t)))
        .collect()
}

/// ECS, nested or with flat dotted keys. A present `event.action` that is not one
/// of ours means an event about something else (ECS logs carry every kind of event).
/// Our own fields outside ECS are read under their `loginwatch.` names and, so
/// files written before they moved still parse, under their old ones.
fn ecs(name: &str) -> JsonSpec {
    let mut s = JsonSpec::empty(name);
    s.fields.time = paths(&["@timestamp"]);
    let mut actions = ours(Action::ALL, Action::parse);
    actions.extend([
        ("user_login", Action::Login),
        ("logged-in", Action::Login),
        ("logon", Action::Login),
    ]);
    s.fields.action = mapped(&["event.action"], &actions, Some(Action::Login));
    s.fields.outcome = mapped(
        &["event.outcome"],
        &ours(Outcome::ALL, Outcome::parse),
        None,
    );
    s.fields.reason = mapped(&["event.reason"], &ours(Reason::ALL, Reason::parse), None);
    s.fields.refused_by = paths(&["loginwatch.event.reason_detail", "event.reason_detail"]);
    s.fields.method = Mapped {
        paths: paths(&["loginwatch.auth.method", "auth.method"]),
        ..Mapped::default()
    };
    // Filebeat's system module names the syslog program in `process.name` only.
    s.fields.service = Mapped {
        paths: paths(&["service.name", "process.name"]),
        ..Mapped::default()
    };
    s.fields.process = paths(&["process.name"]);
    s.fields.pid = paths(&["process.pid"]);
    s.fields.user = paths(&["user.name"]);
    s.fields.source_ip = paths(&["source.ip", "client.ip"]);
    s.fields.source_port = paths(&["source.port", "client.port"]);
    s.fields.host = paths(&["host.name", "host.hostname"]);
    s.fields.user_agent = paths(&["user_agent.original"]);
    s.fields.device_id = paths(&["device.id"]);
    s
}

/// CloudTrail console sign-in records (`ConsoleLogin`, and `CheckMfa`, the
/// separate MFA step of a console sign-in). Every other API call is `Ok(None)`.
fn cloudtrail() -> JsonSpec {
    let mut s = JsonSpec::empty("cloudtrail");
    s.fields.filters = vec![Filter {
        path: Path::lit("eventName"),
        values: ValueMap::of(&[("ConsoleLogin", ()), ("CheckMfa", ())]),
        exclude: false,
    }];
    // Logstash-shipped trails drop `eventTime` and keep only `@timestamp`.
    s.fields.time = paths(&["eventTime", "@timestamp"]);
    s.fields.action = mapped(
        &["eventName"],
        &[("ConsoleLogin", Action::Login), ("CheckMfa", Action::Mfa)],
        None,
    );
    s.fields.outcome = mapped(
        &["responseElements.ConsoleLogin", "responseElements.CheckMfa"],
        &[("Success", Outcome::Success), ("Failure", Outcome::Failure)],
        None,
    );
    s.fields.reason = mapped(
        &["errorMessage"],
        &[
            ("Failed authentication", Reason::BadPassword),
            ("No username found in supplied account", Reason::UnknownUser),
            ("Account locked*", Reason::Locked),
            ("Password expired*", Reason::ExpiredPassword),
        ],
        None,
    );
    s.fields.method = mapped(
        &["additionalEventData.MFAUsed"],
        &[("Yes", Method::Mfa), ("No", Method::Password)],
        None,
    );
    s.fields.service = Mapped {
        paths: paths(&["eventName"]),
        ..Mapped::default()
    };
    // Federated (assumed-role) sign-ins have no userName: the ARN's session name is the person.
    s.fields.user = paths(&["userIdentity.userName", "userIdentity.arn|tail"]);
    // `sourceIPAddress` may be `AWS Internal` or a service name: then absent.
    s.fields.source_ip = paths(&["sourceIPAddress"]);
    s.fields.user_agent = paths(&["userAgent"]);
    // Failures for unknown users name nobody; one shared fake name would merge them.
    s.fields.placeholders = ValueMap::of(&[("HIDDEN_DUE_TO_SECURITY_REASONS", ())]);
    s.fields.mfa_failure_is_mfa_failed = true;
    s
}

/// NTSTATUS codes of 4625 (`Status`/`SubStatus`). 0xC000006D ("bad user name or
/// password") is generic and deliberately absent, so the more precise `SubStatus`
/// decides. Logon-hour (0xC000006F), workstation (0xC0000070) and logon-type
/// (0xC000015B) restrictions are `no_permission`: the credentials were right, the
/// account is not allowed there or then, which is not an address ban (`ip_denied`).
const NTSTATUS: &[(&str, Reason)] = &[
    ("0xC000006A", Reason::BadPassword),
    ("0xC0000064", Reason::UnknownUser),
    ("0xC0000234", Reason::Locked),
    ("0xC0000072", Reason::Disabled),
    ("0xC0000071", Reason::ExpiredPassword),
    ("0xC0000224", Reason::ExpiredPassword),
    ("0xC0000193", Reason::ExpiredAccount),
    ("0xC000006F", Reason::NoPermission),
    ("0xC0000070", Reason::NoPermission),
    ("0xC000015B", Reason::NoPermission),
    ("0xC000006E", Reason::NoPermission),
    ("0xC0000413", Reason::NoPermission),
];

/// Windows Security 4624 (logon), 4625 (failed logon), 4740 (lockout), 4767
/// (unlock), as NXLog (`EventID`, top-level `TargetUserName`) or Winlogbeat
/// (`winlog.event_id`, `winlog.event_data.*`) writes them.
///
/// 4771/4776 (the domain controller's Kerberos pre-auth and NTLM validation) are
/// deliberately not read: each repeats an attempt the member machine already logs
/// as 4624/4625 (the OTRF spray has 7 x 4625 and the same 7 as 4776), so reading
/// both would count every failure twice. A DC-only collection can declare a
/// format from this preset that adds them.
fn windows_security() -> JsonSpec {
    let ids = ["EventID", "winlog.event_id", "event.code"];
    let mut s = JsonSpec::empty("windows-security");
    // `@timestamp` is UTC (Winlogbeat: the event time; NXLog via Logstash: the
    // ingestion time, seconds later); NXLog's `EventTime` is local wall-clock
    // time without a zone, read in `--tz`, so it is the last resort.
    s.fields.time = paths(&["@timestamp", "TimeCreated", "EventTime"]);
    s.fields.action = mapped(
        &ids,
        &[
            ("4624", Action::Login),
            ("4625", Action::Login),
            ("4740", Action::Lockout),
            ("4767", Action::Unlock),
        ],
        None,
    );
    s.fields.outcome = mapped(
        &ids,
        &[
            ("4624", Outcome::Success),
            ("4625", Outcome::Failure),
            ("4740", Outcome::Success),
            ("4767", Outcome::Success),
        ],
        None,
    );
    s.fields.reason = mapped(
        &[
            "SubStatus",
            "winlog.event_data.SubStatus",
            "Status",
            "winlog.event_data.Status",
        ],
        NTSTATUS,
        None,
    );
    s.fields.method = mapped(
        &[
            "AuthenticationPackageName",
            "winlog.event_data.AuthenticationPackageName",
        ],
        &[
            ("MICROSOFT_AUTHENTICATION_PACKAGE_V1_0", other("ntlm")),
            ("NTLM", other("ntlm")),
            ("Kerberos", other("kerberos")),
            ("Negotiate", other("negotiate")),
        ],
        None,
    );
    // The logon type says how the attempt came in (RDP is 10), which rules scope on.
    s.fields.service = mapped(
        &["LogonType", "winlog.event_data.LogonType"],
        &[
            ("2", name("interactive")),
            ("3", name("network")),
            ("4", name("batch")),
            ("5", name("service")),
            ("7", name("unlock")),
            ("8", name("network_cleartext")),
            ("9", name("new_credentials")),
            ("10", name("remote_interactive")),
            ("11", name("cached_interactive")),
        ],
        None,
    );
    // The bare account name: rules key on it across sources; the domain is
    // nearly always the one domain of the site.
    s.fields.user = paths(&["TargetUserName", "winlog.event_data.TargetUserName"]);
    s.fields.source_ip = paths(&["IpAddress", "winlog.event_data.IpAddress", "source.ip"]);
    s.fields.source_port = paths(&["IpPort", "winlog.event_data.IpPort", "source.port"]);
    s.fields.host = paths(&["Hostname", "winlog.computer_name", "host.name", "Computer"]);
    // The client workstation's name: the device the attempt came from.
    s.fields.device_id = paths(&["WorkstationName", "winlog.event_data.WorkstationName"]);
    s
}

/// Entra sign-in error codes that are interruptions, not failures: the password
/// was right and the user is asked for MFA (50074, 50076, 50079), to stay signed
/// in (50140), for an external challenge (50158), or to register or re-consent
/// (50072, 50097, 50125). Counting them as failures would make every MFA prompt
/// look like a wrong password; they are `unknown`.
const ENTRA_INTERRUPTS: &[&str] = &[
    "50074", "50076", "50079", "50140", "50158", "50072", "50097", "50125",
];

/// Microsoft Entra ID sign-in logs, as Graph returns them or inside the Azure
/// Monitor diagnostic envelope (`time`, `properties.*`, `resultType`).
fn entra_signin() -> JsonSpec {
    let code = [
        "status.errorCode",
        "properties.status.errorCode",
        "resultType",
    ];
    let mut s = JsonSpec::empty("entra-signin");
    s.fields.time = paths(&["createdDateTime", "properties.createdDateTime", "time"]);
    s.fields.action = mapped(
        &code,
        &[("500121", Action::Mfa), ("*", Action::Login)],
        Some(Action::Login),
    );
    let mut outcomes = vec![("0", Outcome::Success)];
    outcomes.extend(ENTRA_INTERRUPTS.iter().map(|c| (*c, Outcome::Unknown)));
    outcomes.push(("*", Outcome::Failure));
    s.fields.outcome = mapped(&code, &outcomes, None);
    // 53003 (blocked by Conditional Access) is `no_permission`: policies block by
    // device, app, risk or location alike, so it is not specifically an address ban.
    s.fields.reason = mapped(
        &code,
        &[
            ("50126", Reason::BadPassword),
            ("50056", Reason::BadPassword),
            ("50034", Reason::UnknownUser),
            ("50128", Reason::UnknownUser),
            ("50053", Reason::Locked),
            ("50057", Reason::Disabled),
            ("50055", Reason::ExpiredPassword),
            ("50144", Reason::ExpiredPassword),
            ("500121", Reason::MfaFailed),
            ("53003", Reason::NoPermission),
            ("53000", Reason::NoPermission),
            ("53001", Reason::NoPermission),
            ("50105", Reason::NoPermission),
        ],
        None,
    );
    s.fields.method = Mapped {
        paths: paths(&["clientAppUsed", "properties.clientAppUsed"]),
        ..Mapped::default()
    };
    s.fields.service = Mapped {
        paths: paths(&["appDisplayName", "properties.appDisplayName"]),
        ..Mapped::default()
    };
    s.fields.user = paths(&["userPrincipalName", "properties.userPrincipalName"]);
    s.fields.source_ip = paths(&["ipAddress", "properties.ipAddress", "callerIpAddress"]);
    s.fields.user_agent = paths(&["userAgent", "properties.userAgent"]);
    s.fields.device_id = paths(&["deviceDetail.deviceId", "properties.deviceDetail.deviceId"]);
    s.fields.mfa_failure_is_mfa_failed = true;
    s
}

/// Okta System Log. Only sign-in, MFA, lock/unlock and password events are read;
/// factor enrolment (`user.mfa.factor.*`) is administration, not an attempt.
/// `client.device` is a device class (`Computer`, `Mobile`), not an identity, so
/// `device.id` comes from the Identity Engine's `device.id` only.
fn okta() -> JsonSpec {
    let mut s = JsonSpec::empty("okta");
    s.fields.filters = vec![Filter {
        path: Path::lit("eventType"),
        values: ValueMap::of(&[("user.mfa.factor.*", ())]),
        exclude: true,
    }];
    s.fields.time = paths(&["published"]);
    s.fields.action = mapped(
        &["eventType"],
        &[
            ("user.session.start", Action::Login),
            ("user.authentication.auth_via_mfa", Action::Mfa),
            ("user.authentication.verify", Action::Mfa),
            ("user.mfa.*", Action::Mfa),
            ("user.account.lock*", Action::Lockout),
            ("user.account.unlock*", Action::Unlock),
            ("user.account.update_password", Action::PasswordChange),
            ("user.account.reset_password", Action::PasswordReset),
        ],
        None,
    );
    s.fields.outcome = mapped(
        &["outcome.result"],
        &[
            ("SUCCESS", Outcome::Success),
            ("ALLOW", Outcome::Success),
            ("FAILURE", Outcome::Failure),
            ("DENY", Outcome::Failure),
            ("*", Outcome::Unknown),
        ],
        None,
    );
    s.fields.reason = mapped(
        &["outcome.reason"],
        &[
            ("INVALID_CREDENTIALS", Reason::BadPassword),
            ("VERIFICATION_ERROR", Reason::BadPassword),
            ("LOCKED_OUT", Reason::Locked),
            ("User locked out*", Reason::Locked),
            ("UNKNOWN_USER", Reason::UnknownUser),
            ("User not found*", Reason::UnknownUser),
            ("PASSWORD_EXPIRED", Reason::ExpiredPassword),
            ("Sign-on policy*", Reason::NoPermission),
            ("Network zone*", Reason::IpDenied),
        ],
        None,
    );
    s.fields.service = Mapped {
        absent: Some(name("okta")),
        ..Mapped::default()
    };
    s.fields.user = paths(&["actor.alternateId"]);
    s.fields.source_ip = paths(&["client.ipAddress"]);
    s.fields.user_agent = paths(&["client.userAgent.rawUserAgent"]);
    s.fields.device_id = paths(&["device.id"]);
    s.fields.placeholders = ValueMap::of(&[("unknown", ())]);
    s.fields.mfa_failure_is_mfa_failed = true;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_preset_exists_and_others_do_not() {
        for p in PRESETS {
            assert!(preset(p).is_some(), "{p}");
        }
        assert!(preset("sshd").is_none());
        assert_eq!(
            preset("json").map(|s| s.fields.outcome),
            preset("ecs").map(|s| s.fields.outcome)
        );
    }

    #[test]
    fn presets_have_a_time_and_an_outcome() {
        for p in PRESETS {
            let s = preset(p).unwrap();
            assert!(!s.fields.time.is_empty(), "{p}");
            assert!(!s.fields.outcome.paths.is_empty(), "{p}");
        }
    }
}
