use super::*;

fn t(s: &str) -> DateTime<Utc> {
    decode(s).unwrap()
}

#[test]
fn the_first_window_reaches_back_start_and_the_next_overlaps_the_last() {
    let now = t("2026-12-07T10:00:00.750Z");
    let w = window(None, now, chrono::Duration::hours(1));
    assert_eq!(w.from, t("2026-12-07T09:00:00Z"));
    assert_eq!(w.to, t("2026-12-07T10:00:00Z"), "whole seconds");
    let w2 = window(
        Some(w.to),
        t("2026-12-07T10:01:00Z"),
        chrono::Duration::hours(1),
    );
    assert_eq!(w2.from, t("2026-12-07T09:50:00Z"));
    assert_eq!(w2.to, t("2026-12-07T10:01:00Z"));
}

#[test]
fn a_backlog_is_read_a_day_a_window_and_never_beyond_the_retention() {
    let now = t("2026-12-07T10:00:00Z");
    let w = window(None, now, chrono::Duration::days(400));
    assert_eq!(w.from, now - RETENTION + chrono::Duration::hours(1));
    assert_eq!(w.to, w.from + MAX_WINDOW);
    let w2 = window(Some(w.to), now, chrono::Duration::days(1));
    assert_eq!(w2.from, w.to - OVERLAP);
    assert_eq!(w2.to, w2.from + MAX_WINDOW);
    // A stored end in the future (a clock set back) does not make an inverted window.
    let w3 = window(
        Some(now + chrono::Duration::hours(2)),
        now,
        chrono::Duration::days(1),
    );
    assert!(w3.from <= w3.to);
}

#[test]
fn downloads_start_at_least_an_interval_apart_even_when_retrying() {
    let t0 = Instant::now();
    let min = MIN_INTERVAL;
    assert_eq!(next_start(t0, min, None), t0 + min);
    // A failure's backoff is shorter than the minimum: the minimum wins.
    let mut b = Backoff::default();
    let mut started = t0;
    for _ in 0..12 {
        let next = next_start(started, min, Some(b.failure()));
        assert!(next - started >= min);
        started = next;
    }
    // Past the minimum, the backoff (capped) decides.
    assert_eq!(
        next_start(t0, min, Some(Duration::from_secs(300))),
        t0 + Duration::from_secs(300)
    );
}

#[test]
fn the_cursor_is_the_window_end_in_rfc3339() {
    let end = t("2026-12-07T10:00:00Z");
    assert_eq!(encode(end), "2026-12-07T10:00:00Z");
    assert_eq!(decode(&encode(end)), Some(end));
    assert_eq!(decode("garbage"), None);
}

#[test]
fn the_trailer_is_a_line_that_starts_with_the_marker() {
    assert!(is_trailer(b"downloadLogs error"));
    assert!(is_trailer(b"downloadLogs error: timeout"));
    assert!(is_trailer(b"\"downloadLogs error\""));
    assert!(!is_trailer(
        b"2026-05-11 09:00:00,x,Login success,PC Web,1.2.3.4"
    ));
    // A login ID typed by anyone is no trailer.
    assert!(!is_trailer(
        b"2026-05-11 09:00:00,downloadLogs error,Login failed,PC Web,1.2.3.4"
    ));
}

#[test]
fn a_download_with_the_marker_before_its_last_line_is_incomplete() {
    let (feed, rx) = crate::source::pull::test_feed();
    let body = "Date,User,Description,Service Type,IP Address\n\
                2026-05-11 09:00:00,x,Login success,PC Web,1.2.3.4\n\
                downloadLogs error\n\
                timeout while reading\n";
    let done = deliver(body.as_bytes(), "end", &feed);
    assert!(matches!(done, Ok(Done::Truncated)));
    let msgs: Vec<_> = rx.try_iter().collect();
    assert_eq!(msgs.len(), 4);
    assert!(
        msgs.iter().all(|m| m.position.is_none()),
        "the window is not done"
    );
}

#[test]
fn the_token_goes_to_the_api_and_line_works_hosts_only() {
    let cfg = Lineworks {
        url: DEFAULT_URL.into(),
        token_url: DEFAULT_TOKEN_URL.into(),
        service: "auth".into(),
        interval: MIN_INTERVAL,
        start: chrono::Duration::days(1),
        credentials: Credentials {
            client_id: "c".into(),
            client_secret: Secret::new("s"),
            service_account: "a".into(),
            private_key: Secret::new(""),
        },
        credentials_path: "c.toml".into(),
    };
    assert!(trusted("https://www.worksapis.com/x.csv", &cfg));
    assert!(trusted(
        "https://apis-storage.worksmobile.com/k/x.csv?sig=1",
        &cfg
    ));
    assert!(!trusted("http://apis-storage.worksmobile.com/x.csv", &cfg));
    assert!(!trusted("https://worksmobile.com.evil.example/x.csv", &cfg));
    assert!(!trusted("https://s3.example.com/x.csv", &cfg));
}
