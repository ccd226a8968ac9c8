//! Several sources as one: the files of the `[[source]]` tables with `path`
//! (one [`super::Tailer`]) next to each network listener. Polled in turn, a
//! shared line budget per poll, so a flooded listener cannot starve the files
//! (or the reverse): each source gets an equal share first, and what one
//! leaves goes to the next poll's first source.

use std::path::PathBuf;

use super::{Checkpoint, Cursor, Loss, PollResult, Source, SourceStatus, TailLine};

/// Sources polled in turn.
pub struct Sources {
    all: Vec<Box<dyn Source>>,
    /// The source the next poll starts with.
    next: usize,
}

impl Sources {
    pub fn new(all: Vec<Box<dyn Source>>) -> Sources {
        Sources { all, next: 0 }
    }
}

impl Source for Sources {
    fn poll(&mut self, max_lines: usize, on_line: &mut dyn FnMut(TailLine<'_>)) -> PollResult {
        let n = self.all.len();
        let mut total = PollResult::default();
        if n == 0 {
            return total;
        }
        let share = (max_lines / n).max(1);
        for i in 0..n {
            let left = max_lines.saturating_sub(total.lines);
            if left == 0 {
                total.more = true;
                break;
            }
            let s = &mut self.all[(self.next + i) % n];
            let r = s.poll(share.min(left), on_line);
            total.lines += r.lines;
            total.more |= r.more;
            total.events.extend(r.events);
        }
        self.next = (self.next + 1) % n;
        total
    }

    fn checkpoints(&self) -> Vec<Checkpoint> {
        self.all.iter().flat_map(|s| s.checkpoints()).collect()
    }

    fn cursors(&self) -> Vec<Cursor> {
        self.all.iter().flat_map(|s| s.cursors()).collect()
    }

    fn status(&self) -> Vec<SourceStatus> {
        self.all.iter().flat_map(|s| s.status()).collect()
    }

    fn losses(&self) -> Vec<(String, Loss, u64)> {
        self.all.iter().flat_map(|s| s.losses()).collect()
    }

    fn watch_dirs(&self) -> Vec<PathBuf> {
        self.all.iter().flat_map(|s| s.watch_dirs()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    /// A source of `n` numbered lines.
    struct Counter {
        name: String,
        left: usize,
        sent: u64,
    }

    impl Source for Counter {
        fn poll(&mut self, max: usize, on_line: &mut dyn FnMut(TailLine<'_>)) -> PollResult {
            let k = max.min(self.left);
            for _ in 0..k {
                on_line(TailLine {
                    source: &self.name,
                    file: FileId(0),
                    path: std::path::Path::new("-"),
                    offset: self.sent,
                    line: b"x",
                    too_long: false,
                    peer: None,
                });
                self.sent += 1;
            }
            self.left -= k;
            PollResult {
                lines: k,
                more: self.left > 0,
                events: Vec::new(),
            }
        }
        fn checkpoints(&self) -> Vec<Checkpoint> {
            Vec::new()
        }
        fn status(&self) -> Vec<SourceStatus> {
            Vec::new()
        }
    }

    #[test]
    fn a_flooded_source_shares_the_budget_and_every_line_comes_once() {
        let flood = Counter {
            name: "flood".into(),
            left: 10_000,
            sent: 0,
        };
        let quiet = Counter {
            name: "quiet".into(),
            left: 5,
            sent: 0,
        };
        let mut s = Sources::new(vec![Box::new(flood), Box::new(quiet)]);
        let mut first = Vec::new();
        let r = s.poll(100, &mut |l| first.push(l.source.to_owned()));
        assert!(r.more);
        assert_eq!(r.lines, 55, "50 of the flood, then all 5 quiet lines");
        assert_eq!(first.iter().filter(|n| *n == "quiet").count(), 5);
        let mut total = r.lines;
        loop {
            let r = s.poll(100, &mut |_| {});
            total += r.lines;
            if !r.more {
                break;
            }
        }
        assert_eq!(total, 10_005);
    }
}
