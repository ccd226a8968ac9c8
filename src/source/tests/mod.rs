//! Unit tests of the tailer, by topic: partial and long lines, checkpoints
//! and `from_end` ([`lines`]); each rotation kind ([`rotation`]); globs,
//! symlinks and problems ([`discovery`]); folders of exports ([`exports`]). The helpers here write files and
//! poll a tailer.

mod discovery;
mod exports;
mod lines;
mod rotation;

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
