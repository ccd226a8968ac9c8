//! Network syslog into the running daemon: util-linux `logger` sends failed
//! logins over UDP (RFC 5424) and TCP (octet-counted) to `listen` sources, and
//! the accounts are locked as from a file.

use std::process::Command;
use std::time::Duration;

use super::active_for;
use crate::util::daemon::{Daemon, add_config, setup};
use crate::util::{free_port, wait_for};

/// Sends `n` failed passwords for `user` with `logger` and `args`; false when
/// there is no `logger`.
fn send(port: u16, args: &[&str], user: &str, n: usize) -> bool {
    for i in 0..n {
        let status = Command::new("logger")
            .args(["--server", "127.0.0.1", "--port", &port.to_string()])
            .args(["--tag", "sshd", &format!("--id={}", 3000 + i)])
            .args(args)
            .arg(format!(
                "Failed password for {user} from 203.0.113.9 port {} ssh2",
                40000 + i
            ))
            .status();
        match status {
            Ok(s) => assert!(s.success(), "logger {args:?}"),
            Err(_) => return false,
        }
    }
    true
}

#[test]
fn failures_sent_over_udp_and_tcp_lock_accounts_like_lines_of_a_file() {
    let dir = setup("30m");
    let (udp, tcp) = (free_port(), free_port());
    add_config(
        dir.path(),
        &format!(
            "[[source]]\nlisten = \"udp://127.0.0.1:{udp}\"\nformat = \"sshd\"\n\
             [[source]]\nlisten = \"tcp://127.0.0.1:{tcp}\"\nname = \"relay\"\nformat = \"sshd\"\n"
        ),
    );
    let d = Daemon::start(dir.path());
    if !send(udp, &["--udp", "--rfc5424"], "nw-udp", 5) {
        crate::util::skip("logger", "daemon::network", "util-linux logger not found");
        return;
    }
    assert!(send(
        tcp,
        &["--tcp", "--rfc5424", "--octet-count"],
        "nw-tcp",
        5
    ));
    for user in ["nw-udp", "nw-tcp"] {
        let dec = wait_for(&format!("{user} locked"), Duration::from_secs(30), || {
            active_for(&d, user)
        });
        assert_eq!(dec["action"], "lock_account", "{dec}");
    }
    let lines = |s: &str| d.metric(&format!("loginwatch_lines_read_total{{source=\"{s}\"}}"));
    assert_eq!(lines(&format!("udp-{udp}")), 5.0);
    assert_eq!(lines("relay"), 5.0);
    // Listening sources are up, with no file.
    let ready = d.get("/readyz");
    assert_eq!(ready["ready"], true, "{ready}");
    assert!(d.terminate().success());
}
