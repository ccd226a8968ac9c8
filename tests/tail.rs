//! The tailer against a model: random sequences of appends (some leaving a
//! partial line), rename rotations, copytruncate, truncation, delete and
//! recreate, polls with small budgets and restarts from checkpoints.
//!
//! What is guaranteed, and asserted:
//! - always: every delivered line is a line that was completely written, with
//!   its exact text, at most once and in write order (a strictly increasing
//!   subsequence of what was written);
//! - when the tailer has polled (or, across a restart, the rotation was a rename) up to the end before each rotation, truncation
//!   or deletion ("drained"), every complete line is delivered exactly once, also
//!   across restarts from `checkpoints()`. Without that poll, lines written after
//!   the last poll into a file that is then truncated with no copy beside it
//!   (or replaced before the tailer ever opened it) are lost: nothing is left
//!   to read them from. A copytruncate's copy is read from the old offset.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use loginwatch::source::{SourceSpec, TailLine, Tailer};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Complete the pending partial line, write `n` lines, and maybe start a
    /// new partial line (cut at `cut` percent of it).
    Append {
        n: usize,
        cut: Option<u8>,
    },
    /// Rename to `.1` (replacing it); create the new file now or at next append.
    Rotate {
        create: bool,
    },
    CopyTruncate,
    Truncate,
    Delete {
        create: bool,
    },
    Poll {
        max: usize,
    },
    Restart,
    /// Write `before` lines, stop, rename-rotate and write `after` lines while
    /// no tailer runs, start from the checkpoints: the rotated file is found
    /// beside the old path by its identity and drained first.
    RestartAcrossRotation {
        before: usize,
        after: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..5usize, proptest::option::of(1..100u8)).prop_map(|(n, cut)| Op::Append { n, cut }),
        1 => any::<bool>().prop_map(|create| Op::Rotate { create }),
        1 => Just(Op::CopyTruncate),
        1 => Just(Op::Truncate),
        1 => any::<bool>().prop_map(|create| Op::Delete { create }),
        4 => (1..8usize).prop_map(|max| Op::Poll { max }),
        1 => Just(Op::Restart),
        1 => (0..3usize, 0..3usize)
            .prop_map(|(before, after)| Op::RestartAcrossRotation { before, after }),
    ]
}

/// Line `n`: a unique prefix (so a rewritten file never looks like the old one)
/// and a length that varies.
fn text(n: u64) -> String {
    format!("L{n:06} {}", "x".repeat((n * 7 % 40) as usize))
}

struct World {
    path: PathBuf,
    specs: Vec<SourceSpec>,
    tailer: Tailer,
    next: u64,
    /// Line being written, and how many of its bytes are in the file.
    partial: Option<(u64, usize)>,
    written: Vec<u64>,
    delivered: Vec<u64>,
}

impl World {
    fn write(&mut self, bytes: &[u8]) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .unwrap();
        f.write_all(bytes).unwrap();
    }

    fn complete_partial(&mut self) {
        if let Some((n, done)) = self.partial.take() {
            let rest = format!("{}\n", &text(n)[done..]);
            self.write(rest.as_bytes());
            self.written.push(n);
        }
    }

    fn poll(&mut self, max: usize) -> bool {
        let mut got = vec![];
        let r = self.tailer.poll(max, &mut |l: TailLine<'_>| {
            assert!(!l.too_long);
            got.push(String::from_utf8(l.line.to_vec()).unwrap());
        });
        assert!(r.lines <= max);
        assert_eq!(r.lines, got.len());
        for line in got {
            let n: u64 = line[1..7].parse().unwrap();
            assert_eq!(line, text(n), "delivered text");
            assert!(
                self.written.contains(&n),
                "line {n} delivered before it was complete"
            );
            if let Some(&last) = self.delivered.last() {
                assert!(n > last, "line {n} after {last}: duplicate or out of order");
            }
            self.delivered.push(n);
        }
        r.more
    }

    fn drain(&mut self) {
        while self.poll(5) {}
    }

    fn apply(&mut self, op: &Op, drain: bool) {
        let exists = self.path.exists();
        if !matches!(
            op,
            Op::Append { .. } | Op::Poll { .. } | Op::Restart | Op::RestartAcrossRotation { .. }
        ) {
            self.complete_partial();
            if drain {
                self.drain();
            }
        }
        let rotated = self.path.with_extension("log.1");
        match *op {
            Op::Append { n, cut } => {
                self.complete_partial();
                let mut buf = String::new();
                for _ in 0..n {
                    buf.push_str(&text(self.next));
                    buf.push('\n');
                    self.written.push(self.next);
                    self.next += 1;
                }
                if let Some(cut) = cut {
                    let t = text(self.next);
                    let done = t.len() * usize::from(cut) / 100;
                    buf.push_str(&t[..done]);
                    self.partial = Some((self.next, done));
                    self.next += 1;
                }
                self.write(buf.as_bytes());
            }
            Op::Rotate { create } if exists => {
                fs::rename(&self.path, rotated).unwrap();
                if create {
                    File::create(&self.path).unwrap();
                }
            }
            Op::CopyTruncate if exists => {
                // A fresh copy, as logrotate makes: copying over the old `.1` in
                // place would rewrite a file the tailer may still be draining.
                let _ = fs::remove_file(&rotated);
                fs::copy(&self.path, rotated).unwrap();
                OpenOptions::new()
                    .write(true)
                    .open(&self.path)
                    .unwrap()
                    .set_len(0)
                    .unwrap();
            }
            Op::Truncate if exists => {
                File::create(&self.path).unwrap();
            }
            Op::Delete { create } => {
                if exists {
                    fs::remove_file(&self.path).unwrap();
                }
                if create {
                    File::create(&self.path).unwrap();
                }
            }
            Op::Poll { max } => {
                self.poll(max);
            }
            Op::Restart => {
                let cps = self.tailer.checkpoints();
                self.tailer = Tailer::new(self.specs.clone(), cps, false);
                // The daemon polls as soon as it starts, which adopts (and holds
                // open) files rotated while it was down. Without that, a rotated
                // file that was empty at the checkpoint has nothing to vouch for
                // it: if it is deleted and its inode reused by a fresh
                // copytruncate copy before the first poll, the copy is taken for
                // it and read from 0. Only a stop can open that window.
                self.poll(0);
            }
            Op::RestartAcrossRotation { before, after } => {
                self.complete_partial();
                if drain {
                    self.drain();
                }
                // Lines the stopped run has not read yet, in a file it has seen
                // (a poll that only discovers); a file it never opened has no
                // checkpoint to recover.
                self.apply(
                    &Op::Append {
                        n: before,
                        cut: None,
                    },
                    drain,
                );
                self.poll(0);
                let cps = self.tailer.checkpoints();
                self.tailer = Tailer::new(vec![], vec![], false);
                if self.path.exists() {
                    fs::rename(&self.path, rotated).unwrap();
                }
                self.apply(
                    &Op::Append {
                        n: after,
                        cut: None,
                    },
                    drain,
                );
                self.tailer = Tailer::new(self.specs.clone(), cps, false);
            }
            Op::Rotate { .. } | Op::CopyTruncate | Op::Truncate => {}
        }
    }
}

fn run(ops: &[Op], drain: bool, glob: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.log");
    let pattern = if glob {
        dir.path().join("*.log")
    } else {
        path.clone()
    };
    let specs = vec![SourceSpec {
        name: "auth".into(),
        pattern: pattern.to_string_lossy().into_owned(),
    }];
    let mut w = World {
        tailer: Tailer::new(specs.clone(), vec![], false),
        specs,
        path,
        next: 0,
        partial: None,
        written: vec![],
        delivered: vec![],
    };
    for op in ops {
        w.apply(op, drain);
    }
    w.complete_partial();
    w.drain();
    // Rotated files are released after a quiet poll; nothing more may appear.
    w.poll(100);
    w.poll(100);
    w.drain();
    if drain {
        assert_eq!(w.delivered, w.written, "exactly once, in order");
    }
    // Released files are gone: only the live file is followed at the end.
    assert!(
        w.tailer.checkpoints().len() <= 1,
        "{:?}",
        w.tailer.checkpoints()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_complete_line_once_when_polled_before_rotations(
        ops in proptest::collection::vec(op(), 1..40),
        glob in any::<bool>(),
    ) {
        run(&ops, true, glob);
    }

    #[test]
    fn never_a_duplicate_or_reordering_without_polls_before_rotations(
        ops in proptest::collection::vec(op(), 1..40),
        glob in any::<bool>(),
    ) {
        run(&ops, false, glob);
    }
}

#[test]
fn restart_after_each_line_still_delivers_each_once() {
    // A deterministic companion: checkpoints after every single line.
    let ops: Vec<Op> = (0..30)
        .flat_map(|i| {
            let mut v = vec![
                Op::Append {
                    n: 2,
                    cut: Some(50),
                },
                Op::Poll { max: 1 },
                Op::Restart,
            ];
            if i % 7 == 3 {
                v.push(Op::Rotate { create: i % 2 == 0 });
            }
            if i % 11 == 5 {
                v.push(Op::CopyTruncate);
            }
            v
        })
        .collect();
    run(&ops, true, false);
}

#[test]
fn rotation_while_stopped_loses_nothing() {
    let ops = [
        Op::Append { n: 2, cut: None },
        Op::Poll { max: 1 },
        Op::Append {
            n: 2,
            cut: Some(30),
        },
        Op::RestartAcrossRotation {
            before: 2,
            after: 2,
        },
        Op::Append { n: 1, cut: None },
    ];
    run(&ops, true, false);
}
