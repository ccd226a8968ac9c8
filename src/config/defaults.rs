//! The embedded defaults: what the daemon does with no configuration file, chosen
//! so that `loginwatch run` on a Debian host is useful as is.
//!
//! Each value also serves as the default of its key when a file leaves it out, so
//! a file only names what differs. `docs/config.md` and `examples/loginwatch.toml`
//! repeat these values; a test keeps the example and this file in step.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Config, HttpConfig, SourceConfig};
use crate::decision::Mode;
use crate::parse::Zone;

/// Debian's (and Ubuntu's) authentication log.
pub const SOURCE_PATH: &str = "/var/log/auth.log";
/// Detect each file's format from its first lines.
pub const FORMAT: &str = "auto";
/// syslog writes the host's local time.
pub const TZ: &str = "local";
/// The Prometheus exporter port range convention; loopback so that nothing is
/// exposed before an admin decides to.
pub const LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9464);
/// The tailer's backstop poll (notify is the wake-up).
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long a file of an export folder must stay unwritten before it is read
/// (`[[source]] settle`): a browser or a script writes a download in well
/// under that between two writes.
pub const SETTLE: Duration = Duration::from_secs(2);
/// How often checkpoints and rule state are committed together.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
/// The system state directory (systemd's `StateDirectory=loginwatch` creates it).
pub const SYSTEM_STATE_DIR: &str = "/var/lib/loginwatch";
/// The state file's name, in whichever directory is chosen.
pub const STATE_FILE: &str = "loginwatch.db";

/// The default state file: `/var/lib/loginwatch/loginwatch.db` when that
/// directory exists and is writable by this process (a packaged or systemd
/// install), else `./loginwatch.db` (a developer or a demo in a checkout).
///
/// Decided once, at load, by trying to create a file there: permission bits do
/// not tell the truth under ACLs, read-only mounts or `ProtectSystem=strict`.
pub fn state_path() -> PathBuf {
    let sys = Path::new(SYSTEM_STATE_DIR);
    if dir_writable(sys) {
        sys.join(STATE_FILE)
    } else {
        PathBuf::from(".").join(STATE_FILE)
    }
}

/// True when a file can be created in `dir` (the probe file is removed again).
fn dir_writable(dir: &Path) -> bool {
    if !dir.is_dir() {
        return false;
    }
    let probe = dir.join(format!(".loginwatch-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            // Best effort: a leftover probe file is harmless and named as ours.
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

/// The default metric/checkpoint name of a source: the last component of its path
/// or glob (`auth.log`, `*.log`). Never the full path: paths are not metric labels.
pub fn source_name(path: &str) -> String {
    path.rsplit('/')
        .find(|c| !c.is_empty())
        .unwrap_or(path)
        .to_owned()
}

/// The default name of a network source: its protocol and port (`udp-514`),
/// never an address (names become metric labels).
pub fn listen_name(l: &crate::source::net::Listen) -> String {
    match l {
        crate::source::net::Listen::Udp(a) => format!("udp-{}", a.port()),
        crate::source::net::Listen::Tcp(a) => format!("tcp-{}", a.port()),
    }
}

/// The default source: Debian's auth log, format detected, local time.
pub fn source() -> SourceConfig {
    SourceConfig {
        name: source_name(SOURCE_PATH),
        path: SOURCE_PATH.to_owned(),
        listen: None,
        format: FORMAT.to_owned(),
        zone: Zone::Local,
        once: None,
        settle: None,
        pull: None,
        journal: None,
        chosen: None,
    }
}

/// Where a host keeps its journal: persistent, then volatile.
pub const JOURNAL_DIRS: &[&str] = &["/var/log/journal", "/run/log/journal"];

/// The default source for a host whose log locations are `auth_log` and
/// `journal_dirs`: the auth log when it exists (rsyslog writes it), else the
/// system journal when one of the directories holds a journal (Debian 12 and
/// later without rsyslog), else the auth log still (waited for, with the
/// hint to install rsyslog). The paths are arguments so the choice is tested
/// without the real host's `/var/log`.
pub fn choose_source(auth_log: &Path, journal_dirs: &[&Path]) -> SourceConfig {
    let shown = auth_log.display();
    let file = SourceConfig {
        name: source_name(&auth_log.to_string_lossy()),
        path: auth_log.to_string_lossy().into_owned(),
        ..source()
    };
    if auth_log.exists() {
        return SourceConfig {
            chosen: Some(format!("embedded default: {shown} exists")),
            ..file
        };
    }
    let journal = journal_dirs
        .iter()
        .find(|d| std::fs::read_dir(d).is_ok_and(|mut entries| entries.next().is_some()));
    match journal {
        Some(d) => SourceConfig {
            name: super::journal::NAME.to_owned(),
            path: String::new(),
            listen: None,
            format: "sshd".to_owned(),
            zone: Zone::Utc,
            once: None,
            settle: None,
            pull: None,
            journal: Some(crate::source::journal::JournalSpec::system()),
            chosen: Some(format!(
                "embedded default: {shown} does not exist and {} holds a journal",
                d.display()
            )),
        },
        None => SourceConfig {
            chosen: Some(format!(
                "embedded default: neither {shown} nor a journal exists; waiting for {shown}"
            )),
            ..file
        },
    }
}

/// [`choose_source`] on this host.
pub fn host_source() -> SourceConfig {
    let dirs: Vec<&Path> = JOURNAL_DIRS.iter().map(Path::new).collect();
    choose_source(Path::new(SOURCE_PATH), &dirs)
}

impl Config {
    /// The configuration used when no file is given (see the module docs);
    /// its source is the one [`host_source`] chooses on this host.
    pub fn default_embedded() -> Config {
        let mut c = Config::defaults_with_state(state_path());
        c.sources = vec![host_source()];
        c
    }

    /// The embedded defaults with a given state file: the pure part of
    /// [`Config::default_embedded`], for callers (and tests) that must not probe
    /// the file system.
    pub fn defaults_with_state(state_path: PathBuf) -> Config {
        Config {
            // Marked as the embedded default: `load` replaces it with the
            // host's choice ([`host_source`]) when a file names no source.
            sources: vec![SourceConfig {
                chosen: Some("embedded default".to_owned()),
                ..source()
            }],
            rules_dir: None,
            profile: None,
            state_path,
            http: HttpConfig {
                listen: LISTEN,
                admin_token: None,
                set: false,
            },
            mode: Mode::Recommend,
            year: None,
            poll_interval: POLL_INTERVAL,
            checkpoint_interval: CHECKPOINT_INTERVAL,
            geoip: Vec::new(),
            ip_lists: Vec::new(),
            inventory: None,
            actions: crate::action::ActionsConfig::default(),
            safety: crate::safety::SafetyConfig::default(),
            alert: Default::default(),
            ui: Default::default(),
            fleet: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_are_the_last_component() {
        assert_eq!(source_name("/var/log/auth.log"), "auth.log");
        assert_eq!(source_name("/var/log/app/*.log"), "*.log");
        assert_eq!(source_name("logs/dir/"), "dir");
        assert_eq!(source_name("auth.log"), "auth.log");
    }

    #[test]
    fn state_path_is_in_the_system_dir_only_when_writable() {
        let p = state_path();
        let sys_ok = dir_writable(Path::new(SYSTEM_STATE_DIR));
        let want = if sys_ok {
            Path::new(SYSTEM_STATE_DIR).join(STATE_FILE)
        } else {
            PathBuf::from("./loginwatch.db")
        };
        assert_eq!(p, want);
        let d = tempfile::tempdir().unwrap();
        assert!(dir_writable(d.path()));
        assert!(!dir_writable(&d.path().join("missing")));
        // The probe leaves nothing behind.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }

    #[test]
    fn embedded_defaults_are_the_documented_ones() {
        let c = Config::defaults_with_state(PathBuf::from("x.db"));
        assert_eq!(c.http.listen.to_string(), "127.0.0.1:9464");
        assert_eq!(c.mode, Mode::Recommend);
        assert_eq!(c.sources.len(), 1);
        assert_eq!(c.sources[0].path, "/var/log/auth.log");
        assert_eq!(c.sources[0].name, "auth.log");
        assert_eq!(c.sources[0].format, "auto");
        assert_eq!(c.poll_interval, Duration::from_secs(1));
    }

    #[test]
    fn the_default_source_is_the_auth_log_else_the_journal() {
        let d = tempfile::tempdir().unwrap();
        let auth = d.path().join("auth.log");
        let (persistent, volatile) = (d.path().join("journal"), d.path().join("run-journal"));
        let dirs = [persistent.as_path(), volatile.as_path()];
        // Neither: the auth log, waited for.
        let s = choose_source(&auth, &dirs);
        assert_eq!(s.path, auth.to_string_lossy());
        assert!(s.chosen.as_deref().unwrap().contains("nor a journal"));
        // An empty journal directory is no journal.
        std::fs::create_dir(&volatile).unwrap();
        assert!(choose_source(&auth, &dirs).journal.is_none());
        std::fs::create_dir(volatile.join("0123abcd")).unwrap();
        let s = choose_source(&auth, &dirs);
        assert_eq!(s.name, "journal");
        assert_eq!(
            s.journal,
            Some(crate::source::journal::JournalSpec::system())
        );
        assert!(
            s.chosen
                .as_deref()
                .unwrap()
                .contains("run-journal holds a journal")
        );
        // The auth log wins when it exists (rsyslog installed).
        std::fs::write(&auth, "").unwrap();
        let s = choose_source(&auth, &dirs);
        assert!(s.journal.is_none());
        assert_eq!(s.name, "auth.log");
        assert!(s.chosen.as_deref().unwrap().ends_with("exists"));
    }
}
