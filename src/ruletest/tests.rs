use std::sync::Arc;

use serde_json::json;

use super::compare::{self, Kind};
use super::*;
use crate::rules::RuleSet;

const LOCKOUT: &str = r#"
[[rule]]
id = "account-lockout"
kind = "consecutive"
group_by = "user"
count = 3
window = "30m"
match = { outcome = "failure" }
decision = { action = "lock_account", duration = "30m" }
"#;

fn failures(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "Nov 14 06:25:{:02} web1 sshd[4006]: Failed password for alice from 203.0.113.5 port 44006 ssh2\n",
                i * 10
            )
        })
        .collect()
}

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn rules() -> Arc<RuleSet> {
    Arc::new(RuleSet::from_str(LOCKOUT, "lockout.toml").unwrap())
}

#[test]
fn a_run_gives_the_decisions_and_summary_replay_prints() {
    let dir = folder(&[("input.log", &failures(3))]);
    let test = Test::load(dir.path()).unwrap();
    assert_eq!(test.spec.year, spec::DEFAULT_YEAR);
    let got = run(&test, &rules()).unwrap();
    assert_eq!(got.decisions.len(), 1);
    let d = &got.decisions[0];
    assert_eq!(d["rule"], "account-lockout");
    assert_eq!(d["target"], json!({"user": "alice"}));
    assert_eq!(d["at"], "2026-11-14T06:25:20Z");
    assert_eq!(d["until"], "2026-11-14T06:55:20Z");
    assert_eq!(
        got.summary,
        json!({"type": "summary", "lines": 3, "events": 3, "unparsed": 0, "decisions": 1})
    );
    assert_eq!(got.events.len(), 3);
}

#[test]
fn update_then_compare_passes_and_a_changed_input_fails_readably() {
    let dir = folder(&[("input.log", &failures(3))]);
    let test = Test::load(dir.path()).unwrap();
    assert!(matches!(
        Expected::load(&test),
        Err(TestError::NoExpectation(_))
    ));
    let got = run(&test, &rules()).unwrap();
    assert!(write_expected(&test, &got).unwrap());
    assert!(!write_expected(&test, &got).unwrap(), "nothing changed");
    let expected = Expected::load(&test).unwrap();
    assert!(differences(&expected, &got).is_empty());

    // Two failures: the lock is missing, and the summary says why.
    std::fs::write(dir.path().join("input.log"), failures(2)).unwrap();
    let got = run(&test, &rules()).unwrap();
    let diff = differences(&expected, &got);
    assert_eq!(diff[0].kind, Kind::Missing);
    assert_eq!(
        diff[0].what,
        "account-lockout lock_account user=alice at 2026-11-14T06:25:20Z"
    );
    let fields: Vec<String> = diff[1..].iter().map(|d| d.field.clone().unwrap()).collect();
    assert_eq!(fields, ["decisions", "events", "lines"]);
    assert_eq!(
        diff[1].to_string(),
        "differs:    summary: decisions: expected 1, got 0"
    );
}

#[test]
fn a_changed_field_is_named_and_a_left_out_field_is_not_compared() {
    let got = vec![
        json!({"rule": "r", "action": "lock_account", "target": {"user": "a"},
        "at": "t1", "until": "t2", "evidence": {"count": 5, "users": ["a"]}}),
    ];
    // The pattern leaves out `action` and `at` and most of the evidence.
    let expected = vec![json!({"rule": "r", "target": {"user": "a"}, "until": "t3",
        "evidence": {"count": 5}})];
    let diff = compare::decisions(&expected, &got);
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert_eq!(diff[0].kind, Kind::Field);
    assert_eq!(diff[0].field.as_deref(), Some("until"));
    assert_eq!(
        diff[0].to_string(),
        "differs:    r lock_account user=a at t1: until: expected \"t3\", got \"t2\""
    );
    let expected = vec![json!({"rule": "r", "evidence": {"count": 4, "first": "x"}})];
    let diff = compare::decisions(&expected, &got);
    let fields: Vec<_> = diff.iter().map(|d| d.field.clone().unwrap()).collect();
    assert_eq!(fields, ["evidence.count", "evidence.first"]);
    assert_eq!(diff[1].got, None);
}

#[test]
fn decisions_pair_by_rule_and_target_exact_matches_first() {
    let d = |user: &str, at: &str| json!({"rule": "r", "action": "a", "target": {"user": user}, "at": at});
    // The first expected lock of alice is gone; the second is still there.
    let expected = vec![d("alice", "t1"), d("alice", "t2"), d("bob", "t3")];
    let got = vec![d("alice", "t2"), d("bob", "t3"), d("carol", "t4")];
    let diff = compare::decisions(&expected, &got);
    let kinds: Vec<_> = diff.iter().map(|d| (d.kind, d.what.clone())).collect();
    assert_eq!(
        kinds,
        [
            (Kind::Missing, "r a user=alice at t1".to_owned()),
            (Kind::Unexpected, "r a user=carol at t4".to_owned())
        ]
    );
    // Same decisions, another order.
    let diff = compare::decisions(&[d("a", "1"), d("b", "2")], &[d("b", "2"), d("a", "1")]);
    assert_eq!(diff.len(), 1);
    assert_eq!(diff[0].kind, Kind::Order);
}

#[test]
fn events_are_compared_only_when_the_test_has_them() {
    let dir = folder(&[("input.log", &failures(3))]);
    let test = Test::load(dir.path()).unwrap();
    let got = run(&test, &rules()).unwrap();
    write_expected(&test, &got).unwrap();
    assert!(!dir.path().join(EVENTS).exists());
    std::fs::write(dir.path().join(EVENTS), "").unwrap();
    write_expected(&test, &got).unwrap();
    let expected = Expected::load(&test).unwrap();
    assert_eq!(expected.events.as_ref().map(Vec::len), Some(3));
    let mut changed = got.clone();
    changed.events[1]["user.name"] = json!("mallory");
    let diff = differences(&expected, &changed);
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert_eq!(diff[0].what, "event 2");
    assert_eq!(diff[0].field.as_deref(), Some("user.name"));
}

#[test]
fn every_problem_of_test_toml_is_reported_at_its_line() {
    let dir = folder(&[(
        "test.toml",
        "tz = \"Mars/Olympus\"\nyear = 12\ninputs = [\"nope.log\"]\ngeoip = [\"gone.json\"]\n",
    )]);
    let Err(TestError::Spec(errs)) = Test::load(dir.path()) else {
        panic!("expected spec errors")
    };
    let lines: Vec<_> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, [Some(3), Some(4), Some(1), Some(2)], "{errs:?}");
    let dir = folder(&[("test.toml", "colour = \"blue\"\n"), ("input.log", "")]);
    let e = Test::load(dir.path()).unwrap_err().to_string();
    assert!(e.contains("test.toml:1") && e.contains("colour"), "{e}");
}

#[test]
fn a_test_with_geoip_json_runs_with_that_database() {
    let geo = r#"{"database_type": "GeoLite2-Country", "networks": {
        "203.0.113.0/24": {"country": {"iso_code": "JP"}}}}"#;
    let dir = folder(&[
        ("input.log", &failures(1)),
        ("geoip.json", geo),
        ("test.toml", "geoip = [\"geoip.json\"]\n"),
    ]);
    let test = Test::load(dir.path()).unwrap();
    let got = run(&test, &rules()).unwrap();
    assert_eq!(
        got.events[0]["source.geo.country_iso_code"], "JP",
        "{}",
        got.events[0]
    );
    std::fs::write(dir.path().join("geoip.json"), "{}").unwrap();
    let e = run(&test, &rules()).unwrap_err().to_string();
    assert!(
        e.contains("geoip.json") && e.contains("database_type"),
        "{e}"
    );
}

#[test]
fn the_rules_loader_ignores_a_tests_folder() {
    let dir = folder(&[("lockout.toml", LOCKOUT)]);
    let t = dir.path().join("tests/account-lockout");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("test.toml"), "year = 2026\n").unwrap();
    std::fs::write(dir.path().join("tests/stray.toml"), "not = [rules").unwrap();
    let set = crate::rules::load_dir(dir.path()).unwrap();
    assert_eq!(set.rules.len(), 1);
}
