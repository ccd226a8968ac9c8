//! `rules check --json` and `config check --json`: what they load on success,
//! every error with its file and line on failure, and the exit code of the
//! text form.

use serde_json::Value;

use crate::util::{lw, repo};

/// Runs `args`, expects exit `code`, and parses stdout as one JSON object.
fn json(args: &[&str], code: i32) -> Value {
    let out = lw().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one object on one line: {text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn rules_check_json_lists_files_rules_and_formats() {
    let dir = repo().join("rules");
    let v = json(&["rules", "check", "--json", dir.to_str().unwrap()], 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["origin"]["kind"], "dir");
    assert_eq!(v["origin"]["path"], dir.display().to_string());
    let files = v["files"].as_array().unwrap();
    let counted: u64 = files.iter().map(|f| f["rules"].as_u64().unwrap()).sum();
    assert_eq!(v["rules"].as_u64(), Some(counted));
    let accounts = files
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with("accounts.toml"))
        .unwrap();
    let ids: Vec<&str> = accounts["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    assert!(ids.contains(&"account-lockout"), "{ids:?}");
    assert_eq!(v["formats"], serde_json::json!([]));
}

#[test]
fn rules_check_json_gives_every_error_with_file_line_and_rule() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("a.toml"),
        "[[format]]\nname = \"myapp\"\nkind = \"regex\"\npattern = '^(?P<user>\\S+)'\n\n\
         [[rule]]\nid = \"ok-one\"\nkind = \"threshold\"\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("b.toml"),
        "# a comment\n[[rule]]\nid = \"bad\"\nkind = \"no-such-kind\"\n",
    )
    .unwrap();
    let v = json(&["rules", "check", "--json", d.path().to_str().unwrap()], 2);
    assert_eq!(v["ok"], false);
    let errors = v["errors"].as_array().unwrap();
    assert!(errors.len() >= 2, "{errors:?}");
    for e in errors {
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
        assert!(e["line"].as_u64().is_some(), "{e}");
    }
    let bad = errors
        .iter()
        .find(|e| e["file"].as_str().unwrap().ends_with("b.toml"))
        .expect("an error of b.toml");
    assert_eq!(bad["line"], 2, "{bad}");
    assert_eq!(bad["rule"], "bad");
    // The text form fails alike, and lists as many errors.
    let out = lw()
        .args(["rules", "check"])
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), errors.len() + 1, "{err}");
    // A bad value: its column too (the opening quote of "5q", indented).
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("c.toml"),
        "[[rule]]\nid = \"c\"\nkind = \"threshold\"\ngroup_by = \"user\"\ncount = 5\n\
         description = \"x\"\n  window = \"5q\"\nmatch = { outcome = \"failure\" }\n\
         decision = { action = \"lock_account\", duration = \"30m\" }\n",
    )
    .unwrap();
    let v = json(&["rules", "check", "--json", d.path().to_str().unwrap()], 2);
    let c = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["rule"] == "c")
        .expect("an error of rule c");
    assert_eq!((&c["line"], &c["column"]), (&7.into(), &12.into()), "{c}");
}

#[test]
fn rules_check_json_reports_a_missing_directory_and_an_empty_one() {
    let v = json(&["rules", "check", "--json", "/no/such/rules"], 2);
    assert_eq!(v["errors"][0]["file"], "/no/such/rules");
    let d = tempfile::tempdir().unwrap();
    let v = json(&["rules", "check", "--json", d.path().to_str().unwrap()], 2);
    let m = v["errors"][0]["message"].as_str().unwrap();
    assert!(m.contains("no rule can fire"), "{m}");
}

#[test]
fn config_check_json_names_sources_rules_state_and_listener() {
    let d = tempfile::tempdir().unwrap();
    let rules = repo().join("rules");
    let config = d.path().join("loginwatch.toml");
    std::fs::write(
        &config,
        format!(
            "rules_dir = {:?}\nstate_path = {:?}\nmode = \"enforce\"\n\
             [http]\nlisten = \"127.0.0.1:0\"\n\
             [[source]]\npath = \"/var/log/auth.log\"\nformat = \"sshd\"\n\
             [[source]]\nname = \"relay\"\nlisten = \"udp://127.0.0.1:5514\"\nformat = \"sshd\"\n",
            rules.display().to_string(),
            d.path().join("state.db").display().to_string(),
        ),
    )
    .unwrap();
    let v = json(&["config", "check", "--json", config.to_str().unwrap()], 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["file"], config.display().to_string());
    assert_eq!(v["mode"], "enforce");
    assert_eq!(
        v["state_path"],
        d.path().join("state.db").display().to_string()
    );
    assert_eq!(v["http"]["listen"], "127.0.0.1:0");
    assert_eq!(v["http"]["admin_token"], "generated");
    assert_eq!(v["rules"]["origin"]["kind"], "dir");
    assert!(v["rules"]["rules"].as_u64().unwrap() > 0);
    let sources = v["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[0]["name"], "auth.log");
    assert_eq!(sources[0]["kind"], "file");
    assert_eq!(sources[0]["reads"], "/var/log/auth.log");
    assert_eq!(sources[0]["format"], "sshd");
    assert_eq!(sources[0]["chosen"], Value::Null);
    assert_eq!(sources[1]["kind"], "listen");
    assert_eq!(sources[1]["reads"], "udp://127.0.0.1:5514");
}

#[test]
fn config_check_json_gives_every_error_with_its_line() {
    let d = tempfile::tempdir().unwrap();
    let config = d.path().join("c.toml");
    std::fs::write(&config, "mode = \"enforce\"\nnope = 1\nstate_path = 3\n").unwrap();
    let v = json(&["config", "check", "--json", config.to_str().unwrap()], 2);
    let columns: Vec<&Value> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["column"])
        .collect();
    assert_eq!(columns, [&Value::from(1), &Value::from(14)], "{v}");
    let v = json(&["config", "check", "--json", config.to_str().unwrap()], 2);
    assert_eq!(v["ok"], false);
    let errors = v["errors"].as_array().unwrap();
    let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [2, 3], "{errors:?}");
    for e in errors {
        assert_eq!(e["file"], config.display().to_string());
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    // A format no built-in and no rule declares, and broken rules, are errors too.
    std::fs::write(
        &config,
        format!(
            "rules_dir = {:?}\n[[source]]\npath = \"/x.log\"\nformat = \"myapp\"\n",
            repo().join("rules").display().to_string()
        ),
    )
    .unwrap();
    let v = json(&["config", "check", "--json", config.to_str().unwrap()], 2);
    let m = v["errors"][0]["message"].as_str().unwrap();
    assert!(m.contains("unknown format \"myapp\""), "{m}");
    let rules = d.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("r.toml"), "[[rule]]\nid = \"x\"\n").unwrap();
    std::fs::write(
        &config,
        format!("rules_dir = {:?}\n", rules.display().to_string()),
    )
    .unwrap();
    let v = json(&["config", "check", "--json", config.to_str().unwrap()], 2);
    assert_eq!(v["errors"][0]["rule"], "x", "{v}");
}
