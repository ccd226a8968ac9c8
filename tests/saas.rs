//! SaaS audit-log exports (LINE WORKS, cybozu.com) through the real binary: the
//! lock-policy profiles on fixture exports, Shift_JIS input, declared CSV formats.
//! Fixtures are in `tests/fixtures/saas/` (written for these tests; no public
//! samples of these exports exist).

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn lw() -> Command {
    Command::cargo_bin("loginwatch").unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/saas").join(name)
}

/// `replay --json` output: (decisions, summary, stderr).
fn replay(args: &[&str], file: &std::path::Path) -> (Vec<Value>, Value, String) {
    let out = lw()
        .current_dir(root())
        .arg("replay")
        .arg("--json")
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let mut lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = lines.pop().unwrap();
    assert_eq!(summary["type"], "summary");
    (lines, summary, stderr)
}

fn minutes(d: &Value) -> i64 {
    let t = |k: &str| chrono::DateTime::parse_from_rfc3339(d[k].as_str().unwrap()).unwrap();
    (t("until") - t("at")).num_minutes()
}

#[test]
fn lineworks_profile_locks_after_five_failures_for_30_minutes() {
    let (ds, summary, stderr) = replay(
        &["--rules", "rules/profiles/lineworks"],
        &fixture("lineworks-en.csv"),
    );
    assert_eq!(ds.len(), 1, "{ds:?}");
    let d = &ds[0];
    assert_eq!(d["rule"], "lineworks-lockout");
    assert_eq!(d["action"], "lock_account");
    assert_eq!(d["target"]["user"], "taro@example.com");
    assert_eq!(d["unlock"], "auto");
    assert_eq!(d["evidence"]["count"], 5);
    // 09:04 Asia/Tokyo, the fifth failure.
    assert_eq!(d["at"], "2026-05-11T00:04:00Z");
    assert_eq!(minutes(d), 30);
    // Hanako's 4 failures then a success lock nothing; the tail is an incomplete export.
    assert_eq!(summary["events"], 12);
    assert_eq!(summary["unparsed"], 1);
    assert!(stderr.contains("incomplete_export"), "{stderr}");
}

#[test]
fn cybozu_profile_locks_after_ten_failures_for_3_minutes() {
    let (ds, summary, _) = replay(
        &["--rules", "rules/profiles/cybozu"],
        &fixture("cybozu-ja.csv"),
    );
    assert_eq!(ds.len(), 1, "suzuki's 9 failures lock nothing: {ds:?}");
    let d = &ds[0];
    assert_eq!(d["rule"], "cybozu-lockout");
    assert_eq!(d["target"]["user"], "sato");
    assert_eq!(d["evidence"]["count"], 10);
    assert_eq!(minutes(d), 3);
    assert_eq!(summary["unparsed"], 0);
}

#[test]
fn shift_jis_export_gives_the_same_decisions_as_utf8() {
    let text = std::fs::read_to_string(fixture("cybozu-ja.csv")).unwrap();
    let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cybozu-sjis.csv");
    std::fs::write(&path, &sjis).unwrap();
    let (mut a, sa, _) = replay(
        &["--rules", "rules/profiles/cybozu"],
        &fixture("cybozu-ja.csv"),
    );
    let (mut b, sb, _) = replay(&["--rules", "rules/profiles/cybozu"], &path);
    // Ids cover the lines' byte offsets, which differ between the encodings.
    for d in a.iter_mut().chain(b.iter_mut()) {
        d.as_object_mut().unwrap().remove("id");
    }
    assert_eq!(a.len(), 1);
    assert_eq!(a, b);
    assert_eq!(sa["events"], sb["events"]);
}

#[test]
fn parse_reads_nobody_and_lockout_rows() {
    let out = lw()
        .args(["parse", "--format", "cybozu-audit"])
        .arg(fixture("cybozu-ja.csv"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let evs: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(evs[10]["event.reason"], "locked");
    assert_eq!(evs[11]["user.name"], "admin");
    assert_eq!(evs[11]["event.reason"], "unknown_user");
    assert_eq!(evs.last().unwrap()["loginwatch.auth.method"], "sso");
}

#[test]
fn a_declared_csv_format_reads_renamed_columns_and_new_texts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("formats.toml"),
        r#"
[[format]]
name = "lineworks-custom"
kind = "csv"
preset = "lineworks-audit"
zone = "UTC"

[format.csv.columns]
user = ["Account"]

[[format.csv.description]]
text = "Sign-in blocked*"
action = "login"
outcome = "failure"
reason = "ip_denied"
"#,
    )
    .unwrap();
    let log = dir.path().join("export.csv");
    std::fs::write(
        &log,
        "Date,Account,Description\n2026-05-11 09:00:00,a(a@x),Sign-in blocked (country)\n",
    )
    .unwrap();
    let out = lw()
        .arg("parse")
        .arg("--rules")
        .arg(dir.path())
        .args(["--format", "lineworks-custom"])
        .arg(&log)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(ev["event.reason"], "ip_denied");
    assert_eq!(ev["user.name"], "a@x");
    assert_eq!(ev["@timestamp"], "2026-05-11T09:00:00Z");
}

#[test]
fn a_bad_declared_csv_format_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "\n[[format]]\nname = \"x\"\nkind = \"csv\"\npreset = \"lineworks-audit\"\n\
         csv = { columns = { colour = \"Colour\" }, description = [{ text = \"a\", outcome = \"sucess\" }] }\n",
    )
    .unwrap();
    let out = lw()
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("bad.toml:2"), "{text}");
    assert!(text.contains("colour"), "{text}");
    assert!(text.contains("sucess"), "{text}");
}

#[test]
fn a_config_profile_selects_the_built_in_lock_policy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lw.toml"), "profile = \"cybozu\"\n").unwrap();
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/saas/cybozu-ja.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(["replay", "--json", "--config"])
        .arg(dir.path().join("lw.toml"))
        .arg(&fixture)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rules: Vec<String> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "decision")
        .map(|v| v["rule"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        rules,
        ["cybozu-lockout"],
        "the profile's 10-failure lock, and only the profile's rules"
    );
    std::fs::write(dir.path().join("bad.toml"), "profile = \"office365\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(["config", "check"])
        .arg(dir.path().join("bad.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("office365"));
}
