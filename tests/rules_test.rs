//! `loginwatch rules test [DIR]`: the shipped rules pass their shipped tests,
//! every shipped rule has one, a failing test is shown as a readable
//! difference (exit 1), `--update` writes the expectation, `--json` and
//! `--filter` work, and what cannot run is a usage error (exit 2).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::lw;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the shipped rule files with the shipped tests named in `tests`.
fn rules_copy(tests: &[&str]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for e in fs::read_dir(repo().join("rules")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            fs::copy(&p, tmp.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    for t in tests {
        let to = tmp.path().join("tests").join(t);
        fs::create_dir_all(&to).unwrap();
        for e in fs::read_dir(repo().join("rules/tests").join(t)).unwrap() {
            let p = e.unwrap().path();
            fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
    tmp
}

/// Runs `rules test` with `args`: exit code, stdout, stderr.
fn rules_test(args: &[&str]) -> (i32, String, String) {
    let out = lw().args(["rules", "test"]).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

/// Makes the shipped `account-lockout` need 6 failures instead of 5.
fn loosen_lockout(dir: &Path) {
    let path = dir.join("accounts.toml");
    let text = fs::read_to_string(&path).unwrap();
    let (head, tail) = text.split_once("id = \"account-lockout\"").unwrap();
    let tail = tail.replacen("count = 5", "count = 6", 1);
    fs::write(&path, format!("{head}id = \"account-lockout\"{tail}")).unwrap();
}

#[test]
fn the_shipped_rules_pass_their_shipped_tests() {
    let (code, out, err) = rules_test(&[&arg(&repo().join("rules"))]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok        account-lockout\n"), "{out}");
    let last = out.lines().last().unwrap();
    assert!(last.ends_with(" passed, 0 failed, 0 errors"), "{out}");
}

/// Issue 14: a test for every shipped rule, `rules/tests/<rule-id>/`, in
/// which that rule decides something.
#[test]
fn every_shipped_rule_has_a_test_where_it_fires() {
    // The default rules, and each profile with its own `tests/`.
    let mut dirs = vec![repo().join("rules")];
    let mut profiles: Vec<_> = fs::read_dir(repo().join("rules/profiles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    profiles.sort();
    assert!(profiles.len() >= 2, "{profiles:?}");
    dirs.extend(profiles);
    let mut missing = vec![];
    let mut total = 0;
    for dir in &dirs {
        let set = loginwatch::rules::load_dir(dir).unwrap();
        total += set.rules.len();
        for r in &set.rules {
            let expected = dir.join("tests").join(&*r.id).join("expected.jsonl");
            let fires = fs::read_to_string(&expected).is_ok_and(|t| {
                t.lines().any(|l| {
                    serde_json::from_str::<Value>(l)
                        .is_ok_and(|v| v["rule"].as_str() == Some(&*r.id))
                })
            });
            if !fires {
                missing.push(format!("{}: {}", dir.display(), r.id));
            }
        }
    }
    assert!(total >= 20, "{total}");
    assert!(
        missing.is_empty(),
        "shipped rules without a test folder <dir>/tests/<id>/ in which they fire: {missing:?}"
    );
}

#[test]
fn the_profiles_tests_pass() {
    for p in ["lineworks", "cybozu"] {
        let out = lw()
            .args(["rules", "test"])
            .arg(repo().join("rules/profiles").join(p))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{p}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn rules_check_ignores_the_tests_folder() {
    let out = lw()
        .args(["rules", "check", "--json"])
        .arg(repo().join("rules"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert!(files.iter().all(|f| !f.contains("tests")), "{files:?}");
}

#[test]
fn a_failing_test_is_a_readable_difference_and_exits_1() {
    let dir = rules_copy(&["account-lockout", "ip-bruteforce"]);
    loosen_lockout(dir.path());
    let (code, out, err) = rules_test(&[&arg(dir.path())]);
    assert_eq!(code, 1, "{out}{err}");
    let want = "\
FAIL      account-lockout
          missing:    account-lockout lock_account user=alice at 2026-11-14T06:26:20Z
          differs:    summary: decisions: expected 1, got 0
ok        ip-bruteforce
1 passed, 1 failed, 0 errors
";
    assert_eq!(out, want);

    let (code, out, _) = rules_test(&["--json", &arg(dir.path())]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(1))
    );
    let t = &v["tests"][0];
    assert_eq!(t["name"], "account-lockout");
    assert_eq!(t["status"], "fail");
    assert_eq!(t["differences"][0]["kind"], "missing");
    assert_eq!(
        t["differences"][0]["expected"]["until"],
        "2026-11-14T06:56:20Z"
    );
    assert_eq!(t["differences"][1]["kind"], "field");
    assert_eq!(t["differences"][1]["field"], "decisions");
    assert_eq!(v["tests"][1]["status"], "pass");
}

#[test]
fn update_writes_the_current_results_as_the_expectation() {
    let dir = rules_copy(&["account-lockout", "ip-bruteforce"]);
    loosen_lockout(dir.path());
    let expected = dir.path().join("tests/account-lockout/expected.jsonl");
    let before = fs::read_to_string(&expected).unwrap();
    let (code, out, err) = rules_test(&["--update", "--filter", "lockout", &arg(dir.path())]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "updated   account-lockout\n1 updated, 0 unchanged, 0 errors\n"
    );
    let after = fs::read_to_string(&expected).unwrap();
    assert_ne!(before, after);
    assert_eq!(
        after,
        "{\"decisions\":0,\"events\":5,\"lines\":5,\"type\":\"summary\",\"unparsed\":0}\n"
    );
    let (code, out, _) = rules_test(&[&arg(dir.path())]);
    assert_eq!(code, 0, "{out}");

    // A new test: no expectation yet is an error until --update writes one.
    let new = dir.path().join("tests/my-lockout");
    fs::create_dir_all(&new).unwrap();
    fs::copy(
        dir.path().join("tests/account-lockout/input.log"),
        new.join("input.log"),
    )
    .unwrap();
    let (code, out, _) = rules_test(&["--filter", "my-", &arg(dir.path())]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("ERROR     my-lockout") && out.contains("--update"),
        "{out}"
    );
    let (code, out, _) = rules_test(&["--update", "--filter", "my-", &arg(dir.path())]);
    assert_eq!(code, 0, "{out}");
    assert!(new.join("expected.jsonl").exists());
    assert!(!new.join("events.jsonl").exists(), "events only on request");
}

#[test]
fn what_cannot_run_is_a_usage_error() {
    let dir = rules_copy(&["account-lockout"]);
    // A filter matching nothing, a rules directory without tests.
    let (code, _, err) = rules_test(&["--filter", "nothing-like-this", &arg(dir.path())]);
    assert_eq!(code, 2);
    assert!(err.contains("matches"), "{err}");
    let bare = rules_copy(&[]);
    let (code, _, err) = rules_test(&[&arg(bare.path())]);
    assert_eq!(code, 2);
    assert!(err.contains("tests"), "{err}");
    let (code, _, _) = rules_test(&[&arg(&bare.path().join("missing"))]);
    assert_eq!(code, 2);
    // An invalid test.toml: every problem at its line; the other tests still run.
    let bad = dir.path().join("tests/bad");
    fs::create_dir_all(&bad).unwrap();
    fs::write(bad.join("input.log"), "").unwrap();
    fs::write(
        bad.join("test.toml"),
        "format = \"ecs\"\ntz = \"Mars/Base\"\n",
    )
    .unwrap();
    let (code, out, _) = rules_test(&[&arg(dir.path())]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("ok        account-lockout"), "{out}");
    assert!(out.contains("ERROR     bad"), "{out}");
    assert!(out.contains("test.toml:2: tz: unknown time zone"), "{out}");
    assert!(out.ends_with("1 passed, 0 failed, 1 errors\n"), "{out}");
}

#[test]
fn a_pattern_without_volatile_fields_still_catches_a_changed_lock() {
    // An operator keeps only what the test is about.
    let dir = rules_copy(&["account-lockout"]);
    let expected = dir.path().join("tests/account-lockout/expected.jsonl");
    fs::write(
        &expected,
        "{\"rule\":\"account-lockout\",\"action\":\"lock_account\",\"target\":{\"user\":\"alice\"},\"until\":\"2026-11-14T06:56:20Z\"}\n",
    )
    .unwrap();
    let (code, out, _) = rules_test(&[&arg(dir.path())]);
    assert_eq!(code, 0, "{out}");
    // A 60-minute lock instead of 30 changes `until`, and only that is reported.
    let path: PathBuf = dir.path().join("accounts.toml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        text.replacen("duration = \"30m\"", "duration = \"60m\"", 1),
    )
    .unwrap();
    let (code, out, _) = rules_test(&[&arg(dir.path())]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "differs:    account-lockout lock_account user=alice at 2026-11-14T06:26:20Z: \
             until: expected \"2026-11-14T06:56:20Z\", got \"2026-11-14T07:26:20Z\""
        ),
        "{out}"
    );
}
