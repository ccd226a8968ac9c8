//! Each rotation kind: rename (the old file drained first, then released with
//! its dangling partial line), delete and recreate, and truncation in place,
//! logrotate's copytruncate read from the copy when lines were left unread
//! and a plain truncate that reports what it destroyed.

use super::*;

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
