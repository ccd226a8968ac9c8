//! The daemon harness: `loginwatch run` (the real binary) in a temp dir on
//! port 0, with the helpers the end-to-end tests drive it with (log lines to
//! append, the admin API and metrics, waiting for a pass to end).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{http, wait_for};

pub const TOKEN: &str = "s3cret-admin-token";

/// A running daemon; killed when dropped.
pub struct Daemon {
    child: Child,
    addr: String,
    stderr: PathBuf,
    dir: PathBuf,
}

impl Daemon {
    pub fn start(dir: &Path) -> Daemon {
        Daemon::start_via(dir, Command::new(env!("CARGO_BIN_EXE_loginwatch")))
    }

    /// [`Daemon::start`] through `cmd`, which ends with the daemon binary
    /// (e.g. `unshare ... loginwatch`): `run` and its arguments are appended.
    pub fn start_via(dir: &Path, cmd: Command) -> Daemon {
        Daemon::start_with(dir, cmd, |_| {})
    }

    /// Starts the daemon with `vars` added to its environment.
    pub fn start_env(dir: &Path, vars: &[(&str, &std::ffi::OsStr)]) -> Daemon {
        let cmd = Command::new(env!("CARGO_BIN_EXE_loginwatch"));
        Daemon::start_with(dir, cmd, |c| {
            c.envs(vars.iter().copied());
        })
    }

    /// Starts the daemon with its umask set to `mask` (what a shell's `umask`
    /// gives it), to show the files it creates do not depend on it.
    pub fn start_under_umask(dir: &Path, mask: u32) -> Daemon {
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
        d.addr = wait_for("the daemon to listen", Duration::from_secs(20), || {
            if let Ok(Some(status)) = d.child.try_wait() {
                panic!("daemon exited early ({status}): {}", d.log());
            }
            fs::read_to_string(&addr_file)
                .ok()
                .filter(|a| !a.is_empty())
        });
        d
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The admin token: the configured `token` file of [`setup`], else the one
    /// the daemon generated beside its state file.
    pub fn token(&self) -> String {
        fs::read_to_string(self.dir.join("token"))
            .or_else(|_| fs::read_to_string(self.dir.join("admin.token")))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// GET with the admin token.
    pub fn get(&self, path: &str) -> Value {
        http::get(self.url(path))
            .bearer(&self.token())
            .send()
            .json()
    }

    pub fn metrics(&self) -> String {
        http::get(self.url("/metrics")).send().body
    }

    /// The value of one series (`name{labels}` exactly as rendered), 0 if absent.
    pub fn metric(&self, series: &str) -> f64 {
        self.metrics()
            .lines()
            .find_map(|l| {
                l.strip_prefix(series)
                    .and_then(|v| v.strip_prefix(' '))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0.0)
    }

    pub fn decisions(&self, active: bool) -> Vec<Value> {
        let v = self.get(if active {
            "/api/v1/decisions?active=true"
        } else {
            "/api/v1/decisions"
        });
        v["decisions"].as_array().cloned().unwrap_or_default()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGTERM, and the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
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
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the daemon to exit by itself (panics after `limit`).
    pub fn wait_exit(mut self, limit: Duration) -> std::process::ExitStatus {
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

    pub fn kill9(mut self) {
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

pub fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// A temp dir with a config, a rules directory (the shipped rules, with the lock
/// shortened to `lock` so auto-unlock can be watched), a token file and an empty log.
pub fn setup(lock: &str) -> tempfile::TempDir {
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
pub fn settle(d: &Daemon, log: &Path) {
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

pub fn append(path: &Path, lines: &[String]) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

/// `n` failed passwords for `user`, stamped now (the daemon works in event time,
/// and auto-unlock compares lock ends with the wall clock).
pub fn failures(user: &str, n: usize, pid0: u32) -> Vec<String> {
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

/// Appends `toml` to the test's `loginwatch.toml`.
pub fn add_config(dir: &Path, toml: &str) {
    let cfg = fs::read_to_string(dir.join("loginwatch.toml")).unwrap();
    fs::write(dir.join("loginwatch.toml"), format!("{cfg}{toml}")).unwrap();
}
