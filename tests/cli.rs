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
    assert_eq!(ev["loginwatch.log.offset"], 0);
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

/// The subcommands a `--help` output lists under `Commands:` (without `help`).
pub(crate) fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A wrapped description goes on with more indentation.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command and subcommand, found by walking `--help` from the top, so
/// a new one cannot escape the checks below.
pub(crate) fn every_command() -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let out = lw().args(&path).arg("--help").output().unwrap();
        assert!(out.status.success(), "{path:?}");
        for c in subcommands(&String::from_utf8_lossy(&out.stdout)) {
            let mut p = path.clone();
            p.push(c);
            todo.push(p);
        }
        found.push(path);
    }
    found
}

#[test]
fn every_subcommand_help_shows_an_example() {
    let commands = every_command();
    assert!(commands.len() > 15, "the walk found too few: {commands:?}");
    for path in commands.iter().filter(|p| !p.is_empty()) {
        let out = lw().args(path).arg("--help").output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        let example = help
            .split("\nExample:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{path:?} --help has no Example section:\n{help}"));
        // The example runs this very command, not a neighbour's.
        assert!(
            example.contains(&format!("loginwatch {}", path.join(" "))),
            "{path:?}: {example}"
        );
    }
}

#[test]
fn help_and_readme_name_every_built_in_format() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let options = readme
        .split("### Common options")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap();
    for cmd in ["parse", "replay", "why"] {
        let out = lw().args([cmd, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        for name in loginwatch::parse::Format::builtin_names() {
            assert!(help.contains(name), "{cmd} --help lacks {name}:\n{help}");
            assert!(
                options.contains(&format!("`{name}`")),
                "the README's options table lacks {name}"
            );
        }
    }
}

#[test]
fn run_help_and_readme_document_the_log_filter() {
    let out = lw().args(["run", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("LOGINWATCH_LOG"));
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(readme.contains("LOGINWATCH_LOG"));
}

#[test]
fn the_readme_says_how_to_install() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let install = readme
        .split("\n## Install\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("an Install section");
    assert!(install.contains("cargo install --path ."), "{install}");
    // It names every command `--help` lists.
    let out = lw().arg("--help").output().unwrap();
    for c in subcommands(&String::from_utf8_lossy(&out.stdout)) {
        assert!(install.contains(&format!("`{c}`")), "Install omits {c}");
    }
}

#[test]
fn one_error_is_counted_in_the_singular() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.toml"), "nope = 1\n").unwrap();
    let out = lw()
        .args(["config", "check"])
        .arg(dir.path().join("c.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid configuration (1 error):"), "{err}");
    std::fs::write(dir.path().join("c.toml"), "nope = 1\nnor = 2\n").unwrap();
    let out = lw()
        .args(["config", "check"])
        .arg(dir.path().join("c.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid configuration (2 errors):"), "{err}");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("r.toml"), "[[rule]]\nid = \"x\"\n").unwrap();
    let out = lw().args(["rules", "check"]).arg(&rules).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid rules (1 error):"), "{err}");
}
