//! Issue 11, "closed by default", against the real daemon started from a
//! configuration that names no token: every `/api/v1/*` call needs the token
//! the daemon generated, the files it creates are 0600 under umask 022, a
//! browser's forged or rebound request is refused, bodies are bounded, failed
//! tokens are rate limited, and the audit trail names the credential used.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::daemon::{Daemon, append, failures, setup};
use crate::util::{http, wait_for};

/// [`setup`]'s directory with no admin token in the config and a file sink.
fn setup_open_config() -> tempfile::TempDir {
    let dir = setup("30m");
    let d = dir.path();
    fs::remove_file(d.join("token")).unwrap();
    let cfg = fs::read_to_string(d.join("loginwatch.toml")).unwrap();
    let cfg = cfg.replace("admin_token_file = \"token\"\n", "");
    fs::write(
        d.join("loginwatch.toml"),
        format!(
            "{cfg}[alert]\n[[alert.sink]]\nname = \"siem\"\ntype = \"file\"\npath = \"alerts.jsonl\"\n"
        ),
    )
    .unwrap();
    dir
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Locks `user` through the log and returns the decision id.
fn lock(d: &Daemon, dir: &Path, user: &str, pid0: u32) -> String {
    append(&dir.join("auth.log"), &failures(user, 5, pid0));
    let found = wait_for("the lock", Duration::from_secs(20), || {
        d.decisions(true)
            .into_iter()
            .find(|x| x["target"]["user"] == user)
    });
    found["id"].as_str().unwrap().to_owned()
}

#[test]
fn the_default_api_is_closed_and_the_daemons_files_are_private() {
    let dir = setup_open_config();
    let d = dir.path();
    let daemon = Daemon::start_under_umask(d, 0o022);
    let token = daemon.token();
    assert_eq!(token.len(), 64, "{token}");
    assert_eq!(mode(&d.join("admin.token")), 0o600);
    assert_eq!(mode(&d.join("addr")), 0o600);
    let decisions = daemon.url("/api/v1/decisions");
    assert_eq!(http::get(&decisions).send().status, 401);
    let r = http::get(&decisions).bearer(&token).send();
    assert_eq!(r.status, 200);
    for open in ["/metrics", "/healthz", "/readyz"] {
        assert_eq!(http::get(daemon.url(open)).send().status, 200, "{open}");
    }

    let id = lock(&daemon, d, "alice", 1000);
    wait_for("the alert line", Duration::from_secs(20), || {
        fs::read_to_string(d.join("alerts.jsonl"))
            .ok()
            .filter(|t| t.contains("alice"))
    });
    for f in ["state.db", "state.db-wal", "state.db-shm", "alerts.jsonl"] {
        assert_eq!(mode(&d.join(f)), 0o600, "{f}");
    }

    // Request shapes a web page could send are refused before the token.
    let unlock = daemon.url(&format!("/api/v1/decisions/{id}/unlock"));
    let body = json!({"by": "helpdesk", "reason": "called back"}).to_string();
    let post = || {
        http::post(&unlock)
            .bearer(&token)
            .header("content-type", "application/json")
    };
    let r = http::post(&unlock)
        .bearer(&token)
        .header("content-type", "text/plain")
        .body(body.clone())
        .send();
    assert_eq!(r.status, 415);
    let r = post()
        .header("host", "rebound.example:9464")
        .body(body.clone())
        .send();
    assert_eq!(r.status, 421);
    let r = post()
        .header("origin", "http://evil.example")
        .body(body.clone())
        .send();
    assert_eq!(r.status, 403);
    let huge = json!({"by": "x", "reason": "y".repeat(17 * 1024)}).to_string();
    let r = post().body(huge).send();
    assert_eq!(r.status, 413);
    let shown = daemon.get(&format!("/api/v1/decisions/{id}"));
    assert_eq!(shown["decision"]["status"], "active", "{shown}");

    // The storm reset is behind the same gate.
    let reset = daemon.url("/api/v1/safety/storm/reset");
    let r = http::post(&reset)
        .header("content-type", "text/plain")
        .body("{}")
        .send();
    assert_eq!(r.status, 415);
    assert_eq!(http::post(&reset).json(&json!({})).send().status, 401);

    // A same-origin JSON unlock with the token passes, audited with its credential.
    let r = post().header("origin", &daemon.url("")).body(body).send();
    assert_eq!(r.status, 200);
    let shown = daemon.get(&format!("/api/v1/decisions/{id}"));
    let trail = shown["audit"].as_array().unwrap();
    let last = trail.last().unwrap();
    assert_eq!(
        (&last["what"], &last["who"], &last["credential"]),
        (
            &json!("unlocked"),
            &json!("helpdesk"),
            &json!("token:admin.token")
        ),
        "{shown}"
    );
    assert_eq!(trail[0]["credential"], Value::Null, "loginwatch's own act");
    let db = rusqlite::Connection::open_with_flags(
        d.join("state.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let credential: String = db
        .query_row(
            "SELECT credential FROM audit WHERE decision_id = ?1 AND what = 'unlocked'",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(credential, "token:admin.token");
    assert!(daemon.terminate().success());
}

#[test]
fn repeated_bad_tokens_are_rate_limited() {
    let dir = setup_open_config();
    let daemon = Daemon::start(dir.path());
    let url = daemon.url("/api/v1/decisions");
    let limit = loginwatch::http::MAX_FAILURES;
    for i in 0..limit {
        let r = http::get(&url).bearer(&format!("guess{i}")).send();
        assert_eq!(r.status, 401, "guess {i}");
    }
    let r = http::get(&url).bearer("one more").send();
    assert_eq!(r.status, 429);
    assert!(r.headers.contains_key("retry-after"));
    // Held whatever the token: a limit that let the right one through would
    // not slow guessing. The open routes are not held.
    let r = http::get(&url).bearer(&daemon.token()).send();
    assert_eq!(r.status, 429);
    assert_eq!(http::get(daemon.url("/healthz")).send().status, 200);
}

fn lw(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(args)
        .current_dir(dir)
        .env_remove("SUDO_USER")
        .env("USER", "tester")
        .output()
        .unwrap()
}

/// Runs the daemon expecting it to refuse to start: its success and log
/// (killed, and a failure, if it is still running after 20 s).
fn run_briefly(dir: &Path, config: &str) -> (bool, String) {
    use wait_timeout::ChildExt as _;
    let log = dir.join("refused.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(["run", "--config", config])
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let status = child.wait_timeout(Duration::from_secs(20)).unwrap();
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let ok = status.is_none_or(|s| s.success());
    (ok, fs::read_to_string(&log).unwrap_or_default())
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_cli_uses_the_generated_token_or_a_private_token_file() {
    let dir = setup_open_config();
    let d = dir.path();
    let daemon = Daemon::start(d);
    let alice = lock(&daemon, d, "alice", 1000);
    let bob = lock(&daemon, d, "bob", 2000);
    let config = d.join("loginwatch.toml").display().to_string();
    let url = daemon.url("");
    let elsewhere = tempfile::tempdir().unwrap();
    let e = elsewhere.path();

    // With the daemon's config, as its user (root here), admin.token is read.
    let o = lw(d, &["decisions", "list", "--active", "--config", &config]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&alice) && text(&o).contains(&bob),
        "{}",
        text(&o)
    );
    let o = lw(d, &["why", "alice", "--json", "--config", &config]);
    assert!(o.status.success(), "{}", text(&o));
    // Without it nothing names the token, and the daemon refuses.
    let o = lw(e, &["decisions", "list", "--url", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("--token-file"), "{}", text(&o));

    // --token-file: private copies only.
    let copy = e.join("tok");
    fs::copy(d.join("admin.token"), &copy).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o644)).unwrap();
    let tok = copy.display().to_string();
    let o = lw(
        e,
        &["decisions", "list", "--url", &url, "--token-file", &tok],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("chmod 600 {tok}")),
        "{}",
        text(&o)
    );
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o600)).unwrap();
    let o = lw(
        e,
        &["decisions", "list", "--url", &url, "--token-file", &tok],
    );
    assert!(o.status.success(), "{}", text(&o));
    let unlock = [
        "decisions",
        "unlock",
        &alice,
        "--reason",
        "called",
        "--by",
        "carol",
    ];
    let o = lw(
        e,
        &[&unlock[..], &["--url", &url, "--token-file", &tok]].concat(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let shown = daemon.get(&format!("/api/v1/decisions/{alice}"));
    let last = shown["audit"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["credential"], "token:admin.token", "{shown}");
    assert_eq!(last["who"], "carol", "{shown}");

    // With the daemon stopped the CLI changes the state file itself, audited
    // with the uid that ran it.
    assert!(daemon.terminate().success());
    let unlock = [
        "decisions",
        "unlock",
        &bob,
        "--reason",
        "offline",
        "--config",
        &config,
    ];
    let o = lw(d, &unlock);
    assert!(o.status.success(), "{}", text(&o));
    let db = rusqlite::Connection::open(d.join("state.db")).unwrap();
    let credential: String = db
        .query_row(
            "SELECT credential FROM audit WHERE decision_id = ?1 AND what = 'unlocked'",
            [&bob],
            |r| r.get(0),
        )
        .unwrap();
    let uid = nix::unistd::getuid();
    assert_eq!(credential, format!("cli-offline:uid {uid}"));
    drop(db);

    // The daemon refuses a token file others can read, and warns about a
    // state file others can read, each with the chmod to run.
    let token = d.join("admin.token");
    fs::set_permissions(&token, fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, log) = run_briefly(d, &config);
    assert!(!ok, "{log}");
    let chmod = format!("chmod 600 {}", token.display());
    assert!(log.contains(&chmod), "{log}");
    fs::set_permissions(&token, fs::Permissions::from_mode(0o600)).unwrap();
    let db = d.join("state.db");
    fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
    let daemon = Daemon::start(d);
    let chmod = format!("chmod 600 {}", db.display());
    assert!(daemon.log().contains(&chmod), "{}", daemon.log());
}
