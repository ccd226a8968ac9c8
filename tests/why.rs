//! `why` against the running daemon and, once it has stopped, its state file:
//! the daemon learns account histories live, commits them with its
//! checkpoint, and both paths give the same diagnosis. The API refuses
//! callers without the admin token.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::util::daemon::{Daemon, TOKEN, append, setup};
use crate::util::{http, wait_for};

/// sshd lines for `user` stamped `secs_ago` seconds before now.
fn line(secs_ago: i64, pid: u32, msg: &str) -> String {
    let t = (chrono::Utc::now() - chrono::Duration::seconds(secs_ago)).to_rfc3339();
    format!("{t} web1 sshd[{pid}]: {msg}")
}

fn why_cli(dir: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .current_dir(dir)
        .args(["why"])
        .args(args)
        .args(["--json", "--config", "loginwatch.toml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "why failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn codes(v: &Value) -> Vec<String> {
    v["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn why_answers_from_the_daemon_and_from_its_state_file() {
    let dir = setup("30m");
    let log = dir.path().join("auth.log");
    let d = Daemon::start(dir.path());
    // carol logs in from her desk; later she types her ID wrong, then lena's
    // address-less pal at a new address fails lena's password five times.
    let mut lines = vec![line(
        600,
        100,
        "Accepted password for carol from 192.0.2.30 port 50000 ssh2",
    )];
    lines.push(line(
        300,
        101,
        "Accepted password for lena from 203.0.113.10 port 50001 ssh2",
    ));
    for (i, typed) in ["Carol", "ｃａｒｏｌ", "caro1"].iter().enumerate() {
        let pid = 200 + i as u32;
        lines.push(line(
            120,
            pid,
            &format!("Invalid user {typed} from 192.0.2.30 port {}", 51000 + i),
        ));
        lines.push(line(
            120,
            pid,
            &format!(
                "Failed password for invalid user {typed} from 192.0.2.30 port {} ssh2",
                51000 + i
            ),
        ));
    }
    for i in 0..5u32 {
        lines.push(line(
            60,
            300 + i,
            &format!(
                "Failed password for lena from 198.51.100.99 port {} ssh2",
                52000 + i
            ),
        ));
    }
    append(&log, &lines);
    wait_for("lena's lock", Duration::from_secs(20), || {
        d.decisions(true)
            .into_iter()
            .find(|x| x["target"]["user"] == "lena")
    });

    // The API takes the token when one is configured.
    let url = d.url("/api/v1/accounts/lena/why?language=ja");
    let anon = http::get(&url).send();
    assert_eq!(anon.status, 401);
    let api: Value = http::get(&url).bearer(TOKEN).send().json();
    assert_eq!(codes(&api)[..2], ["locked", "under_attack"], "{api}");
    assert_eq!(api["causes"][0]["evidence"]["assessment"], "attack");
    assert!(
        api["causes"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("ロック")
    );

    // The CLI asks the daemon (its address from the config).
    let lena = why_cli(dir.path(), &["lena"]);
    assert_eq!(codes(&lena)[..2], ["locked", "under_attack"], "{lena}");
    let carol = why_cli(dir.path(), &["carol"]);
    assert_eq!(codes(&carol)[0], "mistyped_login_id", "{carol}");
    let typed: Vec<&str> = carol["linked_spellings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["typed"].as_str().unwrap())
        .collect();
    assert_eq!(typed.len(), 3, "{carol}");
    assert!(typed.contains(&"ｃａｒｏｌ"));
    let nobody = why_cli(dir.path(), &["caro1"]);
    assert_eq!(codes(&nobody), ["unknown_user"]);
    assert_eq!(nobody["causes"][0]["evidence"]["did_you_mean"][0], "carol");

    // Stopped: the state file answers the same.
    assert!(d.terminate().success());
    let offline = why_cli(dir.path(), &["lena"]);
    assert_eq!(codes(&offline), codes(&lena));
    assert_eq!(
        offline["causes"][0]["evidence"]["decision_id"],
        lena["causes"][0]["evidence"]["decision_id"]
    );
    let carol_offline = why_cli(dir.path(), &["carol"]);
    assert_eq!(carol_offline["linked_spellings"], carol["linked_spellings"]);
}
