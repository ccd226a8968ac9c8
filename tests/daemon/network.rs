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

#[test]
fn connections_over_the_limit_are_counted_as_dropped_input() {
    let dir = setup("30m");
    let tcp = free_port();
    add_config(
        dir.path(),
        &format!("[[source]]\nlisten = \"tcp://127.0.0.1:{tcp}\"\nname = \"relay\"\n"),
    );
    let d = Daemon::start(dir.path());
    let name = |reason: &str| {
        format!("loginwatch_source_dropped_total{{reason=\"{reason}\",source=\"relay\"}}")
    };
    let series = |reason: &str| d.metric(&name(reason));
    // Every reason is served at zero from the start.
    wait_for("dropped series", Duration::from_secs(10), || {
        let text = d.metrics();
        ["queue_full", "connection_refused", "receive_error"]
            .iter()
            .all(|r| text.contains(&format!("{} 0\n", name(r))))
            .then_some(())
    });
    // The daemon's limit (256) held open, then one more.
    let held: Vec<_> = (0..256)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", tcp)).unwrap())
        .collect();
    wait_for("256 connections accepted", Duration::from_secs(10), || {
        // Accepted connections are not visible from outside: retry the extra
        // one until the daemon counts it refused.
        let _extra = std::net::TcpStream::connect(("127.0.0.1", tcp)).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        (series("connection_refused") >= 1.0).then_some(())
    });
    assert_eq!(series("queue_full"), 0.0);
    assert_eq!(series("receive_error"), 0.0);
    drop(held);
    assert!(d.terminate().success());
}

/// rsyslog as the relay of the README: `imudp` receives from `logger`, and the
/// README's `omfwd` action (octet-counted TCP, disk-assisted queue) forwards
/// to the daemon. Run as a child with its own config and work directory: the
/// host's syslog is not touched. Lines sent while the daemon is down wait in
/// rsyslog's queue and arrive after it is back.
#[test]
fn rsyslog_forwards_over_tcp_and_queues_while_the_daemon_is_down() {
    let rsyslogd = std::path::Path::new("/usr/sbin/rsyslogd");
    if !rsyslogd.exists() {
        crate::util::skip(
            "rsyslogd",
            "daemon::network rsyslog",
            "rsyslog not installed",
        );
        return;
    }
    let dir = setup("30m");
    let (udp, tcp) = (free_port(), free_port());
    add_config(
        dir.path(),
        &format!("[[source]]\nlisten = \"tcp://127.0.0.1:{tcp}\"\nname = \"relay\"\n"),
    );
    let work = dir.path().join("rsyslog");
    std::fs::create_dir(&work).unwrap();
    let conf = work.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{udp}")
*.* action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp"
           TCP_Framing="octet-counted" queue.type="LinkedList"
           queue.filename="loginwatch" queue.saveOnShutdown="on"
           action.resumeRetryCount="-1" action.resumeInterval="1")
"#,
            work = work.display()
        ),
    )
    .unwrap();
    let mut relay = Command::new(rsyslogd)
        .args(["-n", "-f"])
        .arg(&conf)
        .arg("-i")
        .arg(work.join("rsyslogd.pid"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let relay = Kill(&mut relay);

    let d = Daemon::start(dir.path());
    wait_for("rsyslog relays", Duration::from_secs(30), || {
        // imudp may not be listening yet: send until a line arrives.
        assert!(send(udp, &["--udp", "--rfc3164"], "rs-probe", 1));
        std::thread::sleep(Duration::from_millis(200));
        (d.metric("loginwatch_lines_read_total{source=\"relay\"}") >= 1.0).then_some(())
    });
    assert!(send(udp, &["--udp", "--rfc3164"], "rs-live", 5));
    wait_for("rs-live locked", Duration::from_secs(30), || {
        active_for(&d, "rs-live")
    });
    assert!(d.terminate().success());

    // The daemon is down: rsyslog keeps these in its queue.
    assert!(send(udp, &["--udp", "--rfc3164"], "rs-queued", 5));
    std::thread::sleep(Duration::from_secs(2));
    let d = Daemon::start(dir.path());
    let dec = wait_for("rs-queued locked", Duration::from_secs(60), || {
        active_for(&d, "rs-queued")
    });
    assert_eq!(dec["action"], "lock_account", "{dec}");
    assert!(d.terminate().success());
    drop(relay);
}
