//! Resolved alerts, hostile user names escaped in every format, and operators'
//! template overrides (and a broken one reported with its file and line).

use super::*;

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
