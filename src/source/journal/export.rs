//! The journal's history as syslog lines, for `parse` and
//! `replay --journal[-dir]`: `journalctl --output=json` without `--follow`,
//! each entry converted as the live source converts it ([`super::entry`]),
//! with the same offset (its sequence number), so a decision replayed from
//! the journal has the id the daemon gave it. A line that is not an entry is
//! passed on as it is (the parser counts it as malformed); journalctl failing
//! is an error at the end.

use std::io::{self, BufRead, BufReader, Read};

use std::process::{Child, ChildStdout};
use std::thread::JoinHandle;

use super::child::{self, From, JournalSpec};
use super::entry;
use crate::parse::MAX_LINE;

/// A problem as a one-off reader says it: nothing is retried here.
fn once(mut e: crate::source::SourceError) -> String {
    if let Some(h) = e.hint.strip_suffix("; retrying") {
        e.hint = h.to_owned();
    }
    e.to_string()
}

/// `journalctl`'s output as syslog lines.
pub struct Export {
    spec: JournalSpec,
    child: Option<Child>,
    out: BufReader<ChildStdout>,
    stderr: Option<JoinHandle<Vec<String>>>,
    json: Vec<u8>,
    /// Lines so far: the offset of a line without a cursor.
    count: u64,
}

impl Export {
    /// Starts journalctl over the whole of `spec`'s journal.
    pub fn start(spec: &JournalSpec) -> io::Result<Export> {
        let mut child = spec
            .command(&From::Start, false)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), once(child::spawn_problem(&e, spec))))?;
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(io::Error::other("journalctl without pipes"));
        };
        let stderr = std::thread::spawn(move || {
            BufReader::new(err.take(64 * 1024))
                .lines()
                .map_while(Result::ok)
                .take(16)
                .collect()
        });
        Ok(Export {
            spec: spec.clone(),
            child: Some(child),
            out: BufReader::with_capacity(64 * 1024, out),
            stderr: Some(stderr),
            json: Vec::new(),
            count: 0,
        })
    }

    /// The next entry as `(offset, line)`, `None` for a line too long;
    /// `Ok(None)` at the end.
    fn next_line(&mut self) -> io::Result<Option<(u64, Option<Vec<u8>>)>> {
        loop {
            self.json.clear();
            if self.out.read_until(b'\n', &mut self.json)? == 0 {
                self.finish()?;
                return Ok(None);
            }
            let json = crate::source::framing::trim_end(&self.json);
            if json.is_empty() {
                continue;
            }
            self.count += 1;
            let at = self.count - 1;
            let too_long = |l: Vec<u8>| (l.len() <= MAX_LINE).then_some(l);
            return Ok(Some(match entry::convert(json) {
                Ok(e) => (
                    super::seqnum(&e.cursor).unwrap_or(at),
                    if e.too_long { None } else { too_long(e.line) },
                ),
                Err(_) => (at, too_long(json.to_vec())),
            }));
        }
    }

    /// journalctl ended: an error when it failed.
    fn finish(&mut self) -> io::Result<()> {
        let Some(mut c) = self.child.take() else {
            return Ok(());
        };
        let status = c.wait()?;
        let said = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if status.success() {
            return Ok(());
        }
        Err(io::Error::other(once(child::exit_problem(
            status, &said, &self.spec,
        ))))
    }
}

impl Iterator for Export {
    type Item = io::Result<(u64, Option<Vec<u8>>)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_line().transpose()
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
