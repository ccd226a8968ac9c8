//! LINE WORKS audit logs pulled by the daemon from the stand-in
//! (`crate::util::fake::lineworks`): the token from a signed assertion, the
//! 302 to a CSV, overlapping windows counted once, an incomplete download
//! retried, an expired token renewed, downloads never in parallel nor closer
//! than the interval.

use std::time::Duration;

use chrono::{SubsecRound, Utc};

use super::{events, problem, unparsed, up};
use crate::daemon::active_for;
use crate::util::daemon::{Daemon, add_config, setup};
use crate::util::fake::lineworks::{FakeLineworks, Row, write_credentials};
use crate::util::wait_for;

const SRC: &str = "lineworks";

fn row(secs_ago: i64, user: &str, description: &str) -> Row {
    Row {
        at: (Utc::now() - chrono::Duration::seconds(secs_ago)).trunc_subsecs(0),
        user: user.to_owned(),
        description: description.to_owned(),
        ip: "198.51.100.7".to_owned(),
    }
}

const FAILED: &str = "Login failed (Incorrect password)";

fn wait_events(d: &Daemon, n: f64, what: &str) {
    wait_for(what, Duration::from_secs(30), || {
        (events(d, SRC) == n).then_some(())
    });
}

#[test]
fn audit_logs_are_downloaded_counted_once_and_survive_truncation_and_token_expiry() {
    let dir = setup("30m");
    let fake = FakeLineworks::start();
    // Five failures of taro, one success of hanako: taro is locked by the
    // shipped account-lockout rule (5 consecutive failures).
    fake.with(|s| {
        for i in 0..5 {
            s.rows
                .push(row(20 - i, "Taro Yamada(taro@example.com)", FAILED));
        }
        s.rows
            .push(row(10, "Sato, Hanako(hanako@example.com)", "Login success"));
    });
    let creds = dir.path().join("lineworks.toml");
    write_credentials(&creds);
    add_config(dir.path(), &fake.source_config(&creds));
    let d = Daemon::start(dir.path());

    let dec = wait_for("taro locked", Duration::from_secs(30), || {
        active_for(&d, "taro@example.com")
    });
    assert_eq!(dec["action"], "lock_account", "{dec}");
    assert_eq!(dec["evidence"]["count"], 5, "{dec}");
    wait_events(&d, 6.0, "the six rows as events");
    fake.with(|s| {
        assert_eq!(
            s.tokens_issued, 1,
            "one token, its assertion verified: {:?}",
            s.tokens_refused
        );
        assert!(s.tokens_refused.is_empty(), "{:?}", s.tokens_refused);
        assert!(s.csv_fetches >= 1);
        // The first window reaches `start` (1h) back.
        let first = &s.downloads[0];
        let reach = first.end - first.start;
        assert!(
            reach >= chrono::Duration::minutes(59) && reach <= chrono::Duration::minutes(61),
            "{reach}"
        );
    });

    // New rows: the next windows overlap the rows already read, which are
    // dropped as repeats; events count only the new ones.
    fake.with(|s| {
        s.rows
            .push(row(0, "Sato, Hanako(hanako@example.com)", FAILED));
        s.rows.push(row(0, "Jiro Suzuki(jiro@example.com)", FAILED));
    });
    wait_events(&d, 8.0, "the two new rows");
    let downloads = fake.with(|s| s.downloads.len());
    wait_for("two more downloads", Duration::from_secs(30), || {
        (fake.with(|s| s.csv_fetches) >= downloads + 2).then_some(())
    });
    assert_eq!(
        events(&d, SRC),
        8.0,
        "overlapping windows deliver each row once"
    );
    assert!(
        unparsed(&d, SRC, "duplicate_row") >= 12.0,
        "the overlap re-read the rows"
    );
    assert_eq!(problem(&d, SRC), None);
    assert_eq!(up(&d, SRC), 1.0);

    // An incomplete download (the documented `downloadLogs error` trailer)
    // twice: rows before the trailer count, once; the window is downloaded
    // again; /readyz shows the problem until a complete download.
    let rows_before = fake.with(|s| {
        s.rows.push(row(
            0,
            "Jiro Suzuki(jiro@example.com)",
            "Login failed (Account locked)",
        ));
        s.rows
            .push(row(0, "Hanako Sato(hanako@example.com)", "Login success"));
        s.truncate_next = 2;
        s.rows.len()
    });
    // Cut after the first of the two new rows: every older row of the window
    // (all of them here: the window reaches back an hour) comes first.
    fake.with(|s| s.truncate_after = rows_before - 1);
    let p = wait_for(
        "the incomplete download on /readyz",
        Duration::from_secs(30),
        || problem(&d, SRC),
    );
    assert!(p.contains("downloadLogs error"), "{p}");
    assert_eq!(up(&d, SRC), 0.0);
    wait_for("/readyz clear again", Duration::from_secs(30), || {
        problem(&d, SRC).is_none().then_some(())
    });
    wait_events(&d, 10.0, "the rows of the incomplete downloads, once each");
    assert!(unparsed(&d, SRC, "incomplete_export") >= 2.0);
    assert_eq!(up(&d, SRC), 1.0);

    // The token expires: a new one is fetched once and pulling goes on.
    fake.expire_tokens();
    fake.with(|s| s.rows.push(row(0, "Jiro Suzuki(jiro@example.com)", FAILED)));
    wait_events(&d, 11.0, "a row after the token expired");
    fake.with(|s| {
        assert_eq!(s.tokens_issued, 2, "{:?}", s.tokens_refused);
        assert_eq!(s.unauthorized, 1);
    });
    assert_eq!(problem(&d, SRC), None);

    // Documented: no parallel downloads, none closer than the interval
    // (1s for this loopback url; 60s for the service). Times are arrivals at
    // the server, whose handling of one request can lag under load: each gap
    // may look up to 300 ms short, but the lag does not add up, so the span of
    // all downloads is held to the full interval each.
    fake.with(|s| {
        assert_eq!(
            s.parallel, 0,
            "a download requested while another's CSV was unfetched"
        );
        for w in s.downloads.windows(2) {
            let gap = w[1].at - w[0].at;
            assert!(gap >= Duration::from_millis(700), "downloads {gap:?} apart");
        }
        let n = s.downloads.len();
        assert!(n >= 6, "{n} downloads");
        let span = s.downloads[n - 1].at - s.downloads[0].at;
        let least = Duration::from_secs(n as u64 - 1) - Duration::from_millis(300);
        assert!(span >= least, "{n} downloads in {span:?}");
    });
    assert!(d.terminate().success());
}
