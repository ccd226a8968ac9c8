//! The assessment (user error, attack, unclear): its label, reason and advice in
//! both languages and every format, and what it changes in a lock alert.

use super::*;

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
