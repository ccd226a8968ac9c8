//! Fleet mode, first step: `loginwatch agent` (the real binary) publishing a
//! watched file's events to a real `nats-server -js` on loopback, read back
//! with async-nats. Exactly once across `kill -9`, NATS down at start and
//! restarted meanwhile, a cluster; `config check` on a bad `[fleet]`.

use std::collections::{BTreeSet, HashSet};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::daemon::{append, rand_u64};
use crate::util::nats::{Nats, Stored, read_stream};
use crate::util::{Proc, lw, wait_for, wait_until};

const STREAM: &str = "LOGINWATCH_EVENTS";

/// A running agent; killed (SIGKILL) when dropped.
pub(crate) struct Agent {
    proc: Proc,
    stderr: PathBuf,
}

impl Agent {
    pub(crate) fn start(dir: &Path) -> Agent {
        let stderr = dir.join(format!("agent-{:016x}.log", rand_u64()));
        let child = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
            .args(["agent", "--config"])
            .arg(dir.join("loginwatch.toml"))
            .env("LOGINWATCH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Agent {
            proc: Proc(child),
            stderr,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGTERM, and the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.proc.0.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        wait_for("the agent to exit", Duration::from_secs(20), || {
            self.proc.0.try_wait().unwrap()
        })
    }
}

/// A temp dir with an empty `auth.log` and a config whose `[fleet]` names `urls`.
fn setup(urls: &[String]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("auth.log"), "").unwrap();
    let urls: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
    std::fs::write(
        dir.path().join("loginwatch.toml"),
        format!(
            "state_path = \"state.db\"\npoll_interval = \"1s\"\n\
             [[source]]\npath = \"auth.log\"\nformat = \"sshd\"\ntz = \"UTC\"\n\
             [fleet]\nurl = [{}]\nhost = \"web1\"\n",
            urls.join(", ")
        ),
    )
    .unwrap();
    dir
}

/// Failed passwords numbered `from..to`, each for its own user (`u<i>`) from
/// its own port, so each event can be told apart.
pub(crate) fn lines(from: usize, to: usize) -> Vec<String> {
    (from..to)
        .map(|i| {
            format!(
                "2026-03-01T09:00:00Z web1 sshd[{}]: Failed password for u{i} from 203.0.113.9 port {} ssh2",
                1000 + i,
                10000 + i
            )
        })
        .collect()
}

/// Waits until the stream holds `n` messages, and returns them.
pub(crate) fn wait_stored(url: &str, n: usize, limit: Duration) -> Vec<Stored> {
    wait_for(&format!("{n} events in the stream"), limit, || {
        let s = read_stream(url, STREAM);
        (s.len() >= n).then_some(s)
    })
}

/// Every event exactly once: `n` messages, `n` distinct ids, users `u0..u<n>`.
pub(crate) fn assert_exactly_once(stored: &[Stored], n: usize) {
    let ids: HashSet<&str> = stored.iter().filter_map(|s| s.msg_id.as_deref()).collect();
    let users: BTreeSet<String> = stored
        .iter()
        .map(|s| s.body["event"]["user"].as_str().unwrap().to_owned())
        .collect();
    let want: BTreeSet<String> = (0..n).map(|i| format!("u{i}")).collect();
    assert_eq!(stored.len(), n, "messages");
    assert_eq!(ids.len(), n, "distinct message ids");
    assert_eq!(users, want, "each line's event");
}

/// The agent's saved offset of `auth.log`.
pub(crate) fn saved_offset(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("state.db.agent")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["checkpoints"][0]["offset"].as_u64()
}

#[test]
fn appended_lines_arrive_as_events_on_the_hosts_subject() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nats) = Nats::start("fleet::appended_lines_arrive", dir.path()) else {
        return;
    };
    let d = setup(&[nats.url()]);
    let log = d.path().join("auth.log");
    append(&log, &lines(0, 2));
    let agent = Agent::start(d.path());
    // A line that gives no event between events, and one at the end.
    append(&log, &["loginwatch test: not a log line".to_owned()]);
    let mut more = lines(2, 3);
    more.push(
        "2026-03-01T09:00:01Z web1 sshd[7]: Failed password for alice from 2001:db8::7 port 22 ssh2"
            .to_owned(),
    );
    more.push("loginwatch test: the last line gives no event".to_owned());
    append(&log, &more);
    let stored = wait_stored(&nats.url(), 4, Duration::from_secs(30));
    assert_eq!(stored.len(), 4);
    let alice = &stored[3];
    let part = loginwatch::fleet::subject::partition;
    let net: [u8; 8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0];
    assert_eq!(
        alice.subject,
        format!("loginwatch.events.web1.{}.{}", part(b"alice"), part(&net))
    );
    let ev = &alice.body["event"];
    assert_eq!(alice.body["v"], 1);
    assert_eq!(alice.body["agent"], "web1");
    assert_eq!(alice.body["source"], "auth.log");
    assert_eq!(ev["user"], "alice");
    assert_eq!(ev["source_ip"], "2001:db8::7");
    assert_eq!(ev["source_port"], 22);
    assert_eq!(ev["action"], "login");
    assert_eq!(ev["outcome"], "failure");
    assert_eq!(ev["reason"], "bad_password");
    assert_eq!(ev["timestamp"], "2026-03-01T09:00:01Z");
    assert_eq!(ev["host"], "web1");
    assert_eq!(ev["log_path"], log.display().to_string());
    assert_eq!(stored[0].body["event"]["user"], "u0");
    // The position covers the last line too, though it published nothing.
    let len = std::fs::metadata(&log).unwrap().len();
    wait_until(
        "the position past the last line",
        Duration::from_secs(10),
        || saved_offset(d.path()) == Some(len),
    );
    let mode = std::fs::metadata(d.path().join("state.db.agent"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(agent.terminate().success());
    assert_eq!(read_stream(&nats.url(), STREAM).len(), 4);
}

#[test]
fn kill_9_and_restart_neither_loses_nor_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nats) = Nats::start("fleet::kill_9", dir.path()) else {
        return;
    };
    let d = setup(&[nats.url()]);
    let log = d.path().join("auth.log");
    let per_round = 400;
    let rounds = 4;
    let mut agent = Agent::start(d.path());
    for r in 0..rounds {
        append(&log, &lines(r * per_round, (r + 1) * per_round));
        // Somewhere in the middle of reading, publishing or saving.
        std::thread::sleep(Duration::from_millis(40 + 70 * r as u64));
        drop(agent); // SIGKILL
        agent = Agent::start(d.path());
    }
    let n = rounds * per_round;
    let stored = wait_stored(&nats.url(), n, Duration::from_secs(60));
    // Settled: the position is past every line; nothing more arrives.
    let len = std::fs::metadata(&log).unwrap().len();
    wait_until("the last position", Duration::from_secs(20), || {
        saved_offset(d.path()) == Some(len)
    });
    assert_exactly_once(&stored, n);
    assert_exactly_once(&read_stream(&nats.url(), STREAM), n);
    // The ids are what makes a re-send harmless: with its positions gone,
    // an agent sends the whole file again, and the stream keeps one copy.
    assert!(agent.terminate().success());
    std::fs::remove_file(d.path().join("state.db.agent")).unwrap();
    let agent = Agent::start(d.path());
    wait_until("the file read again", Duration::from_secs(30), || {
        saved_offset(d.path()) == Some(len)
    });
    // The position is saved once the lines are in the spool; the drainer
    // sends them after that.
    wait_until(
        "the re-sent events dropped by the stream",
        Duration::from_secs(30),
        || agent.log().contains("dropped by their message ids"),
    );
    assert_exactly_once(&read_stream(&nats.url(), STREAM), n);
}

#[test]
fn a_rotation_across_a_restart_stays_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nats) = Nats::start("fleet::rotation", dir.path()) else {
        return;
    };
    let d = setup(&[nats.url()]);
    let log = d.path().join("auth.log");
    append(&log, &lines(0, 50));
    let agent = Agent::start(d.path());
    wait_stored(&nats.url(), 50, Duration::from_secs(30));
    // Saved once: a file the agent never saved a position in, renamed away
    // while it is down, is not followed to its new name (as with `run`).
    let len = std::fs::metadata(&log).unwrap().len();
    wait_until("the position saved", Duration::from_secs(10), || {
        saved_offset(d.path()) == Some(len)
    });
    drop(agent); // SIGKILL
    // Rotated while the agent is down, the old file written to its end:
    // the restart finishes the old file by its identity, then the new one.
    append(&log, &lines(50, 60));
    std::fs::rename(&log, d.path().join("auth.log.1")).unwrap();
    std::fs::write(&log, "").unwrap();
    append(&log, &lines(60, 70));
    let agent = Agent::start(d.path());
    let stored = wait_stored(&nats.url(), 70, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(500));
    assert_exactly_once(&stored, 70);
    assert_exactly_once(&read_stream(&nats.url(), STREAM), 70);
    assert!(agent.terminate().success());
}

#[test]
fn nats_down_at_start_and_restarted_meanwhile_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    if crate::util::nats::binary().is_none() {
        crate::util::skip(
            "nats-server",
            "fleet::nats_down",
            "nats-server is not installed",
        );
        return;
    }
    let port = crate::util::free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let d = setup(std::slice::from_ref(&url));
    let log = d.path().join("auth.log");
    let agent = Agent::start(d.path());
    append(&log, &lines(0, 20));
    wait_until(
        "the agent to say NATS is unreachable",
        Duration::from_secs(30),
        || agent.log().contains("NATS unreachable"),
    );
    // The lines are in the spool (synced): their position is saved before
    // any ack.
    let len = std::fs::metadata(&log).unwrap().len();
    wait_until("the position saved", Duration::from_secs(10), || {
        saved_offset(d.path()) == Some(len)
    });
    let mut nats = Nats::start_on("fleet::nats_down", dir.path(), port).unwrap();
    wait_stored(&url, 20, Duration::from_secs(60));
    // Down again, with lines written meanwhile; then back on the same store.
    nats.kill();
    append(&log, &lines(20, 30));
    std::thread::sleep(Duration::from_millis(500));
    nats.run();
    let stored = wait_stored(&url, 30, Duration::from_secs(60));
    assert_exactly_once(&stored, 30);
    assert!(
        agent.log().contains("NATS stores events again"),
        "{}",
        agent.log()
    );
}

#[test]
fn an_agent_publishes_to_a_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nodes) = Nats::cluster("fleet::cluster", dir.path()) else {
        return;
    };
    let urls: Vec<String> = nodes.iter().map(Nats::url).collect();
    let d = setup(&urls);
    append(&d.path().join("auth.log"), &lines(0, 10));
    let _agent = Agent::start(d.path());
    // The stream is one: read through another node than the first.
    let stored = wait_for("the events through node 3", Duration::from_secs(60), || {
        let s = read_stream(&urls[2], STREAM);
        (s.len() >= 10).then_some(s)
    });
    assert_exactly_once(&stored, 10);
    assert!(nodes[0].log().contains("JetStream"), "{}", nodes[0].log());
}

#[test]
fn config_check_reports_a_bad_fleet_table_at_its_lines() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("loginwatch.toml");
    let base = "[[source]]\npath = \"auth.log\"\n";
    std::fs::write(
        &cfg,
        format!(
            "{base}[fleet]\nurl = \"http://127.0.0.1:4222\"\nuser = \"agent\"\n\
             password_file = \"pw\"\nnkey_file = \"seed\"\n"
        ),
    )
    .unwrap();
    let out = lw().args(["config", "check"]).arg(&cfg).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let file = cfg.display().to_string();
    assert!(
        err.contains(&format!(
            "{file}:4: url \"http://127.0.0.1:4222\": scheme \"http\" is not nats or tls"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:7: user and nkey_file are both set")),
        "{err}"
    );

    std::fs::write(
        &cfg,
        format!("{base}[fleet]\nurl = \"nats://h\"\nurls = \"x\"\n"),
    )
    .unwrap();
    let out = lw().args(["config", "check"]).arg(&cfg).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains(&format!("{file}:5: [fleet]: unknown field `urls`")),
        "{err}"
    );

    // Valid: the check names the fleet, never the password.
    loginwatch::private::write(&d.path().join("pw"), b"hunter2\n").unwrap();
    std::fs::write(
        &cfg,
        format!("{base}[fleet]\nurl = \"nats://127.0.0.1:4222\"\nhost = \"web1\"\nuser = \"agent\"\npassword_file = \"pw\"\n"),
    )
    .unwrap();
    let out = lw().args(["config", "check"]).arg(&cfg).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("fleet: host web1"), "{text}");
    let json = lw()
        .args(["config", "check", "--json"])
        .arg(&cfg)
        .assert()
        .success();
    let json = String::from_utf8_lossy(&json.get_output().stdout).into_owned();
    assert!(!text.contains("hunter2") && !json.contains("hunter2"));
    assert!(json.contains("\"fleet\""), "{json}");
}

#[test]
fn the_agent_needs_a_fleet_table() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("loginwatch.toml");
    std::fs::write(&cfg, "[[source]]\npath = \"auth.log\"\n").unwrap();
    let out = lw().args(["agent", "--config"]).arg(&cfg).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("no [fleet] table"), "{err}");
}
