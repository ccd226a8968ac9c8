//! Alert content and rendering: what admins read in each language and format,
//! escaping of hostile names, template overrides, and `replay --json | alerts
//! preview` through the real binary.

use std::path::Path;
use std::sync::Arc;

use assert_cmd::Command;
use chrono::{DateTime, Duration, TimeZone, Utc};

use loginwatch::alert::{
    Alert, Format, Language, Payload, Renderer, Resolution, alert_for, resolve,
};
use loginwatch::decision::{Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock};
use loginwatch::event::{Account, Geo};
use loginwatch::parse::Zone;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 14, 6, 25, 0).unwrap()
}

fn decision(rule: &str, action: DecisionAction, target: Target, until: Option<i64>) -> Decision {
    Decision {
        kind: "decision",
        id: "b43ede83fbc9c9ea".into(),
        rule: Arc::from(rule),
        action,
        target,
        at: at(),
        until: until.map(|m| at() + Duration::minutes(m)),
        unlock: if until.is_some() {
            Unlock::Auto
        } else {
            Unlock::Admin
        },
        severity: Severity::High,
        mode: Mode::Enforce,
        exempt: false,
        assessment: loginwatch::decision::Assessment::Unclear,
        why: Default::default(),
        evidence: Evidence {
            count: 7,
            first: at() - Duration::minutes(2),
            last: at(),
            source_ips: vec!["203.0.113.9".parse().unwrap()],
            users: vec![Arc::from("alice")],
        },
    }
}

fn lockout() -> Alert {
    let d = decision(
        "account-lockout",
        DecisionAction::LockAccount,
        Target::user(Arc::from("alice")),
        Some(30),
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
        "curl -X POST -H 'Authorization: Bearer ...' http://127.0.0.1:9464/api/v1/decisions/b43ede83fbc9c9ea/unlock -d '{\"by\":\"...\",\"reason\":\"...\"}'",
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
        "全角入力",
        "Caps Lock",
        "loginwatch decisions unlock b43ede83fbc9c9ea",
        "時刻は Asia/Tokyo で表示しています。",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    let (subject, body, html) = email(&r, &lockout());
    assert!(subject.starts_with("[loginwatch] [高] "), "{subject}");
    assert!(!subject.contains('\n'));
    assert!(body.contains("全角入力"));
    assert!(html.contains("<html lang=\"ja\">") && html.contains("全角入力"));
}

#[test]
fn spray_and_success_after_failures_give_their_own_advice() {
    for (lang, spray_want, saf_want) in [
        (
            Language::En,
            ["No user action is needed", "until an admin unlocks"],
            ["Force a password reset", "sessions"],
        ),
        (
            Language::Ja,
            ["利用者への対応は不要です", "管理者が解除するまで"],
            ["パスワードを強制的に再設定", "セッション"],
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

#[test]
fn a_resolved_alert_says_so_everywhere() {
    let a = resolve(
        lockout(),
        Resolution {
            how: "admin".into(),
            at: at() + Duration::minutes(5),
            by: Some("root".into()),
            reason: Some("user confirmed Caps Lock".into()),
        },
    );
    let en = tokyo(Language::En);
    let t = text(&en, &a);
    assert!(
        t.starts_with("Resolved: account-lockout on account alice"),
        "{t}"
    );
    assert!(t.contains("unlocked by root"), "{t}");
    assert!(t.contains("2026-11-14 15:30:00 JST"), "{t}");
    assert!(!t.contains("To unlock now"), "{t}");
    let (subject, _, _) = email(&en, &a);
    assert!(subject.contains("[resolved]"), "{subject}");
    let ja = text(&tokyo(Language::Ja), &a);
    assert!(ja.starts_with("解除: "), "{ja}");
    assert!(ja.contains("root が解除"), "{ja}");
    // Alertmanager: endsAt is the resolution time; the same key as when firing.
    let am = json(&en, &a, Format::Alertmanager);
    assert_eq!(am[0]["endsAt"], "2026-11-14T06:30:00Z");
    assert_eq!(
        am[0]["annotations"]["alert_key"],
        "account-lockout:user=alice"
    );
    let firing = json(&en, &lockout(), Format::Alertmanager);
    assert_eq!(firing[0]["endsAt"], "2026-11-14T06:55:00Z");
    assert_eq!(firing[0]["labels"], am[0]["labels"]);
    let wh = json(&en, &a, Format::Webhook);
    assert_eq!(wh["loginwatch.alert.status"], "resolved");
    assert_eq!(wh["loginwatch.alert.resolution"]["by"], "root");
}

#[test]
fn hostile_user_names_are_escaped_in_every_format() {
    let evil = "<script>alert(1)</script>\u{1b}[2J&x";
    let mut d = decision(
        "account-lockout",
        DecisionAction::LockAccount,
        Target::user(Arc::from(evil)),
        Some(30),
    );
    d.evidence.users = vec![Arc::from(evil)];
    let a = alert_for(&d, None, None, vec![format!("Failed password for {evil}")]);
    for lang in [Language::En, Language::Ja] {
        let r = tokyo(lang);
        let t = text(&r, &a);
        assert!(!t.contains('\u{1b}'), "{t}");
        assert!(t.contains("\\u{1b}[2J"), "{t}");
        let (subject, _, html) = email(&r, &a);
        assert!(!subject.contains('\u{1b}'));
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        let slack = json(&r, &a, Format::Slack);
        let section = slack["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(!section.contains("<script>"), "{section}");
        assert!(section.contains("&lt;script&gt;"), "{section}");
        assert!(section.contains("&amp;x"), "{section}");
        assert!(!slack["text"].as_str().unwrap().contains('<'));
        let am = json(&r, &a, Format::Alertmanager);
        assert!(!am[0]["labels"]["user"].as_str().unwrap().contains('\u{1b}'));
    }
}

#[test]
fn operators_override_templates_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("summary.txt"),
        "SITE-LOCAL {{ rule }} for {{ user }}",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("ja")).unwrap();
    std::fs::write(
        dir.path().join("ja").join("summary.txt"),
        "日本語 {{ rule }}",
    )
    .unwrap();
    let zone: Zone = "UTC".parse().unwrap();
    let en = Renderer::new(Language::En, zone, Some(dir.path())).unwrap();
    let t = text(&en, &lockout());
    assert!(
        t.starts_with("SITE-LOCAL account-lockout for alice\n"),
        "{t}"
    );
    // The other templates stay built in.
    assert!(t.contains("Caps Lock"), "{t}");
    let ja = Renderer::new(Language::Ja, zone, Some(dir.path())).unwrap();
    assert!(text(&ja, &lockout()).starts_with("日本語 account-lockout\n"));
}

#[test]
fn a_broken_override_is_reported_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("text.txt");
    std::fs::write(&path, "{{ summary }}\n\nline three {% if %}\n").unwrap();
    // A mistyped variable only shows when rendering: it is found at load too.
    std::fs::write(dir.path().join("subject.txt"), "\n{{ sumary }}").unwrap();
    let err = Renderer::new(Language::En, Zone::Utc, Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("{} line 3", path.display())), "{err}");
    let err2 = std::fs::write(&path, "ok {{ summary }}").map(|_| {
        Renderer::new(Language::En, Zone::Utc, Some(dir.path()))
            .unwrap_err()
            .to_string()
    });
    let err2 = err2.unwrap();
    assert!(err2.contains("subject.txt line 2"), "{err2}");
    assert!(err2.contains("undefined"), "{err2}");
}

fn lw() -> Command {
    Command::cargo_bin("loginwatch").unwrap()
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `replay --json` of a lockout followed by a successful sign-in.
fn replay_json() -> String {
    let mut log = String::new();
    for i in 0..7 {
        log.push_str(&format!(
            "Nov 14 06:25:0{i} web1 sshd[10{i}]: Failed password for alice from 203.0.113.9 port 4242 ssh2\n"
        ));
    }
    log.push_str("Nov 14 06:26:00 web1 sshd[200]: Accepted password for alice from 203.0.113.9 port 4242 ssh2\n");
    let out = lw()
        .args([
            "replay", "--json", "--tz", "UTC", "--year", "2026", "--rules",
        ])
        .arg(repo().join("rules"))
        .arg("-")
        .write_stdin(log)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn replay_json_into_alerts_preview_for_every_format() {
    let decisions = replay_json();
    assert!(decisions.contains("\"account-lockout\""), "{decisions}");
    for format in [
        "text",
        "email",
        "slack",
        "teams",
        "lineworks",
        "alertmanager",
        "webhook",
        "json",
    ] {
        for lang in ["en", "ja"] {
            let out = lw()
                .args(["alerts", "preview", "--tz", "Asia/Tokyo"])
                .args(["--format", format, "--language", lang])
                .write_stdin(decisions.clone())
                .output()
                .unwrap();
            let stdout = String::from_utf8(out.stdout).unwrap();
            assert!(
                out.status.success(),
                "{format} {lang}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(stdout.contains("account-lockout"), "{format}: {stdout}");
            assert!(stdout.contains("JST"), "{format}: {stdout}");
            if !matches!(format, "text" | "email") {
                let lines: Vec<&str> = stdout.lines().collect();
                assert_eq!(lines.len(), 2, "{format}: one per decision:\n{stdout}");
                for l in lines {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    if format == "alertmanager" {
                        assert!(v[0]["labels"]["alertname"] == "loginwatch", "{v}");
                    }
                }
            }
        }
    }
}

#[test]
fn preview_rejects_a_bad_line_naming_it() {
    let input = format!("{}not json\n", replay_json());
    let out = lw()
        .args(["alerts", "preview"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 4"), "{stderr}");
    let out = lw()
        .args(["alerts", "preview", "--format", "pager"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
