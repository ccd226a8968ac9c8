//! Alert content and rendering: what admins read in each language and format,
//! the assessment (user error, attack, unclear) with its reason and advice,
//! escaping of hostile names, template overrides, and `replay --json | alerts
//! preview` through the real binary.

use std::path::Path;
use std::sync::Arc;

use assert_cmd::Command;
use chrono::{DateTime, Duration, TimeZone, Utc};

use loginwatch::alert::{
    Alert, Format, Language, Payload, Renderer, Resolution, alert_for, resolve,
};
use loginwatch::decision::Why;
use loginwatch::decision::{
    Assessment, Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock,
};
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
        assessment: Assessment::Unclear,
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

/// What an alert of each assessment must and must not say, in one language.
struct Says {
    /// The assessment as the templates word it.
    word: &'static str,
    /// Part of the reason sentence, in the alert's language.
    reason: &'static str,
    /// Advice that must be there (the first one is checked in every format).
    has: &'static [&'static str],
    /// Advice that must not.
    lacks: &'static [&'static str],
}

/// The expectations for [`lock`] of each assessment.
fn says(lang: Language, a: Assessment) -> Says {
    match (lang, a) {
        (Language::En, Assessment::UserError) => Says {
            word: "User error",
            reason: "Every attempt came from 203.0.113.9, where alice has logged in successfully before",
            has: &[
                "Send the user this:",
                "Caps Lock and NumLock",
                "full-width",
                "0 (zero) and O",
                "l (lower-case L) and I (capital i)",
                "copy and paste",
                "login ID: it is exactly \"alice\"",
                "The account unlocks by itself at 2026-11-14 15:55:00 JST",
            ],
            lacks: &["Keep the account locked", "Ask the user"],
        },
        (Language::En, Assessment::Attack) => Says {
            word: "Attack",
            reason: "203.0.113.9 is an address alice has never logged in from.",
            has: &[
                "Keep the account locked until you have reached the user by another channel",
                "Check the source address 203.0.113.9: block it",
                "the other accounts it tried",
                "If a sign-in succeeded, reset the password",
            ],
            lacks: &["Caps Lock", "Send the user this"],
        },
        (Language::En, Assessment::Unclear) => Says {
            word: "Unclear",
            reason: "No successful login of alice has been seen yet",
            has: &["Ask the user", "whether these attempts were theirs"],
            lacks: &["Send the user this", "This looks like an attack"],
        },
        (Language::Ja, Assessment::UserError) => Says {
            word: "利用者のミス",
            reason: "すべての試行が、alice が過去にログインに成功した 203.0.113.9 からのものです。",
            has: &[
                "利用者に次のように伝えてください",
                "Caps Lock",
                "全角/半角・IME",
                "0（ゼロ）と O",
                "1（いち）と l",
                "コピー＆ペーストで入った空白",
                "ログインID: 正しくは「alice」",
                "ロックは 2026-11-14 15:55:00 JST に自動的に解除されます",
            ],
            lacks: &["ロックを解除しないでください", "利用者に確認してください"],
        },
        (Language::Ja, Assessment::Attack) => Says {
            word: "攻撃",
            reason: "203.0.113.9 は alice が一度もログインしたことのないアドレスです。",
            has: &[
                "ロックを解除しないでください",
                "接続元アドレス 203.0.113.9 を確認",
                "ほかにどのアカウントが試されたか",
                "パスワードを再設定",
            ],
            lacks: &["Caps Lock", "次のように伝えてください"],
        },
        (Language::Ja, Assessment::Unclear) => Says {
            word: "判断できません",
            reason: "alice のログイン成功がまだ記録されていない",
            has: &["この試行が本人によるものか", "利用者に確認してください"],
            lacks: &["次のように伝えてください", "攻撃と考えられます"],
        },
    }
}

/// The assessment line of the text templates.
fn assessment_line(lang: Language, word: &str) -> String {
    match lang {
        Language::En => format!("Assessment: {word}\n"),
        Language::Ja => format!("判定:       {word}\n"),
    }
}

#[test]
fn each_assessment_has_its_label_reason_and_advice_in_both_languages() {
    for lang in [Language::En, Language::Ja] {
        let r = tokyo(lang);
        for why in [mistakes(), stranger(), no_history()] {
            let a = why.assessment();
            let want = says(lang, a);
            let t = text(&r, &lock(why));
            let line = assessment_line(lang, want.word);
            assert!(
                t.contains(&line),
                "{lang:?} {a:?}: missing {line:?} in:\n{t}"
            );
            assert!(
                t.contains(want.reason),
                "{lang:?} {a:?}: no reason in:\n{t}"
            );
            for w in want.has {
                assert!(t.contains(w), "{lang:?} {a:?}: missing {w:?} in:\n{t}");
            }
            for w in want.lacks {
                assert!(!t.contains(w), "{lang:?} {a:?}: {w:?} in:\n{t}");
            }
        }
    }
}

#[test]
fn each_assessment_shows_in_every_format() {
    for lang in [Language::En, Language::Ja] {
        let r = tokyo(lang);
        for why in [mistakes(), stranger(), no_history()] {
            let a = why.assessment();
            let want = says(lang, a);
            let alert = lock(why);
            let ctx = format!("{lang:?} {a:?}");

            let (subject, body, html) = email(&r, &alert);
            assert!(
                subject.contains(&format!("[{}]", want.word)),
                "{ctx}: {subject}"
            );
            assert!(body.contains(&assessment_line(lang, want.word)), "{ctx}");
            for w in [want.word, want.reason, want.has[0]] {
                assert!(html.contains(w), "{ctx}: missing {w:?} in:\n{html}");
            }
            assert!(!html.contains(want.lacks[0]), "{ctx}:\n{html}");

            let slack = json(&r, &alert, Format::Slack);
            let section = slack["blocks"][1]["text"]["text"].as_str().unwrap();
            for w in [want.word, want.reason, want.has[0]] {
                assert!(section.contains(w), "{ctx}: missing {w:?} in:\n{section}");
            }

            for f in [Format::Teams, Format::Lineworks] {
                let body = json(&r, &alert, f).to_string();
                assert!(
                    body.contains(want.word) && body.contains(want.reason),
                    "{ctx} {f}"
                );
            }

            let am = json(&r, &alert, Format::Alertmanager);
            assert_eq!(am[0]["labels"]["assessment"], a.as_str(), "{ctx}");
            let ann = &am[0]["annotations"];
            let reason = ann["assessment_reason"].as_str().unwrap();
            assert!(reason.contains(want.reason), "{ctx}: {reason}");
            let next = ann["next_steps"].as_str().unwrap();
            assert!(
                next.contains(want.has[0]) && !next.contains(want.lacks[0]),
                "{ctx}: {next}"
            );
            let description = ann["description"].as_str().unwrap();
            assert!(
                description.contains(&assessment_line(lang, want.word)),
                "{ctx}"
            );

            for f in [Format::Webhook, Format::Json] {
                let wh = match r.render(&alert, f, at()).unwrap() {
                    Payload::Line { text } => serde_json::from_str(&text).unwrap(),
                    _ => json(&r, &alert, f),
                };
                assert_eq!(wh["loginwatch.assessment"], a.as_str(), "{ctx} {f}");
                let reason = wh["loginwatch.assessment_reason"].as_str().unwrap();
                assert!(reason.contains(want.reason), "{ctx} {f}: {reason}");
                let next = wh["loginwatch.next_steps"].as_str().unwrap();
                assert!(next.contains(want.has[0]), "{ctx} {f}: {next}");
                // The decision as `replay --json` writes it: English, unescaped.
                assert_eq!(wh["loginwatch.decision"]["assessment"], a.as_str());
                assert!(wh["loginwatch.decision"]["assessment_reason"].is_string());
            }
        }
    }
}

#[test]
fn a_user_error_lock_without_an_end_says_an_admin_must_unlock_it() {
    let d = decision(
        "account-lockout",
        DecisionAction::LockAccount,
        Target::user(Arc::from("alice")),
        None,
    );
    let a = alert_for(&assessed(d, mistakes()), None, None, Vec::new());
    let en = text(&tokyo(Language::En), &a);
    assert!(en.contains("an administrator has to unlock it"), "{en}");
    assert!(!en.contains("unlocks by itself"), "{en}");
    let ja = text(&tokyo(Language::Ja), &a);
    assert!(
        ja.contains("ロックは自動では解除されません。管理者が解除します"),
        "{ja}"
    );
    // An attack lock that ends by itself says to lock it again if need be.
    let t = text(&tokyo(Language::En), &lock(stranger()));
    assert!(
        t.contains("it unlocks by itself at 2026-11-14 15:55:00 JST, so lock it again"),
        "{t}"
    );
}

#[test]
fn only_a_lock_sends_the_user_a_message() {
    // success-after-failures assessed a user error is only an alert: no reset,
    // nothing to send.
    let mut d = assessed(
        decision(
            "success-after-failures",
            DecisionAction::Alert,
            Target::user(Arc::from("alice")),
            None,
        ),
        mistakes(),
    );
    d.severity = Severity::Low;
    let a = alert_for(&d, None, None, Vec::new());
    let en = text(&tokyo(Language::En), &a);
    assert!(en.contains("Assessment: User error"), "{en}");
    assert!(en.contains("no password reset is needed"), "{en}");
    assert!(!en.contains("Send the user this"), "{en}");
    assert!(!en.contains("password was guessed"), "{en}");
    let ja = text(&tokyo(Language::Ja), &a);
    assert!(ja.contains("パスワードの再設定は不要です"), "{ja}");
    assert!(!ja.contains("伝えてください"), "{ja}");
    // The attack advice of a blocked address names no account to keep locked.
    let spray = alert_for(
        &assessed(
            spray().decision,
            Why::ManyAccounts {
                ip: Some("203.0.113.9".parse().unwrap()),
                users: 12,
            },
        ),
        None,
        None,
        Vec::new(),
    );
    let t = text(&tokyo(Language::En), &spray);
    assert!(t.contains("Assessment: Attack"), "{t}");
    assert!(t.contains("203.0.113.9 tried 12 different accounts"), "{t}");
    assert!(t.contains("Check the source address 203.0.113.9"), "{t}");
    assert!(!t.contains("Keep the account locked"), "{t}");
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
    // The reason names the user too (and the lock's advice quotes the login ID).
    let d = assessed(
        d,
        Why::KnownSources {
            user: Arc::from(evil),
            ips: vec!["203.0.113.9".parse().unwrap()],
        },
    );
    let a = alert_for(&d, None, None, vec![format!("Failed password for {evil}")]);
    let shown = "<script>alert(1)</script>\\u{1b}[2J&x";
    let html_shown = "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;\\u{1b}[2J&amp;x";
    let slack_shown = "&lt;script&gt;alert(1)&lt;/script&gt;\\u{1b}[2J&amp;x";
    for (lang, reason) in [
        (Language::En, "where {} has logged in successfully before"),
        (Language::Ja, "すべての試行が、{} が過去に"),
    ] {
        let in_reason = |name: &str| reason.replace("{}", name);
        let r = tokyo(lang);
        let t = text(&r, &a);
        assert!(!t.contains('\u{1b}'), "{t}");
        assert!(t.contains("\\u{1b}[2J"), "{t}");
        assert!(t.contains(&in_reason(shown)), "{lang:?}: {t}");
        let (subject, _, html) = email(&r, &a);
        assert!(!subject.contains('\u{1b}'));
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains('\u{1b}'), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains(&in_reason(html_shown)), "{lang:?}: {html}");
        let slack = json(&r, &a, Format::Slack);
        let section = slack["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(!section.contains("<script>"), "{section}");
        assert!(section.contains("&lt;script&gt;"), "{section}");
        assert!(section.contains("&amp;x"), "{section}");
        assert!(
            section.contains(&in_reason(slack_shown)),
            "{lang:?}: {section}"
        );
        assert!(!slack["text"].as_str().unwrap().contains('<'));
        let am = json(&r, &a, Format::Alertmanager);
        assert!(!am[0]["labels"]["user"].as_str().unwrap().contains('\u{1b}'));
        let reason = am[0]["annotations"]["assessment_reason"].as_str().unwrap();
        assert!(reason.contains(&in_reason(shown)), "{reason}");
        let next = am[0]["annotations"]["next_steps"].as_str().unwrap();
        assert!(!next.contains('\u{1b}') && next.contains(shown), "{next}");
        let wh = json(&r, &a, Format::Webhook);
        let reason = wh["loginwatch.assessment_reason"].as_str().unwrap();
        assert!(reason.contains(&in_reason(shown)), "{reason}");
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
            // alice has no success on record before the lock: unclear, worded in
            // the alert's language, the reason read back in English.
            if format == "text" {
                let word = if lang == "ja" {
                    "判断できません"
                } else {
                    "Unclear"
                };
                assert!(stdout.contains(word), "{lang}: {stdout}");
                assert!(stdout.contains("No successful login of alice"), "{stdout}");
            }
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

/// `alerts preview` of a golden scenario's decisions (its `expected.jsonl`).
fn preview_scenario(name: &str, format: &str, lang: &str) -> String {
    let decisions = std::fs::read_to_string(
        repo()
            .join("tests/scenarios")
            .join(name)
            .join("expected.jsonl"),
    )
    .unwrap();
    let out = lw()
        .args(["alerts", "preview", "--tz", "Asia/Tokyo"])
        .args(["--format", format, "--language", lang])
        .write_stdin(decisions)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn preview_of_the_helpdesk_scenarios_tells_a_typo_from_an_attack() {
    // lena mistyped from her own desk: the lock alert is the message to send her.
    let en = preview_scenario("helpdesk-lena-typos-from-her-desk", "text", "en");
    for want in [
        "Assessment: User error",
        "Every attempt came from 203.0.113.10, where lena has logged in successfully before",
        "Send the user this:",
        "Caps Lock",
        "The account unlocks by itself at 2026-11-14 18:34:10 JST",
        "no password reset is needed",
    ] {
        assert!(en.contains(want), "missing {want:?} in:\n{en}");
    }
    let ja = preview_scenario("helpdesk-lena-typos-from-her-desk", "text", "ja");
    for want in [
        "判定:       利用者のミス",
        "全角/半角・IME",
        "ログインID: 正しくは「lena」",
    ] {
        assert!(ja.contains(want), "missing {want:?} in:\n{ja}");
    }
    // mike was guessed from an address he never used: what to do about it.
    let en = preview_scenario("helpdesk-mike-guessed-from-new-address", "text", "en");
    for want in [
        "Assessment: Attack",
        "198.51.100.99 is an address mike has never logged in from.",
        "Keep the account locked",
        "Check the source address 198.51.100.99",
    ] {
        assert!(en.contains(want), "missing {want:?} in:\n{en}");
    }
    assert!(!en.contains("Caps Lock"), "{en}");
    let ja = preview_scenario("helpdesk-mike-guessed-from-new-address", "text", "ja");
    assert!(ja.contains("判定:       攻撃"), "{ja}");
    let am = preview_scenario(
        "helpdesk-mike-guessed-from-new-address",
        "alertmanager",
        "en",
    );
    for line in am.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v[0]["labels"]["assessment"], "attack", "{v}");
        let reason = v[0]["annotations"]["assessment_reason"].as_str().unwrap();
        assert!(reason.contains("never logged in from"), "{reason}");
    }
}
