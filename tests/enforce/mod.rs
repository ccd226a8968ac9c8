//! Enforcement actions and the safety filter, end to end: real programs, a real
//! local HTTP receiver, and `nft` when it is installed and permitted.

mod http;
mod nft;
mod safety;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use loginwatch::action::{
    self, ActionKind, ActionSpec, ActionsConfig, ExecSpec, HttpSpec, NftSpec, Phase, Step, Template,
};
use loginwatch::decision::{Decision, DecisionAction, Mode, Severity, Target};
use loginwatch::enrich::inventory::{Inventory, InventoryOptions};
use loginwatch::safety::{Ctx, Safety, SafetyConfig, StormConfig, StormEvent, Verdict, Why};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn decision(action: DecisionAction, target: Target) -> Decision {
    crate::util::decision::decision()
        .id("00112233aabbccdd")
        .action(action)
        .target(target)
        .at(t0())
        .build()
}

fn lock(user: &str) -> Decision {
    decision(DecisionAction::LockAccount, Target::user(Arc::from(user)))
}

fn tpl(v: &[&str]) -> Vec<Template> {
    v.iter().map(|s| Template::parse(s).unwrap()).collect()
}

fn exec_config(argv: &[&str], timeout: Duration) -> ActionsConfig {
    ActionsConfig {
        actions: vec![ActionSpec {
            on: DecisionAction::LockAccount,
            kind: ActionKind::Exec(ExecSpec { argv: tpl(argv) }),
            undo: None,
            timeout,
        }],
    }
}

/// A script that appends each argument, one per line, to `log`.
fn recorder(dir: &Path) -> (String, std::path::PathBuf) {
    let log = dir.join("argv.log");
    let script = dir.join("record.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '{}'; done\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    (script.to_string_lossy().into_owned(), log)
}

#[test]
fn an_unsafe_user_name_never_reaches_a_program() {
    let dir = tempfile::tempdir().unwrap();
    let (script, log) = recorder(dir.path());
    let config = exec_config(
        &[&script, "{user}", "--until", "{until}"],
        Duration::from_secs(30),
    );
    for bad in ["-rf", "../x", "a\u{1b}b", "a\\b", "x\0y"] {
        let plan = action::plan(&lock(bad), &config, Phase::Apply, t0());
        assert!(plan.actions.is_empty(), "{bad:?} planned");
        assert_eq!(plan.refusals.len(), 1, "{bad:?}");
        let msg = plan.refusals[0].to_string();
        assert!(msg.contains("refused") && !msg.contains('\u{1b}'), "{msg}");
        for p in &plan.actions {
            action::run(p);
        }
    }
    assert!(!log.exists(), "the program was called");
    // The same program does run for an ordinary (full-width) name, argv intact.
    let plan = action::plan(&lock("山田 太郎"), &config, Phase::Apply, t0());
    assert!(plan.refusals.is_empty());
    let r = action::run(&plan.actions[0]);
    assert!(r.ok, "{r:?}");
    let got = std::fs::read_to_string(&log).unwrap();
    assert_eq!(got, "山田 太郎\n--until\n2026-03-01T12:30:00Z\n");
}

#[test]
fn a_timeout_kills_the_program_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // The shell writes its own pid and its child's, then waits on the child.
    let script = format!(
        "sleep 30 & echo $$ $! > '{0}.tmp'; mv '{0}.tmp' '{0}'; wait",
        pids.display()
    );
    let config = exec_config(&["/bin/sh", "-c", &script], Duration::from_secs(1));
    let plan = action::plan(&lock("alice"), &config, Phase::Apply, t0());
    let r = action::run(&plan.actions[0]);
    assert!(r.timed_out && !r.ok && r.exit.is_none(), "{r:?}");
    let written = std::fs::read_to_string(&pids).expect("the script started its child");
    let pids: Vec<i32> = written
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "{written}");
    for pid in pids {
        // SIGKILL is delivered at once, but an orphan's zombie waits for its
        // reaper; bounded wait, then it must be gone or a zombie (dead).
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(pid), "pid {pid} outlived the timeout");
    }
}

/// Whether `pid` runs: `kill(pid, 0)` succeeds and it is not a zombie.
fn alive(pid: i32) -> bool {
    use nix::errno::Errno;
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Err(Errno::ESRCH) => false,
        Err(e) => panic!("kill({pid}, 0): {e}"),
        Ok(()) => {
            // /proc/PID/stat: "pid (comm) S ...", the state after the last ')'.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
            !matches!(state.and_then(|s| s.chars().next()), Some('Z') | None)
        }
    }
}

#[test]
fn exit_status_and_display_are_recorded_unambiguously() {
    let config = exec_config(
        &["/bin/sh", "-c", "echo \"locking $0\" >&2; exit 7", "{user}"],
        Duration::from_secs(30),
    );
    let plan = action::plan(&lock("o'brien"), &config, Phase::Apply, t0());
    let p = &plan.actions[0];
    assert_eq!(
        p.to_string(),
        "lock_account apply: exec /bin/sh -c 'echo \"locking $0\" >&2; exit 7' 'o'\\''brien'"
    );
    let r = action::run(p);
    assert_eq!((r.ok, r.exit), (false, Some(7)));
    assert_eq!(r.stderr_tail, "locking o'brien\\n");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["exit"], 7);
}
