//! Enforcement actions and the safety filter, end to end: real programs, a real
//! local HTTP receiver, and `nft` when it is installed and permitted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use loginwatch::action::{
    self, ActionKind, ActionSpec, ActionsConfig, ExecSpec, HttpSpec, NftSpec, Phase, Step, Template,
};
use loginwatch::decision::{Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock};
use loginwatch::enrich::inventory::{Inventory, InventoryOptions};
use loginwatch::safety::{Ctx, Safety, SafetyConfig, StormConfig, StormEvent, Verdict, Why};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn decision(action: DecisionAction, target: Target) -> Decision {
    Decision {
        kind: "decision",
        id: "00112233aabbccdd".into(),
        rule: Arc::from("account-lockout"),
        action,
        target,
        at: t0(),
        until: Some(t0() + chrono::TimeDelta::minutes(30)),
        unlock: Unlock::Auto,
        severity: Severity::High,
        mode: Mode::Enforce,
        exempt: false,
        assessment: loginwatch::decision::Assessment::Unclear,
        why: Default::default(),
        evidence: Evidence {
            count: 5,
            first: t0(),
            last: t0(),
            source_ips: vec![],
            users: vec![],
        },
    }
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

fn nft_config() -> ActionsConfig {
    ActionsConfig {
        actions: vec![ActionSpec {
            on: DecisionAction::BlockIp,
            kind: ActionKind::Nft(NftSpec {
                program: "nft".into(),
                family: "inet".into(),
                table: "loginwatch_test".into(),
                set: "block".into(),
            }),
            undo: None,
            timeout: Duration::from_secs(10),
        }],
    }
}

#[test]
fn nft_plans_add_with_timeout_and_delete_on_unlock() {
    let d = decision(
        DecisionAction::BlockIp,
        Target::ip("192.0.2.7".parse().unwrap()),
    );
    let now = t0() + chrono::TimeDelta::minutes(20);
    let add = action::plan(&d, &nft_config(), Phase::Apply, now);
    let del = action::plan(&d, &nft_config(), Phase::Undo, now);
    let argv = |p: &action::Plan| match &p.actions[0].step {
        Step::Exec { argv, via } => {
            assert_eq!(*via, "nft");
            argv.clone()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        argv(&add),
        [
            "nft",
            "add",
            "element",
            "inet",
            "loginwatch_test",
            "block",
            "{ 192.0.2.7 timeout 600s }"
        ]
    );
    assert_eq!(
        argv(&del),
        [
            "nft",
            "delete",
            "element",
            "inet",
            "loginwatch_test",
            "block",
            "{ 192.0.2.7 }"
        ]
    );
    // Run it for real, but never on the host's ruleset: the test runs again in a
    // child of this binary inside a network namespace of its own (`unshare -rn`:
    // a user namespace too, so it needs no root), whose ruleset starts empty and
    // dies with it.
    if std::env::var_os(IN_NETNS).is_some() {
        apply_and_undo_with_real_nft(&add.actions[0], &del.actions[0]);
        return;
    }
    let test = "nft_plans_add_with_timeout_and_delete_on_unlock";
    if !crate::util::runs("nft", &["--version"]) {
        crate::util::skip(
            "nft",
            test,
            "nft is not installed (apt-get install nftables)",
        );
        return;
    }
    if !crate::util::runs("unshare", &["-rn", "true"]) {
        // Root may always create a namespace; others need user namespaces,
        // which some hosts turn off: only then is this skip legitimate.
        let root = nix::unistd::Uid::effective().is_root();
        let tool = if root { "nft" } else { "nft-unprivileged" };
        crate::util::skip(
            tool,
            test,
            "cannot create a network namespace (unshare -rn)",
        );
        return;
    }
    crate::util::rerun_test_in_child(&["unshare", "-rn"], &format!("enforce::{test}"), IN_NETNS);
}

/// Set in the child that runs in its own network namespace.
const IN_NETNS: &str = "LOGINWATCH_TEST_IN_NETNS";

/// Creates the table and set, runs the planned add and delete through
/// `action::run`, and checks the set's contents after each.
fn apply_and_undo_with_real_nft(add: &action::PlannedAction, del: &action::PlannedAction) {
    let nft = |args: &[&str]| {
        let o = std::process::Command::new("nft")
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "nft {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    assert_eq!(nft(&["list", "tables"]), "", "not a fresh namespace");
    nft(&["add", "table", "inet", "loginwatch_test"]);
    let set = "{ type ipv4_addr; flags timeout; }";
    nft(&["add", "set", "inet", "loginwatch_test", "block", set]);
    let list = || nft(&["list", "set", "inet", "loginwatch_test", "block"]);
    let r = action::run(add);
    assert!(r.ok, "{r:?}");
    let listed = list();
    assert!(listed.contains("192.0.2.7 timeout 10m"), "{listed}");
    let r = action::run(del);
    assert!(r.ok, "{r:?}");
    let listed = list();
    assert!(!listed.contains("192.0.2.7"), "{listed}");
}

#[test]
fn http_action_reaches_a_local_receiver_with_encoded_values() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(s.try_clone().unwrap());
        let mut head = String::new();
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body).unwrap();
        s.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
            .unwrap();
        (head, String::from_utf8(body).unwrap())
    });
    let config = ActionsConfig {
        actions: vec![ActionSpec {
            on: DecisionAction::LockAccount,
            kind: ActionKind::Http(HttpSpec {
                method: "POST".into(),
                url: Template::parse(&format!("http://127.0.0.1:{port}/users/{{user}}/lock"))
                    .unwrap(),
                headers: vec![(
                    "Authorization".into(),
                    Template::parse("Bearer s3cret").unwrap(),
                )],
                body: Some(Template::parse(r#"{{"user":"{user}","until":"{until}"}}"#).unwrap()),
            }),
            undo: None,
            timeout: Duration::from_secs(30),
        }],
    };
    let plan = action::plan(&lock("山田\"x"), &config, Phase::Apply, t0());
    let shown = plan.actions[0].to_string();
    assert!(
        shown.contains("<redacted>") && !shown.contains("s3cret"),
        "{shown}"
    );
    let r = action::run(&plan.actions[0]);
    assert_eq!((r.ok, r.status), (true, Some(204)), "{r:?}");
    let (head, body) = server.join().unwrap();
    assert!(
        head.starts_with("POST /users/%E5%B1%B1%E7%94%B0%22x/lock HTTP/1.1"),
        "{head}"
    );
    assert!(head.contains("Bearer s3cret"), "{head}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["user"], "山田\"x");
    assert_eq!(v["until"], "2026-03-01T12:30:00Z");
}

fn inventory() -> Inventory {
    let csv = "user,email,admin,groups,exempt\n\
               root-admin,r@example.jp,yes,,no\n\
               boss,b@example.jp,yes,,no\n\
               glass,g@example.jp,no,,yes\n\
               mon,m@example.jp,no,monitoring,no\n\
               alice,a@example.jp,no,staff,no\n";
    Inventory::from_bytes(
        Path::new("a.csv"),
        csv.as_bytes(),
        &InventoryOptions::default(),
    )
    .unwrap()
}

fn ctx(inv: &Inventory, now: DateTime<Utc>, locked_admins: usize) -> Ctx<'_> {
    Ctx {
        now,
        inventory: Some(inv),
        locked_admins,
    }
}

#[test]
fn exemptions_hold_and_the_attempt_is_still_alerted() {
    let inv = inventory();
    let s = Safety::new(
        SafetyConfig {
            exempt_users: vec!["breakglass".into()],
            exempt_groups: vec!["monitoring".into()],
            exempt_cidrs: vec!["198.51.100.0/24".parse().unwrap()],
            ..SafetyConfig::default()
        },
        vec![],
    );
    let c = ctx(&inv, t0(), 0);
    let only = |v: Verdict| matches!(v, Verdict::AlertOnly { .. });
    assert!(only(s.check(&lock("breakglass"), &c)));
    assert!(only(s.check(&lock("glass"), &c))); // inventory flag
    assert!(only(s.check(&lock("mon"), &c))); // group
    let ip = decision(
        DecisionAction::BlockIp,
        Target::ip("198.51.100.9".parse().unwrap()),
    );
    assert_eq!(
        s.check(&ip, &c),
        Verdict::AlertOnly {
            why: Why::ExemptCidr("198.51.100.0/24".parse().unwrap())
        }
    );
    assert_eq!(s.check(&lock("alice"), &c), Verdict::Enforce);
}

#[test]
fn the_last_active_admin_is_never_locked() {
    let inv = inventory();
    let s = Safety::new(SafetyConfig::default(), vec![]);
    // Two active admins, none locked: one may be locked.
    assert_eq!(
        s.check(&lock("boss"), &ctx(&inv, t0(), 0)),
        Verdict::Enforce
    );
    // One already locked: the other is the last.
    let v = s.check(&lock("root-admin"), &ctx(&inv, t0(), 1));
    assert!(
        matches!(
            v,
            Verdict::AlertOnly {
                why: Why::LastAdmins { .. }
            }
        ),
        "{v:?}"
    );
}

#[test]
fn private_and_own_addresses_need_explicit_configuration() {
    let inv = inventory();
    let c = ctx(&inv, t0(), 0);
    let block = |ip: &str| decision(DecisionAction::BlockIp, Target::ip(ip.parse().unwrap()));
    let own = vec!["203.0.113.5".parse().unwrap()];
    let s = Safety::new(SafetyConfig::default(), own.clone());
    for ip in ["10.0.0.1", "127.0.0.1", "fe80::1", "203.0.113.5"] {
        assert!(
            matches!(s.check(&block(ip), &c), Verdict::AlertOnly { .. }),
            "{ip}"
        );
    }
    assert_eq!(s.check(&block("192.0.2.1"), &c), Verdict::Enforce);
    let allowed = Safety::new(
        SafetyConfig {
            allow_private: true,
            ..SafetyConfig::default()
        },
        own,
    );
    assert_eq!(allowed.check(&block("10.0.0.1"), &c), Verdict::Enforce);
    assert!(matches!(
        allowed.check(&block("203.0.113.5"), &c),
        Verdict::AlertOnly { .. }
    ));
}

#[test]
fn a_lockout_storm_trips_the_breaker_once_and_cools_down() {
    let inv = inventory();
    let config = SafetyConfig {
        storm: StormConfig {
            max_accounts: 3,
            window: Duration::from_secs(600),
            cooldown: Duration::from_secs(1800),
        },
        ..SafetyConfig::default()
    };
    let mut s = Safety::new(config, vec![]);
    let at = |m: i64| t0() + chrono::TimeDelta::minutes(m);
    let mut trips = 0;
    for (i, u) in ["u1", "u2", "u3", "u1"].iter().enumerate() {
        let mut d = lock(u);
        assert!(s.screen(&mut d, &ctx(&inv, at(i as i64), 0)).is_empty());
        assert_eq!(d.mode, Mode::Enforce, "{u}");
        assert_eq!(s.check(&d, &ctx(&inv, at(i as i64), 0)), Verdict::Enforce);
    }
    for (i, u) in ["u4", "u5", "u6"].iter().enumerate() {
        let mut d = lock(u);
        let events = s.screen(&mut d, &ctx(&inv, at(5 + i as i64), 0));
        assert_eq!(d.mode, Mode::Held, "{u}");
        assert_eq!(
            s.check(&d, &ctx(&inv, at(5 + i as i64), 0)),
            Verdict::DowngradeToRecommend { why: Why::Storm }
        );
        trips += events
            .iter()
            .filter(|e| matches!(e, StormEvent::Tripped { .. }))
            .count();
        if let Some(e) = events.first() {
            let d = e.decision();
            assert_eq!(d.severity, Severity::Critical);
            assert_eq!(d.evidence.users.len(), 4);
        }
    }
    assert_eq!(trips, 1, "one critical alert per storm");
    // IP blocks are not account locks: unaffected.
    let ip = decision(
        DecisionAction::BlockIp,
        Target::ip("192.0.2.1".parse().unwrap()),
    );
    assert_eq!(s.check(&ip, &ctx(&inv, at(8), 0)), Verdict::Enforce);
    // The state survives a snapshot round trip (a restart).
    let snap = serde_json::to_string(&s.snapshot()).unwrap();
    let mut s2 = Safety::new(SafetyConfig::default(), vec![]);
    s2.restore(serde_json::from_str(&snap).unwrap());
    assert!(s2.storm_tripped());
    // 30 minutes after the last would-be lock (minute 7), it resumes.
    assert_eq!(s.tick(at(36)), None);
    assert!(matches!(
        s.tick(at(37)),
        Some(StormEvent::Resumed {
            by_admin: false,
            ..
        })
    ));
    let mut d = lock("u7");
    s.screen(&mut d, &ctx(&inv, at(38), 0));
    assert_eq!(d.mode, Mode::Enforce);
    // An admin's reset resumes at once.
    assert!(matches!(
        s2.reset_storm(at(9)),
        Some(StormEvent::Resumed { by_admin: true, .. })
    ));
    assert!(!s2.storm_tripped());
}
