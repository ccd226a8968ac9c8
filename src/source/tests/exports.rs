//! A folder of exports (`Tailer::settle`): a file is handed out only once
//! complete (unwritten for the settle time, or renamed into place), then
//! whole, its last line included; read once, and not again after a restart.
//! Time is a manual clock: nothing here sleeps for the settle time.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::clock::{Clock, ManualClock};

const SETTLE: Duration = Duration::from_secs(2);

fn exports(dir: &Path, clock: &Arc<ManualClock>, checkpoints: Vec<Checkpoint>) -> Tailer {
    Tailer::new(vec![spec("lw", &dir.join("*.csv"))], checkpoints, false)
        .settle("lw", SETTLE)
        .clock(clock.clone() as Arc<dyn Clock>)
}

fn completed(r: &PollResult) -> Vec<PathBuf> {
    r.events
        .iter()
        .filter_map(|e| match e {
            TailEvent::Completed { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_file_written_in_two_parts_is_read_once_complete_with_its_last_line() {
    let d = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut t = exports(d.path(), &clock, vec![]);
    let f = d.path().join("week.csv");
    append(&f, "Date,User,Description\n2026-05-11 09:00:00,a,Login fa");
    assert_eq!(poll(&mut t, 100).0, Got::new());
    append(&f, "iled\n2026-05-11 09:01:00,a,Login failed");
    let (got, r) = poll(&mut t, 100);
    assert_eq!(got, Got::new());
    assert!(completed(&r).is_empty());
    // Unwritten for the settle time: all of it, the last row without its newline too.
    clock.advance(SETTLE);
    let (got, r) = poll(&mut t, 100);
    assert_eq!(
        got,
        strs(&[
            "Date,User,Description",
            "2026-05-11 09:00:00,a,Login failed",
            "2026-05-11 09:01:00,a,Login failed"
        ])
    );
    assert_eq!(completed(&r), vec![f.clone()]);
    // Nothing more, and reported whole once.
    clock.advance(SETTLE);
    let (got, r) = poll(&mut t, 100);
    assert!(got.is_empty() && completed(&r).is_empty());
    // A restart from the checkpoints reads nothing again.
    let cps = t.checkpoints();
    assert_eq!(cps[0].offset, fs::metadata(&f).unwrap().len());
    let mut t2 = exports(d.path(), &clock, cps);
    assert!(drain(&mut t2).is_empty());
}

#[test]
fn a_file_renamed_into_place_is_read_at_once() {
    let d = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut t = exports(d.path(), &clock, vec![]);
    let part = d.path().join("week.csv.part");
    append(
        &part,
        "Date,User,Description\n2026-05-11 09:00:00,a,Login failed\n",
    );
    // Its status changes after its content: the rename is seen as such even
    // on a file system with a coarse clock.
    std::thread::sleep(Duration::from_millis(30));
    fs::rename(&part, d.path().join("week.csv")).unwrap();
    let (got, r) = poll(&mut t, 100);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(completed(&r).len(), 1);
}

#[test]
fn a_budget_spent_before_the_last_line_finishes_on_the_next_poll() {
    let d = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut t = exports(d.path(), &clock, vec![]);
    append(&d.path().join("a.csv"), "h\nr1\nr2");
    clock.advance(SETTLE);
    let (got, r) = poll(&mut t, 2);
    assert_eq!(got, strs(&["h", "r1"]));
    assert!(r.more && completed(&r).is_empty());
    let (got, r) = poll(&mut t, 2);
    assert_eq!(got, strs(&["r2"]));
    assert_eq!(completed(&r).len(), 1);
}

#[test]
fn a_log_source_beside_it_is_followed_as_it_grows() {
    let d = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let log = d.path().join("auth.log");
    append(&log, "l1\npartial");
    let mut t = Tailer::new(
        vec![spec("lw", &d.path().join("*.csv")), spec("auth", &log)],
        vec![],
        false,
    )
    .settle("lw", SETTLE)
    .clock(clock.clone() as Arc<dyn Clock>);
    append(&d.path().join("a.csv"), "h\n");
    let (got, r) = poll(&mut t, 100);
    assert_eq!(got, strs(&["l1"]));
    assert!(completed(&r).is_empty());
}

#[test]
fn an_empty_file_is_not_an_export_read_whole() {
    let d = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut t = exports(d.path(), &clock, vec![]);
    append(&d.path().join("a.csv"), "");
    clock.advance(SETTLE);
    let (got, r) = poll(&mut t, 100);
    assert!(got.is_empty() && completed(&r).is_empty());
}
