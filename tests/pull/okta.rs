//! The Okta System Log pulled by the daemon from the stand-in
//! (`crate::util::fake::okta`): `since` first, pages by the next link, the
//! rate limit's reset waited for, a refused token shown with its fix, and a
//! `kill -9` resumed from the committed cursor without counting twice.

use std::time::Duration;

use super::{events, problem, unparsed, up};
use crate::daemon::active_for;
use crate::util::daemon::{Daemon, add_config, setup};
use crate::util::fake::okta::{FakeOkta, TOKEN};
use crate::util::wait_for;

const SRC: &str = "okta";

/// The source's config: this fake, the token in a 0600 file.
fn config(dir: &std::path::Path, fake: &FakeOkta, token: &str) {
    loginwatch::private::write(&dir.join("okta.token"), format!("{token}\n").as_bytes()).unwrap();
    add_config(
        dir,
        &format!(
            "[[source]]\npull = \"okta\"\nurl = \"{}\"\ntoken_file = \"okta.token\"\ninterval = \"1s\"\nstart = \"1h\"\n",
            fake.server.base()
        ),
    );
}

/// The cursor committed for `source` in the state database.
fn committed_cursor(dir: &std::path::Path, source: &str) -> Option<String> {
    let db = rusqlite::Connection::open_with_flags(
        dir.join("state.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .ok()?;
    db.query_row(
        "SELECT cursor FROM cursors WHERE source = ?1",
        [source],
        |r| r.get(0),
    )
    .ok()
}

#[test]
fn system_log_pages_are_followed_rate_limits_waited_for_and_a_kill_resumes_from_the_cursor() {
    let dir = setup("30m");
    // Two events a page; the second request is answered 429 with the reset
    // two seconds past the second it arrives in.
    let fake = FakeOkta::start(2);
    for _ in 0..5 {
        fake.sign_in("okta-user@example.com", false);
    }
    fake.sign_in("someone@example.com", true);
    fake.with(|s| s.limit_at = Some((2, 2)));
    config(dir.path(), &fake, TOKEN);
    let d = Daemon::start(dir.path());

    let dec = wait_for("okta-user locked", Duration::from_secs(30), || {
        active_for(&d, "okta-user@example.com")
    });
    assert_eq!(dec["evidence"]["count"], 5, "{dec}");
    wait_for("six events", Duration::from_secs(30), || {
        (events(&d, SRC) == 6.0).then_some(())
    });
    let reqs = fake.requests();
    // The first request: `since` an hour back, oldest first.
    let first = &reqs[0].query;
    let since = chrono::DateTime::parse_from_rfc3339(&first["since"]).unwrap();
    let back = chrono::Utc::now().signed_duration_since(since);
    assert!(
        back > chrono::Duration::minutes(59) && back < chrono::Duration::minutes(62),
        "{back}"
    );
    assert_eq!(first["sortOrder"], "ASCENDING");
    assert!(!first.contains_key("after"));
    // The 429: nothing sent before its reset, then the same page asked again.
    let reset = fake.with(|s| s.reset).expect("the 429 was given") as f64;
    assert_eq!(reqs[1].status, 429);
    assert!(
        reqs[2].at >= reset,
        "asked at {} before the reset {reset}",
        reqs[2].at
    );
    assert_eq!(reqs[2].query.get("after"), reqs[1].query.get("after"));
    // Later pages by the next link (`after`), never `since` again.
    assert!(
        reqs[2..]
            .iter()
            .all(|r| r.query.contains_key("after") && !r.query.contains_key("since"))
    );
    assert_eq!(unparsed(&d, SRC, "duplicate_row"), 0.0);
    assert_eq!(problem(&d, SRC), None);

    // Wait until the cursor after the last event is committed, then kill -9.
    wait_for(
        "the cursor after event 6 committed",
        Duration::from_secs(30),
        || committed_cursor(dir.path(), SRC).filter(|c| next_ends(c, "after=6")),
    );
    d.kill9();
    let before_restart = fake.requests().len();
    fake.sign_in("second@example.com", false);
    fake.sign_in("second@example.com", false);
    let d = Daemon::start(dir.path());
    wait_for("the two new events", Duration::from_secs(30), || {
        (events(&d, SRC) == 2.0).then_some(())
    });
    let reqs = fake.requests();
    assert_eq!(
        reqs[before_restart].query.get("after").map(String::as_str),
        Some("6"),
        "resumed from the committed next link: {:?}",
        reqs[before_restart].query
    );
    // A few more polls: nothing counted twice.
    let n = reqs.len();
    wait_for("two more polls", Duration::from_secs(30), || {
        (fake.requests().len() >= n + 2).then_some(())
    });
    assert_eq!(events(&d, SRC), 2.0);
    assert_eq!(unparsed(&d, SRC, "duplicate_row"), 0.0);
    assert!(
        active_for(&d, "okta-user@example.com").is_some(),
        "the lock survived"
    );

    // A stored next link the service refuses (a 400): pulling starts again
    // from the last event's `published`; what it reads again is dropped as
    // repeats (rows seen are committed with the cursor), the new event counts.
    let cursor = wait_for(
        "the cursor after event 8 committed",
        Duration::from_secs(30),
        || committed_cursor(dir.path(), SRC).filter(|c| next_ends(c, "after=8")),
    );
    let published: serde_json::Value = serde_json::from_str(&cursor).unwrap();
    d.kill9();
    fake.with(|s| s.refuse_after = 1);
    fake.sign_in("third@example.com", false);
    let before_restart = fake.requests().len();
    let d = Daemon::start(dir.path());
    wait_for(
        "the event after the refused link",
        Duration::from_secs(30),
        || (events(&d, SRC) == 1.0).then_some(()),
    );
    let reqs = fake.requests();
    assert_eq!(reqs[before_restart].status, 400);
    let again = &reqs[before_restart + 1].query;
    assert_eq!(
        again.get("since").map(String::as_str),
        published["published"].as_str()
    );
    assert!(unparsed(&d, SRC, "duplicate_row") >= 1.0);
    assert!(d.terminate().success());
}

/// Whether a stored Okta cursor's next link ends with `tail`.
fn next_ends(cursor: &str, tail: &str) -> bool {
    let v: serde_json::Value = serde_json::from_str(cursor).unwrap();
    v["next"].as_str().unwrap().ends_with(tail) && v["published"].is_string()
}

#[test]
fn a_refused_api_token_is_shown_with_its_fix() {
    let dir = setup("30m");
    let fake = FakeOkta::start(100);
    fake.sign_in("x@example.com", false);
    config(dir.path(), &fake, "00wrong-token");
    let d = Daemon::start(dir.path());
    let p = wait_for("the refusal on /readyz", Duration::from_secs(30), || {
        problem(&d, SRC)
    });
    assert!(p.contains("401") && p.contains("E0000011"), "{p}");
    assert!(
        p.contains("Security > API > Tokens") && p.contains("okta.token"),
        "{p}"
    );
    assert!(
        !p.contains("00wrong-token"),
        "the token is never shown: {p}"
    );
    assert_eq!(up(&d, SRC), 0.0);
    assert!(!d.metrics().contains("00wrong-token"));
    assert!(!d.log().contains("00wrong-token"));
    assert_eq!(events(&d, SRC), 0.0);
    assert!(d.terminate().success());
}
