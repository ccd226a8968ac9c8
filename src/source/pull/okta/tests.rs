use super::*;

#[test]
fn the_next_link_is_found_among_links_in_any_order_and_header() {
    let self_and_next = r#"<https://x.okta.com/api/v1/logs?since=a>; rel="self", <https://x.okta.com/api/v1/logs?after=b>; rel="next""#;
    assert_eq!(
        next_link([self_and_next]).as_deref(),
        Some("https://x.okta.com/api/v1/logs?after=b")
    );
    // As two headers, next first, unquoted, spaced.
    assert_eq!(
        next_link([
            "<https://x/n?a=1,2> ; rel = next",
            "<https://x/s>; rel=\"self\""
        ])
        .as_deref(),
        Some("https://x/n?a=1,2")
    );
    assert_eq!(next_link([r#"<https://x/s>; rel="self""#]), None);
    assert_eq!(next_link(["garbage <no end"]), None);
    assert_eq!(next_link(Vec::<&str>::new()), None);
}

#[test]
fn rate_limits_wait_for_the_reset_by_the_servers_clock() {
    let rl = RateLimit {
        remaining: Some(5),
        reset: Some(1_000),
        date: Some(990),
    };
    assert_eq!(
        rl.wait(false, 995.0),
        Some(Duration::ZERO),
        "requests left: no wait"
    );
    assert_eq!(
        rl.wait(true, 995.0),
        Some(Duration::from_secs(10)),
        "429: Reset - Date"
    );
    let spent = RateLimit {
        remaining: Some(0),
        ..rl
    };
    assert_eq!(spent.wait(false, 0.0), Some(Duration::from_secs(10)));
    let no_date = RateLimit {
        date: None,
        ..spent
    };
    assert_eq!(no_date.wait(false, 999.5), Some(Duration::from_millis(500)));
    assert_eq!(no_date.wait(false, 2_000.0), Some(Duration::ZERO));
    let unknown = RateLimit::default();
    assert_eq!(
        unknown.wait(true, 0.0),
        None,
        "429 without Reset: the backoff decides"
    );
}

#[test]
fn only_links_of_the_configured_org_are_followed() {
    let cfg = Okta {
        url: "https://x.okta.com".into(),
        token: Secret::new("t"),
        token_from: "token_env OKTA".into(),
        interval: DEFAULT_INTERVAL,
        start: chrono::Duration::days(1),
    };
    assert!(cfg.owns("https://x.okta.com/api/v1/logs?after=1"));
    assert!(!cfg.owns("https://x.okta.com.evil.example/api/v1/logs?after=1"));
    assert!(!cfg.owns("https://x.okta.com/api/v1/logsX"));
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        cfg.first_url(now),
        "https://x.okta.com/api/v1/logs?since=2026%2D12%2D06T10%3A00%3A00%2E000Z&sortOrder=ASCENDING&limit=1000"
    );
}

#[test]
fn the_position_keeps_the_next_link_and_the_last_events_time() {
    let p = Position {
        next: "https://x.okta.com/api/v1/logs?after=1".into(),
        published: Some("2026-12-07T10:00:00.123Z".into()),
    };
    assert_eq!(Position::decode(&p.encode()), Some(p));
    let bare = Position {
        next: "https://x.okta.com/api/v1/logs?after=2".into(),
        published: None,
    };
    assert_eq!(
        bare.encode(),
        r#"{"next":"https://x.okta.com/api/v1/logs?after=2"}"#
    );
    assert_eq!(
        Position::decode("https://x.okta.com/api/v1/logs?after=2"),
        None
    );
}
