//! Lines as they arrive and where reading starts: a partial line waits for its
//! newline, overlong lines become markers, the budget bounds a poll and
//! checkpoints follow delivery, one source's backlog cannot starve another;
//! checkpoints of files rotated while down, stale or unmatched, and `from_end`.

use super::*;

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
