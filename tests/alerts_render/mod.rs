//! Alert content and rendering: what admins read in each language and format,
//! the assessment (user error, attack, unclear) with its reason and advice,
//! escaping of hostile names, template overrides, and `replay --json | alerts
//! preview` through the real binary.

mod assessment;
mod preview;
mod templates;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::util::{lw, repo};
use loginwatch::alert::{
    Alert, Format, Language, Payload, Renderer, Resolution, alert_for, resolve,
};
use loginwatch::decision::Why;
use loginwatch::decision::{Assessment, Decision, DecisionAction, Severity, Target};
use loginwatch::event::{Account, Geo};
use loginwatch::parse::Zone;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 14, 6, 25, 0).unwrap()
}

fn decision(rule: &str, action: DecisionAction, target: Target, until: Option<i64>) -> Decision {
    crate::util::decision::decision()
        .id("b43ede83fbc9c9ea")
        .rule(rule)
        .action(action)
        .target(target)
        .at(at())
        .until(until.map(|m| at() + Duration::minutes(m)))
        .count(7)
        .first(at() - Duration::minutes(2))
        .ips(&["203.0.113.9"])
        .users(&["alice"])
        .build()
}

/// `d` assessed as `why` says.
fn assessed(mut d: Decision, why: Why) -> Decision {
    d.assessment = why.assessment();
    d.why = why;
    d
}

/// Every attempt from where alice logs in: her own mistakes.
fn mistakes() -> Why {
    Why::KnownSources {
        user: Arc::from("alice"),
        ips: vec!["203.0.113.9".parse().unwrap()],
    }
}

/// An address alice never used.
fn stranger() -> Why {
    Why::NewSource {
        user: Arc::from("alice"),
        ip: "203.0.113.9".parse().unwrap(),
    }
}

/// No success of alice on record.
fn no_history() -> Why {
    Why::NoHistory {
        user: Arc::from("alice"),
    }
}

/// alice locked for 30 minutes (`until` = 15:55 JST), assessed as `why` says.
fn lock(why: Why) -> Alert {
    let d = decision(
        "account-lockout",
        DecisionAction::LockAccount,
        Target::user(Arc::from("alice")),
        Some(30),
    );
    alert_for(&assessed(d, why), None, None, Vec::new())
}

/// The user-error lockout, with inventory, GeoIP and a sample line.
fn lockout() -> Alert {
    let d = assessed(
        decision(
            "account-lockout",
            DecisionAction::LockAccount,
            Target::user(Arc::from("alice")),
            Some(30),
        ),
        mistakes(),
    );
    alert_for(
        &d,
        Some(Arc::new(Account {
            user: Arc::from("alice"),
            email: Some(Arc::from("alice@example.jp")),
            display_name: Some(Arc::from("山田 花子")),
            ..Account::default()
        })),
        Some(Arc::new(Geo {
            country_iso_code: Some(Arc::from("JP")),
            as_number: Some(2516),
            as_organization: Some(Arc::from("KDDI")),
            ..Geo::default()
        })),
        vec!["Nov 14 06:25:00 web1 sshd[1]: Failed password for alice from 203.0.113.9".into()],
    )
}

fn spray() -> Alert {
    let d = decision(
        "password-spray",
        DecisionAction::BlockIp,
        Target::ip("203.0.113.9".parse().unwrap()),
        None,
    );
    alert_for(&d, None, None, Vec::new())
}

fn saf() -> Alert {
    let d = decision(
        "success-after-failures",
        DecisionAction::RequirePasswordReset,
        Target::user(Arc::from("alice")),
        None,
    );
    alert_for(&d, None, None, Vec::new())
}

fn tokyo(lang: Language) -> Renderer {
    Renderer::new(lang, "Asia/Tokyo".parse().unwrap(), None).unwrap()
}

fn text(r: &Renderer, a: &Alert) -> String {
    match r.render(a, Format::Text, at()).unwrap() {
        Payload::Line { text } => text,
        p => panic!("text gave {p:?}"),
    }
}

fn email(r: &Renderer, a: &Alert) -> (String, String, String) {
    match r.render(a, Format::Email, at()).unwrap() {
        Payload::Email {
            subject,
            text,
            html,
        } => (subject, text, html.unwrap()),
        p => panic!("email gave {p:?}"),
    }
}

fn json(r: &Renderer, a: &Alert, f: Format) -> serde_json::Value {
    match r.render(a, f, at()).unwrap() {
        Payload::Http {
            body, content_type, ..
        } => {
            assert_eq!(content_type, "application/json");
            serde_json::from_slice(&body).unwrap()
        }
        p => panic!("{f} gave {p:?}"),
    }
}

#[test]
fn lockout_in_english_has_everything_an_admin_needs() {
    let t = text(&tokyo(Language::En), &lockout());
    for want in [
        "Locked account alice (山田 花子)",
        "alice@example.jp",
        "account-lockout (severity high)",
        "from 2026-11-14 15:25:00 JST until 2026-11-14 15:55:00 JST",
        "7 events from 2026-11-14 15:23:00 JST",
        "203.0.113.9",
        "JP AS2516 KDDI",
        "Failed password for alice",
        "It unlocks by itself at 2026-11-14 15:55:00 JST",
        "loginwatch decisions unlock b43ede83fbc9c9ea --reason \"...\"",
        "curl -X POST -H 'Authorization: Bearer ...' -H 'Content-Type: application/json' http://127.0.0.1:9464/api/v1/decisions/b43ede83fbc9c9ea/unlock -d '{\"by\":\"...\",\"reason\":\"...\"}'",
        "Caps Lock",
        "full-width",
        "login ID",
        "Times are in Asia/Tokyo.",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
}

#[test]
fn lockout_in_japanese() {
    let r = tokyo(Language::Ja);
    let t = text(&r, &lockout());
    for want in [
        "アカウント alice（山田 花子）（接続元 203.0.113.9 JP）",
        "をロックしました",
        "接続元:     203.0.113.9 JP AS2516 KDDI",
        "重要度 高",
        "2026-11-14 15:55:00 JST に自動的に解除されます",
        "全角/半角・IME",
        "Caps Lock",
        "loginwatch decisions unlock b43ede83fbc9c9ea",
        "時刻は Asia/Tokyo で表示しています。",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    let (subject, body, html) = email(&r, &lockout());
    assert!(subject.starts_with("[loginwatch] [高] "), "{subject}");
    assert!(!subject.contains('\n'));
    assert!(body.contains("全角/半角"));
    // (`/` is escaped in HTML.)
    assert!(html.contains("<html lang=\"ja\">") && html.contains("IME の入力モード"));
}

#[test]
fn spray_and_success_after_failures_give_their_own_advice() {
    for (lang, spray_want, saf_want) in [
        (
            Language::En,
            ["need not act", "until an admin unlocks"],
            ["the password was guessed", "check what the account did"],
        ),
        (
            Language::Ja,
            ["利用者への対応は不要です", "管理者が解除するまで"],
            ["パスワードが推測されています", "操作も確認"],
        ),
    ] {
        let r = tokyo(lang);
        let t = text(&r, &spray());
        for w in spray_want {
            assert!(t.contains(w), "{lang:?}: missing {w:?} in:\n{t}");
        }
        assert!(!t.contains("Caps Lock"), "{t}");
        let t = text(&r, &saf());
        for w in saf_want {
            assert!(t.contains(w), "{lang:?}: missing {w:?} in:\n{t}");
        }
    }
}
