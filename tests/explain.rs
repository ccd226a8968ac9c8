//! `loginwatch explain`: every line of the input explained in order, with the
//! windows carrying across lines; a line that fires, one filtered out by a
//! named condition, lines that are no event and why; the `--json` shape; a
//! hostile user name escaped in both forms.

use serde_json::Value;

use crate::util::{lw, repo};

/// `sshd` failure of `user` from 192.0.2.1 at second `s` of a minute.
fn failed(s: u32, user: &str) -> String {
    format!(
        "Nov 21 08:00:{s:02} web1 sshd[{}]: Failed password for {user} from 192.0.2.1 port 22 ssh2",
        100 + s
    )
}

/// `explain` over the shipped rules, in UTC, 2026.
fn explain(args: &[&str], stdin: &str) -> (i32, String, String) {
    let rules = repo().join("rules");
    let out = lw()
        .arg("explain")
        .arg("--rules")
        .arg(&rules)
        .args(["--tz", "UTC", "--year", "2026"])
        .args(args)
        .env_remove("NO_COLOR")
        .write_stdin(stdin)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The text explaining line `n` of human output.
fn block(out: &str, n: usize) -> &str {
    let start = out.find(&format!("line {n}: ")).unwrap();
    let rest = &out[start..];
    rest.find("\n\n").map_or(rest, |end| &rest[..end])
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_fifth_failure_fires_with_the_window_carried_across_lines() {
    let input: String = (1..=5).map(|s| failed(s, "alice") + "\n").collect();
    let (code, out, err) = explain(&["-"], &input);
    assert_eq!(code, 0, "{err}");
    let first = block(&out, 1);
    assert!(first.contains("parser      sshd"), "{first}");
    let lockout = |b: &str| {
        b.lines()
            .find(|l| l.trim_start().starts_with("account-lockout "))
            .unwrap()
            .to_owned()
    };
    assert!(
        lockout(first).contains("counted    key=alice 0/5 -> 1/5 within 30m"),
        "{first}"
    );
    let fifth = block(&out, 5);
    assert!(
        lockout(fifth).contains("fired      key=alice 4/5 -> 5/5 within 30m"),
        "{fifth}"
    );
    assert!(
        fifth.contains("decision   lock_account user=alice until 2026-11-21T08:30:05Z"),
        "{fifth}"
    );
    assert!(!out.contains('\x1b'), "no colour into a pipe");
}

#[test]
fn a_filtered_line_names_the_condition_and_the_event_value() {
    let (code, out, err) = explain(
        &[
            "--rule",
            "account-lockout",
            "--line",
            "Nov 21 08:00:09 web1 sshd[99]: Connection closed by 192.0.2.9 port 4 [preauth]",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let b = block(&out, 1);
    assert!(
        b.contains("account-lockout  filtered   by reason in [bad_password, mfa_failed] (this event: other)"),
        "{b}"
    );
    assert_eq!(
        b.lines().filter(|l| l.contains("filtered")).count(),
        1,
        "--rule shows one rule: {b}"
    );
}

#[test]
fn lines_that_give_no_event_say_why() {
    let (code, out, err) = explain(
        &[
            "--line",
            "garbage",
            "--line",
            "Nov 21 08:00:01 web1 sshd[7]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(block(&out, 1).contains("no event    malformed: "), "{out}");
    let second = block(&out, 2);
    assert!(
        second.contains("no event    no_event: not about authentication: a session"),
        "{second}"
    );
    // The first line of an attempt OpenSSH logs on two: held, then counted once.
    let (_, out, _) = explain(
        &[
            "--line",
            "Nov 21 08:00:01 web1 sshd[8]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=alice",
            "--line",
            &failed(2, "alice").replace("sshd[102]", "sshd[8]"),
        ],
        "",
    );
    assert!(block(&out, 1).contains("no_event: held: "), "{out}");
    assert!(
        block(&out, 2).contains("event       2026-11-21T08:00:02Z login failure bad_password"),
        "{out}"
    );
}

#[test]
fn json_is_one_object_per_input_line() {
    let mut input: String = (1..=5).map(|s| failed(s, "alice") + "\n").collect();
    input.push_str("garbage\n");
    let (code, out, err) = explain(&["--json", "-"], &input);
    assert_eq!(code, 0, "{err}");
    let v = json_lines(&out);
    assert_eq!(v.len(), 6);
    for (i, x) in v.iter().enumerate() {
        assert_eq!(x["line"], i + 1);
        assert_eq!(x["parser"], "sshd");
        assert!(x["text"].is_string() && x["rules"].is_array() && x["decisions"].is_array());
        assert!(x["enrichment"].is_object());
    }
    let fifth = &v[4];
    assert_eq!(fifth["event"]["user.name"], "alice", "{fifth}");
    let lockout = fifth["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "account-lockout")
        .unwrap();
    assert_eq!(lockout["status"], "fired");
    assert_eq!(
        (lockout["before"].as_u64(), lockout["after"].as_u64()),
        (Some(4), Some(5))
    );
    assert_eq!(
        (lockout["count"].as_u64(), lockout["window"].as_str()),
        (Some(5), Some("30m"))
    );
    assert_eq!(lockout["key"], "alice");
    assert_eq!(fifth["decisions"][0]["rule"], "account-lockout");
    let filtered = v[0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "filtered")
        .unwrap();
    assert!(filtered["condition"].is_string() && filtered["value"].is_string());
    assert_eq!(v[5]["not_event"]["reason"], "malformed");
    assert!(v[5].get("event").is_none());
}

#[test]
fn a_hostile_user_name_is_escaped() {
    let hostile = "ev\u{1b}[2Jil\u{202e}";
    let line = failed(1, &format!("invalid user {hostile}"));
    let (code, out, err) = explain(&["--line", &line], "");
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{202e}'),
        "{out:?}"
    );
    assert!(out.contains("user.name=ev\\u{1b}[2Jil\\u{202e}"), "{out}");
    assert!(out.contains("key=ev\\u{1b}[2Jil\\u{202e}"), "{out}");
    let (_, json, _) = explain(&["--json", "--line", &line], "");
    assert!(
        !json.contains('\u{1b}') && !json.contains('\u{202e}'),
        "{json:?}"
    );
    let v = json_lines(&json);
    assert_eq!(
        v[0]["event"]["user.name"], hostile,
        "decodes to the name as logged"
    );
}

#[test]
fn an_unknown_rule_or_no_input_is_a_usage_error() {
    let (code, _, err) = explain(&["--rule", "no-such-rule", "--line", "x"], "");
    assert_eq!(code, 2);
    assert!(err.contains("no-such-rule"), "{err}");
    let out = lw().arg("explain").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The README's examples are what `explain` prints: the fired line of the
/// five-failure log, and the filtered `--line` in full.
#[test]
fn the_readme_examples_are_real_output() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("### `loginwatch explain")
        .nth(1)
        .and_then(|s| s.split("\n### ").next())
        .unwrap();
    let examples: Vec<&str> = section
        .split("```\n")
        .filter(|b| b.starts_with("$ loginwatch explain"))
        .collect();
    assert_eq!(examples.len(), 2, "{section}");
    let log: String = (1..=5)
        .map(|i| {
            format!(
                "Nov 21 08:00:0{i} web1 sshd[10{i}]: Failed password for alice from 192.0.2.1 port 5000{i} ssh2\n"
            )
        })
        .collect();
    let (_, out, _) = explain(&["--rule", "account-lockout", "-"], &log);
    let shown = examples[0]
        .lines()
        .skip_while(|l| !l.starts_with("line 5:"));
    let shown: Vec<&str> = shown.collect();
    assert_eq!(shown.join("\n"), block(&out, 5), "README's fired example");
    let line = examples[1]
        .split("--line '")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap();
    let (_, out, _) = explain(&["--rule", "account-lockout", "--line", line], "");
    let shown: Vec<&str> = examples[1]
        .lines()
        .skip_while(|l| !l.starts_with("line 1:"))
        .collect();
    assert_eq!(
        shown.join("\n"),
        block(&out, 1),
        "README's filtered example"
    );
    // The `--json` example: the object `explain --json` prints for its text.
    let json = section
        .split("```json\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .unwrap();
    let example: serde_json::Value = serde_json::from_str(json).unwrap();
    let text = example["text"].as_str().unwrap();
    let (_, out, _) = explain(&["--rule", "account-lockout", "--json", "--line", text], "");
    let got: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(example, got, "README's --json example");
}
