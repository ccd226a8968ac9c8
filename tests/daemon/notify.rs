//! The daemon and its service manager (`Type=notify`): a unix datagram socket
//! of the test stands where systemd's `NOTIFY_SOCKET` would be, and hears
//! READY=1 once the daemon serves, WATCHDOG=1 pings, RELOADING=1 then READY=1
//! around each rule reload (SIGHUP, or a change in the rules directory, also
//! when the new set is refused), and STOPPING=1 at SIGTERM.

use std::fs;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::util::daemon::{Daemon, setup};
use crate::util::http;

/// The service manager's end: every message the daemon sent, in order.
struct Manager {
    sock: UnixDatagram,
    heard: Vec<String>,
}

impl Manager {
    fn bind(path: &Path) -> Manager {
        let sock = UnixDatagram::bind(path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Manager {
            sock,
            heard: Vec::new(),
        }
    }

    /// Reads messages until one has every line of `lines`; returns it.
    fn wait_for(&mut self, lines: &[&str], limit: Duration, d: &Daemon) -> String {
        let deadline = Instant::now() + limit;
        let mut buf = vec![0u8; 4096];
        loop {
            assert!(
                Instant::now() < deadline,
                "no message with {lines:?} within {limit:?}; heard {:?}; log: {}",
                self.heard,
                d.log()
            );
            let Ok(n) = self.sock.recv(&mut buf) else {
                continue;
            };
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            self.heard.push(msg.clone());
            if lines.iter().all(|l| msg.lines().any(|m| m == *l)) {
                return msg;
            }
        }
    }
}

fn signal(d: &Daemon, s: Signal) {
    kill(Pid::from_raw(i32::try_from(d.pid()).unwrap()), s).unwrap();
}

#[test]
fn the_service_manager_hears_ready_watchdog_reloads_and_stopping() {
    let dir = setup("30m");
    let sock_path = dir.path().join("notify.sock");
    let mut manager = Manager::bind(&sock_path);
    let d = Daemon::start_env(
        dir.path(),
        &[
            ("NOTIFY_SOCKET", sock_path.as_os_str()),
            // A ping every half second.
            ("WATCHDOG_USEC", "1000000".as_ref()),
        ],
    );
    let ready = manager.wait_for(&["READY=1"], Duration::from_secs(20), &d);
    // READY=1 means serving: /readyz answers at once, and is ready (the
    // source's file exists).
    let readyz = http::get(d.url("/readyz")).send();
    assert_eq!(readyz.status, 200, "{}", readyz.body);
    assert!(
        manager.heard[0].contains("STATUS=Starting"),
        "{:?}",
        manager.heard
    );
    assert!(
        ready.contains(&format!(
            "STATUS=Watching 1 source with 6 rules in mode recommend; HTTP on {}",
            d.url("").trim_start_matches("http://")
        )),
        "{ready}"
    );

    // Pings, while the ingest thread loops (here: idle, nudged by the task).
    let pings_before = manager
        .heard
        .iter()
        .filter(|m| *m == "WATCHDOG=1\n")
        .count();
    for _ in 0..3 {
        manager.wait_for(&["WATCHDOG=1"], Duration::from_secs(5), &d);
    }
    assert!(d.log().contains("Watchdog pings to the service manager."));
    assert_eq!(
        pings_before, 0,
        "no ping before READY=1: {:?}",
        manager.heard
    );

    // SIGHUP: RELOADING=1 (with the monotonic time systemd 253 requires),
    // then READY=1 with the new set's rule count.
    signal(&d, Signal::SIGHUP);
    let reloading = manager.wait_for(&["RELOADING=1"], Duration::from_secs(10), &d);
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    let after = manager.wait_for(&["READY=1"], Duration::from_secs(10), &d);
    assert!(after.contains("with 6 rules"), "{after}");

    // A change in the rules directory reloads too; a refused set keeps the
    // old one, and the status says so.
    fs::write(dir.path().join("rules/broken.toml"), "[[rule]]\nid = 3\n").unwrap();
    manager.wait_for(&["RELOADING=1"], Duration::from_secs(10), &d);
    let kept = manager.wait_for(&["READY=1"], Duration::from_secs(10), &d);
    assert!(
        kept.contains("with 6 rules") && kept.contains("the last reload failed"),
        "{kept}"
    );

    // SIGTERM: STOPPING=1, then a clean exit.
    let status = d.terminate();
    assert!(status.success(), "{status}");
    let stopping = manager.heard.len();
    let mut buf = vec![0u8; 4096];
    let mut rest = Vec::new();
    while let Ok(n) = manager.sock.recv(&mut buf) {
        rest.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(
        rest.iter().any(|m| m.starts_with("STOPPING=1\n")),
        "after {stopping} messages: {rest:?}"
    );
}

/// A watchdog meant for another process (`WATCHDOG_PID`, as systemd sets it
/// for the main process only) is not this daemon's to feed; READY=1 still is.
#[test]
fn a_watchdog_for_another_pid_is_left_alone() {
    let dir = setup("30m");
    let sock_path = dir.path().join("notify.sock");
    let mut manager = Manager::bind(&sock_path);
    let d = Daemon::start_env(
        dir.path(),
        &[
            ("NOTIFY_SOCKET", sock_path.as_os_str()),
            ("WATCHDOG_USEC", "200000".as_ref()),
            ("WATCHDOG_PID", "1".as_ref()),
        ],
    );
    manager.wait_for(&["READY=1"], Duration::from_secs(20), &d);
    std::thread::sleep(Duration::from_millis(600));
    let mut buf = vec![0u8; 4096];
    while let Ok(n) = manager.sock.recv(&mut buf) {
        manager
            .heard
            .push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(
        !manager.heard.iter().any(|m| m.contains("WATCHDOG=1")),
        "{:?}",
        manager.heard
    );
    assert!(!d.log().contains("Watchdog pings"), "{}", d.log());
}
