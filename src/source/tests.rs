//! Unit tests of the tailer: each rotation kind, partial and long lines,
//! checkpoints, `from_end`, globs, symlinks, problems.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::*;
use crate::parse::MAX_LINE;

fn spec(name: &str, pattern: &Path) -> SourceSpec {
    SourceSpec {
        name: name.to_string(),
        pattern: pattern.to_string_lossy().into_owned(),
    }
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Lines as `(source, text)`, or `<too long>`.
type Got = Vec<String>;

fn poll(t: &mut Tailer, max: usize) -> (Got, PollResult) {
    let mut got = vec![];
    let r = t.poll(max, &mut |l: TailLine<'_>| {
        got.push(if l.too_long {
            "<too long>".to_string()
        } else {
            String::from_utf8(l.line.to_vec()).unwrap()
        })
    });
    (got, r)
}

/// Polls until nothing more is waiting.
fn drain(t: &mut Tailer) -> Got {
    let mut all = vec![];
    loop {
        let (got, r) = poll(t, 3);
        all.extend(got);
        if !r.more {
            return all;
        }
    }
}

fn strs(v: &[&str]) -> Got {
    v.iter().map(|s| s.to_string()).collect()
}

fn released(r: &PollResult) -> usize {
    r.events
        .iter()
        .filter(|e| matches!(e, TailEvent::Released { .. }))
        .count()
}

#[test]
fn partial_line_waits_for_its_newline_and_crlf_is_stripped() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    append(&p, "one\r\ntw");
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    assert_eq!(drain(&mut t), strs(&["one"]));
    assert_eq!(t.checkpoints()[0].offset, 5);
    assert_eq!(t.status()[0].lag_bytes, 2);
    append(&p, "o\nthree\n");
    assert_eq!(drain(&mut t), strs(&["two", "three"]));
    assert_eq!(drain(&mut t), Got::new());
}

#[test]
fn rename_rotation_drains_the_old_file_first_then_releases_it() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    append(&p, "a1\n");
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    assert_eq!(drain(&mut t), strs(&["a1"]));
    // The writer still holds the old file after the rename (until its HUP).
    let mut old = OpenOptions::new().append(true).open(&p).unwrap();
    fs::rename(&p, d.path().join("auth.log.1")).unwrap();
    old.write_all(b"a2\n").unwrap();
    append(&p, "b1\n");
    let (got, r) = poll(&mut t, 100);
    assert_eq!(got, strs(&["a2", "b1"]));
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, TailEvent::Rotated { .. }))
    );
    assert_eq!(t.status()[0].files.len(), 2);
    // Still written to: not released.
    old.write_all(b"a3\n").unwrap();
    let (got, r) = poll(&mut t, 100);
    assert_eq!((got, released(&r)), (strs(&["a3"]), 0));
    // Quiet for a whole poll: released.
    let (got, r) = poll(&mut t, 100);
    assert_eq!((got, released(&r)), (strs(&[]), 1));
    assert_eq!(t.checkpoints().len(), 1);
    append(&p, "b2\n");
    assert_eq!(drain(&mut t), strs(&["b2"]));
}

#[test]
fn copytruncate_and_truncation_restart_at_zero() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    append(&p, "line 1\nline 2\n");
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    assert_eq!(drain(&mut t), strs(&["line 1", "line 2"]));
    fs::copy(&p, d.path().join("auth.log.1")).unwrap();
    File::create(&p).unwrap(); // truncates
    append(&p, "line 3\n");
    let (got, r) = poll(&mut t, 100);
    assert_eq!(got, strs(&["line 3"]));
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, TailEvent::Truncated { offset_was: 14, .. }))
    );
    // Truncated and regrown beyond the old offset between two polls: the head
    // tells, not the size.
    File::create(&p).unwrap();
    append(&p, "line 4 is longer\nline 5\n");
    assert_eq!(drain(&mut t), strs(&["line 4 is longer", "line 5"]));
}

/// The `Truncated` events of a poll, as `(offset_was, copy name, lost_bytes)`.
fn truncations(r: &PollResult) -> Vec<(u64, Option<String>, Option<u64>)> {
    r.events
        .iter()
        .filter_map(|e| match e {
            TailEvent::Truncated {
                offset_was,
                copy,
                lost_bytes,
                ..
            } => Some((
                *offset_was,
                copy.as_ref()
                    .map(|c| c.file_name().unwrap().to_string_lossy().into_owned()),
                *lost_bytes,
            )),
            _ => None,
        })
        .collect()
}

/// logrotate's copytruncate: copy, then truncate in place.
fn copytruncate(p: &Path, copy: &Path) {
    fs::copy(p, copy).unwrap();
    OpenOptions::new()
        .write(true)
        .open(p)
        .unwrap()
        .set_len(0)
        .unwrap();
}

#[test]
fn copytruncate_after_a_burst_reads_the_rest_from_the_copy_first() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    append(&p, "a1\na2\n");
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    assert_eq!(drain(&mut t), strs(&["a1", "a2"]));
    append(&p, "a3\na4\n");
    copytruncate(&p, &d.path().join("auth.log-20261205"));
    append(&p, "b1\n");
    let (got, r) = poll(&mut t, 100);
    assert_eq!(got, strs(&["a3", "a4", "b1"]));
    assert_eq!(
        truncations(&r),
        vec![(6, Some("auth.log-20261205".into()), Some(0))]
    );
    // The copy is let go once drained and quiet for a poll; only the log stays.
    let (_, r) = poll(&mut t, 100);
    assert_eq!(released(&r), 1);
    assert_eq!(t.checkpoints().len(), 1);
    append(&p, "b2\n");
    assert_eq!(drain(&mut t), strs(&["b2"]));
}

#[test]
fn a_copy_overwritten_in_place_after_it_was_drained_is_found_again() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    let c = d.path().join("auth.log.1");
    append(&p, "a1\n");
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    assert_eq!(drain(&mut t), strs(&["a1"]));
    append(&p, "a2\n");
    copytruncate(&p, &c);
    append(&p, "b1\n");
    assert_eq!(drain(&mut t), strs(&["a2", "b1"]));
    let ino = fs::metadata(&c).unwrap().ino();
    // `cp` over the drained copy before it was let go: same inode, new bytes.
    append(&p, "b2\n");
    copytruncate(&p, &c);
    assert_eq!(fs::metadata(&c).unwrap().ino(), ino);
    append(&p, "c1\n");
    assert_eq!(drain(&mut t), strs(&["b2", "c1"]));
}

#[test]
fn a_burst_written_and_copytruncated_between_two_polls_is_read_from_the_copy() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    File::create(&p).unwrap();
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    assert_eq!(drain(&mut t), Got::new());
    // Nothing was consumed, so there is no head to match: the file's time
    // tells it was written since (set explicitly: the clock of file times may
    // be coarser than this test).
    append(&p, "c1\nc2\n");
    copytruncate(&p, &d.path().join("auth.log.1"));
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(later)
        .unwrap();
    OpenOptions::new()
        .write(true)
        .open(d.path().join("auth.log.1"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    let (got, r) = poll(&mut t, 100);
    assert_eq!(got, strs(&["c1", "c2"]));
    assert_eq!(
        truncations(&r),
        vec![(0, Some("auth.log.1".into()), Some(0))]
    );
}

#[test]
fn a_plain_truncate_reports_the_unread_bytes_it_destroyed() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    append(&p, "x1\n");
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    assert_eq!(drain(&mut t), strs(&["x1"]));
    append(&p, "x2\nx3\n");
    // Seen (one line read under a budget of 1), then truncated with x3 unread.
    let (got, _) = poll(&mut t, 1);
    assert_eq!(got, strs(&["x2"]));
    File::create(&p).unwrap();
    append(&p, "y1\n");
    let (got, r) = poll(&mut t, 100);
    assert_eq!(got, strs(&["y1"]));
    assert_eq!(truncations(&r), vec![(6, None, Some(3))]);
}

#[test]
fn a_copytruncate_while_stopped_is_read_from_the_copy_at_restart() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    append(&p, "r1\n");
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    assert_eq!(drain(&mut t), strs(&["r1"]));
    let cps = t.checkpoints();
    drop(t);
    append(&p, "r2\nr3\n");
    copytruncate(&p, &d.path().join("auth.log.1"));
    append(&p, "s1\n");
    let mut t = Tailer::new(vec![spec("s", &p)], cps.clone(), false);
    let (got, r) = poll(&mut t, 100);
    assert_eq!(got, strs(&["r2", "r3", "s1"]));
    assert_eq!(
        truncations(&r),
        vec![(3, Some("auth.log.1".into()), Some(0))]
    );
    // Without the copy: reported, how much was lost cannot be known.
    fs::remove_file(d.path().join("auth.log.1")).unwrap();
    let mut t = Tailer::new(vec![spec("s", &p)], cps, false);
    let (got, r) = poll(&mut t, 100);
    assert_eq!(got, strs(&["s1"]));
    assert_eq!(truncations(&r), vec![(3, None, None)]);
}

#[test]
fn delete_and_recreate_and_a_file_that_appears_later() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("sub").join("auth.log");
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    assert_eq!(drain(&mut t), Got::new());
    assert!(t.status()[0].errors.is_empty(), "missing is not an error");
    assert_eq!(t.watch_dirs(), vec![d.path().to_path_buf()]);
    fs::create_dir(d.path().join("sub")).unwrap();
    append(&p, "x1\n");
    assert_eq!(drain(&mut t), strs(&["x1"]));
    assert!(t.watch_dirs().contains(&d.path().join("sub")));
    fs::remove_file(&p).unwrap();
    append(&p, "y1\n");
    assert_eq!(drain(&mut t), strs(&["y1"]));
    let (_, r) = poll(&mut t, 10);
    assert_eq!(released(&r), 1);
    assert_eq!(t.status()[0].files.len(), 1);
}

#[test]
fn dangling_partial_of_a_rotated_file_is_delivered_at_release() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    append(&p, "a\nunfinished");
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    assert_eq!(drain(&mut t), strs(&["a"]));
    fs::remove_file(&p).unwrap();
    assert_eq!(drain(&mut t), Got::new());
    let (got, r) = poll(&mut t, 10);
    assert_eq!((got, released(&r)), (strs(&["unfinished"]), 1));
}

#[test]
fn budget_limits_lines_and_checkpoints_follow_delivery() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    append(&p, "1\n2\n3\n");
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    let (got, r) = poll(&mut t, 2);
    assert_eq!((got, r.lines, r.more), (strs(&["1", "2"]), 2, true));
    assert_eq!(t.checkpoints()[0].offset, 4);
    // A restart from that checkpoint continues with line 3.
    let mut t2 = Tailer::new(vec![spec("s", &p)], t.checkpoints(), false);
    let (got, r) = poll(&mut t2, 10);
    assert!(matches!(
        r.events[0],
        TailEvent::Opened {
            offset: 4,
            start: Start::Resumed,
            ..
        }
    ));
    assert_eq!(got, strs(&["3"]));
}

#[test]
fn checkpoint_of_a_file_rotated_while_down_is_drained_first() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    append(&p, "a1\n");
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    assert_eq!(drain(&mut t), strs(&["a1"]));
    let cps = t.checkpoints();
    drop(t);
    append(&p, "a2\n");
    fs::rename(&p, d.path().join("auth.log.1")).unwrap();
    append(&p, "b1\n");
    let mut t = Tailer::new(vec![spec("s", &p)], cps, false);
    assert_eq!(drain(&mut t), strs(&["a2", "b1"]));
    let (_, r) = poll(&mut t, 10);
    assert_eq!(released(&r), 1);
}

#[test]
fn stale_checkpoint_starts_over_and_unmatched_ones_are_reported() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    append(&p, "old line\n");
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    drain(&mut t);
    let mut cps = t.checkpoints();
    drop(t);
    // Rewritten in place while down (same inode, other head).
    File::create(&p).unwrap();
    append(&p, "new line, longer\n");
    cps.push(Checkpoint {
        source: "s".into(),
        path: d.path().join("gone.log"),
        fingerprint: Fingerprint {
            dev: 1,
            inode: 1,
            head_hash: 0,
            head_len: 0,
        },
        offset: 10,
    });
    let mut t = Tailer::new(vec![spec("s", &p)], cps, false);
    let (got, r) = poll(&mut t, 10);
    assert_eq!(got, strs(&["new line, longer"]));
    let unmatched: Vec<_> = r
        .events
        .iter()
        .filter_map(|e| match e {
            TailEvent::CheckpointUnmatched { checkpoint } => Some(checkpoint.path.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(unmatched, vec![d.path().join("gone.log")]);
    assert_eq!(t.checkpoints().len(), 1);
}

#[test]
fn from_end_skips_existing_lines_on_first_start_only() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    let q = d.path().join("other.log");
    append(&p, "old 1\nold 2\npart");
    append(&q, "q old\n");
    let mut t0 = Tailer::new(vec![spec("q", &q)], vec![], false);
    drain(&mut t0);
    append(&q, "q new\n");
    let pattern = d.path().join("*.log");
    let mut t = Tailer::new(vec![spec("q", &pattern)], t0.checkpoints(), true);
    // The checkpointed file resumes; the other starts after its last newline.
    assert_eq!(drain(&mut t), strs(&["q new"]));
    append(&p, "ial\n");
    assert_eq!(drain(&mut t), strs(&["partial"]));
    // A file appearing later starts at 0 despite from_end.
    append(&d.path().join("later.log"), "l1\n");
    assert_eq!(drain(&mut t), strs(&["l1"]));
}

#[test]
fn glob_finds_new_files_and_a_rename_within_the_glob_is_not_reread() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("app");
    fs::create_dir(&dir).unwrap();
    append(&dir.join("a.log"), "a1\n");
    append(&dir.join("b.txt"), "not matched\n");
    fs::create_dir(dir.join("c.log")).unwrap(); // a directory: skipped
    let mut t = Tailer::new(vec![spec("g", &dir.join("*.log"))], vec![], false);
    assert_eq!(drain(&mut t), strs(&["a1"]));
    assert!(t.status()[0].errors.is_empty());
    append(&dir.join("b.log"), "b1\n");
    assert_eq!(drain(&mut t), strs(&["b1"]));
    fs::rename(dir.join("a.log"), dir.join("a-old.log")).unwrap();
    append(&dir.join("a-old.log"), "a2\n");
    assert_eq!(drain(&mut t), strs(&["a2"]));
    let st = &t.status()[0];
    assert_eq!(st.files.len(), 2);
    assert!(st.files.iter().all(|f| !f.rotated));
    assert!(st.files.iter().any(|f| f.path == dir.join("a-old.log")));
    assert_eq!(t.watch_dirs(), vec![dir]);
}

#[test]
fn symlinked_path_follows_its_target() {
    let d = tempfile::tempdir().unwrap();
    let real = d.path().join("real");
    fs::create_dir(&real).unwrap();
    let t1 = real.join("one.log");
    let t2 = real.join("two.log");
    append(&t1, "one\n");
    append(&t2, "two\n");
    let link = d.path().join("auth.log");
    std::os::unix::fs::symlink(&t1, &link).unwrap();
    let mut t = Tailer::new(vec![spec("s", &link)], vec![], false);
    assert_eq!(drain(&mut t), strs(&["one"]));
    assert_eq!(t.status()[0].files[0].path, link);
    let real_canon = fs::canonicalize(&real).unwrap();
    assert!(t.watch_dirs().contains(&real_canon));
    append(&t1, "one more\n");
    assert_eq!(drain(&mut t), strs(&["one more"]));
    // Repointed: the new target is a new file, read from its start.
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&t2, &link).unwrap();
    assert_eq!(drain(&mut t), strs(&["two"]));
}

#[test]
fn overlong_lines_are_markers_even_when_they_arrive_in_pieces() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.log");
    append(&p, "short\n");
    append(&p, &"x".repeat(MAX_LINE + 10));
    let mut t = Tailer::new(vec![spec("s", &p)], vec![], false);
    assert_eq!(drain(&mut t), strs(&["short"]));
    append(&p, &"y".repeat(MAX_LINE * 5));
    assert_eq!(drain(&mut t), Got::new());
    append(&p, "z\nafter\n");
    let mut offsets = vec![];
    t.poll(10, &mut |l: TailLine<'_>| {
        offsets.push((l.offset, l.too_long, l.line.len()))
    });
    let long_end = 6 + (MAX_LINE as u64 + 10) + (MAX_LINE as u64 * 5) + 2;
    assert_eq!(offsets, vec![(6, true, 0), (long_end, false, 5)]);
    // Exactly MAX_LINE is still a line.
    append(&p, &format!("{}\n", "m".repeat(MAX_LINE)));
    let mut lens = vec![];
    t.poll(10, &mut |l: TailLine<'_>| {
        lens.push((l.too_long, l.line.len()))
    });
    assert_eq!(lens, vec![(false, MAX_LINE)]);
}

#[test]
fn unreadable_file_is_reported_once_and_others_keep_reading() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let locked = d.path().join("locked.log");
    let open = d.path().join("open.log");
    append(&locked, "secret\n");
    append(&open, "o1\n");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    if File::open(&locked).is_ok() {
        use crate::test_support::{UNPRIVILEGED, rerun_as_nobody, skip};
        let test = "unreadable_file_is_reported_once_and_others_keep_reading";
        assert!(
            std::env::var_os(UNPRIVILEGED).is_none(),
            "still reads a mode-000 file as nobody"
        );
        if nix::unistd::Uid::effective().is_root() {
            rerun_as_nobody(&format!("source::tests::{test}"));
        } else {
            // Not root, yet a capability lets it read: nothing to drop to.
            skip(
                "privileges",
                test,
                "reads a mode-000 file without being root",
            );
        }
        return;
    }
    let mut t = Tailer::new(vec![spec("l", &locked), spec("o", &open)], vec![], false);
    let (got, r) = poll(&mut t, 10);
    assert_eq!(got, strs(&["o1"]));
    let problems: Vec<_> = r
        .events
        .iter()
        .filter(|e| matches!(e, TailEvent::Problem { .. }))
        .collect();
    assert_eq!(problems.len(), 1);
    let err = &t.status()[0].errors[0];
    assert_eq!(err.problem, Problem::PermissionDenied);
    assert!(err.hint.contains("read access"), "{}", err.hint);
    // Reported once, still in status, retried: fixed permissions are picked up.
    let (_, r) = poll(&mut t, 10);
    assert!(
        !r.events
            .iter()
            .any(|e| matches!(e, TailEvent::Problem { .. }))
    );
    assert_eq!(t.status()[0].errors.len(), 1);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(drain(&mut t), strs(&["secret"]));
    assert!(t.status()[0].errors.is_empty());
}

#[test]
fn hints_and_bad_patterns() {
    let e = SourceError::new(Path::new("/var/log/auth.log"), Problem::PermissionDenied);
    assert!(e.hint.contains("group `adm`"), "{}", e.hint);
    let d = tempfile::tempdir().unwrap();
    let mut t = Tailer::new(
        vec![
            SourceSpec {
                name: "bad".into(),
                pattern: "[".into(),
            },
            spec("dir", d.path()),
        ],
        vec![],
        false,
    );
    let (_, r) = poll(&mut t, 10);
    let st = t.status();
    assert!(matches!(
        st[0].errors[0].problem,
        Problem::InvalidPattern(_)
    ));
    assert_eq!(st[1].errors[0].problem, Problem::NotAFile);
    assert_eq!(r.events.len(), 2);
    let (_, r) = poll(&mut t, 10);
    assert!(r.events.is_empty());
}

#[test]
fn round_robin_keeps_a_backlog_from_starving_another_source() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a.log");
    let b = d.path().join("b.log");
    append(&a, &"a\n".repeat(10));
    append(&b, "b\n");
    let mut t = Tailer::new(vec![spec("a", &a), spec("b", &b)], vec![], false);
    let mut seen: Vec<PathBuf> = vec![];
    t.poll(3, &mut |l: TailLine<'_>| seen.push(l.path.to_path_buf()));
    t.poll(3, &mut |l: TailLine<'_>| seen.push(l.path.to_path_buf()));
    assert!(
        seen[3..].contains(&b),
        "second poll starts with the other source"
    );
}

#[test]
fn a_problem_is_reported_once_retried_and_cleared_when_fixed() {
    // Runs as any user (a permission test cannot as root): a directory where
    // the log should be, later replaced by the log.
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("auth.log");
    let good = d.path().join("other.log");
    fs::create_dir(&bad).unwrap();
    append(&good, "g1\n");
    let mut t = Tailer::new(vec![spec("a", &bad), spec("b", &good)], vec![], false);
    let (got, r) = poll(&mut t, 10);
    assert_eq!(got, strs(&["g1"]));
    assert_eq!(
        r.events
            .iter()
            .filter(|e| matches!(e, TailEvent::Problem { .. }))
            .count(),
        1
    );
    let (_, r) = poll(&mut t, 10);
    assert!(
        r.events
            .iter()
            .all(|e| !matches!(e, TailEvent::Problem { .. }))
    );
    assert_eq!(t.status()[0].errors[0].problem, Problem::NotAFile);
    fs::remove_dir(&bad).unwrap();
    append(&bad, "a1\n");
    assert_eq!(drain(&mut t), strs(&["a1"]));
    assert!(t.status()[0].errors.is_empty());
}

#[test]
fn io_errors_are_classified() {
    let e = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
    let se = SourceError::from_io(Path::new("/srv/app.log"), &e);
    assert_eq!(se.problem, Problem::PermissionDenied);
    assert!(
        se.hint.contains("read access to /srv/app.log"),
        "{}",
        se.hint
    );
    let se = SourceError::from_io(Path::new("/x"), &std::io::Error::other("boom"));
    assert_eq!(se.problem, Problem::Io("boom".into()));
    assert!(se.to_string().starts_with("/x: boom"));
}
