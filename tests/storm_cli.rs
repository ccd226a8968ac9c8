//! `loginwatch safety storm-reset` against the real daemon in a lockout storm:
//! not open, refused without the token, closed with it, not open again, and a
//! clear exit 2 when no daemon answers (the breaker lives in the daemon).

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::util::daemon::{Daemon, append, failures, setup};
use crate::util::wait_for;

fn storm_reset(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(["safety", "storm-reset"])
        .args(args)
        .current_dir(dir)
        .env_remove("SUDO_USER")
        .env("USER", "tester")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn safety_storm_reset_closes_the_breaker_of_the_running_daemon() {
    let dir = setup("30m");
    let d = dir.path();
    let cfg = fs::read_to_string(d.join("loginwatch.toml")).unwrap();
    fs::write(
        d.join("loginwatch.toml"),
        format!("mode = \"enforce\"\n{cfg}"),
    )
    .unwrap();
    let daemon = Daemon::start(d);
    let url = daemon.url("");
    let config = d.join("loginwatch.toml").display().to_string();
    let with_token = ["--config", config.as_str(), "--url", url.as_str()];

    let o = storm_reset(d, &with_token);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("was not open"), "{}", text(&o));

    // 25 accounts locked within a minute trip the breaker.
    for i in 0..25u32 {
        append(
            &d.join("auth.log"),
            &failures(&format!("user{i:02}"), 5, 1000 + i * 10),
        );
    }
    wait_for("the storm to trip", Duration::from_secs(20), || {
        daemon.log().contains("Lockout storm breaker").then_some(())
    });

    // The embedded defaults name no token: the daemon refuses, nothing changes.
    let o = storm_reset(d, &["--url", url.as_str(), "--by", "oncall"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("refused the admin token"), "{}", text(&o));

    let token_file = d.join("token").display().to_string();
    let o = storm_reset(
        d,
        &[
            "--url",
            url.as_str(),
            "--token-file",
            token_file.as_str(),
            "--by",
            "oncall",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("lockout storm breaker closed (by oncall)"),
        "{}",
        text(&o)
    );
    wait_for(
        "the reset in the daemon's log",
        Duration::from_secs(20),
        || {
            daemon
                .log()
                .lines()
                .any(|l| l.contains("closed by an admin") && l.contains("oncall"))
                .then_some(())
        },
    );

    // Closed now; --by defaults to the login user.
    let o = storm_reset(d, &with_token);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("was not open"), "{}", text(&o));

    drop(daemon);
    let o = storm_reset(d, &with_token);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("daemon not reachable") && t.contains("nothing was reset"),
        "{t}"
    );
}
