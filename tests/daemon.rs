//! End-to-end tests of `loginwatch run`: the real binary in a temp dir on port 0.
//! Lines appended to a log become decisions visible in the API and metrics; admin
//! unlock, auto-unlock, restart, rule reload and `kill -9` recovery.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::sshgen::{Rng, generate};

pub(crate) const TOKEN: &str = "s3cret-admin-token";

/// A running daemon; killed when dropped.
pub(crate) struct Daemon {
    child: Child,
    addr: String,
    stderr: PathBuf,
    dir: PathBuf,
}

impl Daemon {
    pub(crate) fn start(dir: &Path) -> Daemon {
        Daemon::start_via(dir, Command::new(env!("CARGO_BIN_EXE_loginwatch")))
    }

    /// [`Daemon::start`] through `cmd`, which ends with the daemon binary
    /// (e.g. `unshare ... loginwatch`): `run` and its arguments are appended.
    pub(crate) fn start_via(dir: &Path, cmd: Command) -> Daemon {
        Daemon::start_with(dir, cmd, |_| {})
    }

    /// Starts the daemon with its umask set to `mask` (what a shell's `umask`
    /// gives it), to show the files it creates do not depend on it.
    pub(crate) fn start_under_umask(dir: &Path, mask: u32) -> Daemon {
        use std::os::unix::process::CommandExt as _;
        let cmd = Command::new(env!("CARGO_BIN_EXE_loginwatch"));
        Daemon::start_with(dir, cmd, move |c| {
            // SAFETY: umask(2) is async-signal-safe and touches nothing else.
            unsafe {
                c.pre_exec(move || {
                    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
                    Ok(())
                });
            }
        })
    }

    fn start_with(dir: &Path, mut cmd: Command, prepare: impl FnOnce(&mut Command)) -> Daemon {
        let addr_file = dir.join("addr");
        let _ = fs::remove_file(&addr_file);
        let stderr = dir.join(format!("stderr-{:016x}.log", rand_u64()));
        cmd.args(["run", "--config"])
            .arg(dir.join("loginwatch.toml"))
            .arg("--addr-file")
            .arg(&addr_file)
            .env("LOGINWATCH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr).unwrap());
        prepare(&mut cmd);
        let child = cmd.spawn().unwrap();
        let mut d = Daemon {
            child,
            addr: String::new(),
            stderr,
            dir: dir.to_path_buf(),
        };
        wait_for("the daemon to listen", Duration::from_secs(20), || {
            if let Ok(Some(status)) = d.child.try_wait() {
                panic!("daemon exited early ({status}): {}", d.log());
            }
            fs::read_to_string(&addr_file)
                .ok()
                .filter(|a| !a.is_empty())
        })
        .map(|a| d.addr = a)
        .unwrap();
        d
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The admin token: the configured `token` file of [`setup`], else the one
    /// the daemon generated beside its state file.
    pub(crate) fn token(&self) -> String {
        fs::read_to_string(self.dir.join("token"))
            .or_else(|_| fs::read_to_string(self.dir.join("admin.token")))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// GET with the admin token.
    pub(crate) fn get(&self, path: &str) -> Value {
        reqwest::blocking::Client::new()
            .get(self.url(path))
            .bearer_auth(self.token())
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    pub(crate) fn metrics(&self) -> String {
        reqwest::blocking::get(self.url("/metrics"))
            .unwrap()
            .text()
            .unwrap()
    }

    /// The value of one series (`name{labels}` exactly as rendered), 0 if absent.
    pub(crate) fn metric(&self, series: &str) -> f64 {
        self.metrics()
            .lines()
            .find_map(|l| {
                l.strip_prefix(series)
                    .and_then(|v| v.strip_prefix(' '))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0.0)
    }

    pub(crate) fn decisions(&self, active: bool) -> Vec<Value> {
        let v = self.get(if active {
            "/api/v1/decisions?active=true"
        } else {
            "/api/v1/decisions"
        });
        v["decisions"].as_array().cloned().unwrap_or_default()
    }

    pub(crate) fn log(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGTERM, and the exit status.
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "daemon did not stop within 10 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the daemon to exit by itself (panics after `limit`).
    pub(crate) fn wait_exit(mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "daemon did not exit: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub(crate) fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// Polls `f` until it returns `Some`, or panics after `limit`.
pub(crate) fn wait_for<T>(
    what: &str,
    limit: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A temp dir with a config, a rules directory (the shipped rules, with the lock
/// shortened to `lock` so auto-unlock can be watched), a token file and an empty log.
pub(crate) fn setup(lock: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    fs::create_dir(&rules).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let accounts = fs::read_to_string(repo.join("accounts.toml")).unwrap();
    let accounts = accounts
        .replacen("duration = \"30m\"", &format!("duration = \"{lock}\""), 1)
        .replacen(
            "escalation = { factor = 2, max = \"24h\", within = \"24h\" }",
            "",
            1,
        );
    fs::write(rules.join("accounts.toml"), accounts).unwrap();
    fs::copy(repo.join("network.toml"), rules.join("network.toml")).unwrap();
    loginwatch::private::write(&dir.path().join("token"), TOKEN.as_bytes()).unwrap();
    fs::write(dir.path().join("auth.log"), "").unwrap();
    fs::write(
        dir.path().join("loginwatch.toml"),
        "state_path = \"state.db\"\nrules_dir = \"rules\"\npoll_interval = \"1s\"\ncheckpoint_interval = \"1s\"\n\
         [http]\nlisten = \"127.0.0.1:0\"\nadmin_token_file = \"token\"\n\
         [[source]]\npath = \"auth.log\"\nformat = \"sshd\"\ntz = \"UTC\"\n",
    )
    .unwrap();
    dir
}

/// Waits, without a fixed sleep, until the daemon has finished the pass it is
/// in: appends a marker line to `log` (source `auth.log`) and waits for it to be
/// read, then a second one: once the second is counted, the pass that read the
/// first has ended, its commit included. A check that nothing (more) happened
/// means something after this. The markers are two unparsed lines.
pub(crate) fn settle(d: &Daemon, log: &Path) {
    let series = "loginwatch_lines_read_total{source=\"auth.log\"}";
    for _ in 0..2 {
        let before = d.metric(series);
        append(log, &["loginwatch test marker: not a log line".to_owned()]);
        wait_for(
            "the marker line to be read",
            Duration::from_secs(60),
            || (d.metric(series) == before + 1.0).then_some(()),
        );
    }
}

pub(crate) fn append(path: &Path, lines: &[String]) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

/// `n` failed passwords for `user`, stamped now (the daemon works in event time,
/// and auto-unlock compares lock ends with the wall clock).
pub(crate) fn failures(user: &str, n: usize, pid0: u32) -> Vec<String> {
    let now = chrono::Utc::now().to_rfc3339();
    (0..n)
        .map(|i| {
            format!(
                "{now} web1 sshd[{}]: Failed password for {user} from 203.0.113.9 port {} ssh2",
                pid0 + i as u32,
                40000 + i
            )
        })
        .collect()
}

fn active_for(d: &Daemon, user: &str) -> Option<Value> {
    d.decisions(true)
        .into_iter()
        .find(|x| x["target"]["user"] == user)
}

#[test]
fn lock_unlock_auto_unlock_and_restart() {
    let dir = setup("3s");
    let log = dir.path().join("auth.log");
    let d = Daemon::start(dir.path());
    assert_eq!(
        reqwest::blocking::get(d.url("/readyz")).unwrap().status(),
        200
    );

    append(&log, &failures("alice", 5, 100));
    let lock = wait_for("alice's lock", Duration::from_secs(20), || {
        active_for(&d, "alice")
    })
    .unwrap();
    assert_eq!(lock["rule"], "account-lockout");
    assert_eq!(lock["action"], "lock_account");
    // No success of alice on record: the lock's assessment is unclear.
    assert_eq!(d.metric("loginwatch_decisions_total{action=\"lock_account\",assessment=\"unclear\",mode=\"recommend\",rule=\"account-lockout\"}"), 1.0);
    assert_eq!(
        d.metric("loginwatch_active_locks{action=\"lock_account\"}"),
        1.0
    );
    assert_eq!(
        d.metric("loginwatch_lines_read_total{source=\"auth.log\"}"),
        5.0
    );
    let account = d.get("/api/v1/accounts/alice");
    assert_eq!(account["facts"]["consecutive_failures"], 5, "{account}");

    // Admin unlock needs the token, and records who and why.
    let id = lock["id"].as_str().unwrap().to_string();
    let client = reqwest::blocking::Client::new();
    let body = serde_json::json!({"by": "helpdesk", "reason": "user confirmed caps lock"});
    let r = client
        .post(d.url(&format!("/api/v1/decisions/{id}/unlock")))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .post(d.url(&format!("/api/v1/decisions/{id}/unlock")))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let shown = d.get(&format!("/api/v1/decisions/{id}"));
    assert_eq!(shown["decision"]["status"], "unlocked");
    assert_eq!(shown["decision"]["unlocked_by"], "helpdesk");
    assert!(
        shown["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["what"] == "unlocked")
    );
    assert_eq!(d.metric("loginwatch_unlocks_total{how=\"admin\"}"), 1.0);

    // Auto-unlock at the lock's end (3 s here).
    append(&log, &failures("bob", 5, 200));
    let lock = wait_for("bob's lock", Duration::from_secs(20), || {
        active_for(&d, "bob")
    })
    .unwrap();
    let id = lock["id"].as_str().unwrap().to_string();
    wait_for("bob's auto-unlock", Duration::from_secs(20), || {
        (d.get(&format!("/api/v1/decisions/{id}"))["decision"]["status"] == "expired").then_some(())
    });
    assert_eq!(d.metric("loginwatch_unlocks_total{how=\"auto\"}"), 1.0);
    assert_eq!(
        d.metric("loginwatch_active_locks{action=\"lock_account\"}"),
        0.0
    );

    promtool_check(&d.metrics());

    // SIGTERM: clean exit; a restart neither re-reads lines nor re-decides.
    let before = d.decisions(false).len();
    let status = d.terminate();
    assert!(status.success(), "exit status {status}");
    let d = Daemon::start(dir.path());
    settle(&d, &dir.path().join("auth.log"));
    assert_eq!(d.decisions(false).len(), before);
    // Only the two markers: nothing was read again.
    assert_eq!(
        d.metric("loginwatch_lines_read_total{source=\"auth.log\"}"),
        2.0
    );
    assert!(d.log().contains("Resumed"), "{}", d.log());

    // With the daemon stopped, the CLI reads (and unlocks in) the state file.
    assert!(d.terminate().success());
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_loginwatch"))
            .args(args)
            .arg("--config")
            .arg(dir.path().join("loginwatch.toml"))
            .output()
            .unwrap()
    };
    let out = cli(&["decisions", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(listed.lines().count(), before, "{listed}");
    assert!(listed.contains("\"unlocked_by\":\"helpdesk\""), "{listed}");
}

#[test]
fn broken_rules_are_rejected_and_the_old_rules_keep_firing() {
    let dir = setup("30m");
    let log = dir.path().join("auth.log");
    let d = Daemon::start(dir.path());
    let broken = dir.path().join("rules/zz-broken.toml");
    fs::write(
        &broken,
        "[[rule]]\nid = \"typo\"\nkind = \"treshold\"\ngroup_by = \"user\"\ncount = 3\nwindow = \"1m\"\ndecision = { action = \"alert\" }\n",
    )
    .unwrap();
    wait_for("the reload error", Duration::from_secs(20), || {
        (d.metric("loginwatch_rules_reloads_total{result=\"error\"}") >= 1.0).then_some(())
    });
    assert!(
        d.log().contains("zz-broken.toml:3"),
        "the error names file and line: {}",
        d.log()
    );
    append(&log, &failures("carol", 5, 300));
    wait_for(
        "carol's lock under the old rules",
        Duration::from_secs(20),
        || active_for(&d, "carol"),
    );

    // Fixed: the rule file is picked up.
    fs::write(&broken, "[[rule]]\nid = \"any-success\"\nkind = \"threshold\"\ngroup_by = \"user\"\ncount = 1\nwindow = \"1m\"\nmatch = { outcome = \"success\" }\ndecision = { action = \"alert\", severity = \"low\" }\n").unwrap();
    wait_for("the good reload", Duration::from_secs(20), || {
        (d.metric("loginwatch_rules_reloads_total{result=\"ok\"}") >= 1.0).then_some(())
    });
    let now = chrono::Utc::now().to_rfc3339();
    append(
        &log,
        &[format!(
            "{now} web1 sshd[400]: Accepted publickey for dave from 192.0.2.8 port 4000 ssh2"
        )],
    );
    wait_for("the new rule's alert", Duration::from_secs(20), || {
        d.decisions(true)
            .into_iter()
            .find(|x| x["rule"] == "any-success")
    });
}

/// The reference: `loginwatch replay` of the whole log with the same rules.
pub(crate) fn replay_ids(dir: &Path, log: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args([
            "replay", "--json", "--format", "sshd", "--tz", "UTC", "--rules",
        ])
        .arg(dir.join("rules"))
        .arg(log)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "decision")
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn kill_9_at_random_points_changes_no_decision() {
    let dir = setup("30m");
    let log = dir.path().join("auth.log");
    let lines = generate(7, 6000);
    // The reference run, on a copy holding the whole log.
    let full = dir.path().join("full.log");
    fs::write(
        &full,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let expected = replay_ids(dir.path(), &full);
    assert!(
        expected.len() >= 5,
        "the generated log fires rules: {}",
        expected.len()
    );

    // Append the log in bursts while killing the daemon at random moments.
    let mut rng = Rng(rand_u64());
    let mut d = Daemon::start(dir.path());
    let mut kills = 0;
    for (i, chunk) in lines.chunks(150).enumerate() {
        append(&log, chunk);
        std::thread::sleep(Duration::from_millis(rng.below(60)));
        // At random moments, and at least every tenth burst so every run kills a few times.
        if rng.below(8) == 0 || i % 10 == 5 {
            d.kill9();
            kills += 1;
            d = Daemon::start(dir.path());
        }
    }
    assert!(kills >= 2, "killed only {kills} times");
    let got = wait_for("all decisions", Duration::from_secs(30), || {
        let mut ids: Vec<String> = d
            .decisions(false)
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        (ids.len() >= expected.len()).then_some(ids)
    })
    .unwrap();
    settle(&d, &log);
    let mut again: Vec<String> = d
        .decisions(false)
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect();
    again.sort();
    assert_eq!(got, again, "no late extra decisions");
    assert_eq!(
        got, expected,
        "decisions after {kills} kill -9 differ from an uninterrupted run"
    );
}

/// `promtool check metrics` on the live daemon's output (SKIP without promtool),
/// and the families every dashboard relies on are there.
fn promtool_check(text: &str) {
    for name in [
        "loginwatch_decisions_total",
        "loginwatch_event_to_decision_seconds_bucket",
        "process_resident_memory_bytes",
        "loginwatch_build_info",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    crate::util::promtool_check_metrics("the daemon's metrics", text);
}

#[test]
fn a_missing_source_is_not_ready_until_it_appears_then_read_from_its_start() {
    let dir = setup("30m");
    let log = dir.path().join("auth.log");
    fs::remove_file(&log).unwrap();
    let d = Daemon::start(dir.path());
    let body = wait_for("not ready", Duration::from_secs(20), || {
        let r = reqwest::blocking::get(d.url("/readyz")).unwrap();
        (r.status() == 503).then(|| r.text().unwrap())
    })
    .unwrap();
    assert!(body.contains("no file matches"), "{body}");
    assert_eq!(d.metric("loginwatch_source_up{source=\"auth.log\"}"), 0.0);
    fs::write(&log, "").unwrap();
    append(&log, &failures("erin", 5, 500));
    wait_for(
        "erin's lock from the new file",
        Duration::from_secs(20),
        || active_for(&d, "erin"),
    );
    assert_eq!(
        reqwest::blocking::get(d.url("/readyz")).unwrap().status(),
        200
    );
    assert_eq!(d.metric("loginwatch_source_up{source=\"auth.log\"}"), 1.0);
    assert_eq!(
        d.log().matches("no file matches").count(),
        1,
        "reported once: {}",
        d.log()
    );
}

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
    )
    .unwrap();
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

/// A file alert sink named `siem` writing `alerts.jsonl` in the test's dir.
const FILE_SINK: &str =
    "[[alert.sink]]\nname = \"siem\"\ntype = \"file\"\npath = \"alerts.jsonl\"\n";

/// Appends `toml` to the test's `loginwatch.toml`.
pub(crate) fn add_config(dir: &Path, toml: &str) {
    let cfg = fs::read_to_string(dir.join("loginwatch.toml")).unwrap();
    fs::write(dir.join("loginwatch.toml"), format!("{cfg}{toml}")).unwrap();
}

/// Waits until the file sink holds at least `want` alerts; returns them all.
fn sink_alerts(dir: &Path, want: usize) -> Vec<Value> {
    wait_for("alerts in the sink file", Duration::from_secs(20), || {
        let text = fs::read_to_string(dir.join("alerts.jsonl")).unwrap_or_default();
        let lines: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (lines.len() >= want).then_some(lines)
    })
    .unwrap()
}

#[test]
fn decisions_and_their_unlocks_are_alerted_through_a_sink() {
    let dir = setup("2s");
    let d = dir.path();
    add_config(d, "[alert]\nlanguage = \"ja\"\ntz = \"Asia/Tokyo\"\n");
    add_config(d, FILE_SINK);
    let daemon = Daemon::start(d);
    append(&d.join("auth.log"), &failures("hana", 5, 700));
    let alerts = |want: usize| sink_alerts(d, want);
    let firing = alerts(1);
    let text = firing[0].to_string();
    assert!(
        text.contains("hana") && text.contains("account-lockout"),
        "{text}"
    );
    // The 2 s lock ends by itself: a resolved alert follows under the same key.
    let both = alerts(2);
    assert!(both[1].to_string().contains("resolved"), "{}", both[1]);
    // The counter moves just after the write the file shows: poll it.
    let delivered = || daemon.metric("loginwatch_alerts_total{result=\"delivered\",sink=\"siem\"}");
    wait_for("two deliveries counted", Duration::from_secs(10), || {
        (delivered() >= 2.0).then_some(())
    });
    assert_eq!(delivered(), 2.0);
}

/// An admin unlock made with the CLI while the daemon is stopped still sends its
/// "resolved" alert: written to the outbox with the unlock, delivered when the
/// daemon runs again.
#[test]
fn an_offline_cli_unlock_is_alerted_when_the_daemon_returns() {
    let dir = setup("30m");
    let d = dir.path();
    add_config(d, FILE_SINK);
    let alerts = |want: usize| sink_alerts(d, want);
    let daemon = Daemon::start(d);
    append(&d.join("auth.log"), &failures("kai", 5, 900));
    alerts(1);
    let id = active_for(&daemon, "kai").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(daemon.terminate().success());

    let out = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args([
            "decisions",
            "unlock",
            &id,
            "--by",
            "helpdesk",
            "--reason",
            "user called",
        ])
        .arg("--config")
        .arg(d.join("loginwatch.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing is sent while no daemon runs (the CLI has exited: nothing is
    // left that could send, so no wait)...
    let text = fs::read_to_string(d.join("alerts.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");

    // ...and the resolved alert goes out once it is back.
    let _daemon = Daemon::start(d);
    let both = alerts(2);
    let resolved = both[1].to_string();
    assert!(
        resolved.contains("resolved") && resolved.contains("helpdesk") && resolved.contains("kai"),
        "{resolved}"
    );
}

/// Enforce mode, with account locks and unlocks run by a script that appends
/// its arguments to the returned file.
fn enforce_with_script(d: &Path) -> PathBuf {
    let record = d.join("argv.log");
    let script = d.join("lock-user.sh");
    fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", record.display()),
    )
    .unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .unwrap();
    let cfg = fs::read_to_string(d.join("loginwatch.toml")).unwrap();
    fs::write(
        d.join("loginwatch.toml"),
        format!(
            "mode = \"enforce\"\n{cfg}[actions]\ntimeout = \"5s\"\n[[actions.lock_account]]\nexec = [\"{s}\", \"lock\", \"{{user}}\"]\nundo_exec = [\"{s}\", \"unlock\", \"{{user}}\"]\n",
            s = script.display()
        ),
    )
    .unwrap();
    record
}

#[test]
fn enforce_mode_runs_actions_refuses_unsafe_names_and_audits_both() {
    let dir = setup("2s");
    let d = dir.path();
    let record = enforce_with_script(d);
    let daemon = Daemon::start(d);
    append(&d.join("auth.log"), &failures("ivan", 5, 800));
    append(&d.join("auth.log"), &failures("-rf", 5, 900));
    // The lock runs, then (2 s later) its undo.
    wait_for("lock and unlock of ivan", Duration::from_secs(20), || {
        let text = fs::read_to_string(&record).unwrap_or_default();
        (text.contains("lock ivan") && text.contains("unlock ivan")).then_some(())
    });
    let text = fs::read_to_string(&record).unwrap();
    assert!(
        !text.contains("-rf"),
        "an unsafe user name reached the program: {text}"
    );
    let id = |user: &str| {
        daemon
            .decisions(false)
            .into_iter()
            .find(|x| x["target"]["user"] == user)
            .map(|x| x["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let audit = daemon.get(&format!("/api/v1/decisions/{}", id("ivan")))["audit"].to_string();
    assert!(audit.contains("action ok"), "{audit}");
    let audit = daemon.get(&format!("/api/v1/decisions/{}", id("-rf")))["audit"].to_string();
    assert!(audit.contains("action refused"), "{audit}");
}

/// With the daemon stopped, an admin's CLI unlock of an enforced lock still runs
/// the inverse action (nobody else would) and audits it.
#[test]
fn an_offline_cli_unlock_runs_the_inverse_action() {
    let dir = setup("30m");
    let d = dir.path();
    let record = enforce_with_script(d);
    let daemon = Daemon::start(d);
    append(&d.join("auth.log"), &failures("lena", 5, 950));
    wait_for("the lock of lena", Duration::from_secs(20), || {
        let text = fs::read_to_string(&record).unwrap_or_default();
        text.contains("lock lena").then_some(())
    });
    let id = active_for(&daemon, "lena").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(daemon.terminate().success());
    assert!(!fs::read_to_string(&record).unwrap().contains("unlock lena"));

    let out = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args([
            "decisions",
            "unlock",
            &id,
            "--by",
            "helpdesk",
            "--reason",
            "verified by phone",
        ])
        .arg("--config")
        .arg(d.join("loginwatch.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&record).unwrap();
    assert!(
        text.contains("unlock lena"),
        "{text}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let daemon = Daemon::start(d);
    let audit = daemon.get(&format!("/api/v1/decisions/{id}"))["audit"].to_string();
    assert!(
        audit.contains("unlock") && audit.contains("helpdesk"),
        "{audit}"
    );
    assert_eq!(
        audit.matches("action ok").count(),
        2,
        "lock and undo: {audit}"
    );
}

/// The first of the storm's users (`userNN`, locked in this order) whose lock
/// the breaker holds back: `user20`, the 21st account, more than the default
/// `storm_accounts = 20`.
const STORM_FIRST_HELD: u32 = 20;

#[test]
fn a_lockout_storm_trips_the_breaker_and_an_admin_closes_it() {
    let dir = setup("30m");
    let d = dir.path();
    let cfg = fs::read_to_string(d.join("loginwatch.toml")).unwrap();
    fs::write(
        d.join("loginwatch.toml"),
        format!("mode = \"enforce\"\n{cfg}"),
    )
    .unwrap();
    let daemon = Daemon::start(d);
    // 25 accounts locked within a minute: someone is using the lock policy as a weapon.
    for i in 0..25u32 {
        append(
            &d.join("auth.log"),
            &failures(&format!("user{i:02}"), 5, 1000 + i * 10),
        );
    }
    wait_for("the storm to trip", Duration::from_secs(20), || {
        daemon.log().contains("Lockout storm breaker").then_some(())
    });
    // Through the API: all 25 locks are decided, and exactly those past the
    // breaker (more than storm_accounts = 20) are held (`mode` "held"), not
    // enforced; the others say `enforce`.
    let locks = wait_for("25 lock decisions", Duration::from_secs(20), || {
        let locks: Vec<Value> = daemon
            .decisions(true)
            .into_iter()
            .filter(|d| d["action"] == "lock_account")
            .collect();
        (locks.len() == 25).then_some(locks)
    })
    .unwrap();
    let mut not_enforced: Vec<String> = Vec::new();
    for d in &locks {
        let user = d["target"]["user"].as_str().unwrap().to_owned();
        match d["mode"].as_str() {
            Some("held") => not_enforced.push(user),
            Some("enforce") => {}
            other => panic!("{user}: mode {other:?}"),
        }
    }
    not_enforced.sort();
    let past_breaker: Vec<String> = (STORM_FIRST_HELD..25)
        .map(|i| format!("user{i:02}"))
        .collect();
    assert_eq!(not_enforced, past_breaker);
    let client = reqwest::blocking::Client::new();
    let url = daemon.url("/api/v1/safety/storm/reset");
    assert_eq!(
        client
            .post(&url)
            .json(&serde_json::json!({"by": "oncall"}))
            .send()
            .unwrap()
            .status(),
        401
    );
    let r: Value = client
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"by": "oncall"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(r["was_open"], true, "{r}");
    let again: Value = client
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(again["was_open"], false);
}

/// `systemctl reload` or a logrotate `postrotate` can send SIGHUP while the
/// daemon is still starting: from its first log line on, a stream of SIGHUPs
/// must neither kill it nor keep it from coming up.
#[test]
fn sighup_while_the_daemon_starts_does_not_kill_it() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let dir = setup("30m");
    let d = dir.path();
    let addr_file = d.join("addr");
    let stderr = d.join("stderr-hup.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(["run", "--config"])
        .arg(d.join("loginwatch.toml"))
        .arg("--addr-file")
        .arg(&addr_file)
        .env("LOGINWATCH_LOG", "info")
        .stdout(Stdio::null())
        .stderr(fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    let log = || fs::read_to_string(&stderr).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(20);
    while log().is_empty() {
        assert!(Instant::now() < deadline, "no log line");
        assert!(child.try_wait().unwrap().is_none(), "exited: {}", log());
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut sent = 0;
    let mut up_since: Option<Instant> = None;
    while up_since.is_none_or(|t| t.elapsed() < Duration::from_millis(300)) {
        assert!(
            Instant::now() < deadline,
            "not up after {sent} SIGHUPs: {}",
            log()
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the daemon died ({status}) after {sent} SIGHUPs: {}", log());
        }
        if kill(pid, Signal::SIGHUP).is_ok() {
            sent += 1;
        }
        if up_since.is_none() && fs::metadata(&addr_file).is_ok_and(|m| m.len() > 0) {
            up_since = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let addr = fs::read_to_string(&addr_file).unwrap();
    let health = reqwest::blocking::get(format!("http://{addr}/healthz")).unwrap();
    assert_eq!(health.status(), 200);
    assert!(sent > 10, "{sent} SIGHUPs");
    let _ = child.kill();
    let _ = child.wait();
}
