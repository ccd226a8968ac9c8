//! The CLI contract: help on every command, exit codes, errors that name their
//! input, escaping of attacker-controlled text, stdin input.

use std::io::Write;

use crate::util::{lw, repo};

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["parse", "--help"],
        &["replay", "--help"],
        &["rules", "--help"],
        &["rules", "check", "--help"],
    ] {
        let out = lw().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage:"),
            "{args:?}"
        );
    }
}

#[test]
fn missing_file_is_a_usage_error_naming_it() {
    let out = lw().args(["parse", "/no/such/auth.log"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/no/such/auth.log"), "{err}");
    let out = lw()
        .args(["replay", "--rules"])
        .arg(repo().join("rules"))
        .arg("/no/such/file")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unknown_format_and_bad_zone_are_usage_errors() {
    let out = lw()
        .args(["parse", "--format", "syslog-ng-xml", "-"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("syslog-ng-xml"));
    let out = lw()
        .args(["parse", "--tz", "Mars/Olympus", "-"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = lw().args(["replay"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "no FILE is a usage error");
}

#[test]
fn parse_reads_stdin_and_counts_unparsed_on_stderr() {
    let input = "Nov 14 06:25:00 web1 sshd[42]: Failed password for root from 203.0.113.9 port 4242 ssh2\n\
                 \x00\x01garbage\n";
    let out = lw()
        .args([
            "parse",
            "--tz",
            "UTC",
            "--year",
            "2026",
            "--show-unparsed",
            "-",
        ])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let ev: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(ev["user.name"], "root");
    assert_eq!(ev["source.ip"], "203.0.113.9");
    assert_eq!(ev["log.file.path"], "-");
    assert_eq!(ev["log.offset"], 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 unparsed"), "{stderr}");
    // The garbage line is shown escaped, never raw control bytes.
    assert!(stderr.contains("\\u{0}\\u{1}garbage"), "{stderr}");
    assert!(!stderr.contains('\u{1}'));
}

#[test]
fn human_output_escapes_control_characters_in_user_names() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    for i in 0..5 {
        writeln!(f, "Nov 14 06:25:0{i} web1 sshd[{}]: Failed password for evil\x1b[2Juser from 203.0.113.9 port 4242 ssh2", 100 + i).unwrap();
    }
    let out = lw()
        .args(["replay", "--tz", "UTC", "--year", "2026", "--rules"])
        .arg(repo().join("rules"))
        .arg(f.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("account-lockout"), "{stdout}");
    assert!(stdout.contains("evil\\u{1b}[2Juser"), "{stdout}");
    assert!(!stdout.contains('\x1b'));
}

#[test]
fn rules_check_accepts_shipped_rules_and_rejects_bad_ones_with_exit_2() {
    let out = lw()
        .args(["rules", "check"])
        .arg(repo().join("rules"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[rule]]\nid = \"x\"\nkind = \"sometimes\"\n",
    )
    .unwrap();
    let out = lw()
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml"));
    let out = lw()
        .args(["rules", "check", "/no/such/rules"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn replay_json_ends_with_a_summary() {
    let input = "Nov 14 06:25:00 web1 sshd[42]: Accepted publickey for deploy from 10.0.0.5 port 4242 ssh2\nnot syslog\n";
    let out = lw()
        .args(["replay", "--json", "--tz", "UTC", "--rules"])
        .arg(repo().join("rules"))
        .arg("-")
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(
        last,
        serde_json::json!({"type": "summary", "lines": 2, "events": 1, "unparsed": 1, "decisions": 0})
    );
}

#[test]
fn builtin_rules_are_used_when_no_rules_directory_exists() {
    let dir = tempfile::tempdir().unwrap();
    let out = lw()
        .current_dir(dir.path())
        .args(["rules", "check"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("17 rules"));
}

/// The README's rule and format examples are real: they compile as one rules directory.
#[test]
fn readme_toml_examples_compile() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    for (i, block) in readme.split("```toml\n").skip(1).enumerate() {
        let body = block.split("```").next().unwrap();
        std::fs::write(dir.path().join(format!("readme-{i}.toml")), body).unwrap();
        n += 1;
    }
    assert!(n >= 2, "README has its TOML examples");
    let out = lw()
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 rules, 1 declared formats"));
}
