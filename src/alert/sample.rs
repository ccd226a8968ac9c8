//! Sample alerts the renderer tries every template on when it loads, so a broken
//! or mistyped override fails at start-up, named, rather than at the first real
//! alert. They cover every optional part being present and absent, and each
//! assessment with a lock that unlocks by itself and one that waits for an admin.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::alert::content::{alert_for, resolve};
use crate::alert::{Alert, Resolution};
use crate::decision::Why;
use crate::decision::{
    Assessment, Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock,
};
use crate::event::{Account, Geo};

fn at() -> DateTime<Utc> {
    Utc.timestamp_opt(1_794_637_500, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn decision(rule: &str, action: DecisionAction, target: Target, unlock: Unlock) -> Decision {
    let at = at();
    Decision {
        kind: "decision",
        id: "0123456789abcdef".into(),
        rule: Arc::from(rule),
        action,
        target,
        at,
        until: (unlock == Unlock::Auto).then(|| at + Duration::minutes(15)),
        unlock,
        severity: Severity::High,
        mode: Mode::Enforce,
        exempt: false,
        assessment: Assessment::Unclear,
        why: Default::default(),
        evidence: Evidence {
            count: 12,
            first: at - Duration::minutes(3),
            last: at,
            source_ips: vec![[192, 0, 2, 7].into()],
            users: vec![Arc::from("alice"), Arc::from("bob")],
            hosts: Vec::new(),
        },
    }
}

/// Firing and resolved alerts, with and without account, geo and samples.
pub(crate) fn alerts() -> Vec<Alert> {
    let user = Target {
        user: Some(Arc::from("alice")),
        ip: Some([192, 0, 2, 7].into()),
        net: None,
    };
    let mut full_d = decision(
        "account-lockout",
        DecisionAction::LockAccount,
        user,
        Unlock::Auto,
    );
    assess(
        &mut full_d,
        Why::KnownSources {
            user: Arc::from("alice"),
            ips: vec![[192, 0, 2, 7].into()],
        },
    );
    let full = alert_for(
        &full_d,
        Some(Arc::new(Account {
            user: Arc::from("alice"),
            email: Some(Arc::from("alice@example.com")),
            display_name: Some(Arc::from("Alice")),
            admin: true,
            ..Account::default()
        })),
        Some(Arc::new(Geo {
            country_iso_code: Some(Arc::from("JP")),
            city_name: Some(Arc::from("Tokyo")),
            as_number: Some(64500),
            as_organization: Some(Arc::from("Example")),
            ..Geo::default()
        })),
        vec!["sample line".to_string()],
    );
    let mut bare_d = decision(
        "password-spray",
        DecisionAction::BlockIp,
        Target::ip([192, 0, 2, 7].into()),
        Unlock::Admin,
    );
    bare_d.exempt = true;
    bare_d.mode = Mode::Recommend;
    assess(
        &mut bare_d,
        Why::ManyAccounts {
            ip: Some([192, 0, 2, 7].into()),
            users: 2,
        },
    );
    let bare = alert_for(&bare_d, None, None, Vec::new());
    // Locks that wait for an admin, as each assessment.
    let admin_lock = |why: Why| {
        let mut d = decision(
            "distributed-bruteforce",
            DecisionAction::LockAccount,
            Target::user(Arc::from("alice")),
            Unlock::Admin,
        );
        d.evidence.users = vec![Arc::from("alice")];
        assess(&mut d, why);
        alert_for(&d, None, None, Vec::new())
    };
    let mistaken = admin_lock(Why::KnownSources {
        user: Arc::from("alice"),
        ips: vec![[192, 0, 2, 7].into()],
    });
    let attacked = admin_lock(Why::ManyAddresses {
        user: Arc::from("alice"),
        ips: 5,
    });
    let unknown = admin_lock(Why::NoHistory {
        user: Arc::from("alice"),
    });
    let mut net = decision(
        "unknown-rule",
        DecisionAction::Alert,
        Target::net("192.0.2.0/24".parse().unwrap_or_default()),
        Unlock::Auto,
    );
    net.until = None;
    vec![
        resolve(
            full.clone(),
            Resolution {
                how: "admin".into(),
                at: at() + Duration::minutes(5),
                by: Some("root".into()),
                reason: Some("confirmed with the user".into()),
            },
        ),
        resolve(
            bare.clone(),
            Resolution {
                how: "auto".into(),
                at: at() + Duration::minutes(15),
                by: None,
                reason: None,
            },
        ),
        full,
        bare,
        mistaken,
        attacked,
        unknown,
        alert_for(&net, None, None, Vec::new()),
    ]
}

/// Gives `d` the assessment `why` supports.
fn assess(d: &mut Decision, why: Why) {
    d.assessment = why.assessment();
    d.why = why;
}
