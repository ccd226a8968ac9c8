//! The daemon with an account inventory: events enriched for the rules, and
//! the account sweep at start-up.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::util::daemon::{Daemon, append, settle, setup};
use crate::util::wait_for;

#[test]
fn the_daemon_enriches_events_for_the_rules() {
    let dir = setup("30m");
    let d = dir.path();
    fs::write(d.join("tor.netset"), "203.0.113.0/24\n").unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/geo.toml");
    fs::copy(shipped, d.join("rules/geo.toml")).unwrap();
    fs::write(
        d.join("accounts.csv"),
        "user,email,status\nfrank,frank@example.jp,active\n",
    )
    .unwrap();
    fs::write(
        d.join("rules/tor.toml"),
        "[[rule]]\nid = \"tor-login\"\nkind = \"threshold\"\ngroup_by = \"user\"\ncount = 1\nwindow = \"1h\"\n\
         match = { outcome = \"success\", in_list = \"tor-exits\" }\ndecision = { action = \"alert\" }\n",
    )
    .unwrap();
    let cfg = fs::read_to_string(d.join("loginwatch.toml")).unwrap();
    let cfg = format!(
        "{cfg}[[ip_list]]\nname = \"tor-exits\"\npath = \"tor.netset\"\n[inventory]\npath = \"accounts.csv\"\n"
    );
    fs::write(d.join("loginwatch.toml"), cfg).unwrap();
    let daemon = Daemon::start(d);
    assert!(
        daemon.log().contains("Geo rules inactive"),
        "{}",
        daemon.log()
    );
    let now = chrono::Utc::now().to_rfc3339();
    append(
        &d.join("auth.log"),
        &[format!(
            "{now} web1 sshd[9]: Accepted password for frank from 203.0.113.9 port 4000 ssh2"
        )],
    );
    wait_for("the list rule's alert", Duration::from_secs(20), || {
        daemon
            .decisions(true)
            .into_iter()
            .find(|x| x["rule"] == "tor-login")
    });
    assert_eq!(
        daemon.get("/api/v1/accounts/frank")["facts"]["last_source_ip"],
        "203.0.113.9"
    );
}

#[test]
fn the_account_sweep_runs_at_start_up_and_does_not_repeat() {
    let dir = setup("30m");
    let d = dir.path();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/lifecycle.toml");
    fs::copy(shipped, d.join("rules/lifecycle.toml")).unwrap();
    let long_ago = (chrono::Utc::now() - chrono::Duration::days(200)).format("%Y-%m-%d");
    let recent = (chrono::Utc::now() - chrono::Duration::days(3)).format("%Y-%m-%d");
    fs::write(
        d.join("accounts.csv"),
        format!(
            "user,email,status,last_login_at,password_changed_at\n\
             gone,gone@example.jp,active,{long_ago},{recent}\n\
             here,here@example.jp,active,{recent},{recent}\n"
        ),
    )
    .unwrap();
    let cfg = fs::read_to_string(d.join("loginwatch.toml")).unwrap();
    fs::write(
        d.join("loginwatch.toml"),
        format!("{cfg}[inventory]\npath = \"accounts.csv\"\n"),
    )
    .unwrap();
    let daemon = Daemon::start(d);
    let found = wait_for(
        "the inactive-account recommendation",
        Duration::from_secs(20),
        || {
            daemon
                .decisions(true)
                .into_iter()
                .find(|x| x["rule"] == "inactive-account")
        },
    );
    assert_eq!(found["target"]["user"], "gone");
    assert_eq!(found["action"], "disable_account");
    assert!(
        daemon
            .decisions(true)
            .iter()
            .all(|x| x["target"]["user"] != "here")
    );
    // A restart sweeps again and recognises what is already decided.
    assert!(daemon.terminate().success());
    let daemon = Daemon::start(d);
    settle(&daemon, &d.join("auth.log"));
    let n = daemon
        .decisions(false)
        .iter()
        .filter(|x| x["rule"] == "inactive-account")
        .count();
    assert_eq!(n, 1);
}
