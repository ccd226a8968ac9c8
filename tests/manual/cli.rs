//! `decisions add` from the command line: through the daemon (enforce mode
//! runs the configured action, an unlock its inverse), refused by the safety
//! filter, on the state file when no daemon runs; and the `--json` shapes and
//! table widths of the commands that print.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{json_of, lw_in, text};
use crate::util::daemon::{Daemon, add_config, setup};
use crate::util::wait_for;

/// Enforce mode with account locks and unlocks run by a script that appends
/// its arguments to the returned file.
fn enforce_with_script(d: &Path) -> PathBuf {
    let record = d.join("argv.log");
    let script = d.join("lock-user.sh");
    fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", record.display()),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .unwrap();
    let cfg = fs::read_to_string(d.join("loginwatch.toml")).unwrap();
    fs::write(
        d.join("loginwatch.toml"),
        format!(
            "mode = \"enforce\"\n{cfg}[actions]\ntimeout = \"5s\"\n[[actions.lock_account]]\nexec = [\"{s}\", \"lock\", \"{{user}}\"]\nundo_exec = [\"{s}\", \"unlock\", \"{{user}}\"]\n",
            s = script.display()
        ),
    )
    .unwrap();
    record
}

#[test]
fn decisions_add_locks_through_the_daemon_and_on_the_state_file() {
    let dir = setup("30m");
    let d = dir.path();
    let record = enforce_with_script(d);
    add_config(d, "[safety]\nexempt_users = [\"svc-backup\"]\n");
    let daemon = Daemon::start(d);
    let url = daemon.url("");
    let lw = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--config", "loginwatch.toml", "--url", url.as_str()]);
        lw_in(d, &all)
    };

    let o = lw(&[
        "decisions",
        "add",
        "--user",
        "bob",
        "--reason",
        "phished",
        "--json",
    ]);
    let rec = json_of(&o);
    assert_eq!(
        (rec["rule"].as_str(), rec["mode"].as_str()),
        (Some("manual"), Some("enforce"))
    );
    assert_eq!(
        rec["assessment_reason"],
        "Decided by hand by tester: phished"
    );
    let id = rec["id"].as_str().unwrap().to_owned();
    wait_for("the lock action", Duration::from_secs(20), || {
        fs::read_to_string(&record)
            .unwrap_or_default()
            .contains("lock bob")
            .then_some(())
    });

    let o = lw(&["decisions", "add", "--user", "svc-backup", "--reason", "x"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("refused by the safety filter: user \"svc-backup\" is exempt"),
        "{}",
        text(&o)
    );
    let o = lw(&[
        "decisions",
        "add",
        "--ip",
        "203.0.113.7",
        "--action",
        "lock_account",
        "--reason",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("needs a `user`"), "{}", text(&o));
    let o = lw(&[
        "decisions",
        "add",
        "--user",
        "bob",
        "--ip",
        "203.0.113.7",
        "--reason",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2), "clap refuses both: {}", text(&o));

    // Unlocked like a rule's decision: the inverse action runs.
    let o = lw(&["decisions", "unlock", &id, "--reason", "cleared", "--json"]);
    let rec = json_of(&o);
    assert_eq!(
        (rec["status"].as_str(), rec["unlocked_by"].as_str()),
        (Some("unlocked"), Some("tester"))
    );
    wait_for("the unlock action", Duration::from_secs(20), || {
        fs::read_to_string(&record)
            .unwrap_or_default()
            .contains("unlock bob")
            .then_some(())
    });
    let o = lw(&["safety", "storm-reset", "--json"]);
    assert_eq!(
        json_of(&o),
        serde_json::json!({"was_open": false, "by": "tester"})
    );

    // No daemon: the state file, with the same checks and the CLI's credential.
    daemon.terminate();
    let o = lw(&[
        "decisions",
        "add",
        "--user",
        "carol",
        "--duration",
        "admin",
        "--reason",
        "left the company",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(
            ": lock_account user=carol until an admin unlocks it (enforce, status active)"
        ),
        "{}",
        text(&o)
    );
    assert!(fs::read_to_string(&record).unwrap().contains("lock carol"));
    let o = lw(&["decisions", "add", "--user", "svc-backup", "--reason", "x"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = lw(&["decisions", "list", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let listed: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().all(|x| x["rule"] == "manual"));
}

#[test]
fn state_commands_print_json_and_tables_fit_columns() {
    let dir = setup("30m");
    let d = dir.path();
    let daemon = Daemon::start(d);
    let url = daemon.url("");
    let long = "a-very-long-user-name-from-a-saas-export@example.com";
    let o = lw_in(
        d,
        &[
            "decisions",
            "add",
            "--user",
            long,
            "--reason",
            "r",
            "--config",
            "loginwatch.toml",
            "--url",
            &url,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    daemon.terminate();

    let list = |columns: Option<&str>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_loginwatch"));
        c.args(["decisions", "list", "--config", "loginwatch.toml"])
            .current_dir(d);
        match columns {
            Some(n) => c.env("COLUMNS", n),
            None => c.env_remove("COLUMNS"),
        };
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let piped = list(None);
    assert!(piped.contains(long), "piped output stays whole: {piped}");
    let narrow = list(Some("60"));
    for line in narrow.lines() {
        assert_eq!(line.chars().count(), 60, "{line}");
        assert!(line.ends_with('…'), "{line}");
    }

    let o = lw_in(
        d,
        &["state", "check", "--json", "--config", "loginwatch.toml"],
    );
    let v = json_of(&o);
    assert_eq!(v["ok"], true, "{v}");
    assert!(
        v["facts"]["database"]
            .as_str()
            .unwrap()
            .ends_with("state.db"),
        "{v}"
    );
    assert!(
        v["log"].is_array() && v["problems"] == serde_json::json!([]),
        "{v}"
    );
    let o = lw_in(
        d,
        &["state", "reset", "--json", "--config", "loginwatch.toml"],
    );
    let v = json_of(&o);
    assert!(v["moved_to"].as_str().unwrap().contains("state.db."), "{v}");
    assert_eq!(v["id"].as_str().unwrap().len(), 32, "{v}");
}

/// Clap colours help and errors (anstream): never with `NO_COLOR`, even
/// when `CLICOLOR_FORCE` asks for colour on a pipe.
#[test]
fn no_color_turns_off_the_colour_of_help_and_errors() {
    let run = |args: &[&str], no_color: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_loginwatch"));
        c.args(args).env("CLICOLOR_FORCE", "1");
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("NO_COLOR");
        }
        let o = c.output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    for args in [&["decisions", "add", "--help"][..], &["decisions", "add"]] {
        assert!(
            run(args, false).contains('\u{1b}'),
            "colour is forced: {args:?}"
        );
        let plain = run(args, true);
        assert!(!plain.contains('\u{1b}'), "{args:?}: {plain}");
    }
}
