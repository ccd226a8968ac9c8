//! Fleet mode, the agent's spool: `loginwatch agent` (the real binary) with
//! NATS down reads on into its spool on disk, says so on `/readyz` and in
//! its metrics, and sends everything exactly once when a real `nats-server
//! -js` comes up; two rotations while NATS is down lose nothing; a full
//! spool stops the reading (the file keeps its lines) and loses nothing; a
//! `kill -9` while spooling or draining stays exactly once; memory does not
//! grow with the spool.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::fleet::{assert_exactly_once, lines, saved_offset, wait_stored};
use crate::util::daemon::{append, rand_u64};
use crate::util::nats::{Nats, read_stream};
use crate::util::{Proc, free_port, http, wait_for, wait_until};

const STREAM: &str = "LOGINWATCH_EVENTS";

/// An agent with `[http]` on port 0; killed (SIGKILL) when dropped.
pub(crate) struct Agent {
    proc: Proc,
    stderr: PathBuf,
    addr: String,
}

impl Agent {
    pub(crate) fn start(dir: &Path) -> Agent {
        let stderr = dir.join(format!("agent-{:016x}.log", rand_u64()));
        let addr_file = dir.join("agent.addr");
        let _ = std::fs::remove_file(&addr_file);
        let child = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
            .args(["agent", "--config"])
            .arg(dir.join("loginwatch.toml"))
            .arg("--addr-file")
            .arg(&addr_file)
            .env("LOGINWATCH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut a = Agent {
            proc: Proc(child),
            stderr,
            addr: String::new(),
        };
        a.addr = wait_for("the agent to listen", Duration::from_secs(20), || {
            if let Ok(Some(s)) = a.proc.0.try_wait() {
                panic!("agent exited early ({s}): {}", a.log());
            }
            std::fs::read_to_string(&addr_file)
                .ok()
                .filter(|s| !s.is_empty())
        });
        a
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// `/readyz`: status and body.
    pub(crate) fn readyz(&self) -> (u16, String) {
        let r = http::get(format!("http://{}/readyz", self.addr)).send();
        (r.status, r.body)
    }

    /// One series of `/metrics` (`name` or `name{labels}` as rendered).
    pub(crate) fn metric(&self, series: &str) -> f64 {
        let text = http::get(format!("http://{}/metrics", self.addr))
            .send()
            .body;
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(f64::NAN)
    }

    /// The agent's resident memory, KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.proc.0.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

/// An agent's directory (an empty `auth.log`, `[http]` on port 0), its
/// `[fleet]` at `url` (a TOML string or list) with `extra` keys.
pub(crate) fn setup_toml(url: &str, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("auth.log"), "").unwrap();
    std::fs::write(
        dir.path().join("loginwatch.toml"),
        format!(
            "state_path = \"state.db\"\npoll_interval = \"1s\"\n\
             [http]\nlisten = \"127.0.0.1:0\"\n\
             [[source]]\npath = \"auth.log\"\nformat = \"sshd\"\ntz = \"UTC\"\n\
             [fleet]\nurl = {url}\nhost = \"web1\"\n{extra}"
        ),
    )
    .unwrap();
    dir
}

/// [`setup_toml`] with one server.
fn setup(url: &str, extra: &str) -> tempfile::TempDir {
    setup_toml(&format!("{url:?}"), extra)
}

/// A loopback URL no server answers yet, and its port (for a late start);
/// `None` when nats-server is missing.
fn later(test: &str) -> Option<(u16, String)> {
    if crate::util::nats::binary().is_none() {
        crate::util::skip("nats-server", test, "nats-server is not installed");
        return None;
    }
    let port = free_port();
    Some((port, format!("nats://127.0.0.1:{port}")))
}

/// The segment files of an agent's spool.
fn segments(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("state.db.agent.spool"))
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".seg"))
            })
            .count()
        })
        .unwrap_or(0)
}

fn wait_spooled(agent: &Agent, n: usize) {
    wait_until(
        &format!("{n} events in the spool"),
        Duration::from_secs(120),
        || agent.metric("loginwatch_fleet_spool_messages") == n as f64,
    );
}

#[test]
fn nats_down_the_agent_spools_then_sends_everything_exactly_once() {
    let test = "fleet_buffer::nats_down_the_agent_spools";
    let Some((port, url)) = later(test) else {
        return;
    };
    let d = setup(&url, "");
    let log = d.path().join("auth.log");
    let agent = Agent::start(d.path());
    append(&log, &lines(0, 5000));
    wait_spooled(&agent, 5000);
    // Read and saved: the positions are past every line.
    let len = std::fs::metadata(&log).unwrap().len();
    wait_until("the position saved", Duration::from_secs(10), || {
        saved_offset(d.path()) == Some(len)
    });
    let (status, body) = agent.readyz();
    assert_eq!(status, 503);
    assert_eq!(body, "not connected to NATS (reconnecting)\n");
    assert_eq!(agent.metric("loginwatch_fleet_connected"), 0.0);
    assert_eq!(agent.metric("loginwatch_fleet_spooled_total"), 5000.0);
    assert!(agent.metric("loginwatch_fleet_spool_bytes") > 5000.0 * 300.0);
    assert_eq!(
        agent.metric("loginwatch_lines_read_total{source=\"auth.log\"}"),
        5000.0
    );
    assert_eq!(agent.metric("loginwatch_fleet_published_total"), 0.0);
    assert!(segments(d.path()) > 0);
    // Counts, never a user or an address, on the open endpoints.
    let text = http::get(format!("http://{}/metrics", agent.addr))
        .send()
        .body;
    assert!(!text.contains("u4999") && !text.contains("203.0.113.9"));
    let mode = |p: PathBuf| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(d.path().join("state.db.agent.spool")), 0o700);
    // The drainer's first attempt times out (no ack within 5 s): counted.
    wait_until("a failed publish counted", Duration::from_secs(30), || {
        agent.metric("loginwatch_fleet_publish_errors_total") >= 1.0
    });
    assert!(agent.log().contains("NATS unreachable"), "{}", agent.log());

    let dir = tempfile::tempdir().unwrap();
    let _nats = Nats::start_on(test, dir.path(), port).unwrap();
    let stored = wait_stored(&url, 5000, Duration::from_secs(120));
    assert_exactly_once(&stored, 5000);
    wait_until("the spool emptied", Duration::from_secs(30), || {
        agent.metric("loginwatch_fleet_spool_messages") == 0.0
            && agent.metric("loginwatch_fleet_spool_bytes") == 0.0
    });
    assert_eq!(segments(d.path()), 0);
    wait_until("ready", Duration::from_secs(10), || agent.readyz().0 == 200);
    assert_eq!(agent.readyz().1, "ready\n");
    assert_eq!(agent.metric("loginwatch_fleet_published_total"), 5000.0);
    assert_eq!(agent.metric("loginwatch_fleet_connected"), 1.0);
    assert_exactly_once(&read_stream(&url, STREAM), 5000);
}

#[test]
fn two_rotations_while_nats_is_down_lose_nothing() {
    let test = "fleet_buffer::two_rotations_while_nats_is_down_lose_nothing";
    let Some((port, url)) = later(test) else {
        return;
    };
    let d = setup(&url, "");
    let log = d.path().join("auth.log");
    let (one, two) = (d.path().join("auth.log.1"), d.path().join("auth.log.2"));
    let agent = Agent::start(d.path());
    append(&log, &lines(0, 100));
    wait_spooled(&agent, 100);
    // logrotate: the file renamed away, a new one; twice, the oldest
    // deleted at the second: lines 0..100 exist only in the spool then.
    std::fs::rename(&log, &one).unwrap();
    std::fs::write(&log, "").unwrap();
    append(&log, &lines(100, 200));
    wait_spooled(&agent, 200);
    std::fs::rename(&one, &two).unwrap();
    std::fs::rename(&log, &one).unwrap();
    std::fs::write(&log, "").unwrap();
    append(&log, &lines(200, 300));
    std::fs::remove_file(&two).unwrap();
    wait_spooled(&agent, 300);

    let dir = tempfile::tempdir().unwrap();
    let _nats = Nats::start_on(test, dir.path(), port).unwrap();
    let stored = wait_stored(&url, 300, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    assert_exactly_once(&stored, 300);
    assert_exactly_once(&read_stream(&url, STREAM), 300);
}

#[test]
fn a_full_spool_pauses_reading_and_nothing_is_lost() {
    let test = "fleet_buffer::a_full_spool_pauses_reading_and_nothing_is_lost";
    let Some((port, url)) = later(test) else {
        return;
    };
    let d = setup(&url, "buffer_max_bytes = 1048576\n");
    let log = d.path().join("auth.log");
    let agent = Agent::start(d.path());
    append(&log, &lines(0, 5000));
    wait_until("the spool full", Duration::from_secs(60), || {
        agent.metric("loginwatch_fleet_spool_full") == 1.0
    });
    // Paused: the rest waits in the file, and stays there.
    std::thread::sleep(Duration::from_secs(2));
    let spooled = agent.metric("loginwatch_fleet_spool_messages");
    assert!((1000.0..5000.0).contains(&spooled), "{spooled}");
    let bytes = agent.metric("loginwatch_fleet_spool_bytes");
    // Over the bound by one batch (1,024 events) at most.
    assert!(
        (1048576.0..1048576.0 + 1024.0 * 600.0).contains(&bytes),
        "{bytes}"
    );
    let len = std::fs::metadata(&log).unwrap().len();
    assert!(saved_offset(d.path()).unwrap() < len);
    let (status, body) = agent.readyz();
    assert_eq!(status, 503);
    assert!(body.contains("spool full: "), "{body}");
    assert!(body.contains("of 1048576 bytes"), "{body}");
    assert!(agent.log().contains("Spool full: reading paused"));
    assert_eq!(agent.metric("loginwatch_fleet_spool_full_total"), 1.0);

    let dir = tempfile::tempdir().unwrap();
    let _nats = Nats::start_on(test, dir.path(), port).unwrap();
    let stored = wait_stored(&url, 5000, Duration::from_secs(120));
    assert_exactly_once(&stored, 5000);
    wait_until("ready", Duration::from_secs(30), || agent.readyz().0 == 200);
    assert_eq!(agent.metric("loginwatch_fleet_spool_full"), 0.0);
    assert!(agent.log().contains("reading resumes"));
    wait_until("the position at the end", Duration::from_secs(10), || {
        saved_offset(d.path()) == Some(len)
    });
}

#[test]
fn kill_9_while_spooling_and_draining_stays_exactly_once() {
    let test = "fleet_buffer::kill_9_while_spooling_and_draining_stays_exactly_once";
    let Some((port, url)) = later(test) else {
        return;
    };
    let d = setup(&url, "");
    let log = d.path().join("auth.log");
    let per_round = 500;
    let mut agent = Agent::start(d.path());
    for r in 0..4 {
        append(&log, &lines(r * per_round, (r + 1) * per_round));
        // Somewhere in the middle of reading, spooling or saving.
        std::thread::sleep(Duration::from_millis(30 + 80 * r as u64));
        drop(agent); // SIGKILL
        agent = Agent::start(d.path());
    }
    // Read whole (some batches may be in the spool twice: spooled, then
    // killed before the position was saved).
    let len = std::fs::metadata(&log).unwrap().len();
    wait_until("the position at the end", Duration::from_secs(60), || {
        saved_offset(d.path()) == Some(len)
    });
    let dir = tempfile::tempdir().unwrap();
    let _nats = Nats::start_on(test, dir.path(), port).unwrap();
    append(&log, &lines(2000, 3000));
    // Killed again while it drains.
    wait_until("draining", Duration::from_secs(60), || {
        agent.metric("loginwatch_fleet_published_total") > 0.0
    });
    drop(agent);
    let agent = Agent::start(d.path());
    let stored = wait_stored(&url, 3000, Duration::from_secs(120));
    wait_until("the spool emptied", Duration::from_secs(30), || {
        agent.metric("loginwatch_fleet_spool_messages") == 0.0
    });
    assert_exactly_once(&stored, 3000);
    assert_exactly_once(&read_stream(&url, STREAM), 3000);
}

#[test]
fn memory_does_not_grow_with_the_spool() {
    let test = "fleet_buffer::memory_does_not_grow_with_the_spool";
    let Some((_, url)) = later(test) else {
        return;
    };
    let d = setup(&url, "");
    let log = d.path().join("auth.log");
    let agent = Agent::start(d.path());
    append(&log, &lines(0, 20_000));
    wait_spooled(&agent, 20_000);
    let small = agent.rss_kib();
    let started = std::time::Instant::now();
    for k in 1..10 {
        append(&log, &lines(k * 20_000, (k + 1) * 20_000));
    }
    wait_spooled(&agent, 200_000);
    let secs = started.elapsed().as_secs_f64();
    let large = agent.rss_kib();
    let bytes = agent.metric("loginwatch_fleet_spool_bytes");
    eprintln!(
        "spool: 180000 events in {secs:.1} s ({:.0} events/s), {:.1} MiB on disk for 200000; RSS {small} KiB at 20000, {large} KiB at 200000",
        180_000.0 / secs,
        bytes / 1048576.0
    );
    assert!(bytes > 50.0 * 1048576.0, "{bytes}");
    // The spool grew by tens of MiB; the process by a few at most.
    assert!(large < small + 8 * 1024, "RSS {small} KiB -> {large} KiB");
}
