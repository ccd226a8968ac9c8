//! Self-contained fixtures for every JSON preset, written from the vendors'
//! documented schemas (there are no licensed Entra/Okta samples in the corpus).

use std::sync::Arc;

use loginwatch::event::{Action, AuthEvent, Method, Outcome, Reason};
use loginwatch::parse::detect::detect;
use loginwatch::parse::{LineCtx, ParseError, Parser, UnparsedReason};

use super::{fmt, format_name, opts, t};

fn one(format: &str, line: &str) -> Result<Option<AuthEvent>, ParseError> {
    let mut p = Parser::new(
        &fmt(format),
        &opts(),
        LineCtx {
            path: Arc::from("fixture.json"),
        },
    );
    p.parse(line.as_bytes(), 0)
}

fn ev(format: &str, line: &str) -> AuthEvent {
    one(format, line)
        .unwrap()
        .unwrap_or_else(|| panic!("no event from {line}"))
}

#[test]
fn ecs_preset_reads_nested_flat_and_our_output() {
    let nested = r#"{"@timestamp":"2026-02-10T07:31:12.5+01:00","event":{"action":"login","outcome":"failure","reason":"unknown_user"},"user":{"name":"guest"},"source":{"ip":"198.51.100.4","port":50522},"host":{"name":"web1"},"service":{"name":"nginx"}}"#;
    let e = ev("ecs", nested);
    assert_eq!(e.timestamp, t("2026-02-10T06:31:12.5Z"));
    assert_eq!(
        (e.outcome, e.reason),
        (Outcome::Failure, Some(Reason::UnknownUser))
    );
    assert_eq!(
        (e.user.as_deref(), e.host.as_deref(), e.service.as_deref()),
        (Some("guest"), Some("web1"), Some("nginx"))
    );
    assert_eq!(
        (e.source_ip, e.source_port),
        (Some("198.51.100.4".parse().unwrap()), Some(50522))
    );
    let again = ev("json", &serde_json::to_string(&e).unwrap());
    assert_eq!(again, e);
}

#[test]
fn cloudtrail_fixtures() {
    let base = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","accountId":"111122223333","accessKeyId":"","userName":"HIDDEN_DUE_TO_SECURITY_REASONS"},"eventTime":"2026-02-10T07:31:12Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.50","userAgent":"Mozilla/5.0","errorMessage":"No username found in supplied account","requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/","MobileVersion":"No","MFAUsed":"No"},"eventType":"AwsConsoleSignIn"}"#;
    let e = ev("cloudtrail", base);
    assert_eq!(
        (e.outcome, e.reason, e.user.clone()),
        (Outcome::Failure, Some(Reason::UnknownUser), None)
    );
    assert_eq!(e.method, Some(Method::Password));
    let role = r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Admins/jdoe@example.com"},"eventTime":"2026-02-10T07:31:12Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"AWS Internal","responseElements":{"ConsoleLogin":"Success"}}"#;
    let e = ev("cloudtrail", role);
    assert_eq!(
        (e.outcome, e.user.as_deref(), e.source_ip),
        (Outcome::Success, Some("jdoe@example.com"), None)
    );
    let root = r#"{"userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root"},"eventTime":"2026-02-10T07:31:12Z","eventName":"CheckMfa","sourceIPAddress":"203.0.113.50","responseElements":{"CheckMfa":"Failure"}}"#;
    let e = ev("cloudtrail", root);
    assert_eq!(
        (e.action, e.reason, e.user.as_deref()),
        (Action::Mfa, Some(Reason::MfaFailed), Some("root"))
    );
    let api = r#"{"eventTime":"2026-02-10T07:31:12Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets"}"#;
    assert_eq!(one("cloudtrail", api), Ok(None));
    let no_outcome = r#"{"eventTime":"2026-02-10T07:31:12Z","eventName":"ConsoleLogin","responseElements":null}"#;
    assert_eq!(
        one("cloudtrail", no_outcome).err().map(|e| e.reason),
        Some(UnparsedReason::WrongShape)
    );
}

#[test]
fn windows_security_fixtures_nxlog_and_winlogbeat() {
    let wlb = r#"{"@timestamp":"2026-02-10T07:31:12.123Z","event":{"code":"4625","provider":"Microsoft-Windows-Security-Auditing"},"winlog":{"channel":"Security","computer_name":"DC01.corp.example","event_id":"4625","event_data":{"TargetUserName":"svc_backup","TargetDomainName":"CORP","Status":"0xc0000234","SubStatus":"0x0","LogonType":"10","IpAddress":"192.0.2.10","IpPort":"51234","WorkstationName":"KALI","AuthenticationPackageName":"NTLM"}}}"#;
    let e = ev("windows-security", wlb);
    assert_eq!(
        (e.outcome, e.reason),
        (Outcome::Failure, Some(Reason::Locked))
    );
    assert_eq!(
        (e.user.as_deref(), e.host.as_deref(), e.device_id.as_deref()),
        (Some("svc_backup"), Some("DC01.corp.example"), Some("KALI"))
    );
    assert_eq!(
        (e.source_ip, e.source_port),
        (Some("192.0.2.10".parse().unwrap()), Some(51234))
    );
    assert_eq!(e.service.as_deref(), Some("remote_interactive"));
    let codes = [
        ("0xC000006D", "0xC0000064", Reason::UnknownUser),
        ("0xC000006D", "0xC000006A", Reason::BadPassword),
        ("0xC0000072", "0x0", Reason::Disabled),
        ("0xC000006E", "0xC0000071", Reason::ExpiredPassword),
        ("0xC000006E", "0xC0000193", Reason::ExpiredAccount),
        ("0xC000006E", "0xC000006F", Reason::NoPermission),
        ("0xC000006E", "0xC0000070", Reason::NoPermission),
        ("0xC000006D", "0xC0000999", Reason::Other),
    ];
    for (st, sub, want) in codes {
        let l = format!(
            r#"{{"EventID":4625,"EventTime":"2026-02-10 08:31:12","TargetUserName":"u","Status":"{st}","SubStatus":"{sub}","IpAddress":"::ffff:10.0.0.1"}}"#
        );
        let e = ev("windows-security", &l);
        assert_eq!(e.reason, Some(want), "{st}/{sub}");
        // No `@timestamp`: the local `EventTime` is read in the options' zone (UTC here).
        assert_eq!(e.timestamp, t("2026-02-10T08:31:12Z"));
        assert_eq!(e.source_ip, Some("10.0.0.1".parse().unwrap()));
    }
    let lock = r#"{"EventID":4740,"@timestamp":"2026-02-10T07:31:12Z","TargetUserName":"alice","TargetDomainName":"WS042","Hostname":"DC01"}"#;
    let e = ev("windows-security", lock);
    assert_eq!(
        (e.action, e.outcome, e.user.as_deref()),
        (Action::Lockout, Outcome::Success, Some("alice"))
    );
    let unlock = lock.replace("4740", "4767");
    assert_eq!(ev("windows-security", &unlock).action, Action::Unlock);
    let ok = r#"{"EventID":4624,"@timestamp":"2026-02-10T07:31:12Z","TargetUserName":"bob","IpAddress":"::1","IpPort":"0","LogonType":"3"}"#;
    let e = ev("windows-security", ok);
    assert_eq!(
        (e.outcome, e.reason, e.source_port),
        (Outcome::Success, None, None)
    );
    assert_eq!(e.source_ip, Some("::1".parse().unwrap()));
    for skipped in [4776, 4771, 4634, 4672] {
        let l = format!(
            r#"{{"EventID":{skipped},"@timestamp":"2026-02-10T07:31:12Z","TargetUserName":"bob","Status":"0xc000006a"}}"#
        );
        assert_eq!(one("windows-security", &l), Ok(None), "{skipped}");
    }
}

const ENTRA: &str = r#"{"id":"66ea54eb-6301-4ee5-be62-ff5a759b8100","createdDateTime":"2026-02-10T07:31:12.1234567Z","userDisplayName":"Adele Vance","userPrincipalName":"AdeleV@contoso.com","userId":"d7cc485d-2c1b-422c-98fd-5ce52859a4a3","appId":"de8bc8b5-d9f9-48b1-a8ad-b748da725064","appDisplayName":"Graph Explorer","ipAddress":"203.0.113.77","clientAppUsed":"Browser","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)","conditionalAccessStatus":"notApplied","isInteractive":true,"status":{"errorCode":CODE,"failureReason":"text","additionalDetails":null},"deviceDetail":{"deviceId":"DEVICE","displayName":"","operatingSystem":"Windows 10","browser":"Edge 120.0.0","isCompliant":false,"isManaged":false,"trustType":""},"location":{"city":"Redmond","state":"Washington","countryOrRegion":"US"}}"#;

#[test]
fn entra_signin_fixtures() {
    let entra = |code: &str, device: &str| {
        ev(
            "entra-signin",
            &ENTRA.replace("CODE", code).replace("DEVICE", device),
        )
    };
    let e = entra("0", "");
    assert_eq!(
        (e.action, e.outcome, e.reason),
        (Action::Login, Outcome::Success, None)
    );
    assert_eq!(e.user.as_deref(), Some("AdeleV@contoso.com"));
    assert_eq!(e.source_ip, Some("203.0.113.77".parse().unwrap()));
    assert_eq!(e.service.as_deref(), Some("Graph Explorer"));
    assert_eq!(e.device_id, None);
    assert_eq!(e.timestamp.timestamp_subsec_nanos(), 123_456_700);
    assert_eq!(
        entra("0", "4b4f6d5e-dev").device_id.as_deref(),
        Some("4b4f6d5e-dev")
    );
    let cases = [
        (
            "50126",
            Action::Login,
            Outcome::Failure,
            Some(Reason::BadPassword),
        ),
        (
            "50034",
            Action::Login,
            Outcome::Failure,
            Some(Reason::UnknownUser),
        ),
        (
            "50053",
            Action::Login,
            Outcome::Failure,
            Some(Reason::Locked),
        ),
        (
            "50057",
            Action::Login,
            Outcome::Failure,
            Some(Reason::Disabled),
        ),
        (
            "50055",
            Action::Login,
            Outcome::Failure,
            Some(Reason::ExpiredPassword),
        ),
        (
            "50144",
            Action::Login,
            Outcome::Failure,
            Some(Reason::ExpiredPassword),
        ),
        (
            "500121",
            Action::Mfa,
            Outcome::Failure,
            Some(Reason::MfaFailed),
        ),
        (
            "53003",
            Action::Login,
            Outcome::Failure,
            Some(Reason::NoPermission),
        ),
        ("50076", Action::Login, Outcome::Unknown, None),
        (
            "70044",
            Action::Login,
            Outcome::Failure,
            Some(Reason::Other),
        ),
    ];
    for (code, a, o, r) in cases {
        let e = entra(code, "");
        assert_eq!((e.action, e.outcome, e.reason), (a, o, r), "{code}");
    }
    // Azure Monitor diagnostic-settings envelope (Log Analytics / Event Hub export).
    let envelope = r#"{"time":"2026-02-10T07:31:12.5512345Z","resourceId":"/tenants/72f988bf/providers/Microsoft.aadiam","operationName":"Sign-in activity","category":"SignInLogs","resultType":"50126","resultDescription":"Invalid username or password.","callerIpAddress":"203.0.113.78","identity":"Adele Vance","Level":4,"properties":{"createdDateTime":"2026-02-10T07:31:12.5512345+00:00","userPrincipalName":"AdeleV@contoso.com","appDisplayName":"Office 365 Exchange Online","ipAddress":"203.0.113.78","clientAppUsed":"IMAP4","status":{"errorCode":50126},"deviceDetail":{"deviceId":""}}}"#;
    let e = ev("entra-signin", envelope);
    assert_eq!(
        (e.outcome, e.reason),
        (Outcome::Failure, Some(Reason::BadPassword))
    );
    assert_eq!(e.user.as_deref(), Some("AdeleV@contoso.com"));
    assert_eq!(e.method.as_ref().map(|m| m.as_str()), Some("imap4"));
    assert_eq!(e.timestamp, t("2026-02-10T07:31:12.5512345Z"));
    let b: Vec<&[u8]> = vec![envelope.as_bytes()];
    assert_eq!(format_name(&detect(&b)), "entra-signin");
}

const OKTA: &str = r#"{"actor":{"id":"00u1qw3mqitPHM8AJ0g7","type":"User","alternateId":"ACTOR","displayName":"Jane Doe","detailEntry":null},"client":{"userAgent":{"rawUserAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)","os":"Mac OS X","browser":"CHROME"},"zone":"null","device":"Computer","id":null,"ipAddress":"198.51.100.23","geographicalContext":{"city":"Paris","country":"France"}},"device":null,"authenticationContext":{"authenticationStep":0,"externalSessionId":"102abc"},"displayMessage":"msg","eventType":"TYPE","outcome":{"result":"RESULT","reason":REASON},"published":"2026-02-10T07:31:12.345Z","securityContext":{"asNumber":null},"severity":"WARN","legacyEventType":"core.user_auth.login_failed","transaction":{"type":"WEB","id":"Wn4f"},"uuid":"5b9d1b1e-0f8d-11ef-9fd6-0b0b0b0b0b0b","version":"0","target":null}"#;

fn okta(
    event_type: &str,
    result: &str,
    reason: Option<&str>,
    actor: &str,
) -> Result<Option<AuthEvent>, ParseError> {
    let reason = reason.map_or("null".to_string(), |r| format!("\"{r}\""));
    one(
        "okta",
        &OKTA
            .replace("TYPE", event_type)
            .replace("RESULT", result)
            .replace("REASON", &reason)
            .replace("ACTOR", actor),
    )
}

#[test]
fn okta_fixtures() {
    let e = okta(
        "user.session.start",
        "FAILURE",
        Some("INVALID_CREDENTIALS"),
        "jane@example.com",
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        (e.action, e.outcome, e.reason),
        (Action::Login, Outcome::Failure, Some(Reason::BadPassword))
    );
    assert_eq!(e.user.as_deref(), Some("jane@example.com"));
    assert_eq!(e.source_ip, Some("198.51.100.23".parse().unwrap()));
    assert_eq!(
        e.user_agent.as_deref(),
        Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)")
    );
    assert_eq!(
        (e.service.as_deref(), e.device_id.clone()),
        (Some("okta"), None)
    );
    assert_eq!(e.timestamp, t("2026-02-10T07:31:12.345Z"));
    let cases = [
        (
            "user.session.start",
            "SUCCESS",
            None,
            Action::Login,
            Outcome::Success,
            None,
        ),
        (
            "user.session.start",
            "FAILURE",
            Some("LOCKED_OUT"),
            Action::Login,
            Outcome::Failure,
            Some(Reason::Locked),
        ),
        (
            "user.session.start",
            "DENY",
            Some("Sign-on policy evaluation resulted in DENY"),
            Action::Login,
            Outcome::Failure,
            Some(Reason::NoPermission),
        ),
        (
            "user.authentication.auth_via_mfa",
            "FAILURE",
            Some("INVALID_CREDENTIALS"),
            Action::Mfa,
            Outcome::Failure,
            Some(Reason::MfaFailed),
        ),
        (
            "user.mfa.okta_verify.deny_push",
            "FAILURE",
            None,
            Action::Mfa,
            Outcome::Failure,
            Some(Reason::MfaFailed),
        ),
        (
            "user.authentication.verify",
            "FAILURE",
            Some("VERIFICATION_ERROR"),
            Action::Mfa,
            Outcome::Failure,
            Some(Reason::MfaFailed),
        ),
        (
            "user.account.lock",
            "SUCCESS",
            None,
            Action::Lockout,
            Outcome::Success,
            None,
        ),
        (
            "user.account.unlock_by_admin",
            "SUCCESS",
            None,
            Action::Unlock,
            Outcome::Success,
            None,
        ),
        (
            "user.account.reset_password",
            "SUCCESS",
            None,
            Action::PasswordReset,
            Outcome::Success,
            None,
        ),
    ];
    for (ty, res, reason, a, o, r) in cases {
        let e = okta(ty, res, reason, "jane@example.com").unwrap().unwrap();
        assert_eq!(
            (e.action, e.outcome, e.reason),
            (a, o, r),
            "{ty} {res} {reason:?}"
        );
    }
    // Unknown users: Okta names the actor `unknown`; that is nobody, not a user.
    let e = okta(
        "user.session.start",
        "FAILURE",
        Some("VERIFICATION_ERROR"),
        "unknown",
    )
    .unwrap()
    .unwrap();
    assert_eq!(e.user, None);
    for ignored in [
        "user.mfa.factor.activate",
        "user.authentication.sso",
        "application.user_membership.add",
    ] {
        assert_eq!(
            okta(ignored, "SUCCESS", None, "jane@example.com"),
            Ok(None),
            "{ignored}"
        );
    }
    let b: Vec<&[u8]> = vec![OKTA.as_bytes()];
    assert_eq!(format_name(&detect(&b)), "okta");
}
