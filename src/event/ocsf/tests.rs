use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::event::{Account, Geo, Outcome, Process, RefusedBy};

fn ev(action: Action, outcome: Outcome) -> AuthEvent {
    let mut e = AuthEvent::new(
        Utc.with_ymd_and_hms(2026, 11, 14, 6, 25, 0).unwrap(),
        action,
        outcome,
    );
    e.user = Some(Arc::from("alice"));
    e.host = Some(Arc::from("web1"));
    e
}

fn ocsf(e: &AuthEvent) -> Value {
    serde_json::to_value(e.to_ocsf()).unwrap()
}

#[test]
fn a_failed_sshd_login_is_an_authentication_logon_failure() {
    let mut e = ev(Action::Login, Outcome::Failure);
    e.reason = Some(Reason::BadPassword);
    e.source_ip = Some("198.51.100.7".parse().unwrap());
    e.source_port = Some(44096);
    e.service = Some(Arc::from("sshd"));
    e.process = Some(Process {
        name: Arc::from("sshd"),
        pid: Some(4096),
    });
    e.method = Some(Method::Password);
    e.log_path = Some(Arc::from("auth.log"));
    e.log_offset = Some(120);
    let v = ocsf(&e);
    assert_eq!(v["class_uid"], 3002);
    assert_eq!(v["category_uid"], 3);
    assert_eq!(v["activity_id"], 1);
    assert_eq!(v["type_uid"], 300201);
    assert_eq!(v["type_name"], "Authentication: Logon");
    assert_eq!(
        (v["status_id"].clone(), v["status"].clone()),
        (json!(2), json!("Failure"))
    );
    assert_eq!(v["status_detail"], "INVALID_CREDENTIALS");
    assert_eq!(v["severity_id"], 2);
    assert_eq!(v["time"], 1_794_637_500_000_i64);
    assert_eq!(v["user"], json!({"name": "alice"}));
    assert_eq!(
        v["src_endpoint"],
        json!({"ip": "198.51.100.7", "port": 44096})
    );
    assert_eq!(v["dst_endpoint"], json!({"hostname": "web1"}));
    assert_eq!(v["service"], json!({"name": "sshd"}));
    assert_eq!(v["logon_process"], json!({"name": "sshd", "pid": 4096}));
    assert_eq!(
        (v["auth_protocol_id"].clone(), v["auth_protocol"].clone()),
        (json!(99), json!("password"))
    );
    assert_eq!(v["is_remote"], true);
    assert!(v.get("is_mfa").is_none());
    assert_eq!(v["metadata"]["version"], OCSF_VERSION);
    assert_eq!(v["metadata"]["product"]["name"], "loginwatch");
    assert_eq!(v["metadata"]["log_source"], "auth.log");
    assert_eq!(v["unmapped"]["event.reason"], "bad_password");
    assert_eq!(v["unmapped"]["loginwatch.log.offset"], 120);
    assert_eq!(v["message"], "login failure (bad_password)");
}

#[test]
fn outcomes_map_to_status_and_severity() {
    for (o, id, caption, sev) in [
        (Outcome::Success, 1, "Success", 1),
        (Outcome::Failure, 2, "Failure", 2),
        (Outcome::Unknown, 0, "Unknown", 1),
    ] {
        let v = ocsf(&ev(Action::Login, o));
        assert_eq!(v["status_id"], id, "{o}");
        assert_eq!(v["status"], caption, "{o}");
        assert_eq!(v["severity_id"], sev, "{o}");
        assert!(v.get("status_detail").is_none());
    }
}

#[test]
fn every_reason_has_a_status_detail() {
    let expected = [
        (Reason::BadPassword, "INVALID_CREDENTIALS"),
        (Reason::UnknownUser, "USER_DOES_NOT_EXIST"),
        (Reason::Locked, "ACCOUNT_LOCKED_OUT"),
        (Reason::Disabled, "ACCOUNT_DISABLED"),
        (Reason::ExpiredPassword, "PASSWORD_EXPIRED"),
        (Reason::ExpiredAccount, "EXPIRED_ACCOUNT"),
        (Reason::MfaFailed, "MFA_FAILED"),
        (Reason::IpDenied, "IP_DENIED"),
        (Reason::NoPermission, "NO_PERMISSION"),
        (Reason::CertFailed, "CERT_FAILED"),
        (Reason::TooManyAttempts, "TOO_MANY_ATTEMPTS"),
        (Reason::Other, "OTHER"),
        (Reason::Inactive, "INACTIVE"),
    ];
    assert_eq!(expected.len(), Reason::ALL.len());
    for (r, detail) in expected {
        let mut e = ev(Action::Login, Outcome::Failure);
        e.reason = Some(r);
        e.refused_by = (r == Reason::NoPermission).then_some(RefusedBy::AllowGroups);
        let v = ocsf(&e);
        assert_eq!(v["status_detail"], detail, "{r}");
        assert_eq!(v["unmapped"]["event.reason"], r.as_str());
        if r == Reason::NoPermission {
            assert_eq!(
                v["unmapped"]["loginwatch.event.reason_detail"],
                "AllowGroups"
            );
        }
    }
}

#[test]
fn account_changes_are_account_change_events() {
    for (a, id, name) in [
        (Action::PasswordChange, 3, "Password Change"),
        (Action::PasswordReset, 4, "Password Reset"),
        (Action::Lockout, 9, "Lock"),
        (Action::Unlock, 12, "Unlock"),
    ] {
        let mut e = ev(a, Outcome::Success);
        e.service = Some(Arc::from("sshd"));
        e.method = Some(Method::Password);
        e.source_ip = Some("192.0.2.1".parse().unwrap());
        let v = ocsf(&e);
        assert_eq!(v["class_uid"], 3001, "{a}");
        assert_eq!(v["activity_id"], id, "{a}");
        assert_eq!(v["activity_name"], name, "{a}");
        assert_eq!(v["type_uid"], 300100 + id, "{a}");
        assert_eq!(v["type_name"], format!("Account Change: {name}"), "{a}");
        // Attributes only Authentication has stay out.
        for k in [
            "service",
            "dst_endpoint",
            "auth_protocol",
            "is_remote",
            "logon_process",
        ] {
            assert!(v.get(k).is_none(), "{a}: {k}");
        }
        assert_eq!(v["unmapped"]["host.name"], "web1");
        assert_eq!(v["severity_id"], if a == Action::Lockout { 2 } else { 1 });
    }
}

#[test]
fn mfa_steps_are_logons_with_mfa() {
    let mut e = ev(Action::Mfa, Outcome::Failure);
    e.reason = Some(Reason::MfaFailed);
    let v = ocsf(&e);
    assert_eq!(v["activity_id"], 1);
    assert_eq!(v["is_mfa"], true);
    let mut e = ev(Action::Login, Outcome::Success);
    e.method = Some(Method::Mfa);
    assert_eq!(ocsf(&e)["is_mfa"], true);
}

#[test]
fn windows_logon_types_and_protocols() {
    let mut e = ev(Action::Login, Outcome::Success);
    e.service = Some(Arc::from("remote_interactive"));
    e.method = Some(Method::Other(Arc::from("ntlm")));
    let v = ocsf(&e);
    assert_eq!(v["logon_type_id"], 10);
    assert_eq!(v["logon_type"], "Remote Interactive");
    assert!(v.get("service").is_none(), "a logon type is no service");
    assert_eq!(v["auth_protocol_id"], 1);
    assert_eq!(v["auth_protocol"], "NTLM");
}

#[test]
fn what_ocsf_requires_and_the_log_lacks_is_empty() {
    let mut e = AuthEvent::new(
        Utc.with_ymd_and_hms(2026, 11, 14, 6, 25, 0).unwrap(),
        Action::Login,
        Outcome::Failure,
    );
    e.reason = Some(Reason::Other);
    let v = ocsf(&e);
    assert_eq!(v["user"], json!({"name": ""}));
    assert_eq!(v["service"], json!({"name": ""}));
    assert!(v.get("src_endpoint").is_none());
    assert!(v.get("dst_endpoint").is_none());
}

#[test]
fn su_is_local_and_the_inventory_fills_the_user() {
    let mut e = ev(Action::Login, Outcome::Success);
    e.service = Some(Arc::from("su"));
    e.source_ip = Some("192.0.2.1".parse().unwrap());
    e.account = Some(Arc::new(Account {
        user: Arc::from("alice"),
        email: Some(Arc::from("alice@example.jp")),
        display_name: Some(Arc::from("山田 花子")),
        admin: true,
        groups: vec![Arc::from("sales")],
        ..Account::default()
    }));
    e.lists = Some(Arc::from(vec![Arc::<str>::from("tor-exits")]));
    e.geo = Some(Arc::new(Geo {
        country_iso_code: Some(Arc::from("JP")),
        location: Some((35.0, 139.0)),
        as_number: Some(64500),
        ..Geo::default()
    }));
    let v = ocsf(&e);
    assert_eq!(v["is_remote"], false);
    assert_eq!(
        v["user"],
        json!({"name": "alice", "type_id": 2, "type": "Admin", "email_addr": "alice@example.jp",
               "full_name": "山田 花子", "groups": [{"name": "sales"}]})
    );
    assert_eq!(
        v["src_endpoint"]["location"],
        json!({"country": "JP", "lat": 35.0, "long": 139.0})
    );
    assert_eq!(
        v["src_endpoint"]["autonomous_system"],
        json!({"number": 64500})
    );
    assert_eq!(v["unmapped"]["loginwatch.user.status"], "active");
    assert_eq!(
        v["unmapped"]["loginwatch.source.lists"],
        json!(["tor-exits"])
    );
}

#[test]
fn emails_outside_ocsf_email_t_are_left_out() {
    for (s, ok) in [
        ("alice@example.jp", true),
        ("a.b+c@mail.example.co.jp", true),
        ("山田@example.jp", false),
        ("alice@localhost", false),
        ("@example.jp", false),
        ("alice", false),
    ] {
        assert_eq!(is_email(s), ok, "{s}");
    }
}
