//! `POST /api/v1/decisions` on the real daemon: the token, the body, the
//! safety filter, and the lifecycle of what it records (list, audit, alert,
//! why, auto-unlock).

use std::time::Duration;

use serde_json::json;

use super::{FILE_SINK, sink_line};
use crate::util::daemon::{Daemon, TOKEN, add_config, setup};
use crate::util::{http, wait_for};

#[test]
fn a_manual_decision_through_the_api_lives_like_a_rules() {
    let dir = setup("30m");
    let d = dir.path();
    add_config(d, "[safety]\nexempt_users = [\"svc-backup\"]\n");
    add_config(d, FILE_SINK);
    let daemon = Daemon::start(d);
    let url = daemon.url("/api/v1/decisions");
    let body =
        json!({"user": "bob", "duration": "3s", "reason": "phished, ticket 4711", "by": "alice"});

    let r = http::post(&url).json(&body).send();
    assert_eq!(r.status, 401, "{}", r.body);
    let import = json!({"by": "mallory", "decisions": []});
    let r = http::post(daemon.url("/api/v1/decisions/import"))
        .json(&import)
        .send();
    assert_eq!(r.status, 401, "{}", r.body);
    let r = http::post(daemon.url("/api/v1/decisions/import"))
        .bearer("wrong")
        .json(&import)
        .send();
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(daemon.decisions(false).is_empty());

    let r = http::post(&url).bearer(TOKEN).json(&body).send();
    assert_eq!(r.status, 201, "{}", r.body);
    let rec = r.json()["decision"].clone();
    assert_eq!(rec["rule"], "manual");
    assert_eq!(rec["action"], "lock_account");
    assert_eq!(rec["status"], "active");
    assert_eq!(rec["mode"], "recommend");
    assert_eq!(
        rec["assessment_reason"],
        "Decided by hand by alice: phished, ticket 4711"
    );
    let id = rec["id"].as_str().unwrap().to_owned();

    // Listed, audited with the name, reason and credential, alerted.
    assert!(
        daemon
            .decisions(true)
            .iter()
            .any(|x| x["id"] == id.as_str())
    );
    let detail = daemon.get(&format!("/api/v1/decisions/{id}"));
    let first = &detail["audit"][0];
    assert_eq!(first["what"], "decided");
    assert_eq!(first["who"], "alice");
    assert!(
        first["credential"].as_str().unwrap().starts_with("token:"),
        "{first}"
    );
    assert!(
        first["detail"]
            .as_str()
            .unwrap()
            .ends_with(": phished, ticket 4711"),
        "{first}"
    );
    let alert = sink_line(d, "Decided by hand");
    assert!(alert.contains("manual"), "{alert}");
    assert!(
        alert.contains("Decided by hand by alice: phished, ticket 4711"),
        "{alert}"
    );
    let why = daemon.get("/api/v1/accounts/bob/why").to_string();
    assert!(why.contains("\"manual\""), "{why}");

    // Wrong fields are 400, the safety filter's refusals 409, nothing stored.
    for (bad, status, says) in [
        (
            json!({"user": "bob", "reason": "x", "by": "a", "extra": 1}),
            400,
            "unknown field",
        ),
        (
            json!({"user": "bob", "ip": "203.0.113.7", "reason": "x", "by": "a"}),
            400,
            "exactly one",
        ),
        (
            json!({"user": "svc-backup", "reason": "x", "by": "a"}),
            409,
            "exempt (safety.exempt_users)",
        ),
        (
            json!({"ip": "10.1.2.3", "reason": "x", "by": "a"}),
            409,
            "private",
        ),
    ] {
        let r = http::post(&url).bearer(TOKEN).json(&bad).send();
        assert_eq!(r.status, status, "{bad}: {}", r.body);
        assert!(
            r.json()["error"].as_str().unwrap().contains(says),
            "{}",
            r.body
        );
    }
    assert_eq!(daemon.decisions(false).len(), 1);

    // It ends by itself at `until`, with its "resolved" alert.
    wait_for("the manual lock to expire", Duration::from_secs(20), || {
        daemon.decisions(true).is_empty().then_some(())
    });
    let ended = daemon.get(&format!("/api/v1/decisions/{id}"));
    assert_eq!(ended["decision"]["status"], "expired");
    sink_line(d, "resolved");
}
