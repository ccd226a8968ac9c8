//! The store shared: a read-only store, a reader and a second writer while the
//! daemon commits, and a decision list piped into a closed reader.

use super::*;

#[test]
fn read_only_store_reads_but_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let e = Store::open_read_only(&path).err().unwrap();
    assert!(matches!(e, StateError::Open { .. }), "{e}");
    let mut w = Store::open(&path).unwrap();
    let d = lock("alice", 1, Some(30));
    w.commit(&Batch {
        decisions: vec![d.clone()],
        at: t(2),
        ..Batch::default()
    })
    .unwrap();
    let mut r = Store::open_read_only(&path).unwrap();
    assert_eq!(r.decision(&d.id).unwrap().unwrap().decision, d);
    assert!(r.check_writable().is_err());
    assert!(r.unlock(&d.id, "root", "x", "token:test", t(3)).is_err());
    assert_eq!(
        w.decision(&d.id).unwrap().unwrap().status,
        LockStatus::Active
    );
}

#[test]
fn a_reader_and_a_second_writer_work_while_the_daemon_commits() {
    const BATCHES: u64 = 150;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut daemon = Store::open(&path).unwrap();
    // The daemon commits batches: one lock each, resume point = batch number.
    let writer = std::thread::spawn(move || {
        for i in 1..=BATCHES {
            let d = lock(&format!("user{i}"), i as i64, None);
            daemon
                .commit(&Batch {
                    checkpoints: vec![checkpoint(i)],
                    engine_snapshot: Some(i.to_string().into_bytes().into()),
                    decisions: vec![d],
                    at: t(i as i64),
                    ..Batch::default()
                })
                .unwrap();
        }
        daemon
    });
    // An admin CLI (its own connection) unlocks locks as they appear.
    let admin_path = path.clone();
    let admin = std::thread::spawn(move || {
        let mut cli = Store::open(&admin_path).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut unlocked = 0;
        while unlocked < BATCHES && Instant::now() < deadline {
            let active = cli
                .decisions(&DecisionFilter {
                    active_only: true,
                    ..DecisionFilter::default()
                })
                .unwrap();
            for rec in active {
                cli.unlock(&rec.decision.id, "admin", "cleared", "token:test", t(1000))
                    .unwrap();
                unlocked += 1;
            }
            std::thread::yield_now();
        }
        unlocked
    });
    // A read-only reader sees only whole commits: offset and snapshot agree.
    let reader = Store::open_read_only(&path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = 0;
    while seen < BATCHES && Instant::now() < deadline {
        let r = reader.load_resume().unwrap();
        if let Some(c) = r.checkpoints.first() {
            let snap = String::from_utf8(r.engine_snapshot.clone().unwrap()).unwrap();
            assert_eq!(snap, c.offset.to_string(), "torn resume point");
            assert!(c.offset >= seen, "went backwards");
            seen = c.offset;
        }
    }
    assert_eq!(seen, BATCHES);
    let daemon = writer.join().unwrap();
    assert_eq!(admin.join().unwrap(), BATCHES);
    let all = daemon.decisions(&DecisionFilter::default()).unwrap();
    assert_eq!(all.len() as u64, BATCHES);
    assert!(all.iter().all(|r| r.status == LockStatus::Unlocked));
    assert_eq!(count_rows(&path, "audit") as u64, 2 * BATCHES);
}

/// `decisions list | head`: the reader goes away after one line; the command
/// ends quietly with success, never a panic about a broken pipe.
#[test]
fn decisions_list_into_a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let decisions: Vec<Decision> = (0..3000)
        .map(|i| lock(&format!("user{i:04}"), i, Some(i + 30)))
        .collect();
    Store::open(&path)
        .unwrap()
        .commit(&Batch {
            decisions,
            at: t(1),
            ..Batch::default()
        })
        .unwrap();
    let config = dir.path().join("loginwatch.toml");
    // Nothing listens on port 1: the command reads the state file.
    std::fs::write(
        &config,
        format!(
            "state_path = {:?}\n[http]\nlisten = \"127.0.0.1:1\"\n",
            path.display().to_string()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(["decisions", "list", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("user"), "{first}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}
